"""Engines that evaluate elementary weights order by order: float64, exact, 60-digit.

Every engine keeps one stage vector per rooted tree, ``u(t) = u(l) * (A u(r))`` for
``t = l o r`` (see :mod:`analysis.rooted_trees`), and the elementary weights
``Phi(t) = w . u(t)`` for one or more weight vectors ``w`` (``b`` and ``b_hat``).

* :class:`FloatWeights` -- float64 arrays, one gather-multiply and one matrix product per
  order (order 12 of Prince-Dormand 8(7) in milliseconds).
* :class:`VectorWeights` -- the same recursion on numpy object arrays, either of integer
  coordinates in the tableau's number field (exact: ``u(t)`` is stored times
  ``d_A^(|t|-1)`` so that no fraction is ever reduced) or of 60-digit mpmath numbers.
  ``A u`` is formed only for trees that later trees use, and :meth:`VectorWeights.extend`
  refuses (:class:`~analysis.arithmetic.OverBudget`) an order it predicts would overrun
  its deadline.

:func:`tableau_numbers` picks the arithmetic of a tableau once (cached on the tableau).
Imports numpy, gmpy2, sympy and the package's ``arithmetic``, ``number_fields``,
``rooted_trees`` and ``tableau`` modules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import gmpy2
import numpy as np
from gmpy2 import mpq

from .arithmetic import Arithmetic, Deadline, ExactArithmetic, MpArithmetic, OverBudget, arithmetic_for
from .rooted_trees import TreeTable, tree_table
from .tableau import ButcherTableau

__all__ = ["FloatWeights", "VectorWeights", "TableauNumbers", "tableau_numbers", "mp_numbers"]


class FloatWeights:
    """Incremental float64 evaluation of elementary weights, order by order.

    ``U`` and ``V = U A^T`` hold one row per tree (global tree index of the shared
    :class:`TreeTable`); ``phi[:, k]`` the weights for the k-th weight vector.
    """

    def __init__(self, A: np.ndarray, weights: Sequence[np.ndarray]) -> None:
        self.A = np.asarray(A, dtype=np.float64)
        self.AT = np.ascontiguousarray(self.A.T)
        self.W = np.stack([np.asarray(w, dtype=np.float64) for w in weights], axis=1)  # (s, k)
        s = self.A.shape[0]
        self.U = np.empty((0, s))
        self.V = np.empty((0, s))
        self.phi = np.empty((0, self.W.shape[1]))
        self.order = 0
        self.table: TreeTable | None = None

    def extend(self, p: int) -> None:
        if p <= self.order:
            return
        self.table = tab = tree_table(p)
        N = tab.offsets[p + 1]
        old = self.U.shape[0]
        s = self.A.shape[0]
        U = np.empty((N, s))
        V = np.empty((N, s))
        U[:old], V[:old] = self.U, self.V
        with np.errstate(over="ignore", invalid="ignore"):
            for n in range(self.order + 1, p + 1):
                sl = tab.of_order(n)
                if n == 1:
                    U[sl] = 1.0
                else:
                    np.multiply(U[tab.left[sl]], V[tab.right[sl]], out=U[sl])
                np.matmul(U[sl], self.AT, out=V[sl])
            phi = np.empty((N, self.W.shape[1]))
            phi[:old] = self.phi
            np.matmul(U[old:], self.W, out=phi[old:])
        self.U, self.V, self.phi, self.order = U, V, phi, p

    def phi_of_order(self, k: int, n: int) -> np.ndarray:
        assert self.table is not None
        return self.phi[self.table.of_order(n), k]

    def residuals_of_order(self, k: int, n: int) -> np.ndarray:
        tab = tree_table(n)
        return self.phi_of_order(k, n) - 1.0 / tab.gamma_f[tab.of_order(n)]


@dataclass(frozen=True, eq=False)
class TableauNumbers:
    """A tableau's coefficients converted into one arithmetic (``b_hat`` may be None)."""

    arithmetic: Arithmetic
    A: tuple[tuple[Any, ...], ...]
    b: tuple[Any, ...]
    c: tuple[Any, ...]
    b_hat: tuple[Any, ...] | None
    scale: float

    def weights(self) -> list[tuple[Any, ...]]:
        return [self.b] + ([self.b_hat] if self.b_hat is not None else [])


