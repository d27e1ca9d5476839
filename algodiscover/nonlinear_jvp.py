"""Learned Newton-type iterations for ``F(x) = 0`` whose inner evaluations mix F and exact
Jacobian-vector products (issue 15, nonlinear part).

The structure is ``[model] derivatives``: one token per stage, ``"F"`` or ``"jvp"`` (or the
shorthand ``"jvp"`` for ``["F", "jvp", ..., "jvp"]``), and ``[nonlinear] step_length``. One
outer step (:mod:`algodiscover.analysis.convergence_order` has the maths and the analysis)::

    v_1 = -F(x)
    z_j = x + h sum_{l<j} W[j, l] v_l
    v_j = -F(z_j)                 ("F")
    v_j = J(z_j) v_{j-1}          ("jvp": exact forward-mode AD, torch.func.jvp, along the
                                    previous stage value; at z_j = x a Krylov chain -F, -JF, ...)
    s   = h sum_j b[j] v_j
    x  <- x + s                                  (step_length "learned")
    x  <- x + alpha s, alpha = <v_1, u>/<u, u>,  u = J(x) s   ("minimal-residual")

so ``s = -h p(J) F`` near a root with a learned polynomial p (with shifted points z_j also
second-derivative terms); the minimal-residual length makes the step exact Newton on scalar
problems (``alpha s = -F/F'``). Training and solving use the same exact JVPs; the cost of one
JVP relative to one F is measured (:func:`measure_jvp_cost`) and recorded in the artefact.

May import torch.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .analysis.convergence_order import NONLINEAR_TOKENS, STEP_LENGTHS, evaluation_cost, pseudocode
from .errors import InputError
from .linear import SolveResult
from .nonlinear_baselines import forward_jvp, safeguarded_iteration

__all__ = ["JvpR2N2", "JvpSolver", "measure_jvp_cost", "jvp_loss", "batched_jvp"]

Tensor = torch.Tensor


def batched_jvp(F: Callable[[Tensor], Tensor], Z: Tensor, V: Tensor) -> Tensor:
    """Row-wise ``J(z_b) v_b`` for a batch (F acts row by row), exact forward-mode AD."""
    return torch.func.jvp(F, (Z,), (V,))[1]


def _check_pattern(pattern: Sequence[str]) -> tuple[str, ...]:
    p = tuple(pattern)
    if not p or p[0] != "F" or any(t not in NONLINEAR_TOKENS for t in p):
        raise InputError(f"model.derivatives: a nonlinear pattern starts with F and uses F, jvp; got {list(p)}")
    return p


class JvpR2N2(nn.Module):
    """The learned iteration for training: weights ``W`` (strictly lower), ``b``, ``h = exp(log_h)``.

    ``init``: ``"random"`` (b = e_1 + noise, W noise: a damped Picard step to start) or
    ``"zeros"`` (b = e_1, W = 0)."""

    def __init__(self, pattern: Sequence[str], outer: int, *, step_length: str = "learned", h0: float = 1.0, seed: int = 0,
                 init: str = "random", init_scale: float = 0.1) -> None:
        super().__init__()
        self.pattern = _check_pattern(pattern)
        if step_length not in STEP_LENGTHS:
            raise InputError(f"nonlinear.step_length must be one of {', '.join(STEP_LENGTHS)}, got {step_length!r}")
        if init not in ("random", "zeros"):
            raise InputError(f"model.init must be random or zeros for a nonlinear JVP iteration, got {init!r}")
        n = len(self.pattern)
        self.stages, self.outer, self.step_length = n, outer, step_length
        self._rows, self._cols = np.tril_indices(n, -1)
        gen = torch.Generator().manual_seed(int(seed))
        scale = init_scale if init == "random" else 0.0
        w = scale * torch.randn(len(self._rows), generator=gen, dtype=torch.float64)
        b = scale * torch.randn(n, generator=gen, dtype=torch.float64)
        b[0] = b[0] + 1.0
        self.w_raw = nn.Parameter(w)
        self.b_raw = nn.Parameter(b)
        self.log_h = nn.Parameter(torch.tensor(math.log(h0), dtype=torch.float64))

    def W(self) -> Tensor:
        W = torch.zeros(self.stages, self.stages, dtype=torch.float64)
        if len(self._rows):
            W = W.index_put((torch.as_tensor(self._rows), torch.as_tensor(self._cols)), self.w_raw)
        return W

    def b(self) -> Tensor:
        return self.b_raw

    def h(self) -> Tensor:
        return self.log_h.exp()

    def step(self, F: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
        W, b, h = self.W(), self.b(), self.h()
        vs: list[Tensor] = []
        for j, tok in enumerate(self.pattern):
            z = x
            for l in range(j):
                z = z + h * W[j, l] * vs[l]
            vs.append(-F(z) if tok == "F" else batched_jvp(F, z, vs[j - 1]))
        s = b[0] * vs[0]
        for j in range(1, self.stages):
            s = s + b[j] * vs[j]
        s = h * s
        if self.step_length == "minimal-residual":
            u = batched_jvp(F, x, s)
            alpha = (vs[0] * u).sum(1, keepdim=True) / (u * u).sum(1, keepdim=True).clamp_min(1e-300)
            s = alpha * s
        return x + s

    def iterate(self, F: Callable[[Tensor], Tensor], x0: Tensor, outer: int | None = None, return_all: bool = False):
        xs, x = [], x0
        for _ in range(self.outer if outer is None else outer):
            x = self.step(F, x)
            xs.append(x)
        return xs if return_all else x


def jvp_loss(model: JvpR2N2, F: Callable[[Tensor], Tensor], x0: Tensor, outer: int, weight_base: float) -> Callable[[], Tensor]:
    """The published R2N2 loss: mean over the batch of ``sum_k w^k ||F(x_k)||^2 / ||F(x_0)||^2``."""
    with torch.no_grad():
        r0 = (F(x0) ** 2).sum(1).clamp_min(1e-300)
    w = [weight_base**k for k in range(1, outer + 1)]

    def loss() -> Tensor:
        xs = model.iterate(F, x0, outer=outer, return_all=True)
        total = torch.zeros((), dtype=torch.float64)
        for k, x in enumerate(xs):
            total = total + w[k] * ((F(x) ** 2).sum(1) / r0).mean()
        return total

    return loss


def measure_jvp_cost(residual: Callable[[Tensor, Tensor], Tensor], X: Tensor, P: Tensor, *, rounds: int = 201) -> dict[str, Any]:
    """Seconds per call of ``F = residual(., P)`` and of one exact forward-mode ``J(x) v`` (``torch.func.jvp``)
    on one instance ``X[:1]`` (as the solvers call them) and on the batch ``X`` (as training
    does), no autograd recording; ratios are medians over interleaved rounds of the per-round
    ratio. ``jvp_in_F`` (the one-instance ratio) is what a JVP counts in F-evaluation equivalents."""
    out: dict[str, Any] = {"source": "measured",
                           "implementation": ("exact forward-mode AD of the family's torch residual: dual numbers "
                                              "(torch.autograd.forward_ad) at solve time (jvp_over_F), torch.func.jvp in "
                                              "training (func_jvp_over_F, for comparison)")}
    with torch.no_grad():
        for label, Y, Q in (("instance", X[:1].detach().clone(), P[:1]), ("batch", X.detach().clone(), P)):
            V = torch.ones_like(Y) / math.sqrt(Y.shape[1])
            F = (lambda Q: (lambda Z: residual(Z, Q)))(Q)
            cases = {"F": lambda Y=Y, F=F: F(Y), "jvp": lambda Y=Y, V=V, F=F: forward_jvp(F, Y, V),
                     "func_jvp": lambda Y=Y, V=V, F=F: batched_jvp(F, Y, V)}
            for fn in cases.values():
                for _ in range(5):
                    fn()
            samples: dict[str, list[float]] = {k: [] for k in cases}
            order = list(cases)
            for r in range(rounds):
                for k in order[r % 3:] + order[:r % 3]:  # each case first in turn: no position bias
                    t0 = time.perf_counter()
                    cases[k]()
                    samples[k].append(time.perf_counter() - t0)
            out[f"jvp_over_F_{label}"] = statistics.median(a / b for a, b in zip(samples["jvp"], samples["F"]))
            out[f"func_jvp_over_F_{label}"] = statistics.median(a / b for a, b in zip(samples["func_jvp"], samples["F"]))
            out[f"F_seconds_{label}"] = statistics.median(samples["F"])
            out[f"jvp_seconds_{label}"] = statistics.median(samples["jvp"])
            out[f"{label}_shape"] = [int(Y.shape[0]), int(Y.shape[1])]
    out["jvp_in_F"] = out["jvp_over_F_instance"]
    out["rounds"] = rounds
    out["threads"] = torch.get_num_threads()
    out["statistic"] = ("median over interleaved rounds of the per-round time ratio jvp / F; jvp_in_F is the one-instance "
                        "ratio (the solvers' call), counted for every JVP stage and minimal-residual step")
    return out


class JvpSolver:
    """The learned JVP iteration as a solver for ``F(x) = 0`` with a numpy residual and an
    exact JVP ``jvp(x, v)`` (numpy in, numpy out).

    :meth:`solve` returns :class:`~algodiscover.linear.SolveResult` (``nmatvec`` counts F
    evaluations and JVPs together); a step is accepted when ``||F(x_new)|| <= safeguard_rate
    ||F(x)||``, else halved (``max_backtracks`` times), as in :class:`~algodiscover.nonlinear.NonlinearSolver`."""

    uses_jvp = True

    def __init__(self, pattern: Sequence[str], W: Any, b: Any, h: float, *, step_length: str = "learned", safeguard_rate: float = 1.0,
                 max_backtracks: int = 4, jvp_in_F: float = 1.0, name: str = "learned JVP iteration") -> None:
        self.pattern = _check_pattern(pattern)
        n = len(self.pattern)
        self.W = np.asarray(W, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64).reshape(-1)
        if self.W.shape != (n, n) or self.b.shape != (n,):
            raise InputError(f"a {n}-stage JVP iteration needs W {n} x {n} and b of length {n}")
        if np.any(np.triu(self.W) != 0) or not np.all(np.isfinite(self.W)) or not np.all(np.isfinite(self.b)):
            raise InputError("W must be finite and strictly lower triangular, b finite")
        if not (math.isfinite(h) and h > 0):
            raise InputError(f"h must be a positive number, got {h!r}")
        if step_length not in STEP_LENGTHS:
            raise InputError(f"step_length must be one of {', '.join(STEP_LENGTHS)}, got {step_length!r}")
        self.h, self.step_length = float(h), step_length
        self.safeguard_rate, self.max_backtracks = float(safeguard_rate), int(max_backtracks)
        self.jvp_in_F, self.name = float(jvp_in_F), name
        self.mode = "jvp"

    def __repr__(self) -> str:
        b = [float(f"{v:.6g}") for v in self.b]
        W = [[float(f"{v:.6g}") for v in row[:i]] for i, row in enumerate(self.W) if i]
        return (f"{type(self).__name__}({self.name!r}: stages={list(self.pattern)}, step_length={self.step_length!r}, "
                f"h={self.h:.6g}, b={b}" + (f", W_lower={W}" if W else "")
                + f", cost_per_step={self.cost_per_step:.4g} F (one JVP = {self.jvp_in_F:.3g} F))")

    @property
    def jvps_per_step(self) -> int:
        return sum(1 for t in self.pattern if t == "jvp") + (1 if self.step_length == "minimal-residual" else 0)

    @property
    def cost_per_step(self) -> float:
        return evaluation_cost(self.pattern, self.step_length, self.jvp_in_F)

    def pseudocode(self) -> str:
        return pseudocode(self.pattern, self.W.tolist(), self.b.tolist(), self.h, self.step_length)

    def _step(self, F: Callable[[np.ndarray], np.ndarray], jvp: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray,
              fx: np.ndarray) -> np.ndarray:
        W, b, h = self.W, self.b, self.h
        vs = [-fx]
        for j in range(1, len(self.pattern)):
            z = x + h * sum((W[j, l] * vs[l] for l in range(j) if W[j, l] != 0.0), np.zeros_like(x))
            vs.append(-np.asarray(F(z), dtype=np.float64) if self.pattern[j] == "F" else np.asarray(jvp(z, vs[j - 1]), dtype=np.float64))
        s = h * sum((b[j] * vs[j] for j in range(len(b)) if b[j] != 0.0), np.zeros_like(x))
        if self.step_length == "minimal-residual":
            u = np.asarray(jvp(x, s), dtype=np.float64)
            uu = float(u @ u)
            s = (float(vs[0] @ u) / uu) * s if uu > 0 else s
        return s

    def solve(self, F: Callable[[np.ndarray], np.ndarray], x0: Any, *, jvp: Callable[[np.ndarray, np.ndarray], np.ndarray],
              tol: float = 1e-10, maxiter: int = 200, max_evaluations: int | None = None,
              callback: Callable[[np.ndarray], Any] | None = None) -> SolveResult:
        """Iterate until ``||F(x)||_2 <= tol``; ``maxiter`` counts outer steps."""
        per_step = len(self.pattern) - 1 + (1 if self.step_length == "minimal-residual" else 0)
        return safeguarded_iteration(F, np.asarray(x0, dtype=np.float64), lambda x, fx: (self._step(F, jvp, x, fx), per_step),
                                     tol=tol, maxiter=maxiter, max_evaluations=max_evaluations, callback=callback,
                                     rate=self.safeguard_rate, max_backtracks=self.max_backtracks)
