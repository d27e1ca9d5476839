"""The measured cost of the derivative module ``g = f'(y) f(y)`` relative to one ``f``.

An equal-cost comparison counts every stage in *f-evaluation equivalents*: a stage that
evaluates f costs 1, one that evaluates g (alone, or together with f) costs the measured
ratio. :func:`measure_derivative_cost` times, on the training batch and in the way training
evaluates them (forward pass, autograd recording, the training thread count), ``f``, ``g``
alone and ``f`` and ``g`` together as the model gets them (the family's symbolic
``J(y) f(y)``), and ``(f, g)`` by exact forward-mode AD (:func:`algodiscover.model.jvp_fg`)
for comparison: medians over interleaved rounds. The figures are recorded in
the artefact's ``cost`` (not in its content hash: they are measurements, like wall times)
and read by the analysis (:class:`algodiscover.analysis.two_derivative_accuracy.DerivativeCost`).

May import torch and :mod:`algodiscover.model`.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch

from .model import DerivativeRHS, jvp_fg

__all__ = ["measure_derivative_cost"]

Tensor = torch.Tensor


def _time_one(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure_derivative_cost(rhs: DerivativeRHS, Y: Tensor, *, rounds: int = 301, threads: int | None = None) -> dict[str, Any]:
    """Seconds per call of f, g, (f, g) and (f, g) by ``torch.func.jvp`` on the batch ``Y``
    (B, d), and their ratios to f.

    Each of ``rounds`` rounds times one call of each (in a rotating order), so that a change of
    load on the machine between rounds affects all four alike; a ratio is the median over rounds of the
    per-round ratio, a time the median over rounds. ``threads``: intra-op threads while timing
    (default: the current setting).
    """
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        X = Y.detach().clone().requires_grad_(True)
        cases: dict[str, Callable[[], Any]] = {
            "f": lambda: rhs(X),
            "g": lambda: rhs.g(X),
            "fg": lambda: rhs.fg(X),
            "jvp_fg": lambda: jvp_fg(rhs.f, X),
        }
        for fn in cases.values():  # warm up (first calls allocate and compile kernels)
            for _ in range(5):
                fn()
        samples: dict[str, list[float]] = {k: [] for k in cases}
        order = list(cases)
        for r in range(rounds):
            for k in order[r % 4:] + order[:r % 4]:  # each case first in turn: no position bias
                samples[k].append(_time_one(cases[k]))
        used_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(saved)
    med = {k: statistics.median(v) for k, v in samples.items()}
    ratio = {k: statistics.median(a / b for a, b in zip(samples[k], samples["f"])) for k in ("g", "fg", "jvp_fg")}
    return {
        "source": "measured",
        "implementation": "symbolic J(y) f(y) of the family (common subexpressions shared with f)",
        "g_over_f": ratio["g"],
        "fg_over_f": ratio["fg"],
        "jvp_fg_over_f": ratio["jvp_fg"],
        "f_seconds": med["f"],
        "g_seconds": med["g"],
        "fg_seconds": med["fg"],
        "jvp_fg_seconds": med["jvp_fg"],
        "batch": [int(Y.shape[0]), int(Y.shape[1])],
        "repeats": rounds,
        "calls_per_repeat": 1,
        "threads": used_threads,
        "statistic": "median over interleaved rounds of the per-round time ratio to f (times: medians); forward pass with autograd recording",
    }
