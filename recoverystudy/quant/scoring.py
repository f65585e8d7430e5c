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

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._validate import check_option
from recoverystudy.errors import (
    ArgumentTypeError,
    DerivedKeyWarning,
    DuplicateRespondentError,
    EmptyDataError,
    InvalidResponseError,
    InvalidResponseWarning,
    MissingItemsError,
    MissingRespondentIdError,
    UnverifiedKeyError,
    UnverifiedKeyWarning,
)
from recoverystudy.quant.instruments import Instrument, load_instrument
from recoverystudy.quant.score_items import (
    _check_scale_names,
    _factorize,
    _item_columns,
    _refuse_duplicate_columns,
    _resolve_min_answered,
    prepare_items,
)
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
        raise ArgumentTypeError(f"data must be a pandas DataFrame with one row per respondent; got "
                                f"{type(data).__name__} ({data!r:.60}). Read a file with rs.read_survey().",
                                argument="data")
    if not isinstance(instrument, str | os.PathLike | Instrument) or isinstance(instrument, bool):
        raise ArgumentTypeError(f"instrument must be the name of a bundled instrument (see rs.list_instruments()), "
                                f"a path to a YAML definition or an Instrument; got {instrument!r}.",
                                argument="instrument")
    if id_col is not None and not isinstance(id_col, str | int):
        raise ArgumentTypeError(f"id_col must be a column name; got {id_col!r}.", argument="id_col")
    inst = load_instrument(instrument, key=key)
    if data.shape[0] == 0:
        raise EmptyDataError(f"The data frame is empty: there are no respondents to score for {inst.short_title}.")
    if isinstance(scales, str):
        scales = [scales]
    _check_scale_names(inst, scales, min_answered)

    # respondents
    if id_col is not None:
        if id_col not in data.columns:
            cols = [str(c) for c in data.columns]
            raise MissingItemsError(f"id_col {id_col!r} is not a column of the data; its columns include "
                                    f"{', '.join(cols[:8])}{' ...' if len(cols) > 8 else ''}.", missing=[id_col])
        _refuse_duplicate_columns(data, [id_col], "id_col")
        ids = data[id_col]
        codes, levels = _factorize(ids)  # one hash pass serves the blank and the duplicate checks
        if isinstance(ids.dtype, pd.StringDtype):  # every value a str: a C-level map, no Python per id
            blank_level = np.fromiter(map(str.isspace, levels), dtype=bool, count=len(levels)) | (levels == "")
        else:
            blank_level = np.array([isinstance(v, str) and not v.strip() for v in levels], dtype=bool)
        blank = np.append(blank_level, True)[codes]  # code -1: missing
        if blank.any():
            rows = data.index[blank]
            shown = ", ".join(map(repr, rows[:10].tolist())) + (" ..." if len(rows) > 10 else "")
            raise MissingRespondentIdError(
                f"{int(blank.sum())} row(s) have no respondent id in {id_col!r} (rows {shown}); every respondent "
                "needs an id, or leave id_col out to identify respondents by row.", rows=list(rows), column=id_col)
        counts = np.bincount(codes, minlength=len(levels))
        if (counts > 1).any():
            dup = levels[np.flatnonzero(counts > 1)]  # factorize numbers values in order of appearance
            shown = ", ".join(map(repr, dup[:10]))
            raise DuplicateRespondentError(
                f"Respondent ids in {id_col!r} must be unique; {len(dup)} id(s) appear more than once: {shown}.",
                duplicates=list(dup), column=id_col)
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
    _refuse_duplicate_columns(data, list(mapping.values()), "item")
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
        data_source={k: data.attrs[k] for k in ("source_file", "source_format", "encoding", "delimiter")
                     if k in data.attrs},
    )
    return ScoreResult(inst, frame, tuple(wanted), dict(refused), provenance, int(len(problems)), id_col, report)
