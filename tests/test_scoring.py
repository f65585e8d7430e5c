"""Scoring: reverse keys, non-answer codes, the minimum-answered boundary, prorating, errors.

Every expected value here is computed by hand in the comment beside it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import recoverystudy as rs
from recoverystudy.errors import (
    DerivedKeyWarning,
    DuplicateRespondentError,
    EmptyDataError,
    InvalidResponseError,
    InvalidResponseWarning,
    MissingItemsError,
    RecoveryStudyWarning,
    UnverifiedKeyError,
    UnverifiedKeyWarning,
)

WAI = rs.load_instrument("wai-sr")
QPR = rs.load_instrument("qpr-15")
RSA = rs.load_instrument("rsa-person")


def quiet_score(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DerivedKeyWarning)
        warnings.simplefilter("ignore", UnverifiedKeyWarning)
        return rs.score(*args, **kwargs)


def wai_frame(rows):
    return pd.DataFrame(rows, columns=WAI.item_ids)


def test_complete_sums_and_subscales():
    # respondent answers item i with ((i - 1) % 5) + 1: items 1..12 -> 1,2,3,4,5,1,2,3,4,5,1,2
    row = [((i - 1) % 5) + 1 for i in range(1, 13)]
    res = quiet_score(wai_frame([row]), "wai-sr")
    f = res.to_frame().iloc[0]
    assert f["wai_sr_total"] == sum(row) == 33
    assert f["wai_sr_task"] == row[0] + row[1] + row[9] + row[11] == 1 + 2 + 5 + 2
    assert f["wai_sr_goal"] == row[3] + row[5] + row[7] + row[10] == 4 + 1 + 3 + 1
    assert f["wai_sr_bond"] == row[2] + row[4] + row[6] + row[8] == 3 + 5 + 2 + 4
    assert not f["wai_sr_total_prorated"]
    assert f["wai_sr_total_n_answered"] == 12


@pytest.mark.parametrize("code", [99, -9, "N/A", " n/a "])
def test_every_non_answer_code_is_not_answered(code):
    row = [4] * 11 + [code]
    res = quiet_score(wai_frame([row]), "wai-sr")
    f = res.frame.iloc[0]
    # 11 answered, all 4: prorated sum = 4 * 12 = 48; task (items 1,2,10,12) = mean 4 * 4 = 16
    assert f["wai_sr_total"] == 48.0
    assert f["wai_sr_total_n_answered"] == 11
    assert f["wai_sr_total_n_nonanswer"] == 1
    assert bool(f["wai_sr_total_prorated"]) and bool(f["wai_sr_task_prorated"])
    assert f["wai_sr_task"] == 16.0


@pytest.mark.parametrize("code", ["N/A", "NA", "D/K", "DK", 8, 9, 99, -9])
def test_rsa_non_answer_codes(code):
    row = [5] * 35 + [code]
    df = pd.DataFrame([row], columns=RSA.item_ids)
    f = quiet_score(df, "rsa-person").frame.iloc[0]
    assert f["rsa_person_total"] == 5.0  # mean of the 35 answered fives
    assert f["rsa_person_total_n_nonanswer"] == 1


def test_min_answered_boundary_exactly_at_threshold():
    # task needs 3 of 4 by default: 3 answered scores, 2 answered does not
    at = [2, 4, 3, 3, 3, 3, 3, 3, 3, np.nan, 3, 3]  # task items 1,2,10,12 -> 2,4,NaN,3 -> 3 answered
    below = [2, np.nan, 3, 3, 3, 3, 3, 3, 3, np.nan, 3, 3]  # task answered: 2, 3 -> 2 answered
    res = quiet_score(wai_frame([at, below]), "wai-sr")
    task = res.frame["wai_sr_task"].tolist()
    assert task[0] == pytest.approx((2 + 4 + 3) / 3 * 4)  # prorated sum = 12
    assert np.isnan(task[1])
    rep = res.missing_report().loc["task"]
    assert (rep.scored_complete, rep.scored_prorated, rep.not_scored) == (0, 1, 1)


@pytest.mark.parametrize("rule, scored", [(2, [True, True]), (4, [False, False]), (0.5, [True, True]),
                                          (1.0, [False, False]), ({"task": 3}, [True, False])])
def test_min_answered_override(rule, scored):
    at = [2, 4, 3, 3, 3, 3, 3, 3, 3, np.nan, 3, 3]
    below = [2, np.nan, 3, 3, 3, 3, 3, 3, 3, np.nan, 3, 3]
    res = quiet_score(wai_frame([at, below]), "wai-sr", min_answered=rule)
    assert res.frame["wai_sr_task"].notna().tolist() == scored
    if not isinstance(rule, dict):
        assert res.provenance["scales"]["task"]["min_answered_source"] == "set by the user"


def test_prorated_sum_is_mean_times_items():
    row = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, np.nan, np.nan, np.nan, 4, 4]
    df = pd.DataFrame([row], columns=QPR.item_ids)
    f = quiet_score(df, "qpr-15").frame.iloc[0]
    answered = [v for v in row if not np.isnan(v)]
    assert f["qpr_15_total"] == pytest.approx(np.mean(answered) * 15)  # 28/12*15 = 35
    assert f["qpr_15_total"] == pytest.approx(35.0)


def test_reverse_keying_is_min_plus_max_minus_x():
    key = {"key_for": "wai-sr", "source": "test key", "reverse_keyed": ["wai_01"],
           "scales": {"total": {"items": "all", "method": "sum"}}}
    row = [1] + [3] * 11
    f = rs.score(wai_frame([row]), "wai-sr", key=key).frame.iloc[0]
    assert f["wai_sr_total"] == (1 + 5 - 1) + 3 * 11  # 5 + 33 = 38


def test_es_refused_without_key_and_scores_with_user_key(tmp_path):
    es = rs.load_instrument("es")
    df = pd.DataFrame([[1] * 28, [4] * 28], columns=es.item_ids)
    with pytest.raises(UnverifiedKeyError, match="key="):
        rs.score(df, "es")
    with pytest.raises(UnverifiedKeyError, match="'total'"):
        rs.score(df, "es", scales=["total"])
    keyfile = tmp_path / "es-key.yaml"
    keyfile.write_text(
        "key_for: es\nsource: Licensed manual, scoring appendix (test copy)\n"
        "reverse_keyed: [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 18, 19, 20, 24, 25, 26, 27]\n"
        "scales:\n  total: {items: all, method: mean, min_answered: 14}\n", encoding="utf-8")
    with pytest.warns(RecoveryStudyWarning) as rec:  # subscales still keyless; ES coding 1-4 is derived
        res = rs.score(df, "es", key=keyfile)
    assert {w.category for w in rec} == {UnverifiedKeyWarning, DerivedKeyWarning}
    # all 1 (strongly agree): 19 positive items -> 4, 9 negative items stay 1 -> (19*4 + 9*1)/28
    assert res.scores["es_total"].iloc[0] == pytest.approx((19 * 4 + 9) / 28)
    assert res.scores["es_total"].iloc[1] == pytest.approx((19 * 1 + 9 * 4) / 28)
    keys = res.provenance["scales"]["total"]["keys"]
    assert keys["items"]["status"] == keys["reverse_keys"]["status"] == "user-supplied"
    assert keys["response_range"]["status"] == "derived-from-wording"  # the 1-4 coding itself is derived
    assert res.provenance["scales"]["total"]["status"] == "derived-from-wording"
    assert res.provenance["key_file"] == str(keyfile)
    assert "supplied by the user" in res.summary()
    # a key that also states the response coding makes every key user-supplied
    keyfile.write_text(keyfile.read_text(encoding="utf-8") + "response: {min: 1, max: 4}\n", encoding="utf-8")
    with pytest.warns(UnverifiedKeyWarning):
        res2 = rs.score(df, "es", key=keyfile)
    assert res2.provenance["scales"]["total"]["status"] == "user-supplied"


def test_star_refused_everything():
    star = rs.load_instrument("star-p")
    df = pd.DataFrame([[2] * 12], columns=star.item_ids)
    with pytest.raises(UnverifiedKeyError, match="None of the STAR-P scales"):
        rs.score(df, "star-p")


def test_rsa_scores_total_warns_about_refused_and_derived():
    df = pd.DataFrame([[4] * 36], columns=RSA.item_ids)
    with pytest.warns(RecoveryStudyWarning) as rec:
        res = rs.score(df, "rsa-person")
    categories = {w.category for w in rec}
    assert categories == {UnverifiedKeyWarning, DerivedKeyWarning}
    assert "life_goals" in str(next(w.message for w in rec if w.category is UnverifiedKeyWarning))
    assert res.scored == ("total",)
    assert set(res.refused) == {"life_goals", "involvement", "diversity_of_treatment_options", "choice",
                                "individually_tailored_services"}
    assert res.provenance["scales"]["total"]["status"] == "derived-from-wording"
    assert "derived from item wording" in res.summary()


def test_invalid_values_listed_with_respondent_and_item():
    rows = [[4] * 12, [4] * 12, [4] * 12]
    rows[0][2] = 7
    rows[1][5] = "often"
    rows[2][0] = 2.5
    df = wai_frame(rows)
    df.insert(0, "rid", ["R01", "R02", "R03"])
    with pytest.raises(InvalidResponseError) as info:
        quiet_score(df, "wai-sr", id_col="rid")
    msg = str(info.value)
    for needle in ["R01", "wai_03", "7", "R02", "wai_06", "'often'", "R03", "wai_01", "2.5"]:
        assert needle in msg
    assert len(info.value.problems) == 3
    with pytest.warns(InvalidResponseWarning, match="3 invalid"):
        res = quiet_score(df, "wai-sr", id_col="rid", on_invalid="missing")
    assert res.frame["wai_sr_total_n_answered"].tolist() == [11, 11, 11]
    assert res.provenance["invalid_values"] == 3


def test_errors_for_duplicates_missing_columns_and_empty():
    df = wai_frame([[3] * 12, [3] * 12])
    df["rid"] = ["A", "A"]
    with pytest.raises(DuplicateRespondentError, match="'A'"):
        quiet_score(df, "wai-sr", id_col="rid")
    with pytest.raises(MissingItemsError, match="wai_12"):
        quiet_score(df.drop(columns=["wai_12"]), "wai-sr")
    with pytest.raises(EmptyDataError):
        quiet_score(df.iloc[:0], "wai-sr")
    with pytest.raises(ValueError, match="on_invalid"):
        quiet_score(df, "wai-sr", on_invalid="ignore")


def test_items_mapping_and_input_unchanged():
    df = pd.DataFrame([[3] * 12], columns=[f"Q{i}" for i in range(1, 13)])
    before = df.copy()
    res = quiet_score(df, "wai-sr", items=[f"Q{i}" for i in range(1, 13)])
    assert res.scores["wai_sr_total"].iloc[0] == 36
    pd.testing.assert_frame_equal(df, before)
    res2 = quiet_score(df, "wai-sr", items={i: f"Q{n}" for n, i in enumerate(WAI.item_ids, 1)})
    assert res2.scores["wai_sr_total"].iloc[0] == 36


def test_shuffling_rows_changes_nothing_and_index_is_kept():
    rng = np.random.default_rng(1)
    df = wai_frame(rng.integers(1, 6, size=(50, 12)))
    df.index = [f"r{i}" for i in range(50)]
    a = quiet_score(df, "wai-sr").scores
    b = quiet_score(df.sample(frac=1, random_state=3), "wai-sr").scores
    assert list(a.index) == list(df.index)
    assert_allclose(a.loc[df.index].to_numpy(), b.loc[df.index].to_numpy())


def test_vectorised_matches_row_by_row_reference():
    rng = np.random.default_rng(7)
    x = rng.integers(1, 6, size=(200, 12)).astype(object)
    x[rng.random(x.shape) < 0.15] = "N/A"
    df = wai_frame(x)
    res = quiet_score(df, "wai-sr").frame
    for i in range(200):
        vals = [v for v in x[i] if v != "N/A"]
        expected = np.mean(vals) * 12 if len(vals) >= 9 else np.nan
        assert_allclose(res["wai_sr_total"].iloc[i], expected, rtol=0, atol=1e-12)


def test_result_views():
    res = quiet_score(wai_frame([[3] * 12]), "wai-sr")
    html = res._repr_html_()
    assert "<table" in html and "wai_sr_total" in html
    assert res.provenance["instrument_version"] == WAI.version
    assert res.provenance["package"] == "recoverystudy"
    assert res.missing_report().loc["total", "rule"].startswith("at least 9 of 12")
