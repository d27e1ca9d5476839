"""The nonlinear-systems branch: learned iterations for families of ``F(x) = 0``.

Two modes (``[nonlinear] mode``):

``"derivative-free"`` (default)
    the R2N2 recurrence on ``f(x) = -F(x)`` with a learned scale h: nearby residual
    evaluations stand in for Jacobian products. Near a root ``x*`` the error obeys
    ``e_{k+1} ~ R(-h J*) e_k`` (R the stability polynomial of the tableau), so the
    *local* convergence factor is ``max |R(-h lambda)|`` over the spectrum of ``J* = F'(x*)``.
``"newton-krylov"``
    outer Newton-like steps ``x_{k+1} = x_k + y_k`` whose step ``y_k`` is computed by an
    inner R2N2 (its own W, b, h: a polynomial iteration) on the linearised residual
    ``g(y) = -F(x_k) - J(x_k) y`` from ``y = 0``, with Jacobian-vector products (torch
    forward mode in training; finite differences in :func:`solve`, like scipy). The inner
    solver is plugged into the outer R2N2 as its inner generator. The inner residual factor
    ``max |q(lambda)|`` over the spectrum of ``J*`` is the forcing term of an inexact Newton
    method and so the local rate.

Cost is counted in residual evaluations: one per ``F`` call and one per Jacobian-vector
product (what a finite-difference product costs). The training loss is the published one:
mean over the batch of ``sum_{k=1..K} w^k ||F(x_k)||^2 / ||F(x_0)||^2`` (w = 4).

A safeguard at solve time rejects an outer step unless ``||F(x_new)|| <= rate ||F(x)||``;
a rejected step is halved (up to ``max_backtracks`` times); rejections are counted.

:func:`analyze_run` measures the learned iteration against tuned and default classical
solvers (:mod:`algodiscover.nonlinear_baselines`, every F call counted by a wrapper) with a
bootstrap interval on every ratio, and its local convergence factor over >= 100 instances
(:mod:`algodiscover.nonlinear_comparison`); the summary names the method that needs the
fewest evaluations.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .analysis import analyze_tableau

from .errors import InputError
from .options import MODES, NonlinearTrainingConfig
from .linear import LinearR2N2, PolynomialSolver, SolveResult
from .model import R2N2
from .nonlinear_baselines import ANDERSON_DEPTHS, safeguarded_iteration, torch_threads, tune_baselines
from .nonlinear_comparison import compare, linearisation
from .nonlinear_families import NONLINEAR_FAMILIES, NonlinearFamily, NonlinearProblems, get_nonlinear_family, nonlinear_family_from_config

__all__ = [
    "NonlinearTrainingConfig",
    "NewtonKrylovR2N2",
    "NonlinearSolver",
    "solver_from_artefact",
    "list_families",
    "train_run",
    "analyze_run",
    "compare",
    "linearisation",
    "MODES",
]

Tensor = torch.Tensor


# ----------------------------------------------------------------------------- models
def _jvp(F: Callable[[Tensor], Tensor], x: Tensor, v: Tensor) -> Tensor:
    """``J(x) v`` for a batch by forward-mode differentiation (differentiable in v)."""
    return torch.func.jvp(F, (x,), (v,))[1]


class NewtonKrylovGenerator:
    """Inner generator of the outer R2N2: one evaluation, the Newton step computed by the
    inner R2N2 on ``g(y) = -F(x) - J(x) y`` from ``y = 0``."""

    def __init__(self, inner: LinearR2N2, inner_outer: int) -> None:
        self.inner = inner
        self.inner_outer = inner_outer

    def __call__(self, model: R2N2, f: Callable[[Tensor], Tensor], x: Tensor, h: Tensor) -> list[Tensor]:
        # f = -F; the linearised residual g(y) = -F(x) - J(x) y = f(x) + J_f(x) y
        fx = f(x)
        g = lambda y: fx + _jvp(f, x, y)  # noqa: E731
        y = self.inner.iterate(g, torch.zeros_like(x), outer=self.inner_outer)
        return [y / h]


class NewtonKrylovR2N2(nn.Module):
    """Outer R2N2 with one evaluation and weight 1 (a Newton step), whose evaluation is an
    inner learned polynomial solver; only the inner weights are trained."""

    def __init__(self, stages: int, outer: int, inner_outer: int = 1, *, h0: float = 1.0, seed: int = 0,
                 init: Any = "random", init_scale: float = 0.1, consistency: str | None = None) -> None:
        super().__init__()
        self.inner = LinearR2N2(stages, inner_outer, h0=h0, learn_h=True, consistency=consistency, init=init, init_scale=init_scale, seed=seed)
        self.outer = R2N2(1, outer, init="zeros", inner=NewtonKrylovGenerator(self.inner, inner_outer))
        for p in self.outer.parameters():
            p.requires_grad_(False)
        self.stages = stages
        self.inner_outer = inner_outer

    def iterate(self, f: Callable[[Tensor], Tensor], x0: Tensor, outer: int | None = None, return_all: bool = False):
        return self.outer(f, x0, 1.0, outer=outer, return_all=return_all)


def _build_model(cfg, opts: NonlinearTrainingConfig) -> nn.Module:
    m = cfg.model
    h0 = opts.h_init if opts.h_init is not None else 1.0
    if opts.mode == "derivative-free":
        return LinearR2N2(m.stages, m.outer, h0=h0, learn_h=True, consistency=m.consistency, init=m.init, init_scale=m.init_scale, seed=cfg.seed,
                          memory=m.memory, memory_form=m.memory_form)
    return NewtonKrylovR2N2(m.stages, m.outer, opts.inner_outer, h0=h0, seed=cfg.seed, init=m.init, init_scale=m.init_scale,
                            consistency=m.consistency)


def residual_loss(model: nn.Module, family: NonlinearFamily, probs: NonlinearProblems, outer: int, weight_base: float) -> Callable[[], Tensor]:
    """Mean over the batch of ``sum_k w^k ||F(x_k)||^2 / ||F(x_0)||^2``."""
    F = family.F(probs.params)
    f = lambda X: -F(X)  # noqa: E731
    with torch.no_grad():
        r0 = (F(probs.x0) ** 2).sum(1).clamp_min(1e-300)
    w = torch.tensor([weight_base**k for k in range(1, outer + 1)], dtype=torch.float64)

    def loss() -> Tensor:
        xs = model.iterate(f, probs.x0, outer=outer, return_all=True)
        total = torch.zeros((), dtype=torch.float64)
        for k, x in enumerate(xs):
            total = total + w[k] * ((F(x) ** 2).sum(1) / r0).mean()
        return total

    return loss


# ----------------------------------------------------------------------------- solver
class NonlinearSolver:
    """The learned iteration as a solver for ``F(x) = 0`` with a numpy residual.

    ``solve(F, x0, *, tol, maxiter, callback)`` returns :class:`~algodiscover.linear.SolveResult`
    (``nmatvec`` counts residual evaluations, Jacobian-vector products included).
    ``inner_solver`` (newton-krylov mode) is a callable usable as ``method=`` of
    :func:`scipy.optimize.newton_krylov`.
    """

    def __init__(self, mode: str, W: Any, b: Any, h: float, *, inner_outer: int = 1, safeguard_rate: float = 1.0,
                 max_backtracks: int = 4, name: str = "learned nonlinear iteration", betas: Any = (), gammas: Any = ()) -> None:
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.betas = np.asarray(betas, dtype=np.float64).reshape(-1)
        M = len(self.betas)
        self.gammas = np.asarray(gammas, dtype=np.float64).reshape(M, -1) if M else np.zeros((0, len(b)))
        if M and (self.gammas.shape != (M, len(b)) or not (np.all(np.isfinite(self.betas)) and np.all(np.isfinite(self.gammas)))):
            raise InputError(f"memory weights: betas ({M}) and gammas ({M} x {len(b)}) must be finite and fit the {len(b)} stages")
        if M and mode != "derivative-free":
            raise InputError("memory applies to the derivative-free nonlinear iteration")
        self.memory = M
        # the learned polynomial pass on a linear residual (W, b, h validated there)
        self._poly = PolynomialSolver(W, b, h, name=name)
        self.mode, self.tableau, self.h = mode, self._poly.tableau, self._poly.h
        self.W, self.b = self._poly.W, self._poly.b
        self.inner_outer = inner_outer
        self.safeguard_rate = float(safeguard_rate)
        self.max_backtracks = int(max_backtracks)
        self.name = name

    def __repr__(self) -> str:
        b = [float(f"{v:.6g}") for v in self.b]
        W = [[float(f"{v:.6g}") for v in row[:i]] for i, row in enumerate(self.W) if i]
        mem = f", memory={self.memory}, betas={[float(f'{v:.6g}') for v in self.betas]}" if self.memory else ""
        inner = f", inner_outer={self.inner_outer}" if self.mode == "newton-krylov" else ""
        return (f"{type(self).__name__}({self.name!r}: mode={self.mode!r}, stages={len(self.b)}, h={self.h:.6g}, b={b}"
                + (f", W_lower={W}" if W else "") + mem + inner + ")")

    def solve(self, F: Callable[[np.ndarray], np.ndarray], x0: Any, *, tol: float = 1e-10, maxiter: int = 200,
              max_evaluations: int | None = None, callback: Callable[[np.ndarray], Any] | None = None) -> SolveResult:
        """Iterate until ``||F(x)||_2 <= tol``. ``maxiter`` counts outer iterations."""
        x = np.asarray(x0, dtype=np.float64).reshape(-1).copy()
        if not np.all(np.isfinite(x)):
            raise InputError("x0 has a non-finite entry")
        past_x: deque[np.ndarray] = deque([x.copy()], maxlen=self.memory + 1)
        past_v: deque[list[np.ndarray]] = deque(maxlen=max(self.memory, 1))
        last_vs: list[list[np.ndarray]] = []

        def propose(x: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, int]:
            if not self.memory:
                return self._step(F, x, fx)
            step, cost, vs = self._memory_step(F, x, fx, past_x, past_v)
            last_vs[:] = [vs]
            return step, cost

        def accepted(x: np.ndarray) -> None:
            past_v.append(last_vs[0])
            past_x.append(x.copy())

        return safeguarded_iteration(F, x, propose, tol=tol, maxiter=maxiter, max_evaluations=max_evaluations, callback=callback,
                                     rate=self.safeguard_rate, max_backtracks=self.max_backtracks,
                                     accepted=accepted if self.memory else None)

    def _stages(self, F: Callable[[np.ndarray], np.ndarray], x: np.ndarray, fx: np.ndarray) -> list[np.ndarray]:
        """The derivative-free stage values ``v_j = -F(x + h sum_l W_jl v_l)`` (``v_1 = -F(x)``)."""
        W, h = self.W, self.h
        vs = [-fx]
        for j in range(1, len(self.b)):
            d = sum((W[j, l] * vs[l] for l in range(j) if W[j, l] != 0.0), np.zeros_like(x))
            vs.append(-np.asarray(F(x + h * d), dtype=np.float64))
        return vs

    def _memory_step(self, F: Callable[[np.ndarray], np.ndarray], x: np.ndarray, fx: np.ndarray, past_x: Any,
                     past_v: Any) -> tuple[np.ndarray, int, list[np.ndarray]]:
        """The step of the memory iteration (the memoryless step while fewer than M iterations
        are recorded: start-up rule "rk"), its cost, and this iteration's stage values."""
        vs = self._stages(F, x, fx)
        b, h = self.b, self.h
        step = h * sum((b[j] * vs[j] for j in range(len(b)) if b[j] != 0.0), np.zeros_like(x))
        if len(past_v) == self.memory:
            xs, pv = list(past_x), list(past_v)  # xs[-1] = x_k, pv[-1] = v^(k-1)
            for m in range(1, self.memory + 1):
                if self.betas[m - 1] != 0.0:
                    step = step + self.betas[m - 1] * (xs[-m] - xs[-m - 1])
                g = self.gammas[m - 1]
                step = step + h * sum((g[j] * pv[-m][j] for j in range(len(b)) if g[j] != 0.0), np.zeros_like(x))
        return step, len(b) - 1, vs

    def _step(self, F: Callable[[np.ndarray], np.ndarray], x: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, int]:
        """Proposed step and its cost in residual evaluations (F(x) itself not counted)."""
        if self.mode == "derivative-free":
            # v_j = -F(x + h sum_l W_jl v_l); the map y -> F(x + y) plays the role of the matvec
            W, b, h = self.W, self.b, self.h
            vs = [-fx]
            for j in range(1, len(b)):
                d = sum((W[j, l] * vs[l] for l in range(j) if W[j, l] != 0.0), np.zeros_like(x))
                vs.append(-np.asarray(F(x + h * d), dtype=np.float64))
            upd = sum((b[j] * vs[j] for j in range(len(b)) if b[j] != 0.0), np.zeros_like(x))
            return h * upd, len(b) - 1
        # Newton-Krylov: inner polynomial iteration on J y = -F(x), finite-difference products
        xn = float(np.linalg.norm(x))

        def jv(v: np.ndarray) -> np.ndarray:
            vn = float(np.linalg.norm(v))
            if vn == 0.0:
                return np.zeros_like(v)
            eps = math.sqrt(np.finfo(float).eps) * max(1.0, xn) / vn
            return (np.asarray(F(x + eps * v), dtype=np.float64) - fx) / eps

        y = np.zeros_like(x)
        cost = 0
        for it in range(self.inner_outer):
            g0 = -fx - (jv(y) if it else 0.0)
            cost += 1 if it else 0
            y = self._poly._outer(jv, y, g0)
            cost += len(self.b) - 1
        return y, cost

    def inner_solver(self) -> Callable[..., tuple[np.ndarray, int]]:
        """The learned inner polynomial iteration with the interface of the
        ``scipy.sparse.linalg`` solvers, for ``newton_krylov(F, x0, method=...)``."""

        def method(A: Any, b: np.ndarray, x0: np.ndarray | None = None, *, rtol: float = 1e-5, atol: float = 0.0,
                   maxiter: int | None = None, callback: Callable[..., Any] | None = None, **_: Any) -> tuple[np.ndarray, int]:
            mv = A.matvec if hasattr(A, "matvec") else (lambda v: A @ v)
            rhs = np.asarray(b, dtype=np.float64).reshape(-1)
            y = np.zeros_like(rhs) if x0 is None else np.asarray(x0, dtype=np.float64).reshape(-1).copy()
            target = max(rtol * float(np.linalg.norm(rhs)), atol)
            limit = maxiter if maxiter is not None else 20
            for _ in range(max(1, limit)):
                r = rhs - mv(y)
                if float(np.linalg.norm(r)) <= target:
                    return y, 0
                y = self._poly._outer(mv, y, r)
                if callback is not None:
                    callback(y)
            return y, (0 if float(np.linalg.norm(rhs - mv(y))) <= target else limit)

        return method


