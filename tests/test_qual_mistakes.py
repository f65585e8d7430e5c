"""Mistakes a newcomer makes get a clear error, never a silently wrong project."""

from __future__ import annotations

import pytest

import recoverystudy as rs
from recoverystudy.errors import DocumentReadError


@pytest.fixture
def proj(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as p:
        p.add_case("SU01", site="Beckford")
        p.add_document("SU01: I never had a copy of my care plan. My crisis plan is fine.", name="a", case="SU01")
        yield p


@pytest.mark.parametrize("source", ["interviews/SU02.txt", "C:/Users/me/interview1.docx", "notes.md"])
def test_a_missing_file_is_an_error_not_the_text(proj, source):
    with pytest.raises(DocumentReadError, match="does not exist"):
        proj.add_document(source, name="x")
    assert proj.documents()["name"].tolist() == ["a"]


def test_an_unsupported_file_is_an_error(proj, tmp_path):
    (tmp_path / "scan.png").write_bytes(b"\x89PNG")
    with pytest.raises(DocumentReadError, match="'.png' is not supported"):
        proj.add_document(str(tmp_path / "scan.png"), name="x")


def test_one_line_texts_are_still_texts(proj):
    proj.add_document("Seen by Dr. Smith", name="b")
    proj.add_document("version 2.0", name="c")
    assert proj.document_text("c") == "version 2.0"


def test_empty_coder_name_is_refused(proj):
    with pytest.raises(ValueError, match="non-empty"):
        proj.code_quote("a", "never had a copy", "care_plan_document/copy_and_ownership", coder="")
    ids = proj.suggest()["suggestion_id"].tolist()
    with pytest.raises(ValueError, match="non-empty"):
        proj.accept(ids, coder="")
    assert proj.segments().empty


def test_misspelt_site_is_an_error(proj):
    proj.code_quote("a", "never had a copy", "care_plan_document/copy_and_ownership", coder="AB")
    assert len(proj.segments(site="Beckford")) == 1
    with pytest.raises(KeyError, match="No case has site 'beckford'; the sites are 'Beckford'"):
        proj.segments(site="beckford")


def test_suggest_takes_a_codebook(proj):
    book = rs.load_codebook("care-planning-framework")
    got = proj.suggest(book)
    assert proj.suggest().empty  # the default rules are the codebook's: nothing new to suggest
    assert {"care_plan_document/copy_and_ownership", "crisis/crisis_plan"} <= set(got["code"])


def test_framework_matrix_excel_target_is_checked(proj, tmp_path):
    matrix = proj.framework_matrix()
    with pytest.raises(ValueError, match="ending in .xlsx"):
        matrix.to_excel(tmp_path / "matrix.csv")
    with pytest.raises(FileNotFoundError, match="does not exist; cannot write matrix.xlsx"):
        matrix.to_excel(tmp_path / "missing" / "matrix.xlsx")
    assert not (tmp_path / "matrix.csv").exists() and not (tmp_path / "missing").exists()


def test_import_cases_reads_a_file(proj, tmp_path):
    (tmp_path / "cases.csv").write_text("case,site,role\nSU02,Beckford,service user\nCC01,Ashby,care coordinator\n")
    assert proj.import_cases(str(tmp_path / "cases.csv")) == [2, 3]
    assert proj.cases().set_index("case").loc["CC01", "role"] == "care coordinator"


def test_a_theme_level_chart_is_shown_in_the_matrix(proj, tmp_path):
    import openpyxl

    proj.chart("SU01", "relationship", "Trusts the coordinator; wants more time.", author="AB")
    matrix = proj.framework_matrix(group_by=None)
    frame = matrix.to_frame()
    assert "relationship" in matrix.codes
    assert "Trusts the coordinator; wants more time." in frame.to_string()
    assert "Trusts the coordinator" in matrix.to_html()
    book = openpyxl.load_workbook(matrix.to_excel(tmp_path / "m.xlsx"))
    values = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert "Trusts the coordinator; wants more time." in values
    assert "relationship" in proj.framework_matrix(codes=["relationship"]).codes
