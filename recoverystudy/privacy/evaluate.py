"""Measure redaction against planted identifiers: recall per type and form, over-redaction of a keep-list.

Used by ``benchmarks/bench_redaction.py`` and the test that asserts the recall floors, with the seeded
plans of :func:`recoverystudy.synthetic.identifiers.identifier_plans`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recoverystudy.privacy.redact import _redact_spans

__all__ = ["RECALL_FLOORS", "KEEP_CEILING", "score_redaction"]

#: The floors a trust can rely on: share of planted identifiers of each type that must be redacted.
RECALL_FLOORS = {
    "nhs_number": 1.0,
    "phone": 1.0,
    "postcode": 1.0,
    "email": 1.0,
    "date_of_birth": 1.0,
    "name": 0.98,
}
#: At most this share of the keep-list (helplines, doses, review dates ...) may be touched.
KEEP_CEILING = 0.01


def score_redaction(plans: pd.DataFrame, items: pd.DataFrame, names=None) -> pd.DataFrame:
    """Mark each planted item redacted or not.

    An identifier counts as redacted only when every character of it lies inside a redacted span
    (a partly redacted NHS number is a leak).  A keep-list item counts as over-redacted when any of
    its characters does.

    Parameters
    ----------
    plans : DataFrame
        ``plan_id``, ``text``.
    items : DataFrame
        ``plan_id``, ``kind`` ("identifier" or "keep"), ``start``, ``end`` and any other columns.
    names : list of str, optional
        Passed to the redactor.

    Returns
    -------
    DataFrame
        *items* with a boolean column ``redacted`` (for identifiers: wholly covered; for the keep
        list: touched).

    Examples
    --------
    >>> from recoverystudy.synthetic.identifiers import identifier_plans
    >>> plans, items = identifier_plans(n_plans=5, seed=3)
    >>> scored = score_redaction(plans, items)
    >>> bool(scored.loc[scored["type"] == "email", "redacted"].all())
    True
    """
    by_plan = items.groupby("plan_id", sort=False)
    flags = pd.Series(False, index=items.index)
    for plan_id, text in zip(plans["plan_id"], plans["text"]):
        if plan_id not in by_plan.groups:
            continue
        _, spans = _redact_spans(text, names)
        covered = np.zeros(len(text) + 1, dtype=np.int8)
        for s, e, _cat, _rule in spans:
            covered[s:e] = 1
        csum = np.concatenate([[0], np.cumsum(covered)])
        rows = items.loc[by_plan.groups[plan_id]]
        n_cov = csum[rows["end"].to_numpy()] - csum[rows["start"].to_numpy()]
        length = (rows["end"] - rows["start"]).to_numpy()
        ident = (rows["kind"] == "identifier").to_numpy()
        flags.loc[rows.index] = np.where(ident, n_cov == length, n_cov > 0)
    out = items.copy()
    out["redacted"] = flags.astype(bool)
    return out
