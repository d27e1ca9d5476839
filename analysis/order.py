"""Order conditions of Runge-Kutta methods via rooted trees.

For a tree ``t = [t_1, ..., t_m]`` the stage vector ``u(t) = prod_k (A u(t_k))``
(componentwise, ``u(τ) = 1``) gives the elementary weight ``Phi(t) = b . u(t)``. A method
has order ``p`` iff ``Phi(t) = 1/gamma(t)`` for every tree with ``|t| <= p``. Each tree
``t = u o v`` (Butcher product) reuses the memoised vectors of ``u`` and ``v``::

    u(t) = u(u) * (A u(v))

so a whole order costs one gather-multiply and one matrix product in float64, and one
product per stage in exact arithmetic. Exact evaluation runs in the smallest sympy domain
holding the coefficients (``QQ`` for rationals, ``QQ<sqrt(3)>`` for Gauss methods, ...).

The local error of one step is ``sum_t h^|t| / sigma(t) (Phi(t) - 1/gamma(t)) F(t)(y)``
with elementary differentials ``F(t)``; ``tau(t) = (Phi(t) - 1/gamma(t)) / sigma(t)`` are
the error coefficients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .errors import AnalysisInputError
from .numbers import exact_domain
from .tableau import ButcherTableau
from .rooted_trees import RootedTree, TreeTable, tree_table

__all__ = [
    "DEFAULT_ORDER_CAP",
    "OrderReport",
    "ConditionRow",
    "elementary_weights",
    "check_order",
    "order_of",
    "residuals",
    "condition_rows",
    "error_coefficients",
    "principal_error_norm",
    "stage_order",
    "float_tolerance",
    "ConditionBlock",
    "ConditionSet",
    "general_conditions",
    "conditions_and_jacobian",
]

DEFAULT_ORDER_CAP = 20
_FLOAT_RTOL = 1e-12


# ---------------------------------------------------------------------------- engines
class _FloatWeights:
    """Incremental float64 evaluation of elementary weights, order by order.

    ``U`` and ``V = U A^T`` hold one row per tree (global tree index of the shared
    :class:`TreeTable`); ``phi[k]`` the weights for the k-th weight vector.
    """

    def __init__(self, A: np.ndarray, weights: Sequence[np.ndarray]) -> None:
        self.A = np.asarray(A, dtype=np.float64)
        self.AT = np.ascontiguousarray(self.A.T)
        self.W = np.stack([np.asarray(w, dtype=np.float64) for w in weights], axis=1)  # (s, k)
        s = self.A.shape[0]
        self.U = np.empty((0, s))
        self.V = np.empty((0, s))
        self.phi = np.empty((0, self.W.shape[1]))
        self.order = 0
        self.table: TreeTable | None = None

    def extend(self, p: int) -> None:
        if p <= self.order:
            return
        self.table = tab = tree_table(p)
        N = tab.offsets[p + 1]
        old = self.U.shape[0]
        s = self.A.shape[0]
        U = np.empty((N, s))
        V = np.empty((N, s))
        U[:old], V[:old] = self.U, self.V
        for n in range(self.order + 1, p + 1):
            sl = tab.of_order(n)
            if n == 1:
                U[sl] = 1.0
            else:
                np.multiply(U[tab.left[sl]], V[tab.right[sl]], out=U[sl])
            np.matmul(U[sl], self.AT, out=V[sl])
        phi = np.empty((N, self.W.shape[1]))
        phi[:old] = self.phi
        np.matmul(U[old:], self.W, out=phi[old:])
        self.U, self.V, self.phi, self.order = U, V, phi, p

    def phi_of_order(self, k: int, n: int) -> np.ndarray:
        assert self.table is not None
        return self.phi[self.table.of_order(n), k]


class _ExactWeights:
    """Incremental exact evaluation in a sympy domain (QQ or an algebraic field)."""

    def __init__(self, A_exact: Sequence[Sequence[sp.Expr]], weights_exact: Sequence[Sequence[sp.Expr]]) -> None:
        s = len(A_exact)
        flat = [x for row in A_exact for x in row] + [x for w in weights_exact for x in w]
        K, elems = exact_domain(flat + [sp.Integer(1)])
        self.K = K
        self.one = elems[-1]
        self.zero = K.zero
        A = [elems[i * s:(i + 1) * s] for i in range(s)]
        self.A_rows = [[(j, a) for j, a in enumerate(row) if a != self.zero] for row in A]
        pos = s * s
        self.weights = []
        for w in weights_exact:
            self.weights.append([(j, x) for j, x in enumerate(elems[pos:pos + s]) if x != self.zero])
            pos += s
        self.s = s
        self.U: list[list[Any]] = []
        self.V: list[list[Any]] = []
        self.phi: list[list[Any]] = [[] for _ in self.weights]
        self.table: TreeTable | None = None
        self.done_order = 0

    def _matvec(self, u: list[Any]) -> list[Any]:
        zero = self.zero
        out = []
        for row in self.A_rows:
            acc = zero
            for j, a in row:
                acc = acc + a * u[j]
            out.append(acc)
        return out

    def extend(self, p: int) -> None:
        if p <= self.done_order:
            return
        self.table = tab = tree_table(p)
        U, V = self.U, self.V
        for n in range(self.done_order + 1, p + 1):
            sl = tab.of_order(n)
            for i in range(sl.start, sl.stop):
                if n == 1:
                    u = [self.one] * self.s
                else:
                    a, b = U[tab.left[i]], V[tab.right[i]]
                    u = [x * y for x, y in zip(a, b)]
                U.append(u)
                V.append(self._matvec(u))
                for k, w in enumerate(self.weights):
                    acc = self.zero
                    for j, x in w:
                        acc = acc + x * u[j]
                    self.phi[k].append(acc)
            self.done_order = n

    def phi_of_order(self, k: int, n: int) -> list[Any]:
        tab = tree_table(n)
        sl = tab.of_order(n)
        return self.phi[k][sl.start:sl.stop]

    def residuals_of_order(self, k: int, n: int) -> list[Any]:
        tab = tree_table(n)
        sl = tab.of_order(n)
        K = self.K
        return [phi - K.convert(sp.Rational(1, g)) for phi, g in zip(self.phi_of_order(k, n), tab.gamma[sl])]

    def to_float(self, x: Any) -> float:
        K = self.K
        if K.is_QQ:
            return float(Fraction(int(K.numer(x)), int(K.denom(x))))
        return float(K.to_sympy(x).evalf(30))

    def to_sympy(self, x: Any) -> sp.Expr:
        return self.K.to_sympy(x)


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
    condition within ``tol`` (exactly when ``exact``). ``max_residuals[n]`` is the largest
    ``|Phi(t) - 1/gamma(t)|`` over trees of order ``n``, for every order tested.
    ``reached_cap`` is true when testing stopped at the cap rather than at a failure (the
    true order may then be higher).
    """

    order: int
    tol: float
    exact: bool
    max_residuals: dict[int, float]
    reached_cap: bool
    cap: int
    embedded_order: int | None = None
    embedded_max_residuals: dict[int, float] | None = None

    def residuals_json(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in sorted(self.max_residuals.items())}

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "order": self.order,
            "tol": self.tol,
            "arithmetic": "exact" if self.exact else "float64",
            "residuals": self.residuals_json(),
            "reached_cap": self.reached_cap,
        }
        if self.embedded_order is not None:
            d["embedded_order"] = self.embedded_order
        return d


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
    scale = max(1.0, float(np.max(np.abs(tableau.A))), float(np.max(np.abs(tableau.b))))
    return _FLOAT_RTOL * scale


