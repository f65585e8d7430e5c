"""Compare sites on one or more outcomes: omnibus test, effect sizes, post-hoc pairs, assumptions.

The entry point is :func:`compare_sites`.  It returns a :class:`SiteComparison` (one outcome) or a
:class:`SiteComparisons` (several outcomes, with a family-wise correction across them).
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recoverystudy.stats._base import (
    ADJUST_METHODS,
    ADJUST_NAMES,
    Groups,
    adjust_pvalues,
    descriptives,
    group_moments,
    prepare_groups,
)
from recoverystudy._validate import check_frame, check_option, check_probability
from recoverystudy.stats._ranks import kruskal_p
from recoverystudy.stats._words import format_p
from recoverystudy.stats.effsize import (
    ALTERNATIVES,
    KRUSKAL_CI_METHODS,
    ci_phrase,
    f_to_eta2,
    f_to_omega2,
    kruskal_effect_sizes,
)
from recoverystudy.errors import UndefinedStatisticWarning
from recoverystudy.stats.posthoc import (
    POSTHOC_COLUMNS,
    dunn_table,
    games_howell_table,
    pairwise_sentence,
    tukey_table,
)
from recoverystudy.results import Result, base_provenance, frame_to_html, resolve_seed

__all__ = ["SiteComparison", "SiteComparisons", "compare_sites"]

METHODS = ("welch", "anova", "kruskal")
_TEST_NAME = {"welch": "Welch's ANOVA", "anova": "One-way ANOVA", "kruskal": "Kruskal–Wallis test"}
_POSTHOC = {"welch": "games_howell", "anova": "tukey", "kruskal": "dunn"}
_R_REFERENCE = {
    "welch": "oneway.test(var.equal = FALSE); rstatix::games_howell_test; effectsize::F_to_eta2/F_to_omega2",
    "anova": "aov / oneway.test(var.equal = TRUE); TukeyHSD; effectsize::eta_squared/omega_squared",
    "kruskal": "kruskal.test; rstatix::dunn_test; rstatix::kruskal_effsize; effectsize::rank_epsilon_squared",
}
OMNIBUS_COLUMNS = ["test", "statistic", "df1", "df2", "p", "n", "k"]
ASSUMPTION_COLUMNS = ["check", "site", "statistic", "df1", "df2", "p", "n", "note"]
_ES_SYMBOL = {"eta2": "η²", "omega2": "ω²", "eta2_h": "η²_H", "rank_epsilon2": "ε²_R"}


# --------------------------------------------------------------------------------------------------
# omnibus tests (vectorised over respondents; O(N))
# --------------------------------------------------------------------------------------------------
def _anova(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float, float]:
    k, N = n.size, float(n.sum())
    grand = float(np.sum(n * mean) / N)
    ss_b = float(np.sum(n * (mean - grand) ** 2))
    ss_w = float(np.sum((n - 1) * var))
    df1, df2 = k - 1.0, N - k
    with np.errstate(divide="ignore", invalid="ignore"):
        F = (ss_b / df1) / (ss_w / df2) if ss_w > 0 else (np.inf if ss_b > 0 else np.nan)
    p = float(stats.f.sf(F, df1, df2)) if np.isfinite(F) else (0.0 if F == np.inf else np.nan)
    return float(F), df1, df2, p


def _welch(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float, float]:
    k = n.size
    if np.any(var <= 0):
        return np.nan, k - 1.0, np.nan, np.nan
    w = n / var
    sw = w.sum()
    yw = np.sum(w * mean) / sw
    A = np.sum(w * (mean - yw) ** 2) / (k - 1)
    lam = np.sum((1 - w / sw) ** 2 / (n - 1))
    F = A / (1 + 2 * (k - 2) * lam / (k**2 - 1))
    df2 = (k**2 - 1) / (3 * lam)
    return float(F), k - 1.0, float(df2), float(stats.f.sf(F, k - 1, df2))


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SiteComparison(Result):
    """The comparison of sites on one outcome.

    Attributes
    ----------
    value, site : str
        Outcome and site columns.
    method : str
        ``"welch"``, ``"anova"`` or ``"kruskal"``.
    descriptives : DataFrame
        One row per site: site, n, mean, sd, se, ci_low, ci_high (t interval for the mean at
        level ``ci``), median, q1, q3 (R quantile type 7, numpy's default "linear"), min, max.
    omnibus : DataFrame
        One row: test, statistic, df1, df2 (NaN where undefined, e.g. Kruskal-Wallis), p, n, k.
    effect_sizes : DataFrame
        Indexed by effect_size (``eta2``, ``omega2`` for ANOVA/Welch; ``eta2_h``,
        ``rank_epsilon2`` for Kruskal-Wallis); columns value, ci_low, ci_high, confidence,
        alternative, method.  For Welch, ``eta2``/``omega2`` come from Welch's F and df and the
        rows ``eta2_anova``/``omega2_anova`` give the classic sums-of-squares values beside them.
    posthoc : DataFrame
        Pairwise table (see :mod:`recoverystudy.stats.posthoc`); empty when ``posthoc=False``.
    assumptions : DataFrame
        Brown-Forsythe and Levene tests of equal variances and per-site Shapiro-Wilk; columns
        check, site, statistic, df1, df2, p, n, note.  Reported only.
    exclusions : DataFrame
        What was left out and why: outcome, reason, site, n_rows, rows (index labels).
    provenance : dict
    """

    value: str
    site: str
    method: str
    descriptives: pd.DataFrame
    omnibus: pd.DataFrame
    effect_sizes: pd.DataFrame
    posthoc: pd.DataFrame
    assumptions: pd.DataFrame
    exclusions: pd.DataFrame
    provenance: dict = field(default_factory=dict, compare=False, repr=False)
    _y: np.ndarray = field(default=None, compare=False, repr=False)
    _codes: np.ndarray = field(default=None, compare=False, repr=False)

    # ---- views ------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        o = self.omnibus.iloc[0]
        return (
            f"SiteComparison(value={self.value!r}, site={self.site!r}, method={self.method!r}, "
            f"n={int(o['n'])}, k={int(o['k'])})"
        )

    @property
    def primary_effect_size(self) -> str:
        """The effect size quoted in :meth:`summary` (ω² for ANOVA/Welch, ε²_R for Kruskal-Wallis)."""
        return "rank_epsilon2" if self.method == "kruskal" else "omega2"

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: outcome, test, statistic, df1, df2, p, n, k, effect_size, effect_value, ci_low, ci_high."""
        row = self.omnibus.iloc[0]
        es = self.effect_sizes.loc[self.primary_effect_size]
        return pd.DataFrame(
            {
                "outcome": [self.value],
                "test": [row["test"]],
                "statistic": [row["statistic"]],
                "df1": [row["df1"]],
                "df2": [row["df2"]],
                "p": [row["p"]],
                "n": [row["n"]],
                "k": [row["k"]],
                "effect_size": [self.primary_effect_size],
                "effect_value": [es["value"]],
                "ci_low": [es["ci_low"]],
                "ci_high": [es["ci_high"]],
            }
        )

    def apa(self) -> str:
        """The APA-style sentence for the omnibus test and its main effect size."""
        row = self.omnibus.iloc[0]
        if not np.isfinite(row["statistic"]):
            return f"{_TEST_NAME[self.method]}: not defined for these data ({self.undefined_reason()})."
        es = self.effect_sizes.loc[self.primary_effect_size]
        sym = _ES_SYMBOL[self.primary_effect_size]
        if self.method == "kruskal":
            stat = f"H({row['df1']:g}) = {row['statistic']:.2f}"
        else:
            df2 = f"{row['df2']:.1f}" if self.method == "welch" else f"{row['df2']:g}"
            stat = f"F({row['df1']:g}, {df2}) = {row['statistic']:.2f}"
        ci_text = ci_phrase(
            SimpleNamespace(**es[["alternative", "confidence", "ci_low", "ci_high"]].to_dict())
        )
        return (
            f"{_TEST_NAME[self.method]}: {stat}, p {format_p(row['p'])}, {sym} = {es['value']:.2f}, "
            f"{ci_text} (N = {int(row['n'])}, {int(row['k'])} sites)."
        )

    def undefined_reason(self) -> str:
        """Why the omnibus statistic is NaN, in words ("" when it is defined)."""
        if np.isfinite(self.omnibus["statistic"].iloc[0]):
            return ""
        flat = self.descriptives.loc[self.descriptives["sd"].fillna(0) == 0, "site"].astype(str).tolist()
        if self.method == "kruskal" or len(flat) == len(self.descriptives):
            return "every value is the same, so there is nothing to rank or compare; the effect sizes are NaN"
        if self.method == "welch":
            return (f"site(s) {', '.join(flat)} have no spread (all values equal) and Welch's test weights each "
                    "site by n / variance; use method='kruskal' (or 'anova' if equal variances are plausible); "
                    "the effect sizes are NaN")
        return "there is no variation within sites; the effect sizes are NaN"

    def summary(self) -> str:
        """Plain-English summary: APA sentence, post-hoc pairs, exclusions and assumption checks."""
        lines = [f"{self.value} by {self.site}. " + self.apa()]
        if not self.posthoc.empty:
            lines.append(pairwise_sentence(self.posthoc, _POSTHOC[self.method], self.value))
        if not self.exclusions.empty:
            parts = []
            for r in self.exclusions.itertuples(index=False):
                where = f" ({r.site})" if not pd.isna(r.site) else ""
                parts.append(f"{r.n_rows} row(s): {r.reason}{where}")
            lines.append("Excluded: " + "; ".join(parts) + ".")
        bf = self.assumptions[self.assumptions["check"] == "brown_forsythe"]
        if not bf.empty and np.isfinite(bf["p"].iloc[0]):
            b = bf.iloc[0]
            lines.append(
                f"Brown–Forsythe test of equal variances: F({b['df1']:g}, {b['df2']:g}) = {b['statistic']:.2f}, "
                f"p {format_p(b['p'])} (reported only; the method is never switched automatically)."
            )
        w = self.effect_sizes["value"].get("omega2", np.nan)
        a = self.effect_sizes["value"].get("omega2_anova", np.nan)
        if self.method == "welch" and np.isfinite(w) and np.isfinite(a):
            lines.append(
                f"ω² = {w:.2f} is computed from Welch's F and df (as R effectsize::F_to_omega2 does); the "
                f"classic sums-of-squares ω² is {a:.2f} (row omega2_anova). No agreed effect size exists "
                "for Welch's ANOVA, so report which one you quote."
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [
            f"<div class='rs-result'><h4>SiteComparison: {html.escape(self.value)} by {html.escape(self.site)}</h4>"
        ]
        parts += [f"<p>{html.escape(line)}</p>" for line in self.summary().splitlines() if line.strip()]
        tables = [
            ("Sites", self.descriptives),
            ("Effect sizes", self.effect_sizes.reset_index()),
            ("Pairwise comparisons", self.posthoc),
            ("Assumption checks (reported only)", self.assumptions),
        ]
        for title, frame in tables:
            if not frame.empty:
                parts.append(f"<h5>{html.escape(title)}</h5>{frame_to_html(frame)}")
        parts.append("</div>")
        return "".join(parts)

    def plot(self, ax: Any = None, *, max_points: int = 2000, seed: int = 0) -> Any:
        """Draw each site's observations (jittered), with its mean and confidence interval.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.
        max_points : int, default=2000
            At most this many points are drawn per site (a random subset, for speed); the means
            and intervals always use all data.
        seed : int, default=0
            Seed for the jitter and the subset, so the picture is reproducible.

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding the axes (every result's ``.plot()`` returns a Figure).
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 + 1.1 * len(self.descriptives), 4))
        rng = np.random.default_rng(seed)
        d = self.descriptives
        for g in range(len(d)):
            yy = self._y[self._codes == g]
            if yy.size > max_points:
                yy = rng.choice(yy, max_points, replace=False)
            x = g + rng.uniform(-0.18, 0.18, yy.size)
            ax.scatter(x, yy, s=8, alpha=0.35, color="0.45", linewidths=0, zorder=1)
        m = d["mean"].to_numpy()
        err = np.vstack([m - d["ci_low"].to_numpy(), d["ci_high"].to_numpy() - m])
        ax.errorbar(
            np.arange(len(d)) + 0.3, m, yerr=err, fmt="o", color="C0", capsize=4, zorder=3,
            label=f"mean and {100 * float(self.provenance.get('ci', 0.95)):g}% CI",
        )  # fmt: skip
        ax.set_xticks(np.arange(len(d)))
        ax.set_xticklabels([str(s) for s in d["site"]])
        ax.set_xlabel(self.site)
        ax.set_ylabel(self.value)
        ax.set_title(self.apa(), fontsize=8)
        ax.legend(loc="best", fontsize=8)
        return ax.figure


@dataclass(frozen=True, eq=False)
class SiteComparisons(Result, Mapping):
    """Comparisons of sites on several outcomes, with a family-wise correction across outcomes.

    Behaves as a mapping ``outcome -> SiteComparison``.

    Attributes
    ----------
    comparisons : dict
        Outcome name -> :class:`SiteComparison`.
    adjust : str
        Correction across outcomes (``"holm"`` by default; ``"bh"`` for false-discovery rate).
    provenance : dict
    """

    comparisons: dict
    adjust: str
    provenance: dict = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        return f"SiteComparisons(outcomes={list(self.comparisons)!r}, adjust={self.adjust!r})"

    def __getitem__(self, key: str) -> SiteComparison:
        try:
            return self.comparisons[key]
        except KeyError:
            raise KeyError(
                f"No comparison for {key!r}; outcomes: {', '.join(map(repr, self.comparisons))}."
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.comparisons)

    def __len__(self) -> int:
        return len(self.comparisons)

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome (as :meth:`SiteComparison.to_frame`) plus ``p_adj`` across outcomes."""
        frame = pd.concat([c.to_frame() for c in self.comparisons.values()], ignore_index=True)
        frame.insert(
            frame.columns.get_loc("p") + 1, "p_adj", adjust_pvalues(frame["p"].to_numpy(), self.adjust)
        )
        return frame

    def summary(self) -> str:
        """One APA sentence per outcome, with the p adjusted across outcomes."""
        frame = self.to_frame()
        name = ADJUST_NAMES[self.adjust]
        lines = [
            f"{len(self)} outcomes compared across sites; p adjusted across outcomes with the {name} method."
        ]
        for (key, comp), p_adj in zip(self.comparisons.items(), frame["p_adj"], strict=True):
            lines.append(f"{key}: {comp.apa()} Adjusted p {format_p(p_adj)}.")
        return "\n".join(lines)

    def plot(self, *, max_points: int = 2000, seed: int = 0) -> Any:
        """One panel per outcome (see :meth:`SiteComparison.plot`); returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        n = len(self)
        k = max(len(c.descriptives) for c in self.comparisons.values())
        fig, axes = plt.subplots(1, n, figsize=((1.2 + 1.1 * k) * n, 4), squeeze=False)
        for ax, comp in zip(axes[0], self.comparisons.values(), strict=True):
            comp.plot(ax=ax, max_points=max_points, seed=seed)
        fig.tight_layout()
        return fig


# --------------------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------------------
def _assumptions(groups: Groups, desc: pd.DataFrame) -> pd.DataFrame:
    k = groups.k
    rows = []
    for check, centre in (("brown_forsythe", desc["median"].to_numpy()), ("levene", desc["mean"].to_numpy())):
        z = np.abs(groups.y - centre[groups.codes])
        n, m, v = group_moments(z, groups.codes, k)
        F, df1, df2, p = _anova(n, m, v)
        note = (
            "median-centred Levene test"
            if check == "brown_forsythe"
            else "mean-centred (classic) Levene test"
        )
        rows.append(
            {
                "check": check,
                "site": pd.NA,
                "statistic": F,
                "df1": df1,
                "df2": df2,
                "p": p,
                "n": groups.n_total,
                "note": note,
            }
        )
    for g, lab in enumerate(groups.labels):
        x = groups.y[groups.codes == g]
        if x.size < 3:
            stat, p, note = np.nan, np.nan, "needs at least 3 observations"
        elif x.size > 5000:
            stat, p, note = np.nan, np.nan, "not computed above 5000 observations (as R shapiro.test)"
        elif np.ptp(x) == 0:
            stat, p, note = np.nan, np.nan, "all values are equal"
        else:
            res = stats.shapiro(x)
            stat, p, note = float(res.statistic), float(res.pvalue), ""
        rows.append(
            {
                "check": "shapiro_wilk",
                "site": lab,
                "statistic": stat,
                "df1": np.nan,
                "df2": np.nan,
                "p": p,
                "n": x.size,
                "note": note,
            }
        )
    out = pd.DataFrame(rows, columns=ASSUMPTION_COLUMNS)
    out["site"] = out["site"].astype(object)
    return out


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
    desc = descriptives(groups, ci)
    n, mean, var = groups.moments
    boot_info: dict = {}
    if method == "kruskal":
        es_items, H, boot_info = kruskal_effect_sizes(
            groups.y, groups.codes, k, ci=ci, alternative=alternative, n_boot=n_boot, seed=seed,
            ci_method=ci_method,
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
