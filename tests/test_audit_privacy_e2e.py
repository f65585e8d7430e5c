"""Issue 14, end to end: `recoverystudy audit` on synthetic plans with planted identifiers.

No planted identifier may appear in ANY file written (HTML text and alt text, every xlsx XML part,
CSV, PNG bytes and text chunks, JSON), the last-line scan must refuse to write when redaction is made
to miss, naming the file and the kind (never the value), and a failed run must not delete or alter
any file that was already in the output folder.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import recoverystudy as rs
from recoverystudy.audit import report as report_mod
from recoverystudy.cli_audit import audit_command
from recoverystudy.errors import PrivacyError
from recoverystudy.synthetic.identifiers import identifier_plans

SECRET = "e2e-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    plans, items = identifier_plans(n_plans=24, seed=14, same_sentence=True)
    folder = root / "plans"
    folder.mkdir()
    for pid, text in zip(plans["plan_id"], plans["text"]):
        (folder / f"{pid}.txt").write_text(text, encoding="utf-8")
    teams = pd.DataFrame({"plan": [f"{p}.txt" for p in plans["plan_id"]], "team": ["North", "South", "East", "West"] * 6})
    teams.to_csv(root / "teams.csv", index=False)
    (root / "secret.txt").write_text(SECRET, encoding="utf-8")
    ids = items[items["kind"] == "identifier"]
    return root, folder, plans, ids


def _file_texts(folder: Path) -> dict[str, str]:
    """Every file, read the way a recipient could: html text + attributes, xlsx XML, csv, png, json."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                xml = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
            out[p.name] = html.unescape(xml) + "\n" + html.unescape(re.sub(r"<[^>]+>", " ", xml))
        elif p.suffix == ".png":
            out[p.name] = p.read_bytes().decode("latin-1")
        elif p.suffix in (".html", ".htm"):
            raw = p.read_text(encoding="utf-8")
            alts = " ".join(re.findall(r"alt=['\"]([^'\"]*)['\"]", raw))
            out[p.name] = html.unescape(raw) + "\n" + html.unescape(re.sub(r"<[^>]+>", " ", raw)) + "\n" + alts
        else:  # csv, json, txt
            out[p.name] = p.read_text(encoding="utf-8")
    return out


def _leaks(texts: dict[str, str], ids: pd.DataFrame) -> list[tuple[str, str, str]]:
    found = []
    for name, text in texts.items():
        spaced = re.sub(r"\s+", " ", text)
        squashed = re.sub(r"[\s\-().]", "", text)
        words = set(re.findall(r"[\w'\u2019-]+", text))
        for kind, value in zip(ids["type"], ids["value"]):
            v = re.sub(r"\s+", " ", value)
            if kind == "name":
                if any(len(w) > 2 and w in words for w in re.split(r"[\s.]+", v)):
                    found.append((name, kind, v))
            elif v in spaced or value in text:
                found.append((name, kind, v))
            elif kind in ("nhs_number", "phone") and re.sub(r"\D", "", v)[-10:] in squashed:
                found.append((name, kind, v))
    return found


def test_cli_audit_leaks_no_planted_identifier(planted, tmp_path):
    root, folder, plans, ids = planted
    out = tmp_path / "share"
    r = CliRunner().invoke(
        audit_command,
        [str(folder), "--out", str(out), "--team-from", str(root / "teams.csv"),
         "--secret-file", str(root / "secret.txt"), "--log", str(tmp_path / "private" / "log.csv"),
         "--threshold", "3", "--jobs", "1"],
    )
    assert r.exit_code == 0, r.output
    restricted = tmp_path / "share-RESTRICTED"
    texts = {**_file_texts(out), **{f"RESTRICTED/{k}": v for k, v in _file_texts(restricted).items()}}
    assert {"report.html", "audit.xlsx", "chart.png", "compliance_by_team.csv", "RESTRICTED/scorecard.csv"} <= set(texts)
    # the test is meaningful: many planted identifiers sit in sentences quoted as evidence
    sc = pd.read_csv(restricted / "scorecard.csv")
    assert sc["evidence"].fillna("").str.contains(r"\[(?:NHS number|phone number|postcode|name|date of birth)\]").sum() >= 30
    assert _leaks(texts, ids) == []
    assert SECRET not in "".join(texts.values())


