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
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .analysis import analyze_tableau
from .analysis.minimax import convergence_factor
from .analysis.polynomials import polynomial_coefficients
from .analysis.spectrum import Spectrum

from .errors import InputError
from .options import MODES, NonlinearTrainingConfig
from .linear import LinearR2N2, PolynomialSolver, SolveResult
from .model import R2N2
from .nonlinear_families import NONLINEAR_FAMILIES, NonlinearFamily, NonlinearProblems, get_nonlinear_family, nonlinear_family_from_config

__all__ = [
    "NonlinearTrainingConfig",
    "NewtonKrylovR2N2",
    "NonlinearSolver",
    "solver_from_artefact",
    "list_families",
    "train_run",
    "analyze_run",
    "MODES",
]

Tensor = torch.Tensor
_NEWTON_INSTANCES = 10  # plain Newton (dense finite-difference Jacobian) runs on the first 10 instances only


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
        return LinearR2N2(m.stages, m.outer, h0=h0, learn_h=True, consistency=m.consistency, init=m.init, init_scale=m.init_scale, seed=cfg.seed)
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
                 max_backtracks: int = 4, name: str = "learned nonlinear iteration") -> None:
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        # the learned polynomial pass on a linear residual (W, b, h validated there)
        self._poly = PolynomialSolver(W, b, h, name=name)
        self.mode, self.tableau, self.h = mode, self._poly.tableau, self._poly.h
        self.W, self.b = self._poly.W, self._poly.b
        self.inner_outer = inner_outer
        self.safeguard_rate = float(safeguard_rate)
        self.max_backtracks = int(max_backtracks)
        self.name = name

    def solve(self, F: Callable[[np.ndarray], np.ndarray], x0: Any, *, tol: float = 1e-10, maxiter: int = 200,
              max_evaluations: int | None = None, callback: Callable[[np.ndarray], Any] | None = None) -> SolveResult:
        """Iterate until ``||F(x)||_2 <= tol``. ``maxiter`` counts outer iterations."""
        x = np.asarray(x0, dtype=np.float64).reshape(-1).copy()
        if not np.all(np.isfinite(x)):
            raise InputError("x0 has a non-finite entry")
        fx = np.asarray(F(x), dtype=np.float64)
        if fx.shape != x.shape:
            raise InputError(f"F returns shape {fx.shape} for an input of shape {x.shape}")
        if not np.all(np.isfinite(fx)):
            raise InputError("F is not finite (NaN or inf) at the starting point")
        evals = 1
        norm = float(np.linalg.norm(fx))
        hist = [norm]
        rejected = 0
        budget = max_evaluations if max_evaluations is not None else 10**9
        for k in range(1, maxiter + 1):
            if norm <= tol:
                return SolveResult(x, True, 0, k - 1, evals, tuple(hist), f"converged; {rejected} steps rejected by the safeguard", rejected)
            step, cost = self._step(F, x, fx)
            evals += cost
            for _ in range(self.max_backtracks + 1):
                x_new = x + step
                f_new = np.asarray(F(x_new), dtype=np.float64)
                evals += 1
                n_new = float(np.linalg.norm(f_new)) if np.all(np.isfinite(f_new)) else math.inf
                if n_new <= self.safeguard_rate * norm:
                    break
                rejected += 1
                step = 0.5 * step
            if not math.isfinite(n_new):
                return SolveResult(x, False, -1, k, evals, tuple(hist), f"breakdown: F is not finite; {rejected} steps rejected", rejected)
            x, fx, norm = x_new, f_new, n_new
            hist.append(norm)
            if callback is not None:
                callback(x)
            if evals >= budget:
                break
        ok = norm <= tol
        return SolveResult(x, ok, 0 if ok else maxiter, len(hist) - 1, evals, tuple(hist),
                           ("converged" if ok else "did not converge within the limits") + f"; {rejected} steps rejected by the safeguard", rejected)

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


