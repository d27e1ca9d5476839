"""Running a sweep: expand the spec, claim pending rows, feed a backend, store what comes back.

Holds :func:`run_sweep` (the whole sweep, resumable, one process per directory),
:class:`SweepResult`, and its pieces: splitting pending rows into same-shape chunks
(:func:`_chunks`), the submit/wait loop that claims rows just before their task is submitted
and gives them back on interruption, the atomic writing of run directories, and the HTML
reports of the Pareto-front runs. Imports the standard library, ``algodiscover.errors``,
``analysis`` (its atomic writer) and the other modules of the sweep package (``spec``, ``store``,
``worker``, ``backends``, ``report``); only ``command`` and the package ``__init__`` import it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..analysis import write_atomic
from ..errors import InputError
from .backends import DEFAULT_RAY_TIMEOUT, _import_ray, _LocalBackend, _RayBackend, _WorkerLost, check_ray_address
from .report import _front_rows, write_sweep_report
from .spec import BACKENDS, SweepSpec, check_size, expand_spec, load_spec
from .store import DB_NAME, SweepStore, _DirLock, _finite, _json_safe
from .worker import _one_line, _render_run

__all__ = ["run_sweep", "SweepResult"]


@dataclass
class SweepResult:
    """What :func:`run_sweep` did."""

    out_dir: Path
    database: Path
    report: Path | None
    counts: dict[str, int]
    ran: int
    added: int
    reset: int
    front: list[dict[str, Any]] = field(default_factory=list)
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """The summary ``sweep --json`` prints: paths, counts by status, what this call did,
        and the Pareto front (cheapest first) with each run's swept values and metrics."""
        return _finite({
            "sweep": self.name, "out_dir": str(self.out_dir), "database": str(self.database),
            "report": None if self.report is None else str(self.report),
            "counts": dict(self.counts), "total": sum(self.counts.values()), "ran": self.ran, "added": self.added,
            "reset": self.reset, "front": [_front_entry(r) for r in self.front],
        })


_FRONT_KEYS = ("run_id", "config_hash", "run_dir", "cost", "cost_unit", "error", "error_metric", "exact_order",
               "personalised_order", "measured_order", "best_classical_ratio", "final_loss")


def _front_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    metrics = json.loads(row["metrics"]) if row.get("metrics") else {}
    return {**{k: row.get(k) for k in _FRONT_KEYS}, "assignment": json.loads(row.get("assignment") or "{}"),
            "identified_as": metrics.get("identified_as"), "best_classical": metrics.get("best_classical")}


