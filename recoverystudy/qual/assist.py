"""Assisted coding: keyword-in-context concordances and rule-based *suggestions*.

Nothing here codes anything by itself.  :meth:`AssistMixin.suggest` stores sentence-level suggestions;
a person turns them into coded segments with :meth:`AssistMixin.accept` (or dismisses them with
:meth:`AssistMixin.reject`, giving a reason), and both decisions go to the coding log with the person's
name; :meth:`AssistMixin.decisions` is the record of them.  Only what participants say is suggested:
turns whose speaker has the interviewer role (interviewer, researcher, moderator, facilitator) are
skipped unless ``speakers=`` or ``exclude_speakers=`` says otherwise.  Accepting every pending suggestion
in one call needs ``accept_all=True`` and is logged as such.

Words are found with :func:`recoverystudy.qual.text.word_spans` (one regular expression) and compared by
their Snowball English stems (:func:`recoverystudy.qual.text.stem`, our own implementation, equal to
nltk's); sentences come from :func:`recoverystudy.qual.text.sentence_spans`.  None of this imports nltk.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from recoverystudy.qual.store import utc_now
from recoverystudy.qual.text import last_turn_at, sentence_spans, stem, word_spans

__all__ = ["AssistMixin", "KeywordFinder", "keyword_pattern"]

_SUG_COLUMNS = ["suggestion_id", "document", "case", "code", "start", "end", "text", "rule", "status", "speaker",
                "context_before", "context_after", "decided_by", "decided_at", "reason"]
#: Characters of context shown before and after each suggestion.
CONTEXT_CHARS = 160


def speaker_filter(turns: list[tuple[str, str, int, int]], starts: np.ndarray, speakers: Iterable[str] | None,
                   exclude_speakers: Iterable[str] | None) -> tuple[np.ndarray, list[str | None]]:
    """Which positions *starts* may be suggested or coded, and who speaks there.

    *turns* are ``(speaker, role, start, end)`` in order.  A position outside every turn (a care plan,
    text before the first label) has no speaker and is kept.  Default: drop the interviewer role;
    ``speakers`` keeps only those labels; ``exclude_speakers`` drops exactly those labels instead.

    >>> import numpy as np
    >>> t = [("Interviewer", "interviewer", 0, 10), ("SU01", "participant", 11, 30)]
    >>> speaker_filter(t, np.array([2, 12]), None, None)
    (array([False,  True]), ['Interviewer', 'SU01'])
    >>> speaker_filter(t, np.array([2, 12]), None, [])[0]
    array([ True,  True])
    """
    if not turns:
        return np.ones(len(starts), bool), [None] * len(starts)
    t_start = np.array([t[2] for t in turns], dtype=np.int64)
    t_end = np.array([t[3] for t in turns], dtype=np.int64)
    i = np.searchsorted(t_start, starts, side="right") - 1
    inside = (i >= 0) & (starts < t_end[np.maximum(i, 0)] + 1)
    who = [turns[k][0] if ok else None for k, ok in zip(i.tolist(), inside.tolist())]
    roles = [turns[k][1] if ok else None for k, ok in zip(i.tolist(), inside.tolist())]
    if speakers is not None:
        keep_set = {str(x) for x in speakers}
        keep = np.array([w is not None and w in keep_set for w in who], bool)
    elif exclude_speakers is not None:
        drop = {str(x) for x in exclude_speakers}
        keep = np.array([w is None or w not in drop for w in who], bool)
    else:
        keep = np.array([r != "interviewer" for r in roles], bool)
    return keep, who


_APOSTROPHE = re.compile("['’]")


def _keyword_alternatives(keywords: Iterable[str]) -> str | None:
    """The keywords as one regex alternation (longest first; any whitespace between words; straight or
    curly apostrophes), or None if there is no keyword."""
    parts = []
    for kw in sorted({k for k in keywords if k.strip()}, key=len, reverse=True):
        # one substitution for both apostrophes (replacing one after the other rewrote the first class)
        words = [_APOSTROPHE.sub(lambda _: "['’]", re.escape(w)) for w in kw.split()]
        parts.append(r"\s+".join(words))
    return "|".join(parts) if parts else None


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive whole-word regex for literal *keywords* (any whitespace between words,
    straight or curly apostrophes).

    Examples
    --------
    >>> bool(keyword_pattern(["care plan"]).search("My Care\\nplan, yes"))
    True
    >>> keyword_pattern(["care plan"]).search("healthcare planning") is None
    True
    >>> [m.group() for m in keyword_pattern(["what i'm good at"]).finditer("What I’m good at; what I'm good at")]
    ['What I’m good at', "what I'm good at"]
    """
    body = _keyword_alternatives(keywords)
    return None if body is None else re.compile(r"(?<!\w)(?:" + body + r")(?!\w)", re.IGNORECASE)


