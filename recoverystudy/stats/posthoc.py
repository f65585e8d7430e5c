"""Pairwise (post-hoc) comparisons between sites.

* :func:`tukey_hsd` - Tukey-Kramer HSD, the follow-up to the classic one-way ANOVA (R ``TukeyHSD``);
* :func:`games_howell` - Games-Howell, the follow-up to Welch's ANOVA (R ``rstatix::games_howell_test``);
* :func:`dunn` - Dunn's test with tie correction, the follow-up to Kruskal-Wallis
  (R ``rstatix::dunn_test``), Holm-adjusted by default, two-sided.

Every table has one row per pair in site order - (1, 2), (1, 3), ..., (2, 3), ... as R lists them -
with ``estimate`` = group2 minus group1 and the columns ``group1, group2, n1, n2, estimate, se,
ci_low, ci_high, statistic, df, p, p_adj, hedges_g, g_ci_low, g_ci_high``.  ``p`` is the unadjusted
two-sided p of the pair and ``p_adj`` the multiplicity-adjusted one (the studentized range for Tukey
and Games-Howell).  ``hedges_g`` is the standardized difference of the pair (group2 vs group1) with a
two-sided noncentral-t interval, as R ``effectsize::hedges_g``: pooled SD beside Tukey, un-pooled SD
(Welch df) beside Games-Howell, NaN for Dunn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from recoverystudy.stats._base import (
    ADJUST_METHODS,
    Groups,
    adjust_pvalues,
    prepare_groups,
)
from recoverystudy._validate import check_option, check_probability
from recoverystudy.stats._distributions import tukey_quantile, tukey_sf
from recoverystudy.stats._words import format_p
from recoverystudy.stats.effsize import hedges_g_pairs
from recoverystudy.results import Result, base_provenance

__all__ = ["PairwiseComparisons", "dunn", "games_howell", "tukey_hsd"]

POSTHOC_COLUMNS = [
    "group1", "group2", "n1", "n2", "estimate", "direction", "se", "ci_low", "ci_high", "statistic", "df", "p",
    "p_adj", "hedges_g", "g_ci_low", "g_ci_high",
]  # fmt: skip

_METHOD_TEXT = {
    "tukey": "Tukey-Kramer HSD",
    "games_howell": "Games-Howell",
    "dunn": "Dunn's test",
}


@dataclass(frozen=True, eq=False)
class PairwiseComparisons(Result):
    """Pairwise comparisons between sites.

    Attributes
    ----------
    table : DataFrame
        One row per pair; columns ``group1, group2, n1, n2, estimate, se, ci_low, ci_high,
        statistic, df, p, p_adj, hedges_g, g_ci_low, g_ci_high`` (see the module docstring).
    method : str
        ``"tukey"``, ``"games_howell"`` or ``"dunn"``.
    value, site : str
        The outcome and site columns.
    provenance : dict
    """

    table: pd.DataFrame
    method: str
    value: str
    site: str
    provenance: dict = field(default_factory=dict, compare=False, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The pairwise table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-English list of the pairs that differ at the 5% level (adjusted)."""
        return pairwise_sentence(self.table, self.method, self.value)

    def plot(self, ax: Any = None) -> Any:
        """Forest plot: each pair's difference (second site minus first) with its confidence interval.

        Returns the matplotlib Figure.

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs
        >>> df = pd.DataFrame({"site": list("AAABBBCCC"), "y": [1, 2, 3, 4, 5, 6, 2, 3, 4]})
        >>> fig = rs.games_howell(df, "y", "site").plot()
        >>> fig.axes[0].get_xlabel()
        'Difference in y (second site minus first), with 95% CI'
        """
        from recoverystudy.stats.plots import forest_plot

        return forest_plot(self.table, value=self.value, ax=ax)


def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair indices in R's order: (0,1), (0,2), ..., (0,k-1), (1,2), ..."""
    i, j = np.triu_indices(k, 1)
    return i, j


