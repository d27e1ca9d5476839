"""Order conditions of Runge-Kutta methods via rooted trees.

For a tree ``t = [t_1, ..., t_m]`` the stage vector ``u(t) = prod_k (A u(t_k))``
(componentwise, ``u(τ) = 1``) gives the elementary weight ``Phi(t) = b . u(t)``. A method
has order ``p`` iff ``Phi(t) = 1/gamma(t)`` for every tree with ``|t| <= p``. The engines of
:mod:`analysis.order_engines` evaluate a whole order at a time.

:func:`check_order` decides every order in the arithmetic of the data and says which it
used, order by order:

* float64 for float coefficients, with a tolerance relative to the coefficient scale;
* for exact coefficients each order is first screened in float64 -- an order whose float
  residual exceeds the tolerance by more than a bound on float rounding fails for certain --
  and the orders that may hold are verified in exact arithmetic (rationals or the
  coefficients' number field), or in 60-digit arithmetic where exact arithmetic would
  exceed its budget (:mod:`analysis.arithmetic`);
* past the first failure (``all_orders=True``, the CLI's ``--max-order``) residuals are
  float64 values, labelled as such.

Limits: at most :data:`MAX_TREES` rooted trees (orders up to 16) and
:data:`MAX_TREE_STAGES` tree-stage values in memory; orders up to 14 (53,272 trees) take
well under a second in float64.

Condition systems (:class:`ConditionSet`, used by distillation and personalised orders) live
in :mod:`analysis.condition_sets` and are re-exported here.

The local error of one step is ``sum_t h^|t| / sigma(t) (Phi(t) - 1/gamma(t)) F(t)(y)``
with elementary differentials ``F(t)``; ``tau(t) = (Phi(t) - 1/gamma(t)) / sigma(t)`` are
the error coefficients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .arithmetic import MP_ZERO_RTOL, Deadline, ExactArithmetic, OverBudget
from .errors import AnalysisInputError
from .order_engines import FloatWeights, TableauNumbers, VectorWeights, mp_numbers, tableau_numbers
from .rooted_trees import RootedTree, count_trees, tree_table
from .tableau import FLOAT32_DIGITS, ButcherTableau
from .condition_sets import ConditionBlock, ConditionSet, conditions_and_jacobian, general_conditions  # noqa: F401 (re-exported)
from .simplifying_assumptions import StageOrder, stage_order  # noqa: F401 (re-exported)

__all__ = [
    "DEFAULT_ORDER_CAP",
    "MAX_TREES",
    "MAX_TREE_STAGES",
    "OrderReport",
    "ConditionRow",
    "elementary_weights",
    "check_order",
    "order_limit",
    "trees_through",
    "rounded_rtol",
    "order_of",
    "residuals",
    "condition_rows",
    "error_coefficients",
    "principal_error_norm",
    "stage_order",
    "StageOrder",
    "float_tolerance",
    "ConditionBlock",
    "ConditionSet",
    "general_conditions",
    "conditions_and_jacobian",
]

#: Highest order tested by default (when testing stops at the first failure).
DEFAULT_ORDER_CAP = 14
#: Most rooted trees the checker evaluates (all trees through order 16: 376,464).
MAX_TREES = 400_000
#: Most tree-stage values one float64 array may hold (about 190 MB).
MAX_TREE_STAGES = 24_000_000
#: Wall-clock seconds of exact verification before 60-digit arithmetic takes over.
EXACT_BUDGET_S = 2.0
#: Wall-clock seconds of 60-digit verification before float64 takes over.
MP_BUDGET_S = 8.0
_FLOAT_RTOL = 1e-12
#: Rounded inputs with d digits: tolerance ``10**(_ROUNDED_EXP - d)`` times the scale.
_ROUNDED_EXP = 2
_EPS = float(np.finfo(float).eps)

# Compatibility names for callers that use the engines directly.
_FloatWeights = FloatWeights


def trees_through(p: int) -> int:
    """Number of rooted trees of orders 1..p."""
    return sum(count_trees(n) for n in range(1, p + 1))


def order_limit(stages: int) -> int:
    """Highest order the checker evaluates for a tableau with ``stages`` stages: all trees
    through it number at most :data:`MAX_TREES` and, times ``stages``, at most
    :data:`MAX_TREE_STAGES`."""
    p = 1
    while trees_through(p + 1) <= MAX_TREES and trees_through(p + 1) * max(1, stages) <= MAX_TREE_STAGES:
        p += 1
    return p


def rounded_rtol(digits: int) -> float:
    """Relative tolerance for coefficients rounded to ``digits`` significant digits:
    ``10**(2 - digits)``. A coefficient rounded to d digits is off by up to ``5 10^-d``
    relative; measured on the catalogue (RK4 to Prince-Dormand 8(7), rounded to 6-12 digits
    and to float32) the residuals up to the method's order stay below ``6 10^-d`` times the
    coefficient scale, so the tolerance has a margin of more than 15."""
    return 10.0 ** (_ROUNDED_EXP - int(digits))


# ---------------------------------------------------------------------------- exact engine (compat)
class _ExactWeights:
    """Elementary weights of exact coefficients in the tableau's arithmetic (exact, or
    60-digit where exact is over budget): ``extend``, ``phi_of_order``,
    ``residuals_of_order``, ``to_float`` and ``to_sympy`` of the residual elements."""

    def __init__(self, A_exact: Sequence[Sequence[sp.Expr]], weights_exact: Sequence[Sequence[sp.Expr]]) -> None:
        s = len(A_exact)
        t = ButcherTableau(A=[list(r) for r in A_exact], b=list(weights_exact[0]),
                           b_hat=list(weights_exact[1]) if len(weights_exact) > 1 else None)
        self.numbers = tableau_numbers(t)
        self.arithmetic = self.numbers.arithmetic
        self.engine = VectorWeights(self.numbers)
        self.s = s
        self.zero = self.arithmetic.zero()

    def extend(self, p: int) -> None:
        self.engine.extend(p)

    def residuals_of_order(self, k: int, n: int) -> list[Any]:
        return self.engine.residual_elements(k, n)

    def phi_of_order(self, k: int, n: int) -> list[Any]:
        ar = self.arithmetic
        tab = tree_table(n)
        return [ar.add(r, ar.rational(Fraction(1, g))) for r, g in zip(self.residuals_of_order(k, n), tab.gamma[tab.of_order(n)])]

    def is_zero(self, x: Any) -> bool:
        return self.arithmetic.is_zero(x, self.numbers.scale)

    def to_float(self, x: Any) -> float:
        return self.arithmetic.to_float(x)

    def to_sympy(self, x: Any) -> sp.Expr:
        return self.arithmetic.to_sympy(x)


def elementary_weights(
    A: Sequence[Sequence[Any]] | np.ndarray,
    b: Sequence[Any] | np.ndarray,
    max_order: int,
    *,
    one: Any = None,
    zero: Any = None,
) -> list[tuple[RootedTree, Any]]:
    """Elementary weights ``Phi(t)`` of all trees up to ``max_order`` in any arithmetic.

    The entries of ``A`` and ``b`` may be floats, :class:`fractions.Fraction`, sympy
    numbers, mpmath numbers or anything else with ``+`` and ``*``; the result uses the
    same number type. ``one``/``zero`` default to ``1``/``0`` of that type.
    """
    A_l = [list(r) for r in A]
    b_l = list(b)
    s = len(b_l)
    if one is None:
        one = b_l[0] * 0 + 1 if s else 1
    if zero is None:
        zero = one * 0
    tab = tree_table(max_order)
    N = tab.offsets[max_order + 1]
    rows = [[(j, a) for j, a in enumerate(row) if a != 0] for row in A_l]
    U: list[list[Any]] = []
    V: list[list[Any]] = []
    out = []
    for i in range(N):
        if i == 0:
            u = [one] * s
        else:
            u = [x * y for x, y in zip(U[tab.left[i]], V[tab.right[i]])]
        U.append(u)
        v = []
        for row in rows:
            acc = zero
            for j, a in row:
                acc = acc + a * u[j]
            v.append(acc)
        V.append(v)
        acc = zero
        for j in range(s):
            acc = acc + b_l[j] * u[j]
        out.append((tab.trees[i], acc))
    return out


# ---------------------------------------------------------------------------- reports
@dataclass(frozen=True)
class OrderReport:
    """Result of :func:`check_order`.

    ``order`` is the largest ``p`` such that every tree with ``|t| <= p`` satisfies its
    condition within ``tol`` (an absolute tolerance: ``tol_relative`` times ``tol_scale``,
    the coefficient scale; exactly when ``tol`` is 0 in exact arithmetic), decided in
    ``arithmetic`` ("exact", "60-digit" or "float64"). ``max_residuals[n]`` is the largest
    ``|Phi(t) - 1/gamma(t)|`` over the trees of order ``n`` for every order tested, and
    ``residual_arithmetic[n]`` the arithmetic that value (and the verdict on order n) came
    from. ``reached_cap`` is true when every order up to the cap passed (the true order may
    be higher). With ``all_orders`` every order up to ``cap`` is reported, also past the
    first failure (``first_failure``). ``error_norms[n]`` is ``||tau||_2`` over the trees of
    order n (float64), ``error_coefficients`` the float64 ``tau(t)`` of the trees of order
    ``order + 1`` (when tested); ``notes`` say where an arithmetic ran out of budget.
    """

    order: int
    tol: float
    exact: bool
    max_residuals: dict[int, float]
    reached_cap: bool
    cap: int
    embedded_order: int | None = None
    embedded_max_residuals: dict[int, float] | None = None
    arithmetic: str = "float64"
    residual_arithmetic: dict[int, str] = field(default_factory=dict)
    tol_relative: float = 0.0
    tol_scale: float = 1.0
    tol_source: str = ""
    all_orders: bool = False
    first_failure: int | None = None
    error_norms: dict[int, float] = field(default_factory=dict)
    error_coefficients: tuple[float, ...] | None = None
    notes: tuple[str, ...] = ()

    @property
    def trees(self) -> dict[int, int]:
        """Number of rooted trees (order conditions) of each order tested."""
        return {n: count_trees(n) for n in sorted(self.max_residuals)}

    def residuals_json(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in sorted(self.max_residuals.items())}

    def tolerance_text(self) -> str:
        """The tolerance in words, e.g. ``"tol 1.2e-11 (1e-12 x coefficient scale 12.3)"``."""
        if self.tol == 0.0:
            return "tol 0 (exact comparison)"
        rel = f"{self.tol_relative:.3g}"
        scale = "" if self.tol_scale == 1.0 else f" x coefficient scale {self.tol_scale:.4g}"
        src = f"; {self.tol_source}" if self.tol_source else ""
        return f"tol {self.tol:.3g} ({rel}{scale}{src})"

    def describe(self) -> str:
        """``"order 4 at tol 0 (exact comparison), exact arithmetic"``."""
        return f"order {self.order} at {self.tolerance_text()}, {_ARITH_WORDS[self.arithmetic]}"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "order": self.order,
            "tol": self.tol,
            "tol_relative": self.tol_relative,
            "tol_scale": self.tol_scale,
            "tol_source": self.tol_source,
            "arithmetic": self.arithmetic,
            "residuals": self.residuals_json(),
            "residual_arithmetic": {str(k): v for k, v in sorted(self.residual_arithmetic.items())},
            "trees_per_order": {str(k): v for k, v in self.trees.items()},
            "reached_cap": self.reached_cap,
            "cap": self.cap,
            "all_orders": self.all_orders,
            "first_failure": self.first_failure,
            "error_norms": {str(k): v for k, v in sorted(self.error_norms.items())},
            "notes": list(self.notes),
        }
        if self.embedded_order is not None:
            d["embedded_order"] = self.embedded_order
        return d


_ARITH_WORDS = {"exact": "exact arithmetic", "60-digit": "60-digit arithmetic", "float64": "float64 arithmetic"}


@dataclass(frozen=True)
class ConditionRow:
    """One order condition: tree, elementary weight, 1/gamma, residual, error coefficient."""

    tree: RootedTree
    phi: float
    inv_gamma: float
    residual: float
    tau: float
    phi_exact: sp.Expr | None = None
    satisfied: bool = False


def float_tolerance(tableau: ButcherTableau) -> float:
    """Default float64 tolerance on ``|Phi(t) - 1/gamma(t)|``: ``1e-12 max(1, max|a_ij|, max|b_i|)``.

    Residuals of conditions that hold exactly stay within a few ulps even for methods
    with large coefficients (Prince-Dormand 8(7): about 2e-16 through order 8), while a
    change of a coefficient by more than about 1e-11 is caught.
    """
    return _FLOAT_RTOL * tableau.coefficient_scale


def _default_rtol(tableau: ButcherTableau, arithmetic: str) -> tuple[float, str]:
    d = tableau.digits
    if d is not None:
        rel = rounded_rtol(d)
        what = "float32 data" if (d == FLOAT32_DIGITS and not tableau.is_exact) else f"{d}-digit {'decimals' if tableau.is_exact else 'floats'}"
        if arithmetic == "float64" and rel < _FLOAT_RTOL:
            return _FLOAT_RTOL, f"float64 default; the {what} carry more digits than float64 resolves"
        return rel, f"from the {what}: 10^(2-{d})"
    if arithmetic == "exact":
        return 0.0, "exact comparison"
    if arithmetic == "60-digit":
        return MP_ZERO_RTOL, "60-digit arithmetic: smaller residuals count as zero"
    return _FLOAT_RTOL, "float64 default"


def _cap_for(tableau: ButcherTableau, max_order: int | None) -> int:
    limit = order_limit(tableau.stages)
    if max_order is None:
        bound = tableau.stages if tableau.is_explicit else 2 * tableau.stages
        return max(1, min(bound + 1, DEFAULT_ORDER_CAP, limit))
    cap = int(max_order)
    if cap < 1:
        raise AnalysisInputError(f"max order must be >= 1, got {max_order}")
    if cap > limit:
        need = trees_through(cap)
        why = ((f"{need:,}" if need < 10**12 else f"about {float(need):.2e}") + " rooted trees" if need > MAX_TREES
               else f"{need:,} trees x {tableau.stages} stages = {need * tableau.stages:,} values (memory budget {MAX_TREE_STAGES:,})")
        raise AnalysisInputError(f"--max-order {cap}: orders up to {cap} need {why}; the checker evaluates at most "
                                 f"{MAX_TREES:,} trees (order {limit} for {tableau.stages} stages)")
    return cap


def _rounding_bound(n: int, s: int, phi_abs: np.ndarray) -> np.ndarray:
    """A bound on the float64 error of ``Phi(t)`` for the trees of order ``n``: inputs rounded
    to float64 plus the rounding of every product and dot product, relative to the sum of
    the absolute values of all terms (``phi_abs``)."""
    return 2.0 * (n * (s + 2) + s) * _EPS * phi_abs + 1e-300


def check_order(
    tableau: ButcherTableau,
    max_order: int | None = None,
    tol: float | None = None,
    exact: bool | None = None,
    *,
    all_orders: bool = False,
    budget_s: float = EXACT_BUDGET_S,
) -> OrderReport:
    """Test the order conditions, order by order.

    Parameters
    ----------
    tableau : ButcherTableau
    max_order : int, optional
        Highest order tested. Default: stop at the first failing order, testing at most
        ``min(s + 1, 14)`` orders for explicit and ``min(2s + 1, 14)`` for implicit methods
        (no method can have a higher order). At most :func:`order_limit` (16 for up to 63
        stages); larger values are refused with an :class:`AnalysisInputError`.
    tol : float, optional
        Tolerance on ``|Phi(t) - 1/gamma(t)|`` relative to the coefficient scale
        ``max(1, max|a_ij|, max|b_i|)``. Default: from the data -- 0 (exact comparison) for
        exact entries, ``10**(2 - d)`` for entries rounded to ``d`` digits (long decimals,
        float32 data), 1e-12 for float64, 1e-45 in 60-digit arithmetic.
    exact : bool, optional
        Exact arithmetic (needs exact coefficients). Default: exact iff the tableau is.
    all_orders : bool
        Report every order up to ``max_order`` (float64 residuals past the first failure)
        instead of stopping at the first failure.
    budget_s : float
        Seconds of exact verification before 60-digit arithmetic takes over.
    """
    if tol is not None and (not math.isfinite(tol) or tol < 0):
        raise AnalysisInputError(f"tolerance must be a finite number >= 0, got {tol}")
    use_exact = tableau.is_exact if exact is None else bool(exact)
    if use_exact and not tableau.is_exact:
        raise AnalysisInputError(f"{tableau.label}: exact arithmetic needs exact coefficients")
    cap = _cap_for(tableau, max_order)
    if all_orders and max_order is None:
        all_orders = False
    notes: list[str] = []
    numbers: TableauNumbers | None = tableau_numbers(tableau) if use_exact else None
    mode = "float64" if numbers is None else numbers.arithmetic.kind
    if numbers is not None and numbers.arithmetic.note:
        notes.append(numbers.arithmetic.note)
    scale = tableau.coefficient_scale
    if tol is None:
        rel, source = _default_rtol(tableau, mode)
    else:
        rel, source = float(tol), "given"
    tol_abs = rel * scale
    s = tableau.stages
    weights = [tableau.b] + ([tableau.b_hat] if tableau.b_hat is not None else [])
    fe = FloatWeights(tableau.A, weights)
    ae = FloatWeights(np.abs(tableau.A), [np.abs(w) for w in weights]) if numbers is not None else None
    state = {"engine": None if numbers is None else VectorWeights(numbers, Deadline(budget_s if mode == "exact" else MP_BUDGET_S)),
             "mode": mode}

    def verify(k: int, n: int) -> tuple[bool, float, str]:
        """Verdict on order n in the current high-precision engine, switching engines on budget."""
        while True:
            eng = state["engine"]
            if eng is None:
                return False, math.nan, "float64"
            try:
                eng.extend(n)
                ok, worst = eng.holds(k, n, tol_abs)
                return ok, worst, eng.label
            except OverBudget:
                if state["mode"] == "exact":
                    notes.append(f"exact arithmetic stopped after {budget_s:g} s before order {n}; "
                                 f"orders from {n} on are verified in 60-digit arithmetic")
                    state["mode"] = "60-digit"
                    state["engine"] = VectorWeights(mp_numbers(tableau), Deadline(MP_BUDGET_S))
                else:
                    notes.append(f"60-digit arithmetic stopped after {MP_BUDGET_S:g} s before order {n}; "
                                 f"orders from {n} on are decided in float64 at tol {_FLOAT_RTOL:g} x scale")
                    state["mode"] = "float64"
                    state["engine"] = None

    def run(k: int) -> tuple[int, dict[int, float], dict[int, str], dict[int, float], int | None, tuple[float, ...] | None, bool]:
        order = 0
        failed: int | None = None
        res: dict[int, float] = {}
        arith: dict[int, str] = {}
        norms: dict[int, float] = {}
        taus_next: tuple[float, ...] | None = None
        for n in range(1, cap + 1):
            fe.extend(n)
            tab = tree_table(n)
            sl = tab.of_order(n)
            r_f = fe.phi_of_order(k, n) - 1.0 / tab.gamma_f[sl]
            mags = np.abs(r_f)
            finite = bool(np.all(np.isfinite(mags)))
            if failed is None and state["mode"] != "float64" and ae is not None:
                ae.extend(n)
                bound = _rounding_bound(n, s, ae.phi_of_order(k, n)) + _EPS / tab.gamma_f[sl]
                if finite and bool(np.any(mags > tol_abs + bound)):
                    ok, worst, label = False, float(np.max(mags)), "float64"
                else:
                    ok, worst, label = verify(k, n)
                    if label == "float64":  # every high-precision budget is spent
                        t_f = max(tol_abs, _FLOAT_RTOL * scale)
                        ok, worst = bool(finite and np.all(mags <= t_f)), float(np.max(mags))
            else:
                t_f = tol_abs if state["mode"] == "float64" and numbers is None else max(tol_abs, _FLOAT_RTOL * scale)
                ok, worst, label = bool(finite and np.all(mags <= t_f)), float(np.max(mags)), "float64"
            res[n] = worst if math.isfinite(worst) else float("inf")
            arith[n] = label
            taus = r_f / tab.sigma_f[sl]
            with np.errstate(over="ignore", invalid="ignore"):
                norms[n] = 0.0 if (ok and label != "float64" and worst == 0.0) else float(np.sqrt(np.sum(taus**2)))
            if failed is None:
                if ok:
                    order = n
                else:
                    failed = n
                    taus_next = tuple(float(x) for x in taus)
                    if not all_orders:
                        break
        return order, res, arith, norms, failed, taus_next, failed is None

    order, res, arith, norms, failed, taus_next, reached = run(0)
    emb = run(1) if tableau.b_hat is not None else None
    rank = {"exact": 0, "60-digit": 1, "float64": 2}
    passing = [arith[n] for n in range(1, order + 1)]
    if numbers is None:
        overall = "float64"
    elif not passing:
        overall = mode
    else:
        overall = max(passing, key=rank.__getitem__)
    return OrderReport(
        order=order,
        tol=tol_abs,
        exact=overall == "exact",
        max_residuals=res,
        reached_cap=reached,
        cap=cap,
        embedded_order=None if emb is None else emb[0],
        embedded_max_residuals=None if emb is None else emb[1],
        arithmetic=overall,
        residual_arithmetic=arith,
        tol_relative=rel,
        tol_scale=scale,
        tol_source=source,
        all_orders=all_orders,
        first_failure=failed,
        error_norms=norms,
        error_coefficients=taus_next,
        notes=tuple(dict.fromkeys(notes)),
    )


def residuals(tableau: ButcherTableau, max_order: int, *, exact: bool | None = None) -> list[Any] | np.ndarray:
    """``Phi(t) - 1/gamma(t)`` for every tree of orders 1..max_order (tree order of
    :func:`analysis.rooted_trees.tree_table`): a float64 array, or exact elements of the
    tableau's arithmetic (use :func:`condition_rows` for sympy numbers)."""
    use_exact = tableau.is_exact if exact is None else exact
    if use_exact:
        if tableau.exact is None:
            raise AnalysisInputError(f"{tableau.label}: exact arithmetic needs exact coefficients")
        eng = VectorWeights(tableau_numbers(tableau))
        eng.extend(max_order)
        return [r for n in range(1, max_order + 1) for r in eng.residual_elements(0, n)]
    engf = FloatWeights(tableau.A, [tableau.b])
    engf.extend(max_order)
    tab = engf.table
    N = tab.offsets[max_order + 1]
    return engf.phi[:N, 0] - 1.0 / tab.gamma_f[:N]


