"""Revising codings: resize, recode, undo/redo through the coding log, codebook edits, decisions with reasons."""

from __future__ import annotations

import pytest

from pg_fixtures import pg_server, pg_url  # noqa: F401  (fixtures)

import recoverystudy as rs
from recoverystudy.errors import CodebookError
from recoverystudy.qual.revise import NothingToUndoError

TEXT = ("Interviewer: Tell me about your care plan.\n"
        "SU01: I've never had a copy of my care plan. My mum asked for a copy too.\n"
        "The risk assessment was done without me.")
COPY = "care_plan_document/copy_and_ownership"
MUM = "carers/carer_involvement"


@pytest.fixture(params=["sqlite", "postgresql"])
def proj(request, tmp_path):
    """The same project in a SQLite file and on a throwaway PostgreSQL server."""
    where = tmp_path / "p.rsqda" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with rs.Project.create(where) as p:
        p.add_document(TEXT, name="d", case="SU01")
        yield p


def _span(quote):
    a = TEXT.index(quote)
    return a, a + len(quote)


def test_resize_keeps_id_memo_and_chart(proj):
    a, b = _span("never had")
    seg = proj.code("d", a, b, COPY, coder="AB", memo="key line")
    proj.chart("SU01", COPY, "No copy.", segments=[seg], author="AB")
    a2, b2 = _span("never had a copy of my care plan")
    assert proj.resize(seg, a2, b2, coder="AB") == seg
    segs = proj.segments()
    assert segs[["segment_id", "text", "code"]].values.tolist() == [[seg, "never had a copy of my care plan", COPY]]
    assert proj.memos(on="segment")["segment_id"].tolist() == [seg]
    assert proj.framework_matrix(codes=[COPY]).cells["segment_ids"].tolist() == [(seg,)]
    log = proj.coding_log()
    assert log["action"].tolist()[-2:] == ["uncode", "code"]
    assert log[["start", "end"]].values.tolist()[-2:] == [[a, b], [a2, b2]]


def test_resize_and_recode_refuse_bad_input_and_change_nothing(proj):
    a, b = _span("never had")
    seg = proj.code("d", a, b, COPY, coder="AB")
    before = proj.segments().values.tolist(), len(proj.coding_log())
    with pytest.raises(ValueError, match="outside the text or empty"):
        proj.resize(seg, 5, 5, coder="AB")
    with pytest.raises(ValueError, match="outside the text"):
        proj.resize(seg, 0, len(TEXT) + 1, coder="AB")
    with pytest.raises(PermissionError, match="coded by 'AB'"):
        proj.resize(seg, a, b + 2, coder="CD")
    with pytest.raises(PermissionError):
        proj.recode(seg, MUM, coder="CD")
    with pytest.raises(KeyError, match="No code"):
        proj.recode(seg, "no/such", coder="AB")
    with pytest.raises(KeyError, match="No segment 99"):
        proj.recode(99, MUM, coder="AB")
    other = proj.code("d", a, b + 2, COPY, coder="AB")
    with pytest.raises(ValueError, match="duplicate"):
        proj.resize(other, a, b, coder="AB")
    assert proj.segments()[proj.segments()["segment_id"] == seg].values.tolist() == before[0]
    assert len(proj.coding_log()) == before[1] + 1
    assert proj.resize(seg, a, b + 1, coder="CD", others=True) == seg  # with the team's agreement


def test_recode_then_undo_redo_round_trip(proj):
    a, b = _span("My mum")
    seg = proj.code("d", a, b, COPY, coder="AB")
    proj.recode(seg, MUM, coder="AB")
    assert proj.segments()["code"].tolist() == [MUM]
    assert proj.undo(coder="AB") == {"action": "undo", "of_log": 2, "documents": ["d"]}
    assert proj.segments()[["segment_id", "code"]].values.tolist() == [[seg, COPY]]
    proj.redo(coder="AB")
    assert proj.segments()[["segment_id", "code"]].values.tolist() == [[seg, MUM]]


