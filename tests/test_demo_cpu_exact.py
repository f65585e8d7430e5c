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
from pg_fixtures import pg_server, pg_url  # noqa: F401  (fixtures)

import _accept_chart_slow_path as slow_ac
import _cfa_slow_path as slow_cfa
import _suggest_slow_path as slow_suggest
import recoverystudy as rs
import recoverystudy.stats.cfa as cfa
import recoverystudy.stats.invariance as inv_mod
from recoverystudy.qual.assist import KeywordFinder, _fold, keyword_pattern
from recoverystudy.report import demo_parts


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


def _project(tmp_path, study, n_docs=None, where=None):
    iv = study.interviews if n_docs is None else study.interviews.head(n_docs)
    proj = rs.Project.create(where or tmp_path / "p.rsqda", codebook="care-planning-framework")
    proj.import_cases(iv[["case", "role", "site", "country", "team", "triad_id", "survey_id"]], case_col="case")
    proj.add_documents(iv[["name", "text", "case"]].assign(kind="interview"))
    return proj


def test_suggestion_rows_are_those_of_the_frozen_loop(tmp_path, study):
    proj = _project(tmp_path, study)
    try:
        rows = proj._suggestion_rows(proj._rules(None), None, None, None)
        assert len(rows) == 2936            # the demo's suggestions (seed 0; 22 from keywords with apostrophes)
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
        # a care plan (no turns) and text before the first speaker label: no speaker
        proj.add_document("My crisis plan is old.\nSU01: The crisis team rang.", name="plan", case="plan")
        proj.add_document("The crisis plan. A crisis plan.", name="plan2", kind="care_plan")
        proj.suggest({"crisis/crisis_services": {"keywords": ["crisis"]}}, documents=["plan", "plan2"])
        sug = proj.suggestions(status=None)
        def speakers(doc):
            return [x if isinstance(x, str) else None for x in sug.loc[sug["document"] == doc, "speaker"]]
        assert speakers("plan") == [None, "SU01"] and speakers("plan2") == [None, None]
        proj.accept(sug["suggestion_id"].iloc[:7].tolist(), coder="AB")
        proj.reject(sug["suggestion_id"].iloc[7:9].tolist(), coder="AB", reason="no")
        for status in (None, "pending", "accepted", "rejected"):
            pd.testing.assert_frame_equal(proj.suggestions(status), slow_suggest.suggestions(proj, status))
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
    for a, b in zip(old, new, strict=True):                 # the saturated model by EM
        assert np.array_equal(a.mean, b.mean) and np.array_equal(a.cov, b.cov)
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
                    assert np.array_equal(slow_cfa._moment_hessian(go, mu, sigma, m_old.vech_i, m_old.vech_j),
                                          cfa._moment_hessian(gn, mu, sigma, m_new.vech_i, m_new.vech_j))
            assert np.array_equal(slow_cfa.observed_information(m_old, old, theta),
                                  cfa.observed_information(m_new, new, theta))
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


# --------------------------------------------------------------------------------------------------
# accept / reject / chart_many: the same rows as one statement per row
# --------------------------------------------------------------------------------------------------
# every column but the random GUIDs and the clock times
_COMPARED = {
    "segments": "segment_id, document_id, code_id, coder_id, start, end, framework_version, label",
    "suggestions": "suggestion_id, document_id, code_id, start, end, rule, status, decided_by, segment_id, reason",
    "coding_log": "log_id, action, segment_id, document_id, code_path, start, end, coder, detail",
    "charts": "chart_id, case_id, code_id, summary, author_id, automatic",
    # (SQLite's hidden rowid of a link is not compared: re-charting deletes a cell's links before inserting
    # the new ones, so in a batch the new links can be numbered differently; nothing reads that number)
    "chart_segments": "chart_id, segment_id",
    "users": "user_id, name",
}


def _rows(proj):
    return {t: proj._q(f"SELECT {cols} FROM {t} ORDER BY 1, 2") for t, cols in _COMPARED.items()}


