"""The stability function R(z) = P(z)/Q(z) of a Runge-Kutta method, in the tableau's arithmetic.

Applied to ``y' = lambda y`` one step multiplies ``y`` by ``R(z)``, ``z = h lambda``::

    R(z) = det(I - z A + z 1 b^T) / det(I - z A) = P(z) / Q(z),   Q(0) = P(0) = 1

For explicit methods ``R(z) = 1 + sum_k (b^T A^(k-1) 1) z^k`` is a polynomial (computed with
integer coordinates, one object-array product per power). Otherwise ``P`` and ``Q`` are the
characteristic polynomials of ``A - 1 b^T`` and ``A`` (Hessenberg reduction), common factors
cancelled exactly, normalised to ``Q(0) = 1``. Exact entries: exact arithmetic in their
number field (60-digit where exact is over budget, or the tableau too large); float entries:
60-digit arithmetic on the float values, so that structure such as a last row of A equal to
b is kept exactly, with coefficients below the data's precision removed.

Imports numpy, sympy, mpmath, gmpy2 and the package's ``arithmetic``, ``dense_polynomials``,
``order_engines`` and ``tableau`` modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp
from gmpy2 import mpq

from .arithmetic import Arithmetic, Deadline, ExactArithmetic, OverBudget
from .dense_polynomials import padd, pdivmod, pgcd, psub, trim
from .order_engines import TableauNumbers, mp_numbers, tableau_numbers
from .tableau import ButcherTableau

__all__ = ["StabilityFunction", "stability_rational", "stability_function", "stability_polynomial_coefficients",
           "stability_function_from_expression", "Z"]

Z = sp.Symbol("z")
_EXACT_BUDGET_S = 2.0
#: Largest tableau computed in 60-digit arithmetic (beyond: float64).
_MP_MAX_STAGES = 24
#: Largest implicit tableau whose characteristic polynomials are computed exactly.
_EXACT_IMPLICIT_MAX_STAGES = 16
_DPS = 50
_MP_NOISE = 1e-40
_FLOAT_NOISE = 1e-13


# ---------------------------------------------------------------------------- R = P / Q
@dataclass(frozen=True, eq=False)
class StabilityFunction:
    """``R = P/Q`` with ascending coefficient tuples in ``arithmetic`` (None: float64 numbers),
    ``Q[0] = 1``. ``P_float``/``Q_float`` are float64 views; ``note`` says where an
    arithmetic ran out of budget. ``noise`` is the relative precision of the coefficients
    (0 when exact; for float data the data's precision, for the 60-digit fallback 1e-40)
    and ``P_mag``/``Q_mag`` bound the size of the terms each coefficient sums: a coefficient
    below ``noise`` times its bound is zero to the data's precision and has been removed.
    """

    P: tuple[Any, ...]
    Q: tuple[Any, ...]
    arithmetic: Arithmetic | None
    note: str | None = None
    noise: float = 0.0
    P_mag: tuple[float, ...] = ()
    Q_mag: tuple[float, ...] = ()

    @property
    def kind(self) -> str:
        return "float64" if self.arithmetic is None else self.arithmetic.kind

    @property
    def is_polynomial(self) -> bool:
        return len(self.Q) == 1

    @property
    def degrees(self) -> tuple[int, int]:
        return len(self.P) - 1, len(self.Q) - 1

    def _f(self, x: Any) -> float:
        return float(x) if self.arithmetic is None else self.arithmetic.to_float(x)

    @property
    def P_float(self) -> np.ndarray:
        return np.array([self._f(x) for x in self.P], dtype=np.float64)

    @property
    def Q_float(self) -> np.ndarray:
        return np.array([self._f(x) for x in self.Q], dtype=np.float64)

    @property
    def rational(self) -> bool:
        """Exact with rational coefficients (the intervals are then decided exactly)."""
        ar = self.arithmetic
        return isinstance(ar, ExactArithmetic) and all(ar.is_rational(x) for x in self.P + self.Q)

    def rationals(self) -> tuple[list[mpq], list[mpq]]:
        assert self.rational
        return [x[0] for x in self.P], [x[0] for x in self.Q]

    def mp(self, dps: int = _DPS) -> tuple[list[mpmath.mpf], list[mpmath.mpf]]:
        with mpmath.workdps(dps):
            if self.arithmetic is None:
                return [mpmath.mpf(float(x)) for x in self.P], [mpmath.mpf(float(x)) for x in self.Q]
            ar = self.arithmetic
            return [mpmath.mpf(ar.to_mpf(x, dps)) for x in self.P], [mpmath.mpf(ar.to_mpf(x, dps)) for x in self.Q]

    def sympy_coefficients(self) -> tuple[list[sp.Expr], list[sp.Expr]]:
        if self.arithmetic is None:
            f = lambda x: sp.Float(float(x), 17)  # noqa: E731
            return [f(x) for x in self.P], [f(x) for x in self.Q]
        ar = self.arithmetic
        return [ar.to_sympy(x) for x in self.P], [ar.to_sympy(x) for x in self.Q]

    def expr(self) -> sp.Expr:
        """R(z) as a sympy expression (``P`` over ``Q``; a polynomial when ``Q = 1``)."""
        p, q = self.sympy_coefficients()
        num = sp.Add(*[c * Z**k for k, c in enumerate(p)])
        if self.is_polynomial:
            return num
        return num / sp.Add(*[c * Z**k for k, c in enumerate(q)])

    def text(self) -> str:
        """``"(1 + z/2 + z**2/12)/(1 - z/2 + z**2/12)"``: powers ascending, Q(0) = 1
        (exact coefficients when exact, else 17 significant digits)."""
        if self.kind != "exact":
            return self.float_text(17)
        p, q = self.sympy_coefficients()
        num = _ascending_text(p)
        return num if self.is_polynomial else f"({num})/({_ascending_text(q)})"

    def float_text(self, digits: int = 10) -> str:
        """R(z) with coefficients to ``digits`` significant digits, powers ascending."""
        def poly(c: np.ndarray) -> str:
            terms = []
            for k, x in enumerate(c):
                if x == 0.0:
                    continue
                mono = "" if k == 0 else ("z" if k == 1 else f"z**{k}")
                mag = f"{abs(x):.{digits}g}"
                body = mag if not mono else (mono if mag == "1" else f"{mag}*{mono}")
                terms.append(("-" if x < 0 else "+", body))
            if not terms:
                return "0"
            out = ("-" if terms[0][0] == "-" else "") + terms[0][1]
            for sg, body in terms[1:]:
                out += f" {sg} {body}"
            return out

        num = poly(self.P_float)
        return num if self.is_polynomial else f"({num})/({poly(self.Q_float)})"

    def latex(self) -> str:
        p, q = self.sympy_coefficients()
        asc = lambda cs: sp.latex(sp.Add(*[c * Z**k for k, c in enumerate(cs)]), order="rev-lex")  # noqa: E731
        return asc(p) if self.is_polynomial else f"\\frac{{{asc(p)}}}{{{asc(q)}}}"

    def evaluator(self) -> Callable[[np.ndarray], np.ndarray]:
        """``z -> R(z)`` in float64 (complex arrays)."""
        P, Q = self.P_float, self.Q_float
        pv = np.polynomial.polynomial.polyval

        def R(z: np.ndarray) -> np.ndarray:
            z = np.asarray(z, dtype=complex)
            with np.errstate(all="ignore"):
                return pv(z, P) / pv(z, Q)

        return R


def _ascending_text(cs: Sequence[sp.Expr]) -> str:
    terms = []
    for k, c in enumerate(cs):
        if c == 0:
            continue
        mono = "" if k == 0 else ("z" if k == 1 else f"z**{k}")
        if not mono:
            t = sp.sstr(c)
        elif c == 1:
            t = mono
        elif c == -1:
            t = "-" + mono
        elif c.is_Rational:
            num = sp.Integer(c.p)
            t = (f"{sp.sstr(num)}*{mono}" if abs(num) != 1 else ("-" if num < 0 else "") + mono) + (f"/{c.q}" if c.q != 1 else "")
        else:
            t = f"({sp.sstr(c)})*{mono}" if c.is_Add else f"{sp.sstr(c)}*{mono}"
        terms.append(t)
    if not terms:
        return "0"
    out = terms[0]
    for t in terms[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out


def _charpoly_det(ar: Arithmetic, M: list[list[Any]], deadline: Deadline | None) -> list[Any]:
    """Ascending coefficients of ``det(I - z M)`` (Hessenberg reduction, then the
    recurrence for the characteristic polynomial of a Hessenberg matrix)."""
    n = len(M)
    H = [list(r) for r in M]
    exact = isinstance(ar, ExactArithmetic)
    for m in range(1, n - 1):
        if deadline is not None and deadline.expired():
            raise OverBudget("characteristic polynomial")
        col = m - 1
        if exact:
            piv = next((i for i in range(m, n) if not ar.is_zero(H[i][col])), None)
        else:
            cand = [(abs(ar.to_float(H[i][col])), i) for i in range(m, n)]
            best = max(cand)
            piv = best[1] if best[0] > 0 else None
        if piv is None:
            continue
        if piv != m:
            H[piv], H[m] = H[m], H[piv]
            for row in H:
                row[piv], row[m] = row[m], row[piv]
        inv = ar.inv(H[m][col])
        for i in range(m + 1, n):
            if ar.is_zero(H[i][col]):
                continue
            u = ar.mul(H[i][col], inv)
            for j in range(col, n):
                H[i][j] = ar.sub(H[i][j], ar.mul(u, H[m][j]))
            for j in range(n):
                H[j][m] = ar.add(H[j][m], ar.mul(u, H[j][i]))
    # p_k = characteristic polynomial of the leading k x k block (ascending in x)
    p: list[list[Any]] = [[ar.one()]]
    for k in range(1, n + 1):
        hk = H[k - 1][k - 1]
        prev = p[k - 1]
        cur = padd(ar, [ar.zero()] + list(prev), [ar.neg(ar.mul(hk, c)) for c in prev])
        t = ar.one()
        for i in range(1, k):
            t = ar.mul(t, H[k - i][k - i - 1])
            coef = ar.mul(t, H[k - i - 1][k - 1])
            if not ar.is_zero(coef):
                cur = psub(ar, cur, [ar.mul(coef, c) for c in p[k - i - 1]])
        p.append(cur)
    cp = p[n] + [ar.zero()] * (n + 1 - len(p[n]))
    return list(reversed(cp))  # det(I - zM) = z^n cp(1/z)


def _explicit_coefficients(ar: Arithmetic, numbers: TableauNumbers, deadline: Deadline | None) -> list[Any]:
    """``[1, b.1, b.A.1, ..., b.A^(s-1).1]``; in exact arithmetic with integer coordinates
    (``v_k = A^k 1`` is kept times ``d_A^k``), one object-array product per power."""
    s = len(numbers.b)
    if isinstance(ar, ExactArithmetic):
        K = ar.field
        A_int, dA = K.integral([x for row in numbers.A for x in row], (s, s))
        b_int, db = K.integral(list(numbers.b), (s,))
        v = np.empty((1, s, K.degree), dtype=object)
        v[...] = 0
        v[..., 0] = 1
        out = [ar.one()]
        for k in range(s):
            if deadline is not None and deadline.expired():
                raise OverBudget("stability polynomial")
            val = K.vdot(v, b_int)[0]
            D = db * dA**k
            out.append(tuple(mpq(int(c), int(D)) for c in val))
            v = K.vmatvec(v, A_int)
        return out
    A, b = numbers.A, numbers.b
    v = [ar.one()] * s
    out = [ar.one()]
    for _ in range(s):
        if deadline is not None and deadline.expired():
            raise OverBudget("stability polynomial")
        out.append(ar.dot(b, v))
        v = [ar.dot(A[i][:i], v[:i]) for i in range(s)]
    return out


def _rational_in(ar: Arithmetic, numbers: TableauNumbers, explicit: bool, deadline: Deadline | None) -> tuple[list[Any], list[Any]]:
    if explicit:
        return trim(ar, _explicit_coefficients(ar, numbers, deadline), numbers.scale), [ar.one()]
    s = len(numbers.b)
    A = [list(r) for r in numbers.A]
    M = [[ar.sub(A[i][j], numbers.b[j]) for j in range(s)] for i in range(s)]
    P = trim(ar, _charpoly_det(ar, M, deadline))
    Q = trim(ar, _charpoly_det(ar, A, deadline))
    if isinstance(ar, ExactArithmetic):
        g = pgcd(ar, P, Q)
        if len(g) > 1:
            P, Q = pdivmod(ar, P, g)[0], pdivmod(ar, Q, g)[0]
    inv = ar.inv(Q[0])
    return [ar.mul(c, inv) for c in P], [ar.mul(c, inv) for c in Q]


def stability_rational(tableau: ButcherTableau, exact: bool | None = None) -> StabilityFunction:
    """R = P/Q in the tableau's arithmetic (cached on the tableau).

    Exact entries: exact arithmetic (60-digit where exact is over budget). Float entries
    (and exact ones over every budget): 60-digit arithmetic on the float values, so that
    the structure of the data (e.g. a last row of A equal to b) is kept exactly, with
    coefficients below the data's precision removed; float64 beyond 60 stages.
    """
    use_exact = tableau.is_exact if exact is None else bool(exact)
    key = f"R-{use_exact}"
    hit = tableau._cache.get(key)
    if hit is not None:
        return hit
    note = None
    out: StabilityFunction | None = None
    mags = _magnitudes(tableau)
    if use_exact and tableau.is_exact and (tableau.is_explicit or tableau.stages <= _EXACT_IMPLICIT_MAX_STAGES):
        numbers = tableau_numbers(tableau)
        try:
            P, Q = _rational_in(numbers.arithmetic, numbers, tableau.is_explicit, Deadline(_EXACT_BUDGET_S))
            noise = 0.0 if isinstance(numbers.arithmetic, ExactArithmetic) else _MP_NOISE
            out = _cleaned(StabilityFunction(tuple(P), tuple(Q), numbers.arithmetic, numbers.arithmetic.note, noise, *mags))
        except OverBudget:
            note = f"stability function: exact arithmetic over {_EXACT_BUDGET_S:g} s"
    if out is None and use_exact and tableau.is_exact and note is None:
        note = f"stability function: {tableau.stages} stages, more than the {_EXACT_IMPLICIT_MAX_STAGES} computed exactly"
    if out is None and tableau.stages <= _MP_MAX_STAGES:
        from .order import rounded_rtol

        if use_exact and tableau.is_exact:
            numbers, noise = mp_numbers(tableau), _MP_NOISE
            note = (note + "; 60-digit arithmetic used") if note else None
        else:
            numbers = mp_numbers(tableau.as_float() if tableau.is_exact else tableau)
            noise = max(_FLOAT_NOISE, rounded_rtol(tableau.digits) if tableau.digits is not None else 0.0)
        P, Q = _rational_in(numbers.arithmetic, numbers, tableau.is_explicit, None)
        out = _cleaned(StabilityFunction(tuple(P), tuple(Q), numbers.arithmetic, note, noise, *mags))
    if out is None:
        out = _float_rational(tableau, note, mags)
    tableau._cache[key] = out
    return out


def _magnitudes(tableau: ButcherTableau) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Bounds on the terms each coefficient of P and Q sums: for explicit methods
    ``|b|^T |A|^(k-1) 1``; otherwise the elementary symmetric functions of the row sums of
    ``|A - 1 b^T|`` and ``|A|`` (a principal minor is at most the product of its rows'
    1-norms)."""
    A, b = np.abs(tableau.A), np.abs(tableau.b)
    s = tableau.stages
    if tableau.is_explicit:
        out = [1.0]
        v = np.ones(s)
        for _ in range(s):
            out.append(float(b @ v))
            v = A @ v
        return tuple(out), (1.0,)

    def esym(r: np.ndarray) -> tuple[float, ...]:
        e = np.zeros(len(r) + 1)
        e[0] = 1.0
        for x in r:
            e[1:] = e[1:] + x * e[:-1]
        return tuple(float(v) for v in e)

    M = np.abs(tableau.A - np.outer(np.ones(s), tableau.b))
    return esym(M.sum(axis=1)), esym(A.sum(axis=1))


def _cleaned(Rf: StabilityFunction) -> StabilityFunction:
    """Drop coefficients below the noise level (none in exact arithmetic)."""
    if Rf.noise == 0.0:
        return Rf
    ar = Rf.arithmetic

    def clean(c: tuple[Any, ...], mags: tuple[float, ...]) -> tuple[Any, ...]:
        out = list(c)
        for k in range(len(out)):
            m = mags[k] if k < len(mags) else (mags[-1] if mags else 1.0)
            v = abs(float(out[k])) if ar is None else abs(ar.to_float(out[k]))
            if k > 0 and v <= Rf.noise * max(m, 1e-300) * 10:
                out[k] = 0.0 if ar is None else ar.zero()
        while len(out) > 1 and (out[-1] == 0.0 if ar is None else ar.is_zero(out[-1], 0.0)):
            out.pop()
        return tuple(out)

    return StabilityFunction(clean(Rf.P, Rf.P_mag), clean(Rf.Q, Rf.Q_mag), ar, Rf.note, Rf.noise, Rf.P_mag, Rf.Q_mag)


def _float_rational(tableau: ButcherTableau, note: str | None, mags: tuple[tuple[float, ...], tuple[float, ...]]) -> StabilityFunction:
    if tableau.is_explicit:
        P = stability_polynomial_coefficients(tableau)
        Q = np.ones(1)
    else:
        A = tableau.A
        P = np.real(np.poly(A - np.outer(np.ones(tableau.stages), tableau.b)))
        Q = np.real(np.poly(A))
    P = np.trim_zeros(P, "b")
    Q = np.trim_zeros(Q, "b")
    if note:
        note += "; float64 arithmetic used"
    return _cleaned(StabilityFunction(tuple(float(x) for x in P), tuple(float(x) for x in Q), None, note, 1e-10, *mags))


def stability_function_from_expression(R: sp.Expr, z: sp.Symbol = Z) -> StabilityFunction:
    """A stability function given as an expression in ``z`` (e.g. that of a two-derivative
    method) as a :class:`StabilityFunction` normalised to ``Q(0) = 1``: exact when its
    coefficients are rational, float64 otherwise."""
    from .arithmetic import arithmetic_for

    num, den = sp.fraction(sp.cancel(sp.together(R)))
    P = sp.Poly(num, z).all_coeffs()[::-1]
    Q = sp.Poly(den, z).all_coeffs()[::-1]
    if not Q or Q[0] == 0:
        raise ValueError("R(0) is not finite")
    P, Q = [c / Q[0] for c in P], [c / Q[0] for c in Q]
    mags = (tuple(abs(float(c)) for c in P), tuple(abs(float(c)) for c in Q))
    if all(c.is_Rational for c in P + Q):
        conv = arithmetic_for(P + Q)
        return StabilityFunction(tuple(conv.elements[:len(P)]), tuple(conv.elements[len(P):]), conv.arithmetic, None, 0.0, *mags)
    return StabilityFunction(tuple(float(c) for c in P), tuple(float(c) for c in Q), None, None, _FLOAT_NOISE, *mags)


def stability_function(tableau: ButcherTableau, exact: bool | None = None) -> sp.Expr:
    """R(z) as a sympy expression (a polynomial for explicit methods, otherwise a
    rational function ``P/Q`` with ``Q(0) = 1``), exact when the tableau is exact."""
    return stability_rational(tableau, exact).expr()


def stability_polynomial_coefficients(tableau: ButcherTableau) -> np.ndarray:
    """Float coefficients ``[1, b.1, b.A.1, ...]`` of R(z) for an explicit method
    (lowest degree first)."""
    s = tableau.stages
    out = np.empty(s + 1)
    out[0] = 1.0
    v = np.ones(s)
    for k in range(1, s + 1):
        out[k] = tableau.b @ v
        v = tableau.A @ v
    return out


# ---------------------------------------------------------------------------- intervals
