"""Family-specific ("personalised") order conditions.

For an autonomous family ``y' = g(y; p)`` the local error of a Runge-Kutta step is::

    sum_n h^n sum_{|t| = n} (Phi(t) - 1/gamma(t)) / sigma(t) * F(t)(y)

with elementary differentials ``F(tau) = g``, ``F([t1..tm]) = g^(m)(F(t1), ..., F(tm))``.
The method has *personalised order* p on the family when, for every n <= p, that sum
vanishes identically in ``y`` and the parameters ``p``. Where the ``F(t)`` are linearly
dependent (for ``y' = -a y^2`` the two trees of order 3 have proportional ``F``), fewer
conditions remain and a method can exceed its general order on the family.

The conditions of order n are the row space of ``E diag(1/sigma)``, where ``E`` evaluates
the ``F(t)`` (all components) at random rational points. For polynomial and rational
right-hand sides everything is exact (rational arithmetic, exact row reduction).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from .errors import AnalysisInputError
from .odefamily import OdeFamilySpec
from .order import ConditionBlock, ConditionSet, _ExactWeights, _FloatWeights
from .tableau import ButcherTableau
from .rooted_trees import RootedTree, tree_table

__all__ = ["personalised_conditions", "personalised_order", "PersonalisedOrder"]


# ------------------------------------------------------------------ differentials
def _derivative_tensors(spec: OdeFamilySpec, max_m: int) -> list[sp.Array]:
    """``D[m][i, j1..jm] = d^m g_i / dy_j1 .. dy_jm`` symbolically, m = 0..max_m."""
    g = sp.Array(list(spec.rhs))
    ys = list(spec.state)
    out = [g]
    cur = g
    for _ in range(max_m):
        cur = sp.derive_by_array(cur, ys)  # new axis first: (j, i, ...)
        out.append(cur)
    return out


def _tensor_at(T: sp.Array, subs: dict[sp.Symbol, Any], exact: bool) -> np.ndarray:
    flat = []
    for v in T.reshape(len(T)) if T.rank() > 0 else [T]:
        e = v.xreplace(subs) if exact else v.evalf(40, subs=subs)
        if exact:
            e = sp.nsimplify(e) if not e.is_Rational else e
            if not e.is_Rational:
                raise ValueError("not rational")
            flat.append(Fraction(int(e.p), int(e.q)))
        else:
            flat.append(float(e))
    arr = np.array(flat, dtype=object if exact else np.float64)
    return arr.reshape(T.shape) if T.rank() > 0 else arr


def _differentials_at(spec: OdeFamilySpec, tensors: list[sp.Array], point: dict[sp.Symbol, Any], trees: Sequence[RootedTree], exact: bool) -> np.ndarray:
    """Matrix (d, len(trees)) of elementary differentials at one point."""
    d = spec.dimension
    evald: dict[int, np.ndarray] = {}

    def D(m: int) -> np.ndarray:
        if m not in evald:
            T = _tensor_at(tensors[m], point, exact)
            # derive_by_array puts derivative axes first: (j_m, ..., j_1, i) -> move i to front
            evald[m] = np.moveaxis(T, -1, 0) if m > 0 else T
        return evald[m]

    memo: dict[RootedTree, np.ndarray] = {}

    def F(t: RootedTree) -> np.ndarray:
        if t in memo:
            return memo[t]
        kids = t.children
        val = D(len(kids))
        for ch in kids:
            # contract the last derivative axis with F(child)
            val = np.tensordot(val, F(ch), axes=([val.ndim - 1], [0])) if val.ndim > 1 else val
        memo[t] = val
        return val

    cols = [F(t) for t in trees]
    return np.stack(cols, axis=1) if cols else np.zeros((d, 0))


def _sample_points(spec: OdeFamilySpec, count: int, seed: int, exact: bool) -> list[dict[sp.Symbol, Any]]:
    rng = random.Random(seed)
    syms = list(spec.state) + list(spec.params)
    ranges = list(spec.state_ranges or [(-2.0, 2.0)] * len(spec.state)) + list(spec.param_ranges or [(0.5, 2.0)] * len(spec.params))
    pts = []
    for _ in range(count):
        pt = {}
        for s_, (lo, hi) in zip(syms, ranges):
            den = rng.choice([7, 11, 13, 17, 19, 23, 29, 31, 37])
            lo_n, hi_n = int(np.ceil(lo * den)), int(np.floor(hi * den))
            num = rng.randint(min(lo_n, hi_n), max(lo_n, hi_n))
            pt[s_] = sp.Rational(num, den) if exact else float(num) / den
        pts.append(pt)
    return pts


@lru_cache(maxsize=64)
def _personalised_block(spec: OdeFamilySpec, n: int) -> ConditionBlock:
    tab = tree_table(n)
    sl = tab.of_order(n)
    ts = tab.trees[sl]
    sig = tab.sigma[sl]
    T_n = len(ts)
    tensors = _derivative_tensors(spec, n - 1)
    exact = spec.is_rational
    count = T_n + 4
    rows: list[list[Any]] = []
    for pt in _sample_points(spec, count, seed=1000 + n, exact=exact):
        try:
            E = _differentials_at(spec, tensors, pt, ts, exact)
        except (ValueError, ZeroDivisionError):
            continue  # a pole of a rational rhs: skip this point
        for comp in E:
            rows.append([comp[k] / sig[k] if exact else comp[k] / sig[k] for k in range(T_n)])
    if exact:
        dm = DomainMatrix([[sp.QQ(x.numerator, x.denominator) for x in r] for r in rows], (len(rows), T_n), sp.QQ)
        rref, pivots = dm.rref()
        basis = []
        dense = rref.to_Matrix()
        for i in range(len(pivots)):
            basis.append(tuple(Fraction(int(sp.Rational(v).p), int(sp.Rational(v).q)) for v in dense.row(i)))
        return ConditionBlock(n, tuple(basis))
    M = np.array(rows, dtype=np.float64)
    M /= np.maximum(1e-300, np.abs(M).max(axis=1, keepdims=True))
    _, S, Vt = np.linalg.svd(M, full_matrices=False)
    r = int(np.sum(S > 1e-10 * S[0])) if S.size else 0
    basis_f = Vt[:r]
    return ConditionBlock(n, tuple(tuple(Fraction(float(v)).limit_denominator(10**12) for v in row) for row in basis_f))


def personalised_conditions(spec: OdeFamilySpec, p: int) -> ConditionSet:
    """The conditions for personalised order ``p`` on ``spec`` (orders 1..p)."""
    if p < 1:
        raise AnalysisInputError(f"order must be >= 1, got {p}")
    return ConditionSet(f"order {p} on {spec.name}", tuple(_personalised_block(spec, n) for n in range(1, p + 1)))


@dataclass(frozen=True)
class PersonalisedOrder:
    """Personalised order of a method on a family, with the number of independent
    conditions per order (compare with the number of trees) and the max residual."""

    order: int
    family: str
    conditions_per_order: dict[int, int]
    trees_per_order: dict[int, int]
    max_residuals: dict[int, float]
    exact: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "family": self.family,
            "arithmetic": "exact" if self.exact else "float64",
            "conditions_per_order": {str(k): v for k, v in self.conditions_per_order.items()},
            "trees_per_order": {str(k): v for k, v in self.trees_per_order.items()},
            "residuals": {str(k): v for k, v in self.max_residuals.items()},
        }


def personalised_order(
    tableau: ButcherTableau, spec: OdeFamilySpec, *, max_order: int = 8, tol: float | None = None, exact: bool | None = None
) -> PersonalisedOrder:
    """Largest p such that the method meets the personalised conditions of ``spec`` up to
    order p (exactly for exact tableaux, within ``tol`` (default 1e-10) otherwise)."""
    use_exact = tableau.is_exact if exact is None else exact
    tab = tree_table(max_order)
    conds_n: dict[int, int] = {}
    trees_n: dict[int, int] = {}
    res_n: dict[int, float] = {}
    order = 0
    if use_exact:
        e = tableau.exact
        assert e is not None
        eng: Any = _ExactWeights(e.A, [e.b])
    else:
        eng = _FloatWeights(tableau.A, [tableau.b])
    t = 1e-10 if tol is None else tol
    for n in range(1, max_order + 1):
        blk = _personalised_block(spec, n)
        eng.extend(n)
        trees_n[n] = tab.offsets[n + 1] - tab.offsets[n]
        conds_n[n] = blk.count
        if use_exact:
            single = ConditionSet("", (blk,))
            ok = single.holds_exactly(tableau) if n > 0 else True
            res = eng.residuals_of_order(0, n)
            rf = np.array([eng.to_float(r) for r in res])
        else:
            rf = eng.phi_of_order(0, n) - 1.0 / tab.gamma_f[tab.of_order(n)]
        vals = blk.matrix() @ rf if blk.count else np.zeros(0)
        res_n[n] = float(np.max(np.abs(vals))) if vals.size else 0.0
        if not use_exact:
            ok = res_n[n] <= t
        if not ok:
            break
        order = n
    return PersonalisedOrder(order, spec.name, conds_n, trees_n, res_n, use_exact)
