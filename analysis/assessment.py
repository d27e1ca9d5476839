"""Everything the tool says about a Runge-Kutta tableau, in one JSON-ready object.

:func:`analyze_tableau` runs the whole distilling side on one tableau: order conditions in
the arithmetic of the data, rationalisation (or distillation of a noisy learned tableau onto
the nearest exact method), exact order, identification, stability, stage order, error
coefficients and, given the family the method was trained for, its personalised and
measured order and an equal-cost comparison with classical methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from typing import TYPE_CHECKING, Any, Sequence

from .methods import CatalogueEntry, Identification, identify, same_stage_methods
from .numbers import format_exact
from .order import (
    ConditionRow,
    ConditionSet,
    OrderReport,
    check_order,
    condition_rows,
    general_conditions,
    principal_error_norm,
    stage_order,
    StageOrder,
)
from .rationals import rationalize
from .linear_stability import StabilityInfo, stability
from .tableau import ButcherTableau
from .rooted_trees import weight_formula

if TYPE_CHECKING:  # imported where used: a checked tableau needs none of them
    from .accuracy import Comparison, MeasuredOrder
    from .distillation import Distillation
    from .odefamily import OdeFamilySpec
    from .personalised import PersonalisedOrder

__all__ = ["Analysis", "analyze_tableau", "learned_targets", "ANALYSIS_FORMAT", "DISTILL_BUDGET_S"]

ANALYSIS_FORMAT = "algodiscover.analysis/1"
_CONDITION_TABLE_CAP = 6  # rows of the per-tree table: orders up to min(p + 1, cap)
_LOOSE_TOL = 1e-6
#: Seconds a distillation search may take before it gives up (and says so).
DISTILL_BUDGET_S = 3.0


@dataclass(frozen=True)
class Analysis:
    """Result of analysing one method; :meth:`to_json` gives the documented keys."""

    kind: str
    name: str
    tableau: ButcherTableau
    order: OrderReport
    rational: ButcherTableau | None
    exact_order: OrderReport | None
    identification: Identification
    stability: StabilityInfo
    stage_order: int
    principal_error: float | None
    conditions: tuple[ConditionRow, ...]
    conditions_order: int
    distillation: Distillation | None = None
    personalised: PersonalisedOrder | None = None
    personalised_learned: PersonalisedOrder | None = None
    measured: MeasuredOrder | None = None
    measured_learned: MeasuredOrder | None = None
    measured_classical: dict[str, MeasuredOrder] = field(default_factory=dict)
    comparison: Comparison | None = None
    family: OdeFamilySpec | None = None
    baseline: CatalogueEntry | None = None
    baseline_stability: StabilityInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    stage_order_arithmetic: str = "exact"
    loose_order: int | None = None
    high_precision: ButcherTableau | None = None

    @property
    def final(self) -> ButcherTableau:
        """The distilled method: the exact tableau when one was found, else the tableau
        polished to 60 digits (verified to 1e-40), else the input."""
        if self.rational is not None:
            return self.rational
        return self.high_precision if self.high_precision is not None else self.tableau

    def to_json(self) -> dict[str, Any]:
        fin = self.final
        d: dict[str, Any] = {
            "format": ANALYSIS_FORMAT,
            "kind": self.kind,
            "name": self.name,
            "stages": self.tableau.stages,
            "explicit": self.tableau.is_explicit,
            "order": self.order.order,
            "tol": self.order.tol,
            "arithmetic": "exact" if self.order.exact else "float64",
            "residuals": self.order.residuals_json(),
            "order_reached_cap": self.order.reached_cap,
            "embedded_order": self.order.embedded_order,
            "tableau": self.tableau.to_dict(),
            "rational": None if self.rational is None else self.rational.to_dict(),
            "exact_order": None if self.exact_order is None else self.exact_order.order,
            "exact_residuals": None if self.exact_order is None else self.exact_order.residuals_json(),
            "identified_as": self.identification.name,
            "identification": self.identification.to_json(),
            "distillation": None if self.distillation is None else self.distillation.to_json(),
            "stage_order": self.stage_order,
            "stage_order_arithmetic": self.stage_order_arithmetic,
            "principal_error_norm": self.principal_error,
            "stability": self.stability.to_json(),
            "conditions_order": self.conditions_order,
            "conditions": [_row_json(r) for r in self.conditions],
            "final_tableau_float": {"A": fin.A.tolist(), "b": fin.b.tolist(), "c": fin.c.tolist(),
                                    **({"b_hat": fin.b_hat.tolist()} if fin.b_hat is not None else {})},
        }
        d.update(_order_detail(self.order))
        d["exact_order_arithmetic"] = None if self.exact_order is None else self.exact_order.arithmetic
        d["coefficient_digits"] = self.tableau.digits
        d["coefficient_precision"] = self.tableau.precision_note
        d["order_at_loose_tol"] = None if self.loose_order is None else {"tol": _LOOSE_TOL, "order": self.loose_order}
        d.update(_verdict_keys(self.stability))
        if self.baseline is not None:
            d["baseline"] = {
                "name": self.baseline.name,
                "order": self.baseline.order,
                "stability": None if self.baseline_stability is None else self.baseline_stability.to_json(),
            }
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
        if self.comparison is not None:
            d["comparison"] = self.comparison.to_json()
        d.update(self.extra)
        return _strict_json(d)


def _strict_json(x: Any) -> Any:
    """The same data with non-finite floats as ``"inf"``, ``"-inf"`` or null, so that the
    output is strict JSON (a tableau with huge coefficients overflows float64 residuals)."""
    if isinstance(x, float):
        if math.isnan(x):
            return None
        return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _strict_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_strict_json(v) for v in x]
    return x


def _order_detail(rep: OrderReport) -> dict[str, Any]:
    """What the order and its residuals mean: tolerance, arithmetic per order, trees per
    order, error norms and (at order p + 1) error coefficients."""
    p1 = rep.order + 1
    return {
        "tol_relative": rep.tol_relative,
        "tol_scale": rep.tol_scale,
        "tol_source": rep.tol_source,
        "residual_arithmetic": {str(k): v for k, v in sorted(rep.residual_arithmetic.items())},
        "trees_per_order": {str(k): v for k, v in rep.trees.items()},
        "order_cap": rep.cap,
        "all_orders": rep.all_orders,
        "first_failure": rep.first_failure,
        "error_norms": {str(k): v for k, v in sorted(rep.error_norms.items())},
        "error_coefficients": None if rep.error_coefficients is None else {
            "order": p1, "arithmetic": "float64", "values": list(rep.error_coefficients),
            "max_abs": max((abs(x) for x in rep.error_coefficients), default=0.0),
            "norm": float(sum(x * x for x in rep.error_coefficients) ** 0.5)},
        "order_notes": list(rep.notes),
    }


def _verdict_keys(st: StabilityInfo) -> dict[str, Any]:
    """The top-level stability verdicts of the ``check --json`` contract."""
    keys = ("a_stable", "l_stable", "r_infinity", "a_alpha_degrees", "algebraically_stable", "stiffly_accurate")
    v = st.verdicts
    if v is None:  # not computed (R overflows float64): null, with the reason in stability.notes
        return dict.fromkeys(keys)
    j = v.to_json()
    return {k: j[k] for k in keys}


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _row_json(r: ConditionRow) -> dict[str, Any]:
    return {
        "order": r.tree.order,
        "tree": r.tree.bracket(),
        "levels": list(r.tree.levels),
        "formula": weight_formula(r.tree),
        "phi": r.phi,
        "phi_exact": None if r.phi_exact is None else format_exact(r.phi_exact),
        "inv_gamma": f"1/{r.tree.gamma}" if r.tree.gamma != 1 else "1",
        "residual": r.residual,
        "tau": r.tau,
        "satisfied": bool(r.satisfied),
    }


def learned_targets(tableau: ButcherTableau, family: OdeFamilySpec | None, max_personalised: int = 6) -> list[ConditionSet]:
    """Condition sets to distil a learned method onto, most ambitious first: personalised
    order p on the family together with general order g (p >= g), then general orders."""
    from .personalised import personalised_conditions

    s = tableau.stages
    gmax = min(s if tableau.is_explicit else 2 * s, 8)
    targets: list[ConditionSet] = []
    if family is not None:
        for p in range(max_personalised, 0, -1):
            for g in range(min(p, gmax), 0, -1):
                targets.append(general_conditions(g) if g >= p else personalised_conditions(family, p) + general_conditions(g))
    else:
        targets = [general_conditions(g) for g in range(gmax, 0, -1)]
    seen, out = set(), []
    for t in targets:
        if t.name not in seen:
            seen.add(t.name)
            out.append(t)
    return out


def _principal_for(family: OdeFamilySpec | None):  # noqa: ANN202
    """The principal-error conditions of a target: on the family for a personalised one."""
    from .distillation import _next_order_conditions

    if family is None:
        return None

    def principal(conds: ConditionSet) -> ConditionSet:
        if conds.name.startswith("order ") and f" on {family.name}" in conds.name:
            from .personalised import personalised_conditions

            n = max(b.order for b in conds.blocks if b.rows is not None) + 1
            blk = personalised_conditions(family, n).blocks[-1]
            return ConditionSet(f"order {n} on {family.name} (principal error)", (blk,))
        return _next_order_conditions(conds)

    return principal


#: A learned method whose weights sum to 1 within this counts as consistent here: the
#: verdict is about garbage (lr = 50 gave sum b = -351), not about a training stopped early
#: whose order-1 residual is 1e-2 but which still beats forward Euler.
CONSISTENCY_TOL = 0.1


def training_verdict(tableau: ButcherTableau, family: OdeFamilySpec | None) -> dict[str, Any]:
    """Whether training produced a usable integrator: consistent (sum b = 1 within
    :data:`CONSISTENCY_TOL`) and, on the family, more accurate than forward Euler (mean
    one-step error on held-out problems). ``status`` is ``"ok"``, ``"inconsistent"`` or
    ``"worse than Euler"``; ``message`` says it in one sentence."""
    sb = float(np.sum(tableau.b))
    out: dict[str, Any] = {"sum_b": sb, "consistent": bool(abs(sb - 1.0) <= CONSISTENCY_TOL), "error_vs_euler": None}
    if family is not None and tableau.is_explicit:
        from .accuracy import one_step_errors
        from .methods import get_method

        smp = family.sample(512, 4321)
        ref = family.flow(smp.y0, smp.params, smp.h)
        with np.errstate(all="ignore"):
            e = float(np.mean(one_step_errors(tableau, family, smp, ref)))
            e_eu = float(np.mean(one_step_errors(get_method("Euler").as_float(), family, smp, ref)))
        out["error_vs_euler"] = (e / e_eu) if (e_eu > 0 and math.isfinite(e)) else ("inf" if not math.isfinite(e) else None)
    ratio = out["error_vs_euler"]
    worse = ratio == "inf" or (isinstance(ratio, float) and ratio > 1.0)
    if not out["consistent"]:
        out["status"] = "inconsistent"
        out["message"] = (f"training did not produce a usable integrator: the learned weights sum to {sb:.6g} instead of 1, "
                          "so the method is not even first-order consistent")
    elif worse:
        out["status"] = "worse than Euler"
        out["message"] = ("training did not produce a usable integrator: its one-step error on held-out problems is "
                          + ("not finite" if ratio == "inf" else f"{ratio:.3g} times that of forward Euler"))
    else:
        out["status"] = "ok"
        out["message"] = "the learned weights are consistent and more accurate than forward Euler on the family"
    if out["status"] != "ok":
        out["message"] += "; try a smaller learning rate or more training steps"
    return out


def _target_order(extra: dict[str, Any], family: OdeFamilySpec | None, stages: int, learned_general: int,
                  distilled_general: int | None, pers_l: PersonalisedOrder | None, pers: PersonalisedOrder | None) -> dict[str, Any] | None:
    """Whether the order the Taylor regulariser aimed at (``[ode] taylor_order``, general or
    on the family) was reached by the learned weights (within 1e-6) or the distilled method."""
    ode = (((extra.get("provenance") or {}).get("config") or {}).get("ode")) or {}
    target = int(ode.get("taylor_order") or 0)
    if target <= 0 or not ode.get("taylor_weight", 1.0):
        return None
    mode = ode.get("taylor_mode", "general")
    if mode == "family" and family is not None and pers_l is not None:
        what = f"personalised order {target} on {family.name}"
        got_l, got_d = pers_l.order, (pers.order if pers is not None else None)
        res = pers_l.max_residuals.get(got_l + 1)
    else:
        what = f"general order {target}"
        got_l, got_d, res = learned_general, distilled_general, None
    best = max(got_l, got_d if got_d is not None else -1)
    out: dict[str, Any] = {"target": target, "mode": mode, "learned": got_l, "distilled": got_d, "reached": best >= target,
                           "residual": res}
    if best >= target:
        out["message"] = f"the training target, {what}, was reached"
    else:
        gap = f" (largest residual at order {got_l + 1}: {res:.2g})" if res is not None else ""
        dist = f"; the distilled method has order {got_d}" if got_d is not None else ""
        out["message"] = (f"the training target, {what}, was not reached: the learned weights meet the conditions within 1e-6 "
                          f"up to order {got_l}{gap}{dist}, {target - best} short; training again from other random starts "
                          f"(seed) or with more steps may reach it with {stages} stages")
    return out


#: The learned floats are the primary result when the distilled method's error is more
#: than this factor times theirs (the whole 95% interval).
PRIMARY_MARGIN = 1.1


def _primary(comp: Comparison | None, name: str, learned_label: str) -> dict[str, Any] | None:
    """Which result is primary: the learned floats when the distilled method is less
    accurate than them on the family by more than :data:`PRIMARY_MARGIN` (the whole 95%
    interval of the error ratio)."""
    if comp is None:
        return None
    r = comp.ratios.get("in_distribution", {}).get(learned_label)
    ci = comp.ci95.get("in_distribution", {}).get(learned_label)
    if r is None or ci is None:
        return None
    less = ci[1] * PRIMARY_MARGIN < 1.0
    close = not less and ci[1] < 1.0
    return {"method": "learned weights" if less else "distilled",
            "distilled_over_learned_error": (1.0 / r) if r > 0 else "inf",
            "ci95": [1.0 / ci[1] if ci[1] > 0 else "inf", 1.0 / ci[0] if ci[0] > 0 else "inf"],
            "n_instances": comp.n_samples,
            "message": (f"the distilled method is less accurate than the learned float64 weights on the family: its "
                        f"one-step error is {1.0 / r:.3g} times theirs, so the learned weights are the primary result")
                       if less else
                       (f"the distilled method is within {PRIMARY_MARGIN - 1:.0%} of the accuracy of the learned float64 weights on "
                        f"the family (error ratio {1.0 / r:.3g})" if close else
                        "the distilled method is as accurate as the learned float64 weights on the family "
                        f"(error ratio {1.0 / r:.3g})" if ci[0] <= 1.0 else
                        f"the distilled method is more accurate than the learned float64 weights on the family (error ratio {1.0 / r:.3g})")}


def _baseline(stages: int, explicit: bool) -> CatalogueEntry | None:
    same = same_stage_methods(stages, explicit=explicit)
    if not same:
        return None
    return max(same, key=lambda e: e.order)


def analyze_tableau(
    tableau: ButcherTableau,
    *,
    max_order: int | None = None,
    tol: float | None = None,
    all_orders: bool | None = None,
    family: OdeFamilySpec | None = None,
    learned: bool = False,
    targets: Sequence[ConditionSet] | None = None,
    measure: bool | None = None,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
    distill_budget_s: float = DISTILL_BUDGET_S,
    objective: str = "nearest",
) -> Analysis:
    """Analyse a tableau (hand-made or learned).

    Parameters
    ----------
    max_order, tol : passed to :func:`check_order` for the data's own order (``tol`` is
        relative to the coefficient scale).
    all_orders : report every order up to ``max_order``, also past the first failure
        (default: when ``max_order`` is given, as the CLI's ``--max-order`` does).
    family : the ODE family the method is meant for; adds personalised order, measured
        order and the equal-cost comparison (explicit methods only).
    learned : treat the floats as noisy learned weights: distil onto ``targets`` (default
        :func:`learned_targets`) instead of only rationalising.
    measure : run the numerical measurements (default: when ``family`` is given).
    distill_budget_s : seconds the distillation search may take before it gives up.
    objective : which member of a family distillation returns (``"nearest"`` to the
        learned weights or ``"principal-error"``, the smallest principal error).

    Float overflow (coefficients near the float64 range) is not an error: the affected
    numbers are reported as infinite and the stability verdicts as not computed.
    """
    with np.errstate(all="ignore"):
        return _analyze(tableau, max_order, tol, all_orders, family, learned, targets, measure, name, extra, distill_budget_s, objective)


def _analyze(tableau: ButcherTableau, max_order: int | None, tol: float | None, all_orders: bool | None,
             family: OdeFamilySpec | None, learned: bool, targets: Sequence[ConditionSet] | None, measure: bool | None,
             name: str | None, extra: dict[str, Any] | None, distill_budget_s: float, objective: str = "nearest") -> Analysis:
    name = name or tableau.name or f"{tableau.stages}-stage method"
    every = (max_order is not None) if all_orders is None else bool(all_orders)
    rep = check_order(tableau, max_order=max_order, tol=tol, all_orders=every)
    distillation: Distillation | None = None
    loose_order: int | None = None
    if not rep.exact and not tableau.is_exact:
        loose_order = check_order(tableau, max_order=max_order, tol=max(tol or 0.0, _LOOSE_TOL)).order
    rational: ButcherTableau | None = tableau if tableau.is_exact else rationalize(tableau)
    hp: ButcherTableau | None = None
    if rational is None:
        if targets is None:
            if learned:
                targets = learned_targets(tableau, family)
            else:
                # every order the weights could be within reach of: one more than the order
                # their residuals show at 1e-2 (noise of 1e-4 hides none of them)
                cap = min(tableau.stages if tableau.is_explicit else 2 * tableau.stages, 8)
                near = check_order(tableau, max_order=cap, tol=1e-2).order
                targets = [general_conditions(p) for p in range(min(cap, near + 1), 0, -1)] if near >= 1 else []
        from .distillation import distill

        distillation = distill(tableau, targets, budget_s=distill_budget_s, objective=objective,
                               principal=_principal_for(family) if learned else None)
        rational = distillation.exact
        if rational is None and learned and distillation.high_precision is not None:
            hp = distillation.high_precision.tableau(name)
    if rational is not None and rational.name is None:
        rational = rational.with_name(name)
    exact_rep = None
    if rational is not None:
        same = rational is tableau or (tableau.is_exact and rational.exact is not None and rational.exact.entries() == tableau.exact.entries())
        exact_rep = rep if same else check_order(rational, max_order=max_order, all_orders=every)
    elif hp is not None:
        exact_rep = check_order(hp, max_order=max_order, all_orders=every)
    final = rational if rational is not None else (hp if hp is not None else tableau)
    fin_order = exact_rep.order if exact_rep is not None else rep.order
    ident = identify(final, order=fin_order)
    stab = stability(final)
    st = stage_order(final, detail=True)
    assert isinstance(st, StageOrder)
    try:
        pen = principal_error_norm(final, fin_order)
    except Exception:  # pragma: no cover - only for degenerate tableaux
        pen = None
    cond_order = min(fin_order + 1, _CONDITION_TABLE_CAP) if fin_order >= 0 else 1
    rows = tuple(condition_rows(final, max(cond_order, 1), tol=tol))
    base = _baseline(tableau.stages, tableau.is_explicit)
    base_stab = stability(base.tableau) if base is not None else None

    pers = pers_l = meas = meas_l = comp = None
    if family is not None:
        from .accuracy import compare_methods, measure_order
        from .personalised import personalised_order
    meas_c: dict[str, MeasuredOrder] = {}
    if family is not None:
        pers = personalised_order(final, family)
        if learned:
            pers_l = personalised_order(tableau, family, tol=_LOOSE_TOL)
        do_measure = measure if measure is not None else True
        distinct = final is not tableau
        if do_measure and final.is_explicit:
            meas = measure_order(final, family)
            if learned and distinct:
                meas_l = measure_order(tableau.with_name(f"{name} (learned weights)"), family)
            others = [e.tableau for e in same_stage_methods(tableau.stages, explicit=True)]
            meas_c = {t.label: measure_order(t, family) for t in others}
            if learned and distinct:
                others = [tableau.with_name(f"{name} (learned weights)")] + others
            comp = compare_methods(final.with_name(name), others, family)
            if learned:
                from .accuracy import work_precision

                extra_wp = work_precision([final.with_name(name)] + list(others), family).to_json()
    extra = dict(extra or {})
    if learned:
        tgt = _target_order(extra, family, tableau.stages, rep.order if loose_order is None else loose_order,
                            exact_rep.order if exact_rep is not None else None, pers_l, pers)
        if tgt is not None:
            extra["target_order"] = tgt
    if learned and family is not None and "extra_wp" in locals():
        extra["work_precision"] = extra_wp
    if learned:
        extra["training_verdict"] = training_verdict(tableau, family)
        prim = _primary(comp, name, f"{name} (learned weights)")
        if prim is not None:
            extra["primary"] = prim
            if prim["method"] == "learned weights" and comp is not None:
                # the comparison of the primary result: ratios to the learned weights
                extra["comparison_learned"] = comp.with_reference(f"{name} (learned weights)").to_json()
    return Analysis(
        kind="runge-kutta",
        name=name,
        tableau=tableau,
        order=rep,
        rational=rational,
        exact_order=exact_rep,
        identification=ident,
        stability=stab,
        stage_order=st.order,
        stage_order_arithmetic=st.arithmetic,
        loose_order=loose_order,
        principal_error=pen,
        conditions=rows,
        conditions_order=cond_order,
        distillation=distillation,
        personalised=pers,
        personalised_learned=pers_l,
        measured=meas,
        measured_learned=meas_l,
        measured_classical=meas_c,
        comparison=comp,
        family=family,
        baseline=base,
        baseline_stability=base_stab,
        extra=extra,
        high_precision=hp,
    )
