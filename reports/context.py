"""From an ``analysis.json`` dict to what the templates show: one builder per section.

A section builder reads only keys of the analysis (all optional except the documented core
keys) and returns the data its templates ``html_<key>.j2`` and ``tex_<key>.j2`` need, or
``None`` when the analysis has nothing for it, in which case the section is skipped. Text
is built as *rich* sequences of plain strings, :class:`~reports.mathtext.Math` and
:class:`~reports.mathtext.Code`, so both outputs say the same sentences. The builders of the
solver kinds ("krylov", "newton-krylov") live in :mod:`reports.solvers`; every kind's
sections are listed in :data:`SECTIONS`.

Nothing here computes a new result: every number is read from the analysis; the only
arithmetic is formatting (e.g. writing a ratio 0.158 also as "6.3 times smaller").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .formatting import fnum, in_range_math, join_and, plural, range_math, ratio_text, short_math, symbol_math
from .mathtext import (
    Code,
    Math,
    as_float,
    combination_math,
    equation_math,
    expr_math,
    inline_value_math,
    interval_math,
    join_math,
    math_ident,
    math_text,
    num_repr,
    parse_coefficient,
    parse_expression,
    plain_fences,
    sci,
    tableau_math,
    weight_formula_math,
)
from .solvers import (
    build_convergence,
    build_krylov_summary,
    build_linearisation,
    build_matvecs,
    build_newton,
    build_nl_iteration,
    build_nonlinear_summary,
    build_recurrence,
    generic_solver_line,
    krylov_data,
    krylov_title,
    nonlinear_data,
    nonlinear_title,
    training_objective,
)
from .trees import tree_drawing

__all__ = ["Section", "SECTIONS", "build_context", "report_title"]

Rich = list  # list[str | Math | Code]
_A = Math("A", "<mi>A</mi>")
_B = Math("b", "<mi>b</mi>")
_C = Math("c", "<mi>c</mi>")


@dataclass(frozen=True)
class Section:
    """A report section: ``key`` names its templates (``html_<key>.j2``, ``tex_<key>.j2``)
    and anchor, ``build`` returns its data or ``None`` to skip it, ``kinds`` limits it to
    some analysis kinds (``None``: every kind)."""

    key: str
    title: str
    build: Callable[[dict[str, Any]], dict[str, Any] | None]
    kinds: tuple[str, ...] | None = None


# ================================================================== small formatters
_f = fnum
_short = short_math
_range = range_math
_symbol = symbol_math
_in_range = in_range_math
_ratio_text = ratio_text
_plural = plural


def _stages(a: dict[str, Any]) -> int | None:
    if a.get("stages") is not None:
        return int(a["stages"])
    tab = a.get("tableau") or {}
    return len(tab["A"]) if tab.get("A") else None


def _is_learned(a: dict[str, Any]) -> bool:
    return bool(a.get("training") or a.get("distillation") or a.get("measured_learned"))


def _tableau_is_float(t: dict[str, Any] | None) -> bool:
    return bool(t) and any(isinstance(x, float) for x in t.get("b", []))


def _final_exact(a: dict[str, Any]) -> dict[str, Any] | None:
    """The exact tableau: the distilled/rationalised one, or the input when it is exact."""
    if a.get("rational") is not None:
        return a["rational"]
    tab = a.get("tableau")
    return tab if tab and "A" in tab and "b" in tab and not _tableau_is_float(tab) else None


_join_and = join_and


def _eq_list(fam: dict[str, Any]) -> list[Math | Code]:
    out: list[Math | Code] = []
    for eq in fam.get("equations") or []:
        m = equation_math(str(eq))
        out.append(m if m is not None else Code(str(eq)))
    return out


def _state_names(fam: dict[str, Any]) -> list[str]:
    names = []
    for eq in fam.get("equations") or []:
        lhs = str(eq).split("=")[0].strip().rstrip("'").strip()
        names.append(lhs or "y")
    return names


def report_title(a: dict[str, Any]) -> str:
    name = str(a.get("name", "method"))
    s = _stages(a)
    if a.get("kind") == "krylov" and krylov_data(a) is not None:
        return krylov_title(a)
    if a.get("kind") == "newton-krylov" and nonlinear_data(a) is not None:
        return nonlinear_title(a)
    if a.get("kind") != "runge-kutta":
        return f"{name}: {a.get('kind', 'algorithm')} report"
    fam = (a.get("family") or {}).get("name")
    kind = "explicit" if a.get("explicit", True) else "implicit"
    what = f"a {s}-stage {kind} Runge\u2013Kutta method" if s else f"an {kind} Runge\u2013Kutta method"
    if fam and _is_learned(a):
        return f"{name}: {what} learned for the family {fam}"
    if fam:
        return f"{name}: {what} on the family {fam}"
    return f"{name}: order conditions, stability and identity of {what}"


# ================================================================== summary
def _family_rich(fam: dict[str, Any], ood: bool = False) -> Rich:
    """``square: y' = -a y^2 with a in [0.1, 0.5], y in [1, 3], h in [0.01, 0.1]``."""
    out: Rich = [Code(str(fam.get("name", "?"))), ": "]
    eqs = _eq_list(fam)
    for k, e in enumerate(eqs):
        if k:
            out.append(", ")
        out.append(e)
    ranges = fam.get("ood_param_ranges") if ood else fam.get("param_ranges")
    params = [_in_range(str(p), r) for p, r in zip(fam.get("params") or [], ranges or [])]
    states = [_in_range(nm, r) for nm, r in zip(_state_names(fam), fam.get("state_ranges") or [])]
    clauses: list[Rich] = []
    if params:
        clauses.append(_join_and([[m] for m in params]))
    if states:
        clauses.append(["initial " + ("value " if len(states) == 1 else "values ")] + _join_and([[m] for m in states]))
    if fam.get("h_range"):
        clauses.append(["step sizes ", _in_range("h", fam["h_range"])])
    for k, c in enumerate(clauses):
        if k == 0:
            out.append(" with ")
        elif k < len(clauses) - 1:
            out.append(", ")
        else:
            out.append(", and " if len(clauses) > 2 else " and ")
        out.extend(c)
    return out


