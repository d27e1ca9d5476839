"""R2N2 with memory on linear systems: the learned iteration against the optimal non-adaptive methods.

Issue 16's goal on the ``spd`` family (eigenvalues in [1, 10], both ends in every matrix) with
200 x 200 systems, so that CG's finite termination does not decide: the learned memory
iteration's asymptotic factor per matvec (companion matrix of its residual recurrence) within
1.05x of the optimal stationary two-step factor (sqrt(kappa) - 1)/(sqrt(kappa) + 1) = 0.519,
and its matvecs to 1e-10 within 1.1x of Chebyshev semi-iteration on 100 held-out systems,
without inner products. For each configuration and seed: train (spectral objective: the memory
iteration unrolled on the scalar problems y' = -lambda y, no systems needed), analyse (the
recurrence, its factor, the identification, and the measured comparison on the held-out
systems), and print the factor, its ratio to the optimum, the median matvecs of the learned
iteration, Chebyshev semi-iteration, the optimal heavy ball and CG, the ratios learned /
baseline with 95% bootstrap intervals, and the wall times. Figures to read, never asserted::

    python benchmarks/linear_memory.py              # seeds 0-2, 100 held-out systems
    python benchmarks/linear_memory.py --seeds 1 --heldout 20
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from algodiscover.config import config_from_mapping
from algodiscover.linear import analyze_run, train_run

_TRAIN = {"adam_steps": 300, "lr": 0.02, "lbfgs_steps": 200}
CONFIGS = {
    "1 stage, memory 1, momentum (heavy-ball form), K = 40": {"model": {"stages": 1, "outer": 40, "memory": 1, "memory_form": "momentum"}},
    "1 stage, memory 1, full, K = 40": {"model": {"stages": 1, "outer": 40, "memory": 1, "memory_form": "full"}},
    "1 stage, memory 1, momentum, K = 100": {"model": {"stages": 1, "outer": 100, "memory": 1, "memory_form": "momentum"}},
    "2 stages, memory 1, full, K = 20": {"model": {"stages": 2, "outer": 20, "memory": 1, "memory_form": "full"}},
}


def _inverse_ratio(est: dict) -> str:
    """learned / baseline median matvecs with its interval (the stored ratio is baseline / learned)."""
    if not est or est.get("value") is None:
        return "-"
    v = 1.0 / est["value"]
    ci = est.get("ci95")
    return f"{v:.3f}" + ("" if not ci else f" [{1.0 / ci[1]:.3f}, {1.0 / ci[0]:.3f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--heldout", type=int, default=100)
    ap.add_argument("--size", type=int, default=200)
    args = ap.parse_args()
    os.environ.setdefault("ALGODISCOVER_CACHE", tempfile.mkdtemp(prefix="algodiscover-bench-"))
    for label, extra in CONFIGS.items():
        print(f"\n== {label}  (spd, m = {args.size}, eigenvalues in [1, 10], {args.heldout} held-out systems, tol 1e-10)")
        print(f"{'seed':>4} {'factor/mv':>9} {'/optimal':>8} {'median mv: learned':>18} {'cheb':>5} {'hb':>4} {'cg':>4}  "
              f"{'learned/chebyshev [95% CI]':<28} {'learned/heavy-ball [95% CI]':<28} {'train s':>7} {'anal. s':>7}  identified as")
        for seed in range(args.seeds):
            mapping = {"seed": seed, "problem": {"class": "linear", "family": "spd"}, "train": _TRAIN,
                       "linear": {"objective": "spectral", "size": args.size, "grid": 256, "heldout": args.heldout}, **extra}
            t0 = time.perf_counter()
            alg = train_run(config_from_mapping(mapping), progress=False)
            t1 = time.perf_counter()
            a = analyze_run(alg, progress=False)
            t2 = time.perf_counter()
            mem = a["krylov"]["memory"]
            comp = a["krylov"]["comparison"]
            med = {m: d["median"] for m, d in comp["methods"].items()}
            est = comp["ratio_estimates"]
            fmt = lambda v: "-" if v is None else f"{v:g}"  # noqa: E731
            print(f"{seed:>4} {mem['factor']['per_matvec']:>9.4f} {mem['factor_ratio']:>8.4f} {fmt(med['learned']):>18} "
                  f"{fmt(med.get('chebyshev')):>5} {fmt(med.get('heavy-ball')):>4} {fmt(med.get('cg')):>4}  "
                  f"{_inverse_ratio(est.get('chebyshev')):<28} {_inverse_ratio(est.get('heavy-ball')):<28} {t1 - t0:>7.1f} {t2 - t1:>7.1f}  "
                  f"{mem['identified_as'] or '-'}")
        print(f"optimal two-step factor per matvec: {mem['optimal_two_step']['per_matvec']:.6f} "
              f"(exactly {mem['optimal_two_step']['per_matvec_exact']}); goal: factor/optimal <= 1.05, learned/chebyshev <= 1.1")


if __name__ == "__main__":
    main()
