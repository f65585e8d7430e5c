"""Reviewer agreement on an audit: Cohen's kappa from two reviewers' labels, and its result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recoverystudy.audit.rubric import RATINGS
from recoverystudy.results import Result

__all__ = ["ReviewerAgreement", "cohen_kappa_from_labels"]


def cohen_kappa_from_labels(a, b, labels=RATINGS) -> float:
    """Unweighted Cohen's kappa for two raters over nominal *labels* (NaN if undefined).

    Examples
    --------
    >>> round(cohen_kappa_from_labels(["met", "met", "not evidenced"], ["met", "partly met", "not evidenced"]), 12)
    0.5
    """
    index = {lab: i for i, lab in enumerate(labels)}
    ia = np.array([index[x] for x in a])
    ib = np.array([index[x] for x in b])
    k = len(labels)
    if len(ia) == 0:
        return float("nan")
    cm = np.zeros((k, k))
    np.add.at(cm, (ia, ib), 1)
    n = cm.sum()
    po = np.trace(cm) / n
    pe = (cm.sum(axis=1) @ cm.sum(axis=0)) / n**2
    if pe == 1:
        return float("nan")
    return float((po - pe) / (1 - pe))


@dataclass(frozen=True)
class ReviewerAgreement(Result):
    """Agreement between two reviewers who rated the same plans.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per criterion plus an ``all criteria`` row: ``criterion, n_items,
        percent_agreement, kappa`` (unweighted Cohen's kappa over the four ratings; NaN when
        undefined, e.g. both reviewers gave one rating throughout).
    reviewer_a, reviewer_b : str
    provenance : dict
    """

    table: pd.DataFrame
    reviewer_a: str
    reviewer_b: str
    provenance: dict = field(default_factory=dict, compare=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        row = self.table[self.table["criterion"] == "all criteria"].iloc[0]
        kappa = "undefined" if np.isnan(row["kappa"]) else f"{row['kappa']:.2f}"
        return (
            f"{self.reviewer_a} and {self.reviewer_b} both rated {int(row['n_items'])} plan-criterion pairs; "
            f"they agreed on {row['percent_agreement']:.0f}% (Cohen's kappa {kappa})."
        )
