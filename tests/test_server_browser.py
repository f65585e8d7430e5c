"""The team server in a real browser (Debian's Chromium driven by Playwright), as the people of a study use it.

The real server (uvicorn, in a thread, on a free port) on the throwaway PostgreSQL: a coder opens an
invitation link, creates an account, logs in through the login form, codes a sentence selected with the
mouse and writes a memo on it; a viewer cannot code; a lead uploads a document; logging out and going
back shows the login form; another project's pages do not exist.  What the browser shows is checked
against the database (the coding, its coder, the memo, the audit log).
Skips outside CI without Chromium or PostgreSQL; fails under CI=true.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
import uvicorn
from _pgcluster import free_port
from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import PASSWORD, TEXT_A, fresh_database, make_project
from test_studio_browser import ARGS, drag_select

import recoverystudy as rs
from recoverystudy.server import create_team_app
from recoverystudy.server.access import project_url
from recoverystudy.server.directory import Directory
from tests._services import chromium_path

CODE = "risk/risk_assessment"
SENTENCE = "Never had a copy of my care plan."
NEW_PASSWORD = "sam's own long password"


@pytest.fixture(scope="module")
def site(pg_server):
    exe = chromium_path()
    from playwright.sync_api import sync_playwright

    db = fresh_database(pg_server)
    make_project(db, "alpha", TEXT_A)
    make_project(db, "beta", "CC02: Project B's secret transcript.")
    d = Directory(db)
    for user, project, role in [("lead", "alpha", "lead"), ("viewer", "alpha", "viewer"), ("blead", "beta", "lead")]:
        d.add_member(project, d.create_account(user, PASSWORD), role)
    invitation = d.invite("alpha", "coder", hours=1)
    d.close()
    app = create_team_app(db, secure_cookies=False, threads=4)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name="rs-team-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the team server did not start"
        time.sleep(0.02)
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=exe, args=ARGS)
    yield {"db": db, "url": f"http://127.0.0.1:{port}", "browser": browser, "invitation": invitation}
    browser.close()
    pw.stop()
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def page(site):
    context = site["browser"].new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(8000)
    problems = []
    pg.on("console", lambda m: problems.append(m.text)
          if m.type == "error" and "Failed to load resource" not in m.text else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    yield pg
    context.close()
    assert not problems, problems  # no script error and no Content-Security-Policy violation


def _log_in(page, site, username, password=PASSWORD):
    page.goto(site["url"] + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site["url"] + "/")


def _rows(site, sql, params=()):
    with psycopg.connect(site["db"]) as conn:
        return conn.execute(sql, params).fetchall()


def _segments(site):
    proj = rs.Project.open(project_url(site["db"], "alpha"))
    try:
        return proj.segments()
    finally:
        proj.close()


def _open_document(page, site, name="D1"):
    page.goto(site["url"] + "/p/alpha/")
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_selector("#transcript[data-ready='1']")


def test_invited_coder_joins_codes_a_sentence_and_writes_a_memo(page, site):
    page.goto(f"{site['url']}/invite/{site['invitation']}")
    assert "invited to the project alpha as coder" in page.locator("main").inner_text()
    page.get_by_label("User name").fill("sam")
    page.get_by_label("Your name as others see it").fill("Sam (site 3)")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url(site["url"] + "/login")
    _log_in(page, site, "sam", NEW_PASSWORD)
    assert "Logged in as Sam (site 3) (sam)" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="beta").count() == 0  # only their own projects are listed
    page.get_by_role("link", name="alpha").click()
    page.wait_for_url(site["url"] + "/p/alpha/")
    assert "Coding as sam" in page.locator("body").inner_text()

    _open_document(page, site)
    drag_select(page, SENTENCE)
    assert page.locator("#selection").inner_text().startswith(f"“{SENTENCE}”")
    page.fill("#code-search", "risk assessment")
    page.locator(f"button.apply-code[data-path='{CODE}']").click()
    page.wait_for_selector(f"mark.hl >> text={SENTENCE}")
    segs = _segments(site)
    mine = segs[segs["coder"] == "sam"]
    assert mine[["text", "code"]].values.tolist() == [[SENTENCE, CODE]]
    seg = int(mine["segment_id"].iloc[0])

    page.locator("mark.hl", has_text=SENTENCE).click()
    page.wait_for_selector("#coding-panel:not([hidden])")
    page.get_by_label("Memo on this coding").fill("Copy of the plan: ask at every review.")
    page.get_by_role("button", name="Save memo").click()
    page.wait_for_selector("#status:has-text('Memo saved')")
    page.wait_for_selector("ul.memos li >> text=sam: Copy of the plan: ask at every review.")
    memos = _rows(site, "SELECT m.text, u.name FROM rs_alpha.memos m JOIN rs_alpha.users u ON u.user_id = m.author_id "
                        "WHERE m.segment_id = %s", (seg,))
    assert memos == [("Copy of the plan: ask at every review.", "sam")]
    audit = _rows(site, "SELECT username, action, target FROM rs_server.audit_log WHERE project = 'alpha' "
                        "AND username = 'sam' ORDER BY audit_id")
    assert audit == [("sam", "account.create", "sam"), ("sam", "segment.code", "1"), ("sam", "memo.add", str(seg))]

    # another project's pages do not exist for sam
    for path in ("/p/beta/", "/p/beta/documents/1"):
        response = page.goto(site["url"] + path)
        assert response.status == 404 and "secret" not in page.content()

    # log out; the Back button then shows the login form, not the project
    page.goto(site["url"] + "/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(site["url"] + "/login")
    page.go_back()
    assert page.get_by_role("button", name="Log in").count() == 1
    assert "Log in first" in page.locator("main").inner_text() and "Logged in as" not in page.content()
    response = page.goto(site["url"] + "/p/alpha/documents/1")
    assert response.status == 401 and SENTENCE not in page.content()


def test_viewer_reads_but_cannot_code(page, site):
    proj = rs.Project.open(project_url(site["db"], "alpha"))
    try:  # the lead's coding, with a memo, that the viewer may read
        start = TEXT_A.index("Nobody asked")
        proj.code("D1", start, start + len("Nobody asked"), CODE, coder="lead", memo="Lead's reading: not asked.")
    finally:
        proj.close()
    _log_in(page, site, "viewer")
    before = len(_segments(site))
    _open_document(page, site)
    assert SENTENCE in page.locator("#transcript").inner_text()
    # the page says plainly that this role reads only, and offers no coding controls
    assert page.locator("#read-only").is_visible()
    assert "does not let you code" in page.locator("#read-only").inner_text()
    for control in ("button.apply-code", "#apply-ticked", ".tick", "#undo", "#redo"):
        assert page.locator(control).count() == 0, control
    assert page.locator(".code-name").count() > 0  # the codebook can still be read and searched
    page.fill("#code-search", "risk assessment")
    assert page.locator(".code-item:visible").count() >= 1
    marks = page.locator("mark.hl").count()
    drag_select(page, "what I wanted")
    page.locator("#transcript .turn").first.focus()
    page.keyboard.press("u")  # the undo shortcut does nothing for a viewer
    # a hand-made request from the page is refused by the server all the same
    refused = page.evaluate("""(code) => fetch(document.querySelector('meta[name="rs-root"]').content
        + '/api/documents/1/segments', {method: 'POST', headers: {'Content-Type': 'application/json',
        'X-CSRF-Token': RS.csrf()}, body: JSON.stringify({codes: [code], start: 0, end: 5})})
        .then(async (r) => [r.status, (await r.json()).error])""", CODE)
    assert refused == [403, "Your role in this project is viewer: you can read but not change it."]
    assert marks >= 1
    page.locator("mark.hl", has_text="Nobody asked").first.click()  # a coding opens read-only
    page.wait_for_selector("#coding-panel:not([hidden])")
    assert "lead: Lead's reading: not asked." in page.locator("#coding-panel").inner_text()
    assert page.locator("#coding-panel button").count() == 0
    assert page.locator("#coding-panel textarea").count() == 0
    assert page.locator("mark.hl").count() == marks
    assert len(_segments(site)) == before


def test_lead_uploads_a_document(page, site):
    _log_in(page, site, "lead")
    page.goto(site["url"] + "/p/alpha/")
    text = "SU07: The crisis team rang back within the hour, and I felt listened to."
    page.set_input_files("#file", files=[{"name": "su07.txt", "mimeType": "text/plain", "buffer": text.encode()}])
    page.fill("#doc-name", "SU07 interview")
    page.fill("#doc-case", "SU07")
    page.get_by_role("button", name="Add document").click()
    page.wait_for_selector("#transcript[data-ready='1']")
    assert "felt listened to" in page.locator("#transcript").inner_text()
    doc_id = int(page.url.rsplit("/", 1)[1])
    proj = rs.Project.open(project_url(site["db"], "alpha"))
    try:
        assert proj.document_text(doc_id) == text
        assert proj.documents().set_index("document_id").loc[doc_id, "name"] == "SU07 interview"
    finally:
        proj.close()
    assert _rows(site, "SELECT username, action FROM rs_server.audit_log WHERE project = 'alpha' "
                       "ORDER BY audit_id DESC LIMIT 1") == [("lead", "document.add")]
