"""Texts on which our sentence splitter, word finder and stemmer are compared with nltk's.

Shared by ``tests/test_text_exact.py`` (live comparison with nltk) and ``tests/reference/make_text_fixtures.py``
(writes ``tests/reference/text_nltk.json`` for ``tests/test_text_fixture.py``, which needs no nltk).
"""

from __future__ import annotations

import random
import sysconfig
import zipfile
from pathlib import Path

import numpy
import pandas
import scipy

import recoverystudy as rs
from recoverystudy.errors import RecoveryStudyError
from recoverystudy.qual.documents import read_document
from recoverystudy.qual.text import ABBREVIATIONS, word_spans

DATA = Path(__file__).parent / "data"
_DOCUMENT_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".rtf", ".pdf")


def data_documents() -> dict[str, str]:
    """Every readable transcript, care plan and document under tests/data (REFI project sources too)."""
    docs: dict[str, str] = {}
    for path in sorted(DATA.rglob("*")):
        name = str(path.relative_to(DATA.parent))
        if path.suffix in _DOCUMENT_SUFFIXES:
            try:
                docs[name] = read_document(path).text
            except RecoveryStudyError:
                continue  # the deliberately broken files (binary, empty, corrupt, encrypted)
        elif path.suffix == ".qdpx":
            with zipfile.ZipFile(path) as z:
                for member in sorted(m for m in z.namelist() if m.endswith(".txt")):
                    docs[f"{name}!{member}"] = z.read(member).decode("utf-8")
    return docs


def synthetic_documents() -> dict[str, str]:
    """The synthetic six-site study's transcripts and care plans (seed 0), as the demo uses them."""
    study = rs.synthetic.six_site_study(seed=0)
    docs = {f"interview:{n}": t for n, t in zip(study.interviews["name"], study.interviews["text"])}
    docs.update({f"care_plan:{n}": t for n, t in zip(study.care_plans["plan_id"], study.care_plans["text"])})
    return docs


def corpus_words(texts) -> set[str]:
    """Distinct words of *texts*, as ``stem`` receives them (lower case, ’ as ')."""
    return {t[a:b].lower().replace("’", "'") for t in texts for a, b in word_spans(t)}


def vocabulary(nltk_dir: Path | None) -> set[str]:
    """A large vocabulary (about 100,000 words): /usr/share/dict/words if present, the words of nltk's own
    .py, .md and .txt files and of tests/data, of the Python standard library's modules and reference
    topics, and of numpy's, pandas' and scipy's modules (their docstrings are long English texts)."""
    words: set[str] = set()
    dictionary = Path("/usr/share/dict/words")
    if dictionary.is_file():
        words |= corpus_words(dictionary.read_text(encoding="utf-8", errors="replace").splitlines())
    files = [p for root in [DATA] + ([nltk_dir] if nltk_dir is not None else []) for p in sorted(root.rglob("*"))
             if p.suffix in (".py", ".md", ".txt")]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files += sorted(stdlib.glob("*.py")) + sorted((stdlib / "pydoc_data").glob("*.py"))
    for module in (numpy, pandas, scipy):
        files += [p for p in sorted(Path(module.__file__).parent.rglob("*.py")) if "tests" not in p.parts]
    for path in files:
        if path.is_file():
            words |= corpus_words([path.read_text(encoding="utf-8", errors="replace")])
    return words


# -- generated edge cases -------------------------------------------------------------------------------

#: Pieces that exercise every branch of Punkt: abbreviations, initials, numbers, ellipses, closing quotes
#: and brackets, ?!, white space of every kind, apostrophes, hyphens, speaker labels, non-ASCII letters.
PIECES = (
    "care", "plan", "Plan", "PLAN", "recovery", "mum’s", "it's", "o'clock", "co-op", "care-plan", "ex-dr.",
    "Émile", "éclair", "straße", "İstanbul", "cafe\u0301", "x²", "٣", "Ωmega", "ﬁne", "naïve", "日本",
    "J.", "R.", "j.", "É.", "x.", "A.", "I.", "3.5", "1.", "943", "943.", "-3", ",5", "1,000.", "12-3.", "4th.",
    "no. 943", "No. 7", "...", ". . .", "..", "…", "?!", "!", "?", ".", "!!!", "?.",
    '"', "'", "’", "‘", "“", "”", "«", "»", "(", ")", "[", "]", "{", "}", ")\"", ".)", ".'", ".”",
    "--", "-", ",", ";", ":", "@", "*", "#", "&", "`", "%", "##number##.",
    "Interviewer:", "SU01:", "CC:", "[CC]", "Carer 2:", "Dr. Patel", "e.g. this", "i.e.", "etc.", "vs.",
    " ", " ", " ", "  ", "\t", "\n", "\n\n", " \n ", "\r", "\xa0", "\u2028", "\x1c", "\x0b",
)


def random_abbreviation(rng: random.Random) -> str:
    abbr = rng.choice(sorted(ABBREVIATIONS))
    case = rng.choice((str.lower, str.upper, str.title, lambda s: s))
    return case(abbr) + "."


def random_text(rng: random.Random, max_pieces: int = 24) -> str:
    """A text glued from :data:`PIECES`, abbreviations in any case and random characters."""
    out = []
    for _ in range(rng.randint(0, max_pieces)):
        roll = rng.random()
        if roll < 0.15:
            out.append(random_abbreviation(rng))
        elif roll < 0.2:
            out.append("".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 3))))
        else:
            out.append(rng.choice(PIECES))
        if rng.random() < 0.6:
            out.append(rng.choice((" ", " ", " ", "", "  ", "\t", "\n")))
    return "".join(out)


def random_word(rng: random.Random) -> str:
    """A word-like string for the stemmer: English suffixes, y's, apostrophes."""
    stems = ("gener", "commun", "arsen", "sky", "proceed", "run", "hop", "play", "ca", "agre", "fly", "cry",
             "abbey", "yo", "ay", "happ", "nation", "care", "plan", "recov", "y", "'", "’", "‘", "‛", "eed")
    suffixes = ("", "s", "'s", "'s'", "'", "sses", "ied", "ies", "us", "ss", "eedly", "ingly", "edly", "eed",
                "ing", "ed", "y", "ization", "ational", "fulness", "ousness", "iveness", "tional", "biliti",
                "lessli", "entli", "ation", "alism", "aliti", "ousli", "iviti", "fulli", "enci", "anci", "abli",
                "izer", "ator", "alli", "bli", "logi", "ogi", "li", "alize", "icate", "iciti", "ative", "ical",
                "ness", "ful", "ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate",
                "iti", "ous", "ive", "ize", "sion", "tion", "ion", "al", "er", "ic", "e", "l", "ll", "at", "bl",
                "iz", "bb", "tt", "ly", "ies", "ied")
    letters = "aeiouybcdlgnstrmwxY'’"
    word = rng.choice(stems) + "".join(rng.choice(suffixes) for _ in range(rng.randint(0, 3)))
    if rng.random() < 0.3:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(0, 10)))
    return word.lower().replace("’", "'")