def solver_from_artefact(alg: Any) -> "NonlinearSolver | JvpSolver":
    """The :class:`NonlinearSolver` of an artefact (a ``LearnedAlgorithm`` of kind
    ``newton-krylov``, or the path of its algorithm.json)."""
    from .artefact import LearnedAlgorithm

    if isinstance(alg, (str, Path)):
        alg = LearnedAlgorithm.load(alg)
    if alg.kind != "newton-krylov":
        raise InputError(f"algorithm of kind {alg.kind!r} is not a nonlinear solver (expected 'newton-krylov')")
    if alg.weights.get("h") is None:
        raise InputError("algorithm.json: a newton-krylov algorithm needs weights.h")
    st = alg.structure
    if st.get("mode") == "jvp":
        from .nonlinear_jvp import JvpSolver

        jvp_in_F = (alg.cost or {}).get("jvp_in_F")
        if not isinstance(jvp_in_F, (int, float)) or not math.isfinite(jvp_in_F) or jvp_in_F <= 0:
            raise InputError("algorithm.json: a JVP iteration needs its measured cost.jvp_in_F (a positive number)")
        return JvpSolver(st.get("derivatives", []), alg.W, alg.b, float(alg.weights["h"]), step_length=str(st.get("step_length", "learned")),
                         safeguard_rate=float(st.get("safeguard_rate", 1.0)), max_backtracks=int(st.get("max_backtracks", 4)),
                         jvp_in_F=float(jvp_in_F), name=alg.default_name)
    return NonlinearSolver(st.get("mode", "derivative-free"), alg.W, alg.b, float(alg.weights["h"]),
                           inner_outer=int(st.get("inner_outer", 1)), safeguard_rate=float(st.get("safeguard_rate", 1.0)),
                           max_backtracks=int(st.get("max_backtracks", 4)), name=alg.default_name,
                           betas=alg.weights.get("betas", ()), gammas=alg.weights.get("gammas", ()))


