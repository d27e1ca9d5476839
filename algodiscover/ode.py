"""The ODE branch: data, losses and training of R2N2 integrators, and their export.

Training data are one-step (or K-step) problems ``(params, y0, h)`` drawn from a family
with their reference solution ``y(K h)`` (closed form, or DOP853 at rtol = atol = 1e-13),
cached on disk. The loss is the mean squared one-step error, optionally normalised per
sample by a reference method's error, plus an optional Taylor regulariser that pushes the
first p h-derivatives of the step towards the exact flow: the order conditions
``Phi(t) = 1/gamma(t)`` of all trees up to order p (``"general"``), or only the
combinations that matter for the family's right-hand side (``"family"``).

With ``[model] derivatives`` the model is a :class:`~algodiscover.model.TwoDerivativeR2N2`:
its stages also evaluate ``g = f'(y) f(y)`` (the family's symbolic ``J(y) f(y)``), the
regulariser acts on the two-derivative trees' residuals, the cost of g relative to f is
measured on the training batch (:mod:`algodiscover.derivative_cost`), and the artefact (kind
``"two-derivative-runge-kutta"``) is analysed by
:func:`algodiscover.analysis.two_derivative_assessment.analyze_two_derivative`.

With ``[model] memory = M`` the model is an R2N2 with memory, an explicit multistep method
(:mod:`algodiscover.memory`). Its training data are trajectories: the reference solution at
every step ``y(h), ..., y(K h)`` (:func:`make_trajectory_data`). The first M steps follow
``[model] startup`` (``"rk4"``: classical RK4 steps, ``"exact"``: the reference values,
``"rk"``: plain R2N2 steps with the model's own ``(W, b)``, so their error is trained too);
the loss (:func:`memory_ode_loss`) is the mean over samples *and over every state the memory
update produced*, ``k = M+1..K``, of the squared error normalised by the reference method's
error at the same state. Every state rather than the last: an integrator is judged at each
step it outputs, errors of different steps cannot cancel in the loss, and the memory weights
get a signal from each memory step. The artefact has kind ``"multistep"`` (weights W, b,
betas, gammas) and is analysed by
:func:`algodiscover.analysis.multistep_assessment.analyze_multistep`.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .analysis import ButcherTableau, OdeSamples, atomic_path, get_method, personalised_conditions, rk_step

from .errors import InputError
from .options import OdeTrainingConfig
from .model import R2N2, TwoDerivativeR2N2, tree_residuals
from .ode_families import OdeFamily

__all__ = ["OdeTrainingConfig", "OdeData", "make_ode_data", "ode_loss", "tableau_solver", "cache_dir", "TrajectoryData",
           "make_trajectory_data", "memory_ode_loss"]



def cache_dir() -> Path:
    """Where reference solutions are cached: ``$ALGODISCOVER_CACHE`` or
    ``~/.cache/algodiscover``."""
    return Path(os.environ.get("ALGODISCOVER_CACHE", Path.home() / ".cache" / "algodiscover"))


@dataclass(frozen=True)
class OdeData:
    """Training problems and their reference solutions after ``outer`` steps of size h."""

    samples: OdeSamples
    reference: np.ndarray
    outer: int


def make_ode_data(family: OdeFamily, n: int, seed: int, outer: int = 1, cache: bool = True) -> OdeData:
    """Sample ``n`` problems reproducibly and compute (or load) their reference solutions."""
    smp = family.spec.sample(n, seed)
    key = hashlib.sha256(json.dumps({"family": family.spec.to_json(), "rhs": [str(g) for g in family.spec.rhs], "n": n, "seed": seed, "outer": outer, "v": 1}, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / f"ode-{family.name}-{key}.npz"
    if cache and path.exists():
        try:
            with np.load(path) as z:
                ref = z["reference"]
                if ref.shape == smp.y0.shape and np.array_equal(z["y0"], smp.y0):
                    return OdeData(smp, ref, outer)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # unreadable or truncated cache entry: recompute and overwrite
    ref = family.spec.flow(smp.y0, smp.params, outer * smp.h)
    if cache:
        try:
            with atomic_path(path, suffix=".npz") as tmp:
                np.savez(tmp, reference=ref, y0=smp.y0)
        except OSError:
            pass  # a read-only cache only costs time
    return OdeData(smp, ref, outer)


@dataclass(frozen=True)
class TrajectoryData:
    """Training problems and their reference solution at every step: ``reference[k]`` is
    ``y((k + 1) h)`` (K, B, d)."""

    samples: OdeSamples
    reference: np.ndarray
    outer: int


def make_trajectory_data(family: OdeFamily, n: int, seed: int, outer: int, cache: bool = True) -> TrajectoryData:
    """``n`` problems (the samples of :func:`make_ode_data` for this seed) with the reference
    at ``h, 2h, ..., outer h`` (closed form, or DOP853 at rtol = atol = 1e-13 from ``y0``), cached."""
    smp = family.spec.sample(n, seed)
    key = hashlib.sha256(json.dumps({"family": family.spec.to_json(), "rhs": [str(g) for g in family.spec.rhs], "n": n, "seed": seed,
                                     "outer": outer, "trajectory": True, "v": 1}, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / f"ode-{family.name}-traj-{key}.npz"
    if cache and path.exists():
        try:
            with np.load(path) as z:
                ref = z["reference"]
                if ref.shape == (outer, *smp.y0.shape) and np.array_equal(z["y0"], smp.y0):
                    return TrajectoryData(smp, ref, outer)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass
    ref = np.stack([family.spec.flow(smp.y0, smp.params, (k + 1) * smp.h) for k in range(outer)])
    if cache:
        try:
            with atomic_path(path, suffix=".npz") as tmp:
                np.savez(tmp, reference=ref, y0=smp.y0)
        except OSError:
            pass
    return TrajectoryData(smp, ref, outer)


def _reference_trajectory_errors2(family: OdeFamily, data: TrajectoryData, method: str) -> np.ndarray:
    """Squared error (K, B) of ``method`` steps from ``y0`` at every reference state."""
    tab = get_method(method)
    smp = data.samples
    y = smp.y0
    out = []
    for k in range(data.outer):
        y = rk_step(tab, lambda Y: family.spec.numpy_rhs(Y, smp.params), y, smp.h)
        out.append(np.sum((y - data.reference[k]) ** 2, axis=1))
    return np.stack(out)


def memory_ode_loss(model: R2N2, family: OdeFamily, data: TrajectoryData, cfg: OdeTrainingConfig, startup: str) -> Callable[[], torch.Tensor]:
    """The trajectory loss of an R2N2 with memory (module docstring) as a closure."""
    from .memory import classical_start

    smp = data.samples
    M = model.memory_depth
    P = torch.tensor(smp.params, dtype=torch.float64)
    Y0 = torch.tensor(smp.y0, dtype=torch.float64)
    H = torch.tensor(smp.h, dtype=torch.float64)
    REF = torch.tensor(data.reference, dtype=torch.float64)
    f = family.torch_rhs(P)
    ref_e2 = _reference_trajectory_errors2(family, data, cfg.reference_method)[M:]
    floor = 1e-300
    if cfg.normalise == "reference":
        scale = torch.tensor(np.maximum(ref_e2, floor), dtype=torch.float64)
    else:
        scale = torch.tensor(max(float(np.mean(ref_e2)), floor), dtype=torch.float64)
    if startup == "exact":
        start = [REF[k] for k in range(M)]
    elif startup == "rk4":
        start = classical_start(f, Y0, H.reshape(-1, 1), M)
    else:
        start = None
    reg: Callable[[], torch.Tensor] | None = None
    if cfg.taylor_order > 0 and cfg.taylor_weight > 0:
        p = cfg.taylor_order
        if cfg.taylor_mode == "general":
            reg = lambda: (tree_residuals(model, p) ** 2).sum()  # noqa: E731
        else:
            Mt = torch.tensor(personalised_conditions(family.spec, p).dense_matrix(), dtype=torch.float64)
            reg = lambda: ((Mt @ tree_residuals(model, p)) ** 2).sum()  # noqa: E731

    def loss() -> torch.Tensor:
        xs = model(f, Y0, H, outer=data.outer, return_all=True, start=start)
        X = torch.stack(xs[M:])
        e2 = ((X - REF[M:]) ** 2).sum(dim=2)
        val = (e2 / scale).mean()
        if reg is not None:
            val = val + cfg.taylor_weight * reg()
        return val

    return loss


def _reference_errors2(family: OdeFamily, data: OdeData, method: str) -> np.ndarray:
    tab = get_method(method)
    smp = data.samples
    y = smp.y0
    for _ in range(data.outer):
        y = rk_step(tab, lambda Y: family.spec.numpy_rhs(Y, smp.params), y, smp.h)
    return np.sum((y - data.reference) ** 2, axis=1)


def ode_loss(model: R2N2 | TwoDerivativeR2N2, family: OdeFamily, data: OdeData, cfg: OdeTrainingConfig) -> Callable[[], torch.Tensor]:
    """The training loss as a closure over the data (full batch)."""
    smp = data.samples
    P = torch.tensor(smp.params, dtype=torch.float64)
    Y0 = torch.tensor(smp.y0, dtype=torch.float64)
    H = torch.tensor(smp.h, dtype=torch.float64)
    REF = torch.tensor(data.reference, dtype=torch.float64)
    f = family.torch_derivative_rhs(P) if isinstance(model, TwoDerivativeR2N2) else family.torch_rhs(P)
    ref_e2 = _reference_errors2(family, data, cfg.reference_method)
    floor = 1e-300
    if cfg.normalise == "reference":
        scale = torch.tensor(np.maximum(ref_e2, floor), dtype=torch.float64)
    else:
        scale = torch.tensor(max(float(np.mean(ref_e2)), floor), dtype=torch.float64)
    reg: Callable[[], torch.Tensor] | None = None
    if cfg.taylor_order > 0 and cfg.taylor_weight > 0:
        p = cfg.taylor_order
        if cfg.taylor_mode == "general":
            reg = lambda: (tree_residuals(model, p) ** 2).sum()  # noqa: E731
        else:
            Mt = torch.tensor(personalised_conditions(family.spec, p).dense_matrix(), dtype=torch.float64)
            reg = lambda: ((Mt @ tree_residuals(model, p)) ** 2).sum()  # noqa: E731

    def loss() -> torch.Tensor:
        x = model(f, Y0, H, outer=data.outer)
        e2 = ((x - REF) ** 2).sum(dim=1)
        val = (e2 / scale).mean()
        if reg is not None:
            val = val + cfg.taylor_weight * reg()
        return val

    return loss


# ----------------------------------------------------------------------------- export
def tableau_solver(tableau: ButcherTableau):
    """A :class:`scipy.integrate.OdeSolver` subclass that takes fixed steps of an explicit
    tableau::

        Solver = tableau_solver(get_method("RK4"))
        solve_ivp(fun, (0, 1), y0, method=Solver, first_step=0.01, dense_output=True)

    ``first_step`` is the step size (required); the last step is shortened to land on the
    end of the interval. ``rtol``, ``atol`` and ``max_step`` do not apply to a fixed-step
    method: they are ignored with one warning.

    Dense output (``t_eval``, ``dense_output``, ``events``) keeps the accuracy of the steps:
    Hermite interpolation of the values and derivatives at the last ``k + 1`` step points,
    degree ``2k + 1`` with ``2k + 1 >= p`` for a method of order ``p`` (cubic for order <= 3,
    quintic for orders 4 and 5, ...). The derivative at each step point is the next step's
    first stage; for the first steps, ``k - 1`` steps of the method backwards from ``t0``
    supply the missing points (``(k - 1) s`` evaluations once, counted in ``nfev``; skipped if
    ``f`` fails there).
    """
    import warnings

    from scipy.integrate import OdeSolver
    from scipy.integrate._ivp.base import DenseOutput
    from scipy.interpolate import KroghInterpolator

    from .analysis import check_order
    from .errors import AlgodiscoverWarning

    if not tableau.is_explicit:
        raise InputError(f"{tableau.label}: only explicit tableaux can be exported as a fixed-step solver")
    A, b, c = tableau.A.copy(), tableau.b.copy(), tableau.c.copy()
    s = tableau.stages
    label = tableau.label
    order = max(1, check_order(tableau, max_order=8, tol=1e-10, exact=False).order)
    window = max(1, -(-(order - 1) // 2))  # the smallest k with 2k + 1 >= order

    class _Hermite(DenseOutput):
        """Hermite interpolant through (t_j, y_j, f_j) of the last few step points."""

        def __init__(self, ts: list[float], ys: list[np.ndarray], fs: list[np.ndarray]) -> None:
            super().__init__(ts[-2], ts[-1])
            xi = np.repeat(np.asarray(ts, dtype=np.float64), 2)
            yi = np.empty((2 * len(ts),) + ys[0].shape, dtype=np.result_type(ys[0], fs[0]))
            yi[0::2], yi[1::2] = ys, fs
            self._poly = KroghInterpolator(xi, yi)

        def _call_impl(self, t: np.ndarray) -> np.ndarray:
            v = self._poly(np.asarray(t, dtype=np.float64))
            return v if np.ndim(t) == 0 else np.moveaxis(v, 0, -1)

    class FixedStepRK(OdeSolver):
        __doc__ = f"Fixed-step explicit Runge-Kutta solver for {label} (order {order})."
        tableau_ = tableau
        order_ = order
        _warned = False

        def __init__(self, fun, t0, y0, t_bound, first_step=None, vectorized=False, **extraneous):
            if first_step is None or not np.isfinite(first_step) or first_step <= 0:
                raise ValueError(f"{label}: pass the fixed step size as first_step > 0")
            ignored = sorted(k for k in extraneous if k in ("rtol", "atol", "max_step", "min_step"))
            if ignored and not FixedStepRK._warned:
                FixedStepRK._warned = True
                warnings.warn(f"{label}: a fixed-step method ignores {', '.join(ignored)} (the step is first_step = {first_step:g})",
                              AlgodiscoverWarning, stacklevel=3)
            super().__init__(fun, t0, y0, t_bound, vectorized, support_complex=True)
            self.h = float(first_step)
            self.f = self.fun(self.t, self.y)
            self.history: list[tuple[float, np.ndarray, np.ndarray]] = [(self.t, self.y, self.f)]
            self._start_history()

        def _stages(self, t: float, y: np.ndarray, f: np.ndarray, h: float) -> np.ndarray:
            K = np.empty((s,) + y.shape, dtype=np.result_type(y, f))
            K[0] = f  # c[0] = 0: the derivative at the step point
            for i in range(1, s):
                K[i] = self.fun(t + c[i] * h, y + h * (A[i, :i] @ K[:i]))
            return K

        def _start_history(self) -> None:
            """Points behind t0 for the interpolant of the first steps: window - 1 steps of the
            same method backwards (used only for dense output; skipped where f fails there)."""
            t, y, f = self.history[0]
            h = -self.h * self.direction
            for _ in range(window - 1):
                try:
                    with np.errstate(all="raise"):
                        y = y + h * (b @ self._stages(t, y, f, h))
                        t = t + h
                        f = np.asarray(self.fun(t, y))
                except (ArithmeticError, ValueError, FloatingPointError):
                    break
                if not (np.all(np.isfinite(y)) and np.all(np.isfinite(f))):
                    break
                self.history.insert(0, (t, y, f))

        def _step_impl(self):
            t, y = self.t, self.y
            remaining = abs(self.t_bound - t)
            # land exactly on t_bound instead of leaving a sliver step to rounding
            h = (remaining if remaining <= self.h * (1 + 1e-9) else self.h) * self.direction
            self.t = t + h
            self.y = y + h * (b @ self._stages(t, y, self.f, h))
            self.f = self.fun(self.t, self.y)  # the next step's first stage
            self.history = (self.history + [(self.t, self.y, self.f)])[-(window + 1):]
            return True, None

        def _dense_output_impl(self):
            ts, ys, fs = (list(v) for v in zip(*self.history))
            return _Hermite(ts, ys, fs)

    FixedStepRK.__name__ = FixedStepRK.__qualname__ = f"FixedStep_{''.join(ch for ch in label if ch.isalnum())}"
    return FixedStepRK


# ----------------------------------------------------------------------------- branch API
def family_for(problem: dict[str, Any]) -> OdeFamily:
    """The family named in a run's problem section (built-in, or custom from its table)."""
    from .ode_families import get_ode_family, ode_family_from_config

    if problem.get("family") == "custom":
        table = problem.get("custom")
        if not isinstance(table, dict):
            raise InputError("custom ODE family without its [family] table")
        return ode_family_from_config(table, source="[family]")
    return get_ode_family(str(problem.get("family")))


