"""Where the eigenvalues of a family of linear systems lie: :class:`Spectrum`, the interval
(hull of the real parts), the known eigenvalues when there are finitely many, and how they
were obtained. Every Krylov-side module measures a residual polynomial on one.
:func:`lanczos_extremes` estimates the extreme eigenvalues of a large symmetric operator from
a few matrix-vector products, :func:`lanczos_density` a spectral density estimate (stochastic
Lanczos quadrature, :class:`SpectralDensity`) from a few more. Imports numpy and
:mod:`.errors` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import AnalysisInputError

__all__ = ["Spectrum", "SpectralDensity", "lanczos_extremes", "lanczos_density", "arnoldi_extremes"]


@dataclass(frozen=True, eq=False)
class SpectralDensity:
    """An estimate of the spectral measure ``(1/m) sum_j delta(lambda - lambda_j)`` of a
    symmetric operator: ``weights`` (summing to 1) at ``nodes``, the Gauss quadrature of
    ``probes`` random unit starting vectors after ``steps`` Lanczos steps each (stochastic
    Lanczos quadrature; an estimate, exact for polynomials of degree < 2 steps in the mean
    over probes)."""

    nodes: np.ndarray
    weights: np.ndarray
    steps: int
    probes: int

    def to_json(self) -> dict[str, Any]:
        order = np.argsort(self.nodes)
        return {"method": f"stochastic Lanczos quadrature, {self.probes} random probes x {self.steps} Lanczos steps (an estimate)",
                "nodes": [float(v) for v in self.nodes[order]], "weights": [float(v) for v in self.weights[order]],
                "matvecs": int(self.probes * self.steps)}


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Where a family's eigenvalues lie.

    ``interval`` is ``[lo, hi]``, the hull of the real parts; ``eigenvalues`` the known
    eigenvalues (complex allowed) or None for a continuous family (e.g. random SPD matrices
    with eigenvalues drawn from an interval); ``source`` says how it was obtained;
    ``exact_interval`` is True when ``lo`` and ``hi`` are attained (or are the family's
    stated bounds) rather than estimates.
    """

    interval: tuple[float, float]
    source: str
    eigenvalues: np.ndarray | None = None
    exact_interval: bool = True
    density: SpectralDensity | None = None

    def __post_init__(self) -> None:
        lo, hi = (float(v) for v in self.interval)
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise AnalysisInputError(f"spectrum interval must be finite with lo <= hi, got {self.interval!r}")
        object.__setattr__(self, "interval", (lo, hi))
        if self.eigenvalues is not None:
            ev = np.asarray(self.eigenvalues)
            ev = ev.astype(complex) if np.iscomplexobj(ev) else ev.astype(np.float64)
            if ev.ndim != 1 or ev.size == 0 or not np.all(np.isfinite(ev)):
                raise AnalysisInputError("spectrum eigenvalues must be a non-empty finite vector")
            if np.iscomplexobj(ev) and np.max(np.abs(ev.imag)) <= 1e-12 * max(1.0, float(np.max(np.abs(ev)))):
                ev = ev.real.copy()
            ev.setflags(write=False)
            object.__setattr__(self, "eigenvalues", ev)

    @property
    def max_imag(self) -> float:
        if self.eigenvalues is None or not np.iscomplexobj(self.eigenvalues):
            return 0.0
        return float(np.max(np.abs(self.eigenvalues.imag)))

    @property
    def real(self) -> bool:
        return self.max_imag == 0.0

    @property
    def positive(self) -> bool:
        return self.interval[0] > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "interval": [self.interval[0], self.interval[1]],
            "source": self.source,
            "real": self.real,
            "max_imag": self.max_imag,
            "eigenvalue_count": None if self.eigenvalues is None else int(self.eigenvalues.size),
            "exact_interval": self.exact_interval,
            **({"density": self.density.to_json()} if self.density is not None else {}),
        }


