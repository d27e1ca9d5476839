"""Exact arithmetic in a real number field Q(theta), fast enough for order conditions.

A tableau whose entries involve square roots (Gauss, Radau, Lobatto, SDIRK methods), other
radicals or cosines of rational multiples of pi lives in a number field ``K = Q(theta)``:
``theta`` is a primitive element found once by sympy (``primitive_element``), rescaled so
that its minimal polynomial ``f`` is monic with integer coefficients. An element is the
vector of its rational coordinates in the basis ``1, theta, ..., theta^(n-1)``; products are
polynomial products reduced modulo ``f``. The arithmetic never approximates: zero is the
zero vector.

For the order conditions the vectors are scaled to integers with one common denominator
per coefficient array and processed a whole order of trees at a time (numpy object arrays
of Python integers): one tree costs a few vectorised integer operations instead of many
rational ones, which makes exact Gauss-Legendre 5 (a degree-8 field) take a fraction of a
second. :func:`number_field` refuses fields whose degree exceeds a bound (the caller then
falls back to 60-digit arithmetic).

Imports only the standard library, gmpy2, numpy, sympy and mpmath.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import gmpy2
import mpmath
import numpy as np
import sympy as sp
from gmpy2 import mpq

from .numbers import as_sympy

__all__ = ["NumberField", "RATIONALS", "NotInField", "algebraic_generators", "degree_bound", "number_field", "MAX_FIELD_DEGREE"]

#: Largest field degree :func:`number_field` accepts (Gauss-Legendre 5 needs 8).
MAX_FIELD_DEGREE = 32
_DPS = 80


class NotInField(ValueError):
    """An expression that is not (recognisably) an element of a real number field."""


def _is_trig_of_rational_pi(e: sp.Expr) -> bool:
    return isinstance(e, (sp.cos, sp.sin)) and (e.args[0] / sp.pi).is_Rational


def algebraic_generators(exprs: Sequence[sp.Expr]) -> list[sp.Expr]:
    """The radicals ``base**(p/q)`` and ``cos``/``sin`` of rational multiples of pi the
    expressions are built from (nested ones included), in a stable order.

    Raises :class:`NotInField` for anything else (``pi`` alone, ``exp(1)``, ``log(2)``, ...).
    """
    found: dict[sp.Expr, None] = {}

    def walk(e: sp.Expr) -> None:
        if e.is_Rational:
            return
        if e.is_Add or e.is_Mul:
            for a in e.args:
                walk(a)
            return
        if e.is_Pow:
            if e.exp.is_Integer:
                walk(e.base)
                return
            if e.exp.is_Rational:
                walk(e.base)
                root = _root(e)
                if root.is_Pow and root.exp == sp.Rational(1, e.exp.q):
                    found.setdefault(root)
                else:
                    walk(root)
                return
        if _is_trig_of_rational_pi(e):
            found.setdefault(e)
            return
        raise NotInField(f"{sp.sstr(e)} is not an algebraic number built from radicals")

    for x in exprs:
        walk(as_sympy(x))
    return sorted(found, key=sp.default_sort_key)


def _root(e: sp.Expr) -> sp.Expr:
    """``base**(1/q)`` for a radical ``base**(p/q)``."""
    return sp.Pow(e.base, sp.Rational(1, int(e.exp.q)))


def degree_bound(generators: Sequence[sp.Expr]) -> int:
    """An upper bound of the degree of ``Q(generators)``: the product of the radical indices
    ``q`` of ``base**(1/q)`` and of the degrees ``phi(n)/2`` of ``cos(2 pi k/n)`` (sines are
    cosines of ``pi/2 - x``)."""
    d = 1
    for g in generators:
        if g.is_Pow:
            d *= int(g.exp.q)
        else:
            r = g.args[0] / sp.pi
            if isinstance(g, sp.sin):
                r = sp.Rational(1, 2) - r
            n = int((r / 2).q)  # cos(2 pi k/n), k/n in lowest terms
            d *= max(1, int(sp.totient(n)) // 2) if n > 2 else 1
        if d > 10**6:
            return d
    return d


# ------------------------------------------------------------------ dense polynomials
def _trim(p: list[Any]) -> list[Any]:
    while p and p[-1] == 0:
        p.pop()
    return p


def _pmul(a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
    if not a or not b:
        return []
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


@dataclass(frozen=True, eq=False)
class NumberField:
    """``Q(theta) = Q[x]/(f)`` with ``f`` monic with integer coefficients.

    ``f`` is ascending (``f[n] = 1``); ``theta`` the real root that the generators pick
    (80 digits); ``theta_expr`` that root as a sympy expression in the generators. Scalar
    elements are tuples of ``n`` rationals (gmpy2 ``mpq``) (ascending coordinates).
    """

    f: tuple[int, ...]
    theta: mpmath.mpf
    theta_expr: sp.Expr
    generators: tuple[sp.Expr, ...]
    generator_elements: tuple[tuple[mpq, ...], ...]

    @property
    def degree(self) -> int:
        return len(self.f) - 1

    # ---------------------------------------------------------------- scalar arithmetic
    def zero(self) -> tuple[mpq, ...]:
        return (mpq(0),) * self.degree

    def rational(self, q: Any) -> tuple[mpq, ...]:
        return (mpq(q),) + (mpq(0),) * (self.degree - 1)

    def reduce(self, p: list[Any]) -> list[Any]:
        """``p mod f`` for an ascending coefficient list (any exact number type)."""
        n = self.degree
        p = list(p)
        f = self.f
        for k in range(len(p) - 1, n - 1, -1):
            c = p[k]
            if c:
                for i in range(n):
                    if f[i]:
                        p[k - n + i] -= c * f[i]
            p[k] = 0
        p = p[:n]
        return p + [0] * (n - len(p))

    def add(self, a: Sequence[mpq], b: Sequence[mpq]) -> tuple[mpq, ...]:
        return tuple(x + y for x, y in zip(a, b))

    def sub(self, a: Sequence[mpq], b: Sequence[mpq]) -> tuple[mpq, ...]:
        return tuple(x - y for x, y in zip(a, b))

    def neg(self, a: Sequence[mpq]) -> tuple[mpq, ...]:
        return tuple(-x for x in a)

    def mul(self, a: Sequence[mpq], b: Sequence[mpq]) -> tuple[mpq, ...]:
        return tuple(mpq(x) for x in self.reduce(_pmul(a, b)))

    def inv(self, a: Sequence[mpq]) -> tuple[mpq, ...]:
        """``1/a`` by the extended Euclidean algorithm on ``a`` and ``f`` over Q."""
        if self.is_zero(a):
            raise ZeroDivisionError("division by zero in a number field")
        r0, r1 = [mpq(c) for c in self.f], _trim([mpq(c) for c in a])
        s0, s1 = [], [mpq(1)]
        while len(r1) > 1:
            q, r = _pdivmod(r0, r1)
            r0, r1 = r1, r
            s0, s1 = s1, _psub(s0, _pmul(q, s1))
        c = r1[0]
        return tuple(mpq(x) for x in self.reduce([x / c for x in s1]))

    def power(self, a: Sequence[mpq], k: int) -> tuple[mpq, ...]:
        if k < 0:
            return self.power(self.inv(a), -k)
        out = self.rational(1)
        base = tuple(a)
        while k:
            if k & 1:
                out = self.mul(out, base)
            base = self.mul(base, base)
            k >>= 1
        return out

    @staticmethod
    def is_zero(a: Sequence[mpq]) -> bool:
        return not any(a)

    @staticmethod
    def is_rational(a: Sequence[mpq]) -> bool:
        return not any(a[1:])

    def to_mpf(self, a: Sequence[Any], dps: int = 60) -> mpmath.mpf:
        with mpmath.workdps(dps + 20):
            acc = mpmath.mpf(0)
            for c in reversed(list(a)):
                acc = acc * self.theta + mpmath.mpf(int(c.numerator)) / int(c.denominator)
            return +acc

    def to_float(self, a: Sequence[mpq]) -> float:
        if self.is_rational(a):
            return float(a[0])
        return float(self.to_mpf(a, 30))

    def sign(self, a: Sequence[mpq]) -> int:
        """-1, 0 or 1, exactly (a nonzero element is evaluated until its sign is certain)."""
        if self.is_zero(a):
            return 0
        if self.is_rational(a):
            return 1 if a[0] > 0 else -1
        for dps in (30, 120, 500):
            v = self.to_mpf(a, dps)
            if abs(v) > mpmath.mpf(10) ** (-(dps // 2)):
                return 1 if v > 0 else -1
        return 1 if self.to_mpf(a, 2000) > 0 else -1

    def to_sympy(self, a: Sequence[mpq]) -> sp.Expr:
        """The element as a sympy number: a Rational when it is one; for a quadratic field
        ``p + q sqrt(d)``; otherwise a polynomial in the generators (exact, not short)."""
        if self.is_rational(a):
            return sp.Rational(a[0].numerator, a[0].denominator)
        expr = sp.Add(*[sp.Rational(c.numerator, c.denominator) * self.theta_expr**k for k, c in enumerate(a) if c])
        return sp.radsimp(sp.expand(expr)) if self.degree <= 2 else sp.expand(expr)

    # ---------------------------------------------------------------- conversion
    def element(self, expr: sp.Expr) -> tuple[mpq, ...]:
        """The coordinates of a sympy number built from the field's generators."""
        memo: dict[sp.Expr, tuple[mpq, ...]] = {g: e for g, e in zip(self.generators, self.generator_elements)}

        def conv(e: sp.Expr) -> tuple[mpq, ...]:
            if e in memo:
                return memo[e]
            if e.is_Rational:
                out = self.rational(mpq(int(e.p), int(e.q)))
            elif e.is_Add:
                out = self.zero()
                for t in e.args:
                    out = self.add(out, conv(t))
            elif e.is_Mul:
                out = self.rational(1)
                for t in e.args:
                    out = self.mul(out, conv(t))
            elif e.is_Pow and e.exp.is_Integer:
                out = self.power(conv(e.base), int(e.exp))
            elif e.is_Pow and e.exp.is_Rational:
                out = self.power(conv(_root(e)), int(e.exp.p))
            else:
                raise NotInField(f"{sp.sstr(e)} is not built from the generators of {self}")
            memo[e] = out
            return out

        return conv(as_sympy(expr))

    def __repr__(self) -> str:
        return f"NumberField(degree {self.degree}, generators {', '.join(sp.sstr(g) for g in self.generators)})"

    # ---------------------------------------------------------------- integer arrays
    def integral(self, elements: Sequence[Sequence[mpq]], shape: tuple[int, ...]) -> tuple[np.ndarray, int]:
        """Elements as an object array of integers of shape ``shape + (n,)`` and the common
        denominator ``d`` (element = array / d)."""
        d = gmpy2.mpz(1)
        for e in elements:
            for c in e:
                d = gmpy2.lcm(d, c.denominator)
        out = np.empty((len(elements), self.degree), dtype=object)
        for i, e in enumerate(elements):
            for k, c in enumerate(e):
                out[i, k] = c.numerator * (d // c.denominator)
        return out.reshape(shape + (self.degree,)), d

    def vreduce(self, Z: np.ndarray) -> np.ndarray:
        """Reduce an object array ``(..., m)`` of polynomial coordinates modulo ``f``."""
        n = self.degree
        m = Z.shape[-1]
        f = self.f
        for k in range(m - 1, n - 1, -1):
            c = Z[..., k]
            for i in range(n):
                if f[i]:
                    Z[..., k - n + i] -= c * f[i]
        return Z[..., :n]

    def vmul(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Elementwise product of two integer coordinate arrays ``(..., n)`` (broadcasting)."""
        n = self.degree
        if n == 1:
            return X * Y
        shape = np.broadcast_shapes(X.shape[:-1], Y.shape[:-1])
        Z = np.zeros(shape + (2 * n - 1,), dtype=object)
        for i in range(n):
            xi = X[..., i]
            for j in range(n):
                Z[..., i + j] += xi * Y[..., j]
        return self.vreduce(Z)

    def vmatvec(self, U: np.ndarray, A: np.ndarray) -> np.ndarray:
        """``V[t, i] = sum_j A[i, j] U[t, j]`` for ``U`` (N, s, n) and ``A`` (s, s, n)."""
        n = self.degree
        if n == 1:
            return (U[..., 0] @ A[..., 0].T)[..., None]
        Z = np.zeros(U.shape[:-1] + (2 * n - 1,), dtype=object)
        for i in range(n):
            ATi = np.ascontiguousarray(A[:, :, i].T)
            if not ATi.any():
                continue
            for k in range(n):
                Z[..., i + k] += U[..., k] @ ATi
        return self.vreduce(Z)

    def vdot(self, U: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``sum_j w[j] U[t, j]`` for ``U`` (N, s, n) and ``w`` (s, n) -> (N, n)."""
        n = self.degree
        if n == 1:
            return (U[..., 0] @ w[:, 0])[..., None]
        Z = np.zeros(U.shape[:1] + (2 * n - 1,), dtype=object)
        for i in range(n):
            wi = w[:, i]
            if not wi.any():
                continue
            for k in range(n):
                Z[:, i + k] += U[:, :, k] @ wi
        return self.vreduce(Z)


#: The field of rationals as a degree-1 :class:`NumberField` (``f = x``, ``theta = 0``).
RATIONALS = NumberField((0, 1), mpmath.mpf(0), sp.Integer(0), (), ())


def _psub(a: list[Any], b: list[Any]) -> list[Any]:
    n = max(len(a), len(b))
    return _trim([(a[i] if i < len(a) else 0) - (b[i] if i < len(b) else 0) for i in range(n)])


def _pdivmod(a: list[mpq], b: list[mpq]) -> tuple[list[mpq], list[mpq]]:
    a = list(a)
    q = [mpq(0)] * max(1, len(a) - len(b) + 1)
    lb = b[-1]
    while len(a) >= len(b) and a:
        c = a[-1] / lb
        k = len(a) - len(b)
        q[k] = c
        for i, y in enumerate(b):
            a[k + i] -= c * y
        a.pop()
        _trim(a)
    return _trim(q), a


def number_field(exprs: Sequence[sp.Expr], max_degree: int = MAX_FIELD_DEGREE) -> NumberField | None:
    """The real number field holding ``exprs`` (sympy numbers), or None when they are all
    rational. Raises :class:`NotInField` when they are not algebraic numbers built from
    radicals, involve non-real radicals, or need a field of degree above ``max_degree``
    (the bound of :func:`degree_bound` is tested before sympy is asked for anything)."""
    from sympy.polys.numberfields import primitive_element

    gens = algebraic_generators(exprs)
    if not gens:
        return None
    bound = degree_bound(gens)
    if bound > max_degree:
        raise NotInField(f"the entries need a number field of degree up to {bound} (more than {max_degree})")
    with mpmath.workdps(_DPS + 20):
        vals = [mpmath.mpmathify(sp.N(g, _DPS + 20)) for g in gens]
    if any(isinstance(v, mpmath.mpc) and abs(v.imag) > mpmath.mpf(10) ** (-_DPS) for v in vals):
        raise NotInField("an entry involves a radical of a negative number")
    x = sp.Symbol("x")
    fpoly, coeffs, reps = primitive_element(gens, x, ex=True)
    P = sp.Poly(fpoly, x)
    n = P.degree()
    if n > max_degree:
        raise NotInField(f"the entries need a number field of degree {n} (more than {max_degree})")
    ci = [int(c) for c in P.all_coeffs()]  # descending, integer, content 1
    lc = ci[0]
    # monic integer f for theta' = lc * theta: f'(y) = lc^(n-1) f(y / lc)
    f_desc = [ci[k] * lc ** (k - 1) if k >= 1 else 1 for k in range(n + 1)]
    f = tuple(int(v) for v in reversed(f_desc))
    with mpmath.workdps(_DPS + 20):
        theta0 = mpmath.fsum(int(c) * v for c, v in zip(coeffs, vals))
        theta = theta0 * lc
    theta_expr = lc * sp.Add(*[int(c) * g for c, g in zip(coeffs, gens)])
    elems = []
    for rep in reps:
        asc = [mpq(int(r.numerator), int(r.denominator)) for r in reversed(list(rep))]
        # g = sum a_k theta0^k = sum a_k (theta'/lc)^k
        elems.append(tuple(asc[k] / mpq(lc) ** k if k < len(asc) else mpq(0) for k in range(n)))
    K = NumberField(f, theta, theta_expr, tuple(gens), tuple(elems))
    # the representation must reproduce every generator's value (guards the root choice)
    for g, v, e in zip(gens, vals, elems):
        if abs(K.to_mpf(e, _DPS) - v) > mpmath.mpf(10) ** (-(_DPS // 2)) * max(1, abs(v)):
            raise NotInField(f"could not represent {sp.sstr(g)} in Q(theta)")
    return K
