"""Matching negation in care-plan text: the rubric's ``negation`` block and how a cue governs a match.

A :class:`Negation` is built from the cue lists of a rubric (defaults in :data:`DEFAULT_NEGATION`) and
answers one question for the pre-rater: does a negation cue govern this evidence match?  It knows
nothing of the rest of the rubric, so the schema and the loader sit above it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

__all__ = ["DEFAULT_NEGATION", "Negation"]

#: Defaults for the rubric's ``negation`` block (used when the block is absent or leaves a key out).
DEFAULT_NEGATION: dict = {
    "cues": [
        "no", "not", "none", "never", "without", "n't", "nor", "nobody", "no one", "nothing",
        "declined", "declines", "refused", "refuses", "unable to", "no longer", "not yet",
    ],
    "window": 5,
    "after_cues": [
        "has not been", "have not been", "had not been", "hasn't been", "haven't been", "has not yet been",
        "was not", "were not", "wasn't", "weren't", "not yet", "declined", "refused",
    ],
    "after_window": 3,
    "boundaries": [
        ",", ";", ":", "(", ")", "\u2013", "\u2014", "but", "however", "although", "though", "whereas",
        "except", "because", "since", "which", "who", "when", "while",
    ],
    "exceptions": [
        "\\bnot (?:only|just|least)\\b",
        "\\bno (?:doubt|matter)\\b",
        "\\bnothing about me without me\\b",
        "\\b(?:tel|telephone|phone|mobile|contact|fax|ref|reference|nhs)\\.?\\s*no\\b",
        "\\bif\\b[^,;:.\\n]{0,25}?\\b(?:no|not|n't|never|none|nobody|unable)\\b|\\bif\\b[^,;:.\\n]{0,25}?n't\\b",
        "\\bwhether or not\\b",
    ],
}
_NEG_KEYS = frozenset(DEFAULT_NEGATION)


def _phrase(cue: str) -> str:
    """A cue phrase as a regular expression: words matched whole, spaces as any white space."""
    body = r"\s+".join(re.escape(w) for w in cue.split())
    body = body.replace("'", "['\u2019]")
    lead = r"\b" if cue[0].isalnum() and not cue.startswith("n't") else ""
    tail = r"\b" if cue[-1].isalnum() else ""
    return lead + body + tail


@dataclass(frozen=True)
class Negation:
    """How the pre-rater recognises negated evidence (the rubric's ``negation`` block).

    A match of a ``pattern`` or ``linked`` rule with ``negation`` on is *negated* - not evidence -
    when, in its own sentence and clause, a cue comes at most ``window`` words before it (or inside
    the match, e.g. "service user declined to"), or an ``after_cues`` phrase comes at most
    ``after_window`` words after it ("A review date has not been set").  ``boundaries`` (punctuation
    or words) end a clause; a cue inside a match of an ``exceptions`` pattern ("not only", "tel no",
    "If there is no improvement") does not negate.
    """

    cues: tuple[str, ...]
    window: int
    after_cues: tuple[str, ...]
    after_window: int
    boundaries: tuple[str, ...]
    exceptions: tuple[str, ...]
    before: re.Pattern = field(repr=False, compare=False)  # cue + up to `window` words + end
    inside: re.Pattern = field(repr=False, compare=False)  # any cue
    after: re.Pattern | None = field(repr=False, compare=False)  # up to `after_window` words + after cue
    exception: re.Pattern | None = field(repr=False, compare=False)

    @classmethod
    def build(cls, cues, window, after_cues, after_window, boundaries, exceptions) -> Negation:
        puncts = "".join(re.escape(b) for b in boundaries if not b[0].isalnum())
        words = "|".join(re.escape(b) for b in boundaries if b[0].isalnum())
        stop = rf"(?!(?:{words})\b)" if words else ""
        sep = rf"[^\w{puncts}]+"  # between words, inside one clause
        word = r"[\w'\u2019]+"
        cue_rx = "|".join(_phrase(c) for c in sorted(cues, key=len, reverse=True))
        before = re.compile(
            rf"(?:{cue_rx})(?:{sep}{stop}{word}){{0,{window}}}[^\w{puncts}]*\Z", re.IGNORECASE
        )
        after = None
        if after_cues and after_window >= 0:
            after_rx = "|".join(_phrase(c) for c in sorted(after_cues, key=len, reverse=True))
            after = re.compile(
                rf"[^\w{puncts}]*(?:{stop}{word}{sep}){{0,{after_window}}}?(?:{after_rx})", re.IGNORECASE
            )
        exception = re.compile("|".join(f"(?:{x})" for x in exceptions), re.IGNORECASE) if exceptions else None
        return cls(
            tuple(cues), window, tuple(after_cues), after_window, tuple(boundaries), tuple(exceptions),
            before, re.compile(cue_rx, re.IGNORECASE), after, exception,
        )

    def _excepted(self, text: str, cs: int, ss: int, se: int) -> bool:
        if self.exception is None:
            return False
        for m in self.exception.finditer(text, max(ss, cs - 40), min(se, cs + 60)):
            if m.start() <= cs < m.end():
                return True
        return False

    @property
    def needles(self) -> tuple[tuple[str, bool], ...]:
        """(first word of a cue, must start a word?): every cue starts with one of these."""
        got = self.__dict__.get("_needles")
        if got is None:
            firsts = {c.split()[0].lower() for c in self.cues}
            firsts |= {f.replace("'", "\u2019") for f in firsts if "'" in f}
            keep = sorted(f for f in firsts if not any(f != g and f.startswith(g) for g in firsts))
            # as in _phrase: a cue starting "n't" is attached to its word ("don't"), others start a word
            got = tuple((f, f[0].isalnum() and not f.startswith(("n't", "n\u2019t"))) for f in keep)
            # the after-cue check may use the positions too if every after cue contains a needle
            after_ok = all(any(f in c.lower() for f, _ in got) for c in self.after_cues)
            object.__setattr__(self, "_after_ok", after_ok)
            object.__setattr__(self, "_needles", got)
        return got

    def positions(self, low: str) -> list[int]:
        """Sorted offsets in the lower-cased text where a cue may start (a fast, loose prefilter)."""
        out: list[int] = []
        find = low.find
        for needle, word_start in self.needles:
            i = find(needle)
            while i >= 0:
                if not word_start or i == 0 or not (low[i - 1].isalnum() or low[i - 1] == "_"):
                    out.append(i)
                i = find(needle, i + 1)
        out.sort()
        return out

    def negated(
        self, text: str, ms: int, me: int, ss: int, se: int, positions: list[int] | None = None
    ) -> bool:
        """True if the match ``text[ms:me]`` (in the sentence ``text[ss:se]``) is negated.

        *positions* (from :meth:`positions` on the lower-cased text, same offsets) lets the cue
        regexes run only where a cue may start; without it every position is tried.
        """
        lo = max(ss, ms - 24 * (self.window + 2))
        if positions is None:
            return self._negated_slow(text, ms, me, ss, se, lo)
        n = len(positions)
        j = bisect_left(positions, lo)
        if j == n or positions[j] >= se:
            return False
        match = self.before.match
        while j < n and positions[j] < ms:
            p = positions[j]
            if match(text, p, ms) is not None and not self._excepted(text, p, ss, se):
                return True
            j += 1
        match = self.inside.match
        while j < n and positions[j] < me:
            p = positions[j]
            if match(text, p, me) is not None and not self._excepted(text, p, ss, se):
                return True
            j += 1
        if self.after is None or (self._after_ok and (j == n or positions[j] >= se)):
            return False
        m = self.after.match(text, me, se)
        return m is not None and not self._excepted(text, m.end() - 1, ss, se)

    def _negated_slow(self, text: str, ms: int, me: int, ss: int, se: int, lo: int) -> bool:
        pos = lo
        while True:
            m = self.before.search(text, pos, ms)
            if m is None:
                break
            if not self._excepted(text, m.start(), ss, se):
                return True
            pos = m.start() + 1
        pos = ms
        while True:
            m = self.inside.search(text, pos, me)
            if m is None:
                break
            if not self._excepted(text, m.start(), ss, se):
                return True
            pos = m.start() + 1
        if self.after is not None:
            m = self.after.match(text, me, se)
            if m is not None and not self._excepted(text, m.end() - 1, ss, se):
                return True
        return False
