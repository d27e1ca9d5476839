"""What one sweep task does in a worker process: train a chunk of runs, analyse and render them.

Holds :func:`run_chunk` (the task function both backends run: train the chunk as one
ensemble when the shapes allow, else run by run; analyse each run; return its metrics,
timings and run-directory files as bytes for the sweep process to write) and
:func:`run_metrics` (the accuracy and cost a sweep records for a run). Workers find
``run_chunk`` by its module path, ``algodiscover.sweep.worker``, so it must stay a top-level
function here. Imports the standard library, ``algodiscover.errors`` and ``.store`` (strict
JSON) at module level; torch and the training, analysis and report modules inside the
functions, so that importing the sweep package stays light.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..errors import InputError
from .store import _finite

if TYPE_CHECKING:
    from ..config import RunConfig

__all__ = ["run_chunk", "run_metrics"]


def run_chunk(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Train (as one ensemble when the shapes allow), analyse and render a chunk of runs.

    Runs in a worker process (local pool or Ray). ``payload``: ``{"runs": [{"hash",
    "config"}], "formats": [...], "ensemble": bool, "env": {...}}``. Returns one result per
    run: status (``done``/``diverged``/``failed``), message, metrics, timings and the run
    directory's files as ``{relative path: bytes}`` (written by the sweep process).
    """
    for k, v in (payload.get("env") or {}).items():
        os.environ[k] = v
    import torch

    from ..config import config_from_mapping

    torch.set_num_threads(int(payload.get("threads", 1)))
    from ..errors import TrainingDiverged

    t_start = time.perf_counter()
    host = socket.gethostname()
    runs = list(payload["runs"])
    results: dict[str, dict[str, Any]] = {}
    cfgs: list[RunConfig] = []
    live: list[dict[str, Any]] = []
    for r in runs:
        try:
            cfgs.append(config_from_mapping(r["config"], source=f"run {r['hash'][:16]}"))
            live.append(r)
        except InputError as exc:
            results[r["hash"]] = {"status": "failed", "message": str(exc)}
    t0 = time.perf_counter()
    try:
        if payload.get("ensemble", True) and len(cfgs) > 1:
            from ..ensemble import train_many

            trained = train_many(cfgs, max_ensemble=len(cfgs))
        else:
            trained = [_train_one(c) for c in cfgs]
    except Exception as exc:  # an unexpected error takes down the whole chunk: report it per run
        msg = f"{exc.__class__.__name__}: {exc}"
        tb = traceback.format_exc(limit=6)
        trained = [RuntimeError(f"{msg}\n{tb}") for _ in cfgs]
    train_wall = (time.perf_counter() - t0) / max(1, len(cfgs))
    for r, cfg, alg in zip(live, cfgs, trained):
        if isinstance(alg, TrainingDiverged):
            results[r["hash"]] = {"status": "diverged", "message": str(alg), "train_s": train_wall}
            continue
        if isinstance(alg, Exception):
            results[r["hash"]] = {"status": "failed", "message": _one_line(alg), "train_s": train_wall}
            continue
        try:
            results[r["hash"]] = _finish_run(cfg, alg, tuple(payload.get("formats", ())))
            results[r["hash"]]["train_s"] = alg.timing.get("train_s", train_wall)
        except Exception as exc:
            results[r["hash"]] = {"status": "failed", "message": _one_line(exc) + "\n" + traceback.format_exc(limit=6), "train_s": train_wall}
    wall = (time.perf_counter() - t_start) / max(1, len(runs))
    out = []
    for r in runs:
        res = results[r["hash"]]
        res.update(hash=r["hash"], host=host, ensemble_size=len(cfgs) if payload.get("ensemble", True) else 1, wall_s=wall)
        out.append(res)
    return out


def _train_one(cfg: RunConfig) -> Any:
    from ..pipeline import train_algorithm
    from ..errors import TrainingDiverged

    try:
        return train_algorithm(cfg, progress=False)
    except (TrainingDiverged, InputError) as exc:
        return exc


def _one_line(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}" if not isinstance(exc, InputError) else str(exc)


