"""The R2N2 superstructure (Doncevic et al., SIAM J. Sci. Comput. 46(2), 2024).

One outer iteration with n inner evaluations, scale h and shared scalar weights::

    v_1     = f(x_k)
    v_j     = f(x_k + h sum_{l<j} W[j, l] v_l)      j = 2..n
    x_{k+1} = x_k + h sum_j b[j] v_j

W is strictly lower triangular, b has n entries; the same scalars act on every component,
so there are n(n+1)/2 parameters whatever the state dimension. For an ODE ``y' = g(y)``
one outer iteration is an explicit Runge-Kutta step with Butcher tableau ``(W, b)``.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
import torch
from torch import nn

from .analysis import ButcherTableau, get_method

from .errors import InputError

__all__ = ["R2N2", "InnerGenerator", "RecurrenceGenerator", "CONSISTENCY_MODES"]

Tensor = torch.Tensor
CONSISTENCY_MODES = (None, "softmax", "affine")


class InnerGenerator(Protocol):
    """Produces the inner evaluations ``v_1..v_n`` of one outer iteration."""

    def __call__(self, model: "R2N2", f: Callable[[Tensor], Tensor], x: Tensor, h: Tensor) -> list[Tensor]: ...


class RecurrenceGenerator:
    """The standard R2N2 inner recurrence ``v_j = f(x + h sum_{l<j} W[j,l] v_l)``."""

    def __call__(self, model: "R2N2", f: Callable[[Tensor], Tensor], x: Tensor, h: Tensor) -> list[Tensor]:
        W = model.W()
        vs: list[Tensor] = []
        for j in range(model.stages):
            if j == 0:
                arg = x
            else:
                acc = W[j, 0] * vs[0]
                for l in range(1, j):
                    acc = acc + W[j, l] * vs[l]
                arg = x + h * acc
            vs.append(f(arg))
        return vs


class R2N2(nn.Module):
    """R2N2 with ``stages`` inner evaluations and ``outer`` unrolled outer iterations.

    Parameters
    ----------
    stages : number of inner evaluations n (>= 1)
    outer : outer iterations K unrolled by :meth:`forward`
    consistency : None (free weights), ``"softmax"`` (b = softmax(raw), positive, sums to 1)
        or ``"affine"`` (b_n = 1 - sum of the others, any sign)
    init : ``"random"`` (small normal weights from ``seed``), ``"zeros"``, a catalogue name
        such as ``"RK4"``, or a :class:`analysis.ButcherTableau`
    init_scale : standard deviation of random initial weights
    inner : optional :class:`InnerGenerator` replacing the standard recurrence (e.g. an inner
        solver that is itself an R2N2)
    """

    def __init__(
        self,
        stages: int,
        outer: int = 1,
        *,
        consistency: str | None = None,
        init: str | ButcherTableau = "random",
        init_scale: float = 0.1,
        seed: int | None = None,
        inner: InnerGenerator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(stages, int) or stages < 1:
            raise InputError(f"stages must be an integer >= 1, got {stages!r}")
        if not isinstance(outer, int) or outer < 1:
            raise InputError(f"outer iterations must be an integer >= 1, got {outer!r}")
        if consistency not in CONSISTENCY_MODES:
            raise InputError(f"consistency must be one of none, softmax, affine; got {consistency!r}")
        self.stages = stages
        self.outer = outer
        self.consistency = consistency
        self.inner = inner or RecurrenceGenerator()
        n = stages
        self._rows, self._cols = np.tril_indices(n, -1)
        nb = n - 1 if consistency == "affine" else n
        gen = torch.Generator().manual_seed(int(seed) if seed is not None else 0)
        if isinstance(init, str) and init == "random":
            w = init_scale * torch.randn(len(self._rows), generator=gen, dtype=torch.float64)
            braw = init_scale * torch.randn(nb, generator=gen, dtype=torch.float64)
            if consistency is None:
                braw = braw + 1.0 / n
            elif consistency == "affine":
                braw = braw + 1.0 / n
        elif isinstance(init, str) and init == "zeros":
            w = torch.zeros(len(self._rows), dtype=torch.float64)
            braw = torch.zeros(nb, dtype=torch.float64)
            if consistency is None:
                braw[0] = 1.0
        else:
            tab = get_method(init) if isinstance(init, str) else init
            w, braw = self._raw_from_tableau(tab)
        self.w_raw = nn.Parameter(w)
        self.b_raw = nn.Parameter(braw)

    # ------------------------------------------------------------------ weights
    def _raw_from_tableau(self, tab: ButcherTableau) -> tuple[Tensor, Tensor]:
        if tab.stages != self.stages:
            raise InputError(f"initial tableau {tab.label} has {tab.stages} stages, the model {self.stages}")
        if not tab.is_explicit:
            raise InputError(f"initial tableau {tab.label} is implicit; R2N2 needs an explicit one")
        w = torch.tensor(tab.A[self._rows, self._cols], dtype=torch.float64)
        b = torch.tensor(tab.b, dtype=torch.float64)
        if self.consistency == "softmax":
            if np.any(tab.b <= 0) or abs(tab.b.sum() - 1) > 1e-12:
                raise InputError(f"initial tableau {tab.label}: softmax weights need positive b summing to 1")
            return w, torch.log(b)
        if self.consistency == "affine":
            return w, b[:-1].clone()
        return w, b

    def W(self) -> Tensor:
        """The (n, n) strictly lower triangular inner weight matrix."""
        W = torch.zeros(self.stages, self.stages, dtype=self.w_raw.dtype)
        if len(self._rows):
            W = W.index_put((torch.as_tensor(self._rows), torch.as_tensor(self._cols)), self.w_raw)
        return W

    def b(self) -> Tensor:
        """The outer weights (sum to 1 exactly under a consistency option)."""
        if self.consistency == "softmax":
            return torch.softmax(self.b_raw, dim=0)
        if self.consistency == "affine":
            return torch.cat([self.b_raw, (1.0 - self.b_raw.sum()).reshape(1)])
        return self.b_raw

    def tableau(self, name: str | None = None) -> ButcherTableau:
        """The current weights as an :class:`analysis.ButcherTableau` (float64)."""
        with torch.no_grad():
            return ButcherTableau(self.W().numpy().copy(), self.b().numpy().copy(), name=name)

    def set_tableau(self, tab: ButcherTableau) -> None:
        w, b = self._raw_from_tableau(tab)
        with torch.no_grad():
            self.w_raw.copy_(w)
            self.b_raw.copy_(b)

    # ------------------------------------------------------------------ dynamics
    def step(self, f: Callable[[Tensor], Tensor], x: Tensor, h: Tensor | float) -> Tensor:
        """One outer iteration for a batch ``x`` (B, m); ``h`` scalar or (B,)."""
        hh = _as_column(h, x)
        vs = self.inner(self, f, x, hh)
        b = self.b()
        acc = b[0] * vs[0]
        for j in range(1, len(vs)):
            acc = acc + b[j] * vs[j]
        return x + hh * acc

    def forward(self, f: Callable[[Tensor], Tensor], x0: Tensor, h: Tensor | float, outer: int | None = None, return_all: bool = False):
        """Unroll ``outer`` (default ``self.outer``) iterations from ``x0``; returns the last
        state, or the list of all states ``[x_1, ..., x_K]`` when ``return_all``."""
        K = self.outer if outer is None else outer
        xs = []
        x = x0
        for _ in range(K):
            x = self.step(f, x, h)
            xs.append(x)
        return xs if return_all else x

    def extra_repr(self) -> str:
        return f"stages={self.stages}, outer={self.outer}, consistency={self.consistency}"


def _as_column(h: Tensor | float, x: Tensor) -> Tensor:
    if not torch.is_tensor(h):
        return torch.tensor(float(h), dtype=x.dtype)
    if h.ndim == 0:
        return h.to(x.dtype)
    return h.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)


def tree_residuals(model: R2N2, max_order: int) -> Tensor:
    """Differentiable ``Phi(t) - 1/gamma(t)`` of the model's tableau for every rooted tree
    up to ``max_order`` (orders grouped as in :func:`analysis.tree_table`)."""
    from .analysis import tree_table

    tab = tree_table(max_order)
    W, b = model.W(), model.b()
    N = tab.offsets[max_order + 1]
    left = torch.tensor(np.array(tab.left[:N]))
    right = torch.tensor(np.array(tab.right[:N]))
    U: list[Tensor] = []
    V: list[Tensor] = []
    for n in range(1, max_order + 1):
        sl = tab.of_order(n)
        if n == 1:
            Un = torch.ones(1, model.stages, dtype=W.dtype)
        else:
            Ua = torch.cat(U, dim=0)
            Va = torch.cat(V, dim=0)
            Un = Ua[left[sl]] * Va[right[sl]]
        U.append(Un)
        V.append(Un @ W.T)
    phi = torch.cat(U, dim=0) @ b
    gamma = torch.as_tensor(tab.gamma_f[:N], dtype=W.dtype)
    return phi - 1.0 / gamma
