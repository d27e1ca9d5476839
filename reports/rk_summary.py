"""The title and summary of a Runge-Kutta analysis (a learned or a given integrator).

Holds the report title, the problem family in words, the verdicts on the order, on the
distillation and on the identification, and the summary's paragraphs and facts. Reads
:class:`~analysis.schema.AnalysisView`; every number is read, never recomputed. May import
:mod:`reports.formatting`, :mod:`reports.mathtext`, :mod:`reports.rk_accuracy` (the
equal-cost sentences) and :mod:`analysis.schema`.
"""

from __future__ import annotations

from typing import Any

from ..analysis.schema import AnalysisView, IdentificationView, OdeFamilyView, StructureView, TableauView
from .formatting import Rich, in_range_math, join_and, plural, symbol_math
from .mathtext import Code, Math, equation_math, inline_value_math, join_math, sci
from .rk_accuracy import comparison_sentences

__all__ = ["rk_title", "build_summary", "arithmetic", "is_float_tableau"]

_A = Math("A", "<mi>A</mi>")
_B = Math("b", "<mi>b</mi>")
_C = Math("c", "<mi>c</mi>")


def arithmetic(a: AnalysisView) -> str:
    """The arithmetic of the order check; ``"exact"`` when the analysis does not say."""
    return "exact" if a.arithmetic is None else a.arithmetic


def is_float_tableau(t: TableauView | None) -> bool:
    return t is not None and t.is_float


def rk_title(a: AnalysisView) -> str:
    s = a.stage_count
    fam = a.family.name if a.family is not None else None
    kind = "explicit" if a.explicit else "implicit"
    what = f"a {s}-stage {kind} Runge\u2013Kutta method" if s else f"an {kind} Runge\u2013Kutta method"
    if fam and a.learned:
        return f"{a.name}: {what} learned for the family {fam}"
    if fam:
        return f"{a.name}: {what} on the family {fam}"
    return f"{a.name}: order conditions, stability and identity of {what}"


def _eq_list(fam: OdeFamilyView) -> list[Math | Code]:
    out: list[Math | Code] = []
    for eq in fam.equations:
        m = equation_math(eq)
        out.append(m if m is not None else Code(eq))
    return out


def _state_names(fam: OdeFamilyView) -> list[str]:
    names = []
    for eq in fam.equations:
        lhs = eq.split("=")[0].strip().rstrip("'").strip()
        names.append(lhs or "y")
    return names


def _family_rich(fam: OdeFamilyView, ood: bool = False) -> Rich:
    """``square: y' = -a y^2 with a in [0.1, 0.5], y in [1, 3], h in [0.01, 0.1]``."""
    out: Rich = [Code(fam.name), ": "]
    eqs = _eq_list(fam)
    for k, e in enumerate(eqs):
        if k:
            out.append(", ")
        out.append(e)
    ranges = fam.ood_param_ranges if ood else fam.param_ranges
    params = [in_range_math(p, r) for p, r in zip(fam.params, ranges)]
    states = [in_range_math(nm, r) for nm, r in zip(_state_names(fam), fam.state_ranges)]
    clauses: list[Rich] = []
    if params:
        clauses.append(join_and([[m] for m in params]))
    if states:
        clauses.append(["initial " + ("value " if len(states) == 1 else "values ")] + join_and([[m] for m in states]))
    if fam.h_range:
        clauses.append(["step sizes ", in_range_math("h", fam.h_range)])
    for k, c in enumerate(clauses):
        if k == 0:
            out.append(" with ")
        elif k < len(clauses) - 1:
            out.append(", ")
        else:
            out.append(", and " if len(clauses) > 2 else " and ")
        out.extend(c)
    return out


def _order_verdict(a: AnalysisView) -> Rich:
    out: Rich = []
    order = a.order
    arith = arithmetic(a)
    learned = a.learned
    res = a.residuals or {}
    nxt = res.get(str((order or 0) + 1)) if isinstance(order, int) else None
    data = "learned float64 weights" if learned else ("exact coefficients" if arith == "exact" else "float64 coefficients")
    if arith == "exact":
        out += [f"With its {data} it has general order {order}, verified in exact arithmetic"]
    else:
        out += [f"Its {data} satisfy the order conditions up to order {order} within the tolerance ", sci(a.tol, 2)]
    if nxt is not None:
        out += [" (largest residual at order ", str((order or 0) + 1), ": ", sci(nxt, 3), ")"]
    if a.order_reached_cap:
        out.append("; the test stopped at its cap, so the order may be higher")
    out.append(".")
    return out


