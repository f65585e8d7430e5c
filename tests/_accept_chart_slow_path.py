"""Project.accept, Project.reject and Project.chart as they were before they wrote in batches (frozen).

Test helper only: tests/test_demo_cpu_exact.py runs the demo's review and charting once with these
(one statement per row) and once with the library's batched ``accept``/``reject``/``chart_many``, and
checks that the project files hold the same rows (ids, segments, suggestions, log lines, cells).  Do not
"fix" or speed up this file: it is the reference.
"""

from __future__ import annotations

from recoverystudy.qual.store import new_guid, utc_now


def _insert_segment(proj, conn, doc_id, code_id, coder_id, start, end, coder, action, draft):
    now = utc_now()
    version_sql = "NULL" if int(code_id) in draft else "(SELECT MAX(version) FROM framework_versions)"
    cur = conn.execute(
        "INSERT INTO segments(guid, document_id, code_id, coder_id, start, end, framework_version, created_at)"
        f" VALUES (?, ?, ?, ?, ?, ?, {version_sql}, ?)",
        (new_guid(), doc_id, code_id, coder_id, start, end, now))
    seg_id = int(cur.lastrowid)
    conn.execute(
        "INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at)"
        " VALUES (?, ?, ?, (SELECT path FROM codes WHERE code_id = ?), ?, ?, ?, ?)",
        (action, seg_id, doc_id, code_id, start, end, coder, now))
    return seg_id


def accept(proj, ids, *, coder, accept_all=False):
    rows = proj._pending(ids)
    n_pending = proj._q("SELECT COUNT(*) FROM suggestions WHERE status = 'pending'")[0][0]
    bulk = len(rows) > 1 and len(rows) == n_pending
    if bulk and not accept_all:
        raise ValueError("accept_all")
    out = []
    with proj._tx() as conn:
        uid = proj._uid(coder)
        now = utc_now()
        if bulk:
            conn.execute("INSERT INTO coding_log(action, coder, at, detail) VALUES ('accept', ?, ?, ?)",
                         (coder, now, f"bulk acceptance of all {len(rows)} pending suggestions "
                                      f"(accept_all=True), without one-by-one review"))
        draft = proj._codes_outside_frozen(conn)
        for sug_id, doc_id, code_id, start, end, _ in rows:
            existing = conn.execute(
                "SELECT segment_id FROM segments WHERE document_id = ? AND code_id = ? AND coder_id = ?"
                " AND start = ? AND end = ?", (doc_id, code_id, uid, start, end)).fetchone()
            seg = int(existing[0]) if existing else _insert_segment(proj, conn, doc_id, code_id, uid, start, end,
                                                                    coder, "accept", draft)
            conn.execute("UPDATE suggestions SET status = 'accepted', decided_by = ?, decided_at = ?,"
                         " segment_id = ? WHERE suggestion_id = ?", (uid, now, seg, sug_id))
            out.append(seg)
    return out


def reject(proj, ids, *, coder, reason=None):
    rows = proj._pending(ids)
    with proj._tx() as conn:
        uid = proj._uid(coder)
        now = utc_now()
        for sug_id, doc_id, code_id, start, end, _ in rows:
            conn.execute("UPDATE suggestions SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ?"
                         " WHERE suggestion_id = ?", (uid, now, reason, sug_id))
            conn.execute(
                "INSERT INTO coding_log(action, document_id, code_path, start, end, coder, at, detail)"
                " VALUES ('reject', ?, (SELECT path FROM codes WHERE code_id = ?), ?, ?, ?, ?, ?)",
                (doc_id, code_id, start, end, coder, now,
                 f"suggestion {sug_id}" + (f"; reason: {reason}" if reason else "")))


def chart(proj, case, code, summary, *, segments=(), author=None, automatic=False):
    if not isinstance(summary, str) or not summary.strip():
        raise ValueError("A chart summary must be non-empty text; leave the cell uncharted instead.")
    case_id = proj._case_id(case)
    code_id = proj._code_id(code)
    seg_ids = [int(s) for s in dict.fromkeys(segments)]
    if seg_ids:
        rows = {r[0]: r[1:] for r in proj._q(
            f"SELECT s.segment_id, k.name, c.path FROM segments s JOIN documents d ON d.document_id = s.document_id"
            f" LEFT JOIN cases k ON k.case_id = d.case_id JOIN codes c ON c.code_id = s.code_id"
            f" WHERE s.segment_id IN ({','.join('?' * len(seg_ids))})", tuple(seg_ids))}
        for s in seg_ids:
            if s not in rows:
                raise KeyError(f"No segment {s} in project {proj.path.name}.")
            seg_case, seg_code = rows[s]
            if seg_case != case:
                raise ValueError(f"Segment {s} belongs to case {seg_case!r}, not {case!r}.")
            if not (seg_code == code or seg_code.startswith(code + "/")):
                raise ValueError(f"Segment {s} is coded {seg_code!r}, not {code!r}.")
        asked = [r[0] for r in proj._q(
            f"SELECT s.segment_id FROM segments s JOIN turns t ON t.document_id = s.document_id AND t.start <="
            f" s.start AND s.start < t.end WHERE t.role = 'interviewer' AND s.segment_id IN"
            f" ({','.join('?' * len(seg_ids))})", tuple(seg_ids))]
        if asked:
            raise ValueError(f"Segment(s) {sorted(asked)} are in an interviewer's or facilitator's turn: a chart "
                             f"quotes what participants said, not the questions.")
    who = author or proj.user
    with proj._tx() as conn:
        uid = proj._uid(who)
        now = utc_now()
        row = conn.execute("SELECT chart_id, automatic FROM charts WHERE case_id = ? AND code_id = ?",
                           (case_id, code_id)).fetchone()
        if row and automatic and not row[1]:
            raise ValueError(f"The cell {case} x {code} has a researcher's summary; an automatic summary never "
                             f"replaces it.")
        if row:
            chart_id = int(row[0])
            conn.execute("UPDATE charts SET summary = ?, author_id = ?, modified_at = ?, automatic = ?"
                         " WHERE chart_id = ?", (summary, uid, now, int(bool(automatic)), chart_id))
            conn.execute("DELETE FROM chart_segments WHERE chart_id = ?", (chart_id,))
        else:
            chart_id = int(conn.execute(
                "INSERT INTO charts(guid, case_id, code_id, summary, author_id, created_at, modified_at, automatic)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (new_guid(), case_id, code_id, summary, uid, now, now, int(bool(automatic)))).lastrowid)
        conn.executemany("INSERT INTO chart_segments(chart_id, segment_id) VALUES (?, ?)",
                         [(chart_id, s) for s in seg_ids])
        conn.execute("INSERT INTO coding_log(action, code_path, coder, at, detail) VALUES ('chart', ?, ?, ?, ?)",
                     (code, who, now, f"case {case}; segments {seg_ids}" + ("; automatic" if automatic else "")))
    return chart_id
