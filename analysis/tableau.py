"""Butcher tableaux: validated, exact where possible, with a float64 view.

A Runge-Kutta method with ``s`` stages for ``y' = f(t, y)`` is given by ``(A, b, c)``::

    k_i     = f(t_n + c_i h, y_n + h sum_j A[i, j] k_j)      i = 1..s
    y_{n+1} = y_n + h sum_i b[i] k_i

The row-sum condition ``c = A 1`` is assumed by the rooted-tree order conditions.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .atomic import write_json_atomic
from .errors import TableauError, TableauWarning
from .numbers import format_exact, is_exact, parse_entry, to_float

__all__ = ["ButcherTableau", "ExactTableau", "load_tableau"]

_ROW_SUM_RTOL = 1e-10


@dataclass(frozen=True)
class ExactTableau:
    """Exact coefficients as sympy numbers (rationals or algebraic numbers)."""

    A: tuple[tuple[sp.Expr, ...], ...]
    b: tuple[sp.Expr, ...]
    c: tuple[sp.Expr, ...]
    b_hat: tuple[sp.Expr, ...] | None = None

    @property
    def is_rational(self) -> bool:
        return all(isinstance(x, sp.Rational) for x in self.entries())

    def entries(self) -> list[sp.Expr]:
        out = [x for row in self.A for x in row] + list(self.b) + list(self.c)
        if self.b_hat is not None:
            out += list(self.b_hat)
        return out

    def matrix(self) -> sp.Matrix:
        return sp.Matrix(self.A)


@dataclass(frozen=True, eq=False)
class ButcherTableau:
    """A validated Butcher tableau.

    Parameters
    ----------
    A : (s, s) array-like
        Runge-Kutta matrix. Entries may be floats, ints, Fractions, sympy numbers or
        strings such as ``"1/6"`` or ``"1/4 - sqrt(3)/6"``.
    b : (s,) array-like
        Weights.
    c : (s,) array-like, optional
        Nodes; default the row sums of ``A``. A warning (:class:`TableauWarning`) is
        issued when given nodes differ from the row sums.
    b_hat : (s,) array-like, optional
        Weights of an embedded method.
    name : str, optional

    After construction ``A``, ``b``, ``c`` and ``b_hat`` are read-only float64 arrays and
    ``exact`` holds the exact coefficients (or ``None`` when any entry was a float).
    """

    A: Any
    b: Any
    c: Any = None
    b_hat: Any = None
    name: str | None = None
    exact: ExactTableau | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        label = f"tableau {self.name!r}" if self.name else "tableau"
        A_rows = _as_rows(self.A, "A", label)
        s = len(A_rows)
        if s == 0:
            raise TableauError(f"{label}: A is empty")
        for i, row in enumerate(A_rows):
            if len(row) != s:
                raise TableauError(f"{label}: A must be square, row {i} has {len(row)} entries but A has {s} rows")
        b_vals = _as_vector(self.b, "b", s, label)
        A_vals = [[parse_entry(x, f"{label}: A[{i}][{j}]") for j, x in enumerate(row)] for i, row in enumerate(A_rows)]
        c_given = self.c is not None
        c_vals = _as_vector(self.c, "c", s, label) if c_given else None
        bh_vals = _as_vector(self.b_hat, "b_hat", s, label) if self.b_hat is not None else None

        everything = [x for row in A_vals for x in row] + b_vals + (c_vals or []) + (bh_vals or [])
        exact = all(is_exact(x) for x in everything)
        if exact:
            row_sums = [_exact_sum(row) for row in A_vals]
            if c_vals is None:
                c_vals = row_sums
            ex = ExactTableau(
                A=tuple(tuple(row) for row in A_vals),
                b=tuple(b_vals),
                c=tuple(c_vals),
                b_hat=tuple(bh_vals) if bh_vals is not None else None,
            )
            object.__setattr__(self, "exact", ex)
        A_f = np.array([[to_float(x) for x in row] for row in A_vals], dtype=np.float64)
        b_f = np.array([to_float(x) for x in b_vals], dtype=np.float64)
        if c_vals is None:
            c_f = A_f.sum(axis=1)
        else:
            c_f = np.array([to_float(x) for x in c_vals], dtype=np.float64)
        bh_f = None if bh_vals is None else np.array([to_float(x) for x in bh_vals], dtype=np.float64)
        for arr, nm in ((A_f, "A"), (b_f, "b"), (c_f, "c"), (bh_f, "b_hat")):
            if arr is None:
                continue
            if not np.all(np.isfinite(arr)):
                raise TableauError(f"{label}: {nm} has a non-finite entry")
            arr.setflags(write=False)
        object.__setattr__(self, "A", A_f)
        object.__setattr__(self, "b", b_f)
        object.__setattr__(self, "c", c_f)
        object.__setattr__(self, "b_hat", bh_f)
        if c_given:
            rs = A_f.sum(axis=1)
            if self.exact is not None:
                mism = [i for i in range(s) if not _exact_zero(_exact_sum(self.exact.A[i]) - self.exact.c[i])]
            else:
                scale = np.maximum(1.0, np.abs(A_f).sum(axis=1))
                mism = list(np.nonzero(np.abs(rs - c_f) > _ROW_SUM_RTOL * scale)[0])
            if mism:
                warnings.warn(
                    f"{label}: c differs from the row sums of A at stage(s) {', '.join(str(int(i)) for i in mism)}; "
                    "order conditions assume c = A 1",
                    TableauWarning,
                    stacklevel=3,
                )

    # ------------------------------------------------------------------ derived
    @property
    def stages(self) -> int:
        return int(self.A.shape[0])

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    @property
    def is_explicit(self) -> bool:
        """Strictly lower triangular A (checked exactly when exact entries are known)."""
        if self.exact is not None:
            return all(self.exact.A[i][j] == 0 for i in range(self.stages) for j in range(i, self.stages))
        return bool(np.all(np.triu(self.A) == 0.0))

    @property
    def is_diagonally_implicit(self) -> bool:
        return bool(np.all(np.triu(self.A, 1) == 0.0))

    @property
    def label(self) -> str:
        return self.name or f"{self.stages}-stage tableau"

    def free_coefficients(self) -> np.ndarray:
        """Float vector of the coefficients a method designer may choose: the (strictly
        lower, for explicit methods) entries of A row by row, then b."""
        return np.concatenate([self.A[self._a_mask()], self.b])

    def _a_mask(self) -> np.ndarray:
        s = self.stages
        if self.is_explicit:
            return np.tril(np.ones((s, s), dtype=bool), -1)
        return np.ones((s, s), dtype=bool)

    def with_name(self, name: str | None) -> "ButcherTableau":
        return _rebuild(**self._ctor_args(), name=name)

    def as_float(self) -> "ButcherTableau":
        """The same method with float64 entries only (drops the exact values)."""
        return _rebuild(
            A=self.A.tolist(), b=self.b.tolist(), c=self.c.tolist(),
            b_hat=None if self.b_hat is None else self.b_hat.tolist(), name=self.name,
        )

    def _ctor_args(self) -> dict[str, Any]:
        if self.exact is not None:
            e = self.exact
            return {"A": [list(r) for r in e.A], "b": list(e.b), "c": list(e.c), "b_hat": None if e.b_hat is None else list(e.b_hat)}
        return {"A": self.A.tolist(), "b": self.b.tolist(), "c": self.c.tolist(), "b_hat": None if self.b_hat is None else self.b_hat.tolist()}

    def permuted(self, perm: Sequence[int]) -> "ButcherTableau":
        """The equivalent tableau with stages reordered: new stage i is old stage perm[i]."""
        p = list(perm)
        if sorted(p) != list(range(self.stages)):
            raise TableauError(f"{self.label}: {p} is not a permutation of the stages")
        args = self._ctor_args()
        A = args["A"]
        args["A"] = [[A[p[i]][p[j]] for j in range(self.stages)] for i in range(self.stages)]
        for key in ("b", "c", "b_hat"):
            if args[key] is not None:
                args[key] = [args[key][p[i]] for i in range(self.stages)]
        return _rebuild(**args, name=self.name)

    # ------------------------------------------------------------------ equality
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ButcherTableau):
            return NotImplemented
        if self.exact is not None and other.exact is not None:
            a, o = self.exact, other.exact
            pairs = list(zip(a.entries(), o.entries()))
            if len(a.entries()) != len(o.entries()):
                return False
            return all(x == y or sp.simplify(x - y) == 0 for x, y in pairs)
        if (self.b_hat is None) != (other.b_hat is None):
            return False
        return (
            self.A.shape == other.A.shape
            and np.array_equal(self.A, other.A)
            and np.array_equal(self.b, other.b)
            and np.array_equal(self.c, other.c)
            and (self.b_hat is None or np.array_equal(self.b_hat, other.b_hat))
        )

    def __hash__(self) -> int:
        return hash((self.A.tobytes(), self.b.tobytes()))

    def __repr__(self) -> str:
        kind = "exact" if self.exact is not None else "float"
        return f"ButcherTableau(name={self.name!r}, stages={self.stages}, {kind}, {'explicit' if self.is_explicit else 'implicit'})"

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; exact entries as strings, floats as round-tripping numbers."""
        if self.exact is not None:
            e = self.exact
            fmt = format_exact
            d: dict[str, Any] = {
                "A": [[fmt(x) for x in row] for row in e.A],
                "b": [fmt(x) for x in e.b],
                "c": [fmt(x) for x in e.c],
            }
            if e.b_hat is not None:
                d["b_hat"] = [fmt(x) for x in e.b_hat]
        else:
            d = {"A": self.A.tolist(), "b": self.b.tolist(), "c": self.c.tolist()}
            if self.b_hat is not None:
                d["b_hat"] = self.b_hat.tolist()
        if self.name:
            d = {"name": self.name, **d}
        return d

    @classmethod
    def from_dict(cls, data: Any, source: str = "tableau") -> "ButcherTableau":
        if not isinstance(data, dict):
            raise TableauError(f"{source}: expected a JSON object with keys 'A' and 'b', got {type(data).__name__}")
        missing = [k for k in ("A", "b") if k not in data]
        if missing:
            raise TableauError(f"{source}: missing key {missing[0]!r} (a tableau needs 'A' and 'b')")
        unknown = sorted(set(data) - {"A", "b", "c", "b_hat", "name", "order", "embedded_order", "aliases", "reference", "explicit", "exact_order_note"})
        if unknown:
            raise TableauError(f"{source}: unknown key {unknown[0]!r} (allowed: A, b, c, b_hat, name)")
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise TableauError(f"{source}: 'name' must be a string")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TableauWarning)
                t = cls(A=data["A"], b=data["b"], c=data.get("c"), b_hat=data.get("b_hat"), name=name)
            for w in caught:
                warnings.warn(f"{source}: {_strip_label(str(w.message))}", TableauWarning, stacklevel=2)
            return t
        except TableauError as exc:
            raise TableauError(f"{source}: {_strip_label(str(exc))}") from None
        except ValueError as exc:  # AnalysisInputError from entry parsing
            raise TableauError(f"{source}: {_strip_label(str(exc))}") from None

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        data = self.to_dict()
        if path is not None:
            write_json_atomic(path, data)
        return json.dumps(data, indent=2)


