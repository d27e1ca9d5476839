"""Structure sweeps: grid and random search over run configurations, resumable, on a local
process pool or a Ray cluster, with a Pareto report of accuracy against cost.

::

    algodiscover sweep SPEC.toml [--backend local|ray] [--address ADDR] [--max-concurrent N]
                                 [--resume] [--retry-failed] [--out DIR] [--quiet]
    python -m algodiscover.sweep SPEC.toml ...          (the same, without the CLI wiring)

The spec (TOML)
---------------
::

    [sweep]
    name = "square-structures"   # default: the spec file's stem; runs go to sweeps/<name>
    backend = "local"            # local (process pool, default) | ray
    max_concurrent = 2           # tasks in flight (default: CPU count / the Ray cluster's CPUs)
    ensemble = 64                # at most this many same-shape runs trained together in one
                                 # task (algodiscover.ensemble); 1 trains each run alone
    formats = []                 # reports for every run: html, tex, pdf (default none; a
                                 # report costs a few seconds, more than a small training)
    front_reports = true         # after the sweep, HTML reports for the Pareto-front runs
    seed = 0                     # seed of the random search's draws

    [base]                       # one run configuration: the keys of `discover --config`
    problem = { class = "ode", family = "square" }
    train = { adam_steps = 100, lbfgs_steps = 50 }
    ode = { samples = 128 }

    [grid]                       # dotted keys -> lists; every combination is run
    "model.stages" = [2, 3, 4]
    "model.outer" = [1, 2]
    seed = [0, 1, 2]

    [random]                     # `samples` draws, crossed with every grid point
    samples = 4
    "train.lr" = { log_uniform = [0.003, 0.05] }
    "ode.taylor_weight" = { uniform = [0.0, 100.0] }
    "model.init_scale" = { choice = [0.05, 0.1, 0.2] }
    "train.adam_steps" = { int_uniform = [50, 200] }      # inclusive

Keys are ``seed``, ``model.<field>``, ``train.<field>`` and ``<class>.<option>`` (e.g.
``ode.samples``); a sweep covers one problem family, so ``problem.*``, ``name`` and the
custom ``family`` table are set in ``[base]`` only. The run count is ``|grid| x samples``;
the same random draws are used at every grid point, so grid keys such as ``seed`` act as
replicates. Unknown keys, empty lists, bad ranges (low > high, non-positive log bounds)
and values that make an invalid configuration are reported with the key named (exit 2).

What a sweep writes
-------------------
``DIR/sweep.db`` (SQLite, one row per configuration: config hash, config JSON, the swept
values, status ``pending|running|done|diverged|failed``, metrics, run directory, timings),
``DIR/runs/<id>/`` (``algorithm.json``, ``config.toml``, ``analysis.json`` and the reports,
exactly as ``algodiscover discover`` writes them; ``report.html`` for the Pareto-front runs
by default) and ``DIR/report.html`` (self-contained: the Pareto front of accuracy against
cost as an inline SVG whose points link to the runs' reports or analyses).

Accuracy and cost: for integrators, the mean one-step error of the distilled method on
held-out problems of the family against the function evaluations per step (= stages); for
polynomial (Krylov) iterations, the residual reduction factor per outer iteration against
the matvecs per iteration; otherwise the final training loss against the stages.

Resuming: the configuration hash (SHA-256 of the run configuration without its name) is the
primary key; rows are claimed atomically (``pending -> running``) just before their task is
submitted. ``--resume`` re-expands the spec (new configurations are added, so a sweep can be
extended), turns rows left ``running`` by a killed sweep back to ``pending`` and runs the
pending rows of the spec; finished rows are never trained again. ``--retry-failed`` also
re-runs rows that failed with an error. One sweep process at a time may use a directory
(an advisory lock; a second one exits 2).

Backends: ``local`` runs tasks in a process pool (``spawn`` workers, one torch thread each,
which exit with the sweep process even when it is killed). ``ray`` (``pip install 'algodiscover[distributed]'``) submits the same tasks as Ray
core tasks; ``--address`` joins a running cluster (``auto`` for one started on this machine
with ``ray start``; every node needs algodiscover installed), otherwise a fresh local Ray
instance is started with ``max_concurrent`` CPUs, bound to the loopback interface. A Ray
instance the calling program already initialised (``ray.init``) is used as it is. Workers return the
run files to the sweep process, which writes them, so nodes need no shared file system.
A task is a chunk of same-shape configurations trained as one ensemble, then analysed run
by run; a killed sweep loses at most the tasks in flight.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import math
import os
import random
import re
import socket
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from .analysis import write_atomic

from .errors import InputError

if TYPE_CHECKING:  # the run-configuration modules import torch: load them only when needed
    from .config import RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "SweepSpec", "Distribution", "SweepRun", "SweepStore", "SweepResult", "load_spec", "spec_from_mapping",
    "expand_spec", "config_hash", "run_sweep", "run_chunk", "write_sweep_report", "pareto_front",
    "add_parser", "cmd_sweep", "main", "STATUSES",
]

STATUSES = ("pending", "running", "done", "diverged", "failed")
BACKENDS = ("local", "ray")
DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")
_SPEC_TABLES = ("sweep", "base", "grid", "random")
_SWEEP_KEYS = ("name", "backend", "max_concurrent", "ensemble", "formats", "front_reports", "seed")
_REPORT_FORMATS = ("html", "tex", "pdf")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DB_NAME = "sweep.db"
REPORT_NAME = "report.html"
_SCHEMA_VERSION = 1
RAY_MISSING = "the ray backend needs Ray, which is not installed: pip install 'algodiscover[distributed]' (or: pip install ray)"


# ============================================================================ the spec
@dataclass(frozen=True)
class Distribution:
    """A random-search distribution: ``uniform``/``log_uniform`` over [low, high] (floats),
    ``int_uniform`` over the integers low..high inclusive, or ``choice`` among values."""

    kind: str
    args: tuple[Any, ...]

    def sample(self, rng: random.Random) -> Any:
        if self.kind == "uniform":
            return rng.uniform(self.args[0], self.args[1])
        if self.kind == "log_uniform":
            return math.exp(rng.uniform(math.log(self.args[0]), math.log(self.args[1])))
        if self.kind == "int_uniform":
            return rng.randint(self.args[0], self.args[1])
        return self.args[rng.randrange(len(self.args))]

    def extremes(self) -> tuple[Any, ...]:
        """Values that must each make a valid configuration (range ends, every choice)."""
        return self.args

    def to_json(self) -> dict[str, Any]:
        return {self.kind: list(self.args)}


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, validated sweep spec (see the module docstring)."""

    name: str
    source: str
    base: dict[str, Any]
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    random: tuple[tuple[str, Distribution], ...] = ()
    samples: int = 1
    backend: str = "local"
    max_concurrent: int | None = None
    ensemble: int = 64
    formats: tuple[str, ...] = ()
    front_reports: bool = True
    seed: int = 0
    text: str = ""

    @property
    def swept_keys(self) -> list[str]:
        return [k for k, _ in self.grid] + [k for k, _ in self.random]

    @property
    def size(self) -> int:
        n = 1
        for _, vals in self.grid:
            n *= len(vals)
        return n * self.samples

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "base": self.base, "grid": {k: list(v) for k, v in self.grid},
                "random": {"samples": self.samples, **{k: d.to_json() for k, d in self.random}} if self.random else {},
                "backend": self.backend, "max_concurrent": self.max_concurrent, "ensemble": self.ensemble,
                "formats": list(self.formats), "front_reports": self.front_reports, "seed": self.seed}


