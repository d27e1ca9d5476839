"""R2N2 with memory learns multistep methods (issue 16, ODEs): the model and its start-up
rules, the configuration, the trajectory loss, the artefact of kind "multistep", and the
learning goal: a one-stage memory-1 R2N2 on the linear family is identified as AB2."""

from __future__ import annotations

import json
import shutil

import jsonschema
import numpy as np
import pytest
import torch

from algodiscover.analysis.memory import CLASSICAL_LMM
from algodiscover.analysis.numbers import parse_entry
from algodiscover.analysis.multistep import multistep_from_lmm, multistep_integrate
from algodiscover.analysis.schema import AnalysisView, analysis_schema
from algodiscover.artefact import LearnedAlgorithm
from algodiscover.config import config_from_mapping, default_config
from algodiscover.ensemble import ensemble_key
from algodiscover.errors import InputError
from algodiscover.memory import MemoryHistory, MemoryWeights, classical_start, memory_increment
from algodiscover.model import R2N2, tree_residuals
from algodiscover.ode import analyze_run, train_run
from algodiscover.ode_families import get_ode_family

#: main's weights for the default configuration (``algodiscover discover`` with no
#: arguments), measured on main before memory existed.
MAIN_DEFAULT_WEIGHTS = {"W": [[0.0, 0.0], [1.8199880536502786, 0.0]], "b": [0.7257464080632502, 0.2742477497233632]}

VALIDATOR = jsonschema.Draft202012Validator(analysis_schema())

#: The documented example: one stage, memory 1, Adams form (only past evaluations), on y' = -a y.
AB2_EXAMPLE = {"problem": {"class": "ode", "family": "linear"},
               "model": {"stages": 1, "outer": 8, "memory": 1, "memory_form": "adams"}}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALGODISCOVER_CACHE", str(tmp_path / "cache"))


def _batch(family: str = "vanderpol", n: int = 16, seed: int = 2):
    fam = get_ode_family(family)
    smp = fam.spec.sample(n, seed)
    return fam, smp, torch.tensor(smp.params), torch.tensor(smp.y0), torch.tensor(smp.h)


# ------------------------------------------------------------------ memory 0 is the R2N2 it was
def test_default_run_without_memory_is_what_main_gives():
    cfg = default_config("ode")
    d = cfg.to_json()["model"]
    assert cfg.model.memory == 0 and not {"memory", "memory_form", "startup"} & set(d)
    alg = train_run(cfg, progress=False)
    for key in ("W", "b"):
        assert np.max(np.abs(np.array(alg.weights[key]) - np.array(MAIN_DEFAULT_WEIGHTS[key]))) <= 1e-12
    assert alg.kind == "runge-kutta" and set(alg.weights) == {"W", "b"} and "memory" not in alg.structure


def test_memory_zero_model_has_no_memory_parameters_and_steps_as_before():
    fam, smp, P, Y, H = _batch()
    m0 = R2N2(3, 4, seed=7, init_scale=0.3)
    assert [n for n, _ in m0.named_parameters()] == ["w_raw", "b_raw"] and m0.memory_depth == 0
    x = Y
    for _ in range(4):
        x = m0.step(fam.torch_rhs(P), x, H)
    assert float((m0(fam.torch_rhs(P), Y, H) - x).detach().abs().max()) <= 1e-15
    m1 = R2N2(3, 4, seed=7, init_scale=0.3, memory=2)   # the same seed draws the same W, b
    assert torch.equal(m1.w_raw, m0.w_raw) and torch.equal(m1.b_raw, m0.b_raw)
    with pytest.raises(ValueError, match="start values apply to a model with memory"):
        m0(fam.torch_rhs(P), Y, H, start=[Y])


