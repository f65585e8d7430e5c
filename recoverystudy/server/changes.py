"""The before and after of every write, for the team server's audit log.

Each write's audit entry carries what the change replaced and what it made, read from the project in
the write's own transaction (so they are exactly what was committed with it):

- codings are recorded by where they are and whose they are — segment id, document id, code, start,
  end, coder — never by the transcript text they cover (the audit log outlives removals, and a
  transcript's text belongs in the project only);
- what people wrote — memos, rejection reasons, code names and definitions, summaries, framework
  notes — is recorded as written, like the project keeps it.

:class:`StudioChange` does this for the coding studio's pages (:mod:`recoverystudy.server.studio`);
the JSON API (:mod:`recoverystudy.server.routes`) uses the same record functions.
"""

from __future__ import annotations

from typing import Any

__all__ = ["segment_record", "memos_of", "code_record", "chart_record", "suggestion_record", "StudioChange"]


def segment_record(proj, seg_id: int) -> dict[str, Any] | None:
    """``segment, document, code, start, end, coder`` of one coding (``None`` if there is none)."""
    row = proj._q("SELECT s.segment_id, s.document_id, c.path, s.start, s.end, u.name FROM segments s JOIN codes c"
                  " ON c.code_id = s.code_id JOIN users u ON u.user_id = s.coder_id WHERE s.segment_id = ?",
                  (int(seg_id),))
    if not row:
        return None
    r = row[0]
    return {"segment": int(r[0]), "document": int(r[1]), "code": r[2], "start": int(r[3]), "end": int(r[4]),
            "coder": r[5]}


def memos_of(proj, seg_id: int, *, after: int = 0) -> list[dict[str, Any]]:
    """The memos on one coding (ids above *after*): ``memo, author, text``."""
    rows = proj._q("SELECT m.memo_id, u.name, m.text FROM memos m JOIN users u ON u.user_id = m.author_id"
                   " WHERE m.segment_id = ? AND m.memo_id > ? ORDER BY m.memo_id", (int(seg_id), int(after)))
    return [{"memo": int(r[0]), "author": r[1], "text": r[2]} for r in rows]


def code_record(proj, code_id: int) -> dict[str, Any] | None:
    """A code's ``code, path, name, parent, definition, inclusion, exclusion, example, colour``."""
    row = proj._q("SELECT c.code_id, c.path, c.name, p.path, c.definition, c.inclusion, c.exclusion, c.example,"
                  " c.colour FROM codes c LEFT JOIN codes p ON p.code_id = c.parent_id WHERE c.code_id = ?",
                  (int(code_id),))
    if not row:
        return None
    keys = ["code", "path", "name", "parent", "definition", "inclusion", "exclusion", "example", "colour"]
    return dict(zip(keys, row[0]))


def chart_record(proj, case: str, code: str) -> dict[str, Any] | None:
    """The summary of one matrix cell: ``case, code, summary, segments (linked ids), author``."""
    row = proj._q("SELECT h.chart_id, h.summary, u.name FROM charts h JOIN cases k ON k.case_id = h.case_id JOIN"
                  " codes c ON c.code_id = h.code_id JOIN users u ON u.user_id = h.author_id WHERE k.name = ? AND"
                  " c.path = ?", (case, code))
    if not row:
        return None
    segs = [int(r[0]) for r in proj._q("SELECT segment_id FROM chart_segments WHERE chart_id = ? ORDER BY segment_id",
                                       (row[0][0],))]
    return {"case": case, "code": code, "summary": row[0][1], "segments": segs, "author": row[0][2]}


def suggestion_record(proj, review, sug_id: int) -> dict[str, Any] | None:
    """A suggestion as *review*'s member has it: span, code, and their decision (own on a hidden document)."""
    row = proj._q("SELECT g.document_id, c.path, g.start, g.end, g.status, u.name, g.reason, g.segment_id FROM"
                  " suggestions g JOIN codes c ON c.code_id = g.code_id LEFT JOIN users u ON u.user_id = g.decided_by"
                  " WHERE g.suggestion_id = ?", (int(sug_id),))
    if not row:
        return None
    doc, code, start, end, status, by, reason, seg = row[0]
    out = {"suggestion": int(sug_id), "document": int(doc), "code": code, "start": int(start), "end": int(end),
           "blind": int(doc) in review.hidden, "status": status, "decided_by": by, "reason": reason,
           "segment": seg}
    mine = review.own().get(int(sug_id))
    if mine is not None:
        out.update(status=mine["decision"], decided_by=mine["coder"], reason=mine["reason"], segment=mine["segment"])
    return out


def _max(proj, table: str, column: str) -> int:
    return int(proj._q(f"SELECT COALESCE(MAX({column}), 0) FROM {table}")[0][0])


