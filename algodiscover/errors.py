"""Errors of the learning side."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from .analysis.errors import AnalysisInputError

_F = TypeVar("_F", bound=Callable[..., Any])


class InputError(AnalysisInputError):
    """Bad user input (unknown family, bad config, missing run files). The CLI prints the
    one-line message and exits with code 2."""


def input_errors(fn: _F) -> _F:
    """Decorator: errors the analysis side raises on bad input (:class:`AnalysisInputError`)
    leave ``fn`` as this side's :class:`InputError` with the same one-line message."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError:
            raise
        except AnalysisInputError as exc:
            raise InputError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss or weights; no artefact is written."""


class AlgodiscoverWarning(UserWarning):
    """Something a user should know that does not stop the command (an artefact whose content
    hash is missing or wrong, a solver option that a fixed-step method ignores). The CLI
    prints it as one line, ``algodiscover: warning: ...``."""
