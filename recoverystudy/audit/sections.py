"""Split a care plan into sections by its headings, and into sentences.

Headings recognised (one per line):

* Markdown headings (``# My goals``) and short lines without final punctuation (``My goals``,
  ``CRISIS PLAN``) open a *block* (level 1) that runs to the next block;
* a label followed by a colon and nothing else (``My early warning signs:``) opens a *sub-block*
  (level 2) that runs to the next heading of any kind;
* ``Label: value`` on one line is a *field* (level 3) whose content is the value.
  ``Section 4: Crisis plan`` is read as a block titled "Crisis plan".

Each section gets the *kinds* (goals, crisis, risk ...) whose rubric pattern matches its heading.
A position in the text belongs to every section whose span contains it, so a field inside the
crisis block counts as part of the crisis plan.

Sentences are bounded by line breaks and by ``.``, ``!`` or ``?`` followed by white space; care
plans are written in short lines and bullet points, so this is both faster and more faithful
than a prose sentence tokenizer.  Offsets are code-point offsets into the normalised text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np

import pandas as pd

from recoverystudy.audit._literals import _lower_pattern, _prefixes

__all__ = ["PlanLayout", "Section", "in_spans"]

_HEAD = re.compile(
    r"^[ \t]*(?:"
    r"(?P<md>\#{1,6})[ \t]+(?P<mdtext>[^\n]+?)[ \t#]*"
    r"|(?P<label>[*_]{0,2}[A-Z][^:\n]{0,60}?)[*_]{0,2}[ \t]*:[*_]{0,2}[ \t]*(?P<inline>[^\n]*?)"
    r"|(?P<short>[A-Z][^\n.!?:;,\"]{1,60}?)"
    r")[ \t]*$",
    re.MULTILINE,
)
_SECTION_N = re.compile(r"^(?:section|part|step)\s*\d+[a-z]?$", re.IGNORECASE)
_BOUND = re.compile(r"\n|[.!?][\"\u201d\u2019)]*(?=\s|$)")
_PLACEHOLDER = re.compile(
    r"^\W*(?:n/?a|none|nil|tbc|not applicable|see [^\n]*|_+|-+|\.+)?\W*$", re.IGNORECASE
)
_MAX_WORDS = 8
_BLANK = re.compile(r"\S[^\n]*(?=\n[ \t]*\n)")


@dataclass(frozen=True)
class Section:
    """A heading and the text it governs (offsets into the plan text)."""

    heading: str
    level: int  # 1 block, 2 sub-block, 3 field
    heading_start: int
    content_start: int
    end: int
    kinds: frozenset


class PlanLayout:
    """Sections, labels and sentence boundaries of one plan (built once, queried by the pre-rater)."""

    __slots__ = ("_bounds", "_field_lines", "_label_starts", "_labels", "_secs", "_sections", "_span_cache", "text")

    def __init__(
        self,
        text: str,
        section_patterns: dict[str, re.Pattern],
        headings: re.Pattern | None = None,
        low: str | None = None,
        lines: tuple[list[int], list[int]] | None = None,
    ):
        self.text = text
        # *lines* (from a LineIndex of the plan's batch): the sentence bounds and the line starts that
        # may hold a heading, found for the whole batch; the same as the regular expressions find here
        self._bounds = [m.end() for m in _BOUND.finditer(text)] if lines is None else lines[0]
        # sections as (heading, level, heading_start, content_start, end, kinds) tuples; the Section
        # objects are made only when asked for (most plans never need them)
        self._secs, labels, field_lines = _split(
            text, section_patterns, headings, low, None if lines is None else lines[1]
        )
        self._sections: list[Section] | None = None
        self._labels = labels
        self._label_starts = [s for s, _ in labels]
        self._span_cache: dict = {}
        self._field_lines = field_lines

    @property
    def sections(self) -> list[Section]:
        """The plan's sections, in order of their headings."""
        if self._sections is None:
            self._sections = [Section(*sec) for sec in self._secs]
        return self._sections

    # --- sentences ------------------------------------------------------------------------------
    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end of the sentence containing *pos* (white space trimmed)."""
        b = self._bounds
        k = bisect_right(b, pos)
        start = b[k - 1] if k > 0 else 0
        end = b[k] if k < len(b) else len(self.text)
        text = self.text
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        return start, end

    def line(self, pos: int) -> tuple[int, int]:
        """Start and end of the line containing *pos*."""
        start = self.text.rfind("\n", 0, pos) + 1
        end = self.text.find("\n", pos)
        return start, (len(self.text) if end < 0 else end)

    # --- labels ---------------------------------------------------------------------------------
    def in_label(self, pos: int) -> bool:
        """True if *pos* lies in a heading line or in the label part of a field."""
        k = bisect_right(self._label_starts, pos) - 1
        return k >= 0 and pos < self._labels[k][1]

    def field_kinds(self, line_start: int) -> frozenset | None:
        """Kinds of the field starting on the line at *line_start* (None if the line is not a field)."""
        return self._field_lines.get(line_start)

    # --- sections -------------------------------------------------------------------------------
    def spans(self, kinds: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list[tuple[int, int]]:
        """Merged content spans of sections having any of *kinds*, minus those of *exclude*."""
        key = (kinds, exclude)
        cached = self._span_cache.get(key)
        if cached is not None:
            return cached
        if kinds:
            spans = _merge([(s[3], s[4]) for s in self._secs if not s[5].isdisjoint(kinds)])
        else:
            spans = [(0, len(self.text))]
        if exclude:
            cut = _merge([(s[2], s[4]) for s in self._secs if not s[5].isdisjoint(exclude)])
            spans = _subtract(spans, cut)
        self._span_cache[key] = spans
        return spans

    def kind_sections(self, kinds: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list[Section]:
        cut = self.spans(exclude) if exclude else []
        return [
            Section(*s)
            for s in self._secs
            if not s[5].isdisjoint(kinds) and not any(a <= s[2] < b for a, b in cut)
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per section: heading, level, kinds, start, end."""
        return pd.DataFrame(
            [
                {
                    "heading": s.heading,
                    "level": s.level,
                    "kinds": ", ".join(sorted(s.kinds)),
                    "heading_start": s.heading_start,
                    "content_start": s.content_start,
                    "end": s.end,
                }
                for s in self.sections
            ],
            columns=["heading", "level", "kinds", "heading_start", "content_start", "end"],
        )


