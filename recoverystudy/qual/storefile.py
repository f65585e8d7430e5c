"""Safety of the SQLite project file: verification before use, named storage errors, atomic creation.

Used by :mod:`recoverystudy.qual.store`; nothing here knows about documents or codes.

* :func:`verify_file` checks a file *read-only* (the SQLite header, ``application_id``,
  ``user_version`` and every schema object against the schema that the library's own migrations
  create) before anything opens it for writing, so a file that is not a project -- or a project
  carrying somebody else's trigger, view or virtual table -- is refused unchanged.
* :class:`StoreConnection` wraps :class:`sqlite3.Connection` so that a full disk, read-only storage,
  an I/O error or a lock held too long raise :class:`~recoverystudy.errors.ProjectStorageError`
  naming the file instead of a bare :class:`sqlite3.OperationalError`.
* :func:`temporary_sibling` and :func:`place` let :meth:`Store.create` build a project in a hidden
  temporary file beside the target and move it into place in one step (never over an existing file).
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from pathlib import Path

from recoverystudy.errors import ProjectStorageError, ProjectStoreError, SchemaVersionError

__all__ = ["APPLICATION_ID", "StoreConnection", "storage_error", "verify_file", "expected_schema",
           "temporary_sibling", "place", "wal_pending", "remove_stale_temporaries", "schema_problems",
           "is_server_url"]

#: ``PRAGMA application_id`` of a recoverystudy project: the bytes ``RSQD``.
APPLICATION_ID = 0x52535144
_MAGIC = b"SQLite format 3\x00"
_TEMP_SUFFIX = ".creating"

_STORAGE_PATTERNS = (
    ("full", re.compile(r"disk is full|database or disk is full|no space", re.I),
     "the disk (or the storage quota) holding it is full; free some space and try again -- nothing was "
     "half-written, the change was rolled back"),
    ("read-only", re.compile(r"readonly|read-only|read only", re.I),
     "it is on read-only storage or was opened read-only; copy it to a folder you can write to"),
    ("locked", re.compile(r"database is locked|database table is locked", re.I),
     "another program has been writing to it for more than 30 seconds; close the other program and retry"),
    ("io", re.compile(r"disk I/O error|unable to open|cannot open", re.I),
     "the storage reported an input/output error (a removed drive, a network share that went away, or a "
     "failing disk); copy the file somewhere safe before retrying"),
)


def storage_error(exc: sqlite3.Error, path: Path | str) -> ProjectStorageError | None:
    """A :class:`ProjectStorageError` naming *path* for a storage failure, or ``None`` for other errors.

    >>> err = storage_error(sqlite3.OperationalError("database or disk is full"), "study.rsqda")
    >>> err.reason, "study.rsqda" in str(err)
    ('full', True)
    >>> storage_error(sqlite3.IntegrityError("UNIQUE constraint failed"), "study.rsqda") is None
    True
    """
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    text = str(exc)
    for reason, pattern, advice in _STORAGE_PATTERNS:
        if pattern.search(text):
            return ProjectStorageError(f"Could not write the project file {path}: {advice} (SQLite said: {text}).",
                                       file=str(path), reason=reason)
    return None


class StoreConnection:
    """An :class:`sqlite3.Connection` whose storage failures name the project file.

    ``execute``, ``executemany`` and ``executescript`` behave as on the wrapped connection (and
    return its cursors), except that a full disk, read-only storage, an I/O error or a long lock
    raise :class:`~recoverystudy.errors.ProjectStorageError`; constraint errors
    (:class:`sqlite3.IntegrityError`) pass through unchanged.  Every other attribute is the
    wrapped connection's.

    >>> conn = StoreConnection(sqlite3.connect(":memory:"), "mem.rsqda")
    >>> conn.execute("SELECT 1 + 1").fetchone()
    (2,)
    >>> conn.close()
    """

    __slots__ = ("raw", "path")

    def __init__(self, raw: sqlite3.Connection, path: Path | str) -> None:
        self.raw = raw
        self.path = path

    def _fail(self, exc: sqlite3.Error) -> None:
        err = storage_error(exc, self.path)
        if err is not None:
            raise err from exc

    def execute(self, sql: str, params=()) -> sqlite3.Cursor:
        try:
            return self.raw.execute(sql, params)
        except sqlite3.OperationalError as exc:
            self._fail(exc)
            raise

    def executemany(self, sql: str, rows) -> sqlite3.Cursor:
        try:
            return self.raw.executemany(sql, rows)
        except sqlite3.OperationalError as exc:
            self._fail(exc)
            raise

    def executescript(self, sql: str) -> sqlite3.Cursor:
        try:
            return self.raw.executescript(sql)
        except sqlite3.OperationalError as exc:
            self._fail(exc)
            raise

    def __getattr__(self, name: str):
        return getattr(self.raw, name)


def is_server_url(location) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL: a project on a database server.

    >>> is_server_url("postgresql://rs@localhost/db?project=cocapp"), is_server_url("study.rsqda")
    (True, False)
    """
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


# -- verification (read-only) -------------------------------------------------------------------
def _normalise(sql: str | None) -> str | None:
    return None if sql is None else " ".join(sql.split())


