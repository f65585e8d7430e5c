"""Helpers for the command line: forgiving names ("did you mean"), advice in command-line words, APA tables.

Kept apart from :mod:`recoverystudy.cli` so the command definitions stay short.  Nothing here prints.

>>> resolve_name("WAI-SR", ["es", "wai-sr"], what="instrument", option="--instrument")
'wai-sr'
>>> resolve_name("Site", ["site", "country"], what="column", option="--site")
'site'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recoverystudy.errors import RecoveryStudyError

__all__ = ["CliUsageError", "resolve_name", "cli_advice", "item_map", "apa_table"]


class CliUsageError(RecoveryStudyError, ValueError):
    """A command-line value that names nothing: says what was given, where, and what was meant."""


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "-", str(name).strip().lower())


def resolve_name(given: str, choices: Sequence[str], *, what: str, option: str) -> str:
    """Match a name case-insensitively (and with ``_``/``-``/space alike); else say "did you mean".

    >>> resolve_name("wai_sr", ["wai-sr"], what="instrument", option="--instrument")
    'wai-sr'
    >>> resolve_name("wai_total", ["wai_sr_total", "site"], what="column", option="--value")
    Traceback (most recent call last):
    ...
    recoverystudy.cli_help.CliUsageError: --value: there is no column 'wai_total'. Did you mean 'wai_sr_total'?
    """
    choices = [str(c) for c in choices]
    if given in choices:
        return given
    exact = [c for c in choices if c.lower() == str(given).lower()]
    if len(exact) == 1:
        return exact[0]
    loose = [c for c in choices if _norm(c) == _norm(given)]
    if len(loose) == 1:
        return loose[0]
    normed = {_norm(c): c for c in choices}
    close = difflib.get_close_matches(_norm(given), list(normed), n=3, cutoff=0.6)
    if close:
        hint = " or ".join(repr(normed[c]) for c in close)
        raise CliUsageError(f"{option}: there is no {what} {given!r}. Did you mean {hint}?")
    listed = ", ".join(choices[:15]) + (" ..." if len(choices) > 15 else "")
    raise CliUsageError(f"{option}: there is no {what} {given!r}. The {what}s are: {listed}.")


_ADVICE = [
    (re.compile(r"Rename the columns to the item ids, or pass items=\{item_id: column\} \(see "
                r"rs\.load_instrument\('([^']+)'\)\.item_ids\)\."),
     r"Rename the columns to the item ids (recoverystudy items \1 lists them), or map your columns with "
     r"--items MAP.csv (two columns: item, column) or --items PATTERN such as 'Q{n}'."),
    (re.compile(r"rs\.score\(data, '([^']+)', key='my-key\.yaml'\)"), r"recoverystudy score FILE -i \1 --key my-key.yaml"),
    (re.compile(r"min_answered=\{[^}]*\}(, \.\.\.\})?"), "a minimum-answered rule in a key file (--key)"),
    (re.compile(r"\bid_col=?"), "--id-col "),
    (re.compile(r"pass it as key=, e\.g\. load_instrument\(name, key=path\)"), "give it with --key FILE"),
]


def cli_advice(message: str) -> str:
    """Rewrite the library's Python advice in command-line words.

    >>> cli_advice("To score it, supply the key from your licensed manual: rs.score(data, 'es', key='my-key.yaml')")
    'To score it, supply the key from your licensed manual: recoverystudy score FILE -i es --key my-key.yaml'
    """
    for pattern, repl in _ADVICE:
        message = pattern.sub(repl, message)
    return message


def item_map(spec: str, item_ids: Sequence[str], columns: Sequence[str]) -> dict[str, str]:
    """Map item ids to columns from ``--items``: a CSV file (columns ``item``, ``column``) or a pattern.

    A pattern names the column of item number ``n`` (1, 2, ...): ``Q{n}``, ``wai{n:02d}``.

    >>> item_map("Q{n}", ["wai_01", "wai_02"], ["Q1", "Q2", "site"])
    {'wai_01': 'Q1', 'wai_02': 'Q2'}
    """
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".csv" or path.is_file():
        if not path.is_file():
            raise CliUsageError(f"--items: the file {str(path)!r} does not exist.")
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        cols = {c.strip().lower(): c for c in table.columns}
        if "item" not in cols or "column" not in cols:
            raise CliUsageError(f"--items: {path.name} needs two columns named 'item' and 'column'; it has "
                                f"{', '.join(map(str, table.columns))}.")
        mapping: dict[str, str] = {}
        for line, (item, col) in enumerate(zip(table[cols["item"]], table[cols["column"]], strict=True), start=2):
            item = resolve_name(item.strip(), item_ids, what="item", option=f"--items {path.name} line {line}")
            if item in mapping:
                raise CliUsageError(f"--items {path.name} line {line}: item {item!r} is mapped twice.")
            mapping[item] = resolve_name(col.strip(), columns, what="column", option=f"--items {path.name} line {line}")
        return mapping
    if "{n" not in spec:
        raise CliUsageError(f"--items: {spec!r} is neither a CSV file nor a pattern with {{n}} (such as 'Q{{n}}').")
    mapping = {}
    for n, item in enumerate(item_ids, start=1):
        try:
            col = spec.format(n=n)
        except (ValueError, KeyError, IndexError) as exc:
            raise CliUsageError(f"--items: the pattern {spec!r} cannot be used ({exc}); write it like 'Q{{n}}' "
                                "or 'item{n:02d}'.") from None
        mapping[item] = resolve_name(col, columns, what="column", option=f"--items (item {n})")
    return mapping


def apa_table(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """A table for the terminal in APA number style; columns with no values at all are left out.

    >>> print(apa_table(pd.DataFrame({"group1": ["A"], "estimate": [1.234], "p_adj": [0.00001],
    ...                               "df": [float("nan")]}), {"estimate": "B minus A"}))
    group1 B minus A  p_adj
         A      1.23 < .001
    """
    from recoverystudy.report.apa import format_frame

    shown = frame.dropna(axis=1, how="all")
    text = format_frame(shown)
    if labels:
        text = text.rename(columns={k: v for k, v in labels.items() if k in text.columns})
    return text.to_string(index=False)
