"""Relative effects and their asymptotic covariance: the large-sample interval for Kruskal-Wallis effect sizes.

Private; imports only :mod:`._ranks`.

The Kruskal-Wallis H is a function of the *relative effects* p_g = ∫ H dF_g (H = Σ λ_h F_h the mean of the
site distributions, mid-distribution functions for ties), estimated by p̂_g = (R̄_g − ½)/N from mean
mid-ranks R̄_g:

    H = 12 N² / ((N + 1) · tie) · Σ_g λ_g (p̂_g − ½)²,    ε²_R = H / (N − 1),   λ_g = n_g / N.

p̂ is asymptotically normal with a covariance estimated from *placements* (Brunner & Munzel 2000; Brunner,
Bathke & Konietschke 2018, *Rank and Pseudo-Rank Procedures for Independent Observations in Factorial
Designs*, Springer, ch. 7).  From the Hájek projection, observation j of site h contributes

    Z_g(X_hj) = 1[h = g] (Ĥ(X_hj) − p̂_g) / λ_g − F̂_g(X_hj)            (g = 1..k)

to N (p̂_g − p_g), so Cov(p̂) = Σ_h n_h S_h / N², S_h the covariance of Z within site h.  Every quantity
comes from ONE sort of the data (:func:`._ranks.rank_groups`, shared with H, Dunn's table and the
quartiles): F̂_g at each tie block is a cumulative count of site g's values, and the N × k placements are
written straight into site order (site h's rows contiguous), one column per site, so that each S_h is a
plain matrix product over a contiguous block.

The interval (:func:`relative_effect_draws`) draws p* ~ N(p̂, Cov(p̂)) and maps each draw through the
formula of H, then takes percentiles: the large-sample form of the stratified percentile bootstrap
(whose resampled p̂* have the same limiting distribution), kept non-linear so that it behaves as the
bootstrap does near zero.  Cost: one sort plus O(N k), independent of the number of draws.
"""

from __future__ import annotations

import numpy as np

from recoverystudy.stats._ranks import RankedGroups, rank_groups

__all__ = ["h_draws", "relative_effects"]


def relative_effects(y: np.ndarray, codes: np.ndarray, k: int, ranked: RankedGroups | None = None
                     ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Relative effects p̂ (length k), their estimated covariance (k × k), the tie factor and H.

    H is computed from the mid-ranks exactly as :func:`._ranks.kruskal_h`.  *ranked* is the one sort of
    the data (:func:`._ranks.rank_groups`), shared with H, Dunn's table and the descriptives; it is
    made here when not given.

    >>> y = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    >>> p, V, tie, H = relative_effects(y, np.array([0, 0, 0, 0, 1, 1, 1, 1]), 2)
    >>> p.round(4).tolist(), tie, round(H, 6)   # mean ranks 2.5, 6.5: (2.5 - 0.5) / 8, (6.5 - 0.5) / 8
    ([0.25, 0.75], 1.0, 5.333333)
    """
    if ranked is None:
        ranked = rank_groups(y, codes, k)
    N = ranked.ys.size
    n = ranked.n.astype(float)
    lam = n / N
    bounds = ranked.bounds
    # The placements are built straight into site order (rows of site h contiguous, ascending values),
    # one column per site g: F[:, g] is site g's mid-ECDF at each value, from the counts of g's values
    # per tie block (a position, without ties) - no N x k one-hot matrix, no N x k gather.
    blk = ranked.blocks_by_site()
    m = ranked.n_blocks
    F = np.empty((N, k))
    col = np.empty(N)
    for g in range(k):
        own = blk[bounds[g]:bounds[g + 1]]
        per = np.bincount(own, minlength=m)                     # g's values in each tie block
        Fg = np.cumsum(per, dtype=float)                        # g's values up to each block (exact)
        if ranked.block is None:                                # mid-ECDF count: ≤ minus half of =
            Fg[own] -= 0.5
        else:
            Fg -= 0.5 * per
        Fg /= n[g]
        np.take(Fg, blk, out=col, mode="clip")                  # at each value, in site order
        F[:, g] = col
        del per, Fg
    del col
    Hmid = F @ lam                                              # pooled mid-ECDF = (midrank - 1/2) / N
    # each site's mean, summed in order (as np.bincount does)
    p = np.array([np.cumsum(Hmid[bounds[g]:bounds[g + 1]])[-1] if n[g] else 0.0 for g in range(k)]) / n
    # F becomes -Z (see the module notes); the covariance of -Z is that of Z
    for h in range(k):
        a, b = bounds[h], bounds[h + 1]
        F[a:b, h] -= (Hmid[a:b] - p[h]) / lam[h]
    del Hmid
    V = np.zeros((k, k))
    for h in range(k):                                  # k small covariance matrices, not a loop over people
        Zh = F[bounds[h]:bounds[h + 1]]
        nh = Zh.shape[0]
        if nh > 1:
            mu = Zh.mean(axis=0)
            V += (Zh.T @ Zh - nh * np.outer(mu, mu)) * (nh / (nh - 1.0))
    V /= float(N) ** 2
    tie = 1.0 - ranked.tie_sum / (float(N) ** 3 - N)
    return p, V, tie, ranked.H


def h_draws(p: np.ndarray, V: np.ndarray, tie: float, n: np.ndarray, n_draws: int,
            rng: np.random.Generator) -> np.ndarray:
    """H evaluated at *n_draws* normal draws of the relative effects (see the module notes).

    *p*, *V*, *tie* come from :func:`relative_effects`; *n* holds the site sizes.

    >>> rng = np.random.default_rng(1)
    >>> y = np.concatenate([rng.normal(0, 1, 300), rng.normal(0.5, 1, 300)])
    >>> p, V, tie, H = relative_effects(y, np.repeat([0, 1], 300), 2)
    >>> Hd = h_draws(p, V, tie, np.array([300, 300]), 4000, rng)
    >>> bool(np.percentile(Hd, 5) < H < np.percentile(Hd, 95))
    True
    """
    N = float(np.sum(n))
    k = p.size
    if not tie > 0:
        return np.full(n_draws, np.nan)
    lam = np.asarray(n, dtype=float) / N
    # V is singular (Σ λ_g p̂_g = 1/2 always): factor it by eigenvalues, not Cholesky
    w, U = np.linalg.eigh((V + V.T) / 2.0)
    L = U * np.sqrt(np.clip(w, 0.0, None))
    draws = p + rng.standard_normal((n_draws, k)) @ L.T
    return 12.0 * N * N / ((N + 1.0) * tie) * ((draws - 0.5) ** 2 @ lam)
