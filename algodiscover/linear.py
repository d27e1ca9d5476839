"""The linear-systems branch: R2N2 polynomial iterations learned for a family of systems.

On ``A x = rhs`` the R2N2 uses ``f(x) = rhs - A x`` (the residual). One outer iteration with
tableau ``(W, b)`` and scale ``h`` costs n matvecs and maps the residual by the residual
polynomial ``q(lambda) = R(-h lambda)`` (R the stability polynomial of ``(W, b)``)::

    r_{k+1} = q(A) r_k,     q(0) = 1

so the learned solver is a fixed polynomial (Richardson/Chebyshev-like) iteration without
inner products. ``h`` is a learned positive scalar (``h = exp(log_h)``) or fixed.

Objectives (``[linear] objective``), all float64 and full batch:

``"residual"`` (default, the published loss)
    mean over the batch of ``sum_{k=1..K} w_k ||r_k||^2`` with ``w_k = weight_base^k``
    (default 4^k) or explicit ``weights``; K = ``model.outer``; ``||r_0|| = 1``.
``"minimax"``
    log-sum-exp over the batch of the per-system residual reduction factor
    ``rho_i = (||r_M|| / ||r_0||)^(1/M)`` over ``M = minimax_outer`` outer iterations (the
    residual renormalised after each one), at temperature ``temperature``:
    ``log( mean_i rho_i^tau )^(1/tau)``, a smooth stand-in for ``max_i rho_i`` and so for
    ``max |q|`` over the family's spectrum.
``"spectral"``
    the same soft maximum of ``|q(lambda)|`` over ``grid`` points of the family's spectral
    interval (or its known eigenvalues when complex): the R2N2 run on the diagonal test
    problems ``y' = -lambda y``.

analysis.json (:func:`analyze_run`): the DESIGN section 4 keys, with ``"kind": "krylov"``;
``order``/``tol``/``residuals``/``tableau`` view the tableau, normalised to ``sum(b) = 1``
(same polynomial), as an explicit Runge-Kutta method; ``rational``/``exact_order`` the exact
tableau of the (distilled) residual polynomial; ``identified_as`` the Krylov description
(``rk_identified_as`` the Runge-Kutta catalogue's); ``summary`` one honest paragraph with
both convergence factors and the measured GMRES(n) comparison; ``training`` (loss history,
phases) and ``provenance``; ``krylov`` the keys documented in :mod:`analysis.krylov` plus
``family`` (name, size, parameters, spectrum), ``rk_view`` (``scale = sum(b)``, the
normalised ``h``, a note) and ``objective`` (name, final loss).

With ``[model] memory = M`` (start-up rule ``"rk"``, the only one for solvers) the update
also reuses the last M iterates and evaluations (:class:`LinearR2N2`); the residual then obeys
a fixed recurrence ``r_{k+1} = sum_m c_m(A) r_{k-m}`` instead of one polynomial per
iteration, the minimax and spectral objectives unroll it (:mod:`.linear_memory`), the
artefact holds ``betas``/``gammas`` and ``structure.memory``/``memory_form``/``startup``, and
analysis.json adds ``krylov.memory`` (:mod:`analysis.memory_krylov`: the recurrence in closed
form, its companion-matrix factor against the optimal stationary two-step method, the
identification) while the rest of ``krylov`` describes one plain step (W, b, h) and its
``comparison`` measures the iteration with memory (plus the optimal heavy ball);
``identified_as`` is the memory iteration's.

Use: :func:`solver_from_artefact` gives a :class:`PolynomialSolver` (a :class:`MemorySolver`
with memory) with a scipy-style
``solve(A, b, x0=None, *, rtol, atol, maxiter, callback) -> SolveResult`` and
``preconditioner(A)`` (a :class:`scipy.sparse.linalg.LinearOperator` for ``cg``/``gmres``).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import LinearOperator
from torch import nn

from .analysis import ButcherTableau, check_order
from .analysis.iterations import comparison_methods, r2n2_stages
from .analysis.krylov import KrylovAnalysis, analyze_polynomial_iteration
from .analysis.polynomials import normalise, polynomial_coefficients, q_values
from .analysis.spectrum import Spectrum, lanczos_extremes

from .errors import InputError
from .options import OBJECTIVES, LinearTrainingConfig
from .linear_families import FAMILY_DESCRIPTIONS, LinearFamily, LinearProblems, make_family, rhs_distribution
from .model import R2N2

__all__ = [
    "LinearTrainingConfig",
    "LinearR2N2",
    "build_model",
    "SolveResult",
    "PolynomialSolver",
    "MemorySolver",
    "PolynomialPreconditioner",
    "PreconditionerWarning",
    "solver_from_artefact",
    "family_for",
    "make_loss",
    "resolve_objective",
    "residual_loss",
    "minimax_loss",
    "spectral_loss",
    "list_families",
    "train_run",
    "analyze_run",
    "OBJECTIVES",
]

Tensor = torch.Tensor


# ----------------------------------------------------------------------------- configuration
def family_for(name: str, opts: LinearTrainingConfig) -> LinearFamily:
    """The family ``name`` built from the options' family parameters, with the stated
    right-hand-side distribution and initial guess (``linear.rhs``, ``linear.x0``)."""
    if name not in FAMILY_DESCRIPTIONS:
        raise InputError(f"unknown linear family {name!r}; known: {', '.join(FAMILY_DESCRIPTIONS)}")
    fam = make_family(name, **opts.family_kwargs(name))
    rhs = rhs_distribution(opts.rhs, fam.size, mean=opts.rhs_mean, halfwidth=opts.rhs_halfwidth, path=opts.rhs_path,
                           heldout=opts.heldout_count(fam.size, fam.matrix is not None))
    return fam.with_distribution(rhs, opts.x0)


def list_families() -> list[tuple[str, str]]:
    return list(FAMILY_DESCRIPTIONS.items())


# ----------------------------------------------------------------------------- model
class LinearR2N2(R2N2):
    """R2N2 with a positive scale ``h = exp(log_h)``, learned (a parameter) or fixed (a
    buffer). The weights ``W``, ``b`` are those of :class:`R2N2`; ``memory=M`` and
    ``memory_form`` (keywords of :class:`R2N2`) add the memory weights ``beta``, ``gamma``:
    the iteration ``x_{k+1} = x_k + h sum_j b_j v_j^(k) + sum_m (beta_m (x_{k-m+1} - x_{k-m})
    + h sum_j gamma_{m,j} v_j^(k-m))``, whose first M iterations are plain R2N2 steps (start-up
    rule ``"rk"``) and whose residual obeys the recurrence of
    :func:`~algodiscover.analysis.memory.memory_recurrence`."""

    def __init__(self, stages: int, outer: int, *, h0: float, learn_h: bool = True, **kwargs: Any) -> None:
        super().__init__(stages, outer, **kwargs)
        if not (math.isfinite(h0) and h0 > 0):
            raise InputError(f"h must be a positive finite number, got {h0!r}")
        log_h = torch.tensor(math.log(h0), dtype=torch.float64)
        self.learn_h = learn_h
        if learn_h:
            self.log_h = nn.Parameter(log_h)
        else:
            self.register_buffer("log_h", log_h)

    def h(self) -> Tensor:
        return torch.exp(self.log_h)

    def iterate(self, f: Callable[[Tensor], Tensor], x0: Tensor, outer: int | None = None, return_all: bool = False):
        """``outer`` iterations with the model's own h."""
        return self.forward(f, x0, self.h(), outer=outer, return_all=return_all)

    def polynomial(self) -> np.ndarray:
        """Float coefficients of the current residual polynomial (ascending; without memory
        the residual factor of one outer iteration, with memory that of a start-up step)."""
        with torch.no_grad():
            return polynomial_coefficients(self.tableau(), float(self.h()))

    def memory_lists(self) -> tuple[list[float], list[list[float]]]:
        """``(betas (M), gammas (M x n))`` as plain lists (empty without memory)."""
        with torch.no_grad():
            beta, gamma = self.memory_weights()
            return beta.numpy().tolist(), gamma.numpy().tolist()


