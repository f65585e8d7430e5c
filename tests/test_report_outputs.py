"""The report people read: APA numbers, plain labels, a glossary, no machine paths, and a Word version
whose tables carry the same numbers as the HTML page."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import html as lxml_html

from recoverystudy.report.apa import column_kind, format_ci, format_frame, format_p, format_value
from recoverystudy.report.glossary import GLOSSARY, glossary_markdown, label_for
from recoverystudy.report.html import Section, build_report, group_notes, read_key_numbers
from recoverystudy.report.methods import methods_paragraphs, strip_paths
from recoverystudy.report.word import docx_tables, write_docx

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("p, text", [(0.0000408, "p < .001"), (0.001, "p = .001"), (0.0125, "p = .013"),
                                     (0.5, "p = .500"), (1.0, "p = 1.000"), (np.nan, "p not defined")])
def test_apa_p_values(p, text):
    assert format_p(p) == text


def test_apa_statistics_two_decimals_and_bounded_without_leading_zero():
    frame = pd.DataFrame({"estimate": [-0.6921], "alpha": [0.8912], "r": [-0.134], "n": [450.0],
                          "p_adj": [4.08e-05], "statistic": [12.0], "ci_low": [0.1234]})
    row = format_frame(frame).iloc[0].to_dict()
    assert row == {"estimate": "-0.69", "alpha": ".89", "r": "-.13", "n": "450", "p_adj": "< .001",
                   "statistic": "12.00", "ci_low": "0.12"}
    assert format_ci(0.1234, 0.5678) == "[0.12, 0.57]"
    assert column_kind("icc_ci_high") == "bounded" and column_kind("df2") == "stat"
    assert format_value(np.int64(1234)) == "1,234"


def _page(tmp_path=None):
    frame = pd.DataFrame({"outcome": ["wai_sr_total"], "n_service_users": [450], "alpha_ci_low": [0.81234],
                          "p": [4.08e-05], "estimate": [1.0]})
    wide = pd.DataFrame({f"a_rather_long_column_name_{i}": [123456.789] for i in range(25)})
    sec = Section("s", "Scores <b>", paragraphs=["Read from /home/ann/study/answers.csv."],
                  tables=[("Reliability", frame), ("Wide", wide)])
    return [sec], dict(title="T", headlines=["WAI-SR differed between sites (p < .001)."],
                       notes=["Dropped 3 rows in /tmp/x/y.csv", "Dropped 3 rows in /tmp/x/y.csv", "other"],
                       methods=["Prorated scores were used."])


def test_report_has_headlines_labels_glossary_and_no_paths():
    sections, kw = _page()
    page = build_report(sections, **kw)
    doc = lxml_html.fromstring(page)
    assert doc.xpath("//section[@class='headlines']//li")[0].text_content().startswith("WAI-SR differed")
    headers = [th.text_content() for th in doc.xpath("//table")[0].xpath(".//th")]
    assert headers == ["Outcome", "Service users (n)", "Alpha, 95% CI lower", "p", "Estimate"]
    cells = [td.text_content() for td in doc.xpath("//table")[0].xpath(".//td")]
    assert cells == ["wai_sr_total", "450", ".81", "< .001", "1.00"]
    assert "e-05" not in page and "/home/ann" not in page and "/tmp/x" not in page
    assert "Scores &lt;b&gt;" in page  # escaped
    notes = [li.text_content() for li in doc.xpath("//ul[@class='notes']/li")]
    assert notes == ["Dropped 3 rows in y.csv (2 times)", "other"]
    terms = [dt.text_content() for dt in doc.xpath("//dl[@class='glossary']/dt")]
    assert "prorated" in terms and "alpha" in terms and "p-value" in terms
    # hover help on a column heading
    assert doc.xpath("//th/abbr")[0].get("title") == GLOSSARY["alpha"]


def test_key_numbers_survive_markup_in_values():
    page = build_report([], title="t", key_numbers={"x": "</script><b>", "y": float("nan"), "n": np.int64(3)})
    assert read_key_numbers(page) == {"x": "</script><b>", "y": None, "n": 3}


def test_group_notes_keeps_first_order():
    assert group_notes(["b", "a", "b"]) == [{"text": "b", "count": 2}, {"text": "a", "count": 1}]


def test_strip_paths():
    assert strip_paths("saved to /tmp/a/b/report.html and C:\\Users\\x\\y.csv") == "saved to report.html and y.csv"
    assert strip_paths("ratio 1/2 and and/or") == "ratio 1/2 and and/or"


def test_methods_are_prose_without_paths():
    paras = methods_paragraphs([("Agreement", {"method": "coding_agreement", "coders": ["a", "b"],
                                                "unit": "sentence", "project": "/tmp/p/project.rsqda",
                                                "n_documents": 24, "n_codes": 33}),
                                ("Other", {"method": "some_new_thing", "quantiles": "R type 7"})])
    assert paras[1].startswith("Agreement: agreement between a and b was measured on 24 documents and 33 codes")
    assert "/tmp/" not in " ".join(paras)
    assert paras[2] == "Other was obtained by some new thing, with quantiles R type 7."


def test_word_tables_match_html(tmp_path):
    sections, kw = _page()
    page = build_report(sections, **kw)
    path = write_docx(tmp_path / "report.docx", sections, **kw)
    html_tables = _html_tables(page)
    word = docx_tables(path)
    assert len(word) == len(html_tables) == 2
    for w, h in zip(word, html_tables):
        pd.testing.assert_frame_equal(w, h)
    import docx

    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "Headline findings" in text and "WAI-SR differed" in text
    assert "/home/ann" not in text and "Glossary" in text


def test_labels_for_codes_and_unknown_columns():
    assert label_for("recovery/hope_and_goals") == "Hope and goals"
    assert label_for("Afonwen") == "Afonwen"


def test_glossary_page_is_current():
    committed = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    assert committed == glossary_markdown(), "regenerate docs/glossary.md (see the comment at its end)"
    for term in ("prorated", "Welch", "Games-Howell", "omega squared", "kappa", "HMAC", "joint display",
                 "derived-from-wording"):
        assert term in GLOSSARY


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    from recoverystudy.report.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo-outputs") / "out", seed=0, scale=0.3)


def _html_tables(page: str) -> list[pd.DataFrame]:
    doc = lxml_html.fromstring(page)
    out = []
    for t in doc.xpath("//table"):
        head = [th.text_content() for th in t.xpath(".//th")]
        rows = [[td.text_content() for td in tr.xpath("./td")] for tr in t.xpath(".//tbody/tr")]
        out.append(pd.DataFrame(rows, columns=head))
    return out


def test_demo_report_headlines_apa_and_no_machine_paths(small_demo):
    page = small_demo.report_path.read_text(encoding="utf-8")
    doc = lxml_html.fromstring(page)
    heads = [li.text_content() for li in doc.xpath("//section[@class='headlines']//li")]
    assert heads and heads == read_key_numbers(page)["headlines"]
    assert any("differed between the six sites" in h or "no clear difference" in h for h in heads)
    visible = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert not re.search(r"\d\.\d+e-\d\d", visible), "p values must be APA (p < .001), not scientific notation"
    assert not re.search(r"\bp [=<>] 0\.\d", visible), "p values in sentences have no leading zero (APA)"
    assert str(small_demo.out_dir) not in page and "/tmp/" not in visible
    assert doc.xpath("//ul[@class='notes']") or "Notes from the library" not in page
    for t in _html_tables(page):
        assert not any(c.startswith(("n_", "alpha_ci")) for c in t.columns), list(t.columns)
    # the country contrast names its direction
    assert "wales_minus_england" in pd.read_csv(small_demo.out_dir / "tables" / "england_vs_wales.csv").columns


def test_demo_word_report_tables_equal_the_html_numbers(small_demo):
    page = small_demo.report_path.read_text(encoding="utf-8")
    word = docx_tables(small_demo.out_dir / "report.docx")
    html_tables = _html_tables(page)
    assert len(word) == len(html_tables) >= 8
    for w, h in zip(word, html_tables):
        pd.testing.assert_frame_equal(w.reset_index(drop=True), h.reset_index(drop=True))
    import docx

    text = "\n".join(p.text for p in docx.Document(str(small_demo.out_dir / "report.docx")).paragraphs)
    assert "Headline findings" in text and "/tmp/" not in text
    assert len(docx.Document(str(small_demo.out_dir / "report.docx")).inline_shapes) >= 5   # the figures


def test_word_table_cells_are_formatted_like_python_docx_runs(tmp_path):
    # the cells after the first of each kind copy its run: every run must be what add_run + size + bold writes
    import docx
    from docx.shared import Pt

    frame = pd.DataFrame({"name": ["a\tb", " lead", "x\ny", ""], "value": [1.5, 2.25, -3.0, 4.0]})
    path = write_docx(tmp_path / "t.docx", [Section("s", "S", tables=[("T", frame)])], title="T")
    table = docx.Document(str(path)).tables[0]
    for i, row in enumerate(table.rows):
        for j, cell in enumerate(row.cells):
            (para,) = cell.paragraphs
            (run,) = para.runs
            assert run.font.size == Pt(8) and run.bold is (True if i == 0 else None)
            assert (para.alignment is not None) == (i > 0 and j == 1)
    assert [c.text for c in table.columns[0].cells][1:] == ["a\tb", " lead", "x\ny", ""]
    xml = table._tbl.xml
    assert 'xml:space="preserve"> lead</w:t>' in xml and "<w:tab/>" in xml and "<w:br/>" in xml
