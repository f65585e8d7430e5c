"""Item-level multiple imputation by predictive mean matching within site.

:func:`impute` fills the missing answers of a questionnaire *m* times, so that the scale scores can be
recomputed on each completed data set and the results pooled with Rubin's rules
(:func:`recoverystudy.pool`, :func:`recoverystudy.mi_sensitivity`).

The method is multivariate imputation by chained equations with predictive mean matching, as R
``mice(method = "pmm")`` does it (van Buuren 2018, section 3.4), run separately in every site so that
site differences are kept:

1. every missing answer starts as a random draw from the answers given to that item in that site;
2. for each item in turn, a linear regression of the item on all the other items of the instrument
   (with an intercept; ridge 1e-5 as mice) is fitted to the respondents who answered it; the
   coefficients are drawn from their posterior (mice's ``.norm.draw``: sigma* from a chi-square draw,
   beta* = beta-hat + chol(V) z sigma*);
3. predicted values are computed for answered rows with beta-hat and for unanswered rows with beta*
   ("type 1 matching"); each unanswered row takes the observed answer of one of the ``donors`` (default
   5) answered rows with the closest predicted value, chosen at random;
4. steps 2-3 are repeated for ``iterations`` cycles (default 10); the *m* chains run together, vectorised.

Imputed values are therefore always answers that somebody in the same site actually gave (whole
numbers on the response scale).  Respondents who answered none of the items are left missing by
default: there is nothing to match them on, and a prorated analysis leaves them out too.
The random streams differ from R's, so imputed values are not identical to mice's; the pooling is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._validate import check_columns, check_frame
from recoverystudy.errors import InsufficientDataError, StatisticsError
from recoverystudy.quant.instruments import Instrument, load_instrument
from recoverystudy.quant.scoring import _item_columns, prepare_items
from recoverystudy.results import Result, base_provenance, resolve_seed

__all__ = ["Imputations", "impute"]

RIDGE = 1e-5


@dataclass(frozen=True, repr=False)
class Imputations(Result):
    """*m* completed copies of a data set, with the imputation diagnostics.

    Attributes
    ----------
    datasets : tuple of DataFrame
        The completed data sets (the input's columns and index; item columns numeric, with
        non-answer codes replaced by imputed answers).
    items : tuple of str
        The imputed item columns.
    site : str or None
        The column within whose levels the imputation was done.
    missing : DataFrame
        Boolean mask (rows x items) of the answers that were imputed.
    instrument : Instrument or None
        The instrument whose items were imputed (None for a plain list of columns).
    provenance : dict
    """

    datasets: tuple[pd.DataFrame, ...]
    items: tuple[str, ...]
    site: str | None
    missing: pd.DataFrame
    instrument: Instrument | None
    provenance: dict = field(default_factory=dict, compare=False)
    _observed: pd.DataFrame = field(default=None, compare=False)  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Imputations(m={self.m}, items={len(self.items)}, imputed_answers={int(self.missing.to_numpy().sum())}, "
                f"site={self.site!r})")

    def __len__(self) -> int:
        return len(self.datasets)

    def __getitem__(self, i: int) -> pd.DataFrame:
        return self.datasets[i]

    @property
    def m(self) -> int:
        """Number of imputed data sets."""
        return len(self.datasets)

    def long(self) -> pd.DataFrame:
        """All completed data sets stacked, with an ``imputation`` column 1..m (``mice::complete(, "long")``)."""
        return pd.concat([d.assign(imputation=i + 1) for i, d in enumerate(self.datasets)])

    def to_frame(self) -> pd.DataFrame:
        """Per item: answers missing, observed mean, mean of the imputed answers (over all m), and the difference."""
        miss = self.missing.to_numpy()
        obs = self._observed.to_numpy(dtype=float)
        stack = np.stack([d[list(self.items)].to_numpy(dtype=float) for d in self.datasets])
        n_mis = miss.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            imp_mean = np.where(n_mis > 0, np.where(miss, stack, 0.0).sum(axis=(0, 1)) / (n_mis * self.m), np.nan)
        obs_mean = np.nanmean(np.where(miss, np.nan, obs), axis=0)
        return pd.DataFrame({"item": list(self.items), "n_missing": n_mis, "pct_missing": 100 * n_mis / len(miss),
                             "observed_mean": obs_mean, "imputed_mean": imp_mean,
                             "difference": imp_mean - obs_mean})

    def summary(self) -> str:
        """Plain-words account of what was imputed and how."""
        tab = self.to_frame()
        total = int(tab["n_missing"].sum())
        n_rows, k = self.missing.shape
        where = f"within each level of {self.site!r}" if self.site else "over all respondents"
        p = self.provenance
        lines = [
            f"{self.m} imputed data sets (seed {p['seed']}): {total} missing answers out of {n_rows * k} "
            f"({100 * total / max(n_rows * k, 1):.1f}%) across {k} items were filled by predictive mean matching "
            f"{where} ({p['donors']} donors, {p['iterations']} iterations; as R mice method 'pmm').",
        ]
        if p.get("left_missing"):
            lines.append(f"{p['left_missing']} respondents answered none of the items and were left missing.")
        if total:
            worst = tab.loc[tab["difference"].abs().idxmax()]
            lines.append(f"The largest gap between the mean imputed and the mean observed answer is "
                         f"{worst['difference']:+.2f} (item {worst['item']}); large gaps suggest answers are not "
                         "missing at random given the other items, which no imputation can fix.")
        lines.append("Analyse each data set and pool with Rubin's rules (rs.mi_analyse, rs.mi_sensitivity).")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Observed against imputed item means (a diagnostic like mice's ``stripplot``)."""
        import matplotlib.pyplot as plt

        tab = self.to_frame().loc[lambda t: t["n_missing"] > 0]
        if ax is None:
            fig, ax = plt.subplots(figsize=(max(5.0, 0.25 * len(self.items) + 2), 3.5))
        else:
            fig = ax.figure
        x = np.arange(len(tab))
        ax.plot(x, tab["observed_mean"], "o", color="tab:blue", label="observed answers")
        ax.plot(x, tab["imputed_mean"], "x", color="tab:red", label="imputed answers")
        ax.set_xticks(x, tab["item"], rotation=90, fontsize="small")
        ax.set_ylabel("mean answer")
        ax.set_title(f"Imputation diagnostics ({self.m} data sets)")
        ax.legend(fontsize="small")
        fig.tight_layout()
        return fig


