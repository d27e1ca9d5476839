"""R2N2 with memory on linear systems: the recurrence, its factor and identification, the
numpy and torch iterations agreeing, the solver, the configuration, and what training learns.

Tolerances are stated with each assert; the issue's goal on 200 x 200 systems with 100
held-out systems is the last test (a few seconds: the spectral objective needs no systems),
the figures over seeds are printed by benchmarks/linear_memory.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from algodiscover.analysis.iterations import (
    MemoryStepper,
    compare_at_equal_matvecs,
    run_chebyshev,
    run_heavy_ball,
    run_memory_iteration,
    run_polynomial_iteration,
)
from algodiscover.analysis.memory import identify_memory_iteration, memory_recurrence, optimal_two_step_factor
from algodiscover.analysis.memory_krylov import analyze_memory_iteration
from algodiscover.analysis.numbers import parse_entry
from algodiscover.analysis.spectrum import Spectrum
from algodiscover.config import ModelConfig, RunConfig, config_from_mapping, default_config
from algodiscover.errors import InputError
from algodiscover.linear import (
    LinearR2N2,
    MemorySolver,
    PolynomialSolver,
    build_model,
    family_for,
    make_loss,
    solver_from_artefact,
    spectral_loss,
    train_run,
)
from algodiscover.linear_memory import memory_log_factors
from algodiscover.options import LinearTrainingConfig


def _chebyshev_semi_iteration_limit(a, b):
    """The stationary limit of Chebyshev semi-iteration on [a, b] (Varga; Golub-Van Loan 11.2):
    x_{k+1} = omega_{k+1} (x_k + g r_k - x_{k-1}) + x_{k-1}, g = 2/(a+b), sigma = (b-a)/(b+a),
    omega_1 = 1, omega_2 = 1/(1 - sigma^2/2), omega_{k+1} = 1/(1 - sigma^2 omega_k / 4); the
    fixed point omega = 2/(1 + sqrt(1 - sigma^2)). As a memory step: alpha = omega g, beta = omega - 1."""
    a, b = sp.Integer(a), sp.Integer(b)
    g, sigma = 2 / (a + b), (b - a) / (b + a)
    w = sp.Symbol("w", positive=True)
    fixed = [r for r in sp.solve(sp.Eq(w, 1 / (1 - sigma**2 * w / 4)), w) if r < 2]  # the stable fixed point lies in (1, 2)
    assert len(fixed) == 1
    omega = sp.simplify(fixed[0])
    seq = [1.0, 1.0 / (1 - float(sigma) ** 2 / 2)]
    for _ in range(60):
        seq.append(1.0 / (1 - float(sigma) ** 2 * seq[-1] / 4))
    assert seq[-1] == pytest.approx(float(omega), rel=1e-14)   # the semi-iteration's coefficients converge to it
    return omega * g, omega - 1


@pytest.mark.parametrize("a, b, exact", [(1, 10, (sp.sqrt(10) - 1) / (sp.sqrt(10) + 1)), (1, 25, sp.Rational(2, 3)), (4, 9, sp.Rational(1, 5))])
def test_chebyshev_semi_iteration_recurrence_is_identified_and_its_factor_is_exact(a, b, exact):
    alpha, beta = _chebyshev_semi_iteration_limit(a, b)
    rec = memory_recurrence([[0]], [alpha], 1, betas=[beta])
    assert rec.exact and rec.memory == 1
    # the three-term recurrence r_{k+1} = (1 + beta - alpha lambda) r_k - beta r_{k-1}, exactly
    z = sp.Symbol("z")
    assert sp.simplify(rec.coefficients[0] - (1 + beta + alpha * z)) == 0 and sp.simplify(rec.coefficients[1] + beta) == 0
    ex = rec.exact_factor_on(a, b)
    assert ex is not None and sp.simplify(ex - exact) == 0
    assert sp.simplify(optimal_two_step_factor(a, b) - exact) == 0
    name = identify_memory_iteration(rec, float(a), float(b))
    assert name is not None and name.startswith("stationary Chebyshev / heavy ball") and f"the optimal one for [{a:g}, {b:g}]" in name
    an = analyze_memory_iteration([[0]], [alpha], 1, [beta], [[0]], Spectrum((float(a), float(b)), "stated"))
    j = an.to_json()
    assert sp.simplify(parse_entry(j["exact_factor"]["per_outer"]) - exact) == 0        # exact strings, read back by the safe parser
    assert sp.simplify(parse_entry(j["optimal_two_step"]["per_matvec_exact"]) - exact) == 0
    assert j["factor_ratio"] == pytest.approx(1.0, abs=1e-6)   # float grid: a double root at the ends costs ~sqrt(eps)
    assert j["identified_as"] == name and j["recurrence"]["exact"]


def test_a_non_optimal_or_gamma_iteration_is_not_called_optimal_and_factors_are_companion_radii():
    spec = Spectrum((1.0, 10.0), "stated")
    an = analyze_memory_iteration([[0.0]], [0.2], 1.0, [0.35], [[0.0]], spec)
    assert "optimal" not in (an.identified_as or "x") and an.identified_as.startswith("stationary Chebyshev / heavy ball")
    lam = np.linspace(1, 10, 2001)
    direct = [max(abs(np.roots([1, -(1.35 - 0.2 * l), 0.35]))) for l in lam]
    assert an.factor["per_outer"] == pytest.approx(max(direct), rel=1e-12)
    assert an.factor_ratio > 1.0
    full = analyze_memory_iteration([[0.0]], [0.2], 1.0, [0.3], [[0.02]], spec)
    assert full.identified_as is None and "r_{k-1}" in full.text()


@settings(max_examples=25, deadline=None)
@given(alpha=st.floats(0.05, 0.4), beta=st.floats(0.0, 0.9), gamma=st.floats(-0.05, 0.05), lam=st.floats(0.5, 12.0))
def test_numpy_memory_iteration_follows_its_recurrence(alpha, beta, gamma, lam):
    """On a 1 x 1 system the residuals of run_memory_iteration obey r_{k+1} = c0 r_k + c1 r_{k-1}
    (relative 1e-9) once the start-up step is done."""
    rec = memory_recurrence([[0.0]], [alpha], 1.0, [beta], [[gamma]])
    c0, c1 = (complex(sp.N(c.subs(sp.Symbol("z"), -lam))).real for c in rec.coefficients)
    st_ = MemoryStepper(np.zeros((1, 1)), np.array([alpha]), 1.0, [beta], [[gamma]])
    mv = lambda v: lam * v  # noqa: E731
    x, r, rs = np.zeros(1), np.ones(1), [1.0]
    for _ in range(8):
        x = st_.step(mv, x, r)
        r = 1.0 - lam * x
        rs.append(float(r[0]))
    for k in range(1, 8):
        assert rs[k + 1] == pytest.approx(c0 * rs[k] + c1 * rs[k - 1], rel=1e-9, abs=1e-12 * max(1.0, abs(rs[k])))


def _spd(m, seed, lo=1.0, hi=10.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((m, m)))
    lam = rng.uniform(lo, hi, m)
    lam[:2] = lo, hi
    return (Q * lam) @ Q.T, rng.standard_normal(m)


def test_torch_memory_model_and_numpy_runner_agree():
    """The unrolled training iteration (LinearR2N2 with memory) and the analysis runner give the
    same iterates (relative 1e-12), two stages, memory 2, full form."""
    torch.manual_seed(0)
    model = LinearR2N2(2, 6, h0=0.1, memory=2, memory_form="full", seed=3)
    with torch.no_grad():
        model.memory.beta.copy_(torch.tensor([0.2, -0.05], dtype=torch.float64))
        model.memory.gamma.copy_(torch.tensor([[0.1, -0.02], [0.03, 0.01]], dtype=torch.float64))
    A, rhs = _spd(12, 0)
    At, bt = torch.from_numpy(A), torch.from_numpy(rhs).reshape(1, -1)
    xs = model.iterate(lambda X: bt - X @ At.T, torch.zeros_like(bt), outer=6, return_all=True)
    beta, gamma = model.memory_lists()
    st_ = MemoryStepper(model.W().detach().numpy(), model.b().detach().numpy(), float(model.h().detach()), beta, gamma)
    x, r = np.zeros(12), rhs.copy()
    for k in range(6):
        x = st_.step(lambda v: A @ v, x, r)
        r = rhs - A @ x
        assert np.allclose(x, xs[k].detach().numpy().ravel(), rtol=1e-12, atol=1e-13)


def test_renormalised_unroll_equals_the_plain_one():
    model = LinearR2N2(1, 12, h0=0.2, memory=1, memory_form="momentum")
    with torch.no_grad():
        model.memory.beta.fill_(0.3)
    lam = torch.linspace(1, 10, 7, dtype=torch.float64).reshape(-1, 1)
    g = lambda Y: -lam * Y  # noqa: E731
    logs = memory_log_factors(model, g, torch.ones_like(lam), 12)
    x = model.iterate(g, torch.ones_like(lam), outer=12)
    assert torch.allclose(logs, torch.log(torch.abs(x.reshape(-1))) / 12, rtol=1e-12, atol=1e-14)


def test_memory_zero_is_unchanged():
    cfg = default_config("linear")
    assert "memory" not in cfg.to_json()["model"] and "startup" not in cfg.to_json()["model"]
    opts = LinearTrainingConfig.from_options(dict(cfg.options))
    fam = family_for(cfg.family, opts)
    model = build_model(cfg, opts, fam)
    assert model.memory_depth == 0 and {n for n, _ in model.named_parameters()} == {"w_raw", "b_raw", "log_h"}
    sopts = LinearTrainingConfig.from_options({**cfg.options, "objective": "spectral"})
    a, b = make_loss(model, sopts, fam, None, 3)(), spectral_loss(model, fam.spectrum, sopts.grid, sopts.temperature)()
    assert float(a.detach()) == float(b.detach())
    W, bb, h = model.W().detach().numpy(), model.b().detach().numpy(), float(model.h().detach())
    A, rhs = _spd(20, 1)
    plain = run_polynomial_iteration(A, rhs, W, bb, h, tol=1e-8, budget=400)
    via = run_memory_iteration(A, rhs, W, bb, h, [], [], tol=1e-8, budget=400)
    assert plain.matvecs == via.matvecs and np.allclose(plain.residuals, via.residuals, rtol=1e-10)
    comp = compare_at_equal_matvecs(W, bb, h, [(A, rhs)], fam.spectrum, symmetric=True, tol=1e-6, budget=500)
    assert "heavy-ball" not in comp.histories and "memory" not in comp.counting
    s = PolynomialSolver(W, bb, h, interval=(1, 10))
    assert type(s) is PolynomialSolver and s.memory == 0 and repr(s).startswith("PolynomialSolver(") and "stages=4" in repr(s)


@pytest.mark.parametrize("model, message", [
    ({"stages": 1, "outer": 4, "memory": 1, "startup": "rk4"}, "model.startup = 'rk4' applies to ODEs"),
    ({"stages": 1, "outer": 4, "memory": 1, "startup": "exact"}, "model.startup = 'exact' applies to ODEs"),
    ({"stages": 1, "outer": 1, "memory": 1}, "model.outer must be at least model.memory + 1"),
    ({"stages": 1, "outer": 4, "memory": 1, "memory_form": "nesterov"}, "model.memory_form must be one of"),
])
def test_config_errors_are_one_line_and_name_the_key(model, message):
    with pytest.raises(InputError) as exc:
        config_from_mapping({"problem": {"class": "linear", "family": "spd"}, "model": model})
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_linear_memory_config_defaults_to_the_rk_startup_and_checks_the_minimax_horizon():
    cfg = config_from_mapping({"problem": {"class": "linear", "family": "spd"}, "model": {"stages": 1, "outer": 4, "memory": 1}})
    assert cfg.model.startup == "rk" and cfg.to_json()["model"]["memory"] == 1
    with pytest.raises(InputError, match="startup"):
        RunConfig("linear", "spd", 0, None, ModelConfig(stages=1, outer=4, memory=1))  # the dataclass default rk4 is refused
    bad = config_from_mapping({"problem": {"class": "linear", "family": "spd"}, "model": {"stages": 1, "outer": 4, "memory": 2},
                               "linear": {"objective": "minimax", "minimax_outer": 2, "samples": 4, "size": 8}, "train": {"adam_steps": 1, "lbfgs_steps": 0}})
    with pytest.raises(InputError, match="minimax_outer must be at least model.memory \\+ 1 = 3"):
        train_run(bad, progress=False)


def test_memory_solver_solves_and_its_preconditioner_is_the_stated_polynomial():
    alpha, beta = 4 / (1 + math.sqrt(10)) ** 2, ((math.sqrt(10) - 1) / (math.sqrt(10) + 1)) ** 2
    s = MemorySolver([[0.0]], [1.0], alpha, [beta], [[0.0]], interval=(1, 10), form="momentum")
    assert "memory=1" in repr(s) and "betas=[0.269874]" in repr(s) and s.memory == 1
    A, rhs = _spd(60, 2)
    res = s.solve(A, rhs, rtol=1e-10)
    assert res.success and np.linalg.norm(rhs - A @ res.x) <= 1e-10 * np.linalg.norm(rhs) * 1.0001
    hb = run_heavy_ball(A, rhs, 1.0, 10.0, tol=1e-10)
    assert res.nmatvec == hb.matvecs_to_tol   # the same iteration, counted the same way
    cheb = run_chebyshev(A, rhs, 1.0, 10.0, tol=1e-10)
    assert res.nmatvec <= 1.1 * cheb.matvecs_to_tol
    lam = np.array([1.0, 3.0, 10.0])
    P = s.preconditioner(np.diag(lam), outer=3)
    y = np.ones(3)
    assert np.allclose(y - lam * P.matvec(y), s.residual_after(lam, 3), rtol=1e-12)   # 1 - lambda p(lambda) = residual of 3 steps
    assert P.spd
    with pytest.raises(InputError, match="gammas"):
        MemorySolver([[0.0]], [1.0], 0.2, [0.3], [[0.0, 1.0]])


def test_minimax_objective_with_memory_unrolls_the_memory_iteration():
    """The minimax objective on 32 small spd systems, 30 memory steps: within 1.05x of 0.519."""
    cfg = config_from_mapping({"problem": {"class": "linear", "family": "spd"},
                               "model": {"stages": 1, "outer": 4, "memory": 1, "memory_form": "momentum"},
                               "train": {"adam_steps": 200, "lr": 0.02, "lbfgs_steps": 100},
                               "linear": {"objective": "minimax", "size": 30, "samples": 32, "minimax_outer": 30}})
    w = train_run(cfg, progress=False).weights
    an = analyze_memory_iteration(w["W"], w["b"], w["h"], w["betas"], w["gammas"], Spectrum((1.0, 10.0), "stated"), form="momentum")
    assert an.factor_ratio <= 1.05 and an.identified_as is not None


def test_learned_heavy_ball_on_a_small_spd_family(tmp_path):
    """Spectral objective (no systems) on spd [1, 10]: the learned one-stage memory-1 iteration
    in the heavy-ball form is identified as a heavy ball with factor within 1.05x of 0.519;
    the run's analysis.json validates and its report has the memory section."""
    from algodiscover.analysis import AnalysisView
    from algodiscover.analysis.schema import analysis_schema
    from algodiscover.pipeline import discover
    import jsonschema

    cfg = config_from_mapping({"problem": {"class": "linear", "family": "spd"},
                               "model": {"stages": 1, "outer": 40, "memory": 1, "memory_form": "momentum"},
                               "train": {"adam_steps": 300, "lr": 0.02, "lbfgs_steps": 200},
                               "linear": {"objective": "spectral", "size": 30, "grid": 128, "heldout": 8}})
    out = tmp_path / "run"
    discover(cfg, out=out, progress=False)
    doc = json.loads((out / "analysis.json").read_text())
    errors = list(jsonschema.Draft202012Validator(analysis_schema()).iter_errors(doc))
    assert not errors, errors[0].message
    mem = AnalysisView.read(doc).krylov_section.memory
    assert mem is not None and mem.factor_ratio <= 1.05 and mem.identified_as.startswith("stationary Chebyshev / heavy ball")
    assert doc["identified_as"] == mem.identified_as
    assert "heavy-ball" in doc["krylov"]["comparison"]["methods"]
    alg = json.loads((out / "algorithm.json").read_text())
    assert len(alg["weights"]["betas"]) == 1 and alg["structure"]["memory"] == 1 and alg["structure"]["startup"] == "rk"
    assert isinstance(solver_from_artefact(out / "algorithm.json"), MemorySolver)
    html = (out / "report.html").read_text()
    assert "The iteration with memory" in html and "optimal stationary two-step method" in html
    assert (out / "figures").exists() and "companion radius per matvec" in html   # the factor figure (inline SVG)


