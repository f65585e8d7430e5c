"""Blind double-coding of suggestions: on a hidden document each coder reviews suggestions on their own.

The rule-based suggestions (:meth:`~recoverystudy.Project.suggest`) are the same for everyone — they come
from the codebook's keywords, not from anyone's work — so they stay shared.  What a coder *decides* is
their work: on a document the lead has hidden, a decision is kept for that coder alone, in
``rs_server.blind_decisions`` (with the decision's line in the project's coding log, and, for an
acceptance, the coder's own coded segment).  The suggestion stays pending for everyone else, so each
coder sees the whole queue and no one sees another's choices: agreement then compares independent
decisions.  Leads see every decision; when the lead releases the document, everyone does.  On a document
that is not hidden a decision is the project's shared one, as in the local studio.

:class:`SuggestionReview` is the team server's review for one request (the studio's pages use it through
:class:`~recoverystudy.studio.data.HostView`; the JSON API through :func:`suggestion_rows`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from recoverystudy.qual.store import utc_now
from recoverystudy.server.directory import Member

__all__ = ["SuggestionReview", "suggestion_rows"]


class SuggestionReview:
    """One member's view of suggestion decisions in one project (runs on a database worker thread).

    Parameters
    ----------
    directory
        The server's :class:`~recoverystudy.server.directory.Directory` (or the transaction's wrapper).
    member : Member
    hidden : frozenset of int
        Documents of the project hidden for blind double-coding now.
    conn
        The open transaction's connection (writes), or ``None`` (reads).
    """

    def __init__(self, directory, member: Member, hidden: frozenset, conn=None) -> None:
        self.directory, self.member, self.hidden, self.conn = directory, member, frozenset(hidden), conn
        self._decisions: list[dict[str, Any]] | None = None

    @property
    def username(self) -> str:
        return self.member.account.username

    def decisions(self) -> list[dict[str, Any]]:
        """Every blind decision of the project (read once per request)."""
        if self._decisions is None:
            self._decisions = self.directory.blind_decisions(self.member.project, conn=self.conn)
        return self._decisions

    def may_see(self, decision: dict[str, Any]) -> bool:
        """Own decisions always; others' once their document is released (leads: always)."""
        return (decision["coder"] == self.username or self.member.is_lead
                or decision["document"] not in self.hidden)

    def own(self) -> dict[int, dict[str, Any]]:
        return {d["suggestion"]: d for d in self.decisions() if d["coder"] == self.username}

    # -- the studio's hooks (HostView.suggestions) ---------------------------------------------------
    def excluded(self, proj) -> set[int]:
        """Pending suggestions that are not in this coder's queue: the ones they decided on their own."""
        return set(self.own())

    def others(self, proj, suggestion: int) -> list[dict[str, Any]]:
        """Others' decisions on *suggestion* that this member may see."""
        return [{"coder": d["coder"], "decision": d["decision"], "reason": d["reason"] or ""}
                for d in self.decisions() if d["suggestion"] == int(suggestion) and d["coder"] != self.username
                and self.may_see(d)]

    def decide(self, proj, suggestion: int, decision: str, reason: str | None = None) -> int | None:
        """Accept or reject *suggestion* as this member; returns the coded segment's id for an acceptance.

        On a hidden document the decision is this coder's own (see the module's description); elsewhere it
        is the project's shared decision.
        """
        if decision not in ("accept", "reject"):
            raise ValueError(f"The decision must be accept or reject; got {decision!r}.")
        if isinstance(suggestion, bool) or not isinstance(suggestion, int):
            raise TypeError(f"A suggestion id must be an integer; got {suggestion!r}.")
        row = proj._q(_RAW + " WHERE g.suggestion_id = ?", (suggestion,))
        if not row or not self._visible_row(proj, row[0]):
            raise KeyError(f"No suggestion {suggestion} in this project.")
        doc_id, code_id, start, end, status, _by = row[0]
        mine = self.own().get(suggestion)
        if mine is not None:
            raise ValueError(f"You already {mine['decision']} suggestion {suggestion} while its document was "
                             "hidden for blind double-coding.")
        if int(doc_id) not in self.hidden:
            return proj.decide_suggestion(suggestion, decision, coder=self.username, reason=reason)
        if status != "pending":
            raise ValueError(f"Suggestion {suggestion} was already {status}; only pending suggestions can be decided.")
        reason = (reason or "").strip() or None
        with proj._tx() as conn:
            uid = proj._uid(self.username)
            seg = None
            if decision == "accept":
                found = conn.execute("SELECT segment_id FROM segments WHERE document_id = ? AND code_id = ? AND"
                                     " coder_id = ? AND start = ? AND end = ?",
                                     (doc_id, code_id, uid, start, end)).fetchone()
                seg = int(found[0]) if found else proj._insert_segment(conn, doc_id, code_id, uid, start, end,
                                                                       self.username, "accept")
            else:
                conn.execute(
                    "INSERT INTO coding_log(action, document_id, code_path, start, end, coder, at, detail)"
                    " VALUES ('reject', ?, (SELECT path FROM codes WHERE code_id = ?), ?, ?, ?, ?, ?)",
                    (doc_id, code_id, start, end, self.username, utc_now(),
                     f"suggestion {suggestion}, blind (this coder's own decision)"
                     + (f"; reason: {reason}" if reason else "")))
            self.directory.add_blind_decision(self.member.project, self.member.account, suggestion, int(doc_id),
                                              "accepted" if decision == "accept" else "rejected", reason, seg,
                                              conn=conn.raw)
        self._decisions = None
        return seg

    def _visible_row(self, proj, row: tuple) -> bool:
        """A suggestion decided for everyone by another coder on a now hidden document is not shown."""
        doc_id, _code, _a, _b, status, decided_by = row
        if self.member.is_lead or int(doc_id) not in self.hidden or status == "pending":
            return True
        return decided_by == self.username


