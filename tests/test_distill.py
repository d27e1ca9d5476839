import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from algodiscover.analysis import (
    ButcherTableau,
    OdeFamilySpec,
    catalogue,
    check_order,
    distill,
    general_conditions,
    get_method,
    identify,
    learned_targets,
    personalised_conditions,
    personalised_order,
    rationalize,
    rationalize_value,
    stability,
)

y, a = sp.symbols("y a")
SQUARE = OdeFamilySpec("square", (y,), (-a * y**2,), (a,), ((1.0, 3.0),), ((0.1, 0.5),))
LINEAR = OdeFamilySpec("linear", (y,), (-a * y,), (a,), ((-5.0, 5.0),), ((1.0, 5.0),))


def _recoverable_from_float64(t):
    """Entries float64 can pin down under the documented significance rule
    (q^2 tol max(1, |x|) <= 1e-4 with tol = 1e-14 for rationals; small minimal
    polynomials for quadratic surds)."""
    x = sp.Symbol("x")
    for e in t.exact.entries():
        if isinstance(e, sp.Rational):
            if e.q**2 * 1e-14 * max(1.0, abs(float(e))) > 1e-4:
                return False
            continue
        poly = sp.Poly(sp.minimal_polynomial(e, x), x)
        if poly.degree() > 2 or max(abs(int(c)) for c in poly.all_coeffs()) > 1000:
            return False
    return True


SMALL = [e for e in catalogue().values() if e.note is None and _recoverable_from_float64(e.tableau)]


def test_most_of_the_catalogue_is_recoverable_from_float64():
    assert len(SMALL) >= 28


@pytest.mark.parametrize("entry", SMALL, ids=lambda e: e.name)
def test_rationalize_recovers_exact_catalogue_methods(entry):
    t = entry.tableau
    r = rationalize(t.as_float())
    assert r is not None and r == t


@st.composite
def rational_tableaux(draw):
    s = draw(st.integers(1, 5))
    frac = st.builds(Fraction, st.integers(-60, 60), st.integers(1, 40))
    A = [[draw(frac) if j < i else Fraction(0) for j in range(s)] for i in range(s)]
    b = [draw(frac) for _ in range(s)]
    return ButcherTableau(A, b)


@given(rational_tableaux())
def test_rationalize_of_float_view_is_identity(t):
    assert rationalize(t.as_float()) == t


def test_rationalize_value_rejects_noise_and_finds_surds():
    assert rationalize_value(0.7290123456789) is None
    assert rationalize_value(0.25 - math.sqrt(3) / 6) == sp.Rational(1, 4) - sp.sqrt(3) / 6
    assert rationalize_value(2 - math.sqrt(2)) == 2 - sp.sqrt(2)
    assert rationalize_value(1 / 7919) == sp.Rational(1, 7919)


def test_noisy_rk4_distils_to_rk4():
    rng = np.random.default_rng(1)
    rk4 = get_method("RK4")
    noisy = ButcherTableau(rk4.A + np.tril(rng.normal(0, 1e-7, (4, 4)), -1), rk4.b + rng.normal(0, 1e-7, 4))
    assert check_order(noisy).order < 4
    d = distill(noisy, [general_conditions(4)])
    assert d.exact == rk4 and d.distance < 1e-6
    assert identify(d.exact).name == "RK4"


def _rk4_family(c2, c3):
    b2 = (2 * c3 - 1) / (12 * c2 * (c3 - c2) * (1 - c2))
    b3 = (1 - 2 * c2) / (12 * c3 * (c3 - c2) * (1 - c3))
    b4 = (6 * c2 * c3 - 4 * (c2 + c3) + 3) / (12 * (1 - c2) * (1 - c3))
    a32 = c3 * (c3 - c2) / (2 * c2 * (1 - 2 * c2))
    den = 6 * c2 * c3 - 4 * (c2 + c3) + 3
    a42 = (1 - c2) * (c2 + c3 - 1 - (2 * c3 - 1) ** 2) / (2 * c2 * (c3 - c2) * den)
    a43 = (1 - 2 * c2) * (1 - c2) * (1 - c3) / (c3 * (c3 - c2) * den)
    A = [[0, 0, 0, 0], [c2, 0, 0, 0], [c3 - a32, a32, 0, 0], [1 - a42 - a43, a42, a43, 0]]
    return ButcherTableau(A, [1 - b2 - b3 - b4, b2, b3, b4])


@pytest.mark.parametrize("c2, c3", [(math.exp(-1), (math.sqrt(5) - 1) / 2), (math.sqrt(0.2), math.pi / 10), (math.sqrt(0.5), math.e / 10)])
def test_irrational_member_of_rk4_family_snaps_to_exact_member(c2, c3):
    t = _rk4_family(c2, c3)
    assert check_order(t).order == 4 and rationalize(t) is None
    d = distill(t, [general_conditions(4)])
    assert d.exact is not None
    assert check_order(d.exact).order == 4 and d.exact.is_exact
    ident = identify(d.exact)
    assert ident.kind in ("family", "method")
    assert ident.kind == "method" or ident.name.startswith("4-stage order-4 family")


