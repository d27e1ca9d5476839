"""Sweeps (algodiscover.sweep): spec validation, expansion, the SQLite store, and
kill-and-resume on the local process pool and on Ray: every configuration exactly once."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from algodiscover import sweep
from algodiscover.config import config_from_mapping
from algodiscover.errors import InputError
from algodiscover.sweep import SweepStore, expand_spec, load_spec, pareto_front, run_metrics, run_sweep
from algodiscover.sweep.runner import _chunks
from algodiscover.sweep.store import _DirLock

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[base]
problem = { class = "ode", family = "square" }
train = { adam_steps = 30, lbfgs_steps = 20 }
ode = { samples = 64 }
"""


def _spec(tmp_path: Path, body: str, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALGODISCOVER_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _rows(out: Path) -> dict[str, dict]:
    db = sqlite3.connect(out / "sweep.db")
    db.row_factory = sqlite3.Row
    try:
        return {r["config_hash"]: dict(r) for r in db.execute("SELECT * FROM runs")}
    finally:
        db.close()


def _done(out: Path) -> int:
    try:
        db = sqlite3.connect(out / "sweep.db", timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _check_complete(out: Path, spec_path: Path, done_before: dict[str, dict]) -> None:
    """Every configuration of the spec exactly once, finished runs untouched, run dirs whole."""
    expected = {r.hash for r in expand_spec(load_spec(spec_path))}
    rows = _rows(out)
    assert set(rows) == expected
    assert all(r["status"] == "done" for r in rows.values())
    for h, before in done_before.items():  # never trained twice
        assert rows[h]["attempts"] == 1 and rows[h]["finished_at"] == before["finished_at"]
    dirs = sorted(p.name for p in (out / "runs").iterdir())
    assert dirs == sorted(r["run_id"] for r in rows.values())          # no duplicates, no partial dirs
    for r in rows.values():
        d = out / r["run_dir"]
        assert {"algorithm.json", "analysis.json", "config.toml"} <= {p.name for p in d.iterdir()}
        assert json.loads((d / "algorithm.json").read_text())["config"]["name"].endswith(r["run_id"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Pareto front" in html and 'xlink:href="runs/' in html
    assert "<script" not in html and 'src="http' not in html and "<link" not in html    # self-contained


KILL_SPEC = """
[sweep]
name = "killme"
max_concurrent = 2
ensemble = 2
""" + BASE + """
[grid]
"model.stages" = [1, 2]
seed = [0, 1]

[random]
samples = 2
"model.init_scale" = { uniform = [0.05, 0.15] }
"""


def test_local_sweep_killed_midway_resumes_and_runs_every_config_once(tmp_path):
    spec = _spec(tmp_path, KILL_SPEC)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "algodiscover.sweep", str(spec), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while _done(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)      # the sweep and its worker processes, mid-flight
        log = proc.communicate()[0].decode(errors="replace")
    rows = _rows(out)
    done_before = {h: r for h, r in rows.items() if r["status"] == "done"}
    left_running = sum(r["status"] == "running" for r in rows.values())
    assert 2 <= len(done_before) < len(rows) == 8, log

    res = run_sweep(spec, out, resume=True, progress=False)          # what `sweep --resume` runs
    assert res.counts["done"] == 8 and res.reset == left_running and res.ran == 8 - len(done_before)
    _check_complete(out, spec, done_before)
    assert sum(r["attempts"] for r in _rows(out).values()) == 8 + left_running
    # the Pareto-front runs got HTML reports, and the sweep report's points link to them
    html = (out / "report.html").read_text(encoding="utf-8")
    assert res.front and all((out / r["run_dir"] / "report.html").exists() for r in res.front)
    assert all(f'xlink:href="{r["run_dir"]}/report.html"' in html for r in res.front)

    # the runs are what `algodiscover train` gives for the same configuration, bit for bit
    from algodiscover.pipeline import train_algorithm

    r = next(iter(_rows(out).values()))
    alone = train_algorithm(config_from_mapping(json.loads(r["config"]), source="test"), progress=False)
    assert json.loads((out / r["run_dir"] / "algorithm.json").read_text())["content_hash"] == alone.content_hash

    # a second sweep into the same directory must say --resume; a resumed finished sweep runs nothing
    assert sweep.main([str(spec), "--out", str(out), "--quiet"]) == 2
    assert run_sweep(spec, out, resume=True, progress=False).ran == 0


RAY_SPEC = """
[sweep]
name = "onray"
backend = "ray"
max_concurrent = 2
ensemble = 2
front_reports = false
""" + BASE + """
[grid]
"model.stages" = [1, 2]
seed = [0, 1, 2, 3]
"""


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance with 2 CPUs on the loopback interface (Ray's single-machine mode)."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")      # read when Ray is imported
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'algodiscover[distributed]'); Ray backend tests skipped")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_sweep_interrupted_midway_resumes_and_runs_every_config_once(tmp_path, ray_local):
    spec = _spec(tmp_path, RAY_SPEC)
    out = tmp_path / "out"

    class Interrupt(Exception):
        pass

    seen = []

    def stop_after_two(row):
        seen.append(row["config_hash"])
        if len(seen) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_sweep(spec, out, progress=False, on_result=stop_after_two)
    rows = _rows(out)
    done_before = {h: r for h, r in rows.items() if r["status"] == "done"}
    assert set(done_before) == set(seen) and len(rows) == 8
    assert not any(r["status"] == "running" for r in rows.values())   # in-flight rows were given back
    # what a SIGKILLed sweep leaves: a row claimed by a sweep that no longer exists
    db = sqlite3.connect(out / "sweep.db")
    db.execute("UPDATE runs SET status = 'running', owner = 'dead-host:1:0', attempts = attempts + 1 "
               "WHERE config_hash = (SELECT config_hash FROM runs WHERE status = 'pending' LIMIT 1)")
    db.commit()
    db.close()

    res = run_sweep(spec, out, resume=True, progress=False)
    assert res.counts["done"] == 8 and res.reset == 1 and res.ran == 6
    _check_complete(out, spec, done_before)
    assert {r["backend"] for r in _rows(out).values()} == {"ray"}


@pytest.mark.slow
def test_ray_sweep_sigkilled_resumes(tmp_path, ray_local):
    """The hard kill on Ray: the sweep process (and the Ray instance it started) SIGKILLed."""
    spec = _spec(tmp_path, RAY_SPEC)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "algodiscover.sweep", str(spec), "--out", str(out), "--quiet", "--backend", "ray"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while _done(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log = proc.communicate()[0].decode(errors="replace")
    rows = _rows(out)
    done_before = {h: r for h, r in rows.items() if r["status"] == "done"}
    assert 2 <= len(done_before) < 8, log
    res = subprocess.run(cmd + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stderr + res.stdout
    _check_complete(out, spec, done_before)


# ---------------------------------------------------------------------------- bad specs
BAD = [
    ("[sweeps]\nname='x'\n", "'sweeps'"),
    ("[sweep]\nworkers = 2\n", "sweep.'workers'"),
    ("[sweep]\nbackend = 'dask'\n", "sweep.backend"),
    ("[sweep]\nensemble = 0\n", "sweep.ensemble"),
    (BASE + "[grid]\n", "[grid] is empty"),
    (BASE + "[grid]\n'model.stages' = []\n", "'model.stages' is an empty list"),
    ("[sweep]\nfront_reports = 'yes'\n", "sweep.front_reports"),
    ("[sweep]\nformats = ['docx']\n", "sweep.formats"),
    (BASE + "[grid]\n'model.stagez' = [2]\n", "'model.stagez'"),
    (BASE + "[grid]\n'ode.bogus' = [1]\n", "'ode.bogus'"),
    (BASE + "[grid]\n'linear.tol' = [1e-6]\n", "'linear.tol'"),
    (BASE + "[grid]\n'problem.family' = ['linear']\n", "'problem.family'"),
    (BASE + "[grid]\n'model.stages' = [2, 0]\n", "model.stages"),
    (BASE + "[grid]\n'ode.samples' = [0]\n", "ode.samples"),
    (BASE + "[grid]\n'train.lr' = 0.1\n", "'train.lr' must be a list"),
    (BASE + "[random]\nsamples = 3\n'train.lr' = { uniform = [0.1, 0.01] }\n", "'train.lr': bad range"),
    (BASE + "[random]\nsamples = 3\n'train.lr' = { log_uniform = [0.0, 0.1] }\n", "'train.lr': bad range"),
    (BASE + "[random]\nsamples = 3\n'train.lr' = { gaussian = [0.0, 0.1] }\n", "unknown distribution 'gaussian'"),
    (BASE + "[random]\nsamples = 3\n'model.stages' = { int_uniform = [2, 40] }\n", "model.stages"),
    (BASE + "[random]\nsamples = 3\n'model.stages' = { int_uniform = [2.5, 4] }\n", "'model.stages': int_uniform"),
    (BASE + "[random]\nsamples = 0\n'train.lr' = { uniform = [0.01, 0.1] }\n", "random.samples"),
    (BASE + "[random]\n'train.lr' = { uniform = [0.01, 0.1] }\n", "needs samples"),
    (BASE + "[grid]\n'train.lr' = [0.01]\n[random]\nsamples = 2\n'train.lr' = { uniform = [0.01, 0.1] }\n", "also in [grid]"),
    ("[base]\nmodel = { stages = 2, depth = 3 }\n", "model.'depth'"),
    ("[base]\nname = 'fixed'\n", "base.name"),
]


@pytest.mark.parametrize("body,named", BAD, ids=[b[1] for b in BAD])
def test_bad_spec_exits_2_naming_the_key(tmp_path, capsys, body, named):
    spec = _spec(tmp_path, body)
    assert sweep.main([str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("algodiscover: error: ") and "\n" not in err
    assert named in err
    assert not (tmp_path / "out").exists()          # nothing written for a bad spec


def test_cli_module_reports_bad_spec_in_one_line(tmp_path):
    spec = _spec(tmp_path, BASE + "[grid]\n'model.stages' = []\n")
    res = subprocess.run([sys.executable, "-m", "algodiscover.sweep", str(spec), "--out", str(tmp_path / "o")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "'model.stages' is an empty list" in res.stderr


def test_missing_ray_and_misused_options_exit_2(tmp_path, capsys, monkeypatch):
    spec = _spec(tmp_path, BASE)
    monkeypatch.setitem(sys.modules, "ray", None)       # as if Ray were not installed
    assert sweep.main([str(spec), "--backend", "ray", "--out", str(tmp_path / "o")]) == 2
    assert "pip install 'algodiscover[distributed]'" in capsys.readouterr().err
    assert sweep.main([str(spec), "--address", "10.0.0.1:6379", "--out", str(tmp_path / "o")]) == 2
    assert "--address" in capsys.readouterr().err
    assert sweep.main([str(tmp_path / "missing.toml")]) == 2
    assert "no such sweep spec" in capsys.readouterr().err


def test_directory_lock_allows_one_sweep(tmp_path, capsys):
    spec = _spec(tmp_path, BASE)
    out = tmp_path / "out"
    out.mkdir()
    lock = _DirLock(out)
    try:
        assert sweep.main([str(spec), "--out", str(out), "--quiet"]) == 2
        assert "another sweep" in capsys.readouterr().err
    finally:
        lock.release()


# ---------------------------------------------------------------------------- expansion and pieces
def test_expansion_is_deterministic_crossed_and_deduplicated(tmp_path):
    spec = load_spec(_spec(tmp_path, BASE + """
[grid]
"model.stages" = [2, 3, 2]
seed = [0, 1]
[random]
samples = 3
"train.lr" = { log_uniform = [0.001, 0.1] }
"model.init_scale" = { uniform = [0.05, 0.2] }
"train.adam_steps" = { int_uniform = [10, 12] }
"ode.normalise" = { choice = ["none", "reference"] }
"""))
    runs = expand_spec(spec)
    assert spec.size == 3 * 2 * 3 and len(runs) == 2 * 2 * 3          # the repeated stages value is dropped
    assert [r.hash for r in runs] == [r.hash for r in expand_spec(spec)]
    assert len({r.hash for r in runs}) == len(runs)
    draws = {(r.assignment["train.lr"], r.assignment["model.init_scale"]) for r in runs}
    assert len(draws) == 3                                               # the same draws at every grid point
    for r in runs:
        c = r.config
        assert 0.001 <= c.train.lr <= 0.1 and 0.05 <= c.model.init_scale <= 0.2 and c.train.adam_steps in (10, 11, 12)
        assert c.options["normalise"] in ("none", "reference") and c.options["samples"] == 64
        assert c.name == f"spec-{r.hash[:16]}"
    assert len({r.group for r in runs}) == len({(r.config.model.stages, r.config.train.lr, r.config.train.adam_steps,
                                                 r.config.options["normalise"]) for r in runs})


def test_store_claims_atomically_and_resets_stale_rows(tmp_path):
    spec = load_spec(_spec(tmp_path, BASE + "[grid]\nseed = [0, 1, 2]\n"))
    runs = expand_spec(spec)
    store = SweepStore(tmp_path / "s.db")
    assert store.add(runs) == 3 and store.add(runs) == 0
    hs = [r.hash for r in runs]
    assert store.claim(hs[:2], "a") == hs[:2]
    other = SweepStore(tmp_path / "s.db")                       # a second connection sees the claims
    assert other.claim(hs, "b") == hs[2:]
    assert store.claim(hs, "a") == []
    store.release(hs[:1], "a")
    assert store.counts()["pending"] == 1 and store.reset("running") == 2
    assert store.counts() == {"pending": 3, "running": 0, "done": 0, "diverged": 0, "failed": 0}
    store.close()
    other.close()


def test_pareto_front_and_chunks():
    pts = [(2, 1e-3, "a"), (2, 1e-4, "b"), (3, 1e-4, "c"), (3, 1e-5, "d"), (1, 1e-2, "e"), (4, 1e-5, "f")]
    assert pareto_front(pts) == ["e", "b", "d"]

    def row(h, g):
        return {"config_hash": h, "group_key": g}

    rows = [row(f"h{i}", "A") for i in range(7)] + [row("x", None), row("y", None)] + [row(f"k{i}", "B") for i in range(3)]
    chunks = _chunks(rows, workers=2, max_size=4)
    assert sorted(h["config_hash"] for c in chunks for h in c) == sorted(r["config_hash"] for r in rows)
    assert all(len({r["group_key"] for r in c}) == 1 and len(c) <= 4 for c in chunks)
    assert [len(c) for c in chunks] == [4, 3, 1, 1, 3]


def test_metrics_for_integrators_and_krylov_iterations():
    alg = {"problem": {"class": "ode"}, "structure": {"stages": 3, "outer": 1}, "training": {"final_loss": 2e-5}}
    ana = {"kind": "runge-kutta", "stages": 3, "exact_order": 3, "personalised_order": 4, "measured_order": 3.1,
           "comparison": {"reference": "L", "errors": {"in_distribution": {"L": 1e-6, "L (learned weights)": 2e-6, "Kutta3": 3e-6}},
                          "ratios": {"in_distribution": {"L (learned weights)": 2.0, "Kutta3": 3.0, "Heun3": 1.5}}}}
    m = run_metrics(alg, ana)
    assert (m["cost"], m["cost_unit"], m["error"], m["best_classical_ratio"], m["best_classical"]) == (3, "f-evals/step", 1e-6, 1.5, "Heun3")
    kry = {"kind": "krylov", "stages": 4, "krylov": {"matvecs_per_outer": 4, "factor": {"per_outer": 0.01, "per_matvec": 0.316},
                                                     "factor_ratio": {"per_outer": 2.0}}}
    m = run_metrics({"problem": {"class": "linear"}, "structure": {"stages": 4}, "training": {"final_loss": 1.0}}, kry)
    assert (m["cost"], m["cost_unit"], m["error"], m["best_classical_ratio"]) == (4, "matvecs/iteration", 0.01, 0.5)
    m = run_metrics({"problem": {"class": "nonlinear"}, "structure": {"stages": 2}, "training": {"final_loss": 0.5}}, {"kind": "newton-krylov"})
    assert (m["error"], m["error_metric"], m["cost"]) == (0.5, "final training loss", 2)


def test_add_parser_wires_into_a_cli():
    p = argparse.ArgumentParser(prog="algodiscover")
    sub = p.add_subparsers(dest="command")
    sweep.add_parser(sub)
    args = p.parse_args(["sweep", "s.toml", "--backend", "ray", "--address", "auto", "--max-concurrent", "3", "--resume", "--quiet"])
    assert (args.command, args.spec, args.backend, args.address, args.max_concurrent, args.resume, args.quiet) == \
        ("sweep", "s.toml", "ray", "auto", 3, True, True)
    assert callable(sweep.cmd_sweep)


# ---------------------------------------------------------------------------- limits and CLI conventions
def test_oversized_spec_is_refused_in_one_line_naming_spec_and_count(tmp_path, capsys, monkeypatch):
    body = BASE + "[grid]\nseed = [" + ", ".join(map(str, range(400))) + "]\n[random]\nsamples = 400\n" \
        "'train.lr' = { log_uniform = [0.001, 0.1] }\n"
    spec = _spec(tmp_path, body, name="huge.toml")
    out = tmp_path / "out"
    assert sweep.main([str(spec), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("algodiscover: error: ") and "\n" not in err
    assert str(spec) in err and "160,000 configurations" in err and "10,000" in err and "--max-configs" in err
    assert not out.exists()
    # the spec's own limit, and --max-configs replacing it (the run then stops at the next check: no Ray)
    small = _spec(tmp_path, "[sweep]\nmax_configs = 2\n" + BASE + "[grid]\nseed = [0, 1, 2]\n", name="small.toml")
    assert sweep.main([str(small), "--out", str(out), "--quiet"]) == 2
    assert "3 configurations, more than the limit of 2" in capsys.readouterr().err
    assert len(expand_spec(load_spec(small), max_configs=3)) == 3
    monkeypatch.setitem(sys.modules, "ray", None)
    assert sweep.main([str(small), "--max-configs", "3", "--backend", "ray", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "limit" not in err and "pip install 'algodiscover[distributed]'" in err
    assert not out.exists()


def test_unreachable_ray_address_fails_within_the_timeout_in_one_line(tmp_path, capsys):
    pytest.importorskip("ray", reason="Ray is not installed; Ray backend tests skipped")
    import socket

    with socket.socket() as s:                       # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = _spec(tmp_path, BASE)
    out = tmp_path / "out"
    assert sweep.main([str(spec), "--backend", "ray", "--address", f"127.0.0.1:{port}", "--ray-timeout", "3",
                       "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("algodiscover: error: --address 127.0.0.1:") and "\n" not in err
    assert "cannot reach a Ray cluster there within 3 s" in err
    assert not out.exists()


def test_ray_address_that_never_answers_is_given_up_after_the_timeout(monkeypatch):
    from algodiscover.sweep import backends

    tried = []

    def no_answer(addr, timeout):
        tried.append((addr, timeout))
        raise TimeoutError

    monkeypatch.setattr(backends.socket, "create_connection", no_answer)
    with pytest.raises(InputError, match=r"within 2 s \(no answer\)"):
        sweep.check_ray_address("192.0.2.1:6379", timeout=2.0)
    assert tried and tried[0][0] == ("192.0.2.1", 6379) and 0 < tried[0][1] <= 2.0
    assert backends._ray_targets("ray://192.0.2.1") == [("192.0.2.1", 10001)]
    assert backends._ray_targets("anyscale://cluster") == []


def test_json_output_is_the_summary_and_front_and_nothing_else(tmp_path):
    spec = _spec(tmp_path, """
[sweep]
name = "tiny"
max_concurrent = 1
ensemble = 2
front_reports = false
""" + BASE + """
[grid]
"model.stages" = [1, 2]
""")
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "algodiscover.sweep", str(spec), "--out", str(out), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)                     # stdout is one JSON document and nothing else
    assert "tiny: 2 configurations" in res.stderr      # progress messages went to stderr
    assert data["sweep"] == "tiny" and data["out_dir"] == str(out) and data["report"] == str(out / "report.html")
    assert data["counts"] == {"pending": 0, "running": 0, "done": 2, "diverged": 0, "failed": 0}
    assert data["total"] == 2 and data["ran"] == 2 and data["added"] == 2 and data["reset"] == 0
    rows = _rows(out)
    front = data["front"]
    assert 1 <= len(front) <= 2 and [f["cost"] for f in front] == sorted(f["cost"] for f in front)
    for f in front:
        row = rows[f["config_hash"]]
        assert f["run_dir"] == row["run_dir"] and (out / f["run_dir"] / "algorithm.json").exists()
        assert f["error"] == pytest.approx(row["error"], rel=1e-12) and f["cost"] == row["cost"]
        assert f["cost_unit"] == "f-evals/step" and f["assignment"]["model.stages"] == f["cost"]


def test_help_states_defaults_limits_and_an_example(capsys):
    with pytest.raises(SystemExit) as exc:
        sweep.main(["--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "example: algodiscover sweep" in text
    assert "--json" in text and "--quiet" in text and "output directory (default: ./sweeps/<sweep.name>)" in text
    assert "else 10,000)" in text and "within S seconds (default: 30)" in text


def test_pareto_figure_uses_the_report_figure_style(tmp_path):
    from algodiscover.sweep import render_sweep_html

    def row(i, cost, error):
        return {"config_hash": f"{i:064x}", "run_id": f"{i:016x}", "idx": i, "status": "done", "error": error, "cost": cost,
                "error_metric": "mean one-step error (in distribution)", "cost_unit": "f-evals/step", "run_dir": f"runs/{i:016x}",
                "assignment": json.dumps({"model.stages": cost}), "message": None, "exact_order": None, "personalised_order": None,
                "measured_order": None, "best_classical_ratio": None, "metrics": None, "final_loss": error, "train_s": 0.1}

    rows = [row(1, 1, 1e-3), row(2, 1, 5e-3), row(3, 2, 1e-5), row(4, 3, 2e-5)]
    html = render_sweep_html(rows, name="s", keys=["model.stages"], counts={"done": 4}, base=tmp_path)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'class="figure"' in svg and ">Pareto front<" in svg               # reports.figures export: text as text
    assert "DejaVuSans" not in svg and "<metadata>" not in svg                  # no glyph outlines, no date
    assert 'id="pareto-' in svg and 'href="#pareto-' in svg                     # ids salted per figure
    assert sum(f'xlink:href="runs/{i:016x}/' in svg for i in range(1, 5)) == 4   # every point links to its run


def test_run_directories_get_the_users_umask_not_0700(tmp_path):
    import os
    import stat

    from algodiscover.sweep.runner import _write_run_dir

    old = os.umask(0o022)
    try:
        _write_run_dir(tmp_path / "runs" / "abc", {"algorithm.json": b"{}", "figures/x.pdf": b"%PDF"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "runs" / "abc").stat().st_mode) == 0o755
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]
