"""Distillation: from a learned (noisy float) tableau to a nearby exact method.

1. **Polish**: project the free coefficients ``x = (A[free], b)`` onto the manifold of a
   condition set ``F(x) = 0`` (all trees up to order p, or the conditions of a family of
   right-hand sides) by minimum-norm Gauss-Newton, first in float64, then refined in
   mpmath at ``dps`` digits with the float pseudo-inverse (each step gains ~13 digits).
2. **Rationalise** the polished coefficients (continued fractions, then surds). This
   succeeds when the manifold is a point (e.g. the 2-stage method of order 3 on y' = -a y^2).
3. **Snap and complete** when the manifold has dimension d > 0 (e.g. the 2-parameter family
   of 4-stage order-4 methods): choose d well-conditioned free coordinates (QR with column
   pivoting on the Jacobian), snap them to nearby fractions with small denominators, solve
   the conditions for the others in high precision, rationalise, and keep the first candidate
   whose conditions hold in exact arithmetic.

Every result is verified exactly before it is returned.

The search is bounded: :func:`distill` takes a wall-clock budget (``budget_s``) and a bound
on the dimension of the family it tries to snap (:data:`MAX_SNAP_DIMENSION`); when either is
reached it stops and says so in its log ("gave up after N s").
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import mpmath
import numpy as np

from .arithmetic import Deadline, OverBudget, time_limit
from .order import ConditionSet, conditions_and_jacobian, general_conditions
from .rationals import DEFAULT_MAX_DENOMINATOR, rationalize
from .tableau import ButcherTableau

__all__ = ["free_mask", "PolishResult", "polish", "Distillation", "distill", "default_targets", "DEFAULT_BUDGET_S",
           "MAX_SNAP_DIMENSION"]

_DPS = 50
#: Default wall-clock budget of :func:`distill` in seconds.
DEFAULT_BUDGET_S = 10.0
#: Families with more free parameters than this are not snapped (nothing short to find).
MAX_SNAP_DIMENSION = 24


class _OutOfTime(Exception):
    pass


def free_mask(tableau: ButcherTableau) -> np.ndarray:
    """Which entries of A a designer may change: strictly lower (explicit), lower
    (diagonally implicit) or all (fully implicit)."""
    s = tableau.stages
    if tableau.is_explicit:
        return np.tril(np.ones((s, s), dtype=bool), -1)
    if tableau.is_diagonally_implicit:
        return np.tril(np.ones((s, s), dtype=bool))
    return np.ones((s, s), dtype=bool)


def _split(x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = mask.shape[0]
    nA = int(mask.sum())
    if x.dtype == object:
        A = np.full((s, s), mpmath.mpf(0), dtype=object)
    else:
        A = np.zeros((s, s))
    A[mask] = x[:nA]
    return A, x[nA:]


class _System:
    """Order conditions ``F(x) = 0`` plus optional linear constraints ``L x = q``."""

    def __init__(self, mask: np.ndarray, conds: ConditionSet, L: np.ndarray | None = None, q: Sequence[Fraction] = ()) -> None:
        self.mask, self.conds = mask, conds
        self.L = L
        self.q = list(q)

    def float(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        A, b = _split(x, self.mask)
        F, J = conditions_and_jacobian(A, b, self.conds, self.mask)
        if self.L is not None:
            F = np.concatenate([F, self.L @ x - np.array([float(v) for v in self.q])])
            J = np.vstack([J, self.L])
        return F, J

    def mp(self, x: np.ndarray) -> np.ndarray:
        A, b = _split(x, self.mask)
        F, _ = conditions_and_jacobian(A, b, self.conds, self.mask, jacobian=False)
        if self.L is not None:
            extra = [sum((mpmath.mpf(float(c)) * xi for c, xi in zip(row, x) if c), mpmath.mpf(0)) - mpmath.mpf(v.numerator) / v.denominator
                     for row, v in zip(self.L, self.q)]
            F = np.concatenate([F, np.array(extra, dtype=object)])
        return F


def _gauss_newton(x0: np.ndarray, system: _System, iters: int = 60) -> tuple[np.ndarray, float]:
    """Minimum-norm Gauss-Newton in float64; returns the point and max |F| there."""
    x = x0.astype(np.float64).copy()
    last = math.inf
    nF = math.inf
    for _ in range(iters):
        F, J = system.float(x)
        nF = float(np.max(np.abs(F))) if F.size else 0.0
        if not np.isfinite(nF):
            return x, math.inf
        if nF < 1e-15 or (nF >= 0.5 * last and nF < 1e-12):
            return x, nF
        last = nF
        x -= np.linalg.lstsq(J, F, rcond=1e-12)[0]
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e6:
            return x, math.inf
    return x, nF


def _refine_mp(x: np.ndarray, system: _System, dps: int = _DPS) -> tuple[np.ndarray, float]:
    """Newton refinement in mpmath with the float pseudo-inverse held fixed (each step
    gains about as many digits as the float solve had)."""
    with mpmath.workdps(dps):
        xm = np.array([mpmath.mpf(float(v)) for v in x], dtype=object)
        _, J = system.float(x.astype(np.float64))
        pinv = np.linalg.pinv(J, rcond=1e-12)
        target = mpmath.mpf(10) ** (-(dps - 8))
        res = mpmath.inf
        for _ in range(dps // 5 + 4):
            F = system.mp(xm)
            res = max((abs(v) for v in F), default=mpmath.mpf(0))
            if res < target:
                break
            xm = xm - pinv @ F
        return xm, float(res)


@dataclass(frozen=True)
class PolishResult:
    """Coefficients projected onto ``conditions``; ``x`` holds mpmath numbers."""

    conditions: ConditionSet
    x: tuple[Any, ...]
    mask: np.ndarray
    residual: float
    distance: float
    rank: int

    @property
    def dimension(self) -> int:
        """Dimension of the solution manifold near the point (free parameters left)."""
        return len(self.x) - self.rank

    def A_b(self) -> tuple[list[list[Any]], list[Any]]:
        A, b = _split(np.array(self.x, dtype=object), self.mask)
        return A.tolist(), b.tolist()

    def tableau(self, name: str | None = None) -> ButcherTableau:
        A, b = self.A_b()
        return ButcherTableau(A=[[float(v) for v in r] for r in A], b=[float(v) for v in b], name=name)


def polish(tableau: ButcherTableau, conditions: ConditionSet, *, dps: int = _DPS) -> PolishResult | None:
    """Project ``tableau`` onto ``conditions``; None when Gauss-Newton does not converge."""
    mask = free_mask(tableau)
    x0 = np.concatenate([tableau.A[mask], tableau.b])
    system = _System(mask, conditions)
    x, res = _gauss_newton(x0, system)
    if not res < 1e-11:
        return None
    xm, res_mp = _refine_mp(x, system, dps=dps)
    if not res_mp < 10.0 ** (-(dps // 2)):
        return None
    _, J = system.float(x)
    sv = np.linalg.svd(J, compute_uv=False) if J.size else np.zeros(0)
    rank = int(np.sum(sv > 1e-9 * max(1.0, sv[0] if sv.size else 1.0)))
    dist = float(np.max(np.abs(x - x0))) if x0.size else 0.0
    return PolishResult(conditions, tuple(xm), mask, res_mp, dist, rank)


@dataclass(frozen=True)
class Distillation:
    """Outcome of :func:`distill`.

    ``exact`` is the verified exact tableau (None when nothing was found), ``target`` the
    name of the condition set it satisfies, ``distance`` the largest change of an entry of
    A, b or c relative to the learned tableau, ``log`` one line per attempt.
    """

    exact: ButcherTableau | None
    target: str | None
    distance: float | None
    polished: ButcherTableau | None
    log: tuple[str, ...] = field(default_factory=tuple)
    gave_up: bool = False
    elapsed_s: float = 0.0
    budget_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rational": None if self.exact is None else self.exact.to_dict(),
            "target": self.target,
            "distance": self.distance,
            "log": list(self.log),
            "gave_up": self.gave_up,
            "elapsed_s": round(self.elapsed_s, 3),
            "budget_s": self.budget_s,
        }


def default_targets(tableau: ButcherTableau) -> list[ConditionSet]:
    """General-order condition sets from the highest plausible order down to 1."""
    s = tableau.stages
    top = s if tableau.is_explicit else 2 * s
    top = min(top, 8)
    return [general_conditions(p) for p in range(top, 0, -1)]


def distill(
    tableau: ButcherTableau,
    targets: Sequence[ConditionSet] | None = None,
    *,
    radius: float = 0.3,
    max_denominator: int = 12,
    max_candidates: int = 100,
    dps: int = _DPS,
    budget_s: float | None = DEFAULT_BUDGET_S,
) -> Distillation:
    """Find an exact method near a learned float ``tableau``.

    Parameters
    ----------
    targets : condition sets to aim for, most ambitious first (default
        :func:`default_targets`). The first one that yields an exact method wins.
    radius : largest allowed change of any coefficient, relative to ``max(1, |x|)``.
    max_denominator : largest denominator of the values free parameters are snapped to
        (nearest values first).
    max_candidates : snapping candidates tried per target.
    budget_s : wall-clock seconds the whole search may take (None: no limit); when it is
        spent the search stops, ``gave_up`` is set and the log says so.
    """
    log: list[str] = []
    deadline = Deadline(budget_s if budget_s is not None else math.inf)
    targets = list(default_targets(tableau) if targets is None else targets)
    mask = free_mask(tableau)
    x0 = np.concatenate([tableau.A[mask], tableau.b])
    scale = np.maximum(1.0, np.abs(x0))

    def done(exact: ButcherTableau | None, target: str | None, dist: float | None, pol: ButcherTableau | None, gave_up: bool = False) -> Distillation:
        return Distillation(exact, target, dist, pol, tuple(log), gave_up, deadline.elapsed(), budget_s)

    token = None
    try:
        with time_limit(budget_s if budget_s is not None else math.inf) as token:
            return _search(tableau, targets, mask, x0, scale, radius, max_denominator, max_candidates, dps, log, deadline, done)
    except (_OutOfTime, OverBudget) as exc:
        if isinstance(exc, OverBudget) and exc.token is not token:
            raise
        log.append(f"gave up after {deadline.elapsed():.1f} s (budget {budget_s:g} s); no exact method found")
        return done(None, None, None, None, gave_up=True)


def _search(tableau, targets, mask, x0, scale, radius, max_denominator, max_candidates, dps, log, deadline, done) -> Distillation:  # noqa: ANN001
    """The body of :func:`distill` (raises :class:`_OutOfTime` when the deadline passes)."""
    for conds in targets:
        if deadline.expired():
            raise _OutOfTime
        F0 = conds.residuals(tableau.A, tableau.b)
        if F0.size and float(np.max(np.abs(F0))) > 1.0:
            log.append(f"{conds.name}: skipped, residual {np.max(np.abs(F0)):.2g} at the learned point")
            continue
        pol = polish(tableau, conds, dps=dps)
        if pol is None:
            log.append(f"{conds.name}: Gauss-Newton did not converge")
            continue
        xp = np.array([float(v) for v in pol.x])
        if np.any(np.abs(xp - x0) > radius * scale):
            log.append(f"{conds.name}: nearest solution too far ({pol.distance:.3g})")
            continue
        A, b = pol.A_b()
        exact = rationalize(A=A, b=b, tol=10.0 ** (-(dps // 2)), max_denominator=DEFAULT_MAX_DENOMINATOR, explicit=tableau.is_explicit, name=tableau.name)
        if exact is not None and conds.holds_exactly(exact):
            dist = _moved(exact, tableau)
            log.append(f"{conds.name}: polished point is exact (moved {dist:.3g})")
            return done(exact, conds.name, dist, pol.tableau(tableau.name))
        if pol.dimension > MAX_SNAP_DIMENSION:
            log.append(f"{conds.name}: {pol.dimension}-parameter family; not snapped (more than {MAX_SNAP_DIMENSION} free parameters)")
            continue
        found = _snap_and_complete(tableau, pol, x0, radius, max_denominator, max_candidates, dps, log, deadline=deadline)
        if found is not None:
            dist = _moved(found, tableau)
            return done(found, conds.name, dist, pol.tableau(tableau.name))
    return done(None, None, None, None)


def _coeffs(t: ButcherTableau, mask: np.ndarray) -> np.ndarray:
    return np.concatenate([t.A[mask], t.b])


def _moved(exact: ButcherTableau, learned: ButcherTableau) -> float:
    """Largest change of any entry of A, b or c from the learned tableau."""
    return float(max(np.max(np.abs(exact.A - learned.A)), np.max(np.abs(exact.b - learned.b)), np.max(np.abs(exact.c - learned.c))))


def _nice_fractions(v: float, radius: float, max_den: int, limit: int = 5) -> list[Fraction]:
    """The ``limit`` fractions with denominator <= ``max_den`` nearest to ``v`` (within
    ``radius``), nearest first."""
    cands: dict[Fraction, float] = {}
    for q in range(1, max_den + 1):
        for num in (math.floor(v * q), math.ceil(v * q)):
            f = Fraction(num, q)
            d = abs(float(f) - v)
            if d <= radius and f not in cands:
                cands[f] = d
    return sorted(cands, key=lambda f: (cands[f], f.denominator))[:limit]


def _cheapest_combinations(costs: list[list[float]], limit: int):
    """Index tuples of the product of sorted cost lists in increasing total cost
    (best-first search on the lattice; never materialises the product)."""
    start = tuple(0 for _ in costs)
    heap = [(sum(c[0] for c in costs), start)]
    seen = {start}
    produced = 0
    while heap and produced < limit:
        total, idx = heapq.heappop(heap)
        yield idx
        produced += 1
        for k in range(len(idx)):
            if idx[k] + 1 < len(costs[k]):
                nxt = idx[:k] + (idx[k] + 1,) + idx[k + 1:]
                if nxt not in seen:
                    seen.add(nxt)
                    heapq.heappush(heap, (total - costs[k][idx[k]] + costs[k][idx[k] + 1], nxt))


def _functional_pool(mask: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Linear functionals of x = (A[mask], b) that parametrise method families, in order of
    preference: the nodes c_i (row sums), the weights b_i, then single entries a_ij."""
    s = mask.shape[0]
    nA = int(mask.sum())
    P = nA + s
    pos = -np.ones((s, s), dtype=int)
    pos[mask] = np.arange(nA)
    pool = []
    for i in range(s):
        row = np.zeros(P)
        idx = pos[i][pos[i] >= 0]
        if idx.size:
            row[idx] = 1.0
            pool.append((f"c{i + 1}", row))
    for i in range(s):
        row = np.zeros(P)
        row[nA + i] = 1.0
        pool.append((f"b{i + 1}", row))
    for i, j in zip(*np.nonzero(mask)):
        row = np.zeros(P)
        row[pos[i, j]] = 1.0
        pool.append((f"a{i + 1}{j + 1}", row))
    return pool