def _norm_draw_pmm(X: np.ndarray, j: int, obs: np.ndarray, mis: np.ndarray, yobs: np.ndarray, donors: int,
                   rng: np.random.Generator) -> np.ndarray:
    """One PMM step for item *j* in all m chains at once; returns (m, n_mis) imputed values."""
    m = X.shape[0]
    others = np.delete(X, j, axis=2)
    A = np.concatenate([np.ones((m, obs.size, 1)), others[:, obs, :]], axis=2)   # (m, n_o, p)
    B = np.concatenate([np.ones((m, mis.size, 1)), others[:, mis, :]], axis=2)
    p = A.shape[2]
    At = np.swapaxes(A, 1, 2)
    xtx = At @ A
    idx = np.arange(p)
    xtx[:, idx, idx] *= 1.0 + RIDGE
    # xtx = L L'; with w = L^-1 X'y, beta-hat = L'^-1 w and beta* = L'^-1 (w + z sigma*), whose covariance
    # sigma*^2 (X'X)^-1 is mice's .norm.draw (chol(V) z sigma*), solved in one batched triangular system
    Lx = np.linalg.cholesky(xtx)
    w = np.linalg.solve(Lx, (At @ yobs)[..., None])                                 # (m, p, 1)
    first = (A @ np.linalg.solve(np.swapaxes(Lx, 1, 2), w))[..., 0]                  # fitted, beta-hat
    rss = ((yobs[None, :] - first) ** 2).sum(axis=1)
    df = max(obs.size - p, 1)
    sigma = np.sqrt(rss / rng.chisquare(df, size=m))
    z = rng.standard_normal((m, p, 1)) * sigma[:, None, None]
    beta = np.linalg.solve(np.swapaxes(Lx, 1, 2), w + z)[..., 0]
    fitted = first
    yhat_mis = (B @ beta[..., None])[..., 0]
    dist = np.abs(yhat_mis[:, :, None] - fitted[:, None, :])                       # (m, n_mis, n_obs)
    d = min(donors, obs.size)
    nearest = np.argpartition(dist, d - 1, axis=2)[:, :, :d] if d < obs.size else np.broadcast_to(
        np.arange(obs.size), dist.shape)
    pick = rng.integers(0, d, size=yhat_mis.shape)
    donor = np.take_along_axis(nearest, pick[..., None], axis=2)[..., 0]
    return yobs[donor]


