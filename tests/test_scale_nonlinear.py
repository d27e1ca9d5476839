"""Nonlinear runs at the size of PDE problems (issue 17): the matrix-free spectrum estimate
agrees with the dense eigenvalues, the automatic counts at large m, and (slow) a whole
hequation discover at m = 10^4 under a memory bound."""

from __future__ import annotations

import math
import resource
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algodiscover.analysis.spectrum import arnoldi_extremes
from algodiscover.errors import InputError
from algodiscover.nonlinear import NonlinearSolver
from algodiscover.nonlinear_comparison import MATRIX_FREE_SIZE, linearisation
from algodiscover.nonlinear_families import get_nonlinear_family
from algodiscover.options import NONLINEAR_LARGE_SIZE, NonlinearTrainingConfig

# a 2-evaluation derivative-free iteration: x <- x + h (b1 f1 + b2 f2), f2 at x + h w21 f1
SOLVER = NonlinearSolver("derivative-free", [[0.0, 0.0], [0.5, 0.0]], [0.3, 0.7], 0.9)


def test_arnoldi_extremes_match_dense_eigenvalues_nonsymmetric() -> None:
    rng = np.random.default_rng(3)
    n = 300
    A = np.diag(np.linspace(1.0, 5.0, n)) + 0.01 * rng.standard_normal((n, n))
    ev = np.linalg.eigvals(A)
    r = arnoldi_extremes(lambda v: A @ v, n)
    assert not r["symmetric"] and r["converged"]
    est = r["eigenvalues"]
    # the extreme real parts to 1e-6 relative (ARPACK tol 1e-8)
    assert abs(np.min(est.real) - np.min(ev.real)) <= 1e-6 * abs(np.min(ev.real))
    assert abs(np.max(est.real) - np.max(ev.real)) <= 1e-6 * abs(np.max(ev.real))
    assert r["matvecs"] < 20 * n  # far fewer products than a dense matrix of n columns costs in flops


def test_arnoldi_extremes_symmetric_uses_lanczos() -> None:
    n = 400
    lam = np.linspace(0.1, 9.0, n)
    r = arnoldi_extremes(lambda v: lam * v, n)
    assert r["symmetric"] and r["converged"]
    assert abs(r["eigenvalues"].min() - 0.1) <= 1e-7 and abs(r["eigenvalues"].max() - 9.0) <= 1e-7


@settings(max_examples=15, deadline=None)
@given(n=st.integers(30, 200), seed=st.integers(0, 10_000), symmetric=st.booleans())
def test_arnoldi_extremes_find_the_extreme_real_parts(n: int, seed: int, symmetric: bool) -> None:
    """Property: for a diagonal matrix (symmetric) or one with a small strictly upper part (not
    normal) and real eigenvalues in [-3, 5], the estimate's extreme real parts are the
    eigenvalues' to 1e-6 of the spread."""
    rng = np.random.default_rng(seed)
    lam = rng.uniform(-3.0, 5.0, n)
    A = np.diag(lam) + (0.0 if symmetric else np.triu(0.05 * rng.standard_normal((n, n)) / np.sqrt(n), 1))
    r = arnoldi_extremes(lambda v: A @ v, n)
    spread = lam.max() - lam.min()
    est = np.asarray(r["eigenvalues"]).real
    assert r["symmetric"] == symmetric
    assert abs(est.min() - lam.min()) <= 1e-6 * spread and abs(est.max() - lam.max()) <= 1e-6 * spread


@pytest.mark.parametrize("name,size", [("hequation", 400), ("bratu2d", 20)])
def test_matrix_free_linearisation_agrees_with_dense(name: str, size: int) -> None:
    """At a moderate size forced through the matrix-free path: the spectrum's hull and the
    local factors agree with the dense eigenvalues to 1e-6 relative."""
    fam = get_nonlinear_family(name, size)
    dense = linearisation(SOLVER, fam, instances=3, seed=1, matrix_free=False)
    free = linearisation(SOLVER, fam, instances=3, seed=1, matrix_free=True)
    assert "spectrum_estimate" not in dense and free["spectrum_estimate"]["estimate"] is True
    assert free["spectrum_estimate"]["converged"]
    assert free["spectrum"]["exact_interval"] is False and dense["spectrum"]["exact_interval"] is True
    for a, b in zip(dense["spectrum"]["interval"], free["spectrum"]["interval"]):
        assert abs(a - b) <= 1e-6 * max(1.0, abs(a))
    assert np.allclose(dense["per_instance_rates"], free["per_instance_rates"], rtol=1e-6, atol=1e-9)
    assert math.isclose(dense["factor"]["per_outer"], free["factor"]["per_outer"], rel_tol=1e-6)
    assert free["instances"] == dense["instances"] == 3