def _split(t: ButcherTableau, arith: Arithmetic, elems: Sequence[Any]) -> TableauNumbers:
    s = t.stages
    A = tuple(tuple(elems[i * s:(i + 1) * s]) for i in range(s))
    pos = s * s
    b = tuple(elems[pos:pos + s])
    c = tuple(elems[pos + s:pos + 2 * s])
    bh = tuple(elems[pos + 2 * s:pos + 3 * s]) if t.b_hat is not None else None
    return TableauNumbers(arith, A, b, c, bh, t.coefficient_scale)


def tableau_numbers(t: ButcherTableau) -> TableauNumbers:
    """The exact arithmetic of an exact tableau, or 60-digit arithmetic where exact
    arithmetic is over budget (:func:`analysis.arithmetic.arithmetic_for`); cached."""
    hit = t._cache.get("numbers")
    if hit is None:
        if t.exact is None:
            raise ValueError(f"{t.label}: exact arithmetic needs exact coefficients")
        conv = arithmetic_for(t.exact.entries())
        hit = t._cache["numbers"] = _split(t, conv.arithmetic, conv.elements)
    return hit


def mp_numbers(t: ButcherTableau, note: str | None = None) -> TableauNumbers:
    """The tableau in 60-digit arithmetic (from the exact entries when there are any)."""
    ar = MpArithmetic(note)
    if t.exact is not None:
        elems = [ar.element(x) for x in t.exact.entries()]
    else:
        arrs = [t.A.ravel(), t.b, t.c] + ([t.b_hat] if t.b_hat is not None else [])
        elems = [ar.ctx.mpf(float(x)) for a in arrs for x in a]
    return _split(t, ar, elems)


