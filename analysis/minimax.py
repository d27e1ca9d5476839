"""Maximum modulus of a residual polynomial on a spectrum: the convergence factor of a learned
polynomial iteration and the Chebyshev minimax polynomial that bounds it from below (no torch).

On a spectrum ``S`` the asymptotic convergence factor is ``max_{lambda in S} |q(lambda)|`` per
outer iteration, its ``n``-th root per matvec. On a real interval ``[a, b]`` with ``0 < a`` the
degree-``n`` polynomial with ``q(0) = 1`` of least maximum is the shifted Chebyshev polynomial::

    q_cheb(lambda) = T_n((b + a - 2 lambda) / (b - a)) / T_n((b + a) / (b - a)),
    max |q_cheb| = 1 / T_n((b + a) / (b - a))

It imports numpy, scipy.optimize, sympy and :mod:`.errors`, :mod:`.polynomials` (for
:func:`q_values` and :data:`LAMBDA`), :mod:`.rationals`, :mod:`.spectrum`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from .errors import AnalysisInputError
from .polynomials import LAMBDA, q_values
from .rationals import rationalize_value
from .spectrum import Spectrum

__all__ = [
    "chebyshev_values",
    "chebyshev_factor",
    "chebyshev_residual",
    "max_abs_on_interval",
    "convergence_factor",
]

_GRID = 4001


def chebyshev_values(n: int, lo: float, hi: float, lam: np.ndarray) -> np.ndarray:
    """The degree-n Chebyshev residual polynomial of ``[lo, hi]`` at ``lam`` (stable form)."""
    lam = np.asarray(lam)
    x0 = (hi + lo) / (hi - lo)
    x = (hi + lo - 2.0 * lam) / (hi - lo)
    return _cheb_T(n, x) / _cheb_T(n, np.asarray(x0))


def _cheb_T(n: int, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if np.iscomplexobj(x):
        return np.cosh(n * np.arccosh(x.astype(complex)))
    out = np.empty_like(x, dtype=np.float64)
    inside = np.abs(x) <= 1.0
    out[inside] = np.cos(n * np.arccos(x[inside]))
    xo = x[~inside]
    out[~inside] = np.sign(xo) ** n * np.cosh(n * np.arccosh(np.abs(xo)))
    return out


def chebyshev_factor(n: int, lo: float, hi: float) -> float:
    """``max |q_cheb|`` on ``[lo, hi]`` (``0 < lo < hi``): ``1 / T_n((hi + lo)/(hi - lo))``."""
    if not 0 < lo < hi:
        raise AnalysisInputError(f"the Chebyshev factor needs 0 < lo < hi, got [{lo}, {hi}]")
    x0 = (hi + lo) / (hi - lo)
    return float(1.0 / np.cosh(n * np.arccosh(x0)))


def _exact_number(x: float) -> sp.Expr:
    v = rationalize_value(float(x), tol=1e-15, surds=False)
    return v if v is not None else sp.Float(float(x), 17)


def chebyshev_residual(n: int, lo: float, hi: float) -> sp.Expr:
    """The degree-n Chebyshev residual polynomial of ``[lo, hi]`` as a sympy polynomial in
    :data:`LAMBDA` (rational coefficients when ``lo`` and ``hi`` are simple rationals)."""
    a, b = _exact_number(lo), _exact_number(hi)
    x = sp.Symbol("x")
    T = sp.chebyshevt(n, x)
    num = sp.expand(T.subs(x, (b + a - 2 * LAMBDA) / (b - a)))
    den = T.subs(x, (b + a) / (b - a))
    return sp.expand(num / den)


def max_abs_on_interval(values: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, grid: int = _GRID) -> tuple[float, float]:
    """``(max |p|, argmax)`` of a real function on ``[lo, hi]``: a dense grid, then a bounded
    scalar search around every local maximum of the grid."""
    if hi <= lo:
        v = float(abs(values(np.array([lo]))[0]))
        return v, lo
    x = np.linspace(lo, hi, grid)
    y = np.abs(values(x))
    best, arg = float(np.max(y)), float(x[int(np.argmax(y))])
    idx = [i for i in range(grid) if (i == 0 or y[i] >= y[i - 1]) and (i == grid - 1 or y[i] >= y[i + 1])]
    idx = sorted(idx, key=lambda i: -y[i])[:12]
    for i in idx:
        a, b = x[max(i - 1, 0)], x[min(i + 1, grid - 1)]
        res = minimize_scalar(lambda t: -abs(float(values(np.array([t]))[0])), bounds=(a, b), method="bounded",
                              options={"xatol": 1e-13 * max(1.0, abs(hi))})
        if -res.fun > best:
            best, arg = float(-res.fun), float(res.x)
    return best, arg


def convergence_factor(W: np.ndarray, b: np.ndarray, h: float, spectrum: Spectrum) -> dict[str, Any]:
    """Learned ``max |q|`` per outer iteration and per matvec on ``spectrum``.

    Real spectra: the maximum over the interval (``on_eigenvalues`` adds the maximum over
    the known eigenvalues). Complex spectra: the maximum over the known eigenvalues.
    """
    n = len(b)
    qf = lambda lam: q_values(W, b, h, lam)  # noqa: E731
    on_ev = None
    if spectrum.eigenvalues is not None:
        on_ev = float(np.max(np.abs(qf(spectrum.eigenvalues))))
    if spectrum.real:
        per, arg = max_abs_on_interval(lambda x: np.real(qf(x)), *spectrum.interval)
    else:
        vals = np.abs(qf(spectrum.eigenvalues))
        per = float(np.max(vals))
        z = spectrum.eigenvalues[int(np.argmax(vals))]
        arg = [float(z.real), float(z.imag)]
    return {"per_outer": per, "per_matvec": per ** (1.0 / n), "argmax": arg, "on_eigenvalues": on_ev}

