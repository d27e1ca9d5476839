"""The end-to-end pipeline: train, distil, analyse, report, and the run directory it fills.

A run directory holds ``algorithm.json`` (the artefact), ``config.toml`` (the resolved
configuration, which reproduces the run), ``analysis.json`` (what the distilling side found),
``report.html``, ``report.tex`` and ``figures/``. A run directory is one run:

* every file is first written into a hidden staging directory beside it, and moved in only
  when the whole run has succeeded; ``algorithm.json`` is removed first and moved in last, so
  a run interrupted while files are moved is visibly incomplete (no ``algorithm.json``), never
  a mix of two runs;
* reports and stale files of an earlier run that the new one does not write are removed;
* ``analysis.json`` records the ``algorithm_hash`` of the artefact it analyses, and
  :func:`load_run` refuses a directory whose files disagree;
* a directory that holds a *different* run (another configuration) is refused unless
  ``force``.

Nothing is written before training has succeeded; a diverged training leaves no files (its
checkpoint is removed).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .analysis import write_atomic, write_json_atomic

from .artefact import LearnedAlgorithm
from .config import RunConfig, config_from_mapping
from .errors import InputError, TrainingDiverged
from .families import branch

__all__ = ["discover", "load", "train_algorithm", "analyze_algorithm", "run_discover", "run_train", "run_analyze",
           "DiscoverResult", "Run", "load_run", "load_run_analysis", "RUN_FILES", "RUN_OUTPUTS", "CHECKPOINT"]

#: The files that make a complete run directory.
RUN_FILES = ("algorithm.json", "analysis.json")
#: Everything a run writes into its directory (older runs' copies are replaced or removed).
RUN_OUTPUTS = ("algorithm.json", "config.toml", "analysis.json", "report.html", "report.tex", "report.pdf", "report.log", "figures")
#: The training checkpoint inside the run directory (``--resume`` continues from it); the
#: name carries the configuration's fingerprint, so a checkpoint is only resumed by the run
#: that wrote it.
CHECKPOINT = ".checkpoint-{fingerprint}.pt"


def train_algorithm(cfg: RunConfig, *, progress: bool = True, checkpoint: Path | None = None, resume: bool = False) -> LearnedAlgorithm:
    """Train the R2N2 described by ``cfg``."""
    return branch(cfg.problem_class).train_run(cfg, progress=progress, checkpoint=checkpoint, resume=resume)


def analyze_algorithm(alg: LearnedAlgorithm, *, progress: bool = True) -> dict[str, Any]:
    """Distil and analyse a learned algorithm; returns the ``analysis.json`` content."""
    cls = alg.problem.get("class", "ode")
    result = branch(cls).analyze_run(alg, progress=progress)
    data = result.to_json() if hasattr(result, "to_json") else dict(result)
    data["algorithm_hash"] = alg.content_hash
    data["algorithm_integrity"] = alg.integrity
    return data


@dataclass(frozen=True)
class DiscoverResult:
    """What :func:`run_discover` / :func:`run_train` wrote (``analysis`` is None for train)."""

    out_dir: Path
    algorithm: LearnedAlgorithm
    analysis: dict[str, Any] | None
    files: tuple[Path, ...]
    timings: dict[str, float]


@dataclass(frozen=True)
class Run:
    """A run directory read back: the artefact, its analysis (None for a train-only run)
    and the directory."""

    path: Path
    algorithm: LearnedAlgorithm
    analysis: dict[str, Any] | None

    @property
    def tableau(self):
        """The learned weights as a :class:`~algodiscover.analysis.ButcherTableau`."""
        return self.algorithm.tableau()

    def __repr__(self) -> str:
        a = self.analysis or {}
        what = f"order {a.get('exact_order', a.get('order'))}" if a.get("kind") == "runge-kutta" else (a.get("kind") or "not analysed")
        return f"Run({str(self.path)!r}, {self.algorithm.default_name}, {what})"


# ----------------------------------------------------------------------------- notebook API
def discover(config: "RunConfig | str | Path | Mapping[str, Any] | None" = None, *, problem_class: str | None = None,
             out: str | Path | None = None, formats: Sequence[str] = ("html", "tex"), progress: bool = False,
             force: bool = False, **overrides: Any) -> Run:
    """Train, distil, analyse and report, as ``algodiscover discover`` does; returns the :class:`Run`.

    ``config`` is a :class:`~algodiscover.config.RunConfig`, a TOML file, a mapping in the
    TOML layout, or None for the built-in default of ``problem_class`` (``"ode"``: 2 stages on
    y' = -a y^2). ``overrides`` are the command-line flags: ``family``, ``stages``, ``outer``,
    ``seed``, ``name``. ``out`` defaults to ``./runs/<name>``::

        import algodiscover as ad
        run = ad.discover(stages=3, seed=1, formats=())
        run.analysis["exact_order"], run.tableau
    """
    from .config import default_config, load_config

    if config is None:
        cfg = default_config(problem_class or "ode")
    elif isinstance(config, RunConfig):
        cfg = config
    elif isinstance(config, (str, Path)):
        cfg = load_config(config)
    else:
        cfg = config_from_mapping(config, source="discover(config=...)")
    if problem_class is not None and problem_class != cfg.problem_class:
        raise InputError(f"the configuration is for problem class {cfg.problem_class!r}, not {problem_class!r}")
    unknown = sorted(set(overrides) - {"family", "stages", "outer", "seed", "name"})
    if unknown:
        raise InputError(f"discover() got an unknown option {unknown[0]!r} (family, stages, outer, seed, name)")
    cfg = cfg.with_overrides(**overrides)
    res = run_discover(cfg, Path(out) if out is not None else Path("runs") / cfg.run_name, formats=formats, progress=progress, force=force)
    return Run(res.out_dir, res.algorithm, res.analysis)


def load(path: str | Path, *, strict: bool = False) -> Run:
    """A run directory (or an ``algorithm.json``) read back as a :class:`Run`; the analysis
    is None for a train-only run."""
    p = Path(path)
    if p.is_file():
        run = load_run(p.parent, strict=strict) if p.name == "algorithm.json" and (p.parent / "analysis.json").exists() else None
        return run if run is not None else Run(p.parent, LearnedAlgorithm.load(p, strict=strict), None)
    return load_run(p, strict=strict)


# ----------------------------------------------------------------------------- the pipeline
def run_train(cfg: RunConfig, out_dir: Path, *, progress: bool = True, resume: bool = False, force: bool = False) -> DiscoverResult:
    """Train only: writes ``algorithm.json`` and ``config.toml`` into ``out_dir``."""
    return _run(cfg, Path(out_dir), analyse=False, formats=(), progress=progress, resume=resume, force=force)


def run_discover(cfg: RunConfig, out_dir: Path, *, formats: Sequence[str] = ("html", "tex"), progress: bool = True,
                 resume: bool = False, force: bool = False) -> DiscoverResult:
    """Train, distil, analyse and report into ``out_dir``; returns what was written."""
    return _run(cfg, Path(out_dir), analyse=True, formats=formats, progress=progress, resume=resume, force=force)


def _run(cfg: RunConfig, out_dir: Path, *, analyse: bool, formats: Sequence[str], progress: bool, resume: bool,
         force: bool) -> DiscoverResult:
    created = _prepare_target(out_dir, cfg, force=force)
    checkpoint = _checkpoint(out_dir, cfg, resume=resume)
    t0 = time.perf_counter()
    try:
        alg = train_algorithm(cfg, progress=progress, checkpoint=checkpoint, resume=resume)
    except TrainingDiverged:
        checkpoint.unlink(missing_ok=True)  # a diverged run cannot be resumed usefully
        if created:
            _remove_if_empty(out_dir)
        raise
    t1 = time.perf_counter()
    analysis = analyze_algorithm(alg, progress=progress) if analyse else None
    t2 = time.perf_counter()
    with _staging(out_dir) as stage:
        alg.save(stage / "algorithm.json")
        write_config_toml(cfg, stage / "config.toml", algorithm_hash=alg.content_hash)
        if analysis is not None:
            write_json_atomic(stage / "analysis.json", analysis)
            if formats:
                from .reports import render_run

                render_run(analysis, stage, formats=formats)
        files = _commit(stage, out_dir)
    for old in out_dir.glob(".checkpoint*.pt"):  # this run's, and any left by earlier configurations
        old.unlink(missing_ok=True)
    t3 = time.perf_counter()
    return DiscoverResult(out_dir, alg, analysis, tuple(files), {"train_s": t1 - t0, "analyze_s": t2 - t1, "report_s": t3 - t2})


def run_analyze(source: Path, out_dir: Path | None = None, *, formats: Sequence[str] = (), progress: bool = False,
                strict: bool = False) -> DiscoverResult:
    """Analyse ``source`` (an ``algorithm.json`` or a run directory) and write
    ``analysis.json`` (and reports in ``formats``) into ``out_dir`` (default: the
    artefact's own directory), which then holds a complete run."""
    source = Path(source)
    path = source / "algorithm.json" if source.is_dir() else source
    alg = LearnedAlgorithm.load(path, strict=strict)
    out = path.parent if out_dir is None else Path(out_dir)
    t0 = time.perf_counter()
    analysis = analyze_algorithm(alg, progress=progress)
    t1 = time.perf_counter()
    with _staging(out) as stage:
        if out.resolve() != path.parent.resolve():
            _check_not_other_run(out, alg.config, force=False)
            alg.save(stage / "algorithm.json")
        write_json_atomic(stage / "analysis.json", analysis)
        if formats:
            from .reports import render_run

            render_run(analysis, stage, formats=formats)
        files = _commit(stage, out, replace_all=False)
    return DiscoverResult(out, alg, analysis, tuple(files), {"train_s": 0.0, "analyze_s": t1 - t0, "report_s": time.perf_counter() - t1})


def write_config_toml(cfg: RunConfig, path: Path, algorithm_hash: str | None = None) -> Path:
    """Save the run's resolved configuration so ``discover --config`` reproduces it (atomic)."""
    import tomli_w

    head = "# algodiscover run configuration: algodiscover discover --config config.toml\n"
    if algorithm_hash:
        head += f"# written with the artefact algorithm.json of content hash {algorithm_hash}\n"
    return write_atomic(path, head + tomli_w.dumps(cfg.to_toml_dict()))


# ----------------------------------------------------------------------------- reading runs
def load_run(run_dir: Path, *, strict: bool = False, need_analysis: bool = False) -> Run:
    """Read a run directory back, checking that its files belong together.

    A missing directory or ``algorithm.json``, an ``analysis.json`` made from a different
    artefact, or (``need_analysis``) a train-only directory raise :class:`InputError`
    naming what is wrong. ``strict`` refuses an artefact whose content hash is missing or
    wrong (otherwise a warning).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    if not (run_dir / "algorithm.json").exists():
        raise InputError(f"{run_dir}: missing algorithm.json (not a complete algodiscover run directory)")
    alg = LearnedAlgorithm.load(run_dir / "algorithm.json", strict=strict)
    path = run_dir / "analysis.json"
    if not path.exists():
        if need_analysis:
            raise InputError(f"{run_dir}: missing analysis.json (a train-only run?); run 'algodiscover analyze {run_dir}' first")
        return Run(run_dir, alg, None)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: unreadable or malformed ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or "kind" not in data:
        raise InputError(f"{path}: not an algodiscover analysis (no 'kind')")
    from .analysis import AnalysisView
    from .analysis.errors import AnalysisInputError

    try:
        AnalysisView.read(data)  # the one place that knows the format checks every value's type
    except AnalysisInputError as exc:
        raise InputError(f"{run_dir}: {exc}") from None
    recorded = data.get("algorithm_hash")
    if recorded is not None and recorded != alg.content_hash:
        raise InputError(f"{path}: made from a different algorithm.json (hash {recorded[:19]}..., the artefact's is "
                         f"{alg.content_hash[:19]}...); run 'algodiscover analyze {run_dir}' again")
    return Run(run_dir, alg, data)


def load_run_analysis(run_dir: Path, *, strict: bool = False) -> dict[str, Any]:
    """``analysis.json`` of a complete run directory (see :func:`load_run`)."""
    run = load_run(run_dir, strict=strict, need_analysis=True)
    assert run.analysis is not None
    return run.analysis


# ----------------------------------------------------------------------------- writing runs
def _prepare_target(out_dir: Path, cfg: RunConfig, *, force: bool) -> bool:
    """Check ``out_dir`` may receive this run; create it. True when it was created here."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    _check_not_other_run(out_dir, cfg.to_json(), force=force)
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the run directory ({exc.strerror or exc})") from None
    if not os.access(out_dir, os.W_OK):
        raise InputError(f"{out_dir}: not writable")
    return created


def fingerprint(cfg: RunConfig) -> str:
    """16 hex digits of the SHA-256 of the resolved configuration (what a checkpoint belongs to)."""
    import hashlib

    return hashlib.sha256(json.dumps(cfg.to_json(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _checkpoint(out_dir: Path, cfg: RunConfig, *, resume: bool) -> Path:
    path = out_dir / CHECKPOINT.format(fingerprint=fingerprint(cfg))
    if resume and not path.exists():
        others = sorted(p.name for p in out_dir.glob(".checkpoint*.pt"))
        if others:
            raise InputError(f"{out_dir}: --resume: the checkpoint there ({others[0]}) was written by another configuration "
                             "(seed, model or options differ); run without --resume to train afresh")
    return path


def _check_not_other_run(out_dir: Path, config: dict[str, Any], *, force: bool) -> None:
    existing = out_dir / "algorithm.json"
    if force or not existing.exists():
        return
    try:
        old = json.loads(existing.read_text(encoding="utf-8")).get("config")
        same = config_from_mapping(old, source=str(existing)).to_json() == config_from_mapping(config).to_json()
    except Exception:  # unreadable or from another version: not provably the same run
        same = False
    if not same:
        raise InputError(f"{out_dir}: holds a different run (its algorithm.json has another configuration); "
                         "use --force to replace it, or choose another --out")


class _staging:
    """A hidden directory beside ``out_dir`` (same file system, so moves are renames),
    removed on exit whatever happens."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir.parent / f".{out_dir.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> Path:
        try:
            self.path.mkdir(parents=True)
        except OSError as exc:
            raise InputError(f"{self.path.parent}: cannot write here ({exc.strerror or exc})") from None
        return self.path

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _commit(stage: Path, out_dir: Path, *, replace_all: bool = True) -> list[Path]:
    """Move the staged files into ``out_dir``: ``algorithm.json`` is removed first and moved
    in last; with ``replace_all`` outputs of an older run that were not staged are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staged = {p.name for p in stage.iterdir()}
    if "algorithm.json" in staged:
        (out_dir / "algorithm.json").unlink(missing_ok=True)
    stale = [name for name in RUN_OUTPUTS if name != "algorithm.json" and (replace_all or name in staged)]
    for name in stale:
        old = out_dir / name
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
    order = sorted(staged, key=lambda n: (n == "algorithm.json", n))
    for name in order:
        os.replace(stage / name, out_dir / name)
    files = []
    for name in order:
        p = out_dir / name
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    return files


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass

