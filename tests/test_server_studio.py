"""The coding studio's pages served by the team server under /p/<project>/ (issue 17).

Against a throwaway PostgreSQL (skips outside CI without its binaries; fails under CI=true).
"""

from __future__ import annotations

import pytest
from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import TestClient, team  # noqa: F401  (fixture)

import recoverystudy as rs
from recoverystudy.server.access import project_url

CODE = "risk/risk_assessment"


def _segments(team, project="alpha"):
    proj = rs.Project.open(project_url(team.db, project))
    try:
        return proj.segments()
    finally:
        proj.close()


def _audit(team):
    return team.client("lead").get("/api/projects/alpha/audit").json()["audit"]


def _code(client, doc, start, end, project="alpha"):
    return client.post(f"/p/{project}/api/documents/{doc}/segments", json={"codes": [CODE], "start": start, "end": end})


def test_member_codes_a_sentence_through_the_studio_page(team):
    coder = team.client("coder")
    n0 = len(_audit(team))
    home = coder.get("/p/alpha/")
    assert home.status_code == 200
    assert 'href="/p/alpha/static/studio.css"' in home.text and 'content="/p/alpha"' in home.text
    assert "Coding as <strong>coder</strong>" in home.text and "alpha" in home.text
    assert home.headers["content-security-policy"].startswith("default-src 'none'")
    for response in (home, coder.get("/api/me"), coder.get("/login")):  # the studio's headers on every response
        assert response.headers["cross-origin-opener-policy"] == "same-origin"
        assert response.headers["cross-origin-resource-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    assert coder.get("/p/alpha/static/document.js").status_code == 200
    page = coder.get("/p/alpha/documents/1")
    assert page.status_code == 200 and 'src="/p/alpha/static/document.js"' in page.text
    assert "Never had a copy of my care plan." in page.text
    r = _code(coder, 1, 57, 90)  # "Never had a copy of my care plan."
    assert r.status_code == 201, r.text
    (seg,) = r.json()["ids"]
    segs = _segments(team)
    row = segs[segs["segment_id"] == seg].iloc[0]
    assert (row["coder"], row["code"], row["start"], row["end"]) == ("coder", CODE, 57, 90)
    assert row["text"] == "Never had a copy of my care plan."
    log = _audit(team)[n0:]
    assert [(e["user"], e["action"], e["target"]) for e in log] == [("coder", "segment.code", "1")]
    assert log[0]["before"] is None
    assert log[0]["after"] == {"segments": [{"segment": seg, "document": 1, "code": CODE, "start": 57, "end": 90,
                                             "coder": "coder"}]}
    # a memo and a removal through the studio's API are audited too
    assert coder.post(f"/p/alpha/api/segments/{seg}/memo", json={"text": "strong quote"}).status_code == 201
    assert coder.post(f"/p/alpha/api/segments/{seg}/remove", json={}).status_code == 200
    assert seg not in set(_segments(team)["segment_id"])
    assert [e["action"] for e in _audit(team)[n0:]] == ["segment.code", "memo.add", "segment.remove"]


def test_lead_form_posts_redirect_inside_the_project_and_are_audited(team):
    lead = team.client("lead")
    n0 = len(_audit(team))
    r = lead.post("/p/alpha/codebook/add", data={"name": "Peer support", "theme": "risk"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/p/alpha/codebook#")
    proj = rs.Project.open(project_url(team.db, "alpha"))
    try:
        assert "risk/peer_support" in set(proj.codes()["path"])
    finally:
        proj.close()
    assert [(e["user"], e["action"]) for e in _audit(team)[n0:]] == [("lead", "code.add")]
    assert lead.get("/p/alpha/export").status_code == 200


def test_non_member_gets_404_and_anonymous_401(team):
    blead = team.client("blead")
    n0, s0 = len(_audit(team)), len(_segments(team))
    for method, path in [("GET", "/p/alpha/"), ("GET", "/p/alpha/documents/1"), ("GET", "/p/alpha/codebook"),
                         ("GET", "/p/alpha/api/documents/1/segments"), ("GET", "/p/alpha/export/project.qdpx"),
                         ("POST", "/p/alpha/api/documents/1/segments"), ("GET", "/p/nosuch/"),
                         ("GET", "/p/Robert'--/")]:
        r = blead.request(method, path, json={"codes": [CODE], "start": 0, "end": 5})
        assert r.status_code == 404, (method, path, r.status_code)
        assert "Interviewer" not in r.text
    anon = TestClient(team.app)
    assert anon.get("/p/alpha/").status_code == 401
    assert anon.get("/p/alpha/api/documents/1/segments").status_code == 401
    assert len(_segments(team)) == s0 and len(_audit(team)) == n0


def test_viewer_cannot_write_and_coder_cannot_change_codebook_or_export(team):
    viewer, coder = team.client("viewer"), team.client("coder")
    n0, s0 = len(_audit(team)), len(_segments(team))
    assert viewer.get("/p/alpha/documents/1").status_code == 200
    assert _code(viewer, 1, 0, 11).status_code == 403
    assert viewer.post("/p/alpha/api/undo", json={}).status_code == 403
    assert len(_segments(team)) == s0
    before = rs.Project.open(project_url(team.db, "alpha"))
    n_codes = len(before.codes())
    before.close()
    assert coder.post("/p/alpha/codebook/add", data={"name": "Mine"}, follow_redirects=False).status_code == 403
    assert coder.post("/p/alpha/codebook/freeze", data={"note": "x"},
                      follow_redirects=False).status_code == 403
    assert coder.get("/p/alpha/export/project.qdpx").status_code == 403
    assert coder.get("/p/alpha/export").status_code == 403
    after = rs.Project.open(project_url(team.db, "alpha"))
    assert len(after.codes()) == n_codes and after.framework_versions().empty
    after.close()
    assert len(_audit(team)) == n0


def test_csrf_refused_on_studio_writes(team):
    coder = team.client("coder")
    n0, s0 = len(_audit(team)), len(_segments(team))
    r = coder.post("/p/alpha/api/documents/1/segments", json={"codes": [CODE], "start": 0, "end": 11},
                   headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = coder.post("/p/alpha/api/documents/1/segments", json={"codes": [CODE], "start": 0, "end": 11},
                   headers={"X-CSRF-Token": ""})
    assert r.status_code == 403
    assert len(_segments(team)) == s0 and len(_audit(team)) == n0


def test_blind_document_hides_other_coders_until_released(team):
    lead, a, b = team.client("lead"), team.client("coder"), team.client("coder2")
    assert lead.post("/api/projects/alpha/blind", json={"documents": [2], "hidden": True}).status_code == 200
    (sa,) = _code(a, 2, 0, 12).json()["ids"]
    assert a.post(f"/p/alpha/api/segments/{sa}/memo", json={"text": "A-private-memo"}).status_code == 201
    r = _code(b, 2, 20, 30)
    assert r.status_code == 201
    (sb,) = r.json()["ids"]
    assert [s["id"] for s in r.json()["segments"]] == [sb]  # the write's answer does not leak A's coding
    seen_b = b.get("/p/alpha/api/documents/2/segments").json()["segments"]
    assert [(s["id"], s["start"], s["end"]) for s in seen_b] == [(sb, 20, 30)]
    assert b.get(f"/p/alpha/api/segments/{sa}").status_code == 404
    assert b.post(f"/p/alpha/api/segments/{sa}/remove", json={"others": True}).status_code == 404
    assert b.post(f"/p/alpha/api/segments/{sa}/memo", json={"text": "B-peeks"}).status_code == 404
    assert "B-peeks" not in lead.get(f"/p/alpha/api/segments/{sa}").text  # refused and rolled back
    page = b.get("/p/alpha/documents/2")
    assert page.status_code == 200 and "A-private-memo" not in page.text
    # the home page's progress column shows only B's own coding of the hidden document
    assert "<li>coder2: 1 coding" in b.get("/p/alpha/").text and "<li>coder: " not in b.get("/p/alpha/").text
    assert "<li>coder: 1 coding" in lead.get("/p/alpha/").text
    # the matrix and agreement open for B, without A's hidden work (tests/test_server_blind_review.py)
    for path in ("/p/alpha/matrix", "/p/alpha/agreement", "/p/alpha/matrix/cell?case=C2&code=" + CODE):
        assert b.get(path).status_code == 200, path
    assert [s["id"] for s in a.get("/p/alpha/api/documents/2/segments").json()["segments"]] == [sa]
    # the lead sees both, and the matrix and agreement pages
    assert {s["id"] for s in lead.get("/p/alpha/api/documents/2/segments").json()["segments"]} == {sa, sb}
    assert "A-private-memo" in lead.get(f"/p/alpha/api/segments/{sa}").text
    assert lead.get("/p/alpha/matrix").status_code == 200
    assert lead.get("/p/alpha/agreement").status_code == 200
    # released: everyone sees everything
    assert lead.post("/api/projects/alpha/blind", json={"documents": [2], "hidden": False}).status_code == 200
    assert {s["id"] for s in b.get("/p/alpha/api/documents/2/segments").json()["segments"]} == {sa, sb}
    assert b.get("/p/alpha/matrix").status_code == 200


@pytest.mark.parametrize("user", ["coder"])
def test_name_cannot_be_changed_in_the_team_studio(team, user):
    c = team.client(user)
    assert c.post("/p/alpha/whoami", data={"name": "someone else"},
                  follow_redirects=False).status_code == 403
