"""algodiscover's distilling side: Butcher tableaux, rooted trees, order conditions,
rationalisation and distillation, stability, identification and measured accuracy.

This package never imports torch; it works on plain arrays and exact numbers, so it can
check any tableau, learned or hand-made::

    >>> from algodiscover.analysis import get_method, check_order
    >>> check_order(get_method("RK4")).order
    4
"""

from .accuracy import Comparison, MeasuredOrder, compare_methods, measure_order, one_step_errors, rk_step
from .assessment import ANALYSIS_FORMAT, Analysis, analyze_tableau, learned_targets
from .catalogue import CatalogueEntry, Identification, catalogue, get_method, identify, same_stage_methods
from .distill import Distillation, PolishResult, distill, polish
from .errors import AnalysisInputError, TableauError, TableauWarning
from .numbers import format_exact, parse_entry
from .odefamily import T_SYMBOL, OdeFamilySpec, OdeSamples
from .order import (
    ConditionBlock,
    ConditionRow,
    ConditionSet,
    OrderReport,
    check_order,
    condition_rows,
    elementary_weights,
    error_coefficients,
    general_conditions,
    order_of,
    principal_error_norm,
    residuals,
    stage_order,
)
from .personalised import PersonalisedOrder, personalised_conditions, personalised_order
from .rationalize import rationalize, rationalize_value
from .krylov import (
    EqualCostComparison,
    IterationHistory,
    KrylovAnalysis,
    Spectrum,
    analyze_polynomial_iteration,
    chebyshev_factor,
    chebyshev_residual,
    compare_at_equal_matvecs,
    convergence_factor,
    exact_residual_polynomial,
    polynomial_coefficients,
    residual_polynomial,
    shift_form,
    tableau_for_polynomial,
)
from .linear_stability import StabilityInfo, region_grid, stability, stability_function
from .atomic import atomic_path, write_atomic, write_json_atomic
from .tableau import ButcherTableau, load_tableau
from .rooted_trees import RootedTree, count_trees, tree_table, trees, trees_up_to, weight_formula

__all__ = [name for name in dir() if not name.startswith("_")]
