"""Benchmark the one-command demo (target: under 5 s wall clock) and the synthetic-study generator.

Run: ``python benchmarks/bench_demo.py`` (prints the figures; not part of the test suite).

Anchor, measured in the same run: a fresh interpreter that only imports recoverystudy (the floor any
run of the demo pays).  The ratio demo / anchor is printed with the demo's CPU seconds, which do not
depend on other programs sharing the machine; the wall figure does (the load average is printed).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

import recoverystudy as rs
from recoverystudy.report.demo import run_demo

from _machine import machine


def _import_seconds() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import recoverystudy"], check=True)
    return time.perf_counter() - t


def main() -> None:
    print(machine())
    for scale in (1.0, 10.0):
        t = time.perf_counter()
        study = rs.synthetic.six_site_study(seed=0, scale=scale)
        gen = time.perf_counter() - t
        print(f"six_site_study(scale={scale:g}): {len(study.service_users):,} service users, "
              f"{len(study.interviews):,} interviews, {len(study.care_plans):,} plans in {gen:.2f} s")
    walls, cpus, anchors, last = [], [], [], None
    for _ in range(3):  # interleaved: anchor, demo, anchor, demo, ...
        anchors.append(_import_seconds())
        with tempfile.TemporaryDirectory() as tmp:
            last = run_demo(tmp, seed=0)
        walls.append(last.seconds)
        cpus.append(last.cpu_seconds)
    wall, cpu, anchor = statistics.median(walls), statistics.median(cpus), statistics.median(anchors)
    print(f"demo (seed 0, scale 1), median of 3: {wall:.1f} s wall clock, {cpu:.1f} s CPU; "
          f"target < 5 s wall: {'met' if wall < 5 else 'NOT met'}")
    print(f"anchor: fresh interpreter importing recoverystudy, median of 3: {anchor:.2f} s; "
          f"demo / anchor = {wall / anchor:.1f}x")
    print("steps of the last run:")
    for step, seconds in last.timings.items():
        print(f"  {step:<45s} {seconds:6.2f} s")
    if last.unavailable:
        print("  not available in this build:", ", ".join(last.unavailable))


if __name__ == "__main__":
    main()
