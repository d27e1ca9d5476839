"""What a learned nonlinear iteration is worth: the equal-cost comparison with the classical
solvers on held-out instances, and its local convergence factor at the solution.

:func:`compare` runs the learned solver and the baselines of
:mod:`algodiscover.nonlinear_baselines` from the same starting points, every F call counted
by a wrapper, and gives each ratio learned / baseline a 95 % percentile-bootstrap interval
over the instances (:func:`~algodiscover.analysis.statistics.bootstrap_ratio`, the median of
the per-instance ratios over the instances both methods solved) with a verdict only where
the interval excludes 1. :func:`linearisation` solves >= 100 held-out instances (and the
corners of the parameter range) to high accuracy, takes the eigenvalues of the Jacobian at
each solution, and reports the local factor ``max |q(lambda)|`` per instance: its median and
its worst case with the parameters where it occurs. Above :data:`MATRIX_FREE_SIZE` unknowns
the linearisation is matrix-free: solutions from newton_krylov, the spectra estimated by
ARPACK on exact forward-mode JVPs (:func:`estimated_spectrum`), recorded as an estimate
(``spectrum_estimate``). Imports numpy, torch (through the family), :mod:`.analysis` and
:mod:`.nonlinear_baselines`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .analysis.minimax import convergence_factor
from .analysis.polynomials import polynomial_coefficients
from .analysis.spectrum import Spectrum, arnoldi_extremes
from .analysis.statistics import RESAMPLES, bootstrap_ratio, median_or_none
from .nonlinear_baselines import (BaselineSet, MethodRun, dense_solve, eigenvalues, jacobian_function, jvp_function, run_learned,
                                  run_learned_jvp, run_newton_krylov)
from .nonlinear_families import NonlinearFamily
from .options import NONLINEAR_LARGE_SIZE

__all__ = ["compare", "linearisation", "LEARNED", "EIGENVALUE_POINTS", "MATRIX_FREE_SIZE", "estimated_spectrum"]

#: from more unknowns than this on, :func:`linearisation` solves and estimates the spectra
#: matrix-free (JVPs and Arnoldi), never forming the m x m Jacobian
MATRIX_FREE_SIZE = NONLINEAR_LARGE_SIZE
#: the matrix-free estimate: ARPACK ends (k Ritz values each), basis size, tolerance, restarts
_ARNOLDI = {"k": 4, "ncv": 40, "tol": 1e-8, "maxiter": 300}
_HULL_POINTS = 2001

LEARNED = "learned"
#: at most this many real parts of the Jacobian eigenvalues are written (evenly by rank)
EIGENVALUE_POINTS = 2000
_CORNER_PARAMS = 3  # corners of the parameter box are added when there are at most this many parameters


def _instances(family: NonlinearFamily, instances: int, seed: int, ood: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    probs = family.sample(instances, seed + (7919 if ood else 4099), ood=ood)
    return [(probs.params[i].numpy(), probs.x0[i].numpy()) for i in range(instances)]


def compare(solver: Any, family: NonlinearFamily, *, instances: int, seed: int, tol: float, budget: int, ood: bool = False,
            baselines: BaselineSet | None = None, progress: Callable[[], None] | None = None,
            resamples: int = RESAMPLES) -> dict[str, Any]:
    """Residual evaluations to ``||F||_2 <= tol`` on ``instances`` held-out instances (in the
    training ranges, or beyond them with ``ood``) for the learned ``solver`` and each
    baseline (only SciPy's ``newton_krylov`` at its defaults when ``baselines`` is None),
    with bootstrap intervals on every ratio learned / baseline."""
    methods = [LEARNED] + (baselines.methods if baselines is not None else ["newton_krylov"])
    runs: dict[str, list[MethodRun]] = {m: [] for m in methods}
    jac_in_F = float(baselines.jacobian["jacobian_in_F"]) if baselines is not None and baselines.jacobian else 0.0
    uses_jvp = bool(getattr(solver, "uses_jvp", False))
    jvp_in_F = float(solver.jvp_in_F) if uses_jvp else 0.0
    if baselines is not None and baselines.jvp_in_F is not None:
        jvp_in_F = float(baselines.jvp_in_F)
    for p, x0 in _instances(family, instances, seed, ood):
        F = family.numpy_residual(p)
        runs[LEARNED].append(run_learned_jvp(solver, F, jvp_function(family, p), x0, tol, budget) if uses_jvp
                             else run_learned(solver, F, x0, tol, budget))
        for m in methods[1:]:
            runs[m].append(baselines.run(m, family, p, F, x0, tol, budget) if baselines is not None
                           else run_newton_krylov(F, x0, tol, budget))
        if progress is not None:
            progress()
    costs = {m: [r.cost(jac_in_F, jvp_in_F) for r in rs] for m, rs in runs.items()}
    ratios = {m: bootstrap_ratio(costs[LEARNED], costs[m], statistic="median of ratios", learned="numerator",
                                 resamples=resamples, seed=seed)
              for m in methods[1:]}
    med_cost = {m: median_or_none(c) for m, c in costs.items()}
    ranked = sorted(methods, key=lambda m: (math.inf if med_cost[m] is None else med_cost[m], methods.index(m)))
    base_ranked = [m for m in ranked if m != LEARNED]
    out: dict[str, Any] = {
        "setting": "out_of_distribution" if ood else "in_distribution",
        "instances": instances,
        "tol": tol,
        "evaluations": {m: [r.evaluations for r in rs] for m, rs in runs.items()},
        "median_evaluations": {m: median_or_none([r.evaluations for r in rs]) for m, rs in runs.items()},
        "median_cost": med_cost,
        "success": {m: sum(r.evaluations is not None for r in rs) for m, rs in runs.items()},
        "ratios": {m: e.to_json() for m, e in ratios.items()},
        "median_ratio_learned_to_newton_krylov": ratios["newton_krylov"].value,
        "best_baseline": base_ranked[0] if base_ranked and med_cost[base_ranked[0]] is not None else None,
        "fewest": ranked[0] if med_cost[ranked[0]] is not None else None,
        "wall_time_s": {m: float(sum(r.wall_s for r in rs)) for m, rs in runs.items()},
        "safeguard_rejections": int(sum(r.rejected_steps for r in runs[LEARNED])),
    }
    jac = {m: [r.jacobians if r.evaluations is not None else None for r in rs] for m, rs in runs.items()
           if any(r.jacobians is not None for r in rs)}
    if jac:
        out["jacobians"] = jac
        out["jacobian_in_F"] = jac_in_F
    jv = {m: [r.jvps if r.evaluations is not None else None for r in rs] for m, rs in runs.items()
          if any(r.jvps is not None for r in rs)}
    if jv:
        out["jvps"] = jv
        out["jvp_in_F"] = jvp_in_F
        # sensitivity: the same runs with a JVP priced as one F evaluation (what a finite-difference product costs)
        unit = {m: [r.cost(jac_in_F, 1.0) for r in rs] for m, rs in runs.items()}
        out["jvp_as_one_F"] = {
            "median_cost": {m: median_or_none(c) for m, c in unit.items()},
            "ratios": {m: bootstrap_ratio(unit[LEARNED], unit[m], statistic="median of ratios", learned="numerator",
                                          resamples=resamples, seed=seed).to_json() for m in methods[1:]},
        }
    if uses_jvp:
        out["learned_histories"] = [list(r.history) for r in runs[LEARNED]]
    return out


def _corners(family: NonlinearFamily) -> list[np.ndarray]:
    if not family.param_ranges or len(family.param_ranges) > _CORNER_PARAMS:
        return []
    return [np.array(c, dtype=np.float64) for c in itertools.product(*family.param_ranges)]


def _solve_accurately(family: NonlinearFamily, p: np.ndarray, x0: np.ndarray, matrix_free: bool = False) -> np.ndarray | None:
    """A solution with ``||F|| <= 1e-12``: exact Newton, else SciPy's newton_krylov
    (``matrix_free``: newton_krylov only, no Jacobian is formed)."""
    F = family.numpy_residual(p)
    if matrix_free:
        return _newton_krylov_accurately(F, x0)
    jac = jacobian_function(family, p)
    x = np.array(x0, dtype=np.float64)
    with np.errstate(all="ignore"):
        for _ in range(50):
            f = F(x)
            nf = float(np.linalg.norm(f))
            if nf <= 1e-12:
                return x
            if not math.isfinite(nf):
                break
            try:
                x = x - dense_solve(jac(x), f)
            except RuntimeError:  # torch's singular-matrix error
                break
    return _newton_krylov_accurately(F, x0)


def _newton_krylov_accurately(F: Callable[[np.ndarray], np.ndarray], x0: np.ndarray) -> np.ndarray | None:
    from scipy.optimize import newton_krylov

    try:
        x = newton_krylov(F, x0, f_tol=1e-12)
    except Exception:  # scipy raises NoConvergence, ValueError, LinAlgError ...
        return None
    return x if float(np.linalg.norm(F(x))) <= 1e-9 else None


def _thin(values: Sequence[float], points: int) -> list[float]:
    v = list(values)
    if len(v) <= points:
        return v
    idx = np.unique(np.round(np.linspace(0, len(v) - 1, points)).astype(int))
    return [v[i] for i in idx]


def estimated_spectrum(family: NonlinearFamily, p: np.ndarray, x: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The extreme eigenvalues of ``F'(x)`` for one instance, matrix-free: Arnoldi / Lanczos
    (:func:`~algodiscover.analysis.spectrum.arnoldi_extremes`) on exact forward-mode JVPs."""
    import torch.autograd.forward_ad as fwAD

    P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))
    X = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(1, -1))

    def jvp(v: np.ndarray) -> np.ndarray:  # exact forward-mode product, dual numbers (less overhead than torch.func.jvp)
        with torch.no_grad(), fwAD.dual_level():
            dual = fwAD.make_dual(X, torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(1, -1)))
            return fwAD.unpack_dual(family.residual(dual, P)).tangent[0].numpy().copy()

    return arnoldi_extremes(jvp, family.size, seed=seed, **_ARNOLDI)


