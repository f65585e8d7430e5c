"""Fixed-format UK identifiers: NHS numbers, phones, e-mails, postcodes, labelled dates of birth,
hospital numbers and street addresses.

Each ``find_*`` function returns ``(start, end, category, rule)`` spans.  All are regular-expression
scans over the whole text (no per-character Python), so redacting 50,000 plans stays fast.
"""

from __future__ import annotations

import re

__all__ = [
    "DATE",
    "MONTHS_RX",
    "find_addresses",
    "find_dobs",
    "find_emails",
    "find_hospital_numbers",
    "find_nhs_numbers",
    "find_phones",
    "find_postcodes",
    "nhs_number_is_valid",
]

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_is_valid(number: str) -> bool:
    """Return True if *number* (10 digits; spaces, dots, hyphens allowed) passes the NHS check digit.

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
    digits = re.sub(r"[\s.\-]", "", str(number))
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(ch) * w for ch, w in zip(digits[:9], _WEIGHTS)) % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


# --- NHS (and CHI, H&C) numbers ---------------------------------------------------------------------
# A run of digit groups joined by up to three spaces, dots or hyphens, or by one line break.  Any ten
# consecutive digits made of whole groups are a candidate: redacted if the check digit holds, or if a
# label stands before them (a mistyped number).
_SEP = r"(?:[ \t.\-]{1,3}|[ \t]*\r?\n[ \t]*)"
_DIGIT_RUN = re.compile(rf"(?<![\w+])\d+(?:{_SEP}\d+)*")
_DIGITS = re.compile(r"\d+")
_INTL_BEFORE = re.compile(r"(?:\+|\b00)[ \t]?44[ \t\-]?(?:\(0\)[ \t\-]?)?\(?$")
_NHS_LABEL = re.compile(
    r"(?:\bN[ \t]?\.?[ \t]?H[ \t]?\.?[ \t]?S\b\.?|\bCHI\b|\bH[ \t]?&[ \t]?C\b)"
    r"[ \t]*(?:(?:no|num|nr)\b\.?|number|#|id\b)?[ \t]*(?:is|was)?[ \t]*[:.\-#=]?[ \t\r\n]*\(?$",
    re.IGNORECASE,
)


def _nhs_like(sizes: list[int], run: str, groups) -> bool:
    """An unlabelled ten-digit window must be grouped like a number, not a date and time
    ("01.02.2025 08.30") or a list of small numbers ("scores 4 12 9 ...")."""
    if min(sizes) < 2:
        return False
    for k in range(len(sizes) - 2):
        if sizes[k] <= 2 and sizes[k + 1] <= 2 and sizes[k + 2] == 4:
            a, b = groups[k], groups[k + 1]
            if 1 <= int(run[a[0] : a[1]]) <= 31 and 1 <= int(run[b[0] : b[1]]) <= 12:
                y = int(run[groups[k + 2][0] : groups[k + 2][1]])
                if 1900 <= y <= 2100:
                    return False
    return True


def find_nhs_numbers(text: str) -> list[tuple[int, int, str, str]]:
    out = []
    for m in _DIGIT_RUN.finditer(text):
        if m.end() - m.start() < 10:
            continue
        run = m.group()
        groups = [(g.start(), g.end()) for g in _DIGITS.finditer(run)]
        if _INTL_BEFORE.search(text, max(0, m.start() - 12), m.start()):
            continue  # +44 7700 900123: a phone number
        intl = run.startswith(("0044", "44 ", "44-"))
        i = 0
        while i < len(groups):
            total, j = 0, i
            while j < len(groups) and total < 10:
                total += groups[j][1] - groups[j][0]
                j += 1
            if total == 10 and not (intl and i > 0):
                s, e = m.start() + groups[i][0], m.start() + groups[j - 1][1]
                digits = "".join(run[a:b] for a, b in groups[i:j])
                if nhs_number_is_valid(digits) and _nhs_like([b - a for a, b in groups[i:j]], run, groups[i:j]):
                    out.append((s, e, "nhs_number", "nhs_number_valid"))
                    i = j
                    continue
                if _NHS_LABEL.search(text, max(0, s - 30), s):
                    out.append((s, e, "nhs_number", "nhs_number_labelled_invalid"))
                    i = j
                    continue
            i += 1
    return out


# --- phones -----------------------------------------------------------------------------------------
_PHONE = re.compile(
    r"(?=[+0(])(?<![\w+])(?<!\d[./\-])(?:(?:\+|\b00)[ \t]?44[ \t\-]?(?:\(0\)[ \t\-]?)?\(?|\(?0)"
    r"(?:[ \t\-.()]{0,3}\d){9,10}(?![ \t]?[.\-]?\d)"
)


def find_phones(text: str) -> list[tuple[int, int, str, str]]:
    out = []
    for m in _PHONE.finditer(text):
        s, e = m.start(), m.end()
        if text[s] == "(" and ")" not in text[s:e]:  # a stray opening bracket is not part of the number
            s += 1
        out.append((s, e, "phone", "uk_phone"))
    return out


# --- e-mails and postcodes ----------------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
# The six official shapes (A9, A99, AA9, AA99, A9A, AA9A + 9AA) and GIR 0AA, any case, with no, one
# or several spaces (or a line break) between the halves.
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:GIR|[A-PR-UWYZ](?:[A-HK-Y]\d[A-Z\d]?|\d[A-Z\d]?))"
    r"(?:[ \t]{0,3}|[ \t]*\r?\n[ \t]*)(?:0AA|\d[ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def find_emails(text: str) -> list[tuple[int, int, str, str]]:
    return [(m.start(), m.end(), "email", "email") for m in _EMAIL.finditer(text)] if "@" in text else []


# Every postcode ends with an inward code: texts without one (most) skip the slower full pattern.
_INWARD = re.compile(r"(?:0AA|\d[ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])", re.IGNORECASE)


def find_postcodes(text: str) -> list[tuple[int, int, str, str]]:
    if _INWARD.search(text) is None:
        return []
    out = []
    for m in _POSTCODE.finditer(text):
        g = m.group()
        if g[:3].upper() == "GIR" and not g.upper().endswith("0AA"):
            continue
        out.append((m.start(), m.end(), "postcode", "uk_postcode"))
    return out


# --- dates of birth after a label ---------------------------------------------------------------------
MONTHS_RX = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
DATE = (
    r"(?:\d{1,2}[ \t]?[/.\-][ \t]?\d{1,2}[ \t]?[/.\-][ \t]?\d{2,4}"
    r"|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{MONTHS_RX}\.?,?[ \t]+(?:\d{{4}}|['\u2019]?\d{{2}})"
    rf"|{MONTHS_RX}\.?[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}})"
)
# After a label only: a month and year ("born in March 1985") or a year ("born in 1985").
_DOB = re.compile(
    r"(?=[DdBb])(?:\bd[ \t]?\.?[ \t]?o[ \t]?\.?[ \t]?b\b\.?|\bdate[ \t]+of[ \t]+birth|\bbirth[ \t]*date|\bbirthday"
    r"|\bborn(?:[ \t]+(?:on|in))?)"
    r"[ \t]*(?:(?:is|was)[ \t]+)?(?:[:\-=][ \t]*)?(?:\r?\n[ \t]*)?"
    rf"(?P<date>{DATE}|{MONTHS_RX}\.?,?[ \t]+(?:19|20)\d{{2}}|(?:19|20)\d{{2}})(?![\d/])",
    re.IGNORECASE,
)


def find_dobs(text: str) -> list[tuple[int, int, str, str]]:
    return [(m.start("date"), m.end("date"), "date_of_birth", "dob_label") for m in _DOB.finditer(text)]


# --- hospital / MRN numbers after a label ---------------------------------------------------------------
_HOSPITAL = re.compile(
    r"(?=[HhUuCcPpRrEeSsMmKk])(?i:\b(?:hospital|hosp\.?|unit|case|patient|pt|client|record|rio|pas|epr|systmone|medical[ \t]+record)"
    r"[ \t]*(?:no\b\.?|number|num\b\.?|nr\b\.?|id\b|#)|\bMRN\b|\bK[ \t]?number)"
    r"[ \t]*(?:is[ \t]+)?[:#.\-=]?[ \t]*"
    r"(?P<num>(?=[A-Za-z0-9/\-]*\d)[A-Za-z0-9][A-Za-z0-9/\-]{2,15}[A-Za-z0-9])"
)


def find_hospital_numbers(text: str) -> list[tuple[int, int, str, str]]:
    return [(m.start("num"), m.end("num"), "hospital_number", "hospital_label") for m in _HOSPITAL.finditer(text)]


# --- street addresses (house number + street word) ------------------------------------------------------
_STREET = (
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Drive|Way|Crescent|Cres|Court|Ct|Place|Pl|"
    r"Grove|Gardens|Gdns|Terrace|Tce|Hill|Park|Square|Sq|Row|Mews|Walk|View|Rise|Green|Parade|"
    r"Boulevard|Croft|Fold|Gate|Yard|Wharf|Vale|Wynd|Heights|Meadows?)"
)
_ADDRESS = re.compile(
    r"(?=[FARU\d])(?:\b(?:Flat|Apartment|Apt|Unit|Room)[ \t]+\d{1,4}[A-Za-z]?,?[ \t]+)?"
    r"(?<![\w/.:\-])\d{1,4}[A-Za-z]?,?[ \t]+(?:[A-Z][A-Za-z'\u2019\-]*[ \t]+){1,3}" + _STREET + r"\b"
)


# Every address ends with a capitalised word and a street word: texts without one skip the full pattern.
_STREET_END = re.compile(r"[A-Z][A-Za-z'\u2019\-]*[ \t]+" + _STREET + r"\b")


def find_addresses(text: str) -> list[tuple[int, int, str, str]]:
    if _STREET_END.search(text) is None:
        return []
    return [(m.start(), m.end(), "address", "street_address") for m in _ADDRESS.finditer(text)]
