"""The classical solvers a learned nonlinear iteration is measured against, counted the same way.

Every method runs on the same numpy residual ``F`` wrapped in a :class:`CountedF`, which
counts every call the method makes (line searches, finite-difference Jacobian-vector
products and all); the cost of a run is that count at the first iterate with
``||F(x)||_2 <= tol``. The methods:

``learned``              the learned iteration (:class:`~algodiscover.nonlinear.NonlinearSolver`)
``newton_krylov``        SciPy's ``newton_krylov`` at its defaults
``newton_krylov_tuned``  SciPy's ``newton_krylov`` with the inner solver (``method``),
                         ``inner_maxiter``, ``outer_k`` and ``line_search`` tuned on training instances
``anderson(M)``          SciPy's ``anderson`` with depth M = 3, 4, 5, ``alpha`` and
                         ``line_search`` tuned on training instances
``picard``               ``x <- x - omega F(x)`` with omega tuned on training instances
``newton_gmres``         Newton's method whose step solves ``J(x) y = -F(x)`` by GMRES (Arnoldi,
                         modified Gram-Schmidt) with exact forward-mode Jacobian-vector products
                         (``torch.func.jvp``), relative tolerance (forcing term) tuned on training
                         instances; each JVP counts its measured cost in F evaluations (only
                         when that cost is given: the comparison of a learned JVP iteration)
``newton_exact``         Newton's method with the exact Jacobian (the family's analytic one,
                         else forward-mode autodiff of its residual) and a dense solve; its
                         cost is its F evaluations plus its Jacobians times the measured cost
                         of one Jacobian in F evaluations (:func:`jacobian_cost`)

Tuning (:func:`tune_baselines`) is a small successive-halving search: every candidate of a
grid on the first 4 training instances, the best 4 on all of them, the smallest median cost
wins (ties: the smaller mean, then the earlier candidate); a candidate run is cut off at 2x
the best cost seen on that instance plus 5 (it cannot win there). The held-out instances are never
seen by the tuning. Imports numpy, scipy.optimize, torch and :mod:`.nonlinear_families`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .errors import InputError
from .nonlinear_families import NonlinearFamily

__all__ = [
    "safeguarded_iteration",
    "CountedF",
    "MethodRun",
    "Tuned",
    "BaselineSet",
    "BudgetExceeded",
    "run_learned",
    "run_newton_krylov",
    "run_anderson",
    "run_picard",
    "run_newton_exact",
    "run_newton_gmres",
    "run_learned_jvp",
    "jvp_function",
    "forward_jvp",
    "CountedJvp",
    "gmres_solve",
    "jacobian_function",
    "jacobian_cost",
    "tune_baselines",
    "dense_solve",
    "eigenvalues",
    "torch_threads",
    "ANDERSON_DEPTHS",
]

ANDERSON_DEPTHS = (3, 4, 5)
# scipy's defaults first (lgmres, inner_maxiter 20, outer_k 10, armijo): ties go to the earlier candidate
_NK_GRID = ([{"method": "lgmres", "inner_maxiter": im, "outer_k": ok, "line_search": ls}
             for ls in ("armijo", None) for im in (20, 10, 5, 3, 2, 1) for ok in (10, 3, 0)]
            + [{"method": meth, "inner_maxiter": im, "line_search": ls}
               for meth in ("gmres", "bicgstab") for ls in ("armijo", None) for im in (20, 10, 5, 3, 2, 1)])
_ANDERSON_ALPHAS = (None, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
# nearest to omega = 1 first, so that the first candidates set a useful cut-off
_PICARD_OMEGAS = tuple(sorted((float(s * w) for s in (1.0, -1.0) for w in np.geomspace(0.02, 4.0, 12)),
                              key=lambda w: (w < 0, abs(math.log(abs(w))))))
_STAGE1, _KEEP = 4, 4
_TUNE_BUDGET = 300
_NEWTON_MAX_SIZE = 2000
_GMRES_RTOLS = (0.5, 0.3, 0.1, 3e-2, 1e-2, 1e-3, 1e-4, 1e-6)


def safeguarded_iteration(F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray,
                          propose: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, int]], *, tol: float, maxiter: int,
                          max_evaluations: int | None, callback: Callable[[np.ndarray], Any] | None, rate: float,
                          max_backtracks: int, accepted: Callable[[np.ndarray], Any] | None = None) -> Any:
    """The outer loop of the learned solvers, until ``||F(x)||_2 <= tol``: ``propose(x, F(x))``
    gives a step and its cost in F evaluations (F(x) itself not counted); the safeguard
    accepts ``x + step`` when ``||F|| <= rate * ||F(x)||``, else halves the step (at most
    ``max_backtracks`` times) and counts the rejection; ``accepted(x)`` sees every accepted
    iterate (a memory's history). Returns :class:`~algodiscover.linear.SolveResult`
    (``nmatvec`` = F evaluations, derivative products at their cost)."""
    from .linear import SolveResult

    x = np.asarray(x0, dtype=np.float64).reshape(-1).copy()
    fx = np.asarray(F(x), dtype=np.float64)
    if fx.shape != x.shape:
        raise InputError(f"F returns shape {fx.shape} for an input of shape {x.shape}")
    if not np.all(np.isfinite(fx)):
        raise InputError("F is not finite (NaN or inf) at the starting point")
    evals = 1
    norm = float(np.linalg.norm(fx))
    hist, rejected = [norm], 0
    budget = max_evaluations if max_evaluations is not None else 10**9
    for k in range(1, maxiter + 1):
        if norm <= tol:
            return SolveResult(x, True, 0, k - 1, evals, tuple(hist), f"converged; {rejected} steps rejected by the safeguard", rejected)
        step, cost = propose(x, fx)
        evals += cost
        for _ in range(max_backtracks + 1):
            x_new = x + step
            f_new = np.asarray(F(x_new), dtype=np.float64)
            evals += 1
            n_new = float(np.linalg.norm(f_new)) if np.all(np.isfinite(f_new)) else math.inf
            if n_new <= rate * norm:
                break
            rejected += 1
            step = 0.5 * step
        if not math.isfinite(n_new):
            return SolveResult(x, False, -1, k, evals, tuple(hist), f"breakdown: F is not finite; {rejected} steps rejected", rejected)
        x, fx, norm = x_new, f_new, n_new
        if accepted is not None:
            accepted(x)
        hist.append(norm)
        if callback is not None:
            callback(x)
        if evals >= budget:
            break
    ok = norm <= tol
    return SolveResult(x, ok, 0 if ok else maxiter, len(hist) - 1, evals, tuple(hist),
                       ("converged" if ok else "did not converge within the limits") + f"; {rejected} steps rejected by the safeguard", rejected)


def dense_solve(J: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``J^-1 f`` for a small dense J (torch's LAPACK on the caller's thread count: NumPy's
    OpenBLAS threads contend badly on a loaded machine, 100x slower at m = 100)."""
    return torch.linalg.solve(torch.from_numpy(np.ascontiguousarray(J)), torch.from_numpy(np.ascontiguousarray(f))).numpy()


def eigenvalues(J: np.ndarray) -> np.ndarray:
    """Eigenvalues of a small dense matrix (torch, see :func:`dense_solve`)."""
    return torch.linalg.eigvals(torch.from_numpy(np.ascontiguousarray(J))).numpy()


class torch_threads:  # noqa: N801 - used as a context manager
    """``with torch_threads(1): ...`` runs torch on ``n`` intra-op threads and restores the count."""

    def __init__(self, n: int = 1) -> None:
        self.n = n
        self.saved = torch.get_num_threads()

    def __enter__(self) -> "torch_threads":
        self.saved = torch.get_num_threads()
        torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: Any) -> None:
        torch.set_num_threads(self.saved)


