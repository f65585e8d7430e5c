"""Internal consistency: Cronbach's alpha and McDonald's omega, computed exactly as R psych does.

``rs.reliability(data, "wai-sr", scale="bond")`` applies the instrument's keys first (non-answer
codes to missing, reverse keys); ``rs.reliability(items_frame)`` takes items that are already keyed.

Formulas (k items; C the pairwise-complete covariance matrix, n all rows):

* raw alpha = k/(k-1) (1 - tr C / sum C); standardised alpha uses R = cov2cor(C);
* alpha if item deleted = raw alpha of C without that row and column;
* corrected item-total correlation r_drop_i = sum_{j!=i} C_ij / sqrt(C_ii sum_{j,l!=i} C_jl);
* Feldt CI: 1 - (1 - alpha) F^-1(1 - p/2; n-1, (n-1)(k-1)) and 1 - (1 - alpha) F^-1(p/2; ...);
* omega total = 1 - sum(1 - l_i^2) / sum R, l the one-factor minimum-residual loadings of the
  pairwise correlation matrix R (psych ``omega(x, nfactors = 1)``), found by iterated principal-axis
  factoring to convergence (1e-12).

Matches R psych 2.2.9 ``alpha()`` and ``omega(nfactors = 1)`` to 1e-6 (tests/reference/reliability.R).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from recoverystudy._validate import check_option, check_probability
from recoverystudy.errors import (
    DerivedKeyWarning,
    EmptyDataError,
    InsufficientDataError,
    KeyingWarning,
    StatisticsError,
    UndefinedStatisticWarning,
    ZeroVarianceWarning,
)
from recoverystudy.quant._relcore import (
    accumulate_moments,
    bootstrap_alpha_omega,
    omega_delta_se,
    omega_from_cor,
)
from recoverystudy.results import Result, base_provenance, frame_to_html, resolve_seed

__all__ = ["reliability", "Reliability", "pairwise_cov", "omega_total"]


# ----------------------------------------------------------------------------------------------
# matrix building blocks (vectorised: no loop over respondents)
# ----------------------------------------------------------------------------------------------
def pairwise_cov(x: np.ndarray) -> np.ndarray:
    """Covariance matrix over pairwise-complete observations (R ``cov(x, use = "pairwise")``).

    Examples
    --------
    >>> x = np.array([[1, 2], [2, np.nan], [3, 5], [4, 4.0]])
    >>> round(float(pairwise_cov(x)[0, 1]), 6)   # rows 1, 3, 4 only: 33/18
    1.833333
    """
    return accumulate_moments(pd.DataFrame(np.asarray(x, dtype=float))).cov()


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    return k / (k - 1) * (1 - np.trace(c) / c.sum())


def omega_total(x: np.ndarray) -> float:
    """McDonald's omega total from a one-factor minres model (psych ``omega(nfactors = 1)``).

    Items that load negatively are reversed first, as psych's ``omega(flip = TRUE)`` does.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=500)
    >>> x = np.column_stack([f + rng.normal(size=500) for _ in range(5)])
    >>> 0.7 < omega_total(x) < 0.9
    True
    """
    return omega_from_cor(accumulate_moments(pd.DataFrame(np.asarray(x, dtype=float))).cor())[0]


def _first_component_signs(r: np.ndarray) -> np.ndarray:
    """Signs of the loadings on the first principal component (psych ``principal``: column sum >= 0)."""
    with threadpool_limits(limits=1, user_api="blas"):
        vals, vecs = np.linalg.eigh(r)
    v = vecs[:, -1]
    if v.sum() < 0:
        v = -v
    return np.where(v < 0, -1.0, 1.0)


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Reliability(Result):
    """Internal consistency of one scale.

    Attributes
    ----------
    alpha, alpha_std : float
        Raw and standardised Cronbach's alpha.
    alpha_ci : tuple
        Feldt confidence interval of raw alpha (as ``psych::alpha`` and ``pingouin.cronbach_alpha``).
    omega : float
        McDonald's omega total (one-factor minres model, as ``psych::omega(nfactors = 1)``).
    omega_ci : tuple
        Confidence interval of omega: delta method (default) or percentile bootstrap (on request);
        ``provenance["omega_ci_method"]`` says which.
    omega_se : float
        Delta-method standard error of omega (normal theory).
    items : pandas.DataFrame
        Per item: ``mean``, ``sd``, ``n``, ``r_drop`` (corrected item-total correlation),
        ``alpha_if_deleted`` and ``reversed`` (True for items reversed by ``keys=``/``check_keys``).
    n, n_items : int
        Rows used (all rows for pairwise handling) and number of items analysed.
    dropped : tuple of str
        Items left out because everyone gave the same answer (zero variance).
    reversed_items : tuple of str
        Items reversed before the analysis (from ``keys=`` or ``check_keys=True``).
    negative_items : tuple of str
        Items that still load negatively on the first principal component (probably unreversed).
    provenance : dict
    """

    alpha: float
    alpha_std: float
    alpha_ci: tuple[float, float]
    omega: float
    omega_ci: tuple[float, float]
    items: pd.DataFrame
    n: int
    n_items: int
    confidence: float
    provenance: dict[str, Any]
    omega_se: float = np.nan
    dropped: tuple[str, ...] = ()
    reversed_items: tuple[str, ...] = ()
    negative_items: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``statistic``, ``value``, ``ci_low``, ``ci_high``, ``ci_method``."""
        return pd.DataFrame(
            [
                {"statistic": "alpha", "value": self.alpha, "ci_low": self.alpha_ci[0], "ci_high": self.alpha_ci[1],
                 "ci_method": "Feldt"},
                {"statistic": "alpha_std", "value": self.alpha_std, "ci_low": np.nan, "ci_high": np.nan,
                 "ci_method": ""},
                {"statistic": "omega_total", "value": self.omega, "ci_low": self.omega_ci[0],
                 "ci_high": self.omega_ci[1], "ci_method": self.provenance.get("omega_ci_method", "")},
            ]
        )

    def summary(self) -> str:
        pct = round(self.confidence * 100)
        what = self.provenance.get("scale_label") or f"{self.n_items} items"
        weakest = self.items["r_drop"].idxmin()
        if self.provenance.get("omega_ci_method", "").startswith("percentile"):
            how = f"bootstrap, {self.provenance['n_boot']} resamples"
        else:
            how = "delta method"
        text = (
            f"Reliability of {what} (n = {self.n}, {self.n_items} items, {self.provenance['missing']} handling of "
            f"missing answers): Cronbach's alpha = {self.alpha:.2f} ({pct}% CI {self.alpha_ci[0]:.2f} to "
            f"{self.alpha_ci[1]:.2f}, Feldt), standardised alpha = {self.alpha_std:.2f}; McDonald's omega total = "
            f"{self.omega:.2f} ({pct}% CI {self.omega_ci[0]:.2f} to {self.omega_ci[1]:.2f}, {how}). "
            f"The item that fits least is {weakest} "
            f"(corrected item-total r = {self.items.loc[weakest, 'r_drop']:.2f})."
        )
        if self.dropped:
            text += (f" Left out because everyone gave the same answer: {', '.join(self.dropped)} (an item "
                     "that does not vary cannot show whether it measures the same thing).")
        if self.reversed_items:
            text += f" Reversed before the analysis: {', '.join(self.reversed_items)}."
        if self.negative_items:
            text += (f" Warning: {', '.join(self.negative_items)} correlate(s) negatively with the rest of the "
                     "scale and were NOT reversed, which lowers alpha; if they are negatively worded, reverse "
                     "them (keys=[...] or check_keys=True).")
        return text

    def _repr_html_(self) -> str:
        return super()._repr_html_() + "<h5>Items</h5>" + frame_to_html(self.items)

    def plot(self) -> Any:
        """Two panels: each item's corrected item-total correlation, and alpha if it were deleted.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        items = self.items
        k = len(items)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(6.0, 2 + 0.5 * k), 3.6), sharey=True)
        y = np.arange(k)
        colours = ["#c0392b" if v < 0 else "#2c7fb8" for v in items["r_drop"]]
        ax1.barh(y, items["r_drop"], color=colours)
        ax1.axvline(0, color="black", linewidth=0.8)
        ax1.set_yticks(y, [f"{i} (reversed)" if r else str(i) for i, r in zip(items.index, items["reversed"])])
        ax1.invert_yaxis()
        ax1.set_xlabel("corrected item-total r")
        ax2.scatter(items["alpha_if_deleted"], y, color="#2c7fb8")
        ax2.axvline(self.alpha, color="#555555", linestyle="--", label=f"alpha = {self.alpha:.2f}")
        ax2.set_xlabel("alpha if item deleted")
        ax2.legend(loc="lower right", fontsize="small")
        fig.suptitle(self.provenance.get("scale_label") or "Reliability by item")
        fig.tight_layout()
        return fig


# ----------------------------------------------------------------------------------------------
# public function
# ----------------------------------------------------------------------------------------------
def _keyed_items(data: pd.DataFrame, instrument: Any, scale: str | None, key: Any) -> tuple[pd.DataFrame, dict]:
    from recoverystudy.quant.instruments import load_instrument
    from recoverystudy.quant.scoring import _item_columns, prepare_items

    inst = load_instrument(instrument, key=key)
    if scale is None:
        scale = "total"
    if scale not in inst.scales:
        raise ValueError(f"{inst.short_title} has no scale {scale!r}; scales are {', '.join(inst.scales)}.")
    reason = inst.refusal_reason(scale)
    if reason:
        from recoverystudy.errors import UnverifiedKeyError

        raise UnverifiedKeyError(f"{reason} {inst.key_hint()}", instrument=inst.id, scales=[scale])
    mapping = _item_columns(data, inst, None)
    values, _, problems = prepare_items(data, inst, mapping, data.index)
    if len(problems):
        from recoverystudy.errors import InvalidResponseError

        raise InvalidResponseError(
            f"{len(problems)} invalid response(s); score the data first to see them (rs.score lists every one).",
            problems=problems)
    cols = list(mapping)
    if inst.reverse_keyed:
        rev = [cols.index(i) for i in inst.reverse_keyed]
        values[:, rev] = inst.response_min + inst.response_max - values[:, rev]
    sc = inst.scales[scale]
    frame = pd.DataFrame(values, columns=cols, index=data.index)[list(sc.items)]
    prov = inst.scale_provenance(scale)
    if prov["status"] == "derived-from-wording":
        warnings.warn(f"{inst.short_title} {scale}: key derived from item wording (recorded in provenance).",
                      DerivedKeyWarning, stacklevel=3)
    return frame, {"instrument": inst.id, "instrument_version": inst.version, "scale": scale,
                   "scale_label": f"{inst.short_title} {sc.label}", "key_provenance": prov}


def reliability(
    data: pd.DataFrame,
    instrument: Any = None,
    scale: str | None = None,
    *,
    key: Any = None,
    keys: Any = None,
    response_range: tuple[float, float] | None = None,
    check_keys: bool = False,
    missing: str = "pairwise",
    confidence: float = 0.95,
    ci: str | None = None,
    n_boot: int | None = None,
    seed: int | None = None,
    n_jobs: int | None = None,
) -> Reliability:
    """Cronbach's alpha (raw, standardised, Feldt CI), omega total (with a CI) and item statistics.

    Parameters
    ----------
    data : pandas.DataFrame
        Item answers. Without *instrument*, every column is an item and numeric.
    instrument : str or Instrument, optional
        Apply this instrument's non-answer codes and reverse keys, and take the items of *scale*.
    scale : str, optional
        Scale of *instrument* (default ``"total"``).
    key : str, path-like or dict, optional
        A key file overlaid on the instrument (see :func:`recoverystudy.load_instrument`).
    keys : list of str, optional
        Items to reverse (negatively worded) for an ad-hoc item set: each becomes ``lo + hi - x``.
    response_range : (lo, hi), optional
        The scale's lowest and highest possible answers used by *keys* and *check_keys* (e.g. ``(1, 5)``).
        By default the lowest and highest answers observed over all items, as ``psych::alpha`` does.
    check_keys : bool, default False
        Reverse the items that load negatively on the first principal component, as
        ``psych::alpha(check.keys = TRUE)``. Without it such items are named in a :class:`KeyingWarning`.
    missing : {"pairwise", "listwise"}, default "pairwise"
        Pairwise-complete covariances (as R psych) or complete rows only.
    confidence : float, default 0.95
    ci : {"analytic", "bootstrap"}, optional
        Interval for omega: ``"analytic"`` (delta method, the default; instant at any size) or
        ``"bootstrap"`` (percentile, *n_boot* row resamples). Giving *n_boot* > 0 alone means bootstrap.
    n_boot : int, optional
        Bootstrap resamples (default 1000 when ``ci="bootstrap"``).
    seed : int, optional
        Seed of the bootstrap (recorded in the provenance).
    n_jobs : int, optional
        Threads for the bootstrap (default: up to two cores).

    Returns
    -------
    Reliability

    Warns
    -----
    ZeroVarianceWarning
        Items everyone answered the same way are left out (as psych does); the rest are analysed.
    KeyingWarning
        Items correlate negatively with the scale (named), or were reversed by ``check_keys``.

    Raises
    ------
    InsufficientDataError
        Fewer than two varying items or three rows.
    StatisticsError
        Non-numeric items, unknown ``keys``, or a Heywood case in the one-factor model.

    Notes
    -----
    Matches R ``psych::alpha`` (raw_alpha, std.alpha, Feldt CI, r.drop, alpha.drop, item means and SDs,
    with ``delete = TRUE`` and ``check.keys``) and ``psych::omega(x, nfactors = 1)$omega.tot`` (psych 2.2.9)
    to 1e-6 (tests/reference/reliability.R and reliability_robust.R). The data are read once, in row
    blocks; alpha, omega and the item statistics share the same pairwise moments. The omega interval is
    the normal-theory delta method (Raykov 2002) on the logit scale (Raykov & Marcoulides 2011), see
    the statistics guide.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=300)
    >>> items = pd.DataFrame({f"i{j}": np.round(f + rng.normal(size=300)) for j in range(6)})
    >>> rel = rs.reliability(items)
    >>> round(rel.alpha, 3), list(rel.items.columns)
    (0.816, ['mean', 'sd', 'n', 'r_drop', 'alpha_if_deleted', 'reversed'])
    >>> rel.provenance["omega_ci_method"]
    'delta method (normal theory, logit scale)'
    """
    check_option("missing", missing, ["pairwise", "listwise"])
    conf = check_probability("confidence", confidence)
    if ci is None:
        ci = "bootstrap" if n_boot else "analytic"
    check_option("ci", ci, ["analytic", "bootstrap"])
    if ci == "bootstrap":
        n_boot = 1000 if n_boot is None else int(n_boot)
        if n_boot < 10:
            raise ValueError(f"n_boot must be at least 10 for a bootstrap interval; got {n_boot}.")
    elif n_boot:
        raise ValueError(f"n_boot={n_boot} is used only with ci='bootstrap'; the analytic interval needs no "
                         "resamples.")
    else:
        n_boot = 0
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame of items; got {type(data).__name__}.")
    if data.shape[0] == 0:
        raise EmptyDataError("The data frame is empty: there are no answers to analyse.")
    extra: dict[str, Any] = {}
    if instrument is not None:
        if keys is not None:
            raise ValueError("keys= is for an ad-hoc item set; the instrument's definition already reverses its "
                             "items (overlay a key file with key= to change them).")
        items, extra = _keyed_items(data, instrument, scale, key)
    else:
        items = data
    bad = [c for c in items.columns if not pd.api.types.is_numeric_dtype(items[c])]
    if bad:
        raise StatisticsError(f"Items must be numeric; non-numeric column(s): "
                              f"{', '.join(map(repr, bad))}. Pass instrument= to apply a definition's codes.",
                              columns=bad)
    cols = list(items.columns)
    names = [str(c) for c in cols]
    rev_user = _check_keys_arg(keys, names)
    if items.shape[1] < 2:
        raise InsufficientDataError(f"Reliability needs at least two items; got {items.shape[1]}.")

    mom = accumulate_moments(items, listwise=(missing == "listwise"))
    n = mom.n_rows
    if n < 3:
        raise InsufficientDataError(f"Reliability needs at least three respondents; got {n} usable rows.")

    # items everyone answered the same way: dropped, as psych::alpha(delete = TRUE)
    var = np.diag(mom.pair_var())
    means = mom.means()
    flat = ~(var > 1e-12 * (1 + means**2))
    dropped = [names[i] for i in np.flatnonzero(flat)]
    if dropped:
        warnings.warn(f"{', '.join(dropped)}: every respondent gave the same answer (zero variance), so "
                      f"{'it was' if len(dropped) == 1 else 'they were'} left out; the other items are analysed "
                      "(recorded in provenance['dropped_zero_variance']).", ZeroVarianceWarning, stacklevel=2)
        keep = ~flat
        mom = mom.subset(keep)
        names = [nm for nm, kp in zip(names, keep) if kp]
        cols = [c for c, kp in zip(cols, keep) if kp]
        means = means[keep]
        rev_user = [r for r in rev_user if r in names]
    k = len(names)
    if k < 2:
        raise InsufficientDataError(f"Reliability needs at least two items that vary; after leaving out "
                                    f"{', '.join(dropped)} (zero variance) {k} remain.")
    nn = mom.n
    if np.any(nn < 2):
        raise InsufficientDataError("Some pairs of items are never answered together, so their covariance is "
                                    "undefined; use fewer items or more data.")

    if response_range is not None:
        lo, hi = (float(v) for v in response_range)
        if not lo < hi:
            raise ValueError(f"response_range must be (lowest, highest) with lowest < highest; got {response_range}.")
        range_source = "given"
    else:
        lo, hi = float(np.min(mom.lo)), float(np.max(mom.hi))
        range_source = "observed over all items (as psych::alpha)"
    signs = np.array([-1.0 if nm in rev_user else 1.0 for nm in names])
    r_raw = mom.cor()
    pc_signs = _first_component_signs(r_raw * np.outer(signs, signs))
    negative = [names[i] for i in np.flatnonzero(pc_signs < 0)]
    auto: list[str] = []
    if negative and check_keys:
        auto = negative
        signs = signs * pc_signs
        negative = []
        warnings.warn(f"{', '.join(auto)} correlated negatively with the rest of the scale and were reversed "
                      f"(check_keys=True, as psych::alpha(check.keys = TRUE); range {lo:g} to {hi:g}).",
                      KeyingWarning, stacklevel=2)
    elif negative:
        warnings.warn(f"{', '.join(negative)} correlate(s) negatively with the rest of the scale (negative loading on "
                      "the first principal component) and probably should be reversed: pass keys=[...] or "
                      "check_keys=True. Alpha is computed without reversing them.", KeyingWarning, stacklevel=2)
    flip = signs < 0
    reversed_items = tuple(nm for nm, f in zip(names, flip) if f)
    dd = np.outer(signs, signs)
    c = mom.cov() * dd
    r = r_raw * dd
    means = np.where(flip, lo + hi - means, means)

    alpha = _alpha_from_cov(c)
    d = np.sqrt(np.diag(c))
    alpha_std = _alpha_from_cov(c / np.outer(d, d))
    p = 1 - conf
    df1, df2 = n - 1, (n - 1) * (k - 1)
    alpha_ci = (1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2), 1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2))

    total = c.sum()
    row = c.sum(axis=1)
    diag = np.diag(c)
    rest = total - 2 * row + diag  # sum of the submatrix without item i
    r_drop = (row - diag) / np.sqrt(diag * rest)
    if k > 2:
        # alpha of C without item i: (k-1)/(k-2) (1 - (tr C - C_ii) / rest_i), all items at once
        alpha_drop = (k - 1) / (k - 2) * (1 - (np.trace(c) - diag) / rest)
    else:
        alpha_drop = np.full(k, np.nan)
        warnings.warn("Alpha if an item is deleted is undefined with two items.", UndefinedStatisticWarning,
                      stacklevel=2)
    item_table = pd.DataFrame(
        {"mean": means, "sd": np.sqrt(np.diag(mom.pair_var())), "n": np.diag(nn).astype(int),
         "r_drop": r_drop, "alpha_if_deleted": alpha_drop, "reversed": flip}, index=names)
    item_table.index.name = "item"

    omega, lam, om_signs = omega_from_cor(r)
    off = ~np.eye(k, dtype=bool)
    n_eff = float(np.mean(nn[off]))
    omega_se = omega_delta_se(c, r, lam, om_signs, n_eff)
    n_failed = 0
    if ci == "bootstrap":
        seed = resolve_seed(seed)
        x = items[cols].to_numpy(dtype=float, na_value=np.nan)
        if missing == "listwise":
            x = x[~np.isnan(x).any(axis=1)]
        _, boots = bootstrap_alpha_omega(x, n_boot, seed, signs * om_signs, lam, n_jobs=n_jobs)
        n_failed = int(np.isnan(boots).sum())
        omega_ci = (tuple(np.nanquantile(boots, [p / 2, 1 - p / 2]).tolist()) if n_boot - n_failed >= 10
                    else (np.nan, np.nan))
        omega_method = "percentile bootstrap"
    else:
        z = stats.norm.ppf(1 - p / 2)
        if 0 < omega < 1 and np.isfinite(omega_se):
            logit, se_l = np.log(omega / (1 - omega)), omega_se / (omega * (1 - omega))
            omega_ci = tuple((1 / (1 + np.exp(-(logit + np.array([-z, z]) * se_l)))).tolist())
        else:
            omega_ci = (np.nan, np.nan)
        omega_method = "delta method (normal theory, logit scale)"

    prov = base_provenance(
        "reliability", missing=missing, confidence=conf, n_boot=n_boot, seed=seed if n_boot else None,
        n_boot_failed=n_failed, alpha_ci_method="Feldt (psych::alpha)", omega_ci_method=omega_method,
        omega_ci_reference=("Raykov (2002) delta method; logit transformation as Raykov & Marcoulides (2011); "
                            "n = mean pairwise n" if ci == "analytic" else "rows resampled with replacement"),
        omega_model="one factor, minimum residual (psych::omega nfactors=1, flip=TRUE)",
        dropped_zero_variance=dropped, reversed_items=list(reversed_items),
        reversed_by=("keys" if rev_user else "") + (" and " if rev_user and auto else "") +
        ("check_keys" if auto else ""),
        reverse_range=(lo, hi) if reversed_items else None, reverse_range_source=range_source if reversed_items
        else None, negative_items=negative, omega_flipped_items=[nm for nm, sg in zip(names, om_signs) if sg < 0],
        matches=("R psych 2.2.9 alpha(delete = TRUE, check.keys) and omega(nfactors = 1)$omega.tot to 1e-6"),
        **extra)
    return Reliability(float(alpha), float(alpha_std), (float(alpha_ci[0]), float(alpha_ci[1])), float(omega),
                       (float(omega_ci[0]), float(omega_ci[1])), item_table, int(n), int(k), conf, prov,
                       float(omega_se), tuple(dropped), reversed_items, tuple(negative))


def _check_keys_arg(keys: Any, names: list[str]) -> list[str]:
    if keys is None:
        return []
    if isinstance(keys, str):
        keys = [keys]
    keys = [str(kk) for kk in keys]
    unknown = [kk for kk in keys if kk not in names]
    if unknown:
        raise StatisticsError(f"keys names item(s) that are not columns of the data: {', '.join(map(repr, unknown))}; "
                              f"the items are {', '.join(names)}.", items=unknown)
    return keys