#: a suggestion's ids, span, shared status and who decided it for everyone
_RAW = ("SELECT g.document_id, g.code_id, g.start, g.end, g.status, u.name FROM suggestions g"
        " LEFT JOIN users u ON u.user_id = g.decided_by")


def suggestion_rows(proj, review: SuggestionReview, *, status: str | None = None, document: int | None = None,
                    suggestion: int | None = None) -> list[dict[str, Any]]:
    """The suggestions as *review*'s member sees them, for the JSON API.

    ``status`` is the member's own view: on a hidden document their own decision (else pending);
    ``decisions`` lists the coders' own decisions on hidden documents that the member may see.
    """
    frame = proj.suggestions(status=None)
    by_raw = {r[0]: r[1:] for r in proj._q(_RAW.replace("SELECT ", "SELECT g.suggestion_id, ", 1))}
    own = review.own()
    seen: dict[int, list[dict]] = {}
    for d in review.decisions():
        if review.may_see(d):
            seen.setdefault(d["suggestion"], []).append(
                {"coder": d["coder"], "decision": d["decision"], "reason": d["reason"] or "",
                 "segment": d["segment"], "at": d["at"]})
    out = []
    for rec in frame.to_dict("records"):
        sid = int(rec["suggestion_id"])
        if suggestion is not None and sid != suggestion:
            continue
        doc_id = int(by_raw[sid][0])
        if document is not None and doc_id != document:
            continue
        if not review._visible_row(proj, by_raw[sid]):
            continue
        mine = own.get(sid)
        hidden = doc_id in review.hidden
        shown = rec["status"] if mine is None else mine["decision"]
        if status is not None and shown != status:
            continue
        shared_visible = rec["status"] != "pending"
        out.append({"id": sid, "document_id": doc_id, "document": rec["document"],
                    "case": rec["case"] if isinstance(rec["case"], str) else None, "code": rec["code"],
                    "start": int(rec["start"]), "end": int(rec["end"]), "text": rec["text"], "rule": rec["rule"],
                    "status": shown, "blind": hidden,
                    "decided_by": (rec["decided_by"] if shared_visible else None) if mine is None
                    else review.username,
                    "reason": (_txt(rec["reason"]) if shared_visible else "") if mine is None
                    else (mine["reason"] or ""),
                    "decisions": seen.get(sid, [])})
    return out


def _txt(value: Any) -> str:
    return value if isinstance(value, str) and not pd.isna(value) else ""
