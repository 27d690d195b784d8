"""Effective-dated legal parameters (ENGINEERING.md principle 5; TRAJECTORY.md §3).

Every legal amount, period, threshold and regime switch lives in one YAML file
under ``rules/parameters/`` (one file per parameter, values keyed by start date,
each with its legal source); code asks :func:`value` for the value in force on a
date and never writes such a value as a literal. A law change is a new dated
value, not an ``if``.

File format::

    name: registration_months          # must equal the file name without .yaml
    description: ...
    unit: months
    values:                            # strictly increasing start dates
      - from: 1900-01-01               # 1900-01-01 = baseline ("always")
        value: 3
        source: "TRAJECTORY.md §4.2; seed 001 §1"

A value applies from its ``from`` date (inclusive) until the next one starts.
Lists are returned as tuples, mappings as fresh dicts, so the cache cannot be
mutated through a returned value.
"""
from __future__ import annotations

import functools
import importlib.resources
import re
from importlib.resources.abc import Traversable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Union

import yaml

__all__ = [
    "DatedValue",
    "Parameter",
    "ParameterError",
    "ParameterFileError",
    "UnknownParameter",
    "NoValueOnDate",
    "load",
    "get",
    "value",
    "all_parameters",
]

_REQUIRED_KEYS = ("name", "description", "unit", "values")
_VALUE_KEYS = ("from", "value", "source")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

Directory = Union[Path, str, Traversable]


class ParameterError(Exception):
    """Base class of the errors of this module."""


class ParameterFileError(ParameterError):
    """A parameter file is malformed; the message names the file and the problem."""

    def __init__(self, file: str, problem: str):
        super().__init__(f"parameter file {file}: {problem}")
        self.file = file
        self.problem = problem


