"""Ranks and the Kruskal-Wallis statistic, shared by the test, its effect sizes and Dunn's post-hoc test.

Private; imports nothing from the package, so :mod:`~recoverystudy.stats.compare`,
:mod:`~recoverystudy.stats.effsize` and :mod:`~recoverystudy.stats.posthoc` all call down into it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["h_from_counts", "h_from_ranks", "kruskal_h", "kruskal_p", "midranks", "tie_blocks"]


def tie_blocks(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sort of y: ``(order, block, counts)``.

    ``order`` sorts y; ``block[i]`` is the index of the distinct value of ``y[order[i]]`` (tie block,
    ascending); ``counts`` the number of values in each block.

    >>> order, block, counts = tie_blocks(np.array([3.0, 1, 3, 2]))
    >>> order.tolist(), block.tolist(), counts.tolist()
    ([1, 3, 0, 2], [0, 1, 2, 2], [1, 1, 2])
    """
    order = np.argsort(y)
    ys = y[order]
    new = np.empty(ys.size, dtype=bool)
    new[:1] = True
    np.not_equal(ys[1:], ys[:-1], out=new[1:])
    block = np.cumsum(new) - 1
    counts = np.bincount(block) if ys.size else np.zeros(0, dtype=np.int64)
    return order, block, counts


def midranks(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks of y and the tie counts of its distinct values (one sort).

    >>> r, t = midranks(np.array([3.0, 1, 3, 2]))
    >>> r.tolist(), t.tolist()
    ([3.5, 1.0, 3.5, 2.0], [1, 1, 2])
    """
    order, block, counts = tie_blocks(y)
    below = np.cumsum(counts) - counts
    ranks = np.empty(y.size)
    ranks[order] = (below + (counts + 1) / 2.0)[block]
    return ranks, counts


def h_from_ranks(ranks: np.ndarray, ties: np.ndarray, codes: np.ndarray, k: int) -> float:
    """Tie-corrected H from mid-ranks and tie counts (NaN when every value is the same)."""
    n = np.bincount(codes, minlength=k).astype(float)
    R = np.bincount(codes, weights=ranks, minlength=k)
    N = float(n.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        H = 12.0 / (N * (N + 1.0)) * np.sum(np.where(n > 0, R * R / np.where(n > 0, n, 1.0), 0.0)) - 3.0 * (N + 1.0)
    tie = 1.0 - float(np.sum(ties.astype(float) ** 3 - ties)) / (N**3 - N)
    return float(H / tie) if tie > 0 else np.nan


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
    ranks, ties = midranks(np.asarray(y, dtype=float))
    return h_from_ranks(ranks, ties, np.asarray(codes), k)


def kruskal_p(H: float, k: int) -> float:
    """Upper-tail chi-square p value of H on k - 1 df (as R ``kruskal.test``); NaN when H is undefined.

    >>> round(kruskal_p(3.857143, 2), 6)
    0.049535
    """
    return float(stats.chi2.sf(H, k - 1)) if np.isfinite(H) else np.nan