@dataclass(frozen=True)
class SweepRun:
    """One configuration of an expanded spec."""

    index: int
    config: RunConfig
    hash: str
    assignment: dict[str, Any]
    group: str | None

    @property
    def run_id(self) -> str:
        return self.hash[:16]


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file (:class:`InputError` naming the bad key)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such sweep spec")
    try:
        text = p.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: malformed TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read ({exc.__class__.__name__})") from None
    return spec_from_mapping(data, source=str(p), default_name=p.stem, text=text)


def spec_from_mapping(data: Mapping[str, Any], source: str = "spec", default_name: str = "sweep", text: str = "") -> SweepSpec:
    """Validate a spec given as a mapping (the parsed TOML)."""
    unknown = sorted(set(data) - set(_SPEC_TABLES))
    if unknown:
        raise InputError(f"{source}: unknown key {unknown[0]!r} (a sweep spec has the tables {', '.join('[' + t + ']' for t in _SPEC_TABLES)})")
    for t in _SPEC_TABLES:
        if t in data and not isinstance(data[t], Mapping):
            raise InputError(f"{source}: [{t}] must be a table")
    sw = dict(data.get("sweep", {}))
    bad = sorted(set(sw) - set(_SWEEP_KEYS))
    if bad:
        raise InputError(f"{source}: unknown key sweep.{bad[0]!r} (allowed: {', '.join(_SWEEP_KEYS)})")
    name = sw.get("name", default_name)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InputError(f"{source}: sweep.name must be letters, digits, '_', '.' or '-', got {name!r}")
    backend = sw.get("backend", "local")
    if backend not in BACKENDS:
        raise InputError(f"{source}: sweep.backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    max_conc = sw.get("max_concurrent")
    if max_conc is not None and not _is_int(max_conc, 1):
        raise InputError(f"{source}: sweep.max_concurrent must be an integer >= 1, got {max_conc!r}")
    ensemble = sw.get("ensemble", 64)
    if not _is_int(ensemble, 1):
        raise InputError(f"{source}: sweep.ensemble must be an integer >= 1, got {ensemble!r}")
    formats = sw.get("formats", [])
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()] if formats.strip().lower() != "none" else []
    if not isinstance(formats, list) or any(f not in _REPORT_FORMATS for f in formats):
        raise InputError(f"{source}: sweep.formats must be a list drawn from {', '.join(_REPORT_FORMATS)}, got {sw.get('formats')!r}")
    front_reports = sw.get("front_reports", True)
    if not isinstance(front_reports, bool):
        raise InputError(f"{source}: sweep.front_reports must be true or false, got {front_reports!r}")
    seed = sw.get("seed", 0)
    if not _is_int(seed, 0):
        raise InputError(f"{source}: sweep.seed must be an integer >= 0, got {seed!r}")

    base = json.loads(json.dumps(dict(data.get("base", {})), default=_reject_type))
    if "name" in base:
        raise InputError(f"{source}: base.name: runs of a sweep are named after the sweep; set sweep.name instead")
    base_cfg = _validated(base, f"{source}: [base]")
    pclass = base_cfg.problem_class

    grid: list[tuple[str, tuple[Any, ...]]] = []
    if "grid" in data:
        gt = dict(data["grid"])
        if not gt:
            raise InputError(f"{source}: [grid] is empty (give each key a list of values, or leave the table out)")
        for key, vals in gt.items():
            _check_key(key, pclass, f"{source}: [grid]")
            if not isinstance(vals, list):
                raise InputError(f"{source}: [grid] {key!r} must be a list of values, got {vals!r}")
            if not vals:
                raise InputError(f"{source}: [grid] {key!r} is an empty list (an empty grid runs nothing)")
            for v in vals:
                _validated(_assign(base, key, v), f"{source}: [grid] {key!r} = {_show(v)}")
            grid.append((key, tuple(vals)))

    rnd: list[tuple[str, Distribution]] = []
    samples = 1
    if "random" in data:
        rt = dict(data["random"])
        if "samples" not in rt:
            raise InputError(f"{source}: [random] needs samples = N (the number of random draws)")
        samples = rt.pop("samples")
        if not _is_int(samples, 1):
            raise InputError(f"{source}: random.samples must be an integer >= 1, got {samples!r}")
        if not rt:
            raise InputError(f"{source}: [random] has samples but no parameters to draw")
        grid_keys = {k for k, _ in grid}
        for key, spec in rt.items():
            where = f"{source}: [random] {key!r}"
            _check_key(key, pclass, f"{source}: [random]")
            if key in grid_keys:
                raise InputError(f"{where} is also in [grid]; sweep each key one way")
            dist = _distribution(spec, where)
            for v in dist.extremes():
                _validated(_assign(base, key, v), f"{where} = {_show(v)}")
            rnd.append((key, dist))
    return SweepSpec(name=name, source=source, base=base, grid=tuple(grid), random=tuple(rnd), samples=samples, backend=backend,
                     max_concurrent=max_conc, ensemble=ensemble, formats=tuple(formats), front_reports=front_reports, seed=seed,
                     text=text)


def _reject_type(o: Any) -> Any:
    raise InputError(f"unsupported value {o!r} (dates and times are not configuration values)")


