"""Fast matching of the evidence rules' regular expressions, with exactly the engine's matches.

Used by :mod:`recoverystudy.audit.prerate`: :class:`_Matcher` runs a rule's pattern on the
lower-cased plan (faster than IGNORECASE), verifying where lower-casing could loosen it, skips parts
whose literal prefixes do not occur in the plan, and tries a pattern only where one of its literal
starts occurs (found with ``str.find``) when every match must begin with one.
"""

from __future__ import annotations

import re
from bisect import bisect_left

import numpy as np

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
            starts = _starts(loose, sp)
            long_starts = _long_starts(loose, sp) if starts and min(map(len, starts)) < 4 else None
            # a verified part without literal starts: where its original alternatives may start (for a batch)
            vstarts = _verify_starts(items, pattern.flags, flags_low, sp) if verify is not None and not starts else None
            self.parts.append((loose, verify, needles, False, starts, long_starts, vstarts))

    def finditer(self, text: str, low: str, start: int, end: int, lits: PlanLiterals | None = None):
        """Matches in order of position (several parts are merged).

        *lits* (the plan's literal positions, found for its whole batch) replaces the per-plan look-ups
        of the parts' needles and literal starts; the matches are the same.
        """
        parts = self.parts
        if len(parts) == 1:
            part = parts[0]
            loose, verify, needles, on_original, starts = part[:5]
            if needles is not None and not (
                _present(needles, low) if lits is None else lits.index.present(needles, lits.i)
            ):
                return ()
            if starts is not None or (lits is not None and lits.ascii and len(part) > 6 and part[6]):
                return _iter_starts(part, text, low, start, end, lits)
            if verify is None:  # the engine's own iterator, no generator in between
                return loose.finditer(text if on_original else low, start, end)
            return self._iter_part(part, text, low, start, end)
        out: list = []
        for part in parts:
            loose, verify, needles, on_original, starts = part[:5]
            if needles is not None and not (
                _present(needles, low) if lits is None else lits.index.present(needles, lits.i)
            ):
                continue
            if starts is not None or (lits is not None and lits.ascii and len(part) > 6 and part[6]):
                out.extend(_iter_starts(part, text, low, start, end, lits))
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
        loose, verify = part[0], part[1]
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


_LONG_CUT = 8  # literal starts for a batch are cut to this many characters
_LONG_MAX = 96  # at most this many literal starts per part for a batch (found with numpy, they cost little)


def _long_starts(loose: re.Pattern, sp) -> tuple[str, ...] | None:
    """Like :func:`_starts`, but each literal runs on through what follows it as far as it is literal.

    ``\\b(?:do|does|did)(?: not|n't) have`` gives ``do not have``, ``don't have``, ``does not have`` ...
    instead of ``d``: far fewer places to try the pattern.  Every match starts with one of them (each is
    a literal the pattern must begin with, followed through optional parts, alternatives and repeats
    of at most one); they are looked up for a whole batch of plans at once (see :class:`_LiteralIndex`),
    where more and longer literals cost little.  None when not known (as :func:`_starts`).
    """
    if loose.flags & re.IGNORECASE:
        return None
    try:
        found = _runs(list(sp.parse(loose.pattern, loose.flags)))
    except Exception:  # noqa: BLE001 - not understood: the short starts are used
        return None
    # a literal longer than _LONG_CUT adds little: few places share even that much
    lits = {p[:_LONG_CUT] for p, _complete in found}
    if not lits or any(not x.strip() for x in lits):
        return None
    lits_sorted = sorted(lits)
    return tuple(x for x in lits_sorted if not any(x != y and x.startswith(y) for y in lits_sorted))


