"""Measured accuracy of two-derivative Runge-Kutta methods on a family, and the equal-cost
comparison with classical Runge-Kutta methods (numpy).

* :func:`second_derivative` gives ``g = f'(y) f(y)`` of a family symbolically (the Jacobian
  of the sympy right-hand side times the right-hand side); :func:`numpy_fg` evaluates
  ``f`` and ``g`` together for batches (common subexpressions shared).
* :func:`two_derivative_step` advances a batch by one step; :func:`measure_two_derivative_order`
  fits the slope of the one-step error against h as :func:`analysis.accuracy.measure_order`
  does for ordinary tableaux.
* :func:`compare_at_equal_cost`: global error at ``T`` on held-out problems when every
  method spends the same number of *f-evaluation equivalents* over ``[0, T]`` (a stage that
  evaluates g costs the measured ratio ``g / f``, see :class:`DerivativeCost`). The number of
  steps ``B / cost per step`` is rarely an integer: the error at exactly ``B`` is interpolated
  log-linearly between the two neighbouring step counts. Per problem the error ratio
  (classical / reference) is formed; the statistic is the geometric mean over problems,
  with a 95% percentile bootstrap interval (:func:`analysis.bootstrap.bootstrap_mean_interval`,
  shared with the multistep comparison).

Imports numpy, sympy and :mod:`analysis.accuracy`, :mod:`analysis.odefamily`,
:mod:`analysis.tableau`, :mod:`analysis.two_derivative`, :mod:`analysis.two_derivative_methods`,
:mod:`analysis.bootstrap`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from .accuracy import MeasuredOrder, _default_hs, rk_step
from .bootstrap import bootstrap_mean_interval
from .errors import AnalysisInputError
from .odefamily import OdeFamilySpec, OdeSamples
from .tableau import ButcherTableau
from .two_derivative import TwoDerivativeTableau
from .two_derivative_methods import pattern_of

__all__ = ["second_derivative", "numpy_fg", "two_derivative_step", "measure_two_derivative_order", "DerivativeCost",
           "EqualCostMethod", "EqualCostComparison", "compare_at_equal_cost", "COUNT_COST"]


# ----------------------------------------------------------------------------- g of a family
@lru_cache(maxsize=64)
def second_derivative(spec: OdeFamilySpec) -> tuple[sp.Expr, ...]:
    """``g(y) = f'(y) f(y)`` (the second time derivative ``y''``) of the family, one sympy
    expression per state component."""
    f = sp.Matrix(list(spec.rhs))
    J = f.jacobian(list(spec.state))
    return tuple(J * f)


def _broadcast(out: Sequence[Any], shape: tuple[int, ...]) -> np.ndarray:
    return np.stack([np.broadcast_to(np.asarray(o, dtype=np.float64), shape) for o in out], axis=-1)


@lru_cache(maxsize=64)
def numpy_fg(spec: OdeFamilySpec) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(f(Y), g(Y))`` for batches ``Y`` (n, d) with parameters ``P`` (n, n_params)."""
    d = spec.dimension
    fn = sp.lambdify(list(spec.state) + list(spec.params), list(spec.rhs) + list(second_derivative(spec)), modules="numpy", cse=True)

    def fg(Y: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y = np.asarray(Y, dtype=np.float64)
        P = np.asarray(P, dtype=np.float64)
        out = _broadcast(fn(*[Y[..., i] for i in range(d)], *[P[..., j] for j in range(len(spec.params))]), Y.shape[:-1])
        return out[..., :d], out[..., d:]

    return fg


def two_derivative_step(t: TwoDerivativeTableau, fg: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], y: np.ndarray,
                        h: np.ndarray | float) -> np.ndarray:
    """One explicit two-derivative step for a batch: ``y`` (n, d), ``h`` scalar or (n,),
    ``fg(Y) -> (f(Y), g(Y))``."""
    if not t.is_explicit:
        raise AnalysisInputError(f"{t.label}: two_derivative_step needs an explicit method")
    A, A2, b, b2 = t.A, t.A2, t.b, t.b2
    h = np.asarray(h, dtype=np.float64).reshape(-1, 1) if np.ndim(h) else float(h)
    h2 = h * h
    F: list[np.ndarray] = []
    G: list[np.ndarray] = []
    for i in range(t.stages):
        yi = y
        for j in range(i):
            if A[i, j] != 0.0:
                yi = yi + h * A[i, j] * F[j]
            if A2[i, j] != 0.0:
                yi = yi + h2 * A2[i, j] * G[j]
        fi, gi = fg(yi)
        F.append(fi)
        G.append(gi)
    out = y
    for j in range(t.stages):
        if b[j] != 0.0:
            out = out + h * b[j] * F[j]
        if b2[j] != 0.0:
            out = out + h2 * b2[j] * G[j]
    return out


