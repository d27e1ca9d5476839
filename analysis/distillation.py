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

__all__ = ["free_mask", "PolishResult", "polish", "Distillation", "distill", "default_targets", "DEFAULT_BUDGET_S", "OBJECTIVES",
           "Reach", "HighPrecision", "VERIFIED_TOL", "VERIFY_DPS",
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
        # the rows as exact fractions (their entries are small fractions: 1, -1, nodes)
        self.L_exact = None if L is None else [[Fraction(float(c)).limit_denominator(10**6) for c in row] for row in L]

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
            extra = [sum((mpmath.mpf(c.numerator) / c.denominator * xi for c, xi in zip(row, x) if c), mpmath.mpf(0))
                     - mpmath.mpf(v.numerator) / v.denominator for row, v in zip(self.L_exact, self.q)]
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
        x -= np.linalg.lstsq(J, F, rcond=1e-8)[0]
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e6:
            return x, math.inf
    return x, nF


def _refine_mp(x: np.ndarray, system: _System, dps: int = _DPS) -> tuple[np.ndarray, float]:
    """Newton refinement in mpmath with the float pseudo-inverse held fixed (each step
    gains about as many digits as the float solve had). The pseudo-inverse drops singular
    values below 1e-9 of the largest: at a singular point of the manifold (Dormand-Prince 5
    meets the order-5 conditions where their Jacobian loses rank) the tiny ones would only
    amplify rounding."""
    with mpmath.workdps(dps):
        xm = np.array([mpmath.mpf(float(v)) for v in x], dtype=object)
        _, J = system.float(x.astype(np.float64))
        pinv = np.linalg.pinv(J, rcond=1e-9)
        target = mpmath.mpf(10) ** (-(dps - 8))
        res = mpmath.inf
        best = (mpmath.inf, xm)
        for _ in range(dps // 4 + 6):
            F = system.mp(xm)
            res = max((abs(v) for v in F), default=mpmath.mpf(0))
            if res < best[0]:
                best = (res, xm)
            if res < target:
                break
            xm = xm - pinv @ F
        return best[1], float(best[0])


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


#: Names of the objectives that choose a member of a family of methods (``[ode]
#: distill_objective``): ``"nearest"`` the member closest to the learned weights,
#: ``"principal-error"`` the member with the smallest principal error (the residuals of the
#: next order's conditions: on the family when the target is a personalised order).
OBJECTIVES = ("nearest", "principal-error")
#: Digits of the arithmetic that verifies a high-precision tableau, and the bound its
#: residuals are verified below.
VERIFY_DPS = 60
VERIFIED_TOL = 1e-40
#: A condition set is within reach when the weights must move by at most this many times
#: the size of the residuals they show on it, or by at most ``REACH_FLOOR`` (and by at most
#: ``radius``).
REACH_RATIO = 30.0
#: Distances below this count as noise; one more than ``REACH_JUMP`` times the smallest
#: distance (of any candidate set, at least this floor) is out of reach.
REACH_FLOOR = 1e-3
REACH_JUMP = 100.0
#: Random restarts of Gauss-Newton when it does not converge from the learned weights.
RESTARTS = 4


@dataclass(frozen=True)
class Reach:
    """How far the learned weights are from the manifold of one condition set.

    ``distance`` is the largest relative change of a coefficient to reach it (infinite when
    Gauss-Newton converged from no start), ``residual`` the largest residual the weights
    show on it, ``ratio`` their quotient, ``start`` where the converging run began."""

    target: str
    distance: float
    residual: float
    reached: bool
    start: str = "learned weights"

    @property
    def ratio(self) -> float:
        return self.distance / max(self.residual, 1e-300)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "distance": self.distance if math.isfinite(self.distance) else None,
                "residual": self.residual, "reached": self.reached, "start": self.start}


@dataclass(frozen=True)
class HighPrecision:
    """A tableau on the manifold of ``target`` given to ``digits`` significant digits, its
    largest condition residual evaluated in ``digits``-digit arithmetic (``residual``, below
    :data:`VERIFIED_TOL`), chosen by ``objective``."""

    target: str
    A: tuple[tuple[str, ...], ...]
    b: tuple[str, ...]
    residual: float
    distance: float
    objective: str
    digits: int = VERIFY_DPS

    @property
    def label(self) -> str:
        return f"verified to {VERIFIED_TOL:.0e}".replace("e-", "e-")

    def tableau(self, name: str | None = None) -> ButcherTableau:
        return ButcherTableau(A=[[float(mpmath.mpf(v)) for v in r] for r in self.A], b=[float(mpmath.mpf(v)) for v in self.b], name=name)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "A": [list(r) for r in self.A], "b": list(self.b), "digits": self.digits,
                "residual": self.residual, "verified_below": VERIFIED_TOL, "label": self.label,
                "distance": self.distance, "objective": self.objective}


