"""Where sweep tasks run: a local process pool or Ray core tasks, behind one small interface.

Holds :class:`_LocalBackend` (``spawn`` workers, one torch thread each, that die with the
sweep process even when it is SIGKILLed), :class:`_RayBackend` (joins ``--address`` or
starts a fresh local instance), :func:`check_ray_address` (refuses, within a stated timeout,
a Ray address nothing answers on, instead of Ray's own retries for minutes) and
:class:`_WorkerLost`. Both backends run :func:`.worker.run_chunk`, which workers import by
its module path. Imports the standard library, ``algodiscover.errors`` and ``.worker``; Ray
only when the ray backend is chosen.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.parse
from typing import Any, Sequence

from ..errors import InputError
from .defaults import DEFAULT_RAY_TIMEOUT
from .worker import _one_line, run_chunk

__all__ = ["check_ray_address", "RAY_MISSING", "DEFAULT_RAY_TIMEOUT"]

RAY_MISSING = "the ray backend needs Ray, which is not installed: pip install 'algodiscover[distributed]' (or: pip install ray)"
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _local_worker_init(sweep_pid: int) -> None:
    """Make a pool worker die with the sweep process, even when that is SIGKILLed (an idle
    worker of a dead pool would otherwise wait forever): ``PR_SET_PDEATHSIG`` on Linux,
    and a thread that exits when the worker is re-parented, everywhere."""
    import signal
    import threading

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != sweep_pid:       # the sweep died before the line above took effect
        os._exit(1)
    # Progress bars are off in workers; give tqdm a thread lock so it creates no
    # multiprocessing semaphore that a terminated worker would leave behind.
    from tqdm.std import tqdm as _tqdm

    _tqdm.set_lock(threading.RLock())

    def watch() -> None:
        while True:
            time.sleep(2.0)
            if os.getppid() != sweep_pid:
                os._exit(1)

    threading.Thread(target=watch, name="algodiscover-parent-watch", daemon=True).start()


class _LocalBackend:
    """A process pool of ``spawn`` workers (children of the sweep process, which share no
    open files with it and die with it)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_local_worker_init, initargs=(os.getpid(),))

    def submit(self, payload: dict[str, Any]) -> Any:
        return self.pool.submit(run_chunk, payload)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Any) -> list[dict[str, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return handle.result()
        except BrokenProcessPool:
            raise _WorkerLost("a worker process died (killed, or out of memory)") from None

    def shutdown(self, interrupted: bool) -> None:
        if interrupted:
            procs = list(getattr(self.pool, "_processes", {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:  # the pool's own workers, started by this sweep
                if p.is_alive():
                    p.terminate()
        else:
            self.pool.shutdown(wait=True)


def _import_ray(address: str | None) -> Any:
    """Import Ray (:class:`InputError` with the install line when it is missing).

    Without ``address`` the sweep starts its own single-machine instance; Ray then binds to
    the loopback interface only if ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` is false when Ray is
    first imported (its single-machine mode), so that is set unless the user set it.
    """
    if not address:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise InputError(RAY_MISSING) from None
    return ray


def check_ray_address(address: str, timeout: float = DEFAULT_RAY_TIMEOUT) -> None:
    """Refuse, within ``timeout`` seconds, a Ray ``address`` where nothing answers.

    Ray itself keeps retrying an unreachable cluster for many minutes; this opens a TCP
    connection to the address's host and port first (for ``localhost``/``127.0.0.1`` also
    to this node's IP, which Ray connects to instead) and raises :class:`InputError` (one
    line naming the address) when none connects in time. ``auto`` is resolved as Ray does
    (``RAY_ADDRESS``, then the cluster started here with ``ray start``) when Ray can say;
    forms neither can resolve are left to Ray.
    """
    targets = _ray_targets(address)
    if not targets:
        return
    deadline = time.monotonic() + timeout
    reason = "no answer"
    for host, port in targets:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.create_connection((host, port), timeout=left):
                return
        except TimeoutError:
            reason = "no answer"
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
    raise InputError(f"--address {address}: cannot reach a Ray cluster there within {timeout:g} s ({reason}); "
                     f"start it with 'ray start --head' or give a longer --ray-timeout")


def _ray_targets(address: str) -> list[tuple[str, int]]:
    """The (host, port) pairs a connection to ``address`` may use, first those Ray uses."""
    text = address.strip()
    scheme = ""
    if "://" in text:
        scheme, _, text = text.partition("://")
    out: list[tuple[str, int]] = []
    if scheme == "":
        try:  # Ray's own reading of the address (RAY_ADDRESS, "auto", localhost -> node IP)
            from ray._private.services import canonicalize_bootstrap_address

            resolved = canonicalize_bootstrap_address(text)
        except Exception:  # no such helper in this Ray version, or Ray cannot resolve it
            resolved = None
        if resolved:
            out += _split_host_port(resolved, default_port=None)
    elif scheme != "ray":  # another scheme (e.g. anyscale://): Ray's business
        return []
    for host, port in _split_host_port(text, default_port=10001 if scheme == "ray" else None):
        out.append((host, port))
        if host in _LOOPBACK:
            try:
                import ray.util

                out.append((ray.util.get_node_ip_address(), port))
            except Exception:  # Ray cannot tell this node's IP: the loopback address alone
                pass
    return list(dict.fromkeys(out))


def _split_host_port(text: str, default_port: int | None) -> list[tuple[str, int]]:
    try:
        u = urllib.parse.urlsplit("//" + text)
        port = u.port if u.port is not None else default_port
    except ValueError:
        return []
    if not u.hostname or port is None:
        return []
    return [(u.hostname, port)]


class _RayBackend:
    """Ray core tasks; joins ``address`` or starts a fresh local instance (loopback only)."""

    name = "ray"

    def __init__(self, address: str | None, max_concurrent: int | None, quiet: bool) -> None:
        ray = _import_ray(address)
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": not quiet,
                                  "configure_logging": True}
            try:
                if address:
                    ray.init(address=address, **kw)
                else:  # "local": never join some other cluster found on this machine
                    ray.init(address="local", num_cpus=max_concurrent or os.cpu_count() or 1, **kw)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"--address {address}" if address else "a local Ray instance"
                raise InputError(f"{where}: cannot start or join Ray ({_one_line(exc).splitlines()[0]})") from None
            self.started = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.remote = ray.remote(num_cpus=1, max_retries=0)(run_chunk)

    def submit(self, payload: dict[str, Any]) -> Any:
        return self.remote.remote(payload)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        return list(ready)

    def result(self, handle: Any) -> list[dict[str, Any]]:
        try:
            return self.ray.get(handle)
        except self.ray.exceptions.RayTaskError as exc:
            raise RuntimeError(str(exc).splitlines()[0]) from None
        except self.ray.exceptions.RayError as exc:  # worker or node died
            raise _WorkerLost(f"a Ray worker was lost ({exc.__class__.__name__})") from None

    def shutdown(self, interrupted: bool, handles: Sequence[Any] = ()) -> None:
        if interrupted:
            for h in handles:
                try:
                    self.ray.cancel(h, force=True)
                except Exception:  # already finished or gone
                    pass
        if self.started:
            self.ray.shutdown()


class _WorkerLost(RuntimeError):
    """A worker died; its runs go back to pending."""
