"""algodiscover's distilling side: Butcher tableaux, rooted trees, order conditions,
rationalisation and distillation, stability, identification and measured accuracy.

This package never imports torch; it works on plain arrays and exact numbers, so it can
check any tableau, learned or hand-made::

    >>> from algodiscover.analysis import get_method, check_order
    >>> check_order(get_method("RK4")).order
    4

Names are imported lazily (PEP 562): ``import algodiscover.analysis`` is cheap, and a name
pulls in only the modules it needs (``check`` never loads scipy or matplotlib).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(('Comparison', 'MeasuredOrder', 'SlopeFit', 'compare_methods', 'fit_asymptotic_slope', 'measure_order', 'one_step_errors', 'rk_step'), 'accuracy'),
    **dict.fromkeys(('ANALYSIS_FORMAT', 'Analysis', 'analyze_tableau', 'learned_targets'), 'assessment'),
    **dict.fromkeys(('CatalogueEntry', 'Identification', 'catalogue', 'get_method', 'identify', 'same_stage_methods'), 'methods'),
    **dict.fromkeys(('Distillation', 'PolishResult', 'distill', 'polish'), 'distillation'),
    **dict.fromkeys(('AnalysisInputError', 'TableauError', 'TableauWarning'), 'errors'),
    **dict.fromkeys(('format_exact', 'parse_entry'), 'numbers'),
    **dict.fromkeys(('OdeFamilySpec', 'OdeSamples', 'T_SYMBOL'), 'odefamily'),
    **dict.fromkeys(('ConditionBlock', 'ConditionRow', 'ConditionSet', 'OrderReport', 'check_order', 'condition_rows', 'elementary_weights', 'error_coefficients', 'general_conditions', 'order_limit', 'order_of', 'principal_error_norm', 'residuals', 'stage_order', 'StageOrder'), 'order'),
    **dict.fromkeys(('PersonalisedOrder', 'personalised_conditions', 'personalised_order'), 'personalised'),
    **dict.fromkeys(('rationalize', 'rationalize_value'), 'rationals'),
    **dict.fromkeys(('Spectrum', 'lanczos_extremes'), 'spectrum'),
    **dict.fromkeys(('RatioEstimate', 'bootstrap_ratio'), 'statistics'),
    **dict.fromkeys(('AnalysisView',), 'schema'),
    **dict.fromkeys(('MemoryRecurrence', 'memory_recurrence', 'heavy_ball', 'optimal_two_step_factor', 'identify_memory_iteration',
                     'LinearMultistep', 'linear_multistep', 'ADAMS_BASHFORTH', 'CLASSICAL_LMM', 'ZeroStability', 'memory_weights_of'), 'memory'),
    **dict.fromkeys(('MultistepMethod', 'multistep_residuals', 'multistep_order', 'multistep_integrate', 'multistep_from_lmm',
                     'startup_evaluations', 'multistep_weight_formulas'), 'multistep'),
    **dict.fromkeys(('GlobalOrder', 'measure_global_order', 'compare_at_equal_evaluations', 'MultistepRunner', 'RungeKuttaRunner'),
                    'multistep_accuracy'),
    **dict.fromkeys(('MultistepDistillation', 'distill_multistep'), 'multistep_distillation'),
    **dict.fromkeys(('MULTISTEP_KIND', 'MultistepAnalysis', 'analyze_multistep'), 'multistep_assessment'),
    **dict.fromkeys(('bootstrap_mean_interval',), 'bootstrap'),
    **dict.fromkeys(('TwoDerivativeTableau', 'two_derivative_order', 'two_derivative_residuals',
                     'two_derivative_stability_function'), 'two_derivative'),
    **dict.fromkeys(('DERIVATIVE_TOKENS', 'get_two_derivative_method', 'identify_two_derivative', 'two_derivative_catalogue',
                     'two_derivative_stage_order', 'two_derivative_weight_formula'), 'two_derivative_methods'),
    **dict.fromkeys(('DerivativeCost', 'EqualCostComparison', 'compare_at_equal_cost', 'measure_two_derivative_order',
                     'numpy_fg', 'second_derivative', 'two_derivative_step'), 'two_derivative_accuracy'),
    **dict.fromkeys(('TwoDerivativeDistillation', 'distill_two_derivative'), 'two_derivative_distillation'),
    **dict.fromkeys(('TWO_DERIVATIVE_KIND', 'TwoDerivativeAnalysis', 'analyze_two_derivative', 'two_derivative_personalised_order',
                     'two_derivative_stability'), 'two_derivative_assessment'),
    **dict.fromkeys(('exact_residual_polynomial', 'polynomial_coefficients', 'residual_polynomial', 'shift_form', 'tableau_for_polynomial'), 'polynomials'),
    **dict.fromkeys(('chebyshev_factor', 'chebyshev_residual', 'convergence_factor'), 'minimax'),
    **dict.fromkeys(('EqualCostComparison', 'IterationHistory', 'compare_at_equal_matvecs'), 'iterations'),
    **dict.fromkeys(('KrylovAnalysis', 'analyze_polynomial_iteration'), 'krylov'),
    **dict.fromkeys(('MemoryIterationAnalysis', 'analyze_memory_iteration'), 'memory_krylov'),
    **dict.fromkeys(('StabilityFunction', 'StabilityInfo', 'plot_window', 'region_grid', 'stability', 'stability_function', 'stability_rational'), 'linear_stability'),
    **dict.fromkeys(('StabilityVerdicts', 'assess_stability'), 'stability_verdicts'),
    **dict.fromkeys(('NumberField', 'number_field'), 'number_fields'),
    **dict.fromkeys(('atomic_path', 'write_atomic', 'write_json_atomic'), 'atomic'),
    **dict.fromkeys(('ButcherTableau', 'load_tableau'), 'tableau'),
    **dict.fromkeys(('RootedTree', 'count_trees', 'tree_table', 'trees', 'trees_up_to', 'weight_formula'), 'rooted_trees'),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .accuracy import Comparison, MeasuredOrder, SlopeFit, compare_methods, fit_asymptotic_slope, measure_order, one_step_errors, rk_step  # noqa: F401
    from .assessment import ANALYSIS_FORMAT, Analysis, analyze_tableau, learned_targets  # noqa: F401
    from .methods import CatalogueEntry, Identification, catalogue, get_method, identify, same_stage_methods  # noqa: F401
    from .distillation import Distillation, PolishResult, distill, polish  # noqa: F401
    from .errors import AnalysisInputError, TableauError, TableauWarning  # noqa: F401
    from .numbers import format_exact, parse_entry  # noqa: F401
    from .odefamily import T_SYMBOL, OdeFamilySpec, OdeSamples  # noqa: F401
    from .order import ConditionBlock, ConditionRow, ConditionSet, OrderReport, check_order, condition_rows, elementary_weights, error_coefficients, general_conditions, order_limit, order_of, principal_error_norm, residuals, stage_order, StageOrder  # noqa: F401
    from .personalised import PersonalisedOrder, personalised_conditions, personalised_order  # noqa: F401
    from .rationals import rationalize, rationalize_value  # noqa: F401
    from .spectrum import Spectrum, lanczos_extremes  # noqa: F401
    from .statistics import RatioEstimate, bootstrap_ratio  # noqa: F401
    from .schema import AnalysisView  # noqa: F401
    from .memory import (ADAMS_BASHFORTH, CLASSICAL_LMM, LinearMultistep, MemoryRecurrence, ZeroStability, heavy_ball,  # noqa: F401
                         identify_memory_iteration, linear_multistep, memory_recurrence, memory_weights_of, optimal_two_step_factor)
    from .multistep import (MultistepMethod, multistep_from_lmm, multistep_integrate, multistep_order,  # noqa: F401
                            multistep_residuals, multistep_weight_formulas, startup_evaluations)
    from .multistep_accuracy import (GlobalOrder, MultistepRunner, RungeKuttaRunner, compare_at_equal_evaluations,  # noqa: F401
                                     measure_global_order)
    from .multistep_distillation import MultistepDistillation, distill_multistep  # noqa: F401
    from .multistep_assessment import MULTISTEP_KIND, MultistepAnalysis, analyze_multistep  # noqa: F401
    from .bootstrap import bootstrap_mean_interval  # noqa: F401
    from .two_derivative import (TwoDerivativeTableau, two_derivative_order, two_derivative_residuals,  # noqa: F401
                                 two_derivative_stability_function)
    from .two_derivative_methods import (DERIVATIVE_TOKENS, get_two_derivative_method, identify_two_derivative,  # noqa: F401
                                         two_derivative_catalogue, two_derivative_stage_order, two_derivative_weight_formula)
    from .two_derivative_accuracy import (DerivativeCost, EqualCostComparison, compare_at_equal_cost,  # noqa: F401
                                          measure_two_derivative_order, numpy_fg, second_derivative, two_derivative_step)
    from .two_derivative_distillation import TwoDerivativeDistillation, distill_two_derivative  # noqa: F401
    from .two_derivative_assessment import (TWO_DERIVATIVE_KIND, TwoDerivativeAnalysis, analyze_two_derivative,  # noqa: F401
                                            two_derivative_personalised_order, two_derivative_stability)
    from .polynomials import exact_residual_polynomial, polynomial_coefficients, residual_polynomial, shift_form, tableau_for_polynomial  # noqa: F401
    from .minimax import chebyshev_factor, chebyshev_residual, convergence_factor  # noqa: F401
    from .iterations import EqualCostComparison, IterationHistory, compare_at_equal_matvecs  # noqa: F401
    from .krylov import KrylovAnalysis, analyze_polynomial_iteration  # noqa: F401
    from .memory_krylov import MemoryIterationAnalysis, analyze_memory_iteration  # noqa: F401
    from .linear_stability import StabilityFunction, StabilityInfo, plot_window, region_grid, stability, stability_function, stability_rational  # noqa: F401
    from .stability_verdicts import StabilityVerdicts, assess_stability  # noqa: F401
    from .number_fields import NumberField, number_field  # noqa: F401
    from .atomic import atomic_path, write_atomic, write_json_atomic  # noqa: F401
    from .tableau import ButcherTableau, load_tableau  # noqa: F401
    from .rooted_trees import RootedTree, count_trees, tree_table, trees, trees_up_to, weight_formula  # noqa: F401