class _MpOps:
    """Vector operations of :class:`VectorWeights` for 60-digit numbers (degree axis 1)."""

    degree = 1

    @staticmethod
    def vmul(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return X * Y

    @staticmethod
    def vmatvec(U: np.ndarray, A: np.ndarray) -> np.ndarray:
        return (U[..., 0] @ A[..., 0].T)[..., None]

    @staticmethod
    def vdot(U: np.ndarray, w: np.ndarray) -> np.ndarray:
        return (U[..., 0] @ w[:, 0])[..., None]


class VectorWeights:
    """Elementary weights in exact or 60-digit arithmetic, a whole order at a time.

    Exact: every coefficient array is scaled to integer coordinates in the number field,
    ``A = A_int / d_A`` and ``w = w_int / d_w``; then ``u(t) = u_int(t) / d_A^(|t|-1)`` and
    ``Phi(t) = (w_int . u_int(t)) / (d_w d_A^(|t|-1))``, all in integers.
    """

    def __init__(self, numbers: TableauNumbers, deadline: Deadline | None = None) -> None:
        self.numbers = numbers
        ar = numbers.arithmetic
        self.arithmetic = ar
        self.exact = isinstance(ar, ExactArithmetic)
        self.deadline = deadline
        s = len(numbers.b)
        self.s = s
        if self.exact:
            K = ar.field
            self.ops: Any = K
            self.A, self.dA = K.integral([x for row in numbers.A for x in row], (s, s))
            self.W, self.dW = [], []
            for w in numbers.weights():
                arr, d = K.integral(list(w), (s,))
                self.W.append(arr)
                self.dW.append(d)
            self.one_vec = np.empty((1, s, K.degree), dtype=object)
            self.one_vec[...] = gmpy2.mpz(0)
            self.one_vec[..., 0] = gmpy2.mpz(1)
        else:
            self.ops = _MpOps
            one = ar.one()
            self.A = np.array([[x for x in row] for row in numbers.A], dtype=object).reshape(s, s, 1)
            self.W = [np.array(list(w), dtype=object).reshape(s, 1) for w in numbers.weights()]
            self.dW = [1] * len(self.W)
            self.dA = 1
            self.one_vec = np.empty((1, s, 1), dtype=object)
            self.one_vec[...] = one
        n = self.ops.degree
        self.U = np.empty((0, s, n), dtype=object)
        self.V: np.ndarray = np.empty((0, s, n), dtype=object)
        self.phi: list[list[np.ndarray]] = [[] for _ in self.W]  # per weight: list of (N_n, n) per order
        self.done = 0
        self.v_done = 0
        self._last: tuple[int, float] | None = None  # (trees, seconds) of the last order computed

    @property
    def label(self) -> str:
        return self.arithmetic.kind

    def _ensure_V(self, upto: int) -> None:
        if upto <= self.v_done:
            return
        tab = tree_table(max(upto, 1))
        lo, hi = tab.offsets[self.v_done + 1], tab.offsets[upto + 1]
        V_new = self.ops.vmatvec(self.U[lo:hi], self.A)
        self.V = np.concatenate([self.V, V_new], axis=0)
        self.v_done = upto

    def extend(self, p: int) -> None:
        """Compute every tree up to order ``p``; raises :class:`OverBudget` before an order
        that would not finish before the deadline (the engine stays usable below it)."""
        for n in range(self.done + 1, p + 1):
            tab = tree_table(n)
            sl = tab.of_order(n)
            count = sl.stop - sl.start
            if self.deadline is not None:
                if self.deadline.expired():
                    raise OverBudget(f"order {n}")
                if self._last is not None:
                    per_tree = self._last[1] / max(1, self._last[0])
                    # integer sizes grow with the order: allow for it
                    if per_tree * count * 1.6 > self.deadline.left():
                        raise OverBudget(f"order {n}")
            t0 = time.perf_counter()
            if n == 1:
                U_new = self.one_vec.copy()
            else:
                self._ensure_V(n - 1)
                U_new = self.ops.vmul(self.U[tab.left[sl]], self.V[tab.right[sl]])
            self.U = np.concatenate([self.U, U_new], axis=0)
            for k, w in enumerate(self.W):
                self.phi[k].append(self.ops.vdot(U_new, w))
            self.done = n
            self._last = (count, time.perf_counter() - t0)

    # ---------------------------------------------------------------- residuals
    def residual_elements(self, k: int, n: int) -> list[Any]:
        """``Phi(t) - 1/gamma(t)`` for the trees of order ``n`` as arithmetic elements."""
        ar = self.arithmetic
        tab = tree_table(n)
        gam = tab.gamma[tab.of_order(n)]
        phi = self.phi[k][n - 1]
        out = []
        if self.exact:
            D = self.dW[k] * self.dA ** (n - 1)
            for row, g in zip(phi, gam):
                x = tuple(mpq(int(c), int(D)) for c in row)
                out.append(ar.sub(x, ar.rational(mpq(1, g))))
            return out
        return [row[0] - ar.rational(mpq(1, g)) for row, g in zip(phi, gam)]

    def holds(self, k: int, n: int, tol: float) -> tuple[bool, float]:
        """Whether every tree of order ``n`` meets ``|Phi(t) - 1/gamma(t)| <= tol`` (exactly
        ``Phi = 1/gamma`` when ``tol == 0`` in exact arithmetic), and the largest |residual|."""
        tab = tree_table(n)
        gam = tab.gamma[tab.of_order(n)]
        phi = self.phi[k][n - 1]
        ar = self.arithmetic
        if self.exact and tol == 0.0:
            D = self.dW[k] * self.dA ** (n - 1)
            ok = True
            for row, g in zip(phi, gam):
                if row[0] * g != D or any(row[1:]):
                    ok = False
                    break
            if ok:
                return True, 0.0
        res = self.residual_elements(k, n)
        if self.exact and ar.degree == 1:
            mags = [abs(r[0]) for r in res]
            worst = max(mags)
            return bool(worst <= mpq(tol) if tol > 0 else worst == 0), float(worst)
        mags_f = [abs(ar.to_float(r)) if not self.exact else abs(float(ar.to_mpf(r, 30))) for r in res]
        worst_f = max(mags_f)
        if self.exact:
            return (all(ar.is_zero(r) for r in res) if tol == 0.0 else worst_f <= tol), worst_f
        limit = max(tol, 0.0)
        zero_ok = all(ar.is_zero(r, self.numbers.scale) for r in res)
        return (zero_ok or worst_f <= limit), worst_f