# ------------------------------------------------------------------ the memory update
def test_memory_increment_is_the_formula():
    torch.manual_seed(0)
    w = MemoryWeights(2, 2, "full", betas=[0.3, -0.2], gammas=[[0.1, 0.4], [-0.5, 0.25]])
    hist = MemoryHistory(2)
    xs = [torch.randn(3, 2, dtype=torch.float64) for _ in range(3)]
    vs = [[torch.randn(3, 2, dtype=torch.float64) for _ in range(2)] for _ in range(2)]
    hist.start(xs[0])
    assert not hist.full
    hist.push(vs[0], xs[1])
    hist.push(vs[1], xs[2])
    h = torch.tensor(0.1, dtype=torch.float64)
    expect = (0.3 * (xs[2] - xs[1]) + h * (0.1 * vs[1][0] + 0.4 * vs[1][1])
              + -0.2 * (xs[1] - xs[0]) + h * (-0.5 * vs[0][0] + 0.25 * vs[0][1]))
    assert float((memory_increment(w, hist, h) - expect).detach().abs().max()) <= 1e-15
    adams = MemoryWeights(1, 1, "adams")
    momentum = MemoryWeights(1, 1, "momentum")
    assert [n for n, _ in adams.named_parameters()] == ["gamma"] and [n for n, _ in momentum.named_parameters()] == ["beta"]
    with pytest.raises(InputError, match="form 'adams' has beta = 0"):
        MemoryWeights(1, 1, "adams", betas=[0.5])


@pytest.mark.parametrize("form, trained", [("full", {"memory.beta", "memory.gamma"}), ("adams", {"memory.gamma"}), ("momentum", {"memory.beta"})])
def test_memory_weights_get_gradients(form, trained):
    fam, smp, P, Y, H = _batch()
    m = R2N2(2, 5, seed=3, init_scale=0.3, memory=2, memory_form=form)
    with torch.no_grad():
        if form != "adams":
            m.memory.beta.copy_(torch.tensor([0.1, -0.05], dtype=torch.float64))
        if form != "momentum":
            m.memory.gamma.copy_(torch.tensor([[0.1, -0.2], [0.05, 0.02]], dtype=torch.float64))
    xs = m(fam.torch_rhs(P), Y, H, return_all=True)
    (xs[-1] ** 2).sum().backward()
    named = dict(m.named_parameters())
    assert set(named) == {"w_raw", "b_raw"} | trained
    for name, p in named.items():
        assert p.grad is not None and torch.all(p.grad != 0), name
    m.zero_grad()
    (tree_residuals(m, 3) ** 2).sum().backward()   # the Taylor regulariser reaches the memory weights too
    for name in trained:
        assert torch.all(named[name].grad != 0), name


# ------------------------------------------------------------------ AB2 and AB3 inside the model
@pytest.mark.parametrize("family", ["linear", "vanderpol"])
def test_one_stage_memory_one_model_at_ab2_takes_ab2_steps(family):
    fam, smp, P, Y, H = _batch(family)
    f = fam.torch_rhs(P)
    m = R2N2(1, 12, init="AB2", memory=1)
    assert float(m.b()[0].detach()) == 1.5 and float(m.memory.gamma[0, 0].detach()) == -0.5 and float(m.memory.beta[0].detach()) == 0.0
    y1 = torch.tensor(fam.spec.flow(smp.y0, smp.params, smp.h))
    xs = m(f, Y, H, return_all=True, start=[y1])
    h = H.reshape(-1, 1)
    prev, cur = Y, y1
    for k in range(1, 12):
        prev, cur = cur, cur + h * (1.5 * f(cur) - 0.5 * f(prev))
        scale = max(1.0, float(cur.abs().max()))
        assert float((xs[k] - cur).detach().abs().max()) <= 1e-14 * scale
    # the same steps on the analysis side (numpy integrator, exact start values)
    ref = multistep_integrate(multistep_from_lmm(CLASSICAL_LMM["AB2"]), lambda Z: fam.spec.numpy_rhs(Z, smp.params), smp.y0, smp.h, 12,
                              startup="exact", start_values=[y1.numpy()])
    assert np.max(np.abs(xs[-1].detach().numpy() - ref)) <= 1e-13


