"""Fast matching of the evidence rules' regular expressions, with exactly the engine's matches.

Used by :mod:`recoverystudy.audit.prerate`: :class:`_Matcher` runs a rule's pattern on the
lower-cased plan (faster than IGNORECASE), verifying where lower-casing could loosen it, skips parts
whose literal prefixes do not occur in the plan, and tries a pattern only where one of its literal
starts occurs (found with ``str.find``) when every match must begin with one.
"""

from __future__ import annotations

import re

from recoverystudy.audit._literals import _lower_pattern, _prefixes, _split_alternatives

__all__: list[str] = []


def _wholly_case_sensitive(alternative: str) -> bool:
    """True if the alternative is one ``(?-i:...)`` group (nothing to gain from lower-casing)."""
    if not alternative.startswith("(?-i:"):
        return False
    depth, i = 0, 0
    while i < len(alternative):
        ch = alternative[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(alternative) - 1
        i += 1
    return False


def _present(needles: tuple[str, ...], low: str) -> bool:
    """True if any of the literal prefixes occurs in the (lower-cased) plan."""
    for n in needles:
        if n in low:
            return True
    return False


def _match_start(m: re.Match) -> int:
    return m.start()


class _Matcher:
    """Finds a rule's matches fast, with exactly the semantics of the rule's regex.

    Each alternative is lower-cased (escapes kept) and run case-sensitively on the lower-cased
    text, which is several times faster than IGNORECASE; a leading ``\\b`` is dropped because it
    defeats the engine's fast scan for a literal prefix.  Where that loosened pattern can match
    more than the original (it had a case-sensitive ``(?-i:...)`` part or a leading ``\\b``), each
    candidate position is verified with the original alternative anchored there, resuming one
    character later after a rejection - the same matches as ``finditer`` on the original.
    Parts whose literal prefixes do not occur in the plan are skipped.
    """

    __slots__ = ("parts",)

    def __init__(self, pattern: re.Pattern):
        try:
            from re import _parser as sp
        except ImportError:  # pragma: no cover
            import sre_parse as sp
        alts = _split_alternatives(pattern.pattern)
        flags_low = pattern.flags & ~re.IGNORECASE
        groups: dict[bool, list[tuple[str, str]]] = {}
        for a in alts:
            if _wholly_case_sensitive(a):
                groups.setdefault("original", []).append((a, a))
                continue
            bounded = a.startswith("\\b") and not a.startswith("\\b|")
            if bounded:
                # drop the leading \b only when every literal prefix is long (>= 4 characters):
                # short words ("we", "son") would otherwise match inside many longer words
                try:
                    pre = _prefixes(list(sp.parse(_lower_pattern(a[2:]), flags_low)))
                except Exception:  # noqa: BLE001
                    pre = None
                bounded = bool(pre) and min(len(x) for x in pre) >= 4
            exact = "(?-i" not in a and not bounded
            loose = _lower_pattern(a[2:] if bounded else a)
            groups.setdefault(exact, []).append((loose, a))
        self.parts = []
        for exact, items in groups.items():
            if exact == "original":  # case-sensitive throughout: run as written on the original text
                self.parts.append(
                    (re.compile("|".join(a for _, a in items), pattern.flags), None, None, True, None)
                )
                continue
            loose = re.compile("|".join(lo for lo, _ in items), flags_low)
            verify = None if exact else re.compile("|".join(a for _, a in items), pattern.flags)
            try:
                found = _prefixes(list(sp.parse(loose.pattern, flags_low)))
            except Exception:  # noqa: BLE001 - not understood by the prefix finder: no prefilter
                found = None
            needles = tuple(sorted(set(found))) if found else None
            self.parts.append((loose, verify, needles, False, _starts(loose, sp)))

    def finditer(self, text: str, low: str, start: int, end: int):
        """Matches in order of position (several parts are merged)."""
        parts = self.parts
        if len(parts) == 1:
            loose, verify, needles, on_original, starts = parts[0]
            if needles is not None and not _present(needles, low):
                return ()
            if starts is not None:
                return _iter_starts(parts[0], text, low, start, end)
            if verify is None:  # the engine's own iterator, no generator in between
                return loose.finditer(text if on_original else low, start, end)
            return self._iter_part(parts[0], text, low, start, end)
        out: list = []
        for part in parts:
            loose, verify, needles, on_original, starts = part
            if needles is not None and not _present(needles, low):
                continue
            if starts is not None:
                out.extend(_iter_starts(part, text, low, start, end))
            elif verify is None:
                out.extend(loose.finditer(text if on_original else low, start, end))
            else:
                out.extend(self._iter_part(part, text, low, start, end))
        if len(out) > 1:
            out.sort(key=_match_start)
        return out

    @staticmethod
    def _iter_part(part, text: str, low: str, start: int, end: int):
        """Candidates of the loosened pattern, each verified with the original alternative."""
        loose, verify, _needles, _on_original, _starts = part
        pos = start
        search, match = loose.search, verify.match
        while pos <= end:
            cand = search(low, pos, end)
            if cand is None:
                return
            p = cand.start()
            m = match(text, p, end)
            if m is not None:
                yield m
                pos = m.end() if m.end() > p else p + 1
            else:
                pos = p + 1


def _starts(loose: re.Pattern, sp) -> tuple[str, ...] | None:
    """Literals one of which every match of *loose* starts with, or None.

    Only for patterns run case-sensitively on the lower-cased text; a pattern that may start with
    something other than a literal (or match the empty string) gets None.
    """
    if loose.flags & re.IGNORECASE:
        return None
    try:
        found = _firsts(list(sp.parse(loose.pattern, loose.flags)))
    except Exception:  # noqa: BLE001 - not understood: the engine's own search is used
        return None
    if not found or any(not x.strip() for x in found):  # a space starts too many places
        return None
    # a literal that begins with another is redundant: its positions are among the other's
    lits = sorted(found)
    return tuple(x for x in lits if not any(x != y and x.startswith(y) for y in lits))


_SMALL_SET = 8  # a character class of at most this many plain characters is expanded
_MANY = 256  # beyond this many literals, only their first three characters are kept


def _firsts(items: list) -> set[str] | None:
    """Non-empty literals one of which every match of the parsed sequence *items* starts with.

    None when that is not known: the sequence may start with a category (``\\w``), a range, a
    look-around, a back-reference or inline flags, or may match the empty string.  Zero-width
    anchors at the start are passed over (they restrict where a match starts, never move it); an
    optional or starred part contributes both its own start and the start of what follows it.  The
    literals end where the first literal run of the pattern ends (``\\(?:my|his)`` gives ``(``).
    """
    try:
        from re import _constants as c
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_constants as c
    pre = [""]
    for k, (op, av) in enumerate(items):
        if op is c.LITERAL:
            pre = [p + chr(av) for p in pre]
            continue
        if pre != [""]:  # a literal start is known: more alternatives would only mean more look-ups
            break
        if op is c.AT:
            continue
        if op is c.IN and len(av) <= _SMALL_SET and all(o is c.LITERAL for o, _ in av):
            pre = [chr(v) for _, v in av]
            continue
        sub = None
        rest = items[k + 1 :]
        if op is c.SUBPATTERN and not av[1] and not av[2]:
            sub = _firsts(list(av[-1]) + rest)
        elif op is c.BRANCH:
            subs = [_firsts(list(b) + rest) for b in av[1]]
            sub = None if any(x is None for x in subs) else set().union(*subs)
        elif op is c.MAX_REPEAT or op is c.MIN_REPEAT:
            lo, _hi, body = av
            first = _firsts(list(body))
            if lo == 0:
                after = _firsts(rest)
                sub = None if first is None or after is None else first | after
            else:
                sub = first
        if sub is None:
            break
        return {x[:3] for x in sub} if len(sub) > _MANY else sub
    return set(pre) if all(pre) else None


def _iter_starts(part, text: str, low: str, start: int, end: int):
    """The matches ``finditer`` would give, tried only where one of the part's literal starts occurs.

    A match can only begin where one of its literal starts does, so trying the (anchored) pattern at
    those positions in order, resuming after each match, gives exactly the engine's matches; the
    literals are found with ``str.find``, far faster than the engine's scan of an alternation of
    words.  A part that needs verifying is verified at each candidate as in :meth:`_Matcher._iter_part`.
    """
    loose, verify, _needles, _on_original, starts = part
    find = low.find
    cands: set[int] = set()
    for lit in starts:
        i = find(lit, start, end)
        while i >= 0:
            cands.add(i)
            i = find(lit, i + 1, end)
    if not cands:
        return []
    out = []
    pos = start
    match = loose.match
    if verify is None:
        for p in sorted(cands):
            if p < pos:
                continue
            m = match(low, p, end)
            if m is not None:
                out.append(m)
                pos = m.end()  # never an empty match: every match starts with a literal
        return out
    vmatch = verify.match
    for p in sorted(cands):
        if p < pos or match(low, p, end) is None:
            continue
        m = vmatch(text, p, end)
        if m is not None:
            out.append(m)
            pos = m.end() if m.end() > p else p + 1
        else:
            pos = p + 1
    return out
