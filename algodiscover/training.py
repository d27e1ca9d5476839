"""Full-batch training: Adam, then L-BFGS; divergence detection, checkpoints, progress.

The problems are small (a few hundred scalar weights at most), so every step uses the
whole training set: the loss is a deterministic function of the weights and the same seed
gives the same weights bit for bit.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from .analysis import atomic_path

from .errors import InputError, TrainingDiverged
from .lbfgs import LbfgsSettings, lbfgs

__all__ = ["TrainConfig", "TrainResult", "train", "phase_runs"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings.

    ``adam_steps`` Adam steps at learning rate ``lr`` (cosine-decayed to ``lr / 100``), then
    up to ``lbfgs_steps`` L-BFGS iterations (:mod:`algodiscover.lbfgs`: weak-Wolfe line
    search, at most ``1.5 lbfgs_steps + 10`` loss evaluations, stops when converged).
    """

    adam_steps: int = 300
    lr: float = 0.02
    lbfgs_steps: int = 200
    checkpoint_every: int = 100
    divergence_factor: float = 1e8

    def __post_init__(self) -> None:
        for key in ("adam_steps", "lbfgs_steps", "checkpoint_every"):
            v = getattr(self, key)
            if not isinstance(v, int) or v < 0:
                raise InputError(f"train.{key} must be an integer >= 0, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and not isinstance(self.lr, bool) and math.isfinite(self.lr) and self.lr > 0):
            raise InputError(f"train.lr must be a positive number (finite), got {self.lr!r}")
        f = self.divergence_factor
        if not (isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) and f > 1):
            raise InputError(f"train.divergence_factor must be a finite number > 1, got {f!r}")
        if self.adam_steps + self.lbfgs_steps == 0:
            raise InputError("train: adam_steps and lbfgs_steps are both 0; nothing to train")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """Loss history (one entry per Adam step and per L-BFGS loss evaluation), the phase
    and step reached, and the wall time."""

    history: list[float] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    adam_done: int = 0
    lbfgs_evals: int = 0
    wall_time: float = 0.0
    resumed: bool = False

    @property
    def final_loss(self) -> float:
        return self.history[-1] if self.history else float("nan")

    def phase_runs(self) -> list[list[Any]]:
        return phase_runs(self.phases)

    def record(self) -> dict[str, Any]:
        """The ``training`` section of an artefact."""
        return {"loss_history": self.history, "phases": self.phase_runs(), "adam_steps": self.adam_done,
                "lbfgs_evaluations": self.lbfgs_evals, "final_loss": self.final_loss, "resumed": self.resumed}


def phase_runs(phases: list[str]) -> list[list[Any]]:
    """Run-length encoding of the phase of each loss entry: [["adam", 300], ["lbfgs", 57], ["final", 1]]."""
    out: list[list[Any]] = []
    for ph in phases:
        if out and out[-1][0] == ph:
            out[-1][1] += 1
        else:
            out.append([ph, 1])
    return out