def build_model(cfg, opts: LinearTrainingConfig, family: LinearFamily) -> LinearR2N2:
    """The model of a run: h0 from ``linear.h``/``h_init`` or the spectral interval; with
    ``model.memory`` the memory weights of ``model.memory_form``, starting at zero (the
    memoryless iteration), and start-up rule ``"rk"`` (the configuration refuses others)."""
    m = cfg.model
    if m.memory and m.startup != "rk":
        raise InputError(f"model.startup = {m.startup!r} applies to ODEs (classical or exact start-up values); a linear solver "
                         "with memory starts with plain R2N2 steps: set model.startup = \"rk\"")
    lo, hi = family.spectrum.interval
    scale = max(abs(lo), abs(hi))
    if family.spectrum.eigenvalues is not None:
        scale = max(scale, float(np.max(np.abs(family.spectrum.eigenvalues))))
    h0 = 1.0 / scale if scale > 0 else 1.0
    if not opts.learn_h:
        h0 = float(opts.h)
    elif opts.h_init is not None:
        h0 = float(opts.h_init)
    return LinearR2N2(m.stages, m.outer, h0=h0, learn_h=opts.learn_h, consistency=m.consistency, init=m.init,
                      init_scale=m.init_scale, seed=cfg.seed, memory=m.memory, memory_form=m.memory_form)


# ----------------------------------------------------------------------------- losses
def residual_loss(model: LinearR2N2, probs: LinearProblems, weights: Sequence[float]) -> Callable[[], Tensor]:
    """Mean over the batch of ``sum_k w_k ||rhs - A x_k||^2`` from the systems' initial
    guess ``x_0`` (zero by default)."""
    mv = probs.torch_matvec()
    rhs = probs.torch_rhs()
    x0 = probs.torch_x0()
    w = torch.tensor(list(weights), dtype=torch.float64)
    K = len(weights)

    def f(X: Tensor) -> Tensor:
        return rhs - mv(X)

    def loss() -> Tensor:
        xs = model.iterate(f, x0, outer=K, return_all=True)
        total = torch.zeros(rhs.shape[0], dtype=torch.float64)
        for k, x in enumerate(xs):
            total = total + w[k] * (f(x) ** 2).sum(dim=1)
        return total.mean()

    return loss


def _soft_max_log(logs: Tensor, tau: float) -> Tensor:
    """``log( mean exp(tau * logs) ) / tau``: a smooth maximum of ``logs``."""
    return (torch.logsumexp(tau * logs, dim=0) - math.log(logs.shape[0])) / tau


def unit_residual_problem(probs: LinearProblems) -> tuple[Callable[[Tensor], Tensor], Tensor]:
    """``(g, r0)`` of the minimax objectives: ``g(Y) = -A Y`` (the residual map's linear
    part) and the training systems' initial residuals normalised to unit length."""
    mv = probs.torch_matvec()
    r0 = probs.torch_rhs() - mv(probs.torch_x0())
    r0 = r0 / torch.linalg.vector_norm(r0, dim=1, keepdim=True)

    def g(Y: Tensor) -> Tensor:
        return -mv(Y)

    return g, r0


def minimax_loss(model: LinearR2N2, probs: LinearProblems, outer: int, temperature: float) -> Callable[[], Tensor]:
    """Soft maximum over the batch of ``log rho_i``, ``rho_i`` the mean residual reduction
    per outer iteration over ``outer`` iterations (residual recurrence ``r <- q(A) r``,
    renormalised after every iteration so nothing under- or overflows)."""
    g, r0 = unit_residual_problem(probs)

    def loss() -> Tensor:
        y = r0
        h = model.h()
        logs = torch.zeros(r0.shape[0], dtype=torch.float64)
        for _ in range(outer):
            y = model.step(g, y, h)
            nrm = torch.linalg.vector_norm(y, dim=1)
            logs = logs + torch.log(nrm)
            y = y / nrm.unsqueeze(1)
        return _soft_max_log(logs / outer, temperature)

    return loss


#: complex spectra with more eigenvalues than this are subsampled by the spectral objective
SPECTRAL_POINTS_MAX = 16384


