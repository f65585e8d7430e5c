"""Random-intercept models: how much of the variation in a score lies between sites.

``rs.site_model(df, "star_p_total", "site")`` fits y_ij = b0 + x_ij'b + u_j + e_ij with
u_j ~ N(0, tau^2), e_ij ~ N(0, sigma^2) by REML and reports tau^2, sigma^2, the ICC
tau^2 / (tau^2 + sigma^2) with a parametric-bootstrap CI, the design effect 1 + (m - 1) ICC and the
fixed effects.

How it is fitted, and why
-------------------------
statsmodels' ``MixedLM`` optimisers can stop at a spurious zero site variance (statistics.md §5).
With one random intercept the REML criterion depends on a single parameter, the variance ratio
rho = tau^2 / sigma^2, and has closed forms per site (V_j^-1 = I - rho/(1 + n_j rho) 11',
|V_j| = 1 + n_j rho). recoverystudy therefore

1. minimises that exact profile criterion over rho (a bounded scalar search, plus the boundary
   rho = 0), vectorised over sites;
2. refits statsmodels ``MixedLM`` (REML) from that optimum and with its own optimisers (powell, nm,
   lbfgs), discards non-finite likelihoods, and keeps whichever solution has the highest REML
   log-likelihood; the fixed-effects table comes from the statsmodels fit at that solution.

Variance components equal ``lme4::lmer(REML = TRUE)`` to 1e-4 (tests/reference/models.R). A fit with
tau^2 = 0 is singular: it is reported (``.singular``, :class:`SingularFitWarning`), never hidden.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from recoverystudy._validate import check_columns, check_frame, check_numeric, check_probability
from recoverystudy.errors import ExclusionWarning, InsufficientDataError, SingularFitWarning, StatisticsError
from recoverystudy.results import Result, base_provenance, frame_to_html, resolve_seed

__all__ = ["site_model", "SiteModel"]

_LOG_RHO_BOUNDS = (-25.0, 12.0)


# ----------------------------------------------------------------------------------------------
# exact profiled REML for one random intercept (vectorised over sites)
# ----------------------------------------------------------------------------------------------
class _Profile:
    """Sufficient statistics per site for the REML criterion of a random-intercept model."""

    def __init__(self, X: np.ndarray, groups: np.ndarray, n_groups: int):
        self.X, self.g, self.G = X, groups, n_groups
        self.N, self.p = X.shape
        self.n_g = np.bincount(groups, minlength=n_groups).astype(float)
        self.XtX = X.T @ X
        # s_g = X_g' 1  (G x p)
        self.S = np.stack([np.bincount(groups, weights=X[:, k], minlength=n_groups) for k in range(self.p)], axis=1)

    def y_stats(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(X'y, per-site sums of y, y'y) — y may be 2-D (N x B) for many replicates at once."""
        Xty = self.X.T @ y
        ys = np.zeros((self.G,) + y.shape[1:])
        np.add.at(ys, self.g, y)
        yty = np.einsum("i...,i...->...", y, y)
        return Xty, ys, yty

    def criterion(self, rho: float, Xty, ys, yty) -> tuple[float, np.ndarray, float]:
        """Return (-2 REML without constants, beta, sigma^2) at variance ratio *rho* (1-D y only)."""
        w = rho / (1 + self.n_g * rho)
        A = self.XtX - (self.S * w[:, None]).T @ self.S
        b = Xty - self.S.T @ (w * ys)
        beta = np.linalg.solve(A, b)
        rvr = yty - np.sum(w * ys * ys) - beta @ b
        sigma2 = rvr / (self.N - self.p)
        _, logdet_a = np.linalg.slogdet(A)
        crit = (self.N - self.p) * np.log(sigma2) + np.sum(np.log1p(self.n_g * rho)) + logdet_a
        return float(crit), beta, float(sigma2)

    def fit(self, y: np.ndarray) -> tuple[float, np.ndarray, float, float]:
        """Return (rho, beta, sigma^2, criterion) at the REML optimum, including the boundary rho = 0."""
        Xty, ys, yty = self.y_stats(y)
        f = lambda t: self.criterion(np.exp(t), Xty, ys, yty)[0]  # noqa: E731
        grid = np.linspace(*_LOG_RHO_BOUNDS, 38)
        vals = np.array([f(t) for t in grid])
        i = int(np.argmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        best_t = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                          options={"xatol": 1e-12, "maxiter": 500}).x
        crit, beta, s2 = self.criterion(np.exp(best_t), Xty, ys, yty)
        crit0, beta0, s20 = self.criterion(0.0, Xty, ys, yty)
        if crit0 <= crit + 1e-10:
            return 0.0, beta0, s20, crit0
        return float(np.exp(best_t)), beta, s2, crit


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class SiteModel(Result):
    """A random-site-intercept model fitted by REML.

    Attributes
    ----------
    variance_site, variance_residual : float
        tau^2 and sigma^2.
    icc : float
        tau^2 / (tau^2 + sigma^2).
    icc_ci : tuple
        Parametric-bootstrap percentile CI of the ICC.
    design_effect : float
        1 + (m - 1) ICC with m the mean site size.
    fixed_effects : pandas.DataFrame
        ``term, estimate, se, statistic, p, ci_low, ci_high`` (Wald z from statsmodels).
    singular : bool
        True when the site variance is estimated at zero (boundary fit).
    n, n_sites, mean_cluster_size : int, int, float
    reml_criterion : float
        -2 x REML log-likelihood (comparable with lme4's ``REMLcrit``).
    provenance : dict
    """

    value: str
    site: str
    variance_site: float
    variance_residual: float
    icc: float
    icc_ci: tuple[float, float]
    design_effect: float
    fixed_effects: pd.DataFrame
    singular: bool
    n: int
    n_sites: int
    mean_cluster_size: float
    reml_criterion: float
    exclusions: pd.DataFrame
    provenance: dict[str, Any]

    @property
    def effective_n(self) -> float:
        """n / design effect: the number of independent observations the data are worth."""
        return self.n / self.design_effect

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: ``statistic, value, ci_low, ci_high``."""
        rows = [
            ("variance_site", self.variance_site, np.nan, np.nan),
            ("variance_residual", self.variance_residual, np.nan, np.nan),
            ("icc", self.icc, *self.icc_ci),
            ("design_effect", self.design_effect, np.nan, np.nan),
            ("effective_n", self.effective_n, np.nan, np.nan),
        ]
        return pd.DataFrame(rows, columns=["statistic", "value", "ci_low", "ci_high"])

    def summary(self) -> str:
        pct = round(self.provenance["confidence"] * 100)
        text = (
            f"Random-intercept model for {self.value} (REML; {self.n} people in {self.n_sites} sites, mean "
            f"{self.mean_cluster_size:.1f} per site): between-site variance {self.variance_site:.3g}, within-site "
            f"variance {self.variance_residual:.3g}, ICC = {self.icc:.3f} ({pct}% CI {self.icc_ci[0]:.3f} to "
            f"{self.icc_ci[1]:.3f}, parametric bootstrap). {self.icc * 100:.1f}% of the variation lies between sites. "
            f"Design effect {self.design_effect:.2f}: the sample is worth about {self.effective_n:.0f} independent "
            "people."
        )
        if self.singular:
            text += (" The site variance was estimated at zero (a singular, boundary fit): the data show no detectable "
                     "between-site variation, and the ICC of 0 is a boundary value, not evidence of none.")
        if self.n_sites < 10:
            text += (f" With only {self.n_sites} sites the site variance is estimated imprecisely; treat it as "
                     "descriptive.")
        return text

    def _repr_html_(self) -> str:
        return super()._repr_html_() + "<h5>Fixed effects</h5>" + frame_to_html(self.fixed_effects)


# ----------------------------------------------------------------------------------------------
# public function
# ----------------------------------------------------------------------------------------------
def _prepare(data: pd.DataFrame, value: str, site: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    check_frame(data)
    check_columns(data, [value, site])
    y = check_numeric(data, value)
    if y.notna().sum() == 0:
        raise InsufficientDataError(f"{value!r} has no values: every observation is missing.", column=value)
    frame = data.assign(**{value: y})
    keep = frame[value].notna() & frame[site].notna()
    excluded = pd.DataFrame({"row": frame.index[~keep], "reason": "missing value or site"})
    return frame.loc[keep], excluded


def _design(frame: pd.DataFrame, fixed: Sequence[str] | None) -> tuple[np.ndarray, list[str], str]:
    import patsy

    rhs = " + ".join(fixed) if fixed else "1"
    try:
        X = patsy.dmatrix(rhs, frame, return_type="dataframe", NA_action="raise")
    except Exception as exc:
        raise StatisticsError(f"The fixed-effects terms {list(fixed or [])!r} could not be built: {exc}") from exc
    return X.to_numpy(dtype=float), list(X.columns), rhs


def site_model(
    data: pd.DataFrame,
    value: str,
    site: str,
    *,
    fixed: Sequence[str] | None = None,
    n_boot: int = 500,
    seed: int | None = None,
    confidence: float = 0.95,
) -> SiteModel:
    """Fit a random-site-intercept model by REML and report the ICC and design effect.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    value : str
        The outcome column (e.g. ``"star_p_total"``).
    site : str
        The site (cluster) column.
    fixed : sequence of str, optional
        Fixed-effect terms in formula syntax, e.g. ``["age", "C(gender)"]`` or ``["C(country)"]``.
    n_boot : int, default 500
        Parametric-bootstrap replicates for the ICC CI (0 to skip).
    seed : int, optional
    confidence : float, default 0.95

    Returns
    -------
    SiteModel

    Raises
    ------
    InsufficientDataError
        Fewer than two sites, or no observations.

    Notes
    -----
    Variance components equal ``lme4::lmer(y ~ ... + (1 | site), REML = TRUE)`` to 1e-4.
    The ICC CI simulates new outcomes from the fitted model (normal site effects and residuals),
    refits by exact REML and takes percentiles.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> rng = np.random.default_rng(3)
    >>> sites = np.repeat(list("ABCDEF"), 40)
    >>> y = 10 + np.repeat(rng.normal(0, 1, 6), 40) + rng.normal(0, 2, 240)
    >>> m = rs.site_model(pd.DataFrame({"y": y, "site": sites}), "y", "site", n_boot=100, seed=1)
    >>> 0 <= m.icc < 1, m.n_sites, round(m.design_effect, 3) == round(1 + 39 * m.icc, 3)
    (True, 6, True)
    """
    conf = check_probability("confidence", confidence)
    frame, excluded = _prepare(data, value, site)
    counts = frame[site].value_counts()
    if len(counts) < 2:
        raise InsufficientDataError(f"A site model needs at least two sites; {site!r} has {len(counts)}.", column=site)
    if len(excluded):
        warnings.warn(f"{len(excluded)} row(s) without {value!r} or {site!r} were left out (see result.exclusions).",
                      ExclusionWarning, stacklevel=2)
    X, names, rhs = _design(frame, fixed)
    codes, labels = pd.factorize(frame[site], sort=True)
    y = frame[value].to_numpy(dtype=float)
    prof = _Profile(X, codes, len(labels))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise StatisticsError(f"The fixed effects {names!r} are collinear; drop a term.")
    rho, beta, sigma2, crit = prof.fit(y)

    sm_res, optimizer = _statsmodels_fit(frame, value, site, rhs, rho, beta)
    if sm_res is not None:
        # statsmodels' params: fixed effects and cov_re relative to scale; its llf is -crit/2 - const
        sm_rho = float(np.asarray(sm_res.cov_re)[0, 0] / sm_res.scale)
        sm_crit, _, _ = prof.criterion(max(sm_rho, 0.0), *prof.y_stats(y))
        if sm_crit < crit - 1e-9:  # statsmodels found a better optimum: use it
            rho, beta, sigma2, crit = max(sm_rho, 0.0), np.asarray(sm_res.fe_params), float(sm_res.scale), sm_crit
            optimizer = optimizer + " (statsmodels optimum kept)"
    tau2 = rho * sigma2
    singular = rho <= 1e-12
    if singular:
        tau2 = 0.0
        warnings.warn(f"The site variance of {value!r} is estimated at zero (singular fit): no detectable "
                      "between-site variation. This is reported in the result.", SingularFitWarning, stacklevel=2)
    icc = tau2 / (tau2 + sigma2)
    m = len(frame) / len(labels)
    seed = resolve_seed(seed) if n_boot else seed
    icc_ci = _bootstrap_icc(prof, X @ beta, tau2, sigma2, codes, n_boot, seed, conf)
    fixed_table = _fixed_table(names, beta, prof, rho, sigma2, conf)
    reml_const = (prof.N - prof.p) * (1 + np.log(2 * np.pi))  # lme4's REMLcrit includes these constants
    prov = base_provenance(
        "site_model", model=f"{value} ~ {rhs} + (1 | {site})", estimation="REML", optimizer=optimizer,
        confidence=conf, n_boot=n_boot, seed=seed, icc_ci_method="parametric bootstrap (percentile)",
        design_effect_formula="1 + (m - 1) * ICC, m = mean site size (Kish 1965)",
        matches="lme4::lmer(REML = TRUE) variance components to 1e-4")
    return SiteModel(value, site, float(tau2), float(sigma2), float(icc), icc_ci, float(1 + (m - 1) * icc),
                     fixed_table, bool(singular), len(frame), len(labels), float(m),
                     float(crit + reml_const), excluded, prov)


def _statsmodels_fit(frame, value, site, rhs, rho, beta):
    """Refit with statsmodels MixedLM from the exact optimum and with its own optimisers."""
    import statsmodels.formula.api as smf
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    model = smf.mixedlm(f"Q('{value}') ~ {rhs}", frame, groups=frame[site])
    best, best_llf, used = None, -np.inf, "exact profiled REML"
    start = MixedLMParams.from_components(fe_params=np.asarray(beta), cov_re=np.array([[max(rho, 1e-10)]]))
    attempts = [("lbfgs", start), ("powell", None), ("nm", None), ("lbfgs", None)]
    for method, sp in attempts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = model.fit(reml=True, method=method, start_params=sp)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if np.isfinite(res.llf) and res.llf > best_llf:
            best, best_llf = res, res.llf
            used = f"exact profiled REML; statsmodels MixedLM ({method}{', started at the exact optimum' if sp else ''})"
    return best, used


def _fixed_table(names, beta, prof, rho, sigma2, conf) -> pd.DataFrame:
    w = rho / (1 + prof.n_g * rho)
    A = prof.XtX - (prof.S * w[:, None]).T @ prof.S
    cov = sigma2 * np.linalg.inv(A)  # GLS covariance at the REML estimates (as lme4's vcov)
    se = np.sqrt(np.diag(cov))
    z = beta / se
    zc = stats.norm.ppf(1 - (1 - conf) / 2)
    return pd.DataFrame({"term": names, "estimate": beta, "se": se, "statistic": z,
                         "p": 2 * stats.norm.sf(np.abs(z)), "ci_low": beta - zc * se, "ci_high": beta + zc * se})


def _bootstrap_icc(prof, mu, tau2, sigma2, codes, n_boot, seed, conf) -> tuple[float, float]:
    if n_boot <= 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    iccs = np.empty(n_boot)
    for b in range(n_boot):  # one exact REML refit per replicate (a loop over replicates, not people)
        u = rng.normal(0, np.sqrt(tau2), prof.G)
        ystar = mu + u[codes] + rng.normal(0, np.sqrt(sigma2), prof.N)
        rho_b, _, s2_b, _ = prof.fit(ystar)
        iccs[b] = rho_b / (1 + rho_b)
    a = (1 - conf) / 2
    lo, hi = np.quantile(iccs, [a, 1 - a])
    return float(lo), float(hi)
