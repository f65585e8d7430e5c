"""What points at a coded segment, written into the coding log when the segment is removed.

Removing a segment cuts the links to it: its memos and the suggestion it came from keep their rows
with the segment left empty, and its places in framework-matrix summaries (chart links) go.  So
that undoing the removal gives the segment back *with* its memos, summaries and suggestion, the
removal's log row records those links (``coded by AB; links memos=3,4 charts=7 suggestions=12``);
:func:`reattach` puts back the ones that still exist and are still free.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["detach_note", "reattach"]

_LINKS = re.compile(r"; links((?: (?:memos|charts|suggestions)=\d+(?:,\d+)*)+)")
_PART = re.compile(r"(memos|charts|suggestions)=([\d,]+)")

_QUERIES = {
    "memos": "SELECT memo_id FROM memos WHERE target_type = 'segment' AND segment_id = ? ORDER BY memo_id",
    "charts": "SELECT chart_id FROM chart_segments WHERE segment_id = ? ORDER BY chart_id",
    "suggestions": "SELECT suggestion_id FROM suggestions WHERE segment_id = ? ORDER BY suggestion_id",
}


def detach_note(conn: Any, segment_id: int) -> str:
    """The ``; links …`` note for a segment about to be removed ("" when nothing points at it)."""
    parts = []
    for kind, sql in _QUERIES.items():
        ids = [int(r[0]) for r in conn.execute(sql, (segment_id,)).fetchall()]
        if ids:
            parts.append(f"{kind}={','.join(map(str, ids))}")
    return f"; links {' '.join(parts)}" if parts else ""


def reattach(conn: Any, segment_id: int, detail: str | None) -> dict[str, int]:
    """Point the links recorded in a removal's log *detail* at *segment_id* again.

    Memos and suggestions are reattached only while they point at no segment (a memo deleted or
    moved since stays as it is); chart links only to summaries that still exist.  Returns how many
    of each kind were put back.
    """
    found = _LINKS.search(detail or "")
    done = {"memos": 0, "charts": 0, "suggestions": 0}
    if found is None:
        return done
    for kind, ids in _PART.findall(found.group(1)):
        for ref in (int(i) for i in ids.split(",")):
            if kind == "memos":
                cur = conn.execute("UPDATE memos SET segment_id = ? WHERE memo_id = ? AND target_type = 'segment'"
                                   " AND segment_id IS NULL", (segment_id, ref))
            elif kind == "suggestions":
                cur = conn.execute("UPDATE suggestions SET segment_id = ? WHERE suggestion_id = ?"
                                   " AND segment_id IS NULL", (segment_id, ref))
            else:
                cur = conn.execute("INSERT INTO chart_segments(chart_id, segment_id) SELECT chart_id, ?"
                                   " FROM charts WHERE chart_id = ?", (segment_id, ref))
            done[kind] += max(int(cur.rowcount or 0), 0)
    return done
