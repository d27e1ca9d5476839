"""Two-derivative Runge-Kutta methods: tableau, order conditions through any order, stability.

A two-derivative method evaluates ``f`` and its time derivative ``g = f'(y) f(y) = y''``::

    Y_i = y + h sum_j A[i,j] f(Y_j) + h^2 sum_j A2[i,j] g(Y_j)
    y_1 = y + h sum_i b[i] f(Y_i) + h^2 sum_i b2[i] g(Y_i)

Order conditions follow from B-series. With ``Y_i = B(Phi_i, y)``, ``h f(Y_i)`` has the
coefficients ``d_i(t) = prod_k Phi_i(t_k)`` over the root's children ``t_k``, and ``h^2 g(Y_i)``
(the derivative of ``f(Y_i)`` along ``h f(Y_i)``; ``g`` is the elementary differential of the
tree ``[tau]``) has ``e_i(t) = sum_k d_i(t_k) prod_{l != k} Phi_i(t_l)``. For a Butcher product
``t = u o v`` these become the recursions used here, one vector per tree as for ordinary
tableaux::

    d(tau) = 1, e(tau) = 0,  P(v) = A d(v) + A2 e(v)   (the stage coefficients Phi_i(v))
    d(u o v) = d(u) * P(v),  e(u o v) = e(u) * P(v) + d(u) * d(v)
    Phi(t) = b . d(t) + b2 . e(t)

and the method has order ``p`` iff ``Phi(t) = 1/gamma(t)`` for every tree with ``|t| <= p``.
With ``A2 = 0, b2 = 0`` this is the ordinary Runge-Kutta theory. On ``y' = z y`` (``g = z^2 y``)
the stability function is ``R(z) = 1 + (z b + z^2 b2)^T (I - z A - z^2 A2)^{-1} 1``.

Imports numpy, sympy and the tableau, number and tree modules of ``analysis``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import sympy as sp

from .errors import TableauError
from .numbers import exact_domain, format_exact, is_exact, parse_entry, to_float
from .order import DEFAULT_ORDER_CAP, OrderReport
from .rooted_trees import tree_table

__all__ = ["TwoDerivativeTableau", "is_two_derivative", "two_derivative_order", "two_derivative_residuals",
           "two_derivative_stability_function"]

_KEYS = ("A", "b", "A2", "b2")


def is_two_derivative(data: Any) -> bool:
    """True for a tableau mapping with second-derivative coefficients (``A2`` or ``b2``)."""
    return isinstance(data, Mapping) and ("A2" in data or "b2" in data)


@dataclass(frozen=True, eq=False)
class TwoDerivativeTableau:
    """A validated two-derivative tableau ``(A, b, A2, b2)``; entries as for
    :class:`~algodiscover.analysis.ButcherTableau` (numbers or exact strings such as ``"1/8"``).

    After construction the four arrays are read-only float64 views and ``exact`` holds the
    exact entries as a dict of nested tuples (or None when any entry was a float).
    """

    A: Any
    b: Any
    A2: Any
    b2: Any
    name: str | None = None
    exact: dict[str, Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        label = f"tableau {self.name!r}" if self.name else "tableau"
        raw = {"A": self.A, "b": self.b, "A2": self.A2, "b2": self.b2}
        s = len(self.b) if hasattr(self.b, "__len__") else -1
        if s < 1:
            raise TableauError(f"{label}: b must be a non-empty list")
        parsed: dict[str, Any] = {}
        for key in ("A", "A2"):
            rows = raw[key]
            if not (hasattr(rows, "__len__") and len(rows) == s and all(hasattr(r, "__len__") and len(r) == s for r in rows)):
                raise TableauError(f"{label}: {key} must be {s} x {s} (one row and column per entry of b)")
            parsed[key] = tuple(tuple(parse_entry(x, f"{label}: {key}[{i}][{j}]") for j, x in enumerate(r)) for i, r in enumerate(rows))
        for key in ("b", "b2"):
            vec = raw[key]
            if not (hasattr(vec, "__len__") and len(vec) == s):
                raise TableauError(f"{label}: {key} must have {s} entries")
            parsed[key] = tuple(parse_entry(x, f"{label}: {key}[{i}]") for i, x in enumerate(vec))
        flat = [x for k in _KEYS for x in (np.ravel(np.array(parsed[k], dtype=object)))]
        if all(is_exact(x) for x in flat):
            object.__setattr__(self, "exact", parsed)
        for key in _KEYS:
            arr = np.array([[to_float(x) for x in r] for r in parsed[key]] if key in ("A", "A2") else [to_float(x) for x in parsed[key]],
                           dtype=np.float64)
            if not np.all(np.isfinite(arr)):
                raise TableauError(f"{label}: {key} has a non-finite entry")
            arr.setflags(write=False)
            object.__setattr__(self, key, arr)

    @property
    def stages(self) -> int:
        return int(self.b.shape[0])

    @property
    def c(self) -> np.ndarray:
        """Nodes ``A 1``."""
        return self.A.sum(axis=1)

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    @property
    def is_explicit(self) -> bool:
        return bool(np.all(np.triu(self.A) == 0.0) and np.all(np.triu(self.A2) == 0.0))

    @property
    def label(self) -> str:
        return self.name or f"{self.stages}-stage two-derivative tableau"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"A", "b", "A2", "b2"}`` (exact entries as strings)."""
        if self.exact is not None:
            e = self.exact
            d: dict[str, Any] = {k: ([[format_exact(x) for x in r] for r in e[k]] if k in ("A", "A2") else [format_exact(x) for x in e[k]])
                                 for k in _KEYS}
        else:
            d = {k: getattr(self, k).tolist() for k in _KEYS}
        return {"name": self.name, **d} if self.name else d

    @classmethod
    def from_dict(cls, data: Any, source: str = "tableau") -> "TwoDerivativeTableau":
        if not isinstance(data, Mapping):
            raise TableauError(f"{source}: expected a JSON object with keys A, b, A2, b2")
        missing = [k for k in _KEYS if k not in data]
        if missing:
            raise TableauError(f"{source}: a two-derivative tableau needs {', '.join(_KEYS)}; missing {missing[0]!r}")
        unknown = sorted(set(data) - {*_KEYS, "name", "c"})
        if unknown:
            raise TableauError(f"{source}: unknown key {unknown[0]!r} in a two-derivative tableau")
        name = data.get("name")
        return cls(data["A"], data["b"], data["A2"], data["b2"], name=str(name) if name is not None else None)

    def __repr__(self) -> str:
        kind = "exact" if self.is_exact else "float"
        return f"TwoDerivativeTableau(name={self.name!r}, stages={self.stages}, {kind})"


