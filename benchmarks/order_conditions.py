"""Time to evaluate all order conditions of the 13-stage Prince-Dormand 8(7) tableau.

    python benchmarks/order_conditions.py [--repeat N] [--no-nodepy]

Prints, for orders 10, 12 and 14 in float64 and order 10 in exact rational arithmetic, the
time of one full evaluation (every tree up to that order), both "cold" (rooted trees
generated from scratch in this process) and "warm" (tree table cached), and, when nodepy is
importable, nodepy's time for the same work in the same process and the ratio.
Targets on a 2-core machine: <= 12 float64 under 50 ms, <= 14 float64 under 1 s, <= 10
exact under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from algodiscover.analysis import get_method, residuals
import algodiscover.analysis.rooted_trees as trees_mod


def _reset_tree_caches() -> None:
    trees_mod._BUILDER = trees_mod._TableBuilder()
    trees_mod.trees.cache_clear()


def _time(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-nodepy", action="store_true")
    args = ap.parse_args()
    pd8 = get_method("PrinceDormand8(7)")
    pd8f = pd8.as_float()
    rows = []
    for p in (10, 12, 14):
        def cold(p=p):
            _reset_tree_caches()
            residuals(pd8f, p, exact=False)

        cold_t = _time(cold, max(1, args.repeat // 2))
        residuals(pd8f, p, exact=False)
        warm_t = _time(lambda p=p: residuals(pd8f, p, exact=False), args.repeat)
        r = np.abs(residuals(pd8f, p, exact=False))
        rows.append((f"float64 through order {p}", cold_t, warm_t, int(r.size)))
    _reset_tree_caches()
    exact_cold = _time(lambda: residuals(pd8, 10, exact=True), 1)
    exact_warm = _time(lambda: residuals(pd8, 10, exact=True), max(1, args.repeat // 2))
    rows.append(("exact rationals through order 10", exact_cold, exact_warm, len(residuals(pd8, 10, exact=True))))

    print("Prince-Dormand 8(7), 13 stages: evaluate every order condition")
    print(f"{'work':<36} {'trees':>7} {'cold [s]':>10} {'warm [s]':>10}")
    for name, c, w, n in rows:
        print(f"{name:<36} {n:>7} {c:>10.4f} {w:>10.4f}")

    if args.no_nodepy:
        return
    try:
        import nodepy.runge_kutta_method as rk
    except ImportError:
        print("\nnodepy not importable: no side-by-side comparison (pip install nodepy)")
        return
    m = rk.ExplicitRungeKuttaMethod(pd8f.A, pd8f.b)
    print("\nnodepy, same process (RungeKuttaMethod.order_condition_residuals for each order):")
    print(f"{'work':<28} {'nodepy [s]':>11} {'ours cold [s]':>14} {'ours warm [s]':>14} {'ratio (cold)':>13}")
    for p in (8, 10):
        t0 = time.perf_counter()
        for q in range(1, p + 1):
            m.order_condition_residuals(q)
        nt = time.perf_counter() - t0

        def cold(p=p):
            _reset_tree_caches()
            residuals(pd8f, p, exact=False)

        ours_cold = _time(cold, args.repeat)
        ours_warm = _time(lambda p=p: residuals(pd8f, p, exact=False), args.repeat)
        print(f"{'float64 through order ' + str(p):<28} {nt:>11.3f} {ours_cold:>14.5f} {ours_warm:>14.5f} {nt / ours_cold:>12.0f}x")
    print("(orders 12 and 14 are not run in nodepy: its cost grows ~10x per order beyond 10)")


if __name__ == "__main__":
    main()