@dataclass(frozen=True)
class Distillation:
    """Outcome of :func:`distill`.

    ``exact`` is the verified exact tableau (None when nothing was found), ``target`` the
    name of the condition set it (or the high-precision tableau) satisfies, ``distance``
    the largest change of an entry of A, b or c relative to the learned tableau, ``log``
    one line per attempt, ``reach`` the distance of the weights to each candidate condition
    set, ``high_precision`` the tableau polished onto the most ambitious set within reach
    when no exact method satisfies it (verified to :data:`VERIFIED_TOL`).
    """

    exact: ButcherTableau | None
    target: str | None
    distance: float | None
    polished: ButcherTableau | None
    log: tuple[str, ...] = field(default_factory=tuple)
    gave_up: bool = False
    elapsed_s: float = 0.0
    budget_s: float | None = None
    reach: tuple[Reach, ...] = ()
    high_precision: HighPrecision | None = None
    objective: str = "nearest"

    @property
    def method(self) -> ButcherTableau | None:
        """The verified method: the exact one, else the high-precision one (as floats)."""
        if self.exact is not None:
            return self.exact
        return None if self.high_precision is None else self.high_precision.tableau()

    def to_json(self) -> dict[str, Any]:
        return {
            "rational": None if self.exact is None else self.exact.to_dict(),
            "target": self.target,
            "distance": self.distance,
            "log": list(self.log),
            "gave_up": self.gave_up,
            "elapsed_s": round(self.elapsed_s, 3),
            "budget_s": self.budget_s,
            "reach": [r.to_json() for r in self.reach],
            "high_precision": None if self.high_precision is None else self.high_precision.to_json(),
            "objective": self.objective,
        }


def default_targets(tableau: ButcherTableau) -> list[ConditionSet]:
    """General-order condition sets from the highest plausible order down to 1."""
    s = tableau.stages
    top = s if tableau.is_explicit else 2 * s
    top = min(top, 8)
    return [general_conditions(p) for p in range(top, 0, -1)]


def _next_order_conditions(conds: ConditionSet) -> ConditionSet:
    """The conditions of order p + 1 whose residuals are the principal error of a method
    of ``conds`` (default: every tree of order p + 1)."""
    from .condition_sets import ConditionBlock
    from .rooted_trees import tree_table

    n = conds.max_order + 1
    tab = tree_table(n)
    sig = tab.sigma[tab.of_order(n)]
    rows = tuple(tuple(Fraction(1, int(sg)) if j == k else Fraction(0) for j in range(len(sig))) for k, sg in enumerate(sig))
    return ConditionSet(f"error coefficients of order {n}", (ConditionBlock(n, rows),))


