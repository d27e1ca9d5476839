"""Stability verdicts for implicit (and explicit) Runge-Kutta methods.

From the stability function ``R = P/Q`` (:mod:`analysis.linear_stability`) and the tableau:

* **A-stable**: ``|R(z)| <= 1`` on the closed left half-plane, i.e. every pole in the open
  right half-plane (Routh-Hurwitz on ``Q(-z)``) and ``E(y) = |Q(iy)|^2 - |P(iy)|^2 >= 0`` for
  all real ``y`` (no real root of odd multiplicity -- Yun's square-free decomposition and
  Sturm counts -- and a positive leading coefficient). Both are decided exactly in the
  tableau's number field (Hairer & Wanner II, Sec. IV.3).
* **L-stable**: A-stable and ``R(inf) = 0`` (``deg P < deg Q``); ``|R(inf)|`` itself.
* **A(alpha)**: for methods that are not A-stable but stable on the negative real axis, the
  largest ``alpha`` with the sector ``|arg(-z)| <= alpha`` in the region (rays scanned at
  0.1 degree steps in float64, then bisection).
* **Algebraically stable**: ``b_i >= 0`` and ``M = B A + A^T B - b b^T`` positive
  semidefinite (exact symmetric elimination; Burrage-Butcher / Crouzeix).
* **Stiffly accurate**: some row of ``A`` equals ``b`` (``a_sj = b_j`` after ordering the
  stages so that it is the last).
* **Pade type** ``(k, j)``: R is the (k, j) Pade approximant of ``exp`` when ``deg P = k``,
  ``deg Q = j`` and ``R(z) - e^z = O(z^(k+j+1))``.

Every verdict names the arithmetic it was decided in ("exact", "60-digit", "float64").
Imports numpy and the package's ``arithmetic``, ``dense_polynomials``, ``linear_stability``,
``order_engines``, ``stability_regions`` and ``tableau`` modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .arithmetic import Arithmetic, Deadline, ExactArithmetic, OverBudget
from .dense_polynomials import hurwitz_stable, pcompose_neg, square_free_parts, sturm_count, trim
from .linear_stability import StabilityInfo
from .stability_regions import axis_polynomials
from .order_engines import TableauNumbers, mp_numbers, tableau_numbers
from .tableau import ButcherTableau

__all__ = ["StabilityVerdicts", "assess_stability", "algebraic_stability", "stiffly_accurate", "pade_type"]

_EXACT_PSD_MAX_STAGES = 40
_BUDGET_S = 2.0


@dataclass(frozen=True)
class StabilityVerdicts:
    """The verdicts; ``arithmetic`` maps each verdict to the arithmetic it was decided in."""

    a_stable: bool
    l_stable: bool
    r_infinity: float
    r_infinity_exact: str | None
    a_alpha_degrees: float | None
    algebraically_stable: bool
    stiffly_accurate: bool
    stiffly_accurate_row: int | None
    pade: tuple[int, int] | None
    approximation_order: int
    poles_in_right_half_plane: bool
    arithmetic: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "a_stable": self.a_stable,
            "l_stable": self.l_stable,
            "r_infinity": self.r_infinity if math.isfinite(self.r_infinity) else "inf",
            "r_infinity_exact": self.r_infinity_exact,
            "a_alpha_degrees": self.a_alpha_degrees,
            "algebraically_stable": self.algebraically_stable,
            "stiffly_accurate": self.stiffly_accurate,
            "stiffly_accurate_row": self.stiffly_accurate_row,
            "pade": None if self.pade is None else list(self.pade),
            "approximation_order": self.approximation_order,
            "poles_in_right_half_plane": self.poles_in_right_half_plane,
            "verdict_arithmetic": dict(self.arithmetic),
            "verdict_notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """Two lines for the text output (the Pade type goes with R itself)."""
        ar = self.arithmetic
        rinf = "inf" if not math.isfinite(self.r_infinity) else (self.r_infinity_exact or f"{self.r_infinity:.6g}")
        yes = lambda b: "yes" if b else "no"  # noqa: E731
        if self.a_stable:
            alpha = "90 degrees (A-stable)"
        elif self.a_alpha_degrees is None:
            alpha = "none (the region does not contain the negative real axis)"
        else:
            alpha = f"{self.a_alpha_degrees:.4f} degrees [{ar.get('a_alpha', 'float64')}: rays every 0.1 degree, then bisection]"
        return [
            f"A-stable: {yes(self.a_stable)} [{ar.get('a_stable', '')}]; L-stable: {yes(self.l_stable)}; |R(inf)| = {rinf}; A(alpha): {alpha}",
            f"algebraically stable: {yes(self.algebraically_stable)} [{ar.get('algebraically_stable', '')}]; "
            f"stiffly accurate: {yes(self.stiffly_accurate)}"
            + (f" (row {self.stiffly_accurate_row + 1} of A equals b)" if self.stiffly_accurate and self.stiffly_accurate_row is not None else ""),
        ]

    def pade_text(self) -> str:
        if self.pade:
            return f"the ({self.pade[0]}, {self.pade[1]}) Pade approximant of exp"
        return f"R(z) - exp(z) = O(z^{self.approximation_order + 1}), not a Pade approximant"


def _nonneg_on_reals(ar: Arithmetic, E: list[Any], scale: float) -> bool:
    """``E(y) >= 0`` for every real y, decided in ``ar``."""
    E = trim(ar, E, scale)
    if not E:
        return True
    if ar.sign(E[-1], scale) < 0:
        return False
    for g, mult in square_free_parts(ar, E):
        if mult % 2 == 1 and sturm_count(ar, g) > 0:
            return False
    return True


def stiffly_accurate(numbers: TableauNumbers | None, tableau: ButcherTableau) -> tuple[bool, int | None]:
    """Whether some row of A equals b (the last such row, 0-based)."""
    s = tableau.stages
    if numbers is None:
        tol = 1e-12 * tableau.coefficient_scale
        rows = [i for i in range(s) if np.max(np.abs(tableau.A[i] - tableau.b)) <= tol]
    else:
        ar = numbers.arithmetic
        rows = [i for i in range(s) if all(ar.is_zero(ar.sub(a, b), numbers.scale) for a, b in zip(numbers.A[i], numbers.b))]
    return (bool(rows), rows[-1] if rows else None)


def algebraic_stability(numbers: TableauNumbers | None, tableau: ButcherTableau, deadline: Deadline | None = None) -> tuple[bool, str]:
    """``b >= 0`` and ``M = BA + A^T B - b b^T`` positive semidefinite, with the arithmetic."""
    s = tableau.stages
    if numbers is None or s > _EXACT_PSD_MAX_STAGES:
        A, b = tableau.A, tableau.b
        tol = 1e-12 * tableau.coefficient_scale**2 * s
        if np.any(b < -1e-12 * tableau.coefficient_scale):
            return False, "float64"
        M = np.diag(b) @ A + A.T @ np.diag(b) - np.outer(b, b)
        return bool(np.min(np.linalg.eigvalsh(0.5 * (M + M.T))) >= -tol), "float64"
    ar = numbers.arithmetic
    A, b = numbers.A, numbers.b
    if any(ar.sign(x, numbers.scale) < 0 for x in b):
        return False, ar.kind
    M = [[ar.sub(ar.add(ar.mul(b[i], A[i][j]), ar.mul(b[j], A[j][i])), ar.mul(b[i], b[j])) for j in range(s)] for i in range(s)]
    sc = numbers.scale**2
    active = list(range(s))
    while active:
        if deadline is not None and deadline.expired():
            raise OverBudget("algebraic stability")
        diag_sign = {i: ar.sign(M[i][i], sc) for i in active}
        if any(v < 0 for v in diag_sign.values()):
            return False, ar.kind
        for i in [i for i in active if diag_sign[i] == 0]:
            if any(not ar.is_zero(M[i][j], sc) for j in active):
                return False, ar.kind
            active.remove(i)
        if not active:
            break
        p = active[0]
        inv = ar.inv(M[p][p])
        rest = [i for i in active if i != p]
        for i in rest:
            f = ar.mul(M[i][p], inv)
            for j in rest:
                M[i][j] = ar.sub(M[i][j], ar.mul(f, M[p][j]))
        active = rest
    return True, ar.kind


def pade_type(ar: Arithmetic | None, P: tuple[Any, ...], Q: tuple[Any, ...], tol: float = 0.0) -> tuple[tuple[int, int] | None, int]:
    """``((k, j), q)``: the Pade type (or None) and the largest q with
    ``R(z) - e^z = O(z^(q+1))``, from ``Q(z) e^z - P(z)`` (exact when ``tol`` is 0, else
    coefficients below ``tol`` count as zero)."""
    k, j = len(P) - 1, len(Q) - 1
    top = k + j + 2
    fact = [math.factorial(n) for n in range(top + 1)]
    q_order = -1
    for n in range(top + 1):
        if ar is None:
            val = sum(float(Q[i]) / fact[n - i] for i in range(min(n, j) + 1)) - (float(P[n]) if n <= k else 0.0)
            zero = abs(val) <= max(tol, 1e-12)
        else:
            val = ar.zero()
            for i in range(min(n, j) + 1):
                val = ar.add(val, ar.mul(Q[i], ar.rational(Fraction(1, fact[n - i]))))
            if n <= k:
                val = ar.sub(val, P[n])
            zero = ar.is_zero(val) if tol == 0.0 else abs(ar.to_float(val)) <= tol
        if not zero:
            break
        q_order = n
    return ((k, j) if q_order >= k + j else None), q_order


def _a_alpha(info: StabilityInfo) -> float | None:
    """A(alpha) angle in degrees, or None when the negative real axis is not stable."""
    if math.isfinite(info.real_interval[0]):
        return None
    P, Q = info.function.P_float, info.function.Q_float

    def ray_stable(phi_deg: float) -> bool:
        th = math.pi - math.radians(phi_deg)
        e = np.exp(1j * th * np.arange(max(len(P), len(Q))))
        pc = P * e[: len(P)]
        qc = Q * e[: len(Q)]
        pm = np.polynomial.polynomial
        g = pm.polysub(pm.polymul(qc, np.conj(qc)).real, pm.polymul(pc, np.conj(pc)).real)
        g = np.trim_zeros(g, "b")
        if g.size == 0:
            return True
        scale = np.max(np.abs(g))
        gg = g.copy()
        gg[np.abs(gg) < 1e-14 * scale] = 0.0
        nz = np.nonzero(gg)[0]
        if nz.size == 0:
            return True
        gg = gg[nz[0]:]
        if gg[0] < 0 or gg[-1] < 0:
            return False
        roots = [r.real for r in np.polynomial.polynomial.polyroots(gg) if abs(r.imag) <= 1e-9 * max(1.0, abs(r)) and r.real > 0]
        pts = sorted(roots)
        tests = [0.5 * (a + b) for a, b in zip([0.0] + pts, pts)] + ([2 * pts[-1] + 1] if pts else [1.0])
        return all(np.polynomial.polynomial.polyval(t, g) >= -1e-12 * scale * max(1.0, t) ** (len(g) - 1) for t in tests)

    if not ray_stable(0.0):
        return None
    grid = np.arange(0.0, 90.0 + 1e-9, 0.1)
    last = 0.0
    for phi in grid[1:]:
        if not ray_stable(float(phi)):
            lo, hi = last, float(phi)
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                if ray_stable(mid):
                    lo = mid
                else:
                    hi = mid
            return lo
        last = float(phi)
    return 90.0


def assess_stability(tableau: ButcherTableau, info: StabilityInfo, *, exact: bool | None = None) -> StabilityVerdicts:
    """All verdicts for ``tableau`` whose stability data ``info`` is already computed."""
    Rf = info.function
    ar = Rf.arithmetic
    arith: dict[str, str] = {}
    notes: list[str] = []
    scale = 1.0
    degP, degQ = Rf.degrees
    # |R(inf)|
    if degP > degQ:
        r_inf, r_inf_exact = math.inf, "inf"
    elif degP < degQ:
        r_inf, r_inf_exact = 0.0, "0"
    else:
        if ar is None:
            r_inf = abs(float(Rf.P[-1]) / float(Rf.Q[-1]))
            r_inf_exact = None
        else:
            v = ar.mul(Rf.P[-1], ar.inv(Rf.Q[-1]))
            v = v if ar.sign(v) >= 0 else ar.neg(v)
            r_inf = ar.to_float(v)
            r_inf_exact = str(ar.to_sympy(v)) if isinstance(ar, ExactArithmetic) else None
            if r_inf_exact is not None and len(r_inf_exact) > 40:
                r_inf_exact = None
    # A-stability
    if degP > degQ:  # |R| grows without bound: never A-stable
        poles_ok = True if len(Rf.Q) == 1 else bool(np.all(np.polynomial.polynomial.polyroots(Rf.Q_float).real > 0))
        a_stable = False
        arith["a_stable"] = Rf.kind
    elif ar is None or Rf.noise > 0:
        Qf = Rf.Q_float
        poles = np.polynomial.polynomial.polyroots(Qf) if len(Qf) > 1 else np.zeros(0)
        poles_ok = bool(np.all(poles.real > 1e-9 * np.maximum(1.0, np.abs(poles))))
        a_stable = poles_ok and degP <= degQ and info.a_stable_on_axis
        arith["a_stable"] = "float64" if ar is None else f"{ar.kind}, to precision {Rf.noise:.0e}"
    else:
        poles_ok = hurwitz_stable(ar, pcompose_neg(ar, list(Rf.Q))) if len(Rf.Q) > 1 else True
        _, E = axis_polynomials(ar, Rf.P, Rf.Q)
        a_stable = poles_ok and degP <= degQ and _nonneg_on_reals(ar, E, scale)
        arith["a_stable"] = ar.kind
    l_stable = a_stable and degP < degQ
    a_alpha = 90.0 if a_stable else _a_alpha(info)
    if not a_stable:
        arith["a_alpha"] = "float64"
    # tableau verdicts
    numbers: TableauNumbers | None = None
    use_exact = tableau.is_exact if exact is None else bool(exact)
    if use_exact and tableau.is_exact:
        numbers = tableau_numbers(tableau)
    try:
        alg, alg_ar = algebraic_stability(numbers, tableau, Deadline(_BUDGET_S))
    except OverBudget:
        notes.append(f"algebraic stability: exact arithmetic over {_BUDGET_S:g} s; 60-digit arithmetic used")
        alg, alg_ar = algebraic_stability(mp_numbers(tableau), tableau)
    arith["algebraically_stable"] = alg_ar
    st_acc, row = stiffly_accurate(numbers, tableau)
    arith["stiffly_accurate"] = "float64" if numbers is None else numbers.arithmetic.kind
    from .order import rounded_rtol

    noise = Rf.noise if tableau.digits is None else max(Rf.noise, rounded_rtol(tableau.digits))
    pade, q = pade_type(ar, Rf.P, Rf.Q, 0.0 if (ar is not None and noise == 0) else 100 * max(noise, 1e-14))
    arith["pade"] = Rf.kind
    return StabilityVerdicts(bool(a_stable), bool(l_stable), r_inf, r_inf_exact, a_alpha, bool(alg), bool(st_acc), row,
                             pade, q, bool(poles_ok), arith, tuple(notes))
