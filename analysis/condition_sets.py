"""Systems of order conditions: every tree up to order p, or linear combinations of them.

A :class:`ConditionSet` is a list of :class:`ConditionBlock` s, one per order, each either
every tree's own condition ``Phi(t) = 1/gamma(t)`` or rows of a matrix acting on the
residuals of that order's trees (the conditions a method must meet to reach order p on one
family of right-hand sides, :mod:`analysis.personalised`). The distillation
(:mod:`analysis.distillation`) projects learned weights onto such a set with
:func:`conditions_and_jacobian`, which differentiates the tree recursion in forward mode.

Imports numpy, sympy and the package's ``errors``, ``order_engines``, ``rooted_trees`` and
``tableau`` modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .errors import AnalysisInputError
from .order_engines import FloatWeights, VectorWeights, tableau_numbers
from .rooted_trees import tree_table
from .tableau import ButcherTableau

__all__ = ["ConditionBlock", "ConditionSet", "general_conditions", "conditions_and_jacobian"]

@dataclass(frozen=True)
class ConditionBlock:
    """Conditions on the trees of one order: ``rows @ (Phi - 1/gamma) = 0`` over the trees
    of order ``order`` (in :func:`analysis.rooted_trees.trees` order). ``rows is None`` means every
    tree's own condition (the identity)."""

    order: int
    rows: tuple[tuple[Fraction, ...], ...] | None = None

    @property
    def count(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        sl = tree_table(self.order).of_order(self.order)
        return sl.stop - sl.start

    def matrix(self) -> np.ndarray:
        tab = tree_table(self.order)
        sl = tab.of_order(self.order)
        if self.rows is None:
            return np.eye(sl.stop - sl.start)
        return np.array([[float(x) for x in r] for r in self.rows], dtype=np.float64).reshape(len(self.rows), sl.stop - sl.start)


@dataclass(frozen=True)
class ConditionSet:
    """A named system of order conditions, e.g. all trees up to order 4, or the
    conditions a method must meet to reach order p on one family of right-hand sides."""

    name: str
    blocks: tuple[ConditionBlock, ...]

    @property
    def max_order(self) -> int:
        return max((b.order for b in self.blocks), default=0)

    @property
    def count(self) -> int:
        return sum(b.count for b in self.blocks)

    def __add__(self, other: "ConditionSet") -> "ConditionSet":
        merged: dict[int, ConditionBlock] = {b.order: b for b in self.blocks}
        for blk in other.blocks:
            mine = merged.get(blk.order)
            if mine is None or blk.rows is None:
                merged[blk.order] = blk if mine is None or mine.rows is not None else mine
            elif mine.rows is not None:
                merged[blk.order] = ConditionBlock(blk.order, mine.rows + blk.rows)
        return ConditionSet(f"{self.name} + {other.name}", tuple(merged[k] for k in sorted(merged)))

    def dense_matrix(self) -> np.ndarray:
        """The conditions as one float matrix ``M`` acting on the residuals of all trees of
        orders 1..max_order (tree order of :func:`analysis.tree_table`): ``M r = 0``."""
        p = max(self.max_order, 1)
        tab = tree_table(p)
        M = np.zeros((self.count, tab.offsets[p + 1]))
        r0 = 0
        for blk in self.blocks:
            m = blk.matrix()
            M[r0:r0 + m.shape[0], tab.of_order(blk.order)] = m
            r0 += m.shape[0]
        return M

    def residuals(self, A: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Float64 residual vector of every condition for the tableau ``(A, b)``."""
        eng = FloatWeights(A, [b])
        eng.extend(max(self.max_order, 1))
        tab = eng.table
        out = []
        for blk in self.blocks:
            r = eng.phi_of_order(0, blk.order) - 1.0 / tab.gamma_f[tab.of_order(blk.order)]
            out.append(r if blk.rows is None else blk.matrix() @ r)
        return np.concatenate(out) if out else np.zeros(0)

    def holds_exactly(self, tableau: ButcherTableau) -> bool:
        """Check every condition in the tableau's arithmetic (needs exact coefficients):
        exact, or to 1e-45 of the coefficient scale where exact arithmetic is over budget."""
        e = tableau.exact
        if e is None:
            raise AnalysisInputError(f"{tableau.label}: exact check needs exact coefficients")
        numbers = tableau_numbers(tableau)
        ar = numbers.arithmetic
        eng = VectorWeights(numbers)
        eng.extend(max(self.max_order, 1))
        for blk in self.blocks:
            res = eng.residual_elements(0, blk.order)
            if blk.rows is None:
                if any(not ar.is_zero(r, numbers.scale) for r in res):
                    return False
                continue
            for row in blk.rows:
                acc = ar.zero()
                for w, r in zip(row, res):
                    if w:
                        acc = ar.add(acc, ar.mul(ar.rational(w), r))
                if not ar.is_zero(acc, numbers.scale):
                    return False
        return True


def general_conditions(p: int) -> ConditionSet:
    """All order conditions of orders 1..p."""
    return ConditionSet(f"order {p}", tuple(ConditionBlock(n) for n in range(1, p + 1)))


def conditions_and_jacobian(
    A: np.ndarray, b: np.ndarray, conds: ConditionSet, a_mask: np.ndarray, jacobian: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Residuals ``F`` of ``conds`` and their Jacobian with respect to the free
    coefficients ``x = (A[a_mask], b)`` by forward-mode differentiation of the tree
    recursion (``None`` unless ``jacobian``). Works for float64 arrays and for object
    arrays of mpmath numbers."""
    s = A.shape[0]
    p = max(conds.max_order, 1)
    tab = tree_table(p)
    N = tab.offsets[p + 1]
    jk = np.argwhere(a_mask)  # free A entries (j, k), row-major
    nA = len(jk)
    P = (nA + s) if jacobian else 0
    dtype = A.dtype
    one = A.flat[0] * 0 + 1 if dtype == object else 1.0
    zero = one * 0
    U = np.empty((N, s), dtype=dtype)
    V = np.empty((N, s), dtype=dtype)
    dU = np.empty((N, s, P), dtype=dtype)
    dV = np.empty((N, s, P), dtype=dtype)
    AT = A.T
    rows_j = jk[:, 0] if nA else np.zeros(0, dtype=int)
    cols_k = jk[:, 1] if nA else np.zeros(0, dtype=int)
    qidx = np.arange(nA)
    for n in range(1, p + 1):
        sl = tab.of_order(n)
        if n == 1:
            U[sl] = one
            dU[sl] = zero
        else:
            l, r = tab.left[sl], tab.right[sl]
            U[sl] = U[l] * V[r]
            if P:
                dU[sl] = dU[l] * V[r][:, :, None] + U[l][:, :, None] * dV[r]
        V[sl] = U[sl] @ AT
        if not P:
            continue
        dV[sl] = np.matmul(A, dU[sl])
        if nA:
            # d(A u)_j / d a_jk = u_k
            dV[sl, rows_j, qidx] = dV[sl, rows_j, qidx] + U[sl][:, cols_k]
    phi = U @ b
    if P:
        dphi = np.matmul(np.swapaxes(dU, 1, 2), b)
        dphi[:, nA:] = dphi[:, nA:] + U
    F_parts, J_parts = [], []
    for blk in conds.blocks:
        sl = tab.of_order(blk.order)
        g = np.array([one / gm for gm in tab.gamma[sl]], dtype=dtype) if dtype == object else 1.0 / tab.gamma_f[sl]
        r = phi[sl] - g
        if blk.rows is not None:
            M = blk.matrix() if dtype != object else np.array([[one * x.numerator / x.denominator for x in row] for row in blk.rows], dtype=object)
            r = M @ r
        F_parts.append(r)
        if P:
            J_parts.append(dphi[sl] if blk.rows is None else M @ dphi[sl])
    F = np.concatenate(F_parts)
    return F, (np.concatenate(J_parts, axis=0) if P else None)
