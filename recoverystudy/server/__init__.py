"""The team server: one study's projects on PostgreSQL, coded by a team through the browser.

``recoverystudy serve --db postgresql://… --host 0.0.0.0 --port 8000`` runs it (see
docs/team-server.md); :func:`create_team_app` builds the ASGI application; accounts, sessions,
memberships, blind double-coding and the audit log live in :mod:`recoverystudy.server.directory`.
"""

from __future__ import annotations

from recoverystudy.server.app import create_team_app
from recoverystudy.server.directory import Directory, TeamServerError, UnknownAccountError, WrongPasswordError

__all__ = ["create_team_app", "Directory", "TeamServerError", "UnknownAccountError", "WrongPasswordError", "serve"]


def serve(db: str, *, host: str = "127.0.0.1", port: int = 8000, secure_cookies: bool = True,
          allowed_hosts=(), base_url: str = "", threads: int = 8, log_level: str = "warning") -> None:
    """Run the team server in the foreground with uvicorn until interrupted (``recoverystudy serve``)."""
    import uvicorn  # the web server loads only when a server starts

    app = create_team_app(db, secure_cookies=secure_cookies, allowed_hosts=allowed_hosts, base_url=base_url,
                          threads=threads)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=True, forwarded_allow_ips="127.0.0.1")
