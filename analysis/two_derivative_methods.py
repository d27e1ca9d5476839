"""Two-derivative Runge-Kutta methods: stage patterns, a small catalogue, identification,
stage order, error coefficients and the elementary-weight formulas.

A stage of a two-derivative method evaluates ``f`` (token ``"f"``), the second derivative
``g = f'(y) f(y)`` (``"g"``) or both (``"fg"``); the *pattern* lists one token per stage.
Stage ``j`` has f-weights (column ``j`` of ``A`` and ``b_j``) only if it evaluates ``f``, and
g-weights (column ``j`` of ``A2`` and ``b2_j``) only if it evaluates ``g``.

The elementary weight of a tree expands, through the recursion of
:mod:`analysis.two_derivative` (``d(u o v) = d(u) P(v)``, ``e(u o v) = e(u) P(v) + d(u) d(v)``,
``P(v) = A d(v) + A2 e(v)``), into sums over indices of products of ``a_ij`` and ``\\hat a_ij``
(the entries of ``A2``), ending in the nodes ``c_i = sum_j a_ij`` and ``\\hat c_i = sum_j \\hat a_ij``
and weighted by ``b_i`` or ``\\hat b_i`` (``b2``), in the notation of Chan & Tsai (2010), e.g.
``Phi([tau]) = sum_i b_i c_i + sum_i \\hat b_i``.

Imports numpy, sympy and :mod:`analysis.two_derivative`, :mod:`analysis.rooted_trees`,
:mod:`analysis.numbers`, :mod:`analysis.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .errors import AnalysisInputError
from .rooted_trees import tree_table
from .two_derivative import TwoDerivativeTableau, two_derivative_residuals

__all__ = ["DERIVATIVE_TOKENS", "normalise_pattern", "pattern_of", "pattern_masks", "two_derivative_catalogue",
           "get_two_derivative_method", "TwoDerivativeIdentification", "identify_two_derivative", "two_derivative_stage_order",
           "two_derivative_error_coefficients", "two_derivative_principal_error", "two_derivative_weight_formula",
           "two_derivative_weight_terms", "evaluate_weight_terms"]

#: What one stage evaluates: f only, g = f'(y) f(y) only, or both.
DERIVATIVE_TOKENS = ("f", "g", "fg")


def normalise_pattern(value: Any, stages: int, where: str = "derivatives") -> tuple[str, ...] | None:
    """The per-stage pattern of a configuration value.

    ``None`` or ``"none"``: no derivative module (ordinary Runge-Kutta, returns None);
    ``"g"``: every stage evaluates f and g; a list of ``stages`` tokens from
    :data:`DERIVATIVE_TOKENS` (a list of only ``"f"`` is the ordinary method: None). At least
    one stage must evaluate f (order 1 needs ``sum b = 1``).
    """
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    if isinstance(value, str):
        if value in ("g", "fg"):
            return ("fg",) * stages
        raise AnalysisInputError(f"{where} must be \"none\", \"g\" or a list of {stages} stage tokens from f, g, fg; got {value!r}")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise AnalysisInputError(f"{where} must be \"none\", \"g\" or a list of stage tokens (f, g, fg); got {value!r}")
    bad = [v for v in value if v not in DERIVATIVE_TOKENS]
    if bad:
        raise AnalysisInputError(f"{where}: unknown stage token {bad[0]!r} (use f, g or fg)")
    if len(value) != stages:
        raise AnalysisInputError(f"{where} lists {len(value)} stage{'s' if len(value) != 1 else ''}, the model has {stages} (one token per stage)")
    pattern = tuple(value)
    if all(v == "f" for v in pattern):
        return None
    if not any("f" in v for v in pattern):
        raise AnalysisInputError(f"{where}: no stage evaluates f; at least one must (order 1 needs sum b = 1)")
    return pattern


def pattern_of(t: TwoDerivativeTableau) -> tuple[str, ...]:
    """The pattern a tableau uses: stage j evaluates f when column j of A or b_j is nonzero,
    g when column j of A2 or b2_j is; a stage with no weight at all counts as ``"f"``."""
    out = []
    for j in range(t.stages):
        uf = bool(np.any(t.A[:, j] != 0) or t.b[j] != 0)
        ug = bool(np.any(t.A2[:, j] != 0) or t.b2[j] != 0)
        out.append("fg" if uf and ug else "g" if ug else "f")
    return tuple(out)


def pattern_masks(pattern: Sequence[str], explicit: bool = True) -> dict[str, np.ndarray]:
    """Which entries of ``A``, ``b``, ``A2``, ``b2`` are free for a pattern (boolean arrays):
    strictly lower triangular (explicit) or full, in the columns of the stages that evaluate
    f (``A``, ``b``) or g (``A2``, ``b2``)."""
    s = len(pattern)
    uses_f = np.array(["f" in p for p in pattern])
    uses_g = np.array(["g" in p for p in pattern])
    tri = np.tril(np.ones((s, s), dtype=bool), -1) if explicit else np.ones((s, s), dtype=bool)
    return {"A": tri & uses_f[None, :], "b": uses_f.copy(), "A2": tri & uses_g[None, :], "b2": uses_g.copy()}


# ----------------------------------------------------------------------------- catalogue
_CATALOGUE: dict[str, dict[str, Any]] = {
    "Taylor2": {"A": [[0]], "b": [1], "A2": [[0]], "b2": ["1/2"], "order": 2, "aliases": ("taylor",),
                "reference": "the second-order Taylor series method y + h f + h^2/2 g"},
    "ChanTsai4": {"A": [[0, 0], ["1/2", 0]], "b": [1, 0], "A2": [[0, 0], ["1/8", 0]], "b2": ["1/6", "1/3"], "order": 4,
                  "aliases": ("TDRK4", "TDRK2-4"),
                  "reference": "R. P. K. Chan, A. Y. J. Tsai, On explicit two-derivative Runge-Kutta methods, Numer. Algor. 53 (2010): "
                               "the 2-stage method of order 4"},
    "ChanTsai5": {"A": [[0, 0, 0], ["2/5", 0, 0], [1, 0, 0]], "b": [1, 0, 0],
                  "A2": [[0, 0, 0], ["2/25", 0, 0], ["-1/4", "3/4", 0]], "b2": ["1/8", "25/72", "1/36"], "order": 5,
                  "aliases": ("TDRK5", "TDRK3-5"),
                  "reference": "R. P. K. Chan, A. Y. J. Tsai, On explicit two-derivative Runge-Kutta methods, Numer. Algor. 53 (2010): "
                               "the 3-stage method of order 5"},
}


@lru_cache(maxsize=1)
def two_derivative_catalogue() -> dict[str, tuple[TwoDerivativeTableau, int, str, tuple[str, ...]]]:
    """Published two-derivative methods: name -> (exact tableau, order, reference, aliases)."""
    out = {}
    for name, d in _CATALOGUE.items():
        t = TwoDerivativeTableau(d["A"], d["b"], d["A2"], d["b2"], name=name)
        out[name] = (t, int(d["order"]), str(d["reference"]), tuple(d["aliases"]))
    return out


def _norm(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def get_two_derivative_method(name: str) -> TwoDerivativeTableau:
    """A catalogue method by name or alias (case-insensitive), e.g. ``"ChanTsai4"``, ``"TDRK4"``."""
    key = _norm(name)
    for n, (t, _, _, aliases) in two_derivative_catalogue().items():
        if _norm(n) == key or any(_norm(a) == key for a in aliases):
            return t
    raise AnalysisInputError(f"unknown two-derivative method {name!r}; known: {', '.join(two_derivative_catalogue())}")


@dataclass(frozen=True)
class TwoDerivativeIdentification:
    """The catalogue method a tableau is (``kind = "method"``, within ``tol``), else None,
    with the nearest catalogue method of the same number of stages and the largest
    coefficient difference to it."""

    name: str | None
    kind: str | None
    closest: str | None
    distance: float | None

    def to_json(self) -> dict[str, Any]:
        return {"identified_as": self.name, "kind": self.kind, "closest": self.closest, "distance": self.distance,
                "family": None, "parameters": {}}


def identify_two_derivative(t: TwoDerivativeTableau, tol: float = 1e-10) -> TwoDerivativeIdentification:
    closest, dist = None, None
    for name, (ref, _, _, _) in two_derivative_catalogue().items():
        if ref.stages != t.stages:
            continue
        d = max(float(np.max(np.abs(getattr(t, k) - getattr(ref, k)))) for k in ("A", "b", "A2", "b2"))
        if dist is None or d < dist:
            closest, dist = name, d
    if closest is not None and dist is not None and dist <= tol:
        return TwoDerivativeIdentification(closest, "method", closest, dist)
    return TwoDerivativeIdentification(None, None, closest, dist)


# ----------------------------------------------------------------------------- stage order, errors
def two_derivative_stage_order(t: TwoDerivativeTableau, tol: float | None = None) -> int:
    """Largest ``q`` with ``C(q)``: ``sum_j a_ij c_j^(k-1) + (k-1) sum_j \\hat a_ij c_j^(k-2) = c_i^k / k``
    for ``k = 1..q`` (each stage exact on ``y' = t^(k-1)``; checked exactly for exact
    tableaux). At most ``2 s + 1`` is tested."""
    s = t.stages
    top = 2 * s + 1
    if t.exact is not None and tol is None:
        A, A2 = sp.Matrix(t.exact["A"]), sp.Matrix(t.exact["A2"])
        c = A * sp.ones(s, 1)
        q = 0
        for k in range(1, top + 1):
            lhs = A * c.applyfunc(lambda x: x ** (k - 1))
            if k >= 2:
                lhs = lhs + (k - 1) * A2 * c.applyfunc(lambda x: x ** (k - 2))
            if any(sp.simplify(lhs[i] - c[i] ** k / k) != 0 for i in range(s)):
                break
            q = k
        return q
    A, A2, c = t.A, t.A2, t.c
    tt = 1e-12 * max(1.0, float(np.abs(A).max()), float(np.abs(A2).max())) if tol is None else tol
    q = 0
    for k in range(1, top + 1):
        lhs = A @ c ** (k - 1) + ((k - 1) * (A2 @ c ** (k - 2)) if k >= 2 else 0.0)
        if np.max(np.abs(lhs - c**k / k)) > tt:
            break
        q = k
    return q


def two_derivative_error_coefficients(t: TwoDerivativeTableau, n: int) -> list[float]:
    """``tau(t) = (Phi(t) - 1/gamma(t)) / sigma(t)`` (float64) for the trees of order ``n``."""
    tab = tree_table(n)
    sl = tab.of_order(n)
    res = two_derivative_residuals(t, n, exact=False)[sl]
    return [float(r) / s for r, s in zip(res, tab.sigma[sl])]


def two_derivative_principal_error(t: TwoDerivativeTableau, order: int) -> float:
    """``||tau||_2`` over the trees of order ``order + 1``."""
    taus = np.array(two_derivative_error_coefficients(t, order + 1))
    return float(np.sqrt(np.sum(taus**2)))


# ----------------------------------------------------------------------------- weight formulas
# A stage polynomial maps monomials to integer coefficients. A monomial is a sorted tuple of
# factors; a factor ("a" or "h", monomial) stands for sum_j a_ij (resp. \hat a_ij) times the
# monomial at stage j ("h" for the entries of A2). The empty monomial is the vector of ones.
_Poly = dict  # monomial -> int


def _mul(p: _Poly, q: _Poly) -> _Poly:
    out: _Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            m = tuple(sorted(m1 + m2))
            out[m] = out.get(m, 0) + c1 * c2
    return {m: c for m, c in out.items() if c}


def _add(p: _Poly, q: _Poly) -> _Poly:
    out = dict(p)
    for m, c in q.items():
        out[m] = out.get(m, 0) + c
    return {m: c for m, c in out.items() if c}


@lru_cache(maxsize=8)
def _expansions(max_order: int) -> tuple[tuple[tuple[tuple[str, tuple], int], ...], ...]:
    """For every tree up to ``max_order`` (order of :func:`tree_table`): the terms
    ``((weight, monomial), coefficient)`` of Phi, weight ``"b"`` or ``"h"`` (b2)."""
    tab = tree_table(max_order)
    N = tab.offsets[max_order + 1]
    D: list[_Poly] = []
    E: list[_Poly] = []
    P: list[_Poly] = []
    out = []
    for i in range(N):
        if i == 0:
            d, e = {(): 1}, {}
        else:
            u, v = int(tab.left[i]), int(tab.right[i])
            d = _mul(D[u], P[v])
            e = _add(_mul(E[u], P[v]), _mul(D[u], D[v]))
        D.append(d)
        E.append(e)
        P.append(_add({(("a", m),): c for m, c in d.items()}, {(("h", m),): c for m, c in e.items()}))
        terms = [(("b", m), c) for m, c in sorted(d.items(), key=lambda mc: repr(mc[0]))]
        terms += [(("h", m), c) for m, c in sorted(e.items(), key=lambda mc: repr(mc[0]))]
        out.append(tuple(terms))
    return tuple(out)


_LETTERS = "ijklmnopqrstuvwxyz"


def _term_latex(weight: str, mono: tuple, coef: int) -> str:
    letters = iter(_LETTERS)
    used: list[str] = []

    def sym(base: str, hat: bool, sub: str) -> str:
        b = f"\\hat {base}" if hat else base
        return f"{b}_{{{sub}}}" if len(sub) > 1 else f"{b}_{sub}"

    def node(m: tuple, idx: str) -> list[str]:
        fac: list[str] = []
        leaves: dict[str, int] = {}
        for kind, child in m:
            if not child:
                leaves[kind] = leaves.get(kind, 0) + 1
        for kind in ("a", "h"):
            if kind in leaves:
                k = leaves[kind]
                fac.append(sym("c", kind == "h", idx) + (f"^{k}" if k > 1 else ""))
        for kind, child in m:
            if child:
                j = next(letters)
                used.append(j)
                fac.append(sym("a", kind == "h", idx + j))
                fac += node(child, j)
        return fac

    i = next(letters)
    used.append(i)
    factors = [sym("b", weight == "h", i)] + node(mono, i)
    head = f"{coef} " if coef != 1 else ""
    return head + f"\\sum_{{{','.join(used)}}} " + " ".join(factors)


def two_derivative_weight_terms(max_order: int) -> list[list[tuple[str, int]]]:
    """For every tree up to ``max_order``: the LaTeX of each term of Phi(t) and its integer
    coefficient (e.g. ``[("\\\\sum_{i} b_i c_i", 1), ("\\\\sum_{i} \\\\hat b_i", 1)]`` for [tau])."""
    out = []
    for terms in _expansions(max_order):
        out.append([(_term_latex(w, m, 1), c) for (w, m), c in terms])
    return out


def two_derivative_weight_formula(max_order: int) -> list[str]:
    """Phi(t) of every tree up to ``max_order`` as one LaTeX sum of terms joined by ``" + "``
    (coefficients as integer prefixes: ``"2 \\\\sum_{i} \\\\hat b_i c_i"``)."""
    out = []
    for terms in _expansions(max_order):
        out.append(" + ".join(_term_latex(w, m, c) for (w, m), c in terms))
    return out


def evaluate_weight_terms(t: TwoDerivativeTableau, max_order: int) -> list[float]:
    """Phi(t) from the expanded formulas (float64): an independent check of the recursion."""
    A, A2, b, b2 = t.A, t.A2, t.b, t.b2

    def vec(m: tuple) -> np.ndarray:
        v = np.ones(t.stages)
        for kind, child in m:
            v = v * ((A if kind == "a" else A2) @ vec(child))
        return v

    return [float(sum(c * ((b if w == "b" else b2) @ vec(m)) for (w, m), c in terms)) for terms in _expansions(max_order)]
