"""Pre-rate care plans against a rubric, keeping the evidence for every rating.

For each plan the evidence rules are evaluated once (compiled regular expressions restricted to
the relevant sections), giving a count and up to three evidence spans per rule.  Each criterion's
rules are then tried in the order "not applicable", "met", "partly met"; the first that holds
gives the rating, otherwise the rating is "not evidenced".  A criterion with ``applies_to`` (e.g. the
Welsh eight areas of life, ``country: Wales``) is "not applicable" to plans outside its scope
without looking at the text.  A rating is never higher than its rule
allows: "met" needs every piece of evidence its rule names.  The evidence kept for a rating is the
evidence of the rule that fired.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence

from recoverystudy.audit.rubric import Rubric
from recoverystudy._dates import MONTHS
from recoverystudy.audit._matcher import _SEP, PlanLiterals, _LiteralIndex, _Matcher, batch_literals
from recoverystudy.audit.sections import LineIndex, PlanLayout, in_spans, substantive

__all__ = ["NEGATED", "PlanRating", "prerate_batch", "prerate_text"]

_MAX_EVIDENCE = 3
#: the batch look-ups hold a few bytes per character of a batch: long plans are looked up this many
#: characters at a time at most
_BATCH_CHARS = 2_000_000
#: Suffix of the evidence name in an evidence row for a match that a negation cue governs ("No crisis
#: plan has been agreed." -> ``crisis_mention (negated)``): shown to the reviewer, never counted.
NEGATED = " (negated)"
_DATE = (
    r"(?:(?P<d1>\d{1,2})[/.\-](?P<m1>\d{1,2})[/.\-](?P<y1>\d{4}|\d{2})(?!\d)"
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    r"|(?P<d3>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m3>[A-Za-z]{3,9})\.?,?\s+(?P<y3>\d{4}))"
)
_ITEM_SPLIT = re.compile(r"[,;]|\band\b|\bor\b|[.!?](?:\s+|$)")
_BULLET = re.compile(r"^[ \t]*(?:[-*\u2022\u25aa]|\d{1,2}[.)])[ \t]+\S", re.MULTILINE)
_NAME_TOKEN = re.compile(r"\b[A-Z][a-z]+\b")
_NOT_NAMES = frozenset(
    [
        "The",
        "A",
        "An",
        "My",
        "His",
        "Her",
        "Their",
        "I",
        "We",
        "Care",
        "Team",
        "Crisis",
        "Service",
        "Plan",
        "If",
        "In",
        "On",
        "Out",
    ]
)

# (plan index, rating per criterion, evidence rows)
PlanRating = tuple


def _parse_date(m: re.Match) -> int | None:
    try:
        if m.group("d1"):
            d, mo, y = int(m.group("d1")), int(m.group("m1")), m.group("y1")
            year = int(y) if len(y) == 4 else (2000 + int(y) if int(y) < 70 else 1900 + int(y))
        elif m.group("y2"):
            year, mo, d = int(m.group("y2")), int(m.group("m2")), int(m.group("d2"))
        else:
            mo = MONTHS.get(m.group("m3").lower())
            if mo is None:
                return None
            d, year = int(m.group("d3")), int(m.group("y3"))
        return _dt.date(year, mo, d).toordinal()
    except ValueError:
        return None


def rubric_compared_names(rubric: Rubric) -> set[str]:
    """Evidence names used in numeric comparisons anywhere in the rubric's rules."""
    import ast

    names: set[str] = set()
    for crit in rubric.criteria:
        for _r, src, _code in crit.rules:
            for node in ast.walk(ast.parse(src, mode="eval")):
                if isinstance(node, ast.Compare):
                    names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return names


