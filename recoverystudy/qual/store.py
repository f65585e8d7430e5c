"""The SQLite project store: the one place where the schema lives.

A project is one SQLite file.  The schema is built by numbered migrations named by intent
(:data:`MIGRATIONS`); ``PRAGMA user_version`` records how many have run.  Connections always run with
``foreign_keys=ON``, ``journal_mode=WAL``, ``synchronous=FULL`` and ``trusted_schema=OFF``.  Every
mutating call of :class:`~recoverystudy.qual.project.Project` runs inside exactly one transaction
(:meth:`Store.transaction`), so a process killed mid-batch leaves every earlier committed call intact.

Every coding change is written to the append-only ``coding_log`` table (triggers refuse UPDATE and
DELETE on it), with the coder and the UTC time.

Offsets (``start``, ``end``) are Python code-point offsets into the document's normalised text.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from recoverystudy.errors import ProjectStoreError, SchemaVersionError

__all__ = ["Store", "MIGRATIONS", "SCHEMA_VERSION", "utc_now", "new_guid", "new_guids"]

_INITIAL_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    user_id    INTEGER PRIMARY KEY,
    guid       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE codes (
    code_id     INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    path        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES codes(code_id) ON DELETE RESTRICT,
    definition  TEXT NOT NULL DEFAULT '',
    inclusion   TEXT NOT NULL DEFAULT '',
    exclusion   TEXT NOT NULL DEFAULT '',
    example     TEXT NOT NULL DEFAULT '',
    colour      TEXT,
    rules_json  TEXT NOT NULL DEFAULT '{}',
    sort_order  INTEGER NOT NULL DEFAULT 0,
    creator_id  INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE TABLE framework_versions (
    version       INTEGER PRIMARY KEY,
    note          TEXT NOT NULL,
    snapshot_json TEXT NOT NULL,
    creator_id    INTEGER NOT NULL REFERENCES users(user_id),
    created_at    TEXT NOT NULL
);
CREATE TABLE cases (
    case_id     INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    creator_id  INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE TABLE attributes (
    attribute_id INTEGER PRIMARY KEY,
    guid         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL CHECK (type IN ('text', 'integer', 'float', 'boolean')),
    creator_id   INTEGER NOT NULL REFERENCES users(user_id),
    created_at   TEXT NOT NULL
);
CREATE TABLE case_attributes (
    case_id      INTEGER NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
    attribute_id INTEGER NOT NULL REFERENCES attributes(attribute_id) ON DELETE CASCADE,
    value        TEXT,
    modified_at  TEXT NOT NULL,
    PRIMARY KEY (case_id, attribute_id)
);
CREATE TABLE documents (
    document_id     INTEGER PRIMARY KEY,
    guid            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    case_id         INTEGER REFERENCES cases(case_id) ON DELETE SET NULL,
    text            TEXT NOT NULL,
    sha256          TEXT NOT NULL UNIQUE,
    n_chars         INTEGER NOT NULL,
    source_format   TEXT NOT NULL,
    encoding        TEXT,
    source_path     TEXT,
    attributes_json TEXT NOT NULL DEFAULT '{}',
    creator_id      INTEGER NOT NULL REFERENCES users(user_id),
    created_at      TEXT NOT NULL,
    modified_at     TEXT NOT NULL
);
CREATE INDEX documents_case ON documents(case_id);
CREATE TABLE turns (
    turn_id     INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(document_id) ON DELETE CASCADE,
    turn_index  INTEGER NOT NULL,
    speaker     TEXT NOT NULL,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    text_start  INTEGER NOT NULL,
    CHECK (0 <= start AND start <= text_start AND text_start <= end),
    UNIQUE (document_id, turn_index)
);
CREATE TABLE segments (
    segment_id        INTEGER PRIMARY KEY,
    guid              TEXT NOT NULL UNIQUE,
    document_id       INTEGER NOT NULL REFERENCES documents(document_id) ON DELETE RESTRICT,
    code_id           INTEGER NOT NULL REFERENCES codes(code_id) ON DELETE RESTRICT,
    coder_id          INTEGER NOT NULL REFERENCES users(user_id),
    start             INTEGER NOT NULL,
    end               INTEGER NOT NULL,
    framework_version INTEGER REFERENCES framework_versions(version),
    created_at        TEXT NOT NULL,
    CHECK (0 <= start AND start < end),
    UNIQUE (document_id, code_id, coder_id, start, end)
);
CREATE INDEX segments_code ON segments(code_id);
CREATE INDEX segments_document ON segments(document_id, start);
CREATE TABLE memos (
    memo_id     INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    text        TEXT NOT NULL,
    target_type TEXT NOT NULL CHECK (target_type IN ('project', 'case', 'code', 'segment', 'cell', 'document')),
    case_id     INTEGER REFERENCES cases(case_id) ON DELETE SET NULL,
    code_id     INTEGER REFERENCES codes(code_id) ON DELETE SET NULL,
    segment_id  INTEGER REFERENCES segments(segment_id) ON DELETE SET NULL,
    document_id INTEGER REFERENCES documents(document_id) ON DELETE SET NULL,
    author_id   INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE TABLE suggestions (
    suggestion_id INTEGER PRIMARY KEY,
    document_id   INTEGER NOT NULL REFERENCES documents(document_id) ON DELETE CASCADE,
    code_id       INTEGER NOT NULL REFERENCES codes(code_id) ON DELETE CASCADE,
    start         INTEGER NOT NULL,
    end           INTEGER NOT NULL,
    rule          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by    INTEGER REFERENCES users(user_id),
    decided_at    TEXT,
    segment_id    INTEGER REFERENCES segments(segment_id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    CHECK (0 <= start AND start < end),
    UNIQUE (document_id, code_id, start, end)
);
CREATE TABLE charts (
    chart_id    INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    case_id     INTEGER NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
    code_id     INTEGER NOT NULL REFERENCES codes(code_id) ON DELETE CASCADE,
    summary     TEXT NOT NULL,
    author_id   INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    UNIQUE (case_id, code_id)
);
CREATE TABLE chart_segments (
    chart_id   INTEGER NOT NULL REFERENCES charts(chart_id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL REFERENCES segments(segment_id) ON DELETE CASCADE,
    PRIMARY KEY (chart_id, segment_id)
);
CREATE TABLE coding_log (
    log_id      INTEGER PRIMARY KEY,
    action      TEXT NOT NULL CHECK (action IN ('code', 'uncode', 'accept', 'reject', 'chart', 'memo')),
    segment_id  INTEGER,
    document_id INTEGER,
    code_path   TEXT,
    start       INTEGER,
    end         INTEGER,
    coder       TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT
);
CREATE TRIGGER coding_log_no_update BEFORE UPDATE ON coding_log
BEGIN SELECT RAISE(ABORT, 'coding_log is append-only'); END;
CREATE TRIGGER coding_log_no_delete BEFORE DELETE ON coding_log
BEGIN SELECT RAISE(ABORT, 'coding_log is append-only'); END;
"""

