"""Shared argument and data-frame checks (private).

One message template for bad arguments: ``"<name> must be one of 'a', 'b'; got 'c'."``
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from recoverystudy.errors import ArgumentError, EmptyDataError, MissingItemsError, StatisticsError


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Raise :class:`~recoverystudy.errors.ArgumentError` (a ``ValueError``) unless *value* is exactly one of
    *allowed* (no prefix matching).

    >>> check_option("method", "welch", ["anova", "welch"])
    'welch'
    """
    allowed = list(allowed)
    if not any(value is a or (type(value) is type(a) and value == a) for a in allowed):
        choices = ", ".join(repr(a) for a in allowed)
        raise ArgumentError(f"{name} must be one of {choices}; got {value!r}.", argument=name, value=value)
    return value


def check_probability(name: str, value: float, *, open_interval: bool = True) -> float:
    """Check that *value* is a probability such as a confidence level (0 < value < 1).

    >>> check_probability("confidence", 0.95)
    0.95
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between 0 and 1; got {value!r}.") from None
    ok = (0 < v < 1) if open_interval else (0 <= v <= 1)
    if not ok:
        raise ValueError(f"{name} must be between 0 and 1; got {value!r}.")
    return v


def check_frame(data: Any, *, what: str = "data") -> pd.DataFrame:
    """Check that *data* is a non-empty DataFrame.

    >>> check_frame(pd.DataFrame({"a": [1]})).shape
    (1, 1)
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame; got {type(data).__name__}.")
    if data.shape[0] == 0:
        raise EmptyDataError(f"{what} has no rows; there is nothing to analyse.")
    return data


def check_columns(data: pd.DataFrame, columns: Sequence[str], *, what: str = "column") -> None:
    """Raise :class:`MissingItemsError` naming every column in *columns* absent from *data*.

    >>> check_columns(pd.DataFrame({"a": [1]}), ["a"])
    """
    missing = [c for c in columns if c not in data.columns]
    if missing:
        shown = ", ".join(repr(m) for m in missing)
        raise MissingItemsError(
            f"The data have no {what}{'s' if len(missing) > 1 else ''} {shown}. "
            f"Columns present: {', '.join(map(repr, list(data.columns)[:20]))}"
            + (" ..." if data.shape[1] > 20 else "."),
            missing=missing,
        )


def check_numeric(data: pd.DataFrame, column: str) -> pd.Series:
    """Return *column* as float, raising :class:`StatisticsError` naming non-numeric values.

    >>> check_numeric(pd.DataFrame({"x": ["1", 2]}), "x").tolist()
    [1.0, 2.0]
    """
    series = data[column]
    converted = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & converted.isna()
    if bad.any():
        examples = ", ".join(f"row {idx!r}: {val!r}" for idx, val in series[bad].head(5).items())
        raise StatisticsError(
            f"Column {column!r} must hold numbers; found {int(bad.sum())} non-numeric value(s) ({examples}).",
            column=column,
            rows=list(series[bad].index),
        )
    return converted.astype(float)
