"""Cost of the derivative module g = f'(y) f(y) relative to f, and what it does to the
equal-cost comparison of a two-derivative method with RK4.

    python benchmarks/two_derivative.py

For every built-in ODE family, on a training batch of 512 problems (one thread, forward pass
with autograd recording, as in training): the time of one f evaluation (the baseline, in
this process), and the ratios to it of g alone and of f and g together from the family's
symbolic Jacobian (what the model uses) and of f and g by torch.func.jvp (exact forward-mode
AD). Then, on Van der Pol, the global-error ratio RK4 / ChanTsai4 at equal cost, once with
the measured cost of g and once with the flop-free count (g = 1 f + 1 jvp, a jvp counted as
one f).
"""

from __future__ import annotations

import torch

from algodiscover.analysis import catalogue
from algodiscover.analysis.two_derivative_accuracy import COUNT_COST, DerivativeCost, EqualCostMethod, compare_at_equal_cost
from algodiscover.analysis.two_derivative_methods import get_two_derivative_method, pattern_of
from algodiscover.derivative_cost import measure_derivative_cost
from algodiscover.ode_families import ODE_FAMILIES


def main() -> None:
    print(f"{'family':<14} {'f [us]':>8} {'g/f':>6} {'(f,g)/f':>8} {'jvp (f,g)/f':>12}")
    measured = {}
    for name, fam in ODE_FAMILIES.items():
        smp = fam.spec.sample(512, 0)
        c = measure_derivative_cost(fam.torch_derivative_rhs(torch.tensor(smp.params)), torch.tensor(smp.y0), threads=1)
        measured[name] = c
        print(f"{name:<14} {1e6 * c['f_seconds']:>8.1f} {c['g_over_f']:>6.2f} {c['fg_over_f']:>8.2f} {c['jvp_fg_over_f']:>12.2f}")
    spec = ODE_FAMILIES["vanderpol"].spec
    t = get_two_derivative_method("ChanTsai4")
    rk4 = catalogue()["RK4"]
    print("\nvanderpol: global error RK4 / ChanTsai4 at equal cost (95% bootstrap interval), largest budget")
    for cost in (DerivativeCost.from_json(measured["vanderpol"]), COUNT_COST):
        ref = EqualCostMethod("ChanTsai4", t, cost.per_step(pattern_of(t)), 4)
        comp = compare_at_equal_cost(ref, [EqualCostMethod("RK4", rk4.tableau, 4.0, 4)], spec, cost_source=cost.source)
        for setting in ("in_distribution", "out_of_distribution"):
            r = comp.ratios[setting]["RK4"][-1]
            print(f"  {cost.source:<9} cost {ref.cost_per_step:5.2f} per step, {setting:<20} {r['ratio']:.3g} [{r['low']:.3g}, {r['high']:.3g}]")


if __name__ == "__main__":
    main()
