"""Literal prefixes of regular expressions, used to skip text that cannot match (a fast prefilter).

Shared by :mod:`recoverystudy.audit.sections` (heading lines) and :mod:`recoverystudy.audit.prerate`
(evidence patterns); it imports nothing from the package, so both can sit above it.
"""

from __future__ import annotations

__all__: list[str] = []


def _split_alternatives(pattern: str) -> list[str]:
    """Split a regex at its top-level ``|`` (outside groups and character classes)."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]" or pattern[i + 1 : i + 3] == "^]":
                i += 2 if pattern[i + 1] == "]" else 3
                continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _lower_pattern(pattern: str) -> str:
    """Lower-case a pattern's literals, leaving escapes (``\\S``, ``\\B`` ...) alone."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
        elif pattern.startswith("(?P", i):
            out.append("(?P")
            i += 3
        else:
            out.append(pattern[i].lower())
            i += 1
    return "".join(out)


def _prefixes(items) -> list[str] | None:
    """Literal prefixes every match must start with (None if not determinable)."""
    try:
        from re import _constants as c
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_constants as c
    out = [""]
    for op, av in items:
        if op is c.AT and all(not p for p in out):
            continue
        if op is c.LITERAL:
            out = [p + chr(av) for p in out]
            continue
        if op is c.SUBPATTERN and not av[1] and not av[2]:
            sub = _prefixes(list(av[-1]))
            if sub is None:
                return out if all(len(p) >= 3 for p in out) else None
            return [p + q for p in out for q in sub]
        if op is c.BRANCH:
            subs = [_prefixes(list(b)) for b in av[1]]
            if any(x is None for x in subs):
                return out if all(len(p) >= 3 for p in out) else None
            return [p + q for p in out for x in subs for q in x]
        break
    return out if all(len(p) >= 3 for p in out) else None
