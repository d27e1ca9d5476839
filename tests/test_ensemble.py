"""Ensemble training (algodiscover.ensemble) gives what training each model alone gives.

The claim is agreement to a stated tolerance, not bit equality: weights within
``WEIGHT_RTOL`` (relative), the same phase counts (Adam steps, L-BFGS evaluations, final
check) and the same outcome (finished, or the same divergence error). Batched and unbatched
kernels may round differently on other CPUs, so the configurations here are ones whose
training is well-conditioned, and the agreement is also checked with every loss evaluation
of the lone run perturbed by a few ulps (what a different CPU does to it).
"""

from __future__ import annotations

import hashlib
import os
import struct

import numpy as np
import pytest
import tomli_w
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import algodiscover.ode as ode_module
from algodiscover.config import config_from_mapping, load_config
from algodiscover.ensemble import WEIGHT_RTOL, ensemble_key, group_by_shape, train_ensemble, train_many
from algodiscover.pipeline import train_algorithm
from algodiscover.errors import InputError, TrainingDiverged
from algodiscover.lbfgs import LbfgsSettings, lbfgs


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    old = os.environ.get("ALGODISCOVER_CACHE")
    os.environ["ALGODISCOVER_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("ALGODISCOVER_CACHE", None)
    else:
        os.environ["ALGODISCOVER_CACHE"] = old


def _cfgs(table, seeds):
    return [config_from_mapping({**table, "seed": s}, source="test") for s in seeds]


def _alone(cfgs):
    out = []
    for c in cfgs:
        try:
            out.append(train_algorithm(c, progress=False))
        except (TrainingDiverged, InputError) as exc:
            out.append(exc)
    return out


def _weights(alg) -> np.ndarray:
    return np.concatenate([np.ravel(alg.weights["W"]), np.ravel(alg.weights["b"])])


def _assert_agree(got, ref):
    """Same outcome; weights within WEIGHT_RTOL; same phase counts; loss values close."""
    assert len(got) == len(ref)
    for a, r in zip(got, ref):
        if isinstance(r, Exception):
            assert type(a) is type(r) and str(a) == str(r)
            continue
        assert not isinstance(a, Exception), a
        wa, wr = _weights(a), _weights(r)
        assert np.max(np.abs(wa - wr)) <= WEIGHT_RTOL * np.max(np.abs(wr)), (wa, wr)
        for key in ("phases", "adam_steps", "lbfgs_evaluations", "resumed"):
            assert a.training[key] == r.training[key], key
        np.testing.assert_allclose(a.training["loss_history"], r.training["loss_history"], rtol=1e-6, atol=0)
        assert a.training["final_loss"] == pytest.approx(r.training["final_loss"], rel=1e-8)


@pytest.fixture
def perturbed_losses(monkeypatch):
    """Every lone ODE loss (and so its gradient) off by up to 4 ulps, pseudo-randomly per
    evaluation point, as when another CPU rounds differently."""
    original = ode_module.ode_loss

    def ode_loss(model, family, data, cfg):
        loss = original(model, family, data, cfg)

        def perturbed():
            v = loss()
            u = hashlib.blake2b(struct.pack("d", float(v.detach())), digest_size=1).digest()[0] / 127.5 - 1.0
            return v * (1.0 + 4 * 2.0**-52 * u)

        return perturbed

    monkeypatch.setattr(ode_module, "ode_loss", ode_loss)


CASES = {
    # the default loss, Adam then L-BFGS, two state variables
    "harmonic-2": ({"problem": {"family": "harmonic"}, "model": {"stages": 2},
                    "train": {"adam_steps": 30, "lbfgs_steps": 20}, "ode": {"samples": 32}}, range(4)),
    # K = 2 unrolled steps, affine consistency (b_n = 1 - sum)
    "harmonic-2-outer2-affine": ({"problem": {"family": "harmonic"}, "model": {"stages": 2, "outer": 2, "consistency": "affine"},
                                  "train": {"adam_steps": 30, "lbfgs_steps": 20}, "ode": {"samples": 24}}, range(4)),
    # softmax weights
    "linear-2-softmax": ({"problem": {"family": "linear"}, "model": {"stages": 2, "consistency": "softmax"},
                          "train": {"adam_steps": 30, "lbfgs_steps": 20}, "ode": {"samples": 24}}, range(4)),
    # the general Taylor regulariser with the unnormalised loss
    "linear-2-taylor-unnormalised": ({"problem": {"family": "linear"}, "model": {"stages": 2},
                                      "train": {"adam_steps": 30, "lbfgs_steps": 20},
                                      "ode": {"samples": 24, "taylor_order": 2, "normalise": "none"}}, range(4)),
    # 3 stages, the family's own order conditions as regulariser
    "linear-3-taylor-family": ({"problem": {"family": "linear"}, "model": {"stages": 3},
                                "train": {"adam_steps": 30, "lbfgs_steps": 30},
                                "ode": {"samples": 24, "taylor_order": 3, "taylor_mode": "family"}}, range(3)),
    # a nonlinear two-variable family, affine consistency, a longer L-BFGS phase
    "brusselator-2-affine": ({"problem": {"family": "brusselator"}, "model": {"stages": 2, "consistency": "affine"},
                              "train": {"adam_steps": 30, "lbfgs_steps": 30}, "ode": {"samples": 24}}, range(3)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_ensemble_agrees_with_training_each_model_alone(case):
    table, seeds = CASES[case]
    cfgs = _cfgs(table, seeds)
    ens = train_ensemble(cfgs)
    _assert_agree(ens, _alone(cfgs))
    assert all(a.timing["ensemble"] == len(cfgs) for a in ens)
    assert all(a.training["phases"][1][0] == "lbfgs" and a.training["phases"][-1] == ["final", 1] for a in ens)


@pytest.mark.parametrize("case", ["harmonic-2", "linear-3-taylor-family"])
def test_agreement_survives_rounding_differences(case, perturbed_losses):
    table, seeds = CASES[case]
    cfgs = _cfgs(table, seeds)
    _assert_agree(train_ensemble(cfgs), _alone(cfgs))


def test_divergence_is_decided_per_model_as_alone():
    # divergence_factor 1.5: a model whose loss exceeds 1.5x its first loss is stopped
    table = {"problem": {"family": "square"}, "model": {"stages": 2},
             "train": {"adam_steps": 30, "lbfgs_steps": 10, "lr": 0.05, "divergence_factor": 1.5}, "ode": {"samples": 32}}
    cfgs = _cfgs(table, range(8))
    ref = _alone(cfgs)
    assert 0 < sum(isinstance(r, TrainingDiverged) for r in ref) < len(cfgs)   # some, not all
    _assert_agree(train_ensemble(cfgs), ref)


def test_bad_initialisation_fails_only_its_own_configuration():
    table = {"problem": {"family": "linear"}, "model": {"stages": 2},
             "train": {"adam_steps": 10, "lbfgs_steps": 5}, "ode": {"samples": 16}}
    cfgs = _cfgs(table, range(3))
    bad = config_from_mapping({**table, "seed": 7, "model": {"stages": 2, "init": "RK4"}}, source="test")  # RK4 has 4 stages
    out = train_ensemble(cfgs[:1] + [bad] + cfgs[1:])
    assert isinstance(out[1], InputError) and "4 stages" in str(out[1])
    _assert_agree([out[0]] + out[2:], _alone(cfgs))


def test_grouping_by_shape_and_train_many():
    base = {"problem": {"family": "harmonic"}, "train": {"adam_steps": 8, "lbfgs_steps": 6}, "ode": {"samples": 16}}
    a = _cfgs({**base, "model": {"stages": 2}}, [0, 1])
    b = _cfgs({**base, "model": {"stages": 2, "init_scale": 0.3}}, [2])           # init may differ inside a group
    c = _cfgs({**base, "model": {"stages": 3}}, [0])
    d = _cfgs({**base, "model": {"stages": 2}, "train": {"adam_steps": 8, "lbfgs_steps": 6, "lr": 0.01}}, [0])
    cfgs = [a[0], c[0], a[1], d[0], b[0]]
    assert ensemble_key(a[0]) == ensemble_key(a[1]) == ensemble_key(b[0])
    assert len({ensemble_key(x) for x in (a[0], c[0], d[0])}) == 3
    assert group_by_shape(cfgs) == [[0, 2, 4], [1], [3]]
    assert ensemble_key(config_from_mapping({"problem": {"class": "linear"}}, source="test")) is None
    _assert_agree(train_many(cfgs, max_ensemble=2), _alone(cfgs))
    with pytest.raises(InputError, match="differ in shape"):
        train_ensemble([a[0], c[0]])
    with pytest.raises(InputError, match="max_ensemble"):
        train_many(cfgs, max_ensemble=0)


def test_sweep_runs_reproduce_from_their_own_config_toml(tmp_path):
    """Issue 11: a sweep trains same-shape runs as ensembles; each run directory's
    config.toml (the resolved configuration) must retrain alone to the same weights."""
    base = {"problem": {"class": "ode", "family": "harmonic"}, "model": {"stages": 2},
            "train": {"adam_steps": 30, "lbfgs_steps": 20}, "ode": {"samples": 32}}
    cfgs = [config_from_mapping({**base, "seed": s, "train": {**base["train"], "lr": lr}, "name": f"sweep-{s}-{lr}"}, source="sweep")
            for s in range(4) for lr in (0.02, 0.05)]
    assert [len(g) for g in group_by_shape(cfgs)] == [4, 4]       # one ensemble per learning rate
    trained = train_many(cfgs)
    for i in (0, 3, 6):
        path = tmp_path / f"run{i}" / "config.toml"
        path.parent.mkdir()
        path.write_text(tomli_w.dumps(cfgs[i].to_toml_dict()), encoding="utf-8")   # what a run directory holds
        again = load_config(path)
        assert again.to_json() == cfgs[i].to_json()
        _assert_agree([trained[i]], _alone([again]))
        assert trained[i].timing["ensemble"] == 4


def test_weights_round_trip_through_the_artefact():
    cfgs = _cfgs({"problem": {"family": "harmonic"}, "model": {"stages": 2}, "train": {"adam_steps": 10, "lbfgs_steps": 5},
                  "ode": {"samples": 16}}, range(2))
    for alg in train_ensemble(cfgs):
        W = np.asarray(alg.weights["W"])
        assert W.shape == (2, 2) and W[0, 0] == 0 and W[0, 1] == 0 and np.all(np.isfinite(W))
        assert alg.structure["loss"]["samples"] == 16
        assert alg.content_hash.startswith("sha256:")


# ----------------------------------------------------------------------------- batched L-BFGS
def _quartic(A: torch.Tensor, c: torch.Tensor, scale: float = 1.0):
    """Rows of f(x) = 1/2 x'Ax - c'x + 1/4 sum x^4 (strictly convex), loss and gradient."""
    def evaluate(X, rows):
        Ar, cr = A[rows], c[rows]
        Ax = torch.einsum("rij,rj->ri", Ar, X)
        f = 0.5 * (X * Ax).sum(1) - (cr * X).sum(1) + 0.25 * (X ** 4).sum(1)
        return f * scale, (Ax - cr + X ** 3) * scale
    return evaluate


@settings(max_examples=25, deadline=None)
@given(M=st.integers(1, 5), P=st.integers(1, 6), seed=st.integers(0, 2**31 - 1), steps=st.integers(1, 40))
def test_batched_lbfgs_runs_each_row_as_alone(M, P, seed, steps):
    """Row m of an M-row minimisation is the minimisation of row m alone (same iterations
    and evaluations, same minimiser to the tolerance), also when the lone run's losses are
    off by an ulp."""
    gen = torch.Generator().manual_seed(seed)
    Q = torch.linalg.qr(torch.randn(M, P, P, generator=gen, dtype=torch.float64))[0]
    eig = torch.rand(M, P, generator=gen, dtype=torch.float64) * 9 + 1                  # condition <= 10
    A = Q @ torch.diag_embed(eig) @ Q.transpose(1, 2)
    c = torch.randn(M, P, generator=gen, dtype=torch.float64)
    x0 = torch.randn(M, P, generator=gen, dtype=torch.float64)
    settings_ = LbfgsSettings.for_steps(steps)
    together = lbfgs(_quartic(A, c), x0, settings_)
    assert all(i <= steps for i in together.iterations) and all(e <= settings_.max_eval for e in together.evaluations)
    for m in range(M):
        alone = lbfgs(_quartic(A[m:m + 1], c[m:m + 1], 1.0 + 2.0**-52), x0[m:m + 1], settings_)
        assert alone.iterations == [together.iterations[m]] and alone.evaluations == [together.evaluations[m]]
        scale = float(alone.x.abs().max())
        assert float((alone.x[0] - together.x[m]).abs().max()) <= WEIGHT_RTOL * scale
    # the stationarity condition of the minimiser is met (all runs long enough converge)
    if steps >= 30:
        _, g = _quartic(A, c)(together.x, torch.arange(M))
        assert float(g.abs().max()) < 1e-4


def test_lbfgs_stops_on_non_finite_start_and_keeps_descent():
    def evaluate(X, rows):
        f = (X ** 2).sum(1)
        f = torch.where(rows == 1, torch.full_like(f, float("nan")), f)
        return f, 2 * X
    x0 = torch.tensor([[3.0, -4.0], [1.0, 1.0]], dtype=torch.float64)
    res = lbfgs(evaluate, x0, LbfgsSettings.for_steps(20))
    assert res.evaluations[1] == 1 and torch.equal(res.x[1], x0[1])    # nothing to do from a NaN start
    assert float(res.f[0]) < 1e-20 and res.iterations[0] <= 3          # a quadratic: done in a step or two
