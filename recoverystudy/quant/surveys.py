"""Read survey files: CSV, Excel (.xlsx) and SPSS (.sav, keeping value labels).

Reading is strict where a silent error would change results: a CSV row with more or fewer fields than the
header is refused naming its lines; duplicate column names are refused; text such as ``007`` is never turned
into the number 7; the encoding is detected (UTF-8 with or without a byte-order mark, UTF-16, Windows-1252) and
recorded; binary content, zip archives and spreadsheets renamed ``.csv`` are refused; ``.xlsx`` workbooks are
inflated under the archive limits of :mod:`recoverystudy._archive` before openpyxl sees them.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from recoverystudy._archive import check_zip
from recoverystudy.errors import ArgumentTypeError, SurveyReadError, UnsafeSurveyFileError

__all__ = ["read_survey"]

#: Most distinct values a column mixing numbers and typed codes may hold to be kept as a categorical.
CODED_MAX_LEVELS = 255

_MAGIC = {  # content that is certainly not a CSV, whatever the file is called
    b"PK\x03\x04": "a zip archive (an Excel .xlsx, a Word file or a .zip renamed .csv?)",
    b"PK\x05\x06": "an empty zip archive",
    b"\xd0\xcf\x11\xe0": "an old Office file (.xls/.doc); save it as .csv or .xlsx",
    b"%PDF": "a PDF",
    b"\x1f\x8b": "a gzip-compressed file",
    b"SQLite format 3\x00": "an SQLite database",
    b"$FL2": "an SPSS .sav file; name it .sav",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
_SAMPLE_ROWS = 2000
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")


def read_survey(path: str | os.PathLike, *, sheet: str | int | None = None, id_col: str | None = None
                ) -> pd.DataFrame:
    """Read a survey file into a DataFrame with one row per respondent.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``/``.tsv``/``.txt`` (UTF-8 with or without byte-order mark, UTF-16 or Windows-1252, detected;
        delimiter sniffed among ``, ; tab |``), ``.xlsx`` or ``.sav`` file.
    sheet : str or int, optional
        Excel sheet name or position (default: the first sheet).
    id_col : str, optional
        A column always kept as text (respondent ids).  Columns whose values have leading zeros (``007``) are
        kept as text anyway.

    Returns
    -------
    pandas.DataFrame
        Values exactly as stored.  In a CSV, a column whose every value is a number becomes numeric (integer
        if complete); a column that mixes numbers with typed codes such as ``N/A`` keeps the text as typed,
        as a pandas categorical (at most 255 distinct values; otherwise plain text), so that
        :func:`recoverystudy.score` can tell non-answers from empty cells quickly; other columns are text.
        Empty cells are missing.  ``df.attrs`` records ``source_file``, ``source_format``, and for CSV
        ``encoding`` and ``delimiter``; for SPSS files ``value_labels`` (``{column: {code:
        label}}``), ``column_labels`` and ``missing_ranges``.

    Raises
    ------
    SurveyReadError
        The file is missing, a folder, empty, binary, of an unsupported type, has duplicate column names or
        ragged rows (the message names the file and the lines), or cannot be parsed.
    UnsafeSurveyFileError
        An ``.xlsx`` workbook is a zip bomb (also a ``SurveyReadError``).
    ArgumentTypeError
        *path* is not a path (``None``, ``pd.NA``, a number ...).

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "s.csv").write_text("id;wai_01\\n007;4\\n012;N/A\\n", encoding="utf-8")
    >>> df = rs.read_survey(folder / "s.csv")
    >>> df["id"].tolist(), df["wai_01"].tolist(), df.attrs["encoding"]
    (['007', '012'], ['4', 'N/A'], 'utf-8')
    """
    if isinstance(path, bool) or not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a file name (str or pathlib.Path); got {path!r} "
                                f"({type(path).__name__}).", argument="path", value=path)
    p = Path(path)
    if not p.exists():
        raise SurveyReadError(f"Survey file not found: {p}", file=str(p))
    if p.is_dir():
        raise SurveyReadError(f"{p} is a folder, not a survey file; give the path of a .csv, .xlsx or .sav file "
                              f"inside it.", file=str(p))
    if id_col is not None and not isinstance(id_col, str):
        raise ArgumentTypeError(f"id_col must be a column name (str); got {id_col!r}.", argument="id_col",
                                value=id_col)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        df = _read_csv(p, id_col)
    elif suffix in (".xlsx", ".xlsm"):
        # every member inflated under the archive limits before openpyxl opens the workbook
        check_zip(p, label=p, verb="read", unsafe=UnsafeSurveyFileError,
                  corrupt=lambda message, member: SurveyReadError(
                      f"Could not read the Excel file {p}: {message}.", file=str(p), member=member))
        try:
            # as for CSV: typed codes such as "N/A" or "NA" stay text (they are non-answers to count),
            # only empty cells are missing
            first = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, engine="openpyxl", header=None,
                                  nrows=1)
            df = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, engine="openpyxl",
                               keep_default_na=False, na_values=[""],
                               dtype={id_col: str} if id_col is not None else None)
        except Exception as exc:  # openpyxl raises many types for damaged files
            raise SurveyReadError(f"Could not read the Excel file {p}: {exc}", file=str(p)) from exc
        if len(first):  # pandas renames a repeated header "q1" to "q1.1": look at the cells as typed
            _refuse_duplicate_columns(p, [str(v).strip() for v in first.iloc[0] if pd.notna(v)])
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


# ----------------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------------
def _detect_encoding(p: Path, raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM, or NUL bytes in alternate places) or Windows-1252."""
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            raise SurveyReadError(f"{p}: this is not a text file but {what}.", file=str(p))
    if raw.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    else:
        head = raw[:4096]
        nul = head.count(b"\x00")
        if nul:
            even, odd = head[0::2].count(b"\x00"), head[1::2].count(b"\x00")
            if nul > len(head) // 4 and (odd == 0 or even == 0):
                enc = "utf-16-le" if even == 0 else "utf-16-be"
            else:
                raise SurveyReadError(f"{p}: the file is binary (it contains NUL bytes), not a text survey.",
                                      file=str(p))
        else:
            enc = "utf-8"
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError:
        if enc != "utf-8":
            raise SurveyReadError(f"{p}: the file starts like {enc} text but cannot be decoded as {enc}.",
                                  file=str(p)) from None
        try:
            text = raw.decode("cp1252")
            enc = "cp1252"
        except UnicodeDecodeError as exc:
            raise SurveyReadError(f"{p}: cannot decode the text as UTF-8 or Windows-1252 ({exc}); save it as "
                                  f"UTF-8.", file=str(p)) from None
    sample = text[:65536]
    controls = sum(sample.count(c) for c in map(chr, (*range(1, 9), 11, 12, *range(14, 32), 127)))
    if controls > max(2, len(sample) // 100) or "\x00" in sample:
        raise SurveyReadError(f"{p}: the file is binary ({controls} control characters in its first "
                              f"{len(sample)}), not a text survey.", file=str(p))
    return enc


def _sniff(text: str) -> str:
    head = text[:20000]
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        first = head.split("\n", 1)[0]
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _read_csv(p: Path, id_col: str | None) -> pd.DataFrame:
    raw = p.read_bytes()
    if not re.search(rb"[^\s\x00]", raw[:1 << 20]) and not raw.strip():  # scans only leading blanks
        raise SurveyReadError(f"{p}: the file is empty.", file=str(p))
    enc = _detect_encoding(p, raw)
    text = raw.decode(enc) if enc.startswith("utf-16") else None
    head = text[:20000] if text is not None else raw[:20000].decode(enc, errors="replace")
    sep = _sniff(head)
    try:
        header = next(row for row in csv.reader(io.StringIO(head.lstrip("\ufeff")), delimiter=sep) if row)
    except (StopIteration, csv.Error) as exc:
        raise SurveyReadError(f"{p}: line 1: cannot read the header ({exc}).", file=str(p), line=1) from None
    _refuse_duplicate_columns(p, [h.strip() for h in header])
    if id_col is not None and id_col not in header:
        raise SurveyReadError(f"{p}: there is no column {id_col!r} (id_col); the columns are "
                              f"{', '.join(map(repr, header[:12]))}{' ...' if len(header) > 12 else ''}.",
                              file=str(p))
    source = io.StringIO(text) if text is not None else p
    dtypes = _column_dtypes(p, source, sep, enc if text is None else None, header, id_col)
    if text is not None:
        source.seek(0)
    try:
        # one pass of pandas' C parser; coded columns come back categorical (cheap: each is then decided from
        # its distinct values only), columns of mostly distinct values (ids, free text) as text.  A thousands
        # separator that never occurs keeps categories as the text typed (pandas would turn "007" into 7).
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(source, sep=sep, encoding=None if text is not None else enc, dtype=dtypes,
                             keep_default_na=False, na_values=[""], engine="c", thousands="\x1f", index_col=False)
        problems = [str(w.message) for w in caught if issubclass(w.category, pd.errors.ParserWarning)]
        if problems:  # pandas drops the extra fields of a row longer than the header, and says so
            raise pd.errors.ParserError(problems[0])
    except pd.errors.ParserError as exc:
        raise _ragged_error(p, raw, text, enc, sep, len(header), str(exc)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise SurveyReadError(f"{p}: cannot parse the file ({exc}).", file=str(p)) from None
    _check_field_counts(p, raw, text, enc, sep, len(header), len(df))
    df = _convert_columns(df, id_col)
    df.attrs.update(source_format="csv", encoding=enc, delimiter=sep)
    return df


def _column_dtypes(p: Path, source, sep: str, enc: str | None, header: list[str], id_col: str | None
                   ) -> dict[str, str]:
    """``"str"`` for columns whose first rows are mostly distinct (ids, free text), else ``"category"``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            sample = pd.read_csv(source, sep=sep, encoding=enc, dtype=str, keep_default_na=False, na_values=[""],
                                 nrows=_SAMPLE_ROWS, index_col=False, engine="c")
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError):
        return {name: "category" for name in header}  # the full read reports the problem
    n = len(sample)
    out = {}
    for name in sample.columns:
        distinct = sample[name].nunique(dropna=True)
        out[name] = "str" if name == id_col or (n >= 20 and distinct > n // 2) else "category"
    return out


def _refuse_duplicate_columns(p: Path, names: list[str]) -> None:
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(i)
    dups = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dups:
        shown = "; ".join(f"{n!r} in columns {', '.join(map(str, pos))}" for n, pos in dups.items())
        raise SurveyReadError(f"{p}: duplicate column names ({shown}); rename them so that each column has its "
                              f"own name (otherwise one of them would be used silently).", file=str(p),
                              duplicates=list(dups))


def _check_field_counts(p: Path, raw: bytes, text: str | None, enc: str, sep: str, k: int, n_rows: int) -> None:
    """Refuse rows with fewer fields than the header (pandas pads them silently).

    Without quote characters the delimiters are counted in one C pass: a file whose rows all have ``k``
    fields has exactly ``(k - 1) * (rows + 1)`` of them (rows with *more* fields already raised).
    """
    quote = '"' if text is not None else b'"'
    body = text if text is not None else raw
    if quote not in body:
        delim = sep if text is not None else sep.encode(enc)
        if body.count(delim) == (k - 1) * (n_rows + 1):
            return
    bad, _ = _ragged_lines(raw, text, enc, sep, k)
    if bad:
        raise _ragged(p, bad, k)


def _ragged_lines(raw: bytes, text: str | None, enc: str, sep: str, k: int) -> tuple[list[tuple[int, int]], int]:
    """(line, number of fields) of every record whose field count differs from the header's (slow path)."""
    if text is None:
        text = raw.decode(enc)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=sep)
    bad = []
    start = 1
    for row in reader:
        if row and len(row) != k:
            bad.append((start, len(row)))
        start = reader.line_num + 1
    return bad, reader.line_num


def _ragged(p: Path, bad: list[tuple[int, int]], k: int) -> SurveyReadError:
    shown = ", ".join(f"line {ln} has {n}" for ln, n in bad[:10]) + (f" ... ({len(bad)} lines)" if len(bad) > 10
                                                                      else "")
    return SurveyReadError(f"{p}: {len(bad)} row(s) do not have the {k} fields of the header ({shown}); a missing "
                           f"or extra delimiter would shift answers into the wrong columns. Fix these lines.",
                           file=str(p), line=bad[0][0], lines=[ln for ln, _ in bad])


def _ragged_error(p: Path, raw: bytes, text: str | None, enc: str, sep: str, k: int, message: str
                  ) -> SurveyReadError:
    try:
        bad, _ = _ragged_lines(raw, text, enc, sep, k)
    except csv.Error:
        bad = []
    if bad:
        return _ragged(p, bad, k)
    m = re.search(r"line (\d+)", message)
    line = int(m.group(1)) if m else None
    return SurveyReadError(f"{p}: line {line}: {message}" if line else f"{p}: {message}", file=str(p), line=line)


def _convert_columns(df: pd.DataFrame, id_col: str | None) -> pd.DataFrame:
    """Numbers where every value is a number (and none has a leading zero); else text, coded or plain.

    Works on each column's distinct values only (pandas categories), then maps the codes: no per-cell Python.
    """
    out: dict[str, object] = {}
    for col in df.columns:
        if not isinstance(df[col].dtype, pd.CategoricalDtype):
            out[col] = _convert_text(df[col], col == id_col)
            continue
        cat = df[col].array  # Categorical
        codes = np.asarray(cat.codes)
        levels = np.asarray(cat.categories, dtype=object)
        has_missing = bool(codes.size) and bool((codes < 0).any())
        if col != id_col and levels.size:
            stripped = [str(v).strip() for v in levels]
            numeric = all(_NUMBER.match(v) for v in stripped) and not any(_LEADING_ZERO.match(v) for v in stripped)
        else:
            numeric = False
        if numeric:
            nums = np.array([float(v) for v in stripped])
            integer = not has_missing and bool(np.all(nums == np.round(nums))) and bool(np.all(np.abs(nums) < 2**53))
            if integer:
                out[col] = nums.astype(np.int64)[codes]
            else:
                values = np.append(nums, np.nan)  # code -1 (missing) takes the last slot
                out[col] = values[codes]
        elif not levels.size:
            out[col] = np.full(len(codes), np.nan)
        elif (col != id_col and levels.size <= CODED_MAX_LEVELS and any(_NUMBER.match(str(v).strip()) for v in levels)
              and not all(_NUMBER.match(str(v).strip()) for v in levels)):  # numbers mixed with typed codes
            out[col] = pd.Categorical.from_codes(codes, categories=pd.Index(levels.astype(str), dtype=object))
        else:
            values = np.append(levels, None)
            out[col] = pd.array(values[codes], dtype="str")
    res = pd.DataFrame(out, index=df.index)
    res.columns = df.columns
    res.attrs = dict(df.attrs)
    return res


def _convert_text(s: pd.Series, keep_text: bool) -> pd.Series | np.ndarray:
    """A column of mostly distinct values: numbers if every value is a plain number without leading zero."""
    if keep_text or not s.notna().any():
        return s if s.notna().any() else np.full(len(s), np.nan)
    head = s.iloc[:_SAMPLE_ROWS]
    if pd.to_numeric(head, errors="coerce").notna().sum() != head.notna().sum():
        return s  # text already in the first rows: no need to try the whole column
    nums = pd.to_numeric(s, errors="coerce")
    if int(nums.notna().sum()) != int(s.notna().sum()) or not np.isfinite(nums.dropna().to_numpy(float)).all():
        return s
    present = s.dropna()
    if present.str.match(_NUMBER.pattern).all() and not present.str.match(_LEADING_ZERO.pattern).any():
        return nums
    return s