def distill(
    tableau: ButcherTableau,
    targets: Sequence[ConditionSet] | None = None,
    *,
    radius: float = 0.3,
    max_denominator: int = 12,
    max_candidates: int = 100,
    dps: int = _DPS,
    budget_s: float | None = DEFAULT_BUDGET_S,
    objective: str = "nearest",
    principal: Any = None,
    restarts: int = RESTARTS,
    seed: int = 0,
) -> Distillation:
    """Find the best verified method near a learned float ``tableau``.

    1. **Reach.** For every candidate condition set, Gauss-Newton from the weights (and,
       when it does not converge, from ``restarts`` random starts around them) finds how
       far the coefficients must move to meet it. A set is *within reach* when that
       distance is at most :data:`REACH_RATIO` times the residuals the weights show on it
       and at most ``radius``: noise of any size moves the weights off the manifold by about
       its residuals, while an order the weights do not have needs a move far larger.
    2. **Exact.** The most ambitious set within reach (the first in ``targets``) is
       polished, rationalised or snapped and completed (see the module docstring), with
       structural guesses (zeros, first-same-as-last) tried first, and verified exactly.
    3. **High precision.** When no exact member exists nearby, the point of that set chosen
       by ``objective`` is polished in 60-digit arithmetic and returned with its residuals
       verified below :data:`VERIFIED_TOL` (``high_precision``); the orders the weights reach
       are never given up for an exact method of lower order.

    Parameters
    ----------
    targets : condition sets to aim for, most ambitious first (default
        :func:`default_targets`).
    radius : largest allowed change of any coefficient, relative to ``max(1, |x|)``.
    max_denominator : largest denominator of the values free parameters are snapped to.
    max_candidates : snapping candidates tried per target.
    budget_s : wall-clock seconds the whole search may take (None: no limit); when it is
        spent the search stops, ``gave_up`` is set and the log says so.
    objective : one of :data:`OBJECTIVES`: which member of a family is returned.
    principal : function of a condition set giving the conditions whose residuals are the
        principal error (default: the trees of the next order).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    log: list[str] = []
    reach: list[Reach] = []
    deadline = Deadline(budget_s if budget_s is not None else math.inf)
    targets = list(default_targets(tableau) if targets is None else targets)
    mask = free_mask(tableau)
    x0 = np.concatenate([tableau.A[mask], tableau.b])
    scale = np.maximum(1.0, np.abs(x0))
    principal = principal or _next_order_conditions

    def done(exact: ButcherTableau | None, target: str | None, dist: float | None, pol: ButcherTableau | None, gave_up: bool = False,
             hp: HighPrecision | None = None) -> Distillation:
        return Distillation(exact, target, dist, pol, tuple(log), gave_up, deadline.elapsed(), budget_s, tuple(reach), hp, objective)

    token = None
    try:
        with time_limit(budget_s if budget_s is not None else math.inf) as token:
            return _search(tableau, targets, mask, x0, scale, radius, max_denominator, max_candidates, dps, log, deadline, done,
                           reach, objective, principal, restarts, seed)
    except (_OutOfTime, OverBudget) as exc:
        if isinstance(exc, OverBudget) and exc.token is not token:
            raise
        log.append(f"gave up after {deadline.elapsed():.1f} s (budget {budget_s:g} s); no exact method found")
        return done(None, None, None, None, gave_up=True)


def _reach_of(tableau: ButcherTableau, conds: ConditionSet, mask: np.ndarray, x0: np.ndarray, scale: np.ndarray, radius: float,
              restarts: int, rng: np.random.Generator, deadline: Deadline) -> tuple[Reach, np.ndarray | None]:
    F0 = conds.residuals(tableau.A, tableau.b)
    res0 = float(np.max(np.abs(F0))) if F0.size else 0.0
    system = _System(mask, conds)
    x, r = _gauss_newton(x0, system)
    start = "learned weights"
    if not r < 1e-11:
        best = None
        for k in range(restarts):
            if deadline.expired():
                raise _OutOfTime
            xs = x0 + rng.normal(0.0, 0.05 * (k + 1), x0.shape) * scale
            x2, r2 = _gauss_newton(xs, system)
            if r2 < 1e-11:
                d2 = float(np.max(np.abs(x2 - x0) / scale))
                if best is None or d2 < best[0]:
                    best = (d2, x2, k + 1)
        if best is None:
            return Reach(conds.name, math.inf, res0, False, "none converged"), None
        x, start = best[1], f"random start {best[2]} of {restarts}"
    dist = float(np.max(np.abs(x - x0) / scale)) if x0.size else 0.0
    reached = dist <= radius and (dist <= REACH_FLOOR or dist <= REACH_RATIO * max(res0, 1e-15))
    return Reach(conds.name, dist, res0, reached, start), x


def _search(tableau, targets, mask, x0, scale, radius, max_denominator, max_candidates, dps, log, deadline, done,  # noqa: ANN001
            reach, objective, principal, restarts, seed) -> Distillation:
    """The body of :func:`distill` (raises :class:`_OutOfTime` when the deadline passes)."""
    rng = np.random.default_rng(seed)
    points: dict[str, np.ndarray] = {}
    chosen: ConditionSet | None = None
    for conds in targets:
        if deadline.expired():
            raise _OutOfTime
        rc, xr = _reach_of(tableau, conds, mask, x0, scale, radius, restarts, rng, deadline)
        reach.append(rc)
        if xr is not None:
            points[conds.name] = xr
        if rc.reached and rc.distance <= REACH_FLOOR:
            break  # within the noise floor: no later (less ambitious) set can push it out of reach
    if deadline.expired():
        raise _OutOfTime
    # at most REACH_JUMP times the smallest move (clamped below at REACH_FLOOR): an order
    # the weights do not have needs a move far larger than the noise they carry on the
    # orders they have
    dists = sorted(max(r.distance, REACH_FLOOR) for r in reach if r.reached)
    cut = REACH_JUMP * dists[0] if dists else 0.0
    for k, r in enumerate(reach):
        if r.reached and max(r.distance, REACH_FLOOR) > cut:
            reach[k] = Reach(r.target, r.distance, r.residual, False, r.start)
    for conds, r in zip(targets, reach):
        if r.reached:
            chosen = conds
            rc = r
            break
    for other in reach:
        if other.reached:
            continue
        if not math.isfinite(other.distance):
            log.append(f"{other.target}: not within reach (Gauss-Newton converged from none of {1 + restarts} starts; residual {other.residual:.2g})")
        else:
            log.append(f"{other.target}: not within reach (weights must move {other.distance:.2g}, {other.ratio:.3g} times their residual "
                       f"{other.residual:.2g}; the orders within reach need at most {cut:.2g})")
    if chosen is None:
        log.append("no condition set within reach of the learned weights")
        return done(None, None, None, None)
    conds = chosen
    log.append(f"{conds.name}: within reach (move {rc.distance:.2g}, residual {rc.residual:.2g}, from the {rc.start})")
    pol = _polish_from(points[conds.name], x0, mask, conds, dps)
    A, b = pol.A_b()
    exact = None
    if pol.residual < 10.0 ** (-(dps // 2)):
        exact = rationalize(A=A, b=b, tol=10.0 ** (-(dps // 2)), max_denominator=DEFAULT_MAX_DENOMINATOR, explicit=tableau.is_explicit, name=tableau.name)
    else:
        log.append(f"{conds.name}: {dps}-digit refinement stalled at residual {pol.residual:.2g} (a singular point of the manifold)")
    if exact is not None and conds.holds_exactly(exact):
        dist = _moved(exact, tableau)
        log.append(f"{conds.name}: polished point is exact (moved {dist:.3g})")
        return done(exact, conds.name, dist, pol.tableau(tableau.name))
    found = None
    if pol.dimension > MAX_SNAP_DIMENSION:
        log.append(f"{conds.name}: {pol.dimension}-parameter family; not snapped (more than {MAX_SNAP_DIMENSION} free parameters)")
    else:
        found = _snap_and_complete(tableau, pol, x0, radius, max_denominator, max_candidates, dps, log, deadline=deadline,
                                   objective=objective, principal=principal(conds), noise=max(rc.distance, rc.residual, 1e-12))
    if found is not None:
        dist = _moved(found, tableau)
        return done(found, conds.name, dist, pol.tableau(tableau.name))
    hp = _high_precision(pol, x0, scale, mask, conds, objective, principal(conds), log)
    if hp is None:
        return done(None, None, None, pol.tableau(tableau.name))
    hpt = hp.tableau(tableau.name)
    return done(None, conds.name, _moved(hpt, tableau), hpt, hp=hp)


def _polish_from(x: np.ndarray, x0: np.ndarray, mask: np.ndarray, conds: ConditionSet, dps: int) -> PolishResult:
    system = _System(mask, conds)
    xm, res_mp = _refine_mp(x, system, dps=dps)
    _, J = system.float(x)
    sv = np.linalg.svd(J, compute_uv=False) if J.size else np.zeros(0)
    rank = int(np.sum(sv > 1e-9 * max(1.0, sv[0] if sv.size else 1.0)))
    dist = float(np.max(np.abs(x - x0))) if x0.size else 0.0
    return PolishResult(conds, tuple(xm), mask, res_mp, dist, rank)


def _principal_value(x: np.ndarray, mask: np.ndarray, perr: ConditionSet) -> float:
    A, b = _split(np.asarray(x, dtype=np.float64), mask)
    r = perr.residuals(A, b)
    return float(np.sqrt(np.sum(r * r)))


def _high_precision(pol: PolishResult, x0: np.ndarray, scale: np.ndarray, mask: np.ndarray, conds: ConditionSet, objective: str,
                    perr: ConditionSet, log: list[str]) -> HighPrecision | None:
    """The member of ``conds`` chosen by ``objective``, polished by Gauss-Newton in
    :data:`VERIFY_DPS`-digit arithmetic and verified there below :data:`VERIFIED_TOL`."""
    system = _System(mask, conds)
    x = np.array([float(v) for v in pol.x])
    if objective == "principal-error" and pol.dimension > 0:
        x = _minimise_on_manifold(x, system, lambda z: _principal_value(z, mask, perr), x0, scale)
    xm, _ = _refine_mp(x, system, dps=VERIFY_DPS + 10)
    with mpmath.workdps(VERIFY_DPS):
        xv = np.array([mpmath.mpf(mpmath.nstr(v, VERIFY_DPS, strip_zeros=False)) for v in xm], dtype=object)
        F = system.mp(xv)
        res = float(max((abs(v) for v in F), default=mpmath.mpf(0)))
        strs = [mpmath.nstr(v, VERIFY_DPS, strip_zeros=False) for v in xv]
    if not res < VERIFIED_TOL:
        log.append(f"{conds.name}: high-precision residual {res:.2g} is not below {VERIFIED_TOL:.0e}")
        return None
    s = mask.shape[0]
    nA = int(mask.sum())
    Am = [["0"] * s for _ in range(s)]
    for (i, j), v in zip(np.argwhere(mask), strs[:nA]):
        Am[i][j] = v
    dist = float(np.max(np.abs(x - x0) / scale)) if x0.size else 0.0
    pe = _principal_value(x, mask, perr)
    log.append(f"{conds.name}: no exact member nearby; {objective} member polished to {VERIFY_DPS} digits, residuals "
               f"{res:.1e} (verified to {VERIFIED_TOL:.0e}), moved {dist:.3g}, principal error {pe:.3g}")
    return HighPrecision(conds.name, tuple(tuple(r) for r in Am), tuple(strs[nA:]), res, dist, objective)


def _minimise_on_manifold(x: np.ndarray, system: _System, f: Any, x0: np.ndarray, scale: np.ndarray, iters: int = 60) -> np.ndarray:
    """Projected gradient descent of ``f`` on ``{F = 0}`` from ``x`` (finite-difference
    gradient, tangent projection, Gauss-Newton back onto the manifold, backtracking)."""
    fx = f(x)
    step = 0.05
    for _ in range(iters):
        _, J = system.float(x)
        g = np.zeros_like(x)
        for k in range(len(x)):
            e = np.zeros_like(x)
            e[k] = 1e-7
            g[k] = (f(x + e) - f(x - e)) / 2e-7
        _, sv, Vt = np.linalg.svd(J, full_matrices=True)
        r = int(np.sum(sv > 1e-9 * max(1.0, sv[0] if sv.size else 1.0)))
        N = Vt[r:]
        gt = N.T @ (N @ g)
        ng = float(np.linalg.norm(gt))
        if ng < 1e-14 * max(1.0, fx):
            break
        improved = False
        while step > 1e-8:
            xt, res = _gauss_newton(x - step * gt / ng, system, iters=30)
            if res < 1e-12 and np.all(np.abs(xt - x0) <= 0.5 * scale):
                ft = f(xt)
                if ft < fx:
                    x, fx, improved = xt, ft, True
                    step *= 1.5
                    break
            step *= 0.5
        if not improved:
            break
    return x


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


def _simplest_in(lo: float, hi: float) -> Fraction:
    """The fraction with the smallest denominator in ``[lo, hi]`` (Stern-Brocot descent
    by continued fractions)."""
    if lo > hi:
        lo, hi = hi, lo
    fl = math.floor(lo)
    if fl + 1 <= hi or fl == lo:
        return Fraction(math.ceil(lo)) if math.ceil(lo) <= hi else Fraction(fl)
    # lo, hi in (fl, fl + 1): recurse on the reciprocals of the fractional parts
    a, b = lo - fl, hi - fl
    inner = _simplest_in(1.0 / b, 1.0 / a)
    return fl + 1 / inner


def _structure(x: np.ndarray, mask: np.ndarray, noise: float, max_den: int) -> list[tuple[str, np.ndarray, Fraction]]:
    """Linear constraints the coefficients ``x`` meet to within ``50 * noise``: zero
    entries, a last row of A equal to b with zero last weight (first same as last), nodes
    equal to fractions with denominators up to ``max_den``."""
    s = mask.shape[0]
    nA = int(mask.sum())
    P = nA + s
    tol = max(50.0 * noise, 1e-10)
    pos = -np.ones((s, s), dtype=int)
    pos[mask] = np.arange(nA)
    out: list[tuple[str, np.ndarray, Fraction]] = []
    explicit = not mask[np.diag_indices(s)].any()
    fsal = (explicit and s >= 2 and abs(x[nA + s - 1]) <= tol
            and all(abs(x[pos[s - 1, j]] - x[nA + j]) <= tol for j in range(s - 1)))
    for i, j in zip(*np.nonzero(mask)):
        if abs(x[pos[i, j]]) <= tol and not (fsal and i == s - 1):
            row = np.zeros(P)
            row[pos[i, j]] = 1.0
            out.append((f"a{i + 1}{j + 1}", row, Fraction(0)))
    for i in range(s):
        if abs(x[nA + i]) <= tol:
            row = np.zeros(P)
            row[nA + i] = 1.0
            out.append((f"b{i + 1}", row, Fraction(0)))
    if fsal:
        for j in range(s - 1):
            row = np.zeros(P)
            row[pos[s - 1, j]] = 1.0
            row[nA + j] = -1.0
            out.append((f"a{s}{j + 1} - b{j + 1}", row, Fraction(0)))
    nodes: dict[int, Fraction] = {}
    for i in range(1, s - (1 if fsal else 0)):
        idx = pos[i][pos[i] >= 0]
        if not idx.size:
            continue
        ci = float(np.sum(x[idx]))
        near = _nice_fractions(ci, tol, max_den, limit=1)
        if near and float(near[0]) != 0.0:
            row = np.zeros(P)
            row[idx] = 1.0
            out.append((f"c{i + 1}", row, near[0]))
            nodes[i] = near[0]
    # C(2) (sum_j a_ij c_j = c_i^2 / 2) for rows whose nodes are all fixed: linear in a_ij
    for i in range(2, s - (1 if fsal else 0)):
        if i not in nodes or any(j not in nodes for j in range(1, i) if pos[i, j] >= 0):
            continue
        row = np.zeros(P)
        for j in range(1, i):
            if pos[i, j] >= 0:
                row[pos[i, j]] = float(nodes[j])
        if abs(float(row @ x) - float(nodes[i]) ** 2 / 2) <= tol:
            out.append((f"sum_j a{i + 1}j c_j", row, nodes[i] ** 2 / 2))
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
    objective: str = "nearest",
    principal: ConditionSet | None = None,
    noise: float = 1e-12,
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
    struct = _structure(xp, mask, noise, max_den)
    pool = pool + [(nm, row) for nm, row, _ in struct if all(nm != q for q, _ in pool)]
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
        key = moved if objective == "nearest" or principal is None else _principal_value(_coeffs(exact, mask), mask, principal)
        found.append((key, size, exact, names))

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

    def _complete_simplest(x: np.ndarray, sel: list[int], vals: tuple[Fraction, ...], Ja: np.ndarray) -> None:
        """Fix one more functional (the one free parameter left) to the simplest fraction
        within the noise of its value; verify each candidate."""
        rank = np.linalg.matrix_rank(Ja, tol=1e-9 * max(1.0, np.abs(Ja).max()))
        if P - rank != 1:
            return
        tol = max(50.0 * noise, 1e-10)
        for k, (nm, row) in enumerate(pool):
            if k in sel or len(found) >= keep:
                continue
            if deadline is not None and deadline.expired():
                raise _OutOfTime
            if np.linalg.matrix_rank(np.vstack([Ja, row]), tol=1e-9 * max(1.0, np.abs(Ja).max())) <= rank:
                continue
            v = float(row @ x)
            f = _simplest_in(v - tol, v + tol)
            system = _System(mask, conds, np.vstack([pool[j][1] for j in sel] + [row]), vals + (f,))
            xs, res = _gauss_newton(x, system, iters=40)
            if res < 1e-11 and not np.any(np.abs(xs - x0) > radius * scale):
                before = len(found)
                finish(xs, system, ", ".join(f"{pool[j][0]} = {q}" for j, q in zip(sel + [k], vals + (f,))))
                if len(found) > before:
                    return

    if struct:
        # structural guess first: entries at noise level are zero, a last row equal to b is
        # first-same-as-last, nodes near simple fractions are those fractions
        sel = [next(k for k, (q, _) in enumerate(pool) if q == nm) for nm, _, _ in struct]
        vals = tuple(v for _, _, v in struct)
        system = _System(mask, conds, np.vstack([pool[k][1] for k in sel]), vals)
        x, res = _gauss_newton(xp, system, iters=40)
        if res < 1e-11 and not np.any(np.abs(x - x0) > radius * scale):
            _, Ja = system.float(x)
            if np.linalg.matrix_rank(Ja, tol=1e-9 * max(1.0, np.abs(Ja).max())) >= P:
                finish(x, system, ", ".join(f"{pool[k][0]} = {f}" for k, f in zip(sel, vals)))
            else:
                _complete_simplest(x, sel, vals, Ja)
                if not found and (deadline is None or not deadline.expired()):
                    try:
                        search(x, sel, vals, 1)
                    except np.linalg.LinAlgError:
                        pass
    if not found:
        search(xp, [], (), 0)
    if not found:
        log.append(f"{conds.name}: {d}-parameter family; no exact member within reach ({budget['tried']} candidates)")
        return None
    moved, _, exact, names = min(found, key=lambda f: (round(f[0], 6), f[1]))
    log.append(f"{conds.name}: {d}-parameter family; fixed {names} and solved exactly (closest of {len(found)} exact members, {budget['tried']} candidates)")
    return exact
