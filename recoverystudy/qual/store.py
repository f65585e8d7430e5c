"""The SQLite project store: the one place where the schema lives.

A project is one SQLite file.  The schema is built by numbered migrations named by intent
(:data:`MIGRATIONS`, written out in :mod:`recoverystudy.qual.store_schema`); ``PRAGMA user_version``
records how many have run.  Connections always run with
``foreign_keys=ON``, ``journal_mode=WAL``, ``synchronous=FULL`` and ``trusted_schema=OFF``.  Every
mutating call of :class:`~recoverystudy.qual.project.Project` runs inside exactly one transaction
(:meth:`Store.transaction`), so a process killed mid-batch leaves every earlier committed call intact.

Every coding change is written to the append-only ``coding_log`` table (triggers refuse UPDATE and
DELETE on it), with the coder and the UTC time.

Offsets (``start``, ``end``) are Python code-point offsets into the document's normalised text.

Safety of the file (see :mod:`recoverystudy.qual.storefile`): a file is verified read-only (header,
``application_id``, ``user_version``, every schema object) before it is opened for writing; a new
project is built in a temporary file beside the target and moved into place whole; :meth:`Store.close`
checkpoints the write-ahead log so the ``.rsqda`` is complete on its own, and says so loudly when it
cannot; storage failures raise :class:`~recoverystudy.errors.ProjectStorageError` naming the file.
The full ``integrity_check`` runs on demand (:meth:`Store.integrity_problems`), when a file is opened
after an unclean shutdown (a non-empty ``-wal`` beside it) and before every backup.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from recoverystudy.errors import ProjectStorageError, ProjectStoreError
from recoverystudy.qual.store_schema import MIGRATIONS, SCHEMA_VERSION
from recoverystudy.qual.storefile import (
    APPLICATION_ID, StoreConnection, place, remove_stale_temporaries, schema_problems, storage_error,
    temporary_sibling, verify_file, wal_pending,
)

__all__ = ["Store", "MIGRATIONS", "SCHEMA_VERSION", "utc_now", "new_guid", "new_guids"]


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

    def __init__(self, conn: StoreConnection, path: Path, *, read_only: str | None = None) -> None:
        self.conn = conn
        self.path = path
        #: ``None`` when writable, else the reason the file was opened read-only (plain words).
        self.read_only = read_only
        self._depth = 0

    # -- opening ---------------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path, *, read_only: bool = False) -> StoreConnection:
        try:
            if read_only:
                wal = Path(str(path) + "-wal").exists()
                mode = "mode=ro" if wal or os.access(path.parent, os.W_OK) else "immutable=1"
                raw = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None,
                                      timeout=30.0)
                conn = StoreConnection(raw, path)
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA trusted_schema = OFF")
                conn.execute("PRAGMA query_only = ON")
                return conn
            raw = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
            conn = StoreConnection(raw, path)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA trusted_schema = OFF")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
        except ProjectStorageError:
            raise
        except sqlite3.DatabaseError as exc:
            raise ProjectStoreError(
                f"{path} is not a recoverystudy project (SQLite said: {exc}).", file=str(path)
            ) from exc
        if str(mode).lower() != "wal":
            conn.close()
            raise ProjectStoreError(f"Could not switch {path} to WAL journalling (got {mode!r}).", file=str(path))
        return conn

    @classmethod
    def create(cls, path: str | Path, *, build: Callable[[Store], None] | None = None) -> Store:
        """Create a new project file (refuses to overwrite an existing file) and return it open.

        The project is built in a hidden temporary file beside *path* -- schema, metadata and
        whatever *build* adds (the codebook) -- closed, and moved into place in one step, so a
        process killed at any moment leaves either no file at *path* or a whole project.
        """
        path = Path(path)
        if path.exists() or path.is_symlink():
            raise ProjectStoreError(
                f"{path} already exists; open it with Project.open() or choose a new file name.", file=str(path)
            )
        if not path.parent.is_dir():
            raise ProjectStoreError(f"The folder {path.parent} does not exist.", file=str(path))
        if not os.access(path.parent, os.W_OK):
            raise ProjectStorageError(f"Cannot create {path}: the folder {path.parent} is read-only.",
                                      file=str(path), reason="read-only")
        remove_stale_temporaries(path)
        tmp = temporary_sibling(path)
        try:
            store = cls(cls._connect(tmp), tmp)
            try:
                # the temporary file needs no durability until it is complete: it is fsynced once before
                # it is moved into place, and a crash before that leaves only the temporary file
                store.conn.execute("PRAGMA synchronous = OFF")
                store.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                store._migrate(from_version=0)
                with store.transaction():
                    now = utc_now()
                    store.conn.executemany(
                        "INSERT INTO meta(key, value) VALUES (?, ?)",
                        [("project_guid", new_guid()), ("created_at", now), ("application", "recoverystudy")],
                    )
                if build is not None:
                    build(store)
            finally:
                store.close()
            _fsync_file(tmp)
            place(tmp, path)
            _fsync_dir(path.parent)
        except ProjectStorageError as exc:
            exc.file = str(path)
            raise
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Store:
        """Open an existing project file, migrating it forward (after a backup) if it is older.

        The file is verified read-only first (:func:`~recoverystudy.qual.storefile.verify_file`); a
        file on read-only storage (or with *read_only*) is opened read-only and every attempt to
        change it raises :class:`~recoverystudy.errors.ProjectStorageError` saying why.
        """
        path = Path(path)
        if not path.is_file():
            raise ProjectStoreError(f"No project file at {path}.", file=str(path))
        version = verify_file(path, MIGRATIONS, SCHEMA_VERSION)
        unclean = wal_pending(path)
        reason = None
        if read_only:
            reason = "it was opened with read_only=True"
        elif not os.access(path, os.W_OK):
            reason = f"the file {path} is read-only"
        elif not os.access(path.parent, os.W_OK):
            reason = f"its folder {path.parent} is read-only (SQLite needs to write its -wal file beside it)"
        conn = cls._connect(path, read_only=reason is not None)
        store = cls(conn, path, read_only=reason)
        try:
            # the file may have changed between the read-only check and this connection: look again
            found = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
            schema_problems(path, found, store.schema_version(), MIGRATIONS, SCHEMA_VERSION)
            if unclean:
                problems = store.integrity_problems()
                if problems:
                    raise ProjectStoreError(
                        f"{path} was not closed cleanly last time and is damaged: " + "; ".join(problems[:5])
                        + ". Restore it from a backup (the damaged file was not changed).",
                        file=str(path), problems=problems)
            if version < SCHEMA_VERSION:
                if reason is not None:
                    raise ProjectStoreError(
                        f"{path} uses an older project format (schema {version}) and must be upgraded, "
                        f"but it can only be opened read-only because {reason}. Copy it to a folder you "
                        f"can write to and open it there.", file=str(path))
                store._backup_file(path.with_name(path.name + f".v{version}.bak"))
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
            try:
                self.conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.raw.execute("ROLLBACK")
                raise

    def schema_version(self) -> int:
        """The value of ``PRAGMA user_version`` (number of migrations applied)."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- transactions ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[StoreConnection]:
        """Run the block in one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``); nested blocks join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self._abort()
            raise
        self._depth = 0
        self._commit()

    def _begin(self) -> None:
        if self.read_only is not None:
            raise ProjectStorageError(
                f"{self.path} is open read-only because {self.read_only}; changes cannot be saved. Copy the "
                f"file to a folder you can write to and open the copy.", file=str(self.path), reason="read-only")
        self.conn.execute("BEGIN IMMEDIATE")

    def _abort(self) -> None:
        if self.conn.in_transaction:  # SQLite may already have rolled back (e.g. on a full disk)
            self.conn.raw.execute("ROLLBACK")

    def _commit(self) -> None:
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self._abort()
            raise

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
            row = self.conn.execute("SELECT user_id FROM users WHERE name = ?", (name,)).fetchone()
            if row:  # another coder's session added the same name meanwhile
                return int(row[0])
            cur = self.conn.execute(
                "INSERT INTO users(guid, name, created_at) VALUES (?, ?, ?)", (new_guid(), name, utc_now())
            )
            return int(cur.lastrowid)

    # -- integrity, backup, close ----------------------------------------------------------------
    def integrity_problems(self) -> list[str]:
        """Results of ``integrity_check`` and ``foreign_key_check`` (empty list when healthy)."""
        problems = [r[0] for r in self.conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in self.conn.execute("PRAGMA foreign_key_check")]
        return problems

    def backup(self, dest: str | Path) -> Path:
        """Check the project's integrity, then copy it to the new file *dest* with SQLite's online backup.

        The copy is consistent even while the project is in use, is complete on its own (no
        ``-wal``), and is moved into place whole; an existing *dest* is never overwritten.
        """
        dest = Path(dest)
        if dest.exists() or dest.is_symlink():
            raise ProjectStoreError(f"{dest} already exists; a backup never overwrites a file. Choose a new name.",
                                    file=str(dest))
        if not dest.parent.is_dir():
            raise ProjectStoreError(f"The folder {dest.parent} does not exist.", file=str(dest))
        problems = self.integrity_problems()
        if problems:
            raise ProjectStoreError(f"{self.path} is damaged, so no backup was made: " + "; ".join(problems[:5])
                                    + ". Keep your earlier backups.", file=str(self.path), problems=problems)
        self._backup_file(dest)
        return dest

    def _backup_file(self, dest: Path) -> None:
        tmp = temporary_sibling(dest)
        try:
            out = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                self.conn.raw.backup(out)
                out.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                err = storage_error(exc, dest)
                if err is not None:
                    raise err from exc
                raise
            finally:
                out.close()
            _fsync_file(tmp)
            place(tmp, dest)
            _fsync_dir(dest.parent)
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        """Checkpoint the write-ahead log into the project file and close the connection.

        Raises
        ------
        ProjectStorageError
            The checkpoint could not complete (another program holds the project open, or the disk
            is full), so the latest changes are still only in the ``-wal`` file beside the project.
            The connection is closed all the same.
        """
        if self.conn is None:
            return
        problem = None
        if self.read_only is None:
            try:
                self.conn.execute("PRAGMA busy_timeout = 1000")  # wait at most 1 s for other readers
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if busy:
                    problem = "another program is reading or writing the project at this moment"
            except (ProjectStorageError, sqlite3.Error) as exc:
                problem = str(exc)
        self.conn.close()
        self.conn = None  # type: ignore[assignment]
        if problem is not None and wal_pending(self.path):
            raise ProjectStorageError(
                f"{self.path} was closed but is NOT complete on its own: its latest changes are still in "
                f"{self.path.name}-wal beside it because {problem}. Keep the two files together (do not copy "
                f"or send the .rsqda alone) until the project has been opened and closed again cleanly.",
                file=str(self.path), reason="checkpoint")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