def _parametrisations(J: np.ndarray, pool: list[tuple[str, np.ndarray]], d: int, limit: int = 4,
                      deadline: Deadline | None = None) -> list[list[int]]:
    """Up to ``limit`` choices of ``d`` functionals from ``pool`` that, together with the
    conditions, fix the point (augmented Jacobian of full column rank, well conditioned).

    A functional is added when it raises the rank, tested by projecting it onto the
    orthogonal complement of the rows chosen so far (one SVD of ``J``, then vector work)."""
    P = J.shape[1]
    out: list[list[int]] = []
    if J.size:
        _, sv, Vt = np.linalg.svd(J, full_matrices=False)
        base = Vt[sv > 1e-9 * max(1.0, sv[0] if sv.size else 1.0)]
    else:
        base = np.zeros((0, P))

    def well_posed(sel: list[int]) -> bool:
        M = np.vstack([J] + [pool[k][1] for k in sel])
        sv = np.linalg.svd(M, compute_uv=False)
        return sv.size >= P and sv[P - 1] > 1e-6 * sv[0]

    for start in range(len(pool)):
        if deadline is not None and deadline.expired():
            raise _OutOfTime
        sel: list[int] = []
        B = base.copy()
        for k in list(range(start, len(pool))) + list(range(start)):
            if len(sel) == d:
                break
            v = pool[k][1]
            r = v - B.T @ (B @ v) if B.size else v.copy()
            nr = float(np.linalg.norm(r))
            if nr > 1e-9 * max(1.0, float(np.linalg.norm(v))):
                sel.append(k)
                B = np.vstack([B, r / nr])
        if len(sel) == d and well_posed(sel) and sorted(sel) not in [sorted(o) for o in out]:
            out.append(sel)
        if len(out) >= limit:
            break
    return out