# Tables that point at a segment are searched by segment_id whenever a segment is removed (the
# foreign-key actions ON DELETE CASCADE / SET NULL, and uncode's own UPDATE of suggestions).  Without
# these indexes each removal scanned the whole of suggestions, memos and chart_segments.
_INDEX_SEGMENT_REFERENCES = """
CREATE INDEX IF NOT EXISTS suggestions_segment ON suggestions(segment_id);
CREATE INDEX IF NOT EXISTS memos_segment ON memos(segment_id);
CREATE INDEX IF NOT EXISTS chart_segments_segment ON chart_segments(segment_id);
"""

# What REFI-QDA files carry and the method needs recorded: selection labels, note titles and descriptions,
# sets of documents and codes (groups), speaker roles of turns, the reason a suggestion was rejected, and
# whether a chart summary was written by a person or generated automatically.
_KEEP_EXCHANGE_AND_REVIEW = """
ALTER TABLE segments ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE memos ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE memos ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE turns ADD COLUMN role TEXT NOT NULL DEFAULT 'participant';
ALTER TABLE suggestions ADD COLUMN reason TEXT;
ALTER TABLE charts ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
CREATE TABLE groups (
    group_id    INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    creator_id  INTEGER NOT NULL REFERENCES users(user_id),
    created_at  TEXT NOT NULL
);
CREATE TABLE group_members (
    group_id    INTEGER NOT NULL REFERENCES groups(group_id) ON DELETE CASCADE,
    document_id INTEGER REFERENCES documents(document_id) ON DELETE CASCADE,
    code_id     INTEGER REFERENCES codes(code_id) ON DELETE CASCADE,
    CHECK ((document_id IS NULL) <> (code_id IS NULL)),
    UNIQUE (group_id, document_id, code_id)
);
CREATE INDEX group_members_group ON group_members(group_id);
UPDATE turns SET role = 'interviewer' WHERE lower(speaker) IN ('interviewer', 'int', 'i', 'researcher',
    'moderator', 'facilitator', 'fac', 'q') OR lower(speaker) LIKE 'interviewer %' OR lower(speaker) LIKE 'int %'
    OR lower(speaker) LIKE 'researcher %' OR lower(speaker) LIKE 'moderator %' OR lower(speaker) LIKE 'facilitator %'
    OR lower(speaker) LIKE 'fac %';
"""

#: Numbered migrations ``(version, intent, sql)``; ``PRAGMA user_version`` = last version applied.
#: Never edit a released migration: append a new one (files are upgraded on open, after a backup).
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "initial_schema", _INITIAL_SCHEMA),
    (2, "index_segment_references", _INDEX_SEGMENT_REFERENCES),
    (3, "keep_exchange_and_review", _KEEP_EXCHANGE_AND_REVIEW),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def utc_now() -> str:
    """Current UTC time as ISO 8601 with microseconds and a ``Z`` suffix.

    >>> utc_now().endswith("Z")
    True
    """
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_guid() -> str:
    """A new random (version 4) GUID, upper-case as REFI-QDA writes them.

    >>> len(new_guid())
    36
    """
    return str(uuid.uuid4()).upper()


