"""The PostgreSQL project store: the same schema and the same :class:`Project` API on a database server.

A project lives in its own PostgreSQL schema (``rs_<name>``) of one database, addressed by a URL::

    postgresql://user@host:5432/database?project=cocapp

(any libpq connection parameter may be given in the URL as usual; ``project`` is ours).  The tables,
indexes and triggers are those of the SQLite project file, derived from the one description in
:mod:`recoverystudy.qual.store` by :mod:`recoverystudy.qual.dialect`; the migrations applied are
recorded in the table ``rs_migrations`` of the project's schema.

Concurrency: every mutating call runs in one transaction that first takes the project's
transaction-level advisory lock, so writes to one project are serialised exactly as SQLite's
``BEGIN IMMEDIATE`` serialises them (no two coders can compute the same new id or overwrite each
other's change), while reads never wait.  A client killed mid-call leaves nothing: the server rolls
the open transaction back and releases the lock.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.adapt import Loader

from recoverystudy.errors import ProjectStorageError, ProjectStoreError, SchemaVersionError
from recoverystudy.qual.dialect import pg_script, table_info, translate
from recoverystudy.qual.store import MIGRATIONS, SCHEMA_VERSION, Store, new_guid, utc_now
from recoverystudy.qual.storefile import is_server_url
from recoverystudy.qual.transfer import copy_rows

__all__ = ["PgStore", "ServerLocation", "is_server_url", "push", "pull"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


#: names whose schema (``rs_<name>``) belongs to something else: the team server's own tables
RESERVED_NAMES = frozenset({"server", "migrations"})


class ServerLocation(str):
    """Where a server project lives, as shown to people: the URL without any password.

    ``.name`` is the project name (as :attr:`pathlib.Path.name` is for a file).

    >>> loc = ServerLocation.parse("postgresql://ana:secret@db.example.org/study?project=cocapp")
    >>> str(loc), loc.name, loc.schema
    ('postgresql://ana@db.example.org/study?project=cocapp', 'cocapp', 'rs_cocapp')
    """

    name: str
    schema: str
    conninfo: str

    @property
    def stem(self) -> str:
        """The project name (as :attr:`pathlib.Path.stem` is for a file), e.g. for export file names."""
        return self.name

    @classmethod
    def parse(cls, url: str) -> ServerLocation:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        names = [v for k, v in query if k == "project"]
        if len(names) != 1 or not _NAME.fullmatch(names[0]):
            raise ProjectStoreError(
                f"A server project is addressed as postgresql://user@host/database?project=NAME, with NAME of "
                f"lower-case letters, digits and _ (up to 40, starting with a letter); got {names or 'no project'} "
                f"in {cls._hide(parts, query)}.", file=cls._hide(parts, query))
        if names[0] in RESERVED_NAMES:
            raise ProjectStoreError(
                f"The project name {names[0]!r} is reserved (the team server keeps its accounts in schema "
                f"rs_{names[0]}); choose another name.", file=cls._hide(parts, query))
        rest = [(k, v) for k, v in query if k != "project"]
        conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
        loc = cls(cls._hide(parts, query))
        loc.name, loc.schema, loc.conninfo = names[0], f"rs_{names[0]}", conninfo
        return loc

    @staticmethod
    def _hide(parts, query) -> str:
        netloc = parts.netloc
        if "@" in netloc:
            user, host = netloc.rsplit("@", 1)
            netloc = f"{user.split(':', 1)[0]}@{host}"
        shown = [(k, v) for k, v in query if k.lower() != "password"]
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(shown), ""))


class _Numeric(Loader):
    """SUM()/AVG() give ``numeric`` in PostgreSQL: load whole numbers as int, others as float (as SQLite)."""

    def load(self, data):
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:
            return float(text)


class _Cursor:
    """The parts of :class:`sqlite3.Cursor` the library uses: fetching, iteration, ``lastrowid``."""

    def __init__(self, cur, lastrowid=None) -> None:
        self._cur = cur
        self.lastrowid = lastrowid
        self.rowcount = cur.rowcount if cur is not None else -1

    def fetchone(self):
        return self._cur.fetchone() if self._cur is not None and self._cur.description else None

    def fetchall(self):
        return self._cur.fetchall() if self._cur is not None and self._cur.description else []

    def __iter__(self):
        return iter(self.fetchall())


class PgConnection:
    """A psycopg connection that speaks the library's SQLite dialect (see :func:`~recoverystudy.qual.dialect.translate`)."""

    def __init__(self, raw: psycopg.Connection, location: ServerLocation) -> None:
        self.raw = raw
        self.location = location

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def _fail(self, exc: psycopg.Error):
        if isinstance(exc, psycopg.OperationalError):
            return ProjectStorageError(f"Lost the connection to the project server for {self.location}: {exc}",
                                       file=str(self.location), reason="io")
        return None

    def execute(self, sql: str, params=()) -> _Cursor:
        t = translate(sql, MIGRATIONS)
        try:
            cur = self.raw.execute(t.sql, tuple(params))
            lastrowid = None
            if t.returning is not None and cur.description:
                row = cur.fetchone()
                lastrowid = row[0] if row else None
            if t.explicit_id:
                self._follow_sequence(t.table)
            return _Cursor(cur, lastrowid)
        except psycopg.Error as exc:
            err = self._fail(exc)
            if err is not None:
                raise err from exc
            raise

    def executemany(self, sql: str, rows) -> _Cursor:
        t = translate(sql, MIGRATIONS, many=True)
        rows = [tuple(r) for r in rows]
        try:
            with self.raw.cursor() as cur:
                if rows:
                    cur.executemany(t.sql, rows)
            if t.explicit_id and rows:
                self._follow_sequence(t.table)
            return _Cursor(None)
        except psycopg.Error as exc:
            err = self._fail(exc)
            if err is not None:
                raise err from exc
            raise

    def executescript(self, sql: str) -> _Cursor:
        self.raw.execute(pg_script(sql))
        return _Cursor(None)

    def _follow_sequence(self, table: str) -> None:
        """After rows were inserted with explicit ids, move the table's id sequence past them."""
        ident = table_info(MIGRATIONS)[table].identity
        self.raw.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{ident}'), "
            f"GREATEST((SELECT COALESCE(MAX({ident}), 0) FROM {table}), "
            f"(SELECT last_value FROM {self._sequence(table, ident)})))")

    _seq_cache: dict = {}

    def _sequence(self, table: str, column: str) -> str:
        key = (self.location.schema, table)
        if key not in self._seq_cache:
            self._seq_cache[key] = self.raw.execute("SELECT pg_get_serial_sequence(%s, %s)",
                                                    (table, column)).fetchone()[0]
        return self._seq_cache[key]

    def close(self) -> None:
        self.raw.close()


