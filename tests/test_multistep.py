"""Explicit multistep methods on the distilling side (torch-free): linear multistep theory
(order, error constant, zero-stability, stability intervals, identification), the B-series
order conditions of multistep Runge-Kutta methods, the integrator and its start-up rules,
measured global order, distillation onto zero-stable exact methods, the equal-evaluation
comparison and the analysis.json of kind "multistep" against the schema."""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import jsonschema
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from algodiscover.analysis import AnalysisInputError, tree_table
from algodiscover.analysis.bootstrap import bootstrap_mean_interval
from algodiscover.analysis.memory import CLASSICAL_LMM, linear_multistep, memory_weights_of
from algodiscover.analysis.multistep import (MultistepMethod, multistep_from_lmm, multistep_integrate, multistep_order,
                                             multistep_residuals, multistep_weight_formulas, startup_evaluations)
from algodiscover.analysis.multistep_accuracy import MultistepRunner, RungeKuttaRunner, compare_at_equal_evaluations, measure_global_order
from algodiscover.analysis.multistep_assessment import analyze_multistep, format_lmm, multistep_summary
from algodiscover.analysis.multistep_distillation import distill_multistep
from algodiscover.analysis.odefamily import OdeFamilySpec
from algodiscover.analysis.schema import AnalysisView, analysis_schema

VALIDATOR = jsonschema.Draft202012Validator(analysis_schema())
AB2 = CLASSICAL_LMM["AB2"]
AB3 = CLASSICAL_LMM["AB3"]


def _spec(name: str) -> OdeFamilySpec:
    y, a, u, v, mu = sp.symbols("y a u v mu")
    t = sp.Symbol("t")
    if name == "linear":
        return OdeFamilySpec("linear", (y,), (-a * y,), (a,), ((-5, 5),), ((1, 5),), ood_param_ranges=((5, 10),),
                             exact_solution=(y * sp.exp(-a * t),))
    return OdeFamilySpec("vanderpol", (u, v), (v, mu * (1 - u**2) * v - u), (mu,), ((-2, 2), (-2, 2)), ((1, 2),), ood_param_ranges=((2, 4),))


def _errors(doc: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in VALIDATOR.iter_errors(doc)]


# ------------------------------------------------------------------ linear multistep theory
def test_classical_methods_order_error_constant_stability_and_identity():
    """Known values: AB2 order 2, C = 5/12, real interval [-1, 0], imaginary interval {0};
    AB3 order 3, C = 3/8, [-6/11, 0], about 0.7236 on the imaginary axis; AB4 251/720 and
    [-3/10, 0]; the leapfrog is only weakly stable (root -1 on the circle) and unstable on the
    negative real axis."""
    from algodiscover.analysis.multistep_assessment import _imag_limit

    for name, order, C, lo in (("AB2", 2, sp.Rational(5, 12), -1), ("AB3", 3, sp.Rational(3, 8), sp.Rational(-6, 11)),
                               ("AB4", 4, sp.Rational(251, 720), sp.Rational(-3, 10))):
        m = CLASSICAL_LMM[name]
        assert m.order() == order and m.error_constant() == (C, C)
        zs = m.zero_stability()
        assert zs.stable and zs.strongly and zs.exact
        assert m.real_interval_exact() == lo and m.real_interval() == pytest.approx(float(lo), abs=1e-9)
        assert m.identify() == name and m.closest() == (name, 0.0)
    assert _imag_limit(multistep_from_lmm(AB2)) == 0.0   # AB2's principal root leaves the circle at once: |zeta| = 1 + y^4/4
    assert _imag_limit(multistep_from_lmm(AB3)) == pytest.approx(0.7236, abs=2e-4)
    leap = CLASSICAL_LMM["explicit midpoint (leapfrog)"]
    zs = leap.zero_stability()
    assert zs.stable and not zs.strongly and sorted(round(r.real) for r in zs.roots) == [-1, 1]
    assert leap.real_interval() == 0.0
    unstable = linear_multistep(sp.Integer(4), [sp.Integer(-5)], [sp.Integer(2)])   # the order-3 two-step method
    assert unstable.order() == 3 and not unstable.zero_stability().stable


