"""The options of each problem class: the ``[ode]``, ``[linear]`` and ``[nonlinear]`` sections.

Frozen dataclasses that validate a run configuration's class section and fill in its
defaults, so that a :class:`~algodiscover.config.RunConfig` always holds the fully resolved
options (what ``config.toml`` saves and the report shows). Torch-free: parsing a
configuration or a sweep spec does not load torch. :data:`OPTIONS` maps each problem class
to its dataclass.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

from .errors import InputError

__all__ = ["OdeTrainingConfig", "LinearTrainingConfig", "NonlinearTrainingConfig", "OPTIONS", "resolve_options",
           "NORMALISATIONS", "TAYLOR_MODES", "OBJECTIVES", "MODES", "RHS_KINDS", "NONLINEAR_LARGE_SIZE"]

NORMALISATIONS = ("none", "reference")
TAYLOR_MODES = ("general", "family")
OBJECTIVES = ("residual", "minimax", "spectral", "auto")
#: ``linear.heldout = "auto"`` on one shared matrix of order m: ``HELDOUT_SCALE / sqrt(m)`` systems
#: (a polynomial iteration's matvecs grow with the condition number, about m^(1/2) to m here)
HELDOUT_SCALE = 2400.0
MODES = ("derivative-free", "newton-krylov")
#: above this many unknowns a nonlinear run scales its counts down (``nonlinear.scale = "auto"``)
#: and estimates the linearisation's spectra matrix-free
NONLINEAR_LARGE_SIZE = 2000
RHS_KINDS = ("unit", "box", "file")
_FAMILY_KEYS = ("size", "interval", "endpoints", "peclet", "path", "matrix_seed")

#: Most training samples of any class (a mistyped 10**9 would try to allocate gigabytes);
#: ALGODISCOVER_NO_LIMITS=1 in the environment lifts it.
MAX_SAMPLES = 100_000
_LIMIT_HINT = " (set ALGODISCOVER_NO_LIMITS=1 to lift the limit)"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def sample_limit() -> int:
    """:data:`MAX_SAMPLES`, or no practical limit when ``ALGODISCOVER_NO_LIMITS=1``."""
    return 10**12 if os.environ.get("ALGODISCOVER_NO_LIMITS") == "1" else MAX_SAMPLES


@dataclass(frozen=True)
class OdeTrainingConfig:
    """What the ODE loss looks at.

    samples : number of training problems
    normalise : ``"reference"`` divides each sample's squared error by that of
        ``reference_method`` (so small and large steps weigh alike); ``"none"`` uses the
        plain mean squared error divided by its value for the reference method
    reference_method : catalogue name used for normalisation (default forward Euler)
    taylor_order : 0 for none, else the order p targeted by the regulariser
    taylor_mode : ``"general"`` (every tree up to p) or ``"family"`` (the family's own
        order conditions up to p)
    taylor_weight : weight of the regulariser
    distill_objective : which member of a family of methods distillation returns:
        ``"nearest"`` (to the learned weights) or ``"principal-error"`` (the smallest
        principal error, on the family for a personalised target)
    """

    samples: int = 512
    normalise: str = "reference"
    reference_method: str = "Euler"
    taylor_order: int = 0
    taylor_mode: str = "general"
    taylor_weight: float = 100.0
    distill_objective: str = "nearest"

    def __post_init__(self) -> None:
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or not 1 <= self.samples <= sample_limit():
            raise InputError(f"ode.samples must be an integer in 1..{sample_limit():,}, got {self.samples!r}{_LIMIT_HINT}")
        if self.normalise not in NORMALISATIONS:
            raise InputError(f"ode.normalise must be one of {', '.join(NORMALISATIONS)}, got {self.normalise!r}")
        if self.taylor_mode not in TAYLOR_MODES:
            raise InputError(f"ode.taylor_mode must be one of {', '.join(TAYLOR_MODES)}, got {self.taylor_mode!r}")
        if not isinstance(self.taylor_order, int) or not 0 <= self.taylor_order <= 8:
            raise InputError(f"ode.taylor_order must be an integer in 0..8, got {self.taylor_order!r}")
        if not (isinstance(self.taylor_weight, (int, float)) and self.taylor_weight >= 0):
            raise InputError(f"ode.taylor_weight must be >= 0, got {self.taylor_weight!r}")
        from .analysis.distillation import OBJECTIVES

        if self.distill_objective not in OBJECTIVES:
            raise InputError(f"ode.distill_objective must be one of {', '.join(OBJECTIVES)}, got {self.distill_objective!r}")
        from .analysis import get_method

        get_method(self.reference_method)  # raises a clear error for unknown names

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LinearTrainingConfig:
    """The ``[linear]`` section.

    samples : training systems (matrices for ``spd``, right-hand sides otherwise)
    objective : ``"residual"``, ``"minimax"``, ``"spectral"`` (module docstring of
        :mod:`algodiscover.linear`) or ``"auto"`` (default): ``"spectral"`` where the
        training systems share one matrix and the right-hand sides are unit vectors (then the
        systems differ only in the weights of the eigencomponents, the spectrum is what they
        share, and training costs nothing that grows with m), ``"residual"`` otherwise
    weight_base : ``w_k = weight_base^k`` in the residual objective (default 4)
    weights : explicit ``[w_1, ..., w_K]`` instead (length ``model.outer``)
    h : ``"learned"`` or a fixed positive number
    h_init : starting h when h is learned (default ``1 / max |lambda|`` over the family's
        spectrum, so the random initial iteration is stable)
    minimax_outer : outer iterations M of the minimax objective
    temperature : sharpness tau of the soft maximum (minimax and spectral objectives)
    grid : points on the spectral interval for the spectral objective
    heldout : held-out systems in the measured comparison, or ``"auto"`` (default): 100
        (so that the bootstrap intervals of its ratios are narrow), and for systems that share
        one matrix of order m > 576, ``round(2400 / sqrt(m))`` (at least 2: 38 at m = 4096, 9
        at m = 65536, 2 at m = 10^6; the systems differ only in their right-hand sides, and
        the comparison's cost grows with m times the matvecs, which grow with m too);
        ``tol`` its target relative residual
        ``||r|| / ||r0||``; ``max_matvecs`` its budget per method and system
    rhs : the distribution of the right-hand sides, for training and held-out systems alike:
        ``"unit"`` (default: Gaussian vectors scaled to unit norm), ``"box"``
        (``rhs_mean + U[-rhs_halfwidth, rhs_halfwidth]^m``, componentwise uniform) or
        ``"file"`` (the rows of the array in ``rhs_path``: the last ``heldout`` rows are
        the held-out systems, the others train; ``samples`` is then not used)
    rhs_mean : ``b-bar`` of the box: one number (every component) or m numbers (default 0)
    rhs_halfwidth : half-width of the box (default 1)
    rhs_path : ``.npy`` file holding a (k, m) array, or ``.npz`` with key ``rhs``
    x0 : the initial guess of every system, training and held-out: ``"zero"`` (default) or
        m numbers; the held-out comparison runs every method from it
    size, interval, endpoints, peclet, path, matrix_seed : family parameters (see
        :mod:`algodiscover.linear_families`); only those of the chosen family may be given
    """

    samples: int = 256
    objective: str = "auto"
    weight_base: float = 4.0
    weights: tuple[float, ...] | None = None
    h: str | float = "learned"
    h_init: float | None = None
    minimax_outer: int = 16
    temperature: float = 200.0
    grid: int = 512
    heldout: int | str = "auto"
    tol: float = 1e-10
    max_matvecs: int = 20_000
    rhs: str = "unit"
    rhs_mean: float | tuple[float, ...] | None = None
    rhs_halfwidth: float | None = None
    rhs_path: str | None = None
    x0: str | tuple[float, ...] = "zero"
    size: int | None = None
    interval: tuple[float, float] | None = None
    endpoints: bool | None = None
    peclet: float | None = None
    path: str | None = None
    matrix_seed: int | None = None

    def __post_init__(self) -> None:
        def posint(key: str, lo: int = 1, hi: int = 10**7) -> None:
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise InputError(f"linear.{key} must be an integer in {lo}..{hi}, got {v!r}")

        def posnum(key: str, allow_none: bool = False) -> None:
            v = getattr(self, key)
            if v is None and allow_none:
                return
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
                raise InputError(f"linear.{key} must be a positive number, got {v!r}")

        posint("samples", 1, sample_limit())
        if self.objective not in OBJECTIVES:
            raise InputError(f"linear.objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        posnum("weight_base")
        if self.weights is not None:
            w = self.weights
            if (not isinstance(w, (list, tuple)) or not w
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in w)
                    or not any(v > 0 for v in w)):
                raise InputError(f"linear.weights must be a non-empty list of numbers >= 0 (not all 0), got {w!r}")
            object.__setattr__(self, "weights", tuple(float(v) for v in w))
        if isinstance(self.h, str):
            if self.h != "learned":
                raise InputError(f"linear.h must be \"learned\" or a positive number, got {self.h!r}")
        else:
            posnum("h")
        posnum("h_init", allow_none=True)
        posint("minimax_outer", 1, 1000)
        posnum("temperature")
        posint("grid", 2, 1_000_000)
        if not (isinstance(self.heldout, str) and self.heldout == "auto"):
            posint("heldout", 1, 10_000)
        posnum("tol")
        if self.tol >= 1:
            raise InputError(f"linear.tol must be below 1, got {self.tol!r}")
        posint("max_matvecs", 1, 10**9)
        if self.interval is not None:
            if not isinstance(self.interval, (list, tuple)):
                raise InputError(f"linear.interval must be [low, high], got {self.interval!r}")
            object.__setattr__(self, "interval", tuple(self.interval))
        if self.path is not None and not isinstance(self.path, str):
            raise InputError(f"linear.path must be a string, got {self.path!r}")
        self._check_rhs()

    def _check_rhs(self) -> None:
        if self.rhs not in RHS_KINDS:
            raise InputError(f"linear.rhs must be one of {', '.join(RHS_KINDS)}, got {self.rhs!r}")
        for key, kind in (("rhs_mean", "box"), ("rhs_halfwidth", "box"), ("rhs_path", "file")):
            if getattr(self, key) is not None and self.rhs != kind:
                raise InputError(f"linear.{key} applies to linear.rhs = \"{kind}\" only (linear.rhs is \"{self.rhs}\")")
        if self.rhs_mean is not None:
            v = self.rhs_mean
            if _is_number(v):
                object.__setattr__(self, "rhs_mean", float(v))
            elif isinstance(v, (list, tuple)) and v and all(_is_number(x) for x in v):
                object.__setattr__(self, "rhs_mean", tuple(float(x) for x in v))
            else:
                raise InputError(f"linear.rhs_mean must be a finite number or a non-empty list of finite numbers, got {v!r}")
        if self.rhs_halfwidth is not None and not (_is_number(self.rhs_halfwidth) and self.rhs_halfwidth > 0):
            raise InputError(f"linear.rhs_halfwidth must be a positive number, got {self.rhs_halfwidth!r}")
        if self.rhs == "file" and not isinstance(self.rhs_path, str):
            raise InputError("linear.rhs = \"file\" needs linear.rhs_path (a .npy array of shape (k, m), or an .npz with key 'rhs')")
        if isinstance(self.x0, str):
            if self.x0 != "zero":
                raise InputError(f"linear.x0 must be \"zero\" or a list of numbers, got {self.x0!r}")
        elif isinstance(self.x0, (list, tuple)) and self.x0 and all(_is_number(x) for x in self.x0):
            object.__setattr__(self, "x0", tuple(float(x) for x in self.x0))
        else:
            raise InputError(f"linear.x0 must be \"zero\" or a non-empty list of finite numbers, got {self.x0!r}")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "LinearTrainingConfig":
        """Validate the raw ``[linear]`` table (unknown keys are named)."""
        if not isinstance(options, dict):
            raise InputError("[linear] must be a table")
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise InputError(f"unknown key linear.{unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        return cls(**options)

    @property
    def learn_h(self) -> bool:
        return self.h == "learned"

    def heldout_count(self, m: int, shared: bool = True) -> int:
        """Held-out systems for systems of order m, one ``shared`` matrix or one per system
        (``"auto"``: see the class docstring)."""
        if isinstance(self.heldout, int):
            return self.heldout
        if not shared:
            return 100
        return int(min(100, max(2, round(HELDOUT_SCALE / math.sqrt(max(int(m), 1))))))

    def family_kwargs(self, family: str) -> dict[str, Any]:
        """The family parameters that were given, checked against what ``family`` reads."""
        given = {k: getattr(self, k) for k in _FAMILY_KEYS if getattr(self, k) is not None}
        from .linear_families import FAMILY_PARAMETERS

        if family in FAMILY_PARAMETERS:
            reads = FAMILY_PARAMETERS[family]
            bad = sorted(set(given) - set(reads))
            if bad:
                raise InputError(f"linear.{bad[0]} does not apply to family {family!r} (it reads: {', '.join(reads)})")
        if "interval" in given:
            given["interval"] = list(given["interval"])
        return given

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("weights", "interval", "rhs_mean", "x0"):
            if isinstance(d[k], tuple):
                d[k] = list(d[k])
        return d


@dataclass(frozen=True)
class NonlinearTrainingConfig:
    """The ``[nonlinear]`` section.

    mode : ``"derivative-free"`` or ``"newton-krylov"``
    samples : training problems (starting points and parameters)
    size : problem size (m nodes, or n for the n x n Bratu grid); family default if unset
    weight_base : loss weights ``weight_base^k``
    h_init : starting h (default 1 for derivative-free and the inner solver)
    inner_outer : inner R2N2 iterations per Newton step (newton-krylov)
    safeguard_rate : accept a step only if the residual norm drops below this factor
    max_backtracks : step halvings before a rejected step is taken anyway
    heldout : held-out instances per setting in the comparison; ``tol`` the target
        ``||F||_2``; ``max_evaluations`` the budget per instance
    tune_instances : training instances on which the baselines' options (newton_krylov's
        inner solver, Anderson's alpha, Picard's omega) are tuned before the held-out runs
    linearisation_instances : held-out instances whose Jacobians at the solution give the
        local convergence factor (its median and worst case; the corners of the parameter
        range are added)
    scale : ``"auto"`` (the default, None in a saved configuration) or ``"off"``: with
        ``"auto"``, systems of more than :data:`NONLINEAR_LARGE_SIZE` unknowns use fewer
        training samples, held-out, tuning and linearisation instances
        (:meth:`effective`, recorded in the artefact and the report) and a matrix-free
        spectrum estimate; ``"off"`` keeps the configured counts (the spectrum is still
        estimated matrix-free above that size: a dense m x m eigendecomposition is never formed)
    step_length : with a JVP pattern (``[model] derivatives`` with F / jvp tokens,
        :mod:`algodiscover.nonlinear_jvp`): ``"learned"`` (x + s; the default, None in a saved
        configuration) or ``"minimal-residual"`` (x + alpha s, alpha from one more JVP)
    """

    mode: str = "derivative-free"
    samples: int = 128
    size: int | None = None
    weight_base: float = 4.0
    h_init: float | None = None
    inner_outer: int = 1
    safeguard_rate: float = 1.0
    max_backtracks: int = 4
    heldout: int = 100
    tol: float = 1e-10
    max_evaluations: int = 2000
    tune_instances: int = 16
    linearisation_instances: int = 100
    step_length: str | None = None
    scale: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"nonlinear.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.scale is not None and self.scale not in ("auto", "off"):
            raise InputError(f"nonlinear.scale must be auto or off, got {self.scale!r}")
        if self.step_length is not None and self.step_length not in ("learned", "minimal-residual"):
            raise InputError(f"nonlinear.step_length must be learned or minimal-residual, got {self.step_length!r}")
        for key, lo, hi in (("samples", 1, sample_limit()), ("inner_outer", 1, 50), ("max_backtracks", 0, 30), ("heldout", 1, 10_000),
                            ("max_evaluations", 1, 10**7), ("tune_instances", 1, 1000), ("linearisation_instances", 1, 2000)):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise InputError(f"nonlinear.{key} must be an integer in {lo}..{hi}, got {v!r}")
        for key in ("weight_base", "safeguard_rate", "tol"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
                raise InputError(f"nonlinear.{key} must be a positive number, got {v!r}")
        if self.h_init is not None and not (isinstance(self.h_init, (int, float)) and math.isfinite(self.h_init) and self.h_init > 0):
            raise InputError(f"nonlinear.h_init must be a positive number, got {self.h_init!r}")
        if self.size is not None and (not isinstance(self.size, int) or isinstance(self.size, bool)):
            raise InputError(f"nonlinear.size must be an integer, got {self.size!r}")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "NonlinearTrainingConfig":
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise InputError(f"unknown key nonlinear.{unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        return cls(**options)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if d["step_length"] is None:  # unset: left out, so a run without a JVP pattern keeps its old record
            del d["step_length"]
        if d["scale"] is None:  # unset (auto): left out, so small runs keep their old record
            del d["scale"]
        return d

    def effective(self, m: int) -> tuple["NonlinearTrainingConfig", dict[str, Any] | None]:
        """The counts used for systems of ``m`` unknowns and, where they differ from the
        configured ones, a record of the change: ``scale`` auto and m > NONLINEAR_LARGE_SIZE
        (m0 = that size) take ``samples -> min(samples, max(16, round(samples m0 / (2 m))))``,
        ``heldout -> min(heldout, max(8, round(heldout m0 / (4 m))))``,
        ``tune_instances -> min(tune_instances, 2)`` and
        ``linearisation_instances -> min(linearisation_instances, 4)``; otherwise unchanged (None).
        At m = 10^4: 16 samples, 8 held-out instances per setting, 2 tuning instances, 4
        linearisation instances (and the corners), so that the whole discover of hequation or
        bratu2d stays within about 2 minutes on 2 cores."""
        m = int(m)
        if self.scale == "off" or m <= NONLINEAR_LARGE_SIZE:
            return self, None
        m0 = NONLINEAR_LARGE_SIZE
        new = {"samples": min(self.samples, max(16, round(self.samples * m0 / (2 * m)))),
               "heldout": min(self.heldout, max(8, round(self.heldout * m0 / (4 * m)))),
               "tune_instances": min(self.tune_instances, 2),
               "linearisation_instances": min(self.linearisation_instances, 4)}
        changed = {k: {"configured": getattr(self, k), "used": v} for k, v in new.items() if v != getattr(self, k)}
        if not changed:
            return self, None
        rule = (f"nonlinear.scale = auto at m = {m} > {m0} unknowns: samples -> max(16, samples x {m0}/(2m)), heldout -> "
                f"max(8, heldout x {m0}/(4m)), tune_instances -> 2, linearisation_instances -> 4 (never more than configured); "
                "set nonlinear.scale = \"off\" to keep the configured counts")
        return replace(self, **new), {"m": m, "threshold": m0, "changed": changed, "rule": rule}


#: The options dataclass of each problem class.
OPTIONS = {"ode": OdeTrainingConfig, "linear": LinearTrainingConfig, "nonlinear": NonlinearTrainingConfig}


def resolve_options(problem_class: str, options: dict[str, Any]) -> dict[str, Any]:
    """The class section with every default filled in, as plain JSON/TOML values (keys whose
    value is None, i.e. "not set", are left out). Unknown keys and bad values raise
    :class:`InputError` naming the key."""
    cls = OPTIONS[problem_class]
    if not isinstance(options, dict):
        raise InputError(f"[{problem_class}] must be a table")
    unknown = sorted(set(options) - set(cls.__dataclass_fields__))
    if unknown:
        raise InputError(f"unknown key {problem_class}.{unknown[0]!r} (allowed: {', '.join(sorted(cls.__dataclass_fields__))})")
    try:
        resolved = cls(**options)
    except TypeError as exc:
        raise InputError(f"[{problem_class}] {exc}") from None
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(resolved).items() if v is not None}
