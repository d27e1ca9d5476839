"""LaTeX escaping for user strings (family names, equations, paths, commands).

Everything the LaTeX template prints goes through :func:`tex_finalize`: plain strings are
escaped, :class:`Tex` strings (LaTeX that this package built) pass through unchanged. The
preamble uses the default OT1 encoding with Computer Modern Type 1 fonts (texlive-base), so
characters that OT1 lacks (``<``, ``>``, ``|``, ``~``, ``^``) are typeset through math or
accents, Greek letters through math, and anything else outside Latin-1 is written as its
code point (``[U+2603]``) rather than breaking the compile.
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["Tex", "latex_escape", "tex_finalize", "verbatim_safe"]


class Tex(str):
    """A string of LaTeX source that must not be escaped again."""

    __slots__ = ()


_ASCII = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\ensuremath{\$}",  # \$ in text falls back to a bitmap TS1 font under OT1
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\~{}",
    "^": r"\^{}",
    "<": r"\ensuremath{<}",
    ">": r"\ensuremath{>}",
    "|": r"\ensuremath{|}",
    '"': r"{\char34}",  # cmr: closing quote, cmtt: straight quote
    "\n": " ",
    "\r": " ",
    "\t": " ",
}

_GREEK = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ζ": r"\zeta",
    "η": r"\eta", "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu",
    "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\varphi",
    "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta",
    "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
}

_SYMBOLS = {
    "′": r"\ensuremath{'}", "″": r"\ensuremath{''}", "−": r"\ensuremath{-}", "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}", "≤": r"\ensuremath{\le}", "≥": r"\ensuremath{\ge}", "≠": r"\ensuremath{\ne}",
    "≈": r"\ensuremath{\approx}", "∞": r"\ensuremath{\infty}", "±": r"\ensuremath{\pm}", "→": r"\ensuremath{\to}",
    "∈": r"\ensuremath{\in}", "√": r"\ensuremath{\surd}", "–": "--", "—": "---", "‘": "`", "’": "'",
    "“": "``", "”": "''", "…": r"\dots{}", "\u00a0": "~", "ß": r"\ss{}", "ø": r"\o{}", "Ø": r"\O{}",
    "æ": r"\ae{}", "Æ": r"\AE{}", "œ": r"\oe{}", "Œ": r"\OE{}", "å": r"\aa{}", "Å": r"\AA{}", "ł": r"\l{}",
    "Ł": r"\L{}", "ı": r"\i{}",
}

_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
            "\u0307": ".", "\u030c": "v", "\u0306": "u", "\u030b": "H", "\u0327": "c", "\u030a": "r"}


def _char(ch: str) -> str:
    if ch in _ASCII:
        return _ASCII[ch]
    if " " <= ch <= "~":
        return ch
    if ch in _GREEK:
        return r"\ensuremath{" + _GREEK[ch] + "}"
    if ch in _SYMBOLS:
        return _SYMBOLS[ch]
    decomposed = unicodedata.normalize("NFD", ch)
    if len(decomposed) == 2 and decomposed[0].isascii() and decomposed[0].isalpha() and decomposed[1] in _ACCENTS:
        base = r"\i" if decomposed[0] == "i" else decomposed[0]
        return "{\\" + _ACCENTS[decomposed[1]] + "{" + base + "}}"
    if unicodedata.category(ch).startswith("C"):
        return ""
    return f"[U+{ord(ch):04X}]"


def latex_escape(value: Any) -> Tex:
    """``value`` as LaTeX text that typesets literally (a :class:`Tex` is kept as is)."""
    if isinstance(value, Tex):
        return value
    raw = str(value)
    out = []
    for k, ch in enumerate(raw):
        out.append(_char(ch))
        # no dash or inverted-punctuation ligatures from literal input ("--config", "!`")
        if ch in "-!?" and k + 1 < len(raw) and raw[k + 1] in ("-" if ch == "-" else "`"):
            out.append("{}")
    return Tex("".join(out))


def tex_finalize(value: Any) -> Any:
    """Jinja ``finalize`` hook of the LaTeX environment: escape all but :class:`Tex`."""
    if value is None:
        return ""
    if isinstance(value, Tex):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    return latex_escape(value)


def verbatim_safe(text: str, width: int = 92) -> Tex:
    """``text`` for a ``verbatim`` environment: ASCII only, no ``\\end{verbatim}``, lines
    longer than ``width`` hard-wrapped (continuations start with ``  ``)."""
    out: list[str] = []
    for line in str(text).splitlines() or [""]:
        clean = "".join(ch if " " <= ch <= "~" else (" " if ch == "\t" else f"[U+{ord(ch):04X}]") for ch in line)
        clean = clean.replace("\\end{verbatim}", "\\end {verbatim}")
        while len(clean) > width:
            out.append(clean[:width])
            clean = "  " + clean[width:]
        out.append(clean)
    return Tex("\n".join(out))