def test_ab3_start_up_rules_match_the_analysis_integrator():
    fam, smp, P, Y, H = _batch("vanderpol")
    f = fam.torch_rhs(P)
    m = R2N2(1, 10, init="AB3", memory=2)
    g = lambda Z: fam.spec.numpy_rhs(Z, smp.params)  # noqa: E731
    ms = multistep_from_lmm(CLASSICAL_LMM["AB3"])
    start = classical_start(f, Y, H.reshape(-1, 1), 2)
    x = m(f, Y, H, start=start)
    assert np.max(np.abs(x.detach().numpy() - multistep_integrate(ms, g, smp.y0, smp.h, 10, startup="rk4"))) <= 1e-13
    x = m(f, Y, H)   # rule "rk": plain steps with the model's own b = 23/12
    assert np.max(np.abs(x.detach().numpy() - multistep_integrate(ms, g, smp.y0, smp.h, 10, startup="rk"))) <= 1e-13
    with pytest.raises(InputError, match="needs stages = 1 and memory = 2"):
        R2N2(1, 4, init="AB3", memory=1)


# ------------------------------------------------------------------ configuration
def test_configuration_of_memory_and_its_errors():
    cfg = config_from_mapping(AB2_EXAMPLE)
    d = cfg.to_json()["model"]
    assert (d["memory"], d["memory_form"], d["startup"]) == (1, "adams", "rk4") and ensemble_key(cfg) is None
    assert config_from_mapping(cfg.to_toml_dict()).to_json() == cfg.to_json()
    bad = [({"model": {"memory": 2, "outer": 2}}, "model.outer must be at least model.memory \\+ 1 = 3"),
           ({"model": {"memory": 1, "outer": 3, "startup": "euler"}}, "model.startup must be one of rk, rk4, exact"),
           ({"model": {"memory": 1, "outer": 3, "memory_form": "anderson"}}, "model.memory_form must be one of full, adams, momentum"),
           ({"model": {"memory": 9, "outer": 12}}, "model.memory must be an integer in 0..8"),
           ({"model": {"memory": 1, "outer": 3, "derivatives": "g"}}, "cannot be combined"),
           ({"problem": {"class": "linear", "family": "spd"}, "model": {"memory": 1, "outer": 3, "startup": "rk4"}},
            "model.startup = 'rk4' applies to ODEs")]
    for mapping, msg in bad:
        with pytest.raises(InputError, match=msg):
            config_from_mapping(mapping)
    with pytest.raises(InputError, match="--outer must be at least"):
        cfg.with_overrides(outer=1)


