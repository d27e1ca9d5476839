"""The report of a linear iteration with memory (``krylov.memory`` of analysis.json).

:func:`build_memory` is the section "The iteration with memory": the update with the
learned weights, the residual recurrence ``r_{k+1} = sum_m c_m(A) r_{k-m}`` in closed form,
its asymptotic factor (companion matrix) against the optimal stationary two-step method on
the spectral interval and the memoryless Chebyshev polynomial, and the identification.
:func:`memory_summary` gives the summary's first paragraphs and facts for such a run, and
:func:`memory_note` the sentence that tells the polynomial sections they describe the
start-up step. Reads :class:`~analysis.schema.MemoryIterationView`; formatting only. May
import :mod:`reports.formatting`, :mod:`reports.mathtext`, :mod:`reports.solver_math` and
:mod:`analysis.schema`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import sympy as sp

from ..analysis.schema import AnalysisView, ChebyshevView, KrylovView, MemoryIterationView
from .formatting import Rich, fnum, plural
from .mathtext import Code, Math, join_math, math_ident, parse_expression, sci, expr_math
from .solver_math import AXB, EQ, display_eq, lambda_polynomial_math, ratio_math, spectrum_rich

__all__ = ["build_memory", "memory_summary", "memory_note"]

_RK1 = math_ident("r", "k+1")


def _r(m: int) -> Math:
    return math_ident("r", "k" if m == 0 else f"k-{m}")


def _paren(x: Math) -> Math:
    return Math(r"\left(" + x.latex + r"\right)", f"<mrow><mo>(</mo>{x.mathml}<mo>)</mo></mrow>")


def recurrence_math(mem: MemoryIterationView) -> Math | None:
    """``r_{k+1} = (c_0(lambda)) r_k + (c_1(lambda)) r_{k-1} + ...`` as a formula."""
    rec = mem.recurrence
    if rec is None or not rec.coefficients:
        return None
    parts: list[Math] = []
    for j, c in enumerate(rec.coefficients):
        expr = parse_expression(str(c.sympy)) if c.sympy else None
        if expr is not None and not rec.exact:  # float weights: 6 significant digits, as the text form
            expr = expr.xreplace({f: sp.Float(float(f), 6) for f in expr.atoms(sp.Float)})
        cm = (expr_math(expr.subs(sp.Symbol("lam"), sp.Symbol("lambda")), ascending=True) if expr is not None
              else lambda_polynomial_math(c.sympy, c.latex))
        if cm is None:
            return None
        if j:
            parts.append(Math("+", "<mo>+</mo>"))
        parts += [_paren(cm), _r(c.m)]
    return display_eq(_RK1, join_math(parts))


def _exact(text: str | None) -> Math | None:
    e = parse_expression(str(text)) if text else None
    return expr_math(e) if e is not None else None


def _update_math(M: int) -> Math:
    ltx = (r"x_{k+1} = x_k + h \sum_j b_j v_j^{(k)} + \sum_{m=1}^{" + str(M) + r"} \Big(\beta_m (x_{k-m+1} - x_{k-m})"
           r" + h \sum_j \gamma_{m,j} v_j^{(k-m)}\Big)")
    ml = ("<mrow><msub><mi>x</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo><msub><mi>x</mi><mi>k</mi></msub><mo>+</mo>"
          "<mi>h</mi><munder><mo>&#x2211;</mo><mi>j</mi></munder><msub><mi>b</mi><mi>j</mi></msub><msubsup><mi>v</mi><mi>j</mi>"
          "<mrow><mo>(</mo><mi>k</mi><mo>)</mo></mrow></msubsup><mo>+</mo><munderover><mo>&#x2211;</mo><mrow><mi>m</mi><mo>=</mo><mn>1</mn></mrow>"
          f"<mn>{M}</mn></munderover><mrow><mo>(</mo><msub><mi>&#x3b2;</mi><mi>m</mi></msub><mrow><mo>(</mo><msub><mi>x</mi><mrow><mi>k</mi>"
          "<mo>&#x2212;</mo><mi>m</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>&#x2212;</mo><msub><mi>x</mi><mrow><mi>k</mi><mo>&#x2212;</mo>"
          "<mi>m</mi></mrow></msub><mo>)</mo></mrow><mo>+</mo><mi>h</mi><munder><mo>&#x2211;</mo><mi>j</mi></munder><msub><mi>&#x3b3;</mi>"
          "<mrow><mi>m</mi><mo separator=\"true\">,</mo><mi>j</mi></mrow></msub><msubsup><mi>v</mi><mi>j</mi><mrow><mo>(</mo><mi>k</mi>"
          "<mo>&#x2212;</mo><mi>m</mi><mo>)</mo></mrow></msubsup><mo>)</mo></mrow></mrow>")
    return Math(ltx, ml, True)


def _greek(tex: str, entity: str, sub: str) -> Math:
    m = math_ident("x", sub)
    return Math(tex + m.latex[1:], m.mathml.replace("<mi>x</mi>", f"<mi>{entity}</mi>", 1))


def _weights(mem: MemoryIterationView) -> list[dict[str, Any]]:
    rows = [{"name": math_ident("h"), "value": sci(mem.h, 6)}]
    rows += [{"name": math_ident("b", str(j + 1)), "value": sci(v, 6)} for j, v in enumerate(mem.b)]
    rows += [{"name": _greek(r"\beta", "&#x3b2;", str(m + 1)), "value": sci(v, 6)} for m, v in enumerate(mem.betas)]
    for m, g in enumerate(mem.gammas):
        rows += [{"name": _greek(r"\gamma", "&#x3b3;", f"{m + 1},{j + 1}"), "value": sci(v, 6)} for j, v in enumerate(g)]
    return rows


def build_memory(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    """The section on the iteration with memory, or None for a memoryless run."""
    k = a.krylov_section
    mem = k.memory if k is not None else None
    if k is None or mem is None:
        return None
    n = mem.stages or k.stages or a.stages or 1
    M = mem.memory
    stages = "the residual" if n == 1 else f"the residual and {plural(int(n) - 1, 'further stage')}"
    last = "the last outer iteration" if M == 1 else f"the last {M} outer iterations"
    first = "the first iteration is a plain step" if M == 1 else f"the first {M} iterations are plain steps"
    intro: Rich = [f"Each outer iteration evaluates {stages} ({plural(int(n), 'matvec')}, no inner products) and reuses the iterates and "
                   f"evaluations of {last} (memory form \u201c{mem.form}\u201d; {first} with the same weights):"]
    rec_text: Rich = ["On an eigenvector of ", Math("A", "<mi>A</mi>"), " with eigenvalue ", Math(r"\lambda", "<mi>&#x3bb;</mi>"),
                      " the residual obeys the recurrence" + (" (three terms: memory 1)" if M == 1 else "") + ", in closed form with the learned weights"
                      + (" (exact)" if mem.recurrence is not None and mem.recurrence.exact else " (6 significant digits)") + ":"]
    fac = mem.factor
    rows = []
    if fac is not None:
        rows.append({"label": f"{a.name} (learned, memory {M})", "per_outer": sci(fac.per_outer, 4), "per_matvec": sci(fac.per_matvec, 4),
                     "ratio": ratio_math(mem.factor_ratio) if mem.factor_ratio is not None else None, "ref": False})
    opt = mem.optimal_two_step
    if opt is not None and opt.per_matvec is not None:
        rows.append({"label": "optimal stationary two-step method (optimal heavy ball)", "per_outer": sci(opt.per_matvec, 4),
                     "per_matvec": sci(opt.per_matvec, 4), "ratio": sci(1.0, 3), "ref": True})
    ch = k.chebyshev or ChebyshevView()
    if ch.per_matvec is not None:
        r = fnum(ch.per_matvec) / fnum(opt.per_matvec) if opt is not None and opt.per_matvec else math.nan
        rows.append({"label": f"Chebyshev degree {n}, no memory", "per_outer": sci(ch.per_outer, 4), "per_matvec": sci(ch.per_matvec, 4),
                     "ratio": ratio_math(r) if math.isfinite(r) else None, "ref": False})
    kf = k.factor
    if kf is not None and kf.per_outer is not None:
        r = fnum(kf.per_matvec) / fnum(opt.per_matvec) if opt is not None and opt.per_matvec else math.nan
        rows.append({"label": "the learned start-up step alone (memoryless)", "per_outer": sci(kf.per_outer, 4), "per_matvec": sci(kf.per_matvec, 4),
                     "ratio": ratio_math(r) if math.isfinite(r) else None, "ref": False})
    spec = k.spectrum
    meaning: Rich = ["The asymptotic factor per outer iteration is the largest spectral radius of the recurrence\u2019s companion matrix over ",
                     *(spectrum_rich(spec, with_source=False) if spec is not None else ["the spectrum"]),
                     f"; per matvec its {'' if n == 1 else str(n) + '-th '}root" + (" (one matvec per iteration: the same number)" if n == 1 else "") +
                     ". No stationary two-step method beats ",
                     Math(r"(\sqrt{\kappa} - 1)/(\sqrt{\kappa} + 1)", "<mrow><mrow><mo>(</mo><msqrt><mi>&#x3ba;</mi></msqrt><mo>&#x2212;</mo><mn>1</mn><mo>)</mo></mrow>"
                          "<mo>/</mo><mrow><mo>(</mo><msqrt><mi>&#x3ba;</mi></msqrt><mo>+</mo><mn>1</mn><mo>)</mo></mrow></mrow>"),
                     " per matvec on an interval, the asymptotic factor of Chebyshev semi-iteration."]
    facts: Rich = []
    ex = mem.exact_factor
    if ex is not None and ex.per_outer:
        em = _exact(ex.per_outer)
        if em is not None:
            facts += ["Exactly, the worst factor per outer iteration is ", em, " (the companion roots are complex on the whole interval). "]
    if opt is not None and opt.per_matvec_exact:
        om = _exact(opt.per_matvec_exact)
        if om is not None:
            facts += ["The optimum on the interval is ", om, " ", join_math([Math(r"\approx", "<mo>&#x2248;</mo>"), sci(opt.per_matvec, 6)]),
                      ", with ", join_math([Math(r"\alpha", "<mi>&#x3b1;</mi>"), EQ, sci(opt.alpha, 6)]), " and ",
                      join_math([Math(r"\beta", "<mi>&#x3b2;</mi>"), EQ, sci(opt.beta, 6)]), ". "]
    if mem.identified_as:
        facts += ["Identified as: ", mem.identified_as, "."]
    elif n == 1 and M == 1:
        facts += ["It is not a heavy ball (its memory reuses past evaluations, or a weight has the wrong sign)."]
    return {"intro": intro, "step_math": _update_math(M), "pseudocode": mem.pseudocode or None, "rec_text": rec_text, "recurrence": recurrence_math(mem), "rows": rows,
            "meaning": meaning, "facts": facts or None, "weights": _weights(mem),
            "figure": "memory_factor" if "memory_factor" in figures else None}


def memory_note(k: KrylovView | None) -> Rich | None:
    """For the polynomial sections of a run with memory: what their polynomial is."""
    if k is None or k.memory is None:
        return None
    return ["With memory the residual is not multiplied by one fixed polynomial per iteration: the polynomial here is that of one plain "
            "step with the learned (W, b, h), the start-up step; the iteration itself is analysed in the section on memory."]


def memory_summary(a: AnalysisView, k: KrylovView) -> tuple[Rich, Rich, list[tuple[str, Rich]]] | None:
    """``(first paragraph's opening, factor paragraph, facts)`` of a run with memory, or None."""
    mem = k.memory
    if mem is None:
        return None
    n = mem.stages or k.stages or a.stages or 1
    M = mem.memory
    open_: Rich = [Code(a.name), f" is a learned {n}-stage iteration with memory {M} for linear systems ", AXB,
                   f": one outer iteration costs {plural(int(n), 'matrix-vector product')} (matvecs) and no inner products, and reuses the "
                   f"iterates and evaluations of {'the last outer iteration' if M == 1 else f'the last {M} outer iterations'}."]
    fac = mem.factor
    par: Rich = []
    if fac is not None:
        par += ["Its residual obeys a fixed recurrence with ", plural(M + 1, "term") + " on the right; its asymptotic factor (companion matrix) is ",
                sci(fac.per_matvec, 4), " per matvec"]
        opt = mem.optimal_two_step
        if opt is not None and opt.per_matvec is not None and mem.factor_ratio is not None:
            par += [", ", ratio_math(mem.factor_ratio), " times the optimal stationary two-step factor ", sci(opt.per_matvec, 4),
                    " of the interval (optimal heavy ball; Chebyshev semi-iteration\u2019s asymptotic factor)"]
        ch = k.chebyshev or ChebyshevView()
        if ch.per_matvec is not None:
            par += [f"; without memory the best degree-{n} polynomial reaches ", sci(ch.per_matvec, 4), " per matvec"]
        par.append(".")
    if mem.identified_as:
        par += [" It is a ", mem.identified_as, "."]
    facts: list[tuple[str, Rich]] = [("Memory", [f"M = {M}, form {mem.form}, start-up {mem.startup}"])]
    if fac is not None:
        facts.append(("Asymptotic factor", [sci(fac.per_outer, 4), " per outer iteration, ", sci(fac.per_matvec, 4), " per matvec"]))
    opt = mem.optimal_two_step
    if opt is not None and opt.per_matvec is not None:
        v: Rich = [sci(opt.per_matvec, 4), " per matvec"]
        if mem.factor_ratio is not None:
            v += ["; learned / optimal ", ratio_math(mem.factor_ratio)]
        facts.append(("Optimal two-step", v))
    if mem.identified_as:
        facts.append(("Identified as", [mem.identified_as]))
    return open_, par, facts
