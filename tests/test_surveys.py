"""Survey readers: CSV (encodings, delimiters), Excel, SPSS with value labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.errors import SurveyReadError


def test_csv_utf8_bom_semicolon(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes("\ufeffid;wai_01;note\nR1;4;café\nR2;N/A;\n".encode())
    df = rs.read_survey(p)
    assert list(df.columns) == ["id", "wai_01", "note"]
    assert df.loc[0, "note"] == "café" and df.attrs["delimiter"] == ";"


def test_csv_cp1252(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes("id,comment\nR1,caf\xe9\n".encode("latin-1"))
    df = rs.read_survey(p)
    assert df.loc[0, "comment"] == "café" and df.attrs["encoding"] == "cp1252"


def test_excel_round_trip(tmp_path):
    p = tmp_path / "s.xlsx"
    pd.DataFrame({"id": ["a", "b"], "wai_01": [3, 99]}).to_excel(p, index=False)
    df = rs.read_survey(p)
    assert df["wai_01"].tolist() == [3, 99]


def test_spss_keeps_value_labels(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    p = tmp_path / "s.sav"
    df = pd.DataFrame({"rsa_person_01": [1.0, 5.0, 8.0]})
    pyreadstat.write_sav(df, str(p), variable_value_labels={"rsa_person_01": {1.0: "strongly disagree",
                                                                             5.0: "strongly agree", 8.0: "N/A"}})
    out = rs.read_survey(p)
    assert out["rsa_person_01"].tolist() == [1.0, 5.0, 8.0]  # codes kept, so 8 = N/A is recognised
    assert out.attrs["value_labels"]["rsa_person_01"][8.0] == "N/A"


def test_example_survey_scores_end_to_end():
    df = rs.load_example("example_survey")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        res = rs.score(df, "rsa-person", id_col="respondent_id")
    # the example contains N/A and D/K codes: every respondent has a score, some prorated
    assert res.scores["rsa_person_total"].notna().all()
    assert res.missing_report().loc["total", "scored_prorated"] > 0
    assert np.isclose(res.frame["rsa_person_total"].between(1, 5).mean(), 1.0)


@pytest.mark.parametrize("content, suffix, match", [(b"", ".csv", "empty"), (b"x", ".doc", "unsupported"),
                                                    (b"not a zip", ".xlsx", "Excel")])
def test_read_errors_name_the_file(tmp_path, content, suffix, match):
    p = tmp_path / f"bad{suffix}"
    p.write_bytes(content)
    with pytest.raises(SurveyReadError, match=match) as info:
        rs.read_survey(p)
    assert info.value.file == str(p)


def test_missing_file():
    with pytest.raises(SurveyReadError, match="not found"):
        rs.read_survey("no-such-file.csv")


def test_xlsx_keeps_typed_non_answer_codes(tmp_path):
    """'N/A' typed in Excel stays a code to count (as in CSV); only empty cells are missing."""
    import pandas as pd

    import recoverystudy as rs

    pd.DataFrame({"id": ["a", "b", "c"], "x": [1, "N/A", None]}).to_excel(tmp_path / "t.xlsx", index=False)
    df = rs.read_survey(tmp_path / "t.xlsx")
    assert df["x"].tolist()[:2] == [1, "N/A"] and pd.isna(df["x"].iloc[2])


def test_spelled_out_dont_know_is_a_non_answer():
    import warnings

    import pandas as pd

    import recoverystudy as rs

    items = rs.load_instrument("rsa-person").item_ids
    df = pd.DataFrame({c: [4] for c in items}, dtype=object)
    df[items[0]] = ["Don't know"]
    df[items[1]] = ["not applicable"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.errors.RecoveryStudyWarning)
        res = rs.score(df, "rsa-person").to_frame().iloc[0]
    assert res["rsa_person_total"] == 4.0
    assert res["rsa_person_total_n_answered"] == 34 and res["rsa_person_total_n_nonanswer"] == 2
