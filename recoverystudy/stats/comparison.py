"""The results of :func:`~recoverystudy.stats.compare.compare_sites`.

:class:`SiteComparison` (one outcome) and :class:`SiteComparisons` (several outcomes, with a family-wise
correction across them).
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.stats._omnibus import _ES_SYMBOL, _POSTHOC, _TEST_NAME
from recoverystudy.stats._base import ADJUST_NAMES, adjust_pvalues, descriptives
from recoverystudy.stats._words import format_p
from recoverystudy.stats.effsize import ci_phrase
from recoverystudy.stats.posthoc import pairwise_sentence
from recoverystudy.results import Result, frame_to_html

__all__ = ["SiteComparison", "SiteComparisons"]


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