def _finish_run(cfg: RunConfig, alg: Any, formats: tuple[str, ...]) -> dict[str, Any]:
    """What ``pipeline.run_discover`` does after training: analyse, then write
    algorithm.json, config.toml, analysis.json and the reports (into a temporary folder
    whose files are returned)."""
    from ..analysis import write_json_atomic

    from .. import pipeline

    t0 = time.perf_counter()
    analysis = pipeline.analyze_algorithm(alg, progress=False)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="algodiscover-run-") as tmp:
        d = Path(tmp)
        alg.save(d / "algorithm.json")
        pipeline.write_config_toml(cfg, d / "config.toml", algorithm_hash=alg.content_hash)
        write_json_atomic(d / "analysis.json", analysis)
        if formats:
            render = _render_run()
            if render is not None:
                render(analysis, d, formats=formats)
        files = {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and not p.name.startswith(".")}
    t2 = time.perf_counter()
    return {"status": "done", "message": None, "metrics": run_metrics(alg.to_dict(), analysis), "files": files,
            "analyze_s": t1 - t0, "report_s": t2 - t1}


def _render_run() -> Callable[..., Any] | None:
    try:
        from .. import reports
    except ImportError:
        return None
    return getattr(reports, "render_run", None)


def run_metrics(algorithm: Mapping[str, Any], analysis: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics a sweep records for one run.

    Accuracy and cost: for integrators, the mean one-step error of the distilled method on
    held-out problems against the function evaluations per step (= stages); for polynomial
    (Krylov) iterations, the residual reduction factor per outer iteration against the
    matvecs per iteration; otherwise the final training loss against the stages.
    """
    training = algorithm.get("training", {})
    structure = algorithm.get("structure", {})
    stages = analysis.get("stages", structure.get("stages"))
    pclass = algorithm.get("problem", {}).get("class", analysis.get("problem_class"))
    m: dict[str, Any] = {
        "kind": analysis.get("kind"),
        "problem_class": pclass,
        "stages": stages,
        "outer": structure.get("outer"),
        "final_loss": training.get("final_loss"),
        "order": analysis.get("order"),
        "exact_order": analysis.get("exact_order"),
        "personalised_order": analysis.get("personalised_order"),
        "measured_order": analysis.get("measured_order"),
        "identified_as": analysis.get("identified_as"),
        "rational": analysis.get("rational") is not None,
        "cost": stages,
        "cost_unit": {"ode": "f-evals/step", "linear": "matvecs/iteration"}.get(pclass, "evaluations/iteration"),
        "error": training.get("final_loss"),
        "error_metric": "final training loss",
    }
    comp = analysis.get("comparison")
    if isinstance(comp, Mapping) and comp.get("errors"):
        ind = comp["errors"].get("in_distribution", {})
        ref = comp.get("reference")
        if ref in ind:
            m["error"] = ind[ref]
            m["error_metric"] = "mean one-step error (in distribution)"
        m["errors"] = comp.get("errors")
        m["ratios"] = comp.get("ratios")
        classical = {k: v for k, v in comp.get("ratios", {}).get("in_distribution", {}).items() if "(learned weights)" not in k}
        if classical:
            m["best_classical_ratio"] = min(classical.values())
            m["best_classical"] = min(classical, key=classical.get)
    kry = analysis.get("krylov")
    if isinstance(kry, Mapping):
        fac = kry.get("factor") or {}
        if isinstance(fac, Mapping) and isinstance(fac.get("per_outer"), (int, float)):
            m["error"] = fac["per_outer"]
            m["error_metric"] = "residual reduction factor per outer iteration"
            m["factor_per_matvec"] = fac.get("per_matvec")
        m["cost"] = kry.get("matvecs_per_outer", stages)
        ratio = kry.get("factor_ratio")
        if isinstance(ratio, Mapping) and isinstance(ratio.get("per_outer"), (int, float)) and ratio["per_outer"] > 0:
            m["best_classical_ratio"] = 1.0 / ratio["per_outer"]
            m["best_classical"] = "Chebyshev"
    return _finite(m)
