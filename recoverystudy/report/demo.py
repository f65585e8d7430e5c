"""The one-command demo: the whole recoverystudy pipeline on the synthetic six-site study.

``run_demo(out_dir, seed=0)`` generates the synthetic study, writes its raw files, reads the surveys back
from those files, and then

1. scores every instrument (missing-data report, reliability with alpha and omega);
2. compares the six sites on every score (Welch + Games-Howell, Kruskal-Wallis + Dunn) with effect sizes;
3. correlates the scales, fits a random-intercept site model (ICC), and contrasts England with Wales
   (labelled exploratory: six sites are too few clusters for a confirmatory country test);
4. builds a Framework Method project from the transcripts, accepts the codebook's suggestions as two
   synthetic coders, charts a framework matrix (cell summaries state the count of accepted segments and quote
   a short extract, nothing else) and measures inter-coder agreement;
5. audits the care plans against the bundled rubric, with small-count suppression and redaction checks;

and writes ``report.html`` (self-contained), CSV and XLSX tables and the project file into ``out_dir``.
A part whose library function is not available in the installed version is reported as such in the
report, never faked.

Nothing here prints: progress goes to an optional callback (the command line shows it with rich).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import recoverystudy as rs
from recoverystudy.audit.report import published_team_table
from recoverystudy.report.html import Section, figure_to_base64, format_p, methods_paragraphs, write_report
from recoverystudy.synthetic.review import simulated_review, simulated_second_coder

__all__ = ["DEMO_STEPS", "DemoResult", "run_demo"]

#: (population, instrument, synthetic key or None)
_INSTRUMENTS = (
    ("service_users", "rsa-person", None),
    ("service_users", "es", "es"),
    ("service_users", "star-p", "star-p"),
    ("service_users", "wai-sr", None),
    ("coordinators", "rsa-provider", None),
)
_LABELS = {"rsa_person_total": "RSA (person) total", "es_total": "Empowerment total",
           "star_p_total": "STAR-P total", "wai_sr_total": "WAI-SR total", "rsa_provider_total": "RSA (provider) total"}
_OMEGA_BOOT = 200
PRIMARY = ("rsa_person_total", "es_total", "star_p_total", "wai_sr_total")

DEMO_STEPS = ("Generating the synthetic study", "Scoring questionnaires", "Reliability", "Comparing sites",
              "Correlations, site model, England vs Wales", "Framework Method project", "Care-plan audit",
              "Joint displays", "Writing the report")


@dataclass
class DemoResult:
    """What the demo produced.

    Attributes
    ----------
    out_dir, report_path, project_path : pathlib.Path
    tables : dict of str -> DataFrame
        Every table written to ``out_dir/tables`` (CSV, and one sheet each in ``tables.xlsx``).
    key_numbers : dict
        The headline numbers embedded in the report (JSON), for checking against the library.
    unavailable : dict of str -> str
        Parts of the pipeline that were not available, with the reason shown in the report.
    notes : list of str
        Warnings raised by the library during the run (shown in the report).
    seconds, cpu_seconds : float
        Wall-clock and CPU time of the run (the CPU figure does not depend on other load on the machine).
    timings : dict of str -> float
        Seconds spent in each step of :data:`DEMO_STEPS`.
    """

    out_dir: Path
    report_path: Path
    project_path: Path | None
    tables: dict[str, pd.DataFrame]
    key_numbers: dict[str, Any]
    unavailable: dict[str, str]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


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


# --------------------------------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------------------------------
def run_demo(out_dir: str | Path, *, seed: int = 0, scale: float = 1.0,
             progress: Callable[[str, int, int], None] | None = None) -> DemoResult:
    """Run the whole pipeline on the synthetic six-site study and write a report.

    Parameters
    ----------
    out_dir : path
        Folder for ``report.html``, ``tables/`` (CSV + ``tables.xlsx``), ``project.rsqda`` and ``data/``
        (the raw synthetic files).  Created if needed; files of the same names are overwritten.
    seed : int, default=0
        Seed for the synthetic study and every bootstrap.
    scale : float, default=1.0
        Size of the synthetic study (see :func:`recoverystudy.synthetic.six_site_study`).
    progress : callable(step, index, n_steps), optional
        Called at the start of each step (see :data:`DEMO_STEPS`).

    Returns
    -------
    DemoResult

    Examples
    --------
    >>> import tempfile
    >>> from recoverystudy.report.demo import run_demo
    >>> with tempfile.TemporaryDirectory() as tmp:                     # doctest: +SKIP
    ...     result = run_demo(tmp, seed=0)
    ...     result.report_path.name
    'report.html'
    """
    t0, cpu0 = time.perf_counter(), time.process_time()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise rs.errors.RecoveryStudyError(f"--out {out} is a file; give a folder for the demo report.")
    out.mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(exist_ok=True)
    steps = iter(range(len(DEMO_STEPS)))

    timings: dict[str, float] = {}
    last = [None, time.perf_counter()]

    def step() -> None:
        i = next(steps)
        now = time.perf_counter()
        if last[0] is not None:
            timings[last[0]] = now - last[1]
        last[0], last[1] = DEMO_STEPS[i], now
        if progress is not None:
            progress(DEMO_STEPS[i], i, len(DEMO_STEPS))

    notes = _Notes()
    tables: dict[str, pd.DataFrame] = {}
    sections: list[Section] = []
    provenance: list[tuple[str, dict]] = []
    unavailable: dict[str, str] = {}
    key: dict[str, Any] = {"seed": seed, "scale": scale, "package_version": rs.__version__}

    # 1. data -------------------------------------------------------------------------------------
    step()
    study = rs.synthetic.six_site_study(seed=seed, scale=scale)
    paths = study.write(out / "data")
    service_users = rs.read_survey(paths["service_users"])
    coordinators = rs.read_survey(paths["coordinators"])
    key.update(n_service_users=len(service_users), n_coordinators=len(coordinators),
               n_interviews=len(study.interviews), n_care_plans=len(study.care_plans))
    sections.append(Section("study", "The synthetic study", paragraphs=[
        *study.summary().splitlines(),
        f"The raw files were written to {paths['service_users'].parent.parent} and the surveys were read back "
        "from those CSV files, exactly as a study team would start from their own files.",
    ], tables=[("Sites", study.sites.drop(columns=["relationship_effect"]))]))

    # 2. scoring ----------------------------------------------------------------------------------
    step()
    frames = {"service_users": service_users, "coordinators": coordinators}
    ids = {"service_users": "respondent_id", "coordinators": "coordinator_id"}
    scored: dict[str, Any] = {}
    missing_rows = []
    for pop, inst, synth_key in _INSTRUMENTS:
        key_path = study.key_path(synth_key) if synth_key else None
        res = notes.run(rs.score, frames[pop], inst, id_col=ids[pop], key=key_path)
        scored[inst] = res
        provenance.append((inst, res.provenance))
        rep = res.missing_report().reset_index()
        rep.insert(0, "instrument", inst)
        missing_rows.append(rep)
    su_scores = pd.concat([service_users[["respondent_id", "site", "country"]]]
                          + [scored[i].scores for p, i, _ in _INSTRUMENTS if p == "service_users"], axis=1)
    cc_scores = pd.concat([coordinators[["coordinator_id", "site", "country"]], scored["rsa-provider"].scores], axis=1)
    su_outcomes = [c for c in su_scores.columns if c not in ("respondent_id", "site", "country")]
    missing_report = pd.concat(missing_rows, ignore_index=True)
    tables["scores_service_users"] = su_scores
    tables["scores_coordinators"] = cc_scores
    tables["missing_data"] = missing_report
    key["n_scored"] = {c: int(su_scores[c].notna().sum()) for c in su_outcomes}
    key["n_scored"]["rsa_provider_total"] = int(cc_scores["rsa_provider_total"].notna().sum())
    refused = [f"{inst}: {', '.join(res.refused)}" for inst, res in scored.items() if getattr(res, "refused", None)]
    desc = su_scores.groupby("site")[list(PRIMARY)].mean().round(2).reset_index()
    sections.append(Section("scores", "Scores and missing data", paragraphs=[
        "Each questionnaire was scored from its bundled definition. The Empowerment Scale and STAR-P keys are not "
        "established in public sources, so they were scored with the SYNTHETIC keys shipped with the synthetic "
        "data (labelled synthetic: true; they are not the published keys). Non-answer codes (N/A, D/K, 9, 99, -9) "
        "count as not answered; a scale is scored when its minimum-answered rule holds, otherwise it is missing.",
        *(["Scales not scored because their keys are not established: " + "; ".join(refused) + "."] if refused else []),
    ], tables=[("Missing-data report (per instrument and scale)", missing_report),
               ("Mean scores by site (service users)", desc)]))

    # reliability
    step()
    rel_rows = []
    if (why := _missing("reliability")) is None:
        for pop, inst, synth_key in _INSTRUMENTS:
            res = scored[inst]
            prefix = inst.replace("-", "_") + "_"
            for scale_id in res.scores.columns:
                sid = scale_id[len(prefix):]
                n_items = len(rs.load_instrument(inst, key=study.key_path(synth_key) if synth_key else None)
                              .scales[sid].items)
                rel = notes.run(rs.reliability, frames[pop], inst, sid,
                                key=study.key_path(synth_key) if synth_key else None,
                                n_boot=_OMEGA_BOOT if n_items <= 12 else 0, seed=seed)
                f = rel.to_frame().set_index("statistic")
                rel_rows.append({"instrument": inst, "scale": sid, "n": rel.n, "n_items": rel.n_items,
                                 "alpha": rel.alpha, "alpha_ci_low": f.loc["alpha", "ci_low"],
                                 "alpha_ci_high": f.loc["alpha", "ci_high"], "omega_total": rel.omega,
                                 "omega_ci_low": rel.omega_ci[0], "omega_ci_high": rel.omega_ci[1]})
                if sid == "total":
                    provenance.append((f"Reliability of {inst}", rel.provenance))
        reliab = pd.DataFrame(rel_rows)
        tables["reliability"] = reliab
        key["reliability"] = {f"{r.instrument}:{r.scale}": {"alpha": r.alpha, "omega_total": r.omega_total}
                              for r in reliab.itertuples()}
        sections.append(Section("reliability", "Reliability", paragraphs=[
            "Cronbach's alpha (Feldt CI) and McDonald's omega total (one factor) for every scored scale, with "
            "pairwise handling of missing items as in R psych. Omega CIs are percentile bootstrap intervals "
            f"({_OMEGA_BOOT} resamples, seed {seed}) for scales of up to 12 items; for the 28- and 36-item totals the "
            "bootstrap is left out to keep the demo fast (blank CI), run rs.reliability(..., n_boot=1000) for it."],
            tables=[("Internal consistency", reliab)]))
    else:
        unavailable["reliability"] = why
        sections.append(Section("reliability", "Reliability", unavailable=why))

    # 3. site comparisons -------------------------------------------------------------------------
    step()
    primary = [o for o in PRIMARY if o in su_scores]
    secondary = [o for o in su_outcomes if o not in primary]
    # primary family: the four service-user totals (post-hoc comparisons, Holm across the family);
    # secondary family: the subscales (omnibus tests, Holm across the family)
    welch = notes.run(rs.compare_sites, su_scores, primary, "site", method="welch", seed=seed)
    kruskal = notes.run(rs.compare_sites, su_scores, primary, "site", method="kruskal", seed=seed, n_boot=1000)
    welch_cc = notes.run(rs.compare_sites, cc_scores, "rsa_provider_total", "site", method="welch", seed=seed)
    kruskal_cc = notes.run(rs.compare_sites, cc_scores, "rsa_provider_total", "site", method="kruskal", seed=seed,
                           n_boot=1000)
    frames_w = [welch.to_frame().assign(family="primary"), welch_cc.to_frame().assign(family="coordinators")]
    frames_k = [kruskal.to_frame().assign(family="primary"), kruskal_cc.to_frame().assign(family="coordinators")]
    if secondary:
        welch2 = notes.run(rs.compare_sites, su_scores, secondary, "site", method="welch", posthoc=False, seed=seed)
        kruskal2 = notes.run(rs.compare_sites, su_scores, secondary, "site", method="kruskal", posthoc=False,
                             seed=seed, n_boot=1000)
        frames_w.append(welch2.to_frame().assign(family="secondary (subscales)"))
        frames_k.append(kruskal2.to_frame().assign(family="secondary (subscales)"))
    w_tab = pd.concat(frames_w, ignore_index=True)
    k_tab = pd.concat(frames_k, ignore_index=True)
    tables["sites_welch"] = w_tab
    tables["sites_kruskal"] = k_tab
    posthoc = []
    for name, res in [*welch.items(), ("rsa_provider_total", welch_cc)]:
        ph = res.posthoc.copy()
        ph.insert(0, "outcome", name)
        ph.insert(1, "test", "Games-Howell")
        posthoc.append(ph)
    for name, res in [*kruskal.items(), ("rsa_provider_total", kruskal_cc)]:
        ph = res.posthoc.copy()
        ph.insert(0, "outcome", name)
        ph.insert(1, "test", "Dunn (Holm)")
        posthoc.append(ph)
    tables["sites_posthoc"] = pd.concat(posthoc, ignore_index=True)
    key["welch"] = {r.outcome: {"F": r.statistic, "df1": r.df1, "df2": r.df2, "p": r.p, "p_adj": r.p_adj}
                    for r in w_tab.itertuples()}
    key["kruskal"] = {r.outcome: {"H": r.statistic, "p": r.p, "p_adj": r.p_adj} for r in k_tab.itertuples()}
    provenance.append(("Site comparisons (Welch)", welch[primary[0]].provenance))
    provenance.append(("Site comparisons (Kruskal-Wallis)", kruskal[primary[0]].provenance))
    sentences = [welch[o].summary().splitlines()[0] for o in primary]
    sentences.append(welch_cc.summary().splitlines()[0])
    sig = [r.outcome for r in w_tab.itertuples() if r.family != "coordinators" and r.p_adj < 0.05]
    sections.append(Section("sites", "Differences between sites", paragraphs=[
        "Every score was compared across the six sites with Welch's ANOVA and with the Kruskal-Wallis test. "
        "For the four service-user totals (the primary family) and the coordinators' RSA total, post-hoc pairs "
        "are compared with Games-Howell (after Welch) and Dunn with Holm adjustment (after Kruskal-Wallis). "
        "P values are Holm-adjusted within each family (column p_adj): the primary totals, and the subscales.",
        *sentences,
        "Scores differing between sites after adjustment (Welch): "
        + (", ".join(_LABELS.get(o, o) for o in sig) or "none") + ".",
    ], tables=[("Welch's ANOVA (one row per score)", w_tab), ("Kruskal-Wallis (one row per score)", k_tab),
               ("Post-hoc pairs that differ after adjustment",
                tables["sites_posthoc"].loc[tables["sites_posthoc"]["p_adj"] < 0.05])],
        figures=[("Site means and 95% CIs; p from Welch's ANOVA",
                  _site_means_figure({o: welch[o] for o in primary}))]))

    # 4. correlations, site model, country ---------------------------------------------------------
    step()
    totals = [o for o in PRIMARY if o in su_scores]
    if (why := _missing("correlate")) is None:
        corr = notes.run(rs.correlate, su_scores, totals, method="spearman")
        ctab = corr.to_frame()
        tables["correlations"] = ctab
        provenance.append(("Correlations between the totals", corr.provenance))
        mat = pd.DataFrame(np.eye(len(totals)), index=totals, columns=totals)
        for r in ctab.itertuples():
            mat.loc[r.x, r.y] = mat.loc[r.y, r.x] = r.r
        key["correlations"] = {f"{r.x}~{r.y}": {"r": r.r, "p": r.p} for r in ctab.itertuples()}
        sections.append(Section("correlations", "Correlations between scales", paragraphs=[
            "Spearman correlations, pairwise complete, Holm-adjusted p values."],
            tables=[("Correlations", ctab)], figures=[("Spearman correlations", _heatmap(mat, "Spearman r"))]))
    else:
        unavailable["correlations"] = why
        sections.append(Section("correlations", "Correlations between scales", unavailable=why))

    if (why := _missing("site_model")) is None:
        rows = []
        for o in [*totals, "rsa_provider_total"]:
            data = cc_scores if o == "rsa_provider_total" else su_scores
            m = notes.run(rs.site_model, data, o, "site", seed=seed, n_boot=200)
            rows.append({"outcome": o, "variance_site": m.variance_site, "variance_residual": m.variance_residual,
                         "icc": m.icc, "icc_ci_low": m.icc_ci[0], "icc_ci_high": m.icc_ci[1],
                         "design_effect": m.design_effect, "singular": m.singular})
            if o == totals[0]:
                provenance.append(("Site model", m.provenance))
        mtab = pd.DataFrame(rows)
        tables["site_model"] = mtab
        key["icc"] = {r.outcome: r.icc for r in mtab.itertuples()}
        sections.append(Section("multilevel", "Site model (random intercept) and ICC", paragraphs=[
            "Linear mixed model with a random intercept for site (REML). The ICC is the share of variance between "
            "sites; its CI is a parametric bootstrap (200 resamples). Singular fits are reported, not hidden."],
            tables=[("Variance components and ICC", mtab)]))
    else:
        unavailable["site_model"] = why
        sections.append(Section("multilevel", "Site model (random intercept) and ICC", unavailable=why))

    if (why := _missing("country_effect")) is None:
        rows = []
        for o in [*totals, "rsa_provider_total"]:
            data = cc_scores if o == "rsa_provider_total" else su_scores
            ce = notes.run(rs.country_effect, data, o, "site", "country", seed=seed)
            rows.append({"outcome": o, "estimate": ce.estimate, "permutation_p": ce.permutation_p,
                         "p_floor": ce.p_floor, "wild_bootstrap_p": ce.wild_bootstrap_p,
                         "mixed_model_estimate": ce.mixed_model_estimate, "exploratory": ce.exploratory})
            if o == totals[0]:
                provenance.append(("England vs Wales", ce.provenance))
                first_summary = ce.summary()
        ctab = pd.DataFrame(rows)
        tables["england_vs_wales"] = ctab
        key["country"] = {r.outcome: {"estimate": r.estimate, "permutation_p": r.permutation_p}
                          for r in ctab.itertuples()}
        sections.append(Section("country", "England vs Wales (EXPLORATORY)", paragraphs=[
            "EXPLORATORY: with four English and two Welsh sites there are only 15 ways to assign the country labels, "
            "so no permutation p value can be smaller than 1/15 = 0.067. Treat these contrasts as descriptions, "
            "not tests.", first_summary], tables=[("Site-level country contrast", ctab)]))
    else:
        unavailable["country_effect"] = why
        sections.append(Section("country", "England vs Wales (EXPLORATORY)", unavailable=why))

    # 5. qualitative --------------------------------------------------------------------------------
    step()
    project_path = out / "project.rsqda"
    if (why := _missing("Project")) is None:
        qual_section, qual_tables, qual_key, qual_prov, qual_missing = _qualitative(study, project_path, seed, notes)
        unavailable.update(qual_missing)
        sections.append(qual_section)
        tables.update(qual_tables)
        key.update(qual_key)
        provenance.extend(qual_prov)
    else:
        project_path = None
        unavailable["framework_project"] = why
        sections.append(Section("qualitative", "Interviews: Framework Method", unavailable=why))

    # 6. audit -------------------------------------------------------------------------------------
    step()
    if (why := _missing("audit_care_plans")) is None:
        sec, atabs, akey, aprov, audit = _audit(study, notes)
        sections.append(sec)
        tables.update(atabs)
        key.update(akey)
        provenance.extend(aprov)
    else:
        audit = None
        unavailable["audit"] = why
        sections.append(Section("audit", "Care-plan audit", unavailable=why))

    # 7. joint displays (integration of the two strands) ---------------------------------------------
    step()
    if project_path is not None and audit is not None and "star_p_total" in su_scores:
        sec, itabs, ikey, iprov = _integration(study, project_path, su_scores, audit, notes)
        sections.append(sec)
        tables.update(itabs)
        key.update(ikey)
        provenance.extend(iprov)
    else:
        unavailable["joint_displays"] = "The joint displays need the project, the audit and the STAR-P scores."
        sections.append(Section("integration", "Joint displays", unavailable=unavailable["joint_displays"]))

    # 8. write -------------------------------------------------------------------------------------
    step()
    for name, frame in tables.items():
        frame.to_csv(out / "tables" / f"{name}.csv", index=False)
    with pd.ExcelWriter(out / "tables" / "tables.xlsx") as xl:
        for name, frame in tables.items():
            _excel_safe(frame).to_excel(xl, sheet_name=name[:31], index=False)
    if notes.messages:
        sections.append(Section("notes", "Notes from the library", paragraphs=notes.messages))
    if unavailable:
        sections.insert(0, Section("unavailable", "Parts not available in this build", paragraphs=[
            f"{part}: {why}" for part, why in unavailable.items()]))
    key["unavailable"] = sorted(unavailable)
    elapsed = time.perf_counter() - t0
    timings[last[0]] = time.perf_counter() - last[1]
    report = write_report(
        out / "report.html", sections,
        title="recoverystudy demo: a synthetic six-site study of care planning",
        subtitle=f"recoverystudy {rs.__version__}; seed {seed}; scale {scale}; generated in {elapsed:.1f} s.",
        banner="SYNTHETIC DATA. Every person, site, interview and care plan in this report is invented. "
               "Empowerment Scale and STAR-P scores use SYNTHETIC keys, not the published keys.",
        methods=methods_paragraphs(provenance), key_numbers=key,
        footer="Tables with full precision are in tables/ (CSV and tables.xlsx). The methods paragraphs above "
               "are generated from the provenance recorded by each result.")
    return DemoResult(out_dir=out, report_path=report, project_path=project_path, tables=tables, key_numbers=key,
                      unavailable=unavailable, notes=notes.messages, seconds=time.perf_counter() - t0,
                      cpu_seconds=time.process_time() - cpu0, timings=timings)


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts cannot go into a spreadsheet cell: write them as text."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, (list, dict, tuple, set))).any():
            out[col] = out[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return out


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
            notes.run(proj.suggest)  # interviewer turns are never suggested
            pending = proj.suggestions()
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
                for (case, code), grp in segs.groupby(["case", "code"], sort=True):
                    first = " ".join(str(grp["text"].iloc[0]).split(": ", 1)[-1].split())
                    extract = first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "..."
                    summary = f"{len(grp)} coded segment(s) (coder_a). Extract: \u201c{extract}\u201d"
                    proj.chart(case, code, summary, segments=grp["segment_id"].tolist(), author="demo",
                               automatic=True)
                    charted += 1
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
    tabs = [(caption, tables[name]) for caption, name in
            (("Coded segments per code and site (coder_a)", "coded_segments_by_site"),
             ("Agreement between coder_a and coder_b per code, pooled over documents (sentence and character level)",
              "agreement_pooled")) if name in tables]
    why = "; ".join(unavailable.values()) if unavailable else None
    section = Section("qualitative", "Interviews: Framework Method", paragraphs=paragraphs, tables=tabs,
                      figures=figures, unavailable=why)
    return section, tables, key, prov, unavailable


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
