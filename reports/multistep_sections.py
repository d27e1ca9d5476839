"""Report sections of a multistep analysis (kind ``"multistep"``: an R2N2 with memory on an
ODE): the title, the summary, the method (the memory step, its linear multistep form and the
learned and exact weights), the order conditions (the classical linear multistep conditions
and the B-series conditions per tree), zero-stability and linear stability, and what is
verified against what is only measured.

Reads :class:`~analysis.schema.AnalysisView`; formatting only. Reuses the tree table of
:mod:`reports.rk_conditions` and the family sentence of :mod:`reports.rk_summary`; the
measured order and the equal-cost comparison are in :mod:`reports.multistep_accuracy`. May
import :mod:`reports.formatting`, :mod:`reports.mathtext`, those modules and
:mod:`analysis.schema`.
"""

from __future__ import annotations

from typing import Any, Sequence

import sympy as sp

from ..analysis.schema import AnalysisView, MultistepView, StructureView, TableauView
from .formatting import Rich, fnum, join_and, plural
from .mathtext import Code, Math, expr_math, inline_value_math, join_math, math_ident, num_repr, parse_coefficient, parse_expression, sci, value_math
from .multistep_accuracy import equal_evaluation_sentences
from .rk_conditions import build_conditions
from .rk_summary import _family_rich

__all__ = ["MULTISTEP_KIND", "ms_title", "build_ms_summary", "build_ms_method", "build_ms_conditions", "build_ms_stability",
           "build_ms_verified", "lmm_math"]

MULTISTEP_KIND = "multistep"
_FORMS = {"full": "past differences and past evaluations", "adams": "past evaluations only (Adams form)",
          "momentum": "past differences only (momentum form)"}
_STARTUP = {"rk4": "classical RK4 steps", "rk": "plain R2N2 steps with the same weights (W, b)", "exact": "values of the reference solution"}


def _section(a: AnalysisView) -> MultistepView | None:
    return a.multistep_section


def ms_title(a: AnalysisView) -> str:
    ms = _section(a)
    s = a.stage_count
    M = ms.memory if ms is not None else None
    what = (f"a {s}-stage explicit multistep method with memory {M}" if s and s > 1 else f"an explicit {((M or 0) + 1)}-step linear multistep method")
    fam = a.family.name if a.family is not None else None
    if fam and a.learned:
        return f"{a.name}: {what} learned for the family {fam}"
    if fam:
        return f"{a.name}: {what} on the family {fam}"
    return f"{a.name}: order conditions, stability and identity of {what}"


# ------------------------------------------------------------------ formulas
def _idx(off: int) -> str:
    return "n+1" if off == 1 else "n" if off == 0 else f"n{off}"


def _lincomb(terms: Sequence[tuple[Any, Math]], first: bool = True) -> Math:
    """``c_1 X_1 + c_2 X_2 - ...`` (exact or float coefficients; zeros left out; 1 not written)."""
    parts_l: list[str] = []
    parts_m: list[str] = []
    for coef, sym in terms:
        v = parse_coefficient(coef) if not isinstance(coef, sp.Basic) else coef
        if v is None or v == 0:
            continue
        neg = (v < 0) if isinstance(v, float) else bool(v.could_extract_minus_sign())
        mag = -v if neg else v
        if neg:
            parts_l.append("-")
            parts_m.append("<mo>&#x2212;</mo>")
        elif parts_l or not first:
            parts_l.append("+")
            parts_m.append("<mo>+</mo>")
        if mag != 1:
            mm = num_repr(float(mag)) if isinstance(mag, float) else (inline_value_math(sp.sstr(mag)) if isinstance(mag, sp.Rational) else expr_math(mag))
            parts_l.append(mm.latex + r"\,")
            parts_m.append(mm.mathml + "<mo>&#x2062;</mo>")
        parts_l.append(sym.latex)
        parts_m.append(sym.mathml)
    if not parts_l:
        return Math("0", "<mn>0</mn>")
    return Math(" ".join(parts_l), "<mrow>" + "".join(parts_m) + "</mrow>")