def spectral_points(spectrum: Spectrum, grid: int) -> np.ndarray:
    """Points where the spectral objective looks at ``|q|``: a grid of the interval for a
    real spectrum, the known eigenvalues for a complex one (above ``SPECTRAL_POINTS_MAX``
    of them: that many, evenly by index in the order of real then imaginary part, with the
    extremes of both parts kept; the analysis measures ``max |q|`` on all of them)."""
    if spectrum.real:
        return np.linspace(spectrum.interval[0], spectrum.interval[1], grid)
    ev = np.asarray(spectrum.eigenvalues)
    if ev.size <= SPECTRAL_POINTS_MAX:
        return ev
    order = np.lexsort((ev.imag, ev.real))
    keep = order[np.unique(np.round(np.linspace(0, ev.size - 1, SPECTRAL_POINTS_MAX)).astype(int))]
    ends = [int(np.argmin(ev.real)), int(np.argmax(ev.real)), int(np.argmin(ev.imag)), int(np.argmax(ev.imag))]
    return ev[np.unique(np.concatenate([keep, ends]))]


def spectral_loss(model: LinearR2N2, spectrum: Spectrum, grid: int, temperature: float) -> Callable[[], Tensor]:
    """Soft maximum of ``log |q(lambda)|`` over :func:`spectral_points`, with q computed by
    one R2N2 outer iteration on the scalar problems ``y' = -lambda y`` from ``y = 1``."""
    pts = spectral_points(spectrum, grid)
    lam = torch.from_numpy(np.array(pts)).reshape(-1, 1)  # a writable copy (spectra may be read-only views)
    y0 = torch.ones_like(lam)

    def g(Y: Tensor) -> Tensor:
        return -lam * Y

    def loss() -> Tensor:
        q = model.step(g, y0, model.h()).reshape(-1)
        return _soft_max_log(torch.log(torch.abs(q) + 1e-300), temperature)

    return loss


def resolve_objective(opts: LinearTrainingConfig, family: LinearFamily) -> tuple[str, str]:
    """The objective a run trains with and why: ``linear.objective`` as given, or for
    ``"auto"`` the spectral objective where the training systems share one matrix and the
    right-hand sides are unit vectors (the systems differ only in how their eigencomponents
    are weighted; what they share is the spectrum, and a step costs nothing that grows with
    m), the residual objective otherwise."""
    if opts.objective != "auto":
        return opts.objective, f"linear.objective = \"{opts.objective}\" (given)"
    if family.matrix is not None and family.rhs.kind == "unit":
        return "spectral", ("auto: spectral, because the training systems share one matrix and their right-hand sides are "
                            "random unit vectors (training time independent of m); set linear.objective = \"residual\" for "
                            "the published residual loss")
    why = "one matrix per system" if family.matrix is None else f"right-hand sides from a stated distribution ({family.rhs.kind})"
    return "residual", f"auto: residual, because the training systems have {why}"


#: shared symmetric matrices from this order on train the residual and minimax objectives from
#: Chebyshev moments (:mod:`algodiscover.linear_scale`) instead of the direct recurrence
MOMENT_MIN_SIZE = 1024


def _use_moments(family: LinearFamily, probs: LinearProblems | None) -> bool:
    return (probs is not None and probs.shared is not None and family.symmetric and family.spectrum.real
            and probs.size >= MOMENT_MIN_SIZE)


def make_loss(model: LinearR2N2, opts: LinearTrainingConfig, family: LinearFamily, probs: LinearProblems | None, outer: int,
              objective: str | None = None) -> Callable[[], Tensor]:
    """The training loss of ``objective`` (default: ``opts.objective`` resolved by
    :func:`resolve_objective`) as a closure over the data. On one shared symmetric matrix of
    order >= ``MOMENT_MIN_SIZE`` the residual and minimax objectives are evaluated exactly
    from Chebyshev moments of the training right-hand sides, computed once
    (:mod:`algodiscover.linear_scale`); every step then costs the same whatever m."""
    from .linear_scale import chebyshev_moments, moment_minimax_loss, moment_residual_loss

    name = objective or resolve_objective(opts, family)[0]
    if getattr(model, "memory_depth", 0) and name != "residual":
        # with memory the minimax and spectral objectives unroll the memory iteration
        from dataclasses import replace

        from .linear_memory import memory_loss

        return memory_loss(model, replace(opts, objective=name), family, probs, outer)
    moments = _use_moments(family, probs) and not getattr(model, "memory_depth", 0)  # moments describe memoryless polynomials
    if name == "residual":
        if opts.weights is not None:
            if len(opts.weights) != outer:
                raise InputError(f"linear.weights has {len(opts.weights)} entries but model.outer is {outer}")
            weights = list(opts.weights)
        else:
            weights = [opts.weight_base ** (k + 1) for k in range(outer)]
        if moments:
            R = np.array([r for _, r in probs.residual_systems()])
            mom = chebyshev_moments(probs.shared, R, family.spectrum.interval, model.stages * len(weights))
            return moment_residual_loss(model, mom, weights)
        return residual_loss(model, probs, weights)
    if name == "minimax":
        if moments:
            R = np.array([r for _, r in probs.residual_systems()])
            mom = chebyshev_moments(probs.shared, R, family.spectrum.interval, model.stages * opts.minimax_outer)
            return moment_minimax_loss(model, mom, opts.minimax_outer, opts.temperature, _soft_max_log)
        return minimax_loss(model, probs, opts.minimax_outer, opts.temperature)
    return spectral_loss(model, family.spectrum, opts.grid, opts.temperature)


