"""Item columns for scoring: find an instrument's items in a data frame and turn answers into numbers.

:func:`prepare_items` classifies every distinct answer once (answered, a non-answer code, or invalid), so
that :func:`~recoverystudy.quant.scoring.score` works on one float array of respondents x items; the
helpers here also check scale names, duplicate columns and ``min_answered`` before any scoring.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.errors import (
    ArgumentError,
    ArgumentTypeError,
    MissingItemsError,
    ScoringError,
    UnknownScaleError,
)
from recoverystudy.quant.instruments import Instrument

__all__ = ["prepare_items"]

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _norm_text(value: Any) -> str:
    return str(value).strip().casefold()


def _item_columns(data: pd.DataFrame, inst: Instrument, items: Mapping[str, str] | Sequence[str] | None
                  ) -> dict[str, Any]:
    """Return ``{item_id: column}``; raise MissingItemsError naming every absent column."""
    ids = inst.item_ids
    if items is None:
        mapping = {i: i for i in ids}
    elif isinstance(items, Mapping):
        unknown = [k for k in items if k not in ids]
        if unknown:
            raise MissingItemsError(
                f"items= maps unknown item id(s) {', '.join(map(repr, unknown))}; {inst.id} items are "
                f"{ids[0]} ... {ids[-1]}.", missing=unknown)
        mapping = {i: items.get(i, i) for i in ids}
    else:
        cols = list(items)
        if len(cols) != len(ids):
            raise MissingItemsError(
                f"items= lists {len(cols)} columns but {inst.short_title} has {len(ids)} items; give them in form "
                "order or as a mapping {item_id: column}.", missing=[])
        mapping = dict(zip(ids, cols, strict=True))
    odd = {i: c for i, c in mapping.items() if not isinstance(c, str | int) or isinstance(c, bool)}
    if odd:
        raise ArgumentTypeError(f"items= must give column names; got {', '.join(f'{i}: {c!r}' for i, c in odd.items())}.",
                                argument="items")
    by_column: dict[Any, list[str]] = {}
    for item, col in mapping.items():
        by_column.setdefault(col, []).append(item)
    shared = {col: its for col, its in by_column.items() if len(its) > 1}
    if shared:
        shown = "; ".join(f"column {col!r} for items {', '.join(its)}" for col, its in list(shared.items())[:5])
        raise ScoringError(f"items= gives the same column to more than one item ({shown}); each item needs its "
                           "own column.", columns=list(shared))
    missing = [c for c in mapping.values() if c not in data.columns]
    if missing:
        shown = ", ".join(map(repr, missing[:12])) + (" ..." if len(missing) > 12 else "")
        raise MissingItemsError(
            f"The data lack {len(missing)} of the {len(ids)} {inst.short_title} item columns: {shown}. "
            "Rename the columns to the item ids, or pass items={item_id: column} (see rs.load_instrument"
            f"({inst.id!r}).item_ids).", missing=missing, instrument=inst.id)
    return mapping


def prepare_items(data: pd.DataFrame, inst: Instrument, mapping: Mapping[str, Any], respondents: pd.Index
                  ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Turn item columns into a float array with non-answers and invalid values as NaN.

    Returns ``(values, nonanswer_mask, problems)``; *problems* lists invalid values
    (respondent, item, value) and is empty when there are none. No reverse keys are applied.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> wai = rs.load_instrument("wai-sr")
    >>> df = pd.DataFrame({i: [1, 99] for i in wai.item_ids})
    >>> x, na, bad = prepare_items(df, wai, {i: i for i in wai.item_ids}, df.index)
    >>> x[:, 0].tolist(), na[:, 0].tolist(), len(bad)
    ([1.0, nan], [False, True], 0)
    """
    n, k = len(data), len(mapping)
    # column-major: every item is one contiguous vector, and scales are summed item by item
    values = np.empty((n, k), dtype=float, order="F")
    nonans = np.zeros((n, k), dtype=bool, order="F")
    lo, hi = inst.response_min, inst.response_max
    num_codes = np.array([c for c in inst.non_answer if isinstance(c, int | float)], dtype=float)
    text_codes = {_norm_text(c) for c in inst.non_answer if isinstance(c, str)}
    buf = np.empty(n, dtype=float)  # scratch buffers reused for every item (no per-item allocation)
    frac = np.empty(n, dtype=bool)
    notnan = np.empty(n, dtype=bool)
    bad_parts = []
    for j, (item, col) in enumerate(mapping.items()):
        s = data[col]
        out = values[:, j]
        invalid = None
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[:] = s.to_numpy(dtype=float, na_value=np.nan)
            integer_dtype = pd.api.types.is_integer_dtype(s)
        else:
            # the distinct values are classified once (codes, range, fractions), then mapped to every cell by
            # their codes: three array lookups per item, nothing per cell in Python
            codes, levels = _factorize(s)
            lv, lna, lbad = _classify_levels(levels, text_codes, num_codes, lo, hi)
            np.take(lv, codes, out=out, mode="wrap")  # code -1 (missing) takes the last slot
            if lna.any():
                np.take(lna, codes, out=nonans[:, j], mode="wrap")
            if lbad.any():
                invalid = np.take(lbad, codes, mode="wrap")
            integer_dtype = None  # already checked on the distinct values
        if n and integer_dtype is not None:
            vmin, vmax = np.fmin.reduce(out), np.fmax.reduce(out)
            if vmin < lo or vmax > hi:  # only then look for numeric codes and out-of-range values
                if num_codes.size:
                    code_na = np.isin(out, num_codes)
                    out[code_na] = np.nan
                    nonans[:, j] |= code_na
                outside = (out < lo) | (out > hi)
                invalid = outside if invalid is None else invalid | outside
            if not integer_dtype:  # fractional answers such as 2.5 are invalid
                np.rint(out, out=buf)
                np.not_equal(buf, out, out=frac)
                np.equal(out, out, out=notnan)
                frac &= notnan
                if frac.any():
                    invalid = frac.copy() if invalid is None else invalid | frac
        if invalid is not None and invalid.any():
            rows = np.flatnonzero(invalid)
            bad_parts.append(pd.DataFrame({"respondent": respondents[rows], "item": item,
                                           "column": col, "value": s.iloc[rows].to_numpy(dtype=object)}))
            out[invalid] = np.nan
    problems = (pd.concat(bad_parts, ignore_index=True) if bad_parts
                else pd.DataFrame(columns=["respondent", "item", "column", "value"]))
    return values, nonans, problems


