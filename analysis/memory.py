"""Iterations with memory: recurrences of linear memory iterations and linear multistep methods.

An R2N2 with memory ``M`` updates

    x_{k+1} = x_k + h sum_j b_j v_j^(k)
                  + sum_{m=1..M} ( beta_m (x_{k-m+1} - x_{k-m}) + h sum_j gamma_{m,j} v_j^(k-m) )

with the stage evaluations ``v_j^(k)`` of outer iteration ``k`` (``n`` per iteration).

*Linear systems* (``f(x) = rhs - A x``): each stage is ``v_j = P_j(z) r_k`` with ``z = -h
lambda`` on an eigenvector (``P_1 = 1``, ``P_j = 1 + z sum_l W_jl P_l``), and the residual obeys
the scalar recurrence

    r_{k+1} = c_0(z) r_k + c_1(z) r_{k-1} + ... + c_M(z) r_{k-M},
    c_0 = q(z) + beta_1,   c_m = g_m(z) - beta_m + beta_{m+1}   (beta_{M+1} = 0),

``q(z) = 1 + z sum_j b_j P_j(z)`` (the residual polynomial of the memoryless iteration) and
``g_m(z) = z sum_j gamma_{m,j} P_j(z)``; for ``M = 1`` a three-term recurrence. Its asymptotic
factor per outer iteration on an eigenvalue is the spectral radius of the companion matrix
(the largest root of ``zeta^{M+1} - c_0 zeta^M - ... - c_M``), per matvec that to the power
``1/n`` (memory reuses old evaluations: no extra matvecs). On an interval ``[a, b]`` no
stationary two-step method beats ``(sqrt(kappa) - 1)/(sqrt(kappa) + 1)`` per matvec,
``kappa = b/a``, attained by the optimal heavy ball / stationary Chebyshev iteration
``x_{k+1} = x_k + alpha r_k + beta (x_k - x_{k-1})`` with ``alpha = 4/(sqrt a + sqrt b)^2``,
``beta = ((sqrt b - sqrt a)/(sqrt b + sqrt a))^2``.

*ODEs* (one stage): the update is the linear multistep method
``y_{n+1} - (1 + beta_1) y_n + ... = h (b f_n + gamma_1 f_{n-1} + ...)``; its order is the
largest ``p`` with ``sum_j alpha_j j^q = q sum_j beta_j j^(q-1)`` for ``q = 0..p``, its error
constant ``C_{p+1} / sigma(1)`` with ``C_q = (sum_j alpha_j j^q - q sum_j beta_j j^(q-1)) / q!``;
it is zero-stable when the roots of ``rho(zeta) = sum_j alpha_j zeta^j`` lie in the closed
unit disc, those on the circle simple (:meth:`LinearMultistep.zero_stability`), and absolutely
stable at ``z = h lambda`` when every root of ``rho(zeta) - z sigma(zeta)`` has modulus <= 1
(boundary locus ``z(theta) = rho(e^{i theta}) / sigma(e^{i theta})``, real interval
:meth:`LinearMultistep.real_interval`). :func:`memory_weights_of` inverts
:func:`linear_multistep`.

Imports numpy and sympy only (besides :mod:`.errors`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .errors import AnalysisInputError

__all__ = ["MemoryRecurrence", "memory_recurrence", "heavy_ball", "optimal_two_step_factor", "identify_memory_iteration",
           "LinearMultistep", "linear_multistep", "ADAMS_BASHFORTH", "CLASSICAL_LMM", "ZeroStability", "memory_weights_of",
           "spectral_radius_interval"]

_Z = sp.Symbol("z")


@dataclass(frozen=True)
class MemoryRecurrence:
    """The residual recurrence ``r_{k+1} = sum_m c_m(z) r_{k-m}`` of a linear memory iteration
    (``z = -h lambda``), with its stages ``n`` (matvecs per outer iteration) and ``h``."""

    coefficients: tuple[sp.Expr, ...]  # c_0..c_M as polynomials in z
    stages: int
    h: sp.Expr  # exact when the inputs were
    betas: tuple[sp.Expr, ...]
    exact: bool

    @property
    def memory(self) -> int:
        return len(self.coefficients) - 1

    def text(self) -> str:
        """The recurrence in closed form, in lambda: ``r_{k+1} = (...) r_k + (...) r_{k-1}``."""
        lam = sp.Symbol("lambda")
        parts = []
        for m, c in enumerate(self.coefficients):
            e = sp.expand(c.subs(_Z, -self.h * lam))
            parts.append(f"({sp.sstr(e)}) r_{{k{'' if m == 0 else f'-{m}'}}}")
        return "r_{k+1} = " + " + ".join(parts)

    def roots(self, lam: np.ndarray) -> np.ndarray:
        """Companion roots for each eigenvalue in ``lam`` (complex allowed): shape ``(len, M+1)``."""
        lam = np.atleast_1d(np.asarray(lam, dtype=complex))
        z = -complex(self.h) * lam
        C = np.array([[complex(v) for v in np.atleast_1d(sp.lambdify(_Z, c, "numpy")(z) * np.ones_like(z))]
                      for c in self.coefficients])  # (M+1, len)
        out = np.empty((lam.size, self.memory + 1), dtype=complex)
        for i in range(lam.size):
            out[i] = np.roots(np.concatenate([[1.0], -C[:, i]]))
        return out

    def factor(self, lam: np.ndarray) -> np.ndarray:
        """Asymptotic residual factor per outer iteration on each eigenvalue (spectral radius
        of the companion matrix)."""
        return np.max(np.abs(self.roots(lam)), axis=1)

    def factor_on(self, lo: float, hi: float, grid: int = 2001) -> dict[str, float]:
        """Worst factor over ``[lo, hi]`` (dense grid plus the end points), per outer iteration
        and per matvec, and where it is attained."""
        lam = np.linspace(lo, hi, grid)
        f = self.factor(lam)
        k = int(np.argmax(f))
        worst = float(f[k])
        return {"per_outer": worst, "per_matvec": worst ** (1.0 / self.stages), "at": float(lam[k])}

    def exact_factor_on(self, lo: Any, hi: Any) -> sp.Expr | None:
        """The exact worst factor per outer iteration of a three-term recurrence (``M = 1``)
        when its companion roots are complex on the whole interval (then ``|zeta|^2 = -c_1``)
        and ``c_1`` is constant: ``sqrt(-c_1)``. None when that does not apply."""
        if self.memory != 1 or not self.exact:
            return None
        c0, c1 = self.coefficients
        lam = sp.Symbol("lambda", real=True)
        zsub = -self.h * lam
        c0l, c1l = sp.expand(c0.subs(_Z, zsub)), sp.expand(c1.subs(_Z, zsub))
        if c1l.free_symbols:
            return None
        disc = sp.expand(c0l**2 + 4 * c1l)  # companion roots are complex where disc < 0
        a = _exact_bound(lo)
        b = _exact_bound(hi)
        coeffs = [complex(sp.N(x, 30)) for x in sp.Poly(disc, lam).all_coeffs()]
        inner = sorted(r.real for r in np.roots(coeffs) if abs(r.imag) < 1e-12 and float(a) < r.real < float(b)) if len(coeffs) > 1 else []
        knots = [float(a)] + inner + [float(b)]
        samples = [a, b] + [sp.Rational((x + y) / 2) for x, y in zip(knots, knots[1:])]
        for x in samples:  # disc <= 0 at the ends and between its real roots: <= 0 on [a, b]
            v = sp.simplify(disc.subs(lam, x))
            if v != 0 and float(sp.N(v, 50)) > 0:
                return None
        return sp.sqrt(-c1l)


def _is_exact(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, np.integer, Fraction)):
        return True
    return isinstance(x, sp.Basic) and bool(x.is_number) and not x.has(sp.Float)


def _number(x: Any, exact: bool) -> sp.Expr:
    """A coefficient as a sympy number: exact inputs stay exact (no text is parsed)."""
    if not exact:
        return sp.Float(float(x))
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, (int, np.integer)):
        return sp.Integer(int(x))
    return x


def _stage_polynomials(W: Sequence[Sequence[Any]], exact: bool) -> list[sp.Expr]:
    n = len(W)
    P: list[sp.Expr] = []
    for j in range(n):
        acc = sp.Integer(0)
        for l in range(j):
            w = _number(W[j][l], exact)
            if w != 0:
                acc += w * P[l]
        P.append(sp.expand(1 + _Z * acc))
    return P


def memory_recurrence(W: Any, b: Sequence[Any], h: float, betas: Sequence[Any] = (), gammas: Sequence[Sequence[Any]] = (),
                      *, exact: bool | None = None) -> MemoryRecurrence:
    """The residual recurrence of the linear memory iteration ``(W, b, h, beta, gamma)``.

    ``W`` is the strictly lower ``n x n`` inner matrix, ``b`` the outer weights, ``betas``
    ``[beta_1..beta_M]`` and ``gammas`` an ``M x n`` table (missing rows are zero).
    ``exact`` keeps rational inputs exact (default: when every entry is an int, Fraction or
    sympy Rational).
    """
    W = [list(r) for r in (np.asarray(W, dtype=object).reshape(len(b), len(b)) if len(b) else [])]
    n = len(b)
    if n < 1:
        raise AnalysisInputError("memory_recurrence: b must have at least one entry")
    M = max(len(betas), len(gammas))
    betas = list(betas) + [0] * (M - len(betas))
    gammas = [list(g) for g in gammas] + [[0] * n for _ in range(M - len(gammas))]
    if any(len(g) != n for g in gammas):
        raise AnalysisInputError(f"memory_recurrence: every gamma row needs {n} entries")
    entries = [x for r in W for x in r] + list(b) + betas + [x for g in gammas for x in g] + [h]
    if exact is None:
        exact = all(_is_exact(x) for x in entries)

    def num(x: Any) -> sp.Expr:
        return _number(x, bool(exact))

    P = _stage_polynomials(W, bool(exact))
    q = sp.expand(1 + _Z * sum((num(bj) * Pj for bj, Pj in zip(b, P)), sp.Integer(0)))
    coeffs = [sp.expand(q + num(betas[0])) if M else q]
    for m in range(1, M + 1):
        g = sp.expand(_Z * sum((num(x) * Pj for x, Pj in zip(gammas[m - 1], P)), sp.Integer(0)))
        nxt = num(betas[m]) if m < M else 0
        coeffs.append(sp.expand(g - num(betas[m - 1]) + nxt))
    return MemoryRecurrence(tuple(coeffs), n, num(h), tuple(num(x) for x in betas), bool(exact))


def _exact_bound(x: Any) -> sp.Expr:
    """An interval end: exact when given exactly, a float's exact binary value otherwise."""
    return _number(x, True) if _is_exact(x) else sp.Rational(float(x))


