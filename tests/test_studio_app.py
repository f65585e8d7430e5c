"""The coding studio's endpoints through Starlette's test client: access, CSRF, Host, CSP, escaping,
paths, bad requests (4xx that change nothing), and that every write is visible to the Python API at once."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from html.parser import HTMLParser

import pytest

import recoverystudy as rs
from recoverystudy.studio import LocalTokenAuth, create_app

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2, which is not packaged here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

EVIL = '<script>alert(1)</script> "onmouseover=alert(2) x=" </textarea><script>alert(3)</script>'
TEXT = ("Interviewer: Tell me about your care plan.\n"
        f"SU01: I never had a copy of my care plan. My mum came along. {EVIL}\n"
        "Interviewer: And risk?\n"
        "SU01: Nobody said I was high risk. The risk form was done without me.")
COPY = "care_plan_document/copy_and_ownership"


def span(quote, text=TEXT):
    a = text.index(quote)
    return a, a + len(quote)


@pytest.fixture
def proj(tmp_path):
    with rs.Project.create(tmp_path / "study.rsqda") as p:
        p.add_case("SU01", site="Site A")
        p.add_case("SU02", site="Site B")
        p.add_document(TEXT, name="SU01-int", case="SU01")
        p.add_document("SU02: My coordinator listens. She rang my mum.", name="SU02-int", case="SU02")
        yield p


def login(app, auth):
    client = TestClient(app)
    client.__enter__()
    r = client.get(f"/?token={auth.token}", follow_redirects=False)
    assert r.status_code == 303
    client.csrf = auth.csrf_token(auth.authenticate(_Cookies(client)))
    return client


class _Cookies:
    def __init__(self, client):
        self.cookies = dict(client.cookies)


@pytest.fixture
def studio(proj):
    auth = LocalTokenAuth(coder="AB")
    app = create_app(proj, auth=auth, allowed_hosts=["testserver"])
    client = login(app, auth)
    client.app_, client.rs_auth = app, auth
    yield client
    client.__exit__(None, None, None)


def state(p):
    return (p.segments().values.tolist(), p.codes().drop(columns=["keywords", "lemmas"]).values.tolist(),
            p.documents()["name"].tolist(), len(p.coding_log()), p.memos().values.tolist(),
            p.suggestions(status=None).values.tolist(), p.cases().values.tolist(),
            p.framework_matrix().cells["summary"].tolist(), len(p.framework_versions()))


def post(client, url, body=None, token=True):
    headers = {"X-CSRF-Token": client.csrf} if token else {}
    return client.post(url, json=body or {}, headers=headers)


# -- access ------------------------------------------------------------------------------------------
GET_PAGES = ["/", "/documents/1", "/suggestions", "/codebook", "/matrix", "/agreement", "/export",
             "/api/documents/1/segments", "/api/segments/1", "/static/studio.js", "/export/project.qdpx",
             "/matrix/cell?case=SU01&code=risk/risk_assessment"]


def test_every_request_needs_the_token_then_the_cookie(proj):
    proj.code("SU01-int", *span("never had a copy"), COPY, coder="AB")
    auth = LocalTokenAuth(coder="AB")
    app = create_app(proj, auth=auth, allowed_hosts=["testserver"])
    with TestClient(app) as anon:
        for url in GET_PAGES:
            r = anon.get(url)
            assert r.status_code == 401, url
            assert "never had a copy" not in r.text and "SU01" not in r.text
        assert anon.get("/?token=" + "x" * len(auth.token)).status_code == 401
        assert anon.post("/api/documents/1/segments", json={"start": 0, "end": 5, "codes": [COPY]}).status_code == 401
        r = anon.get(f"/documents/1?token={auth.token}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/documents/1"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
        assert auth.token not in cookie
        page = anon.get("/documents/1")
        assert page.status_code == 200 and "never had a copy" in page.text
    assert len(auth.token) >= 43  # 256 bits, URL-safe base64


def test_host_header_must_be_the_studio_address(studio):
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", ""):
        r = studio.get("/documents/1", headers={"host": host})
        assert r.status_code == 403, host
        assert "never had" not in r.text
    app = create_app(studio.app_.state.project_path, auth=studio.rs_auth)  # the default: 127.0.0.1 and localhost
    with TestClient(app, base_url="http://127.0.0.1:8123") as c:
        assert c.get(f"/?token={studio.rs_auth.token}").status_code == 200
    with TestClient(app, base_url="http://rebind.example:8123") as c:
        assert c.get(f"/?token={studio.rs_auth.token}").status_code == 403


def test_security_headers_and_csp(studio):
    for url in ("/", "/documents/1", "/api/documents/1/segments", "/static/document.js"):
        r = studio.get(url)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["referrer-policy"] == "no-referrer"
    page = studio.get("/documents/1").text
    assert " style=" not in page and "onclick" not in page.lower()
    # every script in a page is a file of the studio's own, or the JSON data block
    for tag in re.findall(r"<script[^>]*>", page):
        assert tag in ('<script src="/static/studio.js" defer>', '<script src="/static/document.js" defer>',
                       '<script type="application/json" id="payload">'), tag


def test_every_state_change_needs_the_csrf_token(studio, proj):
    before = state(proj)
    posts = [r for r in studio.app_.routes if "POST" in (getattr(r, "methods", None) or ())]
    assert len(posts) == 16
    for route in posts:
        url = route.path.replace("{doc_id}", "1").replace("{seg_id}", "1").replace("{sug_id}", "1") \
            .replace("{code_id}", "1")
        for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": studio.csrf[:-1] + "x"}):
            r = studio.post(url, json={"start": 6, "end": 20, "codes": [COPY], "text": "m", "code": COPY},
                            headers=headers)
            assert r.status_code == 403, (url, headers, r.text)
        r = studio.post(url, data={"csrf_token": "bad", "name": "X", "note": "n", "case": "SU09"})
        assert r.status_code == 403, url
        assert "CSRF" in r.text or "security token" in r.text
    assert state(proj) == before


# -- same truth -----------------------------------------------------------------------------------------
def test_codings_are_shared_with_the_python_api_at_once(studio, proj):
    a, b = span("never had a copy of my care plan")
    r = post(studio, "/api/documents/1/segments", {"start": a, "end": b, "codes": [COPY, "carers/carer_involvement"]})
    assert r.status_code == 201
    ids = r.json()["ids"]
    segs = proj.segments()  # the notebook's own connection sees the page's coding at once
    assert segs[["segment_id", "code", "coder", "text"]].values.tolist() == [
        [ids[0], COPY, "AB", "never had a copy of my care plan"],
        [ids[1], "carers/carer_involvement", "AB", "never had a copy of my care plan"]]
    c, d = span("Nobody said I was high risk")
    seg = proj.code("SU01-int", c, d, "risk/risk_discussion", coder="CD")
    listed = studio.get("/api/documents/1/segments").json()["segments"]
    assert [s["id"] for s in listed] == [*ids, seg]
    assert listed[-1] == {"id": seg, "start": c, "end": d, "code": "risk/risk_discussion", "coder": "CD", "memos": 0}


def test_resize_recode_memo_remove_undo_redo(studio, proj):
    a, b = span("never had")
    seg = post(studio, "/api/documents/1/segments", {"start": a, "end": b, "codes": [COPY]}).json()["ids"][0]
    a2, b2 = span("never had a copy")
    r = post(studio, f"/api/segments/{seg}/resize", {"start": a2, "end": b2})
    assert r.status_code == 200 and r.json()["segment"]["text"] == "never had a copy"
    assert post(studio, f"/api/segments/{seg}/recode", {"code": "carers/carer_involvement"}).status_code == 200
    assert post(studio, f"/api/segments/{seg}/memo", {"text": "Says twice."}).status_code == 201
    assert proj.segments()[["segment_id", "code", "text"]].values.tolist() == [
        [seg, "carers/carer_involvement", "never had a copy"]]
    assert proj.memos()[["segment_id", "text", "author"]].values.tolist() == [[seg, "Says twice.", "AB"]]
    detail = studio.get(f"/api/segments/{seg}").json()
    assert detail["memos"][0]["text"] == "Says twice." and detail["coder"] == "AB"
    r = post(studio, "/api/undo", {"document": 1})
    assert r.status_code == 200 and r.json()["documents"] == ["SU01-int"]
    assert proj.segments()["code"].tolist() == [COPY]  # the recode is undone (memos are not coding actions)
    post(studio, "/api/undo", {"document": 1})
    assert proj.segments()["text"].tolist() == ["never had"]
    post(studio, "/api/redo", {"document": 1})
    assert proj.segments()["text"].tolist() == ["never had a copy"]
    assert post(studio, f"/api/segments/{seg}/remove").status_code == 200
    assert len(proj.segments()) == 0
    r = post(studio, "/api/undo", {"document": 1})
    assert r.json()["can_redo"] is True
    assert proj.segments()["segment_id"].tolist() == [seg]


def test_another_coders_coding_needs_the_teams_agreement(studio, proj):
    seg = proj.code("SU01-int", *span("My mum came along"), "carers/carer_involvement", coder="CD")
    before = state(proj)
    for url, body in ((f"/api/segments/{seg}/remove", {}), (f"/api/segments/{seg}/recode", {"code": COPY}),
                      (f"/api/segments/{seg}/resize", {"start": span("My mum")[0], "end": span("My mum")[1]})):
        r = post(studio, url, body)
        assert r.status_code == 403 and "coded by 'CD'" in r.json()["error"]
    assert state(proj) == before
    assert post(studio, f"/api/segments/{seg}/remove", {"others": True}).status_code == 200
    assert proj.coding_log()[["action", "coder", "detail"]].values.tolist()[-1] == ["uncode", "AB", "coded by CD"]


# -- bad requests -----------------------------------------------------------------------------------------
def test_bad_requests_get_4xx_with_a_message_and_change_nothing(studio, proj):
    a, b = span("never had a copy")
    post(studio, "/api/documents/1/segments", {"start": a, "end": b, "codes": [COPY]})
    before = state(proj)
    n = len(TEXT)
    cases = [
        ("/api/documents/99/segments", {"start": 0, "end": 4, "codes": [COPY]}, 404, "No document"),
        ("/api/documents/abc/segments", {"start": 0, "end": 4, "codes": [COPY]}, 400, "whole number"),
        ("/api/documents/1/segments", {"start": n - 2, "end": n + 5, "codes": [COPY]}, 400, "outside the text"),
        ("/api/documents/1/segments", {"start": -3, "end": 4, "codes": [COPY]}, 400, "outside the text"),
        ("/api/documents/1/segments", {"start": 10, "end": 10, "codes": [COPY]}, 400, "empty"),
        ("/api/documents/1/segments", {"start": 12, "end": 10, "codes": [COPY]}, 400, "empty"),
        ("/api/documents/1/segments", {"start": "1", "end": [3], "codes": [COPY]}, 400, "whole number"),
        ("/api/documents/1/segments", {"start": True, "end": 3, "codes": [COPY]}, 400, "whole number"),
        ("/api/documents/1/segments", {"start": 0, "end": 4, "codes": []}, 400, "Choose at least one code"),
        ("/api/documents/1/segments", {"start": 0, "end": 4, "codes": ["no/such"]}, 404, "No code"),
        ("/api/documents/1/segments", {"start": a, "end": b, "codes": [COPY]}, 409, "exactly this passage"),
        ("/api/documents/1/segments", {"start": a + 2, "end": b + 6, "codes": [COPY]}, 409, "overlapping"),
        ("/api/documents/1/segments", {"start": a, "end": b, "codes": ["risk/risk_assessment", COPY]}, 409, "already"),
        ("/api/segments/999/remove", {}, 404, "No segment"),
        ("/api/segments/1/resize", {"start": 5, "end": 2}, 400, "empty"),
        ("/api/segments/1/recode", {"code": "nope"}, 404, "No code"),
        ("/api/segments/1/memo", {"text": "   "}, 400, "empty"),
        ("/api/segments/1/remove", {"others": "yes"}, 400, "true or false"),
    ]
    for url, body, status, words in cases:
        r = post(studio, url, body)
        assert r.status_code == status, (url, body, r.text)
        assert words in r.json()["error"], (url, r.json())
    r = studio.post("/api/documents/1/segments", content=b"{not json", headers={"X-CSRF-Token": studio.csrf})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = studio.post("/api/redo", json={}, headers={"X-CSRF-Token": studio.csrf})
    assert r.status_code == 409 and "nothing to redo" in r.json()["error"]
    assert studio.get("/documents/4242").status_code == 404
    assert state(proj) == before


def test_paths_never_reach_files_outside_the_project(studio, proj, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET CONTENT")
    for url in ("/static/../secret.txt", "/static/..%2f..%2fpyproject.toml", "/static/%2e%2e%2fapp.py",
                "/static/app.py", "/static/..%2Fsecret.txt", "/export/..%2f..%2fsecret.txt", "/export/secret.txt",
                "/documents/..%2f1", "/static/%2Fetc%2Fpasswd", "/static/templates%2Fbase.html"):
        r = studio.get(url)
        assert r.status_code in (400, 404), url
        assert "TOP SECRET" not in r.text and "root:" not in r.text and "import" not in r.text
    before = sorted(p.name for p in tmp_path.iterdir())
    files = {"file": ("../../../evil.txt", b"SU09: uploaded through a path.\n", "text/plain")}
    r = studio.post("/documents", data={"csrf_token": studio.csrf}, files=files, follow_redirects=False)
    assert r.status_code == 303
    assert proj.documents()["name"].tolist()[-1] == "evil"
    assert proj.documents()["source_path"].tolist()[-1] is not None
    assert "evil" not in " ".join(p.name for p in tmp_path.parent.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# -- escaping ---------------------------------------------------------------------------------------------
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.attrs, self.in_script, self.script_text = [], [], False, []

    def handle_starttag(self, tag, attrs):
        self.attrs += [name for name, _ in attrs]
        if tag == "script":
            self.scripts.append(dict(attrs))
            self.in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.script_text.append(data)


def assert_inert(page):
    tags = _Tags()
    tags.feed(page)
    assert not [a for a in tags.attrs if a.startswith("on")], "an event-handler attribute got into the page"
    for s in tags.scripts:
        assert s.get("src", "").startswith("/static/") or s.get("type") == "application/json", s
    assert "alert(" not in "".join(t for t in tags.script_text if "alert(" in t and "\\u003c" not in t)
    assert "<script>alert" not in page and "</textarea><script>" not in page


def test_codes_without_colour_or_description_render(studio, proj):
    proj.add_code("plain")
    proj.add_code("plain/bare")
    seg = proj.code("SU01-int", *span("never had"), "plain/bare", coder="AB")
    page = studio.get("/documents/1").text
    payload = page.split('id="payload">')[1].split("</script>")[0]
    assert "NaN" not in payload and '"plain/bare": {"colour": "", "name": "bare", "theme": "plain"}' in payload
    assert studio.get(f"/api/segments/{seg}").json()["code_name"] == "bare"


def test_transcript_code_names_and_memos_are_always_escaped(studio, proj):
    proj.add_code("evil", name=EVIL, definition=EVIL, inclusion=EVIL, exclusion=EVIL)
    proj.add_code("evil/sub", name=EVIL, definition=EVIL)
    proj.add_case(EVIL, site=EVIL)
    proj.add_document(f"{EVIL}: {EVIL}", name=EVIL, case=EVIL, kind=EVIL)
    seg = proj.code("SU01-int", *span(EVIL), "evil/sub", coder=EVIL, memo=EVIL)
    proj.chart("SU01", "evil/sub", EVIL, segments=[seg], author="AB")
    proj.suggest({"evil/sub": {"keywords": ["mum"]}})
    pages = ["/", "/documents/1", "/documents/3", "/codebook", "/matrix?theme=evil", "/suggestions",
             "/matrix/cell?case=SU01&code=evil/sub", "/export", f"/agreement?coders=AB&coders={EVIL}"]
    post(studio, "/api/documents/1/segments", {"start": span(EVIL)[0], "end": span(EVIL)[1], "codes": ["evil/sub"]})
    for url in pages:
        r = studio.get(url, params=None)
        assert r.status_code == 200, (url, r.text[:500])
        assert_inert(r.text)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text or "\\u003cscript\\u003e" in r.text, url
    doc = studio.get("/documents/1").text
    assert "&lt;/textarea&gt;&lt;script&gt;alert(3)" in doc  # the transcript line, as text
    assert "&#34;onmouseover=alert(2)" in doc
    cell = studio.get("/matrix/cell?case=SU01&code=evil/sub").text
    assert "&lt;/textarea&gt;" in cell.split('id="summary"')[1]  # the summary inside its textarea stays text
    api = studio.get(f"/api/segments/{seg}").json()
    assert api["memos"][0]["text"] == EVIL and api["coder"] == EVIL  # JSON carries data; the page uses textContent
    js = studio.get("/static/document.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


# -- the other pages ----------------------------------------------------------------------------------------
def test_first_run_asks_who_is_coding(proj):
    auth = LocalTokenAuth()
    app = create_app(proj, auth=auth, allowed_hosts=["testserver"])
    client = login(app, auth)
    try:
        r = client.get("/documents/1", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/whoami")
        r = post(client, "/api/documents/1/segments", {"start": 6, "end": 10, "codes": [COPY]})
        assert r.status_code == 403 and "coder name" in r.json()["error"]
        r = client.post("/whoami", data={"csrf_token": client.csrf, "name": "  EF ", "next": "//evil.example/x"},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert post(client, "/api/documents/1/segments", {"start": 6, "end": 10, "codes": [COPY]}).status_code == 201
        assert proj.segments()["coder"].tolist() == ["EF"]
    finally:
        client.__exit__(None, None, None)


def _docx(text):
    from docx import Document

    buf = io.BytesIO()
    d = Document()
    for line in text.splitlines():
        d.add_paragraph(line)
    d.save(buf)
    return buf.getvalue()


def test_home_upload_and_cases(studio, proj):
    home = studio.get("/").text
    assert "Site A" in home and "Site B" in home and "SU01-int" in home
    post(studio, "/api/documents/1/segments", {"start": 6, "end": 40, "codes": [COPY]})
    assert re.search(r"AB: 1 coding, \d+% of the text", studio.get("/").text)
    r = studio.post("/documents", data={"csrf_token": studio.csrf, "name": "SU03-int", "case": "SU03"},
                    files={"file": ("SU03.docx", _docx("Interviewer: Hello\nSU03: My plan is in a drawer."),
                                    "application/octet-stream")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert proj.documents().set_index("name").loc["SU03-int", "case"] == "SU03"
    assert "My plan is in a drawer." in proj.document_text("SU03-int")
    before = state(proj)
    bad = [({"file": ("x.pdf", b"not a pdf", "application/pdf")}, 400, "not a .pdf"),
           ({"file": ("x.exe", b"MZ", "application/octet-stream")}, 400, "must be"),
           ({"file": ("x.txt", b"", "text/plain")}, 400, "empty"),
           ({"file": ("x.txt", b"a\x00b", "text/plain")}, 400, "not plain text")]
    for files, status, words in bad:
        r = studio.post("/documents", data={"csrf_token": studio.csrf}, files=files)
        assert r.status_code == status and words in r.text, r.text
    r = studio.post("/documents", data={"csrf_token": studio.csrf, "name": "SU01-int"},
                    files={"file": ("y.txt", b"SU01: other text", "text/plain")})
    assert r.status_code == 400 and "already exists" in r.text
    assert state(proj) == before
    r = studio.post("/cases", data={"csrf_token": studio.csrf, "case": "SU07", "site": "Site C"}, follow_redirects=False)
    assert r.status_code == 303 and proj.cases().set_index("case").loc["SU07", "site"] == "Site C"


def test_upload_size_cap(proj):
    auth = LocalTokenAuth(coder="AB")
    client = login(create_app(proj, auth=auth, allowed_hosts=["testserver"], max_upload=1000), auth)
    try:
        r = client.post("/documents", data={"csrf_token": client.csrf},
                        files={"file": ("big.txt", b"SU01: " + b"a" * 5000, "text/plain")})
        assert r.status_code == 413
        assert len(proj.documents()) == 2
    finally:
        client.__exit__(None, None, None)


def test_suggestions_accept_reject_with_reason_and_skip(studio, proj):
    proj.suggest({"carers/carer_involvement": {"keywords": ["mum"]}, "risk/risk_assessment": {"keywords": ["risk"]}})
    ids = proj.suggestions()["suggestion_id"].tolist()
    # "mum" in both documents; "high risk." and "The risk form" are two sentences; the interviewer's
    # "And risk?" is a question, not data, and is never suggested
    assert len(ids) == 4
    page = studio.get("/suggestions").text
    assert f"Suggestion {ids[0]}" in page and "4 waiting" in page
    assert len(proj.segments()) == 0  # nothing is coded without a person's action
    r = studio.post(f"/suggestions/{ids[0]}/decide", data={"csrf_token": studio.csrf, "decision": "accept"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/suggestions?after={ids[0]}")
    studio.post(f"/suggestions/{ids[1]}/decide",
                data={"csrf_token": studio.csrf, "decision": "reject", "reason": "Talks about the form."})
    assert studio.get(f"/suggestions?after={ids[2]}").text.count(f"Suggestion {ids[3]}") == 1  # skipping
    status = proj.suggestions(status=None).set_index("suggestion_id")["status"]
    assert status.to_dict() == {ids[0]: "accepted", ids[1]: "rejected", ids[2]: "pending", ids[3]: "pending"}
    assert proj.segments()["coder"].tolist() == ["AB"]
    decided = proj.suggestions(status=None).set_index("suggestion_id")
    assert decided.loc[ids[1], "reason"] == "Talks about the form."
    r = studio.post(f"/suggestions/{ids[1]}/decide", data={"csrf_token": studio.csrf, "decision": "accept"})
    assert r.status_code == 400 and "already rejected" in r.text
    r = studio.post("/suggestions/make", data={"csrf_token": studio.csrf}, follow_redirects=False)
    assert r.status_code == 303


def test_codebook_add_edit_move_freeze(studio, proj):
    r = studio.post("/codebook/add", data={"csrf_token": studio.csrf, "name": "Peer support", "theme": "relationship",
                                           "definition": "Support from people with lived experience."},
                    follow_redirects=False)
    assert r.status_code == 303
    code_id = int(proj.codes().set_index("path").loc["relationship/peer_support", "code_id"])
    studio.post(f"/codebook/{code_id}/edit", data={"csrf_token": studio.csrf, "name": "Peer workers",
                                                   "definition": "d", "inclusion": "i", "exclusion": "e",
                                                   "colour": "#336699", "theme": "carers"})
    row = proj.codes().set_index("code_id").loc[code_id]
    assert (row["path"], row["name"], row["colour"], row["inclusion"]) == ("carers/peer_support", "Peer workers",
                                                                          "#336699", "i")
    studio.post("/codebook/freeze", data={"csrf_token": studio.csrf, "note": "Agreed after 3 transcripts"})
    assert proj.framework_versions()["note"].tolist() == ["Agreed after 3 transcripts"]
    page = studio.get("/codebook").text
    assert "Peer workers" in page and "Agreed after 3 transcripts" in page
    r = studio.post(f"/codebook/{code_id}/edit", data={"csrf_token": studio.csrf, "name": "", "theme": "carers"})
    assert r.status_code == 400


def test_matrix_and_charting(studio, proj):
    seg = proj.code("SU01-int", *span("My mum came along"), "carers/carer_involvement", coder="AB")
    page = studio.get("/matrix?theme=carers").text
    assert "Site A" in page and "1 coding</span>" in page
    cell = studio.get("/matrix/cell?case=SU01&code=carers/carer_involvement").text
    assert "My mum came along" in cell
    r = studio.post("/matrix/cell", data={"csrf_token": studio.csrf, "case": "SU01", "code": "carers/carer_involvement",
                                          "summary": "Mother attends reviews.", "segments": [str(seg)]},
                    follow_redirects=False)
    assert r.status_code == 303
    cells = proj.framework_matrix(codes=["carers/carer_involvement"]).cells.set_index("case")
    assert cells.loc["SU01", "summary"] == "Mother attends reviews." and cells.loc["SU01", "segment_ids"] == (seg,)
    assert "Mother attends reviews." in studio.get("/matrix?theme=carers").text
    assert studio.get("/matrix?theme=nope").status_code == 404


def test_agreement_page(studio, proj):
    a, b = span("never had a copy of my care plan")
    proj.code("SU01-int", a, b, COPY, coder="AB")
    proj.code("SU01-int", a, b - 13, COPY, coder="CD")
    page = studio.get("/agreement?coders=AB&coders=CD&documents=SU01-int").text
    assert "Cohen" in page and "Where the coders differ (1)" in page
    assert "did not code it" in page and "<mark> my care plan</mark>" in page
    assert studio.get("/agreement?coders=AB&coders=ZZ").status_code == 404
    assert studio.get("/agreement?coders=AB&coders=CD&unit=word").status_code == 400


def test_exports(studio, proj):
    proj.code("SU01-int", *span("never had a copy"), COPY, coder="AB")
    r = studio.get("/export/project.qdpx")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert "project.qde" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert b"<CodeBook" in studio.get("/export/codebook.qdc").content
    assert studio.get("/export/matrix.xlsx?theme=risk").content[:2] == b"PK"
    csv = studio.get("/export/segments.csv", params={"code": COPY})
    assert "never had a copy" in csv.content.decode("utf-8-sig")
    docx = studio.get("/export/segments.docx", params={"code": "care_plan_document"}).content
    assert "never had a copy" in zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode()
    assert studio.get("/export/segments.csv", params={"code": "nope"}).status_code == 404
    assert studio.get("/export/project.zip").status_code == 404


def test_notebook_and_studio_write_at_the_same_time(studio, proj):
    import threading

    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", TEXT)][:40]
    errors = []

    def notebook():
        try:
            with rs.Project.open(proj.path) as other:  # a second notebook connection, in its own thread
                for a, b in words[::2]:
                    other.code("SU01-int", a, b, "risk/risk_assessment", coder="NB")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=notebook)
    thread.start()
    for a, b in words[1::2]:
        assert post(studio, "/api/documents/1/segments", {"start": a, "end": b, "codes": [COPY]}).status_code == 201
    thread.join(timeout=60)
    assert not errors
    counts = proj.segments()["coder"].value_counts().to_dict()
    assert counts == {"NB": 20, "AB": 20}
    assert len(studio.get("/api/documents/1/segments").json()["segments"]) == 40


def test_one_status_mapping_for_the_studio_and_the_team_server():
    """The local studio and the team server map a handler's error to the same status (one function)."""
    from recoverystudy.errors import ConcurrentEditError, RecoveryStudyError
    from recoverystudy.qual.revise import NothingToUndoError
    from recoverystudy.studio._web import StudioError, error_message, error_status

    stale = ConcurrentEditError("The code 'risk' was changed by someone else.", code_path="risk")
    assert error_status(stale) == 409  # a conflict in the studio too (it was 400 there)
    assert error_status(NothingToUndoError("nothing to undo")) == 409  # and on the server (it was 404 there)
    assert error_status(StudioError(413, "too large")) == 413
    assert error_status(PermissionError("coded by 'CD'")) == 403
    assert error_status(KeyError("No segment 9 in this project.")) == 404
    assert error_status(RecoveryStudyError("bad input")) == 400
    assert error_status(ValueError("bad value")) == 400
    assert error_message(KeyError("No segment 9 in this project.")) == "No segment 9 in this project."
    assert error_message(stale) == "The code 'risk' was changed by someone else."
    assert error_message(ValueError()) == "ValueError"
