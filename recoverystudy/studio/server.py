"""Running the coding studio: from the command line (:func:`serve`) or a notebook (:func:`studio`)."""

from __future__ import annotations

import html
import socket
import threading
import time
import webbrowser
from pathlib import Path

import uvicorn

from recoverystudy.qual.project import Project
from recoverystudy.studio.app import create_app
from recoverystudy.studio.auth import LocalTokenAuth

__all__ = ["Studio", "serve", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on *host* right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Studio:
    """A coding studio running in a background thread (from :func:`recoverystudy.studio.studio`).

    Attributes
    ----------
    url : str
        The link to open (it carries the access key; do not share it).
    """

    def __init__(self, project: Project | str | Path, *, coder: str | None = None, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self.auth = LocalTokenAuth(coder=coder)
        self.app = create_app(project, auth=self.auth, allowed_hosts=(host, "localhost"))
        config = uvicorn.Config(self.app, host=host, port=self.port, log_level="warning", access_log=False,
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="rs-studio", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The coding studio could not start on {host}:{self.port}.")
            time.sleep(0.02)
        self.url = f"http://{host}:{self.port}/?token={self.auth.token}"

    def stop(self) -> None:
        """Stop the server and close its connection to the project (safe to call twice)."""
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout=15)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Studio {state} at {self.url}>"

    def _repr_html_(self) -> str:
        if not self.running:
            return "<p>The coding studio has stopped.</p>"
        url = html.escape(self.url, quote=True)
        return (f'<p>The coding studio is running: <a href="{url}" target="_blank" rel="noopener noreferrer">open the '
                f"coding studio</a>. Call <code>.stop()</code> to close it.</p>")


def serve(path: str | Path, *, coder: str | None = None, port: int | None = None, open_browser: bool = True,
          echo=print) -> None:
    """Run the studio in the foreground until interrupted (the ``recoverystudy studio`` command)."""
    path = Path(path)
    Project.open(path).close()  # a clear error now if the file is not a project
    host = "127.0.0.1"
    port = port or free_port(host)
    auth = LocalTokenAuth(coder=coder)
    app = create_app(path, auth=auth, allowed_hosts=(host, "localhost"))
    url = f"http://{host}:{port}/?token={auth.token}"
    echo(f"The coding studio for {path.name} is running. Open this link in your browser:\n\n    {url}\n\n"
         "Keep this window open while you code; press Ctrl+C to stop.")
    if open_browser:
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