def _log_changes(proj, since: int) -> tuple[list[dict], list[dict]]:
    """Codings taken away and made by the coding-log lines after *since* (undo and redo)."""
    before, after = [], []
    for action, seg, doc, code, start, end, detail in proj._q(
            "SELECT action, segment_id, document_id, code_path, start, end, detail FROM coding_log WHERE log_id > ?"
            " ORDER BY log_id", (since,)):
        owner = detail[len("coded by "):].split(";")[0] if isinstance(detail, str) and \
            detail.startswith("coded by ") else None
        rec = {"segment": seg, "document": doc, "code": code, "start": start, "end": end, "coder": owner}
        (before if action == "uncode" else after).append(rec)
    return before, after


class StudioChange:
    """The before and after of one write through the studio's pages (call :meth:`start`, write, :meth:`finish`).

    Parameters
    ----------
    proj : Project
    action, target : str
        From :func:`recoverystudy.server.studio.studio_action`.
    form : dict
        The request's form or JSON fields (the matrix cell's case and code).
    review : SuggestionReview
        The member's suggestion review (their own decisions on hidden documents).
    """

    def __init__(self, proj, action: str, target: str | None, form: dict[str, Any], review) -> None:
        self.proj, self.action, self.form, self.review = proj, action, form, review
        self.target = int(target) if isinstance(target, str) and target.isdigit() else target
        self.before: Any = None
        self._mark: dict[str, int] = {}

    def start(self) -> None:
        p, a, t = self.proj, self.action, self.target
        if a == "segment.remove":
            rec = segment_record(p, t)
            self.before = None if rec is None else {**rec, "memos": memos_of(p, t)}
        elif a in ("segment.resize", "segment.recode"):
            self.before = segment_record(p, t)
        elif a == "code.edit":
            self.before = code_record(p, t)
        elif a == "suggestion.decide":
            self.before = suggestion_record(p, self.review, t)
        elif a == "framework.chart":
            self.before = chart_record(p, str(self.form.get("case", "")), str(self.form.get("code", "")))
        for key, table, column in [("memo", "memos", "memo_id"), ("log", "coding_log", "log_id"),
                                   ("suggestion", "suggestions", "suggestion_id"), ("code", "codes", "code_id"),
                                   ("document", "documents", "document_id"), ("case", "cases", "case_id"),
                                   ("version", "framework_versions", "version")]:
            self._mark[key] = _max(p, table, column)

    def finish(self, out: Any) -> tuple[Any, Any]:
        """``(before, after)`` once the write has run (in its transaction)."""
        p, a, t, m = self.proj, self.action, self.target, self._mark
        if a == "segment.code":
            ids = out.get("ids", []) if isinstance(out, dict) else []
            return None, {"segments": [segment_record(p, i) for i in ids]}
        if a == "segment.remove":
            return self.before, None
        if a in ("segment.resize", "segment.recode"):
            return self.before, segment_record(p, t)
        if a == "memo.add":
            return None, {"segment": t, "memos": memos_of(p, t, after=m["memo"])}
        if a in ("segment.undo", "segment.redo"):
            return _log_changes(p, m["log"])
        if a == "suggestion.decide":
            return self.before, suggestion_record(p, self.review, t)
        if a == "suggestion.make":
            ids = [int(r[0]) for r in p._q("SELECT suggestion_id FROM suggestions WHERE suggestion_id > ?"
                                           " ORDER BY suggestion_id", (m["suggestion"],))]
            return None, {"created": len(ids), "first": ids[0] if ids else None, "last": ids[-1] if ids else None}
        if a == "framework.chart":
            return self.before, chart_record(p, str(self.form.get("case", "")), str(self.form.get("code", "")))
        if a == "code.add":
            ids = [int(r[0]) for r in p._q("SELECT code_id FROM codes WHERE code_id > ? ORDER BY code_id",
                                           (m["code"],))]
            return None, {"codes": [code_record(p, i) for i in ids]}
        if a == "code.edit":
            return self.before, code_record(p, t)
        if a == "framework.freeze":
            rows = p._q("SELECT version, note FROM framework_versions WHERE version > ? ORDER BY version",
                        (m["version"],))
            return None, {"versions": [{"version": int(v), "note": n} for v, n in rows]}
        if a == "document.add":
            rows = p._q("SELECT d.document_id, d.name, k.name, d.kind, d.n_chars FROM documents d LEFT JOIN cases k"
                        " ON k.case_id = d.case_id WHERE d.document_id > ? ORDER BY d.document_id", (m["document"],))
            return None, {"documents": [{"document": int(r[0]), "name": r[1], "case": r[2], "kind": r[3],
                                         "n_chars": int(r[4])} for r in rows]}
        if a == "case.add":
            rows = p._q("SELECT case_id, name FROM cases WHERE case_id > ? ORDER BY case_id", (m["case"],))
            return None, {"cases": [{"case": r[1], "site": self.form.get("site") or None} for r in rows]}
        return None, {"path": self.form.get("_path")}