class BudgetExceeded(Exception):
    """Raised by :class:`CountedF` when a method asks for more evaluations than its budget."""


class _Reached(Exception):
    """Raised from a SciPy callback at the first iterate that meets the tolerance."""


class CountedF:
    """``F`` that counts its calls (``count``) and refuses more than ``budget`` of them."""

    def __init__(self, F: Callable[[np.ndarray], np.ndarray], budget: int) -> None:
        self._F = F
        self.budget = int(budget)
        self.count = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.count += 1
        if self.count > self.budget:
            raise BudgetExceeded
        return np.asarray(self._F(np.asarray(x, dtype=np.float64)), dtype=np.float64)


@dataclass(frozen=True)
class MethodRun:
    """One run: F evaluations to the tolerance (None: not reached within the budget),
    exact Jacobians (methods that use them), wall time, and what the wrapper counted in all."""

    evaluations: int | None
    jacobians: int | None = None
    wall_s: float = 0.0
    counted: int = 0
    rejected_steps: int = 0
    jvps: int | None = None
    history: tuple[float, ...] = ()

    def cost(self, jacobian_in_F: float = 0.0, jvp_in_F: float = 0.0) -> float | None:
        """Cost in F-evaluation equivalents: evaluations + Jacobians x ``jacobian_in_F`` +
        Jacobian-vector products x ``jvp_in_F``."""
        if self.evaluations is None:
            return None
        return float(self.evaluations + (self.jacobians or 0) * jacobian_in_F + (self.jvps or 0) * jvp_in_F)


