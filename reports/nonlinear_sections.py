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
    BaselinesView,
    FactorView,
    LinearisationView,
    NewtonComparisonView,
    NonlinearFamilyView,
    NonlinearView,
    SpectrumView,
    StructureView,
)
from .formatting import Rich, count_math, count_text, fnum, in_range_math, join_and, plural, symbol_math
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
    ci_math,
    estimate_rich,
    ratio_math,
    root_name,
    spectrum_rich,
    verdict_label,
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
    if _mode(a, nl) == "jvp":
        return f"{a.name}: a learned Newton-type iteration with exact Jacobian-vector products{where}"
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


def _rate_clause(lin: LinearisationView, unit: str) -> Rich:
    """`` per outer iteration: median 0.02, worst 0.167 at c = 0.9 (a corner ...), over ...``"""
    out: Rich = []
    if lin.local_rate_median is not None:
        out += [f"; {unit} it has a median of ", sci(lin.local_rate_median, 3), " and a worst case of ", sci(lin.local_rate, 3)]
    else:
        out += [f"; {unit} it is ", sci(lin.local_rate, 3)]
    w = lin.worst
    if w is not None and w.params:
        out += [" at ", *join_and([[in_point_math(k, v)] for k, v in w.params.items()])]
        if w.instance == "corner":
            out.append(", a corner of the training range")
    out.append(".")
    return out


def in_point_math(name: str, value: Any) -> Math:
    """``c = 0.9``."""
    return join_math([symbol_math(name), EQ, sci(value, 4)])


_AGAINST = {"fewer": "the learned iteration needs fewer residual evaluations than {m}",
            "more": "the learned iteration needs more residual evaluations than {m}",
            "no significant difference": "the interval contains 1: no significant difference between the learned iteration and {m}"}


def _ratio_verdict(c: NewtonComparisonView, m: str) -> Rich:
    """``1.86 (95 % interval [1.86, 2.14], 100 instances): the learned iteration needs more ...``"""
    e = c.ratios.get(m)
    label = method_label(m, short=True)
    if e is None or e.value is None:
        return ["undefined: no instance was solved by both"]
    verdict = "too few instances for an interval, so no verdict" if e.verdict is None else _AGAINST[e.verdict].format(m=label)
    return [*estimate_rich(e, "instances"), ": ", verdict]


def _against(c: NewtonComparisonView, m: str) -> Rich:
    """``newton_krylov at its defaults (median 17): learned / baseline 0.765 (...): the learned ...``"""
    med = c.median_cost.get(m, c.median_evaluations.get(m))
    return [f"{method_label(m, short=True)} (median {count_text(med)}): learned / baseline ", *_ratio_verdict(c, m)]


def _nl_comparison_sentence(nl: NonlinearView, setting: str) -> Rich:
    c = _setting(nl, setting)
    if c is None:
        return []
    med = c.median_cost or c.median_evaluations
    succ = c.success
    inst = c.instances
    ranges = _setting_ranges(nl.family, setting)
    where = "in the training range" if setting == "in_distribution" else "out of distribution"
    out: Rich = [f"On {inst} held-out instances {where}"]
    if ranges:
        out += [" (", *ranges, ")"]
    out += [" the learned iteration reaches ", normF_le(c.tol), f" on {succ.get('learned', 0)} of {inst}"]
    if med.get("learned") is not None:
        unit = "F-evaluation equivalents (each JVP at its measured cost)" if nl.mode == "jvp" else "residual evaluations"
        out += [f" with a median of {count_text(med['learned'])} {unit}"]
    out.append(".")
    fewest, best = c.fewest, c.best_baseline
    if fewest == "learned":
        out += [" It needs the fewest of all the methods"]
        if best is not None:
            out += ["; against the best baseline, ", *_against(c, best)]
        out.append(".")
    elif fewest is not None:
        label = method_label(fewest, short=True)
        out += [f" The fewest evaluations: {label}, a median of {count_text(med.get(fewest))}; learned / {label} ", *_ratio_verdict(c, fewest), "."]
    if "newton_krylov" in c.ratios and fewest != "newton_krylov":
        out += [" Against SciPy\u2019s ", *_against(c, "newton_krylov"), "."]
    missed = [f"{method_label(m, short=True)} {succ.get(m, 0)} of {inst}" for m in c.methods if succ.get(m, 0) < (inst or 0)]
    if missed:
        out.append(" Converged: " + ", ".join(missed) + "; every other method on all.")
    return out


