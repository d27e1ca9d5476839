"""One CLI, one set of conventions: --json, --quiet, --out, run directories that are one run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from algodiscover.cli import build_parser, main

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

FAST = """
seed = {seed}
[problem]
class = "ode"
family = "square"
[model]
consistency = "{consistency}"
[train]
adam_steps = 6
lbfgs_steps = 4
[ode]
samples = 16
"""


def _config(tmp_path: Path, seed: int = 0, consistency: str = "affine") -> Path:
    """Ten training steps; affine consistency keeps any seed's result a usable integrator (exit 0:
    a 'worse than Euler' training exits 1). Seed 0 is usable without it too."""
    p = tmp_path / f"fast{seed}-{consistency}.toml"
    p.write_text(FAST.format(seed=seed, consistency=consistency))
    return p


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_takes_json_and_quiet():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    for name, p in sub.choices.items():
        flags = {s for a in p._actions for s in a.option_strings}
        assert {"--json", "--quiet"} <= flags, name
        assert p.epilog and "algodiscover" in p.epilog, f"{name} --help has no example"


def test_json_output_is_machine_readable_everywhere(capsys, tmp_path):
    cfg = _config(tmp_path)
    run = tmp_path / "run"
    code, out, _ = _run(capsys, "train", "--config", str(cfg), "--out", str(run), "--json")
    assert code == 0 and json.loads(out)["run_dir"] == str(run)
    code, out, _ = _run(capsys, "analyze", str(run), "--json")
    assert code == 0 and json.loads(out)["kind"] == "runge-kutta"
    code, out, _ = _run(capsys, "report", str(run), "--format", "html", "--json")
    assert code == 0 and json.loads(out)["files"] == [str(run / "report.html")]
    for argv in (["methods"], ["families"], ["check", "RK4"]):
        code, out, _ = _run(capsys, *argv, "--json")
        assert code == 0 and json.loads(out), argv
    code, out, _ = _run(capsys, "methods", "--quiet")
    assert code == 0 and out.splitlines()[0] == "Euler"
    code, out, _ = _run(capsys, "check", "RK4", "--quiet")
    assert code == 0 and out.strip() == "RK4: order 4 (exact), stage order 1, identified as RK4"


def test_a_train_only_run_is_completed_by_analyze_before_report(capsys, tmp_path):
    run = tmp_path / "run"
    assert _run(capsys, "train", "--config", str(_config(tmp_path)), "--out", str(run), "--quiet")[0] == 0
    code, _, err = _run(capsys, "report", str(run))
    assert code == 2 and f"run 'algodiscover analyze {run}' first" in err and len(err.strip().splitlines()) == 1
    assert _run(capsys, "analyze", str(run), "--quiet")[0] == 0
    assert _run(capsys, "report", str(run), "--quiet")[0] == 0
    assert (run / "report.html").is_file()


def test_out_holding_a_different_run_is_refused_unless_forced(capsys, tmp_path):
    run = tmp_path / "run"
    assert _run(capsys, "discover", "--config", str(_config(tmp_path, 0)), "--out", str(run), "--format", "html,tex", "--quiet")[0] == 0
    (run / "report.pdf").write_text("an old report")  # e.g. from an earlier --format pdf
    notes = run / "notes.txt"
    notes.write_text("the user's own file")
    before = (run / "algorithm.json").read_bytes()
    code, _, err = _run(capsys, "discover", "--config", str(_config(tmp_path, 1)), "--out", str(run), "--quiet")
    assert code == 2 and "holds a different run" in err and "--force" in err
    assert (run / "algorithm.json").read_bytes() == before
    # the same configuration again is not a different run
    assert _run(capsys, "discover", "--config", str(_config(tmp_path, 0)), "--out", str(run), "--format", "html", "--quiet")[0] == 0
    assert not (run / "report.pdf").exists() and not (run / "report.tex").exists()  # no report of an older run left
    assert _run(capsys, "discover", "--config", str(_config(tmp_path, 1)), "--out", str(run), "--format", "html", "--quiet", "--force")[0] == 0
    alg = json.loads((run / "algorithm.json").read_text())
    ana = json.loads((run / "analysis.json").read_text())
    assert alg["seed"] == 1 and ana["algorithm_hash"] == alg["content_hash"]
    assert notes.read_text() == "the user's own file"
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_an_analysis_from_another_artefact_is_refused(capsys, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for seed, d in ((0, a), (1, b)):
        assert _run(capsys, "discover", "--config", str(_config(tmp_path, seed)), "--out", str(d), "--format", "none", "--quiet")[0] == 0
    (a / "analysis.json").write_bytes((b / "analysis.json").read_bytes())
    code, _, err = _run(capsys, "report", str(a))
    assert code == 2 and "made from a different algorithm.json" in err


def test_config_toml_is_fully_resolved_and_reproduces_the_run(capsys, tmp_path):
    run = tmp_path / "run"
    assert _run(capsys, "train", "--config", str(_config(tmp_path, consistency="none")), "--out", str(run), "--quiet")[0] == 0
    cfg = tomllib.loads((run / "config.toml").read_text())
    assert cfg["model"]["consistency"] == "none"
    assert all(v for v in cfg.values() if isinstance(v, dict)), "empty section in config.toml"
    assert cfg["ode"]["samples"] == 16 and cfg["ode"]["taylor_order"] == 0 and cfg["ode"]["normalise"] == "reference"
    again = tmp_path / "again"
    assert _run(capsys, "train", "--config", str(run / "config.toml"), "--out", str(again), "--quiet")[0] == 0
    w1 = json.loads((run / "algorithm.json").read_text())["weights"]
    w2 = json.loads((again / "algorithm.json").read_text())["weights"]
    flat = [np.ravel(np.asarray(w[k], dtype=float)) for w in (w1, w2) for k in ("W", "b")]
    assert np.allclose(np.concatenate(flat[:2]), np.concatenate(flat[2:]), rtol=1e-12, atol=1e-14)


def test_run_directories_follow_the_umask(capsys, tmp_path):
    old = os.umask(0o022)
    try:
        run = tmp_path / "run"
        assert _run(capsys, "discover", "--config", str(_config(tmp_path)), "--out", str(run), "--format", "html,tex", "--quiet")[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(run.stat().st_mode) == 0o755
    assert stat.S_IMODE((run / "figures").stat().st_mode) == 0o755
    assert stat.S_IMODE((run / "algorithm.json").stat().st_mode) == 0o644


def test_a_diverged_training_leaves_no_files(capsys, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(FAST.format(seed=0, consistency="none").replace("lbfgs_steps = 4", "lbfgs_steps = 4\nlr = 1e6\ndivergence_factor = 1.5"))
    run = tmp_path / "run"
    code, _, err = _run(capsys, "discover", "--config", str(cfg), "--out", str(run), "--quiet")
    assert code == 1 and "diverged" in err
    assert not run.exists()


@pytest.mark.parametrize("argv, fragment", [
    (["check", "RK4", "--out", "/proc/x"], "/proc/x"),
    (["check", "RK4", "--report", "/proc/x/r.html"], "/proc/x"),
    (["discover", "--name", "../../x"], "run name"),
    (["discover", "--seed", str(10**22), "--out", "never"], "seed"),
    (["check", "RK4", "--format", "html"], "--format needs --out"),
])
def test_bad_output_arguments_give_one_line(capsys, tmp_path, argv, fragment, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, *argv)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "never").exists() and not (tmp_path.parent / "x").exists()


def test_a_closed_pipe_is_not_a_traceback():
    code = "from algodiscover.cli import main; import sys; sys.exit(main(['methods']))"
    p = subprocess.run(f"{sys.executable} -c \"{code}\" | head -1", shell=True, capture_output=True, text=True, timeout=120)
    assert p.stdout.startswith("name") and "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


def test_an_artefact_without_a_valid_hash_is_flagged(capsys, tmp_path):
    run = tmp_path / "run"
    assert _run(capsys, "train", "--config", str(_config(tmp_path)), "--out", str(run), "--quiet")[0] == 0
    data = json.loads((run / "algorithm.json").read_text())
    data["weights"]["b"][0] += 1e-3  # edited by hand
    (run / "algorithm.json").write_text(json.dumps(data))
    code, _, err = _run(capsys, "analyze", str(run), "--strict")
    assert code == 2 and "content hash does not match" in err and "--strict" in err
    code, _, err = _run(capsys, "analyze", str(run), "--quiet")
    assert code == 0 and "warning" in err and "content hash does not match" in err
    assert json.loads((run / "analysis.json").read_text())["algorithm_integrity"] == "mismatch"
    del data["content_hash"]
    (run / "algorithm.json").write_text(json.dumps(data))
    code, _, err = _run(capsys, "report", str(run), "--strict")
    assert code == 2 and "has no content hash" in err


def test_the_report_shows_the_configuration_config_toml_holds(capsys, tmp_path):
    """Issue: config.toml said consistency = "none" while the report said 'not set'."""
    run = tmp_path / "run"
    assert _run(capsys, "discover", "--config", str(_config(tmp_path, consistency="none")), "--out", str(run), "--format", "html", "--quiet")[0] == 0
    saved = tomllib.loads((run / "config.toml").read_text())
    shown = json.loads((run / "analysis.json").read_text())["provenance"]["config"]
    assert shown == saved
    html = (run / "report.html").read_text()
    assert html.replace("&#34;", '"').replace("&quot;", '"').count('consistency = "none"') == 1
    assert "not set" not in html
