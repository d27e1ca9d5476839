"""The summary of a ``"krylov"`` analysis: a learned polynomial iteration for linear systems.

Holds the report title, the summary paragraphs and facts, and the sentences on the
convergence factor against Chebyshev and on the equal-matvec comparison that the
convergence and matvec sections (:mod:`reports.linear_sections`) repeat. Reads the
``"krylov"`` section through :class:`~analysis.schema.KrylovView`; numbers are read and
formatted, never recomputed. May import :mod:`reports.formatting`, :mod:`reports.mathtext`,
:mod:`reports.solver_math` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import math
from typing import Any

from ..analysis.schema import (
    AnalysisView,
    ChebyshevView,
    FactorRatioView,
    FactorView,
    KrylovView,
    MatvecComparisonView,
    NormalisedView,
    SpectrumView,
    StructureView,
)
from .formatting import Rich, count_text, fnum, join_and, plural
from .linear_memory import memory_summary
from .mathtext import Code, Math, join_math, sci
from .solver_math import (
    ABSQ,
    AXB,
    EQ,
    GMRES,
    IDEALISED,
    H,
    MAXQ,
    Q0,
    RK_STEP,
    SUMB,
    X0,
    eq,
    family_line,
    h_value,
    method_label,
    ratio_math,
    ratio_str,
    ci_math,
    estimate_rich,
    relres_le,
    spectrum_rich,
)

__all__ = ["krylov_title", "build_krylov_summary", "objective_note", "matvec_sentences", "eigenvalue_sentence", "start_math"]


def krylov_title(a: AnalysisView) -> str:
    k = a.krylov_section or KrylovView()
    n = k.stages or a.stages
    fam = k.family.name if k.family is not None else None
    what = f"a learned {n}-stage polynomial iteration" if n else "a learned polynomial iteration"
    return f"{a.name}: {what}" + (f" for the linear family {fam}" if fam else " for linear systems")


def _objective(a: AnalysisView, k: KrylovView) -> str | None:
    return (k.objective.name if k.objective is not None else None) or (a.structure.objective if a.structure is not None else None)


def _factor_sentences(k: KrylovView, a: AnalysisView) -> Rich:
    spec = k.spectrum or SpectrumView()
    fac = k.factor or FactorView()
    ch = k.chebyshev or ChebyshevView()
    fr = k.factor_ratio or FactorRatioView()
    n = k.stages or a.stages
    out: Rich = []
    per_outer = fnum(fac.per_outer)
    if spec.real:
        out += ["On ", *spectrum_rich(spec, with_source=False), " its convergence factor is ", join_math([MAXQ, EQ, sci(per_outer, 4)]),
                " per outer iteration (", sci(fac.per_matvec, 4), " per matvec)"]
    else:
        cnt = spec.eigenvalue_count
        out += ["Its spectrum has ", *spectrum_rich(spec, with_source=False), "; on the ", f"{cnt} " if cnt else "", "known eigenvalues its convergence factor is ",
                join_math([MAXQ, EQ, sci(per_outer, 4)]), " per outer iteration (", sci(fac.per_matvec, 4), " per matvec)"]
    if math.isfinite(per_outer) and per_outer >= 1:
        out.append(": at least 1, so the iteration does not converge on the whole spectrum")
    out.append(".")
    if ch.per_outer is not None:
        out += [f" The degree-{n} Chebyshev polynomial, which has the least maximum of ", ABSQ, f" on this interval among degree-{n} polynomials with ", Q0,
                ", reaches ", sci(ch.per_outer, 4), " (", sci(ch.per_matvec, 4), " per matvec)"]
        r, rm = fnum(fr.per_outer), fnum(fr.per_matvec)
        if math.isfinite(r):
            out += [": the learned factor is ", ratio_str(r), " times the optimum per outer iteration"]
            if math.isfinite(rm):
                out += [" (", ratio_str(rm), " times per matvec)"]
        out.append(".")
    ev = eigenvalue_sentence(k)
    if ev:
        out += [" ", *ev]
    note = objective_note(k, a)
    if note:
        out += [" ", *note]
    return out


def objective_note(k: KrylovView, a: AnalysisView) -> Rich:
    """Why the learned factor sits above Chebyshev's (residual objective), or why there is no
    Chebyshev reference (complex spectrum)."""
    spec = k.spectrum or SpectrumView()
    ch = k.chebyshev or ChebyshevView()
    r = fnum(k.factor_ratio.per_outer if k.factor_ratio is not None else None)
    if ch.per_outer is not None:
        if _objective(a, k) == "residual" and math.isfinite(r) and r > 1.02:
            return ["The residual objective averages the residual over the training systems and a few outer iterations instead of "
                    "minimising the maximum of ", ABSQ, ", so its optimum lies above the Chebyshev factor; the minimax and spectral "
                    "objectives target that maximum."]
        return []
    if not spec.real:
        return ["The analysis gives no Chebyshev reference for a complex spectrum: the minimax comparison is made on a real interval."]
    return []


def start_math(k: KrylovView) -> Rich:
    """Where every method starts: ``x0 = 0`` or the stated initial guess."""
    x0 = k.family.x0 if k.family is not None else None
    if x0 is None or x0 == "zero":
        return [X0]
    return ["the stated initial guess ", Math("x_0", "<msub><mi>x</mi><mn>0</mn></msub>")]


_GMRES_VERDICT = {"more": "{label} needs fewer matvecs, though it also computes inner products and stores a Krylov basis, which the learned iteration does not.",
                  "fewer": "the learned iteration needs fewer matvecs than {label}.",
                  "no significant difference": "the interval contains 1: no significant difference between the learned iteration and {label}."}


def matvec_sentences(k: KrylovView, a: AnalysisView, detail: bool = True) -> Rich:
    """What the equal-matvec comparison says: the learned iteration's median, GMRES(n)'s
    count as SciPy spends it with its bootstrap interval and verdict, (``detail``) the other
    baselines grouped by verdict, and the finite-termination caveat."""
    comp = k.comparison or MatvecComparisonView()
    methods = comp.methods
    if "learned" not in methods:
        return []
    ests = comp.ratio_estimates
    L = methods["learned"]
    inst = comp.instances or len(L.matvecs_to_tol)
    out: Rich = [f"On {inst} held-out systems, from ", *start_math(k), " to ", relres_le(comp.tol), ", the learned iteration "]
    if L.median is None:
        out += [f"reaches the tolerance on only {_or(L.reached, 0)} of {inst} within the budget of {comp.matvec_budget} matvecs, "
                "so it has no median matvec count."]
    else:
        out += [f"needs a median of {count_text(L.median)} matvecs"]
        if L.reached is not None and L.reached != inst:
            out.append(f" (reached on {L.reached} of {inst})")
        out.append(".")
    gm = next((m for m in methods if GMRES.match(m.lower())), None)
    if gm is not None:
        n = GMRES.match(gm.lower()).group(1)  # type: ignore[union-attr]
        label = f"GMRES({n})"
        med = methods[gm].median
        e = ests.get(gm)
        spent = (f" Restarted {label} as SciPy\u2019s gmres spends them ({n} Arnoldi steps and one true residual per cycle, "
                 f"{int(n) + 1} in all, counted by wrapping the matvec)")
        if med is None:
            out += [spent + " did not reach the tolerance within the budget on most systems."]
        elif e is None or e.value is None:
            out += [spent + f" needs a median of {count_text(med)} matvecs."]
        else:
            out += [spent + f" needs {count_text(med)}, ", *estimate_rich(e, "systems"), " times as many: "]
            if e.verdict is None:
                out.append("too few systems for an interval, so no verdict.")
            else:
                out.append(_GMRES_VERDICT[e.verdict].format(label=label))
        ideal = next((m for m in methods if IDEALISED.match(m.lower())), None)
        if ideal is not None and methods[ideal].median is not None:
            out.append(f" Counted as {n} per cycle (the restart residual taken from the Arnoldi relation: an idealised count that no "
                       f"code spends) it would need {count_text(methods[ideal].median)}.")
    if detail:
        others = [m for m in methods if m not in ("learned", gm) and not IDEALISED.match(m.lower())]
        groups: dict[str, list[str]] = {"more": [], "fewer": [], "no significant difference": [], None: []}  # type: ignore[dict-item]
        missed = [m for m in others if methods[m].median is None]
        for m in others:
            e = ests.get(m)
            if m in missed or e is None or e.value is None:
                continue
            groups[e.verdict].append(m)  # type: ignore[index]

        def listing(ms: list[str]) -> Rich:
            return join_and([[f"{method_label(m, short=True)} ({count_text(methods[m].median)}; ratio ", *estimate_rich(ests[m], "systems")[:1],
                              *([" ", ci_math(ests[m])] if ci_math(ests[m]) is not None else []), ")"] for m in ms])

        clauses: list[Rich] = []
        for key, verb in (("more", "fewer matvecs than the learned iteration"), ("fewer", "more"),
                          ("no significant difference", "a number of matvecs not significantly different"), (None, "no interval (too few systems)")):
            ms = groups[key]  # type: ignore[index]
            if ms:
                clauses.append(listing(ms) + [f" {'need' if len(ms) > 1 else 'needs'} {verb}" if key is not None else f" {'have' if len(ms) > 1 else 'has'} {verb}"])
        if clauses:
            out.append(" Of the other baselines (ratio: baseline / learned median matvecs with its 95\u00a0% interval), ")
            for j, c in enumerate(clauses):
                if j:
                    out.append("; and " if j == len(clauses) - 1 else "; ")
                out += c
            out.append(".")
        if missed:
            out.append(" " + ", ".join(method_label(m, short=True) for m in missed) + " did not reach the tolerance within the budget on most systems.")
    ft = comp.finite_termination
    if ft is not None and ft.note:
        out.append(" " + ft.note)
    return out


def eigenvalue_sentence(k: KrylovView) -> Rich:
    """Learned against Chebyshev on the known eigenvalues themselves (fixed spectra)."""
    fac, ch, fr, spec = k.factor or FactorView(), k.chebyshev or ChebyshevView(), k.factor_ratio or FactorRatioView(), k.spectrum or SpectrumView()
    r = fnum(fr.on_eigenvalues)
    if not (spec.real and math.isfinite(r) and fac.on_eigenvalues is not None and ch.on_eigenvalues is not None):
        return []
    cnt = spec.eigenvalue_count
    verdict = ("the learned polynomial is the smaller there" if r < 1 else "Chebyshev\u2019s is the smaller there" if r > 1 else "they are equal there")
    return [f"The family\u2019s {cnt} eigenvalues are fixed and known; on them alone " if cnt else "On the known eigenvalues alone ",
            MAXQ, " is ", sci(fac.on_eigenvalues, 4), " for the learned polynomial and ", sci(ch.on_eigenvalues, 4), " for Chebyshev\u2019s, a ratio of ",
            ratio_math(r), f": {verdict} (Chebyshev is optimal on the whole interval, not on a finite set of points in it)."]


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _objective_phrase(obj: str | None, st: StructureView) -> Rich:
    if obj == "residual":
        return ["the residual objective (the published loss)"]
    if obj == "minimax":
        M = st.minimax_outer
        return ["the minimax objective (a soft maximum of the per-system residual reduction" + (f" over {M} outer iterations)" if M else ")")]
    if obj == "spectral":
        return ["the spectral objective (a soft maximum of ", ABSQ, " over the spectral interval)"]
    return [f"the {obj} objective"] if obj else []


def build_krylov_summary(a: AnalysisView) -> dict[str, Any] | None:
    k = a.krylov_section
    if k is None:
        return None
    st = a.structure or StructureView()
    n = k.stages or a.stages
    mv = k.matvecs_per_outer or n
    fam = k.family
    obj = _objective(a, k)
    ms = memory_summary(a, k)
    p1: Rich = [Code(a.name), f" is a learned {n}-stage polynomial iteration for linear systems ", AXB,
                f": one outer iteration costs {plural(int(mv), 'matrix-vector product')} (matvecs) and no inner products, and multiplies the residual by a fixed polynomial, ",
                RK_STEP, " with ", Q0, "."] if ms is None else list(ms[0])
    if fam is not None:
        p1 += [" It was trained on the family ", *family_line(fam, sentence=True)]
        if st.outer:
            p1.append(f" with {plural(int(st.outer), 'outer iteration')} unrolled")
        phrase = _objective_phrase(obj, st)
        if phrase:
            p1 += [" and ", *phrase]
        p1.append(".")
        if fam.rhs is not None and fam.rhs.description:
            p1 += [" Training and held-out right-hand sides: ", fam.rhs.description, "; initial guess ", *start_math(k), "."]
    paras = [p1, _factor_sentences(k, a) if ms is None else ms[1]]
    comp = matvec_sentences(k, a)
    if comp:
        paras.append(comp)

    facts: list[tuple[str, Rich]] = []
    if fam is not None:
        facts.append(("Problem family", family_line(fam)))
    struct: Rich = [f"{n} stages, {mv} matvecs per outer iteration"]
    if st.outer:
        struct.append(f", {st.outer} outer iterations in training")
    if k.h is not None:
        struct += ["; ", *h_value(k.h, st.h)]
    facts.append(("Structure", struct))
    if obj:
        v: Rich = [str(obj)]
        fl = k.objective.final_loss if k.objective is not None else None
        if fl is not None:
            v += ["; final loss ", sci(fl, 4)]
        facts.append(("Objective", v))
    if fam is not None and fam.rhs is not None and fam.rhs.description:
        facts.append(("Right-hand sides", [fam.rhs.description, "; from ", *start_math(k)]))
    if k.spectrum is not None:
        s = spectrum_rich(k.spectrum)
        s[0] = s[0][0].upper() + s[0][1:] if isinstance(s[0], str) else s[0]
        facts.append(("Spectrum", s))
    fac = k.factor or FactorView()
    if ms is not None:
        facts += ms[2]
    facts.append(("Convergence factor" if ms is None else "Start-up step factor",
                  [sci(fac.per_outer, 4), " per outer iteration, ", sci(fac.per_matvec, 4), " per matvec"]))
    ch = k.chebyshev or ChebyshevView()
    fr = k.factor_ratio or FactorRatioView()
    if ch.per_outer is not None:
        v: Rich = [sci(ch.per_outer, 4), " per outer iteration, ", sci(ch.per_matvec, 4), " per matvec; learned / Chebyshev ",
                   ratio_math(fr.per_outer), " (per outer), ", ratio_math(fr.per_matvec), " (per matvec)"]
        if fr.on_eigenvalues is not None:
            v += ["; on the known eigenvalues ", ratio_math(fr.on_eigenvalues)]
        facts.append((f"Chebyshev, degree {n}", v))
    comp_d = k.comparison or MatvecComparisonView()
    meth = comp_d.methods
    if "learned" in meth:
        row: Rich = ["learned ", count_text(meth["learned"].median)]
        for m, d in meth.items():
            if m != "learned":
                row += [f", {method_label(m, short=True).removeprefix('the ')} {count_text(d.median)}"]
        facts.append((f"Median matvecs to {fnum(comp_d.tol):.0e}", row))
        gm = next((m for m in meth if GMRES.match(m.lower())), None)
        e = comp_d.ratio_estimates.get(gm) if gm is not None else None
        if e is not None and e.value is not None:
            v = [*estimate_rich(e, "systems")]
            if e.verdict is not None:
                v.append("; " + {"fewer": "the learned iteration needs fewer", "more": "the learned iteration needs more",
                                 "no significant difference": "no significant difference"}[e.verdict])
            facts.append((f"{method_label(gm, short=True)} / learned matvecs", v))
    if k.identified_as and ms is None:
        facts.append(("Identified as", [k.identified_as]))
    if a.order is not None:
        rk = k.rk_view or NormalisedView()
        v = [f"order {a.order} as an explicit Runge\u2013Kutta method"]
        if rk.h is not None:
            v += [" (tableau normalised to ", SUMB, ", ", eq(H, sci(rk.h, 4)), ")"]
        v.append("; a secondary view")
        facts.append(("Runge\u2013Kutta view", v))
    return {"paragraphs": paras, "facts": facts}
