"""Percentile bootstrap intervals of a mean, shared by the measured comparisons.

:func:`bootstrap_mean_interval` resamples ``values`` with replacement ``resamples`` times from
the caller's generator and returns the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the
resampled means (the percentile interval). The comparisons of two-derivative methods
(:mod:`analysis.two_derivative_accuracy`) and of multistep methods
(:mod:`analysis.multistep_accuracy`) apply it to per-problem log error ratios, so the interval
of a geometric-mean ratio is ``exp`` of it. Imports numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bootstrap_mean_interval"]


def bootstrap_mean_interval(values: np.ndarray, rng: np.random.Generator, resamples: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` at confidence ``level``."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    idx = rng.integers(0, n, size=(resamples, n))
    means = values[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
