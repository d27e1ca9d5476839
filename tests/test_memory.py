"""Iterations with memory: residual recurrences, their factors, heavy ball, linear multistep methods."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from algodiscover.analysis.memory import (
    ADAMS_BASHFORTH,
    heavy_ball,
    identify_memory_iteration,
    linear_multistep,
    memory_recurrence,
    optimal_two_step_factor,
)


def test_stationary_chebyshev_is_identified_and_its_factor_is_exact():
    """The optimal heavy ball on [1, 10] (the limit of Chebyshev semi-iteration) as a one-stage
    memory iteration: r_{k+1} = (1 + beta - alpha lambda) r_k - beta r_{k-1}."""
    alpha, beta = heavy_ball(1, 10)
    rec = memory_recurrence([[0]], [alpha], 1, betas=[beta])
    assert rec.exact and rec.memory == 1
    name = identify_memory_iteration(rec, 1.0, 10.0)
    assert name is not None and name.startswith("stationary Chebyshev / heavy ball") and "the optimal one for [1, 10]" in name
    opt = optimal_two_step_factor(1, 10)
    assert sp.simplify(rec.exact_factor_on(1, 10) - opt) == 0          # exactly (sqrt(10) - 1)/(sqrt(10) + 1)
    assert float(opt) == pytest.approx(0.5194938532959157, rel=1e-15)
    f = rec.factor_on(1.0, 10.0)
    # numerically (a double companion root at the interval's ends costs sqrt(eps) there)
    assert f["per_matvec"] == pytest.approx(float(opt), rel=1e-7)
    # every eigenvalue inside the interval converges at the same rate (complex roots, |zeta|^2 = beta)
    assert np.allclose(rec.factor(np.linspace(1.1, 9.9, 37)), float(opt), rtol=1e-12)
    assert "r_{k+1} =" in rec.text() and "lambda" in rec.text()


def test_other_two_step_methods_are_slower_and_not_called_optimal():
    alpha, beta = heavy_ball(1, 10)
    rec = memory_recurrence([[0]], [float(alpha) * 0.8], 1.0, betas=[float(beta) * 1.1])
    assert rec.factor_on(1.0, 10.0)["per_matvec"] > float(optimal_two_step_factor(1, 10))
    name = identify_memory_iteration(rec, 1.0, 10.0)
    assert name is not None and "optimal" not in name
    with_gamma = memory_recurrence([[0]], [0.2], 1.0, betas=[0.3], gammas=[[0.05]])
    assert identify_memory_iteration(with_gamma, 1.0, 10.0) is None


def test_without_memory_the_recurrence_is_the_residual_polynomial():
    """M = 0, two stages: r_{k+1} = q(-h lambda) r_k with q the stability polynomial."""
    rec = memory_recurrence([[0, 0], [sp.Rational(1, 2), 0]], [0, 1], sp.Rational(1, 5))
    z = sp.Symbol("z")
    assert sp.expand(rec.coefficients[0] - (1 + z + z**2 / 2)) == 0
    lam = np.linspace(1, 10, 11)
    q = 1 - lam / 5 + (lam / 5) ** 2 / 2
    assert np.allclose(rec.factor(lam), np.abs(q))
    assert rec.factor_on(1, 10)["per_matvec"] == pytest.approx(np.max(np.abs(q)) ** 0.5, rel=1e-6)


def test_adams_bashforth_from_a_one_stage_memory_step():
    ab2 = linear_multistep(sp.Rational(3, 2), betas=[0], gammas=[sp.Rational(-1, 2)])
    assert ab2.identify() == "AB2" and ab2.order() == 2 and ab2.explicit
    ab3 = linear_multistep(sp.Rational(23, 12), betas=[0, 0], gammas=[sp.Rational(-16, 12), sp.Rational(5, 12)])
    assert ab3.identify() == "AB3" and ab3.order() == 3
    assert linear_multistep(1).identify() == "AB1 (forward Euler)"
    learned = linear_multistep(1.5000000001, betas=[1e-11], gammas=[-0.5])
    assert learned.identify(tol=1e-8) == "AB2" and learned.order(tol=1e-8) == 2
    off = linear_multistep(sp.Rational(3, 2), betas=[0], gammas=[sp.Rational(-2, 5)])
    assert off.order() == 0 and off.identify() is None
    for name, m in ADAMS_BASHFORTH.items():
        assert m.order() == m.steps, name
