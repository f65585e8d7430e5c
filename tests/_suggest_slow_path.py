"""How ``Project.suggest`` found its suggestions before the scout regex and the stem index, and how
``Project.suggestions`` found each one's speaker (a subquery per row), frozen.

Test helper only: tests/test_demo_cpu_exact.py checks that ``AssistMixin._suggestion_rows`` proposes exactly
the rows this loop proposed (one whole-word regex scan of the text per keyword, ``np.isin`` of every
word's stem per code).  Do not "fix" or speed up this file: it is the reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from recoverystudy.qual.assist import _SUG_COLUMNS, CONTEXT_CHARS, _fold, _probe, speaker_filter
from recoverystudy.qual.text import sentence_spans, stem, word_spans


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern | None:
    parts = []
    for kw in sorted({k for k in keywords if k.strip()}, key=len, reverse=True):
        # the apostrophe fix of test_keywords_with_apostrophes_match_either_apostrophe (the only change since frozen)
        words = [re.sub("['’]", lambda _: "['’]", re.escape(w)) for w in kw.split()]
        parts.append(r"\s+".join(words))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def suggestion_rows(proj, rules=None, documents=None, speakers=None, exclude_speakers=None) -> list[tuple]:
    compiled = []
    for code_id, (path, r) in proj._rules(rules).items():
        patterns = [(kw, keyword_pattern([kw]), _probe(kw))
                    for kw in dict.fromkeys(r.get("keywords", [])) if kw.strip()]
        compiled.append((code_id, path, patterns,
                         {stem(w): w for w in r.get("lemmas", []) for w in [w.strip()] if w}))
    new_rows = []
    turns = proj._turns_by_document()
    for doc_id, _name, _case, text in proj._doc_rows(documents):
        sents = sentence_spans(text)
        if not sents:
            continue
        starts = np.array([a for a, _ in sents], dtype=np.int64)
        allowed, _who = speaker_filter(turns.get(doc_id, []), starts, speakers, exclude_speakers)
        spans = stems_arr = None
        folded = _fold(text)
        for code_id, _path, pattern_list, lemma_map in compiled:
            hits: dict[int, list[str]] = {}
            for kw, pattern, probe in pattern_list:
                if probe is not None and probe not in folded:
                    continue
                for m in pattern.finditer(text):
                    s = int(np.searchsorted(starts, m.start(), side="right")) - 1
                    if s >= 0 and m.start() < sents[s][1]:
                        hits.setdefault(s, []).append(f"keyword {' '.join(kw.lower().split())!r}")
            if lemma_map:
                if spans is None:
                    spans = word_spans(text)
                    stems_arr = np.array([stem(text[a:b]) for a, b in spans], dtype=object)
                idx = np.flatnonzero(np.isin(stems_arr, list(lemma_map)))
                for i in idx:
                    a = spans[i][0]
                    s = int(np.searchsorted(starts, a, side="right")) - 1
                    if s >= 0 and a < sents[s][1]:
                        hits.setdefault(s, []).append(f"lemma {lemma_map[stems_arr[i]]!r}")
            for s, labels in hits.items():
                if not allowed[s]:
                    continue
                new_rows.append((doc_id, code_id, sents[s][0], sents[s][1], "; ".join(dict.fromkeys(labels))))
    return new_rows


def suggestions(proj, status=None) -> pd.DataFrame:
    """``Project.suggestions`` as it was: the speaker by a correlated subquery per row."""
    n = CONTEXT_CHARS
    sql = ("SELECT g.suggestion_id, d.name, k.name, c.path, g.start, g.end,"
           " substr(d.text, g.start + 1, g.end - g.start), g.rule, g.status,"
           " (SELECT t.speaker FROM turns t WHERE t.document_id = g.document_id AND t.start <= g.start"
           "  ORDER BY t.start DESC LIMIT 1),"
           f" substr(d.text, CASE WHEN g.start > {n} THEN g.start - {n} ELSE 0 END + 1,"
           f" g.start - CASE WHEN g.start > {n} THEN g.start - {n} ELSE 0 END),"
           f" substr(d.text, g.end + 1, {n}), u.name, g.decided_at, g.reason FROM suggestions g"
           " JOIN documents d ON d.document_id = g.document_id JOIN codes c ON c.code_id = g.code_id"
           " LEFT JOIN cases k ON k.case_id = d.case_id LEFT JOIN users u ON u.user_id = g.decided_by")
    params: tuple = ()
    if status is not None:
        sql += " WHERE g.status = ?"
        params = (status,)
    frame = pd.DataFrame(proj._q(sql + " ORDER BY g.suggestion_id", params), columns=_SUG_COLUMNS)
    frame[["suggestion_id", "start", "end"]] = frame[["suggestion_id", "start", "end"]].astype("int64")
    return frame
