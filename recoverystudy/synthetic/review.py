"""A SIMULATED reviewer and second coder for the synthetic study (teaching and the demo only).

With real data a person reads every suggestion in its context and decides; these functions stand in for
that person so that the demo and the notebooks can show the *method* (review, reject with a reason,
double-code a blind subset, measure agreement) on invented interviews.  They use the themes planted in
each synthetic transcript (the ``themes`` column of ``study.interviews``), which a real reviewer would not
have: they are labelled SIMULATED wherever their output appears.

>>> import numpy as np, pandas as pd
>>> sug = pd.DataFrame({"suggestion_id": [1, 2], "document": ["A_interview", "A_interview"],
...                     "code": ["risk/risk_assessment", "crisis/crisis_plan"], "text": ["x y z w v", "a b c d e"]})
>>> iv = pd.DataFrame({"name": ["A_interview"], "themes": ["risk;recovery"]})
>>> accept, reject = simulated_review(sug, iv, np.random.default_rng(0))
>>> accept, reject["reason"].tolist()
([1], ['the participant mentions it in passing; this theme is not discussed here'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CODEBOOK_THEME", "simulated_review", "simulated_second_coder"]

#: Planted theme id (synthetic transcripts) -> theme id in the care-planning codebook.
CODEBOOK_THEME = {"care_planning": "care_planning_experience", "carer_involvement": "carers",
                  "coordinator_role": "care_coordinator_role"}
PASSING = "the participant mentions it in passing; this theme is not discussed here"
TOO_SHORT = "too short to carry the code's meaning out of context"


def simulated_review(suggestions: pd.DataFrame, interviews: pd.DataFrame, rng: np.random.Generator,
                     *, p_short_reject: float = 0.5) -> tuple[list[int], pd.DataFrame]:
    """Decide suggestions as a SIMULATED reviewer would: ``(ids to accept, rejections with reasons)``.

    A suggestion is rejected when its code's theme was not planted in that transcript (the keyword is
    used in passing) and, with probability *p_short_reject*, when the sentence has fewer than five words;
    every other suggestion is accepted.

    Parameters
    ----------
    suggestions : pandas.DataFrame
        ``proj.suggestions()``: ``suggestion_id, document, code, text``.
    interviews : pandas.DataFrame
        ``name`` (the document name) and ``themes`` (``;``-separated planted theme ids).
    rng : numpy.random.Generator
    """
    planted = {n: {CODEBOOK_THEME.get(t, t) for t in str(th).split(";") if t}
               for n, th in zip(interviews["name"], interviews["themes"])}
    theme = suggestions["code"].astype(str).str.split("/").str[0]
    in_passing = np.array([t not in planted.get(d, set()) for d, t in zip(suggestions["document"], theme)], bool)
    short = (suggestions["text"].astype(str).str.split().str.len() < 5).to_numpy()
    short = short & (rng.random(len(suggestions)) < p_short_reject)
    reject = in_passing | short
    reasons = np.where(in_passing, PASSING, TOO_SHORT)[reject]
    ids = suggestions["suggestion_id"].astype(int).to_numpy()
    return ids[~reject].tolist(), pd.DataFrame({"suggestion_id": ids[reject], "reason": reasons})


def simulated_second_coder(segments: pd.DataFrame, codes: pd.DataFrame, rng: np.random.Generator, *,
                           share: float = 0.2, p_same: float = 0.85, p_other: float = 0.08
                           ) -> tuple[list[str], pd.DataFrame]:
    """A SIMULATED second coder who blind-codes about *share* of the transcripts.

    On the chosen transcripts it codes each of the first coder's segments the same way with probability
    *p_same*, under another code of the same theme with probability *p_other*, and leaves it uncoded
    otherwise.  Returns ``(the documents double-coded, a frame for proj.code_many)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> segs = pd.DataFrame({"document": list("abcde") * 2, "start": range(10), "end": range(1, 11),
    ...                      "code": ["t/x"] * 10})
    >>> codes = pd.DataFrame({"path": ["t", "t/x", "t/y"], "theme": ["t", "t", "t"]})
    >>> docs, frame = simulated_second_coder(segs, codes, np.random.default_rng(1))
    >>> len(docs), set(frame["document"]) <= set(docs)
    (1, True)
    """
    documents = sorted(set(segments["document"]))
    n = max(1, round(share * len(documents)))
    chosen = sorted(str(d) for d in rng.choice(documents, size=n, replace=False))
    mine = segments[segments["document"].isin(chosen)]
    leaves = codes[codes["path"].str.contains("/", regex=False)]
    by_theme = leaves.groupby("theme")["path"].apply(list).to_dict()
    u = rng.random(len(mine))
    out = mine.loc[u < p_same + p_other, ["document", "start", "end", "code"]].copy()
    swap = (u[u < p_same + p_other] >= p_same)
    out.loc[swap, "code"] = [next((c for c in by_theme.get(code.split("/")[0], []) if c != code), code)
                             for code in out.loc[swap, "code"]]
    return chosen, out.reset_index(drop=True)
