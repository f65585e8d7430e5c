"""The pieces the demo steps are built from: warning capture, figures and the three strands.

:mod:`recoverystudy.report.demo` runs the steps; this module holds what they call that is not itself a
step: :class:`_Notes` (library warnings collected for the report), the figures, and the qualitative,
audit and integration strands.  Nothing here prints.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import recoverystudy as rs
from recoverystudy.report.html import Section, figure_to_base64, format_p

__all__: list[str] = []

_LABELS = {"rsa_person_total": "RSA (person) total", "es_total": "Empowerment total",
           "star_p_total": "STAR-P total", "wai_sr_total": "WAI-SR total", "rsa_provider_total": "RSA (provider) total"}


def _missing(name: str) -> str | None:
    """Reason text when ``rs.<name>`` is not part of the installed recoverystudy (else None)."""
    if hasattr(rs, name):
        return None
    return (f"rs.{name} is not part of this version of recoverystudy (version {rs.__version__}), so this part "
            "of the pipeline was not run. Nothing in this section has been estimated or filled in.")


class _Notes:
    """Collect library warnings (shown in the report) instead of letting them scroll past."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = func(*args, **kwargs)
        for w in caught:
            if issubclass(w.category, rs.errors.RecoveryStudyWarning):
                msg = str(w.message)
                if msg not in self.messages:
                    self.messages.append(msg)
        return out


# --------------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------------
def _site_means_figure(comparisons: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    outcomes = list(comparisons)
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.2 * len(outcomes), 3.4), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes):
        d = comparisons[outcome].descriptives
        y = np.arange(len(d))
        ax.errorbar(d["mean"], y, xerr=[d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]], fmt="o",
                    color="#2f6f8f", capsize=3)
        ax.set_yticks(y, d["site"])
        ax.invert_yaxis()
        p = comparisons[outcome].omnibus["p"].iloc[0]
        ax.set_title(f"{_LABELS.get(outcome, outcome)}\nWelch {format_p(p)}", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_ylabel("site")
    fig.suptitle("Site means with 95% confidence intervals", fontsize=10)
    fig.tight_layout()
    return figure_to_base64(fig)


def _heatmap(frame: pd.DataFrame, title: str, *, fmt: str = "{:.2f}", cmap: str = "RdBu_r",
             vmin: float | None = -1, vmax: float | None = 1) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * frame.shape[1], 0.8 + 0.42 * frame.shape[0]))
    im = ax.imshow(frame.to_numpy(dtype=float), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(frame.shape[1]), frame.columns, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(frame.shape[0]), frame.index, fontsize=8)
    for (i, j), v in np.ndenumerate(frame.to_numpy(dtype=float)):
        if np.isfinite(v):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return figure_to_base64(fig)


