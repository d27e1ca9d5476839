"""Figures of a multistep analysis, in the style of :mod:`reports.figures` (which lists them):
the stability region (spectral radius of the companion matrix at most 1, shaded, from the
characteristic polynomial stored in ``analysis.json``; the sampled boundary locus; the
boundary of the Adams-Bashforth baseline dashed), the measured global order (error against
h) and the work-precision plot of the equal-evaluation comparison.

The region is evaluated on a grid for display only, as :func:`reports.figures.stability_figure`
evaluates ``|R(z)|``; every reported number is read. May import :mod:`reports.mathtext`,
:mod:`reports.multistep_accuracy` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import sympy as sp
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..analysis.schema import AnalysisView
from .mathtext import parse_expression
from .multistep_accuracy import order_series

__all__ = ["ms_stability_figure", "ms_order_figure", "ms_equal_cost_figure"]

_RC = {"font.size": 9.5, "axes.labelsize": 9.5, "legend.fontsize": 8.5, "svg.fonttype": "none", "pdf.fonttype": 42,
       "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6}
_METHOD = "#1f5fa8"
_LEARNED = "#d1495b"
_BASE = "#444444"
_OTHERS = ["#2a9d8f", "#e9a03b", "#7b5ea7", "#8c564b", "#5c946e", "#c06c84", "#6b7a8f"]


def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


def _radius(text: str | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """Spectral radius on a grid of z from the characteristic polynomial text (in zeta, z)."""
    if not text:
        return None
    expr = parse_expression(text)
    if expr is None:
        return None
    zeta, z = sp.Symbol("zeta"), sp.Symbol("z")
    if expr.free_symbols - {zeta, z} or zeta not in expr.free_symbols:
        return None
    coeffs = sp.Poly(expr, zeta).all_coeffs()   # highest power first, each a polynomial in z
    lead = complex(coeffs[0]) if not coeffs[0].free_symbols else None
    if lead is None or lead == 0:
        return None
    fns = [sp.lambdify(z, c / coeffs[0], "numpy") for c in coeffs[1:]]

    def radius(Z: np.ndarray) -> np.ndarray:
        Z = np.asarray(Z, dtype=complex)
        cs = [np.asarray(f(Z), dtype=complex) * np.ones_like(Z) for f in fns]
        d = len(cs)
        C = np.zeros(Z.shape + (d, d), dtype=complex)   # companion matrices, stacked
        for i, c in enumerate(cs):
            C[..., 0, i] = -c
        for i in range(1, d):
            C[..., i, i - 1] = 1.0
        return np.max(np.abs(np.linalg.eigvals(C)), axis=-1) if d else np.zeros(Z.shape)

    return radius


def ms_stability_figure(a: AnalysisView) -> Figure | None:
    ms = a.multistep_section
    if ms is None or ms.stability is None:
        return None
    rad = _radius(ms.stability.characteristic)
    if rad is None:
        return None
    lo = abs(float((ms.stability.real_interval or (0.0, 0.0))[0]))
    ym = float(ms.stability.imag_limit or 0.0)
    base = a.baseline
    brad = _radius(base.stability.R) if base is not None and base.stability is not None and base.name != a.identified_as else None
    blo = abs(float((base.stability.real_interval or (0.0, 0.0))[0])) if brad is not None else 0.0
    half = max(lo, ym, blo, 0.5) * 1.35
    x = np.linspace(-half * 1.1, half * 0.45, 321)
    y = np.linspace(-half * 0.8, half * 0.8, 241)
    X, Y = np.meshgrid(x, y)
    Z = X + 1j * Y
    with rc_context(_RC):
        fig = _figure(5.6, 4.4)
        ax = fig.add_subplot()
        R = rad(Z)
        ax.contourf(X, Y, (R <= 1 + 1e-9).astype(float), levels=[0.5, 1.5], colors=[_METHOD], alpha=0.28)
        ax.contour(X, Y, R, levels=[1.0], colors=[_METHOD], linewidths=1.2)
        handles: list[Any] = [Patch(facecolor=_METHOD, alpha=0.28, label=f"{a.name}: all roots |\u03b6| \u2264 1")]
        pts = np.array([[float(p[0]), float(p[1])] for p in ms.stability.boundary if abs(float(p[0])) <= 1.1 * half and abs(float(p[1])) <= half])
        if pts.size:
            ax.plot(pts[:, 0], pts[:, 1], ls="none", marker=".", ms=1.6, color=_METHOD, alpha=0.7)
            handles.append(Line2D([], [], ls="none", marker=".", color=_METHOD, label="boundary locus (a root on |\u03b6| = 1)"))
        if brad is not None:
            ax.contour(X, Y, brad(Z), levels=[1.0], colors=[_BASE], linewidths=1.1, linestyles="--")
            handles.append(Line2D([], [], color=_BASE, ls="--", label=f"{base.name}: boundary"))
        ax.axhline(0.0, color="#999999", lw=0.6)
        ax.axvline(0.0, color="#999999", lw=0.6)
        ax.set_xlabel("Re z  (z = h\u03bb)")
        ax.set_ylabel("Im z")
        ax.set_aspect("equal")
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
        return fig


def ms_order_figure(a: AnalysisView) -> Figure | None:
    series = order_series(a)
    if not series:
        return None
    with rc_context(_RC):
        fig = _figure(6.2, 4.3)
        ax = fig.add_subplot()
        drawn = False
        k = 0
        for label, m, role in series:
            h = np.array([float(v) for v in m.h])
            e = np.array([float(v) if v is not None else np.nan for v in m.errors])
            if h.size == 0 or h.size != e.size:
                continue
            color = _METHOD if role == "final" else _LEARNED if role == "learned" else _OTHERS[k % len(_OTHERS)]
            marker = "o" if role == "final" else "s" if role == "learned" else "^v<>dph"[k % 7]
            k += role == "classical"
            ok = np.isfinite(e) & (e > 0)
            fitted = np.array(m.fitted if len(m.fitted) == h.size else [True] * h.size, dtype=bool)
            ax.loglog(h[ok], e[ok], color=color, lw=1.3, zorder=2)
            ax.plot(h[ok & fitted], e[ok & fitted], ls="none", marker=marker, color=color, ms=5, zorder=3)
            ax.plot(h[ok & ~fitted], e[ok & ~fitted], ls="none", marker=marker, mfc="white", color=color, ms=5, zorder=3)
            order = m.order
            fit = f"order {order:.2f}" if isinstance(order, (int, float)) and math.isfinite(order) else "no fit"
            ax.plot([], [], color=color, marker=marker, lw=1.3, label=f"{label} ({m.startup or 'one-step'}): {fit}")
            drawn = True
        if not drawn:
            return None
        ax.set_xlabel("step size h")
        ax.set_ylabel(f"mean global error at T = {float(series[0][1].interval):g}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, ncol=1)
        return fig


def ms_equal_cost_figure(a: AnalysisView) -> Figure | None:
    ms = a.multistep_section
    ec = ms.equal_cost if ms is not None else None
    if ec is None or ec.errors is None:
        return None
    errors = ec.errors.get("in_distribution") or {}
    B = np.array([float(b) for b in ec.budgets])
    if not errors or B.size == 0:
        return None
    with rc_context(_RC):
        fig = _figure(6.2, 4.3)
        ax = fig.add_subplot()
        k = 0
        drawn = False
        for m in ec.methods:
            e = np.array([float(v) for v in errors.get(m.name, ())])
            if e.size != B.size or not np.all(np.isfinite(e) & (e > 0)):
                continue
            ref = m.name == ec.reference
            color = _METHOD if ref else _OTHERS[k % len(_OTHERS)]
            k += 0 if ref else 1
            ls = "-" if m.kind == "multistep" else "--"
            ax.loglog(B, e, color=color, ls=ls, lw=2.0 if ref else 1.2, marker="o" if ref else "s", ms=4,
                      label=f"{m.name} ({m.cost_per_step:.3g} f per step)", zorder=4 if ref else 3)
            drawn = True
        if not drawn:
            return None
        ax.set_xlabel(f"f evaluations over [0, {float(ec.interval):g}] (start-up included)")
        ax.set_ylabel("global error (geometric mean)")
        if B.max() > B.min():
            ax.set_xlim(B.min() / 1.15, B.max() * 1.15)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False, ncol=2)
        return fig
