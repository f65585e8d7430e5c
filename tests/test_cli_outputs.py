"""Command-line messages in command-line words: forgiving names, item maps, kept columns, APA output."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import recoverystudy as rs
from recoverystudy.cli import main
from recoverystudy.cli_help import CliUsageError, cli_advice, item_map, resolve_name

EXAMPLE = "recoverystudy/datasets/example_survey.csv"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rs.synthetic.six_site_study(seed=0, scale=0.3).write(folder)
    return folder / "surveys" / "service_users.csv"


def test_instrument_and_columns_case_insensitive_and_site_kept_by_default(survey, tmp_path):
    out = tmp_path / "s.csv"
    res = run("score", survey, "-i", "WAI-SR", "--id-col", "Respondent_ID", "--out", out)
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert list(frame.columns[:3]) == ["respondent_id", "site", "country"]


def test_did_you_mean_for_columns_and_instruments(survey, tmp_path):
    res = run("score", survey, "-i", "wai", "--id-col", "respondent_id")
    assert res.exit_code == 2 and "Did you mean 'wai-sr'" in res.output
    out = tmp_path / "s.csv"
    assert run("score", survey, "-i", "wai-sr", "--id-col", "respondent_id", "--out", out).exit_code == 0
    res = run("compare", out, "--value", "wai_total", "--site", "site")
    assert res.exit_code == 2 and "Did you mean 'wai_sr_total'" in res.output


def test_compare_suggests_keep_when_site_was_dropped(survey, tmp_path):
    out = tmp_path / "s.csv"
    assert run("score", survey, "-i", "wai-sr", "--id-col", "respondent_id", "--keep", "", "--out", out).exit_code == 0
    res = run("compare", out, "--value", "wai_sr_total", "--site", "site")
    assert res.exit_code == 2 and "--keep site" in res.output


def test_items_pattern_and_csv_map(tmp_path):
    wai = rs.load_instrument("wai-sr")
    raw = pd.read_csv(EXAMPLE)
    renamed = raw.rename(columns={i: f"Q{n}" for n, i in enumerate(wai.item_ids, start=1)})
    path = tmp_path / "renamed.csv"
    renamed.to_csv(path, index=False)
    expected = tmp_path / "expected.csv"
    assert run("score", EXAMPLE, "-i", "wai-sr", "--id-col", "respondent_id", "--out", expected).exit_code == 0
    got = tmp_path / "got.csv"
    res = run("score", path, "-i", "wai-sr", "--id-col", "respondent_id", "--items", "Q{n}", "--out", got)
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(got), pd.read_csv(expected))
    mapping = tmp_path / "map.csv"
    pd.DataFrame({"item": wai.item_ids, "column": [f"q{n}" for n in range(1, 13)]}).to_csv(mapping, index=False)
    got2 = tmp_path / "got2.csv"
    res = run("score", path, "-i", "wai-sr", "--id-col", "respondent_id", "--items", mapping, "--out", got2)
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(got2), pd.read_csv(expected))
    res = run("score", path, "-i", "wai-sr", "--id-col", "respondent_id")
    assert res.exit_code == 2
    assert "--items" in res.output and "items={" not in res.output and "rs." not in res.output


def test_item_map_refuses_an_item_twice(tmp_path):
    mapping = tmp_path / "map.csv"
    pd.DataFrame({"item": ["wai_01", "WAI_01"], "column": ["a", "b"]}).to_csv(mapping, index=False)
    with pytest.raises(CliUsageError, match="line 3: item 'wai_01' is mapped twice"):
        item_map(str(mapping), ["wai_01", "wai_02"], ["a", "b"])


def test_compare_output_apa_direction_and_no_empty_columns(survey, tmp_path):
    out = tmp_path / "s.csv"
    assert run("score", survey, "-i", "wai-sr", "--id-col", "respondent_id", "--out", out).exit_code == 0
    res = run("compare", out, "--value", "wai_sr_total", "--site", "site", "-m", "kruskal", "--seed", "1")
    assert res.exit_code == 0, res.output
    assert "site B minus site A" in res.output and "B minus A" in res.output
    assert "NaN" not in res.output and "nan" not in res.output and "0.000" not in res.output


def test_library_advice_is_rewritten_for_the_command_line():
    res = run("score", EXAMPLE, "-i", "es", "--id-col", "respondent_id")
    assert res.exit_code == 2
    assert "--key" in res.output and "rs.score(" not in res.output
    assert cli_advice("pass it as key=, e.g. load_instrument(name, key=path).") == "give it with --key FILE."


def test_items_command_lists_item_ids():
    res = run("items", "WAI-SR")
    assert res.exit_code == 0 and "wai_01" in res.output and "wai_12" in res.output


def test_resolve_name_lists_choices_when_nothing_is_close():
    with pytest.raises(CliUsageError, match="The columns are: a, b."):
        resolve_name("zzz", ["a", "b"], what="column", option="--site")
