"""Without nltk: our sentence spans, word spans and stems equal nltk's answers frozen in a fixture, and the
package never imports nltk.

tests/reference/text_nltk.json was written by tests/reference/make_text_fixtures.py with nltk 3.10
(PunktSentenceTokenizer with our abbreviations, RegexpTokenizer, SnowballStemmer("english")) for every
distinct line of the test and synthetic documents, 1,500 generated edge-case texts and about 13,000 words.
tests/test_text_exact.py compares with the installed nltk directly and checks the fixture is still current.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recoverystudy.qual import _snowball, text

FIXTURE = Path(__file__).parent / "reference" / "text_nltk.json"


@pytest.fixture(scope="module")
def fixture():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_fixture_covers_the_corpus(fixture):
    assert fixture["abbreviations"] == sorted(text.ABBREVIATIONS)  # the parameters nltk was given
    assert fixture["n_documents"] > 200
    assert len(fixture["texts"]) > 3500
    assert sum(len(c["sentences"]) for c in fixture["texts"]) > 5000
    assert sum("words" in c for c in fixture["texts"]) == 1500
    assert len(fixture["stems"]) > 12000


def test_sentence_and_word_spans_equal_the_nltk_fixture(fixture):
    differ = [(c["text"], text.sentence_spans(c["text"]), c["sentences"]) for c in fixture["texts"]
              if [list(s) for s in text.sentence_spans(c["text"])] != c["sentences"]]
    assert differ == []
    differ = [c["text"] for c in fixture["texts"]
              if "words" in c and [i for s in text.word_spans(c["text"]) for i in s] != c["words"]]
    assert differ == []


def test_stems_equal_the_nltk_fixture(fixture):
    stems = fixture["stems"]
    assert {w: _snowball.english_stem(w) for w in stems} == stems
    assert {w: text.stem(w) for w in stems if "’" not in w} == stems  # text.stem lower-cases and maps ’ first


def test_known_answers():
    # hand-checked cases of each rule (nltk gives the same): an abbreviation does not end a sentence; a number
    # or an initial before a lower-case word does not either, nor an initial before a capital; a number before
    # a capital does; an ellipsis before a lower-case word does not; closing quotes and brackets stay with
    # their sentence
    t = ('Dr. Patel saw me. NHS no. 943 is on it. J. R. R. Tolkien wrote it... then "Stop." (See below.) '
         "Is it? Yes!! 3. Ok. Step 2. then 3. He left at 5 p.m. Then e.g. tea")
    assert [t[a:b] for a, b in text.sentence_spans(t)] == [
        "Dr. Patel saw me.", "NHS no. 943 is on it.", 'J. R. R. Tolkien wrote it... then "Stop."',
        "(See below.)", "Is it?", "Yes!!", "3.", "Ok.", "Step 2. then 3.", "He left at 5 p.m.", "Then e.g. tea"]
    # the regex engine's \w, as nltk ran it: a combining accent is part of the word, a superscript is not
    assert text.word_spans("cafe\u0301 x² mum’s") == [(0, 5), (6, 7), (9, 14)]
    assert [text.stem(w) for w in ("generously", "dying", "skies", "hopping", "agreed", "Y’all", "ugly")] == [
        "generous", "die", "sky", "hop", "agre", "y'all", "ugli"]


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1], timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_text_functions_do_not_import_nltk():
    out = _run("""
        import recoverystudy, sys
        from recoverystudy.qual import text
        text.sentence_spans('A b. C d.'); text.word_spans('A b'); text.stem('plans'); text.stems('Care plans')
        print('nltk' in sys.modules)
    """)
    assert out == "False"


def test_the_demo_framework_method_step_runs_with_nltk_unimportable():
    # nltk is made impossible to import: any attempt would fail the step; the step codes, suggests, reviews
    # and computes sentence-level agreement, i.e. every text function the demo uses
    out = _run("""
        import sys, tempfile, pathlib

        class NoNltk:
            def find_spec(self, name, path=None, target=None):
                if name == "nltk" or name.startswith("nltk."):
                    raise ImportError("recoverystudy imported " + name)

        sys.meta_path.insert(0, NoNltk())
        from recoverystudy.report.demo import DemoRun, framework_project, generate_study
        run = DemoRun.start(pathlib.Path(tempfile.mkdtemp()) / "out", seed=0, scale=0.2)
        generate_study(run)
        framework_project(run)
        assert run.unavailable == {}, run.unavailable
        print(len(run.tables["agreement_sentence"]) > 0, "nltk" in sys.modules)
    """)
    assert out == "True False"
