"""Exact and floating-point scalars: parsing, exact domains and formatting.

A coefficient is *exact* when it is an integer, a :class:`fractions.Fraction`, a sympy
number or a string such as ``"1/6"``, ``"sqrt(3)/6"`` or ``"0.161"`` (a decimal string is
read as the exact decimal fraction 161/1000). Python ``float`` values are inexact.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from numbers import Integral
from typing import Any, Sequence

import numpy as np
import sympy as sp
from sympy.polys.constructor import construct_domain

from .errors import AnalysisInputError

__all__ = [
    "parse_entry",
    "is_exact",
    "to_float",
    "exact_domain",
    "format_exact",
]

_ALLOWED_FUNCS = {
    "sqrt": sp.sqrt,
    "Rational": sp.Rational,
    "cbrt": sp.cbrt,
    "root": sp.root,
    "pi": sp.pi,
    "E": sp.E,
    "exp": sp.exp,
    "log": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "I": sp.I,
}


_FORBIDDEN = re.compile(r"[^0-9A-Za-z_+\-*/(). ^]")


def parse_entry(value: Any, where: str = "entry") -> sp.Expr | float:
    """Return an exact sympy number for exact input, or a Python float for float input.

    Parameters
    ----------
    value : int, float, Fraction, str, sympy expression or numpy scalar
    where : str
        Name of the input, used in error messages (e.g. ``"A[2][1]"``).

    Raises
    ------
    AnalysisInputError
        For strings that are not numeric expressions, NaN/inf, complex values and
        other types.
    """
    if isinstance(value, bool):
        raise AnalysisInputError(f"{where}: expected a number, got a boolean {value!r}")
    if isinstance(value, (np.floating, float)):
        v = float(value)
        if not math.isfinite(v):
            raise AnalysisInputError(f"{where}: not a finite number ({v})")
        return v
    if isinstance(value, (Integral, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, str):
        return _parse_string(value, where)
    if isinstance(value, sp.Basic):
        return _check_exact_expr(value, where, repr(value))
    raise AnalysisInputError(f"{where}: expected a number or a string such as '1/6', got {type(value).__name__}")


def _parse_string(text: str, where: str) -> sp.Expr:
    s = text.strip()
    if not s:
        raise AnalysisInputError(f"{where}: empty string is not a number")
    if len(s) > 400:
        raise AnalysisInputError(f"{where}: expression too long ({len(s)} characters)")
    bad = _FORBIDDEN.search(s)
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", s)) - set(_ALLOWED_FUNCS) - {"e"}
    if bad or "__" in s or names:
        what = f"unknown name {sorted(names)[0]!r}" if names else f"character {bad.group(0)!r}" if bad else "'__'"
        raise AnalysisInputError(f"{where}: cannot parse {text!r} as a number ({what})")
    try:
        expr = sp.parse_expr(
            s,
            local_dict=dict(_ALLOWED_FUNCS),
            global_dict={"Integer": sp.Integer, "Float": sp.Float, "Rational": sp.Rational, "Symbol": sp.Symbol},
            evaluate=True,
        )
    except Exception as exc:  # sympy raises many exception types for junk input
        raise AnalysisInputError(f"{where}: cannot parse {text!r} as a number ({type(exc).__name__})") from None
    if isinstance(expr, sp.Basic):
        # Decimal literals become exact decimal fractions: "0.161" -> 161/1000.
        expr = expr.xreplace({f: sp.Rational(str(f)) for f in expr.atoms(sp.Float)}) if expr.atoms(sp.Float) else expr
        if expr.atoms(sp.Float):
            raise AnalysisInputError(f"{where}: cannot read {text!r} exactly")
    return _check_exact_expr(expr, where, repr(text))


def _check_exact_expr(expr: Any, where: str, shown: str) -> sp.Expr:
    if not isinstance(expr, sp.Expr):
        raise AnalysisInputError(f"{where}: {shown} is not a number")
    if expr.free_symbols:
        names = ", ".join(sorted(str(x) for x in expr.free_symbols))
        raise AnalysisInputError(f"{where}: {shown} is not a number (unknown name {names})")
    if expr.atoms(sp.Float):
        return float(expr)  # sympy Float given directly: treat as inexact
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise AnalysisInputError(f"{where}: {shown} is not finite")
    try:
        val = complex(expr.evalf(30))
    except (TypeError, ValueError):
        raise AnalysisInputError(f"{where}: {shown} does not evaluate to a number") from None
    if not (math.isfinite(val.real) and math.isfinite(val.imag)):
        raise AnalysisInputError(f"{where}: {shown} is not finite")
    if abs(val.imag) > 1e-25 * max(1.0, abs(val.real)):
        raise AnalysisInputError(f"{where}: {shown} is not a real number")
    return expr


def is_exact(value: Any) -> bool:
    """True for sympy expressions and integers/fractions; False for floats."""
    return isinstance(value, (sp.Expr, Integral, Fraction)) and not isinstance(value, (bool, sp.Float))


def to_float(value: Any) -> float:
    """Correctly rounded float64 of an exact or float value."""
    if isinstance(value, float):
        return value
    if isinstance(value, sp.Rational):
        return float(Fraction(int(value.p), int(value.q)))
    if isinstance(value, sp.Expr):
        return float(value.evalf(40))
    return float(value)


def exact_domain(entries: Sequence[sp.Expr]) -> tuple[Any, list[Any]]:
    """The smallest sympy domain holding ``entries`` and the entries as its elements.

    Rationals give ``QQ`` (fast machine rationals), surds an algebraic field such as
    ``QQ<sqrt(3)>``; anything else falls back to the expression domain ``EX``.
    """
    entries = [sp.sympify(e) for e in entries]
    try:
        K, elems = construct_domain(entries, extension=True)
    except Exception:  # pragma: no cover - sympy can fail on exotic algebraic numbers
        K, elems = construct_domain(entries, field=True, composite=False)
    if not K.is_Field:
        K = K.get_field()
        elems = [K.convert(e) for e in elems]
    return K, elems


def format_exact(value: Any) -> str:
    """A compact string that :func:`parse_entry` reads back to the same exact value."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Fraction):
        return str(value)
    return sp.sstr(sp.sympify(value))
