"""Small-number suppression with secondary suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.privacy.disclosure import suppress_linked


def _recoverable(counts: np.ndarray, mask: np.ndarray) -> list[tuple[int, int]]:
    """Independent check: a hidden cell is recoverable from the published row and column totals
    if every direction that keeps all totals fixed leaves it unchanged (scipy's null space of the
    equations over the hidden cells has a zero in that coordinate)."""
    from scipy.linalg import null_space

    hidden = [tuple(c) for c in np.argwhere(mask)]
    nr, nc = counts.shape
    lines = [[(i, j) for j in range(nc)] for i in range(nr)] + [
        [(i, j) for i in range(nr)] for j in range(nc)
    ]
    a = np.zeros((len(lines), len(hidden)))
    for r, line in enumerate(lines):
        for k, cell in enumerate(hidden):
            if cell in line:
                a[r, k] = -1.0 if cell == line[-1] else 1.0
    ns = null_space(a)
    return [cell for k, cell in enumerate(hidden) if ns.shape[1] == 0 or np.allclose(ns[k], 0, atol=1e-9)]


def test_hand_example():
    t = pd.DataFrame({"met": [12, 3, 9], "not met": [8, 7, 6]}, index=["A", "B", "C"])
    s = rs.suppress_small_counts(t)
    assert s.suppressed.to_numpy().tolist() == [
        [False, False, False],
        [True, True, False],
        [True, True, False],
        [False, False, False],
    ]
    assert s.primary.loc["B", "met"] and not s.primary.loc["C", "met"]
    assert pd.isna(s.table.loc["B", "met"]) and s.table.loc["Total", "Total"] == 45
    assert "1 to 4" in s.rule


@pytest.mark.parametrize("seed", range(8))
def test_no_hidden_cell_recoverable_random_tables(seed):
    rng = np.random.default_rng(seed)
    t = pd.DataFrame(rng.integers(0, 9, size=(3, 3)), columns=list("xyz"), index=list("abc"))
    s = rs.suppress_small_counts(t, threshold=3)
    counts = s.counts.to_numpy()
    mask = s.suppressed.to_numpy()
    small = (counts > 0) & (counts < 3)
    assert (mask | ~small).all()  # every small count is hidden
    assert _recoverable(counts, mask) == []


def test_zero_counts_shown_by_default_and_threshold_option():
    t = pd.DataFrame({"a": [0, 10], "b": [10, 10]}, index=["r1", "r2"])
    assert not rs.suppress_small_counts(t).suppressed.any().any()
    s = rs.suppress_small_counts(t, threshold=11)
    assert s.suppressed.loc["r2", "a"]


def test_bad_input():
    with pytest.raises(ValueError, match="row 'r1', column 'a'"):
        rs.suppress_small_counts(pd.DataFrame({"a": [-1]}, index=["r1"]))
    with pytest.raises(ValueError, match="threshold"):
        rs.suppress_small_counts(pd.DataFrame({"a": [1]}), threshold=0)


def test_linked_tables_share_hidden_totals():
    a = pd.DataFrame({"yes": [10, 2, 9], "no": [10, 9, 8]}, index=list("ABC"))
    b = pd.DataFrame({"yes": [15, 6, 9], "no": [5, 5, 8]}, index=list("ABC"))
    out = suppress_linked({"a": a, "b": b})
    ta = out["a"].suppressed["Total"]
    tb = out["b"].suppressed["Total"]
    assert ta.equals(tb)


def test_recoverability_check_detects_a_lone_hidden_cell():
    counts = np.array([[3, 7, 10], [9, 6, 15], [12, 13, 25]])
    mask = np.zeros_like(counts, dtype=bool)
    mask[0, 0] = True  # alone in its row: 10 - 7 reveals it
    assert _recoverable(counts, mask) == [(0, 0)]


def test_keep_column_spared_when_there_is_a_choice():
    t = pd.DataFrame({"met": [6, 7], "partly": [2, 9], "not": [8, 8]}, index=["A", "B"])
    plain = rs.suppress_small_counts(t)
    kept = rs.suppress_small_counts(t, keep=("met",))
    assert plain.suppressed.loc["A", "met"]  # the smallest complement in row A is met (6)
    assert not kept.suppressed.loc["A", "met"] and kept.suppressed.loc["A", "not"]
    assert _recoverable(kept.counts.to_numpy(), kept.suppressed.to_numpy()) == []


# --- bound-aware protection (interval disclosure) -------------------------------------------------


def _intervals(counts: np.ndarray, mask: np.ndarray, low: int = 1) -> dict:
    """Independent audit: the LP range of every hidden cell given all published cells, all row and
    column totals (the last row/column) and the reader's bound (hidden counts >= *low*)."""
    from scipy.optimize import linprog

    hidden = [tuple(int(v) for v in c) for c in np.argwhere(mask)]
    nr, nc = counts.shape
    lines = [[(i, j) for j in range(nc)] for i in range(nr)] + [
        [(i, j) for i in range(nr)] for j in range(nc)
    ]
    a_rows, b = [], []
    for line in lines:
        row = np.zeros(len(hidden))
        const = 0.0
        for cell in line:
            sign = -1.0 if cell == line[-1] else 1.0
            if cell in hidden:
                row[hidden.index(cell)] = sign
            else:
                const += sign * counts[cell]
        if row.any():
            a_rows.append(row)
            b.append(-const)
    out = {}
    for k, cell in enumerate(hidden):
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(hidden))
            c[k] = sign
            bounds = [(low, None)] * len(hidden)
            res = linprog(c, A_eq=np.array(a_rows), b_eq=b, bounds=bounds, method="highs")
            ends.append(np.inf if res.status == 3 else sign * res.fun)
        out[cell] = (ends[0], ends[1])
    return out


