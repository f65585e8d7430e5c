"""Tests for kwic, suggest, accept and reject (recoverystudy/qual/assist.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import recoverystudy as rs

TRANSCRIPT = (
    "Interviewer: Can you tell me about your care plan?\n"
    "SU03: Honestly I've never had a copy of my care plan. My mum keeps asking for one.\n"
    "Interviewer: And what about a crisis?\n"
    "SU03: Last time I was in crisis I rang the crisis team. Nobody answered.\n"
    "SU03: My goals are to get back to college. Dr. Patel says I'm recovering.\n"
)


@pytest.fixture
def proj(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as p:
        p.add_document(TRANSCRIPT, name="SU03", case="SU03")
        p.add_document("CC05: The paperwork takes over. Risk forms, RiO, all of it.", name="CC05", case="CC05")
        yield p


def test_kwic_stems_and_context(proj):
    hits = proj.kwic("Crisis", window=12)
    assert hits["match"].tolist() == ["crisis", "crisis", "crisis"]
    first = TRANSCRIPT.index("crisis")
    assert hits.loc[0, ["start", "end"]].tolist() == [first, first + 6]
    assert hits.loc[0, "left"] == TRANSCRIPT[first - 12:first]
    assert hits.loc[0, "right"] == TRANSCRIPT[first + 6:first + 18]
    assert proj.kwic("recovered")["match"].tolist() == ["recovering"]
    assert proj.kwic("care plans")["match"].tolist() == ["care plan", "care plan"]
    assert len(proj.kwic("crisis", documents=["CC05"])) == 0
    with pytest.raises(ValueError):
        proj.kwic("  ?? ")


def test_kwic_term_is_split_into_words_as_the_text_is(tmp_path):
    # a decomposed accent (e + U+0301, as pasted from some editors) is inside the word, in the term as in the
    # text; the term used to be split with the standard library's \w, which ends the word before the accent
    with rs.Project.create(tmp_path / "p.rsqda") as p:
        p.add_document("SU01: We met at the cafe\u0301 near the clinic. The cafe was shut.", name="d")
        assert p.kwic("cafe\u0301")["match"].tolist() == ["cafe\u0301"]
        assert p.kwic("cafe")["match"].tolist() == ["cafe"]


def test_suggest_with_codebook_rules_stores_but_never_codes(proj):
    sug = proj.suggest()
    assert len(proj.segments()) == 0
    by_code = sug.groupby("code")["text"].apply(list).to_dict()
    assert by_code["care_plan_document/copy_and_ownership"] == [
        "SU03: Honestly I've never had a copy of my care plan."
    ]
    assert "My mum keeps asking for one." in by_code["carers/carer_involvement"]
    assert by_code["crisis/crisis_services"] == [  # the interviewer's question is not suggested
        "SU03: Last time I was in crisis I rang the crisis team.",
    ]
    assert by_code["care_coordinator_role/administrative_burden"] == [
        "CC05: The paperwork takes over.", "Risk forms, RiO, all of it."
    ]
    assert "SU03: My goals are to get back to college." in by_code["recovery/hope_and_goals"]
    # "Dr." does not end the sentence
    assert "Dr. Patel says I'm recovering." in by_code["recovery/personal_recovery"]
    rule = sug.set_index("code").loc["care_plan_document/copy_and_ownership", "rule"]
    assert "keyword 'copy of my care plan'" in rule
    # the offsets point at the sentence text
    for _, row in sug.iterrows():
        assert proj.document_text(row["document"])[row["start"]:row["end"]] == row["text"]
    # running again suggests nothing new
    assert len(proj.suggest()) == 0
    assert len(proj.suggestions()) == len(sug)


def test_accept_and_reject(proj):
    sug = proj.suggest({"crisis/crisis_services": {"keywords": ["crisis team"], "lemmas": ["answering"]}})
    assert sug["rule"].tolist() == ["keyword 'crisis team'", "lemma 'answering'"]
    first, second = sug["suggestion_id"].tolist()
    seg_ids = proj.accept([first], coder="AB")
    proj.reject(second, coder="CD")
    segs = proj.segments()
    assert segs["segment_id"].tolist() == seg_ids
    assert segs.loc[0, ["code", "coder", "text"]].tolist() == [
        "crisis/crisis_services", "AB", "SU03: Last time I was in crisis I rang the crisis team."]
    assert proj.suggestions(status=None)["status"].tolist() == ["accepted", "rejected"]
    assert proj.coding_log()[["action", "coder"]].values.tolist() == [["accept", "AB"], ["reject", "CD"]]
    with pytest.raises(ValueError, match="already accepted"):
        proj.accept([first], coder="AB")
    with pytest.raises(KeyError, match="No suggestion 99"):
        proj.reject([99], coder="AB")
    assert len(proj.suggest({"crisis/crisis_services": {"keywords": ["crisis team"]}})) == 0


def test_suggest_rejects_bad_rules(proj):
    with pytest.raises(ValueError, match="list of strings"):
        proj.suggest({"crisis/crisis_plan": {"keywords": "crisis plan"}})
    with pytest.raises(KeyError):
        proj.suggest({"crisis/nothing": {"keywords": ["x"]}})
    assert isinstance(proj.suggest({"crisis/crisis_plan": {"keywords": ["zzz"]}}), pd.DataFrame)


def test_interviewer_turns_are_never_suggested_by_default(proj):
    """Issue 15: suggest() proposed the interviewer's questions."""
    rules = {"crisis/crisis_services": {"keywords": ["crisis"]}}
    sug = proj.suggest(rules)
    assert sug["speaker"].tolist() == ["SU03"]
    assert not sug["text"].str.startswith("Interviewer").any()
    assert proj.turns().set_index("speaker")["role"].to_dict() == {"Interviewer": "interviewer", "SU03": "participant",
                                                                 "CC05": "participant"}
    # the caller can change it, explicitly
    sug_i = proj.suggest(rules, speakers=["Interviewer"])
    assert sug_i["text"].tolist() == ["Interviewer: And what about a crisis?"]
    assert sug_i["speaker"].tolist() == ["Interviewer"]


