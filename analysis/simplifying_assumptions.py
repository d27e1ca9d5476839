"""Stage order: the simplifying assumption C(q) of a Runge-Kutta method, decided exactly.

``C(q)``: ``sum_j a_ij c_j^(k-1) = c_i^k / k`` for ``k = 1..q`` and every stage ``i``. Each
``k`` is screened in float64 (a difference far above the rounding bound fails for certain)
and verified in the tableau's arithmetic -- exact in its number field, or 60-digit where
exact arithmetic is over budget -- without any symbolic simplification (Gauss-Legendre 5:
milliseconds instead of the minutes ``sympy.simplify`` took).

Imports numpy and the package's ``arithmetic``, ``order_engines`` and ``tableau`` modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .arithmetic import Deadline, OverBudget
from .order_engines import TableauNumbers, mp_numbers, tableau_numbers
from .tableau import ButcherTableau

__all__ = ["StageOrder", "stage_order"]

_FLOAT_RTOL = 1e-12
_EPS = float(np.finfo(float).eps)
_BUDGET_S = 2.0


@dataclass(frozen=True)
class StageOrder:
    """Stage order ``q`` (largest with ``C(q)``) and the arithmetic it was decided in."""

    order: int
    arithmetic: str

    def __int__(self) -> int:
        return self.order


def stage_order(tableau: ButcherTableau, tol: float | None = None, *, detail: bool = False) -> int | StageOrder:
    """Largest ``q`` with the simplifying assumption ``C(q)``:
    ``sum_j a_ij c_j^(k-1) = c_i^k / k`` for ``k = 1..q``. At most ``s + 1`` is tested.

    Exact tableaux: each ``k`` is screened in float64 and verified in the tableau's
    arithmetic (exact, or 60-digit where exact is over budget); floats: within ``tol``
    (relative to the coefficient scale, default 1e-12). ``detail=True`` returns a
    :class:`StageOrder` with the arithmetic.
    """
    s = tableau.stages
    A, c = tableau.A, tableau.c
    scale = tableau.coefficient_scale
    t = _FLOAT_RTOL * scale if tol is None else tol * scale
    if not (tableau.is_exact and tol is None):
        q = 0
        for k in range(1, s + 2):
            if np.max(np.abs(A @ c ** (k - 1) - c**k / k)) > t:
                break
            q = k
        return StageOrder(q, "float64") if detail else q
    numbers = tableau_numbers(tableau)
    deadline = Deadline(_BUDGET_S)
    absA, absc = np.abs(A), np.abs(c)
    q = 0
    for k in range(1, s + 2):
        lhs_f = A @ c ** (k - 1)
        err = np.abs(lhs_f - c**k / k)
        bound = 4 * (s + 2 * k) * _EPS * (absA @ absc ** (k - 1) + absc**k / k) + 1e-300
        if np.any(err > bound):
            break
        try:
            if not _c_holds(numbers, k, deadline):
                break
        except OverBudget:
            numbers = mp_numbers(tableau, "stage order in 60-digit arithmetic")
            if not _c_holds(numbers, k, None):
                break
        q = k
    label = numbers.arithmetic.kind
    return StageOrder(q, label) if detail else q


def _c_holds(numbers: TableauNumbers, k: int, deadline: Deadline | None) -> bool:
    ar = numbers.arithmetic
    s = len(numbers.c)
    ck1 = [_power(ar, x, k - 1) for x in numbers.c]
    inv_k = ar.rational(Fraction(1, k))
    for i in range(s):
        if deadline is not None and deadline.expired():
            raise OverBudget("stage order")
        lhs = ar.dot(numbers.A[i], ck1)
        rhs = ar.mul(_power(ar, numbers.c[i], k), inv_k)
        if not ar.is_zero(ar.sub(lhs, rhs), numbers.scale):
            return False
    return True


def _power(ar: Any, x: Any, k: int) -> Any:
    out = ar.one()
    for _ in range(k):
        out = ar.mul(out, x)
    return out
