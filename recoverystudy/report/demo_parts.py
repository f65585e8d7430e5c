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
from recoverystudy.audit.plots import compliance_plot
from recoverystudy.audit.report import published_team_table
from recoverystudy.report.html import Section, figure_to_base64, format_p
from recoverystudy.synthetic.review import simulated_review, simulated_second_coder

__all__ = ["PRIMARY", "headline_findings"]

PRIMARY = ("rsa_person_total", "es_total", "star_p_total", "wai_sr_total")
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

    def extend(self, messages: list[str]) -> None:
        """Add messages collected elsewhere (a worker process), skipping those already noted."""
        for msg in messages:
            if msg not in self.messages:
                self.messages.append(msg)


# --------------------------------------------------------------------------------------------------
# measurement invariance (a part of step 5 that needs only the answers: it can run in a worker process)
# --------------------------------------------------------------------------------------------------
_MI_DATASETS = 5


def invariance_part(run: Any) -> None:
    """Part of step 5 that needs only the survey answers: measurement invariance and imputation."""
    if (why := _missing("invariance")) is None and (why := _missing("mi_sensitivity")) is None:
        measurement_invariance_and_imputation(run)
    else:
        run.unavailable["invariance"] = why
        run.sections.append(Section("invariance", "Measurement invariance and missing answers", unavailable=why))


def measurement_invariance_and_imputation(run: Any) -> None:
    """Before England and Wales are compared: does STAR-P measure the same thing in both (invariance), and
    do the site comparisons change when missing answers are multiply imputed instead of prorated?"""
    study, notes, seed = run.study, run.notes, run.seed
    service_users = run.frames["service_users"]
    inst = rs.load_instrument("star-p", key=study.key_path("star-p"))
    inv = notes.run(rs.invariance, service_users, inst, group="country", missing="fiml")
    run.provenance.append(("Measurement invariance of STAR-P across countries", inv.provenance))
    run.tables["invariance_star_p"] = inv.to_frame()
    run.key["invariance_level"] = inv.level
    sens = notes.run(rs.mi_sensitivity, service_users, "star-p", site="site", m=_MI_DATASETS, seed=seed,
                     score_options={"key": study.key_path("star-p")}, scales=["star_p_total"])
    run.provenance.append(("Multiple-imputation sensitivity analysis (STAR-P)", sens.provenance))
    stab = sens.to_frame()
    run.tables["mi_sensitivity_star_p"] = stab
    run.key["mi_changed_conclusions"] = int((~stab["same_conclusion"].astype(bool)).sum()) \
        if "same_conclusion" in stab else None
    shown = [c for c in ("group1", "group2", "prorated_estimate", "pooled_estimate", "prorated_p_adj",
                         "pooled_p_adj", "fmi", "same_conclusion") if c in stab]
    run.sections.append(Section("invariance", "Measurement invariance and missing answers", paragraphs=[
        "Comparing the mean scores of England and Wales is only fair if the questionnaire measures the same thing "
        "in the same way in both (measurement invariance). The same factor model (STAR-P's three subscales) was "
        "fitted with more and more held equal between the countries: configural (same structure), metric (equal "
        "loadings) and scalar (equal loadings and intercepts); comparing means needs scalar invariance. Missing "
        "answers were used by full-information maximum likelihood.",
        *inv.summary().splitlines(),
        f"Sensitivity of the site comparisons to missing answers: the missing answers were imputed "
        f"{_MI_DATASETS} times (predictive mean matching within site; {_MI_DATASETS} data sets keep the demo fast, "
        "use 20 or more for a paper) and the results pooled by Rubin's rules.",
        *sens.summary().splitlines()],
        tables=[("Configural, metric and scalar models (STAR-P, England vs Wales)", inv.to_frame()),
                ("Site pairs: prorated scores beside multiply imputed ones (STAR-P total)", stab[shown])],
        figures=[("STAR-P standardised loadings by country and fit of the three models",
                  figure_to_base64(inv.plot()))]))


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


def _strongest(welch: Any, outcomes: list[str]) -> str | None:
    """The outcome with the largest Welch F (the clearest site difference), or None."""
    stats = {o: welch[o].omnibus["statistic"].iloc[0] for o in outcomes}
    stats = {o: v for o, v in stats.items() if np.isfinite(v)}
    return max(stats, key=stats.get) if stats else None


def _heatmap(frame: pd.DataFrame, title: str, *, fmt: str = "{:.2f}", cmap: str = "RdBu_r",
             vmin: float | None = -1, vmax: float | None = 1) -> str:
    import matplotlib.pyplot as plt

    if frame.shape[0] > 25 and all("/" in str(i) for i in frame.index):
        # readable at any number of codes: more than 25 codes are shown as their themes (sums)
        frame = frame.groupby([str(i).split("/", 1)[0] for i in frame.index]).sum()
        title = f"{title} (summed by theme)"
    frame = frame.rename(index=lambda i: str(i).rsplit("/", 1)[-1].replace("_", " "))
    fig, ax = plt.subplots(figsize=(max(5.5, 1.6 + 0.8 * frame.shape[1]), min(9.0, 1.4 + 0.38 * frame.shape[0])))
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

    # in_memory: the parts of the file are assembled in memory, not in temporary files written then deleted
    with xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False, "in_memory": True}) as wb:
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


