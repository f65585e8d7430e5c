"""Data-free text utilities: sentence spans, word spans and Snowball stems.

Nothing is downloaded and nltk is not needed.  Sentences come from the Punkt algorithm, untrained, with an
abbreviation list so that "Dr. Patel" and "NHS no. 943" do not end a sentence
(:mod:`recoverystudy.qual._punkt`); stems from the English Snowball (Porter 2) stemmer
(:mod:`recoverystudy.qual._snowball`).  Both are our own code and give exactly what nltk 3.10's
``PunktSentenceTokenizer`` (with these abbreviations) and ``SnowballStemmer("english")`` give: the test
suite compares them with nltk on generated text, on every test transcript and care plan and on a large
vocabulary, and with a committed fixture where nltk is not installed.  Words are found with one regular
expression, run by the ``regex`` engine as nltk ran it.  All spans are Python code-point offsets
``(start, end)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import regex

from recoverystudy.qual._punkt import span_tokenize as _punkt_spans
from recoverystudy.qual._snowball import english_stem

__all__ = ["sentence_spans", "word_spans", "stem", "stems", "speaker_turns", "speaker_role", "ABBREVIATIONS",
           "INTERVIEWER_LABELS", "last_turn_at", "spoken_by_excluded"]

#: Speaker labels (lower case) of the people asking the questions, whose turns are not data to be coded.
INTERVIEWER_LABELS = frozenset({"interviewer", "int", "i", "researcher", "moderator", "facilitator", "fac", "q"})

#: Abbreviations (lower case, no final dot) after which a full stop does not end a sentence.
ABBREVIATIONS = frozenset(
    {
        "dr", "mr", "mrs", "ms", "prof", "e.g", "i.e", "etc", "no", "tel", "st", "vs", "approx", "dept",
        "ref", "cpn", "mins", "hrs", "wk", "wks", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
    }
)

#: A word: letters, digits, underscores and combining marks, with inner apostrophes.  Compiled with the
#: ``regex`` engine (as nltk's ``RegexpTokenizer`` did): its ``\w`` keeps combining accents inside a word
#: (``"cafe\u0301"`` is one word), where the standard library's ``re`` would split it.
_WORD = regex.compile(r"\w+(?:['’]\w+)*", regex.UNICODE)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split *text* into sentences and return their ``(start, end)`` code-point spans.

    Blank lines and speaker turns on new lines also end a sentence, so a transcript line such as
    ``"Interviewer: Hello"`` is never glued to the answer below it.

    Parameters
    ----------
    text : str
        Normalised text (newlines ``\\n``).

    Returns
    -------
    list of (int, int)
        Spans in order; ``text[start:end]`` is the sentence without trailing whitespace (a line's
        leading spaces or tabs stay with its first sentence, as Punkt gives them).

    Notes
    -----
    The Punkt algorithm untrained, with only the abbreviation list :data:`ABBREVIATIONS`
    (:func:`recoverystudy.qual._punkt.span_tokenize`, span for span what nltk's
    ``PunktSentenceTokenizer`` gives with the same parameters); no downloaded data.

    Examples
    --------
    >>> t = "Dr. Patel saw me. NHS no. 943 is on it.\\nSU01: Yes! It helps."
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['Dr. Patel saw me.', 'NHS no. 943 is on it.', 'SU01: Yes!', 'It helps.']
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            spans.extend((pos + a, pos + b) for a, b in _punkt_spans(line, ABBREVIATIONS))
        pos += len(line) + 1
    return spans


def word_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the words in *text* (letters, digits, inner apostrophes).

    One regular expression, ``\\w+(?:['’]\\w+)*``, run by the ``regex`` engine (so combining accents
    stay inside their word).

    Examples
    --------
    >>> t = "My mum's care-plan."
    >>> [t[a:b] for a, b in word_spans(t)]
    ['My', "mum's", 'care', 'plan']
    """
    return [m.span() for m in _WORD.finditer(text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball (Porter 2) English stem of one word, lower-cased.

    The same stem as nltk's ``SnowballStemmer("english")``
    (:func:`recoverystudy.qual._snowball.english_stem`).

    Examples
    --------
    >>> stem("Planning"), stem("plans"), stem("coordinators")
    ('plan', 'plan', 'coordin')
    """
    return english_stem(word.lower().replace("’", "'"))


def stems(text: str) -> list[str]:
    """Stems of the words of *text*, in order.

    Examples
    --------
    >>> stems("Care plans")
    ['care', 'plan']
    """
    return [stem(text[a:b]) for a, b in word_spans(text)]


_TURN = re.compile(
    r"^[ \t]*(?:\[(?P<bracket>[A-Za-z][\w.' -]{0,30}?)\]|(?P<label>[A-Z][\w.'-]{0,30}(?: [\w.'-]{1,20}){0,2}?)[ \t]*:)[ \t]*",
    re.MULTILINE,
)


def speaker_turns(text: str) -> list[tuple[str, int, int, int]]:
    """Find speaker turns such as ``Interviewer:``, ``SU01:``, ``CC:``, ``Carer 2:`` or ``[CC]``.

    A turn starts where a speaker label begins a line and runs to the end of the text before the next
    label (trailing whitespace excluded).  Text before the first label belongs to no turn.

    Returns
    -------
    list of (speaker, start, text_start, end)
        ``start`` is where the label begins, ``text_start`` where the spoken text begins.

    Examples
    --------
    >>> t = "Interviewer: How was it?\\nSU01: Fine.\\nIt was fine.\\n[CC] Good.\\nCarer 2: Yes"
    >>> speaker_turns(t)
    [('Interviewer', 0, 13, 24), ('SU01', 25, 31, 49), ('CC', 50, 55, 60), ('Carer 2', 61, 70, 73)]
    """
    matches = list(_TURN.finditer(text))
    turns = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        while end > m.end() and text[end - 1].isspace():
            end -= 1
        speaker = (m.group("bracket") or m.group("label")).strip()
        turns.append((speaker, m.start(), m.end(), end))
    return turns


def speaker_role(speaker: str) -> str:
    """``"interviewer"`` for the interviewer, researcher, moderator or facilitator; else ``"participant"``.

    Numbered labels count too (``"Interviewer 2"``, ``"Facilitator B"``).

    Examples
    --------
    >>> speaker_role("Interviewer"), speaker_role("Facilitator 2"), speaker_role("SU01"), speaker_role("Carer 2")
    ('interviewer', 'interviewer', 'participant', 'participant')
    """
    label = " ".join(str(speaker).lower().replace(".", " ").split())
    first = label.split(" ")[0] if label else ""
    if label in INTERVIEWER_LABELS or (first in INTERVIEWER_LABELS and len(first) > 2):
        return "interviewer"
    return "participant"


def last_turn_at(t_doc: np.ndarray, t_start: np.ndarray, doc_ids: np.ndarray, starts: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """For each position (``doc_ids[i]``, ``starts[i]``): the index of the turn that starts last at or before
    it in the same document, and whether there is one.  Turns (``t_doc``, ``t_start``, at least one) are
    sorted by document and start; one ``searchsorted`` for all positions.

    Examples
    --------
    >>> import numpy as np
    >>> t_doc, t_start = np.array([1, 1, 2]), np.array([0, 11, 5])
    >>> j, found = last_turn_at(t_doc, t_start, np.array([1, 1, 2, 3]), np.array([3, 12, 0, 9]))
    >>> j.tolist(), found.tolist()
    ([0, 1, 1, 2], [True, True, False, False])
    """
    big = int(max(t_start.max(), starts.max() if len(starts) else 0)) + 2
    i = np.searchsorted(t_doc * big + t_start, doc_ids * big + starts, side="right") - 1
    j = np.maximum(i, 0)
    return j, (i >= 0) & (t_doc[j] == doc_ids)


def spoken_by_excluded(turns: list[tuple[int, int, int, str, str]], doc_ids: np.ndarray, starts: np.ndarray,
                       speakers: Iterable[str] | None = None,
                       exclude_speakers: Iterable[str] | None = None) -> np.ndarray:
    """For each position (``doc_ids[i]``, ``starts[i]``): does it fall in a turn that must not be coded?

    *turns* are ``(document_id, start, end, speaker, role)`` sorted by document and start.  Default: turns
    with the interviewer role are excluded; ``speakers`` keeps only those labels (positions outside every
    turn are then excluded too); ``exclude_speakers`` excludes exactly those labels.  Vectorised (one
    ``searchsorted``), for bulk coding.

    Examples
    --------
    >>> import numpy as np
    >>> t = [(1, 0, 10, "Interviewer", "interviewer"), (1, 11, 30, "SU01", "participant")]
    >>> spoken_by_excluded(t, np.array([1, 1, 2]), np.array([3, 12, 0])).tolist()
    [True, False, False]
    >>> spoken_by_excluded(t, np.array([1, 1]), np.array([3, 12]), speakers=["Interviewer"]).tolist()
    [False, True]
    """
    n = len(starts)
    doc_ids = np.asarray(doc_ids, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    if not turns:
        return np.zeros(n, bool) if speakers is None else np.ones(n, bool)
    t_doc = np.fromiter((t[0] for t in turns), np.int64, len(turns))
    t_start = np.fromiter((t[1] for t in turns), np.int64, len(turns))
    t_end = np.fromiter((t[2] for t in turns), np.int64, len(turns))
    j, found = last_turn_at(t_doc, t_start, doc_ids, starts)
    inside = found & (starts < t_end[j])
    if speakers is not None:
        ok = np.isin(np.array([t[3] for t in turns], dtype=object), list({str(x) for x in speakers}))
        return ~(inside & ok[j])
    if exclude_speakers is not None:
        bad = np.isin(np.array([t[3] for t in turns], dtype=object), list({str(x) for x in exclude_speakers}))
    else:
        bad = np.array([t[4] == "interviewer" for t in turns], bool)
    return inside & bad[j]
