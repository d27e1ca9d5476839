"""Figures of a report, drawn with matplotlib's Agg canvas (no pyplot state).

Each builder takes the :class:`~analysis.schema.AnalysisView` of the analysis and returns a
``Figure`` or ``None`` when the data it plots is absent. :func:`figure_svg` gives an SVG element for inlining into HTML (text as
text, ids salted per figure, no date), :func:`figure_pdf` the bytes of a PDF for LaTeX (no
creation date): the same analysis always gives the same bytes. May import
:mod:`reports.mathtext`, :mod:`reports.solver_math` (method labels), the figure modules of
a kind (:mod:`reports.rk_equal_cost`, :mod:`reports.multistep_figures`) and :mod:`analysis.schema`.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any, Callable

import numpy as np
import sympy as sp
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..analysis.schema import (
    AnalysisView,
    BaselineView,
    ChebyshevView,
    FactorView,
    HistoryView,
    LinearisationView,
    MatvecComparisonView,
    MeasuredOrderView,
    SpectrumView,
    StabilityView,
    TrainingView,
)
from .mathtext import parse_expression
from .memory_figures import memory_factor_figure
from .multistep_figures import ms_equal_cost_figure, ms_order_figure, ms_stability_figure
from .rk_accuracy import work_precision_figure
from .rk_equal_cost import equal_cost_figure
from .solver_math import method_label

__all__ = ["FIGURES", "FIGURE_KINDS", "build_figures", "figure_svg", "figure_pdf", "stability_figure", "accuracy_figure",
           "training_figure", "polynomial_figure", "history_figure", "linearisation_figure"]

_RC = {
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "legend.fontsize": 8.5,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.04,
}
_METHOD = "#1f5fa8"
_LEARNED = "#d1495b"
_BASE = "#444444"
_CLASSICAL = ["#2a9d8f", "#e9a03b", "#7b5ea7", "#8c564b", "#5c946e", "#c06c84", "#6b7a8f"]
_TD = "two-derivative-runge-kutta"  # analysis kind of two-derivative Runge-Kutta methods
_PHASES = {"adam": ("#e8eef7", "Adam"), "lbfgs": ("#fbeee0", "L-BFGS")}


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _new_figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


# ------------------------------------------------------------------ stability region
def _stability_callable(text: str | None) -> Callable[[np.ndarray], np.ndarray] | None:
    if not text:
        return None
    expr = parse_expression(text)
    if expr is None:
        return None
    z = sp.Symbol("z")
    if expr.free_symbols - {z}:
        return None
    f = sp.lambdify(z, expr, "numpy")
    return lambda Z: np.asarray(f(Z), dtype=complex) * np.ones_like(Z)


def _half_width(stab: StabilityView | None) -> tuple[float, bool]:
    if stab is None:
        return 0.0, False
    lo = _float((stab.real_interval or (0,))[0])
    im = _float((stab.imag_interval or (0, 0))[-1])
    vals = [abs(v) for v in (lo, im) if math.isfinite(v)]
    unbounded = any(math.isinf(v) for v in (lo, im))
    return (max(vals) if vals else 0.0), unbounded


def _window(stab: StabilityView, base: StabilityView | None) -> tuple[float, float, float]:
    """``(x0, x1, y1)`` of the region plot: the union of the windows the analysis took from
    |R| itself (``stability.plot_window``) for the method and its baseline; from the
    stability intervals when an older analysis has no window."""
    wins = [s.plot_window for s in (stab, base) if s is not None and s.plot_window is not None]
    if wins and len(wins) == (1 if base is None else 2):
        x0 = min(w.re[0] for w in wins)
        x1 = max(w.re[1] for w in wins)
        y1 = max(max(abs(w.im[0]), abs(w.im[1])) for w in wins)
        return x0, x1, y1
    w1, inf1 = _half_width(stab)
    w2, inf2 = _half_width(base)
    L = max(w1, w2, 2.0)
    if inf1 or inf2:
        L = max(L, 5.0)
    return -1.3 * L - 0.3, 0.55 * L + 0.3, 1.15 * L + 0.3


def stability_figure(a: AnalysisView) -> Figure | None:
    """|R(z)| <= 1 shaded, with the boundary of the same-stage classical method overlaid."""
    stab = a.stability
    R = _stability_callable(stab.R if stab is not None else None)
    if stab is None or R is None:
        return None
    base = a.baseline or BaselineView()
    bstab = base.stability or StabilityView()
    Rb = _stability_callable(bstab.R)
    same = Rb is not None and str(bstab.R).replace(" ", "") == str(stab.R).replace(" ", "")
    itself = a.identification is not None and a.identification.kind == "method" and a.identified_as == base.name
    x0, x1, y1 = _window(stab, bstab if Rb is not None and not same else None)
    X, Y = np.meshgrid(np.linspace(x0, x1, 520), np.linspace(-y1, y1, 520))
    Z = X + 1j * Y
    with np.errstate(all="ignore"):
        absR = np.abs(R(Z))
        absRb = np.abs(Rb(Z)) if Rb is not None else None
    absR = np.where(np.isfinite(absR), absR, 1e300)
    with rc_context(_RC):
        fig = _new_figure(5.6, 4.4)
        ax = fig.add_subplot()
        ax.contourf(X, Y, absR, levels=[0.0, 1.0], colors=[_METHOD], alpha=0.22)
        ax.contour(X, Y, absR, levels=[1.0], colors=[_METHOD], linewidths=1.6)
        handles = [Patch(facecolor=_METHOD, alpha=0.3, edgecolor=_METHOD,
                         label=f"{a.name}: |R(z)| ≤ 1" + (f" (same R(z) as {base.name})" if same and not itself else ""))]
        if absRb is not None and not same:
            absRb = np.where(np.isfinite(absRb), absRb, 1e300)
            ax.contour(X, Y, absRb, levels=[1.0], colors=[_BASE], linewidths=1.3, linestyles="--")
            what = "about the same cost" if a.kind == _TD else "same stages"
            handles.append(Line2D([], [], color=_BASE, ls="--", lw=1.3, label=f"{base.name} (classical, {what}): |R(z)| = 1"))
        ax.axhline(0, color="black", lw=0.7)
        ax.axvline(0, color="black", lw=0.7)
        ax.set_xlim(x0, x1)
        ax.set_ylim(-y1, y1)
        ax.set_aspect("equal")
        ax.set_xlabel("Re z")
        ax.set_ylabel("Im z")
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
        return fig


# ------------------------------------------------------------------ error vs h
def _series(a: AnalysisView) -> list[tuple[str, MeasuredOrderView, str, str]]:
    name = a.name
    out = []
    if a.measured is not None:
        label = (f"{name} (distilled, {'exact' if a.rational is not None else 'verified to 1e-40'})"
                 if a.measured_learned is not None else name)
        out.append((label, a.measured, _METHOD, "o"))
    if a.measured_learned is not None:
        out.append((f"{name} (learned weights)", a.measured_learned, _LEARNED, "s"))
    for k, (cname, m) in enumerate(sorted((a.measured_classical or {}).items(), key=lambda item: item[0])):
        out.append((cname, m, _CLASSICAL[k % len(_CLASSICAL)], "^v<>dph"[k % 7]))
    return out


def accuracy_figure(a: AnalysisView) -> Figure | None:
    """Mean one-step error against h (log-log), fitted slopes in the legend."""
    series = _series(a)
    if not series:
        return None
    with rc_context(_RC):
        fig = _new_figure(6.2, 4.3)
        ax = fig.add_subplot()
        drawn = False
        for label, m, color, marker in series:
            h = np.array([_float(v) for v in m.h])
            e = np.array([_float(v) for v in m.errors])
            if h.size == 0 or h.size != e.size:
                continue
            used = np.array(m.used if m.used is not None else [True] * h.size, dtype=bool)
            if used.size != h.size:
                used = np.ones(h.size, dtype=bool)
            ok = np.isfinite(e) & (e > 0) & np.isfinite(h) & (h > 0)
            slope = m.local_slope
            order = m.order
            fit = (f"slope {slope:.2f}, order {order:.2f}" if isinstance(slope, (int, float)) and isinstance(order, (int, float))
                   and math.isfinite(slope) and math.isfinite(order) else "no fit")
            ax.loglog(h[ok], e[ok], color=color, lw=1.3, zorder=2)
            ax.plot(h[ok & used], e[ok & used], ls="none", marker=marker, color=color, ms=5, zorder=3)
            if np.any(ok & ~used):
                ax.plot(h[ok & ~used], e[ok & ~used], ls="none", marker=marker, mfc="white", color=color, ms=5, zorder=3)
            ax.plot([], [], color=color, marker=marker, lw=1.3, label=f"{label}: {fit}")
            drawn = True
        if not drawn:
            return None
        ax.set_xlabel("step size h")
        ax.set_ylabel("mean one-step error")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, ncol=1)
        return fig


# ------------------------------------------------------------------ training loss
def training_figure(a: AnalysisView) -> Figure | None:
    """Training loss per iteration (log scale) with the optimiser phases shaded."""
    tr = a.training or TrainingView()
    hist = np.array([_float(v) for v in tr.loss_history])
    if hist.size == 0:
        return None
    it = np.arange(hist.size)
    ok = np.isfinite(hist) & (hist > 0)
    with rc_context(_RC):
        fig = _new_figure(6.2, 3.4)
        ax = fig.add_subplot()
        start = 0
        handles = []
        seen: set[str] = set()
        final_at = None
        for phase, n in tr.phases:
            if phase in _PHASES:
                color, label = _PHASES[phase]
                ax.axvspan(start - 0.5, start + n - 0.5, color=color, lw=0, zorder=0)
                if phase not in seen:
                    handles.append(Patch(facecolor=color, label=f"{label} ({n} {'steps' if phase == 'adam' else 'evaluations'})"))
                    seen.add(phase)
            elif phase == "final":
                final_at = start
            start += n
        ax.semilogy(it[ok], hist[ok], color=_METHOD, lw=1.1, label="loss", zorder=2)
        handles.insert(0, Line2D([], [], color=_METHOD, lw=1.1, label="training loss"))
        if final_at is not None and final_at < hist.size and ok[final_at]:
            ax.plot([final_at], [hist[final_at]], marker="*", ms=9, color=_LEARNED, ls="none", zorder=3)
            handles.append(Line2D([], [], marker="*", ms=9, color=_LEARNED, ls="none", label=f"final loss {hist[final_at]:.3g}"))
        ax.set_xlim(-0.5, max(hist.size * 1.02, 2))
        ax.set_xlabel("iteration (Adam step / L-BFGS evaluation)")
        ax.set_ylabel("loss")
        ax.legend(handles=handles, loc="best", framealpha=0.92)
        return fig


# ------------------------------------------------------------------ solvers: residual polynomials
def _poly(coeffs: Any) -> np.ndarray | None:
    """Coefficients in ascending powers as an array (``None`` unless all are finite)."""
    if not isinstance(coeffs, (list, tuple)) or not coeffs:
        return None
    c = np.array([_float(v) for v in coeffs])
    return c if np.all(np.isfinite(c)) else None


def _polyval(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.polynomial.polynomial.polyval(x, c)


def _pair(x: Any) -> complex:
    if isinstance(x, (list, tuple)) and len(x) == 2:
        return complex(_float(x[0]), _float(x[1]))
    return complex(_float(x), 0.0)


def _real_polynomial_axes(ax: Any, curves: list[tuple[np.ndarray, str, str, str, float]], lo: float, hi: float,
                          argmax: float | None, peak: float, xlabel: str, points: np.ndarray | None = None,
                          shade_label: str = "spectral interval") -> None:
    """|q| of each curve (coefficients, label, colour, style, its max over the interval) on
    [0, 1.08 hi], the interval shaded, the maxima dotted, the learned maximum starred."""
    xmax = hi + 0.08 * max(hi, hi - lo, 1e-12)
    x = np.union1d(np.linspace(0.0, xmax, 1601), [lo, hi])
    ax.axvspan(lo, hi, color="#e8eef7", lw=0, zorder=0, label=f"{shade_label} [{lo:.4g}, {hi:.4g}]")
    top = 1.05
    for c, label, color, ls, mx in curves:
        y = np.abs(_polyval(c, x))
        ax.plot(x, y, color=color, ls=ls, lw=1.6 if ls == "-" else 1.3, label=label, zorder=2)
        if math.isfinite(mx):
            ax.hlines(mx, lo, hi, colors=color, linestyles=":", lw=1.0, zorder=1)
            top = max(top, 1.15 * mx)
    if points is not None and points.size:
        ax.plot(points, np.abs(_polyval(curves[0][0], points)), ls="none", marker="o", ms=3.5, color=curves[0][2], zorder=3,
                label="eigenvalues listed in the analysis")
    if argmax is not None and math.isfinite(argmax) and math.isfinite(peak):
        ax.plot([argmax], [peak], marker="*", ms=11, color=_LEARNED, ls="none", zorder=4, label=f"maximum {peak:.4g} at \u03bb = {argmax:.4g}")
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, min(top, 10.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("|q(\u03bb)|")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, ncol=1)


def polynomial_figure(a: AnalysisView) -> Figure | None:
    """|q(lambda)| of the learned residual polynomial (and the Chebyshev one) over the
    spectral interval; for a complex spectrum the region |q| <= max|q| in the plane."""
    k = a.krylov_section
    if k is None or k.polynomial is None:
        return None
    c = _poly(k.polynomial.coefficients)
    spec = k.spectrum or SpectrumView()
    fac = k.factor or FactorView()
    iv = spec.interval or ()
    if c is None or len(iv) != 2:
        return None
    lo, hi = _float(iv[0]), _float(iv[1])
    peak = _float(fac.per_outer)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    n = k.stages or a.stages
    if spec.real:
        if not hi > 0:
            return None
        curves = [(c, f"learned q, max {peak:.4g} on the interval", _METHOD, "-", peak)]
        ch = k.chebyshev or ChebyshevView()
        cc = _poly(ch.coefficients)
        if cc is not None:
            curves.append((cc, f"Chebyshev, degree {n}, max {_float(ch.per_outer):.4g}", _BASE, "--", _float(ch.per_outer)))
        am = fac.argmax
        argmax = _float(am) if not isinstance(am, (list, tuple)) else _float(am[0])
        with rc_context(_RC):
            fig = _new_figure(6.2, 4.2)
            ax = fig.add_subplot()
            _real_polynomial_axes(ax, curves, lo, hi, argmax, peak, "\u03bb")
            return fig
    # complex spectrum: the plane
    mi = abs(_float(spec.max_imag))
    roots = [_pair(r) for r in k.roots]
    xs = [0.0, lo, hi] + [r.real for r in roots]
    ys = [mi] + [abs(r.imag) for r in roots]
    x0, x1 = min(xs), max(xs)
    span = max(x1 - x0, 2 * max(ys), 1e-9)
    x0, x1 = x0 - 0.15 * span, x1 + 0.15 * span
    y1 = max(ys) + 0.15 * span
    X, Y = np.meshgrid(np.linspace(x0, x1, 500), np.linspace(-y1, y1, 500))
    with np.errstate(all="ignore"):
        Q = np.abs(_polyval(c.astype(complex), X + 1j * Y))
    with rc_context(_RC):
        fig = _new_figure(6.4, 3.9)
        ax = fig.add_subplot()
        handles = []
        if math.isfinite(peak) and peak > 0:
            ax.contourf(X, Y, Q, levels=[0.0, peak], colors=[_METHOD], alpha=0.2)
            ax.contour(X, Y, Q, levels=[peak], colors=[_METHOD], linewidths=1.4)
            handles.append(Patch(facecolor=_METHOD, alpha=0.3, edgecolor=_METHOD, label=f"|q(\u03bb)| \u2264 {peak:.4g} (the convergence factor)"))
        ax.contour(X, Y, Q, levels=[1.0], colors=[_BASE], linewidths=1.0, linestyles="--")
        handles.append(Line2D([], [], color=_BASE, ls="--", lw=1.0, label="|q(\u03bb)| = 1"))
        ax.add_patch(Rectangle((lo, -mi), max(hi - lo, 0.0), 2 * mi, fill=False, ec=_LEARNED, lw=1.8, zorder=3))
        handles.append(Line2D([], [], color=_LEARNED, lw=1.8, label=f"spectrum: Re \u03bb in [{lo:.4g}, {hi:.4g}], |Im \u03bb| \u2264 {mi:.4g}"))
        if roots:
            ax.plot([r.real for r in roots], [r.imag for r in roots], ls="none", marker="x", ms=7, mew=1.6, color="black", zorder=4)
            handles.append(Line2D([], [], ls="none", marker="x", ms=7, mew=1.6, color="black", label="roots of q"))
        am = fac.argmax
        if am is not None and math.isfinite(peak):
            z = _pair(am)
            ax.plot([z.real], [z.imag], marker="*", ms=12, color=_LEARNED, ls="none", zorder=5)
            handles.append(Line2D([], [], marker="*", ms=12, color=_LEARNED, ls="none", label=f"maximum {peak:.4g} on the spectrum"))
        ax.axhline(0, color="black", lw=0.7)
        ax.axvline(0, color="black", lw=0.7)
        ax.set_xlim(x0, x1)
        ax.set_ylim(-y1, y1)
        ax.set_aspect("equal")
        ax.set_xlabel("Re \u03bb")
        ax.set_ylabel("Im \u03bb")
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.03, 0.5), frameon=False)
        return fig


def history_figure(a: AnalysisView) -> Figure | None:
    """Relative residual against matvecs per method on the first held-out system."""
    k = a.krylov_section
    comp = (k.comparison if k is not None else None) or MatvecComparisonView()
    methods = comp.methods
    order = (["learned"] if "learned" in methods else []) + [m for m in methods if m != "learned"]
    series = []
    for m in order:
        h = methods[m].history or HistoryView()
        mv = np.array([_float(v) for v in h.matvecs])
        res = np.array([_float(v) for v in h.residual])
        if mv.size == 0 or mv.size != res.size:
            continue
        ok = np.isfinite(mv) & np.isfinite(res) & (res > 0)
        first = (methods[m].matvecs_to_tol or (None,))[0]
        series.append((m, mv[ok], res[ok], first))
    if not series:
        return None
    ends = [_float(f) for _, _, _, f in series if f is not None]
    lmv = series[0][1] if series[0][0] == "learned" else np.array([])
    xmax = max(ends + ([float(lmv[-1])] if lmv.size else [])) if ends or lmv.size else max(float(s[1][-1]) for s in series)
    xmax = 1.08 * max(xmax, 1.0)
    tol = _float(comp.tol)
    with rc_context(_RC):
        fig = _new_figure(6.2, 4.0)
        ax = fig.add_subplot()
        ci = 0
        for m, mv, res, first in series:
            keep = mv <= xmax
            reached = f"{int(first)} matvecs" if first is not None else "not reached"
            label = f"{method_label(m, a.name)}: {reached}"
            if m == "learned":
                ax.semilogy(mv[keep], res[keep], color=_LEARNED, lw=2.0, marker="o", ms=3.5, label=label, zorder=4)
            else:
                ax.semilogy(mv[keep], res[keep], color=_CLASSICAL[ci % len(_CLASSICAL)], lw=1.2, label=label, zorder=3)
                ci += 1
        if math.isfinite(tol) and tol > 0:
            ax.axhline(tol, color="black", ls=":", lw=0.9, label=f"tolerance {tol:.0e}")
        ax.set_xlim(0, xmax)
        ax.set_xlabel("matrix-vector products")
        ax.set_ylabel("relative residual ||r|| / ||rhs||")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False, ncol=2)
        return fig


def linearisation_figure(a: AnalysisView) -> Figure | None:
    """|q(lambda)| from the given coefficients over the Jacobian's spectral interval, with
    the listed eigenvalues marked."""
    nl = a.nonlinear_section
    lin = (nl.linearisation if nl is not None else None) or LinearisationView()
    c = _poly(lin.residual_polynomial_coefficients)
    spec = lin.spectrum or SpectrumView()
    iv = spec.interval or ()
    if c is None or len(iv) != 2 or not spec.real or lin.memory_recurrence:  # with memory |q| is not the local rate
        return None
    lo, hi = _float(iv[0]), _float(iv[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > 0):
        return None
    fac = lin.factor or FactorView()
    peak = _float(fac.per_outer)
    am = fac.argmax
    argmax = _float(am) if not isinstance(am, (list, tuple)) else _float(am[0])
    pts = np.array([_float(v) for v in (lin.eigenvalues_all_real or lin.eigenvalues_real) if not isinstance(v, str)])
    pts = pts[np.isfinite(pts)]
    with rc_context(_RC):
        fig = _new_figure(6.2, 4.0)
        ax = fig.add_subplot()
        _real_polynomial_axes(ax, [(c, f"|q(\u03bb)| = |R(\u2212h\u03bb)|, max {peak:.4g} on the spectrum", _METHOD, "-", peak)],
                              lo, hi, argmax, peak, "\u03bb (eigenvalue of the Jacobian at the solution)", points=pts,
                              shade_label="spectrum of J*")
        return fig


FIGURES: dict[str, Callable[[AnalysisView], Figure | None]] = {
    "stability": stability_figure,
    "accuracy": accuracy_figure,
    "work_precision": work_precision_figure,
    "training": training_figure,
    "polynomial": polynomial_figure,
    "history": history_figure,
    "linearisation": linearisation_figure,
    "equal_cost": equal_cost_figure,
    "ms_stability": ms_stability_figure,
    "ms_order": ms_order_figure,
    "ms_equal_cost": ms_equal_cost_figure, "memory_factor": memory_factor_figure,
}

# figures shown only for some analysis kinds (the others are drawn for every kind with data)
FIGURE_KINDS: dict[str, tuple[str, ...]] = {"stability": ("runge-kutta", _TD), "accuracy": ("runge-kutta", _TD), "equal_cost": (_TD,),
                                            "work_precision": ("runge-kutta",),
                                            "ms_stability": ("multistep",), "ms_order": ("multistep",), "ms_equal_cost": ("multistep",)}


def build_figures(a: AnalysisView) -> dict[str, Figure]:
    """The figures this analysis has data for, by name."""
    out = {}
    for name, fn in FIGURES.items():
        kinds = FIGURE_KINDS.get(name)
        if kinds is not None and a.kind not in kinds:
            continue
        fig = fn(a)
        if fig is not None:
            out[name] = fig
    return out


_SVG_HEAD = re.compile(r"^.*?(?=<svg\b)", re.S)


def figure_svg(fig: Figure, name: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), ids salted with ``name``."""
    buf = io.StringIO()
    with rc_context({**_RC, "svg.hashsalt": f"algodiscover-{name}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _SVG_HEAD.sub("", buf.getvalue(), count=1)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\swidth="([0-9.]+)pt"\sheight="([0-9.]+)pt"', r' class="figure" width="\1pt" height="\2pt"', svg, count=1)
    return _prefix_ids(svg, name).strip()


def _prefix_ids(svg: str, name: str) -> str:
    """Element ids (``figure_1``, ``axes_1``, ...) and the references to them prefixed with
    the figure name, so several inlined figures never share an id."""
    ids = set(re.findall(r'\sid="([^"]+)"', svg))
    if not ids:
        return svg
    pre = re.sub(r"[^A-Za-z0-9_-]", "_", name) + "-"

    def ref(m: re.Match[str]) -> str:
        return m.group(1) + (pre + m.group(2) if m.group(2) in ids else m.group(2)) + m.group(3)

    svg = re.sub(r'(\sid=")([^"]+)(")', ref, svg)
    svg = re.sub(r'(url\(#)([^)]+)(\))', ref, svg)
    return re.sub(r'((?:xlink:)?href="#)([^"]+)(")', ref, svg)


def figure_pdf(fig: Figure) -> bytes:
    """The figure as PDF bytes without a creation date."""
    buf = io.BytesIO()
    with rc_context(_RC):
        fig.savefig(buf, format="pdf", metadata={"CreationDate": None, "ModDate": None})
    return buf.getvalue()
