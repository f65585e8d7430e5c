"""Effect sizes for comparing sites, with confidence intervals.

* Variance-explained measures from an F statistic - η², ε², ω² - with intervals by inverting the
  noncentral F distribution, exactly as R ``effectsize`` (0.8.x) does it (:func:`f_to_eta2`,
  :func:`f_to_omega2`, :func:`f_to_epsilon2`).
* Rank-based measures for the Kruskal-Wallis test - η²_H and rank ε² - with a fast, exact,
  stratified percentile bootstrap (:func:`kruskal_effect_sizes`).
* Pairwise Hedges' g with noncentral-t intervals, as R ``effectsize::hedges_g``
  (:func:`hedges_g_pairs`, used by the post-hoc tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from recoverystudy.stats._distributions import percentile_ci
from recoverystudy.stats._ranks import RankedGroups, h_from_counts, rank_groups
from recoverystudy.stats._relative_effects import h_draws, relative_effects
from recoverystudy._validate import check_option, check_probability
from recoverystudy.results import Result, base_provenance

__all__ = [
    "EffectSize",
    "f_to_epsilon2",
    "f_to_eta2",
    "f_to_omega2",
    "hedges_g_pairs",
    "kruskal_effect_sizes",
]

ALTERNATIVES = ("greater", "two-sided")
#: Above this many observations, ``ci_method="auto"`` uses the asymptotic interval (see kruskal_effect_sizes).
KRUSKAL_BOOTSTRAP_MAX_N = 10_000
KRUSKAL_CI_METHODS = ("auto", "bootstrap", "asymptotic")
_KRUSKAL_CI_TEXT = {
    "bootstrap": "percentile bootstrap (stratified by site)",
    "asymptotic": "asymptotic: normal draws of the relative effects (placement covariance), percentile",
}
CHUNK = 2e5  # elements per bootstrap block in the many-distinct-values scheme (cache-sized)
_NAMES = {"eta2": "η²", "omega2": "ω²", "epsilon2": "ε²", "eta2_h": "η²_H", "rank_epsilon2": "ε²_R"}


@dataclass(frozen=True)
class EffectSize(Result):
    """One effect size with its confidence interval.

    Attributes
    ----------
    name : str
        ``"eta2"``, ``"omega2"``, ``"epsilon2"``, ``"eta2_h"`` or ``"rank_epsilon2"``.
    value, ci_low, ci_high : float
        Point estimate and interval bounds (unrounded).
    confidence : float
        Confidence level, e.g. 0.95.
    alternative : str
        ``"greater"`` (one-sided interval, upper bound fixed at 1, effectsize's default) or
        ``"two-sided"``.
    method : str
        How the interval was obtained.
    provenance : dict
    """

    name: str
    value: float
    ci_low: float
    ci_high: float
    confidence: float
    alternative: str
    method: str
    provenance: dict = field(default_factory=dict, compare=False, repr=False)

    def plot(self, ax: Any = None) -> Any:
        """The effect size as a point with its confidence interval (a matplotlib Figure).

        Examples
        --------
        >>> import recoverystudy as rs
        >>> rs.f_to_omega2(5.0, 2, 40).plot().axes[0].get_xlabel()
        'omega2 (95% CI)'
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(5.5, 1.6))
        else:
            fig = ax.figure
        if np.isfinite(self.ci_low) and np.isfinite(self.ci_high):
            ax.plot([self.ci_low, self.ci_high], [0, 0], color="#7f9fbf", lw=3)
        ax.plot([self.value], [0], "o", color="#1f4e79")
        ax.set_yticks([])
        ax.set_xlabel(f"{self.name} ({round(self.confidence * 100)}% CI)")
        fig.tight_layout()
        return fig

    def to_frame(self) -> pd.DataFrame:
        """One-row table: effect_size, value, ci_low, ci_high, confidence, alternative, method."""
        return pd.DataFrame(
            {
                "effect_size": [self.name],
                "value": [self.value],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "confidence": [self.confidence],
                "alternative": [self.alternative],
                "method": [self.method],
            }
        )

    def summary(self) -> str:
        """Plain-English sentence, e.g. ``ω² = 0.09, one-sided 95% CI [0.02, 1.00]``."""
        return f"{_NAMES.get(self.name, self.name)} = {self.value:.2f}, {ci_phrase(self)}."


