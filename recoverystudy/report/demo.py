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
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import recoverystudy as rs
from recoverystudy.report.demo_parts import (
    PRIMARY,
    _audit,
    _heatmap,
    _integration,
    _LABELS,
    _missing,
    _Notes,
    _qualitative,
    _site_means_figure,
    _strongest,
    _write_workbook,
    headline_findings,
    invariance_part,
)
from recoverystudy.report.demo_workers import (
    _collect,
    _cpu_timed,
    _demo_jobs,
    _detached,
    _fewer_collections,
    _merge_detached,
    _mp_context,
    _render,
    check_study,
)
from recoverystudy.quant.plots import item_fit, score_distributions
from recoverystudy.stats.plots import forest_plot
from recoverystudy.report.html import Section, methods_paragraphs, write_report
from recoverystudy.report.word import write_docx

__all__ = ["DEMO_STEPS", "STEPS", "DemoResult", "DemoRun", "run_demo"]

#: (population, instrument, synthetic key or None)
_INSTRUMENTS = (
    ("service_users", "rsa-person", None),
    ("service_users", "es", "es"),
    ("service_users", "star-p", "star-p"),
    ("service_users", "wai-sr", None),
    ("coordinators", "rsa-provider", None),
)
#: Bootstrap size for a demo (the library's default is larger; the report states the size used).
_ICC_BOOT = 100

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
        Wall-clock and CPU time of the run, the CPU time of the work done by worker processes included (the
        CPU figure does not depend on other load on the machine).
    timings : dict of str -> float
        Seconds spent in each step of :data:`DEMO_STEPS` (the steps run by a worker as measured there:
        they overlap the statistics steps).
    processes : int
        Processes the run used: 1, or 3 (this one and two workers).
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
    processes: int = 1


