"""Benchmark: scoring 1,000,000 respondents x 36 items (RSA), in memory and from a CSV file.

1. ``score()`` on a data frame already in memory (3 % numeric non-answer code 8).  Target < 1.5 s.
2. The path users take: ``read_survey()`` + ``score()`` on a 1,000,000-row CSV whose non-answers are typed
   as ``N/A`` (3 %), against the anchor ``pd.read_csv`` + ``np.nanmean`` on the same file, measured in the same
   run (medians of ``repeats`` runs).  Target: ratio <= 2.  The scores must equal the anchor's row means
   (every respondent answers at least 18 of the 36 items, so none is missing by the scoring rule).

Run:  python benchmarks/bench_scoring.py [n_rows] [repeats]
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import recoverystudy as rs


def bench_frame(n: int, repeats: int) -> None:
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


def write_csv(path: Path, n: int, seed: int = 1) -> None:
    """A survey export: respondent id, 36 answers 1-5, 3 % typed 'N/A' (written fast, row by row in C)."""
    inst = rs.load_instrument("rsa-person")
    rng = np.random.default_rng(seed)
    cells = np.array(["1", "2", "3", "4", "5", "N/A"], dtype=object)
    x = rng.integers(0, 5, size=(n, 36))
    x[rng.random(x.shape) < 0.03] = 5
    table = cells[x]
    ids = np.array([f"R{i:07d}" for i in range(n)], dtype=object)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("respondent_id," + ",".join(inst.item_ids) + "\n")
        step = 100_000
        for start in range(0, n, step):
            block = np.column_stack([ids[start:start + step], table[start:start + step]])
            fh.write("\n".join(",".join(row) for row in block.tolist()) + "\n")


def anchor(path: Path, items: list[str]) -> np.ndarray:
    df = pd.read_csv(path)
    return np.nanmean(df[items].to_numpy(dtype=float), axis=1)


def ours(path: Path) -> np.ndarray:
    df = rs.read_survey(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        res = rs.score(df, "rsa-person", id_col="respondent_id")
    return res.frame["rsa_person_total"].to_numpy()


def bench_csv(n: int, repeats: int) -> float:
    inst = rs.load_instrument("rsa-person")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "survey.csv"
        t0 = time.perf_counter()
        write_csv(path, n)
        print(f"wrote {path.stat().st_size / 1e6:.0f} MB CSV ({n:,} rows) in {time.perf_counter() - t0:.1f} s")
        t_anchor, t_ours = [], []
        for _ in range(repeats):  # interleaved, so that load on a shared machine hits both alike
            t0 = time.perf_counter()
            ref = anchor(path, list(inst.item_ids))
            t_anchor.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            got = ours(path)
            t_ours.append(time.perf_counter() - t0)
        if not np.allclose(got, ref, rtol=0, atol=1e-12, equal_nan=False):
            worst = np.nanmax(np.abs(got - ref))
            raise SystemExit(f"read_survey + score disagree with the anchor's row means (max difference {worst})")
    a, o = float(np.median(t_anchor)), float(np.median(t_ours))
    ratio = o / a
    print(f"CSV -> scores, {n:,} rows x 36 items with typed 'N/A': read_survey + score median {o:.2f} s; anchor "
          f"pd.read_csv + np.nanmean median {a:.2f} s (same run, {repeats} runs each); ratio {ratio:.2f} "
          f"(target <= 2); scores equal the anchor's: yes")
    return ratio


def main(n: int = 1_000_000, repeats: int = 3) -> None:
    bench_frame(n, repeats)
    bench_csv(n, repeats)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
