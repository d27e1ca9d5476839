"""Run configuration: TOML files, command-line overrides and the built-in default.

A configuration file mirrors :class:`RunConfig`::

    name = "square-2"          # optional run name (default: <class>-<family>-<stages>)
    seed = 0

    [problem]
    class = "ode"              # ode | linear | nonlinear
    family = "square"          # a built-in family, or "custom" with a [family] table

    [model]
    stages = 2                 # inner evaluations n
    outer = 1                  # outer iterations K unrolled in training
    consistency = "none"       # none | softmax | affine
    init = "random"            # random | zeros | a catalogue method such as "RK4"
    init_scale = 0.1
    derivatives = "none"       # ODEs: "none", "g" (every stage evaluates f and g = f'(y) f(y)),
                               # or one token per stage from "f", "g", "fg", e.g. ["fg", "g"]
    memory = 0                 # ODEs, linear: earlier outer iterations the update reuses (0: plain R2N2)
    memory_form = "full"       # full | adams (no past differences) | momentum (no past evaluations)
    startup = "rk4"            # first `memory` steps: rk4 | rk (plain R2N2 steps) | exact (reference);
                               # linear: rk only (its default)

    [train]
    adam_steps = 300
    lr = 0.02
    lbfgs_steps = 200

    [ode]                      # options of the problem class (see its documentation)
    samples = 512
    taylor_order = 0

Unknown keys, wrong types and bad values are reported with the key named.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import InputError
from .model import CONSISTENCY_MODES
from .options import resolve_options
from .training import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ModelConfig", "RunConfig", "load_config", "DEFAULT_CONFIG", "PROBLEM_CLASSES"]

PROBLEM_CLASSES = ("ode", "linear", "nonlinear")
MAX_SEED = 2**63 - 1
_TOP_KEYS = {"name", "seed", "problem", "model", "train", "family", *PROBLEM_CLASSES}


@dataclass(frozen=True)
class ModelConfig:
    """The ``[model]`` section. ``derivatives`` (ODEs only) is the stage pattern of a
    two-derivative model (:func:`analysis.two_derivative_methods.normalise_pattern`): None
    (``"none"``, the ordinary R2N2), or one token per stage, ``"f"``, ``"g"`` or ``"fg"``;
    ``"g"`` is read as ``"fg"`` at every stage. It is stored resolved (a tuple), and left out
    of :meth:`RunConfig.to_json` when None, so an ordinary run's configuration is what it was
    before derivative modules existed.

    ``memory`` (M >= 0) earlier outer iterations the update reuses
    (:mod:`algodiscover.memory`), with ``memory_form`` (which memory weights are learned) and
    ``startup`` (the rule for the first M iterations: ``"rk4"`` classical RK4 steps, ``"rk"``
    plain R2N2 steps with the same weights, ``"exact"`` the reference solution; training
    unrolls ``outer >= M + 1`` iterations so the memory weights get a signal). With
    ``memory = 0`` the three keys are left out of :meth:`RunConfig.to_json`: a run without
    memory has the configuration (and content hash) it had before memory existed."""

    stages: int = 2
    outer: int = 1
    consistency: str | None = None
    init: str = "random"
    init_scale: float = 0.1
    derivatives: tuple[str, ...] | None = None
    memory: int = 0
    memory_form: str = "full"
    startup: str = "rk4"

    def __post_init__(self) -> None:
        if not isinstance(self.stages, int) or isinstance(self.stages, bool) or not 1 <= self.stages <= 16:
            raise InputError(f"model.stages must be an integer in 1..16, got {self.stages!r}")
        if not isinstance(self.outer, int) or isinstance(self.outer, bool) or not 1 <= self.outer <= 200:
            raise InputError(f"model.outer must be an integer in 1..200, got {self.outer!r}")
        if self.consistency not in CONSISTENCY_MODES:
            raise InputError(f"model.consistency must be none, softmax or affine, got {self.consistency!r}")
        if not isinstance(self.init, str):
            raise InputError(f"model.init must be a string, got {self.init!r}")
        if not (isinstance(self.init_scale, (int, float)) and self.init_scale >= 0):
            raise InputError(f"model.init_scale must be a number >= 0, got {self.init_scale!r}")
        from .analysis.convergence_order import is_nonlinear_pattern, normalise_nonlinear_pattern
        from .analysis.errors import AnalysisInputError
        from .analysis.two_derivative_methods import normalise_pattern

        # tokens F / jvp: a nonlinear Newton-type pattern (analysis.convergence_order); else f / g / fg (ODEs)
        norm = normalise_nonlinear_pattern if is_nonlinear_pattern(self.derivatives) else normalise_pattern
        try:
            object.__setattr__(self, "derivatives", norm(self.derivatives, self.stages, where="model.derivatives"))
        except AnalysisInputError as exc:
            raise InputError(str(exc)) from None
        from .memory import MEMORY_FORMS, STARTUP_RULES

        if not isinstance(self.memory, int) or isinstance(self.memory, bool) or not 0 <= self.memory <= 8:
            raise InputError(f"model.memory must be an integer in 0..8, got {self.memory!r}")
        if self.memory_form not in MEMORY_FORMS:
            raise InputError(f"model.memory_form must be one of {', '.join(MEMORY_FORMS)}, got {self.memory_form!r}")
        if self.startup not in STARTUP_RULES:
            raise InputError(f"model.startup must be one of {', '.join(STARTUP_RULES)}, got {self.startup!r}")
        if self.memory and self.outer < self.memory + 1:
            raise InputError(f"model.outer must be at least model.memory + 1 = {self.memory + 1} (the first {self.memory} "
                             f"iteration(s) are start-up steps; the memory weights need a later one), got {self.outer}")
        if self.memory and self.derivatives is not None:
            raise InputError("model.memory and model.derivatives cannot be combined (a memory step reuses f evaluations only)")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. ``options`` holds the problem class's own section
    (validated by that class's config dataclass when the run starts); ``custom_family`` the
    ``[family]`` table of a user-defined family."""

    problem_class: str = "ode"
    family: str = "square"
    seed: int = 0
    name: str | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    options: dict[str, Any] = field(default_factory=dict)
    custom_family: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.problem_class not in PROBLEM_CLASSES:
            raise InputError(f"problem class must be one of {', '.join(PROBLEM_CLASSES)}, got {self.problem_class!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise InputError(f"seed must be an integer >= 0 and < 2**63, got {self.seed!r}")
        if self.name is not None:
            check_run_name(self.name)
        if not isinstance(self.family, str) or not self.family:
            raise InputError(f"problem.family must be a non-empty string, got {self.family!r}")
        if self.family == "custom" and not self.custom_family:
            raise InputError("problem.family = 'custom' needs a [family] table")
        if self.custom_family:
            _check_custom_family(self.problem_class, self.custom_family)
        from .analysis.convergence_order import is_nonlinear_pattern

        nonlinear_pattern = self.model.derivatives is not None and is_nonlinear_pattern(self.model.derivatives)
        if nonlinear_pattern and self.problem_class != "nonlinear":
            raise InputError(f"model.derivatives: the tokens F, jvp apply to problem class nonlinear, not {self.problem_class!r}")
        if self.model.derivatives is not None and not nonlinear_pattern and self.problem_class != "ode":
            raise InputError(f"model.derivatives applies to problem class ode (two-derivative Runge-Kutta methods; tokens F, jvp for "
                             f"nonlinear systems), not {self.problem_class!r}")
        if self.model.memory and self.problem_class in ("linear", "nonlinear") and self.model.startup != "rk":
            raise InputError(f"model.startup = {self.model.startup!r} applies to ODEs (classical or exact start-up values); a "
                             f"{self.problem_class} solver with memory starts with plain R2N2 steps: set model.startup = \"rk\"")
        # Every RunConfig holds its class options fully resolved (defaults filled in).
        object.__setattr__(self, "options", resolve_options(self.problem_class, dict(self.options)))

    @property
    def run_name(self) -> str:
        return self.name or f"{self.problem_class}-{self.family if self.family != 'custom' else (self.custom_family or {}).get('name', 'custom')}-{self.model.stages}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.run_name,
            "seed": self.seed,
            "problem": {"class": self.problem_class, "family": self.family},
            "model": _model_json(self.model),
            "train": self.train.to_json(),
            self.problem_class: dict(self.options),
            **({"family": self.custom_family} if self.custom_family else {}),
        }

    def to_toml_dict(self) -> dict[str, Any]:
        """The configuration as TOML tables: the same data as :meth:`to_json`, which holds no
        null (``consistency = "none"``; unset options are left out), so that ``config.toml``
        and the configuration a report shows say the same thing."""
        return self.to_json()

    def command(self) -> str:
        """The shortest ``algodiscover discover`` command line that reproduces this run
        (flags when only they differ from the class default, else ``--config``)."""
        base = default_config(self.problem_class)
        flags = base.with_overrides(family=self.family, stages=self.model.stages, outer=self.model.outer, seed=self.seed, name=self.name)
        if flags.to_json() == self.to_json():
            parts = ["algodiscover discover", self.problem_class]
            if self.family != base.family:
                parts.append(f"--family {self.family}")
            if self.model.stages != base.model.stages:
                parts.append(f"--stages {self.model.stages}")
            if self.model.outer != base.model.outer:
                parts.append(f"--outer {self.model.outer}")
            if self.seed != base.seed:
                parts.append(f"--seed {self.seed}")
            return " ".join(parts)
        return "algodiscover discover --config config.toml   # config.toml is saved in the run directory"

    def with_overrides(self, *, family: str | None = None, stages: int | None = None, outer: int | None = None,
                       seed: int | None = None, name: str | None = None) -> "RunConfig":
        """Apply command-line overrides (None means "not given")."""
        cfg = self
        model_kw: dict[str, Any] = {k: v for k, v in (("stages", stages), ("outer", outer)) if v is not None}
        pattern = cfg.model.derivatives
        if pattern is not None and stages is not None and stages != cfg.model.stages:
            krylov = pattern[0] == "F" and len(set(pattern[1:])) == 1 and pattern[1] == "jvp"  # the shorthand "jvp"
            if len(set(pattern)) != 1 and not krylov:
                raise InputError(f"--stages {stages}: the configuration lists a derivative pattern for {cfg.model.stages} stages "
                                 f"({', '.join(pattern)}); change model.derivatives with it")
            model_kw["derivatives"] = ["F"] + ["jvp"] * (stages - 1) if krylov else [pattern[0]] * stages
        if model_kw:
            try:
                cfg = replace(cfg, model=replace(cfg.model, **model_kw))
            except InputError as exc:
                raise InputError(str(exc).replace("model.", "--")) from None
        top = {k: v for k, v in (("family", family), ("seed", seed), ("name", name)) if v is not None}
        if family is not None and family != "custom":
            top["custom_family"] = None
        return replace(cfg, **top) if top else cfg


