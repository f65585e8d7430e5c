"""Pooling estimates from multiply imputed data sets: Rubin's rules with Barnard-Rubin degrees of freedom.

:func:`pool` combines, for each quantity of interest (a site mean, a difference between two sites, a
regression coefficient ...), the *m* estimates obtained on the *m* completed data sets and their squared
standard errors, exactly as R ``mice::pool.scalar(Q, U, n, k)`` does (rule ``"rubin1987"``):

* ``qbar`` = mean of the m estimates; ``ubar`` = mean of the within-imputation variances;
* ``b`` = variance of the m estimates (divisor m - 1); ``t = ubar + (1 + 1/m) b``;
* ``r = (1 + 1/m) b / ubar`` (relative increase in variance due to missingness);
* ``lambda = (1 + 1/m) b / t``, floored at 1e-4 as mice does;
* Barnard-Rubin (1999) df with ``dfcom = n - k``: ``nu_old = (m - 1) / lambda^2``,
  ``nu_obs = (dfcom + 1) / (dfcom + 3) dfcom (1 - lambda)``, ``df = nu_old nu_obs / (nu_old + nu_obs)``;
  with an infinite dfcom the old Rubin df ``nu_old``;
* ``fmi = (r + 2 / (df + 3)) / (r + 1)`` (fraction of missing information).

The pooled estimate is tested with ``t = qbar / sqrt(t)`` on ``df`` degrees of freedom and given a
t interval, as ``summary(pool(fit), conf.int = TRUE)`` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recoverystudy._validate import check_probability
from recoverystudy.errors import InsufficientDataError, StatisticsError
from recoverystudy.results import Result, base_provenance
from recoverystudy.stats.posthoc import format_p

__all__ = ["PooledEstimates", "pool", "rubin_pool"]

POOLED_COLUMNS = ["term", "m", "estimate", "se", "ci_low", "ci_high", "statistic", "df", "p",
                  "ubar", "b", "t", "r", "lambda", "fmi", "dfcom"]


def rubin_pool(Q: Any, U: Any, dfcom: Any = np.inf) -> dict[str, np.ndarray]:
    """Rubin's rules for one or several quantities at once (vectorised ``mice::pool.scalar``).

    Parameters
    ----------
    Q, U : array_like, shape (m,) or (m, p)
        Estimates and their squared standard errors, one row per imputation.
    dfcom : float or array_like of shape (p,), default=inf
        Complete-data degrees of freedom, ``n - k`` in ``pool.scalar``.

    Returns
    -------
    dict of arrays with keys qbar, ubar, b, t, r, lambda, df, fmi (each of shape (p,)).

    Examples
    --------
    >>> out = rubin_pool([1.0, 1.2, 0.9], [0.04, 0.05, 0.045], dfcom=48)
    >>> round(float(out["qbar"][0]), 6), round(float(out["df"][0]), 4)
    (1.033333, 8.3183)
    """
    Q = np.asarray(Q, dtype=float)
    U = np.asarray(U, dtype=float)
    if Q.ndim == 1:
        Q = Q[:, None]
    if U.ndim == 1:
        U = U[:, None]
    if Q.shape != U.shape:
        raise StatisticsError(f"Estimates have shape {Q.shape} but variances {U.shape}; give one variance per estimate.")
    m = Q.shape[0]
    if m < 2:
        raise InsufficientDataError(f"Pooling needs at least 2 imputations; got {m}.")
    if not (np.isfinite(Q).all() and np.isfinite(U).all()):
        raise StatisticsError("An estimate or variance to pool is missing or infinite; every imputation must give both.")
    if (U < 0).any():
        raise StatisticsError("A within-imputation variance is negative; give squared standard errors.")
    dfcom = np.broadcast_to(np.asarray(dfcom, dtype=float), (Q.shape[1],))
    qbar = Q.mean(axis=0)
    ubar = U.mean(axis=0)
    b = Q.var(axis=0, ddof=1)
    t = ubar + (1.0 + 1.0 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1.0 + 1.0 / m) * b / ubar
        lam = (1.0 + 1.0 / m) * b / t
    lam_f = np.where(lam < 1e-4, 1e-4, lam)
    df_old = (m - 1) / lam_f**2
    with np.errstate(invalid="ignore"):
        df_obs = (dfcom + 1.0) / (dfcom + 3.0) * dfcom * (1.0 - lam_f)
        df = np.where(np.isinf(dfcom), df_old, df_old * df_obs / (df_old + df_obs))
    fmi = (r + 2.0 / (df + 3.0)) / (r + 1.0)
    return {"qbar": qbar, "ubar": ubar, "b": b, "t": t, "r": r, "lambda": lam, "df": df, "fmi": fmi}


@dataclass(frozen=True, repr=False)
class PooledEstimates(Result):
    """Estimates pooled over multiply imputed data sets (Rubin's rules, Barnard-Rubin df).

    Attributes
    ----------
    table : DataFrame
        One row per term: term, m, estimate (qbar), se (sqrt of t), ci_low, ci_high, statistic
        (estimate / se), df (Barnard-Rubin), p (two-sided), ubar, b, t, r, lambda, fmi, dfcom.
    estimates : DataFrame
        The per-imputation estimates and variances that were pooled (imputation, term, estimate, variance).
    provenance : dict
    """

    table: pd.DataFrame
    estimates: pd.DataFrame
    provenance: dict = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"PooledEstimates(terms={len(self.table)}, m={int(self.table['m'].iloc[0])})"

    def to_frame(self) -> pd.DataFrame:
        """The pooled table (one row per term)."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-words account of each pooled estimate."""
        m = int(self.table["m"].iloc[0])
        conf = self.provenance.get("confidence", 0.95)
        lines = [f"Pooled over {m} imputed data sets with Rubin's rules (Barnard-Rubin degrees of freedom; "
                 "as R mice::pool.scalar)."]
        for row in self.table.itertuples(index=False):
            lines.append(
                f"{row.term}: {row.estimate:.3f} ({conf:.0%} CI {row.ci_low:.3f} to {row.ci_high:.3f}), "
                f"t({row.df:.1f}) = {row.statistic:.2f}, p {format_p(row.p)}; "
                f"{row.fmi:.0%} of the information is missing (fraction of missing information)."
            )
        worst = self.table["fmi"].max()
        if worst > 0.5:
            lines.append("More than half the information is missing for some estimates: more imputations "
                         "(m) and a check of the imputation model are advisable.")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Per-imputation estimates (dots) and the pooled estimate with its CI (bar), one row per term."""
        import matplotlib.pyplot as plt

        fig = None
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 0.5 + 0.45 * len(self.table)))
        else:
            fig = ax.figure
        terms = list(self.table["term"])
        pos = {t: i for i, t in enumerate(terms)}
        est = self.estimates
        ax.scatter(est["estimate"], est["term"].map(pos), s=10, alpha=0.4, color="grey", label="each imputation")
        y = np.arange(len(terms))
        ax.errorbar(self.table["estimate"], y, xerr=[self.table["estimate"] - self.table["ci_low"],
                                                     self.table["ci_high"] - self.table["estimate"]],
                    fmt="o", color="black", capsize=3, label="pooled, with CI")
        ax.set_yticks(y, terms)
        ax.invert_yaxis()
        ax.axvline(0, color="lightgrey", lw=0.8)
        ax.set_xlabel("estimate")
        ax.legend(loc="best", fontsize="small")
        return fig


def pool(estimates: Any, variances: Any = None, *, n: Any = np.inf, k: int = 1, terms: Any = None,
         ci: float = 0.95, dfcom: Any = None) -> PooledEstimates:
    """Pool estimates from *m* imputed data sets with Rubin's rules (R ``mice::pool.scalar``).

    Parameters
    ----------
    estimates : array_like or DataFrame
        Either the m estimates of one quantity (a list), an (m, p) array, or a long DataFrame with
        columns ``imputation``, ``term``, ``estimate`` and ``variance`` (or ``se``).
    variances : array_like, optional
        Squared standard errors matching *estimates* (not needed with a long DataFrame).
    n : float, default=inf
        Sample size of the complete data; with ``k`` gives ``dfcom = n - k``.  ``inf`` gives the old
        Rubin (1987) degrees of freedom, as ``pool.scalar``'s default.
    k : int, default=1
        Number of parameters of the complete-data model.
    terms : list of str, optional
        Names of the p quantities (default "Q1", "Q2", ...).
    ci : float, default=0.95
        Confidence level of the pooled t interval.
    dfcom : float or array_like, optional
        Complete-data df per term; overrides ``n - k`` (or a ``dfcom`` column in the long frame).

    Returns
    -------
    PooledEstimates

    Examples
    --------
    >>> import recoverystudy as rs
    >>> res = rs.pool([3.28, 3.04, 3.22, 3.19, 3.10], [0.032, 0.043, 0.036, 0.046, 0.034], n=80, k=2)
    >>> round(float(res.table["estimate"][0]), 3), round(float(res.table["df"][0]), 2)
    (3.166, 33.94)
    """
    check_probability("ci", ci)
    long = None
    if isinstance(estimates, pd.DataFrame) and variances is None:
        frame = estimates
        need = {"imputation", "term", "estimate"}
        missing = need - set(frame.columns)
        if missing or not ({"variance", "se"} & set(frame.columns)):
            raise StatisticsError("A long frame to pool needs the columns imputation, term, estimate and "
                                  f"variance (or se); missing: {sorted(missing) or ['variance/se']}.")
        var = frame["variance"] if "variance" in frame.columns else frame["se"] ** 2
        long = pd.DataFrame({"imputation": frame["imputation"], "term": frame["term"].astype(str),
                             "estimate": frame["estimate"].astype(float), "variance": var.astype(float)})
        order = list(dict.fromkeys(long["term"]))
        Qw = long.pivot(index="imputation", columns="term", values="estimate")[order]
        Uw = long.pivot(index="imputation", columns="term", values="variance")[order]
        if Qw.isna().any().any():
            bad = Qw.columns[Qw.isna().any()].tolist()
            raise StatisticsError(f"Terms {bad} are not estimated in every imputation; cannot pool them.")
        Q, U, terms = Qw.to_numpy(), Uw.to_numpy(), order
        if dfcom is None and "dfcom" in frame.columns:
            dfcom = frame.groupby(frame["term"].astype(str), sort=False)["dfcom"].mean()[order].to_numpy()
    else:
        if variances is None:
            raise StatisticsError("Give the within-imputation variances (squared standard errors) to pool.")
        Q = np.asarray(estimates, dtype=float)
        U = np.asarray(variances, dtype=float)
        Q = Q[:, None] if Q.ndim == 1 else Q
        U = U[:, None] if U.ndim == 1 else U
        terms = list(terms) if terms is not None else [f"Q{i + 1}" for i in range(Q.shape[1])]
        if len(terms) != Q.shape[1]:
            raise StatisticsError(f"{len(terms)} term names for {Q.shape[1]} quantities.")
    if dfcom is None:
        dfcom = float(n) - k
    out = rubin_pool(Q, U, dfcom)
    m = Q.shape[0]
    se = np.sqrt(out["t"])
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = out["qbar"] / se
    p = 2 * stats.t.sf(np.abs(stat), out["df"])
    crit = stats.t.ppf(0.5 + ci / 2, out["df"])
    dfc = np.broadcast_to(np.asarray(dfcom, dtype=float), (Q.shape[1],))
    table = pd.DataFrame({
        "term": terms, "m": m, "estimate": out["qbar"], "se": se, "ci_low": out["qbar"] - crit * se,
        "ci_high": out["qbar"] + crit * se, "statistic": stat, "df": out["df"], "p": p, "ubar": out["ubar"],
        "b": out["b"], "t": out["t"], "r": out["r"], "lambda": out["lambda"], "fmi": out["fmi"], "dfcom": dfc,
    })[POOLED_COLUMNS]
    if long is None:
        long = pd.DataFrame({"imputation": np.repeat(np.arange(1, m + 1), Q.shape[1]),
                             "term": np.tile(terms, m), "estimate": Q.ravel(), "variance": U.ravel()})
    prov = base_provenance("rubin_pool", matches="R mice::pool.scalar (rule = 'rubin1987')", m=m,
                           df="Barnard-Rubin (1999), lambda floored at 1e-4 as mice", confidence=ci)
    return PooledEstimates(table=table, estimates=long.reset_index(drop=True), provenance=prov)
