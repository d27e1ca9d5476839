"""The sections of a ``"newton-krylov"`` analysis: a learned iteration for nonlinear systems
``F(x) = 0``, derivative-free or Newton-Krylov with a learned inner solver.

Holds the report title, the summary, the iteration (pseudocode, parameters, residual
polynomial), the linearisation at the solution (spectrum of the Jacobian, local rate) and
the comparison with SciPy's ``newton_krylov`` and Newton with a direct solve. Reads the
``"nonlinear"`` section through :class:`~analysis.schema.NonlinearView`; formatting only.
May import :mod:`reports.formatting`, :mod:`reports.mathtext`, :mod:`reports.solver_math`
and :mod:`analysis.schema`.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..analysis.schema import (
    SETTINGS,
    AnalysisView,
    FactorView,
    LinearisationView,
    NewtonComparisonView,
    NonlinearFamilyView,
    NonlinearView,
    SpectrumView,
    StructureView,
)
from .formatting import Rich, count_math, count_text, fnum, in_range_math, join_and, plural
from .mathtext import Code, Math, join_math, math_text, sci, tableau_math
from .solver_math import (
    EQ,
    ERR,
    FMINUS,
    FX0,
    JSTAR,
    LINSYS,
    MAXQ,
    Q,
    QR,
    coefficients_polynomial_math,
    display_eq,
    family_line,
    h_value,
    lam_at,
    method_label,
    norm,
    normF_le,
    ratio_math,
    ratio_str,
    ratio_verdict,
    root_name,
    spectrum_rich,
)

__all__ = ["nonlinear_title", "build_nonlinear_summary", "build_nl_iteration", "build_linearisation", "build_newton"]


def _mode(a: AnalysisView, nl: NonlinearView) -> str:
    return nl.mode or a.mode or "derivative-free"


def nonlinear_title(a: AnalysisView) -> str:
    nl = a.nonlinear_section or NonlinearView()
    n = a.stages
    fam = nl.family.name if nl.family is not None else None
    where = f" for the nonlinear family {fam}" if fam else " for nonlinear systems"
    if _mode(a, nl) == "newton-krylov":
        inner = f"a learned {n}-stage inner iteration" if n else "a learned inner iteration"
        return f"{a.name}: Newton\u2013Krylov with {inner}{where}"
    return f"{a.name}: a learned derivative-free iteration{where}"


def _setting_ranges(fam: NonlinearFamilyView | None, setting: str) -> Rich:
    if fam is None:
        return []
    conds = [[in_range_math(p, r)] for p, r in zip(fam.params, fam.ranges(setting))]
    return join_and(conds) if conds else []


def _size(fam: NonlinearFamilyView | None) -> Any:
    """The number of unknowns m of the family (for the cost of a finite-difference Jacobian)."""
    return fam.size if fam is not None and fam.size is not None else "m"


def _setting(nl: NonlinearView, setting: str) -> NewtonComparisonView | None:
    return nl.comparison.get(setting) if nl.comparison is not None else None


def _nl_comparison_sentence(nl: NonlinearView, setting: str) -> Rich:
    c = _setting(nl, setting)
    if c is None:
        return []
    med = c.median_evaluations
    succ = c.success
    inst = c.instances
    ranges = _setting_ranges(nl.family, setting)
    where = "in the training range" if setting == "in_distribution" else "out of distribution"
    out: Rich = [f"On {inst} held-out instances {where}"]
    if ranges:
        out += [" (", *ranges, ")"]
    out += [" the learned iteration reaches ", normF_le(c.tol), f" on {succ.get('learned', 0)} of {inst}"]
    if med.get("learned") is not None:
        out += [f" with a median of {count_text(med['learned'])} residual evaluations"]
    out += [f", against {count_text(med.get('newton_krylov'))} for SciPy's ", Code("newton_krylov"), f" at its defaults ({succ.get('newton_krylov', 0)} of {inst} converged)."]
    r = c.median_ratio_learned_to_newton_krylov
    if r is not None:
        rv = fnum(r)
        out += [f" The median over instances of the ratio learned / newton_krylov is {ratio_str(rv)}: the learned iteration needs ",
                ratio_verdict(rv, "fewer residual evaluations than", "more residual evaluations than", "as many residual evaluations as"),
                " newton_krylov on the typical instance."]
    else:
        out.append(" No instance converged for both methods, so there is no ratio.")
    return out


def build_nonlinear_summary(a: AnalysisView) -> dict[str, Any] | None:
    nl = a.nonlinear_section
    if nl is None:
        return None
    name = a.name
    st = a.structure or StructureView()
    fam = nl.family
    mode = _mode(a, nl)
    n = a.stages or st.stages
    e = nl.evaluations_per_outer or st.evaluations_per_outer
    if mode == "newton-krylov":
        p1: Rich = [Code(name), " is a Newton\u2013Krylov iteration for nonlinear systems ", FX0, " whose inner linear solver is learned: each Newton-like "
                    "outer step solves ", LINSYS, f" approximately with a learned {n}-stage polynomial iteration on Jacobian-vector products"]
    else:
        p1 = [Code(name), " is a learned derivative-free iteration for nonlinear systems ", FX0, f": each outer iteration evaluates the residual at {n} nearby points (",
              FMINUS, " in the R2N2 recurrence; the differences stand in for Jacobian products) and combines them with learned weights"]
    if e:
        p1.append(f"; {plural(int(e), 'residual evaluation')} per outer iteration")
    p1.append(".")
    if fam is not None:
        p1 += [" It was trained on the family ", *family_line(fam, sentence=True)]
        if st.outer:
            p1.append(f" with {plural(int(st.outer), 'outer iteration')} unrolled")
        p1.append(".")
    paras: list[Rich] = [p1]
    lin = nl.linearisation or LinearisationView()
    lfac = lin.factor or FactorView()
    if lin.local_rate is not None or lfac.per_outer is not None:
        spec = lin.spectrum or SpectrumView()
        p2: Rich = ["Near a solution the iteration is linear in the error. On the spectrum of the Jacobian ", JSTAR, " (",
                    *spectrum_rich(spec, with_source=False), ", from ", spec.source if spec.source is not None else "the solutions", ") "]
        if mode == "newton-krylov":
            p2 += ["the inner residual factor is ", join_math([MAXQ, EQ, sci(lfac.per_outer, 3)]),
                   "; it is the forcing term of the inexact Newton iteration, so the local rate per Newton step is ", sci(lin.local_rate, 3), "."]
        else:
            p2 += ["the local convergence factor ", MAXQ, " with ", QR, " is ", sci(lin.local_rate, 3), " per outer iteration."]
        paras.append(p2)
    for s in ("in_distribution", "out_of_distribution"):
        sent = _nl_comparison_sentence(nl, s)
        if sent:
            paras.append(sent)
    cin = _setting(nl, "in_distribution") or NewtonComparisonView()
    cout = _setting(nl, "out_of_distribution") or NewtonComparisonView()
    nd = cin.newton_direct_instances or cout.newton_direct_instances
    if nd:
        mi = cin.median_evaluations.get("newton_direct")
        mo = cout.median_evaluations.get("newton_direct")
        p: Rich = [f"Newton's method with a direct solve and a finite-difference Jacobian ({_size(fam)} residual evaluations per Jacobian), run on the first {nd} instances, needs a median of {count_text(mi)} residual evaluations"]
        if cin.newton_direct_jacobians_median is not None:
            p.append(f" ({count_text(cin.newton_direct_jacobians_median)} Jacobians)")
        p.append(" in distribution")
        if mo is not None:
            p.append(f" and {count_text(mo)}")
            if cout.newton_direct_jacobians_median is not None:
                p.append(f" ({count_text(cout.newton_direct_jacobians_median)} Jacobians)")
            p.append(" out of distribution")
        p.append(".")
        paras.append(p)
    rej = [c.safeguard_rejections for c in (cin, cout) if c.safeguard_rejections is not None]
    if rej:
        total = sum(int(r) for r in rej)
        if total == 0:
            sg: Rich = ["The safeguard rejected no outer step of the learned iteration."]
        else:
            sg = [f"The safeguard rejected {plural(total, 'outer step')} of the learned iteration"]
            if len(rej) == 2:
                sg.append(f" ({rej[0]} in distribution, {rej[1]} out of distribution)")
            sg.append(".")
        paras[-1] = paras[-1] + [" "] + sg

    facts: list[tuple[str, Rich]] = []
    if fam is not None:
        facts.append(("Problem family", family_line(fam)))
    facts.append(("Mode", [mode + (" (learned inner polynomial iteration, Jacobian-vector products)" if mode == "newton-krylov"
                                   else " (residual evaluations only)")]))
    struct: Rich = [f"{n} stages"]
    if e:
        struct.append(f", {e} residual evaluations per outer iteration")
    if st.outer:
        struct.append(f", {st.outer} outer iterations in training")
    if nl.h is not None:
        struct += ["; ", *h_value(nl.h, st.h)]
    facts.append(("Structure", struct))
    if lin.local_rate is not None:
        facts.append(("Local rate", [sci(lin.local_rate, 3), " per outer iteration" if mode != "newton-krylov" else " per Newton step"]))
    for s, label in (("in_distribution", "In distribution"), ("out_of_distribution", "Out of distribution")):
        c = _setting(nl, s)
        if c is None:
            continue
        med = c.median_evaluations
        v: Rich = [f"median evaluations learned {count_text(med.get('learned'))}, newton_krylov {count_text(med.get('newton_krylov'))}"]
        if c.median_ratio_learned_to_newton_krylov is not None:
            v.append(f"; median ratio {ratio_str(c.median_ratio_learned_to_newton_krylov)}")
        v.append(f"; converged {c.success.get('learned', 0)} of {c.instances}")
        facts.append((label, v))
    if a.identified_as:
        facts.append(("Identified as", [a.identified_as]))
    return {"paragraphs": paras, "facts": facts}


def build_nl_iteration(a: AnalysisView) -> dict[str, Any] | None:
    nl = a.nonlinear_section
    if nl is None:
        return None
    st = a.structure or StructureView()
    mode = _mode(a, nl)
    if mode == "newton-krylov":
        intro: Rich = ["Outer Newton-like steps ", Math("x_{k+1} = x_k + y_k", "<mrow><msub><mi>x</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo>"
                                                         "<msub><mi>x</mi><mi>k</mi></msub><mo>+</mo><msub><mi>y</mi><mi>k</mi></msub></mrow>"),
                       "; the step solves ", LINSYS, " approximately with a learned polynomial iteration from ",
                       Math("y = 0", "<mrow><mi>y</mi><mo>=</mo><mn>0</mn></mrow>"),
                       ", using Jacobian-vector products (forward mode in training, finite differences at solve time, as in SciPy). "
                       "Cost is counted in residual evaluations: one per F call and one per Jacobian-vector product."]
    else:
        intro = ["The R2N2 recurrence on ", FMINUS, ": residuals at nearby points stand in for Jacobian products, so no derivative is evaluated. "
                 "Cost is counted in residual evaluations."]
    params: list[tuple[str, Rich]] = []
    if nl.h is not None:
        params.append(("Scale h", h_value(nl.h, st.h)))
    e = nl.evaluations_per_outer or st.evaluations_per_outer
    if e:
        params.append(("Evaluations per outer iteration", [str(e)]))
    if mode == "newton-krylov" and st.inner_outer is not None:
        params.append(("Inner passes per Newton step", [str(st.inner_outer)]))
    if st.safeguard_rate is not None:
        sg: Rich = ["accept an outer step only if ", Math(r"\|F(x_{\mathrm{new}})\| \le \rho\, \|F(x)\|",
                                                          "<mrow>" + norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi mathvariant=\"normal\">new</mi></msub><mo>)</mo></mrow>")
                                                          + "<mo>&#x2264;</mo><mi>&#x3c1;</mi><mo>&#x2062;</mo>" + norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow>") + "</mrow>"),
                    " with ", Math(r"\rho = " + sci(st.safeguard_rate, 3).latex, "<mrow><mi>&#x3c1;</mi><mo>=</mo>" + sci(st.safeguard_rate, 3).mathml + "</mrow>")]
        if st.max_backtracks is not None:
            sg.append(f"; a rejected step is halved up to {st.max_backtracks} times")
        params.append(("Safeguard", sg))
    coeffs = nl.linearisation.residual_polynomial_coefficients if nl.linearisation is not None else None
    q = coefficients_polynomial_math(coeffs)
    if mode == "newton-krylov":
        q_text: Rich = ["The inner iteration multiplies the residual of the linearised system by ", QR, ":"]
    else:
        q_text = ["Near a root the error obeys ", ERR, " with ", QR, ", where ", Math("R", "<mi>R</mi>"), " is the stability polynomial of the tableau:"]
    tab = a.tableau
    tableau = None
    if tab is not None:
        tableau = {"math": tableau_math(tab, floats=True, explicit=True),
                   "caption": ["learned weights ", Math("(W, b)", "<mrow><mo>(</mo><mi>W</mi><mo>,</mo><mi>b</mi><mo>)</mo></mrow>"),
                               ", float64 at full precision; as an integrator this tableau has order ", str(a.order),
                               ", which does not matter for the solver"]}
    return {"intro": intro, "structure": nl.structure or "", "params": params, "q_text": q_text,
            "q": display_eq(Q, q) if q is not None else None, "identified": a.identified_as or None,
            "tableau": tableau}


def build_linearisation(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    nl = a.nonlinear_section
    lin = nl.linearisation if nl is not None else None
    if nl is None or lin is None:
        return None
    spec = lin.spectrum or SpectrumView()
    fac = lin.factor or FactorView()
    mode = _mode(a, nl)
    how: Rich = ["Spectrum of the Jacobian ", JSTAR, ": "]
    how += spectrum_rich(spec, with_source=False)
    how += [". Source: ", spec.source if spec.source is not None else "not recorded"]
    if spec.eigenvalue_count:
        how.append(f"; {spec.eigenvalue_count} eigenvalues")
    how.append(".")
    eig = list(lin.eigenvalues_real)
    eig_text: Rich = []
    if eig:
        shown = [sci(v, 4) if not isinstance(v, str) else math_text("\u2026") for v in eig]
        eig_text = ["Real parts of the eigenvalues as listed in the analysis (the smallest, then the largest): "]
        for j, m in enumerate(shown):
            if j:
                eig_text.append(", ")
            eig_text.append(m)
        eig_text.append(".")
    unit = "per Newton step" if mode == "newton-krylov" else "per outer iteration"
    rows: list[tuple[str, Rich]] = [
        ("Factor per outer iteration", [join_math([MAXQ, EQ, sci(fac.per_outer, 4)])]),
        (f"Factor per stage ({root_name(a.stages)})" if a.stages else "Factor per stage", [sci(fac.per_matvec, 4)]),
    ]
    if fac.argmax is not None:
        rows.append(("Maximum attained at", [lam_at(fac.argmax)]))
    if fac.on_eigenvalues is not None:
        rows.append(("Maximum over the eigenvalues", [sci(fac.on_eigenvalues, 4)]))
    if lin.local_rate is not None:
        rows.append(("Local rate", [sci(lin.local_rate, 4), f" {unit}"]))
    if mode == "newton-krylov":
        meaning: Rich = ["The inner iteration reduces the residual of the linearised system by at most ", MAXQ,
                         " per pass near the solution; that reduction is the forcing term of the inexact Newton iteration, so the error of "
                         "the outer iteration shrinks locally by the local rate per Newton step."]
    else:
        meaning = ["Near the solution the error obeys ", ERR, ", so it shrinks by at most ", MAXQ,
                   " over the spectrum per outer iteration: the local rate."]
    note = ["Meaning as recorded in the analysis: \u201c", lin.meaning.rstrip("."), ".\u201d"] if lin.meaning else []
    return {"how": how, "eigenvalues": eig_text, "rows": rows, "meaning": meaning, "note": note,
            "figure": "linearisation" if "linearisation" in figures else None}


def build_newton(a: AnalysisView) -> dict[str, Any] | None:
    nl = a.nonlinear_section
    comps = [(s, c) for s in SETTINGS if nl is not None and (c := _setting(nl, s)) is not None]
    if nl is None or not comps:
        return None
    fam = nl.family
    tables = []
    for s, c in comps:
        ev = c.evaluations
        med = c.median_evaluations
        succ = c.success
        wall = c.wall_time_s
        rows = []
        for m in [m for m in ("learned", "newton_krylov", "newton_direct") if m in med or m in ev] + [m for m in med if m not in ("learned", "newton_krylov", "newton_direct")]:
            n_inst = c.newton_direct_instances if m == "newton_direct" else c.instances
            if n_inst is None:
                n_inst = len(ev.get(m) or ())
            ratio: Math | str | None
            if m == "learned":
                ratio = ratio_math(c.median_ratio_learned_to_newton_krylov) if c.median_ratio_learned_to_newton_krylov is not None else None
            elif m == "newton_krylov":
                ratio = "reference"
            else:
                ratio = None
            jac = c.newton_direct_jacobians_median
            rows.append({"label": method_label(m, a.name), "ref": m == "newton_krylov", "instances": n_inst,
                         "success": f"{succ.get(m, 0)} of {n_inst}", "median": count_math(med.get(m)),
                         "ratio": ratio, "jacobians": count_math(jac) if m == "newton_direct" and jac is not None else None,
                         "wall": sci(wall.get(m), 3) if wall.get(m) is not None else None})
        label = "In distribution" if s == "in_distribution" else "Out of distribution"
        tables.append({"key": s, "label": label, "ranges": _setting_ranges(fam, s), "tol": sci(c.tol, 2), "rows": rows,
                       "rejections": c.safeguard_rejections, "sentence": _nl_comparison_sentence(nl, s)})
    tol = comps[0][1].tol
    intro: Rich = ["Residual evaluations to reach ", normF_le(tol), " (2-norm) from the same starting points, per method: one per evaluation of F and one per "
                   "Jacobian-vector product (what a finite-difference product costs); Newton with a direct solve also counts ",
                   f"{_size(fam)} evaluations per finite-difference Jacobian. SciPy's ", Code("newton_krylov"),
                   " runs at its defaults. Median ratio: the median over instances of the per-instance ratio learned / newton_krylov "
                   "(below 1: the learned iteration needs fewer evaluations). Jacobians: the median number of finite-difference Jacobians "
                   "of Newton with a direct solve. Wall times (s) are totals over the instances each method ran."]
    return {"intro": intro, "tables": tables}