def ci_phrase(es: Any) -> str:
    """``"95% CI [0.01, 0.06]"`` or ``"one-sided 95% CI [0.01, 1.00]"``."""
    side = "one-sided " if es.alternative == "greater" else ""
    return f"{side}{100 * es.confidence:g}% CI [{es.ci_low:.2f}, {es.ci_high:.2f}]"


# --------------------------------------------------------------------------------------------------
# noncentral F
# --------------------------------------------------------------------------------------------------
def _ncp_root(f: float, df1: float, df2: float, prob: float) -> float:
    """λ ≥ 0 with ``ncf.cdf(f, df1, df2, λ) = prob`` (the cdf falls as λ grows)."""

    def g(lam: float) -> float:
        return (
            float(stats.ncf.cdf(f, df1, df2, lam)) - prob
            if lam > 0
            else float(stats.f.cdf(f, df1, df2)) - prob
        )

    if g(0.0) <= 0:
        return 0.0
    hi = max(10.0, 2.0 * f * df1 + 10.0)
    while g(hi) > 0:
        hi *= 2.0
        if hi > 1e12:  # pragma: no cover - only for absurd inputs
            return np.nan
    return float(optimize.brentq(g, 0.0, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=500))


def ncp_interval(f: float, df1: float, df2: float, conf_level: float) -> tuple[float, float]:
    """Two-sided noncentrality interval for an observed F, following effectsize's ``.get_ncp_F``.

    Solved exactly (Brent's method) instead of effectsize's Nelder-Mead search; a bound is 0
    when the observed F does not exceed the matching central-F quantile (Steiger 2004).
    """
    if not (np.isfinite(f) and np.isfinite(df1) and np.isfinite(df2)):
        return np.nan, np.nan
    a = 1.0 - conf_level
    lo_p, hi_p = a / 2.0, 1.0 - a / 2.0
    lam_low = 0.0 if f <= stats.f.ppf(hi_p, df1, df2) else _ncp_root(f, df1, df2, hi_p)
    lam_high = 0.0 if f <= stats.f.ppf(lo_p, df1, df2) else _ncp_root(f, df1, df2, lo_p)
    return lam_low, lam_high


def _pve(es: str, f: float, df1: float, df2: float) -> float:
    if es == "eta2":
        return f * df1 / (f * df1 + df2)
    if es == "epsilon2":
        return max(0.0, (f - 1.0) * df1 / (f * df1 + df2))
    return max(0.0, (f - 1.0) * df1 / (f * df1 + df2 + 1.0))


def _f_to_pve(es: str, f: float, df1: float, df2: float, confidence: float, alternative: str) -> EffectSize:
    check_probability("ci", confidence)
    check_option("alternative", alternative, ALTERNATIVES)
    f, df1, df2 = float(f), float(df1), float(df2)
    value = _pve(es, f, df1, df2) if np.isfinite(f) else np.nan
    conf_level = confidence if alternative == "two-sided" else 2.0 * confidence - 1.0
    if np.isfinite(value):
        f_star = max(0.0, (value / df1) / ((1.0 - value) / df2)) if value < 1 else np.inf
        lam_low, lam_high = ncp_interval(f_star, df1, df2, conf_level)
        lo, hi = lam_low / (lam_low + df2), lam_high / (lam_high + df2)
    else:
        lo = hi = np.nan
    if alternative == "greater" and np.isfinite(value):
        hi = 1.0
    prov = base_provenance(
        f"f_to_{es}",
        confidence=confidence,
        alternative=alternative,
        ci_method="noncentral F inversion (effectsize 0.8.x .F_to_pve convention)",
        point_estimate="truncated at 0" if es != "eta2" else "as is",
    )
    return EffectSize(es, value, lo, hi, confidence, alternative, "noncentral F", prov)