def _order_verdict(a: dict[str, Any]) -> Rich:
    out: Rich = []
    order = a.get("order")
    arith = a.get("arithmetic", "exact")
    learned = _is_learned(a)
    res = a.get("residuals") or {}
    nxt = res.get(str((order or 0) + 1)) if isinstance(order, int) else None
    data = "learned float64 weights" if learned else ("exact coefficients" if arith == "exact" else "float64 coefficients")
    if arith == "exact":
        out += [f"With its {data} it has general order {order}, verified in exact arithmetic"]
    else:
        out += [f"Its {data} satisfy the order conditions up to order {order} within the tolerance ", sci(a.get("tol"), 2)]
    if nxt is not None:
        out += [" (largest residual at order ", str((order or 0) + 1), ": ", sci(nxt, 3), ")"]
    if a.get("order_reached_cap"):
        out.append("; the test stopped at its cap, so the order may be higher")
    out.append(".")
    return out


def _distillation_verdict(a: dict[str, Any]) -> Rich:
    rat = a.get("rational")
    dist = a.get("distillation")
    if rat is None:
        if _tableau_is_float(a.get("tableau")):
            return ["No exact tableau was found: the report shows the float64 coefficients."]
        return []
    out: Rich = []
    fam = (a.get("family") or {}).get("name")
    if dist:
        out += ["Distillation onto the condition set \u201c", str(dist.get("target")), "\u201d moved the entries of ", _A, ", ", _B, " and ", _C, " by at most ",
                sci(dist.get("distance"), 3), " and gave the exact tableau below"]
    elif _tableau_is_float(a.get("tableau")):
        out += ["Rationalising the float64 coefficients gave the exact tableau below"]
    else:
        out += ["The method"]
    given_exact = not dist and not _tableau_is_float(a.get("tableau"))
    bits: list[Rich] = []
    if a.get("exact_order") is not None and not given_exact:
        bits.append([f"general order {a['exact_order']} (verified in exact arithmetic)"])
    if a.get("personalised_order") is not None and fam:
        bits.append([f"personalised order {a['personalised_order']} on ", Code(str(fam))])
    if a.get("measured_order") is not None:
        bits.append(["measured order ", sci(a["measured_order"], 3), " (fitted slope of the one-step error minus one)"])
    if bits:
        out.append("; it has " if dist or _tableau_is_float(a.get("tableau")) else " has ")
        out.extend(_join_and(bits))
    out.append(".")
    return out if len(out) > 2 else []


def _identification_rich(a: dict[str, Any]) -> Rich:
    ident = a.get("identification") or {}
    name = a.get("identified_as") or ident.get("identified_as")
    kind = ident.get("kind")
    closest, dist = ident.get("closest"), ident.get("distance")
    if kind == "method" and name:
        return ["It is the classical method ", Code(str(name)), " (same coefficients)."]
    if name:
        params = ident.get("parameters") or {}
        fam_name = str(ident.get("family") or name)
        if params and fam_name.endswith(")") and " (" in fam_name:
            fam_name = fam_name[: fam_name.rindex(" (")]  # the parameters follow as formulas
        out: Rich = ["It belongs to the ", fam_name]
        if params:
            out.append(" with ")
            out.extend(_join_and([[join_math([_symbol(str(k)), Math("=", "<mo>=</mo>"), inline_value_math(v)])] for k, v in params.items()]))
        if closest:
            out += ["; the closest catalogue method is ", Code(str(closest)), " (largest coefficient difference ", sci(dist, 3), ")"]
        out.append(".")
        return out
    if closest:
        return ["It matches no catalogue method or family; the closest catalogue method is ", Code(str(closest)),
                " (largest coefficient difference ", sci(dist, 3), ")."]
    return ["It matches no catalogue method."]


def _comparison_sentences(a: dict[str, Any], setting: str = "in_distribution") -> Rich:
    comp = a.get("comparison") or {}
    errs = (comp.get("errors") or {}).get(setting) or {}
    ratios = (comp.get("ratios") or {}).get(setting) or {}
    ref = comp.get("reference")
    if not errs or ref not in errs:
        return []
    where = "on held-out problems from the training ranges" if setting == "in_distribution" else "out of distribution"
    stages = (comp.get("stages") or {}).get(ref)
    cost = f" at equal cost ({_plural(int(stages), 'function evaluation')} per step)" if stages else " at equal cost"
    out: Rich = [f"Its mean one-step error {where}{cost} is ", sci(errs[ref]), "."]
    learned = [k for k in ratios if k.endswith("(learned weights)")]
    classical = [k for k in ratios if k not in learned]
    worse = [k for k in classical if _f(ratios[k]) > 1]
    better = [k for k in classical if _f(ratios[k]) <= 1]
    if worse:
        out.append(" It is more accurate than " + ("the classical methods " if len(worse) > 1 else "the classical method "))
        out.extend(_join_and([[Code(k), f" ({_ratio_text(_f(ratios[k]))} times its error)" if n == 0
                               else f" ({_ratio_text(_f(ratios[k]))} times)"] for n, k in enumerate(worse)]))
        out.append(".")
    if better:
        out.append(" " + ("The classical methods " if len(better) > 1 else "The classical method "))
        out.extend(_join_and([[Code(k)] for k in better]))
        out.append(" " + ("are" if len(better) > 1 else "is") + " more accurate than it (error ratio" + ("s " if len(better) > 1 else " "))
        out.append(", ".join(_ratio_text(_f(ratios[k])) for k in better))
        out.append(").")
    for k in learned:
        r = _f(ratios[k])
        if r < 1:
            out += [" The learned float64 weights are more accurate than the distilled exact method (error ratio ",
                    _ratio_text(r), f", i.e. {1 / r:.2g} times smaller error)" if r > 0 else ")", "."]
        else:
            out += [" The distilled exact method is at least as accurate as the learned float64 weights (error ratio ",
                    _ratio_text(r), ")."]
    return out