def _rate_on_estimate(ev: np.ndarray, q_abs: Callable[[np.ndarray], np.ndarray]) -> float:
    """``max |q|`` over an estimated spectrum: on the hull of the real parts (2001 points and the
    Ritz values) when the Ritz values are real (every eigenvalue lies in that hull when the
    extremes are right), else on the Ritz values only."""
    if np.iscomplexobj(ev) and np.max(np.abs(ev.imag)) > 0:
        return float(np.max(q_abs(ev)))
    lo, hi = float(ev.min()), float(ev.max())
    pts = np.concatenate([np.linspace(lo, hi, _HULL_POINTS), ev])
    return float(np.max(q_abs(pts)))


def linearisation(solver: Any, family: NonlinearFamily, *, instances: int = 100, seed: int = 0,
                  matrix_free: bool | None = None) -> dict[str, Any]:
    """Spectra of the Jacobian ``J* = F'(x*)`` at the solutions of ``instances`` held-out
    instances and of the corners of the parameter range (starting from the family's guess),
    and the local convergence factor of the learned polynomial per instance: its median and
    its worst case, with where that occurs. ``factor`` is ``max |q|`` over the union of the
    spectra (on their hull for a real spectrum), an upper bound over the parameter range.

    ``matrix_free`` (default: more than :data:`MATRIX_FREE_SIZE` unknowns): the solutions come
    from newton_krylov and each spectrum is an estimate of its extremes (ARPACK on JVPs, see
    :func:`estimated_spectrum`), the per-instance rate ``max |q|`` on the hull of the estimated
    real parts; the result then carries ``spectrum_estimate`` saying so."""
    if matrix_free is None:
        matrix_free = family.size > MATRIX_FREE_SIZE
    probs = family.sample(instances, seed + 31337)
    points = [(probs.params[i].numpy(), probs.x0[i].numpy(), "sampled") for i in range(instances)]
    for c in _corners(family):
        P = torch.tensor(c[None])
        points.append((c, family.guess(P)[0].numpy(), "corner"))
    coeffs = polynomial_coefficients(solver.tableau, solver.h)
    power = solver.inner_outer if solver.mode == "newton-krylov" else 1
    rec = None
    if getattr(solver, "memory", 0):
        from .analysis.memory import memory_recurrence

        # linearised at x*, f = -F ~ -J* e: the error obeys the linear memory recurrence on J*'s eigenvalues
        rec = memory_recurrence(solver.W.tolist(), solver.b.tolist(), solver.h, solver.betas.tolist(), solver.gammas.tolist(), exact=False)
    eigs, rates, where, skipped = [], [], [], 0
    est = {"matvecs": 0, "converged": True, "symmetric": True}
    if rec is not None:
        q_abs = lambda z: np.asarray(rec.factor(z), dtype=np.float64)  # noqa: E731
    else:
        q_abs = lambda z: np.abs(np.polynomial.polynomial.polyval(z, coeffs)) ** power  # noqa: E731
    for p, x0, kind in points:
        xs = _solve_accurately(family, p, x0, matrix_free)
        if xs is None:
            skipped += 1
            continue
        if matrix_free:
            r = estimated_spectrum(family, p, xs, seed=seed)
            ev = r["eigenvalues"]
            est["matvecs"] += r["matvecs"]
            est["converged"] = est["converged"] and r["converged"]
            est["symmetric"] = est["symmetric"] and r["symmetric"]
            rates.append(_rate_on_estimate(ev, q_abs))
        else:
            ev = eigenvalues(jacobian_function(family, p)(xs))
            if rec is not None:
                rates.append(float(np.max(rec.factor(ev))))
            else:
                q = np.polynomial.polynomial.polyval(ev, coeffs)
                rates.append(float(np.max(np.abs(q))) ** power)
        eigs.append(ev)
        where.append((p, kind))
    if not eigs:
        raise RuntimeError(f"family {family.name!r}: no held-out instance could be solved to 1e-12 for the linearisation")
    ev = np.concatenate(eigs)
    lo, hi = float(ev.real.min()), float(ev.real.max())
    n_s = sum(1 for _, k in where if k == "sampled")
    n_c = len(where) - n_s
    src = f"eigenvalues of F'(x*) at the solutions of {n_s} held-out instances" + (f" and the {n_c} corners of the parameter range" if n_c else "")
    if matrix_free:
        src = "estimated extreme " + src + " (matrix-free Arnoldi on JVPs)"
    spectrum = Spectrum((lo, hi), src, eigenvalues=ev, exact_interval=not matrix_free)
    fac = convergence_factor(solver.W, solver.b, solver.h, spectrum)
    extra: dict[str, Any] = {}
    if rec is not None:
        from .analysis.memory import identify_memory_iteration

        on = rec.factor_on(lo, hi)
        fac = {"per_outer": on["per_outer"], "per_matvec": on["per_matvec"], "argmax": on["at"], "on_eigenvalues": float(max(rates))}
        extra = {"memory_recurrence": rec.text(), "memory_identified_as": identify_memory_iteration(rec, lo, hi)}
    if rec is not None:
        meaning = (f"memory {solver.memory}: linearised at x*, the error obeys the recurrence e_(k+1) = c_0 e_k + ... + c_M e_(k-M) "
                   "with c_m polynomials in J*; the local rate per outer iteration on an eigenvalue is the spectral radius of its "
                   "companion matrix; local_rate is the worst case over the instances of its maximum over each instance's eigenvalues, "
                   "factor the maximum over the hull of their union")
    elif solver.mode == "newton-krylov":
        meaning = ("inner residual factor max|q| over the spectrum of J*: the forcing term of the inexact Newton "
                   f"iteration ({solver.inner_outer} inner pass(es) per Newton step), so the local rate per Newton step; "
                   "local_rate is the worst case over the instances of max|q|^passes on each instance's eigenvalues")
    else:
        meaning = ("max|R(-h lambda)| over the spectrum of J*: the local linear rate per outer iteration; local_rate is the worst "
                   "case over the instances of max|q| on each instance's eigenvalues")
    if matrix_free:
        lanczos = est["symmetric"]
        extra["spectrum_estimate"] = {
            "method": ("implicitly restarted Lanczos (scipy eigsh, both ends)" if lanczos else
                       "implicitly restarted Arnoldi (scipy eigs: smallest and largest real part, largest imaginary part)")
                      + f" on exact forward-mode JVPs of F at x*, {_ARNOLDI['k']} Ritz values per end, {_ARNOLDI['ncv']} basis "
                      f"vectors, tol {_ARNOLDI['tol']:g}, at most {_ARNOLDI['maxiter']} restarts; no m x m matrix formed",
            "estimate": True, "size": int(family.size), "threshold": int(MATRIX_FREE_SIZE), "matvecs": int(est["matvecs"]),
            "converged": bool(est["converged"]),
            "rate_rule": (f"per instance max |q| on the hull of the estimated real parts ({_HULL_POINTS} points and the Ritz "
                          "values) where they are real, else on the Ritz values: an estimate, exact if the extremes are"),
        }
        meaning += ("; the spectra are matrix-free estimates of the extreme eigenvalues (spectrum_estimate), so the rates are "
                    "estimates")
    k = int(np.argmax(rates))
    wp, wkind = where[k]
    srt = [float(v) for v in np.sort(ev.real)]
    return {"spectrum": spectrum.to_json(), "eigenvalues_real": srt[:8] + ["..."] + srt[-3:] if len(srt) > 11 else srt,
            "eigenvalues_all_real": _thin(srt, EIGENVALUE_POINTS), "eigenvalues_max_imag": float(np.max(np.abs(ev.imag))),
            "residual_polynomial_coefficients": [float(c) for c in coeffs], "factor": fac,
            "local_rate": rates[k], "local_rate_median": float(np.median(rates)),
            "worst": {"rate": rates[k], "params": {name: float(v) for name, v in zip(family.params, wp)}, "instance": wkind},
            "instances": n_s, "corners": n_c, "unsolved": skipped, "per_instance_rates": rates, "meaning": meaning, **extra}
