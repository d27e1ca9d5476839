"""The residual polynomial of an R2N2 polynomial iteration and its exact forms (no torch).

R2N2 on a linear system ``A x = rhs`` uses ``f(x) = rhs - A x``; one outer iteration with the
tableau ``(W, b)`` and scale ``h`` maps the error ``e = x - x*`` (and the residual
``r = rhs - A x``) by the residual polynomial::

    e_{k+1} = q(A) e_k,      q(lambda) = R(-h lambda) = 1 + sum_k (b^T W^(k-1) 1) (-h lambda)^k

where ``R`` is the stability polynomial of the tableau; ``q(0) = 1`` always, and one outer
iteration costs ``n`` matrix-vector products. This module holds q as float coefficients, as
a sympy polynomial in :data:`LAMBDA` (exact when it can be found), evaluated the way the
iteration computes it, its roots, its text and LaTeX forms, and the way back from
coefficients to an exact tableau (shift form, normalisation to ``sum(b) = 1``). It imports
numpy, sympy and :mod:`.errors`, :mod:`.linear_stability`, :mod:`.rationals`, :mod:`.tableau`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .errors import AnalysisInputError
from .linear_stability import Z, stability_function, stability_polynomial_coefficients
from .rationals import rationalize, rationalize_value
from .tableau import ButcherTableau

__all__ = [
    "LAMBDA",
    "LAM_TEXT",
    "polynomial_coefficients",
    "residual_polynomial",
    "exact_residual_polynomial",
    "coefficients_of",
    "q_values",
    "tableau_for_polynomial",
    "shift_form",
    "normalise",
    "polynomial_roots",
    "polynomial_text",
    "polynomial_latex",
]

LAMBDA = sp.Symbol("lambda")
LAM_TEXT = sp.Symbol("lam")  # the variable of the text forms (readable by sympy.sympify)


def polynomial_coefficients(tableau: ButcherTableau, h: float) -> np.ndarray:
    """Float coefficients ``[1, a_1, ..., a_n]`` of ``q(lambda) = R(-h lambda)``, ascending."""
    c = stability_polynomial_coefficients(tableau)
    return np.array([c[k] * (-float(h)) ** k for k in range(len(c))])


def residual_polynomial(tableau: ButcherTableau, h: Any) -> sp.Expr:
    """``q(lambda) = R(-h lambda)`` as a sympy polynomial in :data:`LAMBDA`; exact when the
    tableau is exact and ``h`` is an exact number (int, Fraction, sympy)."""
    if not tableau.is_explicit:
        raise AnalysisInputError("a polynomial iteration needs an explicit tableau (strictly lower triangular W)")
    R = stability_function(tableau)
    hh = _to_exact(h)
    hh = sp.Float(hh, 17) if isinstance(hh, float) else hh
    return sp.expand(R.subs(Z, -hh * LAMBDA))


def coefficients_of(expr: sp.Expr, n: int) -> list[sp.Expr]:
    """The coefficients ``[a_0, ..., a_n]`` of a polynomial in :data:`LAMBDA`, ascending."""
    p = sp.Poly(expr, LAMBDA)
    out = [sp.Integer(0)] * (n + 1)
    for (k,), c in p.terms():
        out[k] = c
    return out


def exact_residual_polynomial(tableau: ButcherTableau, h: float, tol: float = 1e-14) -> tuple[sp.Expr, str, ButcherTableau | None, sp.Expr | None]:
    """The residual polynomial exactly when it can be found.

    Tries, in order: an exact tableau with an exact-looking ``h``; the float tableau and
    ``h`` rationalised entry by entry (continued fractions, then surds, within ``tol``); the
    float coefficients of q rationalised one by one. Returns ``(q, source, exact tableau or
    None, exact h or None)``; ``source`` is ``"float"`` when nothing exact was found (then
    q has float coefficients).
    """
    h_ex = rationalize_value(h, tol=tol)
    if tableau.is_exact and h_ex is not None:
        return residual_polynomial(tableau, h_ex), "exact tableau", tableau, h_ex
    if h_ex is not None:
        rt = rationalize(tableau, tol=tol)
        if rt is not None:
            return residual_polynomial(rt, h_ex), "rationalised tableau and h", rt, h_ex
    coeffs = polynomial_coefficients(tableau, h)
    ex = []
    for k, a in enumerate(coeffs):
        if k == 0:
            ex.append(sp.Integer(1))
            continue
        v = rationalize_value(float(a), tol=tol, surds=False)
        if v is None:
            ex = []
            break
        ex.append(v)
    if ex:
        return sp.Add(*[c * LAMBDA**k for k, c in enumerate(ex)]), "rationalised coefficients", None, None
    return sp.Add(*[sp.Float(float(c), 17) * LAMBDA**k for k, c in enumerate(coeffs)]), "float", None, None


def q_values(W: np.ndarray, b: np.ndarray, h: float, lam: np.ndarray) -> np.ndarray:
    """``q(lambda)`` evaluated the way the iteration computes it (one outer iteration on the
    scalar problems ``y' = -lambda y`` from ``y = 1``): stable for any degree."""
    lam = np.asarray(lam)
    y = np.ones_like(lam, dtype=complex if np.iscomplexobj(lam) else np.float64)
    vs: list[np.ndarray] = []
    n = len(b)
    for j in range(n):
        arg = y.copy()
        for l in range(j):
            if W[j, l] != 0.0:
                arg = arg + h * W[j, l] * vs[l]
        vs.append(-lam * arg)
    out = y.copy()
    for j in range(n):
        out = out + h * b[j] * vs[j]
    return out


def _to_exact(x: Any) -> Any:
    """Fraction/int -> sympy Rational/Integer; sympy stays; anything else -> float."""
    if isinstance(x, bool):
        raise AnalysisInputError(f"expected a number, got {x!r}")
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, sp.Expr):
        return x if not isinstance(x, sp.Float) else float(x)
    return float(x)