class PgStore(Store):
    """A project on a PostgreSQL server, with the interface of :class:`~recoverystudy.qual.store.Store`."""

    read_only = None

    def __init__(self, conn: PgConnection, location: ServerLocation) -> None:
        self.conn = conn
        self.path = location
        self.read_only = None
        self._depth = 0
        self._lock_key = zlib.crc32(location.schema.encode()) - 2**31

    @staticmethod
    def _connect_server(location: ServerLocation) -> PgConnection:
        try:
            raw = psycopg.connect(location.conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise ProjectStorageError(f"Could not connect to the project server for {location}: {exc}",
                                      file=str(location), reason="io") from exc
        raw.adapters.register_loader("numeric", _Numeric)
        return PgConnection(raw, location)

    @classmethod
    def create(cls, url: str, *, build=None) -> PgStore:  # type: ignore[override]
        """Create the project named in *url* on the server (refused if it exists), all in one transaction."""
        location = ServerLocation.parse(url)
        conn = cls._connect_server(location)
        store = cls(conn, location)
        try:
            with store.transaction():
                if conn.raw.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                    (location.schema,)).fetchone():
                    raise ProjectStoreError(f"The server already has a project {location.name!r} ({location}); "
                                            f"open it, or choose another name.", file=str(location))
                conn.raw.execute(f'CREATE SCHEMA "{location.schema}"')
                conn.raw.execute(f'SET LOCAL search_path TO "{location.schema}"')
                store._migrate(from_version=0)
                now = utc_now()
                conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                                 [("project_guid", new_guid()), ("created_at", now),
                                  ("application", "recoverystudy")])
                if build is not None:
                    build(store)
            conn.raw.execute(f'SET search_path TO "{location.schema}"')
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open(cls, url: str, *, read_only: bool = False) -> PgStore:  # type: ignore[override]
        """Open the project named in *url*, verifying its schema (and migrating it forward if older)."""
        if read_only:
            raise ProjectStoreError("read_only=True is for project files; on a server, give the account "
                                    "read-only rights instead.", file=str(url))
        location = ServerLocation.parse(url)
        conn = cls._connect_server(location)
        store = cls(conn, location)
        try:
            if not conn.raw.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (location.schema,)).fetchone():
                raise ProjectStoreError(
                    f"The server has no project {location.name!r} ({location}). Copy one there with "
                    f"`recoverystudy push study.rsqda {location}`.", file=str(location))
            conn.raw.execute(f'SET search_path TO "{location.schema}"')
            version = store.schema_version()
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"The project {location} was written by a newer version of recoverystudy (schema {version}; "
                    f"this version understands up to {SCHEMA_VERSION}). Upgrade recoverystudy to open it.",
                    file=str(location), version=version, supported=SCHEMA_VERSION)
            problems = store._schema_problems(version)
            if problems:
                raise ProjectStoreError(f"The project {location} is not as recoverystudy creates it: "
                                        + "; ".join(problems) + ". It was refused before anything was read or "
                                        "written.", file=str(location), problems=problems)
            if version < SCHEMA_VERSION:
                with store.transaction():
                    store._migrate(from_version=version)
        except BaseException:
            conn.close()
            raise
        return store

    def _schema_problems(self, version: int) -> list[str]:
        expected = {t: set(info.columns) for t, info in table_info(
            tuple(m for m in MIGRATIONS if m[0] <= version)).items()} | {"rs_migrations": None}
        rows = self.conn.raw.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s",
            (self.path.schema,)).fetchall()
        found: dict[str, set] = {}
        for t, c in rows:
            found.setdefault(t, set()).add(c)
        problems = [f"it contains a table {t!r} that recoverystudy did not create" for t in found if t not in expected]
        problems += [f"its table {t!r} is missing" for t in expected if t not in found]
        problems += [f"table {t!r} was changed" for t, cols in expected.items()
                     if cols is not None and t in found and found[t] != cols]
        expected_triggers = {m.lower() for _v, _i, sql in MIGRATIONS if _v <= version
                             for m in re.findall(r"CREATE\s+TRIGGER\s+(\w+)", sql, re.I)}
        triggers = {r[0] for r in self.conn.raw.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal", (self.path.schema,))}
        problems += [f"it contains a trigger {t!r} that recoverystudy did not create"
                     for t in sorted(triggers - expected_triggers)]
        views = [r[0] for r in self.conn.raw.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = %s", (self.path.schema,))]
        problems += [f"it contains a view {v!r} that recoverystudy did not create" for v in views]
        return problems

    def _migrate(self, *, from_version: int) -> None:
        raw = self.conn.raw
        # dialect hook: SQLite's substr() takes any integers; PostgreSQL's takes int4, our ids are int8
        raw.execute("CREATE OR REPLACE FUNCTION substr(s text, i bigint, n bigint) RETURNS text LANGUAGE sql "
                    "IMMUTABLE AS 'SELECT pg_catalog.substr(s, i::int, n::int)'")
        raw.execute("CREATE OR REPLACE FUNCTION substr(s text, i bigint) RETURNS text LANGUAGE sql "
                    "IMMUTABLE AS 'SELECT pg_catalog.substr(s, i::int)'")
        raw.execute("CREATE TABLE IF NOT EXISTS rs_migrations (version BIGINT PRIMARY KEY, intent TEXT NOT NULL, "
                    "applied_at TEXT NOT NULL)")
        for version, intent, sql in MIGRATIONS:
            if version <= from_version:
                continue
            raw.execute(pg_script(sql))
            raw.execute("INSERT INTO rs_migrations(version, intent, applied_at) VALUES (%s, %s, %s)",
                        (version, intent, utc_now()))

    def schema_version(self) -> int:
        """The highest migration applied (``rs_migrations``)."""
        try:
            row = self.conn.raw.execute("SELECT COALESCE(MAX(version), 0) FROM rs_migrations").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0])

    # transaction(): Store's, with these steps; the write lock is the project's advisory lock, held
    # until the transaction ends
    def _begin(self) -> None:
        raw = self.conn.raw
        raw.execute("BEGIN")
        try:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        raw = self.conn.raw
        if not raw.closed and not raw.broken:
            raw.execute("ROLLBACK")

    def _commit(self) -> None:
        self.conn.raw.execute("COMMIT")  # a COMMIT that fails ends the transaction on the server

    def integrity_problems(self) -> list[str]:
        """Schema problems (tables, columns, triggers, views) and rows whose foreign keys point nowhere.

        PostgreSQL enforces foreign keys and checks its own pages; use ``pg_amcheck`` on the server
        for a page-level check.
        """
        return self._schema_problems(self.schema_version())

    def backup(self, dest) -> Path:
        """Copy the server project into the new project file *dest* (a consistent snapshot, as ``pull``)."""
        return _pull_store(self, Path(dest))

    def close(self) -> None:
        """Close the connection (every committed change is already on the server)."""
        if self.conn is None:
            return
        self.conn.close()
        self.conn = None  # type: ignore[assignment]


def push(path: str | Path, url: str) -> dict[str, int]:
    """Copy the project file *path* to a new project on the server at *url*; return rows copied per table.

    The file is opened read-only and verified first; on the server everything happens in one
    transaction, so an interrupted push leaves no project there.  An existing server project is
    never overwritten.
    """
    src = Store.open(path, read_only=True)
    counts: dict[str, int] = {}
    try:
        dst = PgStore.create(url, build=lambda store: counts.update(copy_rows(src, store)))
        dst.close()
    finally:
        src.close()
    return counts


def pull(url: str, path: str | Path) -> Path:
    """Copy the server project at *url* into the new project file *path* (never over an existing file)."""
    src = PgStore.open(url)
    try:
        return _pull_store(src, Path(path))
    finally:
        src.close()


def _pull_store(src: PgStore, path: Path) -> Path:
    raw = src.conn.raw
    raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one consistent snapshot of every table
    try:
        Store.create(path, build=lambda store: copy_rows(src, store)).close()
    finally:
        raw.execute("ROLLBACK")
    return path
