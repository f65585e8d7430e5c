"""Correlations equal R cor.test(exact = FALSE) to 1e-6 (tests/reference/models.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import InsufficientDataError, StatisticsError, UndefinedStatisticWarning

FIX = load_fixture("models.json")["correlations"]
DATA = pd.DataFrame({k: pd.array(v, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
                     for k, v in FIX["data"].items()})


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_matches_cor_test(method):
    # R: cor.test(x, y, method = method, exact = FALSE) on pairwise-complete cases
    res = rs.correlate(DATA, ["a", "b", "c"], method=method).to_frame()
    ref = [r for r in FIX["results"] if r["method"] == method]
    assert list(zip(res.x, res.y)) == [(r["x"], r["y"]) for r in ref]
    assert res["n"].tolist() == [r["n"] for r in ref]
    assert_allclose(res["r"], [r["r"] for r in ref], rtol=0, atol=1e-6)
    assert_allclose(res["p"], [r["p"] for r in ref], rtol=1e-6, atol=0)
    if method == "pearson":
        assert_allclose(res["ci_low"], [r["ci_low"] for r in ref], rtol=0, atol=1e-6)
        assert_allclose(res["ci_high"], [r["ci_high"] for r in ref], rtol=0, atol=1e-6)


def test_spearman_ci_uses_fieller_se_and_holm():
    res = rs.correlate(DATA, ["a", "b", "c"], method="spearman").to_frame()
    r, n = res.r.iloc[0], res.n.iloc[0]
    se = np.sqrt(1.06 / (n - 3))
    assert_allclose(res.ci_low.iloc[0], np.tanh(np.arctanh(r) - 1.959963984540054 * se), rtol=0, atol=1e-12)
    # Holm by hand: sort p, multiply by (m - rank), cumulative max
    p = res.p.to_numpy()
    order = np.argsort(p)
    adj = np.maximum.accumulate(np.minimum(1, p[order] * (3 - np.arange(3))))
    expected = np.empty(3)
    expected[order] = adj
    assert_allclose(res.p_adj, expected, rtol=0, atol=1e-15)


def test_matrix_plot_and_summary():
    res = rs.correlate(DATA, ["a", "b", "c"], method="pearson")
    m = res.matrix()
    assert m.loc["a", "a"] == 1 and m.loc["a", "b"] == m.loc["b", "a"]
    ax = res.plot().axes[0]
    assert ax.get_title() == "Pearson correlations"
    assert "Pearson's r" in res.summary() and "<table" in res._repr_html_()


def test_bad_input():
    with pytest.raises(InsufficientDataError):
        rs.correlate(DATA, ["a"])
    with pytest.raises(StatisticsError, match="'x'"):
        rs.correlate(pd.DataFrame({"x": ["a", "b", "c", "d"], "y": [1, 2, 3, 4]}), ["x", "y"])
    with pytest.raises(InsufficientDataError, match="complete pair"):
        rs.correlate(pd.DataFrame({"x": [1, 2, np.nan, np.nan, 5], "y": [1, np.nan, 3, 4, 5]}), ["x", "y"])
    with pytest.warns(UndefinedStatisticWarning):
        out = rs.correlate(pd.DataFrame({"x": [1, 1, 1, 1, 1], "y": [1, 2, 3, 4, 5]}), ["x", "y"]).to_frame()
    assert np.isnan(out.r.iloc[0])
    with pytest.raises(ValueError, match="method"):
        rs.correlate(DATA, ["a", "b"], method="biweight")


@pytest.mark.parametrize("adjust, sm_method", [("holm", "holm"), ("bonferroni", "bonferroni"), ("bh", "fdr_bh")])
def test_adjusted_p_bit_for_bit_statsmodels(adjust, sm_method):
    # holm and bonferroni are computed by adjust_pvalues (R p.adjust), not statsmodels: same bits, ties included
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    data = pd.DataFrame(rng.normal(size=(40, 6)), columns=list("abcdef"))
    data["f"] = data["e"]   # a tie among the p values
    table = rs.correlate(data, list(data.columns), adjust=adjust).to_frame()
    expected = multipletests(table["p"].to_numpy(), method=sm_method)[1]
    assert np.array_equal(table["p_adj"].to_numpy(), expected)
    assert table["p_adj"].max() <= 1.0 and (table["p_adj"] >= table["p"]).all()
