"""The per-plan coverage table of an audit: which areas of life each plan gives an outcome for.

See :attr:`~recoverystudy.audit.review.CarePlanAudit.coverage`.
"""

from __future__ import annotations

import pandas as pd

from recoverystudy.audit.rubric import Rubric

__all__: list[str] = []


_COVERAGE_COLUMNS = ("plan_id", "team", "country", "criterion", "coverage", "n_covered", "n_areas", "areas")


def _coverage_frame(rubric: Rubric, results: list, plans: pd.DataFrame) -> pd.DataFrame:
    """The per-plan coverage table (see :attr:`CarePlanAudit.coverage`)."""
    labels: list[str] = []
    for crit in rubric.criteria:
        for name in crit.uses:
            ev = rubric.evidence[name]
            if ev.kind == "coverage":
                labels += [a for a, _ in ev.areas if a not in labels]
    rows = []
    if results:
        plan_ids = plans["plan_id"].to_numpy(dtype=object)
        teams = plans["team"].to_numpy(dtype=object)
        countries = plans["country"].to_numpy(dtype=object)
        for i, _, _, _, coverage in results:
            for (crit_id, name), areas in coverage.items():
                ev = rubric.evidence[name]
                row = {
                    "plan_id": plan_ids[i],
                    "team": teams[i],
                    "country": countries[i],
                    "criterion": crit_id,
                    "coverage": name,
                    "n_covered": len(areas),
                    "n_areas": len(ev.areas),
                    "areas": "; ".join(areas),
                }
                own = {a for a, _ in ev.areas}
                for a in labels:
                    row[a] = (a in areas) if a in own else None
                rows.append(row)
    out = pd.DataFrame(rows, columns=list(_COVERAGE_COLUMNS) + labels)
    for col in ("n_covered", "n_areas"):
        out[col] = out[col].astype("int64")
    return out
