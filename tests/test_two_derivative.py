"""Two-derivative Runge-Kutta methods: order conditions from B-series against known answers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from algodiscover.analysis import check_order, get_method
from algodiscover.analysis.errors import TableauError
from algodiscover.analysis.rooted_trees import tree_table
from algodiscover.analysis.two_derivative import (
    TwoDerivativeTableau,
    is_two_derivative,
    two_derivative_order,
    two_derivative_residuals,
    two_derivative_stability_function,
)

#: Chan & Tsai (2010), "On explicit two-derivative Runge-Kutta methods", Numer. Algor. 53: the
#: 3-stage method of order 5 (one f-evaluation per step: Y_i = y + h c_i f(y) + h^2 ...).
CHAN_TSAI_5 = {"A": [[0, 0, 0], ["2/5", 0, 0], [1, 0, 0]], "b": [1, 0, 0],
               "A2": [[0, 0, 0], ["2/25", 0, 0], ["-1/4", "3/4", 0]], "b2": ["1/8", "25/72", "1/36"]}


def test_the_taylor_method_has_order_2():
    t = TwoDerivativeTableau([[0]], [1], [[0]], ["1/2"], name="Taylor2")
    r = two_derivative_order(t)
    assert r.exact and r.order == 2
    assert r.max_residuals[3] == pytest.approx(1 / 3)  # Phi([tau, tau]) = 0 against 1/3
    assert sp.expand(two_derivative_stability_function(t) - (1 + sp.Symbol("z") + sp.Symbol("z") ** 2 / 2)) == 0


def test_the_two_stage_method_of_the_issue_has_order_4_exactly():
    """Y = y + h/2 f + h^2/8 g,  y_1 = y + h f + h^2 (g(y)/6 + g(Y)/3)."""
    t = TwoDerivativeTableau([[0, 0], ["1/2", 0]], [1, 0], [[0, 0], ["1/8", 0]], ["1/6", "1/3"])
    r = two_derivative_order(t)
    assert r.exact and r.order == 4 and all(r.max_residuals[n] == 0 for n in range(1, 5))
    assert r.max_residuals[5] == pytest.approx(1 / 30)  # sum b2 c^3 = 1/24 against 1/20 (times 4!/gamma)
    z = sp.Symbol("z")
    assert sp.expand(two_derivative_stability_function(t) - sum(z**k / sp.factorial(k) for k in range(5))) == 0
    full = two_derivative_order(t, max_order=8)
    assert full.order == 4 and sorted(full.max_residuals) == list(range(1, 9))


def test_chan_tsai_three_stage_method_has_order_5():
    t = TwoDerivativeTableau.from_dict(CHAN_TSAI_5)
    assert two_derivative_order(t).order == 5
    assert two_derivative_order(TwoDerivativeTableau.from_dict({**CHAN_TSAI_5, "b2": ["1/8", "25/72", "1/37"]})).order < 5


def _chan_tsai_conditions(c, A2, b2):
    """Published conditions of explicit TDRK methods of the form Y_i = y + h c_i f(y) +
    h^2 sum_j a_ij g(Y_j), y_1 = y + h f(y) + h^2 sum b_i g(Y_i), with sum_j a_ij = c_i^2/2
    (Chan & Tsai 2010, orders 2..5)."""
    c, b2, A2 = np.asarray(c), np.asarray(b2), np.asarray(A2)
    return {2: [b2.sum() - 1 / 2], 3: [b2 @ c - 1 / 6], 4: [b2 @ c**2 - 1 / 12], 5: [b2 @ c**3 - 1 / 20, b2 @ A2 @ c - 1 / 120]}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=2, max_size=2), st.floats(-1, 1), st.integers(2, 5))
def test_conditions_agree_with_chan_and_tsai_through_order_5(nodes, a32, p):
    """For the Chan-Tsai class: the B-series conditions hold to order p iff the published ones do.
    b2 is solved from the published conditions of orders 2..p (least squares where they
    overdetermine it), so the method meets them to order p exactly when the system is
    consistent."""
    c = np.array([0.0, nodes[0], nodes[1]])
    A2 = np.array([[0, 0, 0], [c[1] ** 2 / 2, 0, 0], [c[2] ** 2 / 2 - a32, a32, 0]])
    rows = [np.ones(3), c, c**2, c**3, A2 @ c][: p - 1 + (p == 5)]
    rhs = np.array([1 / 2, 1 / 6, 1 / 12, 1 / 20, 1 / 120])[: len(rows)]
    b2 = np.linalg.lstsq(np.array(rows), rhs, rcond=None)[0]
    t = TwoDerivativeTableau(np.outer(c, [1, 0, 0]).tolist(), [1.0, 0.0, 0.0], A2.tolist(), b2.tolist())
    published = _chan_tsai_conditions(c, A2, b2)
    ok_published = max(abs(x) for n in range(2, p + 1) for x in published[n]) <= 1e-9
    ok_bseries = two_derivative_order(t, tol=1e-9).order >= p
    assert ok_bseries == ok_published


def test_without_second_derivatives_it_is_ordinary_runge_kutta():
    for name in ("RK4", "Kutta3", "DormandPrince5(4)"):
        rk = get_method(name)
        e = rk.exact
        s = rk.stages
        t = TwoDerivativeTableau([list(r) for r in e.A], list(e.b), [[0] * s] * s, [0] * s)
        assert two_derivative_order(t).order == check_order(rk).order
        assert all(r == 0 for r in two_derivative_residuals(t, check_order(rk).order))


def test_any_number_type_through_the_same_recursion():
    """Float and exact residuals agree, and Fractions reproduce the exact values."""
    t = TwoDerivativeTableau.from_dict(CHAN_TSAI_5)
    ex = two_derivative_residuals(t, 7, exact=True)
    fl = two_derivative_residuals(t, 7, exact=False)
    assert np.allclose([float(x) for x in ex], fl, rtol=0, atol=1e-15)
    tab = tree_table(7)
    assert len(ex) == tab.offsets[8]
    assert Fraction(str(ex[-1])) == Fraction(str(sp.nsimplify(ex[-1])))


def test_json_round_trip_and_bad_input():
    t = TwoDerivativeTableau.from_dict({**CHAN_TSAI_5, "name": "ChanTsai5"})
    assert is_two_derivative(t.to_dict()) and not is_two_derivative({"A": [[0]], "b": [1]})
    again = TwoDerivativeTableau.from_dict(t.to_dict())
    assert again.to_dict() == t.to_dict() and again.is_exact and again.is_explicit
    with pytest.raises(TableauError, match="missing 'b2'"):
        TwoDerivativeTableau.from_dict({"A": [[0]], "b": [1], "A2": [[0]]})
    with pytest.raises(TableauError, match="A2 must be 1 x 1"):
        TwoDerivativeTableau([[0]], [1], [[0, 0]], [0])
    with pytest.raises(Exception, match="cannot parse"):
        TwoDerivativeTableau([[0]], [1], [["__import__('os')"]], [0])
