"""The coding studio: the Framework Method in the browser, on the same project file and library API.

Start it with ``rs.studio(proj, coder="AB")`` in a notebook (this module is callable: it runs
:func:`studio`), or ``recoverystudy studio study.rsqda`` on the command line.  It serves a local web
page on 127.0.0.1; :func:`create_app` builds the application and
:class:`~recoverystudy.studio.auth.LocalTokenAuth` is its pluggable identity layer.

The web server (uvicorn) is imported only when a studio is started, so ``import recoverystudy``
stays light.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from recoverystudy.studio.app import create_app
from recoverystudy.studio.auth import Identity, LocalTokenAuth

__all__ = ["create_app", "Identity", "LocalTokenAuth", "Studio", "studio", "serve"]


def studio(project, *, coder: str | None = None, port: int | None = None):
    """Start the coding studio for *project* in the background and return it (shows the link in a notebook).

    The studio opens its own connection to the project file, so codings made in the page show in
    ``proj.segments()`` at once, and the other way round.  ``rs.studio(...)`` calls this function.

    Parameters
    ----------
    project : Project, str or pathlib.Path
    coder : str, optional
        Who is coding (asked in the page otherwise).
    port : int, optional
        Default: a free port.

    Returns
    -------
    Studio
        With ``.url`` (the link, carrying the access key) and ``.stop()``.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
    >>> s = rs.studio(proj, coder="AB")
    >>> s.url.startswith("http://127.0.0.1:")
    True
    >>> s.stop(); s.running
    False
    >>> proj.close()
    """
    from recoverystudy.studio import server  # uvicorn (and click) only when a studio starts

    return server.Studio(project, coder=coder, port=port)


def serve(path: str | Path, *, coder: str | None = None, port: int | None = None, open_browser: bool = True,
          echo=print) -> None:
    """Run the studio in the foreground until interrupted (the ``recoverystudy studio`` command)."""
    from recoverystudy.studio import server

    server.serve(path, coder=coder, port=port, open_browser=open_browser, echo=echo)


def __getattr__(name: str) -> Any:
    if name == "Studio":
        from recoverystudy.studio.server import Studio

        return Studio
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """``rs.studio`` is this package; calling it starts a studio (see :func:`studio`)."""

    def __call__(self, project, *, coder: str | None = None, port: int | None = None):
        return studio(project, coder=coder, port=port)


sys.modules[__name__].__class__ = _CallableModule
