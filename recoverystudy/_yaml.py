"""The one YAML loader of the package: safe tags only, bounded size, bounded depth, bounded alias expansion.

``yaml.safe_load`` refuses arbitrary Python objects but not a "billion laughs": a few anchors whose aliases
refer to each other describe a structure with billions of nodes in a few hundred bytes.  PyYAML builds it
cheaply with shared references, and the first ``str()`` or walk over it (an instrument's ``notes`` field, for
instance) then takes minutes and gigabytes.  :func:`load_yaml` composes the node graph first, counts how many
nodes the aliases would add if expanded (with memoisation, so the count itself is fast), and refuses before any
Python object is built when that exceeds :data:`MAX_ALIAS_NODES`; documents over :data:`MAX_BYTES` are refused
before parsing, and nesting deeper than :data:`MAX_DEPTH` is refused too.  Each refusal is an
:class:`~recoverystudy.errors.UnsafeYAMLError` naming the file.
"""

from __future__ import annotations

from typing import Any

import yaml

from recoverystudy.errors import UnsafeYAMLError

__all__ = ["MAX_BYTES", "MAX_ALIAS_NODES", "MAX_DEPTH", "load_yaml", "YAMLError"]

#: Largest YAML document read (characters).  Instruments, keys, codebooks and rubrics are a few kilobytes.
MAX_BYTES = 4 * 1024 ** 2
#: Most nodes that alias expansion may add to a document.
MAX_ALIAS_NODES = 10_000
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 100

#: Raised for YAML that is not well formed (re-exported so callers need not import :mod:`yaml`).
YAMLError = yaml.YAMLError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str | bytes, *, file: str = "<text>") -> Any:
    """Parse one YAML document safely.

    Parameters
    ----------
    text : str or bytes
        The document.
    file : str
        How the document is named in messages.

    Returns
    -------
    object
        What :func:`yaml.safe_load` returns (``None`` for an empty document).

    Raises
    ------
    UnsafeYAMLError
        The document is larger than :data:`MAX_BYTES`, nests deeper than :data:`MAX_DEPTH`, or its aliases
        would add more than :data:`MAX_ALIAS_NODES` nodes (``err.reason`` is ``"size"``, ``"depth"`` or
        ``"aliases"``).
    yaml.YAMLError
        The document is not well-formed YAML (callers turn this into their own named error).

    Examples
    --------
    >>> load_yaml("a: &x [1, 2]\\nb: *x")
    {'a': [1, 2], 'b': [1, 2]}
    >>> bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
    ...     f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\\n" for p, c in zip("abcdefgh", "bcdefghi"))
    >>> load_yaml(bomb, file="notes.yaml")
    Traceback (most recent call last):
    ...
    recoverystudy.errors.UnsafeYAMLError: notes.yaml: refusing to load the YAML: its aliases expand to more than 10000 extra nodes (a "billion laughs" expansion); write the values out instead of repeating anchors.
    """
    if len(text) > MAX_BYTES:
        raise UnsafeYAMLError(f"{file}: refusing to load the YAML: it is {len(text):,} characters long, more than "
                              f"the limit of {MAX_BYTES:,}.", file=file, reason="size")
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise UnsafeYAMLError(f"{file}: refusing to load the YAML: it is nested too deeply.", file=file,
                                  reason="depth") from None
        if node is None:
            return None
        _check_graph(node, file)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_graph(root: yaml.Node, file: str) -> None:
    """Refuse deep nesting and alias expansion beyond the budget (iterative, memoised: linear in the graph)."""
    size: dict[int, int] = {}  # expanded node count of each collection node, by id
    distinct: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if depth > MAX_DEPTH:
            raise UnsafeYAMLError(f"{file}: refusing to load the YAML: it nests more than {MAX_DEPTH} levels deep.",
                                  file=file, reason="depth")
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size.get(id(c), 1) for c in children)
            if size[key] - len(distinct) > MAX_ALIAS_NODES:
                _too_many(file)
            continue
        distinct.add(key)
        if key in size or not children:
            continue
        if key in on_path:  # a recursive structure: infinite when expanded
            _too_many(file)
        on_path.add(key)
        stack.append((node, depth, True))
        for child in children:
            if id(child) not in size:
                stack.append((child, depth + 1, False))
    if size.get(id(root), 1) - len(distinct) > MAX_ALIAS_NODES:  # pragma: no cover - caught on the way up
        _too_many(file)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _too_many(file: str) -> None:
    raise UnsafeYAMLError(f"{file}: refusing to load the YAML: its aliases expand to more than {MAX_ALIAS_NODES} "
                          f"extra nodes (a \"billion laughs\" expansion); write the values out instead of repeating "
                          f"anchors.", file=file, reason="aliases")
