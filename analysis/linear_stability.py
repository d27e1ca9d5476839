"""Linear stability of a Runge-Kutta method: R(z), its intervals, a plot window and the verdicts.

:func:`stability` puts together the stability function (:mod:`analysis.rational_stability`),
the real and imaginary stability intervals and the plot window
(:mod:`analysis.stability_regions`) and the A-/L-/A(alpha)-/algebraic stability, stiff
accuracy and Pade verdicts (:mod:`analysis.stability_verdicts`) in one
:class:`StabilityInfo`, cached on the tableau. The stability region is
``{z : |R(z)| <= 1}``.

Imports numpy, sympy and the package's ``rational_stability``, ``stability_regions`` and
``tableau`` modules (``stability_verdicts`` when the verdicts are asked for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .rational_stability import StabilityFunction, Z, stability_function, stability_polynomial_coefficients, stability_rational
from .stability_regions import IMAG_EXCESS_TOL, axis_polynomials, plot_window, stability_intervals
from .tableau import ButcherTableau

#: Coefficients beyond this size make |R| overflow float64 anywhere but next to 0.
_MAX_SCALE = 1e100
_OVERFLOW_NOTE = "the coefficients are too large for float64 (|R| overflows): intervals and verdicts not computed"

__all__ = ["StabilityFunction", "StabilityInfo", "stability_rational", "stability_function",
           "stability_polynomial_coefficients", "stability", "region_grid", "plot_window", "Z", "IMAG_EXCESS_TOL",
           "axis_polynomials"]

@dataclass(frozen=True, eq=False)
class StabilityInfo:
    """Stability data of a method.

    ``real_interval`` is ``(x_min, 0)``: the largest segment ``[x_min, 0]`` of the negative
    real axis inside the region (``-inf`` when unbounded). ``imag_limit`` is ``y_max`` such
    that ``[-i y_max, i y_max]`` lies in the region (0 when only the origin does, ``inf``
    when the whole axis does); ``imag_excess`` describes how little |R(iy)| exceeds 1 when
    ``imag_limit`` is 0 because of a tiny excess near 0. ``verdicts`` holds the
    A-/L-/algebraic stability verdicts (:mod:`analysis.stability_verdicts`).
    """

    function: StabilityFunction
    real_interval: tuple[float, float]
    imag_limit: float
    a_stable_on_axis: bool
    intervals_arithmetic: str
    imag_excess: dict[str, Any] | None
    window: dict[str, Any]
    verdicts: Any = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def R(self) -> sp.Expr:
        return self.function.expr()

    @property
    def is_polynomial(self) -> bool:
        return self.function.is_polynomial

    @property
    def R_text(self) -> str:
        return self.function.text()

    @property
    def R_ascending(self) -> str:
        """R(z) as text with powers of z ascending and ``Q(0) = 1``."""
        return self.function.text()

    def latex(self) -> str:
        """R(z) in LaTeX, powers ascending."""
        return self.function.latex()

    def imaginary_text(self) -> str:
        """The imaginary interval in words (the tiny-excess case spelled out)."""
        hi = self.imag_limit
        if math.isnan(hi):
            return "not computed"
        if not math.isfinite(hi):
            return "the whole axis"
        if hi > 0:
            return f"[-{hi:.6g}i, {hi:.6g}i]"
        ex = self.imag_excess
        if ex is None:
            return "only 0 (|R(iy)| > 1 for small y != 0)"
        if not ex.get("tiny"):
            return f"only 0 (|R(iy)|^2 - 1 = {ex['leading_coefficient']:.3g} y^{ex['leading_power']} + ... > 0 for small y != 0)"
        lim = ex["within_tolerance_up_to"]
        lim_t = "every y" if not math.isfinite(lim) else f"|y| <= {lim:.4g}"
        return (f"only 0, but |R(iy)| exceeds 1 only slightly near 0: |R(iy)|^2 - 1 = "
                f"{ex['leading_coefficient']:.2g} y^{ex['leading_power']} + ..., and |R(iy)| <= 1 + {ex['tolerance']:g} for {lim_t}")

    def to_json(self) -> dict[str, Any]:
        p, q = self.function.sympy_coefficients()
        d: dict[str, Any] = {
            "R": self.R_text,
            "polynomial": self.is_polynomial,
            "numerator": [sp.sstr(c) for c in p],
            "denominator": [sp.sstr(c) for c in q],
            "degrees": list(self.function.degrees),
            "arithmetic": self.function.kind,
            "real_interval": [_json_float(self.real_interval[0]), 0.0],
            "imag_interval": [_json_float(-self.imag_limit), _json_float(self.imag_limit)],
            "intervals_arithmetic": self.intervals_arithmetic,
            "imag_excess": None if self.imag_excess is None else {k: _json_float(v) if isinstance(v, float) else v for k, v in self.imag_excess.items()},
            "plot_window": self.window,
            "notes": list(self.notes),
        }
        if self.verdicts is not None:
            d.update(self.verdicts.to_json())
        return d


def _json_float(x: float) -> float | str | None:
    if math.isnan(x):
        return None
    return x if np.isfinite(x) else ("-inf" if x < 0 else "inf")


def stability(tableau: ButcherTableau, *, exact: bool | None = None, verdicts: bool = True) -> StabilityInfo:
    """Stability function, real and imaginary stability intervals, plot window and (with
    ``verdicts``) the A-/L-/A(alpha)-/algebraic stability and stiff accuracy verdicts
    (cached on the tableau)."""
    key = f"stability-{exact}-{verdicts}"
    hit = tableau._cache.get(key)
    if hit is not None:
        return hit
    Rf = stability_rational(tableau, exact)
    if not (np.all(np.isfinite(Rf.P_float)) and np.all(np.isfinite(Rf.Q_float))) or tableau.coefficient_scale > _MAX_SCALE:
        info = StabilityInfo(Rf, (math.nan, 0.0), math.nan, False, "not computed", None,
                             {"re": [-5.0, 5.0], "im": [-5.0, 5.0], "from": "default"}, None,
                             tuple(n for n in (Rf.note, _OVERFLOW_NOTE) if n))
        tableau._cache[key] = info
        return info
    info = stability_of_function(Rf)
    if verdicts:
        from .stability_verdicts import assess_stability

        object.__setattr__(info, "verdicts", assess_stability(tableau, info, exact=exact))
    tableau._cache[key] = info
    return info


def stability_of_function(Rf: StabilityFunction) -> StabilityInfo:
    """Intervals and plot window of a stability function on its own (no tableau, so no
    verdicts that need one): used for ``stability()`` and for methods whose R(z) comes from
    elsewhere (two-derivative methods)."""
    real, imag, whole = stability_intervals(Rf)
    notes = tuple(n for n in (Rf.note,) if n)
    window = plot_window(Rf, real.end, imag.end)
    arith = real.arithmetic if real.arithmetic == imag.arithmetic else f"{real.arithmetic}/{imag.arithmetic}"
    return StabilityInfo(Rf, (real.end, 0.0), imag.end, whole, arith, imag.excess, window, None, notes)


def region_grid(
    tableau: ButcherTableau,
    re: tuple[float, float] | None = None,
    im: tuple[float, float] | None = None,
    n: int = 301,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, |R(X + iY)|)`` on an ``n x n`` grid, for contour plots of the region.

    The default box is :func:`plot_window` (taken from |R| itself)."""
    Rf = stability_rational(tableau, exact=False if not tableau.is_exact else None)
    if re is None or im is None:
        st = stability(tableau, verdicts=False)
        re = re or tuple(st.window["re"])
        im = im or tuple(st.window["im"])
    x = np.linspace(re[0], re[1], n)
    y = np.linspace(im[0], im[1], n)
    X, Y = np.meshgrid(x, y)
    M = np.abs(Rf.evaluator()(X + 1j * Y))
    return X, Y, M
