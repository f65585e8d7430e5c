"""Benchmark: the Framework Method project (recoverystudy.qual) at study scale.

Run:  python benchmarks/bench_project.py [--docs 10000] [--segments 500000] [--agreement-docs 200]
                                         [--repeat 3] [--seed 0] [--profile STEP] [--keep FILE]

Targets (2-core reference machine):

* ``proj.add_documents(frame)``: 10,000 interview transcripts (~5 MB of text in total) in < 20 s,
  including speaker-turn parsing, SHA-256 hashing and duplicate detection (1 % of the rows repeat an
  earlier text under a new name and are skipped with ``on_duplicate="skip"``).
* ``proj.code_many(frame, coder=...)``: 500,000 coded segments in < 15 s (all calls together).
* ``proj.framework_matrix()`` and ``proj.segments()`` over those segments: < 2 s each.
* ``proj.agreement("a", "b", unit="character")``: two coders, each with many segments on the same
  200 documents, in a project that also holds every other segment: < 3 s.
* ``rs.Project.open(path)`` of a project of ``--open-gb`` GB (default 1) made of realistic interview
  transcripts of ``--doc-kb`` KB (default 40) with coded segments: < 0.3 s, whatever the size.  The
  anchor, measured in the same run on the same file, is a raw ``sqlite3.connect`` plus one read; the
  ratio to it is printed.  (Opening checks the header, the schema and the version; the full integrity
  check runs on demand, after an unclean shutdown and before backups.)  ``--open-gb 0`` skips this step.

The data are generated deterministically with numpy (``--seed``): transcripts alternate
``Interviewer:`` and service-user turns (``SU00042:``, occasionally ``[CC]`` or ``Carer 2:``), made
of sentences drawn from a care-planning vocabulary; segments are random spans of 15-400 characters
coded with the codes of the default codebook.  The project file lives in a temporary folder.

Write steps run once (they change the project); read steps are repeated ``--repeat`` times and the
median is compared with the target.  The script prints a table and exits with status 1 if any
target is missed.  ``--profile STEP`` (``import``, ``code``, ``matrix``, ``segments``,
``agreement``) prints the 25 most expensive functions of that step (cProfile, cumulative time);
``--keep FILE`` keeps a copy of the finished project.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import recoverystudy as rs

TARGETS = {  # step -> seconds
    "import": 20.0,
    "code": 15.0,
    "matrix": 2.0,
    "segments": 2.0,
    "agreement": 3.0,
    "open": 0.3,
}
LABELS = {
    "import": "add_documents: {docs:,} documents ({mb:.1f} MB), turns, hashes, duplicates",
    "code": "code_many: {segments:,} segments ({calls} calls)",
    "matrix": "framework_matrix() over {segments:,} segments",
    "segments": "segments() -> {segments:,} rows with text and context",
    "agreement": "agreement('a', 'b', unit='character') on {adocs} documents",
    "open": "Project.open() of a {open_gb:.2f} GB project ({open_docs:,} transcripts of ~{doc_kb} KB)",
}

SITES = ["Site A", "Site B", "Site C", "Site D", "Site E", "Site F"]

_WORDS = (
    "I you we they she he it my your our their the a an and but so because then when if not never always "
    "sometimes really just about with without to of in on at for from by was were is are have had has do did "
    "does been being would could should will can said told asked felt feel think thought know knew want wanted "
    "care plan plans planning review meeting meetings copy goals goal recovery support worker coordinator nurse "
    "doctor psychiatrist team ward hospital home crisis risk assessment medication side effects mum dad sister "
    "brother carer family friend friends housing money benefits job work college group groups voice choice "
    "involved involvement listened listen heard understood understand respect trust rapport time week weeks "
    "month months year years appointment appointments letter letters phone call called visit visits discharge "
    "admitted section tribunal advocate advocacy strengths needs wishes hopes future better worse same different "
    "important helpful useful difficult hard easy nobody somebody everyone anyone nothing something everything "
    "first last next again still already only also very quite much more less lot little good bad fine okay"
).split()
_OPENERS_Q = ["How", "What", "When", "Did", "Could", "Would", "Can", "Was", "Were", "Who"]


def _sentences(rng: np.random.Generator, n: int, question: bool) -> list[str]:
    """*n* sentences of 3-12 words (vectorised draw, one join per sentence)."""
    lengths = rng.integers(3, 13, size=n)
    words = np.asarray(_WORDS, dtype=object)[rng.integers(0, len(_WORDS), size=int(lengths.sum()))]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    punct = rng.choice(np.array([".", ".", ".", ".", "!", "?", "..."], dtype=object), size=n)
    out = []
    for i in range(n):
        w = words[bounds[i]:bounds[i + 1]]
        if question:
            out.append(_OPENERS_Q[i % len(_OPENERS_Q)] + " " + " ".join(w) + "?")
        else:
            first = w[0]
            out.append(first[:1].upper() + first[1:] + " " + " ".join(w[1:]) + punct[i])
    return out


def make_documents(n_docs: int, seed: int = 0, dup_rate: float = 0.01) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transcripts (``name, text, case, kind``) and cases (``case, site, age``).

    Four documents per case; ``round(n_docs * dup_rate)`` extra rows repeat an earlier text under a new
    name (they are duplicates to be skipped).  Mean length ~500 characters.
    """
    rng = np.random.default_rng(seed)
    n_cases = max(1, n_docs // 4)
    case_names = np.array([f"SU{i:05d}" for i in range(n_cases)], dtype=object)
    doc_case = np.arange(n_docs) // 4 % n_cases
    n_turns = rng.integers(2, 5, size=n_docs)  # answer turns per document
    n_sent = rng.integers(1, 3, size=int(n_turns.sum()) * 2)  # sentences per turn (question, answer)
    q_sent = iter(_sentences(rng, int(n_sent[0::2].sum()), question=True))
    a_sent = iter(_sentences(rng, int(n_sent[1::2].sum()), question=False))
    other = rng.random(int(n_turns.sum()))
    texts = []
    t = 0
    for d in range(n_docs):
        label = case_names[doc_case[d]]
        lines = [f"Interview {d:05d}, {SITES[doc_case[d] % len(SITES)]}"]
        for _ in range(n_turns[d]):
            q = " ".join(next(q_sent) for _ in range(n_sent[2 * t]))
            a = " ".join(next(a_sent) for _ in range(n_sent[2 * t + 1]))
            lines.append(f"Interviewer: {q}")
            if other[t] < 0.05:
                lines.append(f"[CC] {a}")
            elif other[t] < 0.10:
                lines.append(f"Carer 2: {a}")
            else:
                lines.append(f"{label}: {a}")
            t += 1
        texts.append("\n".join(lines))
    docs = pd.DataFrame({
        "name": [f"{case_names[c]}-doc{d:05d}" for d, c in enumerate(doc_case)],
        "text": texts,
        "case": case_names[doc_case],
        "kind": np.where(np.arange(n_docs) % 4 == 3, "care_plan", "interview"),
    })
    n_dup = int(round(n_docs * dup_rate))
    if n_dup:
        src = rng.choice(n_docs, size=n_dup, replace=False)
        dups = docs.iloc[src].assign(name=[f"dup-{i:05d}" for i in range(n_dup)])
        docs = pd.concat([docs, dups], ignore_index=True)
    cases = pd.DataFrame({"case": case_names, "site": [SITES[i % len(SITES)] for i in range(n_cases)],
                          "age": rng.integers(18, 80, size=n_cases)})
    return docs, cases


def make_long_transcripts(n_docs: int, doc_kb: float, seed: int = 0, first: int = 0) -> pd.DataFrame:
    """*n_docs* interview transcripts of about *doc_kb* KB each (``name, text, case``).

    Turns alternate ``Interviewer:`` and the participant; each turn holds 1-12 sentences drawn from a
    pool of 20,000 generated sentences (mean ~60 characters), so texts are distinct and realistic in
    shape: a one-hour interview transcript is 40-60 KB.
    """
    rng = np.random.default_rng(seed + 7 + first)
    pool = np.asarray(_sentences(rng, 20_000, question=False), dtype=object)
    per_doc = int(doc_kb * 1000 / (sum(map(len, pool[:2000])) / 2000 + 1))  # sentences per transcript
    picks = pool[rng.integers(0, len(pool), size=(n_docs, per_doc))]
    cuts = rng.integers(1, 13, size=(n_docs, per_doc)).cumsum(axis=1)
    texts, names, cases = [], [], []
    for d in range(n_docs):
        label = f"SU{first + d:06d}"
        bounds = [0, *cuts[d][cuts[d] < per_doc].tolist(), per_doc]
        lines = [f"Interview {first + d:06d}"]
        for t in range(len(bounds) - 1):
            speaker = "Interviewer" if t % 2 == 0 else label
            lines.append(f"{speaker}: " + " ".join(picks[d, bounds[t]:bounds[t + 1]]))
        texts.append("\n".join(lines))
        names.append(f"{label}-interview")
        cases.append(label)
    return pd.DataFrame({"name": names, "text": texts, "case": cases, "kind": "interview"})


def bench_open(folder: Path, gb: float, doc_kb: float, repeat: int, seed: int) -> tuple[list[float], list[float], dict]:
    """Build a project of about *gb* GB of transcripts (plus segments); time opening it and the anchor."""
    path = folder / "open.rsqda"
    target = gb * 1e9
    n_docs = 0
    t = time.perf_counter()
    with rs.Project.create(path, user="bench") as proj:
        codes = proj.codes()
        leaf = codes.loc[codes["parent"].notna(), "path"].tolist()
        batch = 500
        while proj._q("PRAGMA page_count")[0][0] * proj._q("PRAGMA page_size")[0][0] < target:
            docs = make_long_transcripts(batch, doc_kb, seed=seed, first=n_docs)
            proj.add_documents(docs)
            rng = np.random.default_rng(seed + n_docs)
            n = batch * 40  # 40 coded segments per transcript
            length = rng.integers(15, 401, size=n)
            doc_len = np.repeat(docs["text"].str.len().to_numpy(), 40)
            start = (rng.random(n) * (doc_len - length)).astype(np.int64)
            proj.code_many(pd.DataFrame({"document": np.repeat(docs["name"].to_numpy(object), 40),
                                         "start": start, "end": start + length,
                                         "code": np.asarray(leaf, dtype=object)[rng.integers(0, len(leaf), n)]}
                                        ).drop_duplicates(["document", "start", "end", "code"]), coder="c")
            n_docs += batch
    size = path.stat().st_size
    print(f"built a {size / 1e9:.2f} GB project of {n_docs:,} transcripts of ~{doc_kb:g} KB in "
          f"{time.perf_counter() - t:.0f} s")
    opens, anchors = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        conn = sqlite3.connect(path)
        conn.execute("SELECT COUNT(*) FROM meta").fetchone()
        conn.close()
        anchors.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        proj = rs.Project.open(path)
        opens.append(time.perf_counter() - t0)
        assert len(proj.documents()) == n_docs
        proj.close()
    return opens, anchors, {"open_gb": size / 1e9, "open_docs": n_docs, "doc_kb": f"{doc_kb:g}"}


def make_segments(documents: pd.DataFrame, codes: list[str], n_segments: int, agreement_docs: int,
                  seed: int = 0) -> dict[str, pd.DataFrame]:
    """Coded segments per coder: ``{"a": frame, "b": frame, "c": frame}``.

    Coders a and b code the first *agreement_docs* documents heavily (``b`` moves most of ``a``'s spans
    by a few characters, drops some and adds its own); coder c codes every document.  Spans are unique
    per coder, so every row becomes a new segment.  Together the frames hold *n_segments* rows.
    """
    rng = np.random.default_rng(seed + 1)
    names = documents["name"].to_numpy(object)
    n_chars = documents["n_chars"].to_numpy(np.int64)
    n_codes = len(codes)

    def spans(doc_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nc = n_chars[doc_idx]
        length = np.minimum(rng.integers(15, 401, size=len(doc_idx)), nc - 1)
        start = (rng.random(len(doc_idx)) * (nc - length)).astype(np.int64)
        return start, start + length, rng.integers(0, n_codes, size=len(doc_idx))

    def frame(doc_idx, start, end, code_idx) -> pd.DataFrame:
        f = pd.DataFrame({"document": names[doc_idx], "start": start, "end": end,
                          "code": np.asarray(codes, dtype=object)[code_idx]})
        return f.drop_duplicates(["document", "start", "end", "code"], ignore_index=True)

    adocs = min(agreement_docs, len(names))
    per_doc = max(1, min(100, n_segments // 10 // max(adocs, 1)))  # ~10 % of the segments for a and b
    a_doc = np.repeat(np.arange(adocs), per_doc)
    a_start, a_end, a_code = spans(a_doc)
    seg_a = frame(a_doc, a_start, a_end, a_code)
    # b: 80 % of a's spans nudged by up to 10 characters, plus 20 % of its own
    keep = rng.random(len(seg_a)) < 0.8
    doc_pos = pd.Index(names).get_indexer(seg_a["document"])[keep]
    nc = n_chars[doc_pos]
    shift = rng.integers(-10, 11, size=(int(keep.sum()), 2))
    b_start = np.clip(seg_a["start"].to_numpy()[keep] + shift[:, 0], 0, nc - 2)
    b_end = np.clip(seg_a["end"].to_numpy()[keep] + shift[:, 1], b_start + 1, nc)
    b_code = pd.Index(codes).get_indexer(seg_a["code"][keep])
    own = np.repeat(np.arange(adocs), per_doc // 4 + 1)
    o_start, o_end, o_code = spans(own)
    seg_b = frame(np.concatenate([doc_pos, own]), np.concatenate([b_start, o_start]),
                  np.concatenate([b_end, o_end]), np.concatenate([b_code, o_code]))
    n_c = n_segments - len(seg_a) - len(seg_b)
    seg_c = pd.DataFrame(columns=["document", "start", "end", "code"])
    while len(seg_c) < n_c:  # top up after dropping the (rare) duplicate spans
        c_doc = np.sort(rng.integers(0, len(names), size=int((n_c - len(seg_c)) * 1.01) + 10))
        more = frame(c_doc, *spans(c_doc))
        seg_c = pd.concat([seg_c, more], ignore_index=True).drop_duplicates(
            ["document", "start", "end", "code"], ignore_index=True)
    seg_c = seg_c.iloc[:n_c].astype({"start": "int64", "end": "int64"})
    return {"a": seg_a, "b": seg_b, "c": seg_c}


def _profiled(step: str, wanted: str | None, fn):
    if step != wanted:
        return fn()
    prof = cProfile.Profile()
    out = prof.runcall(fn)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
    print(f"--- profile of step {step!r} ---\n{buf.getvalue()}", file=sys.stderr)
    return out


def _timed_once(step, wanted, fn):
    t0 = time.perf_counter()
    out = _profiled(step, wanted, fn)
    return [time.perf_counter() - t0], out


def _timed_repeat(step, wanted, fn, repeat):
    times, out = [], None
    for i in range(repeat):
        t0 = time.perf_counter()
        out = _profiled(step, wanted if i == 0 else None, fn)
        times.append(time.perf_counter() - t0)
    return times, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--segments", type=int, default=500_000)
    ap.add_argument("--agreement-docs", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of the read-only steps (median counts)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", choices=sorted(TARGETS), help="print a cProfile listing of one step")
    ap.add_argument("--keep", type=Path, help="copy the finished project file here")
    ap.add_argument("--open-gb", type=float, default=1.0, help="size of the project opened by the open step")
    ap.add_argument("--doc-kb", type=float, default=40.0, help="transcript length in the open step")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    docs, cases = make_documents(args.docs, seed=args.seed)
    mb = docs["text"].str.len().iloc[:args.docs].sum() / 1e6
    print(f"generated {len(docs):,} document rows ({args.docs:,} distinct texts, {mb:.2f} M characters, "
          f"mean {docs['text'].str.len().mean():.0f}) and {len(cases):,} cases in {time.perf_counter() - t:.1f} s")

    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.rsqda"
        proj = rs.Project.create(path, user="bench")
        try:
            proj.import_cases(cases)
            results["import"], ids = _timed_once(
                "import", args.profile, lambda: proj.add_documents(docs, on_duplicate="skip"))
            n_new = len(set(ids))
            assert n_new == args.docs, (n_new, args.docs)
            n_turns = proj._q("SELECT COUNT(*) FROM turns")[0][0]
            print(f"imported {n_new:,} documents ({len(docs) - n_new:,} duplicate rows skipped), {n_turns:,} turns")

            meta = proj.documents()[["name", "n_chars"]]
            codes = proj.codes()
            leaf = codes.loc[codes["parent"].notna(), "path"].tolist()
            t = time.perf_counter()
            frames = make_segments(meta, leaf, args.segments, args.agreement_docs, seed=args.seed)
            n_seg = sum(len(f) for f in frames.values())
            print(f"generated {n_seg:,} segments ({', '.join(f'{k}: {len(v):,}' for k, v in frames.items())}) "
                  f"in {time.perf_counter() - t:.1f} s")

            def code_all():
                return {k: proj.code_many(f, coder=k) for k, f in frames.items()}

            results["code"], seg_ids = _timed_once("code", args.profile, code_all)
            stored = proj._q("SELECT COUNT(*) FROM segments")[0][0]
            assert stored == n_seg == sum(len(set(v)) for v in seg_ids.values()), (stored, n_seg)

            results["matrix"], matrix = _timed_repeat("matrix", args.profile, proj.framework_matrix, args.repeat)
            assert int(matrix.cells["n_segments"].sum()) == n_seg
            results["segments"], segs = _timed_repeat("segments", args.profile, proj.segments, args.repeat)
            assert len(segs) == n_seg

            results["agreement"], agr = _timed_repeat(
                "agreement", args.profile, lambda: proj.agreement("a", "b", unit="character"), args.repeat)
            pooled = agr.pooled
            print(f"matrix: {matrix.cells['case'].nunique():,} cases x {len(matrix.codes)} codes; agreement over "
                  f"{agr.provenance['n_documents']} documents: pooled kappa {pooled['kappa']:.4f}, "
                  f"alpha {pooled['alpha']:.4f}, {len(agr.disagreements()):,} disagreements")
            size_mb = path.stat().st_size / 1e6
        finally:
            proj.close()
        if args.keep:
            import shutil

            shutil.copy2(path, args.keep)
    print(f"project file: {size_mb:.0f} MB")
    fill = {"docs": args.docs, "mb": mb, "segments": n_seg, "calls": len(frames), "adocs": args.agreement_docs}
    anchor = None
    if args.open_gb > 0:
        with tempfile.TemporaryDirectory() as tmp:
            results["open"], anchor, more = bench_open(Path(tmp), args.open_gb, args.doc_kb, max(args.repeat, 5),
                                                      args.seed)
        fill.update(more)

    print()
    print(f"{'step':<68s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'target':>8s}  ok")
    missed = []
    for step, times in results.items():
        med = float(np.median(times))
        ok = med < TARGETS[step]
        if not ok:
            missed.append(step)
        print(f"{LABELS[step].format(**fill):<68s} {med:9.2f} {min(times):7.2f} {max(times):7.2f} "
              f"{'< ' + format(TARGETS[step], 'g'):>8s}  {'yes' if ok else 'NO'}")
    if anchor is not None:
        med_open, med_anchor = float(np.median(results["open"])), float(np.median(anchor))
        print(f"anchor: raw sqlite3.connect + one read of the same file, median {med_anchor * 1e3:.2f} ms; "
              f"Project.open median {med_open * 1e3:.2f} ms = {med_open / med_anchor:.1f} x the anchor")
    print(f"(load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs)")
    if missed:
        print(f"MISSED: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
