"""Batched L-BFGS: M independent minimisations, one batched loss evaluation per round.

The second training phase of :func:`algodiscover.training.train` (one model, M = 1) and of
:mod:`algodiscover.ensemble` (M same-shape models): one implementation, so a model trained
in an ensemble follows the same algorithm, branch for branch, as when trained alone.

The iterate of model m is row m of an (M, P) tensor. Models are not kept in step: each
round evaluates every active model's next trial point in one call of
``evaluate(X, rows)``; all other work is row-wise tensor arithmetic (reductions only inside
a row), so rows never interact.

Algorithm (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Alg. 7.4, 7.5): direction
``d = -H g`` by the two-loop recursion over the last ``history`` pairs ``(s, y)`` with
``H0 = (s.y / y.y) I``, a pair kept only when ``s.y > 1e-10 |s| |y|``; the first step is
steepest descent of length ``min(1, 1/|g|_1)``. Line search: the weak Wolfe conditions
``f(x + t d) <= f + c1 t g.d`` and ``g(x + t d).d >= c2 g.d`` by bisection and doubling
(Lewis & Overton, Math. Program. 141, 2013), which uses no differences of loss values to
choose t. A model stops at ``max_iter`` iterations or ``max_eval`` evaluations; when the
step's predicted decrease ``-g.d`` or an iteration's actual decrease is at most ``rtol``
times the loss (both decided well above rounding level, so that a perturbation of the loss
by a few ulps does not change the stopping iteration of a well-conditioned run); when
``max |g| <= gtol``; or when its line search finds no Wolfe point in ``max_ls`` trials
(after taking the last trial point of sufficient decrease, if any).

May import torch only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["LbfgsSettings", "LbfgsResult", "lbfgs"]

Tensor = torch.Tensor
#: ``evaluate(X, rows)``: losses (R,) and gradients (R, P) at the iterates ``X`` (R, P) of
#: the models ``rows`` (R,). A non-finite loss marks a failed trial point.
Evaluate = Callable[[Tensor, Tensor], "tuple[Tensor, Tensor]"]


@dataclass(frozen=True)
class LbfgsSettings:
    """Stopping rules and line-search constants (see the module docstring)."""

    max_iter: int
    max_eval: int
    history: int = 50
    c1: float = 1e-4
    c2: float = 0.9
    rtol: float = 1e-12
    gtol: float = 1e-15
    max_ls: int = 25

    @classmethod
    def for_steps(cls, steps: int) -> "LbfgsSettings":
        """The settings of ``train.lbfgs_steps = steps``: at most ``steps`` iterations and
        ``1.5 steps + 10`` loss evaluations."""
        return cls(max_iter=steps, max_eval=int(steps * 1.5) + 10)


@dataclass(frozen=True)
class LbfgsResult:
    """Final iterates (M, P) and losses (M,), and the iterations and evaluations each model
    used (the first evaluation, at ``x0``, included)."""

    x: Tensor
    f: Tensor
    iterations: list[int]
    evaluations: list[int]


def lbfgs(evaluate: Evaluate, x0: Tensor, settings: LbfgsSettings, *, on_iteration: Callable[[int], None] | None = None) -> LbfgsResult:
    """Minimise each row of ``x0`` (M, P) independently.

    Models are not kept in step: each round evaluates every model's next trial point, one
    model may be in its first line-search trial while another is in its fifth.
    ``on_iteration(n)`` is called when the most advanced model completes iteration n.
    """
    st = settings
    M, P = x0.shape
    hs = max(1, min(st.history, st.max_iter))
    x = x0.detach().clone()
    f, g = evaluate(x, torch.arange(M))
    evals = torch.ones(M, dtype=torch.long)
    iters = torch.zeros(M, dtype=torch.long)
    S, Y = x.new_zeros(M, hs, P), x.new_zeros(M, hs, P)    # pairs (s, y), newest last
    rho = x.new_zeros(M, hs)                                # 1 / s.y; 0 in unused slots
    stored = torch.zeros(M, dtype=torch.long)
    gamma = x.new_ones(M)                                   # H0 = gamma I
    # line-search state: direction, slope, trial step, bracket, trials, best sufficient-decrease point
    d, gtd, t = torch.zeros_like(x), x.new_zeros(M), x.new_zeros(M)
    lo, hi, trials = x.new_zeros(M), x.new_zeros(M), torch.zeros(M, dtype=torch.long)
    xc, fc, gc, has_c = torch.zeros_like(x), x.new_zeros(M), torch.zeros_like(x), torch.zeros(M, dtype=torch.bool)
    active = torch.isfinite(f) & (g.abs().amax(dim=1) > st.gtol) & (st.max_iter > 0) & (evals < st.max_eval)
    new_dir = active.clone()
    done_iters = 0
    while True:
        r = (active & new_dir).nonzero().squeeze(1)
        if len(r):
            d[r] = _two_loop(g[r], S[r], Y[r], rho[r], gamma[r], int(stored[r].max()))
            gtd[r] = (g[r] * d[r]).sum(dim=1)
            t[r] = torch.where(iters[r] == 0, (1.0 / g[r].abs().sum(dim=1)).clamp(max=1.0), torch.ones_like(t[r]))
            lo[r], hi[r], trials[r], has_c[r] = 0.0, math.inf, 0, False
            new_dir[r] = False
            # converged: the step would lower the loss by at most about rtol |f| (or g = 0)
            active[r[-gtd[r] <= st.rtol * f[r].abs()]] = False
        k = active.nonzero().squeeze(1)
        if not len(k):
            break
        xt = x[k] + t[k, None] * d[k]
        ft, gt = evaluate(xt, k)
        evals[k] += 1
        trials[k] += 1
        decrease = torch.isfinite(ft) & (ft <= f[k] + st.c1 * t[k] * gtd[k])
        wolfe = decrease & ((gt * d[k]).sum(dim=1) >= st.c2 * gtd[k])
        kd = k[decrease]                                    # remember the last sufficient-decrease point
        xc[kd], fc[kd], gc[kd], has_c[kd] = xt[decrease], ft[decrease], gt[decrease], True
        hi[k] = torch.where(decrease, hi[k], t[k])
        lo[k] = torch.where(decrease & ~wolfe, t[k], lo[k])
        t[k] = torch.where(torch.isinf(hi[k]), 2.0 * lo[k], 0.5 * (lo[k] + hi[k]))
        ended = wolfe | (trials[k] >= st.max_ls) | (evals[k] >= st.max_eval)
        step = k[ended & has_c[k]]
        if len(step):
            _update_memory(step, xc[step] - x[step], gc[step] - g[step], S, Y, rho, stored, gamma)
            small = f[step] - fc[step] <= st.rtol * f[step].abs()
            x[step], f[step], g[step] = xc[step], fc[step], gc[step]
            iters[step] += 1
            active[step[small | (g[step].abs().amax(dim=1) <= st.gtol)]] = False
            new_dir[step] = True
        active[k[ended & ~wolfe]] = False                   # search failed: stop (after its best step)
        active &= (iters < st.max_iter) & (evals < st.max_eval)
        if on_iteration is not None and int(iters.max()) > done_iters:
            done_iters = int(iters.max())
            on_iteration(done_iters)
    return LbfgsResult(x, f, iters.tolist(), evals.tolist())


def _update_memory(m: Tensor, s: Tensor, y: Tensor, S: Tensor, Y: Tensor, rho: Tensor, stored: Tensor, gamma: Tensor) -> None:
    """Append the pairs (s, y) of the models ``m`` whose curvature s.y is clearly positive."""
    ys = (s * y).sum(dim=1)
    yy = (y * y).sum(dim=1)
    keep = ys > 1e-10 * torch.sqrt(yy * (s * s).sum(dim=1))
    mk = m[keep]
    if len(mk):
        S[mk] = torch.cat([S[mk, 1:], s[keep, None]], dim=1)
        Y[mk] = torch.cat([Y[mk, 1:], y[keep, None]], dim=1)
        rho[mk] = torch.cat([rho[mk, 1:], (1.0 / ys[keep])[:, None]], dim=1)
        stored[mk] = (stored[mk] + 1).clamp(max=S.shape[1])
        gamma[mk] = ys[keep] / yy[keep]


def _two_loop(g: Tensor, S: Tensor, Y: Tensor, rho: Tensor, gamma: Tensor, n: int) -> Tensor:
    """``-H g`` for each row by the two-loop recursion over the newest ``n`` slots (a row
    with fewer pairs has rho = 0 in the others, which then change nothing)."""
    hs = S.shape[1]
    Ss, Ys, rs = S[:, hs - n:].unbind(1), Y[:, hs - n:].unbind(1), rho[:, hs - n:].unbind(1)
    vecdot = torch.linalg.vecdot
    q = -g
    alphas = []
    for s, y, r in zip(reversed(Ss), reversed(Ys), reversed(rs)):
        a = (r * vecdot(s, q)).unsqueeze(1)
        q = torch.addcmul(q, a, y, value=-1.0)
        alphas.append(a)
    q = gamma.unsqueeze(1) * q
    for s, y, r, a in zip(Ss, Ys, rs, reversed(alphas)):
        q = torch.addcmul(q, a - (r * vecdot(y, q)).unsqueeze(1), s)
    return q
