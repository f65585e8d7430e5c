"""The English Snowball (Porter 2) stemmer, giving exactly the stems of nltk's ``SnowballStemmer("english")``.

nltk's English stemmer is Porter 2 with a few details of its own (its list of special words, and the way
it carries the regions R1 and R2 along as strings while suffixes are replaced), so the official Snowball
code (the ``snowballstemmer`` package) does not give the same stem for every word.  This module reproduces
nltk's: its steps, suffix tables and region bookkeeping are adapted from ``nltk.stem.snowball``
(``EnglishStemmer``), Natural Language Toolkit, Copyright (C) 2001-2026 NLTK Project, Apache License 2.0
(http://www.apache.org/licenses/LICENSE-2.0).  The algorithm is Martin Porter's
(https://snowballstem.org/algorithms/english/stemmer.html).  ``tests/test_text_exact.py`` compares every
stem with nltk's.
"""

from __future__ import annotations

import re

__all__ = ["english_stem"]

_VOWELS = "aeiouy"
_VOWEL_SET = frozenset(_VOWELS)
#: A vowel followed by a non-vowel: R1 (and R2 inside R1) start after the first such pair.
_CLOSED = re.compile("[aeiouy][^aeiouy]", re.DOTALL)
_DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_LI_ENDING = "cdeghkmnrt"

#: Words stemmed by a fixed table rather than by the rules.
_SPECIAL = {
    "skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "idly": "idl",
    "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli", "singly": "singl", "sky": "sky",
    "news": "news", "howe": "howe", "atlas": "atlas", "cosmos": "cosmos", "bias": "bias", "andes": "andes",
    "inning": "inning", "innings": "inning", "outing": "outing", "outings": "outing", "canning": "canning",
    "cannings": "canning", "herring": "herring", "herrings": "herring", "earring": "earring",
    "earrings": "earring", "proceed": "proceed", "proceeds": "proceed", "proceeded": "proceed",
    "proceeding": "proceed", "exceed": "exceed", "exceeds": "exceed", "exceeded": "exceed",
    "exceeding": "exceed", "succeed": "succeed", "succeeds": "succeed", "succeeded": "succeed",
    "succeeding": "succeed",
}

# Suffix tables: (suffix, characters removed from the end, text put back, R2 when R2 is shorter than the
# removed part, condition).  In each step the first suffix the word ends with is the only one considered,
# and it is replaced only when R1 ends with it.
_STEP2 = (
    ("ization", 7, "ize", "", None), ("ational", 7, "ate", "e", None), ("fulness", 4, "", "", None),
    ("ousness", 7, "ous", "", None), ("iveness", 7, "ive", "e", None), ("tional", 2, "", "", None),
    ("biliti", 6, "ble", "", None), ("lessli", 2, "", "", None), ("entli", 2, "", "", None),
    ("ation", 5, "ate", "e", None), ("alism", 5, "al", "", None), ("aliti", 5, "al", "", None),
    ("ousli", 5, "ous", "", None), ("iviti", 5, "ive", "e", None), ("fulli", 2, "", "", None),
    ("enci", 1, "e", "", None), ("anci", 1, "e", "", None), ("abli", 1, "e", "", None),
    ("izer", 4, "ize", "", None), ("ator", 4, "ate", "e", None), ("alli", 4, "al", "", None),
    ("bli", 3, "ble", "", None), ("ogi", 1, "", "", "ogi"), ("li", 2, "", "", "li"),
)
_STEP3 = (
    ("ational", 7, "ate", "", None), ("tional", 2, "", "", None), ("alize", 3, "", "", None),
    ("icate", 5, "ic", "", None), ("iciti", 5, "ic", "", None), ("ative", 5, "", "", "ative"),
    ("ical", 4, "ic", "", None), ("ness", 4, "", "", None), ("ful", 3, "", "", None),
)
_STEP2_ENDINGS = tuple(row[0] for row in _STEP2)
_STEP3_ENDINGS = tuple(row[0] for row in _STEP3)
_STEP4 = ("ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate", "iti", "ous", "ive",
          "ize", "ion", "al", "er", "ic")


def _replace(word: str, r1: str, r2: str, cut: int, new: str, r2_short: str = "") -> tuple[str, str, str]:
    """Remove *cut* characters from the end of the word and of its regions and append *new*.

    A region shorter than *cut* becomes empty (R2 becomes *r2_short*), as in nltk.
    """
    return (word[:-cut] + new, r1[:-cut] + new if len(r1) >= cut else "",
            r2[:-cut] + new if len(r2) >= cut else r2_short)


def _regions(word: str) -> tuple[str, str]:
    """R1 and R2: what follows the first non-vowel after a vowel, and the same again inside R1."""
    if word.startswith(("gener", "arsen")):
        r1 = word[5:]
    elif word.startswith("commun"):
        r1 = word[6:]
    else:
        r1 = _after_first_closed_syllable(word)
    return r1, _after_first_closed_syllable(r1)


def _after_first_closed_syllable(s: str) -> str:
    found = _CLOSED.search(s)
    return s[found.end():] if found else ""


def _mark_consonant_y(word: str) -> str:
    """Upper-case a ``y`` that starts the word or follows a vowel (it then acts as a consonant)."""
    if "y" not in word:
        return word
    chars = list(word)
    if chars[0] == "y":
        chars[0] = "Y"
    for i in range(1, len(chars)):
        if chars[i] == "y" and chars[i - 1] in _VOWELS:
            chars[i] = "Y"
    return "".join(chars)