def test_undo_sequence_code_remove_resize(proj):
    a, b = _span("never had")
    s1 = proj.code("d", a, b, COPY, coder="AB")
    c, d = _span("My mum")
    s2 = proj.code("d", c, d, MUM, coder="AB")
    proj.resize(s2, c, d + 6, coder="AB")
    proj.uncode(s1, coder="AB")
    state = lambda: sorted(map(tuple, proj.segments()[["segment_id", "code", "start", "end"]].values.tolist()))
    assert state() == [(s2, MUM, c, d + 6)]
    proj.undo(coder="AB")  # the removal: s1 comes back with its id
    assert state() == [(s1, COPY, a, b), (s2, MUM, c, d + 6)]
    proj.undo(coder="AB")  # the resize
    assert state() == [(s1, COPY, a, b), (s2, MUM, c, d)]
    proj.undo(coder="AB")  # coding s2
    proj.undo(coder="AB")  # coding s1
    assert state() == []
    assert not proj.can_undo(coder="AB") and proj.can_redo(coder="AB")
    with pytest.raises(NothingToUndoError):
        proj.undo(coder="AB")
    proj.redo(coder="AB")
    proj.redo(coder="AB")
    assert state() == [(s1, COPY, a, b), (s2, MUM, c, d)]
    # a new action clears what could be redone
    proj.code("d", *_span("risk assessment"), "risk/risk_assessment", coder="AB")
    assert not proj.can_redo(coder="AB")
    with pytest.raises(NothingToUndoError):
        proj.redo(coder="AB")


def test_undo_is_per_coder_and_shared_between_connections(proj):
    a, b = _span("never had")
    proj.code("d", a, b, COPY, coder="AB")
    proj.code("d", a, b, COPY, coder="CD")
    with pytest.raises(NothingToUndoError):
        proj.undo(coder="EF")
    with rs.Project.open(proj.path) as other:  # e.g. the studio, on the same file
        other.undo(coder="CD")
    assert proj.segments()["coder"].tolist() == ["AB"]
    assert proj.can_redo(coder="CD") and not proj.can_redo(coder="AB")


def test_undo_refuses_when_someone_changed_the_segment(proj):
    a, b = _span("never had")
    seg = proj.code("d", a, b, COPY, coder="AB")
    proj.resize(seg, a, b + 2, coder="CD", others=True)
    n = len(proj.coding_log())
    with pytest.raises(ValueError, match="has changed"):
        proj.undo(coder="AB")
    assert len(proj.coding_log()) == n
    assert proj.segments()[["start", "end"]].values.tolist() == [[a, b + 2]]


def test_accept_and_charts_are_not_undone(proj):
    proj.suggest({COPY: {"keywords": ["a copy"]}})
    proj.accept([1], coder="AB")
    with pytest.raises(NothingToUndoError):
        proj.undo(coder="AB")


def test_decide_suggestion_with_reason(proj):
    sug = proj.suggest({COPY: {"keywords": ["a copy"]}, "risk/risk_assessment": {"keywords": ["risk"]}})
    assert sorted(sug["code"].tolist()) == [COPY, COPY, "risk/risk_assessment"]  # two sentences say "a copy"
    ids = [int(sug[sug["code"] == COPY]["suggestion_id"].iloc[0]),
           int(sug[sug["code"] != COPY]["suggestion_id"].iloc[0])]
    seg = proj.decide_suggestion(ids[0], "accept", coder="AB")
    assert proj.segments()["segment_id"].tolist() == [seg]
    assert proj.decide_suggestion(ids[1], "reject", coder="AB", reason="About the form, not risk talk.") is None
    assert proj.suggestions(status="rejected")["suggestion_id"].tolist() == [ids[1]]
    texts = proj.memos()["text"].tolist() + proj.coding_log()["detail"].fillna("").tolist()
    assert any("About the form, not risk talk." in t for t in texts)
    with pytest.raises(ValueError, match="already rejected"):
        proj.decide_suggestion(ids[1], "accept", coder="AB")
    with pytest.raises(ValueError, match="decision must be"):
        proj.decide_suggestion(ids[1], "maybe", coder="AB")


