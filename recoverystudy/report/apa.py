"""APA-style numbers for everything a person reads: reports, Word tables and terminal output.

The rules (APA Publication Manual, 7th edition, section 6.36):

* p values to three decimals without a leading zero, and ``p < .001`` below that;
* statistics (means, test statistics, differences, effect sizes) to two decimals;
* no leading zero for quantities that cannot exceed 1 in size (correlations, proportions, alpha,
  omega, kappa, ICC, p);
* confidence intervals in square brackets: ``[0.12, 0.45]``;
* counts as whole numbers.

Full precision always stays in the CSV and Excel tables; only what is displayed is rounded.

>>> format_p(0.0000408), format_p(0.0342), format_p(1.0)
('p < .001', 'p = .034', 'p = 1.000')
>>> format_stat(3.14159), format_bounded(0.4567), format_ci(0.1234, 0.5678)
('3.14', '.46', '[0.12, 0.57]')
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["apa_text", "column_kind", "format_bounded", "format_ci", "format_count", "format_p", "format_stat",
           "format_value", "format_frame"]


def _finite(v: Any) -> bool:
    try:
        return v is not None and v is not pd.NA and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def format_p(p: Any, *, prefix: bool = True) -> str:
    """An APA p value: ``p = .034`` or ``p < .001`` (``prefix=False`` drops ``p``).

    >>> format_p(0.012), format_p(0.0004, prefix=False), format_p(float("nan"))
    ('p = .012', '< .001', 'p not defined')
    """
    if not _finite(p):
        return "p not defined" if prefix else ""
    p = float(p)
    if p < 0.001:
        return "p < .001" if prefix else "< .001"
    text = f"{p:.3f}"
    text = text[1:] if text.startswith("0") else text
    return f"p = {text}" if prefix else text


def format_stat(v: Any, digits: int = 2) -> str:
    """A statistic to two decimals (minus sign kept).

    >>> format_stat(-0.6921), format_stat(12.0), format_stat(None)
    ('-0.69', '12.00', '')
    """
    if not _finite(v):
        return ""
    return f"{float(v):.{digits}f}"


def format_bounded(v: Any, digits: int = 2) -> str:
    """A quantity that cannot exceed 1 in size (r, alpha, kappa, ICC), without the leading zero.

    >>> format_bounded(0.8912), format_bounded(-0.134), format_bounded(1.0)
    ('.89', '-.13', '1.00')
    """
    if not _finite(v):
        return ""
    text = f"{float(v):.{digits}f}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def format_count(v: Any) -> str:
    """A count as a whole number with thousands separators.

    >>> format_count(1234.0), format_count(float("nan"))
    ('1,234', '')
    """
    if not _finite(v):
        return ""
    return f"{int(round(float(v))):,}"


def format_ci(low: Any, high: Any, digits: int = 2, *, bounded: bool = False) -> str:
    """A confidence interval in square brackets.

    >>> format_ci(0.1, 0.234), format_ci(0.1, 0.234, bounded=True), format_ci(None, 1)
    ('[0.10, 0.23]', '[.10, .23]', '')
    """
    if not (_finite(low) and _finite(high)):
        return ""
    f = format_bounded if bounded else format_stat
    return f"[{f(low, digits)}, {f(high, digits)}]"


_P = re.compile(r"(^|_)p(_adj|_value|_adjusted)?$|^p_|permutation_p|bootstrap_p")
_COUNT = re.compile(r"(^|_)n($|_)|^n\d|count|^k$|^total$|segments|documents|codings|^n_", re.I)
_BOUNDED = re.compile(r"(^|_)(r|rho|tau|alpha|omega(_total)?|kappa|fleiss_kappa|icc|proportion(_met)?(_or_partly)?|"
                      r"percent_agreement|rank_biserial|cfi|tli|rmsea|srmr|loading|std_loading|eta2|omega2|"
                      r"epsilon2|r2)($|_)", re.I)


def column_kind(name: str) -> str:
    """How a column is shown: ``"p"``, ``"count"``, ``"bounded"``, ``"stat"``.

    Confidence limits follow the quantity they belong to (``alpha_ci_low`` is bounded).

    >>> [column_kind(c) for c in ["p_adj", "n_plans", "alpha_ci_low", "estimate", "df"]]
    ['p', 'count', 'bounded', 'stat', 'stat']
    """
    low = str(name).lower()
    if _P.search(low):
        return "p"
    if _BOUNDED.search(low):
        return "bounded"
    if low in {"df", "df1", "df2"} or low.startswith("df"):
        return "stat"
    if _COUNT.search(low):
        return "count"
    return "stat"


def format_value(value: Any, kind: str = "stat") -> str:
    """Format one cell by its column kind; text stays as it is, booleans read ``yes``/``no``.

    >>> format_value(0.00002, "p"), format_value(True), format_value("Ashcombe"), format_value(3.0, "count")
    ('< .001', 'yes', 'Ashcombe', '3')
    """
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)) and kind != "p":
        return format_count(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            return ""
        if kind == "p":
            return format_p(value, prefix=False)
        if kind == "count":
            return format_count(value) if float(value).is_integer() else format_stat(value)
        if kind == "bounded" and abs(float(value)) <= 1:
            return format_bounded(value)
        return format_stat(value)
    return str(value)


def format_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every cell formatted as text by its column's kind (for display only).

    >>> format_frame(pd.DataFrame({"r": [0.456], "p": [0.0001], "n": [12.0]})).iloc[0].tolist()
    ['.46', '< .001', '12']
    """
    out = {}
    for col in frame.columns:
        kind = column_kind(col)
        out[col] = [format_value(v, kind) for v in frame[col].tolist()]
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


_P_IN_TEXT = re.compile(r"\b(p|p_adj|adjusted p) ([=<>]) 0\.(\d)")


def apa_text(text: str) -> str:
    """Drop the leading zero of p values written in a sentence (``p = 0.151`` becomes ``p = .151``).

    >>> apa_text("chi-square(9) = 9.56, p = 0.388; adjusted p < 0.001")
    'chi-square(9) = 9.56, p = .388; adjusted p < .001'
    """
    return _P_IN_TEXT.sub(lambda m: f"{m.group(1)} {m.group(2)} .{m.group(3)}", text)
