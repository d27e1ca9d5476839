"""The method of a Runge-Kutta analysis: one step as formulas and the Butcher tableaux.

:func:`build_algorithm` writes the step ``k_i = f(y_n + h sum_j a_ij k_j)``,
``y_{n+1} = y_n + h sum_j b_j k_j`` with the exact (or float64) coefficients, the tableaux
(exact, float64 at full precision, the learned weights before distillation) and, when a
tableau is too wide for an A4 page, the coefficients one per row for LaTeX. Reads
:class:`~analysis.schema.TableauView`; formatting only. May import :mod:`reports.formatting`,
:mod:`reports.mathtext` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import re
from typing import Any

from ..analysis.schema import AnalysisView, TableauView
from .formatting import Rich
from .mathtext import (
    Math,
    as_float,
    combination_math,
    inline_value_math,
    math_ident,
    num_repr,
    parse_coefficient,
    plain_fences,
    tableau_math,
)

__all__ = ["build_algorithm"]


def _coefs(t: TableauView) -> tuple[list[list[Any]], list[Any], list[Any] | None]:
    A = [[parse_coefficient(x) for x in row] for row in t.A]
    b = [parse_coefficient(x) for x in t.b]
    bh = [parse_coefficient(x) for x in t.b_hat] if t.b_hat is not None else None
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


def _algorithm_math(t: TableauView, explicit: bool) -> Math:
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


def _width_estimate(t: TableauView, floats: bool) -> int:
    """Rough width of a tableau in characters (fractions count their longer line)."""
    def w(x: Any) -> int:
        if floats or isinstance(x, float):
            r = num_repr(x if isinstance(x, float) else as_float(x)).latex
            return len(r.replace(r" \times 10^", "e").replace("{", "").replace("}", ""))
        s = str(x)
        if "/" in s and "sqrt" not in s and " " not in s:
            return max(len(p) for p in s.split("/"))
        return len(s.replace("sqrt", "\u221a").replace(" ", "")) + 1
    A = t.A
    s = len(A)
    widths = [max(w(t.c[i]) for i in range(s))] if t.c else [1]
    for j in range(s):
        col = [A[i][j] for i in range(s)] + [t.b[j]] + ([t.b_hat[j]] if t.b_hat is not None else [])
        widths.append(max(w(x) for x in col))
    return sum(widths) + 2 * len(widths)


def _floats_equal(t1: TableauView, t2: TableauView) -> bool:
    try:
        return (all(float(x) == float(y) for r1, r2 in zip(t1.A, t2.A) for x, y in zip(r1, r2))
                and all(float(x) == float(y) for x, y in zip(t1.b, t2.b)))
    except (TypeError, ValueError):
        return False


def build_algorithm(a: AnalysisView) -> dict[str, Any] | None:
    tab = a.tableau
    if tab is None:
        return None
    rat = a.final_exact
    explicit = a.explicit
    learned = a.learned
    floats_primary = learned and a.primary is not None and a.primary.method == "learned weights" and tab.is_float
    hp = a.distillation.high_precision if (learned and rat is None and a.distillation is not None) else None
    final = tab if floats_primary else (rat if rat is not None else (a.final_tableau_float if hp is not None and a.final_tableau_float else tab))
    intro: Rich = ["One step of size ", Math("h", "<mi>h</mi>"), " from ", math_ident("y", "n"), " to ",
                   math_ident("y", "n+1"), " for ", Math("y' = f(y)", "<mrow><mi>y</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>=</mo><mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>y</mi><mo>)</mo></mrow></mrow>"),
                   " with the ", ("learned float64 (the primary result: more accurate than the distilled method)" if floats_primary
                                  else "exact" if rat is not None else
                                  f"distilled ({hp.label}; shown in float64, {hp.digits} digits in analysis.json)" if hp is not None
                                  else "float64"), " coefficients"]
    if explicit:
        intro.append(" (each stage uses only the stages before it):")
    else:
        intro.append("; the stage equations are implicit and are solved together for all stages (e.g. by Newton's method):")
    notes: list[Rich] = [["For a non-autonomous problem ", Math("y' = f(t, y)", "<mrow><mi>y</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>=</mo><mi>f</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>t</mi><mo>,</mo><mi>y</mi><mo>)</mo></mrow></mrow>"),
                          ", stage ", math_ident("k", "i"), " is evaluated at ",
                          Math("t_n + c_i h", "<mrow><msub><mi>t</mi><mi>n</mi></msub><mo>+</mo><msub><mi>c</mi><mi>i</mi></msub><mo>&#x2062;</mo><mi>h</mi></mrow>"),
                          " with the nodes ", math_ident("c", "i"), " of the tableau."]]
    if final.b_hat is not None:
        notes.append(["The embedded weights ", Math(r"\hat b", "<mover><mi>b</mi><mo>^</mo></mover>"),
                      f" (order {a.embedded_order}) give ", Math(r"\hat y_{n+1}", "<msub><mover><mi>y</mi><mo>^</mo></mover><mrow><mi>n</mi><mo>+</mo><mn>1</mn></mrow></msub>"),
                      "; the difference to ", math_ident("y", "n+1"), " estimates the local error."])
    algo = _algorithm_math(final, explicit)

    tableaux: list[dict[str, Any]] = []
    ffl = a.final_tableau_float or rat  # floats of the exact tableau
    if floats_primary:
        tableaux.append({"caption": "learned float64 weights (the primary result)", "math": tableau_math(tab, floats=True, explicit=explicit),
                         "width": _width_estimate(tab, True)})
    if hp is not None and a.final_tableau_float is not None:
        tableaux.append({"caption": f"distilled onto “{hp.target}”, {hp.label} ({hp.digits} digits in analysis.json; float64 shown)",
                         "math": tableau_math(a.final_tableau_float, floats=True, explicit=explicit),
                         "width": _width_estimate(a.final_tableau_float, True)})
    if rat is not None:
        cap = "exact (distilled)" if a.distillation is not None else ("exact (rationalised)" if tab.is_float else "exact")
        if floats_primary:
            cap = "exact (distilled; less accurate than the learned weights)"
        tableaux.append({"caption": cap, "math": tableau_math(rat, explicit=explicit), "width": _width_estimate(rat, False)})
        if ffl is not None:
            tableaux.append({"caption": "float64 at full precision (repr)", "math": tableau_math(ffl, floats=True, explicit=explicit),
                             "width": _width_estimate(ffl, True)})
        if learned and tab.is_float and not floats_primary and not (ffl is not None and _floats_equal(tab, ffl)):
            tableaux.append({"caption": "learned float64 weights (before distillation)", "math": tableau_math(tab, floats=True, explicit=explicit),
                             "width": _width_estimate(tab, True)})
    elif hp is not None:
        if not floats_primary:
            tableaux.append({"caption": "learned float64 weights (before distillation)", "math": tableau_math(tab, floats=True, explicit=explicit),
                             "width": _width_estimate(tab, True)})
    elif not floats_primary:
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


def _entries(t: TableauView) -> list[Any]:
    out = [x for row in t.A for x in row] + list(t.b) + list(t.c or [])
    return out + list(t.b_hat or [])


def _breakable(ltx: str) -> str:
    """LaTeX of a number with break points every 10 digits (long rationals in a table)."""
    def split(m: re.Match[str]) -> str:
        d = m.group(0)
        return r"\allowbreak ".join(d[i:i + 10] for i in range(0, len(d), 10))

    return re.sub(r"\d{11,}", split, ltx)


def _coefficient_rows(t: TableauView, floats: TableauView | None, explicit: bool,
                      learned: TableauView | None = None) -> list[dict[str, Any]]:
    """Coefficients one per row: symbol, exact value, float64 and, for a learned method, the
    learned float64 weight (for LaTeX when a tableau is too large to typeset as an array).
    Rows where everything is zero are left out."""
    rows = []
    s = len(t.A)
    fl = floats if floats is not None else t

    def get(tab: TableauView | None, key: str, *idx: int) -> Any:
        if tab is None or getattr(tab, key) is None:
            return None
        v = getattr(tab, key)
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

    if t.c is not None:
        for i in range(s):
            add(math_ident("c", str(i + 1)), "c", i)
    for i in range(s):
        for j in range(i if explicit else s):
            add(math_ident("a", f"{i + 1},{j + 1}"), "A", i, j)
    for j in range(s):
        add(math_ident("b", str(j + 1)), "b", j)
    if t.b_hat is not None:
        for j in range(s):
            add(Math(r"\hat b_{" + str(j + 1) + "}", f"<msub><mover><mi>b</mi><mo>^</mo></mover><mn>{j + 1}</mn></msub>"), "b_hat", j)
    return rows


def _generic_algorithm_math(t: TableauView, explicit: bool) -> Math:
    """The step with symbolic coefficients (for tableaux listed coefficient by coefficient)."""
    s = len(t.A)
    upper = "i-1" if explicit else "s"
    lines = [rf"k_i &= f\Bigl(y_n + h \sum_{{j=1}}^{{{upper}}} a_{{ij}}\, k_j\Bigr), \qquad i = 1, \dots, s = {s},",
             r"y_{n+1} &= y_n + h \sum_{j=1}^{s} b_j\, k_j" + ("," if t.b_hat is not None else ".")]
    if t.b_hat is not None:
        lines.append(r"\hat y_{n+1} &= y_n + h \sum_{j=1}^{s} \hat b_j\, k_j.")
    ltx = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    return Math(ltx, "<mtext>see the coefficients below</mtext>", display=True)