def rubric_comparison_caps(rubric: Rubric) -> dict[str, int]:
    """For each evidence name used in a numeric comparison: a count from which on no rule's answer changes.

    That is the largest whole number it is compared with, plus one (``first_person >= 3`` gives 4: any
    count of 4 or more decides every rule as the full count would); 10**9 where a comparison is not
    with whole numbers only.  Rules combine counts only with ``and``, ``or``, ``not`` and comparisons,
    so counting up to the cap gives the same ratings.
    """
    import ast

    caps: dict[str, int] = {}
    for crit in rubric.criteria:
        for _r, src, _code in crit.rules:
            for node in ast.walk(ast.parse(src, mode="eval")):
                if isinstance(node, ast.Compare):
                    consts = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)]
                    whole = consts and all(type(c) is int and c >= 0 for c in consts)
                    cap = max(consts) + 1 if whole else 10**9
                    for n in ast.walk(node):
                        if isinstance(n, ast.Name):
                            caps[n.id] = max(caps.get(n.id, 0), cap)
    return caps


class _Compiled:
    """Per-rubric compiled helpers (date regexes, fast matchers), cached on first use."""

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self.matchers: dict[str, _Matcher] = {
            ev.name: _Matcher(ev.pattern) for ev in rubric.evidence.values() if ev.pattern is not None
        }
        self.name_matchers = {
            rx.pattern: _Matcher(rx) for ev in rubric.evidence.values() for rx in ev.names_from
        }
        self.dates: dict[str, re.Pattern] = {}
        self.date_matchers: dict[str, _Matcher] = {}
        for ev in rubric.evidence.values():
            if ev.kind == "date":
                full = re.compile(rf"(?:{ev.label.pattern})[^\n\d]{{0,30}}?(?P<date>{_DATE})", ev.label.flags)
                self.dates[ev.name] = full
                self.date_matchers[ev.name] = _Matcher(full)
        self._exact: _Compiled | None = None
        # literals looked up for a whole batch of plans at once (see _LiteralIndex): the matchers'
        # literal starts and needles, and the first words of the negation cues
        literals, starts, needles = batch_literals(
            [*self.matchers.values(), *self.name_matchers.values(), *self.date_matchers.values()]
        )
        self.neg_keys: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        if rubric.negation is not None:
            cue_needles = rubric.negation.needles
            self.neg_keys = (
                tuple(f for f, word_start in cue_needles if word_start),
                tuple(f for f, word_start in cue_needles if not word_start),
            )
            starts = tuple(sorted(set(starts) | {k for k in self.neg_keys if k}, key=repr))
            literals = tuple(sorted(set(literals).union(*self.neg_keys)))
        # None: a literal holds the character that separates the plans of a batch (never in practice)
        self.batch_keys = None if any(_SEP in x for x in literals) else (literals, starts, needles)
        # Rules only tested for presence stop after _MAX_EVIDENCE sentences; rules compared with a
        # number (e.g. warning_signs >= 2) are counted in full.
        compared = rubric_compared_names(rubric)
        self.limits = {name: (10**9 if name in compared else _MAX_EVIDENCE) for name in rubric.evidence}
        # when only the ratings and evidence are wanted (not the counts), a compared count need only
        # reach the largest number it is compared with, plus one
        caps = rubric_comparison_caps(rubric)
        self.rating_limits = {
            name: (max(_MAX_EVIDENCE, caps.get(name, 10**9)) if name in compared else _MAX_EVIDENCE)
            for name in rubric.evidence
        }
        # evaluate dates before date_after
        order = [e for e in rubric.evidence.values() if e.kind != "date_after"]
        order += [e for e in rubric.evidence.values() if e.kind == "date_after"]
        self.order = order
        # per criterion: (criterion, scoped?, coverage evidence it uses); coverage is always counted in
        # full for the plans a criterion applies to, so the per-plan coverage table is complete
        self.criteria = [
            (
                crit,
                bool(crit.applies_to),
                tuple(n for n in crit.uses if rubric.evidence[n].kind == "coverage"),
                f"applies_to ({crit.scope})" if crit.applies_to else "",
            )
            for crit in rubric.criteria
        ]
        # each criterion's rules as (rating, source, function of the counts): the compiled rule's own
        # function, called directly (its truth value is the rule's answer)
        self.rule_fns = [
            tuple((r, src, getattr(rule, "_fn", rule)) for r, src, rule in crit.rules) for crit in rubric.criteria
        ]

    def exact(self) -> _Compiled:
        """A copy whose matchers run every alternative on the original text (no lower-casing)."""
        if self._exact is None:
            other = object.__new__(_Compiled)
            other.__dict__.update(self.__dict__)
            other.matchers = {}
            other.name_matchers = {}
            other.date_matchers = {}
            for name, ev in self.rubric.evidence.items():
                if ev.pattern is not None:
                    m = object.__new__(_Matcher)
                    m.parts = [(ev.pattern, None, None, True, None)]
                    other.matchers[name] = m
            for key, rx in self.dates.items():
                m = object.__new__(_Matcher)
                m.parts = [(rx, None, None, True, None)]
                other.date_matchers[key] = m
            for key in self.name_matchers:
                m = object.__new__(_Matcher)
                m.parts = [(re.compile(key, re.IGNORECASE | re.MULTILINE), None, None, True, None)]
                other.name_matchers[key] = m
            self._exact = other
        return self._exact


