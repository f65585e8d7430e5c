"""The omnibus tests and assumption checks behind :func:`~recoverystudy.stats.compare.compare_sites`.

Welch's and the classic one-way ANOVA from group moments (vectorised, O(N)), the Levene / Brown-Forsythe
and Shapiro-Wilk checks, and the names shared by the comparison and its results (test names, the R
functions matched, the column lists).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from recoverystudy.stats._base import Groups, group_moments

__all__: list[str] = []

METHODS = ("welch", "anova", "kruskal")
_TEST_NAME = {"welch": "Welch's ANOVA", "anova": "One-way ANOVA", "kruskal": "Kruskal–Wallis test"}
_POSTHOC = {"welch": "games_howell", "anova": "tukey", "kruskal": "dunn"}
_R_REFERENCE = {
    "welch": "oneway.test(var.equal = FALSE); rstatix::games_howell_test; effectsize::F_to_eta2/F_to_omega2",
    "anova": "aov / oneway.test(var.equal = TRUE); TukeyHSD; effectsize::eta_squared/omega_squared",
    "kruskal": "kruskal.test; rstatix::dunn_test; rstatix::kruskal_effsize; effectsize::rank_epsilon_squared",
}
OMNIBUS_COLUMNS = ["test", "statistic", "df1", "df2", "p", "n", "k"]
ASSUMPTION_COLUMNS = ["check", "site", "statistic", "df1", "df2", "p", "n", "note"]
_ES_SYMBOL = {"eta2": "η²", "omega2": "ω²", "eta2_h": "η²_H", "rank_epsilon2": "ε²_R"}


# --------------------------------------------------------------------------------------------------
# omnibus tests (vectorised over respondents; O(N))
# --------------------------------------------------------------------------------------------------
def _anova(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float, float]:
    k, N = n.size, float(n.sum())
    grand = float(np.sum(n * mean) / N)
    ss_b = float(np.sum(n * (mean - grand) ** 2))
    ss_w = float(np.sum((n - 1) * var))
    df1, df2 = k - 1.0, N - k
    with np.errstate(divide="ignore", invalid="ignore"):
        F = (ss_b / df1) / (ss_w / df2) if ss_w > 0 else (np.inf if ss_b > 0 else np.nan)
    p = float(stats.f.sf(F, df1, df2)) if np.isfinite(F) else (0.0 if F == np.inf else np.nan)
    return float(F), df1, df2, p


def _welch(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float, float]:
    k = n.size
    if np.any(var <= 0):
        return np.nan, k - 1.0, np.nan, np.nan
    w = n / var
    sw = w.sum()
    yw = np.sum(w * mean) / sw
    A = np.sum(w * (mean - yw) ** 2) / (k - 1)
    lam = np.sum((1 - w / sw) ** 2 / (n - 1))
    F = A / (1 + 2 * (k - 2) * lam / (k**2 - 1))
    df2 = (k**2 - 1) / (3 * lam)
    return float(F), k - 1.0, float(df2), float(stats.f.sf(F, k - 1, df2))


def _assumptions(groups: Groups, desc: pd.DataFrame) -> pd.DataFrame:
    k = groups.k
    rows = []
    for check, centre in (("brown_forsythe", desc["median"].to_numpy()), ("levene", desc["mean"].to_numpy())):
        z = centre[groups.codes]  # absolute deviations from the site's centre, in one array
        np.subtract(groups.y, z, out=z)
        np.abs(z, out=z)
        n, m, v = group_moments(z, groups.codes, k, groups.n)
        F, df1, df2, p = _anova(n, m, v)
        note = (
            "median-centred Levene test"
            if check == "brown_forsythe"
            else "mean-centred (classic) Levene test"
        )
        rows.append(
            {
                "check": check,
                "site": pd.NA,
                "statistic": F,
                "df1": df1,
                "df2": df2,
                "p": p,
                "n": groups.n_total,
                "note": note,
            }
        )
    for g, lab in enumerate(groups.labels):
        size = int(groups.n[g])  # the site's values are gathered only when the test is computed
        x = groups.y[groups.codes == g] if 3 <= size <= 5000 else None
        if size < 3:
            stat, p, note = np.nan, np.nan, "needs at least 3 observations"
        elif size > 5000:
            stat, p, note = np.nan, np.nan, "not computed above 5000 observations (as R shapiro.test)"
        elif np.ptp(x) == 0:
            stat, p, note = np.nan, np.nan, "all values are equal"
        else:
            res = stats.shapiro(x)
            stat, p, note = float(res.statistic), float(res.pvalue), ""
        rows.append(
            {
                "check": "shapiro_wilk",
                "site": lab,
                "statistic": stat,
                "df1": np.nan,
                "df2": np.nan,
                "p": p,
                "n": size,
                "note": note,
            }
        )
    out = pd.DataFrame(rows, columns=ASSUMPTION_COLUMNS)
    out["site"] = out["site"].astype(object)
    return out