def _baselines_paragraph(nl: NonlinearView) -> Rich:
    """Which baselines ran, how they were tuned, what an exact Jacobian costs."""
    b = nl.baselines
    if b is None or not b.methods:
        return []
    parts: list[Rich] = []
    for m in b.methods:
        t = b.tuning.get(m)
        opts = ", ".join(f"{k} = {v}" for k, v in (t.options.items() if t is not None else ()) if k != "omega")
        if m == "picard" and t is not None and "omega" in t.options:
            opts = f"\u03c9 = {fnum(t.options['omega']):.4g}"
        parts.append([method_label(m, short=True) + (f" ({opts})" if opts else "")])
    out: Rich = ["The baselines run from the same starting points, every call of F counted by a wrapper: ", *join_and(parts), "."]
    tuned = [t for t in b.tuning.values()]
    if tuned:
        out += [f" The tuned options were chosen on {tuned[0].instances} training instances, never on held-out ones"
                + (f" ({b.tuning_rule})" if b.tuning_rule else "") + "."]
    jc = b.jacobian_cost
    if jc is not None and jc.jacobian_in_F is not None:
        how = "the family\u2019s analytic one" if (jc.jacobian or "").startswith("analytic") else "forward-mode autodiff"
        out += [f" One exact Jacobian ({how}) costs {fnum(jc.jacobian_in_F):.3g} evaluations of F, measured in wall time on this machine "
                f"(it varies between runs), and Newton\u2019s cost counts it so; a finite-difference Jacobian would cost m = {jc.size}. One "
                f"forward-mode Jacobian-vector product (torch.func.jvp) costs {fnum(jc.jvp_in_F):.3g}."]
    if nl.jvp is not None and nl.jvp.jvp_in_F is not None:
        out += [f" The learned iteration and newton_gmres count each exact Jacobian-vector product (forward mode, dual numbers) as "
                f"{fnum(nl.jvp.jvp_in_F):.3g} evaluations of F, as measured for the learned artefact on one instance."]
    return out