# ----------------------------------------------------------------------------- branch API
def list_families() -> list[tuple[str, str]]:
    return [(name, ctor().description) for name, ctor in NONLINEAR_FAMILIES.items()]


def family_for(problem: dict[str, Any], opts: NonlinearTrainingConfig) -> NonlinearFamily:
    if problem.get("family") == "custom":
        table = problem.get("custom")
        if not isinstance(table, dict):
            raise InputError("custom nonlinear family without its [family] table")
        return nonlinear_family_from_config(table, source="[family]")
    return get_nonlinear_family(str(problem.get("family")), opts.size)


def train_run(cfg, *, progress: bool = True, checkpoint: Path | None = None, resume: bool = False):
    """Train a learned nonlinear iteration for ``cfg`` (class ``nonlinear``)."""
    from .artefact import LearnedAlgorithm
    from .training import train

    opts = NonlinearTrainingConfig.from_options(dict(cfg.options))
    if cfg.model.derivatives is not None and opts.mode != "derivative-free":
        raise InputError("model.derivatives (F / jvp stages) defines its own Newton-type iteration: leave nonlinear.mode at derivative-free")
    if cfg.model.memory and opts.mode != "derivative-free":
        raise InputError("model.memory applies to the derivative-free nonlinear iteration (nonlinear.mode = \"derivative-free\")")
    if opts.step_length is not None and cfg.model.derivatives is None:
        raise InputError("nonlinear.step_length applies to an iteration with JVP stages (model.derivatives with F / jvp tokens)")
    problem: dict[str, Any] = {"class": "nonlinear", "family": cfg.family}
    if cfg.custom_family:
        problem["custom"] = cfg.custom_family
    family = family_for(problem, opts)
    problem.update({"description": family.description, "size": family.size})
    opts, scaling = opts.effective(family.size)
    if scaling is not None:
        problem["scaling"] = scaling
    torch.manual_seed(cfg.seed)
    probs = family.sample(opts.samples, cfg.seed)
    with torch.no_grad():
        bad = ~torch.isfinite(family.residual(probs.x0, probs.params)).all(dim=1)
    if bool(bad.any()):
        raise InputError(f"family {family.name!r}: F is not finite at {int(bad.sum())} sampled starting points")
    if cfg.model.derivatives is not None:
        return _train_jvp(cfg, opts, family, probs, problem, progress=progress, checkpoint=checkpoint, resume=resume)
    model = _build_model(cfg, opts)
    loss = residual_loss(model, family, probs, cfg.model.outer, opts.weight_base)
    res = train(model, loss, cfg.train, progress=progress, checkpoint=checkpoint, resume=resume, desc=cfg.run_name)
    core: LinearR2N2 = model if isinstance(model, LinearR2N2) else model.inner
    with torch.no_grad():
        W, b, h = core.W().numpy().tolist(), core.b().numpy().tolist(), float(core.h())
        beta, gamma = core.memory_weights()
    weights: dict[str, Any] = {"W": W, "b": b, "h": h}
    n = cfg.model.stages
    per_outer = n if opts.mode == "derivative-free" else n * opts.inner_outer
    structure = {"stages": n, "outer": cfg.model.outer, "mode": opts.mode, "inner_outer": opts.inner_outer,
                 "consistency": cfg.model.consistency, "h": "learned", "evaluations_per_outer": per_outer,
                 "safeguard_rate": opts.safeguard_rate, "max_backtracks": opts.max_backtracks, "options": opts.to_json()}
    if cfg.model.memory:
        weights.update(betas=beta.detach().numpy().tolist(), gammas=gamma.detach().numpy().tolist())
        structure.update(memory=cfg.model.memory, memory_form=cfg.model.memory_form, startup=cfg.model.startup)
    return LearnedAlgorithm(
        kind="newton-krylov",
        problem=problem,
        structure=structure,
        weights=weights,
        config=cfg.to_json(),
        seed=cfg.seed,
        training=res.record(),
        timing={"train_s": round(res.wall_time, 3)},
    )


