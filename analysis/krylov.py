"""Krylov form of a learned polynomial iteration: residual polynomial, convergence factor,
Chebyshev comparison and measured equal-cost comparisons (no torch).

R2N2 on a linear system ``A x = rhs`` uses ``f(x) = rhs - A x``; one outer iteration with the
tableau ``(W, b)`` and scale ``h`` maps the error ``e = x - x*`` (and the residual
``r = rhs - A x``) by the residual polynomial::

    e_{k+1} = q(A) e_k,      q(lambda) = R(-h lambda) = 1 + sum_k (b^T W^(k-1) 1) (-h lambda)^k

where ``R`` is the stability polynomial of the tableau. ``q(0) = 1`` always; one outer
iteration costs ``n`` matrix-vector products (matvecs). On a spectrum ``S`` the asymptotic
convergence factor is ``max_{lambda in S} |q(lambda)|`` per outer iteration, its ``n``-th
root per matvec. On a real interval ``[a, b]`` with ``0 < a`` the degree-``n`` polynomial
with ``q(0) = 1`` of least maximum is the shifted Chebyshev polynomial::

    q_cheb(lambda) = T_n((b + a - 2 lambda) / (b - a)) / T_n((b + a) / (b - a)),
    max |q_cheb| = 1 / T_n((b + a) / (b - a))

Measured baselines (numpy/scipy, one matvec = one product with ``A``): restarted GMRES(m)
(``m`` matvecs per cycle; the restart residual follows from the Arnoldi relation), CG,
Chebyshev iteration on the spectral interval (one matvec per step, the degree grows), the
cycled degree-``n`` Chebyshev polynomial (the best fixed degree-``n`` polynomial iteration on
the interval) and plain Richardson with ``omega = 2 / (a + b)``.

The JSON of :meth:`KrylovAnalysis.to_json` (the ``"krylov"`` section of analysis.json):

- ``stages`` (n), ``matvecs_per_outer`` (n), ``h`` (float), ``h_exact`` (string or null)
- ``polynomial``: ``{"sympy" (text in the variable ``lam``, readable by ``sympy.sympify``),
  "latex" (in ``\\lambda``), "coefficients" (floats, ascending powers of
  lambda), "coefficients_exact" (strings or null), "exact" (bool), "source"}``; ``source``
  says how the exact form was found (``"exact tableau"``, ``"rationalised tableau and
  h"``, ``"rationalised coefficients"``) or ``"float"``
- ``roots``: roots of q as ``[re, im]`` pairs, sorted by real part;
  ``richardson_steps``: ``1 / root`` as ``[re, im]`` pairs (the step sizes of the
  equivalent non-stationary Richardson iteration)
- ``recurrence``: the outer iteration as pseudocode (string); ``richardson_form``: the same
  polynomial as a sequence of Richardson steps (string)
- ``spectrum``: ``{"interval": [lo, hi], "source", "real", "max_imag",
  "eigenvalue_count" (null for a continuous family), "exact_interval"}``
- ``factor``: ``{"per_outer", "per_matvec", "argmax", "on_eigenvalues"}`` for the learned
  polynomial; ``per_outer`` is ``max |q|`` over the interval for a real spectrum, over the
  known eigenvalues for a complex one
- ``chebyshev``: the degree-n Chebyshev residual polynomial on the same interval,
  ``{"sympy", "latex", "coefficients", "exact", "roots", "per_outer", "per_matvec",
  "on_eigenvalues"}``
- ``factor_ratio``: ``{"per_outer", "per_matvec"}`` learned / Chebyshev (>= 1 on a real
  interval: Chebyshev is optimal there)
- ``distilled``: the residual polynomial with coefficients snapped to short fractions
  ``{"sympy", "latex", "coefficients_exact", "relative_tolerance", "per_outer",
  "factor_change", "h", "tableau"}``, or null when the polynomial is already exact or
  no snapping keeps the factor within 1 %
- ``identified_as``: the classical description (string or null)
- ``exact_tableau``: ``{"tableau" (exact entries as strings), "h" (string), "represents"}``
  or null, always normalised to ``sum(b) = 1`` (same polynomial); ``represents`` is
  ``"learned tableau (normalised to sum(b) = 1)"`` (the weights themselves rationalised),
  ``"learned polynomial (shift form)"`` (an exact tableau, W = subdiagonal ones, ``h = -a_1``,
  with the learned polynomial's exact coefficients) or ``"distilled polynomial (shift
  form)"``
- ``comparison``: the measured equal-matvec comparison (:class:`EqualCostComparison`), or
  null: ``{"tol", "instances", "matvec_budget", "counting", "methods": {name:
  {"matvecs_to_tol": [int or null per instance], "median": float or null, "reached": int,
  "residual_at_learned_matvecs": median relative residual after the matvecs the learned
  iteration needed, "wall_s": float, "history": {"matvecs": [...], "residual": [...]}
  (first instance, relative residual norms, at most about 2000 entries)}},
  "ratios": {name: baseline median / learned median or null; > 1 means the learned
  iteration needs fewer matvecs}, "skipped": {name: reason}}``
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from .errors import AnalysisInputError
from .linear_stability import Z, stability_function, stability_polynomial_coefficients
from .numbers import format_exact
from .rationals import convergents, rationalize, rationalize_value
from .tableau import ButcherTableau

__all__ = [
    "LAMBDA",
    "Spectrum",
    "KrylovAnalysis",
    "EqualCostComparison",
    "IterationHistory",
    "polynomial_coefficients",
    "residual_polynomial",
    "exact_residual_polynomial",
    "q_values",
    "chebyshev_residual",
    "chebyshev_factor",
    "chebyshev_values",
    "max_abs_on_interval",
    "convergence_factor",
    "tableau_for_polynomial",
    "shift_form",
    "normalise",
    "polynomial_roots",
    "recurrence_pseudocode",
    "richardson_pseudocode",
    "identify_polynomial",
    "distill_polynomial",
    "run_polynomial_iteration",
    "run_gmres",
    "run_cg",
    "run_chebyshev",
    "run_chebyshev_cycled",
    "run_richardson",
    "compare_at_equal_matvecs",
    "comparison_methods",
    "analyze_polynomial_iteration",
]

LAMBDA = sp.Symbol("lambda")
LAM_TEXT = sp.Symbol("lam")  # the variable of the text forms (readable by sympy.sympify)
_GRID = 4001
_HISTORY_POINTS = 2000


# ----------------------------------------------------------------------------- spectrum
@dataclass(frozen=True, eq=False)
class Spectrum:
    """Where a family's eigenvalues lie.

    ``interval`` is ``[lo, hi]``, the hull of the real parts; ``eigenvalues`` the known
    eigenvalues (complex allowed) or None for a continuous family (e.g. random SPD matrices
    with eigenvalues drawn from an interval); ``source`` says how it was obtained;
    ``exact_interval`` is True when ``lo`` and ``hi`` are attained (or are the family's
    stated bounds) rather than estimates.
    """

    interval: tuple[float, float]
    source: str
    eigenvalues: np.ndarray | None = None
    exact_interval: bool = True

    def __post_init__(self) -> None:
        lo, hi = (float(v) for v in self.interval)
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise AnalysisInputError(f"spectrum interval must be finite with lo <= hi, got {self.interval!r}")
        object.__setattr__(self, "interval", (lo, hi))
        if self.eigenvalues is not None:
            ev = np.asarray(self.eigenvalues)
            ev = ev.astype(complex) if np.iscomplexobj(ev) else ev.astype(np.float64)
            if ev.ndim != 1 or ev.size == 0 or not np.all(np.isfinite(ev)):
                raise AnalysisInputError("spectrum eigenvalues must be a non-empty finite vector")
            if np.iscomplexobj(ev) and np.max(np.abs(ev.imag)) <= 1e-12 * max(1.0, float(np.max(np.abs(ev)))):
                ev = ev.real.copy()
            ev.setflags(write=False)
            object.__setattr__(self, "eigenvalues", ev)

    @property
    def max_imag(self) -> float:
        if self.eigenvalues is None or not np.iscomplexobj(self.eigenvalues):
            return 0.0
        return float(np.max(np.abs(self.eigenvalues.imag)))

    @property
    def real(self) -> bool:
        return self.max_imag == 0.0

    @property
    def positive(self) -> bool:
        return self.interval[0] > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "interval": [self.interval[0], self.interval[1]],
            "source": self.source,
            "real": self.real,
            "max_imag": self.max_imag,
            "eigenvalue_count": None if self.eigenvalues is None else int(self.eigenvalues.size),
            "exact_interval": self.exact_interval,
        }


# ----------------------------------------------------------------------------- polynomial
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


def _poly_coeffs(expr: sp.Expr, n: int) -> list[sp.Expr]:
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
        p = sp.Poly(sp.Add(*[sp.sympify(c) * LAMBDA**k for k, c in enumerate(coefficients)]), LAMBDA)
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


def _pairs(z: np.ndarray) -> list[list[float]]:
    return [[float(v.real), float(v.imag)] for v in np.asarray(z, dtype=complex)]


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
                "sympy": _poly_text(q),
                "latex": _poly_latex(q),
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


def _poly_text(q: sp.Expr) -> str:
    """Text in the variable ``lam`` (``lambda`` is a Python keyword, so sympify could not
    read it back)."""
    return sp.sstr(sp.expand(q.subs(LAMBDA, LAM_TEXT)), order="rev-lex")


def _poly_latex(q: sp.Expr) -> str:
    return sp.latex(sp.expand(q), order="rev-lex")


# ----------------------------------------------------------------------------- iterations
MatVec = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class IterationHistory:
    """Relative residual norms ``||r|| / ||rhs||`` after ``matvecs`` products with A."""

    method: str
    matvecs: tuple[int, ...]
    residuals: tuple[float, ...]
    matvecs_to_tol: int | None
    wall_s: float

    def residual_at(self, matvecs: int) -> float:
        """Relative residual after at most ``matvecs`` products (the last record <= it)."""
        i = int(np.searchsorted(np.asarray(self.matvecs), matvecs, side="right")) - 1
        return float(self.residuals[max(i, 0)])

    def to_json(self, max_points: int = _HISTORY_POINTS) -> dict[str, Any]:
        """``{"matvecs", "residual"}``, thinned to at most about ``max_points`` entries
        (evenly by index; the last entry is always kept)."""
        idx = list(range(len(self.matvecs)))
        if len(idx) > max_points:
            step = math.ceil(len(idx) / max_points)
            idx = idx[::step] + ([idx[-1]] if idx[-1] % step else [])
        return {"matvecs": [self.matvecs[i] for i in idx], "residual": [_finite(self.residuals[i]) for i in idx]}


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _as_matvec(A: Any) -> MatVec:
    if callable(A) and not hasattr(A, "shape"):
        return A
    if hasattr(A, "matvec"):
        return A.matvec
    return lambda v: A @ v


class _Recorder:
    def __init__(self, method: str, bnorm: float, tol: float, budget: int) -> None:
        self.method, self.bnorm, self.tol, self.budget = method, bnorm, tol, budget
        self.mv, self.res = [0], [1.0]
        self.hit: int | None = None
        self.t0 = time.perf_counter()

    def add(self, matvecs: int, rnorm: float) -> bool:
        """Record; True when the iteration should stop (converged, diverged or budget)."""
        rel = rnorm / self.bnorm
        self.mv.append(int(matvecs))
        self.res.append(float(rel))
        if rel <= self.tol and self.hit is None:
            self.hit = int(matvecs)
        return self.hit is not None or not math.isfinite(rel) or rel > 1e30 or matvecs >= self.budget

    def done(self) -> IterationHistory:
        return IterationHistory(self.method, tuple(self.mv), tuple(self.res), self.hit, time.perf_counter() - self.t0)


def run_polynomial_iteration(A: Any, rhs: np.ndarray, W: np.ndarray, b: np.ndarray, h: float, *, tol: float = 1e-10,
                             budget: int = 10_000, method: str = "learned") -> IterationHistory:
    """The R2N2 outer iteration on ``A x = rhs`` from ``x = 0`` (n matvecs per outer)."""
    mv = _as_matvec(A)
    n = len(b)
    rec = _Recorder(method, float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        vs = [r]
        for j in range(1, n):
            d = np.zeros_like(x)
            for l in range(j):
                if W[j, l] != 0.0:
                    d += W[j, l] * vs[l]
            vs.append(r - h * mv(d))
            count += 1
        upd = np.zeros_like(x)
        for j in range(n):
            if b[j] != 0.0:
                upd += b[j] * vs[j]
        x = x + h * upd
        r = rhs - mv(x)
        count += 1
        if rec.add(count, float(np.linalg.norm(r))):
            return rec.done()


def run_gmres(A: Any, rhs: np.ndarray, restart: int, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """Restarted GMRES(restart) from ``x = 0`` with modified Gram-Schmidt and Givens rotations;
    the residual norm is recorded after every matvec (the least-squares residual, equal to
    the true one in exact arithmetic); one matvec per Arnoldi step."""
    mv = _as_matvec(A)
    m = restart
    rec = _Recorder(f"gmres({m})", float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        beta = float(np.linalg.norm(r))
        if beta == 0.0:
            rec.add(count, 0.0)
            return rec.done()
        V = np.zeros((m + 1, rhs.size))
        H = np.zeros((m + 1, m))
        cs, sn = np.zeros(m), np.zeros(m)
        g = np.zeros(m + 1)
        g[0] = beta
        V[0] = r / beta
        k_used = 0
        stop = False
        for j in range(m):
            w = mv(V[j])
            count += 1
            for i in range(j + 1):
                H[i, j] = V[i] @ w
                w = w - H[i, j] * V[i]
            H[j + 1, j] = np.linalg.norm(w)
            breakdown = H[j + 1, j] <= 1e-14 * max(1.0, np.abs(H[: j + 1, j]).max())
            if not breakdown:
                V[j + 1] = w / H[j + 1, j]
            for i in range(j):
                t = cs[i] * H[i, j] + sn[i] * H[i + 1, j]
                H[i + 1, j] = -sn[i] * H[i, j] + cs[i] * H[i + 1, j]
                H[i, j] = t
            den = math.hypot(H[j, j], H[j + 1, j])
            cs[j], sn[j] = (1.0, 0.0) if den == 0 else (H[j, j] / den, H[j + 1, j] / den)
            H[j, j] = den
            H[j + 1, j] = 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = cs[j] * g[j]
            k_used = j + 1
            stop = rec.add(count, abs(g[j + 1]))
            if stop or breakdown:
                break
        y = np.linalg.lstsq(np.triu(H[:k_used, :k_used]), g[:k_used], rcond=None)[0]
        x = x + V[:k_used].T @ y
        # Arnoldi relation: r = V_{k+1} (beta e1 - H y); recomputed directly to avoid drift,
        # and not counted (GMRES needs no extra product for it).
        r = rhs - mv(x)
        if stop:
            rec.res[-1] = float(np.linalg.norm(r)) / rec.bnorm
            if rec.hit is not None and rec.res[-1] > tol:
                rec.hit = None
                if count < budget:
                    continue
            return rec.done()


def run_cg(A: Any, rhs: np.ndarray, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """Conjugate gradients from ``x = 0`` (one matvec per iteration)."""
    mv = _as_matvec(A)
    rec = _Recorder("cg", float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    p = r.copy()
    rr = float(r @ r)
    count = 0
    while True:
        Ap = mv(p)
        count += 1
        pAp = float(p @ Ap)
        if pAp <= 0:
            rec.add(count, math.inf)
            return rec.done()
        alpha = rr / pAp
        x += alpha * p
        r -= alpha * Ap
        rr_new = float(r @ r)
        if rec.add(count, math.sqrt(rr_new)):
            return rec.done()
        p = r + (rr_new / rr) * p
        rr = rr_new


def run_chebyshev(A: Any, rhs: np.ndarray, lo: float, hi: float, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """Chebyshev iteration on ``[lo, hi]`` from ``x = 0`` (Saad, Iterative Methods, Alg. 12.1;
    one matvec per step; the residual polynomial after k steps is the degree-k Chebyshev one)."""
    mv = _as_matvec(A)
    rec = _Recorder("chebyshev", float(np.linalg.norm(rhs)), tol, budget)
    theta, delta = (hi + lo) / 2.0, (hi - lo) / 2.0
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    d = r / theta
    if delta == 0.0:
        return run_richardson(A, rhs, 1.0 / theta, tol=tol, budget=budget, method="chebyshev")
    sigma = theta / delta
    rho = 1.0 / sigma
    count = 0
    while True:
        x = x + d
        r = r - mv(d)
        count += 1
        if rec.add(count, float(np.linalg.norm(r))):
            return rec.done()
        rho_new = 1.0 / (2.0 * sigma - rho)
        d = rho_new * rho * d + (2.0 * rho_new / delta) * r
        rho = rho_new


def _leja(points: np.ndarray) -> np.ndarray:
    """Leja ordering (stable order of Richardson steps)."""
    pts = list(points)
    out = [max(pts, key=abs)]
    pts.remove(out[0])
    while pts:
        nxt = max(pts, key=lambda p: np.prod([abs(p - q) for q in out]))
        out.append(nxt)
        pts.remove(nxt)
    return np.array(out)


def run_chebyshev_cycled(A: Any, rhs: np.ndarray, n: int, lo: float, hi: float, *, tol: float = 1e-10,
                         budget: int = 10_000) -> IterationHistory:
    """The degree-n Chebyshev residual polynomial repeated: n Richardson steps with
    ``omega_i = 1 / (Chebyshev node i)`` per cycle, Leja-ordered (one matvec per step)."""
    mv = _as_matvec(A)
    k = np.arange(1, n + 1)
    nodes = _leja((hi + lo) / 2 - (hi - lo) / 2 * np.cos((2 * k - 1) * np.pi / (2 * n)))
    rec = _Recorder(f"chebyshev({n})", float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        for node in nodes:
            x = x + r / node
            r = rhs - mv(x)
            count += 1
            if rec.add(count, float(np.linalg.norm(r))):
                return rec.done()


def run_richardson(A: Any, rhs: np.ndarray, omega: float, *, tol: float = 1e-10, budget: int = 10_000,
                   method: str = "richardson") -> IterationHistory:
    """Stationary Richardson ``x <- x + omega (rhs - A x)`` from ``x = 0``."""
    mv = _as_matvec(A)
    rec = _Recorder(method, float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        x = x + omega * r
        r = rhs - mv(x)
        count += 1
        if rec.add(count, float(np.linalg.norm(r))):
            return rec.done()


@dataclass(frozen=True)
class EqualCostComparison:
    """Matvecs to reach ``tol`` (relative residual) per method and held-out instance."""

    tol: float
    budget: int
    histories: dict[str, tuple[IterationHistory, ...]]
    skipped: dict[str, str] = field(default_factory=dict)
    counting: str = ""

    def median(self, method: str) -> float | None:
        hits = [h.matvecs_to_tol for h in self.histories[method]]
        if any(v is None for v in hits):
            # a median over instances that did not all converge is reported only if more
            # than half converged (the unconverged ones count as +infinity)
            vals = sorted(math.inf if v is None else v for v in hits)
            med = float(np.median(vals))
            return med if math.isfinite(med) else None
        return float(np.median(hits))

    def ratios(self, learned: str = "learned") -> dict[str, float | None]:
        base = self.median(learned)
        out: dict[str, float | None] = {}
        for m in self.histories:
            if m == learned:
                continue
            med = self.median(m)
            out[m] = None if base is None or med is None else med / base
        return out

    def residual_at_learned_cost(self, method: str, learned: str = "learned") -> float:
        """Median over instances of ``method``'s relative residual after as many matvecs as
        the learned iteration needed on that instance (its whole run when it missed tol)."""
        vals = []
        for h, hl in zip(self.histories[method], self.histories[learned]):
            budget = hl.matvecs_to_tol if hl.matvecs_to_tol is not None else hl.matvecs[-1]
            vals.append(h.residual_at(budget))
        return float(np.median(vals))

    def to_json(self) -> dict[str, Any]:
        methods = {}
        for m, hs in self.histories.items():
            methods[m] = {
                "matvecs_to_tol": [h.matvecs_to_tol for h in hs],
                "median": self.median(m),
                "reached": sum(h.matvecs_to_tol is not None for h in hs),
                "residual_at_learned_matvecs": _finite(self.residual_at_learned_cost(m)) if "learned" in self.histories else None,
                "wall_s": float(sum(h.wall_s for h in hs)),
                "history": hs[0].to_json(),
            }
        return {
            "tol": self.tol,
            "instances": len(next(iter(self.histories.values()))) if self.histories else 0,
            "matvec_budget": self.budget,
            "counting": self.counting,
            "methods": methods,
            "ratios": self.ratios(),
            "skipped": dict(self.skipped),
        }


def comparison_methods(n: int, spectrum: Spectrum, symmetric: bool) -> tuple[list[str], dict[str, str]]:
    """The methods :func:`compare_at_equal_matvecs` runs, and those it skips with why."""
    lo, hi = spectrum.interval
    methods, skipped = ["learned", f"gmres({n})"], {}
    if symmetric and lo > 0:
        methods.append("cg")
    else:
        skipped["cg"] = "needs a symmetric positive definite matrix"
    if 0 < lo < hi:
        methods += ["chebyshev", f"chebyshev({n})", "richardson"]
    else:
        why = "needs a spectral interval [lo, hi] with 0 < lo < hi"
        skipped.update({"chebyshev": why, f"chebyshev({n})": why, "richardson": why})
    return methods, skipped


def compare_at_equal_matvecs(W: np.ndarray, b: np.ndarray, h: float, systems: Sequence[tuple[Any, np.ndarray]],
                             spectrum: Spectrum, *, symmetric: bool, tol: float = 1e-10, budget: int = 10_000,
                             progress: Callable[[str], None] | None = None) -> EqualCostComparison:
    """Run the learned iteration and the baselines on held-out ``systems`` (``(A, rhs)``
    pairs; ``A`` an ndarray, sparse matrix, LinearOperator or callable) from ``x = 0``."""
    n = len(b)
    lo, hi = spectrum.interval
    methods, skipped = comparison_methods(n, spectrum, symmetric)
    table: dict[str, Callable[[Any, np.ndarray], IterationHistory]] = {
        "learned": lambda A, r: run_polynomial_iteration(A, r, W, b, h, tol=tol, budget=budget),
        f"gmres({n})": lambda A, r: run_gmres(A, r, n, tol=tol, budget=budget),
        "cg": lambda A, r: run_cg(A, r, tol=tol, budget=budget),
        "chebyshev": lambda A, r: run_chebyshev(A, r, lo, hi, tol=tol, budget=budget),
        f"chebyshev({n})": lambda A, r: run_chebyshev_cycled(A, r, n, lo, hi, tol=tol, budget=budget),
        "richardson": lambda A, r: run_richardson(A, r, 2.0 / (lo + hi), tol=tol, budget=budget),
    }
    runs = {m: table[m] for m in methods}
    hist: dict[str, list[IterationHistory]] = {k: [] for k in runs}
    for A, rhs in systems:
        for name, fn in runs.items():
            if progress is not None:
                progress(name)
            with np.errstate(over="ignore", invalid="ignore"):
                hist[name].append(fn(A, rhs))
    counting = (f"matvecs = products with A: learned {n} per outer iteration (its residual is its first stage); "
                f"GMRES({n}) {n} per cycle (restart residual from the Arnoldi relation); CG, Chebyshev, "
                f"Chebyshev({n}) and Richardson 1 per step; all from x0 = 0; relative residual ||r||/||rhs||")
    return EqualCostComparison(tol, budget, {k: tuple(v) for k, v in hist.items()}, skipped, counting)


# ----------------------------------------------------------------------------- whole analysis
@dataclass(frozen=True)
class KrylovAnalysis:
    """Everything the distilling side says about one polynomial iteration."""

    stages: int
    h: float
    h_exact: sp.Expr | None
    polynomial: sp.Expr
    polynomial_source: str
    coefficients: np.ndarray
    roots: np.ndarray
    recurrence: str
    richardson_form: str
    spectrum: Spectrum
    factor: dict[str, Any]
    chebyshev: dict[str, Any] | None
    distilled: dict[str, Any] | None
    identified_as: str | None
    exact_tableau: ButcherTableau | None
    exact_tableau_h: sp.Expr | None = None
    exact_tableau_represents: str | None = None
    comparison: EqualCostComparison | None = None

    @property
    def exact(self) -> bool:
        return self.polynomial_source != "float"

    @property
    def factor_ratio(self) -> dict[str, float | None]:
        if self.chebyshev is None or not self.chebyshev["per_outer"]:
            return {"per_outer": None, "per_matvec": None}
        r = self.factor["per_outer"] / self.chebyshev["per_outer"]
        return {"per_outer": r, "per_matvec": r ** (1.0 / self.stages)}

    def to_json(self) -> dict[str, Any]:
        coeffs_exact = None
        if self.exact:
            coeffs_exact = [format_exact(c) for c in _poly_coeffs(self.polynomial, self.stages)]
        distilled = None if self.distilled is None else {k: v for k, v in self.distilled.items() if not k.startswith("_")}
        return {
            "stages": self.stages,
            "matvecs_per_outer": self.stages,
            "h": self.h,
            "h_exact": None if self.h_exact is None else format_exact(self.h_exact),
            "polynomial": {
                "sympy": _poly_text(self.polynomial),
                "latex": _poly_latex(self.polynomial),
                "coefficients": [float(c) for c in self.coefficients],
                "coefficients_exact": coeffs_exact,
                "exact": self.exact,
                "source": self.polynomial_source,
            },
            "roots": _pairs(self.roots),
            "richardson_steps": _pairs(1.0 / self.roots) if self.roots.size and np.all(self.roots != 0) else [],
            "recurrence": self.recurrence,
            "richardson_form": self.richardson_form,
            "spectrum": self.spectrum.to_json(),
            "factor": self.factor,
            "chebyshev": self.chebyshev,
            "factor_ratio": self.factor_ratio,
            "distilled": distilled,
            "identified_as": self.identified_as,
            "exact_tableau": None if self.exact_tableau is None else {
                "tableau": self.exact_tableau.to_dict(),
                "h": None if self.exact_tableau_h is None else format_exact(self.exact_tableau_h),
                "represents": self.exact_tableau_represents,
            },
            "comparison": None if self.comparison is None else self.comparison.to_json(),
        }


def _chebyshev_info(n: int, spectrum: Spectrum) -> dict[str, Any] | None:
    lo, hi = spectrum.interval
    if not 0 < lo < hi:
        return None
    q = chebyshev_residual(n, lo, hi)
    co = _poly_coeffs(q, n)
    exact = all(not isinstance(c, sp.Float) and not c.has(sp.Float) for c in co)
    k = np.arange(1, n + 1)
    roots = np.sort((hi + lo) / 2 - (hi - lo) / 2 * np.cos((2 * k - 1) * np.pi / (2 * n)))
    on_ev = None
    if spectrum.eigenvalues is not None:
        on_ev = float(np.max(np.abs(chebyshev_values(n, lo, hi, spectrum.eigenvalues))))
    per = chebyshev_factor(n, lo, hi) if spectrum.real else on_ev
    return {
        "sympy": _poly_text(q),
        "latex": _poly_latex(q),
        "coefficients": [float(c) for c in co],
        "exact": exact,
        "roots": _pairs(roots.astype(complex)),
        "per_outer": per,
        "per_matvec": None if per is None else per ** (1.0 / n),
        "on_eigenvalues": on_ev,
    }


def analyze_polynomial_iteration(
    tableau: ButcherTableau,
    h: float,
    spectrum: Spectrum,
    *,
    systems: Sequence[tuple[Any, np.ndarray]] | None = None,
    symmetric: bool = False,
    tol: float = 1e-10,
    budget: int = 10_000,
    name: str = "learned polynomial iteration",
    progress: Callable[[str], None] | None = None,
) -> KrylovAnalysis:
    """Residual polynomial (exact when possible), roots, pseudocode, convergence factor on
    ``spectrum`` against Chebyshev, distilled polynomial, identification and, given held-out
    ``systems``, the measured equal-matvec comparison."""
    if not tableau.is_explicit:
        raise AnalysisInputError("a polynomial iteration needs an explicit tableau (strictly lower triangular W)")
    if not (isinstance(h, (int, float)) and math.isfinite(h) and h > 0):
        raise AnalysisInputError(f"h must be a positive finite number, got {h!r}")
    n = tableau.stages
    W, b = np.array(tableau.A), np.array(tableau.b)
    q, source, exact_tab, h_ex = exact_residual_polynomial(tableau, float(h))
    coeffs = polynomial_coefficients(tableau, h)
    scale = max(abs(spectrum.interval[1]), 1.0 / float(h))
    fac = convergence_factor(W, b, float(h), spectrum)
    cheb = _chebyshev_info(n, spectrum)
    distilled = None
    represents = None
    tab_h: sp.Expr | None = None
    if source in ("exact tableau", "rationalised tableau and h"):
        represents = "learned tableau (normalised to sum(b) = 1)"
        exact_tab, tab_h = normalise(exact_tab, h_ex)
        roots = polynomial_roots(_poly_coeffs(q, n))
    elif source == "rationalised coefficients":
        exact_tab, tab_h = shift_form(_poly_coeffs(q, n))
        represents = "learned polynomial (shift form)"
        roots = polynomial_roots(_poly_coeffs(q, n))
    else:
        roots = polynomial_roots(coeffs, scale=scale)
        distilled = distill_polynomial(W, b, float(h), spectrum)
        if distilled is not None:
            exact_tab, tab_h = distilled["_tableau"], distilled["_h"]
            represents = "distilled polynomial (shift form)"
    ident = identify_polynomial(coeffs, roots, spectrum, float(h))
    if represents is not None and represents.startswith("learned tableau"):
        rec = recurrence_pseudocode(exact_tab, tab_h, name=name)
    else:
        rec = recurrence_pseudocode(tableau, float(h), name=name)
    comp = None
    if systems:
        comp = compare_at_equal_matvecs(W, b, float(h), systems, spectrum, symmetric=symmetric, tol=tol, budget=budget,
                                        progress=progress)
    return KrylovAnalysis(
        stages=n, h=float(h), h_exact=h_ex, polynomial=q, polynomial_source=source, coefficients=coeffs, roots=roots,
        recurrence=rec, richardson_form=richardson_pseudocode(roots), spectrum=spectrum, factor=fac, chebyshev=cheb,
        distilled=distilled, identified_as=ident, exact_tableau=exact_tab, exact_tableau_h=tab_h,
        exact_tableau_represents=represents, comparison=comp,
    )
