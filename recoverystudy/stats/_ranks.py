"""Ranks and the Kruskal-Wallis statistic, shared by the test, its effect sizes and Dunn's post-hoc test.

Private; imports nothing from the package, so :mod:`~recoverystudy.stats.compare`,
:mod:`~recoverystudy.stats.effsize` and :mod:`~recoverystudy.stats.posthoc` all call down into it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["h_from_counts", "kruskal_h", "kruskal_p", "midranks"]


def midranks(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks of y and the tie counts of its distinct values."""
    _, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    return (below + (counts + 1) / 2.0)[inv], counts


def h_from_counts(counts: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Tie-corrected H from a (..., k, m) array of counts of each distinct value per group."""
    t = counts.sum(axis=-2)  # (..., m) ties per distinct value
    N = float(n.sum())
    below = np.cumsum(t, axis=-1) - t
    midrank = below + (t + 1.0) / 2.0
    R = np.einsum("...km,...m->...k", counts, midrank)
    H = 12.0 / (N * (N + 1.0)) * np.sum(R * R / n, axis=-1) - 3.0 * (N + 1.0)
    tie = 1.0 - np.sum(t.astype(float) ** 3 - t, axis=-1) / (N**3 - N)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tie > 0, H / np.where(tie > 0, tie, 1.0), np.nan)


def kruskal_h(y: np.ndarray, codes: np.ndarray, k: int) -> float:
    """Tie-corrected Kruskal-Wallis H (as R ``kruskal.test``); NaN if all values are equal.

    >>> round(kruskal_h(np.array([1.0, 2, 3, 4, 5, 6]), np.array([0, 0, 0, 1, 1, 1]), 2), 6)
    3.857143
    """
    _, vidx = np.unique(y, return_inverse=True)
    m = int(vidx.max()) + 1
    counts = np.bincount(codes * m + vidx, minlength=k * m).reshape(k, m)
    n = np.bincount(codes, minlength=k)
    return float(h_from_counts(counts, n))


def kruskal_p(H: float, k: int) -> float:
    """Upper-tail chi-square p value of H on k - 1 df (as R ``kruskal.test``); NaN when H is undefined.

    >>> round(kruskal_p(3.857143, 2), 6)
    0.049535
    """
    return float(stats.chi2.sf(H, k - 1)) if np.isfinite(H) else np.nan