def _snap_and_complete(
    tableau: ButcherTableau,
    pol: PolishResult,
    x0: np.ndarray,
    radius: float,
    max_den: int,
    max_candidates: int,
    dps: int,
    log: list[str],
    keep: int = 3,
    deadline: Deadline | None = None,
) -> ButcherTableau | None:
    """Fix ``d`` functionals (nodes, weights, entries) to nearby simple fractions, solve the
    conditions for the rest, rationalise, verify exactly. Where fixing them leaves a family
    (a singular point, e.g. c2 = c3 = 1/2 for 4-stage order 4), one more functional is
    snapped at the new point. Of the first ``keep`` exact methods found, the one closest to
    the learned coefficients wins."""
    mask, conds = pol.mask, pol.conditions
    xp = np.array([float(v) for v in pol.x])
    d = pol.dimension
    if d <= 0:
        log.append(f"{conds.name}: isolated solution is not a short exact number")
        return None
    pool = _functional_pool(mask)
    P = len(xp)
    scale = np.maximum(1.0, np.abs(x0))
    budget = {"tried": 0}
    found: list[tuple[float, int, ButcherTableau, str]] = []

    def finish(x: np.ndarray, system: _System, names: str) -> None:
        xm, res_mp = _refine_mp(x, system, dps=dps)
        if not res_mp < 10.0 ** (-(dps // 2)):
            return
        A, b = _split(xm, mask)
        exact = rationalize(A=A.tolist(), b=b.tolist(), tol=10.0 ** (-(dps // 2)), explicit=tableau.is_explicit, name=tableau.name, surds=False)
        if exact is None or not conds.holds_exactly(exact):
            return
        moved = float(np.max(np.abs(_coeffs(exact, mask) - x0) / scale))
        if moved > radius:
            return
        size = sum(len(str(v)) for v in exact.exact.entries())
        found.append((moved, size, exact, names))

    def search(x_start: np.ndarray, sel: list[int], vals: tuple[Fraction, ...], depth: int) -> None:
        _, J = _System(mask, conds).float(x_start)
        need = P - int(np.linalg.matrix_rank(np.vstack([J] + [pool[k][1] for k in sel]), tol=1e-9 * max(1.0, np.abs(J).max()))) if sel else d
        choices = _parametrisations(np.vstack([J] + [pool[k][1] for k in sel]) if sel else J, pool, need, limit=2 if sel else 4,
                                    deadline=deadline)
        for extra in choices:
            extra = [k for k in extra if k not in sel]
            L_new = np.vstack([pool[k][1] for k in extra])
            values = L_new @ x_start
            options = [_nice_fractions(v, radius, max_den) for v in values]
            if any(not o for o in options):
                continue
            costs = [[abs(float(f) - v) for f in opts] for opts, v in zip(options, values)]
            for pick in _cheapest_combinations(costs, max(1, max_candidates // 4)):
                if deadline is not None and deadline.expired():
                    raise _OutOfTime
                if budget["tried"] >= max_candidates or len(found) >= keep:
                    return
                budget["tried"] += 1
                all_sel = sel + extra
                all_vals = vals + tuple(options[k][i] for k, i in enumerate(pick))
                L = np.vstack([pool[k][1] for k in all_sel])
                system = _System(mask, conds, L, all_vals)
                x, res = _gauss_newton(xp, system, iters=40)
                if not res < 1e-11 or np.any(np.abs(x - x0) > radius * scale):
                    continue
                _, Ja = system.float(x)
                if np.linalg.matrix_rank(Ja, tol=1e-9 * max(1.0, np.abs(Ja).max())) < P:
                    if depth < 2:
                        search(x, all_sel, all_vals, depth + 1)
                    continue
                names = ", ".join(f"{pool[k][0]} = {f}" for k, f in zip(all_sel, all_vals))
                finish(x, system, names)

    search(xp, [], (), 0)
    if not found:
        log.append(f"{conds.name}: {d}-parameter family; no exact member within reach ({budget['tried']} candidates)")
        return None
    moved, _, exact, names = min(found, key=lambda f: (round(f[0], 6), f[1]))
    log.append(f"{conds.name}: {d}-parameter family; fixed {names} and solved exactly (closest of {len(found)} exact members, {budget['tried']} candidates)")
    return exact
