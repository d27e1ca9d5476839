"""Formulas for both outputs: each :class:`Math` carries LaTeX and presentation MathML.

Expressions come from sympy (``sympy.mathml(..., printer="presentation")`` and
``sympy.latex``); Butcher tableaux, numbers in scientific notation and elementary weight
formulas are built by hand. Strings read from an analysis (equations, stability functions,
coefficients) are parsed with a whitelist, never with a bare ``eval``; what cannot be parsed
is shown as text.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from html.entities import html5
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import sympy as sp

from .texescape import Tex, latex_escape

if TYPE_CHECKING:
    from ..analysis.schema import TableauView

__all__ = [
    "Math", "Code", "Rich", "MATHML_NS", "math_text", "math_ident", "sci", "num_repr", "expr_math",
    "parse_expression", "parse_coefficient", "equation_math", "interval_math", "weight_formula_math",
    "tableau_math", "combination_math", "join_math", "inline_value_math", "value_math", "plain_fences", "as_float",
]

MATHML_NS = "http://www.w3.org/1998/Math/MathML"


@dataclass(frozen=True)
class Math:
    """A formula: ``latex`` (without ``$``) and ``mathml`` (content of ``<math>``)."""

    latex: str
    mathml: str
    display: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "mathml", plain_fences(self.mathml))

    def html(self) -> str:
        disp = ' display="block"' if self.display else ""
        return f'<math xmlns="{MATHML_NS}"{disp}>{self.mathml}</math>'


_FENCE = re.compile(r"<mo>([()\[\]|])</mo>")


def plain_fences(ml: str) -> str:
    """Parentheses as ordinary (non-stretchy) glyphs unless the formula holds a fraction:
    Chromium pads stretchy fences, which spaces ``f ( y )`` apart. Applied to every part as
    it is built, so a part without fractions keeps plain fences inside a larger formula."""
    if "<mfrac" in ml:
        return ml
    return _FENCE.sub(r'<mo stretchy="false">\1</mo>', ml)


@dataclass(frozen=True)
class Code:
    """Inline monospace text (a name, a command, a path)."""

    text: str


Rich = Sequence["str | Math | Code"]


# ------------------------------------------------------------------ MathML helpers
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _numeric_entities(s: str) -> str:
    """Named entities (``&InvisibleTimes;``) as numeric references, so the page is also
    well-formed XML."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ("amp", "lt", "gt", "quot", "apos"):
            return m.group(0)
        ch = html5.get(name + ";")
        return "".join(f"&#x{ord(c):x};" for c in ch) if ch else m.group(0)

    return _ENTITY.sub(repl, s)


def _fix_mathml(s: str) -> str:
    s = _numeric_entities(s)
    return s.replace("<mo>-</mo>", "<mo>&#x2212;</mo>")


def _mtext(s: str) -> str:
    return f"<mtext>{html.escape(s, quote=False)}</mtext>"


def math_text(s: str) -> Math:
    """Text set inside a formula."""
    return Math(r"\text{" + latex_escape(s) + "}", _mtext(s))


def _mi(name: str) -> str:
    return f"<mi>{html.escape(name, quote=False)}</mi>"


def math_ident(name: str, sub: str | None = None, sup: str | None = None) -> Math:
    """A symbol with optional subscript and superscript, e.g. ``y_{n+1}``, ``k_2``."""
    ltx = name
    ml = _mi(name)
    sub_ml = _plain_mathml(sub) if sub is not None else None
    sup_ml = _plain_mathml(sup) if sup is not None else None
    if sub is not None and sup is not None:
        ltx = f"{name}_{{{sub}}}^{{{sup}}}"
        ml = f"<msubsup>{ml}{sub_ml}{sup_ml}</msubsup>"
    elif sub is not None:
        ltx = f"{name}_{{{sub}}}"
        ml = f"<msub>{ml}{sub_ml}</msub>"
    elif sup is not None:
        ltx = f"{name}^{{{sup}}}"
        ml = f"<msup>{ml}{sup_ml}</msup>"
    return Math(ltx, ml)


def _plain_mathml(s: str) -> str:
    """MathML of a short plain index such as ``n+1``, ``ij`` or ``2``."""
    parts = re.findall(r"[0-9]+|[A-Za-z]|[+\-,]", s)
    out = []
    for p in parts:
        if p.isdigit():
            out.append(f"<mn>{p}</mn>")
        elif p == ",":
            out.append("<mo separator=\"true\">,</mo>")
        elif p in "+-":
            out.append("<mo>+</mo>" if p == "+" else "<mo>&#x2212;</mo>")
        else:
            out.append(_mi(p))
    return out[0] if len(out) == 1 else "<mrow>" + "".join(out) + "</mrow>"