def lmm_math(alpha: Sequence[Any], beta: Sequence[Any], display: bool = True) -> Math:
    """``y_{n+1} = -sum_{j<k} alpha_j y_{n+j-k+1} + h sum_j beta_j f_{n+j-k+1}``."""
    k = len(alpha) - 1
    ys = []
    for j in reversed(range(k)):
        c = parse_coefficient(alpha[j])
        if c is not None:
            ys.append((-c, math_ident("y", _idx(j - k + 1))))
    fs = [(beta[j], math_ident("f", _idx(j - k + 1))) for j in reversed(range(k + 1))]
    rhs_y = _lincomb(ys)
    rhs_f = _lincomb(fs)
    lhs = math_ident("y", "n+1")
    eq = Math("=", "<mo>=</mo>")
    hpart = Math(r"+\; h\,\bigl(" + rhs_f.latex + r"\bigr)", "<mo>+</mo><mi>h</mi><mo>&#x2062;</mo><mrow><mo>(</mo>" + rhs_f.mathml + "<mo>)</mo></mrow>")
    return join_math([lhs, eq, rhs_y, hpart], display=display)


def _general_step() -> Math:
    """The memory step in symbols (any stages and memory)."""
    ltx = (r"y_{n+1} = y_n + h\sum_{j} b_j\, v_j^{(n)} + \sum_{m=1}^{M}\Bigl(\beta_m\,(y_{n-m+1} - y_{n-m})"
           r" + h\sum_j \gamma_{mj}\, v_j^{(n-m)}\Bigr),\quad v_j^{(n)} = f\Bigl(y_n + h\sum_{l<j} a_{jl}\, v_l^{(n)}\Bigr)")
    ml = ("<mrow><msub><mi>y</mi><mrow><mi>n</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo><msub><mi>y</mi><mi>n</mi></msub><mo>+</mo>"
          "<mi>h</mi><munder><mo>&#x2211;</mo><mi>j</mi></munder><msub><mi>b</mi><mi>j</mi></msub><msubsup><mi>v</mi><mi>j</mi><mrow><mo>(</mo><mi>n</mi><mo>)</mo></mrow></msubsup>"
          "<mo>+</mo><munderover><mo>&#x2211;</mo><mrow><mi>m</mi><mo>=</mo><mn>1</mn></mrow><mi>M</mi></munderover><mrow><mo>(</mo>"
          "<msub><mi>&#x3b2;</mi><mi>m</mi></msub><mrow><mo>(</mo><msub><mi>y</mi><mrow><mi>n</mi><mo>&#x2212;</mo><mi>m</mi><mo>+</mo><mn>1</mn></mrow></msub>"
          "<mo>&#x2212;</mo><msub><mi>y</mi><mrow><mi>n</mi><mo>&#x2212;</mo><mi>m</mi></mrow></msub><mo>)</mo></mrow><mo>+</mo><mi>h</mi>"
          "<munder><mo>&#x2211;</mo><mi>j</mi></munder><msub><mi>&#x3b3;</mi><mrow><mi>m</mi><mi>j</mi></mrow></msub><msubsup><mi>v</mi><mi>j</mi>"
          "<mrow><mo>(</mo><mi>n</mi><mo>&#x2212;</mo><mi>m</mi><mo>)</mo></mrow></msubsup><mo>)</mo></mrow><mo>,</mo><mspace width=\"1em\"/>"
          "<msubsup><mi>v</mi><mi>j</mi><mrow><mo>(</mo><mi>n</mi><mo>)</mo></mrow></msubsup><mo>=</mo><mi>f</mi><mrow><mo>(</mo><msub><mi>y</mi><mi>n</mi></msub>"
          "<mo>+</mo><mi>h</mi><munder><mo>&#x2211;</mo><mrow><mi>l</mi><mo>&lt;</mo><mi>j</mi></mrow></munder><msub><mi>a</mi><mrow><mi>j</mi><mi>l</mi></mrow></msub>"
          "<msubsup><mi>v</mi><mi>l</mi><mrow><mo>(</mo><mi>n</mi><mo>)</mo></mrow></msubsup><mo>)</mo></mrow></mrow>")
    return Math(ltx, ml, display=True)