def _review_and_chart(proj, study, accept, reject, chart_cells):
    from recoverystudy.synthetic.review import simulated_review

    proj.freeze_framework(note="before review")
    proj.add_code("risk/new_after_freeze")        # its segments record no framework version
    proj.suggest()
    proj.suggest({"risk/new_after_freeze": {"keywords": ["risk"]}})
    pending = proj.suggestions()
    accept_ids, rejections = simulated_review(pending, study.interviews, np.random.default_rng(0))
    # some spans coded by hand before they are accepted: accept links the existing segment
    early = pending.set_index("suggestion_id").loc[accept_ids[:5]]
    for r in early.itertuples():
        proj.code(r.document, int(r.start), int(r.end), r.code, coder="coder_a")
    accept(proj, accept_ids[:40], coder="coder_a")
    accept(proj, accept_ids[40:], coder="coder_a")
    for reason, grp in rejections.groupby("reason", sort=True):
        reject(proj, grp["suggestion_id"].tolist(), coder="coder_a", reason=reason)
    segs = proj.segments(coder="coder_a")
    with proj._tx():
        chart_cells(proj, segs)
    # charting again replaces the automatic summaries of the same cells
    chart_cells(proj, segs.iloc[::2])


def _slow_cells(proj, segs):
    """The demo's charting helper as it was: ``chart`` cell by cell (frozen)."""
    ordered = segs.sort_values(["case", "code"], kind="stable")
    cases, codes = ordered["case"].tolist(), ordered["code"].tolist()
    texts, ids = ordered["text"].tolist(), ordered["segment_id"].tolist()
    start, n = 0, len(cases)
    while start < n:
        end = start + 1
        while end < n and cases[end] == cases[start] and codes[end] == codes[start]:
            end += 1
        first = " ".join(str(texts[start]).split(": ", 1)[-1].split())
        extract = first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "..."
        summary = f"{end - start} coded segment(s) (coder_a). Extract: \u201c{extract}\u201d"
        slow_ac.chart(proj, cases[start], codes[start], summary, segments=ids[start:end], author="demo",
                      automatic=True)
        start = end


def _both_ways(tmp_path, study, n_docs=None, fast_where=None):
    results = []
    for name, accept, reject, cells, where in [
            ("slow", slow_ac.accept, slow_ac.reject, _slow_cells, None),
            ("fast", rs.Project.accept, rs.Project.reject, demo_parts._chart_cells, fast_where)]:
        (tmp_path / name).mkdir()
        proj = _project(tmp_path / name, study, n_docs, where)
        try:
            _review_and_chart(proj, study, accept, reject, cells)
            results.append(_rows(proj))
        finally:
            proj.close()
    return results


def test_review_and_charting_write_the_rows_of_one_statement_per_row(tmp_path, study):
    results = _both_ways(tmp_path, study)
    slow_rows, fast_rows = results
    assert len(slow_rows["charts"]) > 1000 and len(slow_rows["segments"]) > 1000
    assert any(r[6] is None for r in slow_rows["segments"])      # a code added after the framework was frozen
    assert any(r[6] is not None for r in slow_rows["segments"])
    for table in _COMPARED:
        assert fast_rows[table] == slow_rows[table], table


def test_review_and_charting_on_the_team_server(tmp_path, study, pg_url):
    """The batched statements on PostgreSQL: the same rows as one statement per row in a file."""
    slow_rows, fast_rows = _both_ways(tmp_path, study, n_docs=24, fast_where=pg_url)
    assert len(slow_rows["charts"]) > 100
    for table in _COMPARED:
        assert fast_rows[table] == slow_rows[table], table


def test_chart_many_checks_every_row_before_writing(tmp_path):
    proj = rs.Project.create(tmp_path / "p.rsqda")
    try:
        proj.add_document("Interviewer: What helps?\nSU01: My mum helps. Nobody said I was high risk.", name="d",
                          case="SU01")
        mum = proj.code_quote("d", "My mum helps", "carers/carer_involvement", coder="AB")
        risk = proj.code_quote("d", "Nobody said I was high risk", "risk/risk_discussion", coder="AB")
        asked = proj.code_quote("d", "What helps?", "carers/carer_involvement", coder="AB")
        good = {"case": "SU01", "code": "carers", "summary": "Mother helps.", "segments": [mum]}

        def call(*rows, **kw):
            return proj.chart_many(pd.DataFrame(list(rows)), **kw)

        for bad, err, msg in [
                ({"summary": " "}, ValueError, "non-empty text"),
                ({"case": "SU99"}, KeyError, "No case 'SU99'"),
                ({"code": "nope"}, KeyError, "No code 'nope'"),
                ({"segments": [999]}, KeyError, "No segment 999"),
                ({"segments": [risk]}, ValueError, "is coded 'risk/risk_discussion', not 'carers'"),
                ({"segments": [asked]}, ValueError, r"interviewer's or facilitator's turn")]:
            with pytest.raises(err, match=msg):
                call({**good, "code": "risk", "segments": [risk], "summary": "Not discussed."}, {**good, **bad})
            assert proj._q("SELECT COUNT(*) FROM charts")[0][0] == 0          # nothing written
        with pytest.raises(ValueError, match="charted twice"):
            call(good, good)
        with pytest.raises(KeyError, match="missing"):
            proj.chart_many(pd.DataFrame({"case": ["SU01"]}))
        assert call(good, author="AB") == [1]
        with pytest.raises(ValueError, match="never replaces it"):
            call({**good, "summary": "auto"}, author="bot", automatic=True)
        assert call({**good, "summary": "Mother and aunt help."}, {**good, "code": "risk", "segments": [risk],
                                                                   "summary": "Not discussed."}) == [1, 2]
        cells = proj.framework_matrix().cells.set_index(["case", "code"])
        assert cells.loc[("SU01", "carers"), "summary"] == "Mother and aunt help."
        assert cells.loc[("SU01", "carers"), "segment_ids"] == (mum,)
        assert cells.loc[("SU01", "risk"), "segment_ids"] == (risk,)
        assert proj.chart_many(pd.DataFrame(columns=["case", "code", "summary", "segments"])) == []
    finally:
        proj.close()