rational = st.fractions(min_value=-3, max_value=3, max_denominator=7)


@settings(max_examples=40, deadline=None)
@given(b=rational, betas=st.lists(rational, min_size=0, max_size=3), data=st.data())
def test_memory_weights_invert_linear_multistep(b, betas, data):
    gammas = data.draw(st.lists(rational, min_size=len(betas), max_size=len(betas)))
    lmm = linear_multistep(b, betas, gammas)
    b2, betas2, gammas2 = memory_weights_of(lmm)
    assert (b2, list(betas2), list(gammas2)) == (sp.Rational(b.numerator, b.denominator), [sp.Rational(x.numerator, x.denominator) for x in betas],
                                                 [sp.Rational(x.numerator, x.denominator) for x in gammas])


@settings(max_examples=30, deadline=None)
@given(b=rational, betas=st.lists(rational, min_size=1, max_size=2), data=st.data())
def test_one_stage_tree_conditions_are_the_classical_conditions(b, betas, data):
    """For one stage every tree of order q gives one condition, and the B-series order of the
    memory step is the classical order of its linear multistep method."""
    gammas = data.draw(st.lists(rational, min_size=len(betas), max_size=len(betas)))
    m = MultistepMethod([[0]], [b], betas, [[g] for g in gammas])
    tab = tree_table(4)
    res = multistep_residuals(m, 4)
    for q in range(1, 5):
        scaled = {sp.nsimplify(res[i] * tab.gamma[i]) for i in range(tab.offsets[q], tab.offsets[q + 1])}
        assert len(scaled) == 1
    assert multistep_order(m, 4).order == min(m.lmm().order(), 4)


def test_classical_methods_through_the_tree_conditions():
    for name, lmm in CLASSICAL_LMM.items():
        m = multistep_from_lmm(lmm, name)
        assert multistep_order(m, 6).order == lmm.order(), name
        assert m.lmm().identify() == name and m.zero_stability().stable


def test_weight_formulas_match_the_residuals():
    """Phi(t) as sympy text, evaluated at a method's weights, is its elementary weight."""
    m = MultistepMethod([[0, 0], ["1/2", 0]], ["1/3", "2/3"], ["1/4"], [["-1/5", "1/7"]])
    formulas = multistep_weight_formulas(2, 1, 4)
    tab = tree_table(4)
    names = {"a_21": sp.Rational(1, 2), "b_1": sp.Rational(1, 3), "b_2": sp.Rational(2, 3), "beta_1": sp.Rational(1, 4),
             "gamma_11": sp.Rational(-1, 5), "gamma_12": sp.Rational(1, 7)}
    from algodiscover.analysis.expressions import parse_expression

    for i, (f, r) in enumerate(zip(formulas, multistep_residuals(m, 4))):
        val = parse_expression(f, list(names), where="formula").subs({sp.Symbol(k): v for k, v in names.items()})
        assert sp.simplify(val - (r + sp.Rational(1, tab.gamma[i]))) == 0
    assert multistep_weight_formulas(1, 1, 1, form="adams") == ["b + gamma_1"]


