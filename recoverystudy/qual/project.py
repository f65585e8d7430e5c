"""The :class:`Project`: one Framework Method workspace stored in one SQLite file.

>>> import recoverystudy as rs, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "study.rsqda"
>>> with rs.Project.create(path) as proj:
...     doc = proj.add_document("Interviewer: Do you have a copy?\\nSU01: Never had a copy of my care plan.",
...                             name="SU01", case="SU01")
...     seg = proj.code_quote("SU01", "Never had a copy of my care plan", "care_plan_document/copy_and_ownership",
...                           coder="AB")
...     proj.segments()[["case", "code", "text"]].values.tolist()
[['SU01', 'care_plan_document/copy_and_ownership', 'Never had a copy of my care plan']]
"""

from __future__ import annotations

import getpass
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recoverystudy.errors import CodebookError, DocumentReadError, DuplicateDocumentError, ProjectStoreError
from recoverystudy.qual import coding as _coding
from recoverystudy.qual.assist import AssistMixin
from recoverystudy.qual.exchange import ExchangeMixin
from recoverystudy.qual.framework import FrameworkMixin
from recoverystudy.qual.codebook_edit import CodebookEditMixin
from recoverystudy.qual.maintenance import MaintenanceMixin
from recoverystudy.qual.revise import RevisionMixin
from recoverystudy.qual.documents import DocumentText, document_from_text, read_document
from recoverystudy.qual.store import Store, new_guid, utc_now
from recoverystudy.qual.storefile import is_server_url
from recoverystudy.qual.text import speaker_role, speaker_turns

__all__ = ["Project"]

_DOC_COLUMNS = ["document_id", "name", "kind", "case", "sha256", "n_chars", "source_format", "encoding",
                "source_path", "guid", "created_at"]


def _attr_type(value: Any) -> str | None:
    import numpy as np

    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, str):
        return "text"
    raise TypeError(f"Attribute values must be text, numbers or true/false; got {type(value).__name__} ({value!r}).")


def _attr_text(value: Any, kind: str) -> str:
    if kind == "boolean":
        return "1" if bool(value) else "0"
    if kind == "integer":
        return str(int(value))
    if kind == "float":
        return repr(float(value))
    return str(value)


def _store_class(location: str | Path) -> type[Store]:
    """SQLite for a file; PostgreSQL for a ``postgresql://...?project=NAME`` URL (the ``server`` extra)."""
    if not is_server_url(location):
        return Store
    try:
        from recoverystudy.qual.pgstore import PgStore  # optional dependency: psycopg, in the "server" extra
    except ImportError as exc:
        raise ProjectStoreError(f"Projects on a PostgreSQL server need the psycopg package: "
                                f"pip install 'recoverystudy[server]' ({exc}).", file=None) from exc
    return PgStore


