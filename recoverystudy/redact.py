"""Redact UK identifiers from free text (care plans, transcripts, quoted evidence).

What is recognised (see ``shared/reference/care-plan-audit.md`` section 6):

* **NHS numbers** - 10 digits, alone or grouped 3-3-4 by spaces or hyphens, valid under the NHS
  modulus-11 check digit.  A 10-digit run that *fails* the check is still redacted when an "NHS" label
  stands before it (a mistyped NHS number); the log counts it separately (rule
  ``nhs_number_labelled_invalid``).
* **Dates of birth** - a date after a DOB label ("DOB", "D.O.B.", "date of birth", "born").  Other dates
  (review dates, appointments) are audit evidence and are *kept*.
* **UK phone numbers** - ``+44`` or ``0`` followed by 9-10 more digits in the usual groupings.  Service
  numbers are redacted too (safest default).
* **Email addresses** and **full UK postcodes** (the outward code alone is kept as geography).
* **Names** - every name in the optional ``names`` list, plus capitalised words after titles (Mr, Mrs,
  Ms, Miss, Mx, Dr), after family and role words ("my sister Jean", "carer: Jean Smith") and after
  name labels ("Name:", "Signed:").

Each replacement is a marker such as ``[NHS number]``.  The log records *where* and *what kind* of
identifier was replaced, never the original text; it is still identifiable (it points into the
original file), so keep it with the key, outside any shared output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from recoverystudy.results import Result, base_provenance

__all__ = [
    "LOG_COLUMNS",
    "REDACTION_MARKERS",
    "Redaction",
    "nhs_number_is_valid",
    "redact",
]

REDACTION_MARKERS = {
    "nhs_number": "[NHS number]",
    "date_of_birth": "[date of birth]",
    "phone": "[phone number]",
    "email": "[email]",
    "postcode": "[postcode]",
    "name": "[name]",
}

LOG_COLUMNS = ["start", "end", "category", "rule", "replacement", "new_start", "new_end"]

# Order decides which category wins when two candidate spans overlap.
_PRIORITY = {"email": 0, "nhs_number": 1, "date_of_birth": 2, "phone": 3, "postcode": 4, "name": 5}

_NHS = re.compile(r"(?<![\d\w])(\d{3})([ \-]?)(\d{3})\2(\d{4})(?![\d\w])")
_NHS_LABEL = re.compile(r"NHS\s*(?:no\.?|number|num\.?|#)?\s*[:.\-]?\s*$", re.IGNORECASE)
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)

_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}"
    r"|\d{4}-\d{1,2}-\d{1,2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{2,4}}"
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_DOB = re.compile(
    rf"(?:\bD\.?\s?O\.?\s?B\.?|\bdate\s+of\s+birth|\bborn(?:\s+on)?)\s*(?:[:\-]\s*)?(?P<date>{_DATE})",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w+])(?:\+44[\s\-]?(?:\(0\)[\s\-]?)?|\(?0)(?:[\s\-()]{0,2}\d){9,10}(?![\d])")
_EMAIL = re.compile(r"(?<![\w.+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_CAP = r"[A-Z][a-z]+(?:[\-'][A-Z]?[a-z]+)?"
_TITLED = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?P<name>{_CAP}(?:\s+{_CAP})?)")
_FAMILY = re.compile(
    r"\b(?:my|his|her|their|[Mm]y\s+(?:older|younger|elder|big|little))\s+"
    r"(?:mum|mom|mother|dad|father|sister|brother|son|daughter|partner|wife|husband|friend|"
    r"nan|nanna|gran|grandma|grandmother|grandad|grandfather|aunt|auntie|uncle|cousin|niece|nephew|"
    r"neighbour|carer|girlfriend|boyfriend|fiancee?|stepmum|stepdad)"
    rf",?\s+(?P<name>{_CAP}(?:\s+{_CAP})?)"
)
_LABELLED = re.compile(
    r"(?im)(?:^[ \t\-*\u2022]*|(?<=[;,.] ))(?:name|service user|patient|client|carer(?:'s name)?|next of kin|"
    r"care co-?ordinator|key worker|named nurse|signed(?: by)?|signature|nearest relative)"
    rf"\s*(?:\([^)\n]*\))?\s*[:\-]\s*(?P<name>(?:[A-Z]\.?[ \t]+)?{_CAP.replace('[a-z]', '[A-Za-z]')}(?:[ \t]+{_CAP})*)"
)
# Words that follow titles or labels but are not names.
_NOT_NAMES = frozenset(
    [
        "The",
        "A",
        "An",
        "Not",
        "None",
        "No",
        "Yes",
        "Unknown",
        "Declined",
        "Service",
        "User",
        "Team",
        "Crisis",
        "Home",
        "Community",
        "Mental",
        "Health",
        "Please",
        "See",
        "Care",
        "Plan",
        "Signed",
        "Date",
        "Refused",
        "Unable",
        "Awaiting",
    ]
)


def nhs_number_is_valid(number: str) -> bool:
    """Return True if *number* (10 digits, spaces or hyphens allowed) passes the NHS check digit.

    Modulus 11: the first nine digits are weighted 10, 9, ..., 2; the check digit is
    11 - (sum mod 11), with 11 read as 0; a result of 10 means the number is invalid
    (NHS Data Dictionary, "NHS Number").

    Examples
    --------
    >>> nhs_number_is_valid("943 476 5919")
    True
    >>> nhs_number_is_valid("943 476 5918")
    False
    """
    digits = re.sub(r"[ \-]", "", str(number))
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(ch) * w for ch, w in zip(digits[:9], _WEIGHTS)) % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


@dataclass(frozen=True)
class Redaction(Result):
    """The redacted text and the log of what was replaced where.

    Attributes
    ----------
    text : str
        The text with identifiers replaced by markers such as ``[NHS number]``.
    log : pandas.DataFrame
        One row per replacement: ``start``, ``end`` (code-point offsets into the original text),
        ``category`` (nhs_number, date_of_birth, phone, email, postcode, name), ``rule`` (which
        recogniser fired), ``replacement`` (the marker), ``new_start``, ``new_end`` (offsets of the
        marker in the redacted text).  The original text is never stored.
    provenance : dict
    """

    text: str
    log: pd.DataFrame
    provenance: dict = field(default_factory=dict, compare=False)

    @property
    def n_redacted(self) -> int:
        """Number of replacements made."""
        return len(self.log)

    def to_frame(self) -> pd.DataFrame:
        return self.log.copy()

    def summary(self) -> str:
        if self.log.empty:
            return "No identifiers were found; the text is unchanged."
        counts = self.log["category"].value_counts()
        parts = ", ".join(f"{n} {cat.replace('_', ' ')}" for cat, n in counts.items())
        return f"{self.n_redacted} identifier(s) replaced: {parts}."


def _find_spans(text: str, names: Sequence[str] | None, name_rules: bool) -> list[tuple[int, int, str, str]]:
    spans: list[tuple[int, int, str, str]] = []
    for m in _EMAIL.finditer(text):
        spans.append((m.start(), m.end(), "email", "email"))
    for m in _NHS.finditer(text):
        if nhs_number_is_valid(m.group(0)):
            spans.append((m.start(), m.end(), "nhs_number", "nhs_number_valid"))
        elif _NHS_LABEL.search(text[max(0, m.start() - 20) : m.start()]):
            spans.append((m.start(), m.end(), "nhs_number", "nhs_number_labelled_invalid"))
    for m in _DOB.finditer(text):
        spans.append((m.start("date"), m.end("date"), "date_of_birth", "dob_label"))
    for m in _PHONE.finditer(text):
        s, e = m.start(), m.end()
        if text[s] == "(" and ")" not in text[s:e]:  # a stray opening bracket is not part of the number
            s += 1
        spans.append((s, e, "phone", "uk_phone"))
    for m in _POSTCODE.finditer(text):
        spans.append((m.start(), m.end(), "postcode", "uk_postcode"))
    if names:
        cleaned = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
        if cleaned:
            pat = re.compile(
                r"(?<![\w])(?:" + "|".join(re.escape(n) for n in cleaned) + r")(?![\w])", re.IGNORECASE
            )
            for m in pat.finditer(text):
                spans.append((m.start(), m.end(), "name", "names_list"))
    if name_rules:
        for rx, rule in ((_TITLED, "title"), (_FAMILY, "family_word"), (_LABELLED, "name_label")):
            for m in rx.finditer(text):
                words = m.group("name").split()
                while words and words[-1] in _NOT_NAMES:
                    words.pop()
                if not words or words[0] in _NOT_NAMES:
                    continue
                s = m.start("name")
                e = s + len(" ".join(words)) if len(words) == 1 else s + _span_of_words(text[s:], words)
                spans.append((s, e, "name", rule))
    return spans


def _span_of_words(sub: str, words: list[str]) -> int:
    pos = 0
    for w in words:
        pos = sub.index(w, pos) + len(w)
    return pos


def _resolve(spans: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Drop spans overlapping an earlier-priority (then longer, then earlier) span."""
    ordered = sorted(spans, key=lambda s: (_PRIORITY[s[2]], -(s[1] - s[0]), s[0]))
    kept: list[tuple[int, int, str, str]] = []
    for s in ordered:
        if all(s[1] <= k[0] or s[0] >= k[1] for k in kept):
            kept.append(s)
    return sorted(kept)


