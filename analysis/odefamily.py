"""Families of autonomous ODEs ``y' = g(y; params)``, given symbolically.

A family knows its right-hand side (sympy), the boxes its parameters and initial states are
drawn from (in and out of distribution), and optionally a closed-form solution. From these it
derives fast numpy callables, reproducible samples and accurate reference solutions, so the
learning side (which adds torch code generated from the same expressions) and the analysis
side agree on what the family is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np
import sympy as sp

from .errors import AnalysisInputError
from .expressions import parse_expression

__all__ = ["OdeFamilySpec", "OdeSamples", "T_SYMBOL"]

T_SYMBOL = sp.Symbol("t")
Range = tuple[float, float]


@dataclass(frozen=True)
class OdeSamples:
    """A batch of problems: parameters (n, P), initial states (n, d), step sizes (n,)."""

    params: np.ndarray
    y0: np.ndarray
    h: np.ndarray

    def __len__(self) -> int:
        return len(self.h)


@dataclass(frozen=True)
class OdeFamilySpec:
    """A family of autonomous ODEs ``y' = g(y; params)``.

    Parameters
    ----------
    name : registry name
    state, rhs : state symbols and right-hand sides (same length)
    params : parameter symbols
    state_ranges, param_ranges : sampling boxes ``(low, high)`` per symbol (training)
    ood_param_ranges : boxes for out-of-distribution tests (default: the next interval of
        the same width above each training range)
    exact_solution : optional closed form ``y(t)`` in terms of the state symbols (as initial
        values), the parameters and :data:`T_SYMBOL`
    h_range : step sizes are drawn log-uniformly from this interval
    description : one line for listings
    """

    name: str
    state: tuple[sp.Symbol, ...]
    rhs: tuple[sp.Expr, ...]
    params: tuple[sp.Symbol, ...] = ()
    state_ranges: tuple[Range, ...] = ()
    param_ranges: tuple[Range, ...] = ()
    ood_param_ranges: tuple[Range, ...] | None = None
    exact_solution: tuple[sp.Expr, ...] | None = field(default=None, compare=False)
    h_range: Range = (0.01, 0.1)
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", tuple(self.state))
        object.__setattr__(self, "params", tuple(self.params))
        symbols = {s.name: s for s in (*self.state, *self.params)}
        object.__setattr__(self, "rhs", tuple(
            parse_expression(g, symbols, where=f"family {self.name!r}: rhs[{k}]") if isinstance(g, str) else _as_expr(g, f"family {self.name!r}: rhs[{k}]")
            for k, g in enumerate(self.rhs)))
        if not self.state:
            raise AnalysisInputError(f"family {self.name!r}: no state variables")
        if len(self.rhs) != len(self.state):
            raise AnalysisInputError(f"family {self.name!r}: {len(self.rhs)} right-hand sides for {len(self.state)} state variables")
        allowed = set(self.state) | set(self.params)
        for k, g in enumerate(self.rhs):
            extra = set(g.free_symbols) - allowed
            if extra:
                raise AnalysisInputError(f"family {self.name!r}: rhs[{k}] uses unknown symbol {sorted(map(str, extra))[0]!r}")
        if self.state_ranges and len(self.state_ranges) != len(self.state):
            raise AnalysisInputError(f"family {self.name!r}: need one state range per state variable")
        if self.param_ranges and len(self.param_ranges) != len(self.params):
            raise AnalysisInputError(f"family {self.name!r}: need one parameter range per parameter")
        for what, ranges in (("state", self.state_ranges), ("parameter", self.param_ranges), ("ood parameter", self.ood_param_ranges or ())):
            for lo, hi in ranges:
                if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                    raise AnalysisInputError(f"family {self.name!r}: bad {what} range [{lo}, {hi}]")
        lo, hi = self.h_range
        if not (0 < lo <= hi and np.isfinite(hi)):
            raise AnalysisInputError(f"family {self.name!r}: bad step-size range [{lo}, {hi}]")

    # ----------------------------------------------------------------- basic facts
    @property
    def dimension(self) -> int:
        return len(self.state)

    @property
    def is_rational(self) -> bool:
        syms = list(self.state) + list(self.params)
        return all(g.is_rational_function(*syms) for g in self.rhs)

    def rhs_text(self) -> list[str]:
        return [f"{sp.sstr(y)}' = {sp.sstr(g)}" for y, g in zip(self.state, self.rhs)]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "equations": self.rhs_text(),
            "params": [str(p) for p in self.params],
            "param_ranges": [list(r) for r in self.param_ranges],
            "state_ranges": [list(r) for r in self.state_ranges],
            "ood_param_ranges": [list(r) for r in self.ood_ranges],
            "h_range": list(self.h_range),
        }

    @property
    def ood_ranges(self) -> tuple[Range, ...]:
        if self.ood_param_ranges is not None:
            return self.ood_param_ranges
        return tuple((hi, hi + max(hi - lo, abs(hi) * 0.5, 1e-3)) for lo, hi in self.param_ranges)

    # ----------------------------------------------------------------- callables
    @cached_property
    def numpy_rhs(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``g(Y, P)`` for batches: ``Y`` (n, d), ``P`` (n, n_params) -> (n, d)."""
        fn = sp.lambdify(list(self.state) + list(self.params), list(self.rhs), modules="numpy")

        def g(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
            Y = np.asarray(Y, dtype=np.float64)
            P = np.asarray(P, dtype=np.float64)
            args = [Y[..., i] for i in range(self.dimension)] + [P[..., j] for j in range(len(self.params))]
            out = fn(*args)
            return np.stack([np.broadcast_to(np.asarray(o, dtype=np.float64), Y.shape[:-1]) for o in out], axis=-1)

        return g

    @cached_property
    def _exact_fn(self) -> Callable[..., Any] | None:
        if self.exact_solution is None:
            return None
        return sp.lambdify(list(self.state) + list(self.params) + [T_SYMBOL], list(self.exact_solution), modules="numpy")

    # ----------------------------------------------------------------- sampling
    def sample(self, n: int, seed: int, *, ood: bool = False, h_range: Range | None = None) -> OdeSamples:
        """``n`` problems drawn reproducibly from ``seed``: parameters uniform in their
        (training or out-of-distribution) boxes, states uniform, h log-uniform."""
        rng = np.random.default_rng(seed)
        pr = self.ood_ranges if ood else self.param_ranges
        params = np.column_stack([rng.uniform(lo, hi, n) for lo, hi in pr]) if pr else np.zeros((n, 0))
        sr = self.state_ranges or tuple((-1.0, 1.0) for _ in self.state)
        y0 = np.column_stack([rng.uniform(lo, hi, n) for lo, hi in sr])
        lo, hi = h_range or self.h_range
        h = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
        return OdeSamples(params, y0, h)

    # ----------------------------------------------------------------- references
    def flow(self, y0: np.ndarray, params: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Exact flow ``y(t)`` from ``y0`` for each sample (closed form when known,
        otherwise DOP853 with rtol = atol = 1e-13)."""
        y0 = np.atleast_2d(np.asarray(y0, dtype=np.float64))
        params = np.asarray(params, dtype=np.float64).reshape(len(y0), -1)
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), (len(y0),))
        if self._exact_fn is not None:
            args = [y0[:, i] for i in range(self.dimension)] + [params[:, j] for j in range(len(self.params))] + [t]
            out = self._exact_fn(*args)
            return np.stack([np.broadcast_to(np.asarray(o, dtype=np.float64), (len(y0),)) for o in out], axis=-1)
        from scipy.integrate import solve_ivp  # scipy loads only when a flow is integrated

        g = self.numpy_rhs
        res = np.empty_like(y0)
        for k in range(len(y0)):
            pk = params[k]

            def fun(_t: float, y: np.ndarray, pk: np.ndarray = pk) -> np.ndarray:
                return g(y[None, :], pk[None, :])[0]

            sol = solve_ivp(fun, (0.0, float(t[k])), y0[k], method="DOP853", rtol=1e-13, atol=1e-13)
            if not sol.success:
                raise RuntimeError(f"family {self.name!r}: reference solution failed ({sol.message})")
            res[k] = sol.y[:, -1]
        return res


def _as_expr(value: object, where: str) -> sp.Expr:
    """A sympy expression given as one (numbers are converted; text goes through
    :func:`~algodiscover.analysis.expressions.parse_expression`, never ``sympify``)."""
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return sp.Float(value) if isinstance(value, float) else sp.Integer(value)
    raise AnalysisInputError(f"{where}: expected a sympy expression or text, got {type(value).__name__}")
