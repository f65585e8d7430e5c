"""rs.compare_sites against R (tests/reference/compare.R -> compare.json), plus bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import (
    EmptyDataError,
    ExclusionWarning,
    InsufficientDataError,
    MissingItemsError,
    StatisticsError,
    UndefinedStatisticWarning,
)

REF = json.loads((Path(__file__).parent / "reference" / "compare.json").read_text(encoding="utf-8"))
DATASETS = ["d1", "d2", "d3", "d4", "d5"]


def frame(name: str) -> pd.DataFrame:
    d = REF[name]
    return pd.DataFrame({"y": d["y"], "g": d["g"]})


def rel(a, b, tol=1e-6):
    assert_allclose(a, b, rtol=tol, atol=0)


@pytest.mark.parametrize("name", DATASETS)
def test_welch_omnibus_matches_oneway_test(name):
    # R: oneway.test(y ~ g, var.equal = FALSE)
    r = REF[name]["welch"]
    o = rs.compare_sites(frame(name), "y", "g", method="welch", posthoc=False).omnibus.iloc[0]
    assert o["test"] == "welch_anova"
    assert_allclose(
        [o["statistic"], o["df1"], o["df2"]], [r["statistic"], r["df1"], r["df2"]], rtol=0, atol=1e-6
    )
    rel(o["p"], r["p"])
    assert o["n"] == len(REF[name]["y"]) and o["k"] == len(REF[name]["levels"])


@pytest.mark.parametrize("name", DATASETS)
def test_anova_omnibus_matches_aov_and_oneway_equal(name):
    # R: summary(aov(y ~ g)); oneway.test(y ~ g, var.equal = TRUE)
    res = rs.compare_sites(frame(name), "y", "g", method="anova", posthoc=False)
    o = res.omnibus.iloc[0]
    for key in ("anova", "oneway_equal"):
        r = REF[name][key]
        assert_allclose(
            [o["statistic"], o["df1"], o["df2"]], [r["statistic"], r["df1"], r["df2"]], rtol=0, atol=1e-6
        )
        rel(o["p"], r["p"])
    # R: effectsize::eta_squared / omega_squared(aov) (one-sided default)
    for key in ("eta2", "omega2"):
        r = REF[name]["effect_sizes"]["greater"][key]
        e = res.effect_sizes.loc[key]
        assert_allclose(
            [e["value"], e["ci_low"], e["ci_high"]],
            [r["value"], r["ci_low"], r["ci_high"]],
            atol=1e-6,
            rtol=0,
        )


@pytest.mark.parametrize("name", DATASETS)
def test_kruskal_omnibus_matches_kruskal_test(name):
    # R: kruskal.test(y ~ g)
    r = REF[name]["kruskal"]
    res = rs.compare_sites(frame(name), "y", "g", method="kruskal", n_boot=200, seed=1)
    o = res.omnibus.iloc[0]
    assert o["test"] == "kruskal_wallis" and np.isnan(o["df2"])
    assert_allclose([o["statistic"], o["df1"]], [r["statistic"], r["df1"]], rtol=0, atol=1e-6)
    rel(o["p"], r["p"])
    assert list(res.effect_sizes.index) == ["eta2_h", "rank_epsilon2"]
    assert res.effect_sizes.loc["rank_epsilon2", "value"] == pytest.approx(
        REF[name]["rank_epsilon_squared"], abs=1e-9
    )
    # R: rstatix::dunn_test(p.adjust.method = "holm")
    assert_allclose(res.posthoc["p_adj"], REF[name]["dunn"]["p_adj"], rtol=1e-6)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("alt", "r_alt"), [("greater", "greater"), ("two-sided", "two.sided")])
def test_welch_effect_sizes_via_compare_sites(name, alt, r_alt):
    # R: effectsize::F_to_eta2 / F_to_omega2 (Welch F, df)
    res = rs.compare_sites(frame(name), "y", "g", posthoc=False, alternative=alt)
    for key in ("eta2", "omega2"):
        r = REF[name]["effect_sizes"][r_alt][f"welch_{key}"]
        e = res.effect_sizes.loc[key]
        assert_allclose(
            [e["value"], e["ci_low"], e["ci_high"]],
            [r["value"], r["ci_low"], r["ci_high"]],
            atol=1e-6,
            rtol=0,
        )
        assert e["alternative"] == alt
    # beside them, the classic sums-of-squares values: R effectsize::eta_squared/omega_squared(aov)
    for key in ("eta2", "omega2"):
        r = REF[name]["effect_sizes"][r_alt][key]
        e = res.effect_sizes.loc[f"{key}_anova"]
        assert_allclose(
            [e["value"], e["ci_low"], e["ci_high"]],
            [r["value"], r["ci_low"], r["ci_high"]],
            atol=1e-6,
            rtol=0,
        )
    assert list(res.effect_sizes.index) == ["eta2", "omega2", "eta2_anova", "omega2_anova"]


@pytest.mark.parametrize("name", DATASETS)
def test_descriptives_match_r(name):
    # R: mean, sd, median, quantile(type = 7), mean +- qt(.975, n - 1) sd / sqrt(n)
    d = rs.compare_sites(frame(name), "y", "g", posthoc=False).descriptives
    ref = pd.DataFrame(REF[name]["descriptives"])
    assert d["site"].tolist() == ref["site"].tolist()
    assert d["n"].tolist() == ref["n"].tolist()
    for col in ("mean", "sd", "median", "q1", "q3", "ci_low", "ci_high"):
        assert_allclose(d[col], ref[col], rtol=0, atol=1e-9, err_msg=col)


@pytest.mark.parametrize("name", DATASETS)
def test_assumptions_match_car_and_shapiro(name):
    # R: car::leveneTest(center = median) (Brown-Forsythe), center = mean (Levene); shapiro.test per site
    a = rs.compare_sites(frame(name), "y", "g", posthoc=False).assumptions
    for check, key in (("brown_forsythe", "brown_forsythe"), ("levene", "levene")):
        row = a[a["check"] == check].iloc[0]
        r = REF[name][key]
        assert_allclose(
            [row["statistic"], row["df1"], row["df2"]],
            [r["statistic"], r["df1"], r["df2"]],
            atol=1e-6,
            rtol=0,
        )
        rel(row["p"], r["p"])
    sw = a[a["check"] == "shapiro_wilk"].reset_index(drop=True)
    ref = pd.DataFrame(REF[name]["shapiro"])
    assert sw["site"].tolist() == ref["site"].tolist()
    assert_allclose(sw["statistic"].astype(float), ref["statistic"].astype(float), atol=1e-6, rtol=0)
    # atol only for n = 3 with W at its minimum 0.75: R gives p = 0, scipy 7.8e-16
    assert_allclose(sw["p"].astype(float), ref["p"].astype(float), rtol=1e-6, atol=1e-12)


def test_posthoc_choice_follows_method():
    df = frame("d2")
    gh = rs.compare_sites(df, "y", "g").posthoc
    tk = rs.compare_sites(df, "y", "g", method="anova").posthoc
    assert_allclose(gh["ci_low"], REF["d2"]["games_howell"]["ci_low"], atol=1e-6, rtol=0)
    assert_allclose(tk["ci_low"], REF["d2"]["tukey"]["ci_low"], atol=1e-6, rtol=0)
    off = rs.compare_sites(df, "y", "g", posthoc=False).posthoc
    assert off.empty and "p_adj" in off.columns


def test_multiple_outcomes_family_wise_correction_and_missing_values():
    m = REF["multi"]
    df = pd.DataFrame({k: m[k] for k in ("site", "o1", "o2", "o3")})
    before = df.copy()
    res = rs.compare_sites(df, ["o1", "o2", "o3"], "site")
    pd.testing.assert_frame_equal(df, before)  # input unchanged
    assert isinstance(res, rs.SiteComparisons) and list(res) == ["o1", "o2", "o3"] and len(res) == 3
    t = res.to_frame()
    # R: oneway.test per outcome (NA rows dropped); p.adjust(..., "holm")
    rel(t["p"], m["welch_p"])
    rel(t["p_adj"], m["welch_p_holm"])
    bh = rs.compare_sites(df, ["o1", "o2", "o3"], "site", adjust="bh").to_frame()
    rel(bh["p_adj"], m["welch_p_bh"])
    kw = rs.compare_sites(df, ["o1", "o2", "o3"], "site", method="kruskal", n_boot=50, seed=1).to_frame()
    rel(kw["p_adj"], m["kruskal_p_holm"])
    # missing values are excluded and counted per outcome
    ex = res["o1"].exclusions
    assert ex.set_index("reason")["n_rows"].to_dict() == {"missing value": 3, "missing site": 2}
    assert res["o1"].omnibus["n"].iloc[0] == len(df) - 5
    assert res["o3"].exclusions["n_rows"].sum() == 2
    assert "Holm" in res.summary() and "o2:" in res.summary()
    with pytest.raises(KeyError, match="o4"):
        res["o4"]


def test_same_seed_same_result_regardless_of_other_outcomes():
    m = REF["multi"]
    df = pd.DataFrame({k: m[k] for k in ("site", "o1", "o2", "o3")})
    alone = rs.compare_sites(df, "o2", "site", method="kruskal", n_boot=100, seed=3)
    inlist = rs.compare_sites(df, ["o1", "o2"], "site", method="kruskal", n_boot=100, seed=3)["o2"]
    pd.testing.assert_frame_equal(alone.effect_sizes, inlist.effect_sizes)
    seedless = rs.compare_sites(df, "o2", "site", method="kruskal", n_boot=50)
    again = rs.compare_sites(df, "o2", "site", method="kruskal", n_boot=50, seed=seedless.provenance["seed"])
    pd.testing.assert_frame_equal(seedless.effect_sizes, again.effect_sizes)


def test_shuffling_rows_changes_nothing():
    df = frame("d2")
    a = rs.compare_sites(df, "y", "g")
    b = rs.compare_sites(df.sample(frac=1, random_state=1), "y", "g")
    pd.testing.assert_frame_equal(a.omnibus, b.omnibus, rtol=1e-12)
    pd.testing.assert_frame_equal(a.posthoc, b.posthoc, rtol=1e-10)
    pd.testing.assert_frame_equal(a.descriptives, b.descriptives, rtol=1e-12)


def test_integer_and_categorical_sites():
    df = frame("d1")
    codes = {"Cardiff": 3, "Leeds": 1, "Swansea": 2}
    df["num"] = df["g"].map(codes)
    res = rs.compare_sites(df, "y", "num")
    assert res.descriptives["site"].tolist() == [1, 2, 3]
    assert res.omnibus["statistic"].iloc[0] == pytest.approx(REF["d1"]["welch"]["statistic"], abs=1e-9)
    df["cat"] = pd.Categorical(df["g"], categories=["Swansea", "Leeds", "Cardiff", "Unused"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unused category is recorded, not warned about
        res = rs.compare_sites(df, "y", "cat")
    assert res.descriptives["site"].tolist() == ["Swansea", "Leeds", "Cardiff"]
    assert res.exclusions[["site", "reason", "n_rows"]].values.tolist() == [
        ["Unused", "site with no usable values", 0]
    ]
    # a site whose every outcome value is missing is warned about
    df2 = pd.concat(
        [frame("d1"), pd.DataFrame({"y": [np.nan, np.nan], "g": ["Newport", "Newport"]})], ignore_index=True
    )
    with pytest.warns(ExclusionWarning, match="'Newport' \\(n = 0\\)"):
        res = rs.compare_sites(df2, "y", "g")
    assert "site with no usable values" in res.exclusions["reason"].tolist()


# ---- bad input ----------------------------------------------------------------------------------
def test_unknown_method_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="'welch', 'anova', 'kruskal'; got 'Welch'"):
        rs.compare_sites(frame("d1"), "y", "g", method="Welch")
    with pytest.raises(ValueError, match="adjust"):
        rs.compare_sites(frame("d1"), "y", "g", adjust="fdr")
    with pytest.raises(ValueError, match="ci"):
        rs.compare_sites(frame("d1"), "y", "g", ci=1.5)
    with pytest.raises(ValueError, match="n_boot"):
        rs.compare_sites(frame("d1"), "y", "g", n_boot=-1)


def test_fewer_than_two_sites():
    df = pd.DataFrame({"y": [1.0, 2, 3], "g": ["a", "a", "a"]})
    with pytest.raises(InsufficientDataError, match="at least two sites") as err:
        rs.compare_sites(df, "y", "g")
    assert err.value.column == "y"


def test_site_with_one_observation_is_excluded_and_listed():
    df = frame("d1")
    extra = pd.DataFrame({"y": [9.9], "g": ["Wrexham"]}, index=[999])
    with pytest.warns(ExclusionWarning, match="'Wrexham' \\(n = 1\\)"):
        res = rs.compare_sites(pd.concat([df, extra]), "y", "g")
    ex = res.exclusions
    assert ex["site"].tolist() == ["Wrexham"] and ex["n_rows"].tolist() == [1] and ex["rows"].iloc[0] == [999]
    # the rest is the analysis without that site
    assert res.omnibus["statistic"].iloc[0] == pytest.approx(REF["d1"]["welch"]["statistic"], abs=1e-9)
    assert "Wrexham" in res.summary()


def test_single_observation_sites_leaving_one_site_is_an_error():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4], "g": ["a", "a", "b", "c"]})
    with pytest.raises(InsufficientDataError, match="found 1"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        rs.compare_sites(df, "y", "g")


def test_all_missing_outcome():
    df = pd.DataFrame({"y": [np.nan] * 4, "g": ["a", "a", "b", "b"]})
    with pytest.raises(EmptyDataError, match="'y' has no values"):
        rs.compare_sites(df, "y", "g")


def test_non_numeric_values_name_column_and_rows():
    df = pd.DataFrame(
        {"y": ["3", "4", "n/a", "5", "x"], "g": ["a", "a", "b", "b", "b"]}, index=[10, 11, 12, 13, 14]
    )
    with pytest.raises(StatisticsError, match="'y'.*row 12: 'n/a'.*row 14: 'x'") as err:
        rs.compare_sites(df, "y", "g")
    assert err.value.rows == [12, 14] and err.value.column == "y"


def test_infinite_and_boolean_values_are_refused():
    df = pd.DataFrame({"y": [1.0, np.inf, 2, 3], "g": ["a", "a", "b", "b"]})
    with pytest.raises(StatisticsError, match="infinite"):
        rs.compare_sites(df, "y", "g")
    with pytest.raises(StatisticsError, match="true/false"):
        rs.compare_sites(pd.DataFrame({"y": [True, False, True, True], "g": list("aabb")}), "y", "g")


def test_missing_column_and_bad_value_argument():
    with pytest.raises(MissingItemsError, match="'nope'"):
        rs.compare_sites(frame("d1"), "nope", "g")
    with pytest.raises(ValueError, match="more than once"):
        rs.compare_sites(frame("d1"), ["y", "y"], "g")
    with pytest.raises(ValueError, match="at least one"):
        rs.compare_sites(frame("d1"), [], "g")
    with pytest.raises(TypeError, match="DataFrame"):
        rs.compare_sites({"y": [1]}, "y", "g")


def test_zero_spread_site_makes_welch_undefined_with_a_warning():
    df = pd.DataFrame({"y": [3.0, 3, 3, 1, 2, 3, 4], "g": ["a", "a", "a", "b", "b", "b", "b"]})
    with pytest.warns(UndefinedStatisticWarning, match="no spread.*a"):
        res = rs.compare_sites(df, "y", "g")
    assert np.isnan(res.omnibus["statistic"].iloc[0])
    assert res.effect_sizes.loc[["eta2", "omega2"], ["value", "ci_low", "ci_high"]].isna().all().all()
    assert np.isfinite(res.effect_sizes.loc["omega2_anova", "value"])  # the classic values still exist
    # Games-Howell is still defined when only one site has no spread
    assert np.isfinite(res.posthoc["p_adj"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = rs.compare_sites(df, "y", "g", method="kruskal", n_boot=50, seed=1)
    assert np.isfinite(k.omnibus["p"].iloc[0])


def test_all_values_equal_kruskal_warns():
    df = pd.DataFrame({"y": [2.0] * 6, "g": list("aabbcc")})
    with pytest.warns(UndefinedStatisticWarning, match="every value is the same"):
        res = rs.compare_sites(df, "y", "g", method="kruskal", n_boot=20, seed=1)
    assert np.isnan(res.omnibus["p"].iloc[0])
    assert res.effect_sizes[["value", "ci_low", "ci_high"]].isna().all().all()
    assert res.posthoc["p"].isna().all()


def test_shapiro_notes_for_small_sites():
    a = rs.compare_sites(frame("d3"), "y", "g", posthoc=False).assumptions
    sw = a[a["check"] == "shapiro_wilk"].set_index("site")
    assert sw.loc["b", "note"] == "" and np.isfinite(sw.loc["b", "p"])  # n = 3 is enough
    small = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 2], "g": ["a", "a", "b", "b", "b", "b"]})
    s2 = rs.compare_sites(small, "y", "g", posthoc=False).assumptions.set_index("site")
    assert "at least 3" in s2.loc["a", "note"] and np.isnan(s2.loc["a", "p"])


# ---- views --------------------------------------------------------------------------------------
def test_summary_apa_and_html():
    res = rs.compare_sites(frame("d2"), "y", "g")
    apa = res.apa()
    r = REF["d2"]["welch"]
    assert apa.startswith(f"Welch's ANOVA: F(5, {r['df2']:.1f}) = {r['statistic']:.2f}, p < .001, ω² = ")
    assert "one-sided 95% CI [" in apa
    s = res.summary()
    assert "Games-Howell" in s and "Brown–Forsythe" in s and "never switched" in s
    assert "classic sums-of-squares ω² is 0.09" in s  # R: effectsize::omega_squared(aov) = 0.0912
    html = res._repr_html_()
    assert "<table" in html and "SiteComparison" in html
    assert html.count("<table") == 4 and "Pairwise comparisons" in html and "Assumption checks" in html
    t = res.to_frame()
    assert t.columns.tolist() == [
        "outcome", "test", "statistic", "df1", "df2", "p", "n", "k", "effect_size", "effect_value", "ci_low", "ci_high",
    ]  # fmt: skip
    assert t["effect_size"].iloc[0] == "omega2"
    k = rs.compare_sites(frame("d2"), "y", "g", method="kruskal", n_boot=100, seed=1)
    assert k.apa().startswith(
        f"Kruskal–Wallis test: H(5) = {REF['d2']['kruskal']['statistic']:.2f}, p < .001, ε²_R = "
    )
    assert "ε²_R" in k.apa() and "Dunn" in k.summary()
    assert k.provenance["seed"] == 1 and k.provenance["n_boot"] == 100
    assert repr(k) == "SiteComparison(value='y', site='g', method='kruskal', n=187, k=6)"


def test_plot_returns_axes_and_figure():
    import matplotlib.pyplot as plt

    res = rs.compare_sites(frame("d1"), "y", "g")
    ax = res.plot().axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Cardiff", "Leeds", "Swansea"]
    assert ax.get_ylabel() == "y"
    plt.close(ax.figure)
    m = REF["multi"]
    df = pd.DataFrame({k: m[k] for k in ("site", "o1", "o2")})
    fig = rs.compare_sites(df, ["o1", "o2"], "site").plot()
    assert len(fig.axes) == 2
    plt.close(fig)


def test_undefined_welch_is_explained_not_printed_as_nan():
    import warnings

    import numpy as np
    import pandas as pd

    import recoverystudy as rs

    rng = np.random.default_rng(1)
    d = pd.DataFrame({"site": np.repeat(list("ABC"), 10), "y": rng.normal(size=30)})
    d.loc[d.site == "C", "y"] = 5.0
    with pytest.warns(rs.errors.UndefinedStatisticWarning, match="no spread"):
        res = rs.compare_sites(d, "y", "site")
    assert np.isnan(res.omnibus["statistic"].iloc[0])
    text = res.summary()
    assert "nan" not in text.split("\n")[0]
    assert "site(s) C have no spread" in text and "method='kruskal'" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.UndefinedStatisticWarning)
        flat = rs.compare_sites(d.assign(y=1.0), "y", "site", method="kruskal")
    assert "every value is the same" in flat.summary()