def test_issue_16_goal_on_200x200_spd_with_100_heldout_systems():
    """spd, eigenvalues in [1, 10], m = 200: factor per matvec within 1.05x of 0.519 and median
    matvecs to 1e-10 within 1.1x of Chebyshev semi-iteration on 100 held-out systems (about 6 s
    on 2 cores, so not marked slow; benchmarks/linear_memory.py prints the figures over seeds)."""
    from algodiscover.linear import analyze_run

    cfg = config_from_mapping({"problem": {"class": "linear", "family": "spd"},
                               "model": {"stages": 1, "outer": 40, "memory": 1, "memory_form": "momentum"},
                               "train": {"adam_steps": 300, "lr": 0.02, "lbfgs_steps": 200},
                               "linear": {"objective": "spectral", "size": 200, "grid": 256, "heldout": 100}})
    a = analyze_run(train_run(cfg, progress=False), progress=False)
    mem = a["krylov"]["memory"]
    assert mem["factor"]["per_matvec"] <= 1.05 * 0.5194938532959157
    comp = a["krylov"]["comparison"]
    assert comp["instances"] == 100
    assert comp["methods"]["learned"]["median"] <= 1.1 * comp["methods"]["chebyshev"]["median"]


def test_pseudocode_names_every_nonzero_weight_and_the_startup():
    spec = Spectrum((1.0, 10.0), "stated")
    an = analyze_memory_iteration([[0, 0], [0.5, 0]], [0.3, 0.7], 0.1, [0.2, -0.05], [[0.1, 0.0], [0.0, -0.02]], spec, name="X")
    code = an.to_json()["pseudocode"]
    for piece in ("X: R2N2 with memory M = 2", "v2[k] = r - h*A(0.5*v1[k])", "x[k+1] = x[k] + h*(0.3*v1[k] + 0.7*v2[k])",
                  "if k >= 2:", "0.2*(x[k] - x[k-1])", "- 0.05*(x[k-1] - x[k-2])", "h*(0.1*v1[k-1])", "h*(-0.02*v2[k-2])"):
        assert piece in code, piece
    assert "v1[k-2]" not in code   # zero weights are left out


