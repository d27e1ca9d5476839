"""A learned R2N2 with memory on the H-equation against Anderson(M) at the same depth, and the
best any stationary two-step iteration can do there.

    python benchmarks/nonlinear_memory.py [--memory M] [--stages N] [--seed S] [--instances K]

Trains the derivative-free R2N2 with memory M (start-up rule "rk": plain R2N2 steps) on the
H-equation (m = 100, c in [0.5, 0.9]; 10 + M outer iterations unrolled), analyses it as
``discover`` does (100 held-out instances in and out of distribution, every F call counted by
a wrapper, tuned baselines incl. Anderson(M), 95 % bootstrap intervals), and prints per
setting every method's median F evaluations and the ratio learned / method. Then, from the
Jacobian eigenvalues at the solutions of 9 instances spread over c in [0.5, 0.9], the optimal
stationary heavy ball ``x+ = x - alpha F(x) + beta (x - x_prev)`` for their hull [a, 1]
(alpha = 4/(sqrt a + 1)^2, beta = ((1 - sqrt a)/(1 + sqrt a))^2; its factor sqrt(beta) per F
evaluation is the optimum of every stationary two-step iteration on [a, 1]) and its median F
evaluations on the same held-out instances: the reference the learned memory iteration can at
best reach, and what separates it from Anderson's least-squares adaptivity. Timings printed, none asserted.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import numpy as np

from algodiscover.config import default_config
from algodiscover.nonlinear import NonlinearSolver, analyze_run, train_run
from algodiscover.nonlinear_baselines import eigenvalues, jacobian_function, run_learned
from algodiscover.nonlinear_comparison import _instances, _solve_accurately
from algodiscover.nonlinear_families import get_nonlinear_family
from algodiscover.training import TrainConfig


def _est(e) -> str:
    if e is None or e["value"] is None:
        return "--"
    if e["ci95"] is None:
        return f"{e['value']:.3g} (n = {e['n']}, no interval)"
    lo, hi = (float(v) for v in e["ci95"])
    return f"{e['value']:.3g} [{lo:.3g}, {hi:.3g}] {e['verdict']}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memory", type=int, default=1)
    ap.add_argument("--stages", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--instances", type=int, default=100)
    args = ap.parse_args()
    cfg = default_config("nonlinear")
    cfg = replace(cfg, seed=args.seed,
                  model=replace(cfg.model, stages=args.stages, outer=10 + args.memory, memory=args.memory, startup="rk"),
                  train=TrainConfig(adam_steps=300, lr=0.05, lbfgs_steps=200),
                  options={**cfg.options, "heldout": args.instances, **({"safeguard_rate": 2.0} if args.memory > 1 else {})})
    t0 = time.perf_counter()
    alg = train_run(cfg, progress=False)
    t1 = time.perf_counter()
    out = analyze_run(alg, progress=False)
    t2 = time.perf_counter()
    nl = out["nonlinear"]
    mem = nl["memory"]
    print(f"learned: memory {args.memory}, {args.stages} stage(s); betas {mem['betas']}, gammas {mem['gammas']}")
    print(nl["structure"])
    lin = nl["linearisation"]
    print(f"linearised recurrence: {mem['recurrence']}")
    print(f"local factor per outer step (companion matrix): median {lin['local_rate_median']:.4g}, worst {lin['local_rate']:.4g} "
          f"at {lin['worst']['params']}; identified as {mem['identified_as']}")
    for s in ("in_distribution", "out_of_distribution"):
        c = nl["comparison"][s]
        print(f"\n{s} ({c['instances']} held-out instances, ||F|| <= {c['tol']:g}); median F evaluations, learned / method [95% CI]:")
        for m, med in c["median_cost"].items():
            print(f"  {m:22s} {med if med is not None else '--':>8}  converged {c['success'][m]:3d}   "
                  + ("" if m == "learned" else _est(c["ratios"][m])))
    # the optimal stationary heavy ball on the hull of the Jacobian spectra
    fam = get_nonlinear_family("hequation")
    lo = math.inf
    for cval in np.linspace(0.5, 0.9, 9):
        p = np.array([cval])
        xs = _solve_accurately(fam, p, np.ones(fam.size))
        lo = min(lo, float(np.min(eigenvalues(jacobian_function(fam, p)(xs)).real)))
    alpha = 4.0 / (math.sqrt(lo) + 1.0) ** 2
    beta = ((1.0 - math.sqrt(lo)) / (1.0 + math.sqrt(lo))) ** 2
    hb = NonlinearSolver("derivative-free", [[0.0]], [alpha], 1.0, betas=[beta], gammas=[[0.0]])
    ev = [run_learned(hb, fam.numpy_residual(p), x0, 1e-10, 2000).evaluations for p, x0 in _instances(fam, args.instances, args.seed, False)]
    ok = [e for e in ev if e is not None]
    c = nl["comparison"]["in_distribution"]
    print(f"\noptimal stationary heavy ball on [{lo:.4g}, 1]: alpha {alpha:.4g}, beta {beta:.4g}, factor sqrt(beta) = {math.sqrt(beta):.4g} "
          f"per F evaluation; median F evaluations on the same in-distribution instances {np.median(ok):g} ({len(ok)} converged); "
          f"learned {c['median_cost']['learned']}, anderson({args.memory}) {c['median_cost'].get(f'anderson({args.memory})')}")
    print(f"\nwall time: training {t1 - t0:.1f} s, analysis {t2 - t1:.1f} s")


if __name__ == "__main__":
    main()