def measure_two_derivative_order(t: TwoDerivativeTableau, spec: OdeFamilySpec, *, n_samples: int = 32, seed: int = 12345,
                                 h_values: Sequence[float] | None = None) -> MeasuredOrder:
    """Mean one-step error on held-out samples at a geometric sequence of step sizes and the
    fitted slope (order = slope - 1), as :func:`analysis.accuracy.measure_order`."""
    base = spec.sample(n_samples, seed)
    hs = np.asarray(h_values if h_values is not None else _default_hs(spec), dtype=np.float64)
    fgp = numpy_fg(spec)
    errs = []
    for h in hs:
        smp = OdeSamples(base.params, base.y0, np.full(n_samples, h))
        ref = spec.flow(smp.y0, smp.params, smp.h)
        y1 = two_derivative_step(t, lambda Y: fgp(Y, smp.params), smp.y0, smp.h)
        errs.append(float(np.mean(np.linalg.norm(y1 - ref, axis=1))))
    errs_a = np.array(errs)
    scale = float(np.mean(np.linalg.norm(base.y0, axis=1))) or 1.0
    used = errs_a > 1e-13 * scale
    slope = float(np.polyfit(np.log(hs[used]), np.log(errs_a[used]), 1)[0]) if used.sum() >= 2 else float("nan")
    return MeasuredOrder(tuple(map(float, hs)), tuple(errs), tuple(bool(u) for u in used), slope, slope - 1.0, n_samples)


# ----------------------------------------------------------------------------- cost
@dataclass(frozen=True)
class DerivativeCost:
    """The cost of the evaluations of one stage in f-evaluation equivalents.

    ``g`` and ``fg``: the cost of evaluating g alone and of f and g together, relative to one
    f evaluation; ``source`` is ``"measured"`` (median timings on the training batch, recorded
    in the artefact) or ``"count"`` (the flop-free count: g = 1 f + 1 Jacobian-vector product,
    a jvp counted as one f). ``details`` keeps what the measurement recorded.
    """

    g: float
    fg: float
    source: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for k in ("g", "fg"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise AnalysisInputError(f"derivative cost {k} must be a positive number, got {v!r}")

    def stage(self, token: str) -> float:
        return {"f": 1.0, "g": float(self.g), "fg": float(self.fg)}[token]

    def per_step(self, pattern: Sequence[str]) -> float:
        return float(sum(self.stage(p) for p in pattern))

    @staticmethod
    def count(pattern: Sequence[str]) -> dict[str, int]:
        """The flop-free count of one step: f evaluations and Jacobian-vector products (a stage
        evaluating g needs f there, as the direction of its jvp)."""
        return {"f": len(pattern), "jvp": sum(1 for p in pattern if "g" in p)}

    @classmethod
    def from_json(cls, data: Any) -> "DerivativeCost":
        if not isinstance(data, dict) or "g_over_f" not in data or "fg_over_f" not in data:
            raise AnalysisInputError("derivative cost: expected an object with g_over_f and fg_over_f")
        return cls(float(data["g_over_f"]), float(data["fg_over_f"]), str(data.get("source", "measured")), dict(data))

    def to_json(self) -> dict[str, Any]:
        return {**self.details, "g_over_f": float(self.g), "fg_over_f": float(self.fg), "source": self.source}


#: The flop-free count (no measurement): g = 1 f + 1 jvp, a jvp counted as one f.
COUNT_COST = DerivativeCost(2.0, 2.0, "count", {"rule": "g = 1 f + 1 jvp, one jvp counted as one f"})


# ----------------------------------------------------------------------------- equal cost
@dataclass(frozen=True)
class EqualCostMethod:
    """A method in the comparison: a two-derivative or an ordinary Runge-Kutta tableau and
    its cost per step (f-evaluation equivalents)."""

    name: str
    tableau: TwoDerivativeTableau | ButcherTableau
    cost_per_step: float
    order: int | None = None

    @property
    def kind(self) -> str:
        return "two-derivative" if isinstance(self.tableau, TwoDerivativeTableau) else "runge-kutta"

    def integrate(self, spec: OdeFamilySpec, y0: np.ndarray, P: np.ndarray, T: float, steps: int) -> np.ndarray:
        h = T / steps
        y = y0
        if isinstance(self.tableau, TwoDerivativeTableau):
            fgp = numpy_fg(spec)
            for _ in range(steps):
                y = two_derivative_step(self.tableau, lambda Y: fgp(Y, P), y, h)
        else:
            g = spec.numpy_rhs
            for _ in range(steps):
                y = rk_step(self.tableau, lambda Y: g(Y, P), y, h)
        return y

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "stages": self.tableau.stages, "cost_per_step": self.cost_per_step,
                             "order": self.order}
        if isinstance(self.tableau, TwoDerivativeTableau):
            d["derivatives"] = list(pattern_of(self.tableau))
        return d


