"""Issue 20: the fast report writer writes exactly what the slower one did.

``tests/data/audit_golden/outputs.json`` holds every file ``write_report`` wrote for a small synthetic
audit (planted identifiers, a names list, Welsh plans for the coverage table, teams small enough for
suppression) with the code as it was before report writing was streamed and parallelised (commit
374f018): CSV text, the anonymisation log, every cell of every workbook sheet, the HTML page and the
restricted README (their "written at" time replaced by ``<now>``), and the chart's SHA-256.  The same
audit written now - in this process, and with two worker processes started by ``spawn`` - must give
the same files, character for character.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import recoverystudy as rs
from recoverystudy.audit import render
from recoverystudy.audit import report as report_mod
from recoverystudy.errors import PrivacyError
from recoverystudy.privacy import outputs
from recoverystudy.synthetic.identifiers import identifier_plans

GOLDEN = Path(__file__).parent / "data" / "audit_golden" / "outputs.json"
PLANS = Path(__file__).parent / "data" / "care_plans"
SECRET = "same-outputs-secret-0123456789"
NAMES = ["Okonkwo", "Priya Shah", "Gethin"]
_NOW = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def make_plans() -> pd.DataFrame:
    """30 plans with planted identifiers and every synthetic test plan, teams of uneven size, some Welsh."""
    planted, _ = identifier_plans(n_plans=30, seed=20, same_sentence=True)
    texts = [p.read_text(encoding="utf-8") for p in sorted(PLANS.glob("plan_*")) if p.suffix in (".txt", ".md")]
    frame = pd.concat(
        [planted[["plan_id", "text"]],
         pd.DataFrame({"plan_id": [f"real-{i:02d}" for i in range(len(texts))], "text": texts})],
        ignore_index=True,
    )
    teams = ["North", "North", "South", "East", "North", "West", "South", "Rehab"]
    frame["team"] = [teams[i % len(teams)] for i in range(len(frame))]
    frame["country"] = ["Wales" if i % 3 == 0 else "England" for i in range(len(frame))]
    frame.loc[frame.index[-1], "text"] = "Nothing to see here."  # a plan with no evidence at all
    return frame


def write(tmp: Path, **kwargs) -> dict[str, str]:
    audit = rs.audit_care_plans(make_plans())
    audit.confirm(audit.plans["plan_id"].iloc[0], "qs14_review_date", "met", reviewer="R1")
    audit.write_report(tmp / "out", secret=SECRET, log_path=tmp / "log.csv", names=NAMES, threshold=3, **kwargs)
    return normalised_outputs(tmp)


def normalised_outputs(tmp: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder in (tmp / "out", tmp / "out-RESTRICTED"):
        for p in sorted(folder.iterdir()):
            key = f"{folder.name[3:] or 'shareable'}/{p.name}"
            if p.suffix == ".png":
                out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif p.suffix == ".xlsx":
                wb = load_workbook(p, read_only=True)
                out[key] = json.dumps(
                    {ws.title: [[None if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
                     for ws in wb.worksheets}
                )
                wb.close()
            else:
                out[key] = p.read_text(encoding="utf-8")
    log = pd.read_csv(tmp / "log.csv", dtype=str, keep_default_na=False).drop(columns="written_at")
    out["log.csv"] = log.to_csv(index=False)
    return {k: _NOW.sub("<now>", v) for k, v in out.items()}


def _compare(got: dict[str, str], want: dict[str, str]) -> None:
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], name


def test_golden_is_meaningful():
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    sc = want["-RESTRICTED/scorecard.csv"]
    for marker in ("[NHS number]", "[phone number]", "[postcode]", "[name]", "[date of birth]"):
        assert marker in sc, marker
    assert "names_list" in want["log.csv"] and "True" in want["log.csv"]
    assert ",True\n" in want["shareable/compliance_by_team.csv"]  # small counts were suppressed
    assert "shareable/coverage_overall.csv" in want


def test_report_files_identical_to_the_old_writer_in_one_process(tmp_path):
    _compare(write(tmp_path, n_jobs=1), json.loads(GOLDEN.read_text(encoding="utf-8")))


def test_report_files_identical_with_two_spawned_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(report_mod, "_MIN_PARALLEL_PLANS", 10)
    monkeypatch.setattr(outputs, "_PIECE", 20_000)  # the scorecard is scanned in pieces, by the workers
    monkeypatch.setattr(render, "_CSV_ROWS", 97)  # and made in parts
    used: dict = {}
    got = write(tmp_path, n_jobs=2, start_method="spawn", _workers=used)
    _compare(got, json.loads(GOLDEN.read_text(encoding="utf-8")))
    assert used["start_method"] == "spawn" and len(used["pids"]) == 2  # both workers redacted and scanned
    assert os.getpid() not in used["pids"]


def test_report_workers_start_as_the_audits_did_by_default(tmp_path, monkeypatch):
    import multiprocessing as mp

    monkeypatch.setattr(report_mod, "_MIN_PARALLEL_PLANS", 10)
    audit = rs.audit_care_plans(make_plans())  # rated in this process: the platform's default method
    rep = audit.write_report(tmp_path / "out", secret=SECRET, n_jobs=2)
    workers = rep.provenance["workers"]
    assert workers["start_method"] == mp.get_start_method() and workers["n_processes"] == 2
    assert len(workers["pids"]) == 2 and os.getpid() not in workers["pids"]


def test_scan_in_pieces_names_what_the_one_pass_scan_names(tmp_path, monkeypatch):
    """With redaction made to miss, the scan in pieces refuses and names exactly the kinds (and files)
    that one scan of each whole file names."""
    audit = rs.audit_care_plans(make_plans())
    monkeypatch.setattr(report_mod, "_redact_spans", lambda text, names=None, *a, **k: (text, []))
    errors = []
    for piece in (10**9, 5_000):
        monkeypatch.setattr(outputs, "_PIECE", piece)
        with pytest.raises(PrivacyError) as err:
            audit.write_report(tmp_path / f"out{piece}", secret=SECRET, names=NAMES)
        errors.append(err.value)
    assert errors[0].kinds == errors[1].kinds and len(errors[0].kinds) >= 5
    assert [Path(f).name for f in errors[0].files] == [Path(f).name for f in errors[1].files] == ["scorecard.csv"]
    # and a clean file cut into pieces is clean: pieces cut only before a row that starts with a pseudonym
    monkeypatch.setattr(outputs, "_PIECE", 5_000)
    rows = "".join(f"P-{i:012x},North,met,Review 12/09/2025 with team {i}.\n" for i in range(2000))
    pieces = list(outputs._pieces([rows]))
    assert len(pieces) > 5 and all(p.startswith("P-") for p in pieces) and "".join(pieces) == rows
    # rows that read the same but for their pseudonym are scanned once
    same = "plan,team\n" + "".join(f"P-{i:012x},North,not evidenced,,\n" for i in range(2000))
    assert list(outputs._pieces([same])) == ["plan,team\nP-000000000000,North,not evidenced,,\n"]
    outputs.scan_and_write({tmp_path / "rows.csv": rows})
    assert (tmp_path / "rows.csv").read_text() == rows
    cut = rows.index("\n", 50_000) + 1
    planted = rows[:cut] + "P-0000000000ff,North,met,call 07700 900123\n" + rows[cut:]
    with pytest.raises(PrivacyError, match=r"planted.csv: phone number"):
        outputs.scan_and_write({tmp_path / "planted.csv": planted})
    # a long table given in parts is scanned as one text and written as one file
    outputs.scan_and_write({tmp_path / "parts.csv": [rows[:cut], rows[cut:]]})
    assert (tmp_path / "parts.csv").read_text() == rows
    with pytest.raises(PrivacyError, match=r"parts2.csv: phone number"):
        outputs.scan_and_write({tmp_path / "parts2.csv": [rows[:cut], planted[cut:]]})
    assert not (tmp_path / "parts2.csv").exists()


if __name__ == "__main__":  # regenerate the golden file (only with the reference code checked out)
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        audit = rs.audit_care_plans(make_plans())
        audit.confirm(audit.plans["plan_id"].iloc[0], "qs14_review_date", "met", reviewer="R1")
        audit.write_report(Path(d) / "out", secret=SECRET, log_path=Path(d) / "log.csv", names=NAMES, threshold=3)
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(normalised_outputs(Path(d)), indent=0, sort_keys=True), encoding="utf-8")
    sys.exit(0)
