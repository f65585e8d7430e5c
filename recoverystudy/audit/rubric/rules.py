"""A rubric rule compiled once into a Python function (no ``eval`` per plan), and picklable.

A rule such as ``crisis_plan and (warning_signs >= 2 or named_contact)`` has already been checked by
:mod:`~recoverystudy.audit.rubric.loading` (evidence names, ``and``/``or``/``not``, parentheses and
comparisons with whole numbers only).  :func:`compile_rule` turns its syntax tree into the function
``lambda c: c["crisis_plan"] and (c["warning_signs"] >= 2 or c["named_contact"])`` once, when the rubric
is loaded; pre-rating a plan is then an ordinary function call on the plan's evidence counts (a
mapping that counts each piece of evidence on first use, so a rule never consulted costs nothing).

:class:`CompiledRule` pickles as its source text and is rebuilt on unpickling, so a rubric can be sent
to worker processes started with ``spawn`` (macOS, Windows) as well as ``fork``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping

__all__ = ["CompiledRule", "compile_rule"]


_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Name, ast.Load, ast.Compare,
            ast.Constant, ast.Gt, ast.GtE, ast.Lt, ast.LtE, ast.Eq, ast.NotEq)


class _ToLookups(ast.NodeTransformer):
    """``name`` -> ``c["name"]`` (the only variables a rule may use are evidence names)."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(
            ast.Subscript(value=ast.Name(id="c", ctx=ast.Load()), slice=ast.Constant(node.id), ctx=ast.Load()),
            node,
        )


class CompiledRule:
    """One validated rule expression as a function of the evidence counts.

    >>> rule = compile_rule("a and (b >= 2 or not c)", "<example>")
    >>> rule({"a": 1, "b": 2, "c": 1}), rule({"a": 1, "b": 1, "c": 1}), rule({"a": 0, "b": 5, "c": 0})
    (True, False, False)
    >>> rule
    CompiledRule('a and (b >= 2 or not c)')
    """

    __slots__ = ("source", "label", "_fn")

    def __init__(self, source: str, label: str = "<rule>") -> None:
        self.source = source
        self.label = label
        tree = ast.parse(source, mode="eval")
        bad = [type(n).__name__ for n in ast.walk(tree) if not isinstance(n, _ALLOWED)]
        if bad:  # the loader reports this in words first; this guards direct construction and unpickling
            raise ValueError(f"{label}: {bad[0]} is not allowed in a rubric rule ({source!r}).")
        body = _ToLookups().visit(tree.body)
        lam = ast.Expression(
            body=ast.Lambda(
                args=ast.arguments(posonlyargs=[], args=[ast.arg(arg="c")], kwonlyargs=[], kw_defaults=[], defaults=[]),
                body=body,
            )
        )
        ast.fix_missing_locations(lam)
        # evaluated ONCE to create the function; the tree holds only subscripts of c, boolean
        # operators, comparisons and whole-number constants (checked by the loader)
        self._fn: Callable[[Mapping[str, int]], object] = eval(  # noqa: S307
            compile(lam, label, "eval"), {"__builtins__": {}}
        )

    def __call__(self, counts: Mapping[str, int]) -> bool:
        return bool(self._fn(counts))

    def __reduce__(self):
        return (CompiledRule, (self.source, self.label))

    def __repr__(self) -> str:
        return f"CompiledRule({self.source!r})"


def compile_rule(source: str, label: str = "<rule>") -> CompiledRule:
    """Compile a validated rule expression (see the module notes)."""
    return CompiledRule(source, label)
