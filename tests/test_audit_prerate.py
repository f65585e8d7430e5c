"""Pre-rating care plans: agreement with the expected ratings written before the pre-rater,
section splitting, evidence, and the rule that a rating never claims more than its evidence.

Agreement with tests/data/care_plans/_expected/expected_ratings.csv (38 synthetic plans x 19
criteria; the expected ratings were written by hand from the rubric guidance before the
pre-rater existed - for plans 34-38, the Welsh "Care and Treatment Plans", and the Wales column,
before the Wales rules were written).  CAVEAT: the evidence rules were then developed against these
same plans, so this is agreement on the development set, not an estimate of accuracy on a trust's
real plans.  The country of each plan (for the Wales criterion) comes from _expected/teams.csv.

Floor (test fails below it): every criterion >= 0.85 agreement and overall >= 0.95.
Achieved (38 plans, 722 ratings): 719/722 = 0.996 overall; every criterion 1.00 except
qs14_copy_given 37/38 (plan_25: "a copy will be sent to Faisal" - the carer - read as "partly
met"), toc_carer_identified 37/38 (plan_29: a named daughter without a support role read as
"met") and qs14_own_goals 37/38 (plan_36: the heading "Outcomes agreed in the eight areas of life"
read as goals recorded, though every area says "not discussed").  wales_eight_areas 38/38 (32
English plans "not applicable", 6 Welsh plans).  The .txt/.md subset (31 plans) alone: 587/589.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.audit.prerate import NEGATED, prerate_text

DATA = Path(__file__).parent / "data" / "care_plans"
EXPECTED = pd.read_csv(DATA / "_expected" / "expected_ratings.csv").set_index("plan")
COUNTRY = rs.read_plan_metadata(DATA / "_expected" / "teams.csv", "country")
FLOOR_CRITERION = 0.85
FLOOR_OVERALL = 0.95


def _agreement(audit) -> pd.DataFrame:
    got = audit.prerated.pivot(index="plan_id", columns="criterion", values="rating")
    got = got.loc[got.index.isin(EXPECTED.index)]  # the held-out plans are measured separately
    exp = EXPECTED.loc[got.index, got.columns]
    return (got == exp).mean(axis=0), (got == exp).to_numpy().mean(), got.index


def test_agreement_txt_and_md_plans():
    files = sorted(p for p in DATA.glob("plan_*") if p.suffix in (".txt", ".md"))
    audit = rs.audit_care_plans(files, country=COUNTRY)
    per_crit, overall, plans = _agreement(audit)
    assert len(plans) == 31
    assert per_crit.min() >= FLOOR_CRITERION, per_crit[per_crit < FLOOR_CRITERION]
    assert overall >= FLOOR_OVERALL
    # the two known misses: plan_25 qs14_copy_given, plan_36 qs14_own_goals
    assert round(overall * 589) == 587
    assert per_crit["wales_eight_areas"] == 1.0


def test_agreement_all_formats():
    pytest.importorskip("recoverystudy.qual.documents")
    audit = rs.audit_care_plans(DATA, country=COUNTRY)
    per_crit, overall, plans = _agreement(audit)
    assert len(plans) == 38
    assert round(overall * 722) == 719
    assert per_crit["wales_eight_areas"] == 1.0
    assert per_crit.min() >= FLOOR_CRITERION, per_crit[per_crit < FLOOR_CRITERION]
    assert overall >= FLOOR_OVERALL
    assert sorted(audit.skipped["plan_id"]) == [
        "zz_binary.txt",
        "zz_corrupt.docx",
        "zz_empty.txt",
        "zz_protected.pdf",
    ]
    reasons = dict(zip(audit.skipped["plan_id"], audit.skipped["reason"]))
    assert all(reasons.values())


RUBRIC = rs.load_rubric()


def rating(text: str, criterion: str) -> str:
    ratings, *_ = prerate_text(text, RUBRIC)
    return ratings[RUBRIC.criterion_ids.index(criterion)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Date of plan: 01/03/2025\nReview date: 01/09/2025", "met"),
        ("Date of plan: 01/03/2025\nReview date: 01/01/2025", "partly met"),  # not after the plan date
        ("Review date: 01/09/2025", "partly met"),  # no plan date: cannot show it is later
        ("Review: annually.", "partly met"),
        ("Continue medication. OPA 3/12.", "not evidenced"),
        ("Plan date: 2 June 2025\nNext review: 2 December 2025", "met"),
    ],
)
def test_review_date_never_claims_more_than_the_dates_show(text, expected):
    assert rating(text, "qs14_review_date") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("My early warning signs:\n- not sleeping\n- spending money\n", "met"),
        ("Relapse signature\nEarly sign: drinking in the morning.\n", "partly met"),
        ("Crisis plan: contact the crisis team.\n", "not evidenced"),
        ("Crisis plan\nAlan's warning signs are not sleeping and not answering the phone.\n", "met"),
    ],
)
def test_relapse_indicator_counts(text, expected):
    assert rating(text, "cpa_tool_relapse_indicators") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Carer: N/A", "not evidenced"),
        ("Carer: \nCarer's assessment offered: No", "not evidenced"),
        ("She lives with her mother.", "partly met"),
        ("I live with my partner Alex.", "met"),
        ("I do not have a carer.", "met"),
    ],
)
def test_carer_identified(text, expected):
    assert rating(text, "toc_carer_identified") == expected


def test_risk_labels_are_not_discussion():
    text = "RISK\nRisk to self: HIGH. Risk to others: LOW.\n"
    assert rating(text, "cpa_ps_risk_discussed") == "not evidenced"
    text2 = "Risk\nWe talked about risk. I know evenings are worst.\n"
    assert rating(text2, "cpa_ps_risk_discussed") == "met"


def test_evidence_offsets_quote_the_plan():
    text = (DATA / "plan_01.txt").read_text(encoding="utf-8")
    audit = rs.audit_care_plans(pd.DataFrame({"plan_id": ["p"], "text": [text]}))
    ev = audit.evidence
    assert len(ev) > 0
    kinds = {name: rule.kind for name, rule in RUBRIC.evidence.items()}
    for row in ev.itertuples():
        assert row.sentence_start <= row.start < row.end <= len(text)
        assert "\n" not in text[row.sentence_start : row.sentence_end]
        if kinds[row.evidence.removesuffix(NEGATED)] in ("pattern", "linked", "date"):
            assert row.end <= row.sentence_end  # the match lies in the quoted sentence
    met = audit.prerated[audit.prerated["rating"] == "met"]
    # every "met" has evidence for the rule that fired
    assert set(met["criterion"]) <= set(ev["criterion"])
    review = ev[ev["criterion"] == "qs14_review_date"]
    assert text[review.iloc[0]["start"] : review.iloc[0]["end"]] == "12/09/2025"


def test_input_order_does_not_change_ratings_and_input_not_mutated():
    files = sorted(DATA.glob("plan_0*.txt"))
    df = pd.DataFrame({"plan_id": [f.name for f in files], "text": [f.read_text("utf-8") for f in files]})
    before = df.copy()
    a = rs.audit_care_plans(df).prerated.set_index(["plan_id", "criterion"])["rating"]
    b = rs.audit_care_plans(df.iloc[::-1]).prerated.set_index(["plan_id", "criterion"])["rating"]
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())
    pd.testing.assert_frame_equal(df, before)


def test_two_workers_give_the_same_ratings():
    files = sorted(DATA.glob("plan_*.txt"))
    texts = [f.read_text("utf-8") for f in files] * 20
    df = pd.DataFrame({"plan_id": [f"p{i}" for i in range(len(texts))], "text": texts})
    calls = []
    one = rs.audit_care_plans(df).prerated
    two = rs.audit_care_plans(df, n_jobs=2, progress=lambda d, t: calls.append((d, t))).prerated
    pd.testing.assert_frame_equal(one, two)
    assert calls[0] == (0, len(df)) and calls[-1] == (len(df), len(df))


def test_sections_split():
    t = "About me\nI like walking.\n\n# Crisis plan\nWarning signs: not sleeping.\nWhat helps: music.\n"
    s = rs.split_sections(t)
    assert s["heading"].tolist() == ["About me", "Crisis plan", "Warning signs", "What helps"]
    assert s["level"].tolist() == [1, 1, 3, 3]
    assert "crisis" in s.loc[2, "kinds"] and "warning_signs" in s.loc[2, "kinds"]


HELDOUT = pd.read_csv(DATA / "_expected" / "heldout_ratings.csv").set_index("plan")


def test_agreement_on_held_out_plans():
    """Plans written AFTER the rules were frozen, expected ratings written before the first run;
    the rules were not changed afterwards.  This is the honest figure for plans the rules have not
    seen.  heldout_01-06 (English, 18 criteria): first and only run 89/108 = 0.824 (per criterion
    0.50-1.00); 17 of the 19 disagreements are under-ratings (e.g. unfamiliar headings "Keeping
    safe", "When things go wrong"; "Next review due" label); 2 over-ratings (heldout_04 review "partly
    met" from a past review; heldout_06 goals "met" from "For Mrs Norris to remain at home").
    With the Wales criterion (all six "not applicable", country England): 95/114.
    heldout_07-08 (Welsh, written after the Wales rules were frozen; first and only run): 31/38.
    All 7 misses are under-ratings; wales_eight_areas 1/2 - heldout_07 gives its outcomes in a
    pipe table ("| Finance and money | To claim the PIP ... |"), which the rules do not read
    (pre-rated "partly met", coverage 0 of the 5 areas).  heldout_08's coverage (2 areas) is exact.
    Overall 126/152 = 0.829.  Floor: overall >= 0.80 and at most 2 over-ratings.
    After negation handling was added (tests/test_audit_negation.py; rules otherwise unchanged):
    127/152 = 0.836 - heldout_04's review over-rating ("Jason did not attend the review.") is now
    "not evidenced" as expected; heldout_05 toc_carer_identified moved from "partly met" to "not
    evidenced" ("I don't have any family nearby ...": negated family mention; expected "met", a
    miss either way).  One over-rating remains (heldout_06 goals)."""
    audit = rs.audit_care_plans([DATA / p for p in HELDOUT.index], country=COUNTRY)
    got = audit.prerated.pivot(index="plan_id", columns="criterion", values="rating")
    got = got.loc[HELDOUT.index, HELDOUT.columns]
    agree = (got == HELDOUT).to_numpy()
    assert agree.mean() >= 0.80
    assert agree.sum() == 127
    assert (got["wales_eight_areas"] == HELDOUT["wales_eight_areas"]).sum() == 7
    order = {"not applicable": -1, "not evidenced": 0, "partly met": 1, "met": 2}
    over = (got.map(order.get) > HELDOUT.map(order.get)) & (HELDOUT != "not applicable")
    assert int(over.to_numpy().sum()) <= 1


def test_project_care_plan_documents(tmp_path):
    if not hasattr(rs, "Project"):
        pytest.skip("recoverystudy.Project not available")
    files = ["plan_01.txt", "plan_03.txt"]
    with rs.Project.create(tmp_path / "p.rsproj") as proj:
        for f in files:
            proj.add_document(DATA / f, name=f, kind="care_plan", case=f[:7])
        proj.add_document("I want to work.", name="interview-1", kind="interview")
        audit = rs.audit_care_plans(proj)
    assert audit.plans["plan_id"].tolist() == files  # interviews are not audited
    got = audit.prerated.pivot(index="plan_id", columns="criterion", values="rating")
    assert (got == EXPECTED.loc[files, got.columns]).to_numpy().all()


def test_project_case_attribute_gives_the_country(tmp_path):
    if not hasattr(rs, "Project"):
        pytest.skip("recoverystudy.Project not available")
    files = ["plan_26.txt", "plan_01.txt"]
    with rs.Project.create(tmp_path / "p.rsproj") as proj:
        proj.import_cases(
            pd.DataFrame({"case": ["C26", "C01"], "nation": ["Wales", "England"]}), case_col="case"
        )
        for f, case in zip(files, ["C26", "C01"]):
            proj.add_document(DATA / f, name=f, kind="care_plan", case=case)
        audit = rs.audit_care_plans(proj, country="nation")
    got = audit.prerated.set_index(["plan_id", "criterion"])["rating"]
    assert got[("plan_26.txt", "wales_eight_areas")] == "met"
    assert got[("plan_01.txt", "wales_eight_areas")] == "not applicable"
    assert audit.plans.set_index("plan_id")["country"].to_dict() == {
        "plan_26.txt": "Wales",
        "plan_01.txt": "England",
    }