def _scipy_run(solve: Callable[..., Any], F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float, budget: int,
               **kw: Any) -> MethodRun:
    from scipy.optimize import NoConvergence

    Fc = CountedF(F, budget)
    hit: list[int] = []

    def cb(_x: np.ndarray, f: np.ndarray) -> None:
        if float(np.linalg.norm(f)) <= tol:
            hit.append(Fc.count)
            raise _Reached

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            solve(Fc, np.array(x0, dtype=np.float64), f_tol=tol / math.sqrt(len(x0)), maxiter=budget, callback=cb, **kw)
    except (_Reached, BudgetExceeded, NoConvergence, ValueError, ArithmeticError, np.linalg.LinAlgError):
        pass
    return MethodRun(hit[0] if hit else None, None, time.perf_counter() - t0, Fc.count)


def run_newton_krylov(F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float, budget: int,
                      options: dict[str, Any] | None = None) -> MethodRun:
    """SciPy's ``newton_krylov`` with ``options`` (its defaults when None)."""
    from scipy.optimize import newton_krylov

    return _scipy_run(newton_krylov, F, x0, tol, budget, **(options or {}))


def run_anderson(F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float, budget: int, M: int,
                 options: dict[str, Any] | None = None) -> MethodRun:
    """SciPy's ``anderson`` with depth ``M`` and ``options`` (``alpha``, ``line_search``)."""
    from scipy.optimize import anderson

    return _scipy_run(anderson, F, x0, tol, budget, M=M, **(options or {}))


def run_learned(solver: Any, F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float, budget: int) -> MethodRun:
    """The learned solver on the counted F (its own evaluation count is not used)."""
    Fc = CountedF(F, budget)
    t0 = time.perf_counter()
    ok, rejected = False, 0
    try:
        with np.errstate(all="ignore"):
            res = solver.solve(Fc, np.array(x0, dtype=np.float64), tol=tol, maxiter=budget, max_evaluations=budget)
        ok, rejected = res.success, res.rejected_steps
    except BudgetExceeded:
        pass
    return MethodRun(Fc.count if ok else None, None, time.perf_counter() - t0, Fc.count, rejected)


def run_picard(F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float, budget: int, omega: float) -> MethodRun:
    """``x <- x - omega F(x)`` until ``||F(x)|| <= tol`` (one evaluation per step); a
    residual that grows by 1e10 or stops being finite ends the run."""
    Fc = CountedF(F, budget)
    t0 = time.perf_counter()
    x = np.array(x0, dtype=np.float64)
    hit = None
    try:
        with np.errstate(all="ignore"):
            f = Fc(x)
            n0 = float(np.linalg.norm(f))
            while True:
                nf = float(np.linalg.norm(f))
                if nf <= tol:
                    hit = Fc.count
                    break
                if not math.isfinite(nf) or nf > 1e10 * max(n0, 1e-300):
                    break
                x = x - omega * f
                f = Fc(x)
    except BudgetExceeded:
        pass
    return MethodRun(hit, None, time.perf_counter() - t0, Fc.count)


