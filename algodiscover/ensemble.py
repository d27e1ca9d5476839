"""Train many same-shape R2N2 models at once, with the same results as training each alone.

A structure sweep trains hundreds of tiny models (a few scalar weights each); one at a time,
almost all the time goes to Python and per-operator overhead, not arithmetic. Here M models
that share a *shape* (problem class and family, stages n, outer iterations K, consistency
mode, training samples and loss options, optimiser settings; see :func:`ensemble_key`) are
trained together; seeds, initialisations and their data differ freely.

How it is batched
-----------------
The weights live in two leaf tensors with a leading model axis, ``w_raw`` (M, n(n-1)/2) and
``b_raw`` (M, n or n-1), and the forward pass is the R2N2 recurrence written once for the
whole batch: states are (M, B, d), each scalar weight is an (M, 1, 1) column, the
right-hand side is the family's sympy expression evaluated elementwise on (M, B) columns.
Every operation is elementwise or a reduction inside one model's row, so model m's loss,
gradient and weights are computed by exactly the same floating-point operations as in a
lone :class:`~algodiscover.model.R2N2` (checked bit for bit against
:func:`algodiscover.training.train` by ``tests/test_ensemble.py`` and
``benchmarks/ensemble.py``). This was chosen over ``torch.func`` (``vmap`` over
``functional_call``) because it has less per-operator overhead and keeps the reference's
operation order, which is what makes the result exact.

Optimisers
----------
* **Adam** (cosine-decayed learning rate): one step advances all M models. The per-model
  losses are summed, so model m's gradient is its own loss's gradient (no cross terms), and
  ``torch.optim.Adam`` is elementwise, so each model follows its lone trajectory exactly.
  A model whose loss or weights stop being finite, or whose loss grows by the divergence
  factor, is dropped from the sum at that step and reported as
  :class:`~algodiscover.errors.TrainingDiverged`, as a lone run would be.
* **L-BFGS** is *not* elementwise (inner products, a line search with branches), so it is
  made block-independent: a port of ``torch.optim.LBFGS`` with the strong-Wolfe line search
  runs one small control-flow state machine per model (Python scalars, exactly the branches
  and formulas of the torch implementation), while the expensive parts are batched: all
  loss/gradient evaluations the models ask for in a round are done in one batched forward
  and backward pass, and the two-loop recursion's vector updates run on (M, P) tensors.
  Inner products use ``torch.dot`` per model, the same kernel the lone optimiser calls
  (a batched reduction sums in a different order and would drift by an ulp). The scalar
  arithmetic follows torch's 0-d tensor semantics where they differ from Python floats
  (``float / tensor`` rounds twice; ``sqrt`` is torch's kernel), see :class:`_Tensorish`.
  The bookkeeping of :func:`~algodiscover.training.train` is reproduced per model: the best
  finite iterate is kept, and the final loss is re-evaluated and checked.

Measured agreement with training each model alone (torch 2.13 CPU): identical weights and
loss histories, max |weight difference| 0, equal artefact content hashes, for every family,
consistency mode, Taylor option, diverging models and > 50 L-BFGS memory updates tried
(``tests/test_ensemble.py``; ``benchmarks/ensemble.py`` prints the check for M = 64). This
rests on torch's elementwise CPU kernels rounding alike whatever the tensor size, which
holds for the kernels used here; the tests would show any platform where it does not.

The result for each configuration is the :class:`~algodiscover.artefact.LearnedAlgorithm`
that ``algodiscover train`` would write (same weights, loss history and content hash; only
the wall-time fields differ). Configurations whose class has no batched loss (anything but
``ode`` for now) are trained one by one through the normal pipeline by :func:`train_many`.

The Taylor regulariser (``ode.taylor_order > 0``) is evaluated per model inside the batched
loss (its tiny matrix products go through the same kernels as a lone run); it is exact but
costs M small graphs per step, so regularised ensembles gain less.

Example::

    from algodiscover.config import config_from_mapping
    from algodiscover.ensemble import train_many

    cfgs = [config_from_mapping({"seed": s, "train": {"adam_steps": 100, "lbfgs_steps": 50}})
            for s in range(64)]
    algorithms = train_many(cfgs)      # LearnedAlgorithm, or the exception a lone run raises
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .artefact import LearnedAlgorithm, package_versions
from .config import RunConfig
from .errors import InputError, TrainingDiverged
from .model import R2N2, tree_residuals
from .training import TrainConfig, phase_runs

__all__ = ["ensemble_key", "group_by_shape", "train_ensemble", "train_many", "BATCHED_CLASSES", "LBFGS_SETTINGS"]

Tensor = torch.Tensor

#: Problem classes with a batched loss; other classes train one configuration at a time.
BATCHED_CLASSES = ("ode",)

#: The L-BFGS settings of :func:`algodiscover.training.train` (mirrored here; the
#: equivalence tests fail if they drift apart).
LBFGS_SETTINGS = {"lr": 1.0, "tolerance_grad": 1e-15, "tolerance_change": 1e-20, "history_size": 50}
_LS_C1, _LS_C2, _LS_TOL_CHANGE = 1e-4, 0.9, 1e-9  # torch's _strong_wolfe defaults


# ----------------------------------------------------------------------------- grouping
def ensemble_key(cfg: RunConfig) -> str | None:
    """A canonical string: configurations with equal keys can be trained together.

    ``None`` when the problem class has no batched loss. The key holds everything that fixes
    tensor shapes or the loss and optimiser (class, family, stages, outer iterations,
    consistency, class options, train settings); seed, ``model.init`` and
    ``model.init_scale`` may differ inside a group.
    """
    if cfg.problem_class not in BATCHED_CLASSES:
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


# ----------------------------------------------------------------------------- ODE problem
class _OdeBatch:
    """The ODE loss of M same-shape models (mirrors :func:`algodiscover.ode.ode_loss`)."""

    def __init__(self, cfgs: Sequence[RunConfig], inits: Sequence[R2N2]) -> None:
        import sympy as sp

        from .analysis import get_method, personalised_conditions, rk_step

        from .ode import OdeTrainingConfig, family_for, make_ode_data

        cfg0 = cfgs[0]
        allowed = set(OdeTrainingConfig.__dataclass_fields__)
        unknown = sorted(set(cfg0.options) - allowed)
        if unknown:
            raise InputError(f"unknown key ode.{unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        self.opts = OdeTrainingConfig(**cfg0.options)
        problem: dict[str, Any] = {"class": "ode", "family": cfg0.family}
        if cfg0.custom_family:
            problem["custom"] = cfg0.custom_family
        self.family = family_for(problem)
        problem["equations"] = self.family.spec.rhs_text()
        self.problem = problem
        spec = self.family.spec
        self._fn = sp.lambdify(list(spec.state) + list(spec.params), list(spec.rhs), modules="torch")
        self.M = len(cfgs)
        self.n = cfg0.model.stages
        self.outer = cfg0.model.outer
        self.consistency = cfg0.model.consistency
        self.rows, self.cols = inits[0]._rows, inits[0]._cols

        t0 = time.perf_counter()
        P, Y0, H, REF, SCALE = [], [], [], [], []
        ref_tab = get_method(self.opts.reference_method)
        for cfg in cfgs:
            data = make_ode_data(self.family, self.opts.samples, seed=cfg.seed, outer=cfg.model.outer)
            smp = data.samples
            y = smp.y0
            for _ in range(data.outer):
                y = rk_step(ref_tab, lambda Y: spec.numpy_rhs(Y, smp.params), y, smp.h)
            ref_e2 = np.sum((y - data.reference) ** 2, axis=1)
            floor = 1e-300
            if self.opts.normalise == "reference":
                SCALE.append(np.maximum(ref_e2, floor))
            else:
                SCALE.append(np.array([max(float(np.mean(ref_e2)), floor)]))
            P.append(smp.params)
            Y0.append(smp.y0)
            H.append(smp.h)
            REF.append(data.reference)
        self.data_s = (time.perf_counter() - t0) / self.M
        f64 = torch.float64
        self.P = torch.tensor(np.stack(P), dtype=f64)                      # (M, B, np)
        self.Y0 = torch.tensor(np.stack(Y0), dtype=f64)                    # (M, B, d)
        self.H = torch.tensor(np.stack(H), dtype=f64).unsqueeze(-1)        # (M, B, 1)
        self.REF = torch.tensor(np.stack(REF), dtype=f64)                  # (M, B, d)
        self.SCALE = torch.tensor(np.stack(SCALE), dtype=f64)              # (M, B) or (M, 1)

        self.reg_matrix: Tensor | None = None
        self.reg_order = 0
        if self.opts.taylor_order > 0 and self.opts.taylor_weight > 0:
            p = self.opts.taylor_order
            self.reg_order = p
            if self.opts.taylor_mode == "family":
                self.reg_matrix = torch.tensor(personalised_conditions(spec, p).dense_matrix(), dtype=f64)

    # ---- the batched R2N2 (same operations, in the same order, as model.R2N2) ----------
    def W(self, w: Tensor) -> Tensor:
        M, n = w.shape[0], self.n
        W = torch.zeros(M, n, n, dtype=w.dtype)
        if len(self.rows):
            idx = (torch.arange(M)[:, None], torch.as_tensor(self.rows)[None, :], torch.as_tensor(self.cols)[None, :])
            W = W.index_put(idx, w)
        return W

    def b(self, b: Tensor) -> Tensor:
        if self.consistency == "softmax":
            return torch.softmax(b, dim=-1)
        if self.consistency == "affine":
            return torch.cat([b, (1.0 - b.sum(dim=-1)).reshape(-1, 1)], dim=-1)
        return b

    def _rhs(self, params: Tensor) -> Callable[[Tensor], Tensor]:
        fn = self._fn
        cols = [params[..., j] for j in range(params.shape[-1])]

        def f(Y: Tensor) -> Tensor:
            out = fn(*[Y[..., i] for i in range(Y.shape[-1])], *cols)
            return torch.stack([o if torch.is_tensor(o) else torch.full_like(Y[..., 0], float(o)) for o in out], dim=-1)

        return f

    def losses(self, w: Tensor, b: Tensor, idx: Tensor | None) -> Tensor:
        """Per-model losses (R,) for the models ``idx`` (all when None) at weights (R, .)."""
        if idx is None:
            P, x, H, REF, SCALE = self.P, self.Y0, self.H, self.REF, self.SCALE
        else:
            P, x, H, REF, SCALE = (t.index_select(0, idx) for t in (self.P, self.Y0, self.H, self.REF, self.SCALE))
        f = self._rhs(P)
        n = self.n
        for _ in range(self.outer):
            Wm = self.W(w)
            vs: list[Tensor] = []
            for j in range(n):
                if j == 0:
                    arg = x
                else:
                    acc = Wm[:, j, 0, None, None] * vs[0]
                    for l in range(1, j):
                        acc = acc + Wm[:, j, l, None, None] * vs[l]
                    arg = x + H * acc
                vs.append(f(arg))
            bm = self.b(b)
            acc = bm[:, 0, None, None] * vs[0]
            for j in range(1, len(vs)):
                acc = acc + bm[:, j, None, None] * vs[j]
            x = x + H * acc
        e2 = ((x - REF) ** 2).sum(dim=-1)
        val = (e2 / SCALE).mean(dim=-1)
        if self.reg_order:
            Wr, br = self.W(w), self.b(b)
            regs = []
            for m in range(w.shape[0]):
                res = tree_residuals(_RowView(Wr[m], br[m], n), self.reg_order)
                regs.append((res ** 2).sum() if self.reg_matrix is None else ((self.reg_matrix @ res) ** 2).sum())
            val = val + self.opts.taylor_weight * torch.stack(regs)
        return val

    def algorithm(self, cfg: RunConfig, w: Tensor, b: Tensor, training: dict[str, Any], train_s: float,
                  versions: dict[str, str]) -> LearnedAlgorithm:
        """The artefact :func:`algodiscover.ode.train_run` writes, for one trained model."""
        with torch.no_grad():
            W = self.W(w.reshape(1, -1))[0].numpy().tolist()
            bv = self.b(b.reshape(1, -1))[0].numpy().tolist()
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
            timing={"data_s": round(self.data_s, 3), "train_s": round(train_s, 3), "ensemble": self.M},
        )


class _RowView:
    """Just enough of an R2N2 for :func:`tree_residuals`: one model's W and b."""

    def __init__(self, W: Tensor, b: Tensor, stages: int) -> None:
        self._W, self._b, self.stages = W, b, stages

    def W(self) -> Tensor:
        return self._W

    def b(self) -> Tensor:
        return self._b


