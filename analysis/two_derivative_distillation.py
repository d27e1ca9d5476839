"""Distillation of a learned two-derivative tableau onto a nearby exact method.

The same three steps as :mod:`analysis.distillation` does for ordinary tableaux, on the
free coefficients ``x = (A[free], b[free], A2[free], b2[free])`` of the method's stage
pattern (:func:`analysis.two_derivative_methods.pattern_masks`; structural zeros stay zero):

1. **polish**: minimum-norm Gauss-Newton onto the conditions ``M (Phi - 1/gamma) = 0`` of a
   :class:`~analysis.order.ConditionSet` (all trees up to order p, or a family's
   personalised conditions), with the residuals and their Jacobian from a forward-mode
   differentiation of the two-derivative tree recursion, first in float64, then refined in
   mpmath (:func:`analysis.distillation._refine_mp`);
2. **rationalise** the polished coefficients (continued fractions, then surds);
3. **snap and complete** on a manifold of dimension d > 0: fix d well-conditioned nodes,
   weights or entries to nearby simple fractions, solve for the rest, rationalise.

Every result is verified in exact arithmetic before it is returned. Reuses the
Gauss-Newton, refinement and snapping helpers of :mod:`analysis.distillation` unchanged.
Imports numpy, mpmath, sympy and those analysis modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import mpmath
import numpy as np
import sympy as sp

from .distillation import _cheapest_combinations, _gauss_newton, _nice_fractions, _parametrisations, _refine_mp
from .order import ConditionSet
from .rationals import DEFAULT_MAX_DENOMINATOR, rationalize_value
from .rooted_trees import tree_table
from .two_derivative import TwoDerivativeTableau, two_derivative_residuals
from .two_derivative_methods import pattern_masks, pattern_of

__all__ = ["TwoDerivativeDistillation", "distill_two_derivative", "two_derivative_conditions_hold", "conditions_and_jacobian_2d"]

_DPS = 50
_KEYS = ("A", "b", "A2", "b2")


def conditions_and_jacobian_2d(A: np.ndarray, b: np.ndarray, A2: np.ndarray, b2: np.ndarray, conds: ConditionSet,
                               masks: dict[str, np.ndarray], jacobian: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Residuals ``F`` of ``conds`` for a two-derivative tableau and their Jacobian with
    respect to the free coefficients (layout of :func:`_pack`), for float64 arrays or object
    arrays of mpmath numbers (``jacobian=False`` skips the Jacobian)."""
    s = A.shape[0]
    p = max(conds.max_order, 1)
    tab = tree_table(p)
    N = tab.offsets[p + 1]
    dtype = A.dtype
    one = A.flat[0] * 0 + 1 if dtype == object else 1.0
    zero = one * 0
    idx = {k: np.argwhere(masks[k]) if masks[k].ndim == 2 else np.nonzero(masks[k])[0] for k in _KEYS}
    sizes = [len(idx[k]) for k in _KEYS]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    Pn = int(start[-1]) if jacobian else 0
    D = np.empty((N, s), dtype=dtype)
    E = np.empty((N, s), dtype=dtype)
    Pm = np.empty((N, s), dtype=dtype)
    dD = np.empty((N, s, Pn), dtype=dtype)
    dE = np.empty((N, s, Pn), dtype=dtype)
    dP = np.empty((N, s, Pn), dtype=dtype)
    for n in range(1, p + 1):
        sl = tab.of_order(n)
        if n == 1:
            D[sl], E[sl] = one, zero
            if Pn:
                dD[sl], dE[sl] = zero, zero
        else:
            lft, rgt = tab.left[sl], tab.right[sl]
            D[sl] = D[lft] * Pm[rgt]
            E[sl] = E[lft] * Pm[rgt] + D[lft] * D[rgt]
            if Pn:
                dD[sl] = dD[lft] * Pm[rgt][:, :, None] + D[lft][:, :, None] * dP[rgt]
                dE[sl] = (dE[lft] * Pm[rgt][:, :, None] + E[lft][:, :, None] * dP[rgt]
                          + dD[lft] * D[rgt][:, :, None] + D[lft][:, :, None] * dD[rgt])
        Pm[sl] = D[sl] @ A.T + E[sl] @ A2.T
        if not Pn:
            continue
        dP[sl] = np.matmul(A, dD[sl]) + np.matmul(A2, dE[sl])
        for key, vec in (("A", D), ("A2", E)):
            ij = idx[key]
            if len(ij):
                q = start[_KEYS.index(key)] + np.arange(len(ij))
                dP[sl, ij[:, 0], q] = dP[sl, ij[:, 0], q] + vec[sl][:, ij[:, 1]]
    phi = D @ b + E @ b2
    dphi = None
    if Pn:
        dphi = np.matmul(np.swapaxes(dD, 1, 2), b) + np.matmul(np.swapaxes(dE, 1, 2), b2)
        for key, vec in (("b", D), ("b2", E)):
            j = idx[key]
            if len(j):
                q = start[_KEYS.index(key)] + np.arange(len(j))
                dphi[:, q] = dphi[:, q] + vec[:, j]
    F_parts, J_parts = [], []
    for blk in conds.blocks:
        sl = tab.of_order(blk.order)
        g = np.array([one / gm for gm in tab.gamma[sl]], dtype=dtype) if dtype == object else 1.0 / tab.gamma_f[sl]
        r = phi[sl] - g
        M = None
        if blk.rows is not None:
            M = blk.matrix() if dtype != object else np.array([[one * x.numerator / x.denominator for x in row] for row in blk.rows], dtype=object)
            r = M @ r
        F_parts.append(r)
        if Pn:
            J_parts.append(dphi[sl] if M is None else M @ dphi[sl])
    F = np.concatenate(F_parts)
    return F, (np.concatenate(J_parts, axis=0) if Pn else None)


