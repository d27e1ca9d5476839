"""Distillation of noisy classical tableaux: time and outcome per method.

Gaussian noise of the given size on every coefficient of A and b; ``distill`` with no
target (the order is chosen by reach). Prints, per method and seed, whether the exact
original came back, the order chosen and the seconds taken, and the ratio of the slowest
case to the time of one ``check_order`` of the same tableau in this process (a baseline
that scales with the machine).

    python benchmarks/distill.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from algodiscover.analysis import ButcherTableau, check_order, distill, get_method

CASES = [("RK4", 1e-4), ("3/8-rule", 1e-4), ("Kutta3", 1e-4), ("Heun3", 1e-4), ("Ralston3", 1e-4), ("SSPRK3", 1e-4),
         ("BogackiShampine3(2)", 1e-4), ("DormandPrince5(4)", 1e-6)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    worst = 0.0
    recovered = total = 0
    for name, noise in CASES:
        t = get_method(name)
        t = ButcherTableau([list(r) for r in t.exact.A], list(t.exact.b))
        s = t.stages
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            noisy = ButcherTableau(t.A + np.tril(rng.normal(0, noise, (s, s)), -1), t.b + rng.normal(0, noise, s))
            t0 = time.perf_counter()
            d = distill(noisy, budget_s=10.0)
            el = time.perf_counter() - t0
            ok = d.exact is not None and [list(r) for r in d.exact.exact.A] == [list(r) for r in t.exact.A] \
                and list(d.exact.exact.b) == list(t.exact.b)
            recovered += ok
            total += 1
            worst = max(worst, el)
            print(f"{name:22s} noise {noise:.0e} seed {seed}: {'exact original' if ok else 'NOT recovered':15s} "
                  f"target {d.target!s:10s} {el:6.3f} s")
    t0 = time.perf_counter()
    check_order(get_method("DormandPrince5(4)").as_float())
    base = time.perf_counter() - t0
    print(f"recovered {recovered}/{total}; slowest {worst:.3f} s = {worst / base:.0f}x one check_order of Dormand-Prince 5 ({base * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
