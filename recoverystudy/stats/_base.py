"""Small numerical helpers shared by the comparison modules (private).

* :func:`prepare_groups` - clean a (value, site) pair of columns into integer group codes, with every
  exclusion recorded;
* :func:`group_moments` - per-group n, mean and variance with ``np.bincount`` (no Python loop per row);
* :func:`descriptives` - the per-site table (R quantile type 7, t interval for the mean);
* :func:`adjust_pvalues` - ``p.adjust`` (holm, hochberg, bonferroni, BH, BY, none).

Distributions (bootstrap percentile intervals, the studentized range) are in
:mod:`recoverystudy.stats._distributions`, ranks and the Kruskal-Wallis H in
:mod:`recoverystudy.stats._ranks`, p-value wording in :mod:`recoverystudy.stats._words`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recoverystudy._validate import check_columns, check_frame, check_option
from recoverystudy.errors import EmptyDataError, ExclusionWarning, InsufficientDataError, StatisticsError
from recoverystudy.stats._ranks import RankedGroups, rank_groups, small_codes

ADJUST_METHODS = ("holm", "hochberg", "bonferroni", "bh", "by", "none")
#: how each adjustment is named in plain-English summaries
ADJUST_NAMES = {"holm": "Holm", "hochberg": "Hochberg", "bonferroni": "Bonferroni", "bh": "Benjamini–Hochberg",
                "by": "Benjamini–Yekutieli", "none": "no"}


# --------------------------------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Groups:
    """Cleaned one-way data: values, integer codes 0..k-1 and the site labels in order."""

    y: np.ndarray
    codes: np.ndarray
    labels: tuple
    n: np.ndarray
    exclusions: pd.DataFrame
    value: str
    site: str

    @property
    def k(self) -> int:
        return len(self.labels)

    @property
    def n_total(self) -> int:
        return int(self.y.size)

    @cached_property
    def moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-site (n, mean, variance), computed once."""
        return group_moments(self.y, self.codes, self.k)

    @cached_property
    def ranked(self) -> RankedGroups:
        """The one sort of the pooled values (ranks, ties, H), shared by every rank-based step."""
        return rank_groups(self.y, self.codes, self.k)

    @cached_property
    def values_by_site(self) -> np.ndarray:
        """The values grouped by site (site order), ascending within each site; computed once.

        Taken from :attr:`ranked` when the data have been ranked already; otherwise a radix sort of the
        site codes and one sort per site.
        """
        if "ranked" in self.__dict__:
            return self.ranked.values_by_site()
        ys = self.y[np.argsort(small_codes(self.codes, self.k), kind="stable")]
        starts = np.concatenate([[0], np.cumsum(self.n)])
        for g in range(self.k):
            ys[starts[g] : starts[g + 1]].sort()
        return ys


EXCLUSION_COLUMNS = ["outcome", "reason", "site", "n_rows", "rows"]


def _site_order(sites: pd.Series) -> list:
    """Site labels in analysis order: category order for categoricals, else sorted."""
    if isinstance(sites.dtype, pd.CategoricalDtype):
        return list(sites.cat.categories)
    uniq = [u for u in pd.unique(sites) if not pd.isna(u)]
    try:
        return sorted(uniq)
    except TypeError:  # mixed types: sort by their text
        return sorted(uniq, key=str)