def check_order(
    tableau: ButcherTableau,
    max_order: int | None = None,
    tol: float | None = None,
    exact: bool | None = None,
) -> OrderReport:
    """Test order conditions for increasing orders until the first failure or the cap.

    Parameters
    ----------
    tableau : ButcherTableau
    max_order : int, optional
        Cap on the orders tested (default 20).
    tol : float, optional
        Absolute tolerance on ``|Phi(t) - 1/gamma(t)|``. Default: 0 (exact comparison) in
        exact arithmetic, :func:`float_tolerance` in float64.
    exact : bool, optional
        Exact arithmetic (needs exact coefficients). Default: exact iff the tableau is.
    """
    cap = DEFAULT_ORDER_CAP if max_order is None else int(max_order)
    if cap < 1:
        raise AnalysisInputError(f"max order must be >= 1, got {max_order}")
    if tol is not None and (not math.isfinite(tol) or tol < 0):
        raise AnalysisInputError(f"tolerance must be a finite number >= 0, got {tol}")
    use_exact = tableau.is_exact if exact is None else bool(exact)
    if use_exact and not tableau.is_exact:
        raise AnalysisInputError(f"{tableau.label}: exact arithmetic needs exact coefficients")
    if tol is None:
        tol = 0.0 if use_exact else float_tolerance(tableau)
    tol = float(tol)
    if use_exact:
        e = tableau.exact
        assert e is not None
        engine: Any = _ExactWeights(e.A, [e.b] + ([e.b_hat] if e.b_hat is not None else []))
    else:
        engine = _FloatWeights(tableau.A, [tableau.b] + ([tableau.b_hat] if tableau.b_hat is not None else []))

    def run(k: int) -> tuple[int, dict[int, float], bool]:
        order = 0
        residuals: dict[int, float] = {}
        for n in range(1, cap + 1):
            engine.extend(n)
            if use_exact:
                res = engine.residuals_of_order(k, n)
                mags = [abs(engine.to_float(r)) for r in res]
                ok = all(r == engine.zero for r in res) if tol == 0.0 else max(mags) <= tol
            else:
                tab = engine.table
                mags = np.abs(engine.phi_of_order(k, n) - 1.0 / tab.gamma_f[tab.of_order(n)])
                ok = bool(np.all(mags <= tol))
            residuals[n] = float(max(mags))
            if not ok:
                return order, residuals, False
            order = n
        return order, residuals, True

    order, residuals, reached_cap = run(0)
    emb = run(1) if tableau.b_hat is not None else None
    return OrderReport(
        order=order,
        tol=tol,
        exact=use_exact,
        max_residuals=residuals,
        reached_cap=reached_cap,
        cap=cap,
        embedded_order=None if emb is None else emb[0],
        embedded_max_residuals=None if emb is None else emb[1],
    )


