"""R2N2 with memory on ODEs: what training finds, over seeds, and how it compares at equal cost.

For each configuration (the documented Adams-form AB2 example, Adams memory 2, the full
memory-1 form on long trajectories, two stages with memory 1 on Van der Pol) and each seed:
train, distil, analyse, and print the identification, the exact order, the measured global
order, the error constant and the equal-evaluation ratios at the largest budget (95%
bootstrap intervals) against AB2 and RK4, with the wall time of training and analysis.
Timings are figures to read, not asserted anywhere::

    python benchmarks/multistep.py            # seeds 0-4
    python benchmarks/multistep.py --seeds 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from algodiscover.config import config_from_mapping
from algodiscover.ode import analyze_run, train_run

CONFIGS = {
    "AB2 example (1 stage, memory 1, adams, linear)": {"problem": {"class": "ode", "family": "linear"},
                                                      "model": {"stages": 1, "outer": 8, "memory": 1, "memory_form": "adams"}},
    "1 stage, memory 2, adams, linear": {"problem": {"class": "ode", "family": "linear"},
                                         "model": {"stages": 1, "outer": 8, "memory": 2, "memory_form": "adams"}},
    "1 stage, memory 1, full, linear, K = 32": {"problem": {"class": "ode", "family": "linear"},
                                                "model": {"stages": 1, "outer": 32, "memory": 1}},
    "2 stages, memory 1, full, vanderpol": {"problem": {"class": "ode", "family": "vanderpol"},
                                            "model": {"stages": 2, "outer": 6, "memory": 1}, "ode": {"samples": 256}},
}


def _ratio(ms: dict, name: str) -> str:
    ec = ms.get("equal_cost") or {}
    row = (ec.get("ratios", {}).get("in_distribution", {}).get(name) or [None])[-1]
    return "-" if row is None else f"{row['ratio']:.3g} [{row['low']:.3g}, {row['high']:.3g}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("ALGODISCOVER_CACHE", tempfile.mkdtemp(prefix="algodiscover-bench-"))
    for label, mapping in CONFIGS.items():
        print(f"\n== {label}")
        print(f"{'seed':>4}  {'identified as / family':<58} {'exact':>5} {'meas.':>6} {'C':>7}  {'AB2 / it':<22} {'RK4 / it':<22} {'train s':>7} {'anal. s':>7}")
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            alg = train_run(config_from_mapping({**mapping, "seed": seed}), progress=False)
            t1 = time.perf_counter()
            a = analyze_run(alg).to_json()
            t2 = time.perf_counter()
            ms = a["multistep"]
            ident = a["identified_as"] or (a["identification"].get("family") or "-") + (
                f" {a['identification'].get('parameters')}" if a["identification"].get("parameters") else "")
            ec = ms.get("error_constant") or {}
            meas = a.get("measured_order")
            print(f"{seed:>4}  {ident[:58]:<58} {str(a['exact_order']):>5} {meas if meas is None else f'{meas:.2f}':>6} "
                  f"{str(ec.get('normalised', '-')):>7}  {_ratio(ms, 'AB2'):<22} {_ratio(ms, 'RK4'):<22} {t1 - t0:>7.1f} {t2 - t1:>7.1f}")


if __name__ == "__main__":
    main()
