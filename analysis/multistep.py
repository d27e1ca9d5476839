"""Explicit multistep Runge-Kutta methods: the ODE methods of an R2N2 with memory.

One step of a method with ``n`` stages and memory ``M`` (weights ``W`` strictly lower
``n x n``, ``b`` (n), ``beta`` (M), ``gamma`` (M x n))::

    v_j^(k) = f(y_k + h sum_{l<j} W[j, l] v_l^(k))
    y_{k+1} = y_k + h sum_j b_j v_j^(k) + sum_{m=1..M} (beta_m (y_{k-m+1} - y_{k-m}) + h sum_j gamma[m, j] v_j^(k-m))

* **Order** (exact starting values ``y_{k-m} = y(t_k - m h)``): expanded around ``y_k`` the
  past values are B-series ``e_m(t) = (-m)^|t| / gamma(t)``; a stage of lag m is
  ``d_m(t) = e_m(t) 1 + W d'_m(t)`` with ``d'_m(tau) = 1``, ``d'_m(u o v) = d'_m(u) * d_m(v)``
  (the Butcher product of :func:`analysis.tree_table`), and the step has the elementary weight
  ``Phi(t) = b . d'_0(t) + sum_m (beta_m (e_{m-1}(t) - e_m(t)) + gamma_m . d'_m(t))``; order p
  means ``Phi(t) = 1/gamma(t)`` for every tree with ``|t| <= p``
  (:func:`multistep_residuals`). For one stage every tree of order q gives the classical
  condition ``sum_j alpha_j j^q = q sum_j beta_j j^(q-1)`` of the linear multistep method
  (:meth:`MultistepMethod.lmm`).
* **Stability**: on ``y' = lambda y`` the step is the recurrence of
  :func:`analysis.memory.memory_recurrence` in ``z = h lambda``; the method is absolutely
  stable at z when its companion matrix has spectral radius <= 1 and zero-stable when the
  roots of ``rho`` (which depends on beta only) satisfy the root condition.
* **Integration** (:func:`multistep_integrate`) with a start-up rule for the first M steps:
  ``"rk"`` (plain steps with ``(W, b)``), ``"rk4"`` (classical RK4; the history evaluations
  at the start states are computed with W, the first one shared with RK4's first stage) or
  ``"exact"`` (given values); :func:`startup_evaluations` counts the f evaluations.

Imports numpy, sympy and analysis modules (:mod:`.memory`, :mod:`.numbers`,
:mod:`.rooted_trees`, :mod:`.errors`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from .errors import AnalysisInputError
from .memory import LinearMultistep, ZeroStability, linear_multistep, memory_recurrence, spectral_radius_interval
from .numbers import format_exact, is_exact, parse_entry, to_float
from .rooted_trees import tree_table

__all__ = ["MultistepMethod", "multistep_residuals", "multistep_order", "MultistepOrder", "multistep_integrate",
           "startup_evaluations", "STARTUP_RULES", "multistep_from_lmm", "multistep_weight_formulas"]

#: Start-up rules of the first M steps.
STARTUP_RULES = ("rk", "rk4", "exact")
_KEYS = ("W", "b", "betas", "gammas")


@dataclass(frozen=True)
class MultistepMethod:
    """A validated explicit multistep Runge-Kutta method ``(W, b, betas, gammas)``.

    Entries as for :class:`~algodiscover.analysis.ButcherTableau` (numbers or exact strings
    such as ``"-1/2"``). After construction the arrays are read-only float64 and ``exact``
    holds the exact entries (nested tuples) or None when any entry was a float.
    """

    W: Any
    b: Any
    betas: Any
    gammas: Any
    name: str | None = None
    exact: dict[str, Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        label = f"method {self.name!r}" if self.name else "multistep method"
        n = len(self.b) if hasattr(self.b, "__len__") else -1
        if n < 1:
            raise AnalysisInputError(f"{label}: b must be a non-empty list")
        M = len(self.betas) if hasattr(self.betas, "__len__") else -1
        if M < 0 or not hasattr(self.gammas, "__len__") or len(self.gammas) != M:
            raise AnalysisInputError(f"{label}: betas and gammas need one entry (a row) per memory step")
        rows = self.W
        if not (hasattr(rows, "__len__") and len(rows) == n and all(hasattr(r, "__len__") and len(r) == n for r in rows)):
            raise AnalysisInputError(f"{label}: W must be {n} x {n}")
        if any(not (hasattr(g, "__len__") and len(g) == n) for g in self.gammas):
            raise AnalysisInputError(f"{label}: every gamma row needs {n} entries (one per stage)")
        parsed = {
            "W": tuple(tuple(parse_entry(x, f"{label}: W[{i}][{j}]") for j, x in enumerate(r)) for i, r in enumerate(rows)),
            "b": tuple(parse_entry(x, f"{label}: b[{i}]") for i, x in enumerate(self.b)),
            "betas": tuple(parse_entry(x, f"{label}: betas[{i}]") for i, x in enumerate(self.betas)),
            "gammas": tuple(tuple(parse_entry(x, f"{label}: gammas[{m}][{j}]") for j, x in enumerate(g)) for m, g in enumerate(self.gammas)),
        }
        flat = [x for r in parsed["W"] for x in r] + list(parsed["b"]) + list(parsed["betas"]) + [x for g in parsed["gammas"] for x in g]
        if all(is_exact(x) for x in flat):
            object.__setattr__(self, "exact", parsed)
        arrays = {
            "W": np.array([[to_float(x) for x in r] for r in parsed["W"]], dtype=np.float64).reshape(n, n),
            "b": np.array([to_float(x) for x in parsed["b"]], dtype=np.float64),
            "betas": np.array([to_float(x) for x in parsed["betas"]], dtype=np.float64),
            "gammas": np.array([[to_float(x) for x in g] for g in parsed["gammas"]], dtype=np.float64).reshape(M, n),
        }
        for key, arr in arrays.items():
            if not np.all(np.isfinite(arr)):
                raise AnalysisInputError(f"{label}: {key} has a non-finite entry")
            arr.setflags(write=False)
            object.__setattr__(self, key, arr)
        if np.any(np.triu(arrays["W"]) != 0.0):
            raise AnalysisInputError(f"{label}: W must be strictly lower triangular (an explicit method)")

    # ------------------------------------------------------------------ facts
    @property
    def stages(self) -> int:
        return int(self.b.shape[0])

    @property
    def memory(self) -> int:
        return int(self.betas.shape[0])

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    @property
    def label(self) -> str:
        return self.name or f"{self.stages}-stage memory-{self.memory} method"

    def entries(self, key: str) -> Any:
        """The exact entries of ``key`` when exact, else the float array."""
        return self.exact[key] if self.exact is not None else getattr(self, key)

    def with_name(self, name: str | None) -> "MultistepMethod":
        return MultistepMethod(self.entries("W"), self.entries("b"), self.entries("betas"), self.entries("gammas"), name=name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"W", "b", "betas", "gammas"}`` (exact entries as strings)."""
        if self.exact is not None:
            e = self.exact
            d: dict[str, Any] = {"W": [[format_exact(x) for x in r] for r in e["W"]], "b": [format_exact(x) for x in e["b"]],
                                 "betas": [format_exact(x) for x in e["betas"]], "gammas": [[format_exact(x) for x in g] for g in e["gammas"]]}
        else:
            d = {"W": self.W.tolist(), "b": self.b.tolist(), "betas": self.betas.tolist(), "gammas": self.gammas.tolist()}
        return {"name": self.name, **d} if self.name else d

    @classmethod
    def from_dict(cls, data: Any, source: str = "multistep method") -> "MultistepMethod":
        if not isinstance(data, Mapping):
            raise AnalysisInputError(f"{source}: expected a JSON object with keys W, b, betas, gammas")
        missing = [k for k in _KEYS if k not in data]
        if missing:
            raise AnalysisInputError(f"{source}: a multistep method needs {', '.join(_KEYS)}; missing {missing[0]!r}")
        unknown = sorted(set(data) - {*_KEYS, "name"})
        if unknown:
            raise AnalysisInputError(f"{source}: unknown key {unknown[0]!r} in a multistep method")
        name = data.get("name")
        return cls(data["W"], data["b"], data["betas"], data["gammas"], name=str(name) if name is not None else None)

    def uses_one_stage(self, tol: float = 0.0) -> bool:
        """True when only the first stage carries weight (b and every gamma row vanish on the
        others within ``tol``): the method is then the linear multistep method of stage 1."""
        return bool(np.all(np.abs(self.b[1:]) <= tol) and np.all(np.abs(self.gammas[:, 1:]) <= tol))

    def lmm(self, tol: float = 0.0) -> LinearMultistep | None:
        """The linear multistep method ``sum alpha_j y_{n+j} = h sum beta_j f_{n+j}`` when only
        stage 1 carries weight (always for one stage), else None."""
        if not self.uses_one_stage(tol):
            return None
        b, betas, gammas = self.entries("b"), self.entries("betas"), self.entries("gammas")
        return linear_multistep(b[0], list(betas), [g[0] for g in gammas])

    def rho_method(self) -> LinearMultistep:
        """A linear multistep method with this method's first characteristic polynomial
        ``rho`` (it depends on beta only), for the root condition."""
        return linear_multistep(0, list(self.entries("betas")), [])

    def zero_stability(self, tol: float = 1e-9) -> ZeroStability:
        """The root condition on ``rho(zeta) = zeta^(M+1) - (1 + beta_1) zeta^M + ...``."""
        return self.rho_method().zero_stability(tol)

    # ------------------------------------------------------------------ linear stability
    def characteristic_coefficients(self) -> tuple[sp.Expr, ...]:
        """``c_0(z)..c_M(z)`` with ``y_{k+1} = sum_m c_m(z) y_{k-m}`` on ``y' = lambda y``,
        ``z = h lambda`` (polynomials; exact for exact weights)."""
        rec = memory_recurrence(self.entries("W"), list(self.entries("b")), 1, list(self.entries("betas")),
                                [list(g) for g in self.entries("gammas")], exact=self.is_exact)
        return rec.coefficients

    def _coefficient_arrays(self) -> list[np.ndarray]:
        z = sp.Symbol("z")
        out = []
        for c in self.characteristic_coefficients():
            poly = sp.Poly(c, z)
            out.append(np.array([complex(sp.N(x, 20)) for x in poly.all_coeffs()], dtype=complex))  # highest degree first
        return out

    def characteristic_roots(self, z: complex) -> np.ndarray:
        """Roots ``zeta`` of ``zeta^(M+1) - c_0(z) zeta^M - ... - c_M(z)``."""
        cs = [np.polyval(c, z) for c in self._coeffs]
        return np.roots(np.concatenate([[1.0], -np.array(cs, dtype=complex)]))

    def spectral_radius(self, z: complex) -> float:
        return float(np.max(np.abs(self.characteristic_roots(z))))

    def real_interval(self, search: float = 20.0) -> float:
        """Left end x of the largest ``[x, 0]`` of absolute stability on the real axis."""
        return spectral_radius_interval(self.spectral_radius, search=search)

    def boundary(self, points: int = 361) -> np.ndarray:
        """Points z where a root of the characteristic equation lies on the unit circle
        (``zeta = e^{i theta}``; for one stage the boundary locus, for n stages up to n points
        per theta)."""
        M = self.memory
        cs = self._coeffs
        deg = max(len(c) for c in cs)
        out = []
        for th in np.linspace(0.0, 2 * np.pi, points):
            w = np.exp(1j * th)
            poly = np.zeros(deg, dtype=complex)  # highest degree first: w^(M+1) - sum_m c_m(z) w^(M-m)
            for m, c in enumerate(cs):
                poly[deg - len(c):] -= c * w ** (M - m)
            poly[-1] += w ** (M + 1)
            nz = np.flatnonzero(np.abs(poly) > 1e-14)
            if nz.size == 0:
                continue
            roots = np.roots(poly[nz[0]:]) if deg - nz[0] > 1 else np.zeros(0)
            out.extend(roots.tolist())
        return np.array(out, dtype=complex)

    @property
    def _coeffs(self) -> list[np.ndarray]:
        cached = self.__dict__.get("_coeff_cache")
        if cached is None:
            cached = self._coefficient_arrays()
            object.__setattr__(self, "_coeff_cache", cached)
        return cached

    def __repr__(self) -> str:
        return f"MultistepMethod(name={self.name!r}, stages={self.stages}, memory={self.memory}, {'exact' if self.is_exact else 'float'})"


