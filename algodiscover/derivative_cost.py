"""The measured cost of the derivative module ``g = f'(y) f(y)`` relative to one ``f``.

An equal-cost comparison counts every stage in *f-evaluation equivalents*: a stage that
evaluates f costs 1, one that evaluates g (alone, or together with f) costs the measured
ratio. :func:`measure_derivative_cost` times, on the training batch and in the way training
evaluates them (forward pass, autograd recording, the training thread count), ``f``, ``g``
alone and ``f`` and ``g`` together as the model gets them (the family's symbolic
``J(y) f(y)``), and ``(f, g)`` by exact forward-mode AD (:func:`algodiscover.model.jvp_fg`)
for comparison: the median per call over interleaved repeats. The figures are recorded in
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


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def measure_derivative_cost(rhs: DerivativeRHS, Y: Tensor, *, repeats: int = 31, calls: int = 20,
                            threads: int | None = None) -> dict[str, Any]:
    """Median seconds per call of f, g, (f, g) and (f, g) by ``torch.func.jvp`` on the batch
    ``Y`` (B, d), and the ratios to f. ``threads``: intra-op threads while timing (default:
    the current setting)."""
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
            _per_call(fn, 3)
        samples: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(repeats):
            for k, fn in cases.items():
                samples[k].append(_per_call(fn, calls))
        med = {k: statistics.median(v) for k, v in samples.items()}
        used_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(saved)
    f = med["f"]
    return {
        "source": "measured",
        "implementation": "symbolic J(y) f(y) of the family (common subexpressions shared with f)",
        "g_over_f": med["g"] / f,
        "fg_over_f": med["fg"] / f,
        "jvp_fg_over_f": med["jvp_fg"] / f,
        "f_seconds": f,
        "g_seconds": med["g"],
        "fg_seconds": med["fg"],
        "jvp_fg_seconds": med["jvp_fg"],
        "batch": [int(Y.shape[0]), int(Y.shape[1])],
        "repeats": repeats,
        "calls_per_repeat": calls,
        "threads": used_threads,
        "statistic": "median over interleaved repeats of the mean time per call; forward pass with autograd recording",
    }