def _model_json(model: ModelConfig) -> dict[str, Any]:
    """``[model]`` as JSON; ``derivatives`` only when set (a list of stage tokens), ``memory``,
    ``memory_form`` and ``startup`` only with memory."""
    d = asdict(model)
    d["consistency"] = d["consistency"] or "none"  # as config.toml writes it: no null in a saved configuration
    if d["derivatives"] is None:
        del d["derivatives"]
    else:
        d["derivatives"] = list(d["derivatives"])
    if not d["memory"]:
        for key in ("memory", "memory_form", "startup"):
            del d[key]
    return d


def _check_custom_family(problem_class: str, table: Mapping[str, Any]) -> None:
    """Build a user's [family] table once, so that a bad or hostile expression is refused
    when the configuration is read (every expression goes through the safe parser of
    ``analysis.expressions``; nothing is evaluated as Python)."""
    if problem_class == "ode":
        from .ode_families import ode_family_from_config

        ode_family_from_config(table, source="config")
    elif problem_class == "nonlinear":
        from .nonlinear_families import nonlinear_family_from_config

        nonlinear_family_from_config(table, source="config")
    else:
        raise InputError(f"the {problem_class} branch has no custom [family] tables; use family = \"matrix\" with linear.path")


def check_run_name(name: Any) -> str:
    """A run name becomes a directory name under ``./runs``: no path separators, no
    leading dot, printable, at most 100 characters."""
    if (not isinstance(name, str) or not name or len(name) > 100 or name.startswith(".")
            or any(ch in name for ch in "/\\") or not name.isprintable()):
        raise InputError(f"run name must be a plain directory name (no '/', '\\', leading '.', at most 100 characters), got {name!r}")
    return name


