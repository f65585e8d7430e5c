"""Benchmark: the team server under a team's load, and after a SIGKILL.

Run:  python benchmarks/bench_team.py [--coders 20] [--actions 5000] [--kill-after 0.5]

Against a throwaway local PostgreSQL cluster (started here with the server binaries of the Debian
``postgresql`` package; ``RS_PG_BIN`` overrides the folder) and the real server process
(``recoverystudy serve`` under uvicorn), *--coders* coders, each with their own account and session,
send *--actions* coding actions in total at once (each coder in its own thread, one request after
another, as a person clicking).  Targets (2-core reference machine):

* zero lost and zero duplicated codings: every acknowledged action (201 with a segment id) is in the
  project exactly once, and the project holds nothing else;
* p95 latency of a coding action < 150 ms.

Then the server is killed with SIGKILL while the coders are still sending (after *--kill-after* of a
second run of the same size), restarted, and every action that had been acknowledged before the
kill must be present.  The anchor, measured in the same run, is the latency of the cheapest
authenticated request (``GET /api/me``: session check only); the ratio to it is printed.
Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg

import recoverystudy as rs
from recoverystudy.server.access import project_url
from recoverystudy.server.directory import Directory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway cluster the tests use
from _pgcluster import free_port, throwaway_cluster  # noqa: E402

PASSWORD = "correct horse battery staple"
CODES = ["risk/risk_assessment", "care_plan_document/copy_and_ownership", "care_planning_experience/involvement",
         "crisis/crisis_services"]


def _bindir() -> Path:
    env = os.environ.get("RS_PG_BIN")
    for c in ([Path(env)] if env else []) + sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (c / "initdb").exists():
            return c
    sys.exit("No PostgreSQL server binaries (apt-get install postgresql, or set RS_PG_BIN).")


def cluster():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (fsync off: throwaway only); yields its URL."""
    return throwaway_cluster(_bindir(), settings="-c max_connections=200", prefix="rs-bench-pg-")


def start_server(db: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "recoverystudy", "serve", "--db", db, "--port", str(port),
                             "--insecure-cookies"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"The server did not start: {proc.stderr.read().decode(errors='replace')[-2000:]}")


def login(port: int, user: str) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    r = client.post("/login", data={"username": user, "password": PASSWORD})
    if r.status_code not in (200, 303):
        raise RuntimeError(f"Login of {user} failed: {r.status_code} {r.text[:200]}")
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    return client


def setup(db: str, project: str, coders: int, n_docs: int) -> None:
    proj = rs.Project.create(project_url(db, project), user="lead")
    rng = np.random.default_rng(0)
    words = np.array("care plan recovery goals crisis risk listened copy coordinator family work sleep".split())
    for i in range(n_docs):
        proj.add_document(" ".join(rng.choice(words, 4000)), name=f"D{i:03d}", case=f"C{i:03d}")
    proj.close()
    d = Directory(db)
    for c in range(coders):
        name = f"coder{c:02d}"
        d.add_member(project, d.account(name) or d.create_account(name, PASSWORD), "coder")
    d.close()


