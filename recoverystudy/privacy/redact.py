"""Redact UK identifiers from free text (care plans, transcripts, quoted evidence).

What is recognised (see ``shared/reference/care-plan-audit.md`` section 6):

* **NHS numbers** - 10 digits, alone or grouped 3-3-4 by spaces or hyphens, valid under the NHS
  modulus-11 check digit.  A 10-digit run that *fails* the check is still redacted when an "NHS" label
  stands before it (a mistyped NHS number); the log counts it separately (rule
  ``nhs_number_labelled_invalid``).
* **Dates of birth** - a date after a DOB label ("DOB", "D.O.B.", "date of birth", "born"), and any date
  standing next to a name (a listed name or one found by the name rules below, e.g. "Mrs Edith Norris
  (03/02/1946)") whose year makes the person 16 to 110 years old on the plan date (the plan's own
  "Date of plan:" / "Date:" line, or ``reference_date``).  Review dates, appointment dates and dates of
  events are audit evidence and are *kept*: a date after a review, appointment or event word ("review",
  "seen by", "admitted", "on" ...) is never taken for a date of birth, and recent dates fail the age test.
* **UK phone numbers** - ``+44`` or ``0`` followed by 9-10 more digits in the usual groupings.  Service
  numbers are redacted too (safest default).
* **Email addresses** and **full UK postcodes** (the outward code alone is kept as geography).
* **Names** - every name in the optional ``names`` list, plus capitalised words after titles (Mr, Mrs,
  Ms, Miss, Mx, Dr), after family and role words ("my sister Jean", "her husband Graham", "My care
  co-ordinator, Ruth", "Mum (Carol)", "Alex (my partner)"), after name labels ("Name:", "Signed:"), and
  later whole-word repeats of a name so found in the same text ("Gethin will help").

Names found by rules rather than from the list share their capitalisation with places and services
("my care co-ordinator North CMHT"), so the reference guidance is *propose, don't silently replace*.
The established behaviour is kept: shared outputs are redacted (over-redaction is the safe error), and
every rule-found name - and every date taken for a date of birth because it stands next to a name - is
flagged ``proposed=True`` in the log with the rule that found it, so a reviewer can check and restore
it.  Listed names and the fixed-format identifiers are ``proposed=False``.

Each replacement is a marker such as ``[NHS number]``.  The log records *where* and *what kind* of
identifier was replaced, never the original text; it is still identifiable (it points into the
original file), so keep it with the key, outside any shared output.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from recoverystudy._dates import MONTHS
from recoverystudy.privacy._formats import (
    MONTHS_RX,
    find_addresses,
    find_dobs,
    find_emails,
    find_hospital_numbers,
    find_nhs_numbers,
    find_phones,
    find_postcodes,
    nhs_number_is_valid,
)
from recoverystudy.privacy._names import find_rule_names
from recoverystudy.results import Result, base_provenance

__all__ = [
    "LOG_COLUMNS",
    "PROPOSAL_RULES",
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
    "hospital_number": "[hospital number]",
    "address": "[address]",
    "name": "[name]",
}

LOG_COLUMNS = ["start", "end", "category", "rule", "replacement", "new_start", "new_end", "proposed"]

#: Rules whose finds are proposals for a reviewer to check (they may hit a place or service, or an
#: event date): names from titles, role words, brackets, labels and their repeats, and dates of birth
#: recognised only because they stand next to a name.  Shared outputs still redact them.
PROPOSAL_RULES = frozenset(
    {"title", "family_word", "role_bracket", "role_word", "name_label", "name_repeat", "dob_next_to_name"}
)

# Order decides which category wins when two candidate spans overlap.
_PRIORITY = {
    "email": 0,
    "nhs_number": 1,
    "date_of_birth": 2,
    "phone": 3,
    "hospital_number": 4,
    "postcode": 5,
    "address": 6,
    "name": 7,
}
_FIXED_FORMATS = (find_emails, find_nhs_numbers, find_dobs, find_phones, find_postcodes, find_hospital_numbers,
                  find_addresses)

# --- dates of birth next to a name -------------------------------------------------------------------
_DATE_PARTS = re.compile(
    r"(?<![\d/.\-])(?:"
    r"(?P<d1>\d{1,2})[/.\-](?P<m1>\d{1,2})[/.\-](?P<y1>\d{4}|\d{2})"
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m3>{MONTHS_RX})\.?,?\s+(?P<y3>\d{{4}}|\d{{2}})"
    rf"|(?P<m4>{MONTHS_RX})\.?\s+(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y4>\d{{4}})"
    r")(?![\d/])",
    re.IGNORECASE,
)
_PLAN_DATE = re.compile(
    r"(?:date\s+of\s+(?:the\s+)?plan|plan\s+date|date\s+(?:written|agreed)|plan\s+(?:completed|written|agreed)"
    r"|^[ \t*]*date(?!\s+of\s+birth))[^\n\d]{0,12}?(?=\d|[A-Z][a-z]{2})",
    re.IGNORECASE | re.MULTILINE,
)
# Between a name and an adjacent date only spaces, commas, brackets, colons or dashes may stand.
_GAP = re.compile(r"[ \t,;:()\[\]\-\u2013]{0,6}")
# A review, appointment or event word straight before the name (or date): the date is audit evidence.
_EVENT_BEFORE = re.compile(
    r"\b(?:review\w*|appointments?|appt|seen|saw|visit\w*|met|meeting|admitted|admission|discharged|"
    r"clinic|OPA|referred|assessed|signed|dated|date|on|from|since|until|by|due|next|last|with)\b"
    r"[ \t:\-]*(?:(?:by|with|to|from)[ \t]+)?(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+)?$",
    re.IGNORECASE,
)
DOB_AGE_RANGE = (16, 110)


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
        marker in the redacted text), ``proposed`` (True when a rule, not the names list or a fixed
        format, found it: a proposal for a reviewer to check; see :data:`PROPOSAL_RULES`).  The
        original text is never stored.
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
        out = f"{self.n_redacted} identifier(s) replaced: {parts}."
        n_prop = int(self.log["proposed"].sum()) if "proposed" in self.log else 0
        if n_prop:
            out += (
                f" {n_prop} of them were found by rules (names after titles, role words or labels, their "
                "repeats, dates next to names): proposals for a reviewer to check (rows with proposed=True)."
            )
        return out


def _parse_date(m: re.Match, reference: _dt.date | None = None) -> _dt.date | None:
    """The date of a :data:`_DATE_PARTS` match; a two-digit year is put in the century that keeps it
    on or before *reference* (a birth date is in the past)."""
    g = m.group
    try:
        if g("d1"):
            d, mo, y = int(g("d1")), int(g("m1")), g("y1")
        elif g("y2"):
            d, mo, y = int(g("d2")), int(g("m2")), g("y2")
        elif g("d3"):
            d, mo, y = int(g("d3")), MONTHS[g("m3").lower()], g("y3")
        else:
            d, mo, y = int(g("d4")), MONTHS[g("m4").lower()], g("y4")
        if len(y) == 2:
            ref = reference or _dt.date.today()
            year = 2000 + int(y)
            if _dt.date(year, mo, d) > ref:
                year -= 100
        else:
            year = int(y)
        return _dt.date(year, mo, d)
    except (ValueError, KeyError):
        return None


def _plan_date(text: str) -> _dt.date | None:
    """The plan's own date ("Date of plan: 14/03/2025", "Date: 2 June 2025"), if it states one."""
    for m in _PLAN_DATE.finditer(text):
        d = _DATE_PARTS.match(text, m.end())
        if d is not None:
            value = _parse_date(d)
            if value is not None:
                return value
    return None


