"""Everything the tool says about a two-derivative Runge-Kutta method, as ``analysis.json``
of kind ``"two-derivative-runge-kutta"``.

A separate kind, not ``"runge-kutta"`` with a flag: a reader that knows only ordinary
tableaux must not mistake ``(A, b)`` of a two-derivative method for a Runge-Kutta method.
The document carries every key an ordinary analysis has (the order conditions are those of
the B-series of the method, the tableau holds ``A2`` and ``b2`` besides ``A`` and ``b``) and
the section ``"two_derivative"``: the stage pattern, the cost of one step in f-evaluation
equivalents and the equal-cost comparison with classical methods.

:func:`analyze_two_derivative` runs the distilling side on one tableau: order (in the
arithmetic of the data), rationalisation or distillation onto exact order conditions,
exact order, identification, stability function ``R(z)`` and its intervals, stage order,
error coefficients; given a family, the personalised order (the family's conditions
applied to the residuals of the method's B-series, as :mod:`analysis.personalised` does for
ordinary tableaux: the local error is ``sum_t h^|t| (Phi(t) - 1/gamma(t)) / sigma(t) F(t)``
with the same elementary differentials), the measured order and the comparison at equal
cost. :meth:`TwoDerivativeAnalysis.text` is the text ``algodiscover check`` prints.
Imports numpy, sympy and analysis modules only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .accuracy import MeasuredOrder, measure_order
from .assessment import ANALYSIS_FORMAT
from .linear_stability import StabilityInfo, stability, stability_of_function
from .rational_stability import stability_function_from_expression
from .methods import catalogue, get_method
from .numbers import format_exact
from .odefamily import OdeFamilySpec
from .order import ConditionSet, OrderReport, general_conditions
from .personalised import PersonalisedOrder, personalised_conditions
from .rationals import rationalize_value
from .rooted_trees import tree_table
from .two_derivative import TwoDerivativeTableau, two_derivative_order, two_derivative_residuals, two_derivative_stability_function
from .two_derivative_accuracy import (COUNT_COST, DerivativeCost, EqualCostComparison, EqualCostMethod, compare_at_equal_cost,
                                      measure_two_derivative_order)
from .two_derivative_distillation import TwoDerivativeDistillation, distill_two_derivative
from .two_derivative_methods import (TwoDerivativeIdentification, identify_two_derivative, pattern_of, two_derivative_catalogue,
                                     two_derivative_principal_error, two_derivative_stage_order, two_derivative_weight_formula)

__all__ = ["TWO_DERIVATIVE_KIND", "TwoDerivativeAnalysis", "analyze_two_derivative", "two_derivative_personalised_order",
           "two_derivative_stability", "two_derivative_targets", "EQUAL_COST_BASELINES", "format_two_derivative_tableau",
           "two_derivative_summary"]

TWO_DERIVATIVE_KIND = "two-derivative-runge-kutta"
#: The classical methods of the equal-cost comparison (explicit, 4 stages, order 4).
EQUAL_COST_BASELINES = ("RK4", "3/8-rule", "Ralston4")
_CONDITION_TABLE_CAP = 6
_LOOSE_TOL = 1e-6


# ----------------------------------------------------------------------------- pieces
def two_derivative_stability(t: TwoDerivativeTableau) -> StabilityInfo:
    """``R(z)`` (:func:`analysis.two_derivative.two_derivative_stability_function`) with the
    real and imaginary stability intervals and the plot window, found as for ordinary
    tableaux (:func:`analysis.linear_stability.stability_of_function`: exact root isolation
    for rational coefficients)."""
    return stability_of_function(stability_function_from_expression(two_derivative_stability_function(t)))


def two_derivative_personalised_order(t: TwoDerivativeTableau, spec: OdeFamilySpec, *, max_order: int = 8,
                                      tol: float | None = None) -> PersonalisedOrder:
    """Largest p such that the family's conditions (:func:`analysis.personalised_conditions`)
    hold for the method's residuals up to order p (exactly for exact tableaux, within ``tol``,
    default 1e-10, otherwise)."""
    exact = t.is_exact
    tab = tree_table(max_order)
    res = two_derivative_residuals(t, max_order, exact=exact)
    conds_n: dict[int, int] = {}
    trees_n: dict[int, int] = {}
    res_n: dict[int, float] = {}
    order = 0
    limit = 1e-10 if tol is None else tol
    for n in range(1, max_order + 1):
        blk = personalised_conditions(spec, n).blocks[-1]
        r = res[tab.offsets[n]:tab.offsets[n + 1]]
        trees_n[n], conds_n[n] = len(r), blk.count
        if exact:
            rows = blk.rows if blk.rows is not None else [tuple(int(i == k) for i in range(len(r))) for k in range(len(r))]
            vals = [_exact_zero_form(sum((sp.Rational(w.numerator, w.denominator) * v for w, v in zip(row, r) if w), sp.Integer(0)))
                    for row in rows]
            ok = all(v == 0 for v in vals)
            res_n[n] = max((abs(float(v)) for v in vals), default=0.0)
        else:
            vals_f = blk.matrix() @ np.asarray(r, dtype=np.float64) if blk.count else np.zeros(0)
            res_n[n] = float(np.max(np.abs(vals_f))) if vals_f.size else 0.0
            ok = res_n[n] <= limit
        if not ok:
            break
        order = n
    return PersonalisedOrder(order, spec.name, conds_n, trees_n, res_n, exact)


def _exact_zero_form(x: sp.Expr) -> sp.Expr:
    """An exact number in a form where ``== 0`` decides zero (rationals as they are)."""
    return x if isinstance(x, sp.Rational) else sp.simplify(x)


def two_derivative_targets(t: TwoDerivativeTableau, family: OdeFamilySpec | None, max_personalised: int = 6) -> list[ConditionSet]:
    """Condition sets to distil a learned method onto, most ambitious first (as
    :func:`analysis.learned_targets`): personalised order p with general order g <= p, then
    general orders; general orders at most ``min(2 s, 8)`` (an explicit s-stage method has a
    stability polynomial of degree <= 2 s)."""
    gmax = min(2 * t.stages, 8)
    targets: list[ConditionSet] = []
    if family is not None:
        for p in range(max_personalised, 0, -1):
            for g in range(min(p, gmax), 0, -1):
                targets.append(general_conditions(g) if g >= p else personalised_conditions(family, p) + general_conditions(g))
    else:
        targets = [general_conditions(g) for g in range(gmax, 0, -1)]
    seen, out = set(), []
    for c in targets:
        if c.name not in seen:
            seen.add(c.name)
            out.append(c)
    return out


def _rationalise_direct(t: TwoDerivativeTableau) -> TwoDerivativeTableau | None:
    """Every entry as the simplest exact number within 1e-14 (None when one has none)."""
    parts: dict[str, Any] = {}
    for k in ("A", "b", "A2", "b2"):
        arr = getattr(t, k)
        conv = [rationalize_value(float(v)) for v in arr.ravel()]
        if any(v is None for v in conv):
            return None
        parts[k] = np.array(conv, dtype=object).reshape(arr.shape).tolist()
    exact = TwoDerivativeTableau(parts["A"], parts["b"], parts["A2"], parts["b2"], name=t.name)
    return exact if two_derivative_order(exact).order >= two_derivative_order(t).order else None


def _tableau_json(t: TwoDerivativeTableau) -> dict[str, Any]:
    d = t.to_dict()
    d["c"] = [format_exact(sum(r, sp.Integer(0))) for r in t.exact["A"]] if t.exact is not None else t.c.tolist()
    return d


def _float_json(t: TwoDerivativeTableau) -> dict[str, Any]:
    return {"A": t.A.tolist(), "b": t.b.tolist(), "c": t.c.tolist(), "A2": t.A2.tolist(), "b2": t.b2.tolist()}


def _condition_rows(t: TwoDerivativeTableau, max_order: int, tol: float | None) -> list[dict[str, Any]]:
    tab = tree_table(max_order)
    N = tab.offsets[max_order + 1]
    formulas = two_derivative_weight_formula(max_order)
    exact = t.is_exact
    res = two_derivative_residuals(t, max_order, exact=exact)
    limit = tol if tol is not None else 1e-12 * max(1.0, *(float(np.max(np.abs(getattr(t, k)))) for k in ("A", "b", "A2", "b2")))
    rows = []
    for i in range(N):
        tree, g, sg = tab.trees[i], tab.gamma[i], tab.sigma[i]
        if exact:
            r = _exact_zero_form(res[i])
            phi = r + sp.Rational(1, g)
            rf = float(sp.N(r, 30))
            ok = r == 0
            phi_exact = format_exact(phi)
        else:
            rf = float(res[i])
            phi = rf + 1.0 / g
            ok = abs(rf) <= limit
            phi_exact = None
        rows.append({"order": tree.order, "tree": tree.bracket(), "levels": list(tree.levels), "formula": formulas[i],
                     "phi": float(phi), "phi_exact": phi_exact, "inv_gamma": f"1/{g}" if g != 1 else "1", "residual": rf,
                     "tau": rf / sg, "satisfied": bool(ok)})
    return rows


# ----------------------------------------------------------------------------- the analysis
@dataclass(frozen=True)
class TwoDerivativeAnalysis:
    """Result of :func:`analyze_two_derivative`; :meth:`to_json` gives ``analysis.json``."""

    name: str
    tableau: TwoDerivativeTableau
    pattern: tuple[str, ...]
    order: OrderReport
    rational: TwoDerivativeTableau | None
    exact_order: OrderReport | None
    identification: TwoDerivativeIdentification
    stability: StabilityInfo
    stage_order: int
    principal_error: float | None
    conditions: tuple[dict[str, Any], ...]
    conditions_order: int
    cost: DerivativeCost
    distillation: TwoDerivativeDistillation | None = None
    personalised: PersonalisedOrder | None = None
    personalised_learned: PersonalisedOrder | None = None
    measured: MeasuredOrder | None = None
    measured_learned: MeasuredOrder | None = None
    measured_classical: dict[str, MeasuredOrder] = field(default_factory=dict)
    equal_cost: EqualCostComparison | None = None
    family: OdeFamilySpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> TwoDerivativeTableau:
        return self.rational if self.rational is not None else self.tableau

    @property
    def final_pattern(self) -> tuple[str, ...]:
        return pattern_of(self.final)

    def to_json(self) -> dict[str, Any]:
        fin = self.final
        base = catalogue()["RK4"]
        d: dict[str, Any] = {
            "format": ANALYSIS_FORMAT,
            "kind": TWO_DERIVATIVE_KIND,
            "name": self.name,
            "stages": self.tableau.stages,
            "explicit": self.tableau.is_explicit,
            "order": self.order.order,
            "tol": self.order.tol,
            "arithmetic": "exact" if self.order.exact else "float64",
            "residuals": self.order.residuals_json(),
            "order_reached_cap": self.order.reached_cap,
            "embedded_order": None,
            "tableau": _tableau_json(self.tableau),
            "rational": None if self.rational is None else _tableau_json(self.rational),
            "exact_order": None if self.exact_order is None else self.exact_order.order,
            "exact_residuals": None if self.exact_order is None else self.exact_order.residuals_json(),
            "identified_as": self.identification.name,
            "identification": self.identification.to_json(),
            "distillation": None if self.distillation is None else self.distillation.to_json(),
            "stage_order": self.stage_order,
            "principal_error_norm": self.principal_error,
            "stability": self.stability.to_json(),
            "conditions_order": self.conditions_order,
            "conditions": [dict(r) for r in self.conditions],
            "final_tableau_float": _float_json(fin),
            "baseline": {"name": base.name, "order": base.order, "stability": stability(base.tableau).to_json()},
        }
        pattern = list(self.pattern)
        fin_pattern = list(self.final_pattern)
        td: dict[str, Any] = {
            "derivatives": pattern,
            "final_derivatives": fin_pattern,
            "cost": {**self.cost.to_json(), "per_step": self.cost.per_step(fin_pattern),
                     "per_step_learned": self.cost.per_step(pattern), "count": DerivativeCost.count(fin_pattern)},
            "equal_cost": None if self.equal_cost is None else self.equal_cost.to_json(),
        }
        d["two_derivative"] = td
        if self.family is not None:
            d["family"] = self.family.to_json()
        if self.personalised is not None:
            d["personalised_order"] = self.personalised.order
            d["personalised"] = self.personalised.to_json()
        if self.personalised_learned is not None:
            d["personalised_order_learned"] = self.personalised_learned.order
        if self.measured is not None:
            d["measured_order"] = _finite_or_none(self.measured.order)
            d["measured"] = self.measured.to_json()
        if self.measured_learned is not None:
            d["measured_order_learned"] = _finite_or_none(self.measured_learned.order)
            d["measured_learned"] = self.measured_learned.to_json()
        if self.measured_classical:
            d["measured_classical"] = {k: v.to_json() for k, v in self.measured_classical.items()}
        d.update(self.extra)
        return d

    def text(self) -> str:
        """The report ``algodiscover check`` prints for a two-derivative tableau."""
        t = self.tableau
        data = "exact coefficients" if t.is_exact else "float64 coefficients"
        kind = "explicit" if t.is_explicit else "implicit"
        out = [f"{self.name}  ({t.stages} stages, {kind}, two-derivative: {' '.join(self.pattern)}, {data})", "",
               format_two_derivative_tableau(self.final), ""]
        arith = "exact arithmetic" if self.order.exact else f"float64, tol {self.order.tol:.3g}"
        cap = " (reached the cap; may be higher)" if self.order.reached_cap else ""
        out.append(f"order: {self.order.order}{cap}   [{arith}]")
        out.append("  order  trees  max |Phi(t) - 1/gamma(t)|")
        for n, r in sorted(self.order.max_residuals.items()):
            out.append(f"  {n:>5}  {tree_table(n).offsets[n + 1] - tree_table(n).offsets[n]:>5}  {r:.3g}")
        if self.rational is not None and not t.is_exact:
            eo = self.exact_order.order if self.exact_order is not None else None
            how = f"distilled onto {self.distillation.target}" if self.distillation is not None else "rationalised"
            out.append(f"exact tableau ({how}): order {eo} in exact arithmetic (shown above)")
        out.append(f"stability: R(z) = {self.stability.R_ascending}")
        lo, hi = self.stability.real_interval[0], self.stability.imag_limit
        out.append(f"  real interval [{lo:.4g}, 0], imaginary interval [-{hi:.4g} i, {hi:.4g} i]")
        out.append(f"stage order: {self.stage_order}")
        ident = self.identification
        out.append(f"identified as: {ident.name}" if ident.name else
                   f"identified as: no catalogue method (closest {ident.closest}, distance {ident.distance:.3g})" if ident.closest else
                   "identified as: no catalogue method")
        c = self.cost
        out.append(f"cost per step: {c.per_step(self.final_pattern):.3g} f-evaluation equivalents ({c.source}; "
                   f"count {DerivativeCost.count(self.final_pattern)['f']} f + {DerivativeCost.count(self.final_pattern)['jvp']} jvp)")
        return "\n".join(out)


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def format_two_derivative_tableau(t: TwoDerivativeTableau) -> str:
    """``c | A | A2`` over ``b | b2`` as text (exact entries when there are, else floats)."""
    s = t.stages

    def cells(key: str) -> list[list[str]] | list[str]:
        if t.exact is not None:
            v = t.exact[key]
            return [[format_exact(x) for x in r] for r in v] if key in ("A", "A2") else [format_exact(x) for x in v]
        arr = getattr(t, key)
        return [[repr(float(x)) for x in r] for r in arr] if arr.ndim == 2 else [repr(float(x)) for x in arr]

    A, A2, b, b2 = cells("A"), cells("A2"), cells("b"), cells("b2")
    c = [format_exact(sum(r, sp.Integer(0))) for r in t.exact["A"]] if t.exact is not None else [repr(float(x)) for x in t.c]
    if t.is_explicit:
        A = [[x if j < i else "" for j, x in enumerate(r)] for i, r in enumerate(A)]
        A2 = [[x if j < i else "" for j, x in enumerate(r)] for i, r in enumerate(A2)]
    cw = max(len(x) for x in c)
    w1 = [max([len(A[i][j]) for i in range(s)] + [len(b[j])]) for j in range(s)]
    w2 = [max([len(A2[i][j]) for i in range(s)] + [len(b2[j])]) for j in range(s)]

    def line(left: str, r1: list[str], r2: list[str]) -> str:
        p1 = "  ".join(f"{x:<{w}}" for x, w in zip(r1, w1))
        p2 = "  ".join(f"{x:<{w}}" for x, w in zip(r2, w2))
        return f"  {left:>{cw}} | {p1} | {p2}".rstrip()

    lines = ["  " + " " * cw + "   A" + " " * max(1, sum(w1) + 2 * (s - 1) - 1) + " | A2"]
    lines += [line(c[i], A[i], A2[i]) for i in range(s)]
    lines.append("  " + "-" * cw + "-+-" + "-" * (sum(w1) + 2 * (s - 1)) + "-+-" + "-" * (sum(w2) + 2 * (s - 1)))
    lines.append(line("", b, b2) + "    (b | b2)")
    return "\n".join(lines)


def analyze_two_derivative(
    tableau: TwoDerivativeTableau,
    *,
    pattern: Sequence[str] | None = None,
    max_order: int | None = None,
    tol: float | None = None,
    family: OdeFamilySpec | None = None,
    learned: bool = False,
    targets: Sequence[ConditionSet] | None = None,
    cost: DerivativeCost | None = None,
    measure: bool | None = None,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> TwoDerivativeAnalysis:
    """Analyse a two-derivative tableau (hand-made or learned).

    Parameters
    ----------
    pattern : the stage pattern the method was built with (default: its nonzeros); decides
        which coefficients distillation may move and the cost of the learned weights.
    max_order, tol : passed to :func:`analysis.two_derivative.two_derivative_order`.
    family : adds personalised order, measured order and the equal-cost comparison.
    learned : distil the floats onto ``targets`` (default :func:`two_derivative_targets`).
    cost : the measured cost of g (default: the flop-free count, :data:`COUNT_COST`).
    """
    name = name or tableau.name or f"{tableau.stages}-stage two-derivative method"
    pat = tuple(pattern) if pattern is not None else pattern_of(tableau)
    cost = cost or COUNT_COST
    rep = two_derivative_order(tableau, max_order=max_order, tol=tol)
    distillation = None
    rational = tableau if tableau.is_exact else _rationalise_direct(tableau)
    if rational is None:
        if targets is None:
            if learned:
                targets = two_derivative_targets(tableau, family)
            else:
                loose = two_derivative_order(tableau, max_order=max_order, tol=max(tol or 0.0, _LOOSE_TOL)).order
                targets = [general_conditions(loose)] if loose >= 1 else []
        distillation = distill_two_derivative(tableau, targets, pattern=pat)
        rational = distillation.exact
    if rational is not None and rational.name != name:
        rational = TwoDerivativeTableau.from_dict({**rational.to_dict(), "name": name})
    exact_rep = two_derivative_order(rational, max_order=max_order) if rational is not None else None
    final = rational if rational is not None else tableau
    fin_order = exact_rep.order if exact_rep is not None else rep.order
    cond_order = max(1, min(fin_order + 1, _CONDITION_TABLE_CAP))
    ident = identify_two_derivative(final)
    pers = pers_l = meas = meas_l = None
    meas_c: dict[str, MeasuredOrder] = {}
    comp = None
    if family is not None:
        pers = two_derivative_personalised_order(final, family)
        if learned:
            pers_l = two_derivative_personalised_order(tableau, family, tol=_LOOSE_TOL)
        if (measure if measure is not None else True) and final.is_explicit:
            meas = measure_two_derivative_order(final, family)
            learned_copy = None
            if learned and rational is not None:
                learned_copy = TwoDerivativeTableau.from_dict({**{k: getattr(tableau, k).tolist() for k in ("A", "b", "A2", "b2")},
                                                               "name": f"{name} (learned weights)"})
                meas_l = measure_two_derivative_order(learned_copy, family)
            meas_c = {"RK4": measure_order(get_method("RK4"), family)}
            ref = EqualCostMethod(name, final, cost.per_step(pattern_of(final)), fin_order)
            others = []
            if learned_copy is not None:
                others.append(EqualCostMethod(learned_copy.name or "", learned_copy, cost.per_step(pat), rep.order))
            for cname, (ct, corder, _, _) in two_derivative_catalogue().items():
                if ct.stages == final.stages and ident.name != cname:
                    others.append(EqualCostMethod(cname, ct, cost.per_step(pattern_of(ct)), corder))
            for bname in EQUAL_COST_BASELINES:
                e = catalogue()[bname]
                others.append(EqualCostMethod(bname, e.tableau, float(e.stages), e.order))
            comp = compare_at_equal_cost(ref, others, family, cost_source=cost.source)
    return TwoDerivativeAnalysis(
        name=name, tableau=tableau, pattern=pat, order=rep, rational=rational, exact_order=exact_rep, identification=ident,
        stability=two_derivative_stability(final), stage_order=two_derivative_stage_order(final),
        principal_error=two_derivative_principal_error(final, fin_order), conditions=tuple(_condition_rows(final, cond_order, tol)),
        conditions_order=cond_order, cost=cost, distillation=distillation, personalised=pers, personalised_learned=pers_l,
        measured=meas, measured_learned=meas_l, measured_classical=meas_c, equal_cost=comp, family=family, extra=dict(extra or {}),
    )


def two_derivative_summary(analysis: dict[str, Any]) -> list[str]:
    """The lines ``algodiscover discover`` prints for a learned two-derivative method (from
    its ``analysis.json``)."""
    td = analysis.get("two_derivative") or {}
    lines = [f"learned {analysis['stages']}-stage two-derivative integrator '{analysis['name']}' (stages: {' '.join(td.get('derivatives', []))})"]
    if analysis.get("rational"):
        t = TwoDerivativeTableau.from_dict({k: v for k, v in analysis["rational"].items() if k != "c"})
        lines += ["distilled exact tableau:", format_two_derivative_tableau(t)]
    fam = (analysis.get("family") or {}).get("name")
    line = f"general order {analysis.get('exact_order', analysis['order'])}"
    if analysis.get("personalised_order") is not None and fam:
        line += f", personalised order {analysis['personalised_order']} on {fam}"
    if analysis.get("measured_order") is not None:
        line += f", measured order {analysis['measured_order']:.2f}"
    lines.append(line)
    if analysis.get("identified_as"):
        lines.append(f"identified as: {analysis['identified_as']}")
    cost = td.get("cost") or {}
    if cost:
        lines.append(f"cost per step: {cost['per_step']:.3g} f-evaluation equivalents ({cost['source']}: g/f = {cost['g_over_f']:.3g}, "
                     f"(f, g)/f = {cost['fg_over_f']:.3g})")
    ec = td.get("equal_cost")
    if ec:
        ref = ec["reference"]
        lines.append(f"global error of each method / error of {ref} at {ec['budgets'][-1]:g} f-evaluation equivalents over [0, {ec['interval']:g}] "
                     "(> 1: the learned method is more accurate), 95% bootstrap interval:")
        for setting in ("in_distribution", "out_of_distribution"):
            rat = ec["ratios"].get(setting, {})
            if rat:
                lines.append(f"  {setting.replace('_', ' ')}: " + ", ".join(
                    f"{k} {v[-1]['ratio']:.3g} [{v[-1]['low']:.3g}, {v[-1]['high']:.3g}]" for k, v in rat.items()))
    return lines