def multistep_from_lmm(lmm: LinearMultistep, name: str | None = None) -> MultistepMethod:
    """The one-stage method whose step is the explicit linear multistep method ``lmm``."""
    from .memory import memory_weights_of

    b, betas, gammas = memory_weights_of(lmm)
    return MultistepMethod([[0]], [b], list(betas), [[g] for g in gammas], name=name)


# ----------------------------------------------------------------------------- order conditions
def _elementary_weights(W: Any, b: Any, betas: Sequence[Any], gammas: Sequence[Any], max_order: int, symbolic: bool) -> list[Any]:
    """``Phi(t)`` of every tree of orders 1..max_order (module docstring): sympy matrices when
    ``symbolic`` (exact numbers or symbols), else numpy arrays."""
    tab = tree_table(max_order)
    N = tab.offsets[max_order + 1]
    n, M = len(b), len(betas)
    if symbolic:
        ones: Any = sp.ones(n, 1)

        def ev(m: int, t: int) -> Any:
            return sp.Rational((-m) ** tab.trees[t].order, tab.gamma[t])

        def had(u: Any, v: Any) -> Any:
            return u.multiply_elementwise(v)

        def dot(u: Any, v: Any) -> Any:
            return (u.T * v)[0, 0]

        def matvec(A: Any, v: Any) -> Any:
            return A * v
    else:
        ones = np.ones(n)

        def ev(m: int, t: int) -> Any:
            return float((-m) ** tab.trees[t].order) / tab.gamma[t]

        def had(u: Any, v: Any) -> Any:
            return u * v

        def dot(u: Any, v: Any) -> Any:
            return float(u @ v)

        def matvec(A: Any, v: Any) -> Any:
            return A @ v

    dprime: list[list[Any]] = []   # per lag m: d'_m(t) for every tree
    for m in range(M + 1):
        Dp: list[Any] = []
        D: list[Any] = []
        for i in range(N):
            dp = ones if tab.trees[i].order == 1 else had(Dp[tab.left[i]], D[tab.right[i]])
            Dp.append(dp)
            D.append(ev(m, i) * ones + matvec(W, dp))
        dprime.append(Dp)
    out = []
    for i in range(N):
        phi = dot(b, dprime[0][i])
        for m in range(1, M + 1):
            phi = phi + betas[m - 1] * (ev(m - 1, i) - ev(m, i)) + dot(gammas[m - 1], dprime[m][i])
        out.append(sp.expand(phi) if symbolic else phi)
    return out


