"""The linear-systems branch: families, training objectives, distillation, use, CLI."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sps
import sympy as sp
from scipy.optimize import minimize
from scipy.sparse.linalg import cg, gmres

from algodiscover.artefact import LearnedAlgorithm
from algodiscover.cli import main
from algodiscover.config import default_config, load_config
from algodiscover.errors import InputError
from algodiscover.linear import (
    LinearTrainingConfig,
    PolynomialSolver,
    PreconditionerWarning,
    analyze_run,
    build_model,
    make_loss,
    family_for,
    solver_from_artefact,
    train_run,
)
from algodiscover.linear_families import make_family, poisson2d
from algodiscover.analysis import ButcherTableau, get_method
from algodiscover.analysis.iterations import run_cg, run_chebyshev, run_chebyshev_cycled, run_gmres, run_polynomial_iteration
from algodiscover.analysis.minimax import chebyshev_factor, chebyshev_residual, convergence_factor
from algodiscover.analysis.polynomials import LAMBDA, polynomial_coefficients, residual_polynomial, tableau_for_polynomial
from algodiscover.analysis.spectrum import Spectrum

CHEB_1_10 = chebyshev_factor(4, 1.0, 10.0)


def _cfg(family="spd", stages=4, outer=3, seed=0, **options):
    base = default_config("linear")
    return replace(base, family=family, seed=seed, model=replace(base.model, stages=stages, outer=outer), options=options)


def _coeffs(q: sp.Expr, n: int) -> list[sp.Expr]:
    p = sp.Poly(q, LAMBDA)
    return [p.coeff_monomial(LAMBDA**k) for k in range(n + 1)]


def _artefact(tab: ButcherTableau, h: float, family: str = "spd", **linear) -> LearnedAlgorithm:
    """A krylov artefact with the given weights, as algorithm.json would hold them."""
    cfg = _cfg(family, stages=tab.stages, heldout=2, **linear)
    opts = LinearTrainingConfig.from_options(cfg.options)
    fam = family_for(family, opts)
    alg = LearnedAlgorithm(
        kind="krylov",
        problem={"class": "linear", "family": family, "spectrum": fam.spectrum.to_json()},
        structure={"stages": tab.stages, "outer": 3, "consistency": None, "h": "fixed", "objective": "residual"},
        weights={"W": tab.A.tolist(), "b": tab.b.tolist(), "h": float(h)},
        config={**cfg.to_json(), "linear": opts.to_json()},
        seed=0,
        training={"loss_history": [1.0], "phases": [["adam", 1]], "final_loss": 1.0},
    )
    return alg


# ----------------------------------------------------------------------------- done means
def test_residual_objective_reaches_best_degree4_polynomial():
    """n = 4, K = 3, 4^k loss on random SPD [1, 10]: the learned polynomial's loss is within
    1.05x of the best degree-4 residual polynomial found by optimising its coefficients."""
    cfg = _cfg()
    alg = train_run(cfg, progress=False)
    opts = LinearTrainingConfig.from_options(cfg.options)
    probs = family_for("spd", opts).sample(opts.samples, cfg.seed)
    lam, w = probs.eigen()
    t = lam / 10.0  # scaled variable: q = 1 + sum_k y_k t^k

    def objective(y):
        q = 1.0 + sum(y[k] * t ** (k + 1) for k in range(4))
        return float(np.mean(sum(4.0**k * np.sum(w * q ** (2 * k), axis=1) for k in (1, 2, 3))))

    rng = np.random.default_rng(1)
    cheb = np.array([float(c) * 10.0**k for k, c in enumerate(_coeffs(chebyshev_residual(4, 1, 10), 4))][1:])
    starts = [cheb, np.array([-4.0, 6.0, -4.0, 1.0])] + [cheb * (1 + 0.5 * rng.standard_normal(4)) for _ in range(6)]
    best = min((minimize(objective, y0, method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000}) for y0 in starts),
               key=lambda r: r.fun)
    a = polynomial_coefficients(alg.tableau(), alg.weights["h"])
    learned = objective(a[1:] * 10.0 ** np.arange(1, 5))
    assert learned == pytest.approx(alg.training["final_loss"], rel=1e-9)  # torch loss == the maths
    assert learned <= 1.05 * best.fun
    # the average objective is not a minimax: its optimum sits above the Chebyshev factor
    spec = Spectrum((1.0, 10.0), "given")
    f_learned = convergence_factor(alg.W, alg.b, alg.weights["h"], spec)["per_outer"]
    assert 0.18 < f_learned < 0.24
    assert f_learned > CHEB_1_10


def test_minimax_objective_comes_within_10_percent_of_chebyshev():
    alg = train_run(_cfg(objective="minimax", samples=64), progress=False)
    f = convergence_factor(alg.W, alg.b, alg.weights["h"], Spectrum((1.0, 10.0), "given"))["per_outer"]
    assert CHEB_1_10 <= f <= 1.10 * CHEB_1_10


def test_spectral_objective_comes_within_10_percent_of_chebyshev():
    alg = train_run(_cfg(objective="spectral"), progress=False)
    f = convergence_factor(alg.W, alg.b, alg.weights["h"], Spectrum((1.0, 10.0), "given"))["per_outer"]
    assert CHEB_1_10 <= f <= 1.10 * CHEB_1_10


def test_known_polynomial_taylor_is_returned_exactly():
    alg = _artefact(get_method("RK4"), 0.2)
    a = analyze_run(alg, progress=False)
    poly = a["krylov"]["polynomial"]
    assert poly["exact"] is True
    assert poly["coefficients_exact"] == ["1", "-1/5", "1/50", "-1/750", "1/15000"]
    assert a["krylov"]["h_exact"] == "1/5"
    assert a["exact_order"] == 4 and a["rational"]["b"] == ["1/6", "1/3", "1/3", "1/6"]
    assert "Taylor" in a["identified_as"]


def test_known_polynomial_chebyshev_is_returned_exactly():
    q = chebyshev_residual(4, 1, 10)
    tab = tableau_for_polynomial(_coeffs(q, 4), Fraction(1, 2))
    assert sp.expand(residual_polynomial(tab, Fraction(1, 2)) - q) == 0
    float_tab = ButcherTableau(tab.A, tab.b)  # what algorithm.json holds: floats
    a = analyze_run(_artefact(float_tab, 0.5), progress=False)
    k = a["krylov"]
    assert k["polynomial"]["exact"] is True
    assert sp.expand(sp.sympify(k["polynomial"]["sympy"]).subs(sp.Symbol("lam"), LAMBDA) - q) == 0
    assert k["polynomial"]["coefficients_exact"][4] == "128/45281"
    assert k["identified_as"].startswith("Chebyshev iteration")
    assert k["factor"]["per_outer"] == pytest.approx(CHEB_1_10, rel=1e-10)
    assert k["factor_ratio"]["per_outer"] == pytest.approx(1.0, abs=1e-9)
    roots = sorted(r[0] for r in k["roots"])
    nodes = sorted(5.5 - 4.5 * math.cos((2 * j - 1) * math.pi / 8) for j in range(1, 5))
    assert roots == pytest.approx(nodes, rel=1e-12)
    assert [s[0] for s in k["richardson_steps"]] == pytest.approx([1 / r for r in roots], rel=1e-12)


def test_known_polynomial_richardson_power():
    # q = (1 - 2 lambda / 11)^4: four Richardson steps with omega = 2/11
    co = [sp.Rational(math.comb(4, k)) * sp.Rational(-2, 11) ** k for k in range(5)]
    tab = tableau_for_polynomial(co, 1)
    a = analyze_run(_artefact(ButcherTableau(tab.A, tab.b), 1.0), progress=False)
    assert a["krylov"]["polynomial"]["coefficients_exact"] == [str(c) for c in co]
    assert a["identified_as"].startswith("Richardson iteration with omega = 0.181818")


# ----------------------------------------------------------------------------- bad input
def _write_config(tmp_path, family="matrix", **linear):
    lines = ["[problem]", 'class = "linear"', f'family = "{family}"', "[linear]"]
    for k, v in linear.items():
        lines.append(f"{k} = {json.dumps(v)}")
    lines += ["samples = 16", "heldout = 1", "[train]", "adam_steps = 5", "lbfgs_steps = 2"]
    p = tmp_path / "run.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def _run_cli(args, capsys):
    rc = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    return rc, err


@pytest.mark.parametrize(
    "name, maker, expect",
    [
        ("nan.npz", lambda p: np.savez(p, A=np.array([[1.0, np.nan], [0.0, 1.0]])), "non-finite entry (NaN or inf) at row 0, column 1"),
        ("nan.mtx", lambda p: p.write_text("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1.0\n2 2 nan\n"), "non-finite entry"),
        ("rect.npz", lambda p: np.savez(p, A=np.ones((3, 4))), "is 3 x 4, not square"),
        ("sing.npz", lambda p: np.savez(p, A=np.array([[1.0, 2.0], [2.0, 4.0]])), "looks singular"),
        ("zero.mtx", lambda p: p.write_text("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n3 3 1.0\n"), "looks singular (row 1 is zero)"),
        ("rhs.npz", lambda p: np.savez(p, A=2 * np.eye(4), rhs=np.ones(5)), "rhs has shape (5,) but the matrix is 4 x 4"),
        ("bad.txt", lambda p: p.write_text("1 2\n3 4\n"), "unsupported file type"),
        ("garbage.mtx", lambda p: p.write_text("this is not a matrix\n"), "cannot read the matrix"),
    ],
)
def test_bad_matrix_files_exit_2_with_one_clear_line(tmp_path, capsys, name, maker, expect):
    path = tmp_path / name
    maker(path)
    cfg = _write_config(tmp_path, path=str(path))
    rc, err = _run_cli(["discover", "--config", str(cfg), "--format", "none", "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("algodiscover: error: linear.path") and str(path) in err[0]
    assert expect in err[0]
    assert not (tmp_path / "out" / "algorithm.json").exists()


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--family", "nope"], "unknown linear family 'nope'"),
    ],
)
def test_unknown_family_exits_2(tmp_path, capsys, args, expect):
    rc, err = _run_cli(["discover", "linear", *args, "--format", "none", "--out", str(tmp_path), "--quiet"], capsys)
    assert rc == 2 and len(err) == 1 and expect in err[0]


@pytest.mark.parametrize(
    "family, linear, expect",
    [
        ("spd", {"bogus": 1}, "unknown key linear.'bogus'"),
        ("spd", {"peclet": 5.0}, "linear.peclet does not apply to family 'spd'"),
        ("spd", {"objective": "fastest"}, "linear.objective must be one of residual, minimax, spectral"),
        ("spd", {"interval": [0.0, 10.0]}, "linear.interval must satisfy 0 < low < high"),
        ("spd", {"weights": [1.0, 2.0]}, "linear.weights has 2 entries but model.outer is 3"),
        ("matrix", {}, "family 'matrix' needs linear.path"),
        ("spd", {"h": "big"}, "linear.h must be \"learned\" or a positive number"),
    ],
)
def test_bad_linear_options_exit_2(tmp_path, capsys, family, linear, expect):
    cfg = _write_config(tmp_path, family=family, **linear)
    rc, err = _run_cli(["train", "--config", str(cfg), "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert rc == 2 and len(err) == 1 and expect in err[0], err


def test_solver_rejects_bad_shapes():
    s = PolynomialSolver(np.zeros((2, 2)), [1.0, 0.0], 0.1)
    with pytest.raises(InputError, match="b has 3 entries but A is 2 x 2"):
        s.solve(np.eye(2), np.ones(3))
    with pytest.raises(InputError, match="must be square"):
        s.solve(np.ones((2, 3)), np.ones(2))
    with pytest.raises(InputError, match="non-finite"):
        s.solve(np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2))


# ----------------------------------------------------------------------------- end to end
def test_discover_linear_end_to_end_and_bit_identical_seed(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["discover", "linear", "--family", "spd", "--stages", "4", "--outer", "3", "--format", "none",
               "--out", str(out), "--quiet"])
    stdout = capsys.readouterr().out
    assert rc == 0
    assert "Convergence factor" in stdout
    alg = json.loads((out / "algorithm.json").read_text())
    ana = json.loads((out / "analysis.json").read_text())
    assert alg["kind"] == "krylov" and set(alg["weights"]) == {"W", "b", "h"}
    for key in ("kind", "order", "tol", "residuals", "rational", "exact_order", "identified_as", "krylov", "summary",
                "training", "provenance"):
        assert key in ana, key
    assert ana["kind"] == "krylov"
    k = ana["krylov"]
    for key in ("polynomial", "roots", "richardson_steps", "recurrence", "richardson_form", "spectrum", "factor",
                "chebyshev", "factor_ratio", "distilled", "exact_tableau", "comparison", "family", "rk_view"):
        assert key in k, key
    assert k["spectrum"]["interval"] == [1.0, 10.0]
    assert k["chebyshev"]["per_outer"] == pytest.approx(CHEB_1_10)
    comp = k["comparison"]
    assert set(comp["methods"]) == {"learned", "gmres(4)", "gmres(4)-idealised", "cg", "chebyshev", "chebyshev(4)", "richardson"}
    assert comp["instances"] == 100 and comp["methods"]["learned"]["reached"] == comp["instances"]
    assert comp["ratios"]["gmres(4)"] is not None
    # every ratio carries its bootstrap interval, n and a verdict that agrees with the interval
    assert set(comp["ratio_estimates"]) == set(comp["ratios"])
    for m, e in comp["ratio_estimates"].items():
        assert e["value"] == comp["ratios"][m] and e["n"] == 100 and e["statistic"] == "ratio of medians"
        lo, hi = e["ci95"]
        assert lo <= e["value"] <= hi
        assert e["verdict"] == ("no significant difference" if lo <= 1 <= hi else "fewer" if lo > 1 else "more")
    # SciPy's GMRES(4) spends n + 1 per cycle: never fewer than the idealised n per cycle
    ideal, real = comp["methods"]["gmres(4)-idealised"]["matvecs_to_tol"], comp["methods"]["gmres(4)"]["matvecs_to_tol"]
    assert all(r >= i for r, i in zip(real, ideal))
    assert comp["methods"]["learned"]["residual_at_learned_matvecs"] <= 1e-10
    hist = comp["methods"]["learned"]["history"]
    assert hist["matvecs"][1] == 4 and len(hist["matvecs"]) == len(hist["residual"])
    assert "GMRES(4)" in ana["summary"] and f"{k['factor']['per_outer']:.4g}" in ana["summary"]
    assert ana["training"]["loss_history"] and ana["provenance"]["seed"] == 0
    # same seed, bit-identical weights
    out2 = tmp_path / "again"
    assert main(["train", "linear", "--family", "spd", "--stages", "4", "--outer", "3", "--out", str(out2), "--quiet"]) == 0
    again = json.loads((out2 / "algorithm.json").read_text())
    assert again["weights"] == alg["weights"]
    # the artefact is a working solver
    solver = solver_from_artefact(out / "algorithm.json")
    fam = make_family("spd")
    held = fam.heldout(3, seed=5)
    for A, rhs in held.systems():
        res = solver.solve(A, rhs, rtol=1e-10)
        assert res.success and res.status == 0
        assert res.nmatvec == 4 * res.nit
        assert np.linalg.norm(rhs - A @ res.x) <= 1e-10 * np.linalg.norm(rhs) * (1 + 1e-9)
        assert len(res.residual_history) == res.nit + 1


# ----------------------------------------------------------------------------- use
def _cheb_solver(lo=1.0, hi=10.0, n=4) -> PolynomialSolver:
    co = _coeffs(chebyshev_residual(n, lo, hi), n)
    tab = tableau_for_polynomial(co, 1)
    return PolynomialSolver(tab.A, tab.b, 1.0, interval=(lo, hi))


def test_solve_result_callback_maxiter_and_x0():
    s = _cheb_solver()
    A = make_family("fixed-spd").matrix.toarray()
    rhs = np.arange(1.0, 21.0)
    seen = []
    res = s.solve(A, rhs, rtol=1e-8, callback=lambda xk: seen.append(xk.copy()))
    assert res.success and len(seen) == res.nit
    assert all(b < a for a, b in zip(res.residual_history, res.residual_history[1:]))
    assert res.residual_history[-1] <= 1e-8 * np.linalg.norm(rhs)
    short = s.solve(A, rhs, maxiter=2)
    assert not short.success and short.status == 2 and short.nit == 2
    warm = s.solve(A, rhs, x0=res.x, rtol=1e-8)
    assert warm.success and warm.nit == 0 and warm.nmatvec == 1
    with pytest.raises(AttributeError):
        res.nit = 3  # frozen


def test_divergence_is_reported_as_breakdown():
    s = PolynomialSolver(np.zeros((1, 1)), [1.0], 1.0)  # Richardson omega = 1 on [1, 10] diverges
    res = s.solve(np.diag(np.linspace(1, 10, 10)), np.ones(10), maxiter=1000)
    assert not res.success and res.status == -1 and "diverged" in res.message


def test_preconditioner_with_scipy_cg_and_gmres():
    A = poisson2d(16)
    spec = make_family("poisson2d").spectrum
    s = _cheb_solver(*spec.interval)
    M = s.preconditioner(A)
    assert M.spd is True and M.p_range[0] > 0
    rhs = np.ones(A.shape[0])
    counts = {"plain": 0, "prec": 0}

    def counter(key):
        def cb(_xk):
            counts[key] += 1
        return cb

    x0, info0 = cg(A, rhs, rtol=1e-10, maxiter=2000, callback=counter("plain"))
    x1, info1 = cg(A, rhs, rtol=1e-10, maxiter=2000, M=M, callback=counter("prec"))
    assert info0 == 0 and info1 == 0
    assert counts["prec"] < counts["plain"]
    assert np.linalg.norm(rhs - A @ x1) <= 1e-9 * np.linalg.norm(rhs)
    x2, info2 = gmres(A, rhs, rtol=1e-10, restart=20, maxiter=200, M=M)
    assert info2 == 0 and np.linalg.norm(rhs - A @ x2) <= 1e-9 * np.linalg.norm(rhs)
    # p(A) is symmetric for symmetric A
    u, v = np.random.default_rng(0).standard_normal((2, A.shape[0]))
    assert u @ M.matvec(v) == pytest.approx(v @ M.matvec(u), rel=1e-12)


def test_preconditioner_warns_when_not_positive_definite():
    # q = (1 - lambda/2)^2 exceeds 1 on [1, 10]: p = (1 - q)/lambda < 0 there
    co = [sp.Integer(1), sp.Integer(-1), sp.Rational(1, 4)]
    tab = tableau_for_polynomial(co, 1)
    s = PolynomialSolver(tab.A, tab.b, 1.0, interval=(1.0, 10.0))
    with pytest.warns(PreconditionerWarning, match="not positive definite"):
        M = s.preconditioner(np.diag(np.linspace(1, 10, 5)))
    assert M.spd is False


# ----------------------------------------------------------------------------- families
def test_family_spectra_match_dense_eigenvalues():
    for name, kw in (("poisson1d", {"size": 9}), ("poisson2d", {"size": 6}), ("convdiff2d", {"size": 6, "peclet": 10.0}),
                     ("convdiff2d", {"size": 5, "peclet": 40.0}), ("fixed-spd", {"size": 12})):
        fam = make_family(name, **kw)
        dense = np.linalg.eigvals(fam.matrix.toarray())
        known = np.asarray(fam.spectrum.eigenvalues)
        key = lambda z: (round(z.real, 8), round(abs(z.imag), 8))  # noqa: E731
        got = np.array(sorted(map(key, dense.astype(complex))))
        want = np.array(sorted(map(key, known.astype(complex))))
        np.testing.assert_allclose(got, want, atol=1e-7, rtol=0, err_msg=name)
    assert make_family("convdiff2d", size=5, peclet=40.0).spectrum.real is False
    assert make_family("convdiff2d", size=5, peclet=10.0).spectrum.real is True


def test_batched_torch_matvec_matches_numpy():
    import torch

    for fam in (make_family("spd", size=7), make_family("poisson2d", size=4)):
        p = fam.sample(5, seed=3)
        X = np.random.default_rng(0).standard_normal((5, fam.size))
        got = p.torch_matvec()(torch.from_numpy(X)).numpy()
        want = np.stack([p.matrix(i) @ X[i] for i in range(5)])
        assert np.allclose(got, want, rtol=1e-13, atol=1e-13)
        assert np.allclose(np.linalg.norm(p.rhs, axis=1), 1.0)
    a, b, c = make_family("spd").sample(3, 0), make_family("spd").sample(3, 0), make_family("spd").heldout(3, 0)
    assert np.array_equal(a.matrices, b.matrices) and not np.allclose(a.rhs, c.rhs)
    spd = a.matrices[0]
    ev = np.linalg.eigvalsh(spd)
    assert ev[0] == pytest.approx(1.0) and ev[-1] == pytest.approx(10.0) and np.allclose(spd, spd.T)


def test_user_matrix_family_with_rhs(tmp_path):
    A = poisson2d(4).toarray()
    rhs = np.arange(16.0)
    np.savez(tmp_path / "m.npz", A=A, rhs=rhs)
    fam = make_family("matrix", path=str(tmp_path / "m.npz"))
    assert fam.symmetric and fam.positive_definite and fam.size == 16
    held = fam.heldout(3, seed=0)
    assert np.allclose(held.rhs[0], rhs / np.linalg.norm(rhs))
    sps.save_npz(tmp_path / "s.npz", sps.csr_matrix(A))
    assert make_family("matrix", path=str(tmp_path / "s.npz")).spectrum.interval == pytest.approx(fam.spectrum.interval)


# ----------------------------------------------------------------------------- baselines
def test_cycled_chebyshev_equals_the_chebyshev_tableau_iteration():
    fam = make_family("spd")
    A, rhs = fam.heldout(1, 0).systems()[0]
    co = _coeffs(chebyshev_residual(4, 1, 10), 4)
    tab = tableau_for_polynomial(co, 1)
    poly = run_polynomial_iteration(A, rhs, tab.A, tab.b, 1.0)
    cyc = run_chebyshev_cycled(A, rhs, 4, 1.0, 10.0)
    by_mv = dict(zip(cyc.matvecs, cyc.residuals))
    for mv, r in zip(poly.matvecs[1:6], poly.residuals[1:6]):
        assert by_mv[mv] == pytest.approx(r, rel=1e-6)
    assert abs(poly.matvecs_to_tol - cyc.matvecs_to_tol) <= 4
    # every 4 matvecs the residual shrinks by at most the Chebyshev factor
    assert all(b <= CHEB_1_10 * a * (1 + 1e-8) for a, b in zip(poly.residuals, poly.residuals[1:]))


def test_history_thinning_keeps_the_last_point():
    from algodiscover.analysis.iterations import IterationHistory

    h = IterationHistory("x", tuple(range(5001)), tuple(0.5**k for k in range(5001)), 5000, 0.0)
    j = h.to_json()
    assert len(j["matvecs"]) <= 2001 and j["matvecs"][-1] == 5000 and j["matvecs"][0] == 0
    assert h.residual_at(10) == 0.5**10 and h.residual_at(10**6) == 0.5**5000


def test_krylov_baselines_converge_as_theory_says():
    fam = make_family("spd")
    A, rhs = fam.heldout(1, 1).systems()[0]
    full = run_gmres(A, rhs, 20)
    assert full.matvecs_to_tol is not None and full.matvecs_to_tol <= 21
    c = run_cg(A, rhs)
    assert c.matvecs_to_tol is not None and c.matvecs_to_tol <= 30
    ch = run_chebyshev(A, rhs, 1.0, 10.0)
    # Chebyshev iteration: ||r_k|| <= 2 ((sqrt(k)-1)/(sqrt(k)+1))^k ||r_0|| for kappa = 10
    s = (math.sqrt(10) - 1) / (math.sqrt(10) + 1)
    assert all(r <= 2 * s**k * (1 + 1e-8) for k, r in zip(ch.matvecs, ch.residuals))
    g4 = run_gmres(A, rhs, 4)
    assert g4.matvecs_to_tol is not None and g4.residuals[-1] <= 1e-10


def test_fixed_h_and_config_round_trip():
    cfg = _cfg(h=0.25, samples=32)
    cfg = replace(cfg, train=replace(cfg.train, adam_steps=30, lbfgs_steps=10))
    alg = train_run(cfg, progress=False)
    assert alg.weights["h"] == 0.25 and alg.structure["h"] == "fixed"
    opts = LinearTrainingConfig.from_options(alg.config["linear"])
    assert opts.h == 0.25 and opts.samples == 32


def test_preconditioner_checks_the_spectrum_of_the_matrix_it_is_given():
    """A Chebyshev iteration made for [1, 10] is no SPD preconditioner for a matrix whose
    spectrum reaches 40: the Lanczos estimate of A's spectrum says so (the training interval
    alone would not)."""
    s = _cheb_solver(1.0, 10.0)
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((60, 60)))
    inside = Q @ np.diag(np.linspace(1.0, 10.0, 60)) @ Q.T
    wide = Q @ np.diag(np.linspace(1.0, 40.0, 60)) @ Q.T
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", PreconditionerWarning)
        M = s.preconditioner(inside)
    assert M.spd is True
    lo, hi = M.estimated_interval
    assert lo == pytest.approx(1.0, abs=0.05) and hi == pytest.approx(10.0, rel=0.01)
    with pytest.warns(PreconditionerWarning, match=r"A's estimated spectrum \[.*, 40"):
        M = s.preconditioner(wide)
    assert M.spd is False and M.estimated_interval[1] == pytest.approx(40.0, rel=0.01)


def test_solve_takes_complex_right_hand_sides_and_refuses_several_at_once():
    s = _cheb_solver(1.0, 10.0)
    A = np.diag(np.linspace(1.0, 10.0, 12))
    b = np.arange(12.0) + 1j * np.linspace(-1, 1, 12)
    res = s.solve(A, b, rtol=1e-10)
    assert res.success and np.iscomplexobj(res.x)
    assert np.linalg.norm(b - A @ res.x) <= 1e-10 * np.linalg.norm(b)
    assert s.solve(A, b.real.reshape(-1, 1), rtol=1e-10).success
    with pytest.raises(InputError, match="one vector of length 12, got shape"):
        s.solve(A, np.ones((12, 2)))


# ----------------------------------------------------------------------------- stated training distribution
SPD5_BBAR = [1.0, 2.0, -1.0, 0.5, 3.0]


def _spd5(tmp_path):
    from algodiscover.linear_families import random_spd

    A = random_spd(np.random.default_rng(np.random.SeedSequence([3, 7])), 1, 5, 1.0, 10.0, True)[0]
    np.savez(tmp_path / "spd5.npz", A=A)
    return A


def _spd5_config(tmp_path, rhs="box", **extra):
    lines = ["[problem]", 'class = "linear"', 'family = "matrix"', "[model]", "stages = 4", "outer = 3", "[linear]",
             f'path = "{tmp_path / "spd5.npz"}"', f'rhs = "{rhs}"', "samples = 128", "heldout = 20"]
    if rhs == "box":
        lines.append(f"rhs_mean = {json.dumps(SPD5_BBAR)}")
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    p = tmp_path / f"{rhs}.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def _box_objective(alg, probs, n=4, K=3):
    """The residual loss of the stated training systems as a function of the coefficients of
    q (scaled variable t = lambda / lambda_max), from the eigen-decomposition of A."""
    lam, w = probs.eigen()
    t = lam / lam.max()

    def objective(y):
        q = 1.0 + sum(y[k] * t ** (k + 1) for k in range(n))
        return float(np.mean(sum(4.0**k * np.sum(w * q ** (2 * k), axis=1) for k in range(1, K + 1))))

    return objective, lam.max()


def test_cli_reaches_the_optimum_of_the_stated_rhs_loss_on_a_fixed_5x5_spd_matrix(tmp_path, capsys):
    """The fixed 5x5 SPD matrix with rhs = b-bar + U[-1, 1]^5: the CLI trains on that
    distribution (not on unit vectors) and reaches the optimum of its loss to 8 digits; the
    analysis compares with Chebyshev on the 5 known eigenvalues, where the learned polynomial
    is smaller, and says that CG's advantage is finite termination."""
    _spd5(tmp_path)
    out = tmp_path / "box"
    assert main(["discover", "--config", str(_spd5_config(tmp_path)), "--out", str(out), "--format", "none", "--quiet"]) == 0
    summary = capsys.readouterr().out
    alg = LearnedAlgorithm.load(out / "algorithm.json")
    assert alg.problem["rhs"]["kind"] == "box" and alg.problem["rhs"]["mean"] == SPD5_BBAR
    opts = LinearTrainingConfig.from_options(alg.config["linear"])
    probs = family_for("matrix", opts).sample(opts.samples, alg.seed)
    # the training systems follow the stated distribution
    assert probs.rhs.shape == (128, 5) and np.all(np.abs(probs.rhs - SPD5_BBAR) <= 1.0)
    assert np.allclose(probs.rhs.mean(axis=0), SPD5_BBAR, atol=0.25)
    objective, scale = _box_objective(alg, probs)
    starts = [np.random.default_rng(s).standard_normal(4) * 3 for s in range(30)]
    best = min((minimize(objective, y0, method="BFGS", options={"gtol": 1e-13, "maxiter": 20_000}) for y0 in starts),
               key=lambda r: r.fun)
    a = polynomial_coefficients(alg.tableau(), alg.weights["h"])
    learned = objective(a[1:] * scale ** np.arange(1, 5))
    assert learned == pytest.approx(alg.training["final_loss"], rel=1e-9)  # the torch loss is this objective
    assert learned <= best.fun * (1 + 1e-8)  # the optimum, to 8 digits
    # trained on unit vectors (the old CLI) it misses that optimum
    unit = tmp_path / "unit"
    assert main(["train", "--config", str(_spd5_config(tmp_path, "unit")), "--out", str(unit), "--quiet"]) == 0
    u = LearnedAlgorithm.load(unit / "algorithm.json")
    au = polynomial_coefficients(u.tableau(), u.weights["h"])
    assert objective(au[1:] * scale ** np.arange(1, 5)) > best.fun * 1.01
    # fixed eigenvalues: the comparison on them, not only on their hull
    ana = json.loads((out / "analysis.json").read_text())
    k = ana["krylov"]
    fr = k["factor_ratio"]
    assert fr["on_eigenvalues"] == pytest.approx(k["factor"]["on_eigenvalues"] / k["chebyshev"]["on_eigenvalues"], rel=1e-12)
    assert fr["on_eigenvalues"] < 1 < fr["per_outer"]
    assert "the learned polynomial is smaller there" in summary
    # CG needs >= 5 matvecs on a 5 x 5 matrix: finite termination, said so
    ft = k["comparison"]["finite_termination"]
    assert ft["size"] == 5 and ft["cg"] is True and "finite termination" in ft["note"] and ft["note"] in ana["summary"]


