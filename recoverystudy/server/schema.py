"""The team server's own tables (accounts, sessions, memberships, audit log): one description, migrated in order.

They live in the PostgreSQL schema ``rs_server`` of the same database as the projects (whose schemas are
``rs_<project>``, see :mod:`recoverystudy.qual.pgstore`).  :data:`MIGRATIONS` is the one description:
a list of SQL scripts applied in order, each recorded in ``rs_server.migrations`` in the same
transaction, under an advisory lock so that two servers starting at once never apply one twice.
"""

from __future__ import annotations

import psycopg

__all__ = ["SCHEMA", "MIGRATIONS", "migrate"]

SCHEMA = "rs_server"
_LOCK = 0x52535356  # "RSSV": advisory lock taken while migrating

#: Migration scripts, in order (never edit one that has shipped; append a new one).
MIGRATIONS: list[str] = [
    """
    CREATE TABLE rs_server.accounts (
        account_id    BIGSERIAL PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 80),
        display_name  TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
        password_hash TEXT NOT NULL,
        is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
        disabled      BOOLEAN NOT NULL DEFAULT FALSE,
        created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE rs_server.sessions (
        session_hash  TEXT PRIMARY KEY,
        account_id    BIGINT NOT NULL REFERENCES rs_server.accounts(account_id),
        csrf_token    TEXT NOT NULL,
        created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at    TIMESTAMPTZ NOT NULL,
        revoked_at    TIMESTAMPTZ
    );
    CREATE INDEX sessions_account ON rs_server.sessions(account_id);
    CREATE TABLE rs_server.memberships (
        project       TEXT NOT NULL,
        account_id    BIGINT NOT NULL REFERENCES rs_server.accounts(account_id),
        role          TEXT NOT NULL CHECK (role IN ('lead', 'coder', 'viewer')),
        added_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (project, account_id)
    );
    CREATE TABLE rs_server.invitations (
        token_hash    TEXT PRIMARY KEY,
        project       TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('lead', 'coder', 'viewer')),
        created_by    BIGINT REFERENCES rs_server.accounts(account_id),
        created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at    TIMESTAMPTZ NOT NULL,
        used_at       TIMESTAMPTZ,
        used_by       BIGINT REFERENCES rs_server.accounts(account_id)
    );
    CREATE TABLE rs_server.login_attempts (
        attempt_id    BIGSERIAL PRIMARY KEY,
        username      TEXT NOT NULL,
        client        TEXT NOT NULL,
        at            TIMESTAMPTZ NOT NULL DEFAULT now(),
        success       BOOLEAN NOT NULL
    );
    CREATE INDEX login_attempts_user ON rs_server.login_attempts(username, at);
    CREATE INDEX login_attempts_client ON rs_server.login_attempts(client, at);
    CREATE TABLE rs_server.blind_documents (
        project       TEXT NOT NULL,
        document_id   BIGINT NOT NULL,
        hidden_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        released_at   TIMESTAMPTZ,
        PRIMARY KEY (project, document_id)
    );
    CREATE TABLE rs_server.audit_log (
        audit_id      BIGSERIAL PRIMARY KEY,
        project       TEXT,
        account_id    BIGINT REFERENCES rs_server.accounts(account_id),
        username      TEXT,
        at            TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        action        TEXT NOT NULL,
        target        TEXT,
        before        JSONB,
        after         JSONB
    );
    CREATE INDEX audit_project ON rs_server.audit_log(project, audit_id);
    """,
    # blind double-coding: on a hidden document each coder accepts or rejects suggestions on their own
    """
    CREATE TABLE rs_server.blind_decisions (
        decision_id   BIGSERIAL PRIMARY KEY,
        project       TEXT NOT NULL,
        suggestion_id BIGINT NOT NULL,
        document_id   BIGINT NOT NULL,
        account_id    BIGINT REFERENCES rs_server.accounts(account_id),
        username      TEXT NOT NULL,
        decision      TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
        reason        TEXT,
        segment_id    BIGINT,
        decided_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (project, suggestion_id, username)
    );
    """,
]


def migrate(conn: psycopg.Connection) -> int:
    """Create or bring the server tables up to date on *conn*; returns the schema version now in force."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.migrations (version INTEGER PRIMARY KEY, "
                     "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        done = conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {SCHEMA}.migrations").fetchone()[0]
        if done > len(MIGRATIONS):
            raise RuntimeError(f"The server tables are at version {done}, newer than this recoverystudy "
                               f"({len(MIGRATIONS)}): upgrade recoverystudy on this server.")
        for version in range(done + 1, len(MIGRATIONS) + 1):
            conn.execute(MIGRATIONS[version - 1])
            conn.execute(f"INSERT INTO {SCHEMA}.migrations (version) VALUES (%s)", (version,))
    return len(MIGRATIONS)
