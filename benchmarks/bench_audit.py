"""Benchmark: pre-rate 50,000 care plans (~2 KB each) with 2 worker processes, with a progress bar.

Run:  python benchmarks/bench_audit.py [--n 50000] [--jobs 2] [--report]

The plans are built from the synthetic test plans (tests/data/care_plans/*.txt, *.md): every plan mixes
paragraphs of several test plans (~2 KB), renames the people in them, draws ages, dates and phone and
NHS-style numbers afresh, reorders bullet points and adds a note-taker's initials after about half the
sentences, so that most sentences differ between plans, as in real plans (the share of distinct lines is
printed).  Copies of the same 40 plans would flatter every step that works once per distinct text.  Prints plans/second, total
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

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import recoverystudy as rs

from _machine import machine

HERE = Path(__file__).resolve().parent
PLANS = HERE.parent / "tests" / "data" / "care_plans"


_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
_LONG_NUMBER = re.compile(r"\d(?:[\d ]{4,}\d)")
_AGE = re.compile(r"\b(?:is|aged|age) (\d{2})\b")
_CAPITAL = re.compile(r"(?<![.!?:\n-] )(?<=[a-z,;] )([A-Z][a-z]{2,})\b")
_STOP = {"I", "The", "This", "They", "There", "When", "What", "If", "He", "She", "We", "My", "Our", "Your", "CBT",
         "NHS", "Monday", "Mondays", "Tuesday", "Tuesdays", "Wednesday", "Wednesdays", "Thursday", "Thursdays",
         "Friday", "Fridays", "Saturday", "Saturdays", "Sunday", "Sundays", "Welsh", "English", "Christmas",
         "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December", "Team", "Recovery", "Crisis", "College", "Mind", "Samaritans"}
_FIRST = ("Chloe Tom Jane Mary Aisha Gethin Priya Oliver Siobhan Kwame Emma Dafydd Fatima Liam Grace Hamza Niamh Ravi "
          "Sophie Declan Ewa Jack Yusuf Rhiannon Ben Zofia Carys Marcus Leanne Ade Sam Nia Owen Leah Tariq Megan Iwan "
          "Keisha Callum Bethan Kofi Ellie Rory Sana Dylan Freya Jamal Ffion Connor Amara Harvey Lowri Imran Zara Ellis "
          "Mared Kai Ruby Osian Alys Dev Maisie Ioan Lola Arjun Tegan Finn Hana Reuben Cerys Omar Isla Aled Noor").split()
_SURNAME = ("Smith Patel Jones Williams Evans Khan Taylor Brown Hughes Begum Wright Davies Thomas Ahmed Roberts Lewis "
            "Walker Morgan Price Griffiths Okafor Nowak Kaur Singh Murphy Kelly Hall Green Wood Clarke Lloyd Owen Rees "
            "Mensah Ali Hussain Jenkins Phillips Morris Edwards Parry Baker Turner Hill Moore Jackson Martin Lee").split()
_SENTENCE_END = re.compile(r"(?<=[a-z])\.(?=\s|$)")
_LETTERS = "ABCDEFGHJKLMNPRSTW"


def _initials(rng: np.random.Generator) -> str:
    """A note-taker's initials and the day, as written after a sentence in many plans: " (JS 12/03)."."""
    a, b, d, m = rng.integers(len(_LETTERS)), rng.integers(len(_LETTERS)), rng.integers(1, 29), rng.integers(1, 13)
    return f" ({_LETTERS[a]}{_LETTERS[b]} {d:02d}/{m:02d})."


TEAMS = ["North CMHT", "South CMHT", "Early Intervention", "Assertive Outreach", "Older Adults", "Rehab"]


def _sources() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(PLANS.glob("plan_*")) if p.suffix in (".txt", ".md")]


def _person_names(sources: list[str]) -> list[str]:
    """Capitalised words used mid-sentence and never in lower case anywhere: the people in the test plans."""
    words = set(re.findall(r"\b[a-z]+\b", "\n".join(sources)))
    found = {m.group(1) for s in sources for m in _CAPITAL.finditer(s)}
    return sorted(w for w in found if w.lower() not in words and w not in _STOP)


def make_plans(n: int, seed: int = 0) -> pd.DataFrame:
    """*n* different ~2 KB plans built from the test plans: paragraphs mixed from several plans, the people in
    them renamed at random, ages, dates, phone and NHS-style numbers drawn afresh, bullet points reordered."""
    sources = _sources()
    names = _person_names(sources)
    name_rx = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    paras = [[p for p in s.split("\n\n") if p.strip()] for s in sources]
    rng = np.random.default_rng(seed)
    pool = _FIRST + _SURNAME
    texts = []
    for i in range(n):
        blocks = list(paras[int(rng.integers(len(paras)))])
        while sum(map(len, blocks)) < 2000:
            other = paras[int(rng.integers(len(paras)))]
            blocks.insert(int(rng.integers(1, len(blocks) + 1)), other[int(rng.integers(len(other)))])
        lines = "\n\n".join(blocks).split("\n")
        j = 0
        while j < len(lines):   # reorder each run of bullet points
            k = j
            while k < len(lines) and lines[k].startswith("- "):
                k += 1
            if k - j > 1:
                lines[j:k] = [lines[j + p] for p in rng.permutation(k - j)]
            j = k + 1
        body = "\n".join(lines)
        picks = rng.integers(len(pool), size=len(names))
        mapping = {name: pool[p] for name, p in zip(names, picks)}
        body = name_rx.sub(lambda m: mapping[m.group(1)], body)
        day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, size=8), unit="D")
        dates = iter(d.strftime("%d/%m/%Y") for d in day)
        body = _DATE.sub(lambda m: next(dates, m.group(0)), body)
        body = _AGE.sub(lambda m: m.group(0)[:-2] + str(int(rng.integers(18, 80))), body)
        body = _LONG_NUMBER.sub(lambda m: re.sub(r"\d", lambda d: str(int(rng.integers(10))), m.group(0)), body)
        body = _SENTENCE_END.sub(lambda m: _initials(rng) if rng.random() < 0.5 else ".", body)
        cut = body.rfind("\n", 0, 2300)
        texts.append(f"Plan reference {i:06d}\nTeam: {TEAMS[i % len(TEAMS)]}\n" + body[: cut if cut > 1500 else 2300])
    return pd.DataFrame({"plan_id": [f"plan-{i:06d}" for i in range(n)], "text": texts,
                         "team": [TEAMS[i % len(TEAMS)] for i in range(n)]})


def distinct_lines(texts: pd.Series) -> str:
    """The share of distinct lines over 40 characters (computed here so that the million lines are freed
    before the audit starts: the peak memory printed is the audit's, not the benchmark's)."""
    lines = texts.str.split("\n").explode()
    lines = lines[lines.str.len() > 40]
    return f"distinct lines (over 40 characters): {lines.nunique() / len(lines):.0%} of {len(lines):,}"


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
    print(distinct_lines(plans["text"]))
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
    audit_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
    print(f"peak resident memory: this process {own:,.0f} MB ({audit_peak:,.0f} MB by the end of the audit"
          f"{', so write_report did not raise it' if args.report and own <= audit_peak else ''}), largest worker "
          f"{kids:,.0f} MB (target < 1 GB)")


if __name__ == "__main__":
    main()
