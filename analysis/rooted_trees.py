"""Rooted trees as canonical level sequences.

A rooted tree with ``n`` nodes is stored as its *level sequence*: the depths of the nodes
in pre-order, root at depth 0. Among the level sequences of one tree the *canonical* one is
the lexicographically largest (children ordered by decreasing subtree sequence). All trees
of order ``n`` are generated from the path ``(0, 1, ..., n-1)`` to the star
``(0, 1, ..., 1)`` by the successor function of Beyer and Hedetniemi (SIAM J. Comput. 9,
1980), in constant amortised time per tree.

Every tree of order >= 2 is the Butcher product ``t = u o v`` of the tree ``u`` obtained by
removing its last (smallest) root subtree ``v``. :class:`TreeTable` stores these
decompositions as index arrays, which lets elementary weights of all trees be computed with
one vector operation per tree (see :mod:`analysis.order`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from math import factorial
from typing import Iterator

import numpy as np

__all__ = ["RootedTree", "trees", "trees_up_to", "count_trees", "TreeTable", "tree_table", "weight_formula"]


@dataclass(frozen=True, order=True)
class RootedTree:
    """A rooted tree, identified by its canonical level sequence (root depth 0)."""

    levels: tuple[int, ...]

    def __post_init__(self) -> None:
        lv = tuple(int(x) for x in self.levels)
        if not lv or lv[0] != 0 or any(x < 1 for x in lv[1:]) or any(b > a + 1 for a, b in zip(lv, lv[1:])):
            raise ValueError(f"not a level sequence: {self.levels!r}")
        object.__setattr__(self, "levels", lv)
        canon = _canonical(lv)
        if canon != lv:
            object.__setattr__(self, "levels", canon)

    # --------------------------------------------------------------- structure
    @property
    def order(self) -> int:
        """Number of nodes |t|."""
        return len(self.levels)

    def __len__(self) -> int:
        return len(self.levels)

    @cached_property
    def children(self) -> tuple["RootedTree", ...]:
        """The root's subtrees in canonical (non-increasing) order."""
        return tuple(RootedTree(tuple(x - 1 for x in part)) for part in _split_children(self.levels))

    @classmethod
    def from_children(cls, children: "list[RootedTree] | tuple[RootedTree, ...]") -> "RootedTree":
        """The tree ``[t1, ..., tm]`` whose root has the given subtrees."""
        seq = [0]
        for ch in sorted(children, key=lambda t: t.levels, reverse=True):
            seq.extend(x + 1 for x in ch.levels)
        return cls(tuple(seq))

    def butcher_product(self, other: "RootedTree") -> "RootedTree":
        """``self o other``: graft ``other`` as a new subtree of the root of ``self``."""
        return RootedTree.from_children(list(self.children) + [other])

    # --------------------------------------------------------------- numbers
    @cached_property
    def gamma(self) -> int:
        """Density gamma(t) = |t| prod gamma(children); the order condition is Phi(t) = 1/gamma(t)."""
        g = self.order
        for ch in self.children:
            g *= ch.gamma
        return g

    def child_groups(self) -> list[tuple["RootedTree", int]]:
        """Distinct root subtrees with their multiplicities, in canonical order."""
        out: list[tuple[RootedTree, int]] = []
        for ch in self.children:
            if out and out[-1][0] == ch:
                out[-1] = (ch, out[-1][1] + 1)
            else:
                out.append((ch, 1))
        return out

    @cached_property
    def sigma(self) -> int:
        """Symmetry sigma(t) = prod over distinct subtrees c of sigma(c)^m m! (m its multiplicity)."""
        out = 1
        for ch, m in self.child_groups():
            out *= ch.sigma**m * factorial(m)
        return out

    @property
    def alpha(self) -> int:
        """Number of monotone labellings, |t|! / (sigma gamma)."""
        return factorial(self.order) // (self.sigma * self.gamma)

    @property
    def height(self) -> int:
        return max(self.levels) + 1

    # --------------------------------------------------------------- display
    def bracket(self) -> str:
        """Butcher's bracket notation: the single node is ``τ``, ``[τ, τ]`` has two leaves."""
        if self.order == 1:
            return "τ"
        parts = [ch.bracket() if m == 1 else f"{ch.bracket()}^{m}" for ch, m in self.child_groups()]
        return "[" + ",".join(parts) + "]"

    def __str__(self) -> str:
        return self.bracket()

    def to_networkx(self):
        """A ``networkx.DiGraph`` with edges parent -> child; node 0 is the root and
        nodes carry their ``depth``."""
        import networkx as nx

        g = nx.DiGraph()
        stack: list[int] = []
        for node, depth in enumerate(self.levels):
            g.add_node(node, depth=depth)
            del stack[depth:]
            if stack:
                g.add_edge(stack[-1], node)
            stack.append(node)
        return g

    def parents(self) -> tuple[int, ...]:
        """Parent index of every node (-1 for the root), nodes in pre-order."""
        out = []
        stack: list[int] = []
        for node, depth in enumerate(self.levels):
            del stack[depth:]
            out.append(stack[-1] if stack else -1)
            stack.append(node)
        return tuple(out)


