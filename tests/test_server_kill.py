"""Team server durability: the server process killed with SIGKILL while coders are coding loses no
acknowledged action (the fast version of benchmarks/bench_team.py), and the CLI admin commands.

Skips outside CI without PostgreSQL's server binaries; fails under CI=true.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
from click.testing import CliRunner
from _pgcluster import free_port
from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import PASSWORD, fresh_database, make_project

from recoverystudy.cli import main
from recoverystudy.server.directory import Directory

ROOT = Path(__file__).resolve().parent.parent


def _start(db: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "recoverystudy", "serve", "--db", db, "--port", str(port),
                             "--insecure-cookies"], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the server did not start")


def _login(port: int, user: str) -> httpx.Client:
    c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    assert c.post("/login", data={"username": user, "password": PASSWORD}).status_code in (200, 303)
    c.headers["X-CSRF-Token"] = c.get("/api/me").json()["csrf_token"]
    return c


def test_sigkill_mid_coding_loses_no_acknowledged_action(pg_server):
    db = fresh_database(pg_server)
    make_project(db, "study", "word " * 2000)
    d = Directory(db)
    for i in range(4):
        d.add_member("study", d.create_account(f"c{i}", PASSWORD), "coder")
    d.close()
    port = free_port()
    server = _start(db, port)
    clients = [_login(port, f"c{i}") for i in range(4)]
    acked: list[tuple] = []
    lock = threading.Lock()

    def code(i: int) -> None:
        for k in range(400):
            span = (5 * k + i, 5 * k + 20)
            try:
                r = clients[i].post("/api/projects/study/documents/1/segments",
                                    json={"code": "risk/risk_assessment", "start": span[0], "end": span[1]})
            except httpx.HTTPError:
                return  # the server is gone: this action was never acknowledged
            if r.status_code == 201:
                with lock:
                    acked.append((r.json()["segment"], f"c{i}", *span))

    threads = [threading.Thread(target=code, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    while len(acked) < 40:
        time.sleep(0.01)
    server.send_signal(signal.SIGKILL)
    server.wait()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert 40 <= len(acked) < 1600  # killed in the middle
    server = _start(db, port)  # restarts on the same database
    try:
        me = _login(port, "c0")
        view = me.get("/api/projects/study/documents/1").json()["segments"]
        assert me.post("/api/projects/study/documents/1/segments",
                       json={"code": "risk/risk_assessment", "start": 0, "end": 3}).status_code == 201
        me.close()
    finally:
        server.kill()
        server.wait()
    with psycopg.connect(db) as conn:
        rows = conn.execute('SELECT s.segment_id, u.name, s.start, s."end" FROM rs_study.segments s JOIN '
                            'rs_study.users u ON u.user_id = s.coder_id').fetchall()
    stored = {r[0]: tuple(r) for r in rows}
    assert all(stored.get(a[0]) == a for a in acked)  # every acknowledged action is there, as acknowledged
    assert len({r[1:] for r in rows}) == len(rows)  # and none twice
    assert {s["id"] for s in view} >= {a[0] for a in acked if a[1] == "c0"}


def test_cli_add_lead_and_invite(pg_server):
    db = fresh_database(pg_server)
    make_project(db, "cocapp", "text " * 10)
    runner = CliRunner()
    r = runner.invoke(main, ["server", "add-lead", "--db", db, "--project", "cocapp", "--username", "ana"],
                      input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert "ana is a lead of cocapp" in r.output
    r = runner.invoke(main, ["server", "invite", "--db", db, "--project", "cocapp", "--role", "viewer",
                             "--base-url", "https://qual.example.ac.uk/"])
    assert r.exit_code == 0, r.output
    link = r.output.strip().splitlines()[-1]
    assert link.startswith("https://qual.example.ac.uk/invite/") and len(link.rsplit("/", 1)[1]) >= 43
    d = Directory(db)
    try:
        assert d.invitation(link.rsplit("/", 1)[1]) == {"project": "cocapp", "role": "viewer"}
        assert d.member(d.account("ana"), "cocapp").role == "lead"
    finally:
        d.close()
    # a project that is not on the server is refused, and nothing is created
    r = runner.invoke(main, ["server", "invite", "--db", db, "--project", "nosuch"])
    assert r.exit_code != 0 and "nosuch" in r.output
    r = runner.invoke(main, ["server", "revoke-sessions", "--db", db, "--username", "ana"])
    assert r.exit_code == 0 and "Ended 0 session(s) of ana" in r.output