def f_to_eta2(
    f: float, df1: float, df2: float, *, ci: float = 0.95, alternative: str = "greater"
) -> EffectSize:
    """η² from an F statistic, with a noncentral-F confidence interval.

    Parameters
    ----------
    f : float
        The F statistic (classic or Welch).
    df1, df2 : float
        Numerator and denominator degrees of freedom (df2 may be fractional, as for Welch).
    ci : float, default=0.95
        Confidence level.
    alternative : {"greater", "two-sided"}, default="greater"
        ``"greater"`` gives effectsize's default one-sided interval (upper bound fixed at 1),
        which matches the one-tailed F test; ``"two-sided"`` splits the error over both tails.

    Returns
    -------
    EffectSize

    Notes
    -----
    η² = F·df1 / (F·df1 + df2).  The noncentrality bounds λ solve
    ``pf(F, df1, df2, λ) = 1 − a/2`` and ``a/2`` (a = 1 − level; the level is 2·ci − 1 for a
    one-sided interval) and are turned into η² bounds by λ / (λ + df2).  A bound is 0 when the
    observed F is not beyond the matching central-F quantile.  Matches R
    ``effectsize::F_to_eta2`` (effectsize 0.8.3) to 1e-6.  With Welch's F and df this is an
    approximation, not the share of variance explained.

    Examples
    --------
    >>> es = f_to_eta2(4.7549, 5, 181)
    >>> round(es.value, 4), round(es.ci_low, 4), es.ci_high
    (0.1161, 0.0362, 1.0)
    >>> # R: effectsize::F_to_eta2(4.7549, 5, 181)
    """
    return _f_to_pve("eta2", f, df1, df2, ci, alternative)


def f_to_omega2(
    f: float, df1: float, df2: float, *, ci: float = 0.95, alternative: str = "greater"
) -> EffectSize:
    """ω² from an F statistic, with a noncentral-F confidence interval.

    ω² = (F − 1)·df1 / (F·df1 + df2 + 1), truncated at 0 as effectsize ≥ 0.8.2 and rstatix do.
    The interval inverts the noncentral F at the pseudo-F implied by the ω² estimate,
    F* = (ω²/df1) / ((1 − ω²)/df2), and converts λ bounds by λ / (λ + df2) (effectsize's
    convention).  Parameters as :func:`f_to_eta2`.  Matches R ``effectsize::F_to_omega2`` to 1e-6.

    Examples
    --------
    >>> es = f_to_omega2(4.7549, 5, 181)
    >>> round(es.value, 4), round(es.ci_low, 4)
    (0.0912, 0.0189)
    >>> # R: effectsize::F_to_omega2(4.7549, 5, 181)
    """
    return _f_to_pve("omega2", f, df1, df2, ci, alternative)


def f_to_epsilon2(
    f: float, df1: float, df2: float, *, ci: float = 0.95, alternative: str = "greater"
) -> EffectSize:
    """ε² (adjusted η²) from an F statistic: (F − 1)·df1 / (F·df1 + df2), truncated at 0.

    Interval as :func:`f_to_omega2`.  Matches R ``effectsize::F_to_epsilon2``.

    Examples
    --------
    >>> round(f_to_epsilon2(4.7549, 5, 181).value, 4)
    0.0917
    """
    return _f_to_pve("epsilon2", f, df1, df2, ci, alternative)


# --------------------------------------------------------------------------------------------------
# pairwise standardized differences (Hedges' g)
# --------------------------------------------------------------------------------------------------
def _nct_root(t: float, df: float, prob: float) -> float:
    """ncp with ``nct.cdf(t, df, ncp) = prob`` (the cdf falls as ncp grows)."""

    def g(nc: float) -> float:
        c = float(stats.nct.cdf(t, df, nc))
        if not np.isfinite(c):  # far tails: the cdf tends to 1 (nc << t) or 0 (nc >> t)
            c = 1.0 if nc < t else 0.0
        return c - prob

    w = 1.0 + np.sqrt(1.0 + t * t / (2.0 * df))  # the bounds lie within about t ± 2.5 w
    lo, hi = t - 4.0 * w, t + 4.0 * w
    while g(lo) < 0:
        lo -= 4.0 * w
    while g(hi) > 0:
        hi += 4.0 * w
    return float(optimize.brentq(g, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=500))


