"""Training objectives of a linear R2N2 with memory (the minimax and spectral ones).

With memory ``M`` one outer iteration no longer multiplies the residual by a fixed
polynomial: the residual obeys the recurrence ``r_{k+1} = sum_m c_m(A) r_{k-m}``
(:func:`~algodiscover.analysis.memory.memory_recurrence`). The objectives therefore unroll the
memory iteration itself, with its start-up rule (``M`` plain R2N2 steps), and measure the mean
residual reduction per outer iteration ``rho = (||r_K|| / ||r_0||)^(1/K)``; every state kept in
the history is renormalised after each iteration by the same factor (the iteration is linear
and homogeneous on ``A y = 0``, so this changes nothing but the scale), so nothing under- or
overflows however long the horizon:

``"spectral"``
    soft maximum (temperature ``linear.temperature``) of ``log rho(lambda)`` over
    :func:`~algodiscover.linear.spectral_points` of the family's spectrum, the iteration run
    on the scalar problems ``y' = -lambda y`` from ``y = 1`` for ``K = model.outer`` outer
    iterations: cheap (no systems) and, for a long horizon, the asymptotic factor of the
    recurrence (the spectral radius of its companion matrix) with the transient it pays
    within K iterations;
``"minimax"``
    the same over the training systems, ``K = linear.minimax_outer``.

The residual objective needs nothing here: :meth:`~algodiscover.model.R2N2.forward` unrolls
the memory iteration. May import torch and the learning side's model, memory and linear
modules.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

import numpy as np
import torch

from .errors import InputError
from .memory import MemoryHistory, memory_increment

__all__ = ["memory_log_factors", "memory_spectral_loss", "memory_minimax_loss", "memory_loss"]

Tensor = torch.Tensor


def memory_log_factors(model: Any, g: Callable[[Tensor], Tensor], y0: Tensor, outer: int) -> Tensor:
    """``log rho_i = log(||y_K|| / ||y_0||) / K`` per row of ``y0`` (unit rows), the memory
    iteration with its start-up steps unrolled on the homogeneous linear map ``g``
    (``g(Y) = -A Y``), renormalised after every iteration."""
    from .model import _as_column

    M = model.memory_depth
    h = model.h()
    hh = _as_column(h, y0)
    hist = MemoryHistory(M)
    hist.start(y0)
    x = y0
    logs = torch.zeros(y0.shape[0], dtype=torch.float64)
    for k in range(outer):
        vs = model.inner(model, g, x, hh)
        x_next = x + hh * model._assemble(vs)
        if k >= M:
            x_next = x_next + memory_increment(model.memory, hist, hh)
        hist.push(vs, x_next)
        nrm = torch.linalg.vector_norm(x_next, dim=1) + 1e-300
        logs = logs + torch.log(nrm)
        col = nrm.unsqueeze(1)
        hist.xs = deque((t / col for t in hist.xs), maxlen=hist.xs.maxlen)
        hist.vs = deque(([v / col for v in vs_k] for vs_k in hist.vs), maxlen=hist.vs.maxlen)
        x = hist.xs[-1]
    return logs / outer


def memory_spectral_loss(model: Any, spectrum: Any, grid: int, temperature: float, outer: int) -> Callable[[], Tensor]:
    """Soft maximum of ``log rho(lambda)`` over the spectral points (module docstring)."""
    from .linear import _soft_max_log, spectral_points

    pts = spectral_points(spectrum, grid)
    if np.iscomplexobj(pts):
        raise InputError("linear.objective = \"spectral\" with memory needs a real spectrum; use the minimax or residual objective")
    lam = torch.from_numpy(np.ascontiguousarray(pts, dtype=np.float64)).reshape(-1, 1)
    y0 = torch.ones_like(lam)

    def g(Y: Tensor) -> Tensor:
        return -lam * Y

    def loss() -> Tensor:
        return _soft_max_log(memory_log_factors(model, g, y0, outer), temperature)

    return loss


def memory_minimax_loss(model: Any, probs: Any, outer: int, temperature: float) -> Callable[[], Tensor]:
    """Soft maximum over the training systems of ``log rho_i`` (module docstring)."""
    from .linear import _soft_max_log, unit_residual_problem

    g, r0 = unit_residual_problem(probs)

    def loss() -> Tensor:
        return _soft_max_log(memory_log_factors(model, g, r0, outer), temperature)

    return loss


def memory_loss(model: Any, opts: Any, family: Any, probs: Any, outer: int) -> Callable[[], Tensor]:
    """The minimax or spectral objective of a model with memory (``outer`` = model.outer)."""
    M = model.memory_depth
    if opts.objective == "minimax":
        if opts.minimax_outer < M + 1:
            raise InputError(f"linear.minimax_outer must be at least model.memory + 1 = {M + 1} with memory, got {opts.minimax_outer}")
        return memory_minimax_loss(model, probs, opts.minimax_outer, opts.temperature)
    if opts.objective == "spectral":
        return memory_spectral_loss(model, family.spectrum, opts.grid, opts.temperature, outer)
    raise InputError(f"memory_loss: objective {opts.objective!r} is not a soft-maximum objective")