def build_summary(a: dict[str, Any]) -> dict[str, Any]:
    name = str(a.get("name", "method"))
    s = _stages(a)
    fam = a.get("family")
    st = a.get("structure") or {}
    explicit = a.get("explicit", True)
    kind = "explicit" if explicit else "implicit"
    learned = _is_learned(a)
    paras: list[Rich] = []

    p1: Rich = [Code(name), f" is a {s}-stage {kind} Runge\u2013Kutta method"]
    if learned:
        outer = st.get("outer")
        p1.append(" learned by an R2N2 network")
        if fam:
            p1.append(" on the problem family ")
            p1.extend(_family_rich(fam))
        p1.append(".")
        if s or outer:
            p1.append(f" The network has {_plural(int(st.get('stages', s)), 'inner evaluation')}")
            if outer:
                p1.append(f" and was trained with {_plural(int(outer), 'outer iteration')}")
                p1.append(" (one time step each)" if int(outer) > 1 else " (one time step)")
            if st.get("h"):
                h = str(st["h"]).replace("per sample (time step)", "the time step of each training sample")
                p1 += ["; the scale ", Math("h", "<mi>h</mi>"), f" is {h}"]
            p1.append(".")
    else:
        p1.append(" given with exact coefficients" if a.get("arithmetic") == "exact" else " given with float64 coefficients")
        if fam:
            p1.append(", studied on the problem family ")
            p1.extend(_family_rich(fam))
        p1.append(".")
    paras.append(p1)

    p2: Rich = []
    p2 += _order_verdict(a)
    dv = _distillation_verdict(a)
    if dv:
        p2.append(" ")
        p2 += dv
    p2.append(" ")
    p2 += _identification_rich(a)
    paras.append(p2)

    if a.get("comparison"):
        p3 = _comparison_sentences(a, "in_distribution")
        if p3:
            paras.append(p3)

    facts: list[tuple[str, Rich]] = []
    if fam:
        facts.append(("Problem family", _family_rich(fam)))
    struct: Rich = [f"{s} stages, {kind}"]
    if st.get("outer"):
        struct.append(f"; {_plural(int(st['outer']), 'outer iteration')}")
    if st.get("consistency"):
        struct.append(f"; consistency: {st['consistency']}")
    facts.append(("Structure", struct))
    facts.append(("General order", [str(a.get("order")), f" ({'learned weights, ' if learned else ''}{a.get('arithmetic', 'exact')} arithmetic)"]))
    if a.get("exact_order") is not None and (learned or a.get("arithmetic") != "exact"):
        facts.append(("Exact order", [str(a["exact_order"]), " (distilled exact tableau)" if a.get("distillation") else " (exact tableau)"]))
    if a.get("personalised_order") is not None and fam:
        v: Rich = [str(a["personalised_order"]), " on ", Code(str(fam.get("name")))]
        if a.get("personalised_order_learned") is not None:
            v += [f" (learned weights: {a['personalised_order_learned']})"]
        facts.append(("Personalised order", v))
    if a.get("measured_order") is not None:
        v = [sci(a["measured_order"], 3)]
        if a.get("measured_order_learned") is not None:
            v += [" (learned weights: ", sci(a["measured_order_learned"], 3), ")"]
        facts.append(("Measured order", v))
    if a.get("embedded_order") is not None:
        facts.append(("Embedded order", [str(a["embedded_order"])]))
    if a.get("stage_order") is not None:
        facts.append(("Stage order", [str(a["stage_order"])]))
    if a.get("principal_error_norm") is not None:
        facts.append(("Principal error norm", [sci(a["principal_error_norm"], 4)]))
    ident = a.get("identified_as")
    if ident and (a.get("identification") or {}).get("kind") == "method":
        facts.append(("Identified as", [Code(str(ident))]))
    else:
        facts.append(("Identified as", [str(ident)] if ident else ["no catalogue method or family"]))
    if a.get("distillation"):
        d = a["distillation"]
        facts.append(("Distillation target", [str(d.get("target")), "; entries of ", _A, ", ", _B, " and ", _C, " moved by at most ", sci(d.get("distance"), 3)]))
    return {"paragraphs": paras, "facts": facts}


def _generic_summary(a: dict[str, Any]) -> dict[str, Any]:
    paras: list[Rich] = []
    if a.get("summary"):
        paras.append([str(a["summary"])])
    line = generic_solver_line(a)
    paras.append(line if line is not None else [f"Analysis kind {a.get('kind')!s}; order {a.get('order')!s} (tolerance ", sci(a.get("tol"), 2), ")."])
    return {"paragraphs": paras, "facts": []}


def build_summary_any(a: dict[str, Any]) -> dict[str, Any]:
    """The summary of any kind: Runge-Kutta, krylov and newton-krylov have their own; other
    kinds (or a solver analysis without its section) get the generic one."""
    kind = a.get("kind")
    if kind == "runge-kutta":
        return build_summary(a)
    data = build_krylov_summary(a) if kind == "krylov" else build_nonlinear_summary(a) if kind == "newton-krylov" else None
    return data if data is not None else _generic_summary(a)


# ================================================================== algorithm
def _coefs(t: dict[str, Any]) -> tuple[list[list[Any]], list[Any], list[Any] | None]:
    A = [[parse_coefficient(x) for x in row] for row in t["A"]]
    b = [parse_coefficient(x) for x in t["b"]]
    bh = [parse_coefficient(x) for x in t["b_hat"]] if t.get("b_hat") is not None else None
    return A, b, bh


def _tfrac(m: Math) -> Math:
    return Math(m.latex.replace(r"\frac{", r"\tfrac{"), m.mathml, m.display)


def _f_of(inner_l: str, inner_m: str) -> tuple[str, str]:
    return (r"f\bigl(" + inner_l + r"\bigr)", "<mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo>" + inner_m + "<mo>)</mo></mrow>")


def _update_lines(chunks: list[Math], wrap_f: bool) -> list[tuple[str, str]]:
    """Right-hand sides ``y_n + h (sum)`` split over lines: [(latex, mathml), ...]."""
    yn_l, yn_m = "y_{n}", "<msub><mi>y</mi><mi>n</mi></msub>"
    if not chunks:
        return [_f_of(yn_l, yn_m) if wrap_f else (yn_l, yn_m)]
    lines = []
    for k, ch in enumerate(chunks):
        ltx = _tfrac(ch).latex
        ml = ch.mathml
        first, last = k == 0, k == len(chunks) - 1
        pre_l = (r"f\bigl(" if wrap_f else "") + yn_l + r" + h\,\bigl(" if first else r"\qquad "
        pre_m = ("<mi>f</mi><mo>&#x2061;</mo><mo>(</mo>" if wrap_f else "") + yn_m + "<mo>+</mo><mi>h</mi><mo>&#x2062;</mo><mo>(</mo>" if first else "<mspace width=\"2em\"/>"
        post_l = r"\bigr)" + (r"\bigr)" if wrap_f else "") if last else ""
        post_m = "<mo>)</mo>" + ("<mo>)</mo>" if wrap_f else "") if last else ""
        lines.append((pre_l + ltx + post_l, pre_m + ml + post_m))
    return lines


