"""Measured accuracy of explicit Runge-Kutta methods on a family of ODEs (numpy).

* :func:`rk_step` advances a batch of problems by one step of a tableau.
* :func:`measure_order` fits the slope of the one-step error against h (the local error of
  an order-p method is O(h^(p+1)), so the *measured order* is that slope minus one) over
  the asymptotic range only (:func:`fit_asymptotic_slope`): points below the rounding
  floor and a tail that bends into a plateau are left out, and the fit uses the longest run
  of step sizes whose successive slopes agree; the result carries its fit range and an
  uncertainty.
* :func:`compare_methods` gives the mean one-step error of several methods on the same
  samples, in and out of the training distribution, and the ratios to a reference method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .errors import AnalysisInputError
from .odefamily import OdeFamilySpec, OdeSamples
from .tableau import ButcherTableau

__all__ = ["rk_step", "MeasuredOrder", "measure_order", "fit_asymptotic_slope", "SlopeFit", "Comparison", "compare_methods",
           "one_step_errors"]

#: Successive slopes within this of each other belong to one asymptotic range.
SLOPE_AGREEMENT = 0.4


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
class SlopeFit:
    """Slope of log(error) against log(h) over the asymptotic range.

    ``local_slopes[k]`` is the slope between the k-th and (k+1)-th usable points (h
    decreasing); ``used`` marks the points of the fit; ``fit_range`` is ``(h_min, h_max)``
    of those points; ``uncertainty`` is the larger of the least-squares standard error and
    half the spread of the local slopes in the range (NaN from two points only)."""

    slope: float
    uncertainty: float
    used: tuple[bool, ...]
    fit_range: tuple[float, float] | None
    local_slopes: tuple[float, ...]


def fit_asymptotic_slope(h: Sequence[float], errors: Sequence[float], floor: float = 0.0) -> SlopeFit:
    """Fit the slope of ``errors`` against ``h`` over the asymptotic range.

    1. points with ``error <= floor`` (rounding) or non-finite errors are left out;
    2. from the small-h end, points are dropped while the last slope is below half the
       largest one: the curve bends into a plateau there (rounding, the reference
       solution's accuracy), which says nothing about the order;
    3. the fit runs over the longest run of successive slopes that agree within
       :data:`SLOPE_AGREEMENT` (the smallest h wins a tie), by least squares.
    """
    hs = np.asarray(h, dtype=np.float64)
    es = np.asarray(errors, dtype=np.float64)
    order = np.argsort(-hs)
    hs, es = hs[order], es[order]
    ok = np.isfinite(es) & (es > floor) & (hs > 0)
    idx = list(np.nonzero(ok)[0])
    used = np.zeros(len(hs), dtype=bool)
    if len(idx) < 2:
        return SlopeFit(math.nan, math.nan, tuple(bool(u) for u in used[np.argsort(order)]), None, ())
    lh, le = np.log(hs), np.log(es)
    slopes = [float((le[a] - le[b]) / (lh[a] - lh[b])) for a, b in zip(idx, idx[1:])]
    all_slopes = tuple(slopes)
    while len(slopes) > 1 and slopes[-1] < 0.5 * max(slopes):
        slopes.pop()
        idx.pop()
    best = (0, len(slopes) - 1, len(slopes) - 1)  # (length, start, end) of slopes
    for i in range(len(slopes)):
        for j in range(i, len(slopes)):
            seg = slopes[i:j + 1]
            if max(seg) - min(seg) > SLOPE_AGREEMENT:
                break
            if (j - i + 1, j) >= (best[0], best[2]):
                best = (j - i + 1, i, j)
    _, i, j = best
    pts = idx[i:j + 2]
    x, y = lh[pts], le[pts]
    if len(pts) >= 3:
        coef, cov = np.polyfit(x, y, 1, cov="unscaled") if len(pts) == 3 else np.polyfit(x, y, 1, cov=True)
        slope = float(coef[0])
        resid = y - np.polyval(coef, x)
        dof = max(1, len(pts) - 2)
        stderr = float(np.sqrt(np.sum(resid**2) / dof / np.sum((x - x.mean()) ** 2)))
        unc = max(stderr, 0.5 * (max(slopes[i:j + 1]) - min(slopes[i:j + 1])))
    else:
        slope = float((y[0] - y[1]) / (x[0] - x[1]))
        unc = math.nan
    used[pts] = True
    back = np.argsort(order)
    return SlopeFit(slope, unc, tuple(bool(u) for u in used[back]), (float(hs[pts].min()), float(hs[pts].max())), all_slopes)


@dataclass(frozen=True)
class MeasuredOrder:
    """One-step errors against h and the slope fitted over the asymptotic range.

    ``order = local_slope - 1`` with ``uncertainty``; ``used`` marks the points of the fit,
    ``fit_range`` their ``(h_min, h_max)``, ``local_slopes`` the slopes between successive
    points above the rounding floor."""

    h: tuple[float, ...]
    errors: tuple[float, ...]
    used: tuple[bool, ...]
    local_slope: float
    order: float
    n_samples: int = 0
    uncertainty: float = math.nan
    fit_range: tuple[float, float] | None = None
    local_slopes: tuple[float, ...] = ()

    def describe(self) -> str:
        """``"measured order 4.02 +- 0.03 (slope of the one-step error minus one, fitted over
        h in [0.00625, 0.05], 4 points)"``."""
        if not math.isfinite(self.order):
            return "measured order: not available (too few errors above the rounding floor)"
        unc = "" if not math.isfinite(self.uncertainty) else f" +- {self.uncertainty:.2g}"
        rng = "" if self.fit_range is None else f", fitted over h in [{self.fit_range[0]:.3g}, {self.fit_range[1]:.3g}], {sum(self.used)} points"
        return f"measured order {self.order:.3g}{unc} (slope of the one-step error minus one{rng})"

    def to_json(self) -> dict[str, Any]:
        return {"h": list(self.h), "errors": list(self.errors), "used": list(self.used), "local_slope": self.local_slope,
                "order": self.order, "n_samples": self.n_samples,
                "uncertainty": None if not math.isfinite(self.uncertainty) else self.uncertainty,
                "fit_range": None if self.fit_range is None else list(self.fit_range),
                "local_slopes": list(self.local_slopes), "description": self.describe()}


