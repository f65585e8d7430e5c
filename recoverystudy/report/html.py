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
import html
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Section", "build_report", "figure_to_base64", "format_p", "methods_paragraphs", "read_key_numbers", "table_html",
           "write_report"]


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


def format_p(p: float) -> str:
    """APA-style p value: ``p < .001`` or ``p = .034``.

    >>> format_p(0.00004), format_p(0.0342), format_p(float("nan"))
    ('p < .001', 'p = .034', 'p not defined')
    """
    if p is None or not np.isfinite(p):
        return "p not defined"
    if p < 0.001:
        return "p < .001"
    return f"p = {p:.3f}".replace("0.", ".", 1)


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
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        if v != 0 and (abs(v) < 0.001 or abs(v) >= 1e6):
            return f"{v:.3g}"
        return f"{v:.4g}" if abs(v) >= 100 else f"{v:.3f}"
    return str(value)


def table_html(frame: pd.DataFrame, *, max_rows: int = 80, index: bool = False) -> str:
    """Render a table for the report (display rounding only; CSV/XLSX tables keep full precision).

    >>> "<td>0.123</td>" in table_html(pd.DataFrame({"x": [0.12345]}))
    True
    """
    shown = frame.reset_index() if index else frame
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for rec in shown.head(max_rows).itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td>{html.escape(_fmt_cell(v))}</td>" for v in rec) + "</tr>")
    more = ""
    if len(shown) > max_rows:
        more = f"<p class='note'>{len(shown) - max_rows} more rows are in the CSV/XLSX tables.</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


# ------------------------------------------------------------------------------------------------
# methods paragraph from provenance
# ------------------------------------------------------------------------------------------------
def _score_sentence(prov: Mapping[str, Any]) -> str:
    title = prov.get("instrument_title") or prov.get("instrument", "an instrument")
    version = prov.get("instrument_version")
    parts = []
    for sid, sc in (prov.get("scales") or {}).items():
        status = sc.get("status", "unknown")
        rule = sc.get("rule", "")
        parts.append(f"{sid} ({rule}; key provenance: {status})")
    refused = prov.get("refused") or {}
    sent = f"{title}{f' ({version})' if version else ''} was scored: " + "; ".join(parts) + "."
    if prov.get("key_label"):
        sent += f" Key file: {prov['key_label']}."
    codes = prov.get("non_answer_codes") or {}
    if codes:
        sent += " Non-answer codes treated as not answered: " + ", ".join(map(str, codes)) + "."
    if refused:
        sent += " Not scored because their keys are not established: " + ", ".join(refused) + "."
    return sent


def _compare_sentence(label: str, prov: Mapping[str, Any]) -> str:
    sent = f"{label}: {prov.get('test', prov.get('method'))}"
    if prov.get("posthoc"):
        sent += f" with {str(prov['posthoc']).replace('_', '-')} post-hoc comparisons"
        if prov.get("adjust"):
            sent += f" ({prov['adjust']} adjustment)"
    if prov.get("effect_size_ci"):
        sent += f"; effect-size CIs by {prov['effect_size_ci']}"
    if prov.get("n_boot"):
        sent += f" ({prov['n_boot']} resamples, seed {prov.get('seed')})"
    if prov.get("missing_data"):
        sent += f"; missing data: {prov['missing_data']}"
    if prov.get("r_reference"):
        sent += f". Matches R: {prov['r_reference']}"
    return sent + "."


def _reliability_sentence(label: str, prov: Mapping[str, Any]) -> str:
    boot = (f"percentile bootstrap CI for omega ({prov['n_boot']} resamples, seed {prov.get('seed')})"
            if prov.get("n_boot") else f"{prov.get('omega_ci_method', 'delta method')} CI for omega")
    return (f"{label}: Cronbach's alpha with a {prov.get('alpha_ci_method', 'Feldt')} CI and McDonald's omega total "
            f"({prov.get('omega_model', 'one factor')}); {prov.get('missing', 'pairwise')} handling of missing items; "
            f"{boot}. Matches {prov.get('matches', 'R psych')}.")


