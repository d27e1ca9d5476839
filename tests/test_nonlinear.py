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
    solver = solver_from_artefact(hequation_alg)
    lin = linearisation(solver, get_nonlinear_family("hequation"), instances=2)
    lo, hi = lin["spectrum"]["interval"]
    assert 0.4 < lo < 0.9 and abs(hi - 1.0) < 1e-8  # one outlier eigenvalue, the rest clustered at 1
    lam = np.linspace(lo, hi, 2001)
    co = np.array(lin["residual_polynomial_coefficients"])
    q = np.polynomial.polynomial.polyval(lam, co)
    assert lin["local_rate"] <= np.max(np.abs(q)) + 1e-12 and lin["local_rate"] < 0.5


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