@dataclass(frozen=True)
class EqualCostComparison:
    """Global errors at equal cost (see the module docstring).

    ``errors[setting][method]``: geometric-mean global error at each budget;
    ``ratios[setting][method]``: per budget ``{"budget", "ratio", "low", "high"}``, the
    geometric mean over problems of error(method) / error(reference) and its bootstrap
    interval (above 1: the reference is more accurate at that cost).
    """

    reference: str
    methods: tuple[EqualCostMethod, ...]
    interval: float
    instances: int
    budgets: tuple[float, ...]
    errors: dict[str, dict[str, list[float]]]
    ratios: dict[str, dict[str, list[dict[str, float]]]]
    cost_source: str
    resamples: int
    level: float

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "cost": self.cost_source,
            "interval": self.interval,
            "instances": self.instances,
            "budgets": list(self.budgets),
            "methods": [m.to_json() for m in self.methods],
            "errors": self.errors,
            "ratios": self.ratios,
            "statistic": "geometric mean over problems of the per-problem error ratio (method / reference)",
            "bootstrap": {"resamples": self.resamples, "level": self.level, "interval": "percentile"},
        }


def _errors_at_budget(m: EqualCostMethod, spec: OdeFamilySpec, y0: np.ndarray, P: np.ndarray, T: float, ref: np.ndarray,
                      budget: float, cache: dict[tuple[str, int], np.ndarray]) -> np.ndarray:
    """Per-problem global error at exactly ``budget`` f-evaluation equivalents."""
    n = budget / m.cost_per_step
    lo, hi = max(1, math.floor(n)), max(1, math.ceil(n))

    def err(steps: int) -> np.ndarray:
        key = (m.name, steps)
        if key not in cache:
            cache[key] = np.linalg.norm(m.integrate(spec, y0, P, T, steps) - ref, axis=1)
        return cache[key]

    e_lo = err(lo)
    if hi == lo:
        return e_lo
    e_hi = err(hi)
    w = (math.log(budget) - math.log(lo * m.cost_per_step)) / (math.log(hi * m.cost_per_step) - math.log(lo * m.cost_per_step))
    tiny = 1e-300
    return np.exp((1 - w) * np.log(np.maximum(e_lo, tiny)) + w * np.log(np.maximum(e_hi, tiny)))


def compare_at_equal_cost(reference: EqualCostMethod, others: Sequence[EqualCostMethod], spec: OdeFamilySpec, *,
                          n_samples: int = 64, seed: int = 4242, interval: float | None = None,
                          budgets: Sequence[float] | None = None, cost_source: str = "measured", resamples: int = 2000,
                          level: float = 0.95) -> EqualCostComparison:
    """Global error at ``T`` (default ``10 h_max`` of the family) of every method when each
    spends ``budget`` f-evaluation equivalents over ``[0, T]`` (default: what RK4 spends
    with steps ``h_max``, ``h_max / 2`` and ``h_max / 4``), on ``n_samples`` held-out problems
    in the training ranges and out of distribution."""
    hmax = float(spec.h_range[1])
    T = float(interval) if interval is not None else 10.0 * hmax
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
    return EqualCostComparison(reference.name, tuple(methods), T, n_samples, B, errors, ratios, cost_source, resamples, level)
