"""Effect sizes against R effectsize / rstatix / boot (tests/reference/compare.R -> compare.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import recoverystudy as rs
from recoverystudy.stats._base import adjust_pvalues
from recoverystudy.stats._distributions import percentile_ci
from recoverystudy.stats._ranks import h_from_counts as _h_from_counts
from recoverystudy.stats._ranks import kruskal_h
from recoverystudy.stats.effsize import _bootstrap_h, kruskal_effect_sizes

REF = json.loads((Path(__file__).parent / "reference" / "compare.json").read_text(encoding="utf-8"))
DATASETS = ["d1", "d2", "d3", "d4", "d5"]
ALTS = [("greater", "greater"), ("two-sided", "two.sided")]


def arrays(name):
    d = REF[name]
    labels = d["levels"]
    codes = np.array([labels.index(g) for g in d["g"]])
    return np.asarray(d["y"], float), codes, len(labels)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("alt", "r_alt"), ALTS)
def test_anova_eta2_omega2_match_effectsize(name, alt, r_alt):
    # R: effectsize::eta_squared(aov(y ~ g), alternative = r_alt); omega_squared(...) likewise
    ref = REF[name]
    a = ref["anova"]
    for fn, key in ((rs.f_to_eta2, "eta2"), (rs.f_to_omega2, "omega2")):
        es = fn(a["statistic"], a["df1"], a["df2"], ci=0.95, alternative=alt)
        r = ref["effect_sizes"][r_alt][key]
        assert_allclose(
            [es.value, es.ci_low, es.ci_high], [r["value"], r["ci_low"], r["ci_high"]], rtol=0, atol=1e-6
        )


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("alt", "r_alt"), ALTS)
def test_welch_eta2_omega2_match_F_to(name, alt, r_alt):
    # R: effectsize::F_to_eta2(F, df1, df2) / F_to_omega2 with Welch's F and (fractional) df
    ref = REF[name]
    w = ref["welch"]
    for fn, key in ((rs.f_to_eta2, "welch_eta2"), (rs.f_to_omega2, "welch_omega2")):
        es = fn(w["statistic"], w["df1"], w["df2"], alternative=alt)
        r = ref["effect_sizes"][r_alt][key]
        assert_allclose(
            [es.value, es.ci_low, es.ci_high], [r["value"], r["ci_low"], r["ci_high"]], rtol=0, atol=1e-6
        )


def test_omega2_is_truncated_at_zero_and_ci_collapses():
    # d4 has F < 1: effectsize >= 0.8.2 reports omega2 = 0 and, two-sided, CI [0, 0]
    a = REF["d4"]["anova"]
    es = rs.f_to_omega2(a["statistic"], a["df1"], a["df2"], alternative="two-sided")
    assert es.value == 0.0 and es.ci_low == 0.0 and es.ci_high == 0.0
    assert (a["statistic"] - 1) * a["df1"] / (a["statistic"] * a["df1"] + a["df2"] + 1) < 0


def test_eta2_bounds_invert_the_noncentral_f():
    # the lower bound's noncentrality puts the observed F at the 95th percentile (one-sided)
    es = rs.f_to_eta2(4.5, 3, 60, alternative="greater")
    lam = es.ci_low * 60 / (1 - es.ci_low)
    assert stats.ncf.cdf(4.5, 3, 60, lam) == pytest.approx(0.95, abs=1e-10)


@pytest.mark.parametrize("name", DATASETS)
def test_kruskal_point_estimates(name):
    # R: kruskal.test; effectsize::rank_epsilon_squared; rstatix::kruskal_effsize (eta2[H])
    y, codes, k = arrays(name)
    es, H, _ = kruskal_effect_sizes(y, codes, k, n_boot=0)
    assert H == pytest.approx(REF[name]["kruskal"]["statistic"], abs=1e-9)
    assert es[0].name == "eta2_h" and es[0].value == pytest.approx(REF[name]["eta2_h"], abs=1e-9)
    assert es[1].name == "rank_epsilon2" and es[1].value == pytest.approx(
        REF[name]["rank_epsilon_squared"], abs=1e-9
    )
    assert np.isnan(es[0].ci_low)


@pytest.mark.parametrize(("conf", "key"), [(0.90, "perc90"), (0.95, "perc95")])
def test_percentile_rule_matches_boot_ci(conf, key):
    # R: boot::boot.ci(B, conf, type = "perc") on 199 stored replicates (interpolation branch)
    t = np.asarray(REF["bootstrap"]["t"])
    lo, hi = percentile_ci(t, conf)
    assert_allclose([lo, hi], REF["bootstrap"][key], rtol=0, atol=1e-12)


def test_h_from_counts_equals_scipy_kruskal():
    rng = np.random.default_rng(3)
    y = rng.integers(1, 6, 80).astype(float)
    codes = rng.integers(0, 4, 80)
    assert kruskal_h(y, codes, 4) == pytest.approx(
        stats.kruskal(*[y[codes == g] for g in range(4)]).statistic, rel=1e-12
    )


@pytest.mark.parametrize("few_values", [True, False])
def test_bootstrap_resamples_are_exact(few_values):
    """Each bootstrap H equals scipy's H on the explicit resample (both resampling schemes)."""
    rng = np.random.default_rng(5)
    n = np.array([30, 45, 25])
    codes = np.repeat(np.arange(3), n)
    y = rng.integers(1, 5, n.sum()).astype(float) if few_values else rng.normal(size=n.sum()).round(6)
    uniq, vidx = np.unique(y, return_inverse=True)
    B = 25
    H = _bootstrap_h(y, codes, 3, B, np.random.default_rng(42))
    # replay the same draws
    replay = np.random.default_rng(42)
    support_total = sum(np.unique(vidx[codes == g]).size for g in range(3))
    multinomial = support_total * 4 <= y.size
    assert multinomial is few_values
    samples = [[None] * 3 for _ in range(B)]
    for g in range(3):
        vals = vidx[codes == g]
        if multinomial:
            cnt = np.bincount(vals, minlength=uniq.size)
            sup = np.flatnonzero(cnt)
            draws = replay.multinomial(n[g], cnt[sup] / n[g], size=B)
            for b in range(B):
                samples[b][g] = np.repeat(uniq[sup], draws[b])
        else:
            idx = replay.integers(0, vals.size, size=(B, vals.size))
            for b in range(B):
                samples[b][g] = uniq[vals[idx[b]]]
    expected = [stats.kruskal(*samples[b]).statistic for b in range(B)]
    assert_allclose(H, expected, rtol=1e-10, atol=1e-12)


