"""recoverystudy.stats.cfa as it was before the parameter loops were vectorised (commit 7c516e2), frozen.

Test helper only: tests/test_demo_cpu_exact.py checks that the fast paths (``MGModel.matrices`` and
``MGModel.delta`` filled by index arrays, the likelihood's missing-data patterns of one size taken
together) give the same numbers as this file: the same matrices bit for bit, the same fits of
``rs.invariance`` to 1e-12.  Do not "fix" or speed up this file: it is the reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import optimize

from recoverystudy.errors import StatisticsError

__all__ = ["MeasurementModel", "parse_model", "MGModel", "GroupData", "fit_model"]

LOG2PI = np.log(2 * np.pi)


@dataclass(frozen=True)
class MeasurementModel:
    """Factors and the items that load on each (first item = marker, loading fixed to 1)."""

    factors: tuple[str, ...]
    indicators: tuple[tuple[str, ...], ...]

    @property
    def items(self) -> list[str]:
        """Observed variables in order of first mention."""
        return list(dict.fromkeys(i for ind in self.indicators for i in ind))

    def syntax(self) -> str:
        """The model in lavaan syntax."""
        return "\n".join(f"{f} =~ {' + '.join(ind)}" for f, ind in zip(self.factors, self.indicators, strict=True))


_LINE = re.compile(r"^\s*([A-Za-z_.][\w.]*)\s*=~\s*(.+?)\s*$")


def parse_model(model: str | Mapping[str, Sequence[str]]) -> MeasurementModel:
    """Read a measurement model: a dict ``{factor: [items]}`` or lavaan-like lines ``F =~ a + b + c``.

    Lines are separated by newlines or semicolons; ``#`` starts a comment.  Only the ``=~`` operator is
    understood (loadings); everything else lavaan sets by default.

    Examples
    --------
    >>> parse_model("F1 =~ x1 + x2 + x3; F2 =~ x4 + x5 + x6").indicators
    (('x1', 'x2', 'x3'), ('x4', 'x5', 'x6'))
    >>> parse_model({"bond": ["wai_03", "wai_05", "wai_07"]}).syntax()
    'bond =~ wai_03 + wai_05 + wai_07'
    """
    pairs: list[tuple[str, list[str]]] = []
    if isinstance(model, str):
        for n, raw in enumerate(re.split(r"[;\n]", model), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            m = _LINE.match(line)
            if not m:
                raise StatisticsError(f"Model line {n} ({line!r}) is not of the form 'Factor =~ item1 + item2 + ...'; "
                                      "only loadings (=~) can be written, the rest follows lavaan's defaults.")
            items = [t.strip() for t in m.group(2).split("+")]
            if any(not re.fullmatch(r"[A-Za-z_.][\w.]*", t) for t in items):
                raise StatisticsError(f"Model line {n} ({line!r}): items must be plain column names joined by '+' "
                                      "(no labels, multipliers or fixed values).")
            pairs.append((m.group(1), items))
    elif isinstance(model, Mapping):
        pairs = [(str(f), [str(i) for i in items]) for f, items in model.items()]
    else:
        raise StatisticsError(f"model must be a dict {{factor: [items]}} or text 'F =~ a + b + c'; got {type(model).__name__}.")
    if not pairs:
        raise StatisticsError("The model names no factor.")
    factors = [f for f, _ in pairs]
    if len(set(factors)) != len(factors):
        raise StatisticsError(f"A factor is defined twice in the model: {factors}; write all its items on one line.")
    for f, items in pairs:
        if len(items) < 2:
            raise StatisticsError(f"Factor {f!r} has {len(items)} item; a factor needs at least 2 (3 or more to be "
                                  "identified on its own).")
        if len(set(items)) != len(items):
            raise StatisticsError(f"Factor {f!r} lists an item twice: {items}.")
        clash = set(items) & set(factors)
        if clash:
            raise StatisticsError(f"{sorted(clash)} are used both as factors and as items; higher-order models are "
                                  "not supported.")
    return MeasurementModel(tuple(factors), tuple(tuple(i) for _, i in pairs))


@dataclass
class GroupData:
    """Sample statistics of one group: complete data, or missing-data patterns for FIML."""

    label: str
    x: np.ndarray                       # (n, p) raw data (NaN = missing), kept for casewise scores
    n: int
    mean: np.ndarray                    # complete data: sample mean; FIML: EM (saturated) estimate
    cov: np.ndarray                     # divisor N
    patterns: list[tuple[np.ndarray, np.ndarray]] | None = None   # (observed-variable mask, row indices)

    @classmethod
    def build(cls, label: str, x: np.ndarray, fiml: bool) -> GroupData:
        n = x.shape[0]
        if not fiml:
            mean = x.mean(axis=0)
            c = x - mean
            return cls(label, x, n, mean, c.T @ c / n)
        obs = ~np.isnan(x)
        keys, inv = np.unique(obs, axis=0, return_inverse=True)
        patterns = [(keys[k], np.flatnonzero(inv.ravel() == k)) for k in range(len(keys))]
        mean, cov = _em_saturated(x, patterns)
        return cls(label, x, n, mean, cov, patterns)

    @cached_property
    def blocks(self) -> list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray, int, int]]:
        """Per missing-data pattern, built once: (observed indices, their np.ix_ pair, the observed data
        block, number of rows, number of observed items).  The likelihood is evaluated hundreds of times
        per fit; slicing the data afresh each time was most of its cost."""
        out = []
        for o, rows in self.patterns or []:
            oi = np.flatnonzero(o)
            out.append((oi, np.ix_(oi, oi), self.x[np.ix_(rows, oi)], len(rows), int(o.sum())))
        return out


def _em_saturated(x: np.ndarray, patterns, tol: float = 1e-14, max_iter: int = 10000) -> tuple[np.ndarray, np.ndarray]:
    """EM estimates of an unrestricted mean and covariance from incomplete normal data."""
    n, p = x.shape
    mu = np.nanmean(x, axis=0)
    sigma = np.diag(np.nanvar(x, axis=0))
    for _ in range(max_iter):
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for o, rows in patterns:
            xo = x[np.ix_(rows, o)]
            m = ~o
            if not m.any():
                t1 += xo.sum(axis=0)
                t2 += xo.T @ xo
                continue
            reg = np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)])        # (po, pm)
            xm = mu[m] + (xo - mu[o]) @ reg
            full = np.empty((len(rows), p))
            full[:, o] = xo
            full[:, m] = xm
            t1 += full.sum(axis=0)
            t2 += full.T @ full
            t2[np.ix_(m, m)] += len(rows) * (sigma[np.ix_(m, m)] - sigma[np.ix_(m, o)] @ reg)
        new_mu = t1 / n
        new_sigma = t2 / n - np.outer(new_mu, new_mu)
        done = max(np.abs(new_mu - mu).max(), np.abs(new_sigma - sigma).max()) < tol
        mu, sigma = new_mu, new_sigma
        if done:
            break
    return mu, sigma


class MGModel:
    """Parameter layout of a multi-group CFA with lavaan's defaults and group.equal constraints."""

    def __init__(self, mm: MeasurementModel, n_groups: int, equal: Sequence[str] = (), factors: bool = True):
        self.mm = mm
        self.items = mm.items
        p = self.p = len(self.items)
        q = self.q = len(mm.factors) if factors else 0
        G = self.G = n_groups
        self.equal = tuple(equal)
        pos = {v: i for i, v in enumerate(self.items)}
        # slots: (group, kind, i, j) -> free index; kinds: L (loading), P (psi, i >= j), T (theta_ii), N (nu), A (alpha)
        self.slots: list[tuple[int, str, int, int, int]] = []
        self.labels: list[tuple[str, str, str, int]] = []   # lavaan-like (lhs, op, rhs, group) of each free parameter
        shared: dict[tuple, int] = {}
        npar = 0

        def add(g: int, kind: str, i: int, j: int, label: tuple[str, str, str], share: bool) -> None:
            nonlocal npar
            key = (kind, i, j)
            if share and key in shared:
                idx = shared[key]
            else:
                idx = npar
                npar += 1
                self.labels.append((*label, g + 1))
                if share:
                    shared[key] = idx
            self.slots.append((g, kind, i, j, idx))

        self.marker = np.zeros((p, max(q, 1)), dtype=bool)
        for g in range(G):
            for f in range(q):
                ind = mm.indicators[f]
                self.marker[pos[ind[0]], f] = True
                for it in ind[1:]:
                    add(g, "L", pos[it], f, (mm.factors[f], "=~", it), "loadings" in equal)
            for it in range(p):
                add(g, "T", it, it, (self.items[it], "~~", self.items[it]), False)
            for f in range(q):
                for f2 in range(f + 1):
                    add(g, "P", f, f2, (mm.factors[f], "~~", mm.factors[f2]), False)
            for it in range(p):
                add(g, "N", it, 0, (self.items[it], "~1", ""), "intercepts" in equal)
            if "intercepts" in equal and g > 0:
                for f in range(q):
                    add(g, "A", f, 0, (mm.factors[f], "~1", ""), False)
        self.npar = npar
        self.slot_arr = np.array([(g, "LTPNA".index(k), i, j, idx) for g, k, i, j, idx in self.slots], dtype=int)
        self.vech_i, self.vech_j = np.tril_indices(p)

    # -- matrices ----------------------------------------------------------------------------------
    def matrices(self, theta: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        out = []
        for g in range(self.G):
            L = self.marker[:, : self.q].astype(float).copy()
            P = np.zeros((self.q, self.q))
            T = np.zeros(self.p)
            nu = np.zeros(self.p)
            al = np.zeros(self.q)
            out.append([L, P, T, nu, al])
        for g, kind, i, j, idx in self.slots:
            L, P, T, nu, al = out[g]
            v = theta[idx]
            if kind == "L":
                L[i, j] = v
            elif kind == "P":
                P[i, j] = P[j, i] = v
            elif kind == "T":
                T[i] = v
            elif kind == "N":
                nu[i] = v
            else:
                al[i] = v
        return [tuple(m) for m in out]

    def implied(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        res = []
        for L, P, T, nu, al in self.matrices(theta):
            res.append((nu + L @ al, L @ P @ L.T + np.diag(T)))
        return res

    def delta(self, theta: np.ndarray) -> list[np.ndarray]:
        """Jacobian of (mu, vech Sigma) of each group with respect to the free parameters."""
        p, q = self.p, self.q
        vi, vj = self.vech_i, self.vech_j
        out = [np.zeros((p + len(vi), self.npar)) for _ in range(self.G)]
        mats = self.matrices(theta)
        for g, kind, i, j, idx in self.slots:
            L, P, T, nu, al = mats[g]
            D = out[g]
            if kind == "N":
                D[i, idx] += 1.0
            elif kind == "A":
                D[:p, idx] += L[:, i]
            elif kind == "T":
                k = np.flatnonzero((vi == i) & (vj == i))[0]
                D[p + k, idx] += 1.0
            elif kind == "L":
                D[i, idx] += al[j]
                row = (P @ L.T)[j]                       # d Sigma = e_i row' + row e_i'
                dS = np.zeros((p, p))
                dS[i, :] += row
                dS[:, i] += row
                D[p:, idx] += dS[vi, vj]
            else:  # P
                if i == j:
                    dS = np.outer(L[:, i], L[:, i])
                else:
                    dS = np.outer(L[:, i], L[:, j]) + np.outer(L[:, j], L[:, i])
                D[p:, idx] += dS[vi, vj]
        return out

    def start(self, data: list[GroupData]) -> np.ndarray:
        theta = np.zeros(self.npar)
        count = np.zeros(self.npar)
        for g, kind, i, j, idx in self.slots:
            S, m = data[g].cov, data[g].mean
            if kind == "T":
                v = S[i, i] / 2
            elif kind == "N":
                v = m[i]
            elif kind == "P":
                mi = np.flatnonzero(self.marker[:, i])[0]
                v = S[mi, mi] / 2 if i == j else 0.0
            elif kind == "L":
                mk = np.flatnonzero(self.marker[:, j])[0]
                v = S[i, mk] / (S[mk, mk] / 2)
            else:
                v = 0.0
            theta[idx] += v
            count[idx] += 1
        return theta / count


# ---- discrepancy, gradient, information -------------------------------------------------------------
def _vech_grad(W: np.ndarray, vi: np.ndarray, vj: np.ndarray) -> np.ndarray:
    return np.where(vi == vj, 1.0, 2.0) * W[vi, vj]


def _group_terms(gd: GroupData, mu: np.ndarray, sigma: np.ndarray, vi, vj) -> tuple[float, np.ndarray]:
    """-2 log-likelihood / (N_g) up to the saturated constant, i.e. F_g + const, and its gradient (mu, vech)."""
    p = len(mu)
    if gd.patterns is None:
        try:
            c = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return np.inf, None
        inv = np.linalg.inv(sigma)
        d = gd.mean - mu
        logdet = 2 * np.log(np.diag(c)).sum()
        val = logdet + np.sum(inv * gd.cov) + d @ inv @ d + p * LOG2PI
        M = gd.cov + np.outer(d, d)
        W = inv - inv @ M @ inv
        return val, np.concatenate([-2 * inv @ d, _vech_grad(W, vi, vj)])
    val = 0.0
    W = np.zeros((p, p))
    gm = np.zeros(p)
    for o, oo, xo, n, n_obs in gd.blocks:
        so = sigma[oo]
        try:
            c = np.linalg.cholesky(so)
        except np.linalg.LinAlgError:
            return np.inf, None
        inv = np.linalg.inv(so)
        e = xo - mu[o]
        M = e.T @ e
        val += n * (2 * np.log(np.diag(c)).sum() + n_obs * LOG2PI) + np.sum(inv * M)
        W[oo] += n * inv - inv @ M @ inv
        gm[o] += -2 * inv @ e.sum(axis=0)
    return val / gd.n, np.concatenate([gm / gd.n, _vech_grad(W / gd.n, vi, vj)])


def unit_information(sigma: np.ndarray, vi, vj) -> np.ndarray:
    """Expected information per observation of (mu, vech Sigma): blockdiag(Sigma^-1, 1/2 D'(Sigma^-1 x Sigma^-1) D)."""
    inv = np.linalg.inv(sigma)
    p = len(inv)
    # D'(A x A)D for the vech parametrisation, built element-wise
    a, b = vi, vj
    K = inv[np.ix_(a, a)] * inv[np.ix_(b, b)] + inv[np.ix_(a, b)] * inv[np.ix_(b, a)]
    K *= np.outer(np.where(a == b, 1.0, 2.0), np.where(a == b, 1.0, 2.0)) / 2
    out = np.zeros((p + len(a), p + len(a)))
    out[:p, :p] = inv
    out[p:, p:] = K / 2
    return out


def objective(model: MGModel, data: list[GroupData], theta: np.ndarray) -> tuple[float, np.ndarray | None]:
    """sum_g (N_g / N) (-2 log L_g / N_g) and its gradient in theta."""
    N = sum(d.n for d in data)
    total, grad = 0.0, np.zeros(model.npar)
    imp = model.implied(theta)
    deltas = model.delta(theta)
    for gd, (mu, sigma), D in zip(data, imp, deltas, strict=True):
        v, gr = _group_terms(gd, mu, sigma, model.vech_i, model.vech_j)
        if not np.isfinite(v):
            return np.inf, None
        w = gd.n / N
        total += w * v
        grad += w * (D.T @ gr)
    return total, grad


def expected_information(model: MGModel, data: list[GroupData], theta: np.ndarray) -> np.ndarray:
    """sum_g (N_g / N) Delta_g' I_g Delta_g at the model-implied moments (unit information)."""
    N = sum(d.n for d in data)
    info = np.zeros((model.npar, model.npar))
    for gd, (mu, sigma), D in zip(data, model.implied(theta), model.delta(theta), strict=True):
        info += gd.n / N * D.T @ unit_information(sigma, model.vech_i, model.vech_j) @ D
    return info


def _pattern_hessian(n: float, K: np.ndarray, M: np.ndarray, s: np.ndarray, vi, vj) -> np.ndarray:
    """Hessian in (mu, vech Sigma) of n log|Sigma| + tr(Sigma^-1 M(mu)) for one pattern (K = Sigma^-1,
    M = sum of e e', s = sum of e, e = x - mu; K, M, s zero-padded to the full p items)."""
    p = len(K)
    u = K @ s
    Q = K @ M @ K
    off = vi != vj
    out = np.zeros((p + len(vi), p + len(vi)))
    out[:p, :p] = 2 * n * K
    # d(-2 K s)/d Sigma_ab = 2 K[:, a] u_b (one entry); a vech element moves Sigma_ab and Sigma_ba
    g3 = 2 * K[:, :, None] * u[None, None, :]                                   # [k, a, b]
    mixed = g3[:, vi, vj] + off[None, :] * g3[:, vj, vi]
    out[:p, p:] = mixed
    out[p:, :p] = mixed.T
    # d W / d Sigma with W = n K - K M K: tr(dW(cd) dSigma(ab)) = sum of A[b, c] B[d, a] terms
    def four(a, b, c, d):
        return -n * K[b, c] * K[d, a] + K[b, c] * Q[d, a] + Q[b, c] * K[d, a]
    a, b = vi[:, None], vj[:, None]
    c, d = vi[None, :], vj[None, :]
    oab, ocd = off[:, None], off[None, :]
    out[p:, p:] = (four(a, b, c, d) + oab * four(b, a, c, d) + ocd * four(a, b, d, c)
                   + (oab & ocd) * four(b, a, d, c))
    return out


def _moment_hessian(gd: GroupData, mu: np.ndarray, sigma: np.ndarray, vi, vj) -> np.ndarray:
    """Hessian of :func:`_group_terms`'s value in (mu, vech Sigma), analytically."""
    p = len(mu)
    if gd.patterns is None:   # one pattern of all items, per observation: M = S + d d', s = -d ... with n = 1
        K = np.linalg.inv(sigma)
        e = gd.mean - mu
        return _pattern_hessian(1.0, K, gd.cov + np.outer(e, e), e, vi, vj)
    total = np.zeros((p + len(vi), p + len(vi)))
    for o, oo, xo, n, _n_obs in gd.blocks:
        K = np.zeros((p, p))
        K[oo] = np.linalg.inv(sigma[oo])
        e = xo - mu[o]
        M = np.zeros((p, p))
        M[oo] = e.T @ e
        s = np.zeros(p)
        s[o] = e.sum(axis=0)
        total += _pattern_hessian(float(n), K, M, s, vi, vj)
    return total / gd.n


def observed_information(model: MGModel, data: list[GroupData], theta: np.ndarray) -> np.ndarray:
    """Half the Hessian of the objective (unit observed information), analytically.

    Hessian = sum_g w_g [Delta_g' H_g Delta_g + sum_r gamma_g,r d Delta_g,r / d theta], with H_g and gamma_g
    the Hessian and gradient of the group's discrepancy in its moments (mu, vech Sigma).  Delta is at most
    quadratic in theta (mu = nu + L alpha, Sigma = L Psi L' + Theta), so its derivative is taken by a
    central difference with a unit step, which is exact for a quadratic (up to rounding).
    """
    N = sum(d.n for d in data)
    k = model.npar
    vi, vj = model.vech_i, model.vech_j
    H = np.zeros((k, k))
    gammas = []
    for gd, (mu, sigma), D in zip(data, model.implied(theta), model.delta(theta), strict=True):
        w = gd.n / N
        H += w * D.T @ _moment_hessian(gd, mu, sigma, vi, vj) @ D
        gammas.append(w * _group_terms(gd, mu, sigma, vi, vj)[1])
    for a in range(k):
        tp, tm = theta.copy(), theta.copy()
        tp[a] += 1.0
        tm[a] -= 1.0
        for gamma, Dp, Dm in zip(gammas, model.delta(tp), model.delta(tm), strict=True):
            H[:, a] += (Dp - Dm).T @ gamma / 2.0
    return (H + H.T) / 4


def _observed_information_numeric(model: MGModel, data: list[GroupData], theta: np.ndarray) -> np.ndarray:
    """The same by central differences of the gradient (kept to check the analytic form in the tests)."""
    k = model.npar
    H = np.zeros((k, k))
    for a in range(k):
        h = 1e-5 * max(1.0, abs(theta[a]))
        tp, tm = theta.copy(), theta.copy()
        tp[a] += h
        tm[a] -= h
        H[:, a] = (objective(model, data, tp)[1] - objective(model, data, tm)[1]) / (2 * h)
    return (H + H.T) / 4


def _scoring(model: MGModel, data: list[GroupData], theta: np.ndarray, tol: float, max_iter: int
             ) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Fisher scoring with step halving from *theta*; stops at the tolerance or when no step improves."""
    f, g = objective(model, data, theta)
    it = 0
    for it in range(1, max_iter + 1):
        if np.max(np.abs(g)) < tol:
            break
        try:
            step = np.linalg.solve(2 * expected_information(model, data, theta), g)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t >= 1e-10:
            new = theta - t * step
            fn, gn = objective(model, data, new)
            if np.isfinite(fn) and fn <= f + 1e-15 * abs(f):
                break
            t /= 2
        else:
            break
        theta, f, g = new, fn, gn
    return theta, f, g, it


def fit_model(model: MGModel, data: list[GroupData], *, tol: float = 1e-11, max_iter: int = 500
              ) -> tuple[np.ndarray, float, int]:
    """Minimise the ML discrepancy; returns (theta, objective, iterations).

    Fisher scoring with step halving (fast and very precise near the optimum); if it stalls, a
    quasi-Newton search (BFGS) from where it stopped, then Fisher scoring again.  A solution whose
    largest gradient is above 1e-6 raises :class:`StatisticsError` rather than being reported.
    """
    theta = model.start(data)
    if not np.isfinite(objective(model, data, theta)[0]):
        raise StatisticsError("The starting values give a covariance matrix that is not positive definite; "
                              "check that every item varies in every group.")
    theta, f, g, it = _scoring(model, data, theta, tol, max_iter)
    if np.max(np.abs(g)) >= tol:
        def fun(t: np.ndarray) -> tuple[float, np.ndarray]:
            v, gr = objective(model, data, t)
            return (v, gr) if np.isfinite(v) else (1e10, np.zeros_like(t))

        res = optimize.minimize(fun, theta, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 20000})
        if res.fun < f:
            theta = res.x
        theta, f, g, it2 = _scoring(model, data, theta, tol, max_iter)
        it += res.nit + it2
    if not np.max(np.abs(g)) < 1e-6:
        raise StatisticsError(f"The factor model did not converge (largest gradient {np.max(np.abs(g)):.2g} after {it} "
                              "iterations): it may not be identified with these data, e.g. a marker item (the first "
                              "item of a factor) that hardly relates to the others; reorder the items or simplify "
                              "the model.")
    return theta, f, it


# ---- casewise scores, robust (MLR) corrections ------------------------------------------------------
def casewise_moment_scores(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray, vi, vj) -> np.ndarray:
    """Per-case gradient of the log-likelihood in (mu, vech Sigma) (complete rows)."""
    inv = np.linalg.inv(sigma)
    e = (x - mu) @ inv                                                     # (n, p) = Sigma^-1 e_i
    w = np.where(vi == vj, 1.0, 2.0)
    cov_part = 0.5 * (e[:, vi] * e[:, vj] - inv[vi, vj]) * w
    return np.concatenate([e, cov_part], axis=1)


def first_order_information(model: MGModel, data: list[GroupData], theta: np.ndarray) -> np.ndarray:
    """B0 = (1/N) sum_i s_i s_i' with s_i the casewise scores of the free parameters (complete data)."""
    N = sum(d.n for d in data)
    B = np.zeros((model.npar, model.npar))
    for gd, (mu, sigma), D in zip(data, model.implied(theta), model.delta(theta), strict=True):
        s = casewise_moment_scores(gd.x, mu, sigma, model.vech_i, model.vech_j) @ D
        B += s.T @ s / N
    return B


def h1_trace(data: list[GroupData], vi, vj) -> float:
    """sum_g tr(B1_g A1_g^-1) of the saturated model at the sample moments (lavaan's h1 'unstructured')."""
    total = 0.0
    for gd in data:
        c = casewise_moment_scores(gd.x, gd.mean, gd.cov, vi, vj)
        B1 = c.T @ c / gd.n
        A1 = unit_information(gd.cov, vi, vj)
        total += np.trace(np.linalg.solve(A1, B1))
    return total