def _frame(labels, i, j, n, est, se, lo, hi, stat, df, p, p_adj, g=None) -> pd.DataFrame:
    if g is None:
        nan = np.full(est.shape, np.nan)
        g = (nan, nan, nan)
    lab = np.empty(len(labels), dtype=object)
    lab[:] = list(labels)
    return pd.DataFrame(
        {
            "group1": lab[i],
            "group2": lab[j],
            "n1": n[i].astype(np.int64),
            "n2": n[j].astype(np.int64),
            "estimate": est,
            "direction": pd.Series(lab[j], dtype=object).astype(str).str.cat(
                pd.Series(lab[i], dtype=object).astype(str), sep=" minus ").to_numpy(dtype=object),
            "se": se,
            "ci_low": lo,
            "ci_high": hi,
            "statistic": stat,
            "df": np.broadcast_to(np.asarray(df, dtype=float), est.shape).copy(),
            "p": p,
            "p_adj": p_adj,
            "hedges_g": g[0],
            "g_ci_low": g[1],
            "g_ci_high": g[2],
        }
    )


def tukey_table(groups: Groups, confidence: float = 0.95) -> pd.DataFrame:
    """Tukey-Kramer table from cleaned groups (see :func:`tukey_hsd`)."""
    k = groups.k
    n, mean, var = groups.moments
    df_e = float(groups.n_total - k)
    mse = float(np.sum((n - 1) * var) / df_e)
    i, j = _pairs(k)
    est = mean[j] - mean[i]
    se = np.sqrt(mse * (1.0 / n[i] + 1.0 / n[j]))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(est) / se
    p = 2.0 * stats.t.sf(t, df_e)
    p_adj = tukey_sf(t * np.sqrt(2.0), k, df_e)
    q = float(tukey_quantile(confidence, k, df_e)[0])
    half = q * se / np.sqrt(2.0)
    g = hedges_g_pairs(n[i], n[j], mean[i], mean[j], var[i], var[j], pooled=True, ci=confidence)
    return _frame(groups.labels, i, j, n, est, se, est - half, est + half, t, df_e, p, p_adj, g)


def games_howell_table(groups: Groups, confidence: float = 0.95, *, effect_sizes: bool = True) -> pd.DataFrame:
    """Games-Howell table from cleaned groups (see :func:`games_howell`); ``effect_sizes=False`` leaves
    hedges_g and its interval empty (NaN) for callers that use only the differences (their noncentral-t
    intervals are most of the table's cost)."""
    k = groups.k
    n, mean, var = groups.moments
    v = var / n
    i, j = _pairs(k)
    est = mean[j] - mean[i]
    vs = v[i] + v[j]
    se = np.sqrt(vs)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = vs**2 / (v[i] ** 2 / (n[i] - 1) + v[j] ** 2 / (n[j] - 1))
        t = np.abs(est) / se
    p = 2.0 * stats.t.sf(t, df)
    p_adj = tukey_sf(t * np.sqrt(2.0), k, df)
    q = tukey_quantile(confidence, k, df)
    half = q * se * np.sqrt(0.5)
    g = hedges_g_pairs(n[i], n[j], mean[i], mean[j], var[i], var[j], pooled=False, ci=confidence) \
        if effect_sizes else None
    return _frame(groups.labels, i, j, n, est, se, est - half, est + half, t, df, p, p_adj, g)


