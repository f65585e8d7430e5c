"""Small-sample inference for a random-intercept model, in closed forms per site (no N x N matrices).

Model: y = X b + Z u + e, u ~ N(0, tau2 I_G), e ~ N(0, sigma2 I_N), so V = tau2 ZZ' + sigma2 I with
blocks V_j = sigma2 I + tau2 11'. With c_j = 1 / (sigma2 + n_j tau2) every power of V_j^-1 has the form
V_j^-k = sigma2^-k I + (c_j^k - sigma2^-k) / n_j 11', so all the quantities below reduce to sums over
sites of S_j S_j' (S_j = X_j'1) and X'X.

* Satterthwaite (lmerTest ``contest1D``): df = 2 (L'Phi L)^2 / (g' A g), with Phi = (X'V^-1X)^-1 (lme4's
  ``vcov``), g_i = L' dPhi/dtheta_i L = -L' Phi P_i Phi L (P_i = -X'V^-1 G_i V^-1 X, G_1 = ZZ', G_2 = I)
  and A = 2 H^-1, H the observed Hessian of the REML (or ML) deviance in theta = (tau2, sigma2).
  lmerTest differentiates numerically in (theta_lme4, sigma); at the optimum the ratio is invariant to
  the parametrisation, so the analytic derivatives in (tau2, sigma2) give the same df.
  H_ij = -tr(P G_i P G_j) + 2 y'P G_i P G_j P y (REML; P the REML projection) or
  -tr(V^-1 G_i V^-1 G_j) + 2 y'P G_i P G_j P y (ML).
* Kenward-Roger (pbkrtest ``vcovAdj`` + ``Lb_ddf``): W = 2 IE2^-1 with
  IE2_ij = tr(V^-1G_iV^-1G_j) - 2 tr(Phi Q_ij) + tr(Phi P_i Phi P_j), Q_ij = X'V^-1G_iV^-1G_jV^-1X;
  Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j)] Phi; df from A1, A2 (Kenward & Roger 1997).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["SiteDesign"]


class SiteDesign:
    """Per-site sufficient statistics of a random-intercept model and its small-sample inference."""

    def __init__(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray, n_groups: int):
        self.X, self.y, self.g, self.G = X, y, groups, n_groups
        self.N, self.p = X.shape
        self.n_g = np.bincount(groups, minlength=n_groups).astype(float)
        self.XtX = X.T @ X
        self.S = np.stack([np.bincount(groups, weights=X[:, k], minlength=n_groups) for k in range(self.p)],
                          axis=1)
        self.Xty = X.T @ y
        self.ys = np.bincount(groups, weights=y, minlength=n_groups)

    # V^-k pieces -----------------------------------------------------------------------------
    def xvx(self, power: int, tau2: float, sigma2: float) -> np.ndarray:
        """X' V^-power X."""
        c = 1.0 / (sigma2 + self.n_g * tau2)
        coef = (c**power - sigma2**-power) / self.n_g
        return sigma2**-power * self.XtX + (self.S * coef[:, None]).T @ self.S

    def sss(self, weights: np.ndarray) -> np.ndarray:
        """sum_j weights_j S_j S_j'."""
        return (self.S * weights[:, None]).T @ self.S

    def vinv(self, v: np.ndarray, tau2: float, sigma2: float) -> np.ndarray:
        """V^-1 v for an N-vector v."""
        c = 1.0 / (sigma2 + self.n_g * tau2)
        sums = np.bincount(self.g, weights=v, minlength=self.G)
        return v / sigma2 + ((c - 1 / sigma2) / self.n_g * sums)[self.g]

    # the pieces of both methods ---------------------------------------------------------------
    def pieces(self, tau2: float, sigma2: float) -> dict:
        c = 1.0 / (sigma2 + self.n_g * tau2)
        phi = np.linalg.inv(self.xvx(1, tau2, sigma2))
        P = [-self.sss(c**2), -self.xvx(2, tau2, sigma2)]
        Q = {(0, 0): self.sss(self.n_g * c**3), (0, 1): self.sss(c**3), (1, 1): self.xvx(3, tau2, sigma2)}
        Q[(1, 0)] = Q[(0, 1)]
        ktrace = np.array([[np.sum((self.n_g * c) ** 2), np.sum(self.n_g * c**2)],
                           [np.sum(self.n_g * c**2), np.sum((self.n_g - 1) / sigma2**2 + c**2)]])
        ie2 = np.empty((2, 2))
        for i in range(2):
            for j in range(2):
                ie2[i, j] = ktrace[i, j] - 2 * np.sum(phi * Q[(i, j)]) + np.sum((phi @ P[i]) * (P[j] @ phi))
        return {"phi": phi, "P": P, "Q": Q, "ktrace": ktrace, "ie2": ie2}

    def beta(self, tau2: float, sigma2: float, phi: np.ndarray) -> np.ndarray:
        c = 1.0 / (sigma2 + self.n_g * tau2)
        xvy = self.Xty / sigma2 + self.S.T @ ((c - 1 / sigma2) / self.n_g * self.ys)
        return phi @ xvy

    def hessian(self, tau2: float, sigma2: float, pc: dict, reml: bool) -> np.ndarray:
        """Observed Hessian of the REML (or ML) deviance in (tau2, sigma2)."""
        beta = self.beta(tau2, sigma2, pc["phi"])
        e = self.vinv(self.y - self.X @ beta, tau2, sigma2)  # = P y
        a = [np.bincount(self.g, weights=e, minlength=self.G)[self.g], e]  # G_1 P y, G_2 P y
        va = [self.vinv(ai, tau2, sigma2) for ai in a]
        xva = [self.X.T @ v for v in va]
        quad = np.array([[a[i] @ va[j] - xva[i] @ pc["phi"] @ xva[j] for j in range(2)] for i in range(2)])
        trace = pc["ie2"] if reml else pc["ktrace"]
        return -trace + 2 * quad

    # tests of one contrast ----------------------------------------------------------------------
    def satterthwaite(self, L: np.ndarray, tau2: float, sigma2: float, pc: dict, reml: bool,
                      singular: bool) -> tuple[float, float]:
        """(variance of L'b, Satterthwaite df) as lmerTest."""
        phi = pc["phi"]
        var = float(L @ phi @ L)
        grad = np.array([-(L @ phi @ Pi @ phi @ L) for Pi in pc["P"]])
        h = self.hessian(tau2, sigma2, pc, reml)
        if singular:  # site variance on the boundary: d Phi / d theta_site = 0 in lme4's theta, only sigma counts
            denom = grad[1] ** 2 * 2 / h[1, 1]
        else:
            denom = float(grad @ (2 * np.linalg.inv(h)) @ grad)
        return var, 2 * var**2 / denom

    def kenward_roger(self, L: np.ndarray, pc: dict) -> tuple[float, float]:
        """(adjusted variance of L'b, KR df) as pbkrtest ``vcovAdj`` and ``Lb_ddf`` (one contrast)."""
        phi, P, Q = pc["phi"], pc["P"], pc["Q"]
        ie2 = pc["ie2"]
        w = 2 * (np.linalg.inv(ie2) if np.min(np.abs(np.linalg.eigvalsh(ie2))) > 1e-10 else np.linalg.pinv(ie2))
        uu = sum(w[i, j] * (Q[(i, j)] - P[i] @ phi @ P[j]) for i in range(2) for j in range(2))
        phi_a = phi + 2 * phi @ uu @ phi
        theta = np.outer(L, L) / float(L @ phi @ L)
        u = [theta @ phi @ Pi @ phi for Pi in P]
        a1 = a2 = 0.0
        for i in range(2):
            for j in range(i, 2):
                e = 1 if i == j else 2
                a1 += e * w[i, j] * np.trace(u[i]) * np.trace(u[j])
                a2 += e * w[i, j] * np.sum(u[i] * u[j].T)
        q = 1
        b = (a1 + 6 * a2) / (2 * q)
        g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
        den = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
        v0 = 1 + c1 * b
        v0 = 0.0 if abs(v0) < 1e-10 else v0
        v1, v2 = 1 - c2 * b, 1 - c3 * b
        rho = 1 / q * ((1 - a2 / q) / v1) ** 2 * v0 / v2
        return float(L @ phi_a @ L), 4 + (q + 2) / (q * rho - 1)


def t_test(estimate: float, var: float, df: float, conf: float) -> tuple[float, float, float, float, float]:
    """(se, t, p, ci_low, ci_high) with a t reference on *df* (normal when df is infinite)."""
    se = float(np.sqrt(var))
    t = estimate / se
    if np.isinf(df):
        p, q = 2 * stats.norm.sf(abs(t)), stats.norm.ppf(1 - (1 - conf) / 2)
    else:
        p, q = 2 * stats.t.sf(abs(t), df), stats.t.ppf(1 - (1 - conf) / 2, df)
    return se, t, float(p), estimate - q * se, estimate + q * se
