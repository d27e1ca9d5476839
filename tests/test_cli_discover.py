"""The discover/train/analyze commands: defaults, overrides, bad input."""

import json

import pytest

from algodiscover.cli import main


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALGODISCOVER_CACHE", str(tmp_path / "cache"))


def test_discover_default_writes_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["discover", "--out", str(out), "--format", "none", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "personalised order 3 on square" in text and "3/4  1/4" in text
    for name in ("algorithm.json", "analysis.json", "config.toml"):
        assert (out / name).exists()
    d = json.loads((out / "analysis.json").read_text())
    for key in ("kind", "order", "tol", "residuals", "rational", "exact_order", "identified_as", "personalised_order", "measured_order"):
        assert key in d
    assert d["provenance"]["command"] == "algodiscover discover ode"
    # issue 13: every learned-vs-classical ratio carries its 95% bootstrap interval and instance count
    for key in ("comparison", "comparison_learned"):
        comp = d.get(key)
        if comp is None:
            continue
        assert comp["n_instances"] >= 2000
        for setting, ratios in comp["ratios"].items():
            for name, r in ratios.items():
                lo, hi = comp["ci95"][setting][name]
                assert lo <= r <= hi, (setting, name)
                verdict = comp["verdicts"][setting][name]
                assert verdict == ("no significant difference" if lo <= 1 <= hi else
                                   "reference more accurate" if lo > 1 else "reference less accurate")
    assert d["training_verdict"]["status"] == "ok"
    # train + analyze separately give the same analysis
    assert main(["train", "--out", str(tmp_path / "t"), "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert json.loads((tmp_path / "t" / "algorithm.json").read_text())["weights"] == json.loads((out / "algorithm.json").read_text())["weights"]
    assert main(["analyze", str(tmp_path / "t" / "algorithm.json"), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["rational"] == d["rational"] and again["personalised_order"] == 3


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["discover", "--family", "nope"], "unknown ODE family 'nope'"),
        (["discover", "--stages", "0"], "--stages: must be >= 1"),
        (["discover", "--stages", "x"], "--stages: expected a whole number"),
        (["discover", "--format", "docx"], "unknown format 'docx'"),
        (["discover", "quantum"], "invalid choice: 'quantum'"),
        (["analyze", "/nonexistent/algorithm.json"], "no such file"),
        (["report", "/nonexistent/run"], "no such run directory"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, fragment, capsys, tmp_path):
    try:
        code = main(args + ["--out", str(tmp_path / "o")] if args[0] == "discover" else args)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ("[model]\nstagez = 3\n", "unknown key model.'stagez'"),
        ("[ode]\ndistill_objective = \"prettiest\"\n", "ode.distill_objective must be one of nearest, principal-error"),
        ("[model]\nstages = 0\n", "model.stages must be an integer in 1..16"),
        ("[train]\nlr = -1\n", "train.lr must be a positive number"),
        ("[ode]\ntaylor_mode = 'sideways'\n", "ode.taylor_mode"),
        ("[ode]\nwhatever = 1\n", "unknown key ode.'whatever'"),
        ("[problem]\nclass = 'ode'\n[linear]\nsize = 3\n", "section [linear] does not apply"),
        ("[model\nstages = 2\n", "malformed TOML"),
        ("seed = -3\n", "seed must be an integer >= 0"),
        ("[problem]\nfamily = 'custom'\n", "needs a [family] table"),
        ("[problem]\nfamily = 'custom'\n[family]\nname = 'f'\nstate = ['y']\nrhs = ['k*y']\n", "unknown name 'k'"),
    ],
)
def test_malformed_config_exits_2_naming_the_key(toml, fragment, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    code = main(["discover", "--config", str(cfg), "--out", str(tmp_path / "o"), "--format", "none", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and str(cfg) in err or (code == 2 and fragment in err), err
    assert len(err.strip().splitlines()) == 1


def test_custom_family_from_config(tmp_path, capsys):
    cfg = tmp_path / "logistic.toml"
    cfg.write_text(
        'seed = 1\n[problem]\nfamily = "custom"\n[model]\nstages = 2\n[train]\nadam_steps = 100\nlbfgs_steps = 50\n'
        '[family]\nname = "logistic"\nstate = ["y"]\nrhs = ["r*y*(1 - y)"]\nparams = { r = [0.5, 2.0] }\nstate_ranges = { y = [0.1, 0.9] }\n'
    )
    assert main(["discover", "--config", str(cfg), "--out", str(tmp_path / "o"), "--format", "none", "--quiet"]) == 0
    d = json.loads((tmp_path / "o" / "analysis.json").read_text())
    assert d["family"]["name"] == "logistic" and d["exact_order"] >= 2
    # the saved config reproduces the run bit for bit
    assert main(["discover", "--config", str(tmp_path / "o" / "config.toml"), "--out", str(tmp_path / "o2"), "--format", "none", "--quiet"]) == 0
    a1 = json.loads((tmp_path / "o" / "algorithm.json").read_text())
    a2 = json.loads((tmp_path / "o2" / "algorithm.json").read_text())
    assert a1["content_hash"] == a2["content_hash"]


def test_families_and_methods_listings(capsys):
    assert main(["families"]) == 0
    out = capsys.readouterr().out
    for name in ("square", "vanderpol", "brusselator", "lotkavolterra", "harmonic", "linear"):
        assert name in out
    assert main(["methods"]) == 0
    assert "DormandPrince5(4)" in capsys.readouterr().out


def test_garbage_training_warns_and_exits_1(tmp_path, capsys):
    """lr = 50 without L-BFGS leaves inconsistent weights: a warning, exit code 1 from discover,
    train and analyze, and a report whose prose says so without None or n/a."""
    cfg = tmp_path / "lr50.toml"
    cfg.write_text("[train]\nlr = 50.0\nlbfgs_steps = 0\n")
    out = tmp_path / "g"
    code = main(["discover", "--config", str(cfg), "--out", str(out), "--format", "html", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    warn = [ln for ln in err.splitlines() if ln.startswith("algodiscover: warning: training did not produce a usable integrator")]
    assert len(warn) == 1, err
    d = json.loads((out / "analysis.json").read_text())
    assert d["training_verdict"]["status"] in ("inconsistent", "worse than Euler")
    import html as _html
    import re

    prose = _html.unescape(re.sub(r"<[^>]+>", " ", (out / "report.html").read_text()))
    assert "Training did not produce a usable integrator" in prose
    assert " None" not in prose and "n/a" not in prose
    assert main(["analyze", str(out / "algorithm.json"), "--json"]) == 1
    capsys.readouterr()
    # train alone warns (from the weights' sum); analyze gives the verdict and the exit code
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "t"), "--quiet"]) == 0
    if not d["training_verdict"]["consistent"]:
        assert "algodiscover: warning: training did not produce a usable integrator" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "t" / "algorithm.json"), "--format", "none", "--quiet"]) == 1
