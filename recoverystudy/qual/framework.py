"""Charting and the framework matrix (Framework Method stages 6-7).

``proj.chart(case, code, summary, segments=[...])`` writes a cell summary linked to its evidence;
``proj.framework_matrix()`` returns a :class:`FrameworkMatrix`: rows are cases (grouped by a case
attribute such as ``site``), columns are codes, and each cell holds the researcher's summary and its
references.  A cell without a summary shows how many segments are coded there - never generated text.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.qual.store import new_guids, utc_now
from recoverystudy.results import Result, base_provenance, excel_target, frame_to_html

__all__ = ["FrameworkMixin", "FrameworkMatrix"]

_NOT_SET = "(not set)"


def _count_text(n: int) -> str:
    return "no coded segments" if n == 0 else f"{n} coded segment{'s' if n != 1 else ''} (no summary yet)"


@dataclass(frozen=True, repr=False)
class FrameworkMatrix(Result):
    """A cases x codes framework matrix.

    Attributes
    ----------
    cells : pandas.DataFrame
        Long form, one row per case x code: ``group, case, theme, code, code_name, summary
        (a researcher's summary, NaN if none), automatic_summary (a machine-written summary, NaN if none),
        segment_ids (tuple linked to the summary), n_segments, author, modified_at``.
    group_by : str or None
        The case attribute that groups the rows.
    codes : tuple of str
        Column order (code paths).
    provenance : dict
    """

    cells: pd.DataFrame
    group_by: str | None
    codes: tuple[str, ...]
    code_names: dict[str, str]
    theme_names: dict[str, str]
    provenance: dict[str, Any] = field(default_factory=dict)
    _project: Any = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"<FrameworkMatrix {self.cells['case'].nunique()} cases x {len(self.codes)} codes>"

    def cell_text(self) -> pd.Series:
        """Display text of every cell: the summary with its segment references, or the coded-segment count.

        A machine-written summary is labelled ``[automatic summary]`` so it is never taken for a researcher's.
        """
        out = []
        for summary, auto, refs, n in zip(self.cells["summary"], self.cells["automatic_summary"],
                                          self.cells["segment_ids"], self.cells["n_segments"]):
            refs_text = f" [segments {', '.join(map(str, refs))}]" if refs else ""
            if isinstance(summary, str):
                out.append(summary + refs_text)
            elif isinstance(auto, str):
                out.append("[automatic summary] " + auto + refs_text)
            else:
                out.append(_count_text(int(n)))
        return pd.Series(out, index=self.cells.index, dtype="str")

    def to_frame(self) -> pd.DataFrame:
        """Wide matrix: index ``(group, case)`` (or ``case``), one column per code path, cell text.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_case("SU01", site="A")
        >>> _ = proj.add_document("SU01: My mum helps.", name="d", case="SU01")
        >>> seg = proj.code_quote("d", "My mum helps", "carers/carer_involvement", coder="AB")
        >>> m = proj.framework_matrix(codes=["carers/carer_involvement", "risk/risk_assessment"])
        >>> m.to_frame().values.tolist()
        [['1 coded segment (no summary yet)', 'no coded segments']]
        >>> _ = proj.chart("SU01", "carers/carer_involvement", "Mother central to support.", segments=[seg])
        >>> proj.framework_matrix(codes=["carers/carer_involvement"]).to_frame().iloc[0, 0]
        'Mother central to support. [segments 1]'
        >>> proj.close()
        """
        cells = self.cells.assign(text=self.cell_text())
        index = ["group", "case"] if self.group_by else ["case"]
        wide = cells.pivot(index=index, columns="code", values="text")
        order = cells.drop_duplicates(index)[index]
        wide = wide.loc[pd.MultiIndex.from_frame(order) if len(index) == 2 else order["case"].tolist()]
        wide = wide[list(self.codes)]
        wide.columns.name = None
        if self.group_by:
            wide.index = wide.index.set_names([self.group_by, "case"])
        return wide

    def counts(self) -> pd.DataFrame:
        """Wide matrix of coded-segment counts (integers), same layout as :meth:`to_frame`."""
        index = ["group", "case"] if self.group_by else ["case"]
        wide = self.cells.pivot(index=index, columns="code", values="n_segments")
        order = self.cells.drop_duplicates(index)[index]
        wide = wide.loc[pd.MultiIndex.from_frame(order) if len(index) == 2 else order["case"].tolist()]
        wide = wide[list(self.codes)].astype("int64")
        wide.columns.name = None
        return wide

    def evidence(self, case: str, code: str) -> pd.DataFrame:
        """The coded segments behind one cell (from the project), with ``linked`` = cited by the summary.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum helps.", name="d", case="SU01")
        >>> _ = proj.code_quote("d", "My mum", "carers/carer_involvement", coder="AB")
        >>> proj.framework_matrix().evidence("SU01", "carers/carer_involvement")[["text", "linked"]].values.tolist()
        [['My mum', False]]
        >>> proj.close()
        """
        row = self.cells[(self.cells["case"] == case) & (self.cells["code"] == code)]
        if row.empty:
            raise KeyError(f"The matrix has no cell for case {case!r} and code {code!r}.")
        if self._project is None:
            raise RuntimeError("This matrix is not attached to an open project.")
        segs = self._project.segments(code=code, case=case)
        linked = set(row["segment_ids"].iloc[0])
        extra = set(linked) - set(segs["segment_id"])
        if extra:  # summaries may cite segments of the case coded elsewhere in the theme
            more = self._project.segments(case=case)
            segs = pd.concat([segs, more[more["segment_id"].isin(extra)]], ignore_index=True)
        return segs.assign(linked=segs["segment_id"].isin(linked)).reset_index(drop=True)

    def plot(self, *, max_codes: int = 25) -> Any:
        """Heat map of coded segments per site (or case) and code, readable at any number of codes.

        More than ``max_codes`` codes are summed by theme.  Returns the matplotlib Figure.
        """
        from recoverystudy.qual.plots import matrix_heatmap

        return matrix_heatmap(self.counts(), max_codes=max_codes)

    def summary(self) -> str:
        n_cases = self.cells["case"].nunique()
        charted = int(self.cells["summary"].notna().sum())
        auto = int(self.cells["automatic_summary"].notna().sum())
        uncharted = int((self.cells["summary"].isna() & self.cells["automatic_summary"].isna()
                         & (self.cells["n_segments"] > 0)).sum())
        grouped = f", grouped by {self.group_by}" if self.group_by else ""
        return (f"Framework matrix: {n_cases} cases x {len(self.codes)} codes{grouped}. {charted} cells have a "
                f"researcher's summary" + (f", {auto} an automatic summary (labelled as such)" if auto else "")
                + f"; {uncharted} cells have coded segments but no summary yet (shown as counts).")

    def to_html(self) -> str:
        """An HTML table with a header row of themes above the codes."""
        wide = self.to_frame()
        wide.columns = pd.MultiIndex.from_tuples(
            [(self.theme_names.get(c.split("/")[0], c.split("/")[0]), self.code_names.get(c, c)) for c in wide.columns])
        return frame_to_html(wide, max_rows=500)

    def _repr_html_(self) -> str:
        return f"<div class='rs-result'><h4>FrameworkMatrix</h4><p>{html.escape(self.summary())}</p>{self.to_html()}</div>"

    def to_excel(self, path: str | Path) -> Path:
        """Write one worksheet per theme (rows cases, columns the theme's codes), like a paper chart.

        The file is written to a temporary name and renamed, so a failure never leaves half a file.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib, openpyxl
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> proj = rs.Project.create(folder / "p.rsqda")
        >>> _ = proj.add_case("SU01", site="A")
        >>> out = proj.framework_matrix().to_excel(folder / "matrix.xlsx")
        >>> openpyxl.load_workbook(out).sheetnames[:2]
        ['Understandings of recovery', 'Personalisation']
        >>> proj.close()
        """
        import xlsxwriter

        path = excel_target(path)
        wide = self.to_frame()
        themes: dict[str, list[str]] = {}
        for c in self.codes:
            themes.setdefault(c.split("/")[0], []).append(c)
        # the rows' labels: runs of one group are one merged cell (as pandas writes a MultiIndex)
        names = list(wide.index.names)
        if wide.index.nlevels == 2:
            groups, cases = (_excel_text(v) for v in wide.index.get_level_values(0)), wide.index.get_level_values(1)
            runs: list[tuple[int, int, str]] = []
            for i, g in enumerate(groups):
                if runs and runs[-1][2] == g:
                    runs[-1] = (runs[-1][0], i, g)
                else:
                    runs.append((i, i, g))
        else:
            cases, runs = wide.index, []
        case_labels = [_excel_text(v) for v in cases]
        fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
        os.close(fd)
        try:
            used: set[str] = set()
            # text is never read as a formula or a link; written in the order (and so with the shared-string
            # table) of pandas' DataFrame.to_excel, which this replaced
            options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                       "in_memory": True}
            with xlsxwriter.Workbook(tmp, options) as wb:
                for theme, cols in themes.items():
                    name = re.sub(r"[\[\]:*?/\\]", "-", self.theme_names.get(theme, theme))[:31]
                    base, k = name, 2
                    while name in used:
                        name = f"{base[:28]}({k})"
                        k += 1
                    used.add(name)
                    ws = wb.add_worksheet(name)
                    first = len(names)
                    for j, c in enumerate(cols):
                        ws.write(0, first + j, self.code_names.get(c, c))
                    for j, n in enumerate(names):
                        if n is not None:
                            ws.write(0, j, n)
                    for start, end, g in runs:
                        if end > start:
                            ws.merge_range(1 + start, 0, 1 + end, 0, g)
                        else:
                            ws.write(1 + start, 0, g)
                    for i, c in enumerate(case_labels):
                        ws.write(1 + i, first - 1, c)
                    for j, c in enumerate(cols):
                        for i, v in enumerate(wide[c].tolist()):
                            ws.write(1 + i, first + j, _excel_text(v))
                    ws.set_column(0, first + len(cols) - 1, 40)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _excel_text(value: Any) -> Any:
    """A label or cell of the matrix as written to a worksheet: missing is empty, as pandas writes it."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value


class FrameworkMixin:
    """Charting methods of :class:`~recoverystudy.qual.project.Project`."""

    def chart(self, case: str, code: str, summary: str, *, segments: Iterable[int] = (),
              author: str | None = None, automatic: bool = False) -> int:
        """Write (or replace) the summary of one matrix cell, linked to its evidence segments.

        Charting is the method's step where a researcher reads a case's coded passages and summarises
        them in a few words, keeping the links to the passages.  Evidence must be what participants said:
        a segment in an interviewer's or facilitator's turn is refused.  Summaries made by a program are
        passed with ``automatic=True``: they are labelled as automatic in the matrix, exported as such, and
        never replace a researcher's summary (a researcher's summary replaces them).

        Parameters
        ----------
        case, code : str
            The cell.
        summary : str
            Your summary of what this case says about this code.
        segments : iterable of int
            Segment ids the summary rests on; they must come from this case's documents and be coded
            with this code (or, for a theme, a code under it).
        author : str, optional
            Defaults to the project user.
        automatic : bool, default=False
            True for a machine-written summary.

        Returns
        -------
        int
            The chart (cell) id.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: Nobody said I was high risk.", name="d", case="SU01")
        >>> seg = proj.code_quote("d", "Nobody said I was high risk", "risk/risk_discussion", coder="AB")
        >>> proj.chart("SU01", "risk/risk_discussion", "Risk rating never discussed.", segments=[seg], author="AB")
        1
        >>> proj.close()
        """
        return self.chart_many(pd.DataFrame({"case": [case], "code": [code], "summary": [summary],
                                             "segments": [list(segments)]}), author=author, automatic=automatic)[0]

    def chart_many(self, cells: pd.DataFrame, *, author: str | None = None, automatic: bool = False) -> list[int]:
        """Chart many cells at once: what :meth:`chart` does for one cell (it calls this), in one transaction.

        The same checks, rows, chart ids and coding-log lines as calling ``chart(case, code, summary,
        segments=..., author=author, automatic=automatic)`` for each row in order, but nothing is written
        if any row is refused (the error names the first such row), and a cell may appear only once.

        Parameters
        ----------
        cells : pandas.DataFrame
            Columns ``case``, ``code`` (a code path), ``summary`` and ``segments`` (an iterable of segment
            ids per row, possibly empty).
        author : str, optional
            Defaults to the project user.
        automatic : bool, default=False
            True for machine-written summaries (labelled as such; they never replace a researcher's).

        Returns
        -------
        list of int
            The chart (cell) ids, aligned with the rows.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: Nobody said I was high risk. My mum helps.", name="d", case="SU01")
        >>> a = proj.code_quote("d", "Nobody said I was high risk", "risk/risk_discussion", coder="AB")
        >>> b = proj.code_quote("d", "My mum helps", "carers/carer_involvement", coder="AB")
        >>> proj.chart_many(pd.DataFrame({"case": ["SU01", "SU01"], "code": ["risk/risk_discussion", "carers"],
        ...                               "summary": ["Risk never discussed.", "Mother helps."],
        ...                               "segments": [[a], [b]]}), author="AB")
        [1, 2]
        >>> proj.close()
        """
        missing = [c for c in ("case", "code", "summary", "segments") if c not in cells.columns]
        if missing:
            raise KeyError(f"chart_many needs columns case, code, summary and segments; missing {missing}.")
        cases, codes = cells["case"].tolist(), cells["code"].tolist()
        summaries = cells["summary"].tolist()
        segs = [[int(x) for x in dict.fromkeys(v)] for v in cells["segments"].tolist()]
        case_ids = dict(self._q("SELECT name, case_id FROM cases"))
        code_ids = dict(self._q("SELECT path, code_id FROM codes"))
        every = sorted({x for v in segs for x in v})
        where: dict[int, tuple[str, str]] = {}
        asked: set[int] = set()
        for k in range(0, len(every), 900):
            chunk = every[k:k + 900]
            marks = ",".join("?" * len(chunk))
            where.update({r[0]: (r[1], r[2]) for r in self._q(
                "SELECT s.segment_id, k.name, c.path FROM segments s JOIN documents d ON d.document_id = s.document_id"
                f" LEFT JOIN cases k ON k.case_id = d.case_id JOIN codes c ON c.code_id = s.code_id"
                f" WHERE s.segment_id IN ({marks})", tuple(chunk))})
            asked.update(r[0] for r in self._q(
                "SELECT s.segment_id FROM segments s JOIN turns t ON t.document_id = s.document_id AND t.start <="
                f" s.start AND s.start < t.end WHERE t.role = 'interviewer' AND s.segment_id IN ({marks})", tuple(chunk)))
        seen: set[tuple[str, str]] = set()
        for case, code, summary, seg_ids in zip(cases, codes, summaries, segs):   # the checks of chart, in order
            if not isinstance(summary, str) or not summary.strip():
                raise ValueError("A chart summary must be non-empty text; leave the cell uncharted instead.")
            if not isinstance(case, str) or case not in case_ids:
                self._case_id(case)   # raises chart's error
            if code not in code_ids:
                raise KeyError(f"No code {code!r} in project {self.path.name}; see proj.codes() for the codes.")
            if (case, code) in seen:
                raise ValueError(f"The cell {case} x {code} is charted twice in one chart_many call; give each cell "
                                 "once.")
            seen.add((case, code))
            for x in seg_ids:
                if x not in where:
                    raise KeyError(f"No segment {x} in project {self.path.name}.")
                seg_case, seg_code = where[x]
                if seg_case != case:
                    raise ValueError(f"Segment {x} belongs to case {seg_case!r}, not {case!r}.")
                if not (seg_code == code or seg_code.startswith(code + "/")):
                    raise ValueError(f"Segment {x} is coded {seg_code!r}, not {code!r}.")
            bad = sorted(set(seg_ids) & asked)
            if bad:
                raise ValueError(f"Segment(s) {bad} are in an interviewer's or facilitator's turn: a chart "
                                 f"quotes what participants said, not the questions.")
        who = author or self.user
        auto = int(bool(automatic))
        keys = [(case_ids[c], code_ids[k]) for c, k in zip(cases, codes)]
        with self._tx() as conn:
            uid = self._uid(who)
            now = utc_now()
            old = {(r[0], r[1]): (int(r[2]), r[3]) for r in conn.execute(
                "SELECT case_id, code_id, chart_id, automatic FROM charts").fetchall()}
            for (case, code), key in zip(zip(cases, codes), keys):
                if key in old and automatic and not old[key][1]:
                    raise ValueError(f"The cell {case} x {code} has a researcher's summary; an automatic summary "
                                     f"never replaces it.")
            again = [(summary, uid, now, auto, old[key][0]) for key, summary in zip(keys, summaries) if key in old]
            conn.executemany("UPDATE charts SET summary = ?, author_id = ?, modified_at = ?, automatic = ?"
                             " WHERE chart_id = ?", again)
            conn.executemany("DELETE FROM chart_segments WHERE chart_id = ?", [(r[-1],) for r in again])
            fresh = [(key, summary) for key, summary in zip(keys, summaries) if key not in old]
            before = conn.execute("SELECT COALESCE(MAX(chart_id), 0) FROM charts").fetchone()[0]
            guids = new_guids(len(fresh))
            conn.executemany(
                "INSERT INTO charts(guid, case_id, code_id, summary, author_id, created_at, modified_at, automatic)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(g, key[0], key[1], summary, uid, now, now, auto) for g, (key, summary) in zip(guids, fresh)])
            by_guid = dict(conn.execute("SELECT guid, chart_id FROM charts WHERE chart_id > ?", (before,)).fetchall())
            made = dict(zip([key for key, _ in fresh], [int(by_guid[g]) for g in guids]))
            ids = [old[key][0] if key in old else made[key] for key in keys]
            conn.executemany("INSERT INTO chart_segments(chart_id, segment_id) VALUES (?, ?)",
                             [(i, x) for i, seg_ids in zip(ids, segs) for x in seg_ids])
            conn.executemany(
                "INSERT INTO coding_log(action, code_path, coder, at, detail) VALUES ('chart', ?, ?, ?, ?)",
                [(code, who, now, f"case {case}; segments {seg_ids}" + ("; automatic" if automatic else ""))
                 for case, code, seg_ids in zip(cases, codes, segs)])
        return ids

    def framework_matrix(self, codes: Iterable[str] | None = None, cases: Iterable[str] | None = None,
                         group_by: str | None = "site") -> FrameworkMatrix:
        """Build the framework matrix: rows cases (grouped by a case attribute), columns codes.

        Parameters
        ----------
        codes : iterable of str, optional
            Code paths (a theme selects its codes).  Default: every code under a theme, plus themes
            that have no codes or that have a summary charted at theme level (their own column).
        cases : iterable of str, optional
            Default: every case.
        group_by : str or None, default="site"
            Case attribute for grouping rows; cases without it fall in "(not set)".  If the project
            has no such attribute and ``group_by`` is the default, rows are not grouped.

        Returns
        -------
        FrameworkMatrix

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.import_cases(pd.DataFrame({"case": ["SU01", "SU02"], "site": ["B", "A"]}))
        >>> proj.framework_matrix(codes=["risk"]).to_frame().index.tolist()
        [('A', 'SU02'), ('B', 'SU01')]
        >>> proj.close()
        """
        all_codes = self._q("SELECT c.code_id, c.path, c.name, c.parent_id FROM codes c ORDER BY c.sort_order, c.code_id")
        parents = {r[3] for r in all_codes if r[3] is not None}
        names = {r[1]: r[2] for r in all_codes}
        theme_names = {r[1]: r[2] for r in all_codes if r[3] is None}
        # a theme is a column of its own when it has no codes, or when a summary was charted at theme level
        theme_charted = {r[0] for r in self._q("SELECT DISTINCT c.path FROM charts h JOIN codes c ON c.code_id = h.code_id"
                                                " WHERE c.parent_id IS NULL")}
        if codes is None:
            chosen = [r[1] for r in all_codes if r[3] is not None or r[0] not in parents or r[1] in theme_charted]
        else:
            chosen = []
            for c in ([codes] if isinstance(codes, str) else codes):
                self._code_id(c)
                kids = [r[1] for r in all_codes if r[1].startswith(c + "/")]
                chosen += ([c] if kids and c in theme_charted else []) + (kids or [c])
            chosen = list(dict.fromkeys(chosen))
        case_rows = self._q("SELECT case_id, name FROM cases ORDER BY name")
        if cases is not None:
            wanted = [cases] if isinstance(cases, str) else list(cases)
            for c in wanted:
                self._case_id(c)
            case_rows = [r for r in case_rows if r[1] in set(wanted)]
        groups = {r[1]: None for r in case_rows}
        if group_by is not None:
            has = self._q("SELECT attribute_id FROM attributes WHERE name = ?", (group_by,))
            if not has:
                if group_by != "site":
                    attrs = [r[0] for r in self._q("SELECT name FROM attributes ORDER BY name")]
                    raise KeyError(f"No case attribute {group_by!r}; the cases have: {attrs}.")
                group_by = None
            else:
                vals = dict(self._q("SELECT k.name, ca.value FROM case_attributes ca JOIN cases k ON"
                                    " k.case_id = ca.case_id WHERE ca.attribute_id = ?", (has[0][0],)))
                groups = {r[1]: vals.get(r[1]) or _NOT_SET for r in case_rows}
        # count by ids (the covering unique index of segments, no string keys), then name the groups
        case_names = dict(self._q("SELECT case_id, name FROM cases"))
        code_paths = {r[0]: r[1] for r in all_codes}
        counted = self._q(
            "SELECT d.case_id, s.code_id, COUNT(*) FROM segments s JOIN documents d ON d.document_id = s.document_id"
            " WHERE d.case_id IS NOT NULL GROUP BY d.case_id, s.code_id")
        counts = pd.DataFrame([(case_names[k], code_paths[c], n) for k, c, n in counted],
                              columns=["case", "code", "n_segments"])
        charts = pd.DataFrame(self._q(
            "SELECT h.chart_id, k.name, c.path, CASE WHEN h.automatic = 1 THEN NULL ELSE h.summary END,"
            " CASE WHEN h.automatic = 1 THEN h.summary END, u.name, h.modified_at FROM charts h JOIN cases k"
            " ON k.case_id = h.case_id JOIN codes c ON c.code_id = h.code_id JOIN users u ON u.user_id = h.author_id"),
            columns=["chart_id", "case", "code", "summary", "automatic_summary", "author", "modified_at"])
        links: dict[int, tuple[int, ...]] = {}
        for chart_id, seg in self._q("SELECT chart_id, segment_id FROM chart_segments ORDER BY chart_id, segment_id"):
            links[chart_id] = links.get(chart_id, ()) + (seg,)
        order = sorted(case_rows, key=lambda r: (str(groups[r[1]]) if group_by else "", r[1]))
        grid = pd.MultiIndex.from_product([[r[1] for r in order], chosen], names=["case", "code"]).to_frame(index=False)
        cells = grid.merge(counts, on=["case", "code"], how="left").merge(charts, on=["case", "code"], how="left")
        cells.insert(0, "group", cells["case"].map(groups))
        cells.insert(2, "theme", cells["code"].map({c: c.split("/")[0] for c in chosen}).astype(object))  # as .str[0]
        cells.insert(4, "code_name", cells["code"].map(names))
        cells["n_segments"] = cells["n_segments"].fillna(0)
        segment_ids = np.empty(len(cells), dtype=object)
        segment_ids[:] = [()] * len(cells)
        charted = np.flatnonzero(cells["chart_id"].notna().to_numpy())
        for i, c in zip(charted.tolist(), cells["chart_id"].to_numpy()[charted].tolist()):
            segment_ids[i] = links.get(int(c), ())
        cells["segment_ids"] = segment_ids.tolist()
        cells = cells[["group", "case", "theme", "code", "code_name", "summary", "automatic_summary", "segment_ids",
                       "n_segments", "author", "modified_at"]]
        cells["n_segments"] = cells["n_segments"].astype("int64")
        prov = base_provenance("framework_matrix", group_by=group_by, n_cases=len(case_rows), n_codes=len(chosen),
                               framework_version=self._current_version(), cell_rule="summary, else coded-segment count")
        return FrameworkMatrix(cells=cells, group_by=group_by, codes=tuple(chosen), code_names=names,
                               theme_names=theme_names, provenance=prov, _project=self)