def optimal_two_step_factor(lo: Any, hi: Any) -> sp.Expr:
    """``(sqrt(kappa) - 1)/(sqrt(kappa) + 1)``, ``kappa = hi/lo``: the best asymptotic factor
    per matvec of a stationary two-step method on ``[lo, hi]`` (exact for exact inputs)."""
    a, b = _exact_bound(lo), _exact_bound(hi)
    if not (a > 0 and b > a):
        raise AnalysisInputError(f"optimal_two_step_factor needs 0 < lo < hi, got [{lo}, {hi}]")
    return sp.simplify((sp.sqrt(b) - sp.sqrt(a)) / (sp.sqrt(b) + sp.sqrt(a)))


def heavy_ball(lo: Any, hi: Any) -> tuple[sp.Expr, sp.Expr]:
    """``(alpha, beta)`` of the optimal heavy ball (stationary Chebyshev) iteration on ``[lo, hi]``."""
    a, b = _exact_bound(lo), _exact_bound(hi)
    return sp.simplify(4 / (sp.sqrt(a) + sp.sqrt(b)) ** 2), sp.simplify(((sp.sqrt(b) - sp.sqrt(a)) / (sp.sqrt(b) + sp.sqrt(a))) ** 2)


def identify_memory_iteration(rec: MemoryRecurrence, lo: float, hi: float, rtol: float = 0.02) -> str | None:
    """Name a one-stage, one-step memory iteration that is a heavy ball: ``"stationary Chebyshev
    / heavy ball with alpha = ..., beta = ..."`` (and "the optimal one for [lo, hi]" when its
    parameters are within ``rtol`` of it), else None."""
    if rec.stages != 1 or rec.memory != 1:
        return None
    c0, c1 = (sp.Poly(c, _Z) for c in rec.coefficients)
    if c1.degree() > 0:  # gamma != 0: not a heavy ball
        return None
    beta = float(rec.betas[0])
    alpha = float(c0.coeff_monomial(_Z) * rec.h)  # c0 = 1 + beta + z alpha/h ... with z = -h lambda
    if not (beta > 0 and alpha > 0):
        return None
    a_opt, b_opt = (float(x) for x in heavy_ball(lo, hi))
    name = f"stationary Chebyshev / heavy ball with alpha = {alpha:.6g}, beta = {beta:.6g}"
    if abs(alpha - a_opt) <= rtol * a_opt and abs(beta - b_opt) <= rtol * b_opt:
        name += f" (the optimal one for [{lo:g}, {hi:g}]: alpha = {a_opt:.6g}, beta = {b_opt:.6g})"
    return name


