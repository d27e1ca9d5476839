"""Exceptions and warnings a user can trigger with bad input."""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """Bad user input (a malformed tableau, wrong shapes, non-finite numbers).

    The message is one line that names the offending input; the CLI prints it and exits
    with code 2.
    """


class TableauError(AnalysisInputError):
    """A Butcher tableau that cannot be built or loaded."""


class TableauWarning(UserWarning):
    """A tableau that is usable but suspicious (e.g. nodes c that are not the row sums of A)."""