def tableau_for_polynomial(coefficients: Sequence[Any], h: Any = 1, name: str | None = None) -> ButcherTableau:
    """An explicit tableau whose residual polynomial with scale ``h`` is
    ``q(lambda) = sum_k coefficients[k] lambda^k`` (``coefficients[0]`` must be 1).

    Shift form: ``W`` has ones on the subdiagonal, so ``b^T W^(k-1) 1 = sum_{j>=k} b_j`` and
    ``b_j = c_j - c_{j+1}`` with ``c_k = a_k / (-h)^k``. Exact when the inputs are exact.
    """
    co = [_to_exact(c) for c in coefficients]
    if len(co) < 2:
        raise AnalysisInputError("a residual polynomial needs degree >= 1")
    exact = all(isinstance(c, sp.Expr) and not c.has(sp.Float) for c in co) and not isinstance(_to_exact(h), float)
    one = co[0] - 1
    if (exact and sp.simplify(one) != 0) or (not exact and abs(float(one)) > 1e-12):
        raise AnalysisInputError(f"a residual polynomial must have q(0) = 1, got q(0) = {co[0]}")
    n = len(co) - 1
    if exact:
        hh = _to_exact(h)
        c = [sp.Integer(0)] + [sp.expand(co[k] / (-hh) ** k) for k in range(1, n + 1)] + [sp.Integer(0)]
        b = [sp.expand(c[j] - c[j + 1]) for j in range(1, n + 1)]
        A = [[sp.Integer(1) if l == j - 1 else sp.Integer(0) for l in range(n)] for j in range(n)]
    else:
        hf = float(h)
        c = [0.0] + [float(co[k]) / (-hf) ** k for k in range(1, n + 1)] + [0.0]
        b = [c[j] - c[j + 1] for j in range(1, n + 1)]
        A = [[1.0 if l == j - 1 else 0.0 for l in range(n)] for j in range(n)]
    return ButcherTableau(A, b, name=name)