# ----------------------------------------------------------------------------- linear multistep methods
@dataclass(frozen=True)
class ZeroStability:
    """The roots of the first characteristic polynomial ``rho`` and the root condition.

    ``stable``: every root in the closed unit disc, those on the circle simple;
    ``strongly``: besides, ``zeta = 1`` is the only root on the circle. ``exact``: decided on
    exact coefficients (multiplicities exactly, moduli at 30 digits), else in float64 within
    ``tol``."""

    roots: tuple[complex, ...]
    multiplicities: tuple[int, ...]
    stable: bool
    strongly: bool
    exact: bool
    tol: float

    @property
    def moduli(self) -> tuple[float, ...]:
        return tuple(abs(r) for r in self.roots)

    def to_json(self) -> dict[str, Any]:
        return {"roots": [[float(r.real), float(r.imag)] for r in self.roots], "moduli": [float(m) for m in self.moduli],
                "multiplicities": list(self.multiplicities), "stable": self.stable, "strongly": self.strongly,
                "arithmetic": "exact" if self.exact else "float64", "tol": self.tol}


_ZETA = sp.Symbol("zeta")


def _float_or_complex(x: sp.Expr) -> float:
    return float(sp.N(x, 30))


@dataclass(frozen=True)
class LinearMultistep:
    """``sum_j alpha_j y_{n+j} = h sum_j beta_j f_{n+j}``, ``j = 0..k`` (oldest first, ``alpha_k = 1``)."""

    alpha: tuple[sp.Rational | sp.Expr, ...]
    beta: tuple[sp.Rational | sp.Expr, ...]

    @property
    def steps(self) -> int:
        return len(self.alpha) - 1

    @property
    def explicit(self) -> bool:
        return self.beta[-1] == 0

    @property
    def is_exact(self) -> bool:
        return all(not (isinstance(x, sp.Basic) and x.has(sp.Float)) for x in self.alpha + self.beta)

    def trimmed(self) -> "LinearMultistep":
        """The same method without leading (oldest) steps whose alpha and beta vanish."""
        k = 0
        while k < self.steps - 1 and self.alpha[k] == 0 and self.beta[k] == 0:
            k += 1
        return LinearMultistep(self.alpha[k:], self.beta[k:])

    def residuals(self, max_order: int) -> list[sp.Expr]:
        """``C_q = sum_j alpha_j j^q - q sum_j beta_j j^(q-1)`` for ``q = 0..max_order``."""
        out = []
        for q in range(max_order + 1):
            lhs = sum((a * sp.Integer(j) ** q for j, a in enumerate(self.alpha)), sp.Integer(0))
            rhs = sum((q * bj * (sp.Integer(j) ** (q - 1) if q else 0) for j, bj in enumerate(self.beta)), sp.Integer(0))
            out.append(sp.expand(lhs - rhs))
        return out

    def order(self, max_order: int = 12, tol: float = 0.0) -> int:
        res = self.residuals(max_order)
        p = -1
        for q, r in enumerate(res):
            if abs(complex(r)) > tol:
                break
            p = q
        return max(p, 0)

    def error_constant(self, order: int | None = None, tol: float = 0.0) -> tuple[sp.Expr, sp.Expr | None]:
        """``(C_{p+1}, C_{p+1} / sigma(1))`` at the method's order ``p`` (or ``order``):
        ``C_{p+1} = (sum_j alpha_j j^(p+1) - (p+1) sum_j beta_j j^p) / (p+1)!`` is the leading
        coefficient of the local truncation error ``C_{p+1} h^(p+1) y^(p+1)``, divided by
        ``sigma(1)`` the error constant of the global error (None when ``sigma(1) = 0``)."""
        p = self.order(tol=tol) if order is None else order
        c = sp.expand(self.residuals(p + 1)[p + 1] / sp.factorial(p + 1))
        s1 = sum(self.beta, sp.Integer(0))
        return c, (None if s1 == 0 else sp.simplify(c / s1) if self.is_exact else c / s1)

    def rho(self) -> sp.Poly:
        """``rho(zeta) = sum_j alpha_j zeta^j`` (first characteristic polynomial)."""
        return sp.Poly(list(reversed(self.alpha)), _ZETA)

    def sigma(self) -> sp.Poly:
        """``sigma(zeta) = sum_j beta_j zeta^j`` (second characteristic polynomial)."""
        return sp.Poly(list(reversed(self.beta)), _ZETA)

    def zero_stability(self, tol: float = 1e-9) -> ZeroStability:
        """The root condition on ``rho`` (exactly for exact coefficients)."""
        rho = self.rho()
        if self.is_exact:
            roots: list[complex] = []
            mult: list[int] = []
            for factor, m in sp.sqf_list(rho.as_expr(), _ZETA)[1]:
                fp = sp.Poly(factor, _ZETA)
                for r in fp.nroots(n=30):
                    roots.append(complex(sp.N(r, 30)))
                    mult.append(int(m))
            eps = 1e-25
        else:
            raw = np.roots(np.array([float(c) for c in rho.all_coeffs()], dtype=float)) if rho.degree() > 0 else np.zeros(0)
            roots, mult = [], []
            for r in raw:  # group float roots closer than sqrt(tol) as one multiple root
                for i, q in enumerate(roots):
                    if abs(q - r) <= math.sqrt(tol):
                        mult[i] += 1
                        break
                else:
                    roots.append(complex(r))
                    mult.append(1)
            eps = tol
        order_idx = sorted(range(len(roots)), key=lambda i: (-abs(roots[i]), -roots[i].real, roots[i].imag))
        roots = [roots[i] for i in order_idx]
        mult = [mult[i] for i in order_idx]
        stable = all(abs(r) <= 1 + eps and (abs(r) < 1 - eps or m == 1) for r, m in zip(roots, mult))
        on_circle = [r for r in roots if abs(abs(r) - 1) <= eps]
        strongly = stable and len(on_circle) == 1 and abs(on_circle[0] - 1) <= max(eps, 1e-12)
        return ZeroStability(tuple(roots), tuple(mult), bool(stable), bool(strongly), self.is_exact, 0.0 if self.is_exact else tol)

    def characteristic_roots(self, z: complex) -> np.ndarray:
        """Roots of ``rho(zeta) - z sigma(zeta)`` (absolute stability at ``z = h lambda``)."""
        a = np.array([complex(_float_or_complex(x)) for x in self.alpha], dtype=complex)
        b = np.array([complex(_float_or_complex(x)) for x in self.beta], dtype=complex)
        return np.roots((a - z * b)[::-1])

    def boundary_locus(self, points: int = 721) -> np.ndarray:
        """``z(theta) = rho(e^{i theta}) / sigma(e^{i theta})`` for ``theta`` in ``[0, 2 pi]``
        (NaN where ``sigma`` vanishes): the curve that bounds the stability region."""
        th = np.linspace(0.0, 2 * np.pi, points)
        w = np.exp(1j * th)
        a = np.array([_float_or_complex(x) for x in self.alpha])
        b = np.array([_float_or_complex(x) for x in self.beta])
        num = np.polyval(a[::-1], w)
        den = np.polyval(b[::-1], w)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(np.abs(den) > 1e-14, num / den, np.nan + 0j)
        return z

    def real_interval(self, search: float = 20.0) -> float:
        """The left end ``x <= 0`` of the largest interval ``[x, 0]`` of absolute stability on
        the real axis (0 when the method is unstable just left of 0), in float64."""
        return spectral_radius_interval(lambda z: float(np.max(np.abs(self.characteristic_roots(z)))), search=search)

    def real_interval_exact(self, search: float = 20.0) -> sp.Expr | None:
        """The exact left end when it is where a root crosses the circle at ``zeta = -1``,
        ``x = rho(-1) / sigma(-1)`` (e.g. -1 for AB2, -6/11 for AB3), or 0; None otherwise
        (or for float coefficients)."""
        if not self.is_exact:
            return None
        x = self.real_interval(search)
        if x == 0.0:
            return sp.Integer(0)
        s_1 = self.sigma().eval(-1)
        if s_1 != 0:
            cand = sp.nsimplify(self.rho().eval(-1) / s_1)
            if abs(float(cand) - x) <= 1e-8 * max(1.0, abs(x)):
                return cand
        return None

    def identify(self, tol: float = 1e-10) -> str | None:
        """The classical method (:data:`CLASSICAL_LMM`) this one is, leading zero steps ignored."""
        me = self.trimmed()
        for name, m in CLASSICAL_LMM.items():
            if len(m.alpha) == len(me.alpha) and all(abs(_float_or_complex(x) - float(y)) <= tol for x, y in zip(me.alpha + me.beta, m.alpha + m.beta)):
                return name
        return None

    def closest(self) -> tuple[str, float]:
        """The nearest classical method with as many steps or fewer (largest coefficient
        difference after padding with leading zeros) and that distance."""
        best: tuple[str, float] | None = None
        k = self.steps
        mine = [_float_or_complex(x) for x in self.alpha + self.beta]
        for name, m in CLASSICAL_LMM.items():
            if m.steps > k:
                continue
            pad = k - m.steps
            theirs = [0.0] * pad + [float(x) for x in m.alpha] + [0.0] * pad + [float(x) for x in m.beta]
            d = max(abs(x - y) for x, y in zip(mine, theirs))
            if best is None or d < best[1]:
                best = (name, d)
        assert best is not None
        return best

    def to_json(self) -> dict[str, Any]:
        from .numbers import format_exact

        def cell(x: sp.Expr) -> str | float:
            return format_exact(x) if self.is_exact else float(x)

        return {"steps": self.steps, "alpha": [cell(x) for x in self.alpha], "beta": [cell(x) for x in self.beta], "explicit": self.explicit}


