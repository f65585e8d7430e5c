"""Compliance per criterion (overall and by team) with Wilson score intervals."""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from recoverystudy.results import Result, base_provenance

__all__ = ["ALL_TEAMS", "ComplianceTable", "compliance_table", "wilson_interval"]

ALL_TEAMS = "All teams"
_COUNT_COLS = ["n_met", "n_partly_met", "n_not_evidenced", "n_not_applicable"]
_RATING_TO_COL = dict(zip(["met", "partly met", "not evidenced", "not applicable"], _COUNT_COLS))


def wilson_interval(k, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion k/n (vectorised; NaN where n = 0).

    Notes
    -----
    With z the normal quantile for *confidence*, p = k/n:
    centre = (p + z^2/2n) / (1 + z^2/n), half-width = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n).
    Matches ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.

    Examples
    --------
    >>> lo, hi = wilson_interval(7, 20)
    >>> round(float(lo), 6), round(float(hi), 6)
    (0.181192, 0.567146)
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        lo = np.where(n > 0, centre - half, np.nan)
        hi = np.where(n > 0, centre + half, np.nan)
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


@dataclass(frozen=True)
class ComplianceTable(Result):
    """Compliance per criterion (and team): counts of each rating and the proportion met.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (team, criterion): ``team, criterion, group, n_plans, n_met, n_partly_met,
        n_not_evidenced, n_not_applicable, n_applicable, proportion_met, ci_low, ci_high,
        proportion_met_or_partly, ci_low_met_or_partly, ci_high_met_or_partly``.  ``n_applicable``
        excludes "not applicable"; proportions are over ``n_applicable`` (NaN when it is 0).
        The ``All teams`` rows give the overall figures.
    source : str
        Which ratings were counted: "final" (confirmed where confirmed, else pre-rated),
        "prerated" or "confirmed".
    confidence : float
    provenance : dict
    """

    table: pd.DataFrame
    source: str
    confidence: float
    provenance: dict = field(default_factory=dict, compare=False)

    def plot(self) -> Any:
        """Proportion of plans meeting each criterion (all teams) with its Wilson CI (a matplotlib Figure)."""
        from recoverystudy.audit.plots import compliance_plot

        overall = self.table[self.table["team"] == ALL_TEAMS] if "team" in self.table else self.table
        return compliance_plot(overall)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        overall = self.table[self.table["team"] == ALL_TEAMS]
        if overall.empty:
            return "No plans were rated."
        n = int(overall["n_plans"].max())
        best = overall.sort_values("proportion_met", ascending=False).iloc[0]
        worst = overall.sort_values("proportion_met").iloc[0]
        pct = round(self.confidence * 100)
        return (
            f"Compliance over {n} plan(s) ({self.source} ratings), proportion 'met' with Wilson {pct}% CIs.\n"
            f"Highest: {best['criterion']} {best['proportion_met']:.0%} "
            f"({best['ci_low']:.0%} to {best['ci_high']:.0%}).\n"
            f"Lowest: {worst['criterion']} {worst['proportion_met']:.0%} "
            f"({worst['ci_low']:.0%} to {worst['ci_high']:.0%})."
        )


def compliance_table(
    ratings: pd.DataFrame,
    criteria: list[str],
    groups: dict[str, str],
    *,
    by_team: bool = True,
    confidence: float = 0.95,
    source: str = "final",
) -> ComplianceTable:
    """Count ratings per (team, criterion) from a long frame with columns team, criterion, rating."""
    frames = []
    data = ratings[["team", "criterion", "rating"]].copy()
    data["team"] = data["team"].astype(object).where(data["team"].notna(), "(no team)")
    levels = [("team", data)] if by_team else []
    overall = data.assign(team=ALL_TEAMS)
    for _, d in levels + [("all", overall)]:
        counts = (
            pd.crosstab([d["team"], d["criterion"]], d["rating"])
            .reindex(columns=list(_RATING_TO_COL), fill_value=0)
            .rename(columns=_RATING_TO_COL)
        )
        frames.append(counts)
    table = pd.concat(frames).reset_index()
    table.columns.name = None
    table["criterion"] = pd.Categorical(table["criterion"], categories=criteria, ordered=True)
    team_order = [t for t in pd.unique(table["team"]) if t != ALL_TEAMS]
    team_order = sorted(team_order, key=str) + [ALL_TEAMS]
    table["team"] = pd.Categorical(table["team"], categories=team_order, ordered=True)
    table = table.sort_values(["team", "criterion"]).reset_index(drop=True)
    table["team"] = table["team"].astype(str)
    table["criterion"] = table["criterion"].astype(str)
    table.insert(2, "group", table["criterion"].map(groups))
    for col in _COUNT_COLS:
        table[col] = table[col].astype("int64")
    table.insert(3, "n_plans", table[_COUNT_COLS].sum(axis=1).astype("int64"))
    table["n_applicable"] = (table["n_plans"] - table["n_not_applicable"]).astype("int64")
    n = table["n_applicable"].to_numpy(float)
    met = table["n_met"].to_numpy(float)
    either = met + table["n_partly_met"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["proportion_met"] = np.where(n > 0, met / n, np.nan)
        lo, hi = wilson_interval(met, n, confidence)
        table["ci_low"], table["ci_high"] = lo, hi
        table["proportion_met_or_partly"] = np.where(n > 0, either / n, np.nan)
        lo2, hi2 = wilson_interval(either, n, confidence)
        table["ci_low_met_or_partly"], table["ci_high_met_or_partly"] = lo2, hi2
    prov = base_provenance(
        "care_plan_compliance",
        ci_method="Wilson score interval",
        confidence=confidence,
        denominator="plans rated met, partly met or not evidenced (not applicable excluded)",
        source=source,
    )
    return ComplianceTable(table=table, source=source, confidence=confidence, provenance=prov)