def _redact_spans(text: str, names: Sequence[str] | None = None, name_rules: bool = True):
    """Return (redacted_text, kept_spans) - the fast path used by the audit."""
    kept = _resolve(_find_spans(text, names, name_rules))
    if not kept:
        return text, kept
    out: list[str] = []
    pos = 0
    for s, e, cat, _rule in kept:
        out.append(text[pos:s])
        out.append(REDACTION_MARKERS[cat])
        pos = e
    out.append(text[pos:])
    return "".join(out), kept


def redact_slice(text: str, spans: Sequence[tuple[int, int, str, str]], start: int, end: int) -> str:
    """Return ``text[start:end]`` with every identifier span touching it replaced by its marker.

    *spans* are the ones found for the whole *text* (so labels outside the slice still count).

    Examples
    --------
    >>> t = "NHS no: 943 476 5919. Review 1 May."
    >>> _, spans = _redact_spans(t)
    >>> redact_slice(t, spans, 4, 20)
    'no: [NHS number]'
    """
    out: list[str] = []
    pos = start
    for s, e, cat, _rule in spans:
        if e <= start or s >= end:
            continue
        if s > pos:
            out.append(text[pos:s])
        out.append(REDACTION_MARKERS[cat])
        pos = max(pos, e)
    if pos < end:
        out.append(text[pos:end])
    return "".join(out)


