"""Measured iterations on ``A x = rhs`` from ``x = 0``, counted in matvecs (products with
``A``), and the equal-matvec comparison of a learned polynomial iteration with the baselines
(no torch). Runners: the learned R2N2 outer iteration (``n`` matvecs per outer iteration),
SciPy's restarted ``gmres`` counted by wrapping the matvec (:class:`CountingMatVec`: ``n + 1``
per cycle, the Arnoldi steps and the true residual at the restart), the idealised
restarted GMRES(m) (``m`` per cycle, the restart residual from the Arnoldi relation, labelled
``gmres(m)-idealised``), CG, Chebyshev iteration on the spectral interval (one matvec per
step, the degree grows), the cycled degree-``n`` Chebyshev polynomial (the best fixed
degree-``n`` polynomial iteration on the interval) and plain Richardson with
``omega = 2 / (a + b)``; each returns an :class:`IterationHistory`, and
:func:`compare_at_equal_matvecs` gathers them into an :class:`EqualCostComparison`, whose
ratios carry percentile-bootstrap intervals over the systems (:mod:`.statistics`). It
imports numpy, scipy.sparse.linalg, :mod:`.spectrum` and :mod:`.statistics`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .spectrum import Spectrum
from .statistics import RESAMPLES, RatioEstimate, bootstrap_ratio, median_or_none

__all__ = [
    "MatVec",
    "CountingMatVec",
    "IterationHistory",
    "EqualCostComparison",
    "run_polynomial_iteration",
    "MemoryStepper",
    "run_memory_iteration",
    "run_heavy_ball",
    "run_gmres",
    "run_scipy_gmres",
    "run_cg",
    "run_chebyshev",
    "run_chebyshev_cycled",
    "run_richardson",
    "comparison_methods",
    "compare_at_equal_matvecs",
]

_HISTORY_POINTS = 2000

MatVec = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class IterationHistory:
    """Relative residual norms ``||r|| / ||rhs||`` after ``matvecs`` products with A."""

    method: str
    matvecs: tuple[int, ...]
    residuals: tuple[float, ...]
    matvecs_to_tol: int | None
    wall_s: float

    def residual_at(self, matvecs: int) -> float:
        """Relative residual after at most ``matvecs`` products (the last record <= it)."""
        i = int(np.searchsorted(np.asarray(self.matvecs), matvecs, side="right")) - 1
        return float(self.residuals[max(i, 0)])

    def to_json(self, max_points: int = _HISTORY_POINTS) -> dict[str, Any]:
        """``{"matvecs", "residual"}``, thinned to at most about ``max_points`` entries
        (evenly by index; the last entry is always kept)."""
        idx = list(range(len(self.matvecs)))
        if len(idx) > max_points:
            step = math.ceil(len(idx) / max_points)
            idx = idx[::step] + ([idx[-1]] if idx[-1] % step else [])
        return {"matvecs": [self.matvecs[i] for i in idx], "residual": [_finite(self.residuals[i]) for i in idx]}


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _as_matvec(A: Any) -> MatVec:
    if callable(A) and not hasattr(A, "shape"):
        return A
    if hasattr(A, "matvec"):
        return A.matvec
    return lambda v: A @ v


class CountingMatVec:
    """``v -> A v`` that counts its calls: what a method actually spends, whatever it does
    inside (``count``). Usable as a callable or through :meth:`operator` as a SciPy
    ``LinearOperator`` of order ``m``."""

    def __init__(self, A: Any) -> None:
        self._mv = _as_matvec(A)
        self.count = 0

    def __call__(self, v: np.ndarray) -> np.ndarray:
        self.count += 1
        return self._mv(v)

    def operator(self, m: int) -> Any:
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator((m, m), matvec=lambda v: self(np.asarray(v).reshape(-1)), dtype=np.float64)


class _Recorder:
    def __init__(self, method: str, bnorm: float, tol: float, budget: int) -> None:
        self.method, self.bnorm, self.tol, self.budget = method, bnorm, tol, budget
        self.mv, self.res = [0], [1.0]
        self.hit: int | None = None
        self.t0 = time.perf_counter()

    def add(self, matvecs: int, rnorm: float) -> bool:
        """Record; True when the iteration should stop (converged, diverged or budget)."""
        rel = rnorm / self.bnorm
        self.mv.append(int(matvecs))
        self.res.append(float(rel))
        if rel <= self.tol and self.hit is None:
            self.hit = int(matvecs)
        return self.hit is not None or not math.isfinite(rel) or rel > 1e30 or matvecs >= self.budget

    def done(self) -> IterationHistory:
        return IterationHistory(self.method, tuple(self.mv), tuple(self.res), self.hit, time.perf_counter() - self.t0)


def r2n2_stages(mv: MatVec, r: np.ndarray, W: np.ndarray, h: float, n: int) -> list[np.ndarray]:
    """The stage values of one R2N2 outer iteration on ``f(x) = rhs - A x`` from the residual
    ``r``: ``v_1 = r``, ``v_j = r - h A sum_{l<j} W_jl v_l`` (``n - 1`` matvecs; real or complex)."""
    vs = [r]
    for j in range(1, n):
        d = np.zeros_like(r)
        for l in range(j):
            if W[j, l] != 0.0:
                d = d + W[j, l] * vs[l]
        vs.append(r - h * mv(d))
    return vs


def run_polynomial_iteration(A: Any, rhs: np.ndarray, W: np.ndarray, b: np.ndarray, h: float, *, tol: float = 1e-10,
                             budget: int = 10_000, method: str = "learned") -> IterationHistory:
    """The R2N2 outer iteration on ``A x = rhs`` from ``x = 0`` (n matvecs per outer)."""
    mv = _as_matvec(A)
    n = len(b)
    rec = _Recorder(method, float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        vs = r2n2_stages(mv, r, W, h, n)
        count += n - 1
        upd = np.zeros_like(x)
        for j in range(n):
            if b[j] != 0.0:
                upd += b[j] * vs[j]
        x = x + h * upd
        r = rhs - mv(x)
        count += 1
        if rec.add(count, float(np.linalg.norm(r))):
            return rec.done()


class MemoryStepper:
    """The outer iteration of an R2N2 with memory on ``f(x) = rhs - A x`` (numpy, float64 or
    complex)::

        x_{k+1} = x_k + h sum_j b_j v_j^(k)
                  + sum_{m=1..M} ( beta_m (x_{k-m+1} - x_{k-m}) + h sum_j gamma_{m,j} v_j^(k-m) )

    ``v_1^(k) = r_k`` (the residual at ``x_k``, passed in) and ``v_j = r_k - h A (sum_l W_jl
    v_l)``: ``n - 1`` matvecs per call; the past evaluations are reused, not recomputed. The
    first M calls are plain steps (start-up rule ``"rk"``). With ``M = 0`` it is the
    memoryless outer iteration. :meth:`step` keeps the history; :meth:`reset` clears it."""

    def __init__(self, W: np.ndarray, b: np.ndarray, h: float, betas: Sequence[float] = (),
                 gammas: Sequence[Sequence[float]] = ()) -> None:
        self.W, self.b, self.h = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64), float(h)
        self.n = len(self.b)
        self.betas = np.asarray(list(betas), dtype=np.float64).reshape(-1)
        self.M = int(self.betas.size)
        self.gammas = np.asarray([list(g) for g in gammas], dtype=np.float64).reshape(self.M, self.n) if self.M else np.zeros((0, self.n))
        self.reset()

    def reset(self) -> None:
        self.xs: list[np.ndarray] = []
        self.vs: list[list[np.ndarray]] = []

    def stages(self, mv: MatVec, r: np.ndarray) -> list[np.ndarray]:
        return r2n2_stages(mv, r, self.W, self.h, self.n)

    def step(self, mv: MatVec, x: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``x_{k+1}`` from ``x_k`` and its residual ``r_k`` (``n - 1`` matvecs)."""
        vs = self.stages(mv, r)
        upd = np.zeros_like(x)
        for j in range(self.n):
            if self.b[j] != 0.0:
                upd = upd + self.b[j] * vs[j]
        x_next = x + self.h * upd
        M = self.M
        if M:
            if not self.xs:
                self.xs.append(x)
            if len(self.vs) == M:  # full history: x_{k-M}..x_k in xs, v^(k-M)..v^(k-1) in vs
                for m in range(1, M + 1):
                    if self.betas[m - 1] != 0.0:
                        x_next = x_next + self.betas[m - 1] * (self.xs[-m] - self.xs[-m - 1])
                    for j in range(self.n):
                        if self.gammas[m - 1, j] != 0.0:
                            x_next = x_next + (self.h * self.gammas[m - 1, j]) * self.vs[-m][j]
            self.vs = (self.vs + [vs])[-M:]
            self.xs = (self.xs + [x_next])[-(M + 1):]
        return x_next


