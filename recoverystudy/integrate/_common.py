"""Pieces shared by the integration functions (private).

* :func:`link_scores` - join a scores frame (one row per participant) to the project's cases, by case
  name or by a case attribute such as ``survey_id``, recording which link was used;
* :func:`resolve_themes` - the themes (or codes) that become rows or columns, in codebook order;
* :func:`coded_counts` - coded segments per case and theme (codes roll up to their theme), from
  every document except care plans (kind ``"care_plan"``);
* :func:`project_provenance` - project file name, codebook and framework version for ``provenance``.

Nothing here returns or keeps the text of a coded segment.
"""

from __future__ import annotations

import functools
import os
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._validate import check_columns, check_frame, check_numeric, check_option
from recoverystudy.errors import CodebookError, MissingItemsError, StatisticsError

__all__ = [
    "accepts_project_path",
    "CARE_PLAN_KIND",
    "NOT_SET",
    "Linked",
    "charts",
    "coded_counts",
    "examples",
    "group_column",
    "infer_values",
    "interviewed_cases",
    "keys",
    "link_scores",
    "membership",
    "project_provenance",
    "resolve_themes",
    "segment_counts",
]

NOT_SET = "(not set)"
#: Documents of this kind are audited care plans, not interview accounts: they are not coded material.
CARE_PLAN_KIND = "care_plan"


def examples(values: Iterable[Any], k: int = 5) -> str:
    """The first *k* values, quoted, for an error message.

    >>> examples(["a", "b", "c"], 2)
    "'a', 'b' and 1 more"
    """
    vals = list(values)
    shown = ", ".join(repr(v) for v in vals[:k])
    return shown + (f" and {len(vals) - k} more" if len(vals) > k else "")


def _project_name(project: Any) -> str:
    path = getattr(project, "path", None)
    return getattr(path, "name", None) or str(path)


def keys(series: pd.Series) -> pd.Series:
    """Identifiers as comparable text: ``3``, ``3.0`` and ``"3"`` all become ``"3"`` (missing stays NA).

    >>> keys(pd.Series([3.0, None, 12.0])).tolist()
    ['3', <NA>, '12']
    """
    s = series
    if pd.api.types.is_bool_dtype(s):
        return s.astype("string")
    if pd.api.types.is_float_dtype(s):
        finite = s.dropna()
        if len(finite) == 0 or bool(np.all(np.mod(finite.to_numpy(dtype=float), 1) == 0)):
            s = s.astype("Int64")
    out = s.astype("string")
    return out.str.strip()


# --------------------------------------------------------------------------------------------------
# the project side
# --------------------------------------------------------------------------------------------------
def project_provenance(project: Any) -> dict[str, Any]:
    """Project file name, codebook id and version, and the latest frozen framework version."""
    codebook_id = codebook_version = None
    query = getattr(project, "_q", None)  # the codebook is recorded in the project's meta table
    if query is not None:
        import json

        rows = query("SELECT value FROM meta WHERE key = 'codebook'")
        if rows:
            meta = json.loads(rows[0][0])
            codebook_id, codebook_version = meta.get("id"), meta.get("version")
    versions = project.framework_versions()
    frozen = int(versions["version"].max()) if len(versions) else None
    return {"project_file": _project_name(project), "codebook": codebook_id,
            "codebook_version": codebook_version, "framework_version": frozen}