def list_families() -> list[tuple[str, str]]:
    from .ode_families import ODE_FAMILIES

    return [(name, fam.spec.description) for name, fam in ODE_FAMILIES.items()]


def train_run(cfg, *, progress: bool = True, checkpoint: Path | None = None, resume: bool = False):
    """Train an R2N2 integrator for ``cfg`` (a :class:`RunConfig` of class ``ode``) and
    return the :class:`LearnedAlgorithm`."""
    import time

    from .artefact import LearnedAlgorithm
    from .training import train

    opts = OdeTrainingConfig(**_checked_options(cfg.options))
    problem = {"class": "ode", "family": cfg.family}
    if cfg.custom_family:
        problem["custom"] = cfg.custom_family
    family = family_for(problem)
    problem["equations"] = family.spec.rhs_text()
    torch.manual_seed(cfg.seed)
    if cfg.model.memory:
        return _train_memory(cfg, opts, problem, family, progress=progress, checkpoint=checkpoint, resume=resume)
    t0 = time.perf_counter()
    data = make_ode_data(family, opts.samples, seed=cfg.seed, outer=cfg.model.outer)
    t_data = time.perf_counter() - t0
    if cfg.model.derivatives is not None:
        return _train_two_derivative(cfg, opts, problem, family, data, t_data, progress=progress, checkpoint=checkpoint, resume=resume)
    model = R2N2(cfg.model.stages, cfg.model.outer, consistency=cfg.model.consistency, init=cfg.model.init,
                 init_scale=cfg.model.init_scale, seed=cfg.seed)
    res = train(model, ode_loss(model, family, data, opts), cfg.train, progress=progress, checkpoint=checkpoint, resume=resume,
                desc=f"{cfg.run_name}")
    with torch.no_grad():
        W = model.W().numpy().tolist()
        b = model.b().numpy().tolist()
    return LearnedAlgorithm(
        kind="runge-kutta",
        problem=problem,
        structure={"stages": cfg.model.stages, "outer": cfg.model.outer, "consistency": cfg.model.consistency, "h": "per sample (time step)",
                   "loss": opts.to_json()},
        weights={"W": W, "b": b},
        config=cfg.to_json(),
        seed=cfg.seed,
        training=res.record(),
        timing={"data_s": round(t_data, 3), "train_s": round(res.wall_time, 3)},
    )


