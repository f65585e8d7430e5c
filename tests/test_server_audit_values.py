"""The team server's audit log carries the exact before and after of every kind of write (issue 17).

Writes through the coding studio's pages (``/p/<project>/...``) and through the JSON API.  Codings are
recorded by place and owner (segment, document, code, start, end, coder), never by transcript text.
Against a throwaway PostgreSQL (skips outside CI without its binaries; fails under CI=true).
"""

from __future__ import annotations

import csv
import io

from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import TEXT_A, team  # noqa: F401  (fixture)

import recoverystudy as rs
from recoverystudy.server.access import project_url
from recoverystudy.server.changes import StudioChange

CODE = "risk/risk_assessment"
COPY = "care_plan_document/copy_and_ownership"


def _log(team):
    return team.client("lead").get("/api/projects/alpha/audit").json()["audit"]


def _new(team, n0):
    return [{k: e[k] for k in ("user", "action", "target", "before", "after")} for e in _log(team)[n0:]]


def _form(client, path, **fields):
    r = client.post(f"/p/alpha{path}", data={**fields, "csrf_token": client.headers["X-CSRF-Token"]},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r


def _where(seg, code, start, end, coder="coder", document=1):
    return {"segment": seg, "document": document, "code": code, "start": start, "end": end, "coder": coder}


def test_coding_writes_through_the_studio_record_exact_before_and_after(team):
    a = team.client("coder")
    n0 = len(_log(team))
    r = a.post("/p/alpha/api/documents/1/segments", json={"codes": [CODE], "start": 57, "end": 90})
    (seg,) = r.json()["ids"]
    assert a.post(f"/p/alpha/api/segments/{seg}/resize", json={"start": 57, "end": 70}).status_code == 200
    assert a.post(f"/p/alpha/api/segments/{seg}/recode", json={"code": COPY}).status_code == 200
    r = a.post(f"/p/alpha/api/segments/{seg}/memo", json={"text": "=SUM(A1) first thoughts"})
    assert r.status_code == 201
    (memo,) = [m["id"] for m in r.json()["segment"]["memos"]]
    assert a.post("/p/alpha/api/undo", json={"document": 1}).status_code == 200  # undoes the recode
    assert a.post("/p/alpha/api/redo", json={"document": 1}).status_code == 200
    assert a.post(f"/p/alpha/api/segments/{seg}/remove", json={}).status_code == 200
    short, copy = _where(seg, CODE, 57, 70), _where(seg, COPY, 57, 70)
    assert _new(team, n0) == [
        {"user": "coder", "action": "segment.code", "target": "1", "before": None,
         "after": {"segments": [_where(seg, CODE, 57, 90)]}},
        {"user": "coder", "action": "segment.resize", "target": str(seg), "before": _where(seg, CODE, 57, 90),
         "after": short},
        {"user": "coder", "action": "segment.recode", "target": str(seg), "before": short, "after": copy},
        {"user": "coder", "action": "memo.add", "target": str(seg), "before": None,
         "after": {"segment": seg, "memos": [{"memo": memo, "author": "coder", "text": "=SUM(A1) first thoughts"}]}},
        {"user": "coder", "action": "segment.undo", "target": "undo", "before": [copy], "after": [short]},
        {"user": "coder", "action": "segment.redo", "target": "redo", "before": [short], "after": [copy]},
        {"user": "coder", "action": "segment.remove", "target": str(seg),
         "before": {**copy, "memos": [{"memo": memo, "author": "coder", "text": "=SUM(A1) first thoughts"}]},
         "after": None},
    ]
    # the transcript's words are nowhere in the log; the CSV export defuses formulas and keeps the JSON
    text = team.client("lead").get("/api/projects/alpha/audit.csv").text
    assert "Never had a copy" not in text and TEXT_A[57:70] not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    memo_row = next(row for row in rows if row[3] == "memo.add" and row[4] == str(seg))
    assert '"text": "=SUM(A1) first thoughts"' in memo_row[6]


def test_codebook_chart_framework_case_and_document_writes_record_before_and_after(team):
    lead = team.client("lead")
    n0 = len(_log(team))
    _form(lead, "/codebook/add", name="Peer support", theme="risk", definition="Help from peers.")
    proj = rs.Project.open(project_url(team.db, "alpha"))
    try:
        code_id = int(proj.codes().set_index("path").loc["risk/peer_support", "code_id"])
    finally:
        proj.close()
    added = {"code": code_id, "path": "risk/peer_support", "name": "Peer support", "parent": "risk",
             "definition": "Help from peers.", "inclusion": "", "exclusion": "", "example": "", "colour": None}
    _form(lead, f"/codebook/{code_id}/edit", name="Peer work", definition="Paid peer workers.",
          inclusion="Peer support workers", exclusion="", colour="#112233", theme="risk")
    edited = {**added, "name": "Peer work", "definition": "Paid peer workers.", "inclusion": "Peer support workers",
              "colour": "#112233"}
    _form(lead, "/matrix/cell", case="C1", code=CODE, summary="First summary.")
    _form(lead, "/matrix/cell", case="C1", code=CODE, summary="Second summary.")
    _form(lead, "/codebook/freeze", note="Version agreed at the team meeting.")
    _form(lead, "/cases", case="C9", site="Leeds")
    first = {"case": "C1", "code": CODE, "summary": "First summary.", "segments": [], "author": "lead"}
    assert _new(team, n0) == [
        {"user": "lead", "action": "code.add", "target": None, "before": None, "after": {"codes": [added]}},
        {"user": "lead", "action": "code.edit", "target": str(code_id), "before": added, "after": edited},
        {"user": "lead", "action": "framework.chart", "target": None, "before": None, "after": first},
        {"user": "lead", "action": "framework.chart", "target": None, "before": first,
         "after": {**first, "summary": "Second summary."}},
        {"user": "lead", "action": "framework.freeze", "target": None, "before": None,
         "after": {"versions": [{"version": 1, "note": "Version agreed at the team meeting."}]}},
        {"user": "lead", "action": "case.add", "target": None, "before": None,
         "after": {"cases": [{"case": "C9", "site": "Leeds"}]}},
    ]


def test_a_document_added_is_recorded_by_name_case_kind_and_length_not_its_text(tmp_path):
    # uploads through the team pages go through the same worker as every studio write (see above);
    # here the record itself, on a project file
    proj = rs.Project.create(tmp_path / "p.rsqda", codebook=None)
    try:
        change = StudioChange(proj, "document.add", None, {}, None)
        change.start()
        doc = proj.add_document("SU09: The crisis team came quickly.", name="D9", case="C9", kind="interview")
        assert change.finish(doc) == (None, {"documents": [{"document": int(doc), "name": "D9", "case": "C9",
                                                             "kind": "interview", "n_chars": 35}]})
    finally:
        proj.close()


def test_suggestion_blind_and_membership_writes_record_before_and_after(team):
    lead, a = team.client("lead"), team.client("coder")
    proj = rs.Project.open(project_url(team.db, "alpha"), user="lead")
    try:
        n_sug = len(proj.suggestions(status=None))
        (s1,) = proj.suggest({COPY: {"keywords": ["a copy"]}}, documents=["D1"])["suggestion_id"]
        (s2,) = proj.suggest({COPY: {"keywords": ["a copy"]}}, documents=["D2"])["suggestion_id"]
    finally:
        proj.close()
    s1, s2 = int(s1), int(s2)
    span = {"code": COPY, "start": 51, "end": 90}
    n0 = len(_log(team))
    _form(a, f"/suggestions/{s1}/decide", decision="reject", reason="About the interviewer's question.")
    assert lead.post("/api/projects/alpha/blind", json={"documents": [2], "hidden": True}).status_code == 200
    r = a.post(f"/api/projects/alpha/suggestions/{s2}/decide", json={"decision": "accept"})
    assert r.status_code == 200
    seg = r.json()["segment"]
    assert lead.post("/api/projects/alpha/blind", json={"documents": [2], "hidden": False}).status_code == 200
    invite = lead.post("/api/projects/alpha/members/invite", json={"role": "coder", "hours": 24})
    assert invite.status_code == 201
    assert lead.post("/api/projects/alpha/members/remove", json={"username": "viewer"}).status_code == 200
    pending1 = {"suggestion": s1, "document": 1, **span, "blind": False, "status": "pending", "decided_by": None,
                "reason": None, "segment": None}
    pending2 = {**pending1, "suggestion": s2, "document": 2, "blind": True}
    assert _new(team, n0) == [
        {"user": "coder", "action": "suggestion.decide", "target": str(s1), "before": pending1,
         "after": {**pending1, "status": "rejected", "decided_by": "coder",
                   "reason": "About the interviewer's question."}},
        {"user": "lead", "action": "blind.hide", "target": "[2]", "before": [], "after": [2]},
        {"user": "coder", "action": "suggestion.decide", "target": str(s2), "before": pending2,
         "after": {**pending2, "status": "accepted", "decided_by": "coder", "segment": seg}},
        {"user": "lead", "action": "blind.release", "target": "[2]", "before": [2], "after": []},
        {"user": "lead", "action": "member.invite", "target": None, "before": None,
         "after": {"role": "coder", "hours": 24}},
        {"user": "lead", "action": "member.remove", "target": "viewer", "before": {"role": "viewer"}, "after": None},
    ]
    # finding suggestions records how many were made, and which ids
    n1 = len(_log(team))
    assert a.post("/p/alpha/suggestions/make", data={"csrf_token": a.headers["X-CSRF-Token"]},
                  follow_redirects=False).status_code == 303
    r = a.post("/api/projects/alpha/suggestions/make", json={})
    assert r.status_code == 201
    proj = rs.Project.open(project_url(team.db, "alpha"))
    try:
        ids = sorted(int(i) for i in proj.suggestions(status=None)["suggestion_id"])
    finally:
        proj.close()
    made = [e["after"] for e in _new(team, n1)]
    n_made = len(ids) - n_sug - 2
    assert made[0] == {"created": n_made, "first": ids[n_sug + 2] if n_made else None,
                       "last": ids[-1] if n_made else None}
    assert made[1] == {"created": 0, "first": None, "last": None} == r.json()  # nothing new the second time


def test_json_api_writes_record_before_and_after(team):
    lead, a = team.client("lead"), team.client("coder")
    n0 = len(_log(team))
    r = lead.post("/api/projects/alpha/codes", json={"path": "risk/api_code", "name": "API code",
                                                     "definition": "Added through the API."})
    code_id = r.json()["id"]
    seg = a.post("/api/projects/alpha/documents/1/segments", json={"code": CODE, "start": 0, "end": 11}).json()["segment"]
    memo = a.post(f"/api/projects/alpha/segments/{seg}/memo", json={"text": "+1 a memo"}).json()["memo"]
    version = lead.post("/api/projects/alpha/framework/freeze", json={"note": "API freeze"}).json()["version"]
    code = {"code": code_id, "path": "risk/api_code", "name": "API code", "parent": "risk",
            "definition": "Added through the API.", "inclusion": "", "exclusion": "", "example": "", "colour": None}
    assert _new(team, n0) == [
        {"user": "lead", "action": "code.add", "target": "risk/api_code", "before": None, "after": code},
        {"user": "coder", "action": "segment.code", "target": str(seg), "before": None,
         "after": _where(seg, CODE, 0, 11)},
        {"user": "coder", "action": "memo.add", "target": str(seg), "before": None,
         "after": {"segment": seg, "memos": [{"memo": memo, "author": "coder", "text": "+1 a memo"}]}},
        {"user": "lead", "action": "framework.freeze", "target": str(version), "before": None,
         "after": {"version": version, "note": "API freeze"}},
    ]


def test_exports_from_the_studio_pages_are_recorded(team):
    lead = team.client("lead")
    n0 = len(_log(team))
    r = lead.get("/p/alpha/export/codebook.qdc")
    assert r.status_code == 200 and r.headers["content-disposition"] == 'attachment; filename="alpha-codebook.qdc"'
    assert lead.get("/p/alpha/export/segments.csv", params={"code": CODE}).status_code == 200
    assert lead.get("/p/alpha/export").status_code == 200  # the page itself exports nothing
    assert team.client("coder").get("/p/alpha/export/codebook.qdc").status_code == 403
    assert _new(team, n0) == [
        {"user": "lead", "action": "project.export", "target": "/export/codebook.qdc", "before": None,
         "after": {"export": "/export/codebook.qdc"}},
        {"user": "lead", "action": "project.export", "target": "/export/segments.csv", "before": None,
         "after": {"export": "/export/segments.csv?code=risk%2Frisk_assessment"}},
    ]
