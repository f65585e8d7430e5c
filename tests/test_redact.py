"""Redaction of UK identifiers (NHS numbers, DOB, phones, e-mails, postcodes, names)."""

from __future__ import annotations

import pytest

import recoverystudy as rs
from recoverystudy.privacy.redact import nhs_number_is_valid


# NHS Data Dictionary example 943 476 5919, by hand: weights 10..2 on 9,4,3,4,7,6,5,9,1 give
# 90+36+24+28+42+30+20+27+2 = 299; 299 mod 11 = 2; 11 - 2 = 9 = the tenth digit, so it is valid.
def _check_digit(nine: str) -> int | None:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
    c = 11 - total % 11
    return 0 if c == 11 else (None if c == 10 else c)


@pytest.mark.parametrize(
    "number, valid",
    [
        ("943 476 5919", True),
        ("9434765919", True),
        ("943-476-5919", True),
        ("943 476 5918", False),
        ("439 825 9791", True),
        ("401 023 2137", True),  # 40+0+8+0+12+15+8+3+6 = 92; 92 mod 11 = 4; 11 - 4 = 7
        ("123 456 7890", False),  # check digit would be 10: invalid
        ("943 476 591", False),
        ("abc 476 5919", False),
    ],
)
def test_nhs_number_check_digit(number, valid):
    digits = number.replace(" ", "").replace("-", "")
    if len(digits) == 10 and digits.isdigit():
        assert (_check_digit(digits[:9]) == int(digits[9])) is valid  # hand algorithm agrees
    assert nhs_number_is_valid(number) is valid


def test_check_digit_eleven_maps_to_zero():
    # a weighted sum of 0 gives 11 - 0 = 11, which the rule reads as check digit 0
    stem = "000000000"
    assert _check_digit(stem) == 0
    assert nhs_number_is_valid(stem + "0")
    assert not nhs_number_is_valid(stem + "1")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("NHS number 943 476 5919.", "NHS number [NHS number]."),
        ("ref 9434765919 and 943-476-5919", "ref [NHS number] and [NHS number]"),
        ("NHS no: 943 476 5918", "NHS no: [NHS number]"),  # fails the check but labelled
        ("order 943 476 5918", "order 943 476 5918"),  # fails the check, no label: kept
        ("DOB: 14/03/1971", "DOB: [date of birth]"),
        ("D.O.B. 14.03.71", "D.O.B. [date of birth]"),
        ("born 14 March 1971", "born [date of birth]"),
        ("date of birth: 1971-03-14", "date of birth: [date of birth]"),
        ("Review date: 12/09/2025", "Review date: 12/09/2025"),  # audit evidence kept
        ("call 07700 900123", "call [phone number]"),
        ("call 07700900123", "call [phone number]"),
        ("call +44 7700 900123", "call [phone number]"),
        ("call (0161) 496 0000 now", "call [phone number] now"),
        ("call 0161 496 0000", "call [phone number]"),
        ("call 01582 700123", "call [phone number]"),
        ("call 0800 123 4567", "call [phone number]"),
        ("mail k.sample@example.org today", "mail [email] today"),
        ("at LU1 3JH", "at [postcode]"),
        ("at M1 1AE", "at [postcode]"),
        ("at SW1A 1AA", "at [postcode]"),
        ("at lu13jh", "at [postcode]"),
        ("the LU1 area", "the LU1 area"),  # outward code alone is geography
        ("at 2pm in 3 weeks", "at 2pm in 3 weeks"),
        ("I see Dr Patel and my sister Jean", "I see Dr [name] and my sister [name]"),
        ("Carer: Jean Smith", "Carer: [name]"),
        ("Signed (care coordinator): P. Shah", "Signed (care coordinator): [name]"),
        ("Signed: J Okonkwo", "Signed: [name]"),
    ],
)
def test_redact_table(text, expected):
    assert rs.redact(text).text == expected


def test_names_list_and_log_offsets():
    text = "Dorothy said hello. dorothy again; NHS 943 476 5919"
    r = rs.redact(text, names=["Dorothy"], name_rules=False)
    assert r.text == "[name] said hello. [name] again; NHS [NHS number]"
    log = r.log
    assert log["category"].tolist() == ["name", "name", "nhs_number"]
    # offsets point into the original; new offsets into the redacted text
    for row in log.itertuples():
        assert r.text[row.new_start : row.new_end] == row.replacement
        assert row.end - row.start == len(text[row.start : row.end])
    assert (log["start"].tolist(), log["end"].tolist()) == ([0, 20, 39], [7, 27, 51])
    assert "Dorothy" not in log.to_string()  # the log never stores the original text


def test_redact_rejects_non_text():
    with pytest.raises(TypeError, match="string"):
        rs.redact(None)


def test_summary_counts():
    r = rs.redact("07700 900123 and 07700 900124")
    assert r.n_redacted == 2
    assert r.summary() == "2 identifier(s) replaced: 2 phone."


