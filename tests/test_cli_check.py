import json
import subprocess
import sys

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
    p = tmp_path / "noisy.json"
    p.write_text('{"A": [[0,0,0,0],[0.50000003,0,0,0],[0,0.49999998,0,0],[0,0,1.00000001,0]], "b": [0.16666667, 0.33333332, 0.33333334, 0.16666667]}')
    code, out, _ = run_cli(capsys, "check", str(p), "--json")
    d = json.loads(out)
    assert d["order"] == 1 and d["exact_order"] == 4 and d["identified_as"] == "RK4"
    code, out, _ = run_cli(capsys, "check", str(p), "--tol", "1e-6")
    assert "order: 4" in out


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
