"""Train many same-shape R2N2 models at once; each gets what training it alone gives.

A structure sweep trains hundreds of tiny models; one at a time, almost all the time goes
to per-operator overhead. Here M models that share a *shape* (:func:`ensemble_key`: class,
family, stages, outer iterations, consistency, class options, optimiser settings) are
trained together; seeds, initialisations and so the training data differ freely.

Batching: the loss of one model (:class:`_OdeLoss`, the formula of
:func:`algodiscover.ode.ode_loss` over an :class:`~algodiscover.model.R2N2`) is evaluated
for all models by ``torch.func.vmap`` over ``functional_call``, weights stacked (M, .), data
(M, B, .). The losses are summed, so each model's gradient is its own. Adam acts on the
stacked weights elementwise; L-BFGS is :func:`algodiscover.lbfgs.lbfgs`, which the lone
trainer :func:`algodiscover.training.train` runs with M = 1, so both run the same
algorithm, branch for branch. The bookkeeping of ``train`` is kept per model: divergence
(the :class:`~algodiscover.errors.TrainingDiverged` a lone run raises, for that model
only), loss history, phase counts, the final check.

Agreement with training alone: the batched loss equals the lone one up to rounding (batched
kernels need not round like unbatched ones on every CPU). Well-conditioned runs (Adam, then
L-BFGS stopping on its convergence tests) agree to :data:`WEIGHT_RTOL` with the same phase
counts and outcome, also when every lone loss evaluation is off by a few ulps
(``tests/test_ensemble.py``). A run whose L-BFGS phase is still crawling down an
ill-conditioned valley when the ``lbfgs_steps`` budget ends amplifies any rounding
difference (about 2x per loss evaluation, measured on the square family): its weights
reproduce only where the kernels round alike, alone as in an ensemble. Each artefact's
content hash covers its own weights and loss history.

Configurations whose class has no batched loss (anything but ``ode`` for now) are trained
one by one through the normal pipeline by :func:`train_many`. Example::

    from algodiscover.config import config_from_mapping
    from algodiscover.ensemble import train_many

    cfgs = [config_from_mapping({"seed": s, "train": {"adam_steps": 100, "lbfgs_steps": 50}})
            for s in range(64)]
    algorithms = train_many(cfgs)      # LearnedAlgorithm, or the exception a lone run raises

May import torch and the learning side (``model``, ``ode``, ``training``, ``lbfgs``).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap
from tqdm.auto import tqdm

from .artefact import LearnedAlgorithm, package_versions
from .config import RunConfig
from .errors import InputError, TrainingDiverged
from .lbfgs import LbfgsSettings, lbfgs
from .model import R2N2, tree_residuals
from .training import TrainConfig, _train_threads, phase_runs

__all__ = ["ensemble_key", "group_by_shape", "train_ensemble", "train_many", "BATCHED_CLASSES", "WEIGHT_RTOL"]

Tensor = torch.Tensor

#: Problem classes with a batched loss; other classes train one configuration at a time.
BATCHED_CLASSES = ("ode",)

#: Stated agreement with training alone: ``max |w_ens - w_alone| <= WEIGHT_RTOL * max |w_alone|``
#: over each model's weights (W and b), for well-conditioned runs (module docstring).
WEIGHT_RTOL = 1e-9


# ----------------------------------------------------------------------------- grouping
def ensemble_key(cfg: RunConfig) -> str | None:
    """A canonical string: configurations with equal keys can be trained together.

    ``None`` when the problem class has no batched loss, for two-derivative models
    (``model.derivatives`` set: they train alone, through :func:`algodiscover.ode.train_run`,
    which also measures the cost of their derivative module) and for models with memory
    (their trajectory loss has no batched form). The key holds everything that
    fixes tensor shapes or the loss and optimiser (class, family, stages, outer iterations,
    consistency, class options, train settings); seed, ``model.init`` and
    ``model.init_scale`` may differ inside a group.
    """
    if cfg.problem_class not in BATCHED_CLASSES or cfg.model.derivatives is not None or cfg.model.memory:
        return None
    key = {
        "class": cfg.problem_class,
        "family": cfg.family,
        "custom": cfg.custom_family,
        "model": {"stages": cfg.model.stages, "outer": cfg.model.outer, "consistency": cfg.model.consistency},
        "train": {k: v for k, v in cfg.train.to_json().items() if k != "checkpoint_every"},
        "options": cfg.options,
    }
    return json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)


def group_by_shape(cfgs: Sequence[RunConfig]) -> list[list[int]]:
    """Indices of ``cfgs`` grouped by :func:`ensemble_key`, in first-seen order; configs
    without a key get a group of their own."""
    groups: dict[str, list[int]] = {}
    out: list[list[int]] = []
    for i, cfg in enumerate(cfgs):
        key = ensemble_key(cfg)
        if key is None:
            out.append([i])
        elif key in groups:
            groups[key].append(i)
        else:
            groups[key] = [i]
            out.append(groups[key])
    return out


def train_many(cfgs: Sequence[RunConfig], *, max_ensemble: int = 64, progress: bool = False) -> list[LearnedAlgorithm | Exception]:
    """Train every configuration; same-shape ones in ensembles of at most ``max_ensemble``.

    Returns, aligned with ``cfgs``, the :class:`LearnedAlgorithm` or the exception a lone
    run would have raised (:class:`TrainingDiverged`, :class:`InputError`).
    """
    if max_ensemble < 1:
        raise InputError(f"max_ensemble must be >= 1, got {max_ensemble!r}")
    out: list[LearnedAlgorithm | Exception | None] = [None] * len(cfgs)
    for group in group_by_shape(cfgs):
        if len(group) == 1 or ensemble_key(cfgs[group[0]]) is None:
            for i in group:
                out[i] = _train_alone(cfgs[i], progress)
            continue
        for start in range(0, len(group), max_ensemble):
            part = group[start:start + max_ensemble]
            for i, res in zip(part, train_ensemble([cfgs[i] for i in part], progress=progress)):
                out[i] = res
    return out  # type: ignore[return-value]


def _train_alone(cfg: RunConfig, progress: bool) -> LearnedAlgorithm | Exception:
    from .pipeline import train_algorithm

    try:
        return train_algorithm(cfg, progress=progress)
    except (TrainingDiverged, InputError) as exc:
        return exc


# ----------------------------------------------------------------------------- ODE loss
class _OdeLoss(nn.Module):
    """:func:`algodiscover.ode.ode_loss` as a module taking the data as arguments, so that
    ``vmap(functional_call(...))`` evaluates it for a stack of models and data sets."""

    def __init__(self, model: R2N2, family: Any, opts: Any) -> None:
        super().__init__()
        from .analysis import personalised_conditions

        self.model, self.family, self.opts = model, family, opts
        self.reg_order = opts.taylor_order if opts.taylor_order > 0 and opts.taylor_weight > 0 else 0
        self.conditions = None
        if self.reg_order and opts.taylor_mode == "family":
            self.conditions = torch.tensor(personalised_conditions(family.spec, self.reg_order).dense_matrix(), dtype=torch.float64)

    def forward(self, P: Tensor, Y0: Tensor, H: Tensor, REF: Tensor, SCALE: Tensor) -> Tensor:
        x = self.model(self.family.torch_rhs(P), Y0, H, outer=self.model.outer)
        val = (((x - REF) ** 2).sum(dim=1) / SCALE).mean()
        if self.reg_order:
            res = tree_residuals(self.model, self.reg_order)
            val = val + self.opts.taylor_weight * ((res ** 2).sum() if self.conditions is None else ((self.conditions @ res) ** 2).sum())
        return val


class _OdeEnsemble:
    """The data and batched loss of M same-shape ODE configurations."""

    def __init__(self, cfgs: Sequence[RunConfig]) -> None:
        from .ode import OdeTrainingConfig, _checked_options, _reference_errors2, family_for, make_ode_data

        cfg0 = cfgs[0]
        self.opts = OdeTrainingConfig(**_checked_options(cfg0.options))
        problem: dict[str, Any] = {"class": "ode", "family": cfg0.family}
        if cfg0.custom_family:
            problem["custom"] = cfg0.custom_family
        family = family_for(problem)
        problem["equations"] = family.spec.rhs_text()
        self.problem = problem
        self.template = R2N2(cfg0.model.stages, cfg0.model.outer, consistency=cfg0.model.consistency, init="zeros")
        self.loss = _OdeLoss(self.template, family, self.opts)
        t0 = time.perf_counter()
        cols: list[list[np.ndarray]] = [[], [], [], [], []]
        for cfg in cfgs:
            data = make_ode_data(family, self.opts.samples, seed=cfg.seed, outer=cfg.model.outer)
            e2 = _reference_errors2(family, data, self.opts.reference_method)
            scale = np.maximum(e2, 1e-300) if self.opts.normalise == "reference" else np.array(max(float(np.mean(e2)), 1e-300))
            for col, arr in zip(cols, (data.samples.params, data.samples.y0, data.samples.h, data.reference, scale)):
                col.append(arr)
        self.data_s = (time.perf_counter() - t0) / len(cfgs)
        self.data = [torch.tensor(np.stack(c), dtype=torch.float64) for c in cols]   # P, Y0, H, REF, SCALE
        fn = lambda w, b, *data: functional_call(self.loss, {"model.w_raw": w, "model.b_raw": b}, data)  # noqa: E731
        self._batched = vmap(fn)

    def losses(self, w: Tensor, b: Tensor, rows: Tensor | None = None) -> Tensor:
        """Losses (R,) of the models ``rows`` (all when None) at weights (R, .)."""
        data = self.data if rows is None else [d.index_select(0, rows) for d in self.data]
        return self._batched(w, b, *data)

    def algorithm(self, cfg: RunConfig, w: Tensor, b: Tensor, training: dict[str, Any], train_s: float, size: int,
                  versions: dict[str, str]) -> LearnedAlgorithm:
        """The artefact :func:`algodiscover.ode.train_run` returns, for one trained model."""
        W, bv = self._weights(w, b)
        return LearnedAlgorithm(
            kind="runge-kutta",
            problem=json.loads(json.dumps(self.problem)),
            structure={"stages": cfg.model.stages, "outer": cfg.model.outer, "consistency": cfg.model.consistency, "h": "per sample (time step)",
                       "loss": self.opts.to_json()},
            weights={"W": W, "b": bv},
            config=cfg.to_json(),
            seed=cfg.seed,
            training=training,
            versions=dict(versions),
            timing={"data_s": round(self.data_s, 3), "train_s": round(train_s, 3), "ensemble": size},
        )

    def _weights(self, w: Tensor, b: Tensor) -> tuple[list, list]:
        m = self.template
        with torch.no_grad():
            m.w_raw.copy_(w)
            m.b_raw.copy_(b)
            return m.W().numpy().tolist(), m.b().numpy().tolist()


# ----------------------------------------------------------------------------- training
def train_ensemble(cfgs: Sequence[RunConfig], *, progress: bool = False) -> list[LearnedAlgorithm | Exception]:
    """Train same-shape configurations together (see the module docstring).

    All ``cfgs`` must share :func:`ensemble_key`. Returns, aligned with ``cfgs``, the
    :class:`LearnedAlgorithm` of each model, or the :class:`TrainingDiverged` /
    :class:`InputError` its lone run would raise.
    """
    if not cfgs:
        return []
    keys = {ensemble_key(c) for c in cfgs}
    if None in keys:
        raise InputError(f"problem class {cfgs[0].problem_class!r} has no batched trainer (batched: {', '.join(BATCHED_CLASSES)})")
    if len(keys) != 1:
        raise InputError("train_ensemble: configurations differ in shape; group them with group_by_shape first")
    out: list[LearnedAlgorithm | Exception | None] = [None] * len(cfgs)
    members, inits = [], []
    for i, cfg in enumerate(cfgs):
        try:
            inits.append(R2N2(cfg.model.stages, cfg.model.outer, consistency=cfg.model.consistency, init=cfg.model.init,
                              init_scale=cfg.model.init_scale, seed=cfg.seed))
            members.append(i)
        except InputError as exc:
            out[i] = exc
    if not members:
        return out  # type: ignore[return-value]
    try:
        problem = _OdeEnsemble([cfgs[i] for i in members])
    except InputError as exc:
        return [exc if o is None else o for o in out]
    threads = torch.get_num_threads()
    torch.set_num_threads(_train_threads())
    try:
        t0 = time.perf_counter()
        run = _Run(problem, torch.stack([m.w_raw.detach() for m in inits]), torch.stack([m.b_raw.detach() for m in inits]),
                   cfgs[members[0]].train, progress=progress, desc=f"ensemble of {len(members)}")
        run.train()
        train_s = (time.perf_counter() - t0) / len(members)
    finally:
        torch.set_num_threads(threads)
    versions = package_versions()
    for k, i in enumerate(members):
        if run.errors[k] is not None:
            out[i] = run.errors[k]
            continue
        hist = run.history[k]
        training = {"loss_history": hist, "phases": phase_runs(run.phases[k]), "adam_steps": run.adam_done[k],
                    "lbfgs_evaluations": run.lbfgs_evals[k], "final_loss": hist[-1] if hist else float("nan"), "resumed": False}
        out[i] = problem.algorithm(cfgs[i], run.w[k], run.b[k], training, train_s, len(members), versions)
    return out  # type: ignore[return-value]


class _Run:
    """Adam then L-BFGS for the M models of a :class:`_OdeEnsemble`, with the per-model
    bookkeeping of :func:`algodiscover.training.train`."""

    def __init__(self, problem: _OdeEnsemble, w0: Tensor, b0: Tensor, config: TrainConfig, *, progress: bool, desc: str) -> None:
        self.problem, self.config, self.progress, self.desc = problem, config, progress, desc
        self.M, self.nw = w0.shape
        self.w, self.b = w0.clone(), b0.clone()
        self.history: list[list[float]] = [[] for _ in range(self.M)]
        self.phases: list[list[str]] = [[] for _ in range(self.M)]
        self.adam_done = [0] * self.M
        self.lbfgs_evals = [0] * self.M
        self.errors: list[Exception | None] = [None] * self.M

    def alive(self) -> list[int]:
        return [m for m in range(self.M) if self.errors[m] is None]

    def train(self) -> None:
        if self.config.adam_steps:
            self._adam()
        if self.config.lbfgs_steps and self.alive():
            self._lbfgs()

    def _checked(self, models: list[int], vals: list[float], w: Tensor, b: Tensor, first: list[float | None] | None,
                 where: str) -> list[int]:
        """The models (of ``models``) whose loss and weights (rows of ``w``, ``b``) pass the
        checks of ``training._check``; the others get the error a lone run raises."""
        with torch.no_grad():
            fin_w, fin_b = torch.isfinite(w).all(dim=1).tolist(), torch.isfinite(b).all(dim=1).tolist()
        ok = []
        for k, m in enumerate(models):
            msg = _divergence(vals[k], fin_w[k], fin_b[k], None if first is None else first[m], self.config.divergence_factor, where)
            if msg is None:
                ok.append(m)
            else:
                self.errors[m] = TrainingDiverged(msg)
        return ok

    def _adam(self) -> None:
        cfg = self.config
        w, b = self.w.clone().requires_grad_(True), self.b.clone().requires_grad_(True)
        adam = torch.optim.Adam([w, b], lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(adam, T_max=max(1, cfg.adam_steps), eta_min=cfg.lr / 100)
        first: list[float | None] = [None] * self.M
        live = self.alive()
        for step in tqdm(range(cfg.adam_steps), desc=f"{self.desc} (Adam)", disable=not self.progress, leave=False):
            adam.zero_grad(set_to_none=True)
            loss = self.problem.losses(w, b)
            vals = loss.detach().tolist()
            live = self._checked(live, [vals[m] for m in live], w[live], b[live], first, f"Adam step {step}")
            if not live:
                break
            for m in live:
                first[m] = vals[m] if first[m] is None else first[m]
            (loss.sum() if len(live) == self.M else loss[torch.as_tensor(live)].sum()).backward()
            adam.step()
            sched.step()
            for m in live:
                self.history[m].append(vals[m])
                self.phases[m].append("adam")
                self.adam_done[m] = step + 1
        self.w, self.b = w.detach().clone(), b.detach().clone()

    def _lbfgs(self) -> None:
        live = torch.as_tensor(self.alive())
        nw = self.nw

        def evaluate(X: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
            w = X[:, :nw].clone().requires_grad_(True)
            b = X[:, nw:].clone().requires_grad_(True)
            with torch.enable_grad():
                loss = self.problem.losses(w, b, live.index_select(0, rows))
                loss.sum().backward()
            vals = loss.detach()
            for m, v in zip(live.index_select(0, rows).tolist(), vals.tolist()):
                self.lbfgs_evals[m] += 1
                if math.isfinite(v):
                    self.history[m].append(v)
                    self.phases[m].append("lbfgs")
            gw = w.grad if w.grad is not None else torch.zeros_like(w)    # stages = 1: no W weights
            return vals, torch.cat([gw, b.grad], dim=1)

        bar = tqdm(total=self.config.lbfgs_steps, desc=f"{self.desc} (L-BFGS)", disable=not self.progress, leave=False)
        try:
            x0 = torch.cat([self.w, self.b], dim=1).index_select(0, live)
            res = lbfgs(evaluate, x0, LbfgsSettings.for_steps(self.config.lbfgs_steps), on_iteration=lambda n: bar.update(n - bar.n))
        finally:
            bar.close()
        self.w[live], self.b[live] = res.x[:, :nw], res.x[:, nw:]
        with torch.no_grad():
            final = self.problem.losses(self.w[live], self.b[live], live).tolist()
        ok = set(self._checked(live.tolist(), final, self.w[live], self.b[live], None, "the end of L-BFGS"))
        for m, v in zip(live.tolist(), final):
            if m in ok:
                self.history[m].append(v)
                self.phases[m].append("final")


def _divergence(val: float, finite_w: bool, finite_b: bool, first: float | None, factor: float, where: str) -> str | None:
    """The message ``training._check`` raises, or None when the step is fine."""
    if not math.isfinite(val):
        return f"training diverged: loss is {val} at {where}; no artefact written (try a smaller learning rate or fewer stages)"
    for name, ok in (("w_raw", finite_w), ("b_raw", finite_b)):
        if not ok:
            return f"training diverged: weight {name} is not finite at {where}; no artefact written"
    if first is not None and first > 0 and val > factor * first:
        return f"training diverged: loss grew from {first:.3g} to {val:.3g} at {where}; no artefact written (try a smaller learning rate)"
    return None