def _site_model_sentence(label: str, prov: Mapping[str, Any]) -> str:
    return (f"{label}: linear mixed model with a random intercept for site ({prov.get('estimation', 'REML')}; "
            f"{prov.get('optimizer', '')}); ICC CI by {prov.get('icc_ci_method', 'bootstrap')} "
            f"({prov.get('n_boot')} resamples, seed {prov.get('seed')}); design effect {prov.get('design_effect_formula', '')}"
            + (f"; fixed effects tested with {prov['ddf']} degrees of freedom" if prov.get("ddf") else "")
            + (f"; site variance: {prov['site_variance_test']}" if prov.get("site_variance_test") else "")
            + f". Matches {prov.get('matches', 'lme4')}.")


def _country_sentence(label: str, prov: Mapping[str, Any]) -> str:
    return (f"{label} (exploratory, {prov.get('exploratory_rule', 'few sites')}): site-level difference "
            f"{prov.get('group')} minus {prov.get('reference')}, with a permutation test ({prov.get('permutation', '')})"
            f"; wild cluster bootstrap: {prov.get('wild_bootstrap', '')}; and a mixed model "
            f"(random site intercept). Seed {prov.get('seed')}.")


def _correlate_sentence(label: str, prov: Mapping[str, Any]) -> str:
    return (f"{label}: {str(prov.get('correlation', '')).capitalize()} correlations ({prov.get('missing', '')}), "
            f"CIs by {prov.get('ci_method', '')}, p by {prov.get('p_method', '')}, {prov.get('adjust')} adjustment. "
            f"Matches {prov.get('matches', '')}.")


def _audit_sentence(label: str, prov: Mapping[str, Any]) -> str:
    verified = "not verified by its publishers" if not prov.get("rubric_verified") else "verified"
    return (f"{label}: {prov.get('n_plans')} plans pre-rated by text rules against the rubric {prov.get('rubric')} "
            f"version {prov.get('rubric_version')} ({verified}; SHA-256 {str(prov.get('rubric_sha256', ''))[:12]}...); "
            f"rating order: {prov.get('rule_order', '')}; compliance with Wilson 95% CIs.")


_WRITERS = {"reliability": _reliability_sentence, "site_model": _site_model_sentence,
            "country_effect": _country_sentence, "correlate": _correlate_sentence,
            "care_plan_audit": _audit_sentence}


def _generic_sentence(label: str, prov: Mapping[str, Any]) -> str:
    skip = {"package", "package_version"}
    bits = []
    for k, v in prov.items():
        if k in skip or isinstance(v, (dict, list, tuple)) and len(str(v)) > 160:
            continue
        if v is None or v == "":
            continue
        bits.append(f"{k.replace('_', ' ')}: {v}")
    return f"{label}: " + "; ".join(bits) + "."


