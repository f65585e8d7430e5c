"""compare_sites(method="kruskal") ranks the data once, and gives the numbers the old slow path gave.

The slow path (tests/_kruskal_slow_path.py) is the code before the shared sort, frozen: its own sort in
Kruskal-Wallis, in Dunn's table, in the placements of the asymptotic interval and in the descriptives,
a pooled N x k one-hot matrix for the placements, and a Shapiro-Wilk loop that gathered every site.
Every number must agree to 1e-12 (relative) on random data with ties, missing values and missing sites.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import _kruskal_slow_path as slow
import recoverystudy as rs
import recoverystudy.stats._base as base_mod
import recoverystudy.stats._relative_effects as rel_mod
import recoverystudy.stats.effsize as effsize_mod
from recoverystudy.stats._base import descriptives, prepare_groups
from recoverystudy.stats._distributions import percentile_ci
from recoverystudy.stats._ranks import kruskal_h, kruskal_p, rank_groups
from recoverystudy.stats._relative_effects import h_draws, relative_effects
from recoverystudy.stats.effsize import _bootstrap_h

TOL = 1e-12


def messy(seed: int, k: int, n_site: int, ties: str) -> pd.DataFrame:
    """k sites of unequal size, shuffled rows, 3% missing outcomes, 2% missing sites."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(n_site // 2, n_site + 1, size=k)
    codes = np.repeat(np.arange(k), sizes)
    y = rng.normal(size=codes.size) * (1 + 0.1 * codes) + 0.08 * codes
    if ties == "heavy":      # questionnaire-like totals: few distinct values
        y = np.round(y * 2) / 2
    elif ties == "some":     # a quarter rounded to 0.1: tied values among many distinct ones
        y = np.where(rng.random(y.size) < 0.25, np.round(y, 1), y)
    site = np.array([f"S{c:02d}" for c in codes], dtype=object)
    y[rng.random(y.size) < 0.03] = np.nan
    site[rng.random(y.size) < 0.02] = None
    order = rng.permutation(y.size)
    return pd.DataFrame({"y": y[order], "site": site[order]}, index=pd.RangeIndex(10, 10 + y.size))


def close(a, b) -> None:
    assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=TOL, atol=0, equal_nan=True)


def same_frame(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new.columns) == list(old.columns) and len(new) == len(old)
    for c in new.columns:
        if pd.api.types.is_numeric_dtype(old[c]) and not pd.api.types.is_bool_dtype(old[c]):
            close(new[c], old[c])
        else:
            assert new[c].astype(object).where(new[c].notna(), None).tolist() == \
                old[c].astype(object).where(old[c].notna(), None).tolist(), c


CASES = [  # (seed, k, most people per site, ties, ci_method, the interval used)
    (1, 3, 300, "heavy", "auto", "bootstrap"),
    (2, 4, 250, "none", "auto", "bootstrap"),
    (3, 6, 4_000, "none", "auto", "asymptotic"),     # 6 x 2,000-4,000 > 10,000 people
    (4, 6, 4_000, "heavy", "auto", "asymptotic"),
    (5, 5, 400, "some", "asymptotic", "asymptotic"),
    (6, 9, 300, "some", "asymptotic", "asymptotic"),
    (7, 2, 40, "heavy", "asymptotic", "asymptotic"),
]


