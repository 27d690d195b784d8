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
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.resources.abc import Traversable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Union

import yaml

__all__ = [
    "DatedValue",
    "Parameter",
    "ParameterError",
    "ParameterFileError",
    "UnknownParameter",
    "NoValueOnDate",
    "load",
    "Law",
    "default_law",
    "current",
    "using",
    "get",
    "value",
    "cite",
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


#: ``yaml.safe_load``'s loader with libyaml's parser where PyYAML was built with it (the same Python
#: constructor, so the same values): the parameter files are read by every process that starts (a
#: server, a command, each worker), 0.11 s of a replay worker's 0.8 s start with the pure-Python parser
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_file(file_name: str, text: str) -> Parameter:
    def fail(problem: str) -> ParameterFileError:
        return ParameterFileError(file_name, problem)

    try:
        document = yaml.load(text, Loader=_SAFE_LOADER)
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
    """A value made by :func:`_freeze` with its mappings as fresh dicts. Its mappings are exactly
    ``MappingProxyType``: asked by type, not by ``isinstance(_, Mapping)``, whose ABC check was a
    third of generating a simulated year's population (cProfile 2026-12-04: the office table,
    thawed once per newcomer)."""
    if type(frozen) is MappingProxyType:
        return {key: _thaw(item) if type(item) is MappingProxyType else item for key, item in frozen.items()}
    return frozen


def _check_date(on: Any) -> None:
    if isinstance(on, datetime) or not isinstance(on, date):
        raise TypeError(f"a calendar date is required, got {on!r}")


# ---------------------------------------------------------------- the law in force


class Law:
    """A complete set of parameters: the law a unit of work decides under.

    The package's files are the law (:func:`default_law`). A test of a law change or a
    what-if reform builds another set — from another directory (:meth:`load`) or by
    adding dated values to this one (:meth:`with_overrides`) — and runs the engine under
    it (:func:`using`); nothing global is patched (ENGINEERING.md principle 13).
    """

    def __init__(self, parameters: Mapping[str, Parameter], name: str = "law"):
        self.name = name
        self._parameters = MappingProxyType(dict(parameters))

    @classmethod
    def load(cls, directory: Directory, name: str | None = None) -> "Law":
        return cls(load(directory), name or str(directory))

    def __contains__(self, name: str) -> bool:
        return name in self._parameters

    def names(self) -> list[str]:
        return sorted(self._parameters)

    def get(self, name: str) -> Parameter:
        try:
            return self._parameters[name]
        except KeyError:
            raise UnknownParameter(name) from None

    def value(self, name: str, on: date) -> Any:
        return self.get(name).value_on(on)

    def in_force(self, name: str, on: date) -> DatedValue:
        return self.get(name).in_force(on)

    def with_overrides(self, overrides: Mapping[str, list[Mapping[str, Any]]], name: str) -> "Law":
        """This law with dated values added (a reform, a hypothetical decree).

        ``overrides``: parameter name → list of ``{"from": date, "value": ..., "source": ...}``.
        A value starting on a date that already has one replaces it; otherwise it is inserted
        in date order. Validated like a parameter file: an unknown name, a value of another
        kind or a bad date raises :class:`ParameterFileError` naming ``name`` and the place.
        """
        changed = dict(self._parameters)
        for parameter_name, values in overrides.items():
            where = f"{name}: {parameter_name}"
            if parameter_name not in changed:
                raise ParameterFileError(name, f"{parameter_name!r} is not a parameter "
                                               f"(known: {', '.join(sorted(changed))})")
            base = changed[parameter_name]
            if not isinstance(values, list) or not values:
                raise ParameterFileError(where, "needs a non-empty list of dated values")
            merged = {v.start: v for v in base.values}
            for index, raw in enumerate(values):
                at = f"{where}[{index}]"
                if not isinstance(raw, Mapping) or "from" not in raw or "value" not in raw:
                    raise ParameterFileError(at, "a dated value needs 'from' and 'value'")
                start = _parse_start(raw["from"])
                if start is None:
                    raise ParameterFileError(at, f"'from' must be a date YYYY-MM-DD, got {raw['from']!r}")
                if raw["value"] is None or _kind(raw["value"]) != _kind(base.values[0].value):
                    raise ParameterFileError(at, f"value {raw['value']!r} is a {_kind(raw['value'])}, "
                                                 f"the parameter's values are a {_kind(base.values[0].value)}")
                source = str(raw.get("source") or name)
                merged[start] = DatedValue(start=start, value=_freeze(raw["value"]), source=source)
            changed[parameter_name] = Parameter(base.name, base.description, base.unit,
                                                tuple(merged[d] for d in sorted(merged)))
        return Law(changed, name)


@functools.lru_cache(maxsize=1)
def _cache() -> Mapping[str, Parameter]:
    return MappingProxyType(load())


@functools.lru_cache(maxsize=1)
def default_law() -> Law:
    """The law of the package's parameter files (loaded once)."""
    return Law(_cache(), "law")


_CURRENT: ContextVar[Law | None] = ContextVar("inburgering_law", default=None)


def current() -> Law:
    """The law in force for this unit of work (:func:`using`), else the package's."""
    return _CURRENT.get() or default_law()


@contextmanager
def using(law: Law | None) -> Iterator[Law]:
    """Decide under ``law`` inside the block (this thread/task only); None keeps the current one."""
    if law is None:
        yield current()
        return
    token = _CURRENT.set(law)
    try:
        yield law
    finally:
        _CURRENT.reset(token)


def all_parameters() -> dict[str, Parameter]:
    """Every parameter of the law in force, by name."""
    law = current()
    return {name: law.get(name) for name in law.names()}


def get(name: str) -> Parameter:
    """The parameter called ``name`` in the law in force; raises :class:`UnknownParameter`."""
    return current().get(name)


def value(name: str, on: date) -> Any:
    """The value of parameter ``name`` in force on ``on``.

    Raises :class:`UnknownParameter` or :class:`NoValueOnDate`.
    """
    return current().value(name, on)


def cite(name: str, on: date) -> dict:
    """The value of ``name`` on ``on`` with the date it took effect: what a recorded decision
    names as the law it applied (``{"value": ..., "from": "YYYY-MM-DD"}``)."""
    dated = current().in_force(name, on)
    return {"value": _thaw_json(dated.value), "from": dated.start.isoformat()}


def _thaw_json(frozen: Any) -> Any:
    if type(frozen) is MappingProxyType:
        return {key: _thaw_json(item) for key, item in frozen.items()}
    if isinstance(frozen, tuple):
        return [_thaw_json(item) for item in frozen]
    return frozen