def _train_jvp(cfg, opts: NonlinearTrainingConfig, family: NonlinearFamily, probs: NonlinearProblems, problem: dict[str, Any], *,
               progress: bool, checkpoint: Path | None, resume: bool):
    """:func:`train_run` for a JVP pattern (:mod:`algodiscover.nonlinear_jvp`): also measures
    the cost of one exact JVP relative to one F and records it in the artefact's ``cost``."""
    from .artefact import LearnedAlgorithm
    from .nonlinear_jvp import JvpR2N2, jvp_loss, measure_jvp_cost
    from .training import train

    m = cfg.model
    step_length = opts.step_length or "learned"
    model = JvpR2N2(m.derivatives, m.outer, step_length=step_length, h0=opts.h_init if opts.h_init is not None else 1.0,
                    seed=cfg.seed, init=m.init, init_scale=m.init_scale)
    F = family.F(probs.params)
    res = train(model, jvp_loss(model, F, probs.x0, m.outer, opts.weight_base), cfg.train, progress=progress, checkpoint=checkpoint,
                resume=resume, desc=cfg.run_name)
    with torch.no_grad():
        W, b, h = model.W().numpy().tolist(), model.b().numpy().tolist(), float(model.h())
    with torch_threads(1):
        cost = measure_jvp_cost(family.residual, probs.x0, probs.params)
    n_jvp = sum(1 for t in m.derivatives if t == "jvp") + (step_length == "minimal-residual")
    structure = {"stages": m.stages, "outer": m.outer, "mode": "jvp", "derivatives": list(m.derivatives), "step_length": step_length,
                 "h": "learned", "evaluations_per_outer": m.stages - n_jvp + (step_length == "minimal-residual"),
                 "jvps_per_outer": int(n_jvp), "safeguard_rate": opts.safeguard_rate, "max_backtracks": opts.max_backtracks,
                 "options": opts.to_json()}
    return LearnedAlgorithm(kind="newton-krylov", problem=problem, structure=structure, weights={"W": W, "b": b, "h": h},
                            config=cfg.to_json(), seed=cfg.seed, training=res.record(), timing={"train_s": round(res.wall_time, 3)},
                            cost=cost)


