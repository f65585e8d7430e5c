"""Synthetic care-plan text with planted identifiers, for measuring redaction (seeded, all invented).

:func:`identifier_plans` writes short care plans in which identifiers are planted in many surface
forms (NHS numbers grouped every way, UK phones in every format, postcodes in all six shapes, e-mails,
labelled dates of birth, names after titles, roles and labels, hospital numbers, street addresses),
next to phrases that must stay readable (helplines, medication doses, review dates, service names).
Every planted item is recorded with its exact offsets, so recall per type and per surface form, and
the share of the keep-list that was redacted, can be measured exactly (``benchmarks/bench_redaction.py``
and ``tests/test_redaction_benchmark.py``).

Numbers are invented: NHS numbers are generated with a valid modulus-11 check digit (or, for the
"wrong check digit" form, an invalid one), phone numbers come from Ofcom's drama ranges, e-mail domains
are ``example.org`` / ``example.nhs.uk``, names are common first names and surnames.

>>> plans, items = identifier_plans(n_plans=3, seed=1)
>>> sorted(items.columns)
['end', 'form', 'kind', 'plan_id', 'start', 'type', 'value']
>>> row = items.iloc[0]
>>> plans.set_index("plan_id").loc[row.plan_id, "text"][row.start:row.end] == row.value
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recoverystudy.synthetic.care_plans import nhs_number_check_digit

__all__ = ["IDENTIFIER_FORMS", "KEEP_FORMS", "identifier_plans"]

_FIRST = ("Chloe", "Tom", "Jane", "Mary", "Aisha", "Gethin", "Priya", "Oliver", "Siobhan", "Kwame", "Emma",
          "Dafydd", "Fatima", "Liam", "Grace", "Hamza", "Niamh", "Ravi", "Sophie", "Declan", "Ewa", "Jack",
          "Yusuf", "Rhiannon", "Ben", "Zofia", "Carys", "Marcus", "Leanne", "Ade")
_SURNAME = ("Smith", "McAllister", "O'Brien", "Smith-Jones", "Okonkwo", "Patel", "Jones", "MacDonald",
            "Williams", "D'Souza", "Nowak", "Evans", "Khan", "Taylor-Reid", "Brown", "O'Neill", "Hughes",
            "Begum", "Wright", "McKenzie", "Adeyemi", "Davies", "Fitzgerald", "Thomas", "Ahmed")
_STREET = ("Acacia Avenue", "Mill Lane", "Station Road", "High Street", "Church Close", "Park Drive",
           "Victoria Terrace", "Orchard Way", "Elm Grove", "Kings Crescent", "Meadow View", "Queen's Court")
_MONTH = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_MON3 = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# (area code, local prefix) from Ofcom's ranges reserved for drama
_LAND = (("0161", "496 0"), ("0113", "496 0"), ("0121", "496 0"), ("0117", "496 0"), ("0131", "496 0"),
         ("0141", "496 0"), ("0151", "496 0"), ("0118", "496 0"))
_POSTCODES = {  # the six official shapes
    "postcode_A9_9AA": ("M1 1AE", "B1 1HQ", "L1 8JQ", "M2 5DB"),
    "postcode_A99_9AA": ("M60 1NW", "B33 8TH", "L14 3NU", "S60 2QQ"),
    "postcode_AA9_9AA": ("LU1 3JH", "CR2 6XH", "LS1 4DY", "CF1 2AB"),
    "postcode_AA99_9AA": ("DN55 1PT", "LU14 2XW", "CF10 1EP", "SW19 5AE"),
    "postcode_A9A_9AA": ("W1A 1AA", "E1W 1YY", "N1C 4AG", "W1D 3QF"),
    "postcode_AA9A_9AA": ("EC1A 1BB", "SW1A 2AA", "WC2H 7LT", "EC2V 7HH"),
}


def _nhs(rng, valid=True) -> str:
    while True:
        nine = "".join(str(d) for d in rng.integers(0, 10, 9))
        if nine[0] == "0":
            continue
        check = nhs_number_check_digit(nine)
        if check is None:
            continue
        if valid:
            return nine + str(check)
        return nine + str((check + 1 + int(rng.integers(0, 8))) % 10)


def _name(rng) -> tuple[str, str]:
    return _FIRST[int(rng.integers(len(_FIRST)))], _SURNAME[int(rng.integers(len(_SURNAME)))]


def _dob(rng) -> tuple[int, int, int]:
    return int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1940, 2006))


def _mobile(rng) -> tuple[str, str]:
    return "7700", f"900{int(rng.integers(0, 1000)):03d}"


def _land(rng) -> tuple[str, str]:
    code, pre = _LAND[int(rng.integers(len(_LAND)))]
    return code, f"{pre}{int(rng.integers(0, 1000)):03d}"


# Each form: (type, function rng -> (text before, value, text after)).  The value is what must go.
def _f(kind, fn):
    return kind, fn


def _g(d: str, sizes: tuple[int, ...], sep: str) -> str:
    out, pos = [], 0
    for s in sizes:
        out.append(d[pos : pos + s])
        pos += s
    return sep.join(out)


IDENTIFIER_FORMS = {
    # NHS numbers
    "nhs_spaced_3_3_4": _f("nhs_number", lambda r: ("Reference ", _g(_nhs(r), (3, 3, 4), " "), " on file.")),
    "nhs_compact": _f("nhs_number", lambda r: ("Ref ", _nhs(r), ".")),
    "nhs_dashed": _f("nhs_number", lambda r: ("ID ", _g(_nhs(r), (3, 3, 4), "-"), " recorded.")),
    "nhs_dotted": _f("nhs_number", lambda r: ("NHS number: ", _g(_nhs(r), (3, 3, 4), "."), ".")),
    "nhs_3_4_3": _f("nhs_number", lambda r: ("Number ", _g(_nhs(r), (3, 4, 3), " "), " given.")),
    "nhs_pairs": _f("nhs_number", lambda r: ("Quoted as ", _g(_nhs(r), (2, 2, 2, 2, 2), " "), ".")),
    "nhs_double_spaced": _f("nhs_number", lambda r: ("NHS no ", _g(_nhs(r), (3, 3, 4), "  "), " (checked).")),
    "nhs_line_break": _f("nhs_number", lambda r: ("NHS number ", _g(_nhs(r), (3, 3, 4), " ")
                                                  .replace(" ", "\n", 2).replace("\n", " ", 1), " noted.")),
    "nhs_bracketed": _f("nhs_number", lambda r: ("Service user (", _g(_nhs(r), (3, 3, 4), " "), ") attended.")),
    "nhs_labelled_wrong_check": _f("nhs_number", lambda r: ("NHS number: ", _g(_nhs(r, False), (3, 3, 4), " "),
                                                            ".")),
    "nhs_hash_label": _f("nhs_number", lambda r: ("NHS# ", _nhs(r, False), " on the letter.")),
    "nhs_dotted_label": _f("nhs_number", lambda r: ("N.H.S. no: ", _nhs(r, False), ".")),
    "nhs_chi_label": _f("nhs_number", lambda r: ("CHI ", _nhs(r, False), " (Scottish record).")),
    # phones
    "phone_mobile": _f("phone", lambda r: ("Mobile ", "0{} {}".format(*_mobile(r)), ".")),
    "phone_mobile_compact": _f("phone", lambda r: ("Text ", "0{}{}".format(*_mobile(r)), " any time.")),
    "phone_plus44": _f("phone", lambda r: ("Call ", "+44 {} {}".format(*_mobile(r)), ".")),
    "phone_plus44_0": _f("phone", lambda r: ("Call ", "+44 (0){} {}".format(*_mobile(r)), " please.")),
    "phone_0044": _f("phone", lambda r: ("Abroad: ", "0044 {} {}".format(*_mobile(r)), ".")),
    "phone_bracket_area": _f("phone", lambda r: ("Home ", "({}) {}".format(*_land(r)), ".")),
    "phone_landline": _f("phone", lambda r: ("Tel: ", "{} {}".format(*_land(r)), " (evenings).")),
    "phone_london": _f("phone", lambda r: ("Work ", f"020 7946 0{int(r.integers(0, 1000)):03d}", ".")),
    "phone_dashed": _f("phone", lambda r: ("Phone ", "0{}-{}".format(*_mobile(r)), ".")),
    "phone_double_space": _f("phone", lambda r: ("Mum on ", "0{}  {}".format(*_mobile(r)), ".")),
    # postcodes
    **{
        shape: _f("postcode", lambda r, opts=opts: ("Lives at ", opts[int(r.integers(len(opts)))], " with family."))
        for shape, opts in _POSTCODES.items()
    },
    "postcode_lower": _f("postcode", lambda r: ("post code ", _POSTCODES["postcode_AA9_9AA"][0].lower(), ".")),
    "postcode_no_space": _f("postcode", lambda r: ("at ", "CR26XH", " now.")),
    "postcode_two_spaces": _f("postcode", lambda r: ("Moved to ", "LU1  3JH", " in May.")),
    # e-mails
    "email_plain": _f("email", lambda r: ("E-mail ", f"{_FIRST[int(r.integers(30))].lower()}.sample@example.org",
                                          ".")),
    "email_subdomain": _f("email", lambda r: ("Contact ", f"j.doe{int(r.integers(100))}@mail.example.nhs.uk",
                                              " for letters.")),
    "email_plus_tag": _f("email", lambda r: ("Send to ", f"jane+care{int(r.integers(100))}@example.org", ".")),
    # labelled dates of birth
    "dob_label_slash": _f("date_of_birth", lambda r: ("DOB: ", "{:02d}/{:02d}/{}".format(*_dob(r)), ".")),
    "dob_dotted_short": _f("date_of_birth", lambda r: ("d.o.b. ", "{:02d}.{:02d}.{}".format(*_dob(r))[:-4]
                                                        + "{:02d}".format(int(r.integers(40, 100))), ".")),
    "dob_birth_date": _f("date_of_birth", lambda r: ("Birth date: ", "{:02d}/{:02d}/{}".format(*_dob(r)), ".")),
    "dob_date_of_birth_words": _f("date_of_birth", lambda r: (
        "Date of birth: ", (lambda d, m, y: f"{d} {_MONTH[m - 1]} {y}")(*_dob(r)), ".")),
    "dob_born_on_ordinal": _f("date_of_birth", lambda r: (
        "She was born on ", (lambda d, m, y: f"{d}{'th' if d > 3 else ('st', 'nd', 'rd')[d - 1]} {_MONTH[m - 1]} {y}")(
            *_dob(r)), " in Luton.")),
    "dob_born_in_month_year": _f("date_of_birth", lambda r: (
        "He was born in ", (lambda d, m, y: f"{_MONTH[m - 1]} {y}")(*_dob(r)), ".")),
    "dob_iso": _f("date_of_birth", lambda r: ("Born: ", "{2}-{1:02d}-{0:02d}".format(*_dob(r)), ".")),
    "dob_bracketed_short_month": _f("date_of_birth", lambda r: (
        "(DOB ", (lambda d, m, y: f"{d} {_MON3[m - 1]} {y}")(*_dob(r)), ")")),
    # names after titles, roles and labels
    "name_title": _f("name", lambda r: ("Seen by Mr ", _name(r)[1], " today.")),
    "name_title_caps": _f("name", lambda r: ("Letter from MR ", _name(r)[1].upper(), ".")),
    "name_title_initial": _f("name", lambda r: ("Mr ", f"{_name(r)[0][0]}. {_name(r)[1]}", " attended.")),
    "name_title_full": _f("name", lambda r: ("Mrs ", " ".join(_name(r)), " is the carer.")),
    "name_doctor": _f("name", lambda r: ("Reviewed with Dr ", _name(r)[1], " on the ward.")),
    "name_sister": _f("name", lambda r: ("Sister ", _name(r)[0], " gave the depot.")),
    "name_nurse": _f("name", lambda r: ("Nurse ", _name(r)[1], " will visit.")),
    "name_prof_rev": _f("name", lambda r: (("Prof ", "Rev ", "Ms ", "Miss ")[int(r.integers(4))], _name(r)[1],
                                           " was present.")),
    "name_family": _f("name", lambda r: ("I talk to my " + ("son", "daughter", "sister", "partner")[int(r.integers(4))]
                                         + " ", _name(r)[0], " every day.")),
    "name_role": _f("name", lambda r: ("Care coordinator ", " ".join(_name(r)), " will call weekly.")),
    "name_label": _f("name", lambda r: ("Name: ", " ".join(_name(r)), "\n")),
    "name_label_carer": _f("name", lambda r: ("Next of kin: ", " ".join(_name(r)), "\n")),
    "name_label_caps": _f("name", lambda r: ("Care coordinator: ", " ".join(_name(r)).upper(), "\n")),
    # hospital numbers and addresses
    "hospital_number": _f("hospital_number", lambda r: ("Hospital number: ", f"RX{int(r.integers(1e6, 1e7))}", ".")),
    "hospital_mrn": _f("hospital_number", lambda r: ("MRN ", f"{int(r.integers(1e7, 1e8))}", " on the wristband.")),
    "hospital_no_abbrev": _f("hospital_number", lambda r: ("Hosp no. ", f"A{int(r.integers(1e5, 1e6))}", ".")),
    "address_street": _f("address", lambda r: ("Home: ", f"{int(r.integers(1, 200))} {_STREET[int(r.integers(12))]}",
                                               ", Luton.")),
    "address_flat": _f("address", lambda r: ("Lives at ", f"Flat {int(r.integers(1, 30))}, "
                                             f"{int(r.integers(1, 200))} {_STREET[int(r.integers(12))]}", ".")),
    "address_number_letter": _f("address", lambda r: ("Moved to ", f"{int(r.integers(1, 99))}a "
                                                      f"{_STREET[int(r.integers(12))]}", " last month.")),
}

# Phrases that must stay readable (the value is the part that must not be touched).
KEEP_FORMS = {
    "keep_nhs_111": ("In a crisis call NHS ", "111", " or go to A&E."),
    "keep_nhs_word": ("In a crisis call ", "NHS 111", " any time."),
    "keep_999": ("If in danger call ", "999", "."),
    "keep_samaritans": ("Samaritans on ", "116 123", " (free, 24 hours)."),
    "keep_dose_mg": ("Sertraline ", "100 mg", " each morning."),
    "keep_dose_compact": ("Olanzapine ", "10mg", " at night."),
    "keep_depot": ("Depot ", "400 mg every 4 weeks", "."),
    "keep_lithium": ("Lithium level ", "0.6-0.8 mmol/L", " is the target."),
    "keep_review_date": ("Review date: ", "12/03/2026", "."),
    "keep_review_month": ("Next review in ", "March 2026", "."),
    "keep_appointment": ("Appointment on ", "14/05/2026", " at 10:30."),
    "keep_weekdays": ("Care coordinator ", "Mon-Fri", " 9-5."),
    "keep_title_word": ("", "Mrs", " {name} is the carer."),
    "keep_team": ("Team: ", "North CMHT", "\n"),
    "keep_outward_code": ("Lives in the ", "LU1", " area."),
    "keep_ward": ("Admitted to ", "Ward 3", " in 2024."),
    "keep_hours": ("Drop-in ", "10:00-16:00", " on weekdays."),
    "keep_score": ("ReQoL-10 score ", "24", " (was 18)."),
    "keep_crisis_line": ("Crisis team ", "open 24 hours", "."),
    "keep_gp": ("Registered with the ", "GP surgery", " on the high street."),
}

_FILLER = (
    "My goal is to get back to work part time.",
    "I want to feel less anxious when I go out.",
    "We agreed to meet every two weeks.",
    "I have a copy of this plan.",
    "Warning signs: not sleeping, stopping eating, staying in my room.",
    "What helps: walking the dog, talking to someone I trust.",
    "I would like to try a cooking course at the college.",
    "Support with benefits forms was discussed.",
)


def identifier_plans(
    n_plans: int = 300, seed: int = 0, per_plan: int = 8, keep_per_plan: int = 4, same_sentence: bool = False
):
    """Synthetic plans with planted identifiers and keep-list phrases, and their exact offsets.

    Forms are dealt round-robin over a seeded shuffle, so even a few dozen plans use every form.

    Parameters
    ----------
    n_plans : int, default=300
    seed : int, default=0
    per_plan : int, default=8
        Identifiers planted per plan.
    keep_per_plan : int, default=4
        Keep-list phrases per plan.
    same_sentence : bool, default=False
        Join each planted phrase to the care-plan sentence before it ("I have a copy of this plan;
        Mobile 07700 900123."), so that an audit quoting that sentence as evidence quotes the
        identifier too (for end-to-end tests of the audit's outputs).

    Returns
    -------
    (plans, items) : tuple of DataFrames
        ``plans``: plan_id, text.  ``items``: plan_id, kind ("identifier" or "keep"), type (nhs_number,
        phone, postcode, email, date_of_birth, name, hospital_number, address; "keep" for the
        keep-list), form, value, start, end (offsets of the value in the plan's text).

    Examples
    --------
    >>> plans, items = identifier_plans(n_plans=10, seed=0)
    >>> int((items["kind"] == "identifier").sum())
    80
    """
    rng = np.random.default_rng(seed)
    id_forms = list(IDENTIFIER_FORMS)
    keep_forms = list(KEEP_FORMS)
    id_order = [id_forms[k] for k in rng.permutation(len(id_forms))]
    keep_order = [keep_forms[k] for k in rng.permutation(len(keep_forms))]
    texts, ids, rows = [], [], []
    ki = kk = 0
    for p in range(n_plans):
        plan_id = f"plan-{p:05d}"
        pieces: list[tuple[str, str, str, str, str]] = []  # (before, value, after, kind/type, form)
        for _ in range(per_plan):
            form = id_order[ki % len(id_order)]
            ki += 1
            kind, fn = IDENTIFIER_FORMS[form]
            before, value, after = fn(rng)
            pieces.append((before, value, after, kind, form))
        for _ in range(keep_per_plan):
            form = keep_order[kk % len(keep_order)]
            kk += 1
            before, value, after = KEEP_FORMS[form]
            after = after.replace("{name}", " ".join(_name(rng)))
            pieces.append((before, value, after, "keep", form))
        order = rng.permutation(len(pieces))
        text = f"Care plan\nDate of plan: {int(rng.integers(1, 29)):02d}/05/2025\n\n"
        for k in order:
            before, value, after, kind, form = pieces[k]
            filler = _FILLER[int(rng.integers(len(_FILLER)))]
            text += (filler[:-1] + "; ") if same_sentence else (filler + " ")
            start = len(text) + len(before)
            text += before + value + after
            rows.append(
                (plan_id, "keep" if kind == "keep" else "identifier", kind, form, value, start, start + len(value))
            )
            text += "\n" if not after.endswith("\n") else ""
        ids.append(plan_id)
        texts.append(text)
    plans = pd.DataFrame({"plan_id": ids, "text": texts})
    items = pd.DataFrame(rows, columns=["plan_id", "kind", "type", "form", "value", "start", "end"])
    return plans, items