def dunn_table(groups: Groups, adjust: str = "holm") -> pd.DataFrame:
    """Dunn's test table from cleaned groups (see :func:`dunn`)."""
    check_option("adjust", adjust, ADJUST_METHODS)
    k = groups.k
    ranked = groups.ranked  # the one sort shared with Kruskal-Wallis and its effect sizes
    n = ranked.n
    mean_rank = ranked.rank_sums / n
    N = float(groups.n_total)
    C = ranked.tie_sum / (12.0 * (N - 1.0))
    i, j = _pairs(k)
    est = mean_rank[j] - mean_rank[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((N * (N + 1.0) / 12.0 - C) * (1.0 / n[i] + 1.0 / n[j]))
        z = est / se
    p = special.erfc(np.abs(z) / np.sqrt(2.0))  # 2 * P(Z > |z|), accurate in the far tail
    p_adj = adjust_pvalues(p, adjust)
    nan = np.full(est.shape, np.nan)
    return _frame(groups.labels, i, j, n, est, se, nan, nan, z, np.nan, p, p_adj)


def pairwise_sentence(table: pd.DataFrame, method: str, value: str) -> str:
    """One sentence naming the pairs that differ at the 5% level after adjustment."""
    name = _METHOD_TEXT.get(method, method)
    sig = table[table["p_adj"] < 0.05]
    if table.empty:
        return f"{name}: no pairs to compare."
    if sig.empty:
        return f"{name}: no pair of sites differs on {value} at the 5% level (adjusted p ≥ .05 for all {len(table)} pairs)."
    parts = []
    for row in sig.itertuples(index=False):
        parts.append(f"{row.group2} vs {row.group1} ({row.estimate:+.2f}, p_adj {format_p(row.p_adj)})")
    what = "mean-rank differences" if method == "dunn" else "differences"
    return (
        f"{name}: {len(sig)} of {len(table)} pairs differ on {value} at the 5% level after adjustment "
        f"({what} are the second site minus the first): " + "; ".join(parts) + "."
    )


def _run(kind: str, data: Any, value: str, group: str, confidence: float, adjust: str) -> PairwiseComparisons:
    check_probability("confidence", confidence)
    groups = prepare_groups(data, value, group)
    if kind == "tukey":
        table = tukey_table(groups, confidence)
        prov = base_provenance("tukey_hsd", confidence=confidence, reference="R stats::TukeyHSD")
    elif kind == "games_howell":
        table = games_howell_table(groups, confidence)
        prov = base_provenance(
            "games_howell", confidence=confidence, reference="R rstatix::games_howell_test (unrounded p)"
        )
    else:
        table = dunn_table(groups, adjust)
        prov = base_provenance(
            "dunn", adjust=adjust, sided="two-sided", ties="corrected", reference="R rstatix::dunn_test"
        )
    prov.update(
        n=groups.n_total, sites=list(groups.labels), exclusions=int(groups.exclusions["n_rows"].sum())
    )
    return PairwiseComparisons(table, kind, value, group, prov)


def tukey_hsd(data: pd.DataFrame, value: str, group: str, *, confidence: float = 0.95) -> PairwiseComparisons:
    """Tukey-Kramer honestly-significant-difference comparisons of every pair of sites.

    Parameters
    ----------
    data : DataFrame
        Long data, one row per respondent.
    value : str
        Outcome column (numeric).
    group : str
        Site column.  Sites are ordered by category order (categorical columns) or sorted.
    confidence : float, default=0.95
        Level of the simultaneous confidence intervals.

    Returns
    -------
    PairwiseComparisons
        ``.table`` columns: group1, group2, n1, n2, estimate (mean of group2 − mean of group1),
        se (√(MSE(1/n1 + 1/n2))), ci_low, ci_high, statistic (``|t| = |estimate|/se``; the
        studentized range is q = t√2), df (error df N − k), p (unadjusted two-sided t-test on the
        pooled MSE), p_adj (Tukey: ``ptukey(q, k, df, lower.tail = FALSE)``), hedges_g,
        g_ci_low, g_ci_high (Hedges' g of the pair with the pooled SD of its two sites and a
        two-sided noncentral-t CI, as ``effectsize::hedges_g(pooled_sd = TRUE)``).

    Raises
    ------
    StatisticsError
        Non-numeric values (names the column and rows).
    InsufficientDataError
        Fewer than two sites with at least two observations.

    Notes
    -----
    Pooled variance, so it assumes equal variances; after Welch's ANOVA use
    :func:`games_howell`.  Matches R ``TukeyHSD(aov(value ~ group))`` to 1e-6.

    Examples
    --------
    >>> import pandas as pd, recoverystudy as rs
    >>> df = pd.DataFrame({"score": [3, 4, 5, 4, 6, 7, 8, 7, 6, 2, 3, 2.0],
    ...                    "site": list("AAAABBBBBCCC")})
    >>> t = rs.tukey_hsd(df, "score", "site").table
    >>> t[["group1", "group2", "estimate"]].round(3).values.tolist()
    [['A', 'B', 2.8], ['A', 'C', -1.667], ['B', 'C', -4.467]]
    >>> # R: TukeyHSD(aov(score ~ site, df))
    """
    return _run("tukey", data, value, group, confidence, "holm")


def games_howell(
    data: pd.DataFrame, value: str, group: str, *, confidence: float = 0.95
) -> PairwiseComparisons:
    """Games-Howell comparisons of every pair of sites (no equal-variance assumption).

    Parameters
    ----------
    data, value, group, confidence
        As :func:`tukey_hsd`.

    Returns
    -------
    PairwiseComparisons
        ``.table`` columns as :func:`tukey_hsd`, with se = √(v1 + v2), v = s²/n, the
        Welch-Satterthwaite df per pair, statistic = ``|t| = |estimate|/se`` (rstatix's ``se`` column
        is this se times √0.5),
        p = two-sided Welch t-test p (unadjusted) and p_adj = ``ptukey(t√2, k, df, lower.tail = FALSE)``.
        CI = estimate ± q(conf; k, df)·√(0.5(v1 + v2)).  hedges_g uses the un-pooled SD
        √((s1² + s2²)/2) and the Welch df (``effectsize::hedges_g(pooled_sd = FALSE)``).

    Notes
    -----
    Matches R ``rstatix::games_howell_test(detailed = TRUE)`` to 1e-6; rstatix rounds
    ``p.adj`` to 3 decimals, this function does not.  Far-tail p (below ~1e-8) from scipy's
    studentized range and R's ``ptukey`` agree absolutely, not relatively.

    Examples
    --------
    >>> import pandas as pd, recoverystudy as rs
    >>> df = pd.DataFrame({"score": [3, 4, 5, 4, 6, 7, 8, 7, 6, 2, 3, 2.0],
    ...                    "site": list("AAAABBBBBCCC")})
    >>> t = rs.games_howell(df, "score", "site").table
    >>> t[["estimate", "df"]].round(3).values.tolist()
    [[2.8, 6.642], [-1.667, 5.0], [-4.467, 5.695]]
    >>> # R: rstatix::games_howell_test(df, score ~ site, detailed = TRUE)
    """
    return _run("games_howell", data, value, group, confidence, "holm")


def dunn(data: pd.DataFrame, value: str, group: str, *, adjust: str = "holm") -> PairwiseComparisons:
    """Dunn's rank test of every pair of sites, tie-corrected, two-sided.

    Parameters
    ----------
    data, value, group
        As :func:`tukey_hsd`.
    adjust : {"holm", "hochberg", "bonferroni", "bh", "by", "none"}, default="holm"
        Multiplicity adjustment of the pairwise p (R ``p.adjust``).

    Returns
    -------
    PairwiseComparisons
        ``.table`` columns as :func:`tukey_hsd`; estimate = mean rank of group2 − mean rank of
        group1 (ranks of the pooled data), se = √((N(N+1)/12 − C)(1/n1 + 1/n2)) with tie term
        C = Σ(t³ − t)/(12(N − 1)), statistic = z (signed, as rstatix), p = ``2·P(Z > |z|)``, p_adj
        adjusted.  No CI (NaN) and no df (NaN).

    Notes
    -----
    Matches R ``rstatix::dunn_test(p.adjust.method = "holm", detailed = TRUE)`` to 1e-6.
    ``dunn.test`` and jamovi report one-sided p by default; this is two-sided.

    Examples
    --------
    >>> import pandas as pd, recoverystudy as rs
    >>> df = pd.DataFrame({"score": [3, 4, 5, 4, 6, 7, 8, 7, 6, 2, 3, 2.0],
    ...                    "site": list("AAAABBBBBCCC")})
    >>> t = rs.dunn(df, "score", "site").table
    >>> t[["estimate", "statistic", "p_adj"]].round(4).values.tolist()
    [[4.625, 1.9291, 0.1074], [-3.2083, -1.1754, 0.2398], [-7.8333, -3.0013, 0.0081]]
    >>> # R: rstatix::dunn_test(df, score ~ site, p.adjust.method = "holm")
    """
    return _run("dunn", data, value, group, 0.95, adjust)
