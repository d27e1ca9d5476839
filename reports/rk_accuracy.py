"""Accuracy of a Runge-Kutta method on its problem family: measured order and the equal-cost
comparison with the classical methods of the same number of stages.

:func:`build_accuracy` gives the fitted slopes and the error/ratio table per setting (in
distribution, out of distribution); :func:`comparison_sentences` says in words what the
comparison shows (the summary repeats the in-distribution one). Reads
:class:`~analysis.schema.AnalysisView`; the only arithmetic is formatting (a ratio 0.158
written as "6.3 times smaller"). :func:`work_precision_figure` draws the work-precision
diagram (global error at the final time against f evaluations, training range of h shaded)
with matplotlib's Agg canvas in the style of :mod:`reports.figures` (which lists it). May
import :mod:`reports.formatting`, :mod:`reports.mathtext` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..analysis.schema import SETTINGS, AnalysisView, ComparisonView
from .formatting import Rich, fnum, in_range_math, join_and, plural, ratio_text
from .mathtext import Code, Math, sci

__all__ = ["build_accuracy", "comparison_sentences", "primary_comparison", "work_precision_figure"]

_RC = {"font.size": 9.5, "axes.labelsize": 9.5, "legend.fontsize": 8.5, "svg.fonttype": "none", "pdf.fonttype": 42,
       "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6}
_METHOD = "#1f5fa8"
_LEARNED = "#d1495b"
_CLASSICAL = ["#2a9d8f", "#e9a03b", "#7b5ea7", "#8c564b", "#5c946e", "#c06c84", "#6b7a8f"]


def _fl(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def primary_comparison(a: AnalysisView) -> ComparisonView | None:
    """The comparison of the primary result: of the learned weights when they are more
    accurate than the distilled method (``comparison_learned``), else of the distilled one."""
    return a.comparison_learned if a.comparison_learned is not None else a.comparison


def _ci_text(ci: Any) -> str | None:
    if ci is None or len(ci) != 2:
        return None
    return "[" + ", ".join(ratio_text(fnum(v)) for v in ci) + "]"


def comparison_sentences(a: AnalysisView, setting: str = "in_distribution") -> Rich:
    """The equal-cost comparison of one setting in words: a verdict only where the 95%
    bootstrap interval of the ratio excludes 1."""
    comp = primary_comparison(a) or ComparisonView()
    errs = comp.errors.get(setting) or {}
    ratios = comp.ratios.get(setting) or {}
    cis = comp.ci95.get(setting) or {}
    ref = comp.reference
    if not errs or ref not in errs:
        return []
    where = "on held-out problems from the training ranges" if setting == "in_distribution" else "out of distribution"
    stages = comp.stages.get(ref) if ref is not None else None
    cost = f" at equal cost ({plural(int(stages), 'function evaluation')} per step)" if stages else " at equal cost"
    n = comp.n_instances or comp.n_samples
    note = f" ({n} problems; the intervals are 95% bootstrap intervals of the error ratio)." if n else "."
    if ref.endswith("(learned weights)"):
        out: Rich = [f"The learned float64 weights (the primary result) have a mean one-step error {where}{cost} of ", sci(errs[ref]), note]
    else:
        out = [f"Its mean one-step error {where}{cost} is ", sci(errs[ref]), note]
    own = {a.name, f"{a.name} (learned weights)"}
    learned = [k for k in ratios if k in own]
    classical = [k for k in ratios if k not in own]

    def verdict(k: str) -> str:
        ci = cis.get(k)
        if ci is None:
            return "worse" if fnum(ratios[k]) > 1 else "better"
        lo, hi = fnum(ci[0]), fnum(ci[1])
        return "worse" if lo > 1 else ("better" if hi < 1 else "tie")

    def item(k: str) -> Rich:
        ci = _ci_text(cis.get(k))
        return [Code(k), f" (error ratio {ratio_text(fnum(ratios[k]))}" + (f", {ci})" if ci else ")")]

    worse = [k for k in classical if verdict(k) == "worse"]
    better = [k for k in classical if verdict(k) == "better"]
    tie = [k for k in classical if verdict(k) == "tie"]
    subject = "They are" if ref.endswith("(learned weights)") else "It is"
    if worse:
        out.append(f" {subject} more accurate than " + ("the classical methods " if len(worse) > 1 else "the classical method "))
        out.extend(join_and([item(k) for k in worse]))
        out.append(".")
    if better:
        out.append(" " + ("The classical methods " if len(better) > 1 else "The classical method "))
        out.extend(join_and([item(k) for k in better]))
        out.append(" " + ("are" if len(better) > 1 else "is") + " more accurate.")
    if tie:
        out.append(" No significant difference from ")
        out.extend(join_and([item(k) for k in tie]))
        out.append(" (the interval contains 1).")
    for k in learned:
        r = fnum(ratios[k])
        ci = _ci_text(cis.get(k))
        tail = f", 95% interval {ci}" if ci else ""
        v = verdict(k)
        if k == a.name:  # the reference is the learned weights
            if v == "worse":
                out += [" The distilled method is less accurate than the learned weights: its error is ", ratio_text(r), f" times theirs{tail}."]
            elif v == "better":
                out += [" The distilled method is more accurate than the learned weights (error ratio ", ratio_text(r), f"{tail})."]
            else:
                out += [" The distilled method is as accurate as the learned weights within the interval (error ratio ", ratio_text(r), f"{tail})."]
        elif v == "better":
            smaller = (f", i.e. a {100 * (1 - r):.2g}% smaller error" if r > 0.5 else f", i.e. {1 / r:.2g} times smaller error") if r > 0 else ""
            out += [" The learned float64 weights are more accurate than the distilled method (error ratio ",
                    ratio_text(r), f"{tail}{smaller})", "."]
        elif v == "worse":
            out += [" The distilled method is more accurate than the learned float64 weights (error ratio ", ratio_text(r), f"{tail})."]
        else:
            out += [" The distilled method and the learned float64 weights are equally accurate within the interval (error ratio ",
                    ratio_text(r), f"{tail})."]
    return out


def build_accuracy(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    comp = primary_comparison(a)
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
                ci = None if k == ref else (comp.ci95.get(s) or {}).get(k)
                row["cells"].append({"error": sci(e, 3) if e is not None else None,
                                     "ratio": sci(r, 3) if r is not None else None,
                                     "ci": _ci_text(ci),
                                     "better": r is not None and k != ref and (fnum(ci[1]) < 1 if ci is not None else fnum(r) < 1)})
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
    wp = a.work_precision
    wp_caption: Rich = []
    if wp is not None and wp.training_h is not None:
        wp_caption = [f"Mean global error at T = {fnum(wp.T):.3g} over {wp.n_samples} held-out problems against the number of f "
                      "evaluations, for constant step sizes from ", sci(wp.h[0], 3), " to ", sci(wp.h[-1], 3),
                      "; the shaded band is the training range of h (", sci(wp.training_h[0], 3), " to ", sci(wp.training_h[1], 3), ")."]
    return {"intro": intro, "figure": "accuracy" if "accuracy" in figures else None, "slopes": slope_rows,
            "table": table, "paragraphs": paras,
            "wp_figure": "work_precision" if "work_precision" in figures else None, "wp_caption": wp_caption}


def work_precision_figure(a: AnalysisView) -> Figure | None:
    """Global error at the final time against f evaluations (log-log), learned and
    classical methods; the evaluations of the training range of h shaded."""
    wp = a.work_precision
    if wp is None or not wp.errors:
        return None
    with rc_context(_RC):
        fig = Figure(figsize=(6.2, 4.3))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        drawn = False
        k_cl = 0
        stages = None
        for label, errs in wp.errors.items():
            ev = np.array([_fl(v) for v in wp.evaluations.get(label, ())])
            e = np.array([_fl(v) if v is not None else math.nan for v in errs])
            if ev.size == 0 or ev.size != e.size:
                continue
            ok = np.isfinite(e) & (e > 0)
            if not np.any(ok):
                continue
            if label == a.name:
                color, marker = _METHOD, "o"
                stages = ev[0] / max(1.0, math.ceil(_fl(wp.T) / _fl(wp.h[0]) - 1e-9)) if wp.h else None
            elif label.endswith("(learned weights)"):
                color, marker = _LEARNED, "s"
            else:
                color, marker = _CLASSICAL[k_cl % len(_CLASSICAL)], "^v<>dph"[k_cl % 7]
                k_cl += 1
            shown = f"{label} (distilled)" if label == a.name and any(k.endswith("(learned weights)") for k in wp.errors) else label
            ax.loglog(ev[ok], e[ok], color=color, marker=marker, ms=4, lw=1.2, label=shown)
            drawn = True
        if not drawn:
            return None
        if wp.training_h is not None and stages:
            lo, hi = (_fl(v) for v in wp.training_h)
            T = _fl(wp.T)
            ax.axvspan(T / hi * stages, T / lo * stages, color="0.85", zorder=0, label="training range of h")
        ax.set_xlabel(f"f evaluations to reach T = {_fl(wp.T):.3g}")
        ax.set_ylabel("mean global error at T")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, ncol=2)
        return fig
