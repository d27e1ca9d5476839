"""From floats to exact numbers: continued fractions first, then surds.

A float ``x`` becomes the first continued-fraction convergent ``p/q`` within ``tol`` of
``x`` whose denominator is small enough to be significant at that tolerance
(``q^2 tol <= 1e-4``, and ``q <= max_denominator``): any real number has convergents with
``|x - p/q| < 1/q^2``, so a larger ``q`` would "match" noise. Failing that,
an integer relation among ``1, x, x^2`` (PSLQ) finds quadratic surds ``p + q sqrt(k)``,
with coefficients bounded by the same significance rule. A
candidate is accepted only when it reproduces ``x`` within ``tol``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import math

import mpmath
import sympy as sp

from .tableau import ButcherTableau

__all__ = ["convergents", "rationalize_value", "rationalize", "DEFAULT_MAX_DENOMINATOR", "DEFAULT_TOL"]

DEFAULT_MAX_DENOMINATOR = 10**6
_SIGNIFICANCE = 1e-4
DEFAULT_TOL = 1e-14


def _as_fraction(x: Any) -> Fraction:
    if isinstance(x, mpmath.mpf):
        sign, man, exp, _ = x._mpf_
        man = -int(man) if sign else int(man)
        return Fraction(man * 2**exp) if exp >= 0 else Fraction(man, 2 ** (-exp))
    return Fraction(float(x)) if not isinstance(x, Fraction) else x


def convergents(x: Fraction, max_denominator: int | None = None):
    """Continued-fraction convergents of x (denominators up to ``max_denominator``)."""
    p0, q0, p1, q1 = 0, 1, 1, 0
    n, d = x.numerator, x.denominator
    while d:
        a = n // d
        n, d = d, n - a * d
        p0, q0, p1, q1 = p1, q1, a * p1 + p0, a * q1 + q0
        if max_denominator is not None and q1 > max_denominator:
            return
        yield Fraction(p1, q1)


def rationalize_value(
    x: Any,
    tol: float = DEFAULT_TOL,
    max_denominator: int = DEFAULT_MAX_DENOMINATOR,
    surds: bool = True,
) -> sp.Expr | None:
    """The simplest exact number within ``tol`` of ``x`` (float or mpmath number), or None.

    ``tol`` is absolute for ``|x| <= 1`` and relative above.
    """
    fx = _as_fraction(x)
    bound = tol * max(1.0, abs(float(fx)))
    q_max = min(max_denominator, int((_SIGNIFICANCE / bound) ** 0.5))
    for cand in convergents(fx, q_max):
        if abs(float(cand - fx)) <= bound:
            return sp.Rational(cand.numerator, cand.denominator)
    if not surds:
        return None
    return _quadratic_surd(x, bound)


def _quadratic_surd(x: Any, bound: float) -> sp.Expr | None:
    """``x`` as a root of ``a x^2 + b x + c`` with small integers (so ``p + q sqrt(k)``), found
    by an integer relation (PSLQ) among ``1, x, x^2``; None when none is significant."""
    digits = max(17, int(-math.log10(bound)) + 6)
    with mpmath.workdps(digits):
        xm = mpmath.mpf(x) if isinstance(x, mpmath.mpf) else mpmath.mpf(float(x))
        max_coeff = max(2, int((_SIGNIFICANCE * 0.1 / bound) ** (1.0 / 3.0)))
        try:
            poly = mpmath.findpoly(xm, 2, maxcoeff=max_coeff, tol=bound)
        except (ValueError, ZeroDivisionError):
            return None
        if not poly or len(poly) < 3:
            return None
        a, b, c = (int(v) for v in poly)
        disc = b * b - 4 * a * c
        if disc <= 0:
            return None
        roots = [(-b + sgn * sp.sqrt(disc)) / (2 * a) for sgn in (1, -1)]
        best = min(roots, key=lambda r: abs(mpmath.mpf(sp.N(r, digits + 5)) - xm))
        if abs(mpmath.mpf(sp.N(best, digits + 5)) - xm) > bound:
            return None
        return sp.radsimp(sp.expand(best))


def rationalize(
    tableau: ButcherTableau | None = None,
    *,
    A: Sequence[Sequence[Any]] | None = None,
    b: Sequence[Any] | None = None,
    tol: float = DEFAULT_TOL,
    max_denominator: int = DEFAULT_MAX_DENOMINATOR,
    surds: bool = True,
    explicit: bool | None = None,
    name: str | None = None,
) -> ButcherTableau | None:
    """Exact tableau whose entries reproduce the given ones within ``tol``, or None.

    Pass a float ``tableau``, or high-precision coefficients ``A`` and ``b`` (e.g. mpmath
    numbers from polishing). Nodes are recomputed as exact row sums. For explicit methods
    the entries on and above the diagonal are taken as exactly zero.
    """
    bh_vals = None
    if tableau is not None:
        A_vals = tableau.A.tolist()
        b_vals = tableau.b.tolist()
        bh_vals = None if tableau.b_hat is None else tableau.b_hat.tolist()
        explicit = tableau.is_explicit if explicit is None else explicit
        name = name or tableau.name
    else:
        if A is None or b is None:
            raise ValueError("rationalize needs a tableau or both A and b")
        A_vals = [list(r) for r in A]
        b_vals = list(b)
    s = len(b_vals)
    exact_A = []
    cache: dict[Any, sp.Expr | None] = {}

    def conv(v: Any) -> sp.Expr | None:
        key = v if isinstance(v, (float, int)) else str(v)
        if key not in cache:
            cache[key] = rationalize_value(v, tol=tol, max_denominator=max_denominator, surds=surds)
        return cache[key]

    for i in range(s):
        row = []
        for j in range(s):
            if explicit and j >= i:
                if abs(float(A_vals[i][j])) > tol:
                    return None
                row.append(sp.Integer(0))
                continue
            v = conv(A_vals[i][j])
            if v is None:
                return None
            row.append(v)
        exact_A.append(row)
    exact_b = [conv(v) for v in b_vals]
    exact_bh = None if bh_vals is None else [conv(v) for v in bh_vals]
    if any(e is None for e in exact_b + (exact_bh or [])):
        return None
    return ButcherTableau(A=exact_A, b=exact_b, b_hat=exact_bh, name=name)