def _runs(items: list) -> set[tuple[str, bool]] | None:
    """``{(literal, complete)}``: every match of the parsed sequence *items* begins with one of the
    literals; *complete* when the match is exactly that literal (so what follows may extend it)."""
    try:
        from re import _constants as c
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_constants as c
    cur: set[tuple[str, bool]] = {("", True)}
    for op, av in items:
        if not any(done for _, done in cur):
            break
        if op is c.LITERAL:
            step = {(chr(av), True)}
        elif op is c.AT:
            step = {("", True)}  # zero-width: restricts where a match is, adds no characters
        elif op is c.IN and len(av) <= _SMALL_SET and all(o is c.LITERAL for o, _ in av):
            step = {(chr(v), True) for _, v in av}
        elif op is c.SUBPATTERN and not av[1] and not av[2]:
            step = _runs(list(av[-1]))
        elif op is c.BRANCH:
            subs = [_runs(list(b)) for b in av[1]]
            step = None if any(x is None for x in subs) else set().union(*subs)
        elif op is c.MAX_REPEAT or op is c.MIN_REPEAT:
            lo, hi, body = av
            inner = _runs(list(body))
            if inner is None:
                step = None
            else:
                step = inner if hi == 1 else {(q, False) for q, _ in inner}
                if lo == 0:
                    step = step | {("", True)}
        else:
            step = None
        if step is None:  # not a literal: the literals end here
            cur = {(p, False) for p, _ in cur}
            break
        nxt = {(p + q, done_q) if done else (p, False) for p, done in cur for q, done_q in step}
        nxt |= {(p, False) for p, done in cur if not done}
        if len(nxt) > _LONG_MAX and any(p for p, _ in cur):  # too many: keep the literals found so far
            cur = {(p, False) for p, _ in cur}
            break
        cur = nxt
    return cur


def _verify_starts(items, flags: int, flags_low: int, sp) -> tuple | None:
    """Where a match of a verified part can start in an ASCII plan: ``(literals, classes)`` or None.

    *items* are the part's (loosened, original) alternatives.  An original alternative that begins
    with a case-sensitive class (``(?-i:\\b[A-Z][a-z]+...``) can only start at a character of that class
    in the original text - after a character that is not a word character if a ``\\b`` comes first, and
    before one of the next class if the group says what follows: each such class is
    ``(ranges, after a boundary?, ranges of the next character or None)``.  Any other alternative can
    only start where one of its loosened literal starts occurs in the lower-cased text (on ASCII text,
    lower-casing is exact).  A match of the part (the loosened
    pattern, verified by the original) starts at one of those places, so trying only them gives the
    same matches as the loosened pattern's own scan.  None when some alternative starts otherwise.
    """
    try:
        from re import _constants as c
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_constants as c
    lits: set[str] = set()
    specs: set[tuple] = set()

    def plain_class(item) -> tuple | None:
        op, av = item
        if op is c.IN and all(o in (c.LITERAL, c.RANGE) for o, _ in av):
            return tuple(sorted((v, v) if o is c.LITERAL else v for o, v in av))
        return None

    for loose, original in items:
        try:
            parsed = list(sp.parse(original, flags))
        except Exception:  # noqa: BLE001
            return None
        spec = None
        k = 0
        anchors = []
        while k < len(parsed) and parsed[k][0] is c.AT:
            anchors.append(parsed[k][1])
            k += 1
        if k < len(parsed) and parsed[k][0] is c.SUBPATTERN:
            _group, add, dele, body = parsed[k][1]
            body = list(body)
            j = 0
            while j < len(body) and body[j][0] is c.AT:
                anchors.append(body[j][1])
                j += 1
            first = plain_class(body[j]) if not add and dele & re.IGNORECASE and j < len(body) else None
            if first is not None:
                # the character after it, if the case-sensitive group says what it must be
                second = None
                if j + 1 < len(body):
                    op, av = body[j + 1]
                    if op is c.IN:
                        second = plain_class(body[j + 1])
                    elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1 and len(av[2]) == 1:
                        second = plain_class(av[2][0])
                spec = (first, any(a is c.AT_BOUNDARY for a in anchors), second)
        if spec is not None:
            specs.add(spec)
            continue
        try:
            runs = _runs(list(sp.parse(loose, flags_low)))
        except Exception:  # noqa: BLE001
            return None
        found = {p[:_LONG_CUT] for p, _ in runs} if runs else None
        if not found or any(not x.strip() for x in found):
            return None
        lits |= found
    kept = sorted(lits)
    kept = tuple(x for x in kept if not any(x != y and x.startswith(y) for y in kept))
    return (kept, tuple(sorted(specs, key=repr)))


