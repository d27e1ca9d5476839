"""The ``algodiscover`` command line.

Conventions shared by every command:

* ``--json``: machine output on stdout (one JSON document, nothing else there);
* ``--quiet``: no progress bars or file lists, only the result;
* ``--out DIR``: the directory a command writes its files into (a run directory for
  ``discover``, ``train``, ``analyze`` and ``report``; the report and ``analysis.json`` of a
  checked tableau for ``check``; the sweep directory for ``sweep``);
* ``--format html,tex,pdf``: which reports to write into ``--out``;
* exit codes: 0 done, 1 the run itself failed (diverged training, a learned method worse
  than the simplest classical one), 2 bad input (one line on stderr, ``algodiscover: error:
  ...``, naming the input), 130 interrupted.

Heavy imports happen only in the commands that need them: ``--help`` loads no numerical
library, and ``check``/``methods`` never load torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .analysis.errors import AnalysisInputError
from .cliargs import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    Parser,
    add_output_options,
    nonneg_float,
    nonneg_int,
    parse_formats,
    positive_int,
)

_EXAMPLES = {
    "check": """examples:
  algodiscover check RK4                      a catalogue method (see 'algodiscover methods')
  algodiscover check my_tableau.json --max-order 8 --json
  algodiscover check GaussLegendre3 --out gl3 --format html,pdf""",
    "discover": """examples:
  algodiscover discover                       the built-in example: 2 stages on y' = -a y^2
  algodiscover discover ode --family vanderpol --stages 4 --out runs/vdp4
  algodiscover discover linear --family spd --stages 4 --outer 3
  algodiscover discover --config runs/ode-square-2/config.toml   reproduce a run""",
    "train": """examples:
  algodiscover train ode --family vanderpol --stages 4 --out runs/vdp4
  algodiscover analyze runs/vdp4 && algodiscover report runs/vdp4""",
    "analyze": """examples:
  algodiscover analyze runs/vdp4              writes runs/vdp4/analysis.json
  algodiscover analyze received/algorithm.json --out checked --format html --strict""",
    "report": """examples:
  algodiscover report runs/ode-square-2 --format html,tex,pdf""",
    "families": "example:\n  algodiscover families --json",
    "methods": "example:\n  algodiscover methods --quiet        one name per line",
}


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="algodiscover", description="Learn iterative numerical algorithms with R2N2 and distil them into exact, verified methods.",
               epilog="Run 'algodiscover COMMAND --help' for the options and an example of each command.")
    p.add_argument("--version", action="version", version=f"algodiscover {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    c = sub.add_parser("check", help="order conditions, exact order, stability and identity of a Butcher tableau",
                       description="Check the order conditions of any Runge-Kutta tableau, exactly where its entries are exact.",
                       epilog=_EXAMPLES["check"])
    c.add_argument("tableau", help="tableau JSON file {\"A\": [[..]], \"b\": [..], \"c\": [..]?, \"name\": ?}, or a catalogue name such as RK4")
    c.add_argument("--max-order", type=positive_int, default=None,
                   help="report every order 1..P, also past the first failure (default: stop at the first failure). "
                        "At most 400,000 rooted trees are evaluated: P <= 16 (376,464 trees, a few seconds), "
                        "less for tableaux with more than 63 stages; orders up to 14 take well under a second")
    c.add_argument("--tol", type=nonneg_float, default=None,
                   help="tolerance on |Phi(t) - 1/gamma(t)| relative to the coefficient scale max(1, |a_ij|, |b_i|) "
                        "(default: 0 for exact entries, 10^(2-d) for entries rounded to d digits such as long decimals "
                        "or float32 data, 1e-12 for float64)")
    add_output_options(c, "print the analysis as JSON instead of text", "print one line: order, exact order, stage order, identity")
    c.add_argument("--out", metavar="DIR", help="also write DIR/analysis.json and the reports of --format into DIR")
    c.add_argument("--format", default=None, help="reports written into --out: html,tex,pdf or none (default: html,tex)")
    c.add_argument("--report", metavar="FILE", default=None, help="also write one report FILE (.html, .tex or .pdf)")

    for name, helptext in (("discover", "train + distil + analyse + report (no arguments: the built-in example)"),
                           ("train", "train only: writes algorithm.json and config.toml")):
        d = sub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:] + ".", epilog=_EXAMPLES[name])
        d.add_argument("problem_class", nargs="?", choices=("ode", "linear", "nonlinear"), help="problem class (default ode, or the config's)")
        d.add_argument("--family", help="problem family (see 'algodiscover families')")
        d.add_argument("--stages", type=positive_int, help="inner evaluations n")
        d.add_argument("--outer", type=positive_int, help="outer iterations K")
        d.add_argument("--seed", type=nonneg_int, help="random seed (default 0)")
        d.add_argument("--config", metavar="FILE.toml", help="run configuration (see README)")
        d.add_argument("--name", help="run name (default <class>-<family>-<stages>)")
        d.add_argument("--out", metavar="DIR", help="run directory to write (default ./runs/<name>)")
        d.add_argument("--force", action="store_true", help="replace a different run already in --out")
        d.add_argument("--resume", action="store_true", help="continue an interrupted training from its checkpoint")
        add_output_options(d, "print what was written (and the analysis) as JSON")
        if name == "discover":
            d.add_argument("--format", default="html,tex", help="report formats: html,tex,pdf or none")

    an = sub.add_parser("analyze", help="distil and analyse an algorithm.json (completes a train-only run)",
                        description="Distil and analyse a learned algorithm; writes analysis.json beside it (or into --out).",
                        epilog=_EXAMPLES["analyze"])
    an.add_argument("algorithm", help="algorithm.json, or a run directory holding one")
    an.add_argument("--out", metavar="DIR", help="run directory to write analysis.json into (default: the artefact's own directory)")
    an.add_argument("--format", default="none", help="reports to write too: html,tex,pdf or none")
    an.add_argument("--strict", action="store_true", help="refuse an algorithm.json whose content hash is missing or wrong")
    add_output_options(an, "print the analysis as JSON")

    rp = sub.add_parser("report", help="render the reports of a run directory",
                        description="Render the reports of an analysed run directory.", epilog=_EXAMPLES["report"])
    rp.add_argument("run_dir")
    rp.add_argument("--out", metavar="DIR", help="directory to write the reports into (default: the run directory)")
    rp.add_argument("--format", default="html,tex", help="html,tex,pdf")
    rp.add_argument("--strict", action="store_true", help="refuse an algorithm.json whose content hash is missing or wrong")
    add_output_options(rp, "print the files written as JSON")

    fa = sub.add_parser("families", help="list the built-in problem families", epilog=_EXAMPLES["families"])
    add_output_options(fa, "print the families as JSON", "print only the family names")
    me = sub.add_parser("methods", help="list the catalogue of classical Runge-Kutta methods", epilog=_EXAMPLES["methods"])
    add_output_options(me, "print the catalogue as JSON", "print only the method names")
    from .sweep import add_parser as add_sweep_parser  # light import: torch loads only when a sweep runs

    add_sweep_parser(sub)
    return p


def _version() -> str:
    from . import __version__

    return __version__


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_json_default))


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


# ---------------------------------------------------------------------------- check
def _load_tableau_arg(text: str):
    """A ButcherTableau, or a TwoDerivativeTableau for a file with ``A2``/``b2`` (or a
    two-derivative catalogue name such as ChanTsai4)."""
    from .analysis import ButcherTableau, get_method
    from .analysis.tableau import read_tableau_json
    from .analysis.two_derivative import TwoDerivativeTableau, is_two_derivative

    path = Path(text)
    if path.is_file():
        data = read_tableau_json(path)
        if is_two_derivative(data):
            return TwoDerivativeTableau.from_dict(data, source=str(path))
        return ButcherTableau.from_dict(data, source=str(path))
    try:
        return get_method(text)
    except AnalysisInputError:
        from .analysis.two_derivative_methods import get_two_derivative_method

        try:
            return get_two_derivative_method(text)
        except AnalysisInputError:
            pass
        if text.endswith(".json") or path.parent != Path("."):
            raise AnalysisInputError(f"{text}: no such file") from None
        raise AnalysisInputError(f"{text}: no such file, and not a catalogue method name (see 'algodiscover methods')") from None


def _two_derivative_line(a) -> str:
    d = a.to_json()
    arith = "exact" if d.get("arithmetic") == "exact" else d.get("arithmetic", "float64")
    parts = [f"{d.get('name')}: two-derivative, order {d.get('order')} ({arith})"]
    if d.get("identified_as"):
        parts.append(f"identified as {d['identified_as']}")
    return ", ".join(parts)


def cmd_check(args: argparse.Namespace) -> int:
    from .analysis import ButcherTableau, analyze_tableau
    from .artefact import package_versions
    from .checktext import render_check_line, render_check_text

    formats = parse_formats(args.format if args.format is not None else "html,tex") if args.out else ()
    if args.format is not None and not args.out:
        raise AnalysisInputError("--format needs --out DIR (or use --report FILE for one report)")
    t = _load_tableau_arg(args.tableau)
    cmd = "algodiscover check " + " ".join(
        [args.tableau] + ([f"--max-order {args.max_order}"] if args.max_order else []) + ([f"--tol {args.tol:g}"] if args.tol is not None else []))
    extra = {"provenance": {"command": cmd, "versions": package_versions()}}
    if isinstance(t, ButcherTableau):
        a = analyze_tableau(t, max_order=args.max_order, tol=args.tol, extra=extra)
        text, line = render_check_text, render_check_line
    else:  # a two-derivative method
        from .analysis.two_derivative_assessment import analyze_two_derivative

        a = analyze_two_derivative(t, max_order=args.max_order, tol=args.tol, extra=extra)
        text, line = (lambda x: x.text()), _two_derivative_line
    data = a.to_json()
    written = []
    if args.report:
        from .reports import render_file

        written.append(render_file(data, Path(args.report)))
    if args.out:
        from .analysis import write_json_atomic
        from .reports import render_run

        out = Path(args.out)
        written.append(write_json_atomic(out / "analysis.json", data))
        written += render_run(data, out, formats=formats)
    if args.json:
        _print_json(data)
    elif args.quiet:
        print(line(a))
    else:
        print(text(a))
        if written:
            print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from .analysis import catalogue

    entries = list(catalogue().values())
    if args.json:
        _print_json([{"name": e.name, "stages": e.stages, "order": e.order, "embedded_order": e.embedded_order,
                      "explicit": e.explicit, "aliases": list(e.aliases), "reference": e.reference} for e in entries])
        return 0
    if args.quiet:
        print("\n".join(e.name for e in entries))
        return 0
    print(f"{'name':<22} {'stages':>6} {'order':>5}  {'type':<9} aliases")
    for e in entries:
        order = f"{e.order}" + (f"({e.embedded_order})" if e.embedded_order else "")
        print(f"{e.name:<22} {e.stages:>6} {order:>5}  {'explicit' if e.explicit else 'implicit':<9} {', '.join(e.aliases[:3])}")
    return 0


def cmd_families(args: argparse.Namespace) -> int:
    from .families import list_families

    fams = list_families()
    if args.json:
        _print_json([{"class": kind, "name": name, "description": desc} for kind, name, desc in fams])
    elif args.quiet:
        print("\n".join(name for _, name, _ in fams))
    else:
        for kind, name, desc in fams:
            print(f"{kind:<10} {name:<22} {desc}")
    return 0


# ---------------------------------------------------------------------------- runs
def _run_config(args: argparse.Namespace):
    from .config import default_config, load_config

    if args.config:
        cfg = load_config(args.config)
        if args.problem_class and args.problem_class != cfg.problem_class:
            raise AnalysisInputError(f"{args.config}: configures problem class {cfg.problem_class!r}, but the command asks for {args.problem_class!r}")
    else:
        cfg = default_config(args.problem_class or "ode")
    return cfg.with_overrides(family=args.family, stages=args.stages, outer=args.outer, seed=args.seed, name=args.name)


def _interval(ci: Any) -> str:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return ""
    return " [" + ", ".join(f"{v:.3g}" if isinstance(v, (int, float)) else str(v) for v in ci) + "]"


def training_problem(analysis: dict[str, Any]) -> str | None:
    """The one-line warning of a training that produced no usable integrator (inconsistent
    weights, or less accurate than forward Euler on the family), else None."""
    v = analysis.get("training_verdict")
    if isinstance(v, dict) and v.get("status", "ok") != "ok":
        return str(v.get("message") or f"training result: {v.get('status')}")
    return None


def _summary(analysis: dict[str, Any]) -> str:
    lines = []
    kind = analysis.get("kind")
    if kind == "runge-kutta":
        from .checktext import format_tableau
        from .analysis import ButcherTableau

        lines.append(f"learned {analysis['stages']}-stage integrator '{analysis['name']}'")
        problem = training_problem(analysis)
        if problem:
            lines.append(f"warning: {problem}")
        tgt = analysis.get("target_order") or {}
        if tgt and not tgt.get("reached", True):
            lines.append(f"note: {tgt['message']}")
        prim = analysis.get("primary") or {}
        dist = analysis.get("distillation") or {}
        hp = dist.get("high_precision")
        floats_first = prim.get("method") == "learned weights" or problem is not None
        if floats_first:
            t = ButcherTableau.from_dict(analysis["tableau"])
            if prim.get("method") == "learned weights":
                lines.append(f"primary result: the learned float64 weights; the distilled method is less accurate on the family "
                             f"(one-step error {prim['distilled_over_learned_error']:.3g} times theirs, 95% interval"
                             f"{_interval(prim.get('ci95'))}, {prim.get('n_instances')} held-out problems):")
            else:
                lines.append("learned float64 weights (no usable integrator, see the warning):")
            lines.append(format_tableau(t, exact=False))
        if analysis.get("rational"):
            t = ButcherTableau.from_dict(analysis["rational"])
            lines.append(("distilled exact tableau" + (f" ({dist['target']})" if dist.get("target") else "") + ":")
                         if not floats_first else "distilled exact tableau (less accurate than the learned weights):")
            lines.append(format_tableau(t))
        elif hp:
            t = ButcherTableau.from_dict(analysis["final_tableau_float"])
            lines.append(f"distilled tableau ({hp['target']}; no exact method nearby; {hp['digits']} digits in analysis.json, "
                         f"{hp['label']}):")
            lines.append(format_tableau(t, exact=False))
        elif not floats_first:
            lines.append("no exact or verified tableau near the learned weights; the learned float64 weights are the result")
        meas = analysis.get("measured") or {}
        lines.append(("distilled method: " if floats_first and (analysis.get("rational") or hp) else "")
                     + f"general order {analysis.get('exact_order', analysis['order'])}"
                     + (f", personalised order {analysis['personalised_order']} on {analysis['family']['name']}" if analysis.get("personalised_order") is not None else "")
                     + (f", {meas['description']}" if meas.get("description") else ""))
        if analysis.get("identified_as"):
            lines.append(f"identified as: {analysis['identified_as']}")
        comp = analysis.get("comparison_learned") or analysis.get("comparison")
        if comp:
            n = comp.get("n_instances", comp.get("n_samples"))
            lines.append(f"one-step error of each method / error of {comp['reference']} (> 1: {comp['reference']} is more accurate; "
                         f"95% bootstrap interval over {n} held-out problems):")
            for setting in ("in_distribution", "out_of_distribution"):
                rat = comp["ratios"].get(setting, {})
                cis = (comp.get("ci95") or {}).get(setting, {})
                if rat:
                    # against the learned weights the distilled method carries the run's name: say which it is
                    label = (lambda k: f"{k} (distilled)" if comp is analysis.get("comparison_learned") and k == analysis.get("name") else k)
                    lines.append(f"  {setting.replace('_', ' ')}: " + ", ".join(f"{label(k)} {v:.3g}{_interval(cis.get(k))}" for k, v in rat.items()))
    elif kind == "two-derivative-runge-kutta":
        from .analysis.two_derivative_assessment import two_derivative_summary

        lines += two_derivative_summary(analysis)
    elif kind == "multistep":
        from .analysis.multistep_assessment import multistep_summary

        lines += multistep_summary(analysis)
    elif analysis.get("summary"):
        lines.append(str(analysis["summary"]))
    return "\n".join(lines)


def _out_dir(args: argparse.Namespace, cfg) -> Path:
    return Path(args.out) if args.out else Path("runs") / cfg.run_name


def _files_json(res) -> dict[str, Any]:
    return {"run_dir": str(res.out_dir), "files": [str(p) for p in res.files], "content_hash": res.algorithm.content_hash,
            "final_loss": res.algorithm.training.get("final_loss"), "timings": res.timings}


def cmd_discover(args: argparse.Namespace) -> int:
    from .pipeline import run_discover
    from .errors import TrainingDiverged

    formats = parse_formats(args.format)
    cfg = _run_config(args)
    try:
        res = run_discover(cfg, _out_dir(args, cfg), formats=formats, progress=not (args.quiet or args.json), resume=args.resume, force=args.force)
    except TrainingDiverged as exc:
        print(f"algodiscover: {exc}", file=sys.stderr)
        return EXIT_FAILED
    code = _warn_training(res.analysis)
    if args.json:
        _print_json({**_files_json(res), "analysis": res.analysis})
        return code
    print(_summary(res.analysis))
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in res.files)}")
        print(f"time: train {res.timings['train_s']:.1f} s, analyse {res.timings['analyze_s']:.1f} s, report {res.timings['report_s']:.1f} s")
    return code


def _warn_training(analysis: dict[str, Any] | None) -> int:
    """Exit code 1 (with a warning on stderr) when training produced no usable integrator."""
    problem = training_problem(analysis or {})
    if problem is None:
        return 0
    print(f"algodiscover: warning: {problem}", file=sys.stderr)
    return EXIT_FAILED


def cmd_train(args: argparse.Namespace) -> int:
    from .pipeline import run_train
    from .errors import TrainingDiverged

    cfg = _run_config(args)
    try:
        res = run_train(cfg, _out_dir(args, cfg), progress=not (args.quiet or args.json), resume=args.resume, force=args.force)
    except TrainingDiverged as exc:
        print(f"algodiscover: {exc}", file=sys.stderr)
        return EXIT_FAILED
    # a warning only: `analyze` gives the verdict (and exit code 1) with the family's measurements
    _warn_training({"training_verdict": _consistency(res.algorithm)})
    if args.json:
        _print_json(_files_json(res))
    else:
        print(f"final loss {res.algorithm.training.get('final_loss', float('nan')):.6g}; wrote {res.out_dir / 'algorithm.json'}"
              + ("" if args.quiet else f"; next: algodiscover analyze {res.out_dir}"))
    return 0


def _consistency(alg) -> dict[str, Any] | None:  # noqa: ANN001
    """The consistency half of the training verdict (sum b = 1), which needs no family:
    for a learned Runge-Kutta integrator only."""
    if alg.kind != "runge-kutta" or alg.is_two_derivative or alg.is_multistep:
        return None
    from .analysis.assessment import training_verdict

    return training_verdict(alg.tableau(), None)


def cmd_analyze(args: argparse.Namespace) -> int:
    from .pipeline import run_analyze

    res = run_analyze(Path(args.algorithm), Path(args.out) if args.out else None, formats=parse_formats(args.format), strict=args.strict)
    code = _warn_training(res.analysis)
    if args.json:
        _print_json(res.analysis)
        return code
    print(_summary(res.analysis))
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in res.files)}")
    return code


def cmd_report(args: argparse.Namespace) -> int:
    from .pipeline import load_run_analysis

    formats = parse_formats(args.format)
    data = load_run_analysis(Path(args.run_dir), strict=args.strict)
    from .reports import render_run

    files = render_run(data, Path(args.out) if args.out else Path(args.run_dir), formats=formats)
    if args.json:
        _print_json({"files": [str(p) for p in files]})
    elif not args.quiet:
        print(f"wrote {', '.join(str(p) for p in files)}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import cmd_sweep as run_sweep_command

    return run_sweep_command(args)


COMMANDS = {"sweep": cmd_sweep, "check": cmd_check, "methods": cmd_methods, "families": cmd_families, "discover": cmd_discover,
            "train": cmd_train, "analyze": cmd_analyze, "report": cmd_report}

#: Modules only some commands need (the checker runs without torch), and how to get them.
_OPTIONAL_MODULES = {"torch": "PyTorch (pip install torch==2.13.0, the CPU build)",
                     "ray": "Ray (pip install 'algodiscover[distributed]')"}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings a user can act on as one line (``algodiscover: warning: ...``)."""
    print(f"algodiscover: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    from .analysis.errors import TableauWarning
    from .errors import AlgodiscoverWarning

    warnings.showwarning = _show_warning
    warnings.simplefilter("always", TableauWarning)
    warnings.simplefilter("always", AlgodiscoverWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return COMMANDS[args.command](args)
    except AnalysisInputError as exc:
        print(f"algodiscover: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as exc:
        if exc.name not in _OPTIONAL_MODULES:
            raise
        print(f"algodiscover: error: '{args.command}' needs {_OPTIONAL_MODULES[exc.name]}, which is not installed", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if exc.filename is None:
            raise
        print(f"algodiscover: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("algodiscover: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does
    not raise again (the recipe of the Python signal documentation)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