def actions_for(coder: int, n: int, n_docs: int) -> list[dict]:
    """*n* distinct coding actions of one coder (document, span, code)."""
    return [{"doc": 1 + (k % n_docs), "start": 10 * (k // n_docs) + coder % 7, "end": 10 * (k // n_docs) + 25,
             "code": CODES[(k + coder) % len(CODES)]} for k in range(n)]


def run_coders(clients: list[httpx.Client], project: str, per: int, n_docs: int, *,
               stop: threading.Event | None = None):
    """Every coder sends its actions; returns (acknowledged [(coder, action, segment)], latencies s, errors)."""
    coders = len(clients)
    acked, lat, errors = [], [], []
    lock = threading.Lock()

    def work(c: int) -> None:
        for a in actions_for(c, per, n_docs):
            if stop is not None and stop.is_set():
                return
            t0 = time.perf_counter()
            try:
                r = clients[c].post(f"/api/projects/{project}/documents/{a['doc']}/segments",
                                    json={"code": a["code"], "start": a["start"], "end": a["end"]})
            except httpx.HTTPError as exc:
                with lock:
                    errors.append(repr(exc))
                return
            dt = time.perf_counter() - t0
            with lock:
                if r.status_code == 201:
                    acked.append((f"coder{c:02d}", a, r.json()["segment"]))
                    lat.append(dt)
                else:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=work, args=(c,)) for c in range(coders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    return acked, np.array(lat), errors


def stored(db: str, project: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(f'SELECT s.segment_id, u.name, s.document_id, s.start, s."end", c.path FROM '
                            f'rs_{project}.segments s JOIN rs_{project}.users u ON u.user_id = s.coder_id JOIN '
                            f'rs_{project}.codes c ON c.code_id = s.code_id').fetchall()


def check(acked, rows, *, exact: bool) -> tuple[int, int, int]:
    """(lost, duplicated, unexpected) acknowledged codings against the stored rows."""
    by_id = {r[0]: r for r in rows}
    keys = [(r[1], r[2], r[3], r[4], r[5]) for r in rows]
    lost = sum(1 for coder, a, seg in acked
               if by_id.get(seg, (None,) * 6)[1:] != (coder, a["doc"], a["start"], a["end"], a["code"]))
    duplicated = len(keys) - len(set(keys))
    unexpected = len(rows) - len(acked) if exact else 0
    return lost, duplicated, unexpected


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--coders", type=int, default=20)
    ap.add_argument("--actions", type=int, default=5000)
    ap.add_argument("--docs", type=int, default=20)
    ap.add_argument("--kill-after", type=float, default=1.0, help="seconds into the second run")
    args = ap.parse_args(argv)
    per = args.actions // args.coders
    ok = True
    with cluster() as db:
        setup(db, "load", args.coders, args.docs)
        port = free_port()
        server = start_server(db, port)
        try:
            me = login(port, "coder00")
            anchor = []
            for _ in range(200):
                t0 = time.perf_counter()
                me.get("/api/me")
                anchor.append(time.perf_counter() - t0)
            me.close()
            clients = [login(port, f"coder{c:02d}") for c in range(args.coders)]
            t0 = time.perf_counter()
            acked, lat, errors = run_coders(clients, "load", per, args.docs)
            wall = time.perf_counter() - t0
        finally:
            server.kill()
            server.wait()
        lost, dup, extra = check(acked, stored(db, "load"), exact=True)
        p50, p95 = np.percentile(lat, 50) * 1000, np.percentile(lat, 95) * 1000
        a50 = np.median(anchor) * 1000
        print(f"{args.coders} coders, {len(acked)} of {per * args.coders} actions acknowledged in {wall:.1f} s "
              f"({len(acked) / wall:.0f}/s); errors {len(errors)}")
        print(f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms (target < 150); anchor GET /api/me p50 {a50:.1f} ms; "
              f"ratio p95/anchor {p95 / a50:.1f}")
        print(f"lost {lost}, duplicated {dup}, unexpected {extra} (target 0, 0, 0)")
        ok &= not errors and lost == dup == extra == 0 and len(acked) == per * args.coders and p95 < 150
        if errors:
            print("first errors:", errors[:3])

        # -- SIGKILL in the middle ------------------------------------------------------------------
        setup(db, "kill", args.coders, args.docs)
        server = start_server(db, port)
        stop = threading.Event()
        result = {}
        clients = [login(port, f"coder{c:02d}") for c in range(args.coders)]
        runner = threading.Thread(target=lambda: result.update(zip(("acked", "lat", "errors"), run_coders(
            clients, "kill", per, args.docs, stop=stop))))
        runner.start()
        time.sleep(args.kill_after)
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        runner.join()
        server = start_server(db, port)  # restarted: the project opens and serves again
        server.kill()
        server.wait()
        lost, dup, _ = check(result["acked"], stored(db, "kill"), exact=False)
        print(f"SIGKILL after {args.kill_after} s: {len(result['acked'])} actions acknowledged before the kill; "
              f"lost {lost}, duplicated {dup} after restart (target 0, 0)")
        ok &= lost == dup == 0 and len(result["acked"]) > 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
