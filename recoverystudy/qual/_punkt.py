"""Punkt sentence boundaries with an abbreviation list and nothing else (no training, no downloaded data).

This reproduces, span for span, what ``nltk.tokenize.punkt.PunktSentenceTokenizer(params).span_tokenize``
returns when ``params`` is an untrained ``PunktParameters`` whose only content is a set of abbreviations
(nltk 3.10; the comparison tests in ``tests/test_text_exact.py`` hold it to that).  It is our own code, but
its regular expressions and decision order follow nltk's ``punkt.py`` closely: adapted from the Natural
Language Toolkit (https://www.nltk.org), Copyright (C) 2001-2026 NLTK Project, Apache License 2.0
(http://www.apache.org/licenses/LICENSE-2.0).  The method is Kiss & Strunk (2006), *Unsupervised
multilingual sentence boundary detection*, Computational Linguistics 32(4):485-525.

How a boundary is decided, with no collocations, no frequent sentence starters and no orthographic
statistics (so Punkt's orthographic heuristic can only answer "not a sentence start" or "unknown"):

1. Candidates are ``.``, ``?`` and ``!`` followed by punctuation that cannot be inside a word or by white
   space and a further token (the period-context expression).  Where candidates overlap (``"acting!!!"``)
   only the last of the run is kept.
2. Each candidate's context - the word before it, the mark and what follows - is cut into Punkt's word
   tokens (periods stay on their word; ``--``, ``..`` and ``. . .`` are single tokens).  The candidate is a
   boundary when some token other than the last one ends a sentence:

   * ``?``, ``!`` and a lone ``.`` end a sentence;
   * a word ending in one period ends a sentence unless the word before the period (or the part after
     its last hyphen), in lower case, is a known abbreviation;
   * a word ending in ``..`` (an ellipsis) does not;
   * a single letter with a period (an initial) or a number with a final period does *not* end a sentence
     when the next token is one of ``; : , . ! ?`` or starts with a lower-case letter; an initial does not
     either when the next token starts with a capital letter.

3. Sentences run from one boundary to the next; closing quotes and brackets that follow a boundary are
   moved onto the sentence they close (nltk's ``_realign_boundaries``).

Regular expressions use the ``regex`` engine, as nltk does: its ``\\w``, ``\\s`` and ``\\d`` differ from
the standard library's for combining marks, some digits and the separators ``\\x1c``-``\\x1f``.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex

__all__ = ["span_tokenize", "word_tokenize", "token_ends_sentence"]

#: Punctuation that cannot occur inside a Punkt word: a period next to one of these can end a sentence.
_NON_WORD = "(?:[)\";}\\]*:@'({\\[\u2018\u2019\u201c\u201d\xab\xbb?!])"
#: Multi-character punctuation kept as one token: dashes, runs of periods, spaced ellipses.
_MULTI_CHAR = r"(?:-{2,}|\.{2,}|(?:\.\s){2,}\.)"
#: Characters that cannot start a word token.
_WORD_START = r"[^(\"`{\[:;&#*@)}\]\-,]"

_WORD_TOKEN = regex.compile(
    rf"{_MULTI_CHAR}"
    rf"|(?={_WORD_START})\S+?(?=\s|$|{_NON_WORD}|{_MULTI_CHAR}|,(?=$|\s|{_NON_WORD}|{_MULTI_CHAR}))"
    r"|\S",
    regex.UNICODE,
)
_PERIOD_CONTEXT = regex.compile(rf"[.?!](?=(?P<after_tok>{_NON_WORD}|\s+(?P<next_tok>\S+)))", regex.UNICODE)
_REALIGN = regex.compile("[\"')\\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\\s+|(?=--)|$)", regex.MULTILINE)
_INITIAL = regex.compile(r"[^\W\d]\.$", regex.UNICODE)
_NUMERIC = regex.compile(r"^-?[.,]?\d[\d,.-]*\.?$")
#: Punkt's "sentences do not start with these" tokens.
_PUNCTUATION = frozenset(";:,.!?")
#: The characters Python's ``string.whitespace`` lists: nltk looks back for these (not for Unicode spaces)
#: to find where the word before a candidate starts.
_ASCII_SPACE = " \t\n\r\x0b\x0c"


def word_tokenize(text: str) -> list[str]:
    """Punkt's word tokens of one line (nltk's ``PunktLanguageVars().word_tokenize``).

    Examples
    --------
    >>> word_tokenize("Dr. Smith (aged 40) said: yes... no!")
    ['Dr.', 'Smith', '(', 'aged', '40', ')', 'said', ':', 'yes', '...', 'no', '!']
    """
    return _WORD_TOKEN.findall(text)


def _is_number_type(token: str) -> bool:
    """Punkt's "type without final period is ##number##" test for a token ending in a period."""
    kind = _NUMERIC.sub("##number##", token.lower())
    if len(kind) > 1 and kind[-1] == ".":
        kind = kind[:-1]
    return kind == "##number##"


