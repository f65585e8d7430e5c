"""Internal consistency: Cronbach's alpha and McDonald's omega, computed exactly as R psych does.

``rs.reliability(data, "wai-sr", scale="bond")`` applies the instrument's keys first (non-answer
codes to missing, reverse keys); ``rs.reliability(items_frame)`` takes items that are already keyed.

Formulas (k items; C the pairwise-complete covariance matrix, n all rows):

* raw alpha = k/(k-1) (1 - tr C / sum C); standardised alpha uses R = cov2cor(C);
* alpha if item deleted = raw alpha of C without that row and column;
* corrected item-total correlation r_drop_i = sum_{j!=i} C_ij / sqrt(C_ii sum_{j,l!=i} C_jl);
* Feldt CI: 1 - (1 - alpha) F^-1(1 - p/2; n-1, (n-1)(k-1)) and 1 - (1 - alpha) F^-1(p/2; ...);
* omega total = 1 - sum(1 - l_i^2) / sum R, l the one-factor minimum-residual loadings of the
  pairwise correlation matrix R (psych ``omega(x, nfactors = 1)``), found by iterated principal-axis
  factoring to convergence (1e-12).

Matches R psych 2.2.9 ``alpha()`` and ``omega(nfactors = 1)`` to 1e-6 (tests/reference/reliability.R).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recoverystudy._validate import check_option, check_probability
from recoverystudy.errors import (
    DerivedKeyWarning,
    EmptyDataError,
    InsufficientDataError,
    StatisticsError,
    UndefinedStatisticWarning,
)
from recoverystudy.results import Result, base_provenance, resolve_seed

__all__ = ["reliability", "Reliability", "pairwise_cov", "omega_total"]


# ----------------------------------------------------------------------------------------------
# matrix building blocks (vectorised: no loop over respondents)
# ----------------------------------------------------------------------------------------------
def _pairwise_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (n_ij, cov_ij, var_i^(ij), var_j^(ij)) over pairwise-complete rows."""
    m = ~np.isnan(x)
    x0 = np.where(m, x, 0.0)
    mf = m.astype(float)
    n = mf.T @ mf
    s = x0.T @ mf  # s[i, j] = sum of x_i over rows where i and j are both present
    sxy = x0.T @ x0
    q = (x0 * x0).T @ mf
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sxy - s * s.T / n) / (n - 1)
        var_i = (q - s * s / n) / (n - 1)
    return n, cov, var_i, var_i.T


def pairwise_cov(x: np.ndarray) -> np.ndarray:
    """Covariance matrix over pairwise-complete observations (R ``cov(x, use = "pairwise")``).

    Examples
    --------
    >>> x = np.array([[1, 2], [2, np.nan], [3, 5], [4, 4.0]])
    >>> round(float(pairwise_cov(x)[0, 1]), 6)   # rows 1, 3, 4 only: 33/18
    1.833333
    """
    return _pairwise_moments(np.asarray(x, dtype=float))[1]


def _pairwise_cor(x: np.ndarray) -> np.ndarray:
    _, cov, vi, vj = _pairwise_moments(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vi * vj)
    np.fill_diagonal(r, 1.0)
    return r


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    return k / (k - 1) * (1 - np.trace(c) / c.sum())


