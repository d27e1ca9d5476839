"""Learned Newton-type iterations with exact JVP stages (issue 15, nonlinear part): known
orders of convergence, the configuration, counted costs and a small trained run."""

import math
from dataclasses import replace
from fractions import Fraction

import jsonschema
import numpy as np
import pytest

from algodiscover.analysis.convergence_order import (
    evaluation_cost,
    factor_summary,
    measured_order,
    normalise_nonlinear_pattern,
    predicted_scalar_order,
    pseudocode,
)
from algodiscover.analysis.errors import AnalysisInputError
from algodiscover.analysis.schema import analysis_schema
from algodiscover.config import ModelConfig, RunConfig, default_config
from algodiscover.errors import InputError
from algodiscover.nonlinear import analyze_run, solver_from_artefact, train_run
from algodiscover.nonlinear_baselines import CountedF, gmres_solve, jvp_function, run_learned_jvp, run_newton_gmres
from algodiscover.nonlinear_families import get_nonlinear_family, nonlinear_family_from_config
from algodiscover.nonlinear_jvp import JvpSolver
from algodiscover.training import TrainConfig

CUBIC = {"name": "cubic", "unknowns": ["x"], "F": ["x**3 + x - p"], "params": {"p": [1.0, 3.0]}, "guess": [1.0],
         "perturbation": 0.2}


# ------------------------------------------------------------------ predicted order (exact)
def test_one_stage_minimal_residual_step_is_newton_of_order_two():
    """Scalar F = a1 e + a2 e^2 + ...: Newton's error map is e+ = (a2/a1) e^2 + O(e^3)."""
    a = [Fraction(3), Fraction(5), Fraction(-1)]
    r = predicted_scalar_order(["F"], [[0]], [1], 1, "minimal-residual", taylor=a)
    assert r["order"] == 2 and r["leading_coefficient"] == pytest.approx(5 / 3, rel=1e-15)
    # any weights: on a scalar the minimal-residual step is alpha s = -F/F' (Newton)
    r2 = predicted_scalar_order(["F", "jvp", "F"], [[0, 0, 0], [0.3, 0, 0], [0.1, -0.7, 0]], [0.4, 1.1, -0.2], 0.9, "minimal-residual")
    assert r2["order"] == 2 and r2["coefficients"][2] == pytest.approx(predicted_scalar_order(["F"], [[0]], [1], 1, "minimal-residual")["coefficients"][2])


def test_fixed_step_has_order_one_with_factor_one_minus_h_b_a1():
    """Without the step length, x+ = x - h b1 F(x): e+ = (1 - h b1 a1) e + ..."""
    r = predicted_scalar_order(["F"], [[0]], [0.5], 0.8, "learned", taylor=[2.0, 1.0])
    assert r["order"] == 1 and r["local_factor"] == pytest.approx(abs(1 - 0.8 * 0.5 * 2.0), rel=1e-15)
    # h b1 = 1/a1 exactly: the linear term vanishes and the order is 2 (e+ = -(a2/a1) e^2)
    r = predicted_scalar_order(["F"], [[0]], [0.5], 1.0, "learned", taylor=[2, 1])
    assert r["order"] == 2 and r["leading_coefficient"] == pytest.approx(-0.5)


def test_jvp_stage_makes_a_krylov_polynomial():
    """["F", "jvp"] at z = x: s = -h (b1 + b2 a1) F to first order: e+ = 1 - h a1 (b1 + b2 a1)."""
    r = predicted_scalar_order(["F", "jvp"], [[0, 0], [0, 0]], [1.5, -0.25], 1.0, taylor=[2.0, 0.5])
    assert r["order"] == 1 and r["coefficients"][1] == pytest.approx(1 - 2.0 * (1.5 - 0.25 * 2.0))


def test_pattern_normalisation_and_cost():
    assert normalise_nonlinear_pattern("jvp", 3) == ("F", "jvp", "jvp")
    assert normalise_nonlinear_pattern(["F", "F"], 2) == ("F", "F") and normalise_nonlinear_pattern("none", 2) is None
    with pytest.raises(AnalysisInputError, match="first stage"):
        normalise_nonlinear_pattern(["jvp", "F"], 2)
    with pytest.raises(AnalysisInputError, match="unknown stage token"):
        normalise_nonlinear_pattern(["F", "g"], 2)
    assert evaluation_cost(("F", "jvp", "F"), "minimal-residual", 2.5) == pytest.approx(2 + 2 * 2.5)
    assert "alpha = <v1, u> / <u, u>" in pseudocode(["F"], [[0]], [1], 1, "minimal-residual")