def test_suggestion_carries_its_context(proj):
    sug = proj.suggest({"crisis/crisis_services": {"keywords": ["crisis team"]}})
    row = sug.iloc[0]
    text = proj.document_text("SU03")
    assert row["context_before"] == text[max(0, row["start"] - 160):row["start"]]
    assert row["context_before"].endswith("Interviewer: And what about a crisis?\n")
    assert row["context_after"] == text[row["end"]:row["end"] + 160]


def test_accepting_everything_needs_an_explicit_argument_and_is_logged(proj):
    sug = proj.suggest()
    ids = sug["suggestion_id"].tolist()
    with pytest.raises(ValueError, match=f"accept all {len(ids)} pending suggestions at once"):
        proj.accept(ids, coder="AB")
    assert len(proj.segments()) == 0
    proj.accept(ids, coder="AB", accept_all=True)
    log = proj.coding_log()
    assert log["detail"].iloc[0] == f"bulk acceptance of all {len(ids)} pending suggestions (accept_all=True), " \
                                    "without one-by-one review"
    assert len(proj.segments()) == len(ids)


def test_rejecting_with_a_reason_is_recorded(proj):
    sug = proj.suggest()
    keep, drop = sug["suggestion_id"].iloc[0], sug["suggestion_id"].iloc[1]
    proj.accept([keep], coder="AB")
    proj.reject(drop, coder="CD", reason="about her mum, not the plan")
    rec = proj.decisions()
    assert rec[["suggestion_id", "status", "decided_by", "reason"]].values.tolist() == [
        [keep, "accepted", "AB", ""], [drop, "rejected", "CD", "about her mum, not the plan"]]
    assert proj.coding_log()["detail"].iloc[-1].endswith("reason: about her mum, not the plan")
    # two at a time is fine (not everything)
    rest = proj.suggestions()["suggestion_id"].tolist()
    proj.accept(rest[:2], coder="AB")


def test_keywords_with_apostrophes_match_either_apostrophe(tmp_path):
    """Found when the demo's CPU was cut: replacing ' and then ’ rewrote the first character class, so every
    keyword with an apostrophe ("what i'm good at", "carer's assessment", "didn't ask me") matched nothing."""
    from recoverystudy.qual.assist import KeywordFinder, _fold, keyword_pattern

    text = "Carer’s assessment done. They didn't ask me. CARER'S ASSESSMENT. carers assessment."
    assert [m.start() for m in keyword_pattern(["carer's assessment"]).finditer(text)] == [0, 45]
    assert [m.start() for m in keyword_pattern(["carer’s assessment"]).finditer(text)] == [0, 45]
    assert [m.group() for m in keyword_pattern(["didn't ask me"]).finditer(text)] == ["didn't ask me"]
    assert KeywordFinder("carer's assessment").starts(text, _fold(text)) == [0, 45]
    proj = rs.Project.create(tmp_path / "p.rsqda", codebook=None)
    proj.add_code("involvement")
    proj.add_document("SU01: My carer’s assessment was late. Nothing else.", name="d")
    got = proj.suggest({"involvement": {"keywords": ["carer's assessment"]}})
    assert got["text"].tolist() == ["SU01: My carer’s assessment was late."]
    proj.close()