def jacobian_function(family: NonlinearFamily, p: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The exact Jacobian ``F'(x)`` of one instance: the family's analytic one, else
    forward-mode autodiff of its residual (torch)."""
    P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))
    analytic = family.jacobian

    def jac(x: np.ndarray) -> np.ndarray:
        X = torch.tensor(np.asarray(x, dtype=np.float64))
        with torch.no_grad():
            if analytic is not None:
                return analytic(X[None], P)[0].numpy()
            return torch.func.jacfwd(lambda v: family.residual(v[None], P)[0])(X).numpy()

    return jac


def run_newton_exact(F: Callable[[np.ndarray], np.ndarray], jac: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, tol: float,
                     budget: int, maxiter: int = 100) -> MethodRun:
    """Newton's method ``x <- x - J(x)^-1 F(x)`` with the exact Jacobian and a dense solve
    (no line search); F evaluations and Jacobians counted separately."""
    Fc = CountedF(F, budget)
    jacobians = 0
    t0 = time.perf_counter()
    x = np.array(x0, dtype=np.float64)
    hit = None
    try:
        with np.errstate(all="ignore"):
            f = Fc(x)
            for _ in range(maxiter):
                nf = float(np.linalg.norm(f))
                if nf <= tol:
                    hit = Fc.count
                    break
                if not math.isfinite(nf):
                    break
                J = jac(x)
                jacobians += 1
                x = x - dense_solve(J, f)
                f = Fc(x)
    except (BudgetExceeded, np.linalg.LinAlgError, RuntimeError):
        pass
    return MethodRun(hit, jacobians, time.perf_counter() - t0, Fc.count)


def forward_jvp(residual: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """``J(X) V`` by exact forward-mode AD with dual numbers (``torch.autograd.forward_ad``):
    the same product as ``torch.func.jvp`` with less per-call overhead on small systems."""
    import torch.autograd.forward_ad as fwad

    with fwad.dual_level():
        return fwad.unpack_dual(residual(fwad.make_dual(X, V))).tangent


def jvp_function(family: NonlinearFamily, p: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The exact Jacobian-vector product ``J(x) v`` of one instance by forward-mode AD
    (:func:`forward_jvp` of the family's torch residual), numpy in and out."""
    P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))

    def jvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
        X = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(1, -1))
        V = torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(1, -1))
        with torch.no_grad():
            return forward_jvp(lambda Y: family.residual(Y, P), X, V)[0].numpy().copy()

    return jvp


class CountedJvp:
    """``jvp(x, v)`` that counts its calls (``count``) and refuses more than ``budget``."""

    def __init__(self, jvp: Callable[[np.ndarray, np.ndarray], np.ndarray], budget: int) -> None:
        self._jvp = jvp
        self.budget = int(budget)
        self.count = 0

    def __call__(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        self.count += 1
        if self.count > self.budget:
            raise BudgetExceeded
        return np.asarray(self._jvp(np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)), dtype=np.float64)


def run_learned_jvp(solver: Any, F: Callable[[np.ndarray], np.ndarray], jvp: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    x0: np.ndarray, tol: float, budget: int) -> MethodRun:
    """A learned JVP iteration (:class:`~algodiscover.nonlinear_jvp.JvpSolver`) on the counted F
    and the counted exact JVP; F evaluations and JVPs are reported separately."""
    Fc, Jc = CountedF(F, budget), CountedJvp(jvp, budget)
    t0 = time.perf_counter()
    ok, rejected, hist = False, 0, ()
    try:
        with np.errstate(all="ignore"):
            res = solver.solve(Fc, np.array(x0, dtype=np.float64), jvp=Jc, tol=tol, maxiter=budget, max_evaluations=budget)
        ok, rejected, hist = res.success, res.rejected_steps, res.residual_history
    except BudgetExceeded:
        pass
    return MethodRun(Fc.count if ok else None, None, time.perf_counter() - t0, Fc.count + Jc.count, rejected,
                     Jc.count if ok else None, tuple(hist))