def _pinned(counts, mask, primary, low=1):
    iv = _intervals(counts, mask, low)
    return [c for c, (lo, hi) in iv.items() if primary[c] and hi - lo < 1 - 1e-9]


REVIEWER = pd.DataFrame(
    {"a": [7, 10, 12], "b": [1, 8, 9], "c": [1, 6, 7], "d": [0, 5, 6]}, index=["A", "B", "C"]
)


def test_reviewer_case_published_zero_no_longer_pins_the_small_cells():
    # Row A: total 9, 7 and 0 shown. The old rank-based check hid A.b, A.c and (to protect the
    # columns) B.b, B.c, which no total determines -- but A.b + A.c = 2 with both >= 1 pins both at 1.
    counts = rs.suppress_small_counts(REVIEWER).counts.to_numpy()
    old = np.zeros_like(counts, dtype=bool)
    old[[0, 0, 1, 1], [1, 2, 1, 2]] = True
    primary = (counts > 0) & (counts < 5)
    assert _recoverable(counts, old) == []  # the linear check passed it ...
    assert _pinned(counts, old, primary) == [(0, 1), (0, 2)]  # ... yet both are exactly 1
    assert _intervals(counts, old)[(0, 1)] == (1.0, 1.0)

    s = rs.suppress_small_counts(REVIEWER)
    assert s.suppressed.to_numpy().tolist() == [
        [True, True, True, False, False],  # A: 7 also hidden (smallest non-zero; the 0 stays shown)
        [True, True, True, False, False],  # B: 10 hidden to protect column a
        [False, False, False, False, False],
        [False, False, False, False, False],
    ]
    assert s.table.loc["A", "d"] == 0 and s.table.loc["A", "Total"] == 9
    mask = s.suppressed.to_numpy()
    assert _recoverable(counts, mask) == []
    assert _pinned(counts, mask, s.primary.to_numpy()) == []
    iv = _intervals(counts, mask)
    assert iv[(0, 1)] == (1.0, 7.0) and iv[(0, 2)] == (1.0, 6.0)
    assert s.provenance["notes"] == []
    assert "published zeros and the known bounds" in s.rule and "at least 1" in s.rule


def test_column_wise_case():
    t = REVIEWER.T  # the pinning now runs down column A
    s = rs.suppress_small_counts(t)
    expected = np.array(rs.suppress_small_counts(REVIEWER).suppressed.to_numpy()).T
    assert s.suppressed.to_numpy().tolist() == expected.tolist()
    assert s.suppressed.loc[["a", "b", "c"], "A"].all() and not s.suppressed.loc["d", "A"]
    counts = s.counts.to_numpy()
    assert _pinned(counts, s.suppressed.to_numpy(), s.primary.to_numpy()) == []


def test_already_safe_pattern_unchanged():
    # A: 2 and 3 hidden, B's 10 and 12 protect the columns; A.a + A.b = 5 leaves A.a anywhere in 1..4
    t = pd.DataFrame({"a": [2, 10, 19], "b": [3, 12, 19], "c": [20, 20, 9]}, index=["A", "B", "C"])
    s = rs.suppress_small_counts(t)
    assert s.suppressed.to_numpy().tolist() == [
        [True, True, False, False],
        [True, True, False, False],
        [False, False, False, False],
        [False, False, False, False],
    ]
    iv = _intervals(s.counts.to_numpy(), s.suppressed.to_numpy())
    assert iv[(0, 0)] == (1.0, 4.0) and iv[(0, 1)] == (1.0, 4.0)
    assert s.provenance["notes"] == []
    # the documented example is unchanged too (see test_hand_example)