def _two_stage_order3() -> MultistepMethod:
    """A two-stage memory-1 method of order 3 (beta = 0, a21 = 1/2): the conditions are
    linear in (b, gamma) for a fixed W, solved exactly."""
    b1, b2, g1, g2 = sp.symbols("b1 b2 g1 g2")
    lhs = multistep_weight_formulas(2, 1, 3, form="adams")
    from algodiscover.analysis.expressions import parse_expression

    tab = tree_table(3)
    subs = {"a_21": sp.Rational(1, 2)}
    eqs = []
    for i, f in enumerate(lhs):
        e = parse_expression(f, ["a_21", "b_1", "b_2", "gamma_11", "gamma_12"], where="f")
        e = e.subs({sp.Symbol("a_21"): subs["a_21"], sp.Symbol("b_1"): b1, sp.Symbol("b_2"): b2, sp.Symbol("gamma_11"): g1,
                    sp.Symbol("gamma_12"): g2})
        eqs.append(e - sp.Rational(1, tab.gamma[i]))
    sol = sp.solve(eqs, [b1, b2, g1, g2], dict=True)[0]
    free = {s: 0 for s in (b1, b2, g1, g2) if s not in sol}
    vals = {s: sp.nsimplify(sol.get(s, 0).subs(free)) if s in sol else 0 for s in (b1, b2, g1, g2)}
    return MultistepMethod([[0, 0], ["1/2", 0]], [vals[b1], vals[b2]], [0], [[vals[g1], vals[g2]]], name="TS3")


def test_two_stage_method_order_is_verified_exactly_and_measured():
    m = _two_stage_order3()
    rep = multistep_order(m, 5)
    assert rep.exact and rep.order == 3 and m.zero_stability().stable and m.lmm() is None
    spec = _spec("vanderpol")
    g = measure_global_order(MultistepRunner("TS3", m, "rk4"), spec, n_samples=8, steps=[20, 40, 80, 160])
    assert g.order == pytest.approx(3.0, abs=0.15)


# ------------------------------------------------------------------ integration and start-up
def test_integrator_is_the_adams_bashforth_recurrence():
    spec = _spec("vanderpol")
    smp = spec.sample(6, 3)
    f = lambda Y: spec.numpy_rhs(Y, smp.params)  # noqa: E731
    h = 0.02
    y1 = spec.flow(smp.y0, smp.params, np.full(6, h))
    ys = multistep_integrate(multistep_from_lmm(AB2), f, smp.y0, h, 30, startup="exact", start_values=[y1], return_all=True)
    prev, cur = smp.y0, y1
    for k in range(1, 30):
        prev, cur = cur, cur + h * (1.5 * f(cur) - 0.5 * f(prev))
        assert np.max(np.abs(ys[k] - cur)) <= 1e-14 * max(1.0, float(np.max(np.abs(cur))))
    with pytest.raises(AnalysisInputError, match="needs the 1 start values"):
        multistep_integrate(multistep_from_lmm(AB2), f, smp.y0, h, 3, startup="exact")
    assert startup_evaluations(multistep_from_lmm(AB3), "rk4") == 6 and startup_evaluations(multistep_from_lmm(AB3), "rk") == 0


def test_measured_global_orders_and_what_the_start_up_does():
    """AB2/AB3 with an RK4 start show their orders; a plain step with AB2's own b = 3/2 (rule
    "rk") is inconsistent and drags the global order to 1: the analysis says so beforehand."""
    spec = _spec("linear")
    for lmm, p in ((AB2, 2), (AB3, 3)):
        g = measure_global_order(MultistepRunner("m", multistep_from_lmm(lmm), "rk4"), spec, n_samples=8)
        assert g.order == pytest.approx(p, abs=0.05) and sum(g.fitted) == 3
        assert all(g.fitted[i] <= g.used[i] for i in range(len(g.h)))
    g = measure_global_order(MultistepRunner("m", multistep_from_lmm(AB2), "rk"), spec, n_samples=8)
    assert g.order == pytest.approx(1.0, abs=0.05)
    a = analyze_multistep(multistep_from_lmm(AB2, "AB2"), family=spec, startup="rk").to_json()
    assert a["multistep"]["startup_order"] == 0 and a["multistep"]["expected_global_order"] == 1
    assert a["measured_order"] == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------------ distillation
def test_distillation_finds_the_adams_bashforth_methods_near_learned_weights():
    cases = [("adams", [1.4187706691174835], [0.0], [[-0.42079497170517294]], "AB2", 2),
             ("adams", [1.7628054560220152], [0.0, 0.0], [[-1.0397829256656268], [0.276714524926516]], "AB3", 3)]
    for form, b, be, ga, name, p in cases:
        d = distill_multistep(MultistepMethod([[0]], b, be, ga), form=form)
        assert d.exact is not None and d.target == f"order {p}" and d.exact.lmm().identify() == name
        assert d.distance < 0.3


