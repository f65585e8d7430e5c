"""Distributions shared by the tests and effect sizes (private; imports only the private ``_ptukey``).

* :func:`percentile_ci` - the percentile bootstrap interval exactly as ``boot::boot.ci(type = "perc")``;
* :func:`tukey_sf`, :func:`tukey_quantile` - the studentized range (upper tail, quantiles solved for many
  df) by R's own quadrature (:mod:`recoverystudy.stats._ptukey`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from recoverystudy.stats._ptukey import qtukey, tukey_upper

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
    """Upper tail of the studentized range, R's ``ptukey(q, k, df, lower.tail = FALSE)``.

    NaN where q or df is not finite (or df < 2).  Uses :mod:`._ptukey`, R's own quadrature.

    >>> round(float(tukey_sf(3.5, 3, 20.0)), 6)
    0.055892
    """
    q = np.asarray(q, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), q.shape)
    out = np.full(q.shape, np.nan)
    ok = np.isfinite(q) & np.isfinite(df) & (df > 0)
    if ok.any():
        out[ok] = tukey_upper(q[ok], k, df[ok])
    return out


def tukey_quantile(conf: float, k: int, df: Any, *, tol: float = 1e-12) -> np.ndarray:
    """Quantile ``qtukey(conf, k, df)`` for an array of df: the root of R's ``ptukey`` to *tol*.

    Repeated df are solved once.

    >>> round(float(tukey_quantile(0.95, 3, 20.0)[0]), 6)
    3.577935
    """
    df = np.atleast_1d(np.asarray(df, dtype=float))
    out = np.full(df.shape, np.nan)
    ok = np.isfinite(df) & (df > 0)
    if not ok.any():
        return out
    uniq, inv = np.unique(df[ok], return_inverse=True)
    out[ok] = qtukey(conf, k, uniq, tol=tol)[inv]
    return out
