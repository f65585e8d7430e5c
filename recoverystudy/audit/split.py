"""``split_sections``: how the rubric's section kinds divide one care plan (for checking a rubric).

It sits above both :mod:`recoverystudy.audit.sections` (the splitting) and
:mod:`recoverystudy.audit.rubric` (which supplies the section kinds).
"""

from __future__ import annotations

import pandas as pd

from recoverystudy.audit.rubric import load_rubric
from recoverystudy.audit.sections import PlanLayout

__all__ = ["split_sections"]


def split_sections(text: str, rubric="care-plan-audit") -> pd.DataFrame:
    """Split a plan into sections by headings; one row per section with its kinds.

    Parameters
    ----------
    text : str
        The plan text (newlines normalised to ``\\n``).
    rubric : str, path-like or Rubric, default="care-plan-audit"
        Supplies the section kinds.

    Returns
    -------
    pandas.DataFrame
        Columns heading, level (1 block, 2 sub-block, 3 field), kinds, heading_start,
        content_start, end.

    Examples
    --------
    >>> t = "About me\\nI like walking.\\n\\nCrisis plan\\nWarning signs: not sleeping, not eating.\\n"
    >>> split_sections(t)[["heading", "level", "kinds"]]
             heading  level                  kinds
    0       About me      1                  about
    1    Crisis plan      1                 crisis
    2  Warning signs      3  crisis, warning_signs
    """
    rub = load_rubric(rubric)
    return PlanLayout(text, rub.sections, rub.headings).to_frame()