def _age(born: _dt.date, on: _dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


_GAP_CHARS = frozenset(" \t,;:()[]-\u2013")


def _dates_next_to_names(
    text: str, names: list[tuple[int, int]], reference: _dt.date | None
) -> list[tuple[int, int, str, str]]:
    """Dates standing next to a name span that make the person 16-110 years old on the plan date.

    Only the few characters around each name are examined (not the whole text): a date right after
    the name (``Jean Smith (14/03/1971)``) or right before it (``14/03/1971 Jean Smith``).
    """
    found: dict[tuple[int, int], tuple[re.Match, tuple[int, int], bool]] = {}
    for ns, ne in names:
        gap = _GAP.match(text, ne)
        m = _DATE_PARTS.match(text, gap.end())
        if m is not None:
            found.setdefault((m.start(), m.end()), (m, (ns, ne), False))
        p, k = ns, 0
        while p > 0 and k < 6 and text[p - 1] in _GAP_CHARS:
            p -= 1
            k += 1
        if p > 0 and text[p - 1].isdigit():  # every date form ends with a digit
            for m in _DATE_PARTS.finditer(text, max(0, p - 30), p):
                if m.end() == p:
                    found.setdefault((m.start(), p), (m, (ns, ne), True))
    if not found:
        return []
    ref = reference or _plan_date(text) or _dt.date.today()
    lo, hi = DOB_AGE_RANGE
    out = []
    for (ds, de), (m, (ns, _ne), date_first) in sorted(found.items()):
        if date_first and _EVENT_BEFORE.search(text, text.rfind("\n", 0, ds) + 1, ds):
            continue  # "Review 12/09/1990 Jordan Reeve": a dated event, kept
        line_start = text.rfind("\n", 0, ns) + 1
        if _EVENT_BEFORE.search(text, max(line_start, ns - 40), ns):
            continue  # "seen by Dr Patel 12/03/1999", "review with Jean 1 May 2025": evidence, kept
        born = _parse_date(m, ref)
        if born is None or not lo <= _age(born, ref) <= hi:
            continue
        out.append((ds, de, "date_of_birth", "dob_next_to_name"))
    return out


def _find_spans(
    text: str,
    names: Sequence[str] | None,
    name_rules: bool,
    reference_date: _dt.date | None = None,
) -> list[tuple[int, int, str, str]]:
    spans: list[tuple[int, int, str, str]] = []
    for find in _FIXED_FORMATS:
        spans.extend(find(text))
    if names:
        cleaned = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
        if cleaned:
            pat = re.compile(
                r"(?<![\w])(?:" + "|".join(re.escape(n) for n in cleaned) + r")(?![\w])", re.IGNORECASE
            )
            for m in pat.finditer(text):
                spans.append((m.start(), m.end(), "name", "names_list"))
    if name_rules:
        rule_spans = find_rule_names(text)
        found_words: set[str] = set()
        for s_, e_, _cat, _rule in rule_spans:
            found_words.update(w for w in text[s_:e_].split() if len(w) > 2 and w[0].isupper())
        spans.extend(rule_spans)
        if found_words:
            # later whole-word repeats of a name a rule found ("my partner Gethin ... Gethin will help");
            # overlaps with the rule spans are resolved by _resolve (the longer span wins)
            covered = {(s, e) for s, e, _, _ in rule_spans}
            for word in found_words:
                i = text.find(word)
                while i >= 0:
                    j = i + len(word)
                    if (
                        (i == 0 or not _word_char(text[i - 1]))
                        and (j == len(text) or not _word_char(text[j]))
                        and (i, j) not in covered
                    ):
                        spans.append((i, j, "name", "name_repeat"))
                    i = text.find(word, j)
    name_spans = [(s, e) for s, e, cat, _ in spans if cat == "name"]
    if name_spans:
        spans.extend(_dates_next_to_names(text, name_spans, reference_date))
    return spans


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "'-_"


def _resolve(spans: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Drop spans overlapping an earlier-priority (then longer, then earlier) span."""
    ordered = sorted(spans, key=lambda s: (_PRIORITY[s[2]], -(s[1] - s[0]), s[0]))
    kept: list[tuple[int, int, str, str]] = []
    for s in ordered:
        if all(s[1] <= k[0] or s[0] >= k[1] for k in kept):
            kept.append(s)
    return sorted(kept)


def _redact_spans(
    text: str,
    names: Sequence[str] | None = None,
    name_rules: bool = True,
    reference_date: _dt.date | None = None,
    *,
    build_text: bool = True,
):
    """Return (redacted_text, kept_spans) - the fast path used by the audit (the text is None when
    *build_text* is false: only the spans are wanted)."""
    kept = _resolve(_find_spans(text, names, name_rules, reference_date))
    if not build_text:
        return None, kept
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
    reference_date=None,
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
        Also redact capitalised words after titles (Mr, Dr ...), family and role words ("my sister
        Jean", "my care co-ordinator Ruth", "Mum (Carol)"), name labels ("Carer: Jean Smith") and
        later repeats of a name so found.  These are flagged ``proposed`` in the log.
    reference_date : date, str or Timestamp, optional
        The plan date, for deciding whether a date next to a name is a date of birth (the person
        would be 16 to 110 years old on it).  Default: the plan's own date line ("Date of plan:",
        "Date:"), else today.

    Returns
    -------
    Redaction
        ``.text`` (redacted) and ``.log`` (start, end, category, rule, replacement, new_start,
        new_end, proposed; no original text).

    Raises
    ------
    TypeError
        If *text* is not a string.

    Notes
    -----
    NHS numbers are checked with the modulus-11 check digit; a failing 10-digit run is redacted
    only after an "NHS" label.  Dates are redacted after a date-of-birth label, or when they stand
    next to a name and make the person 16-110 years old on the plan date; review, appointment and
    event dates survive as audit evidence.  Phone numbers, e-mail addresses and full postcodes are always
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
    >>> r = redact("Mrs Edith Norris (03/02/1946) lives with her daughter Ann. Review with Ann 12/09/2025.",
    ...            reference_date="2025-05-05")
    >>> r.text
    'Mrs [name] ([date of birth]) lives with her daughter [name]. Review with [name] 12/09/2025.'
    >>> r.log[["rule", "proposed"]].values.tolist()
    [['title', True], ['dob_next_to_name', True], ['family_word', True], ['name_repeat', True]]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}.")
    ref = None
    if reference_date is not None:
        try:
            ref = pd.Timestamp(reference_date).date()
        except (ValueError, TypeError):
            raise ValueError(f"reference_date must be a date; got {reference_date!r}.") from None
    name_list = list(names) if names is not None else None
    new_text, kept = _redact_spans(text, name_list, name_rules, ref)
    rows = []
    shift = 0
    for s, e, cat, rule in kept:
        marker = REDACTION_MARKERS[cat]
        ns = s + shift
        rows.append((s, e, cat, rule, marker, ns, ns + len(marker), rule in PROPOSAL_RULES))
        shift += len(marker) - (e - s)
    log = pd.DataFrame(rows, columns=LOG_COLUMNS)
    for col in ("start", "end", "new_start", "new_end"):
        log[col] = log[col].astype("int64")
    log["proposed"] = log["proposed"].astype(bool)
    prov = base_provenance(
        "redact",
        categories=sorted(REDACTION_MARKERS),
        names_list=bool(name_list),
        name_rules=name_rules,
        nhs_rule="modulus 11 check digit; failing numbers redacted only after an NHS label",
        dob_rule=(
            "after a DOB label or 'born'; or next to a name when the person would be "
            f"{DOB_AGE_RANGE[0]}-{DOB_AGE_RANGE[1]} on the plan date"
        ),
        reference_date=None if ref is None else ref.isoformat(),
    )
    return Redaction(text=new_text, log=log, provenance=prov)