def _pack(t: TwoDerivativeTableau, masks: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([getattr(t, k)[masks[k]] for k in _KEYS])


def _unpack(x: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    pos = 0
    for k in _KEYS:
        m = masks[k]
        arr = np.full(m.shape, mpmath.mpf(0), dtype=object) if x.dtype == object else np.zeros(m.shape)
        n = int(m.sum())
        arr[m] = x[pos:pos + n]
        pos += n
        out[k] = arr
    return out


class _System:
    """The conditions ``F(x) = 0`` (plus optional linear constraints ``L x = q``) in the
    interface :func:`analysis.distillation._gauss_newton` and ``_refine_mp`` call."""

    def __init__(self, masks: dict[str, np.ndarray], conds: ConditionSet, L: np.ndarray | None = None, q: Sequence[Fraction] = ()) -> None:
        self.masks, self.conds, self.L, self.q = masks, conds, L, list(q)

    def float(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = _unpack(x, self.masks)
        F, J = conditions_and_jacobian_2d(a["A"], a["b"], a["A2"], a["b2"], self.conds, self.masks)
        if self.L is not None:
            F = np.concatenate([F, self.L @ x - np.array([float(v) for v in self.q])])
            J = np.vstack([J, self.L])
        return F, J

    def mp(self, x: np.ndarray) -> np.ndarray:
        a = _unpack(x, self.masks)
        F, _ = conditions_and_jacobian_2d(a["A"], a["b"], a["A2"], a["b2"], self.conds, self.masks, jacobian=False)
        if self.L is not None:
            extra = [sum((mpmath.mpf(float(c)) * xi for c, xi in zip(row, x) if c), mpmath.mpf(0)) - mpmath.mpf(v.numerator) / v.denominator
                     for row, v in zip(self.L, self.q)]
            F = np.concatenate([F, np.array(extra, dtype=object)])
        return F


def two_derivative_conditions_hold(t: TwoDerivativeTableau, conds: ConditionSet) -> bool:
    """Every condition of ``conds`` in exact arithmetic (needs an exact tableau)."""
    if t.exact is None:
        return False
    p = max(conds.max_order, 1)
    res = two_derivative_residuals(t, p, exact=True)
    tab = tree_table(p)
    for blk in conds.blocks:
        r = res[tab.offsets[blk.order]:tab.offsets[blk.order + 1]]
        if blk.rows is None:
            if any(sp.simplify(v) != 0 for v in r):
                return False
            continue
        for row in blk.rows:
            acc = sum((sp.Rational(w.numerator, w.denominator) * v for w, v in zip(row, r) if w), sp.Integer(0))
            if sp.simplify(acc) != 0:
                return False
    return True


def _rationalise(x: np.ndarray, masks: dict[str, np.ndarray], name: str | None, tol: float, surds: bool) -> TwoDerivativeTableau | None:
    vals = []
    for v in x:
        r = rationalize_value(v, tol=tol, max_denominator=DEFAULT_MAX_DENOMINATOR, surds=surds)
        if r is None:
            return None
        vals.append(r)
    parts: dict[str, Any] = {}
    pos = 0
    for k in _KEYS:
        m = masks[k]
        arr = np.full(m.shape, sp.Integer(0), dtype=object)
        for where in zip(*np.nonzero(m)):
            arr[where] = vals[pos]
            pos += 1
        parts[k] = arr.tolist()
    return TwoDerivativeTableau(parts["A"], parts["b"], parts["A2"], parts["b2"], name=name)


def _moved(exact: TwoDerivativeTableau, learned: TwoDerivativeTableau) -> float:
    """Largest change of any entry of A, b, c, A2 or b2."""
    return float(max(np.max(np.abs(getattr(exact, k) - getattr(learned, k))) for k in (*_KEYS, "c")))


@dataclass(frozen=True)
class TwoDerivativeDistillation:
    """Outcome of :func:`distill_two_derivative`: the verified exact tableau (or None), the
    condition set it meets, the largest change of an entry, one log line per attempt."""

    exact: TwoDerivativeTableau | None
    target: str | None
    distance: float | None
    log: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"rational": None if self.exact is None else self.exact.to_dict(), "target": self.target, "distance": self.distance,
                "log": list(self.log)}


def _pool(masks: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """Linear functionals of x that parametrise families: nodes c_i, \\hat c_i (row sums),
    weights b_i, \\hat b_i, then single entries."""
    sizes = [int(masks[k].sum()) for k in _KEYS]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    P = int(start[-1])
    s = masks["b"].shape[0]
    pos = {}
    for k in _KEYS:
        m = masks[k]
        arr = -np.ones(m.shape, dtype=int)
        arr[m] = start[_KEYS.index(k)] + np.arange(int(m.sum()))
        pos[k] = arr
    pool = []
    for key, label in (("A", "c"), ("A2", "chat")):
        for i in range(s):
            idx = pos[key][i][pos[key][i] >= 0]
            if idx.size:
                row = np.zeros(P)
                row[idx] = 1.0
                pool.append((f"{label}{i + 1}", row))
    for key, label in (("b", "b"), ("b2", "bhat")):
        for i in range(s):
            if pos[key][i] >= 0:
                row = np.zeros(P)
                row[pos[key][i]] = 1.0
                pool.append((f"{label}{i + 1}", row))
    for key, label in (("A", "a"), ("A2", "ahat")):
        for i, j in zip(*np.nonzero(masks[key])):
            row = np.zeros(P)
            row[pos[key][i, j]] = 1.0
            pool.append((f"{label}{i + 1}{j + 1}", row))
    return pool


def distill_two_derivative(t: TwoDerivativeTableau, targets: Sequence[ConditionSet], *, pattern: Sequence[str] | None = None,
                           radius: float = 0.3, max_denominator: int = 12, max_candidates: int = 100,
                           dps: int = _DPS) -> TwoDerivativeDistillation:
    """An exact method near the learned float tableau ``t`` meeting the first of ``targets``
    (most ambitious first) that yields one; ``pattern`` (default: the nonzeros of ``t``)
    decides which coefficients may move. ``radius`` bounds the change of any coefficient
    relative to ``max(1, |x|)``."""
    log: list[str] = []
    masks = pattern_masks(tuple(pattern) if pattern is not None else pattern_of(t), explicit=t.is_explicit)
    x0 = _pack(t, masks)
    scale = np.maximum(1.0, np.abs(x0))
    tol = 10.0 ** (-(dps // 2))
    for conds in targets:
        F0, _ = conditions_and_jacobian_2d(t.A, t.b, t.A2, t.b2, conds, masks, jacobian=False)
        if F0.size and float(np.max(np.abs(F0))) > 1.0:
            log.append(f"{conds.name}: skipped, residual {np.max(np.abs(F0)):.2g} at the learned point")
            continue
        system = _System(masks, conds)
        x, res = _gauss_newton(x0, system)
        if not res < 1e-11:
            log.append(f"{conds.name}: Gauss-Newton did not converge")
            continue
        if np.any(np.abs(x - x0) > radius * scale):
            log.append(f"{conds.name}: nearest solution too far ({np.max(np.abs(x - x0)):.3g})")
            continue
        xm, res_mp = _refine_mp(x, system, dps=dps)
        if not res_mp < tol:
            log.append(f"{conds.name}: high-precision refinement did not converge")
            continue
        exact = _rationalise(xm, masks, t.name, tol, surds=True)
        if exact is not None and two_derivative_conditions_hold(exact, conds):
            dist = _moved(exact, t)
            log.append(f"{conds.name}: polished point is exact (moved {dist:.3g})")
            return TwoDerivativeDistillation(exact, conds.name, dist, tuple(log))
        _, J = system.float(x)
        sv = np.linalg.svd(J, compute_uv=False) if J.size else np.zeros(0)
        d = len(x) - int(np.sum(sv > 1e-9 * max(1.0, sv[0] if sv.size else 1.0)))
        found = _snap_and_complete(t, masks, conds, x, x0, d, radius, max_denominator, max_candidates, dps, log)
        if found is not None:
            return TwoDerivativeDistillation(found, conds.name, _moved(found, t), tuple(log))
    return TwoDerivativeDistillation(None, None, None, tuple(log))


def _snap_and_complete(t: TwoDerivativeTableau, masks: dict[str, np.ndarray], conds: ConditionSet, xp: np.ndarray, x0: np.ndarray,
                       d: int, radius: float, max_den: int, max_candidates: int, dps: int, log: list[str],
                       keep: int = 3) -> TwoDerivativeTableau | None:
    """Fix ``d`` functionals to nearby simple fractions, solve for the rest, rationalise and
    verify exactly; of the first ``keep`` exact methods the one closest to ``t`` wins."""
    if d <= 0:
        log.append(f"{conds.name}: isolated solution is not a short exact number")
        return None
    pool = _pool(masks)
    P = len(xp)
    scale = np.maximum(1.0, np.abs(x0))
    tried = 0
    found: list[tuple[float, int, TwoDerivativeTableau, str]] = []
    _, J = _System(masks, conds).float(xp)
    for sel in _parametrisations(J, pool, d, limit=4):
        L = np.vstack([pool[k][1] for k in sel])
        values = L @ xp
        options = [_nice_fractions(v, radius, max_den) for v in values]
        if any(not o for o in options):
            continue
        costs = [[abs(float(f) - v) for f in opts] for opts, v in zip(options, values)]
        for pick in _cheapest_combinations(costs, max(1, max_candidates // 4)):
            if tried >= max_candidates or len(found) >= keep:
                break
            tried += 1
            vals = tuple(options[k][i] for k, i in enumerate(pick))
            system = _System(masks, conds, L, vals)
            x, res = _gauss_newton(xp, system, iters=40)
            if not res < 1e-11 or np.any(np.abs(x - x0) > radius * scale):
                continue
            _, Ja = system.float(x)
            if np.linalg.matrix_rank(Ja, tol=1e-9 * max(1.0, np.abs(Ja).max())) < P:
                continue
            xm, res_mp = _refine_mp(x, system, dps=dps)
            if not res_mp < 10.0 ** (-(dps // 2)):
                continue
            exact = _rationalise(xm, masks, t.name, 10.0 ** (-(dps // 2)), surds=False)
            if exact is None or not two_derivative_conditions_hold(exact, conds):
                continue
            moved = float(np.max(np.abs(_pack(exact, masks) - x0) / scale))
            if moved > radius:
                continue
            size = sum(len(str(v)) for k in _KEYS for v in np.ravel(np.array(exact.to_dict()[k], dtype=object)))
            found.append((moved, size, exact, ", ".join(f"{pool[k][0]} = {f}" for k, f in zip(sel, vals))))
    if not found:
        log.append(f"{conds.name}: {d}-parameter family; no exact member within reach ({tried} candidates)")
        return None
    _, _, exact, names = min(found, key=lambda f: (round(f[0], 6), f[1]))
    log.append(f"{conds.name}: {d}-parameter family; fixed {names} and solved exactly (closest of {len(found)} exact members, {tried} candidates)")
    return exact