# ----------------------------------------------------------------------------- training
def train_ensemble(cfgs: Sequence[RunConfig], *, progress: bool = False) -> list[LearnedAlgorithm | Exception]:
    """Train same-shape configurations together (see the module docstring).

    All ``cfgs`` must share :func:`ensemble_key`. Returns, aligned with ``cfgs``, the
    :class:`LearnedAlgorithm` each lone run would produce, or the
    :class:`TrainingDiverged` / :class:`InputError` it would raise.
    """
    if not cfgs:
        return []
    keys = {ensemble_key(c) for c in cfgs}
    if None in keys:
        raise InputError(f"problem class {cfgs[0].problem_class!r} has no batched trainer (batched: {', '.join(BATCHED_CLASSES)})")
    if len(keys) != 1:
        raise InputError("train_ensemble: configurations differ in shape; group them with group_by_shape first")
    out: list[LearnedAlgorithm | Exception | None] = [None] * len(cfgs)
    members: list[int] = []
    inits: list[R2N2] = []
    for i, cfg in enumerate(cfgs):
        try:
            inits.append(R2N2(cfg.model.stages, cfg.model.outer, consistency=cfg.model.consistency, init=cfg.model.init,
                              init_scale=cfg.model.init_scale, seed=cfg.seed))
            members.append(i)
        except InputError as exc:
            out[i] = exc
    if not members:
        return out  # type: ignore[return-value]
    live_cfgs = [cfgs[i] for i in members]
    try:
        problem = _OdeBatch(live_cfgs, inits)
    except InputError as exc:
        return [exc if o is None else o for o in out]
    t0 = time.perf_counter()
    w0 = torch.stack([m.w_raw.detach() for m in inits])
    b0 = torch.stack([m.b_raw.detach() for m in inits])
    trainer = _Trainer(problem, w0, b0, live_cfgs[0].train, progress=progress, desc=f"ensemble of {len(members)}")
    trainer.run()
    train_s = (time.perf_counter() - t0) / len(members)
    versions = package_versions()
    for k, i in enumerate(members):
        if trainer.errors[k] is not None:
            out[i] = trainer.errors[k]
            continue
        training = {"loss_history": trainer.history[k], "phases": phase_runs(trainer.phases[k]),
                    "adam_steps": trainer.adam_done[k], "lbfgs_evaluations": trainer.lbfgs_evals[k],
                    "final_loss": trainer.history[k][-1] if trainer.history[k] else float("nan"), "resumed": False}
        out[i] = problem.algorithm(cfgs[i], trainer.w[k], trainer.b[k], training, train_s, versions)
    return out  # type: ignore[return-value]


