"""Linear stability of a Runge-Kutta method: the stability function ``R(z)`` and the
stability intervals on the real and imaginary axes, next to the classical method of the
same number of stages.

:func:`build_stability` reads :class:`~analysis.schema.StabilityView` (the figure of the
region is drawn by :mod:`reports.figures`). May import :mod:`reports.formatting`,
:mod:`reports.mathtext` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..analysis.schema import AnalysisView, BaselineView, StabilityView
from .formatting import Rich, fnum
from .mathtext import Math, expr_math, interval_math, join_math, math_text, parse_expression, sci

__all__ = ["build_stability"]


def _interval_words(stab: StabilityView) -> tuple[Rich, Rich]:
    lo = fnum((stab.real_interval or (math.nan,))[0])
    hi = fnum((stab.imag_interval or (0, math.nan))[-1])
    if math.isinf(lo):
        real: Rich = ["the whole negative real axis ", interval_math(lo, 0.0)]
    elif math.isnan(lo):
        real = ["not available"]
    else:
        real = [interval_math(lo, 0.0)]
    if math.isinf(hi):
        imag: Rich = ["the whole imaginary axis"]
    elif math.isnan(hi):
        imag = ["not available"]
    elif hi == 0:
        imag = ["only ", Math("z = 0", "<mrow><mi>z</mi><mo>=</mo><mn>0</mn></mrow>"), " (no interval)"]
    else:
        i = sci(hi, 4)
        imag = [Math(f"[-{i.latex}\\,i, {i.latex}\\,i]",
                     f"<mrow><mo>[</mo><mrow><mo>&#x2212;</mo>{i.mathml}<mo>&#x2062;</mo><mi>i</mi></mrow><mo>,</mo>"
                     f"<mrow>{i.mathml}<mo>&#x2062;</mo><mi>i</mi></mrow><mo>]</mo></mrow>")]
    return real, imag


def _R_math(text: str | None, polynomial: bool) -> Math:
    """R(z) with ascending powers (numerator and denominator alike, Q(0) = 1)."""
    expr = parse_expression(text or "")
    if expr is None:
        return math_text(str(text))
    return expr_math(expr, ascending=True)


def build_stability(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    stab = a.stability
    if stab is None or not stab.R:
        return None
    R = _R_math(stab.R, stab.polynomial)
    Rdef = join_math([Math("R(z)", "<mrow><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow></mrow>"), Math("=", "<mo>=</mo>"), R], display=True)
    real, imag = _interval_words(stab)
    base = a.baseline or BaselineView()
    bst = base.stability or StabilityView()
    bdata = None
    if bst.R:
        breal, bimag = _interval_words(bst)
        same = bst.R.replace(" ", "") == stab.R.replace(" ", "")
        itself = a.identification is not None and a.identification.kind == "method" and a.identified_as == base.name
        bdata = {"name": base.name, "order": base.order, "same": same, "itself": itself, "what": "the classical method with the same number of stages",
                 "R": join_math([Math("R(z)", "<mrow><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow></mrow>"), Math("=", "<mo>=</mo>"), _R_math(bst.R, bst.polynomial)], display=True),
                 "real": breal, "imag": bimag}
    intro: Rich = ["For the test equation ", Math(r"y' = \lambda y", "<mrow><mi>y</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>=</mo><mi>&#x3bb;</mi><mo>&#x2062;</mo><mi>y</mi></mrow>"),
                   " one step multiplies the solution by the stability function ", Math("R(z)", "<mrow><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow></mrow>"),
                   ", ", Math(r"z = h\lambda", "<mrow><mi>z</mi><mo>=</mo><mi>h</mi><mo>&#x2062;</mo><mi>&#x3bb;</mi></mrow>"),
                   "; the step is stable where ", Math(r"|R(z)| \le 1", "<mrow><mo form=\"prefix\" lspace=\"0\" rspace=\"0\">|</mo><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow><mo form=\"postfix\" lspace=\"0\" rspace=\"0\">|</mo><mo>&#x2264;</mo><mn>1</mn></mrow>"), "."]
    kind = "polynomial" if stab.polynomial else "rational function"
    return {"intro": intro, "R": Rdef, "kind": kind, "real": real, "imag": imag, "baseline": bdata,
            "pade": _pade_words(stab), "excess": _excess_words(stab), "verdicts": _verdicts(stab),
            "figure": "stability" if "stability" in figures else None}


def _yes(v: bool | None) -> str:
    return "not computed" if v is None else ("yes" if v else "no")


def _verdicts(stab: StabilityView) -> list[dict[str, str]]:
    """Rows of the verdict table (empty for analyses written before the verdicts existed)."""
    if stab.a_stable is None and stab.l_stable is None:
        return []
    ar = stab.verdict_arithmetic or {}
    rinf = stab.r_infinity_exact or ("∞" if stab.r_infinity is not None and math.isinf(fnum(stab.r_infinity)) else
                                     (f"{fnum(stab.r_infinity):.6g}" if stab.r_infinity is not None else "not computed"))
    if stab.a_stable:
        alpha = "90 degrees (A-stable)"
    elif stab.a_alpha_degrees is None:
        alpha = "none: the region does not contain the negative real axis"
    else:
        alpha = f"{stab.a_alpha_degrees:.4f} degrees"
    stiff = _yes(stab.stiffly_accurate) + (f" (row {stab.stiffly_accurate_row + 1} of A equals b)"
                                           if stab.stiffly_accurate and stab.stiffly_accurate_row is not None else "")
    return [
        {"what": "A-stable (|R| ≤ 1 on the left half-plane)", "value": _yes(stab.a_stable), "how": ar.get("a_stable", "")},
        {"what": "L-stable (A-stable and R(∞) = 0)", "value": _yes(stab.l_stable), "how": ar.get("a_stable", "")},
        {"what": "|R(∞)|", "value": rinf, "how": ""},
        {"what": "A(α) stability angle", "value": alpha, "how": ar.get("a_alpha", "")},
        {"what": "algebraically stable (b ≥ 0 and BA + A'B − bb' positive semidefinite)", "value": _yes(stab.algebraically_stable),
         "how": ar.get("algebraically_stable", "")},
        {"what": "stiffly accurate", "value": stiff, "how": ar.get("stiffly_accurate", "")},
    ]


def _pade_words(stab: StabilityView) -> str | None:
    if stab.pade is None:
        return None
    k, j = stab.pade
    return f"R(z) is the ({k}, {j}) Padé approximant of exp(z)" + (" (the Taylor polynomial)" if j == 0 else "")


def _excess_words(stab: StabilityView) -> str | None:
    """The imaginary interval is only {0} because |R(iy)| exceeds 1 by a tiny amount near 0."""
    ex = stab.imag_excess
    if not ex or not ex.get("tiny"):
        return None
    lim = ex.get("within_tolerance_up_to")
    where = "for every y" if lim in (None, "inf") or (isinstance(lim, float) and math.isinf(lim)) else f"for |y| ≤ {float(lim):.4g}"
    return (f"|R(iy)| exceeds 1 only slightly near 0: |R(iy)|^2 − 1 = {float(ex['leading_coefficient']):.2g} y^{ex['leading_power']} + …, "
            f"and |R(iy)| ≤ 1 + {float(ex['tolerance']):g} {where}.")