# ----------------------------------------------------------------------------- branch API
def train_run(cfg, *, progress: bool = True, checkpoint: Path | None = None, resume: bool = False):
    """Train an R2N2 polynomial iteration for ``cfg`` (a :class:`RunConfig` of class
    ``linear``) and return the :class:`LearnedAlgorithm` (kind ``"krylov"``)."""
    from .artefact import LearnedAlgorithm
    from .training import train

    if cfg.custom_family:
        raise InputError("the linear branch has no custom [family] tables; use family = \"matrix\" with linear.path")
    opts = LinearTrainingConfig.from_options(dict(cfg.options))
    if opts.path is not None:
        # record the matrix file absolutely so 'analyze' works from any directory
        opts = replace(opts, path=str(Path(opts.path).expanduser().resolve()))
    family = family_for(cfg.family, opts)
    objective, chosen = resolve_objective(opts, family)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    probs = family.sample(opts.samples, cfg.seed) if objective != "spectral" else None
    model = build_model(cfg, opts, family)
    loss = make_loss(model, opts, family, probs, cfg.model.outer, objective)
    t_data = time.perf_counter() - t0
    res = train(model, loss, cfg.train, progress=progress, checkpoint=checkpoint, resume=resume, desc=cfg.run_name)
    with torch.no_grad():
        W = model.W().numpy().tolist()
        b = model.b().numpy().tolist()
        h = float(model.h())
    weights: dict[str, Any] = {"W": W, "b": b, "h": h}
    if cfg.model.memory:
        weights["betas"], weights["gammas"] = model.memory_lists()
    problem = {"class": "linear", "family": cfg.family, "description": family.description, "parameters": family.parameters,
               "size": family.size, "symmetric": family.symmetric, "positive_definite": family.positive_definite,
               "spectrum": family.spectrum.to_json(), "rhs": family.rhs.to_json(),
               "x0": "zero" if family.x0 is None else [float(v) for v in family.x0]}
    structure = {"stages": cfg.model.stages, "outer": cfg.model.outer, "consistency": cfg.model.consistency,
                 "h": "learned" if opts.learn_h else "fixed", "objective": objective, "objective_choice": chosen,
                 "matvecs_per_outer": cfg.model.stages,
                 "options": opts.to_json()}
    if objective == "minimax":
        structure["minimax_outer"] = opts.minimax_outer
    if cfg.model.memory:
        structure.update({"memory": cfg.model.memory, "memory_form": cfg.model.memory_form, "startup": cfg.model.startup})
    return LearnedAlgorithm(
        kind="krylov",
        problem=problem,
        structure=structure,
        weights=weights,
        config=cfg.to_json(),
        seed=cfg.seed,
        training={**res.record(), "objective": objective},
        timing={"data_s": round(t_data, 3), "train_s": round(res.wall_time, 3)},
    )


def _options_of(alg) -> LinearTrainingConfig:
    raw = alg.config.get("linear", {}) if isinstance(alg.config, dict) else {}
    return LinearTrainingConfig.from_options(dict(raw))


def _fmt(v: float | None, digits: int = 4) -> str:
    return "n/a" if v is None else f"{v:.{digits}g}"


def _ci(est: Any) -> str:
    """``0.893 [0.851, 0.93]`` for a :class:`~algodiscover.analysis.statistics.RatioEstimate`."""
    if est.value is None:
        return "n/a"
    if est.ci95 is None:
        return f"{est.value:.3g} (no interval: {est.n} systems)"
    lo, hi = est.ci95
    return f"{est.value:.3g} [{lo:.3g}, {hi:.3g}]"


_VERDICT = {"fewer": "the learned iteration needs fewer", "more": "the learned iteration needs more",
            "no significant difference": "no significant difference"}


def _memory_sentences(mem: Any, kry: KrylovAnalysis, n: int, where: str, objective: str | None = None) -> list[str]:
    """The factor sentences of an iteration with memory: its recurrence, its asymptotic
    factor against the optimal stationary two-step method and the memoryless Chebyshev one."""
    M = mem.recurrence.memory
    f = mem.factor
    parts = [f"Learned {n}-stage iteration with memory {M}" + (f" ({mem.identified_as})" if mem.identified_as else "")
             + f", {n} matvec{'s' if n > 1 else ''} per outer iteration and no inner products. Its residual obeys {mem.text()}."]
    parts.append(f"Asymptotic convergence factor on {where} (largest spectral radius of the recurrence's companion matrix): "
                 f"{_fmt(f['per_outer'])} per outer iteration ({_fmt(f['per_matvec'])} per matvec)"
                 + ("; it does not converge on the whole spectrum" if f["per_outer"] >= 1 else "") + ".")
    opt = mem.optimal
    if opt is not None:
        ratio = mem.factor_ratio
        verdict = ("within 1 % of it" if ratio is not None and ratio <= 1.01 else
                   "above it" if ratio is not None and ratio > 1 else "below it on the known eigenvalues")
        parts.append(f"The optimal stationary two-step method on the interval (optimal heavy ball, alpha = {opt['alpha']:.6g}, "
                     f"beta = {opt['beta']:.6g}; Chebyshev semi-iteration's asymptotic factor) achieves (sqrt(kappa) - 1)/(sqrt(kappa) + 1) "
                     f"= {opt['per_matvec']:.4g} per matvec; learned/optimal = {_fmt(ratio)} per matvec ({verdict}).")
        if objective == "residual" and ratio is not None and ratio > 1.02:
            parts.append("(The residual objective weighs the first outer iterations on the training systems; it does not target "
                         "the asymptotic factor, which the spectral objective with a long horizon (model.outer) does.)")
    ch = kry.chebyshev
    if ch is not None and ch.get("per_matvec") is not None:
        parts.append(f"Without memory the best degree-{n} polynomial (Chebyshev) achieves {_fmt(ch['per_matvec'])} per matvec.")
    return parts


def summary_sentence(kry: KrylovAnalysis, n: int, objective: str | None = None, memory: Any = None) -> str:
    """One honest paragraph: both convergence factors (on the interval, and on the known
    eigenvalues when the family has them), the measured comparison with its bootstrap
    intervals and verdicts, and the finite-termination caveat. With ``memory`` (a
    :class:`~algodiscover.analysis.memory_krylov.MemoryIterationAnalysis`) the factors are
    those of the memory recurrence against the optimal stationary two-step method."""
    lo, hi = kry.spectrum.interval
    where = f"[{lo:.4g}, {hi:.4g}]" if kry.spectrum.real else "the family's (complex) eigenvalues"
    if memory is not None:
        parts = _memory_sentences(memory, kry, n, where, objective)
    else:
        parts = [f"Learned {n}-stage polynomial iteration" + (f" ({kry.identified_as})" if kry.identified_as else "") + "."]
        parts += _polynomial_sentences(kry, n, objective, where)
    parts += _comparison_sentences(kry, n)
    return " ".join(parts)


