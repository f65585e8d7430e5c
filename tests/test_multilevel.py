"""Random-intercept models: variance components equal lme4::lmer REML to 1e-4 (tests/reference/models.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import ExclusionWarning, InsufficientDataError, SingularFitWarning, StatisticsError

FIX = load_fixture("models.json")["lmer"]


def fit(name, **kw):
    case = FIX[name]
    fixed = ["age"] if "age" in case["formula"] else None
    return rs.site_model(pd.DataFrame(case["data"]), "y", "site", fixed=fixed, **kw), case


@pytest.mark.parametrize("name", ["intercept_only", "with_covariate"])
def test_variance_components_match_lmer(name):
    # R: lmer(y ~ ... + (1 | site), REML = TRUE); as.data.frame(VarCorr(m))
    m, case = fit(name, n_boot=0)
    assert_allclose(m.variance_site, case["variance_site"], rtol=0, atol=1e-4)
    assert_allclose(m.variance_residual, case["variance_residual"], rtol=0, atol=1e-4)
    assert_allclose(m.reml_criterion, case["reml_criterion"], rtol=0, atol=1e-6)  # REMLcrit(m)
    fe = m.fixed_effects.set_index("term")
    for term, est in case["fixed"].items():
        key = "Intercept" if term == "(Intercept)" else term
        assert_allclose(fe.loc[key, "estimate"], est, rtol=0, atol=1e-6)
        assert_allclose(fe.loc[key, "se"], case["fixed_se"][term], rtol=0, atol=1e-5)
    assert not m.singular
    icc = case["variance_site"] / (case["variance_site"] + case["variance_residual"])
    assert_allclose(m.icc, icc, rtol=0, atol=1e-5)
    n, g = len(case["data"]["y"]), len(set(case["data"]["site"]))
    assert_allclose(m.design_effect, 1 + (n / g - 1) * m.icc, rtol=0, atol=1e-12)


def test_singular_fit_is_reported():
    with pytest.warns(SingularFitWarning):
        m, case = fit("singular", n_boot=0)
    assert case["singular"] and m.singular and m.variance_site == 0.0
    assert_allclose(m.variance_residual, case["variance_residual"], rtol=0, atol=1e-4)
    assert "singular" in m.summary()


def test_icc_bootstrap_ci_is_seeded_and_brackets():
    a, _ = fit("intercept_only", n_boot=60, seed=4)
    b, _ = fit("intercept_only", n_boot=60, seed=4)
    assert a.icc_ci == b.icc_ci
    assert a.icc_ci[0] <= a.icc <= a.icc_ci[1]
    assert a.provenance["seed"] == 4 and "REML" in a.summary()


def test_exclusions_and_errors():
    df = pd.DataFrame(FIX["intercept_only"]["data"])
    df.loc[0, "y"] = np.nan
    with pytest.warns(ExclusionWarning):
        m = rs.site_model(df, "y", "site", n_boot=0)
    assert len(m.exclusions) == 1 and m.n == len(df) - 1
    with pytest.raises(InsufficientDataError, match="two sites"):
        rs.site_model(df.assign(site="S1"), "y", "site", n_boot=0)
    with pytest.raises(InsufficientDataError, match="no values"):
        rs.site_model(df.assign(y=np.nan), "y", "site", n_boot=0)
    with pytest.raises(StatisticsError, match="'y'"):
        rs.site_model(df.assign(y="high"), "y", "site", n_boot=0)
    with pytest.raises(StatisticsError, match="could not be built"):
        rs.site_model(df.dropna(), "y", "site", fixed=["nonexistent"], n_boot=0)
