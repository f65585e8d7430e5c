"""Benchmark the one-command demo and the synthetic-study generator.

Run: ``python benchmarks/bench_demo.py`` (prints the figures; not part of the test suite).
Target: the demo finishes in under 30 s on the 2-core reference machine.
"""

from __future__ import annotations

import tempfile
import time

import recoverystudy as rs
from recoverystudy.report.demo import run_demo


def main() -> None:
    for scale in (1.0, 10.0):
        t = time.perf_counter()
        study = rs.synthetic.six_site_study(seed=0, scale=scale)
        gen = time.perf_counter() - t
        print(f"six_site_study(scale={scale:g}): {len(study.service_users):,} service users, "
              f"{len(study.interviews):,} interviews, {len(study.care_plans):,} plans in {gen:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        result = run_demo(tmp, seed=0)
    print(f"demo (seed 0, scale 1): {result.seconds:.1f} s wall clock, {result.cpu_seconds:.1f} s CPU "
          "(target < 30 s)")
    for step, seconds in result.timings.items():
        print(f"  {step:<45s} {seconds:6.2f} s")
    if result.unavailable:
        print("  not available in this build:", ", ".join(result.unavailable))


if __name__ == "__main__":
    main()
