"""Local order of convergence of learned Newton-type iterations for ``F(x) = 0``.

The iterations are those of :mod:`algodiscover.nonlinear_jvp`: per outer step, inner
evaluations of two kinds (the *stage pattern*, one token per stage)::

    z_j = x + h sum_{l<j} W[j, l] v_l
    "F"    v_j = -F(z_j)
    "jvp"  v_j = J(z_j) v_{j-1}       (exact forward-mode Jacobian-vector product along the
                                       previous stage value; stage 1 is always v_1 = -F(x))
    s   = h sum_j b[j] v_j

and the step ``x <- x + s`` (step length ``"learned"``) or ``x <- x + alpha s`` with the
minimal-residual length ``alpha = <v_1, u> / <u, u>``, ``u = J(x) s`` (one more JVP; step
length ``"minimal-residual"``), which minimises ``||F(x) + alpha J(x) s||`` over alpha.

For a scalar equation ``F(x* + e) = a_1 e + a_2 e^2 + ...`` the error map
``e -> e_+`` is a power series in e; :func:`predicted_scalar_order` computes it in exact
rational arithmetic (the weights, floats, are converted exactly) and gives the predicted
order: the degree of its first nonzero coefficient. With generic coefficients (the default,
:data:`GENERIC_TAYLOR`) that is the order for every smooth F with a simple root; with the
coefficients of a particular F (floats) that of that F. The one-stage pattern ``["F"]`` with
the minimal-residual step is Newton's method on scalars (``alpha s = -F / F'``): order 2.

:func:`measured_order` estimates the order from a residual history (the computational order
``log(r_{k+1}/r_k) / log(r_k/r_{k-1})`` on the last three residuals above a floor) and
:func:`local_factor` the last contraction ``r_{k+1}/r_k``; :func:`factor_summary` summarises
them over instances (median, worst and where). :func:`pseudocode` writes the iteration.

Torch-free: numbers, :mod:`fractions` and the standard library only.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

from .errors import AnalysisInputError

__all__ = [
    "NONLINEAR_TOKENS",
    "STEP_LENGTHS",
    "GENERIC_TAYLOR",
    "is_nonlinear_pattern",
    "normalise_nonlinear_pattern",
    "evaluation_cost",
    "predicted_scalar_order",
    "measured_order",
    "local_factor",
    "factor_summary",
    "pseudocode",
]

NONLINEAR_TOKENS = ("F", "jvp")
STEP_LENGTHS = ("learned", "minimal-residual")
#: Taylor coefficients a_1..a_8 of a "generic" scalar F at a simple root (no accidental
#: cancellation with simple weights such as 1/2 or 1).
GENERIC_TAYLOR = (Fraction(7, 5), Fraction(1, 3), Fraction(-2, 7), Fraction(3, 11), Fraction(-5, 13), Fraction(7, 17),
                  Fraction(-11, 19), Fraction(13, 23))


def is_nonlinear_pattern(value: Any) -> bool:
    """Whether a ``[model] derivatives`` value is a nonlinear pattern (tokens F / jvp, or
    the shorthand ``"jvp"``) rather than an ODE one (f / g / fg)."""
    if isinstance(value, str):
        return value == "jvp"
    return isinstance(value, (list, tuple)) and any(v in NONLINEAR_TOKENS for v in value)


def normalise_nonlinear_pattern(value: Any, stages: int, where: str = "model.derivatives") -> tuple[str, ...] | None:
    """The stage pattern of a nonlinear iteration: ``"jvp"`` means ``["F", "jvp", ...]``
    (a Krylov chain at x); a list holds one token per stage from :data:`NONLINEAR_TOKENS`,
    the first ``"F"`` (``v_1 = -F(x)``). A list of only ``"F"`` tokens is kept: with the
    minimal-residual step length its one JVP is the step length's (``["F"]``: Newton on scalars)."""
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    if isinstance(value, str):
        if value != "jvp":
            raise AnalysisInputError(f"{where} must be \"none\", \"jvp\" or a list of {stages} stage tokens from F, jvp; got {value!r}")
        return ("F",) + ("jvp",) * (stages - 1)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise AnalysisInputError(f"{where} must be \"none\", \"jvp\" or a list of stage tokens (F, jvp); got {value!r}")
    bad = [v for v in value if v not in NONLINEAR_TOKENS]
    if bad:
        raise AnalysisInputError(f"{where}: unknown stage token {bad[0]!r} for a nonlinear system (use F or jvp)")
    if len(value) != stages:
        raise AnalysisInputError(f"{where} lists {len(value)} stage{'s' if len(value) != 1 else ''}, the model has {stages} (one token per stage)")
    if value[0] != "F":
        raise AnalysisInputError(f"{where}: the first stage must be \"F\" (v_1 = -F(x); a jvp stage takes the previous stage value as its direction)")
    return tuple(value)


