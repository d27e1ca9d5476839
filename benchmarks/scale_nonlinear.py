"""`algodiscover discover nonlinear` at the size of PDE problems: time and memory against m.

    python benchmarks/scale_nonlinear.py [--runs hequation:100,hequation:10000,bratu2d:100]
                                         [--formats html,tex] [--profile DIR]

Each run (``family:size``; size is m for hequation, the grid side n for bratu2d, so
bratu2d:100 has m = 10^4 unknowns) is the whole `discover` of the default nonlinear
configuration (2 stages, 6 outer steps, 200 Adam + 200 L-BFGS steps) in its own process, so
that its peak memory (``ru_maxrss``) is its own. Above 2000 unknowns the run uses the
automatic counts of ``nonlinear.scale = "auto"`` (printed: samples, held-out, tuning and
linearisation instances) and the matrix-free spectrum estimate. Printed per run: training,
analysis, report and whole-run seconds, peak memory, the counts used, the JVPs of the
spectrum estimate, and the seconds of one F evaluation on one instance measured in the same
process (the whole run in units of it). ``--profile DIR`` writes a cProfile of each run to
DIR/<family>-<size>.prof. Timings are figures, not asserts; note the load beside them.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _f_seconds(family, repeats: int = 20) -> float:
    import numpy as np

    probs = family.sample(1, 0)
    F = family.numpy_residual(probs.params[0].numpy())
    x = probs.x0[0].numpy()
    F(x)
    t0 = time.perf_counter()
    for _ in range(repeats):
        F(x)
    return (time.perf_counter() - t0) / repeats + 0.0 * float(np.sum(x[:1]))


def one(name: str, size: int, formats: tuple[str, ...], profile: str | None) -> dict:
    """The whole discover of ``name`` at ``size`` in this process (the child of :func:`main`)."""
    from algodiscover.config import default_config
    from algodiscover.nonlinear_families import get_nonlinear_family
    from algodiscover.pipeline import _run

    base = default_config("nonlinear")
    cfg = replace(base, family=name, name=f"scale-{name}-{size}", options={**dict(base.options), "size": size})
    fam = get_nonlinear_family(name, size)
    f_s = _f_seconds(fam)
    prof = cProfile.Profile() if profile else None
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if prof is not None:
            prof.enable()
        res = _run(cfg, Path(tmp) / "run", analyse=True, formats=formats, progress=False, resume=False, force=False)
        if prof is not None:
            prof.disable()
        whole = time.perf_counter() - t0
    if prof is not None:
        Path(profile).mkdir(parents=True, exist_ok=True)
        prof.dump_stats(str(Path(profile) / f"{name}-{size}.prof"))
    nl = res.analysis["nonlinear"]
    lin = nl["linearisation"]
    used = {k: v["used"] for k, v in nl.get("scaling", {}).get("changed", {}).items()}
    comp = nl["comparison"]["in_distribution"]
    return {"family": name, "size": size, "m": fam.size, "train_s": res.timings["train_s"], "analyse_s": res.timings["analyze_s"],
            "report_s": res.timings["report_s"], "whole_s": whole,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "f_s": f_s,
            "samples": used.get("samples", 128), "heldout": comp["instances"], "tune": used.get("tune_instances", 16),
            "lin_instances": lin["instances"], "estimate": "spectrum_estimate" in lin,
            "jvps": lin.get("spectrum_estimate", {}).get("matvecs", 0), "local_rate_median": lin["local_rate_median"],
            "best_baseline": comp["best_baseline"], "ratio_nk": comp["median_ratio_learned_to_newton_krylov"]}


def _child(args: list[str]) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="hequation:100,hequation:10000,bratu2d:100")
    ap.add_argument("--formats", default="html,tex")
    ap.add_argument("--profile", default=None, help="write a cProfile per run into this folder")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    formats = tuple(f for f in a.formats.split(",") if f and f != "none")
    if a.one is not None:
        name, size = a.one.split(":")
        print(json.dumps(one(name, int(size), formats, a.profile)))
        return
    la = os.getloadavg()
    print(f"load: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} (1/5/15 min), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset (2)')}")
    head = (f"{'family':>9} {'size':>6} {'unknowns':>9} {'train s':>8} {'analyse s':>9} {'report s':>8} {'whole s':>8} {'peak GB':>7} "
            f"{'samples':>7} {'held-out':>8} {'tuning':>6} {'lin.':>4} {'spectrum':>9} {'JVPs':>6} {'F ms':>7} {'whole / F':>10}")
    print("discover nonlinear, default configuration (2 stages, 6 outer steps), formats " + (a.formats or "none"))
    print(head)
    print("-" * len(head))
    for run in [r for r in a.runs.split(",") if r]:
        args = ["--one", run, "--formats", a.formats or "none"] + (["--profile", a.profile] if a.profile else [])
        r = _child(args)
        print(f"{r['family']:>9} {r['size']:>6} {r['m']:>9,} {r['train_s']:>8.1f} {r['analyse_s']:>9.1f} {r['report_s']:>8.1f} "
              f"{r['whole_s']:>8.1f} {r['peak_gb']:>7.2f} {r['samples']:>7} {r['heldout']:>8} {r['tune']:>6} {r['lin_instances']:>4} "
              f"{'estimate' if r['estimate'] else 'dense':>9} {r['jvps']:>6} {1e3 * r['f_s']:>7.3f} {r['whole_s'] / r['f_s']:>10,.0f}",
              flush=True)
    la = os.getloadavg()
    print(f"load after: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")


if __name__ == "__main__":
    main()
