"""Multiple imputation: PMM within site, pooling equal to mice::pool.scalar (tests/reference/pooling.R)."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import InsufficientDataError, StatisticsError

POOL = load_fixture("pooling.json")["cases"]
# the WAI-SR key is derived from item wording: rs.score says so each time (tested in test_scoring.py)
pytestmark = pytest.mark.filterwarnings("ignore::recoverystudy.errors.DerivedKeyWarning")


@pytest.fixture(scope="module")
def su():
    return rs.load_example("six_sites").service_users


@pytest.fixture(scope="module")
def imp(su):
    return rs.impute(su, "wai-sr", site="site", m=5, seed=11)


@pytest.fixture(scope="module")
def sens(su, imp):
    return rs.mi_sensitivity(su, "wai-sr", imputations=imp, scales=["wai_sr_total"])


@pytest.mark.parametrize("case", POOL, ids=[c["name"] for c in POOL])
def test_pool_matches_mice_pool_scalar(case):
    # R: mice::pool.scalar(Q, U, n, k)
    n = np.inf if case["n"] == "Inf" else case["n"]
    res = rs.pool(case["Q"], case["U"], n=n, k=case["k"]).table.iloc[0]
    for ours, theirs in [("estimate", "qbar"), ("ubar", "ubar"), ("b", "b"), ("t", "t"), ("df", "df"),
                         ("r", "r"), ("fmi", "fmi")]:
        assert_allclose(res[ours], case[theirs], rtol=1e-10, atol=1e-14, err_msg=ours)
    assert_allclose(res["se"], np.sqrt(case["t"]), rtol=1e-12)


def test_pool_long_frame_several_terms_equals_one_at_a_time():
    a, b = POOL[0], POOL[1]
    m = min(len(a["Q"]), len(b["Q"]))
    long = pd.DataFrame({"imputation": list(range(m)) * 2, "term": ["a"] * m + ["b"] * m,
                         "estimate": a["Q"][:m] + b["Q"][:m], "se": np.sqrt(a["U"][:m] + b["U"][:m]),
                         "dfcom": [40.0] * m + [90.0] * m})
    res = rs.pool(long).table.set_index("term")
    one = rs.pool(b["Q"][:m], b["U"][:m], n=91, k=1).table.iloc[0]
    assert_allclose(res.loc["b", ["estimate", "df", "fmi", "p"]].astype(float), one[["estimate", "df", "fmi", "p"]].astype(float),
                    rtol=1e-12)
    # t interval on the Barnard-Rubin df
    from scipy import stats
    r = res.loc["a"]
    assert_allclose(r["ci_high"], r["estimate"] + stats.t.ppf(0.975, r["df"]) * r["se"], rtol=1e-12)


def test_pool_errors_name_the_problem():
    with pytest.raises(InsufficientDataError, match="at least 2"):
        rs.pool([1.0], [0.1])
    with pytest.raises(StatisticsError, match="missing or infinite"):
        rs.pool([1.0, np.nan], [0.1, 0.1])
    with pytest.raises(StatisticsError, match="variance"):
        rs.pool(pd.DataFrame({"imputation": [1, 2], "term": ["a", "a"], "estimate": [1.0, 2.0]}))


def test_pmm_imputes_only_missing_answers_with_answers_given_in_the_same_site(su, imp):
    wai = rs.load_instrument("wai-sr")
    items = list(imp.items)
    assert items == wai.item_ids
    raw = su[items]
    missing = imp.missing.to_numpy()
    # non-answer codes (outside 1..5) count as missing too; respondents with no answer at all stay missing
    unanswered = (raw.isna() | (raw > 5)).to_numpy(dtype=bool)
    empty = unanswered.all(axis=1)
    assert empty.sum() == imp.provenance["left_missing"] > 0
    assert np.array_equal(missing, unanswered & ~empty[:, None])
    for d in imp.datasets:
        vals = d[items].to_numpy()
        assert np.isnan(vals[empty]).all() and not np.isnan(vals[~empty]).any()
        assert np.array_equal(vals[~unanswered], raw.to_numpy(dtype=float)[~unanswered])  # answers untouched
        assert set(np.unique(vals[~empty])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
        for j, item in enumerate(items):
            for site, rows in su.groupby("site").groups.items():
                pos = su.index.get_indexer(rows)
                mis = pos[missing[pos, j]]
                given = set(raw.iloc[pos[~missing[pos, j]], j].astype(float))
                assert set(vals[mis, j]) <= given, (item, site)
    assert not imp.datasets[0][items].equals(imp.datasets[1][items])  # the m draws differ


def test_pmm_is_reproducible_from_the_seed_and_recorded(su, imp):
    again = rs.impute(su, "wai-sr", site="site", m=5, seed=11)
    for a, b in zip(imp.datasets, again.datasets, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = rs.impute(su, "wai-sr", site="site", m=5, seed=12)
    assert not other.datasets[0].equals(imp.datasets[0])
    assert imp.provenance["seed"] == 11 and imp.provenance["donors"] == 5
    assert "mice" in imp.provenance["matches"]


def test_pmm_recovers_a_strong_relation_better_than_chance():
    # y is almost a copy of x: matching on the prediction must impute the neighbour's value
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 300).astype(float)
    df = pd.DataFrame({"x": x, "y": x.copy(), "z": np.clip(x + rng.integers(-1, 2, 300), 1, 5)})
    df.loc[:29, "y"] = np.nan
    res = rs.impute(df, ["x", "y", "z"], site=None, m=3, seed=1)
    for d in res.datasets:
        assert (d.loc[:29, "y"] == d.loc[:29, "x"]).mean() > 0.9


def test_impute_errors(su):
    with pytest.raises(ValueError, match="at least 2"):
        rs.impute(su, "wai-sr", m=1)
    one = su.copy()
    one.loc[one["site"] == one["site"].iloc[0], "wai_01"] = np.nan
    with pytest.raises(InsufficientDataError, match="wai_01"):
        rs.impute(one, "wai-sr", m=2, seed=1)
    bad = su.copy()
    bad.loc[bad.index[3], "wai_02"] = 7
    with pytest.raises(StatisticsError, match="wai_02"):
        rs.impute(bad, "wai-sr", m=2, seed=1)


def test_empty_respondents_left_missing(su):
    d = su.copy()
    wai = rs.load_instrument("wai-sr").item_ids
    d.loc[d.index[:3], wai] = np.nan
    res = rs.impute(d, "wai-sr", m=2, seed=1, iterations=2)
    assert res.datasets[0].loc[d.index[:3], wai].isna().all().all()
    assert res.provenance["left_missing"] >= 3
    assert "answered none" in res.summary()


def test_mi_analyse_pools_a_callable(imp, su):
    def mean_total(d):
        x = d["wai_sr_total"].dropna()
        return pd.DataFrame({"term": ["mean"], "estimate": [x.mean()], "se": [x.std() / np.sqrt(len(x))]})

    res = rs.mi_analyse(imp, mean_total, n=len(su))
    per = [rs.score(d, "wai-sr").scores["wai_sr_total"] for d in imp.datasets]
    q = [p.mean() for p in per]
    u = [p.var() / p.notna().sum() for p in per]
    ref = rs.pool(q, u, n=len(su)).table.iloc[0]
    assert_allclose(res.table.iloc[0][["estimate", "se", "df", "fmi"]].astype(float),
                    ref[["estimate", "se", "df", "fmi"]].astype(float), rtol=1e-12)
    assert res.provenance["analysis"] == "mean_total"
    with pytest.raises(StatisticsError, match="estimate"):
        rs.mi_analyse(imp, lambda d: 3.0)


def test_mi_sensitivity_sets_prorated_beside_pooled(su, imp, sens):
    tab = sens.to_frame()
    assert len(tab) == 15 and tab["outcome"].unique().tolist() == ["wai_sr_total"]
    # prorated side = Games-Howell on the scores as rs.score gives them (compare_sites' post-hoc table)
    scored = pd.concat([su[["site"]], rs.score(su, "wai-sr").scores], axis=1)
    gh = rs.games_howell(scored, "wai_sr_total", "site").table
    assert_allclose(tab["prorated_estimate"], gh["estimate"], rtol=1e-12)
    assert_allclose(tab["prorated_p_adj"], gh["p_adj"], rtol=1e-12)
    # pooled side = Rubin's rules on the per-imputation differences of site means
    first = tab.iloc[0]
    diffs, var = [], []
    for d in imp.datasets:
        s = rs.score(d, "wai-sr").scores["wai_sr_total"].groupby(d["site"])
        mean, v = s.mean(), s.var() / s.count()
        diffs.append(mean[first["group2"]] - mean[first["group1"]])
        var.append(v[first["group2"]] + v[first["group1"]])
    assert_allclose(first["pooled_estimate"], np.mean(diffs), rtol=1e-12)
    assert_allclose(first["pooled_se"] ** 2, np.mean(var) + 1.2 * np.var(diffs, ddof=1), rtol=1e-12)
    assert_allclose(tab["shift"], tab["pooled_estimate"] - tab["prorated_estimate"], rtol=1e-12)
    assert (tab["pooled_ci_low"] < tab["pooled_estimate"]).all()
    assert ((tab["fmi"] > 0) & (tab["fmi"] < 1)).all()
    assert (sens.means["pooled_n"] >= sens.means["prorated_n"]).all()
    text = sens.summary()
    assert "wai_sr_total" in text and "Barnard-Rubin" in text
    assert "mice::pool" in sens.provenance["matches"]


def test_mi_views_render(imp, su, sens):
    res = rs.pool([1.0, 1.1, 0.9], [0.1, 0.1, 0.12])
    for r in (imp, sens, res):
        assert isinstance(r.plot(), matplotlib.figure.Figure)
        assert "<table" in r._repr_html_()
        assert isinstance(r.to_frame(), pd.DataFrame)
    frame = imp.to_frame()
    assert frame["n_missing"].sum() == imp.missing.to_numpy().sum()
    assert len(imp.long()) == 5 * len(su)
