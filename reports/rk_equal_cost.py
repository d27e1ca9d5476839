"""The equal-cost comparison of a two-derivative method with classical Runge-Kutta methods:
the section (cost per step of every method, error ratios with bootstrap intervals per budget
and setting), the sentences the summary repeats, and the work-precision figure.

Reads the ``two_derivative.equal_cost`` section through :class:`~analysis.schema.AnalysisView`;
the only arithmetic is formatting. The figure is drawn with matplotlib's Agg canvas in the
style of :mod:`reports.figures` (which lists it). May import :mod:`reports.formatting`,
:mod:`reports.mathtext` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..analysis.schema import SETTINGS, AnalysisView, EqualCostView
from .formatting import Rich, fnum, in_range_math, join_and, ratio_text
from .mathtext import Code, Math, sci

__all__ = ["equal_cost_sentences", "build_equal_cost", "equal_cost_figure"]

_RC = {"font.size": 9.5, "axes.labelsize": 9.5, "legend.fontsize": 8.5, "svg.fonttype": "none", "pdf.fonttype": 42,
       "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6}
_REFERENCE = "#d1495b"
_OTHERS = ["#1f5fa8", "#2a9d8f", "#e9a03b", "#7b5ea7", "#8c564b", "#5c946e", "#c06c84", "#6b7a8f"]


def _section(a: AnalysisView) -> EqualCostView | None:
    td = a.two_derivative_section
    return td.equal_cost if td is not None else None


def _interval(r: Any) -> Math:
    lo, hi = sci(r.low, 3), sci(r.high, 3)
    return Math(f"[{lo.latex}, {hi.latex}]", f"<mrow><mo>[</mo>{lo.mathml}<mo>,</mo>{hi.mathml}<mo>]</mo></mrow>")


def equal_cost_sentences(a: AnalysisView, setting: str = "in_distribution") -> Rich:
    """What the comparison at the largest budget shows for RK4 (and the other classical methods)."""
    ec = _section(a)
    if ec is None or ec.ratios is None:
        return []
    ratios = ec.ratios.get(setting) or {}
    classical = [m for m in ec.methods if m.kind == "runge-kutta" and m.name in ratios and ratios[m.name]]
    if not classical:
        return []
    ref = ec.reference
    where = "on held-out problems from the training ranges" if setting == "in_distribution" else "out of distribution"
    budget = ratios[classical[0].name][-1].budget
    out: Rich = [f"At equal cost ({budget:g} f-evaluation equivalents over ", Math(f"[0, {ec.interval:g}]", f"<mrow><mo>[</mo><mn>0</mn><mo>,</mo><mn>{ec.interval:g}</mn><mo>]</mo></mrow>"),
                 f", {ec.cost} cost of g) {where}, the global error of "]
    parts: list[Rich] = []
    for m in classical:
        r = ratios[m.name][-1]
        parts.append([Code(m.name), f" is {ratio_text(fnum(r.ratio))} times that of ", Code(str(ref)), " (95% interval ", _interval(r), ")"])
    out += join_and(parts)
    out.append(". ")
    worse = [m.name for m in classical if fnum(ratios[m.name][-1].low) > 1]
    better = [m.name for m in classical if fnum(ratios[m.name][-1].high) < 1]
    unclear = [m.name for m in classical if m.name not in worse and m.name not in better]
    said: list[Rich] = []
    if worse:
        said.append([Code(str(ref)), " is more accurate than "] + join_and([[Code(n)] for n in worse]))
    if better:
        said.append(join_and([[Code(n)] for n in better]) + [" " + ("is" if len(better) == 1 else "are") + " more accurate than it"])
    if unclear:
        said.append(["the interval" + ("s" if len(unclear) > 1 else "") + " of "] + join_and([[Code(n)] for n in unclear])
                    + [" include" + ("" if len(unclear) > 1 else "s") + " 1 (no clear difference)"])
    out.append("At that cost ")
    for k, part in enumerate(said):
        if k:
            out.append("; ")
        out.extend(part)
    out.append(".")
    return out


def build_equal_cost(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    ec = _section(a)
    if ec is None or ec.ratios is None or ec.errors is None:
        return None
    td = a.two_derivative_section
    cost = td.cost if td is not None else None
    fam = a.family
    intro: Rich = ["Every method integrates ", Math(f"[0, {ec.interval:g}]", f"<mrow><mo>[</mo><mn>0</mn><mo>,</mo><mn>{ec.interval:g}</mn><mo>]</mo></mrow>"),
                   f" on {ec.instances} held-out problems per setting with as many steps as a budget of f-evaluation equivalents allows; "
                   "a stage costs 1 for f"]
    if cost is not None:
        intro += [", ", sci(cost.g_over_f, 3), " for g alone and ", sci(cost.fg_over_f, 3), f" for f and g together ({cost.source}"]
        if cost.source == "measured" and cost.batch:
            intro.append(f": median timings on the training batch of {cost.batch[0]} problems; by forward-mode AD (torch.func.jvp) f and g cost ")
            intro += [sci(cost.jvp_fg_over_f, 3), " evaluations of f"]
        intro.append(")")
    intro += [". The error at exactly the budget is interpolated log-linearly between the two neighbouring step counts. The ratio is the geometric mean over problems of "
              "(global error of the method) / (global error of ", Code(str(ec.reference)), "), with a 95% percentile bootstrap interval "
              f"({int(fnum(ec.bootstrap.get('resamples', 0)))} resamples); above 1 ", Code(str(ec.reference)), " is more accurate."]
    methods = [{"name": m.name, "reference": m.name == ec.reference, "kind": "two-derivative" if m.kind == "two-derivative" else "Runge\u2013Kutta",
                "stages": m.stages, "order": m.order if m.order is not None else "", "cost": sci(m.cost_per_step, 3),
                "pattern": " ".join(m.derivatives) if m.derivatives else ""} for m in ec.methods]
    settings = []
    for s in SETTINGS:
        ratios = ec.ratios.get(s) or {}
        errors = ec.errors.get(s) or {}
        if not ratios:
            continue
        rows = []
        ref_err = errors.get(str(ec.reference)) or ()
        rows.append({"name": str(ec.reference), "reference": True, "cells": [{"error": sci(e, 3), "ratio": None, "interval": None, "better": False, "worse": False}
                                                                              for e in ref_err]})
        for name, rs in ratios.items():
            errs = errors.get(name) or ()
            rows.append({"name": name, "reference": False, "cells": [
                {"error": sci(errs[k], 3) if k < len(errs) else None, "ratio": sci(r.ratio, 3), "interval": _interval(r),
                 "better": fnum(r.high) < 1, "worse": fnum(r.low) > 1} for k, r in enumerate(rs)]})
        rng = join_and([[in_range_math(p, r)] for p, r in zip(fam.params, fam.ranges(s))]) if fam is not None else []
        settings.append({"key": s, "label": "in distribution" if s == "in_distribution" else "out of distribution", "ranges": rng, "rows": rows,
                         "sentences": equal_cost_sentences(a, s)})
    return {"intro": intro, "methods": methods, "budgets": [f"{b:g}" for b in ec.budgets], "settings": settings,
            "figure": "equal_cost" if "equal_cost" in figures else None}


def equal_cost_figure(a: AnalysisView) -> Figure | None:
    """Geometric-mean global error against the budget (in distribution), log-log."""
    ec = _section(a)
    if ec is None or ec.errors is None:
        return None
    errors = ec.errors.get("in_distribution") or {}
    B = np.array([fnum(b) for b in ec.budgets])
    if not errors or B.size == 0:
        return None
    with rc_context(_RC):
        fig = Figure(figsize=(6.2, 4.2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        k = 0
        drawn = False
        for m in ec.methods:
            e = np.array([fnum(v) for v in errors.get(m.name, ())])
            if e.size != B.size or not np.all(np.isfinite(e) & (e > 0)):
                continue
            ref = m.name == ec.reference
            color = _REFERENCE if ref else _OTHERS[k % len(_OTHERS)]
            k += 0 if ref else 1
            ls = "-" if m.kind == "two-derivative" else "--"
            ax.loglog(B, e, color=color, ls=ls, lw=2.0 if ref else 1.2, marker="o" if ref else "s", ms=4,
                      label=f"{m.name} ({m.cost_per_step:.3g} per step)", zorder=4 if ref else 3)
            drawn = True
        if not drawn:
            return None
        ax.set_xlabel(f"f-evaluation equivalents over [0, {ec.interval:g}] ({ec.cost} cost of g)")
        ax.set_ylabel("global error (geometric mean)")
        if math.isfinite(B.min()) and math.isfinite(B.max()) and B.max() > B.min():
            ax.set_xlim(B.min() / 1.15, B.max() * 1.15)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False, ncol=2)
        return fig
