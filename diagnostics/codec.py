"""JSON for the domain's frozen dataclasses, typed both ways: what the shared state stores, never pickled.

Encoding turns dataclasses into objects, StrEnums into their values and tuples into lists. Decoding reads the
dataclass's type hints to rebuild exactly the same value (enums, tuples, nested dataclasses, optional fields),
so a diagnosis read back from SQLite or Redis compares equal to the one that was stored. Anything that does not
fit the declared types is refused with a CodecError instead of turning into a half-built object.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")


class CodecError(ValueError):
    """Stored data that does not decode into the type asked for (a newer or corrupted record)."""


def to_data(value: Any) -> Any:
    """Plain JSON-compatible data for a dataclass (or any nesting of them, enums, tuples and mappings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise CodecError(f"cannot store a {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(to_data(value), separators=(",", ":"), ensure_ascii=False)


def loads(kind: type[T], text: str | bytes) -> T:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CodecError(f"not JSON: {exc}") from None
    return from_data(kind, data)


def from_data(kind: type[T], data: Any) -> T:
    """The `kind` value that `to_data` turned into `data`."""
    return typing.cast(T, _decode(kind, data, kind.__name__))


@cache
def _hints(kind: type) -> dict[str, Any]:
    return get_type_hints(kind)


def _decode(hint: Any, data: Any, where: str) -> Any:
    if hint is Any:
        return data
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _decode_union(get_args(hint), data, where)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _decode_dataclass(hint, data, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(data)
        except ValueError:
            raise CodecError(f"{where}: {data!r} is not a {hint.__name__}") from None
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(data, list):
            raise CodecError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item, f"{where}[{i}]") for i, item in enumerate(data))
        if len(args) != len(data):
            raise CodecError(f"{where}: expected {len(args)} items")
        return tuple(_decode(a, item, f"{where}[{i}]") for i, (a, item) in enumerate(zip(args, data, strict=True)))
    if origin in (Mapping, dict) or hint in (dict, Mapping):
        if not isinstance(data, dict):
            raise CodecError(f"{where}: expected an object")
        args = get_args(hint)
        value_hint = args[1] if len(args) == 2 else Any
        return {k: _decode(value_hint, v, f"{where}.{k}") for k, v in data.items()}
    if hint is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise CodecError(f"{where}: expected a number")
    if hint in (str, int, bool):
        if type(data) is not hint:
            raise CodecError(f"{where}: expected {hint.__name__}")
        return data
    if hint is type(None):
        if data is not None:
            raise CodecError(f"{where}: expected null")
        return None
    raise CodecError(f"{where}: cannot decode into {hint!r}")


def _decode_union(options: tuple[Any, ...], data: Any, where: str) -> Any:
    if data is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _decode(option, data, where)
        except CodecError as exc:
            errors.append(str(exc))
    raise CodecError(errors[0] if len(errors) == 1 else f"{where}: {data!r} fits none of the expected types")


def _decode_dataclass(kind: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise CodecError(f"{where}: expected an object")
    hints = _hints(kind)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        if f.name in data:
            values[f.name] = _decode(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CodecError(f"{where}: {f.name} is missing")
    return kind(**values)