def lanczos_extremes(matvec: Any, n: int, *, steps: int = 40, seed: int = 0) -> tuple[float, float, float]:
    """Estimate ``(lambda_min, lambda_max)`` of a symmetric operator with ``steps`` Lanczos
    steps (full reorthogonalisation; ``steps`` matvecs), and a bound on their error.

    Returns ``(lo, hi, err)``: the extreme Ritz values and the largest residual bound
    ``|beta_k s_k|`` of the two, so that an eigenvalue lies within ``err`` of each. Ritz
    values lie inside the spectrum, so ``[lo - err, hi + err]`` is the safe enclosure of the
    extremes' estimates (exact when the Krylov space becomes invariant).
    """
    n = int(n)
    steps = max(1, min(int(steps), n))
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    V = np.empty((steps, n))
    alpha = np.zeros(steps)
    beta = np.zeros(steps)
    k = 0
    for k in range(steps):
        V[k] = v
        w = np.asarray(matvec(v), dtype=np.float64).reshape(-1)
        if w.shape != (n,) or not np.all(np.isfinite(w)):
            raise AnalysisInputError("lanczos_extremes: the operator returned a non-finite or wrongly shaped vector")
        alpha[k] = float(v @ w)
        w -= V[: k + 1].T @ (V[: k + 1] @ w)  # full reorthogonalisation (twice is enough)
        w -= V[: k + 1].T @ (V[: k + 1] @ w)
        beta[k] = float(np.linalg.norm(w))
        if beta[k] <= 1e-12 * max(1.0, abs(alpha[k])):
            break
        v = w / beta[k]
    m = k + 1
    T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
    theta, S = np.linalg.eigh(T)
    bounds = np.abs(beta[m - 1] * S[-1, :])
    return float(theta[0]), float(theta[-1]), float(max(bounds[0], bounds[-1]))


def lanczos_density(matvec: Any, n: int, *, steps: int = 40, probes: int = 4, seed: int = 0) -> tuple[SpectralDensity, float, float, float]:
    """A spectral density estimate of a symmetric operator from ``probes`` x ``steps``
    matvecs (three-term Lanczos without reorthogonalisation: three vectors of memory, so it
    runs at any n; lost orthogonality duplicates converged Ritz values but keeps the
    quadrature), and the extreme Ritz values over the probes with the larger of their residual
    bounds: ``(density, lo, hi, err)``, as :func:`lanczos_extremes` returns them."""
    n = int(n)
    steps = max(1, min(int(steps), n))
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    lo, hi, err = math.inf, -math.inf, 0.0
    for _ in range(int(probes)):
        v = rng.standard_normal(n)
        v /= np.linalg.norm(v)
        v_prev = np.zeros(n)
        alpha, beta = [], []
        b_prev = 0.0
        for _k in range(steps):
            w = np.asarray(matvec(v), dtype=np.float64).reshape(-1)
            if w.shape != (n,) or not np.all(np.isfinite(w)):
                raise AnalysisInputError("lanczos_density: the operator returned a non-finite or wrongly shaped vector")
            a = float(v @ w)
            w = w - a * v - b_prev * v_prev
            bk = float(np.linalg.norm(w))
            alpha.append(a)
            beta.append(bk)
            if bk <= 1e-12 * max(1.0, abs(a)):
                break
            v_prev, v, b_prev = v, w / bk, bk
        k = len(alpha)
        T = np.diag(alpha) + np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
        theta, S = np.linalg.eigh(T)
        nodes.append(theta)
        weights.append(S[0, :] ** 2 / probes)
        bounds = np.abs(beta[k - 1] * S[-1, :])
        lo, hi = min(lo, float(theta[0])), max(hi, float(theta[-1]))
        err = max(err, float(bounds[0]), float(bounds[-1]))
    dens = SpectralDensity(np.concatenate(nodes), np.concatenate(weights), steps, int(probes))
    return dens, lo, hi, err