def _compliance_figure(overall: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    d = overall.sort_values("proportion_met")
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(d) + 1))
    y = np.arange(len(d))
    ax.barh(y, d["proportion_met"], color="#2f6f8f", alpha=0.8)
    ax.errorbar(d["proportion_met"], y, xerr=[d["proportion_met"] - d["ci_low"], d["ci_high"] - d["proportion_met"]],
                fmt="none", color="black", capsize=2, lw=0.8)
    ax.set_yticks(y, d["criterion"], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("proportion of plans rated 'met' (pre-rating), with Wilson 95% CI")
    fig.tight_layout()
    return figure_to_base64(fig)


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts cannot go into a spreadsheet cell: write them as text."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, (list, dict, tuple, set))).any():
            out[col] = out[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return out


def _write_workbook(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Every table as one sheet of an .xlsx file, written column by column with xlsxwriter.

    Text is always written as text (a cell beginning with "=" is never a formula, a URL never a link);
    missing values are blank cells.

    >>> import tempfile, openpyxl
    >>> p = Path(tempfile.mkdtemp()) / "t.xlsx"
    >>> _write_workbook(p, {"a": pd.DataFrame({"x": [1.5, None], "y": ["=1+1", "b"], "n": [3, 4]})})
    >>> [[c.value for c in r] for r in openpyxl.load_workbook(p)["a"].iter_rows()]
    [['x', 'y', 'n'], [1.5, '=1+1', 3], [None, 'b', 4]]
    """
    import xlsxwriter

    with xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False}) as wb:
        for name, frame in tables.items():
            frame = _excel_safe(frame)
            ws = wb.add_worksheet(name[:31])
            ws.write_row(0, 0, [str(c) for c in frame.columns])
            for j, col in enumerate(frame.columns):
                values = frame[col]
                ws.write_column(1, j, [_cell(v) for v in values.tolist()])


def _cell(v: Any) -> Any:
    """A value as xlsxwriter writes it: blank for missing, text for infinities (as pandas writes them)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if v != v else (v if abs(v) != float("inf") else ("inf" if v > 0 else "-inf"))
    return v if isinstance(v, str) else str(v)


# --------------------------------------------------------------------------------------------------
# qualitative strand
# --------------------------------------------------------------------------------------------------
_QUAL_METHODS = ("suggest", "accept", "segments", "chart", "framework_matrix", "agreement")


def _qualitative(study: Any, path: Path, seed: int, notes: _Notes
                 ) -> tuple[Section, dict, dict, list, dict[str, str]]:
    for old in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if old.exists():
            old.unlink()
    iv = study.interviews
    rng = np.random.default_rng(seed)
    tables: dict[str, pd.DataFrame] = {}
    key: dict[str, Any] = {}
    prov: list[tuple[str, dict]] = []
    missing = [m for m in _QUAL_METHODS if not hasattr(rs.Project, m)]
    unavailable = {f"Project.{m}": (f"Project.{m} is not part of this version of recoverystudy, so this step "
                                    "was not run and nothing was filled in.") for m in missing}
    paragraphs: list[str] = []
    figures: list[tuple[str, str]] = []
    with rs.Project.create(path, codebook="care-planning-framework") as proj:
        proj.import_cases(iv[["case", "role", "site", "country", "team", "triad_id", "survey_id"]], case_col="case")
        proj.add_documents(iv[["name", "text", "case"]].assign(kind="interview"))
        n_turns = len(proj.turns())
        linked = int(iv["survey_id"].notna().sum())
        paragraphs.append(
            f"{len(iv)} transcripts were added to the project {path.name} with their cases and attributes (site, "
            f"role, triad, linked survey id); {n_turns} speaker turns were parsed. {linked} interviewees also "
            f"answered the survey, and {iv['triad_id'].nunique()} service user / carer / care coordinator triads "
            "are linked by triad_id.")
        key["n_turns"] = n_turns
        if not {"suggest", "accept", "segments"} & set(missing):
            suggestions = notes.run(proj.suggest)
            sid_col = "suggestion_id" if "suggestion_id" in suggestions.columns else suggestions.columns[0]
            all_ids = suggestions[sid_col].tolist()
            proj.accept(all_ids, coder="coder_a")
            segs = proj.segments(coder="coder_a")
            # coder_b: a SIMULATED second coder.  Of coder_a's segments, b codes 80% the same way, leaves 10%
            # uncoded and puts 10% under another code of the same theme (reproducible for the seed).
            u = rng.random(len(segs))
            codes = proj.codes()
            leaves = codes[codes["path"].str.contains("/", regex=False)]
            theme_codes = leaves.groupby("theme")["path"].apply(list).to_dict()
            other = [
                next((c for c in theme_codes.get(code.split("/")[0], []) if c != code), code)
                for code in segs["code"]
            ]
            b = segs.loc[u >= 0.10, ["document", "start", "end", "code"]].copy()
            swap = (u >= 0.10) & (u < 0.20)
            b.loc[swap[u >= 0.10], "code"] = [o for o, sw in zip(other, swap) if sw]
            proj.code_many(b, coder="coder_b")
            keep_b = u >= 0.10
            site_of = iv.set_index("case")["site"]
            by_site = (segs.assign(site=segs["case"].map(site_of)).groupby(["code", "site"]).size()
                       .unstack(fill_value=0))
            tables["coded_segments_by_site"] = by_site.reset_index()
            key.update(n_suggestions=len(all_ids), n_segments_coder_a=len(segs),
                       n_segments_coder_b=len(proj.segments(coder="coder_b")))
            paragraphs.append(
                f"The codebook's keyword rules proposed {len(all_ids)} sentence-level suggestions, and coder_a accepted "
                "all of them (nothing is coded without an accept call). coder_b is a SIMULATED second coder for "
                f"demonstrating agreement: of coder_a's {len(segs)} segments it codes {keep_b.mean():.0%} (of which "
                "about one in nine under another code of the same theme) and leaves the rest uncoded.")
            figures.append(("Coded segments per code and site (coder_a)",
                            _heatmap(by_site, "segments (coder_a)", fmt="{:.0f}", cmap="Blues", vmin=0, vmax=None)))
            if "chart" not in missing:
                charted = 0
                # one transaction for all cells (each chart call alone would commit and sync the file)
                with proj._tx():
                    charted = _chart_cells(proj, segs)
                key["n_charted_cells"] = charted
                paragraphs.append(
                    f"{charted} framework-matrix cells were charted. Each cell summary states only how many segments "
                    "coder_a coded there and quotes a short extract; interpretation is left to the research team.")
            if "framework_matrix" not in missing:
                matrix = proj.framework_matrix(group_by="site")
                frame = matrix.to_frame()
                tables["framework_matrix"] = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
                matrix.to_excel(path.with_name("framework_matrix.xlsx"))
                paragraphs.append("The framework matrix (rows: cases grouped by site; columns: codes) is in "
                                  "framework_matrix.xlsx, one sheet per theme, and in tables/framework_matrix.csv.")
            if "agreement" not in missing:
                agreement = proj.agreement("coder_a", "coder_b", unit="sentence")
                agreement_char = proj.agreement("coder_a", "coder_b", unit="character")
                tables["agreement_sentence"] = agreement.to_frame()
                tables["agreement_pooled"] = pd.concat(
                    [agreement.to_frame().query("pooled"), agreement_char.to_frame().query("pooled")], ignore_index=True)
                tables["agreement_character"] = agreement_char.to_frame()
                key["agreement_sentence"] = _pooled(agreement)
                key["agreement_character"] = _pooled(agreement_char)
                prov.append(("Inter-coder agreement", getattr(agreement, "provenance", {}) or {}))
                paragraphs.extend(line for line in agreement.summary().splitlines()[:2] if line.strip())
    tabs = [(caption, tables[name]) for caption, name in
            (("Coded segments per code and site (coder_a)", "coded_segments_by_site"),
             ("Agreement between coder_a and coder_b per code, pooled over documents (sentence and character level)",
              "agreement_pooled")) if name in tables]
    why = "; ".join(unavailable.values()) if unavailable else None
    section = Section("qualitative", "Interviews: Framework Method", paragraphs=paragraphs, tables=tabs,
                      figures=figures, unavailable=why)
    return section, tables, key, prov, unavailable


def _chart_cells(proj: Any, segs: pd.DataFrame) -> int:
    """Chart one cell per (case, code) of coder_a's segments: the count and a short extract."""
    charted = 0
    for (case, code), grp in segs.groupby(["case", "code"], sort=True):
        first = " ".join(str(grp["text"].iloc[0]).split())
        extract = first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "..."
        summary = f"{len(grp)} coded segment(s) (coder_a). Extract: \u201c{extract}\u201d"
        proj.chart(case, code, summary, segments=grp["segment_id"].tolist(), author="demo")
        charted += 1
    return charted


def _pooled(agreement: Any) -> dict[str, Any]:
    """The overall pooled agreement (all codes, all documents) as plain numbers."""
    row = agreement.pooled
    return {k: float(row[k]) for k in ("n_units", "percent_agreement", "kappa", "alpha") if k in row.index}


# --------------------------------------------------------------------------------------------------
# audit strand
# --------------------------------------------------------------------------------------------------
def _audit(study: Any, notes: _Notes) -> tuple[Section, dict, dict, list, Any]:
    plans = study.care_plans
    audit = notes.run(rs.audit_care_plans, plans[["plan_id", "text", "team", "country"]])
    comp = audit.compliance(by="team").to_frame()
    overall = comp[comp["team"] == "All teams"].drop(columns=["team"])
    by_team_counts = (audit.prerated.groupby(["team", "rating"]).size().unstack(fill_value=0))
    suppressed = rs.suppress_small_counts(by_team_counts, threshold=5)
    sup_frame = suppressed.to_frame() if hasattr(suppressed, "to_frame") else pd.DataFrame(suppressed)
    # redaction check: every planted (clearly fake) identifier must be caught
    planted = plans["planted_identifiers"].str.split("; ").explode().dropna()
    planted = planted[planted != ""]
    caught = 0
    kinds: dict[str, int] = {}
    for text, name, plist in zip(plans["text"], plans["person_name"], plans["planted_identifiers"]):
        red = rs.redact(text, names=[name])
        for cat, n in red.log["category"].value_counts().items():
            kinds[str(cat)] = kinds.get(str(cat), 0) + int(n)
        for item in filter(None, plist.split("; ")):
            caught += item.split("=", 1)[1] not in red.text
    tables = {"audit_compliance": comp, "audit_ratings_by_team_suppressed": sup_frame.reset_index()}
    key = {"audit": {"n_plans": int(plans.shape[0]),
                     "proportion_met": {r.criterion: r.proportion_met for r in overall.itertuples()},
                     "planted_identifiers": int(len(planted)), "planted_identifiers_caught": int(caught)}}
    section = Section("audit", "Care-plan audit", paragraphs=[
        f"{len(plans)} care plans were pre-rated against the bundled rubric ({audit.rubric.id} {audit.rubric.version}). "
        "Pre-ratings are suggestions found by rules in the text; a reviewer confirms or changes each one. "
        "'Not evidenced' means the rules found no evidence, not that the care did not happen.",
        "Team tables apply small-number suppression (counts below 5 suppressed, with secondary suppression so that "
        "totals cannot reveal a suppressed cell). No plan text or evidence quote appears in this report.",
        f"Redaction check: the synthetic plans carry {len(planted)} clearly fake identifiers (NHS numbers from the "
        f"999 test range, dates of birth, mobile numbers, example.org e-mails); rs.redact caught {caught} of them. "
        "Replacements by kind across all plans: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".",
    ], tables=[("Compliance per criterion, all teams (pre-ratings, Wilson 95% CIs)", overall),
               ("Pre-ratings by team (small counts suppressed)", sup_frame.reset_index())],
        figures=[("Proportion of plans meeting each criterion", _compliance_figure(overall))])
    return section, tables, key, [("Care-plan audit", getattr(audit, "provenance", {}) or {})], audit


# --------------------------------------------------------------------------------------------------
# integration strand
# --------------------------------------------------------------------------------------------------
def _integration(study: Any, project_path: Path, su_scores: pd.DataFrame, audit: Any, notes: _Notes
                 ) -> tuple[Section, dict, dict, list]:
    scores = su_scores[["respondent_id", "site", "star_p_total"]]
    with rs.Project.open(project_path) as proj:
        joint = notes.run(rs.joint_display, scores, proj, case_id="respondent_id", value="star_p_total", by=None)
        tri = notes.run(rs.triads, proj, scores[["respondent_id", "star_p_total"]], audit=audit,
                        plans=study.care_plans[["plan_id", "triad_id"]], value="star_p_total")
    jtab = joint.to_frame()
    cols = [c for c in ("theme", "theme_name", "n_with", "n_without", "median_with", "median_without", "statistic",
                        "p", "p_adj", "rank_biserial", "ci_low", "ci_high", "note") if c in jtab.columns]
    jtab = jtab[cols]
    status = tri.theme_status
    assessed = status[status["status"] != "not assessed"]
    agree = (pd.crosstab(assessed["theme_name"], assessed["status"])
             .reindex(columns=["agree", "differ", "none"], fill_value=0).reset_index())
    ftab = tri.to_frame()
    linked = int(ftab["plan_id"].notna().sum()) if "plan_id" in ftab else 0
    key = {"joint_display": {r.theme: {"n_with": int(r.n_with), "n_without": int(r.n_without),
                                       "p": None if pd.isna(r.p) else float(r.p)} for r in jtab.itertuples()},
           "triads": {"n_triads": int(len(ftab)), "n_with_plan": linked}}
    section = Section("integration", "Joint displays: scores by interview themes, and triads", paragraphs=[
        *joint.summary().splitlines()[:2],
        "Only numbers and theme names appear here; no interview text.",
        *tri.summary().splitlines()[:2],
        f"{linked} of {len(ftab)} triads are linked to their care plan's audit result (tables/triads_audit.csv holds "
        "pseudonymous case ids, theme names and audit counts only).",
    ], tables=[("STAR-P total of service users with and without coded material on each theme (Mann-Whitney U, "
                "rank-biserial r; Holm across themes)", jtab),
               ("Triads: in how many the theme came up in every account (agree), some (differ) or none", agree)])
    audit_cols = [c for c in ftab.columns if c in ("triad", "site", "plan_id") or c.startswith("audit_")
                  or c.startswith("status_")]
    tables = {"joint_display_star_p": jtab, "triads_theme_agreement": agree, "triads_audit": ftab[audit_cols]}
    prov = [("Joint display", joint.provenance), ("Triads", tri.provenance)]
    return section, tables, key, prov