def _restricted_folder(parent: Path) -> Path:
    """``parent/restricted``: owner-only (0700), for outputs holding verbatim interview text."""
    folder = parent / "restricted"
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    readme = folder / "README.txt"
    if not readme.exists():
        readme.write_text("RESTRICTED: files here quote interview text verbatim. Do not share them; the shareable "
                          "tables are in ../tables/.\n", encoding="utf-8")
    return folder


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
            # interviewer turns are never suggested; in this new project every suggestion just made is pending,
            # so what suggest returns is proj.suggestions()
            pending = notes.run(proj.suggest)
            # a SIMULATED reviewer reads each suggestion in context: accepts some, rejects others with a reason
            accept_ids, rejections = simulated_review(pending, iv, rng)
            proj.accept(accept_ids, coder="coder_a", accept_all=rejections.empty)
            for reason, grp in rejections.groupby("reason", sort=True):
                proj.reject(grp["suggestion_id"].tolist(), coder="coder_a", reason=reason)
            segs = proj.segments(coder="coder_a")
            # coder_b: a SIMULATED second coder blind-codes about a fifth of the transcripts
            double_coded, b = simulated_second_coder(segs, proj.codes(), rng, share=0.2)
            proj.code_many(b, coder="coder_b")
            site_of = iv.set_index("case")["site"]
            by_site = (segs.assign(site=segs["case"].map(site_of)).groupby(["code", "site"]).size()
                       .unstack(fill_value=0))
            tables["coded_segments_by_site"] = by_site.reset_index()
            decisions = proj.decisions()
            tables["review_decisions"] = (decisions.groupby(["status", "reason"]).size().rename("n_suggestions")
                                          .reset_index())
            key.update(n_suggestions=len(pending), n_accepted=len(accept_ids), n_rejected=len(rejections),
                       n_segments_coder_a=len(segs), n_segments_coder_b=len(proj.segments(coder="coder_b")),
                       n_double_coded_documents=len(double_coded))
            paragraphs.append(
                f"The codebook's keyword rules proposed {len(pending)} sentence-level suggestions in what participants "
                f"said (interviewer turns are never suggested). A SIMULATED reviewer read each in context, accepted "
                f"{len(accept_ids)} and rejected {len(rejections)} with a reason (tables/review_decisions.csv); "
                "nothing is coded without an accept call. coder_b, a SIMULATED second coder, blind-coded "
                f"{len(double_coded)} of the {len(iv)} transcripts (about a fifth) for the agreement check.")
            figures.append(("Coded segments per code and site (coder_a)",
                            _heatmap(by_site, "segments (coder_a)", fmt="{:.0f}", cmap="Blues", vmin=0, vmax=None)))
            if "chart" not in missing:
                charted = 0
                # one transaction for all cells (each chart call alone would commit and sync the file)
                with proj._tx():
                    charted = _chart_cells(proj, segs)
                key["n_charted_cells"] = charted
                paragraphs.append(
                    f"{charted} framework-matrix cells were given an AUTOMATIC summary (labelled as such, kept apart "
                    "from researcher-written ones): how many segments coder_a coded there and a short extract of what "
                    "the participant said. Interpretation is left to the research team.")
            if "framework_matrix" not in missing:
                matrix = proj.framework_matrix(group_by="site")
                tables["framework_matrix_counts"] = matrix.counts().reset_index()
                restricted = _restricted_folder(path.parent)
                matrix.to_excel(restricted / "framework_matrix.xlsx")
                paragraphs.append("The framework matrix holds verbatim extracts, so it is written only to the "
                                  "owner-only folder restricted/ (framework_matrix.xlsx, one sheet per theme) and kept "
                                  "in the project; tables/framework_matrix_counts.csv has the segment counts only.")
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
                figures.append(("Agreement between coder_a and coder_b per code (Cohen's kappa, sentence level, "
                                "pooled over the double-coded documents; red: below .60)",
                                figure_to_base64(agreement.plot())))
                overall = pd.concat([agreement.to_frame(), agreement_char.to_frame()], ignore_index=True)
                tables["agreement_overall"] = overall[overall["code"] == "(all codes)"].reset_index(drop=True)
    tabs = [(caption, tables[name]) for caption, name in
            (("Coded segments per code and site (coder_a)", "coded_segments_by_site"),
             ("Agreement between coder_a and coder_b over all codes (sentence and character level); per code in "
              "the figure and in tables/agreement_pooled.csv", "agreement_overall")) if name in tables]
    why = "; ".join(unavailable.values()) if unavailable else None
    section = Section("qualitative", "Interviews: Framework Method", paragraphs=paragraphs, tables=tabs,
                      figures=figures, unavailable=why)
    return section, tables, key, prov, unavailable


