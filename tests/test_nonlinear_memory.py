"""R2N2 with memory for nonlinear systems (issue 16, nonlinear part): configuration, the
memory update at solve time, the linearised recurrence and a trained run against Anderson(M)."""

from dataclasses import replace

import numpy as np
import pytest

from algodiscover.config import ModelConfig, RunConfig, default_config
from algodiscover.errors import InputError
import jsonschema

from algodiscover.analysis.schema import AnalysisView, analysis_schema
from algodiscover.nonlinear import NonlinearSolver, analyze_run, linearisation, solver_from_artefact, structure_text, train_run
from algodiscover.nonlinear_baselines import run_learned
from algodiscover.nonlinear_families import get_nonlinear_family
from algodiscover.training import TrainConfig


def test_memory_configuration_for_nonlinear_solvers():
    RunConfig("nonlinear", "hequation", model=ModelConfig(stages=1, outer=4, memory=2, startup="rk"))
    with pytest.raises(InputError, match="startup = 'rk4' applies to ODEs"):
        RunConfig("nonlinear", "hequation", model=ModelConfig(stages=1, outer=4, memory=2))
    with pytest.raises(InputError, match="startup = 'exact'"):
        RunConfig("nonlinear", "hequation", model=ModelConfig(stages=1, outer=4, memory=1, startup="exact"))
    cfg = RunConfig("nonlinear", "hequation", model=ModelConfig(stages=1, outer=4, memory=1, startup="rk"),
                    options={"mode": "newton-krylov"})
    with pytest.raises(InputError, match="derivative-free"):
        train_run(cfg, progress=False)
    with pytest.raises(InputError, match="memory"):
        NonlinearSolver("derivative-free", [[0.0]], [1.0], 1.0, betas=[0.1], gammas=[[0.0, 1.0]])


def test_heavy_ball_memory_solver_follows_its_recurrence_and_linearised_factor():
    """x_{k+1} = x_k - alpha F(x_k) + beta (x_k - x_{k-1}) on a linear F(x) = A x - c: the
    iterates are the heavy-ball ones, and the linearised factor on the spectrum [a, b] is the
    optimal sqrt(beta) = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)."""
    a, b_ = 0.5, 1.0
    alpha = 4 / (np.sqrt(a) + np.sqrt(b_)) ** 2
    beta = ((np.sqrt(b_) - np.sqrt(a)) / (np.sqrt(b_) + np.sqrt(a))) ** 2
    solver = NonlinearSolver("derivative-free", [[0.0]], [alpha], 1.0, betas=[beta], gammas=[[0.0]], safeguard_rate=1e9)
    A = np.diag(np.linspace(a, b_, 6))
    c = np.arange(1.0, 7.0)
    F = lambda x: A @ x - c  # noqa: E731
    xs = []
    solver.solve(F, np.zeros(6), tol=1e-300, maxiter=6, callback=lambda x: xs.append(x.copy()))
    prev, x = np.zeros(6), np.zeros(6)
    ref = []
    for k in range(6):
        nxt = x - alpha * F(x) + (beta * (x - prev) if k >= 1 else 0.0)
        prev, x = x, nxt
        ref.append(x)
    np.testing.assert_allclose(np.array(xs), np.array(ref), rtol=1e-13, atol=1e-13)
    fam = get_nonlinear_family("hequation")
    lin = linearisation(solver, fam, instances=100)
    assert lin["instances"] == 100 and "r_{k+1}" in lin["memory_recurrence"]
    lo, hi = lin["spectrum"]["interval"]
    assert 0.5 < lo and hi < 1 + 1e-8  # every Jacobian eigenvalue lies in [0.5, 1], where the roots are complex of modulus sqrt(beta)
    assert lin["local_rate"] == pytest.approx(np.sqrt(beta), rel=1e-6) and lin["local_rate_median"] == pytest.approx(np.sqrt(beta), rel=1e-6)
    assert lin["factor"]["per_outer"] == pytest.approx(np.sqrt(beta), rel=1e-6)
    assert "memory 1" in lin["meaning"]
    assert "x_(k-0) - x_(k-1)" in structure_text(solver)


@pytest.fixture(scope="module")
def memory_alg():
    cfg = default_config("nonlinear")
    cfg = replace(cfg, model=replace(cfg.model, stages=1, outer=8, memory=1, startup="rk"),
                  train=TrainConfig(adam_steps=150, lr=0.01, lbfgs_steps=50),
                  options={**cfg.options, "samples": 64, "heldout": 10, "tune_instances": 4, "linearisation_instances": 100})
    return train_run(cfg, progress=False)


def test_learned_memory_iteration_trains_saves_its_weights_and_converges(memory_alg):
    w, st = memory_alg.weights, memory_alg.structure
    assert len(w["betas"]) == 1 and np.shape(w["gammas"]) == (1, 1)
    assert (st["memory"], st["memory_form"], st["startup"]) == (1, "full", "rk")
    solver = solver_from_artefact(memory_alg)
    assert solver.memory == 1
    fam = get_nonlinear_family("hequation")
    probs = fam.sample(20, 99)
    runs = [run_learned(solver, fam.numpy_residual(probs.params[i].numpy()), probs.x0[i].numpy(), 1e-10, 500) for i in range(20)]
    assert all(r.evaluations is not None for r in runs)
    # one evaluation per outer step (n = 1): memory reuses old evaluations, it adds none
    assert float(np.median([r.evaluations for r in runs])) <= 25


def test_memory_analysis_compares_with_anderson_at_the_same_depth_and_validates(memory_alg):
    out = analyze_run(memory_alg, progress=False)
    out["algorithm_hash"] = memory_alg.content_hash
    errors = list(jsonschema.Draft202012Validator(analysis_schema()).iter_errors(out))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    mem = out["nonlinear"]["memory"]
    assert mem["depth"] == 1 and mem["anderson_same_depth"] == "anderson(1)"
    comp = out["nonlinear"]["comparison"]["in_distribution"]
    assert {"anderson(1)", "anderson(3)", "picard", "newton_krylov"} <= set(comp["ratios"])
    e = comp["ratios"]["anderson(1)"]
    assert e["n"] == 10 and (e["ci95"] is None or e["ci95"][0] <= e["value"] <= e["ci95"][1])
    assert "Anderson(1) at the same depth" in out["summary"]
    assert AnalysisView.read(out).nonlinear_section.memory.depth == 1
    from algodiscover.reports import render as render_mod

    page = render_mod.render_html(out)
    assert "spectral radius of the companion matrix" in page and "no least-squares solve" in page
