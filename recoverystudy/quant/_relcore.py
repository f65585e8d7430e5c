"""Computational core of :mod:`recoverystudy.quant.reliability`: moments once, everything from them.

One pass over the data (in row blocks, so memory stays near the size of one block) accumulates the
pairwise-complete sums ``n_ij``, ``s_ij = sum x_i`` over rows where j is present, ``sum x_i x_j`` and
``sum x_i^2`` over rows where j is present.  Alpha, standardised alpha, the item statistics, omega,
the Feldt interval and the delta-method interval of omega are all derived from these k x k matrices;
reversing an item is a sign change of its row and column of the covariance matrix and
``lo + hi - mean`` for its mean, so it needs no second pass.

The bootstrap (on request) is vectorised over resamples: a resample is a vector of multinomial
counts w, every moment is linear in w, so the moments of B resamples are one matrix product
W (B x n) @ P (n x products) plus sparse corrections for the missing answers; omega of every resample
is found by Newton's method on the minres (ULS) stationarity equations, batched over resamples.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from recoverystudy.errors import StatisticsError

__all__ = ["Moments", "accumulate_moments", "minres_loadings", "omega_from_cor", "omega_gradient_cov",
           "omega_delta_se", "bootstrap_alpha_omega"]

_BLOCK = 32_768


@dataclass
class Moments:
    """Pairwise-complete sums of k items (data shifted by ``shift`` before summing, for accuracy)."""

    n: np.ndarray  # n_ij rows where i and j are both answered
    s: np.ndarray  # s_ij = sum of (x_i - shift_i) over rows where i and j are answered
    sxy: np.ndarray  # sum of (x_i - shift_i)(x_j - shift_j) over rows where both are answered
    q: np.ndarray  # sum of (x_i - shift_i)^2 over rows where i and j are answered
    shift: np.ndarray
    lo: np.ndarray  # observed minimum per item
    hi: np.ndarray  # observed maximum per item
    n_rows: int

    def cov(self) -> np.ndarray:
        """Pairwise covariance (R ``cov(x, use = "pairwise")``)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.sxy - self.s * self.s.T / self.n) / (self.n - 1)

    def pair_var(self) -> np.ndarray:
        """var_i over the rows where i and j are both answered (row i, column j)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.q - self.s * self.s / self.n) / (self.n - 1)

    def cor(self) -> np.ndarray:
        """Pairwise correlation (R ``cor(x, use = "pairwise")``: means and SDs per pair)."""
        v = self.pair_var()
        with np.errstate(invalid="ignore", divide="ignore"):
            r = self.cov() / np.sqrt(v * v.T)
        np.fill_diagonal(r, 1.0)
        return r

    def means(self) -> np.ndarray:
        d = np.diag(self.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.s) / d + self.shift

    def subset(self, keep: np.ndarray) -> Moments:
        ix = np.ix_(keep, keep)
        return Moments(self.n[ix], self.s[ix], self.sxy[ix], self.q[ix], self.shift[keep], self.lo[keep],
                       self.hi[keep], self.n_rows)


def _block(frame: pd.DataFrame, start: int) -> np.ndarray:
    return frame.iloc[start:start + _BLOCK].to_numpy(dtype=float, na_value=np.nan)


def _block_sums(x: np.ndarray, shift: np.ndarray, listwise: bool) -> tuple:
    """(n, s, sxy, q, lo, hi, rows) of one block of rows (NaN = missing)."""
    k = x.shape[1]
    miss = np.isnan(x)
    if listwise:
        x = x[~miss.any(axis=1)]
        miss = np.zeros(x.shape, dtype=bool)
    lo = np.full(k, np.inf)
    hi = np.full(k, -np.inf)
    if x.shape[0] == 0:
        z = np.zeros((k, k))
        return z, z, z, z, lo, hi, 0
    lo = np.min(np.where(miss, np.inf, x), axis=0)
    hi = np.max(np.where(miss, -np.inf, x), axis=0)
    x = x - shift  # a new array: the block may be a read-only view of the caller's frame
    rows = x.shape[0]
    if not miss.any():
        sums = x.sum(axis=0)
        sq = np.einsum("ij,ij->j", x, x)
        n = np.full((k, k), float(rows))
        return n, np.repeat(sums[:, None], k, axis=1), x.T @ x, np.repeat(sq[:, None], k, axis=1), lo, hi, rows
    x[miss] = 0.0
    present = (~miss).astype(float)
    both = np.hstack([x, present])
    g = both.T @ both  # one symmetric product: x'x, x'm, m'm
    return g[k:, k:], g[:k, k:], g[:k, :k], (x * x).T @ present, lo, hi, rows


def accumulate_moments(frame: pd.DataFrame, listwise: bool = False, n_jobs: int | None = None) -> Moments:
    """One pass over *frame* in row blocks accumulating the pairwise moments of its columns.

    Blocks are summed on up to two threads, each with single-threaded BLAS (a shared machine's
    multi-threaded BLAS on small products mostly waits for itself).
    """
    k = frame.shape[1]
    starts = list(range(0, len(frame), _BLOCK))
    first = _block(frame, 0) if starts else np.zeros((0, k))
    with np.errstate(invalid="ignore"):
        cnt = (~np.isnan(first)).sum(axis=0)
        shift = np.round(np.where(cnt > 0, np.nansum(first, axis=0) / np.maximum(cnt, 1), 0.0))
    jobs = n_jobs or min(2, os.cpu_count() or 1)

    def work(idx: list[int]) -> list:
        out = [np.zeros((k, k)) for _ in range(4)] + [np.full(k, np.inf), np.full(k, -np.inf), 0]
        for i in idx:
            x = first if i == 0 else _block(frame, starts[i])
            n, s_, sxy_, q_, lo_, hi_, rows = _block_sums(x, shift, listwise)
            for j, part in enumerate((n, s_, sxy_, q_)):
                out[j] += part
            out[4] = np.fmin(out[4], lo_)
            out[5] = np.fmax(out[5], hi_)
            out[6] += rows
        return out

    groups = [list(range(i, len(starts), jobs)) for i in range(jobs)] if len(starts) > 1 else [list(range(len(starts)))]
    with threadpool_limits(limits=1, user_api="blas"):
        if len(groups) > 1:
            with ThreadPoolExecutor(len(groups)) as pool:
                parts = list(pool.map(work, groups))
        else:
            parts = [work(groups[0])]
    n, s, sxy, q = (sum(p[j] for p in parts) for j in range(4))
    lo = np.min([p[4] for p in parts], axis=0)
    hi = np.max([p[5] for p in parts], axis=0)
    return Moments(n, s, sxy, q, shift, lo, hi, int(sum(p[6] for p in parts)))


# ----------------------------------------------------------------------------------------------
# one-factor minres (ULS) model and omega total
# ----------------------------------------------------------------------------------------------
def minres_loadings(r: np.ndarray, tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
    """One-factor ULS (minres) loadings by iterated principal-axis factoring (sign: positive sum)."""
    with threadpool_limits(limits=1, user_api="blas"):  # k x k problems: threads only add overhead
        return _minres(r, tol, max_iter)


def _minres(r: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    try:
        h2 = 1 - 1 / np.diag(np.linalg.inv(r))
    except np.linalg.LinAlgError:
        h2 = np.full(r.shape[0], 0.5)
    h2 = np.clip(h2, 0.0, 0.999)
    rr = r.copy()
    for _ in range(max_iter):
        np.fill_diagonal(rr, h2)
        vals, vecs = np.linalg.eigh(rr)
        lam = vecs[:, -1] * np.sqrt(max(vals[-1], 0.0))
        new = lam * lam
        if np.any(new >= 1):
            raise StatisticsError(
                "The one-factor model has a Heywood case (an item's communality reached 1), so omega is not "
                "defined for these items.", heywood_items=list(np.flatnonzero(new >= 1)))
        if np.max(np.abs(new - h2)) < tol:
            h2 = new
            break
        h2 = new
    else:  # pragma: no cover - the iteration converges on any proper correlation matrix
        raise StatisticsError("The one-factor model did not converge; omega is not reported.")
    return lam if lam.sum() >= 0 else -lam


def omega_from_cor(r: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Omega total as psych ``omega(nfactors = 1)``: items loading negatively are reversed (flip = TRUE).

    Returns (omega, loadings, signs); ``signs`` is -1 for the items psych would reverse.
    """
    lam = minres_loadings(r)
    signs = np.where(lam < 0, -1.0, 1.0)
    rf = r * np.outer(signs, signs)
    return float(1 - np.sum(1 - lam**2) / rf.sum()), np.abs(lam), signs


