"""Revising codings and the codebook: boundaries, recoding, undo/redo, renaming and moving codes.

Mixed into :class:`~recoverystudy.qual.project.Project`.  These are the actions a person takes while
coding (in a notebook or in the coding studio) once the first codings exist:

- :meth:`RevisionMixin.resize` changes a segment's boundaries and :meth:`RevisionMixin.recode` its
  code; the segment keeps its id, so memos and matrix summaries that cite it keep pointing at it.
- :meth:`RevisionMixin.undo` and :meth:`RevisionMixin.redo` step back and forward through one
  coder's coding actions (code, remove, resize, recode).  The history is the project's append-only
  coding log, so it survives closing the project and is shared by a notebook and the studio.
- :meth:`RevisionMixin.update_code` renames or re-describes a code, :meth:`RevisionMixin.move_code`
  moves it to another theme, :meth:`RevisionMixin.code_counts` counts segments per code.

Every call runs in one transaction and is written to the coding log.  A change logged as a pair of
rows (``uncode`` of the old span or code, ``code`` of the new one, same segment id, same time) is
one action for undo.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.errors import CodebookError
from recoverystudy.qual._links import detach_note, reattach
from recoverystudy.qual.store import new_guid, utc_now

__all__ = ["RevisionMixin", "NothingToUndoError"]

_UNDOABLE = ("code", "uncode")
_MARK = re.compile(r"(?:^|; )(undo|redo) of log (\d+)$")
_OWNER = re.compile(r"^coded by (.+?)(?:; (?:undo|redo|resize|recode|links)\b.*)?$")


class NothingToUndoError(LookupError):
    """There is nothing (more) to undo or redo for this coder."""


class RevisionMixin:
    """Boundary changes, recoding, undo/redo and codebook edits of :class:`~recoverystudy.qual.project.Project`."""

    # -- changing one segment ------------------------------------------------------------------------
    def _segment_row(self, segment: int) -> tuple:
        if isinstance(segment, bool) or not isinstance(segment, (int, np.integer)):
            raise TypeError(f"A segment id must be an integer; got {segment!r}.")
        row = self._q("SELECT s.segment_id, s.document_id, s.code_id, u.name, s.start, s.end, d.n_chars, d.name"
                      " FROM segments s JOIN users u ON u.user_id = s.coder_id JOIN documents d ON"
                      " d.document_id = s.document_id WHERE s.segment_id = ?", (int(segment),))
        if not row:
            raise KeyError(f"No segment {segment} in project {self.path.name}.")
        return row[0]

    def _check_owner(self, seg_id: int, owner: str, coder: str, others: bool) -> None:
        if owner != str(coder).strip() and not others:
            raise PermissionError(f"Segment {seg_id} was coded by {owner!r}, not {coder!r}; changing another "
                                  "coder's segment changes their coding (and agreement): pass others=True "
                                  "if the team agreed to it.")

    def _change_segment(self, seg_id: int, doc_id: int, old: tuple[int, int, int], new: tuple[int, int, int],
                        owner: str, coder: str, what: str) -> None:
        """UPDATE one segment in place and log it as uncode(old) + code(new) at the same time."""
        code_id, start, end = new
        clash = self._q("SELECT s.segment_id FROM segments s JOIN users u ON u.user_id = s.coder_id"
                        " WHERE s.document_id = ? AND s.code_id = ? AND u.name = ? AND s.start = ? AND s.end = ?"
                        " AND s.segment_id != ?", (doc_id, code_id, owner, start, end, seg_id))
        if clash:
            raise ValueError(f"{owner!r} already has segment {clash[0][0]} with this code at {start}:{end}; "
                             "the change would duplicate it.")
        now = utc_now()
        with self._tx() as conn:
            self._uid(coder)
            conn.execute("UPDATE segments SET code_id = ?, start = ?, end = ? WHERE segment_id = ?",
                         (code_id, start, end, seg_id))
            log = ("INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at, detail)"
                   " VALUES (?, ?, ?, (SELECT path FROM codes WHERE code_id = ?), ?, ?, ?, ?, ?)")
            conn.execute(log, ("uncode", seg_id, doc_id, old[0], old[1], old[2], coder, now,
                               f"coded by {owner}; {what}"))
            conn.execute(log, ("code", seg_id, doc_id, code_id, start, end, coder, now, f"coded by {owner}; {what}"))

    def resize(self, segment: int, start: int, end: int, *, coder: str, others: bool = False) -> int:
        """Change the boundaries of a coded segment; it keeps its id, code, coder, memos and chart links.

        Parameters
        ----------
        segment : int
            The segment id.
        start, end : int
            The new code-point offsets, ``0 <= start < end <= n_chars``.
        coder : str
            Who makes the change.  Changing another coder's segment needs ``others=True`` (the same
            rule as :meth:`uncode`).

        Returns
        -------
        int
            The segment id.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum came to the review.", name="d")
        >>> seg = proj.code("d", 6, 12, "carers/carer_involvement", coder="AB")
        >>> proj.resize(seg, 6, 32, coder="AB")
        1
        >>> proj.segments()["text"].tolist()
        ['My mum came to the review.']
        >>> proj.coding_log()["action"].tolist()
        ['code', 'uncode', 'code']
        >>> proj.close()
        """
        seg_id, doc_id, code_id, owner, old_start, old_end, n_chars, doc_name = self._segment_row(segment)
        self._check_span(doc_name, start, end, n_chars)
        self._check_owner(seg_id, owner, coder, others)
        if (int(start), int(end)) == (old_start, old_end):
            return int(seg_id)
        self._change_segment(seg_id, doc_id, (code_id, old_start, old_end), (code_id, int(start), int(end)), owner,
                             coder, f"resize from {old_start}:{old_end}")
        return int(seg_id)

    def recode(self, segment: int, code: str, *, coder: str, others: bool = False) -> int:
        """Give a coded segment another code; it keeps its id, span, coder and memos.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum came to the review.", name="d")
        >>> seg = proj.code("d", 6, 12, "carers/carer_involvement", coder="AB")
        >>> proj.recode(seg, "carers/carer_support", coder="AB")
        1
        >>> proj.segments()["code"].tolist()
        ['carers/carer_support']
        >>> proj.close()
        """
        seg_id, doc_id, code_id, owner, start, end, _n, _name = self._segment_row(segment)
        new_code = self._code_id(code)
        self._check_owner(seg_id, owner, coder, others)
        if new_code == code_id:
            return int(seg_id)
        self._change_segment(seg_id, doc_id, (code_id, start, end), (new_code, start, end), owner, coder,
                             "recode")
        return int(seg_id)

    # -- undo and redo ---------------------------------------------------------------------------------
    def _history(self, coder: str) -> tuple[list[list[tuple]], list[list[tuple]]]:
        """Replay *coder*'s coding log into (undo stack, redo stack) of action groups.

        A group is the log rows of one call (same coder, same time).  Undo rows say ``undo of log N``
        (N = first row of the group undone), redo rows ``redo of log N`` (N = first row of the undo).
        """
        rows = self._q("SELECT l.log_id, l.action, l.segment_id, l.document_id, l.code_path, l.start, l.end, l.at,"
                       " l.detail FROM coding_log l WHERE l.coder = ? ORDER BY l.log_id", (coder,))
        groups: list[list[tuple]] = []
        for r in rows:
            if groups and groups[-1][0][7] == r[7]:
                groups[-1].append(r)
            else:
                groups.append([r])
        undo: list[list[tuple]] = []
        redo: list[list[tuple]] = []
        for g in groups:
            if any(r[1] not in _UNDOABLE for r in g):
                continue  # accept/reject/chart/memo: decisions and writing, not undoable coding actions
            mark = _MARK.search(g[0][8] or "")
            if mark is None:
                undo.append(g)
                redo.clear()
            elif mark.group(1) == "undo":
                if undo and undo[-1][0][0] == int(mark.group(2)):
                    undo.pop()
                redo.append(g)
            else:
                if redo and redo[-1][0][0] == int(mark.group(2)):
                    redo.pop()
                undo.append(g)
        return undo, redo

    def _invert(self, group: list[tuple], coder: str, kind: str) -> dict[str, Any]:
        """Apply the inverse of one action group in one transaction; log it as *kind* of the group."""
        first = group[0][0]
        by_seg: dict[int, dict[str, tuple]] = {}
        for r in group:
            by_seg.setdefault(r[2], {})[r[1]] = r
        now = utc_now()
        documents: set[int] = set()
        log = ("INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at, detail)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        mark = f"{kind} of log {first}"
        with self._tx() as conn:
            self._uid(coder)
            for seg_id, acts in by_seg.items():
                cur = conn.execute("SELECT s.document_id, c.path, s.start, s.end, u.name FROM segments s JOIN codes c"
                                   " ON c.code_id = s.code_id JOIN users u ON u.user_id = s.coder_id"
                                   " WHERE s.segment_id = ?", (seg_id,)).fetchone()
                if "code" in acts and "uncode" in acts:  # a change in place: put the old code and span back
                    new, old = acts["code"], acts["uncode"]
                    if cur is None or (cur[1], cur[2], cur[3]) != (new[4], new[5], new[6]):
                        raise ValueError(f"Cannot {kind}: segment {seg_id} has changed since (or was removed).")
                    owner = cur[4]
                    old_code = self._code_id(old[4])
                    conn.execute("UPDATE segments SET code_id = ?, start = ?, end = ? WHERE segment_id = ?",
                                 (old_code, old[5], old[6], seg_id))
                    conn.execute(log, ("uncode", seg_id, new[3], new[4], new[5], new[6], coder, now,
                                       f"coded by {owner}; {mark}"))
                    conn.execute(log, ("code", seg_id, old[3], old[4], old[5], old[6], coder, now,
                                       f"coded by {owner}; {mark}"))
                    documents.add(new[3])
                elif "code" in acts:  # the action coded: remove the segment
                    new = acts["code"]
                    if cur is None or (cur[1], cur[2], cur[3]) != (new[4], new[5], new[6]):
                        raise ValueError(f"Cannot {kind}: segment {seg_id} has changed since (or was removed).")
                    conn.execute(log, ("uncode", seg_id, new[3], new[4], new[5], new[6], coder, now,
                                       f"coded by {cur[4]}{detach_note(conn, seg_id)}; {mark}"))
                    conn.execute("UPDATE suggestions SET segment_id = NULL WHERE segment_id = ?", (seg_id,))
                    conn.execute("DELETE FROM segments WHERE segment_id = ?", (seg_id,))
                    documents.add(new[3])
                else:  # the action removed: code the same span again for its owner (same id when free)
                    old = acts["uncode"]
                    m = _OWNER.match(old[8] or "")
                    owner = m.group(1) if m else coder
                    doc_ok = conn.execute("SELECT 1 FROM documents WHERE document_id = ?", (old[3],)).fetchone()
                    if not doc_ok:
                        raise ValueError(f"Cannot {kind}: the document of segment {seg_id} is gone.")
                    code_id = self._code_id(old[4])
                    owner_id = self._uid(owner)
                    dup = conn.execute("SELECT segment_id FROM segments WHERE document_id = ? AND code_id = ? AND"
                                       " coder_id = ? AND start = ? AND end = ?",
                                       (old[3], code_id, owner_id, old[5], old[6])).fetchone()
                    if dup:
                        raise ValueError(f"Cannot {kind}: {owner!r} has coded that span with that code again "
                                         f"(segment {dup[0]}).")
                    free = conn.execute("SELECT 1 FROM segments WHERE segment_id = ?", (seg_id,)).fetchone() is None
                    draft = self._codes_outside_frozen(conn)
                    version_sql = "NULL" if code_id in draft else "(SELECT MAX(version) FROM framework_versions)"
                    id_col, id_val = ("segment_id, ", (seg_id,)) if free else ("", ())
                    ins = conn.execute(
                        f"INSERT INTO segments({id_col}guid, document_id, code_id, coder_id, start, end,"
                        f" framework_version, created_at) VALUES ({'?, ' * len(id_val)}?, ?, ?, ?, ?, ?,"
                        f" {version_sql}, ?)",
                        id_val + (new_guid(), old[3], code_id, owner_id, old[5], old[6], now))
                    back = seg_id if free else int(ins.lastrowid)
                    conn.execute(log, ("code", back, old[3], old[4], old[5], old[6], coder, now,
                                       f"coded by {owner}; {mark}"))
                    reattach(conn, back, old[8])
                    documents.add(old[3])
        names = dict(self._q("SELECT document_id, name FROM documents"))
        return {"action": kind, "of_log": first, "documents": sorted(names[d] for d in documents if d in names)}

    def undo(self, *, coder: str) -> dict[str, Any]:
        """Undo *coder*'s last coding action (code, remove, resize or recode) not yet undone.

        The history is the coding log, so it works across sessions and between a notebook and the
        studio.  Accepting or rejecting suggestions, charting and memos are decisions and writing,
        not coding actions: they are not undone.

        Returns
        -------
        dict
            ``action`` ("undo"), ``of_log`` (the first log row of the action undone) and
            ``documents`` (names of the documents changed).

        Raises
        ------
        NothingToUndoError
            The coder has nothing left to undo.
        ValueError
            The segment was changed since by someone else (nothing is changed then).

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum came to the review.", name="d")
        >>> seg = proj.code("d", 6, 12, "carers/carer_involvement", coder="AB")
        >>> proj.undo(coder="AB")["documents"], len(proj.segments())
        (['d'], 0)
        >>> _ = proj.redo(coder="AB"); proj.segments()["text"].tolist()
        ['My mum']
        >>> proj.close()
        """
        undo, _redo = self._history(str(coder).strip())
        if not undo:
            raise NothingToUndoError(f"{coder!r} has no coding action left to undo.")
        return self._invert(undo[-1], str(coder).strip(), "undo")

    def redo(self, *, coder: str) -> dict[str, Any]:
        """Redo the coding action *coder* undid last (only until the coder makes a new action).

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum came to the review.", name="d")
        >>> seg = proj.code("d", 6, 12, "carers/carer_involvement", coder="AB")
        >>> _ = proj.undo(coder="AB"); _ = proj.redo(coder="AB")
        >>> proj.can_undo(coder="AB"), proj.can_redo(coder="AB")
        (True, False)
        >>> proj.close()
        """
        _undo, redo = self._history(str(coder).strip())
        if not redo:
            raise NothingToUndoError(f"{coder!r} has nothing to redo.")
        return self._invert(redo[-1], str(coder).strip(), "redo")

    def can_undo(self, *, coder: str) -> bool:
        """Whether :meth:`undo` has something to undo for *coder*."""
        return bool(self._history(str(coder).strip())[0])

    def can_redo(self, *, coder: str) -> bool:
        """Whether :meth:`redo` has something to redo for *coder*."""
        return bool(self._history(str(coder).strip())[1])

    # -- suggestions ---------------------------------------------------------------------------------
    def decide_suggestion(self, suggestion: int, decision: str, *, coder: str, reason: str | None = None) -> int | None:
        """Accept or reject one suggestion, with the reason for a rejection kept in the project.

        ``"accept"`` codes the suggested sentence for *coder* and returns the segment id; ``"reject"``
        marks it rejected (never suggested again) and returns ``None``; the reason is stored with the
        decision by :meth:`reject`.  Each path writes one transaction and the coding log records the
        decision.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: crisis? no.", name="d")
        >>> sug = proj.suggest({"crisis/crisis_services": {"keywords": ["crisis"]}})
        >>> proj.decide_suggestion(1, "reject", coder="AB", reason="Not about services.")
        >>> proj.suggestions(status="rejected")["suggestion_id"].tolist()
        [1]
        >>> proj.close()
        """
        if decision not in ("accept", "reject"):
            raise ValueError(f"decision must be 'accept' or 'reject'; got {decision!r}.")
        if isinstance(suggestion, bool) or not isinstance(suggestion, (int, np.integer)):
            raise TypeError(f"A suggestion id must be an integer; got {suggestion!r}.")
        if decision == "accept":
            return self.accept([int(suggestion)], coder=coder)[0]
        self.reject([int(suggestion)], coder=coder, reason=(reason or "").strip() or None)
        return None

    # -- codebook edits ------------------------------------------------------------------------------
    def update_code(self, code: str, *, name: str | None = None, definition: str | None = None,
                    inclusion: str | None = None, exclusion: str | None = None, example: str | None = None,
                    colour: str | None = None) -> int:
        """Rename or re-describe a code or theme (only the fields given change); returns the code id.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_code("access"); _ = proj.add_code("access/waiting")
        >>> _ = proj.update_code("access/waiting", name="Waiting lists", definition="Time to first contact.")
        >>> proj.codes().set_index("path").loc["access/waiting", ["name", "definition"]].tolist()
        ['Waiting lists', 'Time to first contact.']
        >>> proj.close()
        """
        code_id = self._code_id(code)
        fields = {"name": name, "definition": definition, "inclusion": inclusion, "exclusion": exclusion,
                  "example": example, "colour": colour}
        fields = {k: v for k, v in fields.items() if v is not None}
        for key, val in fields.items():
            if not isinstance(val, str):
                raise TypeError(f"Code {code!r}: {key} must be text; got {type(val).__name__}.")
        if "name" in fields and not fields["name"].strip():
            raise CodebookError(f"Code {code!r}: a name cannot be empty.", file=None, code_path=code)
        if "colour" in fields and not re.fullmatch(r"#[0-9A-Fa-f]{6}", fields["colour"]):
            raise CodebookError(f"Code {code!r}: colour must be '#RRGGBB'; got {fields['colour']!r}.", file=None,
                                code_path=code)
        if fields:
            sets = ", ".join(f"{k} = ?" for k in fields)
            with self._tx() as conn:
                conn.execute(f"UPDATE codes SET {sets}, modified_at = ? WHERE code_id = ?",
                             (*[v.strip() if k == "name" else v for k, v in fields.items()], utc_now(), code_id))
        return code_id

    def move_code(self, code: str, theme: str) -> str:
        """Move a code under another theme; its segments, charts and memos move with it.

        The code's path becomes ``"theme/<its own id>"``.  Returns the new path.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_code("access"); _ = proj.add_code("money"); _ = proj.add_code("access/benefits")
        >>> proj.move_code("access/benefits", "money")
        'money/benefits'
        >>> proj.close()
        """
        code_id = self._code_id(code)
        parts = str(code).split("/")
        if len(parts) != 2:
            raise CodebookError(f"{code!r} is a theme; only codes (theme/code) can be moved.", file=None,
                                code_path=code)
        row = self._q("SELECT code_id FROM codes WHERE path = ? AND parent_id IS NULL", (theme,))
        if not row:
            raise CodebookError(f"No theme {theme!r} to move {code!r} to.", file=None, code_path=code)
        new_path = f"{theme}/{parts[1]}"
        if new_path == code:
            return new_path
        if self._q("SELECT 1 FROM codes WHERE path = ?", (new_path,)):
            raise CodebookError(f"Theme {theme!r} already has a code {parts[1]!r}.", file=None, code_path=new_path)
        parent = int(row[0][0])
        order = self._q("SELECT COALESCE(MAX(sort_order), 0) FROM codes WHERE parent_id = ? OR code_id = ?",
                        (parent, parent))[0][0] + 1
        with self._tx() as conn:
            conn.execute("UPDATE codes SET path = ?, parent_id = ?, sort_order = ?, modified_at = ? WHERE code_id = ?",
                         (new_path, parent, order, utc_now(), code_id))
        return new_path

    def code_counts(self) -> pd.DataFrame:
        """Segments per code: ``path, name, theme, n_segments, n_documents, n_coders`` in codebook order.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum came.", name="d")
        >>> _ = proj.code("d", 6, 12, "carers/carer_involvement", coder="AB")
        >>> int(proj.code_counts().set_index("path").loc["carers/carer_involvement", "n_segments"])
        1
        >>> proj.close()
        """
        rows = self._q(
            "SELECT c.path, c.name, c.parent_id IS NULL, COUNT(s.segment_id), COUNT(DISTINCT s.document_id),"
            " COUNT(DISTINCT s.coder_id) FROM codes c LEFT JOIN segments s ON s.code_id = c.code_id"
            " GROUP BY c.code_id ORDER BY c.sort_order, c.code_id")
        frame = pd.DataFrame([(p, n, p.split("/")[0], a, b, c) for p, n, _t, a, b, c in rows],
                             columns=["path", "name", "theme", "n_segments", "n_documents", "n_coders"])
        for col in ("n_segments", "n_documents", "n_coders"):
            frame[col] = frame[col].astype("int64")
        return frame