# ----------------------------------------------------------------------------- order conditions
def _weights(t: TwoDerivativeTableau, max_order: int, exact: bool) -> tuple[list[Any], Any]:
    """``Phi(t)`` for every tree of orders 1..max_order (tree order of ``tree_table``), in
    float64 or exactly (elements of the smallest sympy domain), and the domain (None for floats)."""
    tab = tree_table(max_order)
    N = tab.offsets[max_order + 1]
    s = t.stages
    if exact:
        e = t.exact
        assert e is not None
        flat = [x for k in ("A", "A2") for r in e[k] for x in r] + list(e["b"]) + list(e["b2"])
        K, el = exact_domain(flat + [sp.Integer(1)])
        A = [el[i * s:(i + 1) * s] for i in range(s)]
        A2 = [el[s * s + i * s: s * s + (i + 1) * s] for i in range(s)]
        b, b2 = el[2 * s * s: 2 * s * s + s], el[2 * s * s + s: 2 * s * s + 2 * s]
        one, zero = el[-1], K.zero

        def mat(M: list[list[Any]], v: list[Any]) -> list[Any]:
            out = []
            for row in M:
                acc = zero
                for a, x in zip(row, v):
                    if a != zero:
                        acc = acc + a * x
                out.append(acc)
            return out

        def dot(w: list[Any], v: list[Any]) -> Any:
            acc = zero
            for a, x in zip(w, v):
                acc = acc + a * x
            return acc

        D: list[list[Any]] = []
        E: list[list[Any]] = []
        P: list[list[Any]] = []
        phi = []
        for i in range(N):
            if i == 0:
                d, ee = [one] * s, [zero] * s
            else:
                u, v = int(tab.left[i]), int(tab.right[i])
                d = [x * y for x, y in zip(D[u], P[v])]
                ee = [x * y + p * q for x, y, p, q in zip(E[u], P[v], D[u], D[v])]
            D.append(d)
            E.append(ee)
            P.append([x + y for x, y in zip(mat(A, d), mat(A2, ee))])
            phi.append(dot(b, d) + dot(b2, ee))
        return phi, K
    Af, A2f, bf, b2f = t.A, t.A2, t.b, t.b2
    Dm, Em, Pm = np.empty((N, s)), np.empty((N, s)), np.empty((N, s))
    for n in range(1, max_order + 1):
        sl = tab.of_order(n)
        if n == 1:
            Dm[sl], Em[sl] = 1.0, 0.0
        else:
            L, R = tab.left[sl], tab.right[sl]
            Dm[sl] = Dm[L] * Pm[R]
            Em[sl] = Em[L] * Pm[R] + Dm[L] * Dm[R]
        Pm[sl] = Dm[sl] @ Af.T + Em[sl] @ A2f.T
    return list(Dm @ bf + Em @ b2f), None