# --- dates of birth next to a name (reference section 6) -----------------------------------------
@pytest.mark.parametrize(
    "text, reference, expected",
    [
        # a title or labelled name, then a date making the person 16-110 on the plan date
        (
            "Mrs Edith Norris (03/02/1946) lives alone.",
            "2025-05-05",
            "Mrs [name] ([date of birth]) lives alone.",
        ),
        (
            "Service user: Mr Emyr Pugh   17/05/1962",
            "2025-03-03",
            "Service user: Mr [name]   [date of birth]",
        ),
        (
            "Next of kin is my son Liam, 14/02/2007.",
            "2025-05-05",
            "Next of kin is my son [name], [date of birth].",
        ),
        (
            "Relevant patient: Ffion Llewellyn (4 November 1988)",
            "2025-05-12",
            "Relevant patient: [name] ([date of birth])",
        ),
        ("Jordan Reeve 14.03.71 attended", "2025-01-01", "[name] [date of birth] attended"),  # listed name
        ("14/03/1971 Jordan Reeve", "2025-01-01", "[date of birth] [name]"),  # date before the name
        # ages outside 16-110: not a date of birth of an adult service user or carer
        ("my son Liam, 14/02/2015", "2025-05-05", "my son [name], 14/02/2015"),  # 10 years old
        ("Mr Jones 01/01/1900", "2025-05-05", "Mr [name] 01/01/1900"),  # 125
        # review, appointment and event dates are audit evidence: never redacted
        ("Review with Dr Patel 12/09/2025", "2025-03-14", "Review with Dr [name] 12/09/2025"),
        ("Seen by Dr Patel 14/03/1999 in clinic.", "2025-05-05", "Seen by Dr [name] 14/03/1999 in clinic."),
        ("Jordan Reeve was admitted on 14/03/1999.", "2025-05-05", "[name] was admitted on 14/03/1999."),
        ("Review 12/09/1990 Jordan Reeve", "2025-05-05", "Review 12/09/1990 [name]"),
        ("Jordan Reeve, review date 12/09/2025", "2025-05-05", "[name], review date 12/09/2025"),
        # a date with no name next to it is kept
        ("Admitted 14/03/1999 for six weeks.", "2025-05-05", "Admitted 14/03/1999 for six weeks."),
        # DOB labels still work on their own
        ("DOB: 14/03/1971", "2025-05-05", "DOB: [date of birth]"),
    ],
)
def test_dates_of_birth_next_to_a_name(text, reference, expected):
    assert rs.redact(text, names=["Jordan Reeve"], reference_date=reference).text == expected


def test_plan_date_is_read_from_the_plan():
    text = "Date of plan: 12/05/2025\nPatient: Ffion Llewellyn (04/11/2008)\nMr Holt 20/01/2010\n"
    r = rs.redact(text)
    # 16 on 12 May 2025 (born 4 Nov 2008): redacted; Mr Holt would be 15: kept
    assert r.text == "Date of plan: 12/05/2025\nPatient: [name] ([date of birth])\nMr [name] 20/01/2010\n"
    assert r.log.loc[r.log["category"] == "date_of_birth", "rule"].tolist() == ["dob_next_to_name"]
    # a later plan date makes Mr Holt 16
    later = rs.redact(text.replace("12/05/2025", "21/01/2026"))
    assert later.text.endswith("Mr [name] [date of birth]\n")
    # the plan date and a review date next to a name survive
    r2 = rs.redact("Date: 03/03/2025\nReview with Jean Smith on 03/09/2025.", names=["Jean Smith"])
    assert r2.text == "Date: 03/03/2025\nReview with [name] on 03/09/2025."
    with pytest.raises(ValueError, match="reference_date must be a date"):
        rs.redact("x", reference_date="not a date")


# --- names after role words: proposals, still redacted in shared outputs --------------------------
@pytest.mark.parametrize(
    "text, expected, rule",
    [
        ("her husband Graham came", "her husband [name] came", "family_word"),
        ("My sister Jean will help", "My sister [name] will help", "family_word"),  # capital My
        ("I see My Mum Carol", "I see My Mum [name]", "family_word"),
        ("my step-son Liam", "my step-son [name]", "family_word"),
        ("my mother-in-law Val came", "my mother-in-law [name] came", "family_word"),
        ("my best friend Dana", "my best friend [name]", "family_word"),
        ("our son Ben", "our son [name]", "family_word"),
        ("My care coordinator, Ruth, will see me", "My care coordinator, [name], will see me", "family_word"),
        ("my support worker Sue", "my support worker [name]", "family_word"),
        ("Mum (Carol) is first", "Mum ([name]) is first", "role_bracket"),
        ("What Alex (my partner) will do", "What [name] (my partner) will do", "role_bracket"),
        ("Care coordinator Priti Nair tomorrow", "Care coordinator [name] tomorrow", "role_word"),
        ("Dr Patel", "Dr [name]", "title"),
    ],
)
def test_names_after_role_words(text, expected, rule):
    r = rs.redact(text)
    assert r.text == expected
    assert r.log["rule"].tolist() == [rule]
    assert r.log["proposed"].tolist() == [True]  # found by a rule: a proposal for a reviewer


@pytest.mark.parametrize(
    "text",
    [
        "my care co-ordinator North CMHT",  # a team, not a name
        "my GP Surgery",
        "I see my sister In town",
        "my son. He is well",  # the sentence ends
        "with my mum on Sundays",
        "my nurse Monday",
    ],
)
def test_capitalised_words_that_are_not_names_are_left(text):
    assert rs.redact(text).text == text


def test_rule_found_names_are_proposed_listed_names_are_not():
    text = "My partner Gethin: Gethin will help. Dorothy phoned. NHS 943 476 5919."
    r = rs.redact(text, names=["Dorothy"])
    assert r.text == "My partner [name]: [name] will help. [name] phoned. NHS [NHS number]."
    assert r.log[["rule", "proposed"]].values.tolist() == [
        ["family_word", True],
        ["name_repeat", True],  # a later repeat of a name a rule found
        ["names_list", False],
        ["nhs_number_valid", False],
    ]
    assert "2 of them were found by rules" in r.summary()
    # name_rules=False: only the list, nothing proposed
    plain = rs.redact(text, names=["Dorothy"], name_rules=False)
    assert plain.text == "My partner Gethin: Gethin will help. [name] phoned. NHS [NHS number]."
    assert not plain.log["proposed"].any()
    assert "found by rules" not in plain.summary()