def arnoldi_extremes(matvec: Any, n: int, *, k: int = 4, ncv: int = 40, tol: float = 1e-8, maxiter: int = 300,
                     seed: int = 0) -> dict[str, Any]:
    """Matrix-free estimate of the extreme eigenvalues of a (possibly nonsymmetric) operator of
    order ``n`` from ``matvec`` alone: implicitly restarted Arnoldi (ARPACK, through
    :func:`scipy.sparse.linalg.eigs`, ``ncv`` basis vectors, so memory ``ncv x n``) for the
    ``k`` eigenvalues of smallest and of largest real part and the ``k`` of largest imaginary
    part; for an operator found symmetric (two products, ``|u.Av - v.Au| <= 1e-10 |u||Av|``)
    implicitly restarted Lanczos (:func:`scipy.sparse.linalg.eigsh`, both ends). No m x m
    matrix is formed.

    Returns ``{"eigenvalues": the Ritz values found (complex where any is), "symmetric",
    "matvecs": products used, "converged": every requested end converged to ``tol``}``; an
    end that did not converge within ``maxiter`` restarts contributes the Ritz values ARPACK
    had converged, or, if none, those of an ``ncv``-step Arnoldi factorisation (estimates
    inside the field of values). Operators of order <= ``2 k + 2`` fall back to the dense
    eigenvalues of their ``n`` columns (n products).
    """
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigs, eigsh

    n = int(n)
    count = [0]

    def mv(v: np.ndarray) -> np.ndarray:
        count[0] += 1
        w = np.asarray(matvec(np.asarray(v, dtype=np.float64).reshape(-1)), dtype=np.float64).reshape(-1)
        if w.shape != (n,) or not np.all(np.isfinite(w)):
            raise AnalysisInputError("arnoldi_extremes: the operator returned a non-finite or wrongly shaped vector")
        return w

    if n <= 2 * k + 2:
        A = np.column_stack([mv(e) for e in np.eye(n)])
        return {"eigenvalues": np.linalg.eigvals(A), "symmetric": bool(np.allclose(A, A.T)), "matvecs": count[0], "converged": True}
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal(n), rng.standard_normal(n)
    Au, Av = mv(u), mv(v)
    symmetric = abs(float(u @ Av) - float(v @ Au)) <= 1e-10 * float(np.linalg.norm(u) * np.linalg.norm(Av))
    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    ncv = int(min(max(ncv, 2 * k + 2), n - 1))
    v0 = rng.standard_normal(n)
    found: list[np.ndarray] = []
    converged = True
    ends = [("BE", eigsh, 2 * k)] if symmetric else [("SR", eigs, k), ("LR", eigs, k), ("LI", eigs, k)]
    for which, fn, kk in ends:
        kk = min(kk, n - 2)
        try:
            found.append(np.asarray(fn(op, k=kk, which=which, ncv=ncv, tol=tol, maxiter=maxiter, v0=v0, return_eigenvectors=False)))
        except ArpackNoConvergence as exc:
            converged = False
            if exc.eigenvalues is not None and np.size(exc.eigenvalues):
                found.append(np.asarray(exc.eigenvalues))
            else:
                found.append(_arnoldi_ritz(mv, n, ncv, v0))
        except ArpackError:
            converged = False
            found.append(_arnoldi_ritz(mv, n, ncv, v0))
    ev = np.concatenate(found)
    if symmetric or (np.iscomplexobj(ev) and np.max(np.abs(ev.imag)) <= 1e-12 * max(1.0, float(np.max(np.abs(ev))))):
        ev = ev.real.astype(np.float64)
    return {"eigenvalues": ev, "symmetric": bool(symmetric), "matvecs": count[0], "converged": converged}


def _arnoldi_ritz(mv: Any, n: int, steps: int, v0: np.ndarray) -> np.ndarray:
    """Ritz values of a ``steps``-step Arnoldi factorisation (modified Gram-Schmidt)."""
    V = np.zeros((steps + 1, n))
    H = np.zeros((steps + 1, steps))
    V[0] = v0 / np.linalg.norm(v0)
    m = steps
    for j in range(steps):
        w = mv(V[j])
        for i in range(j + 1):
            H[i, j] = float(V[i] @ w)
            w = w - H[i, j] * V[i]
        H[j + 1, j] = float(np.linalg.norm(w))
        if H[j + 1, j] <= 1e-12 * max(1.0, abs(H[j, j])):
            m = j + 1
            break
        V[j + 1] = w / H[j + 1, j]
    return np.linalg.eigvals(H[:m, :m])