def spectral_radius_interval(radius: Any, search: float = 20.0, tol: float = 1e-12, grid: int = 4000) -> float:
    """The left end ``x`` of the largest ``[x, 0]`` on which ``radius(z) <= 1 + tol``: a scan of
    ``grid`` points over ``[-search, 0]`` then bisection at the first violation (to ~1e-12).

    A method unstable just left of 0 gives 0: an end closer to 0 than 1e-9, or one where the
    radius already exceeds 1 at ``x / 2`` (by more than ``tol / 1000``; a root that leaves the
    circle tangentially, ``|zeta| = 1 + c |z|^k``, crosses ``1 + tol`` at a small ``x`` but
    is outside from the start, as AB2's on the imaginary axis)."""
    zs = -np.linspace(0.0, search, grid + 1)[1:]
    prev = 0.0
    for z in zs:
        if radius(complex(z)) > 1 + tol:
            lo, hi = float(z), prev   # radius(lo) > 1 >= radius(hi)
            while hi - lo > 1e-12 * max(1.0, abs(lo)):
                mid = 0.5 * (lo + hi)
                if radius(complex(mid)) > 1 + tol:
                    lo = mid
                else:
                    hi = mid
            if hi > -1e-9 or radius(complex(hi / 2)) > 1 + tol * 1e-3:
                return 0.0
            return float(hi)
        prev = float(z)
    return float(-search)