# --------------------------------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------------------------------
@dataclass
class DemoRun:
    """The state the demo steps share: what each step reads from earlier steps and adds for later ones.

    Build one with :meth:`DemoRun.start`, then call the step functions in the order of :data:`STEPS`
    (each takes the run and fills in its part).  ``tables``, ``sections``, ``provenance``,
    ``unavailable`` and ``key`` collect what goes into the report; the other attributes are the data
    passed between steps (``None`` until the step that makes them has run).  With worker processes,
    ``pool`` is their executor and ``pending`` holds the parts they compute (see :meth:`part`).
    """

    out: Path
    seed: int = 0
    scale: float = 1.0
    notes: _Notes = field(default_factory=lambda: _Notes())
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    provenance: list[tuple[str, dict]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    key: dict[str, Any] = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)
    study: Any = None
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    scored: dict[str, Any] = field(default_factory=dict)
    su_scores: pd.DataFrame | None = None
    cc_scores: pd.DataFrame | None = None
    su_outcomes: list[str] = field(default_factory=list)
    project_path: Path | None = None
    audit: Any = None
    report_path: Path | None = None
    pending: dict[str, Any] = field(default_factory=dict)
    pool: Any = None
    worker_cpu: float = 0.0
    digest: str | None = None

    def figure(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A figure for the report: ``func(*args, **kwargs)`` (a matplotlib figure or its base64 PNG), drawn
        here, or by a worker process when there is one (then a future, resolved by :func:`write_outputs`)."""
        if self.pool is None:
            return _render(func, *args, **kwargs)
        return self.pool.submit(_cpu_timed, _render, func, *args, **kwargs)

    def part(self, func: Callable[[DemoRun], None]) -> None:
        """Run *func* on this run, or merge its results if a worker process has computed them (same order)."""
        future = self.pending.pop(func.__name__, None)
        if future is None:
            func(self)
        else:
            _merge_detached(self, _collect(future))

    @classmethod
    def start(cls, out_dir: str | Path, *, seed: int = 0, scale: float = 1.0) -> DemoRun:
        """Check and create the output folder (with ``tables/``) and start an empty run.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     run = DemoRun.start(tmp, seed=3)
        ...     (run.seed, run.key["seed"], (run.out / "tables").is_dir())
        (3, 3, True)
        """
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise rs.errors.RecoveryStudyError(f"--out {out} is a file; give a folder for the demo report.")
        out.mkdir(parents=True, exist_ok=True)
        (out / "tables").mkdir(exist_ok=True)
        return cls(out=out, seed=seed, scale=scale,
                   key={"seed": seed, "scale": scale, "package_version": rs.__version__})


def run_demo(out_dir: str | Path, *, seed: int = 0, scale: float = 1.0,
             progress: Callable[[str, int, int], None] | None = None, n_jobs: int | None = None,
             start_method: str | None = None) -> DemoResult:
    """Run the whole pipeline on the synthetic six-site study and write a report.

    The work is the sequence of step functions in :data:`STEPS` (one per entry of :data:`DEMO_STEPS`),
    each reading and filling a shared :class:`DemoRun`.

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
        Called at the start of each step (see :data:`DEMO_STEPS`), in order.
    n_jobs : int, optional
        1 runs every step in this process.  2 (or more) uses two CPUs: two worker processes build the
        Framework Method project and audit the care plans, fit the measurement-invariance models and draw
        the figures (work that needs only the generated study or the numbers already computed), while the
        statistics run here.  Default: 2 when this process may use two or more CPUs, else 1.  The report
        is the same either way (byte for byte apart from the run time it states).
    start_method : {"fork", "spawn", "forkserver"}, optional
        How the worker processes are started (default: the platform's, i.e. spawn on macOS and Windows).
        An error in a worker is raised here with its own type and message.

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
    cpu0 = time.process_time()
    jobs, ctx = _demo_jobs(n_jobs), _mp_context(start_method)
    run = DemoRun.start(out_dir, seed=seed, scale=scale)
    timings: dict[str, float] = {}
    pool, futures = None, []
    with _fewer_collections():   # the same work, far fewer full garbage collections
        try:
            if jobs > 1:   # the workers start at once: they generate their own copy of the study
                pool, futures = _start_workers(run, ctx)
            for i, (name, func) in enumerate(zip(DEMO_STEPS, STEPS, strict=True)):
                if progress is not None:
                    progress(name, i, len(DEMO_STEPS))
                started = time.perf_counter()
                if func in DETACHED and pool is not None:   # run by a worker: merge its results here, in order
                    part = _collect(run.pending.pop(func.__name__))
                    check_study(run, part)
                    _merge_detached(run, part)
                    timings[name] = part["timings"][name]   # as measured in the worker, concurrently
                    continue
                func(run)
                timings[name] = time.perf_counter() - started
                for future in futures:
                    if future.done() and future.exception() is not None:
                        _collect(future)   # a failed worker task stops the run now, with the worker's own error
                if func is generate_study and pool is not None:   # invariance needs the answers read back
                    future = pool.submit(_detached, DemoRun, [("invariance", invariance_part)], run.study,
                                         run.out, run.seed, run.scale, run.frames)
                    futures.append(future)
                    run.pending[invariance_part.__name__] = future
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    worker_cpu = run.worker_cpu + sum(f.result()["cpu_seconds"] for f in futures if f.done() and f.exception() is None)
    return DemoResult(out_dir=run.out, report_path=run.report_path, project_path=run.project_path,
                      tables=run.tables, key_numbers=run.key, unavailable=run.unavailable, notes=run.notes.messages,
                      seconds=time.perf_counter() - run.t0, cpu_seconds=time.process_time() - cpu0 + worker_cpu,
                      timings=timings, processes=1 if pool is None else 3)


def _start_workers(run: DemoRun, ctx: Any) -> tuple[ProcessPoolExecutor, list[Future]]:
    """Start two worker processes before step 1: one builds the Framework Method project (step 6), the other
    audits the care plans (step 7), each from its own copy of the study (see :func:`check_study`); the
    measurement-invariance models (wanted inside step 5), the figures and the Word file then go to whichever
    is free first."""
    run.pool = pool = ProcessPoolExecutor(max_workers=2, mp_context=ctx)
    names = dict(zip(STEPS, DEMO_STEPS))
    futures = [pool.submit(_detached, DemoRun, [(names[f], f)], None, run.out, run.seed, run.scale, None)
               for f in (framework_project, care_plan_audit)]
    run.pending.update({f.__name__: fut for f, fut in zip((framework_project, care_plan_audit), futures)})
    return pool, futures


# --------------------------------------------------------------------------------------------------
# the steps (in the order of DEMO_STEPS)
# --------------------------------------------------------------------------------------------------
def generate_study(run: DemoRun) -> None:
    """Step 1: generate the synthetic study, write its raw files and read the surveys back from them."""
    study = rs.synthetic.six_site_study(seed=run.seed, scale=run.scale)
    paths = study.write(run.out / "data")
    service_users = rs.read_survey(paths["service_users"])
    coordinators = rs.read_survey(paths["coordinators"])
    run.study = study
    run.frames = {"service_users": service_users, "coordinators": coordinators}
    run.key.update(n_service_users=len(service_users), n_coordinators=len(coordinators),
                   n_interviews=len(study.interviews), n_care_plans=len(study.care_plans))
    run.sections.append(Section("study", "The synthetic study", paragraphs=[
        *study.summary().splitlines(),
        f"The raw files were written to {paths['service_users'].parent.parent} and the surveys were read back "
        "from those CSV files, exactly as a study team would start from their own files.",
    ], tables=[("Sites", study.sites.drop(columns=["relationship_effect"]))]))


def score_questionnaires(run: DemoRun) -> None:
    """Step 2: score every instrument; the missing-data report and mean scores by site."""
    study, notes, tables = run.study, run.notes, run.tables
    service_users, coordinators = run.frames["service_users"], run.frames["coordinators"]
    ids = {"service_users": "respondent_id", "coordinators": "coordinator_id"}
    scored: dict[str, Any] = {}
    missing_rows = []
    for pop, inst, synth_key in _INSTRUMENTS:
        key_path = study.key_path(synth_key) if synth_key else None
        res = notes.run(rs.score, run.frames[pop], inst, id_col=ids[pop], key=key_path)
        scored[inst] = res
        run.provenance.append((inst, res.provenance))
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
    run.key["n_scored"] = {c: int(su_scores[c].notna().sum()) for c in su_outcomes}
    run.key["n_scored"]["rsa_provider_total"] = int(cc_scores["rsa_provider_total"].notna().sum())
    refused = [f"{inst}: {', '.join(res.refused)}" for inst, res in scored.items() if getattr(res, "refused", None)]
    desc = su_scores.groupby("site")[list(PRIMARY)].mean().round(2).reset_index()
    run.scored, run.su_scores, run.cc_scores, run.su_outcomes = scored, su_scores, cc_scores, su_outcomes
    run.sections.append(Section("scores", "Scores and missing data", paragraphs=[
        "Each questionnaire was scored from its bundled definition. The Empowerment Scale and STAR-P keys are not "
        "established in public sources, so they were scored with the SYNTHETIC keys shipped with the synthetic "
        "data (labelled synthetic: true; they are not the published keys). Non-answer codes (N/A, D/K, 9, 99, -9) "
        "count as not answered; a scale is scored when its minimum-answered rule holds, otherwise it is missing.",
        *(["Scales not scored because their keys are not established: " + "; ".join(refused) + "."] if refused else []),
    ], tables=[("Missing-data report (per instrument and scale)", missing_report),
               ("Mean scores by site (service users)", desc)],
        figures=[("Score distributions by site (service users; diamonds mark the means)",
                  run.figure(score_distributions, su_scores[[c for c in PRIMARY if c in su_scores]],
                             by=su_scores["site"]))]))


def estimate_reliability(run: DemoRun) -> None:
    """Step 3: alpha (Feldt CI) and omega total (bootstrap CI for short scales) for every scored scale."""
    study, notes, seed = run.study, run.notes, run.seed
    if (why := _missing("reliability")) is not None:
        run.unavailable["reliability"] = why
        run.sections.append(Section("reliability", "Reliability", unavailable=why))
        return
    rel_rows = []
    fit_fig = None
    for pop, inst, synth_key in _INSTRUMENTS:
        res = run.scored[inst]
        prefix = inst.replace("-", "_") + "_"
        for scale_id in res.scores.columns:
            sid = scale_id[len(prefix):]
            rel = notes.run(rs.reliability, run.frames[pop], inst, sid,
                            key=study.key_path(synth_key) if synth_key else None)
            f = rel.to_frame().set_index("statistic")
            rel_rows.append({"instrument": inst, "scale": sid, "n": rel.n, "n_items": rel.n_items,
                             "alpha": rel.alpha, "alpha_ci_low": f.loc["alpha", "ci_low"],
                             "alpha_ci_high": f.loc["alpha", "ci_high"], "omega_total": rel.omega,
                             "omega_ci_low": rel.omega_ci[0], "omega_ci_high": rel.omega_ci[1]})
            if sid == "total":
                run.provenance.append((f"Reliability of {inst}", rel.provenance))
                if inst == "wai-sr":
                    fit_fig = run.figure(item_fit, rel.items, alpha=rel.alpha, omega=rel.omega)
    reliab = pd.DataFrame(rel_rows)
    run.tables["reliability"] = reliab
    run.key["reliability"] = {f"{r.instrument}:{r.scale}": {"alpha": r.alpha, "omega_total": r.omega_total}
                              for r in reliab.itertuples()}
    run.sections.append(Section("reliability", "Reliability", paragraphs=[
        "Cronbach's alpha (Feldt CI) and McDonald's omega total (one factor) for every scored scale, with "
        "pairwise handling of missing items as in R psych. Omega CIs are delta-method intervals (normal theory, "
        "logit scale); run rs.reliability(..., ci=\"bootstrap\", n_boot=1000, seed=...) for percentile "
        "bootstrap intervals."],
        tables=[("Internal consistency", reliab)],
        figures=[("How well each WAI-SR item fits its total (corrected item-total correlation)", fit_fig)]
        if fit_fig else []))


def compare_site_scores(run: DemoRun) -> None:
    """Step 4: Welch + Games-Howell and Kruskal-Wallis + Dunn across sites, Holm within each family."""
    notes, seed, tables, su_scores, cc_scores = run.notes, run.seed, run.tables, run.su_scores, run.cc_scores
    primary = [o for o in PRIMARY if o in su_scores]
    secondary = [o for o in run.su_outcomes if o not in primary]
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
    run.key["welch"] = {r.outcome: {"F": r.statistic, "df1": r.df1, "df2": r.df2, "p": r.p, "p_adj": r.p_adj}
                        for r in w_tab.itertuples()}
    run.key["kruskal"] = {r.outcome: {"H": r.statistic, "p": r.p, "p_adj": r.p_adj} for r in k_tab.itertuples()}
    run.provenance.append(("Site comparisons (Welch)", welch[primary[0]].provenance))
    run.provenance.append(("Site comparisons (Kruskal-Wallis)", kruskal[primary[0]].provenance))
    sentences = [welch[o].summary().splitlines()[0] for o in primary]
    sentences.append(welch_cc.summary().splitlines()[0])
    sig = [r.outcome for r in w_tab.itertuples() if r.family != "coordinators" and r.p_adj < 0.05]
    run.sections.append(Section("sites", "Differences between sites", paragraphs=[
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
                  run.figure(_site_means_figure, {o: welch[o] for o in primary})),
                 *([(f"Games-Howell pairs for {_LABELS.get(strongest, strongest)} (second site minus first)",
                     run.figure(forest_plot, welch[strongest].posthoc, value=_LABELS.get(strongest, strongest)))]
                   if (strongest := _strongest(welch, primary)) and len(welch[strongest].posthoc) else [])]))


def correlations_model_country(run: DemoRun) -> None:
    """Step 5: Spearman correlations of the totals, the random-intercept site model (ICC), England vs Wales."""
    notes, seed, su_scores, cc_scores = run.notes, run.seed, run.su_scores, run.cc_scores
    totals = [o for o in PRIMARY if o in su_scores]
    if (why := _missing("correlate")) is None:
        corr = notes.run(rs.correlate, su_scores, totals, method="spearman")
        ctab = corr.to_frame()
        run.tables["correlations"] = ctab
        run.provenance.append(("Correlations between the totals", corr.provenance))
        mat = pd.DataFrame(np.eye(len(totals)), index=totals, columns=totals)
        for r in ctab.itertuples():
            mat.loc[r.x, r.y] = mat.loc[r.y, r.x] = r.r
        run.key["correlations"] = {f"{r.x}~{r.y}": {"r": r.r, "p": r.p} for r in ctab.itertuples()}
        run.sections.append(Section("correlations", "Correlations between scales", paragraphs=[
            "Spearman correlations, pairwise complete, Holm-adjusted p values."],
            tables=[("Correlations", ctab)], figures=[("Spearman correlations", run.figure(_heatmap, mat, "Spearman r"))]))
    else:
        run.unavailable["correlations"] = why
        run.sections.append(Section("correlations", "Correlations between scales", unavailable=why))

    if (why := _missing("site_model")) is None:
        rows = []
        models = {}
        for o in [*totals, "rsa_provider_total"]:
            data = cc_scores if o == "rsa_provider_total" else su_scores
            m = models[o] = notes.run(rs.site_model, data, o, "site", seed=seed, n_boot=_ICC_BOOT)
            rows.append({"outcome": o, "variance_site": m.variance_site, "variance_residual": m.variance_residual,
                         "icc": m.icc, "icc_ci_low": m.icc_ci[0], "icc_ci_high": m.icc_ci[1],
                         "design_effect": m.design_effect, "singular": m.singular,
                         "lrt_site_variance_p": float(m.site_variance_test["p"].iloc[1])})
            if o == totals[0]:
                run.provenance.append(("Site model", m.provenance))
        mtab = pd.DataFrame(rows)
        run.tables["site_model"] = mtab
        run.key["icc"] = {r.outcome: r.icc for r in mtab.itertuples()}
        run.sections.append(Section("multilevel", "Site model (random intercept) and ICC", paragraphs=[
            "Linear mixed model with a random intercept for site (REML). The ICC is the share of variance between "
            f"sites; its CI is a parametric bootstrap ({_ICC_BOOT} resamples, sized for a demo; the library's "
            "default is 500). Singular fits are reported, not hidden."],
            tables=[("Variance components and ICC", mtab)],
            figures=[(f"{_LABELS.get(top, top)}: each site's estimated effect (caterpillar plot), ICC = "
                      f"{models[top].icc:.2f}".replace("= 0.", "= ."), run.figure(models[top].plot))
                     for top in [max(models, key=lambda o: models[o].icc if np.isfinite(models[o].icc) else -1)]]))
    else:
        run.unavailable["site_model"] = why
        run.sections.append(Section("multilevel", "Site model (random intercept) and ICC", unavailable=why))

    run.part(invariance_part)   # computed by a worker process when there is one

    if (why := _missing("country_effect")) is None:
        rows = []
        for o in [*totals, "rsa_provider_total"]:
            data = cc_scores if o == "rsa_provider_total" else su_scores
            ce = notes.run(rs.country_effect, data, o, "site", "country", seed=seed)
            rows.append({"outcome": o, ce.estimate_column: ce.estimate, "permutation_p": ce.permutation_p,
                         "p_floor": ce.p_floor, "wild_bootstrap_p": ce.wild_bootstrap_p,
                         "mixed_model_estimate": ce.mixed_model_estimate, "exploratory": ce.exploratory})
            if o == totals[0]:
                run.provenance.append(("England vs Wales", ce.provenance))
                first_summary = ce.summary()
                country_fig = run.figure(ce.plot)
                direction_col = ce.estimate_column
        ctab = pd.DataFrame(rows)
        run.tables["england_vs_wales"] = ctab
        run.key["country"] = {o: {"estimate": est, "permutation_p": pp, "direction": direction_col}
                              for o, est, pp in zip(ctab["outcome"], ctab[direction_col], ctab["permutation_p"])}
        run.sections.append(Section("country", "England vs Wales (EXPLORATORY)", paragraphs=[
            "EXPLORATORY: with four English and two Welsh sites there are only 15 ways to assign the country labels, "
            "so no permutation p value can be smaller than 1/15 = 0.067. Treat these contrasts as descriptions, "
            "not tests.", first_summary], tables=[("Site-level country contrast (Wales minus England)", ctab)],
            figures=[(f"{_LABELS.get(totals[0], totals[0])}: the observed contrast among every assignment of the "
                      "country labels to the six sites", country_fig)]))
    else:
        run.unavailable["country_effect"] = why
        run.sections.append(Section("country", "England vs Wales (EXPLORATORY)", unavailable=why))


def framework_project(run: DemoRun) -> None:
    """Step 6: the Framework Method project from the transcripts (two synthetic coders, matrix, agreement)."""
    if (why := _missing("Project")) is not None:
        run.project_path = None
        run.unavailable["framework_project"] = why
        run.sections.append(Section("qualitative", "Interviews: Framework Method", unavailable=why))
        return
    run.project_path = run.out / "project.rsqda"
    qual_section, qual_tables, qual_key, qual_prov, qual_missing = _qualitative(
        run.study, run.project_path, run.seed, run.notes)
    run.unavailable.update(qual_missing)
    run.sections.append(qual_section)
    run.tables.update(qual_tables)
    run.key.update(qual_key)
    run.provenance.extend(qual_prov)


def care_plan_audit(run: DemoRun) -> None:
    """Step 7: audit the care plans against the bundled rubric (suppression and redaction checks)."""
    if (why := _missing("audit_care_plans")) is not None:
        run.audit = None
        run.unavailable["audit"] = why
        run.sections.append(Section("audit", "Care-plan audit", unavailable=why))
        return
    sec, atabs, akey, aprov, run.audit = _audit(run.study, run.notes)
    run.sections.append(sec)
    run.tables.update(atabs)
    run.key.update(akey)
    run.provenance.extend(aprov)


def joint_displays(run: DemoRun) -> None:
    """Step 8: joint displays integrating the qualitative and quantitative strands."""
    if run.project_path is not None and run.audit is not None and "star_p_total" in run.su_scores:
        sec, itabs, ikey, iprov = _integration(run.study, run.project_path, run.su_scores, run.audit, run.notes)
        run.sections.append(sec)
        run.tables.update(itabs)
        run.key.update(ikey)
        run.provenance.extend(iprov)
    else:
        run.unavailable["joint_displays"] = "The joint displays need the project, the audit and the STAR-P scores."
        run.sections.append(Section("integration", "Joint displays", unavailable=run.unavailable["joint_displays"]))


def write_outputs(run: DemoRun) -> None:
    """Step 9: write every table (CSV and ``tables.xlsx``), the self-contained ``report.html`` and
    ``report.docx`` (the Word file by a worker process, when there is one, while this one writes the rest)."""
    out, tables, sections, unavailable = run.out, run.tables, run.sections, run.unavailable
    for section in sections:   # figures drawn by a worker process
        for k, (caption, fig) in enumerate(section.figures):
            if isinstance(fig, Future):
                png, cpu = _collect(fig)
                section.figures[k] = (caption, png)
                run.worker_cpu += cpu
    if unavailable:
        sections.insert(0, Section("unavailable", "Parts not available in this build", paragraphs=[
            f"{part}: {why}" for part, why in unavailable.items()]))
    run.key["unavailable"] = sorted(unavailable)
    elapsed = time.perf_counter() - run.t0
    headlines = headline_findings(run)
    run.key["headlines"] = headlines
    common = dict(
        title="recoverystudy demo: a synthetic six-site study of care planning",
        subtitle=f"recoverystudy {rs.__version__}; seed {run.seed}; scale {run.scale}; generated in {elapsed:.1f} s.",
        banner="SYNTHETIC DATA. Every person, site, interview and care plan in this report is invented. "
               "Empowerment Scale and STAR-P scores use SYNTHETIC keys, not the published keys.",
        methods=methods_paragraphs(run.provenance), headlines=headlines, notes=run.notes.messages,
        footer="Tables with full precision are in tables/ (CSV and tables.xlsx). The methods paragraphs above "
               "are generated from the provenance recorded by each result.")
    docx = None if run.pool is None else run.pool.submit(_cpu_timed, write_docx, out / "report.docx", list(sections),
                                                         **common)
    for name, frame in tables.items():
        frame.to_csv(out / "tables" / f"{name}.csv", index=False)
    _write_workbook(out / "tables" / "tables.xlsx", tables)
    run.report_path = write_report(out / "report.html", sections, key_numbers=run.key, **common)
    if docx is None:
        write_docx(out / "report.docx", sections, **common)
    else:
        run.worker_cpu += _collect(docx)[1]


#: The step functions, one for each entry of :data:`DEMO_STEPS` (same order).
STEPS: tuple[Callable[[DemoRun], None], ...] = (
    generate_study, score_questionnaires, estimate_reliability, compare_site_scores, correlations_model_country,
    framework_project, care_plan_audit, joint_displays, write_outputs,
)
#: Steps that need only the generated study (not the scores): with ``n_jobs=2`` they run in a worker process.
DETACHED = (framework_project, care_plan_audit)