def structure_text(solver: NonlinearSolver) -> str:
    """Which evaluations the update uses, as readable pseudocode."""
    W, b, h = solver.W, solver.b, solver.h
    n = len(b)

    def combo(coeffs: Sequence[float], count: int) -> str:
        return " + ".join(f"{coeffs[l]:.6g} v{l + 1}" for l in range(count) if abs(coeffs[l]) > 1e-12) or "0"

    if solver.mode == "derivative-free":
        lines = ["repeat until ||F(x)|| <= tol:", "  v1 = -F(x)"]
        lines += [f"  v{j + 1} = -F(x + h ({combo(W[j], j)}))" for j in range(1, n)]
        if solver.memory:
            M = solver.memory
            lines.append(f"  s = h ({combo(b, n)})      with h = {h:.6g}")
            lines.append(f"  if {M} earlier iterations are recorded:          (before: plain R2N2 steps, start-up rule rk)")
            for m in range(1, M + 1):
                g = combo(solver.gammas[m - 1], n).replace("v", f"v^(k-{m})_")
                lines.append(f"    s = s + {solver.betas[m - 1]:.6g} (x_(k-{m - 1}) - x_(k-{m}))" + (f" + h ({g})" if g != "0" else ""))
            lines.append("  x = x + s")
        else:
            lines.append(f"  x = x + h ({combo(b, n)})      with h = {h:.6g}")
    else:
        lines = ["repeat until ||F(x)|| <= tol:            (Newton-like outer iteration)",
                 "  r = -F(x);  y = 0;  J v = directional derivative of F at x",
                 f"  repeat {solver.inner_outer} time(s):                     (learned inner polynomial iteration)",
                 "    v1 = r - J y"]
        lines += [f"    v{j + 1} = v1 - h J ({combo(W[j], j)})" for j in range(1, n)]
        lines += [f"    y = y + h ({combo(b, n)})      with h = {h:.6g}", "  x = x + y"]
    unused = [f"v{j + 1}" for j in range(n) if abs(b[j]) <= 1e-8 * max(1.0, float(np.abs(b).max()))]
    if unused:
        lines.append(f"(the update does not use {', '.join(unused)})")
    return "\n".join(lines)


def _fmt(v: float | None, digits: int = 3) -> str:
    return "not reached" if v is None else f"{v:.{digits}g}"


def _ci(e: dict[str, Any]) -> str:
    if e.get("value") is None:
        return "n/a"
    ci = e.get("ci95")
    if ci is None:
        return f"{e['value']:.3g} (no interval: {e['n']} instances)"
    hi = ci[1] if isinstance(ci[1], (int, float)) else math.inf
    return f"{e['value']:.3g} [{ci[0]:.3g}, {hi:.3g}]"


_VERDICT = {"fewer": "the learned iteration needs fewer", "more": "the learned iteration needs more",
            "no significant difference": "no significant difference"}


