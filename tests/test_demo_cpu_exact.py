"""The demo's Framework Method project and invariance fits take less CPU, and give exactly what they gave.

Frozen references (do not speed them up): tests/_suggest_slow_path.py (how ``suggest`` found its sentences:
one whole-word regex scan of each text per keyword, ``np.isin`` of every word's stem per code) and
tests/_cfa_slow_path.py (the CFA model's matrices, Jacobian and missing-data likelihood filled by Python
loops over parameters and patterns).  The fast paths must give the same rows and the same numbers bit for
bit on the demo's own data and on text made to be awkward.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _cfa_slow_path as slow_cfa
import _suggest_slow_path as slow_suggest
import recoverystudy as rs
import recoverystudy.stats.cfa as cfa
import recoverystudy.stats.invariance as inv_mod
from recoverystudy.qual.assist import KeywordFinder, _fold, keyword_pattern


@pytest.fixture(scope="module")
def study():
    return rs.synthetic.six_site_study(seed=0, scale=1.0)


# --------------------------------------------------------------------------------------------------
# suggest
# --------------------------------------------------------------------------------------------------
# letters that case-insensitive matching treats specially (dotted/dotless i, long s, Kelvin sign), curly
# apostrophes, white space of several kinds, a non-ASCII letter
_TEXT_CHARS = "aAbBiIİısSſkKKnNoO '’-_é\n\t\u00a01."
_KEYWORDS = ["no no", "a", "is", "sk", "kiss", "I'm", "i’m", "bo-ni", "ab ba", "café", "ſo", "N.", "o_o", "É"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=_TEXT_CHARS, max_size=60), kw=st.sampled_from(_KEYWORDS))
def test_keyword_finder_finds_what_finditer_finds(text, kw):
    expected = [m.start() for m in keyword_pattern([kw]).finditer(text)]
    assert KeywordFinder(kw).starts(text, _fold(text)) == expected


def test_keyword_finder_examples():
    text = "No no no. İS it sKiss? I’m ok; I'M. Café, cafÉ. nO  No"
    for kw, expected in [("no no", [0, 48]), ("is", [10]), ("café", [36, 42]), ("kiss", [])]:
        assert KeywordFinder(kw).starts(text, _fold(text)) == expected
        assert [m.start() for m in keyword_pattern([kw]).finditer(text)] == expected
    with pytest.raises(ValueError, match="more than white space"):
        KeywordFinder("  ")


def _project(tmp_path, study):
    iv = study.interviews
    proj = rs.Project.create(tmp_path / "p.rsqda", codebook="care-planning-framework")
    proj.import_cases(iv[["case", "role", "site", "country", "team", "triad_id", "survey_id"]], case_col="case")
    proj.add_documents(iv[["name", "text", "case"]].assign(kind="interview"))
    return proj


def test_suggestion_rows_are_those_of_the_frozen_loop(tmp_path, study):
    proj = _project(tmp_path, study)
    try:
        rows = proj._suggestion_rows(proj._rules(None), None, None, None)
        assert len(rows) == 2914            # the demo's suggestions (seed 0)
        assert rows == slow_suggest.suggestion_rows(proj)
        speakers = proj.turns()["speaker"].drop_duplicates().tolist()[:3]
        assert (proj._suggestion_rows(proj._rules(None), None, speakers, None)
                == slow_suggest.suggestion_rows(proj, speakers=speakers))
        assert (proj._suggestion_rows(proj._rules(None), None, None, []) ==
                slow_suggest.suggestion_rows(proj, exclude_speakers=[]))
        rules = {"crisis/crisis_services": {"keywords": ["Crisis  team", "crisis", "café", "A&E"],
                                            "lemmas": ["answering", "plans", "crisis"]},
                 "risk/risk_assessment": {"keywords": ["risk", "risk assessment"], "lemmas": ["risky"]}}
        docs = proj._q("SELECT name FROM documents ORDER BY document_id")[:40:3]
        docs = [d[0] for d in docs]
        assert (proj._suggestion_rows(proj._rules(rules), docs, None, None)
                == slow_suggest.suggestion_rows(proj, rules, documents=docs))
        # and what suggest stores is exactly those rows
        proj.suggest()
        stored = proj._q("SELECT document_id, code_id, start, end, rule FROM suggestions ORDER BY suggestion_id")
        assert [tuple(r) for r in stored] == rows
    finally:
        proj.close()


# --------------------------------------------------------------------------------------------------
# CFA / invariance
# --------------------------------------------------------------------------------------------------
_FAST = ["GroupData", "MeasurementModel", "MGModel", "_group_terms", "expected_information",
         "first_order_information", "fit_model", "h1_trace", "observed_information", "parse_model"]


def _invariance_with(module, monkeypatch, *args, **kwargs):
    with monkeypatch.context() as m:
        for name in _FAST:
            m.setattr(inv_mod, name, getattr(module, name))
        return rs.invariance(*args, **kwargs)


def _groups(study, fiml=True):
    inst = rs.load_instrument("star-p", key=study.key_path("star-p"))
    mm = inv_mod._resolve_model(inst, None)
    frame = study.service_users
    x = inv_mod._instrument_values(frame[mm.items], inst).to_numpy(float)
    out = []
    for lab in dict.fromkeys(frame["country"]):
        rows = (frame["country"] == lab).to_numpy() & (~np.isnan(x).all(axis=1) if fiml
                                                        else ~np.isnan(x).any(axis=1))
        out.append((str(lab), x[rows]))
    return mm, out


def test_matrices_jacobian_and_likelihood_bit_identical(study):
    mm, groups = _groups(study)
    new = [cfa.GroupData.build(lab, x, True) for lab, x in groups]
    old = [slow_cfa.GroupData.build(lab, x, True) for lab, x in groups]
    assert sum(len(g.patterns) for g in new) > 40          # many missing-data patterns, of many sizes
    rng = np.random.default_rng(7)
    for equal in [(), ("loadings",), ("loadings", "intercepts")]:
        for factors in (True, False):
            m_new, m_old = cfa.MGModel(mm, 2, equal, factors), slow_cfa.MGModel(mm, 2, equal, factors)
            for _ in range(3):
                theta = m_old.start(old) + rng.normal(scale=0.05, size=m_old.npar)
                for a, b in zip(m_old.matrices(theta), m_new.matrices(theta), strict=True):
                    for x, y in zip(a, b, strict=True):
                        assert x.shape == y.shape and np.array_equal(x, y)
                for x, y in zip(m_old.delta(theta), m_new.delta(theta), strict=True):
                    assert np.array_equal(x, y)
                for go, gn, (mu, sigma) in zip(old, new, m_old.implied(theta), strict=True):
                    v_old, g_old = slow_cfa._group_terms(go, mu, sigma, m_old.vech_i, m_old.vech_j)
                    v_new, g_new = cfa._group_terms(gn, mu, sigma, m_new.vech_i, m_new.vech_j)
                    assert v_old == v_new and np.array_equal(g_old, g_new)
    # a covariance that is not positive definite in some pattern: both give up the same way
    mu, sigma = m_old.implied(m_old.start(old))[0]
    bad = sigma.copy()
    bad[0, 1] = bad[1, 0] = 10 * np.sqrt(bad[0, 0] * bad[1, 1])
    assert cfa._group_terms(new[0], mu, bad, m_new.vech_i, m_new.vech_j) == (np.inf, None)
    assert slow_cfa._group_terms(old[0], mu, bad, m_old.vech_i, m_old.vech_j) == (np.inf, None)


@pytest.mark.parametrize("options", [{"missing": "fiml"}, {"missing": "listwise"},
                                     {"missing": "listwise", "estimator": "MLR"}])
def test_invariance_identical_to_the_frozen_fits(study, monkeypatch, options):
    inst = rs.load_instrument("star-p", key=study.key_path("star-p"))
    args = (study.service_users, inst)
    new = rs.invariance(*args, group="country", **options)
    old = _invariance_with(slow_cfa, monkeypatch, *args, group="country", **options)
    for name in ("fit", "comparisons", "loadings", "parameters"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)
    assert new.level == old.level and new.provenance["iterations"] == old.provenance["iterations"]