def _distillation_verdict(a: AnalysisView) -> Rich:
    rat = a.rational
    dist = a.distillation
    floats = is_float_tableau(a.tableau)
    if rat is None:
        hp = dist.high_precision if dist is not None else None
        if hp is not None and a.learned:
            out: Rich = [f"No exact method meets the condition set “{hp.target}” near the learned weights; distillation "
                         f"polished them onto it by Gauss–Newton in {hp.digits}-digit arithmetic (member chosen: "
                         f"{'nearest to the learned weights' if hp.objective == 'nearest' else 'smallest principal error'}), "
                         "moving the entries by at most ", sci(hp.distance, 3), f", with every residual {hp.label} (largest ",
                         sci(hp.residual, 2), f"); its {hp.digits} digits are in analysis.json."]
            if a.personalised_order is not None and a.family is not None:
                out += [f" It has personalised order {a.personalised_order} on ", Code(a.family.name), "."]
            return out
        if floats:
            if dist is not None and dist.log:
                return ["No exact tableau was found near the coefficients (", dist.log[-1], "): the report shows the float64 coefficients."]
            return ["No exact tableau was found: the report shows the float64 coefficients."]
        return []
    out: Rich = []
    fam = a.family.name if a.family is not None else None
    if dist is not None:
        out += ["Distillation onto the condition set \u201c", str(dist.target), "\u201d moved the entries of ", _A, ", ", _B, " and ", _C,
                " by at most ", sci(dist.distance, 3), " and gave the exact tableau below"]
    elif floats:
        out += ["Rationalising the float64 coefficients gave the exact tableau below"]
    else:
        out += ["The method"]
    given_exact = dist is None and not floats
    bits: list[Rich] = []
    if a.exact_order is not None and not given_exact:
        bits.append([f"general order {a.exact_order} (verified in exact arithmetic)"])
    if a.personalised_order is not None and fam:
        bits.append([f"personalised order {a.personalised_order} on ", Code(fam)])
    if a.measured_order is not None:
        bits.append(["measured order ", sci(a.measured_order, 3), " (fitted slope of the one-step error minus one)"])
    if bits:
        out.append("; it has " if dist is not None or floats else " has ")
        out.extend(join_and(bits))
    out.append(".")
    return out if len(out) > 2 else []


def _identification_rich(a: AnalysisView) -> Rich:
    ident = a.identification or IdentificationView()
    name = a.identified_as or ident.identified_as
    closest, dist = ident.closest, ident.distance
    if ident.kind == "method" and name:
        return ["It is the classical method ", Code(name), " (same coefficients)."]
    if name:
        params = ident.parameters
        fam_name = ident.family or name
        if params and fam_name.endswith(")") and " (" in fam_name:
            fam_name = fam_name[: fam_name.rindex(" (")]  # the parameters follow as formulas
        out: Rich = ["It belongs to the ", fam_name]
        if params:
            out.append(" with ")
            out.extend(join_and([[join_math([symbol_math(k), Math("=", "<mo>=</mo>"), inline_value_math(v)])] for k, v in params.items()]))
        if closest:
            out += ["; the closest catalogue method is ", Code(closest), " (largest coefficient difference ", sci(dist, 3), ")"]
        out.append(".")
        return out
    if closest:
        return ["It matches no catalogue method or family; the closest catalogue method is ", Code(closest),
                " (largest coefficient difference ", sci(dist, 3), ")."]
    return ["It matches no catalogue method."]