def test_rhs_from_a_file_and_an_initial_guess(tmp_path):
    """rhs = "file": the last heldout rows are the held-out systems, the others train; x0
    given: training and the comparison start there."""
    A = _spd5(tmp_path)
    rows = np.random.default_rng(1).standard_normal((30, 5))
    np.save(tmp_path / "rhs.npy", rows)
    x0 = [0.1, -0.2, 0.3, 0.0, 0.5]
    cfg = _spd5_config(tmp_path, "file", rhs_path=str(tmp_path / "rhs.npy"), x0=x0)
    cfg.write_text(cfg.read_text().replace("heldout = 20", "heldout = 8"))
    run_cfg = load_config(cfg)
    opts = LinearTrainingConfig.from_options(run_cfg.options)
    fam = family_for("matrix", opts)
    train, held = fam.sample(opts.samples, 0), fam.heldout(opts.heldout, 0)
    assert np.array_equal(train.rhs, rows[:22]) and np.array_equal(held.rhs, rows[22:])
    assert np.array_equal(train.x0, x0)
    r0 = [r for _, r in held.residual_systems()]
    assert np.allclose(r0, rows[22:] - np.asarray(x0) @ A.T)
    # the training loss starts from x0: sum_k 4^k ||q(A)^k (rhs - A x0)||^2, averaged
    model = build_model(run_cfg, opts, fam)
    loss = float(make_loss(model, opts, fam, train, 3)().detach())
    lam, U = np.linalg.eigh(A)
    q = np.polynomial.polynomial.polyval(lam, model.polynomial())
    R0 = (train.rhs - np.asarray(x0) @ A.T) @ U
    want = np.mean(sum(4.0**k * np.sum((R0 * q**k) ** 2, axis=1) for k in (1, 2, 3)))
    assert loss == pytest.approx(want, rel=1e-12)
    with pytest.raises(InputError, match="30 right-hand sides, but linear.heldout = 30"):
        family_for("matrix", replace(opts, heldout=30))
    with pytest.raises(InputError, match=r"expected an array of shape \(k, 5\)"):
        np.save(tmp_path / "bad.npy", np.ones((4, 3)))
        family_for("matrix", replace(opts, rhs_path=str(tmp_path / "bad.npy")))