def _minres_loadings(r: np.ndarray, tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
    """One-factor ULS (minres) loadings by iterated principal-axis factoring."""
    h2 = 1 - 1 / np.diag(np.linalg.inv(r))
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


def omega_total(x: np.ndarray) -> float:
    """McDonald's omega total from a one-factor minres model (psych ``omega(nfactors = 1)``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=500)
    >>> x = np.column_stack([f + rng.normal(size=500) for _ in range(5)])
    >>> 0.7 < omega_total(x) < 0.9
    True
    """
    r = _pairwise_cor(np.asarray(x, dtype=float))
    lam = _minres_loadings(r)
    return float(1 - np.sum(1 - lam**2) / r.sum())


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Reliability(Result):
    """Internal consistency of one scale.

    Attributes
    ----------
    alpha, alpha_std : float
        Raw and standardised Cronbach's alpha.
    alpha_ci : tuple
        Feldt confidence interval of raw alpha.
    omega : float
        McDonald's omega total (one-factor minres model).
    omega_ci : tuple
        Percentile bootstrap confidence interval of omega total.
    items : pandas.DataFrame
        Per item: ``mean``, ``sd``, ``n``, ``r_drop`` (corrected item-total correlation),
        ``alpha_if_deleted``.
    n, n_items : int
        Rows used (all rows for pairwise handling) and number of items.
    provenance : dict
    """

    alpha: float
    alpha_std: float
    alpha_ci: tuple[float, float]
    omega: float
    omega_ci: tuple[float, float]
    items: pd.DataFrame
    n: int
    n_items: int
    confidence: float
    provenance: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``statistic``, ``value``, ``ci_low``, ``ci_high``, ``ci_method``."""
        return pd.DataFrame(
            [
                {"statistic": "alpha", "value": self.alpha, "ci_low": self.alpha_ci[0], "ci_high": self.alpha_ci[1],
                 "ci_method": "Feldt"},
                {"statistic": "alpha_std", "value": self.alpha_std, "ci_low": np.nan, "ci_high": np.nan,
                 "ci_method": ""},
                {"statistic": "omega_total", "value": self.omega, "ci_low": self.omega_ci[0],
                 "ci_high": self.omega_ci[1], "ci_method": "percentile bootstrap"},
            ]
        )

    def summary(self) -> str:
        pct = round(self.confidence * 100)
        what = self.provenance.get("scale_label") or f"{self.n_items} items"
        weakest = self.items["r_drop"].idxmin()
        return (
            f"Reliability of {what} (n = {self.n}, {self.n_items} items, {self.provenance['missing']} handling of "
            f"missing answers): Cronbach's alpha = {self.alpha:.2f} ({pct}% CI {self.alpha_ci[0]:.2f} to "
            f"{self.alpha_ci[1]:.2f}, Feldt), standardised alpha = {self.alpha_std:.2f}; McDonald's omega total = "
            f"{self.omega:.2f} ({pct}% CI {self.omega_ci[0]:.2f} to {self.omega_ci[1]:.2f}, bootstrap, "
            f"{self.provenance['n_boot']} resamples). The item that fits least is {weakest} "
            f"(corrected item-total r = {self.items.loc[weakest, 'r_drop']:.2f})."
        )

    def _repr_html_(self) -> str:
        from recoverystudy.results import frame_to_html

        return super()._repr_html_() + "<h5>Items</h5>" + frame_to_html(self.items)


# ----------------------------------------------------------------------------------------------
# public function
# ----------------------------------------------------------------------------------------------
def _keyed_items(data: pd.DataFrame, instrument: Any, scale: str | None, key: Any) -> tuple[pd.DataFrame, dict]:
    from recoverystudy.quant.instruments import load_instrument
    from recoverystudy.quant.scoring import _item_columns, prepare_items

    inst = load_instrument(instrument, key=key)
    if scale is None:
        scale = "total"
    if scale not in inst.scales:
        raise ValueError(f"{inst.short_title} has no scale {scale!r}; scales are {', '.join(inst.scales)}.")
    reason = inst.refusal_reason(scale)
    if reason:
        from recoverystudy.errors import UnverifiedKeyError

        raise UnverifiedKeyError(f"{reason} {inst.key_hint()}", instrument=inst.id, scales=[scale])
    mapping = _item_columns(data, inst, None)
    values, _, problems = prepare_items(data, inst, mapping, data.index)
    if len(problems):
        from recoverystudy.errors import InvalidResponseError

        raise InvalidResponseError(
            f"{len(problems)} invalid response(s); score the data first to see them (rs.score lists every one).",
            problems=problems)
    cols = list(mapping)
    if inst.reverse_keyed:
        rev = [cols.index(i) for i in inst.reverse_keyed]
        values[:, rev] = inst.response_min + inst.response_max - values[:, rev]
    sc = inst.scales[scale]
    frame = pd.DataFrame(values, columns=cols, index=data.index)[list(sc.items)]
    prov = inst.scale_provenance(scale)
    if prov["status"] == "derived-from-wording":
        warnings.warn(f"{inst.short_title} {scale}: key derived from item wording (recorded in provenance).",
                      DerivedKeyWarning, stacklevel=3)
    return frame, {"instrument": inst.id, "instrument_version": inst.version, "scale": scale,
                   "scale_label": f"{inst.short_title} {sc.label}", "key_provenance": prov}


def reliability(
    data: pd.DataFrame,
    instrument: Any = None,
    scale: str | None = None,
    *,
    key: Any = None,
    missing: str = "pairwise",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int | None = None,
) -> Reliability:
    """Cronbach's alpha (raw, standardised, Feldt CI), omega total (bootstrap CI) and item statistics.

    Parameters
    ----------
    data : pandas.DataFrame
        Item answers. Without *instrument*, every column is an item that is already keyed
        (reversed where needed) and numeric.
    instrument : str or Instrument, optional
        Apply this instrument's non-answer codes and reverse keys, and take the items of *scale*.
    scale : str, optional
        Scale of *instrument* (default ``"total"``).
    key : str, path-like or dict, optional
        A key file overlaid on the instrument (see :func:`recoverystudy.load_instrument`).
    missing : {"pairwise", "listwise"}, default "pairwise"
        Pairwise-complete covariances (as R psych) or complete rows only.
    confidence : float, default 0.95
    n_boot : int, default 1000
        Bootstrap resamples for the omega CI (rows resampled with replacement).
    seed : int, optional
        Seed of the bootstrap (recorded in the provenance).

    Returns
    -------
    Reliability

    Raises
    ------
    InsufficientDataError
        Fewer than two items or three rows.
    StatisticsError
        Non-numeric items, or a Heywood case in the one-factor model.

    Notes
    -----
    Matches R ``psych::alpha`` (raw_alpha, std.alpha, Feldt CI, r.drop, alpha.drop) and
    ``psych::omega(x, nfactors = 1)$omega.tot`` (psych 2.2.9) to 1e-6.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=300)
    >>> items = pd.DataFrame({f"i{j}": np.round(f + rng.normal(size=300)) for j in range(6)})
    >>> rel = rs.reliability(items, n_boot=200, seed=1)
    >>> round(rel.alpha, 3), list(rel.items.columns)
    (0.816, ['mean', 'sd', 'n', 'r_drop', 'alpha_if_deleted'])
    """
    check_option("missing", missing, ["pairwise", "listwise"])
    conf = check_probability("confidence", confidence)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame of items; got {type(data).__name__}.")
    if data.shape[0] == 0:
        raise EmptyDataError("The data frame is empty: there are no answers to analyse.")
    extra: dict[str, Any] = {}
    if instrument is not None:
        items, extra = _keyed_items(data, instrument, scale, key)
    else:
        items = data
    bad = [c for c in items.columns if not pd.api.types.is_numeric_dtype(items[c])]
    if bad:
        raise StatisticsError(f"Items must be numeric (already keyed); non-numeric column(s): "
                              f"{', '.join(map(repr, bad))}. Pass instrument= to apply a definition's codes.",
                              columns=bad)
    x = items.to_numpy(dtype=float)
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if k < 2:
        raise InsufficientDataError(f"Reliability needs at least two items; got {k}.")
    if n < 3:
        raise InsufficientDataError(f"Reliability needs at least three respondents; got {n} usable rows.")

    nn, c, _, _ = _pairwise_moments(x)
    if np.any(nn < 2):
        raise InsufficientDataError("Some pairs of items are never answered together, so their covariance is "
                                    "undefined; use fewer items or more data.")
    alpha = _alpha_from_cov(c)
    d = np.sqrt(np.diag(c))
    alpha_std = _alpha_from_cov(c / np.outer(d, d))
    p = 1 - conf
    df1, df2 = n - 1, (n - 1) * (k - 1)
    ci = (1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2), 1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2))

    total = c.sum()
    row = c.sum(axis=1)
    rest = total - 2 * row + np.diag(c)  # sum of the submatrix without item i
    r_drop = (row - np.diag(c)) / np.sqrt(np.diag(c) * rest)
    alpha_drop = np.empty(k)
    if k > 2:
        for i in range(k):  # k small submatrices (a loop over items, not respondents)
            keep = np.arange(k) != i
            alpha_drop[i] = _alpha_from_cov(c[np.ix_(keep, keep)])
    else:
        alpha_drop[:] = np.nan
        warnings.warn("Alpha if an item is deleted is undefined with two items.", UndefinedStatisticWarning,
                      stacklevel=2)
    item_table = pd.DataFrame(
        {"mean": np.nanmean(x, axis=0), "sd": np.nanstd(x, axis=0, ddof=1), "n": (~np.isnan(x)).sum(axis=0),
         "r_drop": r_drop, "alpha_if_deleted": alpha_drop}, index=list(items.columns))
    item_table.index.name = "item"

    omega = omega_total(x)
    seed = resolve_seed(seed) if n_boot else seed
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in range(n_boot):  # each resample needs its own factor model (loop over resamples)
        xb = x[rng.integers(0, n, n)]
        try:
            boots[b] = omega_total(xb)
        except (StatisticsError, np.linalg.LinAlgError):
            boots[b] = np.nan
    n_failed = int(np.isnan(boots).sum())
    omega_ci = (tuple(np.nanquantile(boots, [p / 2, 1 - p / 2]).tolist()) if n_boot - n_failed >= 10
                else (np.nan, np.nan))

    prov = base_provenance(
        "reliability", missing=missing, confidence=conf, n_boot=n_boot, seed=seed, n_boot_failed=n_failed,
        alpha_ci_method="Feldt (psych::alpha)", omega_model="one factor, minimum residual (psych::omega nfactors=1)",
        matches="R psych 2.2.9 alpha() and omega(nfactors = 1) to 1e-6", **extra)
    return Reliability(float(alpha), float(alpha_std), (float(ci[0]), float(ci[1])), float(omega),
                       (float(omega_ci[0]), float(omega_ci[1])), item_table, int(n), int(k), conf, prov)