def build_summary(a: AnalysisView) -> dict[str, Any]:
    s = a.stage_count
    fam = a.family
    st = a.structure or StructureView()
    kind = "explicit" if a.explicit else "implicit"
    learned = a.learned
    paras: list[Rich] = []

    p1: Rich = [Code(a.name), f" is a {s}-stage {kind} Runge\u2013Kutta method"]
    if learned:
        outer = st.outer
        p1.append(" learned by an R2N2 network")
        if fam is not None:
            p1.append(" on the problem family ")
            p1.extend(_family_rich(fam))
        p1.append(".")
        if s or outer:
            p1.append(f" The network has {plural(int(s if st.stages is None else st.stages), 'inner evaluation')}")
            if outer:
                p1.append(f" and was trained with {plural(int(outer), 'outer iteration')}")
                p1.append(" (one time step each)" if int(outer) > 1 else " (one time step)")
            if st.h:
                h = st.h.replace("per sample (time step)", "the time step of each training sample")
                p1 += ["; the scale ", Math("h", "<mi>h</mi>"), f" is {h}"]
            p1.append(".")
    else:
        p1.append(" given with exact coefficients" if a.arithmetic == "exact" else " given with float64 coefficients")
        if fam is not None:
            p1.append(", studied on the problem family ")
            p1.extend(_family_rich(fam))
        p1.append(".")
    paras.append(p1)

    tv = a.training_verdict
    if learned and tv is not None and tv.status != "ok":
        msg = tv.message or f"training did not produce a usable integrator ({tv.status})"
        paras.append([msg[0:1].upper() + msg[1:] + ".", " The analysis below describes these weights as they are; "
                      "discover and analyze exit with code 1 on such a result."])
    tgt = a.target_order
    if learned and tgt is not None and not tgt.reached and tgt.message:
        paras.append([tgt.message[0:1].upper() + tgt.message[1:] + "."])
    prim = a.primary
    if learned and prim is not None and prim.method == "learned weights":
        ci = prim.ci95
        paras.append(["The learned float64 weights are the primary result: the distilled method is less accurate on the family, its "
                      "mean one-step error being ", sci(prim.distilled_over_learned_error, 3), " times theirs",
                      *([" (95% bootstrap interval ", sci(ci[0], 3), " to ", sci(ci[1], 3), f", {prim.n_instances} held-out problems)"]
                        if ci is not None else []), "."])
    p2: Rich = []
    p2 += _order_verdict(a)
    dv = _distillation_verdict(a)
    if dv:
        p2.append(" ")
        p2 += dv
    p2.append(" ")
    p2 += _identification_rich(a)
    paras.append(p2)

    if a.comparison is not None:
        p3 = comparison_sentences(a, "in_distribution")
        if p3:
            paras.append(p3)

    facts: list[tuple[str, Rich]] = []
    if fam is not None:
        facts.append(("Problem family", _family_rich(fam)))
    struct: Rich = [f"{s} stages, {kind}"]
    if st.outer:
        struct.append(f"; {plural(int(st.outer), 'outer iteration')}")
    if st.consistency:
        struct.append(f"; consistency: {st.consistency}")
    facts.append(("Structure", struct))
    facts.append(("General order", [str(a.order), f" ({'learned weights, ' if learned else ''}{arithmetic(a)} arithmetic)"]))
    if a.exact_order is not None and (learned or a.arithmetic != "exact"):
        facts.append(("Exact order", [str(a.exact_order), " (distilled exact tableau)" if a.distillation is not None else " (exact tableau)"]))
    if a.personalised_order is not None and fam is not None:
        v: Rich = [str(a.personalised_order), " on ", Code(fam.name)]
        if a.personalised_order_learned is not None:
            n = a.personalised_order_learned
            v += [f"; the learned float64 weights meet the family's conditions within 1e-6 up to order {n}" if n >= 1
                  else "; the learned float64 weights miss even the family's order-1 condition by more than 1e-6"]
        facts.append(("Personalised order", v))
    if a.measured_order is not None:
        v = [sci(a.measured_order, 3)]
        if a.measured_order_learned is not None:
            v += [" (learned weights: ", sci(a.measured_order_learned, 3), ")"]
        facts.append(("Measured order", v))
    if a.embedded_order is not None:
        facts.append(("Embedded order", [str(a.embedded_order)]))
    if a.stage_order is not None:
        facts.append(("Stage order", [str(a.stage_order)]))
    if a.principal_error_norm is not None:
        facts.append(("Principal error norm", [sci(a.principal_error_norm, 4)]))
    ident = a.identified_as
    if ident and a.identification is not None and a.identification.kind == "method":
        facts.append(("Identified as", [Code(ident)]))
    else:
        facts.append(("Identified as", [ident] if ident else ["no catalogue method or family"]))
    if a.distillation is not None:
        d = a.distillation
        if d.target is not None and d.distance is not None:
            kind_ = "exact" if d.rational is not None else (d.high_precision.label if d.high_precision is not None else "float")
            facts.append(("Distillation target", [d.target, f" ({kind_}); entries of ", _A, ", ", _B, " and ", _C, " moved by at most ",
                                                  sci(d.distance, 3)]))
        else:
            facts.append(("Distillation target", ["none within reach of the learned weights" + (f" ({d.log[-1]})" if d.log else "")]))
    if learned and a.primary is not None:
        facts.append(("Primary result", ["the learned float64 weights (more accurate than the distilled method)"
                                         if a.primary.method == "learned weights" else "the distilled method"]))
    if learned and tv is not None:
        facts.append(("Training verdict", ["usable integrator" if tv.status == "ok" else tv.status]))
    return {"paragraphs": paras, "facts": facts}