def run_sweep(
    spec: SweepSpec | str | Path,
    out_dir: str | Path | None = None,
    *,
    backend: str | None = None,
    address: str | None = None,
    max_concurrent: int | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    log: Callable[[str], None] | None = None,
    max_configs: int | None = None,
    ray_timeout: float = DEFAULT_RAY_TIMEOUT,
) -> SweepResult:
    """Run (or resume) a sweep (the spec format and what is written: ``algodiscover.sweep``).

    ``on_result`` is called with each finished row (a dict of the database columns) after
    it is stored; an exception it raises stops the sweep like an interruption (rows in
    flight go back to ``pending``). ``max_configs`` replaces the spec's limit on its
    configuration count (``sweep.max_configs``, default ``DEFAULT_MAX_CONFIGS``);
    ``ray_timeout`` is how long to try to reach the cluster of ``address``. Raises
    :class:`InputError` for bad specs and options, a spec over the limit and an unreachable
    ``address``; nothing is written before these checks pass.
    """
    say = log or (lambda s: None)
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    backend = backend or spec.backend
    if backend not in BACKENDS:
        raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if address and backend != "ray":
        raise InputError("--address joins a Ray cluster; it needs --backend ray")
    if max_concurrent is not None and max_concurrent < 1:
        raise InputError(f"--max-concurrent must be >= 1, got {max_concurrent}")
    if max_configs is not None and max_configs < 1:
        raise InputError(f"--max-configs must be >= 1, got {max_configs}")
    if not (isinstance(ray_timeout, (int, float)) and math.isfinite(ray_timeout) and ray_timeout > 0):
        raise InputError(f"--ray-timeout must be a number of seconds > 0, got {ray_timeout!r}")
    check_size(spec, max_configs)
    if backend == "ray":
        _import_ray(address)
        if address:
            check_ray_address(address, ray_timeout)
    out = Path(out_dir) if out_dir is not None else Path("sweeps") / spec.name
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    runs = expand_spec(spec, max_configs)
    out.mkdir(parents=True, exist_ok=True)
    lock = _DirLock(out)
    store: SweepStore | None = None
    try:
        store = SweepStore(out / DB_NAME)
        existing = store.count()
        _remove_partial_run_dirs(out / "runs")
        if existing and not resume:
            raise InputError(f"{out}: already holds a sweep ({existing} runs); pass --resume to continue it, or choose another --out")
        reset = store.reset("running")
        if retry_failed:
            reset += store.reset("failed")
        added = store.add(runs)
        store.set_meta("name", spec.name)
        store.set_meta("spec", json.dumps(spec.to_json(), default=_json_safe))
        store.set_meta("swept_keys", json.dumps(spec.swept_keys))
        if spec.text:
            write_atomic(out / "spec.toml", spec.text)
        hashes = {r.hash for r in runs}
        todo = store.pending(hashes)
        stray = len(store.pending()) - len(todo)
        if resume:
            say(f"resuming {out}: {store.count('done')} done, {reset} interrupted or retried, {added} new, {len(todo)} to run"
                + (f" ({stray} pending runs are no longer in the spec and are left alone)" if stray else ""))
        else:
            dup = spec.size - len(runs)
            say(f"sweep {spec.name}: {len(runs)} configurations" + (f" ({dup} duplicates dropped)" if dup else "") + f" -> {out}")
        try:
            ran = _execute(spec, store, todo, out, backend, address, max_concurrent, progress, on_result, say) if todo else 0
        except BaseException:
            try:  # the report of what finished is still worth having
                write_sweep_report(out, store=store)
            except Exception:
                pass
            raise
        if spec.front_reports:
            _render_front_reports(out, _front_rows(store.rows()), say)
        report = write_sweep_report(out, store=store)
        return SweepResult(out, out / DB_NAME, report, store.counts(), ran, added, reset, _front_rows(store.rows()), spec.name)
    finally:
        if store is not None:
            store.close()
        lock.release()


