"""Measured accuracy of multistep methods: global order and the comparison at equal cost.

* :class:`MultistepRunner` and :class:`RungeKuttaRunner` integrate a family's held-out
  problems over ``[0, T]`` with N steps and count the f evaluations that costs
  (:func:`analysis.multistep.startup_evaluations`: a multistep run costs ``n N`` plus its
  start-up; an s-stage Runge-Kutta run ``s N``).
* :func:`measure_global_order`: mean global error ``||y_N - y(T)||`` at ``T`` (default
  ``10 h_max`` of the family) for ``N = N_0 2^i`` steps on held-out problems; the measured
  order is the least-squares slope of log(error) against log(h) over the *asymptotic
  range*: the ``fit_points`` smallest step sizes whose errors lie above the rounding floor
  (``1e-11`` times the size of the states). Pairwise slopes between neighbouring step sizes
  are kept as well, so a reader sees where the errors settle into their slope.
* :func:`compare_at_equal_evaluations`: every method spends the same budget of f evaluations
  over ``[0, T]`` (start-up included); the number of steps a budget allows is rarely an
  integer, so the error at exactly the budget is interpolated log-linearly between the two
  neighbouring step counts (as :mod:`analysis.two_derivative_accuracy` does). Per held-out
  problem the error ratio (method / reference) is formed; the statistic is the geometric mean
  over problems with a 95% percentile bootstrap interval
  (:func:`analysis.bootstrap.bootstrap_mean_interval`), in and out of distribution. The result
  has the shape of the two-derivative comparison (``EqualCostView`` of ``analysis.schema``).

Imports numpy and analysis modules (:mod:`.multistep`, :mod:`.accuracy`, :mod:`.bootstrap`,
:mod:`.odefamily`, :mod:`.tableau`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .accuracy import rk_step
from .bootstrap import bootstrap_mean_interval
from .errors import AnalysisInputError
from .multistep import MultistepMethod, multistep_integrate, startup_evaluations
from .odefamily import OdeFamilySpec
from .tableau import ButcherTableau

__all__ = ["MultistepRunner", "RungeKuttaRunner", "GlobalOrder", "measure_global_order", "EqualEvaluationsComparison",
           "compare_at_equal_evaluations", "exact_start_values"]


def exact_start_values(spec: OdeFamilySpec, y0: np.ndarray, P: np.ndarray, h: Any, count: int) -> list[np.ndarray]:
    """``y(h), ..., y(count h)`` from ``y0`` by the family's exact flow (closed form or DOP853)."""
    hh = np.broadcast_to(np.asarray(h, dtype=np.float64), (len(y0),))
    return [spec.flow(y0, P, (k + 1) * hh) for k in range(count)]


@dataclass(frozen=True)
class MultistepRunner:
    """A multistep method with its start-up rule, as a participant of a measurement."""

    name: str
    method: MultistepMethod
    startup: str = "rk4"
    order: int | None = None

    @property
    def kind(self) -> str:
        return "multistep"

    @property
    def cost_per_step(self) -> float:
        return float(self.method.stages)

    def evaluations(self, steps: int) -> int:
        return self.method.stages * steps + (startup_evaluations(self.method, self.startup) if steps >= self.method.memory else 0)

    def steps_for(self, budget: float) -> float:
        return (budget - startup_evaluations(self.method, self.startup)) / self.method.stages

    def integrate(self, spec: OdeFamilySpec, y0: np.ndarray, P: np.ndarray, T: float, steps: int) -> np.ndarray:
        h = T / steps
        start = exact_start_values(spec, y0, P, h, min(self.method.memory, steps)) if self.startup == "exact" else None
        g = spec.numpy_rhs
        return multistep_integrate(self.method, lambda Y: g(Y, P), y0, h, steps, startup=self.startup, start_values=start)  # type: ignore[return-value]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "multistep", "stages": self.method.stages, "cost_per_step": self.cost_per_step,
                "order": self.order, "memory": self.method.memory, "startup": self.startup,
                "startup_evaluations": startup_evaluations(self.method, self.startup)}


