"""The sweep spec: its schema, parsing and validation, and its expansion into run configurations.

Holds :class:`SweepSpec` (the parsed, validated TOML spec), :class:`Distribution` (a random
search distribution), :class:`SweepRun` (one configuration of an expanded spec),
:func:`load_spec` / :func:`spec_from_mapping`, :func:`expand_spec` (grid x random draws,
deduplicated by :func:`config_hash`) and the size limit on an expansion
(:data:`DEFAULT_MAX_CONFIGS`, raised by ``sweep.max_configs`` or ``--max-configs``). Imports
the standard library and ``algodiscover.errors`` at module level; the run-configuration
modules (``config``, ``training``, ``families``, ``ensemble``, which load torch) only inside
the functions that need them. Nothing else of the sweep package is imported here.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import InputError
from .defaults import BACKENDS, DEFAULT_MAX_CONFIGS

if TYPE_CHECKING:  # the run-configuration modules import torch: load them only when needed
    from ..config import RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SweepSpec", "Distribution", "SweepRun", "load_spec", "spec_from_mapping", "expand_spec", "config_hash",
           "check_size", "BACKENDS", "DISTRIBUTIONS", "DEFAULT_MAX_CONFIGS"]

DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")
_SPEC_TABLES = ("sweep", "base", "grid", "random")
_SWEEP_KEYS = ("name", "backend", "max_concurrent", "ensemble", "formats", "front_reports", "seed", "max_configs")
_REPORT_FORMATS = ("html", "tex", "pdf")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
    """A parsed, validated sweep spec (the format is described in ``algodiscover.sweep``)."""

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
    max_configs: int = DEFAULT_MAX_CONFIGS
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
                "formats": list(self.formats), "front_reports": self.front_reports, "seed": self.seed,
                "max_configs": self.max_configs}


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
    max_configs = sw.get("max_configs", DEFAULT_MAX_CONFIGS)
    if not _is_int(max_configs, 1):
        raise InputError(f"{source}: sweep.max_configs must be an integer >= 1, got {max_configs!r}")

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
                     max_configs=max_configs, text=text)


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
    from ..config import PROBLEM_CLASSES, ModelConfig
    from ..training import TrainConfig

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
    from ..families import branch

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
    from ..config import config_from_mapping

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


def check_size(spec: SweepSpec, max_configs: int | None = None) -> int:
    """The spec's configuration count ``|grid| x samples``, or :class:`InputError` (one line
    naming the spec and the count) when it exceeds ``max_configs`` (default: the spec's
    ``sweep.max_configs``, itself :data:`DEFAULT_MAX_CONFIGS` unless set)."""
    limit = spec.max_configs if max_configs is None else max_configs
    n = spec.size
    if n > limit:
        raise InputError(f"{spec.source}: the sweep expands to {n:,} configurations, more than the limit of {limit:,} "
                         f"(raise it with --max-configs N or sweep.max_configs = N)")
    return n


def expand_spec(spec: SweepSpec, max_configs: int | None = None) -> list[SweepRun]:
    """Every configuration of the spec, in grid order then draw order, duplicates removed.

    Random draws come from ``random.Random(spec.seed)``, key by key in spec order, so the
    same spec always expands to the same configurations. A spec of more than
    ``max_configs`` configurations (default: ``spec.max_configs``) is refused before
    anything is drawn (:func:`check_size`).
    """
    from ..ensemble import ensemble_key

    check_size(spec, max_configs)
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
