"""Ranks and the Kruskal-Wallis statistic, shared by the test, its effect sizes and Dunn's post-hoc test.

Private; imports nothing from the package, so :mod:`~recoverystudy.stats.compare`,
:mod:`~recoverystudy.stats.effsize` and :mod:`~recoverystudy.stats.posthoc` all call down into it.

:func:`rank_groups` sorts the pooled values ONCE and keeps what every rank-based step needs: the
tie blocks and their sizes, each site's rank sum, H, and the sorted positions grouped by site (a
radix sort of the site codes).  Kruskal-Wallis, Dunn's table, the placements of the asymptotic
effect-size interval (:mod:`._relative_effects`) and the per-site quartiles all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "RankedGroups", "h_from_counts", "h_from_rank_sums", "h_from_ranks", "kruskal_h", "kruskal_p", "midranks",
    "rank_groups", "small_codes", "tie_blocks",
]  # fmt: skip


def small_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """The group codes in the narrowest integer type, so that a stable argsort of them is a radix sort.

    >>> small_codes(np.array([0, 2, 1]), 3).dtype
    dtype('int8')
    """
    dtype = np.int8 if k <= 127 else np.int16 if k <= 32767 else np.int64
    return np.asarray(codes).astype(dtype, copy=False)


@dataclass(frozen=True, eq=False)
class RankedGroups:
    """One sort of the pooled values of k groups (see :func:`rank_groups`).

    Attributes
    ----------
    ys : ndarray
        The pooled values, ascending.
    codes_sorted : ndarray
        The group code of each value of ``ys``.
    block : ndarray or None
        The tie block (index of the distinct value) of each value of ``ys``; None when every value is
        distinct (then the block of a value is its position).
    ties : ndarray or None
        The size of each tie block; None when every value is distinct.
    by_site : ndarray
        Positions in ``ys`` grouped by site, ascending within a site: site g's are
        ``by_site[bounds[g]:bounds[g + 1]]``.
    bounds : ndarray
        Length k + 1, the cumulative site sizes.
    n : ndarray
        Site sizes.
    rank_sums : ndarray
        The sum of the mid-ranks of each site's values.
    tie_sum : float
        Σ(t³ − t) over the tie blocks.
    H : float
        Tie-corrected Kruskal-Wallis H (NaN when every value is the same).
    """

    ys: np.ndarray
    codes_sorted: np.ndarray
    block: np.ndarray | None
    ties: np.ndarray | None
    by_site: np.ndarray
    bounds: np.ndarray
    n: np.ndarray
    rank_sums: np.ndarray
    tie_sum: float
    H: float

    @property
    def k(self) -> int:
        return int(self.n.size)

    @property
    def n_blocks(self) -> int:
        """Number of distinct values."""
        return int(self.ys.size if self.ties is None else self.ties.size)

    def values_by_site(self) -> np.ndarray:
        """The values grouped by site and ascending within each site (for quartiles, min and max)."""
        return self.ys[self.by_site]

    def blocks_by_site(self) -> np.ndarray:
        """The tie block of each value, in the order of :meth:`values_by_site`."""
        return self.by_site if self.block is None else self.block[self.by_site]


def rank_groups(y: np.ndarray, codes: np.ndarray, k: int) -> RankedGroups:
    """Sort the pooled values once: tie blocks, rank sums, H, and the positions grouped by site.

    The numbers are those of :func:`midranks` and :func:`h_from_ranks` (mid-ranks, so ties share
    the mean of their positions), computed from one argsort of y and one radix sort of the codes.

    >>> r = rank_groups(np.array([3.0, 1, 3, 2]), np.array([0, 0, 1, 1]), 2)
    >>> r.rank_sums.tolist(), r.ties.tolist(), r.tie_sum, round(r.H, 6)  # scipy.stats.kruskal: 0.166667
    ([4.5, 5.5], [1, 1, 2], 6.0, 0.166667)
    >>> r.values_by_site().tolist(), r.bounds.tolist()
    ([1.0, 3.0, 2.0, 3.0], [0, 2, 4])
    """
    y = np.asarray(y, dtype=float)
    codes = np.asarray(codes, dtype=np.intp)
    order = np.argsort(y)
    ys = y[order]
    cs = codes[order]
    N = ys.size
    new = np.empty(N, dtype=bool)
    new[:1] = True
    np.not_equal(ys[1:], ys[:-1], out=new[1:])
    if np.count_nonzero(new) == N:  # every value distinct (continuous scores): the rank is the position
        block = ties = None
        ranks = np.arange(1.0, N + 1.0)
        tie_sum = 0.0
    else:
        block = np.cumsum(new) - 1
        ties = np.bincount(block)
        ranks = (np.cumsum(ties) - ties + (ties + 1) / 2.0)[block]
        tie_sum = float(np.sum(ties.astype(float) ** 3 - ties))
    n = np.bincount(cs, minlength=k)
    R = np.bincount(cs, weights=ranks, minlength=k)
    del ranks
    by_site = np.argsort(small_codes(cs, k), kind="stable")
    bounds = np.concatenate([[0], np.cumsum(n)])
    return RankedGroups(ys, cs, block, ties, by_site, bounds, n, R, tie_sum, h_from_rank_sums(R, n, tie_sum))


def h_from_rank_sums(R: np.ndarray, n: np.ndarray, tie_sum: float) -> float:
    """Tie-corrected H from the rank sums R and sizes n of the groups and Σ(t³ − t) of the ties.

    >>> round(h_from_rank_sums(np.array([6.0, 15.0]), np.array([3, 3]), 0.0), 6)
    3.857143
    """
    n = np.asarray(n).astype(float)
    N = float(n.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        H = 12.0 / (N * (N + 1.0)) * np.sum(np.where(n > 0, R * R / np.where(n > 0, n, 1.0), 0.0)) \
            - 3.0 * (N + 1.0)
    tie = 1.0 - tie_sum / (N**3 - N)
    return float(H / tie) if tie > 0 else np.nan


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
    n = np.bincount(codes, minlength=k)
    R = np.bincount(codes, weights=ranks, minlength=k)
    return h_from_rank_sums(R, n, float(np.sum(ties.astype(float) ** 3 - ties)))


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
    return rank_groups(y, codes, k).H


def kruskal_p(H: float, k: int) -> float:
    """Upper-tail chi-square p value of H on k - 1 df (as R ``kruskal.test``); NaN when H is undefined.

    >>> round(kruskal_p(3.857143, 2), 6)
    0.049535
    """
    return float(stats.chi2.sf(H, k - 1)) if np.isfinite(H) else np.nan
