"""Multi-group confirmatory factor analysis by maximum likelihood, as R ``lavaan::cfa`` fits it.

The model in every group g is ``x = nu_g + Lambda_g eta + eps`` with ``eta ~ N(alpha_g, Psi_g)`` and a
diagonal residual covariance ``Theta_g``, so that ``Sigma_g = Lambda Psi Lambda' + Theta`` and
``mu_g = nu_g + Lambda alpha_g``.  lavaan's defaults are kept exactly:

* identification by marker variable: the first item of each factor has loading 1 (``std.lv = FALSE``);
  factor variances and covariances are free; residuals are uncorrelated;
* a mean structure in multi-group models; latent means 0 unless intercepts are held equal, in which case
  they are free in every group but the first (the reference group, the first to appear in the data);
* ``group.equal`` constraints by sharing one parameter between groups (equivalent to lavaan's labels);
* the ML discrepancy with the biased (divisor N) covariance: ``F_g = log|Sigma| - log|S| + tr(S Sigma^-1)
  - p + (ybar - mu)' Sigma^-1 (ybar - mu)``, ``chi-square = sum_g N_g F_g``;
* standard errors from the expected information (complete data, ML), the observed information
  (full-information ML for missing answers) or the Huber-White sandwich (MLR).

The optimiser is Fisher scoring with step halving, run to a gradient of ~1e-12, tighter than lavaan's own
default, so the estimates equal lavaan's run with a tight tolerance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from recoverystudy.errors import StatisticsError
from recoverystudy.stats._cfa_data import GroupData

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
        self._layout = [self._group_layout(g) for g in range(G)]
        #: the free parameters the Jacobian of the moments depends on (loadings, factor (co)variances and means)
        self.jacobian_parameters = sorted({idx for _g, kind, _i, _j, idx in self.slots if kind in "LPA"})

    def _group_layout(self, g: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Group *g*'s slots by kind as index arrays ``(i, j, idx)`` in slot order, built once: the matrices and
        their Jacobian are filled with array assignments instead of a Python loop over the parameters."""
        s = self.slot_arr[self.slot_arr[:, 0] == g]
        out = {}
        for code, kind in enumerate("LTPNA"):
            k = s[s[:, 1] == code]
            out[kind] = (k[:, 2], k[:, 3], k[:, 4])
        i, j, idx = out["P"]
        diag = i == j
        out["Pd"] = (i[diag], j[diag], idx[diag])        # variances and covariances of the factors
        out["Po"] = (i[~diag], j[~diag], idx[~diag])
        # the constant part of the Jacobian: intercepts (d mu_i / d nu_i = 1) and residual variances
        p, vi, vj = self.p, self.vech_i, self.vech_j
        D0 = np.zeros((p + len(vi), self.npar))
        ni, _, nidx = out["N"]
        D0[ni, nidx] += 1.0
        ti, _, tidx = out["T"]
        vech_pos = {(a, b): k for k, (a, b) in enumerate(zip(vi.tolist(), vj.tolist()))}
        D0[p + np.array([vech_pos[(t, t)] for t in ti.tolist()], dtype=int), tidx] += 1.0
        out["D0"] = D0
        return out

    # -- matrices ----------------------------------------------------------------------------------
    def matrices(self, theta: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """Per group ``(Lambda, Psi, diag Theta, nu, alpha)`` at the free parameters *theta*."""
        out = []
        for lay in self._layout:
            L = self.marker[:, : self.q].astype(float).copy()
            P = np.zeros((self.q, self.q))
            T = np.zeros(self.p)
            nu = np.zeros(self.p)
            al = np.zeros(self.q)
            i, j, idx = lay["L"]
            L[i, j] = theta[idx]
            i, j, idx = lay["P"]
            P[i, j] = theta[idx]
            P[j, i] = theta[idx]
            i, _, idx = lay["T"]
            T[i] = theta[idx]
            i, _, idx = lay["N"]
            nu[i] = theta[idx]
            i, _, idx = lay["A"]
            al[i] = theta[idx]
            out.append((L, P, T, nu, al))
        return out

    def implied(self, theta: np.ndarray, mats: list | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per group the model-implied mean and covariance (*mats*: :meth:`matrices` at *theta*, if at hand)."""
        res = []
        for L, P, T, nu, al in self.matrices(theta) if mats is None else mats:
            res.append((nu + L @ al, L @ P @ L.T + np.diag(T)))
        return res

    def delta(self, theta: np.ndarray, mats: list | None = None) -> list[np.ndarray]:
        """Jacobian of (mu, vech Sigma) of each group with respect to the free parameters.

        Each free parameter of a group has its own column (a parameter shared between groups appears once
        per group), so the columns are filled kind by kind with array operations; every entry is the same
        sum of the same products as entry-by-entry filling gives.
        """
        p = self.p
        vi, vj = self.vech_i, self.vech_j
        out = []
        for lay, (L, P, T, nu, al) in zip(self._layout, self.matrices(theta) if mats is None else mats,
                                          strict=True):
            D = lay["D0"].copy()
            i, _, idx = lay["A"]
            D[:p, idx] += L[:, i]
            i, j, idx = lay["L"]
            if len(idx):
                D[i, idx] += al[j]
                rows = (P @ L.T)[j]                      # d Sigma = e_i row' + row e_i'
                first = np.where(vi[None, :] == i[:, None], rows[:, vj], 0.0)
                second = np.where(vj[None, :] == i[:, None], rows[:, vi], 0.0)
                D[p:, idx] += ((0.0 + first) + second).T
            i, _, idx = lay["Pd"]
            if len(idx):
                D[p:, idx] += (L[vi][:, i] * L[vj][:, i])
            i, j, idx = lay["Po"]
            if len(idx):
                D[p:, idx] += (L[vi][:, i] * L[vj][:, j] + L[vi][:, j] * L[vj][:, i])
            out.append(D)
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


def _pattern_moments(c, mu: np.ndarray, so: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the missing-data patterns of one size class (``GroupData.size_classes``) with their blocks *so*
    of Sigma: the inverses of the blocks, sum of e e' and sum of e per pattern (e = x - mu), each as a
    loop over the patterns computes it (one row: the outer product; more rows: ``e.T @ e``)."""
    inv = np.linalg.inv(so)
    e = c.x - mu[c.cols]
    M = np.empty_like(so)
    total = np.empty((len(M), c.k))
    one = e[c.single_rows]
    M[c.single] = one[:, :, None] * one[:, None, :]
    total[c.single] = one
    for j, a, b in c.multi:
        M[j] = e[a:b].T @ e[a:b]
        total[j] = e[a:b].sum(axis=0)
    return inv, M, total


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
    classes, w_perm, g_perm, w_at, g_at = gd.size_classes
    terms, w_parts, g_parts = np.empty(len(gd.blocks)), [], []
    for c in classes:
        so = sigma[c.ix]                                                   # (m, k, k): every pattern of k items
        try:
            chol = np.linalg.cholesky(so)
        except np.linalg.LinAlgError:
            return np.inf, None
        inv, M, total = _pattern_moments(c, mu, so)
        logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        terms[c.members] = c.n * (logdet + c.k * LOG2PI) + np.sum(inv * M, axis=(1, 2))
        w_parts.append((c.n[:, None, None] * inv - inv @ M @ inv).ravel())
        g_parts.append(((-2 * inv) @ total[:, :, None]).ravel())
    val = float(np.add.accumulate(terms)[-1]) if len(terms) else 0.0      # summed in pattern order
    W = np.bincount(w_at, weights=np.concatenate(w_parts)[w_perm], minlength=p * p).reshape(p, p)
    gm = np.bincount(g_at, weights=np.concatenate(g_parts)[g_perm], minlength=p)
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
    mats = model.matrices(theta)
    imp = model.implied(theta, mats)
    deltas = model.delta(theta, mats)
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
    mats = model.matrices(theta)
    for gd, (mu, sigma), D in zip(data, model.implied(theta, mats), model.delta(theta, mats), strict=True):
        info += gd.n / N * D.T @ unit_information(sigma, model.vech_i, model.vech_j) @ D
    return info


def _pattern_hessian(n: np.ndarray, K: np.ndarray, M: np.ndarray, s: np.ndarray, vi, vj) -> np.ndarray:
    """Hessians in (mu, vech Sigma) of n log|Sigma| + tr(Sigma^-1 M(mu)), one per pattern, stacked (K = Sigma^-1,
    M = sum of e e', s = sum of e, e = x - mu; K, M, s zero-padded to the full p items; n, K, M, s with
    one leading entry per pattern)."""
    m, p = K.shape[0], K.shape[1]
    u = (K @ s[..., None])[..., 0]
    Q = K @ M @ K
    off = vi != vj
    nn = n[:, None, None]
    out = np.zeros((m, p + len(vi), p + len(vi)))
    out[:, :p, :p] = 2 * nn * K
    # d(-2 K s)/d Sigma_ab = 2 K[:, a] u_b (one entry); a vech element moves Sigma_ab and Sigma_ba
    g3 = 2 * K[:, :, :, None] * u[:, None, None, :]                             # [pattern, k, a, b]
    mixed = g3[:, :, vi, vj] + off[None, None, :] * g3[:, :, vj, vi]
    out[:, :p, p:] = mixed
    out[:, p:, :p] = np.swapaxes(mixed, 1, 2)
    # d W / d Sigma with W = n K - K M K: tr(dW(cd) dSigma(ab)) = sum of A[b, c] B[d, a] terms
    def four(a, b, c, d):
        return -nn * K[:, b, c] * K[:, d, a] + K[:, b, c] * Q[:, d, a] + Q[:, b, c] * K[:, d, a]
    a, b = vi[:, None], vj[:, None]
    c, d = vi[None, :], vj[None, :]
    oab, ocd = off[:, None], off[None, :]
    out[:, p:, p:] = (four(a, b, c, d) + oab * four(b, a, c, d) + ocd * four(a, b, d, c)
                      + (oab & ocd) * four(b, a, d, c))
    return out


def _moment_hessian(gd: GroupData, mu: np.ndarray, sigma: np.ndarray, vi, vj) -> np.ndarray:
    """Hessian of :func:`_group_terms`'s value in (mu, vech Sigma), analytically."""
    p = len(mu)
    if gd.patterns is None:   # one pattern of all items, per observation: M = S + d d', s = -d ... with n = 1
        K = np.linalg.inv(sigma)
        e = gd.mean - mu
        return _pattern_hessian(np.ones(1), K[None], (gd.cov + np.outer(e, e))[None], e[None], vi, vj)[0]
    classes = gd.size_classes[0]
    per = np.empty((len(gd.blocks), p + len(vi), p + len(vi)))
    for c in classes:
        inv, M, sums = _pattern_moments(c, mu, sigma[c.ix])
        at = (np.arange(len(inv))[:, None, None], *c.ix)
        K = np.zeros((len(inv), p, p))
        K[at] = inv
        Mp = np.zeros((len(inv), p, p))
        Mp[at] = M
        sp = np.zeros((len(inv), p))
        sp[np.arange(len(inv))[:, None], c.ix[0][:, :, 0]] = sums
        per[c.members] = _pattern_hessian(c.n, K, Mp, sp, vi, vj)
    total = np.zeros((p + len(vi), p + len(vi)))
    for h in per:                   # added in pattern order
        total += h
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
    mats = model.matrices(theta)
    for gd, (mu, sigma), D in zip(data, model.implied(theta, mats), model.delta(theta, mats), strict=True):
        w = gd.n / N
        H += w * D.T @ _moment_hessian(gd, mu, sigma, vi, vj) @ D
        gammas.append(w * _group_terms(gd, mu, sigma, vi, vj)[1])
    # Delta does not depend on intercepts and residual variances: their differences are exactly zero
    for a in model.jacobian_parameters:
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
    mats = model.matrices(theta)
    for gd, (mu, sigma), D in zip(data, model.implied(theta, mats), model.delta(theta, mats), strict=True):
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
