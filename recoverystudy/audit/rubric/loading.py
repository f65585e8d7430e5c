"""Loading and validating audit rubrics kept as YAML.

The schema is documented in ``docs/audit-rubric-schema.md``.  Every problem raises
:class:`~recoverystudy.errors.RubricError` naming the file, the criterion (or evidence rule) and
what is wrong.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any

from recoverystudy._resources import bundled_files
from recoverystudy._yaml import load_yaml
from recoverystudy.audit.rubric.matching import DEFAULT_NEGATION, Negation
from recoverystudy.audit.rubric.schema import (
    _CRITERION_KEYS,
    _ID,
    _MACRO,
    EVIDENCE_KINDS,
    PLAN_ATTRIBUTES,
    RATINGS,
    RULE_ORDER,
    Criterion,
    EvidenceRule,
    Rubric,
    _names_in,
)
from recoverystudy.audit.rubric.rules import compile_rule
from recoverystudy.audit.sections import compile_headings
from recoverystudy.errors import RubricError

__all__ = ["list_rubrics", "load_rubric"]

_NEG_KEYS = frozenset(DEFAULT_NEGATION)


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
    return compile_rule(expr, f"<{criterion}:{rating}>")


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