def _step1a(word: str, r1: str, r2: str) -> tuple[str, str, str]:
    for suffix in ("sses", "ied", "ies", "us", "ss", "s"):
        if word.endswith(suffix):
            if suffix == "sses":
                return _replace(word, r1, r2, 2, "")
            if suffix in ("ied", "ies"):
                return _replace(word, r1, r2, 2 if len(word) > 4 else 1, "")
            if suffix == "s" and not _VOWEL_SET.isdisjoint(word[:-2]):
                return _replace(word, r1, r2, 1, "")
            return word, r1, r2
    return word, r1, r2


def _step1b(word: str, r1: str, r2: str) -> tuple[str, str, str]:
    for suffix in ("eedly", "ingly", "edly", "eed", "ing", "ed"):
        if not word.endswith(suffix):
            continue
        n = len(suffix)
        if suffix in ("eed", "eedly"):
            if r1.endswith(suffix):
                return _replace(word, r1, r2, n, "ee")
            return word, r1, r2
        if _VOWEL_SET.isdisjoint(word[:-n]):
            return word, r1, r2
        word, r1, r2 = word[:-n], r1[:-n], r2[:-n]
        if word.endswith(("at", "bl", "iz")):
            word, r1 = word + "e", r1 + "e"
            if len(word) > 5 or len(r1) >= 3:
                r2 += "e"
        elif word.endswith(_DOUBLES):
            word, r1, r2 = word[:-1], r1[:-1], r2[:-1]
        elif r1 == "" and _is_short(word):
            word += "e"
            if r2:
                r2 += "e"
        return word, r1, r2
    return word, r1, r2


def _is_short(word: str) -> bool:
    """nltk's short-syllable test at the end of step 1b (R1 already known to be empty)."""
    if len(word) >= 3:
        return (word[-1] not in _VOWELS and word[-1] not in "wxY" and word[-2] in _VOWELS
                and word[-3] not in _VOWELS)
    return len(word) == 2 and word[0] in _VOWELS and word[1] not in _VOWELS


def _table_step(word: str, r1: str, r2: str, table, endings: tuple[str, ...]) -> tuple[str, str, str]:
    if not word.endswith(endings):
        return word, r1, r2
    for suffix, cut, new, r2_short, condition in table:
        if not word.endswith(suffix):
            continue
        if not r1.endswith(suffix):
            return word, r1, r2
        if condition == "ogi" and word[-4] != "l":
            return word, r1, r2
        if condition == "li" and word[-3] not in _LI_ENDING:
            return word, r1, r2
        if condition == "ative" and not r2.endswith(suffix):
            return word, r1, r2
        return _replace(word, r1, r2, cut, new, r2_short)
    return word, r1, r2


def _step4(word: str, r1: str, r2: str) -> tuple[str, str, str]:
    if not word.endswith(_STEP4):
        return word, r1, r2
    for suffix in _STEP4:
        if word.endswith(suffix):
            if r2.endswith(suffix):
                if suffix != "ion":
                    return _replace(word, r1, r2, len(suffix), "")
                if word[-4] in "st":
                    return _replace(word, r1, r2, 3, "")
            return word, r1, r2
    return word, r1, r2


def _step5(word: str, r1: str, r2: str) -> str:
    if r2.endswith("l") and word[-2] == "l":
        return word[:-1]
    if r2.endswith("e"):
        return word[:-1]
    if r1.endswith("e") and len(word) >= 4 and (word[-2] in _VOWELS or word[-2] in "wxY"
                                                 or word[-3] not in _VOWELS or word[-4] in _VOWELS):
        return word[:-1]
    return word


def english_stem(word: str) -> str:
    """Snowball English stem of *word* (lower-cased first), equal to nltk's ``SnowballStemmer("english")``.

    Examples
    --------
    >>> [english_stem(w) for w in ("Planning", "generously", "news", "succeeding", "hopeful", "y'all's")]
    ['plan', 'generous', 'news', 'succeed', 'hope', "y'all"]
    """
    word = word.lower()
    if len(word) <= 2:
        return word
    if word in _SPECIAL:
        return _SPECIAL[word]
    word = word.replace("\u2019", "'").replace("\u2018", "'").replace("\u201b", "'")
    if word.startswith("'"):
        word = word[1:]
    if word:
        word = _mark_consonant_y(word)
    r1, r2 = _regions(word)
    for suffix in ("'s'", "'s", "'"):  # step 0: possessives
        if word.endswith(suffix):
            word, r1, r2 = _replace(word, r1, r2, len(suffix), "")
            break
    word, r1, r2 = _step1a(word, r1, r2)
    word, r1, r2 = _step1b(word, r1, r2)
    if len(word) > 2 and word[-1] in "yY" and word[-2] not in _VOWELS:  # step 1c
        word, r1, r2 = _replace(word, r1, r2, 1, "i")
    word, r1, r2 = _table_step(word, r1, r2, _STEP2, _STEP2_ENDINGS)
    word, r1, r2 = _table_step(word, r1, r2, _STEP3, _STEP3_ENDINGS)
    word, r1, r2 = _step4(word, r1, r2)
    return _step5(word, r1, r2).replace("Y", "y")