def shift_form(coefficients: Sequence[Any]) -> tuple[ButcherTableau, Any]:
    """:func:`tableau_for_polynomial` normalised to ``sum(b) = 1``: ``h = -a_1`` (when
    ``a_1 < 0``, else ``h = 1``). Returns ``(tableau, h)``, exact for exact input."""
    a1 = _to_exact(coefficients[1])
    neg = (a1 < 0) if isinstance(a1, sp.Expr) else float(a1) < 0
    h = -a1 if neg else (sp.Integer(1) if isinstance(a1, sp.Expr) else 1.0)
    return tableau_for_polynomial(coefficients, h), h


def normalise(tableau: ButcherTableau, h: Any) -> tuple[ButcherTableau, Any]:
    """The same residual polynomial with ``sum(b) = 1``: ``W / s``, ``b / s``, ``h s`` for
    ``s = sum(b) > 0`` (exact for an exact tableau); unchanged when ``s <= 0`` or ``s = 1``."""
    if tableau.exact is not None:
        s_ex = sp.expand(sum(tableau.exact.b, sp.Integer(0)))
        if s_ex == 1 or not (s_ex > 0):
            return tableau, h
        A = [[sp.expand(x / s_ex) for x in row] for row in tableau.exact.A]
        b = [sp.expand(x / s_ex) for x in tableau.exact.b]
        hh = _to_exact(h)
        return ButcherTableau(A, b, name=tableau.name), (sp.expand(hh * s_ex) if isinstance(hh, sp.Expr) else hh * float(s_ex))
    s = float(np.sum(tableau.b))
    if s == 1.0 or not s > 0:
        return tableau, h
    return ButcherTableau(np.asarray(tableau.A) / s, np.asarray(tableau.b) / s, name=tableau.name), float(h) * s


def polynomial_roots(coefficients: Sequence[Any], scale: float = 1.0) -> np.ndarray:
    """Roots of ``sum_k a_k lambda^k`` sorted by real part: exact root isolation (sympy
    ``all_roots``, repeated roots included) for exact coefficients, otherwise numpy in the
    scaled variable ``lambda / scale``."""
    if any(isinstance(c, sp.Expr) and not isinstance(c, sp.Float) for c in coefficients):
        p = sp.Poly(sp.Add(*[_number(c) * LAMBDA**k for k, c in enumerate(coefficients)]), LAMBDA)
        if p.degree() < 1:
            return np.zeros(0, dtype=complex)
        try:  # exact real/complex root isolation: handles repeated roots
            r = np.array([complex(sp.N(v, 20)) for v in p.all_roots()], dtype=complex)
        except (NotImplementedError, sp.PolynomialError, sp.DomainError):
            a = np.array([float(c) for c in coefficients])
            return polynomial_roots(list(a), scale=scale)
    else:
        a = np.array([float(c) for c in coefficients])
        a = np.trim_zeros(a * scale ** np.arange(len(a)), "b")
        if len(a) < 2:
            return np.zeros(0, dtype=complex)
        r = np.polynomial.polynomial.polyroots(a).astype(complex) * scale
    return r[np.lexsort((r.imag, r.real))]


def polynomial_text(q: sp.Expr) -> str:
    """Text in the variable ``lam`` (``lambda`` is a Python keyword, so sympify could not
    read it back)."""
    return sp.sstr(sp.expand(q.subs(LAMBDA, LAM_TEXT)), order="rev-lex")


def polynomial_latex(q: sp.Expr) -> str:
    """LaTeX in ``\\lambda``, highest power first."""
    return sp.latex(sp.expand(q), order="rev-lex")


def _number(c: Any) -> sp.Expr:
    """A coefficient as a sympy number without parsing text (sympy objects as they are)."""
    if isinstance(c, sp.Basic):
        return c
    if isinstance(c, Fraction):
        return sp.Rational(c.numerator, c.denominator)
    if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
        return sp.Integer(int(c))
    return sp.Float(float(c))