def _jvp_order_paragraph(jv: Any) -> Rich:
    """Measured order and local factor over the held-out instances; the predicted scalar order."""
    out: Rich = []
    mo, lf, pg = jv.measured_order, jv.local_factor, jv.predicted_order_generic_scalar
    if mo is not None and mo.median is not None:
        out += [f"Measured local order of convergence over {mo.instances} held-out instances: median ", sci(mo.median, 3),
                ", largest ", sci(mo.worst, 3), "."]
    if lf is not None and lf.median is not None:
        out += [" Local factor per outer step (the last contraction of the residual): median ", sci(lf.median, 3), ", worst ", sci(lf.worst, 3)]
        if lf.worst_params:
            out += [" at ", *join_and([[in_point_math(k, v)] for k, v in lf.worst_params.items()])]
        out.append(".")
    if pg is not None:
        order = str(pg.order) if pg.order is not None else f"above {pg.terms}"
        out += [f" Predicted order on a generic scalar equation (Taylor expansion of one step, exact arithmetic): {order}"]
        if pg.order == 1 and pg.local_factor is not None:
            out += [" with factor ", sci(pg.local_factor, 3)]
        out.append(".")
    pf = jv.predicted_order_family
    if pf is not None:
        out += [f" On the family itself: {pf.order if pf.order is not None else 'above ' + str(pf.terms)}."]
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
    jv = nl.jvp
    if mode == "jvp" and jv is not None:
        p1: Rich = [Code(name), " is a learned Newton-type iteration for nonlinear systems ", FX0, ": its stages (",
                    " ".join(jv.derivatives), ") evaluate F or an exact forward-mode Jacobian-vector product along the previous stage value, "
                    f"combined with learned weights, with a {jv.step_length} step length; one JVP counts "
                    f"{fnum(jv.jvp_in_F):.3g} evaluations of F (measured), "
                    f"{fnum(jv.cost_per_outer):.3g} F-evaluation equivalents per outer step"]
        e = None
    elif mode == "newton-krylov":
        p1 = [Code(name), " is a Newton\u2013Krylov iteration for nonlinear systems ", FX0, " whose inner linear solver is learned: each Newton-like "
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
    if nl.memory is not None:
        mm = nl.memory
        p1 += [f" The outer update also reuses the last {plural(mm.depth, 'iteration')} (memory {mm.depth}, form {mm.form or 'full'}; "
               "the first ones are plain R2N2 steps) with learned weights \u03b2 = ",
               ", ".join(f"{fnum(v):.4g}" for v in mm.betas), " on past differences and \u03b3 = ",
               ", ".join(f"{fnum(v):.4g}" for row in mm.gammas for v in row),
               " on past evaluations: no extra evaluation and no least-squares solve per iteration."]
    paras: list[Rich] = [p1]
    if mode == "jvp" and jv is not None:
        paras.append(_jvp_order_paragraph(jv))
    lin = nl.linearisation or LinearisationView()
    lfac = lin.factor or FactorView()
    if lin.local_rate is not None or lfac.per_outer is not None:
        spec = lin.spectrum or SpectrumView()
        p2: Rich = ["Near a solution the iteration is linear in the error. On the spectrum of the Jacobian ", JSTAR, " (",
                    *spectrum_rich(spec, with_source=False), ", from ", spec.source if spec.source is not None else "the solutions", ") "]
        unit = "per Newton step" if mode == "newton-krylov" else "per outer iteration"
        if mode == "newton-krylov":
            p2 += ["the inner residual factor ", MAXQ, " is the forcing term of the inexact Newton iteration, so it gives the local rate per Newton step"]
        elif lin.memory_recurrence:
            p2 += ["the error obeys the linear recurrence of the memory iteration; its local factor per outer iteration on an eigenvalue "
                   "is the spectral radius of the recurrence\u2019s companion matrix"]
        else:
            p2 += ["the local convergence factor is ", MAXQ, " with ", QR]
        p2 += _rate_clause(lin, unit)
        paras.append(p2)
    for s in ("in_distribution", "out_of_distribution"):
        sent = _nl_comparison_sentence(nl, s)
        if sent:
            paras.append(sent)
    cin = _setting(nl, "in_distribution") or NewtonComparisonView()
    cout = _setting(nl, "out_of_distribution") or NewtonComparisonView()
    bp = _baselines_paragraph(nl)
    if bp:
        paras.append(bp)
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
                                   else " (F and exact Jacobian-vector products)" if mode == "jvp" else " (residual evaluations only)")]))
    struct: Rich = [f"{n} stages"]
    if e:
        struct.append(f", {e} residual evaluations per outer iteration")
    if st.outer:
        struct.append(f", {st.outer} outer iterations in training")
    if nl.h is not None:
        struct += ["; ", *h_value(nl.h, st.h)]
    facts.append(("Structure", struct))
    if lin.local_rate is not None:
        unit = " per outer iteration" if mode != "newton-krylov" else " per Newton step"
        v0: Rich = [sci(lin.local_rate, 3), unit, " in the worst case"]
        if lin.local_rate_median is not None:
            v0 += ["; median ", sci(lin.local_rate_median, 3)]
        if lin.instances:
            v0.append(f"; {lin.instances} instances" + (f" and {lin.corners} corners" if lin.corners else ""))
        facts.append(("Local rate", v0))
    for s, label in (("in_distribution", "In distribution"), ("out_of_distribution", "Out of distribution")):
        c = _setting(nl, s)
        if c is None:
            continue
        med = c.median_cost or c.median_evaluations
        v: Rich = [f"median evaluations learned {count_text(med.get('learned'))}"]
        if c.fewest is not None:
            v.append(f"; fewest: {method_label(c.fewest, short=True)} ({count_text(med.get(c.fewest))})")
        ref = c.best_baseline if c.fewest == "learned" else c.fewest
        e = c.ratios.get(ref) if ref is not None else None
        if e is not None and e.value is not None:
            v += [f"; learned / {method_label(ref, short=True)} ", *estimate_rich(e, "instances")]
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
    if mode == "jvp":
        intro: Rich = ["Each stage evaluates F or an exact Jacobian-vector product (forward-mode AD, in training and at solve time) "
                       "along the previous stage value; the learned weights combine them into a step, whose length is learned or "
                       "chosen to minimise the linearised residual. Cost is counted in F-evaluation equivalents: one per F call and "
                       "the measured cost of one JVP per product."]
    elif mode == "newton-krylov":
        intro = ["Outer Newton-like steps ", Math("x_{k+1} = x_k + y_k", "<mrow><msub><mi>x</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo>"
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
    if mode == "jvp" and nl.jvp is not None:
        params.append(("Cost per outer step", [f"{fnum(nl.jvp.cost_per_outer):.3g} F-evaluation equivalents ({nl.jvp.jvps_per_outer} JVPs at "
                                                f"{fnum(nl.jvp.jvp_in_F):.3g} F each)"]))
    elif e:
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
    coeffs = nl.linearisation.residual_polynomial_coefficients if nl.linearisation is not None and not nl.linearisation.memory_recurrence else None
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
        rows.append(("Local rate, worst case", [sci(lin.local_rate, 4), f" {unit}"]
                     + ([" at ", *join_and([[in_point_math(k, v)] for k, v in lin.worst.params.items()])] if lin.worst is not None and lin.worst.params else [])
                     + ([" (a corner of the training range)"] if lin.worst is not None and lin.worst.instance == "corner" else [])))
    if lin.local_rate_median is not None:
        rows.append(("Local rate, median", [sci(lin.local_rate_median, 4), f" {unit}"]))
    if lin.instances:
        rows.append(("Instances", [f"{lin.instances} held-out" + (f" and {lin.corners} corners of the parameter range" if lin.corners else "")
                                   + (f"; {lin.unsolved} not solved to 1e-12 and left out" if lin.unsolved else "")]))
    if lin.memory_recurrence:
        rows[0] = ("Factor per outer iteration", ["spectral radius of the companion matrix, worst on the hull: ", sci(fac.per_outer, 4)])
        meaning: Rich = ["With memory the error obeys the recurrence ", Code(lin.memory_recurrence),
                         " (\u03bb an eigenvalue of the Jacobian at the solution); it shrinks per outer iteration by the spectral radius of "
                         "its companion matrix, computed on each instance\u2019s own eigenvalues (the local rate)"
                         + (f"; the recurrence is {lin.memory_identified_as}" if lin.memory_identified_as else "") + "."]
    elif mode == "newton-krylov":
        meaning = ["The inner iteration reduces the residual of the linearised system by at most ", MAXQ,
                         " per pass near the solution; that reduction is the forcing term of the inexact Newton iteration, so the error of "
                         "the outer iteration shrinks locally by the local rate per Newton step."]
    else:
        meaning = ["Near the solution the error obeys ", ERR, ", so it shrinks by at most ", MAXQ,
                   " over the spectrum per outer iteration: the local rate. It is computed on each instance\u2019s own eigenvalues; "
                   "the factor over the union of the spectra (on their hull) is the bound for every parameter in the range."]
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
        med = c.median_cost or c.median_evaluations
        succ = c.success
        wall = c.wall_time_s
        rows = []
        for m in c.methods:
            n_inst = c.instances if c.instances is not None else len(c.evaluations.get(m) or ())
            e = c.ratios.get(m)
            jac = [v for v in c.jacobians.get(m, ()) if v is not None]
            jmed = sorted(jac)[len(jac) // 2] if jac else None
            rows.append({"label": method_label(m, a.name), "ref": m == "learned", "instances": n_inst,
                         "success": f"{succ.get(m, 0)} of {n_inst}", "median": count_math(med.get(m)),
                         "ratio": "reference" if m == "learned" else (ratio_math(e.value) if e is not None and e.value is not None else None),
                         "ci": ci_math(e), "verdict": verdict_label(e), "best": m == c.fewest,
                         "jacobians": count_math(jmed) if jmed is not None else None,
                         "wall": sci(wall.get(m), 3) if wall.get(m) is not None else None})
        label = "In distribution" if s == "in_distribution" else "Out of distribution"
        tables.append({"key": s, "label": label, "ranges": _setting_ranges(fam, s), "tol": sci(c.tol, 2), "rows": rows,
                       "rejections": c.safeguard_rejections, "sentence": _nl_comparison_sentence(nl, s)})
    tol = comps[0][1].tol
    b = nl.baselines or BaselinesView()
    jc = b.jacobian_cost
    intro: Rich = ["Cost to reach ", normF_le(tol), " (2-norm) from the same starting points, per method, in evaluations of F, counted by a wrapper "
                   "around F (line searches and finite-difference Jacobian-vector products included)"]
    if jc is not None and jc.jacobian_in_F is not None:
        how = "the family\u2019s analytic Jacobian" if (jc.jacobian or "").startswith("analytic") else "forward-mode autodiff"
        intro.append(f"; Newton with the exact Jacobian also counts each Jacobian as {fnum(jc.jacobian_in_F):.3g} evaluations, its cost measured "
                     f"in wall time ({how}; a finite-difference Jacobian would cost {_size(fam)})")
    if nl.jvp is not None and nl.jvp.jvp_in_F is not None:
        intro.append(f"; the learned iteration and Newton-GMRES also count each exact Jacobian-vector product as {fnum(nl.jvp.jvp_in_F):.3g} "
                     "evaluations (measured in wall time when the learned iteration was trained), so their costs are F-evaluation equivalents")
    depths = sorted({int(m[len("anderson("):-1]) for c in (_setting(nl, s) for s in SETTINGS) if c is not None for m in c.methods
                     if m.startswith("anderson(")}) or [3, 4, 5]
    intro += [". SciPy\u2019s ", Code("newton_krylov"), " runs at its defaults and tuned; ", Code("anderson"),
              f" (depth M = {', '.join(str(d) for d in depths)}) and Picard have their options tuned on training instances, never on held-out ones. "
              "Learned \u00f7 method: the median over the instances both solved of the per-instance ratio learned / method (below 1: the "
              "learned iteration needs fewer), with its 95\u00a0% percentile-bootstrap interval over the instances; the verdict says whether "
              "the learned iteration needs fewer or more evaluations, only where the interval excludes 1 (\u201cno sig. difference\u201d where "
              "it contains 1, \u201cnone\u201d with too few instances for an interval). Jacobians: median exact Jacobians. The method with the fewest evaluations is marked. "
              "Wall times (s) are totals over the instances."]
    return {"intro": intro, "tables": tables}
