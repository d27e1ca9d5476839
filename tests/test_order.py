import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from algodiscover.analysis.errors import AnalysisInputError
from algodiscover.analysis.order import MAX_TREES, order_limit, rounded_rtol, trees_through
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
    assert f.order == 8 and 0 < f.tol < 1e-10 and f.arithmetic == "float64"
    assert check_order(get_method("RK4")).tol == 0.0


# ------------------------------------------------------------------ issue 12: verdicts that are right
def test_gauss_legendre_4_and_5_are_exact_in_their_number_field():
    for s, p in ((4, 8), (5, 10)):
        t = get_method(f"GaussLegendre{s}")
        rep = check_order(t)
        assert rep.order == p and rep.arithmetic == "exact" and rep.tol == 0.0
        assert all(rep.residual_arithmetic[n] == "exact" for n in range(1, p + 1))
        st = stage_order(t, detail=True)
        assert st.order == s and st.arithmetic == "exact"


def test_max_order_reports_every_order_past_the_first_failure():
    rep = check_order(get_method("RK4"), max_order=8, all_orders=True)
    assert rep.order == 4 and rep.first_failure == 5 and rep.all_orders
    assert sorted(rep.max_residuals) == list(range(1, 9))
    assert [rep.residual_arithmetic[n] for n in range(1, 9)] == ["exact"] * 4 + ["float64"] * 4
    assert rep.trees == {n: c for n, c in zip(range(1, 9), (1, 1, 2, 4, 9, 20, 48, 115))}
    assert len(rep.error_coefficients) == 9 and set(rep.error_norms) == set(range(1, 9))
    # tau at order 5 and the principal error norm: Butcher's A(5) = 1.4505e-2 for RK4
    assert math.sqrt(sum(x * x for x in rep.error_coefficients)) == pytest.approx(0.0145045823, rel=1e-8)
    assert all(rep.max_residuals[n] > 0 for n in range(5, 9))
    # without all_orders: stop at the first failure
    assert sorted(check_order(get_method("RK4"), max_order=8).max_residuals) == [1, 2, 3, 4, 5]


def test_order_limits_are_tree_and_memory_budgets():
    assert order_limit(4) == 16 and trees_through(16) <= MAX_TREES < trees_through(17)
    assert order_limit(500) < 16  # memory: trees x stages
    for p in (17, 25, 100):
        with pytest.raises(AnalysisInputError) as err:
            check_order(get_method("RK4"), max_order=p)
        assert "400,000" in str(err.value) and "\n" not in str(err.value)
    # a huge tolerance cannot run away: explicit 4-stage methods are tested to order 5 at most
    rep = check_order(get_method("RK4"), tol=1e9)
    assert rep.cap == 5 and rep.order == 5 and rep.reached_cap


HIGH_DEGREE = "6*2**(191/271)*3**(213/271)*5**(95/542)*7**(151/271)/35"


def test_high_degree_algebraic_entries_fall_back_to_60_digits_and_decide_correctly():
    x = HIGH_DEGREE
    t = ButcherTableau([[0, 0], [x, 0]], [f"1 - 1/(2*({x}))", f"1/(2*({x}))"])
    rep = check_order(t)
    assert rep.order == 2 and rep.arithmetic == "60-digit"
    assert any("degree" in n for n in rep.notes)
    assert stage_order(t, detail=True).arithmetic == "60-digit"
    # a coefficient changed by 1e-30 is caught (far above the 60-digit zero test)
    bad = ButcherTableau([[0, 0], [x, 0]], [f"1 - 1/(2*({x})) + 10**(-30)", f"1/(2*({x}))"])
    assert check_order(bad).order == 0


def _decimals(t, digits):
    fmt = lambda v: "0" if v == 0 else str(sp.N(v, digits))  # noqa: E731
    return ButcherTableau([[fmt(v) for v in row] for row in t.exact.A], [fmt(v) for v in t.exact.b], name=f"{t.name} ({digits} digits)")


def test_long_decimals_carry_their_precision():
    v40 = _decimals(get_method("Verner6(5)"), 40)
    assert v40.digits == 40 and v40.is_exact
    rep = check_order(v40)
    assert rep.order == 6 and rep.arithmetic == "exact"
    assert rep.tol == pytest.approx(rounded_rtol(40) * v40.coefficient_scale) and "40-digit" in rep.tol_source
    # short decimals stay exact values
    assert ButcherTableau([[0, 0], ["0.5", 0]], ["0", "1"]).digits is None


def test_float32_data_get_a_tolerance_from_their_digits(tmp_path):
    import json

    from algodiscover.analysis import load_tableau

    t = get_method("Verner6(5)")
    p = tmp_path / "vern6_f32.json"
    p.write_text(json.dumps({"A": t.A.astype(np.float32).tolist(), "b": t.b.astype(np.float32).tolist()}))
    f32 = load_tableau(p)
    assert f32.digits == 8
    rep = check_order(f32)
    assert rep.order == 6 and rep.tol == pytest.approx(1e-6 * f32.coefficient_scale)
    assert check_order(f32, tol=1e-12).order < 6  # float64's tolerance is too tight for float32 data


def test_tolerance_is_relative_to_the_coefficient_scale():
    pd8 = get_method("PrinceDormand8(7)").as_float()
    rep = check_order(pd8, tol=1e-12)
    assert rep.tol == pytest.approx(1e-12 * pd8.coefficient_scale) and pd8.coefficient_scale > 10
    assert rep.tol_relative == 1e-12 and rep.tol_source == "given"


@given(st.integers(2, 5), st.integers(0, 10**6))
def test_exact_engine_agrees_with_fractions_and_float(s, seed):
    rng = np.random.default_rng(seed)
    A = [[Fraction(int(rng.integers(-9, 10)), int(rng.integers(1, 9))) if j < i else Fraction(0) for j in range(s)] for i in range(s)]
    b = [Fraction(int(rng.integers(-9, 10)), int(rng.integers(1, 9))) for _ in range(s)]
    t = ButcherTableau(A, b)
    ref = elementary_weights(A, b, 5)
    rows = condition_rows(t, 5, exact=True)
    assert [r.phi_exact for r in rows] == [sp.Rational(phi.numerator, phi.denominator) for _, phi in ref]
    f = check_order(t.as_float(), max_order=5, all_orders=True)
    e = check_order(t, max_order=5, all_orders=True)
    for n in range(1, 6):
        assert f.max_residuals[n] == pytest.approx(e.max_residuals[n], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name, q", [("GaussLegendre4", 4), ("GaussLegendre5", 5), ("SDIRK34", 1), ("TR-BDF2", 2)])
def test_stage_order_without_simplify(name, q):
    assert stage_order(get_method(name)) == q
    assert stage_order(get_method(name).as_float()) == q
