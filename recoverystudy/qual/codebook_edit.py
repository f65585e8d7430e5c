"""Codebook edits with optimistic concurrency (mixed into :class:`~recoverystudy.qual.project.Project`).

Several people may edit one codebook at once (a project on a PostgreSQL server).  Every edit
compares the code's ``modified_at`` with the one its editor last saw -- given explicitly, or the one
this :class:`Project` read with :meth:`codes` -- and is refused with :class:`ConcurrentEditError`
naming what changed meanwhile, instead of silently overwriting somebody else's change.
"""

from __future__ import annotations

import re

from recoverystudy.errors import CodebookError, ConcurrentEditError
from recoverystudy.qual.store import utc_now

__all__ = ["CodebookEditMixin"]

_FIELDS = ("path", "name", "definition", "inclusion", "exclusion", "example", "colour")


class CodebookEditMixin:
    """``rename_code`` and ``code_version`` with optimistic concurrency."""

    def _remember_codes(self) -> None:
        rows = self._q(f"SELECT code_id, modified_at, {', '.join(_FIELDS)} FROM codes")
        self._codes_seen = {int(r[0]): (r[1], dict(zip(_FIELDS, r[2:]))) for r in rows}

    def code_version(self, code: str | int) -> str:
        """The ``modified_at`` stamp of *code*: pass it to an edit to refuse it if the code changes meanwhile.

        >>> import recoverystudy as rs, tempfile, pathlib
        >>> with rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda") as proj:
        ...     proj.code_version("risk/risk_assessment").endswith("Z")
        True
        """
        code_id = self._code_id(code)
        return self._q("SELECT modified_at FROM codes WHERE code_id = ?", (code_id,))[0][0]

    def rename_code(self, code: str | int, name: str | None = None, *, path: str | None = None,
                    expected_version: str | None = None) -> str:
        """Rename a code: its label (*name*) and/or the last part of its *path* (children follow a theme).

        Refused when someone else changed the code after its editor last saw it: the version compared
        is *expected_version* (from :meth:`code_version`), else the one this project object read with
        :meth:`codes`, else the current one.

        Returns
        -------
        str
            The code's new version stamp.

        Raises
        ------
        ConcurrentEditError
            The code was changed meanwhile; the message says by whom it was changed and what changed.
        CodebookError
            The new path is malformed or taken.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> with rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda") as proj:
        ...     _ = proj.rename_code("risk/risk_assessment", "Assessing risk", path="risk/assessing_risk")
        ...     proj.codes().set_index("path").loc["risk/assessing_risk", "name"]
        'Assessing risk'
        """
        seen_all = getattr(self, "_codes_seen", {})
        by_seen_path = {v[1]["path"]: k for k, v in seen_all.items()}
        # a code is known by the path its editor saw, even if someone else has renamed it since
        code_id = by_seen_path[code] if isinstance(code, str) and code in by_seen_path else self._code_id(code)
        seen = seen_all.get(code_id)
        if expected_version is None and seen is not None:
            expected_version = seen[0]
        with self._tx() as conn:
            row = conn.execute(f"SELECT modified_at, {', '.join(_FIELDS)}, parent_id FROM codes WHERE code_id = ?",
                               (code_id,)).fetchone()
            current = dict(zip(_FIELDS, row[1:-1]))
            if expected_version is not None and row[0] != expected_version:
                before = seen[1] if seen is not None and seen[0] == expected_version else None
                if before is not None:
                    changes = [f"{f} {before[f]!r} -> {current[f]!r}" for f in _FIELDS if before[f] != current[f]]
                    what = "; ".join(changes) or "its rules or order"
                else:
                    what = f"it is now {current['path']!r} named {current['name']!r}"
                known = before["path"] if before is not None else current["path"]
                now_as = f" (now {current['path']!r})" if known != current["path"] else ""
                raise ConcurrentEditError(
                    f"The code {known!r}{now_as} was changed by someone else at {row[0]} (after the version you "
                    f"saw, {expected_version}): {what}. Your rename was not applied; reload the codebook and "
                    f"decide again.", code_path=current["path"], version=row[0], expected=expected_version)
            new_path = current["path"]
            if path is not None and path != current["path"]:
                parts = path.split("/")
                old_parts = current["path"].split("/")
                if (len(parts) != len(old_parts) or parts[:-1] != old_parts[:-1]
                        or not re.fullmatch(r"[a-z][a-z0-9_]*", parts[-1])):
                    raise CodebookError(f"A rename keeps the code under the same theme and uses a lower-case "
                                        f"identifier: {current['path']!r} cannot become {path!r}.",
                                        file=None, code_path=path)
                if conn.execute("SELECT 1 FROM codes WHERE path = ?", (path,)).fetchone():
                    raise CodebookError(f"Code {path!r} already exists.", file=None, code_path=path)
                new_path = path
            now = utc_now()
            conn.execute("UPDATE codes SET path = ?, name = ?, modified_at = ? WHERE code_id = ?",
                         (new_path, current["name"] if name is None else name, now, code_id))
            if new_path != current["path"] and row[-1] is None:  # a theme: its codes follow
                for child_id, child_path in conn.execute("SELECT code_id, path FROM codes WHERE parent_id = ?",
                                                         (code_id,)).fetchall():
                    conn.execute("UPDATE codes SET path = ?, modified_at = ? WHERE code_id = ?",
                                 (new_path + child_path[len(current["path"]):], now, child_id))
        self._remember_codes()
        return now