def test_full_memory_distils_onto_a_zero_stable_order_two_member_not_the_unstable_order_three_method():
    d = distill_multistep(MultistepMethod([[0]], [1.585545141320656], [-0.35340464878098304], [[-0.23456455774684684]]), form="full")
    assert d.exact is not None and d.target == "order 2" and d.exact.to_dict()["betas"] == ["-1/3"]
    assert d.exact.lmm().identify() is None and d.exact.zero_stability().strongly
    assert any("order 3: no zero-stable" in line for line in d.log)
    near_unstable = MultistepMethod([[0]], [3.9], [-4.9], [[1.95]])   # next to the order-3 method with root -5
    d = distill_multistep(near_unstable, form="full")
    assert d.exact is None or d.exact.zero_stability().stable


def test_two_stage_learned_weights_distil_onto_an_exact_order_three_method():
    """Weights an R2N2 with two stages and memory 1 learned on Van der Pol: W is snapped, the
    conditions (linear in b, beta, gamma for that W) are solved exactly."""
    learned = MultistepMethod([[0, 0], [1.6318162948395623, 0]], [1.6883059742998672, 0.20126357620814353], [-0.7959952706565816],
                              [[0.10215446875721852, -0.19573786179544686]])
    assert multistep_order(learned, 4).order < 3
    d = distill_multistep(learned)
    assert d.exact is not None and d.target == "order 3" and d.distance < 0.1
    assert multistep_order(d.exact, 5).order == 3 and d.exact.zero_stability().strongly
    assert d.exact.to_dict()["W"] == [["0", "0"], ["5/3", "0"]] and d.exact.to_dict()["betas"] == ["-3/4"]
    g = measure_global_order(MultistepRunner("d", d.exact, "rk4"), _spec("vanderpol"), n_samples=8, steps=[20, 40, 80, 160])
    assert g.order == pytest.approx(3.0, abs=0.15)


@settings(max_examples=12, deadline=None)
@given(b=st.floats(0.5, 2.5), beta=st.floats(-0.95, 0.6), gamma=st.floats(-1.0, 0.5))
def test_every_distilled_method_is_zero_stable_and_has_its_order_exactly(b, beta, gamma):
    d = distill_multistep(MultistepMethod([[0]], [b], [beta], [[gamma]]), form="full")
    if d.exact is not None:
        assert d.exact.is_exact and d.exact.zero_stability().stable
        assert multistep_order(d.exact, 4).order >= int(d.target.split()[1])


# ------------------------------------------------------------------ comparison and bootstrap
def test_shared_bootstrap_is_the_two_derivative_one():
    from algodiscover.analysis import two_derivative_accuracy

    assert two_derivative_accuracy.bootstrap_mean_interval is bootstrap_mean_interval
    x = np.random.default_rng(0).normal(2.0, 1.0, 200)
    lo, hi = bootstrap_mean_interval(x, np.random.default_rng(1), 2000, 0.95)
    assert lo < float(np.mean(x)) < hi and hi - lo == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.15)


def test_equal_evaluations_counts_the_start_up_and_ranks_the_methods():
    from algodiscover.analysis import get_method

    spec = _spec("linear")
    ab2 = MultistepRunner("AB2", multistep_from_lmm(AB2), "rk4", 2)
    assert ab2.evaluations(40) == 43 and ab2.steps_for(43) == 40
    comp = compare_at_equal_evaluations(ab2, [MultistepRunner("AB3", multistep_from_lmm(AB3), "rk4", 3),
                                              RungeKuttaRunner("Euler", get_method("Euler"), 1)], spec, n_samples=16, resamples=500)
    r = comp.ratios["in_distribution"]
    assert r["Euler"][-1]["low"] > 1 and r["AB3"][-1]["high"] < 1   # AB2 beats Euler, AB3 beats AB2 at equal cost
    assert all(row["low"] <= row["ratio"] <= row["high"] for rows in r.values() for row in rows)