def comparison_sentence(c: dict[str, Any], label: str) -> str:
    """What one setting of the comparison says: median costs, ratios with intervals, the winner."""
    inst, med = c["instances"], c["median_cost"]
    s = (f"{label} ({inst} held-out instances, ||F||_2 <= {c['tol']:.0e}), median cost in residual evaluations: "
         + ", ".join(f"{m} {_fmt(v)}" for m, v in med.items()))
    if "jacobians" in c:
        jm = [v for v in c["jacobians"].get("newton_exact", []) if v is not None]
        if jm:
            s += (f" (newton_exact: its F evaluations plus a median of {float(np.median(jm)):g} exact Jacobians at "
                  f"{c['jacobian_in_F']:.3g} F evaluations each)")
    s += (". Learned / baseline, median of the per-instance ratios with a 95% bootstrap interval: "
          + "; ".join(f"{m} {_ci(e)}" + (f" ({_VERDICT[e['verdict']]})" if e.get("verdict") else "") for m, e in c["ratios"].items()) + ".")
    best, fewest = c.get("best_baseline"), c.get("fewest")
    if fewest == "learned":
        e = c["ratios"].get(best) if best else None
        s += " Fewest evaluations: the learned iteration" + (f" (against the best baseline, {best}: {_ci(e)}" + (
            f", {_VERDICT[e['verdict']]})" if e and e.get("verdict") else ")") if best and e else "") + "."
    elif fewest is not None:
        e = c["ratios"][fewest]
        s += (f" Fewest evaluations: {fewest} (median {_fmt(med[fewest])}); the learned iteration needs {_ci(e)} times as many"
              + (f" ({_VERDICT[e['verdict']]})" if e.get("verdict") else "") + ".")
    succ = c["success"]
    missed = [f"{m} {succ[m]}/{inst}" for m in succ if succ[m] < inst]
    if missed:
        s += " Converged: " + ", ".join(missed) + " (the others all)."
    return s


def analyze_run(alg, *, progress: bool = True) -> dict[str, Any]:
    """Analyse a learned nonlinear iteration: the tableau as an RK method, the linearisation
    at the solutions of >= 100 held-out instances, the structure, and the equal-cost
    comparison with tuned and default classical solvers in and out of distribution."""
    from tqdm.auto import tqdm

    opts = NonlinearTrainingConfig.from_options(dict(alg.config.get("nonlinear", {})))
    family = family_for(alg.problem, opts)
    opts, scaling = opts.effective(family.size)
    solver = solver_from_artefact(alg)
    if getattr(solver, "uses_jvp", False):
        return analyze_jvp_run(alg, solver, family, opts, progress=progress, scaling=scaling)
    out = analyze_tableau(solver.tableau, targets=[], name=alg.default_name).to_json()
    out["rk_identified_as"] = out.get("identified_as")
    out["kind"] = "newton-krylov"
    out["mode"] = solver.mode
    bar = tqdm(total=6 + 2 * opts.heldout, desc="tuning baselines, comparing", disable=not progress, leave=False)
    train = family.sample(max(opts.samples, opts.tune_instances), alg.seed)
    k = min(opts.tune_instances, len(train))
    tuning = [(train.params[i].numpy(), train.x0[i].numpy()) for i in range(k)]
    with torch_threads(1):  # tiny tensors: thread start-up costs more than it saves
        depths = sorted(set(ANDERSON_DEPTHS) | ({solver.memory} if solver.memory else set()))
        baselines = tune_baselines(family, tuning, tol=opts.tol, budget=opts.max_evaluations, progress=lambda: bar.update(1),
                                   anderson_depths=depths)
        lin = linearisation(solver, family, instances=opts.linearisation_instances, seed=alg.seed)
        kw = dict(instances=opts.heldout, seed=alg.seed, tol=opts.tol, budget=opts.max_evaluations, baselines=baselines,
                  progress=lambda: bar.update(1))
        comp_in = compare(solver, family, **kw)
        comp_ood = compare(solver, family, ood=True, **kw)
    bar.close()
    out["identified_as"] = ("derivative-free " if solver.mode == "derivative-free" else "Newton-Krylov with a learned inner ") + \
        f"{alg.stages}-evaluation polynomial iteration" + (f" with memory {solver.memory}" if solver.memory else "")
    base = baselines.to_json()
    base["tuning_source"] = f"the first {k} training instances (seed {alg.seed}); held-out instances are never seen by the tuning"
    base["counting"] = ("every method calls F through a wrapper that counts each call (line searches and finite-difference "
                        "Jacobian-vector products included); cost = that count at the first iterate with ||F(x)||_2 <= tol, "
                        "plus, for newton_exact, its exact Jacobians times jacobian_cost.jacobian_in_F")
    out["nonlinear"] = {
        "mode": solver.mode,
        "family": family.to_json(),
        "structure": structure_text(solver),
        "h": solver.h,
        "evaluations_per_outer": alg.structure.get("evaluations_per_outer"),
        "linearisation": lin,
        "baselines": base,
        "comparison": {"in_distribution": comp_in, "out_of_distribution": comp_ood},
    }
    if scaling is not None:
        out["nonlinear"]["scaling"] = scaling
    w = lin["worst"]
    where = ", ".join(f"{k_} = {v:.4g}" for k_, v in w["params"].items())
    unit = "Newton step" if solver.mode == "newton-krylov" else "outer step"
    mem = ""
    if solver.memory:
        out["nonlinear"]["memory"] = {
            "depth": solver.memory, "form": alg.structure.get("memory_form", "full"), "startup": alg.structure.get("startup", "rk"),
            "betas": solver.betas.tolist(), "gammas": solver.gammas.tolist(), "anderson_same_depth": f"anderson({solver.memory})",
            "recurrence": lin.get("memory_recurrence"), "identified_as": lin.get("memory_identified_as"),
        }
        e = comp_in["ratios"].get(f"anderson({solver.memory})", {})
        mem = (f" With memory {solver.memory} (betas {', '.join(f'{v:.4g}' for v in solver.betas)}; no least-squares solve), against "
               f"Anderson({solver.memory}) at the same depth in distribution: learned / Anderson {_ci(e)}"
               + (f" ({_VERDICT[e['verdict']]})" if e.get("verdict") else "") + ".")
    out["summary"] = (
        f"Learned {solver.mode} iteration with {alg.stages} evaluations per outer step on {family.description}.{mem} "
        f"Local convergence factor at the solution, per {unit}: median {lin['local_rate_median']:.3g}, worst {w['rate']:.3g} "
        f"(at {where}{', a corner of the parameter range' if w['instance'] == 'corner' else ''}) over {lin['instances']} held-out "
        f"instances" + (f" and the {lin['corners']} corners of the parameter range" if lin["corners"] else "") + ". "
        + comparison_sentence(comp_in, "In distribution") + " "
        + comparison_sentence(comp_ood, "Out of distribution")
        + f" The safeguard rejected {comp_in['safeguard_rejections'] + comp_ood['safeguard_rejections']} steps."
        + scale_sentence(scaling, lin)
    )
    return _with_run_record(out, alg)


