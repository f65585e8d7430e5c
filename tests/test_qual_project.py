"""Tests for Project documents, turns, cases, attributes and codebook handling."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.errors import CodebookError, DocumentReadError, DuplicateDocumentError

DATA = Path(__file__).parent / "data" / "documents"
TRANSCRIPT = (
    "Interview with SU01, site A.\n"
    "Interviewer: Do you have a copy of your care plan?\n"
    "SU01: No. I've never had a copy of my care plan.\n"
    "My mum asked for one.\n"
    "[CC] I'll print one.\n"
    "Carer 2: Thank you.\n"
)


@pytest.fixture
def proj(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as p:
        yield p


def test_add_document_text_and_turns(proj):
    doc_id = proj.add_document(TRANSCRIPT, name="SU01", case="SU01")
    assert doc_id == 1
    turns = proj.turns("SU01")
    assert turns["speaker"].tolist() == ["Interviewer", "SU01", "[CC]".strip("[]"), "Carer 2"]
    assert turns["text"].tolist() == [
        "Do you have a copy of your care plan?",
        "No. I've never had a copy of my care plan.\nMy mum asked for one.",
        "I'll print one.",
        "Thank you.",
    ]
    text = proj.document_text(1)
    for _, t in turns.iterrows():
        assert text[t["text_start"]:t["end"]] == t["text"]
    assert turns["start"].iloc[0] == len("Interview with SU01, site A.\n")
    docs = proj.documents()
    assert docs.loc[0, ["name", "case", "n_chars", "source_format"]].tolist() == ["SU01", "SU01", len(TRANSCRIPT), "text"]


def test_add_document_from_files(proj):
    a = proj.add_document(DATA / "cp1252.txt", name="a", case="SU01")
    b = proj.add_document(DATA / "sample.odt", name="b", case="SU02", kind="care_plan", on_duplicate="skip")
    assert b == a  # same normalised text
    c = proj.add_document(str(DATA / "sample.pdf"), name="c", kind="care_plan")
    docs = proj.documents()
    assert docs["name"].tolist() == ["a", "c"]
    assert docs["encoding"].tolist()[0] == "cp1252"
    assert proj.documents(kind="care_plan")["document_id"].tolist() == [c]
    with pytest.raises(DuplicateDocumentError) as info:
        proj.add_document(DATA / "utf8.txt", name="d")
    assert info.value.existing == "a"
    assert "'a'" in str(info.value)
    with pytest.raises(DocumentReadError):
        proj.add_document(DATA / "encrypted.pdf", name="e")
    assert len(proj.documents()) == 2


def test_document_names_unique(proj):
    proj.add_document("one", name="x")
    with pytest.raises(rs.errors.ProjectStoreError, match="already exists"):
        proj.add_document("two", name="x")
    with pytest.raises(KeyError, match="No document 'zz'"):
        proj.document_text("zz")


def test_add_documents_bulk_one_transaction(proj):
    frame = pd.DataFrame({"name": ["a", "b", "c"], "text": ["SU01: x", "SU02: y", "SU01: x"], "case": ["1", "2", "3"]})
    with pytest.raises(DuplicateDocumentError):
        proj.add_documents(frame)
    assert len(proj.documents()) == 0 and len(proj.cases()) == 0  # nothing half-written
    ids = proj.add_documents(frame, on_duplicate="skip")
    assert ids == [1, 2, 1]
    assert proj.turns()["speaker"].tolist() == ["SU01", "SU02"]


def test_cases_and_attributes(proj):
    proj.add_case("SU01", site="A", country="England", age=34, consented=True)
    proj.add_case("SU02", site="B")
    proj.set_attributes("SU02", country="Wales", age=51, consented=False)
    proj.set_attributes("SU01", site=None)
    cases = proj.cases()
    assert cases.columns.tolist() == ["case", "age", "consented", "country", "site"]
    assert cases["case"].tolist() == ["SU01", "SU02"]
    assert cases["age"].tolist() == [34, 51]
    assert cases["consented"].tolist() == [True, False]
    assert cases["site"].isna().tolist() == [True, False]
    with pytest.raises(ValueError, match="'SU01', attribute 'age'"):
        proj.set_attributes("SU01", age="old")
    with pytest.raises(KeyError, match="No case 'SU09'"):
        proj.set_attributes("SU09", site="A")


def test_import_cases(proj):
    df = pd.DataFrame({"case": ["SU01", "SU02"], "site": ["A", "B"], "survey_id": ["R001", None], "age": [30, 40]})
    before = df.copy()
    assert proj.import_cases(df) == [1, 2]
    pd.testing.assert_frame_equal(df, before)
    cases = proj.cases().set_index("case")
    assert cases.loc["SU02", "site"] == "B"
    assert pd.isna(cases.loc["SU02", "survey_id"])
    with pytest.raises(ValueError, match="repeats"):
        proj.import_cases(pd.DataFrame({"case": ["x", "x"]}))


def test_codebook_loaded_and_freeze(proj):
    codes = proj.codes()
    themes = codes[codes["parent"].isna()]
    assert len(themes) == 9
    assert codes.columns[:11].tolist() == ["code_id", "path", "theme", "name", "parent", "definition", "inclusion",
                                           "exclusion", "example", "colour", "guid"]
    assert (codes.groupby("theme").size() - 1).between(3, 5).all()
    assert proj.freeze_framework("v1 agreed") == 1
    proj.add_code("access", name="Access")
    proj.add_code("access/waiting", name="Waiting", keywords=["Waiting  List"])
    assert proj.codes().set_index("path").loc["access/waiting", "keywords"] == ("waiting list",)
    assert proj.freeze_framework("v2 adds access") == 2
    versions = proj.framework_versions()
    assert versions["n_codes"].tolist() == [43, 45]
    assert len(proj.framework_snapshot(1)) == 43
    with pytest.raises(CodebookError, match="does not exist"):
        proj.add_code("nothing/here")
    with pytest.raises(CodebookError, match="already exists"):
        proj.add_code("access")


def test_create_with_bad_codebook_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nkind: framework-codebook\n")
    with pytest.raises(CodebookError):
        rs.Project.create(tmp_path / "p.rsqda", codebook=bad)
    assert not (tmp_path / "p.rsqda").exists()
