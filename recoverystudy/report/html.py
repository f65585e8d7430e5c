"""A self-contained HTML report: sections of text, tables and figures, and a generated methods paragraph.

The report has no external dependencies: styles are inline and matplotlib figures are embedded as base64
PNG, so the single ``report.html`` file can be e-mailed or archived.  The methods paragraph is written
from the ``provenance`` recorded by each result (method, instrument version, key provenance, missing-data
rule, seed, package version), never typed by hand.  The key numbers are also embedded as JSON
(``<script type="application/json" id="rs-key-numbers">``) so that a test or another program can check
the report against the library.

>>> from recoverystudy.report.html import Section, build_report
>>> import pandas as pd
>>> html = build_report([Section("s1", "Scores", paragraphs=["Hello."], tables=[("T", pd.DataFrame({"a": [1.5]}))])],
...                     title="Demo")
>>> "<h2 id=\\"s1\\">Scores</h2>" in html
True
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.report.apa import apa_text, format_frame, format_p
from recoverystudy.report.glossary import GLOSSARY, glossary_for, label_for, term_for_column
from recoverystudy.report.methods import methods_paragraphs, strip_paths

__all__ = ["Section", "build_report", "figure_to_base64", "format_p", "group_notes", "methods_paragraphs",
           "read_key_numbers", "table_html", "write_report"]


@dataclass
class Section:
    """One section of a report.

    Parameters
    ----------
    id : str
        Anchor used in the table of contents.
    title : str
    paragraphs : list of str
        Plain text (escaped when rendered).
    tables : list of (caption, DataFrame)
    figures : list of (caption, base64 PNG string)
    unavailable : str, optional
        When set, the section says plainly that this part is not available, and why.
    """

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    unavailable: str | None = None


def figure_to_base64(fig: Any, *, dpi: int = 110) -> str:
    """Encode a matplotlib figure as a base64 PNG (and close it).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> figure_to_base64(fig)[:8]
    'iVBORw0K'
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    # drawn once: the callers lay the figure out with tight_layout (bbox_inches="tight" would draw it twice)
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table_model(caption: str, frame: pd.DataFrame, *, max_rows: int = 80, index: bool = False) -> dict:
    """What the template needs to draw one table: plain labels, hover help, APA-formatted cells."""
    shown = frame.reset_index() if index else frame
    cols = [str(c) for c in shown.columns]
    header = [{"label": label_for(c), "help": (GLOSSARY.get(term_for_column(c) or "", ""))} for c in cols]
    body = format_frame(shown.head(max_rows))
    rows = [[strip_paths(v) for v in rec] for rec in body.itertuples(index=False)]
    align = ["num" if pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])
             else "text" for c in shown.columns]
    more = ""
    if len(shown) > max_rows:
        more = f"The table continues: {len(shown) - max_rows} more rows are in the CSV and Excel tables."
    return {"caption": strip_paths(caption), "header": header, "rows": rows, "align": align, "more": more}


def table_html(frame: pd.DataFrame, *, max_rows: int = 80, index: bool = False, caption: str = "") -> str:
    """Render one table as the report shows it (display rounding only; CSV/XLSX tables keep full precision).

    >>> '<td class="num">.12</td>' in table_html(pd.DataFrame({"alpha": [0.12345]}))
    True
    """
    tmpl = _env().from_string(
        "{% for t in [t] %}<table><thead><tr>{% for h in t.header %}<th scope=\"col\">{{ h.label }}</th>"
        "{% endfor %}</tr></thead><tbody>{% for row in t.rows %}<tr>{% for cell in row %}"
        "<td class=\"{{ t.align[loop.index0] }}\">{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>"
        "{% if t.more %}<p class=\"note\">{{ t.more }}</p>{% endif %}{% endfor %}")
    return tmpl.render(t=_table_model(caption, frame, max_rows=max_rows, index=index))


