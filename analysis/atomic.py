"""Atomic file writes: a temporary file next to the target, renamed over it on success.

A reader never sees a half-written file, and a failure (or a diverged training) never
replaces a good one. Temporary names are fresh (process id + random), so the files get the
default permissions (0666 less the umask), not the 0600 of :func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

__all__ = ["atomic_path", "write_atomic", "write_json_atomic"]


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a fresh temporary path in ``path``'s folder (ending in ``suffix``, for writers
    that insist on an extension); rename it over ``path`` when the block succeeds, delete it
    otherwise."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}{suffix}")
    try:
        yield tmp
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to ``path`` atomically, flushed to disk; returns the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "xb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON (no NaN/inf) to ``path`` atomically."""
    return write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
