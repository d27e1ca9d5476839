"""Training objectives of the linear branch at the size of PDE problems: the data reduced
once to Chebyshev moments, every training step independent of the order m.

A learned polynomial iteration maps the residual of ``A x = rhs`` by a fixed polynomial:
after k outer iterations ``r_k = P_k(A) r_0`` with ``deg P_k <= n k`` (n stages; also with
memory, the iteration stays linear and translation invariant). For one shared symmetric
matrix with its spectrum in ``[lo, hi]``, map it to ``B = (A - c I) / d`` with spectrum in
``[-1, 1]`` and write ``P_k = sum_a c_ka T_a`` in Chebyshev polynomials of B. Then

    ||P_k(A) r||^2 = sum_ab c_ka c_kb <T_a(B) r, T_b(B) r> = c_k^T G(r) c_k,
    G_ab = (mu_{a+b} + mu_{|a-b|}) / 2,      mu_j = <r, T_j(B) r>,

(``T_a T_b = (T_{a+b} + T_{|a-b|}) / 2`` and B symmetric). The moments ``mu_0 .. mu_{2D+1}``
of one right-hand side need only D + 1 products with A (``mu_{2j} = 2 <T_j r, T_j r> -
mu_0``, ``mu_{2j+1} = 2 <T_{j+1} r, T_j r> - mu_1``, the three-term recurrence keeps
three vectors), computed once for the whole training set in blocks of right-hand sides with
scipy's CSR kernel: cost ``samples x (D + 1) x nnz``, memory ``block x m``. The
coefficients ``c_k`` are the values of ``P_k`` at the D + 1 Chebyshev nodes of ``[lo, hi]``
(the R2N2 run on the scalar problems ``f(y) = 1 - lambda y``, differentiable) times a fixed
interpolation matrix: exact for a polynomial of degree <= D, and well conditioned because
``|T_j| <= 1`` on the spectrum. So the published residual objective (mean over the
systems of ``sum_k w_k ||r_k||^2``) and the minimax objective (the per-system reduction
``||r_M|| / ||r_0||``) are evaluated exactly, to rounding, in ``O(K D^2)`` (residual) or
``O(samples D^2)`` (minimax) per step, whatever m.

Only for one shared symmetric matrix; the per-system dense ``spd`` family and the
nonsymmetric families keep the direct batched recurrence of :mod:`algodiscover.linear`
(Chebyshev bases of a nonnormal matrix can be large where its residuals are small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sps
import torch

__all__ = ["ChebyshevMoments", "chebyshev_moments", "moment_residual_loss", "moment_minimax_loss", "MOMENT_BLOCK_BYTES"]

Tensor = torch.Tensor
#: bytes of one block of right-hand sides (three vectors each) while the moments are computed
MOMENT_BLOCK_BYTES = 64 * 2**20


@dataclass(frozen=True, eq=False)
class ChebyshevMoments:
    """``mu[i, j] = <r_i, T_j(B) r_i>`` for ``j = 0 .. 2 * degree + 1``, ``B = (A - centre) /
    halfwidth``; ``matvecs`` the products with A it took, ``seconds`` its wall time."""

    mu: np.ndarray
    centre: float
    halfwidth: float
    degree: int
    matvecs: int
    seconds: float

    def gram(self, mean: bool) -> np.ndarray:
        """``G_ab = (mu_{a+b} + mu_{|a-b|}) / 2`` for ``a, b <= degree``: one (D+1, D+1) matrix
        of the mean over the systems (``mean``), else one per system (S, D+1, D+1)."""
        D = self.degree
        a = np.arange(D + 1)
        idx_sum = a[:, None] + a[None, :]
        idx_dif = np.abs(a[:, None] - a[None, :])
        mu = self.mu.mean(axis=0, keepdims=True) if mean else self.mu
        G = 0.5 * (mu[:, idx_sum] + mu[:, idx_dif])
        return G[0] if mean else G

    def nodes(self) -> np.ndarray:
        """The D + 1 Chebyshev nodes of the interval (first kind), where ``P_k`` is sampled."""
        D = self.degree
        x = np.cos(np.pi * (np.arange(D + 1) + 0.5) / (D + 1))
        return self.centre + self.halfwidth * x

    def interpolation(self) -> np.ndarray:
        """M with ``c = M v``: Chebyshev coefficients of the degree-D interpolant of the values
        v at :meth:`nodes` (exact for polynomials of degree <= D)."""
        D = self.degree
        theta = np.pi * (np.arange(D + 1) + 0.5) / (D + 1)
        M = (2.0 / (D + 1)) * np.cos(np.outer(np.arange(D + 1), theta))
        M[0] *= 0.5
        return M


def chebyshev_moments(A: sps.spmatrix, R: np.ndarray, interval: tuple[float, float], degree: int, *,
                      margin: float = 0.01, block_bytes: int = MOMENT_BLOCK_BYTES) -> ChebyshevMoments:
    """Moments ``<r_i, T_j(B) r_i>`` (``j <= 2 degree + 1``) of the rows of R (S, m) for a
    symmetric A with spectrum in ``interval`` (widened by ``margin`` of its width on each
    side, which changes nothing but keeps ``|T_j| <= 1`` where an estimated interval is a
    little short), in blocks of rows of at most ``block_bytes`` (three vectors each)."""
    import time

    t0 = time.perf_counter()
    lo, hi = (float(v) for v in interval)
    width = hi - lo
    pad = margin * width if width > 0 else margin * max(abs(hi), 1.0)
    lo, hi = lo - pad, hi + pad
    c, d = 0.5 * (hi + lo), 0.5 * (hi - lo)
    A = sps.csr_matrix(A, dtype=np.float64)
    S, m = R.shape
    D = int(degree)
    mu = np.zeros((S, 2 * D + 2))
    rows = max(1, int(block_bytes // (3 * 8 * m)))
    matvecs = 0

    def apply(X: np.ndarray) -> np.ndarray:  # B X for X (m, k)
        return (A @ X - c * X) / d

    for s0 in range(0, S, rows):
        X = np.ascontiguousarray(R[s0:s0 + rows].T)  # (m, k): scipy's CSR kernel on the block
        prev = X
        cur = apply(X)
        matvecs += X.shape[1]
        mu0 = np.einsum("ij,ij->j", X, X)
        mu1 = np.einsum("ij,ij->j", X, cur)
        blk = mu[s0:s0 + rows]
        blk[:, 0], blk[:, 1] = mu0, mu1
        # T_j = prev (j = 0 here), T_{j+1} = cur
        for j in range(0, D + 1):
            if j >= 1:
                nxt = 2.0 * apply(cur) - prev
                matvecs += X.shape[1]
                prev, cur = cur, nxt
            # now prev = T_j r, cur = T_{j+1} r
            if 2 * j >= 2:
                blk[:, 2 * j] = 2.0 * np.einsum("ij,ij->j", prev, prev) - mu0
            if 2 * j + 1 >= 3:
                blk[:, 2 * j + 1] = 2.0 * np.einsum("ij,ij->j", cur, prev) - mu1
    return ChebyshevMoments(mu, c, d, D, matvecs, time.perf_counter() - t0)


def _node_residuals(model, nodes: Tensor, outer: int) -> list[Tensor]:
    """``P_k(lambda)`` at the nodes for ``k = 1..outer``: the model run on ``f(y) = 1 -
    lambda y`` from ``y = 0`` (the residual factor of every eigencomponent)."""
    lam = nodes.reshape(-1, 1)
    one = torch.ones_like(lam)

    def f(Y: Tensor) -> Tensor:
        return one - lam * Y

    xs = model.iterate(f, torch.zeros_like(lam), outer=outer, return_all=True)
    return [(one - lam * x).reshape(-1) for x in xs]


def moment_residual_loss(model, moments: ChebyshevMoments, weights: Sequence[float]) -> Callable[[], Tensor]:
    """The residual objective ``mean_i sum_k w_k ||r_k,i||^2`` from the moments (exact for
    ``K = len(weights)`` outer iterations of degree ``<= moments.degree / K`` each)."""
    G = torch.from_numpy(moments.gram(mean=True))
    M = torch.from_numpy(moments.interpolation())
    nodes = torch.from_numpy(moments.nodes())
    w = torch.tensor(list(weights), dtype=torch.float64)
    K = len(weights)

    def loss() -> Tensor:
        total = torch.zeros((), dtype=torch.float64)
        for k, v in enumerate(_node_residuals(model, nodes, K)):
            ck = M @ v
            total = total + w[k] * (ck @ (G @ ck))
        return total

    return loss


def moment_minimax_loss(model, moments: ChebyshevMoments, outer: int, temperature: float,
                        soft_max_log: Callable[[Tensor, float], Tensor]) -> Callable[[], Tensor]:
    """The minimax objective from per-system moments: the soft maximum over the systems of
    ``log rho_i = log(||r_M,i|| / ||r_0,i||) / M``."""
    G = torch.from_numpy(moments.gram(mean=False))  # (S, D+1, D+1)
    M = torch.from_numpy(moments.interpolation())
    nodes = torch.from_numpy(moments.nodes())
    log_r0 = 0.5 * torch.log(torch.from_numpy(moments.mu[:, 0].copy()))

    def loss() -> Tensor:
        v = _node_residuals(model, nodes, outer)[-1]
        c = M @ v
        sq = torch.einsum("a,sab,b->s", c, G, c)
        logs = 0.5 * torch.log(torch.clamp(sq, min=1e-300)) - log_r0
        return soft_max_log(logs / outer, temperature)

    return loss


def moment_degree(stages: int, outer: int) -> int:
    """Degree of the residual polynomial after ``outer`` iterations of ``stages`` matvecs."""
    return int(stages) * int(outer)


def moments_memory_bytes(samples: int, degree: int, per_system: bool) -> int:
    """Bytes the moments (and the per-system Gram matrices of the minimax objective) hold."""
    g = samples * (degree + 1) ** 2 if per_system else (degree + 1) ** 2
    return 8 * (samples * (2 * degree + 2) + g)

