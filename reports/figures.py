"""Figures of a report, drawn with matplotlib's Agg canvas (no pyplot state).

Each builder takes the analysis dict and returns a ``Figure`` or ``None`` when the data it
plots is absent. :func:`figure_svg` gives an SVG element for inlining into HTML (text as
text, ids salted per figure, no date), :func:`figure_pdf` the bytes of a PDF for LaTeX (no
creation date): the same analysis always gives the same bytes.
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
from matplotlib.patches import Patch

from .mathtext import parse_expression

__all__ = ["FIGURES", "build_figures", "figure_svg", "figure_pdf", "stability_figure", "accuracy_figure", "training_figure"]

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


def _half_width(stab: dict[str, Any] | None) -> tuple[float, bool]:
    if not stab:
        return 0.0, False
    lo = _float((stab.get("real_interval") or [0])[0])
    im = _float((stab.get("imag_interval") or [0, 0])[-1])
    vals = [abs(v) for v in (lo, im) if math.isfinite(v)]
    unbounded = any(math.isinf(v) for v in (lo, im))
    return (max(vals) if vals else 0.0), unbounded


def stability_figure(a: dict[str, Any]) -> Figure | None:
    """|R(z)| <= 1 shaded, with the boundary of the same-stage classical method overlaid."""
    stab = a.get("stability") or {}
    R = _stability_callable(stab.get("R"))
    if R is None:
        return None
    base = a.get("baseline") or {}
    bstab = base.get("stability") or {}
    Rb = _stability_callable(bstab.get("R"))
    same = Rb is not None and str(bstab.get("R")).replace(" ", "") == str(stab.get("R")).replace(" ", "")
    itself = (a.get("identification") or {}).get("kind") == "method" and a.get("identified_as") == base.get("name")
    w1, inf1 = _half_width(stab)
    w2, inf2 = _half_width(bstab if Rb is not None else None)
    L = max(w1, w2, 2.0)
    if inf1 or inf2:
        L = max(L, 5.0)
    x0, x1 = -1.3 * L - 0.3, 0.55 * L + 0.3
    y1 = 1.15 * L + 0.3
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
                         label=f"{a.get('name', 'method')}: |R(z)| ≤ 1" + (f" (same R(z) as {base.get('name')})" if same and not itself else ""))]
        if absRb is not None and not same:
            absRb = np.where(np.isfinite(absRb), absRb, 1e300)
            ax.contour(X, Y, absRb, levels=[1.0], colors=[_BASE], linewidths=1.3, linestyles="--")
            handles.append(Line2D([], [], color=_BASE, ls="--", lw=1.3, label=f"{base.get('name')} (classical, same stages): |R(z)| = 1"))
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
def _series(a: dict[str, Any]) -> list[tuple[str, dict[str, Any], str, str]]:
    name = a.get("name", "method")
    learned = a.get("measured_learned") is not None
    out = []
    if a.get("measured"):
        label = f"{name} (distilled, exact)" if learned else name
        out.append((label, a["measured"], _METHOD, "o"))
    if learned:
        out.append((f"{name} (learned weights)", a["measured_learned"], _LEARNED, "s"))
    for k, (cname, m) in enumerate(sorted((a.get("measured_classical") or {}).items())):
        out.append((cname, m, _CLASSICAL[k % len(_CLASSICAL)], "^v<>dph"[k % 7]))
    return out


def accuracy_figure(a: dict[str, Any]) -> Figure | None:
    """Mean one-step error against h (log-log), fitted slopes in the legend."""
    series = _series(a)
    if not series:
        return None
    with rc_context(_RC):
        fig = _new_figure(6.2, 4.3)
        ax = fig.add_subplot()
        drawn = False
        for label, m, color, marker in series:
            h = np.array([_float(v) for v in m.get("h", [])])
            e = np.array([_float(v) for v in m.get("errors", [])])
            if h.size == 0 or h.size != e.size:
                continue
            used = np.array(m.get("used", [True] * h.size), dtype=bool)
            if used.size != h.size:
                used = np.ones(h.size, dtype=bool)
            ok = np.isfinite(e) & (e > 0) & np.isfinite(h) & (h > 0)
            slope = m.get("local_slope")
            order = m.get("order")
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
def training_figure(a: dict[str, Any]) -> Figure | None:
    """Training loss per iteration (log scale) with the optimiser phases shaded."""
    tr = a.get("training") or {}
    hist = np.array([_float(v) for v in tr.get("loss_history") or []])
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
        for entry in tr.get("phases") or []:
            try:
                phase, n = str(entry[0]), int(entry[1])
            except (TypeError, ValueError, IndexError):
                continue
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
        ax.legend(handles=handles, loc="upper right", framealpha=0.92)
        return fig


FIGURES: dict[str, Callable[[dict[str, Any]], Figure | None]] = {
    "stability": stability_figure,
    "accuracy": accuracy_figure,
    "training": training_figure,
}


def build_figures(a: dict[str, Any]) -> dict[str, Figure]:
    """The figures this analysis has data for, by name."""
    out = {}
    for name, fn in FIGURES.items():
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
    return svg.strip()


def figure_pdf(fig: Figure) -> bytes:
    """The figure as PDF bytes without a creation date."""
    buf = io.BytesIO()
    with rc_context(_RC):
        fig.savefig(buf, format="pdf", metadata={"CreationDate": None, "ModDate": None})
    return buf.getvalue()