def residuals(tableau: ButcherTableau, max_order: int, *, exact: bool | None = None) -> list[Any] | np.ndarray:
    """``Phi(t) - 1/gamma(t)`` for every tree of orders 1..max_order (tree order of
    :func:`analysis.rooted_trees.tree_table`): a float64 array, or exact sympy-domain elements
    (use :func:`condition_rows` for sympy numbers)."""
    use_exact = tableau.is_exact if exact is None else exact
    if use_exact:
        e = tableau.exact
        if e is None:
            raise AnalysisInputError(f"{tableau.label}: exact arithmetic needs exact coefficients")
        eng = _ExactWeights(e.A, [e.b])
        eng.extend(max_order)
        return [r for n in range(1, max_order + 1) for r in eng.residuals_of_order(0, n)]
    engf = _FloatWeights(tableau.A, [tableau.b])
    engf.extend(max_order)
    tab = engf.table
    N = tab.offsets[max_order + 1]
    return engf.phi[:N, 0] - 1.0 / tab.gamma_f[:N]


def order_of(tableau: ButcherTableau, tol: float | None = None, exact: bool | None = None, max_order: int | None = None) -> int:
    """Shorthand for ``check_order(...).order``."""
    return check_order(tableau, max_order=max_order, tol=tol, exact=exact).order


def condition_rows(tableau: ButcherTableau, max_order: int, *, exact: bool | None = None, tol: float | None = None) -> list[ConditionRow]:
    """Every order condition up to ``max_order``, one row per tree (for reports)."""
    use_exact = tableau.is_exact if exact is None else exact
    rows = []
    if use_exact:
        e = tableau.exact
        assert e is not None
        eng = _ExactWeights(e.A, [e.b])
        eng.extend(max_order)
        tab = tree_table(max_order)
        for n in range(1, max_order + 1):
            sl = tab.of_order(n)
            for t, phi, g, sg in zip(tab.trees[sl], eng.phi_of_order(0, n), tab.gamma[sl], tab.sigma[sl]):
                phi_s = eng.to_sympy(phi)
                r = phi_s - sp.Rational(1, g) if isinstance(phi_s, sp.Rational) else sp.expand(phi_s - sp.Rational(1, g))
                rf = float(sp.N(r, 30))
                rows.append(ConditionRow(t, float(sp.N(phi_s, 30)), 1.0 / g, rf, rf / sg, phi_s, r == 0))
        return rows
    eng_f = _FloatWeights(tableau.A, [tableau.b])
    eng_f.extend(max_order)
    tab = eng_f.table
    assert tab is not None
    for n in range(1, max_order + 1):
        sl = tab.of_order(n)
        phis = eng_f.phi_of_order(0, n)
        t_n = float_tolerance(tableau) if tol is None else tol
        for t, phi, g, sg in zip(tab.trees[sl], phis, tab.gamma[sl], tab.sigma[sl]):
            r = float(phi) - 1.0 / g
            rows.append(ConditionRow(t, float(phi), 1.0 / g, r, r / sg, None, abs(r) <= t_n))
    return rows


