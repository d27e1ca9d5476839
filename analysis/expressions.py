"""The one safe reader of user expressions: numbers, declared symbols, arithmetic, a few functions.

Every expression that reaches algodiscover from a file or the command line (tableau entries,
right-hand sides and exact solutions of ODE families, residuals of nonlinear systems, formulas
stored in ``algorithm.json`` and ``config.toml``) is read here and nowhere else. The text is
parsed by Python's :mod:`ast` (parsing never executes anything) and the tree is walked by a
whitelist that builds the sympy expression directly:

* numbers: integers, ``p/q``, decimals (``"0.161"`` is the exact fraction 161/1000) and
  scientific notation, at most :data:`MAX_DIGITS` digits each;
* the symbols the caller declares (state variables, parameters, ``t``) and the constants
  ``pi`` and ``E``;
* ``+ - * / **`` (``^`` is read as ``**``), unary signs and parentheses;
* calls of the functions in :data:`FUNCTIONS` (``sqrt``, ``exp``, ``log``, ``sin``, ...) with
  positional arguments.

Anything else -- attribute access, subscripts, lambdas, keywords, comparisons, strings, names
that were not declared (``__import__`` among them) -- is refused with an
:class:`~algodiscover.analysis.errors.AnalysisInputError` naming the input. Sizes are bounded so
that no input can hang the reader or exhaust memory: the text length, the nesting depth, the
digits of a literal and the exponents of powers (see the ``MAX_*`` constants).

This module imports only the standard library, sympy and ``errors``.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
import re
from typing import Callable, Iterable, Mapping

import sympy as sp

from .errors import AnalysisInputError

__all__ = ["parse_expression", "parse_number", "number_value", "check_variable_name", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH",
           "MAX_DEPTH", "MAX_DIGITS", "MAX_EXPONENT", "decimal_digits"]

#: Longest accepted text (characters).
MAX_LENGTH = 10_000
#: Deepest accepted nesting of operations and calls.
MAX_DEPTH = 100
#: Most digits in one numeric literal.
MAX_DIGITS = 500
#: Largest |integer exponent| of a power, and the largest numerator/denominator of a
#: rational exponent.
MAX_EXPONENT = 1000
#: Largest number of decimal digits a power of two numbers may produce (e.g. ``9**999``).
_MAX_POWER_DIGITS = 2000

#: Functions an expression may call, by the name it uses.
FUNCTIONS: Mapping[str, Callable[..., sp.Expr]] = {
    "sqrt": sp.sqrt, "cbrt": sp.cbrt, "root": sp.root, "exp": sp.exp, "log": sp.log,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "abs": sp.Abs, "Abs": sp.Abs,
    "Rational": sp.Rational, "min": sp.Min, "max": sp.Max,
}
_ARITY = {"root": (2, 2), "log": (1, 2), "Rational": (1, 2), "min": (2, 10), "max": (2, 10)}
#: Named constants.
CONSTANTS: Mapping[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

_INT = re.compile(r"[+-]?\d+")
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*(\d+)")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_LITERAL = re.compile(r"(?<![A-Za-z_0-9.])(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str, where: str = "entry") -> sp.Expr:
    """An exact sympy number from text such as ``"1/6"``, ``"0.161"``, ``"1/4 - sqrt(3)/6"``.

    Raises :class:`AnalysisInputError` naming ``where`` for anything that is not a finite
    real number built from numbers, ``pi``, ``E`` and the whitelisted functions.
    """
    s = text.strip()
    if _INT.fullmatch(s):
        _check_digits(s, where, text)
        return sp.Integer(int(s))
    m = _FRACTION.fullmatch(s)
    if m:
        _check_digits(m.group(1), where, text)
        _check_digits(m.group(2), where, text)
        if int(m.group(2)) == 0:
            raise AnalysisInputError(f"{where}: {text!r} is not finite (division by zero)")
        return sp.Rational(int(m.group(1)), int(m.group(2)))
    if _DECIMAL.fullmatch(s):
        return _decimal(s, where, text)
    expr = parse_expression(text, (), where=where)
    if expr.free_symbols:  # pragma: no cover - no symbols are declared, so none can appear
        raise AnalysisInputError(f"{where}: {text!r} is not a number")
    return expr


def parse_expression(text: str, symbols: Mapping[str, sp.Symbol] | Iterable[str | sp.Symbol] = (), *,
                     where: str = "expression", max_length: int = MAX_LENGTH, exact_decimals: bool = True,
                     imaginary_unit: bool = False) -> sp.Expr:
    """Read ``text`` as a sympy expression in the declared ``symbols``; never executes it.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"-a*y**2"`` or ``"mu*(1 - x^2)*v - x"``.
    symbols : mapping name -> Symbol, or names / Symbols
        The only names the expression may use besides :data:`CONSTANTS` and :data:`FUNCTIONS`.
    where : str
        Names the input in error messages (``"family.rhs[0]"``, ``"A[2][1]"``).
    exact_decimals : bool
        Decimal literals as exact fractions (default) or as sympy Floats with the digits
        written (for display of stored floating-point formulas).
    imaginary_unit : bool
        Also accept ``I``, the imaginary unit (stored complex values).
    """
    if not isinstance(text, str):
        raise AnalysisInputError(f"{where}: expected an expression as text, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise AnalysisInputError(f"{where}: empty expression")
    if len(s) > max_length:
        raise AnalysisInputError(f"{where}: expression too long ({len(s)} characters; at most {max_length})")
    names = _symbol_table(symbols, where)
    if imaginary_unit:
        names["I"] = sp.I
    source = s.replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError) as exc:
        msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise AnalysisInputError(f"{where}: cannot parse {_shown(text)} ({msg})") from None
    except (RecursionError, MemoryError):
        raise AnalysisInputError(f"{where}: cannot parse {_shown(text)} (nested too deeply)") from None
    return _Builder(source, names, where, text, exact_decimals).build(tree.body, 0)


def number_value(text: str, where: str = "entry") -> float:
    """The float value of a number written as :func:`parse_number` reads it, without building
    a sympy expression (for identification against the catalogue, where sympy's first
    symbolic sum costs a tenth of a second): ``"p/q"`` and decimals through
    :class:`fractions.Fraction`, other expressions by a float walk of the same whitelisted
    syntax tree; anything it does not cover goes through :func:`parse_number`."""
    from fractions import Fraction

    s = text.strip()
    m = _FRACTION.fullmatch(s)
    if len(s) <= MAX_DIGITS and (_INT.fullmatch(s) or m or _DECIMAL.fullmatch(s)) and not (m and int(m.group(2)) == 0):
        return float(Fraction(int(m.group(1)), int(m.group(2)))) if m else float(Fraction(s))
    try:
        value = _float_walk(ast.parse(s.replace("^", "**"), mode="eval").body, 0)
        if math.isfinite(value):
            return value
    except (SyntaxError, ValueError, TypeError, OverflowError, ZeroDivisionError, RecursionError, KeyError):
        pass
    return float(parse_number(text, where).evalf(30))


_FLOAT_FUNCTIONS: Mapping[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "cbrt": lambda x: math.copysign(abs(x) ** (1.0 / 3.0), x), "exp": math.exp, "log": math.log,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh, "abs": abs, "Abs": abs,
}


def _float_walk(node: ast.AST, depth: int) -> float:
    """Float value of a whitelisted expression tree (raises ValueError for anything else)."""
    if depth > MAX_DEPTH:
        raise ValueError("too deep")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in ("pi", "E"):
        return math.pi if node.id == "pi" else math.e
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        v = _float_walk(node.operand, depth + 1)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitXor)):
        a, b = _float_walk(node.left, depth + 1), _float_walk(node.right, depth + 1)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            return a / b
        if abs(b) > MAX_EXPONENT:
            raise ValueError("exponent out of range")
        return a**b
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FLOAT_FUNCTIONS
            and not node.keywords and len(node.args) == 1):
        return float(_FLOAT_FUNCTIONS[node.func.id](_float_walk(node.args[0], depth + 1)))
    raise ValueError("not covered by the float walk")


def decimal_digits(text: str) -> int:
    """The most significant digits of any decimal literal (with a point or an exponent) in
    ``text``; 0 when it has none. ``"0.1666666666666666574"`` -> 19."""
    best = 0
    for m in _LITERAL.finditer(text):
        mantissa, exponent = m.group(1), m.group(2)
        if "." not in mantissa and not exponent:
            continue
        digits = mantissa.replace(".", "").lstrip("0")
        best = max(best, len(digits))
    return best


# ----------------------------------------------------------------------------- internals
def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


#: Names that may not be variables: they would shadow a function, a constant, a Python
#: built-in or keyword, or a module that generated numerical code refers to.
_RESERVED = frozenset({*FUNCTIONS, *CONSTANTS, *dir(builtins), *keyword.kwlist, *keyword.softkwlist,
                       "torch", "numpy", "np", "math", "mpmath", "sympy", "scipy", "I", "oo", "nan", "zoo"})


def check_variable_name(name: object, where: str = "variable") -> str:
    """A name usable as a declared symbol: an identifier, no leading underscore, not reserved."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or name in _RESERVED or len(name) > 64:
        raise AnalysisInputError(f"{where}: {name!r} cannot be a variable name (use a plain identifier that is not a "
                                 "function, constant, Python keyword or built-in)")
    return name


