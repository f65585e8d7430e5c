"""Correlations between scales: a tidy table with pairwise-complete n, CIs and adjusted p-values.

Notes
-----
* r and p equal R ``cor.test(x, y, method = ..., exact = FALSE)`` on the pairwise-complete cases:
  Pearson and Spearman p from t = r sqrt(n - 2) / sqrt(1 - r^2) with n - 2 df; Kendall's tau-b p
  from the normal approximation with the tie-corrected variance.
* Confidence intervals use Fisher's z: SE = 1/sqrt(n - 3) for Pearson (as ``cor.test``),
  SE = sqrt(1.06 / (n - 3)) for Spearman and sqrt(0.437 / (n - 4)) for Kendall (Fieller, Hartley &
  Pearson 1957; Bishara & Hittner 2017). ``cor.test`` gives no CI for Spearman or Kendall.
* p-values are adjusted across all pairs (Holm by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recoverystudy._validate import check_columns, check_frame, check_numeric, check_option, check_probability
from recoverystudy.errors import InsufficientDataError, UndefinedStatisticWarning
from recoverystudy.results import Result, base_provenance
from recoverystudy.stats._base import adjust_pvalues

__all__ = ["correlate", "Correlations"]

_ADJUST = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni", "none": None}
_CI_SE = {
    "pearson": ("Fisher z, SE = 1/sqrt(n-3)", lambda n: 1 / np.sqrt(n - 3)),
    "spearman": ("Fisher z, Fieller SE = sqrt(1.06/(n-3))", lambda n: np.sqrt(1.06 / (n - 3))),
    "kendall": ("Fisher z, Fieller SE = sqrt(0.437/(n-4))", lambda n: np.sqrt(0.437 / (n - 4))),
}


@dataclass(frozen=True, repr=False)
class Correlations(Result):
    """Pairwise correlations.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per pair: ``x``, ``y``, ``n``, ``r``, ``ci_low``, ``ci_high``, ``p``, ``p_adj``.
    method : str
    provenance : dict
    """

    table: pd.DataFrame
    method: str
    confidence: float
    provenance: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def matrix(self, value: str = "r") -> pd.DataFrame:
        """Square matrix of *value* (``"r"``, ``"p"``, ``"p_adj"`` or ``"n"``); diagonal r = 1."""
        cols = list(dict.fromkeys(list(self.table["x"]) + list(self.table["y"])))
        pos = {c: i for i, c in enumerate(cols)}
        arr = np.full((len(cols), len(cols)), np.nan)
        i = self.table["x"].map(pos).to_numpy()
        j = self.table["y"].map(pos).to_numpy()
        arr[i, j] = arr[j, i] = self.table[value].to_numpy(dtype=float)
        if value == "r":
            np.fill_diagonal(arr, 1.0)
        return pd.DataFrame(arr, index=cols, columns=cols)

    def summary(self) -> str:
        name = {"pearson": "Pearson's r", "spearman": "Spearman's rho", "kendall": "Kendall's tau-b"}[self.method]
        pct = round(self.confidence * 100)
        lines = [f"{name} for {len(self.table)} pair(s), pairwise-complete cases, p adjusted "
                 f"({self.provenance['adjust']}):"]
        for r in self.table.itertuples():
            sig = "" if np.isnan(r.p_adj) else (" (significant)" if r.p_adj < 0.05 else "")
            lines.append(f"  {r.x} with {r.y}: {r.r:.2f}, {pct}% CI [{r.ci_low:.2f}, {r.ci_high:.2f}], n = {r.n}, "
                         f"p = {r.p:.3g}, adjusted p = {r.p_adj:.3g}{sig}")
        lines.append("A correlation pooled over sites mixes within-site and between-site association; "
                     "consider it per site too.")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Heatmap of r with the values written in the cells. Returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        m = self.matrix("r")
        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 * len(m) + 2, 1.0 * len(m) + 1.5))
        im = ax.imshow(m.to_numpy(dtype=float), vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(m)), m.columns, rotation=45, ha="right")
        ax.set_yticks(range(len(m)), m.index)
        for i in range(len(m)):
            for j in range(len(m)):
                v = m.iat[i, j]
                if not np.isnan(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=9)
        ax.figure.colorbar(im, ax=ax, label=self.method)
        ax.set_title(f"{self.method.capitalize()} correlations")
        return ax.figure


def _pair_stats(x: np.ndarray, y: np.ndarray, method: str) -> tuple[float, float]:
    n = len(x)
    if method == "kendall":
        res = stats.kendalltau(x, y, method="asymptotic")
        return float(res.statistic), float(res.pvalue)
    if method == "spearman":
        r = float(stats.spearmanr(x, y).statistic)
    else:
        r = float(np.corrcoef(x, y)[0, 1])
    if abs(r) >= 1:
        return r, 0.0
    t = r * np.sqrt((n - 2) / (1 - r * r))
    return r, float(2 * stats.t.sf(abs(t), n - 2))


def correlate(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    method: str = "spearman",
    ci: float = 0.95,
    adjust: str = "holm",
) -> Correlations:
    """Correlate every pair of *columns* on pairwise-complete cases.

    Parameters
    ----------
    data : pandas.DataFrame
    columns : sequence of str
        At least two numeric columns.
    method : {"spearman", "pearson", "kendall"}, default "spearman"
    ci : float, default 0.95
        Confidence level of the intervals.
    adjust : {"holm", "bh", "bonferroni", "none"}, default "holm"
        Family-wise (or false discovery rate) adjustment across all pairs.

    Returns
    -------
    Correlations
        ``.to_frame()`` with ``x, y, n, r, ci_low, ci_high, p, p_adj``; ``.matrix()``; ``.plot()``.

    Raises
    ------
    InsufficientDataError
        Fewer than two columns, or a pair with fewer than 4 complete cases (5 for Kendall).

    Notes
    -----
    Matches R ``cor.test(..., exact = FALSE)`` for r and p to 1e-6, and ``cor.test``'s Pearson CI.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5], "c": [6, 5, 4, 3, 2, 1]})
    >>> res = rs.correlate(df, ["a", "b", "c"], method="pearson")
    >>> res.to_frame()[["x", "y", "n"]].values.tolist()
    [['a', 'b', 6], ['a', 'c', 6], ['b', 'c', 6]]
    >>> round(float(res.to_frame()["r"][0]), 4)   # R: cor(a, b) = 0.8286
    0.8286
    """
    check_option("method", method, ["spearman", "pearson", "kendall"])
    conf = check_probability("ci", ci)
    check_option("adjust", adjust, list(_ADJUST))
    check_frame(data)
    columns = list(columns)
    if len(columns) < 2:
        raise InsufficientDataError(f"correlate needs at least two columns; got {columns!r}.")
    check_columns(data, columns)
    values = {c: check_numeric(data, c).to_numpy() for c in columns}
    label, se_of = _CI_SE[method]
    zcrit = stats.norm.ppf(1 - (1 - conf) / 2)
    min_n = 5 if method == "kendall" else 4
    rows = []
    for a, b in combinations(columns, 2):
        x, y = values[a], values[b]
        ok = ~(np.isnan(x) | np.isnan(y))
        n = int(ok.sum())
        if n < min_n:
            raise InsufficientDataError(f"Columns {a!r} and {b!r} have only {n} complete pair(s); at least {min_n} "
                                        "are needed for a correlation with a confidence interval.", x=a, y=b, n=n)
        xa, ya = x[ok], y[ok]
        if np.ptp(xa) == 0 or np.ptp(ya) == 0:
            import warnings

            warnings.warn(f"{a!r} or {b!r} is constant over the complete pairs: the correlation is undefined (NaN).",
                          UndefinedStatisticWarning, stacklevel=2)
            rows.append({"x": a, "y": b, "n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan})
            continue
        r, p = _pair_stats(xa, ya, method)
        z, se = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15)), se_of(n)
        rows.append({"x": a, "y": b, "n": n, "r": r, "ci_low": float(np.tanh(z - zcrit * se)),
                     "ci_high": float(np.tanh(z + zcrit * se)), "p": p})
    table = pd.DataFrame(rows)
    ok = table["p"].notna().to_numpy()
    table["p_adj"] = np.nan
    if _ADJUST[adjust] is None:
        table.loc[ok, "p_adj"] = table.loc[ok, "p"]
    elif _ADJUST[adjust] in ("holm", "bonferroni"):   # bit for bit statsmodels' values (which runs gc.collect())
        table.loc[ok, "p_adj"] = adjust_pvalues(table.loc[ok, "p"].to_numpy(), adjust)
    elif ok.any():
        from statsmodels.stats.multitest import multipletests

        table.loc[ok, "p_adj"] = multipletests(table.loc[ok, "p"].to_numpy(), method=_ADJUST[adjust])[1]
    prov = base_provenance("correlate", correlation=method, ci_method=label, adjust=adjust, confidence=conf,
                           missing="pairwise-complete cases",
                           p_method="t approximation (n-2 df)" if method != "kendall" else
                           "normal approximation with tie correction",
                           matches="R cor.test(exact = FALSE)")
    return Correlations(table, method, conf, prov)
