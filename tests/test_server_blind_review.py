"""Blind double-coding beyond the codings themselves (issue 17): suggestion review, the framework matrix,
the codebook's counts and agreement, through the studio's pages and the JSON API.

Against a throwaway PostgreSQL (skips outside CI without its binaries; fails under CI=true).
"""

from __future__ import annotations

import re

from pg_fixtures import pg_server  # noqa: F401  (fixture)
from team_fixtures import team  # noqa: F401  (fixture)

import recoverystudy as rs
from recoverystudy.server.access import project_url

CODE = "risk/risk_assessment"
COPY = "care_plan_document/copy_and_ownership"
FILLER = " ".join(["We talked about the weather and the bus timetable for a long while."] * 3)
# D3 is hidden: A's distinctive quote sits far (> 80 characters of context) from B's own coding
TEXT_3 = f"SU03: ZEBRA-QUOTE-7 my peer worker visits every week. {FILLER} I also like my garden very much."
TEXT_4 = "SU04: My care coordinator rings me back when I call."


def _open(team):
    return rs.Project.open(project_url(team.db, "alpha"), user="lead")


def _hide(team, docs, hidden=True):
    r = team.client("lead").post("/api/projects/alpha/blind", json={"documents": docs, "hidden": hidden})
    assert r.status_code == 200, r.text


def _page_decide(client, sug, decision, reason=""):
    csrf = client.headers["X-CSRF-Token"]
    r = client.post(f"/p/alpha/suggestions/{sug}/decide", follow_redirects=False,
                    data={"decision": decision, "reason": reason, "csrf_token": csrf, "document": "2"})
    assert r.status_code == 303, r.text
    return r


def _api_decide(client, sug, decision, reason=None):
    return client.post(f"/api/projects/alpha/suggestions/{sug}/decide",
                       json={"decision": decision, **({"reason": reason} if reason else {})})


def _listing(client, **params):
    r = client.get("/api/projects/alpha/suggestions", params=params)
    assert r.status_code == 200, r.text
    return {s["id"]: s for s in r.json()["suggestions"]}


