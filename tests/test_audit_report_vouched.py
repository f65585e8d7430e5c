"""Attack tests: the final scan reads the scorecard with quotes blanked that were each scanned on their own
when they were redacted (issue 20: redaction and the final scan in one pass).  Whatever the quotes, the
fields around them and the names list, writing must be refused exactly when a scan of the whole written
file would refuse it, naming the same kinds - in particular for identifiers that only form where a quote
meets its neighbour (a label bracket split over two sentences, a house number in the field before a
street, an embedded image, line breaks) and for identifiers redaction missed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recoverystudy as rs
from recoverystudy.audit import report as report_mod
from recoverystudy.audit.render import _csv_parts
from recoverystudy.errors import PrivacyError
from recoverystudy.privacy import outputs
from recoverystudy.privacy.outputs import VouchedTable, quote_parts_plain, texts_clean, vouched_table
from test_audit_report_varied import NAMES, SECRET, make_plans

COLUMNS = ["plan", "team", "coverage", "evidence", "evidence_offsets"]
FRAGMENTS = [
    "Carer (", "mother", "aunt): ", "Jean Smith", "Name: ", "my sister", " ", ",", "12", "34", "Mill Lane",
    "Flat 3", "07700", " 900123", "943 476", " 5919", "NHS no ", "+44 ", "DOB ", "14/03/1971", "LU1", " 3JH",
    "a.b", "@example.org", "data:image/png;base64,", "QUJD", "\r", "|", '"', "(", ")", "Dr ", "Patel", "Mr",
    "hospital no ", "K1234", "; ", "0-", "12345-67890", "Gethin", "review ", ".", "-", "\t", "walks the dog",
]


def _kinds(contents: dict) -> list[str] | None:
    try:
        outputs._check(contents, names=_kinds.names, extra_text=None)
    except PrivacyError as e:
        return e.kinds
    return None


def _table(rows: list[tuple[str, str, list[str], str]], names):
    """The scorecard-like frame and the VouchedTable the writer would make of it, vouching as its
    workers do: each row's quotes and offsets plain, every distinct one clean on its own."""
    frame = pd.DataFrame({
        "plan": [f"P-{i:012x}" for i in range(len(rows))],
        "team": [r[0] for r in rows],
        "coverage": [r[1] for r in rows],
        "evidence": [" | ".join(r[2]) for r in rows],
        "evidence_offsets": [r[3] for r in rows],
    })
    cells = [r[2] + r[3].split("; ") for r in rows]  # offsets pairs are vouched for one by one
    clean = texts_clean({c for cs in cells for c in cs}, names)
    vouched = np.array([clean and quote_parts_plain(cs) for cs in cells], dtype=bool)
    return frame, vouched_table(frame, COLUMNS, ["evidence", "evidence_offsets"], vouched, names, _csv_parts)


def _same_verdict(rows, names) -> VouchedTable:
    frame, table = _table(rows, names)
    _kinds.names = names
    whole = _kinds({Path("scorecard.csv"): _csv_parts(frame, COLUMNS)})
    assert _kinds({Path("scorecard.csv"): table}) == whole
    assert "".join(table.parts) == frame[COLUMNS].to_csv(index=False)  # what is written is the whole table
    return table


text = st.lists(st.sampled_from(FRAGMENTS), max_size=4).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(text, text, st.lists(text, min_size=1, max_size=3),
                            st.sampled_from(["12-40", "12-40; 50-90", "0-123456789", "12345-67890", "943-4765919", "943; 4765919",
                                             "9434-76591; 9",
                                             " 12-40", "12-40 (", ""])), min_size=1, max_size=4),
    names=st.sampled_from([None, ["Gethin"], ["Jean|Smith"], ["Mill, Lane"], ["Patel"]]),
)
def test_scan_with_vouched_quotes_refuses_exactly_when_the_whole_file_scan_does(rows, names):
    _same_verdict(rows, names)


