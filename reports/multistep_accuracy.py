"""The measured side of a multistep analysis: the measured global order (error against h
with the fitted slope over the asymptotic range) and the comparison at equal f evaluations
with classical methods (start-up included, bootstrap intervals), with the sentence the
summary repeats.

Reads the ``multistep`` section through :class:`~analysis.schema.AnalysisView`; formatting
only. May import :mod:`reports.formatting`, :mod:`reports.mathtext` and :mod:`analysis.schema`.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..analysis.schema import SETTINGS, AnalysisView, EqualCostView, GlobalOrderView
from .formatting import Rich, fnum, in_range_math, join_and, ratio_text
from .mathtext import Code, Math, sci

__all__ = ["build_ms_accuracy", "build_ms_equal_cost", "equal_evaluation_sentences", "order_series"]


def _comparison(a: AnalysisView) -> EqualCostView | None:
    ms = a.multistep_section
    return ms.equal_cost if ms is not None else None


def _interval(r: Any) -> Math:
    lo, hi = sci(r.low, 3), sci(r.high, 3)
    return Math(f"[{lo.latex}, {hi.latex}]", f"<mrow><mo>[</mo>{lo.mathml}<mo>,</mo>{hi.mathml}<mo>]</mo></mrow>")


def _span(T: float) -> Math:
    return Math(f"[0, {T:g}]", f"<mrow><mo>[</mo><mn>0</mn><mo>,</mo><mn>{T:g}</mn><mo>]</mo></mrow>")


def order_series(a: AnalysisView) -> list[tuple[str, GlobalOrderView, str]]:
    """(label, measurement, role) of every global-order measurement: ``final``, ``learned``, ``classical``."""
    ms = a.multistep_section
    if ms is None:
        return []
    out = []
    if ms.measured is not None:
        out.append((f"{a.name} (exact)" if ms.measured_learned is not None else a.name, ms.measured, "final"))
    if ms.measured_learned is not None:
        out.append((f"{a.name} (learned weights)", ms.measured_learned, "learned"))
    for name, m in sorted(ms.measured_classical.items()):
        out.append((name, m, "classical"))
    return out


def build_ms_accuracy(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    ms = a.multistep_section
    series = order_series(a)
    if ms is None or not series:
        return None
    m0 = series[0][1]
    intro: Rich = ["Global error ", Math(r"\|y_N - y(T)\|", "<mrow><mo>&#x2016;</mo><msub><mi>y</mi><mi>N</mi></msub><mo>&#x2212;</mo><mi>y</mi><mo>(</mo><mi>T</mi><mo>)</mo><mo>&#x2016;</mo></mrow>"),
                   f" at T = {fnum(m0.interval):g}, mean over {m0.n_samples} held-out problems from the training ranges, for N = "
                   + ", ".join(str(n) for n in m0.steps) + " steps (multistep methods with their start-up rule). The measured order is the least-squares slope of log(error) against log(h) over the asymptotic range: "
                   "the three smallest step sizes whose errors lie above the rounding floor (filled markers); the slopes between neighbouring step sizes show where the errors settle."]
    if ms.expected_global_order is not None:
        intro.append(f" With start-up \u201c{ms.startup}\u201d the integrator can show at most order {ms.expected_global_order}"
                     + (f" (the start-up steps have order {ms.startup_order})." if ms.startup_order is not None else " (exact start values)."))
    learned = ms.measured_learned
    if learned is not None and a.exact_order is not None and isinstance(a.order, int) and a.order < a.exact_order:
        r1 = (a.residuals or {}).get(str(a.order + 1))
        intro += [f" The learned float weights meet the order conditions only up to order {a.order}"]
        if r1 is not None:
            intro += [f" (the largest residual of order {a.order + 1} is ", sci(r1, 3), ")"]
        intro.append(", so their global error stops decreasing once h is small enough for that defect to dominate "
                     "(at the step sizes of training it is small); the distilled exact method is what the network approximates.")
    rows = []
    for label, m, role in series:
        pair = [sci(p, 3) if p is not None else None for p in m.pairwise_slopes]
        rows.append({"name": label, "startup": m.startup or "one-step", "order": sci(m.order, 3) if m.order is not None else None,
                     "points": sum(1 for f in m.fitted if f), "pairwise": pair, "role": role})
    return {"intro": intro, "rows": rows, "figure": "ms_order" if "ms_order" in figures else None}


def equal_evaluation_sentences(a: AnalysisView, setting: str = "in_distribution") -> Rich:
    """What the comparison at the largest budget shows against the classical methods."""
    ec = _comparison(a)
    if ec is None or ec.ratios is None:
        return []
    ratios = ec.ratios.get(setting) or {}
    others = [m for m in ec.methods if m.name in ratios and ratios[m.name] and "learned weights" not in m.name]
    if not others:
        return []
    ref = str(ec.reference)
    where = "on held-out problems from the training ranges" if setting == "in_distribution" else "out of distribution"
    budget = ratios[others[0].name][-1].budget
    out: Rich = [f"At equal cost ({budget:g} f evaluations over ", _span(fnum(ec.interval)), f", start-up included) {where}, "]
    worse = [m.name for m in others if fnum(ratios[m.name][-1].low) > 1]
    better = [m.name for m in others if fnum(ratios[m.name][-1].high) < 1]
    unclear = [m.name for m in others if m.name not in worse and m.name not in better]
    said: list[Rich] = []
    if worse:
        said.append([Code(ref), " is more accurate than "] + join_and([[Code(n), f" ({ratio_text(fnum(ratios[n][-1].ratio))}\u00d7)"] for n in worse]))
    if better:
        said.append(join_and([[Code(n)] for n in better]) + [" " + ("is" if len(better) == 1 else "are") + " more accurate than it"])
    if unclear:
        said.append(["the 95% interval" + ("s" if len(unclear) > 1 else "") + " of "] + join_and([[Code(n)] for n in unclear])
                    + [" include" + ("" if len(unclear) > 1 else "s") + " 1 (no clear difference)"])
    for k, part in enumerate(said):
        if k:
            out.append("; ")
        out.extend(part)
    out.append(" (ratio of global errors, 95% bootstrap interval).")
    return out


def build_ms_equal_cost(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    ec = _comparison(a)
    if ec is None or ec.ratios is None or ec.errors is None:
        return None
    fam = a.family
    intro: Rich = ["Every method integrates ", _span(fnum(ec.interval)), f" on {ec.instances} held-out problems per setting with as many steps as a budget of f evaluations allows, "
                   "start-up included (a multistep method with RK4 start-up spends 3 M extra evaluations; memory reuses old evaluations, so each later step costs its n stages). "
                   "The error at exactly the budget is interpolated log-linearly between the two neighbouring step counts. The ratio is the geometric mean over problems of (global error of the method) / (global error of ",
                   Code(str(ec.reference)), "), with a 95% percentile bootstrap interval "
                   f"({int(fnum(ec.bootstrap.get('resamples', 0)))} resamples); above 1 ", Code(str(ec.reference)), " is more accurate."]
    methods = [{"name": m.name, "reference": m.name == ec.reference, "kind": "multistep" if m.kind == "multistep" else "Runge\u2013Kutta",
                "stages": m.stages, "memory": m.memory if m.memory is not None else "", "startup": m.startup or "",
                "order": m.order if m.order is not None else "", "cost": sci(m.cost_per_step, 3),
                "extra": m.startup_evaluations if m.startup_evaluations else ""} for m in ec.methods]
    settings = []
    for s in SETTINGS:
        ratios = ec.ratios.get(s) or {}
        errors = ec.errors.get(s) or {}
        if not ratios:
            continue
        rows = [{"name": str(ec.reference), "reference": True,
                 "cells": [{"error": sci(e, 3), "ratio": None, "interval": None, "better": False, "worse": False} for e in errors.get(str(ec.reference)) or ()]}]
        for name, rs in ratios.items():
            errs = errors.get(name) or ()
            rows.append({"name": name, "reference": False, "cells": [
                {"error": sci(errs[k], 3) if k < len(errs) else None, "ratio": sci(r.ratio, 3), "interval": _interval(r),
                 "better": fnum(r.high) < 1, "worse": fnum(r.low) > 1} for k, r in enumerate(rs)]})
        rng = join_and([[in_range_math(p, r)] for p, r in zip(fam.params, fam.ranges(s))]) if fam is not None else []
        settings.append({"key": s, "label": "in distribution" if s == "in_distribution" else "out of distribution", "ranges": rng, "rows": rows,
                         "sentences": equal_evaluation_sentences(a, s)})
    return {"intro": intro, "methods": methods, "budgets": [f"{b:g}" for b in ec.budgets], "settings": settings,
            "figure": "ms_equal_cost" if "ms_equal_cost" in figures else None}
