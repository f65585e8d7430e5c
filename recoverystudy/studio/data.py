"""What the studio's pages show, read from a :class:`~recoverystudy.Project` (runs on the worker thread).

Plain functions ``f(project, ...)`` returning dicts and lists for the templates and the JSON API.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.qual.agreement import coding_agreement
from recoverystudy.studio._web import StudioError

__all__ = ["HostView", "home", "document_view", "segments_of", "segment_detail", "codes_tree", "matrix_view",
           "cell_view", "agreement_view", "next_suggestion", "decide_suggestion", "framework_matrix", "check_chart"]


@dataclass(frozen=True)
class HostView:
    """What a host (the team server) lets one request see, set as ``proj.studio_view``.

    On the *hidden* documents (blind double-coding) the request sees only *viewer*'s own codings;
    *suggestions*, when given, keeps each coder's own review decisions there (an object with
    ``excluded(proj)``, ``others(proj, suggestion_id)`` and ``decide(proj, suggestion_id, decision,
    reason)``).  The local studio sets none and sees everything.
    """

    viewer: str
    hidden: frozenset = field(default_factory=frozenset)
    suggestions: Any = None


def _view(proj) -> HostView | None:
    return getattr(proj, "studio_view", None)


def _hidden(proj) -> tuple[str, list[int]]:
    """``(viewer, sorted hidden document ids)`` of this request (no ids: nothing hidden)."""
    view = _view(proj)
    return (view.viewer, sorted(int(d) for d in view.hidden)) if view is not None else ("", [])


def _withheld(proj) -> list[tuple]:
    """``(segment_id, case, code)`` of the codings this request may not see (others' on hidden documents)."""
    viewer, hidden = _hidden(proj)
    if not hidden:
        return []
    return proj._q("SELECT s.segment_id, k.name, c.path FROM segments s JOIN users u ON u.user_id = s.coder_id"
                   " JOIN documents d ON d.document_id = s.document_id LEFT JOIN cases k ON k.case_id = d.case_id"
                   " JOIN codes c ON c.code_id = s.code_id"
                   f" WHERE s.document_id IN ({','.join('?' * len(hidden))}) AND u.name <> ?", (*hidden, viewer))


def _covered(starts: np.ndarray, ends: np.ndarray) -> int:
    """Characters covered by the union of the spans (sorted by start)."""
    if not len(starts):
        return 0
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] > reach[:-1]
    idx = np.flatnonzero(new)
    group_end = np.maximum.reduceat(e, idx)
    return int((group_end - s[idx]).sum())


def home(proj) -> dict[str, Any]:
    """Documents grouped by site and case, with each coder's progress."""
    docs = proj.documents()
    cases = proj.cases()
    site_of = dict(zip(cases["case"], cases["site"])) if "site" in cases.columns else {}
    attrs: dict[str, str] = {}
    for rec in cases.to_dict("records"):
        attrs[rec["case"]] = " ".join(f"{k}={v}" for k, v in rec.items() if k != "case" and pd.notna(v))
    rows = proj._q("SELECT s.document_id, u.name, s.start, s.end FROM segments s JOIN users u"
                   " ON u.user_id = s.coder_id ORDER BY s.document_id, u.name")
    progress: dict[int, list[dict]] = defaultdict(list)
    if rows:
        seg = pd.DataFrame(rows, columns=["doc", "coder", "start", "end"])
        n_chars = dict(zip(docs["document_id"], docs["n_chars"]))
        for (doc, coder), g in seg.groupby(["doc", "coder"], sort=True):
            if not visible(proj, int(doc), [{"id": None, "coder": coder}]):
                continue  # another coder's work on a hidden document (blind double-coding)
            cov = _covered(g["start"].to_numpy(), g["end"].to_numpy())
            progress[int(doc)].append({"coder": coder, "n": len(g),
                                       "percent": round(100 * cov / max(n_chars.get(doc, 1), 1))})
    groups: dict[str, dict[str, list[dict]]] = {}
    for rec in docs.to_dict("records"):
        case = rec["case"] if isinstance(rec["case"], str) else None
        site = site_of.get(case) if case else None
        site = str(site) if site is not None and pd.notna(site) else "(no site)"
        groups.setdefault(site, {}).setdefault(case or "(no case)", []).append({
            "id": int(rec["document_id"]), "name": rec["name"], "kind": rec["kind"], "n_chars": int(rec["n_chars"]),
            "attrs": attrs.get(case, "") if case else "", "progress": progress.get(int(rec["document_id"]), [])})
    ordered = [{"site": s, "cases": [{"case": c, "documents": d} for c, d in sorted(groups[s].items())]}
               for s in sorted(groups)]
    empty_cases = sorted(set(cases["case"]) - set(docs["case"].dropna()))
    return {"groups": ordered, "n_documents": len(docs), "n_cases": len(cases), "empty_cases": empty_cases,
            "kinds": sorted(set(docs["kind"])) or ["interview"]}