def join_math(parts: Iterable[Math], display: bool = False) -> Math:
    parts = list(parts)
    return Math(" ".join(p.latex for p in parts), "<mrow>" + "".join(p.mathml for p in parts) + "</mrow>", display)


def _op(symbol: str, latex: str | None = None) -> Math:
    return Math(latex if latex is not None else symbol, f"<mo>{html.escape(symbol, quote=False)}</mo>")


# ------------------------------------------------------------------ numbers
def _mantissa_exponent(x: float, digits: int) -> tuple[str, int]:
    s = f"{x:.{digits - 1}e}"
    mant, exp = s.split("e")
    return mant, int(exp)


def sci(x: Any, digits: int = 3) -> Math:
    """``x`` to ``digits`` significant digits; ``m x 10^e`` outside [1e-3, 1e4)."""
    if x is None:
        return math_text("n/a")
    if isinstance(x, str):
        x = float(x)
    x = float(x)
    if math.isnan(x):
        return math_text("n/a")
    if math.isinf(x):
        return Math(r"-\infty" if x < 0 else r"\infty", "<mrow><mo>&#x2212;</mo><mi>&#x221e;</mi></mrow>" if x < 0 else "<mi>&#x221e;</mi>")
    if x == 0:
        return Math("0", "<mn>0</mn>")
    sign_l, sign_m = ("-", "<mo>&#x2212;</mo>") if x < 0 else ("", "")
    a = abs(x)
    if 1e-3 <= a < 1e4:
        s = f"{a:.{digits}g}"
        if "e" in s:  # e.g. 9.995e+03 rounding up
            s = f"{a:.0f}"
        return Math(sign_l + s, f"<mrow>{sign_m}<mn>{s}</mn></mrow>" if sign_m else f"<mn>{s}</mn>")
    mant, exp = _mantissa_exponent(a, digits)
    return _times_ten(sign_l, sign_m, mant, exp)


def _times_ten(sign_l: str, sign_m: str, mant: str, exp: int) -> Math:
    e_ml = f"<mrow><mo>&#x2212;</mo><mn>{-exp}</mn></mrow>" if exp < 0 else f"<mn>{exp}</mn>"
    ltx = f"{sign_l}{mant} \\times 10^{{{exp}}}"
    ml = f"<mrow>{sign_m}<mn>{mant}</mn><mo>&#xd7;</mo><msup><mn>10</mn>{e_ml}</msup></mrow>"
    return Math(ltx, ml)


def num_repr(x: float) -> Math:
    """A float at full precision: the digits of ``repr(x)`` (shortest round trip)."""
    x = float(x)
    if not math.isfinite(x):
        return sci(x)
    r = repr(x)
    sign_l, sign_m = "", ""
    if r.startswith("-"):
        r = r[1:]
        sign_l, sign_m = "-", "<mo>&#x2212;</mo>"
    if "e" in r:
        mant, exp = r.split("e")
        return _times_ten(sign_l, sign_m, mant, int(exp))
    if sign_m:
        return Math(sign_l + r, f"<mrow>{sign_m}<mn>{r}</mn></mrow>")
    return Math(r, f"<mn>{r}</mn>")