def measure_order(
    tableau: ButcherTableau,
    spec: OdeFamilySpec,
    *,
    n_samples: int = 32,
    seed: int = 12345,
    h_values: Sequence[float] | None = None,
) -> MeasuredOrder:
    """Mean one-step error on held-out samples at a geometric sequence of step sizes, and
    the slope of log(error) against log(h) over the asymptotic range
    (:func:`fit_asymptotic_slope`)."""
    base = spec.sample(n_samples, seed)
    hs = np.asarray(h_values if h_values is not None else _default_hs(spec), dtype=np.float64)
    errs = []
    for h in hs:
        smp = OdeSamples(base.params, base.y0, np.full(n_samples, h))
        errs.append(float(np.mean(one_step_errors(tableau, spec, smp))))
    errs_a = np.array(errs)
    scale = float(np.mean(np.linalg.norm(base.y0, axis=1))) or 1.0
    fit = fit_asymptotic_slope(hs, errs_a, floor=1e-13 * scale)
    return MeasuredOrder(tuple(map(float, hs)), tuple(errs), fit.used, fit.slope, fit.slope - 1.0, n_samples,
                         fit.uncertainty, fit.fit_range, fit.local_slopes)


def _default_hs(spec: OdeFamilySpec) -> np.ndarray:
    lo, hi = spec.h_range
    top = min(2.0 * hi, 0.5)
    return top / 2.0 ** np.arange(8)


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
