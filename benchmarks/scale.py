"""`algodiscover discover linear` at the size of PDE problems: time and memory against the grid.

    python benchmarks/scale.py [--sizes 32,64,128,256,512] [--big 1024] [--stages 4] [--outer 3]
                               [--formats html,tex] [--slope-sizes 32,64,128,256,512]

Each grid size runs in its own process (so that its peak memory, ``ru_maxrss``, is its own):
the whole `discover` of ``poisson2d`` (N x N grid, m = N^2 unknowns, nnz = 5 N^2 - 4 N) with
``stages`` stages and ``outer`` outer iterations, the default objective (``auto``: spectral,
the systems share one matrix) and the default held-out comparison (``heldout = "auto"``:
100 systems up to m = 5242, then 2^19 // m). Printed per size: training, analysis and whole
run seconds, peak memory, unknowns per second of training (m / training seconds), the
training time in units of one scipy sparse matvec (CSR, one vector) measured in the same
process, and the comparison's wall time. Then, over ``--slope-sizes``, the time per
training step of the spectral objective (the default here) and of the residual objective
(Chebyshev moments of the training right-hand sides, computed once, included in its time),
with the fitted log-log slope against nnz (1: linear in nnz; 0: independent of m).
Timings are figures, not asserts; note the machine's load beside them (`uptime`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _cfg(N: int, stages: int, outer: int, **linear):
    from algodiscover.config import default_config

    base = default_config("linear")
    opts = dict(base.options)
    opts.update({"size": N, **linear})
    return replace(base, family="poisson2d", name=f"scale-poisson2d-{N}", model=replace(base.model, stages=stages, outer=outer),
                   options=opts)


def _matvec_seconds(A, repeats: int = 20) -> float:
    import numpy as np

    v = np.random.default_rng(0).standard_normal(A.shape[0])
    A @ v
    t0 = time.perf_counter()
    for _ in range(repeats):
        A @ v
    return (time.perf_counter() - t0) / repeats


def one(N: int, stages: int, outer: int, formats: tuple[str, ...]) -> dict:
    """The whole discover at grid N in this process (the child of :func:`main`)."""
    from algodiscover.linear_families import poisson2d
    from algodiscover.pipeline import _run  # the discover pipeline with its phase timings

    A = poisson2d(N)
    mv = _matvec_seconds(A)
    cfg = _cfg(N, stages, outer)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = _run(cfg, Path(tmp) / "run", analyse=True, formats=formats, progress=False, resume=False, force=False)
        whole = time.perf_counter() - t0
    an = res.analysis
    comp = an["krylov"]["comparison"]
    return {"N": N, "m": N * N, "nnz": int(A.nnz), "train_s": res.timings["train_s"], "analyse_s": res.timings["analyze_s"],
            "report_s": res.timings["report_s"], "whole_s": whole, "compare_s": float(comp["wall_s"]) if comp else math.nan,
            "heldout": comp["instances"] if comp else 0, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "matvec_s": mv, "objective": an["krylov"]["objective"]["name"]}


def step_time(N: int, stages: int, outer: int, objective: str, steps: int = 60) -> dict:
    """Seconds per training step (``steps`` Adam steps) of ``objective`` at grid N, its data
    reduction included."""
    import torch

    from algodiscover.linear import build_model, family_for, make_loss, resolve_objective
    from algodiscover.options import LinearTrainingConfig

    cfg = _cfg(N, stages, outer, objective=objective)
    opts = LinearTrainingConfig.from_options(dict(cfg.options))
    fam = family_for("poisson2d", opts)
    name, _ = resolve_objective(opts, fam)
    t0 = time.perf_counter()
    probs = fam.sample(opts.samples, 0) if name != "spectral" else None
    model = build_model(cfg, opts, fam)
    loss = make_loss(model, opts, fam, probs, outer, name)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        val = loss()
        val.backward()
        opt.step()
    dt = time.perf_counter() - t0
    return {"N": N, "nnz": int(fam.matrix.nnz), "objective": name, "step_s": dt / steps}


def _child(args: list[str]) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _slope(xs: list[float], ys: list[float]) -> float:
    import numpy as np

    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="32,64,128,256,512")
    ap.add_argument("--big", default="", help="extra grid sizes run after the table's (e.g. 1024)")
    ap.add_argument("--slope-sizes", default="32,64,128,256,512")
    ap.add_argument("--stages", type=int, default=4)
    ap.add_argument("--outer", type=int, default=3)
    ap.add_argument("--formats", default="html,tex")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--step", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    formats = tuple(f for f in a.formats.split(",") if f and f != "none")
    if a.one is not None:
        print(json.dumps(one(a.one, a.stages, a.outer, formats)))
        return
    if a.step is not None:
        N, obj = a.step.split(":")
        print(json.dumps(step_time(int(N), a.stages, a.outer, obj)))
        return
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    sizes = [int(s) for s in a.sizes.split(",") if s] + [int(s) for s in a.big.split(",") if s]
    head = (f"{'grid N':>6} {'unknowns':>10} {'nnz':>9} {'train s':>8} {'analyse s':>9} {'whole s':>8} {'peak GB':>7} "
            f"{'report s':>8} {'train unknowns/s':>16} {'train / matvec':>14} {'matvec ms':>9} {'held-out':>8} {'compare s':>9}")
    print(f"poisson2d, {a.stages} stages, {a.outer} outer iterations, default objective and comparison, formats {a.formats}")
    print(head)
    print("-" * len(head))
    for N in sizes:
        r = _child(["--one", str(N), "--stages", str(a.stages), "--outer", str(a.outer), "--formats", a.formats or "none"])
        print(f"{r['N']:>6} {r['m']:>10,} {r['nnz']:>9,} {r['train_s']:>8.2f} {r['analyse_s']:>9.2f} {r['whole_s']:>8.1f} "
              f"{r['peak_gb']:>7.2f} {r['report_s']:>8.2f} {r['m'] / r['train_s']:>16,.0f} {r['train_s'] / r['matvec_s']:>14,.0f} "
              f"{1e3 * r['matvec_s']:>9.3f} {r['heldout']:>8} {r['compare_s']:>9.1f}", flush=True)
    ss = [int(s) for s in a.slope_sizes.split(",") if s]
    if len(ss) >= 2:
        print("\ntime per training step (60 Adam steps, data reduction included) against nnz")
        for obj in ("spectral", "residual"):
            rows = [_child(["--step", f"{N}:{obj}", "--stages", str(a.stages), "--outer", str(a.outer)]) for N in ss]
            cells = "  ".join(f"N={r['N']}: {1e3 * r['step_s']:.2f} ms" for r in rows)
            print(f"{obj:<9} {cells}   slope d log(step) / d log(nnz) = {_slope([r['nnz'] for r in rows], [r['step_s'] for r in rows]):.2f}",
                  flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