def _algorithm_math(t: dict[str, Any], explicit: bool) -> Math:
    A, b, bh = _coefs(t)
    s = len(A)
    rows: list[tuple[str, str, str, str]] = []  # lhs latex, lhs mathml, rhs latex, rhs mathml
    for i in range(s):
        coefs = A[i][:i] if explicit else A[i]
        lines = _update_lines(combination_math(coefs), wrap_f=True)
        for k, (rl, rm) in enumerate(lines):
            lhs = (f"k_{{{i + 1}}}", f"<msub><mi>k</mi><mn>{i + 1}</mn></msub>") if k == 0 else ("", "")
            rows.append((lhs[0], lhs[1], rl, rm))
    for sym, w, hat in (("y", b, False), ("y", bh, True)):
        if w is None:
            continue
        lines = _update_lines(combination_math(w), wrap_f=False)
        for k, (rl, rm) in enumerate(lines):
            if k == 0:
                lhs_l = r"\hat y_{n+1}" if hat else "y_{n+1}"
                base = "<mover><mi>y</mi><mo>^</mo></mover>" if hat else "<mi>y</mi>"
                lhs_m = f"<msub>{base}<mrow><mi>n</mi><mo>+</mo><mn>1</mn></mrow></msub>"
            else:
                lhs_l, lhs_m = "", ""
            rows.append((lhs_l, lhs_m, rl, rm))
    ltx_rows = []
    ml_rows = []
    for k, (ll, lm, rl, rm) in enumerate(rows):
        cont = not ll
        end = "," if k < len(rows) - 1 else "."
        nxt_cont = k + 1 < len(rows) and not rows[k + 1][0]
        punct = "" if nxt_cont else end
        ltx_rows.append(f"{ll} &{'' if cont else '= '}{rl}{punct}")
        eq = "" if cont else "<mo>=</mo>"
        tail = f"<mo>{punct}</mo>" if punct else ""
        ml_rows.append(f'<mtr><mtd displaystyle="true">{lm}</mtd><mtd displaystyle="true">{plain_fences(eq + rm + tail)}</mtd></mtr>')
    ltx = "\\begin{aligned}\n" + " \\\\\n".join(ltx_rows) + "\n\\end{aligned}"
    ml = '<mtable class="algo">' + "".join(ml_rows) + "</mtable>"
    return Math(ltx, ml, display=True)


def _width_estimate(t: dict[str, Any], floats: bool) -> int:
    """Rough width of a tableau in characters (fractions count their longer line)."""
    def w(x: Any) -> int:
        if floats or isinstance(x, float):
            r = num_repr(x if isinstance(x, float) else as_float(x)).latex
            return len(r.replace(r" \times 10^", "e").replace("{", "").replace("}", ""))
        s = str(x)
        if "/" in s and "sqrt" not in s and " " not in s:
            return max(len(p) for p in s.split("/"))
        return len(s.replace("sqrt", "\u221a").replace(" ", "")) + 1
    A = t["A"]
    s = len(A)
    widths = [max(w(t["c"][i]) for i in range(s))] if t.get("c") else [1]
    for j in range(s):
        col = [A[i][j] for i in range(s)] + [t["b"][j]] + ([t["b_hat"][j]] if t.get("b_hat") is not None else [])
        widths.append(max(w(x) for x in col))
    return sum(widths) + 2 * len(widths)


def _floats_equal(t1: dict[str, Any], t2: dict[str, Any]) -> bool:
    try:
        return (all(float(x) == float(y) for r1, r2 in zip(t1["A"], t2["A"]) for x, y in zip(r1, r2))
                and all(float(x) == float(y) for x, y in zip(t1["b"], t2["b"])))
    except (TypeError, ValueError):
        return False