@pytest.mark.parametrize("seed, k, n_site, ties, ci_method, used", CASES)
def test_fast_path_equals_the_old_slow_path(seed, k, n_site, ties, ci_method, used):
    df = messy(seed, k, n_site, ties)
    n_boot = 300
    res = rs.compare_sites(df, "y", "site", method="kruskal", seed=seed, n_boot=n_boot, ci_method=ci_method)
    g = prepare_groups(df, "y", "site")
    N = g.n_total
    assert res.provenance["n_excluded_rows"] > 0  # the missing values and sites were really there
    # omnibus: H and p
    H = slow.kruskal_h(g.y, g.codes, k)
    close(res.omnibus["statistic"], [H])
    close(res.omnibus["p"], [kruskal_p(H, k)])
    # effect sizes and their intervals, by the old route
    method = res.provenance["ci_method"]
    assert method == used
    rng = np.random.default_rng(seed)
    if method == "asymptotic":
        p, V, tie, H_re = slow.relative_effects(g.y, g.codes, k)
        assert H_re == H
        Hb = h_draws(p, V, tie, np.bincount(g.codes, minlength=k), n_boot, rng)
    else:
        Hb = _bootstrap_h(g.y, g.codes, k, n_boot, rng)
    lo, hi = percentile_ci(Hb[np.isfinite(Hb)], 0.9)
    es = res.effect_sizes
    close(es.loc["eta2_h", ["value", "ci_low"]], [(H - k + 1) / (N - k), (lo - k + 1) / (N - k)])
    scale = (N**2 - 1) / (N + 1)
    close(es.loc["rank_epsilon2", ["value", "ci_low"]], [H / scale, lo / scale])
    assert np.isfinite(hi)
    # descriptives (quartiles from the shared sort), Dunn's table, assumption checks
    old_desc = slow.descriptives(g, 0.95)
    same_frame(res.descriptives, old_desc)
    same_frame(res.posthoc, slow.dunn_table(g, "holm"))
    same_frame(res.assumptions, slow._assumptions(g, old_desc))


@pytest.mark.parametrize(
    "k, ties", [(2, "none"), (3, "heavy"), (6, "none"), (6, "some"), (8, "heavy"), (12, "none")]
)
def test_placements_and_ranks_equal_the_slow_path(k, ties):
    df = messy(100 + k, k, 700, ties).dropna()
    g = prepare_groups(df, "y", "site")
    p0, V0, tie0, H0 = slow.relative_effects(g.y, g.codes, k)
    p1, V1, tie1, H1 = relative_effects(g.y, g.codes, k)
    close(p1, p0)
    close(V1, V0)
    assert tie1 == tie0 and H1 == H0 == slow.kruskal_h(g.y, g.codes, k) == kruskal_h(g.y, g.codes, k)
    r = rank_groups(g.y, g.codes, k)
    ranks, ties_old = slow.midranks(g.y)
    close(r.rank_sums, np.bincount(g.codes, weights=ranks, minlength=k))
    assert r.tie_sum == float(np.sum(ties_old.astype(float) ** 3 - ties_old))
    assert (r.ties is None) == (ties_old.size == g.n_total)
    # values grouped by site and sorted, from the shared sort, equal the per-site sorts
    close(r.values_by_site(), np.concatenate([np.sort(g.y[g.codes == s]) for s in range(k)]))


@pytest.mark.parametrize("method", ["welch", "anova"])
def test_descriptives_without_ranking_equal_the_slow_path(method):
    df = messy(11, 5, 500, "heavy")
    res = rs.compare_sites(df, "y", "site", method=method)
    g = prepare_groups(df, "y", "site")
    old_desc = slow.descriptives(g, 0.95)
    same_frame(res.descriptives, old_desc)
    same_frame(res.assumptions, slow._assumptions(g, old_desc))


def test_kruskal_sorts_the_pooled_data_once(monkeypatch):
    calls = []
    real = base_mod.rank_groups

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    def forbidden(*a, **kw):
        raise AssertionError("a step ranked the data again instead of using the shared sort")

    monkeypatch.setattr(base_mod, "rank_groups", counting)
    monkeypatch.setattr(rel_mod, "rank_groups", forbidden)
    monkeypatch.setattr(effsize_mod, "rank_groups", forbidden)
    df = messy(21, 4, 6_000, "none")  # > 10,000 people: the asymptotic interval's placements too
    res = rs.compare_sites(df, "y", "site", method="kruskal", seed=1)
    assert res.provenance["ci_method"] == "asymptotic"
    assert len(calls) == 1
    unranked = descriptives(prepare_groups(df, "y", "site"))  # quartiles by per-site sorts instead
    same_frame(res.descriptives, unranked)
