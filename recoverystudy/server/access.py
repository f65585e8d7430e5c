"""Open server projects for the team server: one :class:`~recoverystudy.Project` per project per worker thread.

Project objects (and the directory's connections) belong to the thread that opened them, so every
database call of a request runs on a fixed pool of worker threads, each keeping its own open
projects; writes to one project are serialised by the store's advisory lock
(:mod:`recoverystudy.qual.pgstore`), so any number of threads may code at once without losing an update.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from recoverystudy.qual.project import Project
from recoverystudy.server.directory import Directory

__all__ = ["ProjectPool", "project_url", "database_url"]


def database_url(url: str) -> str:
    """*url* without a ``project=`` parameter (the server's database)."""
    parts = urlsplit(url)
    rest = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "project"]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))


def project_url(db: str, project: str) -> str:
    """The URL of *project* in the database *db*.

    >>> project_url("postgresql://rs@127.0.0.1:5432/studies?sslmode=require", "cocapp")
    'postgresql://rs@127.0.0.1:5432/studies?sslmode=require&project=cocapp'
    """
    parts = urlsplit(database_url(db))
    query = parse_qsl(parts.query, keep_blank_values=True) + [("project", project)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


class ProjectPool:
    """Worker threads that each hold open projects and a directory connection.

    Parameters
    ----------
    db : str
        The server's database, ``postgresql://user@host/database``.
    directory : Directory
    threads : int
        Worker threads (each holds one connection per open project, plus one for the directory).
    """

    def __init__(self, db: str, directory: Directory, *, threads: int = 8) -> None:
        self.db = database_url(db)
        self.directory = directory
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rs-team-db")
        self._local = threading.local()
        self._opened: list[Project] = []
        self._lock = threading.Lock()

    def project(self, name: str) -> Project:
        """This thread's open project *name* (opened on first use)."""
        projects = getattr(self._local, "projects", None)
        if projects is None:
            projects = self._local.projects = {}
        proj = projects.get(name)
        if proj is None:
            proj = projects[name] = Project.open(project_url(self.db, name))
            with self._lock:
                self._opened.append(proj)
        return proj

    async def run(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for proj in self._opened:
                proj.close()
            self._opened.clear()
        self.directory.close()
