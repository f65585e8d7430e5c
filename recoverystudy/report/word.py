"""The Word version of a report (``report.docx``): APA-style tables and the figures, for papers and board papers.

It is written from the same :class:`~recoverystudy.report.html.Section` objects as the HTML page, with the
same plain column labels and the same APA number formatting, so the two always show the same numbers.

APA tables: a numbered bold label ("Table 1"), an italic title, horizontal rules only (above and below the
header row and below the last row), numbers right-aligned.
"""

from __future__ import annotations

import base64
import io
from copy import deepcopy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recoverystudy.report.apa import apa_text, format_frame
from recoverystudy.report.glossary import glossary_for, label_for
from recoverystudy.report.html import Section, group_notes
from recoverystudy.report.methods import strip_paths

__all__ = ["build_docx", "docx_tables", "write_docx"]


def _rule(cell: Any, *, top: bool = False, bottom: bool = False) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for side, on in (("top", top), ("bottom", bottom)):
        if on:
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), "8")
            el.set(qn("w:color"), "000000")
            borders.append(el)


def _add_table(doc: Any, number: int, caption: str, frame: pd.DataFrame, *, max_rows: int = 80) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    label = doc.add_paragraph()
    label.add_run(f"Table {number}").bold = True
    title = doc.add_paragraph()
    title.add_run(strip_paths(caption)).italic = True
    shown = frame.head(max_rows)
    body = format_frame(shown)
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])
               for c in shown.columns]
    table = doc.add_table(rows=1 + len(body), cols=len(body.columns))
    rows = table.rows
    last = len(body)
    runs: dict[bool, Any] = {}   # header / body: a formatted empty run, copied for each cell after the first
    for i, (row, values) in enumerate(zip(rows, [[label_for(c) for c in body.columns],
                                                  *body.itertuples(index=False)])):
        cells = row.cells                                   # one lookup per row (cell(i, j) is slow)
        for j, (cell, value) in enumerate(zip(cells, values)):
            para = cell.paragraphs[0]
            if (proto := runs.get(i == 0)) is None:
                run = para.add_run(strip_paths(str(value)))
                run.font.size = Pt(8)
                if i == 0:
                    run.bold = True
                runs[i == 0] = proto = deepcopy(run._r)
                proto.text = ""
            else:   # the same XML python-docx writes (add_run, then the size and bold), built by copying
                r = deepcopy(proto)
                r.text = strip_paths(str(value))
                para._p.append(r)
            if i == 0:
                _rule(cell, top=True, bottom=True)
            elif numeric[j]:
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if i == last and i > 0:
                _rule(cell, bottom=True)
    if len(frame) > max_rows:
        doc.add_paragraph(f"Note. The table continues: {len(frame) - max_rows} more rows are in the CSV and "
                          "Excel tables.")


def build_docx(sections: Sequence[Section], *, title: str, subtitle: str = "", banner: str = "",
               methods: Sequence[str] = (), headlines: Sequence[str] = (), notes: Sequence[str] = (),
               footer: str = "", glossary: bool = True) -> Any:
    """Build the Word document (a ``python-docx`` Document) from report sections.

    Parameters are those of :func:`~recoverystudy.report.html.build_report`.

    Examples
    --------
    >>> doc = build_docx([Section("a", "Part A", tables=[("Scores", pd.DataFrame({"alpha": [0.812]}))])],
    ...                  title="T", headlines=["Alpha was high."])
    >>> [t.cell(1, 0).text for t in doc.tables]
    ['.81']
    """
    import docx
    from docx.shared import Inches

    doc = docx.Document()
    doc.add_heading(title, level=0)
    if subtitle:
        doc.add_paragraph(strip_paths(subtitle))
    if banner:
        doc.add_paragraph().add_run(banner).bold = True
    if headlines:
        doc.add_heading("Headline findings", level=1)
        for h in headlines:
            doc.add_paragraph(apa_text(strip_paths(h)), style="List Bullet")
    number = 0
    texts = list(headlines) + list(methods)
    columns: list[str] = []
    for s in sections:
        doc.add_heading(s.title, level=1)
        if s.unavailable:
            doc.add_paragraph(f"Not available in this build. {strip_paths(s.unavailable)}")
        for p in s.paragraphs:
            doc.add_paragraph(apa_text(strip_paths(p)))
            texts.append(p)
        for caption, png in s.figures:
            doc.add_picture(io.BytesIO(base64.b64decode(png)), width=Inches(6.0))
            doc.add_paragraph().add_run(strip_paths(caption)).italic = True
        for caption, frame in s.tables:
            number += 1
            _add_table(doc, number, caption, frame)
            columns += [str(c) for c in frame.columns]
    grouped = group_notes(notes)
    if grouped:
        doc.add_heading("Notes from the library", level=1)
        for n in grouped:
            doc.add_paragraph(n["text"] + (f" ({n['count']} times)" if n["count"] > 1 else ""), style="List Bullet")
    if methods:
        doc.add_heading("Methods", level=1)
        for m in methods:
            doc.add_paragraph(apa_text(strip_paths(m)))
    if glossary:
        terms = glossary_for(texts, columns)
        if terms:
            doc.add_heading("Glossary", level=1)
            for term, meaning in terms.items():
                para = doc.add_paragraph()
                para.add_run(term + ": ").bold = True
                para.add_run(meaning)
    if footer:
        doc.add_paragraph(strip_paths(footer))
    doc.core_properties.author = "recoverystudy"
    return doc


def write_docx(path: str | Path, sections: Sequence[Section], **kwargs: Any) -> Path:
    """Write the Word version of a report to ``path`` atomically (a temporary file, then a rename).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_docx(os.path.join(tmp, "report.docx"), [], title="Empty")
    ...     p.stat().st_size > 0
    True
    """
    path = Path(path)
    doc = build_docx(sections, **kwargs)
    tmp = path.with_name(path.name + ".part")
    doc.save(str(tmp))
    tmp.replace(path)
    return path


def docx_tables(path: str | Path) -> list[pd.DataFrame]:
    """Read the tables of a Word report back as text frames (for checks against the HTML numbers).

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_docx(os.path.join(tmp, "r.docx"), [Section("a", "A", tables=[("T", pd.DataFrame({"p": [0.0004]}))])],
    ...                    title="t")
    ...     docx_tables(p)[0].iloc[0, 0]
    '< .001'
    """
    import docx

    out = []
    for t in docx.Document(str(path)).tables:
        rows = [[c.text for c in r.cells] for r in t.rows]
        out.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return out