def _weight_rows(t: TableauView, exact: TableauView | None) -> list[dict[str, Any]]:
    """One row per free weight: name, learned (or given) value, exact value."""
    rows = []
    n = len(t.A)
    names: list[tuple[str, Math, Any, Any]] = []
    for j in range(n):
        for l in range(j):
            names.append((f"a{j + 1}{l + 1}", math_ident("a", f"{j + 1}{l + 1}"), t.A[j][l], exact.A[j][l] if exact else None))
    for j in range(n):
        names.append((f"b{j + 1}", math_ident("b", str(j + 1)) if n > 1 else Math("b", "<mi>b</mi>"), t.b[j], exact.b[j] if exact else None))
    for m, v in enumerate(t.betas or ()):
        names.append((f"beta{m + 1}", Math(rf"\beta_{{{m + 1}}}", f"<msub><mi>&#x3b2;</mi><mn>{m + 1}</mn></msub>"), v,
                      (exact.betas or ())[m] if exact else None))
    for m, row in enumerate(t.gammas or ()):
        for j, v in enumerate(row):
            sub = f"{m + 1}{j + 1}" if n > 1 else f"{m + 1}"
            names.append((f"gamma{sub}", Math(rf"\gamma_{{{sub}}}", f"<msub><mi>&#x3b3;</mi><mn>{sub}</mn></msub>"), v,
                          (exact.gammas or ())[m][j] if exact else None))
    for _, sym, v, e in names:
        rows.append({"name": sym, "value": value_math(v) if not isinstance(v, float) else num_repr(v),
                     "exact": None if e is None else inline_value_math(e)})
    return rows