def solver_from_artefact(alg: Any) -> NonlinearSolver:
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
    return NonlinearSolver(st.get("mode", "derivative-free"), alg.W, alg.b, float(alg.weights["h"]),
                           inner_outer=int(st.get("inner_outer", 1)), safeguard_rate=float(st.get("safeguard_rate", 1.0)),
                           max_backtracks=int(st.get("max_backtracks", 4)), name=alg.default_name)


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
    problem: dict[str, Any] = {"class": "nonlinear", "family": cfg.family}
    if cfg.custom_family:
        problem["custom"] = cfg.custom_family
    family = family_for(problem, opts)
    problem.update({"description": family.description, "size": family.size})
    torch.manual_seed(cfg.seed)
    probs = family.sample(opts.samples, cfg.seed)
    with torch.no_grad():
        bad = ~torch.isfinite(family.residual(probs.x0, probs.params)).all(dim=1)
    if bool(bad.any()):
        raise InputError(f"family {family.name!r}: F is not finite at {int(bad.sum())} sampled starting points")
    model = _build_model(cfg, opts)
    loss = residual_loss(model, family, probs, cfg.model.outer, opts.weight_base)
    res = train(model, loss, cfg.train, progress=progress, checkpoint=checkpoint, resume=resume, desc=cfg.run_name)
    core: LinearR2N2 = model if isinstance(model, LinearR2N2) else model.inner
    with torch.no_grad():
        W, b, h = core.W().numpy().tolist(), core.b().numpy().tolist(), float(core.h())
    n = cfg.model.stages
    per_outer = n if opts.mode == "derivative-free" else n * opts.inner_outer
    structure = {"stages": n, "outer": cfg.model.outer, "mode": opts.mode, "inner_outer": opts.inner_outer,
                 "consistency": cfg.model.consistency, "h": "learned", "evaluations_per_outer": per_outer,
                 "safeguard_rate": opts.safeguard_rate, "max_backtracks": opts.max_backtracks, "options": opts.to_json()}
    return LearnedAlgorithm(
        kind="newton-krylov",
        problem=problem,
        structure=structure,
        weights={"W": W, "b": b, "h": h},
        config=cfg.to_json(),
        seed=cfg.seed,
        training=res.record(),
        timing={"train_s": round(res.wall_time, 3)},
    )


# ----------------------------------------------------------------------------- comparison
def _scipy_newton_krylov(F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float, budget: int) -> tuple[int | None, float]:
    """Residual evaluations scipy's newton_krylov (default settings) needs before an
    iterate reaches ``||F||_2 <= tol`` (None if it fails), and its wall time."""
    from scipy.optimize import NoConvergence, newton_krylov

    count = {"n": 0, "hit": None}

    def Fc(x: np.ndarray) -> np.ndarray:
        count["n"] += 1
        if count["n"] > budget:
            raise RuntimeError("budget")
        return F(x)

    def cb(x: np.ndarray, f: np.ndarray) -> None:
        if count["hit"] is None and float(np.linalg.norm(f)) <= tol:
            count["hit"] = count["n"]

    t0 = time.perf_counter()
    try:
        newton_krylov(Fc, x0, f_tol=tol / math.sqrt(len(x0)), callback=cb, maxiter=200)
    except (NoConvergence, RuntimeError, ValueError, np.linalg.LinAlgError):
        pass
    return count["hit"], time.perf_counter() - t0


def _newton_direct(F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float, maxiter: int = 50) -> tuple[int | None, int, float]:
    """Plain Newton with a dense direct solve and a forward-difference Jacobian (m residual
    evaluations each): (total residual evaluations, Jacobians, wall time)."""
    t0 = time.perf_counter()
    x = x0.copy()
    fx = F(x)
    nf, nj = 1, 0
    m = len(x)
    sq = math.sqrt(np.finfo(float).eps)
    for _ in range(maxiter):
        if float(np.linalg.norm(fx)) <= tol:
            return nf, nj, time.perf_counter() - t0
        J = np.empty((m, m))
        for j in range(m):
            e = sq * max(1.0, abs(x[j]))
            xj = x.copy()
            xj[j] += e
            J[:, j] = (F(xj) - fx) / e
        nf += m
        nj += 1
        try:
            x = x - np.linalg.solve(J, fx)
        except np.linalg.LinAlgError:
            return None, nj, time.perf_counter() - t0
        fx = F(x)
        nf += 1
        if not np.all(np.isfinite(fx)):
            return None, nj, time.perf_counter() - t0
    return (nf if float(np.linalg.norm(fx)) <= tol else None), nj, time.perf_counter() - t0