# ------------------------------------------------------------------ the analysis document
@pytest.fixture(scope="module")
def learned_doc() -> dict:
    m = MultistepMethod([[0]], [1.4187706691174835], [0.0], [[-0.42079497170517294]], name="R2N2-1m1-linear")
    return json.loads(json.dumps(analyze_multistep(m, family=_spec("linear"), learned=True, form="adams").to_json(), allow_nan=False))


def test_analysis_of_a_learned_one_stage_method_identifies_ab2_and_validates(learned_doc):
    d = learned_doc
    assert not _errors(d)
    a = AnalysisView.read(d)
    ms = a.multistep_section
    assert a.kind == "multistep" and a.identified_as == "AB2" and a.exact_order == 2 and a.order < 2   # the floats are not exactly consistent
    assert ms.lmm is not None and ms.lmm.beta == ("-1/2", "3/2", "0") and ms.error_constant.normalised == "5/12"
    assert ms.zero_stability.stable and ms.stability.real_interval_exact == "-1"
    assert [c.satisfied for c in ms.lmm_conditions] == [True, True, True, False]
    assert a.measured_order == pytest.approx(2.0, abs=0.05) and a.personalised_order == 2
    assert any(s.startswith("order 2: every B-series condition") for s in ms.verified) and ms.measured_only
    ratios = ms.equal_cost.ratios.get("in_distribution")
    assert ratios["Euler"][-1].low > 1 and ratios["AB3"][-1].high < 1
    lines = multistep_summary(d)
    assert "identified as: AB2" in lines and any("y_{n+1} = y_n + h (3/2 f_n - 1/2 f_{n-1})" in x for x in lines)


def test_schema_rejects_undocumented_multistep_keys(learned_doc):
    for mutate, where in ((lambda d: d["multistep"].update(extra=1), "multistep"),
                          (lambda d: d["multistep"]["zero_stability"].pop("stable"), "multistep.zero_stability"),
                          (lambda d: d["tableau"].update(betas="0"), "tableau.betas"),
                          (lambda d: d.pop("multistep"), "")):
        doc = copy.deepcopy(learned_doc)
        mutate(doc)
        errs = _errors(doc)
        assert errs and any(e.startswith(where) for e in errs), (where, errs)
    doc = copy.deepcopy(learned_doc)
    doc["tableau"]["gammas"] = [[1.0, 2.0]]
    with pytest.raises(AnalysisInputError, match="tableau.gammas: expected rows of 1 entries"):
        AnalysisView.read(doc)


def test_analysis_of_hand_made_methods_without_family():
    for m, ident in ((multistep_from_lmm(AB3, "AB3"), "AB3"), (_two_stage_order3(), None)):
        d = json.loads(json.dumps(analyze_multistep(m).to_json(), allow_nan=False))
        assert not _errors(d)
        assert d["identified_as"] == ident and d["arithmetic"] == "exact" and d["distillation"] is None
        assert d["multistep"]["measured"] is None and d["multistep"]["equal_cost"] is None
    assert format_lmm({"steps": 2, "alpha": ["-1", "0", "1"], "beta": ["0", "2", "0"]}) == "y_{n+1} = y_{n-1} + h (2 f_n)"
    with pytest.raises(AnalysisInputError, match="start-up rule"):
        analyze_multistep(multistep_from_lmm(AB2), startup="euler")
    with pytest.raises(AnalysisInputError, match="W must be strictly lower triangular"):
        MultistepMethod([[1]], [1], [], [])
    with pytest.raises(AnalysisInputError, match="one entry .a row. per memory step"):
        MultistepMethod([[0]], [1], [0, 0], [[0]])
    assert MultistepMethod([[0]], [Fraction(3, 2)], [0], [[Fraction(-1, 2)]]).lmm().identify() == "AB2"
