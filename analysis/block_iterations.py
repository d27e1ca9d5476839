"""The equal-matvec comparison at the size of PDE problems: every held-out system of one
shared sparse matrix run at once, as a block (no torch).

:func:`compare_blocked` gives the same :class:`~.iterations.EqualCostComparison` as
:func:`~.iterations.compare_at_equal_matvecs`, with the same tolerance, budget and counting,
but runs the methods that need no inner products across systems (the learned polynomial
iteration, Chebyshev iteration, cycled Chebyshev(n), Richardson) and CG (its inner products
are per system) on the whole block of right-hand sides at once: the vector operations on the
(m, k) block vectorised (one system per column), the products one call of scipy's
multi-vector CSR kernel; systems that have finished leave the block. SciPy's
``gmres(restart=n)`` runs one system at a time, counted by wrapping the matvec as before.
The Python GMRES(n) counted n per cycle (``gmres(n)-idealised``) is not run at this size
(it is the same iteration counted without the restart residual; stated in ``skipped``).

Early stop, stated in the counting note and per method in ``stopped_early``: for a
symmetric matrix, a fixed polynomial iteration's residual ``||q(A)^k r||^2 = sum_j w_j
q(lambda_j)^(2k)`` is log-convex in k, so its log residual lies above the line through its
last two records; when that line misses ``tol`` within the budget, the iteration cannot
reach ``tol`` within the budget (in exact arithmetic; the line must miss by a factor 10 to
leave room for rounding) and stops there, counted as not reaching tol. This applies to the
learned iteration (without memory), Chebyshev(n) at the end of each cycle and Richardson.
SciPy's GMRES(n) is stopped by the same test on its per-cycle residuals with a margin of
100; restarted GMRES need not be log-convex, so for it this is an estimate, said so.
Imports numpy, scipy and :mod:`.iterations`.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np

from .iterations import CountingMatVec, EqualCostComparison, IterationHistory, _leja, comparison_methods
from .spectrum import Spectrum
from .statistics import RESAMPLES

__all__ = ["compare_blocked", "BLOCK_MIN_SIZE"]

#: held-out systems of one shared sparse matrix of at least this order are compared as a block
BLOCK_MIN_SIZE = 2048
_CONVEX_MARGIN = math.log(10.0)
_GMRES_MARGIN = math.log(100.0)


class _Block:
    """Per-column records of a block run: relative residuals after the matvecs counted."""

    def __init__(self, method: str, bnorm: np.ndarray, tol: float, budget: int) -> None:
        self.method, self.bnorm, self.tol, self.budget = method, bnorm, tol, budget
        k = bnorm.size
        self.mv: list[list[int]] = [[0] for _ in range(k)]
        self.res: list[list[float]] = [[1.0] for _ in range(k)]
        self.hit: list[int | None] = [None] * k
        self.early = [False] * k
        self.active = np.arange(k)
        self.t0 = time.perf_counter()

    def add(self, count: int, rnorm: np.ndarray, convex: bool = False, per: int = 1, lookback: int = 1) -> np.ndarray:
        """Record the active columns' residual norms after ``count`` matvecs; returns the
        mask of active columns that go on. ``convex``: apply the log-convex early stop to the
        line through this record and the one ``lookback`` records back, ``per`` matvecs
        apart."""
        keep = np.ones(self.active.size, dtype=bool)
        log_tol = math.log(self.tol)
        for j, col in enumerate(self.active):
            rel = float(rnorm[j]) / float(self.bnorm[col])
            self.mv[col].append(int(count))
            self.res[col].append(rel)
            if rel <= self.tol:
                self.hit[col] = int(count)
                keep[j] = False
            elif not math.isfinite(rel) or rel > 1e30 or count >= self.budget:
                keep[j] = False
            elif convex and len(self.res[col]) >= 2 * lookback + 1 and rel > 0:
                prev = self.res[col][-1 - lookback]
                slope = math.log(rel) - math.log(prev) if prev > 0 else 0.0
                steps = (self.budget - count) // per
                if math.log(rel) + slope * steps > log_tol + _CONVEX_MARGIN:
                    keep[j] = False
                    self.early[col] = True
        self.active = self.active[keep]
        return keep

    def histories(self) -> list[IterationHistory]:
        wall = (time.perf_counter() - self.t0) / max(len(self.hit), 1)
        return [IterationHistory(self.method, tuple(self.mv[i]), tuple(self.res[i]), self.hit[i], wall) for i in range(len(self.hit))]


def _mv(A: Any, X: np.ndarray) -> np.ndarray:
    """``A x_i`` for every column of X (m, k), C-contiguous: one call of scipy's multi-vector
    CSR kernel (about 2x faster per vector than one-vector products row by row, measured on
    poisson2d N = 64 ... 256 with k = 9 ... 38)."""
    return A @ X


def _norms(X: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->j", X, X))


def _dots(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->j", X, Y)


def _block_polynomial(A: Any, B: np.ndarray, W: np.ndarray, b: np.ndarray, h: float, tol: float, budget: int,
                      convex: bool, method: str = "learned") -> _Block:
    n = len(b)
    rec = _Block(method, _norms(B), tol, budget)
    X = np.zeros_like(B)
    R = B.copy()
    count = 0
    hb = h * np.asarray(b, dtype=np.float64)
    while rec.active.size:
        m, k = R.shape
        V = np.empty((n, m * k))  # the stage vectors, stacked: combinations are one BLAS gemv each
        V[0] = R.reshape(-1)
        for j in range(1, n):
            d = (W[j, :j] @ V[:j]).reshape(m, k)
            v = _mv(A, d).reshape(-1)
            v *= -h
            v += V[0]
            V[j] = v
        X += (hb @ V).reshape(m, k)
        count += n
        R = _mv(A, X)
        np.subtract(B, R, out=R)
        keep = rec.add(count, _norms(R), convex=convex, per=n)
        if not keep.all():
            X, R, B = _cols(keep, X, R, B)
    return rec


def _block_richardson(A: Any, B: np.ndarray, omega: float, tol: float, budget: int, convex: bool) -> _Block:
    rec = _Block("richardson", _norms(B), tol, budget)
    X = np.zeros_like(B)
    R = B.copy()
    count = 0
    while rec.active.size:
        X += omega * R
        R = _mv(A, X)
        np.subtract(B, R, out=R)
        count += 1
        keep = rec.add(count, _norms(R), convex=convex, per=1)
        if not keep.all():
            X, R, B = _cols(keep, X, R, B)
    return rec


def _block_chebyshev_cycled(A: Any, B: np.ndarray, n: int, lo: float, hi: float, tol: float, budget: int,
                            convex: bool) -> _Block:
    k = np.arange(1, n + 1)
    nodes = _leja((hi + lo) / 2 - (hi - lo) / 2 * np.cos((2 * k - 1) * np.pi / (2 * n)))
    rec = _Block(f"chebyshev({n})", _norms(B), tol, budget)
    X = np.zeros_like(B)
    R = B.copy()
    count = 0
    while rec.active.size:
        for i, node in enumerate(nodes):
            X += R / node
            R = _mv(A, X)
            np.subtract(B, R, out=R)
            count += 1
            last = i == len(nodes) - 1
            # the convex test compares whole cycles (one fixed polynomial each): at a cycle's end only
            keep = rec.add(count, _norms(R), convex=convex and last, per=n, lookback=n)
            if not keep.all():
                X, R, B = _cols(keep, X, R, B)
            if not rec.active.size:
                break
    return rec


def _block_cg(A: Any, B: np.ndarray, tol: float, budget: int) -> _Block:
    rec = _Block("cg", _norms(B), tol, budget)
    X = np.zeros_like(B)
    R = B.copy()
    P = R.copy()
    rr = _dots(R, R)
    count = 0
    while rec.active.size:
        AP = _mv(A, P)
        count += 1
        pAp = _dots(P, AP)
        bad = pAp <= 0
        alpha = np.where(bad, 0.0, rr / np.where(bad, 1.0, pAp))[None, :]
        X += alpha * P
        AP *= alpha
        R -= AP
        rr_new = _dots(R, R)
        norms = np.where(bad, np.inf, np.sqrt(rr_new))
        keep = rec.add(count, norms)
        beta = (rr_new / np.where(rr > 0, rr, 1.0))[None, :]
        P *= beta
        P += R
        rr = rr_new
        if not keep.all():
            X, R, P, B = _cols(keep, X, R, P, B)
            rr = rr[keep]
    return rec


def _block_chebyshev(A: Any, B: np.ndarray, lo: float, hi: float, tol: float, budget: int) -> _Block:
    """Chebyshev iteration on [lo, hi] (Saad, Alg. 12.1), one matvec per step."""
    rec = _Block("chebyshev", _norms(B), tol, budget)
    theta, delta = (hi + lo) / 2.0, (hi - lo) / 2.0
    X = np.zeros_like(B)
    R = B.copy()
    D = R / theta
    sigma = theta / delta
    rho = 1.0 / sigma
    count = 0
    while rec.active.size:
        X += D
        R -= _mv(A, D)
        count += 1
        keep = rec.add(count, _norms(R))
        if not keep.all():
            X, R, D = _cols(keep, X, R, D)
        rho_new = 1.0 / (2.0 * sigma - rho)
        D *= rho_new * rho
        D += (2.0 * rho_new / delta) * R
        rho = rho_new
    return rec


def _cols(keep: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns of each (m, k) array that go on, C-contiguous again."""
    return tuple(np.ascontiguousarray(a[:, keep]) for a in arrays)


