"""Where the eigenvalues of a family of linear systems lie: :class:`Spectrum`, the interval
(hull of the real parts), the known eigenvalues when there are finitely many, and how they
were obtained. Every Krylov-side module measures a residual polynomial on one. Imports numpy
and :mod:`.errors` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import AnalysisInputError

__all__ = ["Spectrum"]


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