def test_measured_order_of_known_sequences():
    assert measured_order([1e-1, 1e-2, 1e-4, 1e-8])["order"] == pytest.approx(2.0, rel=1e-9)
    assert measured_order([1.0, 0.5, 0.25, 0.125])["order"] == pytest.approx(1.0, rel=1e-9)
    assert measured_order([1.0, 0.5])["order"] is None
    s = factor_summary([0.1, None, 0.3, 0.2], [{"c": 1.0}, {"c": 2.0}, {"c": 3.0}, {"c": 4.0}])
    assert (s["median"], s["worst"], s["worst_params"], s["missing"]) == (0.2, 0.3, {"c": 3.0}, 1)


# ------------------------------------------------------------------ solver: measured order
def test_one_stage_minimal_residual_solver_is_newton_on_a_scalar_family_order_two():
    fam = nonlinear_family_from_config(CUBIC)
    p = np.array([2.0])
    F, jvp = fam.numpy_residual(p), jvp_function(fam, p)
    solver = JvpSolver(["F"], [[0.0]], [1.0], 1.0, step_length="minimal-residual", jvp_in_F=1.0)
    xs = []
    res = solver.solve(F, np.array([1.3]), jvp=jvp, tol=1e-14, callback=lambda x: xs.append(float(x[0])))
    assert res.success
    x = 1.3
    for xk in xs[:4]:  # Newton's iterates x - (x^3 + x - 2)/(3x^2 + 1)
        x = x - (x**3 + x - 2) / (3 * x * x + 1)
        assert xk == pytest.approx(x, rel=1e-12, abs=1e-15)
    assert measured_order(res.residual_history)["order"] == pytest.approx(2.0, abs=0.15)


def test_counted_costs_of_the_learned_iteration_and_newton_gmres():
    fam = get_nonlinear_family("hequation")
    p, x0 = np.array([0.8]), np.ones(100)
    F, jvp = fam.numpy_residual(p), jvp_function(fam, p)
    solver = JvpSolver(["F", "jvp"], [[0, 0], [0, 0]], [1.0, 0.0], 1.0, step_length="minimal-residual", jvp_in_F=3.0)
    run = run_learned_jvp(solver, F, jvp, x0, 1e-10, 500)
    steps = run.evaluations - 1  # one F per step (the acceptance test; no rejections here) plus F(x0)
    assert run.rejected_steps == 0 and run.jvps == 2 * steps
    assert run.cost(0.0, 3.0) == pytest.approx(run.evaluations + 3.0 * run.jvps)
    ng = run_newton_gmres(F, jvp, x0, 1e-10, 500, rtol=1e-6)
    assert ng.evaluations is not None and ng.jvps is not None and ng.jvps >= ng.evaluations - 1
    assert float(np.linalg.norm(F(x0))) > 1e-3


def test_gmres_solve_counts_one_product_per_iteration_and_is_exact_at_m():
    rng = np.random.default_rng(0)
    A = np.eye(6) + 0.3 * rng.standard_normal((6, 6))
    b = rng.standard_normal(6)
    calls = []
    y = gmres_solve(lambda v: calls.append(1) or A @ v, b, 1e-13, 6)
    assert np.linalg.norm(A @ y - b) <= 1e-10 * np.linalg.norm(b) and len(calls) <= 6


# ------------------------------------------------------------------ configuration
def test_configuration_of_jvp_patterns():
    m = ModelConfig(stages=3, outer=4, derivatives=("F", "jvp", "F"))
    assert m.derivatives == ("F", "jvp", "F")
    RunConfig("nonlinear", "hequation", model=m)
    with pytest.raises(InputError, match="apply to problem class nonlinear"):
        RunConfig("ode", "square", model=m)
    with pytest.raises(InputError, match="applies to problem class ode"):
        RunConfig("nonlinear", "hequation", model=ModelConfig(stages=2, derivatives="g"))
    cfg = RunConfig("nonlinear", "hequation", model=ModelConfig(stages=2, outer=4, derivatives="jvp"))
    assert cfg.with_overrides(stages=4).model.derivatives == ("F", "jvp", "jvp", "jvp")
    with pytest.raises(InputError, match="step_length"):
        RunConfig("nonlinear", "hequation", options={"step_length": "long"})
    assert "step_length" not in default_config("nonlinear").options


# ------------------------------------------------------------------ training and analysis
@pytest.fixture(scope="module")
def jvp_alg():
    cfg = default_config("nonlinear")
    cfg = replace(cfg, model=replace(cfg.model, stages=2, outer=4, derivatives=("F", "jvp")),
                  train=TrainConfig(adam_steps=40, lr=0.01, lbfgs_steps=20),
                  options={**cfg.options, "step_length": "minimal-residual", "samples": 32, "heldout": 8, "tune_instances": 4})
    return train_run(cfg, progress=False)


