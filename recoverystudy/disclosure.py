"""Small-number suppression (statistical disclosure control) for count tables.

Primary suppression hides every count from 1 to ``threshold - 1`` (zeros are shown unless asked
otherwise).  Secondary suppression then hides further cells until no suppressed count can be worked
out from the published row and column totals: first the classic rule (no row or column may contain
exactly one suppressed cell), then an exact check by linear algebra (a suppressed cell is
recoverable if its unit vector lies in the row space of the total equations).

The rule is not a national standard: thresholds of 3 to 10 are used in UK practice and NHS Digital's
current sub-national count rule is not established (``shared/reference/care-plan-audit.md`` s.3).
The default of 5 follows common practice (suppress 1-4); choose the threshold your organisation's
policy requires and state it (every result carries the rule in plain words).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recoverystudy.results import Result, base_provenance

__all__ = ["TOTAL", "SuppressedTable", "suppress_small_counts", "suppression_rule"]

TOTAL = "Total"


def suppression_rule(threshold: int, *, suppress_zeros: bool = False, margins: bool = True) -> str:
    """Describe the suppression rule in plain words (for reports).

    Examples
    --------
    >>> suppression_rule(5)[:60]
    'Counts from 1 to 4 are suppressed (shown as *). Further cell'
    """
    low = 0 if suppress_zeros else 1
    text = f"Counts from {low} to {threshold - 1} are suppressed (shown as *)."
    if margins:
        text += (
            " Further cells are suppressed where needed so that no hidden count can be worked out from"
            " the row and column totals (secondary suppression, checked exactly by linear algebra)."
            " Percentages and confidence intervals are hidden wherever a count they rest on is hidden."
        )
    return text


@dataclass(frozen=True)
class SuppressedTable(Result):
    """A count table after small-number suppression.

    Attributes
    ----------
    counts : pandas.DataFrame
        The original counts, with ``Total`` row and column when margins are published.
    table : pandas.DataFrame
        The publishable table: nullable integers, suppressed cells are ``<NA>``.
    suppressed : pandas.DataFrame
        Boolean mask of every suppressed cell (primary or secondary).
    primary : pandas.DataFrame
        Boolean mask of the cells suppressed because they are small.
    threshold : int
    rule : str
        The rule in plain words.
    provenance : dict
    """

    counts: pd.DataFrame
    table: pd.DataFrame
    suppressed: pd.DataFrame
    primary: pd.DataFrame
    threshold: int
    rule: str
    provenance: dict = field(default_factory=dict, compare=False)

    @property
    def n_suppressed(self) -> int:
        return int(self.suppressed.to_numpy().sum())

    def display(self, marker: str = "*") -> pd.DataFrame:
        """The table as text with *marker* in suppressed cells (for printing only)."""
        shown = self.counts.astype("int64").astype(str)
        return shown.mask(self.suppressed, marker)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        n_primary = int(self.primary.to_numpy().sum())
        return (
            f"{self.n_suppressed} of {self.counts.size} cells suppressed "
            f"({n_primary} small, {self.n_suppressed - n_primary} to protect them). {self.rule}"
        )


def _check_counts(table: pd.DataFrame) -> np.ndarray:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame of counts; got {type(table).__name__}.")
    values = table.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"table must hold non-negative whole counts; row {table.index[i]!r}, column "
            f"{table.columns[j]!r} holds {table.iat[i, j]!r}."
        )
    return values.astype(np.int64)


def _lines(shape: tuple[int, int], margins: bool) -> list[list[tuple[int, int]]]:
    """Each published equation as the list of its cells (inner cells then the total)."""
    if not margins:
        return []
    nr, nc = shape  # full shape including the margins
    lines = [[(i, j) for j in range(nc)] for i in range(nr)]
    lines += [[(i, j) for i in range(nr)] for j in range(nc)]
    return lines


def _determined(mask: np.ndarray, lines: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    """Suppressed cells whose value follows exactly from the published totals."""
    cells = [tuple(c) for c in np.argwhere(mask)]
    if not cells or not lines:
        return []
    index = {c: k for k, c in enumerate(cells)}
    rows = []
    for line in lines:
        coeff = np.zeros(len(cells))
        # equation: sum(inner) - total = 0; the sign is irrelevant for the row space
        for pos, cell in enumerate(line):
            if cell in index:
                coeff[index[cell]] = -1.0 if pos == len(line) - 1 else 1.0
        if coeff.any():
            rows.append(coeff)
    if not rows:
        return cells  # pragma: no cover - a suppressed cell always lies on some line
    a = np.vstack(rows)
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
    basis = vt[:rank]
    proj_diag = (basis**2).sum(axis=0)
    return [cells[k] for k in np.flatnonzero(proj_diag > 1 - 1e-9)]


def _secondary(
    values: np.ndarray, mask: np.ndarray, margins: bool, keep_cols: frozenset = frozenset()
) -> np.ndarray:
    mask = mask.copy()
    lines = _lines(values.shape, margins)
    if not lines:
        return mask

    def pick(line: list[tuple[int, int]]) -> bool:
        candidates = [c for c in line if not mask[c]]
        if not candidates:
            return False
        # prefer the smallest non-zero inner cell, then zeros, then the line total
        inner = candidates[:-1] if candidates[-1] == line[-1] else candidates
        pool = [c for c in inner if values[c] > 0] or inner or candidates
        choice = min(pool, key=lambda c: (c[1] in keep_cols, values[c], c))
        mask[choice] = True
        return True

    for _ in range(values.size + 1):
        changed = False
        for line in lines:
            if sum(mask[c] for c in line) == 1:
                changed |= pick(line)
        if changed:
            continue
        exposed = _determined(mask, lines)
        if not exposed:
            break
        cell = exposed[0]
        for line in lines:
            if cell in line and pick(line):
                changed = True
                break
        if not changed:  # pragma: no cover - every line full: nothing left to hide
            break
    return mask


def suppress_small_counts(
    table: pd.DataFrame,
    threshold: int = 5,
    *,
    margins: bool = True,
    suppress_zeros: bool = False,
    force: pd.DataFrame | np.ndarray | None = None,
    keep: tuple = (),
) -> SuppressedTable:
    """Suppress small counts in a table, with secondary suppression protecting the totals.

    Parameters
    ----------
    table : pandas.DataFrame
        Counts (non-negative whole numbers), rows for example teams and columns ratings.  Do not
        include totals: they are added when *margins* is True.
    threshold : int, default=5
        Counts from 1 to ``threshold - 1`` are suppressed (and 0 too if *suppress_zeros*).
    margins : bool, default=True
        Row and column totals (and the grand total) are published; secondary suppression makes
        sure they cannot reveal a suppressed cell.  Small totals are themselves suppressed.
    suppress_zeros : bool, default=False
        Also suppress zero counts.
    force : DataFrame or array of bool, optional
        Cells (same shape as the table *with* margins) that must be suppressed anyway, e.g. to keep
        several tables that share totals consistent.
    keep : tuple of column names, default=()
        Columns to spare where there is a choice: secondary suppression takes cells from other
        columns first (e.g. keep the "met" counts that compliance rests on).

    Returns
    -------
    SuppressedTable
        ``.table`` (nullable integers, suppressed = ``<NA>``), ``.suppressed``, ``.primary``,
        ``.counts``, ``.rule`` and ``.display()``.

    Raises
    ------
    ValueError
        If the table holds negative, fractional or missing counts, or threshold < 1.

    Notes
    -----
    Secondary suppression first applies the rule "no row or column with exactly one suppressed
    cell" (choosing the smallest non-zero cell), then checks exactly, by the rank of the total
    equations, that no suppressed cell is determined; any such cell triggers another suppression.
    Bounds from non-negativity (interval disclosure) are not modelled.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"met": [12, 3, 9], "not met": [8, 7, 6]}, index=["A", "B", "C"])
    >>> s = suppress_small_counts(t)
    >>> s.display()
          met not met Total
    A      12       8    20
    B       *       *    10
    C       *       *    15
    Total  24      21    45
    """
    if not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(f"threshold must be a whole number of at least 1; got {threshold!r}.")
    values = _check_counts(table)
    if margins:
        full = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.int64)
        full[:-1, :-1] = values
        full[:-1, -1] = values.sum(axis=1)
        full[-1, :-1] = values.sum(axis=0)
        full[-1, -1] = values.sum()
        index = list(table.index) + [TOTAL]
        columns = list(table.columns) + [TOTAL]
    else:
        full = values
        index, columns = list(table.index), list(table.columns)
    low = 0 if suppress_zeros else 1
    primary = (full >= low) & (full < threshold)
    mask = primary.copy()
    if force is not None:
        forced = np.asarray(force, dtype=bool)
        if forced.shape != full.shape:
            raise ValueError(
                f"force must have shape {full.shape} (the table with its totals); got {forced.shape}."
            )
        mask |= forced
    keep_cols = frozenset(k for k, col in enumerate(columns) if col in set(keep))
    mask = _secondary(full, mask, margins, keep_cols)
    counts = pd.DataFrame(full, index=index, columns=columns)
    counts.index.name = table.index.name
    suppressed = pd.DataFrame(mask, index=index, columns=columns)
    published = counts.astype("Int64").mask(suppressed)
    rule = suppression_rule(int(threshold), suppress_zeros=suppress_zeros, margins=margins)
    prov = base_provenance(
        "small_number_suppression",
        threshold=int(threshold),
        suppress_zeros=suppress_zeros,
        margins=margins,
        rule=rule,
    )
    return SuppressedTable(
        counts=counts,
        table=published,
        suppressed=suppressed,
        primary=pd.DataFrame(primary, index=index, columns=columns),
        threshold=int(threshold),
        rule=rule,
        provenance=prov,
    )


def suppress_linked(
    tables: Mapping[str, pd.DataFrame], threshold: int = 5, *, suppress_zeros: bool = False, keep: tuple = ()
) -> dict[str, SuppressedTable]:
    """Suppress several tables that share their row totals (e.g. one table per audit criterion).

    A row total hidden in one table is hidden in all of them, repeating until nothing changes,
    so that a total shown in one table cannot undo the protection in another.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"yes": [10, 12], "no": [10, 3]}, index=["A", "B"])
    >>> b = pd.DataFrame({"yes": [15, 8], "no": [5, 7]}, index=["A", "B"])
    >>> out = suppress_linked({"a": a, "b": b})
    >>> bool(out["b"].suppressed.loc["B", "Total"]) == bool(out["a"].suppressed.loc["B", "Total"])
    True
    """
    results: dict[str, SuppressedTable] = {}
    shared: np.ndarray | None = None
    for _ in range(50):
        results = {}
        for name, tab in tables.items():
            force = None
            if shared is not None:
                force = np.zeros((tab.shape[0] + 1, tab.shape[1] + 1), dtype=bool)
                force[:, -1] = shared
            results[name] = suppress_small_counts(
                tab, threshold, suppress_zeros=suppress_zeros, force=force, keep=keep
            )
        union = (
            np.zeros(next(iter(tables.values())).shape[0] + 1, dtype=bool) if tables else np.zeros(0, bool)
        )
        for res in results.values():
            union |= res.suppressed.iloc[:, -1].to_numpy()
        if shared is not None and np.array_equal(union, shared):
            break
        shared = union
    return results