def test_bootstrap_ci_is_seeded_and_sensible():
    y, codes, k = arrays("d2")
    a, _, info = kruskal_effect_sizes(y, codes, k, n_boot=400, seed=7)
    b, _, _ = kruskal_effect_sizes(y, codes, k, n_boot=400, seed=7)
    c, _, _ = kruskal_effect_sizes(y, codes, k, n_boot=400, seed=8)
    assert a == b and a[1].ci_low != c[1].ci_low
    assert info["n_boot_valid"] == 400
    # one-sided: upper fixed at 1, lower below the estimate; two-sided: estimate inside
    assert a[1].ci_high == 1.0 and 0 < a[1].ci_low < a[1].value
    t, _, _ = kruskal_effect_sizes(y, codes, k, n_boot=400, seed=7, alternative="two-sided")
    assert t[1].ci_low < t[1].value < t[1].ci_high < 1
    # eta2_H and eps2_R bounds are the same bootstrap H quantiles, transformed
    N = y.size
    h_lo = a[1].ci_low * (N**2 - 1) / (N + 1)
    assert a[0].ci_low == pytest.approx((h_lo - k + 1) / (N - k), rel=1e-12)


def test_h_from_counts_batch_shape():
    counts = np.array([[[2, 1, 0], [0, 1, 2]], [[1, 1, 1], [1, 1, 1]]], dtype=float)
    H = _h_from_counts(counts, np.array([3, 3]))
    assert H.shape == (2,)
    assert H[1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_adjust_pvalues_matches_p_adjust(method):
    # R: p.adjust(welch p of three outcomes, "holm" / "BH")
    m = REF["multi"]
    expected = m["welch_p_holm"] if method == "holm" else m["welch_p_bh"]
    assert_allclose(adjust_pvalues(m["welch_p"], method), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("method", "expected"),
    [  # R: p.adjust(c(0.01, 0.04, 0.03, 0.005, NA), method)
        ("holm", [0.03, 0.06, 0.06, 0.02, np.nan]),
        ("hochberg", [0.03, 0.04, 0.04, 0.02, np.nan]),
        ("bonferroni", [0.04, 0.16, 0.12, 0.02, np.nan]),
        ("bh", [0.02, 0.04, 0.04, 0.02, np.nan]),
        ("by", [0.04166667, 0.08333333, 0.08333333, 0.04166667, np.nan]),
        ("none", [0.01, 0.04, 0.03, 0.005, np.nan]),
    ],
)
def test_adjust_pvalues_by_hand(method, expected):
    assert_allclose(adjust_pvalues([0.01, 0.04, 0.03, 0.005, np.nan], method), expected, atol=1e-8)


def test_effect_size_views_and_bad_arguments():
    es = rs.f_to_omega2(10.0, 2, 40)
    assert es.to_frame().loc[0, "effect_size"] == "omega2"
    assert es.summary().startswith("ω² = 0.")
    assert "one-sided 95% CI" in es.summary()
    with pytest.raises(ValueError, match="'greater', 'two-sided'"):
        rs.f_to_eta2(3.0, 2, 40, alternative="two.sided")
    with pytest.raises(ValueError, match="ci"):
        rs.f_to_eta2(3.0, 2, 40, ci=95)


# --------------------------------------------------------------------------------------------------
# the asymptotic interval (large N): relative effects and their placement covariance
# --------------------------------------------------------------------------------------------------
def test_relative_effect_covariance_equals_brunner_munzel():
    # two sites: the variance of p̂_2 - p̂_1 from the placement covariance is Brunner-Munzel's, so the
    # standardised difference equals scipy.stats.brunnermunzel's statistic (to rounding)
    from recoverystudy.stats._relative_effects import relative_effects

    rng = np.random.default_rng(3)
    x, z = rng.normal(0, 1, 40).round(1), rng.normal(0.4, 2, 55).round(1)  # with ties
    p, V, tie, H = relative_effects(np.r_[x, z], np.repeat([0, 1], [40, 55]), 2)
    w = (p[1] - p[0]) / np.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1])
    assert w == pytest.approx(stats.brunnermunzel(x, z).statistic, rel=1e-10)
    assert H == pytest.approx(stats.kruskal(x, z).statistic, rel=1e-12)


