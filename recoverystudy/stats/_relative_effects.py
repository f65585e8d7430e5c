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
comes from ONE sort of the data: F̂_g at each tie block is a cumulative count of site g's values.

The interval (:func:`relative_effect_draws`) draws p* ~ N(p̂, Cov(p̂)) and maps each draw through the
formula of H, then takes percentiles: the large-sample form of the stratified percentile bootstrap
(whose resampled p̂* have the same limiting distribution), kept non-linear so that it behaves as the
bootstrap does near zero.  Cost: one sort plus O(N k), independent of the number of draws.
"""

from __future__ import annotations

import numpy as np

from recoverystudy.stats._ranks import h_from_ranks, tie_blocks

__all__ = ["h_draws", "relative_effects"]


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
