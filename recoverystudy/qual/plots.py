"""Figures for the Framework Method results: each returns a matplotlib Figure and never shows or saves it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["matrix_heatmap", "agreement_by_code"]


def matrix_heatmap(counts: pd.DataFrame, *, max_codes: int = 25, title: str = "Coded segments") -> Any:
    """Coded segments per group (site) and code; more than ``max_codes`` codes are summed by theme.

    ``counts`` is the wide matrix of :meth:`FrameworkMatrix.counts` (rows: cases, or (group, case)).
    The figure's size follows the number of rows and columns, with a cap, so it stays readable.

    >>> c = pd.DataFrame({"a/x": [1, 0], "a/y": [2, 3]}, index=pd.MultiIndex.from_tuples([("S1", "p1"), ("S2", "p2")]))
    >>> matrix_heatmap(c).axes[0].get_title()
    'Coded segments per site and code'
    """
    import matplotlib.pyplot as plt

    frame = counts.copy()
    if isinstance(frame.index, pd.MultiIndex):
        frame = frame.groupby(level=0, sort=False).sum()
        rows_are = "site"
    else:
        rows_are = "case"
    what = "code"
    if frame.shape[1] > max_codes:
        frame = frame.T.groupby([str(c).split("/", 1)[0] for c in frame.columns], sort=False).sum().T
        what = "theme"
    data = frame.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(min(12.0, max(5.0, 1.8 + 0.42 * frame.shape[1])),
                                    min(8.0, max(2.5, 1.4 + 0.32 * frame.shape[0]))))
    im = ax.imshow(data, cmap="Blues", aspect="auto")
    ax.set_xticks(range(frame.shape[1]), [str(c).rsplit("/", 1)[-1].replace("_", " ") for c in frame.columns],
                  rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(frame.shape[0]), [str(i) for i in frame.index], fontsize=8)
    if data.size <= 400:
        for (i, j), v in np.ndenumerate(data):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * np.nanmax(data) else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="segments")
    ax.set_title(f"{title} per {rows_are} and {what}")
    fig.tight_layout()
    return fig


def agreement_by_code(table: pd.DataFrame, *, statistic: str = "kappa") -> Any:
    """Agreement per code (pooled over documents), sorted, with the overall value as a line.

    >>> t = pd.DataFrame({"code": ["a", "b", "(all codes)"], "document": ["(all documents)"] * 3,
    ...                   "kappa": [0.9, 0.5, 0.7], "pooled": [True, True, True]})
    >>> agreement_by_code(t).axes[0].get_xlabel()
    "Cohen's kappa per code (pooled over documents)"
    """
    import matplotlib.pyplot as plt

    pooled = table[table["pooled"].astype(bool)]
    overall = pooled[pooled["code"] == "(all codes)"]
    per_code = pooled[pooled["code"] != "(all codes)"].sort_values(statistic)
    fig, ax = plt.subplots(figsize=(6.5, min(9.0, max(2.2, 0.24 * len(per_code) + 1.2))))
    values = per_code[statistic].to_numpy(dtype=float)
    colours = np.where(values < 0.6, "#b22222", "#1f4e79")
    ax.barh(np.arange(len(per_code)), np.nan_to_num(values), color=colours)
    ax.set_yticks(np.arange(len(per_code)), [str(c).rsplit("/", 1)[-1].replace("_", " ") for c in per_code["code"]],
                  fontsize=7 if len(per_code) > 25 else 9)
    if len(overall) and np.isfinite(overall[statistic].iloc[0]):
        ax.axvline(overall[statistic].iloc[0], color="black", ls="--", lw=1, label="all codes")
        ax.legend(frameon=False, loc="lower right")
    ax.axvline(0.6, color="grey", ls=":", lw=0.8)
    ax.set_xlim(min(0.0, np.nanmin(values) if len(values) else 0.0), 1.0)
    names = {"kappa": "Cohen's kappa", "alpha": "Krippendorff's alpha", "fleiss_kappa": "Fleiss' kappa"}
    ax.set_xlabel(f"{names.get(statistic, statistic)} per code (pooled over documents)")
    fig.tight_layout()
    return fig
