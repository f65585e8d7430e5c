"""Our sentence splitter, word finder and stemmer give exactly nltk's results (nltk: a test-only dependency).

``recoverystudy.qual.text`` used nltk's ``PunktSentenceTokenizer`` (untrained, abbreviations only),
``RegexpTokenizer`` and ``SnowballStemmer("english")``; it now uses its own code (``qual/_punkt.py``,
``qual/_snowball.py``).  Here the two are compared on generated text (hypothesis), on every transcript, care
plan and document in tests/data and in the synthetic study, and on a large vocabulary.  The same comparison,
frozen in tests/reference/text_nltk.json, runs without nltk in tests/test_text_fixture.py.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

nltk = pytest.importorskip("nltk")

from nltk.stem.snowball import SnowballStemmer  # noqa: E402
from nltk.tokenize import RegexpTokenizer  # noqa: E402
from nltk.tokenize.punkt import PunktLanguageVars, PunktParameters, PunktSentenceTokenizer  # noqa: E402

from _text_corpus import (PIECES, corpus_words, data_documents, random_abbreviation, random_text,  # noqa: E402
                          random_word, synthetic_documents, vocabulary)
from recoverystudy.qual import _punkt, _snowball, text  # noqa: E402

FIXTURE = Path(__file__).parent / "reference" / "text_nltk.json"
TEXT_PROPERTY = settings(max_examples=3000, deadline=None, derandomize=True, database=None)
PROPERTY = settings(max_examples=3000, deadline=None, derandomize=True, database=None)

_PARAMS = PunktParameters()
_PARAMS.abbrev_types = set(text.ABBREVIATIONS)
PUNKT = PunktSentenceTokenizer(_PARAMS)
WORDS = RegexpTokenizer(text._WORD.pattern, flags=re.UNICODE)
SNOWBALL = SnowballStemmer("english")
LANG = PunktLanguageVars()


def nltk_sentence_spans(t: str) -> list[tuple[int, int]]:
    """What ``text.sentence_spans`` returned when it called nltk (line by line)."""
    spans, pos = [], 0
    for line in t.split("\n"):
        if line.strip():
            spans.extend((pos + a, pos + b) for a, b in PUNKT.span_tokenize(line))
        pos += len(line) + 1
    return spans


def nltk_stem(word: str) -> str:
    return SNOWBALL.stem(word.lower().replace("’", "'"))


# -- generated text ---------------------------------------------------------------------------------------

_abbreviation = st.builds(lambda r: random_abbreviation(r), st.randoms(use_true_random=False))
_piece = st.one_of(
    st.sampled_from(PIECES),
    _abbreviation,
    st.text(max_size=3),  # any Unicode
    st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True),
    st.from_regex(r"[A-Z]\.( ?[A-Z]\.){0,3}", fullmatch=True),  # initials: "J. R. R."
    st.from_regex(r"-?[.,]?[0-9]{1,4}([.,-][0-9]{1,3}){0,2}\.?", fullmatch=True),  # numbers
    st.sampled_from([" ", "  ", "\t", "\n", "\n\n", "\n \n"]),
)
texts = st.lists(_piece, max_size=30).map("".join)


@TEXT_PROPERTY
@given(texts)
def test_generated_text_gives_nltk_sentences_words_and_tokens(t):
    assert text.sentence_spans(t) == nltk_sentence_spans(t)
    assert text.word_spans(t) == list(WORDS.span_tokenize(t))
    # the Punkt module on its own, given text with newlines (sentence_spans only ever passes it single lines)
    assert _punkt.span_tokenize(t, text.ABBREVIATIONS) == list(PUNKT.span_tokenize(t))
    assert _punkt.word_tokenize(t) == LANG.word_tokenize(t)


words = st.one_of(
    st.builds(random_word, st.randoms(use_true_random=False)),
    st.text(max_size=12),
    st.text(alphabet="aeiouybcdlgnstrmwxY'’‘‛-", max_size=14),
)


@PROPERTY
@given(words)
def test_stem_equals_nltk_on_generated_words(w):
    assert _snowball.english_stem(w) == SNOWBALL.stem(w)
    assert text.stem(w) == nltk_stem(w)


def test_seeded_random_texts_equal_nltk():
    # a further 4,000 texts from the same generator as the fixture's, unseen by it (another seed)
    rng = random.Random(20261205)
    for _ in range(4000):
        t = random_text(rng)
        assert text.sentence_spans(t) == nltk_sentence_spans(t), t
        assert _punkt.span_tokenize(t, text.ABBREVIATIONS) == list(PUNKT.span_tokenize(t)), t
    for _ in range(20000):
        w = random_word(rng)
        assert _snowball.english_stem(w) == SNOWBALL.stem(w), w


# -- real and synthetic documents ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def documents():
    docs = data_documents()
    assert len(docs) >= 60  # the care plans, transcripts and documents of tests/data
    docs.update(synthetic_documents())
    return docs


def test_every_document_splits_into_the_same_sentences(documents):
    n_sentences = 0
    for name, t in documents.items():
        ours, theirs = text.sentence_spans(t), nltk_sentence_spans(t)
        if ours != theirs:  # name the first sentence that differs
            i = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            pytest.fail(f"{name}: sentence {i} differs: ours {ours[i:i + 1]}, nltk {theirs[i:i + 1]}")
        assert text.word_spans(t) == list(WORDS.span_tokenize(t)), name
        n_sentences += len(ours)
    assert n_sentences > 3000


def test_stems_of_every_corpus_word_and_a_large_vocabulary(documents):
    nltk_dir = Path(nltk.__file__).parent
    vocab = corpus_words(documents.values()) | vocabulary(nltk_dir)
    assert len(vocab) > 80_000
    differ = [(w, _snowball.english_stem(w), SNOWBALL.stem(w)) for w in sorted(vocab)
              if _snowball.english_stem(w) != SNOWBALL.stem(w)]
    assert differ == []


def test_the_committed_fixture_is_what_nltk_gives():
    """tests/reference/text_nltk.json (used where nltk is absent) still holds nltk's answers."""
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for case in fixture["texts"]:
        assert nltk_sentence_spans(case["text"]) == [tuple(s) for s in case["sentences"]], case["text"]
        if "words" in case:
            assert [i for s in WORDS.span_tokenize(case["text"]) for i in s] == case["words"], case["text"]
    assert {w: SNOWBALL.stem(w) for w in fixture["stems"]} == fixture["stems"]
