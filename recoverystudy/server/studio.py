"""The coding studio's pages on the team server, under ``/p/<project>/``.

The studio's own handlers, templates, scripts and styles (:mod:`recoverystudy.studio`) are mounted
once for every project; this module gives them the team server's identity, roles, project
connections, audit log and blind double-coding in place of the local studio's:

- who is asking comes from the server session (:class:`TeamAuth`): the coder name is the account's
  user name, and the CSRF token is the session's (the server's guard checks it on every write);
- :class:`TeamStudio` resolves the caller's membership of the project in the URL first (a project
  they do not belong to does not exist for them: 404), then the role: viewers only read, coders
  cannot upload documents, add cases, change the codebook, freeze the framework or export;
- :class:`TeamWorker` runs the studio's calls on the server's database threads, as the caller, on
  the PostgreSQL project; a write runs in one transaction together with its audit-log entry, which
  carries the write's before and after (:mod:`recoverystudy.server.changes`);
- blind double-coding (:class:`~recoverystudy.studio.data.HostView`): on a hidden document a coder
  or viewer sees only their own codings (leads see all); the framework matrix and the codebook's
  counts leave the others' hidden codings out, agreement leaves hidden documents out, and each
  coder decides the suggestions on a hidden document on their own
  (:class:`~recoverystudy.server.blind.SuggestionReview`).
"""

from __future__ import annotations

import contextvars
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from recoverystudy.errors import RecoveryStudyError
from recoverystudy.server.blind import SuggestionReview
from recoverystudy.server.changes import StudioChange
from recoverystudy.server.directory import Member
from recoverystudy.studio import api, data, pages
from recoverystudy.studio._web import HERE, StudioError
from recoverystudy.studio.app import _STATIC_TYPES, _handle, _static
from recoverystudy.studio.auth import Identity

__all__ = ["TeamIdentity", "TeamAuth", "TeamWorker", "TeamStudio", "studio_action"]

_PROJECT = re.compile(r"[a-z][a-z0-9_]{0,39}")
_LEAD_WRITES = re.compile(r"/(codebook(/.*)?|documents|cases)")
_LEAD_READS = re.compile(r"/export(/.*)?")
_FORM_LIMIT = 2_000_000  # form and JSON bodies are read for the audit log (uploads pass through unread)
_ACTIONS = [
    (re.compile(r"/api/documents/(\d+)/segments"), "segment.code"),
    (re.compile(r"/api/segments/(\d+)/remove"), "segment.remove"),
    (re.compile(r"/api/segments/(\d+)/resize"), "segment.resize"),
    (re.compile(r"/api/segments/(\d+)/recode"), "segment.recode"),
    (re.compile(r"/api/segments/(\d+)/memo"), "memo.add"),
    (re.compile(r"/api/(undo)"), "segment.undo"),
    (re.compile(r"/api/(redo)"), "segment.redo"),
    (re.compile(r"/suggestions/make()"), "suggestion.make"),
    (re.compile(r"/suggestions/(\d+)/decide"), "suggestion.decide"),
    (re.compile(r"/matrix/cell()"), "framework.chart"),
    (re.compile(r"/codebook/add()"), "code.add"),
    (re.compile(r"/codebook/(\d+)/edit"), "code.edit"),
    (re.compile(r"/codebook/freeze()"), "framework.freeze"),
    (re.compile(r"/documents()"), "document.add"),
    (re.compile(r"/cases()"), "case.add"),
]


def studio_action(path: str) -> tuple[str, str | None]:
    """The audit-log action and target of a studio write to *path* (the path inside ``/p/<project>``).

    >>> studio_action("/api/documents/3/segments")
    ('segment.code', '3')
    >>> studio_action("/codebook/freeze")
    ('framework.freeze', None)
    """
    for pattern, action in _ACTIONS:
        m = pattern.fullmatch(path)
        if m:
            return action, (m.group(1) or None)
    return "studio.write", path


@dataclass(frozen=True)
class TeamIdentity(Identity):
    """A studio identity made from a server session (carries the session's CSRF token)."""

    csrf: str = ""


@dataclass(frozen=True)
class _Call:
    member: Member
    blind: frozenset
    path: str
    write: bool
    form: dict = None  # the write's form or JSON fields
    export: str = ""  # an export's path and query (exports are recorded in the audit log too)


_CURRENT: contextvars.ContextVar[_Call] = contextvars.ContextVar("rs_team_studio_call")


class _ProjectName:
    """The project of the current request, for the studio's page header."""

    def __str__(self) -> str:
        call = _CURRENT.get(None)
        return call.member.project if call is not None else ""

    def __fspath__(self) -> str:  # the export pages name their files after it (Path(project_name).stem)
        return str(self) or "project"


class TeamAuth:
    """The studio's identity layer on the team server: the server session decides everything."""

    def login(self, request: Request) -> Response | None:
        return None

    def authenticate(self, request: Request) -> Identity | None:
        return getattr(request.state, "identity", None)

    def set_name(self, identity: Identity, name: str) -> None:
        raise StudioError(403, "On the team server your coder name is your account's user name.")

    def csrf_token(self, identity: Identity) -> str:
        return identity.csrf if isinstance(identity, TeamIdentity) else ""

    def check_csrf(self, identity: Identity, token: str | None) -> bool:
        expected = self.csrf_token(identity)
        return bool(expected) and isinstance(token, str) and hmac.compare_digest(token.encode(), expected.encode())


