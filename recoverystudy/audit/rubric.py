"""Audit rubrics: criteria, section kinds and evidence rules kept as YAML, validated on loading.

The schema is documented in ``docs/audit-rubric-schema.md``.  Every problem raises
:class:`~recoverystudy.errors.RubricError` naming the file, the criterion (or evidence rule) and
what is wrong.
"""

from __future__ import annotations

import ast
import os
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from recoverystudy._resources import bundled_files
from recoverystudy._yaml import load_yaml
from recoverystudy.errors import RubricError

__all__ = ["RATINGS", "Criterion", "EvidenceRule", "Negation", "Rubric", "list_rubrics", "load_rubric"]

RATINGS = ("met", "partly met", "not evidenced", "not applicable")
RULE_ORDER = ("not applicable", "met", "partly met")
EVIDENCE_KINDS = ("pattern", "section", "items", "date", "date_after", "linked", "coverage")
#: Plan attributes a criterion's ``applies_to`` may restrict on (columns of ``audit.plans``).
PLAN_ATTRIBUTES = ("country", "team")
_MACRO = re.compile(r"<<([a-z_][a-z0-9_]*)>>")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CRITERION_KEYS = frozenset({"id", "group", "question", "citation", "guidance", "rules", "applies_to"})


@dataclass(frozen=True)
class EvidenceRule:
    """One named piece of evidence the pre-rater looks for (see the schema document)."""

    name: str
    kind: str
    description: str
    pattern: re.Pattern | None = None
    unless: re.Pattern | None = None
    sections: tuple[str, ...] = ()
    exclude_sections: tuple[str, ...] = ()
    skip_labels: bool = False
    label: re.Pattern | None = None
    date: str | None = None
    reference: str | None = None
    cue: re.Pattern | None = None
    cue_sections: tuple[str, ...] = ()
    names_from: tuple[re.Pattern, ...] = ()
    also: re.Pattern | None = None
    scope: str = "sentence"
    areas: tuple[tuple[str, tuple[str, ...]], ...] = ()  # kind "coverage": (area label, evidence names)
    #: kinds "pattern" and "linked": a match governed by a negation cue is not evidence (see Negation)
    negation: bool = False


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


@dataclass(frozen=True)
class Criterion:
    """One audit criterion: a question, its source and the rules that pre-rate it."""

    id: str
    group: str
    question: str
    citation: str
    guidance: dict
    rules: tuple[tuple[str, str, Any], ...]  # (rating, source expression, code object)
    uses: tuple[str, ...]  # evidence names referenced
    applies_to: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (plan attribute, accepted values)
    _folded: tuple[tuple[str, frozenset], ...] = field(default=(), repr=False, compare=False)

    def applies(self, attrs: dict | None) -> bool:
        """True if the criterion applies to a plan with these attributes (always, without ``applies_to``).

        Values are compared case-insensitively; a plan whose attribute is missing is out of scope.
        """
        for key, values in self._folded:
            value = (attrs or {}).get(key)
            if not isinstance(value, str) or value.strip().casefold() not in values:
                return False
        return True

    @property
    def scope(self) -> str:
        """``applies_to`` in words, e.g. ``"country: Wales"`` ("" when the criterion applies to every plan)."""
        return "; ".join(f"{key}: {', '.join(values)}" for key, values in self.applies_to)

    def rule_names(self, rating: str) -> tuple[str, ...]:
        """Evidence names used by the rule for *rating*."""
        for r, src, _code in self.rules:
            if r == rating:
                return tuple(_names_in(src))  # cached
        return ()


