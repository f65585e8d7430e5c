"""England vs Wales with 6 sites: exact permutation floor, wild cluster bootstrap, mixed model, labels."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.stats.country import WEBB_WEIGHTS, _cluster_robust_t, _wild_t
from recoverystudy.errors import FewClustersWarning, InsufficientDataError, StatisticsError


def six_sites(shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    site = np.repeat(["E1", "E2", "E3", "E4", "W1", "W2"], [12, 15, 10, 14, 11, 13])
    country = np.where(np.char.startswith(site, "E"), "England", "Wales")
    y = rng.normal(50, 5, len(site)) + np.where(country == "Wales", shift, 0)
    return pd.DataFrame({"y": y, "site": site, "country": country})


def test_permutation_exact_by_hand():
    # site means 1..6 with Wales = the two largest: observed diff is the most extreme of 15 arrangements
    df = pd.DataFrame({"y": [1, 2, 3, 4, 5, 6], "site": list("ABCDEF"),
                       "country": ["England"] * 4 + ["Wales"] * 2})
    with pytest.warns(FewClustersWarning):
        res = rs.country_effect(df.loc[df.index.repeat(2)].reset_index(drop=True), "y", "site", "country")
    assert res.estimate == pytest.approx((5 + 6) / 2 - (1 + 2 + 3 + 4) / 4)
    # |diffs| of all 15 splits: only {5,6} and {1,2} reach |3.0|
    diffs = [abs(np.mean(c) - np.mean([v for v in range(1, 7) if v not in c]))
             for c in itertools.combinations(range(1, 7), 2)]
    assert res.permutation_p == pytest.approx(sum(d >= 3.0 - 1e-12 for d in diffs) / 15) == pytest.approx(2 / 15)
    assert res.n_arrangements == 15 and res.p_floor == pytest.approx(1 / 15)
    assert res.exploratory and "EXPLORATORY" in res.summary() and "0.067" in res.summary()


def test_wild_bootstrap_vectorised_equals_loop():
    df = six_sites(shift=2.0, seed=3)
    with pytest.warns(FewClustersWarning):
        res = rs.country_effect(df, "y", "site", "country")
    assert res.n_weight_vectors == 6**6  # all Webb weight vectors enumerated for 6 sites
    g = pd.Categorical(df.site).codes
    X = np.column_stack([np.ones(len(df)), (df.country == "Wales").to_numpy(float)])
    y = df.y.to_numpy()
    W = np.array(list(itertools.product(WEBB_WEIGHTS, repeat=6))[::97])
    # reference: refit OLS + CR1 t for each weight vector with a plain loop, null (constant-only) imposed
    fit_r = np.full(len(y), y.mean())
    loop = np.array([_cluster_robust_t(X, fit_r + (y - fit_r) * w[g], g, 6)[1] for w in W])
    vec, t_obs = _wild_t(X, y, g, 6, W)
    assert_allclose(vec, loop, rtol=0, atol=1e-9)
    assert t_obs == pytest.approx(res.wild_bootstrap_t)
    full, _ = _wild_t(X, y, g, 6, np.array(list(itertools.product(WEBB_WEIGHTS, repeat=6))))
    assert res.wild_bootstrap_p == pytest.approx(np.mean(np.abs(full) >= abs(t_obs) - 1e-12))


def test_mixed_model_estimate_and_to_frame():
    df = six_sites(shift=4.0, seed=5)
    with pytest.warns(FewClustersWarning):
        res = rs.country_effect(df, "y", "site", "country", reference="England")
    with pytest.warns(Warning):
        mm = rs.site_model(df.assign(w=(df.country == "Wales").astype(float)), "y", "site", fixed=["w"], n_boot=0)
    assert_allclose(res.mixed_model_estimate, mm.fixed_effects.set_index("term").loc["w", "estimate"], atol=1e-10)
    frame = res.to_frame()
    assert len(frame) == 3 and frame.loc[0, "p_floor"] == pytest.approx(1 / 15)


def test_errors():
    df = six_sites()
    bad = df.copy()
    bad.loc[0, "country"] = "Wales"
    with pytest.raises(StatisticsError, match="'E1'"):
        rs.country_effect(bad, "y", "site", "country")
    with pytest.raises(InsufficientDataError, match="exactly two"):
        rs.country_effect(df.assign(country="England"), "y", "site", "country")
    with pytest.raises(ValueError, match="reference"):
        rs.country_effect(df, "y", "site", "country", reference="Scotland")


def test_seed_is_recorded_when_not_given():
    """A run without a seed records the seed it drew, and that seed reproduces the run."""
    import warnings

    import numpy as np
    import pandas as pd

    import recoverystudy as rs

    rng = np.random.default_rng(3)
    sites = np.repeat(list("ABCDEF"), 12)
    df = pd.DataFrame({"y": rng.normal(size=72), "site": sites,
                       "country": np.where(np.isin(sites, ["E", "F"]), "Wales", "England")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.FewClustersWarning)
        warnings.simplefilter("ignore", rs.errors.SingularFitWarning)
        first = rs.country_effect(df, "y", "site", "country")
        seed = first.provenance["seed"]
        assert isinstance(seed, int)
        again = rs.country_effect(df, "y", "site", "country", seed=seed)
    assert again.wild_bootstrap_p == first.wild_bootstrap_p
    f = rng.normal(size=(60, 1))  # four items of one factor (uncorrelated items would trigger a KeyingWarning)
    rel = rs.reliability(pd.DataFrame(np.rint(3 + f + rng.normal(size=(60, 4)))), n_boot=20)
    assert isinstance(rel.provenance["seed"], int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.SingularFitWarning)
        model = rs.site_model(df, "y", "site", n_boot=20)
    assert isinstance(model.provenance["seed"], int)


def test_one_site_in_a_country_warns_about_the_wild_bootstrap():
    import warnings

    import numpy as np
    import pandas as pd

    import recoverystudy as rs

    rng = np.random.default_rng(5)
    sites = np.repeat(list("ABCDEF"), 10)
    df = pd.DataFrame({"y": rng.normal(size=60), "site": sites, "country": np.where(sites == "F", "Wales", "England")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        res = rs.country_effect(df, "y", "site", "country", seed=1)
    assert res.n_arrangements == 6 and res.p_floor == 1 / 6
    assert "Only one Wales site: the wild cluster bootstrap is unreliable" in res.summary()