# ------------------------------------------------------------------ summary
def build_ms_summary(a: AnalysisView) -> dict[str, Any]:
    ms = _section(a)
    fam = a.family
    st = a.structure or StructureView()
    s = a.stage_count or 1
    M = ms.memory if ms is not None else 0
    form = ms.form if ms is not None else None
    paras: list[Rich] = []
    kind = "linear multistep method" if s == 1 else "multistep Runge\u2013Kutta method"
    times = "once" if s == 1 else "twice" if s == 2 else f"{s} times"
    last = "step" if M == 1 else f"{M} steps"
    p1: Rich = [Code(a.name), f" is an explicit {kind}: each step evaluates f {times} and reuses the last {last} "
                f"({_FORMS.get(str(form), str(form))})"]
    if a.learned:
        p1.append(". It was learned by an R2N2 network with memory")
        if fam is not None:
            p1.append(" on the problem family ")
            p1.extend(_family_rich(fam))
        if st.outer:
            p1.append(f", trained on trajectories of {plural(int(st.outer), 'step')}")
    first = "first step follows" if M == 1 else f"first {M} steps follow"
    p1.append(f". Its {first} the start-up rule \u201c{ms.startup if ms else '?'}\u201d ({_STARTUP.get(str(ms.startup if ms else ''), '')}).")
    paras.append(p1)
    p2: Rich = []
    if a.rational is not None and (a.learned or a.arithmetic != "exact"):
        d = a.distillation
        if d is not None and d.target:
            p2 += ["Distillation onto the zero-stable exact methods of \u201c", str(d.target), "\u201d moved the weights by at most ",
                   sci(d.distance, 3), " and gave the exact method below"]
        else:
            p2.append("Rationalising the weights gave the exact method below")
        p2.append(f"; it has order {a.exact_order}, verified in exact arithmetic")
        if a.measured_order is not None:
            p2 += [", and measured global order ", sci(a.measured_order, 3)]
        p2.append(".")
    elif a.arithmetic == "exact":
        p2.append(f"With its exact weights it has order {a.order}, verified in exact arithmetic.")
    else:
        p2 += [f"Its float64 weights satisfy the order conditions up to order {a.order} within ", sci(a.tol, 2),
               "; no exact method was found near them (only the measured order below speaks for the learned method)."]
    ident = a.identification
    if a.identified_as:
        p2 += [" It is the classical method ", Code(a.identified_as), " (same coefficients)."]
    elif ident is not None and ident.family:
        p2 += [f" It is not a named classical method but a member of the {ident.family}"]
        if ident.parameters:
            p2 += [" (", ", ".join(f"{k} = {v}" for k, v in ident.parameters.items()), ")"]
        if ident.closest:
            p2 += ["; the closest classical method is ", Code(ident.closest), " (largest coefficient difference ", sci(ident.distance, 3), ")"]
        p2.append(".")
    paras.append(p2)
    if ms is not None and ms.equal_cost is not None:
        sent = equal_evaluation_sentences(a, "in_distribution")
        if sent:
            paras.append(sent)
    facts: list[tuple[str, Rich]] = []
    if fam is not None:
        facts.append(("Problem family", _family_rich(fam)))
    if ms is not None:
        facts.append(("Structure", [f"{plural(s, 'stage')}, memory {ms.memory}, form {ms.form}; {plural(int(ms.evaluations_per_step or s), 'f evaluation')} per step"]))
        facts.append(("Start-up", [f"{ms.startup}: {_STARTUP.get(str(ms.startup), '')}"
                                   + (f" ({ms.startup_evaluations} extra f evaluations)" if ms.startup_evaluations else "")]))
    facts.append(("Order", [str(a.order), f" ({'learned weights, ' if a.learned else ''}{a.arithmetic or 'exact'} arithmetic)"]))
    if a.exact_order is not None and (a.learned or a.arithmetic != "exact"):
        facts.append(("Exact order", [str(a.exact_order), " (distilled exact method)" if a.distillation is not None else " (exact method)"]))
    if a.personalised_order is not None and fam is not None:
        facts.append(("Personalised order", [str(a.personalised_order), " on ", Code(fam.name)]))
    if a.measured_order is not None:
        v: Rich = [sci(a.measured_order, 3), " (global)"]
        if a.measured_order_learned is not None:
            v += [", learned weights ", sci(a.measured_order_learned, 3)]
        if ms is not None and ms.expected_global_order is not None:
            v.append(f"; the start-up allows at most {ms.expected_global_order}")
        facts.append(("Measured order", v))
    if ms is not None and ms.error_constant is not None and ms.error_constant.normalised is not None:
        facts.append(("Error constant", [inline_value_math(ms.error_constant.normalised), " (", Math(r"C_{p+1}/\sigma(1)", "<mrow><msub><mi>C</mi><mrow><mi>p</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>/</mo><mi>&#x3c3;</mi><mo>(</mo><mn>1</mn><mo>)</mo></mrow>"), ")"]))
    if ms is not None and ms.zero_stability is not None:
        zs = ms.zero_stability
        facts.append(("Zero-stability", ["zero-stable" + (", strongly" if zs.strongly else ", only weakly (another root on the unit circle)") if zs.stable
                                         else "not zero-stable: a root of \u03c1 outside the unit disc or a multiple root on the circle"]))
    if ms is not None and ms.stability is not None:
        facts.append(("Stability intervals", _intervals(ms)))
    if a.identified_as:
        facts.append(("Identified as", [Code(a.identified_as)]))
    elif ident is not None and ident.family:
        params = ", ".join(f"{k} = {v}" for k, v in ident.parameters.items())
        facts.append(("Identified as", [f"no classical method; a member of the {ident.family}" + (f" ({params})" if params else "")]))
    else:
        facts.append(("Identified as", ["no classical method"]))
    return {"paragraphs": paras, "facts": facts}


def _intervals(ms: MultistepView) -> Rich:
    st = ms.stability
    lo: Math = inline_value_math(st.real_interval_exact) if st.real_interval_exact else sci((st.real_interval or (0.0, 0.0))[0], 4)
    y = fnum(st.imag_limit)
    return ["real ", Math(f"[{lo.latex}, 0]", f"<mrow><mo>[</mo>{lo.mathml}<mo>,</mo><mn>0</mn><mo>]</mo></mrow>"), ", imaginary ",
            (Math(r"\{0\}", "<mrow><mo>{</mo><mn>0</mn><mo>}</mo></mrow>") if y == 0 else
             Math(rf"[-{sci(y, 4).latex}\,i, {sci(y, 4).latex}\,i]", f"<mrow><mo>[</mo><mo>&#x2212;</mo>{sci(y, 4).mathml}<mi>i</mi><mo>,</mo>{sci(y, 4).mathml}<mi>i</mi><mo>]</mo></mrow>"))]


