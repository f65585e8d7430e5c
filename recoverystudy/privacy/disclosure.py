"""Small-number suppression (statistical disclosure control) for count tables.

Primary suppression hides every count from 1 to ``threshold - 1`` (zeros are shown unless asked
otherwise).  Secondary suppression then hides further cells until no suppressed count can be worked
out from the published row and column totals: first the classic rule (no row or column may contain
exactly one suppressed cell), then an exact check by linear algebra (a suppressed cell is
recoverable if its unit vector lies in the row space of the total equations), then a bound-aware
check by linear programming.  Because zeros are published, a reader knows every hidden count is at
least 1 (at least 0 when zeros are suppressed too); with those bounds a hidden count can be pinned
even when the totals alone do not determine it (a row of total 9 showing 7 and 0 with two hidden
cells: both are 1).  For every cell hidden because it is small (or forced), the smallest and largest
values consistent with everything published and these bounds are found (``scipy.optimize.linprog``,
HiGHS; the table constraints are totally unimodular, so the LP bounds are the integer bounds), and
the feasible range must contain at least one value other than the true one.  While a cell fails,
further cells are suppressed.

The rule is not a national standard: thresholds of 3 to 10 are used in UK practice and NHS Digital's
current sub-national count rule is not established (``shared/reference/care-plan-audit.md`` s.3).
The default of 5 follows common practice (suppress 1-4); choose the threshold your organisation's
policy requires and state it (every result carries the rule in plain words).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import scipy.sparse as sp
from scipy.optimize import linprog

import numpy as np
import pandas as pd

from recoverystudy.privacy._linked import joint_exposed, cycle_moves, repair_choice
from recoverystudy.results import Result, base_provenance

__all__ = ["TOTAL", "SuppressedTable", "suppress_linked", "suppress_small_counts", "suppression_rule"]

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
        shown = (
            "every hidden count is known to be at least 0"
            if suppress_zeros
            else "zeros are shown, so every hidden count is known to be at least 1"
        )
        text += (
            " Further cells are suppressed where needed so that no hidden count can be worked out, or"
            " narrowed to a single value, from the row and column totals and the published counts"
            f" (secondary suppression; the check accounts for published zeros and the known bounds:"
            f" {shown}; checked exactly by linear algebra and linear programming)."
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
        text = (
            f"{self.n_suppressed} of {self.counts.size} cells suppressed "
            f"({n_primary} small, {self.n_suppressed - n_primary} to protect them). {self.rule}"
        )
        notes = self.provenance.get("notes") or []
        return " ".join([text, *notes])


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


def _line_eqs(
    values: np.ndarray, mask: np.ndarray, lines: list[list[tuple[int, int]]]
) -> tuple[list[tuple[int, int]], sp.csr_matrix, np.ndarray]:
    """The published equations over the suppressed cells: ``A x = b`` (published cells moved to b)."""
    cells = [tuple(int(v) for v in c) for c in np.argwhere(mask)]
    index = {c: k for k, c in enumerate(cells)}
    rows, cols, data, rhs = [], [], [], []
    r = 0
    for line in lines:
        const = 0.0
        hit = False
        for pos, cell in enumerate(line):
            coef = -1.0 if pos == len(line) - 1 else 1.0
            if cell in index:
                rows.append(r)
                cols.append(index[cell])
                data.append(coef)
                hit = True
            else:
                const += coef * float(values[cell])
        if hit:
            rhs.append(-const)
            r += 1
    a = sp.csr_matrix((data, (rows, cols)), shape=(r, len(cells)))
    return cells, a, np.asarray(rhs, dtype=float)


def _unprotected(
    values: np.ndarray,
    mask: np.ndarray,
    lines: list[list[tuple[int, int]]],
    sensitive: np.ndarray,
    low: int,
    protected: set | None = None,
    only: tuple[int, int] | None = None,
) -> list[tuple[int, int]]:
    """Sensitive suppressed cells whose feasible range, given everything published, is one value.

    The feasible range of a hidden cell is found by minimising and maximising it over all tables
    that agree with the published cells and totals, with every hidden cell at least *low* (a
    reader knows this when zeros are published; a hidden cell whose true count is below *low*,
    which only a forced cell can be, gets 0).  A cell is protected when the range holds a whole
    number other than the true count.  Every LP solution found is a feasible table, so each one
    also protects every other cell whose value differs in it; cells found protected are added to
    *protected* (protection only grows as more cells are suppressed).  With *only*, just that cell
    is checked.
    """
    protected = set() if protected is None else protected
    cells, a, b = _line_eqs(values, mask, lines)
    if not cells:
        return []
    truth = np.array([float(values[c]) for c in cells])
    lb = np.where(truth < low, 0.0, float(low))
    bounds = np.column_stack([lb, np.full(len(cells), np.inf)])
    todo = [
        k
        for k, c in enumerate(cells)
        if (c == only if only is not None else sensitive[c]) and c not in protected
    ]
    if not todo:
        return []
    if a.shape[0] == 0:  # nothing published constrains the hidden cells: unbounded above
        protected.update(cells[k] for k in todo)
        return []
    open_ = set(todo)
    # proofs without linear programming first: a unit move round a cycle of hidden cells
    movable = cycle_moves(values, mask, low)
    for k in [k for k in open_ if movable[cells[k]]]:
        open_.discard(k)
        protected.add(cells[k])
    if not open_:
        return []

    def absorb(x: np.ndarray) -> None:
        moved = [k for k in open_ if abs(x[k] - truth[k]) > 0.5]
        for k in moved:
            open_.discard(k)
            protected.add(cells[k])

    def solve(c: np.ndarray) -> tuple[int, np.ndarray | None]:
        res = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        return res.status, (res.x if res.status == 0 else None)

    # one cheap pass moving all open cells at once, up then down
    for sign in (-1.0, 1.0):
        c = np.zeros(len(cells))
        c[list(open_)] = sign
        status, x = solve(c)
        if x is not None:
            absorb(x)
    exposed = []
    for k in todo:
        if k not in open_:
            continue
        for sign in (-1.0, 1.0):  # maximise, then minimise
            if k not in open_:
                break
            c = np.zeros(len(cells))
            c[k] = sign
            status, x = solve(c)
            if status == 3:  # unbounded above: protected
                open_.discard(k)
                protected.add(cells[k])
            elif x is not None:
                absorb(x)
        if k in open_:
            exposed.append(cells[k])
    return exposed


def _secondary(
    values: np.ndarray,
    mask: np.ndarray,
    margins: bool,
    keep_cols: frozenset = frozenset(),
    sensitive: np.ndarray | None = None,
    low: int = 1,
    notes: list[str] | None = None,
    labels: tuple[list, list] | None = None,
    max_trials: int = 12,
) -> np.ndarray:
    mask = mask.copy()
    notes = [] if notes is None else notes
    lines = _lines(values.shape, margins)
    if not lines:
        return mask
    if sensitive is None:
        sensitive = mask.copy()
    nr, nc = values.shape

    def cross(cell: tuple[int, int], line: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The other line through *cell* (the column if *line* is its row, and vice versa)."""
        i, j = cell
        row, col = lines[i], lines[nr + j]
        return col if line is row else row

    def pick(m: np.ndarray, line: list[tuple[int, int]]) -> bool:
        candidates = [c for c in line if not m[c]]
        if not candidates:
            return False
        # prefer the smallest non-zero inner cell, then a non-zero total, then zeros (a hidden zero
        # would break the published "hidden counts are at least 1" bound when zeros are shown)
        inner = candidates[:-1] if candidates[-1] == line[-1] else candidates
        pool = (
            [c for c in inner if values[c] > 0]
            or [c for c in candidates if values[c] > 0]
            or inner
            or candidates
        )
        choice = min(pool, key=lambda c: (c[1] in keep_cols, values[c], c))
        m[choice] = True
        return True

    def close(m: np.ndarray) -> np.ndarray:
        """The classic rule and the exact linear-algebra check, repeated until both pass."""
        m = m.copy()
        for _ in range(values.size + 1):
            changed = False
            for line in lines:
                if sum(m[c] for c in line) == 1:
                    changed |= pick(m, line)
            if changed:
                continue
            exposed = _determined(m, lines)
            if not exposed:
                break
            cell = exposed[0]
            through = [line for line in lines if cell in line]
            # a line with a non-zero cell left first (hiding a published-style zero breaks the bound)
            through.sort(key=lambda line: not any(not m[c] and values[c] > 0 for c in line))
            for line in through:
                if pick(m, line):
                    changed = True
                    break
            if not changed:  # pragma: no cover - every line full: nothing left to hide
                break
        return m

    def name(cell: tuple[int, int]) -> str:
        if labels is None:
            return str(cell)
        return f"({labels[0][cell[0]]!r}, {labels[1][cell[1]]!r})"

    protected: set = set()
    for _ in range(values.size + 1):
        mask = close(mask)
        exposed = _unprotected(values, mask, lines, sensitive, low, protected)
        if not exposed:
            break
        cell = exposed[0]
        own = [lines[cell[0]], lines[nr + cell[1]]]
        # its own row and column first; if they have nothing left to hide, every line that
        # already holds a hidden cell (the pin can come through other lines' bounds)
        stages = [own, [ln for ln in lines if any(mask[c] for c in ln) and ln not in own]]
        done = False
        for stage in stages:
            cands: dict[tuple[int, int], tuple] = {}
            for line in stage:
                for c in line:
                    if mask[c] or c in cands or values[c] < low:
                        continue  # a hidden zero would break the published bound when zeros are shown
                    other = cross(c, line)
                    helped = any(mask[o] for o in other if o != c)
                    cands[c] = (c == line[-1], c[1] in keep_cols, not helped, int(values[c]), c)
            if not cands:
                continue
            for c in sorted(cands, key=cands.get)[:max_trials]:
                trial = mask.copy()
                trial[c] = True
                trial = close(trial)
                if not _unprotected(values, trial, lines, sensitive, low, set(), only=cell):
                    mask = trial
                    done = True
                    break
            if done:
                break
            # no single further cell protects it: hide the rest of the line with fewest cells left
            left = [sum(not mask[c] and values[c] >= low for c in ln) for ln in stage]
            k = min((n, k) for k, n in enumerate(left) if n)[1]
            line = stage[k]
            for c in line:
                if not mask[c] and values[c] >= low:
                    mask[c] = True
            pos = lines.index(line)
            kind, at = ("row", pos) if pos < nr else ("column", pos - nr)
            label = labels[0 if kind == "row" else 1][at] if labels else at
            notes.append(
                f"No single further suppression protected cell {name(cell)}, so the rest of {kind} "
                f"{label!r} was suppressed."
            )
            done = True
            break
        if not done:  # pragma: no cover - nothing left to hide, yet still pinned
            notes.append(f"Cell {name(cell)} could not be protected by further suppression.")
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
    It then checks bounds (interval disclosure): a reader knows every hidden count is at least 1
    when zeros are published (at least 0 otherwise), which can pin a hidden count the totals alone
    do not determine.  For each cell hidden because it is small (or forced), the minimum and maximum
    consistent with everything published are found by linear programming (HiGHS; exact for these
    tables, whose constraints are totally unimodular), and the range must contain a whole number
    other than the true count.  While a cell fails, a further cell on its row or column is
    suppressed: the first, in this order, that protects it (after re-applying the rules above):
    non-zero before zero, inner cells before totals, *keep* columns last, cells whose other line
    already holds a hidden cell first, then the smallest count.  If none of these does, the rest
    of its row (or column, whichever has fewer cells left) is suppressed and
    ``provenance["notes"]`` (and ``summary()``) says so.  The primary cells are not also bounded
    above by ``threshold - 1``: a reader cannot in general tell a small cell from a protecting one,
    and with that bound a threshold of 2 could never be protected.

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
    notes: list[str] = []
    mask = _secondary(
        full, mask, margins, keep_cols, sensitive=mask.copy(), low=low, notes=notes, labels=(index, columns)
    )
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
        notes=notes,
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

    A row total hidden in one table is hidden in all of them, repeating until nothing changes, so
    that a total shown in one table cannot undo the protection in another.  Then all tables are
    checked *together* (linear programming over every table at once, the shared row totals as single
    unknowns): each table may bound a hidden row total from below (its published cells plus at
    least one per hidden cell), and together these bounds can pin it, and with it the hidden counts.
    While a small count is pinned so, the largest published count in the row that gives the
    tightest bound is hidden too (or, when that row has nothing left, in another row whose total is
    hidden), and the tables are suppressed again.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"yes": [10, 12], "no": [10, 3]}, index=["A", "B"])
    >>> b = pd.DataFrame({"yes": [15, 8], "no": [5, 7]}, index=["A", "B"])
    >>> out = suppress_linked({"a": a, "b": b})
    >>> bool(out["b"].suppressed.loc["B", "Total"]) == bool(out["a"].suppressed.loc["B", "Total"])
    True
    """
    names = list(tables)
    if not names:
        return {}
    low = 0 if suppress_zeros else 1
    extra = {name: np.zeros((tables[name].shape[0] + 1, tables[name].shape[1] + 1), dtype=bool) for name in names}
    results: dict[str, SuppressedTable] = {}
    cache: dict = {}
    notes: list[str] = []
    for _round in range(200):
        shared: np.ndarray | None = None
        for _ in range(50):
            results = {}
            for name in names:
                force = extra[name].copy()
                if shared is not None:
                    force[:, -1] |= shared
                key = (name, force.tobytes())
                if key not in cache:  # deterministic given the forced cells: recompute only what changed
                    cache[key] = suppress_small_counts(
                        tables[name], threshold, suppress_zeros=suppress_zeros, force=force, keep=keep
                    )
                results[name] = cache[key]
            union = np.zeros(tables[names[0]].shape[0] + 1, dtype=bool)
            for res in results.values():
                union |= res.suppressed.iloc[:, -1].to_numpy()
            if shared is not None and np.array_equal(union, shared):
                break
            shared = union
        values = [results[n].counts.to_numpy(dtype=float) for n in names]
        masks = [results[n].suppressed.to_numpy() for n in names]
        sensitive = [results[n].primary.to_numpy() for n in names]
        exposed = joint_exposed(values, masks, sensitive, low)
        if not exposed:
            break
        t, i, _j = exposed[0]
        choice = repair_choice(values, masks, i, low, cell=exposed[0])
        if choice is None:  # pragma: no cover - every cell of the row is hidden already
            notes.append(f"Cell in row {tables[names[t]].index[i]!r} of {names[t]!r} could not be protected.")
            break
        extra[names[choice[0]]][choice[1], choice[2]] = True
    if notes:
        for res in results.values():
            res.provenance.setdefault("notes", []).extend(notes)
    return results