def multistep_residuals(method: MultistepMethod, max_order: int, *, exact: bool | None = None) -> list[Any]:
    """``Phi(t) - 1/gamma(t)`` for every tree of orders 1..max_order (in the order of
    :func:`analysis.tree_table`), exactly (sympy) for exact methods unless ``exact=False``."""
    ex = method.is_exact if exact is None else exact
    if ex and not method.is_exact:
        raise AnalysisInputError(f"{method.label}: exact residuals need exact weights")
    tab = tree_table(max_order)
    if ex:
        e = method.exact
        phis = _elementary_weights(sp.Matrix(e["W"]), sp.Matrix(e["b"]), list(e["betas"]), [sp.Matrix(g) for g in e["gammas"]], max_order, True)
        return [sp.expand(p - sp.Rational(1, tab.gamma[i])) for i, p in enumerate(phis)]
    phis = _elementary_weights(method.W, method.b, [float(x) for x in method.betas], list(method.gammas), max_order, False)
    return [p - 1.0 / tab.gamma[i] for i, p in enumerate(phis)]


def multistep_weight_formulas(stages: int, memory: int, max_order: int, form: str = "full") -> list[str]:
    """``Phi(t)`` of every tree up to ``max_order`` as sympy text in the weights ``b_j``
    (``b`` for one stage), ``a_jl`` (= W[j, l]), ``beta_m`` and ``gamma_mj`` (``gamma_m`` for
    one stage); ``form`` drops the weights it fixes at zero (``"adams"``: beta,
    ``"momentum"``: gamma)."""
    n, M = stages, memory

    def two(j: int, l: int) -> str:
        return f"{j}{l}" if n < 10 and M < 10 else f"{j}_{l}"

    W = sp.zeros(n, n)
    for j in range(n):
        for l in range(j):
            W[j, l] = sp.Symbol(f"a_{two(j + 1, l + 1)}")
    b = sp.Matrix([sp.Symbol("b") if n == 1 else sp.Symbol(f"b_{j + 1}") for j in range(n)])
    betas = [sp.Symbol(f"beta_{m}") if form != "adams" else sp.Integer(0) for m in range(1, M + 1)]
    gammas = [sp.Matrix([(sp.Symbol(f"gamma_{m}") if n == 1 else sp.Symbol(f"gamma_{two(m, j + 1)}")) if form != "momentum" else sp.Integer(0)
                         for j in range(n)]) for m in range(1, M + 1)]
    return [sp.sstr(p) for p in _elementary_weights(W, b, betas, gammas, max_order, True)]


