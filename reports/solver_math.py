"""Formulas and phrases shared by the solver sections (linear and nonlinear systems).

Holds the fixed formulas of the solver text (``q(lambda)``, ``max |q|``, ``F(x) = 0`` ...,
each a :class:`~reports.mathtext.Math` with LaTeX and MathML), the display of long
polynomial equations, ratios and counts in words, labels of the comparison methods, and the
lines on a spectrum, a family and the scale ``h`` read from the typed views of
:mod:`analysis.schema`. Formatting only: nothing here computes a result. May import
:mod:`reports.formatting`, :mod:`reports.mathtext` and :mod:`analysis.schema`; the section
modules import it, never the reverse.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Sequence

import sympy as sp

from .formatting import Rich, fnum, ratio_text
from .mathtext import Code, Math, expr_math, interval_math, join_math, math_text, parse_expression, sci

if TYPE_CHECKING:
    from ..analysis.schema import LinearFamilyView, NonlinearFamilyView, RatioEstimateView, SpectrumView

__all__ = [
    "LAM_ML", "RHS_ML", "LAM", "EQ", "Q", "QD", "QC", "AXB", "RK_STEP", "Q0", "QR", "MAXQ", "ABSQ", "X0", "SUMB", "FX0",
    "FMINUS", "JSTAR", "LINSYS", "ERR", "H", "neg", "norm", "normF_le", "relres_le", "eq", "display_eq", "ratio_str",
    "ratio_math", "root_name", "percent", "GMRES", "method_label", "lambda_polynomial_math", "coefficients_polynomial_math",
    "complex_math", "lam_at", "family_line", "h_value", "ratio_verdict", "spectrum_rich", "ci_math", "estimate_rich",
    "verdict_label", "IDEALISED", "ANDERSON",
]

# ------------------------------------------------------------------ formulas used in the text
LAM_ML = "<mi>&#x3bb;</mi>"
RHS_ML = '<mi mathvariant="normal">rhs</mi>'
_NL = '<mo form="prefix" stretchy="false" lspace="0" rspace="0">&#x2016;</mo>'
_NR = '<mo form="postfix" stretchy="false" lspace="0" rspace="0">&#x2016;</mo>'


def neg(ml: str) -> str:
    """A unary minus in front of ``ml`` (its own mrow, so it is typeset as a prefix)."""
    return f"<mrow><mo>&#x2212;</mo>{ml}</mrow>"


LAM = Math(r"\lambda", LAM_ML)
EQ = Math("=", "<mo>=</mo>")
Q = Math(r"q(\lambda)", f"<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{LAM_ML}<mo>)</mo></mrow></mrow>")
QD = Math(r"\tilde q(\lambda)", f"<mrow><mover><mi>q</mi><mo>~</mo></mover><mo>&#x2061;</mo><mrow><mo>(</mo>{LAM_ML}<mo>)</mo></mrow></mrow>")
QC = Math(r"q_{\mathrm{cheb}}(\lambda)",
           f"<mrow><msub><mi>q</mi><mi mathvariant=\"normal\">cheb</mi></msub><mo>&#x2061;</mo><mrow><mo>(</mo>{LAM_ML}<mo>)</mo></mrow></mrow>")
AXB = Math(r"Ax = \mathrm{rhs}", f"<mrow><mi>A</mi><mo>&#x2062;</mo><mi>x</mi><mo>=</mo>{RHS_ML}</mrow>")
RK_STEP = Math(r"r_{k+1} = q(A)\, r_k",
           "<mrow><msub><mi>r</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo><mi>q</mi><mo>&#x2061;</mo>"
           "<mrow><mo>(</mo><mi>A</mi><mo>)</mo></mrow><mo>&#x2062;</mo><msub><mi>r</mi><mi>k</mi></msub></mrow>")
Q0 = Math("q(0) = 1", "<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mn>0</mn><mo>)</mo></mrow><mo>=</mo><mn>1</mn></mrow>")
QR = Math(r"q(\lambda) = R(-h\lambda)",
           f"<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{LAM_ML}<mo>)</mo></mrow><mo>=</mo><mi>R</mi><mo>&#x2061;</mo>"
           f"<mrow><mo>(</mo>{neg('<mi>h</mi><mo>&#x2062;</mo>' + LAM_ML)}<mo>)</mo></mrow></mrow>")
_BAR = '<mo form="prefix" lspace="0" rspace="0">|</mo>'
_BAR_END = '<mo form="postfix" lspace="0" rspace="0">|</mo>'
MAXQ = Math(r"\max|q(\lambda)|",
             f"<mrow><mi>max</mi><mo>&#x2061;</mo>{_BAR}<mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{LAM_ML}<mo>)</mo></mrow>{_BAR_END}</mrow>")
ABSQ = Math(r"|q(\lambda)|", f"<mrow>{_BAR}<mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{LAM_ML}<mo>)</mo></mrow>{_BAR_END}</mrow>")
X0 = Math("x_0 = 0", "<mrow><msub><mi>x</mi><mn>0</mn></msub><mo>=</mo><mn>0</mn></mrow>")
SUMB = Math(r"\textstyle\sum_j b_j = 1",
             "<mrow><munder><mo movablelimits=\"true\">&#x2211;</mo><mi>j</mi></munder><msub><mi>b</mi><mi>j</mi></msub><mo>=</mo><mn>1</mn></mrow>")
FX0 = Math("F(x) = 0", "<mrow><mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow><mo>=</mo><mn>0</mn></mrow>")
FMINUS = Math("f = -F", f"<mrow><mi>f</mi><mo>=</mo>{neg('<mi>F</mi>')}</mrow>")
JSTAR = Math(r"J_* = F'(x_*)",
              "<mrow><msub><mi>J</mi><mo>*</mo></msub><mo>=</mo><mi>F</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>&#x2061;</mo>"
              "<mrow><mo>(</mo><msub><mi>x</mi><mo>*</mo></msub><mo>)</mo></mrow></mrow>")
LINSYS = Math(r"J(x_k)\, y = -F(x_k)",
               "<mrow><mi>J</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>)</mo></mrow><mo>&#x2062;</mo><mi>y</mi>"
               "<mo>=</mo>" + neg("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>)</mo></mrow>") + "</mrow>")
ERR = Math(r"e_{k+1} \approx q(J_*)\, e_k",
            "<mrow><msub><mi>e</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>&#x2248;</mo><mi>q</mi><mo>&#x2061;</mo>"
            "<mrow><mo>(</mo><msub><mi>J</mi><mo>*</mo></msub><mo>)</mo></mrow><mo>&#x2062;</mo><msub><mi>e</mi><mi>k</mi></msub></mrow>")
H = Math("h", "<mi>h</mi>")


def norm(ml: str) -> str:
    return f"<mrow>{_NL}{ml}{_NR}</mrow>"


def normF_le(tol: Any) -> Math:
    t = sci(tol, 1)
    return Math(r"\|F(x)\| \le " + t.latex,
                "<mrow>" + norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow>") + "<mo>&#x2264;</mo>" + t.mathml + "</mrow>")


def relres_le(tol: Any) -> Math:
    t = sci(tol, 1)
    return Math(r"\|r\| / \|\mathrm{rhs}\| \le " + t.latex,
                "<mrow>" + norm("<mi>r</mi>") + '<mo lspace="0" rspace="0">/</mo>' + norm(RHS_ML) + "<mo>&#x2264;</mo>" + t.mathml + "</mrow>")


def eq(lhs: Math, rhs: Math, display: bool = False) -> Math:
    return join_math([lhs, EQ, rhs], display=display)


_TEX_ONE_LINE = 80  # rough width in characters of a displayed formula that fits an A4 line
_TEX_LINE = 56  # width of each line when a long polynomial is broken


def _visual_len(ltx: str) -> int:
    """Rough printed width of LaTeX source in characters (fractions count their longer part)."""
    t = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: "x" * max(len(m.group(1)), len(m.group(2))), ltx)
    t = re.sub(r"\^\{([^{}]*)\}", lambda m: "x" * max(1, len(m.group(1)) // 2), t)
    t = re.sub(r"\\[A-Za-z]+", "x", t)
    return len(re.sub(r"[\s{}]", "", t)) + t.count("+") + t.count("-") + t.count("=")


def _top_level_terms(ltx: str) -> list[str]:
    """``1.0 - 1.1 \\lambda + ...`` split before each top-level binary ``+``/``-``."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(ltx):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif depth == 0 and i > 0 and ch in "+-" and ltx[i - 1] == " " and i + 1 < len(ltx) and ltx[i + 1] == " ":
            terms.append(ltx[start:i].strip())
            start = i
    terms.append(ltx[start:].strip())
    return [t for t in terms if t]