def prepare_groups(data: Any, value: str, site: str, *, min_per_group: int = 2) -> Groups:
    """Validate and clean one outcome; exclusions are recorded (and warned about where they matter).

    Rows with a missing outcome or a missing site are excluded and counted.  Sites with fewer than
    *min_per_group* usable observations are excluded with an :class:`ExclusionWarning`.  Raises
    :class:`InsufficientDataError` if fewer than two sites remain.

    >>> g = prepare_groups(pd.DataFrame({"y": [1, 2, 3, 4.0], "s": ["a", "a", "b", "b"]}), "y", "s")
    >>> g.labels, g.codes.tolist(), g.n.tolist()
    (('a', 'b'), [0, 0, 1, 1], [2, 2])
    """
    data = check_frame(data)
    if not isinstance(value, str):
        raise TypeError(f"value must be a column name (str); got {type(value).__name__}.")
    if not isinstance(site, str):
        raise TypeError(f"site must be a column name (str); got {type(site).__name__}.")
    check_columns(data, [value, site])
    if value == site:
        raise ValueError(f"value and site must be different columns; both are {value!r}.")
    raw = data[value]
    if pd.api.types.is_bool_dtype(raw):
        raise StatisticsError(
            f"Column {value!r} holds true/false values, not scores; convert it to numbers first.",
            column=value,
        )
    converted = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & converted.isna()
    if bad.any():
        rows = list(raw.index[bad.to_numpy()])
        examples = ", ".join(f"row {idx!r}: {val!r}" for idx, val in raw[bad].head(5).items())
        raise StatisticsError(
            f"Column {value!r} must hold numbers; found {int(bad.sum())} non-numeric value(s) "
            f"({examples}{', ...' if bad.sum() > 5 else ''}).",
            column=value,
            rows=rows,
        )
    y_all = converted.to_numpy(dtype=float, na_value=np.nan)
    inf = np.isinf(y_all)
    if inf.any():
        rows = list(raw.index[inf])
        raise StatisticsError(
            f"Column {value!r} holds infinite values in rows {rows[:5]!r}"
            f"{' ...' if len(rows) > 5 else ''}; scores must be finite numbers.",
            column=value,
            rows=rows,
        )
    sites = data[site]
    order = _site_order(sites)
    if isinstance(sites.dtype, pd.CategoricalDtype):
        all_codes = sites.cat.codes.to_numpy().astype(np.int64)
    else:
        all_codes = pd.Categorical(sites, categories=order).codes.astype(np.int64)
    miss_y = np.isnan(y_all)
    miss_s = all_codes < 0
    records: list[dict] = []
    if miss_y.all():
        raise EmptyDataError(
            f"Column {value!r} has no values (all {len(y_all)} are missing); there is nothing to compare.",
            column=value,
        )
    idx = data.index
    if (miss_y & ~miss_s).any():
        m = miss_y & ~miss_s
        records.append(
            {"reason": "missing value", "site": pd.NA, "n_rows": int(m.sum()), "rows": list(idx[m])}
        )
    if miss_s.any():
        records.append(
            {"reason": "missing site", "site": pd.NA, "n_rows": int(miss_s.sum()), "rows": list(idx[miss_s])}
        )
    keep = ~(miss_y | miss_s)
    y = y_all[keep]
    codes = all_codes[keep]
    idx_keep = idx[keep]
    counts = np.bincount(codes, minlength=len(order))
    small = [i for i, c in enumerate(counts) if c < min_per_group]
    warned = []
    for i in small:
        lab = order[i]
        rows = list(idx_keep[codes == i])
        reason = (
            "site with no usable values"
            if counts[i] == 0
            else f"site with fewer than {min_per_group} observations"
        )
        records.append({"reason": reason, "site": lab, "n_rows": int(counts[i]), "rows": rows})
        if counts[i] > 0 or (all_codes == i).any():  # present in the data (not an unused category)
            warned.append(f"{lab!r} (n = {counts[i]})")
    exclusions = pd.DataFrame.from_records(records, columns=EXCLUSION_COLUMNS[1:])
    exclusions.insert(0, "outcome", value)
    if exclusions.empty:
        exclusions = pd.DataFrame({c: pd.Series(dtype=object) for c in EXCLUSION_COLUMNS})
    kept_sites = [i for i in range(len(order)) if counts[i] >= min_per_group]
    if len(kept_sites) < 2:
        present = ", ".join(f"{order[i]!r} (n = {counts[i]})" for i in range(len(order))) or "none"
        raise InsufficientDataError(
            f"Comparing sites on {value!r} needs at least two sites with {min_per_group} or more "
            f"observations each; found {len(kept_sites)}. Sites: {present}.",
            column=value,
            sites=list(order),
        )
    if warned:
        warnings.warn(
            f"Comparing {value!r} by {site!r}: excluded site(s) {', '.join(warned)}; a site needs at least "
            f"{min_per_group} observations with a value to enter the comparison. See .exclusions.",
            ExclusionWarning,
            stacklevel=4,  # the user's call of compare_sites / tukey_hsd ...
        )
    if small:
        remap = np.full(len(order), -1, dtype=np.int64)
        remap[kept_sites] = np.arange(len(kept_sites))
        new = remap[codes]
        keep2 = new >= 0
        y, codes = y[keep2], new[keep2]
    labels = tuple(order[i] for i in kept_sites)
    n = np.bincount(codes, minlength=len(labels))
    return Groups(y=y, codes=codes, labels=labels, n=n, exclusions=exclusions, value=value, site=site)


