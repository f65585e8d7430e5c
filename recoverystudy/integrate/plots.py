"""Figures for the joined strands: each returns a matplotlib Figure and never shows or saves it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["joint_plot", "triad_plot", "case_matrix_plot"]


def joint_plot(table: pd.DataFrame, *, value: str) -> Any:
    """Rank-biserial r (with its CI) for each theme: do people who talked about it score differently?

    >>> t = pd.DataFrame({"theme_name": ["Hope"], "rank_biserial": [0.3], "ci_low": [0.1], "ci_high": [0.5],
    ...                   "n_with": [10], "n_without": [12]})
    >>> joint_plot(t, value="star_p_total").axes[0].get_yticklabels()[0].get_text()
    'Hope (10 with, 12 without)'
    """
    import matplotlib.pyplot as plt

    n = len(table)
    fig, ax = plt.subplots(figsize=(6.5, max(2.0, 0.34 * n + 1.2)))
    y = np.arange(n)[::-1]
    r = table["rank_biserial"].to_numpy(dtype=float)
    lo = table["ci_low"].to_numpy(dtype=float)
    hi = table["ci_high"].to_numpy(dtype=float)
    for yi, e, l_, h in zip(y, r, lo, hi):
        if np.isfinite(l_) and np.isfinite(h):
            ax.plot([l_, h], [yi, yi], color="#7f9fbf", lw=2)
        if np.isfinite(e):
            ax.plot([e], [yi], "o", color="#1f4e79")
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.set_xlim(-1, 1)
    ax.set_yticks(y)
    name = table["theme_name"] if "theme_name" in table else table["theme"]
    ax.set_yticklabels([f"{t} ({w} with, {wo} without)" for t, w, wo in
                        zip(name, table["n_with"], table["n_without"])], fontsize=8)
    ax.set_xlabel(f"Rank-biserial r: {value} of people with the theme vs without (95% CI)")
    fig.tight_layout()
    return fig


def triad_plot(theme_status: pd.DataFrame) -> Any:
    """Per theme, how many triads agree (all members talk about it), differ, or are silent on it.

    >>> ts = pd.DataFrame({"theme_name": ["A", "A", "B"], "status": ["agree", "differ", "none"]})
    >>> len(triad_plot(ts).axes[0].patches)
    6
    """
    import matplotlib.pyplot as plt

    counts = (theme_status.groupby(["theme_name", "status"]).size().unstack(fill_value=0)
              .reindex(columns=["agree", "differ", "none"], fill_value=0))
    fig, ax = plt.subplots(figsize=(6.5, max(2.0, 0.34 * len(counts) + 1.2)))
    left = np.zeros(len(counts))
    colours = {"agree": "#2e7d32", "differ": "#f9a825", "none": "#bdbdbd"}
    for status in counts.columns:
        vals = counts[status].to_numpy()
        ax.barh(np.arange(len(counts)), vals, left=left, color=colours[status], label=status)
        left += vals
    ax.set_yticks(np.arange(len(counts)))
    ax.set_yticklabels(counts.index, fontsize=8)
    ax.set_xlabel("triads")
    ax.legend(frameon=False, ncols=3, loc="lower right")
    fig.tight_layout()
    return fig


def case_matrix_plot(counts: pd.DataFrame, *, max_rows: int = 60) -> Any:
    """Coded segments per case and theme as a heat map (at most ``max_rows`` cases, the most coded first).

    >>> c = pd.DataFrame({"case": ["a", "b"], "t1": [1, 0], "t2": [3, 2]})
    >>> case_matrix_plot(c).axes[0].get_title()
    'Coded segments per case and theme'
    """
    import matplotlib.pyplot as plt

    frame = counts.set_index("case") if "case" in counts else counts
    frame = frame.select_dtypes("number")
    if len(frame) > max_rows:
        frame = frame.loc[frame.sum(axis=1).sort_values(ascending=False).index[:max_rows]]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.5 + 0.6 * frame.shape[1]), min(9.0, 1.2 + 0.22 * len(frame))))
    im = ax.imshow(frame.to_numpy(dtype=float), cmap="Blues", aspect="auto")
    ax.set_xticks(range(frame.shape[1]), [str(c).rsplit("/", 1)[-1] for c in frame.columns], rotation=40,
                  ha="right", fontsize=8)
    ax.set_yticks(range(len(frame)), [str(i) for i in frame.index], fontsize=6 if len(frame) > 30 else 8)
    fig.colorbar(im, ax=ax, shrink=0.8, label="segments")
    ax.set_title("Coded segments per case and theme")
    fig.tight_layout()
    return fig
