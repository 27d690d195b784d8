"""JSON text that durable-rules' C parser reads correctly (used by :mod:`rules.host`).

durable-rules 2.0.28 parses facts and ruleset definitions with its own JSON
reader, which rejects a number in exponent notation without a decimal point
(``1e-05``, ``5e-324``, ``1E+16``: "error code 204") — exactly what Python's
``json.dumps`` writes for small or large floats. It reads ``1.0e-05`` correctly,
so floats are written with a decimal point in the mantissa. NaN and infinities
are not JSON and are refused, as are integers beyond 64 bits.
"""
from __future__ import annotations

import math
from json.encoder import encode_basestring as _string  # a str's JSON text, non-ASCII kept (C)
from typing import Any

__all__ = ["dumps", "check"]

_INT64 = 2**63


def dumps(value: Any) -> str:
    """Serialize JSON-compatible data (dict with str keys, list/tuple, str, int, float, bool, None).

    Raises :class:`ValueError` naming the offending value.
    """
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def check(value: Any) -> None:
    """Raise :class:`ValueError` unless ``value`` reads correctly even through ``json.dumps``.

    For data durable-rules serializes itself (ruleset definitions): floats must
    not need exponent notation without a decimal point.
    """
    _write(value, [], plain=True)


def _write(value: Any, parts: list[str], path: tuple = (), plain: bool = False) -> None:
    """Append the JSON text of ``value`` to ``parts``. ``path``: where ``value`` is, as nested
    (parent, key or index) pairs, spelled out only in an error (:func:`_where`).

    Types are asked by ``type()`` first (what facts are made of), then by ``isinstance`` (subclasses,
    which keep their base's JSON); strings go through the standard library's C escaper, as
    ``json.dumps(ensure_ascii=False)`` writes them: a fact's JSON was a fifth of evaluating a
    ruleset (cProfile 2026-12-04, a simulated population's target groups)."""
    kind = type(value)
    if kind is str:
        parts.append(_string(value))
    elif kind is int:
        parts.append(_int(value, path))
    elif kind is dict:
        _object(value, parts, path, plain)
    elif kind is list or kind is tuple:
        _array(value, parts, path, plain)
    elif value is None:
        parts.append("null")
    elif kind is bool:
        parts.append("true" if value else "false")
    elif kind is float:
        parts.append(_float(value, path, plain))
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int):  # bool is never subclassed: an int subclass (an IntEnum)
        parts.append(_int(int(value), path))
    elif isinstance(value, float):
        parts.append(_float(float(value), path, plain))
    elif isinstance(value, dict):
        _object(value, parts, path, plain)
    elif isinstance(value, (list, tuple)):
        _array(value, parts, path, plain)
    else:
        raise ValueError(f"{_where(path)}: {value!r} is not JSON data")


def _object(value: dict, parts: list[str], path: tuple, plain: bool) -> None:
    parts.append("{")
    first = True
    for key, item in value.items():
        if type(key) is not str and not isinstance(key, str):
            raise ValueError(f"{_where(path)}: key {key!r} is not a string")
        if not first:
            parts.append(",")
        first = False
        parts.append(_string(key))
        parts.append(":")
        if type(item) is str:
            parts.append(_string(item))
        else:
            _write(item, parts, (path, str(key)), plain)
    parts.append("}")


def _array(value, parts: list[str], path: tuple, plain: bool) -> None:
    parts.append("[")
    for index, item in enumerate(value):
        if index:
            parts.append(",")
        _write(item, parts, (path, index), plain)
    parts.append("]")


def _int(value: int, path: tuple) -> str:
    if not -_INT64 <= value < _INT64:
        raise ValueError(f"{_where(path)}: integer {value} is too large for the rule engine")
    return str(value)


def _where(path: tuple) -> str:
    """``$.a[0].b`` from the nested (parent, key or index) pairs of :func:`_write`."""
    steps = []
    while path:
        path, step = path
        steps.append(f"[{step}]" if type(step) is int else f".{step}")
    return "$" + "".join(reversed(steps))


def _float(value: float, path: tuple, plain: bool) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{_where(path)}: {value!r} is not a finite number")
    text = repr(float(value))
    if "e" in text and "." not in text:
        if plain:
            raise ValueError(f"{_where(path)}: {value!r} needs exponent notation, which the rule engine misreads")
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text
