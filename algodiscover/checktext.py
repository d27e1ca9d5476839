"""Text output of ``algodiscover check``: the tableau in c | A over b layout and the verdicts.

Reads an :class:`~algodiscover.analysis.Analysis`; computes nothing new except the loose-
tolerance hint for float tableaux. Imports only ``algodiscover.analysis`` (no torch).
"""

from __future__ import annotations

import math

__all__ = ["format_tableau", "render_check_text", "render_check_line"]


_MAX_EXACT_WIDTH = 28


def format_tableau(t, exact: bool = True) -> str:
    """The tableau as text, with the usual c | A over b layout (floats when the exact
    entries are too long to read, e.g. Prince-Dormand 8(7))."""
    from .analysis import format_exact

    s = t.stages
    if exact and t.exact is not None and max(len(format_exact(x)) for x in t.exact.entries()) > _MAX_EXACT_WIDTH:
        return format_tableau(t, exact=False) + "\n  (exact entries are too long to print here; 'check --json' lists them)"
    if exact and t.exact is not None:
        A = [[format_exact(x) for x in row] for row in t.exact.A]
        b = [format_exact(x) for x in t.exact.b]
        c = [format_exact(x) for x in t.exact.c]
        bh = None if t.exact.b_hat is None else [format_exact(x) for x in t.exact.b_hat]
    else:
        A = [[repr(float(x)) for x in row] for row in t.A]
        b = [repr(float(x)) for x in t.b]
        c = [repr(float(x)) for x in t.c]
        bh = None if t.b_hat is None else [repr(float(x)) for x in t.b_hat]
    if t.is_explicit:
        A = [[x if j < i else "" for j, x in enumerate(row)] for i, row in enumerate(A)]
    cw = max(len(x) for x in c)
    cols = [max([len(A[i][j]) for i in range(s)] + [len(b[j])] + ([len(bh[j])] if bh else [])) for j in range(s)]
    lines = []
    for i in range(s):
        lines.append(f"  {c[i]:>{cw}} | " + "  ".join(f"{A[i][j]:<{cols[j]}}" for j in range(s)).rstrip())
    lines.append("  " + "-" * cw + "-+-" + "-" * (sum(cols) + 2 * (s - 1)))
    lines.append(f"  {'':>{cw}} | " + "  ".join(f"{b[j]:<{cols[j]}}" for j in range(s)).rstrip())
    if bh:
        lines.append(f"  {'':>{cw}} | " + "  ".join(f"{bh[j]:<{cols[j]}}" for j in range(s)).rstrip() + "   (embedded)")
    return "\n".join(lines)


def render_check_text(a) -> str:
    from .analysis import count_trees

    t = a.tableau
    kind = "explicit" if t.is_explicit else ("diagonally implicit" if t.is_diagonally_implicit else "implicit")
    data = "exact coefficients" if t.is_exact else "float64 coefficients"
    out = [f"{a.name}  ({t.stages} stages, {kind}, {data})", "", format_tableau(t), ""]
    arith = "exact arithmetic" if a.order.exact else f"float64, tol {a.order.tol:.3g}"
    cap = " (reached the cap; may be higher)" if a.order.reached_cap else ""
    out.append(f"order: {a.order.order}{cap}   [{arith}]")
    out.append("  order  trees  max |Phi(t) - 1/gamma(t)|")
    for n, r in sorted(a.order.max_residuals.items()):
        mark = "ok" if n <= a.order.order else "FAILS"
        out.append(f"  {n:>5}  {count_trees(n):>5}  {r:<12.3e} {mark}")
    if not a.order.exact:
        from .analysis import check_order

        loose = check_order(t, max_order=a.order.cap, tol=1e-6).order
        if loose > a.order.order:
            out.append(f"  (within tol 1e-6 the floats meet the conditions of order {loose}; see --tol)")
    if a.order.embedded_order is not None:
        out.append(f"embedded weights b_hat: order {a.order.embedded_order}")
    if a.rational is not None and not t.is_exact:
        out += ["", "exact tableau (rationalised):" if a.distillation is None else f"distilled exact tableau ({a.distillation.target}, coefficients moved by at most {a.distillation.distance:.3g}):", format_tableau(a.rational)]
    if a.exact_order is not None:
        out.append(f"exact order: {a.exact_order.order}" + ("" if a.rational is t else "  (verified in exact arithmetic)"))
    else:
        out.append("exact order: none (no exact tableau found)")
    out.append(f"stage order: {a.stage_order}")
    if a.principal_error is not None:
        p = a.exact_order.order if a.exact_order is not None else a.order.order
        out.append(f"principal error norm A({p + 1}) = {a.principal_error:.4e}")
    out.append(f"stability function R(z) = {a.stability.R_ascending}")
    lo, hi = a.stability.real_interval[0], a.stability.imag_limit
    real = "(-inf, 0]" if not math.isfinite(lo) else f"[{lo:.6g}, 0]"
    imag = "the whole axis" if not math.isfinite(hi) else ("{0}" if hi == 0 else f"[-{hi:.6g}i, {hi:.6g}i]")
    out.append(f"stability interval: real {real}, imaginary {imag}")
    ident = a.identification
    if ident.kind == "method":
        out.append(f"identified as: {ident.name}")
    elif ident.name:
        closest = f"; closest catalogue method {ident.closest} (max coefficient difference {ident.distance:.3g})" if ident.closest else ""
        out.append(f"identified as: {ident.name}{closest}")
    else:
        out.append("identified as: unknown" + (f"; closest catalogue method {ident.closest} (distance {ident.distance:.3g})" if ident.closest else ""))
    return "\n".join(out)


def render_check_line(a) -> str:
    """One line for ``check --quiet``: name, order (with arithmetic), exact order, identity."""
    arith = "exact" if a.order.exact else f"float64, tol {a.order.tol:.3g}"
    parts = [f"{a.name}: order {a.order.order} ({arith})"]
    if a.exact_order is not None and a.rational is not a.tableau:
        parts.append(f"exact order {a.exact_order.order}")
    parts.append(f"stage order {a.stage_order}")
    if a.identification.name:
        parts.append(f"identified as {a.identification.name}")
    return ", ".join(parts)