class KeywordFinder:
    """``pattern.finditer(text)`` of a :func:`keyword_pattern`, as match start offsets, found faster.

    The whole-word pattern opens with a look-behind and ignores case, which keeps Python's regex engine
    from skipping ahead to the keyword's first letter: it tries the pattern at every character.  A
    *scout* is scanned instead and the pattern is tried only where the scout matches (resuming after
    each match, as ``finditer`` does).  Every place where the pattern matches must be a place where the
    scout matches; then exactly the matches of ``finditer`` are found:

    * for a keyword of ASCII characters (apostrophes straight or curly) the scout is the lower-cased
      keyword without the look-behind, matched case-sensitively in :func:`_fold` of the text (same length
      as the text).  A character that the case-insensitive pattern matches to an ASCII letter folds to
      that letter (Python's ``re`` matches by simple lower case, plus dotless i and long s, which
      :func:`_fold` maps), white space stays white space, and other ASCII characters match only
      themselves;
    * for other keywords the scout is the case-insensitive pattern without the look-behind, in the text.

    Examples
    --------
    >>> f = KeywordFinder("no no")
    >>> text = "xno no no; No  no"
    >>> f.starts(text, _fold(text))
    [4, 11]
    >>> [m.start() for m in keyword_pattern(["no no"]).finditer(text)]
    [4, 11]
    """

    __slots__ = ("pattern", "scout", "folded")

    def __init__(self, keyword: str):
        body = _keyword_alternatives([keyword])
        if body is None:
            raise ValueError(f"A keyword must contain more than white space; got {keyword!r}.")
        self.pattern = re.compile(r"(?<!\w)(?:" + body + r")(?!\w)", re.IGNORECASE)
        self.folded = keyword.replace("’", "'").isascii()
        if self.folded:
            self.scout = re.compile(_keyword_alternatives([keyword.lower()]))
        else:
            self.scout = re.compile(r"(?:" + body + r")(?!\w)", re.IGNORECASE)

    def starts(self, text: str, folded: str) -> list[int]:
        """Start offsets of the keyword's whole-word matches in *text* (*folded* is ``_fold(text)``), as
        ``finditer`` gives them."""
        out: list[int] = []
        pos = 0
        search, match = self.scout.search, self.pattern.match
        scanned = folded if self.folded else text
        while (hit := search(scanned, pos)) is not None:
            at = hit.start()
            m = match(text, at)           # the look-behind sees the text before *at*
            if m is None:
                pos = at + 1
            else:
                out.append(at)
                pos = m.end()             # matches are never empty: a keyword has a word
        return out


#: Letters that a case-insensitive regex matches to an ASCII letter although ``str.lower`` does not map them
#: to it (Python's re folds dotless i and long s; dotted capital I lowers to i + a combining dot).
_FOLD_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def _fold(text: str) -> str:
    """*text* lower-cased so that every match of a case-insensitive ASCII word is a plain substring."""
    return text.translate(_FOLD_TO_ASCII).lower()


