"""Reliability equals R psych::alpha and psych::omega(nfactors = 1) to 1e-6 (tests/reference/reliability.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import DerivedKeyWarning, InsufficientDataError, StatisticsError, UnverifiedKeyError

FIX = load_fixture("reliability.json")
CASES = ["complete_8", "missing_12", "reverse_6"]


def fixture_frame(name):
    case = FIX[name]
    df = pd.DataFrame({k: pd.array(v, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
                       for k, v in case["data"].items()})
    keys = [case["keys"]] if isinstance(case["keys"], str) else case["keys"]
    for item in keys:  # psych::alpha(keys=) reverses as max + min - x over the whole data
        df[item] = np.nanmax(df.to_numpy()) + np.nanmin(df.to_numpy()) - df[item]
    return df, case


@pytest.mark.parametrize("name", CASES)
def test_alpha_matches_psych(name):
    # R: psych::alpha(x, keys = ...)
    df, case = fixture_frame(name)
    rel = rs.reliability(df, n_boot=20, seed=1)
    assert_allclose(rel.alpha, case["raw_alpha"], rtol=0, atol=1e-6)
    assert_allclose(rel.alpha_std, case["std_alpha"], rtol=0, atol=1e-6)
    assert_allclose(rel.alpha_ci, (case["feldt_lower"], case["feldt_upper"]), rtol=0, atol=1e-6)
    assert_allclose(rel.items["r_drop"], case["r_drop"], rtol=0, atol=1e-6)
    assert_allclose(rel.items["alpha_if_deleted"], case["alpha_if_dropped"], rtol=0, atol=1e-6)
    assert_allclose(rel.items["mean"], case["item_mean"], rtol=0, atol=1e-6)
    assert_allclose(rel.items["sd"], case["item_sd"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_omega_total_matches_psych(name):
    # R: psych::omega(keyed, nfactors = 1)$omega.tot
    df, case = fixture_frame(name)
    rel = rs.reliability(df, n_boot=50, seed=2)
    assert_allclose(rel.omega, case["omega_total"], rtol=0, atol=1e-6)
    lo, hi = rel.omega_ci
    assert lo < rel.omega < hi


def test_hand_computed_alpha_two_items():
    # items x = (1,2,3,4), y = (2,2,4,4): var x = 5/3, var y = 4/3, cov = 4/3
    # alpha = 2 * (1 - (5/3 + 4/3) / (5/3 + 4/3 + 2 * 4/3)) = 2 * (1 - 3 / (17/3)) = 16/17
    df = pd.DataFrame({"x": [1, 2, 3, 4], "y": [2, 2, 4, 4]})
    with pytest.warns(rs.errors.UndefinedStatisticWarning, match="two items"):
        rel = rs.reliability(df, n_boot=10, seed=0)
    assert_allclose(rel.alpha, 16 / 17, rtol=0, atol=1e-12)
    # one factor on two items: loadings sqrt(r) each, so omega total = 2r / (1 + r) = standardised alpha
    r = (4 / 3) / np.sqrt(5 / 3 * 4 / 3)
    assert_allclose(rel.omega, 2 * r / (1 + r), rtol=0, atol=1e-9)
    assert_allclose(rel.alpha_std, 2 * r / (1 + r), rtol=0, atol=1e-12)


def test_listwise_uses_complete_rows_only():
    df, _ = fixture_frame("missing_12")
    complete = df.dropna()
    a = rs.reliability(df, missing="listwise", n_boot=10, seed=0)
    b = rs.reliability(complete, n_boot=10, seed=0)
    assert a.n == len(complete) < len(df)
    assert_allclose(a.alpha, b.alpha, rtol=0, atol=1e-12)


def test_instrument_keys_are_applied():
    # reverse-keying one WAI-SR item through a user key equals reversing the column by hand
    rng = np.random.default_rng(5)
    wai = rs.load_instrument("wai-sr")
    f = rng.normal(size=200)
    raw = pd.DataFrame({i: np.clip(np.rint(3 + f + rng.normal(size=200)), 1, 5) for i in wai.item_ids})
    raw["wai_03"] = 6 - raw["wai_03"]
    key = {"key_for": "wai-sr", "source": "test", "reverse_keyed": ["wai_03"],
           "scales": {"bond": {"items": ["wai_03", "wai_05", "wai_07", "wai_09"], "method": "sum"}}}
    rel = rs.reliability(raw, "wai-sr", "bond", key=key, n_boot=10, seed=0)
    by_hand = raw[["wai_03", "wai_05", "wai_07", "wai_09"]].copy()
    by_hand["wai_03"] = 6 - by_hand["wai_03"]
    ref = rs.reliability(by_hand, n_boot=10, seed=0)
    assert_allclose(rel.alpha, ref.alpha, rtol=0, atol=1e-12)
    assert rel.provenance["scale"] == "bond"
    with pytest.warns(DerivedKeyWarning):
        rs.reliability(raw, "wai-sr", "task", n_boot=10, seed=0)
    with pytest.raises(UnverifiedKeyError):
        rs.reliability(raw.rename(columns=lambda c: c.replace("wai", "star_p")), "star-p")


def test_bad_input():
    with pytest.raises(InsufficientDataError):
        rs.reliability(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(StatisticsError, match="'b'"):
        rs.reliability(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}))
    with pytest.raises(ValueError, match="missing"):
        rs.reliability(pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3]}), missing="mean")


def test_views_and_seed():
    df, _ = fixture_frame("complete_8")
    a = rs.reliability(df, n_boot=30, seed=9)
    b = rs.reliability(df, n_boot=30, seed=9)
    assert a.omega_ci == b.omega_ci
    assert "Cronbach's alpha = 0.80" in a.summary()
    assert "<table" in a._repr_html_()
    assert list(a.to_frame()["statistic"]) == ["alpha", "alpha_std", "omega_total"]
    assert a.provenance["seed"] == 9
