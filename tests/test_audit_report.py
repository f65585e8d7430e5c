"""Shared outputs are private by default: no planted identifier reaches ANY output file."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import recoverystudy as rs
from recoverystudy.cli_audit import audit_command
from recoverystudy.errors import PrivacyError

DATA = Path(__file__).parent / "data" / "care_plans"
TEAMS = DATA / "_expected" / "teams.csv"
SECRET = "test-secret-0123456789abcdef"

# Identifiers planted in the synthetic plans (Ofcom drama numbers, example.org, valid NHS numbers).
PLANTED = [
    "943 476 5919",
    "469 920 5755",
    "439 825 9791",
    "488 607 5002",  # NHS numbers (check digits valid)
    "07700 900412",
    "0800 123 4567",
    "0161 496 0321",
    "020 7946 0112",
    "07700 900881",
    "700123",
    "0161 496 0778",
    "07700 900633",
    "029 2018 0999",
    "07700 900190",  # phones
    "LU1 3JH",
    "M1 1AE",
    "LU2 7GH",
    "LU1 3ES",  # postcodes
    "janet.okonkwo@example.org",
    "ruth.adams@example.org",
    "ben.adeyemi@example.org",  # e-mails
    "14 March 1971",
    "19.07.1968",
    "02/11/1975",
    "22/08/1980",  # dates of birth
    "07700 900701",
    "07700 900802",
    "0161 496 0919",
    "020 7946 0802",  # held-out plans
    "029 2018 0321",
    "07700 900351",
    "029 2018 0555",
    "029 2018 0777",
    "07700 900466",
    "029 2018 0444",
    "029 2018 0612",
    "07700 900637",
    "029 2018 0639",  # Welsh plans (Cardiff drama range)
    "04/11/1988",
    "17/05/1962",  # dates of birth next to a name, without a DOB label
]
NAMES = ["Jordan Reeve", "Alex", "Dana", "Okonkwo", "Winston", "Marcia"]
# First names found only by the role-word rules (not in NAMES) that appear in quoted evidence: carers
# ("my sister Catrin", "my partner Gethin", "her husband Dafydd") and their later repeats.
RULE_NAMES = ["Gethin", "Catrin", "Dafydd", "Glenys", "Lowri"]


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _all_output_text(folder: Path) -> dict[str, str]:
    texts = {}
    for p in folder.rglob("*"):
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                texts[p.name] = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        elif p.is_file():
            texts[p.name] = p.read_bytes().decode("latin-1")  # PNG and text alike
    return texts


def _assert_clean(folder: Path, extra=()):
    texts = _all_output_text(folder)
    assert {
        "report.html",
        "audit.xlsx",
        "compliance_overall.csv",
        "compliance_by_team.csv",
        "chart.png",
    } <= set(texts)
    for name, text in texts.items():
        squashed = re.sub(r"\s", "", text)
        for ident in list(PLANTED) + list(extra):
            assert ident not in text, (name, ident)
            if len(_digits(ident)) >= 10:
                assert _digits(ident) not in re.sub(r"[\s\-()]", "", squashed), (name, ident)


@pytest.fixture(scope="module")
def audit():
    files = sorted(p for p in DATA.glob("*") if p.is_file())
    return rs.audit_care_plans(files, team=rs.read_team_metadata(TEAMS))


def test_person_level_outputs_are_redacted_and_pseudonymised(audit, tmp_path):
    out, log = tmp_path / "share", tmp_path / "private" / "log.csv"
    rep = audit.write_report(out, secret=SECRET, log_path=log, names=NAMES)
    restricted = tmp_path / "share-RESTRICTED"
    # person-level outputs go to a separate folder labelled restricted, never to the shareable one
    assert rep.person_level and rep.restricted_dir == str(restricted)
    assert (restricted / "scorecard.csv").exists() and not (out / "scorecard.csv").exists()
    assert "DO NOT SHARE" in (restricted / "README-RESTRICTED.txt").read_text(encoding="utf-8")
    _assert_clean(out, extra=NAMES + [SECRET])
    for folder in (out, restricted):
        for name, text in _all_output_text(folder).items():
            for first in RULE_NAMES:
                assert not re.search(rf"\b{first}\b", text), (name, first)
            for ident in PLANTED + NAMES + [SECRET]:
                assert ident not in text, (name, ident)
    texts = _all_output_text(out)
    assert not any("plan_01" in t for t in texts.values())  # plan ids pseudonymised
    assert not any(re.search(r"P-[0-9a-f]{12}", t) for t in texts.values())  # nothing per plan shared
    sc = pd.read_csv(restricted / "scorecard.csv")
    assert sc["plan"].str.fullmatch(r"P-[0-9a-f]{12}").all()
    assert sc["evidence"].fillna("").str.contains(r"\[phone number\]").any()
    # the log is outside the output folder, records category and offsets, never the original text
    lg = pd.read_csv(log)
    assert {"plan_id", "pseudonym", "criterion", "start", "end", "category", "replacement"} <= set(lg.columns)
    assert set(lg["category"]) >= {"phone", "name"}
    # rule-found names are logged as proposals a reviewer can check; listed names are not
    assert lg.loc[lg["rule"] == "names_list", "proposed"].eq(False).all()
    assert lg.loc[lg["rule"].isin(["family_word", "name_repeat"]), "proposed"].all()
    assert {"family_word", "name_repeat"} <= set(lg["rule"])
    assert not any(ident in log.read_text() for ident in PLANTED)
    html = texts["report.html"]
    assert "Counts from 1 to 4 are suppressed" in html and "HMAC-SHA256" in html
    assert "separate folder labelled restricted (share-RESTRICTED)" in html


def test_without_secret_only_aggregate_outputs(audit, tmp_path):
    rep = audit.write_report(tmp_path / "agg")
    assert not rep.person_level
    assert not (tmp_path / "agg" / "scorecard.csv").exists()
    texts = _all_output_text(tmp_path / "agg")
    assert (
        "person-level outputs (per-plan scorecard, evidence quotes, list of plan ids) were NOT written"
        in texts["report.html"]
    )
    assert not any(re.search(r"plan_\d\d|zz_", t) for t in texts.values())
    _assert_clean(tmp_path / "agg")


def test_small_counts_suppressed_in_team_table(audit, tmp_path):
    audit.write_report(tmp_path / "s", threshold=5)
    teams = pd.read_csv(tmp_path / "s" / "compliance_by_team.csv")
    counts = teams[["n_met", "n_partly_met", "n_not_evidenced", "n_not_applicable"]]
    shown = counts.stack().dropna()
    assert not ((shown > 0) & (shown < 5)).any()
    # a hidden met count hides its percentage
    assert teams.loc[teams["n_met"].isna(), "proportion_met"].isna().all()


def test_log_inside_output_refused(audit, tmp_path):
    with pytest.raises(PrivacyError, match="inside the output folder"):
        audit.write_report(tmp_path / "o", secret=SECRET, log_path=tmp_path / "o" / "log.csv")
    assert not (tmp_path / "o" / "report.html").exists()


def test_identifier_in_team_name_is_caught_before_writing(tmp_path):
    df = pd.DataFrame({"plan_id": ["a"], "team": ["Team at LU1 3JH"], "text": ["I have a copy."]})
    with pytest.raises(PrivacyError, match="postcode") as err:
        rs.audit_care_plans(df).write_report(tmp_path / "x")
    assert "LU1 3JH" not in str(err.value) and "report.html" in str(err.value)
    assert not (tmp_path / "x").exists()  # the folder this run created is gone again, nothing written


def test_cli_end_to_end(tmp_path, monkeypatch):
    monkeypatch.delenv("RECOVERYSTUDY_SECRET", raising=False)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    names = tmp_path / "names.txt"
    names.write_text("\n".join(NAMES), encoding="utf-8")
    out = tmp_path / "report"
    r = CliRunner().invoke(
        audit_command,
        [
            str(DATA),
            "--out",
            str(out),
            "--team-from",
            str(TEAMS),
            "--secret-file",
            str(secret),
            "--log",
            str(tmp_path / "log.csv"),
            "--names",
            str(names),
            "--jobs",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "zz_empty.txt" in r.output and "Report:" in r.output
    _assert_clean(out, extra=NAMES + [SECRET])
    assert "RESTRICTED, do not share" in r.output and (tmp_path / "report-RESTRICTED" / "scorecard.csv").exists()
    # no secret: aggregate only, and it says so
    r2 = CliRunner().invoke(audit_command, [str(DATA), "--out", str(tmp_path / "agg"), "--jobs", "1"])
    assert r2.exit_code == 0 and "person-level outputs were NOT written" in r2.output


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["{data}", "--out", "{tmp}/o", "--log", "{tmp}/o/log.csv"], "--log must be outside --out"),
        (["{tmp}/missing", "--out", "{tmp}/o"], "does not exist"),
        (["{data}", "--out", "{tmp}/o", "--secret-file", "{tmp}/nope.txt"], "does not exist"),
        (["{data}", "--out", "{tmp}/o", "--team-from", "{tmp}/nope.csv"], "does not exist"),
    ],
)
def test_cli_user_errors_one_line_exit_2(tmp_path, args, fragment):
    args = [a.format(data=DATA, tmp=tmp_path) for a in args]
    r = CliRunner().invoke(audit_command, args)
    assert r.exit_code == 2
    assert fragment in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert "Traceback" not in r.output


def test_cli_help_is_plain():
    r = CliRunner().invoke(audit_command, ["--help"])
    assert r.exit_code == 0
    for phrase in ("PLANS_DIR", "--secret-file", "--log", "--threshold", "pseudonyms", "[NHS number]"):
        assert phrase in r.output


def test_registered_in_main_cli(tmp_path):
    from recoverystudy.cli import main

    r = CliRunner().invoke(main, ["audit", str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, recoverystudy; bad = [m for m in ('matplotlib', 'click', 'docx', 'openpyxl', 'rich') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_demo_synthetic_plans_planted_identifiers_do_not_leak(tmp_path):
    """Independent data: the demo's synthetic six-site care plans carry their own planted identifiers."""
    synthetic = pytest.importorskip("recoverystudy.synthetic")
    cp = synthetic.six_site_study(seed=0).care_plans
    planted = [
        item.split("=", 1)[1].strip()
        for value in cp["planted_identifiers"].astype(str)
        for item in value.split(";")
        if "=" in item
    ]
    assert len(planted) >= 4
    audit = rs.audit_care_plans(cp[["plan_id", "text", "team"]])
    audit.write_report(tmp_path / "demo", secret=SECRET, names=cp["person_name"].tolist())
    texts = {**_all_output_text(tmp_path / "demo"), **_all_output_text(tmp_path / "demo-RESTRICTED")}
    for name, text in texts.items():
        for ident in planted:
            assert ident not in text, (name, ident)
            if len(_digits(ident)) >= 10:
                assert _digits(ident) not in re.sub(r"[\s\-()]", "", text), (name, ident)


