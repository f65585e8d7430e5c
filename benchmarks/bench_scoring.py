"""Benchmark: score 1,000,000 respondents x 36 items (RSA, with 3% non-answer codes). Target < 1.5 s.

Run:  python benchmarks/bench_scoring.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

import recoverystudy as rs


def main(n: int = 1_000_000, repeats: int = 3) -> None:
    inst = rs.load_instrument("rsa-person")
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, size=(n, 36)).astype(float)
    x[rng.random(x.shape) < 0.03] = 8  # N/A code
    df = pd.DataFrame(x, columns=inst.item_ids)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
            res = rs.score(df, "rsa-person")
        times.append(time.perf_counter() - t0)
    print(f"score(): {n:,} respondents x 36 items: best {min(times):.2f} s, median {np.median(times):.2f} s "
          f"(target < 1.5 s); {res.missing_report().loc['total', 'scored_prorated']:,} prorated")


if __name__ == "__main__":
    main()
