"""Krylov form of a linear iteration with memory (an R2N2 with memory on ``A x = rhs``).

With memory ``M`` the residual obeys the recurrence (:func:`.memory.memory_recurrence`)

    r_{k+1} = c_0(A) r_k + c_1(A) r_{k-1} + ... + c_M(A) r_{k-M}

(a three-term recurrence for ``M = 1``), ``c_m`` polynomials of degree ``<= n`` in ``lambda``.
:func:`analyze_memory_iteration` gives it in closed form, its asymptotic convergence factor
per outer iteration on the family's spectrum (the largest spectral radius of the companion
matrix over the spectral interval, or over the known eigenvalues of a complex spectrum) and
per matvec (``n`` matvecs per outer iteration: the past evaluations are reused), exactly where
:meth:`.memory.MemoryRecurrence.exact_factor_on` applies, the comparison with the optimal
stationary two-step method on ``[a, b]``, ``(sqrt(kappa) - 1)/(sqrt(kappa) + 1)`` per matvec
(Chebyshev semi-iteration's asymptotic factor, attained by the optimal heavy ball), and the
identification "stationary Chebyshev / heavy ball with alpha, beta" when it is one.

The JSON (:meth:`MemoryIterationAnalysis.to_json`, the ``"memory"`` entry of the ``"krylov"``
section of analysis.json):

- ``memory`` (M), ``form``, ``startup``, ``stages`` (n), ``matvecs_per_outer`` (n), ``h``,
  ``b``, ``betas``, ``gammas`` (the learned weights)
- ``recurrence``: ``{"text", "latex", "coefficients": [{"m", "sympy", "latex",
  "coefficients" (floats, ascending powers of lambda)}], "exact"}``, the ``c_m(lambda)``
- ``factor``: ``{"per_outer", "per_matvec", "at", "on_eigenvalues", "roots_at_worst"
  ([re, im] pairs)}``; ``on_eigenvalues`` the worst factor on the known eigenvalues (null
  without them)
- ``exact_factor``: ``{"per_outer", "per_matvec"}`` as exact strings, or null
- ``optimal_two_step``: ``{"per_matvec", "per_matvec_exact", "alpha", "beta", "alpha_exact",
  "beta_exact", "interval"}`` on the spectral interval, or null when it is not ``0 < a < b``
- ``factor_ratio``: learned per matvec / optimal per matvec (null without the optimum)
- ``identified_as``: string or null
- ``pseudocode``: the iteration with the learned weights as pseudocode (string)

Imports numpy, sympy, :mod:`.memory`, :mod:`.numbers`, :mod:`.spectrum` and :mod:`.errors`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .errors import AnalysisInputError
from .memory import MemoryRecurrence, heavy_ball, identify_memory_iteration, memory_recurrence, optimal_two_step_factor
from .numbers import format_exact
from .spectrum import Spectrum

__all__ = ["MemoryIterationAnalysis", "analyze_memory_iteration", "recurrence_lambda_coefficients", "memory_pseudocode"]

_Z = sp.Symbol("z")
_LAM = sp.Symbol("lam")


def _tidy(e: sp.Expr) -> sp.Expr:
    """An exact number in a short form (surds rationalised out of denominators, denested)."""
    return sp.expand(sp.simplify(sp.sqrtdenest(sp.radsimp(sp.simplify(e)))))


def recurrence_lambda_coefficients(rec: MemoryRecurrence) -> list[sp.Expr]:
    """The ``c_m`` as polynomials in ``lam`` (``z = -h lam``), expanded (exact coefficients
    simplified)."""
    out = []
    for c in rec.coefficients:
        e = sp.expand(c.subs(_Z, -rec.h * _LAM))
        if rec.exact:
            e = sum((_tidy(cf) * _LAM ** k for (k,), cf in sp.Poly(e, _LAM).terms()), sp.Integer(0))
        out.append(e)
    return out


def _rounded(e: sp.Expr, exact: bool, digits: int = 6) -> sp.Expr:
    if exact:
        return e
    poly = sp.Poly(e, _LAM)
    return sum((sp.Float(float(c), digits) * _LAM ** k for (k,), c in poly.terms()), sp.Integer(0))


def _ascending(e: sp.Expr) -> list[float]:
    coeffs = sp.Poly(e, _LAM).all_coeffs()[::-1]
    return [float(c) for c in coeffs]


def _r(m: int) -> tuple[str, str]:
    if m < 0:
        return "r_{k+1}", "r_{k+1}"
    return ("r_k", "r_{k}") if m == 0 else (f"r_{{k-{m}}}", f"r_{{k-{m}}}")


def _g(v: float) -> str:
    return f"{float(v):.10g}"


def _sum(terms: list[str]) -> str:
    return " + ".join(terms).replace("+ -", "- ") or "0"


def memory_pseudocode(W: Any, b: Sequence[Any], h: Any, betas: Sequence[Any], gammas: Sequence[Sequence[Any]],
                      name: str = "learned iteration with memory") -> str:
    """The iteration as pseudocode with the weights (zero weights left out)."""
    n, M = len(b), len(betas)
    Wf = [[float(x) for x in row] for row in np.asarray(W, dtype=object).reshape(n, n)]
    gam = [list(g) for g in gammas] + [[0.0] * n for _ in range(M - len(gammas))]
    lines = [f"# {name}: R2N2 with memory M = {M}",
             f"# {n} stage{'s' if n > 1 else ''}, {n} matvec{'s' if n > 1 else ''} per outer iteration, no inner products",
             f"h = {_g(h)}",
             "x[0] = x0; r = rhs - A x[0]",
             "for k = 0, 1, 2, ... until ||r|| <= max(rtol ||rhs||, atol):",
             "    v1[k] = r"]
    for j in range(1, n):
        terms = [f"{_g(Wf[j][l])}*v{l + 1}[k]" for l in range(j) if Wf[j][l] != 0.0]
        lines.append(f"    v{j + 1}[k] = r - h*A({_sum(terms)})")
    outer = [f"{_g(bj)}*v{j + 1}[k]" for j, bj in enumerate(b) if float(bj) != 0.0]
    lines.append(f"    x[k+1] = x[k] + h*({_sum(outer)})")
    mem: list[str] = []
    for m in range(1, M + 1):
        if float(betas[m - 1]) != 0.0:
            mem.append(f"{_g(betas[m - 1])}*(x[k-{m - 1}] - x[k-{m}])".replace("x[k-0]", "x[k]"))
        gt = [f"{_g(gam[m - 1][j])}*v{j + 1}[k-{m}]" for j in range(n) if float(gam[m - 1][j]) != 0.0]
        if gt:
            mem.append(f"h*({_sum(gt)})")
    if mem:
        first = "the first iteration is a plain step" if M == 1 else f"the first {M} iterations are plain steps"
        lines.append(f"    if k >= {M}:   # memory ({first})")
        lines.append(f"        x[k+1] += {_sum(mem)}")
    lines.append("    r = rhs - A x[k+1]   # the next iteration's v1 (counted once)")
    return "\n".join(lines)


@dataclass(frozen=True)
class MemoryIterationAnalysis:
    """What the distilling side says about a linear iteration with memory."""

    recurrence: MemoryRecurrence
    form: str
    startup: str
    b: tuple[float, ...]
    betas: tuple[float, ...]
    gammas: tuple[tuple[float, ...], ...]
    spectrum: Spectrum
    factor: dict[str, Any]
    exact_factor: sp.Expr | None
    optimal: dict[str, Any] | None
    identified_as: str | None
    pseudocode: str = ""

    @property
    def factor_ratio(self) -> float | None:
        if self.optimal is None or not self.optimal["per_matvec"]:
            return None
        return float(self.factor["per_matvec"]) / float(self.optimal["per_matvec"])

    def text(self) -> str:
        """``r_{k+1} = (c_0(lam)) r_k + (c_1(lam)) r_{k-1}`` with 6 significant digits."""
        cs = recurrence_lambda_coefficients(self.recurrence)
        terms: list[tuple[str, str]] = []
        for m, c in enumerate(cs):
            c = _rounded(c, self.recurrence.exact)
            if c == 0:
                continue
            if c.is_Number:  # a constant: "- 0.27 r_{k-1}", not "+ (-0.27) r_{k-1}"
                terms.append(("-", f"{sp.sstr(-c)} {_r(m)[0]}") if c < 0 else ("+", f"{sp.sstr(c)} {_r(m)[0]}"))
            else:
                terms.append(("+", f"({sp.sstr(c)}) {_r(m)[0]}"))
        out = " ".join((("-" if sg == "-" else "") if i == 0 else sg + " ") + body for i, (sg, body) in enumerate(terms))
        return "r_{k+1} = " + (out or "0")

    def latex(self) -> str:
        cs = recurrence_lambda_coefficients(self.recurrence)
        lam = sp.Symbol("lambda")
        out = ""
        for m, c in enumerate(cs):
            c = _rounded(c, self.recurrence.exact).subs(_LAM, lam)
            if c == 0:
                continue
            if c.is_Number:  # a constant: "- 0.27 r_{k-1}", not "+ (-0.27) r_{k-1}"
                neg = bool(c < 0)
                term = f"{sp.latex(-c if neg else c)} {_r(m)[1]}"
            else:
                neg, term = False, rf"\left({sp.latex(c, order='rev-lex')}\right) {_r(m)[1]}"
            out += (" - " if neg else " + ") + term if out else ("-" if neg else "") + term
        return "r_{k+1} = " + (out or "0")

    def to_json(self) -> dict[str, Any]:
        rec = self.recurrence
        cs = recurrence_lambda_coefficients(rec)
        lam = sp.Symbol("lambda")
        coeffs = [{"m": m, "sympy": sp.sstr(c), "latex": sp.latex(_rounded(c, rec.exact).subs(_LAM, lam), order="rev-lex"),
                   "coefficients": _ascending(c)} for m, c in enumerate(cs)]
        n = rec.stages
        exact = None
        if self.exact_factor is not None:
            exact = {"per_outer": format_exact(self.exact_factor),
                     "per_matvec": format_exact(_tidy(self.exact_factor ** sp.Rational(1, n)))}
        return {
            "memory": rec.memory,
            "form": self.form,
            "startup": self.startup,
            "stages": n,
            "matvecs_per_outer": n,
            "h": float(rec.h),
            "b": [float(x) for x in self.b],
            "betas": [float(x) for x in self.betas],
            "gammas": [[float(x) for x in g] for g in self.gammas],
            "recurrence": {"text": self.text(), "latex": self.latex(), "coefficients": coeffs, "exact": rec.exact},
            "factor": self.factor,
            "exact_factor": exact,
            "optimal_two_step": self.optimal,
            "factor_ratio": self.factor_ratio,
            "identified_as": self.identified_as,
            "pseudocode": self.pseudocode,
        }


def _worst(rec: MemoryRecurrence, lam: np.ndarray) -> tuple[float, complex, np.ndarray]:
    roots = rec.roots(lam)
    f = np.max(np.abs(roots), axis=1)
    k = int(np.argmax(f))
    return float(f[k]), complex(np.asarray(lam)[k]), roots[k]


def analyze_memory_iteration(W: Any, b: Sequence[Any], h: Any, betas: Sequence[Any], gammas: Sequence[Sequence[Any]],
                             spectrum: Spectrum, *, form: str = "full", startup: str = "rk", grid: int = 2001,
                             rtol: float = 0.02, name: str = "learned iteration with memory") -> MemoryIterationAnalysis:
    """The recurrence, its factors on ``spectrum``, the optimal two-step comparison and the
    identification of the memory iteration ``(W, b, h, betas, gammas)`` (exact inputs stay
    exact: then the factor is exact where :meth:`~.memory.MemoryRecurrence.exact_factor_on`
    applies)."""
    if not len(betas):
        raise AnalysisInputError("analyze_memory_iteration needs memory >= 1 (betas)")
    hf = float(h)
    if not (math.isfinite(hf) and hf > 0):
        raise AnalysisInputError(f"h must be a positive finite number, got {h!r}")
    rec = memory_recurrence(W, b, h, betas, gammas)
    lo, hi = spectrum.interval
    n = rec.stages
    ev = spectrum.eigenvalues
    on_ev = None
    if ev is not None:
        on_ev = float(np.max(rec.factor(np.asarray(ev))))
    if spectrum.real:
        lam = np.unique(np.concatenate([np.linspace(lo, hi, grid), [lo, hi]]))
        worst, at, roots = _worst(rec, lam)
        at_v: Any = float(at.real)
    else:
        worst, at, roots = _worst(rec, np.asarray(ev))
        at_v = [float(at.real), float(at.imag)]
    factor = {"per_outer": worst, "per_matvec": worst ** (1.0 / n), "at": at_v, "on_eigenvalues": on_ev,
              "roots_at_worst": [[float(z.real), float(z.imag)] for z in roots]}
    exact_factor = rec.exact_factor_on(lo, hi) if spectrum.real and 0 < lo < hi else None
    if exact_factor is not None:
        exact_factor = _tidy(exact_factor)
    optimal = None
    if spectrum.real and 0 < lo < hi:
        opt = optimal_two_step_factor(lo, hi)
        alpha, beta = heavy_ball(lo, hi)
        optimal = {"per_matvec": float(opt), "per_matvec_exact": format_exact(_tidy(opt)), "alpha": float(alpha), "beta": float(beta),
                   "alpha_exact": format_exact(_tidy(alpha)), "beta_exact": format_exact(_tidy(beta)), "interval": [lo, hi]}
    ident = identify_memory_iteration(rec, lo, hi, rtol=rtol) if spectrum.real and 0 < lo < hi else None
    gam = [list(g) for g in gammas] + [[0.0] * n for _ in range(len(betas) - len(gammas))]
    return MemoryIterationAnalysis(rec, form, startup, tuple(float(x) for x in b), tuple(float(x) for x in betas),
                                   tuple(tuple(float(x) for x in g) for g in gam), spectrum, factor, exact_factor, optimal, ident,
                                   memory_pseudocode(W, b, hf, betas, gam, name))
