"""Team server security (issue 17, server part): attack tests against a throwaway PostgreSQL.

Skips outside CI without PostgreSQL's server binaries; fails under CI=true.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import PASSWORD, TestClient, login, team  # noqa: F401  (fixture)

from recoverystudy.server.app import COOKIE
from recoverystudy.server.routes import ROUTES

INJECTIONS = ["'); DROP TABLE rs_server.accounts;--", "Robert'); DELETE FROM segments WHERE ('1'='1",
              "1; SELECT pg_sleep(5)", "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "ünïcødé — 'q' \"dq\""]


def _concrete(path: str, project: str = "alpha") -> str:
    return (path.replace("{project}", project).replace("{doc_id}", "1").replace("{seg_id}", "1")
            .replace("{code_id}", "1").replace("{token}", "x" * 43))


def _code(client, project="alpha", doc=1, start=0, end=11, code="risk/risk_assessment"):
    return client.post(f"/api/projects/{project}/documents/{doc}/segments",
                       json={"code": code, "start": start, "end": end})


def test_every_route_refuses_unauthenticated(team):
    anon = TestClient(team.app)
    checked = 0
    for path, _fn, methods in ROUTES:
        if path in ("/login",) or path.startswith("/invite/"):
            continue
        for method in methods:
            r = anon.request(method, _concrete(path), json={})
            assert r.status_code == 401, (method, path, r.status_code)
            assert "Interviewer" not in r.text and "secret" not in r.text
            checked += 1
    assert checked == len(ROUTES) - 4
    # a made-up or revoked session cookie is no better than none
    anon.cookies.set(COOKIE, "made-up-session-id")
    assert anon.get("/api/projects/alpha/documents").status_code == 401


def test_member_of_a_cannot_reach_b_by_changing_ids(team):
    coder, blead = team.client("coder"), team.client("blead")
    assert [p["project"] for p in coder.get("/api/me").json()["projects"]] == ["alpha"]
    for method, path, body in [("GET", "/api/projects/beta/documents", None),
                               ("GET", "/api/projects/beta/documents/1", None),
                               ("GET", "/api/projects/beta/codes", None),
                               ("POST", "/api/projects/beta/documents/1/segments",
                                {"code": "risk/risk_assessment", "start": 0, "end": 5}),
                               ("POST", "/api/projects/beta/segments/1/remove", {}),
                               ("GET", "/api/projects/beta/audit.csv", None),
                               ("GET", "/api/projects/beta/export.qdpx", None),
                               ("GET", "/api/projects/rs_server/documents", None),
                               ("GET", "/api/projects/alpha;DROP/documents", None)]:
        r = coder.request(method, path, json=body)
        assert r.status_code == 404, (path, r.status_code)
        assert "secret" not in r.text
    # the lead of beta codes in beta; a coder of alpha cannot remove it through alpha's URL either
    made = _code(blead, "beta", 1, 0, 4)
    assert made.status_code == 201
    seg = made.json()["segment"]
    r = coder.post(f"/api/projects/alpha/segments/{seg}/remove", json={})
    assert r.status_code == 404  # ids are looked up only inside the project named in the URL
    assert len(blead.get("/api/projects/beta/documents/1").json()["segments"]) == 1
    # blind settings of another project's documents: refused, nothing hidden
    assert team.client("lead").post("/api/projects/alpha/blind", json={"documents": [999], "hidden": True}
                                    ).status_code == 404


def test_viewer_cannot_write_and_coder_cannot_change_codebook(team):
    viewer, coder = team.client("viewer"), team.client("coder")
    assert viewer.get("/api/projects/alpha/documents/1").status_code == 200
    assert _code(viewer, start=0, end=5).status_code == 403
    assert viewer.post("/api/projects/alpha/segments/1/memo", json={"text": "x"}).status_code == 403
    before = coder.get("/api/projects/alpha/codes").json()["codes"]
    for path, body in [("/codes", {"path": "risk/new_one", "name": "New"}),
                       ("/codes/1/rename", {"name": "Renamed"}), ("/framework/freeze", {"note": "v2"}),
                       ("/members/invite", {"role": "lead"}), ("/blind", {"documents": [1], "hidden": True}),
                       ("/members/remove", {"username": "lead"})]:
        assert coder.post("/api/projects/alpha" + path, json=body).status_code == 403, path
        assert viewer.post("/api/projects/alpha" + path, json=body).status_code == 403, path
    for path in ("/audit", "/audit.csv", "/export.qdpx", "/members"):
        assert coder.get("/api/projects/alpha" + path).status_code == 403
    assert coder.get("/api/projects/alpha/codes").json()["codes"] == before
    # the lead can
    lead = team.client("lead")
    r = lead.post("/api/projects/alpha/codes", json={"path": "risk/lead_code", "name": "Lead code"})
    assert r.status_code == 201


def test_csrf_refused_and_nothing_changes(team):
    coder = login(team.app, "coder")  # a client of its own (headers are changed here)
    n = len(coder.get("/api/projects/alpha/documents/2").json()["segments"])
    token = coder.headers.pop("X-CSRF-Token")
    assert _code(coder, doc=2, start=0, end=5).status_code == 403
    coder.headers["X-CSRF-Token"] = "0" * len(token)
    assert _code(coder, doc=2, start=0, end=5).status_code == 403
    other = team.client("coder2").headers["X-CSRF-Token"]  # another session's token does not do either
    coder.headers["X-CSRF-Token"] = other
    assert _code(coder, doc=2, start=0, end=5).status_code == 403
    assert coder.post("/logout").status_code == 403
    assert len(coder.get("/api/projects/alpha/documents/2").json()["segments"]) == n
    # a cross-site login form post is refused
    anon = TestClient(team.app)
    r = anon.post("/login", data={"username": "coder", "password": PASSWORD}, headers={"Origin": "https://evil.example"},
                  follow_redirects=False)
    assert r.status_code == 403 and COOKIE not in r.cookies


def test_session_fixation_impossible_and_logout_revokes(team):
    attacker = TestClient(team.app)
    attacker.cookies.set(COOKIE, "planted-session-id-0123456789abcdef")
    r = attacker.post("/login", data={"username": "coder2", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    issued = r.cookies.get(COOKIE)
    assert issued and issued != "planted-session-id-0123456789abcdef"
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    assert "max-age=" in r.headers["set-cookie"].lower()
    planted = TestClient(team.app)
    planted.cookies.set(COOKIE, "planted-session-id-0123456789abcdef")
    assert planted.get("/api/me").status_code == 401
    # two logins never share an id; logging in again over a live session replaces (and ends) it
    again = login(team.app, "coder2")
    assert again.cookies.get(COOKIE) != issued
    live = again.cookies.get(COOKIE)
    r = again.post("/login", data={"username": "coder2", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.cookies.get(COOKIE) not in (None, live)
    stale = TestClient(team.app)
    stale.cookies.set(COOKIE, live)
    assert stale.get("/api/me").status_code == 401
    # logout revokes the session on the server: the old cookie no longer works
    victim = login(team.app, "coder2")
    stolen = victim.cookies.get(COOKIE)
    assert victim.post("/logout", follow_redirects=False).status_code == 303
    thief = TestClient(team.app)
    thief.cookies.set(COOKIE, stolen)
    assert thief.get("/api/me").status_code == 401
    # only a hash of the session id is stored
    rows = team.directory._all_rows("SELECT session_hash FROM rs_server.sessions")
    assert all(stolen not in r[0] for r in rows)


def test_secure_cookie_by_default_expiry_and_host_check(pg_server):
    from team_fixtures import fresh_database

    from recoverystudy.server import create_team_app
    from recoverystudy.server.directory import Directory

    db = fresh_database(pg_server)
    d = Directory(db)
    d.create_account("ana", PASSWORD)
    d.close()
    app = create_team_app(db, allowed_hosts=["qual.example.ac.uk"])
    try:
        with TestClient(app, base_url="https://qual.example.ac.uk") as c:
            r = c.post("/login", data={"username": "ana", "password": PASSWORD}, follow_redirects=False)
            cookie = r.headers["set-cookie"]
            assert r.status_code == 303 and cookie.startswith("__Host-" + COOKIE + "=")
            assert "secure" in cookie.lower() and "httponly" in cookie.lower() and "path=/" in cookie.lower()
            assert c.get("/api/me").status_code == 200
            # expiry is enforced on the server, whatever the browser keeps
            app.state.directory._conn().execute("UPDATE rs_server.sessions SET expires_at = now() - interval '1 s'")
            assert c.get("/api/me").status_code == 401
        with TestClient(app, base_url="https://rebind.example") as c:  # DNS rebinding: another Host is refused
            assert c.get("/login").status_code == 403
    finally:
        app.state.pool.close()


def test_sql_injection_in_every_text_field_stored_verbatim(team):
    lead, coder = team.client("lead"), team.client("coder")
    for i, evil in enumerate(INJECTIONS):
        r = lead.post("/api/projects/alpha/codes", json={"path": f"risk/inj_{i}", "name": evil, "definition": evil})
        assert r.status_code == 201, r.text
        seg = _code(coder, doc=1, start=i, end=i + 20, code=f"risk/inj_{i}")
        assert seg.status_code == 201, seg.text
        seg_id = seg.json()["segment"]
        assert coder.post(f"/api/projects/alpha/segments/{seg_id}/memo", json={"text": evil}).status_code == 201
        # text fields in a path or a query: harmless lookups
        assert coder.get(f"/api/projects/alpha/documents/{evil}").status_code in (400, 404)
        # login name and password fields
        r = TestClient(team.app).post("/login", data={"username": evil, "password": evil}, follow_redirects=False)
        assert r.status_code in (401, 429)
    codes = {c["path"]: c["name"] for c in lead.get("/api/projects/alpha/codes").json()["codes"]}
    assert [codes[f"risk/inj_{i}"] for i in range(len(INJECTIONS))] == INJECTIONS
    view = coder.get("/api/projects/alpha/documents/1").json()
    assert "Interviewer" in view["text"]
    texts = [m["after"]["memos"][0]["text"] for m in lead.get("/api/projects/alpha/audit").json()["audit"]
             if m["action"] == "memo.add"]
    assert texts[-len(INJECTIONS):] == INJECTIONS
    # every table is still there
    n = team.directory._one("SELECT count(*) FROM rs_server.accounts")[0]
    assert n >= 5
    # the audit CSV keeps text verbatim but defuses spreadsheet formulas
    rows = list(csv.reader(io.StringIO(lead.get("/api/projects/alpha/audit.csv").text)))
    names = [json.loads(r[6])["name"] for r in rows[1:] if r[3] == "code.add" and "inj_" in r[4]]
    assert names == INJECTIONS
    assert all(not r[4].startswith("=") for r in rows[1:])


def test_invitation_links_single_use_and_expiring(team):
    lead = team.client("lead")
    link = lead.post("/api/projects/alpha/members/invite", json={"role": "viewer", "hours": 1}).json()["link"]
    path = link[link.index("/invite/"):]
    anon = TestClient(team.app)
    assert "alpha" in anon.get(path).text
    r = anon.post(path, data={"username": "newviewer", "password": PASSWORD, "display_name": "N"},
                  follow_redirects=False)
    assert r.status_code == 303
    again = anon.post(path, data={"username": "someone_else", "password": PASSWORD}, follow_redirects=False)
    assert again.status_code == 410 and team.directory.account("someone_else") is None
    new = login(team.app, "newviewer")
    home = new.get("/").text  # names are data: escaped in pages
    assert "Logged in as N (newviewer)" in home
    assert [p["role"] for p in new.get("/api/me").json()["projects"]] == ["viewer"]
    # an expired invitation
    token = team.directory.invite("alpha", "coder", hours=1)
    team.directory._conn().execute("UPDATE rs_server.invitations SET expires_at = now() - interval '1 second' "
                                   "WHERE used_at IS NULL")
    assert anon.get(f"/invite/{token}").status_code == 410
    r = anon.post(f"/invite/{token}", data={"username": "late", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 410 and team.directory.account("late") is None
    # short passwords refused, invitation not used up
    token = team.directory.invite("alpha", "coder", hours=1)
    r = anon.post(f"/invite/{token}", data={"username": "xss", "password": PASSWORD,
                                            "display_name": "<script>alert(1)</script>"}, follow_redirects=False)
    assert r.status_code == 303
    page = login(team.app, "xss").get("/").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    token = team.directory.invite("alpha", "coder", hours=1)
    r = anon.post(f"/invite/{token}", data={"username": "shorty", "password": "short"}, follow_redirects=False)
    assert r.status_code == 400 and team.directory.invitation(token) is not None
    # the hash is Argon2id
    h = team.directory._one("SELECT password_hash FROM rs_server.accounts WHERE username = 'newviewer'")[0]
    assert h.startswith("$argon2id$")


def test_login_rate_limited(team):
    team.directory.create_account("limited", PASSWORD)
    anon = TestClient(team.app)
    codes = [anon.post("/login", data={"username": "limited", "password": "wrong password!"},
                       follow_redirects=False).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # even the right password is refused while the limit holds
    r = anon.post("/login", data={"username": "limited", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 429
    # after the window, the right password works again
    team.directory._conn().execute("UPDATE rs_server.login_attempts SET at = at - interval '16 minutes' "
                                   "WHERE username = 'limited'")
    r = anon.post("/login", data={"username": "limited", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303


def test_blind_double_coding_hides_until_released(team):
    lead, c1, c2 = team.client("lead"), team.client("coder"), team.client("coder2")
    assert lead.post("/api/projects/alpha/blind", json={"documents": [2], "hidden": True}).status_code == 200
    s1 = _code(c1, doc=2, start=0, end=12, code="risk/risk_assessment").json()["segment"]
    s2 = _code(c2, doc=2, start=0, end=12, code="risk/risk_assessment").json()["segment"]
    seen1 = {s["id"] for s in c1.get("/api/projects/alpha/documents/2").json()["segments"]}
    seen2 = {s["id"] for s in c2.get("/api/projects/alpha/documents/2").json()["segments"]}
    assert s1 in seen1 and s2 not in seen1 and s2 in seen2 and s1 not in seen2
    assert {s1, s2} <= {s["id"] for s in lead.get("/api/projects/alpha/documents/2").json()["segments"]}
    # cannot reach the other's hidden coding by id either
    assert c1.post(f"/api/projects/alpha/segments/{s2}/memo", json={"text": "peek"}).status_code == 404
    assert c1.post(f"/api/projects/alpha/segments/{s2}/remove", json={}).status_code == 404
    assert team.client("viewer").get("/api/projects/alpha/documents/2").json()["segments"] == []
    assert lead.post("/api/projects/alpha/blind", json={"documents": [2], "hidden": False}).status_code == 200
    assert {s1, s2} <= {s["id"] for s in c1.get("/api/projects/alpha/documents/2").json()["segments"]}


def test_audit_log_records_who_what_before_after(team):
    lead, coder = team.client("lead"), team.client("coder")
    seg = _code(coder, doc=1, start=40, end=60).json()["segment"]
    assert coder.post(f"/api/projects/alpha/segments/{seg}/remove", json={}).status_code == 200
    codes = lead.get("/api/projects/alpha/codes").json()["codes"]
    target = next(c for c in codes if c["path"] == "risk/risk_assessment")
    r = lead.post(f"/api/projects/alpha/codes/{target['id']}/rename", json={"name": "Risk (renamed)",
                                                                             "version": target["version"]})
    assert r.status_code == 200
    stale = lead.post(f"/api/projects/alpha/codes/{target['id']}/rename", json={"name": "Again",
                                                                                "version": target["version"]})
    assert stale.status_code == 409  # optimistic concurrency: the stale version is refused
    log = lead.get("/api/projects/alpha/audit").json()["audit"]
    mine = [e for e in log if e["target"] == str(seg)]
    assert [(e["user"], e["action"]) for e in mine] == [("coder", "segment.code"), ("coder", "segment.remove")]
    where = {"segment": seg, "document": 1, "code": "risk/risk_assessment", "start": 40, "end": 60, "coder": "coder"}
    assert mine[0]["after"] == where and mine[0]["before"] is None
    assert mine[1]["before"] == {**where, "memos": []} and mine[1]["after"] is None  # no transcript text
    rename = [e for e in log if e["action"] == "code.rename"][-1]
    assert rename["before"]["name"] == target["name"] and rename["after"]["name"] == "Risk (renamed)"
    assert {k: v for k, v in rename["before"].items() if k != "name"} == \
        {k: v for k, v in rename["after"].items() if k != "name"}
    assert rename["before"]["path"] == "risk/risk_assessment" and rename["before"]["parent"] == "risk"
    assert all(e["at"].endswith("Z") for e in log)
    csv_rows = list(csv.reader(io.StringIO(lead.get("/api/projects/alpha/audit.csv").text)))
    assert csv_rows[0] == ["id", "at", "user", "action", "target", "before", "after"]
    assert len(csv_rows) == len(log) + 1
    # beta's lead sees nothing of alpha's log
    assert all(e["user"] in ("blead", None) for e in team.client("blead").get("/api/projects/beta/audit").json()["audit"])


def test_a_change_and_its_audit_entry_commit_together(team, monkeypatch):
    from recoverystudy.server.directory import TeamServerError

    coder, lead = team.client("coder"), team.client("lead")
    before = coder.get("/api/projects/alpha/documents/1").json()["segments"]
    n_log = len(lead.get("/api/projects/alpha/audit").json()["audit"])

    def broken(*args, **kwargs):
        raise TeamServerError("The audit log cannot be written.", 503)

    monkeypatch.setattr(team.directory, "record", broken)
    assert _code(coder, doc=1, start=70, end=90).status_code == 503
    assert lead.post("/api/projects/alpha/blind", json={"documents": [1], "hidden": True}).status_code == 503
    monkeypatch.undo()
    assert coder.get("/api/projects/alpha/documents/1").json()["segments"] == before  # no unaudited change
    assert 1 not in {d["id"] for d in lead.get("/api/projects/alpha/documents").json()["documents"] if d["blind"]}
    assert len(lead.get("/api/projects/alpha/audit").json()["audit"]) == n_log
    assert _code(coder, doc=1, start=70, end=90).status_code == 201  # and the project works on
