"""The command line: instruments, score; user errors give one line and exit code 2."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from recoverystudy.cli import main

EXAMPLE = "recoverystudy/datasets/example_survey.csv"


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_instruments_lists_provenance():
    res = run("instruments")
    assert res.exit_code == 0
    assert "wai-sr" in res.output and "refused" in res.output and "derived-from-wording" in res.output


def test_score_writes_csv(tmp_path):
    out = tmp_path / "scores.csv"
    res = run("score", EXAMPLE, "--instrument", "wai-sr", "--id-col", "respondent_id", "--out", str(out))
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == 40 and "wai_sr_total" in df.columns
    assert "derived from item wording" in res.output


def test_user_error_is_one_line_exit_2():
    res = run("score", EXAMPLE, "--instrument", "es")
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1 and "key" in lines[0]
    assert "Traceback" not in res.output


def test_unknown_instrument_exit_2():
    res = run("score", EXAMPLE, "--instrument", "nope")
    assert res.exit_code == 2 and "there is no instrument 'nope'. The instruments are: es, qpr-15" in res.output


def test_help_is_plain():
    res = run("score", "--help")
    assert res.exit_code == 0 and "licensed manual" in res.output


def test_score_keep_copies_columns_for_compare(tmp_path):
    out = tmp_path / "scores.csv"
    res = run("score", str(EXAMPLE), "--instrument", "wai-sr", "--id-col", "respondent_id", "--keep", "site",
              "--out", str(out))
    assert res.exit_code == 0, res.output
    written = pd.read_csv(out)
    source = pd.read_csv(EXAMPLE)
    assert list(written.columns[:3]) == ["respondent_id", "site", "wai_sr_total"]
    assert written["site"].tolist() == source["site"].tolist()
    # the file goes straight into compare
    res = run("compare", str(out), "--value", "wai_sr_total", "--site", "site")
    assert res.exit_code == 0, res.output
    assert "Welch's ANOVA: F(2, 20.2) = 0.79" in res.output


def test_score_keep_unknown_column_is_a_user_error():
    res = run("score", str(EXAMPLE), "--instrument", "wai-sr", "--keep", "ward")
    assert res.exit_code == 2
    assert "no column 'ward'" in res.output


def test_bad_out_is_a_user_error_before_any_work(tmp_path):
    res = run("score", EXAMPLE, "--instrument", "wai-sr", "--out", str(tmp_path / "missing" / "x.csv"))
    assert res.exit_code == 2 and "does not exist; create it first" in res.output
    res = run("score", EXAMPLE, "--instrument", "wai-sr", "--out", str(tmp_path / "x.pdf"))
    assert res.exit_code == 2 and "give a file ending in .csv or .xlsx" in res.output
    assert not (tmp_path / "x.pdf").exists()
    res = run("compare", EXAMPLE, "--value", "rsa_person_01", "--site", "site", "--out", str(tmp_path / "no" / "c.csv"))
    assert res.exit_code == 2 and "does not exist" in res.output


def test_refused_instrument_points_to_the_key_option():
    res = run("score", EXAMPLE, "--instrument", "star-p")
    assert res.exit_code == 2
    assert "recoverystudy score FILE -i star-p --key my-key.yaml" in res.output and "Traceback" not in res.output


def test_unknown_id_column_lists_the_columns():
    res = run("score", EXAMPLE, "--instrument", "wai-sr", "--id-col", "respondentid")
    assert res.exit_code == 2
    assert "--id-col: there is no column 'respondentid'. Did you mean 'respondent_id'?" in res.output
