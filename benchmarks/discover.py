"""Wall time of the issue-3 discoveries and of the default `algodiscover discover`.

    python benchmarks/discover.py

Each row trains, distils and analyses (no reports), in this process, with a cold
reference-solution cache; the default run is timed again through the CLI entry point with
its reports. Target on a 2-core machine: under 60 s each. Also prints what each discovery
found, so the timing is of runs that did what they claim.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from algodiscover.cli import main as cli_main
from algodiscover.config import default_config
from algodiscover.pipeline import run_discover
from algodiscover.training import TrainConfig


def _cases():
    base = default_config("ode")
    yield "2 stages, square family (paper)", base
    yield "3 stages, linear family, family-order-3 regulariser", replace(
        base.with_overrides(family="linear", stages=3), options={"taylor_order": 3, "taylor_mode": "family", "taylor_weight": 1e4})
    yield "4 stages, Van der Pol, order-4 regulariser", replace(
        base.with_overrides(family="vanderpol", stages=4), options={"taylor_order": 4}, train=TrainConfig(adam_steps=1000, lr=0.05, lbfgs_steps=300))
    yield "4 stages, square, family-order-6 regulariser", replace(
        base.with_overrides(family="square", stages=4), options={"taylor_order": 6, "taylor_mode": "family"})
    yield "3 stages, square, no regulariser", base.with_overrides(family="square", stages=3)


def _found(a: dict) -> str:
    """What the run found, with the distilled-vs-learned verdict and its interval."""
    d = a.get("distillation") or {}
    kind = "exact" if a.get("rational") else ("60 digits, verified to 1e-40" if d.get("high_precision") else "none")
    out = (f"{kind}; general order {a['exact_order']}, personalised {a.get('personalised_order')}, "
           f"measured {a.get('measured_order') or float('nan'):.2f}, {a['identified_as']}")
    prim = a.get("primary")
    if prim:
        lo, hi = prim["ci95"]
        out += (f"; distilled/learned error {prim['distilled_over_learned_error']:.3g} [{lo:.3g}, {hi:.3g}] "
                f"({prim['n_instances']} problems) -> primary: {prim['method']}")
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ALGODISCOVER_CACHE"] = str(Path(tmp) / "cache")
        print(f"{'discovery':<52} {'train [s]':>9} {'analyse [s]':>11} {'total [s]':>9}  result")
        for label, cfg in _cases():
            t0 = time.perf_counter()
            res = run_discover(cfg, Path(tmp) / label.replace(" ", "_").replace(",", ""), formats=(), progress=False)
            total = time.perf_counter() - t0
            print(f"{label:<52} {res.timings['train_s']:>9.1f} {res.timings['analyze_s']:>11.1f} {total:>9.1f}  {_found(res.analysis)}")
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(["discover", "--out", str(Path(tmp) / "default"), "--quiet"])
        print(f"{'algodiscover discover (default, with reports)':<52} {'':>9} {'':>11} {time.perf_counter() - t0:>9.1f}  exit code {code}")


if __name__ == "__main__":
    main()
