"""Learned polynomial iterations against GMRES(n), CG and Chebyshev iteration.

    python benchmarks/linear.py [--quick] [--stages N] [--outer K] [--seed S]

For each built-in family (spd, fixed-spd, poisson1d, poisson2d, convdiff2d and a user
Matrix Market file written to a temporary folder) and the residual (4^k) and minimax
objectives, trains an R2N2 polynomial iteration and prints the training time (target under
60 s), the convergence factor max|q| against the degree-n Chebyshev optimum, and the median
matvecs to a relative residual of 1e-10 on 100 held-out systems with the ratios
baseline / learned for SciPy's GMRES(n) counted by wrapping the matvec (n + 1 per cycle; the
idealised n-per-cycle count beside it), CG (SPD families) and Chebyshev iteration (> 1: the
learned iteration needs fewer matvecs), each with its 95 % bootstrap interval over the systems
and a verdict only where the interval excludes 1; with fixed eigenvalues, learned / Chebyshev
max|q| on them. Then, on the 2D Poisson 128 x 128 family (m = 16384), the
wall time to 1e-10 of the learned solver against scipy's cg and gmres(n) and the numpy
Chebyshev iteration, all in this process. ``--quick`` skips the 128 x 128 part and the
minimax objective. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.io
from scipy.sparse.linalg import LinearOperator, cg, gmres

from algodiscover.config import default_config
from algodiscover.linear import PolynomialSolver, analyze_run, train_run
from algodiscover.linear_families import make_family, poisson2d
from algodiscover.analysis.iterations import run_chebyshev
from algodiscover.analysis.minimax import chebyshev_factor


def _cfg(family: str, stages: int, outer: int, seed: int, **options):
    base = default_config("linear")
    return replace(base, family=family, seed=seed, model=replace(base.model, stages=stages, outer=outer), options=options)


def _fmt(v) -> str:
    if v is None:
        return "--"
    return f"{v:.3g}"


def _est(e) -> str:
    """``0.964 [0.946, 0.964] more``: a ratio with its interval and verdict."""
    if e is None or e["value"] is None:
        return "--"
    if e["ci95"] is None:
        return f"{e['value']:.3g} (n={e['n']})"
    lo, hi = (float(v) for v in e["ci95"])
    tag = {"fewer": "L fewer", "more": "L more", "no significant difference": "n.s."}[e["verdict"]]
    return f"{e['value']:.3g} [{lo:.3g}, {hi:.3g}] {tag}"


def family_rows(args, tmp: Path) -> None:
    mtx = tmp / "poisson2d_12.mtx"
    scipy.io.mmwrite(str(mtx), poisson2d(12))
    cases = [("spd", {}), ("fixed-spd", {}), ("poisson1d", {}), ("poisson2d", {}), ("convdiff2d", {}), ("matrix", {"path": str(mtx)})]
    objectives = ["residual"] if args.quick else ["residual", "minimax"]
    n = args.stages
    gm, gi = f"gmres({n})", f"gmres({n})-idealised"
    print("matvecs to ||r||/||b|| <= 1e-10, medians over 100 held-out systems; ratios = baseline / learned (> 1: learned needs fewer) "
          "with the 95 % bootstrap interval and verdict for the learned iteration (L); gmres is SciPy's, counted (n + 1 per cycle)")
    head = (f"{'family':<11} {'objective':<9} {'train s':>7} {'max|q|':>7} {'/cheb':>6} {'/cheb ev':>8} "
            f"{'learned':>7} {gm:>8} {'ideal':>6} {'cg':>5} {'cheb':>5}   {gm + ' / L':<28} {'cg / L':<28} {'cheb / L':<28}")
    print(head)
    print("-" * len(head))
    for fam, extra in cases:
        for obj in objectives:
            opts = {"objective": obj, **extra}
            if obj == "minimax" and fam in ("poisson2d", "convdiff2d", "matrix"):
                opts["samples"] = 64
            cfg = _cfg(fam, n, args.outer, args.seed, **opts)
            t0 = time.perf_counter()
            alg = train_run(cfg, progress=False)
            t_train = time.perf_counter() - t0
            a = analyze_run(alg, progress=False)
            k = a["krylov"]
            comp = k["comparison"]
            med = {m: v["median"] for m, v in comp["methods"].items()}
            est = comp["ratio_estimates"]
            fr = k["factor_ratio"]
            print(f"{fam:<11} {obj:<9} {t_train:>7.1f} {k['factor']['per_outer']:>7.4f} {_fmt(fr['per_outer']):>6} "
                  f"{_fmt(fr.get('on_eigenvalues')):>8} {_fmt(med['learned']):>7} {_fmt(med.get(gm)):>8} {_fmt(med.get(gi)):>6} "
                  f"{_fmt(med.get('cg')):>5} {_fmt(med.get('chebyshev')):>5}   {_est(est.get(gm)):<28} {_est(est.get('cg')):<28} "
                  f"{_est(est.get('chebyshev')):<28}")
            ft = comp.get("finite_termination") or {}
            if ft.get("note"):
                print(f"{'':<21}note: {ft['note']}")


class _Counting(LinearOperator):
    def __init__(self, A) -> None:
        super().__init__(dtype=np.float64, shape=A.shape)
        self.A, self.count = A, 0

    def _matvec(self, x):
        self.count += 1
        return self.A @ x


def _best_of(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def poisson128(args) -> None:
    n = args.stages
    fam = make_family("poisson2d", size=128)
    A = fam.matrix
    rhs = fam.heldout(1, args.seed).rhs[0]
    lo, hi = fam.spectrum.interval
    lam = np.asarray(fam.spectrum.eigenvalues)
    print()
    print("2D Poisson 128 x 128 (m = 16384): wall time to ||r||/||b|| <= 1e-10 from x0 = 0, one random right-hand side "
          "(best of 3 runs)")
    print(f"  degree-{n} Chebyshev factor on [{lo:.4g}, {hi:.4g}]: {chebyshev_factor(n, lo, hi):.6f} per outer iteration")

    def baselines():
        rows = []
        for name, fn in (("scipy cg", lambda op: cg(op, rhs, rtol=1e-10, maxiter=20_000)),
                         (f"scipy gmres({n})", lambda op: gmres(op, rhs, rtol=1e-10, restart=n, maxiter=20_000))):
            ops = []

            def run(fn=fn):
                op = _Counting(A)
                ops.append(op)
                return fn(op)

            dt, (x, info) = _best_of(run)
            ok = np.linalg.norm(rhs - A @ x) <= 1.01e-10 * np.linalg.norm(rhs)
            rows.append((name, dt, ops[-1].count, ok))
        dt, ch = _best_of(lambda: run_chebyshev(A, rhs, lo, hi, tol=1e-10, budget=80_000))
        rows.append(("chebyshev iteration", dt, ch.matvecs_to_tol or ch.matvecs[-1], ch.matvecs_to_tol is not None))
        return rows

    base_rows = baselines()
    for obj in ("residual", "spectral"):
        cfg = _cfg("poisson2d", n, args.outer, args.seed, size=128, samples=4, objective=obj)
        t0 = time.perf_counter()
        alg = train_run(cfg, progress=False)
        t_train = time.perf_counter() - t0
        solver = PolynomialSolver(alg.W, alg.b, alg.weights["h"], interval=fam.spectrum.interval)
        factor = float(np.max(np.abs(solver.residual_polynomial(lam))))
        dt, res = _best_of(lambda: solver.solve(A, rhs, rtol=1e-10, maxiter=50_000))
        print(f"  objective {obj}: training {t_train:.1f} s (4 right-hand sides), max|q| over the eigenvalues {factor:.6f} "
              f"per outer iteration")
        for name, t, mv, ok in [(f"learned ({obj})", dt, res.nmatvec, res.success)] + base_rows:
            print(f"    {name:<22} {t:8.3f} s  {mv:>7} matvecs  {'converged' if ok else 'NOT converged'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the minimax objective and the 128 x 128 Poisson part")
    ap.add_argument("--stages", type=int, default=4)
    ap.add_argument("--outer", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        family_rows(args, Path(tmp))
    if not args.quick:
        poisson128(args)


if __name__ == "__main__":
    main()
