"""Ensemble training (algodiscover.ensemble) gives what training each model alone gives.

The claim is exactness: same weights, same loss history, same artefact content hash as
``algodiscover train`` of each configuration (measured tolerance: 0, bit for bit).
"""

from __future__ import annotations

import math
import os
import random

import numpy as np
import pytest
import torch

from algodiscover.config import config_from_mapping
from algodiscover.pipeline import train_algorithm
from algodiscover.ensemble import ensemble_key, group_by_shape, train_ensemble, train_many
from algodiscover.errors import InputError, TrainingDiverged


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    old = os.environ.get("ALGODISCOVER_CACHE")
    os.environ["ALGODISCOVER_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    if old is None:
        os.environ.pop("ALGODISCOVER_CACHE", None)
    else:
        os.environ["ALGODISCOVER_CACHE"] = old


def _cfgs(table, seeds, **extra):
    return [config_from_mapping({**table, "seed": s, **extra}, source="test") for s in seeds]


def _alone(cfgs):
    out = []
    for c in cfgs:
        try:
            out.append(train_algorithm(c, progress=False))
        except (TrainingDiverged, InputError) as exc:
            out.append(exc)
    return out


def _assert_same(ens, ref):
    assert len(ens) == len(ref)
    for a, r in zip(ens, ref):
        if isinstance(r, Exception):
            assert type(a) is type(r) and str(a) == str(r)
            continue
        assert not isinstance(a, Exception), a
        assert a.weights == r.weights                       # bit for bit
        assert a.training == r.training                     # every loss value, phases, counts
        assert a.content_hash == r.content_hash


CASES = {
    # the default loss, Adam then L-BFGS
    "square-2": ({"problem": {"family": "square"}, "model": {"stages": 2},
                  "train": {"adam_steps": 30, "lbfgs_steps": 20}, "ode": {"samples": 48}}, range(5)),
    # two state variables, K = 2 unrolled steps, affine consistency (b_n = 1 - sum)
    "vanderpol-3-outer2-affine": ({"problem": {"family": "vanderpol"}, "model": {"stages": 3, "outer": 2, "consistency": "affine"},
                                   "train": {"adam_steps": 25, "lbfgs_steps": 30}, "ode": {"samples": 24}}, range(4)),
    # softmax weights, the family-specific Taylor regulariser, unnormalised loss
    "square-3-softmax-taylor": ({"problem": {"family": "square"}, "model": {"stages": 3, "consistency": "softmax"},
                                 "train": {"adam_steps": 20, "lbfgs_steps": 25},
                                 "ode": {"samples": 24, "taylor_order": 3, "taylor_mode": "family", "normalise": "none"}}, range(3)),
    # long L-BFGS only: more than 50 memory updates, so the history ring buffer wraps
    "brusselator-3-long-lbfgs": ({"problem": {"family": "brusselator"}, "model": {"stages": 3, "consistency": "affine"},
                                  "train": {"adam_steps": 20, "lbfgs_steps": 120}, "ode": {"samples": 24}}, range(3)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_ensemble_equals_training_each_model_alone(case):
    table, seeds = CASES[case]
    cfgs = _cfgs(table, seeds)
    ens = train_ensemble(cfgs)
    _assert_same(ens, _alone(cfgs))
    assert all(a.timing["ensemble"] == len(cfgs) for a in ens)


def test_divergence_is_decided_per_model_as_alone():
    # divergence_factor 1.5: a model whose loss exceeds 1.5x its first loss is stopped
    table = {"problem": {"family": "square"}, "model": {"stages": 2},
             "train": {"adam_steps": 30, "lbfgs_steps": 10, "lr": 0.05, "divergence_factor": 1.5}, "ode": {"samples": 32}}
    cfgs = _cfgs(table, range(8))
    ref = _alone(cfgs)
    assert 0 < sum(isinstance(r, TrainingDiverged) for r in ref) < len(cfgs)   # some, not all
    _assert_same(train_ensemble(cfgs), ref)


def test_bad_initialisation_fails_only_its_own_configuration():
    table = {"problem": {"family": "linear"}, "model": {"stages": 2},
             "train": {"adam_steps": 10, "lbfgs_steps": 5}, "ode": {"samples": 16}}
    cfgs = _cfgs(table, range(3))
    bad = config_from_mapping({**table, "seed": 7, "model": {"stages": 2, "init": "RK4"}}, source="test")  # RK4 has 4 stages
    out = train_ensemble(cfgs[:1] + [bad] + cfgs[1:])
    assert isinstance(out[1], InputError) and "4 stages" in str(out[1])
    _assert_same([out[0]] + out[2:], _alone(cfgs))


def test_grouping_by_shape_and_train_many():
    base = {"problem": {"family": "square"}, "train": {"adam_steps": 8, "lbfgs_steps": 6}, "ode": {"samples": 16}}
    a = _cfgs({**base, "model": {"stages": 2}}, [0, 1])
    b = _cfgs({**base, "model": {"stages": 2, "init_scale": 0.3}}, [2])           # init may differ inside a group
    c = _cfgs({**base, "model": {"stages": 3}}, [0])
    d = _cfgs({**base, "model": {"stages": 2}, "train": {"adam_steps": 8, "lbfgs_steps": 6, "lr": 0.01}}, [0])
    cfgs = [a[0], c[0], a[1], d[0], b[0]]
    assert ensemble_key(a[0]) == ensemble_key(a[1]) == ensemble_key(b[0])
    assert len({ensemble_key(x) for x in (a[0], c[0], d[0])}) == 3
    assert group_by_shape(cfgs) == [[0, 2, 4], [1], [3]]
    assert ensemble_key(config_from_mapping({"problem": {"class": "linear"}}, source="test")) is None
    _assert_same(train_many(cfgs, max_ensemble=2), _alone(cfgs))
    with pytest.raises(InputError, match="differ in shape"):
        train_ensemble([a[0], c[0]])


def test_line_search_scalars_follow_torch_tensor_semantics():
    """The L-BFGS port computes with Python floats but must round like torch's 0-d tensors
    (``float / tensor`` is ``reciprocal(tensor) * float``); compare on random brackets."""
    from torch.optim.lbfgs import _cubic_interpolate as torch_cubic

    from algodiscover.ensemble import _cubic_interpolate, _Tensorish

    rng = random.Random(5)
    for _ in range(3000):
        x1, x2 = rng.uniform(0, 2) * 10 ** rng.randint(-6, 3), rng.uniform(0, 2) * 10 ** rng.randint(-6, 3)
        f1, f2 = rng.uniform(0, 1) * 10 ** rng.randint(-8, 3), rng.uniform(0, 1) * 10 ** rng.randint(-8, 3)
        g1, g2 = rng.uniform(-1, 1) * 10 ** rng.randint(-8, 5), rng.uniform(-1, 1) * 10 ** rng.randint(-8, 5)
        xt = rng.choice([(False, False), (True, False), (False, True), (True, True)])
        bounds = None if rng.random() < 0.5 else (min(x1, x2), 10 * max(x1, x2))
        T = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
        ref = torch_cubic(T(x1) if xt[0] else x1, f1, T(g1), T(x2) if xt[1] else x2, f2, T(g2), bounds=bounds)
        got = _cubic_interpolate(_Tensorish(x1) if xt[0] else x1, f1, _Tensorish(g1), _Tensorish(x2) if xt[1] else x2, f2,
                                 _Tensorish(g2), bounds=bounds)
        r, g = float(ref), float(got)
        assert (math.isnan(r) and math.isnan(g)) or r == g, (x1, f1, g1, x2, f2, g2, xt, bounds)


def test_weights_round_trip_through_the_artefact():
    cfgs = _cfgs({"problem": {"family": "harmonic"}, "model": {"stages": 2}, "train": {"adam_steps": 10, "lbfgs_steps": 5},
                  "ode": {"samples": 16}}, range(2))
    for alg in train_ensemble(cfgs):
        W = np.asarray(alg.weights["W"])
        assert W.shape == (2, 2) and W[0, 0] == 0 and W[0, 1] == 0 and np.all(np.isfinite(W))
        assert alg.structure["loss"]["samples"] == 16
