"""Which arithmetic the checker's exact computations use, and the budgets that bound them.

Every exact verdict of the checker (order conditions, stage order, stability function,
algebraic stability, stiff accuracy) runs in one :class:`Arithmetic` chosen per tableau:

* **exact** -- the coefficients' number field: the rationals, or ``Q(theta)`` for entries
  built from radicals (:mod:`analysis.number_fields`); no rounding at all;
* **60-digit** -- mpmath with 60 significant digits, where exact arithmetic would exceed its
  budget: a number field of too high a degree (e.g. an entry ``2**(191/271)``), entries that
  are not algebraic (``pi``, ``exp(1)``), or a field sympy cannot build within about a
  second. Values within ``1e-45`` of the coefficient scale count as zero, which decides
  every order condition of a published method correctly (their residuals are exact zeros
  or larger than 1e-30) and is stated next to every verdict it affects.

:class:`Deadline` and :func:`time_limit` bound the wall-clock time of exact work: loops
check a deadline cooperatively; a single sympy call is interrupted by ``SIGALRM`` where the
platform allows it (the main thread on POSIX), otherwise only the degree bound applies.

Imports only the standard library, gmpy2, mpmath, sympy and ``number_fields``.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator, Sequence

import mpmath
import sympy as sp
from gmpy2 import mpq

from .number_fields import RATIONALS, NotInField, NumberField, number_field

__all__ = ["Arithmetic", "ExactArithmetic", "MpArithmetic", "OverBudget", "Deadline", "time_limit", "arithmetic_for",
           "MP_DIGITS", "MP_ZERO_RTOL", "FIELD_BUDGET_S"]

#: Digits of the fallback arithmetic.
MP_DIGITS = 60
#: In 60-digit arithmetic a value counts as zero when below this times the scale.
MP_ZERO_RTOL = 1e-45
#: Wall-clock seconds sympy may spend building a number field before the fallback.
FIELD_BUDGET_S = 1.0


class OverBudget(Exception):
    """An exact computation would exceed its budget. ``token`` identifies the
    :func:`time_limit` that raised it (None for cooperative checks)."""

    def __init__(self, message: str = "", token: object | None = None) -> None:
        super().__init__(message)
        self.token = token


class Deadline:
    """A wall-clock budget: ``left()`` seconds remain; ``expired()`` once spent."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def expired(self) -> bool:
        return self.left() <= 0.0


@contextmanager
def time_limit(seconds: float) -> Iterator[object]:
    """Raise :class:`OverBudget` inside the block after ``seconds`` (SIGALRM, main thread on
    POSIX only, and only when no other interval timer is running -- an enclosing
    ``time_limit`` keeps its own; elsewhere a no-op). Yields the token its exception
    carries, so that a caller catches only its own limit."""
    token = object()
    if seconds <= 0:
        raise OverBudget("no time left", token)
    usable = (math.isfinite(seconds) and seconds < 1e6 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0.0)
    if not usable:
        yield token
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise OverBudget(f"over the budget of {seconds:g} s", token)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield token
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, old)


class Arithmetic:
    """Scalar operations of one arithmetic; elements are opaque to callers."""

    kind: str = ""
    label: str = ""
    note: str | None = None

    def zero(self) -> Any: ...
    def one(self) -> Any: ...
    def rational(self, q: Any) -> Any: ...
    def add(self, a: Any, b: Any) -> Any: ...
    def sub(self, a: Any, b: Any) -> Any: ...
    def mul(self, a: Any, b: Any) -> Any: ...
    def neg(self, a: Any) -> Any: ...
    def inv(self, a: Any) -> Any: ...
    def is_zero(self, a: Any, scale: float = 1.0) -> bool: ...
    def sign(self, a: Any, scale: float = 1.0) -> int: ...
    def to_float(self, a: Any) -> float: ...
    def to_mpf(self, a: Any, dps: int = MP_DIGITS) -> mpmath.mpf: ...
    def to_sympy(self, a: Any) -> sp.Expr: ...
    def is_rational(self, a: Any) -> bool: ...

    def sum(self, values: Sequence[Any]) -> Any:
        acc = self.zero()
        for v in values:
            acc = self.add(acc, v)
        return acc

    def dot(self, xs: Sequence[Any], ys: Sequence[Any]) -> Any:
        acc = self.zero()
        for x, y in zip(xs, ys):
            acc = self.add(acc, self.mul(x, y))
        return acc


