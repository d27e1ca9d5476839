"""Errors of the learning side."""

from __future__ import annotations

from .analysis.errors import AnalysisInputError


class InputError(AnalysisInputError):
    """Bad user input (unknown family, bad config, missing run files). The CLI prints the
    one-line message and exits with code 2."""


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss or weights; no artefact is written."""


class AlgodiscoverWarning(UserWarning):
    """Something a user should know that does not stop the command (an artefact whose content
    hash is missing or wrong, a solver option that a fixed-step method ignores). The CLI
    prints it as one line, ``algodiscover: warning: ...``."""
