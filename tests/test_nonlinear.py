"""The nonlinear branch (issue 6): learned iterations for F(x) = 0 against newton_krylov."""

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import newton_krylov

from algodiscover.cli import main
from algodiscover.config import default_config
from algodiscover.errors import InputError
from algodiscover.nonlinear import NonlinearSolver, compare, linearisation, solver_from_artefact, train_run
from algodiscover.nonlinear_baselines import (
    BudgetExceeded,
    CountedF,
    jacobian_function,
    run_anderson,
    run_learned,
    run_newton_exact,
    run_newton_krylov,
    run_picard,
    tune_baselines,
)
from algodiscover.nonlinear_families import get_nonlinear_family, nonlinear_family_from_config
from algodiscover.training import TrainConfig


@pytest.fixture(scope="module")
def hequation_alg():
    return train_run(default_config("nonlinear"), progress=False)


def test_learned_hequation_solver_needs_no_more_evaluations_than_newton_krylov(hequation_alg):
    """m = 100, c in [0.5, 0.9], 100 held-out instances: median ratio <= 1 against scipy's
    newton_krylov at its defaults, both to ||F||_2 <= 1e-10."""
    fam = get_nonlinear_family("hequation")
    assert fam.size == 100 and fam.param_ranges == ((0.5, 0.9),)
    res = compare(solver_from_artefact(hequation_alg), fam, instances=100, seed=123, tol=1e-10, budget=2000)
    assert res["success"]["learned"] == 100 and set(res["evaluations"]) == {"learned", "newton_krylov"}
    assert res["median_ratio_learned_to_newton_krylov"] <= 1.0
    assert res["median_evaluations"]["learned"] <= res["median_evaluations"]["newton_krylov"]
    e = res["ratios"]["newton_krylov"]
    assert e["value"] == res["median_ratio_learned_to_newton_krylov"] and e["n"] == 100
    assert e["ci95"][1] < 1 and e["verdict"] == "fewer"  # the interval excludes 1


def test_linearisation_factor_is_max_q_over_the_jacobian_spectrum(hequation_alg):
    """100 held-out instances and the 2 corners of c in [0.5, 0.9]: the local rate per
    instance is max |q| on its own Jacobian eigenvalues; the worst case sits at c = 0.9
    (the outlier eigenvalue moves left as c grows), above the median."""
    solver = solver_from_artefact(hequation_alg)
    fam = get_nonlinear_family("hequation")
    lin = linearisation(solver, fam, instances=100)
    assert (lin["instances"], lin["corners"], lin["unsolved"]) == (100, 2, 0) and len(lin["per_instance_rates"]) == 102
    lo, hi = lin["spectrum"]["interval"]
    assert 0.4 < lo < 0.9 and abs(hi - 1.0) < 1e-8  # one outlier eigenvalue, the rest clustered at 1
    lam = np.linspace(lo, hi, 2001)
    co = np.array(lin["residual_polynomial_coefficients"])
    q = np.polynomial.polynomial.polyval(lam, co)
    assert lin["local_rate"] <= np.max(np.abs(q)) + 1e-12 and lin["local_rate"] < 0.5
    assert lin["local_rate"] == max(lin["per_instance_rates"]) > lin["local_rate_median"]
    assert lin["worst"] == {"rate": lin["local_rate"], "params": {"c": 0.9}, "instance": "corner"}
    # the worst case checked directly: max |q| over the eigenvalues of J at the solution for c = 0.9
    from algodiscover.nonlinear_baselines import jacobian_function

    F = fam.numpy_residual(np.array([0.9]))
    x = newton_krylov(F, np.ones(100), f_tol=1e-13)
    ev = np.linalg.eigvals(jacobian_function(fam, np.array([0.9]))(x))
    assert lin["local_rate"] == pytest.approx(np.max(np.abs(np.polynomial.polynomial.polyval(ev, co))), rel=1e-8)


