"""Dense univariate polynomials over any :class:`~analysis.arithmetic.Arithmetic`.

Coefficient lists are ascending (``p[k]`` multiplies ``x^k``) and trimmed (no trailing
zeros). Everything the stability verdicts need is exact in exact arithmetic: division with
remainder, greatest common divisors, square-free decomposition (Yun), the number of
distinct real roots (Sturm), sign changes and the Routh-Hurwitz test. Signs of nonzero
coefficients come from :meth:`Arithmetic.sign`, which is exact for number-field elements.

Imports only the package's ``arithmetic`` module.
"""

from __future__ import annotations

from typing import Any, Sequence

from .arithmetic import Arithmetic

__all__ = ["Poly", "trim", "padd", "psub", "pmul", "pscale", "pdivmod", "pderiv", "pgcd", "pmonic", "peval",
           "square_free_parts", "sturm_count", "hurwitz_stable", "pcompose_neg"]

Poly = list


def trim(ar: Arithmetic, p: Sequence[Any], scale: float = 1.0) -> Poly:
    out = list(p)
    while out and ar.is_zero(out[-1], scale):
        out.pop()
    return out


def padd(ar: Arithmetic, a: Sequence[Any], b: Sequence[Any]) -> Poly:
    n = max(len(a), len(b))
    z = ar.zero()
    return trim(ar, [ar.add(a[i] if i < len(a) else z, b[i] if i < len(b) else z) for i in range(n)])


def psub(ar: Arithmetic, a: Sequence[Any], b: Sequence[Any]) -> Poly:
    n = max(len(a), len(b))
    z = ar.zero()
    return trim(ar, [ar.sub(a[i] if i < len(a) else z, b[i] if i < len(b) else z) for i in range(n)])


def pmul(ar: Arithmetic, a: Sequence[Any], b: Sequence[Any]) -> Poly:
    if not a or not b:
        return []
    out = [ar.zero()] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if ar.is_zero(x):
            continue
        for j, y in enumerate(b):
            out[i + j] = ar.add(out[i + j], ar.mul(x, y))
    return trim(ar, out)


def pscale(ar: Arithmetic, a: Sequence[Any], c: Any) -> Poly:
    return trim(ar, [ar.mul(x, c) for x in a])


def pdivmod(ar: Arithmetic, a: Sequence[Any], b: Sequence[Any]) -> tuple[Poly, Poly]:
    """Quotient and remainder of ``a / b`` (``b`` nonzero)."""
    b = trim(ar, b)
    if not b:
        raise ZeroDivisionError("polynomial division by zero")
    r = trim(ar, a)
    if len(r) < len(b):
        return [], r
    inv_lc = ar.inv(b[-1])
    q = [ar.zero()] * (len(r) - len(b) + 1)
    while len(r) >= len(b) and r:
        c = ar.mul(r[-1], inv_lc)
        k = len(r) - len(b)
        q[k] = c
        for i, y in enumerate(b[:-1]):
            r[k + i] = ar.sub(r[k + i], ar.mul(c, y))
        r.pop()
        r = trim(ar, r)
    return trim(ar, q), r


def pderiv(ar: Arithmetic, a: Sequence[Any]) -> Poly:
    return trim(ar, [ar.mul(ar.rational(k), a[k]) for k in range(1, len(a))])


def pmonic(ar: Arithmetic, a: Sequence[Any]) -> Poly:
    a = trim(ar, a)
    return pscale(ar, a, ar.inv(a[-1])) if a else []


def pgcd(ar: Arithmetic, a: Sequence[Any], b: Sequence[Any]) -> Poly:
    """Monic greatest common divisor (``[]`` when both are zero)."""
    a, b = trim(ar, a), trim(ar, b)
    while b:
        a, b = b, pdivmod(ar, a, b)[1]
    return pmonic(ar, a)


def peval(ar: Arithmetic, a: Sequence[Any], x: Any) -> Any:
    acc = ar.zero()
    for c in reversed(list(a)):
        acc = ar.add(ar.mul(acc, x), c)
    return acc


def pcompose_neg(ar: Arithmetic, a: Sequence[Any]) -> Poly:
    """``a(-x)``."""
    return [c if k % 2 == 0 else ar.neg(c) for k, c in enumerate(a)]


def square_free_parts(ar: Arithmetic, f: Sequence[Any]) -> list[tuple[Poly, int]]:
    """Yun's square-free decomposition: monic ``g_i`` with ``f = c prod g_i^i`` (the
    factors of degree >= 1 only)."""
    f = trim(ar, f)
    if len(f) <= 1:
        return []
    fp = pderiv(ar, f)
    a0 = pgcd(ar, f, fp)
    b = pdivmod(ar, f, a0)[0]
    c = pdivmod(ar, fp, a0)[0]
    d = psub(ar, c, pderiv(ar, b))
    out = []
    i = 1
    while len(b) > 1:
        a = pgcd(ar, b, d)
        if len(a) > 1:
            out.append((a, i))
        b = pdivmod(ar, b, a)[0]
        c = pdivmod(ar, d, a)[0]
        d = psub(ar, c, pderiv(ar, b))
        i += 1
    return out


def sturm_count(ar: Arithmetic, f: Sequence[Any]) -> int:
    """Number of distinct real roots of ``f`` (Sturm's theorem on the whole line)."""
    f = trim(ar, f)
    if len(f) <= 1:
        return 0
    seq = [f, pderiv(ar, f)]
    while len(seq[-1]) > 1:
        r = pdivmod(ar, seq[-2], seq[-1])[1]
        if not r:
            break
        seq.append([ar.neg(x) for x in r])

    def changes(signs: list[int]) -> int:
        s = [x for x in signs if x != 0]
        return sum(1 for u, v in zip(s, s[1:]) if u != v)

    at_pos = [ar.sign(p[-1]) for p in seq]
    at_neg = [ar.sign(p[-1]) * (-1 if (len(p) - 1) % 2 else 1) for p in seq]
    return changes(at_neg) - changes(at_pos)


def hurwitz_stable(ar: Arithmetic, p: Sequence[Any]) -> bool:
    """True when every root of ``p`` has negative real part (Routh's array; a zero in its
    first column means a root on or right of the imaginary axis)."""
    p = trim(ar, p)
    n = len(p) - 1
    if n < 1:
        return True
    desc = list(reversed(p))  # a_n ... a_0
    if any(ar.is_zero(c) for c in desc):
        return False  # a stable real polynomial has all coefficients nonzero and of one sign
    s0 = ar.sign(desc[0])
    if any(ar.sign(c) != s0 for c in desc):
        return False
    row1 = desc[0::2]
    row2 = desc[1::2]
    first = [desc[0]]
    while row2:
        if ar.is_zero(row2[0]):
            return False
        first.append(row2[0])
        ratio = ar.mul(row1[0], ar.inv(row2[0]))
        nxt = []
        for k in range(len(row1) - 1):
            b = row2[k + 1] if k + 1 < len(row2) else ar.zero()
            nxt.append(ar.sub(row1[k + 1], ar.mul(ratio, b)))
        row1, row2 = row2, nxt
        while row2 and len(row2) > len(row1):
            row2.pop()
    signs = [ar.sign(x) for x in first]
    return len(first) == n + 1 and all(sg == signs[0] and sg != 0 for sg in signs)
