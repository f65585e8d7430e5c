"""The team server's routes: login, invitations, and the membership-scoped project API.

Each project handler first resolves the caller's membership of the project named in the URL
(:func:`_member`; a project they do not belong to does not exist for them: 404), then checks the
role, then runs the work on a database worker thread with the caller's user name as the coder.
Every write is recorded in the audit log with its before and after.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from recoverystudy.server.blind import SuggestionReview, suggestion_rows
from recoverystudy.server.changes import code_record, memos_of, segment_record, suggestion_record
from recoverystudy.server.directory import ROLES, Member, TeamServerError
from recoverystudy.server.pages import page
from recoverystudy.studio import data
from recoverystudy.studio._web import int_param

__all__ = ["ROUTES"]

_PROJECT = re.compile(r"[a-z][a-z0-9_]{0,39}")


# -- helpers -----------------------------------------------------------------------------------------
async def _body(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise TeamServerError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise TeamServerError("The request body must be a JSON object.")
    return body


def _text(body: dict, key: str, *, limit: int = 100_000, required: bool = True) -> str:
    val = body.get(key, "" if not required else None)
    if not isinstance(val, str) or (required and not val.strip()):
        raise TeamServerError(f"{key} must be non-empty text.")
    if len(val) > limit:
        raise TeamServerError(f"{key} can be at most {limit:,} characters.")
    return val


async def _member(request: Request, need: str = "viewer") -> Member:
    """The caller's membership of the project in the URL, with at least the role *need*."""
    name = request.path_params["project"]
    account = request.state.account
    state = request.app.state
    member = None
    if _PROJECT.fullmatch(name):
        member = await state.pool.run(state.directory.member, account, name)
    if member is None:
        raise TeamServerError("No such project among yours.", 404)
    if need == "coder" and not member.can_code:
        raise TeamServerError("Your role in this project is viewer: you can read but not change it.", 403)
    if need == "lead" and not member.is_lead:
        raise TeamServerError("Only a lead of this project can do that.", 403)
    return member


class _InTransaction:
    """The directory, with :meth:`record` writing the audit entry in the project's open transaction."""

    def __init__(self, directory, conn) -> None:
        self._directory, self._conn = directory, conn

    def record(self, *args: Any, **kwargs: Any) -> None:
        self._directory.record(*args, conn=self._conn, **kwargs)

    def set_blind(self, *args: Any) -> None:
        self._directory.set_blind(*args, conn=self._conn)

    def blind_documents(self, project: str) -> set[int]:
        return self._directory.blind_documents(project, conn=self._conn)

    def blind_decisions(self, project: str, conn=None) -> list[dict]:
        return self._directory.blind_decisions(project, conn=self._conn)

    def add_blind_decision(self, *args: Any, conn=None) -> int:
        return self._directory.add_blind_decision(*args, conn=self._conn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._directory, name)


async def _work(request: Request, member: Member, fn, *, write: bool = False, view: bool = True) -> Any:
    """Run ``fn(project, directory)`` on a worker thread, as *member*'s user name.

    With *write*, the whole of *fn* is one transaction of the project holding its write lock, and
    the audit entries it records are part of it: a change and its audit entry are committed together
    or not at all (the server's tables live in the same database).  With *view*, the project carries
    the member's view for blind double-coding (``proj.studio_view``, ``.suggestions`` their suggestion
    review); a handler that reads nothing of others' work may skip it.
    """
    state = request.app.state

    def call():
        proj = state.pool.project(member.project)
        proj.user = username = member.account.username
        try:
            if not write and not view:
                return fn(proj, state.directory)
            if not write:
                blind = frozenset(state.directory.blind_documents(member.project))
                proj.studio_view = data.HostView(username, frozenset() if member.is_lead else blind,
                                                 SuggestionReview(state.directory, member, blind))
                return fn(proj, state.directory)
            with proj._store.transaction() as conn:
                d = _InTransaction(state.directory, conn.raw)
                if not view:
                    return fn(proj, d)
                blind = frozenset(d.blind_documents(member.project))
                proj.studio_view = data.HostView(username, frozenset() if member.is_lead else blind,
                                                 SuggestionReview(d, member, blind, conn.raw))
                return fn(proj, d)
        finally:
            proj.studio_view = None

    return await state.pool.run(call)


def _visible(member: Member, directory, doc_id: int, segments: list[dict]) -> list[dict]:
    """Blind double-coding: on a hidden document a coder or viewer sees only their own coding."""
    if member.is_lead or doc_id not in directory.blind_documents(member.project):
        return segments
    return [s for s in segments if s["coder"] == member.account.username]