def test_bad_memory_config_is_one_line_exit_2(tmp_path, capsys):
    from algodiscover.cli import main

    p = tmp_path / "c.toml"
    p.write_text('[model]\nmemory = 2\nouter = 2\n')
    assert main(["train", "--config", str(p), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("algodiscover: error: ") and "model.outer must be at least" in err[0]


# ------------------------------------------------------------------ training and the learning goal
def _quick(mapping: dict, **train) -> dict:
    m = json.loads(json.dumps(mapping))
    m["train"] = {"adam_steps": 150, "lbfgs_steps": 100, **train}
    m.setdefault("ode", {})["samples"] = 128
    return m


def test_learned_one_stage_memory_one_method_is_identified_as_ab2():
    """The learning goal in a fast configuration: the Adams form on y' = -a y distils to AB2."""
    alg = train_run(config_from_mapping(_quick(AB2_EXAMPLE)), progress=False)
    assert alg.kind == "multistep" and alg.default_name == "R2N2-1m1-linear"
    w = alg.weights
    assert w["betas"] == [0.0] and abs(w["b"][0] - 1.5) < 0.15 and abs(w["gammas"][0][0] + 0.5) < 0.15
    doc = json.loads(json.dumps(analyze_run(alg).to_json(), allow_nan=False))
    doc["algorithm_hash"] = alg.content_hash
    assert not [e.message for e in VALIDATOR.iter_errors(doc)]
    a = AnalysisView.read(doc)
    assert a.identified_as == "AB2" and a.exact_order == 2 and a.rational.b == ("3/2",) and a.rational.gammas == (("-1/2",),)
    assert a.measured_order == pytest.approx(2.0, abs=0.05) and a.multistep_section.zero_stability.strongly
    assert a.structure.memory == 1 and a.structure.startup == "rk4"


def test_artefact_round_trip_and_bad_memory_weights(tmp_path):
    alg = train_run(config_from_mapping(_quick(AB2_EXAMPLE, adam_steps=20, lbfgs_steps=0)), progress=False)
    p = alg.save(tmp_path / "algorithm.json")
    back = LearnedAlgorithm.load(p)
    assert back.to_dict() == alg.to_dict() and back.integrity == "verified"
    assert back.multistep_method().memory == 1
    data = json.loads(p.read_text())
    data["weights"]["gammas"] = [[0.1, 0.2]]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.warns(Warning):
        with pytest.raises(InputError, match="memory weights have the wrong shape for memory 1 and 1 stages"):
            LearnedAlgorithm.load(tmp_path / "bad.json")


def test_discover_writes_a_multistep_report(tmp_path, capsys):
    from algodiscover.cli import main

    p = tmp_path / "ab2.toml"
    p.write_text('[problem]\nclass = "ode"\nfamily = "linear"\n[model]\nstages = 1\nouter = 8\nmemory = 1\nmemory_form = "adams"\n'
                 '[train]\nadam_steps = 150\nlbfgs_steps = 100\n[ode]\nsamples = 128\n')
    assert main(["discover", "--config", str(p), "--out", str(tmp_path / "run"), "--quiet", "--format", "html,tex"]) == 0
    out = capsys.readouterr().out
    assert "identified as: AB2" in out and "y_{n+1} = y_n + h (3/2 f_n - 1/2 f_{n-1})" in out
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    for needle in ("Linear multistep form", "Zero-stability", "Measured global order", "Accuracy at equal cost", "AB2"):
        assert needle in html, needle
    tex = (tmp_path / "run" / "report.tex").read_text(encoding="utf-8")
    assert "\\section{" in tex and "Zero-stability" in tex
    doc = json.loads((tmp_path / "run" / "analysis.json").read_text(encoding="utf-8"))
    assert not [e.message for e in VALIDATOR.iter_errors(doc)] and doc["kind"] == "multistep"
    figs = {p.name for p in (tmp_path / "run" / "figures").iterdir()}
    assert {"ms_stability.pdf", "ms_order.pdf", "ms_equal_cost.pdf", "training.pdf"} <= figs
    if shutil.which("pdflatex"):
        from algodiscover.reports import render_run

        files = render_run(doc, tmp_path / "pdf", formats=("pdf",))
        pdf = next(p for p in files if p.name == "report.pdf")
        assert pdf.read_bytes().startswith(b"%PDF")


def test_what_training_finds_over_seeds_with_the_default_budget():
    """The documented example over three seeds (Adams form: AB2 every time), Adams memory 2
    (AB3), and the full form (betas learned too), which does *not* learn AB2: its distilled
    method is a zero-stable order-2 two-step method with beta_1 < 0 (smaller error constant
    than AB2's 5/12), more accurate than AB2 at equal cost in distribution. (About 12 s.)"""
    for seed in range(3):
        a = analyze_run(train_run(config_from_mapping({**AB2_EXAMPLE, "seed": seed}), progress=False)).to_json()
        assert a["identified_as"] == "AB2", seed
    ab3 = {"problem": {"class": "ode", "family": "linear"}, "model": {"stages": 1, "outer": 8, "memory": 2, "memory_form": "adams"}}
    a = analyze_run(train_run(config_from_mapping(ab3), progress=False)).to_json()
    assert a["identified_as"] == "AB3" and a["exact_order"] == 3
    full = {"problem": {"class": "ode", "family": "linear"}, "model": {"stages": 1, "outer": 32, "memory": 1}}
    a = analyze_run(train_run(config_from_mapping(full), progress=False)).to_json()
    ms = a["multistep"]
    beta = float(parse_entry(ms["lmm"]["alpha"][0]))   # alpha_0 = beta_1 for memory 1
    assert a["exact_order"] == 2 and a["identified_as"] is None and -1 < beta < 0 and ms["zero_stability"]["strongly"]
    assert ms["equal_cost"]["ratios"]["in_distribution"]["AB2"][-1]["low"] > 1
