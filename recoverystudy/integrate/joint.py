"""Statistics-by-themes joint display: questionnaire scores of cases with and without coded material.

The entry point is :func:`joint_display`; it returns a :class:`JointDisplay`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.stats._base import ADJUST_METHODS, ADJUST_NAMES, adjust_pvalues
from recoverystudy._validate import check_option, check_probability
from recoverystudy.errors import EmptyDataError
from recoverystudy.integrate._common import (
    accepts_project_path,
    NOT_SET,
    coded_counts,
    group_column,
    infer_values,
    interviewed_cases,
    link_scores,
    project_provenance,
    resolve_themes,
)
from recoverystudy.integrate._ranktest import EXACT_LIMIT, MIN_PER_ARM, mann_whitney
from recoverystudy.stats._words import format_p
from recoverystudy.results import Result, base_provenance

__all__ = ["OVERALL", "JointDisplay", "joint_display"]

OVERALL = "All cases"
TABLE_COLUMNS = ["theme", "theme_name", "group", "n_cases", "n_with", "n_without",
                 "median_with", "q1_with", "q3_with", "mean_with",
                 "median_without", "q1_without", "q3_without", "mean_without",
                 "statistic", "p", "p_adj", "rank_biserial", "ci_low", "ci_high", "method", "note"]


def _link_text(link: str) -> str:
    return "case name" if link == "case" else f"the case attribute {link!r}"


@dataclass(frozen=True, repr=False)
class JointDisplay(Result):
    """A statistics-by-themes joint display.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per theme and group (the ``"All cases"`` row first, then the groups in sorted order),
        with the columns

        * ``theme``, ``theme_name`` - the theme (or code) path and its name;
        * ``group`` - a value of ``by``, or ``"All cases"``;
        * ``n_cases``, ``n_with``, ``n_without`` - participants with a score and an interview, and how
          many of them have / have no coded material on the theme;
        * ``median_with``, ``q1_with``, ``q3_with``, ``mean_with`` and the same ``_without`` - the score
          distribution in each arm (quartiles as R ``quantile(type = 7)``; NaN for an empty arm);
        * ``statistic`` - Mann-Whitney U of the "with" arm (R's W of ``wilcox.test(with, without)``);
        * ``p`` - two-sided p-value; ``p_adj`` - adjusted across themes within the group;
        * ``rank_biserial``, ``ci_low``, ``ci_high`` - the rank-biserial correlation and its interval;
        * ``method`` - ``"exact"`` or ``"normal approximation"`` (empty when there is no test);
        * ``note`` - why a test is missing, or how it was done, in words.
    value : str
        The score column.
    by : str or None
        The grouping attribute (None: overall rows only).
    link : str
        How scores were matched to cases: ``"case"`` or a case attribute such as ``"survey_id"``.
    n_participants : int
        Participants analysed (matched to a case with at least one document, score not missing).
    notes : tuple of str
        What was left out and why (unmatched ids, missing scores, participants without documents).
    provenance : dict
    """

    table: pd.DataFrame
    value: str
    by: str | None
    link: str
    n_participants: int
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"JointDisplay(value={self.value!r}, by={self.by!r}, link={self.link!r}, "
                f"n_participants={self.n_participants}, n_themes={self.table['theme'].nunique()})")

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy), one row per theme and group; see the class attributes."""
        return self.table.copy()

    def plot(self) -> Any:
        """Rank-biserial r with its CI per theme (a matplotlib Figure)."""
        from recoverystudy.integrate.plots import joint_plot

        return joint_plot(self.table, value=self.value)

    def summary(self) -> str:
        """Plain-English summary: the overall row of every theme, untestable groups and exclusions."""
        p = self.provenance
        n_themes = self.table["theme"].nunique()
        lines = [
            (f"Joint display of {self.value} by theme: {self.n_participants} participants with a score and "
             f"an interview (scores matched to cases by {_link_text(self.link)})."),
            ("Cases with coded material on a theme are compared with cases without it: two-sided "
             "Mann-Whitney U test, rank-biserial r above 0 means higher scores among cases with coded "
             f"material; p adjusted ({ADJUST_NAMES[p['adjust']]}) across the {n_themes} theme(s) within each "
             "group. Coded material means the theme came up in the interview, not which view was expressed."),
        ]
        pct = round(p["confidence"] * 100)
        for r in self.table[self.table["group"] == OVERALL].itertuples(index=False):
            head = f"{r.theme_name}: coded for {r.n_with} of {r.n_cases} cases"
            if not np.isfinite(r.statistic):
                lines.append(f"{head}; no test, {r.note}.")
                continue
            if np.isfinite(r.p):
                test = f"U = {r.statistic:g}, p {format_p(r.p)}, adjusted p {format_p(r.p_adj)}"
            else:
                test = f"U = {r.statistic:g}, p not defined: {r.note}"
            lines.append(
                f"{head}; median {r.median_with:.3g} (IQR {r.q1_with:.3g} to {r.q3_with:.3g}) with vs "
                f"{r.median_without:.3g} ({r.q1_without:.3g} to {r.q3_without:.3g}) without; {test}; "
                f"r = {r.rank_biserial:.2f} ({pct}% CI {r.ci_low:.2f} to {r.ci_high:.2f}).")
        groups = self.table[self.table["group"] != OVERALL]
        if self.by is not None and len(groups):
            untested = int(groups["statistic"].isna().sum())
            lines.append(f"By {self.by}: {groups['group'].nunique()} group(s); {untested} of {len(groups)} "
                         f"theme-by-group rows have too few cases for a test (fewer than {MIN_PER_ARM} with "
                         "or without coded material) and show NaN.")
        lines.extend(self.notes)
        return "\n".join(lines)


@accepts_project_path
def joint_display(
    scores: pd.DataFrame,
    project: Any,
    *,
    case_id: str,
    value: str | None = None,
    themes: str | Sequence[str] | None = None,
    by: str | None = "site",
    link: str = "auto",
    coder: str | None = None,
    exact: bool | None = None,
    adjust: str = "holm",
    confidence: float = 0.95,
) -> JointDisplay:
    """Compare questionnaire scores of cases with and without coded material on each theme.

    A statistics-by-themes joint display (Guetterman, Fetters & Creswell 2015): for every theme, how
    many interviewed participants have coded material on it, the score distribution with and without
    it, and a two-sided Mann-Whitney U test with the rank-biserial correlation, overall and by group.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per participant, with an id column (*case_id*) and the score column (*value*).
    project : Project
        The Framework Method project holding the interviews and their coding.
    case_id : str
        Column of *scores* whose values are the project's case names or the cases' linked survey id.
    value : str, optional
        The score column.  If omitted, the frame must have exactly one numeric column other than
        *case_id* (and other ``*_id`` columns), which is used.
    themes : str or sequence of str, optional
        Theme or code paths (``"risk"``, ``"risk/risk_assessment"``).  Default: every top-level theme
        of the codebook; codes roll up to their theme.
    by : str or None, default="site"
        A case attribute (or a column of *scores*) giving the groups, e.g. ``"site"`` or
        ``"country"``.  Every theme also gets an ``"All cases"`` row.  ``None``: overall rows only.  If
        the default ``"site"`` exists nowhere, only overall rows are made (as
        :meth:`Project.framework_matrix` does); any other name must exist.
    link : {"auto", "case", "survey_id", ...}, default="auto"
        Match *case_id* to case names (``"case"``), to a case attribute (its name), or ``"auto"``: the
        one of ``"case"`` and ``"survey_id"`` that matches more rows.  The link used is recorded.
    coder : str, optional
        Count only this coder's segments (default: every coder's).
    exact : bool or None, default=None
        As R ``wilcox.test``: ``None`` gives the exact p-value when both arms have fewer than 50 cases
        and no scores are tied, else the normal approximation; ``True`` forces exact (falls back to the
        approximation, with a note, when there are ties); ``False`` forces the approximation.
    adjust : {"holm", "hochberg", "bonferroni", "bh", "by", "none"}, default="holm"
        Multiple-testing adjustment across themes within each group (``p_adj``), as R ``p.adjust``.
    confidence : float, default=0.95
        Level of the rank-biserial interval.

    Returns
    -------
    JointDisplay
        ``.to_frame()`` has one row per theme and group with ``n_with, n_without``, the medians,
        quartiles and means of both arms, ``statistic`` (U), ``p``, ``p_adj``, ``rank_biserial``,
        ``ci_low``, ``ci_high``, ``method`` and ``note``; see :class:`JointDisplay`.

    Raises
    ------
    MissingItemsError
        *case_id*, *value* or *by* is not a column (or attribute).
    StatisticsError
        Duplicate ids, no id matching any case, a non-numeric score column, or *value* needed but
        not inferable; the message names the column.
    CodebookError
        A theme that is not in the project's codebook (the message names it).
    EmptyDataError
        No participant has both a score and an interview.

    See Also
    --------
    case_matrix : the participant-level mixed-methods matrix.
    triads : service user, carer and care coordinator views side by side.

    Notes
    -----
    Participants enter when their id matches a case that has at least one document (care plans, kind
    ``"care_plan"``, do not count) and their score is not missing; participants without an interview
    are not counted as "without coded material".  A case *has* a theme when at least one segment of
    its documents (again not care plans) is coded with the theme or a code under it.  Which view the
    participant expressed is not considered: read the framework matrix for that.

    U (``statistic``) is the statistic of the "with" arm, and the rank-biserial correlation is
    ``r_rb = 1 - 2 U' / (n_with n_without) = 2 U / (n_with n_without) - 1``, with U' the statistic of
    the "without" arm (U + U' = n_with n_without).  Sign convention: r_rb > 0 when cases with coded
    material tend to score higher; it is the proportion of (with, without) pairs where the case with
    coded material scores higher minus the proportion where it scores lower.  The interval is
    ``tanh(atanh(r_rb) +/- z SE)`` with ``SE = sqrt((n_with + n_without + 1) / (3 n_with n_without))``.

    p equals R ``wilcox.test(with, without, correct = TRUE)`` (default ``exact = NULL``: exact below 50
    per arm without ties) and ``scipy.stats.mannwhitneyu(with, without, method=...)`` with that
    method (scipy's own ``method="auto"`` would use the approximation above 8 per arm); r_rb and its
    interval equal ``effectsize::rank_biserial(with, without)``; ``p_adj`` equals ``p.adjust(p, "holm")``
    within each group.  Matches R 4.2 / effectsize 0.8 to 1e-6 (``tests/reference/integrate.R``).

    A group with fewer than 2 cases in either arm gets NaN for the test (with a ``note``), never an
    error.  If all scores in a group are equal, U and r_rb are reported but p is NaN (as in R).

    References
    ----------
    Guetterman TC, Fetters MD, Creswell JW (2015). Integrating quantitative and qualitative results in
    health science mixed methods research through joint displays. Ann Fam Med 13(6):554-561.
    Kerby DS (2014). The simple difference formula: an approach to teaching nonparametric correlation.
    Comprehensive Psychology 3:11.IT.3.1.

    Examples
    --------
    >>> import pandas as pd, pathlib, tempfile, recoverystudy as rs
    >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "study.rsqda")
    >>> _ = proj.import_cases(pd.DataFrame({"case": ["SU01", "SU02", "SU03", "SU04", "SU05", "SU06"],
    ...                                     "survey_id": ["R1", "R2", "R3", "R4", "R5", "R6"]}))
    >>> _ = proj.add_documents(pd.DataFrame({"name": ["d1", "d2", "d3", "d4", "d5", "d6"],
    ...     "case": ["SU01", "SU02", "SU03", "SU04", "SU05", "SU06"],
    ...     "text": [f"SU0{i}: My mum helps me." for i in range(1, 7)]}))
    >>> _ = proj.code_many(pd.DataFrame({"document": ["d1", "d2", "d4"], "start": 6, "end": 12,
    ...                                  "code": "carers/carer_involvement"}), coder="AB")
    >>> scores = pd.DataFrame({"respondent": ["R1", "R2", "R3", "R4", "R5", "R6"],
    ...                        "es_total": [3.1, 2.9, 2.2, 3.4, 2.0, 2.5]})
    >>> res = rs.joint_display(scores, proj, case_id="respondent", themes=["carers"], by=None)
    >>> res.link
    'survey_id'
    >>> row = res.to_frame().iloc[0]
    >>> int(row["n_with"]), int(row["n_without"]), float(row["median_with"]), float(row["median_without"])
    (3, 3, 3.1, 2.2)
    >>> # R: wilcox.test(c(3.1, 2.9, 3.4), c(2.2, 2.0, 2.5))  ->  W = 9, p-value = 0.1
    >>> float(row["statistic"]), round(float(row["p"]), 6), float(row["rank_biserial"]), row["method"]
    (9.0, 0.1, 1.0, 'exact')
    >>> proj.close()
    """
    check_option("adjust", adjust, ADJUST_METHODS)
    check_option("exact", exact, [None, True, False])
    conf = check_probability("confidence", confidence)
    value = infer_values(scores, case_id, value, single=True)[0]
    cases = project.cases()
    linked = link_scores(scores, project, case_id=case_id, link=link, values=[value], cases=cases)
    entries = resolve_themes(project, themes)
    data, notes = _participants(linked, project, case_id, value)
    by, by_source, group = _groups(by, cases, data, scores, case_id, notes)
    counts = coded_counts(project, entries["theme"], coder=coder)
    counts = counts.reindex(data["case"].to_numpy(), fill_value=0)
    has = counts.to_numpy() > 0
    n, m = has.shape
    long = pd.DataFrame({"t": np.tile(np.arange(m), n), "y": np.repeat(data[value].to_numpy(dtype=float), m),
                         "with": has.ravel()})
    parts, order = [long.assign(group=OVERALL)], [OVERALL]
    if group is not None:
        parts.append(long.assign(group=np.repeat(group, m)))
        labels = set(group)
        order += sorted(labels - {NOT_SET}, key=str) + ([NOT_SET] if NOT_SET in labels else [])
    long = pd.concat(parts, ignore_index=True)
    long["g"] = pd.Categorical(long["group"], categories=order).codes
    table = _describe(long, m, len(order))
    tests = pd.DataFrame([
        asdict(mann_whitney(sub.loc[sub["with"], "y"].to_numpy(), sub.loc[~sub["with"], "y"].to_numpy(),
                            exact=exact, confidence=conf))
        for _, sub in long.groupby(["t", "g"], sort=True)])  # one test per theme x group, in grid order
    table = pd.concat([table, tests], axis=1)
    table["p_adj"] = table.groupby("g")["p"].transform(lambda p: adjust_pvalues(p.to_numpy(), adjust))
    table.insert(0, "theme", entries["theme"].to_numpy()[table["t"].to_numpy()])
    table.insert(1, "theme_name", entries["theme_name"].to_numpy()[table["t"].to_numpy()])
    table.insert(2, "group", np.asarray(order, dtype=object)[table["g"].to_numpy()])
    table = table[TABLE_COLUMNS].astype({"n_cases": "int64", "n_with": "int64", "n_without": "int64"})
    if exact is None:
        rule = (f"exact when both arms have fewer than {EXACT_LIMIT} cases and no scores are tied, else the "
                "normal approximation with tie correction and continuity correction")
    else:
        rule = ("exact (normal approximation where scores are tied)" if exact else
                "normal approximation with tie correction and continuity correction")
    prov = base_provenance(
        "joint_display", **project_provenance(project), value=value, case_id=case_id, link=linked.link,
        by=by, by_source=by_source, themes=entries["theme"].tolist(), coder=coder or "all coders",
        test="Mann-Whitney U, two-sided", test_method=rule,
        effect_size="rank-biserial r = 1 - 2 U_without / (n_with n_without) = 2 U / (n_with n_without) - 1; "
                    "positive when cases with coded material score higher",
        ci_method="tanh(atanh(r) +/- z sqrt((n1 + n2 + 1) / (3 n1 n2))), as effectsize::rank_biserial",
        confidence=conf, adjust=adjust, correction=f"{ADJUST_NAMES[adjust]} across themes within each group",
        presence_rule="at least one coded segment under the theme (care plan documents excluded)",
        min_per_arm=MIN_PER_ARM, quantiles="R type 7",
        matches="R wilcox.test(correct = TRUE); effectsize::rank_biserial; p.adjust",
        n_participants=int(n), n_score_rows=linked.n_rows)
    return JointDisplay(table=table.reset_index(drop=True), value=value, by=by, link=linked.link,
                        n_participants=int(n), notes=tuple(notes), provenance=prov)


def _participants(linked: Any, project: Any, case_id: str, value: str) -> tuple[pd.DataFrame, list[str]]:
    """Matched participants who were interviewed and have a score, and notes on who was left out."""
    notes: list[str] = []
    if linked.unmatched:
        notes.append(f"{len(linked.unmatched)} row(s) of the scores frame match no case and were left out.")
    if linked.n_missing_id:
        notes.append(f"{linked.n_missing_id} row(s) of the scores frame have no {case_id!r} and were left "
                     "out.")
    data = linked.data
    no_docs = ~data["case"].isin(interviewed_cases(project))
    if no_docs.any():
        notes.append(f"{int(no_docs.sum())} matched participant(s) have no document in the project and were "
                     "left out (not interviewed).")
    no_score = ~no_docs & data[value].isna()
    if no_score.any():
        notes.append(f"{int(no_score.sum())} interviewed participant(s) have no {value!r} score and were "
                     "left out.")
    data = data[~no_docs & data[value].notna()]
    if data.empty:
        raise EmptyDataError(
            f"No participant has both a {value!r} score and a document in project {project.path.name}; "
            "nothing to display.", column=value)
    return data, notes


def _groups(by: str | None, cases: pd.DataFrame, data: pd.DataFrame, scores: pd.DataFrame, case_id: str,
            notes: list[str]) -> tuple[str | None, str | None, np.ndarray | None]:
    """(by, where it came from, the group label of each participant) - or Nones for overall rows only."""
    if by is None:
        return None, None, None
    if by == "site" and "site" not in cases.columns and "site" not in scores.columns:
        notes.append("Neither the cases nor the scores have a 'site', so only overall rows are shown.")
        return None, None, None
    labels, source = group_column(cases, data, scores, case_id, by)
    return by, source, labels.reindex(data["case"].to_numpy()).to_numpy(dtype=object)


def _describe(long: pd.DataFrame, n_themes: int, n_groups: int) -> pd.DataFrame:
    """n, median, quartiles (type 7) and mean per theme x group x arm, on the full theme x group grid."""
    grid = pd.MultiIndex.from_product([range(n_themes), range(n_groups)], names=["t", "g"])
    grouped = long.groupby(["t", "g", "with"])["y"]
    stats = pd.DataFrame({"n": grouped.size(), "median": grouped.median(), "q1": grouped.quantile(0.25),
                          "q3": grouped.quantile(0.75), "mean": grouped.mean()})
    out = pd.DataFrame(index=grid)
    for arm, suffix in ((True, "with"), (False, "without")):
        part = stats.xs(arm, level="with") if arm in stats.index.get_level_values("with") else stats.iloc[0:0]
        part = part.droplevel("with") if "with" in part.index.names else part
        part = part.reindex(grid)
        out[f"n_{suffix}"] = part["n"].fillna(0).to_numpy()
        for col in ("median", "q1", "q3", "mean"):
            out[f"{col}_{suffix}"] = part[col].to_numpy(dtype=float)
    out["n_cases"] = out["n_with"] + out["n_without"]
    return out.reset_index()
