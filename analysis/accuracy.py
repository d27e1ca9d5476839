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
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .errors import AnalysisInputError
from .odefamily import OdeFamilySpec, OdeSamples
from .tableau import ButcherTableau

__all__ = ["rk_step", "MeasuredOrder", "measure_order", "fit_asymptotic_slope", "SlopeFit", "Comparison", "compare_methods",
           "one_step_errors", "ratio_verdict", "bootstrap_ratio_of_means", "COMPARISON_SAMPLES", "work_precision", "WorkPrecision"]

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


#: Held-out problems per setting of the equal-cost comparison (a verdict on 256 samples
#: can flip: Van der Pol's "12% better than Kutta3" was 10% worse on 4000).
COMPARISON_SAMPLES = 2000
#: Bootstrap resamples of the ratio intervals.
RESAMPLES = 2000


def ratio_verdict(ci: tuple[float, float] | None) -> str:
    """``"reference more accurate"`` when the interval of error(other) / error(reference)
    lies above 1, ``"reference less accurate"`` below 1, else ``"no significant difference"``."""
    if ci is None or not all(math.isfinite(v) for v in ci):
        return "no significant difference"
    if ci[0] > 1.0:
        return "reference more accurate"
    if ci[1] < 1.0:
        return "reference less accurate"
    return "no significant difference"


