"""The sections of a ``"krylov"`` analysis after its summary: the iteration, the residual
polynomial against Chebyshev, and the equal-matvec comparison.

:func:`build_recurrence` shows the pseudocode, the residual polynomial ``q`` (exact when
found), the distilled polynomial, the roots as Richardson steps and the tableau as a
secondary Runge-Kutta view; :func:`build_convergence` the factors per outer iteration and
per matvec; :func:`build_matvecs` the measured comparison with GMRES(n), CG, Chebyshev and
Richardson. Reads :class:`~analysis.schema.KrylovView`; formatting only. May import
:mod:`reports.formatting`, :mod:`reports.mathtext`, :mod:`reports.solver_math`,
:mod:`reports.linear_summary` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..analysis.schema import AnalysisView, ChebyshevView, FactorRatioView, KrylovView, NormalisedView, PolynomialView, SpectrumView
from .formatting import Rich, count_math, count_text, fnum, plural
from .mathtext import Math, inline_value_math, interval_math, join_math, sci, tableau_math
from .linear_memory import memory_note
from .linear_summary import eigenvalue_sentence, matvec_sentences, objective_note, start_math
from .solver_math import (
    ABSQ,
    EQ,
    LAM_ML,
    MAXQ,
    Q,
    Q0,
    QC,
    QD,
    QR,
    RHS_ML,
    SUMB,
    H,
    ci_math,
    complex_math,
    display_eq,
    eq,
    lam_at,
    lambda_polynomial_math,
    method_label,
    neg,
    percent,
    ratio_math,
    relres_le,
    root_name,
    spectrum_rich,
    verdict_label,
)

__all__ = ["build_recurrence", "build_convergence", "build_matvecs"]


def build_recurrence(a: AnalysisView) -> dict[str, Any] | None:
    """The iteration: pseudocode, residual polynomial (exact), distilled polynomial, roots and
    Richardson steps, and the Runge-Kutta view as a secondary fact."""
    k = a.krylov_section
    if k is None:
        return None
    poly = k.polynomial or PolynomialView()
    n = k.stages or a.stages
    mv = k.matvecs_per_outer or n
    intro: Rich = [f"One outer iteration ({plural(int(mv), 'matvec')}, no inner products) as pseudocode, with the learned weights:"]
    q = lambda_polynomial_math(poly.sympy, poly.latex)
    q_text: Rich = ["Each outer iteration multiplies the residual (and the error) by the residual polynomial ", QR,
                    ", where ", Math("R", "<mi>R</mi>"), " is the stability polynomial of the tableau ",
                    Math("(W, b)", "<mrow><mo>(</mo><mi>W</mi><mo>,</mo><mi>b</mi><mo>)</mo></mrow>"), ":"]
    if poly.exact:
        q_note: Rich = ["Exact coefficients", f" ({poly.source})." if poly.source else "."]
    else:
        q_note = ["The coefficients are those of the learned float64 weights, at full precision; no exact form was found for them."]
    dist = k.distilled
    distilled = None
    if dist is not None and dist.sympy:
        dq = lambda_polynomial_math(dist.sympy, dist.latex)
        if dq is not None:
            text: Rich = ["Snapping the coefficients to short fractions (relative tolerance ", sci(dist.relative_tolerance, 2),
                          ") gives the distilled polynomial"]
            tail: Rich = ["Its convergence factor is ", sci(dist.per_outer, 4), " per outer iteration (", sci(dist.per_matvec, 4),
                          " per matvec), a relative change of ", percent(dist.factor_change), "."]
            distilled = {"text": text + [":"], "math": display_eq(QD, dq), "tail": tail}
    roots = k.roots
    steps = k.richardson_steps
    cheb_roots = k.chebyshev.roots if k.chebyshev is not None else ()
    show_cheb = len(cheb_roots) == len(roots) and all(abs(fnum(r[1])) == 0 for r in cheb_roots if isinstance(r, (list, tuple)))
    rows = []
    for j, r in enumerate(roots):
        rows.append({"k": j + 1, "root": complex_math(r), "step": complex_math(steps[j]) if j < len(steps) else None,
                     "cheb": complex_math(cheb_roots[j]) if show_cheb else None})
    roots_text: Rich = ["The roots ", Math(r"\lambda_i", f"<msub>{LAM_ML}<mi>i</mi></msub>"), " of ", Q,
                        " factor it as ", Math(r"q(\lambda) = \prod_i (1 - \lambda/\lambda_i)",
                                                f"<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{LAM_ML}<mo>)</mo></mrow><mo>=</mo>"
                                                f"<munder><mo movablelimits=\"true\">&#x220f;</mo><mi>i</mi></munder><mrow><mo>(</mo><mn>1</mn><mo>&#x2212;</mo>{LAM_ML}"
                                                f"<mo lspace=\"0\" rspace=\"0\">/</mo><msub>{LAM_ML}<mi>i</mi></msub><mo>)</mo></mrow></mrow>"),
                        ": the same polynomial is reached by Richardson steps ",
                        Math(r"x \leftarrow x + \omega_i (\mathrm{rhs} - Ax)", "<mrow><mi>x</mi><mo>&#x2190;</mo><mi>x</mi><mo>+</mo><msub><mi>&#x3c9;</mi><mi>i</mi></msub>"
                             f"<mo>&#x2062;</mo><mrow><mo>(</mo>{RHS_ML}<mo>&#x2212;</mo><mi>A</mi><mo>&#x2062;</mo><mi>x</mi><mo>)</mo></mrow></mrow>"),
                        " with ", Math(r"\omega_i = 1/\lambda_i", f"<mrow><msub><mi>&#x3c9;</mi><mi>i</mi></msub><mo>=</mo><mn>1</mn><mo lspace=\"0\" rspace=\"0\">/</mo>"
                                       f"<msub>{LAM_ML}<mi>i</mi></msub></mrow>"),
                        " (in exact arithmetic; complex-conjugate pairs combine into real two-matvec steps)."]
    if show_cheb:
        roots_text += [" The last column gives the roots of the Chebyshev polynomial of the same degree on the spectral interval."]
    rk = _rk_view(a, k)
    mnote = memory_note(k)
    if mnote:
        intro = [*mnote, " ", *intro]
    return {"intro": intro, "recurrence": k.recurrence or "", "q_text": q_text,
            "q": display_eq(Q, q) if q is not None else None, "q_note": q_note, "distilled": distilled,
            "roots_text": roots_text if rows else None, "roots": rows, "show_cheb": show_cheb,
            "richardson": k.richardson_form or "", "identified": k.identified_as or None,
            "rk": rk}


def _rk_view(a: AnalysisView, k: KrylovView) -> dict[str, Any] | None:
    """The tableau as an explicit Runge-Kutta method: secondary facts."""
    tab = a.tableau
    rk = k.rk_view or NormalisedView()
    if tab is None:
        return None
    text: Rich = ["The same polynomial, ", QR, ", is the stability polynomial of the tableau ",
                  Math("(W, b)", "<mrow><mo>(</mo><mi>W</mi><mo>,</mo><mi>b</mi><mo>)</mo></mrow>"), " at ", Math(r"z = -h\lambda", f"<mrow><mi>z</mi><mo>=</mo>{neg('<mi>h</mi><mo>&#x2062;</mo>' + LAM_ML)}</mrow>"),
                  ". Normalised to ", SUMB]
    if rk.scale is not None:
        text += [" (", Math("W", "<mi>W</mi>"), " and ", Math("b", "<mi>b</mi>"), " divided by the learned ",
                 join_math([Math(r"\textstyle\sum_j b_j", "<mrow><munder><mo movablelimits=\"true\">&#x2211;</mo><mi>j</mi></munder><msub><mi>b</mi><mi>j</mi></msub></mrow>"),
                            EQ, sci(rk.scale, 4)]), ", ", H, " multiplied by it)"]
    text.append(" it reads as an explicit Runge\u2013Kutta method")
    if rk.h is not None:
        text += [" with step ", eq(H, sci(rk.h, 6))]
    text += [f" of order {a.order}"]
    if a.rk_identified_as:
        text += [" (Runge\u2013Kutta catalogue: ", a.rk_identified_as, ")"]
    text.append(". As a solver only the polynomial matters; this view is secondary.")
    tableaux = [{"caption": "normalised learned tableau, float64", "math": tableau_math(tab, floats=True, explicit=True)}]
    ex = k.exact_tableau
    if ex is not None and ex.tableau is not None:
        cap: Rich = ["exact tableau (", ex.represents if ex.represents is not None else "", ")"]
        if ex.h is not None:
            cap += [" with ", eq(H, inline_value_math(ex.h))]
        tableaux.append({"caption": cap, "math": tableau_math(ex.tableau, explicit=True)})
    for t in tableaux:
        if isinstance(t["caption"], str):
            t["caption"] = [t["caption"]]
    return {"text": text, "tableaux": tableaux}


def build_convergence(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    k = a.krylov_section
    if k is None or k.factor is None:
        return None
    spec = k.spectrum or SpectrumView()
    fac = k.factor
    ch = k.chebyshev or ChebyshevView()
    fr = k.factor_ratio or FactorRatioView()
    n = k.stages or a.stages
    mv = k.matvecs_per_outer or n
    lo, hi = (spec.interval or (math.nan, math.nan))[:2]
    sp_rich = spectrum_rich(spec, with_source=False)
    how: Rich = ["Spectrum: ", sp_rich[0][4:] if spec.real else sp_rich[0], *sp_rich[1:], ". Source: ",
                   spec.source if spec.source is not None else "not recorded"]
    if spec.eigenvalue_count:
        how += [f"; {spec.eigenvalue_count} eigenvalues"]
    how.append(".")
    if spec.exact_interval is False:
        how.append(" The interval is an estimate.")
    meaning: Rich = ["After many outer iterations the residual shrinks by ", MAXQ, " over the spectrum per outer iteration, the convergence factor, "
                     f"and by its {root_name(mv)} per matvec."]
    rows = [{"name": "learned", "label": f"{a.name} (learned)", "per_outer": sci(fac.per_outer, 4),
             "per_matvec": sci(fac.per_matvec, 4), "ratio_outer": ratio_math(fr.per_outer) if fr.per_outer is not None else None,
             "ratio_matvec": ratio_math(fr.per_matvec) if fr.per_matvec is not None else None, "ref": False}]
    dist = k.distilled
    if dist is not None and dist.per_outer is not None:
        rows.append({"name": "distilled", "label": "distilled (short fractions)", "per_outer": sci(dist.per_outer, 4),
                     "per_matvec": sci(dist.per_matvec, 4), "ratio_outer": None, "ratio_matvec": None, "ref": False})
    if ch.per_outer is not None:
        rows.append({"name": "chebyshev", "label": f"Chebyshev, degree {n}", "per_outer": sci(ch.per_outer, 4),
                     "per_matvec": sci(ch.per_matvec, 4), "ratio_outer": sci(1.0, 3), "ratio_matvec": sci(1.0, 3), "ref": True})
    where: Rich = []
    if fac.argmax is not None:
        where = ["The maximum of the learned ", ABSQ, " is attained at ", lam_at(fac.argmax)]
        onev = fac.on_eigenvalues
        ev = eigenvalue_sentence(k)
        if onev is not None and spec.real and not ev and abs(fnum(onev) - fnum(fac.per_outer)) > 1e-12 * max(1.0, abs(fnum(onev))):
            where += ["; on the family's eigenvalues themselves the maximum is ", sci(onev, 4)]
        where.append(".")
        if ev:
            where += [" ", *ev]
    cheb = None
    if ch.sympy or ch.latex:
        qc = lambda_polynomial_math(ch.sympy, ch.latex)
        if qc is not None:
            cheb = {"text": [f"The degree-{n} Chebyshev polynomial on ", interval_math(lo, hi), " (shifted to the interval and scaled to ",
                             Q0, "; ", "exact coefficients" if ch.exact else "float64 coefficients", "):"],
                    "math": display_eq(QC, qc)}
    return {"how": how, "meaning": meaning, "rows": rows, "has_ratio": any(r["ratio_outer"] is not None for r in rows), "where": where,
            "cheb": cheb, "figure": "polynomial" if "polynomial" in figures else None, "real": spec.real,
            "interval": interval_math(lo, hi), "note": memory_note(k) or objective_note(k, a)}


def build_matvecs(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    k = a.krylov_section
    comp = k.comparison if k is not None else None
    if comp is None or not comp.methods:
        return None
    methods = comp.methods
    ratios = comp.ratios
    inst = comp.instances
    order = (["learned"] if "learned" in methods else []) + [m for m in methods if m != "learned"]
    rows = []
    for m in order:
        d = methods[m]
        r = 1.0 if m == "learned" else ratios.get(m)
        e = comp.ratio_estimates.get(m)
        rows.append({"key": m, "label": method_label(m, a.name), "ref": m == "learned",
                     "median": count_math(d.median), "reached": f"{d.reached if d.reached is not None else 0} of {inst}",
                     "ratio": (sci(1.0) if m == "learned" else ratio_math(r)) if r is not None else None, "fewer": r is not None and m != "learned" and fnum(r) < 1,
                     "ci": ci_math(e) if m != "learned" else None, "verdict": verdict_label(e) if m != "learned" else None,
                     "residual": sci(d.residual_at_learned_matvecs, 3) if d.residual_at_learned_matvecs is not None else None,
                     "wall": sci(d.wall_s, 3) if d.wall_s is not None else None})
    intro: Rich = ["Matrix-vector products (matvecs) to reach ", relres_le(comp.tol), f" on {inst} held-out systems of the family, from ",
                   *start_math(k), f", with a budget of {comp.matvec_budget} matvecs per method and system. "]
    if k.family is not None and k.family.rhs is not None and k.family.rhs.description:
        intro += [f"Right-hand sides: {k.family.rhs.description}. "]
    if comp.counting:
        intro += ["Counting: ", comp.counting.rstrip(".") + "."]
    skipped = [(method_label(m), why) for m, why in comp.skipped.items()]
    note: Rich = ["GMRES and CG choose a new polynomial for every system and iteration from inner products; the learned, Chebyshev and "
                  "Richardson iterations apply fixed polynomials and compute no inner products. Wall times are totals over the "
                  f"{inst} systems with a Python/NumPy implementation of each method (SciPy\u2019s for GMRES) and say little about tuned codes."]
    first = methods["learned"].matvecs_to_tol if "learned" in methods else ()
    return {"intro": intro, "rows": rows, "skipped": skipped, "note": note, "sentences": matvec_sentences(k, a),
            "figure": "history" if "history" in figures else None, "first_learned": count_text(first[0]) if first and first[0] is not None else None}

