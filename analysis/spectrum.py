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

__all__ = ["Spectrum", "SpectralDensity", "lanczos_extremes", "lanczos_density"]


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