def test_update_and_move_code(proj):
    seg = proj.code("d", *_span("My mum"), MUM, coder="AB")
    proj.update_code(MUM, name="Family involvement", definition="Relatives <b>at</b> reviews", inclusion="x",
                     exclusion="y", colour="#112233")
    row = proj.codes().set_index("path").loc[MUM]
    assert (row["name"], row["definition"], row["inclusion"], row["exclusion"], row["colour"]) == (
        "Family involvement", "Relatives <b>at</b> reviews", "x", "y", "#112233")
    assert proj.move_code(MUM, "relationship") == "relationship/carer_involvement"
    assert proj.segments()[["segment_id", "code"]].values.tolist() == [[seg, "relationship/carer_involvement"]]
    with pytest.raises(CodebookError, match="colour"):
        proj.update_code("relationship/carer_involvement", colour="red")
    with pytest.raises(CodebookError, match="name cannot be empty"):
        proj.update_code("relationship/carer_involvement", name=" ")
    with pytest.raises(CodebookError, match="No theme"):
        proj.move_code("relationship/carer_involvement", "nowhere")
    with pytest.raises(CodebookError, match="is a theme"):
        proj.move_code("risk", "relationship")
    counts = proj.code_counts().set_index("path")
    assert counts.loc["relationship/carer_involvement", ["n_segments", "n_documents", "n_coders"]].tolist() == [1, 1, 1]
    assert counts["n_segments"].sum() == 1


def test_undoing_a_removal_gives_back_memos_summaries_and_suggestion(proj):
    """Found in the studio (issue 16): undoing a removal brought the segment back without its memo."""
    proj.suggest({COPY: {"keywords": ["a copy"]}})
    (seg,) = proj.accept([1], coder="AB")
    memo = proj.add_memo("Key line for the plan theme.", on="segment", target=seg, author="AB")
    other = proj.add_memo("Second thought.", on="segment", target=seg, author="CD")
    proj.chart("SU01", COPY, "Never had a copy.", segments=[seg], author="AB")
    proj.uncode(seg, coder="AB")
    assert proj.memos(on="segment")["segment_id"].isna().all()  # the memos are kept, unattached
    assert proj.coding_log()["detail"].iloc[-1] == f"coded by AB; links memos={memo},{other} charts=1 suggestions=1"
    proj.undo(coder="AB")
    (back,) = proj.segments()["segment_id"].tolist()
    assert back == seg
    memos = proj.memos(on="segment").sort_values("memo_id")
    assert memos["segment_id"].tolist() == [seg, seg]
    assert memos["text"].tolist() == ["Key line for the plan theme.", "Second thought."]
    assert proj.framework_matrix(codes=[COPY]).cells["segment_ids"].tolist() == [(seg,)]
    assert proj._q("SELECT segment_id FROM suggestions WHERE suggestion_id = 1") == [(seg,)]
    # redo removes it again, and undoing that gives everything back once more
    proj.redo(coder="AB")
    assert proj.segments().empty
    proj.undo(coder="AB")
    assert proj.memos(on="segment")["segment_id"].tolist() == [seg, seg]
    assert proj.framework_matrix(codes=[COPY]).cells["segment_ids"].tolist() == [(seg,)]


def test_undo_of_a_removal_leaves_a_memo_that_was_moved_meanwhile(proj):
    a, b = _span("never had")
    seg = proj.code("d", a, b, COPY, coder="AB")
    kept = proj.add_memo("About this line.", on="segment", target=seg, author="AB")
    gone = proj.add_memo("Delete me.", on="segment", target=seg, author="AB")
    proj.uncode(seg, coder="AB")
    other = proj.code("d", *_span("My mum"), MUM, coder="CD")
    with proj._tx() as conn:  # meanwhile: one memo re-pointed at another segment, one deleted
        conn.execute("UPDATE memos SET segment_id = ? WHERE memo_id = ?", (other, kept))
        conn.execute("DELETE FROM memos WHERE memo_id = ?", (gone,))
    proj.undo(coder="AB")  # the removal (its old id is taken by then, so it comes back under a new one)
    segs = proj.segments()
    (back,) = segs.loc[segs["coder"] == "AB", "segment_id"].tolist()
    assert back not in (other,) and segs.loc[segs["segment_id"] == back, "text"].tolist() == ["never had"]
    assert proj.memos(on="segment")[["memo_id", "segment_id"]].values.tolist() == [[kept, other]]
