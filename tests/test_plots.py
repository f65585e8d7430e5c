"""Every result type has .plot(), which returns a matplotlib Figure with something drawn on it."""

from __future__ import annotations

import warnings

import matplotlib
import pandas as pd
import pytest

import recoverystudy as rs

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def study():
    return rs.synthetic.six_site_study(seed=0, scale=0.3)


@pytest.fixture(scope="module")
def scores(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        wai = rs.score(study.service_users, "wai-sr", id_col="respondent_id")
        rsa = rs.score(study.service_users, "rsa-person", id_col="respondent_id")
    frame = pd.concat([study.service_users[["respondent_id", "site", "country"]], wai.scores, rsa.scores], axis=1)
    return wai, frame


def _drawn(fig) -> bool:
    import matplotlib.figure

    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    return bool(ax.lines or ax.patches or ax.collections or ax.images)


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        return func(*args, **kwargs)


def test_scores_plot(scores):
    wai, frame = scores
    fig = wai.plot(by=frame["site"])
    assert _drawn(fig) and len(fig.axes) == 4


def test_reliability_plot(study):
    rel = _quiet(rs.reliability, study.service_users, "wai-sr", "total")
    assert _drawn(rel.plot())


def test_site_comparison_and_pairs_plot(scores):
    _, frame = scores
    res = _quiet(rs.compare_sites, frame, "wai_sr_total", "site", seed=0)
    assert _drawn(res.plot())
    assert _drawn(_quiet(rs.games_howell, frame, "wai_sr_total", "site").plot())


def test_correlations_plot(scores):
    _, frame = scores
    assert _drawn(_quiet(rs.correlate, frame, ["wai_sr_total", "rsa_person_total"]).plot())


def test_site_model_plot(scores):
    _, frame = scores
    assert _drawn(_quiet(rs.site_model, frame, "wai_sr_total", "site", seed=0, n_boot=20).plot())


def test_country_plot(scores):
    _, frame = scores
    ce = _quiet(rs.country_effect, frame, "wai_sr_total", "site", "country", seed=0)
    fig = ce.plot()
    assert _drawn(fig) and "Wales minus England" in fig.axes[0].get_xlabel()
    assert "wales_minus_england" in ce.to_frame().columns


def test_effect_size_plot():
    assert _drawn(rs.f_to_omega2(5.0, 2, 40).plot())


def test_audit_plot(study, tmp_path):
    plans = tmp_path / "plans"
    study.write(tmp_path / "data")
    audit = _quiet(rs.audit_care_plans, tmp_path / "data" / "care_plans")
    assert hasattr(audit, "plot"), "AuditReport.plot"
    assert _drawn(audit.plot())
    del plans


@pytest.fixture(scope="module")
def project(study, tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "p.rsqda"
    iv = study.interviews
    proj = rs.Project.create(path, codebook="care-planning-framework")
    proj.import_cases(iv[["case", "role", "site", "country", "triad_id", "survey_id"]], case_col="case")
    proj.add_documents(iv[["name", "text", "case"]].assign(kind="interview"))
    sugg = _quiet(proj.suggest)
    ids = sugg[sugg.columns[0]].tolist()
    try:
        proj.accept(ids, coder="a", accept_all=True)
    except TypeError:
        proj.accept(ids, coder="a")
    segs = proj.segments(coder="a")
    proj.code_many(segs[["document", "start", "end", "code"]].iloc[::2], coder="b")
    yield proj
    proj.close()


def test_framework_matrix_plot(project):
    matrix = project.framework_matrix(group_by="site")
    assert hasattr(matrix, "plot"), "FrameworkMatrix.plot"
    assert _drawn(matrix.plot())


def test_agreement_plot(project):
    ag = _quiet(project.agreement, "a", "b", unit="sentence")
    assert hasattr(ag, "plot"), "Agreement.plot"
    assert _drawn(ag.plot())


def test_joint_display_triads_and_case_matrix_plots(project, scores):
    _, frame = scores
    jd = _quiet(rs.joint_display, frame, project, case_id="respondent_id", value="wai_sr_total")
    assert _drawn(jd.plot())
    tr = _quiet(rs.triads, project)
    assert _drawn(tr.plot())
    cm = _quiet(rs.case_matrix, frame, project, case_id="respondent_id")
    assert _drawn(cm.plot())
