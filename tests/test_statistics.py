"""The bootstrap of a cost ratio (analysis.statistics): seeded, paired, orientation-free
verdicts only where the interval excludes 1, failures counted, too few instances give no
interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algodiscover.analysis import bootstrap_ratio
from algodiscover.analysis.statistics import MIN_INSTANCES, median_or_none


def test_ratio_of_medians_with_a_reproducible_interval_and_verdict():
    rng = np.random.default_rng(0)
    learned = rng.integers(50, 60, 100)
    baseline = rng.integers(40, 46, 100)
    e = bootstrap_ratio(baseline, learned, seed=3)
    assert e.value == pytest.approx(np.median(baseline) / np.median(learned), rel=1e-15)
    assert e.n == 100 and e.statistic == "ratio of medians" and e.resamples == 2000
    lo, hi = e.ci95
    assert lo <= e.value <= hi < 1 and e.verdict == "more"  # baseline / learned < 1: the learned method costs more
    assert bootstrap_ratio(baseline, learned, seed=3) == e  # same seed, same interval
    j = e.to_json()
    assert j["ci95"] == [lo, hi] and j["verdict"] == "more" and j["learned"] == "denominator"


def test_the_verdict_does_not_depend_on_the_orientation():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(10, 12, 60), rng.uniform(13, 15, 60)
    e1 = bootstrap_ratio(a, b, learned="numerator", seed=5)  # learned / baseline
    e2 = bootstrap_ratio(b, a, learned="denominator", seed=5)  # baseline / learned
    assert e1.verdict == e2.verdict == "fewer"
    assert e1.value == pytest.approx(1 / e2.value, rel=1e-12)
    assert e1.ci95[0] == pytest.approx(1 / e2.ci95[1], rel=1e-12) and e1.ci95[1] == pytest.approx(1 / e2.ci95[0], rel=1e-12)


def test_no_verdict_where_the_interval_contains_1_and_none_with_too_few_instances():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(10, 20, 40), rng.uniform(10, 20, 40)
    e = bootstrap_ratio(a, b, seed=0)
    assert e.ci95[0] < 1 < e.ci95[1] and e.verdict == "no significant difference" and not e.significant
    few = bootstrap_ratio(a[: MIN_INSTANCES - 1], b[: MIN_INSTANCES - 1])
    assert few.value is not None and few.ci95 is None and few.verdict is None
    assert bootstrap_ratio([], []).value is None


def test_failures_count_as_infinity_or_are_left_out():
    learned = [10, 11, None, 12, 10, 11, 13, 10]
    base = [20, None, 21, 22, 20, 19, 20, 21]
    e = bootstrap_ratio(learned, base, statistic="median of ratios", learned="numerator")
    assert e.n == 6  # instances both solved
    assert e.value == pytest.approx(np.median([10 / 20, 12 / 22, 10 / 20, 11 / 19, 13 / 20, 10 / 21]))
    assert median_or_none([1, 2, None]) == 2 and median_or_none([1, None, None]) is None
    # a method that fails on most instances has no median, so no ratio of medians
    assert bootstrap_ratio([None] * 6 + [5], [4] * 7).value is None
    # medians that reach infinity in some resamples give an open interval end
    mostly = bootstrap_ratio([None, None, None, 5, 5, 5, 5], [4] * 7, seed=1)
    assert mostly.value == pytest.approx(5 / 4) and math.isinf(mostly.ci95[1]) and mostly.to_json()["ci95"][1] == "inf"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 200), st.integers(1, 200)), min_size=5, max_size=40), st.integers(0, 2**31),
       st.floats(0.1, 10))
def test_interval_properties(pairs, seed, scale):
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    e = bootstrap_ratio(a, b, seed=seed)
    lo, hi = e.ci95
    assert lo <= hi
    # baseline / learned above 1: the learned method costs less
    assert e.verdict == ("fewer" if lo > 1 else "more" if hi < 1 else "no significant difference")
    # both costs scaled alike: the same ratio and interval
    s = bootstrap_ratio([scale * v for v in a], [scale * v for v in b], seed=seed)
    assert s.value == pytest.approx(e.value, rel=1e-9) and s.ci95 == pytest.approx(e.ci95, rel=1e-9)
