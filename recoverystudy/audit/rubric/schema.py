"""Audit rubric schema: the rating scale, evidence rules, criteria and the validated :class:`Rubric`.

These are the objects a loaded rubric is made of (the file format is documented in
``docs/audit-rubric-schema.md``); :mod:`recoverystudy.audit.rubric.loading` builds them from YAML and
validates them, :mod:`recoverystudy.audit.rubric.matching` holds the negation matcher they carry.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from recoverystudy.audit.rubric.matching import Negation
from recoverystudy.errors import RubricError

__all__ = ["EVIDENCE_KINDS", "PLAN_ATTRIBUTES", "RATINGS", "RULE_ORDER", "Criterion", "EvidenceRule", "Rubric"]

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



@dataclass(frozen=True)
class Criterion:
    """One audit criterion: a question, its source and the rules that pre-rate it."""

    id: str
    group: str
    question: str
    citation: str
    guidance: dict
    rules: tuple[tuple[str, str, Any], ...]  # (rating, source expression, CompiledRule)
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