def substantive(text: str, min_chars: int = 15) -> bool:
    """True if *text* has real content (not empty, 'N/A', 'see risk assessment', a blank line ...)."""
    stripped = text.strip()
    if len(stripped.replace(" ", "")) < min_chars:
        return False
    return not _PLACEHOLDER.match(stripped)


_NO_KINDS: frozenset = frozenset()


@lru_cache(maxsize=4096)
def _classify(heading: str, patterns_key: int) -> frozenset:
    patterns = _PATTERN_REGISTRY[patterns_key]
    anything = _ANY_KIND.get(patterns_key)
    if anything is not None and anything.search(heading) is None:  # no kind's pattern matches (one search)
        return _NO_KINDS
    return frozenset(k for k, rx in patterns.items() if rx.search(heading))


_PATTERN_REGISTRY: dict[int, dict[str, re.Pattern]] = {}
#: patterns key -> one pattern that matches where any of the kinds' patterns does (None: not built)
_ANY_KIND: dict[int, re.Pattern | None] = {}


def _register(patterns: dict[str, re.Pattern]) -> int:
    key = id(patterns)
    if key not in _PATTERN_REGISTRY:
        _PATTERN_REGISTRY[key] = patterns
        _ANY_KIND[key] = _any_of(list(patterns.values()))
    return key


