"""Tests for the synthetic six-site study (recoverystudy.synthetic)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

import recoverystudy as rs
from recoverystudy.synthetic.care_plans import nhs_number_check_digit
from recoverystudy.synthetic.surveys import ES_REVERSED, STAR_P_REVERSED, item_ids


@pytest.fixture(scope="module")
def study():
    return rs.synthetic.six_site_study(seed=0)


def _score(frame, instrument, key=None, id_col="respondent_id"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        return rs.score(frame, instrument, id_col=id_col, key=key)


# --- shape, determinism, arguments -----------------------------------------------------------------
def test_counts_at_scale_one(study):
    assert len(study.service_users) == 450
    assert len(study.coordinators) == 200
    assert len(study.interviews) == 120
    assert len(study.care_plans) == 33
    assert study.sites["country"].value_counts().to_dict() == {"England": 4, "Wales": 2}
    assert study.service_users.groupby("country").size().to_dict() == {"England": 304, "Wales": 146}
    assert study.interviews["role"].value_counts().to_dict() == {
        "service user": 48, "carer": 30, "care coordinator": 30, "manager": 12}


def test_scale_multiplies_counts():
    big = rs.synthetic.six_site_study(seed=3, scale=2.0)
    assert len(big.service_users) == 900
    assert len(big.coordinators) == 400
    assert len(big.care_plans) == 66
    assert big.service_users["respondent_id"].is_unique


def test_deterministic_for_a_seed(study):
    again = rs.synthetic.six_site_study(seed=0)
    pd.testing.assert_frame_equal(study.service_users, again.service_users)
    pd.testing.assert_frame_equal(study.coordinators, again.coordinators)
    pd.testing.assert_frame_equal(study.interviews, again.interviews)
    pd.testing.assert_frame_equal(study.care_plans, again.care_plans)
    other = rs.synthetic.six_site_study(seed=1)
    assert not study.service_users["wai_01"].equals(other.service_users["wai_01"])
    assert study.interviews["text"].iloc[0] != other.interviews["text"].iloc[0]


@pytest.mark.parametrize("kwargs", [{"scale": 0}, {"scale": -1.0}, {"scale": float("nan")}, {"scale": "big"},
                                    {"seed": 1.5}, {"seed": "0"}, {"scale": True}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="seed|scale"):
        rs.synthetic.six_site_study(**kwargs)


def test_repr_and_summary_say_synthetic(study):
    assert "SYNTHETIC" in repr(study)
    assert "All data are invented" in study.summary()


# --- item values, codes and missingness ------------------------------------------------------------
def test_item_ranges_and_codes(study):
    su = study.service_users
    rsa = su[item_ids("rsa-person")].stack().dropna()
    assert {"N/A", "D/K", 9, 99} <= set(rsa.unique())
    numeric = pd.to_numeric(rsa, errors="coerce")
    assert set(numeric[numeric < 9].unique()) == {1, 2, 3, 4, 5}
    for inst, lo, hi, codes in [("es", 1, 4, {99}), ("star-p", 0, 4, {99, -9}), ("wai-sr", 1, 5, {99})]:
        vals = su[item_ids(inst)].stack().dropna().astype(int)
        assert set(vals.unique()) == set(range(lo, hi + 1)) | codes, inst
    cc = study.coordinators[item_ids("rsa-provider")].stack().dropna()
    assert {"N/A", "D/K"} <= set(cc.unique())


def test_missingness_gives_prorated_and_unscored_respondents(study):
    report = _score(study.service_users, "wai-sr").missing_report()
    total = report.loc["total"]
    assert total["scored_prorated"] > 20
    assert total["not_scored"] > 5
    assert total["scored_complete"] + total["scored_prorated"] + total["not_scored"] == 450


# --- the synthetic keys ------------------------------------------------------------------------------
@pytest.mark.parametrize("instrument,reversed_items", [("es", ES_REVERSED), ("star-p", STAR_P_REVERSED)])
def test_synthetic_keys_are_labelled_and_match_the_generator(study, instrument, reversed_items):
    path = study.key_path(instrument)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw["synthetic"] is True
    assert raw["key_for"] == instrument
    assert "NOT the published key" in raw["source"]
    assert tuple(raw["reverse_keyed"]) == reversed_items
    inst = rs.load_instrument(instrument, key=path)
    assert inst.scales["total"].provenance.status == "synthetic"
    assert "not the published key" in inst.scales["total"].provenance.source


def test_key_path_for_unknown_instrument(study):
    with pytest.raises(KeyError, match="No synthetic key for 'wai-sr'"):
        study.key_path("wai-sr")


def test_synthetic_keys_recover_positive_item_correlations(study):
    """Keyed with the synthetic key, every ES item correlates positively with the rest (a wrong key would not)."""
    su = study.service_users
    es = su[item_ids("es")].astype("float64")
    es = es.where(es <= 4)
    rev = [f"es_{i:02d}" for i in ES_REVERSED]
    es[rev] = 5 - es[rev]
    rest = es.sum(axis=1)
    r = [np.corrcoef(es[c].fillna(es[c].mean()), rest - es[c].fillna(0))[0, 1] for c in es.columns]
    assert min(r) > 0.3


# --- the planted pattern ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def welch_p(study):
    su = study.service_users
    scores = pd.concat([su[["site"]],
                        _score(su, "rsa-person").scores, _score(su, "es", study.key_path("es")).scores,
                        _score(su, "star-p", study.key_path("star-p")).scores, _score(su, "wai-sr").scores], axis=1)
    out = {}
    for col in ("rsa_person_total", "es_total", "star_p_total", "wai_sr_total"):
        out[col] = float(rs.compare_sites(scores, col, "site", posthoc=False).omnibus["p"].iloc[0])
    cc = pd.concat([study.coordinators[["site"]], _score(study.coordinators, "rsa-provider",
                                                         id_col="coordinator_id").scores], axis=1)
    out["rsa_provider_total"] = float(rs.compare_sites(cc, "rsa_provider_total", "site", posthoc=False)
                                      .omnibus["p"].iloc[0])
    return out


@pytest.mark.parametrize("score", ["star_p_total", "wai_sr_total"])
def test_relationship_differs_between_sites_at_seed_0(welch_p, score):
    assert welch_p[score] < 0.001


@pytest.mark.parametrize("score", ["rsa_person_total", "es_total", "rsa_provider_total"])
def test_recovery_and_empowerment_do_not_differ_at_seed_0(welch_p, score):
    assert welch_p[score] > 0.2


def test_planted_effects_order_site_means(study):
    wai = _score(study.service_users, "wai-sr").scores["wai_sr_total"]
    means = wai.groupby(study.service_users["site"]).mean()
    effects = study.sites.set_index("site")["relationship_effect"]
    assert means.idxmax() == effects.idxmax() == "Ashcombe"
    assert means.idxmin() in ("Calderbrook", "Afonwen")
    assert np.corrcoef(means[effects.index], effects)[0, 1] > 0.8


# --- interviews -----------------------------------------------------------------------------------------
def test_speaker_turns(study):
    for r in study.interviews.itertuples():
        for line in filter(None, r.text.split("\n")):
            assert line.startswith(("Interviewer: ", f"{r.speaker}: ")), (r.name, line)
        assert re.fullmatch(r"SU\d\d|Carer|CC|Manager", r.speaker)
        assert "{" not in r.text and "}" not in r.text, r.name


def test_triads_and_survey_links(study):
    iv = study.interviews
    triads = iv.dropna(subset=["triad_id"]).groupby("triad_id")["role"].apply(sorted)
    assert len(triads) == 30
    assert all(roles == ["care coordinator", "carer", "service user"] for roles in triads)
    assert iv.dropna(subset=["triad_id"]).groupby("triad_id")["site"].nunique().max() == 1
    su_links = iv[(iv["role"] == "service user") & iv["survey_id"].notna()]
    assert 30 <= len(su_links) <= 46
    merged = su_links.merge(study.service_users, left_on="survey_id", right_on="respondent_id", suffixes=("", "_s"))
    assert len(merged) == len(su_links) and (merged["site"] == merged["site_s"]).all()
    cc_links = iv[(iv["role"] == "care coordinator") & iv["survey_id"].notna()]
    assert set(cc_links["survey_id"]) <= set(study.coordinators["coordinator_id"])
    assert iv.loc[iv["role"].isin(["carer", "manager"]), "survey_id"].isna().all()
    assert iv["name"].is_unique and iv["case"].is_unique


def test_planted_themes_are_in_the_text(study):
    iv = study.interviews
    keywords = {"recovery": "recover", "crisis": "crisis", "risk": "risk", "carer_involvement": r"carer|family|"
                r"\bmy (mum|dad|sister|partner|wife|friend)|confidential|involve"}
    for r in iv.itertuples():
        themes = r.themes.split(";")
        assert 5 <= len(themes) <= 8
        for theme, pattern in keywords.items():
            if theme in themes:
                assert re.search(pattern, r.text, flags=re.I), (r.name, theme)


def test_relationship_tone_follows_the_survey(study):
    """Service users with a high WAI-SR score talk more positively about the relationship."""
    iv = study.interviews
    su = iv[(iv["role"] == "service user") & iv["themes"].str.contains("relationship")].copy()
    su["tone"] = [dict(zip(t.split(";"), o.split(";")))["relationship"] for t, o in zip(su["themes"], su["tones"])]
    wai = _score(study.service_users, "wai-sr").to_frame().set_index("respondent_id")["wai_sr_total"]
    su["wai"] = su["survey_id"].map(wai)
    means = su.dropna(subset=["wai"]).groupby("tone")["wai"].mean()
    assert means["pos"] > means["neg"] + 3


# --- care plans -------------------------------------------------------------------------------------
def test_care_plans_link_to_service_users(study):
    cp = study.care_plans
    assert cp["plan_id"].is_unique
    linked = cp["respondent_id"].dropna()
    assert set(linked) <= set(study.service_users["respondent_id"])
    assert set(cp["quality"]) == {"co-produced", "partly-personalised", "carer-absent", "box-ticking",
                                  "risk-focused"}
    assert set(cp["format"]) == {"txt", "docx"}
    assert cp["triad_id"].notna().sum() == 30


def test_nhs_number_check_digit_matches_nhs_example():
    assert nhs_number_check_digit("943476591") == 9  # NHS Data Dictionary example 943 476 5919
    assert nhs_number_check_digit("401023213") == 7  # 401 023 2137, NHS England test number


def test_only_clearly_fake_identifiers_are_planted(study):
    cp = study.care_plans
    planted = [p for plist in cp["planted_identifiers"] for p in filter(None, plist.split("; "))]
    nhs = [p.split("=")[1] for p in planted if p.startswith("nhs_number=")]
    assert len(nhs) == 4
    for number in nhs:
        digits = number.replace(" ", "")
        assert digits.startswith("999") and nhs_number_check_digit(digits[:9]) == int(digits[9])
    drama = re.compile(r"^(07700 900\d{3}|0161 496 0\d{3}|020 7946 0\d{3}|029 2018 0\d{3})$")
    for text in cp["text"]:
        for phone in re.findall(r"\b0\d{2,4} \d{3,4} ?\d{3,4}\b", text):
            assert drama.match(phone), phone
        for email in re.findall(r"\S+@\S+", text):
            assert email.endswith("@example.org"), email


def test_redaction_catches_every_planted_identifier(study):
    cp = study.care_plans
    for text, name, plist in zip(cp["text"], cp["person_name"], cp["planted_identifiers"]):
        redacted = rs.redact(text, names=[name]).text
        for item in filter(None, plist.split("; ")):
            assert item.split("=", 1)[1] not in redacted


def test_care_plans_are_rated_by_the_audit(study):
    audit = rs.audit_care_plans(study.care_plans[["plan_id", "text", "team"]])
    ratings = audit.prerated.pivot(index="plan_id", columns="criterion", values="rating")
    quality = study.care_plans.set_index("plan_id")["quality"]
    good = ratings.loc[quality[quality == "co-produced"].index, "qs14_joint_agreement"]
    poor = ratings.loc[quality[quality == "box-ticking"].index, "qs14_crisis_plan_content"]
    assert (good == "met").all()
    assert (poor != "met").all()


# --- writing raw files --------------------------------------------------------------------------------
def test_write_raw_files_and_score_from_them(tmp_path):
    small = rs.synthetic.six_site_study(seed=2, scale=0.3)
    paths = small.write(tmp_path)
    txt = sorted(p.name for p in paths["interviews"].glob("*.txt"))
    assert len(txt) == len(small.interviews)
    plans = list(paths["care_plans"].glob("CP-*"))
    assert len(plans) == len(small.care_plans)
    assert "SYNTHETIC" in paths["readme"].read_text(encoding="utf-8")
    assert {p.name for p in paths["keys"].iterdir()} == {"es-synthetic.yaml", "star-p-synthetic.yaml"}
    meta = pd.read_csv(paths["care_plan_metadata"])
    assert "text" not in meta and "person_name" not in meta and "planted_identifiers" not in meta
    raw = rs.read_survey(paths["service_users"])
    assert (raw[item_ids("rsa-person")] == "N/A").any().any()
    from_file = _score(raw, "star-p", paths["keys"] / "star-p-synthetic.yaml").scores
    in_memory = _score(small.service_users, "star-p", small.key_path("star-p")).scores
    np.testing.assert_allclose(from_file.to_numpy(float), in_memory.to_numpy(float), rtol=0, atol=1e-12)


def test_docx_plans_are_readable(tmp_path):
    import docx

    small = rs.synthetic.six_site_study(seed=0, scale=0.3)
    paths = small.write(tmp_path)
    docx_rows = small.care_plans[small.care_plans["format"] == "docx"]
    assert len(docx_rows) > 0
    row = docx_rows.iloc[0]
    text = "\n".join(p.text for p in docx.Document(str(paths["care_plans"] / f"{row.plan_id}.docx")).paragraphs)
    assert row.text.splitlines()[0] in text
    assert "Team: " + row.team in text


def test_write_refuses_a_file_path(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(rs.errors.RecoveryStudyError, match="is a file"):
        rs.synthetic.six_site_study(scale=0.1).write(target)


def test_speaker_turns_are_parsed_by_the_workspace(study):
    from recoverystudy.qual.text import speaker_turns

    for r in study.interviews.head(30).itertuples():
        turns = speaker_turns(r.text)
        assert len(turns) == len([ln for ln in r.text.split("\n") if ln.strip()])
        assert {t[0] for t in turns} == {"Interviewer", r.speaker}


def test_registered_as_an_example():
    assert "six_sites" in set(rs.list_examples()["name"])
    study = rs.load_example("six_sites")
    assert isinstance(study, rs.synthetic.SixSiteStudy) and study.seed == 0


_THEME_TO_CODEBOOK = {"recovery": "recovery", "personalisation": "personalisation",
                      "care_planning": "care_planning_experience", "care_plan_document": "care_plan_document",
                      "risk": "risk", "carer_involvement": "carers", "relationship": "relationship",
                      "coordinator_role": "care_coordinator_role", "crisis": "crisis"}


def test_planted_themes_carry_the_shipped_codebooks_keywords(study):
    """Every planted theme can be found by at least one keyword rule of the matching codebook theme."""
    from recoverystudy._resources import bundled_files

    book = yaml.safe_load(bundled_files("codebooks")["care-planning-framework"].read_text(encoding="utf-8"))
    keywords = {t["id"]: [k.lower() for c in t["codes"] for k in (c.get("rules") or {}).get("keywords", [])]
                for t in book["themes"]}
    assert set(_THEME_TO_CODEBOOK.values()) <= set(keywords)
    for r in study.interviews.itertuples():
        for theme in r.themes.split(";"):
            words = keywords[_THEME_TO_CODEBOOK[theme]]
            assert any(re.search(r"(?<!\w)" + re.escape(k) + r"(?!\w)", r.text.lower()) for k in words), (r.name, theme)
