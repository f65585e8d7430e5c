"""Documents and speaker turns as methods of :class:`~recoverystudy.qual.project.Project`.

``add_document``, ``add_documents``, ``documents``, ``document_text``, ``turns`` and ``set_speaker_role``:
a transcript or care plan enters the project here, is split into speaker turns, and is read back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recoverystudy.errors import DuplicateDocumentError, ProjectStoreError
from recoverystudy.qual.documents import DocumentText, document_from_text, read_document
from recoverystudy.qual.store import new_guid, utc_now
from recoverystudy.qual.text import speaker_role, speaker_turns

__all__ = ["DocumentsMixin"]

_DOC_COLUMNS = ["document_id", "name", "kind", "case", "sha256", "n_chars", "source_format", "encoding",
                "source_path", "guid", "created_at"]


class DocumentsMixin:
    """Document and speaker-turn methods of :class:`~recoverystudy.qual.project.Project`."""

    # -- documents ---------------------------------------------------------------------------------
    def add_document(self, path_or_text: str | Path | DocumentText, *, name: str, case: str | None = None,
                     kind: str = "interview", attributes: Mapping[str, Any] | None = None,
                     on_duplicate: str = "error") -> int:
        """Add a transcript or care plan and parse its speaker turns.

        Parameters
        ----------
        path_or_text : pathlib.Path, str or DocumentText
            A :class:`pathlib.Path` (or a string naming an existing ``.txt/.md/.docx/.odt/.rtf/.pdf``
            file) is read with :func:`~recoverystudy.qual.documents.read_document`; any other string
            is the text itself.
        name : str
            Unique document name.
        case : str, optional
            The case (interviewee, care plan owner ...) the document belongs to; created if new.
        kind : str, default="interview"
            Free label such as ``"interview"``, ``"care_plan"``, ``"focus_group"``.
        attributes : mapping, optional
            Extra document attributes (JSON-serialisable values).
        on_duplicate : {"error", "skip"}
            What to do when the same text (same SHA-256) is already in the project: raise
            :class:`DuplicateDocumentError`, or return the existing document's id.

        Returns
        -------
        int
            The document id.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> proj.add_document("Interviewer: Hi\\nCC: Hello", name="CC01", case="CC01", kind="interview")
        1
        >>> proj.turns()[["speaker", "text"]].values.tolist()
        [['Interviewer', 'Hi'], ['CC', 'Hello']]
        >>> proj.close()
        """
        if on_duplicate not in ("error", "skip"):
            raise ValueError(f"on_duplicate must be 'error' or 'skip'; got {on_duplicate!r}.")
        doc = self._as_document(path_or_text)
        ids = self._insert_documents([(doc, name, case, kind, dict(attributes or {}))], on_duplicate=on_duplicate)
        return ids[0]

    @staticmethod
    def _as_document(source: str | Path | DocumentText) -> DocumentText:
        if isinstance(source, DocumentText):
            return source
        if isinstance(source, Path):
            return read_document(source)
        if isinstance(source, str):
            # one line ending in a file extension is a path, not a one-line transcript: a missing or
            # unsupported file is an error, never stored as the document's text
            one_line = "\n" not in source and len(source) < 1024
            suffix = Path(source).suffix.lower() if one_line else ""
            known = suffix in (".txt", ".md", ".docx", ".odt", ".rtf", ".pdf")
            if one_line and re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) and (known or "/" in source or "\\" in source):
                return read_document(source)
            return document_from_text(source)
        raise TypeError(f"path_or_text must be a path or text; got {type(source).__name__}.")

    def _insert_documents(self, items: list[tuple[DocumentText, str, str | None, str, dict]], *,
                          on_duplicate: str) -> list[int]:
        now = utc_now()
        uid = self._uid()
        ids: list[int] = []
        with self._tx() as conn:
            existing = {}
            hashes = [d.sha256 for d, *_ in items]
            for i in range(0, len(hashes), 900):
                chunk = hashes[i:i + 900]
                existing.update(dict(conn.execute(
                    f"SELECT sha256, document_id FROM documents WHERE sha256 IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()))
            names = [n for _, n, *_ in items]
            if len(set(names)) != len(names):
                dup = pd.Series(names)[pd.Series(names).duplicated()].iloc[0]
                raise ProjectStoreError(f"The document name {dup!r} is given twice.", document=dup)
            rows, turn_rows, new_idx = [], [], []
            seen: dict[str, int] = {}
            for doc, name, case, kind, attrs in items:
                if not isinstance(name, str) or not name.strip():
                    raise ValueError(f"A document name must be non-empty text; got {name!r}.")
                prior = existing.get(doc.sha256)
                if prior is None and doc.sha256 in seen:
                    prior = -1
                if prior is not None:
                    if on_duplicate == "skip":
                        ids.append(int(prior) if prior != -1 else -2 - seen[doc.sha256])
                        continue
                    other = conn.execute("SELECT name FROM documents WHERE document_id = ?", (prior,)).fetchone()
                    raise DuplicateDocumentError(
                        f"Document {name!r} has the same text (SHA-256 {doc.sha256[:12]}…) as document "
                        f"{other[0] if other else 'in this batch'!r}; pass on_duplicate='skip' to keep the existing one.",
                        document=name, sha256=doc.sha256, existing=other[0] if other else None,
                    )
                if conn.execute("SELECT 1 FROM documents WHERE name = ?", (name,)).fetchone():
                    raise ProjectStoreError(f"A document called {name!r} already exists; choose another name.",
                                            document=name)
                case_id = self._case_id(case, create=True) if case is not None else None
                rows.append((new_guid(), name, kind, case_id, doc.text, doc.sha256, len(doc.text), doc.source_format,
                             doc.encoding, doc.path, json.dumps(attrs, sort_keys=True, default=str), uid, now, now))
                seen[doc.sha256] = len(ids)
                new_idx.append(len(ids))
                ids.append(-1)
            if rows:
                first = conn.execute("SELECT COALESCE(MAX(document_id), 0) FROM documents").fetchone()[0] + 1
                conn.executemany(
                    "INSERT INTO documents(guid, name, kind, case_id, text, sha256, n_chars, source_format, encoding,"
                    " source_path, attributes_json, creator_id, created_at, modified_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                new_ids = [first + k for k in range(len(rows))]
                check = conn.execute("SELECT COUNT(*) FROM documents WHERE document_id >= ?", (first,)).fetchone()[0]
                if check != len(rows):  # pragma: no cover - defensive: ids must be contiguous in one transaction
                    raise ProjectStoreError("Internal error: document ids are not contiguous.")
                for k, pos in enumerate(new_idx):
                    ids[pos] = new_ids[k]
                ids = [ids[-2 - i] if i <= -2 else i for i in ids]  # in-batch duplicates point to the first copy
                for doc_id, row in zip(new_ids, rows):
                    for t, (speaker, start, text_start, end) in enumerate(speaker_turns(row[4])):
                        turn_rows.append((doc_id, t, speaker, start, end, text_start, speaker_role(speaker)))
                conn.executemany(
                    "INSERT INTO turns(document_id, turn_index, speaker, start, end, text_start, role)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", turn_rows)
        return ids

    def add_documents(self, documents: pd.DataFrame, *, text_col: str = "text", name_col: str = "name",
                      case_col: str | None = "case", kind_col: str | None = "kind",
                      on_duplicate: str = "error") -> list[int]:
        """Add many documents from a DataFrame in one transaction (the fast path for large imports).

        Parameters
        ----------
        documents : pandas.DataFrame
            One row per document, with the text (or a :class:`pathlib.Path`) in *text_col*, the
            name in *name_col* and optionally the case and kind.
        on_duplicate : {"error", "skip"}
            As in :meth:`add_document`; on error nothing is added.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> frame = pd.DataFrame({"name": ["a", "b"], "text": ["SU01: one", "SU02: two"], "case": ["SU01", "SU02"]})
        >>> proj.add_documents(frame)
        [1, 2]
        >>> proj.close()
        """
        if on_duplicate not in ("error", "skip"):
            raise ValueError(f"on_duplicate must be 'error' or 'skip'; got {on_duplicate!r}.")
        for col in [text_col, name_col] + [c for c in (case_col, kind_col) if c and c in documents.columns]:
            if col not in documents.columns:
                raise KeyError(f"Column {col!r} not found; the frame has {list(documents.columns)}.")
        cases = documents[case_col] if case_col and case_col in documents.columns else [None] * len(documents)
        kinds = documents[kind_col] if kind_col and kind_col in documents.columns else ["interview"] * len(documents)
        items = []
        for src, name, case, kind in zip(documents[text_col], documents[name_col], cases, kinds):
            case = None if case is None or (isinstance(case, float) and math.isnan(case)) else str(case)
            items.append((self._as_document(src), str(name), case, str(kind), {}))
        return self._insert_documents(items, on_duplicate=on_duplicate)

    def documents(self, kind: str | None = None) -> pd.DataFrame:
        """The documents in the project (no text; use :meth:`document_text`).

        Returns
        -------
        pandas.DataFrame
            Columns ``document_id, name, kind, case, sha256, n_chars, source_format, encoding,
            source_path, guid, created_at`` plus one column per document attribute.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_document("CC: plan", name="CC01", kind="interview")
        >>> proj.documents()[["name", "kind", "n_chars"]].values.tolist()
        [['CC01', 'interview', 8]]
        >>> proj.close()
        """
        sql = ("SELECT d.document_id, d.name, d.kind, c.name, d.sha256, d.n_chars, d.source_format, d.encoding,"
               " d.source_path, d.guid, d.created_at, d.attributes_json FROM documents d"
               " LEFT JOIN cases c ON c.case_id = d.case_id")
        params: tuple = ()
        if kind is not None:
            sql += " WHERE d.kind = ?"
            params = (kind,)
        rows = self._q(sql + " ORDER BY d.document_id", params)
        frame = pd.DataFrame([r[:-1] for r in rows], columns=_DOC_COLUMNS)
        frame["document_id"] = frame["document_id"].astype("int64")
        frame["n_chars"] = frame["n_chars"].astype("int64")
        attrs = [json.loads(r[-1]) for r in rows]
        if any(attrs):
            extra = pd.DataFrame(attrs, index=frame.index)
            extra = extra[[c for c in extra.columns if c not in frame.columns]]
            frame = pd.concat([frame, extra], axis=1)
        return frame

    def document_text(self, document: int | str) -> str:
        """The normalised text of a document (offsets in segments index into this string).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_document("a\\r\\nb", name="d")
        >>> proj.document_text("d")
        'a\\nb'
        >>> proj.close()
        """
        return self._q("SELECT text FROM documents WHERE document_id = ?", (self._doc_id(document),))[0][0]

    def turns(self, document: int | str | None = None) -> pd.DataFrame:
        """Speaker turns: ``document, turn, speaker, role, start, end, text_start, text``.

        ``start`` is where the speaker label begins; ``text`` is the spoken text (from ``text_start``).
        ``role`` is ``"interviewer"`` (interviewer, researcher, moderator or facilitator: never suggested or
        bulk-coded by default) or ``"participant"``; change it with :meth:`set_speaker_role`.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_document("[Interviewer] Hi\\nCarer 2: Hello", name="d")
        >>> proj.turns()[["speaker", "start", "text_start", "end"]].values.tolist()
        [['Interviewer', 0, 14, 16], ['Carer 2', 17, 26, 31]]
        >>> proj.close()
        """
        sql = ("SELECT d.name, t.turn_index, t.speaker, t.role, t.start, t.end, t.text_start,"
               " substr(d.text, t.text_start + 1, t.end - t.text_start)"
               " FROM turns t JOIN documents d ON d.document_id = t.document_id")
        params: tuple = ()
        if document is not None:
            sql += " WHERE t.document_id = ?"
            params = (self._doc_id(document),)
        rows = self._q(sql + " ORDER BY t.document_id, t.turn_index", params)
        frame = pd.DataFrame(rows, columns=["document", "turn", "speaker", "role", "start", "end", "text_start",
                                            "text"])
        for col in ("turn", "start", "end", "text_start"):
            frame[col] = frame[col].astype("int64")
        return frame

    def set_speaker_role(self, speaker: str, role: str) -> int:
        """Set the role of every turn spoken by *speaker* (``"interviewer"`` or ``"participant"``).

        Turns are given a role from their label when documents are added (``Interviewer``, ``Researcher``,
        ``Moderator``, ``Facilitator`` ... are interviewers); use this when a label is not recognised.
        Returns the number of turns changed.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_document("AB: How are you?\\nSU01: Fine.", name="d")
        >>> proj.set_speaker_role("AB", "interviewer")
        1
        >>> proj.turns()["role"].tolist()
        ['interviewer', 'participant']
        >>> proj.close()
        """
        if role not in ("interviewer", "participant"):
            raise ValueError(f"role must be 'interviewer' or 'participant'; got {role!r}.")
        if not self._q("SELECT 1 FROM turns WHERE speaker = ? LIMIT 1", (speaker,)):
            raise KeyError(f"No turns by speaker {speaker!r} in project {self.path.name}; see proj.turns().")
        with self._tx() as conn:
            return conn.execute("UPDATE turns SET role = ? WHERE speaker = ? AND role <> ?",
                                (role, speaker, role)).rowcount
