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

Inference with few sites (tests/reference/multilevel.R)
-------------------------------------------------------
Rows with a missing outcome, covariate or site are left out as ``na.omit`` does, counted per reason.
Fixed effects are tested with Satterthwaite df by default (``lmerTest``), Kenward-Roger on request
(``pbkrtest``), Wald z only on request (warned against with few sites); the formulas, in closed form
per site, are in :mod:`recoverystudy.stats._lmm`. ``method="ML"`` gives an ML fit; log-likelihood, AIC
and BIC are lme4's; the site variance is tested by a likelihood ratio as ``lmerTest::ranova``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from recoverystudy._validate import check_columns, check_frame, check_numeric, check_option, check_probability
from recoverystudy.errors import (
    ExclusionWarning,
    FewClustersWarning,
    InsufficientDataError,
    SingularFitWarning,
    StatisticsError,
)
from recoverystudy.stats._lmm import SiteDesign, t_test
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

    def criterion(self, rho: float, Xty, ys, yty, reml: bool = True) -> tuple[float, np.ndarray, float]:
        """Return (-2 REML (or ML) without constants, beta, sigma^2) at variance ratio *rho* (1-D y only)."""
        w = rho / (1 + self.n_g * rho)
        A = self.XtX - (self.S * w[:, None]).T @ self.S
        b = Xty - self.S.T @ (w * ys)
        # one fixed effect (the intercept): LAPACK's solve of a 1 x 1 system is this division and its log
        # determinant this libm log, bit for bit, without the cost of the general routines
        one = self.p == 1 and A[0, 0] > 0
        beta = b / A[0, 0] if one else np.linalg.solve(A, b)
        rvr = yty - np.sum(w * ys * ys) - beta @ b
        if not reml:  # ML: sigma^2 = r'V^-1 r / N, -2 logLik = N log sigma^2 + log|V| (+ N (1 + log 2 pi))
            sigma2 = rvr / self.N
            return float(self.N * np.log(sigma2) + np.sum(np.log1p(self.n_g * rho))), beta, float(sigma2)
        sigma2 = rvr / (self.N - self.p)
        logdet_a = math.log(A[0, 0]) if one else np.linalg.slogdet(A)[1]
        crit = (self.N - self.p) * np.log(sigma2) + np.sum(np.log1p(self.n_g * rho)) + logdet_a
        return float(crit), beta, float(sigma2)

    def criteria(self, rhos: np.ndarray, Xty, ys, yty, reml: bool = True) -> np.ndarray:
        """The criterion of :meth:`criterion` at many variance ratios at once (1-D y), to bracket the optimum."""
        w = rhos[:, None] / (1 + self.n_g[None, :] * rhos[:, None])                    # (R, G)
        A = self.XtX[None] - np.einsum("rg,gi,gj->rij", w, self.S, self.S)
        b = Xty[None] - (w * ys[None]) @ self.S
        beta = np.linalg.solve(A, b[..., None])[..., 0]
        rvr = yty - np.sum(w * ys * ys, axis=1) - np.einsum("ri,ri->r", beta, b)
        logdet_v = np.sum(np.log1p(self.n_g[None, :] * rhos[:, None]), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if not reml:
                return self.N * np.log(rvr / self.N) + logdet_v
            return (self.N - self.p) * np.log(rvr / (self.N - self.p)) + logdet_v + np.linalg.slogdet(A)[1]

    def fit(self, y: np.ndarray, reml: bool = True) -> tuple[float, np.ndarray, float, float]:
        """Return (rho, beta, sigma^2, criterion) at the REML (or ML) optimum, including the boundary rho = 0.

        A grid of 38 log variance ratios (evaluated at once) brackets the optimum; a bounded Brent search
        then finds it to 1e-12 in log rho.
        """
        Xty, ys, yty = self.y_stats(y)
        f = lambda t: self.criterion(np.exp(t), Xty, ys, yty, reml)[0]  # noqa: E731
        grid = np.linspace(*_LOG_RHO_BOUNDS, 38)
        vals = self.criteria(np.exp(grid), Xty, ys, yty, reml)
        vals[~np.isfinite(vals)] = np.inf
        i = int(np.argmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        best_t = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                          options={"xatol": 1e-12, "maxiter": 500}).x
        crit, beta, s2 = self.criterion(np.exp(best_t), Xty, ys, yty, reml)
        crit0, beta0, s20 = self.criterion(0.0, Xty, ys, yty, reml)
        if crit0 <= crit + 1e-10:
            return 0.0, beta0, s20, crit0
        return float(np.exp(best_t)), beta, s2, crit


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class SiteModel(Result):
    """A random-site-intercept model fitted by REML (default) or ML.

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
        ``term, estimate, se, df, statistic, p, ci_low, ci_high``: t tests with Satterthwaite df
        (default, as lmerTest), Kenward-Roger (adjusted SE and df, as pbkrtest) or Wald z (df = inf).
    singular : bool
        True when the site variance is estimated at zero (boundary fit).
    n, n_sites, mean_cluster_size : int, int, float
    reml_criterion : float
        -2 x REML log-likelihood (lme4's ``REMLcrit``); NaN for an ML fit.
    exclusions : pandas.DataFrame
        One row per row left out (``row``, ``reason``), as ``na.omit``.
    exclusion_counts : dict
        Rows left out per reason (a row missing two things counts under both).
    log_likelihood, aic, bic : float
        Of the fit (REML or ML, as lme4's ``logLik``, ``AIC``, ``BIC``).
    site_variance_test : pandas.DataFrame
        Likelihood-ratio test of the site variance as ``lmerTest::ranova``: rows ``<none>`` and
        ``(1 | site)`` with ``npar, logLik, AIC, LRT, Df, p``.
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
    exclusion_counts: dict[str, int] = field(default_factory=dict)
    log_likelihood: float = np.nan
    aic: float = np.nan
    bic: float = np.nan
    site_variance_test: pd.DataFrame = field(default_factory=pd.DataFrame)
    site_effects: pd.DataFrame = field(default_factory=pd.DataFrame)

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
            ("log_likelihood", self.log_likelihood, np.nan, np.nan),
            ("aic", self.aic, np.nan, np.nan),
            ("bic", self.bic, np.nan, np.nan),
        ]
        if len(self.site_variance_test):
            t = self.site_variance_test.iloc[1]
            rows += [("lrt_site_variance", t["LRT"], np.nan, np.nan), ("lrt_p", t["p"], np.nan, np.nan)]
        return pd.DataFrame(rows, columns=["statistic", "value", "ci_low", "ci_high"])

    def summary(self) -> str:
        pct = round(self.provenance["confidence"] * 100)
        est = self.provenance.get("estimation", "REML")
        ci = ("" if np.isnan(self.icc_ci[0]) else
              f" ({pct}% CI {self.icc_ci[0]:.3f} to {self.icc_ci[1]:.3f}, parametric bootstrap)")
        text = (
            f"Random-intercept model for {self.value} ({est}; {self.n} people in {self.n_sites} sites, mean "
            f"{self.mean_cluster_size:.1f} per site): between-site variance {self.variance_site:.3g}, within-site "
            f"variance {self.variance_residual:.3g}, ICC = {self.icc:.3f}{ci}. "
            f"{self.icc * 100:.1f}% of the variation lies between sites. "
            f"Design effect {self.design_effect:.2f}: the sample is worth about {self.effective_n:.0f} independent "
            "people."
        )
        if self.exclusion_counts:
            parts = ", ".join(f"{v} {k}" for k, v in self.exclusion_counts.items())
            text += f" {len(self.exclusions)} row(s) were left out because something was missing ({parts})."
        if self.singular:
            text += (" The site variance was estimated at zero (a singular, boundary fit): the data show no detectable "
                     "between-site variation, and the ICC of 0 is a boundary value, not evidence of none.")
        if len(self.site_variance_test):
            t = self.site_variance_test.iloc[1]
            text += (f" Likelihood-ratio test of the site variance (as lmerTest::ranova): LRT = {t['LRT']:.2f} on "
                     f"{int(t['Df'])} df, p = {_fmt_p(t['p'])}. The variance cannot be below zero (the null value is "
                     "on the boundary), so this chi-square p is conservative; about half of it is the usual "
                     "correction (a 50:50 mixture of chi-square 0 and 1).")
        ddf = self.provenance.get("ddf", "Wald")
        how = {"Satterthwaite": "t tests with Satterthwaite degrees of freedom (as lmerTest)",
               "Kenward-Roger": "t tests with Kenward-Roger adjusted standard errors and degrees of freedom "
                                "(as pbkrtest)",
               "Wald": "Wald z tests (normal reference)"}[ddf]
        text += f" Fixed effects: {how}."
        fe = self.fixed_effects
        for r in fe.itertuples():
            if r.term == "Intercept":
                continue
            dfs = "" if np.isinf(r.df) else f", df = {r.df:.1f}"
            text += f" {r.term}: {r.estimate:.3g} (SE {r.se:.3g}{dfs}, p = {_fmt_p(r.p)})."
        if self.n_sites < 10:
            text += (f" With only {self.n_sites} sites the site variance is estimated imprecisely; treat it as "
                     "descriptive, and read effects of site-level variables (such as country) with their small df.")
        return text

    def _repr_html_(self) -> str:
        out = super()._repr_html_() + "<h5>Fixed effects</h5>" + frame_to_html(self.fixed_effects)
        if len(self.site_variance_test):
            out += "<h5>Likelihood-ratio test of the site variance</h5>" + frame_to_html(
                self.site_variance_test.reset_index())
        return out

    def plot(self) -> Any:
        """Two panels: predicted site effects (BLUPs, +/- 2 conditional SD) and fixed effects with CIs.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        se = self.site_effects
        yy = np.arange(len(se))
        ax1.errorbar(se["effect"], yy, xerr=2 * se["sd"], fmt="o", color="#2c7fb8", capsize=3)
        ax1.axvline(0, color="#555555", linewidth=0.8)
        ax1.set_yticks(yy, [str(v) for v in se.index])
        ax1.set_xlabel(f"site effect on {self.value}")
        ax1.set_title("Sites (shrunken estimates)")
        fe = self.fixed_effects[self.fixed_effects["term"] != "Intercept"]
        if len(fe):
            y2 = np.arange(len(fe))
            ax2.errorbar(fe["estimate"], y2, xerr=[fe["estimate"] - fe["ci_low"], fe["ci_high"] - fe["estimate"]],
                         fmt="s", color="#d95f0e", capsize=3)
            ax2.axvline(0, color="#555555", linewidth=0.8)
            ax2.set_yticks(y2, list(fe["term"]))
            ax2.set_title(f"Fixed effects ({self.provenance.get('ddf')} CIs)")
        else:
            ax2.text(0.5, 0.5, "intercept only", ha="center", va="center")
            ax2.set_axis_off()
        fig.tight_layout()
        return fig


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# ----------------------------------------------------------------------------------------------
# public function
# ----------------------------------------------------------------------------------------------
_IDENT = re.compile(r"Q\(['\"](.+?)['\"]\)|[A-Za-z_][A-Za-z0-9_.]*")


def _term_columns(data: pd.DataFrame, fixed: Sequence[str] | None) -> list[str]:
    """Columns of *data* named in the fixed-effect terms (plain names or Q('...'))."""
    cols: list[str] = []
    for term in fixed or []:
        for m in _IDENT.finditer(str(term)):
            name = m.group(1) or m.group(0)
            if name in data.columns and name not in cols:
                cols.append(name)
    return cols


def _prepare(data: pd.DataFrame, value: str, site: str, fixed: Sequence[str] | None):
    check_frame(data)
    check_columns(data, [value, site])
    y = check_numeric(data, value)
    if y.notna().sum() == 0:
        raise InsufficientDataError(f"{value!r} has no values: every observation is missing.", column=value)
    frame = data.assign(**{value: y})
    covs = [c for c in _term_columns(data, fixed) if c not in (value, site)]
    reasons = {f"missing {value!r}": frame[value].isna(), f"missing site ({site!r})": frame[site].isna()}
    for c in covs:
        reasons[f"missing {c!r}"] = frame[c].isna()
    flags = pd.DataFrame(reasons)
    drop = flags.any(axis=1)
    why = flags[drop].apply(lambda r: "; ".join(flags.columns[r.to_numpy()]), axis=1) if drop.any() else []
    excluded = pd.DataFrame({"row": frame.index[drop], "reason": list(why)})
    counts = {k: int(v) for k, v in flags.sum().items() if v}
    return frame.loc[~drop], excluded, counts


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
    method: str = "REML",
    ddf: str = "Satterthwaite",
    n_boot: int = 500,
    seed: int | None = None,
    confidence: float = 0.95,
) -> SiteModel:
    """Fit a random-site-intercept model and report the ICC, design effect and fixed-effect tests.

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
    method : {"REML", "ML"}, default "REML"
        Restricted or full maximum likelihood (ML for comparing models with different fixed effects).
    ddf : {"Satterthwaite", "Kenward-Roger", "Wald"}, default "Satterthwaite"
        How fixed effects are tested: t with Satterthwaite df (lmerTest's default), Kenward-Roger adjusted
        SEs and df (pbkrtest; REML only) or Wald z (warned against with fewer than 50 sites).
    n_boot : int, default 500
        Parametric-bootstrap replicates for the ICC CI (0 to skip).
    seed : int, optional
    confidence : float, default 0.95

    Returns
    -------
    SiteModel

    Warns
    -----
    ExclusionWarning
        Rows with a missing outcome, covariate or site were left out (as ``na.omit``; counted per reason).
    FewClustersWarning
        ``ddf="Wald"`` with fewer than 50 sites.

    Raises
    ------
    InsufficientDataError
        Fewer than two sites, or no observations.

    Notes
    -----
    Variance components and fixed effects equal ``lme4::lmer`` (REML or ML); Satterthwaite df and p
    equal ``lmerTest`` and Kenward-Roger equals ``pbkrtest`` (tests/reference/multilevel.R and models.R).
    The site-variance test equals ``lmerTest::ranova``. The ICC CI simulates new outcomes from the fitted
    model, refits and takes percentiles.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> rng = np.random.default_rng(3)
    >>> sites = np.repeat(list("ABCDEF"), 40)
    >>> y = 10 + np.repeat(rng.normal(0, 1, 6), 40) + rng.normal(0, 2, 240)
    >>> m = rs.site_model(pd.DataFrame({"y": y, "site": sites}), "y", "site", n_boot=100, seed=1)
    >>> 0 <= m.icc < 1, m.n_sites, round(m.design_effect, 3) == round(1 + 39 * m.icc, 3)
    (True, 6, True)
    >>> list(m.fixed_effects.columns)
    ['term', 'estimate', 'se', 'df', 'statistic', 'p', 'ci_low', 'ci_high']
    """
    conf = check_probability("confidence", confidence)
    check_option("method", method, ["REML", "ML"])
    check_option("ddf", ddf, ["Satterthwaite", "Kenward-Roger", "Wald"])
    if ddf == "Kenward-Roger" and method != "REML":
        raise ValueError("Kenward-Roger degrees of freedom are defined for REML fits only (as pbkrtest); "
                         "use method='REML' or ddf='Satterthwaite'.")
    reml = method == "REML"
    frame, excluded, counts = _prepare(data, value, site, fixed)
    sizes = frame[site].value_counts()
    if len(sizes) < 2:
        raise InsufficientDataError(f"A site model needs at least two sites; {site!r} has {len(sizes)}.", column=site)
    if len(excluded):
        parts = ", ".join(f"{v} {k}" for k, v in counts.items())
        warnings.warn(f"{len(excluded)} row(s) left out because something the model needs was missing ({parts}); "
                      "see result.exclusions.", ExclusionWarning, stacklevel=2)
    X, names, rhs = _design(frame, fixed)
    codes, labels = pd.factorize(frame[site], sort=True)
    y = frame[value].to_numpy(dtype=float)
    prof = _Profile(X, codes, len(labels))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise StatisticsError(f"The fixed effects {names!r} are collinear; drop a term.")
    rho, beta, sigma2, crit = prof.fit(y, reml)
    optimizer = "exact profiled " + method
    if reml:
        sm_res, optimizer = _statsmodels_fit(frame, value, site, rhs, rho, beta)
        if sm_res is not None:
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
    if ddf == "Wald" and len(labels) < 50:
        warnings.warn(f"Wald z tests with only {len(labels)} sites are anti-conservative (they ignore the "
                      "uncertainty of the variance estimates); ddf='Satterthwaite' or 'Kenward-Roger' is advised.",
                      FewClustersWarning, stacklevel=2)
    icc = tau2 / (tau2 + sigma2)
    m = len(frame) / len(labels)
    seed = resolve_seed(seed) if n_boot else seed
    icc_ci = _bootstrap_icc(prof, X @ beta, tau2, sigma2, codes, n_boot, seed, conf, reml)
    design = SiteDesign(X, y, codes, len(labels))
    fixed_table = _fixed_table(names, beta, design, tau2, sigma2, conf, ddf, reml, singular)
    N, p = prof.N, prof.p
    if reml:
        const = (N - p) * (1 + np.log(2 * np.pi))  # lme4's REMLcrit includes these constants
        crit0 = prof.criterion(0.0, *prof.y_stats(y))[0]
    else:
        const = N * (1 + np.log(2 * np.pi))
        crit0 = prof.criterion(0.0, *prof.y_stats(y), reml=False)[0]
    dev, dev0 = crit + const, crit0 + const
    npar = p + 2
    loglik = -dev / 2
    lrt = max(dev0 - dev, 0.0)
    vt = pd.DataFrame({"npar": [npar, npar - 1], "logLik": [loglik, -dev0 / 2],
                       "AIC": [dev + 2 * npar, dev0 + 2 * (npar - 1)], "LRT": [np.nan, lrt], "Df": [np.nan, 1.0],
                       "p": [np.nan, float(stats.chi2.sf(lrt, 1))]}, index=["<none>", f"(1 | {site})"])
    effects = _site_effects(design, beta, tau2, sigma2, labels)
    prov = base_provenance(
        "site_model", model=f"{value} ~ {rhs} + (1 | {site})", estimation=method, optimizer=optimizer, ddf=ddf,
        confidence=conf, n_boot=n_boot, seed=seed, icc_ci_method="parametric bootstrap (percentile)",
        design_effect_formula="1 + (m - 1) * ICC, m = mean site size (Kish 1965)",
        missing_data="rows with a missing outcome, covariate or site left out (na.omit)",
        site_variance_test="likelihood-ratio test, chi-square on 1 df (lmerTest::ranova); conservative on the "
                           "boundary",
        matches=(f"lme4::lmer(REML = {'TRUE' if reml else 'FALSE'}) estimates; "
                 + {"Satterthwaite": "lmerTest summary() Satterthwaite df and p",
                    "Kenward-Roger": "lmerTest summary(ddf = 'Kenward-Roger') = pbkrtest::vcovAdj + Lb_ddf",
                    "Wald": "Wald z (no R counterpart in lmerTest)"}[ddf]
                 + "; lmerTest::ranova; logLik/AIC/BIC as lme4"))
    return SiteModel(value, site, float(tau2), float(sigma2), float(icc), icc_ci, float(1 + (m - 1) * icc),
                     fixed_table, bool(singular), len(frame), len(labels), float(m),
                     float(dev) if reml else np.nan, excluded, prov, counts, float(loglik),
                     float(dev + 2 * npar), float(dev + np.log(N) * npar), vt, effects)


