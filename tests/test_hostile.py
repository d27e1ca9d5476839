"""Hostile and careless input at every entry point: nothing runs, nothing hangs, nothing is lost.

Each case asserts the exit code, a one-line message naming the input, and that nothing ran
(the payloads would create a marker file) or was written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from algodiscover.analysis import AnalysisInputError, ButcherTableau
from algodiscover.analysis.expressions import parse_expression, parse_number
from algodiscover.cli import main

MARKER = "PWNED"
#: Expressions that would run code, reach Python internals or define functions if evaluated.
PAYLOADS = [
    f"__import__('os').system('touch {MARKER}') or -y",
    f"open('{MARKER}', 'w') or y",
    "().__class__.__bases__[0].__subclasses__()",
    "y.__class__",
    "(lambda: y)()",
    "eval('y')",
    "exec('y=1')",
    "globals()",
    "[y for y in (1,)]",
    "y if y else 1",
    "__builtins__",
    "getattr(y, 'free_symbols')",
    "Symbol('x')",
    "y; import os",
    f"'{MARKER}'",
    "lambda y: y",
]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> bool:
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("algodiscover: warning:")]
    return len(lines) == 1 and lines[0].startswith("algodiscover: error:") and "Traceback" not in err


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_parser_refuses_every_payload(payload, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AnalysisInputError, match="family.rhs"):
        parse_expression(payload, ["y"], where="family.rhs[0]")
    with pytest.raises(AnalysisInputError):
        parse_number(payload.replace("y", "1"), where="A[1][0]")
    assert not (tmp_path / MARKER).exists()


def _ode_config(tmp_path: Path, rhs: str, *, key: str = "rhs") -> Path:
    table = {"name": "evil", "state": ["y"], "rhs": ["-y"], "params": {"a": [0.5, 1.0]}}
    table[key] = [rhs]
    # affine consistency: two training steps still give a usable (consistent) integrator, exit 0
    lines = ["[problem]", 'class = "ode"', 'family = "custom"', "[model]", 'consistency = "affine"', "[train]", "adam_steps = 2", "lbfgs_steps = 1",
             "[ode]", "samples = 8", "[family]"]
    lines += [f"{k} = {json.dumps(v)}" if not isinstance(v, dict) else f"{k} = {{ a = [0.5, 1.0] }}" for k, v in table.items()]
    p = tmp_path / "evil.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.parametrize("key", ["rhs", "exact_solution"])
@pytest.mark.parametrize("payload", PAYLOADS[:6])
def test_an_ode_family_table_cannot_run_code(capsys, tmp_path, monkeypatch, key, payload):
    monkeypatch.chdir(tmp_path)
    cfg = _ode_config(tmp_path, payload, key=key)
    code, _, err = _run(capsys, "discover", "--config", str(cfg), "--out", "run", "--quiet")
    assert code == 2 and _one_line(err) and f"[family].{key}[0]" in err, err
    assert not (tmp_path / MARKER).exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("payload", PAYLOADS[:6])
def test_a_nonlinear_family_table_cannot_run_code(capsys, tmp_path, monkeypatch, payload):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "evil.toml"
    cfg.write_text("[problem]\nclass = \"nonlinear\"\nfamily = \"custom\"\n[family]\nname = \"evil\"\n"
                   f"unknowns = [\"x\", \"y\"]\nF = [{json.dumps(payload.replace('y', 'x'))}, \"x - y\"]\nguess = [1.0, 1.0]\n")
    code, _, err = _run(capsys, "train", "--config", str(cfg), "--out", "run", "--quiet")
    assert code == 2 and _one_line(err) and "[family].F[0]" in err, err
    assert not (tmp_path / MARKER).exists() and not (tmp_path / "run").exists()


def test_a_sweep_spec_cannot_run_code(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "sweep.toml"
    spec.write_text("[sweep]\nname = \"evil\"\n[base]\nproblem = { class = \"ode\", family = \"custom\" }\n"
                    "train = { adam_steps = 2, lbfgs_steps = 1 }\n"
                    f"family = {{ name = \"evil\", state = [\"y\"], rhs = [{json.dumps(PAYLOADS[0])}] }}\n"
                    "[grid]\nseed = [0, 1]\n")
    code, _, err = _run(capsys, "sweep", str(spec), "--quiet")
    assert code == 2 and _one_line(err) and "rhs[0]" in err, err
    assert not (tmp_path / MARKER).exists()


def _received_artefact(tmp_path: Path, rhs: str) -> Path:
    """An algorithm.json as a colleague might send it, with a valid content hash over a
    planted expression."""
    from algodiscover.artefact import content_hash

    d = tmp_path / "received"
    d.mkdir()
    data = {"format": "algodiscover.algorithm/1", "kind": "runge-kutta",
            "problem": {"class": "ode", "family": "custom", "custom": {"name": "evil", "state": ["y"], "rhs": [rhs]}},
            "structure": {"stages": 1, "outer": 1, "consistency": None},
            "weights": {"W": [[0.0]], "b": [1.0]}, "config": {}, "seed": 0, "training": {}, "versions": {}, "timing": {}}
    data["content_hash"] = content_hash(data)
    (d / "algorithm.json").write_text(json.dumps(data))
    return d


@pytest.mark.parametrize("payload", PAYLOADS[:4])
def test_analyze_of_a_received_artefact_cannot_run_code(capsys, tmp_path, monkeypatch, payload):
    monkeypatch.chdir(tmp_path)
    d = _received_artefact(tmp_path, payload)
    code, _, err = _run(capsys, "analyze", str(d), "--quiet")
    assert code == 2 and _one_line(err) and "rhs[0]" in err, err
    assert not (tmp_path / MARKER).exists() and not (d / "analysis.json").exists()


def test_a_saved_config_toml_is_read_by_the_same_parser(capsys, tmp_path, monkeypatch):
    """discover --config of a config.toml someone saved (and edited)."""
    monkeypatch.chdir(tmp_path)
    good = _ode_config(tmp_path, "-a*y")
    assert _run(capsys, "train", "--config", str(good), "--out", "run", "--quiet")[0] == 0
    saved = (tmp_path / "run" / "config.toml").read_text()
    assert 'rhs = [\n    "-a*y",\n]' in saved or '"-a*y"' in saved
    (tmp_path / "edited.toml").write_text(saved.replace('"-a*y"', json.dumps(PAYLOADS[0])))
    code, _, err = _run(capsys, "discover", "--config", "edited.toml", "--out", "run2", "--quiet")
    assert code == 2 and _one_line(err) and not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("entry, fragment", [
    ("9**9**9", "exponent"),
    ("1" + "0" * 600, "too long"),
    ("10**400", "too large"),
    ("-" * 300 + "1", "nested more than"),
    ("2**1e9", "exponent"),
    (PAYLOADS[0].replace("y", "1"), "cannot parse"),
])
def test_huge_or_deep_tableau_entries_are_refused_quickly(capsys, tmp_path, entry, fragment):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"A": [[0, 0], [entry, 0]], "b": ["1/2", "1/2"]}))
    code, _, err = _run(capsys, "check", str(p))
    assert code == 2 and _one_line(err) and fragment in err and str(p) in err, err


def test_deeply_nested_json_is_one_line(capsys, tmp_path):
    for name in ("t.json", "algorithm.json"):
        p = tmp_path / name
        p.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = _run(capsys, "check", str(tmp_path / "t.json"))
    assert code == 2 and _one_line(err)
    code, _, err = _run(capsys, "analyze", str(tmp_path / "algorithm.json"))
    assert code == 2 and _one_line(err)


@pytest.mark.parametrize("toml, fragment", [
    ("[ode]\nsamples = 1000000000\n", "ode.samples"),
    ("[ode]\nsamples = 1e9\n", "ode.samples"),
    ("[linear]\nsamples = 10000000\n[problem]\nclass = \"linear\"\n", "linear.samples"),
    ("seed = 10000000000000000000000\n", "seed"),
    ("name = \"../../x\"\n", "run name"),
    ("[train]\nlr = nan\n", "train.lr"),
])
def test_sizes_and_values_out_of_range_are_refused_before_anything_runs(capsys, tmp_path, monkeypatch, toml, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(toml)
    code, _, err = _run(capsys, "discover", "--config", "c.toml", "--out", "run", "--quiet")
    assert code == 2 and _one_line(err) and fragment in err, err
    assert not (tmp_path / "run").exists()


def test_the_sample_limit_can_be_lifted_explicitly(monkeypatch):
    from algodiscover.options import MAX_SAMPLES, OdeTrainingConfig

    with pytest.raises(AnalysisInputError, match="ALGODISCOVER_NO_LIMITS"):
        OdeTrainingConfig(samples=MAX_SAMPLES + 1)
    monkeypatch.setenv("ALGODISCOVER_NO_LIMITS", "1")
    assert OdeTrainingConfig(samples=MAX_SAMPLES + 1).samples == MAX_SAMPLES + 1


def test_a_truncated_cache_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("ALGODISCOVER_CACHE", str(tmp_path / "cache"))
    from algodiscover.ode import make_ode_data
    from algodiscover.ode_families import get_ode_family

    fam = get_ode_family("vanderpol")
    first = make_ode_data(fam, 6, seed=0)
    (entry,) = (tmp_path / "cache").glob("ode-*.npz")
    entry.write_bytes(entry.read_bytes()[:40])  # a kill while writing, or a full disk
    again = make_ode_data(fam, 6, seed=0)
    assert again.reference == pytest.approx(first.reference, rel=1e-12)
    assert make_ode_data(fam, 6, seed=0).reference == pytest.approx(first.reference, rel=1e-12)  # rewritten


def test_nested_family_tables_and_odd_names_are_refused(capsys, tmp_path):
    for state, fragment in ((["__class__"], "cannot be a variable name"), (["lambda"], "cannot be a variable name"),
                            (["t"], "time variable"), (["y", "y"], "distinct")):
        table = {"name": "odd", "state": state, "rhs": ["1"] * len(state)}
        with pytest.raises(AnalysisInputError, match=fragment):
            from algodiscover.ode_families import ode_family_from_config

            ode_family_from_config(table)


def test_reading_a_tableau_never_evaluates_text():
    t = ButcherTableau([[0, 0], ["2/3", 0]], ["1/4", "3/4"])
    assert t.is_exact
    with pytest.raises(AnalysisInputError):
        ButcherTableau([[0, 0], ["__import__('os')", 0]], ["1/4", "3/4"])


def test_no_module_evaluates_user_text():
    """No sympify/parse_expr/eval of strings and no pickle loads anywhere in the packages."""
    root = Path(__file__).resolve().parents[1]
    bad = []
    for folder in ("algodiscover", "analysis", "reports"):
        for p in (root / folder).rglob("*.py"):
            for i, line in enumerate(p.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if (re.search(r"(?<![\w.])(eval|exec)\(|sympify\(|\bparse_expr\(", code)
                        or any(s in code for s in ("pickle.load", "weights_only=False", "allow_pickle=True"))):
                    bad.append(f"{p.relative_to(root)}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_console_script_refuses_payload_without_running_it(tmp_path):
    cfg = _ode_config(tmp_path, PAYLOADS[0])
    r = subprocess.run([sys.executable, "-m", "algodiscover", "discover", "--config", str(cfg), "--out", "run", "--quiet"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert r.returncode == 2 and _one_line(r.stderr), r.stderr
    assert not (tmp_path / MARKER).exists()


class _Planted:
    """A pickle that would run a shell command when loaded."""

    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


def test_a_planted_checkpoint_is_refused_and_nothing_runs(capsys, tmp_path, monkeypatch):
    import pickle

    import torch

    from algodiscover.config import load_config
    from algodiscover.pipeline import CHECKPOINT, fingerprint

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[train]\nadam_steps = 4\nlbfgs_steps = 2\n[ode]\nsamples = 8\n")
    run = tmp_path / "run"
    run.mkdir()
    ck = run / CHECKPOINT.format(fingerprint=fingerprint(load_config(tmp_path / "c.toml")))
    for payload in (pickle.dumps(_Planted()), None):
        if payload is None:
            torch.save({"model": _Planted()}, ck)  # a torch file carrying the planted object
        else:
            ck.write_bytes(payload)
        code, _, err = _run(capsys, "discover", "--config", "c.toml", "--out", str(run), "--resume", "--quiet")
        assert code == 2 and _one_line(err) and "refused" in err and ck.name in err, err
        assert not (tmp_path / MARKER).exists() and not (run / "algorithm.json").exists()


def test_resume_refuses_another_configurations_checkpoint(capsys, tmp_path, monkeypatch):
    """Another seed (or stage count) never resumes this one's checkpoint."""
    import signal

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[train]\nadam_steps = 400\nlbfgs_steps = 2\ncheckpoint_every = 5\n[ode]\nsamples = 8\n")
    code = ("import os, signal, sys\n"
            "from algodiscover import training\n"
            "real = training._save_checkpoint\n"
            "def save(*a, **k):\n"
            "    real(*a, **k)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "training._save_checkpoint = save\n"
            "from algodiscover.cli import main\n"
            "sys.exit(main(['train', '--config', 'c.toml', '--out', 'run', '--quiet']))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == -signal.SIGKILL
    assert len(list((tmp_path / "run").glob(".checkpoint-*.pt"))) == 1
    for other in (["--seed", "7"], ["--stages", "3"]):
        code, _, err = _run(capsys, "train", "--config", "c.toml", "--out", "run", "--resume", "--quiet", "--force", *other)
        assert code == 2 and _one_line(err) and "another configuration" in err, err
    assert _run(capsys, "train", "--config", "c.toml", "--out", "run", "--resume", "--quiet")[0] == 0
    import json as _json

    assert _json.loads((tmp_path / "run" / "algorithm.json").read_text())["training"]["resumed"] is True
    assert not list((tmp_path / "run").glob(".checkpoint*"))
