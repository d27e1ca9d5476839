"""Report sections of a two-derivative Runge-Kutta analysis (kind
``"two-derivative-runge-kutta"``): the title, the summary, the method with both coefficient
arrays in one tableau (``c | A | \\hat A`` over ``b | \\hat b``, where ``\\hat A`` and ``\\hat b``
are ``A2`` and ``b2`` of ``analysis.json``), the order conditions with their two-derivative
elementary weights, and the stability section worded for the equal-cost baseline.

Reads :class:`~analysis.schema.AnalysisView`; formatting only. Reuses the builders of
:mod:`reports.rk_conditions` and :mod:`reports.rk_stability` and the family sentence of
:mod:`reports.rk_summary`. May import :mod:`reports.formatting`, :mod:`reports.mathtext`,
those three modules, :mod:`reports.rk_equal_cost` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import html
import re
from typing import Any, Sequence

from ..analysis.schema import AnalysisView, StructureView, TableauView
from .formatting import Rich, join_and, plural
from .mathtext import Code, Math, as_float, combination_math, math_ident, num_repr, parse_coefficient, plain_fences, sci, value_math
from .rk_conditions import build_conditions
from .rk_equal_cost import equal_cost_sentences
from .rk_stability import build_stability
from .rk_summary import _family_rich

__all__ = ["TWO_DERIVATIVE_KIND", "td_title", "build_td_summary", "build_td_algorithm", "build_td_conditions", "build_td_stability",
           "two_derivative_tableau_math", "td_formula_math"]

TWO_DERIVATIVE_KIND = "two-derivative-runge-kutta"
_TOKENS = {"f": "f", "g": "g", "fg": "f and g"}


def _hat(x: str) -> tuple[str, str]:
    return rf"\hat {x}", f"<mover><mi>{x}</mi><mo>^</mo></mover>"


def _pattern_words(pattern: Sequence[str]) -> str:
    return "; ".join(f"stage {i + 1}: {_TOKENS.get(p, p)}" for i, p in enumerate(pattern))


def _g_math() -> Math:
    return Math("g(y) = f'(y)\\,f(y)", "<mrow><mi>g</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>y</mi><mo>)</mo></mrow><mo>=</mo>"
                "<mi>f</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>&#x2061;</mo><mrow><mo>(</mo><mi>y</mi><mo>)</mo></mrow><mo>&#x2062;</mo>"
                "<mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>y</mi><mo>)</mo></mrow></mrow>")


def td_title(a: AnalysisView) -> str:
    s = a.stage_count
    fam = a.family.name if a.family is not None else None
    what = f"a {s}-stage explicit two-derivative Runge\u2013Kutta method"
    if fam and a.learned:
        return f"{a.name}: {what} learned for the family {fam}"
    if fam:
        return f"{a.name}: {what} on the family {fam}"
    return f"{a.name}: order conditions, stability and identity of {what}"


# ------------------------------------------------------------------ summary
def build_td_summary(a: AnalysisView) -> dict[str, Any]:
    td = a.two_derivative_section
    fam = a.family
    st = a.structure or StructureView()
    s = a.stage_count
    pattern = (td.derivatives if td is not None else ()) or ()
    paras: list[Rich] = []
    p1: Rich = [Code(a.name), f" is a {s}-stage explicit two-derivative Runge\u2013Kutta method: besides ", Math("f", "<mi>f</mi>"),
                " its stages evaluate the second time derivative ", _g_math(), f" ({_pattern_words(pattern)})"]
    if a.learned:
        p1.append(". It was learned by an R2N2 network with a derivative module")
        if fam is not None:
            p1.append(" on the problem family ")
            p1.extend(_family_rich(fam))
        if st.outer:
            p1.append(f", trained with {plural(int(st.outer), 'outer iteration')} (one time step each)")
    p1.append(".")
    paras.append(p1)
    p2: Rich = []
    if a.arithmetic == "exact":
        p2.append(f"With its exact coefficients it has general order {a.order}, verified in exact arithmetic.")
    else:
        p2 += [f"Its {'learned ' if a.learned else ''}float64 weights satisfy the order conditions up to order {a.order} within the tolerance ",
               sci(a.tol, 2), "."]
    if a.rational is not None and (a.learned or a.arithmetic != "exact"):
        d = a.distillation
        if d is not None:
            p2 += [" Distillation onto \u201c", str(d.target), "\u201d moved the coefficients by at most ", sci(d.distance, 3),
                   " and gave the exact method below"]
        else:
            p2.append(" Rationalising the float64 coefficients gave the exact method below")
        bits: list[Rich] = [[f"general order {a.exact_order} (verified in exact arithmetic)"]]
        if a.personalised_order is not None and fam is not None:
            bits.append([f"personalised order {a.personalised_order} on ", Code(fam.name)])
        if a.measured_order is not None:
            bits.append(["measured order ", sci(a.measured_order, 3)])
        p2.append("; it has ")
        p2.extend(join_and(bits))
        p2.append(".")
    elif a.personalised_order is not None and fam is not None:
        p2 += [f" Its personalised order on ", Code(fam.name), f" is {a.personalised_order}."]
    ident = a.identification
    if a.identified_as:
        p2 += [" It is the published method ", Code(a.identified_as), " (same coefficients)."]
    elif ident is not None and ident.closest:
        p2 += [" It is not a catalogue method; the closest is ", Code(ident.closest), " (largest coefficient difference ",
               sci(ident.distance, 3), ")."]
    paras.append(p2)
    if td is not None and td.equal_cost is not None:
        sent = equal_cost_sentences(a, "in_distribution")
        if sent:
            paras.append(sent)
    facts: list[tuple[str, Rich]] = []
    if fam is not None:
        facts.append(("Problem family", _family_rich(fam)))
    facts.append(("Structure", [f"{s} stages, explicit; {_pattern_words(pattern)}"]))
    facts.append(("General order", [str(a.order), f" ({'learned weights, ' if a.learned else ''}{a.arithmetic or 'exact'} arithmetic)"]))
    if a.exact_order is not None and (a.learned or a.arithmetic != "exact"):
        facts.append(("Exact order", [str(a.exact_order), " (distilled exact tableau)" if a.distillation is not None else " (exact tableau)"]))
    if a.personalised_order is not None and fam is not None:
        v: Rich = [str(a.personalised_order), " on ", Code(fam.name)]
        if a.personalised_order_learned is not None:
            v.append(f" (learned weights: {a.personalised_order_learned})")
        facts.append(("Personalised order", v))
    if a.measured_order is not None:
        v = [sci(a.measured_order, 3)]
        if a.measured_order_learned is not None:
            v += [" (learned weights: ", sci(a.measured_order_learned, 3), ")"]
        facts.append(("Measured order", v))
    if a.stage_order is not None:
        facts.append(("Stage order", [str(a.stage_order)]))
    if a.principal_error_norm is not None:
        facts.append(("Principal error norm", [sci(a.principal_error_norm, 4)]))
    if td is not None and td.cost is not None:
        c = td.cost
        cnt = c.count
        v = [sci(c.per_step, 3), f" f-evaluation equivalents per step ({c.source}: g costs ", sci(c.g_over_f, 3), ", f and g together ",
             sci(c.fg_over_f, 3), f" evaluations of f; count {cnt.get('f', '?')} f + {cnt.get('jvp', '?')} Jacobian-vector products)"]
        facts.append(("Cost", v))
    facts.append(("Identified as", [Code(a.identified_as)] if a.identified_as else ["no catalogue method"]))
    if a.distillation is not None:
        facts.append(("Distillation target", [str(a.distillation.target), "; coefficients moved by at most ", sci(a.distillation.distance, 3)]))
    return {"paragraphs": paras, "facts": facts}


# ------------------------------------------------------------------ the method
_SEP = ' class="tb-c"'  # the rule between the A and A2 blocks


def two_derivative_tableau_math(t: TableauView, *, floats: bool = False) -> Math:
    """``c | A | \\hat A`` over ``b | \\hat b`` (explicit: diagonal and upper triangle blank)."""
    A, A2 = t.A, t.A2 or tuple(tuple(0 for _ in r) for r in t.A)
    b, b2 = t.b, t.b2 or tuple(0 for _ in t.b)
    s = len(A)
    cell = (lambda v: num_repr(as_float(v))) if floats else value_math
    blank = Math("", "")
    c = t.c or [None] * s
    rows_l, rows_m = [], []
    for i in range(s):
        ent = [cell(c[i]) if c[i] is not None else blank] + [cell(A[i][j]) if j < i else blank for j in range(s)] \
            + [cell(A2[i][j]) if j < i else blank for j in range(s)]
        rows_l.append(" & ".join(e.latex for e in ent))
        rows_m.append('<mtr><mtd class="tb-c" displaystyle="true">' + ent[0].mathml + "</mtd>"
                      + "".join(f'<mtd{_SEP if j == s else ""} displaystyle="true">{e.mathml}</mtd>' for j, e in enumerate(ent[1:], 1)) + "</mtr>")
    w = [cell(x) for x in b] + [cell(x) for x in b2]
    rows_m.append('<mtr class="tb-b"><mtd class="tb-c" displaystyle="true"></mtd>'
                  + "".join(f'<mtd{_SEP if j == s else ""} displaystyle="true">{e.mathml}</mtd>' for j, e in enumerate(w, 1)) + "</mtr>")
    stretch = "1.25" if floats else "1.55"
    ltx = ("{\\renewcommand{\\arraystretch}{" + stretch + "}\\begin{array}{c|" + "c" * s + "|" + "c" * s + "}\n"
           + " \\\\\n".join(rows_l) + " \\\\\n\\hline\n & " + " & ".join(e.latex for e in w) + "\n\\end{array}}")
    return Math(ltx, '<mtable class="tableau">' + "".join(rows_m) + "</mtable>", display=True)


def _combination(coefs: Sequence[Any], letter: str) -> Math | None:
    """``sum_j coefs_j k_j`` (letter ``k``) or ``sum_j coefs_j l_j`` (letter ``l``, shown as ell)."""
    parts = combination_math(coefs, symbol="K", per_line=len(coefs) or 1)
    if not parts:
        return None
    m = parts[0]
    sym_l, sym_m = ("k", "<mi>k</mi>") if letter == "k" else (r"\ell", "<mi>&#x2113;</mi>")
    return Math(m.latex.replace("K_{", sym_l + "_{"), m.mathml.replace("<mi>K</mi>", sym_m))


def _stage_rhs(kf: Math | None, kg: Math | None) -> tuple[str, str]:
    ltx, ml = "y_{n}", "<msub><mi>y</mi><mi>n</mi></msub>"
    if kf is not None:
        ltx += r" + h\,\bigl(" + kf.latex.replace(r"\frac{", r"\tfrac{") + r"\bigr)"
        ml += "<mo>+</mo><mi>h</mi><mo>&#x2062;</mo><mrow><mo>(</mo>" + kf.mathml + "<mo>)</mo></mrow>"
    if kg is not None:
        ltx += r" + h^{2}\bigl(" + kg.latex.replace(r"\frac{", r"\tfrac{") + r"\bigr)"
        ml += "<mo>+</mo><msup><mi>h</mi><mn>2</mn></msup><mo>&#x2062;</mo><mrow><mo>(</mo>" + kg.mathml + "<mo>)</mo></mrow>"
    return ltx, ml


def _algorithm_math(t: TableauView, pattern: Sequence[str]) -> Math:
    A = [[parse_coefficient(x) for x in r] for r in t.A]
    A2 = [[parse_coefficient(x) for x in r] for r in (t.A2 or [])] or [[0] * len(A) for _ in A]
    b = [parse_coefficient(x) for x in t.b]
    b2 = [parse_coefficient(x) for x in (t.b2 or [])] or [0] * len(b)
    s = len(A)
    rows = []
    for i in range(s):
        ltx, ml = _stage_rhs(_combination(A[i][:i], "k"), _combination(A2[i][:i], "l"))
        evals_l, evals_m = [], []
        tok = pattern[i] if i < len(pattern) else "fg"
        if "f" in tok:
            evals_l.append(f"k_{{{i + 1}}} = f(Y_{{{i + 1}}})")
            evals_m.append(f"<msub><mi>k</mi><mn>{i + 1}</mn></msub><mo>=</mo><mi>f</mi><mo>&#x2061;</mo><mo>(</mo><msub><mi>Y</mi><mn>{i + 1}</mn></msub><mo>)</mo>")
        if "g" in tok:
            evals_l.append(f"\\ell_{{{i + 1}}} = g(Y_{{{i + 1}}})")
            evals_m.append(f"<msub><mi>&#x2113;</mi><mn>{i + 1}</mn></msub><mo>=</mo><mi>g</mi><mo>&#x2061;</mo><mo>(</mo><msub><mi>Y</mi><mn>{i + 1}</mn></msub><mo>)</mo>")
        rows.append((f"Y_{{{i + 1}}} &= {ltx}, \\quad " + r",\ ".join(evals_l),
                     f"<mtr><mtd><msub><mi>Y</mi><mn>{i + 1}</mn></msub></mtd><mtd><mo>=</mo>{ml}<mo>,</mo><mspace width=\"1em\"/>"
                     + "<mo>,</mo><mspace width=\"0.5em\"/>".join(evals_m) + "</mtd></mtr>"))
    ltx, ml = _stage_rhs(_combination(b, "k"), _combination(b2, "l"))
    rows.append((f"y_{{n+1}} &= {ltx}.", "<mtr><mtd><msub><mi>y</mi><mrow><mi>n</mi><mo>+</mo><mn>1</mn></mrow></msub></mtd>"
                 f"<mtd><mo>=</mo>{ml}<mo>.</mo></mtd></mtr>"))
    return Math("\\begin{aligned}\n" + " \\\\\n".join(r[0] for r in rows) + "\n\\end{aligned}",
                '<mtable class="algo">' + plain_fences("".join(r[1] for r in rows)) + "</mtable>", display=True)


def build_td_algorithm(a: AnalysisView) -> dict[str, Any] | None:
    tab = a.tableau
    if tab is None:
        return None
    rat = a.final_exact
    final = rat if rat is not None else tab
    td = a.two_derivative_section
    pattern = (td.final_derivatives if td is not None and td.final_derivatives else None) or ("fg",) * len(final.A)
    intro: Rich = ["One step of size ", Math("h", "<mi>h</mi>"), " from ", math_ident("y", "n"), " to ", math_ident("y", "n+1"),
                   " for ", Math("y' = f(y)", "<mrow><mi>y</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>=</mo><mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>y</mi><mo>)</mo></mrow></mrow>"),
                   ", with ", _g_math(), " and the ", "exact" if rat is not None else "float64", " coefficients (each stage uses only the stages before it):"]
    notes: list[Rich] = [[Math(r"\hat A", "<mover><mi>A</mi><mo>^</mo></mover>"), " and ", Math(r"\hat b", "<mover><mi>b</mi><mo>^</mo></mover>"),
                          " (A2 and b2 in analysis.json) weigh the values of g; ", Math("c = A 1", "<mrow><mi>c</mi><mo>=</mo><mi>A</mi><mo>&#x2062;</mo><mn>1</mn></mrow>"),
                          " are the nodes. Only the evaluations a stage's weights use are made (", _pattern_words(pattern), ")."]]
    tableaux = []
    if rat is not None:
        cap = "exact (distilled)" if a.distillation is not None else ("exact (rationalised)" if tab.is_float else "exact")
        tableaux.append({"caption": cap + "; columns c | A | A2, below the rule b | b2", "math": two_derivative_tableau_math(rat)})
        if a.learned and tab.is_float:
            tableaux.append({"caption": "learned float64 weights (before distillation)", "math": two_derivative_tableau_math(tab, floats=True)})
    else:
        tableaux.append({"caption": "float64 at full precision (repr); no exact tableau was found", "math": two_derivative_tableau_math(tab, floats=True)})
    for t in tableaux:
        t["width"] = 0
        t["tex_fits"] = True
    return {"intro": intro, "algo": _algorithm_math(final, pattern), "notes": notes, "tableaux": tableaux, "tex_tableaux": tableaux,
            "tex_side_by_side": False, "algo_generic": None, "coefficients": [], "coefficients_learned": False}


# ------------------------------------------------------------------ order conditions
_TERM = re.compile(r"^(?:(\d+) )?\\sum_\{([a-z,]+)\} (.*)$")
_FACTOR = re.compile(r"(\\hat )?([abc])_(?:\{([a-z]+)\}|([a-z]))(?:\^(\d+))?")


def td_formula_math(formula: str, per_line: int = 3) -> Math:
    """The two-derivative elementary weight of a condition row (terms
    ``[N ]\\sum_{i,j} b_i a_{ij} \\hat c_j^2`` joined by ``" + "``) as MathML, ``per_line``
    terms to a line; anything else is shown as text."""
    terms = formula.split(" + ")
    lines_ml: list[str] = []
    ml: list[str] = []
    for k, term in enumerate(terms):
        m = _TERM.match(term)
        if m is None:
            return Math(r"\text{" + formula.replace("\\", "") + "}", f"<mtext>{html.escape(formula)}</mtext>")
        if k and k % per_line == 0:
            lines_ml.append("<mrow>" + "".join(ml) + "</mrow>")
            ml = []
        if k:
            ml.append("<mo>+</mo>")
        if m.group(1):
            ml.append(f"<mn>{m.group(1)}</mn>")
        idx = "<mo>,</mo>".join(f"<mi>{i}</mi>" for i in m.group(2).split(","))
        ml.append(f'<munder><mo movablelimits="true">&#x2211;</mo><mrow>{idx}</mrow></munder>')
        rest = m.group(3)
        pos = 0
        for f in _FACTOR.finditer(rest):
            if rest[pos:f.start()].strip():
                return Math(r"\text{" + formula.replace("\\", "") + "}", f"<mtext>{html.escape(formula)}</mtext>")
            pos = f.end()
            base = _hat(f.group(2))[1] if f.group(1) else f"<mi>{f.group(2)}</mi>"
            sub = f.group(3) or f.group(4)
            sub_ml = "<mrow>" + "".join(f"<mi>{ch}</mi>" for ch in sub) + "</mrow>" if len(sub) > 1 else f"<mi>{sub}</mi>"
            ml.append(f"<msubsup>{base}{sub_ml}<mn>{f.group(5)}</mn></msubsup>" if f.group(5) else f"<msub>{base}{sub_ml}</msub>")
        if rest[pos:].strip():
            return Math(r"\text{" + formula.replace("\\", "") + "}", f"<mtext>{html.escape(formula)}</mtext>")
    lines_ml.append("<mrow>" + "".join(ml) + "</mrow>")
    if len(lines_ml) == 1:
        return Math(formula, lines_ml[0])
    chunks = [" + ".join(terms[i:i + per_line]) for i in range(0, len(terms), per_line)]
    ltx = r"\begin{array}[t]{@{}l@{}}" + r" \\ {}+ ".join(chunks) + r"\end{array}"
    return Math(ltx, '<mtable class="lines">' + "".join(f"<mtr><mtd>{x}</mtd></mtr>" for x in lines_ml) + "</mtable>")


def build_td_conditions(a: AnalysisView) -> dict[str, Any] | None:
    data = build_conditions(a)
    if data is None:
        return None
    formulas = iter(r.formula for r in a.conditions if r.levels)
    for g in data["groups"]:
        for row in g["rows"]:
            row["formula"] = td_formula_math(next(formulas))
    hat_a, hat_b, hat_c = (Math(*_hat(x)) for x in "abc")
    data["intro"] = (["The B-series of a two-derivative step has the elementary differentials of ordinary Runge\u2013Kutta methods, so each rooted tree ",
                      Math("t", "<mi>t</mi>"), f" with at most {a.conditions_order} nodes gives one condition ",
                      Math(r"\Phi(t) = 1/\gamma(t)", "<mrow><mi>&#x3a6;</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>)</mo></mrow><mo>=</mo><mn>1</mn><mo lspace=\"0\" rspace=\"0\">/</mo><mi>&#x3b3;</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>)</mo></mrow></mrow>"),
                      "; the elementary weights now also hold the weights of g (", hat_a, ", ", hat_b, " and the nodes ", hat_c,
                      Math(r" = \hat A 1", "<mrow><mo>=</mo><mover><mi>A</mi><mo>^</mo></mover><mo>&#x2062;</mo><mn>1</mn></mrow>"),
                      "). Values below are for "]
                     + (["the distilled exact method, in exact arithmetic" if a.distillation is not None else "the exact method, in exact arithmetic"]
                        if a.final_exact is not None else ["the float64 coefficients (tolerance ", sci(a.tol, 2), ")"]) + ["."])
    return data


def build_td_stability(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    """:func:`reports.rk_stability.build_stability`, the baseline introduced as the classical
    method of about the same cost (RK4), not one of the same number of stages."""
    data = build_stability(a, figures)
    if data is not None and data.get("baseline"):
        data["baseline"]["what"] = "the classical method of about the same cost per step"
    return data
