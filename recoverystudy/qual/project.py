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
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from recoverystudy.errors import CodebookError, DocumentReadError, ProjectStoreError
from recoverystudy.qual import coding as _coding
from recoverystudy.qual.assist import AssistMixin
from recoverystudy.qual.exchange import ExchangeMixin
from recoverystudy.qual.framework import FrameworkMixin
from recoverystudy.qual.codebook_edit import CodebookEditMixin
from recoverystudy.qual.maintenance import MaintenanceMixin
from recoverystudy.qual.project_cases import CasesMixin
from recoverystudy.qual.project_documents import DocumentsMixin
from recoverystudy.qual.revise import RevisionMixin
from recoverystudy.qual.store import Store, new_guid, utc_now
from recoverystudy.qual.storefile import is_server_url

__all__ = ["Project"]


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


class Project(DocumentsMixin, CasesMixin, _coding.CodingMixin, AssistMixin, FrameworkMixin, MaintenanceMixin,
              CodebookEditMixin, RevisionMixin, ExchangeMixin):
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