def _jacobian_fn(family: NonlinearFamily, p: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Exact Jacobian by forward-mode autodiff (for the linearisation at the solution)."""
    P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))

    def jac(x: np.ndarray) -> np.ndarray:
        X = torch.tensor(x, dtype=torch.float64)
        return torch.func.jacfwd(lambda v: family.residual(v[None], P)[0])(X).numpy()

    return jac


def _median(values: Sequence[float | None]) -> float | None:
    """Median with failures (None) counted as +inf; None when that median is infinite."""
    if not values:
        return None
    full = sorted([v if v is not None else math.inf for v in values])
    mid = len(full) // 2
    med = full[mid] if len(full) % 2 else 0.5 * (full[mid - 1] + full[mid])
    return None if not math.isfinite(med) else float(med)


def compare(solver: NonlinearSolver, family: NonlinearFamily, *, instances: int, seed: int, tol: float, budget: int,
            ood: bool = False, newton: bool = True, progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Residual evaluations and wall time to ``||F||_2 <= tol`` on held-out instances: the
    learned solver, scipy's newton_krylov at its defaults and (for m <= 400) Newton with a
    direct solve and a finite-difference Jacobian (m evaluations per Jacobian, counted)."""
    probs = family.sample(instances, seed + (7919 if ood else 4099), ood=ood)
    learned, scipy_counts, newton_counts, jac_counts = [], [], [], []
    t_learned = t_scipy = t_newton = 0.0
    rejected = 0
    for i in range(instances):
        p = probs.params[i].numpy()
        x0 = probs.x0[i].numpy()
        F = family.numpy_residual(p)
        t0 = time.perf_counter()
        res = solver.solve(F, x0, tol=tol, maxiter=budget, max_evaluations=budget)
        t_learned += time.perf_counter() - t0
        learned.append(res.nmatvec if res.success else None)
        rejected += res.rejected_steps
        c, dt = _scipy_newton_krylov(F, x0, tol, budget)
        scipy_counts.append(c)
        t_scipy += dt
        if newton and family.size <= 400 and i < _NEWTON_INSTANCES:
            nf, nj, dt = _newton_direct(F, x0, tol)
            newton_counts.append(nf)
            jac_counts.append(nj)
            t_newton += dt
        if progress is not None:
            progress()
    ratios = [a / b for a, b in zip(learned, scipy_counts) if a is not None and b is not None]
    out = {
        "setting": "out_of_distribution" if ood else "in_distribution",
        "instances": instances,
        "tol": tol,
        "evaluations": {"learned": learned, "newton_krylov": scipy_counts},
        "median_evaluations": {"learned": _median(learned), "newton_krylov": _median(scipy_counts)},
        "success": {"learned": sum(v is not None for v in learned), "newton_krylov": sum(v is not None for v in scipy_counts)},
        "median_ratio_learned_to_newton_krylov": float(np.median(ratios)) if ratios else None,
        "wall_time_s": {"learned": t_learned, "newton_krylov": t_scipy},
        "safeguard_rejections": rejected,
    }
    if newton_counts:
        out["evaluations"]["newton_direct"] = newton_counts
        out["median_evaluations"]["newton_direct"] = _median(newton_counts)
        out["newton_direct_instances"] = len(newton_counts)
        out["newton_direct_jacobians_median"] = float(np.median(jac_counts))
        out["success"]["newton_direct"] = sum(v is not None for v in newton_counts)
        out["wall_time_s"]["newton_direct"] = t_newton
    return out


def linearisation(solver: NonlinearSolver, family: NonlinearFamily, *, instances: int = 3, seed: int = 0) -> dict[str, Any]:
    """Spectrum of the Jacobian at the solution on a few held-out instances and the local
    convergence factor of the learned polynomial there."""
    from scipy.optimize import newton_krylov

    probs = family.sample(instances, seed + 31337)
    eigs = []
    for i in range(instances):
        p = probs.params[i].numpy()
        F = family.numpy_residual(p)
        xs = newton_krylov(F, probs.x0[i].numpy(), f_tol=1e-12)
        J = _jacobian_fn(family, p)(xs)
        eigs.append(np.linalg.eigvals(J))
    ev = np.concatenate(eigs)
    lo, hi = float(ev.real.min()), float(ev.real.max())
    spectrum = Spectrum((lo, hi), f"eigenvalues of F'(x*) at the solutions of {instances} held-out instances", eigenvalues=ev, exact_interval=True)
    fac = convergence_factor(solver.W, solver.b, solver.h, spectrum)
    coeffs = polynomial_coefficients(solver.tableau, solver.h)
    per_outer = fac["per_outer"]
    if solver.mode == "newton-krylov":
        meaning = ("inner residual factor max|q| over the spectrum of J*: the forcing term of the inexact Newton "
                   f"iteration ({solver.inner_outer} inner pass(es) per Newton step), so the local rate per Newton step")
        local = per_outer ** solver.inner_outer if per_outer is not None else None
    else:
        meaning = "max|R(-h lambda)| over the spectrum of J*: the local linear rate per outer iteration"
        local = per_outer
    srt = [float(v) for v in np.sort(ev.real)]
    return {"spectrum": spectrum.to_json(), "eigenvalues_real": srt[:8] + ["..."] + srt[-3:] if len(srt) > 11 else srt,
            "eigenvalues_all_real": srt, "eigenvalues_max_imag": float(np.max(np.abs(ev.imag))),
            "residual_polynomial_coefficients": [float(c) for c in coeffs], "factor": fac, "local_rate": local, "meaning": meaning}


def structure_text(solver: NonlinearSolver) -> str:
    """Which evaluations the update uses, as readable pseudocode."""
    W, b, h = solver.W, solver.b, solver.h
    n = len(b)

    def combo(coeffs: Sequence[float], count: int) -> str:
        return " + ".join(f"{coeffs[l]:.6g} v{l + 1}" for l in range(count) if abs(coeffs[l]) > 1e-12) or "0"

    if solver.mode == "derivative-free":
        lines = ["repeat until ||F(x)|| <= tol:", "  v1 = -F(x)"]
        lines += [f"  v{j + 1} = -F(x + h ({combo(W[j], j)}))" for j in range(1, n)]
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


def analyze_run(alg, *, progress: bool = True) -> dict[str, Any]:
    """Analyse a learned nonlinear iteration: the tableau as an RK method, the linearisation
    at the solution, the structure, and the equal-cost comparison with scipy's
    newton_krylov (and Newton with a direct solve) in and out of distribution."""
    from tqdm.auto import tqdm

    opts = NonlinearTrainingConfig.from_options(dict(alg.config.get("nonlinear", {})))
    family = family_for(alg.problem, opts)
    solver = solver_from_artefact(alg)
    out = analyze_tableau(solver.tableau, targets=[], name=alg.default_name).to_json()
    out["rk_identified_as"] = out.get("identified_as")
    out["kind"] = "newton-krylov"
    out["mode"] = solver.mode
    lin = linearisation(solver, family, seed=alg.seed)
    bar = tqdm(total=2 * opts.heldout, desc="comparing with newton_krylov", disable=not progress, leave=False)
    comp_in = compare(solver, family, instances=opts.heldout, seed=alg.seed, tol=opts.tol, budget=opts.max_evaluations, progress=lambda: bar.update(1))
    comp_ood = compare(solver, family, instances=opts.heldout, seed=alg.seed, tol=opts.tol, budget=opts.max_evaluations, ood=True,
                       progress=lambda: bar.update(1))
    bar.close()
    ratio = comp_in["median_ratio_learned_to_newton_krylov"]
    out["identified_as"] = ("derivative-free " if solver.mode == "derivative-free" else "Newton-Krylov with a learned inner ") + \
        f"{alg.stages}-evaluation polynomial iteration"
    out["nonlinear"] = {
        "mode": solver.mode,
        "family": family.to_json(),
        "structure": structure_text(solver),
        "h": solver.h,
        "evaluations_per_outer": alg.structure.get("evaluations_per_outer"),
        "linearisation": lin,
        "comparison": {"in_distribution": comp_in, "out_of_distribution": comp_ood},
    }
    med = comp_in["median_evaluations"]
    verdict = ("needs no more residual evaluations than" if ratio is not None and ratio <= 1.0 else "needs more residual evaluations than")
    out["summary"] = (
        f"Learned {solver.mode} iteration with {alg.stages} evaluations per outer step on {family.description}. "
        f"Local convergence factor at the solution {lin['local_rate']:.3g} per outer step. "
        f"On {opts.heldout} held-out instances it reaches ||F|| <= {opts.tol:.0e} with a median of "
        f"{med['learned'] if med['learned'] is not None else 'no convergence'} residual evaluations against "
        f"{med['newton_krylov']} for scipy's newton_krylov at its defaults (median ratio "
        f"{'n/a' if ratio is None else f'{ratio:.3g}'}): it {verdict} newton_krylov in distribution; out of distribution the "
        f"median ratio is {comp_ood['median_ratio_learned_to_newton_krylov'] if comp_ood['median_ratio_learned_to_newton_krylov'] is None else round(comp_ood['median_ratio_learned_to_newton_krylov'], 3)} "
        f"with {comp_ood['success']['learned']}/{opts.heldout} learned solves converging. "
        f"The safeguard rejected {comp_in['safeguard_rejections'] + comp_ood['safeguard_rejections']} steps."
    )
    out["training"] = {"loss_history": alg.training.get("loss_history", []), "phases": alg.training.get("phases", []),
                       "final_loss": alg.training.get("final_loss")}
    out["provenance"] = alg.provenance()
    out["structure"] = alg.structure
    out["problem_class"] = "nonlinear"
    return out
