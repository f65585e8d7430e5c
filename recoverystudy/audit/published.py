"""The audit's published tables: team compliance and coverage after small-number suppression, and the
team table as ``recoverystudy audit`` publishes it (suppressed counts shown as ``*``).  Used by
:func:`recoverystudy.audit.report.write_audit_report` and the demo report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recoverystudy.audit.compliance import ALL_TEAMS
from recoverystudy.privacy.disclosure import TOTAL, suppress_linked, suppress_small_counts, suppression_rule

__all__ = ["mark_suppressed", "published_compliance", "published_coverage", "published_team_table"]

_RATING_COLS = ["n_met", "n_partly_met", "n_not_evidenced", "n_not_applicable"]


def published_compliance(audit, threshold: int = 5, *, confidence: float = 0.95):
    """Team compliance after small-number suppression: (table, rule, n_suppressed).

    Counts are nullable integers (``<NA>`` = suppressed); proportions and CIs are NaN wherever
    a count they rest on is suppressed.  ``All teams`` rows are the published totals.
    """
    comp = audit.compliance(by="team", confidence=confidence).to_frame()
    teams = comp.loc[comp["team"] != ALL_TEAMS]
    tables = {crit: d.set_index("team")[_RATING_COLS] for crit, d in teams.groupby("criterion", sort=False)}
    suppressed = suppress_linked(tables, threshold, keep=("n_met",)) if tables else {}
    out = comp.copy()
    for col in _RATING_COLS + ["n_plans", "n_applicable"]:
        out[col] = out[col].astype("Int64")
    # each row's suppression mask, gathered per criterion (columns: the rating counts, then Total)
    cols = _RATING_COLS + [TOTAL]
    hidden = np.zeros((len(out), len(cols)), dtype=bool)
    for crit, rows in out.groupby("criterion", sort=False).indices.items():
        res = suppressed.get(crit)
        if res is not None:
            teams = out["team"].iloc[rows].where(out["team"].iloc[rows] != ALL_TEAMS, TOTAL)
            hidden[rows] = res.suppressed.loc[teams.tolist(), cols].to_numpy(dtype=bool)
    h = dict(zip(cols, hidden.T))
    for col in _RATING_COLS:
        out.loc[h[col], col] = pd.NA
    out.loc[h[TOTAL], "n_plans"] = pd.NA
    hide_na = h[TOTAL] | h["n_not_applicable"]
    out.loc[hide_na, "n_applicable"] = pd.NA
    out.loc[hide_na | h["n_met"], ["proportion_met", "ci_low", "ci_high"]] = np.nan
    out.loc[hide_na | h["n_met"] | h["n_partly_met"],
            ["proportion_met_or_partly", "ci_low_met_or_partly", "ci_high_met_or_partly"]] = np.nan
    hidden_any = hidden.any(axis=1)
    n_cells = 0
    for res in suppressed.values():
        n_cells += res.n_suppressed
    out["suppressed"] = hidden_any
    return out, suppression_rule(threshold), n_cells


def published_coverage(audit, threshold: int = 5, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Coverage (e.g. the Welsh eight areas of life) over all plans a criterion applied to, suppressed.

    One row per (criterion, row): a row per area (plans with an outcome in it), then "at least one
    area" and "all areas".  Columns: criterion, coverage, row, n_plans, n_with_outcome,
    proportion_with_outcome, areas.  Counts from 1 to threshold-1 are hidden (``<NA>``) with
    secondary suppression (so the plans *without* an outcome cannot be worked out either); a
    proportion resting on a hidden count is NaN.  Rows "mean areas covered" and "median areas
    covered" (in ``areas``) are given only when at least *threshold* plans were rated.

    The table is kept consistent with the published compliance table (*published*, from
    :func:`published_compliance`; computed when not given): where that hides the criterion's
    overall number of applicable plans or of plans met, the same numbers are hidden here.
    """
    if published is None:
        published = published_compliance(audit, threshold)[0]
    overall = published[published["team"] == ALL_TEAMS].set_index("criterion")
    cols = ["criterion", "coverage", "row", "n_plans", "n_with_outcome", "proportion_with_outcome", "areas"]
    cov = audit.coverage
    frames = []
    if cov.empty:
        return pd.DataFrame(columns=cols)
    for (crit, name), g in cov.groupby(["criterion", "coverage"], sort=False):
        ev = audit.rubric.evidence[name]
        n = len(g)
        counts = {}
        for area, _ in ev.areas:
            counts[area] = int(g[area].fillna(False).astype(bool).sum())
        counts["at least one area"] = int((g["n_covered"] > 0).sum())
        counts[f"all {len(ev.areas)} areas"] = int((g["n_covered"] == g["n_areas"]).sum())
        table = pd.DataFrame(
            {"with": list(counts.values()), "without": [n - v for v in counts.values()]}, index=list(counts)
        )
        force = np.zeros((len(table) + 1, 3), dtype=bool)
        if crit in overall.index:
            if pd.isna(overall.loc[crit, "n_applicable"]):
                force[:, 2] = True  # the number of plans rated is hidden in the compliance table
            if pd.isna(overall.loc[crit, "n_met"]):
                force[list(counts).index("at least one area"), 0] = True  # = the plans met
        sup = suppress_small_counts(table, threshold, force=force)
        pub = sup.table.drop(index=TOTAL)
        hidden = sup.suppressed.drop(index=TOTAL)
        out = pd.DataFrame(
            {
                "criterion": crit,
                "coverage": name,
                "row": list(counts),
                "n_plans": pub[TOTAL].to_numpy(),
                "n_with_outcome": pub["with"].to_numpy(),
            }
        )
        ok = ~(hidden["with"] | hidden[TOTAL]).to_numpy()
        out["proportion_with_outcome"] = np.where(ok, table["with"].to_numpy() / max(n, 1), np.nan)
        out["areas"] = np.nan
        if n >= threshold and not hidden[TOTAL].any():
            extra = pd.DataFrame(
                {
                    "criterion": crit,
                    "coverage": name,
                    "row": ["mean areas covered", "median areas covered"],
                    "n_plans": pd.array([n, n], dtype="Int64"),
                    "n_with_outcome": pd.array([pd.NA, pd.NA], dtype="Int64"),
                    "proportion_with_outcome": [np.nan, np.nan],
                    "areas": [float(g["n_covered"].mean()), float(g["n_covered"].median())],
                }
            )
            out = pd.concat([out, extra], ignore_index=True)
        frames.append(out)
    res = pd.concat(frames, ignore_index=True)[cols]
    for col in ("n_plans", "n_with_outcome"):
        res[col] = res[col].astype("Int64")
    return res


def mark_suppressed(df: pd.DataFrame) -> pd.DataFrame:
    """Counts as text, with ``*`` for a suppressed (``<NA>``) count: how published tables show them.

    >>> mark_suppressed(pd.DataFrame({"n_met": pd.array([7, None], dtype="Int64")}))["n_met"].tolist()
    ['7', '*']
    """
    shown = df.copy()
    for col in shown.columns:
        if str(shown[col].dtype) == "Int64":
            shown[col] = shown[col].map(lambda v: "*" if pd.isna(v) else str(int(v)))
    return shown


def published_team_table(audit, threshold: int = 5) -> pd.DataFrame:
    """The team table exactly as ``recoverystudy audit`` publishes it: plans per criterion and team.

    One row per criterion x team (the same rows as ``compliance_by_team.csv``), counts of plans met /
    partly met / not evidenced / not applicable, with small counts and the counts that would reveal them
    shown as ``*`` (see :func:`published_compliance`).
    """
    published = published_compliance(audit, threshold)[0]
    return mark_suppressed(published[published["team"] != ALL_TEAMS].reset_index(drop=True))
