"""The studentized range distribution equals R's ptukey (to rounding) and qtukey (within R's accuracy)."""

from __future__ import annotations

import numpy as np
import pytest

from recoverystudy.stats._ptukey import ptukey, qtukey, tukey_upper
from tests.conftest import load_fixture

REF = load_fixture("ptukey.json")


def _grid(rows, *names):
    return [np.array([float(r[n]) if r[n] != "Inf" else np.inf for r in rows]) for n in names]


@pytest.mark.parametrize("k", [2, 3, 4, 6, 10, 20])
def test_ptukey_equals_r(k):
    q, kk, df, p, upper = _grid(REF["ptukey"], "q", "k", "df", "p", "upper")
    m = kk == k
    np.testing.assert_allclose(ptukey(q[m], k, df[m]), p[m], rtol=0, atol=1e-12)
    np.testing.assert_allclose(tukey_upper(q[m], k, df[m]), upper[m], rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 6, 10])
def test_qtukey_is_the_root_of_ptukey_and_within_r_accuracy(k):
    p, kk, df, q = _grid(REF["qtukey"], "p", "k", "df", "q")
    m = kk == k
    got = qtukey(p[m], k, df[m])
    # R's qtukey stops when iterates differ by < 1e-4; ours is the root of ptukey to 1e-12
    np.testing.assert_allclose(got, q[m], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ptukey(got, k, df[m]), p[m], rtol=0, atol=1e-12)


def test_edges():
    assert ptukey(0.0, 3, 10) == 0.0 and ptukey(-1.0, 3, 10) == 0.0
    assert ptukey(np.inf, 3, 10) == 1.0
    assert np.isnan(ptukey(2.0, 3, 1.5)) and np.isnan(ptukey(np.nan, 3, 10)) and np.isnan(ptukey(2.0, 1, 10))
    assert qtukey(0.0, 3, 10) == 0.0 and np.isinf(qtukey(1.0, 3, 10)) and np.isnan(qtukey(0.5, 3, 1))
    assert ptukey([[1.0, 2.0]], 3, [[10.0], [20.0]]).shape == (2, 2)


def test_many_values_at_once_match_one_at_a_time():
    q = np.array([1.5, 3.2, 4.8])
    df = np.array([7.3, 40.0, 900.0])
    together = ptukey(q, 5, df)
    alone = np.array([ptukey(qi, 5, di) for qi, di in zip(q, df)]).ravel()
    np.testing.assert_array_equal(together, alone)
