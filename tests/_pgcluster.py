"""A throwaway PostgreSQL cluster, for the tests (``pg_fixtures``) and ``benchmarks/bench_team.py``.

initdb and postgres refuse to run as root, so as root they run as the ``postgres`` user of the
Debian package (``runuser -u postgres --``) in a temporary folder that user owns.  The cluster runs
with fsync off (a throwaway cluster only), listens on 127.0.0.1 and a private socket folder, and is
stopped with ``-m immediate`` and removed when the block ends.  Never a shared server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["free_port", "throwaway_cluster"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_cluster(bindir: Path, *, settings: str = "", prefix: str = "rs-pg-") -> Iterator[str]:
    """Start a cluster with the server binaries in *bindir*; yield ``postgresql://rs@127.0.0.1:PORT/postgres``.

    *settings* are more ``-c name=value`` options for the server.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        as_postgres = ["runuser", "-u", "postgres", "--"]
        for p in (root, sock):
            shutil.chown(p, "postgres", "postgres")
    port = free_port()
    run = dict(check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=root)
    try:
        subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "rs", "-A", "trust",
                        "--no-sync", "-E", "UTF8", "--no-locale"], **run)
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off {settings}".rstrip(),
                        "start"], **run)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"Could not start the throwaway PostgreSQL: {exc.stdout.decode(errors='replace')}") from exc
    try:
        yield f"postgresql://rs@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
        shutil.rmtree(root, ignore_errors=True)
