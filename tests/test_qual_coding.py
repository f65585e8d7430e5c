"""Tests for coding, quotes, segments, memos, bulk coding and crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.errors import AmbiguousQuoteError, QuoteNotFoundError

TEXT = (
    "Interviewer: Tell me about your care plan.\n"
    "SU01: I've never had a copy of my care plan. My mum asked for a copy of my care plan too.\n"
    "The risk assessment was done without me."
)


@pytest.fixture
def proj(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as p:
        p.add_case("SU01", site="Site A")
        p.add_case("SU02", site="Site B")
        p.add_document(TEXT, name="SU01-int", case="SU01")
        p.add_document("SU02: Nobody told me I was high risk.", name="SU02-int", case="SU02")
        yield p


def test_code_and_segments(proj):
    start = TEXT.index("never had")
    seg = proj.code("SU01-int", start, start + 9, "care_plan_document/copy_and_ownership", coder="AB", memo="key")
    assert proj.code("SU01-int", start, start + 9, "care_plan_document/copy_and_ownership", coder="AB") == seg
    segs = proj.segments()
    assert segs.columns.tolist() == ["segment_id", "document", "case", "code", "coder", "start", "end", "text",
                                     "context_before", "context_after", "framework_version", "label"]
    row = segs.iloc[0]
    assert row["text"] == "never had"
    assert row["context_before"] == TEXT[max(0, start - 80):start]
    assert row["context_after"] == TEXT[start + 9:start + 89]
    assert pd.isna(row["framework_version"])
    assert proj.memos()[["on", "target", "text"]].values.tolist() == [["segment", str(seg), "key"]]


def test_segments_remember_framework_version(proj):
    proj.code("SU01-int", 0, 11, "recovery/personal_recovery", coder="AB")
    proj.freeze_framework("v1")
    proj.code("SU01-int", 0, 11, "recovery/hope_and_goals", coder="AB")
    proj.code_many(pd.DataFrame({"document": ["SU02-int"], "start": [6], "end": [12], "code": ["risk/risk_discussion"]}),
                   coder="CD")
    versions = proj.segments()["framework_version"]
    assert versions.isna().tolist() == [True, False, False]
    assert versions.iloc[1:].tolist() == [1, 1]


@pytest.mark.parametrize("start, end", [(-1, 3), (5, 5), (7, 3), (0, len(TEXT) + 1)])
def test_code_rejects_bad_spans(proj, start, end):
    with pytest.raises(ValueError, match="SU01-int"):
        proj.code("SU01-int", start, end, "risk/risk_assessment", coder="AB")


def test_code_unknown_code_and_document(proj):
    with pytest.raises(KeyError, match="no_such"):
        proj.code("SU01-int", 0, 3, "risk/no_such", coder="AB")
    with pytest.raises(KeyError, match="nodoc"):
        proj.code("nodoc", 0, 3, "risk/risk_assessment", coder="AB")


def test_code_quote(proj):
    with pytest.raises(AmbiguousQuoteError) as info:
        proj.code_quote("SU01-int", "copy of my care plan", "care_plan_document/copy_and_ownership", coder="AB")
    first = TEXT.index("copy of my care plan")
    second = TEXT.index("copy of my care plan", first + 1)
    assert info.value.count == 2 and info.value.positions == [first, second]
    seg = proj.code_quote("SU01-int", "copy of my care plan", "care_plan_document/copy_and_ownership", coder="AB",
                          occurrence=2)
    assert proj.segments().set_index("segment_id").loc[seg, "start"] == second
    with pytest.raises(QuoteNotFoundError, match="does not occur in document 'SU01-int'"):
        proj.code_quote("SU01-int", "copy of my careplan", "care_plan_document/copy_and_ownership", coder="AB")
    # a quote broken across a line differently from the transcript still matches
    seg2 = proj.code_quote("SU01-int", "care plan too.\n  The risk", "risk/risk_assessment", coder="AB")
    assert proj.segments().set_index("segment_id").loc[seg2, "text"] == "care plan too.\nThe risk"


def test_uncode_and_log(proj):
    seg = proj.code_quote("SU02-int", "high risk", "risk/risk_discussion", coder="AB", memo="why")
    proj.uncode(seg, coder="CD", others=True)
    assert len(proj.segments()) == 0
    log = proj.coding_log()
    assert log["action"].tolist() == ["code", "uncode"]
    # the removal's log row names the memo it detached, so that undo can reattach it
    assert log.iloc[1][["coder", "detail", "code"]].tolist() == ["CD", "coded by AB; links memos=1",
                                                                 "risk/risk_discussion"]
    assert proj.memos()["text"].tolist() == ["why"]  # the memo survives the uncoding
    with pytest.raises(KeyError):
        proj.uncode(seg, coder="CD", others=True)


def test_segment_filters(proj):
    proj.code_quote("SU01-int", "My mum", "carers/carer_involvement", coder="AB")
    proj.code_quote("SU01-int", "risk assessment", "risk/risk_assessment", coder="CD")
    proj.code_quote("SU02-int", "high risk", "risk/risk_discussion", coder="AB")
    assert proj.segments(code="risk")["text"].tolist() == ["risk assessment", "high risk"]
    assert proj.segments(code="risk/risk_discussion")["case"].tolist() == ["SU02"]
    assert proj.segments(coder="AB")["text"].tolist() == ["My mum", "high risk"]
    assert proj.segments(case="SU01", coder="CD")["text"].tolist() == ["risk assessment"]
    assert proj.segments(site="Site B")["text"].tolist() == ["high risk"]
    with pytest.raises(KeyError):
        proj.segments(code="nothing")


def test_memos_on_every_target(proj):
    seg = proj.code_quote("SU01-int", "My mum", "carers/carer_involvement", coder="AB")
    proj.add_memo("project", author="AB")
    proj.add_memo("case", on="case", target="SU01", author="AB")
    proj.add_memo("code", on="code", target="carers", author="AB")
    proj.add_memo("segment", on="segment", target=seg, author="AB")
    proj.add_memo("cell", on="cell", target=("SU02", "risk/risk_discussion"), author="CD")
    proj.add_memo("doc", on="document", target="SU02-int", author="CD")
    memos = proj.memos()
    assert memos[["on", "target", "text"]].fillna("-").values.tolist() == [
        ["project", "-", "project"], ["case", "SU01", "case"], ["code", "carers", "code"],
        ["segment", str(seg), "segment"], ["cell", "SU02 | risk/risk_discussion", "cell"],
        ["document", "SU02-int", "doc"],
    ]
    assert proj.memos(on="cell")["author"].tolist() == ["CD"]
    with pytest.raises(ValueError, match="on must be one of"):
        proj.add_memo("x", on="matrix", author="AB")
    with pytest.raises(ValueError, match=r"target=\(case, code\)"):
        proj.add_memo("x", on="cell", target="SU01", author="AB")


def test_code_many_validates_all_before_writing(proj):
    frame = pd.DataFrame({"document": ["SU01-int", "SU02-int", "SU02-int"], "start": [0, 6, 6], "end": [11, 12, 999],
                          "code": ["recovery/personal_recovery"] * 3, "coder": ["AB", "AB", "CD"]})
    with pytest.raises(ValueError, match="Row 2: span 6:999"):
        proj.code_many(frame)
    assert len(proj.segments()) == 0
    frame.loc[2, "end"] = 12
    with pytest.raises(ValueError, match="Row 0: span 0:11 .* turn of the interviewer or facilitator; 1 rows"):
        proj.code_many(frame)  # the interviewer's turn is not coded by default
    assert len(proj.segments()) == 0
    ids = proj.code_many(frame, exclude_speakers=[])
    assert ids == [1, 2, 3]
    assert proj.code_many(frame.iloc[[1]]) == [2]  # already coded: existing id, no new row
    with pytest.raises(ValueError, match="turn of speakers other than 'SU01'"):
        proj.code_many(frame.iloc[[1]], speakers=["SU01"])
    segs = proj.segments()
    assert segs["coder"].tolist() == ["AB", "AB", "CD"]
    assert segs["text"].tolist() == ["Interviewer", "Nobody", "Nobody"]
    assert (proj.coding_log()["action"] == "code").sum() == 3


CHILD = textwrap.dedent(
    """
    import sys, recoverystudy as rs
    path, ack = sys.argv[1], sys.argv[2]
    proj = rs.Project.open(path)
    with open(ack, "a") as fh:
        for i in range(100000):
            seg = proj.code("d", i % 900, i % 900 + 5 + i // 900, "risk/risk_assessment", coder="child")
            fh.write(f"{seg}\\n")
            fh.flush()
    """
)


def test_sigkill_mid_batch_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "p.rsqda"
    ack = tmp_path / "ack.txt"
    with rs.Project.create(path) as proj:
        proj.add_document("x" * 1000, name="d")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(ack)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ack.exists() and len(ack.read_text().splitlines()) >= 40:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    acknowledged = [int(x) for x in ack.read_text().split()]
    assert len(acknowledged) >= 40
    with rs.Project.open(path) as proj:
        conn = proj._store.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = set(proj.segments()["segment_id"])
        assert set(acknowledged) <= stored
        assert len(stored) - len(acknowledged) in (0, 1)  # at most the one committed but not yet acknowledged
        assert (proj.coding_log()["action"] == "code").sum() == len(stored)


def test_a_code_added_after_the_freeze_is_not_claimed_by_that_version(proj):
    proj.freeze_framework("v1")
    proj.add_code("recovery/new_code", name="New code")
    proj.code("SU01-int", 0, 11, "recovery/new_code", coder="AB")
    proj.code("SU01-int", 0, 11, "recovery/hope_and_goals", coder="AB")
    proj.code_many(pd.DataFrame({"document": ["SU02-int", "SU02-int"], "start": [6, 6], "end": [12, 12],
                                 "code": ["recovery/new_code", "risk/risk_discussion"]}), coder="CD")
    seg = proj.segments().set_index(["code", "coder"])["framework_version"]
    assert pd.isna(seg[("recovery/new_code", "AB")]) and pd.isna(seg[("recovery/new_code", "CD")])
    assert seg[("recovery/hope_and_goals", "AB")] == 1 and seg[("risk/risk_discussion", "CD")] == 1
    proj.freeze_framework("v2 adds new_code")
    proj.code("SU01-int", 12, 20, "recovery/new_code", coder="AB")
    assert proj.segments(coder="AB").set_index("start").loc[12, "framework_version"] == 2


def test_removing_another_coders_segment_needs_others_true(proj):
    seg = proj.code("SU01-int", 0, 11, "recovery/personal_recovery", coder="ann")
    with pytest.raises(PermissionError, match="coded by 'ann', not 'zed'"):
        proj.uncode(seg, coder="zed")
    assert len(proj.segments()) == 1
    assert proj.uncode(seg, coder="zed", others=True) == seg
    log = proj.coding_log()
    assert log["action"].tolist() == ["code", "uncode"] and log["coder"].tolist() == ["ann", "zed"]
