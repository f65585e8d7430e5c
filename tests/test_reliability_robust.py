"""Robust reliability: zero-variance items, negatively keyed items, keys=, analytic and bootstrap CIs.

Reference values: R psych 2.2.9 alpha(delete = TRUE, check.keys) and omega(nfactors = 1), written by
tests/reference/reliability_robust.R into reliability_robust.json; compared to 1e-6.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import KeyingWarning, StatisticsError, ZeroVarianceWarning
from recoverystudy.quant import _relcore as rc

FIX = load_fixture("reliability_robust.json")


def frame(name):
    case = FIX[name]
    return pd.DataFrame({k: pd.array(v, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
                         for k, v in case["data"].items()}), case


def assert_alpha_matches(rel, case):
    assert list(rel.items.index) == case["items"]
    assert_allclose(rel.alpha, case["raw_alpha"], rtol=0, atol=1e-6)
    assert_allclose(rel.alpha_std, case["std_alpha"], rtol=0, atol=1e-6)
    assert_allclose(rel.alpha_ci, (case["feldt_lower"], case["feldt_upper"]), rtol=0, atol=1e-6)
    assert_allclose(rel.items["r_drop"], case["r_drop"], rtol=0, atol=1e-6)
    assert_allclose(rel.items["alpha_if_deleted"], case["alpha_if_dropped"], rtol=0, atol=1e-6)
    assert_allclose(rel.items["mean"], case["item_mean"], rtol=0, atol=1e-6)
    assert_allclose(rel.items["sd"], case["item_sd"], rtol=0, atol=1e-6)
    assert_allclose(rel.omega, case["omega_total"], rtol=0, atol=1e-6)


def test_zero_variance_item_is_dropped_not_fatal():
    # R: psych::alpha(x) warns "Item = item_04 had no variance and was deleted"; omega of the other items
    df, case = frame("zero_variance")
    with pytest.warns(ZeroVarianceWarning, match="item_04"):
        rel = rs.reliability(df)
    assert_alpha_matches(rel, case)
    assert rel.dropped == ("item_04",) and rel.provenance["dropped_zero_variance"] == ["item_04"]
    assert rel.n_items == 6 and "item_04" in rel.summary()


def test_negative_items_are_named_and_check_keys_flips_them():
    df, case = frame("negative_two")
    # without check_keys: a warning naming exactly the items psych's principal() finds negative
    with pytest.warns(KeyingWarning, match="item_03, item_06 correlate"):
        plain = rs.reliability(df)
    assert plain.negative_items == tuple(case["negative"]) == ("item_03", "item_06")
    assert_allclose(plain.alpha, case["unchecked_raw_alpha"], rtol=0, atol=1e-6)
    assert_allclose(plain.items["r_drop"], case["unchecked_r_drop"], rtol=0, atol=1e-6)
    assert "NOT reversed" in plain.summary()
    # psych::omega flips negative items itself, so omega is the same either way
    assert_allclose(plain.omega, case["omega_total"], rtol=0, atol=1e-6)
    # check_keys = psych::alpha(check.keys = TRUE)
    with pytest.warns(KeyingWarning, match="were reversed"):
        rel = rs.reliability(df, check_keys=True)
    assert_alpha_matches(rel, case)
    assert rel.reversed_items == ("item_03", "item_06") and rel.negative_items == ()
    assert list(rel.items["reversed"]) == [False, False, True, False, False, True, False, False]
    assert rel.provenance["reversed_by"] == "check_keys"


def test_check_keys_with_missing_answers_and_a_flat_item():
    df, case = frame("combined")
    with pytest.warns(ZeroVarianceWarning, match="item_05"), pytest.warns(KeyingWarning, match="item_02, item_09"):
        rel = rs.reliability(df, check_keys=True)
    assert_alpha_matches(rel, case)
    assert rel.reversed_items == tuple(case["negative"])


def test_keys_with_the_scales_range():
    # answers 1-4 observed on a 1-5 scale: reversing must use 6 - x, not 5 - x (R: keyed by hand)
    df, case = frame("keys_range")
    rel = rs.reliability(df, keys=["item_04"], response_range=(1, 5))
    assert_alpha_matches(rel, case)
    assert rel.provenance["reverse_range"] == (1.0, 5.0)
    # the observed range (psych's default) gives the same correlations but a different item mean
    obs = rs.reliability(df, keys="item_04")
    assert_allclose(obs.alpha, rel.alpha, rtol=0, atol=1e-12)
    assert_allclose(obs.items.loc["item_04", "mean"], case["item_mean"][3] - 1, rtol=0, atol=1e-9)
    with pytest.raises(StatisticsError, match="'item_99'"):
        rs.reliability(df, keys=["item_99"])
    with pytest.raises(ValueError, match="response_range"):
        rs.reliability(df, keys=["item_04"], response_range=(5, 1))
    with pytest.raises(ValueError, match="only with ci='bootstrap'"):
        rs.reliability(df, ci="analytic", n_boot=200)
    with pytest.raises(ValueError, match="at least 10"):
        rs.reliability(df, ci="bootstrap", n_boot=5)


def test_keys_equal_reversing_by_hand():
    df, _ = frame("negative_two")
    by_hand = df.copy()
    for c in ("item_03", "item_06"):
        by_hand[c] = 6 - by_hand[c]
    a = rs.reliability(df, keys=["item_03", "item_06"], response_range=(1, 5))
    b = rs.reliability(by_hand)
    assert_allclose(a.to_frame()["value"], b.to_frame()["value"], rtol=0, atol=1e-12)
    assert_allclose(a.items["mean"], b.items["mean"], rtol=0, atol=1e-12)


def test_only_one_varying_item_is_an_error():
    df = pd.DataFrame({"a": [3, 3, 3, 3], "b": [1, 2, 3, 4], "c": [2, 2, 2, 2]})
    with pytest.warns(ZeroVarianceWarning), pytest.raises(rs.errors.InsufficientDataError, match="vary"):
        rs.reliability(df)


def test_omega_gradient_is_the_derivative():
    # implicit-function gradient of omega w.r.t. the covariance matrix = central finite differences
    rng = np.random.default_rng(0)
    f = rng.normal(size=400)
    load = np.array([0.7, 0.6, -0.5, 0.65, 0.55, 0.6])
    x = f[:, None] * load + rng.normal(size=(400, 6)) * np.sqrt(1 - load**2)
    m = rc.accumulate_moments(pd.DataFrame(x))
    c, r = m.cov(), m.cor()
    om, lam, sg = rc.omega_from_cor(r)
    g = rc.omega_gradient_cov(c, r, lam, sg)

    def om_of(cc):
        d = np.sqrt(np.diag(cc))
        return rc.omega_from_cor(cc / np.outer(d, d))[0]

    h = 1e-6
    for i, j in [(0, 0), (0, 2), (3, 5), (2, 2)]:
        e = np.zeros((6, 6))
        e[i, j] = e[j, i] = h
        num = (om_of(c + e) - om_of(c - e)) / (2 * h)
        assert_allclose(g[i, j] * (1 if i == j else 2), num, rtol=1e-6, atol=1e-9)


def test_delta_se_matches_the_sampling_sd():
    # normal data, n = 500: the Monte Carlo SD of omega over 300 samples (seeded) vs the delta-method SE
    rng = np.random.default_rng(11)
    load = np.array([0.75, 0.6, 0.5, 0.65, 0.55, 0.7])
    sig = np.outer(load, load)
    np.fill_diagonal(sig, 1.0)
    chol = np.linalg.cholesky(sig)
    oms = [rc.omega_from_cor(np.corrcoef(rng.normal(size=(500, 6)) @ chol.T, rowvar=False))[0]
           for _ in range(300)]
    rel = rs.reliability(pd.DataFrame(rng.normal(size=(500, 6)) @ chol.T))
    assert abs(rel.omega_se / np.std(oms) - 1) < 0.15
    lo, hi = rel.omega_ci
    assert lo < rel.omega < hi and rel.provenance["omega_ci_method"].startswith("delta")


def test_bootstrap_moments_equal_a_direct_resample():
    # the counts-weighted moments of a resample equal pandas' pairwise cov/cor of the resampled rows
    df, _ = frame("combined")
    x = df.drop(columns="item_05").to_numpy()
    x[:, [1, 7]] *= -1  # reverse item_02 and item_09 (negatively worded): Newton starts from positive loadings
    miss = np.isnan(x)
    x0 = x - np.nanmean(x, axis=0)
    x0[miss] = 0.0
    rows, cols = np.nonzero(miss)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(x), len(x))
    counts = np.bincount(idx, minlength=len(x)).astype(float)[None]
    nn, s, sxy, q = rc._resample_moments(x0, (~miss).astype(float), rows, cols, counts, np.triu_indices(9))
    c, r = rc._cov_cor_from_sums(nn, s, sxy, q)
    direct = pd.DataFrame(x[idx])
    assert_allclose(c[0], direct.cov().to_numpy(), rtol=0, atol=1e-12)
    assert_allclose(r[0], direct.corr().to_numpy(), rtol=0, atol=1e-12)
    # Newton's batched omega equals the principal-axis iteration on the same matrix
    lam = rc.omega_from_cor(pd.DataFrame(x).corr().to_numpy())[1]
    assert_allclose(rc._batched_omega(r, lam)[0], rc.omega_from_cor(r[0])[0], rtol=0, atol=1e-9)


def test_bootstrap_on_request_is_seeded_and_thread_independent():
    df, case = frame("negative_two")
    with pytest.warns(KeyingWarning):
        a = rs.reliability(df, check_keys=True, ci="bootstrap", n_boot=300, seed=5, n_jobs=1)
    with pytest.warns(KeyingWarning):
        b = rs.reliability(df, check_keys=True, ci="bootstrap", n_boot=300, seed=5, n_jobs=2)
    assert a.omega_ci == b.omega_ci and a.provenance["seed"] == 5
    assert a.omega_ci[0] < case["omega_total"] < a.omega_ci[1]
    assert a.provenance["omega_ci_method"] == "percentile bootstrap" and "bootstrap, 300 resamples" in a.summary()
    # the analytic interval and the bootstrap one describe the same uncertainty
    with pytest.warns(KeyingWarning):
        d = rs.reliability(df, check_keys=True)
    assert abs((d.omega_ci[1] - d.omega_ci[0]) / (a.omega_ci[1] - a.omega_ci[0]) - 1) < 0.3


def test_views_and_plot():
    df, _ = frame("negative_two")
    with pytest.warns(KeyingWarning):
        rel = rs.reliability(df, check_keys=True)
    assert "<table" in rel._repr_html_() and "Reversed before the analysis: item_03, item_06" in rel.summary()
    assert rel.to_frame().loc[2, "ci_method"] == "delta method (normal theory, logit scale)"
    fig = rel.plot()
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 2
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "item_03 (reversed)" in labels
    fig.canvas.draw()
    plt.close(fig)


def test_integer_column_labels_with_a_flat_item_and_bootstrap():
    # columns labelled 0..4 (a frame built from a numpy array); item 2 is constant
    rng = np.random.default_rng(8)
    f = rng.normal(size=(120, 1))
    x = np.rint(3 + f + rng.normal(size=(120, 5)))
    x[:, 2] = 4
    with pytest.warns(ZeroVarianceWarning, match="2: every respondent"):
        rel = rs.reliability(pd.DataFrame(x), ci="bootstrap", n_boot=50, seed=3)
    assert rel.dropped == ("2",) and list(rel.items.index) == ["0", "1", "3", "4"]
    by_hand = rs.reliability(pd.DataFrame(np.delete(x, 2, axis=1)))
    assert_allclose(rel.alpha, by_hand.alpha, rtol=0, atol=1e-12)
    assert rel.omega_ci[0] < rel.omega < rel.omega_ci[1]
