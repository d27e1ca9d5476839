"""From a learned residual polynomial to what a person reads (no torch): the outer iteration as
pseudocode, the same polynomial as Richardson steps, the classical method it is (Chebyshev,
Richardson, Taylor, Chebyshev-like), and the polynomial with coefficients snapped to short
fractions whose convergence factor stays within 1 % of the learned one. It imports numpy,
sympy and :mod:`.minimax`, :mod:`.numbers`, :mod:`.polynomials`, :mod:`.rationals`,
:mod:`.spectrum`, :mod:`.tableau`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .minimax import chebyshev_values, convergence_factor
from .numbers import format_exact
from .polynomials import LAMBDA, polynomial_coefficients, polynomial_latex, polynomial_text, shift_form
from .rationals import convergents
from .spectrum import Spectrum
from .tableau import ButcherTableau

__all__ = [
    "recurrence_pseudocode",
    "richardson_pseudocode",
    "identify_polynomial",
    "distill_polynomial",
]


# ----------------------------------------------------------------------------- pseudocode
def _fmt_num(x: Any) -> str:
    if isinstance(x, sp.Expr) and not isinstance(x, sp.Float):
        s = format_exact(x)
        return s if s.lstrip("-").replace("/", "").isdigit() else f"({s})"
    v = float(x)
    return f"{v:.10g}"


def _term(coef: Any, name: str) -> str:
    one = (coef == 1) if isinstance(coef, sp.Expr) else float(coef) == 1.0
    return name if one else f"{_fmt_num(coef)}*{name}"


def recurrence_pseudocode(tableau: ButcherTableau, h: Any, name: str = "learned polynomial iteration") -> str:
    """The outer iteration of ``(W, b, h)`` on ``A x = rhs`` as readable pseudocode (exact
    entries when the tableau is exact)."""
    n = tableau.stages
    ex = tableau.exact
    Wv = (lambda j, l: ex.A[j][l]) if ex is not None else (lambda j, l: tableau.A[j, l])  # noqa: E731
    bv = (lambda j: ex.b[j]) if ex is not None else (lambda j: tableau.b[j])  # noqa: E731
    zero = lambda v: (v == 0) if isinstance(v, sp.Expr) else float(v) == 0.0  # noqa: E731
    lines = [f"# {name}: {n} stages, {n} matvecs per outer iteration, no inner products",
             f"h = {_fmt_num(h)}",
             "x = x0;  r = rhs - A x",
             "repeat until ||r|| <= max(rtol ||rhs||, atol):",
             "    v1 = r"]
    for j in range(1, n):
        terms = [_term(Wv(j, l), f"v{l + 1}") for l in range(j) if not zero(Wv(j, l))]
        if terms:
            lines.append(f"    v{j + 1} = rhs - A (x + h*(" + " + ".join(terms) + "))")
        else:
            lines.append(f"    v{j + 1} = r")
    terms = [_term(bv(j), f"v{j + 1}") for j in range(n) if not zero(bv(j))]
    lines.append("    x = x + h*(" + (" + ".join(terms) if terms else "0") + ")")
    lines.append("    r = rhs - A x          # the next outer iteration's v1 (counted once)")
    return "\n".join(lines).replace("+ -", "- ")


def richardson_pseudocode(roots: np.ndarray) -> str:
    """The residual polynomial ``q = prod (1 - lambda / rho_i)`` as Richardson steps
    ``x <- x + (1/rho_i) r``; a complex-conjugate pair becomes one real two-step update."""
    lines = ["# the same residual polynomial as Richardson steps (one matvec each)", "repeat:"]
    done = np.zeros(len(roots), dtype=bool)
    for i, rho in enumerate(roots):
        if done[i]:
            continue
        done[i] = True
        if abs(rho.imag) <= 1e-12 * max(1.0, abs(rho)):
            lines.append(f"    x = x + {1.0 / rho.real:.10g} * (rhs - A x)")
            continue
        for j in range(i + 1, len(roots)):
            if not done[j] and abs(roots[j] - np.conj(rho)) <= 1e-8 * max(1.0, abs(rho)):
                done[j] = True
                break
        alpha = 2.0 * rho.real / abs(rho) ** 2
        beta = 1.0 / abs(rho) ** 2
        lines.append(f"    r = rhs - A x;  x = x + {alpha:.10g} * r - {beta:.10g} * (A r)"
                     f"      # roots {rho.real:.6g} +/- {abs(rho.imag):.6g}i")
    return "\n".join(lines).replace("+ -", "- ")


# ----------------------------------------------------------------------------- identification
def identify_polynomial(coefficients: np.ndarray, roots: np.ndarray, spectrum: Spectrum | None, h: float) -> str | None:
    """Classical description of a residual polynomial (None for the zero-degree case)."""
    n = len(coefficients) - 1
    if n < 1 or np.all(coefficients[1:] == 0):
        return None
    real = np.all(np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots)))
    scale = float(np.max(np.abs(roots))) if roots.size else 1.0
    if spectrum is not None and spectrum.positive and spectrum.interval[1] > spectrum.interval[0]:
        lo, hi = spectrum.interval
        x = np.linspace(lo, hi, 401)
        diff = np.max(np.abs(np.polynomial.polynomial.polyval(x / hi, coefficients * hi ** np.arange(n + 1)) - chebyshev_values(n, lo, hi, x)))
        if diff <= 1e-9:
            return f"Chebyshev iteration: the degree-{n} minimax residual polynomial on [{lo:.6g}, {hi:.6g}]"
    if real and roots.size and np.max(np.abs(roots - roots[0])) <= 1e-7 * scale:
        return f"Richardson iteration with omega = {1.0 / roots[0].real:.6g}, {n} step{'s' if n > 1 else ''} per outer iteration"
    taylor = np.array([(-h) ** k / math.factorial(k) for k in range(n + 1)])
    if np.allclose(coefficients, taylor, rtol=1e-9, atol=1e-12):
        return f"degree-{n} Taylor polynomial of exp(-h A) (explicit order-{n} Runge-Kutta on the gradient flow, h = {h:.6g})"
    steps = ", ".join(f"{1.0 / r.real:.4g}" for r in roots) if real else None
    if real and spectrum is not None and spectrum.positive and spectrum.interval[1] > spectrum.interval[0]:
        lo, hi = spectrum.interval
        k = np.arange(1, n + 1)
        cheb_roots = np.sort((hi + lo) / 2 - (hi - lo) / 2 * np.cos((2 * k - 1) * np.pi / (2 * n)))
        dev = float(np.max(np.abs(np.sort(roots.real) - cheb_roots)) / (hi - lo))
        if dev <= 0.15 and np.all(roots.real >= lo - 1e-9 * hi) and np.all(roots.real <= hi * (1 + 1e-9)):
            return (f"Chebyshev-like degree-{n} polynomial iteration: Richardson with steps {steps} "
                    f"(roots within {100 * dev:.1f}% of the interval width of the Chebyshev nodes)")
        return f"degree-{n} polynomial iteration: Richardson with steps {steps}"
    if real:
        return f"degree-{n} polynomial iteration: Richardson with steps {steps}"
    ncomplex = int(np.sum(np.abs(roots.imag) > 1e-9 * np.maximum(1.0, np.abs(roots))))
    return f"degree-{n} polynomial iteration with {ncomplex // 2} complex-conjugate root pair(s) (Richardson with complex steps)"


# ----------------------------------------------------------------------------- distillation
def _snap(x: float, rel: float) -> Fraction:
    """Shortest continued-fraction convergent within ``rel * |x|`` of ``x``."""
    fx = Fraction(x)
    bound = rel * abs(x)
    return next((c for c in convergents(fx) if abs(float(c - fx)) <= bound), fx)


def distill_polynomial(W: np.ndarray, b: np.ndarray, h: float, spectrum: Spectrum,
                       max_change: float = 0.01,
                       tolerances: Sequence[float] = (3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 1e-5, 1e-6)) -> dict[str, Any] | None:
    """Snap the coefficients of q to the shortest fractions within a relative tolerance,
    coarsest first, and keep the first snapped polynomial whose convergence factor on
    ``spectrum`` is within a relative ``max_change`` of the learned one. Returns its exact
    form and its exact :func:`shift_form` tableau, or None."""
    tab = ButcherTableau(W, b)
    coeffs = polynomial_coefficients(tab, h)
    base = convergence_factor(W, b, h, spectrum)["per_outer"]
    if not math.isfinite(base) or base <= 0:
        return None
    n = len(b)
    for rel in tolerances:
        fr = [Fraction(1)] + [_snap(float(a), rel) if a != 0 else Fraction(0) for a in coeffs[1:]]
        ex = [sp.Rational(f.numerator, f.denominator) for f in fr]
        t_ex, h_ex = shift_form(ex)
        fac = convergence_factor(t_ex.A, t_ex.b, float(h_ex), spectrum)["per_outer"]
        if abs(fac / base - 1.0) <= max_change:
            q = sp.Add(*[c * LAMBDA**k for k, c in enumerate(ex)])
            return {
                "sympy": polynomial_text(q),
                "latex": polynomial_latex(q),
                "coefficients_exact": [format_exact(c) for c in ex],
                "relative_tolerance": rel,
                "per_outer": fac,
                "per_matvec": fac ** (1.0 / n),
                "factor_change": fac / base - 1.0,
                "h": format_exact(h_ex),
                "tableau": t_ex.to_dict(),
                "_tableau": t_ex,
                "_h": h_ex,
            }
    return None
