"""The end-to-end pipeline: train, distil, analyse, report.

A run directory holds ``algorithm.json`` (the artefact), ``analysis.json`` (what the
distilling side found), ``report.html``, ``report.tex`` and ``figures/``. Every file is
written atomically; nothing is written before training has succeeded.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .analysis import write_atomic, write_json_atomic

from .artefact import LearnedAlgorithm
from .config import RunConfig
from .errors import InputError
from .families import branch

__all__ = ["train_algorithm", "analyze_algorithm", "run_discover", "DiscoverResult", "load_run_analysis", "RUN_FILES"]

RUN_FILES = ("algorithm.json", "analysis.json")


def train_algorithm(cfg: RunConfig, *, progress: bool = True, checkpoint: Path | None = None, resume: bool = False) -> LearnedAlgorithm:
    """Train the R2N2 described by ``cfg``."""
    return branch(cfg.problem_class).train_run(cfg, progress=progress, checkpoint=checkpoint, resume=resume)


def analyze_algorithm(alg: LearnedAlgorithm, *, progress: bool = True) -> dict[str, Any]:
    """Distil and analyse a learned algorithm; returns the ``analysis.json`` content."""
    cls = alg.problem.get("class", "ode")
    result = branch(cls).analyze_run(alg, progress=progress)
    data = result.to_json() if hasattr(result, "to_json") else dict(result)
    data.setdefault("algorithm_hash", alg.content_hash)
    return data


@dataclass(frozen=True)
class DiscoverResult:
    out_dir: Path
    algorithm: LearnedAlgorithm
    analysis: dict[str, Any]
    files: tuple[Path, ...]
    timings: dict[str, float]


def run_discover(
    cfg: RunConfig,
    out_dir: Path,
    *,
    formats: Sequence[str] = ("html", "tex"),
    progress: bool = True,
    resume: bool = False,
) -> DiscoverResult:
    """Train, distil, analyse and report; returns what was written."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    t0 = time.perf_counter()
    alg = train_algorithm(cfg, progress=progress, checkpoint=out_dir / ".checkpoint.pt", resume=resume)
    t1 = time.perf_counter()
    analysis = analyze_algorithm(alg, progress=progress)
    t2 = time.perf_counter()
    files = [alg.save(out_dir / "algorithm.json")]
    files.append(write_config_toml(cfg, out_dir / "config.toml"))
    write_json_atomic(out_dir / "analysis.json", analysis)
    files.append(out_dir / "analysis.json")
    if formats:
        from .reports import render_run

        files += render_run(analysis, out_dir, formats=formats)
    (out_dir / ".checkpoint.pt").unlink(missing_ok=True)
    t3 = time.perf_counter()
    return DiscoverResult(out_dir, alg, analysis, tuple(files), {"train_s": t1 - t0, "analyze_s": t2 - t1, "report_s": t3 - t2})


def write_config_toml(cfg: RunConfig, path: Path) -> Path:
    """Save the run's configuration so ``discover --config`` reproduces it (atomic)."""
    import tomli_w

    text = "# algodiscover run configuration: algodiscover discover --config config.toml\n" + tomli_w.dumps(cfg.to_toml_dict())
    return write_atomic(path, text)


def load_run_analysis(run_dir: Path) -> dict[str, Any]:
    """``analysis.json`` of a run directory, with a clear error naming what is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    for name in RUN_FILES:
        if not (run_dir / name).exists():
            raise InputError(f"{run_dir}: missing {name} (not a complete algodiscover run directory)")
    LearnedAlgorithm.load(run_dir / "algorithm.json")
    path = run_dir / "analysis.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable or malformed ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or "kind" not in data:
        raise InputError(f"{path}: not an algodiscover analysis (no 'kind')")
    return data
