"""Form posts and document uploads through the team server's coding pages (issue 17).

The server's CSRF guard reads the ``csrf_token`` field of HTML forms and multipart uploads (the way a
browser sends them, with no header) without taking the body away from the page's handler, refuses a
missing or wrong token, and refuses an upload larger than the limit before reading it whole.
Against a throwaway PostgreSQL (skips outside CI without its binaries; fails under CI=true).
"""

from __future__ import annotations

import asyncio

import pytest
from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import PASSWORD, TestClient, team  # noqa: F401  (fixture)

import recoverystudy as rs
from recoverystudy.server.access import project_url

NOTE = "Field notes, site 3.\nSU09: The review was the first time anyone asked me what I wanted."


def _browser_like(team, user: str) -> tuple[TestClient, str]:
    """A logged-in client that, like a browser's form, sends no X-CSRF-Token header; and its token."""
    client = TestClient(team.app)
    r = client.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client, client.get("/api/me").json()["csrf_token"]


def _documents(team) -> list[tuple[int, str]]:
    proj = rs.Project.open(project_url(team.db, "alpha"))
    try:
        return [(int(r.document_id), r.name) for r in proj.documents().itertuples()]
    finally:
        proj.close()


def _audit(team):
    return team.client("lead").get("/api/projects/alpha/audit").json()["audit"]


def _upload(client, token=None, *, content=NOTE.encode(), filename="site3-notes.txt", name="Site 3 notes"):
    data = {"name": name, "case": "SU09", "kind": "field notes"}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/p/alpha/documents", data=data, files={"file": (filename, content, "text/plain")},
                       follow_redirects=False)


@pytest.fixture(scope="module")
def lead_form(team):
    client, token = _browser_like(team, "lead")
    yield client, token
    client.close()


def test_lead_uploads_a_document_through_the_form(team, lead_form):
    client, token = lead_form
    n0, docs0 = len(_audit(team)), _documents(team)
    r = _upload(client, token)
    assert r.status_code == 303, r.text
    new_id = max(d for d, _ in _documents(team))
    assert r.headers["location"] == f"/p/alpha/documents/{new_id}"
    assert _documents(team) == docs0 + [(new_id, "Site 3 notes")]
    proj = rs.Project.open(project_url(team.db, "alpha"))
    try:
        assert proj.document_text(new_id) == NOTE
        row = proj.documents().set_index("document_id").loc[new_id]
        assert (row["case"], row["kind"]) == ("SU09", "field notes")
    finally:
        proj.close()
    log = _audit(team)[n0:]
    assert [(e["user"], e["action"]) for e in log] == [("lead", "document.add")]
    assert log[0]["before"] is None
    assert log[0]["after"] == {"documents": [{"document": new_id, "name": "Site 3 notes", "case": "SU09",
                                              "kind": "field notes", "n_chars": len(NOTE)}]}
    page = client.get(f"/p/alpha/documents/{new_id}")
    assert page.status_code == 200 and "the first time anyone asked me" in page.text


