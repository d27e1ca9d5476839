"""Distillation of a learned multistep method onto exact order conditions.

For a fixed inner matrix W every order condition ``Phi(t) = 1/gamma(t)`` of a multistep
method (:func:`analysis.multistep.multistep_residuals`) is *linear* in the other weights
``x`` (``b``, the betas unless the form is ``"adams"``, the gammas unless it is
``"momentum"``); for one stage these are the classical conditions
``sum_j alpha_j j^q = q sum_j beta_j j^(q-1)`` of the linear multistep method. So:

0. W (more than one stage) is snapped first: each strictly-lower entry to one of the
   fractions with denominator <= ``max_denominator`` nearest to it, combinations tried in
   increasing total distance (at most ``max_w_candidates``);
1. for each target order p, most ambitious first, and each W, solve the conditions up to
   order p exactly (sympy): no solution, a point, or an affine family of dimension d;
2. for a family, choose d coordinates that parametrise it (the betas first: they fix
   ``rho`` and so zero-stability; then the gammas, then b), snap each to one of the eight
   fractions with denominator <= ``max_denominator`` nearest to its learned value and solve
   for the others;
3. keep candidates within ``radius`` (each weight moves by at most ``radius max(1, |x|)``)
   that are **zero-stable** in exact arithmetic; the simplest wins (smallest denominator of
   the snapped coordinates and of W), the nearest among equally simple ones.

Order p > M + 1 is never zero-stable for an explicit (M+1)-step linear multistep method
(Dahlquist's barrier), so those targets fail at step 3 and the search falls through to the
attainable order. Every result is verified exactly (order and root condition) before it is
returned.

Imports numpy, sympy and analysis modules (:mod:`.multistep`, :mod:`.rationals`,
:mod:`.rooted_trees`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .multistep import MultistepMethod, multistep_order
from .rationals import rationalize_value
from .rooted_trees import tree_table

__all__ = ["MultistepDistillation", "distill_multistep", "rationalise_multistep"]


@dataclass(frozen=True)
class MultistepDistillation:
    """``exact`` (or None), the condition set it satisfies (``"order p"``), the largest change
    of a weight and one log line per attempt."""

    exact: MultistepMethod | None
    target: str | None
    distance: float | None
    log: tuple[str, ...]

    def to_json(self, rational: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"rational": rational, "target": self.target, "distance": self.distance, "log": list(self.log)}


def rationalise_multistep(method: MultistepMethod) -> MultistepMethod | None:
    """Every weight as the simplest exact number within 1e-14 (None when one has none)."""
    def conv(x: float) -> sp.Expr | None:
        return rationalize_value(float(x))

    parts: dict[str, Any] = {}
    for key in ("W", "b", "betas", "gammas"):
        arr = getattr(method, key)
        vals = [conv(v) for v in arr.ravel()]
        if any(v is None for v in vals):
            return None
        parts[key] = np.array(vals, dtype=object).reshape(arr.shape).tolist()
    return MultistepMethod(parts["W"], parts["b"], parts["betas"], parts["gammas"], name=method.name)


def _nearest_fractions(v: float, radius: float, max_den: int, limit: int = 8) -> list[Fraction]:
    found: dict[Fraction, float] = {}
    for q in range(1, max_den + 1):
        for num in (math.floor(v * q), math.ceil(v * q)):
            f = Fraction(num, q)
            d = abs(float(f) - v)
            if d <= radius:
                found.setdefault(f, d)
    return sorted(found, key=lambda f: (found[f], f.denominator))[:limit]


def _free_symbols(n: int, M: int, form: str) -> tuple[list[sp.Symbol], Any, list[Any], list[Any]]:
    """The free weights as symbols (betas, gammas, b: the order of preference for
    parametrising a family) and ``b``, ``betas``, ``gammas`` with fixed zeros."""
    b = sp.Matrix([sp.Symbol(f"b_{j + 1}") for j in range(n)])
    betas = [sp.Symbol(f"beta_{m}") if form != "adams" else sp.Integer(0) for m in range(1, M + 1)]
    gammas = [sp.Matrix([sp.Symbol(f"gamma_{m}_{j + 1}") if form != "momentum" else sp.Integer(0) for j in range(n)])
              for m in range(1, M + 1)]
    free = ([x for x in betas if isinstance(x, sp.Symbol)] + [x for g in gammas for x in g if isinstance(x, sp.Symbol)]
            + list(b))
    return free, b, betas, gammas


def _learned_values(method: MultistepMethod, free: list[sp.Symbol]) -> dict[sp.Symbol, float]:
    out = {}
    for s in free:
        parts = s.name.split("_")
        if parts[0] == "b":
            out[s] = float(method.b[int(parts[1]) - 1])
        elif parts[0] == "beta":
            out[s] = float(method.betas[int(parts[1]) - 1])
        else:
            out[s] = float(method.gammas[int(parts[1]) - 1, int(parts[2]) - 1])
    return out


def _method_from(W: list[list[sp.Expr]], values: dict[sp.Symbol, sp.Expr], n: int, M: int, name: str | None) -> MultistepMethod:
    by = {s.name: v for s, v in values.items()}
    z = sp.Integer(0)
    return MultistepMethod(W, [by.get(f"b_{j + 1}", z) for j in range(n)], [by.get(f"beta_{m}", z) for m in range(1, M + 1)],
                           [[by.get(f"gamma_{m}_{j + 1}", z) for j in range(n)] for m in range(1, M + 1)], name=name)


def _w_candidates(method: MultistepMethod, radius: float, max_den: int, limit: int) -> list[tuple[list[list[sp.Expr]], float, int]]:
    """Exact W near the learned one: ``(W, largest entry change, largest denominator)``, in
    increasing total distance (best-first over the per-entry nearest fractions)."""
    n = method.stages
    pos = [(j, l) for j in range(n) for l in range(j)]
    if not pos:
        return [([[sp.Integer(0)] * n for _ in range(n)], 0.0, 1)]
    lists = [_nearest_fractions(float(method.W[j, l]), radius * max(1.0, abs(float(method.W[j, l]))), max_den, limit=4) for j, l in pos]
    if any(not c for c in lists):
        return []
    costs = [[abs(float(f) - float(method.W[j, l])) for f in c] for c, (j, l) in zip(lists, pos)]
    heap = [(sum(c[0] for c in costs), tuple(0 for _ in pos))]
    seen = {heap[0][1]}
    out = []
    while heap and len(out) < limit:
        total, idx = heapq.heappop(heap)
        W = [[sp.Integer(0)] * n for _ in range(n)]
        for (j, l), c, i in zip(pos, lists, idx):
            W[j][l] = sp.Rational(c[i].numerator, c[i].denominator)
        out.append((W, max(costs[k][i] for k, i in enumerate(idx)), max(lists[k][i].denominator for k, i in enumerate(idx))))
        for k in range(len(idx)):
            if idx[k] + 1 < len(lists[k]):
                nxt = idx[:k] + (idx[k] + 1,) + idx[k + 1:]
                if nxt not in seen:
                    seen.add(nxt)
                    heapq.heappush(heap, (total - costs[k][idx[k]] + costs[k][idx[k] + 1], nxt))
    return out


def _solutions(eqs: list[sp.Expr], free: list[sp.Symbol], x0: dict[sp.Symbol, float], radius: float,
               max_den: int) -> tuple[list[dict[sp.Symbol, sp.Expr]], list[sp.Symbol]] | None:
    """Exact solutions of the linear conditions near ``x0``: the point, or snapped members of
    the family (with the coordinates that were snapped); None when there is none."""
    A, rhs = sp.linear_eq_to_matrix(eqs, free)
    try:
        sol, params = A.gauss_jordan_solve(rhs)
    except ValueError:
        return None
    tau = list(params)
    general = dict(zip(free, list(sol)))
    if not tau:
        return [general], []
    chosen: list[sp.Symbol] = []
    for s in free:   # coordinates in preference order that parametrise the family
        if len(chosen) == len(tau):
            break
        trial = chosen + [s]
        J = sp.Matrix([[sp.diff(general[c], t) for t in tau] for c in trial])
        if J.rank() == len(trial):
            chosen = trial
    snaps = [_nearest_fractions(x0[c], radius * max(1.0, abs(x0[c])), max_den) for c in chosen]
    out = []
    for combo in itertools.product(*snaps):
        st = sp.solve([sp.Eq(general[c], sp.Rational(f.numerator, f.denominator)) for c, f in zip(chosen, combo)], tau, dict=True)
        if st:
            out.append({s: sp.nsimplify(general[s].subs(st[0])) for s in free})
    return out, chosen


def distill_multistep(method: MultistepMethod, *, form: str = "full", max_order: int | None = None, radius: float = 0.3,
                      max_denominator: int = 12, max_w_candidates: int = 12) -> MultistepDistillation:
    """The nearest simple exact zero-stable method of the highest attainable order (module docstring)."""
    from .multistep import _elementary_weights

    log: list[str] = []
    n, M = method.stages, method.memory
    free, bsym, betas, gammas = _free_symbols(n, M, form)
    x0 = _learned_values(method, free)
    top = min(len(free), 6) if max_order is None else max_order
    Ws = _w_candidates(method, radius, max_denominator, max_w_candidates)
    if not Ws:
        log.append("no exact inner weights W within the radius")
        return MultistepDistillation(None, None, None, tuple(log))
    tab = tree_table(top)
    phis = {id(W): _elementary_weights(sp.Matrix(W), bsym, betas, gammas, top, True) for W, _, _ in Ws}
    for p in range(top, 0, -1):
        N = tab.offsets[p + 1]
        best: tuple[int, float, MultistepMethod, str] | None = None
        tried = 0
        for W, w_dist, w_den in Ws:
            eqs = [sp.expand(phis[id(W)][i] - sp.Rational(1, tab.gamma[i])) for i in range(N)]
            found = _solutions(eqs, free, x0, radius, max_denominator)
            if found is None:
                continue
            cands, chosen = found
            tried += len(cands)
            for cand in cands:
                if max(abs(float(cand[s]) - x0[s]) / max(1.0, abs(x0[s])) for s in free) > radius:
                    continue
                exact = _method_from(W, cand, n, M, method.name)
                if not exact.zero_stability().stable or multistep_order(exact, max_order=p).order < p:
                    continue
                dist = max([abs(float(cand[s]) - x0[s]) for s in free] + [w_dist])
                simplicity = max([sp.Rational(cand[c]).q for c in chosen] + [w_den])
                how = ", ".join([c.name for c in chosen] + (["W"] if n > 1 else []))
                if best is None or (simplicity, dist) < best[:2]:
                    best = (simplicity, dist, exact, how)
        if best is None:
            log.append(f"order {p}: no zero-stable exact method within the radius ({tried} candidate(s))")
            continue
        log.append(f"order {p}: exact zero-stable method found (moved {best[1]:.3g}" + (f", {best[3]} snapped)" if best[3] else ")"))
        return MultistepDistillation(best[2], f"order {p}", best[1], tuple(log))
    return MultistepDistillation(None, None, None, tuple(log))
