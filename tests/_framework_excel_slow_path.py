"""FrameworkMatrix.to_excel as it was before it wrote with xlsxwriter directly (pandas' to_excel), frozen.

Test helper only: tests/test_demo_cpu_exact.py checks that the workbook written now has the same parts
(sheets, cells, merged cells, shared strings, styles, column widths) as this one writes.  Do not "fix"
or speed up this file: it is the reference.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd


def to_excel(matrix, path: Path) -> Path:
    wide = matrix.to_frame()
    themes: dict[str, list[str]] = {}
    for c in matrix.codes:
        themes.setdefault(c.split("/")[0], []).append(c)
    used: set[str] = set()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        for theme, cols in themes.items():
            name = re.sub(r"[\[\]:*?/\\]", "-", matrix.theme_names.get(theme, theme))[:31]
            base, k = name, 2
            while name in used:
                name = f"{base[:28]}({k})"
                k += 1
            used.add(name)
            sheet = wide[cols].rename(columns=matrix.code_names)
            sheet.to_excel(writer, sheet_name=name)
            writer.sheets[name].set_column(0, sheet.index.nlevels + sheet.shape[1] - 1, 40)
    return path