def _any_of(patterns: list[re.Pattern]) -> re.Pattern | None:
    """The alternation of *patterns* (same flags, no named groups or back-references), else None."""
    flags = {rx.flags for rx in patterns}
    # a back-reference (numbered or named) would point at another pattern's group once they are joined
    if len(flags) != 1 or any(rx.groupindex or re.search(r"\\[1-9]", rx.pattern) for rx in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{rx.pattern})" for rx in patterns), flags.pop())
    except re.error:
        return None


def _extra_heading_lines(text: str, headings: re.Pattern, low: str | None = None) -> dict[int, tuple]:
    """Lines opened by one of the rubric's extra headings: {line_start: head tuple}.

    ``headings`` is the rubric's compiled ``headings`` pattern (see :func:`compile_headings`): a line
    holding only such a heading (after optional bullets or numbering, e.g. ``7. Social, cultural or
    spiritual``) opens a block; ``heading: value`` or ``heading - value`` on one line is a field.
    """
    out: dict[int, tuple] = {}
    needles = _HEADING_NEEDLES.get(headings)
    if needles is not None:  # none of the headings' literal starts is in the plan: nothing to find
        if low is None:
            low = text.lower()
        if not any(n in low for n in needles):
            return out
    for m in headings.finditer(text):
        head = m.group("xhead").strip()
        inline_start = m.start("xinline")
        if m.group("xinline"):
            out[m.start()] = (head, 3, m.start(), inline_start, m.end())
        elif m.group("xsep") == ":":
            out[m.start()] = (head, 2, m.start(), m.end() + 1, m.end())
        else:
            out[m.start()] = (head, 1, m.start(), m.end() + 1, m.end())
    return out


def compile_headings(alternatives: list[str] | tuple[str, ...], flags: int = re.IGNORECASE) -> re.Pattern:
    """Compile a rubric's extra heading patterns into one line pattern used by the splitter.

    Examples
    --------
    >>> rx = compile_headings(["social,? cultural or spiritual"])
    >>> m = rx.search("7. Social, cultural or spiritual: chapel on Sundays")
    >>> m.group("xhead"), m.group("xinline")
    ('Social, cultural or spiritual', 'chapel on Sundays')
    """
    body = "|".join(f"(?:{a})" for a in alternatives)
    rx = re.compile(
        r"^[ \t]*(?:[-*\u2022][ \t]+)?(?:\d{1,2}[.)]?[ \t]+)?"
        rf"(?P<xhead>(?:{body}))[ \t]*"
        r"(?:(?P<xsep>:|[-\u2013](?=[ \t]))[ \t]*(?P<xinline>[^\n]*?))?[ \t]*$",
        flags | re.MULTILINE,
    )
    _HEADING_NEEDLES[rx] = _literal_starts(alternatives, flags)
    return rx


# compiled headings pattern -> lower-case literal starts of its alternatives (None: not known), so
# that plans mentioning none of them skip the line scan (most plans from outside Wales)
_HEADING_NEEDLES: dict = {}


def _literal_starts(alternatives, flags: int) -> tuple[str, ...] | None:
    try:
        from re import _parser as sp
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse as sp
    needles: set[str] = set()
    for a in alternatives:
        try:
            found = _prefixes(list(sp.parse(_lower_pattern(a), flags & ~re.IGNORECASE)))
        except Exception:  # noqa: BLE001 - not understood: no prefilter
            return None
        if not found:
            return None
        needles.update(found)
    return tuple(sorted(needles))


