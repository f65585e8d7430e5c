"""Linked triads: service user, carer and care coordinator views side by side.

The entry point is :func:`triads`; it returns a :class:`Triads`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.audit.inputs import match_plan_ids
from recoverystudy.errors import AuditError, MissingItemsError, StatisticsError
from recoverystudy.integrate._common import (
    accepts_project_path,
    NOT_SET,
    coded_counts,
    examples,
    infer_values,
    interviewed_cases,
    keys,
    link_scores,
    project_provenance,
    resolve_themes,
)
from recoverystudy.results import Result, base_provenance

__all__ = ["ROLE_ORDER", "Triads", "triads"]

#: Roles shown first, in this order (matched without regard to case); other roles follow, sorted.
ROLE_ORDER = ("service user", "carer", "care coordinator")
STATUSES = ("agree", "differ", "none", "not assessed")
_RATING_COLUMNS = {"met": "audit_n_met", "partly met": "audit_n_partly_met",
                   "not evidenced": "audit_n_not_evidenced", "not applicable": "audit_n_not_applicable"}


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_") or "role"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True, repr=False)
class Triads(Result):
    """Linked triads side by side.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per triad: ``triad``, ``site`` (when the cases have one), then per role (``<role>`` is
        the role in snake case, e.g. ``service_user``; a second member of the same role gets ``_2``)
        ``<role>_case``, ``<role>_<score>`` for each score column that some member of that role has, and
        ``<role>_themes`` (names of the
        themes with coded material, ``"; "``-joined; ``"not interviewed"`` if the case has no
        document); then ``agreements`` (themes with coded material from every interviewed member),
        ``disagreements`` (themes with coded material from some members only, with who),
        ``status_<theme>`` for each theme (``"agree"``, ``"differ"``, ``"none"`` or
        ``"not assessed"``, as in :attr:`theme_status`), the audit
        columns when ``audit=`` is given (``plan_id``, ``audit_n_met``, ``audit_n_partly_met``,
        ``audit_n_not_evidenced``, ``audit_n_not_applicable``, ``audit_n_applicable``,
        ``audit_proportion_met``, ``audit_not_evidenced`` - criteria without evidence) and ``notes``,
        the same in words.
    members : pandas.DataFrame
        One row per member: ``triad, role, column (the role label used in the table), case,
        interviewed``, the score columns and ``themes`` (paths with coded material).
    theme_status : pandas.DataFrame
        One row per triad and theme: ``triad, theme, theme_name, n_members (interviewed), n_with,
        status, roles_with, roles_without``.  ``status`` is ``"agree"`` (every interviewed member has
        coded material on the theme), ``"differ"`` (some do), ``"none"`` (nobody does) or
        ``"not assessed"`` (fewer than two members interviewed).
    roles : tuple of str
        Role labels in column order.
    link : str
        The case attribute that identifies a triad.
    score_link : str or None
        How scores were matched to cases (None without scores).
    notes : tuple of str
    provenance : dict
    """

    table: pd.DataFrame
    members: pd.DataFrame
    theme_status: pd.DataFrame
    roles: tuple[str, ...]
    link: str
    score_link: str | None
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Triads {len(self.table)} triads linked by {self.link!r}; roles: {', '.join(self.roles)}>"

    def to_frame(self) -> pd.DataFrame:
        """One row per triad (a copy); see :attr:`table`."""
        return self.table.copy()

    def plot(self) -> Any:
        """Per theme, how many triads agree, differ or are silent (a matplotlib Figure)."""
        from recoverystudy.integrate.plots import triad_plot

        return triad_plot(self.theme_status)

    def summary(self) -> str:
        """Plain-English summary: how often each theme came up in every account, some or none."""
        st = self.theme_status
        n = len(self.table)
        assessed = st[st["status"] != "not assessed"]
        n_assessed = assessed["triad"].nunique()
        lines = [
            (f"{n} triad(s) linked by {self.link!r} (roles: {', '.join(self.roles)}); {n_assessed} have at "
             "least two interviewed members and are compared."),
            ("'Agree' means every interviewed member has coded material on the theme and 'differ' that only "
             "some do; it shows whether the theme came up in each account, not whether the views match."),
        ]
        if n_assessed:
            tally = pd.crosstab(assessed["theme_name"], assessed["status"]).reindex(
                columns=["agree", "differ", "none"], fill_value=0)
            order = list(dict.fromkeys(assessed["theme_name"]))
            for name in order:
                r = tally.loc[name]
                lines.append(f"{name}: raised by all members in {r['agree']} triad(s), by some in "
                             f"{r['differ']}, by none in {r['none']}.")
        if "plan_id" in self.table.columns:
            linked = int(self.table["plan_id"].notna().sum())
            lines.append(f"A care plan with an audit result is linked for {linked} of {n} triad(s).")
        return "\n".join(lines + list(self.notes))


def _role_order(roles: pd.Series, wanted: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(roles))
    if wanted is not None:
        return list(dict.fromkeys(wanted))
    known = {r.lower(): r for r in present}
    first = [known[r] for r in ROLE_ORDER if r in known]
    return first + sorted((r for r in present if r not in first), key=str)


def _detect_case_id(scores: pd.DataFrame, cases: pd.DataFrame, score_link: str) -> str:
    """The column of *scores* that best matches case names or the ``survey_id`` attribute."""
    targets = []
    if score_link in ("auto", "case"):
        targets.append(set(cases["case"].astype(str)))
    if score_link != "case":
        attr = "survey_id" if score_link == "auto" else score_link
        if attr in cases.columns:
            targets.append(set(keys(cases[attr]).dropna()))
    candidates = [c for c in scores.columns
                  if not pd.api.types.is_float_dtype(scores[c]) and not pd.api.types.is_bool_dtype(scores[c])]
    hits = {c: max((int(keys(scores[c]).isin(t).sum()) for t in targets), default=0) for c in candidates}
    best = max(hits.values(), default=0)
    top = [c for c, h in hits.items() if h == best]
    if best == 0:
        raise StatisticsError(
            "No column of the scores frame matches case names or the 'survey_id' attribute; name the id "
            f"column with case_id=... (columns: {examples(list(scores.columns), 10)}).", column=None)
    if len(top) > 1:
        raise StatisticsError(f"Columns {top} of the scores frame match cases equally well; name the id "
                              "column with case_id=...", column=None, candidates=top)
    return top[0]


def _plan_links(audit: Any, project: Any, cases: pd.DataFrame, link: str,
                plans: pd.DataFrame | None) -> tuple[pd.Series, str]:
    """plan_id -> triad, and how the link was made."""
    plan_ids = pd.Series(audit.plans["plan_id"].astype(str).unique())
    case_triad = pd.Series(keys(cases[link]).to_numpy(dtype=object),
                           index=cases["case"].astype(str).to_numpy())
    if plans is not None:
        if not isinstance(plans, pd.DataFrame) or "plan_id" not in plans.columns:
            raise AuditError("plans must be a DataFrame with a 'plan_id' column and a triad column "
                             f"({link!r}) or a 'case' column.")
        if link in plans.columns:
            out = pd.Series(keys(plans[link]).to_numpy(dtype=object),
                            index=plans["plan_id"].astype(str).to_numpy())
            how = f"plans[{link!r}]"
        elif "case" in plans.columns:
            out = pd.Series(plans["case"].astype(str).map(case_triad).to_numpy(dtype=object),
                            index=plans["plan_id"].astype(str).to_numpy())
            how = "plans['case'] -> case attribute " + repr(link)
        else:
            raise AuditError(f"The plans frame needs a {link!r} or a 'case' column to link plans to triads; "
                             f"it has {examples(list(plans.columns), 10)}.")
    elif "plan_id" in cases.columns:
        out = pd.Series(case_triad.to_numpy(dtype=object),
                        index=keys(cases["plan_id"]).to_numpy(dtype=object))
        out = out[out.index.notna()]
        how = "case attribute 'plan_id'"
    else:
        docs = project.documents()
        docs = docs[docs["name"].astype(str).isin(set(plan_ids)) & docs["case"].notna()]
        if docs.empty:
            raise AuditError(
                f"Cannot link the audited care plans (e.g. {examples(plan_ids, 3)}) to triads: no case has a "
                "'plan_id' attribute and no project document is named like a plan. Pass plans=DataFrame with "
                f"'plan_id' and {link!r} (or 'case').", plans=list(plan_ids[:5]))
        out = pd.Series(docs["case"].astype(str).map(case_triad).to_numpy(dtype=object),
                        index=docs["name"].astype(str).to_numpy())
        how = "plan document's case -> case attribute " + repr(link)
    out = out[out.notna() & ~out.index.duplicated()]
    # plans audited from a folder are named by file ("CP-A001.txt"); metadata usually gives "CP-A001"
    direct = plan_ids.isin(set(out.index))
    triad = match_plan_ids(plan_ids, out)
    if (~direct & triad.notna()).any():
        how += " (plan file names matched without their extension)"
    linked = pd.Series(triad.to_numpy(dtype=object), index=plan_ids.to_numpy(dtype=object))
    return linked[linked.notna()], how


def _audit_columns(audit: Any, plan_triad: pd.Series) -> pd.DataFrame:
    """Per triad: plan id(s), counts of final ratings, proportion met, criteria not evidenced."""
    ratings = audit.ratings("final")
    ratings = ratings.assign(plan_id=ratings["plan_id"].astype(str))
    ratings = ratings[ratings["plan_id"].isin(set(plan_triad.index))]
    ratings = ratings.assign(triad=ratings["plan_id"].map(plan_triad))
    counts = pd.crosstab(ratings["triad"], ratings["rating"])
    counts = counts.reindex(columns=list(_RATING_COLUMNS), fill_value=0).rename(columns=_RATING_COLUMNS)
    out = pd.DataFrame(index=counts.index)
    out["plan_id"] = ratings.drop_duplicates("plan_id").groupby("triad")["plan_id"].agg("; ".join)
    out = out.join(counts)
    out["audit_n_applicable"] = counts.sum(axis=1) - counts["audit_n_not_applicable"]
    applicable = out["audit_n_applicable"]
    out["audit_proportion_met"] = out["audit_n_met"] / applicable.where(applicable > 0)
    missing = ratings[ratings["rating"] == "not evidenced"].groupby("triad")["criterion"].agg(
        lambda c: "; ".join(dict.fromkeys(c)))
    out["audit_not_evidenced"] = missing.reindex(out.index).fillna("")
    return out


@accepts_project_path
def triads(
    project: Any,
    scores: pd.DataFrame | None = None,
    *,
    link: str = "triad_id",
    audit: Any = None,
    value: str | Sequence[str] | None = None,
    case_id: str | None = None,
    score_link: str = "auto",
    themes: str | Sequence[str] | None = None,
    role: str = "role",
    roles: Sequence[str] | None = None,
    plans: pd.DataFrame | None = None,
    coder: str | None = None,
) -> Triads:
    """Show linked service user, carer and care coordinator accounts side by side.

    For each triad (cases sharing the *link* attribute): each member's case, linked scores and the
    themes with coded material in their interview; the themes every member raised (agreements) and
    those only some raised (disagreements); and, with ``audit=``, the linked care plan's audit result.
    Only theme names appear, never quotations.

    Parameters
    ----------
    project : Project
        The Framework Method project; its cases carry *link* and *role* attributes.
    scores : pandas.DataFrame, optional
        One row per participant (service users and coordinators may be stacked in one frame).
    link : str, default="triad_id"
        The case attribute identifying a triad.  Cases without it are not part of any triad.
    audit : CarePlanAudit, optional
        A result of :func:`recoverystudy.audit_care_plans`.  Its plans are linked to triads by
        *plans*, else by a ``plan_id`` case attribute, else by plan documents in the project (plan id =
        document name) and their case; if none works an :class:`AuditError` says what is needed.
    value : str or sequence of str, optional
        Score column(s); default every numeric column other than id columns.
    case_id : str, optional
        The id column of *scores*; default the column whose values best match case names or the
        ``survey_id`` attribute (recorded in ``provenance``).
    score_link : {"auto", "case", "survey_id", ...}, default="auto"
        How *case_id* matches cases; see :func:`joint_display`.
    themes : str or sequence of str, optional
        Theme or code paths; default every top-level theme.
    role : str, default="role"
        The case attribute holding each member's role.
    roles : sequence of str, optional
        Roles to show, in order; default every role present, with ``service user``, ``carer`` and
        ``care coordinator`` first.
    plans : pandas.DataFrame, optional
        ``plan_id`` with *link* (e.g. ``triad_id``) or ``case``, linking audited plans to triads.  A plan
        audited from a folder is named by its file (``CP-A001.txt``); it also matches ``CP-A001``.
    coder : str, optional
        Count only this coder's segments.

    Returns
    -------
    Triads
        ``.to_frame()`` (one row per triad), ``.members``, ``.theme_status``.

    Raises
    ------
    MissingItemsError
        The cases have no *link* or *role* attribute.
    StatisticsError
        Problems matching scores to cases (the message names the column).
    AuditError
        ``audit=`` given but its plans cannot be linked to triads.
    CodebookError
        A theme that is not in the codebook.

    See Also
    --------
    case_matrix, joint_display

    Notes
    -----
    A member *has* a theme when at least one segment of their documents is coded with it or a code
    under it.  "Agree" and "differ" say whether a theme came up in each account, not whether the
    views match: read the framework matrix (or the cell summaries in :func:`case_matrix`) for that.
    Members without a document are reported as not interviewed and left out of the comparison; a
    triad with fewer than two interviewed members is "not assessed".  The layout follows the linked
    triad tables of COCAPP (HS&DR report, appendix 9): agreements, disagreements, notes, care plan.

    Examples
    --------
    >>> import pandas as pd, pathlib, tempfile, recoverystudy as rs
    >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "study.rsqda")
    >>> _ = proj.import_cases(pd.DataFrame({"case": ["SU01", "CR01", "CC01"], "triad_id": "T1",
    ...                                     "role": ["service user", "carer", "care coordinator"]}))
    >>> _ = proj.add_documents(pd.DataFrame({"name": ["d1", "d2", "d3"], "case": ["SU01", "CR01", "CC01"],
    ...     "text": ["SU01: My mum helps.", "Carer: I help him.", "CC: His mum helps."]}))
    >>> rows = pd.DataFrame({"document": ["d1", "d2", "d3", "d1"], "start": [6, 7, 4, 6],
    ...                      "end": [12, 17, 11, 18],
    ...                      "code": ["carers/carer_involvement"] * 3 + ["recovery/personal_recovery"]})
    >>> _ = proj.code_many(rows, coder="AB")
    >>> t = rs.triads(proj, themes=["carers", "recovery"])
    >>> t.to_frame()[["triad", "agreements", "disagreements"]].values.tolist()
    [['T1', 'Carer involvement', 'Understandings of recovery (service user; not carer, care coordinator)']]
    >>> proj.close()
    """
    cases = project.cases()
    for attr in (link, role):
        if not isinstance(attr, str) or attr not in cases.columns or attr == "case":
            raise MissingItemsError(
                f"The cases of project {project.path.name} have no attribute {attr!r}; attributes: "
                f"{examples([c for c in cases.columns if c != 'case'], 10) or 'none'}.", missing=[attr])
    entries = resolve_themes(project, themes)
    notes: list[str] = []
    mem, order = _members(project, cases, link, role, roles, notes)
    values: list[str] = []
    score_how = None
    if scores is not None:
        if case_id is None:
            case_id = _detect_case_id(scores, cases, score_link)
        values = infer_values(scores, case_id, value, single=False)
        linked = link_scores(scores, project, case_id=case_id, link=score_link, values=values, cases=cases)
        score_how = linked.link
        by_case = linked.data.set_index("case")[values]
        for v in values:
            mem[v] = by_case[v].reindex(mem["case"].to_numpy()).to_numpy(dtype=float)
    counts = coded_counts(project, entries["theme"], coder=coder)
    has = counts.reindex(mem["case"].to_numpy(), fill_value=0).to_numpy() > 0
    status, theme_label = _theme_status(mem, has, entries)
    table = _wide(mem, theme_label, status, values, cases, (link, role))
    plan_how = None
    if audit is not None:
        if not (hasattr(audit, "ratings") and hasattr(audit, "plans")):
            raise TypeError(f"audit must be a result of rs.audit_care_plans; got {type(audit).__name__}.")
        plan_triad, plan_how = _plan_links(audit, project, cases, link, plans)
        unlinked = audit.plans["plan_id"].astype(str).nunique() - len(plan_triad)
        if unlinked:
            notes.append(f"{unlinked} audited plan(s) could not be linked to a triad.")
        acols = _audit_columns(audit, plan_triad).reindex(table["triad"].to_numpy())
        for c in acols.columns:
            table[c] = acols[c].to_numpy()
            if c.startswith("audit_n_"):
                table[c] = table[c].astype("Int64")
        table["audit_proportion_met"] = table["audit_proportion_met"].astype(float)
    table["notes"] = _notes(table, mem, status, values, order, audit is not None)
    prov = base_provenance(
        "triads", **project_provenance(project), link=link, role_attribute=role, roles=list(order),
        themes=entries["theme"].tolist(), scores=values, case_id=case_id, score_link=score_how or score_link,
        audit_rubric=None if audit is None else audit.provenance.get("rubric"),
        audit_rubric_version=None if audit is None else audit.provenance.get("rubric_version"),
        audit_ratings=None if audit is None else "final (confirmed where confirmed, else pre-rated)",
        plan_link=plan_how, coder=coder or "all coders",
        presence_rule="at least one coded segment under the theme (care plan documents excluded)",
        agreement_rule="agree: every interviewed member has coded material; differ: some do; fewer than "
                       "two interviewed members: not assessed",
        reference="COCAPP HS&DR report appendix 9 (linked triads: agreements, disagreements, notes, "
                  "care plan reviews)")
    members = mem.drop(columns=["rank"]).reset_index(drop=True)
    return Triads(table=table, members=members, theme_status=status, roles=tuple(order), link=link,
                  score_link=score_how, notes=tuple(notes), provenance=prov)


def _members(project: Any, cases: pd.DataFrame, link: str, role: str, roles: Sequence[str] | None,
             notes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per triad member (sorted by triad, role order, case) and the role order."""
    mem = pd.DataFrame({"triad": keys(cases[link]).to_numpy(dtype=object),
                        "case": cases["case"].astype(str).to_numpy(dtype=object),
                        "role": cases[role].astype("string").fillna(NOT_SET).to_numpy(dtype=object)})
    mem = mem[pd.notna(mem["triad"])]
    if mem.empty:
        raise StatisticsError(f"No case of project {project.path.name} has a {link!r}; there are no triads.",
                              column=link)
    order = _role_order(mem["role"], roles)
    left_out = mem[~mem["role"].isin(order)]
    if len(left_out):
        notes.append(f"{len(left_out)} triad member(s) with other roles "
                     f"({examples(sorted(set(left_out['role'])))}) are not shown.")
    mem = mem[mem["role"].isin(order)].copy()
    mem["rank"] = mem["role"].map({r: i for i, r in enumerate(order)})
    mem = mem.sort_values(["triad", "rank", "case"], kind="stable").reset_index(drop=True)
    k = mem.groupby(["triad", "role"]).cumcount().to_numpy()
    mem["column"] = mem["role"].map(_slug) + np.where(k > 0, "_" + (k + 1).astype(str), "")
    mem["interviewed"] = mem["case"].isin(interviewed_cases(project))
    return mem, order


