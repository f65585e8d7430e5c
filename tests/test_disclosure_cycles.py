"""Cycle proofs in secondary suppression: sound, and the published tables are exactly those of the
linear programs alone (the proofs only save solver calls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import recoverystudy as rs
from recoverystudy.privacy import _linked, disclosure
from recoverystudy.privacy._linked import cycle_moves
from recoverystudy.privacy.disclosure import _line_eqs, _lines, suppress_linked


def _lp_range(values, mask, cell, low):
    """Smallest and largest feasible value of hidden *cell* (the definition the proofs must respect)."""
    cells, a, b = _line_eqs(values, mask, _lines(values.shape, True))
    truth = np.array([float(values[c]) for c in cells])
    bounds = np.column_stack([np.where(truth < low, 0.0, float(low)), np.full(len(cells), np.inf)])
    k = cells.index(cell)
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(len(cells))
        c[k] = sign
        res = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        out.append(np.inf if res.status == 3 else sign * res.fun)
    return out[0], out[1]


def test_hand_example_cycles():
    # rows B and C, columns met / not met hidden: B = (3, 7), C = (9, 6); +1 -1 / -1 +1 keeps every total
    full = np.array([[12, 8, 20], [3, 7, 10], [9, 6, 15], [24, 21, 45]])
    mask = np.zeros_like(full, dtype=bool)
    mask[1:3, 0:2] = True
    assert cycle_moves(full, mask, 1).tolist() == mask.tolist()
    # B = (1, 1) with its total 2 published: either direction takes a B cell to 0, below the published bound
    # of 1 (zeros are shown), so no proof; the linear program agrees that B's cells are pinned at 1
    full = np.array([[12, 8, 20], [1, 1, 2], [9, 6, 15], [22, 15, 37]])
    assert not cycle_moves(full, mask, 1).any()
    assert _lp_range(full, mask, (1, 0), 1) == pytest.approx((1.0, 1.0))
    # with zeros suppressed too (bound 0) the same move is allowed
    assert cycle_moves(full, mask, 0).tolist() == mask.tolist()
    assert _lp_range(full, mask, (1, 0), 0) == pytest.approx((0.0, 2.0))


@pytest.mark.parametrize("seed", range(60))
def test_cycle_proofs_are_sound(seed):
    rng = np.random.default_rng(seed)
    nr, nc = rng.integers(2, 6, size=2)
    inner = rng.integers(0, 8, size=(nr, nc))
    full = np.zeros((nr + 1, nc + 1), dtype=np.int64)
    full[:-1, :-1] = inner
    full[:-1, -1] = inner.sum(1)
    full[-1, :-1] = inner.sum(0)
    full[-1, -1] = inner.sum()
    mask = rng.random(full.shape) < 0.45
    low = int(rng.integers(0, 2))
    moved = cycle_moves(full, mask, low)
    assert not (moved & ~mask).any()
    for cell in map(tuple, np.argwhere(mask)):
        lo, hi = _lp_range(full, mask, cell, low)
        protected = hi >= full[cell] + 1 - 1e-9 or lo <= full[cell] - 1 + 1e-9
        if moved[cell]:      # sound: every proof is a real table
            assert protected, (seed, cell)
        else:                # and, as flow theory says for these tables, complete: the LP finds nothing more
            assert not protected, (seed, cell)


def _lp_only(monkeypatch):
    never = lambda values, mask, low, **kw: np.zeros(np.shape(mask), dtype=bool)  # noqa: E731
    monkeypatch.setattr(disclosure, "cycle_moves", never)
    monkeypatch.setattr(_linked, "cycle_moves", never)


def _random_tables(seed, n_tables=1):
    rng = np.random.default_rng(seed)
    nr, nc = int(rng.integers(2, 7)), int(rng.integers(2, 5))
    rows = [f"team {i}" for i in range(nr)]
    sizes = rng.integers(3, 30, size=nr)
    out = {}
    for t in range(n_tables):   # linked tables: the same team sizes, split differently
        split = np.array([rng.multinomial(s, rng.dirichlet(np.ones(nc))) for s in sizes])
        out[f"c{t}"] = pd.DataFrame(split, index=rows, columns=[f"k{j}" for j in range(nc)])
    return out


@pytest.mark.parametrize("seed", range(30))
def test_same_tables_as_linear_programs_alone(seed, monkeypatch):
    table = _random_tables(seed)["c0"]
    threshold = 3 + seed % 4
    fast = rs.suppress_small_counts(table, threshold, suppress_zeros=seed % 5 == 0)
    _lp_only(monkeypatch)
    slow = rs.suppress_small_counts(table, threshold, suppress_zeros=seed % 5 == 0)
    assert fast.suppressed.equals(slow.suppressed)
    assert fast.provenance["notes"] == slow.provenance["notes"]


@pytest.mark.parametrize("seed", range(12))
def test_same_linked_tables_as_linear_programs_alone(seed, monkeypatch):
    tables = _random_tables(100 + seed, n_tables=3)
    fast = suppress_linked(tables, 5)
    _lp_only(monkeypatch)
    slow = suppress_linked(tables, 5)
    for name in tables:
        assert fast[name].suppressed.equals(slow[name].suppressed), name
