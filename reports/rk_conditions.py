"""The order conditions of a Runge-Kutta analysis: one row per rooted tree, the residuals per
order (data and exact arithmetic) and the personalised conditions on the family.

:func:`build_conditions` reads the ``conditions`` rows and residuals through
:class:`~analysis.schema.AnalysisView` and draws each tree (:mod:`reports.trees`); the
number of trees per order comes from :func:`analysis.count_trees`, everything else is read.
May import :mod:`reports.formatting`, :mod:`reports.mathtext`, :mod:`reports.trees` and
:mod:`analysis`.
"""

from __future__ import annotations

from typing import Any

from ..analysis.schema import AnalysisView
from .formatting import Rich, fnum
from .mathtext import Math, inline_value_math, sci, weight_formula_math
from .trees import tree_drawing

__all__ = ["build_conditions"]


def _residual_cell(x: Any) -> Math | None:
    if x is None:
        return None
    return sci(x, 3)


def build_conditions(a: AnalysisView) -> dict[str, Any] | None:
    rows = a.conditions
    residuals = a.residuals or {}
    exact_res = a.exact_residuals or {}
    if not rows and not residuals:
        return None
    from ..analysis import count_trees

    groups: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        levels = list(r.levels)
        if not levels:
            continue
        phi = inline_value_math(r.phi_exact) if r.phi_exact is not None else sci(r.phi, 6)
        groups.setdefault(r.order, []).append({
            "tree": tree_drawing(levels),
            "bracket": r.tree,
            "formula": weight_formula_math(r.formula),
            "inv_gamma": inline_value_math(r.inv_gamma),
            "phi": phi,
            "residual": sci(r.residual, 3),
            "satisfied": r.satisfied,
        })
    grouped = [{"order": n, "rows": groups[n], "count": len(groups[n])} for n in sorted(groups)]
    learned = a.learned
    has_exact = a.exact_residuals is not None and (learned or a.arithmetic != "exact")
    keys = sorted({int(k) for k in list(residuals) + (list(exact_res) if has_exact else []) if str(k).isdigit()})
    order = a.order
    eorder = a.exact_order
    table = []
    for n in keys:
        table.append({
            "order": n,
            "trees": count_trees(n),
            "data": _residual_cell(residuals.get(str(n))),
            "data_ok": isinstance(order, int) and n <= order,
            "exact": _residual_cell(exact_res.get(str(n))) if has_exact else None,
            "exact_ok": isinstance(eorder, int) and n <= eorder,
        })
    rat = a.final_exact
    on = ("the distilled exact tableau, in exact arithmetic" if a.distillation is not None else "the exact tableau, in exact arithmetic") if rat is not None \
        else ["the float64 tableau (tolerance ", sci(a.tol, 2), ")"]
    intro: Rich = ["Each rooted tree ", Math("t", "<mi>t</mi>"), " with at most ", str(a.conditions_order if a.conditions_order is not None else (max(groups) if groups else "")),
                   " nodes gives one condition ", Math(r"\Phi(t) = 1/\gamma(t)", "<mrow><mi>&#x3a6;</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>)</mo></mrow><mo>=</mo><mn>1</mn><mo lspace=\"0\" rspace=\"0\">/</mo><mi>&#x3b3;</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>)</mo></mrow></mrow>"),
                   " on the elementary weight ", Math(r"\Phi", "<mi>&#x3a6;</mi>"), " (with ",
                   Math(r"c_i = \sum_j a_{ij}", "<mrow><msub><mi>c</mi><mi>i</mi></msub><mo>=</mo><munder><mo movablelimits=\"true\">&#x2211;</mo><mi>j</mi></munder><msub><mi>a</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub></mrow>"),
                   "); a method has order ", Math("p", "<mi>p</mi>"), " when all conditions with at most ", Math("p", "<mi>p</mi>"),
                   " nodes hold. Values below are for "]
    intro += on if isinstance(on, list) else [on]
    intro.append(".")
    pers = a.personalised
    ptable = None
    if pers is not None and pers.residuals:
        trees_n = pers.trees_per_order
        conds_n = pers.conditions_per_order
        merged = any(fnum(conds_n.get(k, n)) < fnum(n) for k, n in trees_n.items())
        ptable = {"family": pers.family, "order": pers.order, "arithmetic": pers.arithmetic, "rows": [], "merged": merged}
        for k in sorted(pers.residuals, key=lambda x: int(x) if str(x).isdigit() else 0):
            n = int(k) if str(k).isdigit() else k
            ptable["rows"].append({
                "order": n,
                "trees": trees_n.get(str(k)),
                "conditions": conds_n.get(str(k)),
                "residual": sci(pers.residuals[k], 3),
                "ok": isinstance(n, int) and isinstance(pers.order, int) and n <= pers.order,
            })
    return {"intro": intro, "groups": grouped, "table": table, "has_exact": has_exact,
            "data_label": "learned weights" if learned else ("exact" if a.arithmetic == "exact" else "float64"),
            "personalised": ptable}