def impute(
    data: pd.DataFrame,
    instrument: str | Instrument | Sequence[str],
    *,
    items: Any = None,
    site: str | None = "site",
    m: int = 20,
    seed: int | None = None,
    donors: int = 5,
    iterations: int = 10,
    impute_empty: bool = False,
) -> Imputations:
    """Impute missing item answers *m* times by predictive mean matching within site.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    instrument : str, Instrument or list of str
        An instrument (its items are imputed; non-answer codes such as "don't know" count as missing,
        out-of-range values raise an error) or a list of numeric item columns.
    items : mapping or list, optional
        Item columns of the instrument when they are not named by the item ids (as in :func:`score`).
    site : str or None, default="site"
        Impute separately within each level of this column (None: all respondents together).
    m : int, default=20
        Number of imputed data sets.
    seed : int, optional
        Seed of the random draws (recorded in the provenance; a fresh one is chosen when None).
    donors : int, default=5
        Candidate donors per missing answer (mice's ``donors``).
    iterations : int, default=10
        Chained-equation cycles (mice's ``maxit`` is 5 by default).
    impute_empty : bool, default=False
        Also impute respondents who answered none of the items (they have nothing to match on).

    Returns
    -------
    Imputations

    Examples
    --------
    >>> import recoverystudy as rs
    >>> su = rs.load_example("six_sites").service_users
    >>> imp = rs.impute(su, "wai-sr", site="site", m=3, seed=1)
    >>> imp.m, int(imp.missing.to_numpy().sum()), imp.provenance["left_missing"]  # answers filled; empty forms
    (3, 211, 11)
    """
    check_frame(data)
    if not isinstance(m, int | np.integer) or m < 2:
        raise ValueError(f"m must be a whole number of imputations, at least 2; got {m!r}.")
    if not isinstance(donors, int | np.integer) or donors < 1:
        raise ValueError(f"donors must be a whole number >= 1; got {donors!r}.")
    if not isinstance(iterations, int | np.integer) or iterations < 1:
        raise ValueError(f"iterations must be a whole number >= 1; got {iterations!r}.")
    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    inst: Instrument | None = None
    if isinstance(instrument, str | Instrument):
        inst = load_instrument(instrument)
        mapping = _item_columns(data, inst, items)
        cols = list(mapping.values())
        values, _, problems = prepare_items(data, inst, mapping, data.index)
        if len(problems):
            first = problems.iloc[0]
            raise StatisticsError(
                f"{len(problems)} answers are outside {inst.short_title}'s response scale or not whole numbers "
                f"(first: respondent {first['respondent']!r}, column {first['column']!r}, value {first['value']!r}); "
                "correct them (or set them missing) before imputing.")
    else:
        cols = list(instrument)
        check_columns(data, cols, what="item column")
        bad = [c for c in cols if not pd.api.types.is_numeric_dtype(data[c])]
        if bad:
            raise StatisticsError(f"Item columns must be numeric to impute; not numeric: {bad}.")
        values = data[cols].to_numpy(dtype=float)
    if len(cols) < 2:
        raise InsufficientDataError("Predictive mean matching needs at least two items to predict from each other.")
    miss = np.isnan(values)
    empty = miss.all(axis=1)
    target = miss & (~empty[:, None] if not impute_empty else True)
    if site is not None:
        check_columns(data, [site], what="site column")
        if data[site].isna().any():
            rows = data.index[data[site].isna()].tolist()[:5]
            raise StatisticsError(f"The site column {site!r} is missing for rows {rows}; give every row a site.")
        codes, levels = pd.factorize(data[site], sort=True)
    else:
        codes, levels = np.zeros(len(data), dtype=int), pd.Index(["all"])
    out = np.broadcast_to(values, (m, *values.shape)).copy()
    for g, level in enumerate(levels):
        rows = np.flatnonzero(codes == g)
        Xs = out[:, rows, :]
        tgt = target[rows]
        obs_mask = ~miss[rows]
        for j in range(len(cols)):
            n_obs = int(obs_mask[:, j].sum())
            if tgt[:, j].any() and n_obs < 2:
                raise InsufficientDataError(
                    f"Item {cols[j]!r} has {n_obs} answer(s) in site {level!r}: at least 2 are needed to impute it "
                    "within site (use site=None to impute over all sites).")
            if tgt[:, j].any():
                yobs = values[rows[obs_mask[:, j]], j]
                Xs[:, tgt[:, j], j] = rng.choice(yobs, size=(m, int(tgt[:, j].sum())))
        # rows still holding NaN (left-missing empty respondents) take part in no regression
        usable = ~np.isnan(Xs[0]).any(axis=1)
        for _ in range(iterations):
            for j in range(len(cols)):
                mis = np.flatnonzero(tgt[:, j])
                if mis.size == 0:
                    continue
                obs = np.flatnonzero(obs_mask[:, j] & usable)
                yobs = values[rows[obs], j]
                Xs[:, mis, j] = _norm_draw_pmm(Xs, j, obs, mis, yobs, donors, rng)
        out[:, rows, :] = Xs
    datasets = []
    for i in range(m):
        d = data.copy()
        for j, c in enumerate(cols):
            d[c] = out[i, :, j]
        datasets.append(d)
    prov = base_provenance(
        "predictive_mean_matching", matches="R mice::mice(method = 'pmm') (same algorithm; different random streams)",
        seed=seed, m=int(m), donors=int(donors), iterations=int(iterations), ridge=RIDGE, site=site,
        instrument=inst.id if inst else None, instrument_version=inst.version if inst else None,
        left_missing=int(empty.sum()) if not impute_empty else 0,
        non_answers="counted as missing and imputed" if inst else None,
        reference="van Buuren (2018) Flexible Imputation of Missing Data, 2nd ed., section 3.4",
    )
    return Imputations(datasets=tuple(datasets), items=tuple(cols), site=site,
                       missing=pd.DataFrame(target, index=data.index, columns=cols), instrument=inst,
                       provenance=prov, _observed=pd.DataFrame(values, index=data.index, columns=cols))
