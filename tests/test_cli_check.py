import json
import subprocess
import sys

import numpy as np
import pytest

from algodiscover.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_rk4_text(capsys, tmp_path):
    p = tmp_path / "rk4.json"
    p.write_text('{"name": "RK4", "A": [[0,0,0,0],["1/2",0,0,0],[0,"1/2",0,0],[0,0,1,0]], "b": ["1/6","1/3","1/3","1/6"]}')
    code, out, err = run_cli(capsys, "check", str(p))
    assert code == 0, err
    assert "order: 4" in out and "exact order: 4" in out and "identified as: RK4" in out
    assert "1/6  1/3  1/3  1/6" in out


def test_check_json_keys(capsys):
    code, out, _ = run_cli(capsys, "check", "GaussLegendre2", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["kind"] == "runge-kutta" and d["order"] == 4 and d["exact_order"] == 4
    assert d["identified_as"] == "GaussLegendre2" and d["tol"] == 0.0
    assert set(d["residuals"]) == {"1", "2", "3", "4", "5"}
    assert d["rational"]["b"] == ["1/2", "1/2"]


def test_check_float_tableau_is_rationalised(capsys, tmp_path):
    p = tmp_path / "heun.json"
    p.write_text('{"A": [[0.0, 0.0], [1.0, 0.0]], "b": [0.5, 0.5]}')
    code, out, _ = run_cli(capsys, "check", str(p), "--json")
    d = json.loads(out)
    assert d["arithmetic"] == "float64" and d["order"] == 2 and d["tol"] > 0
    assert d["rational"]["A"] == [["0", "0"], ["1", "0"]] and d["exact_order"] == 2
    assert d["identified_as"] == "Heun"


def test_check_noisy_learned_tableau_is_distilled(capsys, tmp_path):
    # float64 weights (17 digits) 3e-8 away from RK4: order 1 at the float64 tolerance
    p = tmp_path / "noisy.json"
    p.write_text('{"A": [[0,0,0,0],[0.50000003123456700,0,0,0],[0,0.49999997876543300,0,0],[0,0,1.0000000132345670,0]], '
                 '"b": [0.16666669766666667, 0.33333330133333333, 0.3333333743333333, 0.16666662666666665]}')
    code, out, _ = run_cli(capsys, "check", str(p), "--json")
    d = json.loads(out)
    assert d["order"] == 1 and d["exact_order"] == 4 and d["identified_as"] == "RK4"
    assert d["coefficient_digits"] is None and d["tol_source"] == "float64 default"
    code, out, _ = run_cli(capsys, "check", str(p), "--tol", "1e-6")
    assert "order: 4" in out
    # the same weights written with 8 or 9 digits carry only that precision: order 4 by default
    p.write_text('{"A": [[0,0,0,0],[0.50000003,0,0,0],[0,0.49999998,0,0],[0,0,1.00000001,0]], "b": [0.16666667, 0.33333332, 0.33333334, 0.16666667]}')
    d = json.loads(run_cli(capsys, "check", str(p), "--json")[1])
    assert d["order"] == 4 and d["coefficient_digits"] == 9 and "9-digit" in d["tol_source"]


def test_max_order_caps(capsys):
    code, out, _ = run_cli(capsys, "check", "GaussLegendre3", "--max-order", "3", "--json")
    d = json.loads(out)
    assert d["order"] == 3 and d["order_reached_cap"]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('{"A": [[0, 0], [1]], "b": [1, 0]}', "square"),
        ('{"A": [[0, 0], [1, 0]], "b": [1, 0, 3]}', "3 entries"),
        ('{"A": [[NaN, 0], [1, 0]], "b": [1, 0]}', "NaN"),
        ('{"A": [[0, 0], ["sqrt(x)", 0]], "b": [1, 0]}', "unknown name 'x'"),
        ('{"A": [[0, 0], [1, 0]], "b": [1, 0]', "malformed JSON"),
        ('{"A": [[0, 0], [1e999, 0]], "b": [1, 0]}', "finite"),
    ],
)
def test_bad_tableau_files_exit_2_with_one_line(capsys, tmp_path, content, fragment):
    p = tmp_path / "bad.json"
    p.write_text(content)
    code, out, err = run_cli(capsys, "check", str(p))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(p) in lines[0] and fragment in lines[0], err


