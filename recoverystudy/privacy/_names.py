"""Names found by rules: after titles, family and role words, name labels, and their later repeats.

Names are recognised in title case with apostrophes, internal capitals and hyphens (``O'Brien``,
``McAllister``, ``Smith-Jones``), with initials (``Mr J. Smith``) and in capitals (``MR SMITH``).
Words that follow titles or roles but are not names (days, months, services, acronyms such as NHS)
are dropped, so "call NHS 111" and "care coordinator Mon-Fri" are left alone.
"""

from __future__ import annotations

import re

__all__ = ["NOT_NAMES", "TITLES", "find_rule_names"]

# One name word: title case, with an optional O'/D' prefix, inner capitals (McAllister, MacDonald,
# DeVito) and hyphenated parts; or a word in capitals (after a title or label: MR SMITH).
_NW = r"(?:[A-Z]['\u2019](?=[A-Z]))?[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:-[A-Z][a-z]+(?:[A-Z][a-z]+)*)*"
_CAPS = r"(?:[A-Z]['\u2019])?[A-Z]{2,}(?:-[A-Z]{2,})*"
_INITIALS = r"(?:[A-Z]\.?[ \t]*(?=[A-Z])){0,3}"
# Title-case name of one to three words, or a capitals name of one to three words.
_NAME = rf"(?:{_INITIALS}{_NW}(?:[ \t]+{_NW}){{0,2}}|{_INITIALS}{_CAPS}(?:[ \t]+{_CAPS}){{0,2}})"
_NAME_TC = rf"(?:{_INITIALS}{_NW}(?:[ \t]+{_NW}){{0,2}})"

TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Professor", "Rev", "Revd", "Reverend", "Sister",
          "Sr", "Nurse", "Fr", "Father", "Sir", "Dame", "Mstr", "Master")
_TITLE_RX = r"(?i:Mrs|Mr|Ms|Miss|Mx|Dr|Prof|Professor|Revd|Rev|Reverend|Sister|Sr|Nurse|Fr|Father|Sir|Dame|Mstr)"
# Family and role words after which a capitalised word is taken for a name.
_ROLE = (
    r"(?:(?:step-?)?(?:mum|mom|mother|dad|father|sister|brother|son|daughter)(?:-in-law)?|"
    r"partner|wife|husband|friend|nan|nana|nanna|gran|granny|grandma|grandmother|grandad|grandpa|"
    r"grandfather|grandson|granddaughter|aunt|auntie|aunty|uncle|cousin|niece|nephew|neighbour|carer|"
    r"girlfriend|boyfriend|fianc[e\u00e9]e?|ex(?:-?(?:partner|wife|husband))?|"
    r"care co-?ordinator|key ?worker|support worker|social worker|CPN|nurse|doctor|psychiatrist|"
    r"psychologist|therapist|counsellor|advocate|GP|consultant|housing officer|landlord|landlady)"
)
_STAFF = (
    r"(?:care[ \t]+co-?ordinator|key[ \t]?worker|named[ \t]+nurse|cpn|social[ \t]+worker|support[ \t]+worker|"
    r"peer[ \t]+support[ \t]+worker|psychiatrist|psychologist|consultant|therapist|advocate|pharmacist|"
    r"occupational[ \t]+therapist|ot|gp|nurse|doctor|counsellor|housing[ \t]+officer)"
)
# (each scan starts with a look-ahead on the possible first letters: about three times faster)
_TITLED = rf"(?=[MmDdPpRrSsNnFf])\b{_TITLE_RX}\.?[ \t]+(?P<tname>{_NAME})"
_FAMILY = (
    r"(?=[MmHhTtOoYy])\b(?i:my|his|her|their|our|your)[ \t]+"
    r"(?:(?i:older|younger|elder|eldest|oldest|youngest|big|little|best|late|twin|new)[ \t]+)?"
    rf"(?i:{_ROLE}),?[ \t]+(?:(?i:is|was|called|named)[ \t]+)?(?P<fname>{_NAME_TC})"
)
# A staff role word and a name, anywhere ("Care coordinator Jane Doe will call").
_STAFF_NAME = rf"(?=[CcKkNnSsPpOoGgTtAaDdHh])\b(?i:{_STAFF})(?:[ \t]+(?i:is|was))?[ \t]*[,\-]?[ \t]+(?P<sname>{_NAME_TC})"
# Three separate scans, so that a match of one ("GP is Dr") never hides a match of another ("Dr. Patel").
_RULES = (  # family first: "my sister Jean" is logged as a family word, not the title "Sister"
    (re.compile(_FAMILY), "fname", "family_word"),
    (re.compile(_TITLED), "tname", "title"),
    (re.compile(_STAFF_NAME), "sname", "role_word"),
)
# At the start of a line or after "; ", ", ", ". ": a name label and a colon ("Carer: Jean Smith",
# "Signed: J Okonkwo", "CARE COORDINATOR: JANE DOE").
_LABELLED = re.compile(
    r"(?im)(?:^[ \t\-*\u2022]*|(?<=[;,.)] ))(?=[NnSsPpCcKkGgWwAaEeLlRrFf])(?:(?:relevant|full|preferred)[ \t]+)?"
    r"(?:name|service[ \t]+user|patient|client|carer|next[ \t]+of[ \t]+kin|nok|care[ \t]+co-?ordinator|"
    r"key[ \t]?worker|named[ \t]+nurse|signed(?:[ \t]+by)?|signature|nearest[ \t]+relative|gp|consultant|"
    r"psychiatrist|cpn|social[ \t]+worker|support[ \t]+worker|completed[ \t]+by|written[ \t]+by|author|"
    r"contact|emergency[ \t]+contact|lives[ \t]+with)"
    r"(?:'s)?(?:[ \t]+(?:full[ \t]+)?name)?[ \t]*(?:\([^)\n]*\))?[ \t]*[:\-][ \t]*"
    rf"(?-i:(?P<lname>{_NAME}))"
)
# "Alex (my partner)", "Mum (Carol)", "carer (Jean Smith)": found from the bracket.
_BRACKET_ROLE = re.compile(rf"\((?i:(?:my|his|her|their)\s+)?(?i:{_ROLE})\)")
_NAME_BEFORE = re.compile(rf"\b({_NW})\s*$")
_BRACKET_NAME = re.compile(rf"\((?P<name>{_NW}(?:\s+{_NW})?)\)")
_ROLE_BEFORE = re.compile(rf"\b(?i:{_ROLE})\s*$")