class ExactArithmetic(Arithmetic):
    """Exact arithmetic in a number field (``RATIONALS`` for rational entries)."""

    kind = "exact"
    label = "exact arithmetic"

    def __init__(self, field: NumberField) -> None:
        self.field = field
        self._one = field.rational(1)
        self._zero = field.zero()

    @property
    def degree(self) -> int:
        return self.field.degree

    def zero(self) -> Any:
        return self._zero

    def one(self) -> Any:
        return self._one

    def rational(self, q: Any) -> Any:
        if isinstance(q, sp.Rational):
            q = mpq(int(q.p), int(q.q))
        return self.field.rational(mpq(q))

    def add(self, a: Any, b: Any) -> Any:
        return self.field.add(a, b)

    def sub(self, a: Any, b: Any) -> Any:
        return self.field.sub(a, b)

    def mul(self, a: Any, b: Any) -> Any:
        if self.field.degree == 1:
            return (a[0] * b[0],)
        return self.field.mul(a, b)

    def neg(self, a: Any) -> Any:
        return self.field.neg(a)

    def inv(self, a: Any) -> Any:
        return self.field.inv(a)

    def is_zero(self, a: Any, scale: float = 1.0) -> bool:
        return self.field.is_zero(a)

    def sign(self, a: Any, scale: float = 1.0) -> int:
        return self.field.sign(a)

    def to_float(self, a: Any) -> float:
        return self.field.to_float(a)

    def to_mpf(self, a: Any, dps: int = MP_DIGITS) -> mpmath.mpf:
        return self.field.to_mpf(a, dps)

    def to_sympy(self, a: Any) -> sp.Expr:
        return self.field.to_sympy(a)

    def is_rational(self, a: Any) -> bool:
        return self.field.is_rational(a)

    def element(self, expr: sp.Expr) -> Any:
        return self.field.element(expr)


class MpArithmetic(Arithmetic):
    """60-digit mpmath arithmetic (its own context: the global precision is not touched)."""

    kind = "60-digit"
    label = "60-digit arithmetic"

    def __init__(self, note: str | None = None, dps: int = MP_DIGITS) -> None:
        self.ctx = mpmath.MPContext()
        self.ctx.dps = dps
        self.dps = dps
        self.note = note
        self.degree = 1
        self._zero = self.ctx.mpf(0)
        self._one = self.ctx.mpf(1)

    def zero(self) -> Any:
        return self._zero

    def one(self) -> Any:
        return self._one

    def rational(self, q: Any) -> Any:
        if isinstance(q, sp.Rational):
            return self.ctx.mpf(int(q.p)) / int(q.q)
        q = mpq(q)
        return self.ctx.mpf(int(q.numerator)) / int(q.denominator)

    def add(self, a: Any, b: Any) -> Any:
        return a + b

    def sub(self, a: Any, b: Any) -> Any:
        return a - b

    def mul(self, a: Any, b: Any) -> Any:
        return a * b

    def neg(self, a: Any) -> Any:
        return -a

    def inv(self, a: Any) -> Any:
        return 1 / a

    def is_zero(self, a: Any, scale: float = 1.0) -> bool:
        return abs(a) <= MP_ZERO_RTOL * max(1.0, float(scale))

    def sign(self, a: Any, scale: float = 1.0) -> int:
        if self.is_zero(a, scale):
            return 0
        return 1 if a > 0 else -1

    def to_float(self, a: Any) -> float:
        return float(a)

    def to_mpf(self, a: Any, dps: int = MP_DIGITS) -> mpmath.mpf:
        return mpmath.mpf(a)

    def to_sympy(self, a: Any) -> sp.Expr:
        return sp.Float(mpmath.nstr(a, self.dps), self.dps)

    def is_rational(self, a: Any) -> bool:
        return False

    def element(self, expr: sp.Expr) -> Any:
        return self.ctx.mpf(sp.N(expr, self.dps + 10))


@dataclass(frozen=True, eq=False)
class Converted:
    """An arithmetic with the given entries converted into it (same order)."""

    arithmetic: Arithmetic
    elements: tuple[Any, ...]


def arithmetic_for(entries: Sequence[sp.Expr], budget_s: float = FIELD_BUDGET_S) -> Converted:
    """The exact arithmetic for ``entries`` (sympy numbers) when it fits the budget, else
    60-digit arithmetic with a note saying why. Cached by the entries."""
    from .numbers import as_sympy

    return _arithmetic_for(tuple(as_sympy(e) for e in entries), float(budget_s))


@lru_cache(maxsize=64)
def _arithmetic_for(entries: tuple[sp.Expr, ...], budget_s: float) -> Converted:
    if all(e.is_Rational for e in entries):
        ar = ExactArithmetic(RATIONALS)
        return Converted(ar, tuple((mpq(int(e.p), int(e.q)),) for e in entries))
    token = None
    try:
        with time_limit(budget_s) as token:
            K = number_field(entries)
            assert K is not None
            elems = tuple(K.element(e) for e in entries)
        return Converted(ExactArithmetic(K), elems)
    except NotInField as exc:
        note = f"exact arithmetic not used: {exc}"
    except OverBudget as exc:
        if exc.token is not token:
            raise
        note = f"exact arithmetic not used: the number field of the entries was not found within {budget_s:g} s"
    except (NotImplementedError, ValueError, ZeroDivisionError) as exc:  # sympy cannot handle the field
        note = f"exact arithmetic not used: sympy cannot build the number field ({exc.__class__.__name__})"
    ar = MpArithmetic(note)
    return Converted(ar, tuple(ar.element(e) for e in entries))
