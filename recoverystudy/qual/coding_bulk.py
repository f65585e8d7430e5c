"""Coding many segments at once (``code_many``), mixed into :class:`~recoverystudy.qual.project.Project`.

The fast path for large imports: one transaction, vectorised look-ups of documents, codes and coders, and
segments already coded are returned rather than duplicated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recoverystudy.qual.store import new_guids, utc_now
from recoverystudy.qual.text import spoken_by_excluded

__all__ = ["BulkCodingMixin"]


class BulkCodingMixin:
    """``code_many`` of :class:`~recoverystudy.qual.project.Project`."""

    # -- bulk ----------------------------------------------------------------------------------------
    def code_many(self, frame: pd.DataFrame, *, coder: str | None = None, speakers=None,
                  exclude_speakers=None) -> list[int]:
        """Code many segments in one transaction (vectorised checks, ``executemany``).

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns ``document`` (name or id), ``start``, ``end``, ``code`` and ``coder`` (or pass
            *coder* for all rows).  Nothing is written if any row is invalid.
        speakers, exclude_speakers : iterable of str, optional
            Whose turns may be coded.  By default a row that starts in a turn of a speaker with the
            interviewer role (``proj.turns()["role"]``) is refused: questions are not data.  Pass
            ``speakers=[...]`` to allow only those speakers, or ``exclude_speakers=[...]`` to refuse
            exactly those (``exclude_speakers=[]`` allows every turn).

        Returns
        -------
        list of int
            Segment ids aligned with the rows (existing ids for spans already coded).

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: my mum and my care plan", name="d")
        >>> rows = pd.DataFrame({"document": ["d", "d"], "start": [6, 17], "end": [12, 29],
        ...                      "code": ["carers/carer_involvement", "care_planning_experience/awareness_of_plan"]})
        >>> proj.code_many(rows, coder="AB")
        [1, 2]
        >>> proj.close()
        """
        need = ["document", "start", "end", "code"] + ([] if coder is not None else ["coder"])
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise KeyError(f"code_many needs columns {need}; missing {missing}.")
        n = len(frame)
        if n == 0:
            return []
        doc_ids, n_chars, doc_col = self._resolve_documents(frame["document"], frame.index)
        codes = dict(self._q("SELECT path, code_id FROM codes"))
        code_ids = frame["code"].map(codes)
        if code_ids.isna().any():
            i = int(np.flatnonzero(code_ids.isna().to_numpy())[0])
            raise KeyError(f"Row {frame.index[i]!r}: no code {frame['code'].iloc[i]!r}; see proj.codes().")
        starts = pd.to_numeric(frame["start"]).to_numpy()
        ends = pd.to_numeric(frame["end"]).to_numpy()
        if starts.dtype.kind not in "iu" or ends.dtype.kind not in "iu":
            raise TypeError("code_many: start and end must be integer offsets.")
        invalid = ~((starts >= 0) & (starts < ends) & (ends <= n_chars))
        if invalid.any():
            i = int(np.flatnonzero(invalid)[0])
            raise ValueError(
                f"Row {frame.index[i]!r}: span {starts[i]}:{ends[i]} is outside document {doc_col(i)!r} or empty "
                f"(need 0 <= start < end <= {n_chars[i]}); {int(invalid.sum())} rows affected.")
        turns = self._q("SELECT document_id, start, end, speaker, role FROM turns ORDER BY document_id, start")
        blocked = spoken_by_excluded(turns, doc_ids, starts, speakers, exclude_speakers)
        if blocked.any():
            i = int(np.flatnonzero(blocked)[0])
            rule = ("speakers other than " + ", ".join(map(repr, speakers)) if speakers is not None else
                    "speakers " + ", ".join(map(repr, exclude_speakers)) if exclude_speakers is not None else
                    "the interviewer or facilitator")
            raise ValueError(
                f"Row {frame.index[i]!r}: span {starts[i]}:{ends[i]} of document {doc_col(i)!r} is in a turn of "
                f"{rule}; {int(blocked.sum())} rows affected. Questions are not data: drop those rows, or pass "
                f"exclude_speakers=[] if they really should be coded. Nothing was written.")
        if coder is not None:
            coder_codes, coder_names = np.zeros(n, dtype=np.int64), [coder]
        else:  # raw names in order of first appearance (users are created in that order)
            coder_codes, uniques = pd.factorize(frame["coder"].astype("str"), use_na_sentinel=False)
            coder_names = list(uniques)
        with self._tx() as conn:
            uids = [self._uid(c) for c in coder_names]
            coder_ids = np.asarray(uids, dtype=np.int64)[coder_codes]
            code_arr = code_ids.to_numpy(dtype=np.int64)
            first = conn.execute("SELECT COALESCE(MAX(segment_id), 0) + 1 FROM segments").fetchone()[0]
            last = first + n - 1
            seg_ids = np.arange(first, first + n, dtype=np.int64)
            version = conn.execute("SELECT MAX(version) FROM framework_versions").fetchone()[0]
            now = utc_now()
            # the two constants are written into the statement (an integer and our own timestamp), so
            # executemany binds only the seven per-row values
            conn.executemany(
                "INSERT INTO segments(segment_id, guid, document_id, code_id, coder_id, start, end, framework_version,"
                f" created_at) VALUES (?, ?, ?, ?, ?, ?, ?, {'NULL' if version is None else int(version)}, '{now}')"
                " ON CONFLICT(document_id, code_id, coder_id, start, end) DO NOTHING",
                zip(seg_ids.tolist(), new_guids(n), doc_ids.tolist(), code_arr.tolist(), coder_ids.tolist(),
                    starts.tolist(), ends.tolist()))
            draft = self._codes_outside_frozen(conn) if version is not None else set()
            if draft:
                marks = ",".join("?" * len(draft))
                conn.execute(f"UPDATE segments SET framework_version = NULL WHERE segment_id BETWEEN ? AND ?"
                             f" AND code_id IN ({marks})", (first, last, *sorted(draft)))
            n_new = conn.execute("SELECT COUNT(*) FROM segments WHERE segment_id BETWEEN ? AND ?",
                                 (first, last)).fetchone()[0]
            ok = np.ones(n, dtype=bool)
            out = seg_ids.copy()
            if n_new != n:  # spans already coded (before, or earlier in this frame): report the existing ids
                ok[:] = False
                got = np.fromiter((r[0] for r in conn.execute(
                    "SELECT segment_id FROM segments WHERE segment_id BETWEEN ? AND ?", (first, last))),
                    dtype=np.int64)
                ok[got - first] = True
                miss = np.flatnonzero(~ok)
                out[miss] = self._existing_segment_ids(conn, doc_ids[miss], code_arr[miss], coder_ids[miss],
                                                       starts[miss], ends[miss])
            n_ok = int(ok.sum())
            raw_by_uid = dict(zip(uids, coder_names))
            if len(raw_by_uid) == len(coder_names) and n_ok:
                # one name per coder: copy the new rows into the log inside SQLite (the log records the
                # coder name as given, the code path, the span and the time of this call)
                conn.execute(
                    "WITH names(coder_id, name) AS (VALUES " + ", ".join(["(?, ?)"] * len(raw_by_uid)) + ")"
                    " INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at)"
                    " SELECT 'code', s.segment_id, s.document_id, c.path, s.start, s.end, n.name, ?"
                    " FROM segments s JOIN codes c ON c.code_id = s.code_id JOIN names n ON n.coder_id = s.coder_id"
                    " WHERE s.segment_id BETWEEN ? AND ? ORDER BY s.segment_id",
                    [v for pair in raw_by_uid.items() for v in pair] + [now, first, last])
            elif n_ok:  # the same coder under two spellings (e.g. with a trailing space): log row by row
                paths = frame["code"].astype("str").to_numpy()
                raw = np.asarray(coder_names, dtype=object)[coder_codes]
                conn.executemany(
                    "INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at)"
                    " VALUES ('code', ?, ?, ?, ?, ?, ?, ?)",
                    zip(seg_ids[ok].tolist(), doc_ids[ok].tolist(), paths[ok].tolist(), starts[ok].tolist(),
                        ends[ok].tolist(), raw[ok].tolist(), [now] * n_ok))
        return out.tolist()

    def _resolve_documents(self, col: pd.Series, index: pd.Index):
        """Document ids and lengths for a column of document names or ids (vectorised).

        Returns ``(doc_ids, n_chars, value_at)`` where ``value_at(i)`` is row *i*'s value as given.
        Raises the ``KeyError`` of :meth:`code_many` for unknown documents.
        """
        docs = self._q("SELECT document_id, name, n_chars FROM documents")
        ids = np.fromiter((d[0] for d in docs), dtype=np.int64, count=len(docs))
        lengths = np.fromiter((d[2] for d in docs), dtype=np.int64, count=len(docs))
        kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else None
        if kind in ("i", "u"):
            pos = pd.Index(ids).get_indexer(col.to_numpy(dtype=np.int64))
        elif pd.api.types.infer_dtype(col, skipna=False) == "string":
            pos = pd.Index([d[1] for d in docs], dtype=object).get_indexer(col.to_numpy(dtype=object))
        else:  # mixed names and ids (or floats): one at a time, as given
            by_name = {name: k for k, (_, name, _) in enumerate(docs)}
            by_id = {i: k for k, (i, _, _) in enumerate(docs)}
            pos = np.fromiter((by_name.get(d, -1) if isinstance(d, str) else by_id.get(int(d), -1)
                               for d in col.tolist()), dtype=np.int64, count=len(col))

        def value_at(i: int):
            return col.iloc[[i]].tolist()[0]

        bad = np.flatnonzero(pos < 0)
        if len(bad):
            raise KeyError(f"Row {index[bad[0]]!r}: no document {value_at(int(bad[0]))!r} ({len(bad)} rows affected).")
        return ids[pos], lengths[pos], value_at

    @staticmethod
    def _existing_segment_ids(conn, doc_ids, code_ids, coder_ids, starts, ends) -> np.ndarray:
        """Segment ids of stored spans, aligned with the spans asked for; -1 where a span is not stored (one
        query per 900 documents, joined in pandas)."""
        want = pd.DataFrame({"document_id": doc_ids, "code_id": code_ids, "coder_id": coder_ids,
                             "start": starts, "end": ends}).astype("int64")
        docs = np.unique(doc_ids).tolist()
        coders = np.unique(coder_ids).tolist()
        rows: list[tuple] = []
        for k in range(0, len(docs), 900):
            chunk = docs[k:k + 900]
            rows += conn.execute(
                "SELECT document_id, code_id, coder_id, start, end, segment_id FROM segments"
                f" WHERE document_id IN ({','.join('?' * len(chunk))}) AND coder_id IN ({','.join('?' * len(coders))})",
                chunk + coders).fetchall()
        have = pd.DataFrame(rows, columns=["document_id", "code_id", "coder_id", "start", "end", "segment_id"])
        merged = want.merge(have.astype("int64"), how="left", on=["document_id", "code_id", "coder_id", "start", "end"],
                            validate="many_to_one")
        return merged["segment_id"].fillna(-1).to_numpy(dtype=np.int64)
