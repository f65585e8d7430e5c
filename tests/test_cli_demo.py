"""The `recoverystudy demo` and `recoverystudy compare` commands, run in-process with click's CliRunner."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import recoverystudy as rs
from recoverystudy.cli import main
from recoverystudy.report.html import read_key_numbers


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def scores_csv(tmp_path_factory):
    """WAI-SR totals of the synthetic study, as a user would have them in a CSV file."""
    study = rs.synthetic.six_site_study(seed=0)
    with pytest.warns(rs.errors.DerivedKeyWarning, match="WAI-SR"):
        wai = rs.score(study.service_users, "wai-sr").scores
    frame = pd.concat([study.service_users[["respondent_id", "site"]], wai], axis=1)
    frame["label"] = "x"
    path = tmp_path_factory.mktemp("cli") / "scores.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_demo_command_writes_the_report(runner, tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(main, ["demo", "--out", str(out), "--seed", "2", "--scale", "0.2"])
    assert result.exit_code == 0, result.output
    assert f"Report written to {(out / 'report.html').resolve()}" in result.output
    key = read_key_numbers((out / "report.html").read_text(encoding="utf-8"))
    assert key["seed"] == 2 and key["scale"] == 0.2
    assert (out / "tables" / "sites_welch.csv").is_file()


def test_demo_help_is_plain(runner):
    result = runner.invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    assert "report.html" in result.output and "--seed" in result.output
    assert "--scale" not in result.output  # benchmark knob, hidden from newcomers


def test_demo_out_is_a_file_is_a_user_error(runner, tmp_path):
    target = tmp_path / "taken"
    target.write_text("")
    result = runner.invoke(main, ["demo", "--out", str(target)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_compare_prints_the_apa_sentence(runner, scores_csv):
    path, frame = scores_csv
    result = runner.invoke(main, ["compare", str(path), "--value", "wai_sr_total", "--site", "site"])
    assert result.exit_code == 0, result.output
    expected = rs.compare_sites(frame, "wai_sr_total", "site").omnibus.iloc[0]
    assert f"F(5, {expected['df2']:.1f}) = {expected['statistic']:.2f}" in result.output
    assert "Pairs of sites (wai_sr_total)" in result.output


def test_compare_kruskal_several_values_to_csv(runner, scores_csv, tmp_path):
    path, frame = scores_csv
    out = tmp_path / "res.csv"
    result = runner.invoke(main, ["compare", str(path), "-v", "wai_sr_task", "-v", "wai_sr_bond", "--site", "site",
                                  "--method", "kruskal", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    expected = rs.compare_sites(frame, ["wai_sr_task", "wai_sr_bond"], "site", method="kruskal", seed=1).to_frame()
    np.testing.assert_allclose(written["statistic"], expected["statistic"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(written["p_adj"], expected["p_adj"], rtol=0, atol=1e-12)


def test_compare_xlsx_output(runner, scores_csv, tmp_path):
    import openpyxl

    path, _ = scores_csv
    out = tmp_path / "res.xlsx"
    result = runner.invoke(main, ["compare", str(path), "-v", "wai_sr_total", "-s", "site", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).sheetnames == ["omnibus", "pairs wai_sr_total"]


@pytest.mark.parametrize("args,message", [
    (["--value", "nope", "--site", "site"], "--value: there is no column 'nope'"),
    (["--value", "wai_sr_total", "--site", "where"], "--site: there is no column 'where'"),
    (["--value", "label", "--site", "site"], "label"),
])
def test_compare_user_errors_are_one_line_exit_2(runner, scores_csv, args, message):
    path, _ = scores_csv
    result = runner.invoke(main, ["compare", str(path), *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip() and not ln.startswith("Note:")]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]


def test_compare_debug_shows_the_traceback(runner, scores_csv):
    path, _ = scores_csv
    result = runner.invoke(main, ["--debug", "compare", str(path), "--value", "nope", "--site", "site"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError)


def test_compare_missing_file_exit_2(runner, tmp_path):
    result = runner.invoke(main, ["compare", str(tmp_path / "none.csv"), "--value", "x", "--site", "s"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_compare_help_is_readable(runner):
    result = runner.invoke(main, ["compare", "--help"])
    assert result.exit_code == 0
    for words in ("one row per person", "--value", "--site", "welch", "kruskal", "Example"):
        assert words in result.output


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "recoverystudy", "demo", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    assert "synthetic six-site study" in done.stdout
