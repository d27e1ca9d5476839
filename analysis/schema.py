"""The one place that knows the shape of ``analysis.json``: typed views and the JSON Schema.

``analysis.json`` (and ``algodiscover check --json``) is written by the distilling side
(:meth:`analysis.assessment.Analysis.to_json`, ``KrylovAnalysis.to_json``,
:meth:`analysis.two_derivative_assessment.TwoDerivativeAnalysis.to_json`,
:meth:`analysis.multistep_assessment.MultistepAnalysis.to_json`) and by the
learning side's ``analyze_run`` of :mod:`algodiscover.linear` and
:mod:`algodiscover.nonlinear`; readers (the reports, users' scripts) read it through
:class:`AnalysisView`, a tree of frozen dataclasses validated on construction
(:mod:`analysis.jsonview`): a value of the wrong type raises
:class:`~analysis.errors.AnalysisInputError` naming its key path, e.g.
``analysis.json: krylov.factor.per_outer: expected a number or null, got 'fast' (a string)``.
The views read exactly what the file holds (no conversion, no defaults computed from other
keys); the few derived properties say how keys combine (:attr:`AnalysisView.learned`).
:func:`analysis_schema` loads the documented JSON Schema shipped as
``data/analysis.schema.json``; tests hold the views and the schema to the same shapes.
Imports only the standard library and :mod:`analysis.jsonview`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Mapping

from .jsonview import Real, View, json_field

__all__ = [
    "AnalysisView", "TableauView", "IdentificationView", "DistillationView", "StabilityView", "ConditionRowView",
    "BaselineView", "OdeFamilyView", "PersonalisedView", "MeasuredOrderView", "ComparisonView", "PerSettingView", "TrainingView",
    "StructureView", "OptionsView", "ConfigView", "TrainConfigView", "OdeOptionsView", "LinearOptionsView",
    "ProvenanceView", "PlotWindowView", "KrylovView", "PolynomialView", "SpectrumView", "FactorView", "ChebyshevView", "FactorRatioView",
    "DistilledPolynomialView", "ExactTableauView", "MatvecComparisonView", "MatvecMethodView", "HistoryView",
    "LinearFamilyView", "NormalisedView", "ObjectiveView", "NonlinearView", "NonlinearFamilyView", "LinearisationView",
    "NewtonSettingsView", "NewtonComparisonView", "TwoDerivativeView", "DerivativeCostView", "EqualCostView",
    "EqualCostMethodView", "EqualCostRatioView", "EqualCostErrorsView", "EqualCostRatiosView", "RatioEstimateView",
    "FiniteTerminationView", "RhsView", "WorstInstanceView", "BaselinesView", "TunedView", "JacobianCostView",
    "MultistepView", "LmmView", "LmmConditionView", "ErrorConstantView", "ZeroStabilityView", "MultistepStabilityView",
    "GlobalOrderView", "RecurrenceCoefficientView", "RecurrenceView", "MemoryFactorView", "ExactFactorView", "OptimalTwoStepView",
    "MemoryIterationView", "analysis_schema", "SCHEMA_FILE", "SETTINGS", "VERDICTS",
]

SCHEMA_FILE = "analysis.schema.json"
#: the two settings of the measured comparisons: held-out problems from the training ranges, and beyond
SETTINGS = ("in_distribution", "out_of_distribution")
#: the verdicts of a bootstrap interval, for the learned method (analysis.statistics)
VERDICTS = ("fewer", "more", "no significant difference")

Entry = float | str  # a tableau entry: a float, an integer or an exact string such as "1/6"
Pair = tuple[float, float]  # a complex number [re, im]
Range = tuple[float, float]  # [low, high]


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


class _AnalysisPart(View):
    _document = "analysis.json"


# ================================================================== Runge-Kutta core
@dataclass(frozen=True, kw_only=True)
class TableauView(_AnalysisPart):
    """A Butcher tableau ``c | A`` over ``b`` (and ``b_hat``); entries exact strings or floats.
    A two-derivative tableau also has ``A2`` and ``b2`` (the weights of ``g = f'(y) f(y)``)."""

    name: str | None = None
    A: tuple[tuple[Entry, ...], ...]
    b: tuple[Entry, ...]
    c: tuple[Entry, ...] | None = None
    b_hat: tuple[Entry, ...] | None = None
    A2: tuple[tuple[Entry, ...], ...] | None = None
    b2: tuple[Entry, ...] | None = None
    betas: tuple[Entry, ...] | None = None
    gammas: tuple[tuple[Entry, ...], ...] | None = None

    def _validate(self) -> None:
        s = len(self.A)
        if s == 0 or any(len(row) != s for row in self.A):
            self._fail("A", f"expected a square matrix, got rows of lengths {[len(r) for r in self.A]}")
        if self.gammas is not None and any(len(row) != s for row in self.gammas):
            self._fail("gammas", f"expected rows of {s} entries (one per stage), got rows of lengths {[len(r) for r in self.gammas]}")
        if (self.betas is None) != (self.gammas is None) or (self.betas is not None and len(self.betas) != len(self.gammas or ())):
            self._fail("betas", "expected betas and gammas together, one gamma row per beta")
        if self.A2 is not None and (len(self.A2) != s or any(len(row) != s for row in self.A2)):
            self._fail("A2", f"expected a square matrix of the size of A ({s}), got rows of lengths {[len(r) for r in self.A2]}")
        for key in ("b", "c", "b_hat", "b2"):
            v = getattr(self, key)
            if v is not None and len(v) != s:
                self._fail(key, f"expected {s} entries (one per stage), got {len(v)}")

    @property
    def stages(self) -> int:
        return len(self.A)

    @property
    def is_float(self) -> bool:
        """True when the weights are floats (learned or float64 input), not exact entries."""
        return (any(isinstance(x, float) for x in self.b) or any(isinstance(x, float) for x in self.b2 or ())
                or any(isinstance(x, float) for x in self.betas or ()))

    @property
    def two_derivative(self) -> bool:
        return self.A2 is not None or self.b2 is not None

    @property
    def memory(self) -> int:
        """M of a multistep method's weights (0 for a one-step tableau)."""
        return len(self.betas or ())


@dataclass(frozen=True, kw_only=True)
class IdentificationView(_AnalysisPart):
    identified_as: str | None = None
    kind: str | None = None
    closest: str | None = None
    distance: float | None = None
    family: str | None = None
    parameters: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, kw_only=True)
