from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, strategies as st

from algodiscover.analysis import (
    ButcherTableau,
    catalogue,
    check_order,
    condition_rows,
    elementary_weights,
    error_coefficients,
    get_method,
    principal_error_norm,
    stage_order,
)

CATALOGUE = list(catalogue().values())


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_catalogue_orders_float64(entry):
    rep = check_order(entry.tableau.as_float())
    assert rep.order == entry.order
    assert not rep.exact
    if entry.embedded_order is not None:
        assert rep.embedded_order == entry.embedded_order


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_catalogue_orders_exact(entry):
    # Tsitouras 5(4) is published in 48- to 52-digit decimals: its conditions hold to ~1e-47,
    # and the default tolerance comes from those digits; every other method is checked for
    # exact equality (tolerance 0).
    rep = check_order(entry.tableau)
    assert rep.exact and rep.order == entry.order
    assert (rep.tol == 0.0) == (entry.tableau.digits is None)
    if entry.embedded_order is not None:
        assert rep.embedded_order == entry.embedded_order


def test_generic_arithmetic_matches_exact_engine():
    t = get_method("DormandPrince5(4)")
    A = [[Fraction(str(x)) for x in row] for row in t.exact.A]
    b = [Fraction(str(x)) for x in t.exact.b]
    rows = condition_rows(t, 6, exact=True)
    weights = elementary_weights(A, b, 6)
    assert len(rows) == len(weights) == 37
    for (tree, phi), row in zip(weights, rows):
        assert isinstance(phi, Fraction) and tree == row.tree
        assert sp.Rational(phi.numerator, phi.denominator) == row.phi_exact
    assert all(phi == Fraction(1, tree.gamma) for tree, phi in weights if tree.order <= 5)
    assert any(phi != Fraction(1, tree.gamma) for tree, phi in weights if tree.order == 6)


def _perturbable(t: ButcherTableau):
    """Coefficients whose change must break an order-1 or order-2 condition."""
    s = t.stages
    spots = [("b", j) for j in range(s)]
    spots += [("A", i, j) for i in range(s) for j in range(s) if t.b[i] != 0 and (not t.is_explicit or j < i)]
    return spots


@given(
    st.sampled_from([e for e in CATALOGUE if e.order >= 2]),
    st.integers(0, 10**6),
    st.floats(1e-8, 1.0),
    st.booleans(),
)
def test_perturbing_a_coefficient_lowers_the_order(entry, pick, delta, negative):
    t = entry.tableau
    spots = _perturbable(t)
    spot = spots[pick % len(spots)]
    A, b = t.A.copy(), t.b.copy()
    d = -delta if negative else delta
    if spot[0] == "b":
        b[spot[1]] += d
    else:
        A[spot[1], spot[2]] += d
    assert check_order(ButcherTableau(A, b)).order < entry.order


@given(st.sampled_from([e for e in CATALOGUE if e.stages <= 7]), st.randoms())
def test_residuals_invariant_under_stage_reordering(entry, rnd):
    t = entry.tableau.as_float()
    perm = list(range(t.stages))
    rnd.shuffle(perm)
    p = t.permuted(perm)
    r1, r2 = check_order(t, max_order=entry.order + 1), check_order(p, max_order=entry.order + 1)
    assert r2.order == r1.order == entry.order
    for n in r1.max_residuals:
        assert r2.max_residuals[n] == pytest.approx(r1.max_residuals[n], abs=1e-13)


def test_error_coefficients_and_principal_error_norm():
    rk4 = get_method("RK4")
    taus = dict((t.bracket(), v) for t, v in error_coefficients(rk4, 5, exact=True))
    assert taus["[τ^4]"] == sp.Rational(1, 5 * 24) * 0 + (sp.Rational(5, 24) - sp.Rational(1, 5)) / 24
    # Butcher's value for classical RK4: A(5) = 1.4505e-2
    assert principal_error_norm(rk4) == pytest.approx(0.0145045823, rel=1e-8)


@pytest.mark.parametrize(
    "name, q",
    [("RK4", 1), ("GaussLegendre2", 2), ("GaussLegendre3", 3), ("RadauIIA3", 3), ("LobattoIIIA3", 3), ("LobattoIIIC3", 2), ("BackwardEuler", 1)],
)
def test_stage_order(name, q):
    assert stage_order(get_method(name)) == q
    assert stage_order(get_method(name).as_float()) == q


def test_cap_and_default_tolerances():
    rep = check_order(get_method("GaussLegendre3"), max_order=3)
    assert rep.order == 3 and rep.reached_cap
    f = check_order(get_method("PrinceDormand8(7)").as_float())
    assert f.order == 8 and 0 < f.tol < 1e-10
    assert check_order(get_method("RK4")).tol == 0.0