class _Trainer:
    """Adam then L-BFGS for M models, with the per-model bookkeeping of ``training.train``."""

    def __init__(self, problem: _OdeBatch, w0: Tensor, b0: Tensor, config: TrainConfig, *, progress: bool, desc: str) -> None:
        self.problem = problem
        self.config = config
        self.M = w0.shape[0]
        self.nw = w0.shape[1]
        self.w = w0.clone()
        self.b = b0.clone()
        self.progress = progress
        self.desc = desc
        self.history: list[list[float]] = [[] for _ in range(self.M)]
        self.phases: list[list[str]] = [[] for _ in range(self.M)]
        self.adam_done = [0] * self.M
        self.lbfgs_evals = [0] * self.M
        self.errors: list[Exception | None] = [None] * self.M

    @property
    def alive(self) -> list[int]:
        return [m for m in range(self.M) if self.errors[m] is None]

    def run(self) -> None:
        if self.config.adam_steps:
            self._adam()
        if self.config.lbfgs_steps and self.alive:
            self._lbfgs()

    # ------------------------------------------------------------------ Adam
    def _adam(self) -> None:
        cfg = self.config
        w = self.w.clone().requires_grad_(True)
        b = self.b.clone().requires_grad_(True)
        adam = torch.optim.Adam([w, b], lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(adam, T_max=max(1, cfg.adam_steps), eta_min=cfg.lr / 100)
        first: list[float | None] = [None] * self.M
        live = list(range(self.M))
        bar = tqdm(total=cfg.adam_steps, desc=f"{self.desc} (Adam)", disable=not self.progress, leave=False)
        for step in range(cfg.adam_steps):
            adam.zero_grad(set_to_none=True)
            loss = self.problem.losses(w, b, None)
            vals = loss.detach().tolist()
            with torch.no_grad():
                finite_w = torch.isfinite(w).all(dim=1).tolist() if self.nw else [True] * self.M
                finite_b = torch.isfinite(b).all(dim=1).tolist()
            dropped = False
            for m in live:
                msg = _divergence(vals[m], finite_w[m], finite_b[m], first[m], cfg.divergence_factor, f"Adam step {step}")
                if msg is not None:
                    self.errors[m] = TrainingDiverged(msg)
                    dropped = True
                    continue
                if first[m] is None:
                    first[m] = vals[m]
            if dropped:
                live = self.alive
                if not live:
                    break
            total = loss.sum() if len(live) == self.M else loss[torch.as_tensor(live)].sum()
            total.backward()
            adam.step()
            sched.step()
            for m in live:
                self.history[m].append(vals[m])
                self.phases[m].append("adam")
                self.adam_done[m] = step + 1
            bar.update(1)
        bar.close()
        self.w = w.detach().clone()
        self.b = b.detach().clone()

    # ------------------------------------------------------------------ L-BFGS
    def _lbfgs(self) -> None:
        cfg = self.config
        live = self.alive
        max_iter = cfg.lbfgs_steps
        max_eval = int(cfg.lbfgs_steps * 1.5) + 10
        driver = _LbfgsDriver(self, live, max_iter, max_eval)
        driver.run()
        # Keep the best finite iterate, then re-evaluate and check it (as training.train).
        with torch.no_grad():
            for m in live:
                if driver.best_loss[m] < math.inf:
                    self.w[m] = driver.best_x[m, :self.nw]
                    self.b[m] = driver.best_x[m, self.nw:]
                else:
                    self.w[m] = driver.X[m, :self.nw]
                    self.b[m] = driver.X[m, self.nw:]
            idx = torch.as_tensor(live)
            final = self.problem.losses(self.w.index_select(0, idx), self.b.index_select(0, idx), idx if len(live) != self.M else None).tolist()
            fin_w = torch.isfinite(self.w).all(dim=1).tolist() if self.nw else [True] * self.M
            fin_b = torch.isfinite(self.b).all(dim=1).tolist()
        for k, m in enumerate(live):
            msg = _divergence(final[k], fin_w[m], fin_b[m], None, cfg.divergence_factor, "the end of L-BFGS")
            if msg is not None:
                self.errors[m] = TrainingDiverged(msg)
                continue
            self.history[m].append(final[k])
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


# ----------------------------------------------------------------------------- L-BFGS
def _fdiv(a: float, b: float) -> float:
    """IEEE division (inf/nan instead of ZeroDivisionError), as on 0-d tensors."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _div(a: Any, b: Any) -> Any:
    """``a / b`` with Python's operator dispatch (so :class:`_Tensorish` semantics apply), but
    IEEE results instead of ZeroDivisionError."""
    try:
        return a / b
    except ZeroDivisionError:
        return _fdiv(float(a), float(b))


class _Tensorish(float):
    """A float that stands for a 0-d float64 tensor in ``torch.optim.LBFGS``.

    In the torch implementation some scalars are 0-d tensors (directional derivatives,
    interpolated steps) and others Python floats, and the two differ in one operation:
    ``float / tensor`` is evaluated as ``tensor.reciprocal() * float`` (two roundings),
    while ``tensor / x`` is one IEEE division. Every other operation used here rounds alike
    (``sqrt`` is taken from torch itself, whose kernel is not always correctly rounded).
    Arithmetic on this class returns this class ("the result is a tensor"), and ``min``,
    ``max`` return their operands unchanged, exactly as tensors propagate in torch, so the
    port reproduces torch's steps bit for bit.
    """

    __slots__ = ()

    def __add__(self, o: Any) -> "_Tensorish":
        return _Tensorish(float(self) + float(o))

    __radd__ = __add__

    def __sub__(self, o: Any) -> "_Tensorish":
        return _Tensorish(float(self) - float(o))

    def __rsub__(self, o: Any) -> "_Tensorish":
        return _Tensorish(float(o) - float(self))

    def __mul__(self, o: Any) -> "_Tensorish":
        return _Tensorish(float(self) * float(o))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> "_Tensorish":
        return _Tensorish(_fdiv(float(self), float(o)))

    def __rtruediv__(self, o: Any) -> "_Tensorish":
        return _Tensorish(_fdiv(1.0, float(self)) * float(o))

    def __neg__(self) -> "_Tensorish":
        return _Tensorish(-float(self))

    def __abs__(self) -> "_Tensorish":
        return _Tensorish(abs(float(self)))


def _cubic_interpolate(x1: Any, f1: Any, g1: Any, x2: Any, f2: Any, g2: Any, bounds: tuple[Any, Any] | None = None) -> Any:
    """``torch.optim.lbfgs._cubic_interpolate`` on Python scalars (same formulas, same order;
    the directional derivatives ``g1``, ``g2`` are :class:`_Tensorish` as in torch)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - _div(3 * (f1 - f2), x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        # torch's sqrt kernel is not always correctly rounded; use it, not math.sqrt
        d2 = _Tensorish(torch.tensor(float(d2_square), dtype=torch.float64).sqrt().item())
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * _div(g2 + d2 - d1, g2 - g1 + 2 * d2)
        else:
            min_pos = x1 - (x1 - x2) * _div(g1 + d2 - d1, g1 - g2 + 2 * d2)
        return min(max(min_pos, xmin_bound), xmax_bound)
    return _div(xmin_bound + xmax_bound, 2.0)


# Requests a model's control flow sends to the driver (generator protocol):
#   ("eval0",)            evaluate at x;        reply (f, gmax, gabs_sum, g)
#   ("dir", g, t, first)  new direction from gradient g (t: the last step); reply (gtd, d_list)
#   ("eval", t)           evaluate at x + t d;  reply (f, gtd_new, gmax, g)
#   ("move", t)           x <- x + t d;         reply None
_Request = tuple


def _strong_wolfe(t: float, d_norm: float, f: float, g: Any, gmax: float, gtd: float, max_ls: int) -> Iterator[_Request]:
    """``torch.optim.lbfgs._strong_wolfe`` as a generator; returns (f, g, max|g|, t, evals).

    ``max|g|`` travels with each gradient so the caller's optimality test needs no vector op.
    """
    c1, c2, tolerance_change = _LS_C1, _LS_C2, _LS_TOL_CHANGE
    f_new, gtd_new, gmax_new, g_new = yield ("eval", t)
    ls_func_evals = 1
    t_prev, f_prev, g_prev, gtd_prev, gm_prev = 0, f, g, gtd, gmax
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd, bracket_gm = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new], [gm_prev, gmax_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, bracket_gm = [t], [f_new], [g_new], [gmax_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd, bracket_gm = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new], [gm_prev, gmax_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev, gm_prev = tmp, f_new, g_new, gtd_new, gmax_new
        f_new, gtd_new, gmax_new, g_new = yield ("eval", t)
        ls_func_evals += 1
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g, bracket_gm = [0, t], [f, f_new], [g, g_new], [gmax, gmax_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, gtd_new, gmax_new, g_new = yield ("eval", t)
        ls_func_evals += 1
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos], bracket_gm[high_pos] = t, f_new, g_new, gtd_new, gmax_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos], bracket_gm[high_pos] = (
                    bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos], bracket_gm[low_pos])
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos], bracket_gm[low_pos] = t, f_new, g_new, gtd_new, gmax_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket_gm[low_pos], bracket[low_pos], ls_func_evals


