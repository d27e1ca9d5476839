"""The figure of a linear iteration with memory, in the style of :mod:`reports.figures` (which
lists it): the asymptotic residual factor per matvec against lambda, the spectral radius of
the recurrence's companion matrix, for the learned iteration and for the optimal heavy ball
of the spectral interval (shaded), with the optimum (sqrt(kappa) - 1)/(sqrt(kappa) + 1)
dotted and the learned maximum starred.

The curves are evaluated on a grid for display only, from the coefficients ``c_m(lambda)``
and the optimal ``alpha``, ``beta`` stored in ``krylov.memory`` of analysis.json (as
:func:`reports.figures.polynomial_figure` evaluates ``|q|``); every reported number is read.
May import :mod:`analysis.schema`.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..analysis.schema import AnalysisView

__all__ = ["memory_factor_figure"]

_RC = {"font.size": 9.5, "axes.labelsize": 9.5, "legend.fontsize": 8.5, "svg.fonttype": "none", "pdf.fonttype": 42,
       "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6}
_METHOD = "#1f5fa8"
_LEARNED = "#d1495b"
_BASE = "#444444"


def _radius(coeffs: list[np.ndarray], lam: np.ndarray) -> np.ndarray:
    """Spectral radius of the companion matrix of ``zeta^{M+1} = sum_m c_m(lam) zeta^{M-m}``."""
    d = len(coeffs)
    C = np.zeros(lam.shape + (d, d), dtype=float)
    for m, c in enumerate(coeffs):
        C[..., 0, m] = np.polynomial.polynomial.polyval(lam, c)
    for i in range(1, d):
        C[..., i, i - 1] = 1.0
    return np.max(np.abs(np.linalg.eigvals(C)), axis=-1)


def memory_factor_figure(a: AnalysisView) -> Figure | None:
    k = a.krylov_section
    mem = k.memory if k is not None else None
    if mem is None or mem.recurrence is None or not mem.recurrence.coefficients or k.spectrum is None or not k.spectrum.real:
        return None
    lo, hi = (float(v) for v in (k.spectrum.interval or (math.nan, math.nan))[:2])
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        return None
    n = max(int(mem.stages or 1), 1)
    coeffs = [np.asarray(c.coefficients, dtype=float) for c in mem.recurrence.coefficients]
    if any(c.size == 0 for c in coeffs):
        return None
    xmax = hi + 0.08 * (hi - lo)
    lam = np.union1d(np.linspace(max(0.0, lo - 0.08 * (hi - lo)), xmax, 1201), [lo, hi])
    with rc_context(_RC):
        fig = Figure(figsize=(6.4, 3.9))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(111)
        ax.axvspan(lo, hi, color="#e8eef7", lw=0, zorder=0, label=f"spectral interval [{lo:.4g}, {hi:.4g}]")
        learned = _radius(coeffs, lam) ** (1.0 / n)
        ax.plot(lam, learned, color=_METHOD, lw=1.6, label=f"learned, memory {mem.memory}: companion radius per matvec")
        opt = mem.optimal_two_step
        if opt is not None and opt.alpha is not None and opt.beta is not None and opt.per_matvec is not None:
            al, be = float(opt.alpha), float(opt.beta)
            hb = _radius([np.array([1.0 + be, -al]), np.array([-be])], lam)
            ax.plot(lam, hb, color=_BASE, ls="--", lw=1.3, label=f"optimal heavy ball (\u03b1 = {al:.4g}, \u03b2 = {be:.4g})")
            ax.hlines(float(opt.per_matvec), lo, hi, colors=_BASE, linestyles=":", lw=1.0,
                      label=f"(\u221a\u03ba \u2212 1)/(\u221a\u03ba + 1) = {float(opt.per_matvec):.4g}")
        fac = mem.factor
        if fac is not None and fac.per_matvec is not None and isinstance(fac.at, (int, float)):
            ax.plot([float(fac.at)], [float(fac.per_matvec)], marker="*", ms=11, color=_LEARNED, ls="none", zorder=4,
                    label=f"learned maximum {float(fac.per_matvec):.4g} at \u03bb = {float(fac.at):.4g}")
        inside = learned[(lam >= lo) & (lam <= hi)]
        top = max(1.05, 1.15 * float(np.max(inside))) if inside.size else 1.05
        ax.set_xlim(lam[0], xmax)
        ax.set_ylim(0, min(top, 2.0))
        ax.set_xlabel("\u03bb")
        ax.set_ylabel("asymptotic factor per matvec")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, ncol=1)
        fig.tight_layout()
    return fig
