"""Accounts, invitations, sessions, memberships, blind documents and the audit log of a team server.

Everything is stored in the ``rs_server`` schema of the server's PostgreSQL database (see
:mod:`recoverystudy.server.schema`).  Passwords are hashed with Argon2id (argon2-cffi); session ids,
CSRF tokens and invitation tokens are 256-bit random strings of which only a SHA-256 hash (sessions,
invitations) is stored, so a copy of the database gives no one a way in.  Every query binds its
values as parameters: no text a user types is ever part of SQL.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from recoverystudy.errors import RecoveryStudyError
from recoverystudy.server.schema import migrate

__all__ = ["Directory", "Account", "Member", "TeamServerError", "UnknownAccountError", "WrongPasswordError",
           "ROLES", "hash_token"]

ROLES = ("lead", "coder", "viewer")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,79}")
_HASHER = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106 low-memory profile
_DUMMY = _HASHER.hash("not a password of anyone")


class TeamServerError(RecoveryStudyError):
    """A team-server request refused, with the HTTP status (``.status``) and a message for the person."""

    def __init__(self, message: str, status: int = 400, **context: Any) -> None:
        super().__init__(message, status=status, **context)


class UnknownAccountError(TeamServerError):
    """No account of that user name on this server (``.username`` names it)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"There is no account named {username!r} on this server.", 404, username=username)
        self.username = username


class WrongPasswordError(TeamServerError):
    """A password change refused because the current password given is wrong (``.username`` names whose)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"The current password given for {username!r} is wrong; your password was not changed.",
                         403, username=username)
        self.username = username


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in place of a session id or invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    account_id: int
    username: str
    display_name: str
    is_admin: bool


@dataclass(frozen=True)
class Member:
    """An account's place in one project."""

    account: Account
    project: str
    role: str

    @property
    def can_code(self) -> bool:
        return self.role in ("lead", "coder")

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 12:
        raise TeamServerError("A password must have at least 12 characters.")
    if len(password) > 1024:
        raise TeamServerError("A password can have at most 1,024 characters.")


def check_username(username: str) -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username.strip()):
        raise TeamServerError("A user name is 1 to 80 letters, digits or . _ @ - (starting with a letter or digit).")
    return username.strip()