def redact(
    text: str,
    names: Iterable[str] | None = None,
    *,
    name_rules: bool = True,
) -> Redaction:
    """Replace UK identifiers in *text* by markers such as ``[NHS number]``.

    Parameters
    ----------
    text : str
        Any free text.
    names : iterable of str, optional
        Names to redact wherever they occur (whole words, any case), e.g. the trust's list of
        service users, carers and staff.
    name_rules : bool, default=True
        Also redact capitalised words after titles (Mr, Dr ...), family words ("my sister Jean")
        and name labels ("Carer: Jean Smith").

    Returns
    -------
    Redaction
        ``.text`` (redacted) and ``.log`` (start, end, category, rule, replacement, new_start,
        new_end; no original text).

    Raises
    ------
    TypeError
        If *text* is not a string.

    Notes
    -----
    NHS numbers are checked with the modulus-11 check digit; a failing 10-digit run is redacted
    only after an "NHS" label.  Dates are redacted only after a date-of-birth label, so review
    dates survive as audit evidence.  Phone numbers, e-mail addresses and full postcodes are always
    redacted.  Overlapping matches are resolved in the order e-mail, NHS number, date of birth,
    phone, postcode, name.

    Examples
    --------
    >>> r = redact("NHS no. 943 476 5919, DOB: 14/03/1971, call 07700 900123. Review 12/09/2025.")
    >>> r.text
    'NHS no. [NHS number], DOB: [date of birth], call [phone number]. Review 12/09/2025.'
    >>> r.log["category"].tolist()
    ['nhs_number', 'date_of_birth', 'phone']
    >>> redact("I see my sister Jean on Sundays; post to LU1 3JH.").text
    'I see my sister [name] on Sundays; post to [postcode].'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}.")
    name_list = list(names) if names is not None else None
    new_text, kept = _redact_spans(text, name_list, name_rules)
    rows = []
    shift = 0
    for s, e, cat, rule in kept:
        marker = REDACTION_MARKERS[cat]
        ns = s + shift
        rows.append((s, e, cat, rule, marker, ns, ns + len(marker)))
        shift += len(marker) - (e - s)
    log = pd.DataFrame(rows, columns=LOG_COLUMNS)
    for col in ("start", "end", "new_start", "new_end"):
        log[col] = log[col].astype("int64")
    prov = base_provenance(
        "redact",
        categories=sorted(REDACTION_MARKERS),
        names_list=bool(name_list),
        name_rules=name_rules,
        nhs_rule="modulus 11 check digit; failing numbers redacted only after an NHS label",
    )
    return Redaction(text=new_text, log=log, provenance=prov)
