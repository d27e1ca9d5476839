"""Classical Runge-Kutta methods, entered exactly, and identification of a tableau.

The data live in ``analysis/data/catalogue.json`` (same format as tableau files, plus
``order``, ``embedded_order``, ``aliases`` and ``reference``). :func:`identify` names the
closest catalogue method, or the classical family a method belongs to (2-stage order-2
methods with parameter ``c2``, Kutta's 3-stage order-3 and 4-stage order-4 families in
``(c2, c3)``), with the distance.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .errors import AnalysisInputError
from .expressions import number_value
from .numbers import format_exact
from .order import check_order
from .tableau import ButcherTableau

__all__ = ["CatalogueEntry", "catalogue", "get_method", "Identification", "identify", "same_stage_methods"]


@dataclass(frozen=True)
class CatalogueEntry:
    """A published method with its order(s) and source.

    The tableau is parsed from the catalogue data the first time it is used, so that
    looking up one method (``algodiscover check RK4``) does not parse all of them.
    """

    name: str
    data: dict[str, Any] = field(repr=False, compare=False)
    order: int
    embedded_order: int | None
    aliases: tuple[str, ...]
    reference: str
    note: str | None = None

    @cached_property
    def tableau(self) -> ButcherTableau:
        return ButcherTableau.from_dict({k: self.data[k] for k in ("A", "b", "c", "b_hat", "name") if self.data.get(k) is not None},
                                        source=f"catalogue:{self.name}")

    @cached_property
    def float_A_b(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` in float64, read from the catalogue text without building the exact
        tableau (rational entries need no sympy at all); for identification."""
        if "tableau" in self.__dict__:
            return self.tableau.A, self.tableau.b
        conv = lambda x: float(x) if isinstance(x, (int, float)) else number_value(str(x), f"catalogue:{self.name}")  # noqa: E731
        return (np.array([[conv(x) for x in row] for row in self.data["A"]], dtype=np.float64),
                np.array([conv(x) for x in self.data["b"]], dtype=np.float64))

    @property
    def stages(self) -> int:
        return len(self.data["A"])

    @property
    def explicit(self) -> bool:
        A = self.data["A"]
        return all(_is_zero(A[i][j]) for i in range(len(A)) for j in range(i, len(A)))

    @property
    def exact_order_checkable(self) -> bool:
        """False for methods published only in decimals (e.g. Tsitouras 5(4)), whose order
        conditions hold to ~1e-47 rather than exactly."""
        return self.note is None


def _is_zero(x: Any) -> bool:
    return x == 0 or (isinstance(x, str) and x.strip() in ("0", "0.0", "-0"))


@lru_cache(maxsize=1)
def catalogue() -> dict[str, CatalogueEntry]:
    """All catalogue methods by name (insertion order: explicit, then implicit)."""
    text = resources.files(__package__).joinpath("data/catalogue.json").read_text(encoding="utf-8")
    data = json.loads(text)
    out: dict[str, CatalogueEntry] = {}
    for m in data["methods"]:
        out[m["name"]] = CatalogueEntry(
            name=m["name"],
            data=m,
            order=int(m["order"]),
            embedded_order=m.get("embedded_order"),
            aliases=tuple(m.get("aliases", ())),
            reference=m.get("reference", ""),
            note=m.get("exact_order_note"),
        )
    return out


def get_method(name: str) -> ButcherTableau:
    """A catalogue tableau by name or alias (case-insensitive), e.g. ``"RK4"``, ``"dopri5"``."""
    key = _norm(name)
    for e in catalogue().values():
        if _norm(e.name) == key or any(_norm(a) == key for a in e.aliases):
            return e.tableau
    names = ", ".join(catalogue())
    raise AnalysisInputError(f"unknown method {name!r}; known: {names}")


def _norm(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum() or ch in "/()")


def same_stage_methods(stages: int, explicit: bool = True) -> list[CatalogueEntry]:
    """Catalogue methods with the given number of stages (the equal-cost competitors)."""
    return [e for e in catalogue().values() if e.stages == stages and e.explicit == explicit]


@dataclass(frozen=True)
class Identification:
    """What a tableau is.

    ``name`` is the catalogue method within ``tol`` of the tableau (allowing equivalent
    stage orderings), else a family description such as ``"2-stage order-2 family
    (c2 = 2)"``, else None. ``closest`` and ``distance`` name the nearest catalogue method
    with the same number of stages and the same explicitness, and the largest coefficient
    difference to it.
    """

    name: str | None
    kind: str | None  # "method" | "family" | None
    closest: str | None
    distance: float | None
    family: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "identified_as": self.name,
            "kind": self.kind,
            "closest": self.closest,
            "distance": self.distance,
            "family": self.family,
            "parameters": self.parameters,
        }


def _distance(a: ButcherTableau, b: ButcherTableau | tuple[np.ndarray, np.ndarray]) -> float:
    bA, bb = (b.A, b.b) if isinstance(b, ButcherTableau) else b
    if a.stages != len(bb):
        return float("inf")
    best = float("inf")
    perms = [tuple(range(a.stages))] if a.is_explicit or a.stages > 5 else itertools.permutations(range(a.stages))
    for perm in perms:
        p = list(perm)
        d = max(float(np.max(np.abs(a.A[np.ix_(p, p)] - bA))), float(np.max(np.abs(a.b[p] - bb))))
        best = min(best, d)
    return best


def identify(tableau: ButcherTableau, tol: float = 1e-10, order: int | None = None) -> Identification:
    """Name ``tableau``: a catalogue method (distance <= ``tol``), else its family."""
    closest, dist = None, None
    for e in catalogue().values():
        if e.stages != tableau.stages or e.explicit != tableau.is_explicit:
            continue
        d = _distance(tableau, e.float_A_b)
        if dist is None or d < dist:
            closest, dist = e.name, d
    fam, params = _family(tableau, order)
    if closest is not None and dist is not None and dist <= tol:
        return Identification(closest, "method", closest, dist, fam, params)
    return Identification(fam, "family" if fam else None, closest, dist, fam, params)


def _family(t: ButcherTableau, order: int | None) -> tuple[str | None, dict[str, str]]:
    p = check_order(t).order if order is None else order
    s = t.stages
    ex = t.exact
    c = list(ex.c) if ex is not None else [float(x) for x in t.c]

    def fmt(x: Any) -> str:
        return format_exact(x) if ex is not None else f"{float(x):.6g}"

    if not t.is_explicit:
        kind = "diagonally implicit" if t.is_diagonally_implicit else "implicit"
        return (f"{s}-stage {kind} order-{p} methods" if p >= 1 else None), {}
    if p < 1:
        return None, {}
    if s == 1 and p == 1:
        return "forward Euler", {}
    if s == 2 and p == 2:
        return f"2-stage order-2 family (c2 = {fmt(c[1])})", {"c2": fmt(c[1])}
    if s == 3 and p == 3:
        return f"3-stage order-3 family (c2 = {fmt(c[1])}, c3 = {fmt(c[2])})", {"c2": fmt(c[1]), "c3": fmt(c[2])}
    if s == 4 and p == 4:
        return f"4-stage order-4 family (c2 = {fmt(c[1])}, c3 = {fmt(c[2])})", {"c2": fmt(c[1]), "c3": fmt(c[2])}
    return f"{s}-stage explicit order-{p} methods", {}