def _txt(value: Any) -> str:
    """Text of a frame cell: missing values (None, NaN) become ""."""
    return value if isinstance(value, str) else ""


def codes_tree(proj) -> list[dict[str, Any]]:
    """Themes with their codes (definition, inclusion, exclusion, colour, segment count)."""
    codes = proj.codes()
    counts = Counter(dict(proj._q("SELECT c.path, COUNT(*) FROM segments s JOIN codes c ON c.code_id = s.code_id"
                                  " GROUP BY c.path")))
    counts.subtract(Counter(r[2] for r in _withheld(proj)))  # others' hidden codings are not counted
    themes: list[dict[str, Any]] = []
    by_path: dict[str, dict] = {}
    for rec in codes.to_dict("records"):
        item = {"id": int(rec["code_id"]), "path": rec["path"], "name": rec["name"],
                "definition": _txt(rec["definition"]), "inclusion": _txt(rec["inclusion"]),
                "exclusion": _txt(rec["exclusion"]), "example": _txt(rec["example"]),
                "colour": _txt(rec["colour"]), "count": int(counts.get(rec["path"], 0)), "codes": []}
        if not isinstance(rec["parent"], str):
            themes.append(item)
            by_path[rec["path"]] = item
    for rec in codes.to_dict("records"):
        if isinstance(rec["parent"], str):
            theme = by_path[rec["parent"]]
            theme["codes"].append({"id": int(rec["code_id"]), "path": rec["path"], "name": rec["name"],
                                   "definition": _txt(rec["definition"]), "inclusion": _txt(rec["inclusion"]),
                                   "exclusion": _txt(rec["exclusion"]), "example": _txt(rec["example"]),
                                   "colour": _txt(rec["colour"]) or theme["colour"],
                                   "count": int(counts.get(rec["path"], 0))})
    return themes


def segments_of(proj, doc_id: int) -> list[dict[str, Any]]:
    """The codings of one document for the page: id, start, end, code, coder, memo count."""
    rows = proj._q("SELECT s.segment_id, s.start, s.end, c.path, u.name, (SELECT COUNT(*) FROM memos m WHERE"
                   " m.segment_id = s.segment_id) FROM segments s JOIN codes c ON c.code_id = s.code_id JOIN users u"
                   " ON u.user_id = s.coder_id WHERE s.document_id = ? ORDER BY s.start, s.end, s.segment_id",
                   (int(doc_id),))
    segs = [{"id": r[0], "start": r[1], "end": r[2], "code": r[3], "coder": r[4], "memos": r[5]} for r in rows]
    return visible(proj, int(doc_id), segs)


