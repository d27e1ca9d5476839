"""Text output of ``algodiscover check``: the tableau in c | A over b layout and the verdicts.

Reads an :class:`~algodiscover.analysis.Analysis`; computes nothing new. Every order it
prints names its tolerance and the arithmetic it was decided in; every stability verdict
names its arithmetic. Imports only ``algodiscover.analysis`` (no torch).
"""

from __future__ import annotations

import math

__all__ = ["format_tableau", "render_check_text", "render_check_line"]


_MAX_EXACT_WIDTH = 28
_MAX_R_WIDTH = 240
_ARITH = {"exact": "exact arithmetic", "60-digit": "60-digit arithmetic", "float64": "float64"}


def format_tableau(t, exact: bool = True) -> str:
    """The tableau as text, with the usual c | A over b layout (floats when the exact
    entries are too long to read, e.g. Prince-Dormand 8(7))."""
    text = t.to_text(exact=exact, max_entry_width=_MAX_EXACT_WIDTH)
    return text.replace("to_dict() or to_sympy() has them", "'check --json' lists them")


def _order_line(label: str, rep) -> str:
    cap = ""
    if rep.reached_cap:
        cap = f" (every order up to the cap {rep.cap} passes; the true order may be higher)"
    return f"{label}: {rep.order}{cap}   [{_ARITH[rep.arithmetic]}, {rep.tolerance_text()}]"


def _residual_table(rep) -> list[str]:
    from .analysis import count_trees

    show_norms = rep.all_orders
    head = "  order  trees  max |Phi(t) - 1/gamma(t)|  arithmetic" + ("  ||tau||_2" if show_norms else "")
    out = [head]
    for n, r in sorted(rep.max_residuals.items()):
        mark = "ok" if n <= rep.order else "FAILS"
        arith = rep.residual_arithmetic.get(n, "")
        val = "0" if r == 0.0 else f"{r:.3e}"
        line = f"  {n:>5}  {count_trees(n):>5}  {val:<26} {arith:<10} {mark}"
        if show_norms:
            line = f"  {n:>5}  {count_trees(n):>5}  {val:<26} {arith:<10} {mark:<5}  {rep.error_norms.get(n, math.nan):.3e}"
        out.append(line)
    past = [n for n in rep.max_residuals if rep.first_failure is not None and n > rep.first_failure]
    if past:
        out.append(f"  (orders {min(past)}..{max(past)}, past the first failure, are float64 residuals; order stays {rep.order})")
    for note in rep.notes:
        out.append(f"  note: {note}")
    return out


def _stability_lines(st) -> list[str]:
    out = []
    fn = st.function
    v = st.verdicts
    pade = f"; {v.pade_text()}" if v is not None else ""
    R = st.R_ascending
    if len(R) > _MAX_R_WIDTH:
        R = fn.float_text() + "   (coefficients to 10 digits; 'check --json' has them exactly)"
    out.append(f"stability function R(z) = {R}   [{_ARITH.get(fn.kind, fn.kind)}{pade}]")
    lo = st.real_interval[0]
    real = "not computed" if math.isnan(lo) else ("(-inf, 0]" if not math.isfinite(lo) else f"[{lo:.6g}, 0]")
    how = {"exact": "exact real-root isolation", "50-digit": "50-digit roots and a dense |R| scan",
           "float64": "float64 roots and a dense |R| scan", "not computed": "R(z) overflows float64", "float64 scan": "a float64 scan of |R| (degree too high for roots)"}.get(st.intervals_arithmetic, st.intervals_arithmetic)
    out.append(f"stability interval: real {real}, imaginary {st.imaginary_text()}   [{how}]")
    if v is not None:
        out += v.lines()
    for note in st.notes:
        out.append(f"  note: {note}")
    return out


def render_check_text(a) -> str:
    t = a.tableau
    kind = "explicit" if t.is_explicit else ("diagonally implicit" if t.is_diagonally_implicit else "implicit")
    data = "exact coefficients" if t.is_exact else "float64 coefficients"
    if t.precision_note:
        data = t.precision_note
    out = [f"{a.name}  ({t.stages} stages, {kind}, {data})", "", format_tableau(t), ""]
    out.append(_order_line("order", a.order))
    out += _residual_table(a.order)
    if a.loose_order is not None and a.loose_order > a.order.order:
        out.append(f"  (within tol 1e-6 x coefficient scale the floats meet the conditions of order {a.loose_order}; see --tol)")
    if a.order.embedded_order is not None:
        out.append(f"embedded weights b_hat: order {a.order.embedded_order}")
    d = a.distillation
    if d is not None and d.gave_up:
        out.append(f"distillation: {d.log[-1]}")
    if a.rational is not None and not t.is_exact:
        head = ("exact tableau (rationalised):" if d is None else
                f"distilled exact tableau ({d.target}, coefficients moved by at most {d.distance:.3g}):")
        out += ["", head, format_tableau(a.rational)]
    if a.exact_order is not None:
        if a.exact_order is a.order:
            out.append(f"exact order: {a.exact_order.order}   (the entries are exact: the order above, "
                       f"{_ARITH[a.exact_order.arithmetic]})")
        else:
            out.append(_order_line("exact order", a.exact_order) + "  (verified on the exact tableau)")
    else:
        out.append("exact order: none (no exact tableau found)")
    out.append(f"stage order: {a.stage_order}   [{_ARITH.get(a.stage_order_arithmetic, a.stage_order_arithmetic)}]")
    if a.principal_error is not None:
        p = a.exact_order.order if a.exact_order is not None else a.order.order
        from .analysis import count_trees

        out.append(f"principal error norm A({p + 1}) = {a.principal_error:.4e}   [float64, ||tau||_2 over the {count_trees(p + 1)} trees of order {p + 1}]")
    out += _stability_lines(a.stability)
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
    """One line for ``check --quiet``: name, order (arithmetic, and the tolerance when it is
    not an exact comparison), exact order, stage order, identity."""
    rep = a.order
    short = {"exact": "exact", "60-digit": "60-digit", "float64": "float64"}[rep.arithmetic]
    arith = short if rep.tol == 0.0 else f"{short}, tol {rep.tol:.3g}"
    parts = [f"{a.name}: order {rep.order} ({arith})"]
    if a.exact_order is not None and a.exact_order is not rep:
        parts.append(f"exact order {a.exact_order.order}")
    parts.append(f"stage order {a.stage_order}")
    if a.identification.name:
        parts.append(f"identified as {a.identification.name}")
    return ", ".join(parts)