def _is_int(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _show(v: Any) -> str:
    return json.dumps(v) if not isinstance(v, float) else repr(v)


def _distribution(spec: Any, where: str) -> Distribution:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise InputError(f"{where} must be a table with one of {', '.join(DISTRIBUTIONS)}, e.g. {{ uniform = [0.0, 1.0] }}")
    kind, args = next(iter(spec.items()))
    if kind not in DISTRIBUTIONS:
        raise InputError(f"{where}: unknown distribution {kind!r} (choose from {', '.join(DISTRIBUTIONS)})")
    if not isinstance(args, list):
        raise InputError(f"{where}: {kind} needs a list, got {args!r}")
    if kind == "choice":
        if not args:
            raise InputError(f"{where}: choice needs at least one value")
        return Distribution(kind, tuple(args))
    if len(args) != 2:
        raise InputError(f"{where}: {kind} needs [low, high], got {args!r}")
    lo, hi = args
    if kind == "int_uniform":
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in args):
            raise InputError(f"{where}: int_uniform needs two integers [low, high], got {args!r}")
    elif not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in args):
        raise InputError(f"{where}: {kind} needs two finite numbers [low, high], got {args!r}")
    if lo > hi:
        raise InputError(f"{where}: bad range {args!r}: low > high")
    if kind == "log_uniform" and lo <= 0:
        raise InputError(f"{where}: bad range {args!r}: log_uniform needs 0 < low <= high")
    if kind != "int_uniform":
        lo, hi = float(lo), float(hi)
    return Distribution(kind, (lo, hi))


def _check_key(key: str, pclass: str, where: str) -> None:
    """Allowed swept keys: seed, model.*, train.*, <class>.<option>."""
    from .config import PROBLEM_CLASSES, ModelConfig
    from .training import TrainConfig

    if key == "seed":
        return
    head, _, tail = key.partition(".")
    if head in ("problem", "family") or key == "name":
        raise InputError(f"{where} {key!r}: a sweep covers one problem family and names its own runs; set {key} in [base]")
    if not tail or "." in tail:
        raise InputError(f"{where} {key!r}: unknown key (use seed, model.<field>, train.<field> or {pclass}.<option>)")
    if head == "model":
        allowed = ModelConfig.__dataclass_fields__
    elif head == "train":
        allowed = TrainConfig.__dataclass_fields__
    elif head == pclass:
        allowed = _option_fields(pclass)
        if allowed is None:
            return
    elif head in PROBLEM_CLASSES:
        raise InputError(f"{where} {key!r}: section [{head}] does not apply to problem.class = {pclass!r}")
    else:
        raise InputError(f"{where} {key!r}: unknown key (use seed, model.<field>, train.<field> or {pclass}.<option>)")
    if tail not in allowed:
        raise InputError(f"{where} {key!r}: unknown key {tail!r} in [{head}] (allowed: {', '.join(sorted(allowed))})")


def _option_fields(pclass: str) -> Iterable[str] | None:
    """The option names of a problem class, or None when the class does not declare them."""
    cls = _options_class(pclass)
    return None if cls is None else cls.__dataclass_fields__


def _options_class(pclass: str) -> Any:
    from .families import branch

    try:
        mod = branch(pclass)
    except InputError:
        return None
    for attr in ("OdeTrainingConfig", "LinearTrainingConfig", "NonlinearTrainingConfig"):
        cls = getattr(mod, attr, None)
        if cls is not None and hasattr(cls, "__dataclass_fields__"):
            return cls
    return None