def _split(
    text: str,
    patterns: dict[str, re.Pattern],
    headings: re.Pattern | None = None,
    low: str | None = None,
    head_lines: list[int] | None = None,
):
    """(sections as tuples, label spans, field lines) of *text*; see :class:`PlanLayout`.

    *head_lines*: the starts of the lines that may hold a heading (see :class:`LineIndex`); a heading
    line matches ``_HEAD`` from its start to its end, so matching there gives what ``finditer`` does.
    """
    pkey = _register(patterns)
    heads = []  # (heading_text, level, line_start, content_start, line_end)
    labels: list[tuple[int, int]] = []
    field_lines: dict[int, frozenset] = {}
    extra = _extra_heading_lines(text, headings, low) if headings is not None else {}
    add_head, add_label = heads.append, labels.append
    if head_lines is None:
        found = _HEAD.finditer(text)
    else:
        match = _HEAD.match
        found = [m for m in map(match, repeat(text), head_lines) if m is not None]
    for m in found:
        start, end = m.span()
        if extra and start in extra:
            continue
        md, mdtext, label, inline, short = m.group("md", "mdtext", "label", "inline", "short")
        if md:
            add_head((mdtext.strip("*_ "), 1, start, end + 1, end))
            add_label((start, end))
            continue
        if label is not None:
            label_clean = label.strip("*_ ")
            if len(label_clean.split()) > _MAX_WORDS:
                continue
            if inline and _SECTION_N.match(label_clean) and len(inline.split()) <= _MAX_WORDS:
                add_head((inline.strip("*_ "), 1, start, end + 1, end))
                add_label((start, end))
            elif inline.strip(" *_"):
                inline_start = m.start("inline")
                add_head((label_clean, 3, start, inline_start, end))
                add_label((start, inline_start))
            else:
                add_head((label_clean, 2, start, end + 1, end))
                add_label((start, end))
            continue
        if short is not None and len(short.split()) <= _MAX_WORDS:
            add_head((short.strip(), 1, start, end + 1, end))
            add_label((start, end))
    if extra:
        for head in extra.values():
            heads.append(head)
            labels.append((head[2], head[3] if head[1] == 3 else head[4]))
        heads.sort(key=lambda h: h[2])
        labels.sort()
    n = len(text)
    sections: list[tuple] = []
    classify = _classify
    # a block runs to the next block, a sub-block to the next heading of any kind, a field to its line end
    next_block = n_heads = len(heads)
    after: list[int] = [0] * n_heads
    for i in range(n_heads - 1, -1, -1):
        after[i] = next_block
        if heads[i][1] == 1:
            next_block = i
    for i, (heading, level, start, content_start, line_end) in enumerate(heads):
        if level == 3:
            end = line_end
        else:
            j = after[i] if level == 1 else i + 1
            if j < n_heads:
                end = heads[j][2]
            else:
                end = n
                if level == 1:
                    # The last block ends at its first blank line after some content: what follows
                    # is usually a sign-off (agreement, signatures, review date), not part of it.
                    gap = _BLANK.search(text, min(content_start, n))
                    if gap is not None:
                        end = gap.end()
        kinds = classify(heading, pkey)
        sections.append((heading, level, start, min(content_start, n), end, kinds))
        if level == 3:
            field_lines[start] = kinds
    return sections, labels, field_lines