def _iter_starts(part, text: str, low: str, start: int, end: int, lits: PlanLiterals | None = None):
    """The matches ``finditer`` would give, tried only where one of the part's literal starts occurs.

    A match can only begin where one of its literal starts does, so trying the (anchored) pattern at
    those positions in order, resuming after each match, gives exactly the engine's matches; the
    literals are found with ``str.find`` (or, with *lits*, taken from the positions found for the whole
    batch), far faster than the engine's scan of an alternation of words.  A part that needs verifying
    is verified at each candidate as in :meth:`_Matcher._iter_part`.  The batch positions may include a
    literal that starts before *end* but runs past it: the pattern cannot match there (every match in
    ``[start, end)`` begins with a literal that fits), so the matches are the same.
    """
    loose, verify, starts = part[0], part[1], part[4]
    if lits is not None:
        key = starts if starts is None or len(part) < 6 or not part[5] else part[5]
        everywhere = lits.index.starts(part[6] if key is None else key, lits.i)
        if not everywhere:
            return []
        if start > 0 or end < len(low):
            cands = everywhere[bisect_left(everywhere, start) : bisect_left(everywhere, end)]
            if not cands:
                return []
        else:
            cands = everywhere
    else:
        find = low.find
        found: set[int] = set()
        for lit in starts:
            i = find(lit, start, end)
            while i >= 0:
                found.add(i)
                i = find(lit, i + 1, end)
        if not found:
            return []
        cands = sorted(found)
    out = []
    pos = start
    match = loose.match
    if verify is None:
        for p in cands:
            if p < pos:
                continue
            m = match(low, p, end)
            if m is not None:
                out.append(m)
                pos = m.end()  # never an empty match: every match starts with a literal
        return out
    vmatch = verify.match
    for p in cands:
        if p < pos or match(low, p, end) is None:
            continue
        m = vmatch(text, p, end)
        if m is not None:
            out.append(m)
            pos = m.end() if m.end() > p else p + 1
        else:
            pos = p + 1
    return out


_SEP = "\x00"  # between the plans of a batch: in no literal, so no literal occurrence spans two plans


def batch_literals(matchers) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """(every literal, the literal-start tuples, the needle tuples) of *matchers*' parts, for a :class:`_LiteralIndex`."""
    starts, needles = set(), set()
    for m in matchers:
        for part in m.parts:
            if len(part) > 5 and part[5]:
                starts.add(part[5])
            elif part[4]:
                starts.add(part[4])
            elif len(part) > 6 and part[6]:
                starts.add(part[6])
            if part[2]:
                needles.add(part[2])
    # a needle is looked up by its first _LONG_CUT characters: a weaker test, so a part is skipped only
    # where it cannot match (and run, finding nothing, where the longer needle is missing)
    # (and a literal start by as many: the positions are a superset, tried one by one as before)
    plain = [k for k in starts if not _is_vkey(k)]
    lits = {x[:_LONG_CUT] for group in (*plain, *needles) for x in group}
    lits |= {x for k in starts if _is_vkey(k) for x in k[0]}
    return tuple(sorted(lits)), tuple(sorted(starts, key=repr)), tuple(sorted(needles))


def _is_vkey(key: tuple) -> bool:
    """True for a verified part's ``(literals, capitals)`` key (see :func:`_verify_starts`)."""
    return len(key) == 2 and isinstance(key[0], tuple)