def parse_range(value: Any, where: str) -> tuple[float, float]:
    """A ``[low, high]`` pair of finite numbers with ``low <= high`` (config ranges)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise InputError(f"{where} must be [low, high], got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise InputError(f"{where} must be a finite range with low <= high, got {value!r}")
    return lo, hi


def _table(data: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    val = data.get(key, {})
    if not isinstance(val, Mapping):
        raise InputError(f"{source}: [{key}] must be a table")
    return dict(val)


def _build(cls, table: dict[str, Any], section: str, source: str):
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{source}: unknown key {section}.{unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    try:
        return cls(**table)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    except TypeError as exc:
        raise InputError(f"{source}: [{section}] {exc}") from None


def config_from_mapping(data: Mapping[str, Any], source: str = "config") -> RunConfig:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InputError(f"{source}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    prob = _table(data, "problem", source)
    bad = sorted(set(prob) - {"class", "family"})
    if bad:
        raise InputError(f"{source}: unknown key problem.{bad[0]!r} (allowed: class, family)")
    pclass = prob.get("class", "ode")
    if pclass not in PROBLEM_CLASSES:
        raise InputError(f"{source}: problem.class must be one of {', '.join(PROBLEM_CLASSES)}, got {pclass!r}")
    base = default_config(pclass)
    model_t = _table(data, "model", source)
    if "consistency" in model_t and model_t["consistency"] in ("none", "None"):
        model_t["consistency"] = None
    if isinstance(model_t.get("derivatives"), list):
        model_t["derivatives"] = tuple(model_t["derivatives"])
    model = _build(ModelConfig, {**asdict(base.model), **model_t}, "model", source)
    train = _build(TrainConfig, {**base.train.to_json(), **_table(data, "train", source)}, "train", source)
    for other in PROBLEM_CLASSES:
        if other != pclass and other in data:
            raise InputError(f"{source}: section [{other}] does not apply to problem.class = {pclass!r}")
    options = {**base.options, **_table(data, pclass, source)}
    custom = _table(data, "family", source) or None
    family = prob.get("family", "custom" if custom else base.family)
    if not isinstance(family, str):
        raise InputError(f"{source}: problem.family must be a string")
    if custom and family != "custom":
        raise InputError(f"{source}: a [family] table needs problem.family = \"custom\"")
    seed = data.get("seed", 0)
    name = data.get("name")
    try:
        return RunConfig(pclass, family, seed, name, model, train, options, custom)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None


def load_config(path: str | Path) -> RunConfig:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such config file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: malformed TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read ({exc.__class__.__name__})") from None
    return config_from_mapping(data, source=str(p))


def default_config(problem_class: str = "ode") -> RunConfig:
    """The built-in default of each problem class (``discover`` with no arguments runs
    the ODE one: 2 stages on y' = -a y^2, the Runge-Kutta network paper's example)."""
    if problem_class == "ode":
        return RunConfig("ode", "square", 0, None, ModelConfig(stages=2), TrainConfig(), {})
    if problem_class == "linear":
        return RunConfig("linear", "spd", 0, None, ModelConfig(stages=4, outer=3, startup="rk"), TrainConfig(adam_steps=300, lr=0.02, lbfgs_steps=300), {})
    if problem_class == "nonlinear":
        return RunConfig("nonlinear", "hequation", 0, None, ModelConfig(stages=2, outer=6), TrainConfig(adam_steps=200, lr=0.01, lbfgs_steps=200), {})
    raise InputError(f"unknown problem class {problem_class!r}")


DEFAULT_CONFIG = default_config("ode")