def _polynomial_sentences(kry: KrylovAnalysis, n: int, objective: str | None, where: str) -> list[str]:
    lo, hi = kry.spectrum.interval
    f = kry.factor
    parts: list[str] = []
    parts.append(f"Convergence factor max|q| on {where}: {_fmt(f['per_outer'])} per outer iteration "
                 f"({_fmt(f['per_matvec'])} per matvec)" + ("; it does not converge on the whole spectrum" if f["per_outer"] >= 1 else "") + ".")
    ch = kry.chebyshev
    fr = kry.factor_ratio
    if ch is not None and ch["per_outer"] is not None:
        ratio = fr["per_outer"]
        parts.append(f"The degree-{n} Chebyshev polynomial on [{lo:.4g}, {hi:.4g}] achieves {_fmt(ch['per_outer'])} "
                     f"({_fmt(ch['per_matvec'])} per matvec); learned/Chebyshev = {_fmt(ratio)} per outer iteration on the interval.")
        if fr.get("on_eigenvalues") is not None and kry.spectrum.eigenvalues is not None:
            on = fr["on_eigenvalues"]
            cnt = int(kry.spectrum.eigenvalues.size)
            verdict = ("the learned polynomial is smaller there" if on < 1 else "Chebyshev is smaller there" if on > 1 else "they are equal there")
            parts.append(f"The family's {cnt} eigenvalues are fixed and known: on them max|q| is {_fmt(f['on_eigenvalues'])} learned and "
                         f"{_fmt(ch['on_eigenvalues'])} Chebyshev, learned/Chebyshev = {_fmt(on)} ({verdict}; the interval "
                         "comparison is the one for unknown spectra inside the hull).")
        if objective == "residual" and ratio is not None and ratio > 1.02:
            parts.append("(The residual objective averages over the training systems and a few outer iterations; "
                         "it is not a minimax, so its optimum sits above the Chebyshev factor on the interval; "
                         "the minimax or spectral objective targets max|q|.)")
    return parts


def _comparison_sentences(kry: KrylovAnalysis, n: int) -> list[str]:
    parts: list[str] = []
    comp = kry.comparison
    if comp is not None:
        med = {m: comp.median(m) for m in comp.histories}
        inst = len(comp.histories["learned"])
        learned = med["learned"]
        s = f"On {inst} held-out systems (relative residual {comp.tol:.0e}, budget {comp.budget} matvecs) the median matvec count is "
        s += f"learned {_fmt(learned) if learned is not None else 'not reached'}"
        for m, v in med.items():
            if m == "learned":
                continue
            s += f", {m} {_fmt(v) if v is not None else 'not reached'}"
        s += (f" (gmres({n}) as SciPy spends them, counted by wrapping the matvec: {n} + 1 per cycle"
              + (f"; gmres({n})-idealised counts {n} per cycle and is not what any code spends)." if f"gmres({n})-idealised" in comp.histories
                 else ")."))
        est = comp.ratio_estimates()
        shown = [(m, e) for m, e in est.items() if e.value is not None]
        if shown:
            s += (f" Baseline / learned median matvecs with 95% bootstrap intervals over the {inst} systems: "
                  + "; ".join(f"{m} {_ci(e)}" + (f" ({_VERDICT[e.verdict]})" if e.verdict else "") for m, e in shown) + ".")
        gm = f"gmres({n})"
        e = est.get(gm)
        if learned is not None and e is not None and e.value is not None:
            s += (f" GMRES({n}) needs {e.value:.3g}x the learned matvecs"
                  + (f" (95% CI [{e.ci95[0]:.3g}, {e.ci95[1]:.3g}]: " + {"fewer": "the learned iteration needs fewer",
                                                                       "more": "GMRES needs fewer",
                                                                       "no significant difference": "no significant difference"}[e.verdict] + ")"
                     if e.ci95 is not None and e.verdict else "")
                  + ", but GMRES also spends inner products and storage the learned iteration does not.")
        elif learned is None:
            s += " The learned iteration did not reach the tolerance within the budget on most held-out systems."
        best = min(((v, m) for m, v in med.items() if v is not None and not m.endswith("-idealised")), default=None)
        if best is not None:
            s += f" Fewest matvecs: {best[1]} (median {_fmt(best[0])})."
        ft = comp.finite_termination()
        if ft is not None and ft["note"]:
            s += " " + ft["note"]
        parts.append(s)
    return parts


def analyze_run(alg, *, progress: bool = True) -> dict[str, Any]:
    """Distil and analyse a learned polynomial iteration; returns the analysis.json content
    (DESIGN section 4 keys, the tableau viewed as a Runge-Kutta method, and ``"krylov"``)."""
    from tqdm.auto import tqdm

    from .analysis import analyze_tableau

    opts = _options_of(alg)
    family = family_for(str(alg.problem.get("family")), opts)
    h = alg.weights.get("h")
    if h is None:
        raise InputError("algorithm.json: a krylov algorithm needs weights.h")
    tab = alg.tableau()
    held = family.heldout(opts.heldout_count(family.size, family.matrix is not None), alg.seed)
    n = alg.stages
    spd = family.symmetric and family.positive_definite
    betas, gammas = list(alg.weights.get("betas") or []), [list(g) for g in alg.weights.get("gammas") or []]
    methods, _ = comparison_methods(n, family.spectrum, spd, len(betas))
    bar = tqdm(total=held.count * len(methods), desc="comparing", disable=not progress, leave=False)
    start = "x0 = 0" if family.x0 is None else "the stated initial guess x0 (every method solves A y = rhs - A x0 from y = 0)"
    kry = analyze_polynomial_iteration(
        tab, float(h), family.spectrum, systems=held.residual_systems(), symmetric=spd,
        tol=opts.tol, budget=opts.max_matvecs, name=alg.default_name, progress=lambda _m: bar.update(1),
        seed=alg.seed, start=start, betas=betas, gammas=gammas,
    )
    bar.close()
    mem = None
    if betas:
        from .analysis.memory_krylov import analyze_memory_iteration

        mem = analyze_memory_iteration(tab.A.tolist(), tab.b.tolist(), float(h), betas, gammas, family.spectrum,
                                       form=str(alg.structure.get("memory_form", "full")), startup=str(alg.structure.get("startup", "rk")),
                                       name=alg.default_name)
    norm_tab, h_norm = normalise(tab, float(h))
    rk = analyze_tableau(norm_tab, targets=[], name=alg.default_name).to_json()
    out = dict(rk)
    out["kind"] = "krylov"
    out["rk_identified_as"] = rk.get("identified_as")
    out["identified_as"] = kry.identified_as if mem is None else mem.identified_as
    # prefer the Krylov side's exact tableau: it is built to reproduce the (distilled)
    # residual polynomial; otherwise analyze_tableau's rationalisation of the normalised weights
    if kry.exact_tableau is not None:
        ex = kry.exact_tableau.with_name(alg.default_name + "-exact")
        rep = check_order(ex)
        out["rational"] = ex.to_dict()
        out["exact_order"] = rep.order
        out["exact_residuals"] = rep.residuals_json()
    kj = kry.to_json()
    kj["family"] = family.to_json()
    kj["rk_view"] = {"scale": float(np.sum(tab.b)), "h": float(h_norm),
                     "note": ("the top-level tableau, order, residuals, rational and exact_order describe the tableau "
                              "normalised to sum(b) = 1 (W and b divided by sum(b), h multiplied by it): the same "
                              "residual polynomial, viewed as an explicit Runge-Kutta method with step h")}
    chosen = alg.structure.get("objective_choice")
    kj["objective"] = {"name": alg.structure.get("objective", "residual"), "final_loss": alg.training.get("final_loss"),
                       "chosen": chosen}
    if mem is not None:
        kj["memory"] = mem.to_json()
    out["krylov"] = kj
    out["summary"] = summary_sentence(kry, n, alg.structure.get("objective"), memory=mem)
    if isinstance(chosen, str) and chosen.startswith("auto"):
        out["summary"] += f" Training objective: {chosen}."
    comp_json = kj.get("comparison")
    if isinstance(comp_json, dict) and comp_json.get("blocked"):
        out["summary"] += (f" The held-out comparison ran the {comp_json['instances']} systems as one block in "
                           f"{comp_json['wall_s']:.3g} s in all (early stops: "
                           + (", ".join(f"{m} {v}" for m, v in comp_json["stopped_early"].items() if v) or "none") + ").")
    out["training"] = {"loss_history": alg.training.get("loss_history", []), "phases": alg.training.get("phases", []),
                       "final_loss": alg.training.get("final_loss"), "objective": alg.training.get("objective")}
    out["provenance"] = alg.provenance()
    out["structure"] = alg.structure
    out["problem_class"] = "linear"
    return out


