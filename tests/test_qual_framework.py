"""Tests for chart() and framework_matrix() (recoverystudy/qual/framework.py)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import recoverystudy as rs


@pytest.fixture
def proj(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as p:
        p.import_cases(pd.DataFrame({"case": ["SU01", "SU02", "SU03"], "site": ["Wales 1", "England 1", None]}))
        p.add_document("SU01: My mum came. My mum helps. Risk was never discussed.", name="d1", case="SU01")
        p.add_document("SU02: Nobody told me about risk.", name="d2", case="SU02")
        p.add_document("SU03: I have a crisis plan.", name="d3", case="SU03")
        yield p


def test_matrix_counts_and_summaries(proj):
    a = proj.code_quote("d1", "My mum came", "carers/carer_involvement", coder="AB")
    b = proj.code_quote("d1", "My mum helps", "carers/carer_involvement", coder="AB")
    proj.code_quote("d2", "Nobody told me about risk", "risk/risk_discussion", coder="AB")
    proj.chart("SU01", "carers/carer_involvement", "Mother is central.", segments=[b, a], author="AB")
    m = proj.framework_matrix(codes=["carers/carer_involvement", "risk/risk_discussion"])
    wide = m.to_frame()
    assert wide.index.tolist() == [("(not set)", "SU03"), ("England 1", "SU02"), ("Wales 1", "SU01")]
    assert wide.index.names == ["site", "case"]
    assert wide.loc[("Wales 1", "SU01"), "carers/carer_involvement"] == f"Mother is central. [segments {a}, {b}]"
    assert wide.loc[("England 1", "SU02"), "risk/risk_discussion"] == "1 coded segment (no summary yet)"
    assert wide.loc[("Wales 1", "SU01"), "risk/risk_discussion"] == "no coded segments"
    assert m.counts().loc[("Wales 1", "SU01")].tolist() == [2, 0]
    # no text other than researchers' summaries appears in cells
    summaries = m.cells["summary"].dropna().tolist()
    assert summaries == ["Mother is central."]
    ev = m.evidence("SU01", "carers/carer_involvement")
    assert ev["text"].tolist() == ["My mum came", "My mum helps"]
    assert ev["linked"].tolist() == [True, True]
    assert "1 cells have a researcher's summary" in m.summary()
    assert m.provenance["method"] == "framework_matrix"


def test_rechart_replaces_and_validates(proj):
    seg = proj.code_quote("d1", "My mum helps", "carers/carer_involvement", coder="AB")
    other = proj.code_quote("d2", "Nobody told me about risk", "risk/risk_discussion", coder="AB")
    first = proj.chart("SU01", "carers/carer_involvement", "v1", segments=[seg])
    assert proj.chart("SU01", "carers/carer_involvement", "v2") == first
    cell = proj.framework_matrix(codes=["carers"]).cells.set_index(["case", "code"]).loc[("SU01", "carers/carer_involvement")]
    assert cell["summary"] == "v2" and cell["segment_ids"] == ()
    with pytest.raises(ValueError, match="belongs to case 'SU02'"):
        proj.chart("SU01", "risk/risk_discussion", "x", segments=[other])
    with pytest.raises(ValueError, match="is coded 'carers/carer_involvement'"):
        proj.chart("SU01", "risk/risk_discussion", "x", segments=[seg])
    with pytest.raises(ValueError, match="non-empty"):
        proj.chart("SU01", "risk/risk_discussion", "  ")
    # a theme cell can cite segments of its codes
    proj.chart("SU01", "carers", "Family theme.", segments=[seg])
    assert "chart" in proj.coding_log()["action"].tolist()


def test_matrix_defaults_and_grouping(proj):
    m = proj.framework_matrix()
    assert len(m.codes) == 34 and all("/" in c for c in m.codes)
    assert m.to_frame().shape == (3, 34)
    flat = proj.framework_matrix(group_by=None, cases=["SU02", "SU01"], codes=["crisis/crisis_plan"])
    assert flat.to_frame().index.tolist() == ["SU01", "SU02"]
    with pytest.raises(KeyError, match="No case attribute 'country'"):
        proj.framework_matrix(group_by="country")


def test_matrix_exports(proj, tmp_path):
    seg = proj.code_quote("d3", "crisis plan", "crisis/crisis_plan", coder="AB")
    proj.chart("SU03", "crisis/crisis_plan", "Has a plan <but> unsure it works.", segments=[seg])
    m = proj.framework_matrix()
    out = m.to_excel(tmp_path / "matrix.xlsx")
    book = openpyxl.load_workbook(out)
    assert len(book.sheetnames) == 9
    assert book.sheetnames[-1] == "Crisis and contingency"
    assert all(len(n) <= 31 for n in book.sheetnames)
    ws = book["Crisis and contingency"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["site", "case", "Crisis and contingency plans"]
    assert ws.cell(row=2, column=2).value == "SU03"
    assert ws.cell(row=2, column=3).value == f"Has a plan <but> unsure it works. [segments {seg}]"
    page = m.to_html()
    assert "Crisis and contingency" in page and "&lt;but&gt;" in page and "<but>" not in page
    assert m._repr_html_().startswith("<div class='rs-result'><h4>FrameworkMatrix</h4>")


def test_matrix_excel_keeps_text_as_text(proj, tmp_path):
    seg = proj.code_quote("d3", "crisis plan", "crisis/crisis_plan", coder="AB")
    proj.chart("SU03", "crisis/crisis_plan", '=HYPERLINK("http://example.org")', segments=[seg])
    ws = openpyxl.load_workbook(proj.framework_matrix().to_excel(tmp_path / "m.xlsx"))["Crisis and contingency"]
    cell = ws.cell(row=2, column=3)
    # written as text (xlsxwriter, no formula or link conversion), never as a formula
    assert cell.data_type == "s" and cell.value == f'=HYPERLINK("http://example.org") [segments {seg}]'
    assert ws.column_dimensions["A"].width == pytest.approx(40.71, abs=0.01)   # 40 characters, as before
