"""Small formatters shared by every section builder (the ``rk_*``, ``linear_*`` and
``nonlinear_*`` modules, :mod:`reports.training`, :mod:`reports.provenance`): numbers,
ranges and lists as *rich* sequences of text and :class:`~reports.mathtext.Math`.
Formatting only; nothing here computes a result. May import :mod:`reports.mathtext` only.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import sympy as sp

from .mathtext import Math, expr_math, join_math, math_text, parse_expression, sci

__all__ = ["Rich", "fnum", "short_math", "range_math", "symbol_math", "in_range_math", "ratio_text", "plural",
           "join_and", "count_text", "count_math"]

Rich = list  # list[str | Math | Code]


def fnum(x: Any) -> float:
    """``x`` as a float, NaN when it is not a number."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def short_math(x: Any) -> Math:
    """A range end or parameter as written (``0.1``, ``-2``)."""
    v = fnum(x)
    if not math.isfinite(v):
        return sci(v)
    s = f"{v:g}"
    if s.startswith("-"):
        return Math(s, f"<mrow><mo>&#x2212;</mo><mn>{s[1:]}</mn></mrow>")
    return Math(s, f"<mn>{s}</mn>")


def range_math(r: Sequence[Any]) -> Math:
    lo, hi = short_math(r[0]), short_math(r[1])
    return Math(f"[{lo.latex}, {hi.latex}]", f"<mrow><mo>[</mo>{lo.mathml}<mo>,</mo>{hi.mathml}<mo>]</mo></mrow>")


def symbol_math(name: str) -> Math:
    expr = parse_expression(name)
    if isinstance(expr, sp.Symbol):
        return expr_math(expr)
    return math_text(name)


def in_range_math(name: str, r: Sequence[Any]) -> Math:
    return join_math([symbol_math(name), Math(r"\in", "<mo>&#x2208;</mo>"), range_math(r)])


def ratio_text(r: float) -> str:
    return f"{r:.3g}"


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural_form or word + 's')}"


def join_and(items: Sequence[Rich]) -> Rich:
    """``a, b and c`` from rich items."""
    out: Rich = []
    for k, it in enumerate(items):
        if k:
            out.append(" and " if k == len(items) - 1 else ", ")
        out.extend(it)
    return out


def count_text(v: Any) -> str:
    """A count or a median of counts: ``56``, ``18.5``; ``n/a`` when missing."""
    x = fnum(v)
    if not math.isfinite(x):
        return "n/a"
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def count_math(v: Any) -> Math:
    s = count_text(v)
    return math_text(s) if s == "n/a" else Math(s, f"<mn>{s}</mn>")