class UnknownParameter(ParameterError, KeyError):
    """No parameter file defines this name."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown parameter {self.name!r}"


class NoValueOnDate(ParameterError, LookupError):
    """The parameter has no value in force on the date (before its first start)."""

    def __init__(self, name: str, on: date):
        super().__init__(f"parameter {name!r} has no value in force on {on.isoformat()}")
        self.name = name
        self.on = on


@dataclass(frozen=True)
class DatedValue:
    """One value of a parameter, in force from ``start`` (inclusive)."""

    start: date
    value: Any
    source: str


@dataclass(frozen=True)
class Parameter:
    """A named parameter with its dated values, oldest first."""

    name: str
    description: str
    unit: str
    values: tuple[DatedValue, ...]

    def in_force(self, on: date) -> DatedValue:
        """The dated value in force on ``on``; raises :class:`NoValueOnDate`."""
        _check_date(on)
        current = None
        for dated in self.values:
            if dated.start > on:
                break
            current = dated
        if current is None:
            raise NoValueOnDate(self.name, on)
        return current

    def value_on(self, on: date) -> Any:
        """The value in force on ``on`` (mappings as a fresh dict)."""
        return _thaw(self.in_force(on).value)


# ---------------------------------------------------------------- loading


def _package_directory() -> Traversable:
    return importlib.resources.files(__package__ or "rules").joinpath("parameters")


def load(directory: Directory | None = None) -> dict[str, Parameter]:
    """Read and validate every ``*.yaml`` file of ``directory`` (default: the package's).

    Raises :class:`ParameterFileError` naming the file and the problem.
    """
    root = _package_directory() if directory is None else directory
    if isinstance(root, str):
        root = Path(root)
    if not root.is_dir():
        raise ParameterFileError(str(root), "is not a directory")
    parameters: dict[str, Parameter] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml") or not entry.is_file():
            continue
        parameter = _parse_file(entry.name, entry.read_text(encoding="utf-8"))
        parameters[parameter.name] = parameter
    return parameters


def _parse_file(file_name: str, text: str) -> Parameter:
    def fail(problem: str) -> ParameterFileError:
        return ParameterFileError(file_name, problem)

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise fail(f"invalid YAML: {error}") from error
    except ValueError as error:  # e.g. a YAML date such as 2020-02-30
        raise fail(f"invalid value: {error}") from error
    if not isinstance(document, dict):
        raise fail("top level must be a mapping")
    for key in _REQUIRED_KEYS:
        if key not in document:
            raise fail(f"missing key {key!r}")
    unexpected = sorted(set(document) - set(_REQUIRED_KEYS))
    if unexpected:
        raise fail(f"unexpected key(s) {', '.join(map(repr, unexpected))}")
    name = document["name"]
    stem = file_name[: -len(".yaml")]
    if not isinstance(name, str) or name != stem:
        raise fail(f"name {name!r} does not match the file name {stem!r}")
    for key in ("description", "unit"):
        if not isinstance(document[key], str) or not document[key].strip():
            raise fail(f"{key!r} must be a non-empty string")
    raw_values = document["values"]
    if not isinstance(raw_values, list) or not raw_values:
        raise fail("'values' must be a non-empty list")

    values: list[DatedValue] = []
    for index, raw in enumerate(raw_values):
        where = f"values[{index}]"
        if not isinstance(raw, dict):
            raise fail(f"{where} must be a mapping")
        for key in _VALUE_KEYS:
            if key not in raw:
                raise fail(f"{where}: missing key {key!r}")
        unexpected = sorted(set(raw) - set(_VALUE_KEYS))
        if unexpected:
            raise fail(f"{where}: unexpected key(s) {', '.join(map(repr, unexpected))}")
        start = _parse_start(raw["from"])
        if start is None:
            raise fail(f"{where}: 'from' must be a date YYYY-MM-DD, got {raw['from']!r}")
        source = raw["source"]
        if not isinstance(source, str) or not source.strip():
            raise fail(f"{where}: 'source' must be a non-empty string")
        if raw["value"] is None:
            raise fail(f"{where}: 'value' is empty")
        if values and start <= values[-1].start:
            problem = "duplicate" if start == values[-1].start else "unsorted"
            raise fail(
                f"{where}: {problem} start date {start.isoformat()} "
                f"(previous {values[-1].start.isoformat()}); start dates must strictly increase"
            )
        if values and _kind(raw["value"]) != _kind(values[0].value):
            raise fail(
                f"{where}: value {raw['value']!r} is a {_kind(raw['value'])}, "
                f"earlier values are a {_kind(values[0].value)}"
            )
        values.append(DatedValue(start=start, value=_freeze(raw["value"]), source=source.strip()))
    return Parameter(
        name=name,
        description=document["description"].strip(),
        unit=document["unit"].strip(),
        values=tuple(values),
    )


def _parse_start(raw: Any) -> date | None:
    if isinstance(raw, datetime):
        return None
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _kind(raw: Any) -> str:
    if isinstance(raw, bool):
        return "boolean"
    if isinstance(raw, (int, float)):
        return "number"
    if isinstance(raw, str):
        return "string"
    if isinstance(raw, (list, tuple)):
        return "list"
    if isinstance(raw, (dict, Mapping)):
        return "mapping"
    return type(raw).__name__


def _freeze(raw: Any) -> Any:
    if isinstance(raw, (list, tuple)):
        return tuple(_freeze(item) for item in raw)
    if isinstance(raw, (dict, Mapping)):
        return MappingProxyType({key: _freeze(item) for key, item in raw.items()})
    return raw


def _thaw(frozen: Any) -> Any:
    if isinstance(frozen, Mapping):
        return {key: _thaw(item) for key, item in frozen.items()}
    return frozen


def _check_date(on: Any) -> None:
    if isinstance(on, datetime) or not isinstance(on, date):
        raise TypeError(f"a calendar date is required, got {on!r}")


# ---------------------------------------------------------------- lookup


@functools.lru_cache(maxsize=1)
def _cache() -> Mapping[str, Parameter]:
    return MappingProxyType(load())


def all_parameters() -> dict[str, Parameter]:
    """Every parameter of the package, by name (loaded once)."""
    return dict(_cache())


def get(name: str) -> Parameter:
    """The parameter called ``name``; raises :class:`UnknownParameter`."""
    try:
        return _cache()[name]
    except KeyError:
        raise UnknownParameter(name) from None


def value(name: str, on: date) -> Any:
    """The value of parameter ``name`` in force on ``on``.

    Raises :class:`UnknownParameter` or :class:`NoValueOnDate`.
    """
    return get(name).value_on(on)