def load_tableau(path: str | os.PathLike[str]) -> ButcherTableau:
    """Load a tableau from a JSON file ``{"A": [[..]], "b": [..], "c": [..]?, "name": ?}``.

    Raises :class:`TableauError` with a one-line message naming the file on any problem.
    """
    p = Path(path)
    src = str(p)
    if not p.exists():
        raise TableauError(f"{src}: no such file")
    if p.is_dir():
        raise TableauError(f"{src}: is a directory, expected a tableau JSON file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TableauError(f"{src}: cannot read file ({exc.__class__.__name__})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise TableauError(f"{src}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise TableauError(f"{src}: {exc}") from None
    return ButcherTableau.from_dict(data, source=src)


# ---------------------------------------------------------------------- helpers
def _rebuild(**kwargs: Any) -> "ButcherTableau":
    """A derived tableau (renamed, reordered, float view): its nodes were already checked
    when the original was built, so the row-sum warning is not repeated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TableauWarning)
        return ButcherTableau(**kwargs)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def _strip_label(msg: str) -> str:
    """Drop the leading ``tableau ...: `` label so the caller can name the file instead."""
    return msg.split(": ", 1)[1] if msg.startswith("tableau") and ": " in msg else msg


def _as_rows(value: Any, nm: str, label: str) -> list[list[Any]]:
    if isinstance(value, np.ndarray):
        if value.ndim != 2:
            raise TableauError(f"{label}: {nm} must be a 2-D array, got shape {value.shape}")
        return [list(r) for r in value]
    if isinstance(value, sp.MatrixBase):
        return [list(value.row(i)) for i in range(value.rows)]
    if not isinstance(value, (list, tuple)):
        raise TableauError(f"{label}: {nm} must be a list of rows, got {type(value).__name__}")
    rows = []
    for i, row in enumerate(value):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if not isinstance(row, (list, tuple)):
            raise TableauError(f"{label}: {nm} must be a list of rows, row {i} is a {type(row).__name__}")
        rows.append(list(row))
    return rows


def _as_vector(value: Any, nm: str, s: int, label: str) -> list[Any]:
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise TableauError(f"{label}: {nm} must be a vector, got shape {value.shape}")
        value = list(value)
    elif isinstance(value, sp.MatrixBase):
        value = list(value)
    if not isinstance(value, (list, tuple)):
        raise TableauError(f"{label}: {nm} must be a list of {s} numbers, got {type(value).__name__}")
    if len(value) != s:
        raise TableauError(f"{label}: {nm} has {len(value)} entries but A is {s}x{s}")
    return [parse_entry(x, f"{label}: {nm}[{i}]") for i, x in enumerate(value)]


def _exact_sum(values: Sequence[sp.Expr]) -> sp.Expr:
    """Sum of exact numbers; rationals are added directly (``sp.expand`` only for surds)."""
    total = sp.Add(*values)
    return total if total.is_Rational else sp.expand(total)


def _exact_zero(x: sp.Expr) -> bool:
    return x == 0 or (not x.is_Rational and sp.simplify(x) == 0)
