"""Negated statements are not evidence: "No crisis plan has been agreed." must not raise a rating.

Cues, window, clause boundaries and exceptions come from the rubric's ``negation`` block
(docs/audit-rubric-schema.md); a negated match is not counted but is shown as ``<rule> (negated)``
evidence so the reviewer sees why a rating is low.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import recoverystudy as rs
from recoverystudy._resources import bundled_files
from recoverystudy.audit.prerate import NEGATED, prerate_text
from recoverystudy.audit.rubric import DEFAULT_NEGATION
from recoverystudy.errors import RubricError

RUBRIC = rs.load_rubric()
IDS = RUBRIC.criterion_ids


def rating(text: str, criterion: str, rubric=RUBRIC) -> str:
    ratings, *_ = prerate_text(text, rubric)
    return ratings[rubric.criterion_ids.index(criterion)]


REVIEWER_PLAN = (
    "Care plan\n"
    "No review date has been set.\n"
    "No crisis plan has been agreed.\n"
    "The service user declined to discuss a crisis plan.\n"
    "He does not have a carer.\n"
)


def test_the_reviewers_plan():
    audit = rs.audit_care_plans(pd.DataFrame({"plan_id": ["p"], "text": [REVIEWER_PLAN]}))
    got = audit.prerated.set_index("criterion")["rating"]
    assert got["qs14_review_date"] == "not evidenced"
    assert got["qs14_crisis_plan"] == "not evidenced"
    assert got["cpa_ps_three_party_actions"] == "not evidenced"
    # recording that there is no carer meets the criterion (rubric guidance; a negative-statement rule)
    assert got["toc_carer_identified"] == "met"
    # the negated sentences are shown as negative evidence, never as the evidence of a rating
    ev = audit.evidence
    crisis = ev[ev["criterion"] == "qs14_crisis_plan"]
    assert set(crisis["evidence"]) == {"crisis_mention" + NEGATED}
    quoted = {REVIEWER_PLAN[s:e] for s, e in zip(crisis["sentence_start"], crisis["sentence_end"])}
    assert "No crisis plan has been agreed." in quoted
    review = ev[ev["criterion"] == "qs14_review_date"]
    assert review["evidence"].tolist() == ["review_mention" + NEGATED]
    met = audit.prerated.loc[audit.prerated["rating"] == "met", "criterion"]
    assert not ev[ev["criterion"].isin(met)]["evidence"].str.endswith(NEGATED).any()


@pytest.mark.parametrize(
    "text, criterion, expected",
    [
        # negated: a cue within the window, same clause
        ("A crisis plan has not been agreed.", "qs14_crisis_plan", "not evidenced"),  # after cue
        ("She has never had a relapse or a crisis.", "qs14_crisis_plan", "not evidenced"),
        ("Crisis plan not yet written.", "qs14_crisis_plan", "not evidenced"),  # "not yet" after the match
        ("Jason did not attend the review.", "qs14_review_date", "not evidenced"),
        ("No strengths identified.", "rec_strengths", "not evidenced"),
        ("No care co-ordinator allocated.", "cpa_ps_key_worker", "not evidenced"),
        ("No goals agreed.", "qs14_own_goals", "not evidenced"),
        # not negated: a clause boundary, an exception or a far-away cue
        ("If there is no improvement, review in 4 weeks.", "qs14_review_date", "partly met"),
        ("If there is no improvement review in 4 weeks.", "qs14_review_date", "partly met"),
        ("No change to medication; review in 6 weeks.", "qs14_review_date", "partly met"),
        ("Depot no longer needed but we will review in 6 weeks.", "qs14_review_date", "partly met"),
        ("No crisis plan yet, but the crisis team know him.", "qs14_crisis_plan", "partly met"),
        ("This is not only a crisis plan.", "qs14_crisis_plan", "partly met"),
        (
            "I no longer need to go to A&E every week because I have a relapse plan now.",
            "qs14_crisis_plan",
            "partly met",
        ),
        ("Nothing about me without me: this plan includes my goals.", "qs14_own_goals", "partly met"),
        ("I want to stop smoking and not go back to hospital.", "qs14_own_goals", "met"),
    ],
)
def test_negation_cases(text, criterion, expected):
    assert rating(text, criterion) == expected


def test_no_longer_is_a_negation():
    assert rating("She no longer has contact with the crisis team.", "qs14_crisis_plan") == "not evidenced"


def test_phone_number_after_tel_no_still_counts():
    text = "Crisis plan\nWarning signs: not sleeping, shouting.\nCall my sister Jo, tel no 07700 900123.\n"
    assert rating(text, "cpa_tool_crisis_contact") == "met"


def test_negative_statement_rules_are_not_negated():
    assert not RUBRIC.evidence["no_carer"].negation
    assert not RUBRIC.evidence["signature_unsigned"].negation
    assert not RUBRIC.evidence["first_person"].negation  # "I don't like crowds" is still own words
    assert RUBRIC.evidence["crisis_mention"].negation and RUBRIC.evidence["carer_named"].negation
    assert rating("Signature: declined to sign.", "cpa_tool_signed") == "partly met"
    assert rating("I don't like crowds. I never go out. I can't sleep.", "rec_own_words") == "met"


def _bundled() -> dict:
    return yaml.safe_load(bundled_files("codebooks")["care-plan-audit"].read_text("utf-8"))


def _load(tmp_path, data):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return rs.load_rubric(path)


def test_absent_block_uses_the_defaults(tmp_path):
    data = _bundled()
    assert {k: data["negation"][k] for k in DEFAULT_NEGATION} == DEFAULT_NEGATION  # bundled = defaults
    del data["negation"]
    rub = _load(tmp_path, data)
    assert rub.negation.cues == tuple(DEFAULT_NEGATION["cues"])
    assert rating("No crisis plan has been agreed.", "qs14_crisis_plan", rub) == "not evidenced"
    # rules that look for a negative statement stay un-negated even without negation: false
    for name in ("no_carer", "carer_not_wanted", "signature_unsigned"):
        del data["evidence"][name]["negation"]
    rub = _load(tmp_path, data)
    assert not rub.evidence["no_carer"].negation
    assert rating("He does not have a carer.", "toc_carer_identified", rub) == "met"


def test_negation_can_be_turned_off_and_configured(tmp_path):
    data = _bundled()
    data["negation"] = False
    rub = _load(tmp_path, data)
    assert rub.negation is None
    assert rating("No crisis plan has been agreed.", "qs14_crisis_plan", rub) == "partly met"
    data = _bundled()
    data["negation"] = {"cues": ["absent"], "window": 2}
    rub = _load(tmp_path, data)
    assert rating("No crisis plan has been agreed.", "qs14_crisis_plan", rub) == "partly met"
    assert rating("Absent: a crisis plan.", "qs14_crisis_plan", rub) == "partly met"  # ":" ends the clause
    assert rating("Absent any crisis plan.", "qs14_crisis_plan", rub) == "not evidenced"
    assert rating("Absent and still without any crisis plan.", "qs14_crisis_plan", rub) == "partly met"


@pytest.mark.parametrize(
    "block, message",
    [
        ({"cues": "no"}, "negation.cues must be a list"),
        ({"cues": [False, "not"]}, "YAML reads a bare no"),
        ({"cues": []}, "at least one cue"),
        ({"window": 11}, "negation.window must be a whole number from 0 to 10"),
        ({"window": True}, "negation.window"),
        ({"exceptions": ["not (only"]}, "negation.exceptions[0]: invalid regular expression"),
        ({"cue": ["no"]}, "unknown key(s) cue"),
        ("yes", "must be a mapping"),
    ],
)
def test_negation_block_is_validated(tmp_path, block, message):
    data = _bundled()
    data["negation"] = block
    with pytest.raises(RubricError, match=__import__("re").escape(message)):
        _load(tmp_path, data)


def test_evidence_flag_is_validated(tmp_path):
    data = _bundled()
    data["evidence"]["coping"]["negation"] = "yes"
    with pytest.raises(RubricError, match="coping'.negation must be true or false"):
        _load(tmp_path, data)
    data = _bundled()
    data["evidence"]["crisis_section"]["negation"] = True
    with pytest.raises(RubricError, match="only used with kinds 'pattern' and 'linked'"):
        _load(tmp_path, data)


def test_fast_and_plain_negation_checks_agree():
    from pathlib import Path

    from recoverystudy.audit.sections import PlanLayout

    neg = RUBRIC.negation
    data = Path(__file__).parent / "data" / "care_plans"
    checked = 0
    texts = [REVIEWER_PLAN]
    for p in sorted(data.glob("*.txt")) + sorted(data.glob("*.md")):
        try:
            texts.append(p.read_text("utf-8"))
        except UnicodeDecodeError:  # the deliberately broken test files
            continue
    for text in texts:
        low = text.lower()
        if len(low) != len(text):
            continue
        positions = neg.positions(low)
        layout = PlanLayout(text, RUBRIC.sections, RUBRIC.headings, low)
        for ev in RUBRIC.evidence.values():
            if ev.negation:
                for m in ev.pattern.finditer(text):
                    ss, se = layout.sentence(m.start())
                    fast = neg.negated(text, m.start(), m.end(), ss, se, positions)
                    assert fast == neg.negated(text, m.start(), m.end(), ss, se), text[ss:se]
                    checked += 1
    assert checked > 500
