"""How p values are written in the statistics' plain-English summaries (private; no package imports)."""

from __future__ import annotations

import numpy as np

__all__ = ["format_p"]


def format_p(p: float) -> str:
    """APA style: ``= .012``, ``< .001``; NaN as ``= NA``."""
    if not np.isfinite(p):
        return "= NA"
    if p < 0.001:
        return "< .001"
    s = f"{p:.3f}"
    return "= " + (s.removeprefix("0"))
