"""A throwaway PostgreSQL cluster for the tests (session-scoped; one per pytest-xdist worker).

The cluster is :func:`_pgcluster.throwaway_cluster` (also used by ``benchmarks/bench_team.py``),
removed at the end of the session.

Use::

    from pg_fixtures import pg_server  # noqa: F401  (registers the fixture)

    def test_x(pg_url): ...            # a URL with a fresh project name for each test
"""

from __future__ import annotations

import uuid

import pytest

from _pgcluster import throwaway_cluster
from _services import postgres_bindir


@pytest.fixture(scope="session")
def pg_server():
    """``postgresql://rs@127.0.0.1:PORT/postgres`` of a cluster started for this test session."""
    with throwaway_cluster(postgres_bindir(), settings="-c synchronous_commit=off -c full_page_writes=off") as url:
        yield url


@pytest.fixture
def pg_url(pg_server):
    """A server project URL with a project name no other test uses."""
    return f"{pg_server}?project=t{uuid.uuid4().hex[:12]}"
