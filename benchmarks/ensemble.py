"""Throughput of ensemble training (M models in one batched optimisation) against a Python
loop over the same M models, in the same process, and a check that the results match.

    python benchmarks/ensemble.py                      # M = 64, square family, 2 stages
    python benchmarks/ensemble.py --family vanderpol --stages 3 --outer 2 --models 32
    python benchmarks/ensemble.py --taylor-order 3     # regularised loss (per-model graphs)

Both sides train exactly what ``algodiscover train`` trains for each configuration (one
seed per model): the loop calls :func:`algodiscover.pipeline.train_algorithm`, the ensemble
:func:`algodiscover.ensemble.train_ensemble`. The training data (reference solutions) are
computed once before timing, so the timings compare training only; each side is timed
``--repeat`` times and the best time is reported. Timings are printed, never asserted.
The results are compared as ``tests/test_ensemble.py`` does: the largest relative weight
difference per model (against ``WEIGHT_RTOL``), equal phase counts, equal outcomes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=64, help="M, the number of models (default 64)")
    ap.add_argument("--family", default="square")
    ap.add_argument("--stages", type=int, default=2)
    ap.add_argument("--outer", type=int, default=1)
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--adam-steps", type=int, default=100)
    ap.add_argument("--lbfgs-steps", type=int, default=50)
    ap.add_argument("--taylor-order", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1, as in a sweep worker)")
    args = ap.parse_args(argv)

    os.environ.setdefault("ALGODISCOVER_CACHE", tempfile.mkdtemp(prefix="algodiscover-bench-"))
    import numpy as np
    import torch

    from algodiscover.config import config_from_mapping
    from algodiscover.pipeline import train_algorithm
    from algodiscover.ensemble import train_ensemble

    torch.set_num_threads(args.threads)
    base = {"problem": {"class": "ode", "family": args.family},
            "model": {"stages": args.stages, "outer": args.outer},
            "train": {"adam_steps": args.adam_steps, "lbfgs_steps": args.lbfgs_steps},
            "ode": {"samples": args.samples, "taylor_order": args.taylor_order}}
    cfgs = [config_from_mapping({**base, "seed": s}, source="benchmark") for s in range(args.models)]

    def loop():
        out = []
        for c in cfgs:
            try:
                out.append(train_algorithm(c, progress=False))
            except Exception as exc:  # a diverged run is a result too
                out.append(exc)
        return out

    loop()  # warm-up: reference solutions cached, lambdified right-hand sides built
    train_ensemble(cfgs[:2])
    t_loop, t_ens = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ref = loop()
        t_loop.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ens = train_ensemble(cfgs)
        t_ens.append(time.perf_counter() - t0)

    from algodiscover.ensemble import WEIGHT_RTOL

    rel, beyond, phases_differ, same_error, mismatch, evals = [], 0, 0, 0, 0, 0
    for a, r in zip(ens, ref):
        if isinstance(a, Exception) or isinstance(r, Exception):
            same = isinstance(a, Exception) and isinstance(r, Exception) and str(a) == str(r)
            same_error += same
            mismatch += not same
            continue
        wa = np.concatenate([np.ravel(a.weights["W"]), np.ravel(a.weights["b"])])
        wr = np.concatenate([np.ravel(r.weights["W"]), np.ravel(r.weights["b"])])
        rel.append(float(np.max(np.abs(wa - wr)) / np.max(np.abs(wr))))
        beyond += rel[-1] > WEIGHT_RTOL
        phases_differ += a.training["phases"] != r.training["phases"]
        evals += len(r.training["loss_history"])
    M = args.models
    bl, be = min(t_loop), min(t_ens)
    print(f"config: {args.family}, {args.stages} stages, outer {args.outer}, {args.samples} samples, "
          f"Adam {args.adam_steps} + L-BFGS {args.lbfgs_steps}, taylor_order {args.taylor_order}; "
          f"torch threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"loop over {M} models:  {bl:8.3f} s  ({M / bl:8.1f} models/s)   runs: {', '.join(f'{t:.3f}' for t in t_loop)}")
    print(f"ensemble of {M}:       {be:8.3f} s  ({M / be:8.1f} models/s)   runs: {', '.join(f'{t:.3f}' for t in t_ens)}")
    print(f"speed-up: {bl / be:.1f}x   (loss evaluations per model, mean: {evals / max(1, len(rel)):.0f})")
    print(f"result match: max relative weight difference {max(rel, default=0.0):.3g} (tolerance {WEIGHT_RTOL:g}; "
          f"{beyond} of {len(rel)} beyond it); phase counts differ: {phases_differ}; "
          f"same divergence error: {same_error}; mismatched outcomes: {mismatch}")
    return 0 if mismatch == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
