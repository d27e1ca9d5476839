"""Measured accuracy of explicit Runge-Kutta methods on a family of ODEs (numpy).

* :func:`rk_step` advances a batch of problems by one step of a tableau.
* :func:`measure_order` fits the slope of the one-step error against h (the local error of
  an order-p method is O(h^(p+1)), so the *measured order* is that slope minus one).
* :func:`compare_methods` gives the mean one-step error of several methods on the same
  samples, in and out of the training distribution, and the ratios to a reference method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .errors import AnalysisInputError
from .odefamily import OdeFamilySpec, OdeSamples
from .tableau import ButcherTableau

__all__ = ["rk_step", "MeasuredOrder", "measure_order", "Comparison", "compare_methods", "one_step_errors"]


def rk_step(tableau: ButcherTableau, f: Callable[[np.ndarray], np.ndarray], y: np.ndarray, h: np.ndarray | float) -> np.ndarray:
    """One explicit RK step for a batch: ``y`` (n, d), ``h`` scalar or (n,), ``f(Y) -> (n, d)``."""
    if not tableau.is_explicit:
        raise AnalysisInputError(f"{tableau.label}: rk_step needs an explicit method")
    A, b = tableau.A, tableau.b
    s = tableau.stages
    h = np.asarray(h, dtype=np.float64).reshape(-1, 1) if np.ndim(h) else float(h)
    K: list[np.ndarray] = []
    for i in range(s):
        yi = y
        for j in range(i):
            if A[i, j] != 0.0:
                yi = yi + h * A[i, j] * K[j]
        K.append(f(yi))
    out = y
    for j in range(s):
        if b[j] != 0.0:
            out = out + h * b[j] * K[j]
    return out


def one_step_errors(tableau: ButcherTableau, spec: OdeFamilySpec, samples: OdeSamples, reference: np.ndarray | None = None) -> np.ndarray:
    """Euclidean norm of the one-step error for each sample."""
    g = spec.numpy_rhs
    ref = spec.flow(samples.y0, samples.params, samples.h) if reference is None else reference
    y1 = rk_step(tableau, lambda Y: g(Y, samples.params), samples.y0, samples.h)
    return np.linalg.norm(y1 - ref, axis=1)


@dataclass(frozen=True)
class MeasuredOrder:
    """One-step errors against h and the fitted slope.

    ``order = local_slope - 1``. ``used`` marks the points in the fit (errors above the
    rounding floor).
    """

    h: tuple[float, ...]
    errors: tuple[float, ...]
    used: tuple[bool, ...]
    local_slope: float
    order: float
    n_samples: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"h": list(self.h), "errors": list(self.errors), "used": list(self.used), "local_slope": self.local_slope,
                "order": self.order, "n_samples": self.n_samples}


def measure_order(
    tableau: ButcherTableau,
    spec: OdeFamilySpec,
    *,
    n_samples: int = 32,
    seed: int = 12345,
    h_values: Sequence[float] | None = None,
) -> MeasuredOrder:
    """Mean one-step error on held-out samples at a geometric sequence of step sizes, and
    the least-squares slope of log(error) against log(h)."""
    base = spec.sample(n_samples, seed)
    hs = np.asarray(h_values if h_values is not None else _default_hs(spec), dtype=np.float64)
    errs = []
    for h in hs:
        smp = OdeSamples(base.params, base.y0, np.full(n_samples, h))
        errs.append(float(np.mean(one_step_errors(tableau, spec, smp))))
    errs_a = np.array(errs)
    scale = float(np.mean(np.linalg.norm(base.y0, axis=1))) or 1.0
    floor = 1e-13 * scale
    used = errs_a > floor
    if used.sum() < 2:
        slope = float("nan")
    else:
        slope = float(np.polyfit(np.log(hs[used]), np.log(errs_a[used]), 1)[0])
    return MeasuredOrder(tuple(map(float, hs)), tuple(errs), tuple(bool(u) for u in used), slope, slope - 1.0, n_samples)


def _default_hs(spec: OdeFamilySpec) -> np.ndarray:
    lo, hi = spec.h_range
    top = min(2.0 * hi, 0.5)
    return top / 2.0 ** np.arange(6)


@dataclass(frozen=True)
class Comparison:
    """Mean one-step errors of several methods on the same held-out samples.

    ``errors[setting][method]`` with settings ``"in_distribution"`` and
    ``"out_of_distribution"``; ``ratios[setting][method]`` is that method's error divided by
    the reference method's error (above 1: the reference is more accurate)."""

    reference: str
    stages: dict[str, int]
    errors: dict[str, dict[str, float]]
    ratios: dict[str, dict[str, float]]
    n_samples: int

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "stages": self.stages, "errors": self.errors, "ratios": self.ratios, "n_samples": self.n_samples}


def compare_methods(
    reference: ButcherTableau,
    others: Sequence[ButcherTableau],
    spec: OdeFamilySpec,
    *,
    n_samples: int = 256,
    seed: int = 777,
) -> Comparison:
    """Equal-cost comparison: mean one-step error of ``reference`` (e.g. the learned method)
    and ``others`` (classical methods with the same number of stages) on held-out samples in
    the training ranges and out of distribution. ``ratios[setting][name]`` is
    ``error(name) / error(reference)``: above 1 the reference is more accurate."""
    errors: dict[str, dict[str, float]] = {}
    ratios: dict[str, dict[str, float]] = {}
    for setting, ood in (("in_distribution", False), ("out_of_distribution", True)):
        smp = spec.sample(n_samples, seed + (1 if ood else 0), ood=ood)
        ref = spec.flow(smp.y0, smp.params, smp.h)
        e_ref = float(np.mean(one_step_errors(reference, spec, smp, ref)))
        errors[setting] = {reference.label: e_ref}
        ratios[setting] = {}
        for t in others:
            e = float(np.mean(one_step_errors(t, spec, smp, ref)))
            errors[setting][t.label] = e
            ratios[setting][t.label] = e / e_ref if e_ref > 0 else float("inf")
    stages = {reference.label: reference.stages, **{t.label: t.stages for t in others}}
    return Comparison(reference.label, stages, errors, ratios, n_samples)