def test_zeros_suppressed_too_uses_bound_zero():
    # with suppress_zeros the 0 is itself hidden, so the reader's bound is 0: A.b + A.c + A.d = 2
    # leaves each of them in 0..2 and no further suppression is needed
    s = rs.suppress_small_counts(REVIEWER, suppress_zeros=True)
    mask = s.suppressed.to_numpy()
    assert mask[0].tolist() == [False, True, True, True, False]
    assert _pinned(s.counts.to_numpy(), mask, s.primary.to_numpy(), low=0) == []
    assert "at least 0" in s.rule


@pytest.mark.parametrize("seed", range(6))
def test_no_primary_cell_pinned_random_tables_with_zeros(seed):
    rng = np.random.default_rng(100 + seed)
    t = pd.DataFrame(rng.choice([0, 0, 1, 2, 3, 6, 9, 15], size=(6, 4)), columns=list("wxyz"))
    s = rs.suppress_small_counts(t)
    counts = s.counts.to_numpy()
    mask = s.suppressed.to_numpy()
    assert (mask | ~s.primary.to_numpy()).all()
    assert not (mask & (counts == 0)).any()  # published zeros stay published
    assert _recoverable(counts, mask) == []
    assert _pinned(counts, mask, s.primary.to_numpy()) == []


def test_large_team_table_is_fast_and_protected():
    import time

    rng = np.random.default_rng(7)
    lam = rng.choice([1, 3, 8, 20], size=(200, 1))
    t = pd.DataFrame(rng.poisson(lam, size=(200, 5)), columns=list("abcde"))
    start = time.perf_counter()
    s = rs.suppress_small_counts(t)
    assert time.perf_counter() - start < 30
    from recoverystudy.privacy.disclosure import _lines, _unprotected

    mask = s.suppressed.to_numpy()
    full = s.counts.to_numpy()
    assert _unprotected(full, mask, _lines(full.shape, True), s.primary.to_numpy(), 1) == []


def _milp_range(values, masks, cell, low=1):
    """Exact integer min and max of one hidden cell over all linked tables (shared row totals)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    from recoverystudy.privacy._linked import _system

    index, truth, lb, a, b = _system(values, masks, low)
    t, i, j = cell
    k = index[("row_total", i) if j == values[t].shape[1] - 1 else (t, i, j)]
    n = len(truth)
    cons = LinearConstraint(a, b, b)
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(n)
        c[k] = sign
        res = milp(c, constraints=cons, integrality=np.ones(n), bounds=Bounds(lb, np.full(n, 1e4)))
        assert res.status == 0
        out.append(sign * res.fun)
    return out


def test_linked_tables_pinned_through_shared_totals_are_repaired():
    """Issue 14: each table alone protects its cells, but a team's total is the same in every table,
    and the lower bounds from all tables together pinned it.  suppress_linked now checks them jointly:
    an exact integer program over all tables finds no small count with a single feasible value."""
    rng = np.random.default_rng(3)
    pinned_before = 0
    for _trial in range(2):
        n_teams, n_tables = 4, 12
        sizes = rng.integers(5, 10, size=n_teams)
        tables = {}
        for k in range(n_tables):
            rows = []
            for s in sizes:
                p = rng.dirichlet([0.4, 0.4, 0.4])
                rows.append(rng.multinomial(s, p))
            tables[f"c{k}"] = pd.DataFrame(rows, index=[f"T{i}" for i in range(n_teams)], columns=["met", "partly", "not"])
        res = suppress_linked(tables, 5)
        values = [r.counts.to_numpy(float) for r in res.values()]
        masks = [r.suppressed.to_numpy() for r in res.values()]
        for t, r in enumerate(res.values()):
            for i, j in np.argwhere(r.primary.to_numpy()):
                lo, hi = _milp_range(values, masks, (t, int(i), int(j)))
                assert hi - lo >= 1, (t, i, j, lo, hi)
        # the per-table rule alone (each table on its own, totals linked only by hiding them
        # everywhere) is what the joint check repairs: count how often it would have pinned a cell
        alone = {n: rs.suppress_small_counts(tab, 5) for n, tab in tables.items()}
        shared = np.zeros(n_teams + 1, dtype=bool)
        for r in alone.values():
            shared |= r.suppressed.iloc[:, -1].to_numpy()
        alone = {}
        for n, tab in tables.items():
            force = np.zeros((n_teams + 1, 4), dtype=bool)
            force[:, -1] = shared
            alone[n] = rs.suppress_small_counts(tab, 5, force=force)
        v0 = [r.counts.to_numpy(float) for r in alone.values()]
        m0 = [r.suppressed.to_numpy() for r in alone.values()]
        for t, r in enumerate(alone.values()):
            for i, j in np.argwhere(r.primary.to_numpy()):
                lo, hi = _milp_range(v0, m0, (t, int(i), int(j)))
                pinned_before += hi - lo < 1
    assert pinned_before > 0  # the cases are hard enough that the joint check had work to do