def build_algorithm(a: dict[str, Any]) -> dict[str, Any] | None:
    tab = a.get("tableau")
    if not tab or "A" not in tab or "b" not in tab:
        return None
    rat = _final_exact(a)
    explicit = bool(a.get("explicit", True))
    final = rat if rat is not None else tab
    learned = _is_learned(a)
    intro: Rich = ["One step of size ", Math("h", "<mi>h</mi>"), " from ", math_ident("y", "n"), " to ",
                   math_ident("y", "n+1"), " for ", Math("y' = f(y)", "<mrow><mi>y</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>=</mo><mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>y</mi><mo>)</mo></mrow></mrow>"),
                   " with the ", "exact" if rat is not None else "float64", " coefficients"]
    if explicit:
        intro.append(" (each stage uses only the stages before it):")
    else:
        intro.append("; the stage equations are implicit and are solved together for all stages (e.g. by Newton's method):")
    notes: list[Rich] = [["For a non-autonomous problem ", Math("y' = f(t, y)", "<mrow><mi>y</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>=</mo><mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>,</mo><mi>y</mi><mo>)</mo></mrow></mrow>"),
                          ", stage ", math_ident("k", "i"), " is evaluated at ",
                          Math("t_n + c_i h", "<mrow><msub><mi>t</mi><mi>n</mi></msub><mo>+</mo><msub><mi>c</mi><mi>i</mi></msub><mo>&#x2062;</mo><mi>h</mi></mrow>"),
                          " with the nodes ", math_ident("c", "i"), " of the tableau."]]
    if final.get("b_hat") is not None:
        notes.append(["The embedded weights ", Math(r"\hat b", "<mover><mi>b</mi><mo>^</mo></mover>"),
                      f" (order {a.get('embedded_order')}) give ", Math(r"\hat y_{n+1}", "<msub><mover><mi>y</mi><mo>^</mo></mover><mrow><mi>n</mi><mo>+</mo><mn>1</mn></mrow></msub>"),
                      "; the difference to ", math_ident("y", "n+1"), " estimates the local error."])
    algo = _algorithm_math(final, explicit)

    tableaux: list[dict[str, Any]] = []
    ffl = a.get("final_tableau_float") or rat  # floats of the exact tableau
    if rat is not None:
        cap = "exact (distilled)" if a.get("distillation") else ("exact (rationalised)" if _tableau_is_float(tab) else "exact")
        tableaux.append({"caption": cap, "math": tableau_math(rat, explicit=explicit), "width": _width_estimate(rat, False)})
        if ffl:
            tableaux.append({"caption": "float64 at full precision (repr)", "math": tableau_math(ffl, floats=True, explicit=explicit),
                             "width": _width_estimate(ffl, True)})
        if learned and _tableau_is_float(tab) and not (ffl and _floats_equal(tab, ffl)):
            tableaux.append({"caption": "learned float64 weights (before distillation)", "math": tableau_math(tab, floats=True, explicit=explicit),
                             "width": _width_estimate(tab, True)})
    else:
        tableaux.append({"caption": "float64 at full precision (repr); no exact tableau was found",
                         "math": tableau_math(tab, floats=True, explicit=explicit), "width": _width_estimate(tab, True)})
    # LaTeX: the first two side by side when they fit on one line; a tableau wider than the
    # page (or with very long exact entries) becomes a list of coefficients instead
    longest = max((len(str(x)) for x in _entries(rat)), default=0) if rat is not None else 0
    learned_tab = tab if any(t["caption"].startswith("learned") for t in tableaux) else None
    for k, t in enumerate(tableaux):
        t["tex_fits"] = t["width"] <= _TEX_MAX_WIDTH and not (k == 0 and longest > _TEX_MAX_ENTRY)
    fitting = [t for t in tableaux if t["tex_fits"]]
    side = len(fitting) >= 2 and fitting[0]["width"] + fitting[1]["width"] <= 78
    listed = len(fitting) < len(tableaux)
    return {"intro": intro, "algo": algo, "notes": notes, "tableaux": tableaux, "tex_tableaux": fitting,
            "tex_side_by_side": side,
            "algo_generic": _generic_algorithm_math(final, explicit) if longest > _TEX_MAX_ENTRY else None,
            "coefficients": _coefficient_rows(final, ffl, explicit, learned_tab) if listed else [],
            "coefficients_learned": listed and learned_tab is not None}


_TEX_MAX_WIDTH = 100  # characters across a tableau that still read well on an A4 page
_TEX_MAX_ENTRY = 28  # longest exact entry shown inside a tableau (as in ``check``'s text output)


def _entries(t: dict[str, Any]) -> list[Any]:
    out = [x for row in t["A"] for x in row] + list(t["b"]) + list(t.get("c") or [])
    return out + list(t.get("b_hat") or [])


def _breakable(ltx: str) -> str:
    """LaTeX of a number with break points every 10 digits (long rationals in a table)."""
    def split(m: re.Match[str]) -> str:
        d = m.group(0)
        return r"\allowbreak ".join(d[i:i + 10] for i in range(0, len(d), 10))

    return re.sub(r"\d{11,}", split, ltx)