def _train_two_derivative(cfg, opts: OdeTrainingConfig, problem: dict[str, Any], family: OdeFamily, data: OdeData, t_data: float, *,
                          progress: bool, checkpoint: Path | None, resume: bool):
    """:func:`train_run` for a two-derivative model: also measures the cost of g."""
    from .artefact import TWO_DERIVATIVE_KIND, LearnedAlgorithm
    from .derivative_cost import measure_derivative_cost
    from .training import _train_threads, train

    model = TwoDerivativeR2N2(cfg.model.stages, cfg.model.derivatives, cfg.model.outer, consistency=cfg.model.consistency,
                              init=cfg.model.init, init_scale=cfg.model.init_scale, seed=cfg.seed)
    smp = data.samples
    rhs = family.torch_derivative_rhs(torch.tensor(smp.params, dtype=torch.float64))
    cost = measure_derivative_cost(rhs, torch.tensor(smp.y0, dtype=torch.float64), threads=_train_threads())
    res = train(model, ode_loss(model, family, data, opts), cfg.train, progress=progress, checkpoint=checkpoint, resume=resume,
                desc=f"{cfg.run_name}")
    with torch.no_grad():
        weights = {"W": model.W().numpy().tolist(), "b": model.b().numpy().tolist(),
                   "W2": model.W2().numpy().tolist(), "b2": model.b2().numpy().tolist()}
    return LearnedAlgorithm(
        kind=TWO_DERIVATIVE_KIND,
        problem=problem,
        structure={"stages": cfg.model.stages, "outer": cfg.model.outer, "consistency": cfg.model.consistency, "h": "per sample (time step)",
                   "derivatives": list(cfg.model.derivatives), "loss": opts.to_json()},
        weights=weights,
        config=cfg.to_json(),
        seed=cfg.seed,
        training=res.record(),
        timing={"data_s": round(t_data, 3), "train_s": round(res.wall_time, 3)},
        cost=cost,
    )


