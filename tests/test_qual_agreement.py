"""Inter-coder agreement: equals scikit-learn, statsmodels and krippendorff on expanded unit labels."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from recoverystudy.errors import StatisticsError, UndefinedStatisticWarning
from recoverystudy.qual.agreement import coding_agreement, landis_koch
from recoverystudy.qual.text import sentence_spans


def _random_fixture(seed, n_docs=3, coders=("A", "B"), codes=("t/x", "t/y", "u/z"), n_seg=12):
    rng = np.random.default_rng(seed)
    texts = {}
    rows = []
    for d in range(n_docs):
        words = rng.choice(["Care plan.", "My mum came.", "Dr. Patel saw me!", "It helped a lot?", "No."], 25)
        text = " ".join(words)
        texts[f"doc{d}"] = text
        for coder in coders:
            for _ in range(n_seg):
                a = int(rng.integers(0, len(text) - 2))
                b = int(min(len(text), a + rng.integers(1, 60)))
                rows.append((f"doc{d}", a, b, str(rng.choice(codes)), coder))
    return pd.DataFrame(rows, columns=["document", "start", "end", "code", "coder"]), texts


def _char_labels(segs, texts, coders, code, docs=None):
    docs = docs or sorted(set(segs["document"]))
    out = np.zeros((len(coders), sum(len(texts[d]) for d in docs)), dtype=int)
    off = 0
    for d in docs:
        for j, c in enumerate(coders):
            for r in segs[(segs.document == d) & (segs.coder == c) & (segs.code == code)].itertuples():
                out[j, off + r.start: off + r.end] = 1
        off += len(texts[d])
    return out


def _sent_labels(segs, texts, coders, code, docs):
    cols = []
    for d in docs:
        for s0, s1 in sentence_spans(texts[d]):
            col = []
            for c in coders:
                sub = segs[(segs.document == d) & (segs.coder == c) & (segs.code == code)]
                col.append(int(((sub.start < s1) & (sub.end > s0)).any()))
            cols.append(col)
    return np.array(cols).T


def test_nvivo_worked_example_by_hand():
    # framework-method.md: both 800, neither 50, A codes 900, B codes 850 of 1000 -> p_o .85, p_e .78
    segs = pd.DataFrame({"document": ["d"] * 3, "start": [0, 0, 900], "end": [900, 800, 950],
                         "code": ["c"] * 3, "coder": ["A", "B", "B"]})
    res = coding_agreement(segs, {"d": "x" * 1000}, coders=["A", "B"])
    row = res.to_frame().iloc[0]
    assert row["n_units"] == 1000 and row["n_coded_any"] == 950
    assert_allclose(row["percent_agreement"], 0.85, rtol=0, atol=1e-12)
    assert_allclose(row["kappa"], (0.85 - 0.78) / (1 - 0.78), rtol=0, atol=1e-12)
    assert landis_koch(row["kappa"]) == "fair"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_character_level_equals_sklearn_statsmodels_krippendorff(seed):
    segs, texts = _random_fixture(seed)
    res = coding_agreement(segs, texts, coders=["A", "B"])
    frame = res.to_frame()
    for row in frame.itertuples():
        if row.code == "(all codes)":
            continue
        docs = None if row.document == "(all documents)" else [row.document]
        lab = _char_labels(segs, texts, ["A", "B"], row.code, docs or sorted(texts))
        if len(set(lab[0])) + len(set(lab[1])) > 2:
            assert_allclose(row.kappa, cohen_kappa_score(lab[0], lab[1]), rtol=0, atol=1e-12)
        assert_allclose(row.percent_agreement, (lab[0] == lab[1]).mean(), rtol=0, atol=1e-12)
        assert_allclose(row.alpha, krippendorff.alpha(reliability_data=lab, level_of_measurement="nominal"),
                        rtol=0, atol=1e-9)
        table, _ = aggregate_raters(lab.T)
        assert_allclose(row.fleiss_kappa, fleiss_kappa(table, method="fleiss"), rtol=0, atol=1e-12)


def test_overall_pooled_row_concatenates_codes_and_documents():
    segs, texts = _random_fixture(5)
    res = coding_agreement(segs, texts, coders=["A", "B"])
    labs = np.concatenate([_char_labels(segs, texts, ["A", "B"], c, sorted(texts)) for c in ("t/x", "t/y", "u/z")],
                          axis=1)
    assert_allclose(res.pooled["kappa"], cohen_kappa_score(labs[0], labs[1]), rtol=0, atol=1e-12)
    assert res.pooled["n_units"] == labs.shape[1]


@pytest.mark.parametrize("seed", [3, 4])
def test_sentence_level_three_coders_equals_statsmodels_and_krippendorff(seed):
    coders = ["A", "B", "C"]
    segs, texts = _random_fixture(seed, coders=coders, n_seg=6)
    res = coding_agreement(segs, texts, coders=coders, unit="sentence")
    for row in res.to_frame().itertuples():
        if row.code == "(all codes)":
            continue
        docs = sorted(texts) if row.document == "(all documents)" else [row.document]
        lab = _sent_labels(segs, texts, coders, row.code, docs)
        assert row.n_units == lab.shape[1]
        table, _ = aggregate_raters(lab.T)
        assert_allclose(row.fleiss_kappa, fleiss_kappa(table, method="fleiss"), rtol=0, atol=1e-12)
        assert_allclose(row.alpha, krippendorff.alpha(reliability_data=lab, level_of_measurement="nominal"),
                        rtol=0, atol=1e-9)
        assert np.isnan(row.kappa)  # Cohen's kappa is for two coders


def test_sentence_level_two_coders_equals_sklearn_and_overlap_rule():
    text = "Dr. Patel saw me. I never had a copy. My mum came."
    # A overlaps sentence 2 by one character only; B codes all of sentence 2 and part of 3
    segs = pd.DataFrame({"document": ["d", "d"], "start": [36, 18], "end": [37, 40],
                         "code": ["c", "c"], "coder": ["A", "B"]})
    res = coding_agreement(segs, {"d": text}, coders=["A", "B"], unit="sentence")
    row = res.to_frame().iloc[0]
    assert row["n_units"] == 3
    # A: [0,1,0]  B: [0,1,1]
    assert_allclose(row["kappa"], cohen_kappa_score([0, 1, 0], [0, 1, 1]), rtol=0, atol=1e-12)
    dis = res.disagreements()
    assert dis[["text", "coded_by", "not_coded_by"]].values.tolist() == [["My mum came.", "B", "A"]]


def test_disagreements_list_text_where_coders_differ():
    text = "abcdefghijklmnopqrstuvwxyz"
    segs = pd.DataFrame({"document": ["d"] * 4, "start": [0, 5, 2, 20], "end": [5, 10, 8, 22],
                         "code": ["c", "c", "c", "c"], "coder": ["A", "A", "B", "B"]})
    dis = coding_agreement(segs, {"d": text}, coders=["A", "B"]).disagreements()
    assert dis[["start", "end", "text", "coded_by"]].values.tolist() == [
        [0, 2, "ab", "A"], [8, 10, "ij", "A"], [20, 22, "uv", "B"]]


def test_undefined_kappa_is_nan_with_warning():
    segs = pd.DataFrame({"document": ["d", "d"], "start": [0, 0], "end": [10, 10], "code": ["c", "c"],
                         "coder": ["A", "B"]})
    with pytest.warns(UndefinedStatisticWarning, match="undefined"):
        res = coding_agreement(segs, {"d": "x" * 10}, coders=["A", "B"])
    assert np.isnan(res.pooled["kappa"]) and res.pooled["percent_agreement"] == 1.0


def test_input_unchanged_and_order_invariant():
    segs, texts = _random_fixture(7)
    before = segs.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedStatisticWarning)
        a = coding_agreement(segs, texts, coders=["A", "B"]).to_frame()
        b = coding_agreement(segs.sample(frac=1, random_state=1), texts, coders=["A", "B"]).to_frame()
    pd.testing.assert_frame_equal(segs, before)
    pd.testing.assert_frame_equal(a, b)


def test_codes_filter_and_theme_expansion():
    segs, texts = _random_fixture(8)
    res = coding_agreement(segs, texts, coders=["A", "B"], codes=["t"])
    assert set(res.to_frame()["code"]) <= {"t/x", "t/y", "(all codes)"}


@pytest.mark.parametrize("kwargs, match", [
    ({"coders": ["A"]}, "two different coders"),
    ({"coders": ["A", "Z"]}, "Z"),
    ({"coders": ["A", "B"], "unit": "paragraph"}, "paragraph"),
])
def test_errors_name_the_problem(kwargs, match):
    segs, texts = _random_fixture(9)
    with pytest.raises(StatisticsError, match=match):
        coding_agreement(segs, texts, **kwargs)


def test_span_outside_document_names_document():
    segs = pd.DataFrame({"document": ["d"], "start": [0], "end": [50], "code": ["c"], "coder": ["A"]})
    segs = pd.concat([segs, segs.assign(coder="B")])
    with pytest.raises(StatisticsError, match="'d'"):
        coding_agreement(segs, {"d": "short"}, coders=["A", "B"])


def test_project_agreement_summary_and_html(tmp_path):
    import recoverystudy as rs
    from recoverystudy.qual.agreement import agreement

    with rs.Project.create(tmp_path / "p.rsqda") as proj:
        proj.add_document("SU01: I never had a copy. My mum came to the review.", name="d", case="SU01")
        proj.code("d", 6, 25, "care_plan_document/copy_and_ownership", coder="AB")
        proj.code("d", 8, 25, "care_plan_document/copy_and_ownership", coder="CD")
        proj.code("d", 26, 32, "carers/carer_involvement", coder="CD")
        res = agreement(proj, "AB", "CD", unit="character")
        assert "Cohen's kappa" in res.summary() and "Landis" in res.summary()
        assert "<table" in res._repr_html_()
        assert res.disagreements()["text"].tolist() == ["I ", "My mum"]
        with pytest.raises(StatisticsError, match="either"):
            agreement(proj, "AB", "CD", coders=["AB", "CD", "EF"])


# -- scope: only documents every compared coder coded (issue 15) ------------------------------------------
def _double_coded_subset(seed=7):
    """Coder A codes 12 documents; coder B double-codes 3 of them, close to A (a blind subset)."""
    rng = np.random.default_rng(seed)
    texts, rows = {}, []
    for d in range(12):
        text = " ".join(rng.choice(["Care plan.", "My mum came.", "It helped a lot?", "No."], 30))
        texts[f"doc{d:02d}"] = text
        for _ in range(4):
            a = int(rng.integers(0, len(text) - 40))
            b = a + int(rng.integers(10, 40))
            code = str(rng.choice(["t/x", "t/y"]))
            rows.append((f"doc{d:02d}", a, b, code, "A"))
            if d in (2, 5, 9):
                rows.append((f"doc{d:02d}", a + int(rng.integers(0, 3)), b, code, "B"))
    return pd.DataFrame(rows, columns=["document", "start", "end", "code", "coder"]), texts


def test_default_compares_only_documents_every_coder_coded():
    segs, texts = _double_coded_subset()
    res = coding_agreement(segs, texts, coders=["A", "B"])
    assert res.documents_included == ("doc02", "doc05", "doc09")
    assert res.documents_excluded["document"].tolist() == [f"doc{d:02d}" for d in range(12) if d not in (2, 5, 9)]
    assert set(res.documents_excluded["reason"]) == {"coded only by A"}
    assert res.provenance["documents"] == "common"
    # equal to sklearn on the three shared documents only
    shared = ["doc02", "doc05", "doc09"]
    for code in ("t/x", "t/y"):
        lab = _char_labels(segs, texts, ["A", "B"], code, docs=shared)
        row = res.table[(res.table.code == code) & res.table.pooled]
        assert_allclose(row["kappa"].iloc[0], cohen_kappa_score(lab[0], lab[1]), atol=1e-12)
        assert_allclose(row["alpha"].iloc[0], krippendorff.alpha(reliability_data=lab,
                                                                 level_of_measurement="nominal"), atol=1e-12)
    assert res.pooled["kappa"] > 0.9  # the second coder matches closely where both coded
    everything = coding_agreement(segs, texts, coders=["A", "B"], compare="all")
    assert everything.pooled["kappa"] < 0.5  # the old behaviour: nine documents only A was given count against B
    assert "Compared on 3 document(s) that every coder coded; 9 document(s) excluded" in res.summary()


def test_documents_given_and_errors():
    segs, texts = _double_coded_subset()
    res = coding_agreement(segs, texts, coders=["A", "B"], compare=["doc02", "doc03"])
    assert res.documents_included == ("doc02", "doc03")
    lab = _char_labels(segs, texts, ["A", "B"], "t/x", docs=["doc02", "doc03"])
    row = res.table[(res.table.code == "t/x") & res.table.pooled]
    assert_allclose(row["kappa"].iloc[0], cohen_kappa_score(lab[0], lab[1]), atol=1e-12)
    with pytest.raises(StatisticsError, match="No document was coded by every one of A, C"):
        coding_agreement(pd.concat([segs, pd.DataFrame([("doc00", 0, 5, "t/x", "C")], columns=segs.columns)])
                         .query("document != 'doc00' or coder == 'C'"), texts, coders=["A", "C"])
    with pytest.raises(StatisticsError, match="Unknown document"):
        coding_agreement(segs, texts, coders=["A", "B"], compare=["nope"])


def test_three_coders_alpha_on_common_documents_sentence_units():
    segs, texts = _random_fixture(11, n_docs=3, coders=("A", "B", "C"))
    extra = pd.DataFrame([("doc9", 0, 4, "t/x", "A")], columns=segs.columns)
    texts = dict(texts, doc9="Only A coded this.")
    res = coding_agreement(pd.concat([segs, extra]), texts, coders=["A", "B", "C"], unit="sentence")
    assert "doc9" not in res.documents_included
    docs = sorted(set(segs["document"]))
    lab = _sent_labels(segs, texts, ["A", "B", "C"], "t/x", docs)
    row = res.table[(res.table.code == "t/x") & res.table.pooled]
    assert_allclose(row["alpha"].iloc[0], krippendorff.alpha(reliability_data=lab, level_of_measurement="nominal"),
                    atol=1e-12)


def test_project_agreement_reproduction(tmp_path):
    """Issue 15: a close second coder on a double-coded subset is not reported as 'slight'."""
    import recoverystudy as rs

    with rs.Project.create(tmp_path / "p.rsqda") as proj:
        for i in range(10):
            proj.add_document(f"SU{i:02d}: I never had a copy of my plan. My mum came {i} times.", name=f"d{i}")
            proj.code_quote(f"d{i}", "never had a copy", "care_plan_document/copy_and_ownership", coder="AB")
            if i < 2:
                proj.code_quote(f"d{i}", "never had a copy", "care_plan_document/copy_and_ownership", coder="CD")
        res = proj.agreement("AB", "CD")
        assert res.documents_included == ("d0", "d1")
        assert float(res.pooled["kappa"]) == 1.0
        assert len(res.documents_excluded) == 8
        given = proj.agreement("AB", "CD", documents=["d0", "d5"])
        assert given.documents_included == ("d0", "d5")
        text = proj.document_text("d5")
        n = len(proj.document_text("d0")) + len(text)
        coded = len("never had a copy")
        assert float(given.pooled["percent_agreement"]) == pytest.approx((n - coded) / n)
        assert given.disagreements()[["document", "text", "coded_by", "not_coded_by"]].values.tolist() == [
            ["d5", "never had a copy", "AB", "CD"]]
        assert float(proj.agreement("AB", "CD", documents="all").pooled["kappa"]) < 0.5