@dataclass(frozen=True)
class MultistepOrder:
    """The order of a multistep method from its tree residuals: ``order`` (largest p with
    every residual of order <= p zero, exactly or within ``tol``), the largest residual per
    order and whether ``max_order`` was reached."""

    order: int
    max_residuals: dict[int, float]
    exact: bool
    tol: float
    reached_cap: bool

    def residuals_json(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in sorted(self.max_residuals.items())}


def multistep_order(method: MultistepMethod, max_order: int = 6, tol: float | None = None) -> MultistepOrder:
    """Order from :func:`multistep_residuals` (exact arithmetic for exact methods; floats
    within ``tol``, default ``1e-12 max(1, max |weight|)``)."""
    ex = method.is_exact
    res = multistep_residuals(method, max_order, exact=ex)
    tab = tree_table(max_order)
    scale = max(1.0, *(float(np.max(np.abs(getattr(method, k)))) if getattr(method, k).size else 0.0 for k in _KEYS))
    limit = 0.0 if ex else (1e-12 * scale if tol is None else tol)
    order = 0
    maxes: dict[int, float] = {}
    failed = False
    for q in range(1, max_order + 1):
        block = res[tab.offsets[q]:tab.offsets[q + 1]]
        if ex:
            vals = [sp.simplify(r) if not isinstance(r, sp.Rational) else r for r in block]
            maxes[q] = max(abs(float(sp.N(v, 30))) for v in vals)
            ok = all(v == 0 for v in vals)
        else:
            maxes[q] = max(abs(float(v)) for v in block)
            ok = maxes[q] <= limit
        if ok and not failed:
            order = q
        else:
            failed = True
    return MultistepOrder(order, maxes, ex, limit, order == max_order)


