"""Cases and their attributes as methods of :class:`~recoverystudy.qual.project.Project`.

``add_case``, ``set_attributes``, ``import_cases`` and ``cases``: a case is a person or a site; its
attributes (site, role, age band ...) are stored typed as integer, float, boolean or text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recoverystudy.qual.store import new_guid, utc_now

__all__ = ["CasesMixin"]


def _attr_type(value: Any) -> str | None:
    import numpy as np

    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, str):
        return "text"
    raise TypeError(f"Attribute values must be text, numbers or true/false; got {type(value).__name__} ({value!r}).")


def _attr_text(value: Any, kind: str) -> str:
    if kind == "boolean":
        return "1" if bool(value) else "0"
    if kind == "integer":
        return str(int(value))
    if kind == "float":
        return repr(float(value))
    return str(value)


class CasesMixin:
    """Case and attribute methods of :class:`~recoverystudy.qual.project.Project`."""

    # -- cases and attributes ----------------------------------------------------------------------
    def add_case(self, name: str, **attributes: Any) -> int:
        """Add a case (or return the existing one) and set its attributes.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> proj.add_case("SU01", site="Site A", country="England", age=34)
        1
        >>> proj.cases().to_dict("records")
        [{'case': 'SU01', 'age': 34, 'country': 'England', 'site': 'Site A'}]
        >>> proj.close()
        """
        with self._tx():
            case_id = self._case_id(name, create=True)
            self._set_attrs(case_id, name, attributes)
        return case_id

    def set_attributes(self, case: str, **attributes: Any) -> None:
        """Set (or overwrite) attributes of an existing case; ``None`` clears a value.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_case("SU01", site="Site A")
        >>> proj.set_attributes("SU01", site="Site B", role="service user")
        >>> proj.cases().loc[0, "site"]
        'Site B'
        >>> proj.close()
        """
        with self._tx():
            self._set_attrs(self._case_id(case), case, attributes)

    def _set_attrs(self, case_id: int, case: str, attributes: Mapping[str, Any]) -> None:
        now = utc_now()
        conn = self._conn
        for attr, value in attributes.items():
            kind = _attr_type(value)
            row = conn.execute("SELECT attribute_id, type FROM attributes WHERE name = ?", (attr,)).fetchone()
            if row is None:
                if kind is None:
                    continue
                cur = conn.execute(
                    "INSERT INTO attributes(guid, name, type, creator_id, created_at) VALUES (?, ?, ?, ?, ?)",
                    (new_guid(), attr, kind, self._uid(), now))
                attr_id, declared = int(cur.lastrowid), kind
            else:
                attr_id, declared = int(row[0]), row[1]
            if kind is None:
                conn.execute("DELETE FROM case_attributes WHERE case_id = ? AND attribute_id = ?", (case_id, attr_id))
                continue
            if kind != declared and not (declared == "float" and kind == "integer"):
                raise ValueError(
                    f"Case {case!r}, attribute {attr!r}: got {value!r} ({kind}); this attribute holds {declared} values."
                )
            conn.execute(
                "INSERT INTO case_attributes(case_id, attribute_id, value, modified_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(case_id, attribute_id) DO UPDATE SET value = excluded.value,"
                " modified_at = excluded.modified_at",
                (case_id, attr_id, _attr_text(value, declared), now))
        conn.execute("UPDATE cases SET modified_at = ? WHERE case_id = ?", (now, case_id))

    def import_cases(self, data: pd.DataFrame | str | Path, *, case_col: str = "case") -> list[int]:
        """Add or update many cases from a DataFrame (one row per case, other columns are attributes).

        *data* may also be the path of a CSV, Excel or SPSS file (read with
        :func:`recoverystudy.read_survey`).  Missing values leave an attribute unset.  All rows are
        written in one transaction.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> df = pd.DataFrame({"case": ["SU01", "SU02"], "site": ["A", "B"], "age": [30, None]})
        >>> proj.import_cases(df)
        [1, 2]
        >>> proj.cases()["age"].tolist()
        [30.0, nan]
        >>> proj.close()
        """
        if isinstance(data, (str, Path)):
            from recoverystudy.quant.surveys import read_survey

            data = read_survey(data)
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"import_cases needs a DataFrame or the path of a CSV/Excel/SPSS file; got "
                            f"{type(data).__name__}.")
        if case_col not in data.columns:
            raise KeyError(f"Column {case_col!r} not found; the frame has {list(data.columns)}.")
        if data[case_col].isna().any():
            raise ValueError(f"Column {case_col!r} has missing case names (rows {list(data.index[data[case_col].isna()])}).")
        if data[case_col].duplicated().any():
            raise ValueError(f"Column {case_col!r} repeats case(s) {sorted(set(data[case_col][data[case_col].duplicated()]))}.")
        attr_cols = [c for c in data.columns if c != case_col]
        ids = []
        with self._tx():
            for record in data.to_dict("records"):
                name = str(record[case_col])
                case_id = self._case_id(name, create=True)
                self._set_attrs(case_id, name, {c: record[c] for c in attr_cols})
                ids.append(case_id)
        return ids

    def cases(self) -> pd.DataFrame:
        """Cases with one column per attribute (typed: integer, float, boolean or text).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recoverystudy.qual.project import Project
        >>> proj = Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_case("SU01", site="A")
        >>> list(proj.cases().columns)
        ['case', 'site']
        >>> proj.close()
        """
        cases = self._q("SELECT case_id, name FROM cases ORDER BY case_id")
        attrs = self._q("SELECT attribute_id, name, type FROM attributes ORDER BY name")
        values = self._q("SELECT case_id, attribute_id, value FROM case_attributes")
        frame = pd.DataFrame({"case": pd.Series([c[1] for c in cases], dtype="str")})
        pos = {c[0]: i for i, c in enumerate(cases)}
        for attr_id, name, kind in attrs:
            col: list[Any] = [None] * len(cases)
            for case_id, a_id, value in values:
                if a_id == attr_id and value is not None:
                    col[pos[case_id]] = value
            series = pd.Series(col, dtype="object")
            if kind == "integer":
                series = pd.to_numeric(series).astype("Int64") if series.isna().any() else series.astype("int64")
            elif kind == "float":
                series = pd.to_numeric(series).astype("float64")
            elif kind == "boolean":
                series = series.map({"1": True, "0": False}).astype("boolean")
            else:
                series = series.astype("str")
            frame[name] = series
        return frame