def test_discover_nonlinear_writes_artefact_analysis_and_report(tmp_path, capsys):
    out = tmp_path / "nl"
    cfg = tmp_path / "nl.toml"
    cfg.write_text('[problem]\nclass = "nonlinear"\nfamily = "hequation"\n[nonlinear]\nheldout = 10\nsamples = 32\n'
                   '[train]\nadam_steps = 60\nlbfgs_steps = 40\n')
    assert main(["discover", "nonlinear", "--config", str(cfg), "--out", str(out), "--format", "html", "--quiet"]) == 0
    d = json.loads((out / "analysis.json").read_text())
    assert d["kind"] == "newton-krylov" and d["mode"] == "derivative-free"
    for key in ("order", "tol", "residuals", "rational", "exact_order", "identified_as", "summary"):
        assert key in d
    comp = d["nonlinear"]["comparison"]
    assert set(comp) == {"in_distribution", "out_of_distribution"}
    assert "median_ratio_learned_to_newton_krylov" in comp["in_distribution"]
    base = d["nonlinear"]["baselines"]
    assert base["methods"] == ["newton_krylov", "newton_krylov_tuned", "anderson(3)", "anderson(4)", "anderson(5)", "picard", "newton_exact"]
    assert base["jacobian_cost"]["jacobian_in_F"] > 0 and base["jacobian_cost"]["size"] == 100
    for c in comp.values():
        # every ratio learned / baseline carries its interval, n and a verdict that agrees with the interval
        assert set(c["ratios"]) == set(base["methods"]) and set(c["evaluations"]) == {"learned", *base["methods"]}
        assert c["ratios"]["newton_krylov"]["value"] == c["median_ratio_learned_to_newton_krylov"]
        for m, e in c["ratios"].items():
            assert e["statistic"] == "median of ratios" and e["learned"] == "numerator"
            assert e["n"] == sum(a is not None and b is not None for a, b in zip(c["evaluations"]["learned"], c["evaluations"][m]))
            if e["n"] >= 5:
                lo, hi = e["ci95"]
                assert e["verdict"] == ("more" if lo > 1 else "fewer" if hi < 1 else "no significant difference")
        assert c["fewest"] in c["evaluations"]
    assert "Fewest evaluations" in d["summary"] and "95% bootstrap interval" in d["summary"]
    assert (out / "algorithm.json").exists() and (out / "report.html").exists()
    assert "newton_krylov" in (out / "report.html").read_text()


def test_newton_krylov_mode_and_scipy_inner_solver():
    cfg = replace(default_config("nonlinear").with_overrides(stages=2, outer=3),
                  options={"mode": "newton-krylov", "samples": 32}, train=TrainConfig(adam_steps=60, lbfgs_steps=60))
    alg = train_run(cfg, progress=False)
    assert alg.kind == "newton-krylov" and alg.structure["mode"] == "newton-krylov"
    solver = solver_from_artefact(alg)
    fam = get_nonlinear_family("hequation")
    probs = fam.sample(3, seed=9)
    for i in range(3):
        F = fam.numpy_residual(probs.params[i].numpy())
        res = solver.solve(F, probs.x0[i].numpy(), tol=1e-10)
        assert res.success and np.linalg.norm(F(res.x)) <= 1e-10
        x = newton_krylov(F, probs.x0[i].numpy(), method=solver.inner_solver(), f_tol=1e-10)
        assert np.linalg.norm(F(x), np.inf) <= 1e-10


def test_safeguard_rejects_and_counts_bad_steps():
    fam = get_nonlinear_family("hequation")
    F = fam.numpy_residual(np.array([0.8]))
    # Richardson with a far too large step: every full step overshoots
    solver = NonlinearSolver("derivative-free", [[0.0]], [1.0], 3.5, safeguard_rate=1.0, max_backtracks=4)
    res = solver.solve(F, np.ones(100), tol=1e-10, maxiter=400)
    assert res.success and res.rejected_steps > 0 and f"{res.rejected_steps} steps rejected" in res.message
    loose = NonlinearSolver("derivative-free", [[0.0]], [1.0], 3.5, safeguard_rate=1e9, max_backtracks=0)
    assert not loose.solve(F, np.ones(100), tol=1e-10, maxiter=50).success


