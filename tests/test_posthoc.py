"""Pairwise comparisons against R (tests/reference/compare.R -> compare.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.stats._distributions import tukey_quantile, tukey_sf
from recoverystudy.stats._ptukey import ptukey

REF = json.loads((Path(__file__).parent / "reference" / "compare.json").read_text(encoding="utf-8"))
DATASETS = ["d1", "d2", "d3", "d4", "d5"]


def frame(name: str) -> pd.DataFrame:
    d = REF[name]
    return pd.DataFrame({"y": d["y"], "g": d["g"]})


def assert_p(actual, expected, *, ptukey: bool = False) -> None:
    """p-values to 1e-6 relative.

    Studentized-range p (``ptukey``) below 1e-4 are compared to 1e-9 absolute instead: there R's
    ``ptukey`` loses relative accuracy (see test_far_tail_ptukey_equals_r) and rstatix rounds.
    """
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    big = expected > (1e-4 if ptukey else 0.0)
    assert_allclose(actual[big], expected[big], rtol=1e-6, atol=0)
    assert_allclose(actual[~big], expected[~big], rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", DATASETS)
def test_tukey_matches_TukeyHSD(name):
    # R: TukeyHSD(aov(y ~ g)); statistic and unadjusted p by hand (see compare.R)
    ref = REF[name]["tukey"]
    t = rs.tukey_hsd(frame(name), "y", "g").table
    assert t["group1"].tolist() == ref["group1"]
    assert t["group2"].tolist() == ref["group2"]
    for col in ("estimate", "ci_low", "ci_high", "statistic"):
        assert_allclose(t[col], ref[col], rtol=0, atol=1e-6, err_msg=col)
    assert_p(t["p"], ref["p"])
    assert_p(t["p_adj"], ref["p_adj"], ptukey=True)


@pytest.mark.parametrize("name", DATASETS)
def test_games_howell_matches_rstatix(name):
    # R: rstatix::games_howell_test(d, y ~ g, detailed = TRUE); p_adj = ptukey by hand (rstatix rounds)
    ref = REF[name]["games_howell"]
    t = rs.games_howell(frame(name), "y", "g").table
    assert t["group1"].tolist() == ref["group1"]
    assert t["group2"].tolist() == ref["group2"]
    for col in ("estimate", "ci_low", "ci_high", "statistic", "df"):
        assert_allclose(t[col], ref[col], rtol=0, atol=1e-6, err_msg=col)
    # our se is the SE of the difference, sqrt(v1 + v2); rstatix reports it times sqrt(0.5)
    assert_allclose(t["se"] * np.sqrt(0.5), ref["se"], rtol=0, atol=1e-6)
    assert_p(t["p"], ref["p"])
    assert_p(t["p_adj"], ref["p_adj"], ptukey=True)
    # rstatix's own output (rounded to 3 decimals at and above .001) agrees with ours rounded the same way
    rounded = np.asarray(ref["p_adj_rstatix_rounded"])
    big = rounded >= 0.001
    assert_allclose(np.round(t["p_adj"].to_numpy()[big], 3), rounded[big], atol=1e-12)


@pytest.mark.parametrize("name", DATASETS)
def test_dunn_matches_rstatix(name):
    # R: rstatix::dunn_test(d, y ~ g, p.adjust.method = "holm", detailed = TRUE)
    ref = REF[name]["dunn"]
    t = rs.dunn(frame(name), "y", "g").table
    assert t["group1"].tolist() == ref["group1"]
    assert t["group2"].tolist() == ref["group2"]
    assert_allclose(t["estimate"], ref["estimate"], rtol=0, atol=1e-6)
    assert_allclose(t["statistic"], ref["statistic"], rtol=0, atol=1e-6)
    assert_p(t["p"], ref["p"])
    assert_p(t["p_adj"], ref["p_adj"])  # Holm of normal p: strict
    assert t["ci_low"].isna().all() and t["df"].isna().all()
    # R: rstatix::dunn_test(..., p.adjust.method = "BH")
    assert_p(rs.dunn(frame(name), "y", "g", adjust="bh").table["p_adj"], ref["p_adj_bh"])


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("fn", "kind"), [(rs.tukey_hsd, "pooled"), (rs.games_howell, "unpooled")])
def test_pairwise_hedges_g_matches_effectsize(name, fn, kind):
    # R: effectsize::hedges_g(y[g == group2], y[g == group1], pooled_sd = TRUE / FALSE)
    t = fn(frame(name), "y", "g").table
    got = t[["hedges_g", "g_ci_low", "g_ci_high"]].to_numpy()
    ref = REF[name][f"hedges_g_{kind}"]
    assert_allclose(got, np.column_stack([ref["g"], ref["ci_low"], ref["ci_high"]]), rtol=0, atol=1e-6)
    # and to 1e-8 against the same bounds solved exactly in R (uniroot on pt; effectsize's optim
    # search stops up to ~6e-7 short)
    ex = REF[name][f"hedges_g_{kind}_exact"]
    assert_allclose(got, np.column_stack([ex["g"], ex["ci_low"], ex["ci_high"]]), rtol=0, atol=1e-8)


def test_dunn_has_no_hedges_g():
    assert rs.dunn(frame("d1"), "y", "g").table[["hedges_g", "g_ci_low", "g_ci_high"]].isna().all().all()


def test_estimate_is_group2_minus_group1_by_hand():
    df = pd.DataFrame({"y": [1.0, 2, 3, 10, 11, 12], "g": ["x", "x", "x", "y", "y", "y"]})
    for fn in (rs.tukey_hsd, rs.games_howell):
        row = fn(df, "y", "g").table.iloc[0]
        assert (row["group1"], row["group2"]) == ("x", "y")
        assert row["estimate"] == pytest.approx(9.0, abs=1e-12)
    # ranks 1..6: mean rank 5 - 2 = 3
    assert rs.dunn(df, "y", "g").table["estimate"].iloc[0] == pytest.approx(3.0, abs=1e-12)


def test_categorical_order_is_respected():
    df = frame("d1")
    df["g"] = pd.Categorical(df["g"], categories=["Swansea", "Cardiff", "Leeds"])
    t = rs.games_howell(df, "y", "g").table
    assert t[["group1", "group2"]].values.tolist() == [
        ["Swansea", "Cardiff"],
        ["Swansea", "Leeds"],
        ["Cardiff", "Leeds"],
    ]
    ref = REF["d1"]["games_howell"]  # Cardiff-Swansea in R order is (Cardiff, Swansea): sign flips
    assert t["estimate"].iloc[0] == pytest.approx(-ref["estimate"][1], abs=1e-9)


@pytest.mark.parametrize(
    ("conf", "k", "df", "expected"),
    [
        # R: uniroot(function(x) ptukey(x, k, df) - conf, c(1, 10), tol = 1e-13)
        (0.95, 3, 5.3, 4.5100339446984),
        (0.95, 6, 20.0, 4.4452366637773),
        (0.95, 3, 77.7, 3.37917779770792),
        (0.95, 6, 300.0, 4.05629759776563),
    ],
)
def test_tukey_quantile_exact(conf, k, df, expected):
    # R is the reference: the quantile is the root of R's ptukey (R's quadrature, stats/_ptukey.py)
    # to 1e-10 in q, and at that root our ptukey gives conf back to 1e-12.
    q = tukey_quantile(conf, k, np.array([df]))[0]
    assert q == pytest.approx(expected, abs=1e-10)
    assert float(ptukey(q, k, df)) == pytest.approx(conf, abs=1e-12)


def test_tukey_quantile_solves_each_df_once_and_keeps_nan():
    # repeated df give identical quantiles; non-finite df give NaN (R: qtukey(0.95, 3, 20) = 3.577935)
    q = tukey_quantile(0.95, 3, np.array([20.0, np.nan, 20.0, np.inf]))
    assert q[0] == q[2] == pytest.approx(3.5779347, abs=1e-6)
    assert np.isnan(q[1]) and np.isnan(q[3])


@pytest.mark.parametrize(
    ("q", "df", "truth", "r_ptukey"),
    [
        # Two Games-Howell pairs of data set d5 (k = 4).  truth: 30-digit mpmath integration of the
        # studentized range upper tail; r_ptukey: R 4.2.2 ptukey(q, 4, df, lower.tail = FALSE).
        (7.270827312992782, 74.1820171440146, 1.262072457503562e-05, 1.26206284407626e-05),
        (8.014365037892192, 86.3079220719263, 1.119065072831814e-06, 1.11933980773138e-06),
    ],
)
def test_far_tail_ptukey_equals_r(q, df, truth, r_ptukey):
    # p values use R's own quadrature, so they equal R's ptukey (to 1e-12 relative here), including
    # in the far tail, where R's (and so our) value is ~1e-4 relative off the exact integral but
    # still right to 1e-9 absolute, far below any p value anyone reports.
    ours = float(tukey_sf(q, 4, df))
    assert ours == pytest.approx(r_ptukey, rel=1e-12)
    assert abs(r_ptukey - truth) / truth > 1e-6
    assert abs(ours - truth) < 1e-9


def test_pairwise_result_views():
    res = rs.games_howell(frame("d2"), "y", "g")
    assert isinstance(res.to_frame(), pd.DataFrame) and len(res.to_frame()) == 15
    assert "Games-Howell" in res.summary()
    assert "<table" in res._repr_html_()
    assert res.provenance["method"] == "games_howell"


def test_dunn_rejects_unknown_adjust():
    with pytest.raises(ValueError, match="'holm'"):
        rs.dunn(frame("d1"), "y", "g", adjust="Holm")