def test_learned_jvp_structure_trains_and_records_its_measured_cost(jvp_alg):
    hist = jvp_alg.training["loss_history"]
    assert hist[-1] < hist[0]
    c = jvp_alg.cost
    assert c["source"] == "measured" and c["jvp_in_F"] > 0 and math.isfinite(c["jvp_in_F"])
    st = jvp_alg.structure
    assert (st["mode"], st["derivatives"], st["step_length"], st["jvps_per_outer"]) == ("jvp", ["F", "jvp"], "minimal-residual", 2)
    solver = solver_from_artefact(jvp_alg)
    assert solver.jvp_in_F == c["jvp_in_F"] and solver.cost_per_step == pytest.approx(1 + 2 * c["jvp_in_F"])


def test_jvp_analysis_validates_against_the_schema_and_counts_jvps(jvp_alg):
    out = analyze_run(jvp_alg, progress=False)
    out["algorithm_hash"] = jvp_alg.content_hash  # as the pipeline writes it
    errors = sorted(jsonschema.Draft202012Validator(analysis_schema()).iter_errors(out), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    comp = out["nonlinear"]["comparison"]["in_distribution"]
    assert "newton_gmres" in comp["ratios"] and comp["jvp_in_F"] == jvp_alg.cost["jvp_in_F"]
    costs = [ev + jv * comp["jvp_in_F"] for ev, jv in zip(comp["evaluations"]["learned"], comp["jvps"]["learned"]) if ev is not None]
    assert comp["median_cost"]["learned"] == pytest.approx(float(np.median(costs)))
    jv = out["nonlinear"]["jvp"]
    assert jv["predicted_order_generic_scalar"]["order"] == 2  # minimal-residual step: Newton on scalars
    assert jv["local_factor"]["instances"] == 8 and 0 <= jv["local_factor"]["worst"] < 1
    from algodiscover.reports import render as render_mod

    page = render_mod.render_html(out)
    assert "Newton-type iteration with exact Jacobian-vector products" in page and "Newton-GMRES with exact JVPs" in page
    assert "alpha = &lt;v1, u&gt; / &lt;u, u&gt;" in page and "Measured local order" in page


def test_scalar_family_run_predicts_and_measures_order_two():
    """A user scalar family x^3 + x - p: the one-stage minimal-residual iteration is Newton;
    the analysis predicts order 2 from the family's own Taylor coefficients at its root
    (leading coefficient a2/a1 = 3x*/(3x*^2 + 1)) and measures about 2 on held-out instances."""
    cfg = RunConfig("nonlinear", "custom", model=ModelConfig(stages=1, outer=3, derivatives=("F",)),
                    train=TrainConfig(adam_steps=5, lr=0.01, lbfgs_steps=0), custom_family=CUBIC,
                    options={"step_length": "minimal-residual", "samples": 16, "heldout": 6, "tune_instances": 2,
                             "tol": 1e-13})
    alg = train_run(cfg, progress=False)
    out = analyze_run(alg, progress=False)
    jv = out["nonlinear"]["jvp"]
    fam = jv["predicted_order_family"]
    r = fam["at"]["root"]
    assert abs(r**3 + r - fam["at"]["params"]["p"]) < 1e-12
    assert fam["order"] == 2 and fam["leading_coefficient"] == pytest.approx(3 * r / (3 * r * r + 1), rel=1e-9)
    assert jv["measured_order"]["median"] == pytest.approx(2.0, abs=0.3)


from hypothesis import given, settings
from hypothesis import strategies as st

_weights = st.floats(-2.0, 2.0, allow_nan=False, width=32)


@settings(max_examples=25, deadline=None)
@given(pattern=st.lists(st.sampled_from(["F", "jvp"]), min_size=0, max_size=2), data=st.data())
def test_minimal_residual_step_is_newton_on_scalars_for_any_weights(pattern, data):
    """Whatever the stages and weights (with s != 0 to first order), alpha s = -F/F' on a
    scalar: the error map is Newton's, e+ = (a2/a1) e^2 + O(e^3)."""
    pat = ["F"] + pattern
    n = len(pat)
    W = [[data.draw(_weights) if l < j else 0.0 for l in range(n)] for j in range(n)]
    b = [data.draw(_weights) for _ in range(n)]
    h = data.draw(st.floats(0.125, 3.0))
    a = [Fraction(7, 5), Fraction(1, 3), Fraction(-2, 7)]
    lin = predicted_scalar_order(pat, W, b, h, "learned", taylor=a)["coefficients"][1]
    if lin == pytest.approx(1.0, abs=1e-9):  # s vanishes to first order: no step direction
        return
    r = predicted_scalar_order(pat, W, b, h, "minimal-residual", taylor=a, terms=3)
    assert r["order"] == 2 and r["leading_coefficient"] == pytest.approx(float(a[1] / a[0]), rel=1e-9)