# ----------------------------------------------------------------------------- use
@dataclass(frozen=True)
class SolveResult:
    """Outcome of an iterative solve (scipy-style).

    ``status``: 0 converged; ``> 0`` the iteration limit was reached (the number of
    iterations); ``< 0`` breakdown (the residual became non-finite or grew by 1e10).
    ``residual_history`` holds ``||b - A x_k||`` for ``k = 0..nit``. ``rejected_steps``
    counts the steps a safeguard turned down (nonlinear solves; 0 for linear ones).
    """

    x: np.ndarray
    success: bool
    status: int
    nit: int
    nmatvec: int
    residual_history: tuple[float, ...] = field(default_factory=tuple)
    message: str = ""
    rejected_steps: int = 0


class PreconditionerWarning(UserWarning):
    """The polynomial preconditioner is not positive definite on the given spectrum."""


def _operator(A: Any, name: str = "A") -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    if isinstance(A, LinearOperator):
        shape = A.shape
        mv = A.matvec
    elif sps.issparse(A):
        shape = A.shape
        mv = lambda v: A @ v  # noqa: E731
    else:
        M = np.asarray(A)
        if M.dtype == object or not np.issubdtype(M.dtype, np.number):
            raise InputError(f"{name} must be a numeric matrix, a scipy sparse matrix or a LinearOperator")
        if M.ndim != 2:
            raise InputError(f"{name} must be 2-D, got shape {M.shape}")
        if not np.all(np.isfinite(M)):
            raise InputError(f"{name} has a non-finite entry (NaN or inf)")
        shape = M.shape
        mv = lambda v: M @ v  # noqa: E731
    if len(shape) != 2 or shape[0] != shape[1]:
        raise InputError(f"{name} must be square, got shape {tuple(shape)}")
    return mv, int(shape[0])