def _seg_of(member: Member, directory, proj, seg_id: int) -> dict:
    detail = data.segment_detail(proj, seg_id)
    if not _visible(member, directory, detail["document_id"], [detail]):
        raise KeyError(f"No segment {seg_id} in this project.")  # hidden: as if it did not exist
    return detail


def _cookie_kwargs(request: Request) -> dict:
    state = request.app.state
    return dict(httponly=True, samesite="strict", secure=state.secure_cookies, path="/")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- pages: login, logout, invitations, home ---------------------------------------------------------
async def login_page(request: Request) -> Response:
    return page("login.html", title="Log in")


async def login(request: Request) -> Response:
    state = request.app.state
    form = await request.form(max_fields=10)
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return page("login.html", 400, title="Log in", message="Give your user name and password.")
    old = request.cookies.get(state.cookie)
    try:
        account, session, _csrf = await state.pool.run(state.directory.login, username, password, _client(request))
    except TeamServerError as exc:
        return page("login.html", exc.status, title="Log in", message=exc.message)
    if old:
        await state.pool.run(state.directory.revoke, old)  # whatever id the browser had is never reused
    await state.pool.run(state.directory.record, None, account, "login", target=_client(request))
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(state.cookie, session, max_age=state.session_seconds, **_cookie_kwargs(request))
    return response