def test_bad_residuals_are_reported():
    solver = NonlinearSolver("derivative-free", [[0.0]], [1.0], 1.0)
    with pytest.raises(InputError, match="F returns shape"):
        solver.solve(lambda x: x[:-1], np.ones(3))
    with pytest.raises(InputError, match="not finite"), np.errstate(invalid="ignore"):
        solver.solve(lambda x: np.log(x - 2.0), np.ones(3))
    with pytest.raises(InputError, match="F is not finite"):
        nonlinear_family_from_config({"name": "bad", "unknowns": ["x"], "F": ["log(x - 2)"], "guess": [1.0]})
    with pytest.raises(InputError, match="unknown name 'q'"):
        nonlinear_family_from_config({"name": "bad", "unknowns": ["x"], "F": ["q*x"], "guess": [1.0]})


def test_bad_nonlinear_config_exits_2(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[problem]\nclass = "nonlinear"\nfamily = "custom"\n[family]\nname = "nan"\nunknowns = ["x", "y"]\n'
                   'F = ["sqrt(x - 5)", "y"]\nguess = [1.0, 1.0]\n')
    assert main(["discover", "nonlinear", "--config", str(cfg), "--out", str(tmp_path / "o"), "--format", "none", "--quiet"]) == 2
    assert "not finite" in capsys.readouterr().err
    assert main(["discover", "nonlinear", "--family", "nope", "--out", str(tmp_path / "o"), "--format", "none"]) == 2


@pytest.mark.parametrize("name", ["bratu1d", "bratu2d", "brusselator"])
def test_other_families_have_roots_newton_krylov_finds(name):
    fam = get_nonlinear_family(name)
    probs = fam.sample(2, seed=0)
    for i in range(2):
        F = fam.numpy_residual(probs.params[i].numpy())
        x = newton_krylov(F, probs.x0[i].numpy(), f_tol=1e-9)
        assert np.linalg.norm(F(x), np.inf) <= 1e-9


def test_user_family_solves():
    fam = nonlinear_family_from_config({"name": "cubic", "unknowns": ["x", "y"], "F": ["x**3 + x - r", "y - x"],
                                        "params": {"r": [2.0, 10.0]}, "guess": [1.5, 1.5], "perturbation": 0.1})
    solver = NonlinearSolver("derivative-free", [[0.0]], [1.0], 0.05)  # damped Richardson: x <- x - h F(x)
    probs = fam.sample(4, seed=1)
    for i in range(4):
        F = fam.numpy_residual(probs.params[i].numpy())
        res = solver.solve(F, probs.x0[i].numpy(), tol=1e-10, maxiter=5000)
        r = float(probs.params[i, 0])
        root = np.roots([1.0, 0.0, 1.0, -r]).real[np.abs(np.roots([1.0, 0.0, 1.0, -r]).imag) < 1e-12][0]
        assert res.success and np.allclose(res.x, [root, root], atol=1e-9)


# ----------------------------------------------------------------------------- baselines, counted
def _counted(F):
    """An independent counter around F: what the method really asked for."""
    calls = {"n": 0}

    def G(x):
        calls["n"] += 1
        return F(x)

    return G, calls