@dataclass(frozen=True)
class RungeKuttaRunner:
    """An explicit Runge-Kutta method as a participant of a measurement."""

    name: str
    tableau: ButcherTableau
    order: int | None = None

    @property
    def kind(self) -> str:
        return "runge-kutta"

    @property
    def cost_per_step(self) -> float:
        return float(self.tableau.stages)

    def evaluations(self, steps: int) -> int:
        return self.tableau.stages * steps

    def steps_for(self, budget: float) -> float:
        return budget / self.tableau.stages

    def integrate(self, spec: OdeFamilySpec, y0: np.ndarray, P: np.ndarray, T: float, steps: int) -> np.ndarray:
        h = T / steps
        g = spec.numpy_rhs
        y = y0
        for _ in range(steps):
            y = rk_step(self.tableau, lambda Y: g(Y, P), y, h)
        return y

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "runge-kutta", "stages": self.tableau.stages, "cost_per_step": self.cost_per_step,
                "order": self.order}


Runner = MultistepRunner | RungeKuttaRunner


# ----------------------------------------------------------------------------- global order
@dataclass(frozen=True)
class GlobalOrder:
    """Mean global error at ``interval`` against the step size, and the fitted slope (the
    measured order: the global error of an order-p method is O(h^p))."""

    name: str
    startup: str | None
    interval: float
    steps: tuple[int, ...]
    h: tuple[float, ...]
    errors: tuple[float, ...]
    used: tuple[bool, ...]
    fitted: tuple[bool, ...]
    pairwise: tuple[float | None, ...]
    order: float
    n_samples: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "startup": self.startup, "interval": self.interval, "steps": list(self.steps), "h": list(self.h),
                "errors": [e if math.isfinite(e) else None for e in self.errors], "used": list(self.used), "fitted": list(self.fitted),
                "pairwise_slopes": list(self.pairwise), "order": self.order if math.isfinite(self.order) else None,
                "n_samples": self.n_samples}


def _default_interval(spec: OdeFamilySpec) -> float:
    return 10.0 * float(spec.h_range[1])


def measure_global_order(runner: Runner, spec: OdeFamilySpec, *, n_samples: int = 32, seed: int = 12345, interval: float | None = None,
                         steps: Sequence[int] | None = None, fit_points: int = 3) -> GlobalOrder:
    """Global error of ``runner`` at ``T`` on ``n_samples`` held-out problems (in the training
    ranges) for ``steps`` (default ``10, 20, ..., 640``) and the slope over the asymptotic range
    (module docstring)."""
    if fit_points < 2:
        raise AnalysisInputError("measure_global_order: fit_points must be >= 2")
    T = _default_interval(spec) if interval is None else float(interval)
    Ns = tuple(int(n) for n in (steps if steps is not None else [10 * 2**i for i in range(7)]))
    smp = spec.sample(n_samples, seed)
    ref = spec.flow(smp.y0, smp.params, np.full(n_samples, T))
    errs = []
    for N in Ns:
        y = runner.integrate(spec, smp.y0, smp.params, T, N)
        e = np.linalg.norm(y - ref, axis=1)
        errs.append(float(np.mean(e)) if np.all(np.isfinite(e)) else float("inf"))
    hs = np.array([T / N for N in Ns])
    E = np.array(errs)
    scale = float(np.mean(np.linalg.norm(smp.y0, axis=1))) or 1.0
    used = np.isfinite(E) & (E > 1e-11 * scale)
    order_idx = np.argsort(hs)   # smallest h first
    chosen = [i for i in order_idx if used[i]][:fit_points]
    fitted = np.zeros(len(Ns), dtype=bool)
    fitted[chosen] = True
    slope = float(np.polyfit(np.log(hs[chosen]), np.log(E[chosen]), 1)[0]) if len(chosen) >= 2 else float("nan")
    pair: list[float | None] = []
    for i in range(len(Ns) - 1):
        if used[i] and used[i + 1]:
            pair.append(float(math.log(E[i] / E[i + 1]) / math.log(hs[i] / hs[i + 1])))
        else:
            pair.append(None)
    startup = runner.startup if isinstance(runner, MultistepRunner) else None
    return GlobalOrder(runner.name, startup, T, Ns, tuple(float(h) for h in hs), tuple(errs), tuple(bool(u) for u in used),
                       tuple(bool(f) for f in fitted), tuple(pair), slope, n_samples)


