import math

import networkx as nx
import pytest
from hypothesis import given, strategies as st

from algodiscover.analysis.rooted_trees import RootedTree, count_trees, tree_table, trees, weight_formula

A000081 = [1, 1, 2, 4, 9, 20, 48, 115, 286, 719, 1842, 4766, 12486, 32973]


def test_counts_through_order_14_match_oeis():
    tab = tree_table(14)
    generated = [tab.offsets[n + 1] - tab.offsets[n] for n in range(1, 15)]
    assert generated == A000081
    assert [count_trees(n) for n in range(1, 15)] == A000081


@pytest.mark.parametrize("n", range(1, 11))
def test_every_tree_present_once_and_canonical(n):
    ts = trees(n)
    levels = [t.levels for t in ts]
    assert len(set(levels)) == len(levels) == A000081[n - 1]
    for t in ts:
        assert RootedTree(t.levels).levels == t.levels  # canonical form is a fixed point
    # successor order is strictly decreasing lexicographically, path first, star last
    assert levels == sorted(levels, reverse=True)
    assert levels[0] == tuple(range(n))
    assert levels[-1] == (0,) + (1,) * (n - 1)


@pytest.mark.parametrize("n", range(1, 10))
def test_monotone_labellings_sum_to_factorial(n):
    # sum over trees of order n of alpha(t) = n! / (sigma gamma) equals (n-1)!
    assert sum(t.alpha for t in trees(n)) == math.factorial(n - 1)


def test_known_gamma_sigma_order_4():
    got = {t.bracket(): (t.gamma, t.sigma) for t in trees(4)}
    assert got == {"[[[τ]]]": (24, 1), "[[τ^2]]": (12, 2), "[[τ],τ]": (8, 1), "[τ^3]": (4, 6)}


def test_table_decomposition_and_numbers_agree_with_trees():
    tab = tree_table(9)
    for i in range(1, tab.offsets[10]):
        t = tab.trees[i]
        assert tab.gamma[i] == t.gamma and tab.sigma[i] == t.sigma
        assert tab.trees[tab.left[i]].butcher_product(tab.trees[tab.right[i]]) == t


@st.composite
def level_sequences(draw):
    n = draw(st.integers(1, 12))
    seq = [0]
    for _ in range(n - 1):
        seq.append(draw(st.integers(1, seq[-1] + 1)))
    return tuple(seq)


@given(level_sequences(), st.randoms())
def test_canonical_form_ignores_child_order(levels, rnd):
    t = RootedTree(levels)
    kids = list(t.children)
    rnd.shuffle(kids)
    assert RootedTree.from_children(kids) == t
    g = t.to_networkx()
    assert nx.is_arborescence(g) and g.number_of_nodes() == t.order


def test_weight_formula():
    f = {t.bracket(): weight_formula(t, latex=False) for t in trees(3)}
    assert f == {"[[τ]]": "sum_{i,j} b_i a_ij c_j", "[τ^2]": "sum_{i} b_i c_i^2"}


def test_bad_level_sequence_rejected():
    with pytest.raises(ValueError):
        RootedTree((0, 2))