def display_eq(lhs: Math, rhs: Math) -> Math:
    """``lhs = rhs`` displayed; in LaTeX a long right-hand side is broken into aligned lines
    (the MathML page scrolls instead)."""
    full = eq(lhs, rhs, display=True)
    terms = _top_level_terms(rhs.latex)
    if _visual_len(full.latex) <= _TEX_ONE_LINE or len(terms) < 3:
        return full
    lines, cur = [], ""
    for t in terms:
        if cur and _visual_len(cur) + _visual_len(t) > _TEX_LINE:
            lines.append(cur)
            cur = t
        else:
            cur = f"{cur} {t}" if cur else t
    lines.append(cur)
    body = f"{lhs.latex} = {{}} & {lines[0]}" + "".join(f" \\\\\n & {{}} {ln}" for ln in lines[1:])
    return Math("\\begin{aligned}" + body + "\\end{aligned}", full.mathml, display=True)


def ratio_str(r: Any) -> str:
    """A ratio to 3 significant digits, 4 near 1 (so 1.0039 does not read as 1)."""
    v = fnum(r)
    return ratio_text(v) if not math.isfinite(v) or abs(v - 1) >= 0.05 else f"{v:.4g}"


def ratio_math(r: Any) -> Math:
    v = fnum(r)
    return sci(v, 4 if math.isfinite(v) and abs(v - 1) < 0.05 else 3)