def resolve_themes(project: Any, themes: str | Sequence[str] | None) -> pd.DataFrame:
    """The rows/columns to report: ``theme`` (path), ``theme_name``, ``kind`` ("theme" or "code").

    ``None`` gives every top-level theme in codebook order; otherwise each entry must be a theme
    (``"risk"``) or a code path (``"risk/risk_assessment"``) of the project's codebook.
    """
    codes = project.codes()
    top = codes[codes["parent"].isna()]
    if themes is None:
        chosen = top["path"].tolist()
        if not chosen:
            raise CodebookError(
                f"The project {_project_name(project)} has no themes in its codebook; add codes with "
                "proj.add_code() first.", file=_project_name(project), code_path=None)
    else:
        chosen = [themes] if isinstance(themes, str) else list(themes)
        if not chosen:
            raise ValueError("themes must name at least one theme or code; got an empty list.")
        known = set(codes["path"])
        for t in chosen:
            if not isinstance(t, str) or t not in known:
                raise CodebookError(
                    f"{t!r} is not a theme or code of the codebook in project {_project_name(project)}. "
                    f"Themes: {examples(top['path'], 12)}.", file=_project_name(project), code_path=t)
        chosen = list(dict.fromkeys(chosen))
    names = codes.set_index("path")["name"]
    is_theme = codes.set_index("path")["parent"].isna()
    return pd.DataFrame({"theme": chosen, "theme_name": [str(names[t]) for t in chosen],
                         "kind": ["theme" if is_theme[t] else "code" for t in chosen]})


def segment_counts(project: Any, *, coder: str | None = None) -> pd.DataFrame:
    """Coded segments per case and code: ``case, code, n_segments`` (only the case and code of each
    segment are read, never its text)."""
    segs = project.segments(context=0)[["document", "case", "code", "coder"]]
    plans = _care_plan_documents(project)
    if plans:
        segs = segs[~segs["document"].isin(plans)]
    if coder is not None:
        coders = sorted(segs["coder"].dropna().unique())
        if coder not in coders:
            raise StatisticsError(
                f"No segments were coded by coder {coder!r} in project {_project_name(project)}; coders: "
                f"{examples(coders) or 'none'}.", coder=coder)
        segs = segs[segs["coder"] == coder]
    segs = segs[segs["case"].notna()]
    out = segs.groupby(["case", "code"], sort=False).size().rename("n_segments").reset_index()
    out["case"] = out["case"].astype("str")
    return out


def membership(code_paths: Sequence[str], themes: Sequence[str]) -> np.ndarray:
    """Boolean matrix codes x themes: a code belongs to an entry equal to it or above it."""
    paths = pd.Series(list(code_paths), dtype="str")
    if len(themes) == 0:
        return np.zeros((len(paths), 0), dtype=bool)
    return np.column_stack([(paths == t).to_numpy() | paths.str.startswith(t + "/").to_numpy()
                            for t in themes]).reshape(len(paths), len(themes))


