"""JSON text that durable-rules' C parser reads correctly (used by :mod:`rules.host`).

durable-rules 2.0.28 parses facts and ruleset definitions with its own JSON
reader, which rejects a number in exponent notation without a decimal point
(``1e-05``, ``5e-324``, ``1E+16``: "error code 204") — exactly what Python's
``json.dumps`` writes for small or large floats. It reads ``1.0e-05`` correctly,
so floats are written with a decimal point in the mantissa. NaN and infinities
are not JSON and are refused, as are integers beyond 64 bits.
"""
from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "check"]

_INT64 = 2**63


def dumps(value: Any) -> str:
    """Serialize JSON-compatible data (dict with str keys, list/tuple, str, int, float, bool, None).

    Raises :class:`ValueError` naming the offending value.
    """
    parts: list[str] = []
    _write(value, parts, "$")
    return "".join(parts)


def check(value: Any) -> None:
    """Raise :class:`ValueError` unless ``value`` reads correctly even through ``json.dumps``.

    For data durable-rules serializes itself (ruleset definitions): floats must
    not need exponent notation without a decimal point.
    """
    _write(value, [], "$", plain=True)


def _write(value: Any, parts: list[str], path: str, plain: bool = False) -> None:
    if value is None or isinstance(value, (bool, str)):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError(f"{path}: integer {value} is too large for the rule engine")
        parts.append(str(int(value)))
    elif isinstance(value, float):
        parts.append(_float(value, path, plain))
    elif isinstance(value, dict):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} is not a string")
            if index:
                parts.append(",")
            parts.append(json.dumps(key, ensure_ascii=False))
            parts.append(":")
            _write(item, parts, f"{path}.{key}", plain)
        parts.append("}")
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts, f"{path}[{index}]", plain)
        parts.append("]")
    else:
        raise ValueError(f"{path}: {value!r} is not JSON data")


def _float(value: float, path: str, plain: bool) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{path}: {value!r} is not a finite number")
    text = repr(float(value))
    if "e" in text and "." not in text:
        if plain:
            raise ValueError(f"{path}: {value!r} needs exponent notation, which the rule engine misreads")
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text