def _symbol_table(symbols: Mapping[str, sp.Symbol] | Iterable[str | sp.Symbol], where: str) -> dict[str, sp.Expr]:
    table: dict[str, sp.Expr] = dict(CONSTANTS)
    items = symbols.items() if isinstance(symbols, Mapping) else ((str(x), x) for x in symbols)
    for name, sym in items:
        check_variable_name(name, where)
        table[name] = sym if isinstance(sym, sp.Basic) else sp.Symbol(name)
    return table


def _check_digits(digits: str, where: str, text: str) -> None:
    n = sum(ch.isdigit() for ch in digits)
    if n > MAX_DIGITS:
        raise AnalysisInputError(f"{where}: number too long in {_shown(text)} ({n} digits; at most {MAX_DIGITS})")


def _decimal(literal: str, where: str, text: str) -> sp.Rational:
    mantissa, _, exponent = literal.lower().partition("e")
    _check_digits(mantissa, where, text)
    if exponent and abs(int(exponent)) > 400:
        raise AnalysisInputError(f"{where}: exponent out of range in {_shown(text)}")
    return sp.Rational(literal)


class _Builder:
    """Walks the whitelisted part of a Python expression tree and builds sympy objects."""

    def __init__(self, source: str, names: Mapping[str, sp.Expr], where: str, text: str, exact_decimals: bool = True) -> None:
        self.source, self.names, self.where, self.text = source, names, where, text
        self.exact_decimals = exact_decimals

    def fail(self, what: str) -> AnalysisInputError:
        return AnalysisInputError(f"{self.where}: cannot parse {_shown(self.text)} ({what})")

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in FUNCTIONS:
                raise self.fail(f"{node.id!r} is a function; call it as {node.id}(...)")
            raise self.fail(f"unknown name {node.id!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            v = self.build(node.operand, depth + 1)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise self.fail(f"{_describe(node)} is not allowed")

    def constant(self, node: ast.Constant) -> sp.Expr:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(f"{type(v).__name__} literal is not allowed")
        literal = ast.get_source_segment(self.source, node) or repr(v)
        if isinstance(v, int):
            _check_digits(literal, self.where, self.text)
            return sp.Integer(v)
        exact = _decimal(literal.replace("_", ""), self.where, self.text)
        return exact if self.exact_decimals else sp.Float(literal.replace("_", ""))

    def binop(self, node: ast.BinOp, depth: int) -> sp.Expr:
        op = node.op
        if not isinstance(op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitXor)):
            raise self.fail(f"operator {type(op).__name__} is not allowed")
        a = self.build(node.left, depth + 1)
        b = self.build(node.right, depth + 1)
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            if b.is_zero:
                raise self.fail("not finite: division by zero")
            return a / b
        return self.power(a, b)

    def power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_Rational:
            p, q = abs(int(exponent.p)), int(exponent.q)
            if p > MAX_EXPONENT * q or q > MAX_EXPONENT:
                raise self.fail(f"exponent {exponent} out of range (at most {MAX_EXPONENT})")
            if base.is_Rational and base != 0:
                size = max(abs(int(base.p)), int(base.q))
                if size > 1 and p / q * math.log10(size) > _MAX_POWER_DIGITS:
                    raise self.fail(f"power too large (more than {_MAX_POWER_DIGITS} digits)")
            if base.is_zero and exponent.is_negative:
                raise self.fail("not finite: division by zero")
        elif exponent.is_number:
            try:
                size = abs(complex(sp.N(exponent, 15)))
            except (TypeError, ValueError):
                raise self.fail("exponent is not a number") from None
            if not math.isfinite(size) or size > MAX_EXPONENT:
                raise self.fail(f"exponent out of range (at most {MAX_EXPONENT})")
        return base**exponent

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else _describe(node.func)
            raise self.fail(f"{name!r} is not an allowed function; allowed: {', '.join(f for f in FUNCTIONS if f != 'Abs')}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{node.func.id}() takes positional arguments only")
        lo, hi = _ARITY.get(node.func.id, (1, 1))
        if not lo <= len(node.args) <= hi:
            raise self.fail(f"{node.func.id}() takes {lo if lo == hi else f'{lo} to {hi}'} argument(s), got {len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        if node.func.id == "Rational" and not all(a.is_Integer for a in args):
            raise self.fail("Rational() takes integers")
        if node.func.id == "Rational" and len(args) == 2 and args[1] == 0:
            raise self.fail("not finite: division by zero")
        return FUNCTIONS[node.func.id](*args)


def _describe(node: ast.AST) -> str:
    kinds = {ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
             ast.Compare: "comparison", ast.BoolOp: "boolean operator", ast.IfExp: "conditional expression",
             ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set", ast.JoinedStr: "f-string",
             ast.NamedExpr: "assignment", ast.Starred: "star argument"}
    for kind, word in kinds.items():
        if isinstance(node, kind):
            return word
    return type(node).__name__