def test_each_coder_decides_suggestions_of_a_hidden_document_on_their_own(team):
    lead, a, b, viewer = (team.client(u) for u in ("lead", "coder", "coder2", "viewer"))
    _hide(team, [2])
    proj = _open(team)
    try:
        (s1,) = proj.suggest({COPY: {"keywords": ["a copy"]}}, documents=["D2"])["suggestion_id"]
        (s2,) = proj.suggest({CODE: {"keywords": ["recovery"]}}, documents=["D2"])["suggestion_id"]
        (s3,) = proj.suggest({COPY: {"keywords": ["a copy"]}}, documents=["D1"])["suggestion_id"]
    finally:
        proj.close()
    s1, s2, s3 = int(s1), int(s2), int(s3)
    page = a.get("/p/alpha/suggestions?document=2").text
    assert f"Suggestion {s1}:" in page and "2 waiting" in page
    # A accepts s1 through the studio's page and rejects s2 through the API
    _page_decide(a, s1, "accept")
    r = _api_decide(a, s2, "reject", "A-SECRET-REASON")
    assert r.status_code == 200 and r.json() == {"suggestion": s2, "status": "rejected", "segment": None,
                                                 "blind": True}
    mine = _listing(a, status="all", document=2)
    assert (mine[s1]["status"], mine[s2]["status"], mine[s2]["reason"]) == ("accepted", "rejected", "A-SECRET-REASON")
    seg_a = mine[s1]["decisions"][0]["segment"]
    assert mine[s1]["decisions"] == [{"coder": "coder", "decision": "accepted", "reason": "", "segment": seg_a,
                                      "at": mine[s1]["decisions"][0]["at"]}]
    assert _listing(a, document=2) == {}  # nothing left in A's own queue
    assert "No suggestions are waiting." in a.get("/p/alpha/suggestions?document=2").text
    assert _api_decide(a, s1, "reject").status_code == 400  # decided already
    # B sees both still waiting, none of A's decisions: list, one by id, the page, A's coding
    theirs = _listing(b, document=2)
    assert set(theirs) == {s1, s2}
    for s in (s1, s2):
        assert (theirs[s]["status"], theirs[s]["decided_by"], theirs[s]["reason"], theirs[s]["decisions"]) == \
            ("pending", None, "", [])
    one = b.get(f"/api/projects/alpha/suggestions/{s2}")
    assert one.status_code == 200 and one.json()["status"] == "pending" and "A-SECRET-REASON" not in one.text
    assert _listing(b, status="rejected", document=2) == {}
    page = b.get("/p/alpha/suggestions?document=2").text
    assert "2 waiting" in page and "A-SECRET-REASON" not in page and "Decided by others" not in page
    assert b.get(f"/p/alpha/api/segments/{seg_a}").status_code == 404
    assert b.get("/api/projects/alpha/documents/2").json()["segments"] == []
    assert "A-SECRET-REASON" not in viewer.get("/p/alpha/suggestions?document=2").text
    # B decides the other way round, on their own
    _page_decide(b, s1, "reject", "B-REASON")
    r = _api_decide(b, s2, "accept")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    seg_b = r.json()["segment"]
    assert [s["id"] for s in b.get("/api/projects/alpha/documents/2").json()["segments"]] == [seg_b]
    # the project's shared suggestions stay pending; its coding log has each coder's decision
    proj = _open(team)
    try:
        shared = proj.suggestions(status=None).set_index("suggestion_id")
        assert shared.loc[[s1, s2], "status"].tolist() == ["pending", "pending"]
        log = proj._q("SELECT action, coder, detail FROM coding_log WHERE action IN ('accept', 'reject')"
                      " ORDER BY log_id")
        segs = proj.segments().set_index("segment_id")
        assert (segs.loc[seg_a, "coder"], segs.loc[seg_a, "code"]) == ("coder", COPY)
        assert (segs.loc[seg_b, "coder"], segs.loc[seg_b, "code"]) == ("coder2", CODE)
    finally:
        proj.close()
    assert [(r[0], r[1]) for r in log] == [("accept", "coder"), ("reject", "coder"), ("reject", "coder2"),
                                           ("accept", "coder2")]
    assert log[1][2] == f"suggestion {s2}, blind (this coder's own decision); reason: A-SECRET-REASON"
    # the lead sees every decision, and still has both in their own queue
    led = _listing(lead, document=2)
    assert [(d["coder"], d["decision"], d["reason"]) for d in led[s1]["decisions"]] == \
        [("coder", "accepted", ""), ("coder2", "rejected", "B-REASON")]
    assert "Decided by others: coder accepted; coder2 rejected (B-REASON)" in \
        lead.get("/p/alpha/suggestions?document=2").text
    # a document that is not hidden keeps the shared review: A's decision is everyone's
    assert _api_decide(a, s3, "accept").status_code == 200
    shared3 = _listing(b, status="all", document=1)[s3]
    assert (shared3["status"], shared3["decided_by"], shared3["blind"]) == ("accepted", "coder", False)
    assert s3 not in _listing(b, document=1)
    # released: everyone sees every decision, and A's and B's codings
    _hide(team, [2], hidden=False)
    theirs = _listing(b, status="all", document=2)
    assert [(d["coder"], d["decision"], d["reason"]) for d in theirs[s2]["decisions"]] == \
        [("coder", "rejected", "A-SECRET-REASON"), ("coder2", "accepted", "")]
    assert (theirs[s1]["status"], theirs[s2]["status"]) == ("rejected", "accepted")  # B's own, still
    assert b.get(f"/p/alpha/api/segments/{seg_a}").status_code == 200
    page = viewer.get("/p/alpha/suggestions?document=2").text
    assert f"Suggestion {s1}:" in page and "Decided by others: coder accepted; coder2 rejected (B-REASON)" in page
    assert _api_decide(a, s2, "accept").status_code == 400  # A's blind decision stands


def _counts(html: str) -> dict[str, int]:
    return {m.group(2): int(m.group(3)) for m in re.finditer(
        r'<tr id="c-(\d+)">\s*<th scope="row">.*?<span class="muted">([^<]+)</span>.*?</th>\s*<td>(\d+)</td>',
        html, re.S)}