def linear_multistep(b: Any, betas: Sequence[Any] = (), gammas: Sequence[Any] = ()) -> LinearMultistep:
    """The linear multistep method of a one-stage R2N2 with memory on ``y' = f(y)``::

        y_{n+1} = y_n + h b f_n + sum_m ( beta_m (y_{n-m+1} - y_{n-m}) + h gamma_m f_{n-m} )
    """
    M = max(len(betas), len(gammas))
    exact = all(_is_exact(x) for x in [b, *betas, *gammas])
    be = [_number(x, exact) for x in list(betas) + [0] * (M - len(betas))]
    ga = [_number(x, exact) for x in list(gammas) + [0] * (M - len(gammas))]
    k = M + 1
    alpha = [sp.Integer(0)] * (k + 1)  # index j for y_{n+1-k+j}; alpha[k] is y_{n+1}
    beta = [sp.Integer(0)] * (k + 1)
    alpha[k] = sp.Integer(1)
    alpha[k - 1] -= 1
    beta[k - 1] += _number(b, exact)
    for m in range(1, M + 1):  # beta_m (y_{n-m+1} - y_{n-m}) moves to the left-hand side
        alpha[k - m] -= be[m - 1]
        alpha[k - 1 - m] += be[m - 1]
        beta[k - 1 - m] += ga[m - 1]
    return LinearMultistep(tuple(alpha), tuple(beta))


