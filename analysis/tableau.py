"""Butcher tableaux: validated, exact where possible, with a float64 view.

A Runge-Kutta method with ``s`` stages for ``y' = f(t, y)`` is given by ``(A, b, c)``::

    k_i     = f(t_n + c_i h, y_n + h sum_j A[i, j] k_j)      i = 1..s
    y_{n+1} = y_n + h sum_i b[i] k_i

The row-sum condition ``c = A 1`` is assumed by the rooted-tree order conditions.

A tableau also records the precision its coefficients carry (:attr:`ButcherTableau.digits`):
long decimals such as Verner's published 40-digit coefficients, or float32 data, are
rounded values, and the checker's default tolerance is taken from their digits. In a
notebook a tableau shows its coefficients (``repr``, ``_repr_latex_``); ``to_latex()`` and
``to_sympy()`` give the Butcher array as LaTeX and as sympy matrices.

Imports numpy, sympy and the package's ``atomic``, ``errors``, ``expressions`` and
``numbers`` modules.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .atomic import write_json_atomic
from .errors import TableauError, TableauWarning
from .expressions import decimal_digits
from .numbers import format_exact, is_exact, parse_entry, to_float

__all__ = ["ButcherTableau", "ExactTableau", "load_tableau", "ROUNDED_MIN_DIGITS", "FLOAT32_DIGITS"]

_ROW_SUM_RTOL = 1e-10
#: Decimals with at least this many significant digits are read as rounded values.
ROUNDED_MIN_DIGITS = 7
#: The digits float32 data carry (2^-24 ~ 6e-8).
FLOAT32_DIGITS = 8
_FLOAT64_DIGITS = 16
#: Largest tableau shown in full by ``repr`` (larger ones show c and b only).
_REPR_FULL_STAGES = 8


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
    digits : int, optional
        Significant decimal digits the coefficients carry when they are rounded values.
        Default: detected -- the fewest digits among the decimal entries with at least
        :data:`ROUNDED_MIN_DIGITS` significant digits (``"0.161"`` is exact, a 40-digit
        decimal is rounded at its 40th digit), :data:`FLOAT32_DIGITS` for float32 data,
        ``None`` (not rounded) for exact entries and full float64 values.

    After construction ``A``, ``b``, ``c`` and ``b_hat`` are read-only float64 arrays and
    ``exact`` holds the exact coefficients (or ``None`` when any entry was a float).
    """

    A: Any
    b: Any
    c: Any = None
    b_hat: Any = None
    name: str | None = None
    digits: int | None = None
    exact: ExactTableau | None = field(init=False, default=None)
    _cache: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        label = f"tableau {self.name!r}" if self.name else "tableau"
        if self.digits is None:
            object.__setattr__(self, "digits", _carried_digits([self.A, self.b, self.c, self.b_hat]))
        elif isinstance(self.digits, bool) or not isinstance(self.digits, (int, np.integer)) or not 1 <= int(self.digits) <= 10_000:
            raise TableauError(f"{label}: digits must be a whole number >= 1, got {self.digits!r}")
        else:
            object.__setattr__(self, "digits", int(self.digits))
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

    @property
    def coefficient_scale(self) -> float:
        """``max(1, max |a_ij|, max |b_i|, max |b_hat_i|)``: the scale tolerances are relative to."""
        vals = [1.0, float(np.max(np.abs(self.A))), float(np.max(np.abs(self.b)))]
        if self.b_hat is not None:
            vals.append(float(np.max(np.abs(self.b_hat))))
        return max(vals)

    @property
    def precision_note(self) -> str | None:
        """What the coefficients' precision is, in words, when they are rounded values."""
        if self.digits is None:
            return None
        if not self.is_exact and self.digits == FLOAT32_DIGITS and _all_float32(self):
            return "float32 coefficients (about 8 significant digits)"
        kind = "decimal" if self.is_exact else "float"
        return f"{self.digits}-digit {kind} coefficients, read as rounded at their last digit"

    def with_name(self, name: str | None) -> "ButcherTableau":
        return _rebuild(**self._ctor_args(), name=name, digits=self.digits)

    def as_float(self) -> "ButcherTableau":
        """The same method with float64 entries only (drops the exact values)."""
        return _rebuild(
            A=self.A.tolist(), b=self.b.tolist(), c=self.c.tolist(),
            b_hat=None if self.b_hat is None else self.b_hat.tolist(), name=self.name,
            digits=self.digits if self.digits is not None and self.digits < _FLOAT64_DIGITS else None,
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
        return _rebuild(**args, name=self.name, digits=self.digits)

    # ------------------------------------------------------------------ equality
    def __eq__(self, other: object) -> bool:
        """Same coefficients: exact entries compare exactly when both are rational and to 50
        digits otherwise (two ways of writing one algebraic number are equal); float
        entries compare bit for bit."""
        if not isinstance(other, ButcherTableau):
            return NotImplemented
        if self.exact is not None and other.exact is not None:
            a, o = self.exact, other.exact
            if len(a.entries()) != len(o.entries()) or self.stages != other.stages:
                return False
            return all(_same_number(x, y) for x, y in zip(a.entries(), o.entries()))
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
        kind = "exact" if self.exact is not None else "float64"
        if self.digits is not None:
            kind += f", {self.digits} digits"
        head = (f"ButcherTableau({self.name!r}, {self.stages} stages, "
                f"{'explicit' if self.is_explicit else 'implicit'}, {kind})")
        if self.stages <= _REPR_FULL_STAGES:
            return head + "\n" + self.to_text(max_entry_width=14)
        short = lambda v: _short_vector(v, self)  # noqa: E731
        return head + "\n  c = " + short("c") + "\n  b = " + short("b") + ("" if self.b_hat is None else "\n  b_hat = " + short("b_hat"))

    def to_text(self, exact: bool = True, max_entry_width: int = 28) -> str:
        """The tableau as text in the usual ``c | A`` over ``b`` layout; exact entries when
        they fit ``max_entry_width`` characters, else floats to 10 significant digits."""
        s = self.stages
        use_exact = exact and self.exact is not None and max(len(format_exact(x)) for x in self.exact.entries()) <= max_entry_width
        if use_exact:
            e = self.exact
            fmt = format_exact
            A = [[fmt(x) for x in row] for row in e.A]
            b, c = [fmt(x) for x in e.b], [fmt(x) for x in e.c]
            bh = None if e.b_hat is None else [fmt(x) for x in e.b_hat]
        else:
            fmt_f = (lambda x: f"{float(x):.10g}") if self.exact is not None or self.digits is not None else (lambda x: repr(float(x)))
            A = [[fmt_f(x) for x in row] for row in self.A]
            b, c = [fmt_f(x) for x in self.b], [fmt_f(x) for x in self.c]
            bh = None if self.b_hat is None else [fmt_f(x) for x in self.b_hat]
        if self.is_explicit:
            A = [[x if j < i else "" for j, x in enumerate(row)] for i, row in enumerate(A)]
        cw = max(len(x) for x in c)
        cols = [max([len(A[i][j]) for i in range(s)] + [len(b[j])] + ([len(bh[j])] if bh else [])) for j in range(s)]
        lines = [f"  {c[i]:>{cw}} | " + "  ".join(f"{A[i][j]:<{cols[j]}}" for j in range(s)).rstrip() for i in range(s)]
        lines.append("  " + "-" * cw + "-+-" + "-" * (sum(cols) + 2 * (s - 1)))
        lines.append(f"  {'':>{cw}} | " + "  ".join(f"{b[j]:<{cols[j]}}" for j in range(s)).rstrip())
        if bh:
            lines.append(f"  {'':>{cw}} | " + "  ".join(f"{bh[j]:<{cols[j]}}" for j in range(s)).rstrip() + "   (embedded)")
        if exact and self.exact is not None and not use_exact:
            lines.append("  (exact entries too long to show here; to_dict() or to_sympy() has them)")
        return "\n".join(lines)

    def to_sympy(self) -> dict[str, sp.Matrix | None]:
        """``{"A": Matrix, "b": Matrix, "c": Matrix, "b_hat": Matrix or None}``: exact sympy
        numbers for exact tableaux, sympy Floats holding the float64 values otherwise
        (``b``, ``c``, ``b_hat`` are column vectors)."""
        if self.exact is not None:
            e = self.exact
            return {"A": sp.Matrix(e.A), "b": sp.Matrix(e.b), "c": sp.Matrix(e.c),
                    "b_hat": None if e.b_hat is None else sp.Matrix(e.b_hat)}
        fl = lambda x: sp.Float(float(x), 17)  # noqa: E731
        return {"A": sp.Matrix(self.A.shape[0], self.A.shape[1], [fl(x) for x in self.A.flat]),
                "b": sp.Matrix([fl(x) for x in self.b]), "c": sp.Matrix([fl(x) for x in self.c]),
                "b_hat": None if self.b_hat is None else sp.Matrix([fl(x) for x in self.b_hat])}

    def to_latex(self) -> str:
        """The Butcher array as a LaTeX ``array`` (math mode): ``c | A`` over ``b`` (and
        ``b_hat``); exact entries typeset by sympy, floats to 10 significant digits."""
        s = self.stages
        if self.exact is not None:
            e = self.exact
            tex = sp.latex
            A = [[tex(x) for x in row] for row in e.A]
            b, c = [tex(x) for x in e.b], [tex(x) for x in e.c]
            bh = None if e.b_hat is None else [tex(x) for x in e.b_hat]
        else:
            tex_f = lambda x: _latex_float(float(x))  # noqa: E731
            A = [[tex_f(x) for x in row] for row in self.A]
            b, c = [tex_f(x) for x in self.b], [tex_f(x) for x in self.c]
            bh = None if self.b_hat is None else [tex_f(x) for x in self.b_hat]
        if self.is_explicit:
            A = [[x if j < i else "" for j, x in enumerate(row)] for i, row in enumerate(A)]
        rows = [f"{c[i]} & " + " & ".join(A[i]) + r" \\" for i in range(s)]
        rows.append(r"\hline")
        rows.append(" & " + " & ".join(b) + (r" \\" if bh else ""))
        if bh:
            rows.append(" & " + " & ".join(bh))
        return "\\begin{array}{c|" + "c" * s + "}\n" + "\n".join(rows) + "\n\\end{array}"

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex() + "$$"

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; exact entries as strings, floats as round-tripping numbers."""
        hit = self._cache.get("dict")
        if hit is None:
            hit = self._cache["dict"] = self._make_dict()
        return {k: ([list(r) for r in v] if k == "A" else (list(v) if isinstance(v, list) else v)) for k, v in hit.items()}

    def _make_dict(self) -> dict[str, Any]:
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
    return ButcherTableau.from_dict(read_tableau_json(path), source=str(path))


def read_tableau_json(path: str | os.PathLike[str]) -> Any:
    """The parsed JSON of a tableau file (floats keep the digits they were written with;
    NaN/Infinity refused), or a one-line :class:`TableauError` naming the file."""
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
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_JsonFloat)
    except json.JSONDecodeError as exc:
        raise TableauError(f"{src}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise TableauError(f"{src}: {exc}") from None
    except RecursionError:
        raise TableauError(f"{src}: JSON nested too deeply") from None
    return data


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
    """Sum of exact numbers; rationals are added as fractions (``sp.expand`` only for surds)."""
    if all(isinstance(v, sp.Rational) for v in values):
        from fractions import Fraction

        tot = sum((Fraction(int(v.p), int(v.q)) for v in values), Fraction(0))
        return sp.Rational(tot.numerator, tot.denominator)
    total = sp.Add(*values)
    return total if total.is_Rational else sp.expand(total)


def _exact_zero(x: sp.Expr) -> bool:
    """Zero exactly for rationals; for algebraic numbers zero to 50 digits (a row-sum
    warning needs no proof, and this never calls sympy's simplification)."""
    if x.is_Rational:
        return x == 0
    return abs(sp.N(x, 50)) <= sp.Float(10) ** -45


def _same_number(x: sp.Expr, y: sp.Expr) -> bool:
    if x == y:
        return True
    if x.is_Rational and y.is_Rational:
        return False
    return abs(sp.N(x - y, 50)) <= sp.Float(10) ** -45 * max(1, abs(sp.N(x, 15)))


def _float_digits(v: float) -> int:
    """Significant digits of the shortest repr of a float (``0.16666667`` -> 8)."""
    mant = repr(float(v)).lower().split("e")[0].lstrip("-").replace(".", "")
    return len(mant.strip("0"))


class _JsonFloat(float):
    """A float read from JSON that remembers the text it was written as."""

    __slots__ = ("text",)

    def __new__(cls, text: str) -> "_JsonFloat":
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def _carried_digits(values: Sequence[Any]) -> int | None:
    """The digits rounded inputs carry (see :class:`ButcherTableau` ``digits``), or None.

    Decimal strings: the fewest significant digits among those with at least
    :data:`ROUNDED_MIN_DIGITS` (published decimals keep a fixed number of places, so the
    shortest is the least precise). Numbers written in a JSON file: the most digits any of
    them was written with, when that is below 16 (with 16 or 17 they are float64 values).
    float32 data (numpy float32, or floats that are all float32 values): 8. Floats made in
    Python carry no digits: they are float64 values.
    """
    long_digits: list[int] = []
    json_digits: list[int] = []
    floats: list[float] = []
    f32 = False

    def visit(v: Any) -> None:
        nonlocal f32
        if isinstance(v, np.ndarray):
            if v.dtype == np.float32:
                f32 = True
            for x in v.flat:
                visit(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                visit(x)
        elif isinstance(v, str):
            d = decimal_digits(v)
            if d >= ROUNDED_MIN_DIGITS:
                long_digits.append(d)
        elif isinstance(v, np.float32):
            f32 = True
        elif isinstance(v, (float, np.floating)) and not isinstance(v, bool):
            fv = float(v)
            if math.isfinite(fv):
                floats.append(fv)
                if isinstance(v, _JsonFloat):
                    json_digits.append(decimal_digits(v.text))

    for v in values:
        if v is not None:
            visit(v)
    if f32:
        return FLOAT32_DIGITS
    if floats and max(_float_digits(x) for x in floats) > FLOAT32_DIGITS + 1 and all(float(np.float32(x)) == x for x in floats):
        return FLOAT32_DIGITS  # float32 values stored as float64 (e.g. array.tolist() of float32 data)
    if json_digits and ROUNDED_MIN_DIGITS <= max(json_digits) < _FLOAT64_DIGITS:
        long_digits.append(max(json_digits))
    return min(long_digits) if long_digits else None


def _all_float32(t: "ButcherTableau") -> bool:
    arrs = [t.A, t.b] + ([t.b_hat] if t.b_hat is not None else [])
    return all(np.array_equal(a.astype(np.float32).astype(np.float64), a) for a in arrs)


def _short_vector(key: str, t: "ButcherTableau") -> str:
    """A vector of the tableau, at most 6 entries shown (first 3, last 3)."""
    if t.exact is not None:
        vals = [format_exact(x) for x in getattr(t.exact, key)]
        vals = [v if len(v) <= 16 else f"{to_float(x):.10g}" for v, x in zip(vals, getattr(t.exact, key))]
    else:
        vals = [f"{float(x):.10g}" for x in getattr(t, key)]
    if len(vals) > 6:
        vals = vals[:3] + ["..."] + vals[-3:]
    return "[" + ", ".join(vals) + "]"


def _latex_float(x: float) -> str:
    text = f"{x:.10g}"
    if "e" in text:
        m, e = text.split("e")
        return f"{m} \\cdot 10^{{{int(e)}}}"
    return text