async def logout(request: Request) -> Response:
    state = request.app.state
    await state.pool.run(state.directory.revoke, request.state.session)
    await state.pool.run(state.directory.record, None, request.state.account, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(state.cookie, **_cookie_kwargs(request))
    return response


async def invite_page(request: Request) -> Response:
    state = request.app.state
    inv = await state.pool.run(state.directory.invitation, request.path_params["token"])
    if inv is None:
        return page("invite.html", 410, title="Invitation", invitation=None,
                    message="This invitation link is not valid: it was already used or has expired.")
    return page("invite.html", title="Invitation", invitation=inv)


async def accept(request: Request) -> Response:
    state = request.app.state
    form = await request.form(max_fields=10)
    fields = [form.get(k) for k in ("username", "password", "display_name")]
    if not all(isinstance(f, str) for f in fields[:2]):
        return page("invite.html", 400, title="Invitation", invitation=None, message="Fill in every field.")
    try:
        await state.pool.run(state.directory.accept, request.path_params["token"], *fields)
    except TeamServerError as exc:
        return page("invite.html", exc.status, title="Invitation", invitation=None, message=exc.message)
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    state = request.app.state
    projects = await state.pool.run(state.directory.projects, request.state.account)
    return page("home.html", title="Your projects", account=request.state.account, projects=projects,
                csrf=request.state.csrf)


async def password_page(request: Request) -> Response:
    return page("password.html", title="Change my password", account=request.state.account,
                csrf=request.state.csrf, done=False)


async def change_password(request: Request) -> Response:
    """A person changes their own password (current one + new one twice); their other sessions end."""
    state = request.app.state
    account = request.state.account
    form = await request.form(max_fields=10)
    current, new, again = (form.get(k) for k in ("current", "new", "again"))
    show = dict(title="Change my password", account=account, csrf=request.state.csrf, done=False)
    if not all(isinstance(f, str) and f for f in (current, new, again)):
        return page("password.html", 400, message="Fill in every field.", **show)
    if new != again:
        return page("password.html", 400, message="The two new passwords differ; type the same one twice.", **show)
    try:
        ended = await state.pool.run(state.directory.change_password, account, current, new, _client(request),
                                     keep_session=request.state.session)
    except TeamServerError as exc:
        return page("password.html", exc.status, message=exc.message, **show)
    return page("password.html", **{**show, "done": True, "ended": ended})


async def me(request: Request) -> JSONResponse:
    state = request.app.state
    account = request.state.account
    return JSONResponse({"username": account.username, "display_name": account.display_name,
                         "csrf_token": request.state.csrf,
                         "projects": await state.pool.run(state.directory.projects, account)})


# -- reading -----------------------------------------------------------------------------------------
async def documents(request: Request) -> JSONResponse:
    member = await _member(request)

    def read(p, d):
        hidden = d.blind_documents(member.project)
        frame = p.documents()
        return [{"id": int(r.document_id), "name": r.name, "case": r.case if isinstance(r.case, str) else None,
                 "n_chars": int(r.n_chars), "blind": int(r.document_id) in hidden} for r in frame.itertuples()]

    return JSONResponse({"documents": await _work(request, member, read)})


async def document(request: Request) -> JSONResponse:
    member = await _member(request)
    doc_id = int_param(request.path_params["doc_id"], "The document id")

    def read(p, d):
        p._doc_id(doc_id)
        view = data.document_view(p, doc_id)
        view["segments"] = _visible(member, d, doc_id, view["segments"])
        view["blind"] = doc_id in d.blind_documents(member.project)
        return view

    return JSONResponse(await _work(request, member, read))


async def codes(request: Request) -> JSONResponse:
    member = await _member(request)

    def read(p, d):
        frame = p.codes()
        return [{"id": int(r.code_id), "path": r.path, "name": r.name, "version": p.code_version(int(r.code_id))}
                for r in frame.itertuples()]

    return JSONResponse({"codes": await _work(request, member, read)})


# -- coding (coders and leads) -----------------------------------------------------------------------
async def add_coding(request: Request) -> JSONResponse:
    member = await _member(request, "coder")
    doc_id = int_param(request.path_params["doc_id"], "The document id")
    body = await _body(request)
    code = _text(body, "code", limit=400)
    start, end = int_param(body.get("start"), "start"), int_param(body.get("end"), "end")

    def write(p, d):
        seg = p.code(doc_id, start, end, code, coder=member.account.username)
        after = {"segment": int(seg), "document": doc_id, "code": code, "start": start, "end": end,
                 "coder": member.account.username}  # as segment_record(p, seg) reads it back
        d.record(member.project, member.account, "segment.code", target=int(seg), after=after)
        return after

    # the hot path of a team coding at once: no other coder's work is read, so no blind view is needed
    return JSONResponse(await _work(request, member, write, write=True, view=False), status_code=201)


async def remove_coding(request: Request) -> JSONResponse:
    member = await _member(request, "coder")
    seg_id = int_param(request.path_params["seg_id"], "The coding id")

    def write(p, d):
        _seg_of(member, d, p, seg_id)
        before = {**segment_record(p, seg_id), "memos": memos_of(p, seg_id)}  # where, whose; never the text
        p.uncode(seg_id, coder=member.account.username, others=member.is_lead)
        d.record(member.project, member.account, "segment.remove", target=seg_id, before=before)
        return {"removed": seg_id}

    return JSONResponse(await _work(request, member, write, write=True))


async def memo(request: Request) -> JSONResponse:
    member = await _member(request, "coder")
    seg_id = int_param(request.path_params["seg_id"], "The coding id")
    text = _text(await _body(request), "text")

    def write(p, d):
        _seg_of(member, d, p, seg_id)
        memo_id = p.add_memo(text, on="segment", target=seg_id, author=member.account.username)
        d.record(member.project, member.account, "memo.add", target=seg_id,
                 after={"segment": seg_id, "memos": memos_of(p, seg_id, after=int(memo_id) - 1)})
        return {"memo": int(memo_id)}

    return JSONResponse(await _work(request, member, write, write=True), status_code=201)


# -- the codebook and framework versions (leads) -----------------------------------------------------
async def add_code(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    body = await _body(request)
    path = _text(body, "path", limit=400)
    name = _text(body, "name", limit=400, required=False) or None
    definition = _text(body, "definition", required=False)

    def write(p, d):
        code_id = p.add_code(path, name=name, definition=definition)
        d.record(member.project, member.account, "code.add", target=path, after=code_record(p, code_id))
        return {"id": int(code_id), "version": p.code_version(int(code_id))}

    return JSONResponse(await _work(request, member, write, write=True), status_code=201)


async def rename_code(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    code_id = int_param(request.path_params["code_id"], "The code id")
    body = await _body(request)
    name = _text(body, "name", limit=400)
    expected = body.get("version")
    if expected is not None and not isinstance(expected, str):
        raise TeamServerError("version must be the text the codes list gave.")

    def write(p, d):
        before = code_record(p, code_id)
        if before is None:
            raise KeyError(f"No code {code_id} in this project.")
        version = p.rename_code(code_id, name, expected_version=expected)
        d.record(member.project, member.account, "code.rename", target=before["path"], before=before,
                 after=code_record(p, code_id))
        return {"id": code_id, "name": name, "version": version}

    return JSONResponse(await _work(request, member, write, write=True))


async def freeze(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    note = _text(await _body(request), "note", limit=2000)

    def write(p, d):
        version = p.freeze_framework(note)
        d.record(member.project, member.account, "framework.freeze", target=int(version),
                 after={"version": int(version), "note": note})
        return {"version": int(version)}

    return JSONResponse(await _work(request, member, write, write=True), status_code=201)


# -- suggestions (each coder decides on their own on hidden documents) --------------------------------
async def suggestions(request: Request) -> JSONResponse:
    member = await _member(request)
    status = request.query_params.get("status", "pending")
    if status not in ("pending", "accepted", "rejected", "all"):
        raise TeamServerError("status must be pending, accepted, rejected or all.")
    doc = request.query_params.get("document")
    doc_id = int_param(doc, "The document id") if doc else None

    def read(p, d):
        return suggestion_rows(p, p.studio_view.suggestions, status=None if status == "all" else status,
                               document=doc_id)

    return JSONResponse({"suggestions": await _work(request, member, read)})


async def suggestion(request: Request) -> JSONResponse:
    member = await _member(request)
    sug_id = int_param(request.path_params["sug_id"], "The suggestion id")

    def read(p, d):
        rows = suggestion_rows(p, p.studio_view.suggestions, suggestion=sug_id)
        if not rows:
            raise KeyError(f"No suggestion {sug_id} in this project.")
        return rows[0]

    return JSONResponse(await _work(request, member, read))


async def make_suggestions(request: Request) -> JSONResponse:
    member = await _member(request, "coder")

    def write(p, d):
        ids = [int(i) for i in p.suggest()["suggestion_id"]]
        after = {"created": len(ids), "first": ids[0] if ids else None, "last": ids[-1] if ids else None}
        d.record(member.project, member.account, "suggestion.make", after=after)
        return after

    return JSONResponse(await _work(request, member, write, write=True), status_code=201)


async def decide(request: Request) -> JSONResponse:
    member = await _member(request, "coder")
    sug_id = int_param(request.path_params["sug_id"], "The suggestion id")
    body = await _body(request)
    decision = body.get("decision")
    if decision not in ("accept", "reject"):
        raise TeamServerError("decision must be accept or reject.")
    reason = _text(body, "reason", limit=2000, required=False) or None

    def write(p, d):
        review = p.studio_view.suggestions
        before = suggestion_record(p, review, sug_id)
        segment = review.decide(p, sug_id, decision, reason)  # not found, or not for this member: KeyError
        after = suggestion_record(p, review, sug_id)
        d.record(member.project, member.account, "suggestion.decide", target=sug_id, before=before, after=after)
        return {"suggestion": sug_id, "status": after["status"], "segment": segment, "blind": after["blind"]}

    return JSONResponse(await _work(request, member, write, write=True))


# -- the framework matrix and agreement (what the member may see) ------------------------------------
async def matrix(request: Request) -> JSONResponse:
    member = await _member(request)
    theme = request.query_params.get("theme") or None

    def read(p, d):
        view = data.matrix_view(p, theme)
        rows = [{"group": r["group"], "case": r["case"], "cells": r["cells"]} for g in view.get("groups", [])
                for r in g["rows"]]
        return {"theme": view["theme"], "codes": view["codes"], "rows": rows, "n_hidden": view["n_hidden"]}

    return JSONResponse(await _work(request, member, read))


async def matrix_cell(request: Request) -> JSONResponse:
    member = await _member(request)
    case, code = request.query_params.get("case", ""), request.query_params.get("code", "")

    def read(p, d):
        return data.cell_view(p, case, code)

    return JSONResponse(await _work(request, member, read))


async def agreement(request: Request) -> JSONResponse:
    member = await _member(request)
    coders = request.query_params.getlist("coders")
    documents = request.query_params.getlist("documents")
    unit = request.query_params.get("unit", "character")
    if unit not in ("character", "sentence"):
        raise TeamServerError("unit must be character or sentence.")

    def read(p, d):
        view = data.agreement_view(p, coders, documents, unit)
        if view["n_hidden"]:
            n = view["n_hidden"]
            view["note"] = (f"{n} document{'' if n == 1 else 's'} hidden for blind double-coding "
                            f"{'is' if n == 1 else 'are'} left out until the lead releases "
                            f"{'it' if n == 1 else 'them'}.")
        return view

    return JSONResponse(await _work(request, member, read))


# -- members, blind coding, audit, export (leads) ----------------------------------------------------
async def members(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    state = request.app.state
    return JSONResponse({"members": await state.pool.run(state.directory.members, member.project)})


async def invite(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    body = await _body(request)
    role, hours = body.get("role"), body.get("hours", 72)
    if role not in ROLES or isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise TeamServerError(f"role must be one of {', '.join(ROLES)} and hours a number.")
    state = request.app.state

    def write():
        token = state.directory.invite(member.project, role, hours=float(hours), by=member.account)
        state.directory.record(member.project, member.account, "member.invite", after={"role": role, "hours": hours})
        return token

    token = await state.pool.run(write)
    return JSONResponse({"link": f"{state.base_url}/invite/{token}", "role": role}, status_code=201)


async def remove_member(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    username = _text(await _body(request), "username", limit=80)
    state = request.app.state

    def write():
        d = state.directory
        account = d.account(username)
        old = d.member(account, member.project) if account else None
        if old is None:
            raise TeamServerError(f"{username!r} is not a member of this project.", 404)
        d.remove_member(member.project, account)
        d.record(member.project, member.account, "member.remove", target=username, before={"role": old.role})
        return {"removed": username}

    return JSONResponse(await state.pool.run(write))


async def blind(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    body = await _body(request)
    docs, hidden = body.get("documents"), body.get("hidden")
    if not isinstance(docs, list) or not isinstance(hidden, bool):
        raise TeamServerError("Give documents (a list of document ids) and hidden (true or false).")
    ids = [int_param(x, "A document id") for x in docs]

    def write(p, d):
        for doc in ids:
            p._doc_id(doc)  # each id must be a document of THIS project
        before = sorted(d.blind_documents(member.project))
        d.set_blind(member.project, ids, hidden)
        after = sorted(d.blind_documents(member.project))
        d.record(member.project, member.account, "blind.hide" if hidden else "blind.release", target=ids,
                 before=before, after=after)
        return {"blind": after}

    return JSONResponse(await _work(request, member, write, write=True))


async def audit(request: Request) -> JSONResponse:
    member = await _member(request, "lead")
    state = request.app.state
    return JSONResponse({"audit": await state.pool.run(state.directory.audit, member.project)})


async def audit_csv(request: Request) -> Response:
    member = await _member(request, "lead")
    state = request.app.state
    text = await state.pool.run(state.directory.audit_csv, member.project)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{member.project}-audit.csv"'})


async def export_qdpx(request: Request) -> Response:
    member = await _member(request, "lead")

    def write(p, d):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{member.project}.qdpx"
            p.export_qdpx(out)
            d.record(member.project, member.account, "project.export", after={"format": "qdpx"})
            return out.read_bytes()

    content = await _work(request, member, write)
    return Response(content, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{member.project}.qdpx"'})


_P = "/api/projects/{project}"
ROUTES = [
    ("/login", login_page, ["GET"]),
    ("/login", login, ["POST"]),
    ("/logout", logout, ["POST"]),
    ("/invite/{token}", invite_page, ["GET"]),
    ("/invite/{token}", accept, ["POST"]),
    ("/", home, ["GET"]),
    ("/account/password", password_page, ["GET"]),
    ("/account/password", change_password, ["POST"]),
    ("/api/me", me, ["GET"]),
    (_P + "/documents", documents, ["GET"]),
    (_P + "/documents/{doc_id}", document, ["GET"]),
    (_P + "/documents/{doc_id}/segments", add_coding, ["POST"]),
    (_P + "/segments/{seg_id}/remove", remove_coding, ["POST"]),
    (_P + "/segments/{seg_id}/memo", memo, ["POST"]),
    (_P + "/codes", codes, ["GET"]),
    (_P + "/codes", add_code, ["POST"]),
    (_P + "/codes/{code_id}/rename", rename_code, ["POST"]),
    (_P + "/framework/freeze", freeze, ["POST"]),
    (_P + "/suggestions", suggestions, ["GET"]),
    (_P + "/suggestions/make", make_suggestions, ["POST"]),
    (_P + "/suggestions/{sug_id}", suggestion, ["GET"]),
    (_P + "/suggestions/{sug_id}/decide", decide, ["POST"]),
    (_P + "/matrix", matrix, ["GET"]),
    (_P + "/matrix/cell", matrix_cell, ["GET"]),
    (_P + "/agreement", agreement, ["GET"]),
    (_P + "/members", members, ["GET"]),
    (_P + "/members/invite", invite, ["POST"]),
    (_P + "/members/remove", remove_member, ["POST"]),
    (_P + "/blind", blind, ["POST"]),
    (_P + "/audit", audit, ["GET"]),
    (_P + "/audit.csv", audit_csv, ["GET"]),
    (_P + "/export.qdpx", export_qdpx, ["GET"]),
]