_COMPILED: dict[int, _Compiled] = {}


def _compiled(rubric: Rubric) -> _Compiled:
    key = id(rubric)
    c = _COMPILED.get(key)
    if c is None or c.rubric is not rubric:
        c = _Compiled(rubric)
        _COMPILED[key] = c
    return c


def _negation_positions(comp: _Compiled, low: str, lits: PlanLiterals) -> list[int]:
    """:meth:`Negation.positions` of the plan, from the positions found for its batch."""
    word_start, anywhere = comp.neg_keys
    out: list[int] = []
    if word_start:
        out = [
            p for p in lits.index.starts(word_start, lits.i)
            if p == 0 or not (low[p - 1].isalnum() or low[p - 1] == "_")
        ]
    if anywhere:
        out += lits.index.starts(anywhere, lits.i)
        out.sort()
    return out


def _count_items(text: str, start: int, end: int) -> int:
    chunk = text[start:end]
    bullets = _BULLET.findall(chunk)
    if bullets:
        return len(bullets)
    return sum(1 for part in _ITEM_SPLIT.split(chunk) if _letters(part, 3))


def _letters(part: str, n: int) -> bool:
    """True if *part* holds at least *n* letters (``str.isalpha``), looking no further than the n-th."""
    for ch in part:
        if ch.isalpha():
            n -= 1
            if not n:
                return True
    return False