def error_coefficients(tableau: ButcherTableau, n: int, *, exact: bool = False) -> list[tuple[RootedTree, Any]]:
    """``tau(t) = (Phi(t) - 1/gamma(t)) / sigma(t)`` for every tree of order ``n``.

    Floats by default; sympy exact values when ``exact`` (needs exact coefficients).
    """
    tab = tree_table(n)
    sl = tab.of_order(n)
    if exact:
        if not tableau.is_exact:
            raise AnalysisInputError(f"{tableau.label}: exact error coefficients need exact coefficients")
        e = tableau.exact
        eng = _ExactWeights(e.A, [e.b])
        eng.extend(n)
        res = eng.residuals_of_order(0, n)
        return [(t, eng.to_sympy(r) / sg) for t, r, sg in zip(tab.trees[sl], res, tab.sigma[sl])]
    eng_f = _FloatWeights(tableau.A, [tableau.b])
    eng_f.extend(n)
    res = eng_f.phi_of_order(0, n) - 1.0 / tab.gamma_f[sl]
    return [(t, float(r) / sg) for t, r, sg in zip(tab.trees[sl], res, tab.sigma[sl])]


def principal_error_norm(tableau: ButcherTableau, order: int | None = None) -> float:
    """``A^(p+1) = ||tau||_2`` over the trees of order ``p + 1`` (``p`` the method's order
    unless given)."""
    p = check_order(tableau).order if order is None else int(order)
    taus = np.array([float(t) for _, t in error_coefficients(tableau, p + 1)])
    return float(np.sqrt(np.sum(taus**2)))


def stage_order(tableau: ButcherTableau, tol: float | None = None) -> int:
    """Largest ``q`` with the simplifying assumption ``C(q)``:
    ``sum_j a_ij c_j^(k-1) = c_i^k / k`` for ``k = 1..q`` (checked exactly for exact
    tableaux). At most ``s + 1`` is tested."""
    s = tableau.stages
    if tableau.is_exact and tol is None:
        e = tableau.exact
        A = sp.Matrix(e.A)
        c = sp.Matrix(e.c)
        q = 0
        for k in range(1, s + 2):
            lhs = A * c.applyfunc(lambda x: x ** (k - 1))
            rhs = c.applyfunc(lambda x: x**k / k)
            if any(sp.simplify(lhs[i] - rhs[i]) != 0 for i in range(s)):
                break
            q = k
        return q
    A, c = tableau.A, tableau.c
    t = 1e-12 * max(1.0, float(np.abs(A).max())) if tol is None else tol
    q = 0
    for k in range(1, s + 2):
        if np.max(np.abs(A @ c ** (k - 1) - c**k / k)) > t:
            break
        q = k
    return q


