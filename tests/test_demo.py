"""The demo pipeline: its report's numbers must equal the library called directly."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.report.demo import DEMO_STEPS, run_demo
from recoverystudy.report.html import read_key_numbers

PRIMARY = ["rsa_person_total", "es_total", "star_p_total", "wai_sr_total"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    steps = []
    result = run_demo(out, seed=0, progress=lambda step, i, n: steps.append((step, i, n)))
    html = result.report_path.read_text(encoding="utf-8")
    return result, html, read_key_numbers(html), steps


@pytest.fixture(scope="module")
def direct():
    """Scores computed directly from the in-memory study (the demo reads them back from CSV files)."""
    study = rs.synthetic.six_site_study(seed=0)
    su, cc = study.service_users, study.coordinators
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        su_scores = pd.concat([su[["site", "country"]],
                               rs.score(su, "rsa-person").scores,
                               rs.score(su, "es", key=study.key_path("es")).scores,
                               rs.score(su, "star-p", key=study.key_path("star-p")).scores,
                               rs.score(su, "wai-sr").scores], axis=1)
        cc_scores = pd.concat([cc[["site", "country"]], rs.score(cc, "rsa-provider").scores], axis=1)
    return study, su_scores, cc_scores


def test_demo_writes_report_tables_and_data(demo):
    result, html, key, steps = demo
    assert result.report_path.name == "report.html"
    assert [s[0] for s in steps] == list(DEMO_STEPS)
    tables = result.out_dir / "tables"
    for name in ("scores_service_users", "missing_data", "sites_welch", "sites_kruskal", "sites_posthoc",
                 "audit_compliance"):
        assert (tables / f"{name}.csv").is_file(), name
    import openpyxl

    sheets = openpyxl.load_workbook(tables / "tables.xlsx", read_only=True).sheetnames
    assert {"sites_welch", "missing_data", "reliability"} <= set(sheets)
    assert (result.out_dir / "data" / "surveys" / "service_users.csv").is_file()
    assert key["n_service_users"] == 450 and key["n_coordinators"] == 200
    assert key["n_interviews"] == 120 and key["n_care_plans"] == 33


def test_demo_is_fast(demo):
    # CPU time, so that other jobs on a shared machine do not make the test flaky; benchmarks/bench_demo.py
    # prints the wall-clock time.
    assert demo[0].cpu_seconds < 30


def test_report_is_self_contained(demo):
    _, html, _, _ = demo
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(link|script)[^>]+(href|src)=", html)
    assert "src=\"http" not in html
    assert html.count("data:image/png;base64,") >= 3
    assert "SYNTHETIC DATA" in html


@pytest.fixture(scope="module")
def welch_family(direct):
    return rs.compare_sites(direct[1], PRIMARY, "site", method="welch", seed=0)


@pytest.mark.parametrize("outcome", PRIMARY)
def test_welch_numbers_equal_the_library(demo, welch_family, outcome):
    _, html, key, _ = demo
    family = welch_family
    omni = family[outcome].omnibus.iloc[0]
    got = key["welch"][outcome]
    np.testing.assert_allclose([got["F"], got["df2"], got["p"]], [omni["statistic"], omni["df2"], omni["p"]],
                               rtol=0, atol=1e-9)
    row = family.to_frame().set_index("outcome").loc[outcome]
    assert got["p_adj"] == pytest.approx(row["p_adj"], abs=1e-12)
    # the visible sentence carries the same F
    assert f"F(5, {omni['df2']:.1f}) = {omni['statistic']:.2f}" in html


def test_welch_subscales_and_coordinators_equal_the_library(demo, direct):
    _, _, key, _ = demo
    _, su_scores, cc_scores = direct
    sub = ["star_p_positive_collaboration", "star_p_positive_clinician_input",
           "star_p_non_supportive_clinician_input", "wai_sr_task", "wai_sr_goal", "wai_sr_bond"]
    family = rs.compare_sites(su_scores, sub, "site", method="welch", posthoc=False).to_frame().set_index("outcome")
    for outcome in sub:
        assert key["welch"][outcome]["F"] == pytest.approx(family.loc[outcome, "statistic"], abs=1e-9)
        assert key["welch"][outcome]["p_adj"] == pytest.approx(family.loc[outcome, "p_adj"], abs=1e-12)
    cc = rs.compare_sites(cc_scores, "rsa_provider_total", "site", method="kruskal", seed=0, n_boot=1000)
    assert key["kruskal"]["rsa_provider_total"]["H"] == pytest.approx(cc.omnibus["statistic"].iloc[0], abs=1e-9)


def test_headline_pattern_in_the_report(demo):
    _, _, key, _ = demo
    assert key["welch"]["star_p_total"]["p_adj"] < 0.001
    assert key["welch"]["wai_sr_total"]["p_adj"] < 0.001
    assert key["welch"]["rsa_person_total"]["p"] > 0.2
    assert key["welch"]["es_total"]["p"] > 0.2


def test_n_scored_equals_the_library(demo, direct):
    _, _, key, _ = demo
    _, su_scores, cc_scores = direct
    for col, n in key["n_scored"].items():
        frame = cc_scores if col == "rsa_provider_total" else su_scores
        assert n == int(frame[col].notna().sum()), col


def test_reliability_equals_the_library(demo, direct):
    _, _, key, _ = demo
    study = direct[0]
    rel = rs.reliability(study.service_users, "star-p", "total", key=study.key_path("star-p"), n_boot=0)
    assert key["reliability"]["star-p:total"]["alpha"] == pytest.approx(rel.alpha, abs=1e-12)
    assert key["reliability"]["star-p:total"]["omega_total"] == pytest.approx(rel.omega, abs=1e-12)


def test_icc_and_country_equal_the_library(demo, direct):
    _, html, key, _ = demo
    _, su_scores, _ = direct
    if not hasattr(rs, "site_model"):
        assert "rs.site_model is not part of this version" in html
        return
    with pytest.warns(rs.errors.ExclusionWarning, match="23 row"):
        model = rs.site_model(su_scores, "wai_sr_total", "site", seed=0, n_boot=200)
    assert key["icc"]["wai_sr_total"] == pytest.approx(model.icc, abs=1e-9)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ce = rs.country_effect(su_scores, "wai_sr_total", "site", "country", seed=0)
    assert any(issubclass(w.category, rs.errors.RecoveryStudyWarning) for w in caught)
    assert key["country"]["wai_sr_total"]["estimate"] == pytest.approx(ce.estimate, abs=1e-9)
    assert key["country"]["wai_sr_total"]["permutation_p"] == pytest.approx(ce.permutation_p, abs=1e-12)
    assert "EXPLORATORY" in html


def test_correlations_equal_the_library(demo, direct):
    _, _, key, _ = demo
    _, su_scores, _ = direct
    table = rs.correlate(su_scores, PRIMARY, method="spearman").to_frame()
    row = table[(table["x"] == "star_p_total") & (table["y"] == "wai_sr_total")].iloc[0]
    assert key["correlations"]["star_p_total~wai_sr_total"]["r"] == pytest.approx(row["r"], abs=1e-12)


def test_audit_numbers_and_privacy(demo, direct):
    result, html, key, _ = demo
    study = direct[0]
    audit = rs.audit_care_plans(study.care_plans[["plan_id", "text", "team", "country"]])
    overall = audit.compliance().to_frame().query("team == 'All teams'").set_index("criterion")
    for criterion, p in key["audit"]["proportion_met"].items():
        assert p == pytest.approx(overall.loc[criterion, "proportion_met"], abs=1e-12)
    assert key["audit"]["planted_identifiers_caught"] == key["audit"]["planted_identifiers"] > 0
    # nothing identifiable from the plans reaches the report or the tables
    written = html + "".join(p.read_text(encoding="utf-8") for p in (result.out_dir / "tables").glob("*.csv"))
    for plist in study.care_plans["planted_identifiers"]:
        for item in filter(None, plist.split("; ")):
            assert item.split("=", 1)[1] not in written
    for name in study.care_plans["person_name"]:
        assert name not in written


def test_methods_are_generated_from_provenance(demo):
    _, html, _, _ = demo
    methods = html[html.index('id="methods"'):]
    assert "Welch" in methods and "Games-Howell" in methods
    assert "SYNTHETIC STAR-P key" in methods
    assert "a SYNTHETIC key invented for the demonstration study" in methods
    assert f"recoverystudy {rs.__version__}" in methods
    # prose, not key-value lists; no path of this machine
    assert "quantiles: R type" not in methods and "key provenance:" not in methods
    assert "/tmp/" not in html and str(Path.home()) + "/" not in html


def test_unavailable_parts_are_reported_not_faked(tmp_path, monkeypatch):
    for name in ("correlate", "site_model", "country_effect", "reliability"):
        monkeypatch.delattr(rs, name)
    result = run_demo(tmp_path, seed=1, scale=0.2)
    html = result.report_path.read_text(encoding="utf-8")
    assert {"correlations", "site_model", "country_effect", "reliability"} <= set(result.unavailable)
    assert "rs.site_model is not part of this version of recoverystudy" in html
    assert "rs.correlate is not part of this version of recoverystudy" in html
    assert "Not available in this build" in html
    assert "correlations" in read_key_numbers(html)["unavailable"]
    assert not (tmp_path / "tables" / "correlations.csv").exists()


def test_out_must_be_a_folder(tmp_path):
    target = tmp_path / "x.html"
    target.write_text("")
    with pytest.raises(rs.errors.RecoveryStudyError, match="is a file"):
        run_demo(target)


def test_joint_display_equals_the_library(demo, direct):
    """The report's joint display equals rs.joint_display on the demo's own project and the direct scores."""
    result, html, key, _ = demo
    study, su_scores, _ = direct
    scores = pd.concat([study.service_users[["respondent_id"]], su_scores[["star_p_total"]]], axis=1)
    with rs.Project.open(result.project_path) as proj:
        joint = rs.joint_display(scores, proj, case_id="respondent_id", value="star_p_total", by=None).to_frame()
    assert set(key["joint_display"]) == set(joint["theme"])
    for row in joint.itertuples():
        got = key["joint_display"][row.theme]
        assert (got["n_with"], got["n_without"]) == (row.n_with, row.n_without)
        if pd.isna(row.p):
            assert got["p"] is None
        else:
            assert got["p"] == pytest.approx(row.p, rel=1e-12)
    assert key["triads"] == {"n_triads": 30, "n_with_plan": 30}
    assert "Joint displays" in html


def test_each_demo_step_is_a_named_function_in_step_order():
    from recoverystudy.report import demo as demo_mod

    assert len(demo_mod.STEPS) == len(DEMO_STEPS) == 9
    assert [f.__name__ for f in demo_mod.STEPS] == [
        "generate_study", "score_questionnaires", "estimate_reliability", "compare_site_scores",
        "correlations_model_country", "framework_project", "care_plan_audit", "joint_displays", "write_outputs"]
    assert all(getattr(demo_mod, f.__name__) is f for f in demo_mod.STEPS)


def test_demo_steps_can_be_called_on_their_own(tmp_path):
    from recoverystudy.report.demo import DemoRun, generate_study, joint_displays, score_questionnaires

    # a step whose inputs are missing reports the part as unavailable, never fakes it
    run = DemoRun.start(tmp_path / "alone", seed=1, scale=0.2)
    run.su_scores = pd.DataFrame({"star_p_total": [1.0]})
    joint_displays(run)
    assert run.unavailable == {
        "joint_displays": "The joint displays need the project, the audit and the STAR-P scores."}
    assert [s.title for s in run.sections] == ["Joint displays"]

    # the first two steps alone: the scores read back from the written CSV equal rs.score on the study
    run = DemoRun.start(tmp_path / "two", seed=1, scale=0.2)
    generate_study(run)
    assert (tmp_path / "two" / "data" / "surveys" / "service_users.csv").is_file()
    score_questionnaires(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        direct = rs.score(run.study.service_users, "rsa-person").scores["rsa_person_total"]
    np.testing.assert_allclose(run.tables["scores_service_users"]["rsa_person_total"].to_numpy(float),
                               direct.to_numpy(float), rtol=0, atol=1e-12)
    assert [s.id for s in run.sections] == ["study", "scores"]
    assert not (tmp_path / "two" / "report.html").exists()


# -- issue 15: the qualitative strand of the demo follows the method ----------------------------------------
def test_demo_tables_hold_no_verbatim_extracts(demo):
    result, html, key, _ = demo
    tables = result.out_dir / "tables"
    assert not (tables / "framework_matrix.csv").exists()
    assert (tables / "framework_matrix_counts.csv").is_file()
    restricted = result.out_dir / "restricted"
    assert (restricted / "framework_matrix.xlsx").is_file()
    assert restricted.stat().st_mode & 0o077 == 0 and (restricted / "framework_matrix.xlsx").stat().st_mode & 0o077 == 0
    with rs.Project.open(result.project_path) as proj:
        texts = [t for t in proj.segments(coder="coder_a")["text"] if len(t) > 40]
    written = "".join(p.read_text(encoding="utf-8") for p in tables.glob("*.csv"))
    assert texts and not [t for t in texts if t in written]


def test_demo_codes_participants_only_and_reviews(demo):
    result, _, key, _ = demo
    with rs.Project.open(result.project_path) as proj:
        segs = proj.segments()
        turns = proj.turns()
        asked = turns[turns["role"] == "interviewer"]
        in_question = segs.merge(asked, on="document", suffixes=("", "_t"))
        in_question = in_question[(in_question["start"] >= in_question["start_t"])
                                  & (in_question["start"] < in_question["end_t"])]
        assert len(segs) > 1000 and in_question.empty  # no coding of the interviewer's words
        decisions = proj.decisions()
        assert set(decisions["status"]) == {"accepted", "rejected"}
        assert (decisions.loc[decisions["status"] == "rejected", "reason"] != "").all()
        assert key["n_rejected"] == int((decisions["status"] == "rejected").sum()) > 0
        cells = proj.framework_matrix().cells
        assert cells["summary"].isna().all() and cells["automatic_summary"].notna().sum() == key["n_charted_cells"]
        agreement = proj.agreement("coder_a", "coder_b")
        assert len(agreement.documents_included) == key["n_double_coded_documents"] == 24  # a fifth of 120
    assert key["agreement_character"]["kappa"] > 0.8  # close on the shared fifth, not 'slight'
    # themes discriminate between cases: no comparison with an empty side ("34 with / 0 without")
    sides = [(v["n_with"], v["n_without"]) for v in key["joint_display"].values()]
    assert sides and all(w > 0 and wo > 0 for w, wo in sides), sides


def test_demo_team_table_is_the_audit_commands(demo, direct):
    from recoverystudy.audit.report import mark_suppressed, published_compliance

    result, html, _, _ = demo
    study = direct[0]
    audit = rs.audit_care_plans(study.care_plans[["plan_id", "text", "team", "country"]])
    published = published_compliance(audit, 5)[0]
    expected = mark_suppressed(published[published["team"] != "All teams"].reset_index(drop=True))
    got = pd.read_csv(result.out_dir / "tables" / "audit_plans_by_team_suppressed.csv", dtype=str,
                      keep_default_na=False)
    assert got["team"].tolist() == expected["team"].tolist()
    for col in ("n_met", "n_partly_met", "n_not_evidenced", "n_not_applicable", "n_plans"):
        assert got[col].tolist() == expected[col].tolist()
    assert "*" in set(got["n_met"]) | set(got["n_partly_met"]) | set(got["n_not_evidenced"])
    known = got[got["n_plans"] != "*"]
    plans_per_team = study.care_plans.groupby("team").size()
    assert (known["n_plans"].astype(int).to_numpy() == known["team"].map(plans_per_team).to_numpy()).all()
