"""Redaction of UK identifiers (NHS numbers, DOB, phones, e-mails, postcodes, names)."""

from __future__ import annotations

import pytest

import recoverystudy as rs
from recoverystudy.redact import nhs_number_is_valid


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