def _statsmodels_fit(frame, value, site, rhs, rho, beta):
    """Refit with statsmodels MixedLM from the exact optimum (L-BFGS), as an independent check that no
    better optimum lies near it; statsmodels' other optimisers from its own start only if that refit fails."""
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
        if best is not None and sp is not None:
            break   # the check from the exact optimum ran
    return best, used


def _fixed_table(names, beta, design, tau2, sigma2, conf, ddf, reml, singular) -> pd.DataFrame:
    pc = design.pieces(tau2, sigma2)
    rows = []
    for i, term in enumerate(names):
        L = np.zeros(len(beta))
        L[i] = 1.0
        if ddf == "Satterthwaite":
            var, df = design.satterthwaite(L, tau2, sigma2, pc, reml, singular)
        elif ddf == "Kenward-Roger":
            var, df = design.kenward_roger(L, pc)
        else:
            var, df = float(pc["phi"][i, i]), np.inf
        se, t, p, lo, hi = t_test(float(beta[i]), var, df, conf)
        rows.append((term, float(beta[i]), se, float(df), t, p, lo, hi))
    return pd.DataFrame(rows, columns=["term", "estimate", "se", "df", "statistic", "p", "ci_low", "ci_high"])


def _site_effects(design, beta, tau2, sigma2, labels) -> pd.DataFrame:
    """Predicted site effects (BLUPs) and their conditional SDs."""
    r = design.y - design.X @ beta
    rs_ = np.bincount(design.g, weights=r, minlength=design.G)
    shrink = tau2 / (sigma2 + design.n_g * tau2)
    return pd.DataFrame({"n": design.n_g.astype(int), "effect": shrink * rs_,
                         "sd": np.sqrt(tau2 * sigma2 / (sigma2 + design.n_g * tau2))},
                        index=pd.Index(labels, name="site"))


def _bootstrap_icc(prof, mu, tau2, sigma2, codes, n_boot, seed, conf, reml=True) -> tuple[float, float]:
    if n_boot <= 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    iccs = np.empty(n_boot)
    for b in range(n_boot):  # one exact REML refit per replicate (a loop over replicates, not people)
        u = rng.normal(0, np.sqrt(tau2), prof.G)
        ystar = mu + u[codes] + rng.normal(0, np.sqrt(sigma2), prof.N)
        rho_b, _, s2_b, _ = prof.fit(ystar, reml)
        iccs[b] = rho_b / (1 + rho_b)
    a = (1 - conf) / 2
    lo, hi = np.quantile(iccs, [a, 1 - a])
    return float(lo), float(hi)