def _evaluate(
    layout: PlanLayout, comp: _Compiled, low: str | None = None, lits: PlanLiterals | None = None,
    full_counts: bool = True,
) -> tuple[dict, dict]:
    text = layout.text
    limits = comp.limits if full_counts else comp.rating_limits
    if low is None:
        low = text.lower()
    exact_mode = len(low) != len(text)
    if exact_mode:  # a few Unicode letters change length when lower-cased: no fast path
        low = text
        comp = comp.exact()
        lits = None
    name_cache: dict[str, set] = {}
    evidence: dict[str, list] = {}
    date_values: dict[str, list] = {}
    rules = comp.rubric.evidence
    negation = comp.rubric.negation
    negated_found: dict[str, list] = {}
    neg_pos: list = []  # [cue positions] once computed (the fast path needs the lower-cased text)

    def is_negated(ms: int, me: int, ss: int, se: int) -> bool:
        if exact_mode:
            return negation.negated(text, ms, me, ss, se)
        if not neg_pos:
            neg_pos.append(negation.positions(low) if lits is None else _negation_positions(comp, low, lits))
        return negation.negated(text, ms, me, ss, se, neg_pos[0])

    def compute(name: str) -> int:
        ev = rules[name]
        found: list = []
        count = 0
        kind = ev.kind
        neg = negation if ev.negation else None
        if neg is not None:
            negated: list = []
            neg_seen: set[int] = set()
        if kind == "pattern":
            spans = (
                layout.spans(ev.sections, ev.exclude_sections)
                if (ev.sections or ev.exclude_sections)
                else None
            )
            seen: set[int] = set()
            matcher = comp.matchers[ev.name]
            limit = limits[ev.name]
            in_label = layout.in_label if ev.skip_labels else None
            sentence = layout.sentence
            unless = ev.unless
            for s, e in spans if spans is not None else ((0, len(text)),):
                last_end = -1
                for m in matcher.finditer(text, low, s, e, lits):
                    ms = m.start()
                    if ms < last_end or m.end() == ms or (in_label is not None and in_label(ms)):
                        continue
                    ss, se = sentence(ms)
                    if ss in seen:
                        last_end = se
                        continue
                    if unless is not None and unless.search(text, ss, se):
                        last_end = se
                        continue
                    if neg is not None and is_negated(ms, m.end(), ss, se):
                        # not evidence; a later match in the same sentence may still count
                        if len(negated) < _MAX_EVIDENCE and ss not in neg_seen:
                            neg_seen.add(ss)
                            negated.append((ms, m.end(), ss, se))
                        continue
                    last_end = se
                    seen.add(ss)
                    if len(found) < _MAX_EVIDENCE:
                        found.append((ms, m.end(), ss, se))
                    if len(seen) >= limit:
                        break
                if len(seen) >= limit:
                    break
            count = len(seen)
        elif kind == "section":
            for sec in layout.kind_sections(ev.sections, ev.exclude_sections):
                if substantive(text[sec.content_start : sec.end]):
                    count += 1
                    if len(found) < _MAX_EVIDENCE:
                        hs, he = layout.line(sec.heading_start)
                        found.append((sec.heading_start, sec.end, hs, he))
        elif kind == "items":
            spans = layout.spans(ev.sections) if ev.sections else []
            for s, e in spans:
                pos = s
                while pos < e:
                    nl = text.find("\n", pos, e)
                    line_end = e if nl < 0 else nl
                    fk = layout.field_kinds(pos)
                    if line_end > pos and (fk is None or fk.intersection(ev.sections)):
                        body_start = pos
                        if fk is not None or layout.in_label(pos):
                            colon = text.find(":", pos, line_end)
                            body_start = line_end if colon < 0 else colon + 1
                        n = _count_items(text, body_start, line_end)
                        if n:
                            count += n
                            if len(found) < _MAX_EVIDENCE:
                                found.append((body_start, line_end, pos, line_end))
                    pos = line_end + 1
            if ev.cue is not None:
                cue_spans = layout.spans(ev.cue_sections) if ev.cue_sections else [(0, len(text))]
                seen = set()
                for s, e in cue_spans:
                    for m in ev.cue.finditer(text, s, e):
                        if spans and in_spans(m.start(), spans):
                            continue
                        ss, se = layout.sentence(m.start())
                        if ss in seen:
                            continue
                        seen.add(ss)
                        n = _count_items(text, m.end(), se) or 1
                        count += n
                        if len(found) < _MAX_EVIDENCE:
                            found.append((m.start(), se, ss, se))
        elif kind == "date":
            values = []
            for m in comp.date_matchers[ev.name].finditer(text, low, 0, len(text), lits):
                value = _parse_date(m)
                if value is None:
                    continue
                values.append((value, m.start("date"), m.end("date")))
                if len(found) < _MAX_EVIDENCE:
                    ss, se = layout.sentence(m.start("date"))
                    found.append((m.start("date"), m.end("date"), ss, se))
            date_values[ev.name] = values
            count = len(values)
        elif kind == "date_after":
            counts[ev.reference], counts[ev.date]
            refs = date_values.get(ev.reference, [])
            if refs:
                ref_value, rs_, re_ = refs[0]
                for value, s, e in date_values.get(ev.date, []):
                    if value > ref_value:
                        count += 1
                        if len(found) < _MAX_EVIDENCE:
                            ss, se = layout.sentence(s)
                            found.append((s, e, ss, se))
                if count:
                    ss, se = layout.sentence(rs_)
                    found.append((rs_, re_, ss, se))
        elif kind == "coverage":
            # one entry per area with an outcome: (area, evidence name, start, end, ss, se)
            for area, parts in ev.areas:
                for part in parts:
                    if counts[part] > 0:
                        count += 1
                        s_, e_, ss_, se_ = evidence[part][0]
                        found.append((area, part, s_, e_, ss_, se_))
                        break
        elif kind == "linked":
            names: set[str] = set()
            for rx in ev.names_from:
                got = name_cache.get(rx.pattern)
                if got is None:
                    got = {
                        m.group("name")
                        for m in comp.name_matchers[rx.pattern].finditer(text, low, 0, len(text), lits)
                    }
                    got -= _NOT_NAMES | {None}
                    name_cache[rx.pattern] = got
                names |= got
            sect = layout.spans(ev.sections) if ev.sections else []
            seen = set()
            limit = limits[ev.name]
            last_end = -1
            for m in comp.matchers[ev.name].finditer(text, low, 0, len(text), lits):
                ms = m.start()
                if ms < last_end:
                    continue
                ss, se = layout.sentence(ms) if ev.scope == "sentence" else layout.line(ms)
                last_end = se
                if ss in seen:
                    continue
                ok = (sect and in_spans(ms, sect)) or (
                    ev.also is not None and ev.also.search(text, ss, se) is not None
                )
                if not ok and names:
                    ok = any(tok in names for tok in _NAME_TOKEN.findall(text, ss, se))
                if not ok:
                    continue
                if ev.unless is not None and ev.unless.search(text, ss, se):
                    continue
                if neg is not None and is_negated(ms, m.end(), ss, se):
                    last_end = ms + 1  # a later match in the same sentence may still count
                    if len(negated) < _MAX_EVIDENCE and ss not in neg_seen:
                        neg_seen.add(ss)
                        negated.append((ms, m.end(), ss, se))
                    continue
                seen.add(ss)
                if len(found) < _MAX_EVIDENCE:
                    found.append((ms, m.end(), ss, se))
                if len(seen) >= limit:
                    break
            count = len(seen)
        counts[ev.name] = count
        evidence[ev.name] = found
        if neg is not None and negated:
            negated_found[ev.name] = negated
        return count

    counts = _LazyCounts()
    counts.compute = compute
    counts.negated = negated_found
    return counts, evidence