def test_every_baseline_is_charged_what_it_spends(hequation_alg):
    fam = get_nonlinear_family("hequation")
    probs = fam.sample(3, seed=11)
    solver = solver_from_artefact(hequation_alg)
    for i in range(3):
        p, x0 = probs.params[i].numpy(), probs.x0[i].numpy()
        F = fam.numpy_residual(p)
        runs = {
            "learned": lambda G: run_learned(solver, G, x0, 1e-10, 2000),
            "newton_krylov": lambda G: run_newton_krylov(G, x0, 1e-10, 2000),
            "tuned": lambda G: run_newton_krylov(G, x0, 1e-10, 2000, {"method": "gmres", "inner_maxiter": 3}),
            "anderson": lambda G: run_anderson(G, x0, 1e-10, 2000, 3, {"alpha": -1.0}),
            "picard": lambda G: run_picard(G, x0, 1e-10, 2000, 0.95),
            "newton_exact": lambda G: run_newton_exact(G, jacobian_function(fam, p), x0, 1e-10, 2000),
        }
        for name, run in runs.items():
            G, calls = _counted(F)
            r = run(G)
            # converged, stopped at the first iterate below tol, and charged every call it made
            assert r.evaluations is not None and r.evaluations == r.counted == calls["n"], name
        # the learned solver's own count agrees with the wrapper's
        res = solver.solve(F, x0, tol=1e-10)
        assert res.nmatvec == run_learned(solver, F, x0, 1e-10, 2000).evaluations
        # Newton: one F per Jacobian plus the first; its cost in F-equivalents
        r = run_newton_exact(F, jacobian_function(fam, p), x0, 1e-10, 2000)
        assert r.evaluations == r.jacobians + 1 and r.cost(2.5) == r.evaluations + 2.5 * r.jacobians
    # the budget is a hard limit: the wrapper refuses the call past it
    Fc = CountedF(fam.numpy_residual(probs.params[0].numpy()), 3)
    for _ in range(3):
        Fc(probs.x0[0].numpy())
    with pytest.raises(BudgetExceeded):
        Fc(probs.x0[0].numpy())
    assert run_picard(fam.numpy_residual(probs.params[0].numpy()), probs.x0[0].numpy(), 1e-10, 5, 0.95).evaluations is None


def test_analytic_jacobians_match_forward_mode_autodiff():
    import torch

    for name in ("hequation", "bratu1d", "bratu2d", "brusselator"):
        fam = get_nonlinear_family(name)
        probs = fam.sample(2, seed=4)
        J = fam.jacobian(probs.x0, probs.params)
        for i in range(2):
            auto = torch.func.jacfwd(lambda v: fam.residual(v[None], probs.params[i:i + 1])[0])(probs.x0[i])
            assert torch.allclose(J[i], auto, rtol=1e-12, atol=1e-12 * float(auto.abs().max())), name


def test_tuning_uses_training_instances_and_finds_andersons_sign():
    """On the H-equation F'(x) is near +I, so Anderson's initial Jacobian -1/alpha needs
    alpha < 0: the tuning finds it and beats SciPy's default alpha on the tuning instances."""
    fam = get_nonlinear_family("hequation", 30)
    probs = fam.sample(8, seed=0)
    tuning = [(probs.params[i].numpy(), probs.x0[i].numpy()) for i in range(8)]
    b = tune_baselines(fam, tuning, tol=1e-10, budget=2000)
    assert b.methods == ["newton_krylov", "newton_krylov_tuned", "anderson(3)", "anderson(4)", "anderson(5)", "picard", "newton_exact"]
    t = b.anderson[3]
    assert t.instances == 8 and t.options["alpha"] is not None and t.options["alpha"] < 0
    default = [run_anderson(fam.numpy_residual(p), x0, 1e-10, 2000, 3).evaluations for p, x0 in tuning]
    assert t.median_cost < np.median([np.inf if v is None else v for v in default])
    assert b.jacobian["jacobian"].startswith("analytic") and b.jacobian["size"] == 30


def test_solver_reprs_show_their_structure_and_weights():
    from algodiscover.nonlinear import NonlinearSolver
    from algodiscover.nonlinear_jvp import JvpSolver

    r = repr(NonlinearSolver("derivative-free", [[0, 0], [0.5, 0]], [0.25, 0.75], 0.8))
    assert "mode='derivative-free'" in r and "stages=2" in r and "b=[0.25, 0.75]" in r and "W_lower=[[0.5]]" in r
    r = repr(JvpSolver(["F", "jvp"], [[0, 0], [1, 0]], [1, 0.5], 1.0, jvp_in_F=15.0))
    assert "stages=['F', 'jvp']" in r and "one JVP = 15 F" in r and "cost_per_step=16 F" in r