def _coefficient_rows(t: dict[str, Any], floats: dict[str, Any] | None, explicit: bool,
                      learned: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Coefficients one per row: symbol, exact value, float64 and, for a learned method, the
    learned float64 weight (for LaTeX when a tableau is too large to typeset as an array).
    Rows where everything is zero are left out."""
    rows = []
    s = len(t["A"])
    fl = floats if floats is not None else t

    def get(tab: dict[str, Any] | None, key: str, *idx: int) -> Any:
        if tab is None or tab.get(key) is None:
            return None
        v = tab[key]
        for i in idx:
            v = v[i]
        return v

    def add(sym: Math, key: str, *idx: int) -> None:
        exact = get(t, key, *idx)
        lv = get(learned, key, *idx)
        v = parse_coefficient(exact)
        if v is None or (v == 0 and not (lv is not None and as_float(lv) != 0)):
            return
        m = inline_value_math(exact)
        flt = get(fl, key, *idx)
        rows.append({"sym": sym, "exact": Math(_breakable(m.latex), m.mathml),
                     "float": num_repr(as_float(flt if flt is not None else exact)),
                     "learned": num_repr(as_float(lv)) if lv is not None else None})

    if t.get("c") is not None:
        for i in range(s):
            add(math_ident("c", str(i + 1)), "c", i)
    for i in range(s):
        for j in range(i if explicit else s):
            add(math_ident("a", f"{i + 1},{j + 1}"), "A", i, j)
    for j in range(s):
        add(math_ident("b", str(j + 1)), "b", j)
    if t.get("b_hat") is not None:
        for j in range(s):
            add(Math(r"\hat b_{" + str(j + 1) + "}", f"<msub><mover><mi>b</mi><mo>^</mo></mover><mn>{j + 1}</mn></msub>"), "b_hat", j)
    return rows


def _generic_algorithm_math(t: dict[str, Any], explicit: bool) -> Math:
    """The step with symbolic coefficients (for tableaux listed coefficient by coefficient)."""
    s = len(t["A"])
    upper = "i-1" if explicit else "s"
    lines = [rf"k_i &= f\Bigl(y_n + h \sum_{{j=1}}^{{{upper}}} a_{{ij}}\, k_j\Bigr), \qquad i = 1, \dots, s = {s},",
             r"y_{n+1} &= y_n + h \sum_{j=1}^{s} b_j\, k_j" + ("," if t.get("b_hat") is not None else ".")]
    if t.get("b_hat") is not None:
        lines.append(r"\hat y_{n+1} &= y_n + h \sum_{j=1}^{s} \hat b_j\, k_j.")
    ltx = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    return Math(ltx, "<mtext>see the coefficients below</mtext>", display=True)


# ================================================================== order conditions
def _residual_cell(x: Any) -> Math | None:
    if x is None:
        return None
    return sci(x, 3)


def build_conditions(a: dict[str, Any]) -> dict[str, Any] | None:
    rows = a.get("conditions") or []
    residuals = a.get("residuals") or {}
    exact_res = a.get("exact_residuals") or {}
    if not rows and not residuals:
        return None
    from ..analysis import count_trees

    groups: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        try:
            order = int(r.get("order"))
            levels = [int(v) for v in r.get("levels") or []]
        except (TypeError, ValueError):
            continue
        if not levels:
            continue
        phi = inline_value_math(r["phi_exact"]) if r.get("phi_exact") is not None else sci(r.get("phi"), 6)
        groups.setdefault(order, []).append({
            "tree": tree_drawing(levels),
            "bracket": str(r.get("tree", "")),
            "formula": weight_formula_math(str(r.get("formula", ""))),
            "inv_gamma": inline_value_math(str(r.get("inv_gamma", ""))),
            "phi": phi,
            "residual": sci(r.get("residual"), 3),
            "satisfied": bool(r.get("satisfied")),
        })
    grouped = [{"order": n, "rows": groups[n], "count": len(groups[n])} for n in sorted(groups)]
    learned = _is_learned(a)
    has_exact = a.get("exact_residuals") is not None and (learned or a.get("arithmetic") != "exact")
    keys = sorted({int(k) for k in list(residuals) + (list(exact_res) if has_exact else []) if str(k).isdigit()})
    order = a.get("order")
    eorder = a.get("exact_order")
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
    rat = _final_exact(a)
    on = ("the distilled exact tableau, in exact arithmetic" if a.get("distillation") else "the exact tableau, in exact arithmetic") if rat is not None \
        else ["the float64 tableau (tolerance ", sci(a.get("tol"), 2), ")"]
    intro: Rich = ["Each rooted tree ", Math("t", "<mi>t</mi>"), " with at most ", str(a.get("conditions_order", max(groups) if groups else "")),
                   " nodes gives one condition ", Math(r"\Phi(t) = 1/\gamma(t)", "<mrow><mi>&#x3a6;</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>)</mo></mrow><mo>=</mo><mn>1</mn><mo lspace=\"0\" rspace=\"0\">/</mo><mi>&#x3b3;</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>)</mo></mrow></mrow>"),
                   " on the elementary weight ", Math(r"\Phi", "<mi>&#x3a6;</mi>"), " (with ",
                   Math(r"c_i = \sum_j a_{ij}", "<mrow><msub><mi>c</mi><mi>i</mi></msub><mo>=</mo><munder><mo movablelimits=\"true\">&#x2211;</mo><mi>j</mi></munder><msub><mi>a</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub></mrow>"),
                   "); a method has order ", Math("p", "<mi>p</mi>"), " when all conditions with at most ", Math("p", "<mi>p</mi>"),
                   " nodes hold. Values below are for "]
    intro += on if isinstance(on, list) else [on]
    intro.append(".")
    pers = a.get("personalised")
    ptable = None
    if pers and pers.get("residuals"):
        trees_n = pers.get("trees_per_order") or {}
        conds_n = pers.get("conditions_per_order") or {}
        merged = any(_f(conds_n.get(k, n)) < _f(n) for k, n in trees_n.items())
        ptable = {"family": pers.get("family"), "order": pers.get("order"), "arithmetic": pers.get("arithmetic"),
                  "rows": [], "merged": merged}
        for k in sorted(pers["residuals"], key=lambda x: int(x) if str(x).isdigit() else 0):
            n = int(k) if str(k).isdigit() else k
            ptable["rows"].append({
                "order": n,
                "trees": (pers.get("trees_per_order") or {}).get(str(k)),
                "conditions": (pers.get("conditions_per_order") or {}).get(str(k)),
                "residual": sci(pers["residuals"][k], 3),
                "ok": isinstance(n, int) and isinstance(pers.get("order"), int) and n <= pers["order"],
            })
    return {"intro": intro, "groups": grouped, "table": table, "has_exact": has_exact,
            "data_label": "learned weights" if learned else ("exact" if a.get("arithmetic") == "exact" else "float64"),
            "personalised": ptable}


# ================================================================== stability
def _interval_words(stab: dict[str, Any]) -> tuple[Rich, Rich]:
    lo = _f((stab.get("real_interval") or [float("nan")])[0])
    hi = _f((stab.get("imag_interval") or [0, float("nan")])[-1])
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


def build_stability(a: dict[str, Any], figures: Sequence[str] = ()) -> dict[str, Any] | None:
    stab = a.get("stability")
    if not stab or not stab.get("R"):
        return None
    R = _R_math(stab.get("R"), stab.get("polynomial", True))
    Rdef = join_math([Math("R(z)", "<mrow><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow></mrow>"), Math("=", "<mo>=</mo>"), R], display=True)
    real, imag = _interval_words(stab)
    base = a.get("baseline") or {}
    bst = base.get("stability") or {}
    bdata = None
    if bst.get("R"):
        breal, bimag = _interval_words(bst)
        same = str(bst.get("R")).replace(" ", "") == str(stab.get("R")).replace(" ", "")
        itself = (a.get("identification") or {}).get("kind") == "method" and a.get("identified_as") == base.get("name")
        bdata = {"name": base.get("name"), "order": base.get("order"), "same": same, "itself": itself,
                 "R": join_math([Math("R(z)", "<mrow><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow></mrow>"), Math("=", "<mo>=</mo>"), _R_math(bst.get("R"), bst.get("polynomial", True))], display=True),
                 "real": breal, "imag": bimag}
    intro: Rich = ["For the test equation ", Math(r"y' = \lambda y", "<mrow><mi>y</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>=</mo><mi>&#x3bb;</mi><mo>&#x2062;</mo><mi>y</mi></mrow>"),
                   " one step multiplies the solution by the stability function ", Math("R(z)", "<mrow><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow></mrow>"),
                   ", ", Math(r"z = h\lambda", "<mrow><mi>z</mi><mo>=</mo><mi>h</mi><mo>&#x2062;</mo><mi>&#x3bb;</mi></mrow>"),
                   "; the step is stable where ", Math(r"|R(z)| \le 1", "<mrow><mo form=\"prefix\" lspace=\"0\" rspace=\"0\">|</mo><mi>R</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>z</mi><mo>)</mo></mrow><mo form=\"postfix\" lspace=\"0\" rspace=\"0\">|</mo><mo>&#x2264;</mo><mn>1</mn></mrow>"), "."]
    kind = "polynomial" if stab.get("polynomial", True) else "rational function"
    return {"intro": intro, "R": Rdef, "kind": kind, "real": real, "imag": imag, "baseline": bdata,
            "figure": "stability" if "stability" in figures else None}


# ================================================================== accuracy
def build_accuracy(a: dict[str, Any], figures: Sequence[str] = ()) -> dict[str, Any] | None:
    comp = a.get("comparison")
    has_measured = bool(a.get("measured") or a.get("measured_classical"))
    if not comp and not has_measured:
        return None
    name = str(a.get("name", "method"))
    fam = a.get("family") or {}
    learned_m = a.get("measured_learned") is not None
    slopes = []
    if a.get("measured"):
        slopes.append({"name": f"{name} (distilled, exact)" if learned_m else name, "m": a["measured"]})
    if learned_m:
        slopes.append({"name": f"{name} (learned weights)", "m": a["measured_learned"]})
    for k, m in sorted((a.get("measured_classical") or {}).items()):
        slopes.append({"name": k, "m": m})
    slope_rows = []
    for s in slopes:
        m = s["m"] or {}
        used = m.get("used") or []
        slope_rows.append({"name": s["name"], "slope": sci(m.get("local_slope"), 3), "order": sci(m.get("order"), 3),
                           "points": f"{sum(1 for u in used if u)} of {len(m.get('h') or [])}"})
    intro: Rich = []
    if has_measured:
        intro = ["Mean one-step error against a reference solution on held-out problems of ", Code(str(fam.get("name", "the family"))),
                 ", for a geometric sequence of step sizes. The fitted slope of ", Math(r"\log(\mathrm{error})", "<mrow><mi>log</mi><mo>&#x2061;</mo><mo>(</mo><mtext>error</mtext><mo>)</mo></mrow>"),
                 " against ", Math(r"\log h", "<mrow><mi>log</mi><mo>&#x2061;</mo><mi>h</mi></mrow>"), " is ", Math("p+1", "<mrow><mi>p</mi><mo>+</mo><mn>1</mn></mrow>"),
                 " for a method of (personalised) order ", Math("p", "<mi>p</mi>"), "; hollow markers were left out of the fit."]
    table = None
    paras: list[Rich] = []
    if comp:
        ref = comp.get("reference")
        errs = comp.get("errors") or {}
        ratios = comp.get("ratios") or {}
        settings = [s for s in ("in_distribution", "out_of_distribution") if errs.get(s)]
        names: list[str] = []
        for s in settings:
            for k in errs[s]:
                if k not in names:
                    names.append(k)
        rows = []
        for k in names:
            row = {"name": k, "reference": k == ref, "stages": (comp.get("stages") or {}).get(k), "cells": []}
            for s in settings:
                e = errs[s].get(k)
                r = 1.0 if k == ref else (ratios.get(s) or {}).get(k)
                row["cells"].append({"error": sci(e, 3) if e is not None else None,
                                     "ratio": sci(r, 3) if r is not None else None,
                                     "better": r is not None and k != ref and _f(r) < 1})
            rows.append(row)
        ranges: list[Rich] = []
        for s in settings:
            key = "ood_param_ranges" if s == "out_of_distribution" else "param_ranges"
            conds = [[_in_range(str(p), r)] for p, r in zip(fam.get("params") or [], fam.get(key) or [])]
            ranges.append(_join_and(conds) if conds else ["(ranges not recorded)"])
        table = {"settings": [{"key": s, "label": "in distribution" if s == "in_distribution" else "out of distribution", "ranges": rg}
                              for s, rg in zip(settings, ranges)],
                 "rows": rows, "reference": ref, "n_samples": comp.get("n_samples")}
        for s in settings:
            sent = _comparison_sentences(a, s)
            if sent:
                paras.append(sent)
    return {"intro": intro, "figure": "accuracy" if "accuracy" in figures else None, "slopes": slope_rows,
            "table": table, "paragraphs": paras}


# ================================================================== training
def build_training(a: dict[str, Any], figures: Sequence[str] = ()) -> dict[str, Any] | None:
    tr = a.get("training")
    if not tr or not tr.get("loss_history"):
        return None
    phases = []
    labels = {"adam": "Adam steps", "lbfgs": "L-BFGS loss evaluations", "final": "final evaluation"}
    for entry in tr.get("phases") or []:
        try:
            phases.append({"phase": labels.get(str(entry[0]), str(entry[0])), "n": int(entry[1])})
        except (TypeError, ValueError, IndexError):
            continue
    cfg = ((a.get("provenance") or {}).get("config") or {})
    train = cfg.get("train") or {}
    ode = cfg.get("ode") or {}
    text: Rich = ["Full-batch training in float64"]
    if train:
        bits = []
        if train.get("adam_steps") is not None:
            bits.append([f"{train['adam_steps']} Adam steps (learning rate ", sci(train.get("lr"), 3), ")"])
        if train.get("lbfgs_steps") is not None:
            bits.append([f"then L-BFGS with at most {train['lbfgs_steps']} iterations"])
        if bits:
            text.append(": ")
            text.extend(_join_and(bits))
    text.append(".")
    if ode.get("normalise") == "reference" and ode.get("reference_method"):
        text += [" The loss is the one-step error normalised by that of ", Code(str(ode["reference_method"])), " on the same sample"]
        if ode.get("samples"):
            text.append(f", over {ode['samples']} training samples")
        text.append(".")
    if ode.get("taylor_order"):
        text += [f" A Taylor regulariser targets order {ode['taylor_order']} ({ode.get('taylor_mode', 'general')}, weight ", sci(ode.get("taylor_weight"), 3), ")."]
    text += training_objective(a)
    if tr.get("final_loss") is not None:
        text += [" Final loss: ", sci(tr["final_loss"], 4), "."]
    return {"text": text, "phases": phases, "figure": "training" if "training" in figures else None}


# ================================================================== provenance
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def _toml_key(k: str) -> str:
    return k if k and all(ch.isalnum() or ch in "_-" for ch in k) else json.dumps(k)


def config_toml(cfg: dict[str, Any]) -> str:
    """The run configuration as TOML (``None`` values become comments)."""
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict)]
        subs = [(k, v) for k, v in table.items() if isinstance(v, dict)]
        if prefix and (scalars or not subs):
            if lines:
                lines.append("")
            lines.append(f"[{prefix}]")
        for k, v in scalars:
            if v is None:
                lines.append(f"# {_toml_key(str(k))}: not set")
            else:
                lines.append(f"{_toml_key(str(k))} = {_toml_value(v)}")
        for k, v in subs:
            emit(v, f"{prefix}.{_toml_key(str(k))}" if prefix else _toml_key(str(k)))

    emit(cfg, "")
    return "\n".join(lines)


def _wrap_command(cmd: str, width: int = 88) -> str:
    """A shell command wrapped with backslash continuations."""
    words = cmd.split(" ")
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width - 2:
            lines.append(cur + " \\")
            cur = "    " + w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return "\n".join(lines)


BIBTEX = r"""@article{doncevic2024r2n2,
  author  = {Doncevic, Danimir T. and Mitsos, Alexander and Guo, Yue and Li, Qianxiao
             and Dietrich, Felix and Dahmen, Manuel and Kevrekidis, Ioannis G.},
  title   = {A Recursively Recurrent Neural Network ({R2N2}) Architecture for
             Learning Iterative Algorithms},
  journal = {SIAM Journal on Scientific Computing},
  volume  = {46},
  number  = {2},
  year    = {2024},
  eprint  = {2211.12386},
  archivePrefix = {arXiv},
}

@article{guo2022personalized,
  author  = {Guo, Yue and Dietrich, Felix and Bertalan, Tom and Doncevic, Danimir T.
             and Dahmen, Manuel and Kevrekidis, Ioannis G. and Li, Qianxiao},
  title   = {Personalized Algorithm Generation: A Case Study in Learning {ODE}
             Integrators},
  journal = {SIAM Journal on Scientific Computing},
  volume  = {44},
  number  = {4},
  year    = {2022},
  eprint  = {2105.01303},
  archivePrefix = {arXiv},
}"""

REFERENCES = [
    {"authors": "D. T. Doncevic, A. Mitsos, Y. Guo, Q. Li, F. Dietrich, M. Dahmen, I. G. Kevrekidis",
     "title": "A recursively recurrent neural network (R2N2) architecture for learning iterative algorithms",
     "venue": "SIAM J. Sci. Comput. 46(2), 2024", "arxiv": "2211.12386"},
    {"authors": "Y. Guo, F. Dietrich, T. Bertalan, D. T. Doncevic, M. Dahmen, I. G. Kevrekidis, Q. Li",
     "title": "Personalized algorithm generation: a case study in learning ODE integrators",
     "venue": "SIAM J. Sci. Comput. 44(4), 2022", "arxiv": "2105.01303"},
]


def build_provenance(a: dict[str, Any]) -> dict[str, Any]:
    prov = a.get("provenance") or {}
    rows: list[tuple[str, Rich]] = []
    if prov.get("seed") is not None:
        rows.append(("Seed", [str(prov["seed"])]))
    if a.get("algorithm_hash"):
        rows.append(("Algorithm hash", [Code(str(a["algorithm_hash"]))]))
    if prov.get("content_hash") and prov.get("content_hash") != a.get("algorithm_hash"):
        rows.append(("Content hash", [Code(str(prov["content_hash"]))]))
    if a.get("format"):
        rows.append(("Analysis format", [Code(str(a["format"]))]))
    versions = [(str(k), str(v)) for k, v in (prov.get("versions") or {}).items()]
    command = _wrap_command(str(prov["command"])) if prov.get("command") else None
    config = config_toml(prov["config"]) if isinstance(prov.get("config"), dict) else None
    return {"rows": rows, "versions": versions, "command": command, "note": prov.get("note"), "config": config,
            "bibtex": BIBTEX, "references": REFERENCES, "learned": _is_learned(a)}


# ================================================================== assembly
def _with_figures(fn: Callable[..., dict[str, Any] | None]) -> Callable[..., dict[str, Any] | None]:
    fn.uses_figures = True  # type: ignore[attr-defined]
    return fn


SECTIONS: list[Section] = [
    Section("summary", "Summary", build_summary_any),
    Section("algorithm", "The method", build_algorithm, ("runge-kutta",)),
    Section("conditions", "Order conditions", build_conditions, ("runge-kutta",)),
    Section("stability", "Linear stability", _with_figures(build_stability), ("runge-kutta",)),
    Section("accuracy", "Accuracy at equal cost", _with_figures(build_accuracy), ("runge-kutta",)),
    Section("recurrence", "The iteration", build_recurrence, ("krylov",)),
    Section("convergence", "Residual polynomial and convergence factor", _with_figures(build_convergence), ("krylov",)),
    Section("matvecs", "Equal-matvec comparison", _with_figures(build_matvecs), ("krylov",)),
    Section("nliteration", "The iteration", build_nl_iteration, ("newton-krylov",)),
    Section("linearisation", "Linearisation at the solution", _with_figures(build_linearisation), ("newton-krylov",)),
    Section("newton", "Comparison with Newton\u2013Krylov", build_newton, ("newton-krylov",)),
    Section("training", "Training", _with_figures(build_training)),
    Section("provenance", "Provenance and citation", build_provenance),
]


def build_context(a: dict[str, Any], figures: Sequence[str] = ()) -> dict[str, Any]:
    """Title and the list of present sections (``key``, ``title``, ``data``, ``number``)."""
    sections = []
    kind = a.get("kind")
    for sec in SECTIONS:
        if sec.kinds is not None and kind not in sec.kinds:
            continue
        data = sec.build(a, figures) if getattr(sec.build, "uses_figures", False) else sec.build(a)
        if data is None:
            continue
        sections.append({"key": sec.key, "title": sec.title, "data": data, "number": len(sections) + 1})
    subject = {"krylov": "linear solver", "newton-krylov": "nonlinear solver"}.get(str(kind), "integrator")
    return {"title": report_title(a), "name": str(a.get("name", "method")), "kind": kind, "sections": sections,
            "learned": _is_learned(a), "subject": subject}
