"""Measurement invariance: equal to lavaan::cfa / lavTestLRT (tests/reference/invariance.R, lavaan 0.6-14).

The R script fits the configural, metric and scalar models with optim.method = "BFGS" and reltol = 1e-16
(lavaan's default nlminb stops ~4e-7 from the optimum), on tests/data/invariance.csv (two countries, 400
rows, 7 five-point items, two factors; Wales has a shifted intercept on x3) and on a copy with ~5 % of
answers missing (FIML and lavaan's default listwise deletion).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import InsufficientDataError, StatisticsError
from recoverystudy.stats.cfa import parse_model

FIX = load_fixture("invariance.json")
DATA = Path(__file__).parent / "data"
MODEL = "F1 =~ x1 + x2 + x3 + x4\nF2 =~ x5 + x6 + x7"
LEVELS = ["configural", "metric", "scalar"]
# lavaan fitMeasures name -> our column
FIT = {"chisq": "chisq", "df": "df", "pvalue": "p", "cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "srmr": "srmr",
       "aic": "aic", "bic": "bic", "logl": "logl", "npar": "npar", "baseline.chisq": "baseline_chisq",
       "baseline.df": "baseline_df"}
ROBUST = {"chisq.scaled": "chisq_scaled", "pvalue.scaled": "p_scaled", "chisq.scaling.factor": "scaling_factor",
          "baseline.chisq.scaling.factor": "baseline_scaling_factor", "cfi.scaled": "cfi_scaled",
          "tli.scaled": "tli_scaled", "rmsea.scaled": "rmsea_scaled", "cfi.robust": "cfi_robust",
          "tli.robust": "tli_robust", "rmsea.robust": "rmsea_robust"}
CASES = {"ml": ("invariance.csv", {}), "mlr": ("invariance.csv", {"estimator": "MLR"}),
         "fiml": ("invariance_missing.csv", {"missing": "fiml"}), "listwise": ("invariance_missing.csv", {})}


@pytest.fixture(scope="module")
def fits():
    return {name: rs.invariance(pd.read_csv(DATA / f), group="country", model=MODEL, **kw)
            for name, (f, kw) in CASES.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_fit_measures_equal_lavaan(fits, case):
    res = fits[case]
    fit = res.fit.set_index("model")
    names = {**FIT, **(ROBUST if case == "mlr" else {})}
    for level in LEVELS:
        ref = FIX[case][level]["fit"]
        assert FIX[case][level]["converged"]
        for theirs, ours in names.items():
            assert_allclose(fit.loc[level, ours], ref[theirs], rtol=0, atol=1e-6, err_msg=f"{level} {theirs}")
        # lavaan's uniroot stops at its default tolerance: CI limits good to ~1e-8 here, compared at 1e-6
        assert_allclose(fit.loc[level, "rmsea_ci_low"], ref["rmsea.ci.lower"], atol=1e-6)
        assert_allclose(fit.loc[level, "rmsea_ci_high"], ref["rmsea.ci.upper"], atol=1e-6)
        if case == "mlr":  # robust RMSEA interval: the scaled chi-square inverted, rescaled by c (lavaan)
            assert_allclose(fit.loc[level, "rmsea_ci_low_robust"], ref["rmsea.ci.lower.robust"], atol=1e-6)
            assert_allclose(fit.loc[level, "rmsea_ci_high_robust"], ref["rmsea.ci.upper.robust"], atol=1e-6)
        assert ref["ntotal"] == res.provenance["n"]


@pytest.mark.parametrize("case", list(CASES))
def test_parameters_and_standardised_loadings_equal_lavaan(fits, case):
    res = fits[case]
    for level in LEVELS:
        pe, ss = FIX[case][level]["params"], FIX[case][level]["std"]
        est = {k: v for k, v in zip(zip(pe["lhs"], pe["op"], pe["rhs"], pe["group"], strict=True),
                                     zip(pe["est"], pe["se"], strict=True), strict=True)}
        std = {k: v for k, v in zip(zip(ss["lhs"], ss["op"], ss["rhs"], ss["group"], strict=True),
                                     zip(ss["est"], ss["se"], strict=True), strict=True)}
        ours = res.parameters.loc[res.parameters["model"] == level]
        gnum = {g: i + 1 for i, g in enumerate(res.groups)}
        n_checked = 0
        for row in ours.itertuples():
            key = (row.lhs, row.op, row.rhs, gnum[row.group])
            e, se = est[key]
            assert_allclose(row.est, e, rtol=0, atol=1e-6, err_msg=str(key))       # point estimates: 1e-6
            assert_allclose(row.se, se, rtol=0, atol=1e-6, err_msg=str(key))       # SEs (robust for MLR)
            if row.op == "=~":
                e, se = std[key]
                assert_allclose(row.std, e, rtol=0, atol=1e-6, err_msg=str(key))   # std.all
                assert_allclose(row.std_se, se, rtol=0, atol=1e-6, err_msg=str(key))
            n_checked += 1
        # every free parameter lavaan reports (minus the fixed latent means of 0) is matched
        n_free = sum(1 for s in pe["se"] if s > 0)
        assert (ours["free"]).sum() == n_free
        assert n_checked == len(ours)


@pytest.mark.parametrize("case", list(CASES))
def test_difference_tests_equal_lavTestLRT(fits, case):
    res = fits[case]
    ref = FIX[case]["lrt"]
    comp = res.comparisons
    assert comp["model"].tolist() == ["metric", "scalar"]
    assert_allclose(comp["df_diff"], ref["df_diff"][1:], atol=0)
    # Satorra-Bentler 2001 scaled difference for MLR
    tol = 1e-5 if case == "mlr" else 1e-6
    assert_allclose(comp["chisq_diff"], ref["chisq_diff"][1:], rtol=0, atol=tol)
    assert_allclose(comp["p"], ref["p"][1:], rtol=0, atol=tol)


def test_level_and_summary_name_the_rule_and_what_it_allows(fits):
    res = fits["ml"]
    comp = res.comparisons.set_index("model")
    fit = res.fit.set_index("model")
    assert_allclose(comp.loc["scalar", "delta_cfi"], fit.loc["scalar", "cfi"] - fit.loc["metric", "cfi"])
    # Wales was generated with a shifted x3 intercept: metric holds, scalar fails on both rules
    assert comp.loc["metric", "holds_chisq"] and comp.loc["metric", "holds_cfi"]
    assert not comp.loc["scalar", "holds_chisq"] and not comp.loc["scalar", "holds_cfi"]
    assert res.level == "metric"
    text = res.summary()
    assert "Cheung & Rensvold" in text and "CFI" in text
    assert "Only metric invariance holds" in text and "means" in text
    assert "lavaan::cfa" in res.provenance["matches"]
    assert res.provenance["groups"] == ["England", "Wales"]


def test_groups_in_order_of_first_appearance():
    d = pd.read_csv(DATA / "invariance.csv")
    flipped = pd.concat([d[d["country"] == "Wales"], d[d["country"] == "England"]])
    res = rs.invariance(flipped, group="country", model=MODEL)
    assert res.groups == ("Wales", "England")
    scalar = res.parameters.query("model == 'scalar' and op == '~1' and lhs == 'F1'")
    assert scalar["group"].tolist() == ["England"]  # latent mean free only outside the reference group
    assert_allclose(res.fit.set_index("model").loc["configural", "chisq"], FIX["ml"]["configural"]["fit"]["chisq"],
                    atol=1e-6)


def test_model_syntaxes_agree_and_list_gives_one_factor():
    d = pd.read_csv(DATA / "invariance.csv")
    a = rs.invariance(d, group="country", model={"F1": ["x1", "x2", "x3", "x4"], "F2": ["x5", "x6", "x7"]})
    b = rs.invariance(d, group="country", model="F1 =~ x1 + x2 + x3 + x4; F2 =~ x5 + x6 + x7  # two factors")
    pd.testing.assert_frame_equal(a.fit, b.fit)
    one = rs.invariance(d, ["x1", "x2", "x3", "x4"], group="country")
    assert one.measurement.factors == ("F",) and int(one.fit["df"].iloc[0]) == 4


def test_instrument_subscales_become_factors():
    su = rs.load_example("six_sites").service_users
    wai = rs.load_instrument("wai-sr")
    res = rs.invariance(su, wai, group="country")
    assert res.measurement.factors == ("task", "goal", "bond")
    assert res.measurement.indicators[2] == wai.scales["bond"].items
    assert res.provenance["rows_dropped"] > 0  # listwise, as lavaan's default; the count is reported
    assert res.provenance["n"] + res.provenance["rows_dropped"] == len(su)
    # non-answer codes of the instrument count as missing, not as answers
    codes = [c for c in wai.non_answer if isinstance(c, int | float)]
    has_code = su[wai.item_ids].isin(codes).any(axis=1) | su[wai.item_ids].isna().any(axis=1)
    assert res.provenance["rows_dropped"] == int(has_code.sum())
    assert res.provenance["improper_solution"] == {}


def test_heywood_case_is_reported():
    # r_ab r_ac / r_bc = 1.6: a one-factor model needs a loading above 1, i.e. a negative residual variance of a
    R = np.array([[1, .8, .8, .45], [.8, 1, .4, .45], [.8, .4, 1, .45], [.45, .45, .45, 1]])
    rng = np.random.default_rng(5)
    x = rng.multivariate_normal(np.zeros(4), R, size=600)
    d = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(g=np.repeat(["x", "y"], 300))
    with pytest.warns(rs.errors.UndefinedStatisticWarning, match="Heywood.*residual of a"):
        res = rs.invariance(d, ["b", "a", "c", "d"], group="g")
    assert res.provenance["improper_solution"]


def test_parse_errors():
    with pytest.raises(StatisticsError, match="=~"):
        parse_model("F1 ~ x1 + x2")
    with pytest.raises(StatisticsError, match="at least 2"):
        parse_model({"F": ["x1"]})
    with pytest.raises(StatisticsError, match="twice"):
        parse_model("F =~ a + b\nF =~ c + d")
    with pytest.raises(StatisticsError, match="labels"):
        parse_model("F =~ 0.5*a + b + c")


def test_input_errors():
    d = pd.read_csv(DATA / "invariance.csv")
    with pytest.raises(StatisticsError, match="MLR"):
        rs.invariance(d, group="country", model=MODEL, estimator="MLR", missing="fiml")
    with pytest.raises(InsufficientDataError, match="two groups"):
        rs.invariance(d.assign(country="England"), group="country", model=MODEL)
    flat = d.copy()
    flat.loc[flat["country"] == "Wales", "x2"] = 3
    with pytest.raises(StatisticsError, match="x2"):
        rs.invariance(flat, group="country", model=MODEL)
    with pytest.raises(StatisticsError, match="load_instrument"):
        rs.invariance(d, "wai-sr", group="country")


def test_fiml_uses_incomplete_rows_and_drops_only_empty_ones(fits):
    dm = pd.read_csv(DATA / "invariance_missing.csv")
    items = [f"x{i}" for i in range(1, 8)]
    assert fits["fiml"].provenance["n"] == FIX["fiml"]["configural"]["fit"]["ntotal"] == len(dm)
    assert fits["listwise"].provenance["n"] == int(dm[items].notna().all(axis=1).sum())
    dm.loc[dm.index[:2], items] = np.nan
    res = rs.invariance(dm, group="country", model=MODEL, missing="ml")
    assert res.provenance["rows_dropped"] == 2


def test_views_render(fits):
    res = fits["mlr"]
    assert isinstance(res.plot(), matplotlib.figure.Figure)
    assert "<table" in res._repr_html_()
    frame = res.to_frame()
    assert frame["model"].tolist() == LEVELS and "delta_cfi" in frame
    assert "Satorra-Bentler" in res.summary()
    assert set(res.loadings.columns) == {"model", "group", "factor", "item", "est", "se", "std", "std_se"}