def gmres_solve(matvec: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray, rtol: float, maxiter: int) -> np.ndarray:
    """GMRES from y = 0 (Arnoldi with modified Gram-Schmidt, no restart) until
    ``||rhs - A y|| <= rtol ||rhs||`` or ``maxiter`` products: exactly one product per iteration."""
    beta = float(np.linalg.norm(rhs))
    if beta == 0.0:
        return np.zeros_like(rhs)
    Q = [rhs / beta]
    H = np.zeros((maxiter + 1, maxiter))
    y = np.zeros(0)
    k = 0
    for k in range(1, maxiter + 1):
        w = matvec(Q[-1])
        for i, q in enumerate(Q):
            H[i, k - 1] = float(q @ w)
            w = w - H[i, k - 1] * q
        H[k, k - 1] = float(np.linalg.norm(w))
        e1 = np.zeros(k + 1)
        e1[0] = beta
        y, *_ = np.linalg.lstsq(H[:k + 1, :k], e1, rcond=None)
        res = float(np.linalg.norm(H[:k + 1, :k] @ y - e1))
        if res <= rtol * beta or H[k, k - 1] <= 1e-14 * beta:
            break
        Q.append(w / H[k, k - 1])
    return np.column_stack(Q[:k]) @ y


def run_newton_gmres(F: Callable[[np.ndarray], np.ndarray], jvp: Callable[[np.ndarray, np.ndarray], np.ndarray], x0: np.ndarray,
                     tol: float, budget: int, rtol: float = 1e-2, inner_maxiter: int = 50, maxiter: int = 100) -> MethodRun:
    """Newton's method with the step from :func:`gmres_solve` on ``J(x) y = -F(x)`` (relative
    tolerance ``rtol``), exact JVPs, no line search; F evaluations and JVPs counted separately."""
    Fc, Jc = CountedF(F, budget), CountedJvp(jvp, budget)
    t0 = time.perf_counter()
    x = np.array(x0, dtype=np.float64)
    hit, hits_j, hist = None, None, []
    try:
        with np.errstate(all="ignore"):
            f = Fc(x)
            for _ in range(maxiter):
                nf = float(np.linalg.norm(f))
                hist.append(nf)
                if nf <= tol:
                    hit, hits_j = Fc.count, Jc.count
                    break
                if not math.isfinite(nf):
                    break
                xk = x
                x = x + gmres_solve(lambda v: Jc(xk, v), -f, rtol, min(inner_maxiter, len(x)))
                f = Fc(x)
    except (BudgetExceeded, np.linalg.LinAlgError):
        pass
    return MethodRun(hit, None, time.perf_counter() - t0, Fc.count + Jc.count, 0, hits_j, tuple(hist))


def _best_time(fn: Callable[[], Any], number: int = 20, repeats: int = 5) -> float:
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def jacobian_cost(family: NonlinearFamily, p: np.ndarray, x: np.ndarray) -> dict[str, Any]:
    """Measured cost of one exact Jacobian (the one :func:`jacobian_function` gives) and of
    one forward-mode Jacobian-vector product (``torch.func.jvp``) relative to one evaluation
    of F, all through the family's torch code at the same point, best of 5 repeats of 20
    calls each; a finite-difference Jacobian would cost m evaluations."""
    P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))
    X = torch.tensor(np.asarray(x, dtype=np.float64))[None]
    V = torch.ones_like(X) / math.sqrt(X.numel())
    jac = jacobian_function(family, p)
    F = family.numpy_residual(p)
    xn = np.asarray(x, dtype=np.float64)
    with torch.no_grad():
        t_f = _best_time(lambda: F(xn))
        t_j = _best_time(lambda: jac(xn))
        t_ft = _best_time(lambda: family.residual(X, P))
        t_jvp = _best_time(lambda: torch.func.jvp(lambda Y: family.residual(Y, P), (X,), (V,)))
    kind = "analytic (the family's own)" if family.jacobian is not None else "forward-mode autodiff (torch.func.jacfwd)"
    return {"F_seconds": t_f, "jacobian_seconds": t_j, "jacobian_in_F": t_j / t_f, "jvp_seconds": t_jvp, "jvp_in_F": t_jvp / t_ft,
            "size": int(X.numel()), "jacobian": kind,
            "how": (f"wall time per call, best of 5 repeats of 20 calls, on one training instance: one exact Jacobian ({kind}) "
                    "against one F, both through the numpy interface the solvers call (jacobian_in_F); one forward-mode "
                    "Jacobian-vector product (torch.func.jvp) against one F, both in torch (jvp_in_F). Newton's cost counts "
                    "each Jacobian as jacobian_in_F evaluations of F; a finite-difference Jacobian would cost "
                    f"m = {int(X.numel())}")}


