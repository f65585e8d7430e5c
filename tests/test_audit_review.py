"""Reviewer confirmation, reviewer agreement (Cohen's kappa) and compliance with Wilson CIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

import recoverystudy as rs
from recoverystudy.audit.rubric import RATINGS
from recoverystudy.errors import AuditError, UndefinedStatisticWarning

PLANS = pd.DataFrame(
    {
        "plan_id": ["a", "b", "c", "d", "e"],
        "team": ["T1", "T1", "T1", "T2", "T2"],
        "text": [
            "I have a copy of my plan.\nReview date: 1/9/2025\nDate of plan: 1/3/2025",
            "Copy given to service user: Yes",
            "No copy recorded.",
            "A copy was offered to Paul.",
            "I have my own copy.",
        ],
    }
)


@pytest.fixture
def audit():
    return rs.audit_care_plans(PLANS)


def test_confirm_keeps_prerated_and_confirmed_apart(audit):
    audit.confirm("c", "qs14_copy_given", "met", reviewer="AB", note="copy on file")
    pre = audit.ratings("prerated").set_index(["plan_id", "criterion"])["rating"]
    final = audit.ratings("final").set_index(["plan_id", "criterion"])["rating"]
    conf = audit.ratings("confirmed")
    assert pre[("c", "qs14_copy_given")] == "not evidenced"
    assert final[("c", "qs14_copy_given")] == "met"
    assert len(conf) == 1
    sc = audit.scorecard().set_index(["plan_id", "criterion"])
    row = sc.loc[("c", "qs14_copy_given")]
    assert (row["prerated"], row["confirmed"], row["final"], row["n_reviewers"]) == (
        "not evidenced",
        "met",
        "met",
        1,
    )
    # a later confirmation by the same reviewer supersedes, and the history is kept
    audit.confirm("c", "qs14_copy_given", "partly met", reviewer="AB")
    assert len(audit.confirmations) == 2
    assert (
        audit.ratings("final").set_index(["plan_id", "criterion"]).loc[("c", "qs14_copy_given"), "rating"]
        == "partly met"
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("zz", "qs14_copy_given", "met"), "No plan 'zz'"),
        (("a", "qs14_copy", "met"), "unknown criterion 'qs14_copy'"),
        (("a", "qs14_copy_given", "yes"), "rating must be one of"),
    ],
)
def test_confirm_errors(audit, args, fragment):
    with pytest.raises(AuditError, match=fragment):
        audit.confirm(*args, reviewer="AB")
    with pytest.raises(AuditError, match="reviewer"):
        audit.confirm("a", "qs14_copy_given", "met", reviewer=" ")


def test_reviewer_agreement_matches_sklearn(audit):
    rng = np.random.default_rng(3)
    crits = audit.rubric.criterion_ids[:6]
    a_r, b_r = [], []
    for plan in PLANS["plan_id"]:
        for crit in crits:
            ra = RATINGS[rng.integers(0, 4)]
            rb = ra if rng.random() < 0.6 else RATINGS[rng.integers(0, 4)]
            audit.confirm(plan, crit, ra, reviewer="A")
            audit.confirm(plan, crit, rb, reviewer="B")
            a_r.append(ra)
            b_r.append(rb)
    ag = audit.reviewer_agreement("A", "B")
    overall = ag.to_frame().set_index("criterion").loc["all criteria"]
    # sklearn.metrics.cohen_kappa_score (unweighted)
    assert_allclose(overall["kappa"], cohen_kappa_score(a_r, b_r), rtol=0, atol=1e-12)
    assert overall["n_items"] == 30
    assert_allclose(overall["percent_agreement"], 100 * np.mean(np.array(a_r) == np.array(b_r)), atol=1e-12)
    assert "agreed on" in ag.summary()


def test_kappa_hand_value_and_undefined(audit):
    # 2x2 by hand: both 'met' on a,b; A met / B not evidenced on c; both 'not evidenced' on d.
    # po = 3/4; pA = (3/4, 1/4), pB = (2/4, 2/4); pe = 3/8 + 1/8 = 1/2; kappa = (0.75-0.5)/0.5 = 0.5
    for plan, (ra, rb) in zip(
        "abcd", [("met", "met"), ("met", "met"), ("met", "not evidenced"), ("not evidenced", "not evidenced")]
    ):
        audit.confirm(plan, "qs14_copy_given", ra, reviewer="A")
        audit.confirm(plan, "qs14_copy_given", rb, reviewer="B")
    assert audit.reviewer_agreement("A", "B").to_frame()["kappa"].iloc[-1] == pytest.approx(0.5, abs=1e-12)
    audit.confirm("a", "qs14_review_date", "met", reviewer="C")
    audit.confirm("a", "qs14_review_date", "met", reviewer="D")
    with pytest.warns(UndefinedStatisticWarning, match="undefined"):
        res = audit.reviewer_agreement("C", "D")
    assert np.isnan(res.to_frame()["kappa"].iloc[-1])
    with pytest.raises(AuditError, match="no plan-criterion ratings in common"):
        audit.reviewer_agreement("A", "nobody")


def test_compliance_counts_and_wilson_ci(audit):
    t = audit.compliance().to_frame().set_index(["team", "criterion"])
    # pre-ratings for qs14_copy_given: a met, b met, c not evidenced, d partly met, e met
    row = t.loc[("All teams", "qs14_copy_given")]
    assert (row["n_met"], row["n_partly_met"], row["n_not_evidenced"], row["n_applicable"]) == (3, 1, 1, 5)
    lo, hi = proportion_confint(3, 5, method="wilson")  # statsmodels, known reference
    assert_allclose([row["proportion_met"], row["ci_low"], row["ci_high"]], [0.6, lo, hi], rtol=0, atol=1e-12)
    lo2, hi2 = proportion_confint(4, 5, method="wilson")
    assert_allclose(
        [row["ci_low_met_or_partly"], row["ci_high_met_or_partly"]], [lo2, hi2], rtol=0, atol=1e-12
    )
    t1 = t.loc[("T1", "qs14_copy_given")]
    assert (t1["n_met"], t1["n_applicable"]) == (2, 3)
    # hand value: Wilson 95% for 7/20 is (0.181192, 0.567146) (also statsmodels)
    lo3, hi3 = rs.wilson_interval(7, 20)
    assert_allclose([lo3, hi3], proportion_confint(7, 20, method="wilson"), rtol=0, atol=1e-12)
    assert_allclose([lo3, hi3], [0.18119182, 0.56714572], atol=1e-8)


def test_not_applicable_is_excluded_from_the_denominator(audit):
    audit.confirm("c", "qs14_copy_given", "not applicable", reviewer="AB")
    row = audit.compliance(by=None).to_frame().set_index("criterion").loc["qs14_copy_given"]
    assert (row["n_not_applicable"], row["n_applicable"], row["proportion_met"]) == (1, 4, 0.75)
    pre = (
        audit.compliance(by=None, source="prerated").to_frame().set_index("criterion").loc["qs14_copy_given"]
    )
    assert pre["n_applicable"] == 5


def test_confirmations_survive_the_session(tmp_path):
    import pandas as pd

    import recoverystudy as rs

    plans = pd.DataFrame({"plan_id": ["p1", "p2"], "text": ["Review date: 1 May 2026", "My goals\nI want work."]})
    audit = rs.audit_care_plans(plans)
    audit.confirm("p1", "qs14_review_date", "partly met", reviewer="AB", note="no plan date")
    audit.confirm("p2", "qs14_own_goals", "met", reviewer="CD")
    saved = audit.save_confirmations(tmp_path / "review.csv")
    again = rs.audit_care_plans(plans)
    assert again.load_confirmations(saved) == 2
    pd.testing.assert_frame_equal(again.confirmations.fillna(""), audit.confirmations.fillna(""))
    final = again.ratings("final").set_index(["plan_id", "criterion"])["rating"]
    assert final[("p1", "qs14_review_date")] == "partly met"


def test_bad_confirmations_file_names_the_line_and_applies_nothing(tmp_path):
    import pandas as pd
    import pytest

    import recoverystudy as rs

    plans = pd.DataFrame({"plan_id": ["p1"], "text": ["Review date: 1 May 2026"]})
    bad = tmp_path / "review.csv"
    bad.write_text("plan_id,criterion,rating,reviewer\np1,qs14_review_date,met,AB\np1,qs14_review_date,great,AB\n")
    audit = rs.audit_care_plans(plans)
    with pytest.raises(rs.errors.AuditError, match=r"review.csv, line 3: .*'great'"):
        audit.load_confirmations(bad)
    assert audit.confirmations.empty


def test_team_mapping_matches_file_names_without_extension(tmp_path):
    import warnings

    import pytest

    import recoverystudy as rs

    (tmp_path / "CP-1.txt").write_text("My goals\nI want to work.", encoding="utf-8")
    (tmp_path / "CP-2.txt").write_text("Review date: 1 May 2026", encoding="utf-8")
    audit = rs.audit_care_plans(tmp_path, team={"CP-1": "North", "CP-2.txt": "South"})
    assert audit.plans.set_index("plan_id")["team"].to_dict() == {"CP-1.txt": "North", "CP-2.txt": "South"}
    with pytest.warns(rs.errors.RecoveryStudyWarning, match="1 of 2 plans have no team"):
        partial = rs.audit_care_plans(tmp_path, team={"CP-1": "North"})
    assert partial.plans.set_index("plan_id")["team"].to_dict() == {"CP-1.txt": "North", "CP-2.txt": None}
    with pytest.raises(rs.errors.AuditError, match="matches none of the 2 plans"), warnings.catch_warnings():
        rs.audit_care_plans(tmp_path, team={"plan-9": "East"})


def test_reviewer_disagreement_is_flagged_not_settled_silently():
    import pandas as pd

    import recoverystudy as rs

    audit = rs.audit_care_plans(pd.DataFrame({"plan_id": ["p1"], "text": ["Review date: 1 May 2026"]}))
    audit.confirm("p1", "qs14_review_date", "met", reviewer="R1")
    audit.confirm("p1", "qs14_own_goals", "not evidenced", reviewer="R1")
    audit.confirm("p1", "qs14_own_goals", "not evidenced", reviewer="R2")  # agreement: no conflict
    audit.confirm("p1", "qs14_review_date", "not evidenced", reviewer="R2")
    conflicts = audit.review_conflicts()
    assert conflicts.values.tolist() == [["p1", "qs14_review_date", "R1: met; R2: not evidenced", "not evidenced"]]
    card = audit.scorecard().set_index("criterion")
    assert bool(card.loc["qs14_review_date", "reviewers_disagree"]) is True
    assert bool(card.loc["qs14_own_goals", "reviewers_disagree"]) is False
    assert "Reviewers disagree on 1 rating(s)" in audit.summary()