#: every character ``\\s`` matches (``str.isspace``)
_SPACES = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)
#: characters that may close a sentence after its full stop (as in _BOUND)
_CLOSERS = np.array([ord(c) for c in "\"\u201d\u2019)"], dtype=np.uint32)
_HEAD_FIRST = np.array([ord(c) for c in "#*_ \t" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"], dtype=np.uint32)
_STOP_TABLE = np.zeros(256, dtype=bool)
_STOP_TABLE[[46, 33, 63]] = True  # . ! ?
_SHORT_MAX = 61  # a short heading line: a capital and at most 60 more characters (see _HEAD)


class LineIndex:
    """Sentence bounds and possible heading lines of a batch of plans, found with numpy for the whole batch.

    The plans are joined by line breaks into one array of code points.  Sentence bounds are the ends
    of ``_BOUND``'s matches: every line break, and every ``.``, ``!`` or ``?`` that - after any closing
    quotes or brackets - is followed by white space or the end of the plan (such matches never
    overlap, so each is found on its own).  A line can hold a heading (``_HEAD``) only if it starts,
    after blanks, with ``#``, ``*``, ``_`` or a capital, and has a colon, or is at most 61 characters
    long, or starts or ends with a blank; only those lines are tried.
    """

    __slots__ = ("_bounds", "_bounds_at", "_heads", "_heads_at")

    def __init__(self, texts: list[str]) -> None:
        n = len(texts)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(t) + 1 for t in texts], out=offsets[1:])
        starts_of = offsets[:-1]
        joined = "\n".join(texts) + "\n"
        if joined.isascii():  # one byte a character; classes looked up in tables
            arr = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
            stop = np.flatnonzero(_STOP_TABLE[arr])
        else:
            arr = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
            stop = np.flatnonzero((arr == 46) | (arr == 33) | (arr == 63))
        size = len(arr)
        newline = np.flatnonzero(arr == 10)  # includes the break after every plan (the last is at size - 1)
        # full stops (and ! ?) followed, after closers, by white space (the break after a plan is white space)
        after = stop + 1  # < size: the text ends with a break
        more = np.isin(arr[after], _CLOSERS)
        while more.any():
            after[more] += 1  # never past the final break, which is no closer
            more[more] = np.isin(arr[after[more]], _CLOSERS)
        ends = np.concatenate([newline + 1, after[np.isin(arr[after], _SPACES)]])
        ends.sort()
        # a plan's bounds: ends inside it or at its end (not the break that follows it)
        lo = np.searchsorted(ends, starts_of, side="right")
        hi = np.searchsorted(ends, offsets[1:] - 1, side="right")
        plan_of = np.searchsorted(starts_of, ends, side="right") - 1
        self._bounds = (ends - starts_of[plan_of]).tolist()
        self._bounds_at = np.stack([lo, hi], axis=1).tolist()
        # lines: from the start of the batch and after every break, to the next break
        line_start = np.concatenate([[0], newline[:-1] + 1])
        line_end = newline
        first = arr[line_start]
        last = arr[np.maximum(line_end - 1, 0)]
        colon = np.flatnonzero(arr == 58)
        has_colon = colon[np.minimum(np.searchsorted(colon, line_start), len(colon) - 1)] < line_end if len(
            colon) else np.zeros(len(line_start), dtype=bool)
        blank_edge = (first == 32) | (first == 9) | (first == 35) | (last == 32) | (last == 9)
        keep = np.isin(first, _HEAD_FIRST) & (has_colon | (line_end - line_start <= _SHORT_MAX) | blank_edge)
        keep &= line_end > line_start  # an empty line holds no heading
        heads = line_start[keep]
        plan_of = np.searchsorted(starts_of, heads, side="right") - 1
        self._heads = (heads - starts_of[plan_of]).tolist()
        self._heads_at = np.searchsorted(heads, offsets).tolist()

    def lines(self, i: int) -> tuple[list[int], list[int]]:
        """(sentence bounds, starts of the lines that may hold a heading) of plan *i*."""
        lo, hi = self._bounds_at[i]
        return self._bounds[lo:hi], self._heads[self._heads_at[i] : self._heads_at[i + 1]]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if not spans:
        return []
    spans = sorted(spans)
    out = [list(spans[0])]
    for s, e in spans[1:]:
        if s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _subtract(spans: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if not cut:
        return spans
    out = []
    for s, e in spans:
        pieces = [(s, e)]
        for cs, ce in cut:
            nxt = []
            for ps, pe in pieces:
                if ce <= ps or cs >= pe:
                    nxt.append((ps, pe))
                    continue
                if cs > ps:
                    nxt.append((ps, cs))
                if ce < pe:
                    nxt.append((ce, pe))
            pieces = nxt
        out.extend(pieces)
    return out


def in_spans(pos: int, spans: list[tuple[int, int]]) -> bool:
    """True if *pos* lies inside one of the sorted, merged *spans*."""
    k = bisect_left([s for s, _ in spans], pos + 1) - 1
    return k >= 0 and pos < spans[k][1]