def group_moments(y: np.ndarray, codes: np.ndarray, k: int, n: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group n, mean and unbiased variance (two-pass, so it stays accurate for large means).

    *n*, the group sizes, when the caller knows them already.  One temporary array of length N.

    >>> n, m, v = group_moments(np.array([1.0, 2, 3, 5]), np.array([0, 0, 1, 1]), 2)
    >>> n.tolist(), m.tolist(), v.tolist()
    ([2, 2], [1.5, 4.0], [0.5, 2.0])
    """
    if n is None:
        n = np.bincount(codes, minlength=k)
    mean = np.bincount(codes, weights=y, minlength=k) / n
    dev = mean[codes]
    np.subtract(y, dev, out=dev)
    dev *= dev
    var = np.bincount(codes, weights=dev, minlength=k) / (n - 1)
    return n, mean, var


def descriptives(groups: Groups, confidence: float = 0.95) -> pd.DataFrame:
    """Per-site descriptive table (see :func:`recoverystudy.compare_sites` for the columns)."""
    n, mean, var = groups.moments
    sd = np.sqrt(var)
    se = sd / np.sqrt(n)
    tq = stats.t.ppf(0.5 + confidence / 2, n - 1)
    ys = groups.values_by_site  # sorted within site, site after site
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])

    def q(p: float) -> np.ndarray:  # R quantile type 7 (numpy "linear"), per group, vectorised
        h = (n - 1) * p
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        return ys[starts + lo] + (h - lo) * (ys[starts + hi] - ys[starts + lo])

    return pd.DataFrame(
        {
            "site": list(groups.labels),
            "n": n.astype(np.int64),
            "mean": mean,
            "sd": sd,
            "se": se,
            "ci_low": mean - tq * se,
            "ci_high": mean + tq * se,
            "median": q(0.5),
            "q1": q(0.25),
            "q3": q(0.75),
            "min": ys[starts],
            "max": ys[starts + n - 1],
        }
    )


# --------------------------------------------------------------------------------------------------
# multiplicity
# --------------------------------------------------------------------------------------------------
def adjust_pvalues(p: Any, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple testing exactly as R ``p.adjust`` does.

    NaN p-values are left as NaN and not counted (as in R).  ``method`` is one of "holm",
    "hochberg", "bonferroni", "bh" (Benjamini-Hochberg), "by" (Benjamini-Yekutieli) or "none".

    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(6).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], "bh").round(6).tolist()
    [0.03, 0.04, 0.04]
    """
    check_option("adjust", method, ADJUST_METHODS)
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = p[ok]
    m = pv.size
    if m == 0:
        return out
    if method == "none":
        adj = pv.copy()
    elif method == "bonferroni":
        adj = np.minimum(1.0, pv * m)
    elif method == "holm":
        o = np.argsort(pv, kind="stable")
        adj = np.empty(m)
        adj[o] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * pv[o]))
    elif method == "hochberg":
        o = np.argsort(pv, kind="stable")[::-1]
        adj = np.empty(m)
        adj[o] = np.minimum(1.0, np.minimum.accumulate((np.arange(m) + 1) * pv[o]))
    else:  # bh, by
        o = np.argsort(pv, kind="stable")[::-1]
        i = np.arange(m, 0, -1)
        q = np.sum(1.0 / np.arange(1, m + 1)) if method == "by" else 1.0
        adj = np.empty(m)
        adj[o] = np.minimum(1.0, np.minimum.accumulate(q * m / i * pv[o]))
    out[ok] = adj
    return out