_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_GUID_GROUPS = ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20))  # (from, to, first digit)


def new_guids(n: int) -> list[str]:
    """*n* new random (version 4) GUIDs at once, upper-case, in ascending order.

    The same GUIDs as :func:`new_guid` (122 random bits from :func:`os.urandom`, version and variant
    bits as in RFC 4122), made with numpy rather than one :class:`uuid.UUID` at a time.  They are
    returned sorted so that a bulk insert adds them to the ``guid`` index in key order (sequential
    pages rather than one random page per row).

    >>> g = new_guids(3)
    >>> len(g), g == sorted(g), all(len(x) == 36 and x[14] == "4" and x[19] in "89AB" for x in g)
    (3, True, True)
    """
    if n <= 0:
        return []
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    raw = np.sort(raw.view("S16").ravel()).view(np.uint8).reshape(n, 16)  # bytewise = hex-string order
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    digits = _HEX[nibbles]
    for a, b, k in _GUID_GROUPS:
        out[:, a:b] = digits[:, k:k + b - a]
    text = out.tobytes().decode("ascii")
    return [text[i:i + 36] for i in range(0, 36 * n, 36)]


class Store:
    """A connection to one project file with the house pragmas and one-transaction-per-call helper.

    Use :meth:`create` or :meth:`open`; :class:`~recoverystudy.qual.project.Project` does this for you.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.rsqda"
    >>> store = Store.create(path)
    >>> store.schema_version() == SCHEMA_VERSION
    True
    >>> store.close()
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._depth = 0

    # -- opening ---------------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA trusted_schema = OFF")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise ProjectStoreError(
                f"{path} is not a recoverystudy project (SQLite said: {exc}).", file=str(path)
            ) from exc
        if str(mode).lower() != "wal":
            conn.close()
            raise ProjectStoreError(f"Could not switch {path} to WAL journalling (got {mode!r}).", file=str(path))
        return conn

    @classmethod
    def create(cls, path: str | Path) -> Store:
        """Create a new, empty project file (refuses to overwrite an existing file)."""
        path = Path(path)
        if path.exists():
            raise ProjectStoreError(
                f"{path} already exists; open it with Project.open() or choose a new file name.", file=str(path)
            )
        if not path.parent.is_dir():
            raise ProjectStoreError(f"The folder {path.parent} does not exist.", file=str(path))
        store = cls(cls._connect(path), path)
        store._migrate(from_version=0)
        with store.transaction():
            now = utc_now()
            store.conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [("project_guid", new_guid()), ("created_at", now), ("application", "recoverystudy")],
            )
        return store

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open an existing project file, migrating it forward (after a backup) if it is older."""
        path = Path(path)
        if not path.is_file():
            raise ProjectStoreError(f"No project file at {path}.", file=str(path))
        conn = cls._connect(path)
        store = cls(conn, path)
        try:
            version = store.schema_version()
            if version == 0 or conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone() is None:
                raise ProjectStoreError(f"{path} is an SQLite file but not a recoverystudy project.", file=str(path))
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{path} was written by a newer version of recoverystudy (schema {version}; this version "
                    f"understands up to {SCHEMA_VERSION}). Upgrade recoverystudy to open it.",
                    file=str(path), version=version, supported=SCHEMA_VERSION,
                )
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise ProjectStoreError(f"{path} is damaged (SQLite quick_check: {check}).", file=str(path))
            if version < SCHEMA_VERSION:
                backup = path.with_name(path.name + f".v{version}.bak")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                shutil.copy2(path, backup)
                store._migrate(from_version=version)
        except BaseException:
            conn.close()
            raise
        return store

    def _migrate(self, *, from_version: int) -> None:
        for version, _intent, sql in MIGRATIONS:
            if version <= from_version:
                continue
            # executescript commits implicitly, so wrap the whole script in its own BEGIN/COMMIT.
            self.conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")

    def schema_version(self) -> int:
        """The value of ``PRAGMA user_version`` (number of migrations applied)."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- transactions ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one ``BEGIN IMMEDIATE`` ... ``COMMIT`` (nested blocks join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        """Run a read-only query and return all rows."""
        return self.conn.execute(sql, params).fetchall()

    # -- users -----------------------------------------------------------------------------------
    def user_id(self, name: str) -> int:
        """Return the id of user *name*, creating the user (with a GUID) on first use."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"A coder/author name must be a non-empty string; got {name!r}.")
        name = name.strip()
        row = self.conn.execute("SELECT user_id FROM users WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row[0])
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO users(guid, name, created_at) VALUES (?, ?, ?)", (new_guid(), name, utc_now())
            )
            return int(cur.lastrowid)

    def integrity_problems(self) -> list[str]:
        """Results of ``integrity_check`` and ``foreign_key_check`` (empty list when healthy)."""
        problems = [r[0] for r in self.conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in self.conn.execute("PRAGMA foreign_key_check")]
        return problems

    def close(self) -> None:
        """Checkpoint the write-ahead log and close the connection."""
        if self.conn is None:
            return
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self.conn.close()
        self.conn = None  # type: ignore[assignment]