def memory_weights_of(lmm: LinearMultistep) -> tuple[sp.Expr, tuple[sp.Expr, ...], tuple[sp.Expr, ...]]:
    """``(b, betas, gammas)`` of the one-stage memory step that is the explicit method ``lmm``
    (:func:`linear_multistep` inverted): ``beta_1 = -1 - alpha_{k-1}``,
    ``beta_{m+1} = beta_m - alpha_{k-1-m}``. Needs ``alpha_k = 1``, ``rho(1) = 0`` and an
    explicit method."""
    k = lmm.steps
    a, bt = lmm.alpha, lmm.beta
    if a[k] != 1 or not lmm.explicit:
        raise AnalysisInputError("memory_weights_of: need an explicit method with alpha_k = 1")
    if abs(complex(sum(a, sp.Integer(0)))) > 1e-12:
        raise AnalysisInputError("memory_weights_of: rho(1) != 0 (the method is not consistent)")
    M = k - 1
    betas: list[sp.Expr] = []
    if M:
        betas.append(-1 - a[k - 1])
        for m in range(1, M):
            betas.append(betas[-1] - a[k - 1 - m])
    gammas = tuple(bt[k - 1 - m] for m in range(1, M + 1))
    return bt[k - 1], tuple(betas), gammas


def _lmm(alpha: Sequence[int | str], beta: Sequence[int | str]) -> LinearMultistep:
    return LinearMultistep(tuple(sp.Rational(x) for x in alpha), tuple(sp.Rational(x) for x in beta))


#: The explicit Adams-Bashforth methods of 1 to 4 steps (coefficients oldest first).
ADAMS_BASHFORTH = {
    "AB1 (forward Euler)": _lmm((-1, 1), (1, 0)),
    "AB2": _lmm((0, -1, 1), ("-1/2", "3/2", 0)),
    "AB3": _lmm((0, 0, -1, 1), ("5/12", "-16/12", "23/12", 0)),
    "AB4": _lmm((0, 0, 0, -1, 1), ("-9/24", "37/24", "-59/24", "55/24", 0)),
}

#: Explicit linear multistep methods for identification: Adams-Bashforth 1-4 and the
#: Nystrom methods of 2 and 3 steps (explicit midpoint / leapfrog, Nystrom 3).
CLASSICAL_LMM = {
    **ADAMS_BASHFORTH,
    "explicit midpoint (leapfrog)": _lmm((-1, 0, 1), (0, 2, 0)),
    "Nystrom3": _lmm((0, -1, 0, 1), ("1/3", "-2/3", "7/3", 0)),
}
