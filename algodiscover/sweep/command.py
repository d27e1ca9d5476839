"""The ``sweep`` command: its arguments, the command function and ``python -m algodiscover.sweep``.

Holds :func:`add_parser` (registers ``sweep`` on the CLI's subparsers; ``algodiscover.cli``
imports it while building its parser, so this module and everything it imports at module
level stay light), :func:`cmd_sweep` (runs the sweep of parsed arguments: human summary or,
with ``--json``, one JSON document on stdout and nothing else there) and :func:`main` (the
command on its own, same exit codes). Imports the standard library, ``algodiscover.cliargs``
(the shared argument types and exit codes; never ``algodiscover.cli``), the sweep modules
``spec``, ``backends``, ``report`` and ``runner``, and ``analysis.errors`` inside :func:`main`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any, Iterator, Sequence

from ..cliargs import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Parser, nonneg_float, positive_int
from .defaults import BACKENDS, DEFAULT_MAX_CONFIGS, DEFAULT_RAY_TIMEOUT

__all__ = ["add_parser", "cmd_sweep", "main"]

DESCRIPTION = """Run a sweep spec (grid and random search over run configurations) on a local process
pool or Ray; results go to DIR/sweep.db, runs to DIR/runs/, the Pareto report to
DIR/report.html. The spec format: python -m pydoc algodiscover.sweep"""
EPILOG = """example:
  algodiscover sweep structures.toml --max-concurrent 4 --out sweeps/structures --json > summary.json

exit codes: 0 every run finished (done or diverged), 1 some run failed or a worker died,
2 bad input (one line on stderr), 130 interrupted (rerun with --resume)."""


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec: [sweep], [base] run config, [grid], [random]")
    p.add_argument("--backend", choices=BACKENDS, default=None, help="local process pool or ray (default: the spec's sweep.backend, else local)")
    p.add_argument("--address", metavar="ADDR", default=None,
                   help="join this Ray cluster, host:port, ray://host:port or auto (ray backend; default: start a local Ray instance)")
    p.add_argument("--ray-timeout", type=nonneg_float, default=DEFAULT_RAY_TIMEOUT, metavar="S",
                   help=f"give up (exit 2) when the cluster of --address cannot be reached within S seconds (default: {DEFAULT_RAY_TIMEOUT:g})")
    p.add_argument("--max-concurrent", type=positive_int, default=None, metavar="N",
                   help="tasks in flight (default: the spec's sweep.max_concurrent, else the CPU count or the Ray cluster's CPUs)")
    p.add_argument("--max-configs", type=positive_int, default=None, metavar="N",
                   help=f"refuse a spec that expands to more than N configurations (default: the spec's sweep.max_configs, "
                        f"else {DEFAULT_MAX_CONFIGS:,})")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out: rerun interrupted runs, add new configurations (default: off)")
    p.add_argument("--retry-failed", action="store_true", help="with --resume, also rerun runs that failed with an error (default: off)")
    p.add_argument("--out", metavar="DIR", default=None, help="the sweep's output directory (default: ./sweeps/<sweep.name>)")
    p.add_argument("--json", action="store_true",
                   help="print the summary and the Pareto front as JSON on stdout, nothing else there (default: text)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no progress messages (default: off)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``sweep`` on the CLI's subparsers (``cmd_sweep`` runs it)."""
    p = subparsers.add_parser("sweep", help="grid/random search over structures and seeds (resumable; SQLite; Pareto report)",
                              description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    return p


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout meanwhile to stderr: Python's ``sys.stdout`` and
    file descriptor 1, which worker processes and a Ray instance started here inherit."""
    sys.stdout.flush()
    try:
        saved: int | None = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no usable descriptor 1: Python-level redirection only
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep of parsed CLI arguments; 0 when every run finished (done or diverged),
    1 when some failed with an error or a worker died, 130 when interrupted. Bad input
    raises ``InputError`` (the caller prints it in one line and exits 2)."""
    import signal

    from .report import _fmt
    from .runner import _SweepAborted, run_sweep

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave SIGTERM alone
        old = None
    printer = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    guard = _stdout_to_stderr() if args.json else contextlib.nullcontext()
    try:
        with guard:
            res = run_sweep(args.spec, args.out, backend=args.backend, address=args.address, max_concurrent=args.max_concurrent,
                            resume=args.resume, retry_failed=args.retry_failed, progress=not args.quiet, log=printer,
                            max_configs=args.max_configs, ray_timeout=args.ray_timeout)
    except _SweepAborted as exc:
        print(f"algodiscover: sweep stopped: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("algodiscover: sweep interrupted; finished runs are kept, rerun with --resume to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    c = res.counts
    if args.json:
        print(json.dumps(res.to_json(), indent=2, allow_nan=False))
    else:
        print(f"sweep {res.out_dir}: {c['done']} done, {c['diverged']} diverged, {c['failed']} failed"
              + (f", {c['pending'] + c['running']} not run" if c["pending"] + c["running"] else "") + f" ({res.ran} run now)")
        if res.front:
            unit = res.front[0]["cost_unit"]
            print(f"Pareto front ({res.front[0]['error_metric']} against {unit}):")
            for r in res.front:
                print(f"  cost {_fmt(r['cost'])}  error {_fmt(r['error'])}  {r['run_dir']}")
        if res.report is not None:
            print(f"report: {res.report}")
    return EXIT_FAILED if c["failed"] else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m algodiscover.sweep``: the ``sweep`` command on its own (same exit codes)."""
    from ..analysis.errors import AnalysisInputError

    p = Parser(prog="algodiscover sweep", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    args = p.parse_args(argv)
    try:
        return cmd_sweep(args)
    except AnalysisInputError as exc:
        print(f"algodiscover: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
