"""Rendering of the shareable audit outputs in memory: chart (PNG), Excel workbook, HTML page, and the
README of the restricted folder, long CSV text in parts, pseudonyms of many rows.  Nothing here writes a file: :func:`write_audit_report` scans the
results and writes them all or none (:func:`recoverystudy.privacy.outputs.scan_and_write`).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from recoverystudy.audit.compliance import ALL_TEAMS
from recoverystudy.privacy.pseudonym import pseudonymise

__all__: list[str] = []


def _chart_png(published: pd.DataFrame, rubric) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    overall = published[published["team"] == ALL_TEAMS].set_index("criterion").reindex(rubric.criterion_ids)
    fig = Figure(figsize=(8, 0.42 * len(overall) + 1.4), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(overall))[::-1]
    met = overall["proportion_met"].to_numpy(float)
    either = overall["proportion_met_or_partly"].to_numpy(float)
    ax.barh(y, np.nan_to_num(either) * 100, color="#c6dbef", label="met or partly met")
    ax.barh(y, np.nan_to_num(met) * 100, color="#2171b5", label="met")
    lo = overall["ci_low"].to_numpy(float)
    hi = overall["ci_high"].to_numpy(float)
    ok = ~np.isnan(met)
    ax.errorbar(
        met[ok] * 100,
        y[ok],
        xerr=[np.clip(met - lo, 0, None)[ok] * 100, np.clip(hi - met, 0, None)[ok] * 100],
        fmt="none",
        ecolor="black",
        capsize=3,
        lw=1,
        label="95% CI (met)",
    )
    none_applicable = (overall["n_applicable"].fillna(-1) == 0).to_numpy()
    labels = [
        c if k else (f"{c} (not applicable)" if na else f"{c} (suppressed)")
        for c, k, na in zip(overall.index, ok, none_applicable)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of applicable plans")
    ax.set_title("Compliance per criterion, all teams")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    texts = [ax.get_title(), ax.get_xlabel(), *labels, *(t.get_text() for t in ax.get_legend().get_texts())]
    return buf.getvalue(), texts


_CSV_ROWS = 20_000  # rows per part of a long CSV text (each part formatted on its own: little held at once)


def _csv_parts(df: pd.DataFrame, columns: list[str]) -> list[str]:
    """``df[columns].to_csv(index=False)`` as a list of parts of whole rows (the same text when joined),
    so that a long table is never held twice over: in one string and its copy, or in a second frame."""
    return [
        df.iloc[i : i + _CSV_ROWS][columns].to_csv(index=False, header=i == 0)
        for i in range(0, max(len(df), 1), _CSV_ROWS)
    ]


class _CsvParts:
    """``_csv_parts(df, columns)`` made a part at a time each time it is read (for writing a long table
    without holding its text)."""

    def __init__(self, df: pd.DataFrame, columns: list[str]):
        self.df, self.columns = df, columns

    def __iter__(self):
        df, columns = self.df, self.columns
        for i in range(0, max(len(df), 1), _CSV_ROWS):
            yield df.iloc[i : i + _CSV_ROWS][columns].to_csv(index=False, header=i == 0)


def _pseudonyms(ids: pd.Series, secret) -> np.ndarray:
    """``pseudonymise(ids, secret)`` as an array, each distinct id keyed once (a plan has many rows)."""
    codes, uniques = pd.factorize(ids, use_na_sentinel=False)
    return pseudonymise(pd.Series(uniques, dtype=object), secret).to_numpy()[codes]


def _scope_notes(audit, threshold: int, published: pd.DataFrame) -> list[str]:
    """Plain-words notes saying which plans each criterion with ``applies_to`` was applied to.

    The counts are those of the published compliance table, so a number hidden there stays hidden.
    """
    notes = []
    overall = published[published["team"] == ALL_TEAMS].set_index("criterion")

    def count(k) -> str:
        if pd.isna(k):
            return "a suppressed number of"
        k = int(k)
        return str(k) if k == 0 or k >= threshold else f"fewer than {threshold}"

    for row in audit.scope().itertuples():
        attr = row.applies_to.split(":")[0]
        known = row.criterion in overall.index
        applied = overall.loc[row.criterion, "n_applicable"] if known else pd.NA
        other = overall.loc[row.criterion, "n_not_applicable"] if known else pd.NA
        if row.n_applied == 0:  # none in scope: every plan is out of it (the audited total is published)
            applied, other = 0, len(audit.plans)
        text = (
            f"Criterion {row.criterion} applies only to plans with {row.applies_to} (applies_to in the "
            f"rubric): it was applied to {count(applied)} plan(s) and rated 'not applicable' for "
            f"{count(other)} other plan(s)"
        )
        if row.n_attribute_missing:
            text += f", {count(row.n_attribute_missing)} of them with no {attr} given"
        if row.n_applied == 0:
            text += (
                f". No plan was given {row.applies_to}; give each plan's {attr} (country=, --country-from)"
            )
        notes.append(text + ".")
    return notes


def _restricted_readme(out: Path, fingerprint: str | None, now: str) -> str:
    return (
        "RESTRICTED - PERSON-LEVEL DATA - DO NOT SHARE\n\n"
        f"This folder was written by recoverystudy audit ({now} UTC) beside the shareable report folder "
        f"'{out.name}'. It holds person-level outputs: one row per plan and criterion (scorecard.csv), "
        "with redacted evidence sentences, and the list of skipped plans. Plans are identified by keyed "
        f"pseudonyms (key fingerprint {fingerprint}); with the secret they can be linked back to the plans.\n\n"
        "Grouped by team, these rows give back every small count that was suppressed in the shareable "
        "tables, so this folder must stay with the identifiable data: never e-mail it, never copy it into "
        "the shareable folder, and delete it when the review is finished.\n"
    )


def _fmt_pct(v) -> str:
    return "" if pd.isna(v) else f"{100 * v:.1f}%"


def _table_html(df: pd.DataFrame) -> str:
    shown = df.copy()
    for col in shown.columns:
        if col.startswith(("proportion", "ci_")):
            shown[col] = shown[col].map(_fmt_pct)
        elif str(shown[col].dtype) == "Int64":
            shown[col] = shown[col].map(lambda v: "*" if pd.isna(v) else str(int(v)))
    return shown.to_html(index=False, border=0, classes="rs", escape=True, na_rep="")


_CSS = """body{font-family:system-ui,Segoe UI,Arial,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table.rs{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}
table.rs th,table.rs td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
table.rs th{background:#eef3f9}.note{background:#fff8e1;padding:0.6em 1em;border-left:4px solid #f0b400}
h2{border-bottom:2px solid #2171b5;padding-bottom:3px}"""


def _xlsx_bytes(
    overall,
    teams,
    criteria_df,
    skipped_counts,
    notes,
    rubric,
    now,
    coverage=None,
):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("About")
    ws.column_dimensions["A"].width = 120
    title = WriteOnlyCell(ws, value="Care-plan audit")
    title.font = Font(bold=True, size=14)
    ws.append([title])
    ws.append([f"Rubric: {rubric.title} ({rubric.id} v{rubric.version})"])
    ws.append([f"Written (UTC): {now}"])
    for note in notes:
        ws.append([note])
    ws.append(["Suppressed counts are shown as *; percentages resting on them are left blank."])

    def cell_value(col, v):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return "*" if col.startswith("n_") else None
        if isinstance(v, (np.bool_, bool)):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return float(v)
        return v

    def sheet(name, df):
        s = wb.create_sheet(name)
        for k, col in enumerate(df.columns, start=1):
            s.column_dimensions[get_column_letter(k)].width = min(60, max(10, len(col) + 2))
        header = []
        for col in df.columns:
            c = WriteOnlyCell(s, value=col)
            c.font = Font(bold=True)
            header.append(c)
        s.append(header)
        cols = list(df.columns)
        for row in df.itertuples(index=False, name=None):
            s.append([cell_value(col, v) for col, v in zip(cols, row)])

    sheet("Overall", overall)
    sheet("By team", teams)
    if coverage is not None and len(coverage):
        sheet("Coverage", coverage)
    sheet("Criteria", criteria_df)
    sheet("Skipped files", skipped_counts)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _html_text(
    overall,
    teams,
    criteria_df,
    skipped_counts,
    notes,
    rubric,
    now,
    png,
    coverage=None,
):
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Care-plan audit - {e(rubric.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Care-plan audit</h1><p>{e(rubric.title)} ({e(rubric.id)} v{e(rubric.version)}). Written {e(now)} UTC.</p>",
        "<div class='note'>" + "".join(f"<p>{e(n)}</p>" for n in notes) + "</div>",
        "<h2>Compliance, all teams</h2>",
        f"<img alt='Compliance per criterion' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>",
        _table_html(overall),
        "<h2>Compliance by team</h2><p>Counts marked * are suppressed (see the rule above).</p>",
        _table_html(teams),
    ]
    if coverage is not None and len(coverage):
        parts += [
            (
                "<h2>Coverage: areas with an agreed outcome</h2><p>For the plans each criterion was applied "
                "to (for the Welsh eight areas of life: plans from Welsh services): how many have an agreed "
                "outcome in each area, in at least one and in all of them; 'areas' gives the mean and median "
                "number of areas covered per plan. Pre-rater counts. Counts marked * are suppressed.</p>"
            ),
            _table_html(coverage),
        ]
    parts += [
        "<h2>Criteria and sources</h2>",
        f"<p>{e(rubric.source)}</p>",
        _table_html(criteria_df),
        "<h2>Skipped files</h2>",
        _table_html(skipped_counts),
    ]
    parts.append("</body></html>")
    return "".join(parts)
