"""The coding studio's web application: :func:`create_app`.

Every request passes the guard first: the Host header must name the address the studio serves
(against DNS rebinding), then the auth layer must know the session (a token in the first URL is
exchanged for an HttpOnly, SameSite=Strict cookie).  Every response carries a strict
Content-Security-Policy (scripts and styles only from the studio itself, no inline code), and is
never cached.  Writes go through :class:`~recoverystudy.Project` methods on the studio's own
connection to the project file (see :class:`~recoverystudy.studio._web.ProjectWorker`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from recoverystudy.qual.project import Project
from recoverystudy.studio import api, pages
from recoverystudy.errors import RecoveryStudyError
from recoverystudy.studio._web import (HERE, ProjectWorker, StudioError, error_message, error_response, error_status,
                                       host_name)
from recoverystudy.studio.auth import LocalTokenAuth

__all__ = ["create_app", "CSP", "SECURITY_HEADERS"]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'")
SECURITY_HEADERS = {  # on every response, here and on the team server
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".svg": "image/svg+xml", ".png": "image/png"}


class _Guard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next) -> Response:
        state = request.app.state
        if host_name(request.headers.get("host", "")) not in state.allowed_hosts:
            return self._secure(PlainTextResponse(
                "Refused: this page was asked for under a different address than the studio serves.", 403))
        response = state.auth.login(request)
        if response is not None:
            return self._secure(response)
        ident = state.auth.authenticate(request)
        if ident is None:
            return self._secure(error_response(request, 401, "Open the studio with the link that was printed when it "
                                                              "started (it carries a secret access key)."))
        request.state.identity = ident
        return self._secure(await call_next(request))

    @staticmethod
    def _secure(response: Response) -> Response:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response


def _static(files: dict[str, Path]):
    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = files.get(name)  # only the studio's own files, by exact name: no path ever reaches the disk
        if path is None:
            raise StudioError(404, "No such file.")
        return Response(path.read_bytes(), media_type=_STATIC_TYPES[path.suffix])
    return static


async def _handle(request: Request, exc: Exception) -> Response:
    return error_response(request, error_status(exc), error_message(exc))


def create_app(project: Project | str | Path, *, auth=None, coder: str | None = None,
               allowed_hosts: Iterable[str] = ("127.0.0.1", "localhost"),
               max_upload: int = 20_000_000) -> Starlette:
    """The coding studio as an ASGI application (run it with uvicorn, or use :func:`recoverystudy.studio.studio`).

    Parameters
    ----------
    project : Project, str or pathlib.Path
        The project (or its file).  The studio opens its own connection to the same file.
    auth : object, optional
        The identity layer (default :class:`~recoverystudy.studio.auth.LocalTokenAuth`, with *coder*).
        It must offer ``login(request)``, ``authenticate(request)``, ``set_name(identity, name)``,
        ``csrf_token(identity)`` and ``check_csrf(identity, token)``.
    coder : str, optional
        Who is coding (local studio); asked in the page when not given.
    allowed_hosts : iterable of str
        Host names the Host header may carry (DNS-rebinding defence).
    max_upload : int
        Largest document upload in bytes.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
    >>> app = create_app(proj, auth=LocalTokenAuth(coder="AB"))
    >>> sorted(app.state.allowed_hosts)
    ['127.0.0.1', 'localhost']
    >>> app.state.worker.close(); proj.close()
    """
    path = Path(project.path if isinstance(project, Project) else project)
    if not path.is_file():
        raise FileNotFoundError(f"No project file at {path}.")
    auth = auth if auth is not None else LocalTokenAuth(coder=coder)
    worker = ProjectWorker(path)
    files = {p.name: p for p in (HERE / "static").iterdir() if p.suffix in _STATIC_TYPES}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        worker.close()

    routes = [Route("/static/{name}", _static(files))] + pages.ROUTES + api.ROUTES
    handlers = {exc: _handle for exc in (StudioError, RecoveryStudyError, ValueError, KeyError, LookupError,
                                         PermissionError, TypeError)}
    app = Starlette(routes=routes, middleware=[Middleware(_Guard)], exception_handlers=handlers,
                    lifespan=lifespan)
    app.state.auth = auth
    app.state.worker = worker
    app.state.project_name = path.name
    app.state.project_path = path
    app.state.allowed_hosts = {h.lower() for h in allowed_hosts}
    app.state.max_upload = int(max_upload)
    return app
