"""The case-level mixed-methods matrix: each participant's scores beside their framework-matrix cells.

The entry point is :func:`case_matrix`; it returns a :class:`CaseMatrix`.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._validate import check_columns, check_option
from recoverystudy.integrate._common import (
    accepts_project_path,
    charts,
    coded_counts,
    infer_values,
    interviewed_cases,
    link_scores,
    membership,
    project_provenance,
    resolve_themes,
    segment_counts,
)
from recoverystudy.results import Result, base_provenance, excel_target, frame_to_html

__all__ = ["CaseMatrix", "case_matrix"]

SEPARATOR = " | "
NO_DOCUMENTS = "no interview documents for this case"


def count_text(n: int) -> str:
    """How an uncharted cell reads: the count of coded segments, never generated text.

    >>> count_text(0), count_text(1), count_text(3)
    ('no coded segments', '1 coded segment (no summary yet)', '3 coded segments (no summary yet)')
    """
    return str(_count_texts(np.array([n]))[0])


def _count_texts(n: np.ndarray, *, more: bool = False) -> np.ndarray:
    """:func:`count_text` for an array of counts (``more=True``: "2 more coded segments ...")."""
    n = np.asarray(n, dtype=np.int64)
    plural = np.where(n == 1, "", "s")
    noun = " more coded segment" if more else " coded segment"
    text = np.char.add(np.char.add(n.astype(str), noun), plural)
    text = np.char.add(text, " (no summary yet)").astype(object)
    return text if more else np.where(n == 0, "no coded segments", text).astype(object)


@dataclass(frozen=True, repr=False)
class CaseMatrix(Result):
    """A case-level mixed-methods matrix (O'Cathain, Murphy & Nicholl 2010).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per participant: the id column, ``case``, the case attributes, the score columns and
        one column per theme (named by the theme path) holding the researchers' charted summaries
        (``"Code name: summary"`` for a code cell, joined by ``" | "``), or, where a cell has no
        summary, the count of coded segments (``"3 coded segments (no summary yet)"``).
    counts : pandas.DataFrame
        Same rows: ``case`` and the number of coded segments per theme (integers).
    cells : pandas.DataFrame
        Long form, one row per participant and theme in table order: ``case, theme, kind,
        n_segments, text``, where ``kind`` is ``"summary"`` (the cell shows charted summaries),
        ``"count"`` (coded segments but no summary), ``"none"`` (no coded segments) or
        ``"no documents"``.
    themes : tuple of str
        Theme (or code) paths, in column order.
    theme_names : dict
        Theme path -> name (used as headers by :meth:`to_html` and :meth:`to_excel`).
    scores : tuple of str
        The score columns.
    attributes : tuple of str
        The case attribute columns.
    link : str or None
        How scores were matched to cases: ``"case"`` or a case attribute such as ``"survey_id"``.
    notes : tuple of str
    provenance : dict
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    cells: pd.DataFrame
    themes: tuple[str, ...]
    theme_names: dict[str, str]
    scores: tuple[str, ...]
    attributes: tuple[str, ...]
    link: str | None
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"<CaseMatrix {len(self.table)} participants x {len(self.scores)} scores, "
                f"{len(self.themes)} themes>")

    def to_frame(self) -> pd.DataFrame:
        """The matrix (a copy): one row per participant, columns as described for :attr:`table`."""
        return self.table.copy()

    def _display(self) -> pd.DataFrame:
        return self.table.rename(columns=self.theme_names)

    def plot(self) -> Any:
        """Coded segments per case and theme as a heat map (a matplotlib Figure)."""
        from recoverystudy.integrate.plots import case_matrix_plot

        return case_matrix_plot(self.counts)

    def summary(self) -> str:
        """Plain-English summary: size, link, how many cells have summaries or only counts."""
        kinds = self.cells["kind"].value_counts()
        how = "case name" if self.link == "case" else f"the case attribute {self.link!r}"
        absent = kinds.get("no documents", 0)
        lines = [
            (f"Case-level mixed-methods matrix: {len(self.table)} participants x {len(self.themes)} themes, "
             f"with scores {', '.join(self.scores)} (matched to cases by {how})."),
            (f"{kinds.get('summary', 0)} theme cells hold a researcher's summary; {kinds.get('count', 0)} "
             "have coded segments but no summary yet (shown as counts); "
             f"{kinds.get('none', 0)} have no coded segments"
             + (f"; {absent} belong to cases without documents." if absent else ".")),
            ("Cells show only summaries written when charting and counts of coded segments, never interview "
             "text."),
        ]
        return "\n".join(lines + list(self.notes))

    def to_html(self) -> str:
        """An HTML table with theme names as headers (all rows)."""
        return frame_to_html(self._display(), max_rows=max(len(self.table), 1))

    def _repr_html_(self) -> str:
        text = "".join(f"<p>{html.escape(line)}</p>" for line in self.summary().splitlines())
        return f"<div class='rs-result'><h4>CaseMatrix</h4>{text}{frame_to_html(self._display())}</div>"

    def to_excel(self, path: str | Path) -> Path:
        """Write the matrix to an ``.xlsx`` file: sheets "Case matrix", "Coded segments", "Provenance".

        The file is written to a temporary name in the same folder and renamed, so a failure never
        leaves half a file.

        Examples
        --------
        >>> import pandas as pd, pathlib, tempfile, openpyxl, recoverystudy as rs
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> proj = rs.Project.create(folder / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum helps.", name="d1", case="SU01")
        >>> m = rs.case_matrix(pd.DataFrame({"case": ["SU01"], "es_total": [2.5]}), proj, case_id="case",
        ...                    themes=["carers"])
        >>> openpyxl.load_workbook(m.to_excel(folder / "matrix.xlsx")).sheetnames
        ['Case matrix', 'Coded segments', 'Provenance']
        >>> proj.close()
        """
        path = excel_target(path)
        prov = pd.DataFrame({"field": list(self.provenance),
                             "value": [", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v
                                       for v in self.provenance.values()]})
        fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
        os.close(fd)
        try:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                for name, frame in (("Case matrix", self._display()),
                                    ("Coded segments", self.counts.rename(columns=self.theme_names)),
                                    ("Provenance", prov.astype({"value": "str"}))):
                    frame.to_excel(writer, sheet_name=name, index=False)
                    sheet = writer.sheets[name]
                    for col, header in zip(sheet.columns, frame.columns, strict=True):
                        wide = name == "Case matrix" and header in self.theme_names.values()
                        sheet.column_dimensions[col[0].column_letter].width = 45 if wide else 16
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _cells(project: Any, cases: Sequence[str], themes: Sequence[str], counts_long: pd.DataFrame,
           interviewed: set[str]) -> pd.DataFrame:
    """One row per case x theme: ``case, theme, kind, n_segments, text`` (vectorised).

    ``kind`` is "summary" (at least one charted summary), "count" (coded segments, no summary),
    "none" (no coded segments) or "no documents" (the case has no document).
    """
    cases, themes = list(cases), list(themes)
    code_names = project.codes().set_index("path")["name"].astype(str)
    grid = pd.MultiIndex.from_product([cases, themes], names=["case", "theme"])
    totals = coded_counts(project, themes, counts=counts_long).reindex(cases, fill_value=0).stack()
    totals = totals.rename_axis(["case", "theme"]).reindex(grid, fill_value=0).astype("int64")
    ch = charts(project)
    ch = ch[ch["case"].isin(set(cases))] if len(ch) else ch
    texts = pd.Series("", index=grid, dtype=object)
    theme_charted = pd.Series(False, index=grid)
    if len(ch):
        r, c = np.nonzero(membership(ch["code"], themes))
        hits = pd.DataFrame({"case": ch["case"].to_numpy()[r], "theme": np.asarray(themes, dtype=object)[c],
                             "code": ch["code"].to_numpy()[r], "summary": ch["summary"].to_numpy()[r],
                             "order": r})
        at_theme = hits["code"] == hits["theme"]
        named = hits["code"].map(code_names).fillna(hits["code"]) + ": " + hits["summary"]
        hits["text"] = np.where(at_theme, hits["summary"], named)
        hits = hits.assign(later=~at_theme).sort_values(["case", "theme", "later", "order"])
        joined = hits.groupby(["case", "theme"], sort=False)["text"].agg(SEPARATOR.join)
        texts.loc[joined.index] = joined.to_numpy()
        flagged = hits.loc[at_theme, ["case", "theme"]].drop_duplicates()
        theme_charted.loc[pd.MultiIndex.from_frame(flagged)] = True
    # coded segments whose (case, code) cell has no summary, rolled up per theme
    uncharted = counts_long[counts_long["case"].isin(set(cases))]
    if len(ch):
        done = pd.MultiIndex.from_frame(ch[["case", "code"]])
        uncharted = uncharted[~pd.MultiIndex.from_frame(uncharted[["case", "code"]]).isin(done)]
    loose = coded_counts(project, themes, counts=uncharted).reindex(cases, fill_value=0).stack()
    loose = loose.rename_axis(["case", "theme"]).reindex(grid, fill_value=0)
    charted = texts != ""
    extra = charted & ~theme_charted & (loose > 0)
    more = _count_texts(loose[extra].to_numpy(), more=True)
    texts[extra] = texts[extra].to_numpy(dtype=object) + SEPARATOR + more
    texts[~charted] = _count_texts(totals[~charted].to_numpy())
    absent = ~charted & (totals == 0) & ~grid.get_level_values("case").isin(interviewed)
    texts[absent] = NO_DOCUMENTS
    kind = np.select([charted.to_numpy(), absent.to_numpy(), (totals > 0).to_numpy()],
                     ["summary", "no documents", "count"], "none")
    return pd.DataFrame({"case": grid.get_level_values("case"), "theme": grid.get_level_values("theme"),
                         "kind": kind, "n_segments": totals.to_numpy(), "text": texts.to_numpy(dtype=object)})


