"""Stability functions, intervals, plot windows and the A-/L-/algebraic stability verdicts,
each checked against an independent computation written here (mpmath determinants at
roots of unity for the coefficients of R, dense scans of |R|, float eigenvalues)."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from algodiscover.analysis import ButcherTableau, catalogue, get_method
from algodiscover.analysis.linear_stability import stability, stability_function

CATALOGUE = list(catalogue().values())
_MARGIN = mpmath.mpf("1e-45")  # |R| - 1 above this (computed with 80 digits) is an exit


# ------------------------------------------------------------------ independent R(z)
def _independent_R(t):
    """Coefficients of P and Q (ascending, mpf) from 80-digit determinants of
    I - zA + z 1 b^T and I - zA at the (s+1)-th roots of unity (a discrete Fourier
    transform), then R(z) = P(z)/Q(z) evaluated by Horner in mpmath."""
    s = t.stages
    with mpmath.workdps(80):
        if t.exact is not None:
            A = mpmath.matrix([[mpmath.mpf(sp.N(x, 90)) for x in row] for row in t.exact.A])
            b = [mpmath.mpf(sp.N(x, 90)) for x in t.exact.b]
        else:
            A = mpmath.matrix(t.A.tolist())
            b = [mpmath.mpf(float(x)) for x in t.b]
        n = s + 1
        one_bT = mpmath.matrix([[b[j] for j in range(s)] for _ in range(s)])
        P, Q = [], []
        vals_p, vals_q = [], []
        for k in range(n):
            z = mpmath.expj(2 * mpmath.pi * k / n)
            M = mpmath.eye(s) - z * A
            vals_q.append(mpmath.det(M))
            vals_p.append(mpmath.det(M + z * one_bT))
        for m in range(n):
            P.append(sum(vals_p[k] * mpmath.expj(-2 * mpmath.pi * k * m / n) for k in range(n)).real / n)
            Q.append(sum(vals_q[k] * mpmath.expj(-2 * mpmath.pi * k * m / n) for k in range(n)).real / n)
    return P, Q


def _absR(P, Q, z):
    with mpmath.workdps(80):
        num = mpmath.polyval(list(reversed(P)), z)
        den = mpmath.polyval(list(reversed(Q)), z)
        return abs(num / den)


def _first_exit(P, Q, direction, top=30.0, n=600):
    """Walk from 0 along the axis (-1: negative real, 1j: imaginary) in n steps up to top;
    return the boundary (bisection) of the first point with |R| > 1 + 1e-45, or inf when
    |R| <= 1 there and far out. A boundary below 1e-3 is 0: there |R| - 1 grows like a
    power of the distance from 0 and falls below the 1e-45 margin only close to 0 (PD8: |R(iy)|^2 - 1 = 5.9e-8 y^10)."""
    pts = [top * (k / n) ** 2 for k in range(1, n + 1)]  # dense near 0
    prev = 0.0
    for r in pts:
        if _absR(P, Q, direction * r) - 1 > _MARGIN:
            lo, hi = prev, r
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                if _absR(P, Q, direction * mid) - 1 > _MARGIN:
                    hi = mid
                else:
                    lo = mid
            return 0.0 if lo < 1e-3 else lo
        prev = r
    far_ok = all(_absR(P, Q, direction * r) - 1 <= _MARGIN for r in (1e3, 1e5))
    return math.inf if far_ok else None


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_intervals_match_an_independent_computation(entry):
    t = entry.tableau
    st = stability(t)
    P, Q = _independent_R(t)
    x_ind = _first_exit(P, Q, -1)
    y_ind = _first_exit(P, Q, 1j)
    assert x_ind is not None and y_ind is not None
    lo, hi = st.real_interval[0], st.imag_limit
    if math.isinf(x_ind):
        assert lo == -math.inf
    else:
        assert lo == pytest.approx(-x_ind, abs=1e-9)
    if math.isinf(y_ind):
        assert hi == math.inf
    else:
        assert hi == pytest.approx(y_ind, abs=1e-9)


@pytest.mark.parametrize(
    "name, real, imag",
    [("Fehlberg7(8)", -5.0362, None), ("SSPRK(10,4)", -13.917, None), ("PrinceDormand8(7)", -5.1666, 0.0),
     ("RK4", -2.785293563405282, 2 * math.sqrt(2)), ("Euler", -2.0, 0.0)],
)
def test_known_interval_values(name, real, imag):
    st = stability(get_method(name))
    assert st.real_interval[0] == pytest.approx(real, abs=1e-4)
    if imag is not None:
        assert st.imag_limit == pytest.approx(imag, abs=1e-9)


def test_tiny_imaginary_excess_is_described():
    st = stability(get_method("PrinceDormand8(7)"))
    ex = st.imag_excess
    assert st.imag_limit == 0.0 and ex is not None and ex["tiny"]
    # |R(iy)|^2 - 1 = 5.9e-8 y^10 + O(y^12) (check against the independent coefficients)
    P, Q = _independent_R(get_method("PrinceDormand8(7)"))
    with mpmath.workdps(80):
        y = mpmath.mpf("0.01")
        lead = (_absR(P, Q, 1j * y) ** 2 - 1) / y**10
    assert ex["leading_power"] == 10 and ex["leading_coefficient"] == pytest.approx(float(lead), rel=1e-3)
    assert ex["leading_coefficient"] == pytest.approx(5.9e-8, rel=0.02)
    assert ex["within_tolerance_up_to"] > 1.0
    assert "exceeds 1 only slightly" in st.imaginary_text()
    assert stability(get_method("Euler")).imag_excess["tiny"] is False


def test_R_is_normalised_with_ascending_powers():
    st = stability(get_method("RadauIIA3"))
    assert st.R_ascending == "(1 + 2*z/5 + z**2/20)/(1 - 3*z/5 + 3*z**2/20 - z**3/60)"
    z = sp.Symbol("z")
    assert sp.simplify(stability_function(get_method("GaussLegendre2")) - (z**2 + 6 * z + 12) / (z**2 - 6 * z + 12)) == 0
    j = st.to_json()
    assert j["denominator"][0] == "1" and j["numerator"][0] == "1" and j["degrees"] == [2, 3]


def _verdicts(name):
    return stability(get_method(name)).verdicts


def _independent_algebraic_stability(t):
    A, b = t.A, t.b
    M = np.diag(b) @ A + A.T @ np.diag(b) - np.outer(b, b)
    return bool(np.all(b >= -1e-14) and np.min(np.linalg.eigvalsh(M)) >= -1e-12)


def _independent_a_stable(t):
    P, Q = _independent_R(t)
    while len(Q) > 1 and abs(Q[-1]) < mpmath.mpf("1e-60"):  # A singular: det(I - zA) has lower degree
        Q = Q[:-1]
    poles = np.roots([float(c) for c in reversed(Q)]) if len(Q) > 1 else np.zeros(0)
    if len(Q) == 1:
        return False  # a polynomial is unbounded on the left half-plane
    on_axis = all(_absR(P, Q, 1j * y) - 1 <= _MARGIN for y in np.geomspace(1e-3, 1e4, 400))
    return bool(np.all(poles.real > 0)) and on_axis


@pytest.mark.parametrize(
    "name, a_stable, l_stable, r_inf, alg, stiff",
    [
        ("ImplicitMidpoint", True, False, 1.0, True, False),
        ("GaussLegendre2", True, False, 1.0, True, False),
        ("GaussLegendre3", True, False, 1.0, True, False),
        ("GaussLegendre4", True, False, 1.0, True, False),
        ("GaussLegendre5", True, False, 1.0, True, False),
        ("BackwardEuler", True, True, 0.0, True, True),
        ("RadauIIA2", True, True, 0.0, True, True),
        ("RadauIIA3", True, True, 0.0, True, True),
        ("RadauIA2", True, True, 0.0, True, False),
        ("CrankNicolson", True, False, 1.0, False, True),
        ("LobattoIIIA3", True, False, 1.0, False, True),
        ("LobattoIIIC3", True, True, 0.0, True, True),
        ("SDIRK22", True, True, 0.0, False, True),
        ("SDIRK23", True, False, math.sqrt(3) - 1, True, False),
        ("SDIRK54", True, True, 0.0, False, True),
        ("TR-BDF2", True, True, 0.0, False, True),
        ("RK4", False, False, math.inf, False, False),
    ],
)
def test_implicit_verdicts_hairer_wanner(name, a_stable, l_stable, r_inf, alg, stiff):
    v = _verdicts(name)
    t = get_method(name)
    assert (v.a_stable, v.l_stable, v.algebraically_stable, v.stiffly_accurate) == (a_stable, l_stable, alg, stiff)
    assert v.r_infinity == pytest.approx(r_inf, abs=1e-12) if math.isfinite(r_inf) else math.isinf(v.r_infinity)
    # the same answers from an independent float64 / 50-digit computation
    assert _independent_algebraic_stability(t) == alg
    assert _independent_a_stable(t) == a_stable
    if t.is_exact and not t.is_explicit:
        assert v.arithmetic["a_stable"] == "exact" and v.arithmetic["algebraically_stable"] == "exact"
    assert (v.a_alpha_degrees == 90.0) == a_stable


def test_gauss_and_radau_are_pade_approximants():
    for s in range(2, 6):
        assert _verdicts(f"GaussLegendre{s}").pade == (s, s)
    assert _verdicts("RadauIIA3").pade == (2, 3)
    assert _verdicts("LobattoIIIC4").pade == (2, 4)
    assert _verdicts("RK4").pade == (4, 0)
    assert _verdicts("DormandPrince5(4)").pade is None


def _pade03_tableau():
    """A 3-stage method with R(z) = 1/(1 - z + z^2/2 - z^3/6), the (0, 3) Pade approximant:
    A - 1 b^T is nilpotent, det(I - zA) is the cubic."""
    return ButcherTableau([[0, 0, 1], ["-1/6", 0, 1], ["1/2", -1, 1]], [0, 0, 1], name="pade03")


def test_a_alpha_angle_against_a_brute_force_scan():
    t = _pade03_tableau()
    v = stability(t).verdicts
    assert not v.a_stable and v.pade == (0, 3)
    R = lambda z: 1.0 / (1 - z + z**2 / 2 - z**3 / 6)  # noqa: E731
    r = np.geomspace(1e-4, 1e4, 5000)
    alpha = 0.0
    for phi in np.arange(0.0, 90.0, 0.02):
        th = math.pi - math.radians(phi)
        if np.max(np.abs(R(r * np.exp(1j * th)))) > 1 + 1e-12:
            break
        alpha = phi
    assert v.a_alpha_degrees is not None and 0 < v.a_alpha_degrees < 90
    assert v.a_alpha_degrees == pytest.approx(alpha, abs=0.03)


def test_plot_window_contains_the_region():
    for name in ("RK4", "DormandPrince5(4)", "SSPRK(10,4)", "PrinceDormand8(7)", "Euler"):
        st = stability(get_method(name))
        w = st.window
        Rf = st.function.evaluator()
        L = 40.0
        X, Y = np.meshgrid(np.linspace(-L, L, 801), np.linspace(-L, L, 801))
        stable = np.abs(Rf(X + 1j * Y)) <= 1.0
        xs, ys = X[stable], Y[stable]
        assert w["re"][0] <= xs.min() and w["re"][1] >= xs.max(), name
        assert w["im"][0] <= ys.min() and w["im"][1] >= ys.max(), name
        # and not absurdly large: within 1.5x the region's own extent (plus the margin)
        assert w["re"][1] - w["re"][0] <= 1.5 * (xs.max() - xs.min()) + 2.0, name
    w = stability(get_method("RadauIIA3")).window
    assert w["from"] == "unstable set" and w["re"][1] > 0 > w["re"][0]
    assert "plot_window" in stability(get_method("RK4")).to_json()


def test_float_tableaux_get_the_same_verdicts_as_exact_ones():
    for e in CATALOGUE:
        v, w = stability(e.tableau).verdicts, stability(e.tableau.as_float()).verdicts
        assert (v.a_stable, v.l_stable, v.algebraically_stable, v.stiffly_accurate, v.pade) == \
               (w.a_stable, w.l_stable, w.algebraically_stable, w.stiffly_accurate, w.pade), e.name
        assert w.arithmetic["algebraically_stable"] == "float64"