# ------------------------------------------------------------------ the method
def build_ms_method(a: AnalysisView) -> dict[str, Any] | None:
    ms = _section(a)
    if ms is None or a.tableau is None:
        return None
    intro: Rich = ["One step of the method with ", plural(a.stage_count or 1, "stage"), f" and memory {ms.memory} (", Math("a_{jl}", "<msub><mi>a</mi><mrow><mi>j</mi><mi>l</mi></mrow></msub>"),
                   " are the inner weights W; every weight is one scalar shared by all steps and all components):"]
    lmm = None
    if ms.lmm is not None:
        k = ms.lmm.steps
        coeffs = [{"j": j, "y": math_ident("y", _idx(j - k + 1)), "alpha": inline_value_math(ms.lmm.alpha[j]) if isinstance(ms.lmm.alpha[j], str) else num_repr(ms.lmm.alpha[j]),
                   "beta": inline_value_math(ms.lmm.beta[j]) if isinstance(ms.lmm.beta[j], str) else num_repr(ms.lmm.beta[j])} for j in range(k + 1)]
        lmm = {"math": lmm_math(ms.lmm.alpha, ms.lmm.beta),
               "text": [f"Only one stage carries weight, so the step is the {k}-step linear multistep method ",
                        Math(r"\sum_{j=0}^{k}\alpha_j\,y_{n+j-k+1} = h\sum_{j=0}^{k}\beta_j\,f_{n+j-k+1}", "<mrow><munderover><mo>&#x2211;</mo><mrow><mi>j</mi><mo>=</mo><mn>0</mn></mrow><mi>k</mi></munderover><msub><mi>&#x3b1;</mi><mi>j</mi></msub><msub><mi>y</mi><mrow><mi>n</mi><mo>+</mo><mi>j</mi><mo>&#x2212;</mo><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo><mi>h</mi><munderover><mo>&#x2211;</mo><mrow><mi>j</mi><mo>=</mo><mn>0</mn></mrow><mi>k</mi></munderover><msub><mi>&#x3b2;</mi><mi>j</mi></msub><msub><mi>f</mi><mrow><mi>n</mi><mo>+</mo><mi>j</mi><mo>&#x2212;</mo><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub></mrow>"),
                        f" with k = {k}" + (" (the final, exact method):" if a.rational is not None else ":")],
               "coeffs": coeffs}
    exact = a.rational
    rows = _weight_rows(a.tableau, exact)
    first = "step uses" if ms.memory == 1 else f"{ms.memory} steps use"
    notes: list[Rich] = [[f"Start-up: the first {first} {_STARTUP.get(str(ms.startup), str(ms.startup))}"
                          + ("; with rule \u201crk\u201d a step with the learned b alone must itself be consistent, or the global order drops to 1."
                             if ms.startup == "rk" else ".")]]
    return {"intro": intro, "general": _general_step(), "lmm": lmm, "weights": rows, "has_exact": exact is not None,
            "value_label": "learned" if a.learned else "given", "notes": notes}