@accepts_project_path
def case_matrix(
    scores: pd.DataFrame,
    project: Any,
    *,
    case_id: str,
    columns: str | Sequence[str] | None = None,
    themes: str | Sequence[str] | None = None,
    link: str = "auto",
    attributes: Sequence[str] | None = None,
    rows: str = "linked",
    coder: str | None = None,
) -> CaseMatrix:
    """Put each participant's scores beside the framework-matrix summaries of their interview.

    The case-level mixed-methods matrix (O'Cathain, Murphy & Nicholl 2010): one row per participant,
    with their case attributes (site, role ...), their questionnaire scores, and per theme the
    summaries the researchers charted.  Where a cell has no summary, it shows the count of coded
    segments - never text from the transcript.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per participant, with an id column (*case_id*) and score columns.
    project : Project
        The Framework Method project.
    case_id : str
        Column of *scores* whose values are the project's case names or the cases' linked survey id.
    columns : str or sequence of str, optional
        Score columns to show.  Default: every numeric column other than *case_id* and ``*_id`` columns.
    themes : str or sequence of str, optional
        Theme or code paths; default every top-level theme.  A theme column gathers the cells of its
        codes (and a cell charted at theme level).
    link : {"auto", "case", "survey_id", ...}, default="auto"
        How *case_id* matches cases; see :func:`joint_display`.
    attributes : sequence of str, optional
        Case attributes to include; default all of them.
    rows : {"linked", "cases"}, default="linked"
        ``"linked"``: participants whose score row matches a case, in the order of *scores*.
        ``"cases"``: every case of the project, scores left empty where none matched.
    coder : str, optional
        Count only this coder's segments in the "(no summary yet)" counts.

    Returns
    -------
    CaseMatrix
        ``.to_frame()``, ``.counts``, ``.to_excel(path)``, ``.to_html()``.

    Raises
    ------
    MissingItemsError
        *case_id*, a score column or an attribute does not exist.
    StatisticsError
        Duplicate ids, no id matching any case, or a non-numeric score column (names the column).
    CodebookError
        A theme that is not in the codebook.

    See Also
    --------
    joint_display : scores by theme, with a rank test.
    Project.framework_matrix : the cases x codes framework matrix itself.

    Notes
    -----
    Cell text rules: the summaries charted for the theme itself and for its codes (``"Code name:
    summary"``), joined by ``" | "``; coded segments in codes of the theme without a summary are
    added as ``"2 more coded segments (no summary yet)"`` unless the theme itself is charted; a cell
    with no summary reads ``"3 coded segments (no summary yet)"`` or ``"no coded segments"``, and
    ``"no interview documents for this case"`` when the case has no document other than care plans.
    Segments in care plans (documents of kind ``"care_plan"``) are not counted.  No text of a
    transcript is ever put in a cell: only what researchers wrote with :meth:`Project.chart`, and
    counts.

    References
    ----------
    O'Cathain A, Murphy E, Nicholl J (2010). Three techniques for integrating data in mixed methods
    studies. BMJ 341:c4587.

    Examples
    --------
    >>> import pandas as pd, pathlib, tempfile, recoverystudy as rs
    >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "study.rsqda")
    >>> _ = proj.import_cases(pd.DataFrame({"case": ["SU01", "SU02"], "site": ["A", "B"]}))
    >>> _ = proj.add_document("SU01: My mum helps. Nobody asked about risk.", name="d1", case="SU01")
    >>> _ = proj.add_document("SU02: My dad comes along.", name="d2", case="SU02")
    >>> seg = proj.code_quote("d1", "My mum helps", "carers/carer_involvement", coder="AB")
    >>> _ = proj.code_quote("d2", "My dad comes along", "carers/carer_involvement", coder="AB")
    >>> _ = proj.chart("SU01", "carers/carer_involvement", "Mother central to support.", segments=[seg])
    >>> scores = pd.DataFrame({"case": ["SU01", "SU02"], "es_total": [2.5, 3.0]})
    >>> m = rs.case_matrix(scores, proj, case_id="case", themes=["carers", "risk"])
    >>> m.to_frame()[["case", "site", "es_total"]].values.tolist()
    [['SU01', 'A', 2.5], ['SU02', 'B', 3.0]]
    >>> m.to_frame()["carers"].tolist()
    ["Carers' involvement in care planning: Mother central to support.", '1 coded segment (no summary yet)']
    >>> m.to_frame()["risk"].tolist()
    ['no coded segments', 'no coded segments']
    >>> proj.close()
    """
    check_option("rows", rows, ["linked", "cases"])
    values = infer_values(scores, case_id, columns, single=False)
    cases = project.cases()
    attrs = [c for c in cases.columns if c != "case"] if attributes is None else list(attributes)
    check_columns(cases, attrs, what="case attribute")
    linked = link_scores(scores, project, case_id=case_id, link=link, values=values, cases=cases)
    entries = resolve_themes(project, themes)
    themes_list = entries["theme"].tolist()
    clash = [t for t in themes_list if t in set(values) | set(attrs) | {case_id, "case"}]
    if clash:
        raise ValueError(f"Theme column(s) {clash} would overwrite a score, id or attribute column of the "
                         "same name; rename that column.")
    data = linked.data
    if rows == "cases":
        frame = cases[["case"]].astype("str").merge(data, on="case", how="left")
    else:
        frame = data.copy()
    attr_frame = cases.set_index(cases["case"].astype("str"))[attrs]
    for a in attrs:
        frame[a] = attr_frame[a].reindex(frame["case"].to_numpy()).to_numpy()
    cells = _cells(project, frame["case"].tolist(), themes_list, segment_counts(project, coder=coder),
                   interviewed_cases(project))
    k = len(themes_list)
    text = cells["text"].to_numpy(dtype=object).reshape(len(frame), k)
    n_seg = cells["n_segments"].to_numpy(dtype=np.int64).reshape(len(frame), k)
    for j, t in enumerate(themes_list):
        frame[t] = text[:, j]
    ordered = [case_id, "case", *attrs, *[v for v in values if v != case_id], *themes_list]
    ordered = list(dict.fromkeys(ordered))
    frame = frame[ordered]
    counts = pd.DataFrame({"case": frame["case"].to_numpy()}, index=frame.index)
    for j, t in enumerate(themes_list):
        counts[t] = n_seg[:, j]
    notes = []
    if linked.unmatched:
        notes.append(f"{len(linked.unmatched)} row(s) of the scores frame match no case"
                     + (" and are not shown." if rows == "linked" else "."))
    if rows == "linked" and linked.cases_without_scores:
        notes.append(f"{len(linked.cases_without_scores)} case(s) have no matching score row and are not "
                     "shown (rows='cases' shows them).")
    prov = base_provenance(
        "case_matrix", **project_provenance(project), case_id=case_id, link=linked.link, scores=list(values),
        themes=themes_list, attributes=attrs, rows=rows, coder=coder or "all coders",
        cell_rule="charted summaries (theme and its codes); else the count of coded segments; never "
                  "transcript text",
        reference="O'Cathain, Murphy & Nicholl 2010 (BMJ 341:c4587), mixed methods matrix")
    return CaseMatrix(table=frame, counts=counts, cells=cells, themes=tuple(themes_list),
                      theme_names=dict(zip(entries["theme"], entries["theme_name"], strict=True)),
                      scores=tuple(values),
                      attributes=tuple(attrs), link=linked.link, notes=tuple(notes), provenance=prov)
