"""The audit object: pre-ratings with evidence, reviewer confirmations, scorecards, agreement."""

from __future__ import annotations

from typing import Any

import html
from collections.abc import Callable

import numpy as np
import pandas as pd

from recoverystudy.audit.agreement import ReviewerAgreement, cohen_kappa_from_labels
from recoverystudy.audit.compliance import ComplianceTable, compliance_table
from recoverystudy.audit.confirmations import ConfirmationsMixin
from recoverystudy.audit.coverage import _COVERAGE_COLUMNS, _coverage_frame
from recoverystudy.audit.inputs import collect_plans
from recoverystudy.audit.parallel import prerate_many
from recoverystudy.audit.rubric import RATINGS, Rubric, load_rubric
from recoverystudy.errors import AuditError, UndefinedStatisticWarning
from recoverystudy.results import Result, base_provenance, frame_to_html

__all__ = ["CarePlanAudit", "ReviewerAgreement", "audit_care_plans", "cohen_kappa_from_labels"]


class CarePlanAudit(ConfirmationsMixin, Result):
    """Pre-ratings of care plans against a rubric, with evidence and reviewer confirmations.

    Create it with :func:`audit_care_plans`.  Pre-ratings never change; a reviewer's
    :meth:`confirm` is stored beside them, and both are reported.

    Attributes
    ----------
    rubric : Rubric
    plans : pandas.DataFrame
        plan_id, team, country, source_format, sha256, n_chars.
    prerated : pandas.DataFrame
        Long: plan_id, team, criterion, group, rating, rule (the rule that fired).
    evidence : pandas.DataFrame
        plan_id, criterion, evidence (rule name), start, end, sentence_start, sentence_end
        (code-point offsets into the plan text).
    skipped : pandas.DataFrame
        plan_id, path, reason - files that could not be read.
    confirmations : pandas.DataFrame
        Every confirmation in order: plan_id, criterion, rating, reviewer, note, confirmed_at (UTC).
    coverage : pandas.DataFrame
        For criteria with a coverage rule (the Welsh eight areas of life), one row per plan the
        criterion applies to: plan_id, team, country, criterion, coverage (rule name), n_covered,
        n_areas, areas (those with an outcome, "; "-separated) and one True/False column per area.
        Empty when no such criterion applies to any plan.  The counts are the pre-rater's.
    """

    def __init__(
        self,
        rubric: Rubric,
        plans: pd.DataFrame,
        texts: dict,
        prerated: pd.DataFrame,
        evidence: pd.DataFrame,
        skipped: pd.DataFrame,
        provenance: dict,
        coverage: pd.DataFrame | None = None,
    ):
        self.rubric = rubric
        self.plans = plans
        self._texts = texts
        self.prerated = prerated
        self.evidence = evidence
        self.skipped = skipped
        self.provenance = provenance
        self.coverage = coverage if coverage is not None else _coverage_frame(rubric, [], plans)
        self._confirmations: list[dict] = []


    def ratings(self, source: str = "final") -> pd.DataFrame:
        """Long ratings: plan_id, team, criterion, group, rating, with *source*.

        ``"prerated"``: the machine's ratings.  ``"confirmed"``: the latest confirmation (any
        reviewer) where one exists, other pairs dropped.  ``"final"``: confirmed where confirmed,
        otherwise pre-rated.
        """
        if source not in ("final", "prerated", "confirmed"):
            raise ValueError(f"source must be one of 'final', 'prerated', 'confirmed'; got {source!r}.")
        base = self.prerated[["plan_id", "team", "criterion", "group", "rating"]]
        if source == "prerated":
            return base.copy()
        latest = self.confirmations.drop_duplicates(["plan_id", "criterion"], keep="last")
        merged = base.merge(
            latest[["plan_id", "criterion", "rating"]],
            on=["plan_id", "criterion"],
            how="left",
            suffixes=("_pre", ""),
        )
        if source == "confirmed":
            out = merged[merged["rating"].notna()].drop(columns="rating_pre")
        else:
            merged["rating"] = merged["rating"].where(merged["rating"].notna(), merged["rating_pre"])
            out = merged.drop(columns="rating_pre")
        return out.reset_index(drop=True)

    def review_conflicts(self) -> pd.DataFrame:
        """Plan x criterion pairs where reviewers' latest ratings differ, to settle at a team meeting.

        The final rating of such a pair is the most recent confirmation; this table makes sure the
        disagreement is seen rather than settled silently.

        Returns
        -------
        pandas.DataFrame
            ``plan_id, criterion, ratings`` (e.g. ``"R1: met; R2: not evidenced"``), ``final``.

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs
        >>> audit = rs.audit_care_plans(pd.DataFrame({"plan_id": ["p1"], "text": ["Review date: 1 May 2026"]}))
        >>> audit.confirm("p1", "qs14_review_date", "met", reviewer="R1")
        >>> audit.confirm("p1", "qs14_review_date", "not evidenced", reviewer="R2")
        >>> audit.review_conflicts()[["criterion", "ratings", "final"]].values.tolist()
        [['qs14_review_date', 'R1: met; R2: not evidenced', 'not evidenced']]
        """
        latest = self.confirmations.drop_duplicates(["plan_id", "criterion", "reviewer"], keep="last")
        cols = ["plan_id", "criterion", "ratings", "final"]
        if latest.empty:
            return pd.DataFrame(columns=cols)
        n_distinct = latest.groupby(["plan_id", "criterion"])["rating"].transform("nunique")
        clash = latest[n_distinct > 1]
        if clash.empty:
            return pd.DataFrame(columns=cols)
        grouped = clash.groupby(["plan_id", "criterion"], sort=False)
        out = grouped.apply(lambda g: "; ".join(f"{r}: {v}" for r, v in zip(g["reviewer"], g["rating"])),
                            include_groups=False).rename("ratings").reset_index()
        final = (self.confirmations.drop_duplicates(["plan_id", "criterion"], keep="last")
                 .set_index(["plan_id", "criterion"])["rating"])
        out["final"] = final.reindex(pd.MultiIndex.from_frame(out[["plan_id", "criterion"]])).to_numpy()
        return out[cols]

    # --- outputs ----------------------------------------------------------------------------------
    def scorecard(self, *, redact: bool = True, names=None, _quotes=None) -> pd.DataFrame:
        """Per-plan scorecard: one row per plan and criterion.

        Columns: plan_id, team, criterion, group, question, prerated, rule, confirmed,
        n_reviewers, reviewers_disagree (see :meth:`review_conflicts`), final, evidence (the quoted sentences, redacted unless ``redact=False``),
        evidence_offsets ("start-end; ..."), coverage (for a coverage criterion such as the Welsh
        eight areas of life: "3 of 8: education and training; ..."; otherwise empty).

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs
        >>> audit = rs.audit_care_plans(pd.DataFrame({"plan_id": ["p1"],
        ...     "text": ["Date of plan: 1/1/2025\\nReview date: 1/6/2025, ring 07700 900123 to change it"]}))
        >>> row = audit.scorecard().set_index("criterion").loc["qs14_review_date"]
        >>> row["prerated"], row["evidence"]
        ('met', 'Review date: 1/6/2025, ring [phone number] to change it | Date of plan: 1/1/2025')
        """
        from recoverystudy.audit.report import quote_evidence

        sc = self.prerated.rename(columns={"rating": "prerated"}).copy()
        questions = {c.id: c.question for c in self.rubric.criteria}
        sc.insert(4, "question", sc["criterion"].map(questions))
        latest = self.confirmations.drop_duplicates(["plan_id", "criterion", "reviewer"], keep="last")
        last_any = latest.drop_duplicates(["plan_id", "criterion"], keep="last")
        per_pair = latest.groupby(["plan_id", "criterion"])["rating"]
        n_rev = pd.DataFrame({"n_reviewers": per_pair.size(), "reviewers_disagree": per_pair.nunique() > 1}
                             ).reset_index()
        sc = sc.merge(
            last_any[["plan_id", "criterion", "rating"]].rename(columns={"rating": "confirmed"}),
            on=["plan_id", "criterion"],
            how="left",
        )
        sc = sc.merge(n_rev, on=["plan_id", "criterion"], how="left")
        sc["n_reviewers"] = sc["n_reviewers"].fillna(0).astype("int64")
        sc["reviewers_disagree"] = sc["reviewers_disagree"].fillna(False).astype(bool)
        sc["final"] = sc["confirmed"].where(sc["confirmed"].notna(), sc["prerated"])
        quotes, offsets = _quotes if _quotes is not None else quote_evidence(self, redact=redact, names=names)
        key = pd.MultiIndex.from_frame(sc[["plan_id", "criterion"]])
        sc["evidence"] = quotes.reindex(key).fillna("").to_numpy()
        sc["evidence_offsets"] = offsets.reindex(key).fillna("").to_numpy()
        sc["coverage"] = ""
        if len(self.coverage):
            cov = self.coverage.drop_duplicates(["plan_id", "criterion"]).set_index(["plan_id", "criterion"])
            text = (
                cov["n_covered"].astype(str)
                + " of "
                + cov["n_areas"].astype(str)
                + cov["areas"].map(lambda a: f": {a}" if a else "")
            )
            sc["coverage"] = text.reindex(key).fillna("").to_numpy()
        return sc

    def compliance(
        self, by: str | None = "team", *, source: str = "final", confidence: float = 0.95
    ) -> ComplianceTable:
        """Compliance per criterion, overall and (``by="team"``) per team, with Wilson CIs.

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs
        >>> df = pd.DataFrame({"plan_id": ["a", "b"], "team": ["T1", "T1"],
        ...                    "text": ["I have a copy of my plan.", "No copy."]})
        >>> t = rs.audit_care_plans(df).compliance().to_frame().set_index(["team", "criterion"])
        >>> row = t.loc[("All teams", "qs14_copy_given")]
        >>> int(row["n_met"]), int(row["n_applicable"]), float(row["proportion_met"])
        (1, 2, 0.5)
        """
        if by not in ("team", None):
            raise ValueError(f"by must be 'team' or None; got {by!r}.")
        return compliance_table(
            self.ratings(source),
            self.rubric.criterion_ids,
            {c.id: c.group for c in self.rubric.criteria},
            by_team=by == "team",
            confidence=confidence,
            source=source,
        )

    def reviewer_agreement(self, a: str, b: str, *, criteria=None) -> ReviewerAgreement:
        """Cohen's kappa between reviewers *a* and *b* over the plan-criterion pairs both rated.

        Matches ``sklearn.metrics.cohen_kappa_score`` (unweighted) per criterion and overall.

        Raises
        ------
        AuditError
            If the reviewers rated no pairs in common.
        """
        la, lb = self._latest(a), self._latest(b)
        both = la.merge(lb, on=["plan_id", "criterion"], suffixes=("_a", "_b"))
        if criteria is not None:
            both = both[both["criterion"].isin(list(criteria))]
        if both.empty:
            raise AuditError(f"Reviewers {a!r} and {b!r} have no plan-criterion ratings in common.")
        rows = []
        import warnings

        def one(name, d):
            kappa = cohen_kappa_from_labels(d["rating_a"], d["rating_b"])
            if np.isnan(kappa):
                warnings.warn(
                    f"Cohen's kappa is undefined for {name} (one rating category only); reported as NaN.",
                    UndefinedStatisticWarning,
                    stacklevel=3,
                )
            rows.append(
                {
                    "criterion": name,
                    "n_items": len(d),
                    "percent_agreement": 100.0 * float((d["rating_a"] == d["rating_b"]).mean()),
                    "kappa": kappa,
                }
            )

        for crit in self.rubric.criterion_ids:
            d = both[both["criterion"] == crit]
            if len(d):
                one(crit, d)
        one("all criteria", both)
        prov = base_provenance("cohen_kappa", weights="unweighted", categories=list(RATINGS))
        return ReviewerAgreement(pd.DataFrame(rows), a, b, prov)

    def scope(self) -> pd.DataFrame:
        """Which plans each criterion with ``applies_to`` was applied to.

        One row per scoped criterion: criterion, applies_to (e.g. "country: Wales"), n_plans,
        n_applied, n_not_applied, n_attribute_missing (plans with no value for the attribute, e.g.
        no country given - they are rated "not applicable" too).

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs
        >>> df = pd.DataFrame({"plan_id": ["a", "b", "c"], "text": ["I want a job."] * 3,
        ...                    "country": ["Wales", "England", None]})
        >>> scope = rs.audit_care_plans(df).scope()
        >>> scope.loc[0, "applies_to"], scope[["n_applied", "n_not_applied", "n_attribute_missing"]].iloc[0].tolist()
        ('country: Wales', [1, 2, 1])
        """
        rows = []
        for crit in self.rubric.criteria:
            if not crit.applies_to:
                continue
            mask = self.prerated["criterion"] == crit.id
            out = int((self.prerated.loc[mask, "rule"] == f"applies_to ({crit.scope})").sum())
            missing = 0
            for key, _ in crit.applies_to:
                col = self.plans[key] if key in self.plans.columns else pd.Series([None] * len(self.plans))
                missing = max(missing, int(col.map(lambda v: not isinstance(v, str) or not v.strip()).sum()))
            n = int(mask.sum())
            rows.append(
                {
                    "criterion": crit.id,
                    "applies_to": crit.scope,
                    "n_plans": n,
                    "n_applied": n - out,
                    "n_not_applied": out,
                    "n_attribute_missing": missing,
                }
            )
        cols = ["criterion", "applies_to", "n_plans", "n_applied", "n_not_applied", "n_attribute_missing"]
        return pd.DataFrame(rows, columns=cols)

    def coverage_summary(self, by: str | None = "team") -> pd.DataFrame:
        """Summary of the coverage counts (e.g. the eight areas of life), overall and per team.

        One row per (team, criterion, coverage rule), with ``All teams`` rows last: n_plans (plans
        the criterion applied to), mean_covered, median_covered, n_no_area, n_all_areas, then one
        column per area with the number of plans that have an outcome in it.  Pre-rater counts;
        no small-number suppression (the shared report applies it).

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs
        >>> df = pd.DataFrame({"plan_id": ["a", "b"], "country": ["Wales", "Wales"], "text": [
        ...     "Outcomes\\nAccommodation: I want to keep my flat.\\nWork and occupation: a job.",
        ...     "Outcomes\\nFinance and money: N/A"]})
        >>> row = rs.audit_care_plans(df).coverage_summary(by=None).iloc[0]
        >>> int(row["n_plans"]), float(row["mean_covered"]), int(row["accommodation"]), int(row["n_no_area"])
        (2, 1.0, 1, 1)
        """
        if by not in ("team", None):
            raise ValueError(f"by must be 'team' or None; got {by!r}.")
        cov = self.coverage
        area_cols = [c for c in cov.columns if c not in _COVERAGE_COLUMNS]
        cols = [
            "team",
            "criterion",
            "coverage",
            "n_plans",
            "mean_covered",
            "median_covered",
            "n_no_area",
            "n_all_areas",
        ] + area_cols
        if cov.empty:
            return pd.DataFrame(columns=cols)
        from recoverystudy.audit.compliance import ALL_TEAMS

        data = cov.assign(team=cov["team"].astype(object).where(cov["team"].notna(), "(no team)"))
        levels = [data] if by == "team" else []
        levels.append(data.assign(team=ALL_TEAMS))
        rows = []
        for d in levels:
            for (team, crit, name), g in d.groupby(["team", "criterion", "coverage"], sort=True):
                row = {
                    "team": team,
                    "criterion": crit,
                    "coverage": name,
                    "n_plans": len(g),
                    "mean_covered": float(g["n_covered"].mean()),
                    "median_covered": float(g["n_covered"].median()),
                    "n_no_area": int((g["n_covered"] == 0).sum()),
                    "n_all_areas": int((g["n_covered"] == g["n_areas"]).sum()),
                }
                for a in area_cols:
                    row[a] = int(g[a].fillna(False).astype(bool).sum())
                rows.append(row)
        return pd.DataFrame(rows, columns=cols)

    def write_report(
        self,
        out_dir,
        *,
        secret=None,
        log_path=None,
        names=None,
        threshold: int = 5,
        quotes: bool = True,
        restricted_dir=None,
        n_jobs: int | None = None,
        start_method: str | None = None,
        _workers: dict | None = None,
    ):
        """Write the shareable outputs (HTML, Excel, CSV, chart) to *out_dir*, and with a secret the
        person-level ones to a separate restricted folder; see :func:`write_audit_report` (*n_jobs*
        worker processes redact and scan; default: as many as the audit used)."""
        from recoverystudy.audit.report import write_audit_report

        return write_audit_report(
            self,
            out_dir,
            secret=secret,
            log_path=log_path,
            names=names,
            threshold=threshold,
            quotes=quotes,
            restricted_dir=restricted_dir,
            n_jobs=n_jobs,
            start_method=start_method,
            _workers=_workers,
        )

    def plan_text(self, plan: str) -> str:
        """The full (unredacted) text of one plan, for the reviewer."""
        if plan not in self._texts:
            raise AuditError(f"No plan {plan!r} in this audit.", plan=plan)
        return self._texts[plan]

    # --- Result views -------------------------------------------------------------------------------
    def plot(self) -> Any:
        """Proportion of plans meeting each criterion, with Wilson CIs (final ratings; a matplotlib Figure)."""
        return self.compliance(by=None).plot()

    def to_frame(self) -> pd.DataFrame:
        return self.ratings("final")

    def summary(self) -> str:
        n = len(self.plans)
        conf = self.confirmations
        lines = [
            (
                f"{n} care plan(s) pre-rated against {self.rubric.id} v{self.rubric.version} "
                f"({len(self.rubric.criteria)} criteria)."
            ),
            f"{len(self.skipped)} file(s) skipped." if len(self.skipped) else "No files skipped.",
            (
                f"{len(conf.drop_duplicates(['plan_id', 'criterion']))} of {n * len(self.rubric.criteria)} "
                "ratings confirmed by a reviewer."
            ),
        ]
        n_conflicts = len(self.review_conflicts())
        if n_conflicts:
            lines.append(f"Reviewers disagree on {n_conflicts} rating(s); the latest confirmation is used for now. "
                         "See audit.review_conflicts() and settle them.")
        for row in self.scope().itertuples():
            lines.append(
                f"{row.criterion} applies only to plans with {row.applies_to}: applied to {row.n_applied} of "
                f"{row.n_plans} plan(s)"
                + (
                    f" ({row.n_attribute_missing} had no {row.applies_to.split(':')[0]} given)."
                    if row.n_attribute_missing
                    else "."
                )
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        overall = self.compliance(by=None).to_frame()[
            ["criterion", "n_applicable", "proportion_met", "ci_low", "ci_high"]
        ]
        text = "".join(f"<p>{html.escape(line)}</p>" for line in self.summary().splitlines())
        return f"<div class='rs-result'><h4>CarePlanAudit</h4>{text}{frame_to_html(overall)}</div>"

    def __repr__(self) -> str:
        return f"<CarePlanAudit: {len(self.plans)} plans, {len(self.rubric.criteria)} criteria>"


def audit_care_plans(
    plans,
    rubric="care-plan-audit",
    *,
    team=None,
    country=None,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    start_method: str | None = None,
) -> CarePlanAudit:
    """Pre-rate care plans against an audit rubric, keeping the evidence for every rating.

    Parameters
    ----------
    plans : folder, list of paths, DataFrame or Project
        A folder of plans (.txt, .md, .docx, .odt, .rtf, .pdf), a list of files, a DataFrame
        with ``plan_id`` and ``text`` (and optionally ``team``), or a :class:`recoverystudy.Project`
        (its documents of kind "care_plan").
    rubric : str, path-like or Rubric, default="care-plan-audit"
    team : mapping, Series or str, optional
        plan_id -> team (e.g. from :func:`read_team_metadata`), or the name of a team column /
        case attribute.
    country : mapping, Series or str, optional
        plan_id -> country (e.g. ``read_plan_metadata(path, "country")``), or the name of a country
        column / case attribute.  A DataFrame's ``country`` column is used when present.  Criteria
        with ``applies_to: {country: [...]}`` - the Welsh eight areas of life - are rated only for
        plans from those countries (case-insensitive) and "not applicable" for all others,
        including plans with no country.
    n_jobs : int, default=1
        Worker processes (2 is a good choice for many thousands of plans).  Works with every
        start method (``fork`` on Linux, ``spawn`` on macOS and Windows); the process ids used are
        recorded in ``audit.provenance["workers"]``.
    progress : callable(done, total), optional
        Called as plans are rated.
    start_method : {"fork", "spawn", "forkserver"}, optional
        How worker processes are started (default: the platform's default).

    Returns
    -------
    CarePlanAudit

    Raises
    ------
    AuditError
        Missing folder, no files, duplicate plan ids.
    RubricError
        Invalid rubric.

    Notes
    -----
    Unreadable files (empty, binary, password-protected, corrupt, unsupported) are listed in
    ``audit.skipped`` with the reason; the run continues.

    Examples
    --------
    >>> import pandas as pd, recoverystudy as rs
    >>> df = pd.DataFrame({"plan_id": ["p1"], "text": ["My goals\\nI want to go back to work."]})
    >>> audit = rs.audit_care_plans(df)
    >>> audit.prerated.set_index("criterion").loc["qs14_own_goals", "rating"]
    'met'
    """
    rub = load_rubric(rubric)
    frame, skipped = collect_plans(plans, team=team, country=country)
    texts = frame["text"].tolist()
    attrs = None
    keys = sorted({key for crit in rub.criteria for key, _ in crit.applies_to})
    if keys:
        attrs = [dict(zip(keys, values)) for values in zip(*(frame[k].tolist() for k in keys))]
    workers: dict = {"start_method": "none (this process)", "n_processes": 1, "pids": []}
    chunks = (
        prerate_many(texts, rub, attrs=attrs, n_jobs=n_jobs, progress=progress, start_method=start_method,
                     workers=workers, compact=True)
        if texts
        else []
    )
    crit_ids = rub.criterion_ids
    groups = [c.group for c in rub.criteria]
    n, c = len(frame), len(crit_ids)
    plan_ids = frame["plan_id"].to_numpy(dtype=object)
    teams = frame["team"].to_numpy(dtype=object)
    prerated = pd.DataFrame(
        {
            "plan_id": np.repeat(plan_ids, c),
            "team": np.repeat(teams, c),
            "criterion": np.tile(np.array(crit_ids, dtype=object), n),
            "group": np.tile(np.array(groups, dtype=object), n),
            "rating": [r for chunk in chunks for r in chunk[2]],
            "rule": [r for chunk in chunks for r in chunk[3]],
        }
    )
    ev_cols = ["plan_id", "criterion", "evidence", "start", "end", "sentence_start", "sentence_end"]
    n_ev = sum(len(chunk[4][0]) for chunk in chunks)
    if n_ev:  # evidence rows in columns (a tuple per row would cost several times the memory)
        plan_i = np.concatenate([chunk[4][0] for chunk in chunks])
        crit_i = np.concatenate([chunk[4][1] for chunk in chunks])
        nums = np.concatenate([chunk[4][3] for chunk in chunks])
        evidence = pd.DataFrame({
            "plan_id": plan_ids[plan_i],
            "criterion": np.array(crit_ids, dtype=object)[crit_i],
            "evidence": np.array([name for chunk in chunks for name in chunk[4][2]], dtype=object),
            **{col: nums[:, k] for k, col in enumerate(ev_cols[3:])},
        })
    else:
        evidence = pd.DataFrame([], columns=ev_cols)
    results = [(i, None, None, None, cov) for chunk in chunks for i, cov in chunk[5]]
    del chunks
    plans_info = frame[["plan_id", "team", "country", "source_format", "sha256"]].copy()
    plans_info["n_chars"] = frame["text"].str.len().astype("int64")
    prov = base_provenance(
        "care_plan_audit",
        rubric=rub.id,
        rubric_version=rub.version,
        rubric_sha256=rub.sha256,
        rubric_verified=rub.verified,
        n_plans=n,
        n_skipped=len(skipped),
        rule_order="not applicable, met, partly met; otherwise not evidenced",
        n_jobs=n_jobs,
        workers=workers,
    )
    coverage = _coverage_frame(rub, results, plans_info)
    return CarePlanAudit(
        rub, plans_info, dict(zip(frame["plan_id"], texts)), prerated, evidence, skipped, prov, coverage
    )