def test_html_form_with_only_the_form_field_reaches_its_handler(team, lead_form):
    """A plain form post (token in the body, no header) keeps its fields for the page's handler."""
    client, token = lead_form
    r = client.post("/p/alpha/codebook/add", data={"csrf_token": token, "name": "Peer mentors", "theme": "risk"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    proj = rs.Project.open(project_url(team.db, "alpha"))
    try:
        assert "risk/peer_mentors" in set(proj.codes()["path"])
    finally:
        proj.close()


@pytest.mark.parametrize("how", ["none", "wrong", "empty", "other session's", "header only wrong"])
def test_upload_without_its_token_is_refused(team, lead_form, how):
    client, token = lead_form
    n0, docs0 = len(_audit(team)), _documents(team)
    if how == "none":
        r = _upload(client)
    elif how == "wrong":
        r = _upload(client, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    elif how == "empty":
        r = _upload(client, "")
    elif how == "other session's":
        other, other_token = _browser_like(team, "coder")
        other.close()
        r = _upload(client, other_token)
    else:  # a wrong header is not rescued by a right form field
        r = client.post("/p/alpha/documents", data={"csrf_token": token, "name": "x"},
                        files={"file": ("x.txt", b"text", "text/plain")}, headers={"X-CSRF-Token": "forged"},
                        follow_redirects=False)
    assert r.status_code == 403, (how, r.status_code, r.text)
    assert "security token" in r.json()["error"]
    assert _documents(team) == docs0 and len(_audit(team)) == n0


@pytest.mark.parametrize("user", ["coder", "viewer"])
def test_coders_and_viewers_cannot_upload(team, user):
    client, token = _browser_like(team, user)
    n0, docs0 = len(_audit(team)), _documents(team)
    r = _upload(client, token)
    client.close()
    assert r.status_code == 403, r.text
    expected = "Only a lead" if user == "coder" else "viewer: you can read but not change it"
    assert expected in r.text
    assert _documents(team) == docs0 and len(_audit(team)) == n0


def _raw_post(app, cookie: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    """Send a request straight to the ASGI app, one body chunk per receive(); (status, chunks read)."""
    sent: list[dict] = []
    read = 0

    async def receive():
        nonlocal read
        if read < len(chunks):
            read += 1
            return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": path,
             "raw_path": path.encode(), "root_path": "", "query_string": b"", "server": ("testserver", 80),
             "client": ("127.0.0.1", 5555), "app": app,
             "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())] + headers}
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), read


def test_upload_larger_than_the_limit_is_refused_before_it_is_read(team, lead_form):
    client, token = lead_form
    app = team.app
    n0, docs0 = len(_audit(team)), _documents(team)
    studio_state = app.routes[-1].app.app.state
    old = app.state.max_upload, studio_state.max_upload
    app.state.max_upload = studio_state.max_upload = 5_000
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    multipart = [(b"content-type", b"multipart/form-data; boundary=xyz")]
    try:
        r = _upload(client, token, content=b"a" * 200_000)  # declared Content-Length over the limit
        assert r.status_code == 413, r.text
        assert "larger than 0.005 MB" in r.text
        # declared too long: refused before the first chunk is read
        status, read = _raw_post(app, cookie, "/p/alpha/documents",
                                 multipart + [(b"content-length", b"500000")], [b"x" * 10_000] * 50)
        assert (status, read) == (413, 0)
        # chunked, no length: refused as soon as the body passes the limit (5,000 + 65,536 bytes)
        status, read = _raw_post(app, cookie, "/p/alpha/documents", multipart, [b"x" * 10_000] * 50)
        assert (status, read) == (413, 8)
        # within the guard's allowance for the form's other fields, the studio's own file limit still holds
        r = _upload(client, token, content=b"b" * 6_000)
        assert r.status_code == 413 and "larger than" in r.text
    finally:
        app.state.max_upload, studio_state.max_upload = old
    assert _documents(team) == docs0 and len(_audit(team)) == n0


def test_malformed_multipart_is_refused_plainly(team, lead_form):
    client, token = lead_form
    docs0 = _documents(team)
    r = client.post("/p/alpha/documents", content=b"--xyz\r\nno headers here",
                    headers={"Content-Type": "multipart/form-data; boundary=xyz"}, follow_redirects=False)
    assert (r.status_code, r.text) == (400, "Refused: the form could not be read.")
    assert _documents(team) == docs0
    # two files where the upload form has one: refused the same way, nothing added
    r = client.post("/p/alpha/documents", data={"csrf_token": token},
                    files=[("file", ("a.txt", b"one", "text/plain")), ("file", ("b.txt", b"two", "text/plain"))],
                    follow_redirects=False)
    assert r.status_code == 400 and _documents(team) == docs0
