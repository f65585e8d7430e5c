"""Benchmark: rs.compare_sites on 6 sites x 100,000 respondents.

Prints our time for Welch's ANOVA + Games-Howell + effect sizes with noncentral-F CIs, and for
Kruskal-Wallis + Dunn + η²_H / ε²_R with 2,000 stratified bootstrap resamples; prints pingouin's
time for ``pg.welch_anova`` + ``pg.pairwise_gameshowell`` on the same data and checks the results
are equal.  Target: each of our two runs under 2 s.

Run:  python benchmarks/bench_compare.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import recoverystudy as rs

N_PER_SITE = 100_000
SITES = ["E1", "E2", "E3", "E4", "W1", "W2"]


def make_data(seed: int = 0) -> pd.DataFrame:
    """WAI-SR-like totals: the sum of 12 items scored 1-5 (integers 12-60, heavy ties)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, s in enumerate(SITES):
        p = np.clip(0.45 + 0.02 * i + rng.normal(0, 0.01), 0.05, 0.95)
        spread = 1.0 + 0.15 * i
        latent = rng.normal(p * 4, spread, size=(N_PER_SITE, 1)) + rng.normal(0, 0.6, size=(N_PER_SITE, 12))
        items = np.clip(np.rint(latent + 1), 1, 5)
        frames.append(pd.DataFrame({"site": s, "wai_sr_total": items.sum(axis=1)}))
    return pd.concat(frames, ignore_index=True)


def timed(fn, repeat: int = 3):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    df = make_data()
    print(
        f"data: {len(df):,} respondents in {df['site'].nunique()} sites; "
        f"{df['wai_sr_total'].nunique()} distinct score values"
    )

    t_welch, res = timed(lambda: rs.compare_sites(df, "wai_sr_total", "site", method="welch", seed=1))
    print(f"recoverystudy  Welch + Games-Howell + η²/ω² (noncentral-F CIs) + checks : {t_welch:6.3f} s")

    t_kw, kw = timed(
        lambda: rs.compare_sites(df, "wai_sr_total", "site", method="kruskal", n_boot=2000, seed=1)
    )
    print(f"recoverystudy  Kruskal-Wallis + Dunn + η²_H/ε²_R (2,000 bootstrap resamples): {t_kw:6.3f} s")

    import pingouin as pg

    def pingouin_run():
        return (
            pg.welch_anova(data=df, dv="wai_sr_total", between="site"),
            pg.pairwise_gameshowell(data=df, dv="wai_sr_total", between="site"),
        )

    t_pg, (aov, gh) = timed(pingouin_run)
    print(f"pingouin       welch_anova + pairwise_gameshowell (no CIs)              : {t_pg:6.3f} s")

    # results equal
    o = res.omnibus.iloc[0]
    np.testing.assert_allclose(o["statistic"], aov["F"].iloc[0], rtol=1e-9)
    np.testing.assert_allclose(o["df2"], aov["ddof2"].iloc[0], rtol=1e-9)
    np.testing.assert_allclose(
        o["p"], aov["p_unc"].iloc[0] if "p_unc" in aov else aov["p-unc"].iloc[0], rtol=1e-6, atol=1e-300
    )
    ph = res.posthoc
    assert ph["group1"].tolist() == gh["A"].tolist() and ph["group2"].tolist() == gh["B"].tolist()
    np.testing.assert_allclose(ph["estimate"], -gh["diff"], rtol=1e-9)  # pingouin: A minus B
    np.testing.assert_allclose(ph["se"], gh["se"], rtol=1e-9)
    np.testing.assert_allclose(ph["statistic"], gh["T"].abs(), rtol=1e-9)
    np.testing.assert_allclose(ph["df"], gh["df"], rtol=1e-9)
    np.testing.assert_allclose(ph["p_adj"], gh["pval"], rtol=1e-6, atol=1e-9)
    print("results equal to pingouin (F, df, p; pairwise differences, se, t, df, p)")

    # Other shapes of data (for the record; not part of the 2 s target)
    rng = np.random.default_rng(1)
    small = pd.DataFrame({"site": np.repeat(SITES, 10_000)})
    small["score"] = rng.normal(
        np.repeat(np.arange(6) * 0.05, 10_000), np.repeat(1 + 0.1 * np.arange(6), 10_000)
    )
    t_w10, _ = timed(lambda: rs.compare_sites(small, "score", "site", seed=1), repeat=1)
    print(
        f"recoverystudy  Welch + Games-Howell, 6 x 10,000 (pair df < 1e5: full studentized range): {t_w10:6.3f} s"
    )
    t_k10, _ = timed(lambda: rs.compare_sites(small, "score", "site", method="kruskal", seed=1), repeat=1)
    print(
        f"recoverystudy  Kruskal + 2,000 bootstrap, 6 x 10,000 continuous (60,000 distinct values): {t_k10:6.3f} s"
    )

    print()
    print(res.apa())
    print(kw.apa())
    ok = t_welch < 2 and t_kw < 2
    print(
        f"\ntarget < 2 s each: {'met' if ok else 'NOT met'} "
        f"(Welch {t_welch:.2f} s, Kruskal {t_kw:.2f} s; pingouin/ours = {t_pg / t_welch:.1f}x)"
    )


if __name__ == "__main__":
    main()
