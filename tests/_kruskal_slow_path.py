"""The Kruskal-Wallis path as it was before the shared one-sort machinery (commit 374f018), frozen.

Test helper only: tests/test_kruskal_fast_path.py checks that the fast path of compare_sites(method="kruskal")
gives the same numbers as this slow path (its own sort in each of H, Dunn, the relative effects and the
descriptives).  Do not "fix" or speed up this file: it is the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from recoverystudy._validate import check_option
from recoverystudy.stats._base import ADJUST_METHODS, Groups, adjust_pvalues
from recoverystudy.stats._omnibus import ASSUMPTION_COLUMNS, _anova
from recoverystudy.stats.posthoc import _frame, _pairs


def group_moments(y: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group n, mean and unbiased variance (two-pass, so it stays accurate for large means).

    >>> n, m, v = group_moments(np.array([1.0, 2, 3, 5]), np.array([0, 0, 1, 1]), 2)
    >>> n.tolist(), m.tolist(), v.tolist()
    ([2, 2], [1.5, 4.0], [0.5, 2.0])
    """
    n = np.bincount(codes, minlength=k)
    mean = np.bincount(codes, weights=y, minlength=k) / n
    dev = y - mean[codes]
    var = np.bincount(codes, weights=dev * dev, minlength=k) / (n - 1)
    return n, mean, var


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


def kruskal_h(y: np.ndarray, codes: np.ndarray, k: int) -> float:
    """Tie-corrected Kruskal-Wallis H (as R ``kruskal.test``); NaN if all values are equal.

    >>> round(kruskal_h(np.array([1.0, 2, 3, 4, 5, 6]), np.array([0, 0, 0, 1, 1, 1]), 2), 6)
    3.857143
    """
    ranks, ties = midranks(np.asarray(y, dtype=float))
    return h_from_ranks(ranks, ties, np.asarray(codes), k)


