"""Benchmark: the coding studio in a real browser (Debian's Chromium driven by Playwright).

Run:  python benchmarks/bench_studio.py [--words 20000] [--codings 2000] [--cases 120] [--codes 40] [--repeat 5]

Targets (issue 16, 2-core reference machine):

* a 20,000-word transcript with 2,000 codings renders and becomes interactive in < 1 s
  (navigation start to the page's script having drawn every highlight: ``window.rsReadyMs``);
* applying a code takes < 100 ms from the click to the highlight (``window.rsLastApplyMs``, measured
  in the page: request, database write in one transaction, redraw of the turns concerned);
* the framework matrix of 120 cases x 40 codes opens in < 1 s (navigation start to the load event).

Anchor, measured in the same run and the same browser: showing the same 20,000 words as plain HTML
(``page.set_content``, no script, no highlights).  Each step prints its time and its ratio to the
anchor, so runs on different machines can be compared.  Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import recoverystudy as rs

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
WORDS = ("care plan coordinator review copy mum sister risk form crisis line night listens rings back team "
         "medication goals work housing money hope recovery choice involved meeting letter computer nobody "
         "asked said felt heard change wanted support").split()


def transcript(n_words: int, rng: np.random.Generator) -> str:
    lines, done, k = [], 0, 0
    while done < n_words:
        n = int(rng.integers(20, 180))
        words = rng.choice(WORDS, size=n)
        sentences = [" ".join(words[i:i + 12]).capitalize() + "." for i in range(0, n, 12)]
        lines.append(("Interviewer: " if k % 2 == 0 else "SU0001: ") + " ".join(sentences))
        done += n
        k += 1
    return "\n".join(lines)


def build(folder: Path, args, rng) -> tuple[rs.Project, str]:
    proj = rs.Project.create(folder / "bench.rsqda")
    text = transcript(args.words, rng)
    proj.add_case("BIG", site="Site A")
    proj.add_document(text, name="big", case="BIG")
    codes = proj.codes()
    paths = codes[codes["parent"].notna()]["path"].to_numpy()
    turns = proj.turns("big")
    turns = turns[turns["end"] - turns["text_start"] > 40]
    rows = []
    for i in range(args.codings):
        t = turns.iloc[int(rng.integers(len(turns)))]
        a = int(rng.integers(t["text_start"], t["end"] - 20))
        b = int(min(t["end"], a + rng.integers(15, 300)))
        rows.append(("big", a, b, str(paths[i % len(paths)]), "AB" if i % 2 else "CD"))
    frame = pd.DataFrame(rows, columns=["document", "start", "end", "code", "coder"]).drop_duplicates(
        ["start", "end", "code", "coder"])
    proj.code_many(frame)
    # the matrix: a theme of args.codes codes over args.cases cases at six sites
    proj.add_code("bench", name="Benchmark theme")
    for j in range(args.codes):
        proj.add_code(f"bench/code_{j:02d}", name=f"Code {j}")
    cases = pd.DataFrame({"case": [f"C{i:03d}" for i in range(args.cases)],
                          "site": [f"Site {'ABCDEF'[i % 6]}" for i in range(args.cases)]})
    proj.import_cases(cases)
    docs = pd.DataFrame({"name": [f"doc {c}" for c in cases["case"]], "case": cases["case"],
                         "text": [f"SU: {transcript(300, rng)} ({c})" for c in cases["case"]]})
    proj.add_documents(docs)
    seg = []
    for name in docs["name"]:
        for j in range(args.codes):
            if rng.random() < 0.5:
                seg.append((name, 4, 60, f"bench/code_{j:02d}", "AB"))
    proj.code_many(pd.DataFrame(seg, columns=["document", "start", "end", "code", "coder"]))
    for case in cases["case"][: args.cases // 3]:
        proj.chart(case, "bench/code_00", f"Summary for {case}: " + "words " * 30, author="AB")
    return proj, text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=20_000)
    ap.add_argument("--codings", type=int, default=2_000)
    ap.add_argument("--cases", type=int, default=120)
    ap.add_argument("--codes", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="bench-studio-"))
    t0 = time.perf_counter()
    proj, text = build(folder, args, rng)
    print(f"Project built in {time.perf_counter() - t0:.1f} s: {len(text.split()):,} words, "
          f"{len(proj.segments(case='BIG')):,} codings on it; matrix {args.cases} cases x {args.codes} codes.")
    server = rs.studio(proj, coder="AB")
    base = server.url.split("/?")[0]
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda e: print("page error:", e, file=sys.stderr))
    page.on("console", lambda m: print("console:", m.text, file=sys.stderr) if m.type == "error" else None)
    results = {}
    try:
        # anchor: the same words as plain HTML
        plain = "<!doctype html><html><body>" + "".join(
            f"<p>{line}</p>" for line in text.replace("&", "&amp;").replace("<", "&lt;").splitlines()) + "</body></html>"
        anchor = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            page.set_content(plain, wait_until="load")
            page.evaluate("document.body.getBoundingClientRect().height")  # force layout
            anchor.append(1000 * (time.perf_counter() - start))
        results["anchor"] = statistics.median(anchor)
        page.goto(server.url)
        doc_id = int(proj.documents().set_index("name").loc["big", "document_id"])
        ready = []
        for _ in range(args.repeat):
            response = page.goto(f"{base}/documents/{doc_id}")
            if response is None or response.status != 200:
                raise RuntimeError(f"The document page answered {response and response.status}.")
            page.wait_for_selector("#transcript[data-ready='1']")
            ready.append(page.evaluate("window.rsReadyMs"))
        results["document"] = statistics.median(ready)
        n_marks = page.locator("mark.hl").count()
        apply = []
        turns = page.locator("#transcript .turn")
        for i in range(args.repeat):
            turn = turns.nth(2 * i + 1)
            turn.focus()
            page.keyboard.press("t")
            page.locator("button.apply-code[data-path='crisis/who_to_contact']").click()
            page.wait_for_selector(f"#status:has-text('Coded with')")
            apply.append(page.evaluate("window.rsLastApplyMs"))
            page.evaluate("document.getElementById('status').textContent = ''")
        results["apply"] = statistics.median(apply)
        matrix = []
        for _ in range(args.repeat):
            page.goto(f"{base}/matrix?theme=bench", wait_until="load")
            matrix.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
        results["matrix"] = statistics.median(matrix)
        n_cells = page.locator("table.matrix td").count()
    finally:
        browser.close()
        pw.stop()
        server.stop()
        proj.close()
    targets = {"document": 1000.0, "apply": 100.0, "matrix": 1000.0}
    labels = {"anchor": f"anchor: {args.words:,} words as plain HTML",
              "document": f"document page: {args.words:,} words, {n_marks:,} highlight pieces, interactive",
              "apply": "apply a code: click to highlight",
              "matrix": f"framework matrix: {n_cells:,} cells, loaded"}
    failed = False
    print(f"{'step':<66} {'median ms':>10} {'x anchor':>9} {'target':>8}")
    for key in ("anchor", "document", "apply", "matrix"):
        ms = results[key]
        target = targets.get(key)
        ok = target is None or ms < target
        failed |= not ok
        print(f"{labels[key]:<66} {ms:>10.0f} {ms / results['anchor']:>9.2f} "
              f"{'' if target is None else f'< {target:.0f}':>8} {'' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