def test_personalised_conditions_square_family():
    conds = personalised_conditions(SQUARE, 5)
    assert [b.count for b in conds.blocks] == [1, 1, 1, 1, 1]  # one shape y^(n+1) per order
    paper = ButcherTableau([[0, 0], [2, 0]], ["3/4", "1/4"])
    assert personalised_order(paper, SQUARE).order == 3
    assert check_order(paper).order == 2
    for name in ("Heun", "Midpoint", "Ralston2"):
        assert personalised_order(get_method(name), SQUARE).order == 2


def test_personalised_conditions_linear_family_are_the_tall_trees():
    conds = personalised_conditions(LINEAR, 6)
    assert [b.count for b in conds.blocks] == [1] * 6
    assert personalised_order(get_method("RK4"), LINEAR).order == 4
    # any s-stage explicit method with R(z) = truncated exp is "order s" on linear problems
    assert personalised_order(get_method("SSPRK3"), LINEAR).order == 3


def test_learned_square_method_distils_to_paper_result():
    learned = ButcherTableau([[0, 0], [1.84, 0]], [0.72900000000001, 0.27099999999999])
    d = distill(learned, learned_targets(learned, SQUARE))
    assert d.exact == ButcherTableau([[0, 0], [2, 0]], ["3/4", "1/4"])
    assert "order 3 on square" in d.target


def test_stability_intervals():
    rk4 = stability(get_method("RK4"))
    assert rk4.real_interval[0] == pytest.approx(-2.785293563405282, abs=1e-10)
    assert rk4.imag_limit == pytest.approx(2 * math.sqrt(2), abs=1e-10)
    assert stability(get_method("Euler")).real_interval[0] == pytest.approx(-2.0)
    gl = stability(get_method("GaussLegendre2"))
    assert math.isinf(gl.real_interval[0]) and math.isinf(gl.imag_limit)
    assert sp.simplify(gl.R - (sp.Symbol("z") ** 2 + 6 * sp.Symbol("z") + 12) / (sp.Symbol("z") ** 2 - 6 * sp.Symbol("z") + 12)) == 0


@pytest.mark.parametrize("entry", list(catalogue().values()), ids=lambda e: e.name)
def test_identify_catalogue_methods(entry):
    assert identify(entry.tableau).name == entry.name


def test_identify_family_member():
    t = ButcherTableau([[0, 0], [2, 0]], ["3/4", "1/4"])
    ident = identify(t)
    assert ident.kind == "family" and ident.name == "2-stage order-2 family (c2 = 2)"
    assert ident.closest in ("Heun", "Midpoint", "Ralston2") and ident.distance == pytest.approx(1.0)


# ------------------------------------------------------------------ issue 12, section 5: measured order
def test_measured_order_is_fitted_over_the_asymptotic_range_only():
    from algodiscover.analysis import measure_order
    from algodiscover.analysis.accuracy import fit_asymptotic_slope

    t = sp.Symbol("t")
    # a reference solution that is off by 1e-9: one-step errors bend into a plateau at small h
    plateau = OdeFamilySpec("plateau", (y,), (-a * y,), (a,), ((0.5, 1.5),), ((1.0, 3.0),),
                            exact_solution=(y * sp.exp(-a * t) + sp.Float(1e-9),))
    m = measure_order(get_method("RK4"), plateau)
    assert m.order == pytest.approx(4.0, abs=0.15) and m.uncertainty < 0.3
    assert m.fit_range is not None and m.fit_range[0] >= 0.01 and not all(m.used)
    assert "fitted over h in" in m.describe() and m.to_json()["fit_range"] == list(m.fit_range)
    clean = OdeFamilySpec("clean", (y,), (-a * y,), (a,), ((0.5, 1.5),), ((1.0, 3.0),), exact_solution=(y * sp.exp(-a * t),))
    assert measure_order(get_method("RK4"), clean).order == pytest.approx(4.0, abs=0.1)
    # slope 3.07 that bends into a plateau is 3.07, not an average with the plateau
    h = 0.1 / 2.0 ** np.arange(8)
    fit = fit_asymptotic_slope(h, h**3.07 + 1e-7)
    assert fit.slope == pytest.approx(3.07, abs=0.05) and fit.fit_range[1] == pytest.approx(0.1)


