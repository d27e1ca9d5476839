"""From an analysis to what the templates show: the list of report sections and the
assembly of the template context.

A section builder takes the :class:`~analysis.schema.AnalysisView` of ``analysis.json``
(and, for sections with a figure, the names of the figures drawn) and returns the data its
templates ``html_<key>.j2`` and ``tex_<key>.j2`` need, or ``None`` when the analysis has
nothing for it, in which case the section is skipped. Text is built as *rich* sequences of
plain strings, :class:`~reports.mathtext.Math` and :class:`~reports.mathtext.Code`, so
both outputs say the same sentences. The builders live in one module per topic:
:mod:`reports.rk_summary`, :mod:`reports.rk_algorithm`, :mod:`reports.rk_conditions`,
:mod:`reports.rk_stability`, :mod:`reports.rk_accuracy` (Runge-Kutta),
:mod:`reports.rk_two_derivative`, :mod:`reports.rk_equal_cost` (``"two-derivative-runge-kutta"``),
:mod:`reports.multistep_sections`, :mod:`reports.multistep_accuracy` (``"multistep"``),
:mod:`reports.linear_summary`, :mod:`reports.linear_sections` (``"krylov"``),
:mod:`reports.nonlinear_sections` (``"newton-krylov"``), :mod:`reports.training` and
:mod:`reports.provenance` (every kind). This module imports them all and nothing imports
it but :mod:`reports.render`. Nothing here computes a new result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..analysis.schema import AnalysisView
from .formatting import Rich
from .linear_memory import build_memory
from .linear_sections import build_convergence, build_matvecs, build_recurrence
from .linear_summary import build_krylov_summary, krylov_title
from .mathtext import sci
from .nonlinear_sections import build_linearisation, build_newton, build_nl_iteration, build_nonlinear_summary, nonlinear_title
from .provenance import build_provenance
from .rk_accuracy import build_accuracy
from .rk_algorithm import build_algorithm
from .rk_conditions import build_conditions
from .rk_stability import build_stability
from .rk_equal_cost import build_equal_cost
from .rk_summary import build_summary, rk_title
from .rk_two_derivative import (TWO_DERIVATIVE_KIND, build_td_algorithm, build_td_conditions, build_td_stability, build_td_summary,
                                td_title)
from .multistep_accuracy import build_ms_accuracy, build_ms_equal_cost
from .multistep_sections import (MULTISTEP_KIND, build_ms_conditions, build_ms_method, build_ms_stability, build_ms_summary,
                                 build_ms_verified, ms_title)
from .training import build_training

__all__ = ["Section", "SECTIONS", "build_context", "report_title"]


@dataclass(frozen=True)
class Section:
    """A report section: ``key`` names its templates (``html_<key>.j2``, ``tex_<key>.j2``)
    and anchor, ``build`` returns its data or ``None`` to skip it, ``kinds`` limits it to
    some analysis kinds (``None``: every kind); ``figures``: ``build`` also takes the names
    of the figures drawn."""

    key: str
    title: str
    build: Callable[..., dict[str, Any] | None]
    kinds: tuple[str, ...] | None = None
    figures: bool = False


def report_title(a: AnalysisView) -> str:
    if a.kind == "krylov" and a.krylov_section is not None:
        return krylov_title(a)
    if a.kind == "newton-krylov" and a.nonlinear_section is not None:
        return nonlinear_title(a)
    if a.kind == TWO_DERIVATIVE_KIND:
        return td_title(a)
    if a.kind == MULTISTEP_KIND and a.multistep_section is not None:
        return ms_title(a)
    if a.kind != "runge-kutta":
        return f"{a.name}: {a.kind} report"
    return rk_title(a)


def _generic_solver_line(a: AnalysisView) -> Rich | None:
    """For a solver kind whose own section is missing from the analysis: what the order of
    its tableau means (instead of the generic order line)."""
    kind = a.kind
    if kind not in ("krylov", "newton-krylov"):
        return None
    what = "linear" if kind == "krylov" else "nonlinear"
    return [f"This {what}-solver analysis has no \u201c{'krylov' if kind == 'krylov' else 'nonlinear'}\u201d section, so only shared sections follow. "
            f"Viewed as an explicit Runge\u2013Kutta method its tableau has order {a.order!s} (tolerance ", sci(a.tol, 2),
            "), which says nothing about it as a solver."]


def _generic_summary(a: AnalysisView) -> dict[str, Any]:
    paras: list[Rich] = []
    if a.summary:
        paras.append([a.summary])
    line = _generic_solver_line(a)
    paras.append(line if line is not None else [f"Analysis kind {a.kind!s}; order {a.order!s} (tolerance ", sci(a.tol, 2), ")."])
    return {"paragraphs": paras, "facts": []}


def build_summary_any(a: AnalysisView) -> dict[str, Any]:
    """The summary of any kind: Runge-Kutta, krylov and newton-krylov have their own; other
    kinds (or a solver analysis without its section) get the generic one."""
    if a.kind == "runge-kutta":
        return build_summary(a)
    if a.kind == TWO_DERIVATIVE_KIND:
        return build_td_summary(a)
    if a.kind == MULTISTEP_KIND and a.multistep_section is not None:
        return build_ms_summary(a)
    data = build_krylov_summary(a) if a.kind == "krylov" else build_nonlinear_summary(a) if a.kind == "newton-krylov" else None
    return data if data is not None else _generic_summary(a)


SECTIONS: list[Section] = [
    Section("summary", "Summary", build_summary_any),
    Section("algorithm", "The method", build_algorithm, ("runge-kutta",)),
    Section("conditions", "Order conditions", build_conditions, ("runge-kutta",)),
    Section("algorithm", "The method", build_td_algorithm, (TWO_DERIVATIVE_KIND,)),
    Section("conditions", "Order conditions", build_td_conditions, (TWO_DERIVATIVE_KIND,)),
    Section("stability", "Linear stability", build_stability, ("runge-kutta",), figures=True),
    Section("stability", "Linear stability", build_td_stability, (TWO_DERIVATIVE_KIND,), figures=True),
    Section("accuracy", "Accuracy at equal cost", build_accuracy, ("runge-kutta",), figures=True),
    Section("accuracy", "Measured order", build_accuracy, (TWO_DERIVATIVE_KIND,), figures=True),
    Section("equalcost", "Accuracy at equal cost", build_equal_cost, (TWO_DERIVATIVE_KIND,), figures=True),
    Section("msmethod", "The method", build_ms_method, (MULTISTEP_KIND,)),
    Section("msconditions", "Order conditions", build_ms_conditions, (MULTISTEP_KIND,)),
    Section("msstability", "Zero-stability and linear stability", build_ms_stability, (MULTISTEP_KIND,), figures=True),
    Section("msaccuracy", "Measured global order", build_ms_accuracy, (MULTISTEP_KIND,), figures=True),
    Section("msequalcost", "Accuracy at equal cost", build_ms_equal_cost, (MULTISTEP_KIND,), figures=True),
    Section("msverified", "Verified and measured", build_ms_verified, (MULTISTEP_KIND,)),
    Section("memory", "The iteration with memory", build_memory, ("krylov",), figures=True),
    Section("recurrence", "The iteration", build_recurrence, ("krylov",)),
    Section("convergence", "Residual polynomial and convergence factor", build_convergence, ("krylov",), figures=True),
    Section("matvecs", "Equal-matvec comparison", build_matvecs, ("krylov",), figures=True),
    Section("nliteration", "The iteration", build_nl_iteration, ("newton-krylov",)),
    Section("linearisation", "Linearisation at the solution", build_linearisation, ("newton-krylov",), figures=True),
    Section("newton", "Comparison with Newton\u2013Krylov", build_newton, ("newton-krylov",)),
    Section("training", "Training", build_training, figures=True),
    Section("provenance", "Provenance and citation", build_provenance),
]


def build_context(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any]:
    """Title and the list of present sections (``key``, ``title``, ``data``, ``number``)."""
    sections = []
    for sec in SECTIONS:
        if sec.kinds is not None and a.kind not in sec.kinds:
            continue
        data = sec.build(a, figures) if sec.figures else sec.build(a)
        if data is None:
            continue
        sections.append({"key": sec.key, "title": sec.title, "data": data, "number": len(sections) + 1})
    subject = {"krylov": "linear solver", "newton-krylov": "nonlinear solver"}.get(a.kind, "integrator")
    return {"title": report_title(a), "name": a.name, "kind": a.kind, "sections": sections,
            "learned": a.learned, "subject": subject}