def _save_checkpoint(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer | None, result: TrainResult, phase: str,
                     sched: Any = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": None if opt is None else opt.state_dict(),
        "scheduler": None if sched is None else sched.state_dict(),
        "history": result.history,
        "phases": result.phases,
        "adam_done": result.adam_done,
        "lbfgs_evals": result.lbfgs_evals,
        "phase": phase,
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


_CHECKPOINT_KEYS = {"model", "optimizer", "scheduler", "history", "phases", "adam_done", "lbfgs_evals", "phase"}


def _load_checkpoint(path: Path, model: torch.nn.Module) -> dict[str, Any]:
    """Read a checkpoint as tensors and plain data only (``weights_only=True``: a file that
    needs arbitrary unpickling is refused, never executed), checked against ``model``."""
    import pickle

    try:
        state = torch.load(path, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError, TypeError) as exc:
        raise InputError(f"{path}: not a readable algodiscover checkpoint ({type(exc).__name__}); refused, nothing was run "
                         "(delete it to train afresh)") from None
    if not isinstance(state, dict) or not _CHECKPOINT_KEYS <= set(state) or state.get("phase") not in ("adam", "lbfgs", "done"):
        raise InputError(f"{path}: not an algodiscover checkpoint (delete it to train afresh)")
    own = model.state_dict()
    theirs = state["model"]
    if not isinstance(theirs, dict) or set(theirs) != set(own) or any(
            not isinstance(theirs[k], torch.Tensor) or theirs[k].shape != own[k].shape for k in own):
        raise InputError(f"{path}: written by a model of another shape (stages or options differ); delete it to train afresh")
    return state


def _set_flat(params: list[torch.Tensor], x: torch.Tensor) -> None:
    """Copy the flat vector ``x`` into ``params`` (in order)."""
    with torch.no_grad():
        i = 0
        for p in params:
            p.copy_(x[i:i + p.numel()].reshape(p.shape))
            i += p.numel()


def _check(loss: torch.Tensor, model: torch.nn.Module, where: str, first: float | None, factor: float) -> float:
    val = float(loss.detach())
    if not math.isfinite(val):
        raise TrainingDiverged(f"training diverged: loss is {val} at {where}; no artefact written (try a smaller learning rate or fewer stages)")
    for name, p in model.named_parameters():
        if not torch.all(torch.isfinite(p)):
            raise TrainingDiverged(f"training diverged: weight {name} is not finite at {where}; no artefact written")
    if first is not None and first > 0 and val > factor * first:
        raise TrainingDiverged(f"training diverged: loss grew from {first:.3g} to {val:.3g} at {where}; no artefact written (try a smaller learning rate)")
    return val


def train(
    model: torch.nn.Module,
    loss_fn: Callable[[], torch.Tensor],
    config: TrainConfig,
    *,
    progress: bool = True,
    checkpoint: Path | None = None,
    resume: bool = False,
    desc: str = "training",
) -> TrainResult:
    """Minimise ``loss_fn()`` over ``model``'s parameters: Adam, then L-BFGS.

    With ``checkpoint`` set, the state is saved atomically every ``checkpoint_every`` Adam
    steps and after each phase; ``resume`` continues from it. Raises
    :class:`TrainingDiverged` on a non-finite (or exploding) loss or weight.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(_train_threads())
    try:
        return _train(model, loss_fn, config, progress=progress, checkpoint=checkpoint, resume=resume, desc=desc)
    finally:
        torch.set_num_threads(threads)


def _train_threads() -> int:
    """Intra-op threads while training: 1 unless ``ALGODISCOVER_THREADS`` says otherwise.
    The tensors here are tiny (batch x state); thread start-up and contention cost more than
    they save (a 64x100 by 100x100 product: 0.12 ms on one thread, 0.56 ms on two under load)."""
    try:
        return max(1, int(os.environ.get("ALGODISCOVER_THREADS", "1")))
    except ValueError:
        return 1


def _train(
    model: torch.nn.Module,
    loss_fn: Callable[[], torch.Tensor],
    config: TrainConfig,
    *,
    progress: bool,
    checkpoint: Path | None,
    resume: bool,
    desc: str,
) -> TrainResult:
    result = TrainResult()
    t0 = time.perf_counter()
    params = [p for p in model.parameters() if p.requires_grad]
    adam = torch.optim.Adam(params, lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(adam, T_max=max(1, config.adam_steps), eta_min=config.lr / 100)
    start_phase = "adam"
    if resume and checkpoint is not None and checkpoint.exists():
        state = _load_checkpoint(checkpoint, model)
        model.load_state_dict(state["model"])
        result.history, result.phases = list(state["history"]), list(state["phases"])
        result.adam_done, result.lbfgs_evals = int(state["adam_done"]), int(state["lbfgs_evals"])
        result.resumed = True
        start_phase = state["phase"]
        if start_phase == "adam" and state["optimizer"] is not None:
            adam.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
    first = result.history[0] if result.history else None

    if start_phase == "adam" and result.adam_done < config.adam_steps:
        bar = tqdm(total=config.adam_steps, initial=result.adam_done, desc=f"{desc} (Adam)", disable=not progress, leave=False)
        for step in range(result.adam_done, config.adam_steps):
            adam.zero_grad(set_to_none=True)
            loss = loss_fn()
            val = _check(loss, model, f"Adam step {step}", first, config.divergence_factor)
            first = val if first is None else first
            loss.backward()
            adam.step()
            sched.step()
            result.history.append(val)
            result.phases.append("adam")
            result.adam_done = step + 1
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{val:.3e}")
            if checkpoint is not None and config.checkpoint_every and result.adam_done % config.checkpoint_every == 0:
                _save_checkpoint(checkpoint, model, adam, result, "adam", sched)
        bar.close()
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, None, result, "lbfgs")
    if config.lbfgs_steps and start_phase != "done":
        bar = tqdm(total=config.lbfgs_steps, desc=f"{desc} (L-BFGS)", disable=not progress, leave=False)

        def evaluate(X: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Loss and gradient at the one iterate X (1, P); history as before."""
            _set_flat(params, X[0])
            for p in params:
                p.grad = None
            loss = loss_fn()
            val = float(loss.detach())
            result.lbfgs_evals += 1
            if math.isfinite(val):
                loss.backward()
                result.history.append(val)
                result.phases.append("lbfgs")
                g = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
            else:
                g = torch.zeros(X.shape[1], dtype=X.dtype)
            return torch.tensor([val], dtype=X.dtype), g.detach().reshape(1, -1).clone()

        x0 = torch.cat([p.detach().reshape(-1) for p in params]).reshape(1, -1).clone()
        try:
            res = lbfgs(evaluate, x0, LbfgsSettings.for_steps(config.lbfgs_steps), on_iteration=lambda n: bar.update(n - bar.n))
        finally:
            bar.close()
        _set_flat(params, res.x[0])   # the last accepted iterate: never above the starting loss
        final = loss_fn()
        result.history.append(_check(final, model, "the end of L-BFGS", None, config.divergence_factor))
        result.phases.append("final")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, None, result, "done")
    result.wall_time = time.perf_counter() - t0
    return result
