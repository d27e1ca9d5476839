"""Argument-parsing helpers shared by every command line of algodiscover.

Holds the parser class whose errors are one line and exit code 2, the argparse value types
(whole numbers with a lower bound, finite non-negative floats, report formats) and the exit
codes. Imports only the standard library and ``analysis.errors`` so that ``--help`` stays
fast; ``algodiscover.cli`` and ``algodiscover.sweep`` both import from here (never from each
other).
"""

from __future__ import annotations

import argparse
import math

from .analysis.errors import AnalysisInputError

__all__ = ["EXIT_OK", "EXIT_FAILED", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "EXIT_BROKEN_PIPE", "Parser", "HelpFormatter",
           "add_output_options", "int_at_least", "positive_int", "nonneg_int", "nonneg_float", "REPORT_FORMATS", "parse_formats"]

EXIT_OK = 0
EXIT_FAILED = 1          # the run itself failed (diverged training, failed sweep runs)
EXIT_BAD_INPUT = 2       # the input was refused (one line on stderr names it)
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141   # 128 + SIGPIPE: the reader of stdout went away (e.g. "| head")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's examples as written and shows each option's default (when it has
    one worth showing) as ``(default: X)``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default is None or default is False or default == argparse.SUPPRESS
                or isinstance(action, (argparse._HelpAction, argparse._VersionAction)) or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr and exit code 2, and
    whose help shows defaults and the examples of its epilog."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse's own convention, without the usage block
        self.exit(EXIT_BAD_INPUT, f"algodiscover: error: {message}\n")


def add_output_options(p: argparse.ArgumentParser, json_help: str, quiet_help: str = "no progress bars or file lists; only the result") -> None:
    """``--json`` and ``--quiet``, which every command takes: ``--json`` prints machine
    output on stdout and nothing else there; ``--quiet`` prints only the result."""
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--quiet", action="store_true", help=quiet_help)


def int_at_least(low: int):
    """argparse type: a whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {v}")
        return v

    return parse


positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def nonneg_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return v


REPORT_FORMATS = ("html", "tex", "pdf")


def parse_formats(text: str, option: str = "--format") -> tuple[str, ...]:
    """``"html,tex"`` -> ``("html", "tex")``; ``"none"`` or ``""`` -> ``()``."""
    if text.strip().lower() in ("", "none"):
        return ()
    out = tuple(x.strip().lower() for x in text.split(",") if x.strip())
    bad = [x for x in out if x not in REPORT_FORMATS]
    if bad:
        raise AnalysisInputError(f"{option}: unknown format {bad[0]!r} (choose from html, tex, pdf, none)")
    return out
