"""Multiple imputation as a sensitivity analysis: score and analyse every imputed data set, then pool.

This module joins the questionnaire layer (:func:`recoverystudy.score`, :func:`recoverystudy.impute`)
with the statistics layer (:func:`recoverystudy.pool`, the Games-Howell comparisons that
:func:`recoverystudy.compare_sites` reports); it lives in ``integrate`` because ``stats`` does not
import ``quant`` (statistics know nothing of instruments), and ``integrate`` sits above both.

* :func:`mi_analyse` runs any analysis on each completed data set (with the instrument's scores added)
  and pools its estimates with Rubin's rules and Barnard-Rubin degrees of freedom.
* :func:`mi_sensitivity` sets, for every pair of sites, the prorated result (scores from the answered
  items, as :func:`score` computes them, compared by Games-Howell as ``compare_sites(method="welch")``
  does) beside the result pooled over the imputed data sets.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._validate import check_columns, check_frame, check_probability
from recoverystudy.errors import StatisticsError
from recoverystudy.quant.imputation import Imputations, impute
from recoverystudy.quant.instruments import Instrument, load_instrument
from recoverystudy.quant.scoring import score
from recoverystudy.results import Result, base_provenance
from recoverystudy.stats._distributions import tukey_quantile, tukey_sf
from recoverystudy.stats.pooling import PooledEstimates, pool
from recoverystudy.stats._base import prepare_groups
from recoverystudy.stats.posthoc import format_p, games_howell_table

__all__ = ["MISensitivity", "mi_analyse", "mi_sensitivity"]


def _scored(frame: pd.DataFrame, inst: Instrument | None, options: Mapping[str, Any], quiet: bool) -> pd.DataFrame:
    if inst is None:
        return frame
    with warnings.catch_warnings():
        if quiet:  # the same instrument warnings were already shown for the first data set
            warnings.simplefilter("ignore")
        res = score(frame, inst, **options)
    extra = res.scores.drop(columns=[c for c in res.scores.columns if c in frame.columns])
    return pd.concat([frame, extra], axis=1)


def _as_long(out: Any, i: int) -> pd.DataFrame:
    if isinstance(out, pd.DataFrame):
        frame = out.copy()
        if "term" not in frame.columns:
            frame = frame.rename_axis("term").reset_index()
    elif isinstance(out, Mapping):
        rows = []
        for term, val in out.items():
            est, se = val
            rows.append({"term": str(term), "estimate": float(est), "se": float(se)})
        frame = pd.DataFrame(rows)
    elif isinstance(out, tuple) and len(out) == 2:
        frame = pd.DataFrame({"term": ["estimate"], "estimate": [float(out[0])], "se": [float(out[1])]})
    else:
        raise StatisticsError(f"The analysis returned {type(out).__name__} for imputation {i + 1}; return a DataFrame "
                              "with columns term, estimate and se (or variance), a dict {term: (estimate, se)}, "
                              "or a tuple (estimate, se).")
    if "estimate" not in frame.columns or not ({"se", "variance"} & set(frame.columns)):
        raise StatisticsError(f"The analysis result for imputation {i + 1} needs columns estimate and se (or variance); "
                              f"it has {list(frame.columns)}.")
    frame["imputation"] = i + 1
    return frame


def mi_analyse(imputations: Imputations, analysis: Callable[[pd.DataFrame], Any], *, scoring: bool = True,
               score_options: Mapping[str, Any] | None = None, n: float = np.inf, k: int = 1,
               ci: float = 0.95) -> PooledEstimates:
    """Run *analysis* on every imputed data set and pool its estimates (Rubin's rules, Barnard-Rubin df).

    Parameters
    ----------
    imputations : Imputations
        From :func:`impute`.
    analysis : callable
        Called with each completed data set (the instrument's scale scores added as columns when
        *scoring*); returns a DataFrame with columns ``term``, ``estimate`` and ``se`` (or ``variance``;
        optionally ``dfcom``, the complete-data degrees of freedom), a dict ``{term: (estimate, se)}``
        or a tuple ``(estimate, se)``.
    scoring : bool, default=True
        Score the instrument that was imputed (:func:`score`) before calling *analysis*.
    score_options : mapping, optional
        Keyword arguments for :func:`score` (e.g. ``key=``).
    n, k : float, int
        Complete-data df ``n - k`` for the Barnard-Rubin df when the analysis gives no ``dfcom``.
    ci : float, default=0.95

    Returns
    -------
    PooledEstimates

    Examples
    --------
    >>> import warnings, numpy as np, recoverystudy as rs
    >>> su = rs.load_example("six_sites").service_users
    >>> imp = rs.impute(su, "wai-sr", m=5, seed=3)
    >>> def mean_total(d):
    ...     x = d["wai_sr_total"].dropna()
    ...     return x.mean(), x.std() / np.sqrt(len(x))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # the WAI-SR key is derived from wording: rs.score warns
    ...     res = rs.mi_analyse(imp, mean_total, n=len(su))
    >>> int(res.table["m"].iloc[0]), res.table["term"].tolist()
    (5, ['estimate'])
    """
    check_probability("ci", ci)
    if not isinstance(imputations, Imputations):
        raise StatisticsError("mi_analyse needs the result of rs.impute(...).")
    inst = imputations.instrument if scoring else None
    options = dict(score_options or {})
    parts = [_as_long(analysis(_scored(d, inst, options, quiet=i > 0)), i) for i, d in enumerate(imputations.datasets)]
    long = pd.concat(parts, ignore_index=True)
    res = pool(long, n=n, k=k, ci=ci)
    res.provenance.update(imputation=imputations.provenance, analysis=getattr(analysis, "__name__", repr(analysis)))
    return res


@dataclass(frozen=True, repr=False)
class MISensitivity(Result):
    """Prorated scores against multiply imputed ones, for every pair of sites and every scale.

    Attributes
    ----------
    table : DataFrame
        One row per outcome and pair of sites: outcome, group1, group2, then for the prorated analysis
        ``prorated_n1, prorated_n2, prorated_estimate, prorated_ci_low, prorated_ci_high, prorated_p_adj``
        (Games-Howell, as ``compare_sites``) and for the pooled analysis ``pooled_n1, pooled_n2,
        pooled_estimate, pooled_se, pooled_ci_low, pooled_ci_high, pooled_df, pooled_p, pooled_p_adj,
        fmi``, with ``shift`` = pooled minus prorated estimate and ``same_conclusion`` (both adjusted p on
        the same side of alpha).
    means : DataFrame
        Per outcome and site: prorated n and mean, pooled n, mean, se, CI and fmi.
    imputations : Imputations
    provenance : dict
    """

    table: pd.DataFrame
    means: pd.DataFrame
    imputations: Imputations
    provenance: dict = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"MISensitivity(outcomes={self.table['outcome'].nunique()}, pairs={len(self.table)}, m={self.imputations.m})"

    def to_frame(self) -> pd.DataFrame:
        """The side-by-side table (one row per outcome and pair of sites)."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain words: do the conclusions survive multiple imputation?"""
        alpha = self.provenance["alpha"]
        t = self.table
        lines = [
            f"Sensitivity analysis: scores from answered items only (prorated, as scored) against {self.imputations.m} "
            "data sets with the missing answers imputed by predictive mean matching within site, pooled with Rubin's "
            "rules (Barnard-Rubin df, as R mice::pool). Pairs of sites compared by Games-Howell in both.",
        ]
        for outcome, g in t.groupby("outcome", sort=False):
            changed = g.loc[~g["same_conclusion"]]
            biggest = g.loc[g["shift"].abs().idxmax()]
            sig_pr = int((g["prorated_p_adj"] < alpha).sum())
            sig_po = int((g["pooled_p_adj"] < alpha).sum())
            text = (f"{outcome}: {sig_pr} of {len(g)} site pairs differ at p < {alpha:g} when prorated, {sig_po} after "
                    f"imputation; the largest shift in a difference is {biggest['shift']:+.3f} "
                    f"({biggest['group2']} - {biggest['group1']}).")
            if len(changed):
                text += " The conclusion changes for " + ", ".join(
                    f"{r.group2} - {r.group1} (adjusted p {format_p(r.prorated_p_adj)} prorated, "
                    f"{format_p(r.pooled_p_adj)} imputed)" for r in changed.itertuples()) + "."
            else:
                text += " No conclusion changes: the site comparisons are robust to how missing answers are handled."
            lines.append(text)
        lines.append("Imputation assumes answers are missing at random given the other answers and the site; it "
                     "cannot rule out bias if people skipped items because of how they would have answered.")
        return "\n".join(lines)

    def plot(self, outcome: str | None = None) -> Any:
        """Forest plot: each site difference, prorated (open) and pooled (filled), with its CI."""
        import matplotlib.pyplot as plt

        outcomes = [outcome] if outcome else list(dict.fromkeys(self.table["outcome"]))
        fig, axes = plt.subplots(1, len(outcomes), figsize=(5.0 * len(outcomes), 0.6 + 0.35 * len(self.table) / len(outcomes)),
                                 squeeze=False)
        for ax, out in zip(axes[0], outcomes, strict=True):
            g = self.table.loc[self.table["outcome"] == out]
            y = np.arange(len(g))
            ax.errorbar(g["prorated_estimate"], y - 0.15, xerr=[g["prorated_estimate"] - g["prorated_ci_low"],
                        g["prorated_ci_high"] - g["prorated_estimate"]], fmt="o", mfc="white", color="tab:blue",
                        capsize=2, label="prorated")
            ax.errorbar(g["pooled_estimate"], y + 0.15, xerr=[g["pooled_estimate"] - g["pooled_ci_low"],
                        g["pooled_ci_high"] - g["pooled_estimate"]], fmt="o", color="tab:red", capsize=2,
                        label=f"imputed (m={self.imputations.m})")
            ax.set_yticks(y, [f"{a} - {b}" for a, b in zip(g["group2"], g["group1"], strict=True)], fontsize="small")
            ax.invert_yaxis()
            ax.axvline(0, color="grey", lw=0.8)
            ax.set_title(out)
            ax.set_xlabel("difference in mean score")
            ax.legend(fontsize="small")
        fig.tight_layout()
        return fig


def _site_stats(frame: pd.DataFrame, value: str, site: str, levels: list) -> pd.DataFrame:
    g = frame.groupby(site, observed=True)[value]
    out = pd.DataFrame({"n": g.count(), "mean": g.mean(), "var": g.var(ddof=1)}).reindex(levels)
    out["se"] = np.sqrt(out["var"] / out["n"])
    return out


def mi_sensitivity(data: pd.DataFrame, instrument: str | Instrument, *, site: str = "site", m: int = 20,
                   seed: int | None = None, scales: list[str] | None = None,
                   score_options: Mapping[str, Any] | None = None, imputations: Imputations | None = None,
                   confidence: float = 0.95, alpha: float = 0.05, donors: int = 5,
                   iterations: int = 10) -> MISensitivity:
    """Compare every pair of sites with prorated scores and with multiply imputed scores, side by side.

    Parameters
    ----------
    data : DataFrame
        One row per respondent with the instrument's item columns and *site*.
    instrument : str or Instrument
    site : str, default="site"
    m, seed, donors, iterations
        Passed to :func:`impute` (ignored when *imputations* is given).
    scales : list of str, optional
        Score columns to compare (default: every scale that is scored).
    score_options : mapping, optional
        Keyword arguments for :func:`score` (``key=``, ``min_answered=``, ``items=`` ...), used for both.
    imputations : Imputations, optional
        Reuse imputations made earlier with :func:`impute`.
    confidence, alpha : float
        Interval level, and the level at which conclusions are compared.

    Returns
    -------
    MISensitivity

    Examples
    --------
    >>> import warnings, recoverystudy as rs
    >>> su = rs.load_example("six_sites").service_users
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # the WAI-SR key is derived from wording: rs.score warns
    ...     sens = rs.mi_sensitivity(su, "wai-sr", m=5, seed=1, scales=["wai_sr_total"])
    >>> list(sens.table.columns[:4])
    ['outcome', 'group1', 'group2', 'prorated_n1']
    """
    check_frame(data)
    check_columns(data, [site], what="site column")
    check_probability("confidence", confidence)
    check_probability("alpha", alpha)
    inst = load_instrument(instrument)
    options = dict(score_options or {})
    observed = score(data, inst, **options)
    outcomes = list(scales) if scales is not None else list(observed.scores.columns)
    unknown = [s for s in outcomes if s not in observed.scores.columns]
    if unknown:
        raise StatisticsError(f"Scales {unknown} are not scored; scored: {list(observed.scores.columns)}.")
    if imputations is None:
        imputations = impute(data, inst, items=options.get("items"), site=site, m=m, seed=seed, donors=donors,
                             iterations=iterations)
    elif imputations.site != site:
        raise StatisticsError(f"The imputations were made within {imputations.site!r}, not {site!r}.")
    pr_frame = pd.concat([data[[site]], observed.scores], axis=1)
    completed = [_scored(d, inst, options, quiet=True) for d in imputations.datasets]
    rows, means = [], []
    for out in outcomes:
        # Games-Howell as rs.games_howell computes it; its effect sizes are not part of this table
        pr = games_howell_table(prepare_groups(pr_frame, out, site), confidence, effect_sizes=False)
        levels = list(dict.fromkeys(list(pr["group1"]) + list(pr["group2"])))
        k = len(levels)
        i = np.array([levels.index(g) for g in pr["group1"]])
        j = np.array([levels.index(g) for g in pr["group2"]])
        stats_m = [_site_stats(c, out, site, levels) for c in completed]
        mean = np.stack([s["mean"].to_numpy() for s in stats_m])       # (m, k)
        var_m = np.stack([(s["se"] ** 2).to_numpy() for s in stats_m])
        n_m = np.stack([s["n"].to_numpy(dtype=float) for s in stats_m])
        est = mean[:, j] - mean[:, i]
        vs = var_m[:, i] + var_m[:, j]
        dfw = vs**2 / (var_m[:, i] ** 2 / (n_m[:, i] - 1) + var_m[:, j] ** 2 / (n_m[:, j] - 1))
        terms = [f"{b} - {a}" for a, b in zip(pr["group1"], pr["group2"], strict=True)]
        pooled = pool(est, vs, terms=terms, dfcom=dfw.mean(axis=0), ci=confidence).table
        q = tukey_quantile(confidence, k, pooled["df"].to_numpy())
        half = q * pooled["se"].to_numpy() / np.sqrt(2)
        p_adj = tukey_sf(np.abs(pooled["statistic"].to_numpy()) * np.sqrt(2), k, pooled["df"].to_numpy())
        tab = pd.DataFrame({
            "outcome": out, "group1": pr["group1"].to_numpy(), "group2": pr["group2"].to_numpy(),
            "prorated_n1": pr["n1"].to_numpy(), "prorated_n2": pr["n2"].to_numpy(),
            "prorated_estimate": pr["estimate"].to_numpy(), "prorated_ci_low": pr["ci_low"].to_numpy(),
            "prorated_ci_high": pr["ci_high"].to_numpy(), "prorated_p_adj": pr["p_adj"].to_numpy(),
            "pooled_n1": n_m[0, i], "pooled_n2": n_m[0, j], "pooled_estimate": pooled["estimate"].to_numpy(),
            "pooled_se": pooled["se"].to_numpy(), "pooled_ci_low": pooled["estimate"].to_numpy() - half,
            "pooled_ci_high": pooled["estimate"].to_numpy() + half, "pooled_df": pooled["df"].to_numpy(),
            "pooled_p": pooled["p"].to_numpy(), "pooled_p_adj": p_adj, "fmi": pooled["fmi"].to_numpy(),
        })
        tab["shift"] = tab["pooled_estimate"] - tab["prorated_estimate"]
        tab["same_conclusion"] = (tab["prorated_p_adj"] < alpha) == (tab["pooled_p_adj"] < alpha)
        rows.append(tab)
        pm = pool(mean, var_m, terms=levels, dfcom=n_m.mean(axis=0) - 1, ci=confidence).table
        obs = _site_stats(pr_frame, out, site, levels)
        means.append(pd.DataFrame({"outcome": out, "site": levels, "prorated_n": obs["n"].to_numpy(),
                                   "prorated_mean": obs["mean"].to_numpy(), "pooled_n": n_m[0],
                                   "pooled_mean": pm["estimate"].to_numpy(), "pooled_se": pm["se"].to_numpy(),
                                   "pooled_ci_low": pm["ci_low"].to_numpy(), "pooled_ci_high": pm["ci_high"].to_numpy(),
                                   "fmi": pm["fmi"].to_numpy()}))
    prov = base_provenance(
        "mi_sensitivity", matches="R mice::pool (Rubin's rules, Barnard-Rubin df) on rstatix::games_howell_test "
        "estimates", instrument=inst.id, instrument_version=inst.version, confidence=confidence, alpha=alpha,
        pairwise="Games-Howell difference and SE per imputation; dfcom = mean Welch-Satterthwaite df over imputations; "
                 "pooled adjusted p and CI from the studentized range at the Barnard-Rubin df",
        site_means="mean and SE per imputation, dfcom = n - 1", imputation=imputations.provenance,
        scoring=observed.provenance)
    return MISensitivity(table=pd.concat(rows, ignore_index=True), means=pd.concat(means, ignore_index=True),
                         imputations=imputations, provenance=prov)
