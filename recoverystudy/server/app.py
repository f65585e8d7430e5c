"""The team server's web application: :func:`create_team_app`.

Every request except the login and invitation pages must carry a live session cookie (HttpOnly,
SameSite=Strict, Secure unless turned off for plain-HTTP tests on localhost); a new session id is
made at every login (no fixation), and logout revokes it on the server.  Every state-changing
request must carry the session's CSRF token (``X-CSRF-Token`` header or ``csrf_token`` form field).
Every project request is checked against the caller's membership of that project (the project is
named in the URL; ids inside it are looked up only in that project's own schema), and against the
role: viewers read, coders code and write memos on their own coding, leads also edit the codebook,
freeze framework versions, manage members, hide and release documents for blind double-coding, and
read or export the audit log and the project.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from recoverystudy.errors import RecoveryStudyError
from recoverystudy.server import routes
from recoverystudy.server.access import ProjectPool
from recoverystudy.server.directory import Directory, TeamServerError
from recoverystudy.server.pages import page
from recoverystudy.server.studio import TeamStudio
from recoverystudy.studio.app import SECURITY_HEADERS
from recoverystudy.studio._web import StudioError, error_message, error_status, host_name

__all__ = ["create_team_app", "COOKIE"]

COOKIE = "rs_team_session"


class _Guard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next) -> Response:
        state = request.app.state
        if state.allowed_hosts and host_name(request.headers.get("host", "")) not in state.allowed_hosts:
            return _secure(PlainTextResponse("Refused: unknown server address.", 403))
        request.state.account = None
        session = request.cookies.get(state.cookie)
        if session:
            found = await state.pool.run(state.directory.session, session)
            if found is not None:
                request.state.account, request.state.csrf = found
                request.state.session = session
        public = request.url.path == "/login" or request.url.path.startswith("/invite/")
        if request.state.account is None and not public:
            if request.url.path.startswith("/api/"):
                return _secure(JSONResponse({"error": "Log in first."}, status_code=401))
            # a page (or the Back button after logging out) shows the login form itself
            return _secure(page("login.html", 401, title="Log in", message="Log in first."))
        if request.method not in ("GET", "HEAD") and public:
            # login and invitation forms: refuse cross-site posts (no session to tie a token to)
            # (our Referrer-Policy: no-referrer makes browsers send "Origin: null" with a form post; then the
            # browser's Sec-Fetch-Site must say the form came from this site)
            origin = request.headers.get("origin")
            fetch_site = request.headers.get("sec-fetch-site")
            if origin == "null":
                if fetch_site != "same-origin":
                    return _secure(PlainTextResponse("Refused: a form from another site.", 403))
            elif origin is not None and host_name(origin.split("://", 1)[-1].split("/", 1)[0]) != \
                    host_name(request.headers.get("host", "")):
                return _secure(PlainTextResponse("Refused: a form from another site.", 403))
            if fetch_site not in (None, "same-origin", "none"):
                return _secure(PlainTextResponse("Refused: a form from another site.", 403))
        elif request.method not in ("GET", "HEAD"):
            token = request.headers.get("x-csrf-token")
            if token is None and request.headers.get("content-type", "").startswith(_FORMS):
                token = await _form_token(request)
                if isinstance(token, Response):
                    return _secure(token)
            if not isinstance(token, str) or not hmac.compare_digest(token.encode(), request.state.csrf.encode()):
                return _secure(JSONResponse({"error": "This request is missing its security token (CSRF); "
                                                      "reload the page and try again."}, status_code=403))
        return _secure(await call_next(request))


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_FORM_OVERHEAD = 65_536  # a form's other fields and part headers, on top of the largest upload


async def _form_token(request: Request) -> str | None | Response:
    """The ``csrf_token`` field of a form post (an HTML form, or a document upload), or a refusal.

    The body is read at most up to the upload limit (``app.state.max_upload``; a larger declared
    Content-Length is refused before anything is read, a longer chunked body as soon as it passes the
    limit) and kept: the handler then reads the same body again, whole (Starlette's
    BaseHTTPMiddleware replays a body read with ``Request.body()`` to the application).
    """
    limit = request.app.state.max_upload + _FORM_OVERHEAD
    too_big = PlainTextResponse(f"Refused: the upload is larger than {request.app.state.max_upload / 1e6:g} MB.",
                                413)
    length = request.headers.get("content-length")
    if length is not None and (not length.strip().isdigit() or int(length) > limit):
        return too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_big
        chunks.append(chunk)
    request._body = b"".join(chunks)  # what Request.body() caches: replayed to the handler
    try:
        form = await request.form(max_files=1, max_fields=1000)
    except (HTTPException, MultiPartException):
        return PlainTextResponse("Refused: the form could not be read.", 400)
    try:
        token = form.get("csrf_token")
    finally:
        await form.close()  # an uploaded file is spooled to a temporary file: close it now
    return token if isinstance(token, str) else None


def _secure(response: Response) -> Response:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def _status(exc: Exception) -> int:
    return exc.status if isinstance(exc, TeamServerError) else error_status(exc)


async def _handle(request: Request, exc: Exception) -> Response:
    message = error_message(exc)
    return _secure(JSONResponse({"error": message}, status_code=_status(exc)))


def create_team_app(db: str, *, secure_cookies: bool = True, allowed_hosts: Iterable[str] = (),
                    session_hours: float = 12.0, max_failures: int = 5, threads: int = 8,
                    base_url: str = "", max_upload: int = 20_000_000) -> Starlette:
    """The team server as an ASGI application (``recoverystudy serve`` runs it with uvicorn).

    Parameters
    ----------
    db : str
        The PostgreSQL database holding the projects and the server's tables, ``postgresql://user@host/db``.
    secure_cookies : bool
        Mark the session cookie Secure (sent over HTTPS only).  Turn off only for plain-HTTP tests on localhost.
    allowed_hosts : iterable of str
        Host names the Host header may carry (empty: any, when a reverse proxy checks it).
    session_hours : float
        Session lifetime after login.
    max_failures : int
        Failed logins per user name within 15 minutes before logins are refused (429).
    threads : int
        Database worker threads.
    base_url : str
        The public address (for invitation links), e.g. ``https://qual.example.ac.uk``.
    max_upload : int
        Largest document a lead may upload through the coding pages, in bytes (a larger upload is
        refused before it is read).

    Examples
    --------
    >>> create_team_app.__name__
    'create_team_app'
    """
    directory = Directory(db, session_hours=session_hours, max_failures=max_failures)
    pool = ProjectPool(db, directory, threads=threads)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        pool.close()

    handlers = {exc: _handle for exc in (TeamServerError, StudioError, RecoveryStudyError, ValueError, KeyError,
                                         LookupError, PermissionError, TypeError)}
    team_studio = TeamStudio(pool, directory)
    team_studio.app.state.max_upload = int(max_upload)
    studio = Mount("/p/{project}", app=team_studio)  # the coding studio's pages, per project
    app = Starlette(routes=[Route(*r[:2], methods=r[2]) for r in routes.ROUTES] + [studio],
                    middleware=[Middleware(_Guard)], exception_handlers=handlers, lifespan=lifespan)
    app.state.directory = directory
    app.state.pool = pool
    app.state.secure_cookies = bool(secure_cookies)
    app.state.cookie = ("__Host-" if secure_cookies else "") + COOKIE
    app.state.session_seconds = int(session_hours * 3600)
    app.state.allowed_hosts = {h.lower() for h in allowed_hosts}
    app.state.base_url = base_url.rstrip("/")
    app.state.max_upload = int(max_upload)
    return app