class _LazyCounts(dict):
    """Evidence counts computed on first use: a rule that is never consulted (say the "partly
    met" rule of a criterion already met) costs nothing."""

    compute = None
    negated: dict = {}  # evidence name -> matches found only in negated form (set per plan)

    def __missing__(self, key: str) -> int:
        return self.compute(key)


def prerate_text(
    text: str, rubric: Rubric, attrs: dict | None = None
) -> tuple[list[str], list[str], list[list[tuple]], dict, dict]:
    """Pre-rate one plan.

    Parameters
    ----------
    text : str
    rubric : Rubric
    attrs : dict, optional
        The plan's attributes (``country``, ``team``) for criteria with ``applies_to``; a
        criterion whose scope the plan is outside (or whose attribute is missing) is rated
        "not applicable" with the rule ``applies_to (...)``.

    Returns
    -------
    ratings : list of str, one per criterion
    rules : list of str, the rule expression that fired ("" for not evidenced)
    evidence : list (per criterion) of (evidence name, start, end, sentence_start, sentence_end)
    counts : dict of the evidence counts that were needed (rules are evaluated lazily)
    coverage : dict
        ``{(criterion id, coverage evidence name): tuple of areas with an outcome}`` for the
        coverage rules of the criteria that apply to this plan.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> rub = rs.load_rubric()
    >>> text = "Outcomes\\nWork and occupation: I want a part-time job.\\nAccommodation: N/A\\n"
    >>> ratings, rules, _, _, coverage = prerate_text(text, rub, {"country": "Wales"})
    >>> ratings[rub.criterion_ids.index("wales_eight_areas")], coverage[("wales_eight_areas", "life_areas")]
    ('met', ('work and occupation',))
    >>> ratings, rules, _, _, coverage = prerate_text(text, rub)  # no country: out of scope
    >>> rules[rub.criterion_ids.index("wales_eight_areas")], coverage
    ('applies_to (country: Wales)', {})
    """
    return _prerate(text, text.lower(), _compiled(rubric), attrs, None)


