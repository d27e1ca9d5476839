"""Linear stability: the stability function R(z) = P(z)/Q(z), its intervals and a plot window.

Applied to ``y' = lambda y`` one step multiplies ``y`` by ``R(z)``, ``z = h lambda``::

    R(z) = det(I - z A + z 1 b^T) / det(I - z A) = P(z) / Q(z),   Q(0) = P(0) = 1

For explicit methods ``R(z) = 1 + sum_k (b^T A^(k-1) 1) z^k`` is a polynomial. ``P`` and
``Q`` are computed in the tableau's arithmetic (exact in its number field, or 60-digit where
exact is over budget, float64 for float tableaux) as characteristic polynomials of ``A - 1
b^T`` and ``A`` (Hessenberg reduction), common factors cancelled exactly, and normalised to
``Q(0) = 1``.

The stability intervals are decided exactly when R has rational coefficients: the real
interval ``[x_min, 0]`` from an exact isolation of the real roots of ``P^2 - Q^2`` (where
``|R| = 1``) and exact sign tests between them, the imaginary interval from the roots of
``E(y) = |Q(iy)|^2 - |P(iy)|^2``. Otherwise the roots are found in 50-digit arithmetic
(mpmath) and confirmed by a dense scan of |R|. When ``|R(iy)|`` exceeds 1 for every small
``y != 0`` (``E`` starts with a negative term, e.g. Prince-Dormand 8(7):
``|R(iy)|^2 - 1 = 5.9e-8 y^10 + ...``), the size of that excess is reported with the
interval on which it stays below 1e-6. The plot window is taken from |R| itself: a polar
scan of the stability region (or of its complement when that is the bounded part).

The verdicts on implicit methods (A-, L-, A(alpha)-, algebraic stability, stiff accuracy,
Pade type) are in :mod:`analysis.stability_verdicts`. Imports numpy, sympy, mpmath and the
package's ``arithmetic``, ``dense_polynomials``, ``order_engines`` and ``tableau`` modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp
from gmpy2 import mpq

from .arithmetic import Arithmetic, Deadline, ExactArithmetic, MpArithmetic, OverBudget
from .dense_polynomials import pdivmod, pgcd, pmul, psub, padd, trim
from .order_engines import TableauNumbers, mp_numbers, tableau_numbers
from .tableau import ButcherTableau

__all__ = ["StabilityFunction", "StabilityInfo", "stability_rational", "stability_function",
           "stability_polynomial_coefficients", "stability", "region_grid", "plot_window", "Z", "IMAG_EXCESS_TOL"]

Z = sp.Symbol("z")
#: The excess of |R(iy)| over 1 below which the imaginary axis counts as "practically stable".
IMAG_EXCESS_TOL = 1e-6
_EXACT_BUDGET_S = 2.0
_MP_MAX_STAGES = 24
#: Largest implicit tableau whose characteristic polynomials are computed exactly.
_EXACT_IMPLICIT_MAX_STAGES = 16
#: Largest degree of P^2 - Q^2 isolated exactly (beyond: 50-digit roots and a dense scan).
_EXACT_ISOLATION_MAX_DEGREE = 48
#: Beyond this degree of R the intervals come from a scan of |R| alone (no root finding).
_ROOTS_MAX_DEGREE = 60
_MP_ROOT_MAX_DEGREE = 24
_DPS = 50
_MP_NOISE = 1e-40
_FLOAT_NOISE = 1e-13
#: |R(iy)| exceeding 1 by at most IMAG_EXCESS_TOL on [-0.1i, 0.1i] or more counts as "only slightly".
_TINY_EXCESS_SPAN = 0.1


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
def _axis_polys(ar: Arithmetic | None, P: Sequence[Any], Q: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """``(P^2 - Q^2, E)`` with ``E(y) = |Q(iy)|^2 - |P(iy)|^2`` (ascending), in ``ar`` or floats."""
    if ar is None:
        pm = np.polynomial.polynomial
        P, Q = np.asarray(P, float), np.asarray(Q, float)
        f = pm.polysub(pm.polymul(P, P), pm.polymul(Q, Q))

        def abs2(c: np.ndarray) -> np.ndarray:
            pc = np.array([x * (1j) ** k for k, x in enumerate(c)])
            return pm.polymul(pc, np.conj(pc)).real

        return list(f), list(pm.polysub(abs2(Q), abs2(P)))

    def abs2(c: Sequence[Any]) -> list[Any]:
        re = [c[k] if k % 4 == 0 else (ar.neg(c[k]) if k % 4 == 2 else ar.zero()) for k in range(len(c))]
        im = [c[k] if k % 4 == 1 else (ar.neg(c[k]) if k % 4 == 3 else ar.zero()) for k in range(len(c))]
        return padd(ar, pmul(ar, re, re), pmul(ar, im, im))

    return psub(ar, pmul(ar, P, P), pmul(ar, Q, Q)), psub(ar, abs2(Q), abs2(P))


@dataclass(frozen=True)
class _Interval:
    end: float           # x_min (<= 0) on the real axis, y_max (>= 0) on the imaginary one
    arithmetic: str      # "exact" or "50-digit" (roots) / "float64"
    excess: dict[str, Any] | None = None


def _exact_walk(f: list[mpq], test: Callable[[sp.Rational], bool], sign: int) -> tuple[float, bool]:
    """Walk from 0 along ``sign * x > 0`` over the real roots of ``f`` (rational, f(0) = 0
    allowed); return the first root after which ``test`` (stable?) fails, and whether the
    walk ended at a root (False: stable to infinity)."""
    x = sp.Symbol("x")
    poly = sp.Poly([sp.Rational(int(c.numerator), int(c.denominator)) for c in reversed(f)], x, domain=sp.QQ)
    if poly.is_zero:
        return (math.inf * sign, False)
    while poly.degree() > 0 and poly.eval(0) == 0:
        poly = sp.Poly(sp.quo(poly, sp.Poly(x, x, domain=sp.QQ)), x, domain=sp.QQ)
    ivs = [iv for iv, _ in poly.intervals(eps=sp.Rational(1, 10**22))]
    side = sorted([iv for iv in ivs if (iv[1] <= 0 if sign < 0 else iv[0] >= 0)], key=lambda iv: abs(iv[0] + iv[1]))
    prev_val, prev_edge = sp.Integer(0), sp.Integer(0)
    for a, b in side:
        near, far = (b, a) if sign < 0 else (a, b)
        if not test((prev_edge + near) / 2):
            return float(prev_val), True
        prev_val, prev_edge = (a + b) / 2, far
    beyond = prev_edge * 2 + sign
    if not test(beyond):
        return float(prev_val), True
    return (math.inf * sign, False)


def _mp_roots(coeffs: Sequence[Any]) -> list[mpmath.mpf]:
    """Real roots of a polynomial with mpf (or float) coefficients, ascending list: mpmath's
    polyroots at 50 digits up to degree :data:`_MP_ROOT_MAX_DEGREE`; beyond, the float64
    companion-matrix roots near the real axis polished by Newton steps at 50 digits."""
    c = list(coeffs)
    while c and c[-1] == 0:
        c.pop()
    while c and c[0] == 0:
        c.pop(0)
    if len(c) <= 1:
        return []
    desc = list(reversed(c))
    if len(c) - 1 > _MP_ROOT_MAX_DEGREE:
        cf = np.array([float(x) for x in c])
        big = float(np.max(np.abs(cf)))
        r = np.polynomial.polynomial.polyroots(cf / big)
        out = []
        with mpmath.workdps(_DPS):
            for z in r:
                if abs(z.imag) > 1e-4 * max(1.0, abs(z)):
                    continue
                x = mpmath.mpf(float(z.real))
                for _ in range(30):
                    v, dv = mpmath.polyval(desc, x, derivative=True)
                    if dv == 0:
                        break
                    step = v / dv
                    x -= step
                    if abs(step) <= mpmath.mpf(10) ** (-40) * max(1, abs(x)):
                        break
                out.append(x)
        return out
    with mpmath.workdps(_DPS):
        try:
            r = mpmath.polyroots(desc, maxsteps=400, extraprec=400)
        except mpmath.libmp.libhyper.NoConvergence:
            r = [mpmath.mpc(z) for z in np.polynomial.polynomial.polyroots(np.array([float(x) for x in c]))]
        out = []
        for z in r:
            z = mpmath.mpc(z)
            if abs(z.imag) <= mpmath.mpf(10) ** (-20) * max(1, abs(z)):
                out.append(z.real)
        return out


def _scan_exit(absR: Callable[[np.ndarray], np.ndarray], sign: int, margin: float) -> float:
    """The first point from 0 along ``sign`` where |R| exceeds ``1 + margin`` (geometric
    samples from 1e-8 to 1e3, then bisection), ``sign * inf`` when there is none."""
    t = np.geomspace(1e-8, 1e3, 8000) * sign
    vals = absR(t)
    bad = np.nonzero(~(vals <= 1.0 + margin))[0]
    if bad.size == 0:
        return math.inf * sign
    k = int(bad[0])
    lo, hi = (0.0 if k == 0 else float(t[k - 1])), float(t[k])
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if absR(np.array([mid]))[0] <= 1.0 + margin:
            lo = mid
        else:
            hi = mid
    return lo


def _numeric_walk(roots: list[mpmath.mpf], stable: Callable[[float], bool], sign: int, far: float) -> tuple[float, bool]:
    cands = sorted([r for r in roots if sign * r > mpmath.mpf(10) ** -30], key=lambda r: abs(r))
    prev = mpmath.mpf(0)
    for r in cands:
        if not stable(float((prev + r) / 2)):
            return float(prev), True
        prev = r
    if not stable(float(prev * 2 + sign) if abs(prev) < far else float(prev * 1.5)):
        return float(prev), True
    return (math.inf * sign, False)


def _dense_confirm(absR: Callable[[np.ndarray], np.ndarray], end: float, sign: int) -> float:
    """Scan |R| densely between 0 and ``end`` (or 1e3 when infinite); return the first
    point where |R| > 1 + 1e-9, refined by bisection, else ``end``."""
    top = min(abs(end), 1e3) if math.isfinite(end) else 1e3
    if top == 0.0:
        return end
    t = np.linspace(0.0, top, 4001)[1:] * sign
    vals = absR(t)
    bad = np.nonzero(~(vals <= 1.0 + 1e-9))[0]
    if bad.size == 0:
        return end
    k = int(bad[0])
    lo, hi = (0.0 if k == 0 else float(t[k - 1])), float(t[k])
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if absR(np.array([mid]))[0] <= 1.0 + 1e-9:
            lo = mid
        else:
            hi = mid
    return lo


def _intervals(Rf: StabilityFunction) -> tuple[_Interval, _Interval, bool]:
    """(real, imaginary, whole imaginary axis has |R| <= 1)."""
    R = Rf.evaluator()
    absR_real = lambda x: np.abs(R(np.asarray(x, dtype=complex)))  # noqa: E731
    absR_imag = lambda y: np.abs(R(1j * np.asarray(y, dtype=float)))  # noqa: E731
    if Rf.rational and 2 * max(Rf.degrees) <= _EXACT_ISOLATION_MAX_DEGREE:
        P, Q = Rf.rationals()
        ar = Rf.arithmetic
        f_el, E_el = _axis_polys(ar, Rf.P, Rf.Q)
        f = [x[0] for x in f_el]
        E = [x[0] for x in E_el]

        def stable_real(x: sp.Rational) -> bool:
            xq = mpq(int(x.p), int(x.q))
            pv = sum((c * xq**k for k, c in enumerate(P)), mpq(0))
            qv = sum((c * xq**k for k, c in enumerate(Q)), mpq(0))
            return pv * pv <= qv * qv

        def stable_imag(y: sp.Rational) -> bool:
            yq = mpq(int(y.p), int(y.q))
            return sum((c * yq**k for k, c in enumerate(E)), mpq(0)) >= 0

        lo, _ = _exact_walk(f, stable_real, -1)
        excess = _imag_excess([float(c) for c in E], absR_imag)
        if excess is not None:
            hi = 0.0
        else:
            hi, _ = _exact_walk(E, stable_imag, +1)
        whole = not E or (all(c == 0 for c in E))
        if not whole:
            whole = not math.isfinite(hi)
        return _Interval(lo, "exact"), _Interval(hi, "exact", excess), whole
    # numeric: 50-digit roots, then a dense scan of |R|
    ar = Rf.arithmetic if Rf.arithmetic is not None else None
    high = max(Rf.degrees) > _ROOTS_MAX_DEGREE
    if (isinstance(ar, ExactArithmetic) or isinstance(ar, MpArithmetic)) and not high:
        f_el, E_el = _axis_polys(ar, Rf.P, Rf.Q)
        f = [ar.to_mpf(x, _DPS) for x in f_el]
        E = [ar.to_mpf(x, _DPS) for x in E_el]
        label = "50-digit"
    else:
        f, E = _axis_polys(None, Rf.P_float, Rf.Q_float)
        f = [mpmath.mpf(float(x)) for x in f]
        E = [mpmath.mpf(float(x)) for x in E]
        label = "float64"
    if Rf.noise > 0:
        f, E = _clean_axis(Rf, f), _clean_axis(Rf, E)
    mpR = _mp_evaluator(Rf)
    margin = max(1e-30, 100 * Rf.noise)
    if high:  # too many roots to find: scan |R| itself
        lo = _scan_exit(absR_real, -1, 1e-9)
        label = "float64 scan"
    else:
        lo, _ = _numeric_walk(_mp_roots(f), lambda x: mpR(x) <= 1 + margin, -1, 1e6)
        lo = _dense_confirm(absR_real, lo, -1)
    E_f = [float(x) for x in E]
    excess = _imag_excess(E_f, absR_imag)
    if excess is not None:
        hi = 0.0
    elif high:
        hi = _scan_exit(absR_imag, +1, 1e-9)
    else:
        hi, _ = _numeric_walk(_mp_roots(E), lambda y: mpR(1j * y) <= 1 + margin, +1, 1e6)
        hi = _dense_confirm(absR_imag, hi, +1)
    whole = not math.isfinite(hi)
    return _Interval(lo, label), _Interval(hi, label, excess), whole


def _clean_axis(Rf: StabilityFunction, c: Sequence[Any]) -> list[Any]:
    """Zero the coefficients of ``P^2 - Q^2`` or ``E`` below the noise level of ``Rf``."""
    pm = np.polynomial.polynomial
    Pm = np.array(Rf.P_mag[: len(Rf.P)] or [1.0])
    Qm = np.array(Rf.Q_mag[: len(Rf.Q)] or [1.0])
    mag = pm.polyadd(pm.polymul(Pm, Pm), pm.polymul(Qm, Qm))
    out = list(c)
    for k in range(len(out)):
        m = mag[k] if k < len(mag) else mag[-1]
        if abs(float(out[k])) <= 10 * Rf.noise * m:
            out[k] = mpmath.mpf(0)
    return out


def _mp_evaluator(Rf: StabilityFunction) -> Callable[[Any], mpmath.mpf]:
    P, Q = Rf.mp(_DPS)

    def absR(z: Any) -> mpmath.mpf:
        with mpmath.workdps(_DPS):
            z = mpmath.mpmathify(z)
            return abs(mpmath.polyval(list(reversed(P)), z) / mpmath.polyval(list(reversed(Q)), z))

    return absR


def _imag_excess(E: Sequence[float], absR_imag: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any] | None:
    """When ``|R(iy)| > 1`` for all small ``y != 0`` (E's lowest term is negative): the
    leading term of ``|R(iy)|^2 - 1`` and the interval on which ``|R(iy)| <= 1 + 1e-6``."""
    nz = [(k, c) for k, c in enumerate(E) if c != 0.0]
    if not nz or nz[0][1] > 0:
        return None
    k, c = nz[0]
    y = np.geomspace(1e-6, 1e3, 6000)
    vals = absR_imag(y)
    bad = np.nonzero(~(vals <= 1.0 + IMAG_EXCESS_TOL))[0]
    if bad.size == 0:
        limit = math.inf
    else:
        j = int(bad[0])
        lo, hi = (0.0 if j == 0 else float(y[j - 1])), float(y[j])
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if absR_imag(np.array([mid]))[0] <= 1.0 + IMAG_EXCESS_TOL:
                lo = mid
            else:
                hi = mid
        limit = lo
    return {"leading_power": int(k), "leading_coefficient": float(-c), "tolerance": IMAG_EXCESS_TOL, "within_tolerance_up_to": limit,
            "tiny": bool(limit >= _TINY_EXCESS_SPAN)}


# ---------------------------------------------------------------------------- plot window
def plot_window(Rf: StabilityFunction, real_end: float, imag_end: float) -> dict[str, Any]:
    """A window ``{"re": [x0, x1], "im": [y0, y1]}`` that shows the stability region, taken
    from |R| on a polar scan: the bounding box of the stable set when it is bounded, else of
    its (bounded) complement, else of the poles and zeros; always containing the origin
    and the finite stability intervals, with a margin."""
    R = Rf.evaluator()
    degP, degQ = Rf.degrees
    P, Q = Rf.P_float, Rf.Q_float
    if degP > degQ:
        what, inside = "stability region", lambda v: v <= 1.0
    else:
        rinf = abs(P[-1] / Q[-1]) if degP == degQ else 0.0
        what, inside = ("unstable set", lambda v: v > 1.0) if rinf < 1.0 - 1e-12 else ("poles and zeros", None)
    if inside is not None:
        r0 = _outer_radius(P, Q, degP > degQ)
        box = _polar_box(R, inside, r0, 91, 300)
        if box is not None and what == "stability region":
            # the box is known to a fraction of r0: scan again at the region's own size
            r1 = 1.05 * max(abs(box[0]), abs(box[1]), box[2], 1e-6)
            box = _polar_box(R, inside, min(r0, r1)) or box
    else:
        box = None
    if box is None:
        roots = [r for c in (P, Q) if len(c) > 1 for r in np.polynomial.polynomial.polyroots(c)]
        L = max([abs(r) for r in roots] + [2.0])
        box = (-L, L, L)
        what = "poles and zeros" if roots else "default"
    x0, x1, y1 = box
    x0, x1 = min(x0, 0.0), max(x1, 0.0)
    if math.isfinite(real_end):
        x0 = min(x0, real_end)
    if math.isfinite(imag_end):
        y1 = max(y1, imag_end)
    span = max(x1 - x0, 2 * y1, 2.0)
    pad = 0.08 * span
    x0, x1, y1 = x0 - pad, x1 + pad, max(y1 + pad, 0.5 * span / 1.6)
    return {"re": [float(x0), float(x1)], "im": [float(-y1), float(y1)], "from": what}


def _outer_radius(P: np.ndarray, Q: np.ndarray, bounded_stable: bool) -> float:
    """A radius beyond which |R| > 1 (bounded stable set) or |R| < 1 (bounded unstable set)
    everywhere, from the triangle inequality on the coefficients."""
    aP, aQ = np.abs(P), np.abs(Q)

    def beyond(r: float) -> bool:
        # |lead| r^n > (sum of the other terms): divide by r^n so nothing overflows
        with np.errstate(all="ignore"):
            if bounded_stable:  # |P| >= |p_n| r^n - sum_{k<n} |p_k| r^k > sum |q_k| r^k >= |Q|
                n, lead, rest = len(P) - 1, aP[-1], [(aP[:-1], 0), (aQ, 0)]
            else:
                n, lead, rest = len(Q) - 1, aQ[-1], [(aQ[:-1], 0), (aP, 0)]
            total = 0.0
            for c, _ in rest:
                k = np.arange(len(c))
                total += float(np.sum(c * np.power(float(r), (k - n).astype(float))))
            return bool(lead > total)

    r = 1.0
    while not beyond(r) and r < 1e8:
        r *= 2.0
    return min(r, 1e8)


def _polar_box(R: Callable[[np.ndarray], np.ndarray], inside: Callable[[np.ndarray], np.ndarray], r0: float,
               n_angles: int = 181, n_radii: int = 600) -> tuple[float, float, float] | None:
    th = np.linspace(0.0, np.pi, n_angles)
    r = np.linspace(0.0, r0, n_radii + 1)[1:]
    Zg = r[None, :] * np.exp(1j * th)[:, None]
    with np.errstate(all="ignore"):
        V = np.abs(R(Zg))
    mask = inside(np.where(np.isfinite(V), V, np.inf))
    if not np.any(mask):
        return None
    pts = Zg[mask]
    return float(np.min(pts.real)), float(np.max(pts.real)), float(np.max(pts.imag))


# ---------------------------------------------------------------------------- the info object
@dataclass(frozen=True, eq=False)
class StabilityInfo:
    """Stability data of a method.

    ``real_interval`` is ``(x_min, 0)``: the largest segment ``[x_min, 0]`` of the negative
    real axis inside the region (``-inf`` when unbounded). ``imag_limit`` is ``y_max`` such
    that ``[-i y_max, i y_max]`` lies in the region (0 when only the origin does, ``inf``
    when the whole axis does); ``imag_excess`` describes how little |R(iy)| exceeds 1 when
    ``imag_limit`` is 0 because of a tiny excess near 0. ``verdicts`` holds the
    A-/L-/algebraic stability verdicts (:mod:`analysis.stability_verdicts`).
    """

    function: StabilityFunction
    real_interval: tuple[float, float]
    imag_limit: float
    a_stable_on_axis: bool
    intervals_arithmetic: str
    imag_excess: dict[str, Any] | None
    window: dict[str, Any]
    verdicts: Any = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def R(self) -> sp.Expr:
        return self.function.expr()

    @property
    def is_polynomial(self) -> bool:
        return self.function.is_polynomial

    @property
    def R_text(self) -> str:
        return self.function.text()

    @property
    def R_ascending(self) -> str:
        """R(z) as text with powers of z ascending and ``Q(0) = 1``."""
        return self.function.text()

    def latex(self) -> str:
        """R(z) in LaTeX, powers ascending."""
        return self.function.latex()

    def imaginary_text(self) -> str:
        """The imaginary interval in words (the tiny-excess case spelled out)."""
        hi = self.imag_limit
        if not math.isfinite(hi):
            return "the whole axis"
        if hi > 0:
            return f"[-{hi:.6g}i, {hi:.6g}i]"
        ex = self.imag_excess
        if ex is None:
            return "only 0 (|R(iy)| > 1 for small y != 0)"
        if not ex.get("tiny"):
            return f"only 0 (|R(iy)|^2 - 1 = {ex['leading_coefficient']:.3g} y^{ex['leading_power']} + ... > 0 for small y != 0)"
        lim = ex["within_tolerance_up_to"]
        lim_t = "every y" if not math.isfinite(lim) else f"|y| <= {lim:.4g}"
        return (f"only 0, but |R(iy)| exceeds 1 only slightly near 0: |R(iy)|^2 - 1 = "
                f"{ex['leading_coefficient']:.2g} y^{ex['leading_power']} + ..., and |R(iy)| <= 1 + {ex['tolerance']:g} for {lim_t}")

    def to_json(self) -> dict[str, Any]:
        p, q = self.function.sympy_coefficients()
        d: dict[str, Any] = {
            "R": self.R_text,
            "polynomial": self.is_polynomial,
            "numerator": [sp.sstr(c) for c in p],
            "denominator": [sp.sstr(c) for c in q],
            "degrees": list(self.function.degrees),
            "arithmetic": self.function.kind,
            "real_interval": [_json_float(self.real_interval[0]), 0.0],
            "imag_interval": [_json_float(-self.imag_limit), _json_float(self.imag_limit)],
            "intervals_arithmetic": self.intervals_arithmetic,
            "imag_excess": None if self.imag_excess is None else {k: _json_float(v) if isinstance(v, float) else v for k, v in self.imag_excess.items()},
            "plot_window": self.window,
            "notes": list(self.notes),
        }
        if self.verdicts is not None:
            d.update(self.verdicts.to_json())
        return d


def _json_float(x: float) -> float | str:
    return x if np.isfinite(x) else ("-inf" if x < 0 else "inf")


def stability(tableau: ButcherTableau, *, exact: bool | None = None, verdicts: bool = True) -> StabilityInfo:
    """Stability function, real and imaginary stability intervals, plot window and (with
    ``verdicts``) the A-/L-/A(alpha)-/algebraic stability and stiff accuracy verdicts
    (cached on the tableau)."""
    key = f"stability-{exact}-{verdicts}"
    hit = tableau._cache.get(key)
    if hit is not None:
        return hit
    Rf = stability_rational(tableau, exact)
    real, imag, whole = _intervals(Rf)
    notes = tuple(n for n in (Rf.note,) if n)
    window = plot_window(Rf, real.end, imag.end)
    info = StabilityInfo(Rf, (real.end, 0.0), imag.end, whole, real.arithmetic if real.arithmetic == imag.arithmetic else f"{real.arithmetic}/{imag.arithmetic}",
                         imag.excess, window, None, notes)
    if verdicts:
        from .stability_verdicts import stability_verdicts

        object.__setattr__(info, "verdicts", stability_verdicts(tableau, info, exact=exact))
    tableau._cache[key] = info
    return info


def region_grid(
    tableau: ButcherTableau,
    re: tuple[float, float] | None = None,
    im: tuple[float, float] | None = None,
    n: int = 301,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, |R(X + iY)|)`` on an ``n x n`` grid, for contour plots of the region.

    The default box is :func:`plot_window` (taken from |R| itself)."""
    Rf = stability_rational(tableau, exact=False if not tableau.is_exact else None)
    if re is None or im is None:
        st = stability(tableau, verdicts=False)
        re = re or tuple(st.window["re"])
        im = im or tuple(st.window["im"])
    x = np.linspace(re[0], re[1], n)
    y = np.linspace(im[0], im[1], n)
    X, Y = np.meshgrid(x, y)
    M = np.abs(Rf.evaluator()(X + 1j * Y))
    return X, Y, M
