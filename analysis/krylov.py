"""Krylov form of a learned polynomial iteration, the analysis object (no torch):
:class:`KrylovAnalysis` and :func:`analyze_polynomial_iteration`, which put together the
residual polynomial (:mod:`.polynomials`), its convergence factor against Chebyshev
(:mod:`.minimax`), its readable forms and identification (:mod:`.polynomial_distillation`)
and the measured equal-matvec comparison (:mod:`.iterations`) on a :class:`~.spectrum.Spectrum`.
It imports those modules and :mod:`.errors`, :mod:`.numbers`, :mod:`.tableau`, numpy, sympy.

The JSON of :meth:`KrylovAnalysis.to_json` (the ``"krylov"`` section of analysis.json):

- ``stages`` (n), ``matvecs_per_outer`` (n), ``h`` (float), ``h_exact`` (string or null)
- ``polynomial``: ``{"sympy" (text in the variable ``lam``, readable by ``sympy.sympify``),
  "latex" (in ``\\lambda``), "coefficients" (floats, ascending powers of
  lambda), "coefficients_exact" (strings or null), "exact" (bool), "source"}``; ``source``
  says how the exact form was found (``"exact tableau"``, ``"rationalised tableau and
  h"``, ``"rationalised coefficients"``) or ``"float"``
- ``roots``: roots of q as ``[re, im]`` pairs, sorted by real part;
  ``richardson_steps``: ``1 / root`` as ``[re, im]`` pairs (the step sizes of the
  equivalent non-stationary Richardson iteration)
- ``recurrence``: the outer iteration as pseudocode (string); ``richardson_form``: the same
  polynomial as a sequence of Richardson steps (string)
- ``spectrum``: ``{"interval": [lo, hi], "source", "real", "max_imag",
  "eigenvalue_count" (null for a continuous family), "exact_interval"}``
- ``factor``: ``{"per_outer", "per_matvec", "argmax", "on_eigenvalues"}`` for the learned
  polynomial; ``per_outer`` is ``max |q|`` over the interval for a real spectrum, over the
  known eigenvalues for a complex one
- ``chebyshev``: the degree-n Chebyshev residual polynomial on the same interval,
  ``{"sympy", "latex", "coefficients", "exact", "roots", "per_outer", "per_matvec",
  "on_eigenvalues"}``
- ``factor_ratio``: ``{"per_outer", "per_matvec", "on_eigenvalues"}`` learned / Chebyshev
  (>= 1 on a real interval: Chebyshev is optimal there); ``on_eigenvalues`` compares the two
  polynomials' ``max |q|`` over the known eigenvalues themselves (null when none are known),
  where the learned polynomial can beat Chebyshev: a family with fixed eigenvalues is
  judged there, not on their hull
- ``distilled``: the residual polynomial with coefficients snapped to short fractions
  ``{"sympy", "latex", "coefficients_exact", "relative_tolerance", "per_outer",
  "factor_change", "h", "tableau"}``, or null when the polynomial is already exact or
  no snapping keeps the factor within 1 %
- ``identified_as``: the classical description (string or null)
- ``exact_tableau``: ``{"tableau" (exact entries as strings), "h" (string), "represents"}``
  or null, always normalised to ``sum(b) = 1`` (same polynomial); ``represents`` is
  ``"learned tableau (normalised to sum(b) = 1)"`` (the weights themselves rationalised),
  ``"learned polynomial (shift form)"`` (an exact tableau, W = subdiagonal ones, ``h = -a_1``,
  with the learned polynomial's exact coefficients) or ``"distilled polynomial (shift
  form)"``
- ``comparison``: the measured equal-matvec comparison (:class:`EqualCostComparison`), or
  null: ``{"tol", "instances", "matvec_budget", "counting", "methods": {name:
  {"matvecs_to_tol": [int or null per instance], "median": float or null, "reached": int,
  "residual_at_learned_matvecs": median relative residual after the matvecs the learned
  iteration needed, "wall_s": float, "history": {"matvecs": [...], "residual": [...]}
  (first instance, relative residual norms, at most about 2000 entries)}},
  "ratios": {name: baseline median / learned median or null; > 1 means the learned
  iteration needs fewer matvecs}, "ratio_estimates": {name: the same ratio with its 95 %
  percentile-bootstrap interval over the systems, :class:`~.statistics.RatioEstimate`},
  "skipped": {name: reason}, "finite_termination": {"size", "cg", "gmres", "note"}}``;
  ``gmres(n)`` is SciPy's gmres counted by wrapping the matvec (n + 1 per cycle),
  ``gmres(n)-idealised`` the Arnoldi-only count (n per cycle)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from .errors import AnalysisInputError
from .iterations import EqualCostComparison, compare_at_equal_matvecs
from .minimax import chebyshev_factor, chebyshev_residual, chebyshev_values, convergence_factor
from .numbers import format_exact
from .polynomial_distillation import distill_polynomial, identify_polynomial, recurrence_pseudocode, richardson_pseudocode
from .polynomials import (
    coefficients_of,
    exact_residual_polynomial,
    normalise,
    polynomial_coefficients,
    polynomial_latex,
    polynomial_roots,
    polynomial_text,
    shift_form,
)
from .spectrum import Spectrum
from .tableau import ButcherTableau

__all__ = ["KrylovAnalysis", "analyze_polynomial_iteration"]


def _pairs(z: np.ndarray) -> list[list[float]]:
    return [[float(v.real), float(v.imag)] for v in np.asarray(z, dtype=complex)]


@dataclass(frozen=True)
class KrylovAnalysis:
    """Everything the distilling side says about one polynomial iteration."""

    stages: int
    h: float
    h_exact: sp.Expr | None
    polynomial: sp.Expr
    polynomial_source: str
    coefficients: np.ndarray
    roots: np.ndarray
    recurrence: str
    richardson_form: str
    spectrum: Spectrum
    factor: dict[str, Any]
    chebyshev: dict[str, Any] | None
    distilled: dict[str, Any] | None
    identified_as: str | None
    exact_tableau: ButcherTableau | None
    exact_tableau_h: sp.Expr | None = None
    exact_tableau_represents: str | None = None
    comparison: EqualCostComparison | None = None

    @property
    def exact(self) -> bool:
        return self.polynomial_source != "float"

    @property
    def factor_ratio(self) -> dict[str, float | None]:
        if self.chebyshev is None or not self.chebyshev["per_outer"]:
            return {"per_outer": None, "per_matvec": None, "on_eigenvalues": None}
        r = self.factor["per_outer"] / self.chebyshev["per_outer"]
        on_l, on_c = self.factor.get("on_eigenvalues"), self.chebyshev.get("on_eigenvalues")
        on = on_l / on_c if on_l is not None and on_c else None
        return {"per_outer": r, "per_matvec": r ** (1.0 / self.stages), "on_eigenvalues": on}

    def to_json(self) -> dict[str, Any]:
        coeffs_exact = None
        if self.exact:
            coeffs_exact = [format_exact(c) for c in coefficients_of(self.polynomial, self.stages)]
        distilled = None if self.distilled is None else {k: v for k, v in self.distilled.items() if not k.startswith("_")}
        return {
            "stages": self.stages,
            "matvecs_per_outer": self.stages,
            "h": self.h,
            "h_exact": None if self.h_exact is None else format_exact(self.h_exact),
            "polynomial": {
                "sympy": polynomial_text(self.polynomial),
                "latex": polynomial_latex(self.polynomial),
                "coefficients": [float(c) for c in self.coefficients],
                "coefficients_exact": coeffs_exact,
                "exact": self.exact,
                "source": self.polynomial_source,
            },
            "roots": _pairs(self.roots),
            "richardson_steps": _pairs(1.0 / self.roots) if self.roots.size and np.all(self.roots != 0) else [],
            "recurrence": self.recurrence,
            "richardson_form": self.richardson_form,
            "spectrum": self.spectrum.to_json(),
            "factor": self.factor,
            "chebyshev": self.chebyshev,
            "factor_ratio": self.factor_ratio,
            "distilled": distilled,
            "identified_as": self.identified_as,
            "exact_tableau": None if self.exact_tableau is None else {
                "tableau": self.exact_tableau.to_dict(),
                "h": None if self.exact_tableau_h is None else format_exact(self.exact_tableau_h),
                "represents": self.exact_tableau_represents,
            },
            "comparison": None if self.comparison is None else self.comparison.to_json(),
        }


def _shared_sparse(systems: Sequence[tuple[Any, np.ndarray]]) -> bool:
    """One shared scipy sparse matrix of order >= BLOCK_MIN_SIZE: compare as a block."""
    import scipy.sparse as sps

    from .block_iterations import BLOCK_MIN_SIZE

    A0 = systems[0][0]
    return sps.issparse(A0) and A0.shape[0] >= BLOCK_MIN_SIZE and all(A is A0 for A, _ in systems)


def _chebyshev_info(n: int, spectrum: Spectrum) -> dict[str, Any] | None:
    lo, hi = spectrum.interval
    if not 0 < lo < hi:
        return None
    q = chebyshev_residual(n, lo, hi)
    co = coefficients_of(q, n)
    exact = all(not isinstance(c, sp.Float) and not c.has(sp.Float) for c in co)
    k = np.arange(1, n + 1)
    roots = np.sort((hi + lo) / 2 - (hi - lo) / 2 * np.cos((2 * k - 1) * np.pi / (2 * n)))
    on_ev = None
    if spectrum.eigenvalues is not None:
        on_ev = float(np.max(np.abs(chebyshev_values(n, lo, hi, spectrum.eigenvalues))))
    per = chebyshev_factor(n, lo, hi) if spectrum.real else on_ev
    return {
        "sympy": polynomial_text(q),
        "latex": polynomial_latex(q),
        "coefficients": [float(c) for c in co],
        "exact": exact,
        "roots": _pairs(roots.astype(complex)),
        "per_outer": per,
        "per_matvec": None if per is None else per ** (1.0 / n),
        "on_eigenvalues": on_ev,
    }


def analyze_polynomial_iteration(
    tableau: ButcherTableau,
    h: float,
    spectrum: Spectrum,
    *,
    systems: Sequence[tuple[Any, np.ndarray]] | None = None,
    symmetric: bool = False,
    tol: float = 1e-10,
    budget: int = 10_000,
    name: str = "learned polynomial iteration",
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
    start: str = "x0 = 0",
    betas: Sequence[float] = (),
    gammas: Sequence[Sequence[float]] = (),
) -> KrylovAnalysis:
    """Residual polynomial (exact when possible), roots, pseudocode, convergence factor on
    ``spectrum`` against Chebyshev, distilled polynomial, identification and, given held-out
    ``systems``, the measured equal-matvec comparison (``seed`` fixes its bootstrap
    intervals; ``start`` names the starting point in its counting note). With ``betas`` /
    ``gammas`` (memory M >= 1) the polynomial part describes one plain step (W, b, h), the
    start-up step, and the measured comparison runs the iteration with memory
    (:func:`~.iterations.run_memory_iteration`; its recurrence is analysed by
    :func:`~.memory_krylov.analyze_memory_iteration`)."""
    if not tableau.is_explicit:
        raise AnalysisInputError("a polynomial iteration needs an explicit tableau (strictly lower triangular W)")
    if not (isinstance(h, (int, float)) and math.isfinite(h) and h > 0):
        raise AnalysisInputError(f"h must be a positive finite number, got {h!r}")
    n = tableau.stages
    W, b = np.array(tableau.A), np.array(tableau.b)
    q, source, exact_tab, h_ex = exact_residual_polynomial(tableau, float(h))
    coeffs = polynomial_coefficients(tableau, h)
    scale = max(abs(spectrum.interval[1]), 1.0 / float(h))
    fac = convergence_factor(W, b, float(h), spectrum)
    cheb = _chebyshev_info(n, spectrum)
    distilled = None
    represents = None
    tab_h: sp.Expr | None = None
    if source in ("exact tableau", "rationalised tableau and h"):
        represents = "learned tableau (normalised to sum(b) = 1)"
        exact_tab, tab_h = normalise(exact_tab, h_ex)
        roots = polynomial_roots(coefficients_of(q, n))
    elif source == "rationalised coefficients":
        exact_tab, tab_h = shift_form(coefficients_of(q, n))
        represents = "learned polynomial (shift form)"
        roots = polynomial_roots(coefficients_of(q, n))
    else:
        roots = polynomial_roots(coeffs, scale=scale)
        distilled = distill_polynomial(W, b, float(h), spectrum)
        if distilled is not None:
            exact_tab, tab_h = distilled["_tableau"], distilled["_h"]
            represents = "distilled polynomial (shift form)"
    ident = identify_polynomial(coeffs, roots, spectrum, float(h))
    if represents is not None and represents.startswith("learned tableau"):
        rec = recurrence_pseudocode(exact_tab, tab_h, name=name)
    else:
        rec = recurrence_pseudocode(tableau, float(h), name=name)
    comp = None
    if systems and _shared_sparse(systems) and not len(betas):  # the block runners are memoryless
        from .block_iterations import compare_blocked

        A0 = systems[0][0]
        comp = compare_blocked(W, b, float(h), A0, np.array([r for _, r in systems]), spectrum, symmetric=symmetric, tol=tol,
                               budget=budget, progress=progress, seed=seed, start=start)
    elif systems:
        comp = compare_at_equal_matvecs(W, b, float(h), systems, spectrum, symmetric=symmetric, tol=tol, budget=budget,
                                        progress=progress, seed=seed, start=start, betas=betas, gammas=gammas)
    return KrylovAnalysis(
        stages=n, h=float(h), h_exact=h_ex, polynomial=q, polynomial_source=source, coefficients=coeffs, roots=roots,
        recurrence=rec, richardson_form=richardson_pseudocode(roots), spectrum=spectrum, factor=fac, chebyshev=cheb,
        distilled=distilled, identified_as=ident, exact_tableau=exact_tab, exact_tableau_h=tab_h,
        exact_tableau_represents=represents, comparison=comp,
    )
