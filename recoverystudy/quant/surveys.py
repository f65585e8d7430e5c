"""Read survey files: CSV, Excel (.xlsx) and SPSS (.sav, keeping value labels)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from recoverystudy.errors import SurveyReadError

__all__ = ["read_survey"]

_ENCODINGS = ("utf-8-sig", "cp1252")


def read_survey(path: str | os.PathLike, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a survey file into a DataFrame with one row per respondent.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` (UTF-8, UTF-8 with BOM or Windows-1252; delimiter sniffed among ``, ; tab``),
        ``.xlsx`` or ``.sav`` file.
    sheet : str or int, optional
        Excel sheet name or position (default: the first sheet).

    Returns
    -------
    pandas.DataFrame
        Values exactly as stored: numeric codes stay numbers, so non-answer codes such as 9 or 99
        are recognised by :func:`recoverystudy.score`. ``df.attrs`` records ``source_file``,
        ``source_format`` and ``encoding`` (CSV); for SPSS files also ``value_labels``
        (``{column: {code: label}}``) and ``column_labels``.

    Raises
    ------
    SurveyReadError
        The file is missing, of an unsupported type, or cannot be parsed (the message names the
        file and, for CSV, the line).

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "s.csv").write_text("id;wai_01\\nR1;4\\nR2;N/A\\n", encoding="utf-8")
    >>> df = rs.read_survey(folder / "s.csv")
    >>> df["wai_01"].tolist(), df.attrs["encoding"]
    (['4', 'N/A'], 'utf-8-sig')
    """
    p = Path(path)
    if not p.exists():
        raise SurveyReadError(f"Survey file not found: {p}", file=str(p))
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        df = _read_csv(p)
    elif suffix in (".xlsx", ".xlsm"):
        try:
            # as for CSV: typed codes such as "N/A" or "NA" stay text (they are non-answers to count),
            # only empty cells are missing
            df = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, engine="openpyxl",
                               keep_default_na=False, na_values=[""])
        except Exception as exc:  # openpyxl raises many types for damaged files
            raise SurveyReadError(f"Could not read the Excel file {p}: {exc}", file=str(p)) from exc
        df.attrs.update(source_format="xlsx")
    elif suffix == ".sav":
        try:
            import pyreadstat
        except ModuleNotFoundError as exc:  # pragma: no cover - core dependency
            raise ModuleNotFoundError("Reading SPSS files needs pyreadstat: pip install pyreadstat") from exc
        try:
            df, meta = pyreadstat.read_sav(str(p), apply_value_formats=False, user_missing=True)
        except Exception as exc:
            raise SurveyReadError(f"Could not read the SPSS file {p}: {exc}", file=str(p)) from exc
        df.attrs.update(
            source_format="sav",
            value_labels={col: dict(meta.variable_value_labels[col]) for col in meta.variable_value_labels},
            column_labels=dict(zip(meta.column_names, meta.column_labels, strict=False)),
            missing_ranges=dict(getattr(meta, "missing_ranges", {}) or {}),
        )
    else:
        raise SurveyReadError(
            f"{p.name}: unsupported survey file type {suffix or '(none)'}; use .csv, .xlsx or .sav.", file=str(p))
    df.attrs["source_file"] = str(p)
    return df


def _read_csv(p: Path) -> pd.DataFrame:
    raw = p.read_bytes()
    if not raw.strip():
        raise SurveyReadError(f"{p}: the file is empty.", file=str(p))
    last_exc: Exception | None = None
    for enc in _ENCODINGS:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError as exc:
            last_exc = exc
            continue
        try:
            dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t")
            sep = dialect.delimiter
        except csv.Error:
            sep = ","
        try:
            df = pd.read_csv(p, sep=sep, encoding=enc, dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.ParserError as exc:
            line = _line_of(str(exc))
            raise SurveyReadError(f"{p}: line {line}: {exc}" if line else f"{p}: {exc}", file=str(p), line=line
                                  ) from exc
        df = _numeric_where_possible(df)
        df.attrs.update(source_format="csv", encoding=enc, delimiter=sep)
        return df
    raise SurveyReadError(f"{p}: cannot decode the text ({last_exc}); save it as UTF-8.", file=str(p))


def _line_of(message: str) -> int | None:
    import re

    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def _numeric_where_possible(df: pd.DataFrame) -> pd.DataFrame:
    """Convert columns whose every non-empty value is a number; leave mixed columns as text."""
    out = {}
    for col in df.columns:
        s = df[col]
        conv = pd.to_numeric(s, errors="coerce")
        out[col] = conv if (conv.notna() == s.notna()).all() else s
    res = pd.DataFrame(out, index=df.index)
    res.attrs = dict(df.attrs)
    return res
