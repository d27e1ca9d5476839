"""The R2N2 superstructure (Doncevic et al., SIAM J. Sci. Comput. 46(2), 2024).

One outer iteration with n inner evaluations, scale h and shared scalar weights::

    v_1     = f(x_k)
    v_j     = f(x_k + h sum_{l<j} W[j, l] v_l)      j = 2..n
    x_{k+1} = x_k + h sum_j b[j] v_j

W is strictly lower triangular, b has n entries; the same scalars act on every component,
so there are n(n+1)/2 parameters whatever the state dimension. For an ODE ``y' = g(y)``
one outer iteration is an explicit Runge-Kutta step with Butcher tableau ``(W, b)``.

With ``memory = M > 0`` the outer update also reuses the last M iterations
(:mod:`algodiscover.memory`)::

    x_{k+1} = x_k + h sum_j b[j] v_j^(k)
                  + sum_{m=1..M} (beta_m (x_{k-m+1} - x_{k-m}) + h sum_j gamma[m, j] v_j^(k-m))

(for an ODE an explicit multistep Runge-Kutta method; one stage: a linear multistep
method); the first M iterations follow the start-up rule of :meth:`R2N2.forward`.

:class:`TwoDerivativeR2N2` adds the derivative module ``g(y) = f'(y) f(y)`` (the second time
derivative of an ODE solution): each inner evaluation is of f, of g or of both (the stage
pattern), and one outer iteration is an explicit two-derivative Runge-Kutta step::

    Y_i     = x_k + h sum_{j<i} W[i, j] f(Y_j) + h^2 sum_{j<i} W2[i, j] g(Y_j)
    x_{k+1} = x_k + h sum_j b[j] f(Y_j) + h^2 sum_j b2[j] g(Y_j)

g comes from the right-hand side when it carries one (:class:`DerivativeRHS`, e.g. the
family's symbolic ``J(y) f(y)``), else from exact forward-mode AD,
``torch.func.jvp(f, (y,), (f(y),))`` (:func:`jvp_fg`).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from .analysis import ButcherTableau, get_method

from .errors import InputError

__all__ = ["R2N2", "InnerGenerator", "RecurrenceGenerator", "CONSISTENCY_MODES", "TwoDerivativeR2N2", "DerivativeRHS", "jvp_fg",
           "tree_residuals"]

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
    memory : M >= 0 earlier iterations reused by the outer update (0: the plain R2N2, with
        exactly its parameters and arithmetic)
    memory_form : which memory weights are learned (:data:`algodiscover.memory.MEMORY_FORMS`)

    With memory, ``init`` may also name an Adams-Bashforth method (``"AB2"``, ``"AB3"``,
    ...; one stage, memory = steps - 1): b and the memory weights start at its coefficients.
    The memory weights are drawn from no random generator (they start at zero or at the
    named method), so the weights W, b of a seed are those of the memoryless model.
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
        memory: int = 0,
        memory_form: str = "full",
    ) -> None:
        super().__init__()
        if not isinstance(memory, int) or isinstance(memory, bool) or memory < 0:
            raise InputError(f"memory must be an integer >= 0, got {memory!r}")
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
        self.memory_depth = memory
        lmm_init = _adams_init(init, stages, memory) if isinstance(init, str) and init not in ("random", "zeros") else None
        if isinstance(init, str) and init == "random":
            w = init_scale * torch.randn(len(self._rows), generator=gen, dtype=torch.float64)
            braw = init_scale * torch.randn(nb, generator=gen, dtype=torch.float64)
            if consistency is None:
                braw = braw + 1.0 / n
            elif consistency == "affine":
                braw = braw + 1.0 / n
        elif lmm_init is not None:
            if consistency is not None:
                raise InputError(f"init {init!r}: an Adams-Bashforth start needs consistency = none (its b is not a convex weight)")
            w = torch.zeros(0, dtype=torch.float64)
            braw = torch.tensor([lmm_init[0]], dtype=torch.float64)
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
        if memory:
            from .memory import MemoryWeights

            betas, gammas = (None, None) if lmm_init is None else ([float(x) for x in lmm_init[1]], [[float(x)] for x in lmm_init[2]])
            self.memory = MemoryWeights(memory, stages, memory_form, betas=betas, gammas=gammas)

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

    def forward(self, f: Callable[[Tensor], Tensor], x0: Tensor, h: Tensor | float, outer: int | None = None, return_all: bool = False,
                start: Sequence[Tensor] | None = None):
        """Unroll ``outer`` (default ``self.outer``) iterations from ``x0``; returns the last
        state, or the list of all states ``[x_1, ..., x_K]`` when ``return_all``.

        With memory M the first M iterations follow the start-up rule: ``start`` (the states
        ``x_1..x_M``, e.g. RK4 steps or exact values; their inner evaluations are computed by
        the model's recurrence) or, when None, plain memoryless steps with ``(W, b)``
        (rule ``"rk"``). Every later iteration is the memory update.
        """
        K = self.outer if outer is None else outer
        if not self.memory_depth:
            if start is not None:
                raise ValueError("start values apply to a model with memory")
            xs = []
            x = x0
            for _ in range(K):
                x = self.step(f, x, h)
                xs.append(x)
            return xs if return_all else x
        return self._forward_memory(f, x0, h, K, return_all, start)

    def _forward_memory(self, f: Callable[[Tensor], Tensor], x0: Tensor, h: Tensor | float, K: int, return_all: bool,
                        start: Sequence[Tensor] | None):
        from .memory import MemoryHistory, memory_increment

        M = self.memory_depth
        if start is not None and len(start) < min(M, K):
            raise ValueError(f"memory {M} needs {min(M, K)} start-up states, got {len(start)}")
        hh = _as_column(h, x0)
        hist = MemoryHistory(M)
        hist.start(x0)
        xs = []
        x = x0
        for k in range(K):
            vs = self.inner(self, f, x, hh)
            if k < M:
                x_next = start[k] if start is not None else x + hh * self._assemble(vs)
            else:
                x_next = x + hh * self._assemble(vs) + memory_increment(self.memory, hist, hh)
            hist.push(vs, x_next)
            x = x_next
            xs.append(x)
        return xs if return_all else x

    def _assemble(self, vs: list[Tensor]) -> Tensor:
        b = self.b()
        acc = b[0] * vs[0]
        for j in range(1, len(vs)):
            acc = acc + b[j] * vs[j]
        return acc

    def memory_weights(self) -> tuple[Tensor, Tensor]:
        """``(beta (M,), gamma (M, n))``; empty tensors without memory."""
        if not self.memory_depth:
            return torch.zeros(0, dtype=torch.float64), torch.zeros(0, self.stages, dtype=torch.float64)
        return self.memory.beta, self.memory.gamma

    def extra_repr(self) -> str:
        mem = f", memory={self.memory_depth}, memory_form={self.memory.form}" if self.memory_depth else ""
        return f"stages={self.stages}, outer={self.outer}, consistency={self.consistency}{mem}"


class DerivativeRHS:
    """A right-hand side ``f`` with its derivative module ``g(y) = f'(y) f(y)``.

    ``fg(Y)`` returns ``(f(Y), g(Y))`` and ``g(Y)`` g alone; either may be given (e.g. the
    family's symbolic expressions, :meth:`algodiscover.ode_families.OdeFamily.torch_fg`),
    the missing ones come from exact forward-mode AD (:func:`jvp_fg`). Calling the object is
    calling ``f``.
    """

    def __init__(self, f: Callable[[Tensor], Tensor], fg: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None,
                 g: Callable[[Tensor], Tensor] | None = None) -> None:
        self.f, self._fg, self._g = f, fg, g

    def __call__(self, Y: Tensor) -> Tensor:
        return self.f(Y)

    def fg(self, Y: Tensor) -> tuple[Tensor, Tensor]:
        return self._fg(Y) if self._fg is not None else jvp_fg(self.f, Y)

    def g(self, Y: Tensor) -> Tensor:
        return self._g(Y) if self._g is not None else self.fg(Y)[1]


def jvp_fg(f: Callable[[Tensor], Tensor], Y: Tensor) -> tuple[Tensor, Tensor]:
    """``(f(Y), f'(Y) f(Y))`` by one forward-mode Jacobian-vector product along ``f(Y)``
    (``f`` acts row by row on a batch ``Y`` (B, d), so the product is the row-wise one)."""
    fy = f(Y)
    _, gy = torch.func.jvp(f, (Y,), (fy,))
    return fy, gy


class TwoDerivativeR2N2(nn.Module):
    """R2N2 whose inner evaluations are of f, of ``g = f'(y) f(y)`` or of both.

    Parameters
    ----------
    stages : inner evaluations n
    derivatives : the stage pattern, one token per stage: ``"f"``, ``"g"`` or ``"fg"``
        (:func:`analysis.two_derivative_methods.normalise_pattern`). Stage j has f-weights
        (column j of W, ``b_j``) only if it evaluates f and g-weights (column j of W2,
        ``b2_j``) only if it evaluates g; the others are structural zeros.
    outer, consistency, init_scale, seed : as for :class:`R2N2` (the consistency option acts
        on the free entries of b; ``sum b = 1`` is the order-1 condition here too)
    init : ``"random"`` (small normal weights, b around 1 / (stages with f)), ``"zeros"``
        (forward Euler from the first stage with f), a two-derivative catalogue name such as
        ``"ChanTsai4"``, or an :class:`analysis.TwoDerivativeTableau` that fits the pattern

    The parameters are ``w_raw``, ``b_raw`` (f-weights) and ``w2_raw``, ``b2_raw`` (g-weights),
    drawn in that order from ``seed``.
    """

    def __init__(self, stages: int, derivatives: tuple[str, ...] | list[str] | str, outer: int = 1, *,
                 consistency: str | None = None, init: "str | TwoDerivativeTableau" = "random", init_scale: float = 0.1,
                 seed: int | None = None) -> None:
        super().__init__()
        from .analysis.errors import AnalysisInputError
        from .analysis.two_derivative_methods import normalise_pattern, pattern_masks

        if not isinstance(stages, int) or stages < 1:
            raise InputError(f"stages must be an integer >= 1, got {stages!r}")
        if not isinstance(outer, int) or outer < 1:
            raise InputError(f"outer iterations must be an integer >= 1, got {outer!r}")
        if consistency not in CONSISTENCY_MODES:
            raise InputError(f"consistency must be one of none, softmax, affine; got {consistency!r}")
        try:
            pattern = normalise_pattern(derivatives, stages, where="derivatives")
        except AnalysisInputError as exc:
            raise InputError(str(exc)) from None
        if pattern is None:
            raise InputError("TwoDerivativeR2N2 needs a stage pattern with g; use R2N2 for derivatives = \"none\"")
        self.stages, self.outer, self.consistency, self.derivatives = stages, outer, consistency, pattern
        m = pattern_masks(pattern)
        self._rows, self._cols = np.nonzero(m["A"])
        self._rows2, self._cols2 = np.nonzero(m["A2"])
        self._bidx = np.nonzero(m["b"])[0]
        self._b2idx = np.nonzero(m["b2"])[0]
        nf = len(self._bidx)
        nb = nf - 1 if consistency == "affine" else nf
        gen = torch.Generator().manual_seed(int(seed) if seed is not None else 0)
        if isinstance(init, str) and init == "random":
            w = init_scale * torch.randn(len(self._rows), generator=gen, dtype=torch.float64)
            braw = init_scale * torch.randn(nb, generator=gen, dtype=torch.float64)
            if consistency != "softmax":
                braw = braw + 1.0 / nf
            w2 = init_scale * torch.randn(len(self._rows2), generator=gen, dtype=torch.float64)
            b2 = init_scale * torch.randn(len(self._b2idx), generator=gen, dtype=torch.float64)
        elif isinstance(init, str) and init == "zeros":
            w = torch.zeros(len(self._rows), dtype=torch.float64)
            braw = torch.zeros(nb, dtype=torch.float64)
            if consistency is None:
                braw[0] = 1.0
            w2 = torch.zeros(len(self._rows2), dtype=torch.float64)
            b2 = torch.zeros(len(self._b2idx), dtype=torch.float64)
        else:
            from .analysis.two_derivative_methods import get_two_derivative_method

            try:
                tab = get_two_derivative_method(init) if isinstance(init, str) else init
            except AnalysisInputError as exc:
                raise InputError(f"model.init: {exc}") from None
            w, braw, w2, b2 = self._raw_from_tableau(tab)
        self.w_raw = nn.Parameter(w)
        self.b_raw = nn.Parameter(braw)
        self.w2_raw = nn.Parameter(w2)
        self.b2_raw = nn.Parameter(b2)

    def _raw_from_tableau(self, tab) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        from .analysis.two_derivative_methods import pattern_masks

        label = tab.label
        if tab.stages != self.stages:
            raise InputError(f"initial tableau {label} has {tab.stages} stages, the model {self.stages}")
        if not tab.is_explicit:
            raise InputError(f"initial tableau {label} is implicit; R2N2 needs an explicit one")
        m = pattern_masks(self.derivatives)
        for key in ("A", "b", "A2", "b2"):
            if np.any(getattr(tab, key)[~m[key]] != 0):
                raise InputError(f"initial tableau {label} has {key} weights on stages the pattern {' '.join(self.derivatives)} does not evaluate")
        b = torch.tensor(tab.b[self._bidx], dtype=torch.float64)
        w = torch.tensor(tab.A[self._rows, self._cols], dtype=torch.float64)
        w2 = torch.tensor(tab.A2[self._rows2, self._cols2], dtype=torch.float64)
        b2 = torch.tensor(tab.b2[self._b2idx], dtype=torch.float64)
        if self.consistency == "softmax":
            if np.any(tab.b[self._bidx] <= 0) or abs(tab.b.sum() - 1) > 1e-12:
                raise InputError(f"initial tableau {label}: softmax weights need positive b summing to 1")
            return w, torch.log(b), w2, b2
        if self.consistency == "affine":
            return w, b[:-1].clone(), w2, b2
        return w, b, w2, b2

    # ------------------------------------------------------------------ weights
    def _matrix(self, raw: Tensor, rows: np.ndarray, cols: np.ndarray) -> Tensor:
        M = torch.zeros(self.stages, self.stages, dtype=raw.dtype)
        if len(rows):
            M = M.index_put((torch.as_tensor(rows), torch.as_tensor(cols)), raw)
        return M

    def W(self) -> Tensor:
        """The (n, n) strictly lower triangular f-weights (the Butcher matrix A)."""
        return self._matrix(self.w_raw, self._rows, self._cols)

    def W2(self) -> Tensor:
        """The (n, n) strictly lower triangular g-weights (A2)."""
        return self._matrix(self.w2_raw, self._rows2, self._cols2)

    def b(self) -> Tensor:
        """The outer f-weights (zero on stages without f; summing to 1 under a consistency option)."""
        if self.consistency == "softmax":
            free = torch.softmax(self.b_raw, dim=0)
        elif self.consistency == "affine":
            free = torch.cat([self.b_raw, (1.0 - self.b_raw.sum()).reshape(1)])
        else:
            free = self.b_raw
        return torch.zeros(self.stages, dtype=free.dtype).index_put((torch.as_tensor(self._bidx),), free)

    def b2(self) -> Tensor:
        """The outer g-weights (zero on stages without g)."""
        return torch.zeros(self.stages, dtype=self.b2_raw.dtype).index_put((torch.as_tensor(self._b2idx),), self.b2_raw)

    def tableau(self, name: str | None = None):
        """The current weights as an :class:`analysis.TwoDerivativeTableau` (float64)."""
        from .analysis import TwoDerivativeTableau

        with torch.no_grad():
            return TwoDerivativeTableau(self.W().numpy().tolist(), self.b().numpy().tolist(), self.W2().numpy().tolist(),
                                        self.b2().numpy().tolist(), name=name)

    # ------------------------------------------------------------------ dynamics
    def step(self, f: Callable[[Tensor], Tensor], x: Tensor, h: Tensor | float) -> Tensor:
        """One outer iteration (a two-derivative step) for a batch ``x`` (B, m). ``f`` is a
        :class:`DerivativeRHS` or a plain callable (then g comes from :func:`jvp_fg`)."""
        rhs = f if isinstance(f, DerivativeRHS) else DerivativeRHS(f)
        hh = _as_column(h, x)
        h2 = hh * hh
        W, W2, b, b2 = self.W(), self.W2(), self.b(), self.b2()
        F: list[Tensor | None] = []
        G: list[Tensor | None] = []
        for i, token in enumerate(self.derivatives):
            arg = x
            acc_f = [W[i, j] * F[j] for j in range(i) if F[j] is not None]
            acc_g = [W2[i, j] * G[j] for j in range(i) if G[j] is not None]
            if acc_f:
                arg = arg + hh * _sum(acc_f)
            if acc_g:
                arg = arg + h2 * _sum(acc_g)
            if token == "fg":
                fi, gi = rhs.fg(arg)
            elif token == "g":
                fi, gi = None, rhs.g(arg)
            else:
                fi, gi = rhs(arg), None
            F.append(fi)
            G.append(gi)
        out = x
        acc_f = [b[j] * F[j] for j in range(self.stages) if F[j] is not None]
        acc_g = [b2[j] * G[j] for j in range(self.stages) if G[j] is not None]
        return out + hh * _sum(acc_f) + (h2 * _sum(acc_g) if acc_g else 0.0)

    def forward(self, f: Callable[[Tensor], Tensor], x0: Tensor, h: Tensor | float, outer: int | None = None, return_all: bool = False):
        """Unroll ``outer`` (default ``self.outer``) steps from ``x0`` (as :meth:`R2N2.forward`)."""
        K = self.outer if outer is None else outer
        xs = []
        x = x0
        for _ in range(K):
            x = self.step(f, x, h)
            xs.append(x)
        return xs if return_all else x

    def extra_repr(self) -> str:
        return f"stages={self.stages}, derivatives={' '.join(self.derivatives)}, outer={self.outer}, consistency={self.consistency}"


def _adams_init(init: str, stages: int, memory: int) -> tuple[Any, Any, Any] | None:
    """``(b, betas, gammas)`` of the Adams-Bashforth method named by ``init`` ("AB2", ...), or
    None when ``init`` names none; an error when it does not fit the model."""
    from .analysis.memory import ADAMS_BASHFORTH, memory_weights_of

    names = {k.split()[0]: k for k in ADAMS_BASHFORTH}
    if init not in names:
        return None
    lmm = ADAMS_BASHFORTH[names[init]]
    if stages != 1 or memory != lmm.steps - 1:
        raise InputError(f"init {init!r} is a {lmm.steps}-step Adams-Bashforth method: it needs stages = 1 and memory = {lmm.steps - 1} "
                         f"(the model has stages = {stages}, memory = {memory})")
    return memory_weights_of(lmm)


def _sum(terms: list[Tensor]) -> Tensor:
    acc = terms[0]
    for t in terms[1:]:
        acc = acc + t
    return acc


def _as_column(h: Tensor | float, x: Tensor) -> Tensor:
    if not torch.is_tensor(h):
        return torch.tensor(float(h), dtype=x.dtype)
    if h.ndim == 0:
        return h.to(x.dtype)
    return h.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)


def tree_residuals(model: "R2N2 | TwoDerivativeR2N2", max_order: int) -> Tensor:
    """Differentiable ``Phi(t) - 1/gamma(t)`` of the model's tableau for every rooted tree
    up to ``max_order`` (orders grouped as in :func:`analysis.tree_table`); for a
    :class:`TwoDerivativeR2N2` the elementary weights of its B-series
    (:mod:`analysis.two_derivative`), for an R2N2 with memory those of the multistep method
    with exact past values (:func:`analysis.multistep.multistep_residuals`)."""
    from .analysis import tree_table

    if isinstance(model, TwoDerivativeR2N2):
        return _two_derivative_tree_residuals(model, max_order)
    if getattr(model, "memory_depth", 0):
        return _multistep_tree_residuals(model, max_order)
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


def _two_derivative_tree_residuals(model: TwoDerivativeR2N2, max_order: int) -> Tensor:
    """``d(tau) = 1, e(tau) = 0``; ``d(u o v) = d(u) P(v)``, ``e(u o v) = e(u) P(v) + d(u) d(v)``,
    ``P = A d + A2 e``; ``Phi = b . d + b2 . e`` (the recursion of :mod:`analysis.two_derivative`)."""
    from .analysis import tree_table

    tab = tree_table(max_order)
    W, W2, b, b2 = model.W(), model.W2(), model.b(), model.b2()
    N = tab.offsets[max_order + 1]
    left = torch.tensor(np.array(tab.left[:N]))
    right = torch.tensor(np.array(tab.right[:N]))
    D: list[Tensor] = []
    E: list[Tensor] = []
    P: list[Tensor] = []
    for n in range(1, max_order + 1):
        sl = tab.of_order(n)
        if n == 1:
            Dn = torch.ones(1, model.stages, dtype=W.dtype)
            En = torch.zeros(1, model.stages, dtype=W.dtype)
        else:
            Da, Ea, Pa = torch.cat(D), torch.cat(E), torch.cat(P)
            lft, rgt = left[sl], right[sl]
            Dn = Da[lft] * Pa[rgt]
            En = Ea[lft] * Pa[rgt] + Da[lft] * Da[rgt]
        D.append(Dn)
        E.append(En)
        P.append(Dn @ W.T + En @ W2.T)
    phi = torch.cat(D) @ b + torch.cat(E) @ b2
    gamma = torch.as_tensor(tab.gamma_f[:N], dtype=W.dtype)
    return phi - 1.0 / gamma


def _multistep_tree_residuals(model: R2N2, max_order: int) -> Tensor:
    """The recursion of :func:`analysis.multistep.multistep_residuals` in torch: past values
    ``e_m(t) = (-m)^|t| / gamma(t)``, stages ``d_m = e_m 1 + W d'_m``, ``d'_m(u o v) = d'_m(u) d_m(v)``,
    ``Phi = b . d'_0 + sum_m (beta_m (e_{m-1} - e_m) + gamma_m . d'_m)``."""
    from .analysis import tree_table

    tab = tree_table(max_order)
    N = tab.offsets[max_order + 1]
    W, b = model.W(), model.b()
    beta, gamma = model.memory_weights()
    n = model.stages
    orders = torch.tensor([float(tab.trees[i].order) for i in range(N)], dtype=W.dtype)
    gam = torch.as_tensor(tab.gamma_f[:N], dtype=W.dtype)
    ones = torch.ones(n, dtype=W.dtype)

    def e(m: int) -> Tensor:
        return (-float(m)) ** orders / gam if m else torch.zeros(N, dtype=W.dtype)

    phi: Tensor | None = None
    for m in range(model.memory_depth + 1):
        em = e(m)
        Dp: list[Tensor] = []
        D: list[Tensor] = []
        for i in range(N):
            dp = ones if tab.trees[i].order == 1 else Dp[int(tab.left[i])] * D[int(tab.right[i])]
            Dp.append(dp)
            D.append(em[i] * ones + W @ dp)
        P = torch.stack(Dp)
        if m == 0:
            phi = P @ b
        else:
            phi = phi + beta[m - 1] * (e(m - 1) - em) + P @ gamma[m - 1]
    assert phi is not None
    return phi - 1.0 / gam
