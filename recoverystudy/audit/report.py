"""Shareable audit outputs: HTML report, Excel workbook, CSV files and a chart - private by default.

The shareable folder holds aggregate tables only, built from suppressed team counts (suppression
checked across all the tables together).  Person-level outputs (scorecard with redacted evidence,
list of skipped plans, by keyed pseudonym) are written only when a secret is given, and only to a
separate folder labelled restricted.  The anonymisation log is identifiable: it is written only to
a path the user names, never inside the output folder.  Before anything is written, every output is
scanned for identifiers; if any is found nothing is written and :class:`PrivacyError` names the file
and the kind of identifier.  Files already in the folders are never deleted.
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing as mp
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recoverystudy.audit.render import (
    _chart_png, _csv_parts, _CsvParts, _html_text, _pseudonyms, _restricted_readme, _scope_notes, _xlsx_bytes,
)
from recoverystudy.audit.compliance import ALL_TEAMS
from recoverystudy.audit.parallel import WorkerPool
from recoverystudy.audit.published import mark_suppressed as mark_suppressed
from recoverystudy.audit.published import published_compliance as published_compliance
from recoverystudy.audit.published import published_coverage as published_coverage
from recoverystudy.audit.published import published_team_table as published_team_table
from recoverystudy.errors import PrivacyError
from recoverystudy.privacy.outputs import quote_parts_plain, scan_and_write, texts_clean, vouched_table
from recoverystudy.privacy.pseudonym import key_fingerprint, pseudonymise
from recoverystudy.privacy.redact import PROPOSAL_RULES, REDACTION_MARKERS, _redact_spans, redact_slice
from recoverystudy.results import Result, base_provenance

__all__ = [
    "AuditReport",
    "mark_suppressed",
    "published_compliance",
    "published_team_table",
    "published_coverage",
    "quote_evidence",
    "write_audit_report",
]

RESTRICTED_README = "README-RESTRICTED.txt"


#: Fewer plans with evidence than this are quoted in this process (starting workers would cost more).
_MIN_PARALLEL_PLANS = 2000
_TASK_PLANS = 500  # plans per task sent to a worker


_LOG_COLUMNS = ["plan_id", "criterion", "start", "end", "category", "rule", "replacement"]


def _quote_plans(task: tuple) -> tuple:
    """Redacted quotes of a batch of plans, in columns: (plan, criterion, quote, offsets, plain) per pair
    and (plan, criterion, start, end, category, rule) per logged redaction, plans and criteria as codes;
    and whether every distinct quoted sentence, redacted, is free of identifiers on its own (with *scan*).

    Each plan's identifiers are found once in its whole text (labels and names elsewhere in the plan
    count), and only the quoted sentences are cut out and redacted.  With *scan* each distinct redacted
    sentence is then scanned on its own, in this same pass, so that the final scan of the scorecard need
    not read it again under every criterion that quotes it (``plain``: the pair's sentences and offsets may
    be vouched for, see :func:`recoverystudy.privacy.outputs.quote_parts_plain`).  Run in this process or
    a worker.
    """
    first, texts, bounds, crits, starts, ends, names, redact, want_log, scan = task
    bounds, crits, starts, ends = bounds.tolist(), crits.tolist(), starts.tolist(), ends.tolist()
    q_plan, q_crit, quotes, offsets, plain = [], [], [], [], []
    log: tuple[list, ...] = ([], [], [], [], [], [])
    plain_of: dict[str, bool] = {}  # each distinct quoted sentence (and offsets) checked once
    for k, text in enumerate(texts):
        spans = _redact_spans(text, names, build_text=False)[1] if redact else []
        by_crit: dict = {}
        for r in range(bounds[k], bounds[k + 1]):
            by_crit.setdefault(crits[r], []).append((starts[r], ends[r]))
        cut: dict = {}  # a sentence quoted under several criteria is cut out and redacted once
        for crit, pairs in by_crit.items():
            seen, parts, offs = set(), [], []
            for ss, se in pairs:
                if (ss, se) in seen:
                    continue
                seen.add((ss, se))
                part = cut.get((ss, se))
                if part is None:
                    part = redact_slice(text, spans, ss, se) if redact else text[ss:se]
                    part = cut[ss, se] = part.replace("\n", " ")
                parts.append(part)
                offs.append(f"{ss}-{se}")
                if want_log:
                    for s, e, cat, rule in spans:
                        if s < se and e > ss:
                            for col, value in zip(log, (first + k, crit, s, e, cat, rule)):
                                col.append(value)
            q_plan.append(first + k)
            q_crit.append(crit)
            quotes.append(" | ".join(parts))
            offsets.append("; ".join(offs))
            if scan:
                parts.extend(offs)  # the offsets column is vouched for the same way, a pair at a time
                ok = True
                for p in parts:
                    v = plain_of.get(p)
                    if v is None:
                        v = plain_of[p] = quote_parts_plain([p])
                    ok = ok and v
                plain.append(ok)
    clean = scan and texts_clean(plain_of, names)
    # numpy arrays (and one list of strings per column): compact to send back from a worker and to keep
    return (np.array(q_plan, dtype=np.int64), np.array(q_crit, dtype=np.int64), quotes, offsets,
            tuple(np.array(c, dtype=np.int64) for c in log[:4]) + log[4:], np.array(plain, dtype=bool), clean)


def _quotes(audit, names, redact: bool, want_log: bool, pool, scan: bool = False) -> tuple:
    """(quotes, offsets, log frame or None, vouched) - see :func:`quote_evidence`; *vouched* (with
    *scan*): per pair, True where its quoted sentences were each found clean on their own and may be
    vouched for in the final scan (:func:`recoverystudy.privacy.outputs.vouched_table`)."""
    ev = audit.evidence
    plan_codes, plan_ids = pd.factorize(ev["plan_id"], use_na_sentinel=False)  # order of first appearance
    crit_codes, crit_ids = pd.factorize(ev["criterion"], use_na_sentinel=False)
    order = np.argsort(plan_codes, kind="stable")
    bounds = np.searchsorted(plan_codes[order], np.arange(len(plan_ids) + 1))
    crits = crit_codes[order]
    starts = ev["sentence_start"].to_numpy(dtype=np.int64)[order]
    ends = ev["sentence_end"].to_numpy(dtype=np.int64)[order]
    texts = [audit._texts[p] for p in plan_ids]
    names_list = list(names) if names else None
    n = len(plan_ids)
    parallel = pool is not None and pool.n_jobs > 1 and n >= _MIN_PARALLEL_PLANS
    size = max(1, min(_TASK_PLANS, -(-n // (4 * pool.n_jobs)))) if parallel else _TASK_PLANS
    tasks = []
    for a in range(0, n, size):
        b = min(a + size, n)
        lo, hi = bounds[a], bounds[b]
        tasks.append((a, texts[a:b], bounds[a : b + 1] - lo, crits[lo:hi], starts[lo:hi], ends[lo:hi],
                      names_list, redact, want_log, scan))
    del texts, crits, starts, ends
    done = pool.map(_quote_plans, tasks) if parallel else [_quote_plans(t) for t in tasks]
    del tasks

    def column(k: int, dtype=np.int64) -> np.ndarray:
        if dtype is object:
            return np.array([v for part in done for v in part[k]], dtype=object)
        return np.concatenate([np.asarray(part[k], dtype=dtype) for part in done])

    plan_ids = np.asarray(plan_ids, dtype=object)
    crit_ids = np.asarray(crit_ids, dtype=object)
    idx = pd.MultiIndex.from_arrays([plan_ids[column(0)], crit_ids[column(1)]], names=["plan_id", "criterion"])
    quotes = pd.Series(column(2, object), index=idx, dtype=object)
    offsets = pd.Series(column(3, object), index=idx, dtype=object)
    clean = scan and all(part[6] for part in done)
    vouched = pd.Series(column(5, bool) if clean else np.zeros(len(idx), dtype=bool), index=idx)
    log = None
    if want_log:
        cols = [np.concatenate([part[4][k] for part in done]) if k < 4
                else np.array([v for part in done for v in part[4][k]], dtype=object) for k in range(6)]
        log = pd.DataFrame({
            "plan_id": plan_ids[cols[0]], "criterion": crit_ids[cols[1]], "start": cols[2], "end": cols[3],
            "category": cols[4], "rule": cols[5],
            "replacement": np.array([REDACTION_MARKERS[c] for c in cols[4]], dtype=object),
        }) if len(cols[0]) else pd.DataFrame([], columns=_LOG_COLUMNS)
    del done
    return quotes, offsets, log, vouched


def quote_evidence(audit, *, redact: bool = True, names=None, log: list | None = None, pool=None):
    """Quoted evidence sentences per (plan_id, criterion), redacted; optionally fill *log*.

    Plans and criteria come in the order of their first evidence row; within a pair each sentence is
    quoted once.  *log* receives (plan_id, criterion, start, end, category, rule, replacement) for every
    identifier in a quoted sentence.  With *pool* (a :class:`~recoverystudy.audit.parallel.WorkerPool`)
    and many plans the redaction is shared out among its worker processes; the result is the same.
    """
    if audit.evidence.empty:
        empty = pd.Series(
            [], dtype=object, index=pd.MultiIndex.from_tuples([], names=["plan_id", "criterion"])
        )
        return empty, empty
    quotes, offsets, frame, _ = _quotes(audit, names, redact, log is not None, pool)
    if log is not None:
        log.extend(frame.itertuples(index=False, name=None))
    return quotes, offsets


@dataclass(frozen=True)
class AuditReport(Result):
    """What :func:`write_audit_report` wrote.

    Attributes
    ----------
    files : dict[str, str]
        Output name -> path (``html``, ``xlsx``, ``csv_overall``, ``csv_teams``, ``chart``; when a
        coverage criterion such as the Welsh eight areas of life applied to any plan,
        ``csv_coverage``; with a secret, in the restricted folder: ``csv_scorecard``,
        ``restricted_readme`` and, if files were skipped, ``csv_skipped``).
    person_level : bool
        True if person-level outputs were written (a secret was given).
    restricted_dir : str or None
        The folder labelled restricted that holds the person-level outputs (never the shareable one).
    log_path : str or None
    n_redactions : int
    n_suppressed_cells : int
    notes : tuple of str
    provenance : dict
    """

    files: dict
    person_level: bool
    restricted_dir: str | None
    log_path: str | None
    n_redactions: int
    n_suppressed_cells: int
    notes: tuple
    provenance: dict = field(default_factory=dict, compare=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"output": list(self.files), "path": list(self.files.values())})

    def summary(self) -> str:
        return "\n".join([f"Wrote {len(self.files)} file(s)."] + list(self.notes))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def write_audit_report(
    audit,
    out_dir,
    *,
    secret=None,
    log_path=None,
    names=None,
    threshold: int = 5,
    quotes: bool = True,
    confidence: float = 0.95,
    restricted_dir=None,
    plans_dir=None,
    n_jobs: int | None = None,
    start_method: str | None = None,
    _workers: dict | None = None,
) -> AuditReport:
    """Write the audit's shareable outputs: ``report.html``, ``audit.xlsx``, CSV files and ``chart.png``.

    The shareable folder holds aggregate tables only.  Person-level outputs (the per-plan scorecard
    with redacted evidence, the list of skipped plans) are written - with a secret only - to a
    separate folder labelled restricted (*restricted_dir*, default ``<out_dir>-RESTRICTED`` beside
    it): a per-plan table grouped by team would otherwise give back every team count that
    small-number suppression hid.  Every file is scanned for identifiers before anything is written;
    nothing is written if one is found, and files already in the folders are never deleted.

    Parameters
    ----------
    audit : CarePlanAudit
    out_dir : path
        The shareable output folder (created if needed).
    secret : str, optional
        Secret for keyed pseudonyms (HMAC-SHA256) of plan ids.  Without it only aggregate outputs are
        written: no scorecard, no evidence quotes, no list of plan ids.  Never written anywhere.
    log_path : path, optional
        Where to write the anonymisation log (CSV: plan, criterion, offsets, category, rule,
        replacement, proposed - True for rule-found names and dates a reviewer should check; never
        the original text).  Must be outside *out_dir*.
    names : iterable of str, optional
        Names to redact in evidence quotes, besides the built-in identifier rules.
    threshold : int, default=5
        Small-number suppression: team-table counts from 1 to threshold-1 are hidden, with
        secondary suppression.
    quotes : bool, default=True
        Include redacted evidence sentences in person-level outputs.
    confidence : float, default=0.95
    restricted_dir : path, optional
        Folder for the person-level outputs (only with a secret).  Default: a folder beside
        *out_dir* named after it with ``-RESTRICTED``.  Must not be inside *out_dir* (nor contain it).
    plans_dir : path, optional
        The folder of the original plans: *out_dir* and *restricted_dir* may not be it, be inside
        it, or contain it (the CLI passes it).
    n_jobs : int, optional
        Worker processes for redacting the quoted evidence and scanning the outputs (default: as many
        as the audit used).  The files are the same with any number.
    start_method : {"fork", "spawn", "forkserver"}, optional
        How they are started (default: as for the audit, else the platform's default).

    Returns
    -------
    AuditReport

    Raises
    ------
    PrivacyError
        If *log_path* or *restricted_dir* lies inside *out_dir*, an output folder is (inside) the
        plans folder, or an identifier is found in an output before writing (then nothing is
        written; the error names the file and the kind of identifier, never the value).
    """
    out = Path(out_dir).expanduser().resolve()
    lp = Path(log_path).expanduser().resolve() if log_path is not None else None
    if lp is not None and _inside(lp, out):
        raise PrivacyError(
            f"The anonymisation log {str(log_path)!r} would be inside the output folder {str(out_dir)!r}; "
            "the log is identifiable, so write it somewhere that is not shared.",
            file=str(log_path),
        )
    if lp is not None and lp.is_dir():
        raise PrivacyError(
            f"The log path {str(log_path)!r} is a folder; give a file name.", file=str(log_path)
        )
    person_level = secret is not None
    restricted = None
    if person_level:
        restricted = (
            Path(restricted_dir).expanduser().resolve()
            if restricted_dir is not None
            else out.parent / f"{out.name}-RESTRICTED"
        )
        if _inside(restricted, out) or _inside(out, restricted):
            raise PrivacyError(
                f"The restricted folder {str(restricted)!r} and the shareable folder {str(out)!r} must be "
                "separate (neither inside the other): the restricted folder holds person-level outputs.",
                file=str(restricted),
            )
    if plans_dir is not None:
        src = Path(plans_dir).expanduser().resolve()
        for label, folder in (("output", out), ("restricted", restricted)):
            if folder is not None and (_inside(folder, src) or _inside(src, folder)):
                raise PrivacyError(
                    f"The {label} folder {str(folder)!r} must not be the plans folder {str(src)!r}, inside it, "
                    "or contain it: the original plans must never be shared or overwritten.",
                    file=str(folder),
                )
    if n_jobs is None:
        n_jobs = int(audit.provenance.get("n_jobs") or 1)
    if start_method is None:
        used = (audit.provenance.get("workers") or {}).get("start_method")
        start_method = used if used in mp.get_all_start_methods() else None
    pool = WorkerPool(n_jobs, start_method)
    try:
        return _write(audit, out, lp, person_level, restricted, secret, names, threshold, quotes, confidence,
                      pool, _workers)
    finally:
        pool.close()


def _write(audit, out, lp, person_level, restricted, secret, names, threshold, quotes, confidence, pool,
           workers) -> AuditReport:
    """The body of :func:`write_audit_report` once the folders are checked (*pool* redacts and scans)."""
    fingerprint = key_fingerprint(secret) if person_level else None
    rubric = audit.rubric
    published, rule, n_supp = published_compliance(audit, threshold, confidence=confidence)
    overall = published[published["team"] == ALL_TEAMS].drop(columns=["team"]).reset_index(drop=True)
    teams = published[published["team"] != ALL_TEAMS].reset_index(drop=True)
    criteria_df = rubric.to_frame()[["criterion", "group", "question", "citation", "applies_to"]]
    coverage = published_coverage(audit, threshold, published)
    redaction_log = pd.DataFrame([], columns=_LOG_COLUMNS)
    scorecard = None
    if person_level:
        vouched = None
        if audit.evidence.empty:
            precomputed = quote_evidence(audit)
        else:
            *precomputed, got, vouched = _quotes(audit, names, True, quotes, pool, scan=quotes)
            redaction_log = got if quotes else redaction_log
        sc = audit.scorecard(redact=True, names=names, _quotes=precomputed)
        del precomputed
        for col in ("question", "rule"):  # not written: no need to keep them
            if col in sc:
                del sc[col]
        sc.insert(0, "plan", _pseudonyms(sc["plan_id"], secret))
        keep = ["plan", "team", "criterion", "group", "prerated", "confirmed", "n_reviewers", "reviewers_disagree",
                "final"]
        if len(audit.coverage):
            keep.append("coverage")
        if quotes:
            keep += ["evidence", "evidence_offsets"]
        if quotes and vouched is not None and vouched.any():
            # the text of scorecard.csv, in parts of whole rows, and what the final scan reads of it: the
            # quotes scanned once each when they were redacted are blanked
            pairs = pd.MultiIndex.from_frame(sc[["plan_id", "criterion"]])
            row_vouched = vouched.reindex(pairs, fill_value=False).to_numpy(dtype=bool)
            del vouched
            del sc["plan_id"]
            # the file is made a part at a time as it is written, not held as text
            scorecard = vouched_table(sc, keep, ["evidence", "evidence_offsets"], row_vouched, names, _csv_parts,
                                      parts=_CsvParts(sc, keep))
            del row_vouched, pairs
        else:
            scorecard = _csv_parts(sc, keep)  # the text of scorecard.csv, in parts of whole rows
        del sc
    skipped_counts = audit.skipped["reason"].value_counts().rename_axis("reason").reset_index(name="n_files")
    skipped_list = None
    if person_level and len(audit.skipped):
        skipped_list = pd.DataFrame(
            {
                "plan": pseudonymise(audit.skipped["plan_id"], secret).to_numpy(),
                "reason": audit.skipped["reason"].to_numpy(),
            }
        )
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    notes = [
        (
            f"{len(audit.plans)} plan(s) audited against {rubric.id} v{rubric.version}; "
            f"{len(audit.skipped)} file(s) skipped."
        ),
        f"Small-number suppression: {rule}",
        "Identifiers in quoted evidence (NHS numbers, dates of birth - after a DOB label or next to a name -, "
        "phone numbers, e-mail addresses, full postcodes, hospital numbers, street addresses, names after "
        "titles, family or role words or name labels and their repeats"
        + (", and the supplied names list" if names else "")
        + ") are replaced by markers such as [NHS number]. Names and dates found by rules rather than the "
        "names list are proposals: they are redacted here and flagged proposed=True in the anonymisation log "
        "for a reviewer to check. Review and appointment dates are kept.",
    ]
    if person_level:
        notes.append(
            f"Person-level outputs (the per-plan scorecard with redacted evidence, the list of skipped plans) "
            f"were written to a separate folder labelled restricted ({restricted.name}), not to this shareable "
            "folder: grouped by team they would give back the counts hidden here. Do not share that folder. "
            f"Plan ids in it are pseudonymised with keyed HMAC-SHA256 (key fingerprint {fingerprint}); the "
            "secret is not stored in any output."
        )
    else:
        notes.append(
            "No secret was given, so person-level outputs (per-plan scorecard, evidence quotes, list "
            "of plan ids) were NOT written; only aggregate tables are included."
        )
    notes.extend(_scope_notes(audit, threshold, published))
    if rubric.notes:
        notes.append(f"Rubric notes: {rubric.notes}")
    notes.append(
        f"Anonymisation log written to a separate, non-shared location ({len(redaction_log)} entries)."
        if lp is not None
        else "No anonymisation log was requested."
    )
    n_conf = len(audit.confirmations.drop_duplicates(["plan_id", "criterion"]))
    notes.append(
        f"{n_conf} of {len(audit.prerated)} ratings were confirmed by a reviewer; the rest are "
        "machine pre-ratings. Both are reported."
    )

    files: dict[str, str] = {}
    contents: dict[Path, bytes | str] = {}
    png, chart_labels = _chart_png(published, rubric)
    contents[out / "chart.png"] = png
    files["chart"] = str(out / "chart.png")
    contents[out / "compliance_overall.csv"] = overall.to_csv(index=False)
    files["csv_overall"] = str(out / "compliance_overall.csv")
    contents[out / "compliance_by_team.csv"] = teams.to_csv(index=False)
    files["csv_teams"] = str(out / "compliance_by_team.csv")
    if len(coverage):
        contents[out / "coverage_overall.csv"] = coverage.to_csv(index=False)
        files["csv_coverage"] = str(out / "coverage_overall.csv")
    contents[out / "audit.xlsx"] = _xlsx_bytes(overall, teams, criteria_df, skipped_counts, notes, rubric, now, coverage)
    files["xlsx"] = str(out / "audit.xlsx")
    contents[out / "report.html"] = _html_text(overall, teams, criteria_df, skipped_counts, notes, rubric, now, png, coverage)
    files["html"] = str(out / "report.html")
    if restricted is not None:
        contents[restricted / RESTRICTED_README] = _restricted_readme(out, fingerprint, now)
        files["restricted_readme"] = str(restricted / RESTRICTED_README)
        contents[restricted / "scorecard.csv"] = scorecard
        files["csv_scorecard"] = str(restricted / "scorecard.csv")
        if skipped_list is not None:
            contents[restricted / "skipped_plans.csv"] = skipped_list.to_csv(index=False)
            files["csv_skipped"] = str(restricted / "skipped_plans.csv")
    # the last line of defence: scan everything, then write all (or nothing) - never deleting a file
    # that was there before
    out_created = not out.exists()
    restricted_created = restricted is not None and not restricted.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        if restricted is not None:
            restricted.mkdir(parents=True, exist_ok=True)
        scan_and_write(contents, names, extra_text={out / "chart.png": "\n".join(chart_labels)}, mapper=pool.map)
    except BaseException:
        for folder, created in ((restricted, restricted_created), (out, out_created)):
            if created and folder is not None and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # only an empty folder this run created
        raise
    if lp is not None:
        lp.parent.mkdir(parents=True, exist_ok=True)
        log = redaction_log
        if person_level:
            log.insert(1, "pseudonym", _pseudonyms(log["plan_id"], secret) if len(log) else [])
        log["proposed"] = log["rule"].isin(PROPOSAL_RULES)
        log["output"] = "evidence quote"
        log["written_at"] = now
        log.to_csv(lp, index=False)
    prov = base_provenance(
        "care_plan_audit_report",
        threshold=threshold,
        suppression_rule=rule,
        pseudonymisation="HMAC-SHA256" if person_level else None,
        key_fingerprint=fingerprint,
        confidence=confidence,
        **{k: audit.provenance.get(k) for k in ("rubric", "rubric_version")},
    )
    prov["workers"] = {"start_method": pool.start_method, "n_processes": pool.n_jobs, "pids": sorted(pool.pids)}
    if workers is not None:
        workers.update(prov["workers"])
    return AuditReport(
        files=files,
        person_level=person_level,
        restricted_dir=str(restricted) if restricted is not None else None,
        log_path=str(lp) if lp else None,
        n_redactions=len(redaction_log),
        n_suppressed_cells=n_supp,
        notes=tuple(notes),
        provenance=prov,
    )