# ----------------------------------------------------------------------------- integration
def startup_evaluations(method: MultistepMethod, rule: str) -> int:
    """f evaluations a run of N >= M steps spends beyond ``n N``: ``3 M`` for ``"rk4"`` (each
    start step costs RK4's 4 evaluations plus the n - 1 history stages beyond the shared
    first one), 0 for ``"rk"`` (the start steps are plain steps) and ``"exact"`` (given values;
    their history stages are the n evaluations of the step)."""
    if rule not in STARTUP_RULES:
        raise AnalysisInputError(f"start-up rule must be one of {', '.join(STARTUP_RULES)}, got {rule!r}")
    return 3 * method.memory if rule == "rk4" else 0


_RK4 = (((0.0, 0.0, 0.0), (0.5, 0.0, 0.0), (0.0, 0.5, 0.0), (0.0, 0.0, 1.0)), (1 / 6, 1 / 3, 1 / 3, 1 / 6))


def _stages(W: np.ndarray, f: Callable[[np.ndarray], np.ndarray], y: np.ndarray, h: Any) -> list[np.ndarray]:
    vs: list[np.ndarray] = []
    for j in range(W.shape[0]):
        arg = y
        for l in range(j):
            if W[j, l] != 0.0:
                arg = arg + h * W[j, l] * vs[l]
        vs.append(f(arg))
    return vs