def test_matrix_codebook_counts_and_agreement_leave_out_others_hidden_work(team):
    lead, a, b = team.client("lead"), team.client("coder"), team.client("coder2")
    proj = _open(team)
    try:
        d3 = int(proj.add_document(TEXT_3, name="D3", case="C3"))
        d4 = int(proj.add_document(TEXT_4, name="D4", case="C4"))
    finally:
        proj.close()
    _hide(team, [d3])
    za, zb = TEXT_3.index("ZEBRA-QUOTE-7"), TEXT_3.index("I also like my garden")
    code = [{"codes": [CODE], "start": za, "end": za + 35}, {"codes": [CODE], "start": zb, "end": len(TEXT_3)}]
    assert TEXT_3[za:za + 35] == "ZEBRA-QUOTE-7 my peer worker visits"
    (sa,) = a.post(f"/p/alpha/api/documents/{d3}/segments", json=code[0]).json()["ids"]
    (sb,) = b.post(f"/p/alpha/api/documents/{d3}/segments", json=code[1]).json()["ids"]
    (sa4,) = a.post(f"/p/alpha/api/documents/{d4}/segments", json={"codes": [CODE], "start": 6, "end": 24}).json()["ids"]
    (sb4,) = b.post(f"/p/alpha/api/documents/{d4}/segments", json={"codes": [CODE], "start": 6, "end": 40}).json()["ids"]
    # A may not chart a case with a hidden document (it would replace summaries A cannot see); the lead may
    refused = a.post("/p/alpha/matrix/cell", data={"case": "C3", "code": CODE, "summary": "A-SUMMARY",
                                                   "segments": [str(sa)], "csrf_token": a.headers["X-CSRF-Token"]},
                     follow_redirects=False)
    assert refused.status_code == 403 and "after the lead releases them" in refused.text
    r = lead.post("/p/alpha/matrix/cell", data={"case": "C3", "code": CODE, "summary": "LEAD-SUMMARY-ZEBRA",
                                                "segments": [str(sa)], "csrf_token": lead.headers["X-CSRF-Token"]},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
    secrets = ("ZEBRA", "LEAD-SUMMARY")

    def b_views():
        return {"matrix": b.get("/p/alpha/matrix?theme=risk"),
                "cell": b.get("/p/alpha/matrix/cell", params={"case": "C3", "code": CODE}),
                "agreement": b.get("/p/alpha/agreement?coders=coder&coders=coder2"),
                "api_matrix": b.get("/api/projects/alpha/matrix?theme=risk"),
                "api_cell": b.get("/api/projects/alpha/matrix/cell", params={"case": "C3", "code": CODE}),
                "api_agreement": b.get("/api/projects/alpha/agreement?coders=coder&coders=coder2"),
                "codebook": b.get("/p/alpha/codebook")}

    views = b_views()
    for name, r in views.items():
        assert r.status_code == 200, (name, r.text)
        assert not any(s in r.text for s in secrets), name
    cells = {(row["case"], c["code"]): c for row in views["api_matrix"].json()["rows"] for c in row["cells"]}
    assert cells[("C3", CODE)] == {"code": CODE, "summary": None, "n": 1}  # B's own coding only
    assert cells[("C4", CODE)] == {"code": CODE, "summary": None, "n": 2}  # A's and B's: D4 is not hidden
    assert views["api_matrix"].json()["n_hidden"] == 1
    assert [q["id"] for q in views["api_cell"].json()["quotes"]] == [sb]
    assert "1 document is hidden for blind" in views["matrix"].text
    lead_counts = _counts(lead.get("/p/alpha/codebook").text)
    b_counts = _counts(views["codebook"].text)
    assert lead_counts[CODE] - b_counts[CODE] == 1  # A's hidden coding is not counted for B
    # agreement: on the documents that are not hidden, with a sentence saying so
    ag = views["api_agreement"].json()
    assert "D3" not in ag["all_documents"] and ag["n_hidden"] == 1
    assert ag["note"] == "1 document hidden for blind double-coding is left out until the lead releases it."
    assert "1 document hidden for blind double-coding\nis left out" in views["agreement"].text
    proj = _open(team)
    try:
        segs = proj.segments()
    finally:
        proj.close()
    coded = set(segs.loc[segs["coder"].isin(["coder", "coder2"]), "document"]) - {"D3"}
    assert "D4" in coded
    chosen = "&".join(f"documents={d}" for d in sorted(coded))
    led = lead.get(f"/api/projects/alpha/agreement?coders=coder&coders=coder2&{chosen}").json()
    assert ag["result"]["rows"] == led["result"]["rows"] and ag["result"]["summary"] == led["result"]["summary"]
    assert b.get("/api/projects/alpha/agreement?coders=coder&coders=coder2&documents=D3").status_code == 403
    # the lead sees everything: A's quote, the summary, both codings
    lm = {(row["case"], c["code"]): c for row in lead.get("/api/projects/alpha/matrix?theme=risk").json()["rows"]
          for c in row["cells"]}
    assert lm[("C3", CODE)] == {"code": CODE, "summary": "LEAD-SUMMARY-ZEBRA", "n": 2}
    assert "ZEBRA-QUOTE-7" in lead.get("/p/alpha/matrix/cell", params={"case": "C3", "code": CODE}).text
    # released: B's views include A's work
    _hide(team, [d3], hidden=False)
    views = b_views()
    cells = {(row["case"], c["code"]): c for row in views["api_matrix"].json()["rows"] for c in row["cells"]}
    assert cells[("C3", CODE)] == {"code": CODE, "summary": "LEAD-SUMMARY-ZEBRA", "n": 2}
    assert {q["id"] for q in views["api_cell"].json()["quotes"]} == {sa, sb}
    assert "ZEBRA-QUOTE-7" in views["cell"].text and "hidden for blind" not in views["matrix"].text
    assert _counts(views["codebook"].text)[CODE] == lead_counts[CODE]
    ag = views["api_agreement"].json()
    assert "D3" in ag["all_documents"] and ag["n_hidden"] == 0 and "note" not in ag
    assert any(d["document"] == "D3" for d in ag["result"]["disagreements"])
    assert {q["id"] for q in b.get("/api/projects/alpha/matrix/cell", params={"case": "C4", "code": CODE}).json()[
        "quotes"]} == {sa4, sb4}


def test_a_suggestion_decided_for_everyone_before_hiding_is_not_shown_to_others_while_hidden(team):
    lead, a, b = team.client("lead"), team.client("coder"), team.client("coder2")
    proj = _open(team)
    try:
        (sug,) = proj.suggest({"recovery/personal_recovery": {"keywords": ["nobody asked"]}},
                              documents=["D1"])["suggestion_id"]
    finally:
        proj.close()
    sug = int(sug)
    assert _api_decide(a, sug, "reject", "A-EARLY-REASON").status_code == 200  # D1 not hidden: shared
    assert b.get(f"/api/projects/alpha/suggestions/{sug}").json()["reason"] == "A-EARLY-REASON"
    _hide(team, [1])
    try:
        r = b.get(f"/api/projects/alpha/suggestions/{sug}")
        assert r.status_code == 404 and "A-EARLY-REASON" not in r.text
        assert sug not in _listing(b, status="all", document=1)
        assert _api_decide(b, sug, "accept").status_code == 404
        assert a.get(f"/api/projects/alpha/suggestions/{sug}").json()["status"] == "rejected"
        assert lead.get(f"/api/projects/alpha/suggestions/{sug}").json()["decided_by"] == "coder"
    finally:
        _hide(team, [1], hidden=False)
    assert b.get(f"/api/projects/alpha/suggestions/{sug}").status_code == 200


def test_an_oversized_studio_write_is_refused_before_it_is_read(team):
    a = team.client("coder")
    n0 = len(team.client("lead").get("/api/projects/alpha/audit").json()["audit"])
    r = a.post("/p/alpha/api/segments/1/memo", content=b'{"text": "' + b"x" * 2_100_000 + b'"}',
               headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert len(team.client("lead").get("/api/projects/alpha/audit").json()["audit"]) == n0


def test_a_theme_summary_in_a_hidden_case_does_not_give_itself_away_by_its_column(team):
    """Found when the filtered matrix landed: a lead's summary at theme level in a case with a hidden
    document gave the theme a column of its own, so a coder could tell that such a summary existed."""
    lead, b = team.client("lead"), team.client("coder2")
    proj = _open(team)
    try:
        d5 = int(proj.add_document("SU05: a transcript of its own for the theme column.", name="D5", case="C5"))
    finally:
        proj.close()
    _hide(team, [d5])
    r = lead.post("/p/alpha/matrix/cell", data={"case": "C5", "code": "risk", "summary": "THEME-LEVEL-SECRET",
                                                "csrf_token": lead.headers["X-CSRF-Token"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    lead_codes = [c["path"] for c in lead.get("/api/projects/alpha/matrix?theme=risk").json()["codes"]]
    b_codes = [c["path"] for c in b.get("/api/projects/alpha/matrix?theme=risk").json()["codes"]]
    assert lead_codes[0] == "risk" and b_codes == lead_codes[1:]
    page = b.get("/p/alpha/matrix?theme=risk")
    assert page.status_code == 200 and "THEME-LEVEL-SECRET" not in page.text
    assert 'data-code="risk"' not in page.text and 'code=risk"' not in page.text and "code=risk&" not in page.text
    _hide(team, [d5], hidden=False)  # released: the column and its summary are there for everyone
    b_codes = [c["path"] for c in b.get("/api/projects/alpha/matrix?theme=risk").json()["codes"]]
    assert b_codes == lead_codes
    assert "THEME-LEVEL-SECRET" in b.get("/p/alpha/matrix?theme=risk").text