def group_notes(messages: Iterable[str]) -> list[dict[str, Any]]:
    """Group library notes: identical ones once with a count, in the order they first came.

    Machine paths are removed from every note.

    >>> [(n["text"], n["count"]) for n in group_notes(["a at /tmp/x/y.csv", "b", "a at /tmp/x/y.csv"])]
    [('a at y.csv', 2), ('b', 1)]
    """
    counts: dict[str, int] = {}
    for m in messages:
        text = apa_text(strip_paths(" ".join(str(m).split())))
        counts[text] = counts.get(text, 0) + 1
    return [{"text": t, "count": c} for t, c in counts.items()]


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------
_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def report_css() -> str:
    """The report's style sheet (screen and print), embedded in the page."""
    return (_TEMPLATES / "report.css").read_text(encoding="utf-8")


def build_report(sections: Sequence[Section], *, title: str, subtitle: str = "", banner: str = "",
                 methods: Sequence[str] = (), key_numbers: Mapping[str, Any] | None = None,
                 footer: str = "", headlines: Sequence[str] = (), notes: Sequence[str] = (),
                 glossary: bool = True) -> str:
    """Assemble the HTML page (a string) from a Jinja2 template with autoescape.

    See :func:`write_report` to write it.

    Parameters
    ----------
    sections : sequence of Section
    title, subtitle, banner, footer : str
        Plain text (escaped).
    methods : sequence of str
        Methods paragraphs (see :func:`methods_paragraphs`).
    key_numbers : mapping, optional
        Embedded as JSON for machine checking (NaN becomes null).
    headlines : sequence of str
        The headline findings in plain words, shown in a box at the top.
    notes : sequence of str
        Notes and warnings from the library, grouped and de-duplicated (:func:`group_notes`).
    glossary : bool
        Add a glossary of the terms the page uses.

    Examples
    --------
    >>> page = build_report([Section("a", "Part A", unavailable="rs.site_model is not available")], title="T",
    ...                     headlines=["Scores were high <everywhere>."])
    >>> "not available" in page, "&lt;everywhere&gt;" in page, "Headline findings" in page
    (True, True, True)
    """
    from markupsafe import Markup

    secs = []
    texts: list[str] = list(headlines) + list(methods)
    columns: list[str] = []
    for s in sections:
        texts += list(s.paragraphs)
        tables = []
        for caption, frame in s.tables:
            tables.append(_table_model(caption, frame))
            columns += [str(c) for c in frame.columns]
        secs.append({"id": s.id, "title": s.title, "unavailable": strip_paths(s.unavailable or ""),
                     "paragraphs": [apa_text(strip_paths(p)) for p in s.paragraphs], "tables": tables,
                     "figures": [{"caption": strip_paths(c), "png": png} for c, png in s.figures]})
    numbers = ""
    if key_numbers is not None:
        payload = json.dumps(_jsonable(key_numbers), indent=1, allow_nan=False)
        numbers = Markup(payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    gloss = glossary_for(texts, columns) if glossary else {}
    return _env().get_template("report.html.j2").render(
        title=title, subtitle=strip_paths(subtitle), banner=banner, css=Markup(report_css()),
        headlines=[apa_text(strip_paths(h)) for h in headlines], sections=secs, notes=group_notes(notes),
        methods=[apa_text(strip_paths(m)) for m in methods], glossary=gloss, footer=strip_paths(footer), numbers=numbers)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if obj is pd.NA:
        return None
    if isinstance(obj, (_dt.date, Path)):
        return str(obj)
    return obj


def read_key_numbers(report_html: str) -> dict[str, Any]:
    """Read back the key numbers embedded in a report (for tests and other programs).

    >>> read_key_numbers(build_report([], title="t", key_numbers={"n": 3}))
    {'n': 3}
    """
    start_tag = '<script type="application/json" id="rs-key-numbers">'
    start = report_html.index(start_tag) + len(start_tag)
    end = report_html.index("</script>", start)
    return json.loads(report_html[start:end])


def write_report(path: str | Path, sections: Sequence[Section], **kwargs: Any) -> Path:
    """Write the report to ``path`` atomically (a temporary file, then a rename).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_report(os.path.join(tmp, "r.html"), [], title="Empty")
    ...     p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    """
    path = Path(path)
    page = build_report(sections, **kwargs)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