def _split_children(levels: tuple[int, ...]) -> list[tuple[int, ...]]:
    starts = [i for i, x in enumerate(levels) if x == 1]
    return [levels[a:b] for a, b in zip(starts, starts[1:] + [len(levels)])]


def _canonical(levels: tuple[int, ...]) -> tuple[int, ...]:
    parts = _split_children(levels)
    if not parts:
        return (0,)
    canon = [tuple(x + 1 for x in _canonical(tuple(x - 1 for x in p))) for p in parts]
    canon.sort(reverse=True)
    out = [0]
    for p in canon:
        out.extend(p)
    return tuple(out)


# ------------------------------------------------------------------- generation
def _successor_sequences(n: int) -> Iterator[tuple[int, ...]]:
    """All canonical level sequences of order n, from the path down to the star."""
    if n < 1:
        return
    seq = list(range(n))
    yield tuple(seq)
    while True:
        p = n - 1
        while p > 0 and seq[p] <= 1:
            p -= 1
        if p == 0:
            return
        q = p - 1
        target = seq[p] - 1
        while seq[q] != target:
            q -= 1
        period = p - q
        for i in range(p, n):
            seq[i] = seq[i - period]
        yield tuple(seq)


@lru_cache(maxsize=None)
def trees(n: int) -> tuple[RootedTree, ...]:
    """All rooted trees with ``n`` nodes, in Beyer-Hedetniemi order (path first)."""
    if n < 1:
        raise ValueError(f"tree order must be >= 1, got {n}")
    out = []
    for lv in _successor_sequences(n):
        t = RootedTree.__new__(RootedTree)
        object.__setattr__(t, "levels", lv)  # already canonical: skip re-canonicalisation
        out.append(t)
    return tuple(out)


def trees_up_to(p: int) -> list[RootedTree]:
    """All rooted trees of orders 1..p, grouped by order."""
    return [t for n in range(1, p + 1) for t in trees(n)]


@lru_cache(maxsize=None)
def count_trees(n: int) -> int:
    """Number of rooted trees with n nodes (OEIS A000081), by the divisor-sum recurrence."""
    if n < 1:
        return 0
    if n == 1:
        return 1
    total = 0
    for k in range(1, n):
        s = sum(d * count_trees(d) for d in range(1, k + 1) if k % d == 0)
        total += s * count_trees(n - k)
    return total // (n - 1)


# ------------------------------------------------------------------- tables
@dataclass(frozen=True, eq=False)
class TreeTable:
    """All trees of orders 1..p with their Butcher-product decompositions.

    ``trees[i] = trees[left[i]] o trees[right[i]]`` for every tree of order >= 2 (``left``
    and ``right`` are -1 for the single node). ``offsets[n]:offsets[n+1]`` indexes the trees
    of order ``n``. ``gamma`` and ``sigma`` are Python integers (exact), also as float
    arrays.
    """

    max_order: int
    trees: tuple[RootedTree, ...]
    offsets: tuple[int, ...]
    left: np.ndarray
    right: np.ndarray
    orders: np.ndarray
    gamma: tuple[int, ...]
    sigma: tuple[int, ...]

    @cached_property
    def gamma_f(self) -> np.ndarray:
        return np.array([float(g) for g in self.gamma])

    @cached_property
    def sigma_f(self) -> np.ndarray:
        return np.array([float(s) for s in self.sigma])

    def of_order(self, n: int) -> slice:
        return slice(self.offsets[n], self.offsets[n + 1])

    def __len__(self) -> int:
        return len(self.trees)

    @cached_property
    def index(self) -> dict[tuple[int, ...], int]:
        return {t.levels: i for i, t in enumerate(self.trees)}


