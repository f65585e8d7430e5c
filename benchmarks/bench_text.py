"""Benchmark: our sentence splitter, word finder and stemmer against nltk's, on the synthetic study's texts.

Run:  python benchmarks/bench_text.py [--repeat 7]   (needs nltk, a test dependency)

``recoverystudy.qual.text`` used nltk (``PunktSentenceTokenizer`` with our abbreviations, ``RegexpTokenizer``,
``SnowballStemmer("english")``); it now uses its own implementations (``qual/_punkt.py``,
``qual/_snowball.py``), which give the same answers (tests/test_text_exact.py).  Target: each at least as
fast as nltk's (ratio ours / nltk <= 1) on the transcripts and care plans of ``six_site_study(seed=0)``.
Stems are timed without the ``lru_cache`` of ``text.stem``, over every word (not only distinct ones).  Also
printed: the CPU cost of importing nltk in a fresh interpreter, which the demo no longer pays.  Exits with
status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from _machine import machine, medians

import recoverystudy as rs
from recoverystudy.qual import _snowball, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(machine())

    from nltk.stem.snowball import SnowballStemmer
    from nltk.tokenize import RegexpTokenizer
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(text.ABBREVIATIONS)
    punkt = PunktSentenceTokenizer(params)
    word_tokenizer = RegexpTokenizer(text._WORD.pattern, flags=re.UNICODE)
    snowball = SnowballStemmer("english")

    def nltk_sentences(t: str) -> list[tuple[int, int]]:
        spans, pos = [], 0
        for line in t.split("\n"):
            if line.strip():
                spans.extend((pos + a, pos + b) for a, b in punkt.span_tokenize(line))
            pos += len(line) + 1
        return spans

    study = rs.synthetic.six_site_study(seed=0)
    docs = list(study.interviews["text"]) + list(study.care_plans["text"])
    words = [t[a:b].lower().replace("’", "'") for t in docs for a, b in text.word_spans(t)]
    print(f"{len(docs)} documents, {sum(map(len, docs)):,} characters, {len(words):,} words "
          f"({len(set(words)):,} distinct)")

    steps = {
        "sentence spans": (lambda: [text.sentence_spans(t) for t in docs],
                           lambda: [nltk_sentences(t) for t in docs]),
        "word spans": (lambda: [text.word_spans(t) for t in docs],
                       lambda: [list(word_tokenizer.span_tokenize(t)) for t in docs]),
        "stems (uncached)": (lambda: [_snowball.english_stem(w) for w in words],
                             lambda: [snowball.stem(w) for w in words]),
    }
    missed = []
    print(f"{'step':<18} {'ours (s)':>9} {'nltk (s)':>9} {'ours/nltk':>10}")
    for name, (ours, theirs) in steps.items():
        times, out = medians({"ours": ours, "nltk": theirs}, repeat=args.repeat)
        assert out["ours"] == out["nltk"], f"{name}: results differ from nltk's"
        ratio = times["ours"] / times["nltk"]
        print(f"{name:<18} {times['ours']:>9.4f} {times['nltk']:>9.4f} {ratio:>10.2f}")
        if ratio > 1:
            missed.append(name)

    code = "import time; t = time.process_time(); import nltk.tokenize.punkt; print(time.process_time() - t)"
    cpu = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
           for _ in range(3)]
    print(f"importing nltk.tokenize.punkt in a fresh interpreter: {sorted(cpu)[1]:.2f} s CPU (median of 3)")
    if missed:
        print("target missed (ours slower than nltk):", ", ".join(missed))
        return 1
    print("all targets met (ours / nltk <= 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
