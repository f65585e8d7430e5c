"""The coding studio: the Framework Method in the browser, on the same project file and library API.

``recoverystudy studio study.rsqda`` (or ``rs.studio(proj)`` in a notebook) starts a local web server
on 127.0.0.1; see :func:`create_app` for the application and :mod:`recoverystudy.studio.auth` for
the pluggable identity layer.
"""

from __future__ import annotations

from recoverystudy.studio.app import create_app
from recoverystudy.studio.auth import Identity, LocalTokenAuth
from recoverystudy.studio.server import Studio, serve, studio

__all__ = ["create_app", "Identity", "LocalTokenAuth", "Studio", "studio", "serve"]