_STOP = """
The A An Not None No Nil N/A NA Yes Unknown Declined Service User Users Team Crisis Home Community Mental Health
Please See Care Plan Signed Date Refused Unable Awaiting Same As Above Tbc Tba Pending Vacant Allocated Duty
On In At And But Or If When Then This That He She They It Is Was Will Has Had Who Also To From For With Of
North South East West Central Surgery Practice Unit Ward Centre Clinic Hospital Office Trust Street Road
Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mondays Tuesdays Wednesdays Thursdays Fridays Saturdays
Sundays Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun Weekdays Weekends Daily Weekly Monthly
January February March April June July August September October November December Jan Feb Mar Apr Jun Jul
Aug Sep Sept Oct Nov Dec Christmas Easter Today Tomorrow Yesterday Morning Afternoon Evening Night
NHS GP GPs CMHT CPN CPA CRHT HTT EIP EIS AMHP OT SALT IAPT PICU MDT AOT CAMHS A&E ED RMN RGN SW SU NOK DOB
MH LD ICB CCG PALS MHA DOLS DoLS UK ID OK TBC TBA NICE ReQoL WEMWBS PHQ GAD HoNOS QS
Practitioner Specialist Consultant Manager Lead Led Prescriber Associate Psychiatrist Psychologist Nurse
Doctor Coordinator Co-ordinator Worker Therapist Registrar Support Social Key Named Senior Junior Staff
Group Groups Session Sessions Appointment Appointments Review Reviews Assessment Referral Services Input
Visit Visits Letter Report Meeting Meetings Clinic Clinics Programme Course Pathway Pharmacy Depot Medication
Mr Mrs Ms Miss Mx Dr Prof Rev Sister Father
""".split()
NOT_NAMES = frozenset(_STOP) | frozenset(w.upper() for w in _STOP)


def _clean(text: str, s: int, name: str) -> tuple[int, int] | None:
    """Trim non-name words from a candidate; return its span or None."""
    words = name.split()
    starts = []
    pos = s
    for w in words:
        pos = text.index(w, pos)
        starts.append(pos)
        pos += len(w)

    def bad(w: str) -> bool:
        w = w.rstrip(".")
        return w in NOT_NAMES or any(part in NOT_NAMES for part in w.split("-"))

    k0 = 0
    while k0 < len(words) and (bad(words[k0]) and len(words[k0].rstrip(".")) > 1):
        # a title inside ("my friend Dr Patel") or a non-name word: skip it
        k0 += 1
    k1 = len(words)
    while k1 > k0 and bad(words[k1 - 1]):
        k1 -= 1
    if k0 == k1:
        return None
    if k0 > 0 and words[k0 - 1].rstrip(".") not in TITLES:
        return None  # "care coordinator Mon Jane": not a name after a non-name word
    if not any(len(w.rstrip(".")) > 1 for w in words[k0:k1]):
        return None  # initials only
    return starts[k0], starts[k1 - 1] + len(words[k1 - 1])


def find_rule_names(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, "name", rule) for names after titles, family and role words, labels, brackets."""
    found: list[tuple[int, str, str]] = []
    for rx, group, rule in _RULES:
        for m in rx.finditer(text):
            found.append((m.start(group), m.group(group), rule))
    for m in _LABELLED.finditer(text):
        found.append((m.start("lname"), m.group("lname"), "name_label"))
    if "(" in text:
        for m in _BRACKET_ROLE.finditer(text):
            before = _NAME_BEFORE.search(text, max(0, m.start() - 40), m.start())
            if before is not None:
                found.append((before.start(1), before.group(1), "role_bracket"))
        for m in _BRACKET_NAME.finditer(text):
            if _ROLE_BEFORE.search(text, max(0, m.start() - 40), m.start()) is not None:
                found.append((m.start("name"), m.group("name"), "role_bracket"))
    out = []
    for s, name, rule in found:
        span = _clean(text, s, name)
        if span is not None:
            out.append((span[0], span[1], "name", rule))
    return out
