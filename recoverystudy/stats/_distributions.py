"""Distributions shared by the tests and effect sizes (private; imports nothing from the package).

* :func:`percentile_ci` - the percentile bootstrap interval exactly as ``boot::boot.ci(type = "perc")``;
* :func:`tukey_sf`, :func:`tukey_quantile` - the studentized range (upper tail, quantiles solved for many df).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special, stats

__all__ = ["percentile_ci", "tukey_quantile", "tukey_sf"]


# --------------------------------------------------------------------------------------------------
# bootstrap percentile interval (boot::boot.ci type = "perc", i.e. boot:::norm.inter)
# --------------------------------------------------------------------------------------------------
def percentile_ci(t: np.ndarray, confidence: float, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap replicates exactly as ``boot::boot.ci(type = "perc")``.

    The (R + 1)·α-th order statistic is used; when that is not an integer, boot interpolates
    between the neighbouring order statistics on the normal-quantile scale.  Works along *axis*
    so that many statistics can share one call.

    >>> lo, hi = percentile_ci(np.arange(1.0, 200.0), 0.90)
    >>> float(lo), float(hi)
    (10.0, 190.0)
    """
    t = np.moveaxis(np.asarray(t, dtype=float), axis, -1)
    t = np.sort(t, axis=-1)
    R = t.shape[-1]
    out = []
    for a in ((1 - confidence) / 2, (1 + confidence) / 2):
        rk = (R + 1) * a
        k = int(np.trunc(rk))
        if k == 0:
            out.append(t[..., 0])
        elif k >= R:
            out.append(t[..., R - 1])
        elif k == rk:
            out.append(t[..., k - 1])
        else:
            z = special.ndtri(a)
            z1 = special.ndtri(k / (R + 1))
            z2 = special.ndtri((k + 1) / (R + 1))
            tk, tk1 = t[..., k - 1], t[..., k]
            out.append(tk + (z - z1) / (z2 - z1) * (tk1 - tk))
    return out[0], out[1]


# --------------------------------------------------------------------------------------------------
# studentized range
# --------------------------------------------------------------------------------------------------
def tukey_sf(q: Any, k: int, df: Any) -> np.ndarray:
    """Upper tail of the studentized range (scipy), NaN where q or df is not finite."""
    q = np.asarray(q, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), q.shape)
    out = np.full(q.shape, np.nan)
    ok = np.isfinite(q) & np.isfinite(df) & (df > 0)
    if ok.any():
        out[ok] = stats.studentized_range.sf(q[ok], k, df[ok])
    return out


def tukey_quantile(conf: float, k: int, df: Any, *, tol: float = 1e-12) -> np.ndarray:
    """Quantile ``qtukey(conf, k, df)`` for an array of df, solved jointly by the secant method.

    Every iteration evaluates the scipy distribution once per df; starting values from the
    infinite-df quantile make this converge in a handful of steps (much faster than calling
    ``studentized_range.ppf`` per pair).

    >>> round(float(tukey_quantile(0.95, 3, 20.0)[0]), 6)
    3.577935
    """
    df = np.atleast_1d(np.asarray(df, dtype=float))
    out = np.full(df.shape, np.nan)
    ok = np.isfinite(df) & (df > 0)
    if not ok.any():
        return out
    uniq, inv = np.unique(df[ok], return_inverse=True)
    q_inf = float(stats.studentized_range.ppf(conf, k, np.inf))
    target = 1.0 - conf

    def f(x: np.ndarray) -> np.ndarray:
        return stats.studentized_range.sf(x, k, uniq) - target

    # starting points: q_inf * (1 + c/df) brackets typical values from both sides
    x0 = np.full(uniq.shape, q_inf)
    x1 = q_inf * (1.0 + 1.0 / np.maximum(uniq, 1.0))
    f0, f1 = f(x0), f(x1)
    for _ in range(60):
        denom = f1 - f0
        step = np.where(denom != 0, f1 * (x1 - x0) / np.where(denom != 0, denom, 1.0), 0.0)
        x2 = np.maximum(x1 - step, 1e-8)
        done = np.abs(x2 - x1) <= tol * np.maximum(1.0, np.abs(x2))
        x0, f0 = x1, f1
        x1 = x2
        if done.all():
            break
        active = ~done
        f1 = f1.copy()
        f1[active] = stats.studentized_range.sf(x1[active], k, uniq[active]) - target
        f1[done] = 0.0
    out[ok] = x1[inv]
    return out