def _with_run_record(out: dict[str, Any], alg: Any) -> dict[str, Any]:
    """``out`` with what every nonlinear analysis carries of its run: training record,
    provenance, structure and problem class."""
    out["training"] = {"loss_history": alg.training.get("loss_history", []), "phases": alg.training.get("phases", []),
                       "final_loss": alg.training.get("final_loss")}
    out["provenance"] = alg.provenance()
    out["structure"] = alg.structure
    out["problem_class"] = "nonlinear"
    return out


def scale_sentence(scaling: dict[str, Any] | None, lin: dict[str, Any] | None) -> str:
    """The report's sentence on the automatic choices made for a large system (empty if none)."""
    parts = []
    if scaling is not None:
        ch = ", ".join(f"{k} {v['used']} (configured {v['configured']})" for k, v in scaling["changed"].items())
        parts.append(f" At m = {scaling['m']} unknowns (> {scaling['threshold']}) the counts were chosen automatically "
                     f"(nonlinear.scale = auto): {ch}.")
    est = (lin or {}).get("spectrum_estimate")
    if est is not None:
        parts.append(f" The Jacobian spectra at the solutions are estimates (matrix-free, {est['matvecs']} JVPs in all"
                     + ("" if est["converged"] else ", not every end converged") + "; no m x m matrix formed), and so are "
                     "the local factors above.")
    return "".join(parts)


# ----------------------------------------------------------------------------- JVP iterations
def scalar_taylor(family: NonlinearFamily, p: np.ndarray, x_star: np.ndarray, terms: int = 6) -> list[float]:
    """Taylor coefficients ``a_k = F^(k)(x*) / k!`` (k = 1..terms) of a scalar family at a root,
    by nested forward-mode AD."""
    P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))
    f = lambda t: family.residual(t.reshape(1, 1), P).reshape(())  # noqa: E731
    x = torch.tensor(float(x_star[0]), dtype=torch.float64)
    out, g = [], f
    for k in range(1, terms + 1):
        g = (lambda g: (lambda t: torch.func.jvp(g, (t,), (torch.ones_like(t),))[1]))(g)
        out.append(float(g(x)) / math.factorial(k))
    return out


def jvp_iteration_analysis(solver: Any, family: NonlinearFamily, histories: Sequence[Sequence[float]],
                           params: Sequence[np.ndarray], *, seed: int) -> dict[str, Any]:
    """Measured local order and factor per instance (from the residual histories of the
    held-out runs), their median and worst case, the predicted order on a generic scalar
    equation and, for a scalar family, on the family itself (at the root of its first
    held-out instance), and the pseudocode."""
    from .analysis.convergence_order import factor_summary, local_factor, measured_order, predicted_scalar_order

    names = [dict(zip(family.params, (float(v) for v in p))) for p in params]
    orders = [measured_order(h)["order"] for h in histories]
    factors = [local_factor(h) for h in histories]
    W, b = solver.W.tolist(), solver.b.tolist()
    generic = predicted_scalar_order(solver.pattern, W, b, solver.h, solver.step_length)
    out: dict[str, Any] = {
        "derivatives": list(solver.pattern),
        "step_length": solver.step_length,
        "direction": "a jvp stage differentiates along the previous stage value: v_j = J(z_j) v_{j-1}",
        "jvps_per_outer": solver.jvps_per_step,
        "jvp_in_F": solver.jvp_in_F,
        "cost_per_outer": solver.cost_per_step,
        "pseudocode": solver.pseudocode(),
        "measured_order": factor_summary(orders, names),
        "local_factor": factor_summary(factors, names),
        "per_instance_order": [o for o in orders],
        "per_instance_factor": [f for f in factors],
        "predicted_order_generic_scalar": generic,
        "order_meaning": ("measured: the computational order log(r_{k+1}/r_k)/log(r_k/r_{k-1}) on the last three residual norms above "
                          "1e-13 of each held-out run; local factor: its last contraction r_{k+1}/r_k (per outer step); predicted: "
                          "the error map of one outer step on a scalar equation, expanded in exact arithmetic"),
    }
    if family.size == 1:
        x_star = _solve_scalar_root(solver, family, params[0])
        if x_star is not None:
            a = scalar_taylor(family, params[0], x_star)
            if a[0] != 0.0:
                fam = predicted_scalar_order(solver.pattern, W, b, solver.h, solver.step_length, taylor=a)
                fam["at"] = {"params": names[0], "root": float(x_star[0])}
                out["predicted_order_family"] = fam
    return out