def omega_gradient_cov(c: np.ndarray, r: np.ndarray, lam: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """d omega / d C (symmetric k x k) at the minres solution, by implicit differentiation.

    With R~ = D R D (D the signs), l the minres loadings and S = sum R~, omega = 1 - (k - l'l) / S.
    l solves phi(l) = (R~_off l) - l * (l'l - l^2) = 0; d l = -J^-1 (d phi / d R~) d R~ gives
    d omega / d R~_ij = -(a_i l_j + a_j l_i) / 2 + (k - l'l) / S^2 per ordered off-diagonal entry, with
    a = J^-T (2 l / S) and J the Jacobian of phi; then the chain rule through R = D_C^-1/2 C D_C^-1/2.
    """
    k = len(lam)
    rf = r * np.outer(signs, signs)
    total = rf.sum()
    ll = lam @ lam
    roff = rf - np.diag(np.diag(rf))
    # Jacobian of phi(l) = roff @ l - l * (ll - l^2)
    jac = roff - 2 * np.outer(lam, lam)
    np.fill_diagonal(jac, -(ll - lam**2))
    a = np.linalg.solve(jac.T, 2 * lam / total)  # d omega (through l) = -a' d phi
    # one off-diagonal pair perturbed by eps (both entries): d phi_i = l_j eps, d phi_j = l_i eps and
    # sum R~ grows by 2 eps; the gradient per ordered entry is half the pair's derivative
    g_rf = -(np.outer(a, lam) + np.outer(lam, a)) / 2 + (k - ll) / total**2
    np.fill_diagonal(g_rf, 0.0)
    g_r = g_rf * np.outer(signs, signs)
    d = np.sqrt(np.diag(c))
    g_c = g_r / np.outer(d, d)
    np.fill_diagonal(g_c, -np.sum(g_r * r, axis=1) / np.diag(c))
    return g_c


def omega_delta_se(c: np.ndarray, r: np.ndarray, lam: np.ndarray, signs: np.ndarray, n: float) -> float:
    """Normal-theory delta-method SE of omega: Var = 2 tr(G C G C) / n (Cov(s_ij, s_kl) under normality)."""
    g = omega_gradient_cov(c, r, lam, signs)
    gc = g @ c
    return float(np.sqrt(2 * np.sum(gc * gc.T) / n))


# ----------------------------------------------------------------------------------------------
# bootstrap, vectorised over resamples
# ----------------------------------------------------------------------------------------------
def _batched_omega(rb: np.ndarray, start: np.ndarray, max_iter: int = 60, tol: float = 1e-10) -> np.ndarray:
    """Omega total of many correlation matrices (B x k x k) by Newton steps from *start* loadings."""
    bsz, k, _ = rb.shape
    lam = np.broadcast_to(start, (bsz, k)).copy()
    eye = np.eye(k, dtype=bool)
    roff = np.where(eye, 0.0, rb)
    done = np.zeros(bsz, dtype=bool)
    for _ in range(max_iter):
        ll = np.einsum("bi,bi->b", lam, lam)
        phi = np.einsum("bij,bj->bi", roff, lam) - lam * (ll[:, None] - lam**2)
        jac = roff - 2 * lam[:, :, None] * lam[:, None, :]
        jac[:, eye] = -(ll[:, None] - lam**2)
        try:
            step = np.linalg.solve(jac, phi[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.full_like(lam, np.nan)
        lam = lam - step
        done = np.all(np.abs(step) < tol, axis=1)
        if done.all():
            break
    out = np.full(bsz, np.nan)
    ok = done & np.all(np.isfinite(lam), axis=1) & np.all(lam**2 < 1, axis=1)
    signs = np.where(lam < 0, -1.0, 1.0)
    tot = np.einsum("bij,bi,bj->b", rb, signs, signs)
    out[ok] = 1 - np.sum(1 - lam[ok] ** 2, axis=1) / tot[ok]
    return out


def _cov_cor_from_sums(n, s, sxy, q):
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (sxy - s * np.swapaxes(s, -1, -2) / n) / (n - 1)
        v = (q - s * s / n) / (n - 1)
        r = c / np.sqrt(v * np.swapaxes(v, -1, -2))
    k = c.shape[-1]
    r[..., np.arange(k), np.arange(k)] = 1.0
    return c, r


def _sym(upper: np.ndarray, iu, k: int) -> np.ndarray:
    out = np.empty((upper.shape[0], k, k))
    out[:, iu[0], iu[1]] = upper
    out[:, iu[1], iu[0]] = upper
    return out


def _resample_moments(x0, present, miss_rows, miss_cols, counts, iu):
    """Pairwise sums of b resamples at once: every sum is linear in the multinomial counts (b x n)."""
    n_all, k = x0.shape
    b = counts.shape[0]
    sxy_u = np.zeros((b, len(iu[0])))
    cs = np.zeros((b, k))
    cq = np.zeros((b, k))
    cn = np.zeros((b, k))
    step = max(1, 4_000_000 // len(iu[0]))
    for start in range(0, n_all, step):  # row blocks bound the memory of the product matrices
        sl = slice(start, start + step)
        xb, w = x0[sl], counts[:, sl]
        sxy_u += w @ (xb[:, iu[0]] * xb[:, iu[1]])  # zeros stand for missing answers
        cs += w @ xb
        cq += w @ (xb * xb)
        cn += w @ present[sl]
    s = np.repeat(cs[:, :, None], k, axis=2)
    q = np.repeat(cq[:, :, None], k, axis=2)
    nn = np.repeat(cn[:, :, None], k, axis=2)
    for j in np.unique(miss_cols):  # rows where item j is missing leave the sums of column j (sparse)
        rows = miss_rows[miss_cols == j]
        w = counts[:, rows]
        xr = x0[rows]
        s[:, :, j] -= w @ xr
        q[:, :, j] -= w @ (xr * xr)
        nn[:, :, j] -= w @ present[rows]
    return nn, s, _sym(sxy_u, iu, k), q


def bootstrap_alpha_omega(x: np.ndarray, n_boot: int, seed, signs_keys: np.ndarray, start: np.ndarray,
                          n_jobs: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw alpha and omega total of *n_boot* row resamples of x (NaN = missing), with pairwise moments.

    *signs_keys* (+1 / -1 per item) applies the reversals (a sign change for covariances);
    *start* is the full-sample loadings (Newton's starting point). Resamples are split into chunks
    run on *n_jobs* threads (numpy releases the GIL in its matrix products and solvers); each chunk has
    its own child seed, so the result depends on *seed* only, not on the number of threads.
    Returns two arrays of length n_boot (NaN where a resample's estimate is undefined).
    """
    n, k = x.shape
    miss = np.isnan(x)
    x0 = (x - np.nanmean(x, axis=0)) * signs_keys
    x0[miss] = 0.0
    present = (~miss).astype(float)
    miss_rows, miss_cols = np.nonzero(miss)
    iu = np.triu_indices(k)
    per_chunk = int(max(1, min(125, 4_000_000 // max(n, 1))))
    bounds = list(range(0, n_boot, per_chunk)) + [n_boot]
    seeds = np.random.SeedSequence(seed).spawn(len(bounds) - 1)

    def run(i: int) -> tuple[np.ndarray, np.ndarray]:
        b = bounds[i + 1] - bounds[i]
        rng = np.random.default_rng(seeds[i])
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float)
        nn, s, sxy, q = _resample_moments(x0, present, miss_rows, miss_cols, counts, iu)
        c, r = _cov_cor_from_sums(nn, s, sxy, q)
        alpha = k / (k - 1) * (1 - np.trace(c, axis1=1, axis2=2) / c.sum(axis=(1, 2)))
        return alpha, _batched_omega(r, start)

    jobs = n_jobs or min(2, os.cpu_count() or 1)
    with threadpool_limits(limits=1, user_api="blas"):
        if jobs > 1 and len(bounds) > 2:
            with ThreadPoolExecutor(jobs) as pool:
                parts = list(pool.map(run, range(len(bounds) - 1)))
        else:
            parts = [run(i) for i in range(len(bounds) - 1)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
