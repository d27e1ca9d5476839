"""The ``sweep`` command: its arguments, the command function and ``python -m algodiscover.sweep``.

Holds :func:`add_parser` (registers ``sweep`` on the CLI's subparsers; ``algodiscover.cli``
imports it while building its parser, so this module and everything it imports at module
level stay light), :func:`cmd_sweep` (runs the sweep of parsed arguments) and :func:`main`
(the command on its own, same exit codes). Imports the standard library,
``algodiscover.cliargs`` (the shared argument types and exit codes; never
``algodiscover.cli``), the sweep modules ``spec``, ``report`` and ``runner``, and
``analysis.errors`` inside :func:`main`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from ..cliargs import EXIT_BAD_INPUT, Parser, positive_int
from .report import _fmt
from .runner import _SweepAborted, run_sweep
from .spec import BACKENDS

__all__ = ["add_parser", "cmd_sweep", "main"]

DESCRIPTION = "Structure sweeps: grid and random search over run configurations, resumable, on a local process pool or a Ray cluster, with a Pareto report of accuracy against cost."


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec: [sweep], [base] run config, [grid], [random] (see 'python -m pydoc algodiscover.sweep')")
    p.add_argument("--backend", choices=BACKENDS, default=None, help="local process pool or ray (default: the spec's sweep.backend, else local)")
    p.add_argument("--address", metavar="ADDR", default=None, help="join this Ray cluster (ray backend; default: start a local one)")
    p.add_argument("--max-concurrent", type=positive_int, default=None, metavar="N", help="tasks in flight (default: CPU count)")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out: rerun interrupted runs, add new configurations")
    p.add_argument("--retry-failed", action="store_true", help="with --resume, also rerun runs that failed with an error")
    p.add_argument("--out", metavar="DIR", default=None, help="sweep directory (default ./sweeps/<name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``sweep`` on the CLI's subparsers (``cmd_sweep`` runs it)."""
    p = subparsers.add_parser("sweep", help="grid/random search over structures and seeds (resumable; SQLite; Pareto report)",
                              description="Run a sweep spec on a local process pool or Ray; results go to DIR/sweep.db, runs to DIR/runs/, the Pareto report to DIR/report.html.")
    _add_arguments(p)
    return p


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep of parsed CLI arguments; 0 when every run finished (done or diverged),
    1 when some failed with an error or a worker died, 130 when interrupted."""
    import signal

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave SIGTERM alone
        old = None
    printer = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    try:
        res = run_sweep(args.spec, args.out, backend=args.backend, address=args.address, max_concurrent=args.max_concurrent,
                        resume=args.resume, retry_failed=args.retry_failed, progress=not args.quiet, log=printer)
    except _SweepAborted as exc:
        print(f"algodiscover: sweep stopped: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("algodiscover: sweep interrupted; finished runs are kept, rerun with --resume to continue", file=sys.stderr)
        return 130
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    c = res.counts
    print(f"sweep {res.out_dir}: {c['done']} done, {c['diverged']} diverged, {c['failed']} failed"
          + (f", {c['pending'] + c['running']} not run" if c["pending"] + c["running"] else "") + f" ({res.ran} run now)")
    if res.front:
        unit = res.front[0]["cost_unit"]
        print(f"Pareto front ({res.front[0]['error_metric']} against {unit}):")
        for r in res.front:
            print(f"  cost {_fmt(r['cost'])}  error {_fmt(r['error'])}  {r['run_dir']}")
    if res.report is not None:
        print(f"report: {res.report}")
    return 1 if c["failed"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m algodiscover.sweep``: the ``sweep`` command on its own (same exit codes)."""
    from ..analysis.errors import AnalysisInputError

    p = Parser(prog="algodiscover sweep", description=DESCRIPTION)
    _add_arguments(p)
    args = p.parse_args(argv)
    try:
        return cmd_sweep(args)
    except AnalysisInputError as exc:
        print(f"algodiscover: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