def _lbfgs_control(max_iter: int, max_eval: int) -> Iterator[_Request]:
    """One model's ``torch.optim.LBFGS.step`` (strong-Wolfe) control flow as a generator.

    Vector work is requested from the driver; every branch and scalar formula is the torch
    implementation's, in the same order.
    """
    lr = LBFGS_SETTINGS["lr"]
    tolerance_grad = LBFGS_SETTINGS["tolerance_grad"]
    tolerance_change = LBFGS_SETTINGS["tolerance_change"]
    loss, gmax, gabs_sum, flat_grad = yield ("eval0",)
    current_evals = 1
    if gmax <= tolerance_grad:
        return
    t: float = 0.0
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        gtd, d_list = yield ("dir", flat_grad, t, n_iter == 1)
        prev_loss = loss
        if n_iter == 1:
            t = min(1.0, _Tensorish(_fdiv(1.0, gabs_sum))) * lr   # 1.0 / tensor: a tensor unless min picks 1.0
        else:
            t = lr
        if gtd > -tolerance_change:
            break
        d_norm = max(abs(x) for x in d_list)
        loss, flat_grad, gmax, t, ls_func_evals = yield from _strong_wolfe(t, d_norm, loss, flat_grad, gmax, gtd, max_eval - current_evals)
        yield ("move", t)
        opt_cond = gmax <= tolerance_grad
        current_evals += ls_func_evals
        if n_iter == max_iter:
            break
        if current_evals >= max_eval:
            break
        if opt_cond:
            break
        if max(abs(x * t) for x in d_list) <= tolerance_change:
            break
        if abs(loss - prev_loss) < tolerance_change:
            break


