"""The default nonlinear run against the classical solvers, and how long it takes.

    python benchmarks/nonlinear.py [--family NAME] [--mode derivative-free|newton-krylov] [--seed S]

Trains the default configuration of ``algodiscover discover nonlinear`` (the H-equation,
m = 100, c in [0.5, 0.9], 2 stages, 6 outer iterations) or the given family, analyses it as
``discover`` does, and prints per setting (in and out of distribution, 100 held-out instances
each) every method's converged count and median cost in F evaluations (counted by a wrapper
around F; Newton's exact Jacobians at their measured cost), the ratio learned / method with
its 95 % bootstrap interval and verdict, and which method needs the fewest; then the local
convergence factor (median and worst case over 100 instances and the corners of the range),
the tuned options, and the wall time of training and of the analysis (target: the whole
default run under a minute). No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from algodiscover.config import default_config
from algodiscover.nonlinear import analyze_run, train_run


def _est(e) -> str:
    if e is None or e["value"] is None:
        return "--"
    if e["ci95"] is None:
        return f"{e['value']:.3g} (n = {e['n']}, no interval)"
    lo, hi = (float(v) for v in e["ci95"])
    return f"{e['value']:.3g} [{lo:.3g}, {hi:.3g}] {e['verdict']}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="hequation")
    ap.add_argument("--mode", default="derivative-free", choices=("derivative-free", "newton-krylov"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    base = default_config("nonlinear")
    cfg = replace(base, family=args.family, seed=args.seed, options={**base.options, "mode": args.mode})
    t0 = time.perf_counter()
    alg = train_run(cfg, progress=False)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    a = analyze_run(alg, progress=False)
    t_analyse = time.perf_counter() - t0
    nl = a["nonlinear"]
    print(f"{args.family}, {args.mode}: training {t_train:.1f} s, analysis {t_analyse:.1f} s, total {t_train + t_analyse:.1f} s "
          "(target under 60 s)")
    jc = nl["baselines"]["jacobian_cost"]
    if jc:
        print(f"exact Jacobian ({jc['jacobian']}): {jc['jacobian_in_F']:.3g} F evaluations (measured); forward-mode JVP "
              f"{jc['jvp_in_F']:.3g}; a finite-difference Jacobian costs m = {jc['size']}")
    for m, t in nl["baselines"]["tuning"].items():
        print(f"  tuned {m:<20} {t['options']}  (median {t['median_cost_on_tuning']} on {t['instances']} training instances)")
    lin = nl["linearisation"]
    print(f"local rate: median {lin['local_rate_median']:.3g}, worst {lin['local_rate']:.3g} at {lin['worst']['params']} "
          f"({lin['worst']['instance']}), over {lin['instances']} instances and {lin['corners']} corners")
    for setting, c in nl["comparison"].items():
        print(f"\n{setting} ({c['instances']} instances, ||F|| <= {c['tol']:.0e}); fewest: {c['fewest']}")
        print(f"  {'method':<22} {'converged':>9} {'median':>7} {'wall s':>7}   learned / method [95% CI] verdict")
        for m, med in c["median_cost"].items():
            e = c["ratios"].get(m)
            print(f"  {m:<22} {c['success'][m]:>9} {('--' if med is None else f'{med:.3g}'):>7} {c['wall_time_s'][m]:>7.2f}   "
                  + ("reference" if m == "learned" else _est(e)))


if __name__ == "__main__":
    main()
