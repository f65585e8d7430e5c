"""Write tests/reference/text_nltk.json: nltk's sentence spans, word spans and stems for a fixed corpus.

recoverystudy no longer imports nltk (``qual/_punkt.py`` and ``qual/_snowball.py`` are its own code);
tests/test_text_fixture.py compares them with these answers so that equality is checked even where nltk is
not installed, and tests/test_text_exact.py checks that this file still holds what the installed nltk gives.

Run from the repository root (needs nltk, a test dependency)::

    python tests/reference/make_text_fixtures.py

The corpus: every distinct non-blank line of the transcripts, care plans and documents in tests/data and of
the synthetic six-site study (seed 0) - sentence splitting works line by line, so equal answers on every
line mean equal answers on every document -, 1,500 generated edge-case texts (seed 7; their word spans
too), the stems of every
distinct word of those texts and of a fixed sample of 8,000 words of a large vocabulary, and 3,000
generated suffix-heavy words.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import nltk  # noqa: E402
from nltk.stem.snowball import SnowballStemmer  # noqa: E402
from nltk.tokenize import RegexpTokenizer  # noqa: E402
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer  # noqa: E402

from _text_corpus import (corpus_words, data_documents, random_text, random_word,  # noqa: E402
                          synthetic_documents, vocabulary)
from recoverystudy.qual.text import ABBREVIATIONS, _WORD  # noqa: E402

OUT = Path(__file__).with_name("text_nltk.json")


def main() -> None:
    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    punkt = PunktSentenceTokenizer(params)
    words = RegexpTokenizer(_WORD.pattern, flags=re.UNICODE)
    snowball = SnowballStemmer("english")

    def sentences(t: str) -> list[list[int]]:
        spans, pos = [], 0
        for line in t.split("\n"):
            if line.strip():
                spans.extend([pos + a, pos + b] for a, b in punkt.span_tokenize(line))
            pos += len(line) + 1
        return spans

    documents = {**data_documents(), **synthetic_documents()}
    lines = sorted({line for t in documents.values() for line in t.split("\n") if line.strip()})
    rng = random.Random(7)
    generated = [random_text(rng) for _ in range(1500)]
    texts = lines + generated

    vocab = sorted(vocabulary(Path(nltk.__file__).parent))
    sample = random.Random(11).sample(vocab, 8000)
    stem_words = sorted(corpus_words(texts) | set(sample) | {random_word(rng) for _ in range(3000)})

    fixture = {
        "generated_by": "tests/reference/make_text_fixtures.py",
        "nltk_version": nltk.__version__,
        "abbreviations": sorted(ABBREVIATIONS),
        "n_documents": len(documents),
        # sentence spans of every text; word spans (flattened: start, end, start, end ...) of the generated
        # ones, where the odd characters are
        "texts": [{"text": t, "sentences": sentences(t)} for t in lines]
        + [{"text": t, "sentences": sentences(t), "words": [i for s in words.span_tokenize(t) for i in s]}
           for t in generated],
        "stems": {w: snowball.stem(w) for w in stem_words},
    }
    OUT.write_text(_dumps(fixture), encoding="utf-8")
    print(f"{OUT}: {len(texts)} texts ({len(lines)} document lines from {len(documents)} documents, "
          f"{len(generated)} generated), {len(stem_words)} stems, nltk {nltk.__version__}")


def _dumps(fixture: dict) -> str:
    """JSON with one text (or one stem) per line: small, and readable in a diff."""
    def one(x) -> str:
        return json.dumps(x, ensure_ascii=False, separators=(",", ":"))

    head = ",\n".join(f"{one(k)}:{one(v)}" for k, v in fixture.items() if k not in ("texts", "stems"))
    texts = ",\n".join(one(t) for t in fixture["texts"])
    stems = ",\n".join(f"{one(w)}:{one(s)}" for w, s in fixture["stems"].items())
    return "{" + head + ',\n"texts":[\n' + texts + '\n],\n"stems":{\n' + stems + "\n}}\n"


if __name__ == "__main__":
    main()