def test_matrix_free_linearisation_of_a_memory_iteration_agrees_with_dense() -> None:
    """With memory (the companion-matrix rate per eigenvalue) the matrix-free rates on the
    estimated hull agree with those on the dense eigenvalues to 1e-9 relative (hequation m = 400)."""
    mem = NonlinearSolver("derivative-free", [[0.0, 0.0], [0.5, 0.0]], [0.3, 0.7], 0.9, betas=[0.2], gammas=[[0.05, -0.02]])
    fam = get_nonlinear_family("hequation", 400)
    dense = linearisation(mem, fam, instances=3, seed=1, matrix_free=False)
    free = linearisation(mem, fam, instances=3, seed=1, matrix_free=True)
    assert np.allclose(dense["per_instance_rates"], free["per_instance_rates"], rtol=1e-9)
    assert math.isclose(dense["factor"]["per_outer"], free["factor"]["per_outer"], rel_tol=1e-9)
    assert free["memory_recurrence"] == dense["memory_recurrence"]


def test_effective_counts_scale_only_above_the_threshold() -> None:
    opts = NonlinearTrainingConfig()
    assert opts.effective(100) == (opts, None)
    assert opts.effective(NONLINEAR_LARGE_SIZE) == (opts, None)
    eff, rec = opts.effective(10_000)
    assert (eff.samples, eff.heldout, eff.tune_instances, eff.linearisation_instances) == (16, 8, 2, 4)
    assert rec["changed"]["samples"] == {"configured": 128, "used": 16} and "scale" in rec["rule"]
    off = replace(opts, scale="off")
    assert off.effective(10_000) == (off, None)
    small = NonlinearTrainingConfig(samples=8, heldout=5, tune_instances=2, linearisation_instances=3)
    assert small.effective(10_000) == (small, None)  # never more than configured
    assert "scale" not in opts.to_json() and off.to_json()["scale"] == "off"
    with pytest.raises(InputError, match="nonlinear.scale"):
        NonlinearTrainingConfig(scale="big")
    assert MATRIX_FREE_SIZE == NONLINEAR_LARGE_SIZE


def _validate(doc: dict) -> None:
    import jsonschema

    from algodiscover.analysis.schema import AnalysisView, analysis_schema

    errs = [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in jsonschema.Draft202012Validator(analysis_schema()).iter_errors(doc)]
    assert not errs, "\n".join(errs[:10])
    AnalysisView.read(doc)


def test_large_run_records_counts_and_estimate_and_validates(tmp_path: Path) -> None:
    """Just above the threshold (hequation m = 2100, a short training): the automatic counts
    and the spectrum estimate are recorded, stated in the summary, and analysis.json
    validates against the strict schema."""
    import json

    from algodiscover.config import default_config
    from algodiscover.pipeline import _run

    base = default_config("nonlinear")
    cfg = replace(base, family="hequation", name="scale-hequation-2100", options={**dict(base.options), "size": 2100},
                  train=replace(base.train, adam_steps=20, lbfgs_steps=5))
    _run(cfg, tmp_path / "run", analyse=True, formats=(), progress=False, resume=False, force=False)
    doc = json.loads((tmp_path / "run" / "analysis.json").read_text())
    _validate(doc)
    nl = doc["nonlinear"]
    assert nl["scaling"]["changed"]["samples"] == {"configured": 128, "used": 61}
    assert nl["comparison"]["in_distribution"]["instances"] == 24
    assert nl["linearisation"]["instances"] + nl["linearisation"]["unsolved"] == 4
    assert nl["linearisation"]["spectrum_estimate"]["estimate"] is True
    assert "chosen automatically" in doc["summary"] and "estimates" in doc["summary"]


@pytest.mark.slow
def test_hequation_10k_discover_under_memory_bound(tmp_path: Path) -> None:
    """The whole discover of hequation with m = 10^4 unknowns: the spectrum is an estimate,
    the counts automatic, and the process's peak memory stays under 2 GB (no dense 10^4 x
    10^4 matrix: 0.8 GB each)."""
    from algodiscover.config import default_config
    from algodiscover.pipeline import _run

    base = default_config("nonlinear")
    cfg = replace(base, family="hequation", name="scale-hequation-10k", options={**dict(base.options), "size": 10_000})
    res = _run(cfg, tmp_path / "run", analyse=True, formats=(), progress=False, resume=False, force=False)
    _validate(res.analysis)
    nl = res.analysis["nonlinear"]
    assert nl["linearisation"]["spectrum_estimate"]["estimate"] is True
    assert nl["scaling"]["changed"]["samples"]["used"] == 16
    lo, hi = nl["linearisation"]["spectrum"]["interval"]
    assert 0.0 < lo < hi <= 1.0 + 1e-8  # J* = I - (c/2m) diag(g^2) K: eigenvalues in (0, 1]
    assert "estimates" in res.analysis["summary"]
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    assert peak_gb < 2.0, f"peak memory {peak_gb:.2f} GB"
