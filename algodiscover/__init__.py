"""algodiscover: learn iterative numerical algorithms with R2N2 networks and distil them into
exact, verified methods.

A small API for notebooks and scripts, loaded lazily (``import algodiscover`` is cheap and
loads neither torch nor sympy)::

    >>> import algodiscover as ad
    >>> ad.check_order(ad.get_method("RK4")).order
    4
    >>> t = ad.ButcherTableau([[0, 0], ["2/3", 0]], ["1/4", "3/4"])
    >>> ad.analyze_tableau(t).identification.name
    'Ralston2'

``ad.discover(...)`` trains, distils, analyses and reports like ``algodiscover discover`` and
returns a :class:`~algodiscover.pipeline.Run`; ``ad.load("runs/ode-square-2")`` reads a run
back. The distilling side is :mod:`algodiscover.analysis` (no torch), the rendering side
:mod:`algodiscover.reports`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "ButcherTableau": "algodiscover.analysis",
    "check_order": "algodiscover.analysis",
    "get_method": "algodiscover.analysis",
    "analyze_tableau": "algodiscover.analysis",
    "load_tableau": "algodiscover.analysis",
    "discover": "algodiscover.pipeline",
    "load": "algodiscover.pipeline",
    "Run": "algodiscover.pipeline",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover
    from .analysis import ButcherTableau, analyze_tableau, check_order, get_method, load_tableau  # noqa: F401
    from .pipeline import Run, discover, load  # noqa: F401