# --------------------------------------------------------------------------------------------------
# FrameworkMatrix.to_excel: the workbook pandas wrote, without pandas' per-cell machinery
# --------------------------------------------------------------------------------------------------
def _parts(path):
    import zipfile

    with zipfile.ZipFile(path) as z:   # every part but the creation time
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_framework_workbook_has_the_parts_pandas_wrote(tmp_path, study):
    import _framework_excel_slow_path as slow_xl

    proj = _project(tmp_path, study, n_docs=30)
    try:
        proj.suggest()
        pending = proj.suggestions()
        proj.accept(pending["suggestion_id"].tolist()[::2], coder="AB")
        demo_parts._chart_cells(proj, proj.segments(coder="AB"))
        proj.add_case("no site yet")                     # a group "(not set)" of one row
        proj.add_code("risk/formula_like", name="=HYPERLINK(\"http://x\")")   # text stays text
        for kwargs in [{"group_by": "site"}, {"group_by": None}, {"group_by": "role"},
                       {"group_by": "site", "cases": ["A-SU01", "B-SU01", "B-SU02", "no site yet"]},
                       {"group_by": "site", "codes": ["risk"]}]:
            m = proj.framework_matrix(**kwargs)
            old, new = tmp_path / "old.xlsx", tmp_path / "new.xlsx"
            slow_xl.to_excel(m, old)
            m.to_excel(new)
            a, b = _parts(old), _parts(new)
            assert sorted(a) == sorted(b) and len(a) > 5
            for part in a:
                assert a[part] == b[part], (kwargs, part)
    finally:
        proj.close()


# --------------------------------------------------------------------------------------------------
# mi_sensitivity: Games-Howell without the effect sizes it never shows
# --------------------------------------------------------------------------------------------------
def test_mi_sensitivity_unchanged_without_games_howell_effect_sizes(study, monkeypatch):
    import recoverystudy.integrate.imputed as imputed_mod
    import recoverystudy.stats.posthoc as posthoc

    su = study.service_users
    kwargs = dict(site="site", m=3, seed=0, score_options={"key": study.key_path("star-p")},
                  scales=["star_p_total"])
    new = rs.mi_sensitivity(su, "star-p", **kwargs)
    with monkeypatch.context() as m:   # as before: the full Games-Howell table, effect sizes included
        m.setattr(imputed_mod, "games_howell_table", lambda groups, conf, effect_sizes=True:
                  posthoc.games_howell_table(groups, conf))
        old = rs.mi_sensitivity(su, "star-p", **kwargs)
    pd.testing.assert_frame_equal(new.table, old.table, check_exact=True)
    pd.testing.assert_frame_equal(new.means, old.means, check_exact=True)
    frame = pd.concat([su[["site"]], rs.score(su, "star-p", key=study.key_path("star-p")).scores], axis=1)
    full = rs.games_howell(frame, "star_p_total", "site").table
    lean = posthoc.games_howell_table(posthoc.prepare_groups(frame, "star_p_total", "site"), 0.95,
                                      effect_sizes=False)
    g_cols = ["hedges_g", "g_ci_low", "g_ci_high"]
    pd.testing.assert_frame_equal(lean.drop(columns=g_cols), full.drop(columns=g_cols), check_exact=True)
    assert lean[g_cols].isna().all().all() and full[g_cols].notna().all().all()
