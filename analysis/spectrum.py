"""Where the eigenvalues of a family of linear systems lie: :class:`Spectrum`, the interval
(hull of the real parts), the known eigenvalues when there are finitely many, and how they
were obtained. Every Krylov-side module measures a residual polynomial on one.
:func:`lanczos_extremes` estimates the extreme eigenvalues of a large symmetric operator from
a few matrix-vector products. Imports numpy and :mod:`.errors` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import AnalysisInputError

__all__ = ["Spectrum", "lanczos_extremes"]


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
