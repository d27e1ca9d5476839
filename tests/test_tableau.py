import math
import warnings

import numpy as np
import pytest
import sympy as sp

from algodiscover.analysis import ButcherTableau, TableauError, TableauWarning, get_method, load_tableau, parse_entry
from algodiscover.analysis.errors import AnalysisInputError


def test_exact_and_float_views():
    t = ButcherTableau([["1/4", "1/4 - sqrt(3)/6"], ["1/4 + sqrt(3)/6", "1/4"]], ["1/2", "1/2"], name="GL2")
    assert t.is_exact and not t.is_explicit
    assert t.exact.c[0] == sp.Rational(1, 2) - sp.sqrt(3) / 6
    assert t.c[0] == pytest.approx(0.5 - math.sqrt(3) / 6, abs=1e-16)
    assert t.A.dtype == np.float64 and not t.A.flags.writeable


def test_json_round_trip_is_lossless(tmp_path):
    for name in ("RK4", "GaussLegendre3", "PrinceDormand8(7)", "SDIRK34"):
        t = get_method(name)
        p = tmp_path / "t.json"
        t.to_json(p)
        back = load_tableau(p)
        assert back == t and back.exact.entries() == t.exact.entries()
    f = ButcherTableau(np.array([[0, 0], [0.1 + 0.2, 0]]), [0.3, 0.7])
    f.to_json(tmp_path / "f.json")
    g = load_tableau(tmp_path / "f.json")
    assert not g.is_exact and np.array_equal(g.A, f.A) and np.array_equal(g.b, f.b)


def test_decimal_strings_are_exact():
    assert parse_entry("0.161") == sp.Rational(161, 1000)
    assert isinstance(parse_entry(0.5), float)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"A": [[0, 0], [1]], "b": [1, 0]}, "square"),
        ({"A": [[0, 0], [1, 0]], "b": [1, 0, 0]}, "3 entries"),
        ({"A": [[0, 0], [float("nan"), 0]], "b": [1, 0]}, "finite"),
        ({"A": [[0, 0], ["1/0", 0]], "b": [1, 0]}, "finite"),
        ({"A": [[0, 0], ["x+1", 0]], "b": [1, 0]}, "unknown name 'x'"),
        ({"A": [[0, 0], ["__import__('os')", 0]], "b": [1, 0]}, "cannot parse"),
        ({"A": [[0, 0], [True, 0]], "b": [1, 0]}, "boolean"),
        ({"A": "A", "b": [1]}, "list of rows"),
        ({"A": [], "b": []}, "empty"),
    ],
)
def test_validation_errors_name_the_input(kwargs, fragment):
    with pytest.raises(AnalysisInputError) as err:
        ButcherTableau(**kwargs)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_nodes_that_are_not_row_sums_warn():
    with pytest.warns(TableauWarning, match="row sums"):
        ButcherTableau([[0, 0], [1, 0]], ["1/2", "1/2"], c=[0, "1/2"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ButcherTableau([[0, 0], [1, 0]], ["1/2", "1/2"], c=[0, 1])


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"A": [[0]], ', "malformed JSON"),
        ('{"A": [[0, 0], [1, 0]]}', "missing key 'b'"),
        ('{"A": [[NaN]], "b": [1]}', "NaN"),
        ('[1, 2]', "JSON object"),
        ('{"A": [[0]], "b": [1], "stages": 3}', "unknown key 'stages'"),
    ],
)
def test_load_errors_name_the_file(tmp_path, text, fragment):
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(TableauError) as err:
        load_tableau(p)
    assert str(p) in str(err.value) and fragment in str(err.value)


def test_permuted_is_equivalent_but_not_equal():
    t = get_method("GaussLegendre2")
    p = t.permuted([1, 0])
    assert p != t
    assert p.permuted([1, 0]) == t


# ------------------------------------------------------------------ notebooks (issue 10, section 5)
def test_repr_shows_the_coefficients():
    r = repr(get_method("RK4"))
    assert r.startswith("ButcherTableau('RK4', 4 stages, explicit, exact)")
    assert "1/6  1/3  1/3  1/6" in r and "1/2 | 1/2" in r
    big = repr(get_method("PrinceDormand8(7)"))
    assert "c = [0, 1/18, 1/12, ..., " in big and "b_hat = [" in big and len(big.splitlines()) == 4
    f = repr(ButcherTableau([[0, 0], [0.5, 0]], [0.0, 1.0]))
    assert "float64" in f and "0.5" in f


def test_latex_and_sympy_views():
    t = get_method("GaussLegendre2")
    tex = t.to_latex()
    assert tex.startswith("\\begin{array}{c|cc}") and tex.endswith("\\end{array}") and "\\hline" in tex
    assert "\\frac{\\sqrt{3}}{6}" in tex and t._repr_latex_() == "$$" + tex + "$$"
    m = t.to_sympy()
    assert m["A"].shape == (2, 2) and m["b"].shape == (2, 1) and m["b_hat"] is None
    assert sp.simplify(m["A"][0, 1] - (sp.Rational(1, 4) - sp.sqrt(3) / 6)) == 0
    assert sp.simplify(m["c"][1] - (sp.Rational(1, 2) + sp.sqrt(3) / 6)) == 0
    fl = ButcherTableau([[0, 0], [0.5, 0]], [0.0, 1.0]).to_sympy()
    assert float(fl["A"][1, 0]) == 0.5 and isinstance(fl["A"][1, 0], sp.Float) and "0.5" in ButcherTableau([[0, 0], [0.5, 0]], [0.0, 1.0]).to_latex()


def test_digits_the_coefficients_carry(tmp_path):
    assert get_method("RK4").digits is None
    assert get_method("Tsitouras5(4)").digits == 48  # the published 48- to 52-digit decimals
    assert ButcherTableau([[0, 0], ["0.3333333333333333333333333333", 0]], ["0.5", "0.5"]).digits == 28
    assert ButcherTableau(np.array([[0, 0], [1 / 3, 0]]), [0.25, 0.75]).digits is None  # Python floats: float64
    assert ButcherTableau(np.array([[0, 0], [1 / 3, 0]], dtype=np.float32), [0.25, 0.75]).digits == 8
    p = tmp_path / "t.json"
    p.write_text('{"A": [[0, 0], [0.33333333, 0]], "b": [0.25, 0.75]}')
    assert load_tableau(p).digits == 8
    p.write_text('{"A": [[0, 0], [0.3333333333333333, 0]], "b": [0.25, 0.75]}')
    assert load_tableau(p).digits is None
    assert "rounded" in get_method("Tsitouras5(4)").precision_note


def test_equal_algebraic_numbers_written_differently():
    a = ButcherTableau([["sqrt(2)/2"]], ["1"])
    b = ButcherTableau([["1/sqrt(2)"]], ["1"])
    assert a == b and a != ButcherTableau([["sqrt(3)/2"]], ["1"])