def _train_memory(cfg, opts: OdeTrainingConfig, problem: dict[str, Any], family: OdeFamily, *, progress: bool, checkpoint: Path | None,
                  resume: bool):
    """:func:`train_run` for an R2N2 with memory: trajectory data, the trajectory loss, and an
    artefact of kind ``"multistep"``."""
    import time

    from .artefact import MULTISTEP_KIND, LearnedAlgorithm
    from .training import train

    m = cfg.model
    t0 = time.perf_counter()
    data = make_trajectory_data(family, opts.samples, seed=cfg.seed, outer=m.outer)
    t_data = time.perf_counter() - t0
    model = R2N2(m.stages, m.outer, consistency=m.consistency, init=m.init, init_scale=m.init_scale, seed=cfg.seed,
                 memory=m.memory, memory_form=m.memory_form)
    res = train(model, memory_ode_loss(model, family, data, opts, m.startup), cfg.train, progress=progress, checkpoint=checkpoint,
                resume=resume, desc=f"{cfg.run_name}")
    with torch.no_grad():
        beta, gamma = model.memory_weights()
        weights = {"W": model.W().numpy().tolist(), "b": model.b().numpy().tolist(), "betas": beta.numpy().tolist(),
                   "gammas": gamma.numpy().tolist()}
    return LearnedAlgorithm(
        kind=MULTISTEP_KIND,
        problem=problem,
        structure={"stages": m.stages, "outer": m.outer, "consistency": m.consistency, "h": "per sample (time step)",
                   "memory": m.memory, "memory_form": m.memory_form, "startup": m.startup, "loss": opts.to_json()},
        weights=weights,
        config=cfg.to_json(),
        seed=cfg.seed,
        training=res.record(),
        timing={"data_s": round(t_data, 3), "train_s": round(res.wall_time, 3)},
    )


