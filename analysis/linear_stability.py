"""Linear stability: the stability function R(z) of a Runge-Kutta method.

Applied to ``y' = lambda y`` one step multiplies ``y`` by ``R(z)``, ``z = h lambda``::

    R(z) = det(I - z A + z 1 b^T) / det(I - z A)

For explicit methods ``R(z) = 1 + sum_k (b^T A^(k-1) 1) z^k`` is a polynomial of degree at
most ``s``. The stability region is ``{z : |R(z)| <= 1}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .tableau import ButcherTableau

__all__ = ["StabilityInfo", "stability_function", "stability_polynomial_coefficients", "stability", "region_grid", "Z"]

Z = sp.Symbol("z")


def stability_function(tableau: ButcherTableau, exact: bool | None = None) -> sp.Expr:
    """R(z) as a sympy expression (a polynomial for explicit methods, otherwise a
    rational function ``P/Q``), exact when the tableau is exact."""
    use_exact = tableau.is_exact if exact is None else exact
    s = tableau.stages
    if use_exact and tableau.exact is not None:
        A = sp.Matrix(tableau.exact.A)
        b = sp.Matrix(tableau.exact.b)
    else:
        A = sp.Matrix(tableau.A.tolist())
        b = sp.Matrix(tableau.b.tolist())
    one = sp.ones(s, 1)
    if tableau.is_explicit:
        coeffs = [sp.Integer(1)]
        v = one
        for _ in range(s):
            coeffs.append(sp.expand((b.T * v)[0]))
            v = A * v
        return sp.Add(*[c * Z**k for k, c in enumerate(coeffs)])
    eye = sp.eye(s)
    num = sp.expand((eye - Z * A + Z * one * b.T).det(method="berkowitz"))
    den = sp.expand((eye - Z * A).det(method="berkowitz"))
    if use_exact:
        num, den = sp.Poly(num, Z), sp.Poly(den, Z)
        g = sp.gcd(num, den)
        num, den = sp.quo(num, g), sp.quo(den, g)
        lc = den.LC()
        return sp.expand(num.as_expr() / lc) / sp.expand(den.as_expr() / lc)
    return num / den


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


def _numer_denom_float(R: sp.Expr) -> tuple[np.ndarray, np.ndarray]:
    num, den = sp.fraction(sp.together(R))
    P = np.array([float(c) for c in sp.Poly(num, Z).all_coeffs()[::-1]], dtype=np.float64)
    Q = np.array([float(c) for c in sp.Poly(den, Z).all_coeffs()[::-1]], dtype=np.float64)
    return P, Q


def _eval(P: np.ndarray, Q: np.ndarray, z: np.ndarray) -> np.ndarray:
    return np.polynomial.polynomial.polyval(z, P) / np.polynomial.polynomial.polyval(z, Q)


@dataclass(frozen=True)
class StabilityInfo:
    """Stability data of a method.

    ``real_interval`` is ``(x_min, 0)``: the largest segment ``[x_min, 0]`` of the negative
    real axis inside the region (``-inf`` when unbounded). ``imag_interval`` is ``y_max``
    such that ``[-i y_max, i y_max]`` lies in the region (0 when only the origin does,
    ``inf`` when the whole axis does).
    """

    R: sp.Expr
    is_polynomial: bool
    real_interval: tuple[float, float]
    imag_limit: float
    a_stable_on_axis: bool

    @property
    def R_text(self) -> str:
        return sp.sstr(self.R)

    @property
    def R_ascending(self) -> str:
        """R(z) as text with powers of z ascending: ``1 + z + z**2/2 + ...``."""
        asc = lambda e: sp.sstr(sp.expand(e), order="rev-lex")  # noqa: E731
        if self.is_polynomial:
            return asc(self.R)
        num, den = sp.fraction(sp.together(self.R))
        return f"({asc(num)}) / ({asc(den)})"

    def latex(self) -> str:
        """R(z) in LaTeX, powers ascending."""
        asc = lambda e: sp.latex(sp.expand(e), order="rev-lex")  # noqa: E731
        if self.is_polynomial:
            return asc(self.R)
        num, den = sp.fraction(sp.together(self.R))
        return f"\\frac{{{asc(num)}}}{{{asc(den)}}}"

    def to_json(self) -> dict[str, Any]:
        return {
            "R": self.R_text,
            "polynomial": self.is_polynomial,
            "real_interval": [_json_float(self.real_interval[0]), 0.0],
            "imag_interval": [_json_float(-self.imag_limit), _json_float(self.imag_limit)],
        }


def _json_float(x: float) -> float | str:
    return x if np.isfinite(x) else ("-inf" if x < 0 else "inf")


def stability(tableau: ButcherTableau, *, exact: bool | None = None, search: float = 1e3) -> StabilityInfo:
    """Stability function and the real and imaginary stability intervals.

    The interval ends are roots of ``|R|^2 - 1`` on each axis (polynomial roots); a root
    counts as the end when ``|R| > 1`` just beyond it. Intervals reaching ``search`` are
    reported as infinite.
    """
    R = stability_function(tableau, exact=exact)
    P, Q = _numer_denom_float(R)
    is_poly = len(Q) == 1
    P = P / Q[0] if is_poly else P
    Q = Q / Q[0] if is_poly else Q

    def absR(z: np.ndarray) -> np.ndarray:
        return np.abs(_eval(P, Q, np.asarray(z, dtype=complex)))

    # real axis: roots of P^2 - Q^2 (|R| = 1) on the negative axis
    poly = np.polynomial.polynomial
    real_roots = _real_roots(poly.polysub(poly.polymul(P, P), poly.polymul(Q, Q)))
    xmin = _first_exit(absR, sorted([r for r in real_roots if r < -1e-12], reverse=True), direction=-1.0, far=-search)
    # imaginary axis: |P(iy)|^2 - |Q(iy)|^2 as a polynomial in y
    Pi = _on_imag_axis(P)
    Qi = _on_imag_axis(Q)
    diff = poly.polysub(_abs2(Pi), _abs2(Qi))
    imag_roots = _real_roots(diff)
    ymax = _first_exit(lambda y: absR(1j * np.asarray(y)), sorted([r for r in imag_roots if r > 1e-12]), direction=1.0, far=search)
    return StabilityInfo(R=R, is_polynomial=is_poly, real_interval=(xmin, 0.0), imag_limit=ymax, a_stable_on_axis=bool(np.isinf(ymax)))


def _real_roots(coeffs: np.ndarray) -> list[float]:
    c = np.trim_zeros(np.asarray(coeffs, dtype=float), "b")
    if len(c) <= 1:
        return []
    scale = np.max(np.abs(c))
    c = np.where(np.abs(c) < 1e-14 * scale, 0.0, c)
    c = np.trim_zeros(c, "b")
    if len(c) <= 1:
        return []
    roots = np.polynomial.polynomial.polyroots(c)
    return [float(r.real) for r in roots if abs(r.imag) <= 1e-7 * max(1.0, abs(r))]


def _first_exit(absR, candidates: list[float], direction: float, far: float) -> float:
    """Walk from the origin along an axis through the points where ``|R| = 1``; return
    the first one after which ``|R| > 1`` (``direction * inf`` if there is none)."""
    prev = 0.0
    for r in candidates + [far]:
        if absR(np.array([0.5 * (prev + r)]))[0] > 1.0 + 1e-10:
            return prev
        prev = r
    return direction * np.inf


def _on_imag_axis(P: np.ndarray) -> np.ndarray:
    """Complex coefficients of P(i y) as a polynomial in y."""
    return np.array([c * (1j) ** k for k, c in enumerate(P)], dtype=complex)


def _abs2(Pc: np.ndarray) -> np.ndarray:
    """Coefficients of |P(iy)|^2 = P(iy) conj(P(iy)) for real y (real polynomial)."""
    prod = np.polynomial.polynomial.polymul(Pc, np.conj(Pc))
    return prod.real


def region_grid(
    tableau: ButcherTableau,
    re: tuple[float, float] | None = None,
    im: tuple[float, float] | None = None,
    n: int = 301,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, |R(X + iY)|)`` on an ``n x n`` grid, for contour plots of the region.

    The default box covers the real and imaginary stability intervals with a margin.
    """
    info_R = stability_function(tableau, exact=False)
    P, Q = _numer_denom_float(info_R)
    if re is None or im is None:
        st = stability(tableau, exact=False)
        xr = st.real_interval[0]
        xr = -6.0 if not np.isfinite(xr) else min(-1.0, xr)
        yr = st.imag_limit
        yr = 6.0 if not np.isfinite(yr) or yr > 1e3 else max(yr, 3.0)
        span = max(abs(xr), yr, 3.0)
        re = re or (-1.25 * span, 0.35 * span)
        im = im or (-1.15 * span, 1.15 * span)
    x = np.linspace(re[0], re[1], n)
    y = np.linspace(im[0], im[1], n)
    X, Y = np.meshgrid(x, y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        M = np.abs(_eval(P, Q, X + 1j * Y))
    return X, Y, M
