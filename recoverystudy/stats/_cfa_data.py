"""Sample statistics of one group for the factor models of :mod:`recoverystudy.stats.cfa`.

Complete data are summarised by the mean and the covariance (divisor N); incomplete data by their
missing-data patterns, with the saturated mean and covariance estimated by EM (full-information ML).
The patterns are also laid out once for the likelihood, which is evaluated hundreds of times per fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

__all__ = ["GroupData"]


@dataclass
class GroupData:
    """Sample statistics of one group: complete data, or missing-data patterns for FIML."""

    label: str
    x: np.ndarray                       # (n, p) raw data (NaN = missing), kept for casewise scores
    n: int
    mean: np.ndarray                    # complete data: sample mean; FIML: EM (saturated) estimate
    cov: np.ndarray                     # divisor N
    patterns: list[tuple[np.ndarray, np.ndarray]] | None = None   # (observed-variable mask, row indices)

    @classmethod
    def build(cls, label: str, x: np.ndarray, fiml: bool) -> GroupData:
        n = x.shape[0]
        if not fiml:
            mean = x.mean(axis=0)
            c = x - mean
            return cls(label, x, n, mean, c.T @ c / n)
        obs = ~np.isnan(x)
        keys, inv = np.unique(obs, axis=0, return_inverse=True)
        patterns = [(keys[k], np.flatnonzero(inv.ravel() == k)) for k in range(len(keys))]
        mean, cov = _em_saturated(x, patterns)
        return cls(label, x, n, mean, cov, patterns)

    @cached_property
    def blocks(self) -> list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray, int, int]]:
        """Per missing-data pattern, built once: (observed indices, their np.ix_ pair, the observed data
        block, number of rows, number of observed items).  The likelihood is evaluated hundreds of times
        per fit; slicing the data afresh each time was most of its cost."""
        out = []
        for o, rows in self.patterns or []:
            oi = np.flatnonzero(o)
            out.append((oi, np.ix_(oi, oi), self.x[np.ix_(rows, oi)], len(rows), int(o.sum())))
        return out

    @cached_property
    def size_classes(self) -> tuple[list[_SizeClass], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The missing-data patterns taken together by number of observed items, built once.

        Returns the classes, then the permutations that put the per-pattern blocks of the classes (p x p
        positions and p positions, concatenated class by class) back in pattern order, and those positions
        in pattern order.  The likelihood is evaluated hundreds of times per fit: one stacked Cholesky
        factorisation and inverse per size instead of one per pattern, and sums taken in pattern order as a
        loop over the patterns takes them, so the value is the same to the last bit."""
        p = self.x.shape[1]
        by_size: dict[int, list[int]] = {}
        for t, blk in enumerate(self.blocks):
            by_size.setdefault(blk[4], []).append(t)
        classes, w_at, g_at = [], [], []
        for k, members in by_size.items():
            oi = np.stack([self.blocks[t][0] for t in members]).reshape(len(members), k)      # (m, k)
            rows = np.array([self.blocks[t][3] for t in members], dtype=int)
            starts = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(int)
            single = np.flatnonzero(rows == 1)
            multi = tuple((int(j), int(starts[j]), int(starts[j] + rows[j])) for j in np.flatnonzero(rows > 1))
            classes.append(_SizeClass(
                k, (oi[:, :, None], oi[:, None, :]), np.concatenate([self.blocks[t][2] for t in members]),
                np.repeat(oi, rows, axis=0), rows.astype(float), single, starts[single], multi,
                np.array(members, dtype=int)))
            w_at.append((oi[:, :, None] * p + oi[:, None, :]).reshape(len(members), k * k))
            g_at.append(oi)
        # blocks in class order -> pattern order
        members = np.concatenate([c.members for c in classes]) if classes else np.zeros(0, dtype=int)
        sizes = np.concatenate([np.full(len(c.members), c.k) for c in classes]) if classes else np.zeros(0, int)
        w_perm = _block_permutation(members, sizes ** 2)
        g_perm = _block_permutation(members, sizes)
        w_flat = np.concatenate([w.ravel() for w in w_at]) if w_at else np.zeros(0, dtype=int)
        g_flat = np.concatenate([g.ravel() for g in g_at]) if g_at else np.zeros(0, dtype=int)
        return classes, w_perm, g_perm, w_flat[w_perm], g_flat[g_perm]


class _SizeClass(NamedTuple):
    """Missing-data patterns with the same number k of observed items (see GroupData.size_classes)."""

    k: int
    ix: tuple[np.ndarray, np.ndarray]     # index of each pattern's k x k block of Sigma: sigma[ix] is (m, k, k)
    x: np.ndarray                         # observed values of all the patterns' rows, (R, k)
    cols: np.ndarray                      # the item of each of those values, (R, k)
    n: np.ndarray                         # rows per pattern (float)
    single: np.ndarray                    # patterns with one row ...
    single_rows: np.ndarray               # ... and that row
    multi: tuple[tuple[int, int, int], ...]   # patterns with more rows: (pattern, first row, end row)
    members: np.ndarray                   # the patterns' positions in GroupData.blocks


def _block_permutation(members: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Positions that reorder blocks of *sizes* laid out in the order *members* into ascending member order."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int) if len(sizes) else np.zeros(0, int)
    order = np.argsort(members, kind="stable")
    return (np.concatenate([np.arange(starts[t], starts[t] + sizes[t]) for t in order]).astype(int)
            if len(order) else np.zeros(0, dtype=int))


def _em_saturated(x: np.ndarray, patterns, tol: float = 1e-14, max_iter: int = 10000) -> tuple[np.ndarray, np.ndarray]:
    """EM estimates of an unrestricted mean and covariance from incomplete normal data.

    What does not change between iterations is prepared once: each pattern's observed block (written into
    its completed-data array), its index pairs, and the sums of the complete rows.
    """
    n, p = x.shape
    mu = np.nanmean(x, axis=0)
    sigma = np.diag(np.nanvar(x, axis=0))
    steps = []
    for o, rows in patterns:
        xo = x[np.ix_(rows, o)]
        m = ~o
        if not m.any():
            steps.append((None, xo.sum(axis=0), xo.T @ xo))
            continue
        oi, mi = np.flatnonzero(o), np.flatnonzero(m)
        full = np.empty((len(rows), p))
        full[:, o] = xo
        steps.append(((oi, mi, np.ix_(oi, oi), np.ix_(oi, mi), np.ix_(mi, mi), np.ix_(mi, oi), xo, full),
                      len(rows), None))
    for _ in range(max_iter):
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for step, a, b in steps:
            if step is None:                       # complete rows: their sums
                t1 += a
                t2 += b
                continue
            oi, mi, oo, om, mm, mo, xo, full = step
            reg = np.linalg.solve(sigma[oo], sigma[om])                         # (po, pm)
            full[:, mi] = mu[mi] + (xo - mu[oi]) @ reg
            t1 += full.sum(axis=0)
            t2 += full.T @ full
            t2[mm] += a * (sigma[mm] - sigma[mo] @ reg)
        new_mu = t1 / n
        new_sigma = t2 / n - np.outer(new_mu, new_mu)
        done = max(np.abs(new_mu - mu).max(), np.abs(new_sigma - sigma).max()) < tol
        mu, sigma = new_mu, new_sigma
        if done:
            break
    return mu, sigma
