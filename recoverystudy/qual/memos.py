"""Memos on the project, a case, a code, a segment, a chart cell or a document (mixed into ``Project``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from recoverystudy.qual.store import new_guid, utc_now

__all__ = ["MEMO_TARGETS", "MemosMixin"]

MEMO_TARGETS = ("project", "case", "code", "segment", "cell", "document")


class MemosMixin:
    """Memo methods of :class:`~recoverystudy.qual.project.Project`."""

    # -- memos ---------------------------------------------------------------------------------------
    def _insert_memo(self, conn, text: str, on: str, *, author_id: int, case_id=None, code_id=None,
                     segment_id=None, document_id=None) -> int:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("A memo needs non-empty text.")
        now = utc_now()
        cur = conn.execute(
            "INSERT INTO memos(guid, text, target_type, case_id, code_id, segment_id, document_id, author_id,"
            " created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new_guid(), text, on, case_id, code_id, segment_id, document_id, author_id, now, now))
        return int(cur.lastrowid)

    def add_memo(self, text: str, *, on: str = "project", target: Any = None, author: str, title: str = "") -> int:
        """Write a memo on the project, a case, a code, a segment, a document or a matrix cell.

        Parameters
        ----------
        text : str
        title : str, optional
            A short title (exported as the REFI-QDA note's name).
        on : {"project", "case", "code", "segment", "cell", "document"}
        target
            ``None`` (project), case name, code path, segment id, document name/id, or
            ``(case, code)`` for a cell.
        author : str

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_case("SU01", site="A")
        >>> proj.add_memo("Risk dominates this account.", on="cell", target=("SU01", "risk"), author="AB")
        1
        >>> proj.memos()[["on", "target", "author"]].values.tolist()
        [['cell', 'SU01 | risk', 'AB']]
        >>> proj.close()
        """
        if on not in MEMO_TARGETS:
            raise ValueError(f"on must be one of {', '.join(MEMO_TARGETS)}; got {on!r}.")
        ids: dict[str, Any] = {}
        if on == "project":
            if target is not None:
                raise ValueError("A project memo takes no target.")
        elif on == "case":
            ids["case_id"] = self._case_id(target)
        elif on == "code":
            ids["code_id"] = self._code_id(target)
        elif on == "document":
            ids["document_id"] = self._doc_id(target)
        elif on == "segment":
            if not self._q("SELECT 1 FROM segments WHERE segment_id = ?", (int(target),)):
                raise KeyError(f"No segment {target!r} in project {self.path.name}.")
            ids["segment_id"] = int(target)
        else:
            if not (isinstance(target, tuple) and len(target) == 2):
                raise ValueError("A cell memo needs target=(case, code).")
            ids["case_id"], ids["code_id"] = self._case_id(target[0]), self._code_id(target[1])
        with self._tx() as conn:
            memo_id = self._insert_memo(conn, text, on, author_id=self._uid(author), **ids)
            if title:
                conn.execute("UPDATE memos SET title = ? WHERE memo_id = ?", (str(title), memo_id))
            conn.execute("INSERT INTO coding_log(action, coder, at, detail) VALUES ('memo', ?, ?, ?)",
                         (author, utc_now(), f"memo {memo_id} on {on}"))
        return memo_id

    def memos(self, on: str | None = None) -> pd.DataFrame:
        """Memos: ``memo_id, on, target, case, code, segment_id, document, text, author, created_at, title,
        description`` (title and description as another program wrote them, ``""`` if none).

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_memo("First impressions: carers absent.", author="AB")
        >>> proj.memos()["text"].tolist()
        ['First impressions: carers absent.']
        >>> proj.close()
        """
        sql = ("SELECT m.memo_id, m.target_type, k.name, c.path, m.segment_id, d.name, m.text, u.name, m.created_at,"
               " m.title, m.description FROM memos m JOIN users u ON u.user_id = m.author_id LEFT JOIN cases k ON k.case_id = m.case_id"
               " LEFT JOIN codes c ON c.code_id = m.code_id LEFT JOIN documents d ON d.document_id = m.document_id")
        params: tuple = ()
        if on is not None:
            if on not in MEMO_TARGETS:
                raise ValueError(f"on must be one of {', '.join(MEMO_TARGETS)}; got {on!r}.")
            sql += " WHERE m.target_type = ?"
            params = (on,)
        rows = self._q(sql + " ORDER BY m.memo_id", params)
        out = []
        for memo_id, on_, case, code, seg, doc, text, author, at, title, description in rows:
            target = {"project": None, "case": case, "code": code, "document": doc,
                      "segment": None if seg is None else str(seg), "cell": f"{case} | {code}"}[on_]
            out.append((memo_id, on_, target, case, code, seg, doc, text, author, at, title, description))
        frame = pd.DataFrame(out, columns=["memo_id", "on", "target", "case", "code", "segment_id", "document", "text",
                                           "author", "created_at", "title", "description"])
        frame["segment_id"] = frame["segment_id"].astype("Int64")
        return frame
