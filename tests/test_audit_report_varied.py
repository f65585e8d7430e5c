"""Issue 20: the report writer writes exactly what the reference writer did, on varied plans.

``tests/data/audit_golden/varied.json`` holds the SHA-256 of every file ``write_report`` wrote (CSV text,
the anonymisation log, every cell of the workbook, the HTML page, the restricted README - their "written
at" time replaced by ``<now>`` - and the chart) for 240 genuinely different plans built here, seeded:
paragraphs of the synthetic test plans mixed, the people renamed, dates and long numbers drawn afresh,
note-takers' initials after sentences, and lines with planted identifiers of every kind (from
:func:`recoverystudy.synthetic.identifiers.identifier_plans`) spliced in, so that many quoted evidence
sentences carry identifiers and most sentences differ between plans.  The hashes were made with the
code as it was before redaction and the final scan were done in one pass (commit 09f693d); the files
written now - in this process and by two workers started with ``spawn`` - must hash the same.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

import recoverystudy as rs
from recoverystudy.audit import render
from recoverystudy.audit import report as report_mod
from recoverystudy.privacy import outputs
from recoverystudy.synthetic.identifiers import identifier_plans
from test_audit_report_same import normalised_outputs

GOLDEN = Path(__file__).parent / "data" / "audit_golden" / "varied.json"
PLANS = Path(__file__).parent / "data" / "care_plans"
SECRET = "varied-outputs-secret-0123456789"
NAMES = ["Okonkwo", "Priya Shah", "Gethin", "Rhiannon"]
_PEOPLE = ("Chloe Tom Jane Mary Aisha Gethin Priya Oliver Siobhan Kwame Emma Dafydd Fatima Liam Grace Hamza "
           "Niamh Ravi Smith Patel Jones Williams Evans Khan Taylor Brown Hughes Begum O'Brien McAllister").split()
_CAPITAL = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b")
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
_LONG_NUMBER = re.compile(r"\d(?:[\d ]{4,}\d)")
_SENTENCE_END = re.compile(r"(?<=[a-z])\.(?=\s|$)")


def make_plans(n: int = 240, seed: int = 2020) -> pd.DataFrame:
    """*n* different plans (~2 KB), seeded; see the module docstring."""
    sources = [p.read_text(encoding="utf-8") for p in sorted(PLANS.glob("plan_*")) if p.suffix in (".txt", ".md")]
    lower = set(re.findall(r"\b[a-z]+\b", "\n".join(sources)))
    people = sorted({m.group(1) for s in sources for m in _CAPITAL.finditer(s)} - {w.capitalize() for w in lower})
    people_rx = re.compile(r"\b(" + "|".join(map(re.escape, people)) + r")\b")
    paras = [[p for p in s.split("\n\n") if p.strip()] for s in sources]
    planted, _ = identifier_plans(n_plans=n // 4 + 1, seed=seed, same_sentence=True)
    planted_lines = [ln for t in planted["text"] for ln in t.split("\n")[3:] if ln.strip()]
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(n):
        blocks = list(paras[int(rng.integers(len(paras)))])
        while sum(map(len, blocks)) < 1800:
            other = paras[int(rng.integers(len(paras)))]
            blocks.insert(int(rng.integers(1, len(blocks) + 1)), other[int(rng.integers(len(other)))])
        lines = "\n\n".join(blocks).split("\n")
        for _ in range(int(rng.integers(2, 7))):  # identifiers, on lines of their own or ending a line
            line = planted_lines[int(rng.integers(len(planted_lines)))]
            k = int(rng.integers(len(lines)))
            if rng.random() < 0.5 and lines[k].strip():
                lines[k] = lines[k].rstrip(".") + "; " + line.split("; ", 1)[-1]
            else:
                lines.insert(k, line)
        body = "\n".join(lines)
        mapping = {name: _PEOPLE[int(rng.integers(len(_PEOPLE)))] for name in people}
        body = people_rx.sub(lambda m: mapping[m.group(1)], body)
        day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, size=8), unit="D")
        dates = iter(d.strftime("%d/%m/%Y") for d in day)
        body = _DATE.sub(lambda m: next(dates, m.group(0)), body)
        if i % 3 == 0:  # a date of birth next to a name, in a sentence the rating quotes
            who = f"{_PEOPLE[int(rng.integers(16))]} {_PEOPLE[16 + int(rng.integers(14))]}"
            lines = body.split("\n")
            lines.insert(int(rng.integers(len(lines))), f"My goal is to see my sister {who} "
                         f"({int(rng.integers(1, 29)):02d}/{int(rng.integers(1, 13)):02d}/{int(rng.integers(1950, 2000))}).")
            body = "\n".join(lines)
        body = _LONG_NUMBER.sub(lambda m: re.sub(r"\d", lambda d: str(int(rng.integers(10))), m.group(0)), body)
        body = _SENTENCE_END.sub(
            lambda m: f" ({'ABCDEHJKLMNPRST'[int(rng.integers(15))]}{'ABCDEHJKLMNPRST'[int(rng.integers(15))]} "
                      f"{int(rng.integers(1, 29)):02d}/{int(rng.integers(1, 13)):02d})." if rng.random() < 0.5 else ".",
            body,
        )
        texts.append(f"Plan reference {i:05d}\n" + body)
    teams = ["North", "South", "East", "West", "Rehab", "Early Intervention", "North", "South", "Tiny"]
    return pd.DataFrame({
        "plan_id": [f"plan-{i:05d}" for i in range(n)],
        "text": texts,
        "team": [teams[i % len(teams)] if i % 61 else "Solo" for i in range(n)],
        "country": ["Wales" if i % 4 == 0 else "England" for i in range(n)],
    })


def write(tmp: Path, **kwargs) -> dict[str, str]:
    audit = rs.audit_care_plans(make_plans())
    audit.confirm("plan-00003", "qs14_review_date", "met", reviewer="R1")
    audit.write_report(tmp / "out", secret=SECRET, log_path=tmp / "log.csv", names=NAMES, threshold=4, **kwargs)
    return normalised_outputs(tmp)


def digests(files: dict[str, str]) -> dict[str, str]:
    return {k: hashlib.sha256(v.encode("utf-8")).hexdigest() for k, v in sorted(files.items())}


def test_varied_plans_are_varied_and_carry_identifiers(tmp_path):
    plans = make_plans()
    lines = plans["text"].str.split("\n").explode()
    lines = lines[lines.str.len() > 40]
    assert lines.nunique() / len(lines) > 0.6  # most lines differ between plans
    files = write(tmp_path, n_jobs=1)
    sc = files["-RESTRICTED/scorecard.csv"]
    for marker in ("[NHS number]", "[phone number]", "[postcode]", "[name]", "[date of birth]", "[email]",
                   "[address]", "[hospital number]"):
        assert sc.count(marker) >= 3, marker
    log = pd.read_csv(tmp_path / "log.csv")
    assert len(log) > 500 and {"names_list", "name_repeat", "dob_next_to_name"} <= set(log["rule"])
    assert ",True\n" in files["shareable/compliance_by_team.csv"]  # small counts were suppressed
    assert digests(files) == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_varied_report_identical_with_two_spawned_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(report_mod, "_MIN_PARALLEL_PLANS", 10)
    monkeypatch.setattr(outputs, "_PIECE", 50_000)
    monkeypatch.setattr(render, "_CSV_ROWS", 301)
    used: dict = {}
    files = write(tmp_path, n_jobs=2, start_method="spawn", _workers=used)
    assert digests(files) == json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert used["start_method"] == "spawn" and len(used["pids"]) == 2


if __name__ == "__main__":  # regenerate the hashes (only with the reference code checked out)
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        got = write(Path(d), n_jobs=1)
        if len(sys.argv) > 1:  # keep the files themselves, to compare with another version's
            Path(sys.argv[1]).write_text(json.dumps(got, indent=0, sort_keys=True), encoding="utf-8")
    GOLDEN.write_text(json.dumps(digests(got), indent=0, sort_keys=True) + "\n", encoding="utf-8")
    sys.exit(0)
