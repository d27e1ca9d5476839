"""The ``algodiscover`` command line.

Every command reports bad input as one line on stderr, ``algodiscover: error: ...``, and
exits with code 2. Heavy imports (torch) happen only in the commands that train.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

from .analysis.errors import AnalysisInputError
from .cliargs import EXIT_BAD_INPUT, Parser, nonneg_float, nonneg_int, parse_formats, positive_int

def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="algodiscover", description="Learn iterative numerical algorithms with R2N2 and distil them into exact, verified methods.")
    p.add_argument("--version", action="version", version=f"algodiscover {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    c = sub.add_parser("check", help="order conditions, exact order, stability and identity of a Butcher tableau")
    c.add_argument("tableau", help="tableau JSON file {\"A\": [[..]], \"b\": [..], \"c\": [..]?, \"name\": ?}, or a catalogue name such as RK4")
    c.add_argument("--max-order", type=positive_int, default=None, help="highest order tested (default: until the first failure, at most 20)")
    c.add_argument("--tol", type=nonneg_float, default=None, help="tolerance on |Phi(t) - 1/gamma(t)| (default: 0 for exact entries, 1e-12 x coefficient scale for floats)")
    c.add_argument("--json", action="store_true", help="print JSON instead of text")
    c.add_argument("--report", metavar="FILE", default=None, help="also write a report (.html, .tex or .pdf)")

    for name, helptext in (("discover", "train + distil + analyse + report (no arguments: the built-in example)"),
                           ("train", "train only: writes algorithm.json")):
        d = sub.add_parser(name, help=helptext)
        d.add_argument("problem_class", nargs="?", choices=("ode", "linear", "nonlinear"), help="problem class (default ode, or the config's)")
        d.add_argument("--family", help="problem family (see 'algodiscover families')")
        d.add_argument("--stages", type=positive_int, help="inner evaluations n")
        d.add_argument("--outer", type=positive_int, help="outer iterations K")
        d.add_argument("--seed", type=nonneg_int, help="random seed (default 0)")
        d.add_argument("--out", metavar="DIR", help="output directory (default ./runs/<name>)")
        d.add_argument("--config", metavar="FILE.toml", help="run configuration (see README)")
        d.add_argument("--name", help="run name (default <class>-<family>-<stages>)")
        d.add_argument("--resume", action="store_true", help="continue an interrupted training from its checkpoint")
        d.add_argument("--quiet", action="store_true", help="no progress bars")
        if name == "discover":
            d.add_argument("--format", default="html,tex", help="report formats: html,tex,pdf or none (default html,tex)")

    an = sub.add_parser("analyze", help="distil and analyse an algorithm.json")
    an.add_argument("algorithm", help="path to algorithm.json")
    an.add_argument("--json", action="store_true", help="print the analysis as JSON")
    an.add_argument("--out", metavar="FILE", help="also write analysis.json here")

    rp = sub.add_parser("report", help="re-render the reports of a run directory")
    rp.add_argument("run_dir")
    rp.add_argument("--format", default="html,tex", help="html,tex,pdf (default html,tex)")

    sub.add_parser("families", help="list the built-in problem families")
    sub.add_parser("methods", help="list the catalogue of classical Runge-Kutta methods")
    from .sweep import add_parser as add_sweep_parser  # light import: torch loads only when a sweep runs

    add_sweep_parser(sub)
    return p


def _version() -> str:
    from . import __version__

    return __version__


# ---------------------------------------------------------------------------- check
def _load_tableau_arg(text: str):
    from .analysis import get_method, load_tableau

    path = Path(text)
    if path.exists() or text.endswith(".json") or "/" in text:
        return load_tableau(path)
    try:
        return get_method(text)
    except AnalysisInputError:
        raise AnalysisInputError(f"{text}: no such file, and not a catalogue method name (see 'algodiscover methods')") from None


_MAX_EXACT_WIDTH = 28


def format_tableau(t, exact: bool = True) -> str:
    """The tableau as text, with the usual c | A over b layout (floats when the exact
    entries are too long to read, e.g. Prince-Dormand 8(7))."""
    from .analysis import format_exact

    s = t.stages
    if exact and t.exact is not None and max(len(format_exact(x)) for x in t.exact.entries()) > _MAX_EXACT_WIDTH:
        return format_tableau(t, exact=False) + "\n  (exact entries are too long to print here; 'check --json' lists them)"
    if exact and t.exact is not None:
        A = [[format_exact(x) for x in row] for row in t.exact.A]
        b = [format_exact(x) for x in t.exact.b]
        c = [format_exact(x) for x in t.exact.c]
        bh = None if t.exact.b_hat is None else [format_exact(x) for x in t.exact.b_hat]
    else:
        A = [[repr(float(x)) for x in row] for row in t.A]
        b = [repr(float(x)) for x in t.b]
        c = [repr(float(x)) for x in t.c]
        bh = None if t.b_hat is None else [repr(float(x)) for x in t.b_hat]
    if t.is_explicit:
        A = [[x if j < i else "" for j, x in enumerate(row)] for i, row in enumerate(A)]
    cw = max(len(x) for x in c)
    cols = [max([len(A[i][j]) for i in range(s)] + [len(b[j])] + ([len(bh[j])] if bh else [])) for j in range(s)]
    lines = []
    for i in range(s):
        lines.append(f"  {c[i]:>{cw}} | " + "  ".join(f"{A[i][j]:<{cols[j]}}" for j in range(s)).rstrip())
    lines.append("  " + "-" * cw + "-+-" + "-" * (sum(cols) + 2 * (s - 1)))
    lines.append(f"  {'':>{cw}} | " + "  ".join(f"{b[j]:<{cols[j]}}" for j in range(s)).rstrip())
    if bh:
        lines.append(f"  {'':>{cw}} | " + "  ".join(f"{bh[j]:<{cols[j]}}" for j in range(s)).rstrip() + "   (embedded)")
    return "\n".join(lines)


def render_check_text(a) -> str:
    from .analysis import count_trees

    t = a.tableau
    kind = "explicit" if t.is_explicit else ("diagonally implicit" if t.is_diagonally_implicit else "implicit")
    data = "exact coefficients" if t.is_exact else "float64 coefficients"
    out = [f"{a.name}  ({t.stages} stages, {kind}, {data})", "", format_tableau(t), ""]
    arith = "exact arithmetic" if a.order.exact else f"float64, tol {a.order.tol:.3g}"
    cap = " (reached the cap; may be higher)" if a.order.reached_cap else ""
    out.append(f"order: {a.order.order}{cap}   [{arith}]")
    out.append("  order  trees  max |Phi(t) - 1/gamma(t)|")
    for n, r in sorted(a.order.max_residuals.items()):
        mark = "ok" if n <= a.order.order else "FAILS"
        out.append(f"  {n:>5}  {count_trees(n):>5}  {r:<12.3e} {mark}")
    if not a.order.exact:
        from .analysis import check_order

        loose = check_order(t, max_order=a.order.cap, tol=1e-6).order
        if loose > a.order.order:
            out.append(f"  (within tol 1e-6 the floats meet the conditions of order {loose}; see --tol)")
    if a.order.embedded_order is not None:
        out.append(f"embedded weights b_hat: order {a.order.embedded_order}")
    if a.rational is not None and not t.is_exact:
        out += ["", "exact tableau (rationalised):" if a.distillation is None else f"distilled exact tableau ({a.distillation.target}, coefficients moved by at most {a.distillation.distance:.3g}):", format_tableau(a.rational)]
    if a.exact_order is not None:
        out.append(f"exact order: {a.exact_order.order}" + ("" if a.rational is t else "  (verified in exact arithmetic)"))
    else:
        out.append("exact order: none (no exact tableau found)")
    out.append(f"stage order: {a.stage_order}")
    if a.principal_error is not None:
        p = a.exact_order.order if a.exact_order is not None else a.order.order
        out.append(f"principal error norm A({p + 1}) = {a.principal_error:.4e}")
    out.append(f"stability function R(z) = {a.stability.R_ascending}")
    lo, hi = a.stability.real_interval[0], a.stability.imag_limit
    real = "(-inf, 0]" if not math.isfinite(lo) else f"[{lo:.6g}, 0]"
    imag = "the whole axis" if not math.isfinite(hi) else ("{0}" if hi == 0 else f"[-{hi:.6g}i, {hi:.6g}i]")
    out.append(f"stability interval: real {real}, imaginary {imag}")
    ident = a.identification
    if ident.kind == "method":
        out.append(f"identified as: {ident.name}")
    elif ident.name:
        closest = f"; closest catalogue method {ident.closest} (max coefficient difference {ident.distance:.3g})" if ident.closest else ""
        out.append(f"identified as: {ident.name}{closest}")
    else:
        out.append("identified as: unknown" + (f"; closest catalogue method {ident.closest} (distance {ident.distance:.3g})" if ident.closest else ""))
    return "\n".join(out)


def cmd_check(args: argparse.Namespace) -> int:
    from .analysis import analyze_tableau

    from .artefact import package_versions

    t = _load_tableau_arg(args.tableau)
    cmd = "algodiscover check " + " ".join(
        [args.tableau] + ([f"--max-order {args.max_order}"] if args.max_order else []) + ([f"--tol {args.tol:g}"] if args.tol is not None else []))
    a = analyze_tableau(t, max_order=args.max_order, tol=args.tol, extra={"provenance": {"command": cmd, "versions": package_versions()}})
    if args.report:
        from .reports import render_file

        render_file(a.to_json(), Path(args.report))
    if args.json:
        print(json.dumps(a.to_json(), indent=2, default=_json_default))
    else:
        print(render_check_text(a))
    return 0


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def cmd_methods(args: argparse.Namespace) -> int:
    from .analysis import catalogue

    print(f"{'name':<22} {'stages':>6} {'order':>5}  {'type':<9} aliases")
    for e in catalogue().values():
        order = f"{e.order}" + (f"({e.embedded_order})" if e.embedded_order else "")
        print(f"{e.name:<22} {e.stages:>6} {order:>5}  {'explicit' if e.explicit else 'implicit':<9} {', '.join(e.aliases[:3])}")
    return 0


def cmd_families(args: argparse.Namespace) -> int:
    from .families import list_families

    for kind, name, desc in list_families():
        print(f"{kind:<10} {name:<22} {desc}")
    return 0


def _run_config(args: argparse.Namespace):
    from .config import default_config, load_config

    if args.config:
        cfg = load_config(args.config)
        if args.problem_class and args.problem_class != cfg.problem_class:
            raise AnalysisInputError(f"{args.config}: configures problem class {cfg.problem_class!r}, but the command asks for {args.problem_class!r}")
    else:
        cfg = default_config(args.problem_class or "ode")
    return cfg.with_overrides(family=args.family, stages=args.stages, outer=args.outer, seed=args.seed, name=args.name)


def _summary(analysis: dict[str, Any]) -> str:
    lines = []
    kind = analysis.get("kind")
    if kind == "runge-kutta":
        lines.append(f"learned {analysis['stages']}-stage integrator '{analysis['name']}'")
        if analysis.get("rational"):
            from .analysis import ButcherTableau

            t = ButcherTableau.from_dict(analysis["rational"])
            lines.append("distilled exact tableau:")
            lines.append(format_tableau(t))
        lines.append(f"general order {analysis.get('exact_order', analysis['order'])}"
                     + (f", personalised order {analysis['personalised_order']} on {analysis['family']['name']}" if analysis.get("personalised_order") is not None else "")
                     + (f", measured order {analysis['measured_order']:.2f}" if analysis.get("measured_order") is not None else ""))
        if analysis.get("identified_as"):
            lines.append(f"identified as: {analysis['identified_as']}")
        comp = analysis.get("comparison")
        if comp:
            lines.append(f"one-step error of each method / error of {comp['reference']} (> 1: {comp['reference']} is more accurate):")
            for setting in ("in_distribution", "out_of_distribution"):
                rat = comp["ratios"].get(setting, {})
                if rat:
                    lines.append(f"  {setting.replace('_', ' ')}: " + ", ".join(f"{k} {v:.3g}" for k, v in rat.items()))
    else:
        for key in ("summary",):
            if analysis.get(key):
                lines.append(str(analysis[key]))
    return "\n".join(lines)


def cmd_discover(args: argparse.Namespace) -> int:
    from .discover import run_discover
    from .errors import TrainingDiverged

    formats = parse_formats(args.format)
    cfg = _run_config(args)
    out = Path(args.out) if args.out else Path("runs") / cfg.run_name
    try:
        res = run_discover(cfg, out, formats=formats, progress=not args.quiet, resume=args.resume)
    except TrainingDiverged as exc:
        print(f"algodiscover: {exc}", file=sys.stderr)
        return 1
    print(_summary(res.analysis))
    print(f"wrote {', '.join(str(p) for p in res.files)}")
    print(f"time: train {res.timings['train_s']:.1f} s, analyse {res.timings['analyze_s']:.1f} s, report {res.timings['report_s']:.1f} s")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .discover import train_algorithm
    from .errors import TrainingDiverged

    cfg = _run_config(args)
    out = Path(args.out) if args.out else Path("runs") / cfg.run_name
    if out.exists() and not out.is_dir():
        raise AnalysisInputError(f"{out}: exists and is not a directory")
    try:
        alg = train_algorithm(cfg, progress=not args.quiet, checkpoint=out / ".checkpoint.pt", resume=args.resume)
    except TrainingDiverged as exc:
        print(f"algodiscover: {exc}", file=sys.stderr)
        return 1
    path = alg.save(out / "algorithm.json")
    (out / ".checkpoint.pt").unlink(missing_ok=True)
    print(f"final loss {alg.training.get('final_loss', float('nan')):.6g}; wrote {path}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import write_json_atomic

    from .artefact import LearnedAlgorithm
    from .discover import analyze_algorithm

    alg = LearnedAlgorithm.load(args.algorithm)
    data = analyze_algorithm(alg, progress=False)
    if args.out:
        write_json_atomic(args.out, data)
    print(json.dumps(data, indent=2) if args.json else _summary(data))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .discover import load_run_analysis

    formats = parse_formats(args.format)
    data = load_run_analysis(Path(args.run_dir))
    from .reports import render_run

    files = render_run(data, Path(args.run_dir), formats=formats)
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

    warnings.showwarning = _show_warning
    warnings.simplefilter("always", TableauWarning)
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
    except KeyboardInterrupt:
        print("algodiscover: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