def order_of(tableau: ButcherTableau, tol: float | None = None, exact: bool | None = None, max_order: int | None = None) -> int:
    """Shorthand for ``check_order(...).order``."""
    return check_order(tableau, max_order=max_order, tol=tol, exact=exact).order


def condition_rows(tableau: ButcherTableau, max_order: int, *, exact: bool | None = None, tol: float | None = None) -> list[ConditionRow]:
    """Every order condition up to ``max_order``, one row per tree (for reports).

    Exact tableaux: ``phi_exact`` is the exact elementary weight when the arithmetic is
    exact and the value is rational or lies in a quadratic field (short to print), else
    None; ``satisfied`` is decided in the tableau's arithmetic. ``tol`` is relative to the
    coefficient scale, as in :func:`check_order`.
    """
    use_exact = tableau.is_exact if exact is None else exact
    rows = []
    tab = tree_table(max_order)
    if use_exact:
        numbers = tableau_numbers(tableau)
        ar = numbers.arithmetic
        eng = VectorWeights(numbers, Deadline(EXACT_BUDGET_S))
        try:
            eng.extend(max_order)
        except OverBudget:
            numbers = mp_numbers(tableau, "condition table in 60-digit arithmetic")
            ar = numbers.arithmetic
            eng = VectorWeights(numbers)
            eng.extend(max_order)
        printable = isinstance(ar, ExactArithmetic) and ar.degree <= 2
        t_abs = (tol or 0.0) * tableau.coefficient_scale
        for n in range(1, max_order + 1):
            sl = tab.of_order(n)
            for t, r, g, sg in zip(tab.trees[sl], eng.residual_elements(0, n), tab.gamma[sl], tab.sigma[sl]):
                phi = ar.add(r, ar.rational(Fraction(1, g)))
                rf = ar.to_float(r)
                ok = ar.is_zero(r, numbers.scale) if t_abs == 0.0 else abs(rf) <= t_abs
                phi_s = ar.to_sympy(phi) if printable else (ar.to_sympy(phi) if ar.is_rational(phi) else None)
                rows.append(ConditionRow(t, ar.to_float(phi), 1.0 / g, rf, rf / sg, phi_s, bool(ok)))
        return rows
    eng_f = FloatWeights(tableau.A, [tableau.b])
    eng_f.extend(max_order)
    t_n = float_tolerance(tableau) if tol is None else tol * tableau.coefficient_scale
    for n in range(1, max_order + 1):
        sl = tab.of_order(n)
        phis = eng_f.phi_of_order(0, n)
        for t, phi, g, sg in zip(tab.trees[sl], phis, tab.gamma[sl], tab.sigma[sl]):
            r = float(phi) - 1.0 / g
            rows.append(ConditionRow(t, float(phi), 1.0 / g, r, r / sg, None, abs(r) <= t_n))
    return rows