def _chunks(rows: Sequence[sqlite3.Row], workers: int, max_size: int) -> list[list[sqlite3.Row]]:
    """Split pending rows into tasks: same-shape groups cut into near-equal chunks of at
    most ``max_size``, aiming at ``workers`` or more tasks so the pool stays busy."""
    groups: dict[Any, list[sqlite3.Row]] = {}
    order: list[Any] = []
    for r in rows:
        key = r["group_key"] if r["group_key"] is not None else ("alone", r["config_hash"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    target = max(1, min(max_size, math.ceil(len(rows) / max(1, workers))))
    out: list[list[sqlite3.Row]] = []
    for key in order:
        g = groups[key]
        n = math.ceil(len(g) / target)
        size = math.ceil(len(g) / n)
        out += [g[i:i + size] for i in range(0, len(g), size)]
    return out


def _execute(spec: SweepSpec, store: SweepStore, todo: list[sqlite3.Row], out: Path, backend_name: str, address: str | None,
             max_concurrent: int | None, progress: bool, on_result: Callable[[dict[str, Any]], None] | None,
             say: Callable[[str], None]) -> int:
    from tqdm.auto import tqdm

    owner = f"{socket.gethostname()}:{os.getpid()}:{time.time():.3f}"
    conc = max_concurrent or spec.max_concurrent
    if backend_name == "local":
        workers = conc or os.cpu_count() or 1
        backend: Any = _LocalBackend(workers)
    else:
        backend = _RayBackend(address, conc, quiet=not progress)
        workers = conc or backend.workers
    env = {k: os.environ[k] for k in ("ALGODISCOVER_CACHE",) if k in os.environ}
    queue = deque(_chunks(todo, workers, spec.ensemble))
    in_flight: dict[Any, list[str]] = {}
    bar = tqdm(total=len(todo), desc=f"sweep {spec.name}", unit="run", disable=not progress)
    tally = {"done": 0, "diverged": 0, "failed": 0}
    ran = 0
    clean = False
    try:
        while queue or in_flight:
            while queue and len(in_flight) < workers:
                chunk = queue.popleft()
                claimed = store.claim([r["config_hash"] for r in chunk], owner)
                if not claimed:
                    continue
                by_hash = {r["config_hash"]: r for r in chunk}
                payload = {"runs": [{"hash": h, "config": json.loads(by_hash[h]["config"])} for h in claimed],
                           "formats": list(spec.formats), "ensemble": spec.ensemble > 1, "env": env, "threads": 1}
                in_flight[backend.submit(payload)] = claimed
            for handle in backend.wait(list(in_flight), timeout=1.0):
                hashes = in_flight.pop(handle)
                try:
                    results = backend.result(handle)
                except _WorkerLost as exc:
                    store.release(hashes, owner)
                    raise _SweepAborted(f"{exc}; its {len(hashes)} runs are pending again (rerun with --resume)") from None
                except Exception as exc:
                    results = [{"hash": h, "status": "failed", "message": _one_line(exc)} for h in hashes]
                for res in results:
                    row = _store_result(store, out, res, owner, backend.name)
                    ran += 1
                    tally[res["status"]] = tally.get(res["status"], 0) + 1
                    bar.update(1)
                    bar.set_postfix(tally, refresh=False)
                    if on_result is not None:
                        on_result(row)
        clean = True
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM, an on_result callback) or aborted: rows in flight
        # go back to pending; finished rows stay
        store.release([h for hs in in_flight.values() for h in hs], owner)
        raise
    finally:
        bar.close()
        if isinstance(backend, _RayBackend):
            backend.shutdown(interrupted=not clean, handles=list(in_flight))
        else:
            backend.shutdown(interrupted=not clean)
    return ran


class _SweepAborted(RuntimeError):
    """The sweep cannot go on (a worker died); finished rows are kept."""


def _store_result(store: SweepStore, out: Path, res: dict[str, Any], owner: str, backend: str) -> dict[str, Any]:
    h = res["hash"]
    run_id = h[:16]
    run_dir = None
    if res["status"] == "done":
        _write_run_dir(out / "runs" / run_id, res.get("files", {}))
        run_dir = f"runs/{run_id}"
    store.finish(h, owner, res, run_dir, backend)
    row = store.db.execute("SELECT * FROM runs WHERE config_hash = ?", (h,)).fetchone()
    return dict(row)


def _write_run_dir(target: Path, files: Mapping[str, bytes]) -> None:
    """Write a run directory atomically: a temporary sibling, then a rename."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    # not tempfile.mkdtemp: its 0700 would become the run directory's mode; mkdir follows the umask
    tmp = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        for rel, data in files.items():
            p = tmp / rel
            if ".." in Path(rel).parts or Path(rel).is_absolute():
                raise RuntimeError(f"refusing to write {rel!r} outside the run directory")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _render_front_reports(out: Path, front: Sequence[Mapping[str, Any]], say: Callable[[str], None]) -> None:
    """HTML reports (``reports.render_run``) for the Pareto-front runs that have none."""
    missing = [r for r in front if r["run_dir"] and not (out / r["run_dir"] / "report.html").exists()]
    render = _render_run() if missing else None
    if render is None:
        return
    for r in missing:
        d = out / r["run_dir"]
        try:
            render(json.loads((d / "analysis.json").read_text(encoding="utf-8")), d, formats=("html",))
        except Exception as exc:  # a report that cannot be drawn must not lose the sweep
            say(f"warning: no report for {r['run_dir']}: {_one_line(exc)}")


def _remove_partial_run_dirs(runs_dir: Path) -> None:
    """Delete half-written run directories (``runs/.<id>.*``) a killed sweep left behind;
    only called with the directory lock held."""
    import shutil

    if runs_dir.is_dir():
        for p in runs_dir.glob(".*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