# ------------------------------------------------------------------ order conditions
def build_ms_conditions(a: AnalysisView) -> dict[str, Any] | None:
    ms = _section(a)
    if ms is None:
        return None
    trees = build_conditions(a)
    if trees is not None:
        rows = [r for r in a.conditions if r.levels]
        k = 0
        for g in trees["groups"]:
            for r in g["rows"]:
                expr = parse_expression(rows[k].formula)
                r["formula"] = expr_math(expr) if expr is not None else Math(r"\text{" + rows[k].formula + "}", f"<mtext>{rows[k].formula}</mtext>")
                k += 1
        trees["intro"] = ["With exact past values ", Math("y_{n-m} = y(t_n - mh)", "<mrow><msub><mi>y</mi><mrow><mi>n</mi><mo>&#x2212;</mo><mi>m</mi></mrow></msub><mo>=</mo><mi>y</mi><mo>(</mo><msub><mi>t</mi><mi>n</mi></msub><mo>&#x2212;</mo><mi>m</mi><mi>h</mi><mo>)</mo></mrow>"),
                          " the step is a B-series in the current value: past values contribute ", Math(r"(-m)^{|t|}/\gamma(t)", "<mrow><msup><mrow><mo>(</mo><mo>&#x2212;</mo><mi>m</mi><mo>)</mo></mrow><mrow><mo>|</mo><mi>t</mi><mo>|</mo></mrow></msup><mo>/</mo><mi>&#x3b3;</mi><mo>(</mo><mi>t</mi><mo>)</mo></mrow>"),
                          " per tree, and each rooted tree ", Math("t", "<mi>t</mi>"), " gives one condition ",
                          Math(r"\Phi(t) = 1/\gamma(t)", "<mrow><mi>&#x3a6;</mi><mo>(</mo><mi>t</mi><mo>)</mo><mo>=</mo><mn>1</mn><mo>/</mo><mi>&#x3b3;</mi><mo>(</mo><mi>t</mi><mo>)</mo></mrow>"),
                          " on the elementary weight of the whole step (written in the weights; values for ",
                          "the exact method" if a.final_exact is not None else "the float64 weights", ")."]
    lmm_rows = None
    if ms.lmm_conditions:
        lmm_rows = [{"q": c.q, "lhs": inline_value_math(c.alpha_sum) if isinstance(c.alpha_sum, str) else sci(c.alpha_sum, 6),
                     "rhs": inline_value_math(c.beta_sum) if isinstance(c.beta_sum, str) else sci(c.beta_sum, 6),
                     "residual": sci(c.residual, 3), "ok": c.satisfied} for c in ms.lmm_conditions]
    lmm_intro: Rich = ["The classical conditions of a linear multistep method: order ", Math("p", "<mi>p</mi>"), " when ",
                       Math(r"\sum_j \alpha_j\, j^q = q\sum_j \beta_j\, j^{q-1}", "<mrow><munder><mo>&#x2211;</mo><mi>j</mi></munder><msub><mi>&#x3b1;</mi><mi>j</mi></msub><msup><mi>j</mi><mi>q</mi></msup><mo>=</mo><mi>q</mi><munder><mo>&#x2211;</mo><mi>j</mi></munder><msub><mi>&#x3b2;</mi><mi>j</mi></msub><msup><mi>j</mi><mrow><mi>q</mi><mo>&#x2212;</mo><mn>1</mn></mrow></msup></mrow>"),
                       " for ", Math("q = 0, \\dots, p", "<mrow><mi>q</mi><mo>=</mo><mn>0</mn><mo>,</mo><mo>&#x2026;</mo><mo>,</mo><mi>p</mi></mrow>"),
                       f"; they agree with the tree conditions below (for one stage every tree of order q gives the same condition)."]
    return {"lmm_intro": lmm_intro, "lmm_rows": lmm_rows, "trees": trees}


