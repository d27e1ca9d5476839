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
    expr = parse_expression(text or "")
    if expr is None:
        return math_text(str(text))
    return expr_math(expr, ascending=bool(polynomial))


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
            "figure": "stability" if "stability" in figures else None}