def evaluation_cost(pattern: Sequence[str], step_length: str, jvp_in_F: float) -> float:
    """F-evaluation equivalents per outer step: one per F stage (v_1 = -F(x) included: it is the
    residual of the previous step's acceptance test), ``jvp_in_F`` per JVP stage and per
    minimal-residual step length."""
    n_jvp = sum(1 for t in pattern if t == "jvp") + (1 if step_length == "minimal-residual" else 0)
    return float(sum(1 for t in pattern if t == "F") + n_jvp * jvp_in_F)


# ----------------------------------------------------------------------------- power series
class _Series:
    """A truncated power series in e with exact rational coefficients ``c[0..N]``."""

    __slots__ = ("c",)

    def __init__(self, c: Sequence[Fraction]) -> None:
        self.c = list(c)

    @property
    def N(self) -> int:
        return len(self.c) - 1

    def __add__(self, o: "_Series") -> "_Series":
        return _Series([a + b for a, b in zip(self.c, o.c)])

    def __sub__(self, o: "_Series") -> "_Series":
        return _Series([a - b for a, b in zip(self.c, o.c)])

    def scale(self, s: Fraction) -> "_Series":
        return _Series([s * a for a in self.c])

    def __mul__(self, o: "_Series") -> "_Series":
        N = self.N
        out = [Fraction(0)] * (N + 1)
        for i, a in enumerate(self.c):
            if a:
                for j in range(N + 1 - i):
                    if o.c[j]:
                        out[i + j] += a * o.c[j]
        return _Series(out)

    def valuation(self) -> int | None:
        return next((k for k, a in enumerate(self.c) if a != 0), None)


def _zero(N: int) -> _Series:
    return _Series([Fraction(0)] * (N + 1))


def _apply_taylor(a: Sequence[Fraction], z: _Series, derivative: bool) -> _Series:
    """``F(x* + z) = sum_k a_k z^k`` or ``F'(x* + z) = sum_k k a_k z^(k-1)`` (z(0) = 0)."""
    N = z.N
    out = _zero(N)
    power = _Series([Fraction(1)] + [Fraction(0)] * N)
    coeffs = [(k + 1) * a[k] for k in range(len(a))] if derivative else [Fraction(0)] + list(a)
    for k, ck in enumerate(coeffs):
        if k > N:
            break
        if ck:
            out = out + power.scale(ck)
        power = power * z
    return out


def _divide(num: _Series, den: _Series) -> _Series:
    """``num / den`` for series of equal valuation v (the quotient has a constant term); the
    result is exact to order ``N - v``, padded with zeros."""
    v = den.valuation()
    if v is None:
        raise AnalysisInputError("the minimal-residual step divides by J(x) s = 0 near the root (the direction vanishes to all orders)")
    N = den.N
    d = den.c[v:] + [Fraction(0)] * v
    n = num.c[v:] + [Fraction(0)] * v if all(c == 0 for c in num.c[:v]) else None
    if n is None:
        raise AnalysisInputError("the minimal-residual step length is unbounded near the root")
    q = [Fraction(0)] * (N + 1)
    for k in range(N + 1 - v):
        q[k] = (n[k] - sum(q[i] * d[k - i] for i in range(k))) / d[0]
    return _Series(q)


def _exact(x: Any) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    xf = float(x)
    if not math.isfinite(xf):
        raise AnalysisInputError(f"weight {x!r} is not finite")
    return Fraction(xf)


def predicted_scalar_order(pattern: Sequence[str], W: Sequence[Sequence[Any]], b: Sequence[Any], h: Any, step_length: str = "learned",
                           *, taylor: Sequence[Any] | None = None, terms: int = 6) -> dict[str, Any]:
    """The error map ``e_+ = sum_k c_k e^k`` of one outer step on a scalar equation with
    Taylor coefficients ``taylor`` (a_1, a_2, ...; default :data:`GENERIC_TAYLOR`), through
    ``e^terms``, in exact arithmetic. Returns the predicted order (the first k with c_k != 0;
    None when every computed coefficient vanishes: order > terms), the leading coefficient and
    all coefficients (as floats); ``local_factor`` is ``|c_1|`` (0 for order >= 2)."""
    pattern = tuple(pattern)
    n = len(pattern)
    if n == 0 or pattern[0] != "F" or any(t not in NONLINEAR_TOKENS for t in pattern):
        raise AnalysisInputError(f"pattern must start with F and use the tokens F, jvp; got {list(pattern)}")
    if step_length not in STEP_LENGTHS:
        raise AnalysisInputError(f"step length must be one of {', '.join(STEP_LENGTHS)}, got {step_length!r}")
    if len(b) != n or len(W) != n or any(len(row) != n for row in W):
        raise AnalysisInputError(f"W must be {n} x {n} and b of length {n}")
    a = [_exact(v) for v in (taylor if taylor is not None else GENERIC_TAYLOR)]
    if not a or a[0] == 0:
        raise AnalysisInputError("the root must be simple (a_1 = F'(x*) != 0)")
    N = int(terms) + 2  # spare orders for the division of the minimal-residual step
    Wq = [[_exact(w) for w in row] for row in W]
    bq = [_exact(v) for v in b]
    hq = _exact(h)
    e = _Series([Fraction(0), Fraction(1)] + [Fraction(0)] * (N - 1))
    vs: list[_Series] = []
    for j, tok in enumerate(pattern):
        z = e
        for l in range(j):
            if Wq[j][l]:
                z = z + vs[l].scale(hq * Wq[j][l])
        if tok == "F":
            vs.append(_apply_taylor(a, z, False).scale(Fraction(-1)))
        else:
            vs.append(_apply_taylor(a, z, True) * vs[j - 1])
    s = _zero(N)
    for j in range(n):
        if bq[j]:
            s = s + vs[j].scale(hq * bq[j])
    if step_length == "minimal-residual":
        u = _apply_taylor(a, e, True) * s
        alpha = _divide(vs[0], u)  # scalar: <v1, u>/<u, u> = v1 / u
        e_new = e + alpha * s
        exact_to = N - (u.valuation() or 0)
    else:
        e_new = e + s
        exact_to = N
    upto = min(int(terms), exact_to)
    coeffs = e_new.c[:upto + 1]
    order = next((k for k in range(1, upto + 1) if coeffs[k] != 0), None)
    return {
        "order": order,
        "leading_coefficient": float(coeffs[order]) if order is not None else 0.0,
        "coefficients": [float(c) for c in coeffs],
        "local_factor": abs(float(coeffs[1])) if len(coeffs) > 1 else 0.0,
        "terms": upto,
        "taylor": "generic" if taylor is None else "given",
        "taylor_coefficients": [float(v) for v in a],
        "step_length": step_length,
        "meaning": ("e_+ = sum_k c_k e^k for one outer step on a scalar F(x* + e) = sum_k a_k e^k, exact rational arithmetic "
                    "(float weights converted exactly); the predicted order is the first k with c_k != 0"),
    }


