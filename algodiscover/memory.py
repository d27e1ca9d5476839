"""The memory of an R2N2 outer iteration: weights, history and update, for every branch.

With memory ``M`` the outer update of iteration ``k`` adds to the memoryless step
``x_k + h sum_j b_j v_j^(k)`` the term

    sum_{m=1..M} ( beta_m (x_{k-m+1} - x_{k-m}) + h sum_j gamma_{m,j} v_j^(k-m) )

with scalar weights ``beta`` (M) and ``gamma`` (M x n) shared by every iteration
(:class:`MemoryWeights`), the last ``M + 1`` iterates and the inner evaluations of the last
``M`` iterations (:class:`MemoryHistory`). The first ``M`` iterations have no full history:
they follow a start-up rule chosen by the caller (:data:`STARTUP_RULES`): ``"rk"`` takes
plain memoryless R2N2 steps with the same ``(W, b)``; ``"rk4"`` takes classical RK4 steps
(:func:`classical_start`, ODEs); ``"exact"`` takes given values (ODE training: the reference
solution). Past evaluations at start-up states given from outside are computed with the
model's inner recurrence, so every memory step sees ``v^(k-m)`` of the same kind.

``form`` fixes which weights are free (:data:`MEMORY_FORMS`): ``"full"`` (beta and gamma),
``"adams"`` (beta = 0: only past evaluations are reused; one stage gives the
Adams-Bashforth form) and ``"momentum"`` (gamma = 0: only past differences, the heavy-ball
form). Fixed weights are buffers, not parameters, so optimisers never see them.

Nothing here knows the problem class: :class:`algodiscover.model.R2N2` unrolls the memory
iteration in :meth:`~algodiscover.model.R2N2.forward` for every branch. May import torch,
numpy and :mod:`algodiscover.errors` (and the analysis catalogue for :func:`classical_start`).
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Sequence

import torch
from torch import nn

from .errors import InputError

__all__ = ["MEMORY_FORMS", "STARTUP_RULES", "MemoryWeights", "MemoryHistory", "memory_increment", "classical_start"]

Tensor = torch.Tensor

#: Which memory weights are learned: both, only the past evaluations, only the past differences.
MEMORY_FORMS = ("full", "adams", "momentum")
#: Start-up rules for the first M iterations (``"rk4"`` and ``"exact"`` are for ODEs).
STARTUP_RULES = ("rk", "rk4", "exact")


class MemoryWeights(nn.Module):
    """``beta`` (M,) and ``gamma`` (M, n) of a memory-M update over n inner evaluations.

    ``betas`` / ``gammas`` give initial values (default zeros: the update starts as the
    memoryless R2N2); the parameters are ``beta`` (forms ``"full"``, ``"momentum"``) and
    ``gamma`` (forms ``"full"``, ``"adams"``), a fixed weight is a zero buffer of the same name.
    """

    def __init__(self, memory: int, stages: int, form: str = "full", *, betas: Sequence[float] | None = None,
                 gammas: Sequence[Sequence[float]] | None = None) -> None:
        super().__init__()
        if not isinstance(memory, int) or isinstance(memory, bool) or memory < 1:
            raise InputError(f"memory must be an integer >= 1, got {memory!r}")
        if form not in MEMORY_FORMS:
            raise InputError(f"memory form must be one of {', '.join(MEMORY_FORMS)}, got {form!r}")
        self.depth, self.stages, self.form = memory, stages, form
        beta = torch.zeros(memory, dtype=torch.float64) if betas is None else torch.tensor(list(betas), dtype=torch.float64)
        gamma = (torch.zeros(memory, stages, dtype=torch.float64) if gammas is None
                 else torch.tensor([list(g) for g in gammas], dtype=torch.float64))
        if beta.shape != (memory,) or gamma.shape != (memory, stages):
            raise InputError(f"memory weights need {memory} betas and {memory} x {stages} gammas")
        if form == "adams" and torch.any(beta != 0):
            raise InputError("memory form 'adams' has beta = 0; the initial betas are not zero")
        if form == "momentum" and torch.any(gamma != 0):
            raise InputError("memory form 'momentum' has gamma = 0; the initial gammas are not zero")
        if form in ("full", "momentum"):
            self.beta = nn.Parameter(beta)
        else:
            self.register_buffer("beta", beta)
        if form in ("full", "adams"):
            self.gamma = nn.Parameter(gamma)
        else:
            self.register_buffer("gamma", gamma)

    def extra_repr(self) -> str:
        return f"memory={self.depth}, stages={self.stages}, form={self.form}"


class MemoryHistory:
    """The last ``M + 1`` iterates ``x_{k-M}..x_k`` and the evaluations ``v^(k-M)..v^(k-1)``
    (oldest first), filled by :meth:`push` as the iteration runs."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.xs: deque[Tensor] = deque(maxlen=depth + 1)
        self.vs: deque[list[Tensor]] = deque(maxlen=depth)

    def start(self, x0: Tensor) -> None:
        self.xs.clear()
        self.vs.clear()
        self.xs.append(x0)

    def push(self, vs_k: list[Tensor], x_next: Tensor) -> None:
        """Record the evaluations of the iteration just done at ``x_k`` and its result ``x_{k+1}``."""
        self.vs.append(vs_k)
        self.xs.append(x_next)

    @property
    def full(self) -> bool:
        return len(self.vs) == self.depth


def memory_increment(weights: MemoryWeights, history: MemoryHistory, h: Tensor) -> Tensor:
    """``sum_m beta_m (x_{k-m+1} - x_{k-m}) + h sum_j gamma_{m,j} v_j^(k-m)`` from a full history
    (``h`` a scalar or a column broadcasting against the states)."""
    if not history.full:
        raise ValueError("memory_increment needs a full history (the first M iterations follow the start-up rule)")
    xs, vs = list(history.xs), list(history.vs)   # xs[-1] = x_k, vs[-1] = v^(k-1)
    acc: Tensor | None = None
    beta, gamma = weights.beta, weights.gamma
    for m in range(1, weights.depth + 1):
        terms = []
        if weights.form != "adams":
            terms.append(beta[m - 1] * (xs[-m] - xs[-m - 1]))
        if weights.form != "momentum":
            past = vs[-m]
            g = gamma[m - 1, 0] * past[0]
            for j in range(1, len(past)):
                g = g + gamma[m - 1, j] * past[j]
            terms.append(h * g)
        for t in terms:
            acc = t if acc is None else acc + t
    assert acc is not None
    return acc


def classical_start(f: Callable[[Tensor], Tensor], x0: Tensor, h: Tensor, steps: int, method: str = "RK4") -> list[Tensor]:
    """``steps`` explicit Runge-Kutta steps of a catalogue method (default RK4) from ``x0``:
    the start-up values ``x_1..x_M`` of rule ``"rk4"``, computed without gradients (they do
    not depend on the weights)."""
    from .analysis import get_method

    tab = get_method(method)
    A, b = tab.A, tab.b
    out: list[Tensor] = []
    x = x0
    with torch.no_grad():
        for _ in range(steps):
            K: list[Tensor] = []
            for i in range(tab.stages):
                arg = x
                for j in range(i):
                    if A[i, j] != 0.0:
                        arg = arg + h * float(A[i, j]) * K[j]
                K.append(f(arg))
            inc = sum(float(b[j]) * K[j] for j in range(tab.stages) if b[j] != 0.0)
            x = x + h * inc
            out.append(x)
    return out