def token_ends_sentence(token: str, following: str, abbreviations: frozenset[str]) -> bool:
    """Does Punkt (untrained, with *abbreviations*) mark *token*, followed by *following*, as a sentence end?

    Examples
    --------
    >>> abbr = frozenset({"dr", "no"})
    >>> token_ends_sentence("me.", "NHS", abbr), token_ends_sentence("Dr.", "Patel", abbr)
    (True, False)
    >>> token_ends_sentence("J.", "R.", abbr), token_ends_sentence("1.", "then", abbr)
    (False, False)
    """
    if token == "?" or token == "!":
        return True
    if token[-1] != ".":
        return False
    if token.endswith(".."):
        ends = False  # an ellipsis (or a word glued to one) is not a boundary by itself
    else:
        before = token[:-1].lower()
        ends = not (before in abbreviations or before.split("-")[-1] in abbreviations)
    initial = _INITIAL.match(token) is not None
    if initial or _is_number_type(token):
        # Orthographic heuristic with no statistics: punctuation or a lower-case start means "not a sentence
        # start"; anything else is "unknown", which still keeps an initial before a capital letter.
        if following in _PUNCTUATION or following[0].islower():
            return False
        if initial and following[0].isupper():
            return False
    return ends


def _contains_break(context: str, abbreviations: frozenset[str]) -> bool:
    """True when a token of *context* other than its last one ends a sentence."""
    if "\n" in context:
        tokens = [t for line in context.split("\n") if line.strip() for t in _WORD_TOKEN.findall(line)]
    else:
        tokens = _WORD_TOKEN.findall(context) if context.strip() else []
    for i in range(len(tokens) - 1):
        if token_ends_sentence(tokens[i], tokens[i + 1], abbreviations):
            return True
    return False


def _last_ascii_space(text: str, lo: int, hi: int) -> int:
    return max(text.rfind(c, lo, hi) for c in _ASCII_SPACE)


def _candidates(text: str) -> Iterable[tuple[regex.Match, str]]:
    """Potential boundaries with their contexts (nltk's ``_match_potential_end_contexts``)."""
    word_start = word_stop = 0
    previous = None
    for match in _PERIOD_CONTEXT.finditer(text):
        at = match.start()
        space = _last_ascii_space(text, word_stop, at)
        # A space found at the very start of the searched stretch counts as none (as in nltk): the word then
        # reaches back to where the previous candidate's word began.
        start = space + 1 if space > word_stop else word_start
        if previous is not None and word_stop <= start:
            yield previous, text[word_start:word_stop] + previous.group() + previous.group("after_tok")
        previous, word_start, word_stop = match, start, at
    if previous is not None:
        yield previous, text[word_start:word_stop] + previous.group() + previous.group("after_tok")


def _slices(text: str, abbreviations: frozenset[str]) -> list[tuple[int, int]]:
    slices = []
    last_break = 0
    for match, context in _candidates(text):
        if _contains_break(context, abbreviations):
            slices.append((last_break, match.end()))
            last_break = match.start("next_tok") if match.group("next_tok") else match.end()
    slices.append((last_break, len(text.rstrip())))
    return slices


def span_tokenize(text: str, abbreviations: frozenset[str]) -> list[tuple[int, int]]:
    """Sentence spans of *text* exactly as untrained Punkt with *abbreviations* gives them.

    Examples
    --------
    >>> t = 'He said "Stop." Then (Dr. Lee left.) J. R. R. Tolkien no. 3 ... ok'
    >>> [t[a:b] for a, b in span_tokenize(t, frozenset({"dr", "no"}))]
    ['He said "Stop."', 'Then (Dr. Lee left.)', 'J. R. R. Tolkien no. 3 ... ok']
    """
    slices = _slices(text, abbreviations)
    spans = []
    shift = 0
    last = len(slices) - 1
    for i, (start, stop) in enumerate(slices):
        start += shift
        if i == last:
            if start < stop:
                spans.append((start, stop))
            break
        next_start, next_stop = slices[i + 1]
        closing = _REALIGN.match(text[next_start:next_stop])
        if closing is not None:
            spans.append((start, next_start + len(closing.group(0).rstrip())))
            shift = closing.end()
        else:
            shift = 0
            if start < stop:
                spans.append((start, stop))
    return spans