def _assign(base: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the dotted ``key`` set to ``value``."""
    out = json.loads(json.dumps(base, default=_reject_type))
    value = json.loads(json.dumps(value, default=_reject_type))
    if key == "seed":
        out["seed"] = value
        return out
    head, _, tail = key.partition(".")
    table = out.setdefault(head, {})
    if not isinstance(table, dict):
        raise InputError(f"[base] {head} must be a table to set {key}")
    table[tail] = value
    return out


def _validated(mapping: Mapping[str, Any], where: str) -> RunConfig:
    """The run configuration of ``mapping``; class options checked too."""
    from .config import config_from_mapping

    try:
        cfg = config_from_mapping(mapping, source=where)
    except InputError as exc:
        raise InputError(str(exc)) from None
    cls = _options_class(cfg.problem_class)
    if cls is not None:
        try:
            if hasattr(cls, "from_options"):
                cls.from_options(dict(cfg.options))
            else:
                unknown = sorted(set(cfg.options) - set(cls.__dataclass_fields__))
                if unknown:
                    raise InputError(f"unknown key {cfg.problem_class}.{unknown[0]!r} (allowed: {', '.join(sorted(cls.__dataclass_fields__))})")
                cls(**cfg.options)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        except TypeError as exc:
            raise InputError(f"{where}: [{cfg.problem_class}] {exc}") from None
    return cfg


def config_hash(cfg: RunConfig) -> str:
    """SHA-256 (hex) of the canonical JSON of a run configuration without its name."""
    d = cfg.to_json()
    d.pop("name", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()).hexdigest()


def expand_spec(spec: SweepSpec) -> list[SweepRun]:
    """Every configuration of the spec, in grid order then draw order, duplicates removed.

    Random draws come from ``random.Random(spec.seed)``, key by key in spec order, so the
    same spec always expands to the same configurations.
    """
    from .ensemble import ensemble_key

    rng = random.Random(spec.seed)
    draws = [{k: d.sample(rng) for k, d in spec.random} for _ in range(spec.samples)] if spec.random else [{}]
    keys = [k for k, _ in spec.grid]
    out: list[SweepRun] = []
    seen: set[str] = set()
    for point in itertools.product(*[vals for _, vals in spec.grid]):
        for draw in draws:
            assignment = {**dict(zip(keys, point)), **draw}
            mapping = spec.base
            for k, v in assignment.items():
                mapping = _assign(mapping, k, v)
            where = f"{spec.source}: run {_describe(assignment)}"
            cfg = _validated(mapping, where)
            h = config_hash(cfg)
            if h in seen:
                continue
            seen.add(h)
            cfg = replace(cfg, name=f"{spec.name}-{h[:16]}")
            out.append(SweepRun(len(out), cfg, h, assignment, ensemble_key(cfg)))
    return out


def _describe(assignment: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in assignment.items()) or "(base)"


# ============================================================================ the store
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    config_hash   TEXT PRIMARY KEY,
    run_id        TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    config        TEXT NOT NULL,
    assignment    TEXT NOT NULL,
    group_key     TEXT,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','done','diverged','failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    owner         TEXT,
    run_dir       TEXT,
    message       TEXT,
    metrics       TEXT,
    final_loss    REAL,
    error         REAL,
    error_metric  TEXT,
    cost          REAL,
    cost_unit     TEXT,
    exact_order   INTEGER,
    personalised_order INTEGER,
    measured_order REAL,
    best_classical_ratio REAL,
    backend       TEXT,
    host          TEXT,
    ensemble_size INTEGER,
    created_at    REAL NOT NULL,
    claimed_at    REAL,
    finished_at   REAL,
    train_s       REAL,
    analyze_s     REAL,
    report_s      REAL,
    wall_s        REAL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, idx);
"""

_METRIC_COLUMNS = ("final_loss", "error", "error_metric", "cost", "cost_unit", "exact_order", "personalised_order",
                   "measured_order", "best_classical_ratio")


class SweepStore:
    """The sweep's SQLite database (WAL mode; every change is one short transaction)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: not a usable sweep database ({exc})") from None
        ver = self.get_meta("schema_version")
        if ver is None:
            self.set_meta("schema_version", str(_SCHEMA_VERSION))
        elif ver != str(_SCHEMA_VERSION):
            raise InputError(f"{self.path}: sweep database schema {ver}, this version reads {_SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM runs WHERE status = ?", (status,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for row in self.db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"):
            out[row[0]] = row[1]
        return out

    def add(self, runs: Sequence[SweepRun]) -> int:
        """Insert the runs not yet in the database (as ``pending``); returns how many."""
        now = time.time()
        with _transaction(self.db):
            before = self.count()
            self.db.executemany(
                "INSERT OR IGNORE INTO runs (config_hash, run_id, idx, config, assignment, group_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.hash, r.run_id, r.index, json.dumps(r.config.to_json(), sort_keys=True), json.dumps(r.assignment), r.group, now) for r in runs])
            return self.count() - before

    def reset(self, from_status: str) -> int:
        """Turn every ``from_status`` row back to ``pending``; returns how many."""
        with _transaction(self.db):
            cur = self.db.execute("UPDATE runs SET status = 'pending', owner = NULL WHERE status = ?", (from_status,))
            return cur.rowcount

    def claim(self, hashes: Sequence[str], owner: str) -> list[str]:
        """Atomically move the given rows from ``pending`` to ``running`` for ``owner``;
        returns the hashes actually claimed (others were taken or finished meanwhile)."""
        now = time.time()
        got = []
        with _transaction(self.db):
            for h in hashes:
                cur = self.db.execute(
                    "UPDATE runs SET status = 'running', owner = ?, claimed_at = ?, attempts = attempts + 1 WHERE config_hash = ? AND status = 'pending'",
                    (owner, now, h))
                if cur.rowcount == 1:
                    got.append(h)
        return got

    def release(self, hashes: Sequence[str], owner: str) -> None:
        """Give claimed rows back (``running`` -> ``pending``), e.g. on interruption."""
        with _transaction(self.db):
            self.db.executemany("UPDATE runs SET status = 'pending', owner = NULL WHERE config_hash = ? AND status = 'running' AND owner = ?",
                                [(h, owner) for h in hashes])

    def finish(self, h: str, owner: str, result: Mapping[str, Any], run_dir: str | None, backend: str) -> None:
        m = result.get("metrics") or {}
        with _transaction(self.db):
            self.db.execute(
                "UPDATE runs SET status = ?, owner = NULL, run_dir = ?, message = ?, metrics = ?, "
                + ", ".join(f"{c} = ?" for c in _METRIC_COLUMNS)
                + ", backend = ?, host = ?, ensemble_size = ?, finished_at = ?, train_s = ?, analyze_s = ?, report_s = ?, wall_s = ? "
                "WHERE config_hash = ? AND status = 'running' AND owner = ?",
                (result["status"], run_dir, result.get("message"), json.dumps(_finite(m), allow_nan=False, default=_json_safe) if m else None,
                 *[_sql_value(m.get(c)) for c in _METRIC_COLUMNS],
                 backend, result.get("host"), result.get("ensemble_size"), time.time(), result.get("train_s"), result.get("analyze_s"),
                 result.get("report_s"), result.get("wall_s"), h, owner))

    def pending(self, hashes: set[str] | None = None) -> list[sqlite3.Row]:
        rows = self.db.execute("SELECT config_hash, run_id, config, group_key FROM runs WHERE status = 'pending' ORDER BY idx").fetchall()
        return [r for r in rows if hashes is None or r["config_hash"] in hashes]

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY idx")]


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _sql_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json_safe(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (at any depth) replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


# ============================================================================ the worker
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

    from .config import config_from_mapping

    torch.set_num_threads(int(payload.get("threads", 1)))
    from .errors import TrainingDiverged

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
            from .ensemble import train_many

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
    from .discover import train_algorithm
    from .errors import TrainingDiverged

    try:
        return train_algorithm(cfg, progress=False)
    except (TrainingDiverged, InputError) as exc:
        return exc


def _one_line(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}" if not isinstance(exc, InputError) else str(exc)


def _finish_run(cfg: RunConfig, alg: Any, formats: tuple[str, ...]) -> dict[str, Any]:
    """What ``discover.run_discover`` does after training: analyse, then write
    algorithm.json, config.toml, analysis.json and the reports (into a temporary folder
    whose files are returned)."""
    from .analysis import write_json_atomic

    from . import discover

    t0 = time.perf_counter()
    analysis = discover.analyze_algorithm(alg, progress=False)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="algodiscover-run-") as tmp:
        d = Path(tmp)
        alg.save(d / "algorithm.json")
        writer = getattr(discover, "write_config_toml", None)
        if writer is not None:
            writer(cfg, d / "config.toml")
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
        from . import reports
    except ImportError:
        return None
    return getattr(reports, "render_run", None)


def run_metrics(algorithm: Mapping[str, Any], analysis: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics a sweep records for one run (see the module docstring for the
    accuracy and cost measures)."""
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


# ============================================================================ backends
def _local_worker_init(sweep_pid: int) -> None:
    """Make a pool worker die with the sweep process, even when that is SIGKILLed (an idle
    worker of a dead pool would otherwise wait forever): ``PR_SET_PDEATHSIG`` on Linux,
    and a thread that exits when the worker is re-parented, everywhere."""
    import signal
    import threading

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != sweep_pid:       # the sweep died before the line above took effect
        os._exit(1)
    # Progress bars are off in workers; give tqdm a thread lock so it creates no
    # multiprocessing semaphore that a terminated worker would leave behind.
    from tqdm.std import tqdm as _tqdm

    _tqdm.set_lock(threading.RLock())

    def watch() -> None:
        while True:
            time.sleep(2.0)
            if os.getppid() != sweep_pid:
                os._exit(1)

    threading.Thread(target=watch, name="algodiscover-parent-watch", daemon=True).start()


class _LocalBackend:
    """A process pool of ``spawn`` workers (children of the sweep process, which share no
    open files with it and die with it)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_local_worker_init, initargs=(os.getpid(),))

    def submit(self, payload: dict[str, Any]) -> Any:
        return self.pool.submit(run_chunk, payload)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Any) -> list[dict[str, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return handle.result()
        except BrokenProcessPool:
            raise _WorkerLost("a worker process died (killed, or out of memory)") from None

    def shutdown(self, interrupted: bool) -> None:
        if interrupted:
            procs = list(getattr(self.pool, "_processes", {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:  # the pool's own workers, started by this sweep
                if p.is_alive():
                    p.terminate()
        else:
            self.pool.shutdown(wait=True)


def _import_ray(address: str | None) -> Any:
    """Import Ray (:class:`InputError` with the install line when it is missing).

    Without ``address`` the sweep starts its own single-machine instance; Ray then binds to
    the loopback interface only if ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` is false when Ray is
    first imported (its single-machine mode), so that is set unless the user set it.
    """
    if not address:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise InputError(RAY_MISSING) from None
    return ray


class _RayBackend:
    """Ray core tasks; joins ``address`` or starts a fresh local instance (loopback only)."""

    name = "ray"

    def __init__(self, address: str | None, max_concurrent: int | None, quiet: bool) -> None:
        ray = _import_ray(address)
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": not quiet,
                                  "configure_logging": True}
            try:
                if address:
                    ray.init(address=address, **kw)
                else:  # "local": never join some other cluster found on this machine
                    ray.init(address="local", num_cpus=max_concurrent or os.cpu_count() or 1, **kw)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"--address {address}" if address else "a local Ray instance"
                raise InputError(f"{where}: cannot start or join Ray ({_one_line(exc).splitlines()[0]})") from None
            self.started = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.remote = ray.remote(num_cpus=1, max_retries=0)(run_chunk)

    def submit(self, payload: dict[str, Any]) -> Any:
        return self.remote.remote(payload)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        return list(ready)

    def result(self, handle: Any) -> list[dict[str, Any]]:
        try:
            return self.ray.get(handle)
        except self.ray.exceptions.RayTaskError as exc:
            raise RuntimeError(str(exc).splitlines()[0]) from None
        except self.ray.exceptions.RayError as exc:  # worker or node died
            raise _WorkerLost(f"a Ray worker was lost ({exc.__class__.__name__})") from None

    def shutdown(self, interrupted: bool, handles: Sequence[Any] = ()) -> None:
        if interrupted:
            for h in handles:
                try:
                    self.ray.cancel(h, force=True)
                except Exception:  # already finished or gone
                    pass
        if self.started:
            self.ray.shutdown()


class _WorkerLost(RuntimeError):
    """A worker died; its runs go back to pending."""


# ============================================================================ the sweep
@dataclass
class SweepResult:
    """What :func:`run_sweep` did."""

    out_dir: Path
    database: Path
    report: Path | None
    counts: dict[str, int]
    ran: int
    added: int
    reset: int
    front: list[dict[str, Any]] = field(default_factory=list)


class _DirLock:
    """An advisory ``flock`` on DIR/.lock: one sweep process per directory."""

    def __init__(self, out_dir: Path) -> None:
        import fcntl

        self.path = out_dir / ".lock"
        self.fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise InputError(f"{out_dir}: another sweep ({holder}) is using this directory") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        self.fh.flush()

    def release(self) -> None:
        import fcntl

        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
        finally:
            self.fh.close()


def run_sweep(
    spec: SweepSpec | str | Path,
    out_dir: str | Path | None = None,
    *,
    backend: str | None = None,
    address: str | None = None,
    max_concurrent: int | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep; see the module docstring.

    ``on_result`` is called with each finished row (a dict of the database columns) after
    it is stored; an exception it raises stops the sweep like an interruption (rows in
    flight go back to ``pending``). Raises :class:`InputError` for bad specs and options.
    """
    say = log or (lambda s: None)
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    backend = backend or spec.backend
    if backend not in BACKENDS:
        raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if address and backend != "ray":
        raise InputError("--address joins a Ray cluster; it needs --backend ray")
    if max_concurrent is not None and max_concurrent < 1:
        raise InputError(f"--max-concurrent must be >= 1, got {max_concurrent}")
    if backend == "ray":
        _import_ray(address)
    out = Path(out_dir) if out_dir is not None else Path("sweeps") / spec.name
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    runs = expand_spec(spec)
    out.mkdir(parents=True, exist_ok=True)
    lock = _DirLock(out)
    store: SweepStore | None = None
    try:
        store = SweepStore(out / DB_NAME)
        existing = store.count()
        _remove_partial_run_dirs(out / "runs")
        if existing and not resume:
            raise InputError(f"{out}: already holds a sweep ({existing} runs); pass --resume to continue it, or choose another --out")
        reset = store.reset("running")
        if retry_failed:
            reset += store.reset("failed")
        added = store.add(runs)
        store.set_meta("name", spec.name)
        store.set_meta("spec", json.dumps(spec.to_json(), default=_json_safe))
        store.set_meta("swept_keys", json.dumps(spec.swept_keys))
        if spec.text:
            write_atomic(out / "spec.toml", spec.text)
        hashes = {r.hash for r in runs}
        todo = store.pending(hashes)
        stray = len(store.pending()) - len(todo)
        if resume:
            say(f"resuming {out}: {store.count('done')} done, {reset} interrupted or retried, {added} new, {len(todo)} to run"
                + (f" ({stray} pending runs are no longer in the spec and are left alone)" if stray else ""))
        else:
            dup = spec.size - len(runs)
            say(f"sweep {spec.name}: {len(runs)} configurations" + (f" ({dup} duplicates dropped)" if dup else "") + f" -> {out}")
        try:
            ran = _execute(spec, store, todo, out, backend, address, max_concurrent, progress, on_result, say) if todo else 0
        except BaseException:
            try:  # the report of what finished is still worth having
                write_sweep_report(out, store=store)
            except Exception:
                pass
            raise
        if spec.front_reports:
            _render_front_reports(out, _front_rows(store.rows()), say)
        report = write_sweep_report(out, store=store)
        return SweepResult(out, out / DB_NAME, report, store.counts(), ran, added, reset, _front_rows(store.rows()))
    finally:
        if store is not None:
            store.close()
        lock.release()


def _chunks(rows: Sequence[sqlite3.Row], workers: int, max_size: int) -> list[list[sqlite3.Row]]:
    """Split pending rows into tasks: same-shape groups cut into near-equal chunks of at
    most ``max_size``, aiming at ``workers`` or more tasks so the pool stays busy."""
    groups: dict[Any, list[sqlite3.Row]] = {}
    order: list[Any] = []
    for r in rows:
        key = r["group_key"] if r["group_key"] is not None else ("alone", r["config_hash"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    target = max(1, min(max_size, math.ceil(len(rows) / max(1, workers))))
    out: list[list[sqlite3.Row]] = []
    for key in order:
        g = groups[key]
        n = math.ceil(len(g) / target)
        size = math.ceil(len(g) / n)
        out += [g[i:i + size] for i in range(0, len(g), size)]
    return out


def _execute(spec: SweepSpec, store: SweepStore, todo: list[sqlite3.Row], out: Path, backend_name: str, address: str | None,
             max_concurrent: int | None, progress: bool, on_result: Callable[[dict[str, Any]], None] | None,
             say: Callable[[str], None]) -> int:
    from tqdm.auto import tqdm

    owner = f"{socket.gethostname()}:{os.getpid()}:{time.time():.3f}"
    conc = max_concurrent or spec.max_concurrent
    if backend_name == "local":
        workers = conc or os.cpu_count() or 1
        backend: Any = _LocalBackend(workers)
    else:
        backend = _RayBackend(address, conc, quiet=not progress)
        workers = conc or backend.workers
    env = {k: os.environ[k] for k in ("ALGODISCOVER_CACHE",) if k in os.environ}
    queue = deque(_chunks(todo, workers, spec.ensemble))
    in_flight: dict[Any, list[str]] = {}
    bar = tqdm(total=len(todo), desc=f"sweep {spec.name}", unit="run", disable=not progress)
    tally = {"done": 0, "diverged": 0, "failed": 0}
    ran = 0
    clean = False
    try:
        while queue or in_flight:
            while queue and len(in_flight) < workers:
                chunk = queue.popleft()
                claimed = store.claim([r["config_hash"] for r in chunk], owner)
                if not claimed:
                    continue
                by_hash = {r["config_hash"]: r for r in chunk}
                payload = {"runs": [{"hash": h, "config": json.loads(by_hash[h]["config"])} for h in claimed],
                           "formats": list(spec.formats), "ensemble": spec.ensemble > 1, "env": env, "threads": 1}
                in_flight[backend.submit(payload)] = claimed
            for handle in backend.wait(list(in_flight), timeout=1.0):
                hashes = in_flight.pop(handle)
                try:
                    results = backend.result(handle)
                except _WorkerLost as exc:
                    store.release(hashes, owner)
                    raise _SweepAborted(f"{exc}; its {len(hashes)} runs are pending again (rerun with --resume)") from None
                except Exception as exc:
                    results = [{"hash": h, "status": "failed", "message": _one_line(exc)} for h in hashes]
                for res in results:
                    row = _store_result(store, out, res, owner, backend.name)
                    ran += 1
                    tally[res["status"]] = tally.get(res["status"], 0) + 1
                    bar.update(1)
                    bar.set_postfix(tally, refresh=False)
                    if on_result is not None:
                        on_result(row)
        clean = True
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM, an on_result callback) or aborted: rows in flight
        # go back to pending; finished rows stay
        store.release([h for hs in in_flight.values() for h in hs], owner)
        raise
    finally:
        bar.close()
        if isinstance(backend, _RayBackend):
            backend.shutdown(interrupted=not clean, handles=list(in_flight))
        else:
            backend.shutdown(interrupted=not clean)
    return ran


class _SweepAborted(RuntimeError):
    """The sweep cannot go on (a worker died); finished rows are kept."""


def _store_result(store: SweepStore, out: Path, res: dict[str, Any], owner: str, backend: str) -> dict[str, Any]:
    h = res["hash"]
    run_id = h[:16]
    run_dir = None
    if res["status"] == "done":
        _write_run_dir(out / "runs" / run_id, res.get("files", {}))
        run_dir = f"runs/{run_id}"
    store.finish(h, owner, res, run_dir, backend)
    row = store.db.execute("SELECT * FROM runs WHERE config_hash = ?", (h,)).fetchone()
    return dict(row)


def _write_run_dir(target: Path, files: Mapping[str, bytes]) -> None:
    """Write a run directory atomically: a temporary sibling, then a rename."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for rel, data in files.items():
            p = tmp / rel
            if ".." in Path(rel).parts or Path(rel).is_absolute():
                raise RuntimeError(f"refusing to write {rel!r} outside the run directory")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _render_front_reports(out: Path, front: Sequence[Mapping[str, Any]], say: Callable[[str], None]) -> None:
    """HTML reports (``reports.render_run``) for the Pareto-front runs that have none."""
    missing = [r for r in front if r["run_dir"] and not (out / r["run_dir"] / "report.html").exists()]
    render = _render_run() if missing else None
    if render is None:
        return
    for r in missing:
        d = out / r["run_dir"]
        try:
            render(json.loads((d / "analysis.json").read_text(encoding="utf-8")), d, formats=("html",))
        except Exception as exc:  # a report that cannot be drawn must not lose the sweep
            say(f"warning: no report for {r['run_dir']}: {_one_line(exc)}")


def _remove_partial_run_dirs(runs_dir: Path) -> None:
    """Delete half-written run directories (``runs/.<id>.*``) a killed sweep left behind;
    only called with the directory lock held."""
    import shutil

    if runs_dir.is_dir():
        for p in runs_dir.glob(".*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


# ============================================================================ the report
def pareto_front(points: Sequence[tuple[float, float, Any]]) -> list[Any]:
    """Ids of the points ``(cost, error, id)`` that no other point beats: no point with
    cost <= and error <=, one of them strictly (lower is better for both). Sorted by cost."""
    best = math.inf
    front = []
    for c, e, i in sorted(points, key=lambda p: (p[0], p[1])):
        if e < best:
            front.append(i)
            best = e
    return front


def _front_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    ok = [r for r in rows if r["status"] == "done" and r["error"] is not None and r["cost"] is not None]
    if not ok:
        return []
    metric = max({r["error_metric"] for r in ok}, key=lambda m: sum(r["error_metric"] == m for r in ok))
    ok = [r for r in ok if r["error_metric"] == metric]
    ids = set(pareto_front([(r["cost"], r["error"], r["config_hash"]) for r in ok]))
    return sorted((r for r in ok if r["config_hash"] in ids), key=lambda r: (r["cost"], r["error"]))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Sweep {{ name }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.86em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.front td { background: #eef6ff; } .st-done { color: #1a7f37; } .st-diverged { color: #b35900; } .st-failed { color: #c00; }
.muted { color: #666; } code { font-size: 0.95em; } .plot svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>Sweep <code>{{ name }}</code></h1>
<p>{{ counts.done }} done, {{ counts.diverged }} diverged, {{ counts.failed }} failed{% if counts.pending or counts.running %}, {{ counts.pending + counts.running }} not yet run{% endif %} of {{ total }} configurations.
Swept: {% for k in keys %}<code>{{ k }}</code>{% if not loop.last %}, {% endif %}{% else %}nothing (one configuration){% endfor %}.
Generated {{ generated }} by algodiscover {{ version }}.</p>
{% if plot %}
<h2>Accuracy against cost</h2>
<p class="muted">{{ metric }} against cost ({{ unit }}); the Pareto front (blue, joined) holds the runs that no other run beats on both. Points link to their run.</p>
<div class="plot">{{ plot }}</div>
{% endif %}
{% if front %}
<h2>Pareto front</h2>
{{ table(front) }}
{% endif %}
<h2>All runs</h2>
{{ table(rows) }}
</body></html>
"""

_TABLE = """<table><thead><tr><th>run</th><th>status</th>{% for k in keys %}<th>{{ k }}</th>{% endfor %}
<th>cost</th><th>error</th><th>exact order</th><th>pers. order</th><th>measured order</th><th>classical / learned</th><th>final loss</th><th>identified as</th><th>train s</th></tr></thead><tbody>
{% for r in rows %}<tr class="{{ 'front' if r.front else '' }}">
<td>{% if r.link %}<a href="{{ r.link }}"><code>{{ r.run_id }}</code></a>{% else %}<code>{{ r.run_id }}</code>{% endif %}</td>
<td class="st-{{ r.status }}" title="{{ r.message or '' }}">{{ r.status }}</td>
{% for k in keys %}<td>{{ r.swept[k] }}</td>{% endfor %}
<td class="num">{{ r.cost }}</td><td class="num">{{ r.error }}</td><td class="num">{{ r.exact_order }}</td><td class="num">{{ r.personalised_order }}</td>
<td class="num">{{ r.measured_order }}</td><td class="num" title="{{ r.best_classical }}">{{ r.ratio }}</td><td class="num">{{ r.final_loss }}</td>
<td>{{ r.identified_as }}</td><td class="num">{{ r.train_s }}</td></tr>
{% endfor %}</tbody></table>"""


def write_sweep_report(out_dir: str | Path, *, store: SweepStore | None = None) -> Path:
    """Write DIR/report.html from the sweep database (can be called while a sweep runs)."""
    out = Path(out_dir)
    own = store is None
    if own:
        if not (out / DB_NAME).exists():
            raise InputError(f"{out}: no {DB_NAME} (not a sweep directory)")
        store = SweepStore(out / DB_NAME)
    try:
        rows = store.rows()
        name = store.get_meta("name") or out.name
        keys = json.loads(store.get_meta("swept_keys") or "[]")
        counts = store.counts()
    finally:
        if own:
            store.close()
    html = render_sweep_html(rows, name=name, keys=keys, counts=counts, base=out)
    path = out / REPORT_NAME
    write_atomic(path, html)
    return path


def render_sweep_html(rows: Sequence[dict[str, Any]], *, name: str, keys: Sequence[str], counts: Mapping[str, int], base: Path) -> str:
    """The self-contained sweep report (inline CSS and SVG; links relative to ``base``)."""
    import jinja2
    from markupsafe import Markup

    front = _front_rows(rows)
    front_ids = {r["config_hash"] for r in front}
    view = [_row_view(r, keys, base, r["config_hash"] in front_ids) for r in rows]
    front_view = [v for v in view if v["front"]]
    front_view.sort(key=lambda v: (v["_cost"], v["_error"]))
    metric = front[0]["error_metric"] if front else ""
    unit = front[0]["cost_unit"] if front else ""
    plot = _pareto_svg(rows, front_ids, metric, unit, base) if front else ""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    table = env.from_string(_TABLE)

    def render_table(items: Sequence[dict[str, Any]]) -> Any:
        return Markup(table.render(rows=items, keys=keys))

    from . import __version__

    return env.from_string(_TEMPLATE).render(
        name=name, counts={s: counts.get(s, 0) for s in STATUSES}, total=sum(counts.values()), keys=keys, plot=Markup(plot),
        front=front_view, rows=view, table=render_table, metric=metric, unit=unit,
        generated=time.strftime("%Y-%m-%d %H:%M:%S"), version=__version__)


def _row_view(r: Mapping[str, Any], keys: Sequence[str], base: Path, on_front: bool) -> dict[str, Any]:
    assignment = json.loads(r["assignment"] or "{}")
    return {
        "run_id": r["run_id"], "status": r["status"], "message": r["message"], "front": on_front,
        "link": _run_link(r, base), "swept": {k: _fmt(assignment.get(k)) for k in keys},
        "cost": _fmt(r["cost"]), "error": _fmt(r["error"]), "exact_order": _fmt(r["exact_order"]),
        "personalised_order": _fmt(r["personalised_order"]), "measured_order": _fmt(r["measured_order"], 3),
        "ratio": _fmt(r["best_classical_ratio"], 3), "best_classical": _best_classical(r), "final_loss": _fmt(r["final_loss"]),
        "identified_as": _identified(r), "train_s": _fmt(r["train_s"], 3),
        "_cost": r["cost"] if r["cost"] is not None else math.inf, "_error": r["error"] if r["error"] is not None else math.inf,
    }


def _best_classical(r: Mapping[str, Any]) -> str:
    m = json.loads(r["metrics"]) if r["metrics"] else {}
    b = m.get("best_classical")
    return f"best classical method at equal cost: {b} (error ratio > 1: the learned method is more accurate)" if b else ""


def _identified(r: Mapping[str, Any]) -> str:
    m = json.loads(r["metrics"]) if r["metrics"] else {}
    return m.get("identified_as") or ""


def _run_link(r: Mapping[str, Any], base: Path) -> str | None:
    if not r["run_dir"]:
        return None
    for name in ("report.html", "analysis.json", "algorithm.json"):
        if (base / r["run_dir"] / name).exists():
            return f"{r['run_dir']}/{name}"
    return f"{r['run_dir']}/"


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.{digits}g}"
    return str(v)


def _pareto_svg(rows: Sequence[dict[str, Any]], front_ids: set[str], metric: str, unit: str, base: Path) -> str:
    """Accuracy against cost as an SVG string; every point is a link to its run."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    ok = [r for r in rows if r["status"] == "done" and r["error"] is not None and r["cost"] is not None and r["error_metric"] == metric]
    positive = [r["error"] for r in ok if r["error"] > 0]
    floor = min(positive) / 10 if positive else 1e-16
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.add_subplot(1, 1, 1)
    costs = sorted({r["cost"] for r in ok})
    spread = 0.25 * (min(b - a for a, b in zip(costs, costs[1:])) if len(costs) > 1 else 1.0)
    others = [r for r in ok if r["config_hash"] not in front_ids]
    front = sorted((r for r in ok if r["config_hash"] in front_ids), key=lambda r: r["cost"])

    def xy(rs: Sequence[dict[str, Any]], jitter: bool) -> tuple[list[float], list[float]]:
        xs = [r["cost"] + (spread * (((r["idx"] * 0.618034) % 1.0) - 0.5) if jitter else 0.0) for r in rs]
        ys = [max(r["error"], floor) for r in rs]
        return xs, ys

    if others:
        xs, ys = xy(others, True)
        sc = ax.scatter(xs, ys, s=22, color="#9a9a9a", alpha=0.75, label="other runs", zorder=2)
        sc.set_urls([_run_link(r, base) for r in others])
    xs, ys = xy(front, False)
    ax.step(xs, ys, where="post", color="#1f6fd1", lw=1.2, zorder=3)
    sc = ax.scatter(xs, ys, s=42, color="#1f6fd1", edgecolor="white", lw=0.8, label="Pareto front", zorder=4)
    sc.set_urls([_run_link(r, base) for r in front])
    for r, x, y in zip(front, xs, ys):
        ax.annotate(r["run_id"][:8], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7, color="#1f6fd1")
    ax.set_yscale("log")
    ax.set_xlabel(f"cost ({unit})")
    ax.set_ylabel(metric)
    ax.set_xticks(costs)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


# ============================================================================ the command
def _add_arguments(p: argparse.ArgumentParser) -> None:
    from .cliargs import positive_int

    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec: [sweep], [base] run config, [grid], [random] (see 'python -m pydoc algodiscover.sweep')")
    p.add_argument("--backend", choices=BACKENDS, default=None, help="local process pool or ray (default: the spec's sweep.backend, else local)")
    p.add_argument("--address", metavar="ADDR", default=None, help="join this Ray cluster (ray backend; default: start a local one)")
    p.add_argument("--max-concurrent", type=positive_int, default=None, metavar="N", help="tasks in flight (default: CPU count)")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out: rerun interrupted runs, add new configurations")
    p.add_argument("--retry-failed", action="store_true", help="with --resume, also rerun runs that failed with an error")
    p.add_argument("--out", metavar="DIR", default=None, help="sweep directory (default ./sweeps/<name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``sweep`` on the CLI's subparsers (``cmd_sweep`` runs it)."""
    p = subparsers.add_parser("sweep", help="grid/random search over structures and seeds (resumable; SQLite; Pareto report)",
                              description="Run a sweep spec on a local process pool or Ray; results go to DIR/sweep.db, runs to DIR/runs/, the Pareto report to DIR/report.html.")
    _add_arguments(p)
    return p


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep of parsed CLI arguments; 0 when every run finished (done or diverged),
    1 when some failed with an error or a worker died, 130 when interrupted."""
    import signal

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave SIGTERM alone
        old = None
    printer = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    try:
        res = run_sweep(args.spec, args.out, backend=args.backend, address=args.address, max_concurrent=args.max_concurrent,
                        resume=args.resume, retry_failed=args.retry_failed, progress=not args.quiet, log=printer)
    except _SweepAborted as exc:
        print(f"algodiscover: sweep stopped: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("algodiscover: sweep interrupted; finished runs are kept, rerun with --resume to continue", file=sys.stderr)
        return 130
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    c = res.counts
    print(f"sweep {res.out_dir}: {c['done']} done, {c['diverged']} diverged, {c['failed']} failed"
          + (f", {c['pending'] + c['running']} not run" if c["pending"] + c["running"] else "") + f" ({res.ran} run now)")
    if res.front:
        unit = res.front[0]["cost_unit"]
        print(f"Pareto front ({res.front[0]['error_metric']} against {unit}):")
        for r in res.front:
            print(f"  cost {_fmt(r['cost'])}  error {_fmt(r['error'])}  {r['run_dir']}")
    if res.report is not None:
        print(f"report: {res.report}")
    return 1 if c["failed"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m algodiscover.sweep``: the ``sweep`` command on its own (same exit codes)."""
    from .analysis.errors import AnalysisInputError

    from .cliargs import EXIT_BAD_INPUT, Parser

    p = Parser(prog="algodiscover sweep", description=__doc__.split("\n\n")[0])
    _add_arguments(p)
    args = p.parse_args(argv)
    try:
        return cmd_sweep(args)
    except AnalysisInputError as exc:
        print(f"algodiscover: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    # run through the imported module so workers unpickle algodiscover.sweep.run_chunk
    from algodiscover.sweep import main as _main

    sys.exit(_main())