class _TableBuilder:
    """Grows one shared table order by order; tables for smaller orders are prefixes."""

    def __init__(self) -> None:
        self.trees: list[RootedTree] = []
        self.offsets = [0, 0]
        self.index: dict[tuple[int, ...], int] = {}
        self.left: list[int] = []
        self.right: list[int] = []
        self.gamma: list[int] = []
        self.sigma: list[int] = []
        self.mult: list[int] = []  # multiplicity of the last root subtree
        self.table: TreeTable | None = None

    @property
    def max_order(self) -> int:
        return len(self.offsets) - 2

    def grow(self, p: int) -> TreeTable:
        if self.table is not None and self.max_order >= p:
            return self.table
        index, left, right, gamma, sigma, mult = self.index, self.left, self.right, self.gamma, self.sigma, self.mult
        for n in range(self.max_order + 1, p + 1):
            for t in trees(n):
                lv = t.levels
                i = len(self.trees)
                self.trees.append(t)
                index[lv] = i
                if n == 1:
                    left.append(-1); right.append(-1); gamma.append(1); sigma.append(1); mult.append(0)
                    continue
                k = n - 1
                while lv[k] != 1:
                    k -= 1
                li = index[lv[:k]]
                ri = index[tuple(x - 1 for x in lv[k:])]
                m = mult[li] + 1 if right[li] == ri else 1
                left.append(li)
                right.append(ri)
                gamma.append(n * (gamma[li] // k) * gamma[ri])
                sigma.append(sigma[li] * sigma[ri] * m)
                mult.append(m)
            self.offsets.append(len(self.trees))
        arrays = [np.array(x, dtype=np.int64) for x in (left, right)]
        orders = np.repeat(np.arange(1, p + 1), np.diff(self.offsets[1:]))
        for arr in (*arrays, orders):
            arr.setflags(write=False)
        self.table = TreeTable(p, tuple(self.trees), tuple(self.offsets), arrays[0], arrays[1], orders,
                               tuple(gamma), tuple(sigma))
        return self.table


_BUILDER = _TableBuilder()


def tree_table(p: int) -> TreeTable:
    """A :class:`TreeTable` holding at least all trees up to order ``p``.

    One table is shared and grown on demand; it may hold more orders than asked for (the
    trees of orders 1..p are always the prefix ``[:offsets[p + 1]]``).
    """
    if p < 1:
        raise ValueError(f"order must be >= 1, got {p}")
    return _BUILDER.grow(p)


_INDEX_LETTERS = "ijklmnpqrsuvwxyz"


def weight_formula(tree: RootedTree, latex: bool = True) -> str:
    """Elementary weight ``Phi(t)`` as a formula in ``b``, ``a`` and ``c`` (using
    ``sum_j a_ij = c_i`` for leaves), e.g. ``\\sum b_i a_{ij} c_j^2`` for ``[[τ,τ]]``."""
    parents = tree.parents()
    n = tree.order
    kids: list[list[int]] = [[] for _ in range(n)]
    for v, p in enumerate(parents):
        if p >= 0:
            kids[p].append(v)
    # internal nodes (root always) get summation indices
    idx: dict[int, str] = {}
    for v in range(n):
        if v == 0 or kids[v]:
            k = len(idx)
            idx[v] = _INDEX_LETTERS[k] if k < len(_INDEX_LETTERS) else f"i{k}"
    factors: list[str] = []

    def sub(*names: str) -> str:
        s = "".join(names)
        return f"_{{{s}}}" if latex and len(s) > 1 else f"_{s}"

    factors.append("b" + sub(idx[0]))
    for v in range(n):
        if v not in idx:
            continue
        leaves = sum(1 for w in kids[v] if not kids[w])
        if v != 0:
            factors.append("a" + sub(idx[parents[v]], idx[v]))
        if leaves:
            factors.append("c" + sub(idx[v]) + (f"^{leaves}" if leaves > 1 else ""))
    indices = ",".join(idx[v] for v in sorted(idx))
    if latex:
        return f"\\sum_{{{indices}}} " + " ".join(factors)
    return f"sum_{{{indices}}} " + " ".join(factors)