def _theme_status(mem: pd.DataFrame, has: np.ndarray, entries: pd.DataFrame
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """Per triad and theme: members, members with coded material, status, who; and each member's themes."""
    paths = entries["theme"].to_numpy(dtype=object)
    n_t, n_m = len(paths), len(mem)
    long = pd.DataFrame({
        "member": np.repeat(np.arange(n_m), n_t),
        "triad": np.repeat(mem["triad"].to_numpy(dtype=object), n_t),
        "theme": np.tile(paths, n_m),
        "name": np.tile(entries["theme_name"].to_numpy(dtype=object), n_m),
        "label": np.repeat(mem["role"].to_numpy(dtype=object), n_t),
        "interviewed": np.repeat(mem["interviewed"].to_numpy(), n_t),
        "with": has.ravel(),
    })
    coded = long[long["with"]].groupby("member")
    mem["themes"] = coded["theme"].agg("; ".join).reindex(np.arange(n_m)).fillna("").to_numpy(dtype=object)
    names = coded["name"].agg("; ".join).reindex(np.arange(n_m)).fillna("").to_numpy(dtype=object)
    theme_label = np.where(mem["interviewed"].to_numpy(), names, "not interviewed")
    long = long[long["interviewed"]]
    grid = pd.MultiIndex.from_product([list(dict.fromkeys(mem["triad"])), list(paths)],
                                      names=["triad", "theme"])
    pairs = long.groupby(["triad", "theme"], sort=False)
    status = pairs.agg(n_members=("with", "size"), n_with=("with", "sum")).reindex(grid, fill_value=0)
    status["roles_with"] = long[long["with"]].groupby(["triad", "theme"])["label"].agg(", ".join)
    status["roles_without"] = long[~long["with"]].groupby(["triad", "theme"])["label"].agg(", ".join)
    who = ["roles_with", "roles_without"]
    status[who] = status[who].fillna("").astype(object)
    n_mem, n_with = status["n_members"].to_numpy(), status["n_with"].to_numpy()
    status["status"] = np.select([n_mem < 2, n_with == n_mem, n_with > 0],
                                 ["not assessed", "agree", "differ"], "none")
    status = status.reset_index()
    name_of = dict(zip(paths, entries["theme_name"], strict=True))
    status.insert(2, "theme_name", status["theme"].map(name_of))
    status = status.astype({"n_members": "int64", "n_with": "int64"})
    return status[["triad", "theme", "theme_name", "n_members", "n_with", "status", "roles_with",
                   "roles_without"]], theme_label


def _wide(mem: pd.DataFrame, theme_label: np.ndarray, status: pd.DataFrame, values: list[str],
          cases: pd.DataFrame, reserved: tuple[str, str]) -> pd.DataFrame:
    """One row per triad: site, each role's case, scores and themes, agreements and disagreements."""
    triad_ids = list(dict.fromkeys(mem["triad"]))
    table = pd.DataFrame({"triad": triad_ids})
    if "site" in cases.columns and "site" not in reserved:
        site = cases.set_index(cases["case"].astype(str))["site"].astype("string")
        per = pd.DataFrame({"triad": mem["triad"], "site": site.reindex(mem["case"].to_numpy()).to_numpy()})
        sites = per.dropna().drop_duplicates().groupby("triad", sort=False)["site"].agg("; ".join)
        table["site"] = sites.reindex(triad_ids).to_numpy(dtype=object)
    wide = mem.assign(_themes=theme_label).set_index(["triad", "column"])
    for c in dict.fromkeys(mem["column"]):
        part = wide.xs(c, level="column")
        table[f"{c}_case"] = part["case"].reindex(triad_ids).to_numpy(dtype=object)
        for v in values:  # a score that no member of this role has (e.g. a coordinator scale) is left out
            col = part[v].reindex(triad_ids).to_numpy(dtype=float)
            if not np.isnan(col).all():
                table[f"{c}_{v}"] = col
        table[f"{c}_themes"] = part["_themes"].reindex(triad_ids).to_numpy(dtype=object)
    agree = status[status["status"] == "agree"].groupby("triad", sort=False)["theme_name"].agg("; ".join)
    dif = status[status["status"] == "differ"]
    text = dif["theme_name"] + " (" + dif["roles_with"] + "; not " + dif["roles_without"] + ")"
    disagree = text.groupby(dif["triad"], sort=False).agg("; ".join)
    table["agreements"] = agree.reindex(triad_ids).fillna("").to_numpy(dtype=object)
    table["disagreements"] = disagree.reindex(triad_ids).fillna("").to_numpy(dtype=object)
    per_theme = status.pivot(index="triad", columns="theme", values="status").reindex(triad_ids)
    for theme in dict.fromkeys(status["theme"]):
        table[f"status_{theme}"] = per_theme[theme].to_numpy(dtype=object)
    return table


def _notes(table: pd.DataFrame, mem: pd.DataFrame, status: pd.DataFrame, values: list[str],
           roles: Sequence[str], with_audit: bool) -> list[str]:
    """The ``notes`` column: the triad's agreements and differences in words (plain lists per triad: a
    handful of pandas operations per triad cost more than the whole table)."""
    no_score = mem[values].isna().all(axis=1).to_numpy() if values else np.zeros(len(mem), bool)
    members: dict[Any, list[tuple[str, str, bool, bool]]] = {}
    for t, role, case, interviewed, unscored in zip(mem["triad"], mem["role"], mem["case"], mem["interviewed"],
                                                    no_score):
        members.setdefault(t, []).append((role, case, bool(interviewed), bool(unscored)))
    themes: dict[Any, tuple[list[str], list[str]]] = {}
    for t, st, name, roles_with in zip(status["triad"], status["status"], status["theme_name"], status["roles_with"]):
        agree, differ = themes.setdefault(t, ([], []))
        if st == "agree":
            agree.append(name)
        elif st == "differ":
            differ.append(f"{name}: {roles_with} only.")
    plan = table["plan_id"] if with_audit else [None] * len(table)
    met = table["audit_n_met"] if with_audit else plan
    applicable = table["audit_n_applicable"] if with_audit else plan
    out = []
    for t, plan_id, n_met, n_app in zip(table["triad"], plan, met, applicable):
        m = members[t]
        agree, differ = themes.get(t, ([], []))
        inter = [r for r in m if r[2]]
        parts = []
        present = {r[0] for r in m}
        missing_roles = [r for r in roles if r not in present]
        if missing_roles:
            parts.append(f"No {_and(missing_roles)} in this triad.")
        absent = [f"{role} {case}" for role, case, interviewed, _ in m if not interviewed]
        if absent:
            parts.append("Not interviewed: " + ", ".join(absent) + ".")
        if len(inter) < 2:
            parts.append(f"Only {len(inter)} member(s) interviewed, so accounts are not compared.")
        else:
            who = _and([r[0] for r in inter])
            parts.append(f"All interviewed ({who}) have coded material on {_and(agree)}." if agree else
                         f"No theme has coded material from all interviewed ({who}).")
            parts.extend(differ)
        if values:
            unscored = [f"{role} {case}" for role, case, _, no in m if no]
            if unscored:
                parts.append(f"No score linked for {_and(unscored)}.")
        if with_audit:
            if isinstance(plan_id, str):
                parts.append(f"Care plan {plan_id}: {n_met} of {n_app} applicable audit criteria met.")
            else:
                parts.append("No audited care plan linked.")
        out.append(" ".join(parts))
    return out