def _probe(keyword: str) -> str | None:
    """The longest run of ASCII letters and digits in *keyword*, lower-cased: every match of the keyword's
    pattern contains it (in :func:`_fold` form), so a text without it cannot match.  None if there is none."""
    runs = re.findall(r"[a-z0-9]+", keyword.lower())
    runs = [r for r in runs if r.isascii()]
    return max(runs, key=len) if runs else None


class AssistMixin:
    """Concordance and suggestion methods of :class:`~recoverystudy.qual.project.Project`."""

    def _doc_rows(self, documents: Iterable | None):
        sql = "SELECT d.document_id, d.name, k.name, d.text FROM documents d LEFT JOIN cases k ON k.case_id = d.case_id"
        if documents is None:
            return self._q(sql + " ORDER BY d.document_id")
        ids = [self._doc_id(d) for d in documents]
        return [r for r in self._q(sql + " ORDER BY d.document_id") if r[0] in set(ids)]

    def kwic(self, term: str, window: int = 60, *, documents: Iterable | None = None) -> pd.DataFrame:
        """Keyword in context: every occurrence of *term* (matched by Snowball stems) with its context.

        Parameters
        ----------
        term : str
            One or more words; ``"care plans"`` also finds "care planning" and "Care plan".
        window : int, default=60
            Characters of context on each side.
        documents : iterable of str or int, optional
            Restrict to these documents.

        Returns
        -------
        pandas.DataFrame
            ``document, case, start, end, left, match, right``.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_document("SU01: The care planning meeting. My care plan is old.", name="d")
        >>> proj.kwic("care plans", window=10)[["left", "match", "right"]].values.tolist()
        [['SU01: The ', 'care planning', ' meeting. '], ['eting. My ', 'care plan', ' is old.']]
        >>> proj.close()
        """
        target = [stem(term[a:b]) for a, b in word_spans(term)]
        if not target:
            raise ValueError(f"kwic needs a term with at least one word; got {term!r}.")
        if int(window) < 0:
            raise ValueError(f"window must be >= 0; got {window}.")
        k = len(target)
        rows = []
        for _doc_id, name, case, text in self._doc_rows(documents):
            spans = word_spans(text)
            if len(spans) < k:
                continue
            stems_arr = np.array([stem(text[a:b]) for a, b in spans], dtype=object)
            hit = stems_arr[: len(spans) - k + 1] == target[0]
            for j in range(1, k):
                hit &= stems_arr[j: len(spans) - k + 1 + j] == target[j]
            for i in np.flatnonzero(hit):
                a, b = spans[i][0], spans[i + k - 1][1]
                rows.append((name, case, a, b, text[max(0, a - window):a], text[a:b], text[b:b + window]))
        frame = pd.DataFrame(rows, columns=["document", "case", "start", "end", "left", "match", "right"])
        frame[["start", "end"]] = frame[["start", "end"]].astype("int64")
        return frame

    def _rules(self, rules: Mapping | None) -> dict[int, tuple[str, dict]]:
        if hasattr(rules, "codes") and not isinstance(rules, Mapping):  # a Codebook: use its codes' rules
            rules = {c.path: {"keywords": list(c.keywords), "lemmas": list(c.lemmas)}
                     for c in rules.codes if c.keywords or c.lemmas}
        if rules is None:
            out = {}
            for code_id, path, rules_json in self._q("SELECT code_id, path, rules_json FROM codes ORDER BY sort_order"):
                r = json.loads(rules_json)
                if r.get("keywords") or r.get("lemmas"):
                    out[int(code_id)] = (path, r)
            return out
        out = {}
        for path, r in rules.items():
            if not isinstance(r, Mapping) or set(r) - {"keywords", "lemmas"}:
                raise ValueError(f"Rules for {path!r} must be a mapping with 'keywords' and/or 'lemmas'; got {r!r}.")
            for key in ("keywords", "lemmas"):
                val = r.get(key, [])
                if isinstance(val, str) or not all(isinstance(v, str) for v in val):
                    raise ValueError(f"Rules for {path!r}: {key} must be a list of strings; got {val!r}.")
            out[self._code_id(path)] = (path, {k: list(r.get(k, [])) for k in ("keywords", "lemmas")})
        return out

    def _turns_by_document(self) -> dict[int, list[tuple[str, str, int, int]]]:
        out: dict[int, list[tuple[str, str, int, int]]] = {}
        for doc_id, speaker, role, start, end in self._q(
                "SELECT document_id, speaker, role, start, end FROM turns ORDER BY document_id, turn_index"):
            out.setdefault(doc_id, []).append((speaker, role, start, end))
        return out

    def suggest(self, rules: Mapping | None = None, *, documents: Iterable | None = None,
                speakers: Iterable[str] | None = None, exclude_speakers: Iterable[str] | None = None) -> pd.DataFrame:
        """Propose sentences for codes by keyword and lemma rules; store them as *suggestions* only.

        Parameters
        ----------
        rules : mapping, optional
            ``{code_path: {"keywords": [...], "lemmas": [...]}}``; by default the rules in the
            project's codebook.
        documents : iterable, optional
            Restrict to these documents.
        speakers : iterable of str, optional
            Suggest only sentences spoken by these speaker labels (``proj.turns()["speaker"]``).
        exclude_speakers : iterable of str, optional
            Never suggest sentences by these speakers.  By default (neither given) every turn whose
            speaker has the interviewer role (``proj.turns()["role"]``) is skipped: questions are not data.

        Returns
        -------
        pandas.DataFrame
            The suggestions created by this call (columns of :meth:`suggestions`, with the speaker and
            the surrounding context).  Sentences already suggested for the same code (pending,
            accepted or rejected) are not suggested again.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> _ = proj.add_code("crisis"); _ = proj.add_code("crisis/plan")
        >>> _ = proj.add_document("SU01: I have a crisis plan. It is fine.", name="d")
        >>> proj.suggest({"crisis/plan": {"keywords": ["crisis plan"]}})[["text", "rule"]].values.tolist()
        [['SU01: I have a crisis plan.', "keyword 'crisis plan'"]]
        >>> len(proj.segments())  # nothing is coded until a person accepts
        0
        >>> proj.close()
        """
        new_rows = self._suggestion_rows(self._rules(rules), documents, speakers, exclude_speakers)
        if not new_rows:
            return self.suggestions(status=None).iloc[0:0]
        with self._tx() as conn:
            first = conn.execute("SELECT COALESCE(MAX(suggestion_id), 0) + 1 FROM suggestions").fetchone()[0]
            now = utc_now()
            conn.executemany(
                "INSERT INTO suggestions(document_id, code_id, start, end, rule, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(document_id, code_id, start, end) DO NOTHING",
                [r + (now,) for r in new_rows])
        out = self.suggestions(status=None)
        return out[out["suggestion_id"] >= first].reset_index(drop=True)

    def _suggestion_rows(self, rules: dict[int, tuple[str, dict]], documents: Iterable | None,
                         speakers: Iterable[str] | None, exclude_speakers: Iterable[str] | None
                         ) -> list[tuple[int, int, int, int, str]]:
        """``(document_id, code_id, start, end, rule)`` of every sentence the rules propose, in document order,
        then code order, then order of first hit; *rule* names the keywords and lemmas that hit, in the order
        of the code's keywords (each keyword's matches in text order), then its lemmas in text order."""
        compiled = []
        for code_id, (_path, r) in rules.items():
            finders = [(f"keyword {' '.join(kw.lower().split())!r}", KeywordFinder(kw), _probe(kw))
                       for kw in dict.fromkeys(r.get("keywords", [])) if kw.strip()]
            compiled.append((code_id, finders, {stem(w): w for w in r.get("lemmas", []) for w in [w.strip()] if w}))
        lemma_stems = {st for *_, lemma_map in compiled for st in lemma_map}
        new_rows = []
        turns = self._turns_by_document()
        for doc_id, _name, _case, text in self._doc_rows(documents):
            sents = sentence_spans(text)
            if not sents:
                continue
            starts = [a for a, _ in sents]
            ends = [b for _, b in sents]
            allowed = speaker_filter(turns.get(doc_id, []), np.array(starts, dtype=np.int64), speakers,
                                     exclude_speakers)[0].tolist()
            folded = _fold(text)   # a keyword whose probe is not in the text cannot match: no regex scan
            lemma_at = None        # stem -> start offsets of the words with that stem (only stems of a rule)
            for code_id, finders, lemma_map in compiled:
                hits: dict[int, list[str]] = {}
                for label, finder, probe in finders:
                    if probe is not None and probe not in folded:
                        continue
                    for a in finder.starts(text, folded):
                        s = bisect_right(starts, a) - 1
                        if s >= 0 and a < ends[s]:
                            hits.setdefault(s, []).append(label)
                if lemma_map:
                    if lemma_at is None:
                        lemma_at = {}
                        for a, b in word_spans(text):
                            st = stem(text[a:b])
                            if st in lemma_stems:
                                lemma_at.setdefault(st, []).append(a)
                    found = sorted((a, st) for st in lemma_map for a in lemma_at.get(st, ()))
                    for a, st in found:
                        s = bisect_right(starts, a) - 1
                        if s >= 0 and a < ends[s]:
                            hits.setdefault(s, []).append(f"lemma {lemma_map[st]!r}")
                for s, labels in hits.items():
                    if not allowed[s]:
                        continue
                    new_rows.append((doc_id, code_id, sents[s][0], sents[s][1], "; ".join(dict.fromkeys(labels))))
        return new_rows

    def suggestions(self, status: str | None = "pending") -> pd.DataFrame:
        """Stored suggestions (``status`` = "pending", "accepted", "rejected" or ``None`` for all).

        Columns ``suggestion_id, document, case, code, start, end, text, rule, status, speaker,
        context_before, context_after, decided_by, decided_at, reason``: the context is the
        :data:`CONTEXT_CHARS` characters around the sentence (read it before deciding); ``reason`` is the
        reason given when rejecting.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda", codebook=None)
        >>> list(proj.suggestions().columns)[:9]
        ['suggestion_id', 'document', 'case', 'code', 'start', 'end', 'text', 'rule', 'status']
        >>> proj.close()
        """
        n = CONTEXT_CHARS
        sql = ("SELECT g.suggestion_id, d.name, k.name, c.path, g.start, g.end,"
               " substr(d.text, g.start + 1, g.end - g.start), g.rule, g.status, g.document_id,"
               # the context before: at most n characters (CASE, not max(a, b): portable to PostgreSQL)
               f" substr(d.text, CASE WHEN g.start > {n} THEN g.start - {n} ELSE 0 END + 1,"
               f" g.start - CASE WHEN g.start > {n} THEN g.start - {n} ELSE 0 END),"
               f" substr(d.text, g.end + 1, {n}), u.name, g.decided_at, g.reason FROM suggestions g"
               " JOIN documents d ON d.document_id = g.document_id JOIN codes c ON c.code_id = g.code_id"
               " LEFT JOIN cases k ON k.case_id = d.case_id LEFT JOIN users u ON u.user_id = g.decided_by")
        params: tuple = ()
        if status is not None:
            if status not in ("pending", "accepted", "rejected"):
                raise ValueError(f"status must be 'pending', 'accepted', 'rejected' or None; got {status!r}.")
            sql += " WHERE g.status = ?"
            params = (status,)
        frame = pd.DataFrame(self._q(sql + " ORDER BY g.suggestion_id", params),
                             columns=[c if c != "speaker" else "document_id" for c in _SUG_COLUMNS])
        frame[["suggestion_id", "start", "end"]] = frame[["suggestion_id", "start", "end"]].astype("int64")
        frame.insert(frame.columns.get_loc("document_id"), "speaker", self._speaker_at(
            frame["document_id"].to_numpy(dtype=np.int64), frame["start"].to_numpy()))
        return frame.drop(columns="document_id")

    def _speaker_at(self, documents: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """The speaker of the turn that starts last at or before each position (None before the first
        turn or in a document without turns): one look-up in all turns instead of a query per row."""
        turns = self._q("SELECT document_id, start, speaker FROM turns ORDER BY document_id, start")
        out = np.full(len(documents), None, dtype=object)
        if not turns or not len(documents):
            return out
        t_doc = np.fromiter((t[0] for t in turns), dtype=np.int64, count=len(turns))
        t_start = np.fromiter((t[1] for t in turns), dtype=np.int64, count=len(turns))
        speakers = [t[2] for t in turns]
        j, ok = last_turn_at(t_doc, t_start, documents, np.asarray(starts, dtype=np.int64))
        out[:] = [speakers[k] if good else None for k, good in zip(j.tolist(), ok.tolist())]
        return out

    def _pending(self, ids) -> list[tuple]:
        if isinstance(ids, (int, np.integer)):
            ids = [ids]
        ids = [int(i) for i in ids]
        rows = {r[0]: r for r in self._q(
            f"SELECT suggestion_id, document_id, code_id, start, end, status FROM suggestions"
            f" WHERE suggestion_id IN ({','.join('?' * len(ids))})", tuple(ids))} if ids else {}
        for i in ids:
            if i not in rows:
                raise KeyError(f"No suggestion {i} in project {self.path.name}.")
            if rows[i][5] != "pending":
                raise ValueError(f"Suggestion {i} was already {rows[i][5]}; only pending suggestions can be decided.")
        return [rows[i] for i in dict.fromkeys(ids)]

    def accept(self, ids, *, coder: str, accept_all: bool = False) -> list[int]:
        """Accept suggestions: each becomes a coded segment by *coder*.  Returns the segment ids.

        Read each suggestion in its context first.  Accepting every pending suggestion in one call
        (more than one) is refused unless ``accept_all=True``; then the coding log records that they were
        accepted in bulk, without one-by-one review.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: I never had a copy of my care plan.", name="d")
        >>> sug = proj.suggest({"care_plan_document/copy_and_ownership": {"keywords": ["a copy"]}})
        >>> proj.accept(sug["suggestion_id"], coder="AB")
        [1]
        >>> proj.segments()[["code", "coder"]].values.tolist()
        [['care_plan_document/copy_and_ownership', 'AB']]
        >>> proj.close()
        """
        rows = self._pending(ids)
        n_pending = self._q("SELECT COUNT(*) FROM suggestions WHERE status = 'pending'")[0][0]
        bulk = len(rows) > 1 and len(rows) == n_pending
        if bulk and not accept_all:
            if not isinstance(coder, str) or not coder.strip():
                raise ValueError(f"A coder/author name must be a non-empty string; got {coder!r}.")
            raise ValueError(
                f"This would accept all {n_pending} pending suggestions at once. The Framework Method asks a person "
                f"to read each one in context: accept the ones that fit and reject the others with a reason "
                f"(proj.reject(ids, coder=..., reason=...)). If the team has decided to accept them all, pass "
                f"accept_all=True; the coding log will record it.")
        with self._tx() as conn:
            uid = self._uid(coder)
            now = utc_now()
            if bulk:
                conn.execute("INSERT INTO coding_log(action, coder, at, detail) VALUES ('accept', ?, ?, ?)",
                             (coder, now, f"bulk acceptance of all {len(rows)} pending suggestions "
                                          f"(accept_all=True), without one-by-one review"))
            draft = self._codes_outside_frozen(conn)
            spans = [(doc_id, code_id, start, end) for _, doc_id, code_id, start, end, _ in rows]
            cols = np.array(spans, dtype=np.int64).reshape(-1, 4)
            found = self._existing_segment_ids(conn, cols[:, 0], cols[:, 1], np.full(len(spans), uid, dtype=np.int64),
                                               cols[:, 2], cols[:, 3]).tolist()
            # spans this coder coded before keep their segment; the others are inserted, in order
            made = iter(self._insert_segments(conn, [sp for sp, f in zip(spans, found) if f < 0], uid, coder,
                                              "accept", draft, now))
            out = [f if f >= 0 else next(made) for f in found]
            conn.executemany("UPDATE suggestions SET status = 'accepted', decided_by = ?, decided_at = ?,"
                             " segment_id = ? WHERE suggestion_id = ?",
                             [(uid, now, seg, row[0]) for row, seg in zip(rows, out)])
        return out

    def reject(self, ids, *, coder: str, reason: str | None = None) -> None:
        """Reject suggestions (kept, marked rejected, logged with the reason; they are not suggested again).

        Give the *reason* ("the interviewer's question", "about her sister's plan, not hers"): it is
        kept with the suggestion and in the coding log, and :meth:`decisions` shows it.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: crisis? no.", name="d")
        >>> sug = proj.suggest({"crisis/crisis_services": {"keywords": ["crisis"]}})
        >>> proj.reject(sug["suggestion_id"], coder="AB")
        >>> proj.suggestions(status="rejected")["suggestion_id"].tolist()
        [1]
        >>> proj.close()
        """
        rows = self._pending(ids)
        with self._tx() as conn:
            uid = self._uid(coder)
            now = utc_now()
            conn.executemany("UPDATE suggestions SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ?"
                             " WHERE suggestion_id = ?", [(uid, now, reason, row[0]) for row in rows])
            conn.executemany(
                "INSERT INTO coding_log(action, document_id, code_path, start, end, coder, at, detail)"
                " VALUES ('reject', ?, (SELECT path FROM codes WHERE code_id = ?), ?, ?, ?, ?, ?)",
                [(doc_id, code_id, start, end, coder, now,
                  f"suggestion {sug_id}" + (f"; reason: {reason}" if reason else ""))
                 for sug_id, doc_id, code_id, start, end, _ in rows])

    def decisions(self) -> pd.DataFrame:
        """The record of review decisions: every accepted or rejected suggestion, who decided, when, why.

        Columns ``suggestion_id, document, code, text, speaker, status, decided_by, decided_at, reason``,
        in the order the decisions were made.

        Examples
        --------
        >>> import recoverystudy as rs, tempfile, pathlib
        >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
        >>> _ = proj.add_document("SU01: A crisis is scary. I rang the crisis team.", name="d")
        >>> sug = proj.suggest({"crisis/crisis_services": {"keywords": ["crisis"]}})
        >>> _ = proj.accept(sug["suggestion_id"].iloc[[1]], coder="AB")
        >>> proj.reject(sug["suggestion_id"].iloc[0], coder="AB", reason="not about services")
        >>> proj.decisions()[["text", "status", "reason"]].values.tolist()
        [['I rang the crisis team.', 'accepted', ''], ['SU01: A crisis is scary.', 'rejected', 'not about services']]
        >>> proj.close()
        """
        frame = self.suggestions(status=None)
        frame = frame[frame["status"] != "pending"]
        frame = frame.sort_values(["decided_at", "suggestion_id"], kind="stable").reset_index(drop=True)
        frame["reason"] = frame["reason"].fillna("").astype("str")
        return frame[["suggestion_id", "document", "code", "text", "speaker", "status", "decided_by", "decided_at",
                      "reason"]]