class TeamWorker:
    """The studio's project worker on the team server (same ``run``/``call`` as the local one)."""

    def __init__(self, pool, directory) -> None:
        self.pool, self.directory = pool, directory

    def _call(self, call: _Call, fn, args: tuple, kwargs: dict) -> Any:
        member = call.member
        username = member.account.username
        proj = self.pool.project(member.project)
        proj.user = username

        hidden = frozenset() if member.is_lead else call.blind

        def view(conn=None) -> data.HostView:
            return data.HostView(username, hidden, SuggestionReview(self.directory, member, call.blind, conn))

        try:
            if not call.write:
                proj.studio_view = view()
                out = fn(proj, *args, **kwargs)
                if call.export:  # a copy of project data leaves the server: who took what, and when
                    self.directory.record(member.project, member.account, "project.export", target=call.path,
                                          after={"export": call.export})
                return out
            with proj._store.transaction() as conn:
                proj.studio_view = view(conn.raw)
                action, target = studio_action(call.path)
                change = StudioChange(proj, action, target, {**(call.form or {}), "_path": call.path},
                                      proj.studio_view.suggestions)
                change.start()
                out = fn(proj, *args, **kwargs)
                before, after = change.finish(out)
                self.directory.record(member.project, member.account, action, target=target, before=before,
                                      after=after, conn=conn.raw)
                return out
        finally:
            proj.studio_view = None

    async def run(self, fn, *args: Any, coder: str | None = None, **kwargs: Any) -> Any:
        call = _CURRENT.get()
        return await self.pool.run(self._call, call, fn, args, kwargs)

    def call(self, fn, *args: Any, **kwargs: Any) -> Any:
        raise StudioError(500, "The team studio runs project calls only within a request.")


def _refuse(request: Request, status: int, message: str) -> Response:
    path = request.url.path
    if "/api/" in path or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": message}, status_code=status)
    return HTMLResponse(f"<!doctype html><title>Refused</title><p>{_esc(message)}</p>", status_code=status)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _buffered(request: Request, receive) -> tuple[Any, dict] | None:
    """Read a write's body once: its form or JSON fields (for the audit log) and a ``receive`` that replays it.

    A file upload (multipart) is not read here: the studio's handler streams it to disk with its own size
    limit.  Any other body over :data:`_FORM_LIMIT` bytes is refused (``None``): no studio form is that big.
    """
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/"):
        return receive, {}
    chunks, more, size = [], True, 0
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > _FORM_LIMIT:
            return None
        more = message.get("more_body", False)
    body = b"".join(chunks)
    fields: dict = {}
    try:
        if kind.startswith("application/x-www-form-urlencoded"):
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif kind.startswith("application/json"):
            parsed = json.loads(body or b"{}")
            fields = parsed if isinstance(parsed, dict) else {}
    except (UnicodeDecodeError, ValueError):
        fields = {}  # the studio's handler refuses it with its own message
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay, fields


class TeamStudio:
    """ASGI app mounted at ``/p/{project}``: membership and role checks, then the studio's own routes."""

    def __init__(self, pool, directory) -> None:
        self.pool, self.directory = pool, directory
        files = {p.name: p for p in (HERE / "static").iterdir() if p.suffix in _STATIC_TYPES}
        handlers = {exc: _handle for exc in (StudioError, RecoveryStudyError, ValueError, KeyError, LookupError,
                                             PermissionError, TypeError)}
        self.app = Starlette(routes=[Route("/static/{name}", _static(files))] + pages.ROUTES + api.ROUTES,
                             exception_handlers=handlers)
        self.app.state.auth = TeamAuth()
        self.app.state.worker = TeamWorker(pool, directory)
        self.app.state.project_name = _ProjectName()
        self.app.state.max_upload = 20_000_000

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        name = scope.get("path_params", {}).get("project", "")
        root = scope.get("root_path", "").rstrip("/")
        path = request.url.path
        inner = (path[len(root):] if root and path.startswith(root) else path) or "/"
        account = getattr(request.state, "account", None)
        member = None
        if account is not None and _PROJECT.fullmatch(name):
            member = await self.pool.run(self.directory.member, account, name)
        if member is None:
            return await _refuse(request, 404, "No such project among yours.")(scope, receive, send)
        write = request.method not in ("GET", "HEAD")
        if write and not member.can_code:
            return await _refuse(request, 403, "Your role in this project is viewer: you can read but not "
                                               "change it.")(scope, receive, send)
        lead_only = (write and _LEAD_WRITES.fullmatch(inner)) or _LEAD_READS.fullmatch(inner)
        if lead_only and not member.is_lead:
            return await _refuse(request, 403, "Only a lead of this project can do that.")(scope, receive, send)
        blind = frozenset(await self.pool.run(self.directory.blind_documents, member.project))
        form: dict = {}
        if write:
            buffered = await _buffered(request, receive)
            if buffered is None:
                return await _refuse(request, 413, "The request is too large.")(scope, receive, send)
            receive, form = buffered
        scope.setdefault("state", {})
        request.state.identity = TeamIdentity(session=getattr(request.state, "session", ""),
                                              name=account.username, can_code=member.can_code,
                                              can_edit_codebook=member.is_lead, csrf=request.state.csrf)
        export = inner + (f"?{request.url.query}" if request.url.query else "") \
            if not write and inner.startswith("/export/") else ""
        token = _CURRENT.set(_Call(member, blind, inner, write, form, export))

        async def send_prefixed(message) -> None:
            # the studio's handlers redirect to paths inside the studio: put them under /p/<project>
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                loc = headers.get("location", "")
                if loc.startswith("/") and not loc.startswith("//") and not loc.startswith(root + "/"):
                    headers["location"] = root + loc
            await send(message)

        try:
            await self.app(scope, receive, send_prefixed)
        finally:
            _CURRENT.reset(token)