def _factorize(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (missing = -1) and distinct values of a non-numeric column, without per-cell Python."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return np.asarray(s.cat.codes, dtype=np.intp), np.asarray(s.cat.categories, dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object)


def _classify_levels(levels: np.ndarray, text_codes: set[str], num_codes: np.ndarray, lo: float, hi: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct value (and a last slot for missing, code -1): number, is-non-answer, is-invalid.

    A number is an answer when it is a whole number in ``lo..hi``, a non-answer when it is a numeric code,
    otherwise invalid; text is a non-answer code (any case, surrounding spaces ignored), empty (missing), a
    number as above, or invalid.
    """
    k = len(levels)
    vals = np.full(k + 1, np.nan)
    nonans = np.zeros(k + 1, dtype=bool)
    bad = np.zeros(k + 1, dtype=bool)
    for i, v in enumerate(levels):
        if isinstance(v, str):
            t = v.strip()
            if not t:
                continue  # an empty cell: not answered, not a non-answer code
            if t.casefold() in text_codes:
                nonans[i] = True
            elif _NUMBER.match(t):
                vals[i] = float(t)
            else:
                bad[i] = True
        elif isinstance(v, bool | np.bool_):
            bad[i] = True  # True/False is not an answer on a rating scale
        elif isinstance(v, int | float | np.integer | np.floating):
            vals[i] = float(v)  # NaN stays missing
        elif v is None or v is pd.NA or v is pd.NaT:
            continue
        else:
            bad[i] = True
    code = np.isin(vals, num_codes) if num_codes.size else np.zeros(k + 1, dtype=bool)
    nonans |= code
    with np.errstate(invalid="ignore"):
        wrong = ~code & ~np.isnan(vals) & ((vals < lo) | (vals > hi) | (vals != np.rint(vals)))
    bad |= wrong
    vals[code | bad] = np.nan
    return vals, nonans, bad


def _check_scale_names(inst: Instrument, scales: Any, min_answered: Any) -> None:
    """Refuse scale names that are not scales of the instrument (a typo would otherwise be ignored)."""
    valid = ", ".join(map(repr, inst.scales))
    if scales is not None:
        if not isinstance(scales, Sequence) or not all(isinstance(x, str) for x in scales):
            raise ArgumentTypeError(f"scales must be a list of scale names ({valid}); got {scales!r}.",
                                    argument="scales")
        unknown = [x for x in scales if x not in inst.scales]
        if unknown:
            raise UnknownScaleError(f"{inst.short_title} has no scale(s) {', '.join(map(repr, unknown))} (scales=); "
                                    f"its scales are {valid}.", unknown=unknown, valid=list(inst.scales))
    if isinstance(min_answered, Mapping):
        unknown = [x for x in min_answered if x not in inst.scales]
        if unknown:
            raise UnknownScaleError(f"min_answered names {', '.join(map(repr, unknown))}, which {'is not a scale' if len(unknown) == 1 else 'are not scales'} "
                                    f"of {inst.short_title}; its scales are {valid}.", unknown=unknown,
                                    valid=list(inst.scales))


def _refuse_duplicate_columns(data: pd.DataFrame, columns: list[Any], what: str) -> None:
    if data.columns.has_duplicates:
        dup = [c for c in dict.fromkeys(columns) if (data.columns == c).sum() > 1]
        if dup:
            raise ScoringError(f"The data have more than one column named {', '.join(map(repr, dup))} ({what}); "
                               "rename them so that it is clear which one to use.", columns=dup)


def _resolve_min_answered(min_answered: Any, scale_id: str, size: int, default: int | None) -> tuple[int, str]:
    """Return (items needed, source) for one scale."""
    if min_answered is None:
        return (default if default is not None else math.ceil(size / 2)), "instrument"
    if isinstance(min_answered, Mapping):
        if scale_id not in min_answered:
            return (default if default is not None else math.ceil(size / 2)), "instrument"
        min_answered = min_answered[scale_id]
    if isinstance(min_answered, bool) or not isinstance(min_answered, int | float):
        raise ArgumentError(f"min_answered must be a whole number of items, a proportion in (0, 1], or a mapping "
                         f"{{scale: value}}; got {min_answered!r}.")
    if isinstance(min_answered, float):  # a proportion of the scale's items
        if not 0 < min_answered <= 1:
            raise ArgumentError(f"min_answered as a proportion must be in (0, 1]; got {min_answered!r}.")
        return math.ceil(min_answered * size - 1e-9), "user"
    m = int(min_answered)
    if not 1 <= m <= size:
        raise ArgumentError(f"min_answered for scale {scale_id!r} must be between 1 and its {size} items; got {m}. "
                         "A single number applies to every scale; give one per scale as a mapping, e.g. "
                         f"min_answered={{{scale_id!r}: {max(1, min(m, size))}, ...}}, or a proportion such as 0.75 "
                         "for all scales.")
    return m, "user"