def test_verifier_ignores_pseudonyms_that_look_like_numbers():
    from recoverystudy.privacy.outputs import find_identifier_kinds

    assert find_identifier_kinds("plan P-071234567890 met", None) == []
    assert find_identifier_kinds("plan 07123 456789 met", None) == ["phone"]


def test_cli_confirmations_replace_prerated_ratings(tmp_path, monkeypatch):
    """`recoverystudy audit --confirmations FILE`: reviewers' confirmations fed back from the command line."""
    monkeypatch.delenv("RECOVERYSTUDY_SECRET", raising=False)
    audit = rs.audit_care_plans(DATA)
    row = audit.ratings("prerated").iloc[0]
    other = next(r for r in ("met", "partly met", "not evidenced") if r != row["rating"])
    conf = tmp_path / "review.csv"
    pd.DataFrame({"plan_id": [row["plan_id"]], "criterion": [row["criterion"]], "rating": [other],
                  "reviewer": ["AB"], "note": ["checked"]}).to_csv(conf, index=False)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    out = tmp_path / "report"
    r = CliRunner().invoke(audit_command, [str(DATA), "--out", str(out), "--confirmations", str(conf),
                                           "--secret-file", str(secret), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    assert "Applied 1 reviewer confirmation(s) from review.csv" in r.output
    card = pd.read_csv(tmp_path / "report-RESTRICTED" / "scorecard.csv")
    confirmed = card[card["confirmed"].notna()]
    assert len(confirmed) == 1 and confirmed["final"].iloc[0] == other == confirmed["confirmed"].iloc[0]
    assert confirmed["criterion"].iloc[0] == row["criterion"] and confirmed["prerated"].iloc[0] == row["rating"]
    # the file names reviewers: refused inside --out, and a wrong row is refused with nothing applied
    inside = out / "review.csv"
    inside.write_text(conf.read_text(encoding="utf-8"), encoding="utf-8")
    r = CliRunner().invoke(audit_command, [str(DATA), "--out", str(out), "--confirmations", str(inside)])
    assert r.exit_code == 2 and "--confirmations must be outside --out" in r.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"plan_id": ["no-such-plan"], "criterion": [row["criterion"]], "rating": [other],
                  "reviewer": ["AB"]}).to_csv(bad, index=False)
    r = CliRunner().invoke(audit_command, [str(DATA), "--out", str(tmp_path / "o2"), "--confirmations", str(bad)])
    assert r.exit_code == 2 and "bad.csv" in r.output