def multistep_integrate(method: MultistepMethod, f: Callable[[np.ndarray], np.ndarray], y0: np.ndarray, h: Any, steps: int, *,
                        startup: str = "rk4", start_values: Sequence[np.ndarray] | None = None,
                        return_all: bool = False) -> np.ndarray | list[np.ndarray]:
    """``steps`` steps of ``method`` from ``y0`` (a batch (B, d); ``h`` scalar or (B,)); the
    first ``min(M, steps)`` by the start-up rule (``"exact"`` needs ``start_values``, the
    states ``y_1..y_M``). Returns the last state, or every state ``[y_1..y_N]``."""
    if startup not in STARTUP_RULES:
        raise AnalysisInputError(f"start-up rule must be one of {', '.join(STARTUP_RULES)}, got {startup!r}")
    M = method.memory
    if startup == "exact" and (start_values is None or len(start_values) < min(M, steps)):
        raise AnalysisInputError(f"start-up rule 'exact' needs the {min(M, steps)} start values y_1..y_M")
    W, b, betas, gammas = method.W, method.b, method.betas, method.gammas
    hh = np.asarray(h, dtype=np.float64).reshape(-1, 1) if np.ndim(h) else float(h)
    xs = [np.asarray(y0, dtype=np.float64)]
    past: list[list[np.ndarray]] = []
    out: list[np.ndarray] = []
    y = xs[0]
    for k in range(steps):
        vs = _stages(W, f, y, hh)
        if k < M:
            if startup == "rk":
                nxt = y + hh * sum(b[j] * vs[j] for j in range(len(vs)))
            elif startup == "rk4":
                A4, b4 = _RK4
                K = [vs[0]]
                for i in range(1, 4):
                    K.append(f(y + hh * sum(A4[i][j] * K[j] for j in range(i) if A4[i][j] != 0.0)))
                nxt = y + hh * sum(b4[j] * K[j] for j in range(4))
            else:
                nxt = np.asarray(start_values[k], dtype=np.float64)  # type: ignore[index]
        else:
            nxt = y + hh * sum(b[j] * vs[j] for j in range(len(vs)))
            for m in range(1, M + 1):
                if betas[m - 1] != 0.0:
                    nxt = nxt + betas[m - 1] * (xs[-m] - xs[-m - 1])
                g = past[-m]
                inc = sum(gammas[m - 1, j] * g[j] for j in range(len(g)) if gammas[m - 1, j] != 0.0)
                if not isinstance(inc, int):
                    nxt = nxt + hh * inc
        past.append(vs)
        xs.append(nxt)
        if len(past) > M:
            past.pop(0)
        if len(xs) > M + 1:
            xs.pop(0)
        y = nxt
        out.append(y)
    return out if return_all else y
