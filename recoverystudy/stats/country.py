"""A country contrast (England vs Wales) when there are only a handful of sites.

With 6 sites split 4 vs 2, every method that treats people as independent overstates the evidence:
the comparison has 6 units, not 450. ``rs.country_effect`` reports

* the site-level mean difference (mean of the site means in one country minus the other);
* an exact permutation test over site labels, with its attainable p floor (4 vs 2: C(6, 2) = 15
  arrangements, so p cannot go below 1/15 = 0.067);
* a wild cluster bootstrap p-value (null imposed, Webb's six-point weights, cluster-robust t),
  enumerating all 6^G weight vectors when that is feasible;
* the mixed-model estimate (random site intercept, country as a fixed effect).

Anything with fewer than 10 sites is labelled exploratory, with a :class:`FewClustersWarning`.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from functools import lru_cache
from math import comb
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._validate import check_columns, check_frame, check_numeric
from recoverystudy.errors import ExclusionWarning, FewClustersWarning, InsufficientDataError, StatisticsError
from recoverystudy.results import Result, base_provenance, resolve_seed

__all__ = ["country_effect", "CountryEffect", "WEBB_WEIGHTS"]

#: Webb's six-point distribution: +-sqrt(1/2), +-1, +-sqrt(3/2), each with probability 1/6.
WEBB_WEIGHTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_ENUMERATE_LIMIT = 60_000


@dataclass(frozen=True, repr=False)
class CountryEffect(Result):
    """Site-level country contrast with few-cluster inference.

    Attributes
    ----------
    estimate : float
        Mean of the site means in ``group`` minus that in ``reference``.
    permutation_p, p_floor : float
        Exact two-sided permutation p over site labels and the smallest p it can reach.
    n_arrangements : int
    wild_bootstrap_p : float
        Wild cluster bootstrap (WCR, Webb weights) two-sided p of the individual-level OLS contrast.
    mixed_model_estimate, mixed_model_se : float
        Country coefficient from a random-site-intercept model (REML).
    exploratory : bool
        True with fewer than 10 sites.
    site_means : pandas.DataFrame
    provenance : dict
    """

    value: str
    reference: str
    group: str
    estimate: float
    permutation_p: float
    p_floor: float
    n_arrangements: int
    wild_bootstrap_p: float
    wild_bootstrap_t: float
    n_weight_vectors: int
    mixed_model_estimate: float
    mixed_model_se: float
    exploratory: bool
    n_sites: int
    site_means: pd.DataFrame
    provenance: dict[str, Any]

    @property
    def direction(self) -> str:
        """Which way the contrast is taken, e.g. ``"Wales minus England"``."""
        return f"{self.group} minus {self.reference}"

    @property
    def estimate_column(self) -> str:
        """A column name that states the direction, e.g. ``"wales_minus_england"``."""
        return f"{self.group}_minus_{self.reference}".lower().replace(" ", "_")

    def to_frame(self) -> pd.DataFrame:
        """One row per method: ``method, <group>_minus_<reference>, statistic, p, p_floor``.

        The estimate column names its direction (for example ``wales_minus_england``)."""
        return pd.DataFrame(
            [
                {"method": "site-level mean difference, exact permutation", "estimate": self.estimate,
                 "statistic": np.nan, "p": self.permutation_p, "p_floor": self.p_floor},
                {"method": "wild cluster bootstrap (Webb weights, null imposed)", "estimate": self.estimate_ols,
                 "statistic": self.wild_bootstrap_t, "p": self.wild_bootstrap_p,
                 "p_floor": 1 / self.n_weight_vectors},
                {"method": "mixed model (random site intercept, REML)", "estimate": self.mixed_model_estimate,
                 "statistic": self.mixed_model_estimate / self.mixed_model_se, "p": np.nan, "p_floor": np.nan},
            ]
        ).rename(columns={"estimate": self.estimate_column})

    def plot(self, ax: Any = None) -> Any:
        """The observed contrast against its exact permutation distribution over site labels (a Figure)."""
        from recoverystudy.stats.plots import permutation_plot

        return permutation_plot(self.site_means, group=self.group, reference=self.reference,
                                estimate=self.estimate, value=self.value, ax=ax)

    @property
    def estimate_ols(self) -> float:
        return float(self.provenance["ols_estimate"])

    def summary(self) -> str:
        g, r = self.group, self.reference
        text = (
            f"{self.value}: the mean of the {g} site means minus the mean of the {r} site means is "
            f"{self.estimate:.2f} ({self.n_sites} sites). Exact permutation test over site labels: p = "
            f"{self.permutation_p:.3f} ({self.n_arrangements} possible arrangements, so the smallest possible p is "
            f"{self.p_floor:.3f}). Wild cluster bootstrap (Webb weights): p = {self.wild_bootstrap_p:.3f}. "
            f"Mixed model: {g} - {r} = {self.mixed_model_estimate:.2f} (SE {self.mixed_model_se:.2f})."
        )
        if "wild_bootstrap_caveat" in self.provenance:
            text += " " + self.provenance["wild_bootstrap_caveat"]
        if self.exploratory:
            text += (
                f" This comparison is EXPLORATORY: it rests on only {self.n_sites} sites, not on the number of people. "
                "With so few sites, standard errors are unreliable and even an exact test cannot reach a small p "
                f"(here never below {self.p_floor:.3f}); treat any difference as a question for future studies, "
                "not a finding."
            )
        return text


def _cluster_robust_t(X, y, g, G):
    """OLS coefficient on the last column of X and its CR1 cluster-robust t."""
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    e = y - X @ beta
    scores = np.zeros((G, X.shape[1]))
    np.add.at(scores, g, X * e[:, None])
    N, k = X.shape
    adj = G / (G - 1) * (N - 1) / (N - k)
    V = adj * xtx_inv @ (scores.T @ scores) @ xtx_inv
    return beta[-1], beta[-1] / np.sqrt(V[-1, -1])


@lru_cache(maxsize=8)
def _all_weight_vectors(G: int) -> np.ndarray:
    """Every vector of G Webb weights (6^G rows), built once per G (read-only)."""
    W = np.array(list(itertools.product(WEBB_WEIGHTS, repeat=G)))
    W.flags.writeable = False
    return W


def _wild_bootstrap(X, y, g, G, n_boot, rng):
    """WCR bootstrap with Webb weights; all 6^G weight vectors when feasible. Returns (p, t, n_vectors)."""
    if 6**G <= _ENUMERATE_LIMIT:
        W = _all_weight_vectors(G)
    else:
        W = rng.choice(WEBB_WEIGHTS, size=(n_boot, G))
    t_star, t_obs = _wild_t(X, y, g, G, W)
    p = float(np.mean(np.abs(t_star) >= abs(t_obs) - 1e-12))
    return p, float(t_obs), len(W)


def _wild_t(X, y, g, G, W):
    """Bootstrap t statistics for weight vectors W (B x G), null imposed; and the observed t."""
    N, k = X.shape
    _, t_obs = _cluster_robust_t(X, y, g, G)
    # restricted (null-imposed) model: drop the tested column
    Xr = X[:, :-1]
    beta_r = np.linalg.lstsq(Xr, y, rcond=None)[0]
    fit_r = Xr @ beta_r
    e_r = y - fit_r
    xtx_inv = np.linalg.inv(X.T @ X)
    # per-cluster pieces, so every bootstrap draw is a matrix product (no loop over draws or people)
    Xg_fit = np.zeros((G, k))
    np.add.at(Xg_fit, g, X * fit_r[:, None])
    Xg_e = np.zeros((G, k))
    np.add.at(Xg_e, g, X * e_r[:, None])
    XgXg = np.zeros((G, k, k))
    np.add.at(XgXg, g, X[:, :, None] * X[:, None, :])
    Xty = Xg_fit.sum(0)[None, :] + W @ Xg_e  # B x k
    beta = Xty @ xtx_inv.T  # B x k
    # cluster scores u_g = X_g' y*_g - X_g' X_g beta
    u = Xg_fit[None, :, :] + W[:, :, None] * Xg_e[None, :, :] - np.einsum("gkl,bl->bgk", XgXg, beta)
    meat = np.einsum("bgk,bgl->bkl", u, u)
    adj = G / (G - 1) * (N - 1) / (N - k)
    # only the tested coefficient's variance: the last row and column of xtx_inv meat xtx_inv
    v_last = adj * np.einsum("l,blm,m->b", xtx_inv[-1], meat, xtx_inv[:, -1])
    return beta[:, -1] / np.sqrt(v_last), t_obs


def country_effect(
    data: pd.DataFrame,
    value: str,
    site: str,
    country: str,
    *,
    reference: str | None = None,
    n_boot: int = 9999,
    seed: int | None = None,
) -> CountryEffect:
    """Compare two countries whose people are clustered in a few sites, honestly.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    value, site, country : str
        Outcome, site and country columns. Country must be constant within each site.
    reference : str, optional
        The country subtracted (default: the first label in sorted order, e.g. "England").
    n_boot : int, default 9999
        Wild bootstrap draws when the 6^G weight vectors are too many to enumerate (G > 6).
    seed : int, optional

    Returns
    -------
    CountryEffect

    Raises
    ------
    InsufficientDataError
        Not exactly two countries, or a country with no site.
    StatisticsError
        Country varies within a site (names the site).

    Examples
    --------
    >>> import recoverystudy as rs, warnings
    >>> rng = np.random.default_rng(0)
    >>> site = np.repeat(["E1", "E2", "E3", "E4", "W1", "W2"], 30)
    >>> country = np.where(np.char.startswith(site, "E"), "England", "Wales")
    >>> y = rng.normal(50, 8, 180)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = rs.country_effect(pd.DataFrame({"y": y, "site": site, "country": country}), "y", "site", "country")
    >>> res.n_arrangements, round(res.p_floor, 4), res.exploratory
    (15, 0.0667, True)
    """
    check_frame(data)
    check_columns(data, [value, site, country])
    y_all = check_numeric(data, value)
    keep = y_all.notna() & data[site].notna() & data[country].notna()
    if not keep.any():
        raise InsufficientDataError(f"{value!r} has no usable values.", column=value)
    if (~keep).any():
        warnings.warn(f"{int((~keep).sum())} row(s) with a missing value, site or country were left out.",
                      ExclusionWarning, stacklevel=2)
    frame = data.loc[keep, [site, country]].assign(_y=y_all[keep])
    per_site = frame.groupby(site, sort=True)[country].nunique()
    mixed = per_site[per_site > 1]
    if len(mixed):
        raise StatisticsError(f"Country must be the same for everyone in a site; it varies within site(s) "
                              f"{', '.join(map(repr, mixed.index))}.", sites=list(mixed.index))
    site_tab = frame.groupby(site, sort=True).agg(country=(country, "first"), n=("_y", "size"), mean=("_y", "mean"))
    countries = sorted(site_tab["country"].unique())
    if len(countries) != 2:
        raise InsufficientDataError(f"country_effect compares exactly two countries; found {countries!r}.")
    ref = countries[0] if reference is None else reference
    if ref not in countries:
        raise ValueError(f"reference must be one of {countries!r}; got {reference!r}.")
    grp = countries[1] if ref == countries[0] else countries[0]
    G = len(site_tab)
    in_grp = (site_tab["country"] == grp).to_numpy()
    if in_grp.sum() == 0 or (~in_grp).sum() == 0:  # pragma: no cover - guarded by the two-country check
        raise InsufficientDataError("Each country needs at least one site.")
    means = site_tab["mean"].to_numpy()
    estimate = float(means[in_grp].mean() - means[~in_grp].mean())

    # exact permutation over site labels
    k = int(in_grp.sum())
    combos = np.array(list(itertools.combinations(range(G), k)))
    mask = np.zeros((len(combos), G), dtype=bool)
    mask[np.arange(len(combos))[:, None], combos] = True
    perm = (mask * means).sum(1) / k - (~mask * means).sum(1) / (G - k)
    p_perm = float(np.mean(np.abs(perm) >= abs(estimate) - 1e-12))
    n_arr = comb(G, k)

    # wild cluster bootstrap on the individual-level OLS contrast
    g_codes = pd.Categorical(frame[site], categories=site_tab.index).codes
    X = np.column_stack([np.ones(len(frame)), (frame[country] == grp).to_numpy(dtype=float)])
    yv = frame["_y"].to_numpy(dtype=float)
    ols_est = float(np.linalg.lstsq(X, yv, rcond=None)[0][1])
    seed = resolve_seed(seed)
    p_wild, t_obs, n_w = _wild_bootstrap(X, yv, g_codes, G, n_boot, np.random.default_rng(seed))

    # mixed model with country as a fixed effect
    from recoverystudy.stats.multilevel import site_model

    mm_data = pd.DataFrame({"_y": yv, "_site": frame[site].to_numpy(), "_grp": X[:, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        mm = site_model(mm_data, "_y", "_site", fixed=["_grp"], n_boot=0)
    row = mm.fixed_effects.set_index("term").loc["_grp"]

    exploratory = G < 10
    if exploratory:
        warnings.warn(f"Only {G} sites: the {grp} vs {ref} contrast is exploratory (smallest attainable permutation "
                      f"p = {1 / n_arr:.3f}).", FewClustersWarning, stacklevel=2)
    prov = base_provenance(
        "country_effect", value=value, reference=ref, group=grp, seed=seed, ols_estimate=ols_est,
        permutation="exact, all C(G, k) assignments of country labels to sites, two-sided |difference|",
        wild_bootstrap="WCR (null imposed), Webb six-point weights, CR1 cluster-robust t, two-sided; "
                       + ("all 6^G weight vectors enumerated" if 6**G <= _ENUMERATE_LIMIT else f"{n_boot} draws"),
        mixed_model=mm.provenance["model"].replace("_y", value).replace("_grp", f"[{country} == {grp}]"),
        exploratory_rule="fewer than 10 sites")
    if min(k, G - k) == 1:
        lone = grp if k == 1 else ref
        prov["wild_bootstrap_caveat"] = (
            f"Only one {lone} site: the wild cluster bootstrap is unreliable when a single cluster carries the "
            "contrast (MacKinnon & Webb 2017); do not rely on its p value.")
    return CountryEffect(value, ref, grp, estimate, p_perm, 1 / n_arr, n_arr, p_wild, t_obs, n_w,
                         float(row["estimate"]), float(row["se"]), exploratory, G, site_tab.reset_index(), prov)