class Project(_coding.CodingMixin, AssistMixin, FrameworkMixin, MaintenanceMixin, CodebookEditMixin,
              RevisionMixin, ExchangeMixin):
    """A Framework Method project: documents, cases, codes, coded segments, memos and charts.

    Create one with :meth:`create` or open one with :meth:`open`; use it as a context manager or call
    :meth:`close`.  Every mutating method runs in one SQLite transaction.

    Attributes
    ----------
    path : pathlib.Path
        The project file.
    user : str
        The name recorded as creator of documents, cases and codes added through this object.
    """

    def __init__(self, store: Store, *, user: str | None = None) -> None:
        self._store = store
        self.path = store.path
        self.user = user or getpass.getuser() or "unknown"

    # -- opening and closing ----------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, *, codebook: str | Path | None = "care-planning-framework",
               user: str | None = None) -> Project:
        """Create a new project file, loading a codebook (``None`` for an empty framework).

        The file is built in a temporary file beside *path* and moved into place whole.  *path* may
        also be a ``postgresql://...?project=NAME`` URL (a new project on a PostgreSQL server).

        Raises
        ------
        ProjectStoreError
            The file already exists or its folder does not.
        CodebookError
            The codebook cannot be loaded.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> len(proj.codes())
        43
        >>> proj.close()
        """
        from recoverystudy.qual.codebook import load_codebook

        book = load_codebook(codebook) if codebook is not None else None
        build = None if book is None else (lambda building: cls(building, user=user)._load_codebook(book))
        return cls(_store_class(path).create(path, build=build), user=user)

    @classmethod
    def open(cls, path: str | Path, *, user: str | None = None, read_only: bool = False) -> Project:
        """Open an existing project file (verified before anything is read or written).

        *path* may also be a server project, ``postgresql://user@host/database?project=NAME``
        (needs the ``server`` extra; see the team-server guide).

        A file on read-only storage, or opened with ``read_only=True``, can be read but not
        changed: every change raises :class:`~recoverystudy.errors.ProjectStorageError` saying why.

        Raises
        ------
        ProjectStoreError
            No such file, not a project, a schema with objects recoverystudy did not create, or
            damaged (the full integrity check runs after an unclean shutdown).
        SchemaVersionError
            The file was written by a newer version of recoverystudy.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.rsqda"
        >>> Project.create(path, codebook=None).close()
        >>> with Project.open(path) as proj:
        ...     len(proj.documents())
        0
        """
        return cls(_store_class(path).open(path, read_only=read_only), user=user)

    def close(self) -> None:
        """Close the project file (safe to call twice); afterwards the file is complete on its own.

        Raises
        ------
        ProjectStorageError
            The write-ahead log could not be folded into the file (another program has it open,
            or the disk is full): keep the ``-wal`` file beside the project until it is closed cleanly.
        """
        self._store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._store.conn is None:
            return f"<Project {self.path} (closed)>"
        n_docs, n_segs = self._q("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM segments)")[0]
        return f"<Project {self.path}: {n_docs} documents, {n_segs} coded segments>"

    # -- internal helpers -------------------------------------------------------------------------
    @property
    def _conn(self):
        if self._store.conn is None:
            raise ProjectStoreError(f"The project {self.path} is closed.", file=str(self.path))
        return self._store.conn

    def _q(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    def _tx(self):
        self._conn  # raises if closed
        return self._store.transaction()

    def _uid(self, name: str | None = None) -> int:
        # an empty name is an error (store.user_id says so), never silently the logged-in user
        return self._store.user_id(self.user if name is None else name)

    def _doc_id(self, document: int | str) -> int:
        if isinstance(document, (int,)) and not isinstance(document, bool):
            row = self._q("SELECT document_id FROM documents WHERE document_id = ?", (int(document),))
        elif isinstance(document, str):
            row = self._q("SELECT document_id FROM documents WHERE name = ?", (document,))
        else:
            raise TypeError(f"document must be a document name or id; got {type(document).__name__}.")
        if not row:
            raise KeyError(f"No document {document!r} in project {self.path.name}.")
        return int(row[0][0])

    def _case_id(self, case: str, *, create: bool = False) -> int:
        if not isinstance(case, str) or not case.strip():
            raise ValueError(f"A case name must be non-empty text; got {case!r}.")
        row = self._q("SELECT case_id FROM cases WHERE name = ?", (case,))
        if row:
            return int(row[0][0])
        if not create:
            raise KeyError(f"No case {case!r} in project {self.path.name}.")
        now = utc_now()
        cur = self._conn.execute(
            "INSERT INTO cases(guid, name, creator_id, created_at, modified_at) VALUES (?, ?, ?, ?, ?)",
            (new_guid(), case, self._uid(), now, now),
        )
        return int(cur.lastrowid)

    def _code_id(self, code: str | int) -> int:
        if isinstance(code, int) and not isinstance(code, bool):
            row = self._q("SELECT code_id FROM codes WHERE code_id = ?", (code,))
        else:
            row = self._q("SELECT code_id FROM codes WHERE path = ?", (code,))
        if not row:
            raise KeyError(f"No code {code!r} in project {self.path.name}; see proj.codes() for the codes.")
        return int(row[0][0])

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

    # -- cases and attributes ----------------------------------------------------------------------
    def add_case(self, name: str, **attributes: Any) -> int:
        """Add a case (or return the existing one) and set its attributes.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> proj.add_case("SU01", site="Site A", country="England", age=34)
        1
        >>> proj.cases().to_dict("records")
        [{'case': 'SU01', 'age': 34, 'country': 'England', 'site': 'Site A'}]
        >>> proj.close()
        """
        with self._tx():
            case_id = self._case_id(name, create=True)
            self._set_attrs(case_id, name, attributes)
        return case_id

    def set_attributes(self, case: str, **attributes: Any) -> None:
        """Set (or overwrite) attributes of an existing case; ``None`` clears a value.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_case("SU01", site="Site A")
        >>> proj.set_attributes("SU01", site="Site B", role="service user")
        >>> proj.cases().loc[0, "site"]
        'Site B'
        >>> proj.close()
        """
        with self._tx():
            self._set_attrs(self._case_id(case), case, attributes)

    def _set_attrs(self, case_id: int, case: str, attributes: Mapping[str, Any]) -> None:
        now = utc_now()
        conn = self._conn
        for attr, value in attributes.items():
            kind = _attr_type(value)
            row = conn.execute("SELECT attribute_id, type FROM attributes WHERE name = ?", (attr,)).fetchone()
            if row is None:
                if kind is None:
                    continue
                cur = conn.execute(
                    "INSERT INTO attributes(guid, name, type, creator_id, created_at) VALUES (?, ?, ?, ?, ?)",
                    (new_guid(), attr, kind, self._uid(), now))
                attr_id, declared = int(cur.lastrowid), kind
            else:
                attr_id, declared = int(row[0]), row[1]
            if kind is None:
                conn.execute("DELETE FROM case_attributes WHERE case_id = ? AND attribute_id = ?", (case_id, attr_id))
                continue
            if kind != declared and not (declared == "float" and kind == "integer"):
                raise ValueError(
                    f"Case {case!r}, attribute {attr!r}: got {value!r} ({kind}); this attribute holds {declared} values."
                )
            conn.execute(
                "INSERT INTO case_attributes(case_id, attribute_id, value, modified_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(case_id, attribute_id) DO UPDATE SET value = excluded.value,"
                " modified_at = excluded.modified_at",
                (case_id, attr_id, _attr_text(value, declared), now))
        conn.execute("UPDATE cases SET modified_at = ? WHERE case_id = ?", (now, case_id))

    def import_cases(self, data: pd.DataFrame | str | Path, *, case_col: str = "case") -> list[int]:
        """Add or update many cases from a DataFrame (one row per case, other columns are attributes).

        *data* may also be the path of a CSV, Excel or SPSS file (read with
        :func:`recoverystudy.read_survey`).  Missing values leave an attribute unset.  All rows are
        written in one transaction.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> df = pd.DataFrame({"case": ["SU01", "SU02"], "site": ["A", "B"], "age": [30, None]})
        >>> proj.import_cases(df)
        [1, 2]
        >>> proj.cases()["age"].tolist()
        [30.0, nan]
        >>> proj.close()
        """
        if isinstance(data, (str, Path)):
            from recoverystudy.quant.surveys import read_survey

            data = read_survey(data)
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"import_cases needs a DataFrame or the path of a CSV/Excel/SPSS file; got "
                            f"{type(data).__name__}.")
        if case_col not in data.columns:
            raise KeyError(f"Column {case_col!r} not found; the frame has {list(data.columns)}.")
        if data[case_col].isna().any():
            raise ValueError(f"Column {case_col!r} has missing case names (rows {list(data.index[data[case_col].isna()])}).")
        if data[case_col].duplicated().any():
            raise ValueError(f"Column {case_col!r} repeats case(s) {sorted(set(data[case_col][data[case_col].duplicated()]))}.")
        attr_cols = [c for c in data.columns if c != case_col]
        ids = []
        with self._tx():
            for record in data.to_dict("records"):
                name = str(record[case_col])
                case_id = self._case_id(name, create=True)
                self._set_attrs(case_id, name, {c: record[c] for c in attr_cols})
                ids.append(case_id)
        return ids

    def cases(self) -> pd.DataFrame:
        """Cases with one column per attribute (typed: integer, float, boolean or text).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_case("SU01", site="A")
        >>> list(proj.cases().columns)
        ['case', 'site']
        >>> proj.close()
        """
        cases = self._q("SELECT case_id, name FROM cases ORDER BY case_id")
        attrs = self._q("SELECT attribute_id, name, type FROM attributes ORDER BY name")
        values = self._q("SELECT case_id, attribute_id, value FROM case_attributes")
        frame = pd.DataFrame({"case": pd.Series([c[1] for c in cases], dtype="str")})
        pos = {c[0]: i for i, c in enumerate(cases)}
        for attr_id, name, kind in attrs:
            col: list[Any] = [None] * len(cases)
            for case_id, a_id, value in values:
                if a_id == attr_id and value is not None:
                    col[pos[case_id]] = value
            series = pd.Series(col, dtype="object")
            if kind == "integer":
                series = pd.to_numeric(series).astype("Int64") if series.isna().any() else series.astype("int64")
            elif kind == "float":
                series = pd.to_numeric(series).astype("float64")
            elif kind == "boolean":
                series = series.map({"1": True, "0": False}).astype("boolean")
            else:
                series = series.astype("str")
            frame[name] = series
        return frame

    # -- codebook ----------------------------------------------------------------------------------
    def _load_codebook(self, book) -> None:
        now = utc_now()
        uid = self._uid()
        with self._tx() as conn:
            for t_order, theme in enumerate(book.themes):
                cur = conn.execute(
                    "INSERT INTO codes(guid, path, name, parent_id, definition, colour, sort_order, creator_id,"
                    " created_at, modified_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                    (new_guid(), theme.id, theme.name, theme.definition, theme.colour, t_order * 100, uid, now, now))
                parent = int(cur.lastrowid)
                conn.executemany(
                    "INSERT INTO codes(guid, path, name, parent_id, definition, inclusion, exclusion, example, colour,"
                    " rules_json, sort_order, creator_id, created_at, modified_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(new_guid(), c.path, c.name, parent, c.definition, c.inclusion, c.exclusion, c.example, c.colour,
                      json.dumps(c.rules), t_order * 100 + k + 1, uid, now, now) for k, c in enumerate(theme.codes)])
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('codebook', ?)",
                         (json.dumps({"id": book.id, "version": book.version, "file": book.file}),))

    def codes(self) -> pd.DataFrame:
        """The codes: ``code_id, path, theme, name, parent, definition, inclusion, exclusion, example,
        colour, guid, keywords, lemmas``.  Themes are codes without a parent (``path`` = theme id).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> proj.codes().set_index("path").loc["risk/risk_assessment", "theme"]
        'risk'
        >>> proj.close()
        """
        rows = self._q(
            "SELECT c.code_id, c.path, c.name, p.path, c.definition, c.inclusion, c.exclusion, c.example, c.colour,"
            " c.guid, c.rules_json FROM codes c LEFT JOIN codes p ON p.code_id = c.parent_id ORDER BY c.sort_order,"
            " c.code_id")
        out = []
        for cid, path, name, parent, definition, inc, exc, example, colour, guid, rules in rows:
            r = json.loads(rules)
            out.append((cid, path, path.split("/")[0], name, parent, definition, inc, exc, example, colour, guid,
                        tuple(r.get("keywords", ())), tuple(r.get("lemmas", ()))))
        frame = pd.DataFrame(out, columns=["code_id", "path", "theme", "name", "parent", "definition", "inclusion",
                                           "exclusion", "example", "colour", "guid", "keywords", "lemmas"])
        frame["code_id"] = frame["code_id"].astype("int64")
        self._remember_codes()  # the versions this reader saw, for optimistic concurrency (codebook_edit.py)
        return frame

    def add_code(self, path: str, *, name: str | None = None, definition: str = "", inclusion: str = "",
                 exclusion: str = "", example: str = "", colour: str | None = None,
                 keywords: Iterable[str] = (), lemmas: Iterable[str] = ()) -> int:
        """Add a code (``"theme/code"``; the theme must exist) or a new theme (``"theme"``).

        Codes added after :meth:`freeze_framework` belong to the next frozen version.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> proj.add_code("access", name="Access to services")
        1
        >>> proj.add_code("access/waiting", name="Waiting lists", keywords=["waiting list"])
        2
        >>> proj.close()
        """
        import re

        parts = path.split("/") if isinstance(path, str) else []
        if not parts or len(parts) > 2 or not all(re.fullmatch(r"[a-z][a-z0-9_]*", p) for p in parts):
            raise CodebookError(f"Code path {path!r} must be 'theme' or 'theme/code' in lower-case identifiers.",
                                file=None, code_path=path)
        if colour is not None and not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
            raise CodebookError(f"Code {path!r}: colour must be '#RRGGBB'; got {colour!r}.", file=None, code_path=path)
        if self._q("SELECT 1 FROM codes WHERE path = ?", (path,)):
            raise CodebookError(f"Code {path!r} already exists.", file=None, code_path=path)
        parent = None
        if len(parts) == 2:
            row = self._q("SELECT code_id, sort_order FROM codes WHERE path = ?", (parts[0],))
            if not row:
                raise CodebookError(f"Theme {parts[0]!r} does not exist; add it first with add_code({parts[0]!r}).",
                                    file=None, code_path=path)
            parent = int(row[0][0])
        now = utc_now()
        order = self._q("SELECT COALESCE(MAX(sort_order), 0) FROM codes")[0][0] + 1 if parent is None else \
            self._q("SELECT COALESCE(MAX(sort_order), 0) FROM codes WHERE parent_id = ? OR code_id = ?",
                    (parent, parent))[0][0] + 1
        rules = {"keywords": [" ".join(k.lower().split()) for k in keywords],
                 "lemmas": [" ".join(k.lower().split()) for k in lemmas]}
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO codes(guid, path, name, parent_id, definition, inclusion, exclusion, example, colour,"
                " rules_json, sort_order, creator_id, created_at, modified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_guid(), path, name or parts[-1].replace("_", " "), parent, definition, inclusion, exclusion,
                 example, colour, json.dumps(rules), order, self._uid(), now, now))
        return int(cur.lastrowid)

    def freeze_framework(self, note: str) -> int:
        """Snapshot the current codebook as the next framework version (Framework Method stage 4).

        Segments coded afterwards record this version.  Returns the version number (1, 2, ...).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> proj.freeze_framework("Agreed at team meeting after 3 transcripts")
        1
        >>> proj.framework_versions()[["version", "n_codes"]].values.tolist()
        [[1, 43]]
        >>> proj.close()
        """
        if not isinstance(note, str) or not note.strip():
            raise ValueError("freeze_framework needs a note saying what was agreed (non-empty text).")
        snapshot = self.codes().drop(columns=["code_id"]).to_dict("records")
        for rec in snapshot:
            rec["keywords"], rec["lemmas"] = list(rec["keywords"]), list(rec["lemmas"])
            rec["parent"] = rec["parent"] if isinstance(rec["parent"], str) else None
        with self._tx() as conn:
            version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM framework_versions").fetchone()[0]
            conn.execute(
                "INSERT INTO framework_versions(version, note, snapshot_json, creator_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)", (version, note.strip(), json.dumps(snapshot, default=str), self._uid(), utc_now()))
        return int(version)

    def framework_versions(self) -> pd.DataFrame:
        """Frozen framework versions: ``version, note, n_codes, created_by, created_at``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> len(proj.framework_versions())
        0
        >>> proj.close()
        """
        rows = self._q("SELECT f.version, f.note, f.snapshot_json, u.name, f.created_at FROM framework_versions f"
                       " JOIN users u ON u.user_id = f.creator_id ORDER BY f.version")
        frame = pd.DataFrame([(v, n, len(json.loads(s)), u, t) for v, n, s, u, t in rows],
                             columns=["version", "note", "n_codes", "created_by", "created_at"])
        frame["version"] = frame["version"].astype("int64")
        frame["n_codes"] = frame["n_codes"].astype("int64")
        return frame

    def framework_snapshot(self, version: int) -> pd.DataFrame:
        """The codebook as frozen in *version* (same columns as :meth:`codes` without ``code_id``).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> v = proj.freeze_framework("v1")
        >>> len(proj.framework_snapshot(v))
        43
        >>> proj.close()
        """
        row = self._q("SELECT snapshot_json FROM framework_versions WHERE version = ?", (int(version),))
        if not row:
            raise KeyError(f"No framework version {version} in project {self.path.name}.")
        return pd.DataFrame(json.loads(row[0][0]))

    def _current_version(self) -> int | None:
        return self._q("SELECT MAX(version) FROM framework_versions")[0][0]


    # -- delegated: inter-coder agreement -----------------------------------------------------------
    def agreement(self, coder_a: str | None = None, coder_b: str | None = None, *, unit: str = "character",
                  codes: Iterable[str] | None = None, coders: Iterable[str] | None = None,
                  documents: Iterable[str] | str | None = None):
        """Inter-coder agreement; see :func:`recoverystudy.qual.agreement.agreement`.

        By default only the documents every compared coder coded are compared (a double-coded subset);
        pass ``documents=[...]`` to name them, or ``documents="all"``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: I never had a copy.", name="d")
        >>> _ = proj.code("d", 6, 25, "care_plan_document/copy_and_ownership", coder="AB")
        >>> _ = proj.code("d", 6, 25, "care_plan_document/copy_and_ownership", coder="CD")
        >>> float(proj.agreement("AB", "CD").pooled["percent_agreement"])
        1.0
        >>> proj.close()
        """
        from recoverystudy.qual.agreement import agreement

        return agreement(self, coder_a, coder_b, unit=unit, codes=None if codes is None else list(codes),
                         coders=None if coders is None else list(coders),
                         documents=documents if documents is None or isinstance(documents, str) else list(documents))


# keep DocumentReadError importable from here for users who catch it after add_document
DocumentReadError = DocumentReadError
