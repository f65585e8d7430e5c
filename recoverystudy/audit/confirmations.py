"""Reviewer confirmations of pre-ratings, mixed into :class:`~recoverystudy.audit.review.CarePlanAudit`.

``confirm``, ``confirmations``, ``save_confirmations`` and ``load_confirmations``: a reviewer's rating is
stored beside the pre-rating (which never changes), and can be saved to and loaded from a CSV file.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd

from recoverystudy.audit.rubric import RATINGS
from recoverystudy.errors import AuditError

__all__ = ["ConfirmationsMixin"]


class ConfirmationsMixin:
    """Confirmation methods of :class:`~recoverystudy.audit.review.CarePlanAudit`."""

    # --- review ---------------------------------------------------------------------------------
    def confirm(
        self, plan: str, criterion: str, rating: str, *, reviewer: str, note: str | None = None
    ) -> None:
        """Record a reviewer's rating for one plan and criterion (confirming or changing the pre-rating).

        Parameters
        ----------
        plan : str
            Plan id (as in ``audit.plans.plan_id``).
        criterion : str
            Criterion id from the rubric.
        rating : {"met", "partly met", "not evidenced", "not applicable"}
        reviewer : str
            Who is rating (kept in the notebook; not written to shared outputs).
        note : str, optional

        Raises
        ------
        AuditError
            Unknown plan, criterion or rating, or an empty reviewer name.

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs
        >>> audit = rs.audit_care_plans(pd.DataFrame({"plan_id": ["p1"], "text": ["Review date: 1 May 2026"]}))
        >>> audit.confirm("p1", "qs14_review_date", "partly met", reviewer="AB", note="no plan date")
        >>> audit.confirmations[["plan_id", "criterion", "rating", "reviewer"]].iloc[0].tolist()
        ['p1', 'qs14_review_date', 'partly met', 'AB']
        """
        if plan not in self._texts:
            raise AuditError(f"No plan {plan!r} in this audit (plans are listed in audit.plans).", plan=plan)
        crit_ids = self.rubric.criterion_ids
        if criterion not in crit_ids:
            raise AuditError(
                f"Plan {plan!r}: unknown criterion {criterion!r}; criteria are {', '.join(crit_ids)}.",
                plan=plan,
                criterion=criterion,
            )
        if rating not in RATINGS:
            raise AuditError(
                f"Plan {plan!r}, criterion {criterion!r}: rating must be one of "
                f"{', '.join(map(repr, RATINGS))}; got {rating!r}.",
                plan=plan,
                criterion=criterion,
                value=rating,
            )
        if not isinstance(reviewer, str) or not reviewer.strip():
            raise AuditError("reviewer must be a non-empty name or initials.", plan=plan, criterion=criterion)
        self._confirmations.append(
            {
                "plan_id": plan,
                "criterion": criterion,
                "rating": rating,
                "reviewer": reviewer.strip(),
                "note": note,
                "confirmed_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            }
        )

    @property
    def confirmations(self) -> pd.DataFrame:
        cols = ["plan_id", "criterion", "rating", "reviewer", "note", "confirmed_at"]
        return pd.DataFrame(self._confirmations, columns=cols)

    def save_confirmations(self, path) -> Path:
        """Save the reviewers' confirmations to a CSV file, so review work survives the session.

        The file holds plan ids, reviewer names and notes: it is **private** working material, like
        the anonymisation log; keep it outside any folder you share.  Written atomically (a crash
        never leaves half a file); an existing file is replaced.

        Parameters
        ----------
        path : path-like
            The CSV file to write.

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import pandas as pd, recoverystudy as rs, tempfile, pathlib
        >>> plans = pd.DataFrame({"plan_id": ["p1"], "text": ["Review date: 1 May 2026"]})
        >>> audit = rs.audit_care_plans(plans)
        >>> audit.confirm("p1", "qs14_review_date", "partly met", reviewer="AB", note="no plan date")
        >>> saved = audit.save_confirmations(pathlib.Path(tempfile.mkdtemp()) / "review.csv")
        >>> again = rs.audit_care_plans(plans)
        >>> again.load_confirmations(saved)
        1
        >>> again.ratings("final").set_index("criterion").loc["qs14_review_date", "rating"]
        'partly met'
        """
        path = Path(path).expanduser()
        tmp = path.with_name(path.name + ".tmp")
        self.confirmations.to_csv(tmp, index=False)
        tmp.replace(path)
        return path

    def load_confirmations(self, path) -> int:
        """Re-apply confirmations saved by :meth:`save_confirmations` (or typed into a CSV file).

        Every row is checked as :meth:`confirm` checks it; if any row is wrong, nothing is applied
        and the error names the file, the line and the problem.  The original ``confirmed_at``
        times are kept.

        Parameters
        ----------
        path : path-like
            CSV with columns ``plan_id, criterion, rating, reviewer`` and optionally ``note`` and
            ``confirmed_at``.

        Returns
        -------
        int
            The number of confirmations applied.
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise AuditError(f"The confirmations file {str(path)!r} does not exist.", file=str(path))
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise AuditError(f"Cannot read the confirmations file {str(path)!r}: {exc}", file=str(path)) from None
        need = ["plan_id", "criterion", "rating", "reviewer"]
        missing = [c for c in need if c not in table.columns]
        if missing:
            raise AuditError(f"{path.name}: missing column(s) {', '.join(missing)}; found {', '.join(table.columns)}.",
                             file=str(path))
        before = list(self._confirmations)
        try:
            for line, row in enumerate(table.to_dict("records"), start=2):
                try:
                    self.confirm(row["plan_id"], row["criterion"], row["rating"], reviewer=row["reviewer"],
                                 note=row.get("note") or None)
                except AuditError as exc:
                    raise AuditError(f"{path.name}, line {line}: {exc}", file=str(path), line=line) from None
                if row.get("confirmed_at"):
                    self._confirmations[-1]["confirmed_at"] = row["confirmed_at"]
        except BaseException:
            self._confirmations[:] = before
            raise
        return len(table)

    def _latest(self, reviewer: str | None = None) -> pd.DataFrame:
        conf = self.confirmations
        if reviewer is not None:
            conf = conf[conf["reviewer"] == reviewer]
        return conf.drop_duplicates(["plan_id", "criterion", "reviewer"], keep="last")