def relative_effects(y: np.ndarray, codes: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Relative effects p̂ (length k), their estimated covariance (k × k), the tie factor and H.

    H is computed from the mid-ranks exactly as :func:`._ranks.kruskal_h` (same sort).

    >>> y = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    >>> p, V, tie, H = relative_effects(y, np.array([0, 0, 0, 0, 1, 1, 1, 1]), 2)
    >>> p.round(4).tolist(), tie, round(H, 6)   # mean ranks 2.5, 6.5: (2.5 - 0.5) / 8, (6.5 - 0.5) / 8
    ([0.25, 0.75], 1.0, 5.333333)
    """
    y = np.asarray(y, dtype=float)
    codes = np.asarray(codes, dtype=np.int64)
    N = y.size
    order, block, counts = tie_blocks(y)
    n = np.bincount(codes, minlength=k).astype(float)
    lam = n / N
    # everything below is in sorted order: within-site covariances do not depend on the order
    cs = codes[order]
    rows = np.arange(N)
    if counts.size == N:  # no ties: the mid-ECDF of site g at a value is (# of g up to it - 1/2 if own) / n_g
        F = np.zeros((N, k))
        F[rows, cs] = 1.0
        np.cumsum(F, axis=0, out=F)
        F[rows, cs] -= 0.5
        ranks = rows + 1.0
    else:                 # ties: counts per tie block and site, then the mid-ECDF at each block
        per_block = np.bincount(block * k + cs, minlength=counts.size * k).reshape(counts.size, k).astype(float)
        Fb = np.cumsum(per_block, axis=0)
        Fb -= 0.5 * per_block
        F = Fb[block]
        del per_block, Fb
        ranks = (np.cumsum(counts) - counts + (counts + 1) / 2.0)[block]
    F /= n                                                  # (N, k): F_g at each value
    H = h_from_ranks(ranks, counts, cs, k)
    Hmid = F @ lam                                          # pooled mid-ECDF = (midrank - 1/2) / N
    p = np.bincount(cs, weights=Hmid, minlength=k) / n
    np.negative(F, out=F)                                   # F becomes Z (see the module notes)
    F[rows, cs] += (Hmid - p[cs]) / lam[cs]
    by_site = np.argsort(cs, kind="stable")
    Z = F[by_site]
    bounds = np.concatenate([[0], np.cumsum(n.astype(np.int64))])
    V = np.zeros((k, k))
    for h in range(k):                                      # k small covariance matrices, not a loop over people
        Zh = Z[bounds[h]:bounds[h + 1]]
        nh = Zh.shape[0]
        if nh > 1:
            mu = Zh.mean(axis=0)
            V += (Zh.T @ Zh - nh * np.outer(mu, mu)) * (nh / (nh - 1.0))
    V /= float(N) ** 2
    tie = 1.0 - float(np.sum(counts.astype(float) ** 3 - counts)) / (float(N) ** 3 - N)
    return p, V, tie, H


def descriptives(groups: Groups, confidence: float = 0.95) -> pd.DataFrame:
    """Per-site descriptive table (see :func:`recoverystudy.compare_sites` for the columns)."""
    k = groups.k
    n, mean, var = groups.moments
    sd = np.sqrt(var)
    se = sd / np.sqrt(n)
    tq = stats.t.ppf(0.5 + confidence / 2, n - 1)
    # values sorted within site: a stable (radix) sort by site code, then each site's block sorted
    ys = groups.y[np.argsort(groups.codes.astype(np.int32), kind="stable")]
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    for g in range(k):
        ys[starts[g] : starts[g] + n[g]].sort()

    def q(p: float) -> np.ndarray:  # R quantile type 7 (numpy "linear"), per group, vectorised
        h = (n - 1) * p
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        return ys[starts + lo] + (h - lo) * (ys[starts + hi] - ys[starts + lo])

    return pd.DataFrame(
        {
            "site": list(groups.labels),
            "n": n.astype(np.int64),
            "mean": mean,
            "sd": sd,
            "se": se,
            "ci_low": mean - tq * se,
            "ci_high": mean + tq * se,
            "median": q(0.5),
            "q1": q(0.25),
            "q3": q(0.75),
            "min": ys[starts],
            "max": ys[starts + n - 1],
        }
    )


def _assumptions(groups: Groups, desc: pd.DataFrame) -> pd.DataFrame:
    k = groups.k
    rows = []
    for check, centre in (("brown_forsythe", desc["median"].to_numpy()), ("levene", desc["mean"].to_numpy())):
        z = np.abs(groups.y - centre[groups.codes])
        n, m, v = group_moments(z, groups.codes, k)
        F, df1, df2, p = _anova(n, m, v)
        note = (
            "median-centred Levene test"
            if check == "brown_forsythe"
            else "mean-centred (classic) Levene test"
        )
        rows.append(
            {
                "check": check,
                "site": pd.NA,
                "statistic": F,
                "df1": df1,
                "df2": df2,
                "p": p,
                "n": groups.n_total,
                "note": note,
            }
        )
    for g, lab in enumerate(groups.labels):
        x = groups.y[groups.codes == g]
        if x.size < 3:
            stat, p, note = np.nan, np.nan, "needs at least 3 observations"
        elif x.size > 5000:
            stat, p, note = np.nan, np.nan, "not computed above 5000 observations (as R shapiro.test)"
        elif np.ptp(x) == 0:
            stat, p, note = np.nan, np.nan, "all values are equal"
        else:
            res = stats.shapiro(x)
            stat, p, note = float(res.statistic), float(res.pvalue), ""
        rows.append(
            {
                "check": "shapiro_wilk",
                "site": lab,
                "statistic": stat,
                "df1": np.nan,
                "df2": np.nan,
                "p": p,
                "n": x.size,
                "note": note,
            }
        )
    out = pd.DataFrame(rows, columns=ASSUMPTION_COLUMNS)
    out["site"] = out["site"].astype(object)
    return out


def dunn_table(groups: Groups, adjust: str = "holm") -> pd.DataFrame:
    """Dunn's test table from cleaned groups (see :func:`dunn`)."""
    check_option("adjust", adjust, ADJUST_METHODS)
    k = groups.k
    ranks, ties = midranks(groups.y)
    n = np.bincount(groups.codes, minlength=k)
    mean_rank = np.bincount(groups.codes, weights=ranks, minlength=k) / n
    N = float(groups.n_total)
    C = float(np.sum(ties.astype(float) ** 3 - ties)) / (12.0 * (N - 1.0))
    i, j = _pairs(k)
    est = mean_rank[j] - mean_rank[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((N * (N + 1.0) / 12.0 - C) * (1.0 / n[i] + 1.0 / n[j]))
        z = est / se
    p = special.erfc(np.abs(z) / np.sqrt(2.0))  # 2 * P(Z > |z|), accurate in the far tail
    p_adj = adjust_pvalues(p, adjust)
    nan = np.full(est.shape, np.nan)
    return _frame(groups.labels, i, j, n, est, se, nan, nan, z, np.nan, p, p_adj)