def bootstrap_ratio_of_means(num: np.ndarray, den: np.ndarray, idx: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(num) / mean(den)`` over paired instances
    (``idx``: resampled index rows, shared by all methods of one setting)."""
    a = num[idx].mean(axis=1)
    b = den[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(b > 0, a / b, np.inf)
    lo = np.quantile(r, (1 - level) / 2, method="lower")
    hi = np.quantile(r, (1 + level) / 2, method="higher")
    return float(lo), float(hi)


@dataclass(frozen=True)
class Comparison:
    """Mean one-step errors of several methods on the same held-out samples.

    ``errors[setting][method]`` with settings ``"in_distribution"`` and
    ``"out_of_distribution"``; ``ratios[setting][method]`` is that method's error divided by
    the reference method's error (above 1: the reference is more accurate), ``ci95`` its
    95% percentile-bootstrap interval over the ``n_samples`` paired instances and
    ``verdicts`` what the interval says (:func:`ratio_verdict`)."""

    reference: str
    stages: dict[str, int]
    errors: dict[str, dict[str, float]]
    ratios: dict[str, dict[str, float]]
    n_samples: int
    ci95: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    resamples: int = RESAMPLES
    samples: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)
    seed: int = 777

    def with_reference(self, label: str) -> "Comparison":
        """The same comparison with another of its methods as the reference (ratios and
        intervals from the stored per-problem errors; nothing is integrated again)."""
        if not self.samples or label not in self.stages:
            raise KeyError(label)
        rng = np.random.default_rng(np.random.SeedSequence([int(self.seed), 0xB007]))
        idx = rng.integers(0, self.n_samples, size=(int(self.resamples), self.n_samples))
        order = [label] + [k for k in self.stages if k != label]
        errors, ratios, ci95 = {}, {}, {}
        for st, per in self.samples.items():
            v_ref = per[label]
            e_ref = float(np.mean(v_ref))
            errors[st] = {k: float(np.mean(per[k])) for k in order}
            ratios[st] = {k: errors[st][k] / e_ref if e_ref > 0 else float("inf") for k in order[1:]}
            ci95[st] = {k: bootstrap_ratio_of_means(per[k], v_ref, idx) for k in order[1:]}
        return Comparison(label, {k: self.stages[k] for k in order}, errors, ratios, self.n_samples, ci95, self.resamples,
                          self.samples, self.seed)

    def verdicts(self) -> dict[str, dict[str, str]]:
        return {st: {k: ratio_verdict(self.ci95.get(st, {}).get(k)) for k in rs} for st, rs in self.ratios.items()}

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "stages": self.stages, "errors": self.errors, "ratios": self.ratios, "n_samples": self.n_samples,
                "n_instances": self.n_samples, "ci95": {st: {k: list(v) for k, v in d.items()} for st, d in self.ci95.items()},
                "verdicts": self.verdicts(), "resamples": self.resamples, "statistic": "ratio of mean one-step errors"}


def compare_methods(
    reference: ButcherTableau,
    others: Sequence[ButcherTableau],
    spec: OdeFamilySpec,
    *,
    n_samples: int = COMPARISON_SAMPLES,
    seed: int = 777,
    resamples: int = RESAMPLES,
) -> Comparison:
    """Equal-cost comparison: mean one-step error of ``reference`` (e.g. the learned method)
    and ``others`` (classical methods with the same number of stages) on held-out samples in
    the training ranges and out of distribution. ``ratios[setting][name]`` is
    ``error(name) / error(reference)``: above 1 the reference is more accurate."""
    errors: dict[str, dict[str, float]] = {}
    ratios: dict[str, dict[str, float]] = {}
    ci95: dict[str, dict[str, tuple[float, float]]] = {}
    samples: dict[str, dict[str, np.ndarray]] = {}
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xB007]))
    idx = rng.integers(0, n_samples, size=(int(resamples), n_samples))
    for setting, ood in (("in_distribution", False), ("out_of_distribution", True)):
        smp = spec.sample(n_samples, seed + (1 if ood else 0), ood=ood)
        ref = spec.flow(smp.y0, smp.params, smp.h)
        v_ref = one_step_errors(reference, spec, smp, ref)
        e_ref = float(np.mean(v_ref))
        errors[setting] = {reference.label: e_ref}
        ratios[setting] = {}
        ci95[setting] = {}
        samples[setting] = {reference.label: v_ref}
        for t in others:
            v = one_step_errors(t, spec, smp, ref)
            samples[setting][t.label] = v
            e = float(np.mean(v))
            errors[setting][t.label] = e
            ratios[setting][t.label] = e / e_ref if e_ref > 0 else float("inf")
            ci95[setting][t.label] = bootstrap_ratio_of_means(v, v_ref, idx)
    stages = {reference.label: reference.stages, **{t.label: t.stages for t in others}}
    return Comparison(reference.label, stages, errors, ratios, n_samples, ci95, int(resamples), samples, int(seed))


@dataclass(frozen=True)
class WorkPrecision:
    """Global error at the final time ``T`` against the number of f evaluations
    (``steps * stages``) over a range of constant step sizes ``h``, mean over
    ``n_samples`` held-out problems; ``training_h`` is the training range of h. An error
    is None where the method blew up (non-finite)."""

    T: float
    h: tuple[float, ...]
    evaluations: dict[str, tuple[int, ...]]
    errors: dict[str, tuple[float | None, ...]]
    training_h: tuple[float, float]
    n_samples: int

    def to_json(self) -> dict[str, Any]:
        return {"T": self.T, "h": list(self.h), "evaluations": {k: list(v) for k, v in self.evaluations.items()},
                "errors": {k: list(v) for k, v in self.errors.items()}, "training_h": list(self.training_h), "n_samples": self.n_samples}


def work_precision(methods: Sequence[ButcherTableau], spec: OdeFamilySpec, *, n_samples: int = 64, seed: int = 4242,
                   T: float | None = None, n_h: int = 8) -> WorkPrecision:
    """Integrate held-out problems of ``spec`` to ``T`` (default 10 times the largest
    training step) with constant steps from 4x the largest to 1/4 of the smallest training
    step, and record the mean global error at ``T`` against f evaluations."""
    lo, hi = spec.h_range
    T = float(T if T is not None else 10.0 * hi)
    hs = np.geomspace(min(4.0 * hi, T), max(lo / 4.0, T / 2000.0), n_h)
    steps = np.maximum(1, np.ceil(T / hs).astype(int))
    base = spec.sample(n_samples, seed)
    ref = spec.flow(base.y0, base.params, np.full(n_samples, T))
    g = spec.numpy_rhs
    errors: dict[str, tuple[float | None, ...]] = {}
    evals: dict[str, tuple[int, ...]] = {}
    with np.errstate(all="ignore"):
        for t in methods:
            es: list[float | None] = []
            for n in steps:
                h = T / n
                y = base.y0.copy()
                for _ in range(int(n)):
                    y = rk_step(t, lambda Y: g(Y, base.params), y, h)
                    if not np.all(np.isfinite(y)):
                        break
                e = float(np.mean(np.linalg.norm(y - ref, axis=1)))
                es.append(e if math.isfinite(e) else None)
            errors[t.label] = tuple(es)
            evals[t.label] = tuple(int(n) * t.stages for n in steps)
    return WorkPrecision(T, tuple(float(T / n) for n in steps), evals, errors, (float(lo), float(hi)), n_samples)