def test_memory_comparison_on_a_large_shared_sparse_matrix_runs_the_memory_iteration():
    """From order 2048 a shared sparse matrix is compared as a block by memoryless runners; with
    memory the per-system runners (which know the memory) are used instead."""
    import scipy.sparse as sps

    from algodiscover.analysis import ButcherTableau
    from algodiscover.analysis.krylov import analyze_polynomial_iteration

    m = 2048
    A = sps.diags(np.linspace(1.0, 10.0, m), format="csr")
    rng = np.random.default_rng(0)
    systems = [(A, rng.standard_normal(m)) for _ in range(3)]
    alpha, beta = 4 / (1 + math.sqrt(10)) ** 2, ((math.sqrt(10) - 1) / (math.sqrt(10) + 1)) ** 2
    kry = analyze_polynomial_iteration(ButcherTableau(np.zeros((1, 1)), np.ones(1)), alpha, Spectrum((1.0, 10.0), "stated"),
                                       systems=systems, symmetric=True, tol=1e-8, budget=2000, betas=[beta], gammas=[[0.0]])
    comp = kry.comparison
    assert "heavy-ball" in comp.histories
    assert comp.counts("learned") == comp.counts("heavy-ball")   # the learned iteration here is the optimal heavy ball itself


@settings(max_examples=25, deadline=None)
@given(p=st.integers(1, 19), a=st.integers(1, 4), w=st.integers(2, 12), t=st.integers(0, 4))
def test_exact_factor_of_a_rational_heavy_ball_matches_the_companion_radius(p, a, w, t):
    """sqrt(beta) = s = p/20, interval [a, a w], alpha between (1 - s)^2/a and (1 + s)^2/(a w):
    the companion roots are complex on the whole interval exactly when (1 - s)^2/a <= (1 + s)^2/(a w);
    then the exact factor is s and equals the grid maximum of the companion radius (relative
    1e-6: a double root at a tangency costs ~sqrt(eps) on the grid), otherwise it is None."""
    s_ = sp.Rational(p, 20)
    lo_a, hi_a = (1 - s_) ** 2 / a, (1 + s_) ** 2 / (a * w)
    alpha = lo_a + sp.Rational(t, 4) * (hi_a - lo_a)
    rec = memory_recurrence([[0]], [alpha], 1, betas=[s_**2])
    ex = rec.exact_factor_on(a, a * w)
    if lo_a <= hi_a:
        assert ex is not None and sp.simplify(ex - s_) == 0
        lam = np.linspace(a, a * w, 4001)
        assert float(np.max(rec.factor(lam))) == pytest.approx(float(s_), rel=1e-6)
    else:
        assert ex is None
