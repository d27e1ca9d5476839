"""Uncertainty of a measured comparison: the percentile bootstrap of a cost ratio over test
instances (no torch).

A comparison "learned against classical" measures a cost (matvecs, residual evaluations,
errors) per held-out instance for both methods. :func:`bootstrap_ratio` turns the paired
costs into a :class:`RatioEstimate`: the ratio itself, a 95 % percentile-bootstrap interval
over the instances (the instances are resampled with replacement, the same indices for both
methods, ``resamples`` times from a fixed seed, so the interval is reproducible), the number
of instances, and a verdict only where the interval excludes 1. Two statistics:

``"ratio of medians"``
    ``median(numerator) / median(denominator)``; a failed instance (``None`` or ``inf``)
    counts as +infinity in its median, so a method that fails on most instances has an
    infinite median and no ratio.
``"median of ratios"``
    the median of the per-instance ratios ``numerator_i / denominator_i`` over the instances
    where both values are finite (``n`` counts those).

``learned`` says which side is the learned method, so that the verdict reads the same
whatever the orientation of the ratio: ``"fewer"`` (the learned method costs less),
``"more"`` or ``"no significant difference"``. Imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["RatioEstimate", "bootstrap_ratio", "median_or_none", "STATISTICS", "VERDICTS", "MIN_INSTANCES", "RESAMPLES"]

STATISTICS = ("ratio of medians", "median of ratios")
VERDICTS = ("fewer", "more", "no significant difference")
#: fewer instances than this give no interval and no verdict (a bootstrap of 2 values says nothing)
MIN_INSTANCES = 5
#: bootstrap resamples by default
RESAMPLES = 2000


@dataclass(frozen=True)
class RatioEstimate:
    """A cost ratio with its bootstrap interval.

    ``value`` the ratio (None when it is undefined: a median is infinite, or no instance
    has both values); ``ci95`` ``(lo, hi)`` or None (fewer than :data:`MIN_INSTANCES`
    instances, or no value); ``n`` the instances the statistic uses; ``verdict`` one of
    :data:`VERDICTS` (for the learned method) or None without an interval.
    """

    value: float | None
    ci95: tuple[float, float] | None
    n: int
    statistic: str
    learned: str
    verdict: str | None
    resamples: int
    seed: int
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {self.statistic!r}")
        if self.learned not in ("numerator", "denominator"):
            raise ValueError(f"learned must be 'numerator' or 'denominator', got {self.learned!r}")
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @property
    def significant(self) -> bool:
        """True when the interval excludes 1."""
        return self.verdict in ("fewer", "more")

    def to_json(self) -> dict[str, Any]:
        return {
            "value": _json_float(self.value),
            "ci95": None if self.ci95 is None else [_json_bound(self.ci95[0]), _json_bound(self.ci95[1])],
            "n": self.n,
            "statistic": self.statistic,
            "learned": self.learned,
            "verdict": self.verdict,
            "resamples": self.resamples,
            "seed": self.seed,
        }


def _json_float(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _json_bound(v: float) -> float | str:
    """An interval end: a float, or ``"inf"`` when the resampled medians reach infinity."""
    return float(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")


def _as_costs(values: Sequence[float | None]) -> np.ndarray:
    """Costs as floats, failures (None, NaN, inf) as +inf."""
    out = np.array([math.inf if v is None else float(v) for v in values], dtype=np.float64)
    out[~np.isfinite(out)] = math.inf
    return out


def median_or_none(values: Sequence[float | None]) -> float | None:
    """Median with failures counted as +infinity; None when that median is infinite."""
    if len(values) == 0:
        return None
    med = float(np.median(_as_costs(values)))
    return med if math.isfinite(med) else None


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Elementwise ``num / den`` of medians: inf / inf counts as 1 (both fail: no difference),
    x / inf as 0, inf / x as inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
    r = np.where(np.isinf(num) & np.isinf(den), 1.0, r)
    return np.where((den == 0) & (num == 0), 1.0, r)


def bootstrap_ratio(numerator: Sequence[float | None], denominator: Sequence[float | None], *,
                    statistic: str = "ratio of medians", learned: str = "denominator", resamples: int = RESAMPLES,
                    seed: int = 0, level: float = 0.95) -> RatioEstimate:
    """The ratio ``numerator / denominator`` of paired per-instance costs (same length,
    instance i of each is the same problem) with a percentile-bootstrap interval.

    ``learned`` is the side of the learned method (``"denominator"`` for "baseline /
    learned", above 1 meaning the learned method costs less; ``"numerator"`` for "learned /
    baseline"). The interval is the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the
    statistic over ``resamples`` resamples of the instances (paired), taken without
    interpolation (numpy's ``"lower"``/``"higher"``), so it never narrows below the
    resampled values.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    a, b = _as_costs(numerator), _as_costs(denominator)
    if a.shape != b.shape:
        raise ValueError(f"numerator and denominator must be paired: {a.size} and {b.size} values")
    if not (0 < level < 1):
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if statistic == "median of ratios":
        both = np.isfinite(a) & np.isfinite(b)
        a, b = a[both], b[both]
    n = int(a.size)
    if n == 0:
        return RatioEstimate(None, None, 0, statistic, learned, None, resamples, seed, level)
    if statistic == "ratio of medians":
        value = float(_ratio(np.array([np.median(a)]), np.array([np.median(b)]))[0])
    else:
        value = float(np.median(_ratio(a, b)))
    if not math.isfinite(value):
        return RatioEstimate(None, None, n, statistic, learned, None, resamples, seed, level)
    if n < MIN_INSTANCES or resamples < 1:
        return RatioEstimate(value, None, n, statistic, learned, None, resamples, seed, level)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xB007]))
    idx = rng.integers(0, n, size=(int(resamples), n))
    if statistic == "ratio of medians":
        reps = _ratio(np.median(a[idx], axis=1), np.median(b[idx], axis=1))
    else:
        reps = np.median(_ratio(a, b)[idx], axis=1)
    alpha = (1.0 - level) / 2.0
    lo = float(np.quantile(reps, alpha, method="lower"))
    hi = float(np.quantile(reps, 1.0 - alpha, method="higher"))
    if lo > 1.0:
        above = True
    elif hi < 1.0:
        above = False
    else:
        above = None
    if above is None:
        verdict = "no significant difference"
    else:
        # ratio above 1: the numerator costs more
        learned_costs_more = above if learned == "numerator" else not above
        verdict = "more" if learned_costs_more else "fewer"
    return RatioEstimate(value, (lo, hi), n, statistic, learned, verdict, int(resamples), int(seed), level)
