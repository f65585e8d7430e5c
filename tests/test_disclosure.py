"""Small-number suppression with secondary suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.disclosure import suppress_linked


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