def run_memory_iteration(A: Any, rhs: np.ndarray, W: np.ndarray, b: np.ndarray, h: float, betas: Sequence[float],
                         gammas: Sequence[Sequence[float]], *, tol: float = 1e-10, budget: int = 10_000,
                         method: str = "learned") -> IterationHistory:
    """The R2N2 outer iteration with memory (:class:`MemoryStepper`) on ``A x = rhs`` from
    ``x = 0``: n matvecs per outer iteration, as the memoryless one (the residual is the first
    stage; past evaluations are reused)."""
    mv = _as_matvec(A)
    st = MemoryStepper(W, b, h, betas, gammas)
    rec = _Recorder(method, float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        x = st.step(mv, x, r)
        count += st.n - 1
        r = rhs - mv(x)
        count += 1
        if rec.add(count, float(np.linalg.norm(r))):
            return rec.done()


def run_heavy_ball(A: Any, rhs: np.ndarray, lo: float, hi: float, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """The optimal heavy ball (stationary Chebyshev) iteration on ``[lo, hi]`` from ``x = 0``:
    ``x_{k+1} = x_k + alpha r_k + beta (x_k - x_{k-1})``, ``alpha = 4/(sqrt(lo) + sqrt(hi))^2``,
    ``beta = ((sqrt(hi) - sqrt(lo))/(sqrt(hi) + sqrt(lo)))^2``, first step ``x_1 = alpha r_0``
    (one matvec per step)."""
    sa, sb = math.sqrt(lo), math.sqrt(hi)
    alpha, beta = 4.0 / (sa + sb) ** 2, ((sb - sa) / (sb + sa)) ** 2
    h = run_memory_iteration(A, rhs, np.zeros((1, 1)), np.array([1.0]), alpha, [beta], [[0.0]], tol=tol, budget=budget,
                             method="heavy-ball")
    return h


def run_gmres(A: Any, rhs: np.ndarray, restart: int, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """Restarted GMRES(restart) from ``x = 0`` with modified Gram-Schmidt and Givens rotations;
    the residual norm is recorded after every matvec (the least-squares residual, equal to
    the true one in exact arithmetic); one matvec per Arnoldi step."""
    mv = _as_matvec(A)
    m = restart
    rec = _Recorder(f"gmres({m})", float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        beta = float(np.linalg.norm(r))
        if beta == 0.0:
            rec.add(count, 0.0)
            return rec.done()
        V = np.zeros((m + 1, rhs.size))
        H = np.zeros((m + 1, m))
        cs, sn = np.zeros(m), np.zeros(m)
        g = np.zeros(m + 1)
        g[0] = beta
        V[0] = r / beta
        k_used = 0
        stop = False
        for j in range(m):
            w = mv(V[j])
            count += 1
            for i in range(j + 1):
                H[i, j] = V[i] @ w
                w = w - H[i, j] * V[i]
            H[j + 1, j] = np.linalg.norm(w)
            breakdown = H[j + 1, j] <= 1e-14 * max(1.0, np.abs(H[: j + 1, j]).max())
            if not breakdown:
                V[j + 1] = w / H[j + 1, j]
            for i in range(j):
                t = cs[i] * H[i, j] + sn[i] * H[i + 1, j]
                H[i + 1, j] = -sn[i] * H[i, j] + cs[i] * H[i + 1, j]
                H[i, j] = t
            den = math.hypot(H[j, j], H[j + 1, j])
            cs[j], sn[j] = (1.0, 0.0) if den == 0 else (H[j, j] / den, H[j + 1, j] / den)
            H[j, j] = den
            H[j + 1, j] = 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = cs[j] * g[j]
            k_used = j + 1
            stop = rec.add(count, abs(g[j + 1]))
            if stop or breakdown:
                break
        y = np.linalg.lstsq(np.triu(H[:k_used, :k_used]), g[:k_used], rcond=None)[0]
        x = x + V[:k_used].T @ y
        # Arnoldi relation: r = V_{k+1} (beta e1 - H y); recomputed directly to avoid drift,
        # and not counted (GMRES needs no extra product for it).
        r = rhs - mv(x)
        if stop:
            rec.res[-1] = float(np.linalg.norm(r)) / rec.bnorm
            if rec.hit is not None and rec.res[-1] > tol:
                rec.hit = None
                if count < budget:
                    continue
            return rec.done()


def run_scipy_gmres(A: Any, rhs: np.ndarray, restart: int, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """SciPy's ``gmres(A, rhs, restart=restart, rtol=tol)`` from ``x = 0``, every product with
    A counted by a :class:`CountingMatVec` around the matvec: ``restart`` Arnoldi steps and
    one true residual per full cycle (``restart + 1``), fewer Arnoldi steps in a cycle cut
    short by convergence. The residual is recorded after every cycle (computed outside the
    count); tol is reached when SciPy's own true residual at a restart meets it."""
    from scipy.sparse.linalg import gmres

    m = int(rhs.size)
    raw = _as_matvec(A)
    mv = CountingMatVec(raw)
    rec = _Recorder(f"gmres({restart})", float(np.linalg.norm(rhs)), tol, budget)
    b = rhs.astype(np.float64)

    def cycle(xk: np.ndarray) -> None:
        rec.add(mv.count, float(np.linalg.norm(b - raw(xk))))

    cycles = max(1, budget // (min(restart, m) + 1))
    gmres(mv.operator(m), b, rtol=tol, atol=0.0, restart=restart, maxiter=cycles, callback=cycle, callback_type="x")
    return rec.done()


def run_cg(A: Any, rhs: np.ndarray, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """Conjugate gradients from ``x = 0`` (one matvec per iteration)."""
    mv = _as_matvec(A)
    rec = _Recorder("cg", float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    p = r.copy()
    rr = float(r @ r)
    count = 0
    while True:
        Ap = mv(p)
        count += 1
        pAp = float(p @ Ap)
        if pAp <= 0:
            rec.add(count, math.inf)
            return rec.done()
        alpha = rr / pAp
        x += alpha * p
        r -= alpha * Ap
        rr_new = float(r @ r)
        if rec.add(count, math.sqrt(rr_new)):
            return rec.done()
        p = r + (rr_new / rr) * p
        rr = rr_new


def run_chebyshev(A: Any, rhs: np.ndarray, lo: float, hi: float, *, tol: float = 1e-10, budget: int = 10_000) -> IterationHistory:
    """Chebyshev iteration on ``[lo, hi]`` from ``x = 0`` (Saad, Iterative Methods, Alg. 12.1;
    one matvec per step; the residual polynomial after k steps is the degree-k Chebyshev one)."""
    mv = _as_matvec(A)
    rec = _Recorder("chebyshev", float(np.linalg.norm(rhs)), tol, budget)
    theta, delta = (hi + lo) / 2.0, (hi - lo) / 2.0
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    d = r / theta
    if delta == 0.0:
        return run_richardson(A, rhs, 1.0 / theta, tol=tol, budget=budget, method="chebyshev")
    sigma = theta / delta
    rho = 1.0 / sigma
    count = 0
    while True:
        x = x + d
        r = r - mv(d)
        count += 1
        if rec.add(count, float(np.linalg.norm(r))):
            return rec.done()
        rho_new = 1.0 / (2.0 * sigma - rho)
        d = rho_new * rho * d + (2.0 * rho_new / delta) * r
        rho = rho_new


def _leja(points: np.ndarray) -> np.ndarray:
    """Leja ordering (stable order of Richardson steps)."""
    pts = list(points)
    out = [max(pts, key=abs)]
    pts.remove(out[0])
    while pts:
        nxt = max(pts, key=lambda p: np.prod([abs(p - q) for q in out]))
        out.append(nxt)
        pts.remove(nxt)
    return np.array(out)


def run_chebyshev_cycled(A: Any, rhs: np.ndarray, n: int, lo: float, hi: float, *, tol: float = 1e-10,
                         budget: int = 10_000) -> IterationHistory:
    """The degree-n Chebyshev residual polynomial repeated: n Richardson steps with
    ``omega_i = 1 / (Chebyshev node i)`` per cycle, Leja-ordered (one matvec per step)."""
    mv = _as_matvec(A)
    k = np.arange(1, n + 1)
    nodes = _leja((hi + lo) / 2 - (hi - lo) / 2 * np.cos((2 * k - 1) * np.pi / (2 * n)))
    rec = _Recorder(f"chebyshev({n})", float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        for node in nodes:
            x = x + r / node
            r = rhs - mv(x)
            count += 1
            if rec.add(count, float(np.linalg.norm(r))):
                return rec.done()


def run_richardson(A: Any, rhs: np.ndarray, omega: float, *, tol: float = 1e-10, budget: int = 10_000,
                   method: str = "richardson") -> IterationHistory:
    """Stationary Richardson ``x <- x + omega (rhs - A x)`` from ``x = 0``."""
    mv = _as_matvec(A)
    rec = _Recorder(method, float(np.linalg.norm(rhs)), tol, budget)
    x = np.zeros_like(rhs, dtype=np.float64)
    r = rhs.astype(np.float64).copy()
    count = 0
    while True:
        x = x + omega * r
        r = rhs - mv(x)
        count += 1
        if rec.add(count, float(np.linalg.norm(r))):
            return rec.done()


@dataclass(frozen=True)
class EqualCostComparison:
    """Matvecs to reach ``tol`` (relative residual) per method and held-out instance.

    ``size`` is the order of the matrices (for the finite-termination note), ``restart`` the
    GMRES restart length n, ``seed``/``resamples`` those of the bootstrap intervals.
    """

    tol: float
    budget: int
    histories: dict[str, tuple[IterationHistory, ...]]
    skipped: dict[str, str] = field(default_factory=dict)
    counting: str = ""
    size: int | None = None
    restart: int | None = None
    seed: int = 0
    resamples: int = RESAMPLES
    stopped_early: dict[str, int] | None = None
    blocked: bool = False

    def counts(self, method: str) -> list[int | None]:
        return [h.matvecs_to_tol for h in self.histories[method]]

    def median(self, method: str) -> float | None:
        """Median matvecs to tol; an instance that missed tol counts as +infinity, so the
        median exists only when more than half reached it."""
        return median_or_none(self.counts(method))

    def ratios(self, learned: str = "learned") -> dict[str, float | None]:
        """Baseline median / learned median (above 1: the learned iteration needs fewer)."""
        return {m: e.value for m, e in self.ratio_estimates(learned).items()}

    def ratio_estimates(self, learned: str = "learned") -> dict[str, RatioEstimate]:
        """:meth:`ratios` with their percentile-bootstrap intervals over the systems (ratio of
        medians, the systems resampled in pairs)."""
        if learned not in self.histories:
            return {}
        base = self.counts(learned)
        return {m: bootstrap_ratio(self.counts(m), base, statistic="ratio of medians", learned="denominator",
                                   resamples=self.resamples, seed=self.seed)
                for m in self.histories if m != learned}

    def residual_at_learned_cost(self, method: str, learned: str = "learned") -> float:
        """Median over instances of ``method``'s relative residual after as many matvecs as
        the learned iteration needed on that instance (its whole run when it missed tol)."""
        vals = []
        for h, hl in zip(self.histories[method], self.histories[learned]):
            budget = hl.matvecs_to_tol if hl.matvecs_to_tol is not None else hl.matvecs[-1]
            vals.append(h.residual_at(budget))
        return float(np.median(vals))

    def finite_termination(self) -> dict[str, Any] | None:
        """Where a Krylov baseline's advantage is finite termination on a small matrix: CG
        needing at least as many matvecs as the order of the matrix (in exact arithmetic it
        solves any SPD system in that many), or GMRES restarted no earlier than the order
        (then it is full GMRES, exact after one cycle). None without a known size."""
        if self.size is None:
            return None
        m = int(self.size)
        cg = None
        if "cg" in self.histories:
            med = self.median("cg")
            cg = med is not None and med >= m
        gm = self.restart is not None and self.restart >= m
        parts = []
        if cg:
            parts.append(f"CG needs a median of {med:g} matvecs, at least the order m = {m} of the matrix: its advantage is "
                         "finite termination (CG solves an m x m SPD system in m steps in exact arithmetic), "
                         "which does not carry over to systems much larger than the number of matvecs")
        if gm:
            parts.append(f"GMRES({self.restart}) restarts no earlier than the order m = {m}: it is full GMRES, exact after one "
                         "cycle in exact arithmetic")
        return {"size": m, "cg": cg, "gmres": gm, "note": "; ".join(parts) + "." if parts else None}

    def to_json(self) -> dict[str, Any]:
        methods = {}
        for m, hs in self.histories.items():
            methods[m] = {
                "matvecs_to_tol": [h.matvecs_to_tol for h in hs],
                "median": self.median(m),
                "reached": sum(h.matvecs_to_tol is not None for h in hs),
                "residual_at_learned_matvecs": _finite(self.residual_at_learned_cost(m)) if "learned" in self.histories else None,
                "wall_s": float(sum(h.wall_s for h in hs)),
                "history": hs[0].to_json(),
            }
        est = self.ratio_estimates()
        return {
            "tol": self.tol,
            "instances": len(next(iter(self.histories.values()))) if self.histories else 0,
            "matvec_budget": self.budget,
            "counting": self.counting,
            "methods": methods,
            "ratios": {m: e.value for m, e in est.items()},
            "ratio_estimates": {m: e.to_json() for m, e in est.items()},
            "skipped": dict(self.skipped),
            "finite_termination": self.finite_termination(),
            "wall_s": float(sum(h.wall_s for hs in self.histories.values() for h in hs)),
            "blocked": bool(self.blocked),
            "stopped_early": dict(self.stopped_early or {}),
        }


def comparison_methods(n: int, spectrum: Spectrum, symmetric: bool, memory: int = 0) -> tuple[list[str], dict[str, str]]:
    """The methods :func:`compare_at_equal_matvecs` runs, and those it skips with why (a
    learned iteration with memory is also compared with the optimal heavy ball)."""
    lo, hi = spectrum.interval
    methods, skipped = ["learned", f"gmres({n})", f"gmres({n})-idealised"], {}
    if symmetric and lo > 0:
        methods.append("cg")
    else:
        skipped["cg"] = "needs a symmetric positive definite matrix"
    if 0 < lo < hi:
        methods += ["chebyshev", f"chebyshev({n})", "richardson"] + (["heavy-ball"] if memory else [])
    else:
        why = "needs a spectral interval [lo, hi] with 0 < lo < hi"
        skipped.update({"chebyshev": why, f"chebyshev({n})": why, "richardson": why, **({"heavy-ball": why} if memory else {})})
    return methods, skipped


def compare_at_equal_matvecs(W: np.ndarray, b: np.ndarray, h: float, systems: Sequence[tuple[Any, np.ndarray]],
                             spectrum: Spectrum, *, symmetric: bool, tol: float = 1e-10, budget: int = 10_000,
                             progress: Callable[[str], None] | None = None, seed: int = 0, resamples: int = RESAMPLES,
                             start: str = "x0 = 0", betas: Sequence[float] = (),
                             gammas: Sequence[Sequence[float]] = ()) -> EqualCostComparison:
    """Run the learned iteration and the baselines on held-out ``systems`` (``(A, rhs)``
    pairs; ``A`` an ndarray, sparse matrix, LinearOperator or callable) from ``x = 0``.
    ``seed`` and ``resamples`` fix the bootstrap of the ratios; ``start`` says in the
    counting note where the systems start (a caller with an initial guess x0 passes the
    residual systems ``(A, rhs - A x0)``). ``betas``/``gammas`` (memory M >= 1): the learned
    iteration has memory (:func:`run_memory_iteration`) and the optimal heavy ball joins."""
    n = len(b)
    lo, hi = spectrum.interval
    M = len(betas)
    methods, skipped = comparison_methods(n, spectrum, symmetric, M)

    def learned(A: Any, r: np.ndarray) -> IterationHistory:
        if M:
            return run_memory_iteration(A, r, W, b, h, betas, gammas, tol=tol, budget=budget)
        return run_polynomial_iteration(A, r, W, b, h, tol=tol, budget=budget)

    table: dict[str, Callable[[Any, np.ndarray], IterationHistory]] = {
        "learned": learned,
        "heavy-ball": lambda A, r: run_heavy_ball(A, r, lo, hi, tol=tol, budget=budget),
        f"gmres({n})": lambda A, r: run_scipy_gmres(A, r, n, tol=tol, budget=budget),
        f"gmres({n})-idealised": lambda A, r: _renamed(run_gmres(A, r, n, tol=tol, budget=budget), f"gmres({n})-idealised"),
        "cg": lambda A, r: run_cg(A, r, tol=tol, budget=budget),
        "chebyshev": lambda A, r: run_chebyshev(A, r, lo, hi, tol=tol, budget=budget),
        f"chebyshev({n})": lambda A, r: run_chebyshev_cycled(A, r, n, lo, hi, tol=tol, budget=budget),
        "richardson": lambda A, r: run_richardson(A, r, 2.0 / (lo + hi), tol=tol, budget=budget),
    }
    runs = {m: table[m] for m in methods}
    hist: dict[str, list[IterationHistory]] = {k: [] for k in runs}
    size = None
    for A, rhs in systems:
        size = int(np.asarray(rhs).size)
        for name, fn in runs.items():
            if progress is not None:
                progress(name)
            with np.errstate(over="ignore", invalid="ignore"):
                hist[name].append(fn(A, rhs))
    mem = (f", reusing the evaluations and iterates of the last {M} outer iteration{'s' if M > 1 else ''} (memory, no extra matvecs)"
           if M else "")
    counting = (f"matvecs = products with A, from {start}: learned {n} per outer iteration (its residual is its first stage{mem}); "
                f"GMRES({n}) as SciPy's gmres spends them, counted by wrapping the matvec ({n} Arnoldi steps and 1 true "
                f"residual per cycle, {n + 1} in all); GMRES({n})-idealised the same method counted as {n} per cycle (the "
                f"restart residual from the Arnoldi relation, not measured); CG, Chebyshev, Chebyshev({n}) and Richardson "
                f"1 per step{'; heavy-ball (the optimal stationary two-step method on the interval) 1 per step' if M else ''}; relative residual ||r|| / ||r0||; ratios are medians over the systems with a 95 % percentile "
                f"bootstrap interval ({resamples} paired resamples of the systems, seed {seed})")
    return EqualCostComparison(tol, budget, {k: tuple(v) for k, v in hist.items()}, skipped, counting, size, n, seed, resamples)


def _renamed(h: IterationHistory, method: str) -> IterationHistory:
    return IterationHistory(method, h.matvecs, h.residuals, h.matvecs_to_tol, h.wall_s)