# ----------------------------------------------------------------------------- measured order
def _clean(history: Sequence[float], floor: float) -> list[float]:
    out = []
    for r in history:
        r = float(r)
        if not math.isfinite(r) or r <= floor:
            break
        out.append(r)
    return out


def measured_order(history: Sequence[float], *, floor: float = 1e-13) -> dict[str, Any]:
    """Computational order of convergence from residual norms ``r_0, r_1, ...``:
    ``p_k = log(r_{k+1}/r_k) / log(r_k/r_{k-1})`` on consecutive triples of contracting residuals
    above ``floor`` (round-off); ``order`` is the last estimate (None with fewer than three
    usable residuals), ``estimates`` all of them."""
    r = _clean(history, floor)
    est: list[float] = []
    for k in range(1, len(r) - 1):
        q0, q1 = r[k] / r[k - 1], r[k + 1] / r[k]
        if 0 < q0 < 1 and 0 < q1 < 1:
            est.append(math.log(q1) / math.log(q0))
    return {"order": est[-1] if est else None, "estimates": est, "residuals_used": len(r), "floor": floor}


def local_factor(history: Sequence[float], *, floor: float = 1e-13) -> float | None:
    """The last contraction ``r_{k+1}/r_k`` of residuals above ``floor`` (None: fewer than two)."""
    r = _clean(history, floor)
    return r[-1] / r[-2] if len(r) >= 2 else None


def factor_summary(values: Sequence[float | None], params: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Median and worst (largest) of per-instance factors or orders, with where the worst is;
    instances without a value are counted, not used."""
    pairs = [(float(v), p) for v, p in zip(values, params) if v is not None and math.isfinite(float(v))]
    if not pairs:
        return {"median": None, "worst": None, "worst_params": None, "instances": 0, "missing": len(values)}
    vals = sorted(v for v, _ in pairs)
    m = len(vals)
    med = vals[m // 2] if m % 2 else 0.5 * (vals[m // 2 - 1] + vals[m // 2])
    worst_v, worst_p = max(pairs, key=lambda t: t[0])
    return {"median": med, "worst": worst_v, "worst_params": dict(worst_p), "instances": m, "missing": len(values) - m}


def pseudocode(pattern: Sequence[str], W: Sequence[Sequence[float]], b: Sequence[float], h: float, step_length: str) -> str:
    """The iteration as readable pseudocode (weights to 6 significant digits)."""
    n = len(pattern)

    def combo(coeffs: Sequence[float], count: int) -> str:
        return " + ".join(f"{float(coeffs[l]):.6g} v{l + 1}" for l in range(count) if abs(float(coeffs[l])) > 1e-12)

    lines = ["repeat until ||F(x)|| <= tol:", "  v1 = -F(x)"]
    for j in range(1, n):
        c = combo(W[j], j)
        z = f"x + h ({c})" if c else "x"
        lines.append(f"  v{j + 1} = -F({z})" if pattern[j] == "F" else f"  v{j + 1} = J({z}) v{j}      (exact forward-mode JVP)")
    lines.append(f"  s = h ({combo(b, n) or '0'})      with h = {float(h):.6g}")
    if step_length == "minimal-residual":
        lines += ["  u = J(x) s                      (exact forward-mode JVP)",
                  "  alpha = <v1, u> / <u, u>        (minimises ||F(x) + alpha J(x) s||)",
                  "  x = x + alpha s"]
    else:
        lines.append("  x = x + s")
    return "\n".join(lines)
