"""Figures for the care-plan audit: each returns a matplotlib Figure and never shows or saves it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["compliance_plot"]


def compliance_plot(overall: pd.DataFrame) -> Any:
    """The proportion of plans meeting each criterion, with its Wilson confidence interval.

    ``overall`` has columns ``criterion``, ``proportion_met``, ``ci_low``, ``ci_high``.

    >>> o = pd.DataFrame({"criterion": ["a", "b"], "proportion_met": [0.2, 0.7], "ci_low": [0.1, 0.5],
    ...                   "ci_high": [0.4, 0.85]})
    >>> compliance_plot(o).axes[0].get_xlabel()
    "proportion of plans rated 'met', with Wilson 95% CI"
    """
    import matplotlib.pyplot as plt

    d = overall.sort_values("proportion_met")
    p = d["proportion_met"].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(7.0, min(10.0, 0.3 * len(d) + 1.2)))
    y = np.arange(len(d))
    ax.barh(y, np.nan_to_num(p), color="#2f6f8f", alpha=0.85)
    lo, hi = d["ci_low"].to_numpy(dtype=float), d["ci_high"].to_numpy(dtype=float)
    ok = np.isfinite(p) & np.isfinite(lo) & np.isfinite(hi)
    ax.errorbar(p[ok], y[ok], xerr=[p[ok] - lo[ok], hi[ok] - p[ok]], fmt="none", color="black", capsize=2, lw=0.8)
    ax.set_yticks(y, d["criterion"], fontsize=7)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("proportion of plans rated 'met', with Wilson 95% CI")
    fig.tight_layout()
    return fig
