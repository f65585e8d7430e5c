"""Score questionnaires from instrument definitions: ``rs.score(data, "wai-sr")``.

The scorer works on one float array of all respondents x items at once:

1. item columns are found by the definition's ids (or an explicit ``items=`` mapping);
2. non-answer codes (N/A, don't know, 8/9/99/-9 ...) become "not answered";
3. anything else outside the response range, non-numeric or fractional is invalid: all such
   values are listed in an :class:`~recoverystudy.errors.InvalidResponseError`, or turned into
   "not answered" with ``on_invalid="missing"``;
4. reverse-keyed items become ``min + max - x``;
5. a scale is scored when at least ``min_answered`` of its items are answered, as the mean of the
   answered items (``method: mean``) or the prorated sum, mean x number of items (``method: sum``);
   otherwise it is missing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._validate import check_option
from recoverystudy.errors import (
    DerivedKeyWarning,
    DuplicateRespondentError,
    EmptyDataError,
    InvalidResponseError,
    InvalidResponseWarning,
    MissingItemsError,
    UnverifiedKeyError,
    UnverifiedKeyWarning,
)
from recoverystudy.quant.instruments import Instrument, load_instrument
from recoverystudy.results import Result, base_provenance

__all__ = ["score", "ScoreResult", "prepare_items"]


@dataclass(frozen=True, repr=False)
class ScoreResult(Result):
    """Scores of one instrument for every respondent, with how they were obtained.

    Attributes
    ----------
    instrument : Instrument
        The definition used (with any user key overlaid).
    frame : pandas.DataFrame
        Per respondent (index aligned with the input): for each scored scale the score
        (``<prefix>_<scale>``), the number of items answered (``..._n_answered``), the number of
        non-answer codes (``..._n_nonanswer``) and whether the score was prorated (``..._prorated``).
    scored : tuple of str
        Scales that were scored.
    refused : dict
        Scales not scored, with the reason.
    provenance : dict
        Instrument, version, key provenance per scale, minimum-answered rule, non-answer codes,
        invalid-value handling, package version.
    """

    instrument: Instrument
    frame: pd.DataFrame
    scored: tuple[str, ...]
    refused: dict[str, str]
    provenance: dict[str, Any]
    n_invalid: int = 0
    id_col: str | None = None
    _report: pd.DataFrame = field(default=None, compare=False)  # type: ignore[assignment]

    def to_frame(self) -> pd.DataFrame:
        """Per-respondent table: score, number answered, non-answers and prorated flag per scale."""
        return self.frame.copy()

    @property
    def scores(self) -> pd.DataFrame:
        """Only the score columns (one per scored scale)."""
        return self.frame[[self.instrument.column(s) for s in self.scored]].copy()

    def plot(self, by: Any = None, **kwargs: Any) -> Any:
        """Box plots of the scores, one panel per scale, split by ``by`` (a Series such as the site).

        Returns the matplotlib Figure.

        Examples
        --------
        >>> import recoverystudy as rs, warnings
        >>> study = rs.synthetic.six_site_study(seed=0, scale=0.2)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     res = rs.score(study.service_users, "wai-sr", id_col="respondent_id")
        >>> fig = res.plot(by=study.service_users.set_index("respondent_id")["site"])
        >>> len(fig.axes)
        4
        """
        from recoverystudy.quant.plots import score_distributions

        return score_distributions(self.scores, by=by, title=self.instrument.short_title, **kwargs)

    def missing_report(self) -> pd.DataFrame:
        """Per scale: respondents scored complete, scored prorated and not scored.

        Returns
        -------
        pandas.DataFrame
            Index ``scale``; columns ``n_items``, ``min_answered``, ``scored_complete``,
            ``scored_prorated``, ``not_scored``, ``n_respondents``, ``rule``.
        """
        return self._report.copy()

    def summary(self) -> str:
        inst = self.instrument
        n = len(self.frame)
        lines = [f"{inst.title} ({inst.version}): {n} respondent{'s' if n != 1 else ''} scored."]
        for s in self.scored:
            r = self._report.loc[s]
            col = self.instrument.column(s)
            vals = self.frame[col]
            status = self.provenance["scales"][s]["status"]
            lines.append(
                f"{s}: {int(r.scored_complete)} complete, {int(r.scored_prorated)} prorated, {int(r.not_scored)} "
                f"not scored ({r.rule}); mean {vals.mean():.2f} (SD {vals.std():.2f}). Key: {status}."
            )
            if status == "derived-from-wording":
                lines.append(f"  The {s} key is derived from item wording, not published: report it as such.")
            elif status == "synthetic":
                lines.append(f"  Note: the {s} key is SYNTHETIC (invented for synthetic data), not the published key.")
            if inst.key_file and s in self.provenance["scales"] and \
                    self.provenance["scales"][s]["keys"]["items"]["status"] in ("user-supplied", "synthetic"):
                lines.append(f"  Key for {s} supplied by the user ({inst.key_file}: {inst.key_label}).")
        if self.refused:
            lines.append(f"Not scored (key not established): {', '.join(self.refused)}. {self.instrument.key_hint()}")
        if self.n_invalid:
            lines.append(f"{self.n_invalid} invalid value(s) were treated as not answered (on_invalid='missing').")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _norm_text(value: Any) -> str:
    return str(value).strip().casefold()


def _item_columns(data: pd.DataFrame, inst: Instrument, items: Mapping[str, str] | Sequence[str] | None
                  ) -> dict[str, Any]:
    """Return ``{item_id: column}``; raise MissingItemsError naming every absent column."""
    ids = inst.item_ids
    if items is None:
        mapping = {i: i for i in ids}
    elif isinstance(items, Mapping):
        unknown = [k for k in items if k not in ids]
        if unknown:
            raise MissingItemsError(
                f"items= maps unknown item id(s) {', '.join(map(repr, unknown))}; {inst.id} items are "
                f"{ids[0]} ... {ids[-1]}.", missing=unknown)
        mapping = {i: items.get(i, i) for i in ids}
    else:
        cols = list(items)
        if len(cols) != len(ids):
            raise MissingItemsError(
                f"items= lists {len(cols)} columns but {inst.short_title} has {len(ids)} items; give them in form "
                "order or as a mapping {item_id: column}.", missing=[])
        mapping = dict(zip(ids, cols, strict=True))
    missing = [c for c in mapping.values() if c not in data.columns]
    if missing:
        shown = ", ".join(map(repr, missing[:12])) + (" ..." if len(missing) > 12 else "")
        raise MissingItemsError(
            f"The data lack {len(missing)} of the {len(ids)} {inst.short_title} item columns: {shown}. "
            "Rename the columns to the item ids, or pass items={item_id: column} (see rs.load_instrument"
            f"({inst.id!r}).item_ids).", missing=missing, instrument=inst.id)
    return mapping


def prepare_items(data: pd.DataFrame, inst: Instrument, mapping: Mapping[str, Any], respondents: pd.Index
                  ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Turn item columns into a float array with non-answers and invalid values as NaN.

    Returns ``(values, nonanswer_mask, problems)``; *problems* lists invalid values
    (respondent, item, value) and is empty when there are none. No reverse keys are applied.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> wai = rs.load_instrument("wai-sr")
    >>> df = pd.DataFrame({i: [1, 99] for i in wai.item_ids})
    >>> x, na, bad = prepare_items(df, wai, {i: i for i in wai.item_ids}, df.index)
    >>> x[:, 0].tolist(), na[:, 0].tolist(), len(bad)
    ([1.0, nan], [False, True], 0)
    """
    n, k = len(data), len(mapping)
    # column-major: every item is one contiguous vector, and scales are summed item by item
    values = np.empty((n, k), dtype=float, order="F")
    nonans = np.zeros((n, k), dtype=bool, order="F")
    lo, hi = inst.response_min, inst.response_max
    num_codes = np.array([c for c in inst.non_answer if isinstance(c, int | float)], dtype=float)
    text_codes = {_norm_text(c) for c in inst.non_answer if isinstance(c, str)}
    buf = np.empty(n, dtype=float)  # scratch buffers reused for every item (no per-item allocation)
    frac = np.empty(n, dtype=bool)
    notnan = np.empty(n, dtype=bool)
    bad_parts = []
    for j, (item, col) in enumerate(mapping.items()):
        s = data[col]
        out = values[:, j]
        invalid = None
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[:] = s.to_numpy(dtype=float, na_value=np.nan)
            integer_dtype = pd.api.types.is_integer_dtype(s)
        else:
            obj = s.astype(object)
            is_str = obj.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)
            stripped = obj.where(~is_str, obj.astype(str).str.strip())
            empty_str = is_str & (stripped.to_numpy() == "")
            txt_na = is_str & stripped.map(lambda x: isinstance(x, str) and x.casefold() in text_codes
                                           ).to_numpy(dtype=bool)
            out[:] = pd.to_numeric(stripped.where(~(txt_na | empty_str)), errors="coerce").to_numpy(dtype=float)
            invalid = obj.notna().to_numpy() & ~txt_na & ~empty_str & np.isnan(out)
            nonans[:, j] = txt_na
            integer_dtype = False
        if n:
            vmin, vmax = np.fmin.reduce(out), np.fmax.reduce(out)
            if vmin < lo or vmax > hi:  # only then look for numeric codes and out-of-range values
                if num_codes.size:
                    code_na = np.isin(out, num_codes)
                    out[code_na] = np.nan
                    nonans[:, j] |= code_na
                outside = (out < lo) | (out > hi)
                invalid = outside if invalid is None else invalid | outside
            if not integer_dtype:  # fractional answers such as 2.5 are invalid
                np.rint(out, out=buf)
                np.not_equal(buf, out, out=frac)
                np.equal(out, out, out=notnan)
                frac &= notnan
                if frac.any():
                    invalid = frac.copy() if invalid is None else invalid | frac
        if invalid is not None and invalid.any():
            rows = np.flatnonzero(invalid)
            bad_parts.append(pd.DataFrame({"respondent": respondents[rows], "item": item,
                                           "column": col, "value": s.iloc[rows].to_numpy(dtype=object)}))
            out[invalid] = np.nan
    problems = (pd.concat(bad_parts, ignore_index=True) if bad_parts
                else pd.DataFrame(columns=["respondent", "item", "column", "value"]))
    return values, nonans, problems