class HighPrecisionView(_AnalysisPart):
    target: str
    A: tuple[tuple[str, ...], ...]
    b: tuple[str, ...]
    digits: int
    residual: float
    verified_below: float
    label: str
    distance: float
    objective: str


@dataclass(frozen=True, kw_only=True)
class DistillationView(_AnalysisPart):
    rational: TableauView | None = None
    target: str | None = None
    distance: float | None = None
    log: tuple[str, ...] = ()
    high_precision: HighPrecisionView | None = None
    objective: str | None = None


@dataclass(frozen=True, kw_only=True)
class PlotWindowView(_AnalysisPart):
    re: tuple[float, float]
    im: tuple[float, float]
    source: str | None = json_field(key="from", default=None)


@dataclass(frozen=True, kw_only=True)
class StabilityView(_AnalysisPart):
    R: str | None = None
    polynomial: bool = True
    real_interval: tuple[Real, Real] | None = None
    imag_interval: tuple[Real, Real] | None = None
    intervals_arithmetic: str | None = None
    imag_excess: Mapping[str, Any] | None = None
    plot_window: PlotWindowView | None = None
    a_stable: bool | None = None
    l_stable: bool | None = None
    r_infinity: Real | None = None
    r_infinity_exact: str | None = None
    a_alpha_degrees: float | None = None
    algebraically_stable: bool | None = None
    stiffly_accurate: bool | None = None
    stiffly_accurate_row: int | None = None
    pade: tuple[int, int] | None = None
    verdict_arithmetic: Mapping[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class ConditionRowView(_AnalysisPart):
    order: int
    tree: str = ""
    levels: tuple[int, ...] = ()
    formula: str = ""
    phi: float | None = None
    phi_exact: str | None = None
    inv_gamma: str = ""
    residual: float | None = None
    tau: float | None = None
    satisfied: bool = False


@dataclass(frozen=True, kw_only=True)
class BaselineView(_AnalysisPart):
    name: str | None = None
    order: int | None = None
    stability: StabilityView | None = None


@dataclass(frozen=True, kw_only=True)
class OdeFamilyView(_AnalysisPart):
    name: str
    equations: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    param_ranges: tuple[Range, ...] = ()
    state_ranges: tuple[Range, ...] = ()
    ood_param_ranges: tuple[Range, ...] = ()
    h_range: Range | None = None

    def ranges(self, setting: str) -> tuple[Range, ...]:
        """The parameter ranges of a comparison setting (``"in_distribution"`` or
        ``"out_of_distribution"``)."""
        return self.ood_param_ranges if setting == "out_of_distribution" else self.param_ranges


@dataclass(frozen=True, kw_only=True)
class PersonalisedView(_AnalysisPart):
    order: int | None = None
    family: str | None = None
    arithmetic: str | None = None
    conditions_per_order: Mapping[str, int] = field(default_factory=_empty)
    trees_per_order: Mapping[str, int] = field(default_factory=_empty)
    residuals: Mapping[str, float] = field(default_factory=_empty)


@dataclass(frozen=True, kw_only=True)
class MeasuredOrderView(_AnalysisPart):
    h: tuple[float, ...] = ()
    errors: tuple[Real | None, ...] = ()
    used: tuple[bool, ...] | None = None
    local_slope: float | None = None
    order: float | None = None
    n_samples: int | None = None


class _BySetting:
    def get(self, setting: str) -> Any:
        """The value of a setting (``"in_distribution"`` or ``"out_of_distribution"``)."""
        if setting not in SETTINGS:
            raise KeyError(setting)
        return getattr(self, setting)


@dataclass(frozen=True, kw_only=True)
class PerSettingView(_BySetting, _AnalysisPart):
    """A number per method name, for each setting of the comparison."""

    in_distribution: Mapping[str, float] | None = None
    out_of_distribution: Mapping[str, float] | None = None


@dataclass(frozen=True, kw_only=True)
class PerSettingIntervalView(_BySetting, _AnalysisPart):
    """A 95% interval ``[lo, hi]`` per method name, for each setting of the comparison."""

    in_distribution: Mapping[str, tuple[Real, Real]] | None = None
    out_of_distribution: Mapping[str, tuple[Real, Real]] | None = None


@dataclass(frozen=True, kw_only=True)
class PerSettingTextView(_BySetting, _AnalysisPart):
    """A verdict per method name, for each setting of the comparison."""

    in_distribution: Mapping[str, str] | None = None
    out_of_distribution: Mapping[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class ComparisonView(_AnalysisPart):
    reference: str | None = None
    stages: Mapping[str, int] = field(default_factory=_empty)
    errors: PerSettingView = field(default_factory=PerSettingView)
    ratios: PerSettingView = field(default_factory=PerSettingView)
    n_samples: int | None = None
    ci95: PerSettingIntervalView = field(default_factory=PerSettingIntervalView)
    verdicts: PerSettingTextView = field(default_factory=PerSettingTextView)
    n_instances: int | None = None
    resamples: int | None = None
    statistic: str | None = None


@dataclass(frozen=True, kw_only=True)
class WorkPrecisionView(_AnalysisPart):
    T: float
    h: tuple[float, ...] = ()
    evaluations: Mapping[str, tuple[int, ...]] = field(default_factory=_empty)
    errors: Mapping[str, tuple[float | None, ...]] = field(default_factory=_empty)
    training_h: tuple[float, float] | None = None
    n_samples: int | None = None


@dataclass(frozen=True, kw_only=True)
class TargetOrderView(_AnalysisPart):
    target: int
    mode: str = "general"
    learned: int | None = None
    distilled: int | None = None
    reached: bool = True
    residual: float | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class TrainingVerdictView(_AnalysisPart):
    status: str = "ok"
    message: str | None = None
    sum_b: float | None = None
    consistent: bool | None = None
    error_vs_euler: Real | None = None


@dataclass(frozen=True, kw_only=True)
class PrimaryView(_AnalysisPart):
    method: str
    distilled_over_learned_error: Real | None = None
    ci95: tuple[Real, Real] | None = None
    n_instances: int | None = None
    message: str | None = None


# ================================================================== run record (learned methods)
@dataclass(frozen=True, kw_only=True)
class TrainingView(_AnalysisPart):
    loss_history: tuple[Real | None, ...] = ()
    phases: tuple[tuple[str, int], ...] = ()
    final_loss: float | None = None
    objective: str | None = None


@dataclass(frozen=True, kw_only=True)
class OptionsView(_AnalysisPart):
    """The solver options recorded in ``structure.options`` (``[linear]``/``[nonlinear]``)."""

    samples: int | None = None
    weight_base: float | None = None


@dataclass(frozen=True, kw_only=True)
class StructureView(_AnalysisPart):
    stages: int | None = None
    outer: int | None = None
    consistency: str | None = None
    h: str | None = None
    objective: str | None = None
    matvecs_per_outer: int | None = None
    minimax_outer: int | None = None
    mode: str | None = None
    inner_outer: int | None = None
    evaluations_per_outer: int | None = None
    safeguard_rate: float | None = None
    max_backtracks: int | None = None
    options: OptionsView | None = None
    derivatives: tuple[str, ...] | None = None
    memory: int | None = None
    memory_form: str | None = None
    startup: str | None = None


@dataclass(frozen=True, kw_only=True)
class TrainConfigView(_AnalysisPart):
    adam_steps: int | None = None
    lr: float | None = None
    lbfgs_steps: int | None = None


@dataclass(frozen=True, kw_only=True)
class OdeOptionsView(_AnalysisPart):
    samples: int | None = None
    normalise: str | None = None
    reference_method: str | None = None
    taylor_order: int | None = None
    taylor_mode: str | None = None
    taylor_weight: float | None = None


@dataclass(frozen=True, kw_only=True)
class LinearOptionsView(_AnalysisPart):
    samples: int | None = None
    objective: str | None = None
    weight_base: float | None = None
    weights: tuple[float, ...] | None = None
    minimax_outer: int | None = None
    temperature: float | None = None
    grid: int | None = None


@dataclass(frozen=True, kw_only=True)
class ConfigView(_AnalysisPart):
    """The run configuration (as ``config.toml``); ``table`` holds all of it."""

    table: Mapping[str, Any] = json_field(whole=True, default_factory=_empty)
    train: TrainConfigView | None = None
    ode: OdeOptionsView | None = None
    linear: LinearOptionsView | None = None
    nonlinear: OptionsView | None = None


@dataclass(frozen=True, kw_only=True)
class ProvenanceView(_AnalysisPart):
    seed: int | None = None
    config: ConfigView | None = None
    versions: Mapping[str, str] = field(default_factory=_empty)
    content_hash: str | None = None
    command: str | None = None
    note: str | None = None


# ================================================================== uncertainty (every solver ratio)
@dataclass(frozen=True, kw_only=True)
class RatioEstimateView(_AnalysisPart):
    """A ratio with its 95 % percentile-bootstrap interval over the held-out instances."""

    value: float | None = None
    ci95: tuple[Real, Real] | None = None
    n: int | None = None
    statistic: str | None = None
    learned: str | None = None
    verdict: str | None = None
    resamples: int | None = None
    seed: int | None = None

    def _validate(self) -> None:
        if self.verdict is not None and self.verdict not in VERDICTS:
            self._fail("verdict", f"expected one of {', '.join(VERDICTS)} or null, got {self.verdict!r}")

    @property
    def significant(self) -> bool:
        """True when the interval excludes 1 (the verdict is "fewer" or "more")."""
        return self.verdict in ("fewer", "more")


# ================================================================== krylov: linear systems
@dataclass(frozen=True, kw_only=True)
class PolynomialView(_AnalysisPart):
    sympy: str | None = None
    latex: str | None = None
    coefficients: tuple[float, ...] = ()
    coefficients_exact: tuple[str, ...] | None = None
    exact: bool = False
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class SpectrumView(_AnalysisPart):
    interval: Range | None = None
    source: str | None = None
    real: bool = True
    max_imag: float | None = None
    eigenvalue_count: int | None = None
    exact_interval: bool | None = None


@dataclass(frozen=True, kw_only=True)
class FactorView(_AnalysisPart):
    per_outer: float | None = None
    per_matvec: float | None = None
    argmax: float | Pair | None = None
    on_eigenvalues: float | None = None


@dataclass(frozen=True, kw_only=True)
class ChebyshevView(_AnalysisPart):
    sympy: str | None = None
    latex: str | None = None
    coefficients: tuple[float, ...] = ()
    exact: bool = False
    roots: tuple[Pair, ...] = ()
    per_outer: float | None = None
    per_matvec: float | None = None
    on_eigenvalues: float | None = None


@dataclass(frozen=True, kw_only=True)
class FactorRatioView(_AnalysisPart):
    per_outer: float | None = None
    per_matvec: float | None = None
    on_eigenvalues: float | None = None


@dataclass(frozen=True, kw_only=True)
class DistilledPolynomialView(_AnalysisPart):
    sympy: str | None = None
    latex: str | None = None
    coefficients_exact: tuple[str, ...] | None = None
    relative_tolerance: float | None = None
    per_outer: float | None = None
    per_matvec: float | None = None
    factor_change: float | None = None
    h: str | None = None
    tableau: TableauView | None = None


@dataclass(frozen=True, kw_only=True)
class ExactTableauView(_AnalysisPart):
    tableau: TableauView | None = None
    h: str | None = None
    represents: str | None = None


@dataclass(frozen=True, kw_only=True)
class HistoryView(_AnalysisPart):
    matvecs: tuple[int, ...] = ()
    residual: tuple[float | None, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MatvecMethodView(_AnalysisPart):
    matvecs_to_tol: tuple[int | None, ...] = ()
    median: float | None = None
    reached: int | None = None
    residual_at_learned_matvecs: float | None = None
    wall_s: float | None = None
    history: HistoryView | None = None


@dataclass(frozen=True, kw_only=True)
class FiniteTerminationView(_AnalysisPart):
    size: int | None = None
    cg: bool | None = None
    gmres: bool | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class MatvecComparisonView(_AnalysisPart):
    tol: float | None = None
    instances: int | None = None
    matvec_budget: int | None = None
    counting: str | None = None
    methods: Mapping[str, MatvecMethodView] = field(default_factory=_empty)
    ratios: Mapping[str, float | None] = field(default_factory=_empty)
    ratio_estimates: Mapping[str, RatioEstimateView] = field(default_factory=_empty)
    skipped: Mapping[str, str] = field(default_factory=_empty)
    finite_termination: FiniteTerminationView | None = None


@dataclass(frozen=True, kw_only=True)
class RhsView(_AnalysisPart):
    """The distribution of the right-hand sides (``[linear] rhs``)."""

    kind: str | None = None
    description: str | None = None
    mean: tuple[float, ...] | None = None
    halfwidth: float | None = None
    path: str | None = None
    rows: int | None = None
    heldout_rows: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecurrenceCoefficientView(_AnalysisPart):
    """One coefficient ``c_m(lambda)`` of the residual recurrence of an iteration with memory."""

    m: int
    sympy: str | None = None
    latex: str | None = None
    coefficients: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RecurrenceView(_AnalysisPart):
    text: str | None = None
    latex: str | None = None
    coefficients: tuple[RecurrenceCoefficientView, ...] = ()
    exact: bool = False


@dataclass(frozen=True, kw_only=True)
class MemoryFactorView(_AnalysisPart):
    per_outer: float | None = None
    per_matvec: float | None = None
    at: float | Pair | None = None
    on_eigenvalues: float | None = None
    roots_at_worst: tuple[Pair, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ExactFactorView(_AnalysisPart):
    per_outer: str | None = None
    per_matvec: str | None = None


@dataclass(frozen=True, kw_only=True)
class OptimalTwoStepView(_AnalysisPart):
    per_matvec: float | None = None
    per_matvec_exact: str | None = None
    alpha: float | None = None
    beta: float | None = None
    alpha_exact: str | None = None
    beta_exact: str | None = None
    interval: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MemoryIterationView(_AnalysisPart):
    """``krylov.memory``: a linear iteration with memory (:mod:`analysis.memory_krylov`)."""

    memory: int
    form: str | None = None
    startup: str | None = None
    stages: int | None = None
    matvecs_per_outer: int | None = None
    h: float | None = None
    b: tuple[float, ...] = ()
    betas: tuple[float, ...] = ()
    gammas: tuple[tuple[float, ...], ...] = ()
    recurrence: RecurrenceView | None = None
    factor: MemoryFactorView | None = None
    exact_factor: ExactFactorView | None = None
    optimal_two_step: OptimalTwoStepView | None = None
    factor_ratio: float | None = None
    identified_as: str | None = None
    pseudocode: str | None = None


@dataclass(frozen=True, kw_only=True)
class LinearFamilyView(_AnalysisPart):
    name: str
    description: str | None = None
    size: int | None = None
    symmetric: bool | None = None
    positive_definite: bool | None = None
    parameters: Mapping[str, Any] = field(default_factory=_empty)
    spectrum: SpectrumView | None = None
    rhs: RhsView | None = None
    x0: str | tuple[float, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class NormalisedView(_AnalysisPart):
    """How the top-level tableau relates to the learned weights (``krylov.rk_view``)."""

    scale: float | None = None
    h: float | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class ObjectiveView(_AnalysisPart):
    name: str | None = None
    final_loss: float | None = None


@dataclass(frozen=True, kw_only=True)
class KrylovView(_AnalysisPart):
    stages: int | None = None
    matvecs_per_outer: int | None = None
    h: float | None = None
    h_exact: str | None = None
    polynomial: PolynomialView | None = None
    roots: tuple[Pair, ...] = ()
    richardson_steps: tuple[Pair, ...] = ()
    recurrence: str | None = None
    richardson_form: str | None = None
    spectrum: SpectrumView | None = None
    factor: FactorView | None = None
    chebyshev: ChebyshevView | None = None
    factor_ratio: FactorRatioView | None = None
    distilled: DistilledPolynomialView | None = None
    identified_as: str | None = None
    exact_tableau: ExactTableauView | None = None
    comparison: MatvecComparisonView | None = None
    family: LinearFamilyView | None = None
    rk_view: NormalisedView | None = None
    objective: ObjectiveView | None = None
    memory: MemoryIterationView | None = None


# ================================================================== newton-krylov: nonlinear systems
@dataclass(frozen=True, kw_only=True)
class NonlinearFamilyView(_AnalysisPart):
    name: str
    size: int | None = None
    description: str | None = None
    params: tuple[str, ...] = ()
    param_ranges: tuple[Range, ...] = ()
    ood_param_ranges: tuple[Range, ...] = ()
    perturbation: float | None = None

    def ranges(self, setting: str) -> tuple[Range, ...]:
        return self.ood_param_ranges if setting == "out_of_distribution" else self.param_ranges


@dataclass(frozen=True, kw_only=True)
class LinearisationView(_AnalysisPart):
    spectrum: SpectrumView | None = None
    eigenvalues_real: tuple[float | str, ...] = ()
    eigenvalues_all_real: tuple[float, ...] = ()
    eigenvalues_max_imag: float | None = None
    residual_polynomial_coefficients: tuple[float, ...] = ()
    factor: FactorView | None = None
    local_rate: float | None = None
    local_rate_median: float | None = None
    worst: WorstInstanceView | None = None
    instances: int | None = None
    corners: int | None = None
    unsolved: int | None = None
    per_instance_rates: tuple[float, ...] = ()
    meaning: str | None = None
    memory_recurrence: str | None = None
    memory_identified_as: str | None = None


@dataclass(frozen=True, kw_only=True)
class WorstInstanceView(_AnalysisPart):
    rate: float | None = None
    params: Mapping[str, float] = field(default_factory=_empty)
    instance: str | None = None


@dataclass(frozen=True, kw_only=True)
class NewtonComparisonView(_AnalysisPart):
    setting: str | None = None
    instances: int | None = None
    tol: float | None = None
    evaluations: Mapping[str, tuple[int | None, ...]] = field(default_factory=_empty)
    median_evaluations: Mapping[str, float | None] = field(default_factory=_empty)
    median_cost: Mapping[str, float | None] = field(default_factory=_empty)
    success: Mapping[str, int] = field(default_factory=_empty)
    ratios: Mapping[str, RatioEstimateView] = field(default_factory=_empty)
    median_ratio_learned_to_newton_krylov: float | None = None
    best_baseline: str | None = None
    fewest: str | None = None
    jacobians: Mapping[str, tuple[int | None, ...]] = field(default_factory=_empty)
    jacobian_in_F: float | None = None
    wall_time_s: Mapping[str, float] = field(default_factory=_empty)
    safeguard_rejections: int | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods of the setting, the learned one first."""
        return tuple(self.median_cost or self.median_evaluations)


@dataclass(frozen=True, kw_only=True)
class TunedView(_AnalysisPart):
    options: Mapping[str, float | str | None] = field(default_factory=_empty)
    candidates: int | None = None
    instances: int | None = None
    median_cost_on_tuning: float | None = None


@dataclass(frozen=True, kw_only=True)
class JacobianCostView(_AnalysisPart):
    F_seconds: float | None = None
    jacobian_seconds: float | None = None
    jacobian_in_F: float | None = None
    jvp_seconds: float | None = None
    jvp_in_F: float | None = None
    size: int | None = None
    jacobian: str | None = None
    how: str | None = None


@dataclass(frozen=True, kw_only=True)
class BaselinesView(_AnalysisPart):
    """The classical solvers of the nonlinear comparison and how they were tuned."""

    methods: tuple[str, ...] = ()
    tuning: Mapping[str, TunedView] = field(default_factory=_empty)
    jacobian_cost: JacobianCostView | None = None
    grids: Mapping[str, str] = field(default_factory=_empty)
    tuning_rule: str | None = None
    tuning_source: str | None = None
    counting: str | None = None


@dataclass(frozen=True, kw_only=True)
class NewtonSettingsView(_BySetting, _AnalysisPart):
    in_distribution: NewtonComparisonView | None = None
    out_of_distribution: NewtonComparisonView | None = None


@dataclass(frozen=True, kw_only=True)
class NonlinearView(_AnalysisPart):
    mode: str | None = None
    family: NonlinearFamilyView | None = None
    structure: str | None = None
    h: float | None = None
    evaluations_per_outer: int | None = None
    linearisation: LinearisationView | None = None
    baselines: BaselinesView | None = None
    comparison: NewtonSettingsView | None = None
    jvp: "NonlinearJvpView | None" = None
    memory: "NonlinearMemoryView | None" = None


@dataclass(frozen=True, kw_only=True)
class NonlinearMemoryView(_AnalysisPart):
    """R2N2 with memory M for nonlinear systems: the learned memory weights."""

    depth: int
    form: str | None = None
    startup: str | None = None
    betas: tuple[float, ...] = ()
    gammas: tuple[tuple[float, ...], ...] = ()
    anderson_same_depth: str | None = None
    recurrence: str | None = None
    identified_as: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrderSummaryView(_AnalysisPart):
    """Median and worst of a per-instance order or factor, with where the worst is."""

    median: float | None = None
    worst: float | None = None
    worst_params: Mapping[str, float] | None = None
    instances: int | None = None
    missing: int | None = None


@dataclass(frozen=True, kw_only=True)
class PredictedOrderView(_AnalysisPart):
    """The predicted order of a JVP iteration on a scalar equation (exact arithmetic)."""

    order: int | None = None
    leading_coefficient: float | None = None
    local_factor: float | None = None
    terms: int | None = None
    taylor: str | None = None


@dataclass(frozen=True, kw_only=True)
class NonlinearJvpView(_AnalysisPart):
    """Mode ``jvp``: stages of F and exact Jacobian-vector products, orders and factors."""

    derivatives: tuple[str, ...] = ()
    step_length: str | None = None
    jvps_per_outer: int | None = None
    jvp_in_F: float | None = None
    cost_per_outer: float | None = None
    pseudocode: str | None = None
    measured_order: OrderSummaryView | None = None
    local_factor: OrderSummaryView | None = None
    predicted_order_generic_scalar: PredictedOrderView | None = None
    predicted_order_family: PredictedOrderView | None = None


# ================================================================== two-derivative Runge-Kutta methods
@dataclass(frozen=True, kw_only=True)
class DerivativeCostView(_AnalysisPart):
    """The cost of g relative to f and of one step, in f-evaluation equivalents."""

    source: str | None = None
    implementation: str | None = None
    rule: str | None = None
    g_over_f: float | None = None
    fg_over_f: float | None = None
    jvp_fg_over_f: float | None = None
    f_seconds: float | None = None
    g_seconds: float | None = None
    fg_seconds: float | None = None
    jvp_fg_seconds: float | None = None
    batch: tuple[int, int] | None = None
    repeats: int | None = None
    calls_per_repeat: int | None = None
    threads: int | None = None
    statistic: str | None = None
    per_step: float | None = None
    per_step_learned: float | None = None
    count: Mapping[str, int] = field(default_factory=_empty)


@dataclass(frozen=True, kw_only=True)
class EqualCostMethodView(_AnalysisPart):
    name: str
    kind: str | None = None
    stages: int | None = None
    cost_per_step: float | None = None
    order: int | None = None
    derivatives: tuple[str, ...] | None = None
    memory: int | None = None
    startup: str | None = None
    startup_evaluations: int | None = None


@dataclass(frozen=True, kw_only=True)
class EqualCostRatioView(_AnalysisPart):
    budget: float
    ratio: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, kw_only=True)
class EqualCostErrorsView(_BySetting, _AnalysisPart):
    """Geometric-mean global error at each budget, per method name, per setting."""

    in_distribution: Mapping[str, tuple[float, ...]] | None = None
    out_of_distribution: Mapping[str, tuple[float, ...]] | None = None


@dataclass(frozen=True, kw_only=True)
class EqualCostRatiosView(_BySetting, _AnalysisPart):
    """Error ratios (method / reference) with their bootstrap intervals, per method, per setting."""

    in_distribution: Mapping[str, tuple[EqualCostRatioView, ...]] | None = None
    out_of_distribution: Mapping[str, tuple[EqualCostRatioView, ...]] | None = None


@dataclass(frozen=True, kw_only=True)
class EqualCostView(_AnalysisPart):
    reference: str | None = None
    cost: str | None = None
    interval: float | None = None
    instances: int | None = None
    budgets: tuple[float, ...] = ()
    methods: tuple[EqualCostMethodView, ...] = ()
    errors: EqualCostErrorsView | None = None
    ratios: EqualCostRatiosView | None = None
    statistic: str | None = None
    bootstrap: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True, kw_only=True)
class TwoDerivativeView(_AnalysisPart):
    derivatives: tuple[str, ...] = ()
    final_derivatives: tuple[str, ...] = ()
    cost: DerivativeCostView | None = None
    equal_cost: EqualCostView | None = None


# ================================================================== multistep methods (R2N2 with memory)
@dataclass(frozen=True, kw_only=True)
class LmmView(_AnalysisPart):
    """``sum_j alpha_j y_{n+j} = h sum_j beta_j f_{n+j}`` (oldest first)."""

    steps: int
    alpha: tuple[Entry, ...] = ()
    beta: tuple[Entry, ...] = ()
    explicit: bool = True
    order: int | None = None


@dataclass(frozen=True, kw_only=True)
class LmmConditionView(_AnalysisPart):
    q: int
    alpha_sum: Entry | None = None
    beta_sum: Entry | None = None
    residual: float | None = None
    satisfied: bool = False


@dataclass(frozen=True, kw_only=True)
class ErrorConstantView(_AnalysisPart):
    order: int | None = None
    C: Entry | None = None
    C_float: float | None = None
    normalised: Entry | None = None
    normalised_float: float | None = None


@dataclass(frozen=True, kw_only=True)
class ZeroStabilityView(_AnalysisPart):
    roots: tuple[Pair, ...] = ()
    moduli: tuple[float, ...] = ()
    multiplicities: tuple[int, ...] = ()
    stable: bool = False
    strongly: bool = False
    arithmetic: str | None = None
    tol: float | None = None


@dataclass(frozen=True, kw_only=True)
class MultistepStabilityView(_AnalysisPart):
    characteristic: str | None = None
    real_interval: tuple[float, float] | None = None
    real_interval_exact: str | None = None
    imag_limit: float | None = None
    boundary: tuple[Pair, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GlobalOrderView(_AnalysisPart):
    """Global error at ``interval`` against h and the fitted slope (the measured order)."""

    name: str
    startup: str | None = None
    interval: float | None = None
    steps: tuple[int, ...] = ()
    h: tuple[float, ...] = ()
    errors: tuple[float | None, ...] = ()
    used: tuple[bool, ...] = ()
    fitted: tuple[bool, ...] = ()
    pairwise_slopes: tuple[float | None, ...] = ()
    order: float | None = None
    n_samples: int | None = None


@dataclass(frozen=True, kw_only=True)
class MultistepView(_AnalysisPart):
    stages: int | None = None
    memory: int | None = None
    form: str | None = None
    startup: str | None = None
    evaluations_per_step: int | None = None
    startup_evaluations: int | None = None
    lmm: LmmView | None = None
    lmm_conditions: tuple[LmmConditionView, ...] = ()
    error_constant: ErrorConstantView | None = None
    zero_stability: ZeroStabilityView | None = None
    stability: MultistepStabilityView | None = None
    startup_order: int | None = None
    expected_global_order: int | None = None
    measured: GlobalOrderView | None = None
    measured_learned: GlobalOrderView | None = None
    measured_classical: Mapping[str, GlobalOrderView] = field(default_factory=_empty)
    equal_cost: EqualCostView | None = None
    verified: tuple[str, ...] = ()
    measured_only: tuple[str, ...] = ()


# ================================================================== the whole analysis
@dataclass(frozen=True, kw_only=True)
class AnalysisView(_AnalysisPart):
    """``analysis.json`` of any kind: the Runge-Kutta view of the tableau (every kind), the
    run record of a learned method, the ``krylov`` / ``nonlinear`` section of a solver, the
    ``two_derivative`` section of a two-derivative Runge-Kutta method and the ``multistep``
    section of a multistep method."""

    format: str | None = None
    kind: str
    name: str
    stages: int | None = None
    explicit: bool = True
    order: int | None = None
    tol: float | None = None
    arithmetic: str | None = None
    residuals: Mapping[str, float] | None = None
    order_reached_cap: bool | None = None
    embedded_order: int | None = None
    tableau: TableauView | None = None
    rational: TableauView | None = None
    exact_order: int | None = None
    exact_residuals: Mapping[str, float] | None = None
    identified_as: str | None = None
    identification: IdentificationView | None = None
    distillation: DistillationView | None = None
    stage_order: int | None = None
    principal_error_norm: float | None = None
    stability: StabilityView | None = None
    conditions_order: int | None = None
    conditions: tuple[ConditionRowView, ...] = ()
    final_tableau_float: TableauView | None = None
    baseline: BaselineView | None = None
    family: OdeFamilyView | None = None
    personalised_order: int | None = None
    personalised: PersonalisedView | None = None
    personalised_order_learned: int | None = None
    measured_order: float | None = None
    measured: MeasuredOrderView | None = None
    measured_order_learned: float | None = None
    measured_learned: MeasuredOrderView | None = None
    measured_classical: Mapping[str, MeasuredOrderView] | None = None
    comparison: ComparisonView | None = None
    training_verdict: TrainingVerdictView | None = None
    primary: PrimaryView | None = None
    comparison_learned: ComparisonView | None = None
    work_precision: WorkPrecisionView | None = None
    target_order: TargetOrderView | None = None
    training: TrainingView | None = None
    structure: StructureView | None = None
    provenance: ProvenanceView | None = None
    algorithm_hash: str | None = None
    algorithm_integrity: str | None = None
    problem_class: str | None = None
    summary: str | None = None
    mode: str | None = None
    rk_identified_as: str | None = None
    krylov: KrylovView | None = None
    nonlinear: NonlinearView | None = None
    two_derivative: TwoDerivativeView | None = None
    multistep: MultistepView | None = None

    @classmethod
    def read(cls, data: Any) -> "AnalysisView":
        """The view of a parsed ``analysis.json`` (or ``check --json``) object."""
        return cls.from_json(data)  # type: ignore[return-value]

    @property
    def learned(self) -> bool:
        """The analysis of a learned method: it has a training record, a distillation or
        measurements of the learned weights."""
        return self.training is not None or self.distillation is not None or self.measured_learned is not None

    @property
    def stage_count(self) -> int | None:
        """``stages``, else the size of the tableau."""
        if self.stages is not None:
            return self.stages
        return self.tableau.stages if self.tableau is not None else None

    @property
    def final_exact(self) -> TableauView | None:
        """The exact tableau: the distilled/rationalised one, or the input when it is exact."""
        if self.rational is not None:
            return self.rational
        return self.tableau if self.tableau is not None and not self.tableau.is_float else None

    @property
    def krylov_section(self) -> KrylovView | None:
        """The ``krylov`` section of a krylov analysis when it holds its residual polynomial."""
        k = self.krylov
        return k if self.kind == "krylov" and k is not None and k.polynomial is not None else None

    @property
    def two_derivative_section(self) -> TwoDerivativeView | None:
        """The ``two_derivative`` section of a two-derivative Runge-Kutta analysis."""
        return self.two_derivative if self.kind == "two-derivative-runge-kutta" else None

    @property
    def multistep_section(self) -> MultistepView | None:
        """The ``multistep`` section of a multistep analysis."""
        return self.multistep if self.kind == "multistep" else None

    @property
    def nonlinear_section(self) -> NonlinearView | None:
        """The ``nonlinear`` section of a newton-krylov analysis."""
        return self.nonlinear if self.kind == "newton-krylov" else None


@lru_cache(maxsize=1)
def analysis_schema() -> dict[str, Any]:
    """The JSON Schema of ``analysis.json`` and ``check --json`` (draft 2020-12)."""
    text = resources.files(__package__).joinpath("data", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)
