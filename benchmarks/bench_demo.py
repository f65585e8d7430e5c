"""Benchmark the one-command demo (target, issue 20: ``python -m recoverystudy demo`` under 5 s wall clock).

Run: ``python benchmarks/bench_demo.py [rounds]`` (prints the figures; not part of the test suite).

Each round runs, interleaved so that all three see the same load, in fresh interpreters:

* the anchor: ``python -c "import recoverystudy"`` (the floor any run of the demo pays);
* the command users type: ``python -m recoverystudy demo --out TMP`` (with two or more CPUs it uses
  worker processes: see ``run_demo(n_jobs=...)``);
* the same demo in one process (``run_demo(TMP, n_jobs=1)``), what a one-CPU machine runs.

Wall-clock seconds depend on whatever else runs on the machine (the load average is printed before and
after); CPU seconds (user + system, worker processes included) do not, so they are printed too.  The
medians over the rounds are reported with the ratio demo / anchor.  Then one demo run in this process
prints the time of each step.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import recoverystudy as rs
from recoverystudy.report.demo import run_demo

from _machine import machine


def _timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child and everything it waited for) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(machine())
    print(f"load average before: {os.getloadavg()}")
    for scale in (1.0, 10.0):
        t = time.perf_counter()
        study = rs.synthetic.six_site_study(seed=0, scale=scale)
        gen = time.perf_counter() - t
        print(f"six_site_study(scale={scale:g}): {len(study.service_users):,} service users, "
              f"{len(study.interviews):,} interviews, {len(study.care_plans):,} plans in {gen:.2f} s")
    py = sys.executable
    runs: dict[str, list[tuple[float, float]]] = {"anchor": [], "demo": [], "one process": []}
    for _ in range(rounds):
        runs["anchor"].append(_timed([py, "-c", "import recoverystudy"]))
        with tempfile.TemporaryDirectory() as tmp:
            runs["demo"].append(_timed([py, "-m", "recoverystudy", "demo", "--out", tmp]))
        with tempfile.TemporaryDirectory() as tmp:
            runs["one process"].append(_timed(
                [py, "-c", f"from recoverystudy.report.demo import run_demo; run_demo({tmp!r}, n_jobs=1)"]))
    print(f"load average after: {os.getloadavg()}")
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
    for name, label in (("demo", "python -m recoverystudy demo"), ("one process", "run_demo(n_jobs=1), fresh interpreter"),
                        ("anchor", "anchor: python -c 'import recoverystudy'")):
        walls = ", ".join(f"{w:.2f}" for w, _ in runs[name])
        print(f"{label:<45s} median {med[name][0]:5.2f} s wall, {med[name][1]:5.2f} s CPU   (walls: {walls})")
    wall = med["demo"][0]
    print(f"demo / anchor = {wall / med['anchor'][0]:.1f}x; one process / demo = "
          f"{med['one process'][0] / wall:.2f}x; target < 5 s wall: {'met' if wall < 5 else 'NOT met'} "
          f"(median of {rounds})")
    with tempfile.TemporaryDirectory() as tmp:
        last = run_demo(tmp, seed=0)
    print(f"steps of one run in this process ({last.processes} processes, {last.seconds:.2f} s wall, "
          f"{last.cpu_seconds:.2f} s CPU; steps run by a worker are timed there and overlap the others):")
    for step, seconds in last.timings.items():
        print(f"  {step:<45s} {seconds:6.2f} s")
    if last.unavailable:
        print("  not available in this build:", ", ".join(last.unavailable))


if __name__ == "__main__":
    main()