def test_missing_file_and_bad_options(capsys, tmp_path):
    code, _, err = run_cli(capsys, "check", str(tmp_path / "nope.json"))
    assert code == 2 and "no such file" in err
    with pytest.raises(SystemExit) as e:
        main(["check", "RK4", "--max-order", "0"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["check", "RK4", "--tol", "nan"])
    assert e.value.code == 2


def test_console_script_exit_code(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{")
    r = subprocess.run([sys.executable, "-m", "algodiscover.cli", "check", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_analysis_does_not_import_torch():
    code = "import sys, algodiscover.analysis; from algodiscover.analysis import analyze_tableau, get_method; analyze_tableau(get_method('RK4')); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "False", r.stderr


def test_check_report_option_writes_the_report(capsys, tmp_path):
    out = tmp_path / "rk4.html"
    assert main(["check", "RK4", "--report", str(out)]) == 0
    html = out.read_text()
    assert "<math" in html and "RK4" in html and "algodiscover check RK4" in html
    code, _, err = run_cli(capsys, "check", "RK4", "--report", str(tmp_path / "r.docx"))
    assert code == 2 and "docx" in err and len(err.strip().splitlines()) == 1


def test_nodes_that_are_not_row_sums_give_one_warning_line(capsys, tmp_path):
    p = tmp_path / "c.json"
    p.write_text('{"A": [[0, 0], [1, 0]], "b": ["1/2", "1/2"], "c": [0, "1/2"]}')
    import warnings

    with warnings.catch_warnings():
        code, out, err = run_cli(capsys, "check", str(p))
    assert code == 0 and "order: 2" in out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [f"algodiscover: warning: {p}: c differs from the row sums of A at stage(s) 1; order conditions assume c = A 1"]


# ------------------------------------------------------------------ issue 12
def test_implicit_verdicts_in_text_and_json(capsys):
    code, out, _ = run_cli(capsys, "check", "GaussLegendre3")
    assert code == 0
    assert "A-stable: yes [exact]; L-stable: no; |R(inf)| = 1" in out
    assert "algebraically stable: yes [exact]; stiffly accurate: no" in out
    assert "the (3, 3) Pade approximant of exp" in out and "stability interval: real (-inf, 0], imaginary the whole axis" in out
    code, out, _ = run_cli(capsys, "check", "RadauIIA3", "--json")
    d = json.loads(out)
    assert (d["a_stable"], d["l_stable"], d["r_infinity"], d["algebraically_stable"], d["stiffly_accurate"]) == (True, True, 0.0, True, True)
    assert d["a_alpha_degrees"] == 90.0 and d["stability"]["R"] == "(1 + 2*z/5 + z**2/20)/(1 - 3*z/5 + 3*z**2/20 - z**3/60)"
    assert set(d["stability"]["plot_window"]) >= {"re", "im"}
    code, out, _ = run_cli(capsys, "check", "RK4", "--json")
    d = json.loads(out)
    assert (d["a_stable"], d["r_infinity"], d["a_alpha_degrees"]) == (False, "inf", None)


def test_max_order_12_reports_every_order(capsys):
    code, out, _ = run_cli(capsys, "check", "PD8", "--max-order", "12", "--json")
    d = json.loads(out)
    assert d["order"] == 8 and sorted(map(int, d["residuals"])) == list(range(1, 13))
    assert d["residual_arithmetic"]["8"] == "exact" and d["residual_arithmetic"]["12"] == "float64"
    assert d["trees_per_order"]["12"] == 4766 and d["first_failure"] == 9
    assert d["error_coefficients"]["order"] == 9 and len(d["error_coefficients"]["values"]) == 286
    code, out, _ = run_cli(capsys, "check", "PD8", "--max-order", "12")
    assert "(orders 10..12, past the first failure, are float64 residuals; order stays 8)" in out


def test_order_caps_are_refused_with_one_line(capsys):
    for p in ("25", "100"):
        code, _, err = run_cli(capsys, "check", "RK4", "--max-order", p)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "400,000" in err
    code, out, _ = run_cli(capsys, "check", "RK4", "--tol", "1e9", "--json")
    d = json.loads(out)
    assert code == 0 and d["order_cap"] == 5 and d["order_reached_cap"]


def test_tsitouras_is_consistent(capsys):
    code, out, _ = run_cli(capsys, "check", "Tsit5")
    assert code == 0
    lines = out.splitlines()
    assert any(ln.startswith("order: 5   [exact arithmetic, tol 1.29e-45") for ln in lines)
    assert any(ln.startswith("exact order: 5") for ln in lines) and not any(ln.startswith("order: 1") for ln in lines)
    assert "48-digit decimal coefficients, read as rounded at their last digit" in lines[0]


def test_high_degree_entry_is_answered_in_60_digit_arithmetic(capsys, tmp_path):
    x = "6*2**(191/271)*3**(213/271)*5**(95/542)*7**(151/271)/35"
    p = tmp_path / "deg.json"
    p.write_text(json.dumps({"A": [[0, 0], [x, 0]], "b": [f"1 - 1/(2*({x}))", f"1/(2*({x}))"]}))
    code, out, _ = run_cli(capsys, "check", str(p))
    assert code == 0 and "order: 2   [60-digit arithmetic" in out and "stage order: 1   [60-digit arithmetic]" in out


def test_catalogue_names_with_slashes_and_large_tableaux(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "check", "3/8-rule")
    assert code == 0 and "identified as: 3/8-rule" in out
    rng = np.random.default_rng(3)
    for s, implicit in ((30, True), (60, False)):
        A = rng.uniform(-1, 1, (s, s)) / s
        if not implicit:
            A = np.tril(A, -1)
        b = rng.uniform(0, 1, s)
        p = tmp_path / f"r{s}.json"
        p.write_text(json.dumps({"A": A.tolist(), "b": (b / b.sum()).tolist()}))
        code, out, err = run_cli(capsys, "check", str(p), "--json")
        assert code == 0 and "Traceback" not in err
        d = json.loads(out)
        assert d["order"] == 1 and d["stages"] == s


def test_float_tableau_distillation_is_budgeted(capsys, tmp_path):
    from algodiscover.analysis import distill, general_conditions, get_method

    pd8 = get_method("PD8").as_float()
    d = distill(pd8, [general_conditions(8)], budget_s=0.01)
    assert d.gave_up and d.exact is None and d.log[-1].startswith("gave up after")
    p = tmp_path / "pd8.json"
    p.write_text(json.dumps({"A": pd8.A.tolist(), "b": pd8.b.tolist()}))
    code, out, _ = run_cli(capsys, "check", str(p), "--max-order", "12", "--tol", "1e-9", "--json")
    d = json.loads(out)
    assert code == 0 and d["distillation"]["budget_s"] == 3.0 and d["order"] == 8 and d["identified_as"] == "PrinceDormand8(7)"


def test_coefficients_near_the_float64_range_give_strict_json(capsys, tmp_path):
    p = tmp_path / "huge.json"
    p.write_text('{"A": [[0, 0], [1e200, 0]], "b": [0.5, 0.5]}')
    code, out, err = run_cli(capsys, "check", str(p), "--json")
    assert code == 0 and err == ""
    d = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert d["order"] == 1 and d["principal_error_norm"] == "inf" and d["a_stable"] is None
    assert d["stability"]["real_interval"][0] is None and "too large for float64" in d["stability"]["notes"][-1]


def test_check_reads_two_derivative_tableaux_and_says_order_4_exactly(capsys, tmp_path):
    """Issue 15's known answer: Y = y + h/2 f + h^2/8 g, y_1 = y + h f + h^2 (g(y)/6 + g(Y)/3)."""
    p = tmp_path / "tdrk.json"
    p.write_text('{"A": [[0, 0], ["1/2", 0]], "b": [1, 0], "A2": [[0, 0], ["1/8", 0]], "b2": ["1/6", "1/3"]}')
    code, out, err = run_cli(capsys, "check", str(p))
    assert code == 0 and "order: 4   [exact arithmetic]" in out and "identified as: ChanTsai4" in out, out + err
    code, out, _ = run_cli(capsys, "check", str(p), "--json")
    d = json.loads(out)
    assert code == 0 and d["kind"] == "two-derivative-runge-kutta" and d["order"] == 4 and d["arithmetic"] == "exact"
    code, out, _ = run_cli(capsys, "check", "ChanTsai5", "--quiet")
    assert code == 0 and out.strip() == "ChanTsai5: two-derivative, order 5 (exact), identified as ChanTsai5"
    p.write_text('{"A": [[0, 0], ["1/2", 0]], "b": [1, 0], "A2": [[0, 0], ["1/8", 0]]}')
    code, _, err = run_cli(capsys, "check", str(p))
    assert code == 2 and "missing 'b2'" in err and len(err.strip().splitlines()) == 1
