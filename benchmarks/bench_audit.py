"""Benchmark: pre-rate 50,000 care plans (~2 KB each) with 2 worker processes, with a progress bar.

Run:  python benchmarks/bench_audit.py [--n 50000] [--jobs 2] [--report]

The plans are the synthetic test plans (tests/data/care_plans/*.txt, *.md), each repeated with a
varied header (id, date, team) until ~2 KB, so the text is realistic.  Prints plans/second, total
seconds and (with --report) the time to write the private report (redaction of every quoted
evidence sentence, suppression, HTML/Excel/CSV).  Target (issue 20): 50,000 plans including
write_report in under 60 s on 2 cores and under 1 GB peak memory.

Anchor, measured in the same run: one pass of a compiled regular expression over every plan's text
(the least any rule-based rating must do); the ratio audit / anchor is printed.  Peak memory is the
largest resident set of this process and of the worker processes (``getrusage``).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import recoverystudy as rs

from _machine import machine

HERE = Path(__file__).resolve().parent
PLANS = HERE.parent / "tests" / "data" / "care_plans"


def make_plans(n: int) -> pd.DataFrame:
    sources = [
        p.read_text(encoding="utf-8") for p in sorted(PLANS.glob("plan_*")) if p.suffix in (".txt", ".md")
    ]
    teams = ["North CMHT", "South CMHT", "Early Intervention", "Assertive Outreach", "Older Adults", "Rehab"]
    texts, ids, team = [], [], []
    for i in range(n):
        body = sources[i % len(sources)]
        while len(body) < 1900:
            body = body + "\n\nAdditional notes\n" + sources[(i * 7 + len(body)) % len(sources)][:600]
        texts.append(
            f"Plan reference {i:06d}\nDate of plan: {1 + i % 28:02d}/{1 + i % 12:02d}/2025\n" + body[:2100]
        )
        ids.append(f"plan-{i:06d}")
        team.append(teams[i % len(teams)])
    return pd.DataFrame({"plan_id": ids, "text": texts, "team": team})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--report", action="store_true", help="also time write_report (with a secret)")
    ap.add_argument("--start-method", default=None, help="fork, spawn or forkserver (default: the platform's)")
    args = ap.parse_args()
    print(machine())
    plans = make_plans(args.n)
    rx = re.compile(r"\b(?:crisis|goal|risk|medication)\w*", re.IGNORECASE)
    t_a = time.perf_counter()
    hits = sum(1 for text in plans["text"] for _ in rx.finditer(text))
    anchor = time.perf_counter() - t_a
    mean_kb = plans["text"].str.len().mean() / 1024
    cpu0 = os.times()
    t0 = time.perf_counter()
    with Progress(TextColumn("Auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("audit", total=args.n)
        audit = rs.audit_care_plans(
            plans,
            n_jobs=args.jobs,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            start_method=args.start_method,
        )
    t1 = time.perf_counter()
    cpu1 = os.times()
    cpu = (
        (cpu1.user - cpu0.user)
        + (cpu1.system - cpu0.system)
        + (cpu1.children_user - cpu0.children_user)
        + (cpu1.children_system - cpu0.children_system)
    )
    print(f"plans: {args.n:,}  mean size: {mean_kb:.2f} KB  jobs: {args.jobs}")
    print(f"audit_care_plans: {t1 - t0:.1f} s wall  ({args.n / (t1 - t0):,.0f} plans/s)  target < 60 s")
    print(
        f"CPU used (this process + workers): {cpu:.1f} s; on {args.jobs} otherwise idle cores this is about "
        f"{cpu / args.jobs:.1f} s wall (the wall figure above is higher when other programs share the cores)"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.2f}")
    print(f"ratings: {len(audit.prerated):,}  evidence rows: {len(audit.evidence):,}  "
          f"workers: {audit.provenance['workers']}")
    print(f"anchor: one compiled regex over every plan ({hits:,} hits): {anchor:.2f} s; "
          f"audit / anchor = {(t1 - t0) / anchor:.0f}x")
    if args.report:
        with tempfile.TemporaryDirectory() as tmp:
            cpu2 = os.times()
            t2 = time.perf_counter()
            rep = audit.write_report(
                Path(tmp) / "out", secret="benchmark-secret-0123456789abcdef", log_path=Path(tmp) / "log.csv",
                n_jobs=args.jobs, start_method=args.start_method,
            )
            t3 = time.perf_counter() - t2
            cpu3 = os.times()
            wcpu = sum(getattr(cpu3, k) - getattr(cpu2, k)
                       for k in ("user", "system", "children_user", "children_system"))
            print(f"write_report (person-level, redacted quotes): {t3:.1f} s wall, {wcpu:.1f} s CPU "
                  f"(workers: {rep.provenance['workers']})")
            total = (t1 - t0) + t3
            print(f"audit + write_report: {total:.1f} s wall, {cpu + wcpu:.1f} s CPU (about "
                  f"{(cpu + wcpu) / args.jobs:.1f} s wall on {args.jobs} idle cores); target (issue 20) < 60 s for "
                  f"50,000 plans: {'met' if total < 60 and args.n >= 50_000 else 'NOT met' if args.n >= 50_000 else 'n/a (smaller n)'}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak resident memory: this process {own:,.0f} MB, largest worker {kids:,.0f} MB (target < 1 GB)")


if __name__ == "__main__":
    main()
