"""Exact and floating-point scalars: parsing, exact domains and formatting.

A coefficient is *exact* when it is an integer, a :class:`fractions.Fraction`, a sympy
number or a string such as ``"1/6"``, ``"sqrt(3)/6"`` or ``"0.161"`` (a decimal string is
read as the exact decimal fraction 161/1000). Python ``float`` values are inexact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral
from typing import Any, Sequence

import numpy as np
import sympy as sp
from sympy.polys.constructor import construct_domain

from .errors import AnalysisInputError
from .expressions import parse_number

__all__ = [
    "parse_entry",
    "is_exact",
    "to_float",
    "exact_domain",
    "format_exact",
    "as_sympy",
]

#: Largest |value| of a coefficient (its float64 view must be finite with room to compute).
_MAX_MAGNITUDE = 1e300


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
    if len(text.strip()) > 400:
        raise AnalysisInputError(f"{where}: expression too long ({len(text.strip())} characters; at most 400)")
    return _check_exact_expr(parse_number(text, where), where, repr(text))


def _check_exact_expr(expr: Any, where: str, shown: str) -> sp.Expr:
    if isinstance(expr, sp.Rational):  # the common case: no evaluation needed
        if abs(expr) > _MAX_MAGNITUDE:
            raise AnalysisInputError(f"{where}: {shown} is too large (|x| > {_MAX_MAGNITUDE:g})")
        return expr
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
    if not (math.isfinite(val.real) and math.isfinite(val.imag)) or abs(val.real) > _MAX_MAGNITUDE:
        raise AnalysisInputError(f"{where}: {shown} is not finite or too large (|x| > {_MAX_MAGNITUDE:g})")
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


def as_sympy(value: Any) -> sp.Expr:
    """A number that is already exact (int, Fraction, numpy integer, sympy number) as a sympy
    object; floats as sympy Floats. Text is refused: it must be read by :func:`parse_entry`
    (this replaces ``sympify``, which would evaluate a string)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool) or isinstance(value, str):
        raise TypeError(f"as_sympy: expected a number, got {type(value).__name__} (read text with parse_entry)")
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, (Integral, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, (float, np.floating)):
        return sp.Float(float(value))
    raise TypeError(f"as_sympy: expected a number, got {type(value).__name__}")


def exact_domain(entries: Sequence[sp.Expr]) -> tuple[Any, list[Any]]:
    """The smallest sympy domain holding ``entries`` and the entries as its elements.

    Rationals give ``QQ`` (fast machine rationals), surds an algebraic field such as
    ``QQ<sqrt(3)>``; anything else falls back to the expression domain ``EX``.
    """
    entries = [as_sympy(e) for e in entries]
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
    if isinstance(value, sp.Rational):
        return str(value.p) if value.q == 1 else f"{value.p}/{value.q}"
    return sp.sstr(as_sympy(value))