def _chart_cells(proj: Any, segs: pd.DataFrame) -> int:
    """Chart one cell per (case, code) of coder_a's segments: the count and a short extract.

    Cells in (case, code) order, each with its segments in their order in *segs* (the first gives the
    extract), as a sorted ``groupby`` would give them, read from plain lists: no per-group frames.  All
    cells are written by one ``chart_many`` call (the rows ``chart`` would write cell by cell).
    """
    ordered = segs.sort_values(["case", "code"], kind="stable")
    cases, codes = ordered["case"].tolist(), ordered["code"].tolist()
    texts, ids = ordered["text"].tolist(), ordered["segment_id"].tolist()
    cells: list[tuple[str, str, str, list[int]]] = []
    start, n = 0, len(cases)
    while start < n:
        end = start + 1
        while end < n and cases[end] == cases[start] and codes[end] == codes[start]:
            end += 1
        first = " ".join(str(texts[start]).split(": ", 1)[-1].split())   # without the speaker label
        extract = first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "..."
        summary = f"{end - start} coded segment(s) (coder_a). Extract: \u201c{extract}\u201d"
        cells.append((cases[start], codes[start], summary, ids[start:end]))
        start = end
    proj.chart_many(pd.DataFrame(cells, columns=["case", "code", "summary", "segments"]), author="demo",
                    automatic=True)
    return len(cells)


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
    # the team table exactly as `recoverystudy audit` publishes it: plans per criterion and team, * = suppressed
    team_table = published_team_table(audit, threshold=5)
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
    tables = {"audit_compliance": overall, "audit_plans_by_team_suppressed": team_table}
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
               ("Plans by criterion and team (pre-ratings; * = suppressed small count, as recoverystudy audit "
                "publishes it)", team_table)],
        figures=[("Proportion of plans meeting each criterion", figure_to_base64(compliance_plot(overall)))])
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


# --------------------------------------------------------------------------------------------------
# headlines
# --------------------------------------------------------------------------------------------------
def headline_findings(run: Any) -> list[str]:
    """The report's headline findings in plain words, written from the results of the run.

    Each sentence is built from numbers the steps recorded in ``run.key``; a part that did not run says so.
    """
    key, out = run.key, []
    welch = key.get("welch", {})
    primary = [o for o in PRIMARY if o in welch]
    differ = [o for o in primary if welch[o]["p_adj"] < 0.05]
    same = [o for o in primary if o not in differ]
    if differ:
        parts = [f"{_LABELS.get(o, o)} (Welch F({welch[o]['df1']:.0f}, {welch[o]['df2']:.2f}) = "
                 f"{welch[o]['F']:.2f}, adjusted {format_p(welch[o]['p_adj'])})" for o in differ]
        out.append("Scores differed between the six sites for " + "; ".join(parts) + ".")
    if same:
        out.append("There was no clear difference between sites for " + ", ".join(_LABELS.get(o, o) for o in same)
                   + " (adjusted p of .05 or more).")
    rel = key.get("reliability", {})
    totals = {k: v["alpha"] for k, v in rel.items() if k.endswith(":total") and np.isfinite(v["alpha"])}
    if totals:
        lo, hi = min(totals.values()), max(totals.values())
        out.append(f"The questionnaire totals were internally consistent: Cronbach's alpha from "
                   f"{lo:.2f} to {hi:.2f}.".replace(" 0.", " .").replace("to 0.", "to ."))
    icc = {k: v for k, v in key.get("icc", {}).items() if v is not None and np.isfinite(v)}
    if icc:
        out.append(f"Between {min(icc.values()):.0%} and {max(icc.values()):.0%} of the differences between people's "
                   "scores lay between sites (ICC); the rest lay between people at the same site.")
    level = key.get("invariance_level")
    if level:
        allows = {"scalar": "so comparing the two countries' mean scores is meaningful in principle",
                  "metric": "but not its intercepts, so mean scores should not be compared between the countries",
                  "configural": "only in its structure, so neither loadings nor means should be compared",
                  }.get(str(level), "")
        out.append(f"STAR-P measured the same thing in England and Wales up to {level} invariance"
                   + (f", {allows}." if allows else "."))
    if key.get("country"):
        out.append(("Even so, England" if level else "England") + " and Wales cannot be compared with confidence: "
                   "with four English and two Welsh sites no test can give p below .067, so the country contrasts "
                   "are exploratory descriptions.")
    ag = key.get("agreement_sentence")
    if ag and np.isfinite(ag.get("kappa", np.nan)):
        out.append(f"The two coders agreed with Cohen's kappa = {ag['kappa']:.2f} (sentence level).".replace(
            "= 0.", "= ."))
    if "audit_overall_met" in key:
        out.append(key["audit_overall_met"])
    for part in run.unavailable:
        out.append(f"Not available in this build: {part}.")
    return out