class PolynomialSolver:
    """The learned polynomial iteration as a solver: ``(W, b, h)`` on ``f(x) = b - A x``.

    Build it with :func:`solver_from_artefact` or directly from the weights. ``interval``
    is the spectral interval the iteration was made for (used by :meth:`preconditioner`).
    ``betas`` (M) and ``gammas`` (M x n) give it memory (:class:`MemorySolver`, which is what
    :func:`solver_from_artefact` returns for an artefact with memory).
    """

    def __init__(self, W: Any, b: Any, h: float, *, name: str = "learned polynomial iteration",
                 interval: tuple[float, float] | None = None) -> None:
        tab = ButcherTableau(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64), name=name)
        if not tab.is_explicit:
            raise InputError(f"{name}: W must be strictly lower triangular")
        if not (isinstance(h, (int, float)) and math.isfinite(h) and h > 0):
            raise InputError(f"{name}: h must be a positive finite number, got {h!r}")
        self.tableau = tab
        self.W, self.b, self.h = np.array(tab.A), np.array(tab.b), float(h)
        self.stages = tab.stages
        self.name = name
        self.interval = None if interval is None else (float(interval[0]), float(interval[1]))

    @property
    def memory(self) -> int:
        """Earlier outer iterations the update reuses (0: a fixed polynomial per iteration)."""
        return 0

    def _structure(self) -> str:
        W = [[float(v) for v in row[:i]] for i, row in enumerate(self.W) if i]
        return (f"stages={self.stages}, matvecs_per_outer={self.stages}, h={self.h:.6g}, b={[float(f'{v:.6g}') for v in self.b]}"
                + (f", W_lower={[[float(f'{v:.6g}') for v in r] for r in W]}" if W else ""))

    def __repr__(self) -> str:
        iv = "" if self.interval is None else f", interval=[{self.interval[0]:g}, {self.interval[1]:g}]"
        return f"{type(self).__name__}({self.name!r}: {self._structure()}{iv})"

    def residual_polynomial(self, lam: Any) -> np.ndarray:
        """``q(lambda)`` (the residual factor of one outer iteration)."""
        return q_values(self.W, self.b, self.h, np.asarray(lam))

    def residual_after(self, lam: Any, outer: int) -> np.ndarray:
        """The residual factor of ``outer`` outer iterations from ``x = 0`` on each eigenvalue:
        ``q(lambda)^outer``."""
        return self.residual_polynomial(lam) ** outer

    def _stepper(self, mv: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``(x_k, r_k) -> x_{k+1}`` for one solve (a fresh history for an iteration with memory)."""
        return lambda x, r: self._outer(mv, x, r)

    def _outer(self, mv: Callable[[np.ndarray], np.ndarray], x: np.ndarray, r: np.ndarray) -> np.ndarray:
        """One outer iteration from ``x`` with residual ``r``; returns the new x (n - 1 matvecs)."""
        b, h = self.b, self.h
        vs = r2n2_stages(mv, r, self.W, h, self.stages)
        upd = np.zeros_like(x)
        for j in range(self.stages):
            if b[j] != 0.0:
                upd = upd + b[j] * vs[j]
        return x + h * upd

    def solve(self, A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-10, atol: float = 0.0, maxiter: int | None = None,
              callback: Callable[[np.ndarray], Any] | None = None) -> SolveResult:
        """Iterate until ``||b - A x|| <= max(rtol ||b||, atol)``.

        ``b`` is one right-hand side, shape ``(m,)`` or ``(m, 1)``, real or complex (the
        recurrence has real coefficients, so a complex ``b`` is solved as its real and
        imaginary parts at once); for several right-hand sides call ``solve`` per column.
        ``maxiter`` counts outer iterations (n matvecs each; default ``10 * len(b)``);
        ``callback(xk)`` is called after every outer iteration.
        """
        mv, m = _operator(A)
        rhs = _vector(b, "b", m)
        if x0 is None:
            x = np.zeros(m, dtype=rhs.dtype)
            r = rhs.copy()
            nmv = 0
        else:
            x = _vector(x0, "x0", m)
            dtype = np.result_type(rhs, x)
            x, rhs = x.astype(dtype, copy=True), rhs.astype(dtype, copy=False)
            r = rhs - mv(x)
            nmv = 1
        for key, v in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"{key} must be a finite number >= 0, got {v!r}")
        limit = 10 * m if maxiter is None else maxiter
        if not isinstance(limit, int) or limit < 0:
            raise InputError(f"maxiter must be an integer >= 0, got {maxiter!r}")
        target = max(rtol * float(np.linalg.norm(rhs)), atol)
        r0 = float(np.linalg.norm(r))
        hist = [r0]
        if r0 <= target:
            return SolveResult(x, True, 0, 0, nmv, tuple(hist), "converged")
        step = self._stepper(mv)
        for k in range(1, limit + 1):
            x = step(x, r)
            r = rhs - mv(x)
            nmv += self.stages
            rn = float(np.linalg.norm(r))
            hist.append(rn)
            if callback is not None:
                callback(x)
            if not math.isfinite(rn) or rn > 1e10 * max(r0, 1e-300):
                return SolveResult(x, False, -1, k, nmv, tuple(hist), "breakdown: the residual diverged (the spectrum is outside the region where |q| < 1)")
            if rn <= target:
                return SolveResult(x, True, 0, k, nmv, tuple(hist), "converged")
        return SolveResult(x, False, limit, limit, nmv, tuple(hist), f"reached maxiter = {limit} without converging")

    def preconditioner(self, A: Any, *, outer: int = 1, interval: tuple[float, float] | None = None,
                       symmetric: bool | None = None) -> "PolynomialPreconditioner":
        """``M ~ A^-1`` as the polynomial ``p(A)`` with ``1 - lambda p(lambda) = q(lambda)^outer``
        (``outer`` learned iterations on ``A z = y`` from ``z = 0``); see
        :class:`PolynomialPreconditioner`."""
        return PolynomialPreconditioner(self, A, outer=outer, interval=interval or self.interval, symmetric=symmetric)


class MemorySolver(PolynomialSolver):
    """The learned iteration with memory as a solver: ``(W, b, h)`` and the memory weights
    ``betas`` (M), ``gammas`` (M x n) on ``f(x) = b - A x``::

        x_{k+1} = x_k + h sum_j b_j v_j^(k) + sum_m (beta_m (x_{k-m+1} - x_{k-m}) + h sum_j gamma_{m,j} v_j^(k-m))

    the first M iterations plain R2N2 steps (start-up rule ``"rk"``); n matvecs per outer
    iteration (past evaluations are reused), no inner products. :meth:`solve` and
    :meth:`preconditioner` work as for :class:`PolynomialSolver`: ``s`` iterations from
    ``z = 0`` are still a fixed polynomial in A, ``1 - lambda p(lambda)`` the residual factor
    :meth:`residual_after` of those ``s`` iterations."""

    def __init__(self, W: Any, b: Any, h: float, betas: Any, gammas: Any, *, name: str = "learned iteration with memory",
                 interval: tuple[float, float] | None = None, form: str = "full") -> None:
        super().__init__(W, b, h, name=name, interval=interval)
        be = np.asarray(betas, dtype=np.float64).reshape(-1)
        ga = np.asarray(gammas, dtype=np.float64)
        if be.size < 1 or ga.shape != (be.size, self.stages) or not (np.all(np.isfinite(be)) and np.all(np.isfinite(ga))):
            raise InputError(f"{name}: memory needs M >= 1 finite betas and an M x {self.stages} table of finite gammas, "
                             f"got {be.size} betas and gammas of shape {ga.shape}")
        self.betas, self.gammas, self.form = be, ga, form

    @property
    def memory(self) -> int:
        return int(self.betas.size)

    def _structure(self) -> str:
        return (super()._structure() + f", memory={self.memory}, form={self.form}, startup=rk, "
                f"betas={[float(f'{v:.6g}') for v in self.betas]}, gammas={[[float(f'{v:.6g}') for v in g] for g in self.gammas]}")

    def _stepper(self, mv: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        from .analysis.iterations import MemoryStepper

        st = MemoryStepper(self.W, self.b, self.h, self.betas, self.gammas)
        return lambda x, r: st.step(mv, x, r)

    def residual_after(self, lam: Any, outer: int) -> np.ndarray:
        """The residual factor of ``outer`` iterations from ``x = 0`` (with the start-up steps)
        on each eigenvalue, from the scalar iteration on ``lambda y = 1``."""
        lam = np.asarray(lam, dtype=np.float64).reshape(-1)
        step = self._stepper(lambda v: lam * v)
        x = np.zeros_like(lam)
        r = np.ones_like(lam)
        for _ in range(outer):
            x = step(x, r)
            r = 1.0 - lam * x
        return r

    def _apply(self, mv: Callable[[np.ndarray], np.ndarray], y: np.ndarray, outer: int) -> np.ndarray:
        step = self._stepper(mv)
        z = np.zeros_like(y)
        r = y.copy()
        for s in range(outer):
            z = step(z, r)
            if s + 1 < outer:
                r = y - mv(z)
        return z


class PolynomialPreconditioner(LinearOperator):
    """``M y = p(A) y`` with ``1 - lambda p(lambda) = q(lambda)^s``: ``s`` outer iterations of
    the learned recurrence on ``A z = y`` from ``z = 0`` (``n s`` matvecs per application).

    Symmetric-safe: M is a fixed polynomial in A (no inner products, nothing depends on y),
    so it is a linear operator, symmetric whenever A is. It is positive definite on a
    spectrum exactly where ``p > 0``, i.e. ``q(lambda)^s < 1`` for ``lambda > 0``; this is
    checked on ``interval`` (``spd`` is True/False, or None when no interval is known), and a
    :class:`PreconditionerWarning` says when it fails for a symmetric A (then use it with
    gmres, not cg). For a symmetric A the check uses A's own spectrum, estimated by 40 Lanczos
    steps (:func:`~algodiscover.analysis.lanczos_extremes`, enlarged by its error bound)
    rather than the training interval, so a matrix whose spectrum is wider than the one the
    iteration was learned for is caught. ``symmetric`` is detected for matrices; pass
    ``symmetric=True`` for a symmetric ``LinearOperator``.
    """

    def __init__(self, solver: PolynomialSolver, A: Any, *, outer: int = 1, interval: tuple[float, float] | None = None,
                 symmetric: bool | None = None) -> None:
        mv, m = _operator(A)
        if not isinstance(outer, int) or outer < 1:
            raise InputError(f"outer must be an integer >= 1, got {outer!r}")
        super().__init__(dtype=np.float64, shape=(m, m))
        self.solver, self._mv, self.outer = solver, mv, outer
        self.applications = 0
        if symmetric is None:
            symmetric = _is_symmetric(A)
        self.symmetric = bool(symmetric)
        self.interval = interval
        self.spd: bool | None = None
        self.p_range: tuple[float, float] | None = None
        #: A's extreme eigenvalues estimated by a few Lanczos steps (symmetric A), enlarged by
        #: the Lanczos error bound; None when A is not known to be symmetric.
        self.estimated_interval: tuple[float, float] | None = None
        check = interval
        if self.symmetric:
            lo_e, hi_e, err = lanczos_extremes(mv, m, steps=min(m, 40))
            self.estimated_interval = (lo_e - err, hi_e + err)
            check = self.estimated_interval
        if check is not None:
            lo, hi = float(check[0]), float(check[1])
            lam = np.linspace(lo, hi, 4001)
            q = solver.residual_after(lam, outer)
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(lam != 0, (1.0 - q) / lam, np.inf)
            self.p_range = (float(np.min(p)), float(np.max(p)))
            self.spd = bool(self.symmetric and lo > 0 and np.all(q < 1.0))
            if self.symmetric and not self.spd:
                trained = "" if interval is None else f" (the iteration was trained for [{interval[0]:.4g}, {interval[1]:.4g}])"
                where = "A's estimated spectrum" if self.estimated_interval is not None else "the interval"
                warnings.warn(
                    f"{solver.name}: the polynomial preconditioner is not positive definite on {where} [{lo:.4g}, {hi:.4g}]"
                    f"{trained}: q^{outer} reaches {float(np.max(np.abs(q))):.4g} >= 1 there, or the spectrum is not positive; "
                    "cg with it may stall or diverge: use gmres, or learn the iteration on this spectrum",
                    PreconditionerWarning, stacklevel=3)

    def _matvec(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if isinstance(self.solver, MemorySolver):
            z = self.solver._apply(self._mv, y, self.outer)
        else:
            z = np.zeros_like(y)
            r = y.copy()
            for s in range(self.outer):
                z = self.solver._outer(self._mv, z, r)
                if s + 1 < self.outer:
                    r = y - self._mv(z)
        self.applications += 1
        return z

    def _rmatvec(self, y: np.ndarray) -> np.ndarray:
        if not self.symmetric:
            raise NotImplementedError("the transpose of p(A) needs A^T; only symmetric A is supported")
        return self._matvec(y)


def _vector(v: Any, name: str, m: int) -> np.ndarray:
    """One right-hand side or starting vector: ``(m,)`` or ``(m, 1)``, real or complex, finite."""
    a = np.asarray(v)
    if a.dtype == object or not np.issubdtype(a.dtype, np.number):
        raise InputError(f"{name} must be a numeric vector, got dtype {a.dtype}")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise InputError(f"{name} must be one vector of length {m}, got shape {a.shape} (solve one right-hand side at a time)")
    if a.size != m:
        raise InputError(f"{name} has {a.size} entries but A is {m} x {m}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} has a non-finite entry (NaN or inf)")
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)


def _is_symmetric(A: Any) -> bool:
    if isinstance(A, LinearOperator):
        return False
    if sps.issparse(A):
        d = abs(A - A.T)
        return d.nnz == 0 or float(d.max()) <= 1e-14 * float(abs(A).max())
    M = np.asarray(A)
    return bool(np.allclose(M, M.T, rtol=0, atol=1e-14 * max(1.0, float(np.max(np.abs(M))))))


def solver_from_artefact(alg: Any) -> PolynomialSolver:
    """A :class:`PolynomialSolver` (a :class:`MemorySolver` for an artefact with memory) from
    a :class:`LearnedAlgorithm` (or the path of its algorithm.json); ``interval`` is the
    training family's spectral interval."""
    from .artefact import LearnedAlgorithm

    if isinstance(alg, (str, Path)):
        alg = LearnedAlgorithm.load(alg)
    if alg.kind != "krylov":
        raise InputError(f"algorithm of kind {alg.kind!r} is not a linear solver (expected 'krylov')")
    h = alg.weights.get("h")
    if h is None:
        raise InputError("algorithm.json: a krylov algorithm needs weights.h")
    spec = alg.problem.get("spectrum") or {}
    interval = tuple(spec["interval"]) if "interval" in spec else None
    if alg.weights.get("betas"):
        return MemorySolver(alg.W, alg.b, float(h), alg.weights["betas"], alg.weights.get("gammas"), name=alg.default_name,
                            interval=interval, form=str(alg.structure.get("memory_form", "full")))
    return PolynomialSolver(alg.W, alg.b, float(h), name=alg.default_name, interval=interval)
