"""Stability intervals on the real and imaginary axes, the tiny-excess case, and a plot window.

The intervals are decided exactly when R has rational coefficients: the real interval
``[x_min, 0]`` from an exact isolation of the real roots of ``P^2 - Q^2`` (where ``|R| = 1``,
sympy's ``Poly.intervals``) and exact sign tests between them; the imaginary interval from
the roots of ``E(y) = |Q(iy)|^2 - |P(iy)|^2``. Otherwise the roots are found in 50-digit
arithmetic (mpmath) and confirmed by a dense scan of |R|; beyond degree 60 a scan of |R|
alone decides. When ``|R(iy)|`` exceeds 1 for every small ``y != 0`` (``E`` starts with a
negative term, e.g. Prince-Dormand 8(7): ``|R(iy)|^2 - 1 = 5.9e-8 y^10 + ...``), the size of
that excess is reported with the interval on which it stays below 1e-6. The plot window is
taken from |R| itself: a polar scan of the stability region, or of its complement when that
is the bounded part.

Imports numpy, sympy, mpmath, gmpy2 and the package's ``arithmetic``, ``dense_polynomials``
and ``rational_stability`` modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp
from gmpy2 import mpq

from .arithmetic import Arithmetic, ExactArithmetic, MpArithmetic
from .dense_polynomials import padd, pmul, psub
from .rational_stability import StabilityFunction

__all__ = ["axis_polynomials", "stability_intervals", "Interval", "plot_window", "IMAG_EXCESS_TOL"]

#: The excess of |R(iy)| over 1 below which the imaginary axis counts as "practically stable".
IMAG_EXCESS_TOL = 1e-6
#: Largest degree of P^2 - Q^2 isolated exactly (beyond: 50-digit roots and a dense scan).
_EXACT_ISOLATION_MAX_DEGREE = 48
#: Beyond this degree of R the intervals come from a scan of |R| alone (no root finding).
_ROOTS_MAX_DEGREE = 60
_MP_ROOT_MAX_DEGREE = 24
_DPS = 50
#: |R(iy)| exceeding 1 by at most IMAG_EXCESS_TOL on [-0.1i, 0.1i] or more counts as "only slightly".
_TINY_EXCESS_SPAN = 0.1

def axis_polynomials(ar: Arithmetic | None, P: Sequence[Any], Q: Sequence[Any]) -> tuple[list[Any], list[Any]]:
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
class Interval:
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


def stability_intervals(Rf: StabilityFunction) -> tuple[Interval, Interval, bool]:
    """``(real, imaginary, whole)``: the real and imaginary :class:`Interval` and whether
    ``|R(iy)| <= 1`` on the whole imaginary axis."""
    R = Rf.evaluator()
    absR_real = lambda x: np.abs(R(np.asarray(x, dtype=complex)))  # noqa: E731
    absR_imag = lambda y: np.abs(R(1j * np.asarray(y, dtype=float)))  # noqa: E731
    if Rf.rational and 2 * max(Rf.degrees) <= _EXACT_ISOLATION_MAX_DEGREE:
        P, Q = Rf.rationals()
        ar = Rf.arithmetic
        f_el, E_el = axis_polynomials(ar, Rf.P, Rf.Q)
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
        return Interval(lo, "exact"), Interval(hi, "exact", excess), whole
    # numeric: 50-digit roots, then a dense scan of |R|
    ar = Rf.arithmetic if Rf.arithmetic is not None else None
    high = max(Rf.degrees) > _ROOTS_MAX_DEGREE
    if (isinstance(ar, ExactArithmetic) or isinstance(ar, MpArithmetic)) and not high:
        f_el, E_el = axis_polynomials(ar, Rf.P, Rf.Q)
        f = [ar.to_mpf(x, _DPS) for x in f_el]
        E = [ar.to_mpf(x, _DPS) for x in E_el]
        label = "50-digit"
    else:
        f, E = axis_polynomials(None, Rf.P_float, Rf.Q_float)
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
    return Interval(lo, label), Interval(hi, label, excess), whole


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