class _LbfgsDriver:
    """Runs one :func:`_lbfgs_control` per model in lockstep and does their vector work
    batched: each round, first every pending direction update, then every pending
    loss/gradient evaluation, each as one batched computation."""

    def __init__(self, trainer: _Trainer, live: list[int], max_iter: int, max_eval: int) -> None:
        self.tr = trainer
        self.problem = trainer.problem
        self.live = live
        self.nw = trainer.nw
        M = trainer.M
        self.X = torch.cat([trainer.w, trainer.b], dim=1)                 # (M, P) current iterate
        P = self.X.shape[1]
        self.P = P
        self.D = torch.zeros(M, P, dtype=torch.float64)                 # direction
        self.G = torch.zeros(M, P, dtype=torch.float64)                 # gradient at X
        self.prevG = torch.zeros(M, P, dtype=torch.float64)
        hs = min(LBFGS_SETTINGS["history_size"], max_iter)
        self.hs = hs
        self.Yh = torch.zeros(M, hs, P, dtype=torch.float64)            # old_dirs (y), oldest first
        self.Sh = torch.zeros(M, hs, P, dtype=torch.float64)            # old_stps (s)
        self.count = [0] * M
        self.head = [0] * M
        self.ylist: list[list[Tensor]] = [[] for _ in range(M)]
        self.slist: list[list[Tensor]] = [[] for _ in range(M)]
        self.ro: list[list[float]] = [[] for _ in range(M)]
        self.Hdiag = [1.0] * M
        self.best_x = self.X.clone()
        self.best_loss = [math.inf] * M
        self.gens = {m: _lbfgs_control(max_iter, max_eval) for m in live}
        self.pending_dir: dict[int, _Request] = {}
        self.pending_eval: dict[int, _Request] = {}

    def run(self) -> None:
        bar = tqdm(desc=f"{self.tr.desc} (L-BFGS rounds)", disable=not self.tr.progress, leave=False)
        for m in list(self.gens):
            self._advance(m, None)
        while self.pending_dir or self.pending_eval:
            if self.pending_dir:
                reqs, self.pending_dir = self.pending_dir, {}
                for m, reply in self._directions(reqs).items():
                    self._advance(m, reply)
            if self.pending_eval:
                reqs, self.pending_eval = self.pending_eval, {}
                for m, reply in self._evaluate(reqs).items():
                    self._advance(m, reply)
            bar.update(1)
        bar.close()

    def _advance(self, m: int, reply: Any) -> None:
        gen = self.gens[m]
        while True:
            try:
                req = gen.send(reply)
            except StopIteration:
                del self.gens[m]
                return
            kind = req[0]
            if kind == "move":
                with torch.no_grad():
                    self.X[m] = torch.add(self.X[m], self.D[m], alpha=req[1])
                reply = None
                continue
            if kind == "dir":
                self.pending_dir[m] = req
            else:
                self.pending_eval[m] = req
            return

    # ---- direction: the L-BFGS memory update and two-loop recursion --------------------
    @torch.no_grad()
    def _directions(self, reqs: dict[int, _Request]) -> dict[int, tuple[float, list[float]]]:
        ms = sorted(reqs)
        idx = torch.as_tensor(ms)
        self.G.index_copy_(0, idx, torch.stack([reqs[m][1] for m in ms]))
        first = [m for m in ms if reqs[m][3]]
        rest = [m for m in ms if not reqs[m][3]]
        if first:
            fi = torch.as_tensor(first)
            self.D.index_copy_(0, fi, self.G.index_select(0, fi).neg())
            for m in first:
                self.Hdiag[m] = 1.0
        if rest:
            self._two_loop(rest, [reqs[m][2] for m in rest])
        self.prevG.index_copy_(0, idx, self.G.index_select(0, idx))
        Gr, Dr = self.G.unbind(0), self.D.unbind(0)
        d_lists = self.D.index_select(0, idx).tolist()
        return {m: (_Tensorish(torch.dot(Gr[m], Dr[m]).item()), d_lists[k]) for k, m in enumerate(ms)}

    def _two_loop(self, ms: list[int], ts: list[Any]) -> None:
        """Memory update and two-loop recursion for the models ``ms`` (torch's formulas; the
        inner products per model with ``torch.dot``, the vector updates batched in place).

        Histories live in ring buffers ``Yh``/``Sh`` (M, hs, P); ``ylist[m]``/``slist[m]`` hold
        views of model m's entries oldest first, like torch's ``old_dirs``/``old_stps``. Rows
        a model does not use this round get a ``-0.0`` coefficient on a zero slot, which
        leaves every value (signed zeros included) unchanged.
        """
        R = len(ms)
        k_idx = torch.as_tensor(ms)
        g = self.G.index_select(0, k_idx)
        y = g.sub(self.prevG.index_select(0, k_idx))                               # flat_grad.sub(prev_flat_grad)
        s = self.D.index_select(0, k_idx).mul(torch.tensor([float(t) for t in ts], dtype=torch.float64)[:, None])  # d.mul(t)
        yr, sr = y.unbind(0), s.unbind(0)
        hs = self.hs
        for k, m in enumerate(ms):
            ys = torch.dot(yr[k], sr[k]).item()
            if ys > 1e-10:
                if self.count[m] == hs:                       # drop the oldest (torch: pop(0))
                    slot = self.head[m]
                    self.head[m] = (slot + 1) % hs
                    self.ylist[m].pop(0)
                    self.slist[m].pop(0)
                    self.ro[m].pop(0)
                else:
                    slot = (self.head[m] + self.count[m]) % hs
                    self.count[m] += 1
                self.Yh[m, slot] = yr[k]
                self.Sh[m, slot] = sr[k]
                self.ylist[m].append(self.Yh[m, slot])
                self.slist[m].append(self.Sh[m, slot])
                self.ro[m].append(1.0 / ys)
                self.Hdiag[m] = ys / torch.dot(yr[k], yr[k]).item()
        counts = [self.count[m] for m in ms]
        nmax = max(counts)
        Ysub = self.Yh.index_select(0, k_idx)
        Ssub = self.Sh.index_select(0, k_idx)
        heads = [self.head[m] for m in ms]
        if any(heads):  # put every ring buffer in logical order (oldest first) once
            phys = (torch.tensor(heads)[:, None] + torch.arange(hs)[None, :]) % hs
            ar = torch.arange(R)[:, None]
            Ysub, Ssub = Ysub[ar, phys], Ssub[ar, phys]
        dot, f64 = torch.dot, torch.float64
        sl = [self.slist[m] for m in ms]
        yl = [self.ylist[m] for m in ms]
        # ro (R, nmax), zero-padded; products and differences below are the same IEEE
        # operations as torch's 0-d tensor arithmetic, only done for all models at once
        RO = torch.tensor([self.ro[m] + [0.0] * (nmax - len(self.ro[m])) for m in ms], dtype=f64)
        active = [[k for k, c in enumerate(counts) if c > i] for i in range(nmax)]
        full = [len(a) == R for a in active]
        act_t = [torch.tensor(a, dtype=torch.long) for a in active]
        neg_zero = torch.full((R,), -0.0, dtype=f64)
        al: list[Tensor] = [neg_zero] * nmax
        q = g.neg()
        qr = q.unbind(0)
        for i in range(nmax - 1, -1, -1):
            act = active[i]
            a_i = torch.stack([dot(sl[k][i], qr[k]) for k in act]) * (RO[:, i] if full[i] else RO[act_t[i], i])
            al[i] = a_i
            coef = a_i.neg() if full[i] else neg_zero.index_put((act_t[i],), a_i.neg())
            q.addcmul_(Ysub[:, i], coef[:, None])                              # q.add_(y_i, alpha=-al_i)
        r = q.mul(torch.tensor([float(self.Hdiag[m]) for m in ms], dtype=f64)[:, None])   # torch.mul(q, H_diag)
        rr = r.unbind(0)
        for i in range(nmax):
            act = active[i]
            be = torch.stack([dot(yl[k][i], rr[k]) for k in act]) * (RO[:, i] if full[i] else RO[act_t[i], i])
            diff = al[i] - be
            coef = diff if full[i] else neg_zero.index_put((act_t[i],), diff)
            r.addcmul_(Ssub[:, i], coef[:, None])                              # r.add_(s_i, alpha=al_i - be_i)
        self.D.index_copy_(0, k_idx, r)

    # ---- batched loss and gradient ------------------------------------------------------
    def _evaluate(self, reqs: dict[int, _Request]) -> dict[int, tuple]:
        ms = sorted(reqs)
        R = len(ms)
        idx = torch.as_tensor(ms)
        whole = R == self.tr.M  # then ms == [0, 1, ..., M-1]
        with torch.no_grad():
            X = self.X.index_select(0, idx)
            ts = [reqs[m][1] if reqs[m][0] == "eval" else 0.0 for m in ms]
            moved = [k for k, m in enumerate(ms) if reqs[m][0] == "eval"]
            if moved:
                Xm = torch.addcmul(X, self.D.index_select(0, idx), torch.tensor(ts, dtype=torch.float64)[:, None])  # p.add_(d, alpha=t)
                X = Xm if len(moved) == R else torch.where(_mask(moved, R)[:, None], Xm, X)
        w = X[:, :self.nw].clone().requires_grad_(True)
        b = X[:, self.nw:].clone().requires_grad_(True)
        with torch.enable_grad():
            loss = self.problem.losses(w, b, None if whole else idx)
            vals = loss.detach().tolist()
            loss.sum().backward()
        with torch.no_grad():
            gw = w.grad if w.grad is not None else torch.zeros_like(w)
            G = torch.cat([gw, b.grad], dim=1)
            bad = [k for k, v in enumerate(vals) if not math.isfinite(v)]
            if bad:
                # a lone run does not back-propagate a non-finite loss: its gradient is zero
                G[torch.as_tensor(bad)] = 0.0
            gabs = G.abs()
            gmax = gabs.max(dim=1).values.tolist()
            gsum = gabs.sum(dim=1).tolist()
            Gr = G.unbind(0)
            Dr = self.D.unbind(0)
            improved = []
            out: dict[int, tuple] = {}
            for k, m in enumerate(ms):
                v = vals[k]
                self.tr.lbfgs_evals[m] += 1
                if math.isfinite(v):
                    self.tr.history[m].append(v)
                    self.tr.phases[m].append("lbfgs")
                    if v < self.best_loss[m]:
                        self.best_loss[m] = v
                        improved.append(k)
                if reqs[m][0] == "eval0":
                    out[m] = (v, gmax[k], gsum[k], Gr[k])
                else:
                    out[m] = (v, _Tensorish(torch.dot(Gr[k], Dr[m]).item()), gmax[k], Gr[k])
            if improved:
                ii = torch.as_tensor(improved)
                self.best_x.index_copy_(0, idx.index_select(0, ii), X.index_select(0, ii))
        return out


def _mask(active: list[int], n: int) -> Tensor:
    m = torch.zeros(n, dtype=torch.bool)
    m[torch.as_tensor(active, dtype=torch.long)] = True
    return m
