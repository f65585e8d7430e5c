"""Shared machinery of the studio's handlers: the project worker, templates, errors, CSRF, JSON."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from recoverystudy.errors import ConcurrentEditError, RecoveryStudyError
from recoverystudy.qual.project import Project
from recoverystudy.qual.revise import NothingToUndoError
from recoverystudy.studio.auth import Identity

__all__ = ["ProjectWorker", "StudioError", "render", "mutating", "identity", "coder_name", "json_body", "HERE"]

HERE = Path(__file__).resolve().parent

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")),
    autoescape=True,  # every {{ value }} is HTML-escaped; project data is never marked safe
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class StudioError(Exception):
    """A request the studio refuses, with the HTTP status and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ProjectWorker:
    """The studio's own connection to the project file, used from one thread.

    SQLite connections belong to the thread that opened them, so every project call runs on one
    worker thread (in order) while the web server's event loop stays free.  The connection is the
    studio's own: a notebook holding another :class:`~recoverystudy.Project` on the same file sees
    every change at once (WAL journalling), and the other way round.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rs-studio-db")
        self._project: Project | None = None
        self._lock = threading.Lock()

    def _call(self, fn: Callable, coder: str | None, args: tuple, kwargs: dict) -> Any:
        if self._project is None:
            self._project = Project.open(self.path)
        if coder:
            self._project.user = coder
        return fn(self._project, *args, **kwargs)

    async def run(self, fn: Callable, *args: Any, coder: str | None = None, **kwargs: Any) -> Any:
        """Run ``fn(project, *args, **kwargs)`` on the worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(self._call, fn, coder, args, kwargs))

    def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(project, ...)`` on the worker thread and wait (for code outside the event loop)."""
        return self._pool.submit(self._call, fn, None, args, kwargs).result()

    def close(self) -> None:
        """Close the studio's connection and stop the worker thread."""
        def _close(_p: Any = None) -> None:
            if self._project is not None:
                self._project.close()
                self._project = None
        with self._lock:
            try:
                self._pool.submit(_close).result()
            except RuntimeError:  # already shut down
                pass
            self._pool.shutdown(wait=True)


def identity(request: Request) -> Identity:
    return request.state.identity


def coder_name(request: Request) -> str:
    """The coder of this request, or 403 when no name has been chosen yet."""
    ident = identity(request)
    if not ident.name:
        raise StudioError(403, "Choose your coder name first (open the studio's home page).")
    if not ident.can_code:
        raise StudioError(403, "Your role can read this project but not code it.")
    return ident.name


def root_path(request: Request) -> str:
    """The prefix the studio is served under ("" for the local studio, ``/p/<project>`` on the team server)."""
    return request.scope.get("root_path", "").rstrip("/")


def route_path(request: Request) -> str:
    """The request's path inside the studio (without :func:`root_path`)."""
    path, root = request.url.path, root_path(request)
    return (path[len(root):] or "/") if root and path.startswith(root) else path


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with the navigation context (coder, CSRF token, project name)."""
    ident = identity(request)
    app = request.app
    context.setdefault("title", "")
    root = root_path(request)
    html = _ENV.get_template(template).render(
        coder=ident.name, csrf=app.state.auth.csrf_token(ident), project_name=app.state.project_name,
        path=route_path(request), root=root, **context)
    return HTMLResponse(html, status_code=status)


async def json_body(request: Request) -> dict:
    try:
        data = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise StudioError(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise StudioError(400, "The request body must be a JSON object.")
    return data


def int_param(value: Any, what: str) -> int:
    """An integer from a URL or body, or a 400 naming *what* was wrong."""
    if isinstance(value, bool):
        raise StudioError(400, f"{what} must be a whole number; got {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 19:
        return int(value)
    raise StudioError(400, f"{what} must be a whole number; got {str(value)[:40]!r}.")


def mutating(fn: Callable) -> Callable:
    """Refuse a state-changing request (403, nothing changed) unless it carries the session's CSRF token.

    The token comes in the ``X-CSRF-Token`` header (fetch calls) or the ``csrf_token`` form field.
    """

    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        token = request.headers.get("x-csrf-token")
        form = None
        if token is None:
            ctype = request.headers.get("content-type", "")
            if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                limit = request.app.state.max_upload
                length = request.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > limit + 65536:
                    raise StudioError(413, f"The upload is larger than {limit // 1_000_000} MB.")
                form = await request.form(max_files=1, max_fields=200)
                token = form.get("csrf_token")
        try:
            if not request.app.state.auth.check_csrf(identity(request), token if isinstance(token, str) else None):
                raise StudioError(403, "This request is missing its security token (CSRF); reload the page and "
                                       "try again.")
            return await fn(request)
        finally:
            if form is not None:
                await form.close()  # uploaded files are spooled to temporary files: close them now

    wrapper.mutating = True  # type: ignore[attr-defined]
    return wrapper


def host_name(host: str) -> str:
    """The host name of a ``Host`` header, lower-cased and without its port (``[::1]:8000`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:port
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def error_status(exc: Exception) -> int:
    """The HTTP status for an error a handler raised (the local studio's and the team server's)."""
    if isinstance(exc, StudioError):
        return exc.status
    if isinstance(exc, PermissionError):
        return 403
    if isinstance(exc, (NothingToUndoError, ConcurrentEditError)):
        return 409
    if isinstance(exc, LookupError) and not isinstance(exc, RecoveryStudyError):
        return 404
    return 400


def error_message(exc: Exception) -> str:
    """The plain message of an error a handler raised (a KeyError's own text, not its quoted repr)."""
    if isinstance(exc, StudioError):
        return exc.message
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def error_response(request: Request, status: int, message: str) -> Response:
    if route_path(request).startswith("/api/") or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": message}, status_code=status)
    ident = getattr(request.state, "identity", None)
    if ident is None:
        return HTMLResponse(_ENV.get_template("locked.html").render(message=message), status_code=status)
    return render(request, "error.html", status=status, title="Something went wrong", message=message)