@pytest.mark.parametrize("rows, kind", [
    ([("North", "", ["Seen. Carer (mother", "aunt): Jean Smith"], "1-9")], "name"),  # a label bracket split in two
    ([("North", "Flat 12", [" Mill Lane is near"], "1-9")], "address"),              # comma-space after the field
    ([("North", "", ["he lives at 12", "Mill Lane"], "1-9")], None),                 # parts kept apart by " | "
    ([("North", "ok", ["call 07700 90data:image/png;base64", "x"], "0123-456")], None),
    ([("North", "", ["call 07700 90data:image/png;base64"], "0-0123")], "phone"),  # an image joins what is around
    ([("North", "", ["walks the dog", "NHS no 943 476 5919"], "1-9")], "nhs_number"),  # redaction missed it
    ([("Seen. Carer (Dr", "", ["Patel): Jean Smith"], "1-9")], "name"),  # a bracket from the team into a quote
    ([("North", " Flat", ["walks the dog"], "12-40")], None),
    ([("North", "", ["ok"], "94347-65919")], "nhs_number"),  # an offsets cell that reads as an NHS number
])
def test_planted_edges(rows, kind):
    table = _same_verdict(rows, None)
    _kinds.names = None
    got = _kinds({Path("scorecard.csv"): table})
    assert (got is None) if kind is None else (kind in got)


def test_clean_quotes_are_vouched_and_the_scan_reads_only_the_rest():
    rows = [("North", "", [f"Review {d:02d}/09/2025 with the team.", "Walks the dog (JS 01/02)."], f"{d}-{d + 40}")
            for d in range(1, 29)]
    table = _same_verdict(rows, ["Gethin"])
    assert "Walks the dog" in "".join(table.parts) and "Walks the dog" not in "".join(table.scan_parts)
    assert "".join(table.scan_parts).count("\n") == 2  # the header and one row: all rows read the same
    for risky in (["Gethin|Jones"], ["Jones, Gethin"]):  # a names-list entry that could join quotes
        assert _table(rows, risky)[1].scan_parts == _table(rows, risky)[1].parts


def test_write_report_vouches_for_the_quotes_and_still_refuses_a_missed_identifier(tmp_path, monkeypatch):
    audit = rs.audit_care_plans(make_plans(60, seed=7))
    read: list[int] = []
    real = outputs._kinds
    monkeypatch.setattr(outputs, "_kinds", lambda parts, *a: read.append(sum(map(len, parts))) or real(parts, *a))
    rep = audit.write_report(tmp_path / "out", secret=SECRET, names=NAMES)
    size = Path(rep.files["csv_scorecard"]).stat().st_size
    assert max(read) < size / 3  # the final scan read the scorecard without its quotes
    # a quote redaction missed (here: phone numbers left in) is caught, and the error names what the
    # whole file holds
    redact_slice = report_mod.redact_slice
    monkeypatch.setattr(report_mod, "redact_slice",
                        lambda text, spans, s, e: redact_slice(text, [x for x in spans if x[2] != "phone"], s, e))
    with pytest.raises(PrivacyError, match="scorecard.csv: phone number") as err:
        audit.write_report(tmp_path / "out2", secret=SECRET, names=NAMES)
    assert err.value.kinds == ["phone"]
    assert not (tmp_path / "out2").exists() and not (tmp_path / "out2-RESTRICTED").exists()


ADDRESS_POSTCODE = ["12 Mill Lane", "Flat 3, 14 High Street", "7a Kings Crescent", "LU1 3JH", "lu1 3jh", "GIR 0AA",
                    "SW1A\n2AA", "M1  1AE", " ", ", ", "\n", "1st", "Green", "Park", "Road", "Ms", "3JH", "12", "x",
                    "\u017f", "Queen\u2019s Court", "21 St", "Rd", "B33 8TH."]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ADDRESS_POSTCODE), max_size=8).map("".join))
def test_gated_address_and_postcode_finders_find_what_the_full_patterns_find(text):
    from recoverystudy.privacy import _formats as F

    full = [(m.start(), m.end()) for m in F._POSTCODE.finditer(text)
            if not (m.group()[:3].upper() == "GIR" and not m.group().upper().endswith("0AA"))]
    assert [(s, e) for s, e, _, _ in F.find_postcodes(text)] == full
    assert [(s, e) for s, e, _, _ in F.find_addresses(text)] == [(m.start(), m.end()) for m in F._ADDRESS.finditer(text)]
