"""Typed, validated, read-only views over parsed JSON: the machinery behind
:mod:`analysis.schema`.

A view is a frozen, keyword-only dataclass deriving from :class:`View`; each field reads the
JSON key of its name (or ``json_field(key=...)``) and its annotation says what the value may
be: ``str``, ``bool``, ``int``, ``float`` (any JSON number), :data:`Real` (a number or one of
the strings ``"inf"``, ``"-inf"``, ``"nan"`` that stand for non-finite floats), ``X | None``,
unions, ``tuple[T, ...]`` (a JSON array), ``tuple[T1, T2]`` (an array of that length),
``Mapping[str, T]`` (a JSON object, read-only), ``Any`` (the JSON value as it is) or a nested
view. :meth:`View.from_json` checks every value against its annotation and raises
:class:`~analysis.errors.AnalysisInputError` with a one-line message naming the key path; a
value is never converted (an integer stays an integer), so what a reader sees is exactly
what the file holds. Missing keys take the field's default; a nested view that is missing,
``null`` or ``{}`` reads as ``None`` (an empty object says nothing). :func:`json_kinds` gives
the JSON types an annotation accepts, so tests can hold the views and the JSON Schema file
to the same shapes. Imports only the standard library and :mod:`analysis.errors`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from functools import lru_cache
from typing import Any, Annotated, Iterator, Mapping, Union

from .errors import AnalysisInputError

__all__ = ["View", "ViewField", "Real", "json_field", "view_fields", "json_kinds", "iter_view_types"]

_REAL = "number or 'inf', '-inf', 'nan'"
#: a float that JSON cannot hold as a number when it is not finite: then "inf", "-inf" or "nan"
Real = Annotated[float, _REAL]
_NONFINITE = ("inf", "-inf", "nan")
_WHOLE = "whole"


def json_field(*, key: str | None = None, default: Any = dataclasses.MISSING, default_factory: Any = dataclasses.MISSING,
               whole: bool = False) -> Any:
    """A view field reading ``key`` (default: the field name). ``whole=True``: the field holds
    the whole JSON object of the view as a read-only mapping (e.g. to print it back)."""
    meta = {"key": key, _WHOLE: whole}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class ViewField:
    """One field of a view: Python name, JSON key, annotation, and whether it is required
    (no default) or holds the whole object."""

    name: str
    key: str
    type: Any
    required: bool
    whole: bool


class _Mismatch(Exception):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class View:
    """Base of the typed views; subclasses are ``@dataclass(frozen=True, kw_only=True)``.

    A subclass checks relations between its fields in :meth:`_validate` (run on every
    construction) and reports a problem with :meth:`_fail`.
    """

    #: how error messages name the document
    _document: typing.ClassVar[str] = "JSON"
    #: key path of this object inside the document (for error messages)
    _path: str = dataclasses.field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        """Checks beyond the types of single fields (none by default)."""

    @classmethod
    def from_json(cls, data: Any, path: str = "") -> "View":
        """The view of ``data`` (a parsed JSON object), validated; ``path`` is the key path of
        ``data`` inside the document, used in error messages."""
        if not isinstance(data, Mapping):
            raise _error(cls, path, f"expected an object, got {_describe(data)}")
        kwargs: dict[str, Any] = {}
        for f in view_fields(cls):
            if f.whole:
                kwargs[f.name] = _readonly(data)
                continue
            sub = f"{path}.{f.key}" if path else f.key
            if f.key not in data:
                if f.required:
                    raise _error(cls, sub, "is missing")
                continue
            kwargs[f.name] = _coerce(cls, f.type, data[f.key], sub)
        return cls(_path=path, **kwargs)

    def _fail(self, key: str, message: str) -> typing.NoReturn:
        raise _error(type(self), f"{self._path}.{key}" if self._path else key, message)


def _error(cls: type, path: str, message: str) -> AnalysisInputError:
    where = f"{cls._document}: {path}" if path else cls._document
    return AnalysisInputError(f"{where}: {message}")


def _readonly(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(data))


@lru_cache(maxsize=None)
def _fields(cls: type) -> tuple[ViewField, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append(ViewField(f.name, f.metadata.get("key") or f.name, hints[f.name], required, bool(f.metadata.get(_WHOLE))))
    return tuple(out)


def view_fields(cls: type) -> tuple[ViewField, ...]:
    """The fields of a view class that are read from JSON."""
    if not (isinstance(cls, type) and issubclass(cls, View) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a view dataclass")
    return _fields(cls)


# ------------------------------------------------------------------ annotations
def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _is_view(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, View)


def json_kinds(tp: Any) -> frozenset[str]:
    """The JSON types (``"null"``, ``"boolean"``, ``"integer"``, ``"number"``, ``"string"``,
    ``"array"``, ``"object"``) a value of annotation ``tp`` may have; ``"number"`` includes
    integers, and ``Any`` gives every type."""
    if tp is Any:
        return frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})
    if tp is type(None) or tp is None:
        return frozenset({"null"})
    if typing.get_origin(tp) is Annotated:
        base, *meta = typing.get_args(tp)
        return json_kinds(base) | ({"string"} if _REAL in meta else set())
    if _is_union(tp):
        return frozenset().union(*(json_kinds(a) for a in typing.get_args(tp)))
    if tp is bool:
        return frozenset({"boolean"})
    if tp is int:
        return frozenset({"integer"})
    if tp is float:
        return frozenset({"integer", "number"})
    if tp is str:
        return frozenset({"string"})
    origin = typing.get_origin(tp)
    if origin is tuple:
        return frozenset({"array"})
    if origin is collections.abc.Mapping or _is_view(tp):
        return frozenset({"object"})
    raise TypeError(f"unsupported view annotation {tp!r}")


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _describe(value: Any) -> str:
    kind = _kind_of(value)
    if kind in ("array", "object"):
        return f"an {kind}" if kind == "array" else "an object"
    text = repr(value)
    what = "null" if kind == "null" else ("an " if kind[0] in "aeiou" else "a ") + kind
    return f"{text[:40] + '...' if len(text) > 40 else text} ({what})"


def _expected(tp: Any) -> str:
    if typing.get_origin(tp) is Annotated and _REAL in typing.get_args(tp)[1:]:
        return "a number"
    if _is_union(tp):
        parts = [_expected(a) for a in typing.get_args(tp) if a is not type(None)]
        if type(None) in typing.get_args(tp):
            parts.append("null")
        return " or ".join(dict.fromkeys(parts))
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return "an array" if len(args) == 2 and args[1] is Ellipsis else f"an array of {len(args)}"
    return "an object"


def _coerce(owner: type, tp: Any, value: Any, path: str) -> Any:
    try:
        return _check(owner, tp, value, path)
    except _Mismatch:
        raise _error(owner, path, f"expected {_expected(tp)}, got {_describe(value)}") from None


def _check(owner: type, tp: Any, value: Any, path: str) -> Any:
    """``value`` if it fits ``tp`` (arrays as tuples, objects as read-only mappings or views);
    :class:`_Mismatch` when its JSON type does not fit, AnalysisInputError from inside."""
    if tp is Any:
        return value
    if _is_union(tp):
        args = typing.get_args(tp)
        if isinstance(value, Mapping) and not value and type(None) in args and any(_is_view(a) for a in args):
            return None  # an empty object says nothing: the nested view is absent
        kind = _kind_of(value)
        alts = [a for a in args if kind in json_kinds(a) or (kind == "integer" and "number" in json_kinds(a))]
        if not alts:
            raise _Mismatch
        if len(alts) == 1:
            return _coerce(owner, alts[0], value, path)
        for alt in alts[:-1]:
            try:
                return _check(owner, alt, value, path)
            except (_Mismatch, AnalysisInputError):
                continue
        return _coerce(owner, alts[-1], value, path)
    if tp is type(None):
        if value is not None:
            raise _Mismatch
        return None
    if typing.get_origin(tp) is Annotated:
        base, *meta = typing.get_args(tp)
        if _REAL in meta and isinstance(value, str):
            if value not in _NONFINITE:
                raise _Mismatch
            return value
        return _check(owner, base, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise _Mismatch
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Mismatch
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Mismatch
        return value
    if tp is str:
        if not isinstance(value, str):
            raise _Mismatch
        return value
    origin = typing.get_origin(tp)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(owner, args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise _error(owner, path, f"expected an array of {len(args)}, got {len(value)} entries")
        return tuple(_coerce(owner, a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is collections.abc.Mapping:
        if not isinstance(value, Mapping):
            raise _Mismatch
        _, vt = typing.get_args(tp)
        return types.MappingProxyType({k: _coerce(owner, vt, v, f"{path}.{k}") for k, v in value.items()})
    if _is_view(tp):
        if not isinstance(value, Mapping):
            raise _Mismatch
        return tp.from_json(value, path)
    raise TypeError(f"unsupported view annotation {tp!r}")


def iter_view_types(root: type) -> Iterator[type]:
    """Every view class reachable from ``root`` through its annotations (``root`` first)."""
    seen: list[type] = []

    def walk(tp: Any) -> None:
        if _is_view(tp):
            if tp in seen:
                return
            seen.append(tp)
            for f in view_fields(tp):
                walk(f.type)
        for a in typing.get_args(tp):
            if not isinstance(a, str):
                walk(a)

    walk(root)
    return iter(seen)
