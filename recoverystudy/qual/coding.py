"""Coding: segments, quotes, memos and the append-only coding log (mixed into ``Project``).

A *segment* is ``(document, start, end, code, coder)`` with code-point offsets into the document's
normalised text.  Each segment records the framework version that was current when it was coded
(``None`` before the first :meth:`~recoverystudy.qual.project.Project.freeze_framework`).  Every
change is appended to ``coding_log`` with the coder and the UTC time.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.errors import AmbiguousQuoteError, QuoteNotFoundError
from recoverystudy.qual._links import detach_note
from recoverystudy.qual.coding_bulk import BulkCodingMixin
from recoverystudy.qual.memos import MEMO_TARGETS, MemosMixin
from recoverystudy.qual.store import new_guid, new_guids, utc_now

__all__ = ["CodingMixin", "MEMO_TARGETS"]

_SEG_COLUMNS = ["segment_id", "document", "case", "code", "coder", "start", "end", "text", "context_before",
                "context_after", "framework_version", "label"]


def _int_columns(conn, exprs: list[str], tail: str, params) -> list[np.ndarray]:
    """Integer columns of a query as numpy arrays, without one Python tuple per row.

    Runs ``SELECT group_concat(e1), group_concat(e2), ... <tail>``: every aggregate sees the rows in
    the same order, so the arrays are aligned (the order itself is arbitrary; sort afterwards).  The
    expressions must be integers and never NULL (``group_concat`` skips NULLs: use ``coalesce``).
    Falls back to an ordinary fetch if the lists do not parse to equal lengths.
    """
    row = conn.execute("SELECT COUNT(*), " + ", ".join(f"group_concat({e})" for e in exprs) + " " + tail,
                       params).fetchone()
    n = int(row[0])
    if n == 0:
        return [np.empty(0, dtype=np.int64) for _ in exprs]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns (rather than raising) when a list does not parse
            cols = [np.fromstring(x, dtype=np.int64, sep=",") for x in row[1:]]  # text mode: not deprecated
    except (TypeError, ValueError, Warning):  # pragma: no cover - a non-integer value
        cols = []
    if len(cols) != len(exprs) or any(len(c) != n for c in cols):  # pragma: no cover - defensive
        rows = conn.execute("SELECT " + ", ".join(exprs) + " " + tail, params).fetchall()
        cols = [np.array(c, dtype=np.int64) for c in zip(*rows)]
    return cols


class CodingMixin(BulkCodingMixin, MemosMixin):
    """Coding, memo and log methods of :class:`~recoverystudy.qual.project.Project`."""

    # -- single segments ---------------------------------------------------------------------------
    def code(self, document: int | str, start: int, end: int, code: str, *, coder: str,
             memo: str | None = None) -> int:
        """Code ``text[start:end]`` of *document* with *code* for *coder*; returns the segment id.

        Coding the same span with the same code by the same coder again returns the existing id.

        Parameters
        ----------
        document : str or int
            Document name or id.
        start, end : int
            Code-point offsets into the normalised text, ``0 <= start < end <= n_chars``.
        code : str
            Code path such as ``"risk/risk_assessment"``.
        coder : str
            Who is coding (recorded on the segment and in the coding log).
        memo : str, optional
            An analytic memo attached to the segment.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: My mum came to the review.", name="SU01", case="SU01")
        >>> proj.code("SU01", 6, 12, "carers/carer_involvement", coder="AB")
        1
        >>> proj.segments()["text"].tolist()
        ['My mum']
        >>> proj.close()
        """
        doc_id = self._doc_id(document)
        code_id = self._code_id(code)
        n_chars = self._q("SELECT n_chars FROM documents WHERE document_id = ?", (doc_id,))[0][0]
        self._check_span(document, start, end, n_chars)
        with self._tx() as conn:
            coder_id = self._uid(coder)
            row = conn.execute(
                "SELECT segment_id FROM segments WHERE document_id = ? AND code_id = ? AND coder_id = ?"
                " AND start = ? AND end = ?", (doc_id, code_id, coder_id, int(start), int(end))).fetchone()
            if row:
                seg_id = int(row[0])
            else:
                seg_id = self._insert_segment(conn, doc_id, code_id, coder_id, int(start), int(end), coder, "code")
            if memo is not None:
                self._insert_memo(conn, memo, "segment", author_id=coder_id, segment_id=seg_id)
        return seg_id

    @staticmethod
    def _check_span(document: Any, start: Any, end: Any, n_chars: int) -> None:
        for label, val in (("start", start), ("end", end)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)):
                raise TypeError(f"Document {document!r}: {label} must be an integer offset; got {val!r}.")
        if not 0 <= start < end <= n_chars:
            raise ValueError(
                f"Document {document!r}: span {start}:{end} is outside the text or empty; "
                f"need 0 <= start < end <= {n_chars}."
            )

    @staticmethod
    def _codes_outside_frozen(conn) -> set[int]:
        """Codes that are not part of the latest frozen framework version (added since it was frozen).

        A segment under such a code was coded under the working, not yet frozen, codebook: it records
        no framework version rather than claiming a version that does not contain its code.
        """
        row = conn.execute("SELECT snapshot_json FROM framework_versions ORDER BY version DESC LIMIT 1").fetchone()
        if row is None:
            return set()
        frozen = {rec.get("path") for rec in json.loads(row[0])}
        return {int(cid) for cid, path in conn.execute("SELECT code_id, path FROM codes") if path not in frozen}

    def _insert_segment(self, conn, doc_id: int, code_id: int, coder_id: int, start: int, end: int, coder: str,
                        action: str, draft: set[int] | None = None) -> int:
        """Insert one segment and its log line; *draft* is :meth:`_codes_outside_frozen` when the caller
        inserts many segments in one transaction (computed here otherwise)."""
        now = utc_now()
        if draft is None:
            draft = self._codes_outside_frozen(conn)
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

    def _insert_segments(self, conn, spans: list[tuple[int, int, int, int]], coder_id: int, coder: str,
                         action: str, draft: set[int], now: str) -> list[int]:
        """Insert new segments ``(document_id, code_id, start, end)`` of one coder and their log lines, in
        order: the rows, ids and log rows :meth:`_insert_segment` gives one at a time (the ids come from the
        store as before, so also on the team server), in four statements instead of two per segment."""
        if not spans:
            return []
        version = conn.execute("SELECT MAX(version) FROM framework_versions").fetchone()[0]
        before = conn.execute("SELECT COALESCE(MAX(segment_id), 0) FROM segments").fetchone()[0]
        guids = new_guids(len(spans))
        conn.executemany(
            "INSERT INTO segments(guid, document_id, code_id, coder_id, start, end, framework_version, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(g, d, c, coder_id, a, b, None if c in draft else version, now) for g, (d, c, a, b) in zip(guids, spans)])
        by_guid = dict(conn.execute("SELECT guid, segment_id FROM segments WHERE segment_id > ?", (before,)).fetchall())
        ids = [int(by_guid[g]) for g in guids]
        paths = dict(conn.execute("SELECT code_id, path FROM codes").fetchall())
        conn.executemany(
            "INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(action, i, d, paths[c], a, b, coder, now) for i, (d, c, a, b) in zip(ids, spans)])
        return ids

    def find_quote(self, document: int | str, quote: str) -> list[tuple[int, int]]:
        """All ``(start, end)`` spans where *quote* occurs (exactly, else with any whitespace between words).

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_document("SU01: a care\\nplan, a care plan", name="d")
        >>> proj.find_quote("d", "care plan")
        [(8, 17), (21, 30)]
        >>> proj.close()
        """
        if not isinstance(quote, str) or not quote.strip():
            raise ValueError("The quote must be non-empty text.")
        text = self.document_text(document)
        quote = quote.strip()
        spans = []
        pos = text.find(quote)
        while pos >= 0:
            spans.append((pos, pos + len(quote)))
            pos = text.find(quote, pos + 1)
        if len(spans) <= 1:
            pattern = r"\s+".join(re.escape(w) for w in quote.split())
            loose = [m.span() for m in re.finditer(pattern, text)]
            if len(loose) > len(spans):
                spans = loose
        return spans

    def code_quote(self, document: int | str, quote: str, code: str, *, coder: str, occurrence: int | None = None,
                   memo: str | None = None) -> int:
        """Code the place where *quote* occurs in *document*; returns the segment id.

        Whitespace differences (line breaks inside a quote) are tolerated.

        Parameters
        ----------
        occurrence : int, optional
            1-based occurrence to code when the quote occurs more than once.

        Raises
        ------
        QuoteNotFoundError
            The quote does not occur (``err.document``, ``err.quote``).
        AmbiguousQuoteError
            The quote occurs several times and *occurrence* was not given (``err.count``,
            ``err.positions``).

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: The risk form. The risk form again.", name="d")
        >>> proj.code_quote("d", "risk form", "risk/risk_assessment", coder="AB")
        Traceback (most recent call last):
        ...
        recoverystudy.errors.AmbiguousQuoteError: The quote 'risk form' occurs 2 times in document 'd' (at offsets 10, 25); pass occurrence=1..2 or quote more text.
        >>> proj.code_quote("d", "risk form", "risk/risk_assessment", coder="AB", occurrence=2)
        1
        >>> proj.close()
        """
        spans = self.find_quote(document, quote)
        short = quote if len(quote) <= 60 else quote[:57] + "..."
        if not spans:
            raise QuoteNotFoundError(
                f"The quote {short!r} does not occur in document {document!r} (check spelling and punctuation).",
                document=document, quote=quote)
        if occurrence is None:
            if len(spans) > 1:
                raise AmbiguousQuoteError(
                    f"The quote {short!r} occurs {len(spans)} times in document {document!r} (at offsets "
                    f"{', '.join(str(s) for s, _ in spans[:10])}{' ...' if len(spans) > 10 else ''}); pass "
                    f"occurrence=1..{len(spans)} or quote more text.",
                    document=document, quote=quote, count=len(spans), positions=[s for s, _ in spans])
            occurrence = 1
        if not 1 <= occurrence <= len(spans):
            raise ValueError(f"occurrence must be between 1 and {len(spans)}; got {occurrence}.")
        start, end = spans[occurrence - 1]
        return self.code(document, start, end, code, coder=coder, memo=memo)

    def uncode(self, segment: int | str, start: int | None = None, end: int | None = None, code: str | None = None,
               *, coder: str, others: bool = False) -> int:
        """Remove a coding: ``uncode(segment_id, coder=...)`` or ``uncode(document, start, end, code, coder=...)``.

        With a document span, the segment of *coder* with exactly that span and code is removed.  The
        removal is logged (the log keeps the span, code and coder).  Returns the removed segment id.
        Removing another coder's segment by id needs ``others=True`` (it changes their coding and
        any agreement computed from it); the log records who removed whose coding.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: risk again", name="d")
        >>> seg = proj.code("d", 6, 10, "risk/risk_assessment", coder="AB")
        >>> proj.uncode("d", 6, 10, "risk/risk_assessment", coder="AB")
        1
        >>> len(proj.segments()), proj.coding_log()["action"].tolist()
        (0, ['code', 'uncode'])
        >>> proj.close()
        """
        if start is None and end is None and code is None:
            if isinstance(segment, bool) or not isinstance(segment, (int, np.integer)):
                raise TypeError("uncode(segment_id, coder=...) needs an integer segment id, or give "
                                "document, start, end and code.")
            row = self._q("SELECT s.segment_id, u.name FROM segments s JOIN users u ON u.user_id = s.coder_id"
                          " WHERE s.segment_id = ?", (int(segment),))
            if not row:
                raise KeyError(f"No segment {segment} in project {self.path.name}.")
            seg_id, owner = int(row[0][0]), row[0][1]
            if owner != str(coder).strip() and not others:
                raise PermissionError(f"Segment {seg_id} was coded by {owner!r}, not {coder!r}; removing another "
                                      "coder's segment changes their coding (and agreement): pass others=True "
                                      "if the team agreed to it.")
        else:
            if start is None or end is None or code is None:
                raise TypeError("uncode(document, start, end, code, coder=...) needs all of start, end and code.")
            row = self._q(
                "SELECT s.segment_id FROM segments s JOIN users u ON u.user_id = s.coder_id WHERE s.document_id = ?"
                " AND s.code_id = ? AND s.start = ? AND s.end = ? AND u.name = ?",
                (self._doc_id(segment), self._code_id(code), int(start), int(end), coder))
            if not row:
                raise KeyError(f"Coder {coder!r} has no {code!r} segment at {start}:{end} in document {segment!r}.")
            seg_id = int(row[0][0])
        with self._tx() as conn:
            self._uid(coder)
            conn.execute(
                "INSERT INTO coding_log(action, segment_id, document_id, code_path, start, end, coder, at, detail)"
                " SELECT 'uncode', s.segment_id, s.document_id, c.path, s.start, s.end, ?, ?, 'coded by ' || u.name"
                " || ? FROM segments s JOIN codes c ON c.code_id = s.code_id JOIN users u ON u.user_id = s.coder_id"
                " WHERE s.segment_id = ?", (coder, utc_now(), detach_note(conn, seg_id), seg_id))
            conn.execute("UPDATE suggestions SET segment_id = NULL WHERE segment_id = ?", (seg_id,))
            conn.execute("DELETE FROM segments WHERE segment_id = ?", (seg_id,))
        return seg_id

    # -- reading -------------------------------------------------------------------------------------
    def segments(self, code: str | None = None, case: str | None = None, coder: str | None = None,
                 site: str | None = None, *, context: int = 80) -> pd.DataFrame:
        """Coded segments with their text and surrounding context.

        Parameters
        ----------
        code : str, optional
            A code path; a theme (``"risk"``) also selects the codes under it.
        case, coder, site : str, optional
            Filter by case, coder, or the case attribute ``site``.
        context : int, default=80
            Characters of context on each side.

        Returns
        -------
        pandas.DataFrame
            ``segment_id, document, case, code, coder, start, end, text, context_before,
            context_after, framework_version, label`` ordered by document and position (``label`` is
            the name another program gave the quotation, ``""`` if none).
            ``framework_version`` is the frozen framework the segment was coded under; it is empty
            (``<NA>``) for segments coded under the working codebook: before the first
            :meth:`freeze_framework`, or with a code added since the latest freeze.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: I trust her a lot.", name="d", case="SU01")
        >>> _ = proj.code_quote("d", "trust her", "relationship/trust_and_rapport", coder="AB")
        >>> proj.segments(code="relationship")[["text", "context_before", "context_after"]].values.tolist()
        [['trust her', 'SU01: I ', ' a lot.']]
        >>> proj.close()
        """
        where, params = [], []
        if code is not None:
            self._code_id(code)
            where.append("s.code_id IN (SELECT c.code_id FROM codes c WHERE c.path = ? OR c.path LIKE ? ESCAPE '\\')")
            params += [code, code.replace("_", "\\_") + "/%"]
        if case is not None:
            self._case_id(case)
            where.append("s.document_id IN (SELECT d.document_id FROM documents d JOIN cases k ON k.case_id = d.case_id"
                         " WHERE k.name = ?)")
            params.append(case)
        if coder is not None:
            where.append("s.coder_id IN (SELECT u.user_id FROM users u WHERE u.name = ?)")
            params.append(coder)
        if site is not None:
            sites = [r[0] for r in self._q(
                "SELECT DISTINCT ca.value FROM case_attributes ca JOIN attributes a ON a.attribute_id = ca.attribute_id"
                " WHERE a.name = 'site' ORDER BY ca.value")]
            if str(site) not in sites:
                raise KeyError(f"No case has site {site!r}; the sites are "
                               f"{', '.join(map(repr, sites)) if sites else '(none: no case has a site attribute)'}.")
            where.append("s.document_id IN (SELECT d2.document_id FROM documents d2 JOIN case_attributes ca ON"
                         " ca.case_id = d2.case_id JOIN attributes a ON a.attribute_id = ca.attribute_id"
                         " WHERE a.name = 'site' AND ca.value = ?)")
            params.append(str(site))
        ctx = int(context)
        # Only integers come out of SQLite (as one comma-separated list per column, parsed by numpy);
        # names are looked up in the small tables and the text and its context are cut from each
        # document's text in Python (one string slice per value).
        seg_id, doc_id, code_id, coder_id, start, end, version = _int_columns(
            self._conn, ["s.segment_id", "s.document_id", "s.code_id", "s.coder_id", "s.start", "s.end",
                         "coalesce(s.framework_version, -1)"],
            "FROM segments s" + (" WHERE " + " AND ".join(where) if where else ""), params)
        if not len(seg_id):
            frame = pd.DataFrame([], columns=_SEG_COLUMNS)
            for col in ("segment_id", "start", "end"):
                frame[col] = frame[col].astype("int64")
            frame["framework_version"] = frame["framework_version"].astype("Int64")
            return frame
        order = np.lexsort((seg_id, end, start, doc_id))  # ORDER BY document_id, start, end, segment_id
        seg_id, doc_id, start, end, code_id, coder_id, version = (
            x[order] for x in (seg_id, doc_id, start, end, code_id, coder_id, version))
        version = pd.arrays.IntegerArray(np.where(version < 0, 0, version), version < 0)
        docs = self._segment_documents(np.unique(doc_id))
        d_ids = np.fromiter((r[0] for r in docs), dtype=np.int64, count=len(docs))
        d_pos = np.searchsorted(d_ids, doc_id)
        names = np.array([r[1] for r in docs], dtype=object)[d_pos]
        cases = np.array([r[2] for r in docs], dtype=object)[d_pos]
        texts = np.array([r[3] for r in docs], dtype=object)[d_pos].tolist()
        code_map = pd.Series(dict(self._q("SELECT code_id, path FROM codes")), dtype=object)
        user_map = pd.Series(dict(self._q("SELECT user_id, name FROM users")), dtype=object)
        a_list, b_list = start.tolist(), end.tolist()
        seg_text = [t[a:b] for t, a, b in zip(texts, a_list, b_list)]
        if ctx >= 0:
            before = [t[a - ctx if a > ctx else 0:a] for t, a in zip(texts, a_list)]
            after = [t[b:b + ctx] for t, b in zip(texts, b_list)]
        else:  # as SQLite's substr() with a negative length (the |context| characters on the inside)
            c = -ctx
            before = [t[a:a + c] for t, a in zip(texts, a_list)]
            after = [t[b - c if b > c else 0:b] for t, b in zip(texts, b_list)]
        return pd.DataFrame({
            "segment_id": seg_id, "document": names, "case": cases,
            "code": code_map.reindex(code_id).to_numpy(dtype=object),
            "coder": user_map.reindex(coder_id).to_numpy(dtype=object),
            "start": start, "end": end,
            "text": np.array(seg_text, dtype=object), "context_before": np.array(before, dtype=object),
            "context_after": np.array(after, dtype=object), "framework_version": version,
            "label": pd.Series(dict(self._q("SELECT segment_id, label FROM segments WHERE label <> ''")),
                               dtype=object).reindex(seg_id).fillna("").to_numpy(dtype=object),
        }, columns=_SEG_COLUMNS)

    def _coded_spans(self, coders: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
        """The segments of *coders* as ``document, start, end, code, coder`` (ordered as :meth:`segments`)
        and the texts of their documents by name; what inter-coder agreement needs, without the rest."""
        seg_id, doc_id, code_id, coder_id, start, end = _int_columns(
            self._conn, ["s.segment_id", "s.document_id", "s.code_id", "s.coder_id", "s.start", "s.end"],
            f"FROM segments s WHERE s.coder_id IN (SELECT u.user_id FROM users u WHERE u.name IN"
            f" ({','.join('?' * len(coders))}))", list(coders))
        order = np.lexsort((seg_id, end, start, doc_id))
        doc_id, start, end, code_id, coder_id = (x[order] for x in (doc_id, start, end, code_id, coder_id))
        docs = self._segment_documents(np.unique(doc_id))
        d_ids = np.fromiter((r[0] for r in docs), dtype=np.int64, count=len(docs))
        names = np.array([r[1] for r in docs], dtype=object)
        code_map = pd.Series(dict(self._q("SELECT code_id, path FROM codes")), dtype=object)
        user_map = pd.Series(dict(self._q("SELECT user_id, name FROM users")), dtype=object)
        frame = pd.DataFrame({
            "document": names[np.searchsorted(d_ids, doc_id)], "start": start, "end": end,
            "code": code_map.reindex(code_id).to_numpy(dtype=object),
            "coder": user_map.reindex(coder_id).to_numpy(dtype=object)},
            columns=["document", "start", "end", "code", "coder"])
        return frame, {r[1]: r[3] for r in docs}

    def _segment_documents(self, doc_ids: np.ndarray) -> list[tuple]:
        """``(document_id, name, case, text)`` of the given (sorted, unique) document ids, by id."""
        sql = ("SELECT d.document_id, d.name, k.name, d.text FROM documents d"
               " LEFT JOIN cases k ON k.case_id = d.case_id")
        n_docs = self._q("SELECT COUNT(*) FROM documents")[0][0]
        if len(doc_ids) * 4 >= n_docs:  # most documents: one scan, then keep the ones needed
            wanted = set(doc_ids.tolist())
            return [r for r in self._q(sql + " ORDER BY d.document_id") if r[0] in wanted]
        rows: list[tuple] = []
        ids = doc_ids.tolist()
        for k in range(0, len(ids), 900):
            chunk = ids[k:k + 900]
            rows += self._q(sql + f" WHERE d.document_id IN ({','.join('?' * len(chunk))})", tuple(chunk))
        return sorted(rows)

    def coding_log(self) -> pd.DataFrame:
        """The append-only log of coding changes: ``log_id, action, segment_id, document, code, start, end,
        coder, at, detail`` (``at`` is UTC).

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> len(proj.coding_log())
        0
        >>> proj.close()
        """
        rows = self._q("SELECT l.log_id, l.action, l.segment_id, d.name, l.code_path, l.start, l.end, l.coder, l.at,"
                       " l.detail FROM coding_log l LEFT JOIN documents d ON d.document_id = l.document_id"
                       " ORDER BY l.log_id")
        return pd.DataFrame(rows, columns=["log_id", "action", "segment_id", "document", "code", "start", "end",
                                           "coder", "at", "detail"])