# ---------------------------------------------------------------------------- condition sets
@dataclass(frozen=True)
class ConditionBlock:
    """Conditions on the trees of one order: ``rows @ (Phi - 1/gamma) = 0`` over the trees
    of order ``order`` (in :func:`analysis.rooted_trees.trees` order). ``rows is None`` means every
    tree's own condition (the identity)."""

    order: int
    rows: tuple[tuple[Fraction, ...], ...] | None = None

    @property
    def count(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        sl = tree_table(self.order).of_order(self.order)
        return sl.stop - sl.start

    def matrix(self) -> np.ndarray:
        tab = tree_table(self.order)
        sl = tab.of_order(self.order)
        if self.rows is None:
            return np.eye(sl.stop - sl.start)
        return np.array([[float(x) for x in r] for r in self.rows], dtype=np.float64).reshape(len(self.rows), sl.stop - sl.start)


@dataclass(frozen=True)
class ConditionSet:
    """A named system of order conditions, e.g. all trees up to order 4, or the
    conditions a method must meet to reach order p on one family of right-hand sides."""

    name: str
    blocks: tuple[ConditionBlock, ...]

    @property
    def max_order(self) -> int:
        return max((b.order for b in self.blocks), default=0)

    @property
    def count(self) -> int:
        return sum(b.count for b in self.blocks)

    def __add__(self, other: "ConditionSet") -> "ConditionSet":
        merged: dict[int, ConditionBlock] = {b.order: b for b in self.blocks}
        for blk in other.blocks:
            mine = merged.get(blk.order)
            if mine is None or blk.rows is None:
                merged[blk.order] = blk if mine is None or mine.rows is not None else mine
            elif mine.rows is not None:
                merged[blk.order] = ConditionBlock(blk.order, mine.rows + blk.rows)
        return ConditionSet(f"{self.name} + {other.name}", tuple(merged[k] for k in sorted(merged)))

    def dense_matrix(self) -> np.ndarray:
        """The conditions as one float matrix ``M`` acting on the residuals of all trees of
        orders 1..max_order (tree order of :func:`analysis.tree_table`): ``M r = 0``."""
        p = max(self.max_order, 1)
        tab = tree_table(p)
        M = np.zeros((self.count, tab.offsets[p + 1]))
        r0 = 0
        for blk in self.blocks:
            m = blk.matrix()
            M[r0:r0 + m.shape[0], tab.of_order(blk.order)] = m
            r0 += m.shape[0]
        return M

    def residuals(self, A: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Float64 residual vector of every condition for the tableau ``(A, b)``."""
        eng = _FloatWeights(A, [b])
        eng.extend(max(self.max_order, 1))
        tab = eng.table
        out = []
        for blk in self.blocks:
            r = eng.phi_of_order(0, blk.order) - 1.0 / tab.gamma_f[tab.of_order(blk.order)]
            out.append(r if blk.rows is None else blk.matrix() @ r)
        return np.concatenate(out) if out else np.zeros(0)

    def holds_exactly(self, tableau: ButcherTableau) -> bool:
        """Check every condition in exact arithmetic (needs exact coefficients)."""
        e = tableau.exact
        if e is None:
            raise AnalysisInputError(f"{tableau.label}: exact check needs exact coefficients")
        eng = _ExactWeights(e.A, [e.b])
        eng.extend(max(self.max_order, 1))
        K = eng.K
        for blk in self.blocks:
            res = eng.residuals_of_order(0, blk.order)
            if blk.rows is None:
                if any(r != eng.zero for r in res):
                    return False
                continue
            for row in blk.rows:
                acc = eng.zero
                for w, r in zip(row, res):
                    if w:
                        acc = acc + K.convert(sp.Rational(w.numerator, w.denominator)) * r
                if acc != eng.zero:
                    return False
        return True


def general_conditions(p: int) -> ConditionSet:
    """All order conditions of orders 1..p."""
    return ConditionSet(f"order {p}", tuple(ConditionBlock(n) for n in range(1, p + 1)))


def conditions_and_jacobian(
    A: np.ndarray, b: np.ndarray, conds: ConditionSet, a_mask: np.ndarray, jacobian: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Residuals ``F`` of ``conds`` and their Jacobian with respect to the free
    coefficients ``x = (A[a_mask], b)`` by forward-mode differentiation of the tree
    recursion (``None`` unless ``jacobian``). Works for float64 arrays and for object
    arrays of mpmath numbers."""
    s = A.shape[0]
    p = max(conds.max_order, 1)
    tab = tree_table(p)
    N = tab.offsets[p + 1]
    jk = np.argwhere(a_mask)  # free A entries (j, k), row-major
    nA = len(jk)
    P = (nA + s) if jacobian else 0
    dtype = A.dtype
    one = A.flat[0] * 0 + 1 if dtype == object else 1.0
    zero = one * 0
    U = np.empty((N, s), dtype=dtype)
    V = np.empty((N, s), dtype=dtype)
    dU = np.empty((N, s, P), dtype=dtype)
    dV = np.empty((N, s, P), dtype=dtype)
    AT = A.T
    rows_j = jk[:, 0] if nA else np.zeros(0, dtype=int)
    cols_k = jk[:, 1] if nA else np.zeros(0, dtype=int)
    qidx = np.arange(nA)
    for n in range(1, p + 1):
        sl = tab.of_order(n)
        if n == 1:
            U[sl] = one
            dU[sl] = zero
        else:
            l, r = tab.left[sl], tab.right[sl]
            U[sl] = U[l] * V[r]
            if P:
                dU[sl] = dU[l] * V[r][:, :, None] + U[l][:, :, None] * dV[r]
        V[sl] = U[sl] @ AT
        if not P:
            continue
        dV[sl] = np.matmul(A, dU[sl])
        if nA:
            # d(A u)_j / d a_jk = u_k
            dV[sl, rows_j, qidx] = dV[sl, rows_j, qidx] + U[sl][:, cols_k]
    phi = U @ b
    if P:
        dphi = np.matmul(np.swapaxes(dU, 1, 2), b)
        dphi[:, nA:] = dphi[:, nA:] + U
    F_parts, J_parts = [], []
    for blk in conds.blocks:
        sl = tab.of_order(blk.order)
        g = np.array([one / gm for gm in tab.gamma[sl]], dtype=dtype) if dtype == object else 1.0 / tab.gamma_f[sl]
        r = phi[sl] - g
        if blk.rows is not None:
            M = blk.matrix() if dtype != object else np.array([[one * x.numerator / x.denominator for x in row] for row in blk.rows], dtype=object)
            r = M @ r
        F_parts.append(r)
        if P:
            J_parts.append(dphi[sl] if blk.rows is None else M @ dphi[sl])
    F = np.concatenate(F_parts)
    return F, (np.concatenate(J_parts, axis=0) if P else None)