def _solve_scalar_root(solver: Any, family: NonlinearFamily, p: np.ndarray) -> np.ndarray | None:
    from .nonlinear_comparison import _solve_accurately

    P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))
    return _solve_accurately(family, p, family.guess(P)[0].numpy())


def analyze_jvp_run(alg: Any, solver: Any, family: NonlinearFamily, opts: NonlinearTrainingConfig, *, progress: bool = True,
                    scaling: dict[str, Any] | None = None) -> dict[str, Any]:
    """Analyse a learned JVP iteration: its order and local factor (measured over the
    held-out instances, predicted for scalars), pseudocode, and the comparison counting
    F-evaluation equivalents (each JVP at its measured cost) with Newton-GMRES with exact JVPs,
    tuned and default newton_krylov, Anderson, Picard and exact Newton, in and out of distribution."""
    from tqdm.auto import tqdm

    from .nonlinear_comparison import _instances

    bar = tqdm(total=7 + 2 * opts.heldout, desc="tuning baselines, comparing", disable=not progress, leave=False)
    train = family.sample(max(opts.samples, opts.tune_instances), alg.seed)
    k = min(opts.tune_instances, len(train))
    tuning = [(train.params[i].numpy(), train.x0[i].numpy()) for i in range(k)]
    with torch_threads(1):
        baselines = tune_baselines(family, tuning, tol=opts.tol, budget=opts.max_evaluations, progress=lambda: bar.update(1),
                                   jvp_in_F=solver.jvp_in_F)
        kw = dict(instances=opts.heldout, seed=alg.seed, tol=opts.tol, budget=opts.max_evaluations, baselines=baselines,
                  progress=lambda: bar.update(1))
        comp_in = compare(solver, family, **kw)
        comp_ood = compare(solver, family, ood=True, **kw)
        hist_in, hist_ood = comp_in.pop("learned_histories"), comp_ood.pop("learned_histories")
        params_in = [p for p, _ in _instances(family, opts.heldout, alg.seed, False)]
        params_ood = [p for p, _ in _instances(family, opts.heldout, alg.seed, True)]
        jv = jvp_iteration_analysis(solver, family, hist_in, params_in, seed=alg.seed)
        jv_ood = jvp_iteration_analysis(solver, family, hist_ood, params_ood, seed=alg.seed)
    bar.close()
    jv["out_of_distribution"] = {"measured_order": jv_ood["measured_order"], "local_factor": jv_ood["local_factor"]}
    jv["cost_source"] = dict(alg.cost)
    base = baselines.to_json()
    base["tuning_source"] = f"the first {k} training instances (seed {alg.seed}); held-out instances are never seen by the tuning"
    base["counting"] = ("every method calls F through a wrapper that counts each call, and the exact JVPs (learned iteration, "
                        "newton_gmres) through one that counts each product; cost = F count + JVP count x jvp_in_F (the "
                        "learned artefact's measured cost of one JVP) at the first iterate with ||F(x)||_2 <= tol, plus, for "
                        "newton_exact, its exact Jacobians times jacobian_cost.jacobian_in_F")
    from .analysis import ButcherTableau

    # the weights (W, b) read as a Butcher tableau: the format's common part (as for the other modes)
    out = analyze_tableau(ButcherTableau(solver.W.copy(), solver.b.copy(), name=alg.default_name), targets=[], name=alg.default_name).to_json()
    out["rk_identified_as"] = out.get("identified_as")
    out["kind"], out["mode"] = "newton-krylov", "jvp"
    out["identified_as"] = (f"learned Newton-type iteration with stages {' '.join(solver.pattern)} and a "
                            f"{solver.step_length} step length")
    out["nonlinear"] = {
        "mode": "jvp",
        "family": family.to_json(),
        "structure": solver.pseudocode(),
        "h": solver.h,
        "evaluations_per_outer": int(alg.structure.get("evaluations_per_outer", 0)),
        "jvp": jv,
        "baselines": base,
        "comparison": {"in_distribution": comp_in, "out_of_distribution": comp_ood},
    }
    mo, lf = jv["measured_order"], jv["local_factor"]
    gen = jv["predicted_order_generic_scalar"]
    out["summary"] = (
        f"Learned Newton-type iteration (stages {' '.join(solver.pattern)}, {solver.step_length} step length; one JVP counts "
        f"{solver.jvp_in_F:.3g} F evaluations, measured) on {family.description}: {solver.cost_per_step:.3g} F-equivalents per outer step. "
        f"Measured local order over {mo['instances']} held-out instances: median {_fmt(mo['median'])}, largest {_fmt(mo['worst'])}; "
        f"local factor per outer step: median {_fmt(lf['median'])}, worst {_fmt(lf['worst'])}. Predicted order on a generic scalar "
        f"equation: {gen['order'] if gen['order'] is not None else '> ' + str(gen['terms'])}"
        + (f" (factor |c_1| = {gen['local_factor']:.3g})" if gen["order"] == 1 else "") + ". "
        + comparison_sentence(comp_in, "In distribution") + " " + comparison_sentence(comp_ood, "Out of distribution")
        + scale_sentence(scaling, None)
    )
    if scaling is not None:
        out["nonlinear"]["scaling"] = scaling
    return _with_run_record(out, alg)
