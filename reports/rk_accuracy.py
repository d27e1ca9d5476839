"""Accuracy of a Runge-Kutta method on its problem family: measured order and the equal-cost
comparison with the classical methods of the same number of stages.

:func:`build_accuracy` gives the fitted slopes and the error/ratio table per setting (in
distribution, out of distribution); :func:`comparison_sentences` says in words what the
comparison shows (the summary repeats the in-distribution one). Reads
:class:`~analysis.schema.AnalysisView`; the only arithmetic is formatting (a ratio 0.158
written as "6.3 times smaller"). May import :mod:`reports.formatting`,
:mod:`reports.mathtext` and :mod:`analysis.schema`.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..analysis.schema import SETTINGS, AnalysisView, ComparisonView
from .formatting import Rich, fnum, in_range_math, join_and, plural, ratio_text
from .mathtext import Code, Math, sci

__all__ = ["build_accuracy", "comparison_sentences"]


def comparison_sentences(a: AnalysisView, setting: str = "in_distribution") -> Rich:
    """The equal-cost comparison of one setting in words."""
    comp = a.comparison or ComparisonView()
    errs = comp.errors.get(setting) or {}
    ratios = comp.ratios.get(setting) or {}
    ref = comp.reference
    if not errs or ref not in errs:
        return []
    where = "on held-out problems from the training ranges" if setting == "in_distribution" else "out of distribution"
    stages = comp.stages.get(ref) if ref is not None else None
    cost = f" at equal cost ({plural(int(stages), 'function evaluation')} per step)" if stages else " at equal cost"
    out: Rich = [f"Its mean one-step error {where}{cost} is ", sci(errs[ref]), "."]
    learned = [k for k in ratios if k.endswith("(learned weights)")]
    classical = [k for k in ratios if k not in learned]
    worse = [k for k in classical if fnum(ratios[k]) > 1]
    better = [k for k in classical if fnum(ratios[k]) <= 1]
    if worse:
        out.append(" It is more accurate than " + ("the classical methods " if len(worse) > 1 else "the classical method "))
        out.extend(join_and([[Code(k), f" ({ratio_text(fnum(ratios[k]))} times its error)" if n == 0
                              else f" ({ratio_text(fnum(ratios[k]))} times)"] for n, k in enumerate(worse)]))
        out.append(".")
    if better:
        out.append(" " + ("The classical methods " if len(better) > 1 else "The classical method "))
        out.extend(join_and([[Code(k)] for k in better]))
        out.append(" " + ("are" if len(better) > 1 else "is") + " more accurate than it (error ratio" + ("s " if len(better) > 1 else " "))
        out.append(", ".join(ratio_text(fnum(ratios[k])) for k in better))
        out.append(").")
    for k in learned:
        r = fnum(ratios[k])
        if r < 1:
            out += [" The learned float64 weights are more accurate than the distilled exact method (error ratio ",
                    ratio_text(r), f", i.e. {1 / r:.2g} times smaller error)" if r > 0 else ")", "."]
        else:
            out += [" The distilled exact method is at least as accurate as the learned float64 weights (error ratio ",
                    ratio_text(r), ")."]
    return out


def build_accuracy(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    comp = a.comparison
    has_measured = bool(a.measured is not None or a.measured_classical)
    if comp is None and not has_measured:
        return None
    name = a.name
    fam = a.family
    learned_m = a.measured_learned is not None
    slopes = []
    if a.measured is not None:
        slopes.append({"name": f"{name} (distilled, exact)" if learned_m else name, "m": a.measured})
    if a.measured_learned is not None:
        slopes.append({"name": f"{name} (learned weights)", "m": a.measured_learned})
    for k, m in sorted((a.measured_classical or {}).items(), key=lambda item: item[0]):
        slopes.append({"name": k, "m": m})
    slope_rows = []
    for s in slopes:
        m = s["m"]
        used = m.used or ()
        slope_rows.append({"name": s["name"], "slope": sci(m.local_slope, 3), "order": sci(m.order, 3),
                           "points": f"{sum(1 for u in used if u)} of {len(m.h)}"})
    intro: Rich = []
    if has_measured:
        intro = ["Mean one-step error against a reference solution on held-out problems of ", Code(fam.name if fam is not None else "the family"),
                 ", for a geometric sequence of step sizes. The fitted slope of ", Math(r"\log(\mathrm{error})", "<mrow><mi>log</mi><mo>&#x2061;</mo><mo>(</mo><mtext>error</mtext><mo>)</mo></mrow>"),
                 " against ", Math(r"\log h", "<mrow><mi>log</mi><mo>&#x2061;</mo><mi>h</mi></mrow>"), " is ", Math("p+1", "<mrow><mi>p</mi><mo>+</mo><mn>1</mn></mrow>"),
                 " for a method of (personalised) order ", Math("p", "<mi>p</mi>"), "; hollow markers were left out of the fit."]
    table = None
    paras: list[Rich] = []
    if comp is not None:
        ref = comp.reference
        errs = comp.errors
        ratios = comp.ratios
        settings = [s for s in SETTINGS if errs.get(s)]
        names: list[str] = []
        for s in settings:
            for k in errs.get(s):
                if k not in names:
                    names.append(k)
        rows = []
        for k in names:
            row: dict[str, Any] = {"name": k, "reference": k == ref, "stages": comp.stages.get(k), "cells": []}
            for s in settings:
                e = errs.get(s).get(k)
                r = 1.0 if k == ref else (ratios.get(s) or {}).get(k)
                row["cells"].append({"error": sci(e, 3) if e is not None else None,
                                     "ratio": sci(r, 3) if r is not None else None,
                                     "better": r is not None and k != ref and fnum(r) < 1})
            rows.append(row)
        ranges: list[Rich] = []
        for s in settings:
            conds = [[in_range_math(p, r)] for p, r in zip(fam.params, fam.ranges(s))] if fam is not None else []
            ranges.append(join_and(conds) if conds else ["(ranges not recorded)"])
        table = {"settings": [{"key": s, "label": "in distribution" if s == "in_distribution" else "out of distribution", "ranges": rg}
                              for s, rg in zip(settings, ranges)],
                 "rows": rows, "reference": ref, "n_samples": comp.n_samples}
        for s in settings:
            sent = comparison_sentences(a, s)
            if sent:
                paras.append(sent)
    return {"intro": intro, "figure": "accuracy" if "accuracy" in figures else None, "slopes": slope_rows,
            "table": table, "paragraphs": paras}