def coded_counts(project: Any, themes: Sequence[str], *, coder: str | None = None,
                 counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Coded segments per case (rows: cases with at least one segment) and theme (columns).

    A segment counts towards an entry when its code is the entry or lies under it, so codes roll up to
    their theme.
    """
    themes = list(themes)
    long = segment_counts(project, coder=coder) if counts is None else counts
    if long.empty:
        return pd.DataFrame(np.zeros((0, len(themes)), dtype=np.int64), columns=themes,
                            index=pd.Index([], name="case", dtype="str"))
    table = long.pivot_table(index="case", columns="code", values="n_segments", aggfunc="sum", fill_value=0)
    member = membership(table.columns, themes).astype(np.int64)
    out = pd.DataFrame(table.to_numpy(dtype=np.int64) @ member, index=table.index.astype("str"),
                       columns=themes)
    out.index.name = "case"
    return out


def charts(project: Any) -> pd.DataFrame:
    """Charted framework-matrix cells: ``case, code, summary`` (the researcher's summaries).

    Read from the project's ``charts`` table because :meth:`Project.framework_matrix` shows a cell
    charted at theme level only when the theme has no codes.
    """
    rows = project._q(
        "SELECT k.name, c.path, h.summary FROM charts h JOIN cases k ON k.case_id = h.case_id"
        " JOIN codes c ON c.code_id = h.code_id ORDER BY k.name, c.sort_order, c.code_id")
    out = pd.DataFrame(rows, columns=["case", "code", "summary"])
    return out.astype({"case": "str", "code": "str"}) if len(out) else out


def _care_plan_documents(project: Any) -> set[str]:
    docs = project.documents(kind=CARE_PLAN_KIND)
    return set(docs["name"].astype(str))


def interviewed_cases(project: Any) -> set[str]:
    """Cases with at least one document that is not a care plan (kind ``"care_plan"``)."""
    docs = project.documents()
    docs = docs[docs["kind"] != CARE_PLAN_KIND]
    return set(docs["case"].dropna().astype(str))


# --------------------------------------------------------------------------------------------------
# the scores side
# --------------------------------------------------------------------------------------------------
def _is_id_name(name: Any) -> bool:
    text = str(name).lower()
    return text == "id" or text.endswith(("_id", " id"))


def infer_values(scores: pd.DataFrame, case_id: str, value: str | Sequence[str] | None, *,
                 single: bool) -> list[str]:
    """The score column(s): *value* as given (checked numeric), or inferred.

    With ``single=True`` exactly one numeric non-id column may be inferred, otherwise an error lists
    the candidates.  With ``single=False`` every numeric non-id column is used.
    """
    check_frame(scores, what="scores")
    if value is not None:
        cols = [value] if isinstance(value, str) else list(value)
        if not cols:
            raise ValueError("value must name at least one score column; got an empty list.")
        check_columns(scores, cols, what="score column")
    else:
        cols = [c for c in scores.columns
                if c != case_id and not _is_id_name(c) and pd.api.types.is_numeric_dtype(scores[c])
                and not pd.api.types.is_bool_dtype(scores[c])]
        if single and len(cols) != 1:
            found = (f"found {len(cols)}: {examples(cols, 10)}" if cols else "found none")
            raise StatisticsError(
                "Name the score column with value=...: the scores frame must have exactly one numeric column "
                f"besides the id column {case_id!r} for it to be inferred; {found}.", column=None,
                candidates=cols)
        if not cols:
            raise StatisticsError(f"The scores frame has no numeric score column besides {case_id!r}; name "
                                  "one with value=...", column=None, candidates=[])
    for c in cols:
        if c == case_id:
            raise ValueError(f"value and case_id must be different columns; both are {c!r}.")
        if pd.api.types.is_bool_dtype(scores[c]):
            raise StatisticsError(
                f"Column {c!r} holds true/false values, not scores; convert it to numbers first.", column=c)
        check_numeric(scores, c)
    return cols


@dataclass(frozen=True)
class Linked:
    """Scores joined to cases.

    ``data`` has one row per matched participant: ``case`` (the project's case name), the id column
    and the score columns (float), in the order (and with the index) of the scores frame.
    """

    data: pd.DataFrame
    link: str
    case_id: str
    n_rows: int
    n_missing_id: int
    unmatched: tuple
    cases_without_scores: tuple


def link_scores(scores: pd.DataFrame, project: Any, *, case_id: str, link: str,
                values: Sequence[str], cases: pd.DataFrame | None = None) -> Linked:
    """Match ``scores[case_id]`` to case names (``link="case"``) or to a case attribute such as
    ``survey_id``; ``link="auto"`` tries both and keeps the one that matches more rows."""
    check_frame(scores, what="scores")
    if not isinstance(case_id, str):
        raise TypeError(f"case_id must be a column name (str); got {type(case_id).__name__}.")
    check_columns(scores, [case_id], what="id column")
    if "case" in scores.columns and case_id != "case":
        raise StatisticsError(
            f"The scores frame has a column 'case' that is not the id column {case_id!r}; rename it, because "
            "the result uses 'case' for the project's case names.", column="case")
    cases = project.cases() if cases is None else cases
    attrs = [c for c in cases.columns if c != "case"]
    check_option("link", link, ["auto", "case", *attrs])
    ids = keys(scores[case_id])
    dup = ids.notna() & ids.duplicated(keep=False)
    if dup.any():
        repeated = list(dict.fromkeys(ids[dup]))
        raise StatisticsError(
            f"scores[{case_id!r}] must identify one participant per row; {len(repeated)} id(s) occur more "
            f"than once: {examples(repeated)}.", column=case_id, ids=repeated)
    candidates = ["case", "survey_id"] if link == "auto" else [link]
    candidates = [c for c in candidates if c == "case" or c in cases.columns]
    best, best_n, best_key = None, -1, None
    for cand in candidates:
        if cand == "case":
            key = pd.Series(cases["case"].astype("str").to_numpy(), dtype="string")
        else:
            key = keys(cases[cand]).reset_index(drop=True)
        n = int(ids.isin(set(key.dropna())).sum())
        if n > best_n:
            best, best_n, best_key = cand, n, key
    if best_n <= 0:
        tried = " or ".join("case names" if c == "case" else f"the case attribute {c!r}" for c in candidates)
        raise StatisticsError(
            f"None of the {int(ids.notna().sum())} values of scores[{case_id!r}] (e.g. "
            f"{examples(ids.dropna(), 3)}) match {tried} in project {_project_name(project)} (cases e.g. "
            f"{examples(cases['case'], 3)}). Check case_id, or pass link='case' or link='<attribute>'.",
            column=case_id, link=link)
    key = best_key
    if best != "case":
        clash = key.notna() & key.duplicated(keep=False)
        if clash.any():
            shared = cases.loc[clash.to_numpy(), "case"].tolist()
            raise StatisticsError(
                f"The case attribute {best!r} must be unique to link scores; cases {examples(shared)} share "
                f"{examples(list(dict.fromkeys(key[clash])), 3)}.", column=best, cases=shared)
    mapping = pd.Series(cases["case"].astype("str").to_numpy(), index=key.to_numpy(dtype=object))
    mapping = mapping[mapping.index.notna()]
    matched = ids.notna() & ids.isin(set(mapping.index))
    data = scores.loc[matched.to_numpy(), [case_id, *[v for v in values if v != case_id]]].copy()
    for v in values:
        data[v] = check_numeric(data, v)
    case_names = ids[matched].map(mapping).astype("str").to_numpy()
    if case_id == "case":
        data["case"] = case_names
    else:
        data.insert(0, "case", case_names)
    unmatched = tuple(ids[ids.notna() & ~matched])
    without = tuple(sorted(set(cases["case"].astype(str)) - set(data["case"])))
    return Linked(data=data, link=best, case_id=case_id, n_rows=len(scores),
                  n_missing_id=int(ids.isna().sum()), unmatched=unmatched, cases_without_scores=without)


def group_column(cases: pd.DataFrame, scores_linked: pd.DataFrame | None,
                 scores: pd.DataFrame | None, case_id: str | None, by: str) -> tuple[pd.Series, str]:
    """Group labels per case (index ``case``): a case attribute, else a column of the scores frame.

    Returns the labels (text; missing as "(not set)") and where they came from ("case attribute" or
    "scores column").
    """
    if not isinstance(by, str):
        raise TypeError(f"by must be a case attribute name (str) or None; got {type(by).__name__}.")
    if by in cases.columns and by != "case":
        lab = cases.set_index(cases["case"].astype(str))[by]
        source = "case attribute"
    elif scores is not None and by in scores.columns and scores_linked is not None:
        lab = scores.loc[scores_linked.index, by]
        lab.index = scores_linked["case"].to_numpy()
        source = "scores column"
    else:
        attrs = [c for c in cases.columns if c != "case"]
        score_cols = [] if scores is None else [c for c in scores.columns if c != case_id]
        raise MissingItemsError(
            f"by={by!r} is neither a case attribute (attributes: {examples(attrs, 10) or 'none'}) nor a "
            f"column of the scores frame (columns: {examples(score_cols, 10) or 'none'}).", missing=[by])
    text = lab.astype("string")
    return text.fillna(NOT_SET).astype(object), source


def accepts_project_path(func):
    """Let *project* be the path of a project file as well as an open Project (opened read-only use,
    closed again afterwards)."""
    sig = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        project = bound.arguments.get("project")
        if isinstance(project, (str, os.PathLike)):
            from recoverystudy.qual.project import Project

            with Project.open(project) as opened:
                bound.arguments["project"] = opened
                return func(*bound.args, **bound.kwargs)
        return func(*args, **kwargs)

    return wrapper