@functools.lru_cache(maxsize=16)
def expected_schema(migrations: tuple, version: int) -> frozenset:
    """The schema objects ``(type, name, table, sql)`` that migrations 1..*version* create.

    Built once per process by running the migrations on an in-memory database, so that the check
    can never drift from what :meth:`Store.create` writes.
    """
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for v, _intent, sql in migrations:
            if v <= version:
                conn.executescript(sql)
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return frozenset((t, n, tb, _normalise(s)) for t, n, tb, s in rows)


def wal_pending(path: Path) -> bool:
    """True when a non-empty ``-wal`` file sits beside *path* (changes not yet checkpointed)."""
    wal = Path(str(path) + "-wal")
    try:
        return wal.stat().st_size > 0
    except FileNotFoundError:
        return False


def _header(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(100)
    except IsADirectoryError:
        raise ProjectStoreError(f"{path} is a folder, not a project file.", file=str(path)) from None
    except OSError as exc:
        raise ProjectStoreError(f"Could not read {path}: {exc.strerror or exc}.", file=str(path)) from exc


def verify_file(path: Path, migrations: tuple, supported: int) -> int:
    """Check *path* read-only and return its schema version; raise a named error when it is not a project.

    The file is never written: a file without a ``-wal`` beside it is read with SQLite's
    ``immutable`` flag (no ``-shm``/``-wal`` is created either); one with a ``-wal`` is read with
    ``mode=ro``.
    """
    head = _header(path)
    not_project = f"{path} is not a recoverystudy project"
    if len(head) < 100 or not head.startswith(_MAGIC):
        raise ProjectStoreError(f"{not_project} (it is not an SQLite database).", file=str(path))
    app_id = int.from_bytes(head[68:72], "big")
    if app_id not in (0, APPLICATION_ID):
        raise ProjectStoreError(f"{not_project}: it belongs to another program (SQLite application_id "
                                f"{app_id:#x}). It was not changed.", file=str(path))
    mode = "mode=ro" if Path(str(path) + "-wal").exists() else "immutable=1"
    uri = f"{path.resolve().as_uri()}?{mode}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise ProjectStoreError(f"Could not read {path} to check it (SQLite said: {exc}).", file=str(path)) from exc
    try:
        conn.execute("PRAGMA trusted_schema = OFF")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        found = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ProjectStoreError(f"{not_project} or it is damaged (SQLite said: {exc}). It was not changed.",
                                file=str(path)) from exc
    finally:
        conn.close()
    schema_problems(path, found, version, migrations, supported)
    return version


def schema_problems(path: Path, found, version: int, migrations: tuple, supported: int) -> None:
    """Raise a named error unless *found* (rows of ``sqlite_master``) is exactly the library's schema *version*."""
    found = frozenset((t, n, tb, _normalise(s)) for t, n, tb, s in found)
    if version == 0 or not any(o[0] == "table" and o[1] == "meta" for o in found):
        raise ProjectStoreError(f"{path} is an SQLite file but not a recoverystudy project. It was not changed.",
                                file=str(path))
    if version > supported:
        raise SchemaVersionError(
            f"{path} was written by a newer version of recoverystudy (schema {version}; this version "
            f"understands up to {supported}). Upgrade recoverystudy to open it.",
            file=str(path), version=version, supported=supported,
        )
    expected = expected_schema(migrations, version)
    foreign = sorted(o for o in found - expected if not o[1].startswith("sqlite_stat"))
    missing = sorted(expected - found)
    changed = {o[1] for o in foreign} & {o[1] for o in missing}
    problems = [f"{t} {n!r} was changed" for t, n, *_ in foreign if n in changed]
    problems += [f"it contains a {t} {n!r} that recoverystudy did not create" for t, n, *_ in foreign
                 if n not in changed]
    problems += [f"its {t} {n!r} is missing" for t, n, *_ in missing if n not in changed]
    if problems:
        raise ProjectStoreError(
            f"{path} is not a project file as recoverystudy writes it (schema {version}): "
            + "; ".join(problems) + ". It was refused before anything was read or written; "
            "export or repair it with your own SQLite tools.", file=str(path), problems=problems)


# -- atomic creation ------------------------------------------------------------------------------
def temporary_sibling(target: Path) -> Path:
    """A hidden temporary file name beside *target*, carrying this process's id."""
    return target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}{_TEMP_SUFFIX}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(target: Path) -> None:
    """Remove temporary files of *target* left by creating processes that were killed."""
    for tmp in target.parent.glob(f".{glob_escape(target.name)}.*{_TEMP_SUFFIX}*"):
        parts = tmp.name[len(target.name) + 2:].split(".")
        if len(parts) >= 3 and parts[0].isdigit() and not _alive(int(parts[0])):
            tmp.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    """*name* with glob wildcards escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def place(tmp: Path, target: Path) -> None:
    """Move the finished file *tmp* to *target* in one step, never replacing an existing file."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise ProjectStoreError(f"{target} appeared while the project was being created; nothing was "
                                f"overwritten. Choose another name.", file=str(target)) from None
    except OSError:  # no hard links on this file system (FAT, some network shares)
        if target.exists():
            raise ProjectStoreError(f"{target} appeared while the project was being created; nothing was "
                                    f"overwritten. Choose another name.", file=str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()