def visible(proj, doc_id: int, segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """*segments* of document *doc_id* that this request may see.

    On a document hidden for blind double-coding (:class:`HostView`) only the viewer's own codings;
    the local studio sets no view and sees everything.
    """
    view = _view(proj)
    if view is None or int(doc_id) not in view.hidden:
        return segments
    return [s for s in segments if s["coder"] == view.viewer]


def document_view(proj, doc_id: int) -> dict[str, Any]:
    row = proj._q("SELECT d.document_id, d.name, d.kind, k.name, d.text, d.n_chars FROM documents d LEFT JOIN"
                  " cases k ON k.case_id = d.case_id WHERE d.document_id = ?", (int(doc_id),))
    if not row:
        raise KeyError(f"No document {doc_id} in this project.")
    doc_id, name, kind, case, text, n_chars = row[0]
    turns = proj._q("SELECT turn_index, speaker, start, text_start, end FROM turns WHERE document_id = ?"
                    " ORDER BY turn_index", (doc_id,))
    if not turns:  # a document without speaker turns is one block of text
        turns = [(0, "", 0, 0, n_chars)]
    return {"id": doc_id, "name": name, "kind": kind, "case": case, "n_chars": n_chars, "text": text,
            "turns": [{"index": t[0], "speaker": t[1], "start": t[3], "end": t[4], "text": text[t[3]:t[4]]}
                      for t in turns if t[4] > t[3]],
            "segments": segments_of(proj, doc_id), "themes": codes_tree(proj)}


def segment_detail(proj, seg_id: int) -> dict[str, Any]:
    row = proj._q("SELECT s.segment_id, d.document_id, d.name, c.path, c.name, u.name, s.start, s.end,"
                  " substr(d.text, s.start + 1, s.end - s.start) FROM segments s JOIN documents d ON"
                  " d.document_id = s.document_id JOIN codes c ON c.code_id = s.code_id JOIN users u ON"
                  " u.user_id = s.coder_id WHERE s.segment_id = ?", (int(seg_id),))
    if not row:
        raise KeyError(f"No segment {seg_id} in this project.")
    r = row[0]
    if not visible(proj, r[1], [{"id": r[0], "coder": r[5]}]):
        raise KeyError(f"No segment {seg_id} in this project.")  # hidden (blind double-coding): as if absent
    memos = proj._q("SELECT m.memo_id, m.text, u.name, m.created_at FROM memos m JOIN users u ON"
                    " u.user_id = m.author_id WHERE m.segment_id = ? ORDER BY m.memo_id", (int(seg_id),))
    return {"id": r[0], "document_id": r[1], "document": r[2], "code": r[3], "code_name": r[4], "coder": r[5],
            "start": r[6], "end": r[7], "text": r[8],
            "memos": [{"id": m[0], "text": m[1], "author": m[2], "at": m[3]} for m in memos]}


def check_new_coding(proj, doc_id: int, start: int, end: int, codes: list[str], coder: str) -> None:
    """Refuse an exact or overlapping duplicate of the coder's own coding with the same code."""
    for code in codes:
        code_id = proj._code_id(code)
        row = proj._q("SELECT s.segment_id, s.start, s.end FROM segments s JOIN users u ON u.user_id = s.coder_id"
                      " WHERE s.document_id = ? AND s.code_id = ? AND u.name = ? AND s.start < ? AND s.end > ?",
                      (doc_id, code_id, coder, end, start))
        if row:
            seg, a, b = row[0]
            what = "exactly this passage" if (a, b) == (start, end) else f"an overlapping passage ({a}-{b})"
            raise StudioError(409, f"You have already coded {what} with {code} (coding {seg}); change that "
                                   "coding's boundaries instead.")


def next_suggestion(proj, after: int = 0, document: int | None = None) -> dict[str, Any] | None:
    """The next pending suggestion after id *after* (wrapping round), with its context.

    With a host's :class:`HostView`, the suggestions this coder decided on a hidden document are not
    pending for them (each coder decides those on their own), and ``others`` lists the decisions of
    others they may see.
    """
    sql = "SELECT suggestion_id FROM suggestions WHERE status = 'pending'"
    params: tuple = ()
    if document is not None:
        sql += " AND document_id = ?"
        params = (int(document),)
    ids = np.array([r[0] for r in proj._q(sql + " ORDER BY suggestion_id", params)], dtype=np.int64)
    view = _view(proj)
    if view is not None and view.suggestions is not None and len(ids):
        ids = ids[~np.isin(ids, np.fromiter(view.suggestions.excluded(proj), dtype=np.int64))]
    if not len(ids):
        return None
    later = ids[ids > int(after)]
    chosen = int(later[0] if len(later) else ids[0])
    rows = proj._q("SELECT g.suggestion_id, d.document_id, d.name, k.name, c.path, c.name, c.definition, g.start,"
                   " g.end, g.rule FROM suggestions g JOIN documents d ON d.document_id = g.document_id JOIN codes c"
                   " ON c.code_id = g.code_id LEFT JOIN cases k ON k.case_id = d.case_id WHERE g.suggestion_id = ?",
                   (chosen,))
    sid, doc_id, doc, case, code, code_name, definition, a, b, rule = rows[0]
    text = proj.document_text(doc_id)
    others = view.suggestions.others(proj, sid) if view is not None and view.suggestions is not None else []
    return {"id": sid, "document_id": doc_id, "document": doc, "case": case or "", "code": code,
            "code_name": code_name, "definition": definition or "", "rule": rule,
            "before": text[max(0, a - 300):a], "text": text[a:b], "after": text[b:b + 300], "n_pending": len(ids),
            "others": others}


def decide_suggestion(proj, suggestion: int, decision: str, *, coder: str, reason: str | None = None) -> int | None:
    """Accept or reject a suggestion for *coder* (through the host's own review, when it keeps one)."""
    view = _view(proj)
    if view is not None and view.suggestions is not None:
        return view.suggestions.decide(proj, suggestion, decision, reason)
    return proj.decide_suggestion(suggestion, decision, coder=coder, reason=reason)


def framework_matrix(proj, codes: list[str] | None = None, cases: list[str] | None = None):
    """The framework matrix as this request may see it.

    While documents are hidden for blind double-coding (:class:`HostView`), the counts leave out the
    other coders' codings on them, a cell's quotes are only those visible, and in a case that has a
    hidden document only the viewer's own summaries are shown (another's summary may rest on work
    still hidden); links to hidden codings are dropped.
    """
    m = proj.framework_matrix(codes=codes, cases=cases)
    viewer, hidden = _hidden(proj)
    if not hidden:
        return m
    withheld = _withheld(proj)
    gone = Counter((r[1], r[2]) for r in withheld if r[1] is not None)
    hidden_cases = {r[0] for r in proj._q("SELECT k.name FROM documents d JOIN cases k ON k.case_id = d.case_id"
                                          f" WHERE d.document_id IN ({','.join('?' * len(hidden))})", tuple(hidden))}
    cells = m.cells.copy()
    keys = list(zip(cells["case"], cells["code"]))
    cells["n_segments"] = cells["n_segments"].to_numpy() - np.array([gone.get(k, 0) for k in keys], dtype=np.int64)
    others = (cells["case"].isin(hidden_cases) & (cells["author"] != viewer)).to_numpy()
    cells.loc[others, ["summary", "automatic_summary", "author", "modified_at"]] = np.nan
    ids = {r[0] for r in withheld}
    cells["segment_ids"] = [() if o else tuple(x for x in refs if x not in ids)
                            for o, refs in zip(others.tolist(), cells["segment_ids"])]
    # a theme that has codes is a column of its own only because a summary was charted at theme level;
    # when every such summary is withheld, the column goes too (its presence would tell that one exists)
    charted_only = [c for c in m.codes if any(k.startswith(c + "/") for k in m.codes)]
    shown = cells[["summary", "automatic_summary"]].notna().any(axis=1)
    dropped = {c for c in charted_only if not shown[cells["code"] == c].any()}
    if dropped:
        cells = cells[~cells["code"].isin(dropped)].reset_index(drop=True)
    prov = {**m.provenance, "blind_hidden_documents": len(hidden), "viewer": viewer}
    return dataclasses.replace(m, cells=cells, codes=tuple(c for c in m.codes if c not in dropped), provenance=prov)


def check_chart(proj, case: str) -> None:
    """Refuse a summary in a case with a hidden document: it would replace a summary the writer cannot see."""
    _viewer, hidden = _hidden(proj)
    if hidden and proj._q("SELECT 1 FROM documents d JOIN cases k ON k.case_id = d.case_id WHERE k.name = ? AND"
                          f" d.document_id IN ({','.join('?' * len(hidden))})", (case, *hidden)):
        raise StudioError(403, f"Case {case} has documents hidden for blind double-coding: its summaries are "
                               "written after the lead releases them.")


def matrix_view(proj, theme: str | None) -> dict[str, Any]:
    themes = [(r[0], r[1]) for r in proj._q("SELECT path, name FROM codes WHERE parent_id IS NULL"
                                             " ORDER BY sort_order, code_id")]
    if not themes:
        return {"themes": [], "theme": None, "codes": [], "groups": [], "grouped": False, "n_hidden": 0}
    theme = theme or themes[0][0]
    if theme not in {t for t, _ in themes}:
        raise KeyError(f"No theme {theme!r} in this project.")
    m = framework_matrix(proj, codes=[theme])
    cells = m.cells
    codes = [{"path": c, "name": m.code_names.get(c, c)} for c in m.codes]
    by_case: dict[str, dict] = {}
    for rec in cells.to_dict("records"):
        row = by_case.setdefault(rec["case"], {"case": rec["case"], "group": rec["group"] if m.group_by else None,
                                               "cells": []})
        summary = rec["summary"] if isinstance(rec["summary"], str) else None
        row["cells"].append({"code": rec["code"], "summary": summary, "n": int(rec["n_segments"])})
    rows = list(by_case.values())
    groups: list[dict] = []
    for row in rows:
        if not groups or groups[-1]["group"] != row["group"]:
            groups.append({"group": row["group"], "rows": []})
        groups[-1]["rows"].append(row)
    return {"themes": themes, "theme": theme, "codes": codes, "groups": groups, "grouped": bool(m.group_by),
            "n_hidden": len(_hidden(proj)[1])}


def cell_view(proj, case: str, code: str) -> dict[str, Any]:
    proj._case_id(case)
    proj._code_id(code)
    m = framework_matrix(proj, codes=[code], cases=[case])
    row = m.cells[m.cells["code"] == code]
    if row.empty:
        raise KeyError(f"No matrix cell for case {case!r} and code {code!r}.")
    ev = m.evidence(case, code)
    ev = ev[~ev["segment_id"].isin([r[0] for r in _withheld(proj)])]
    summary = row["summary"].iloc[0]
    name = proj._q("SELECT name FROM codes WHERE path = ?", (code,))[0][0]
    return {"case": case, "code": code, "code_name": name, "summary": summary if isinstance(summary, str) else "",
            "n_hidden": len(_hidden(proj)[1]),
            "quotes": [{"id": int(r["segment_id"]), "document": r["document"], "coder": r["coder"],
                        "code": r["code"], "text": r["text"], "before": r["context_before"],
                        "after": r["context_after"], "linked": bool(r["linked"])} for r in ev.to_dict("records")]}


def agreement_view(proj, coders: list[str], documents: list[str], unit: str) -> dict[str, Any]:
    """Agreement between *coders* on *documents* (none: every document they coded).

    While documents are hidden for blind double-coding (:class:`HostView`), agreement compares coders,
    so it is computed on the other documents only: the hidden ones are left out (``n_hidden`` says how
    many) until the lead releases them.
    """
    _viewer, hidden = _hidden(proj)
    not_hidden = "" if not hidden else f" WHERE s.document_id NOT IN ({','.join('?' * len(hidden))})"
    all_coders = [r[0] for r in proj._q("SELECT DISTINCT u.name FROM segments s JOIN users u ON"
                                        f" u.user_id = s.coder_id{not_hidden} ORDER BY u.name", tuple(hidden))]
    docs = proj.documents()
    hidden_names = set(docs.loc[docs["document_id"].isin(hidden), "name"])
    all_docs = [d for d in docs["name"].tolist() if d not in hidden_names]
    out: dict[str, Any] = {"all_coders": all_coders, "all_documents": all_docs, "coders": coders,
                           "documents": documents, "unit": unit, "result": None, "n_hidden": len(hidden)}
    for d in documents:
        if d in hidden_names:
            raise StudioError(403, f"{d} is hidden for blind double-coding: agreement on it is shown after the "
                                   "lead releases it.")
    if len(coders) < 2:
        return out
    for c in coders:
        if c not in all_coders:
            raise KeyError(f"No coder {c!r} has coded in this project.")
    for d in documents:
        proj._doc_id(d)
    segs, texts = proj._coded_spans(coders)
    chosen = documents or sorted(set(segs["document"]) - hidden_names)
    segs = segs[segs["document"].isin(chosen)]
    texts = {d: proj.document_text(d) for d in chosen}
    if segs.empty:
        out["empty"] = True
        return out
    res = coding_agreement(segs, texts, coders=coders, unit=unit)
    table = res.to_frame()
    pooled = table[table["pooled"]]
    kappa_col = "kappa" if len(coders) == 2 else "fleiss_kappa"
    rows = [{"code": r["code"], "percent": r["percent_agreement"], "kappa": r[kappa_col], "alpha": r["alpha"],
             "n": int(r["n_coded_any"])} for r in pooled.to_dict("records")]
    dis = res.disagreements()
    items = []
    for r in dis.head(300).to_dict("records"):
        text = texts[r["document"]]
        items.append({"code": r["code"], "document": r["document"], "start": int(r["start"]), "end": int(r["end"]),
                      "before": text[max(0, r["start"] - 120):r["start"]], "text": r["text"],
                      "after": text[r["end"]:r["end"] + 120],
                      "coded_by": r["coded_by"].split(", ") if r["coded_by"] else [],
                      "not_coded_by": r["not_coded_by"].split(", ") if r["not_coded_by"] else []})
    out["result"] = {"rows": rows, "kappa_label": "Cohen's kappa" if len(coders) == 2 else "Fleiss' kappa",
                     "summary": res.summary(), "disagreements": items, "n_disagreements": len(dis)}
    return out
