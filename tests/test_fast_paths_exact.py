"""Faster code paths of the demo (issue 20) give the values of the slower ones they replaced.

* the observed information of the factor models is analytic now (it was central differences of the
  gradient): the two agree to the differences' own error, at the optimum and away from it;
* the REML profile of the site model brackets its optimum with a grid evaluated at once (it was a loop
  of scalar evaluations): the grid values equal the scalar ones and every fit is bit-for-bit the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from recoverystudy.stats.cfa import (
    GroupData,
    MGModel,
    _observed_information_numeric,
    fit_model,
    observed_information,
    parse_model,
)
from recoverystudy.stats.multilevel import _LOG_RHO_BOUNDS, _Profile

DATA = Path(__file__).parent / "data"
MODEL = "F1 =~ x1 + x2 + x3 + x4\nF2 =~ x5 + x6 + x7"


@pytest.mark.parametrize("file,fiml,equal", [
    ("invariance.csv", False, ()),
    ("invariance.csv", False, ("loadings", "intercepts")),
    ("invariance_missing.csv", True, ()),
    ("invariance_missing.csv", True, ("loadings",)),
    ("invariance_missing.csv", True, ("loadings", "intercepts")),
])
def test_analytic_observed_information_equals_differences(file, fiml, equal):
    frame = pd.read_csv(DATA / file)
    items = [f"x{i}" for i in range(1, 8)]
    groups = []
    for label, g in frame.groupby("country", sort=False):
        x = g[items].to_numpy(float)
        if not fiml:
            x = x[~np.isnan(x).any(axis=1)]
        groups.append(GroupData.build(str(label), x, fiml))
    model = MGModel(parse_model(MODEL), len(groups), equal)
    theta, _, _ = fit_model(model, groups)
    rng = np.random.default_rng(1)
    for th in (theta, theta + rng.normal(0, 0.02, len(theta))):    # at the optimum and away from it
        exact = observed_information(model, groups, th)
        numeric = _observed_information_numeric(model, groups, th)
        assert np.allclose(exact, exact.T, rtol=0, atol=1e-12)
        assert np.max(np.abs(exact - numeric)) < 1e-6 * np.max(np.abs(numeric))
        # the standard errors the information gives
        se_exact = np.sqrt(np.diag(np.linalg.inv(exact)))
        se_num = np.sqrt(np.diag(np.linalg.inv(numeric)))
        np.testing.assert_allclose(se_exact, se_num, rtol=1e-6)


def _fit_scalar_grid(prof, y, reml):
    """The fit as it was: the 38 grid points evaluated one by one."""
    Xty, ys, yty = prof.y_stats(y)
    f = lambda t: prof.criterion(np.exp(t), Xty, ys, yty, reml)[0]  # noqa: E731
    grid = np.linspace(*_LOG_RHO_BOUNDS, 38)
    vals = np.array([f(t) for t in grid])
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best_t = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                      options={"xatol": 1e-12, "maxiter": 500}).x
    crit, beta, s2 = prof.criterion(np.exp(best_t), Xty, ys, yty, reml)
    crit0, beta0, s20 = prof.criterion(0.0, Xty, ys, yty, reml)
    if crit0 <= crit + 1e-10:
        return 0.0, beta0, s20, crit0, vals
    return float(np.exp(best_t)), beta, s2, crit, vals


@pytest.mark.parametrize("covariate", [False, True])
@pytest.mark.parametrize("reml", [True, False])
def test_site_model_grid_at_once_equals_the_scalar_loop(covariate, reml):
    rng = np.random.default_rng(7)
    G, n = 6, 240
    codes = np.sort(rng.integers(0, G, n))
    X = np.ones((n, 1)) if not covariate else np.column_stack([np.ones(n), rng.normal(size=n)])
    prof = _Profile(X, codes, G)
    for rep in range(60):
        tau = [0.0, 0.3, 1.0, 3.0][rep % 4]
        y = 10 + rng.normal(0, tau, G)[codes] + rng.normal(0, 2, n) + (X[:, -1] if covariate else 0)
        rho, beta, s2, crit = prof.fit(y, reml)
        rho0, beta0, s20, crit0, vals = _fit_scalar_grid(prof, y, reml)
        assert (rho, s2, crit) == (rho0, s20, crit0)          # bit for bit
        assert np.array_equal(beta, beta0)
        grid = np.exp(np.linspace(*_LOG_RHO_BOUNDS, 38))
        np.testing.assert_allclose(prof.criteria(grid, *prof.y_stats(y), reml), vals, rtol=1e-12, atol=1e-9)


def _suggest_all(tmp_path, name, texts):
    import recoverystudy as rs

    with rs.Project.create(tmp_path / f"{name}.rsqda", codebook="care-planning-framework") as proj:
        for i, text in enumerate(texts):
            proj.add_document(text, name=f"d{i}")
        out = proj.suggest()
        return out[["document", "code", "start", "end", "rule"]].to_numpy().tolist()


def test_keyword_probe_skips_only_texts_that_cannot_match(tmp_path, monkeypatch):
    """suggest() skips the regex scan of a keyword whose longest plain word is not in the (folded) text;
    the suggestions are those of scanning every keyword, including letters a case-insensitive regex folds
    specially (dotless i, long s, dotted capital I, the Kelvin sign)."""
    import recoverystudy as rs
    from recoverystudy.qual import assist

    study = rs.synthetic.six_site_study(seed=3, scale=0.3)
    texts = list(study.interviews["text"])[:10] + [
        "SU01: My CR\u0130S\u0130S PLAN was written with me. The \u017fafety plan too.",
        "SU02: We talked about my cr\u0131s\u0131s plan and my CARE   PLAN.\nCC: Goals? SU02: My GOALS, yes.",
        "SU03: \u212aeeping well: my medication and my support network.",
    ]
    fast = _suggest_all(tmp_path, "fast", texts)
    monkeypatch.setattr(assist, "_probe", lambda keyword: None)   # scan every keyword
    slow = _suggest_all(tmp_path, "slow", texts)
    assert fast == slow and len(fast) > 20
    assert assist._fold("CR\u0130S\u0130S cr\u0131sis \u017fafety \u212aeep") == "crisis crisis safety keep"


def test_intercept_only_criterion_equals_the_general_linear_algebra():
    """With one fixed effect the criterion divides and takes a libm log instead of calling LAPACK's solve
    and slogdet: the same numbers, bit for bit."""
    rng = np.random.default_rng(11)
    G, n = 6, 180
    codes = np.sort(rng.integers(0, G, n))
    prof = _Profile(np.ones((n, 1)), codes, G)
    for rho in np.exp(np.linspace(*_LOG_RHO_BOUNDS, 200)):
        y = 5 + rng.normal(0, 1, G)[codes] + rng.normal(0, 3, n)
        Xty, ys, yty = prof.y_stats(y)
        crit, beta, s2 = prof.criterion(rho, Xty, ys, yty)
        w = rho / (1 + prof.n_g * rho)
        A = prof.XtX - (prof.S * w[:, None]).T @ prof.S
        b = Xty - prof.S.T @ (w * ys)
        beta_ref = np.linalg.solve(A, b)
        s2_ref = (yty - np.sum(w * ys * ys) - beta_ref @ b) / (n - 1)
        crit_ref = (n - 1) * np.log(s2_ref) + np.sum(np.log1p(prof.n_g * rho)) + np.linalg.slogdet(A)[1]
        assert (crit, s2) == (float(crit_ref), float(s2_ref)) and np.array_equal(beta, beta_ref)


def test_wild_bootstrap_t_equals_the_full_sandwich():
    """The wild cluster bootstrap now computes only the tested coefficient's variance (not the whole
    sandwich matrix per draw) and builds the 6^G Webb weight vectors once: the t statistics are the same."""
    import itertools

    from recoverystudy.stats import country

    rng = np.random.default_rng(5)
    for G, extra in ((6, False), (5, True)):
        n = 300
        g = np.sort(rng.integers(0, G, n))
        cols = [np.ones(n)] + ([rng.normal(size=n)] if extra else []) + [(g >= G - 2).astype(float)]
        X = np.column_stack(cols)
        y = rng.normal(size=n) + 0.2 * g
        W = country._all_weight_vectors(G)
        assert np.array_equal(W, np.array(list(itertools.product(country.WEBB_WEIGHTS, repeat=G))))
        t_star, t_obs = country._wild_t(X, y, g, G, W)
        # the full sandwich, as before
        N, k = X.shape
        xtx_inv = np.linalg.inv(X.T @ X)
        fit_r = X[:, :-1] @ np.linalg.lstsq(X[:, :-1], y, rcond=None)[0]
        e_r = y - fit_r
        Xg_fit, Xg_e, XgXg = np.zeros((G, k)), np.zeros((G, k)), np.zeros((G, k, k))
        np.add.at(Xg_fit, g, X * fit_r[:, None])
        np.add.at(Xg_e, g, X * e_r[:, None])
        np.add.at(XgXg, g, X[:, :, None] * X[:, None, :])
        beta = (Xg_fit.sum(0)[None, :] + W @ Xg_e) @ xtx_inv.T
        u = Xg_fit[None] + W[:, :, None] * Xg_e[None] - np.einsum("gkl,bl->bgk", XgXg, beta)
        V = G / (G - 1) * (N - 1) / (N - k) * np.einsum("kl,blm,mn->bkn", xtx_inv, np.einsum("bgk,bgl->bkl", u, u),
                                                        xtx_inv)
        np.testing.assert_array_equal(t_star, beta[:, -1] / np.sqrt(V[:, -1, -1]))