class _Stop(Exception):
    pass


def _scipy_gmres(A: Any, rhs: np.ndarray, restart: int, tol: float, budget: int) -> tuple[IterationHistory, bool]:
    """SciPy's gmres on one system, counted as :func:`~.iterations.run_scipy_gmres`, with the
    per-cycle projected early stop (an estimate; module docstring)."""
    from scipy.sparse.linalg import gmres

    m = int(rhs.size)
    mv = CountingMatVec(A)
    bnorm = float(np.linalg.norm(rhs))
    mvs, res = [0], [1.0]
    hit: list[int] = []
    early = [False]
    t0 = time.perf_counter()
    per = min(restart, m) + 1

    def cycle(xk: np.ndarray) -> None:
        rel = float(np.linalg.norm(rhs - A @ xk)) / bnorm
        mvs.append(mv.count)
        res.append(rel)
        if rel <= tol:
            hit.append(mv.count)
            return
        if len(res) >= 3 and rel > 0 and res[-2] > 0 and math.isfinite(rel):
            slope = math.log(rel) - math.log(res[-2])
            steps = (budget - mv.count) // per
            if math.log(rel) + slope * steps > math.log(tol) + _GMRES_MARGIN:
                early[0] = True
                raise _Stop

    cycles = max(1, budget // per)
    try:
        gmres(mv.operator(m), rhs, rtol=tol, atol=0.0, restart=restart, maxiter=cycles, callback=cycle, callback_type="x")
    except _Stop:
        pass
    reached = hit[0] if hit else None
    return IterationHistory(f"gmres({restart})", tuple(mvs), tuple(res), reached, time.perf_counter() - t0), early[0]


def compare_blocked(W: np.ndarray, b: np.ndarray, h: float, A: Any, rhs: np.ndarray, spectrum: Spectrum, *,
                    symmetric: bool, tol: float = 1e-10, budget: int = 10_000,
                    progress: Callable[[str], None] | None = None, seed: int = 0, resamples: int = RESAMPLES,
                    start: str = "x0 = 0") -> EqualCostComparison:
    """The equal-matvec comparison of the learned ``(W, b, h)`` on the systems ``A x = rhs_i``
    (``rhs`` (k, m), one shared sparse A) from ``x = 0``, run as blocks (module docstring).
    The result's ``wall_s`` per history is its block's wall time divided by k (GMRES: its
    own), so a method's summed ``wall_s`` is its wall time; ``stopped_early`` counts the
    systems each method stopped by the early-stop test."""
    import scipy.sparse as sps

    A = sps.csr_matrix(A, dtype=np.float64)
    Bk = np.asarray(rhs, dtype=np.float64)  # (k, m): one system per row
    Bm = np.ascontiguousarray(Bk.T)  # (m, k): one system per column, for the multi-vector kernel
    k = Bk.shape[0]
    n = len(b)
    lo, hi = spectrum.interval
    methods, skipped = comparison_methods(n, spectrum, symmetric)
    ideal = f"gmres({n})-idealised"
    methods = [mt for mt in methods if mt != ideal]
    skipped[ideal] = (f"not run for m = {A.shape[0]} >= {BLOCK_MIN_SIZE} (the same restarted GMRES as gmres({n}) counted "
                      f"{n} per cycle; the Python reference runs one system at a time)")
    hist: dict[str, tuple[IterationHistory, ...]] = {}
    early: dict[str, int] = {}
    convex = bool(symmetric)
    for name in methods:
        if progress is not None:
            for _ in range(k):
                progress(name)
        with np.errstate(over="ignore", invalid="ignore"):
            if name == "learned":
                rec = _block_polynomial(A, Bm, W, b, h, tol, budget, convex)
            elif name == "cg":
                rec = _block_cg(A, Bm, tol, budget)
            elif name == "chebyshev":
                rec = _block_chebyshev(A, Bm, lo, hi, tol, budget)
            elif name == f"chebyshev({n})":
                rec = _block_chebyshev_cycled(A, Bm, n, lo, hi, tol, budget, convex)
            elif name == "richardson":
                rec = _block_richardson(A, Bm, 2.0 / (lo + hi), tol, budget, convex)
            else:  # gmres(n), one system at a time
                rec = None
                runs = [_scipy_gmres(A, Bk[i].copy(), n, tol, budget) for i in range(k)]
                hist[name] = tuple(r[0] for r in runs)
                early[name] = sum(r[1] for r in runs)
        if rec is not None:
            hist[name] = tuple(rec.histories())
            early[name] = sum(rec.early)
    counting = (f"matvecs = products with A, from {start}, all {k} held-out systems run as one block (scipy's CSR kernel) "
                f"(GMRES one system at a time): learned {n} per outer iteration (its residual is its first stage); "
                f"GMRES({n}) as SciPy's gmres spends them, counted by wrapping the matvec ({n} Arnoldi steps and 1 true "
                f"residual per cycle, {n + 1} in all); CG, Chebyshev, Chebyshev({n}) and Richardson 1 per step; relative "
                f"residual ||r|| / ||r0||; "
                + ("a fixed polynomial iteration (learned, Chebyshev(n) per cycle, Richardson) stops as soon as the line "
                   "through its last two log residuals misses tol within the budget by a factor 10 (log-convexity on a "
                   "symmetric matrix: it cannot reach tol within the budget); " if convex else "")
                + "GMRES stops when its last cycle's rate, kept up, misses tol within the budget by a factor 100 (an "
                "estimate: restarted GMRES need not be log-convex); an early stop counts as not reaching tol; "
                + f"ratios are medians over the systems with a 95 % percentile bootstrap interval ({resamples} paired "
                f"resamples of the systems, seed {seed})")
    return EqualCostComparison(tol, budget, hist, skipped, counting, int(A.shape[0]), n, seed, resamples,
                               stopped_early=early, blocked=True)
