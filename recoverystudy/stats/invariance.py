"""Measurement invariance across groups: configural, metric and scalar CFA models (R ``lavaan``).

:func:`invariance` fits the same confirmatory factor model in every group (country or site) three times:

* **configural** - same pattern of loadings, every parameter free per group;
* **metric** - loadings equal across groups (``group.equal = "loadings"``);
* **scalar** - loadings and item intercepts equal; latent means free in groups after the first
  (``group.equal = c("loadings", "intercepts")``);

and compares successive models with chi-square difference tests (``lavTestLRT``), and by the change in
CFI (Cheung & Rensvold 2002: a drop of more than .01 means the stricter model fits worse).  Fit
measures follow ``lavaan::fitMeasures`` exactly (see :mod:`recoverystudy.stats.cfa` for the model):

* chi-square = 2 (logL_saturated - logL_model), df = G (p + p(p+1)/2) - free parameters;
* CFI and TLI against the independence baseline (means and variances free in every group);
* RMSEA = sqrt(max(0, chi2 / (df N) - 1 / N)) sqrt(G), its 90 % CI by inverting the noncentral chi-square;
* SRMR (Bentler): residual covariances and means standardised by the sample SDs, averaged over the
  p(p+1)/2 + p moments, then weighted by N_g / N over groups;
* AIC = -2 logL + 2 k, BIC = -2 logL + k log N;
* MLR: Yuan-Bentler (Mplus variant) scaling factor c = (tr(B1 A1^-1) - tr(B0 A0^-1)) / df with A0 the
  observed information, Huber-White SEs A0^-1 B0 A0^-1 / N, robust CFI/TLI/RMSEA (Brosseau-Liard and
  Savalei; Li and Bentler), and Satorra-Bentler (2001) scaled difference tests.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from recoverystudy._validate import check_columns, check_frame, check_option
from recoverystudy.errors import InsufficientDataError, StatisticsError, UndefinedStatisticWarning
from recoverystudy.results import Result, base_provenance
from recoverystudy.stats.cfa import (
    GroupData,
    MeasurementModel,
    MGModel,
    _group_terms,
    expected_information,
    first_order_information,
    fit_model,
    h1_trace,
    observed_information,
    parse_model,
)

__all__ = ["Invariance", "invariance", "fit_level"]

LEVELS = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts")}
FIT_COLUMNS = ["model", "npar", "chisq", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "srmr",
               "aic", "bic", "logl"]


def _rmsea_ci(x2: float, df: float, N: float, G: int, c: float = 1.0, level: float = 0.90) -> tuple[float, float]:
    if not (np.isfinite(x2) and df > 0):
        return np.nan, np.nan
    hi_p, lo_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(lam: float) -> float:
        return stats.chi2.cdf(x2, df) if lam <= 0 else stats.ncx2.cdf(x2, df, lam)

    if df < 1 or cdf(0) - hi_p < 0:
        low = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - hi_p, 0, x2, xtol=1e-14, rtol=1e-14)
        low = np.sqrt(c * lam / (N * df)) * np.sqrt(G)
    n_r = max(N, 4 * x2)
    if df < 1 or cdf(n_r) - lo_p > 0 or cdf(0) - lo_p < 0:
        high = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - lo_p, 0, n_r, xtol=1e-14, rtol=1e-14)
        high = np.sqrt(c * lam / (N * df)) * np.sqrt(G)
    return low, high


def _cfi(x2, df, x2b, dfb, c=1.0, cb=1.0):
    t1 = max(x2 - c * df, 0.0)
    t2 = max(x2 - c * df, x2b - cb * dfb, 0.0)
    return 1.0 if np.isclose(t1, 0) and np.isclose(t2, 0) else 1 - t1 / t2


def _tli(x2, df, x2b, dfb, c=1.0, cb=1.0):
    t1 = (x2 - c * df) * dfb
    t2 = (x2b - cb * dfb) * df
    return 1 - t1 / t2 if df > 0 and abs(t2) > 0 else 1.0


def _srmr(model: MGModel, data: list[GroupData], theta: np.ndarray) -> float:
    N = sum(d.n for d in data)
    p = model.p
    vi, vj = model.vech_i, model.vech_j
    total = 0.0
    for gd, (mu, sigma) in zip(data, model.implied(theta), strict=True):
        sd = np.sqrt(np.diag(gd.cov))
        rc = ((gd.cov - sigma) / np.outer(sd, sd))[vi, vj]
        rm = (gd.mean - mu) / sd
        total += gd.n / N * np.sqrt((np.sum(rc**2) + np.sum(rm**2)) / (len(vi) + p))
    return total


@dataclass
class LevelFit:
    """One fitted model of the sequence (configural, metric or scalar)."""

    name: str
    model: MGModel
    theta: np.ndarray
    vcov: np.ndarray
    measures: dict[str, float]
    params: pd.DataFrame
    iterations: int


def _logl(data: list[GroupData], f: float) -> float:
    return -0.5 * sum(d.n for d in data) * f


def _h1_logl(model: MGModel, data: list[GroupData]) -> float:
    return -0.5 * sum(gd.n * _group_terms(gd, gd.mean, gd.cov, model.vech_i, model.vech_j)[0] for gd in data)


def _baseline(mm: MeasurementModel, data: list[GroupData], robust: bool, t1: float) -> dict[str, float]:
    base = MGModel(mm, len(data), (), factors=False)
    th, f, _ = fit_model(base, data)
    x2 = 2 * (_h1_logl(base, data) - _logl(data, f))
    dfb = len(data) * base.p * (base.p - 1) / 2
    out = {"chisq": x2, "df": dfb}
    if robust:
        A = observed_information(base, data, th)
        B0 = first_order_information(base, data, th)
        out["scaling"] = (t1 - float(np.trace(np.linalg.solve(A, B0)))) / dfb
    return out


def _heywood(model: MGModel, theta: np.ndarray, labels: list[str]) -> list[str]:
    """Names of negative variances (factor or residual) per group: an improper (Heywood) solution."""
    out = []
    for g, (L, P, T, nu, al) in enumerate(model.matrices(theta)):
        out += [f"factor {model.mm.factors[f]} in {labels[g]}" for f in np.flatnonzero(np.diag(P) < 0)]
        out += [f"residual of {model.items[i]} in {labels[g]}" for i in np.flatnonzero(T < 0)]
    return out


def _std_loadings(model: MGModel, theta: np.ndarray) -> np.ndarray:
    vals = []
    for (L, P, T, nu, al), (mu, sigma) in zip(model.matrices(theta), model.implied(theta), strict=True):
        with np.errstate(invalid="ignore"):  # a negative variance (Heywood case) gives NaN, reported by a warning
            sd_lat = np.sqrt(np.diag(P))
            sd_obs = np.sqrt(np.diag(sigma))
        vals.append((L * sd_lat[None, :] / sd_obs[:, None]))
    return np.stack(vals)                                            # (G, p, q)


def fit_level(mm: MeasurementModel, data: list[GroupData], level: str, estimator: str, baseline: dict,
              t1: float) -> LevelFit:
    """Fit one invariance level and compute its fit measures and parameter table."""
    model = MGModel(mm, len(data), LEVELS[level])
    theta, f, iters = fit_model(model, data)
    N = sum(d.n for d in data)
    G = len(data)
    fiml = data[0].patterns is not None
    logl = _logl(data, f)
    x2 = 2 * (_h1_logl(model, data) - logl)
    df = G * (model.p + model.p * (model.p + 1) / 2) - model.npar
    m = {"npar": model.npar, "chisq": x2, "df": df, "p": stats.chi2.sf(x2, df) if df > 0 else np.nan,
         "cfi": _cfi(x2, df, baseline["chisq"], baseline["df"]), "tli": _tli(x2, df, baseline["chisq"], baseline["df"]),
         "rmsea": np.sqrt(max(x2 / (N * df) - 1 / N, 0.0)) * np.sqrt(G) if df > 0 else 0.0,
         "srmr": _srmr(model, data, theta), "aic": -2 * logl + 2 * model.npar,
         "bic": -2 * logl + model.npar * np.log(N), "logl": logl, "baseline_chisq": baseline["chisq"],
         "baseline_df": baseline["df"]}
    m["rmsea_ci_low"], m["rmsea_ci_high"] = _rmsea_ci(x2, df, N, G)
    if estimator == "MLR":
        A = observed_information(model, data, theta)
        B0 = first_order_information(model, data, theta)
        Ainv = np.linalg.inv(A)
        vcov = Ainv @ B0 @ Ainv / N
        c = (t1 - float(np.trace(Ainv @ B0))) / df
        cb = baseline["scaling"]
        xs, xbs = x2 / c, baseline["chisq"] / cb
        m.update({"scaling_factor": c, "chisq_scaled": xs, "p_scaled": stats.chi2.sf(xs, df),
                  "baseline_scaling_factor": cb, "cfi_scaled": _cfi(xs, df, xbs, baseline["df"]),
                  "tli_scaled": _tli(xs, df, xbs, baseline["df"]),
                  "rmsea_scaled": np.sqrt(max(xs / (N * df) - 1 / N, 0.0)) * np.sqrt(G),
                  "cfi_robust": _cfi(x2, df, baseline["chisq"], baseline["df"], c, cb),
                  "tli_robust": _tli(x2, df, baseline["chisq"], baseline["df"], c, cb),
                  "rmsea_robust": np.sqrt(max(x2 / (N * df) - c / N, 0.0)) * np.sqrt(G)})
        m["rmsea_ci_low_robust"], m["rmsea_ci_high_robust"] = _rmsea_ci(xs, df, N, G, c)
    elif fiml:
        vcov = np.linalg.inv(observed_information(model, data, theta)) / N
    else:
        vcov = np.linalg.inv(expected_information(model, data, theta)) / N
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    # standardised loadings (std.all) with delta-method SEs
    std = _std_loadings(model, theta)
    J = np.zeros((std.size, model.npar))
    for a in range(model.npar):
        h = 1e-6 * max(1.0, abs(theta[a]))
        tp, tm = theta.copy(), theta.copy()
        tp[a] += h
        tm[a] -= h
        J[:, a] = (_std_loadings(model, tp) - _std_loadings(model, tm)).ravel() / (2 * h)
    std_se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", J, vcov, J), 0, None)).reshape(std.shape)
    rows = []
    labels = [d.label for d in data]
    pos = {v: i for i, v in enumerate(model.items)}
    for g in range(G):
        for f_i, (fac, ind) in enumerate(zip(mm.factors, mm.indicators, strict=True)):
            rows.append({"group": labels[g], "lhs": fac, "op": "=~", "rhs": ind[0], "est": 1.0, "se": 0.0,
                         "std": std[g, pos[ind[0]], f_i], "std_se": std_se[g, pos[ind[0]], f_i], "free": False})
    for g, kind, i, j, idx in model.slots:
        lab = model.labels[idx]
        if kind == "L":
            lhs, op, rhs = mm.factors[j], "=~", model.items[i]
            s, s_se = std[g, i, j], std_se[g, i, j]
        else:
            if kind == "P":
                lhs, op, rhs = mm.factors[j], "~~", mm.factors[i]
            elif kind == "T":
                lhs, op, rhs = model.items[i], "~~", model.items[i]
            else:
                lhs, op, rhs = lab[0], "~1", ""
            s = s_se = np.nan
        rows.append({"group": labels[g], "lhs": lhs, "op": op, "rhs": rhs, "est": theta[idx], "se": se[idx],
                     "std": s, "std_se": s_se, "free": True, "equal_across_groups": False, "_idx": idx})
    params = pd.DataFrame(rows)
    counts = params["_idx"].value_counts()
    params["equal_across_groups"] = params["_idx"].map(counts).fillna(1).to_numpy() > 1
    params = params.drop(columns="_idx")
    params.insert(0, "model", level)
    return LevelFit(level, model, theta, vcov, m, params, iters)


@dataclass(frozen=True, repr=False)
class Invariance(Result):
    """Configural, metric and scalar models of one measurement model across groups.

    Attributes
    ----------
    fit : DataFrame
        One row per model: model, npar, chisq, df, p, cfi, tli, rmsea, rmsea_ci_low, rmsea_ci_high,
        srmr, aic, bic, logl (and for MLR the scaled and robust versions).
    comparisons : DataFrame
        Successive models: model, against, df_diff, chisq_diff, p, delta_cfi, delta_rmsea, holds_chisq,
        holds_cfi (chi-square difference as ``lavTestLRT``; Satorra-Bentler 2001 scaled for MLR).
    loadings : DataFrame
        Loadings per model and group: model, group, factor, item, est, se, std (std.all), std_se.
    parameters : DataFrame
        Every parameter of every model (lavaan's ``parameterEstimates`` layout).
    level : str
        The strictest level that holds by both rules: "none", "configural", "metric" or "scalar".
    provenance : dict
    """

    fit: pd.DataFrame
    comparisons: pd.DataFrame
    loadings: pd.DataFrame
    parameters: pd.DataFrame
    level: str
    groups: tuple[str, ...]
    measurement: MeasurementModel
    provenance: dict = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"Invariance(groups={list(self.groups)}, level={self.level!r}, estimator={self.provenance['estimator']!r})"

    def to_frame(self) -> pd.DataFrame:
        """The fit table joined with the comparison with the previous model."""
        return self.fit.merge(self.comparisons, on="model", how="left")

    def summary(self) -> str:
        """Which level of invariance holds, by which rule, and what that allows."""
        p = self.provenance
        fit = self.fit.set_index("model")
        chi = "chi-square" if p["estimator"] == "ML" else "scaled chi-square (Satorra-Bentler 2001)"
        lines = [f"Measurement invariance of {len(self.measurement.factors)} factor(s), {len(self.measurement.items)} "
                 f"items across {len(self.groups)} groups ({', '.join(self.groups)}; N = {p['n']}), estimator "
                 f"{p['estimator']}{', full-information ML for missing answers' if p['missing'] == 'fiml' else ''}."]
        if p["rows_dropped"]:
            lines.append(f"{p['rows_dropped']} rows were left out: "
                         + ("they answered none of the items." if p["missing"] == "fiml" else
                            "they missed at least one item (listwise deletion, lavaan's default; missing='fiml' uses them)."))
        if p["improper_solution"]:
            lines.append("Warning: some variances were estimated below zero (an improper solution) in "
                         + ", ".join(p["improper_solution"]) + " model(s); read those models with caution.")
        c = fit.loc["configural"]
        lines.append(f"Configural model: chi-square({c['df']:.0f}) = {c['chisq']:.2f}, p = {c['p']:.3f}, CFI = {c['cfi']:.3f}, "
                     f"RMSEA = {c['rmsea']:.3f} (90% CI {c['rmsea_ci_low']:.3f} to {c['rmsea_ci_high']:.3f}), "
                     f"SRMR = {c['srmr']:.3f}.")
        for r in self.comparisons.itertuples():
            verdict = "holds" if r.holds_chisq and r.holds_cfi else (
                "holds by the CFI rule but not by the chi-square test" if r.holds_cfi else
                "holds by the chi-square test but not by the CFI rule" if r.holds_chisq else "does not hold")
            lines.append(f"{r.model.capitalize()} against {r.against}: {chi} difference({r.df_diff:.0f}) = "
                         f"{r.chisq_diff:.2f}, p = {r.p:.3f}; change in CFI = {r.delta_cfi:+.3f}. "
                         f"{r.model.capitalize()} invariance {verdict}.")
        lines.append("Rules: a chi-square difference with p >= .05, and a drop in CFI of no more than .01 "
                     "(Cheung & Rensvold 2002). The chi-square test is sensitive to sample size; the CFI rule is the "
                     "one most often used.")
        allows = {
            "scalar": "Scalar invariance holds: the items work the same way in every group, so factor means and "
                      "scale-score means can be compared across groups.",
            "metric": "Only metric invariance holds: correlations and regressions involving the factors can be compared "
                      "across groups, but differences in means may reflect how items are answered, not the construct; "
                      "do not compare scale means without caution (consider partial invariance).",
            "configural": "Only configural invariance holds: the same items measure the same factors, but loadings "
                          "differ, so neither relations nor means are comparable across groups.",
            "none": "Even the configural model fits poorly: the factor structure itself may differ between groups.",
        }
        lines.append(allows[self.level])
        return "\n".join(lines)

    def plot(self) -> Any:
        """Standardised loadings by group for the configural model, and the fit indices by model."""
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 0.8 + 0.32 * len(self.measurement.items) * 1.2))
        conf = self.loadings.loc[self.loadings["model"] == "configural"]
        items = self.measurement.items
        y = np.arange(len(items))
        width = 0.8 / len(self.groups)
        for k, g in enumerate(self.groups):
            sub = conf.loc[conf["group"] == g].set_index("item").reindex(items)
            ax1.barh(y + k * width, sub["std"], height=width, xerr=1.96 * sub["std_se"], label=g, capsize=2)
        ax1.set_yticks(y + 0.4 - width / 2, items)
        ax1.invert_yaxis()
        ax1.set_xlabel("standardised loading (configural)")
        ax1.legend(fontsize="small")
        x = np.arange(len(self.fit))
        ax2.plot(x, self.fit["cfi"], "o-", label="CFI")
        ax2.plot(x, self.fit["rmsea"], "s-", label="RMSEA")
        ax2.plot(x, self.fit["srmr"], "^-", label="SRMR")
        ax2.set_xticks(x, self.fit["model"])
        ax2.set_title(f"level that holds: {self.level}")
        ax2.legend(fontsize="small")
        fig.tight_layout()
        return fig


def _lrt(a: LevelFit, b: LevelFit, estimator: str) -> dict[str, float]:
    ma, mb = a.measures, b.measures
    ddf = mb["df"] - ma["df"]
    d = mb["chisq"] - ma["chisq"]
    if estimator == "MLR":
        cd = (mb["df"] * mb["scaling_factor"] - ma["df"] * ma["scaling_factor"]) / ddf
        d = d / cd
    return {"df_diff": ddf, "chisq_diff": d, "p": stats.chi2.sf(d, ddf)}


def invariance(data: pd.DataFrame, items: Any = None, group: str = "country", *, model: Any = None,
               estimator: str = "ML", missing: str = "listwise", alpha: float = 0.05,
               delta_cfi: float = 0.01) -> Invariance:
    """Test configural, metric and scalar measurement invariance across groups (R ``lavaan::cfa``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent, with the item columns and *group*.
    items : list of str, Instrument or instrument name, optional
        A list of items gives one factor; an :class:`~recoverystudy.Instrument` (or anything with
        ``.scales`` and ``.item_ids``) gives one factor per subscale with established items (the total
        excluded).  Ignored when *model* is given.
    group : str, default="country"
        Grouping column; groups are taken in order of first appearance (the first is the reference).
    model : dict or str, optional
        ``{factor: [items]}`` or lavaan-like lines ``"F1 =~ a + b + c"`` (first item = marker).
    estimator : {"ML", "MLR"}
        ML (``estimator = "ML"``) or robust ML (``"MLR"``: sandwich SEs, scaled statistics).
    missing : {"listwise", "fiml"}
        lavaan's default drops incomplete rows; "fiml" (``missing = "ml"``) uses every answer.
    alpha, delta_cfi : float
        Rules for "holds": chi-square difference p >= alpha and a CFI drop <= delta_cfi.

    Returns
    -------
    Invariance

    Examples
    --------
    >>> import numpy as np, pandas as pd, recoverystudy as rs
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=300)
    >>> d = pd.DataFrame({f"x{i}": f + rng.normal(scale=0.8, size=300) for i in range(1, 5)})
    >>> d["country"] = np.repeat(["England", "Wales"], 150)
    >>> res = rs.invariance(d, ["x1", "x2", "x3", "x4"], group="country")
    >>> res.fit["model"].tolist(), int(res.fit["df"].iloc[0])
    (['configural', 'metric', 'scalar'], 4)
    """
    check_frame(data)
    estimator = check_option("estimator", str(estimator).upper(), ["ML", "MLR"])
    missing = {"ml": "fiml", "fiml": "fiml", "listwise": "listwise"}.get(str(missing).lower(), missing)
    check_option("missing", missing, ["listwise", "fiml"])
    if estimator == "MLR" and missing == "fiml":
        raise StatisticsError("MLR with full-information ML for missing answers is not offered; use estimator='ML' "
                              "with missing='fiml', or estimator='MLR' on complete rows.")
    mm = _resolve_model(items, model)
    check_columns(data, [*mm.items, group], what="column")
    frame = data[[group, *mm.items]].copy()
    if model is None and hasattr(items, "non_answer"):
        frame[mm.items] = _instrument_values(frame[mm.items], items)
    bad = [c for c in mm.items if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise StatisticsError(f"Item columns must be numeric; not numeric: {bad}.")
    if frame[group].isna().any():
        raise StatisticsError(f"{int(frame[group].isna().sum())} rows have no {group!r}; give every row a group.")
    x_all = frame[mm.items].to_numpy(dtype=float)
    empty = np.isnan(x_all).all(axis=1)
    keep = ~empty if missing == "fiml" else ~np.isnan(x_all).any(axis=1)
    dropped = int((~keep).sum())
    labels = list(dict.fromkeys(frame.loc[keep, group]))
    if len(labels) < 2:
        raise InsufficientDataError(f"Invariance needs at least two groups in {group!r}; found {labels}.")
    data_g = []
    for lab in labels:
        rows = keep & (frame[group] == lab).to_numpy()
        x = x_all[rows]
        if len(x) <= len(mm.items):
            raise InsufficientDataError(f"Group {lab!r} has {len(x)} usable rows for {len(mm.items)} items; more rows "
                                        "than items are needed.")
        sd = np.nanstd(x, axis=0)
        if (sd == 0).any():
            raise StatisticsError(f"In group {lab!r} item(s) {[mm.items[i] for i in np.flatnonzero(sd == 0)]} have no "
                                  "variance; a factor model cannot be fitted.")
        data_g.append(GroupData.build(str(lab), x, missing == "fiml"))
    robust = estimator == "MLR"
    # many small (p x p) solves: BLAS threads only add overhead, and thrash on a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        t1 = h1_trace(data_g, *np.tril_indices(len(mm.items))) if robust else np.nan
        base = _baseline(mm, data_g, robust, t1)
        fits = [fit_level(mm, data_g, lev, estimator, base, t1) for lev in LEVELS]
    improper = {f.name: _heywood(f.model, f.theta, [d.label for d in data_g]) for f in fits}
    improper = {k: v for k, v in improper.items() if v}
    if improper:
        warnings.warn("Negative variance estimates (an improper, 'Heywood' solution, which lavaan also reports): "
                      + "; ".join(f"{k}: {', '.join(v)}" for k, v in improper.items())
                      + ". Standardised values involving them are undefined (NaN); the factor model may have too "
                      "few items per factor or factors that are not distinct.", UndefinedStatisticWarning, stacklevel=2)
    fit = pd.DataFrame([{"model": f.name, **f.measures} for f in fits])
    fit = fit[FIT_COLUMNS + [c for c in fit.columns if c not in FIT_COLUMNS]]
    comps = []
    for a, b in zip(fits[:-1], fits[1:], strict=True):
        t = _lrt(a, b, estimator)
        cfi_key = "cfi_robust" if robust else "cfi"
        dc = b.measures[cfi_key] - a.measures[cfi_key]
        comps.append({"model": b.name, "against": a.name, **t, "delta_cfi": dc,
                      "delta_rmsea": b.measures["rmsea"] - a.measures["rmsea"],
                      "holds_chisq": bool(t["p"] >= alpha), "holds_cfi": bool(dc >= -delta_cfi)})
    comparisons = pd.DataFrame(comps)
    level = "configural"
    for r in comps:
        if r["holds_chisq"] and r["holds_cfi"] and level != "none":
            level = r["model"]
        else:
            break
    params = pd.concat([f.params for f in fits], ignore_index=True)
    lo = params.loc[params["op"] == "=~", ["model", "group", "lhs", "rhs", "est", "se", "std", "std_se"]]
    loadings = lo.rename(columns={"lhs": "factor", "rhs": "item"}).reset_index(drop=True)
    prov = base_provenance(
        "measurement_invariance", matches="R lavaan::cfa(group = , group.equal = ) and lavaan::lavTestLRT",
        estimator=estimator, missing=missing, lavaan_missing="ml" if missing == "fiml" else "listwise",
        model=mm.syntax(), groups=labels, n=int(keep.sum()), rows_dropped=dropped,
        identification="marker variable (first loading = 1)", likelihood="normal (divisor N)",
        information={"ML": "expected", "MLR": "observed, Huber-White sandwich"}[estimator] if missing == "listwise"
        else "observed", difference_test="Satorra-Bentler 2001 scaled" if robust else "chi-square difference",
        rules={"chisq_alpha": alpha, "delta_cfi": delta_cfi, "delta_cfi_source": "Cheung & Rensvold (2002)"},
        iterations={f.name: f.iterations for f in fits}, improper_solution=improper)
    return Invariance(fit=fit, comparisons=comparisons, loadings=loadings, parameters=params, level=level,
                      groups=tuple(map(str, labels)), measurement=mm, provenance=prov)


def _instrument_values(items: pd.DataFrame, inst: Any) -> pd.DataFrame:
    """Answers of an instrument as numbers: its non-answer codes (e.g. "don't know") become missing."""
    codes = {str(c).strip().casefold() for c in inst.non_answer}
    num = {float(c) for c in inst.non_answer if isinstance(c, int | float) and not isinstance(c, bool)}
    out = {}
    for col in items.columns:
        s = items[col]
        if not pd.api.types.is_numeric_dtype(s):
            s = s.where(~s.map(lambda v: isinstance(v, str) and v.strip().casefold() in codes))
            s = pd.to_numeric(s, errors="coerce") if s.map(lambda v: isinstance(v, str) and v.strip() != "").sum() == 0 \
                else s
        if pd.api.types.is_numeric_dtype(s):
            s = s.astype(float).where(~s.isin(num))
            outside = s.notna() & ((s < inst.response_min) | (s > inst.response_max))
            if outside.any():
                row = outside.idxmax()
                raise StatisticsError(f"Item {col!r} has the value {s[row]!r} (row {row!r}) outside {inst.short_title}'s "
                                      f"answers {inst.response_min}..{inst.response_max}; correct it or set it missing.")
        out[col] = s
    return pd.DataFrame(out, index=items.index)


def _resolve_model(items: Any, model: Any) -> MeasurementModel:
    if model is not None:
        return parse_model(model)
    if items is None:
        raise StatisticsError("Give the items (a list, or an instrument) or a model.")
    if isinstance(items, str):
        raise StatisticsError("Pass an instrument object (rs.load_instrument(name)) or a list of item columns; a bare "
                              f"name such as {items!r} is ambiguous.")
    if hasattr(items, "scales") and hasattr(items, "item_ids"):
        subs = {sid: list(sc.items) for sid, sc in items.scales.items()
                if sc.items is not None and sid != "total" and len(sc.items) < len(items.item_ids)}
        if not subs:
            subs = {"total": list(items.item_ids)}
        return parse_model(subs)
    if isinstance(items, Mapping):
        return parse_model(items)
    if isinstance(items, Sequence):
        return parse_model({"F": list(items)})
    raise StatisticsError(f"items must be a list of columns or an instrument; got {type(items).__name__}.")
