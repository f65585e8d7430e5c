"""Who is asking: the pluggable identity layer of the coding studio.

The studio's handlers never decide who the coder is themselves: they read ``request.state.identity``,
which an *auth* object fills in.  :class:`LocalTokenAuth` is the one-person, one-computer version
(as Jupyter does it): a random token of 256 bits in the first URL is exchanged for a session cookie
(HttpOnly, SameSite=Strict), and every state-changing request carries a CSRF token derived from that
session.  A team server can pass another object with the same methods (accounts, roles, sessions in
a database) to :func:`recoverystudy.studio.create_app`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

__all__ = ["Identity", "LocalTokenAuth", "COOKIE"]

COOKIE = "rs_studio_session"


@dataclass(frozen=True)
class Identity:
    """The person behind a request.

    Attributes
    ----------
    session : str
        The session id (never shown in pages).
    name : str or None
        The coder's name as recorded on segments and in the coding log; ``None`` until chosen.
    can_code : bool
        May code, remove, resize, recode, decide suggestions and write memos and summaries.
    can_edit_codebook : bool
        May add, rename, move and describe codes and freeze the framework.
    """

    session: str
    name: str | None
    can_code: bool = True
    can_edit_codebook: bool = True


class LocalTokenAuth:
    """Token-then-cookie access for a studio on one computer.

    Parameters
    ----------
    token : str, optional
        The access token (random, 256 bits, by default).
    coder : str, optional
        The coder's name for every session (``--coder``); when not given, the page asks on first use.

    Examples
    --------
    >>> auth = LocalTokenAuth(coder="AB")
    >>> len(auth.token) >= 43
    True
    """

    def __init__(self, token: str | None = None, coder: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        if len(self.token) < 22:
            raise ValueError("The access token must have at least 128 bits (22 URL-safe characters).")
        self.coder = coder.strip() if isinstance(coder, str) and coder.strip() else None
        self._secret = secrets.token_bytes(32)
        # cookies are shared by every port of 127.0.0.1: each studio uses its own cookie name, so two
        # studios open at once (two projects) do not log each other out
        self.cookie = f"{COOKIE}_{secrets.token_hex(4)}"
        self._sessions: dict[str, str | None] = {}
        self._lock = threading.Lock()

    # -- the first URL ------------------------------------------------------------------------------
    def login(self, request: Request) -> Response | None:
        """If the URL carries the right token, start a session: redirect to the same page without it."""
        given = request.query_params.get("token")
        if given is None:
            return None
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session] = self.coder
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        path = request.url.path if request.url.path.startswith("/") and not request.url.path.startswith("//") else "/"
        target = path + (f"?{query}" if query else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(self.cookie, session, httponly=True, samesite="strict", path="/")
        return response

    def authenticate(self, request: Request) -> Identity | None:
        """The identity of a request with a valid session cookie, else ``None``."""
        session = request.cookies.get(self.cookie)
        if not session:
            return None
        with self._lock:
            if session not in self._sessions:
                return None
            name = self._sessions[session]
        return Identity(session=session, name=name)

    def set_name(self, identity: Identity, name: str) -> None:
        """Record who is coding in this session (the first-run prompt)."""
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
            raise ValueError("Your name must be 1 to 80 characters.")
        with self._lock:
            self._sessions[identity.session] = name.strip()

    # -- CSRF ---------------------------------------------------------------------------------------
    def csrf_token(self, identity: Identity) -> str:
        """The CSRF token of a session (an HMAC of the session id; never the session id itself)."""
        return hmac.new(self._secret, identity.session.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, identity: Identity, token: str | None) -> bool:
        """Whether *token* is this session's CSRF token."""
        return bool(token) and hmac.compare_digest(str(token).encode(), self.csrf_token(identity).encode())
