"""Section builders for the solver kinds.

``"krylov"``: a learned polynomial iteration for a family of linear systems (the
``"krylov"`` section of analysis.json: :mod:`analysis.krylov` and
:func:`algodiscover.linear.analyze_run`). ``"newton-krylov"``: a learned iteration for a
family of nonlinear systems, derivative-free or Newton-Krylov (the ``"nonlinear"`` section:
:func:`algodiscover.nonlinear.analyze_run`).

As in :mod:`reports.context`, each builder reads keys of the analysis and returns the data of
its templates ``html_<key>.j2`` / ``tex_<key>.j2``, or ``None`` when the analysis has nothing
for it. Numbers are read and formatted, never recomputed; the only arithmetic is formatting
(a relative change 0.0032 written as 0.32 %).
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

import sympy as sp

from .formatting import Rich, count_math, count_text, fnum, in_range_math, join_and, plural, ratio_text
from .mathtext import Code, Math, expr_math, inline_value_math, interval_math, join_math, math_text, parse_expression, sci, tableau_math

__all__ = [
    "method_label", "lambda_polynomial_math", "coefficients_polynomial_math", "complex_math",
    "krylov_data", "nonlinear_data", "krylov_title", "nonlinear_title",
    "build_krylov_summary", "build_recurrence", "build_convergence", "build_matvecs",
    "build_nonlinear_summary", "build_nl_iteration", "build_linearisation", "build_newton",
    "training_objective", "generic_solver_line",
]

# ------------------------------------------------------------------ formulas used in the text
_LAM_ML = "<mi>&#x3bb;</mi>"
_RHS_ML = '<mi mathvariant="normal">rhs</mi>'
_NL = '<mo form="prefix" stretchy="false" lspace="0" rspace="0">&#x2016;</mo>'
_NR = '<mo form="postfix" stretchy="false" lspace="0" rspace="0">&#x2016;</mo>'


def _neg(ml: str) -> str:
    """A unary minus in front of ``ml`` (its own mrow, so it is typeset as a prefix)."""
    return f"<mrow><mo>&#x2212;</mo>{ml}</mrow>"


_LAM = Math(r"\lambda", _LAM_ML)
_EQ = Math("=", "<mo>=</mo>")
_Q = Math(r"q(\lambda)", f"<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{_LAM_ML}<mo>)</mo></mrow></mrow>")
_QD = Math(r"\tilde q(\lambda)", f"<mrow><mover><mi>q</mi><mo>~</mo></mover><mo>&#x2061;</mo><mrow><mo>(</mo>{_LAM_ML}<mo>)</mo></mrow></mrow>")
_QC = Math(r"q_{\mathrm{cheb}}(\lambda)",
           f"<mrow><msub><mi>q</mi><mi mathvariant=\"normal\">cheb</mi></msub><mo>&#x2061;</mo><mrow><mo>(</mo>{_LAM_ML}<mo>)</mo></mrow></mrow>")
_AXB = Math(r"Ax = \mathrm{rhs}", f"<mrow><mi>A</mi><mo>&#x2062;</mo><mi>x</mi><mo>=</mo>{_RHS_ML}</mrow>")
_RK = Math(r"r_{k+1} = q(A)\, r_k",
           "<mrow><msub><mi>r</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo><mi>q</mi><mo>&#x2061;</mo>"
           "<mrow><mo>(</mo><mi>A</mi><mo>)</mo></mrow><mo>&#x2062;</mo><msub><mi>r</mi><mi>k</mi></msub></mrow>")
_Q0 = Math("q(0) = 1", "<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mn>0</mn><mo>)</mo></mrow><mo>=</mo><mn>1</mn></mrow>")
_QR = Math(r"q(\lambda) = R(-h\lambda)",
           f"<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{_LAM_ML}<mo>)</mo></mrow><mo>=</mo><mi>R</mi><mo>&#x2061;</mo>"
           f"<mrow><mo>(</mo>{_neg('<mi>h</mi><mo>&#x2062;</mo>' + _LAM_ML)}<mo>)</mo></mrow></mrow>")
_BAR = '<mo form="prefix" lspace="0" rspace="0">|</mo>'
_BAR_END = '<mo form="postfix" lspace="0" rspace="0">|</mo>'
_MAXQ = Math(r"\max|q(\lambda)|",
             f"<mrow><mi>max</mi><mo>&#x2061;</mo>{_BAR}<mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{_LAM_ML}<mo>)</mo></mrow>{_BAR_END}</mrow>")
_ABSQ = Math(r"|q(\lambda)|", f"<mrow>{_BAR}<mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{_LAM_ML}<mo>)</mo></mrow>{_BAR_END}</mrow>")
_X0 = Math("x_0 = 0", "<mrow><msub><mi>x</mi><mn>0</mn></msub><mo>=</mo><mn>0</mn></mrow>")
_SUMB = Math(r"\textstyle\sum_j b_j = 1",
             "<mrow><munder><mo movablelimits=\"true\">&#x2211;</mo><mi>j</mi></munder><msub><mi>b</mi><mi>j</mi></msub><mo>=</mo><mn>1</mn></mrow>")
_FX0 = Math("F(x) = 0", "<mrow><mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow><mo>=</mo><mn>0</mn></mrow>")
_FMINUS = Math("f = -F", f"<mrow><mi>f</mi><mo>=</mo>{_neg('<mi>F</mi>')}</mrow>")
_JSTAR = Math(r"J_* = F'(x_*)",
              "<mrow><msub><mi>J</mi><mo>*</mo></msub><mo>=</mo><mi>F</mi><mo lspace=\"0\" rspace=\"0\">&#x2032;</mo><mo>&#x2061;</mo>"
              "<mrow><mo>(</mo><msub><mi>x</mi><mo>*</mo></msub><mo>)</mo></mrow></mrow>")
_LINSYS = Math(r"J(x_k)\, y = -F(x_k)",
               "<mrow><mi>J</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>)</mo></mrow><mo>&#x2062;</mo><mi>y</mi>"
               "<mo>=</mo>" + _neg("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>)</mo></mrow>") + "</mrow>")
_ERR = Math(r"e_{k+1} \approx q(J_*)\, e_k",
            "<mrow><msub><mi>e</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>&#x2248;</mo><mi>q</mi><mo>&#x2061;</mo>"
            "<mrow><mo>(</mo><msub><mi>J</mi><mo>*</mo></msub><mo>)</mo></mrow><mo>&#x2062;</mo><msub><mi>e</mi><mi>k</mi></msub></mrow>")
_H = Math("h", "<mi>h</mi>")


def _norm(ml: str) -> str:
    return f"<mrow>{_NL}{ml}{_NR}</mrow>"


def _normF_le(tol: Any) -> Math:
    t = sci(tol, 1)
    return Math(r"\|F(x)\| \le " + t.latex,
                "<mrow>" + _norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow>") + "<mo>&#x2264;</mo>" + t.mathml + "</mrow>")


def _relres_le(tol: Any) -> Math:
    t = sci(tol, 1)
    return Math(r"\|r\| / \|\mathrm{rhs}\| \le " + t.latex,
                "<mrow>" + _norm("<mi>r</mi>") + '<mo lspace="0" rspace="0">/</mo>' + _norm(_RHS_ML) + "<mo>&#x2264;</mo>" + t.mathml + "</mrow>")


def _eq(lhs: Math, rhs: Math, display: bool = False) -> Math:
    return join_math([lhs, _EQ, rhs], display=display)


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


def _display_eq(lhs: Math, rhs: Math) -> Math:
    """``lhs = rhs`` displayed; in LaTeX a long right-hand side is broken into aligned lines
    (the MathML page scrolls instead)."""
    eq = _eq(lhs, rhs, display=True)
    terms = _top_level_terms(rhs.latex)
    if _visual_len(eq.latex) <= _TEX_ONE_LINE or len(terms) < 3:
        return eq
    lines, cur = [], ""
    for t in terms:
        if cur and _visual_len(cur) + _visual_len(t) > _TEX_LINE:
            lines.append(cur)
            cur = t
        else:
            cur = f"{cur} {t}" if cur else t
    lines.append(cur)
    body = f"{lhs.latex} = {{}} & {lines[0]}" + "".join(f" \\\\\n & {{}} {ln}" for ln in lines[1:])
    return Math("\\begin{aligned}" + body + "\\end{aligned}", eq.mathml, display=True)


def _ratio(r: Any) -> str:
    """A ratio to 3 significant digits, 4 near 1 (so 1.0039 does not read as 1)."""
    v = fnum(r)
    return ratio_text(v) if not math.isfinite(v) or abs(v - 1) >= 0.05 else f"{v:.4g}"


def _ratio_math(r: Any) -> Math:
    v = fnum(r)
    return sci(v, 4 if math.isfinite(v) and abs(v - 1) < 0.05 else 3)


def _ordinal(n: Any) -> str:
    try:
        k = int(n)
    except (TypeError, ValueError):
        return f"{n}th"
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _root_name(n: Any) -> str:
    return "square root" if str(n) == "2" else f"{_ordinal(n)} root"


def _percent(x: Any) -> str:
    v = fnum(x)
    return "n/a" if not math.isfinite(v) else f"{100 * v:.2g} %"


# ------------------------------------------------------------------ shared helpers
_GMRES = re.compile(r"gmres\((\d+)\)$")
_CHEB_N = re.compile(r"chebyshev\((\d+)\)$")


def method_label(key: str, name: str | None = None, short: bool = False) -> str:
    """A comparison method's key (``"gmres(4)"``) as a reader's label (``short``: for
    running text)."""
    k = str(key).lower()
    if k == "learned":
        return "the learned iteration" if short else (f"{name} (learned)" if name else "learned")
    if m := _GMRES.match(k):
        return f"GMRES({m.group(1)})" if short else f"GMRES({m.group(1)}), restarted"
    if m := _CHEB_N.match(k):
        return f"the cycled degree-{m.group(1)} Chebyshev polynomial" if short else f"Chebyshev degree {m.group(1)}, cycled"
    if short:
        return {"cg": "CG", "chebyshev": "Chebyshev iteration", "richardson": "Richardson"}.get(k, str(key))
    return {"cg": "CG", "chebyshev": "Chebyshev iteration", "richardson": "Richardson (\u03c9 = 2/(a+b))",
            "newton_krylov": "SciPy newton_krylov (defaults)",
            "newton_direct": "Newton, direct solve"}.get(k, str(key))


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


def _lam_at(x: Any) -> Math:
    return _eq(_LAM, complex_math(x, 4))


def _family_line(fam: dict[str, Any], sentence: bool = False) -> Rich:
    """``spd: random 20x20 SPD matrices ...`` (facts) or ``spd, random ...,`` (in a sentence)."""
    out: Rich = [Code(str(fam.get("name", "?")))]
    if fam.get("description"):
        out += [", " if sentence else ": ", str(fam["description"])]
        if sentence:
            out.append(",")
    return out


def _h_value(h: Any, how: Any) -> Rich:
    out: Rich = [_eq(_H, sci(h, 6))]
    if how in ("learned", None):
        out.append(" (learned)" if how == "learned" else "")
    else:
        out.append(" (fixed)")
    return out


def _ratio_verdict(r: float, fewer: str, more: str, same: str) -> str:
    return fewer if r < 1 else (more if r > 1 else same)


# ================================================================== krylov: linear systems
def krylov_data(a: dict[str, Any]) -> dict[str, Any] | None:
    """The ``"krylov"`` section of a krylov analysis, or ``None``."""
    k = a.get("krylov")
    if a.get("kind") != "krylov" or not isinstance(k, dict) or not isinstance(k.get("polynomial"), dict):
        return None
    return k


def krylov_title(a: dict[str, Any]) -> str:
    k = krylov_data(a) or {}
    n = k.get("stages") or a.get("stages")
    fam = (k.get("family") or {}).get("name")
    what = f"a learned {n}-stage polynomial iteration" if n else "a learned polynomial iteration"
    return f"{a.get('name', 'method')}: {what}" + (f" for the linear family {fam}" if fam else " for linear systems")


def _objective(a: dict[str, Any], k: dict[str, Any]) -> str | None:
    return (k.get("objective") or {}).get("name") or (a.get("structure") or {}).get("objective")


def _spectrum_rich(spec: dict[str, Any], with_source: bool = True) -> Rich:
    lo, hi = (spec.get("interval") or [float("nan")] * 2)[:2]
    out: Rich
    if spec.get("real", True):
        out = ["the spectral interval ", interval_math(lo, hi)]
    else:
        mi = sci(spec.get("max_imag"), 4)
        out = ["complex eigenvalues with real parts in ", interval_math(lo, hi), " and imaginary parts up to ",
               Math(r"\pm " + mi.latex, f"<mrow><mo>&#xb1;</mo>{mi.mathml}</mrow>")]
    if with_source and spec.get("source"):
        out += [" (", str(spec["source"])]
        if spec.get("eigenvalue_count"):
            out.append(f"; {spec['eigenvalue_count']} eigenvalues")
        out.append(")")
    return out


def _factor_sentences(k: dict[str, Any], a: dict[str, Any]) -> Rich:
    spec = k.get("spectrum") or {}
    fac = k.get("factor") or {}
    ch = k.get("chebyshev") or {}
    fr = k.get("factor_ratio") or {}
    n = k.get("stages") or a.get("stages")
    out: Rich = []
    per_outer = fnum(fac.get("per_outer"))
    if spec.get("real", True):
        out += ["On ", *_spectrum_rich(spec, with_source=False), " its convergence factor is ", join_math([_MAXQ, _EQ, sci(per_outer, 4)]),
                " per outer iteration (", sci(fac.get("per_matvec"), 4), " per matvec)"]
    else:
        cnt = spec.get("eigenvalue_count")
        out += ["Its spectrum has ", *_spectrum_rich(spec, with_source=False), "; on the ", f"{cnt} " if cnt else "", "known eigenvalues its convergence factor is ",
                join_math([_MAXQ, _EQ, sci(per_outer, 4)]), " per outer iteration (", sci(fac.get("per_matvec"), 4), " per matvec)"]
    if math.isfinite(per_outer) and per_outer >= 1:
        out.append(": at least 1, so the iteration does not converge on the whole spectrum")
    out.append(".")
    if ch.get("per_outer") is not None:
        out += [f" The degree-{n} Chebyshev polynomial, which has the least maximum of ", _ABSQ, f" on this interval among degree-{n} polynomials with ", _Q0,
                ", reaches ", sci(ch["per_outer"], 4), " (", sci(ch.get("per_matvec"), 4), " per matvec)"]
        r, rm = fnum(fr.get("per_outer")), fnum(fr.get("per_matvec"))
        if math.isfinite(r):
            out += [": the learned factor is ", _ratio(r), " times the optimum per outer iteration"]
            if math.isfinite(rm):
                out += [" (", _ratio(rm), " times per matvec)"]
        out.append(".")
    note = _objective_note(k, a)
    if note:
        out += [" ", *note]
    return out


def _objective_note(k: dict[str, Any], a: dict[str, Any]) -> Rich:
    """Why the learned factor sits above Chebyshev's (residual objective), or why there is no
    Chebyshev reference (complex spectrum)."""
    spec = k.get("spectrum") or {}
    ch = k.get("chebyshev") or {}
    r = fnum((k.get("factor_ratio") or {}).get("per_outer"))
    if ch.get("per_outer") is not None:
        if _objective(a, k) == "residual" and math.isfinite(r) and r > 1.02:
            return ["The residual objective averages the residual over the training systems and a few outer iterations instead of "
                    "minimising the maximum of ", _ABSQ, ", so its optimum lies above the Chebyshev factor; the minimax and spectral "
                    "objectives target that maximum."]
        return []
    if not spec.get("real", True):
        return ["The analysis gives no Chebyshev reference for a complex spectrum: the minimax comparison is made on a real interval."]
    return []


def _matvec_sentences(k: dict[str, Any], a: dict[str, Any], detail: bool = True) -> Rich:
    comp = k.get("comparison") or {}
    methods = comp.get("methods") or {}
    if "learned" not in methods:
        return []
    ratios = comp.get("ratios") or {}
    L = methods["learned"]
    inst = comp.get("instances") or len(L.get("matvecs_to_tol") or [])
    out: Rich = [f"On {inst} held-out systems, from ", _X0, " to ", _relres_le(comp.get("tol")), ", the learned iteration "]
    if L.get("median") is None:
        out += [f"reaches the tolerance on only {L.get('reached', 0)} of {inst} within the budget of {comp.get('matvec_budget')} matvecs, "
                "so it has no median matvec count."]
    else:
        out += [f"needs a median of {count_text(L['median'])} matvecs"]
        if L.get("reached") is not None and L.get("reached") != inst:
            out.append(f" (reached on {L['reached']} of {inst})")
        out.append(".")
    gm = next((m for m in methods if _GMRES.match(m.lower())), None)
    if gm is not None:
        r = ratios.get(gm)
        med = methods[gm].get("median")
        label = f"GMRES({_GMRES.match(gm.lower()).group(1)})"
        if med is None:
            out += [f" Restarted {label} did not reach the tolerance within the budget on most systems."]
        elif r is None:
            out += [f" Restarted {label} needs a median of {count_text(med)} matvecs."]
        else:
            out += [f" Restarted {label} needs {count_text(med)}, {_ratio(r)} times as many: "]
            out.append(_ratio_verdict(fnum(r), f"{label} needs fewer matvecs, though it also computes inner products and stores a Krylov basis, "
                                               "which the learned iteration does not.",
                                      f"the learned iteration needs fewer matvecs than {label}.",
                                      f"the learned iteration and {label} need the same number."))
    if detail:
        fewer = [m for m in methods if m not in ("learned", gm) and ratios.get(m) is not None and fnum(ratios[m]) < 1]
        more = [m for m in methods if m not in ("learned", gm) and ratios.get(m) is not None and fnum(ratios[m]) > 1]
        same = [m for m in methods if m not in ("learned", gm) and ratios.get(m) is not None and fnum(ratios[m]) == 1]
        missed = [m for m in methods if m not in ("learned", gm) and methods[m].get("median") is None]

        def listing(ms: list[str]) -> Rich:
            return join_and([[f"{method_label(m, short=True)} ({count_text(methods[m].get('median'))})"] for m in ms])

        clauses: list[Rich] = []
        for ms, verb in ((fewer, "fewer matvecs than the learned iteration"), (same, "as many"), (more, "more")):
            if ms:
                clauses.append(listing(ms) + [f" {'need' if len(ms) > 1 else 'needs'} {verb}"])
        if clauses:
            out.append(" Of the other baselines, ")
            for j, c in enumerate(clauses):
                if j:
                    out.append(", and " if j == len(clauses) - 1 else ", ")
                out += c
            out.append(".")
        if missed:
            out.append(" " + ", ".join(method_label(m, short=True) for m in missed) + " did not reach the tolerance within the budget on most systems.")
    return out


def _objective_phrase(obj: str | None, a: dict[str, Any], k: dict[str, Any]) -> Rich:
    st = a.get("structure") or {}
    if obj == "residual":
        return ["the residual objective (the published loss)"]
    if obj == "minimax":
        M = st.get("minimax_outer")
        return ["the minimax objective (a soft maximum of the per-system residual reduction" + (f" over {M} outer iterations)" if M else ")")]
    if obj == "spectral":
        return ["the spectral objective (a soft maximum of ", _ABSQ, " over the spectral interval)"]
    return [f"the {obj} objective"] if obj else []


def build_krylov_summary(a: dict[str, Any]) -> dict[str, Any] | None:
    k = krylov_data(a)
    if k is None:
        return None
    name = str(a.get("name", "method"))
    st = a.get("structure") or {}
    n = k.get("stages") or a.get("stages")
    mv = k.get("matvecs_per_outer") or n
    fam = k.get("family") or {}
    obj = _objective(a, k)
    p1: Rich = [Code(name), f" is a learned {n}-stage polynomial iteration for linear systems ", _AXB,
                f": one outer iteration costs {plural(int(mv), 'matrix-vector product')} (matvecs) and no inner products, and multiplies the residual by a fixed polynomial, ",
                _RK, " with ", _Q0, "."]
    if fam:
        p1 += [" It was trained on the family ", *_family_line(fam, sentence=True)]
        if st.get("outer"):
            p1.append(f" with {plural(int(st['outer']), 'outer iteration')} unrolled")
        phrase = _objective_phrase(obj, a, k)
        if phrase:
            p1 += [" and ", *phrase]
        p1.append(".")
    paras = [p1, _factor_sentences(k, a)]
    comp = _matvec_sentences(k, a)
    if comp:
        paras.append(comp)

    facts: list[tuple[str, Rich]] = []
    if fam:
        facts.append(("Problem family", _family_line(fam)))
    struct: Rich = [f"{n} stages, {mv} matvecs per outer iteration"]
    if st.get("outer"):
        struct.append(f", {st['outer']} outer iterations in training")
    if k.get("h") is not None:
        struct += ["; ", *_h_value(k["h"], st.get("h"))]
    facts.append(("Structure", struct))
    if obj:
        v: Rich = [str(obj)]
        fl = (k.get("objective") or {}).get("final_loss")
        if fl is not None:
            v += ["; final loss ", sci(fl, 4)]
        facts.append(("Objective", v))
    spec = k.get("spectrum") or {}
    if spec:
        s = _spectrum_rich(spec)
        s[0] = s[0][0].upper() + s[0][1:] if isinstance(s[0], str) else s[0]
        facts.append(("Spectrum", s))
    fac = k.get("factor") or {}
    facts.append(("Convergence factor", [sci(fac.get("per_outer"), 4), " per outer iteration, ", sci(fac.get("per_matvec"), 4), " per matvec"]))
    ch = k.get("chebyshev") or {}
    fr = k.get("factor_ratio") or {}
    if ch.get("per_outer") is not None:
        facts.append((f"Chebyshev, degree {n}", [sci(ch["per_outer"], 4), " per outer iteration, ", sci(ch.get("per_matvec"), 4),
                                                  " per matvec; learned / Chebyshev ", _ratio_math(fr.get("per_outer")), " (per outer), ",
                                                  _ratio_math(fr.get("per_matvec")), " (per matvec)"]))
    comp_d = k.get("comparison") or {}
    meth = comp_d.get("methods") or {}
    if "learned" in meth:
        row: Rich = ["learned ", count_text(meth["learned"].get("median"))]
        for m, d in meth.items():
            if m != "learned":
                row += [f", {method_label(m, short=True).removeprefix('the ')} {count_text(d.get('median'))}"]
        facts.append((f"Median matvecs to {fnum(comp_d.get('tol')):.0e}", row))
    if k.get("identified_as"):
        facts.append(("Identified as", [str(k["identified_as"])]))
    if a.get("order") is not None:
        rk = (k.get("rk_view") or {})
        v = [f"order {a['order']} as an explicit Runge\u2013Kutta method"]
        if rk.get("h") is not None:
            v += [" (tableau normalised to ", _SUMB, ", ", _eq(_H, sci(rk["h"], 4)), ")"]
        v.append("; a secondary view")
        facts.append(("Runge\u2013Kutta view", v))
    return {"paragraphs": paras, "facts": facts}


def build_recurrence(a: dict[str, Any]) -> dict[str, Any] | None:
    """The iteration: pseudocode, residual polynomial (exact), distilled polynomial, roots and
    Richardson steps, and the Runge-Kutta view as a secondary fact."""
    k = krylov_data(a)
    if k is None:
        return None
    poly = k.get("polynomial") or {}
    n = k.get("stages") or a.get("stages")
    mv = k.get("matvecs_per_outer") or n
    intro: Rich = [f"One outer iteration ({plural(int(mv), 'matvec')}, no inner products) as pseudocode, with the learned weights:"]
    q = lambda_polynomial_math(poly.get("sympy"), poly.get("latex"))
    q_text: Rich = ["Each outer iteration multiplies the residual (and the error) by the residual polynomial ", _QR,
                    ", where ", Math("R", "<mi>R</mi>"), " is the stability polynomial of the tableau ",
                    Math("(W, b)", "<mrow><mo>(</mo><mi>W</mi><mo>,</mo><mi>b</mi><mo>)</mo></mrow>"), ":"]
    if poly.get("exact"):
        q_note: Rich = ["Exact coefficients", f" ({poly['source']})." if poly.get("source") else "."]
    else:
        q_note = ["The coefficients are those of the learned float64 weights, at full precision; no exact form was found for them."]
    dist = k.get("distilled")
    distilled = None
    if isinstance(dist, dict) and dist.get("sympy"):
        dq = lambda_polynomial_math(dist.get("sympy"), dist.get("latex"))
        if dq is not None:
            text: Rich = ["Snapping the coefficients to short fractions (relative tolerance ", sci(dist.get("relative_tolerance"), 2),
                          ") gives the distilled polynomial"]
            tail: Rich = ["Its convergence factor is ", sci(dist.get("per_outer"), 4), " per outer iteration (", sci(dist.get("per_matvec"), 4),
                          " per matvec), a relative change of ", _percent(dist.get("factor_change")), "."]
            distilled = {"text": text + [":"], "math": _display_eq(_QD, dq), "tail": tail}
    roots = k.get("roots") or []
    steps = k.get("richardson_steps") or []
    cheb_roots = (k.get("chebyshev") or {}).get("roots") or []
    show_cheb = len(cheb_roots) == len(roots) and all(abs(fnum(r[1])) == 0 for r in cheb_roots if isinstance(r, (list, tuple)))
    rows = []
    for j, r in enumerate(roots):
        rows.append({"k": j + 1, "root": complex_math(r), "step": complex_math(steps[j]) if j < len(steps) else None,
                     "cheb": complex_math(cheb_roots[j]) if show_cheb else None})
    roots_text: Rich = ["The roots ", Math(r"\lambda_i", f"<msub>{_LAM_ML}<mi>i</mi></msub>"), " of ", _Q,
                        " factor it as ", Math(r"q(\lambda) = \prod_i (1 - \lambda/\lambda_i)",
                                                f"<mrow><mi>q</mi><mo>&#x2061;</mo><mrow><mo>(</mo>{_LAM_ML}<mo>)</mo></mrow><mo>=</mo>"
                                                f"<munder><mo movablelimits=\"true\">&#x220f;</mo><mi>i</mi></munder><mrow><mo>(</mo><mn>1</mn><mo>&#x2212;</mo>{_LAM_ML}"
                                                f"<mo lspace=\"0\" rspace=\"0\">/</mo><msub>{_LAM_ML}<mi>i</mi></msub><mo>)</mo></mrow></mrow>"),
                        ": the same polynomial is reached by Richardson steps ",
                        Math(r"x \leftarrow x + \omega_i (\mathrm{rhs} - Ax)", "<mrow><mi>x</mi><mo>&#x2190;</mo><mi>x</mi><mo>+</mo><msub><mi>&#x3c9;</mi><mi>i</mi></msub>"
                             f"<mo>&#x2062;</mo><mrow><mo>(</mo>{_RHS_ML}<mo>&#x2212;</mo><mi>A</mi><mo>&#x2062;</mo><mi>x</mi><mo>)</mo></mrow></mrow>"),
                        " with ", Math(r"\omega_i = 1/\lambda_i", f"<mrow><msub><mi>&#x3c9;</mi><mi>i</mi></msub><mo>=</mo><mn>1</mn><mo lspace=\"0\" rspace=\"0\">/</mo>"
                                       f"<msub>{_LAM_ML}<mi>i</mi></msub></mrow>"),
                        " (in exact arithmetic; complex-conjugate pairs combine into real two-matvec steps)."]
    if show_cheb:
        roots_text += [" The last column gives the roots of the Chebyshev polynomial of the same degree on the spectral interval."]
    rk = _rk_view(a, k)
    return {"intro": intro, "recurrence": str(k.get("recurrence") or ""), "q_text": q_text,
            "q": _display_eq(_Q, q) if q is not None else None, "q_note": q_note, "distilled": distilled,
            "roots_text": roots_text if rows else None, "roots": rows, "show_cheb": show_cheb,
            "richardson": str(k.get("richardson_form") or ""), "identified": str(k["identified_as"]) if k.get("identified_as") else None,
            "rk": rk}


def _rk_view(a: dict[str, Any], k: dict[str, Any]) -> dict[str, Any] | None:
    """The tableau as an explicit Runge-Kutta method: secondary facts."""
    tab = a.get("tableau")
    rk = k.get("rk_view") or {}
    if not tab or "A" not in tab or "b" not in tab:
        return None
    text: Rich = ["The same polynomial, ", _QR, ", is the stability polynomial of the tableau ",
                  Math("(W, b)", "<mrow><mo>(</mo><mi>W</mi><mo>,</mo><mi>b</mi><mo>)</mo></mrow>"), " at ", Math(r"z = -h\lambda", f"<mrow><mi>z</mi><mo>=</mo>{_neg('<mi>h</mi><mo>&#x2062;</mo>' + _LAM_ML)}</mrow>"),
                  ". Normalised to ", _SUMB]
    if rk.get("scale") is not None:
        text += [" (", Math("W", "<mi>W</mi>"), " and ", Math("b", "<mi>b</mi>"), " divided by the learned ",
                 join_math([Math(r"\textstyle\sum_j b_j", "<mrow><munder><mo movablelimits=\"true\">&#x2211;</mo><mi>j</mi></munder><msub><mi>b</mi><mi>j</mi></msub></mrow>"),
                            _EQ, sci(rk["scale"], 4)]), ", ", _H, " multiplied by it)"]
    text.append(" it reads as an explicit Runge\u2013Kutta method")
    if rk.get("h") is not None:
        text += [" with step ", _eq(_H, sci(rk["h"], 6))]
    text += [f" of order {a.get('order')}"]
    if a.get("rk_identified_as"):
        text += [" (Runge\u2013Kutta catalogue: ", str(a["rk_identified_as"]), ")"]
    text.append(". As a solver only the polynomial matters; this view is secondary.")
    tableaux = [{"caption": "normalised learned tableau, float64", "math": tableau_math(tab, floats=True, explicit=True)}]
    ex = k.get("exact_tableau")
    if isinstance(ex, dict) and isinstance(ex.get("tableau"), dict) and ex["tableau"].get("A"):
        cap: Rich = ["exact tableau (", str(ex.get("represents", "")), ")"]
        if ex.get("h") is not None:
            cap += [" with ", _eq(_H, inline_value_math(ex["h"]))]
        tableaux.append({"caption": cap, "math": tableau_math(ex["tableau"], explicit=True)})
    for t in tableaux:
        if isinstance(t["caption"], str):
            t["caption"] = [t["caption"]]
    return {"text": text, "tableaux": tableaux}


def build_convergence(a: dict[str, Any], figures: Sequence[str] = ()) -> dict[str, Any] | None:
    k = krylov_data(a)
    if k is None or not k.get("factor"):
        return None
    spec = k.get("spectrum") or {}
    fac = k.get("factor") or {}
    ch = k.get("chebyshev") or {}
    fr = k.get("factor_ratio") or {}
    n = k.get("stages") or a.get("stages")
    mv = k.get("matvecs_per_outer") or n
    lo, hi = (spec.get("interval") or [float("nan")] * 2)[:2]
    sp_rich = _spectrum_rich(spec, with_source=False)
    how: Rich = ["Spectrum: ", sp_rich[0][4:] if spec.get("real", True) else sp_rich[0], *sp_rich[1:], ". Source: ", str(spec.get("source", "not recorded"))]
    if spec.get("eigenvalue_count"):
        how += [f"; {spec['eigenvalue_count']} eigenvalues"]
    how.append(".")
    if spec.get("exact_interval") is False:
        how.append(" The interval is an estimate.")
    meaning: Rich = ["After many outer iterations the residual shrinks by ", _MAXQ, " over the spectrum per outer iteration, the convergence factor, "
                     f"and by its {_root_name(mv)} per matvec."]
    rows = [{"name": "learned", "label": f"{a.get('name', 'method')} (learned)", "per_outer": sci(fac.get("per_outer"), 4),
             "per_matvec": sci(fac.get("per_matvec"), 4), "ratio_outer": _ratio_math(fr.get("per_outer")) if fr.get("per_outer") is not None else None,
             "ratio_matvec": _ratio_math(fr.get("per_matvec")) if fr.get("per_matvec") is not None else None, "ref": False}]
    dist = k.get("distilled")
    if isinstance(dist, dict) and dist.get("per_outer") is not None:
        rows.append({"name": "distilled", "label": "distilled (short fractions)", "per_outer": sci(dist["per_outer"], 4),
                     "per_matvec": sci(dist.get("per_matvec"), 4), "ratio_outer": None, "ratio_matvec": None, "ref": False})
    if ch.get("per_outer") is not None:
        rows.append({"name": "chebyshev", "label": f"Chebyshev, degree {n}", "per_outer": sci(ch["per_outer"], 4),
                     "per_matvec": sci(ch.get("per_matvec"), 4), "ratio_outer": sci(1.0, 3), "ratio_matvec": sci(1.0, 3), "ref": True})
    where: Rich = []
    if fac.get("argmax") is not None:
        where = ["The maximum of the learned ", _ABSQ, " is attained at ", _lam_at(fac["argmax"])]
        onev = fac.get("on_eigenvalues")
        if onev is not None and spec.get("real", True) and abs(fnum(onev) - fnum(fac.get("per_outer"))) > 1e-12 * max(1.0, abs(fnum(onev))):
            where += ["; on the family's eigenvalues themselves the maximum is ", sci(onev, 4)]
        where.append(".")
    cheb = None
    if ch.get("sympy") or ch.get("latex"):
        qc = lambda_polynomial_math(ch.get("sympy"), ch.get("latex"))
        if qc is not None:
            cheb = {"text": [f"The degree-{n} Chebyshev polynomial on ", interval_math(lo, hi), " (shifted to the interval and scaled to ",
                             _Q0, "; ", "exact coefficients" if ch.get("exact") else "float64 coefficients", "):"],
                    "math": _display_eq(_QC, qc)}
    return {"how": how, "meaning": meaning, "rows": rows, "has_ratio": any(r["ratio_outer"] is not None for r in rows), "where": where,
            "cheb": cheb, "figure": "polynomial" if "polynomial" in figures else None, "real": bool(spec.get("real", True)),
            "interval": interval_math(lo, hi), "note": _objective_note(k, a)}


def build_matvecs(a: dict[str, Any], figures: Sequence[str] = ()) -> dict[str, Any] | None:
    k = krylov_data(a)
    comp = (k or {}).get("comparison")
    if not comp or not comp.get("methods"):
        return None
    methods = comp["methods"]
    ratios = comp.get("ratios") or {}
    inst = comp.get("instances")
    order = (["learned"] if "learned" in methods else []) + [m for m in methods if m != "learned"]
    rows = []
    for m in order:
        d = methods[m]
        r = 1.0 if m == "learned" else ratios.get(m)
        rows.append({"key": m, "label": method_label(m, str(a.get("name", "method"))), "ref": m == "learned",
                     "median": count_math(d.get("median")), "reached": f"{d.get('reached', 0)} of {inst}",
                     "ratio": (sci(1.0) if m == "learned" else _ratio_math(r)) if r is not None else None, "fewer": r is not None and m != "learned" and fnum(r) < 1,
                     "residual": sci(d.get("residual_at_learned_matvecs"), 3) if d.get("residual_at_learned_matvecs") is not None else None,
                     "wall": sci(d.get("wall_s"), 3) if d.get("wall_s") is not None else None})
    intro: Rich = ["Matrix-vector products (matvecs) to reach ", _relres_le(comp.get("tol")), f" on {inst} held-out systems of the family, from ",
                   _X0, f", with a budget of {comp.get('matvec_budget')} matvecs per method and system. "]
    if comp.get("counting"):
        intro += ["Counting: ", str(comp["counting"]).rstrip(".") + "."]
    skipped = [(method_label(m), str(why)) for m, why in (comp.get("skipped") or {}).items()]
    note: Rich = ["GMRES and CG choose a new polynomial for every system and iteration from inner products; the learned, Chebyshev and "
                  "Richardson iterations apply fixed polynomials and compute no inner products. Wall times are totals over the "
                  f"{inst} systems with a Python/NumPy implementation of each method and say little about tuned codes."]
    first = (methods.get("learned") or {}).get("matvecs_to_tol") or []
    return {"intro": intro, "rows": rows, "skipped": skipped, "note": note, "sentences": _matvec_sentences(k, a),
            "figure": "history" if "history" in figures else None, "first_learned": count_text(first[0]) if first and first[0] is not None else None}


# ================================================================== newton-krylov: nonlinear systems
def nonlinear_data(a: dict[str, Any]) -> dict[str, Any] | None:
    """The ``"nonlinear"`` section of a newton-krylov analysis, or ``None``."""
    nl = a.get("nonlinear")
    if a.get("kind") != "newton-krylov" or not isinstance(nl, dict):
        return None
    return nl


def _mode(a: dict[str, Any], nl: dict[str, Any]) -> str:
    return str(nl.get("mode") or a.get("mode") or "derivative-free")


def nonlinear_title(a: dict[str, Any]) -> str:
    nl = nonlinear_data(a) or {}
    n = a.get("stages")
    fam = (nl.get("family") or {}).get("name")
    where = f" for the nonlinear family {fam}" if fam else " for nonlinear systems"
    if _mode(a, nl) == "newton-krylov":
        inner = f"a learned {n}-stage inner iteration" if n else "a learned inner iteration"
        return f"{a.get('name', 'method')}: Newton\u2013Krylov with {inner}{where}"
    return f"{a.get('name', 'method')}: a learned derivative-free iteration{where}"


def _setting_ranges(fam: dict[str, Any], setting: str) -> Rich:
    key = "ood_param_ranges" if setting == "out_of_distribution" else "param_ranges"
    conds = [[in_range_math(str(p), r)] for p, r in zip(fam.get("params") or [], fam.get(key) or []) if isinstance(r, (list, tuple)) and len(r) == 2]
    return join_and(conds) if conds else []


def _nl_comparison_sentence(nl: dict[str, Any], setting: str) -> Rich:
    c = ((nl.get("comparison") or {}).get(setting)) or {}
    if not c:
        return []
    fam = nl.get("family") or {}
    med = c.get("median_evaluations") or {}
    succ = c.get("success") or {}
    inst = c.get("instances")
    ranges = _setting_ranges(fam, setting)
    where = "in the training range" if setting == "in_distribution" else "out of distribution"
    out: Rich = [f"On {inst} held-out instances {where}"]
    if ranges:
        out += [" (", *ranges, ")"]
    out += [" the learned iteration reaches ", _normF_le(c.get("tol")), f" on {succ.get('learned', 0)} of {inst}"]
    if med.get("learned") is not None:
        out += [f" with a median of {count_text(med['learned'])} residual evaluations"]
    out += [f", against {count_text(med.get('newton_krylov'))} for SciPy's ", Code("newton_krylov"), f" at its defaults ({succ.get('newton_krylov', 0)} of {inst} converged)."]
    r = c.get("median_ratio_learned_to_newton_krylov")
    if r is not None:
        rv = fnum(r)
        out += [f" The median over instances of the ratio learned / newton_krylov is {_ratio(rv)}: the learned iteration needs ",
                _ratio_verdict(rv, "fewer residual evaluations than", "more residual evaluations than", "as many residual evaluations as"),
                " newton_krylov on the typical instance."]
    else:
        out.append(" No instance converged for both methods, so there is no ratio.")
    return out


def build_nonlinear_summary(a: dict[str, Any]) -> dict[str, Any] | None:
    nl = nonlinear_data(a)
    if nl is None:
        return None
    name = str(a.get("name", "method"))
    st = a.get("structure") or {}
    fam = nl.get("family") or {}
    mode = _mode(a, nl)
    n = a.get("stages") or st.get("stages")
    e = nl.get("evaluations_per_outer") or st.get("evaluations_per_outer")
    if mode == "newton-krylov":
        p1: Rich = [Code(name), " is a Newton\u2013Krylov iteration for nonlinear systems ", _FX0, " whose inner linear solver is learned: each Newton-like "
                    "outer step solves ", _LINSYS, f" approximately with a learned {n}-stage polynomial iteration on Jacobian-vector products"]
    else:
        p1 = [Code(name), " is a learned derivative-free iteration for nonlinear systems ", _FX0, f": each outer iteration evaluates the residual at {n} nearby points (",
              _FMINUS, " in the R2N2 recurrence; the differences stand in for Jacobian products) and combines them with learned weights"]
    if e:
        p1.append(f"; {plural(int(e), 'residual evaluation')} per outer iteration")
    p1.append(".")
    if fam:
        p1 += [" It was trained on the family ", *_family_line(fam, sentence=True)]
        if st.get("outer"):
            p1.append(f" with {plural(int(st['outer']), 'outer iteration')} unrolled")
        p1.append(".")
    paras: list[Rich] = [p1]
    lin = nl.get("linearisation") or {}
    if lin.get("local_rate") is not None or (lin.get("factor") or {}).get("per_outer") is not None:
        spec = lin.get("spectrum") or {}
        p2: Rich = ["Near a solution the iteration is linear in the error. On the spectrum of the Jacobian ", _JSTAR, " (",
                    *_spectrum_rich(spec, with_source=False), ", from ", str(spec.get("source", "the solutions")), ") "]
        if mode == "newton-krylov":
            p2 += ["the inner residual factor is ", join_math([_MAXQ, _EQ, sci((lin.get("factor") or {}).get("per_outer"), 3)]),
                   "; it is the forcing term of the inexact Newton iteration, so the local rate per Newton step is ", sci(lin.get("local_rate"), 3), "."]
        else:
            p2 += ["the local convergence factor ", _MAXQ, " with ", _QR, " is ", sci(lin.get("local_rate"), 3), " per outer iteration."]
        paras.append(p2)
    for s in ("in_distribution", "out_of_distribution"):
        sent = _nl_comparison_sentence(nl, s)
        if sent:
            paras.append(sent)
    comp = nl.get("comparison") or {}
    cin, cout = comp.get("in_distribution") or {}, comp.get("out_of_distribution") or {}
    nd = cin.get("newton_direct_instances") or cout.get("newton_direct_instances")
    if nd:
        mi = (cin.get("median_evaluations") or {}).get("newton_direct")
        mo = (cout.get("median_evaluations") or {}).get("newton_direct")
        p: Rich = [f"Newton's method with a direct solve and a finite-difference Jacobian ({fam.get('size', 'm')} residual evaluations per Jacobian), run on the first {nd} instances, needs a median of {count_text(mi)} residual evaluations"]
        if cin.get("newton_direct_jacobians_median") is not None:
            p.append(f" ({count_text(cin['newton_direct_jacobians_median'])} Jacobians)")
        p.append(" in distribution")
        if mo is not None:
            p.append(f" and {count_text(mo)}")
            if cout.get("newton_direct_jacobians_median") is not None:
                p.append(f" ({count_text(cout['newton_direct_jacobians_median'])} Jacobians)")
            p.append(" out of distribution")
        p.append(".")
        paras.append(p)
    rej = [c.get("safeguard_rejections") for c in (cin, cout) if c.get("safeguard_rejections") is not None]
    if rej:
        total = sum(int(r) for r in rej)
        if total == 0:
            sg: Rich = ["The safeguard rejected no outer step of the learned iteration."]
        else:
            sg = [f"The safeguard rejected {plural(total, 'outer step')} of the learned iteration"]
            if len(rej) == 2:
                sg.append(f" ({rej[0]} in distribution, {rej[1]} out of distribution)")
            sg.append(".")
        paras[-1] = paras[-1] + [" "] + sg

    facts: list[tuple[str, Rich]] = []
    if fam:
        facts.append(("Problem family", _family_line(fam)))
    facts.append(("Mode", [mode + (" (learned inner polynomial iteration, Jacobian-vector products)" if mode == "newton-krylov"
                                   else " (residual evaluations only)")]))
    struct: Rich = [f"{n} stages"]
    if e:
        struct.append(f", {e} residual evaluations per outer iteration")
    if st.get("outer"):
        struct.append(f", {st['outer']} outer iterations in training")
    if nl.get("h") is not None:
        struct += ["; ", *_h_value(nl["h"], st.get("h"))]
    facts.append(("Structure", struct))
    if lin.get("local_rate") is not None:
        facts.append(("Local rate", [sci(lin["local_rate"], 3), " per outer iteration" if mode != "newton-krylov" else " per Newton step"]))
    for s, label in (("in_distribution", "In distribution"), ("out_of_distribution", "Out of distribution")):
        c = comp.get(s) or {}
        if not c:
            continue
        med = c.get("median_evaluations") or {}
        v: Rich = [f"median evaluations learned {count_text(med.get('learned'))}, newton_krylov {count_text(med.get('newton_krylov'))}"]
        if c.get("median_ratio_learned_to_newton_krylov") is not None:
            v.append(f"; median ratio {_ratio(c['median_ratio_learned_to_newton_krylov'])}")
        succ = c.get("success") or {}
        v.append(f"; converged {succ.get('learned', 0)} of {c.get('instances')}")
        facts.append((label, v))
    if a.get("identified_as"):
        facts.append(("Identified as", [str(a["identified_as"])]))
    return {"paragraphs": paras, "facts": facts}


def build_nl_iteration(a: dict[str, Any]) -> dict[str, Any] | None:
    nl = nonlinear_data(a)
    if nl is None:
        return None
    st = a.get("structure") or {}
    mode = _mode(a, nl)
    if mode == "newton-krylov":
        intro: Rich = ["Outer Newton-like steps ", Math("x_{k+1} = x_k + y_k", "<mrow><msub><mi>x</mi><mrow><mi>k</mi><mo>+</mo><mn>1</mn></mrow></msub><mo>=</mo>"
                                                         "<msub><mi>x</mi><mi>k</mi></msub><mo>+</mo><msub><mi>y</mi><mi>k</mi></msub></mrow>"),
                       "; the step solves ", _LINSYS, " approximately with a learned polynomial iteration from ",
                       Math("y = 0", "<mrow><mi>y</mi><mo>=</mo><mn>0</mn></mrow>"),
                       ", using Jacobian-vector products (forward mode in training, finite differences at solve time, as in SciPy). "
                       "Cost is counted in residual evaluations: one per F call and one per Jacobian-vector product."]
    else:
        intro = ["The R2N2 recurrence on ", _FMINUS, ": residuals at nearby points stand in for Jacobian products, so no derivative is evaluated. "
                 "Cost is counted in residual evaluations."]
    params: list[tuple[str, Rich]] = []
    if nl.get("h") is not None:
        params.append(("Scale h", _h_value(nl["h"], st.get("h"))))
    e = nl.get("evaluations_per_outer") or st.get("evaluations_per_outer")
    if e:
        params.append(("Evaluations per outer iteration", [str(e)]))
    if mode == "newton-krylov" and st.get("inner_outer") is not None:
        params.append(("Inner passes per Newton step", [str(st["inner_outer"])]))
    if st.get("safeguard_rate") is not None:
        sg: Rich = ["accept an outer step only if ", Math(r"\|F(x_{\mathrm{new}})\| \le \rho\, \|F(x)\|",
                                                          "<mrow>" + _norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi mathvariant=\"normal\">new</mi></msub><mo>)</mo></mrow>")
                                                          + "<mo>&#x2264;</mo><mi>&#x3c1;</mi><mo>&#x2062;</mo>" + _norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow>") + "</mrow>"),
                    " with ", Math(r"\rho = " + sci(st["safeguard_rate"], 3).latex, "<mrow><mi>&#x3c1;</mi><mo>=</mo>" + sci(st["safeguard_rate"], 3).mathml + "</mrow>")]
        if st.get("max_backtracks") is not None:
            sg.append(f"; a rejected step is halved up to {st['max_backtracks']} times")
        params.append(("Safeguard", sg))
    coeffs = (nl.get("linearisation") or {}).get("residual_polynomial_coefficients")
    q = coefficients_polynomial_math(coeffs)
    if mode == "newton-krylov":
        q_text: Rich = ["The inner iteration multiplies the residual of the linearised system by ", _QR, ":"]
    else:
        q_text = ["Near a root the error obeys ", _ERR, " with ", _QR, ", where ", Math("R", "<mi>R</mi>"), " is the stability polynomial of the tableau:"]
    tab = a.get("tableau")
    tableau = None
    if tab and "A" in tab and "b" in tab:
        tableau = {"math": tableau_math(tab, floats=True, explicit=True),
                   "caption": ["learned weights ", Math("(W, b)", "<mrow><mo>(</mo><mi>W</mi><mo>,</mo><mi>b</mi><mo>)</mo></mrow>"),
                               ", float64 at full precision; as an integrator this tableau has order ", str(a.get("order")),
                               ", which does not matter for the solver"]}
    return {"intro": intro, "structure": str(nl.get("structure") or ""), "params": params, "q_text": q_text,
            "q": _display_eq(_Q, q) if q is not None else None, "identified": str(a["identified_as"]) if a.get("identified_as") else None,
            "tableau": tableau}


def build_linearisation(a: dict[str, Any], figures: Sequence[str] = ()) -> dict[str, Any] | None:
    nl = nonlinear_data(a)
    lin = (nl or {}).get("linearisation")
    if not lin:
        return None
    spec = lin.get("spectrum") or {}
    fac = lin.get("factor") or {}
    mode = _mode(a, nl)
    how: Rich = ["Spectrum of the Jacobian ", _JSTAR, ": "]
    how += _spectrum_rich(spec, with_source=False)
    how += [". Source: ", str(spec.get("source", "not recorded"))]
    if spec.get("eigenvalue_count"):
        how.append(f"; {spec['eigenvalue_count']} eigenvalues")
    how.append(".")
    eig = [v for v in (lin.get("eigenvalues_real") or [])]
    eig_text: Rich = []
    if eig:
        shown = [sci(v, 4) if not isinstance(v, str) else math_text("\u2026") for v in eig]
        eig_text = ["Real parts of the eigenvalues as listed in the analysis (the smallest, then the largest): "]
        for j, m in enumerate(shown):
            if j:
                eig_text.append(", ")
            eig_text.append(m)
        eig_text.append(".")
    unit = "per Newton step" if mode == "newton-krylov" else "per outer iteration"
    rows: list[tuple[str, Rich]] = [
        ("Factor per outer iteration", [join_math([_MAXQ, _EQ, sci(fac.get("per_outer"), 4)])]),
        (f"Factor per stage ({_root_name(a.get('stages'))})" if a.get("stages") else "Factor per stage", [sci(fac.get("per_matvec"), 4)]),
    ]
    if fac.get("argmax") is not None:
        rows.append(("Maximum attained at", [_lam_at(fac["argmax"])]))
    if fac.get("on_eigenvalues") is not None:
        rows.append(("Maximum over the eigenvalues", [sci(fac["on_eigenvalues"], 4)]))
    if lin.get("local_rate") is not None:
        rows.append(("Local rate", [sci(lin["local_rate"], 4), f" {unit}"]))
    if mode == "newton-krylov":
        meaning: Rich = ["The inner iteration reduces the residual of the linearised system by at most ", _MAXQ,
                         " per pass near the solution; that reduction is the forcing term of the inexact Newton iteration, so the error of "
                         "the outer iteration shrinks locally by the local rate per Newton step."]
    else:
        meaning = ["Near the solution the error obeys ", _ERR, ", so it shrinks by at most ", _MAXQ,
                   " over the spectrum per outer iteration: the local rate."]
    note = ["Meaning as recorded in the analysis: \u201c", str(lin["meaning"]).rstrip("."), ".\u201d"] if lin.get("meaning") else []
    return {"how": how, "eigenvalues": eig_text, "rows": rows, "meaning": meaning, "note": note,
            "figure": "linearisation" if "linearisation" in figures else None}


def build_newton(a: dict[str, Any]) -> dict[str, Any] | None:
    nl = nonlinear_data(a)
    comp = (nl or {}).get("comparison") or {}
    settings = [s for s in ("in_distribution", "out_of_distribution") if comp.get(s)]
    if not settings:
        return None
    fam = nl.get("family") or {}
    tables = []
    for s in settings:
        c = comp[s]
        ev = c.get("evaluations") or {}
        med = c.get("median_evaluations") or {}
        succ = c.get("success") or {}
        wall = c.get("wall_time_s") or {}
        rows = []
        for m in [m for m in ("learned", "newton_krylov", "newton_direct") if m in med or m in ev] + [m for m in med if m not in ("learned", "newton_krylov", "newton_direct")]:
            n_inst = c.get("newton_direct_instances") if m == "newton_direct" else c.get("instances")
            if n_inst is None:
                n_inst = len(ev.get(m) or [])
            ratio: Math | str | None
            if m == "learned":
                ratio = _ratio_math(c["median_ratio_learned_to_newton_krylov"]) if c.get("median_ratio_learned_to_newton_krylov") is not None else None
            elif m == "newton_krylov":
                ratio = "reference"
            else:
                ratio = None
            rows.append({"label": method_label(m, str(a.get("name", "method"))), "ref": m == "newton_krylov", "instances": n_inst,
                         "success": f"{succ.get(m, 0)} of {n_inst}", "median": count_math(med.get(m)),
                         "ratio": ratio, "jacobians": count_math(c.get("newton_direct_jacobians_median")) if m == "newton_direct" and c.get("newton_direct_jacobians_median") is not None else None,
                         "wall": sci(wall.get(m), 3) if wall.get(m) is not None else None})
        label = "In distribution" if s == "in_distribution" else "Out of distribution"
        tables.append({"key": s, "label": label, "ranges": _setting_ranges(fam, s), "tol": sci(c.get("tol"), 2), "rows": rows,
                       "rejections": c.get("safeguard_rejections"), "sentence": _nl_comparison_sentence(nl, s)})
    tol = (comp.get(settings[0]) or {}).get("tol")
    intro: Rich = ["Residual evaluations to reach ", _normF_le(tol), " (2-norm) from the same starting points, per method: one per evaluation of F and one per "
                   "Jacobian-vector product (what a finite-difference product costs); Newton with a direct solve also counts ",
                   f"{fam.get('size', 'm')} evaluations per finite-difference Jacobian. SciPy's ", Code("newton_krylov"),
                   " runs at its defaults. Median ratio: the median over instances of the per-instance ratio learned / newton_krylov "
                   "(below 1: the learned iteration needs fewer evaluations). Jacobians: the median number of finite-difference Jacobians "
                   "of Newton with a direct solve. Wall times (s) are totals over the instances each method ran."]
    return {"intro": intro, "tables": tables}


# ================================================================== training objective and fallbacks
def training_objective(a: dict[str, Any]) -> Rich:
    """A sentence on the training loss of a solver kind (empty for other kinds)."""
    cfg = ((a.get("provenance") or {}).get("config") or {})
    st = a.get("structure") or {}
    K = st.get("outer")
    if a.get("kind") == "krylov":
        lin = cfg.get("linear") or {}
        obj = lin.get("objective") or st.get("objective") or ((a.get("training") or {}).get("objective"))
        samples = lin.get("samples")
        over = f" over {samples} training systems" if samples else ""
        if obj == "residual":
            w = lin.get("weight_base", 4)
            out: Rich = [f" The loss is the residual objective: the mean{over} of ",
                         Math(r"\sum_{k=1}^{K} w_k \|r_k\|^2", "<mrow><munderover><mo movablelimits=\"true\">&#x2211;</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>K</mi></munderover>"
                              "<msub><mi>w</mi><mi>k</mi></msub><mo>&#x2062;</mo><msup>" + _norm("<msub><mi>r</mi><mi>k</mi></msub>") + "<mn>2</mn></msup></mrow>")]
            if lin.get("weights"):
                out += [" with the weights ", Code(str(list(lin["weights"])))]
            else:
                out += [" with ", Math(f"w_k = {fnum(w):g}^k", f"<mrow><msub><mi>w</mi><mi>k</mi></msub><mo>=</mo><msup><mn>{fnum(w):g}</mn><mi>k</mi></msup></mrow>")]
            if K:
                out += [", ", Math(f"K = {K}", f"<mrow><mi>K</mi><mo>=</mo><mn>{K}</mn></mrow>"), " outer iterations"]
            out += [" and ", Math(r"\|r_0\| = 1", "<mrow>" + _norm("<msub><mi>r</mi><mn>0</mn></msub>") + "<mo>=</mo><mn>1</mn></mrow>"), "."]
            return out
        if obj == "minimax":
            M = lin.get("minimax_outer") or st.get("minimax_outer")
            tau = lin.get("temperature")
            out = [" The loss is the minimax objective: a soft maximum (log-sum-exp"]
            if tau is not None:
                out += [" at temperature ", Math(rf"\tau = {fnum(tau):g}", f"<mrow><mi>&#x3c4;</mi><mo>=</mo><mn>{fnum(tau):g}</mn></mrow>")]
            out += [f"){over} of the residual reduction factor per outer iteration", f" over {M} outer iterations" if M else "",
                    ", a smooth stand-in for ", _MAXQ, " over the spectrum."]
            return out
        if obj == "spectral":
            grid = lin.get("grid")
            return [" The loss is the spectral objective: a soft maximum of ", _ABSQ, f" over {grid} points of the spectral interval" if grid else " over the spectral interval",
                    " (or over the known eigenvalues for a complex spectrum)."]
        return [f" The loss is the {obj} objective."] if obj else []
    if a.get("kind") == "newton-krylov":
        opts = st.get("options") or cfg.get("nonlinear") or {}
        samples = opts.get("samples")
        w = opts.get("weight_base", 4)
        out = [" The loss is the mean" + (f" over {samples} training problems" if samples else "") + " of ",
               Math(r"\sum_{k=1}^{K} w^k \|F(x_k)\|^2 / \|F(x_0)\|^2",
                    "<mrow><munderover><mo movablelimits=\"true\">&#x2211;</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>K</mi></munderover><msup><mi>w</mi><mi>k</mi></msup>"
                    "<mo>&#x2062;</mo><msup>" + _norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>)</mo></mrow>") + "<mn>2</mn></msup>"
                    '<mo lspace="0" rspace="0">/</mo><msup>' + _norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mn>0</mn></msub><mo>)</mo></mrow>") + "<mn>2</mn></msup></mrow>"),
               " with ", Math(f"w = {fnum(w):g}", f"<mrow><mi>w</mi><mo>=</mo><mn>{fnum(w):g}</mn></mrow>")]
        if K:
            out += [" and ", Math(f"K = {K}", f"<mrow><mi>K</mi><mo>=</mo><mn>{K}</mn></mrow>"), " outer iterations"]
        out.append(".")
        return out
    return []


def generic_solver_line(a: dict[str, Any]) -> Rich | None:
    """For a solver kind whose own section is missing from the analysis: what the order of
    its tableau means (instead of the generic order line)."""
    kind = a.get("kind")
    if kind not in ("krylov", "newton-krylov"):
        return None
    what = "linear" if kind == "krylov" else "nonlinear"
    return [f"This {what}-solver analysis has no \u201c{'krylov' if kind == 'krylov' else 'nonlinear'}\u201d section, so only shared sections follow. "
            f"Viewed as an explicit Runge\u2013Kutta method its tableau has order {a.get('order')!s} (tolerance ", sci(a.get("tol"), 2),
            "), which says nothing about it as a solver."]