def test_distillation_of_a_large_family_is_bounded():
    rng = np.random.default_rng(5)
    s = 16
    A = np.tril(rng.uniform(-1, 1, (s, s)) / s, -1)
    b = rng.uniform(0, 1, s)
    d = distill(ButcherTableau(A, b / b.sum()), [general_conditions(1)], budget_s=5.0)
    assert d.exact is None and not d.gave_up
    assert any("not snapped" in line for line in d.log)
    # what it returns instead: the nearest order-1 point, verified to 1e-40 in 60 digits
    assert d.high_precision is not None and d.high_precision.residual < 1e-40 and "verified to 1e-40" in d.log[-1]


# ------------------------------------------------------------------ issue 13, section 1: robust distillation
NOISY_CASES = [("RK4", 1e-4), ("3/8-rule", 1e-4), ("Kutta3", 1e-4), ("Heun3", 1e-4), ("Ralston3", 1e-4), ("SSPRK3", 1e-4),
               ("BogackiShampine3(2)", 1e-4), ("DormandPrince5(4)", 1e-6)]


def _noisy(name, noise, seed):
    t = get_method(name)
    t = ButcherTableau([list(r) for r in t.exact.A], list(t.exact.b))  # the method without its embedded weights
    rng = np.random.default_rng(seed)
    s = t.stages
    return t, ButcherTableau(t.A + np.tril(rng.normal(0, noise, (s, s)), -1), t.b + rng.normal(0, noise, s))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, noise", NOISY_CASES, ids=[c[0] for c in NOISY_CASES])
def test_noisy_classical_tableaux_distil_to_the_exact_original(name, noise, seed):
    """Gaussian noise on every coefficient; no target given: the order is chosen by reach."""
    t, noisy = _noisy(name, noise, seed)
    d = distill(noisy, budget_s=10.0)
    assert d.exact is not None, d.log
    assert [list(r) for r in d.exact.exact.A] == [list(r) for r in t.exact.A] and list(d.exact.exact.b) == list(t.exact.b)
    assert d.distance < 100 * noise
    assert any(r.reached and r.target == d.target for r in d.reach)


def test_reach_rejects_an_order_the_weights_do_not_have():
    """Bogacki-Shampine 3 has 4 stages: order 4 is possible for 4 stages, but the noisy weights
    would have to move 1000x their noise to get there."""
    _, noisy = _noisy("BogackiShampine3(2)", 1e-4, 3)
    d = distill(noisy, budget_s=10.0)
    r4 = next(r for r in d.reach if r.target == "order 4")
    assert not r4.reached and r4.distance > 100 * 1e-4 and d.target == "order 3"
    assert any(line.startswith("order 4: not within reach") for line in d.log)


def test_without_an_exact_member_the_result_is_verified_to_1e40():
    """A member of the 4-stage order-4 family at irrational (c2, c3) with snapping disabled:
    no exact method is tried, so the result is the polished 60-digit tableau."""
    t = _rk4_family(math.exp(-1), (math.sqrt(5) - 1) / 2)
    d = distill(t, [general_conditions(4)], max_candidates=0)
    assert d.exact is None and d.high_precision is not None
    hp = d.high_precision
    assert hp.residual < 1e-40 and hp.label == "verified to 1e-40" and hp.digits == 60
    assert check_order(hp.tableau()).order == 4 and d.distance < 1e-12
    assert d.to_json()["high_precision"]["verified_below"] == 1e-40


def test_objective_principal_error_picks_a_more_accurate_family_member():
    t = _rk4_family(math.exp(-1), (math.sqrt(5) - 1) / 2)
    near = distill(t, [general_conditions(4)], max_candidates=0)
    best = distill(t, [general_conditions(4)], max_candidates=0, objective="principal-error")
    from algodiscover.analysis import principal_error_norm

    assert best.objective == "principal-error" and best.high_precision is not None
    assert best.high_precision.residual < 1e-40
    e_best = principal_error_norm(best.high_precision.tableau(), 4)
    assert e_best < 0.99 * principal_error_norm(near.high_precision.tableau(), 4)
    # below every classical 4-stage order-4 method (Ralston4: 0.0137, 3/8-rule: 0.0127)
    assert e_best < principal_error_norm(get_method("3/8-rule"), 4)
    with pytest.raises(ValueError, match="objective"):
        distill(t, objective="prettiest")


@pytest.mark.parametrize("name, noise", [("RK4", 1e-4), ("DormandPrince5(4)", 1e-6)])
def test_check_of_a_noisy_tableau_identifies_the_original(name, noise, tmp_path, capsys):
    """``algodiscover check noisy.json`` chooses the order by reach (not by a fixed 1e-6
    residual threshold) and prints the exact original."""
    import json

    from algodiscover.cli import main

    _, noisy = _noisy(name, noise, 7)
    p = tmp_path / "noisy.json"
    p.write_text(json.dumps({"A": noisy.A.tolist(), "b": noisy.b.tolist()}))
    assert main(["check", str(p), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["identified_as"] == name and d["exact_order"] == catalogue()[name].order
