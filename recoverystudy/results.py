"""The base class shared by every result object.

A result is a small frozen dataclass with unrounded numbers.  Each one offers

* ``to_frame()`` - a tidy :class:`pandas.DataFrame` (one row per test, comparison or respondent);
* ``summary()`` - plain-English sentences;
* ``_repr_html_()`` - the notebook view (summary plus the table);
* ``provenance`` - a dict that records how the result was obtained (method, instrument version, key
  provenance, missing-data rule, seed, package version) so a methods section can be written from it.

Formatting belongs to these views only; the numbers stay unrounded.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from recoverystudy._version import __version__

__all__ = ["Result", "base_provenance", "frame_to_html"]


def base_provenance(method: str, **extra: Any) -> dict[str, Any]:
    """Return the provenance fields every result carries.

    Parameters
    ----------
    method : str
        Name of the procedure (for example ``"welch_anova"``).
    **extra
        Further fields (seed, instrument version, missing-data rule ...).

    Examples
    --------
    >>> p = base_provenance("welch_anova", seed=1)
    >>> p["method"], p["seed"]
    ('welch_anova', 1)
    """
    prov: dict[str, Any] = {"method": method, "package": "recoverystudy", "package_version": __version__}
    prov.update(extra)
    return prov


def frame_to_html(frame: pd.DataFrame, *, max_rows: int = 60, float_format: str = "{:.4g}") -> str:
    """Render a frame as a compact HTML table (display only; the data stay unrounded).

    Examples
    --------
    >>> "<table" in frame_to_html(pd.DataFrame({"a": [1.23456]}))
    True
    """
    styled = frame.head(max_rows)
    formatters = {
        col: (lambda v, _f=float_format: "" if pd.isna(v) else _f.format(v))
        for col in styled.columns
        if pd.api.types.is_float_dtype(styled[col])
    }
    out = styled.to_html(formatters=formatters, border=0, classes="rs-table", escape=True, na_rep="")
    if len(frame) > max_rows:
        out += f"<p><em>{len(frame) - max_rows} more rows not shown; use .to_frame().</em></p>"
    return out


class Result:
    """Mixin giving every result dataclass its notebook view.

    Subclasses implement :meth:`to_frame` and :meth:`summary`; ``_repr_html_`` combines them.
    """

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError(f"{type(self).__name__} must implement to_frame()")

    def summary(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError(f"{type(self).__name__} must implement summary()")

    def _repr_html_(self) -> str:
        title = html.escape(type(self).__name__)
        text = "".join(f"<p>{html.escape(line)}</p>" for line in self.summary().splitlines() if line.strip())
        return f"<div class='rs-result'><h4>{title}</h4>{text}{frame_to_html(self.to_frame())}</div>"

    def __str__(self) -> str:
        return self.summary()


def resolve_seed(seed: Any) -> Any:
    """Return *seed*, or a fresh random integer seed when it is None, so that the result can record it.

    A run without a seed is still reproducible: the seed actually used is written into the provenance.

    Examples
    --------
    >>> resolve_seed(7)
    7
    >>> isinstance(resolve_seed(None), int)
    True
    """
    if seed is None:
        import numpy as np

        return int(np.random.SeedSequence().entropy % (2**63))
    return seed


def excel_target(path: Any) -> Any:
    """Check an Excel output path before writing: it must end in .xlsx and its folder must exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> excel_target(pathlib.Path(tempfile.mkdtemp()) / "out.xlsx").suffix
    '.xlsx'
    """
    from pathlib import Path

    target = Path(path).expanduser()
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"{target.name}: an Excel workbook is written; give a file name ending in .xlsx.")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"The folder {target.parent} does not exist; cannot write {target.name}.")
    return target