def _ordinal(n: Any) -> str:
    try:
        k = int(n)
    except (TypeError, ValueError):
        return f"{n}th"
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def root_name(n: Any) -> str:
    return "square root" if str(n) == "2" else f"{_ordinal(n)} root"


def percent(x: Any) -> str:
    v = fnum(x)
    return "n/a" if not math.isfinite(v) else f"{100 * v:.2g} %"


# ------------------------------------------------------------------ shared helpers
GMRES = re.compile(r"gmres\((\d+)\)$")
IDEALISED = re.compile(r"gmres\((\d+)\)-idealised$")
ANDERSON = re.compile(r"anderson\((\d+)\)$")
_CHEB_N = re.compile(r"chebyshev\((\d+)\)$")


def method_label(key: str, name: str | None = None, short: bool = False) -> str:
    """A comparison method's key (``"gmres(4)"``) as a reader's label (``short``: for
    running text)."""
    k = str(key).lower()
    if k == "learned":
        return "the learned iteration" if short else (f"{name} (learned)" if name else "learned")
    if m := GMRES.match(k):
        return f"GMRES({m.group(1)})" if short else f"GMRES({m.group(1)}), SciPy ({int(m.group(1)) + 1} per cycle)"
    if m := IDEALISED.match(k):
        return (f"GMRES({m.group(1)}) counted as {m.group(1)} per cycle" if short
                else f"GMRES({m.group(1)}), idealised ({m.group(1)} per cycle)")
    if m := ANDERSON.match(k):
        return f"Anderson({m.group(1)})" if short else f"anderson(M = {m.group(1)}), tuned"
    if m := _CHEB_N.match(k):
        return f"the cycled degree-{m.group(1)} Chebyshev polynomial" if short else f"Chebyshev degree {m.group(1)}, cycled"
    if short:
        return {"cg": "CG", "chebyshev": "Chebyshev iteration", "richardson": "Richardson", "heavy-ball": "the optimal heavy ball",
                "newton_krylov": "newton_krylov at its defaults", "newton_krylov_tuned": "tuned newton_krylov",
                "picard": "Picard", "newton_exact": "Newton with the exact Jacobian",
                "newton_gmres": "Newton-GMRES with exact JVPs"}.get(k, str(key))
    return {"cg": "CG", "chebyshev": "Chebyshev iteration", "richardson": "Richardson (\u03c9 = 2/(a+b))",
            "heavy-ball": "heavy ball (optimal \u03b1, \u03b2 on [a, b])",
            "newton_krylov": "SciPy newton_krylov (defaults)", "newton_krylov_tuned": "SciPy newton_krylov (tuned)",
            "picard": "Picard (tuned \u03c9)", "newton_exact": "Newton, exact Jacobian",
            "newton_gmres": "Newton-GMRES, exact JVPs (tuned rtol)"}.get(k, str(key))


def lambda_polynomial_math(text: Any, latex: Any = None) -> Math | None:
    """A polynomial in ``lam`` (the sympy text of analysis.json) as a formula in lambda,
    ascending powers; the given LaTeX as text when the string does not parse."""
    expr = parse_expression(str(text)) if text else None
    if expr is None:
        return math_text(str(latex)) if latex else None
    expr = expr.subs(sp.Symbol("lam"), sp.Symbol("lambda"))
    return expr_math(expr, ascending=True)


