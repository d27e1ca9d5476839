"""Distillation of a learned multistep method onto exact order conditions.

For one stage the method is the linear multistep method of ``(b, beta, gamma)``
(:func:`analysis.memory.linear_multistep`), and its order conditions
``C_q = sum_j alpha_j j^q - q sum_j beta_j j^(q-1) = 0`` are *linear* in the free weights
``x`` (``b``, the betas unless the form is ``"adams"``, the gammas unless it is
``"momentum"``). For each target order p, most ambitious first:

1. solve ``C_1..C_p = 0`` exactly (sympy): no solution, a point, or an affine family of
   dimension d;
2. for a family, choose d coordinates that parametrise it (the betas first: they fix
   ``rho`` and so zero-stability; then the gammas, then b), snap each to one of the eight
   fractions with denominator <= ``max_denominator`` nearest to its learned value and solve
   for the others;
3. keep candidates within ``radius`` (each weight moves by at most ``radius max(1, |x|)``)
   that are **zero-stable** in exact arithmetic; the simplest wins (smallest denominator
   of the snapped coordinates), the nearest among equally simple ones.

Order p > M + 1 is never zero-stable for an explicit (M+1)-step method (Dahlquist's barrier),
so those targets fail at step 3 and the search falls through to the attainable order. Every
result is verified exactly (order and root condition) before it is returned. A method with
more than one stage is only rationalised entry by entry (:func:`rationalise_multistep`): its
order conditions are nonlinear and it is reported with its float order and measured order.

Imports numpy, sympy and analysis modules (:mod:`.memory`, :mod:`.multistep`, :mod:`.rationals`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .memory import LinearMultistep
from .multistep import MultistepMethod, multistep_order
from .rationals import rationalize_value

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


def _symbolic_lmm(M: int, form: str) -> tuple[list[sp.Symbol], LinearMultistep]:
    """The one-stage memory-M method with symbolic free weights (fixed ones are 0)."""
    bsym = sp.Symbol("b")
    betas = [sp.Symbol(f"beta_{m}") if form != "adams" else sp.Integer(0) for m in range(1, M + 1)]
    gammas = [sp.Symbol(f"gamma_{m}") if form != "momentum" else sp.Integer(0) for m in range(1, M + 1)]
    k = M + 1
    alpha = [sp.Integer(0)] * (k + 1)
    beta = [sp.Integer(0)] * (k + 1)
    alpha[k] = sp.Integer(1)
    alpha[k - 1] -= 1
    beta[k - 1] += bsym
    for m in range(1, M + 1):
        alpha[k - m] -= betas[m - 1]
        alpha[k - 1 - m] += betas[m - 1]
        beta[k - 1 - m] += gammas[m - 1]
    free = [x for x in betas if isinstance(x, sp.Symbol)] + [x for x in gammas if isinstance(x, sp.Symbol)] + [bsym]
    return free, LinearMultistep(tuple(alpha), tuple(beta))


def _learned_values(method: MultistepMethod, free: list[sp.Symbol]) -> dict[sp.Symbol, float]:
    out = {}
    for s in free:
        name = s.name
        if name == "b":
            out[s] = float(method.b[0])
        elif name.startswith("beta_"):
            out[s] = float(method.betas[int(name[5:]) - 1])
        else:
            out[s] = float(method.gammas[int(name[6:]) - 1, 0])
    return out


def _method_from(values: dict[sp.Symbol, sp.Expr], M: int, name: str | None) -> MultistepMethod:
    def get(key: str) -> sp.Expr:
        for s, v in values.items():
            if s.name == key:
                return v
        return sp.Integer(0)

    return MultistepMethod([[0]], [get("b")], [get(f"beta_{m}") for m in range(1, M + 1)], [[get(f"gamma_{m}")] for m in range(1, M + 1)],
                           name=name)


def distill_multistep(method: MultistepMethod, *, form: str = "full", max_order: int | None = None, radius: float = 0.3,
                      max_denominator: int = 12) -> MultistepDistillation:
    """The nearest exact zero-stable one-stage method of the highest attainable order (module
    docstring); for more stages only direct rationalisation."""
    log: list[str] = []
    if method.stages != 1:
        exact = rationalise_multistep(method)
        log.append("more than one stage: no distillation onto the (nonlinear) multistep order conditions; "
                   + ("every weight rationalised directly" if exact is not None else "the weights are not simple exact numbers"))
        return MultistepDistillation(exact, None, None if exact is None else 0.0, tuple(log))
    M = method.memory
    free, lmm = _symbolic_lmm(M, form)
    x0 = _learned_values(method, free)
    top = len(free) if max_order is None else max_order
    residuals = lmm.residuals(top)
    for p in range(top, 0, -1):
        eqs = [sp.expand(r) for r in residuals[1:p + 1]]
        A, rhs = sp.linear_eq_to_matrix(eqs, free)
        try:
            sol, params = A.gauss_jordan_solve(rhs)
        except ValueError:
            log.append(f"order {p}: no method of this form has it")
            continue
        tau = list(params)
        best: tuple[int, float, MultistepMethod] | None = None
        chosen: list[sp.Symbol] = []
        if not tau:
            candidates = [dict(zip(free, list(sol)))]
        else:
            # the free parameters of gauss_jordan_solve stand for the non-pivot columns; re-express the family
            # through coordinates in preference order (betas, gammas, b) chosen to parametrise it
            general = dict(zip(free, list(sol)))
            for s in free:
                if len(chosen) == len(tau):
                    break
                trial = chosen + [s]
                J = sp.Matrix([[sp.diff(general[c], t) for t in tau] for c in trial])
                if J.rank() == len(trial):
                    chosen = trial
            snaps = [_nearest_fractions(x0[c], radius * max(1.0, abs(x0[c])), max_denominator) for c in chosen]
            candidates = []
            for combo in itertools.product(*snaps):
                eqs_t = [sp.Eq(general[c], sp.Rational(f.numerator, f.denominator)) for c, f in zip(chosen, combo)]
                st = sp.solve(eqs_t, tau, dict=True)
                if not st:
                    continue
                candidates.append({s: sp.nsimplify(general[s].subs(st[0])) for s in free})
        for cand in candidates:
            moved = max(abs(float(cand[s]) - x0[s]) / max(1.0, abs(x0[s])) for s in free)
            if moved > radius:
                continue
            exact = _method_from(cand, M, method.name)
            zs = exact.zero_stability()
            if not zs.stable:
                continue
            if multistep_order(exact, max_order=p + 1).order < p:
                continue
            dist = max(abs(float(cand[s]) - x0[s]) for s in free)
            simplicity = max([sp.Rational(cand[c]).q for c in chosen], default=1)
            if best is None or (simplicity, dist) < best[:2]:
                best = (simplicity, dist, exact)
        if best is None:
            log.append(f"order {p}: no zero-stable exact method within the radius ({len(candidates)} candidate(s))")
            continue
        how = f", {', '.join(c.name for c in chosen)} snapped" if chosen else ""
        log.append(f"order {p}: exact zero-stable method found (moved {best[1]:.3g}{how})")
        return MultistepDistillation(best[2], f"order {p}", best[1], tuple(log))
    return MultistepDistillation(None, None, None, tuple(log))