# ------------------------------------------------------------------ stability
def build_ms_stability(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    ms = _section(a)
    if ms is None or ms.zero_stability is None or ms.stability is None:
        return None
    zs = ms.zero_stability
    roots = []
    for (re_, im_), mod, mult in zip(zs.roots, zs.moduli, zs.multiplicities):
        z = Math(f"{re_:.6g}" + (f" {'+' if im_ >= 0 else '-'} {abs(im_):.6g}i" if abs(im_) > 1e-14 else ""),
                 f"<mn>{re_:.6g}</mn>" + (f"<mo>{'+' if im_ >= 0 else '&#x2212;'}</mo><mn>{abs(im_):.6g}</mn><mi>i</mi>" if abs(im_) > 1e-14 else ""))
        roots.append({"root": z, "modulus": sci(mod, 6), "multiplicity": mult, "circle": abs(mod - 1) < 1e-9})
    verdict = ("zero-stable and strongly stable: every root of \u03c1 lies in the closed unit disc and \u03b6 = 1 is the only one on the circle"
               if zs.strongly else "zero-stable, but only weakly: another simple root lies on the unit circle (errors are not damped)"
               if zs.stable else "not zero-stable: the method does not converge as h \u2192 0")
    char = parse_expression(ms.stability.characteristic or "")
    rows = [{"name": a.name, "real": _intervals(ms)[1], "imag": _intervals(ms)[3]}]
    base = a.baseline
    if base is not None and base.stability is not None and base.name != a.identified_as:
        bs = base.stability
        blo, bhi = fnum((bs.real_interval or (0, 0))[0]), fnum((bs.imag_interval or (0, 0))[-1])
        rows.append({"name": f"{base.name} (classical, order {base.order})", "real": Math(f"[{sci(blo, 4).latex}, 0]", f"<mrow><mo>[</mo>{sci(blo, 4).mathml}<mo>,</mo><mn>0</mn><mo>]</mo></mrow>"),
                     "imag": Math(r"\{0\}", "<mrow><mo>{</mo><mn>0</mn><mo>}</mo></mrow>") if bhi == 0 else Math(f"[-{sci(bhi, 4).latex} i, {sci(bhi, 4).latex} i]", f"<mrow><mo>[</mo><mo>&#x2212;</mo>{sci(bhi, 4).mathml}<mi>i</mi><mo>,</mo>{sci(bhi, 4).mathml}<mi>i</mi><mo>]</mo></mrow>")})
    ec = ms.error_constant
    ec_rich: Rich | None = None
    if ec is not None:
        ec_rich = ["Error constant: ", Math("C_{p+1}", "<msub><mi>C</mi><mrow><mi>p</mi><mo>+</mo><mn>1</mn></mrow></msub>"), " = ",
                   inline_value_math(ec.C) if isinstance(ec.C, str) else sci(ec.C, 4), f" at order p = {ec.order}"]
        if ec.normalised is not None:
            ec_rich += [", and ", Math(r"C_{p+1}/\sigma(1)", "<mrow><msub><mi>C</mi><mrow><mi>p</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>/</mo><mi>&#x3c3;</mi><mo>(</mo><mn>1</mn><mo>)</mo></mrow>"),
                        " = ", inline_value_math(ec.normalised) if isinstance(ec.normalised, str) else sci(ec.normalised, 4),
                        ", the constant of the leading global error term (smaller is more accurate at equal order)."]
    intro: Rich = ["Zero-stability is the root condition on the first characteristic polynomial ",
                   Math(r"\rho(\zeta) = \sum_j \alpha_j \zeta^j", "<mrow><mi>&#x3c1;</mi><mo>(</mo><mi>&#x3b6;</mi><mo>)</mo><mo>=</mo><munder><mo>&#x2211;</mo><mi>j</mi></munder><msub><mi>&#x3b1;</mi><mi>j</mi></msub><msup><mi>&#x3b6;</mi><mi>j</mi></msup></mrow>"),
                   " (it depends on the betas only), decided ", "exactly" if zs.arithmetic == "exact" else f"in float64 (tolerance {zs.tol:g})", "."]
    stab_intro: Rich = ["On ", Math(r"y' = \lambda y", "<mrow><msup><mi>y</mi><mo>&#x2032;</mo></msup><mo>=</mo><mi>&#x3bb;</mi><mi>y</mi></mrow>"),
                        " with ", Math(r"z = h\lambda", "<mrow><mi>z</mi><mo>=</mo><mi>h</mi><mi>&#x3bb;</mi></mrow>"),
                        " the method is absolutely stable where every root ", Math(r"\zeta", "<mi>&#x3b6;</mi>"),
                        " of its characteristic polynomial has modulus at most 1; the intervals are where the spectral radius of the companion matrix stays at most 1 (bisection to ",
                        sci(1e-12, 1), ")."]
    return {"intro": intro, "roots": roots, "verdict": verdict, "stab_intro": stab_intro,
            "char": expr_math(sp.Eq(char, 0), display=True) if char is not None else None, "rows": rows, "error_constant": ec_rich,
            "figure": "ms_stability" if "ms_stability" in figures else None, "baseline": base.name if base is not None and len(rows) > 1 else None}


# ------------------------------------------------------------------ verified / measured
def build_ms_verified(a: AnalysisView) -> dict[str, Any] | None:
    ms = _section(a)
    if ms is None or not (ms.verified or ms.measured_only):
        return None
    return {"verified": list(ms.verified), "measured": list(ms.measured_only)}
