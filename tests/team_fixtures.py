"""Fixtures for the team-server tests: a fresh database on the session's throwaway cluster, two projects,
accounts in each role, and logged-in Starlette test clients."""

from __future__ import annotations

import uuid
import warnings
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2, which is not packaged here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import recoverystudy as rs
from recoverystudy.server import create_team_app
from recoverystudy.server.access import project_url
from recoverystudy.server.directory import Directory

PASSWORD = "correct horse battery staple"
TEXT_A = ("Interviewer: Did you get a copy of your care plan?\n"
          "SU01: Never had a copy of my care plan. Nobody asked what I wanted from my recovery.")
TEXT_B = "CC02: Project B's secret transcript: my care coordinator listened to me."


def fresh_database(pg_server: str) -> str:
    """A new empty database on the test cluster; its URL."""
    name = f"team_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(pg_server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def make_project(db: str, name: str, text: str) -> None:
    proj = rs.Project.create(project_url(db, name), user="lead")
    proj.add_document(text, name="D1", case="C1")
    proj.add_document(text + " Second copy.", name="D2", case="C2")
    proj.close()


def login(app, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app)
    r = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    me = client.get("/api/me").json()
    client.headers["X-CSRF-Token"] = me["csrf_token"]
    return client


class Team:
    """Projects ``alpha`` and ``beta``; lead/coder/coder2/viewer in alpha, ``blead`` lead of beta."""

    def __init__(self, pg_server: str) -> None:
        self.db = fresh_database(pg_server)
        make_project(self.db, "alpha", TEXT_A)
        make_project(self.db, "beta", TEXT_B)
        d = Directory(self.db)
        for user, project, role in [("lead", "alpha", "lead"), ("coder", "alpha", "coder"),
                                    ("coder2", "alpha", "coder"), ("viewer", "alpha", "viewer"),
                                    ("blead", "beta", "lead")]:
            d.add_member(project, d.create_account(user, PASSWORD), role)
        d.close()
        self.app = create_team_app(self.db, secure_cookies=False, max_failures=5, threads=4)
        self.directory = self.app.state.directory
        self._clients: dict[str, TestClient] = {}

    def client(self, user: str) -> TestClient:
        if user not in self._clients:
            self._clients[user] = login(self.app, user)
        return self._clients[user]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self.app.state.pool.close()


@pytest.fixture(scope="module")
def team(pg_server):
    t = Team(pg_server)
    yield t
    t.close()