@pytest.mark.parametrize("linear, expect", [
    ({"rhs": "gaussian"}, "linear.rhs must be one of unit, box, file"),
    ({"rhs_mean": 1.0}, 'linear.rhs_mean applies to linear.rhs = "box" only'),
    ({"rhs": "box", "rhs_halfwidth": -1}, "linear.rhs_halfwidth must be a positive number"),
    ({"rhs": "file"}, "needs linear.rhs_path"),
    ({"x0": "random"}, 'linear.x0 must be "zero" or a list of numbers'),
])
def test_bad_rhs_options_are_named(linear, expect):
    with pytest.raises(InputError, match=re.escape(expect)):
        LinearTrainingConfig.from_options(linear)


# ----------------------------------------------------------------------------- counting
def test_scipy_gmres_is_counted_by_its_matvecs_n_plus_1_per_cycle():
    from algodiscover.analysis.iterations import CountingMatVec, run_scipy_gmres

    fam = make_family("spd")
    A, rhs = fam.heldout(1, 2).systems()[0]
    # an unreachable tolerance: every cycle runs in full, n Arnoldi steps + 1 true residual
    for n, cycles in ((4, 7), (3, 5)):
        h = run_scipy_gmres(A, rhs, n, tol=1e-300, budget=cycles * (n + 1))
        assert h.matvecs_to_tol is None
        assert list(h.matvecs) == [k * (n + 1) for k in range(cycles + 1)]
    # to tol: the wrapper's count is what SciPy spent, more than the idealised count by one per cycle
    mv = CountingMatVec(A)
    x, info = gmres(mv.operator(20), rhs, rtol=1e-10, atol=0.0, restart=4, maxiter=1000)
    h = run_scipy_gmres(A, rhs, 4, tol=1e-10, budget=10_000)
    ideal = run_gmres(A, rhs, 4, tol=1e-10)
    assert info == 0 and h.matvecs_to_tol == mv.count
    cycles = len(h.matvecs) - 1
    assert h.matvecs_to_tol - cycles == pytest.approx(ideal.matvecs_to_tol, abs=4)
    assert np.linalg.norm(rhs - A @ x) <= 1e-10 * np.linalg.norm(rhs)


def test_every_runner_reports_what_a_counting_matvec_sees():
    from algodiscover.analysis.iterations import CountingMatVec, run_richardson

    fam = make_family("spd")
    A, rhs = fam.heldout(1, 4).systems()[0]
    co = _coeffs(chebyshev_residual(4, 1, 10), 4)
    tab = tableau_for_polynomial(co, 1)
    for run in (lambda mv: run_polynomial_iteration(mv, rhs, np.array(tab.A, dtype=float), np.array(tab.b, dtype=float), 1.0),
                lambda mv: run_cg(mv, rhs), lambda mv: run_chebyshev(mv, rhs, 1.0, 10.0),
                lambda mv: run_chebyshev_cycled(mv, rhs, 4, 1.0, 10.0), lambda mv: run_richardson(mv, rhs, 2 / 11)):
        mv = CountingMatVec(A)
        h = run(mv)
        assert h.matvecs_to_tol is not None and h.matvecs_to_tol == mv.count == h.matvecs[-1]