def hedges_g_pairs(
    n1: np.ndarray,
    n2: np.ndarray,
    mean1: np.ndarray,
    mean2: np.ndarray,
    var1: np.ndarray,
    var2: np.ndarray,
    *,
    pooled: bool,
    ci: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hedges' g of group2 versus group1 for many pairs, with noncentral-t intervals.

    Exactly as R ``effectsize::hedges_g(x = group2, y = group1, pooled_sd = pooled)`` (two-sided
    interval at level *ci*): with the pooled SD, s = √(((n1 − 1)s1² + (n2 − 1)s2²)/(n1 + n2 − 2))
    and df = n1 + n2 − 2; un-pooled, s = √((s1² + s2²)/2) with the Welch df.  The CI inverts the
    noncentral t at t = (mean2 − mean1)/se, and g and its bounds are multiplied by the exact
    small-sample correction J = Γ(df/2) / (√(df/2) Γ((df − 1)/2)).

    Examples
    --------
    >>> x, y = np.array([1, 2, 3, 4, 5.5]), np.array([2, 4, 6, 7, 8, 9.0])
    >>> g, lo, hi = hedges_g_pairs([x.size], [y.size], [x.mean()], [y.mean()],
    ...                            [x.var(ddof=1)], [y.var(ddof=1)], pooled=True)
    >>> round(float(g[0]), 4), round(float(lo[0]), 4), round(float(hi[0]), 4)
    (1.1697, -0.0642, 2.3523)
    >>> # R: effectsize::hedges_g(c(2, 4, 6, 7, 8, 9), c(1, 2, 3, 4, 5.5))
    """
    n1, n2 = np.asarray(n1, float), np.asarray(n2, float)
    diff = np.asarray(mean2, float) - np.asarray(mean1, float)
    v1, v2 = np.asarray(var1, float), np.asarray(var2, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if pooled:
            s = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
            hn = 1 / n1 + 1 / n2
            se = s * np.sqrt(hn)
            df = n1 + n2 - 2
        else:
            s = np.sqrt((v1 + v2) / 2)
            hn = 2 * (n2 * v1 + n1 * v2) / (n1 * n2 * (v1 + v2))
            se = np.sqrt(v1 / n1 + v2 / n2)
            df = se**4 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
        d = diff / s
        t = diff / se
        J = np.exp(special.gammaln(df / 2) - np.log(np.sqrt(df / 2)) - special.gammaln((df - 1) / 2))
    lo = np.full(d.shape, np.nan)
    hi = np.full(d.shape, np.nan)
    a = 1 - ci
    for i in range(d.size):  # one root pair per site pair (k(k-1)/2 of them), not per respondent
        if np.isfinite(t[i]) and np.isfinite(df[i]) and df[i] > 0:
            lo[i] = _nct_root(t[i], df[i], 1 - a / 2) * np.sqrt(hn[i])
            hi[i] = _nct_root(t[i], df[i], a / 2) * np.sqrt(hn[i])
    return d * J, lo * J, hi * J


# --------------------------------------------------------------------------------------------------
# Kruskal-Wallis H and its effect sizes
# --------------------------------------------------------------------------------------------------
def _bootstrap_h(
    y: np.ndarray, codes: np.ndarray, k: int, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """H in *n_boot* stratified resamples (each site resampled with replacement, sizes fixed).

    H depends on a resample only through the table of counts of each distinct value per site.
    That table is drawn directly: one multinomial draw per site and resample (when there are few
    distinct values, as for questionnaire scores), or by drawing indices and counting them (many
    distinct values).  Either way there is no Python loop over resamples, and H is exact.
    """
    uniq, vidx = np.unique(y, return_inverse=True)
    m = uniq.size
    n = np.bincount(codes, minlength=k)
    H = np.empty(n_boot)
    per_group = []
    for g in range(k):
        cnt = np.bincount(vidx[codes == g], minlength=m)
        support = np.flatnonzero(cnt)
        per_group.append((support, cnt[support] / n[g], vidx[codes == g]))
    support_total = sum(s.size for s, _, _ in per_group)
    if support_total * 4 <= y.size:
        # few distinct values: draw each site's table of counts directly (multinomial)
        chunk = max(1, min(n_boot, int(5e6 // max(1, k * m))))
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            counts = np.zeros((b, k, m))
            for g, (support, probs, _) in enumerate(per_group):
                counts[:, g, support] = rng.multinomial(n[g], probs, size=b)
            H[start : start + b] = h_from_counts(counts, n)
        return H
    # many distinct values: draw indices, rank each resample by counting (no sort), O(N) per resample
    N = int(n.sum())
    bounds = np.concatenate([[0], np.cumsum(n)])
    itype = np.int32 if m < 2**31 - 1 else np.int64
    chunk = max(1, min(n_boot, int(CHUNK // max(1, N))))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        V = np.empty((b, N), dtype=itype)
        for g, (_, _, vals) in enumerate(per_group):
            V[:, bounds[g] : bounds[g + 1]] = vals[rng.integers(0, vals.size, size=(b, vals.size))]
        offset = (np.arange(b, dtype=np.int64) * m)[:, None]
        t = np.bincount((V + offset).ravel(), minlength=b * m).reshape(b, m)
        mid2 = 2 * np.cumsum(t, axis=1) - t + 1  # twice the mid-rank, in exact integers
        R = np.add.reduceat(np.take_along_axis(mid2, V, axis=1), bounds[:-1], axis=1) / 2.0
        t = t.astype(float)
        Hb = 12.0 / (N * (N + 1.0)) * np.sum(R * R / n, axis=1) - 3.0 * (N + 1.0)
        tie = 1.0 - np.sum(t**3 - t, axis=1) / (float(N) ** 3 - N)
        with np.errstate(invalid="ignore", divide="ignore"):
            H[start : start + b] = np.where(tie > 0, Hb / np.where(tie > 0, tie, 1.0), np.nan)
    return H


def kruskal_effect_sizes(
    y: np.ndarray,
    codes: np.ndarray,
    k: int,
    *,
    ci: float = 0.95,
    alternative: str = "greater",
    n_boot: int = 2000,
    seed: Any = None,
    ci_method: str = "auto",
    ranked: RankedGroups | None = None,
) -> tuple[list[EffectSize], float, dict]:
    """η²_H and rank ε² for a Kruskal-Wallis comparison, with percentile intervals.

    Parameters
    ----------
    y : ndarray of float
        Outcome values (no missing values).
    codes : ndarray of int
        Group codes 0..k-1.
    k : int
        Number of groups.
    ci : float, default=0.95
    alternative : {"greater", "two-sided"}, default="greater"
        One-sided (effectsize's default; the upper bound is fixed at 1) or two-sided.
    n_boot : int, default=2000
        Number of bootstrap resamples (or normal draws, for the asymptotic interval); 0 skips the
        intervals (NaN).
    seed : int, numpy Generator or None
        Seed for ``numpy.random.default_rng``.
    ci_method : {"auto", "bootstrap", "asymptotic"}, default="auto"
        ``"bootstrap"``: stratified percentile bootstrap, as R effectsize (the R-matching method).
        ``"asymptotic"``: the large-sample form of that bootstrap: the relative effects
        p̂_g = (R̄_g − ½)/N are drawn from their asymptotic normal distribution (covariance from
        placements, Brunner, Bathke & Konietschke 2018) and mapped through the formula of H; one
        sort of the data, however many draws.  ``"auto"``: bootstrap up to
        :data:`KRUSKAL_BOOTSTRAP_MAX_N` observations, asymptotic above.
    ranked : RankedGroups, optional
        The one sort of (y, codes) (``recoverystudy.stats._ranks.rank_groups``), when the caller
        shares it with Dunn's table and the descriptives; made here otherwise.

    Returns
    -------
    (list of EffectSize, H, info)
        ``info`` holds ``ci_method``, ``n_boot``, ``n_boot_valid`` and the resampling scheme.

    Notes
    -----
    η²_H = (H − k + 1) / (N − k) (Tomczak & Tomczak 2014; rstatix ``kruskal_effsize``, not
    truncated) and ε²_R = H / ((N² − 1)/(N + 1)) (effectsize ``rank_epsilon_squared``).  The
    bootstrap resamples within each site, keeping site sizes fixed, as effectsize does; the
    percentile interval follows ``boot::boot.ci(type = "perc")``.  Percentile intervals of these
    measures cannot cross 0 and are not a test.

    Examples
    --------
    >>> y = np.array([1.0, 2, 2, 3, 4, 4, 5, 6, 6, 7])
    >>> codes = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    >>> es, H, info = kruskal_effect_sizes(y, codes, 3, n_boot=200, seed=1)
    >>> round(H, 4), [e.name for e in es], round(es[1].value, 4)
    (8.1667, ['eta2_h', 'rank_epsilon2'], 0.9074)
    >>> # R: kruskal.test(y, g); effectsize::rank_epsilon_squared(y, g)
    """
    check_probability("ci", ci)
    check_option("alternative", alternative, ALTERNATIVES)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be a whole number ≥ 0; got {n_boot!r}.")
    check_option("ci_method", ci_method, KRUSKAL_CI_METHODS)
    n_total = y.size
    if ci_method == "auto":
        ci_method = "bootstrap" if n_total <= KRUSKAL_BOOTSTRAP_MAX_N else "asymptotic"
    if ranked is None:
        ranked = rank_groups(y, codes, k)
    H = ranked.H
    if ci_method == "asymptotic":  # the same sort gives the relative effects
        p_hat, V, tie, _ = relative_effects(y, codes, k, ranked)
    eta2_h = (H - k + 1.0) / (n_total - k)
    eps = H / ((n_total**2 - 1.0) / (n_total + 1.0))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if n_boot > 0 and np.isfinite(H):
        if ci_method == "bootstrap":
            Hb = _bootstrap_h(y, codes, k, int(n_boot), rng)
        else:
            Hb = h_draws(p_hat, V, tie, ranked.n, int(n_boot), rng)
        Hb = Hb[np.isfinite(Hb)]
    else:
        Hb = np.empty(0)
    level = ci if alternative == "two-sided" else 2 * ci - 1
    if Hb.size >= 2:
        h_lo, h_hi = percentile_ci(Hb, level)
        h_lo, h_hi = float(h_lo), float(h_hi)
    else:
        h_lo = h_hi = np.nan
    out = []
    for name, fn in (
        ("eta2_h", lambda h: (h - k + 1.0) / (n_total - k)),
        ("rank_epsilon2", lambda h: h / ((n_total**2 - 1.0) / (n_total + 1.0))),
    ):
        lo, hi = fn(h_lo), fn(h_hi)
        if alternative == "greater" and np.isfinite(lo):
            hi = 1.0
        value = eta2_h if name == "eta2_h" else eps
        out.append(
            EffectSize(
                name,
                float(value),
                float(lo),
                float(hi),
                ci,
                alternative,
                _KRUSKAL_CI_TEXT[ci_method],
                base_provenance(
                    f"kruskal_{name}", n_boot=int(n_boot), confidence=ci, alternative=alternative,
                    ci_method=ci_method,
                ),
            )
        )
    info = {
        "ci_method": ci_method,
        "n_boot": int(n_boot),
        "n_boot_valid": int(Hb.size),
        "resampling": (
            "stratified by site (site sizes fixed), with replacement"
            if ci_method == "bootstrap"
            else "normal draws of the relative effects p̂ with their placement covariance "
            "(Brunner, Bathke & Konietschke 2018), the large-sample form of the stratified bootstrap"
        ),
        "percentile_rule": "boot::boot.ci(type = 'perc')",
    }
    return out, H, info
