"""Inter-coder agreement on coded text: percent agreement, Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

Two units are offered.

* ``unit="character"`` (as NVivo's Coding Comparison query): every character of a document is a unit,
  and for each code a coder either coded it or not.  Percent agreement = (characters coded by both +
  coded by neither) / characters; Cohen's kappa uses each coder's coded proportion for chance:
  ``p_e = p_A p_B + (1 - p_A)(1 - p_B)`` (framework-method.md section 2).
* ``unit="sentence"``: sentences from :func:`recoverystudy.qual.text.sentence_spans`.  **Rule:** a
  coder coded a sentence with a code if any of that coder's segments with the code overlaps the
  sentence by at least one character (``seg.start < sent.end and seg.end > sent.start``).  Text
  outside every sentence (blank space between sentences) is not a unit.

Scope.  By default the documents compared are those that **every** compared coder coded (any code):
a second coder who double-coded a subset is compared on that subset only, never penalised for the
documents they were not given.  ``documents=[...]`` names the documents instead (all of them count,
coded or not) and ``documents="all"`` takes every document any of them coded.  The result lists the
documents included and those excluded with the reason.  Within the documents, those where a code in
scope was used are compared; the codes are those either coder used (or ``codes=``).  Rows are reported for
each code x document where at least one coder used the code; the *pooled* row of a code sums the
units over **all** documents in scope (characters nobody coded count as agreement, as in NVivo), and
the overall pooled row sums over all codes x documents.  How NVivo aggregates is not established, so
this rule is ours and stated here.

The computation is an interval sweep (diff-cumsum of segment starts and ends), vectorised with
numpy: no loop runs per character, segment or sentence.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy.errors import StatisticsError, UndefinedStatisticWarning
from recoverystudy.results import Result, base_provenance, frame_to_html

__all__ = ["Agreement", "coding_agreement", "agreement", "landis_koch", "krippendorff_wording"]

_UNITS = ("character", "sentence")
_FRAME_COLUMNS = ["code", "document", "unit", "n_units", "n_coded_any", "percent_agreement", "kappa",
                  "fleiss_kappa", "alpha", "pooled"]


def landis_koch(kappa: float) -> str:
    """Landis & Koch (1977) band for a kappa value.

    Examples
    --------
    >>> landis_koch(0.32), landis_koch(0.85), landis_koch(-0.1)
    ('fair', 'almost perfect', 'poor')
    """
    if kappa is None or not np.isfinite(kappa):
        return "undefined"
    if kappa < 0:
        return "poor"
    for bound, word in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if kappa <= bound:
            return word
    return "almost perfect"


def krippendorff_wording(alpha: float) -> str:
    """Krippendorff's (2004) reading of alpha: rely on >= .800, tentative for .667-.800.

    Examples
    --------
    >>> krippendorff_wording(0.9)
    'reliable (alpha >= .800)'
    >>> krippendorff_wording(0.7)
    'tentative conclusions only (.667 <= alpha < .800)'
    """
    if alpha is None or not np.isfinite(alpha):
        return "undefined"
    if alpha >= 0.8:
        return "reliable (alpha >= .800)"
    if alpha >= 0.667:
        return "tentative conclusions only (.667 <= alpha < .800)"
    return "not reliable (alpha < .667)"


# ------------------------------------------------------------------------------------------------
# statistics from the weighted distribution of "number of coders who coded the unit"
# ------------------------------------------------------------------------------------------------
def _stats(W: np.ndarray, marg: np.ndarray) -> dict[str, np.ndarray]:
    """W[g, k] = units of group g coded by exactly k of m coders; marg[g, j] = units coded by coder j."""
    m = W.shape[1] - 1
    k = np.arange(m + 1, dtype=float)
    N = W.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (W[:, 0] + W[:, m]) / N
        # Fleiss: P_i = (k^2 + (m-k)^2 - m) / (m (m-1))
        Pi = (k**2 + (m - k) ** 2 - m) / (m * (m - 1))
        Pbar = (W * Pi).sum(axis=1) / N
        n1 = (W * k).sum(axis=1)
        p1 = n1 / (m * N)
        Pe_f = p1**2 + (1 - p1) ** 2
        fleiss = (Pbar - Pe_f) / (1 - Pe_f)
        fleiss[~(1 - Pe_f > 1e-15)] = np.nan
        # Krippendorff's alpha, nominal, no missing values: alpha = 1 - (n-1) o01 / (n0 n1)
        n = m * N
        n0 = n - n1
        o01 = (W * k * (m - k) / (m - 1)).sum(axis=1)
        alpha = 1 - (n - 1) * o01 / (n0 * n1)
        alpha[~((n0 * n1) > 0)] = np.nan
        if m == 2:
            pa, pb = marg[:, 0] / N, marg[:, 1] / N
            pe = pa * pb + (1 - pa) * (1 - pb)
            kappa = (pct - pe) / (1 - pe)
            kappa[~(1 - pe > 1e-15)] = np.nan
        else:
            kappa = np.full(len(N), np.nan)
    return {"n_units": N, "n_coded_any": N - W[:, 0], "percent_agreement": pct, "kappa": kappa,
            "fleiss_kappa": fleiss, "alpha": alpha}


def _sweep(g: np.ndarray, start: np.ndarray, end: np.ndarray, coder: np.ndarray, m: int):
    """Elementary intervals of constant coverage.  Returns (group, a, b, state[n, m] bool)."""
    n = len(g)
    if n == 0:
        return (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), np.zeros((0, m), bool))
    eg = np.concatenate([g, g])
    pos = np.concatenate([start, end])
    delta = np.zeros((2 * n, m), dtype=np.int64)
    rows = np.arange(2 * n)
    delta[rows, np.concatenate([coder, coder])] = np.concatenate([np.ones(n, np.int64), -np.ones(n, np.int64)])
    order = np.lexsort((pos, eg))
    eg, pos, delta = eg[order], pos[order], delta[order]
    cover = np.cumsum(delta, axis=0)  # every group nets to zero, so a global cumsum is per group
    same = eg[:-1] == eg[1:]
    a, b = pos[:-1][same], pos[1:][same]
    state = cover[:-1][same] > 0
    keep = b > a
    return eg[:-1][same][keep], a[keep], b[keep], state[keep]


@dataclass(frozen=True)
class Agreement(Result):
    """Inter-coder agreement per code x document and pooled.

    Attributes
    ----------
    coders : tuple of str
    unit : {"character", "sentence"}
    table : pandas.DataFrame
        See :meth:`to_frame`.
    provenance : dict
    """

    coders: tuple[str, ...]
    unit: str
    table: pd.DataFrame
    provenance: dict[str, Any]
    _disagreements: pd.DataFrame = field(repr=False, compare=False)
    documents_included: tuple[str, ...] = ()
    documents_excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["document", "reason"]),
                                             repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per code x document (``pooled`` False) plus pooled rows.

        Columns ``code, document, unit, n_units, n_coded_any, percent_agreement, kappa, fleiss_kappa,
        alpha, pooled``.  Pooled rows have ``document = "(all documents)"``; the overall row also has
        ``code = "(all codes)"``.  ``percent_agreement`` is a proportion (0-1).  ``kappa`` is Cohen's
        (two coders only), ``fleiss_kappa`` Fleiss' (any number of coders), ``alpha`` Krippendorff's
        nominal alpha.
        """
        return self.table.copy()

    @property
    def pooled(self) -> pd.Series:
        """The overall pooled row (all codes, all documents)."""
        return self.table.iloc[-1].copy()

    def disagreements(self) -> pd.DataFrame:
        """The stretches of text where the coders differ, for the team meeting.

        Returns
        -------
        pandas.DataFrame
            ``code, document, start, end, text, coded_by, not_coded_by`` (coder names joined by
            ``", "``), ordered by document, position and code.  At sentence level each row is a
            sentence.
        """
        return self._disagreements.copy()

    def plot(self, statistic: str = "kappa") -> Any:
        """Agreement per code, pooled over documents, sorted, with the overall value (a matplotlib Figure)."""
        from recoverystudy.qual.plots import agreement_by_code

        if statistic == "kappa" and self.table["kappa"].isna().all():
            statistic = "alpha"
        return agreement_by_code(self.table, statistic=statistic)

    def summary(self) -> str:
        p = self.pooled
        n_rows = int((~self.table["pooled"]).sum())
        lines = [f"Agreement between {', '.join(self.coders)} at {self.unit} level over "
                 f"{n_rows} code x document comparisons ({int(p['n_units'])} {self.unit} x code units pooled)."]
        if self.documents_included:
            n_ex = len(self.documents_excluded)
            lines.append(f"Compared on {len(self.documents_included)} document(s) "
                         + ("that every coder coded" if self.provenance.get("documents") == "common"
                            else "as requested")
                         + (f"; {n_ex} document(s) excluded (see .documents_excluded)." if n_ex else "."))
        lines.append(f"Pooled percent agreement {100 * p['percent_agreement']:.1f}% (uncoded text counts as agreement, "
                     "so this is inflated for rarely used codes; read the chance-corrected figures).")
        if len(self.coders) == 2:
            lines.append(f"Pooled Cohen's kappa {p['kappa']:.3f}: {landis_koch(p['kappa'])} agreement "
                         "(Landis & Koch 1977).")
        else:
            lines.append(f"Pooled Fleiss' kappa {p['fleiss_kappa']:.3f}: {landis_koch(p['fleiss_kappa'])} agreement "
                         "(Landis & Koch 1977).")
        lines.append(f"Pooled Krippendorff's alpha (nominal) {p['alpha']:.3f}: {krippendorff_wording(p['alpha'])}.")
        codes = self.table[self.table["pooled"] & (self.table["code"] != "(all codes)")]
        col = "kappa" if len(self.coders) == 2 else "fleiss_kappa"
        low = codes[codes[col] < 0.6]
        if len(low):
            lines.append("Codes below kappa .60: " + ", ".join(
                f"{c} ({v:.2f})" for c, v in zip(low["code"], low[col])) + ".")
        lines.append(f"{len(self._disagreements)} stretches of text differ; see .disagreements() to discuss them.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        base = super()._repr_html_()
        return base.replace("</div>", "<h5>Disagreements</h5>" + frame_to_html(self._disagreements, max_rows=20)
                            + "</div>", 1) if len(self._disagreements) else base


def _scope(seg: pd.DataFrame, coders: list[str], lengths: Mapping[str, int],
           documents: Sequence[str] | str | None) -> tuple[list[str], pd.DataFrame, str]:
    """The documents to compare, the excluded ones with their reason, and the rule used."""
    coded_by = {d: set(g) for d, g in seg.groupby("document", sort=True)["coder"]}
    if documents is None:
        include = [d for d, who in coded_by.items() if len(who) == len(coders)]
        excluded = [(d, "coded only by " + ", ".join(c for c in coders if c in who))
                    for d, who in coded_by.items() if len(who) < len(coders)]
        if not include:
            raise StatisticsError(
                f"No document was coded by every one of {', '.join(coders)}, so there is nothing to compare. "
                f"Give the second coder some of the same documents (a blind subset), or pass documents=[...] "
                f"or documents='all'.", value=coders)
        return include, pd.DataFrame(excluded, columns=["document", "reason"]), "common"
    if isinstance(documents, str) and documents == "all":
        return sorted(coded_by), pd.DataFrame(columns=["document", "reason"]), "all"
    if isinstance(documents, str):
        raise StatisticsError(f"documents must be a list of document names, 'all' or None; got {documents!r}.",
                              value=documents)
    include = [str(d) for d in documents]
    unknown = [d for d in include if d not in lengths]
    if unknown:
        raise StatisticsError(f"Unknown document(s) {unknown[:5]} in documents=.", document=unknown[0])
    if not include:
        raise StatisticsError("documents= is empty; nothing to compare.")
    chosen = set(include)
    excluded = [(d, "not in documents=") for d in coded_by if d not in chosen]
    return sorted(chosen), pd.DataFrame(excluded, columns=["document", "reason"]), "given"


def coding_agreement(segments: pd.DataFrame, documents: pd.DataFrame | Mapping[str, Any], *,
                     coders: Sequence[str], unit: str = "character", codes: Sequence[str] | None = None,
                     sentences: Mapping[str, Sequence[tuple[int, int]]] | None = None,
                     compare: Sequence[str] | str | None = None) -> Agreement:
    """Inter-coder agreement from plain data (the maths behind :func:`agreement`).

    Parameters
    ----------
    segments : pandas.DataFrame
        Columns ``document, start, end, code, coder`` (code-point offsets, ``start < end``).
    documents : pandas.DataFrame or mapping
        Either a frame with ``document`` and ``text`` (or ``n_chars`` for character level), or a
        mapping document -> text.  Texts are needed for sentence units and for the disagreement text.
    coders : sequence of str
        Two coders (Cohen's kappa) or more (Fleiss' kappa); alpha is given for any number.
    unit : {"character", "sentence"}, default="character"
    codes : sequence of str, optional
        Codes to compare; a theme (``"risk"``) includes the codes under it.  Default: every code a
        compared coder used.
    sentences : mapping, optional
        document -> list of sentence spans; default :func:`recoverystudy.qual.text.sentence_spans`.
    compare : list of str, "all" or None
        The documents to compare (see the module's *Scope*): ``None`` (default) = those every coder
        coded; a list = exactly those; ``"all"`` = every document any of them coded.

    Returns
    -------
    Agreement
        ``documents_included`` and ``documents_excluded`` (with the reason) say what was compared.

    Raises
    ------
    StatisticsError
        Fewer than two coders, unknown coders, unknown documents, or spans outside a document.

    Warns
    -----
    UndefinedStatisticWarning
        When a coefficient is undefined (no variation: e.g. both coders coded everything or
        nothing) it is NaN, and one warning says how many rows are affected.

    Notes
    -----
    Cohen: ``kappa = (p_o - p_e) / (1 - p_e)``, ``p_e = p_A p_B + (1 - p_A)(1 - p_B)``.  Values equal
    ``sklearn.metrics.cohen_kappa_score`` on the expanded unit labels, Fleiss equals
    ``statsmodels.stats.inter_rater.fleiss_kappa`` and alpha equals ``krippendorff.alpha(...,
    level_of_measurement="nominal")`` (tested to 1e-12).

    Examples
    --------
    >>> text = "x" * 1000
    >>> segs = pd.DataFrame({"document": ["d", "d"], "start": [0, 50], "end": [900, 900],
    ...                      "code": ["c", "c"], "coder": ["A", "B"]})
    >>> res = coding_agreement(segs, {"d": text}, coders=["A", "B"])
    >>> float(res.pooled["percent_agreement"]), round(float(res.pooled["kappa"]), 4)
    (0.95, 0.7727)
    """
    if unit not in _UNITS:
        raise StatisticsError(f"unit must be one of {', '.join(_UNITS)}; got {unit!r}.", value=unit)
    coders = list(coders)
    if len(coders) < 2 or len(set(coders)) != len(coders):
        raise StatisticsError(f"Agreement needs at least two different coders; got {coders!r}.", value=coders)
    for col in ("document", "start", "end", "code", "coder"):
        if col not in segments.columns:
            raise StatisticsError(f"segments lacks column {col!r}; it has {list(segments.columns)}.", value=col)
    # documents -> lengths and texts
    if isinstance(documents, Mapping):
        texts = {str(k): v for k, v in documents.items()}
        lengths = {k: len(v) for k, v in texts.items()}
    else:
        key = "document" if "document" in documents.columns else "name"
        names = documents[key].astype("str").tolist()
        if "text" in documents.columns:
            texts = dict(zip(names, documents["text"].tolist()))
            lengths = {k: len(v) for k, v in texts.items()}
        else:
            texts = {}
            lengths = dict(zip(names, documents["n_chars"].astype("int64").tolist()))
    if unit == "sentence" and not texts and sentences is None:
        raise StatisticsError("Sentence-level agreement needs the document texts (a 'text' column).")
    present = set(segments["coder"].astype("str"))
    unknown = [c for c in coders if c not in present]
    if unknown:
        raise StatisticsError(f"Coder(s) {unknown} coded nothing here; coders present: {sorted(present)}.",
                              coder=unknown[0])
    seg = segments.loc[segments["coder"].astype("str").isin(coders), ["document", "start", "end", "code", "coder"]]
    seg = seg.assign(document=seg["document"].astype("str"), code=seg["code"].astype("str"),
                     coder=seg["coder"].astype("str"))
    included, excluded, rule = _scope(seg, coders, lengths, compare)
    seg = seg[seg["document"].isin(included)]
    if codes is not None:
        codes = [str(c) for c in codes]
        allc = seg["code"]
        keep = np.zeros(len(seg), bool)
        for c in codes:
            keep |= (allc == c).to_numpy() | allc.str.startswith(c + "/").to_numpy()
        seg = seg[keep]
    missing_docs = sorted(set(seg["document"]) - set(lengths))
    if missing_docs:
        raise StatisticsError(f"Segments refer to unknown document(s) {missing_docs[:5]}.", document=missing_docs[0])
    doc_names = sorted(set(seg["document"])) if rule != "given" else included
    code_names = sorted(set(seg["code"])) if codes is None else sorted(
        {c for c in seg["code"]} | {c for c in codes if "/" in c})
    if not doc_names or not code_names:
        raise StatisticsError("No coded segments by these coders for these codes; nothing to compare.")
    m = len(coders)
    d_idx = pd.Index(doc_names)
    c_idx = pd.Index(code_names)
    s = seg.assign(d=d_idx.get_indexer(seg["document"]), c=c_idx.get_indexer(seg["code"]),
                   j=pd.Index(coders).get_indexer(seg["coder"]))
    s = s[s["c"] >= 0]
    start = s["start"].to_numpy(np.int64)
    end = s["end"].to_numpy(np.int64)
    dl = np.array([lengths[d] for d in doc_names], dtype=np.int64)
    bad = (start < 0) | (start >= end) | (end > dl[s["d"].to_numpy()])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        r = s.iloc[i]
        raise StatisticsError(f"Segment {r['start']}:{r['end']} of document {r['document']!r} (coder {r['coder']}) "
                              f"is empty or outside the text (0..{dl[r['d']]}).", document=r["document"])
    sent_start = sent_end = None
    if unit == "sentence":
        from recoverystudy.qual.text import sentence_spans

        spans = [list(sentences[d]) if sentences is not None else sentence_spans(texts[d]) for d in doc_names]
        counts = np.array([len(x) for x in spans], dtype=np.int64)
        offs = np.concatenate([[0], np.cumsum(counts)])
        flat = np.array([p for x in spans for p in x], dtype=np.int64).reshape(-1, 2)
        sent_start, sent_end = flat[:, 0], flat[:, 1]
        d_arr = s["d"].to_numpy()
        # first sentence whose end > seg.start; last sentence whose start < seg.end (within the document)
        lo = np.empty(len(s), np.int64)
        hi = np.empty(len(s), np.int64)
        # searchsorted on the global arrays with document offsets (sentences are sorted within documents)
        key_end = sent_end + 0
        for_doc = offs[d_arr]
        nxt = offs[d_arr + 1]
        # shift positions into a global coordinate so one searchsorted serves every document
        base = np.concatenate([[0], np.cumsum(dl + 1)])
        g_sent_start = sent_start + np.repeat(base[:-1], counts)
        g_sent_end = key_end + np.repeat(base[:-1], counts)
        lo = np.searchsorted(g_sent_end, start + base[d_arr], side="right")
        hi = np.searchsorted(g_sent_start, end + base[d_arr], side="left")
        lo = np.maximum(lo, for_doc) - for_doc
        hi = np.minimum(hi, nxt) - for_doc
        ok = hi > lo
        s = s[ok]
        start, end = lo[ok], hi[ok]
        n_units_doc = counts
    else:
        n_units_doc = dl
    g = s["c"].to_numpy(np.int64) * len(doc_names) + s["d"].to_numpy(np.int64)
    G = len(code_names) * len(doc_names)
    ig, a, b, state = _sweep(g, start, end, s["j"].to_numpy(np.int64), m)
    ln = (b - a).astype(float)
    k = state.sum(axis=1)
    W = np.bincount(ig * (m + 1) + k, weights=ln, minlength=G * (m + 1)).reshape(G, m + 1)
    n_per_group = np.tile(n_units_doc, len(code_names)).astype(float)
    W[:, 0] += n_per_group - W.sum(axis=1)
    marg = np.stack([np.bincount(ig, weights=ln * state[:, j], minlength=G) for j in range(m)], axis=1)
    used = np.zeros(G, bool)
    used[np.unique(g)] = True
    # per-row, per-code pooled, overall pooled
    Wc = W.reshape(len(code_names), len(doc_names), m + 1).sum(axis=1)
    mc = marg.reshape(len(code_names), len(doc_names), m).sum(axis=1)
    Wall = np.concatenate([W[used], Wc, W.sum(axis=0, keepdims=True)])
    mall = np.concatenate([marg[used], mc, marg.sum(axis=0, keepdims=True)])
    st = _stats(Wall, mall)
    rows_code = np.repeat(np.array(code_names, dtype=object), len(doc_names))[used]
    rows_doc = np.tile(np.array(doc_names, dtype=object), len(code_names))[used]
    table = pd.DataFrame({
        "code": np.concatenate([rows_code, np.array(code_names, dtype=object), ["(all codes)"]]).astype(str),
        "document": np.concatenate([rows_doc, ["(all documents)"] * (len(code_names) + 1)]).astype(str),
        "unit": unit,
        "n_units": st["n_units"].astype(np.int64),
        "n_coded_any": np.rint(st["n_coded_any"]).astype(np.int64),
        "percent_agreement": st["percent_agreement"],
        "kappa": st["kappa"], "fleiss_kappa": st["fleiss_kappa"], "alpha": st["alpha"],
        "pooled": np.concatenate([np.zeros(int(used.sum()), bool), np.ones(len(code_names) + 1, bool)]),
    }, columns=_FRAME_COLUMNS)
    col = "kappa" if m == 2 else "fleiss_kappa"
    n_undef = int(table[col].isna().sum())
    if n_undef:
        warnings.warn(
            f"{'Cohen' if m == 2 else 'Fleiss'}'s kappa is undefined (no variation: the coders coded all or none of "
            f"the units alike) for {n_undef} of {len(table)} rows; reported as NaN.",
            UndefinedStatisticWarning, stacklevel=2)
    # disagreements: intervals where 0 < k < m, merged when touching with the same pattern
    dis_mask = (k > 0) & (k < m)
    dg, da, db, dst = ig[dis_mask], a[dis_mask], b[dis_mask], state[dis_mask]
    pattern = (dst * (1 << np.arange(m))).sum(axis=1)
    if len(dg):
        new_run = np.ones(len(dg), bool)
        new_run[1:] = (dg[1:] != dg[:-1]) | (pattern[1:] != pattern[:-1]) | (da[1:] != db[:-1])
        if unit == "sentence":
            new_run[:] = True
        run = np.cumsum(new_run) - 1
        first = np.flatnonzero(new_run)
        last = np.r_[first[1:], len(dg)] - 1
        rg, ra, rb, rp = dg[first], da[first], db[last], pattern[first]
    else:
        rg = ra = rb = rp = np.empty(0, np.int64)
    if unit == "sentence" and len(rg):
        # expand sentence-index runs into one row per sentence
        reps = rb - ra
        rg, rp = np.repeat(rg, reps), np.repeat(rp, reps)
        idx = np.repeat(ra, reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
        glob = idx + offs[rg % len(doc_names)]
        ra, rb = sent_start[glob], sent_end[glob]
    names = np.array(coders, dtype=object)
    masks = ((rp[:, None] >> np.arange(m)) & 1).astype(bool) if len(rp) else np.zeros((0, m), bool)
    dis = pd.DataFrame({
        "code": np.array(code_names, dtype=object)[rg // len(doc_names)] if len(rg) else [],
        "document": np.array(doc_names, dtype=object)[rg % len(doc_names)] if len(rg) else [],
        "start": ra.astype(np.int64), "end": rb.astype(np.int64),
        "text": [texts[d][x:y] if d in texts else "" for d, x, y in zip(
            np.array(doc_names, dtype=object)[rg % len(doc_names)] if len(rg) else [], ra, rb)],
        "coded_by": [", ".join(names[r]) for r in masks],
        "not_coded_by": [", ".join(names[~r]) for r in masks],
    }, columns=["code", "document", "start", "end", "text", "coded_by", "not_coded_by"])
    for c in ("code", "document", "text", "coded_by", "not_coded_by"):
        dis[c] = dis[c].astype("str")
    dis = dis.sort_values(["document", "start", "code"], kind="stable").reset_index(drop=True)
    prov = base_provenance(
        "coding_agreement", unit=unit, coders=list(coders),
        unit_rule=("each character is a unit (NVivo Coding Comparison)" if unit == "character" else
                   "each sentence (recoverystudy.qual.text.sentence_spans) is a unit, coded if any segment overlaps it"),
        pooling="code rows pool all documents in scope; the overall row pools all codes x documents",
        n_documents=len(doc_names), n_codes=len(code_names), documents=rule,
        documents_rule={"common": "only documents every compared coder coded",
                        "given": "the documents given", "all": "every document any compared coder coded"}[rule])
    return Agreement(coders=tuple(coders), unit=unit, table=table, provenance=prov, _disagreements=dis,
                     documents_included=tuple(included), documents_excluded=excluded.reset_index(drop=True))


def agreement(project, coder_a: str | None = None, coder_b: str | None = None, *, unit: str = "character",
              codes: Sequence[str] | None = None, coders: Sequence[str] | None = None,
              documents: Sequence[str] | str | None = None) -> Agreement:
    """Inter-coder agreement between coders of a :class:`~recoverystudy.Project`.

    Parameters
    ----------
    project : Project
    coder_a, coder_b : str
        Two coders; or pass ``coders=[...]`` (three or more) instead.
    unit : {"character", "sentence"}, default="character"
    codes : sequence of str, optional
        Codes (or themes) to compare; default every code the coders used.
    coders : sequence of str, optional
        Three or more coders: Fleiss' kappa and Krippendorff's alpha.
    documents : list of str, "all" or None
        Default: only the documents every compared coder coded (a double-coded subset).  A list
        compares exactly those documents; ``"all"`` every document any of them coded.

    Returns
    -------
    Agreement
        See :func:`coding_agreement` for the definitions and the scope rule; ``documents_included``
        and ``documents_excluded`` say which documents were compared.

    Examples
    --------
    >>> import recoverystudy as rs, tempfile, pathlib
    >>> proj = rs.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p.rsqda")
    >>> _ = proj.add_document("SU01: I never had a copy. My mum came.", name="d", case="SU01")
    >>> _ = proj.code("d", 6, 25, "care_plan_document/copy_and_ownership", coder="AB")
    >>> _ = proj.code("d", 8, 25, "care_plan_document/copy_and_ownership", coder="CD")
    >>> res = agreement(proj, "AB", "CD")
    >>> round(float(res.pooled["kappa"]), 4)
    0.8947
    >>> res.disagreements()[["text", "coded_by"]].values.tolist()
    [['I ', 'AB']]
    >>> proj.close()
    """
    if coders is not None:
        if coder_a is not None or coder_b is not None:
            raise StatisticsError("Pass either coder_a and coder_b, or coders=[...], not both.")
        names = [str(c) for c in coders]
    else:
        if coder_a is None or coder_b is None:
            raise StatisticsError("Name two coders (coder_a, coder_b) or pass coders=[...].")
        names = [str(coder_a), str(coder_b)]
    if hasattr(project, "_coded_spans"):  # only these coders' segments, no text or context columns
        segs, texts = project._coded_spans(names)
    else:  # any object with segments() and document_text()
        segs = project.segments()
        segs = segs[segs["coder"].isin(names)]
        texts = {d: project.document_text(d) for d in sorted(set(segs["document"]))}
    if documents is not None and not isinstance(documents, str):
        texts = dict(texts)
        for d in documents:
            if str(d) not in texts:
                try:
                    texts[str(d)] = project.document_text(str(d))
                except KeyError as exc:
                    raise StatisticsError(f"Unknown document {d!r} in documents=.", document=str(d)) from exc
    res = coding_agreement(segs, texts, coders=names, unit=unit, codes=codes, compare=documents)
    prov = dict(res.provenance)
    prov["project"] = str(getattr(project, "path", ""))
    return Agreement(coders=res.coders, unit=res.unit, table=res.table, provenance=prov,
                     _disagreements=res._disagreements, documents_included=res.documents_included,
                     documents_excluded=res.documents_excluded)
