"""Figures for the statistics results: each returns a matplotlib Figure and never shows or saves it.

matplotlib is imported only when a figure is drawn, so importing the statistics stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["forest_plot", "permutation_plot", "caterpillar_plot"]


def _axes(ax: Any, height: float, width: float = 6.5) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def forest_plot(table: pd.DataFrame, *, value: str, ax: Any = None, confidence: float = 0.95) -> Any:
    """Each pair's difference (``group2`` minus ``group1``) with its CI; adjusted p below .05 in dark blue.

    >>> t = pd.DataFrame({"group1": ["A"], "group2": ["B"], "estimate": [1.0], "ci_low": [0.2], "ci_high": [1.8],
    ...                   "p_adj": [0.01]})
    >>> forest_plot(t, value="y").axes[0].get_yticklabels()[0].get_text()
    'B minus A'
    """
    n = len(table)
    fig, ax = _axes(ax, max(2.0, 0.32 * n + 1.2))
    y = np.arange(n)[::-1]
    est = table["estimate"].to_numpy(dtype=float)
    lo = table["ci_low"].to_numpy(dtype=float) if "ci_low" in table else np.full(n, np.nan)
    hi = table["ci_high"].to_numpy(dtype=float) if "ci_high" in table else np.full(n, np.nan)
    sig = table["p_adj"].to_numpy(dtype=float) < 0.05 if "p_adj" in table else np.zeros(n, bool)
    colours = np.where(sig, "#1f4e79", "#8c8c8c")
    for yi, e, l_, h, c in zip(y, est, lo, hi, colours):
        if np.isfinite(l_) and np.isfinite(h):
            ax.plot([l_, h], [yi, yi], color=c, lw=2)
        ax.plot([e], [yi], "o", color=c)
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{b} minus {a}" for a, b in zip(table["group1"], table["group2"])])
    ax.set_xlabel(f"Difference in {value} (second site minus first), with {round(confidence * 100)}% CI")
    ax.set_title("Pairs of sites (dark: adjusted p < .05)")
    fig.tight_layout()
    return fig


def permutation_plot(site_means: pd.DataFrame, *, group: str, reference: str, estimate: float, value: str,
                     ax: Any = None) -> Any:
    """The observed country contrast against every re-assignment of country labels to sites.

    ``site_means`` has one row per site with columns ``country`` and ``mean``.

    >>> sm = pd.DataFrame({"country": ["E", "E", "E", "W", "W"], "mean": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> fig = permutation_plot(sm, group="W", reference="E", estimate=2.5, value="y")
    >>> len(fig.axes[0].patches) > 0
    True
    """
    import itertools

    means = site_means["mean"].to_numpy(dtype=float)
    in_grp = (site_means["country"] == group).to_numpy()
    G, k = len(means), int(in_grp.sum())
    combos = np.array(list(itertools.combinations(range(G), k)))
    mask = np.zeros((len(combos), G), dtype=bool)
    mask[np.arange(len(combos))[:, None], combos] = True
    perm = (mask * means).sum(1) / k - (~mask * means).sum(1) / (G - k)
    fig, ax = _axes(ax, 3.2)
    ax.hist(perm, bins=min(30, max(5, len(perm))), color="#b0c4de", edgecolor="white")
    ax.axvline(estimate, color="#b22222", lw=2, label=f"observed: {estimate:.2f}")
    ax.axvline(-estimate, color="#b22222", lw=1, ls=":")
    ax.set_xlabel(f"{value}: {group} minus {reference} (difference of site means)")
    ax.set_ylabel("arrangements of sites")
    ax.set_title(f"Observed contrast among all {len(perm)} ways to assign the country labels")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def caterpillar_plot(effects: pd.DataFrame, *, value: str, icc: float, ax: Any = None) -> Any:
    """Each site's estimated deviation from the overall mean with its interval, and the ICC in the title.

    ``effects`` has columns ``site``, ``effect``, ``ci_low``, ``ci_high``.

    >>> e = pd.DataFrame({"site": ["A", "B"], "effect": [-0.5, 0.5], "ci_low": [-1.0, 0.0], "ci_high": [0.0, 1.0]})
    >>> caterpillar_plot(e, value="y", icc=0.1).axes[0].get_title()
    'Site effects on y (ICC = .10)'
    """
    order = effects.sort_values("effect").reset_index(drop=True)
    fig, ax = _axes(ax, max(2.2, 0.35 * len(order) + 1.2))
    y = np.arange(len(order))
    ax.errorbar(order["effect"], y, xerr=[order["effect"] - order["ci_low"], order["ci_high"] - order["effect"]],
                fmt="o", color="#1f4e79", ecolor="#7f9fbf", capsize=3)
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(order["site"])
    ax.set_xlabel(f"Deviation of the site from the overall mean of {value}")
    icc_txt = f"{icc:.2f}".replace("0.", ".", 1) if np.isfinite(icc) else "not defined"
    ax.set_title(f"Site effects on {value} (ICC = {icc_txt})")
    fig.tight_layout()
    return fig