def coefficients_polynomial_math(coeffs: Sequence[Any] | None) -> Math | None:
    """``sum_k c_k lambda^k`` from coefficients in ascending powers, each float at full
    precision (its shortest round-trip digits); integral values as integers."""
    if not coeffs:
        return None
    lam = sp.Symbol("lambda")
    expr = sp.Integer(0)
    for k, c in enumerate(coeffs):
        v = fnum(c)
        if not math.isfinite(v):
            return None
        if v == 0:
            continue
        coef = sp.Integer(int(v)) if v.is_integer() and abs(v) < 1e15 else sp.Float(repr(v), max(15, len(re.sub(r"\D", "", repr(v)))))
        expr += coef * lam**k
    return expr_math(expr, ascending=True)


def complex_math(pair: Any, digits: int = 6) -> Math:
    """``[re, im]`` as ``re + im i`` (a plain number when ``im = 0``)."""
    if isinstance(pair, (list, tuple)) and len(pair) == 2:
        re_, im = fnum(pair[0]), fnum(pair[1])
    else:
        re_, im = fnum(pair), 0.0
    R = sci(re_, digits)
    if im == 0 or not math.isfinite(im):
        return R
    I = sci(abs(im), digits)
    sign_l, sign_m = ("+", "<mo>+</mo>") if im > 0 else ("-", "<mo>&#x2212;</mo>")
    return Math(f"{R.latex} {sign_l} {I.latex}\\,i", f"<mrow>{R.mathml}{sign_m}<mrow>{I.mathml}<mo>&#x2062;</mo><mi>i</mi></mrow></mrow>")


def lam_at(x: Any) -> Math:
    return eq(LAM, complex_math(x, 4))


def family_line(fam: LinearFamilyView | NonlinearFamilyView, sentence: bool = False) -> Rich:
    """``spd: random 20x20 SPD matrices ...`` (facts) or ``spd, random ...,`` (in a sentence)."""
    out: Rich = [Code(fam.name)]
    if fam.description:
        out += [", " if sentence else ": ", fam.description]
        if sentence:
            out.append(",")
    return out


def h_value(h: Any, how: Any) -> Rich:
    out: Rich = [eq(H, sci(h, 6))]
    if how in ("learned", None):
        out.append(" (learned)" if how == "learned" else "")
    else:
        out.append(" (fixed)")
    return out


def ratio_verdict(r: float, fewer: str, more: str, same: str) -> str:
    return fewer if r < 1 else (more if r > 1 else same)


def spectrum_rich(spec: SpectrumView, with_source: bool = True) -> Rich:
    """``the spectral interval [1, 10] (source; 36 eigenvalues)``, or the complex version."""
    lo, hi = (spec.interval or (math.nan, math.nan))[:2]
    out: Rich
    if spec.real:
        out = ["the spectral interval ", interval_math(lo, hi)]
    else:
        mi = sci(spec.max_imag, 4)
        out = ["complex eigenvalues with real parts in ", interval_math(lo, hi), " and imaginary parts up to ",
               Math(r"\pm " + mi.latex, f"<mrow><mo>&#xb1;</mo>{mi.mathml}</mrow>")]
    if with_source and spec.source:
        out += [" (", spec.source]
        if spec.eigenvalue_count:
            out.append(f"; {spec.eigenvalue_count} eigenvalues")
        out.append(")")
    return out


def ci_math(est: RatioEstimateView | None) -> Math | None:
    """The 95 % interval ``[lo, hi]`` of a ratio (None without one)."""
    if est is None or est.ci95 is None:
        return None
    lo, hi = (ratio_math(v) for v in est.ci95)
    return Math(f"[{lo.latex}, {hi.latex}]", f"<mrow><mo>[</mo>{lo.mathml}<mo>,</mo>{hi.mathml}<mo>]</mo></mrow>")


def verdict_label(est: RatioEstimateView | None) -> str | None:
    """The verdict for the learned method in a table cell: ``fewer``, ``more``, ``no
    significant difference``, or why there is none."""
    if est is None or est.value is None:
        return None
    if est.verdict is None:
        return f"none (n = {est.n})" if est.n is not None else "none"
    return {"no significant difference": "no sig. difference"}.get(est.verdict, est.verdict)


def estimate_rich(est: RatioEstimateView | None, unit: str = "instances") -> Rich:
    """``1.86 (95 % interval [1.7, 2.0], 100 instances)`` for running text."""
    if est is None or est.value is None:
        return ["n/a"]
    out: Rich = [ratio_math(est.value)]
    ci = ci_math(est)
    if ci is not None:
        out += [" (95\u00a0% interval ", ci, f", {est.n} {unit})"]
    elif est.n is not None:
        out.append(f" (no interval: {est.n} {unit} are too few)")
    return out