# ----------------------------------------------------------------------------- equal cost
@dataclass(frozen=True)
class EqualEvaluationsComparison:
    """Global errors when every method spends the same number of f evaluations over [0, T]
    (start-up included). ``errors[setting][method]``: geometric-mean global error per budget;
    ``ratios[setting][method]``: per budget ``{"budget", "ratio", "low", "high"}`` (above 1: the
    reference is more accurate)."""

    reference: str
    methods: tuple[Runner, ...]
    interval: float
    instances: int
    budgets: tuple[float, ...]
    errors: dict[str, dict[str, list[float]]]
    ratios: dict[str, dict[str, list[dict[str, float]]]]
    resamples: int
    level: float

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "cost": "count", "interval": self.interval, "instances": self.instances,
                "budgets": list(self.budgets), "methods": [m.to_json() for m in self.methods], "errors": self.errors,
                "ratios": self.ratios,
                "statistic": "geometric mean over problems of the per-problem error ratio (method / reference)",
                "bootstrap": {"resamples": self.resamples, "level": self.level, "interval": "percentile"}}


def _errors_at_budget(m: Runner, spec: OdeFamilySpec, y0: np.ndarray, P: np.ndarray, T: float, ref: np.ndarray, budget: float,
                      cache: dict[tuple[str, int], np.ndarray]) -> np.ndarray:
    n = m.steps_for(budget)
    lo, hi = max(1, math.floor(n)), max(1, math.ceil(n))

    def err(steps: int) -> np.ndarray:
        key = (m.name, steps)
        if key not in cache:
            with np.errstate(all="ignore"):
                e = np.linalg.norm(m.integrate(spec, y0, P, T, steps) - ref, axis=1)
            cache[key] = np.where(np.isfinite(e), e, 1e300)
        return cache[key]

    e_lo = err(lo)
    if hi == lo:
        return e_lo
    e_hi = err(hi)
    c_lo, c_hi = m.evaluations(lo), m.evaluations(hi)
    w = (math.log(budget) - math.log(c_lo)) / (math.log(c_hi) - math.log(c_lo))
    tiny = 1e-300
    return np.exp((1 - w) * np.log(np.maximum(e_lo, tiny)) + w * np.log(np.maximum(e_hi, tiny)))


def compare_at_equal_evaluations(reference: Runner, others: Sequence[Runner], spec: OdeFamilySpec, *, n_samples: int = 64,
                                 seed: int = 4242, interval: float | None = None, budgets: Sequence[float] | None = None,
                                 resamples: int = 2000, level: float = 0.95) -> EqualEvaluationsComparison:
    """Global error at ``T`` (default ``10 h_max``) of every method at equal f-evaluation
    budgets (default: what RK4 spends with steps ``h_max``, ``h_max / 2``, ``h_max / 4``) on
    ``n_samples`` held-out problems in the training ranges and out of distribution."""
    hmax = float(spec.h_range[1])
    T = _default_interval(spec) if interval is None else float(interval)
    B = tuple(float(b) for b in budgets) if budgets is not None else tuple(4.0 * T / (hmax / 2**k) for k in range(3))
    rng = np.random.default_rng(seed)
    methods = (reference, *others)
    errors: dict[str, dict[str, list[float]]] = {}
    ratios: dict[str, dict[str, list[dict[str, float]]]] = {}
    for setting, ood in (("in_distribution", False), ("out_of_distribution", True)):
        smp = spec.sample(n_samples, seed + (1 if ood else 0), ood=ood)
        ref = spec.flow(smp.y0, smp.params, np.full(n_samples, T))
        cache: dict[tuple[str, int], np.ndarray] = {}
        per = {m.name: [_errors_at_budget(m, spec, smp.y0, smp.params, T, ref, b, cache) for b in B] for m in methods}
        errors[setting] = {name: [float(np.exp(np.mean(np.log(np.maximum(e, 1e-300))))) for e in es] for name, es in per.items()}
        ratios[setting] = {}
        for m in others:
            rows = []
            for k, b in enumerate(B):
                logr = np.log(np.maximum(per[m.name][k], 1e-300)) - np.log(np.maximum(per[reference.name][k], 1e-300))
                lo, hi = bootstrap_mean_interval(logr, rng, resamples, level)
                rows.append({"budget": b, "ratio": float(np.exp(np.mean(logr))), "low": math.exp(lo), "high": math.exp(hi)})
            ratios[setting][m.name] = rows
    return EqualEvaluationsComparison(reference.name, tuple(methods), T, n_samples, B, errors, ratios, resamples, level)