def _resolve_min_answered(min_answered: Any, scale_id: str, size: int, default: int | None) -> tuple[int, str]:
    """Return (items needed, source) for one scale."""
    if min_answered is None:
        return (default if default is not None else math.ceil(size / 2)), "instrument"
    if isinstance(min_answered, Mapping):
        if scale_id not in min_answered:
            return (default if default is not None else math.ceil(size / 2)), "instrument"
        min_answered = min_answered[scale_id]
    if isinstance(min_answered, bool) or not isinstance(min_answered, int | float):
        raise ValueError(f"min_answered must be a whole number of items, a proportion in (0, 1], or a mapping "
                         f"{{scale: value}}; got {min_answered!r}.")
    if isinstance(min_answered, float):  # a proportion of the scale's items
        if not 0 < min_answered <= 1:
            raise ValueError(f"min_answered as a proportion must be in (0, 1]; got {min_answered!r}.")
        return math.ceil(min_answered * size - 1e-9), "user"
    m = int(min_answered)
    if not 1 <= m <= size:
        raise ValueError(f"min_answered for scale {scale_id!r} must be between 1 and its {size} items; got {m}. "
                         "A single number applies to every scale; give one per scale as a mapping, e.g. "
                         f"min_answered={{{scale_id!r}: {max(1, min(m, size))}, ...}}, or a proportion such as 0.75 "
                         "for all scales.")
    return m, "user"


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def score(
    data: pd.DataFrame,
    instrument: str | Instrument,
    *,
    id_col: str | None = None,
    items: Mapping[str, str] | Sequence[str] | None = None,
    min_answered: int | float | Mapping[str, int | float] | None = None,
    key: Any = None,
    scales: Sequence[str] | None = None,
    on_invalid: str = "raise",
) -> ScoreResult:
    """Score one instrument for every respondent.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent. Not modified.
    instrument : str or Instrument
        A bundled id (``"rsa-person"``, ``"rsa-provider"``, ``"es"``, ``"star-p"``, ``"star-c"``,
        ``"qpr-15"``, ``"wai-sr"``), a YAML path, or an :class:`Instrument`.
    id_col : str, optional
        Column holding respondent ids: checked for duplicates and used in messages. Without it the
        index labels identify respondents.
    items : mapping or sequence, optional
        ``{item_id: column}`` or the item columns in form order, when the columns are not named by
        the item ids.
    min_answered : int, float or mapping, optional
        Items that must be answered for a score: a number of items, a proportion (0, 1], or a
        mapping ``{scale: value}``. Default: the instrument's rule for each scale (stated in the
        provenance; for these instruments no published rule exists, so it is a package default).
    key : str, path-like or dict, optional
        A key file overlaid on the instrument (see :func:`recoverystudy.load_instrument`).
    scales : sequence of str, optional
        Scales to score. By default every scale that can be scored; scales whose key is not
        established are listed in ``result.refused`` with a warning. Asking for such a scale here
        raises :class:`~recoverystudy.errors.UnverifiedKeyError`.
    on_invalid : {"raise", "missing"}, default "raise"
        What to do with out-of-range, fractional or non-numeric values that are not non-answer
        codes: raise :class:`~recoverystudy.errors.InvalidResponseError` listing all of them, or
        treat them as not answered with an :class:`~recoverystudy.errors.InvalidResponseWarning`.

    Returns
    -------
    ScoreResult
        ``.to_frame()``, ``.scores``, ``.missing_report()``, ``.refused``, ``.provenance``,
        ``.summary()``.

    Raises
    ------
    EmptyDataError, MissingItemsError, DuplicateRespondentError, InvalidResponseError,
    UnverifiedKeyError

    Notes
    -----
    Reverse-keyed items are rescored as ``min + max - x``. A ``mean`` scale is the mean of the
    answered items; a ``sum`` scale is the prorated sum ``mean x number of items`` (equal to the
    plain sum when every item is answered). A respondent with fewer than ``min_answered`` answered
    items gets a missing score for that scale.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> wai = rs.load_instrument("wai-sr")
    >>> df = pd.DataFrame([[4] * 12, [5] * 11 + ["N/A"]], columns=wai.item_ids)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # the WAI-SR 'no reversals' key is derived: it warns
    ...     res = rs.score(df, "wai-sr")
    >>> res.scores["wai_sr_total"].tolist()    # 12 x 4; 5 prorated over 12 items
    [48.0, 60.0]
    >>> res.frame["wai_sr_task_prorated"].tolist()
    [False, True]
    """
    check_option("on_invalid", on_invalid, ["raise", "missing"])
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame with one row per respondent; got {type(data).__name__}.")
    inst = load_instrument(instrument, key=key)
    if data.shape[0] == 0:
        raise EmptyDataError(f"The data frame is empty: there are no respondents to score for {inst.short_title}.")

    # respondents
    if id_col is not None:
        if id_col not in data.columns:
            cols = [str(c) for c in data.columns]
            raise MissingItemsError(f"id_col {id_col!r} is not a column of the data; its columns include "
                                    f"{', '.join(cols[:8])}{' ...' if len(cols) > 8 else ''}.", missing=[id_col])
        ids = data[id_col]
        dup = ids[ids.duplicated(keep=False) & ids.notna()]
        if len(dup):
            shown = ", ".join(map(repr, pd.unique(dup)[:10]))
            raise DuplicateRespondentError(
                f"Respondent ids in {id_col!r} must be unique; {dup.nunique()} id(s) appear more than once: {shown}.",
                duplicates=list(pd.unique(dup)), column=id_col)
        respondents = pd.Index(ids)
    else:
        if data.index.has_duplicates:
            dup = data.index[data.index.duplicated(keep=False)]
            raise DuplicateRespondentError(
                f"The index identifies respondents and must be unique; duplicated: "
                f"{', '.join(map(repr, pd.unique(dup)[:10]))}. Pass id_col= or reset the index.",
                duplicates=list(pd.unique(dup)), column=None)
        respondents = data.index

    # which scales
    if scales is not None:
        unknown = [s for s in scales if s not in inst.scales]
        if unknown:
            raise ValueError(f"{inst.short_title} has no scale(s) {', '.join(map(repr, unknown))}; scales are "
                             f"{', '.join(inst.scales)}.")
        blocked = {s: inst.refusal_reason(s) for s in scales if inst.refusal_reason(s)}
        if blocked:
            raise UnverifiedKeyError(
                "Cannot score what was asked: " + " ".join(blocked.values()) + " " + inst.key_hint(),
                instrument=inst.id, scales=list(blocked))
        wanted = list(scales)
        refused: dict[str, str] = {}
    else:
        wanted = [s for s in inst.scales if inst.refusal_reason(s) is None]
        refused = {s: inst.refusal_reason(s) for s in inst.scales if s not in wanted}  # type: ignore[misc]
        if not wanted:
            raise UnverifiedKeyError(
                f"None of the {inst.short_title} scales ({', '.join(refused)}) can be scored: their scoring keys are "
                f"not established in published sources. {inst.key_hint()}", instrument=inst.id, scales=list(refused))

    mapping = _item_columns(data, inst, items)
    values, nonans, problems = prepare_items(data, inst, mapping, respondents)
    if len(problems):
        if on_invalid == "raise":
            shown = "; ".join(
                f"respondent {r.respondent!r}, item {r.item}: got {r.value!r}" for r in problems.head(10).itertuples()
            )
            more = f" ... and {len(problems) - 10} more" if len(problems) > 10 else ""
            codes = ", ".join(map(repr, inst.non_answer)) or "none"
            raise InvalidResponseError(
                f"{len(problems)} invalid response(s) for {inst.short_title}: {shown}{more}. Allowed: whole numbers "
                f"{inst.response_min}-{inst.response_max}, or a non-answer code ({codes}). Use on_invalid='missing' to "
                "treat them as not answered.", problems=problems, instrument=inst.id)
        warnings.warn(
            f"{len(problems)} invalid {inst.short_title} response(s) were treated as not answered "
            "(on_invalid='missing'); see result.provenance['invalid_values'].", InvalidResponseWarning, stacklevel=2)

    # reverse keys
    col_of = {iid: j for j, iid in enumerate(mapping)}
    if inst.reverse_keyed:
        rev = [col_of[i] for i in inst.reverse_keyed]
        values[:, rev] = inst.response_min + inst.response_max - values[:, rev]

    out: dict[str, Any] = {}
    report_rows = []
    scale_prov: dict[str, Any] = {}
    derived: list[str] = []
    for sid in wanted:
        sc = inst.scales[sid]
        idx = [col_of[i] for i in sc.items]  # type: ignore[union-attr]
        size = len(idx)
        need, need_src = _resolve_min_answered(min_answered, sid, size, sc.min_answered)
        n_ans = np.zeros(len(data), dtype=np.int64)
        n_na = np.zeros(len(data), dtype=np.int64)
        total = np.zeros(len(data), dtype=float)
        for j in idx:  # a loop over items (vector operations), never over respondents
            item = values[:, j]
            ans = item == item  # not NaN
            total += np.where(ans, item, 0.0)
            n_ans += ans
            n_na += nonans[:, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n_ans
        ok = n_ans >= need
        val = mean if sc.method == "mean" else mean * size
        val = np.where(ok, val, np.nan)
        prorated = ok & (n_ans < size)
        col = inst.column(sid)
        out[col] = val
        out[f"{col}_n_answered"] = n_ans
        out[f"{col}_n_nonanswer"] = n_na
        out[f"{col}_prorated"] = prorated
        method_word = "mean of answered items" if sc.method == "mean" else \
            f"sum (prorated: mean of answered items x {size})"
        rule = f"at least {need} of {size} answered; {method_word}"
        report_rows.append({"scale": sid, "n_items": size, "min_answered": need,
                            "scored_complete": int((ok & ~prorated).sum()), "scored_prorated": int(prorated.sum()),
                            "not_scored": int((~ok).sum()), "n_respondents": len(data), "rule": rule})
        prov = inst.scale_provenance(sid)
        prov["rule"] = rule
        prov["min_answered_source"] = ("set by the user" if need_src == "user"
                                       else sc.min_answered_provenance.source)
        scale_prov[sid] = prov
        if prov["status"] == "derived-from-wording":
            derived.append(sid)
    frame = pd.DataFrame(out, index=data.index)
    if id_col is not None:
        frame.insert(0, id_col, data[id_col].to_numpy())
    report = pd.DataFrame(report_rows).set_index("scale")

    if refused:
        warnings.warn(
            f"{inst.short_title}: {len(refused)} scale(s) not scored because their keys are not established: "
            f"{', '.join(refused)}. See result.refused; supply a key file to score them.",
            UnverifiedKeyWarning, stacklevel=2)
    if derived:
        warnings.warn(
            f"{inst.short_title}: the key for {', '.join(derived)} is derived from item wording, not published; "
            "this is recorded in result.provenance.", DerivedKeyWarning, stacklevel=2)

    provenance = base_provenance(
        "score",
        instrument=inst.id,
        instrument_title=inst.title,
        instrument_version=inst.version,
        citation=inst.citation,
        definition_file=inst.source_file,
        key_file=inst.key_file,
        key_label=inst.key_label,
        scales=scale_prov,
        refused=dict(refused),
        non_answer_codes={str(k): v for k, v in inst.non_answer.items()},
        reverse_keyed=list(inst.reverse_keyed or ()),
        response_range=[inst.response_min, inst.response_max],
        on_invalid=on_invalid,
        invalid_values=int(len(problems)),
        n_respondents=len(data),
    )
    return ScoreResult(inst, frame, tuple(wanted), dict(refused), provenance, int(len(problems)), id_col, report)