@dataclass(frozen=True)
class Tuned:
    """The options a tuning chose and how: grid size, tuning instances, median cost there."""

    options: dict[str, Any]
    candidates: int
    instances: int
    median_cost: float | None

    def to_json(self) -> dict[str, Any]:
        return {"options": dict(self.options), "candidates": self.candidates, "instances": self.instances,
                "median_cost_on_tuning": None if self.median_cost is None or not math.isfinite(self.median_cost) else self.median_cost}


def _tune(grid: Sequence[dict[str, Any]], run: Callable[[dict[str, Any], int, int], int | None], n_instances: int,
          budget: int) -> Tuned:
    """Successive halving over ``grid``: ``run(candidate, instance, budget) -> cost | None``."""
    best_at = [math.inf] * n_instances
    results: dict[int, dict[int, float]] = {c: {} for c in range(len(grid))}

    def evaluate(c: int, instances: Sequence[int]) -> None:
        for i in instances:
            if i in results[c]:
                continue
            cap = int(min(budget, 2 * best_at[i] + 5)) if math.isfinite(best_at[i]) else budget
            v = run(grid[c], i, cap)
            cost = math.inf if v is None else float(v)
            results[c][i] = cost
            best_at[i] = min(best_at[i], cost)

    def score(c: int) -> tuple[float, float, int]:
        vals = np.array(list(results[c].values()))
        finite = vals[np.isfinite(vals)]
        return (float(np.median(vals)), float(finite.mean()) if finite.size else math.inf, c)

    first = list(range(min(_STAGE1, n_instances)))
    for c in range(len(grid)):
        evaluate(c, first)
    keep = sorted(range(len(grid)), key=score)[:_KEEP]
    for c in keep:
        evaluate(c, range(n_instances))
    best = min(keep, key=score)
    med = score(best)[0]
    return Tuned(dict(grid[best]), len(grid), n_instances, med)


@dataclass
class BaselineSet:
    """The baselines of one family with their tuned options and the measured Jacobian cost."""

    newton_krylov_tuned: Tuned | None = None
    anderson: dict[int, Tuned] = field(default_factory=dict)
    picard: Tuned | None = None
    jacobian: dict[str, Any] | None = None
    newton_exact: bool = True
    newton_gmres: Tuned | None = None
    jvp_in_F: float | None = None

    @property
    def methods(self) -> list[str]:
        out = ["newton_krylov"]
        if self.newton_krylov_tuned is not None:
            out.append("newton_krylov_tuned")
        out += [f"anderson({M})" for M in sorted(self.anderson)]
        if self.picard is not None:
            out.append("picard")
        if self.newton_exact and self.jacobian is not None:
            out.append("newton_exact")
        if self.newton_gmres is not None:
            out.append("newton_gmres")
        return out

    def run(self, method: str, family: NonlinearFamily, p: np.ndarray, F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray,
            tol: float, budget: int) -> MethodRun:
        if method == "newton_krylov":
            return run_newton_krylov(F, x0, tol, budget)
        if method == "newton_krylov_tuned":
            assert self.newton_krylov_tuned is not None
            return run_newton_krylov(F, x0, tol, budget, self.newton_krylov_tuned.options)
        if method.startswith("anderson("):
            M = int(method[len("anderson("):-1])
            return run_anderson(F, x0, tol, budget, M, self.anderson[M].options)
        if method == "picard":
            assert self.picard is not None
            return run_picard(F, x0, tol, budget, float(self.picard.options["omega"]))
        if method == "newton_exact":
            return run_newton_exact(F, jacobian_function(family, p), x0, tol, budget)
        if method == "newton_gmres":
            assert self.newton_gmres is not None
            return run_newton_gmres(F, jvp_function(family, p), x0, tol, budget, float(self.newton_gmres.options["rtol"]))
        raise KeyError(method)

    def to_json(self) -> dict[str, Any]:
        tuning: dict[str, Any] = {}
        if self.newton_krylov_tuned is not None:
            tuning["newton_krylov_tuned"] = self.newton_krylov_tuned.to_json()
        for M, t in sorted(self.anderson.items()):
            tuning[f"anderson({M})"] = t.to_json()
        if self.picard is not None:
            tuning["picard"] = self.picard.to_json()
        if self.newton_gmres is not None:
            tuning["newton_gmres"] = self.newton_gmres.to_json()
        extra: dict[str, Any] = {}
        if self.jvp_in_F is not None:
            extra = {"jvp_in_F": self.jvp_in_F,
                     "newton_gmres": ("Newton, step by GMRES (modified Gram-Schmidt Arnoldi, one exact forward-mode JVP per "
                                      "iteration, no restart, at most 50) to the tuned relative tolerance, no line search; "
                                      f"cost = F evaluations + JVPs x {self.jvp_in_F:.3g}")}
        return {**extra, "methods": self.methods, "tuning": tuning, "jacobian_cost": self.jacobian,
                "grids": {"newton_krylov_tuned": "method lgmres (inner_maxiter 1, 2, 3, 5, 10, 20; outer_k 0, 3, 10), gmres or "
                                                 "bicgstab (inner_maxiter 1, 2, 3, 5, 10, 20); line_search armijo or none",
                          "anderson": "alpha scipy default (None), -2, -1, -0.5, 0.5, 1, 2; line_search armijo or none",
                          "picard": "omega = +-(12 values geometric in [0.02, 4])",
                          **({"newton_gmres": "rtol " + ", ".join(f"{r:g}" for r in _GMRES_RTOLS)} if self.newton_gmres is not None else {})},
                "tuning_rule": ("successive halving on training instances: every candidate on the first 4, the best 4 on all; "
                                "smallest median cost wins (ties: smaller mean, then grid order); a run is cut off at 2x the best "
                                "cost seen on its instance plus 5; at most 300 evaluations per tuning run")}


