"""A throwaway PostgreSQL cluster for the tests (session-scoped; one per pytest-xdist worker).

initdb and postgres refuse to run as root, so as root they run as the ``postgres`` user of the
Debian package (``runuser -u postgres --``) in a temporary folder that user owns.  The cluster runs
with fsync off (a throwaway cluster only), listens on 127.0.0.1 and a private socket folder, and is
stopped with ``-m immediate`` and removed at the end of the session.

Use::

    from pg_fixtures import pg_server  # noqa: F401  (registers the fixture)

    def test_x(pg_url): ...            # a URL with a fresh project name for each test
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from _services import postgres_bindir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """``postgresql://rs@127.0.0.1:PORT/postgres`` of a cluster started for this test session."""
    bindir = postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="rs-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        for p in (root, sock):
            shutil.chown(p, "postgres", "postgres")
    port = _free_port()
    run = dict(check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=root)
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "rs", "-A", "trust", "--no-sync",
                        "-E", "UTF8", "--no-locale"], **run)
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                        f"-c synchronous_commit=off -c full_page_writes=off", "start"], **run)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"Could not start the test PostgreSQL: {exc.stdout.decode(errors='replace')}") from exc
    try:
        yield f"postgresql://rs@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    """A server project URL with a project name no other test uses."""
    return f"{pg_server}?project=t{uuid.uuid4().hex[:12]}"
