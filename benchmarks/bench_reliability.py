"""Benchmark: rs.reliability with its defaults on 1,000,000 x 36 items with 3 % missing answers.

Anchor, measured in the same run: ``pingouin.cronbach_alpha`` (pairwise covariance, Feldt CI) on the
same frame. Prints the median of 3 timings of each, their ratio (target <= 1), the peak extra memory
of our run relative to the input frame (target <= 2x), and checks that both give the same alpha
(1e-9). Then times a requested 1,000-resample bootstrap on 10,000 x 36 (target < 5 s on two cores).

Run:  python benchmarks/bench_reliability.py            (about a minute on two cores)
      python benchmarks/bench_reliability.py --rows 200000   (quicker)
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd
import pingouin as pg

import recoverystudy as rs


def make_items(n: int, k: int = 36, miss: float = 0.03, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    load = rng.uniform(0.4, 0.8, k)
    x = np.clip(np.rint(3 + (rng.normal(size=(n, 1)) * load + rng.normal(size=(n, k)) * np.sqrt(1 - load**2))),
                1, 5)
    x[rng.random((n, k)) < miss] = np.nan
    return pd.DataFrame(x, columns=[f"item_{j:02d}" for j in range(1, k + 1)])


def median_time(fn, repeat: int = 3):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    df = make_items(args.rows)
    in_mb = df.memory_usage(deep=True).sum() / 1e6
    t_pg, (a_pg, _) = median_time(lambda: pg.cronbach_alpha(data=df))
    t_rs, rel = median_time(lambda: rs.reliability(df))
    assert abs(rel.alpha - a_pg) < 1e-9, (rel.alpha, a_pg)
    tracemalloc.start()
    rs.reliability(df)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{args.rows:,} x 36, 3% missing (input {in_mb:.0f} MB); alpha {rel.alpha:.9f} = pingouin {a_pg:.9f}")
    print(f"  pingouin.cronbach_alpha  median {t_pg:7.3f} s")
    print(f"  rs.reliability defaults  median {t_rs:7.3f} s  (alpha, Feldt CI, omega + delta CI, item table)")
    print(f"  ratio to pingouin: {t_rs / t_pg:.2f}x (target <= 1); peak extra memory {peak / 1e6:.0f} MB = "
          f"{peak / 1e6 / in_mb:.2f}x the input (target <= 2)")

    small = make_items(10_000, seed=1)
    t_b, boot = median_time(lambda: rs.reliability(small, ci="bootstrap", n_boot=1000, seed=1))
    print(f"  bootstrap, 1,000 resamples on 10,000 x 36: median {t_b:.2f} s (target < 5 s); omega "
          f"{boot.omega:.4f} CI {boot.omega_ci[0]:.4f}-{boot.omega_ci[1]:.4f}")


if __name__ == "__main__":
    main()
