"""How ``Project.suggest`` found its suggestions before the scout regex and the stem index (frozen).

Test helper only: tests/test_demo_cpu_exact.py checks that ``AssistMixin._suggestion_rows`` proposes exactly
the rows this loop proposed (one whole-word regex scan of the text per keyword, ``np.isin`` of every
word's stem per code).  Do not "fix" or speed up this file: it is the reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from recoverystudy.qual.assist import _fold, _probe, speaker_filter
from recoverystudy.qual.text import sentence_spans, stem, word_spans


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern | None:
    parts = []
    for kw in sorted({k for k in keywords if k.strip()}, key=len, reverse=True):
        words = [re.escape(w).replace("'", "['’]").replace("’", "['’]") for w in kw.split()]
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
