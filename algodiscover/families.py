"""One registry over the problem classes: which families exist and which module trains
and analyses each class."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import InputError

__all__ = ["branch", "list_families", "BRANCH_MODULES"]

# Each branch module provides list_families(), train_run(cfg, ...), analyze_run(alg, ...).
BRANCH_MODULES = {"ode": "algodiscover.ode", "linear": "algodiscover.linear", "nonlinear": "algodiscover.nonlinear"}


def branch(problem_class: str) -> ModuleType:
    try:
        name = BRANCH_MODULES[problem_class]
    except KeyError:
        raise InputError(f"unknown problem class {problem_class!r}; known: {', '.join(BRANCH_MODULES)}") from None
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise InputError(f"problem class {problem_class!r} is not available in this version") from None
        raise


def list_families() -> list[tuple[str, str, str]]:
    """(problem class, family name, one-line description) for every built-in family."""
    out = []
    for cls in BRANCH_MODULES:
        try:
            mod = branch(cls)
        except InputError:
            continue
        out += [(cls, name, desc) for name, desc in mod.list_families()]
    return out