@dataclass(frozen=True)
class Rubric:
    """A validated audit rubric.

    Attributes
    ----------
    id, title, version, source, licence : str
    verified : bool
        False when the evidence mapping is the developers' derivation (the bundled rubric).
    groups : dict
        Source groups (``QS14``, ``ToC``, ``CPA-tool``, ``CPA-PS``, ``Recovery``, ``Wales``) with title
        and citation.
    sections : dict[str, re.Pattern]
        Section kinds recognised from headings.
    headings : re.Pattern or None
        Extra heading lines (the rubric's ``headings`` list, compiled), e.g. the statutory Welsh
        life-area headings, recognised even where the general heading rules would not.
    evidence : dict[str, EvidenceRule]
    criteria : tuple[Criterion, ...]
    path : str
    """

    id: str
    title: str
    version: str
    source: str
    licence: str
    verified: bool
    groups: dict
    sections: dict
    evidence: dict
    criteria: tuple
    path: str
    notes: str = ""
    sha256: str = field(default="", compare=False)
    headings: re.Pattern | None = field(default=None, compare=False)
    negation: Negation | None = field(default=None, compare=False)

    @property
    def criterion_ids(self) -> list[str]:
        return [c.id for c in self.criteria]

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise RubricError(
            f"Rubric {self.id!r} has no criterion {criterion_id!r}; criteria are "
            f"{', '.join(self.criterion_ids)}.",
            file=self.path,
            criterion=criterion_id,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion: id, group, question, citation and the rule for each rating.

        Examples
        --------
        >>> import recoverystudy as rs
        >>> rs.load_rubric("care-plan-audit").to_frame().shape[0]
        19
        """
        rows = []
        for c in self.criteria:
            rules = {r: src for r, src, _ in c.rules}
            rows.append(
                {
                    "criterion": c.id,
                    "group": c.group,
                    "question": c.question,
                    "citation": c.citation,
                    "rule_met": rules.get("met", ""),
                    "rule_partly_met": rules.get("partly met", ""),
                    "rule_not_applicable": rules.get("not applicable", ""),
                    "applies_to": c.scope,
                }
            )
        return pd.DataFrame(rows)


@lru_cache(maxsize=4096)
def _names_in(expr: str) -> list[str]:
    tree = ast.parse(expr, mode="eval")
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})


_ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.Name,
    ast.Load,
    ast.Compare,
    ast.Constant,
    ast.Gt,
    ast.GtE,
    ast.Lt,
    ast.LtE,
    ast.Eq,
    ast.NotEq,
)


def _compile_expr(expr: Any, *, file: str, criterion: str, rating: str, evidence: dict) -> Any:
    where = f"{file}: criterion {criterion!r}, rule {rating!r}"
    if not isinstance(expr, str) or not expr.strip():
        raise RubricError(
            f"{where}: the rule must be a non-empty expression; got {expr!r}.", file=file, criterion=criterion
        )
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise RubricError(
            f"{where}: cannot read the expression {expr!r} ({exc.msg}).", file=file, criterion=criterion
        ) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise RubricError(
                f"{where}: {type(node).__name__} is not allowed in {expr!r}; use evidence names, "
                "'and', 'or', 'not', parentheses and comparisons with whole numbers (e.g. warning_signs >= 2).",
                file=file,
                criterion=criterion,
            )
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, int)
        ):
            raise RubricError(
                f"{where}: only whole numbers may appear in {expr!r}; got {node.value!r}.",
                file=file,
                criterion=criterion,
            )
        if isinstance(node, ast.Name) and node.id not in evidence:
            raise RubricError(
                f"{where}: {node.id!r} is not a defined evidence rule (defined: {', '.join(sorted(evidence))}).",
                file=file,
                criterion=criterion,
            )
    return compile(tree, f"<{criterion}:{rating}>", "eval")


def _regex(value: Any, *, file: str, where: str, macros: dict, flags: int = re.IGNORECASE) -> re.Pattern:
    if not isinstance(value, str) or not value:
        raise RubricError(f"{file}: {where}: expected a regular expression (text); got {value!r}.", file=file)

    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key not in macros:
            raise RubricError(
                f"{file}: {where}: unknown macro <<{key}>> (macros: {', '.join(sorted(macros))}).", file=file
            )
        return macros[key]

    text = _MACRO.sub(sub, value)
    try:
        return re.compile(text, flags | re.MULTILINE)
    except re.error as exc:
        raise RubricError(f"{file}: {where}: invalid regular expression ({exc}).", file=file) from None


def _str_list(value: Any, *, file: str, where: str, allowed: set[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RubricError(f"{file}: {where}: expected a list of section kinds; got {value!r}.", file=file)
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise RubricError(
            f"{file}: {where}: unknown section kind(s) {', '.join(map(repr, unknown))}; "
            f"defined kinds are {', '.join(sorted(allowed))}.",
            file=file,
        )
    return tuple(value)


def _evidence_rule(
    name: str, spec: Any, *, file: str, macros: dict, kinds: set[str], negation: Negation | None = None
) -> EvidenceRule:
    where = f"evidence {name!r}"
    if not _ID.match(name):
        raise RubricError(f"{file}: {where}: names must be lower_snake_case.", file=file, evidence=name)
    if not isinstance(spec, dict):
        raise RubricError(f"{file}: {where}: expected a mapping; got {type(spec).__name__}.", file=file)
    kind = spec.get("kind", "pattern")
    if kind not in EVIDENCE_KINDS:
        raise RubricError(
            f"{file}: {where}: kind must be one of {', '.join(EVIDENCE_KINDS)}; got {kind!r}.",
            file=file,
            evidence=name,
        )
    known = {
        "kind",
        "description",
        "pattern",
        "unless",
        "sections",
        "exclude_sections",
        "skip_labels",
        "label",
        "date",
        "reference",
        "cue",
        "cue_sections",
        "names_from",
        "also",
        "scope",
        "areas",
        "negation",
    }
    extra = sorted(set(spec) - known)
    if extra:
        raise RubricError(f"{file}: {where}: unknown key(s) {', '.join(extra)}.", file=file, evidence=name)
    desc = spec.get("description", "")
    if not isinstance(desc, str) or not desc.strip():
        raise RubricError(
            f"{file}: {where}: a plain-English 'description' is required.", file=file, evidence=name
        )
    rx = lambda key: _regex(spec[key], file=file, where=f"{where}.{key}", macros=macros)
    kw: dict[str, Any] = {
        "sections": _str_list(spec.get("sections"), file=file, where=f"{where}.sections", allowed=kinds),
        "exclude_sections": _str_list(
            spec.get("exclude_sections"), file=file, where=f"{where}.exclude_sections", allowed=kinds
        ),
        "skip_labels": bool(spec.get("skip_labels", False)),
    }
    if "unless" in spec:
        kw["unless"] = rx("unless")
    if kind in ("pattern", "linked"):
        if "pattern" not in spec:
            raise RubricError(
                f"{file}: {where}: a 'pattern' is required for kind {kind!r}.", file=file, evidence=name
            )
        kw["pattern"] = rx("pattern")
    if kind == "linked":
        sources = spec.get("names_from") or []
        if isinstance(sources, str):
            sources = [sources]
        compiled = []
        for k, src in enumerate(sources):
            pat = _regex(src, file=file, where=f"{where}.names_from[{k}]", macros=macros)
            if "name" not in pat.groupindex:
                raise RubricError(
                    f"{file}: {where}.names_from[{k}]: needs a (?P<name>...) group.", file=file, evidence=name
                )
            compiled.append(pat)
        kw["names_from"] = tuple(compiled)
        if "also" in spec:
            kw["also"] = rx("also")
        scope = spec.get("scope", "sentence")
        if scope not in ("sentence", "line"):
            raise RubricError(
                f"{file}: {where}.scope must be 'sentence' or 'line'; got {scope!r}.", file=file
            )
        kw["scope"] = scope
    if kind == "date":
        if "label" not in spec:
            raise RubricError(
                f"{file}: {where}: a 'label' is required for kind 'date'.", file=file, evidence=name
            )
        kw["label"] = rx("label")
    if kind == "date_after":
        for key in ("date", "reference"):
            if not isinstance(spec.get(key), str):
                raise RubricError(
                    f"{file}: {where}: '{key}' must name a date evidence rule.", file=file, evidence=name
                )
        kw["date"], kw["reference"] = spec["date"], spec["reference"]
    if kind == "items":
        if not kw["sections"] and "cue" not in spec:
            raise RubricError(
                f"{file}: {where}: kind 'items' needs 'sections' or a 'cue'.", file=file, evidence=name
            )
        if "cue" in spec:
            kw["cue"] = rx("cue")
        kw["cue_sections"] = _str_list(
            spec.get("cue_sections"), file=file, where=f"{where}.cue_sections", allowed=kinds
        )
    if kind == "section" and not kw["sections"]:
        raise RubricError(f"{file}: {where}: kind 'section' needs 'sections'.", file=file, evidence=name)
    if kind == "coverage":
        areas = spec.get("areas")
        if not isinstance(areas, dict) or not areas:
            raise RubricError(
                f"{file}: {where}: kind 'coverage' needs 'areas', a mapping of area names to lists of "
                "evidence rule names.",
                file=file,
                evidence=name,
            )
        parsed = []
        for area, names in areas.items():
            if isinstance(names, str):
                names = [names]
            if (
                not isinstance(area, str)
                or not area.strip()
                or not isinstance(names, list)
                or not names
                or not all(isinstance(n, str) for n in names)
            ):
                raise RubricError(
                    f"{file}: {where}.areas: each area needs a name and a non-empty list of evidence rule "
                    f"names; got {area!r}: {names!r}.",
                    file=file,
                    evidence=name,
                )
            parsed.append((area.strip(), tuple(names)))
        kw["areas"] = tuple(parsed)
    elif "areas" in spec:
        raise RubricError(
            f"{file}: {where}: 'areas' is only used with kind 'coverage'.", file=file, evidence=name
        )
    neg = spec.get("negation")
    if neg is not None and not isinstance(neg, bool):
        raise RubricError(
            f"{file}: {where}.negation must be true or false; got {neg!r}.", file=file, evidence=name
        )
    if neg and kind not in ("pattern", "linked"):
        raise RubricError(
            f"{file}: {where}: 'negation: true' is only used with kinds 'pattern' and 'linked'.",
            file=file,
            evidence=name,
        )
    if neg is None:
        # default: on for pattern / linked rules, except rules that look for a negative statement
        # themselves (their pattern contains a cue, e.g. "no carers?", "declined to sign")
        neg = (
            kind in ("pattern", "linked")
            and negation is not None
            and negation.inside.search(kw["pattern"].pattern) is None
        )
    kw["negation"] = bool(neg) and negation is not None
    return EvidenceRule(name=name, kind=kind, description=desc.strip(), **kw)


def _applies_to(value: Any, *, file: str, criterion: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Validate a criterion's ``applies_to``: ``{country: [Wales]}`` (plan attribute -> accepted values)."""
    if value is None:
        return ()
    where = f"{file}: criterion {criterion!r}: applies_to"
    if not isinstance(value, dict) or not value:
        raise RubricError(
            f"{where} must map a plan attribute ({', '.join(PLAN_ATTRIBUTES)}) to a list of values, "
            f"e.g. {{country: [Wales]}}; got {value!r}.",
            file=file,
            criterion=criterion,
        )
    out = []
    for key, vals in value.items():
        if key not in PLAN_ATTRIBUTES:
            raise RubricError(
                f"{where}: unknown plan attribute {key!r}; use one of {', '.join(PLAN_ATTRIBUTES)}.",
                file=file,
                criterion=criterion,
            )
        if isinstance(vals, str):
            vals = [vals]
        if not isinstance(vals, list) or not vals or not all(isinstance(v, str) and v.strip() for v in vals):
            raise RubricError(
                f"{where}.{key}: expected a non-empty list of values (text); got {vals!r}.",
                file=file,
                criterion=criterion,
            )
        out.append((key, tuple(v.strip() for v in vals)))
    return tuple(out)


def _negation(value: Any, *, file: str) -> Negation | None:
    """Validate the ``negation`` block; keys left out take DEFAULT_NEGATION; ``negation: false`` turns it off."""
    if value is False:
        return None
    if value is None:
        value = {}
    where = f"{file}: negation"
    if not isinstance(value, dict):
        raise RubricError(f"{where} must be a mapping (cues, window, ...) or false; got {value!r}.", file=file)
    extra = sorted(set(value) - _NEG_KEYS)
    if extra:
        raise RubricError(
            f"{where}: unknown key(s) {', '.join(map(str, extra))} (allowed: {', '.join(sorted(_NEG_KEYS))}).",
            file=file,
        )
    spec = {**DEFAULT_NEGATION, **value}
    for key in ("window", "after_window"):
        n = spec[key]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 10:
            raise RubricError(f"{where}.{key} must be a whole number from 0 to 10; got {n!r}.", file=file)
    for key in ("cues", "after_cues", "boundaries", "exceptions"):
        items = spec[key]
        if items is None:
            items = spec[key] = []
        if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
            raise RubricError(
                f"{where}.{key} must be a list of non-empty strings (quote \"no\": YAML reads a bare no "
                f"as false); got {items!r}.",
                file=file,
            )
        spec[key] = [x.strip() if key != "boundaries" else x.strip() or x for x in items]
    if not spec["cues"]:
        raise RubricError(f"{where}.cues must list at least one cue (or write 'negation: false').", file=file)
    for k, x in enumerate(spec["exceptions"]):
        try:
            re.compile(x)
        except re.error as exc:
            raise RubricError(f"{where}.exceptions[{k}]: invalid regular expression ({exc}).", file=file) from None
    return Negation.build(
        spec["cues"], spec["window"], spec["after_cues"], spec["after_window"], spec["boundaries"], spec["exceptions"]
    )


def _parse(data: Any, file: str, digest: str) -> Rubric:
    if not isinstance(data, dict):
        raise RubricError(f"{file}: the rubric must be a YAML mapping at the top level.", file=file)
    for key in ("id", "title", "version", "source", "ratings", "groups", "sections", "evidence", "criteria"):
        if key not in data:
            raise RubricError(f"{file}: the required key {key!r} is missing.", file=file)
    if list(data["ratings"]) != list(RATINGS):
        raise RubricError(
            f"{file}: ratings must be exactly {list(RATINGS)}; got {data['ratings']!r}.", file=file
        )
    macros = data.get("macros") or {}
    if not isinstance(macros, dict) or not all(isinstance(v, str) for v in macros.values()):
        raise RubricError(f"{file}: macros must map names to regular-expression text.", file=file)
    groups = data["groups"]
    if not isinstance(groups, dict) or not groups:
        raise RubricError(f"{file}: groups must be a non-empty mapping.", file=file)
    for gid, g in groups.items():
        if not isinstance(g, dict) or not g.get("citation"):
            raise RubricError(f"{file}: group {gid!r} needs a 'title' and a 'citation'.", file=file)
    sections_spec = data["sections"]
    if not isinstance(sections_spec, dict):
        raise RubricError(f"{file}: sections must map section kinds to heading patterns.", file=file)
    sections = {
        k: _regex(v, file=file, where=f"sections.{k}", macros=macros) for k, v in sections_spec.items()
    }
    headings = None
    if data.get("headings") is not None:
        spec_h = data["headings"]
        if not isinstance(spec_h, list) or not spec_h or not all(isinstance(h, str) and h for h in spec_h):
            raise RubricError(f"{file}: headings must be a non-empty list of regular expressions.", file=file)
        alts = [
            _regex(h, file=file, where=f"headings[{k}]", macros=macros).pattern for k, h in enumerate(spec_h)
        ]
        from recoverystudy.audit.sections import compile_headings

        try:
            headings = compile_headings(alts)
        except re.error as exc:  # pragma: no cover - each alternative compiled above
            raise RubricError(f"{file}: headings: invalid regular expression ({exc}).", file=file) from None
    negation = _negation(data.get("negation", {}), file=file)
    ev_spec = data["evidence"]
    if not isinstance(ev_spec, dict):
        raise RubricError(f"{file}: evidence must be a mapping of named rules.", file=file)
    evidence = {
        n: _evidence_rule(n, s, file=file, macros=macros, kinds=set(sections), negation=negation)
        for n, s in ev_spec.items()
    }
    for ev in evidence.values():
        for area, names in ev.areas:
            for ref in names:
                if ref not in evidence or evidence[ref].kind == "coverage":
                    raise RubricError(
                        f"{file}: evidence {ev.name!r}, area {area!r}: {ref!r} is not a defined evidence rule "
                        "(or is itself a coverage rule).",
                        file=file,
                        evidence=ev.name,
                    )
        if ev.kind == "date_after":
            for ref in (ev.date, ev.reference):
                if ref not in evidence or evidence[ref].kind != "date":
                    raise RubricError(
                        f"{file}: evidence {ev.name!r}: {ref!r} is not a 'date' evidence rule.",
                        file=file,
                        evidence=ev.name,
                    )
    criteria = []
    seen: set[str] = set()
    if not isinstance(data["criteria"], list) or not data["criteria"]:
        raise RubricError(f"{file}: criteria must be a non-empty list.", file=file)
    for k, spec in enumerate(data["criteria"]):
        cid = spec.get("id") if isinstance(spec, dict) else None
        label = cid or f"criteria[{k}]"
        if not isinstance(spec, dict) or not isinstance(cid, str) or not _ID.match(cid):
            raise RubricError(
                f"{file}: {label}: each criterion needs an 'id' in lower_snake_case.",
                file=file,
                criterion=label,
            )
        if cid in seen:
            raise RubricError(f"{file}: criterion {cid!r} is defined twice.", file=file, criterion=cid)
        seen.add(cid)
        extra = sorted(set(spec) - _CRITERION_KEYS)
        if extra:
            raise RubricError(
                f"{file}: criterion {cid!r}: unknown key(s) {', '.join(map(str, extra))} "
                f"(allowed: {', '.join(sorted(_CRITERION_KEYS))}).",
                file=file,
                criterion=cid,
            )
        for key in ("group", "question", "citation", "rules"):
            if not spec.get(key):
                raise RubricError(
                    f"{file}: criterion {cid!r}: {key!r} is missing or empty.", file=file, criterion=cid
                )
        if spec["group"] not in groups:
            raise RubricError(
                f"{file}: criterion {cid!r}: group {spec['group']!r} is not one of {', '.join(groups)}.",
                file=file,
                criterion=cid,
            )
        rules_spec = spec["rules"]
        if not isinstance(rules_spec, dict) or "met" not in rules_spec:
            raise RubricError(
                f"{file}: criterion {cid!r}: rules must be a mapping with at least 'met'.",
                file=file,
                criterion=cid,
            )
        bad = [r for r in rules_spec if r not in RULE_ORDER]
        if bad:
            raise RubricError(
                f"{file}: criterion {cid!r}: rules may only be given for {', '.join(RULE_ORDER)}; "
                f"got {', '.join(map(repr, bad))} ('not evidenced' is what remains).",
                file=file,
                criterion=cid,
            )
        rules = tuple(
            (
                r,
                str(rules_spec[r]),
                _compile_expr(rules_spec[r], file=file, criterion=cid, rating=r, evidence=evidence),
            )
            for r in RULE_ORDER
            if r in rules_spec
        )
        uses = tuple(sorted({n for _, src, _ in rules for n in _names_in(src)}))
        guidance = spec.get("guidance") or {}
        if not isinstance(guidance, dict) or any(g not in RATINGS for g in guidance):
            raise RubricError(
                f"{file}: criterion {cid!r}: guidance keys must be ratings.", file=file, criterion=cid
            )
        applies_to = _applies_to(spec.get("applies_to"), file=file, criterion=cid)
        criteria.append(
            Criterion(
                id=cid,
                group=spec["group"],
                question=str(spec["question"]).strip(),
                citation=str(spec["citation"]).strip(),
                guidance=dict(guidance),
                rules=rules,
                uses=uses,
                applies_to=applies_to,
                _folded=tuple((k, frozenset(v.casefold() for v in vals)) for k, vals in applies_to),
            )
        )
    return Rubric(
        id=str(data["id"]),
        title=str(data["title"]),
        version=str(data["version"]),
        source=" ".join(str(data["source"]).split()),
        licence=str(data.get("licence", "")),
        verified=bool(data.get("verified", False)),
        groups=dict(groups),
        sections=sections,
        evidence=evidence,
        criteria=tuple(criteria),
        path=file,
        notes=" ".join(str(data.get("notes", "")).split()),
        sha256=digest,
        headings=headings,
        negation=negation,
    )


def list_rubrics() -> list[str]:
    """Names of the bundled rubrics.

    Examples
    --------
    >>> "care-plan-audit" in list_rubrics()
    True
    """
    return [
        name for name, f in bundled_files("codebooks").items() if _looks_like_rubric(f.read_text("utf-8"))
    ]


def _looks_like_rubric(text: str) -> bool:
    return "\ncriteria:" in text and "\nevidence:" in text


def load_rubric(name_or_path: str | os.PathLike | Rubric = "care-plan-audit") -> Rubric:
    """Load and validate an audit rubric (bundled name or path to a YAML file).

    Parameters
    ----------
    name_or_path : str, path-like or Rubric, default="care-plan-audit"
        A bundled rubric name, or the path of a trust's own copy.

    Returns
    -------
    Rubric

    Raises
    ------
    RubricError
        If the file is missing, is not YAML, or breaks the schema (the message names the file,
        the criterion or evidence rule and the problem).

    Examples
    --------
    >>> import recoverystudy as rs
    >>> rubric = rs.load_rubric("care-plan-audit")
    >>> rubric.criteria[0].id, rubric.criteria[0].group
    ('qs14_joint_agreement', 'QS14')
    >>> sorted(rubric.groups)
    ['CPA-PS', 'CPA-tool', 'QS14', 'Recovery', 'ToC', 'Wales']
    >>> rubric.criterion("wales_eight_areas").scope
    'country: Wales'
    """
    import hashlib

    import yaml  # only for yaml.YAMLError; loading goes through recoverystudy._yaml

    if isinstance(name_or_path, Rubric):
        return name_or_path
    text: str
    file: str
    bundled = bundled_files("codebooks")
    if isinstance(name_or_path, str) and name_or_path in bundled:
        text = bundled[name_or_path].read_text("utf-8")
        file = f"{name_or_path}.yaml"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise RubricError(
                f"No rubric named {str(name_or_path)!r}: not a bundled rubric ({', '.join(list_rubrics())}) "
                "and no such file.",
                file=str(name_or_path),
            )
        text = path.read_text(encoding="utf-8")
        file = str(path)
    try:
        data = load_yaml(text, file=file)
    except yaml.YAMLError as exc:
        raise RubricError(f"{file}: not valid YAML ({exc}).", file=file) from None
    return _parse(data, file, hashlib.sha256(text.encode("utf-8")).hexdigest())
