"""Few-site inference for rs.site_model against lme4 / lmerTest / pbkrtest (tests/reference/multilevel.R).

Tolerances: lme4's optimum of the variance parameters is flat to ~1e-6 (our REML criterion is lower than
lme4's by ~1e-12 at our optimum), so variance components are compared to 1e-6 relative, and the df and p
formulas are checked at lme4's own variance estimates (``SiteDesign``: Satterthwaite df to 1e-7 relative,
Kenward-Roger df to 1e-9, p to 1e-9) and to 1e-5 relative at our optimum.
Fixed effects, SEs, log-likelihoods, AIC, BIC and the ranova LRT are compared to 1e-6.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import ExclusionWarning, FewClustersWarning, SingularFitWarning
from recoverystudy.stats._lmm import SiteDesign, t_test
from recoverystudy.stats.multilevel import _design

FIX = load_fixture("multilevel.json")
CASES = ["six_sites_country", "eight_sites_missing", "twelve_sites_age", "six_sites_small_tau"]


def case(name):
    c = FIX[name]
    fixed = [c["fixed"]] if isinstance(c["fixed"], str) else c["fixed"]
    return pd.DataFrame(c["data"]), fixed, c


def r_name(term):
    return "(Intercept)" if term == "Intercept" else term.replace("[T.", "").replace("]", "")


def fit(name, **kw):
    df, fixed, c = case(name)
    warn = []
    if name == "six_sites_small_tau":
        warn.append(SingularFitWarning)
    if name == "eight_sites_missing":
        warn.append(ExclusionWarning)
    if warn:
        with pytest.warns(tuple(warn)):
            return rs.site_model(df, "y", "site", fixed=fixed, n_boot=0, **kw), c
    return rs.site_model(df, "y", "site", fixed=fixed, n_boot=0, **kw), c


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_estimates_and_likelihoods_match_lme4(name, method):
    m, c = fit(name, method=method)
    ref = c["reml" if method == "REML" else "ml"]
    assert m.n == c["n_used"]
    assert_allclose(m.variance_site, ref["variance_site"], rtol=1e-6, atol=1e-9)
    assert_allclose(m.variance_residual, ref["variance_residual"], rtol=1e-6)
    assert_allclose(m.log_likelihood, ref["logLik"], rtol=0, atol=1e-6)
    if method == "ML":
        assert_allclose([m.aic, m.bic], [ref["AIC"], ref["BIC"]], rtol=0, atol=1e-6)
    else:
        assert_allclose(m.reml_criterion, ref["reml_criterion"], rtol=0, atol=1e-6)
    sat = ref["satterthwaite"]
    fe = m.fixed_effects.set_index("term")
    for term, row in fe.iterrows():
        r = sat[r_name(term)]
        assert_allclose(row["estimate"], r["Estimate"], rtol=0, atol=1e-6)
        assert_allclose(row["se"], r["Std. Error"], rtol=1e-6)
        assert_allclose(row["df"], r["df"], rtol=1e-5)
        assert_allclose(row["p"], r["Pr(>|t|)"], rtol=1e-5, atol=1e-8)
    # ranova: logLik of the model with and without the site intercept, LRT and its chi-square p
    rv = ref["ranova"]
    assert_allclose(m.site_variance_test["logLik"], rv["logLik"], rtol=0, atol=1e-6)
    assert_allclose(m.site_variance_test["LRT"].iloc[1], rv["LRT"], rtol=0, atol=1e-6)
    assert_allclose(m.site_variance_test["p"].iloc[1], rv["p"], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_satterthwaite_and_kenward_roger_formulas_at_lme4s_estimates(name):
    # the df/SE formulas evaluated at lme4's own variance estimates equal lmerTest / pbkrtest to 1e-6
    df, fixed, c = case(name)
    used = df.dropna()
    X, names, _ = _design(used, fixed)
    codes, labels = pd.factorize(used["site"], sort=True)
    design = SiteDesign(X, used["y"].to_numpy(float), codes, len(labels))
    ref = c["reml"]
    tau2, s2 = ref["variance_site"], ref["variance_residual"]
    singular = tau2 < 1e-10
    pc = design.pieces(tau2, s2)
    beta = design.beta(tau2, s2, pc["phi"])
    for i, term in enumerate(names):
        L = np.eye(len(names))[i]
        sat, kr = ref["satterthwaite"][r_name(term)], ref["kenward_roger"][r_name(term)]
        var, dfs = design.satterthwaite(L, tau2, s2, pc, True, singular)
        assert_allclose(beta[i], sat["Estimate"], rtol=0, atol=1e-6)
        assert_allclose(np.sqrt(var), sat["Std. Error"], rtol=0, atol=1e-6)
        # lmerTest differentiates the deviance numerically: its df carry ~1e-8 relative error
        assert_allclose(dfs, sat["df"], rtol=1e-7, atol=1e-6)
        p = t_test(beta[i], var, dfs, 0.95)[2]
        assert_allclose(p, sat["Pr(>|t|)"], rtol=0, atol=1e-9)
        var_k, df_k = design.kenward_roger(L, pc)
        assert_allclose(np.sqrt(var_k), kr["Std. Error"], rtol=0, atol=1e-6)
        assert_allclose(df_k, kr["df"], rtol=0, atol=1e-9)  # pbkrtest is analytic: agreement to ~1e-12
        assert_allclose(t_test(beta[i], var_k, df_k, 0.95)[2], kr["Pr(>|t|)"], rtol=0, atol=1e-12)


def test_six_sites_country_has_small_df_and_kenward_roger_on_request():
    m, c = fit("six_sites_country", ddf="Kenward-Roger")
    fe = m.fixed_effects.set_index("term")
    kr = c["reml"]["kenward_roger"]["countryWales"]
    assert_allclose(fe.loc["country[T.Wales]", "df"], kr["df"], rtol=1e-5)  # 3.94
    assert_allclose(fe.loc["country[T.Wales]", "se"], kr["Std. Error"], rtol=1e-6)
    assert fe.loc["country[T.Wales]", "df"] < 5 and m.provenance["ddf"] == "Kenward-Roger"
    assert "Kenward-Roger" in m.summary() and "pbkrtest" in m.provenance["matches"]
    sat, _ = fit("six_sites_country")
    assert sat.fixed_effects.set_index("term").loc["country[T.Wales]", "df"] < 4  # 3.78 as lmerTest
    with pytest.raises(ValueError, match="REML"):
        fit("six_sites_country", ddf="Kenward-Roger", method="ML")


def test_wald_only_on_request_and_warned_with_few_sites():
    df, fixed, c = case("six_sites_country")
    with pytest.warns(FewClustersWarning, match="6 sites"):
        m = rs.site_model(df, "y", "site", fixed=fixed, n_boot=0, ddf="Wald")
    fe = m.fixed_effects.set_index("term")
    assert np.isinf(fe["df"]).all()
    z = fe.loc["country[T.Wales]", "estimate"] / fe.loc["country[T.Wales]", "se"]
    from scipy import stats
    assert_allclose(fe.loc["country[T.Wales]", "p"], 2 * stats.norm.sf(abs(z)), rtol=1e-12)
    # Wald p is smaller than Satterthwaite's for the site-level predictor (anti-conservative)
    assert fe.loc["country[T.Wales]", "p"] < c["reml"]["satterthwaite"]["countryWales"]["Pr(>|t|)"] / 3


def test_missing_covariates_dropped_as_na_omit_with_counts():
    # the reproduction: fixed=["age", "gender"] with missing ages raised "factor contains missing values"
    df, fixed, c = case("eight_sites_missing")
    assert df["age"].isna().sum() == 5 and df["y"].isna().sum() == 3 and df["site"].isna().sum() == 2
    with pytest.warns(ExclusionWarning, match="5 missing 'age'"):
        m = rs.site_model(df, "y", "site", fixed=["age", "gender"], n_boot=0)
    assert m.n == c["n_used"] == len(df.dropna())
    assert m.exclusion_counts == {"missing 'y'": 3, "missing site ('site')": 2, "missing 'age'": 5}
    assert len(m.exclusions) == len(df) - m.n
    assert set(m.exclusions["row"]) == set(df.index[df.isna().any(axis=1)])
    assert "missing 'age'" in m.summary()


def test_views_plot_and_boundary_caveat():
    m, _ = fit("six_sites_small_tau")
    assert "boundary" in m.summary() and "ranova" in m.summary()
    assert m.site_variance_test.loc["(1 | site)", "p"] == pytest.approx(1.0)
    m, _ = fit("six_sites_country")
    fr = m.to_frame().set_index("statistic")
    assert_allclose(fr.loc["lrt_site_variance", "value"], FIX["six_sites_country"]["reml"]["ranova"]["LRT"],
                    atol=1e-6)
    html = m._repr_html_()
    assert "Likelihood-ratio test of the site variance" in html and "<table" in html
    assert len(m.site_effects) == 6 and abs(m.site_effects["effect"].mean()) < 1
    fig = m.plot()
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 2
    fig.canvas.draw()
    plt.close(fig)