def test_scan_refuses_when_redaction_misses_and_keeps_existing_files(planted, tmp_path, monkeypatch):
    root, folder, plans, ids = planted
    audit = rs.audit_care_plans(folder, team=rs.read_team_metadata(root / "teams.csv"))
    out = tmp_path / "share"
    out.mkdir()
    mine = {"report.html": b"<p>my own earlier report</p>", "notes.txt": b"my notes", "audit.xlsx": b"old workbook"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    # redaction made to miss everything: the final scan is the only thing left between the plans and the outputs
    monkeypatch.setattr(report_mod, "_redact_spans", lambda text, names=None, *a, **k: (text, []))
    with pytest.raises(PrivacyError) as err:
        audit.write_report(out, secret=SECRET)
    message = str(err.value)
    assert "scorecard.csv" in message and "Nothing was written" in message
    for kind in ("NHS number", "phone number", "postcode", "name"):
        assert kind in message, kind
    assert {"nhs_number", "phone", "postcode", "name"} <= set(err.value.kinds)
    assert any(f.endswith("scorecard.csv") for f in err.value.files)
    assert _leaks({"message": message}, ids) == []  # never the value
    # nothing written, nothing deleted, nothing altered
    assert sorted(p.name for p in out.iterdir()) == sorted(mine)
    assert all((out / n).read_bytes() == d for n, d in mine.items())
    assert not (tmp_path / "share-RESTRICTED").exists()


def test_scan_catches_identifier_in_html_alt_text_and_png_text(tmp_path):
    from recoverystudy.privacy.outputs import scan_and_write

    with pytest.raises(PrivacyError, match=r"page.html: NHS number"):
        scan_and_write({tmp_path / "page.html": "<img alt='NHS no 943 476 5919' src='x.png'>"})
    import struct
    import zlib

    chunk = b"Comment\0Mrs Chloe McAllister"
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(chunk)) + b"tEXt" + chunk + struct.pack(">I", zlib.crc32(b"tEXt" + chunk))
    with pytest.raises(PrivacyError, match=r"chart.png: name"):
        scan_and_write({tmp_path / "chart.png": png})
    with pytest.raises(PrivacyError, match=r"data.json: postcode"):
        scan_and_write({tmp_path / "data.json": '{"team": "North", "where": "LU1  3JH"}'})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_removes_only_its_own_temporary_files(tmp_path, monkeypatch):
    import os

    from recoverystudy.privacy import outputs

    (tmp_path / "report.html").write_text("mine", encoding="utf-8")
    calls = {"n": 0}
    real = os.replace

    def failing_replace(a, b):
        calls["n"] += 1
        raise OSError("disk full")

    monkeypatch.setattr(outputs.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        outputs.scan_and_write({tmp_path / "report.html": "new", tmp_path / "a.csv": "x\n1\n"})
    monkeypatch.setattr(outputs.os, "replace", real)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_out_may_not_be_the_plans_folder_or_inside_it(planted, tmp_path, where):
    root, folder, plans, ids = planted
    before = sorted(p.name for p in folder.iterdir())
    out = {"same": folder, "inside": folder / "report", "parent": folder.parent}[where]
    r = CliRunner().invoke(audit_command, [str(folder), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 2 and "plans folder" in r.output, r.output
    assert sorted(p.name for p in folder.iterdir()) == before
    audit = rs.audit_care_plans(plans.head(2))
    with pytest.raises(PrivacyError, match="plans folder"):
        report_mod.write_audit_report(audit, out, plans_dir=folder)


def test_restricted_folder_must_be_separate(tmp_path):
    audit = rs.audit_care_plans(pd.DataFrame({"plan_id": ["a"], "text": ["I have a copy."]}))
    with pytest.raises(PrivacyError, match="must be separate"):
        audit.write_report(tmp_path / "o", secret=SECRET, restricted_dir=tmp_path / "o" / "private")
    assert not (tmp_path / "o").exists()