def tune_baselines(family: NonlinearFamily, tuning: Sequence[tuple[np.ndarray, np.ndarray]], *, tol: float, budget: int,
                   progress: Callable[[], None] | None = None, jvp_in_F: float | None = None,
                   anderson_depths: Sequence[int] = ANDERSON_DEPTHS) -> BaselineSet:
    """Tune the baselines on training instances ``tuning`` (``(params, x0)`` pairs) and
    measure the cost of an exact Jacobian on the first of them. With ``jvp_in_F`` (the
    measured cost of one exact JVP in F evaluations) Newton-GMRES with exact JVPs is tuned too;
    ``anderson_depths``: the depths M of the Anderson baselines (e.g. a learned memory's depth added)."""
    Fs = [family.numpy_residual(p) for p, _ in tuning]
    x0s = [x0 for _, x0 in tuning]
    n = len(tuning)
    b = min(budget, _TUNE_BUDGET)

    def tick() -> None:
        if progress is not None:
            progress()

    def cost(r: MethodRun) -> int | None:
        return r.evaluations

    nk = _tune(_NK_GRID, lambda o, i, cap: cost(run_newton_krylov(Fs[i], x0s[i], tol, cap, o)), n, b)
    tick()
    anderson = {}
    for M in sorted(set(int(d) for d in anderson_depths)):
        grid = [{"alpha": a, "line_search": ls} for a in _ANDERSON_ALPHAS for ls in ("armijo", None)]
        anderson[M] = _tune(grid, lambda o, i, cap, M=M: cost(run_anderson(Fs[i], x0s[i], tol, cap, M, o)), n, b)
        tick()
    picard = _tune([{"omega": w} for w in _PICARD_OMEGAS], lambda o, i, cap: cost(run_picard(Fs[i], x0s[i], tol, cap, o["omega"])), n, b)
    tick()
    jac = None
    if family.size <= _NEWTON_MAX_SIZE:
        jac = jacobian_cost(family, tuning[0][0], tuning[0][1])
    tick()
    ng = None
    if jvp_in_F is not None:
        jvps = [jvp_function(family, p) for p, _ in tuning]
        ng = _tune([{"rtol": r} for r in _GMRES_RTOLS],
                   lambda o, i, cap: run_newton_gmres(Fs[i], jvps[i], x0s[i], tol, cap, o["rtol"]).cost(0.0, jvp_in_F), n, b)
    return BaselineSet(nk, anderson, picard, jac, newton_exact=jac is not None, newton_gmres=ng, jvp_in_F=jvp_in_F)