def methods_paragraphs(records: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Write methods sentences from ``(label, provenance)`` records, grouping identical methods.

    Sentences are generated only from what each result recorded; nothing is added by hand except the
    package version, which is itself recorded.

    Examples
    --------
    >>> recs = [("WAI-SR total", {"method": "compare_sites", "test": "Welch's ANOVA", "posthoc": "games_howell",
    ...          "adjust": "holm", "package_version": "0.1.0"})]
    >>> for line in methods_paragraphs(recs):
    ...     print(line)
    Analyses used recoverystudy 0.1.0.
    WAI-SR total: Welch's ANOVA with games-howell post-hoc comparisons (holm adjustment).
    """
    out: list[str] = []
    versions = set()
    seen: dict[str, list[str]] = {}
    for label, prov in records:
        if not prov:
            continue
        versions.add(prov.get("package_version"))
        method = prov.get("method")
        if method == "score":
            sentence = _score_sentence(prov)
            key = sentence
        elif method == "compare_sites":
            sentence = _compare_sentence("{labels}", prov)
            key = sentence
        elif method in _WRITERS:
            sentence = _WRITERS[method]("{labels}", prov)
            key = sentence
        else:
            sentence = _generic_sentence("{labels}", prov)
            key = sentence
        seen.setdefault(key, []).append(label)
    vers = ", ".join(sorted(str(v) for v in versions if v))
    out.append(f"Analyses used recoverystudy {vers}." if vers else "Analyses used recoverystudy.")
    for sentence, labels in seen.items():
        out.append(sentence.replace("{labels}", ", ".join(labels)))
    return out


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #2f6f8f;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em;display:block;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:.25em .55em;text-align:right;white-space:nowrap}
th{background:#eef3f7}td:first-child,th:first-child{text-align:left}
.banner{background:#fff4d6;border:1px solid #e0b84c;padding:.6em 1em;border-radius:6px}
.unavailable{background:#fdecec;border:1px solid #d77;padding:.6em 1em;border-radius:6px}
.note{color:#555;font-size:.9em}figure{margin:1em 0}figcaption{font-size:.9em;color:#444}
img{max-width:100%}nav ol{columns:2}.methods p{text-align:justify}
"""


def build_report(sections: Sequence[Section], *, title: str, subtitle: str = "", banner: str = "",
                 methods: Sequence[str] = (), key_numbers: Mapping[str, Any] | None = None,
                 footer: str = "") -> str:
    """Assemble the HTML page (a string).  See :func:`write_report` to write it.

    Parameters
    ----------
    sections : sequence of Section
    title, subtitle, banner, footer : str
        Plain text (escaped).
    methods : sequence of str
        Methods paragraphs (see :func:`methods_paragraphs`).
    key_numbers : mapping, optional
        Embedded as JSON for machine checking (NaN becomes null).

    Examples
    --------
    >>> page = build_report([Section("a", "Part A", unavailable="rs.site_model is not available")], title="T")
    >>> "not available" in page
    True
    """
    e = html.escape
    toc = "".join(f"<li><a href='#{e(s.id)}'>{e(s.title)}</a></li>" for s in sections)
    body = [f"<h1>{e(title)}</h1>"]
    if subtitle:
        body.append(f"<p class='note'>{e(subtitle)}</p>")
    if banner:
        body.append(f"<p class='banner'>{e(banner)}</p>")
    body.append(f"<nav><h3>Contents</h3><ol>{toc}"
                + ("<li><a href='#methods'>Methods</a></li>" if methods else "") + "</ol></nav>")
    for s in sections:
        body.append(f"<h2 id=\"{e(s.id)}\">{e(s.title)}</h2>")
        if s.unavailable:
            body.append(f"<p class='unavailable'><strong>Not available in this build.</strong> {e(s.unavailable)}</p>")
        for p in s.paragraphs:
            body.append(f"<p>{e(p)}</p>")
        for caption, frame in s.tables:
            body.append(f"<h3>{e(caption)}</h3>{table_html(frame)}")
        for caption, png in s.figures:
            body.append(f"<figure><img alt=\"{e(caption)}\" src=\"data:image/png;base64,{png}\">"
                        f"<figcaption>{e(caption)}</figcaption></figure>")
    if methods:
        body.append("<h2 id='methods'>Methods</h2><div class='methods'>"
                    + "".join(f"<p>{e(m)}</p>" for m in methods) + "</div>")
    if footer:
        body.append(f"<hr><p class='note'>{e(footer)}</p>")
    numbers = ""
    if key_numbers is not None:
        payload = json.dumps(_jsonable(key_numbers), indent=1, allow_nan=False)
        safe = payload.replace("</", "<\\/")
        numbers = f'<script type="application/json" id="rs-key-numbers">{safe}</script>'
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{e(title)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}{numbers}</body></html>")


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
    return json.loads(report_html[start:end].replace("<\\/", "</"))


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
