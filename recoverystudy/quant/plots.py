"""Figures for questionnaire results: score distributions and item fit.  Each returns a matplotlib Figure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["score_distributions", "item_fit"]


def score_distributions(scores: pd.DataFrame, *, by: pd.Series | None = None, max_scales: int = 6,
                        title: str = "") -> Any:
    """Box plots of each score (one panel per scale), split by ``by`` (e.g. site) when given.

    >>> s = pd.DataFrame({"total": [1.0, 2.0, 3.0, 4.0]})
    >>> len(score_distributions(s, by=pd.Series(["A", "A", "B", "B"])).axes)
    1
    """
    import matplotlib.pyplot as plt

    cols = list(scores.columns)[:max_scales]
    n = max(1, len(cols))
    fig, axes = plt.subplots(1, n, figsize=(min(3.2 * n, 13), 3.6), squeeze=False)
    for ax, col in zip(axes[0], cols):
        values = scores[col]
        if by is not None:
            groups = pd.Series(np.asarray(by), index=scores.index)
            labels = sorted(groups.dropna().unique(), key=str)
            data = [values[groups == g].dropna().to_numpy() for g in labels]
        else:
            labels, data = ["all"], [values.dropna().to_numpy()]
        ax.boxplot(data, showmeans=True, meanprops={"marker": "D", "markerfacecolor": "#1f4e79",
                                                    "markeredgecolor": "#1f4e79", "markersize": 4})
        ax.set_xticks(range(1, len(labels) + 1))
        ax.set_xticklabels([str(x) for x in labels], rotation=45 if len(labels) > 3 else 0, ha="right"
                           if len(labels) > 3 else "center")
        ax.set_title(str(col).replace("_", " "))
        ax.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def item_fit(items: pd.DataFrame, *, column: str = "r_drop", alpha: float | None = None,
             omega: float | None = None) -> Any:
    """Corrected item–total correlations, one bar per item, weakest highlighted.

    >>> t = pd.DataFrame({"r_drop": [0.5, 0.1, 0.6]}, index=["i1", "i2", "i3"])
    >>> item_fit(t, alpha=0.8).axes[0].get_xlabel()
    'Corrected item-total correlation'
    """
    import matplotlib.pyplot as plt

    r = items[column].astype(float)
    fig, ax = plt.subplots(figsize=(6.0, max(2.0, 0.26 * len(r) + 1.0)))
    colours = np.where(r < 0.3, "#b22222", "#1f4e79")
    ax.barh(np.arange(len(r))[::-1], r.to_numpy(), color=colours)
    ax.set_yticks(np.arange(len(r))[::-1])
    ax.set_yticklabels([str(i) for i in r.index], fontsize=8 if len(r) > 20 else 10)
    ax.axvline(0.3, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("Corrected item-total correlation")
    parts = []
    if alpha is not None and np.isfinite(alpha):
        parts.append(f"alpha = {alpha:.2f}".replace("0.", ".", 1))
    if omega is not None and np.isfinite(omega):
        parts.append(f"omega = {omega:.2f}".replace("0.", ".", 1))
    ax.set_title("Item fit" + (f" ({', '.join(parts)})" if parts else "") + "; red: below .30")
    fig.tight_layout()
    return fig