class Directory:
    """The team server's accounts and permissions in one PostgreSQL database (one connection per thread).

    Parameters
    ----------
    conninfo : str
        ``postgresql://user@host/database`` (no ``project=``).
    session_hours : float
        How long a session lasts after login.
    max_failures : int
        Failed logins allowed per user name, and (times 4) per client address, within *window_minutes*.
    """

    def __init__(self, conninfo: str, *, session_hours: float = 12.0, max_failures: int = 5,
                 window_minutes: float = 15.0) -> None:
        self.conninfo = conninfo
        self.session_hours = float(session_hours)
        self.max_failures = int(max_failures)
        self.window = timedelta(minutes=window_minutes)
        self._local = threading.local()
        self._all: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        migrate(self._conn())

    # -- connections ---------------------------------------------------------------------------------
    def _conn(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.conninfo, autocommit=True)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        return self._conn().execute(sql, params).fetchone()

    def _all_rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._conn().execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()

    # -- accounts ------------------------------------------------------------------------------------
    def create_account(self, username: str, password: str, *, display_name: str | None = None,
                       is_admin: bool = False, conn: psycopg.Connection | None = None) -> Account:
        """A new account (the password is stored only as an Argon2id hash)."""
        username = check_username(username)
        check_password(password)
        display = (display_name or username).strip()[:80] or username
        conn = conn or self._conn()
        try:
            row = conn.execute(
                "INSERT INTO rs_server.accounts (username, display_name, password_hash, is_admin) "
                "VALUES (%s, %s, %s, %s) RETURNING account_id", (username, display, _HASHER.hash(password),
                                                                 bool(is_admin))).fetchone()
        except psycopg.errors.UniqueViolation:
            raise TeamServerError(f"The user name {username!r} is taken; choose another.", 409) from None
        return Account(row[0], username, display, bool(is_admin))

    def account(self, username: str) -> Account | None:
        row = self._one("SELECT account_id, username, display_name, is_admin FROM rs_server.accounts "
                        "WHERE username = %s AND NOT disabled", (username,))
        return Account(*row) if row else None

    def add_member(self, project: str, account: Account, role: str, *, conn=None) -> None:
        """Give *account* a *role* in *project* (replacing any role it had)."""
        if role not in ROLES:
            raise TeamServerError(f"The role must be one of {', '.join(ROLES)}; got {role!r}.")
        (conn or self._conn()).execute(
            "INSERT INTO rs_server.memberships (project, account_id, role) VALUES (%s, %s, %s) "
            "ON CONFLICT (project, account_id) DO UPDATE SET role = EXCLUDED.role", (project, account.account_id, role))

    def remove_member(self, project: str, account: Account) -> bool:
        cur = self._conn().execute("DELETE FROM rs_server.memberships WHERE project = %s AND account_id = %s",
                                   (project, account.account_id))
        return cur.rowcount > 0

    def member(self, account: Account, project: str) -> Member | None:
        """*account*'s membership of *project*, or ``None`` (then the project does not exist for them)."""
        row = self._one("SELECT role FROM rs_server.memberships WHERE project = %s AND account_id = %s",
                        (project, account.account_id))
        return Member(account, project, row[0]) if row else None

    def projects(self, account: Account) -> list[dict[str, str]]:
        rows = self._all_rows("SELECT project, role FROM rs_server.memberships WHERE account_id = %s ORDER BY project",
                              (account.account_id,))
        return [{"project": p, "role": r} for p, r in rows]

    def members(self, project: str) -> list[dict[str, str]]:
        rows = self._all_rows("SELECT a.username, a.display_name, m.role FROM rs_server.memberships m JOIN "
                              "rs_server.accounts a USING (account_id) WHERE m.project = %s ORDER BY a.username",
                              (project,))
        return [{"username": u, "display_name": d, "role": r} for u, d, r in rows]

    # -- invitations ---------------------------------------------------------------------------------
    def invite(self, project: str, role: str, *, hours: float = 72.0, by: Account | None = None) -> str:
        """A single-use invitation token for *role* in *project*, valid for *hours* (only its hash is stored)."""
        if role not in ROLES:
            raise TeamServerError(f"The role must be one of {', '.join(ROLES)}; got {role!r}.")
        if not 0 < hours <= 24 * 30:
            raise TeamServerError("An invitation lasts between a minute and 30 days.")
        token = secrets.token_urlsafe(32)
        self._conn().execute(
            "INSERT INTO rs_server.invitations (token_hash, project, role, created_by, expires_at) "
            "VALUES (%s, %s, %s, %s, now() + %s)",
            (hash_token(token), project, role, by.account_id if by else None, timedelta(hours=hours)))
        return token

    def invitation(self, token: str) -> dict | None:
        """The open invitation of *token* (``project``, ``role``), or ``None`` if unknown, used or expired."""
        row = self._one("SELECT project, role FROM rs_server.invitations WHERE token_hash = %s AND used_at IS NULL "
                        "AND expires_at > now()", (hash_token(str(token)),))
        return {"project": row[0], "role": row[1]} if row else None

    def accept(self, token: str, username: str, password: str, display_name: str | None = None) -> Member:
        """Create an account from an invitation, in one transaction that also uses the invitation up."""
        conn = self._conn()
        with conn.transaction():
            row = conn.execute(
                "SELECT project, role FROM rs_server.invitations WHERE token_hash = %s AND used_at IS NULL "
                "AND expires_at > now() FOR UPDATE", (hash_token(str(token)),)).fetchone()
            if row is None:
                raise TeamServerError("This invitation link is not valid: it was already used or has expired. "
                                      "Ask your study lead for a new one.", 410)
            account = self.create_account(username, password, display_name=display_name, conn=conn)
            self.add_member(row[0], account, row[1], conn=conn)
            conn.execute("UPDATE rs_server.invitations SET used_at = now(), used_by = %s WHERE token_hash = %s",
                         (account.account_id, hash_token(str(token))))
            self.record(row[0], account, "account.create", target=account.username,
                        after={"username": account.username, "role": row[1]}, conn=conn)
        return Member(account, row[0], row[1])

    # -- login and sessions --------------------------------------------------------------------------
    def _rate_limit(self, username: str, client: str) -> None:
        since = self.window
        fails_user = self._one("SELECT count(*) FROM rs_server.login_attempts WHERE username = %s AND NOT success "
                               "AND at > now() - %s", (username, since))[0]
        fails_client = self._one("SELECT count(*) FROM rs_server.login_attempts WHERE client = %s AND NOT success "
                                 "AND at > now() - %s", (client, since))[0]
        if fails_user >= self.max_failures or fails_client >= 4 * self.max_failures:
            raise TeamServerError("Too many failed logins: wait 15 minutes before trying again.", 429)

    def _attempt(self, username: str, client: str, success: bool) -> None:
        self._conn().execute("INSERT INTO rs_server.login_attempts (username, client, success) VALUES (%s, %s, %s)",
                             (username, client, success))

    @staticmethod
    def _verify(password_hash: str | None, password: str) -> bool:
        try:
            ok = _HASHER.verify(password_hash or _DUMMY, str(password))  # same work for unknown names
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        return bool(ok) and password_hash is not None

    def login(self, username: str, password: str, client: str) -> tuple[Account, str, str]:
        """Check a password (rate-limited); returns ``(account, session_id, csrf_token)`` of a NEW session.

        A disabled account cannot log in: with the right password the person is told the account is
        disabled; with a wrong one they get the same answer as for any wrong password.
        """
        username = str(username)[:200]
        self._rate_limit(username, client)
        row = self._one("SELECT account_id, username, display_name, is_admin, password_hash, disabled "
                        "FROM rs_server.accounts WHERE username = %s", (username,))
        ok = self._verify(row[4] if row else None, password)
        self._attempt(username, client, ok and not row[5])
        if not ok:
            raise TeamServerError("The user name or password is wrong.", 401)
        if row[5]:
            raise TeamServerError(f"The account {username!r} is disabled: ask your study lead.", 403,
                                  username=username)
        account = Account(*row[:4])
        if _HASHER.check_needs_rehash(row[4]):
            self._conn().execute("UPDATE rs_server.accounts SET password_hash = %s WHERE account_id = %s",
                                 (_HASHER.hash(str(password)), account.account_id))
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._conn().execute(
            "INSERT INTO rs_server.sessions (session_hash, account_id, csrf_token, expires_at) "
            "VALUES (%s, %s, %s, now() + %s)",
            (hash_token(session), account.account_id, csrf, timedelta(hours=self.session_hours)))
        return account, session, csrf

    def session(self, session: str) -> tuple[Account, str] | None:
        """``(account, csrf_token)`` of a live session, or ``None`` (unknown, expired, revoked, disabled)."""
        row = self._one(
            "SELECT a.account_id, a.username, a.display_name, a.is_admin, s.csrf_token FROM rs_server.sessions s "
            "JOIN rs_server.accounts a USING (account_id) WHERE s.session_hash = %s AND s.revoked_at IS NULL "
            "AND s.expires_at > now() AND NOT a.disabled", (hash_token(str(session)),))
        return (Account(*row[:4]), row[4]) if row else None

    def revoke(self, session: str) -> None:
        self._conn().execute("UPDATE rs_server.sessions SET revoked_at = now() WHERE session_hash = %s "
                             "AND revoked_at IS NULL", (hash_token(str(session)),))

    def revoke_all(self, account: Account) -> int:
        """End every session of *account* (e.g. after a lost laptop); returns how many were live."""
        return self._conn().execute("UPDATE rs_server.sessions SET revoked_at = now() WHERE account_id = %s "
                                    "AND revoked_at IS NULL", (account.account_id,)).rowcount

    # -- looking after accounts ----------------------------------------------------------------------
    def require_account(self, username: str, *, conn=None) -> Account:
        """The account named *username*, disabled or not; :class:`UnknownAccountError` if there is none."""
        return self._find(username, conn=conn)[0]

    def _find(self, username: str, *, conn=None, lock: bool = False) -> tuple[Account, bool]:
        row = (conn or self._conn()).execute(
            "SELECT account_id, username, display_name, is_admin, disabled FROM rs_server.accounts "
            "WHERE username = %s" + (" FOR UPDATE" if lock else ""), (str(username),)).fetchone()
        if row is None:
            raise UnknownAccountError(str(username))
        return Account(*row[:4]), bool(row[4])

    def _record_account(self, account: Account, action: str, *, by: Account | None, conn, before: Any = None,
                        after: Any = None) -> None:
        """Record an account change in the audit log of every project the account belongs to."""
        projects = [r[0] for r in conn.execute("SELECT project FROM rs_server.memberships WHERE account_id = %s "
                                               "ORDER BY project", (account.account_id,)).fetchall()]
        for project in projects or [None]:
            self.record(project, by, action, target=account.username, before=before, after=after, conn=conn)

    def _end_sessions(self, account: Account, conn, *, keep: str | None = None) -> int:
        return conn.execute("UPDATE rs_server.sessions SET revoked_at = now() WHERE account_id = %s AND "
                            "revoked_at IS NULL AND session_hash <> %s",
                            (account.account_id, hash_token(keep) if keep else "")).rowcount

    def set_password(self, username: str, password: str, *, by: Account | None = None) -> int:
        """Give *username* a new password (a lead or the server's administrator resets it).

        Every session of that person ends at once (they log in again with the new password), and the
        reset is recorded in the audit log of each of their projects.  Returns the number of sessions ended.
        """
        check_password(password)
        new_hash = _HASHER.hash(password)
        conn = self._conn()
        with conn.transaction():
            account, _disabled = self._find(username, conn=conn, lock=True)
            conn.execute("UPDATE rs_server.accounts SET password_hash = %s WHERE account_id = %s",
                         (new_hash, account.account_id))
            ended = self._end_sessions(account, conn)
            self._record_account(account, "account.password_reset", by=by, conn=conn,
                                 after={"sessions_ended": ended, "by": by.username if by else "command line"})
        return ended

    def change_password(self, account: Account, current: str, new: str, client: str, *,
                        keep_session: str | None = None) -> int:
        """*account* changes their own password, giving the *current* one (rate-limited like logins).

        A wrong current password counts as a failed login (:class:`WrongPasswordError`).  Every other
        session of the account ends (the one in *keep_session* stays); the change is audited.  Returns
        the number of other sessions ended.
        """
        self._rate_limit(account.username, client)
        row = self._one("SELECT password_hash FROM rs_server.accounts WHERE account_id = %s AND NOT disabled",
                        (account.account_id,))
        ok = self._verify(row[0] if row else None, current)
        if not ok:
            self._attempt(account.username, client, False)
            raise WrongPasswordError(account.username)
        check_password(new)
        if new == current:
            raise TeamServerError("The new password is the same as the current one; choose a different one.")
        new_hash = _HASHER.hash(new)
        conn = self._conn()
        with conn.transaction():
            changed = conn.execute("UPDATE rs_server.accounts SET password_hash = %s WHERE account_id = %s AND "
                                   "password_hash = %s", (new_hash, account.account_id, row[0])).rowcount
            if not changed:
                raise TeamServerError(f"The password of {account.username!r} was changed meanwhile; your change "
                                      "was not applied. Log in again.", 409, username=account.username)
            ended = self._end_sessions(account, conn, keep=keep_session)
            self._record_account(account, "account.password_change", by=account, conn=conn,
                                 after={"other_sessions_ended": ended})
        return ended

    def set_disabled(self, username: str, disabled: bool, *, by: Account | None = None) -> int:
        """Disable (or enable again) the account *username*.

        A disabled account cannot log in, and its sessions end at once: a request with one of its old
        cookies is refused.  Its coding, memos and audit entries stay as they are.  Returns the number of
        sessions ended.
        """
        conn = self._conn()
        with conn.transaction():
            account, was = self._find(username, conn=conn, lock=True)
            conn.execute("UPDATE rs_server.accounts SET disabled = %s WHERE account_id = %s",
                         (bool(disabled), account.account_id))
            ended = self._end_sessions(account, conn) if disabled else 0
            self._record_account(account, "account.disable" if disabled else "account.enable", by=by, conn=conn,
                                 before={"disabled": was}, after={"disabled": bool(disabled), "sessions_ended": ended,
                                                                  "by": by.username if by else "command line"})
        return ended

    def remove_from_project(self, project: str, username: str, *, by: Account | None = None) -> str:
        """Take *username* out of *project* (their coding stays); returns the role they had. Audited."""
        conn = self._conn()
        with conn.transaction():
            account = self.require_account(username, conn=conn)
            row = conn.execute("DELETE FROM rs_server.memberships WHERE project = %s AND account_id = %s "
                               "RETURNING role", (project, account.account_id)).fetchone()
            if row is None:
                raise TeamServerError(f"The account {username!r} is not a member of the project {project!r}.", 404,
                                      username=username, project=project)
            self.record(project, by, "member.remove", target=username, before={"role": row[0]},
                        after={"by": by.username if by else "command line"}, conn=conn)
        return row[0]

    # -- blind double-coding -------------------------------------------------------------------------
    def set_blind(self, project: str, documents: list[int], hidden: bool, *, conn=None) -> None:
        """Hide (or release) each coder's work on *documents* of *project* from the other coders."""
        own = conn is None
        conn = conn or self._conn()
        with conn.transaction() if own else contextlib.nullcontext():  # else: inside the caller's transaction
            for doc in documents:
                if hidden:
                    conn.execute("INSERT INTO rs_server.blind_documents (project, document_id) VALUES (%s, %s) "
                                 "ON CONFLICT (project, document_id) DO UPDATE SET hidden_at = now(), "
                                 "released_at = NULL", (project, int(doc)))
                else:
                    conn.execute("UPDATE rs_server.blind_documents SET released_at = now() WHERE project = %s "
                                 "AND document_id = %s AND released_at IS NULL", (project, int(doc)))

    def blind_documents(self, project: str, *, conn=None) -> set[int]:
        rows = (conn or self._conn()).execute("SELECT document_id FROM rs_server.blind_documents WHERE project = %s "
                                              "AND released_at IS NULL", (project,)).fetchall()
        return {int(r[0]) for r in rows}

    def add_blind_decision(self, project: str, account: Account, suggestion: int, document: int, decision: str,
                           reason: str | None, segment: int | None, *, conn=None) -> int:
        """Record one coder's own decision on a suggestion of a hidden document; returns its id."""
        return (conn or self._conn()).execute(
            "INSERT INTO rs_server.blind_decisions (project, suggestion_id, document_id, account_id, username, "
            "decision, reason, segment_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING decision_id",
            (project, int(suggestion), int(document), account.account_id, account.username, decision, reason,
             segment)).fetchone()[0]

    def blind_decisions(self, project: str, *, conn=None) -> list[dict[str, Any]]:
        """Every coder's own decisions on suggestions of (once) hidden documents of *project*, oldest first."""
        rows = (conn or self._conn()).execute(
            "SELECT decision_id, suggestion_id, document_id, username, decision, reason, segment_id, "
            "to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM rs_server.blind_decisions "
            "WHERE project = %s ORDER BY decision_id", (project,)).fetchall()
        return [{"id": r[0], "suggestion": int(r[1]), "document": int(r[2]), "coder": r[3], "decision": r[4],
                 "reason": r[5], "segment": r[6], "at": r[7]} for r in rows]

    # -- audit log -----------------------------------------------------------------------------------
    def record(self, project: str | None, account: Account | None, action: str, *, target: Any = None,
               before: Any = None, after: Any = None, conn=None) -> None:
        """Append one entry to the audit log (who, when, what, before and after)."""
        (conn or self._conn()).execute(
            "INSERT INTO rs_server.audit_log (project, account_id, username, action, target, before, after) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (project, account.account_id if account else None, account.username if account else None, action,
             None if target is None else str(target),
             None if before is None else json.dumps(before, default=str),
             None if after is None else json.dumps(after, default=str)))

    def audit(self, project: str, *, limit: int = 10_000) -> list[dict[str, Any]]:
        rows = self._all_rows(
            "SELECT audit_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), username, action, "
            "target, before, after FROM rs_server.audit_log WHERE project = %s ORDER BY audit_id LIMIT %s",
            (project, int(limit)))
        return [{"id": r[0], "at": r[1], "user": r[2], "action": r[3], "target": r[4], "before": r[5],
                 "after": r[6]} for r in rows]

    def audit_csv(self, project: str) -> str:
        """The audit log of *project* as CSV (before/after as JSON text; cells starting =+-@ are quoted with ')."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "at", "user", "action", "target", "before", "after"])
        for e in self.audit(project, limit=10_000_000):
            cells = [e["id"], e["at"], e["user"], e["action"], e["target"],
                     "" if e["before"] is None else json.dumps(e["before"], ensure_ascii=False),
                     "" if e["after"] is None else json.dumps(e["after"], ensure_ascii=False)]
            writer.writerow([_no_formula(c) for c in cells])
        return out.getvalue()


def _no_formula(cell: Any) -> Any:
    """Keep a spreadsheet from running a cell as a formula (CSV injection): prefix ' to =, +, -, @ starts."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return "" if cell is None else cell
