"""Joint protection check for several suppressed tables that share their row totals.

Tables such as "one compliance table per audit criterion" share their row totals: every plan of a team
is rated on every criterion, so a team's number of plans is the same unknown in every table.  Each
table on its own may protect its hidden cells, yet together they can pin one: every table gives a lower
bound on the hidden team total (its published cells plus one per hidden cell, since zeros are shown),
the largest of these can meet the upper bound left by the grand total, and the total - then every
hidden count resting on it - is known.  :func:`joint_exposed` finds such cells by linear programming
over all tables at once (the shared totals as single unknowns); :func:`repair_choice` says which
further cell to hide.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = ["joint_exposed", "cycle_moves", "repair_choice"]


def cycle_moves(values: np.ndarray, mask: np.ndarray, low: int, *, total_column: bool = True) -> np.ndarray:
    """Hidden cells proven protected without linear programming: a unit move round a cycle of hidden cells.

    *values* is a full table whose last row and last column are the totals, *mask* its hidden cells.
    Such a table is a flow network: source -> row i (the row total), row i -> column j (the inner
    cell), column j -> sink (the column total), sink -> source (the grand total), and every published
    row and column equation is conservation of flow at a node.  Adding one unit round a cycle of hidden
    cells (a cell crossed against its direction loses one) keeps every equation; if every cell that
    loses one stays within its bound (hidden counts at least *low*, or 0 for one whose true count is
    below *low*), the result is a whole-number table consistent with everything published in which the
    cell differs from its true count, so the cell is protected.  Each hidden cell is tested both ways
    (a breadth-first search for the way back).  A sufficient proof only (cells not proven here are
    left to the linear programs).  With ``total_column=False`` the last column is held fixed (when
    those totals are shared with other tables).
    """
    nr, nc = mask.shape
    src, sink = (nr - 1) + (nc - 1), (nr - 1) + (nc - 1) + 1

    def ends(i: int, j: int) -> tuple[int, int]:
        if i < nr - 1:
            return (i, nr - 1 + j) if j < nc - 1 else (src, i)
        return (nr - 1 + j, sink) if j < nc - 1 else (sink, src)

    cells = [(int(i), int(j)) for i, j in np.argwhere(mask) if total_column or j < nc - 1]
    spare = [values[c] - (0 if values[c] < low else low) >= 1 for c in cells]
    arcs: list[list[tuple[int, int]]] = [[] for _ in range(sink + 1)]     # node -> [(next node, cell)]
    for e, cell in enumerate(cells):
        u, v = ends(*cell)
        arcs[u].append((v, e))            # one more in this cell
        if spare[e]:
            arcs[v].append((u, e))        # one fewer in this cell

    def reach(start: int, goal: int, skip: int) -> bool:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            for nxt, e in arcs[node]:
                if e != skip and nxt not in seen:
                    if nxt == goal:
                        return True
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    moved = np.zeros(mask.shape, dtype=bool)
    for e, cell in enumerate(cells):
        u, v = ends(*cell)
        moved[cell] = reach(v, u, e) or (spare[e] and reach(u, v, e))
    return moved


def _system(values: list[np.ndarray], masks: list[np.ndarray], low: int):
    """Variables: every hidden inner cell and column total of each table, plus one shared unknown per
    hidden row total (the last column).  Equations: each row and column of each table."""
    index: dict = {}
    truth: list[float] = []
    lb: list[float] = []

    def var(key, true):
        if key not in index:
            index[key] = len(truth)
            truth.append(float(true))
            lb.append(0.0 if true < low else float(low))
        return index[key]

    rows, cols, data, rhs = [], [], [], []
    r = 0
    for t, (v, m) in enumerate(zip(values, masks)):
        nr, nc = v.shape

        def key(i, j, t=t, nc=nc):
            return ("row_total", i) if j == nc - 1 else (t, i, j)

        lines = [[(i, j) for j in range(nc)] for i in range(nr)] + [[(i, j) for i in range(nr)] for j in range(nc)]
        for line in lines:
            const, hit = 0.0, False
            for pos, (i, j) in enumerate(line):
                coef = -1.0 if pos == len(line) - 1 else 1.0
                if m[i, j]:
                    rows.append(r)
                    cols.append(var(key(i, j), v[i, j]))
                    data.append(coef)
                    hit = True
                else:
                    const += coef * float(v[i, j])
            if hit:
                rhs.append(-const)
                r += 1
    a = sp.csr_matrix((data, (rows, cols)), shape=(r, len(truth)))
    return index, np.array(truth), np.array(lb), a, np.array(rhs)


def joint_exposed(values: list[np.ndarray], masks: list[np.ndarray], sensitive: list[np.ndarray], low: int = 1):
    """``(table, i, j)`` of sensitive hidden cells whose value is pinned by all tables together.

    *values* are the full tables (with margins; the last column the shared row totals), *masks* the
    hidden cells, *sensitive* the cells that must keep at least two feasible whole values.
    """
    index, truth, lb, a, b = _system(values, masks, low)
    if not len(truth):
        return []
    todo = {}
    for t, (m, s) in enumerate(zip(masks, sensitive)):
        nc = m.shape[1]
        for i, j in np.argwhere(m & s):
            k = index[("row_total", int(i)) if j == nc - 1 else (t, int(i), int(j))]
            todo.setdefault(k, []).append((t, int(i), int(j)))
    open_ = set(todo)
    for t, (v, m) in enumerate(zip(values, masks)):   # proofs without linear programming first
        for i, j in np.argwhere(cycle_moves(v, m, low, total_column=False)):
            open_.discard(index[(t, int(i), int(j))])
    if not open_:
        return []
    bounds = np.column_stack([lb, np.full(len(truth), np.inf)])

    def solve(c):
        res = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        return res

    def absorb(x):
        for k in [k for k in open_ if abs(x[k] - truth[k]) > 0.5]:
            open_.discard(k)

    for sign in (-1.0, 1.0):
        c = np.zeros(len(truth))
        c[list(open_)] = sign
        res = solve(c)
        if res.status == 0:
            absorb(res.x)
    for k in sorted(todo):
        for sign in (-1.0, 1.0):
            if k not in open_:
                break
            c = np.zeros(len(truth))
            c[k] = sign
            res = solve(c)
            if res.status == 3:
                open_.discard(k)
            elif res.status == 0:
                absorb(res.x)
    return [cell for k in sorted(open_) for cell in todo[k]]


def _row_choice(values, masks, row, low):
    best = None
    for t, (v, m) in enumerate(zip(values, masks)):
        inner_v, inner_m = v[row, :-1], m[row, :-1]
        candidates = np.flatnonzero(~inner_m & (inner_v > 0))
        if not len(candidates):
            continue
        bound = float(inner_v[~inner_m].sum() + np.minimum(inner_v[inner_m], low).sum())
        j = int(candidates[np.argmax(inner_v[candidates])])
        if best is None or bound > best[0]:
            best = (bound, t, j)
    return best


def repair_choice(values: list[np.ndarray], masks: list[np.ndarray], row: int, low: int = 1, cell=None):
    """Which published cell to hide next to loosen a pinned shared total of *row*: in the table whose
    row gives the tightest lower bound on the total (published cells plus the known minimum of the
    hidden ones), its largest published non-zero inner cell.  When that row has nothing left to
    hide, the pin comes through the grand total and the other hidden totals' lower bounds: the same
    choice over every other row whose total is hidden.  When no row has anything left, a column
    total of the exposed *cell*'s table (its own column first).  ``(table, row, column)`` or None."""
    best = _row_choice(values, masks, row, low)
    if best is not None:
        return best[1], row, best[2]
    n_rows = values[0].shape[0] - 1
    others = []
    for r in range(n_rows):
        if r != row and any(m[r, -1] for m in masks):
            choice = _row_choice(values, masks, r, low)
            if choice is not None:
                others.append((choice[0], choice[1], r, choice[2]))
    if others:
        _, t, r, j = max(others)
        return t, r, j
    if cell is not None:
        t, _i, j = cell
        m, v = masks[t], values[t]
        cols = [j] + [c for c in range(m.shape[1] - 1) if c != j]
        for c in cols:
            if c < m.shape[1] - 1 and not m[-1, c] and v[-1, c] > 0:
                return t, m.shape[0] - 1, c
    return None