def error_coefficients(tableau: ButcherTableau, n: int, *, exact: bool = False) -> list[tuple[RootedTree, Any]]:
    """``tau(t) = (Phi(t) - 1/gamma(t)) / sigma(t)`` for every tree of order ``n``.

    Floats by default; sympy numbers in the tableau's arithmetic when ``exact`` (needs exact
    coefficients; 60-digit Floats where exact arithmetic is over budget).
    """
    tab = tree_table(n)
    sl = tab.of_order(n)
    if exact:
        if not tableau.is_exact:
            raise AnalysisInputError(f"{tableau.label}: exact error coefficients need exact coefficients")
        numbers = tableau_numbers(tableau)
        eng = VectorWeights(numbers)
        eng.extend(n)
        ar = numbers.arithmetic
        return [(t, ar.to_sympy(r) / sg) for t, r, sg in zip(tab.trees[sl], eng.residual_elements(0, n), tab.sigma[sl])]
    eng_f = FloatWeights(tableau.A, [tableau.b])
    eng_f.extend(n)
    res = eng_f.phi_of_order(0, n) - 1.0 / tab.gamma_f[sl]
    return [(t, float(r) / sg) for t, r, sg in zip(tab.trees[sl], res, tab.sigma[sl])]


def principal_error_norm(tableau: ButcherTableau, order: int | None = None) -> float:
    """``A^(p+1) = ||tau||_2`` over the trees of order ``p + 1`` (``p`` the method's order
    unless given), in float64."""
    p = check_order(tableau).order if order is None else int(order)
    taus = np.array([float(t) for _, t in error_coefficients(tableau, p + 1)])
    return float(np.sqrt(np.sum(taus**2)))