def _checked_options(options: dict[str, Any]) -> dict[str, Any]:
    allowed = set(OdeTrainingConfig.__dataclass_fields__)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InputError(f"unknown key ode.{unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return dict(options)


def analyze_run(alg, *, progress: bool = True):
    """Distil and analyse a learned integrator: returns an :class:`analysis.Analysis`."""
    from .analysis import analyze_tableau

    family = family_for(alg.problem)
    if getattr(alg, "is_two_derivative", False):
        return _analyze_two_derivative(alg, family)
    if getattr(alg, "is_multistep", False):
        return _analyze_multistep(alg, family)
    extra = {
        "provenance": alg.provenance(),
        "training": {"loss_history": alg.training.get("loss_history", []), "phases": alg.training.get("phases", []),
                     "final_loss": alg.training.get("final_loss")},
        "structure": alg.structure,
        "problem_class": "ode",
    }
    objective = ((alg.config or {}).get("ode") or {}).get("distill_objective", "nearest")
    return analyze_tableau(alg.tableau(), family=family.spec, learned=True, name=alg.default_name, extra=extra, objective=objective)


def _analyze_two_derivative(alg, family: OdeFamily):
    from .analysis.two_derivative_accuracy import COUNT_COST, DerivativeCost
    from .analysis.two_derivative_assessment import analyze_two_derivative

    extra = {
        "provenance": alg.provenance(),
        "training": {"loss_history": alg.training.get("loss_history", []), "phases": alg.training.get("phases", []),
                     "final_loss": alg.training.get("final_loss")},
        "structure": alg.structure,
        "problem_class": "ode",
    }
    try:
        cost = DerivativeCost.from_json(alg.cost) if alg.cost else COUNT_COST
    except (ValueError, TypeError) as exc:
        raise InputError(f"algorithm.json: cost: {exc}") from None
    return analyze_two_derivative(alg.tableau(), pattern=alg.structure.get("derivatives"), family=family.spec, learned=True, cost=cost,
                                  name=alg.default_name, extra=extra)


def _analyze_multistep(alg, family: OdeFamily):
    from .analysis.multistep_assessment import analyze_multistep

    extra = {
        "provenance": alg.provenance(),
        "training": {"loss_history": alg.training.get("loss_history", []), "phases": alg.training.get("phases", []),
                     "final_loss": alg.training.get("final_loss")},
        "structure": alg.structure,
        "problem_class": "ode",
    }
    st = alg.structure
    return analyze_multistep(alg.multistep_method(), family=family.spec, learned=True, startup=str(st.get("startup", "rk4")),
                             form=str(st.get("memory_form", "full")), name=alg.default_name, extra=extra)