class _LiteralIndex:
    """Where the literals of a rubric's matchers occur in a batch of lower-cased plans, found for the whole batch.

    The plans are joined (with a character no literal holds) into one array of code points; the positions
    of each literal are found with numpy - one comparison over the batch per distinct first character,
    then a check of each further character at the candidate positions only - instead of ``str.find``
    called for every literal in every plan.  For each tuple of literal starts (one per matcher part) the
    sorted, distinct positions where one of them occurs are kept per plan, as offsets into that plan, and
    for each tuple of needles whether any occurs in the plan.  The positions are exactly those
    ``low.find`` gives over the whole plan.  Plans whose lower case has another length are matched on
    their original text (exact mode) and never ask.
    """

    __slots__ = ("_bounds", "_local", "_present", "n")

    def __init__(
        self, lows: list[str], literals: tuple, starts: tuple, needles: tuple, texts: list[str] | None = None
    ) -> None:
        self.n = len(lows)
        offsets = np.zeros(len(lows) + 1, dtype=np.int64)
        np.cumsum([len(x) + 1 for x in lows], out=offsets[1:])
        longest = max((len(x) for x in literals), default=1)
        corpus = _SEP.join(lows) + _SEP * (longest + 1)
        if corpus.isascii():  # one byte a character: a quarter of the memory to scan
            arr = np.frombuffer(corpus.encode("ascii"), dtype=np.uint8)
            literals = tuple(x for x in literals if x.isascii())  # the others occur nowhere
        else:
            arr = np.frombuffer(corpus.encode("utf-32-le"), dtype=np.uint32)
        # positions of every prefix of the literals, each found from the positions of the prefix one
        # character shorter (literals sharing a prefix share the work)
        found: dict[str, np.ndarray] = {}
        none = np.zeros(0, dtype=np.intp)
        firsts = sorted({x[0] for x in literals})
        if arr.dtype == np.uint8 and len(firsts) > 4:
            # every position, grouped by character (a stable radix sort keeps each group ascending)
            order = np.argsort(arr, kind="stable")
            ends = np.cumsum(np.bincount(arr, minlength=256))
            for c in firsts:
                o = ord(c)
                found[c] = order[ends[o - 1] if o else 0 : ends[o]]
        else:
            for c in firsts:
                found[c] = np.flatnonzero(arr == ord(c))
        # positions of every longer prefix of the literals, from those of the prefix one character
        # shorter (literals sharing a prefix share the work, and the characters after it are read once)
        following: dict[str, np.ndarray] = {}
        for lit in literals:
            for k in range(2, len(lit) + 1):
                pre = lit[:k]
                if pre in found:
                    continue
                shorter = lit[: k - 1]
                pos = found[shorter]
                if not len(pos):
                    found[pre] = pos
                    continue
                nxt = following.get(shorter)
                if nxt is None:
                    nxt = following[shorter] = arr[pos + (k - 1)]
                found[pre] = pos[nxt == ord(pre[-1])]
        starts_of = offsets[:-1]
        self._local: dict[tuple, list] = {}
        self._bounds: dict[tuple, list] = {}
        # capitals (a verified part's case-sensitive first character) in the original texts; plans whose
        # lower case has another length never ask, and stand in as blanks
        classes: dict[tuple[int, int], np.ndarray] = {}
        vkeys = [k for k in starts if _is_vkey(k)] if texts is not None else []
        if vkeys:
            orig = _SEP.join(t if len(t) == len(x) else _SEP * len(x) for t, x in zip(texts, lows))
            orig += _SEP * (longest + 1)
            oarr = (np.frombuffer(orig.encode("ascii"), dtype=np.uint8) if orig.isascii()
                    else np.frombuffer(orig.encode("utf-32-le"), dtype=np.uint32))
            word = np.zeros(256, dtype=bool)
            word[[ord(ch) for ch in "0123456789_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"]] = True

            def within(values: np.ndarray, ranges: tuple) -> np.ndarray:
                hit = np.zeros(len(values), dtype=bool)
                for lo, hi in ranges:
                    hit |= (values >= lo) & (values <= hi)
                return hit

            for spec in {sp_ for k in vkeys for sp_ in k[1]}:
                first, boundary, second = spec
                pos = np.flatnonzero(within(oarr, first))
                if boundary:  # the character before is not an (ASCII) word character
                    before = oarr[pos - 1]
                    pos = pos[~((before < 128) & word[np.minimum(before, 127)])]
                if second is not None:
                    pos = pos[within(oarr[pos + 1], second)]
                classes[spec] = pos
        for key in starts:
            if _is_vkey(key):
                if texts is None:
                    continue
                groups = [found.get(x, none) for x in key[0]] + [classes[r] for r in key[1]]
            else:
                groups = [found.get(x[:_LONG_CUT], none) for x in key]
            cand = groups[0]
            if len(groups) > 1:
                cand = np.sort(np.concatenate(groups))
                if len(cand) > 1:  # distinct positions
                    cand = cand[np.concatenate(([True], cand[1:] != cand[:-1]))]
            bounds = np.searchsorted(cand, offsets)
            local = cand - np.repeat(starts_of, np.diff(bounds))
            self._local[key] = local.tolist()
            self._bounds[key] = bounds.tolist()
        self._present: dict[tuple, list] = {}
        for key in needles:
            hit = np.zeros(len(lows), dtype=bool)
            for x in key:
                hit[np.searchsorted(starts_of, found.get(x[:_LONG_CUT], none), side="right") - 1] = True
            self._present[key] = hit.tolist()

    def starts(self, key: tuple, i: int) -> list[int]:
        """Sorted offsets in plan *i* where one of the literals *key* begins."""
        b = self._bounds[key]
        return self._local[key][b[i] : b[i + 1]]

    def present(self, key: tuple, i: int) -> bool:
        """True if one of the needles *key* occurs in plan *i*."""
        return self._present[key][i]


class PlanLiterals:
    """One plan's view of a :class:`_LiteralIndex` (what :meth:`_Matcher.finditer` consults)."""

    __slots__ = ("ascii", "i", "index")

    def __init__(self, index: _LiteralIndex, i: int, ascii: bool = False) -> None:
        self.index = index
        self.i = i
        self.ascii = ascii  # the plan is ASCII (and its batch index knows its original text)
