"""Survey input is never silently wrong (issue 14, item 7): read_survey -> score -> compare_sites.

Property-based tests (hypothesis) check valid random surveys against an independent numpy computation and
random malformed surveys for errors that are only RecoveryStudyError subclasses.
"""

from __future__ import annotations

import io
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import recoverystudy as rs
from recoverystudy.errors import (
    ArgumentError,
    ArgumentTypeError,
    DuplicateRespondentError,
    MissingRespondentIdError,
    RecoveryStudyError,
    RecoveryStudyWarning,
    ScoringError,
    SurveyReadError,
    UnknownScaleError,
)

QPR = rs.load_instrument("qpr-15")  # 15 items answered 0-4; total = prorated sum, at least 8 answered
ITEMS = list(QPR.item_ids)
TOTAL = QPR.column("total")
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def write(tmp_path, name: str, text: str | bytes, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def quiet_score(df, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryStudyWarning)
        return rs.score(df, *args, **kwargs)


# -- reproductions ---------------------------------------------------------------------------------------------
def test_ragged_rows_are_refused_naming_the_lines(tmp_path):
    header = "id," + ",".join(ITEMS)
    good = ",".join(["2"] * 15)
    text = "\n".join([header, "001," + good, "002," + good + ",4", "003," + good, "004," + ",".join(["2"] * 14)])
    with pytest.raises(SurveyReadError) as info:
        rs.read_survey(write(tmp_path, "r.csv", text + "\n"))
    err = info.value
    assert err.lines == [3, 5] and "line 3 has 17" in str(err) and "line 5 has 15" in str(err)
    assert "r.csv" in str(err) and err.line == 3


def test_every_row_one_field_longer_is_not_taken_as_an_index(tmp_path):
    text = "a,b\n1,2,3\n4,5,6\n"
    with pytest.raises(SurveyReadError) as info:
        rs.read_survey(write(tmp_path, "x.csv", text))
    assert info.value.lines == [2, 3]


def test_short_rows_with_quotes_are_found_too(tmp_path):
    text = 'id,note,x\n1,"a, b",2\n2,"c"\n'
    with pytest.raises(SurveyReadError) as info:
        rs.read_survey(write(tmp_path, "q.csv", text))
    assert info.value.lines == [3]


def test_ids_stay_text_and_duplicates_are_named_as_typed(tmp_path):
    rows = ["007", "7", "0007"]
    text = "id," + ",".join(ITEMS) + "\n" + "".join(f"{r}," + ",".join(["3"] * 15) + "\n" for r in rows)
    df = rs.read_survey(write(tmp_path, "ids.csv", text))
    assert df["id"].tolist() == rows
    res = quiet_score(df, "qpr-15", id_col="id")  # no false duplicate error
    assert res.frame["id"].tolist() == rows and res.frame[TOTAL].tolist() == [45.0] * 3
    text += "007," + ",".join(["1"] * 15) + "\n"
    df = rs.read_survey(write(tmp_path, "dup.csv", text))
    with pytest.raises(DuplicateRespondentError, match="'007'") as info:
        quiet_score(df, "qpr-15", id_col="id")
    assert info.value.duplicates == ["007"]


def test_numeric_ids_with_many_rows_keep_leading_zeros(tmp_path):
    n = 3000  # more rows than the type sample
    text = "id,x\n" + "".join(f"{i:05d},{i % 5}\n" for i in range(n))
    df = rs.read_survey(write(tmp_path, "many.csv", text))
    assert df["id"].iloc[[0, -1]].tolist() == ["00000", f"{n - 1:05d}"]
    assert df["x"].dtype == np.int64


def test_missing_ids_are_refused(tmp_path):
    text = "id," + ",".join(ITEMS) + "\n" + "".join(f"{r}," + ",".join(["3"] * 15) + "\n" for r in ["a", "", " ", "d"])
    df = rs.read_survey(write(tmp_path, "m.csv", text))
    with pytest.raises(MissingRespondentIdError) as info:
        quiet_score(df, "qpr-15", id_col="id")
    assert info.value.rows == [1, 2] and "2 row(s)" in str(info.value)


def test_duplicate_column_names_are_refused(tmp_path):
    text = "id,qpr_01,qpr_01\n1,2,3\n"
    with pytest.raises(SurveyReadError, match=r"duplicate column names \('qpr_01' in columns 2, 3\)"):
        rs.read_survey(write(tmp_path, "d.csv", text))
    df = pd.DataFrame([[1] * 16], columns=ITEMS + [ITEMS[0]])
    with pytest.raises(ScoringError, match="more than one column named"):
        quiet_score(df, "qpr-15")


def test_unknown_scale_names_are_refused_with_the_valid_names():
    df = pd.DataFrame([[2] * 15], columns=ITEMS)
    with pytest.raises(UnknownScaleError) as info:
        quiet_score(df, "qpr-15", min_answered={"totl": 12})
    assert info.value.unknown == ["totl"] and "'total'" in str(info.value)
    wai = rs.load_instrument("wai-sr")
    wdf = pd.DataFrame([[3] * 12], columns=wai.item_ids)
    with pytest.raises(UnknownScaleError, match="'total', 'task', 'goal', 'bond'"):
        quiet_score(wdf, "wai-sr", min_answered={"totl": 12})
    with pytest.raises(UnknownScaleError, match="'totl'"):
        quiet_score(wdf, "wai-sr", scales=["totl"])
    # a valid name still works
    assert quiet_score(wdf, "wai-sr", min_answered={"total": 12}).frame["wai_sr_total"].tolist() == [36.0]


def test_one_column_for_two_items_is_refused():
    df = pd.DataFrame([[2] * 15], columns=ITEMS)
    with pytest.raises(ScoringError, match="same column to more than one item"):
        quiet_score(df, "qpr-15", items=[ITEMS[0]] * 15)
    with pytest.raises(ScoringError, match=r"column 'qpr_01'"):
        quiet_score(df, "qpr-15", items={ITEMS[1]: ITEMS[0]})


@pytest.mark.parametrize("encoding, bom, recorded", [("utf-8", b"", "utf-8"), ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
                                                     ("utf-16", b"", "utf-16"), ("utf-16-le", b"", "utf-16-le"),
                                                     ("utf-16-be", b"", "utf-16-be"), ("cp1252", b"", "cp1252")])
def test_encodings_are_detected_and_recorded(tmp_path, encoding, bom, recorded):
    text = "id;site;note\n001;A;café – ok\n002;B;naïve\n"
    df = rs.read_survey(write(tmp_path, "e.csv", bom + text.encode(encoding)))
    assert df.attrs["encoding"] == recorded and df.attrs["delimiter"] == ";"
    assert df["note"].tolist() == ["café – ok", "naïve"] and df["id"].tolist() == ["001", "002"]


@pytest.mark.parametrize("content, what", [
    (b"PK\x03\x04" + bytes(40), "zip archive"),
    (b"\xd0\xcf\x11\xe0" + bytes(40), "old Office file"),
    (b"%PDF-1.4\n...", "PDF"),
    (bytes(range(256)) * 8, "binary"),
    (b"id,x\n1,\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\n", "binary"),
])
def test_binary_or_zip_content_named_csv_is_refused(tmp_path, content, what):
    with pytest.raises(SurveyReadError, match=what):
        rs.read_survey(write(tmp_path, "b.csv", content))


def test_a_real_workbook_renamed_csv_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(SurveyReadError, match=r"\.xlsx"):
        rs.read_survey(write(tmp_path, "renamed.csv", buf.getvalue()))


def test_argument_errors_are_named(tmp_path):
    with pytest.raises(ArgumentTypeError) as info:
        rs.read_survey(pd.NA)
    assert isinstance(info.value, TypeError) and isinstance(info.value, RecoveryStudyError)
    with pytest.raises(SurveyReadError, match="is a folder"):
        rs.read_survey(tmp_path)
    df = pd.DataFrame([[2] * 15], columns=ITEMS)
    for bad in (None, pd.NA, 3):
        with pytest.raises(ArgumentTypeError, match="instrument must be"):
            rs.score(df, bad)
    with pytest.raises(ArgumentTypeError, match="data must be a pandas DataFrame"):
        rs.score(pd.NA, "qpr-15")
    with pytest.raises(ArgumentTypeError, match="id_col"):
        rs.score(df, "qpr-15", id_col=pd.NA)
    with pytest.raises(ArgumentError, match="on_invalid"):
        rs.score(df, "qpr-15", on_invalid=pd.NA)


def test_pd_na_values_are_missing():
    df = pd.DataFrame({c: pd.array([2, pd.NA], dtype="Int64") for c in ITEMS})
    df[ITEMS[0]] = pd.array(["N/A", pd.NA], dtype=object)
    res = quiet_score(df, "qpr-15")
    assert res.frame[TOTAL].iloc[0] == pytest.approx(2 * 15)  # 14 answered, prorated: mean 2 x 15
    assert np.isnan(res.frame[TOTAL].iloc[1])
    assert res.frame[f"{TOTAL}_n_nonanswer"].tolist() == [1, 0]


def test_coded_columns_are_categorical_text_as_typed(tmp_path):
    text = "id,x,y\n1,4,2\n2,N/A,\n3, dk ,5\n"
    df = rs.read_survey(write(tmp_path, "c.csv", text))
    assert isinstance(df["x"].dtype, pd.CategoricalDtype) and df["x"].tolist() == ["4", "N/A", " dk "]
    assert df["y"].dtype == np.float64 and np.isnan(df["y"].iloc[1])


# -- property-based ----------------------------------------------------------------------------------------
CODES = ["N/A", "n/a", " N/A ", "99", "-9"]


@st.composite
def surveys(draw):
    n = draw(st.integers(min_value=6, max_value=30))
    k_sites = draw(st.integers(min_value=2, max_value=3))
    # mostly answers, some non-answer codes and blanks: most respondents are scored, some prorated, a few not
    cell = st.sampled_from(["0", "1", "2", "3", "4"] * 4 + CODES + [""] * 3)
    cells = draw(st.lists(st.lists(cell, min_size=15, max_size=15), min_size=n, max_size=n))
    sites = [("A", "B", "C")[i % k_sites] for i in range(n)]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    return cells, sites, encoding, sep


def reference_totals(cells: list[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent: answers 0-4 count, N/A (any case, spaces) and 99/-9 are non-answers, blanks missing;
    a total needs 8 of 15 answered and is the mean of the answered items x 15."""
    x = np.full((len(cells), 15), np.nan)
    na = np.zeros((len(cells), 15), dtype=int)
    for i, row in enumerate(cells):
        for j, c in enumerate(row):
            if c.strip().casefold() == "n/a" or c in ("99", "-9"):
                na[i, j] = 1
            elif c != "":
                x[i, j] = int(c)
    answered = (~np.isnan(x)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        total = np.where(answered >= 8, np.nanmean(np.where(answered[:, None] > 0, x, 0), axis=1) * 15, np.nan)
    total[answered == 0] = np.nan
    return total, answered, na.sum(axis=1)


def to_csv(cells, sites, sep, ids=None) -> str:
    ids = ids or [f"{i:03d}" for i in range(len(cells))]
    lines = [sep.join(["respondent", "site", "note", *ITEMS])]
    for rid, site, row in zip(ids, sites, cells, strict=True):
        lines.append(sep.join([rid, site, "café", *row]))
    return "\n".join(lines) + "\n"


@PROPERTY
@given(surveys())
def test_valid_surveys_equal_a_reference_computation(tmp_path_factory, survey):
    cells, sites, encoding, sep = survey
    path = tmp_path_factory.mktemp("valid") / "s.csv"
    path.write_bytes(to_csv(cells, sites, sep).encode(encoding))
    df = rs.read_survey(path)
    assert df.attrs["encoding"] == encoding and df.attrs["delimiter"] == sep
    assert df["respondent"].tolist() == [f"{i:03d}" for i in range(len(cells))]
    res = quiet_score(df, "qpr-15", id_col="respondent")
    assert res.provenance["data_source"] == {"source_file": str(path), "source_format": "csv",
                                             "encoding": encoding, "delimiter": sep}
    total, answered, n_na = reference_totals(cells)
    np.testing.assert_allclose(res.frame[TOTAL].to_numpy(), total, rtol=0, atol=1e-12)
    assert res.frame[f"{TOTAL}_n_answered"].tolist() == answered.tolist()
    assert res.frame[f"{TOTAL}_n_nonanswer"].tolist() == n_na.tolist()
    scored = pd.DataFrame({"site": sites, "total": total})
    groups = [g["total"].dropna().to_numpy() for _, g in scored.groupby("site")]
    if not all(len(g) >= 3 for g in groups) or not all(np.ptp(g) > 0 for g in groups):
        return  # too little to compare; scoring was still checked
    data = df.assign(total=res.frame[TOTAL].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryStudyWarning)
        cmp = rs.compare_sites(data, "total", "site", method="anova", posthoc=False)
    desc = cmp.descriptives.set_index("site")
    for name, g in zip(sorted(set(sites)), groups, strict=True):
        assert desc.loc[name, "n"] == len(g)
        assert desc.loc[name, "mean"] == pytest.approx(g.mean(), abs=1e-10)
        assert desc.loc[name, "sd"] == pytest.approx(g.std(ddof=1), abs=1e-10)
    f, p = stats.f_oneway(*groups)
    assert cmp.omnibus["statistic"].iloc[0] == pytest.approx(f, rel=1e-9)
    assert cmp.omnibus["p"].iloc[0] == pytest.approx(p, rel=1e-9, abs=1e-15)


MUTATIONS = ["drop_delimiter", "extra_delimiter", "duplicate_header", "invalid_value", "fraction", "binary",
             "truncate", "empty", "zip", "missing_id", "duplicate_id", "nul_byte", "bad_utf8_in_utf16"]


@PROPERTY
@given(surveys(), st.sampled_from(MUTATIONS), st.integers(min_value=0, max_value=10 ** 6))
def test_malformed_surveys_raise_only_recoverystudy_errors(tmp_path_factory, survey, mutation, where):
    cells, sites, encoding, sep = survey
    ids = [f"{i:03d}" for i in range(len(cells))]
    if mutation == "missing_id":
        ids[where % len(ids)] = ""
    elif mutation == "duplicate_id":
        ids[where % len(ids)] = ids[(where + 1) % len(ids)]
    text = to_csv(cells, sites, sep, ids)
    lines = text.split("\n")
    row = 1 + where % len(cells)
    if mutation == "drop_delimiter":
        lines[row] = lines[row].replace(sep, "", 1)
    elif mutation == "extra_delimiter":
        lines[row] = lines[row] + sep + "1"
    elif mutation == "duplicate_header":
        lines[0] = lines[0].replace(ITEMS[1], ITEMS[0])
    elif mutation == "invalid_value":
        lines[row] = lines[row] + "x"  # the last item becomes e.g. "3x"
    elif mutation == "fraction":
        lines[row] = lines[row].rsplit(sep, 1)[0] + sep + "2.5"
    raw = "\n".join(lines).encode(encoding)
    if mutation == "binary":
        raw = bytes((where * 7 + i * 13) % 256 for i in range(500))
    elif mutation == "truncate":
        raw = raw[: where % max(len(raw), 1)]
    elif mutation == "empty":
        raw = b" \n"
    elif mutation == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("s.csv", raw)
        raw = buf.getvalue()
    elif mutation == "nul_byte":
        raw = raw[:len(raw) // 2] + b"\x00" + raw[len(raw) // 2:]
    elif mutation == "bad_utf8_in_utf16":
        raw = b"\xff\xfe" + raw[:7]
    path = tmp_path_factory.mktemp("bad") / "s.csv"
    path.write_bytes(raw)
    try:
        df = rs.read_survey(path)
        res = quiet_score(df, "qpr-15", id_col="respondent")
        data = df.assign(total=res.frame[TOTAL].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RecoveryStudyWarning)
            rs.compare_sites(data, "total", "site", method="anova", posthoc=False)
    except RecoveryStudyError:
        return
    # only these mutations can leave a well-formed survey (cut at a line end, a NUL inside UTF-16 text that
    # still decodes, a file cut to its byte-order mark); every other one must have been refused
    assert mutation in ("truncate", "nul_byte", "bad_utf8_in_utf16"), f"{mutation} was accepted silently"


def test_workbooks_with_duplicate_headers_are_refused(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "q1", "q1", "q1.1"])
    ws.append(["a", 1, 2, 3])
    wb.save(tmp_path / "d.xlsx")
    with pytest.raises(SurveyReadError, match=r"'q1' in columns 2, 3"):
        rs.read_survey(tmp_path / "d.xlsx")
    ws.cell(row=1, column=3, value="q2")
    wb.save(tmp_path / "ok.xlsx")
    assert list(rs.read_survey(tmp_path / "ok.xlsx").columns) == ["id", "q1", "q2", "q1.1"]