# ------------------------------------------------------------------ sympy expressions
def parse_expression(text: str) -> sp.Expr | None:
    """A sympy expression from a stored formula such as ``-a*y**2`` (its names become
    symbols; decimals stay floats), or ``None`` when it is not a plain arithmetic expression.
    Read by the one safe parser, :func:`algodiscover.analysis.expressions.parse_expression`:
    formulas in a received ``analysis.json`` are data, never code."""
    from ..analysis.errors import AnalysisInputError
    from ..analysis.expressions import CONSTANTS, FUNCTIONS, parse_expression as parse

    s = str(text).strip()
    names = sorted(set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", s)) - set(FUNCTIONS) - set(CONSTANTS) - {"I"})
    try:
        return parse(s, names, where="formula", max_length=2000, exact_decimals=False, imaginary_unit=True)
    except AnalysisInputError:
        return None


def parse_coefficient(value: Any) -> sp.Expr | float | None:
    """A tableau entry: exact (string such as ``"1/4 - sqrt(3)/6"``) or float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else sp.Integer(value)
    from ..analysis.errors import AnalysisInputError
    from ..analysis.numbers import parse_entry

    try:
        return parse_entry(value, "entry")
    except AnalysisInputError:
        return None


def expr_math(expr: sp.Expr, *, ascending: bool = False, display: bool = False) -> Math:
    """LaTeX and presentation MathML of a sympy expression (``ascending``: low powers first)."""
    kw = {"order": "rev-lex"} if ascending else {}
    ltx = sp.latex(expr, **kw)
    ml = _fix_mathml(sp.mathml(expr, printer="presentation", **kw))
    return Math(ltx, ml, display)


def value_math(value: Any) -> Math:
    """A tableau entry: exact expression, or the float at full precision."""
    v = parse_coefficient(value)
    if v is None:
        return math_text(str(value))
    if isinstance(v, float):
        return num_repr(v)
    return expr_math(v)


def inline_value_math(value: Any) -> Math:
    """Like :func:`value_math`, but plain fractions as ``p/q`` on one line (for tables and
    running text, where a stacked fraction would shrink to script size)."""
    v = parse_coefficient(value)
    if isinstance(v, sp.Rational) and not isinstance(v, sp.Integer):
        p, q = int(v.p), int(v.q)
        sign_l, sign_m = ("-", "<mo>&#x2212;</mo>") if p < 0 else ("", "")
        return Math(f"{sign_l}{abs(p)}/{q}", f'<mrow>{sign_m}<mn>{abs(p)}</mn><mo lspace="0" rspace="0">/</mo><mn>{q}</mn></mrow>')
    return value_math(value)


def as_float(value: Any) -> float:
    """A tableau entry as float64 (exact strings evaluated correctly rounded)."""
    v = parse_coefficient(value)
    if v is None:
        return float("nan")
    return float(v) if isinstance(v, float) else float(sp.N(v, 30))


def _is_zero(v: Any) -> bool:
    return v == 0


_LHS = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*('+)\s*$")


def equation_math(text: str) -> Math | None:
    """``"y' = -a*y**2"`` as a formula, or ``None`` when it is not of that shape."""
    if text.count("=") != 1:
        return None
    lhs, rhs = text.split("=")
    m = _LHS.match(lhs)
    expr = parse_expression(rhs)
    if m is None or expr is None:
        return None
    sym = sp.Symbol(m.group(1))
    primes = len(m.group(2))
    lhs_m = Math(sp.latex(sym) + "'" * primes,
                 f"<mrow>{_fix_mathml(sp.mathml(sym, printer='presentation'))}<mo lspace=\"0\" rspace=\"0\">{'&#x2032;' * primes}</mo></mrow>")
    return join_math([lhs_m, _op("="), expr_math(expr)])


def interval_math(lo: Any, hi: Any) -> Math:
    """A closed interval; infinite ends are open."""
    a, b = float(lo), float(hi)
    left = "(" if math.isinf(a) else "["
    right = ")" if math.isinf(b) else "]"
    A, B = sci(a, 4), sci(b, 4)
    return Math(f"{left}{A.latex}, {B.latex}{right}",
                f"<mrow><mo>{left}</mo>{A.mathml}<mo>,</mo>{B.mathml}<mo>{right}</mo></mrow>")


# ------------------------------------------------------------------ elementary weights
_FORMULA_TOKEN = re.compile(r"\\sum_\{([a-z0-9,]+)\}|([abc])_(?:\{([a-z0-9]+)\}|([a-z]))(?:\^(\d+))?|\s+")


def weight_formula_math(formula: str) -> Math:
    """The elementary weight formula of an analysis row (``\\sum_{i,j} b_i a_{ij} c_j^2``)
    as MathML; anything outside that small grammar is shown as text."""
    pos = 0
    ml: list[str] = []
    while pos < len(formula):
        m = _FORMULA_TOKEN.match(formula, pos)
        if m is None or m.end() == pos:
            return Math(r"\text{" + latex_escape(formula) + "}", _mtext(formula))
        pos = m.end()
        if m.group(1):
            idx = m.group(1).split(",")
            inner = "<mo>,</mo>".join(_mi(i) for i in idx)
            ml.append(f"<munder><mo movablelimits=\"true\">&#x2211;</mo><mrow>{inner}</mrow></munder>")
        elif m.group(2):
            sub = m.group(3) or m.group(4)
            sub_ml = "<mrow>" + "".join(_mi(ch) for ch in sub) + "</mrow>" if len(sub) > 1 else _mi(sub)
            base = _mi(m.group(2))
            if m.group(5):
                ml.append(f"<msubsup>{base}{sub_ml}<mn>{m.group(5)}</mn></msubsup>")
            else:
                ml.append(f"<msub>{base}{sub_ml}</msub>")
    return Math(Tex(formula), "<mrow>" + "".join(ml) + "</mrow>")


# ------------------------------------------------------------------ Butcher tableaux
def tableau_math(t: TableauView, *, floats: bool = False, explicit: bool | None = None) -> Math:
    """The tableau ``c | A`` over ``b`` (and ``b_hat``), exact entries or floats at full
    precision. Explicit methods leave the diagonal and upper triangle blank."""
    A = t.A
    s = len(A)
    if explicit is None:
        explicit = all(_is_zero(parse_coefficient(A[i][j])) for i in range(s) for j in range(i, s))
    cell = (lambda v: num_repr(as_float(v))) if floats else value_math
    rows_l: list[str] = []
    rows_m: list[str] = []
    c = t.c or [None] * s
    for i in range(s):
        entries = [cell(c[i]) if c[i] is not None else Math("", "")]
        for j in range(s):
            entries.append(cell(A[i][j]) if not (explicit and j >= i) else Math("", ""))
        rows_l.append(" & ".join(e.latex for e in entries))
        rows_m.append('<mtr><mtd class="tb-c" displaystyle="true">' + entries[0].mathml + "</mtd>"
                      + "".join(f'<mtd displaystyle="true">{e.mathml}</mtd>' for e in entries[1:]) + "</mtr>")
    weights = [("b", t.b)]
    if t.b_hat is not None:
        weights.append(("b_hat", t.b_hat))
    hline = r"\hline" + "\n"
    body_l = " \\\\\n".join(rows_l) + " \\\\\n" + hline
    wl: list[str] = []
    for k, (name, w) in enumerate(weights):
        entries = [cell(x) for x in w]
        label = "" if name == "b" else r"\hat b^{T}"
        wl.append(label + " & " + " & ".join(e.latex for e in entries))
        cls = "tb-b" if k == 0 else "tb-bh"
        lab_m = "" if name == "b" else "<msup><mover><mi>b</mi><mo>^</mo></mover><mi>T</mi></msup>"
        rows_m.append(f'<mtr class="{cls}"><mtd class="tb-c" displaystyle="true">{lab_m}</mtd>'
                      + "".join(f'<mtd displaystyle="true">{e.mathml}</mtd>' for e in entries) + "</mtr>")
    body_l += " \\\\\n".join(wl)
    stretch = "1.25" if floats else "1.55"
    ltx = "{\\renewcommand{\\arraystretch}{" + stretch + "}\\begin{array}{c|" + "c" * s + "}\n" + body_l + "\n\\end{array}}"
    ml = '<mtable class="tableau">' + "".join(rows_m) + "</mtable>"
    return Math(Tex(ltx), ml, display=True)


# ------------------------------------------------------------------ linear combinations
def _coef_parts(v: Any) -> tuple[bool, Math | None, bool]:
    """(negative, |coefficient| as Math or None for 1, needs parentheses)."""
    if isinstance(v, float):
        neg = v < 0
        a = abs(v)
        return neg, (None if a == 1.0 else num_repr(a)), False
    v = sp.nsimplify(v) if not isinstance(v, sp.Basic) else v
    if v.is_Add:
        # a sum such as 1/4 - sqrt(3)/6 keeps its own signs
        return False, expr_math(v), True
    neg = bool(v.could_extract_minus_sign())
    a = -v if neg else v
    return neg, (None if a == 1 else expr_math(a)), False


def combination_math(coefs: Sequence[Any], symbol: str = "k", per_line: int = 4) -> list[Math]:
    """``sum_j coefs[j] symbol_j`` with exact or float coefficients, zeros left out; split
    into chunks of ``per_line`` terms (each chunk a Math; later chunks start with a sign)."""
    terms: list[tuple[bool, Math | None, bool, int]] = []
    for j, v in enumerate(coefs):
        if v is None or _is_zero(v):
            continue
        neg, mag, paren = _coef_parts(v)
        terms.append((neg, mag, paren, j + 1))
    chunks: list[Math] = []
    for start in range(0, len(terms), per_line):
        parts_l: list[str] = []
        parts_m: list[str] = []
        for n, (neg, mag, paren, j) in enumerate(terms[start:start + per_line]):
            first = start == 0 and n == 0
            if neg:
                parts_l.append("-")
                parts_m.append("<mo>&#x2212;</mo>")
            elif not first:
                parts_l.append("+")
                parts_m.append("<mo>+</mo>")
            if mag is not None:
                if paren:
                    parts_l.append(r"\left(" + mag.latex + r"\right)")
                    parts_m.append(f"<mrow><mo>(</mo>{mag.mathml}<mo>)</mo></mrow>")
                else:
                    parts_l.append(mag.latex)
                    parts_m.append(mag.mathml)
                parts_l.append(r"\,")
                parts_m.append("<mo>&#x2062;</mo>")
            parts_l.append(f"{symbol}_{{{j}}}")
            parts_m.append(f"<msub><mi>{symbol}</mi><mn>{j}</mn></msub>")
        chunks.append(Math(" ".join(parts_l), "<mrow>" + "".join(parts_m) + "</mrow>"))
    return chunks