def test_asymptotic_interval_agrees_with_the_bootstrap():
    # the asymptotic interval is the large-sample form of the stratified bootstrap: on 4 sites x ~500
    # its endpoints lie within 8% of the bootstrap's (Monte Carlo error of 4,000 resamples included)
    rng = np.random.default_rng(7)
    n = [400, 600, 500, 550]
    codes = np.repeat(np.arange(4), n)
    y = rng.normal(size=sum(n)) + 0.15 * codes
    boot, H, info_b = kruskal_effect_sizes(y, codes, 4, n_boot=4000, seed=1, ci_method="bootstrap",
                                           alternative="two-sided")
    asym, H2, info_a = kruskal_effect_sizes(y, codes, 4, n_boot=4000, seed=1, ci_method="asymptotic",
                                            alternative="two-sided")
    assert H2 == pytest.approx(H, rel=1e-12) and asym[1].value == boot[1].value
    assert info_b["ci_method"] == "bootstrap" and info_a["ci_method"] == "asymptotic"
    for b, a in zip(boot, asym):
        assert a.ci_low == pytest.approx(b.ci_low, rel=0.08)
        assert a.ci_high == pytest.approx(b.ci_high, rel=0.08)
        assert a.ci_low < a.value < a.ci_high


def test_auto_ci_method_switches_above_10000_and_says_so():
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"y": rng.normal(size=12_000), "site": np.repeat(list("ABC"), 4000)})
    res = rs.compare_sites(big, "y", "site", method="kruskal", seed=1, posthoc=False)
    assert res.provenance["ci_method"] == "asymptotic"
    assert "asymptotic" in res.provenance["effect_size_ci"]
    assert res.effect_sizes["method"].str.startswith("asymptotic").all()
    # the R-matching bootstrap stays available on request
    boot = rs.compare_sites(big, "y", "site", method="kruskal", seed=1, posthoc=False, n_boot=50,
                            ci_method="bootstrap")
    assert boot.provenance["ci_method"] == "bootstrap"
    small = rs.compare_sites(big.iloc[::4], "y", "site", method="kruskal", seed=1, posthoc=False, n_boot=50)
    assert small.provenance["ci_method"] == "bootstrap"
    with pytest.raises(ValueError, match="ci_method"):
        rs.compare_sites(big, "y", "site", method="kruskal", ci_method="exact")
