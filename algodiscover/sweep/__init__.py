"""Structure sweeps: grid and random search over run configurations, resumable, on a local
process pool or a Ray cluster, with a Pareto report of accuracy against cost.

::

    algodiscover sweep SPEC.toml [--backend local|ray] [--address ADDR] [--ray-timeout S]
                                 [--max-concurrent N] [--max-configs N] [--resume]
                                 [--retry-failed] [--out DIR] [--json] [--quiet]
    python -m algodiscover.sweep SPEC.toml ...          (the same, without the CLI wiring)

The spec (TOML)
---------------
::

    [sweep]
    name = "square-structures"   # default: the spec file's stem; runs go to sweeps/<name>
    backend = "local"            # local (process pool, default) | ray
    max_concurrent = 2           # tasks in flight (default: CPU count / the Ray cluster's CPUs)
    ensemble = 64                # at most this many same-shape runs trained together in one
                                 # task (algodiscover.ensemble); 1 trains each run alone
    formats = []                 # reports for every run: html, tex, pdf (default none; a
                                 # report costs a few seconds, more than a small training)
    front_reports = true         # after the sweep, HTML reports for the Pareto-front runs
    seed = 0                     # seed of the random search's draws
    max_configs = 10000          # refuse a larger expansion (default 10,000; --max-configs
                                 # replaces it)

    [base]                       # one run configuration: the keys of `discover --config`
    problem = { class = "ode", family = "square" }
    train = { adam_steps = 100, lbfgs_steps = 50 }
    ode = { samples = 128 }

    [grid]                       # dotted keys -> lists; every combination is run
    "model.stages" = [2, 3, 4]
    "model.outer" = [1, 2]
    seed = [0, 1, 2]

    [random]                     # `samples` draws, crossed with every grid point
    samples = 4
    "train.lr" = { log_uniform = [0.003, 0.05] }
    "ode.taylor_weight" = { uniform = [0.0, 100.0] }
    "model.init_scale" = { choice = [0.05, 0.1, 0.2] }
    "train.adam_steps" = { int_uniform = [50, 200] }      # inclusive

Keys are ``seed``, ``model.<field>``, ``train.<field>`` and ``<class>.<option>`` (e.g.
``ode.samples``); a sweep covers one problem family, so ``problem.*``, ``name`` and the
custom ``family`` table are set in ``[base]`` only. The run count is ``|grid| x samples``;
the same random draws are used at every grid point, so grid keys such as ``seed`` act as
replicates. Unknown keys, empty lists, bad ranges (low > high, non-positive log bounds)
and values that make an invalid configuration are reported with the key named (exit 2).
A spec whose count exceeds ``max_configs`` is refused before anything is drawn or written,
with one line naming the spec and the count.

What a sweep writes
-------------------
``DIR/sweep.db`` (SQLite, one row per configuration: config hash, config JSON, the swept
values, status ``pending|running|done|diverged|failed``, metrics, run directory, timings),
``DIR/runs/<id>/`` (``algorithm.json``, ``config.toml``, ``analysis.json`` and the reports,
exactly as ``algodiscover discover`` writes them; ``report.html`` for the Pareto-front runs
by default) and ``DIR/report.html`` (self-contained: the Pareto front of accuracy against
cost, a matplotlib figure in the style of the run reports inlined as SVG, whose points link
to the runs' reports or analyses). ``--json`` prints the summary (counts, paths) and the
Pareto front as one JSON document on stdout; messages and the progress bar go to stderr.

Accuracy and cost: for integrators, the mean one-step error of the distilled method on
held-out problems of the family against the function evaluations per step (= stages); for
polynomial (Krylov) iterations, the residual reduction factor per outer iteration against
the matvecs per iteration; otherwise the final training loss against the stages.

Resuming: the configuration hash (SHA-256 of the run configuration without its name) is the
primary key; rows are claimed atomically (``pending -> running``) just before their task is
submitted. ``--resume`` re-expands the spec (new configurations are added, so a sweep can be
extended), turns rows left ``running`` by a killed sweep back to ``pending`` and runs the
pending rows of the spec; finished rows are never trained again. ``--retry-failed`` also
re-runs rows that failed with an error. One sweep process at a time may use a directory
(an advisory lock; a second one exits 2).

Backends: ``local`` runs tasks in a process pool (``spawn`` workers, one torch thread each,
which exit with the sweep process even when it is killed). ``ray`` (``pip install
'algodiscover[distributed]'``) submits the same tasks as Ray core tasks; ``--address`` joins
a running cluster (``auto`` for one started on this machine with ``ray start``; every node
needs algodiscover installed; an address where nothing answers within ``--ray-timeout``
seconds, default 30, is refused with exit 2), otherwise a fresh local Ray instance is
started with ``max_concurrent`` CPUs, bound to the loopback interface. A Ray instance the
calling program already initialised (``ray.init``) is used as it is. Workers return the run
files to the sweep process, which writes them, so nodes need no shared file system. A task
is a chunk of same-shape configurations trained as one ensemble, then analysed run by run;
a killed sweep loses at most the tasks in flight.

Layout of the package: ``spec`` (schema, parsing, expansion, size limit), ``store`` (SQLite
store, claims, directory lock), ``worker`` (the task a worker runs, run metrics),
``backends`` (local process pool, Ray), ``runner`` (:func:`run_sweep`), ``report`` (Pareto
front, figure, HTML report), ``command`` (the CLI). Each imports only the standard library
and lighter modules at module level, so ``algodiscover --help`` does not load torch.
"""

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the submodule that defines it (loaded on first use, so that the CLI's
#: ``--help`` does not import the sweep machinery)
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(('DEFAULT_RAY_TIMEOUT', 'RAY_MISSING', 'check_ray_address'), 'backends'),
    **dict.fromkeys(('add_parser', 'cmd_sweep', 'main'), 'command'),
    **dict.fromkeys(('REPORT_NAME', 'pareto_figure', 'pareto_front', 'render_sweep_html', 'write_sweep_report'), 'report'),
    **dict.fromkeys(('SweepResult', 'run_sweep'), 'runner'),
    **dict.fromkeys(('BACKENDS', 'DEFAULT_MAX_CONFIGS', 'DISTRIBUTIONS', 'Distribution', 'SweepRun', 'SweepSpec', 'check_size', 'config_hash', 'expand_spec', 'load_spec', 'spec_from_mapping'), 'spec'),
    **dict.fromkeys(('DB_NAME', 'STATUSES', 'SweepStore'), 'store'),
    **dict.fromkeys(('run_chunk', 'run_metrics'), 'worker'),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover
    from .backends import DEFAULT_RAY_TIMEOUT, RAY_MISSING, check_ray_address  # noqa: F401
    from .command import add_parser, cmd_sweep, main  # noqa: F401
    from .report import REPORT_NAME, pareto_figure, pareto_front, render_sweep_html, write_sweep_report  # noqa: F401
    from .runner import SweepResult, run_sweep  # noqa: F401
    from .spec import BACKENDS, DEFAULT_MAX_CONFIGS, DISTRIBUTIONS, Distribution, SweepRun, SweepSpec, check_size, config_hash, expand_spec, load_spec, spec_from_mapping  # noqa: F401
    from .store import DB_NAME, STATUSES, SweepStore  # noqa: F401
    from .worker import run_chunk, run_metrics  # noqa: F401
