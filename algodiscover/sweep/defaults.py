"""The sweep's defaults and choices that its command line shows in ``--help``: kept apart
from the machinery so that building the CLI parser imports nothing else. Standard library
only."""

from __future__ import annotations

__all__ = ["BACKENDS", "DEFAULT_MAX_CONFIGS", "DEFAULT_RAY_TIMEOUT"]

BACKENDS = ("local", "ray")
DEFAULT_MAX_CONFIGS = 10_000     # an expansion larger than this is refused unless the limit is raised
DEFAULT_RAY_TIMEOUT = 30.0       # seconds to reach the cluster of --address before giving up