def prerate_batch(
    texts: Sequence[str], rubric: Rubric, attrs: Sequence[dict | None] | None = None
) -> list[tuple[list[str], list[str], list[list[tuple]], dict]]:
    """Pre-rate a batch of plans: ``(ratings, rules, evidence, coverage)`` per plan, as from :func:`prerate_text`.

    The literals the evidence rules look for, the sentence bounds and the lines that may hold a heading
    are found once for the whole batch (see :class:`~recoverystudy.audit._matcher._LiteralIndex` and
    :class:`~recoverystudy.audit.sections.LineIndex`; at most ``_BATCH_CHARS`` characters at a time)
    instead of plan by plan; the results are the same.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> rub = rs.load_rubric()
    >>> texts = ["My goals\\nI want to go back to work.", "Crisis plan\\nNo crisis plan has been agreed."]
    >>> [r[0] for r in prerate_batch(texts, rub)] == [prerate_text(t, rub)[0] for t in texts]
    True
    """
    comp = _compiled(rubric)
    texts = list(texts)
    out: list = []
    start = 0
    while start < len(texts):  # batches of at most _BATCH_CHARS characters (and at least one plan)
        stop, size = start + 1, len(texts[start])
        while stop < len(texts) and size + len(texts[stop]) <= _BATCH_CHARS:
            size += len(texts[stop])
            stop += 1
        part = texts[start:stop]
        lows = [t.lower() for t in part]
        index = _LiteralIndex(lows, *comp.batch_keys, part) if comp.batch_keys is not None else None
        lines = LineIndex(part)
        for k, (text, low) in enumerate(zip(part, lows)):
            lits = PlanLiterals(index, k, text.isascii()) if index is not None else None
            ratings, rules, evidence, counts, coverage = _prerate(
                text, low, comp, attrs[start + k] if attrs is not None else None, lits, full_counts=False,
                lines=lines.lines(k),
            )
            counts.compute = None  # counts and their closure refer to each other: freed now, not by the collector
            out.append((ratings, rules, evidence, coverage))
        start = stop
    return out


def _prerate(
    text: str, low: str, comp: _Compiled, attrs: dict | None, lits: PlanLiterals | None, full_counts: bool = True,
    lines: tuple[list[int], list[int]] | None = None,
):
    rubric = comp.rubric
    layout = PlanLayout(text, rubric.sections, rubric.headings, low, lines)
    counts, found = _evaluate(layout, comp, low, lits, full_counts)
    ratings, rules, evidence = [], [], []
    coverage: dict = {}
    for (crit, scoped, cov_names, scope_rule), crit_rules in zip(comp.criteria, comp.rule_fns):
        if scoped and not crit.applies(attrs):
            ratings.append("not applicable")
            rules.append(scope_rule)
            evidence.append([])
            continue
        rating, fired = "not evidenced", ""
        for r, src, rule in crit_rules:
            if rule(counts):
                rating, fired = r, src
                break
        ev_rows: list[tuple] = []
        if fired:
            for name in crit.rule_names(rating):
                if counts.get(name, 0) > 0:
                    if name in cov_names:  # one row per area covered, named by the evidence that found it
                        ev_rows.extend(row[1:] for row in found[name])
                        continue
                    for s, e, ss, se in found[name][:2]:
                        ev_rows.append((name, s, e, ss, se))
        if counts.negated and rating in ("partly met", "not evidenced"):
            # negated matches of the rules that would have raised the rating: shown to the reviewer
            # as negative evidence ("No crisis plan has been agreed."), never counted
            for name in crit.uses:
                for s, e, ss, se in counts.negated.get(name, ())[:2]:
                    ev_rows.append((name + NEGATED, s, e, ss, se))
        for name in cov_names:
            counts[name]  # make sure the coverage was counted (lazily computed)
            coverage[(crit.id, name)] = tuple(row[0] for row in found[name])
        ratings.append(rating)
        rules.append(fired)
        evidence.append(ev_rows)
    return ratings, rules, evidence, counts, coverage
