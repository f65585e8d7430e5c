"""Compare sites on one or more outcomes: omnibus test, effect sizes, post-hoc pairs, assumptions.

The entry point is :func:`compare_sites`.  It returns a :class:`SiteComparison` (one outcome) or a
:class:`SiteComparisons` (several outcomes, with a family-wise correction across them).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.stats._omnibus import (
    _POSTHOC,
    _R_REFERENCE,
    _TEST_NAME,
    ASSUMPTION_COLUMNS,
    METHODS,
    OMNIBUS_COLUMNS,
    _anova,
    _assumptions,
    _welch,
)
from recoverystudy.stats._base import ADJUST_METHODS, descriptives, prepare_groups
from recoverystudy._validate import check_frame, check_option, check_probability
from recoverystudy.stats._ranks import kruskal_p
from recoverystudy.stats.effsize import (
    ALTERNATIVES,
    KRUSKAL_CI_METHODS,
    f_to_eta2,
    f_to_omega2,
    kruskal_effect_sizes,
)
from recoverystudy.errors import UndefinedStatisticWarning
from recoverystudy.stats.comparison import SiteComparison, SiteComparisons
from recoverystudy.stats.posthoc import POSTHOC_COLUMNS, dunn_table, games_howell_table, tukey_table
from recoverystudy.results import base_provenance, resolve_seed

__all__ = ["SiteComparison", "SiteComparisons", "compare_sites"]


# --------------------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------------------
def _es_frame(items: Sequence[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "value": [e.value for e in items],
            "ci_low": [e.ci_low for e in items],
            "ci_high": [e.ci_high for e in items],
            "confidence": [e.confidence for e in items],
            "alternative": [e.alternative for e in items],
            "method": [e.method for e in items],
        },
        index=pd.Index([e.name for e in items], name="effect_size"),
    )
    return frame


def _compare_one(
    data: pd.DataFrame,
    value: str,
    site: str,
    method: str,
    posthoc: bool,
    ci: float,
    n_boot: int,
    seed: Any,
    adjust: str,
    alternative: str,
    ci_method: str = "auto",
) -> SiteComparison:
    groups = prepare_groups(data, value, site)
    k, N = groups.k, groups.n_total
    n, mean, var = groups.moments
    boot_info: dict = {}
    if method == "kruskal":
        es_items, H, boot_info = kruskal_effect_sizes(
            groups.y, groups.codes, k, ci=ci, alternative=alternative, n_boot=n_boot, seed=seed,
            ci_method=ci_method, ranked=groups.ranked,  # one sort: H, Dunn, placements, quartiles
        )
        omni = {
            "test": "kruskal_wallis",
            "statistic": H,
            "df1": k - 1.0,
            "df2": np.nan,
            "p": kruskal_p(H, k),
        }
        if not np.isfinite(H):
            warnings.warn(
                f"{value!r}: the Kruskal–Wallis H is undefined because every value is the same; "
                "the test, effect sizes and post-hoc p are NaN.",
                UndefinedStatisticWarning,
                stacklevel=3,
            )
    else:
        if method == "welch":
            F, df1, df2, p = _welch(n, mean, var)
            if not np.isfinite(F):
                zero = [str(groups.labels[i]) for i in np.flatnonzero(var <= 0)]
                warnings.warn(
                    f"{value!r}: Welch's F is undefined because these sites have no spread (all values equal): "
                    f"{', '.join(zero)}. Consider method='kruskal'. The test and effect sizes are NaN.",
                    UndefinedStatisticWarning,
                    stacklevel=3,
                )
        else:
            F, df1, df2, p = _anova(n, mean, var)
            if not np.isfinite(F):
                warnings.warn(
                    f"{value!r}: the ANOVA F is not finite because there is no variation within sites; "
                    "the effect sizes are NaN.",
                    UndefinedStatisticWarning,
                    stacklevel=3,
                )
        omni = {
            "test": "welch_anova" if method == "welch" else "anova",
            "statistic": F,
            "df1": df1,
            "df2": df2,
            "p": p,
        }
        es_items = [f_to_eta2(F, df1, df2, ci=ci, alternative=alternative),
                    f_to_omega2(F, df1, df2, ci=ci, alternative=alternative)]  # fmt: skip
        if method == "welch":
            es_items = [replace(e, method="noncentral F (from Welch's F and df)") for e in es_items]
            # the classic sums-of-squares values, for comparison (Welch-based values can differ a lot)
            Fa, d1a, d2a, _ = _anova(n, mean, var)
            es_items += [
                replace(
                    f(Fa, d1a, d2a, ci=ci, alternative=alternative),
                    name=f"{name}_anova",
                    method="noncentral F (classic ANOVA F: sums of squares, equal variances assumed)",
                )
                for f, name in ((f_to_eta2, "eta2"), (f_to_omega2, "omega2"))
            ]
    desc = descriptives(groups, ci)  # after the ranking (Kruskal): its quartiles reuse the sort
    omni.update(n=N, k=k)
    omnibus = pd.DataFrame([omni], columns=OMNIBUS_COLUMNS)
    if posthoc:
        if method == "welch":
            ph = games_howell_table(groups, ci)
        elif method == "anova":
            ph = tukey_table(groups, ci)
        else:
            ph = dunn_table(groups, adjust)
    else:
        ph = pd.DataFrame({c: pd.Series(dtype=float) for c in POSTHOC_COLUMNS})
    prov = base_provenance(
        "compare_sites",
        test=_TEST_NAME[method],
        posthoc=_POSTHOC[method] if posthoc else None,
        r_reference=_R_REFERENCE[method],
        ci=ci,
        effect_size_ci=(
            (
                "percentile bootstrap, stratified by site (boot.ci 'perc' rule)"
                if boot_info.get("ci_method") == "bootstrap"
                else "asymptotic: percentiles of H at normal draws of the relative effects (placement "
                "covariance, Brunner, Bathke & Konietschke 2018), the large-sample form of the bootstrap"
            )
            if method == "kruskal"
            else "noncentral F inversion as effectsize 0.8.x (.F_to_pve); ω² truncated at 0"
        ),
        alternative=alternative,
        n_boot=n_boot if method == "kruskal" else None,
        ci_method=boot_info.get("ci_method"),
        seed=(
            None
            if method != "kruskal"
            else (seed if not isinstance(seed, np.random.Generator) else "numpy Generator (supplied)")
        ),
        bootstrap=boot_info or None,
        adjust=adjust if (method == "kruskal" and posthoc) else None,
        missing_data="rows with a missing outcome or site are excluded (per outcome); sites with < 2 observations excluded",
        quantiles="R quantile type 7 (numpy 'linear')",
        site_order=list(groups.labels),
        n=N,
        n_excluded_rows=int(groups.exclusions["n_rows"].sum()) if not groups.exclusions.empty else 0,
    )
    return SiteComparison(
        value=value,
        site=site,
        method=method,
        descriptives=desc,
        omnibus=omnibus,
        effect_sizes=_es_frame(es_items),
        posthoc=ph,
        assumptions=_assumptions(groups, desc),
        exclusions=groups.exclusions.reset_index(drop=True),
        provenance=prov,
        _y=groups.y,
        _codes=groups.codes,
    )


def compare_sites(
    data: pd.DataFrame,
    value: str | Sequence[str],
    site: str,
    *,
    method: str = "welch",
    posthoc: bool = True,
    ci: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = None,
    adjust: str = "holm",
    alternative: str = "greater",
    ci_method: str = "auto",
) -> SiteComparison | SiteComparisons:
    """Compare sites on an outcome: omnibus test, effect sizes with CIs, post-hoc pairs, assumptions.

    Parameters
    ----------
    data : DataFrame
        Long data, one row per respondent.
    value : str or list of str
        Outcome column(s).  A list gives a :class:`SiteComparisons` with a family-wise correction
        of the omnibus p across the outcomes.
    site : str
        Site column.  Sites are ordered by category order (categorical columns) or sorted.
    method : {"welch", "anova", "kruskal"}, default="welch"
        * ``"welch"``: Welch's heteroscedastic ANOVA (R ``oneway.test(var.equal = FALSE)``), then
          Games-Howell.  The recommended default (Delacre et al. 2019).
        * ``"anova"``: classic one-way ANOVA (R ``aov``), then Tukey-Kramer HSD.
        * ``"kruskal"``: Kruskal-Wallis rank test (R ``kruskal.test``), then Dunn's test.
    posthoc : bool, default=True
        Compute the pairwise table (columns in :mod:`recoverystudy.stats.posthoc`, including Hedges' g
        with a noncentral-t CI for Tukey and Games-Howell).
    ci : float, default=0.95
        Confidence level for every interval (means, pairwise differences, effect sizes).
    n_boot : int, default=2000
        Bootstrap resamples (or normal draws, see ``ci_method``) for the Kruskal-Wallis effect-size
        intervals (ignored otherwise).
    ci_method : {"auto", "bootstrap", "asymptotic"}, default="auto"
        Kruskal-Wallis effect-size intervals.  ``"bootstrap"``: stratified percentile bootstrap as R
        effectsize (time ∝ N × n_boot for continuous scores).  ``"asymptotic"``: the large-sample
        form of that bootstrap (relative effects drawn from their normal limit with the placement
        covariance; one sort of the data).  ``"auto"`` uses the bootstrap up to 10,000 observations
        and the asymptotic interval above; the method used is in ``.provenance``.
    seed : int, optional
        Seed for the bootstrap (numpy ``default_rng``).  Each outcome uses the same seed, so an
        outcome's result does not depend on which other outcomes are in the list.
    adjust : {"holm", "hochberg", "bonferroni", "bh", "by", "none"}, default="holm"
        Multiplicity adjustment for Dunn's pairwise p and, with several outcomes, across outcomes.
        Tukey and Games-Howell control the family-wise error through the studentized range.
    alternative : {"greater", "two-sided"}, default="greater"
        Sidedness of the effect-size intervals.  ``"greater"`` is R effectsize's default: a
        one-sided interval whose upper bound is fixed at 1, matching the one-tailed F and H tests.

    Returns
    -------
    SiteComparison or SiteComparisons
        ``.descriptives``, ``.omnibus``, ``.effect_sizes``, ``.posthoc``, ``.assumptions``,
        ``.exclusions``, ``.summary()``, ``.plot()``, ``.to_frame()``, ``.provenance``.

    Raises
    ------
    ValueError
        Unknown ``method``, ``adjust`` or ``alternative``; bad ``ci``.
    MissingItemsError
        A named column is not in the data.
    StatisticsError
        The outcome holds non-numeric or infinite values (names the column and rows).
    EmptyDataError
        The outcome is entirely missing.
    InsufficientDataError
        Fewer than two sites with at least two observations remain.

    Warns
    -----
    ExclusionWarning
        A site with a single observation was excluded (it is listed in ``.exclusions``).
    UndefinedStatisticWarning
        A statistic is undefined (e.g. Welch's F when a site has no spread) and is NaN.

    Notes
    -----
    Welch: w = n/s², F_W = [Σw(ȳ − ȳ_w)²/(k − 1)] / [1 + 2(k − 2)Λ/(k² − 1)], Λ = Σ(1 − w/Σw)²/(n − 1),
    df = (k − 1, (k² − 1)/(3Λ)).  Effect sizes for ANOVA and Welch: η² = F·df1/(F·df1 + df2) and
    ω² = (F − 1)df1/(F·df1 + df2 + 1) (truncated at 0), with noncentral-F intervals exactly as R
    effectsize 0.8.x; for Welch they come from Welch's F and df (``F_to_eta2``/``F_to_omega2``).
    Kruskal-Wallis: tie-corrected H; η²_H = (H − k + 1)/(N − k) and ε²_R = H/((N² − 1)/(N + 1))
    with stratified percentile bootstrap intervals (asymptotic above 10,000 observations, see
    ``ci_method``).  Assumption checks (Brown-Forsythe, Levene,
    Shapiro-Wilk) are reported, never used to switch the method.  Missing values are excluded
    per outcome and counted in ``.exclusions``.

    Every number equals R to 1e-6: ``oneway.test``, ``aov``, ``kruskal.test``, ``TukeyHSD``,
    ``rstatix::games_howell_test``, ``rstatix::dunn_test``, ``effectsize`` (including
    ``hedges_g``), ``car::leveneTest``, ``shapiro.test`` (tests/reference/compare.R).  Studentized-range
    p below 1e-4 agree with R's ``ptukey`` absolutely (1e-9), not relatively: R loses accuracy there.

    Examples
    --------
    >>> import pandas as pd, recoverystudy as rs
    >>> df = pd.DataFrame({"wai": [40, 44, 38, 45, 50, 52, 48, 55, 51, 39, 42, 41, 37.0],
    ...                    "site": ["A"] * 4 + ["B"] * 5 + ["C"] * 4})
    >>> res = rs.compare_sites(df, "wai", "site")
    >>> res.omnibus[["statistic", "df1", "df2", "p"]].round(4).values.tolist()
    [[24.694, 2.0, 6.295, 0.001]]
    >>> # R: oneway.test(wai ~ site, df, var.equal = FALSE)
    >>> print(res.apa())
    Welch's ANOVA: F(2, 6.3) = 24.69, p = .001, ω² = 0.84, one-sided 95% CI [0.46, 1.00] (N = 13, 3 sites).
    >>> res.posthoc[["group1", "group2", "estimate"]].round(2).values.tolist()
    [['A', 'B', 9.45], ['A', 'C', -2.0], ['B', 'C', -11.45]]
    """
    check_frame(data)
    check_option("method", method, METHODS)
    check_option("adjust", adjust, ADJUST_METHODS)
    check_option("alternative", alternative, ALTERNATIVES)
    ci = check_probability("ci", ci)
    if not isinstance(posthoc, (bool, np.bool_)):
        raise TypeError(f"posthoc must be True or False; got {posthoc!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be a whole number ≥ 0; got {n_boot!r}.")
    check_option("ci_method", ci_method, KRUSKAL_CI_METHODS)
    if method == "kruskal":  # bootstrap: a drawn seed is recorded, so the run can be repeated
        seed = resolve_seed(seed)
    if isinstance(value, str):
        return _compare_one(
            data, value, site, method, bool(posthoc), ci, int(n_boot), seed, adjust, alternative, ci_method
        )
    values = list(value)
    if not values:
        raise ValueError("value must name at least one outcome column; got an empty list.")
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise TypeError(f"value must hold column names (str); got {bad!r}.")
    dup = sorted({v for v in values if values.count(v) > 1})
    if dup:
        raise ValueError(f"value lists the same outcome more than once: {', '.join(map(repr, dup))}.")
    comps = {}
    for v in values:  # a plain loop keeps warnings' stacklevel pointing at the caller
        comps[v] = _compare_one(
            data, v, site, method, bool(posthoc), ci, int(n_boot), seed, adjust, alternative, ci_method
        )
    prov = base_provenance(
        "compare_sites",
        outcomes=values,
        test=_TEST_NAME[method],
        family_adjust=adjust,
        seed=seed,
        ci=ci,
        alternative=alternative,
    )
    return SiteComparisons(comps, adjust, prov)