def two_derivative_residuals(t: TwoDerivativeTableau, max_order: int, *, exact: bool | None = None) -> list[Any]:
    """``Phi(t) - 1/gamma(t)`` for every tree of orders 1..max_order: floats, or sympy numbers
    when ``exact`` (default: exact iff the tableau is)."""
    use_exact = t.is_exact if exact is None else exact
    phi, K = _weights(t, max_order, use_exact)
    tab = tree_table(max_order)
    if K is None:
        return [float(p) - 1.0 / g for p, g in zip(phi, tab.gamma)]
    return [K.to_sympy(p) - sp.Rational(1, g) for p, g in zip(phi, tab.gamma)]


def two_derivative_order(t: TwoDerivativeTableau, max_order: int | None = None, tol: float | None = None) -> OrderReport:
    """The order of a two-derivative method: the largest ``p`` with every condition up to
    ``p`` met (exactly for exact entries, else within ``tol``, default ``1e-12`` times the
    coefficient scale). With ``max_order`` every order 1..max_order is reported; otherwise
    orders are tested until the first failure (at most 12)."""
    cap = 12 if max_order is None else int(max_order)
    if not 1 <= cap <= DEFAULT_ORDER_CAP:
        raise TableauError(f"max order must be in 1..{DEFAULT_ORDER_CAP}, got {max_order}")
    use_exact = t.is_exact
    scale = max(1.0, *(float(np.max(np.abs(getattr(t, k)))) for k in _KEYS))
    if tol is None:
        tol = 0.0 if use_exact else 1e-12 * scale
    top = cap
    if max_order is None:  # find the first failing order cheaply in float64, then verify up to it
        screen = two_derivative_residuals(t, cap, exact=False)
        tab = tree_table(cap)
        bad = [n for n in range(1, cap + 1) if max(abs(r) for r in screen[tab.offsets[n]:tab.offsets[n + 1]]) > max(tol, 1e-8 * scale)]
        top = bad[0] if bad else cap
    res = two_derivative_residuals(t, top, exact=use_exact)
    tab = tree_table(top)
    order, residuals, failed = 0, {}, False
    for n in range(1, top + 1):
        block = res[tab.offsets[n]:tab.offsets[n + 1]]
        mags = [abs(float(sp.N(r, 30))) for r in block] if use_exact else [abs(r) for r in block]
        ok = all(r == 0 for r in block) if (use_exact and tol == 0.0) else max(mags) <= tol
        residuals[n] = max(mags)
        if not ok:
            failed = True
            if max_order is None:
                break
        elif not failed:
            order = n
    return OrderReport(order=order, tol=float(tol), exact=use_exact, max_residuals=residuals,
                       reached_cap=not failed, cap=cap)


def two_derivative_stability_function(t: TwoDerivativeTableau) -> sp.Expr:
    """``R(z) = 1 + (z b + z^2 b2)^T (I - z A - z^2 A2)^{-1} 1`` (exact for exact entries;
    a polynomial of degree <= 2s for explicit methods)."""
    z = sp.Symbol("z")
    s = t.stages
    if t.exact is not None:
        e = t.exact
        A, A2 = sp.Matrix(e["A"]), sp.Matrix(e["A2"])
        b, b2 = sp.Matrix(e["b"]), sp.Matrix(e["b2"])
    else:
        A, A2 = sp.Matrix(t.A.tolist()), sp.Matrix(t.A2.tolist())
        b, b2 = sp.Matrix(t.b.tolist()), sp.Matrix(t.b2.tolist())
    M = sp.eye(s) - z * A - z**2 * A2
    if t.is_explicit:  # (I - N)^{-1} = I + N + ... + N^(s-1) for nilpotent N
        N, inv, term = z * A + z**2 * A2, sp.eye(s), sp.eye(s)
        for _ in range(s - 1):
            term = term * N
            inv = inv + term
        Y = inv * sp.ones(s, 1)
    else:
        Y = M.LUsolve(sp.ones(s, 1))
    R = 1 + ((z * b + z**2 * b2).T * Y)[0]
    return sp.expand(R) if t.is_explicit else sp.cancel(sp.together(R))

