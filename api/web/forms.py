"""Forms generated from the events' JSON Schemas (:data:`engine.commands.EVENT_SCHEMAS`).

Each top-level property becomes one field: an ``enum`` → a select, ``number`` /
``integer`` → a number input, ``boolean`` → a checkbox, an array of enums →
checkboxes, a ``YYYY-MM-DD`` string → a date input, a long string (``maxLength`` of
:data:`LONG_TEXT` or more: a motivation) → a text area, any other string → a text input. Submitted text is turned back into the JSON payload the API would receive,
validated with the same schema (every error, each next to its field) and then
handed to the engine, which validates once more and applies its own checks; an
:class:`engine.errors.InvalidInput` from there lands next to the field its JSON
path names.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from jsonschema import Draft202012Validator, FormatChecker

from .i18n import Translator

DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: a string property this long or longer is a text area (a motivation), shorter ones a text input
LONG_TEXT = 1000
_PATH_FIELD = re.compile(r"^\$\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Field:
    name: str
    kind: str  # select | number | checkbox | checkboxes | date | text | textarea
    required: bool = False
    options: list = field(default_factory=list)  # codes; labels come from the catalogue
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    exclusive_minimum: Optional[float] = None
    integer: bool = False
    pattern: Optional[str] = None
    #: option → label shown instead of the catalogue's (the offices' own names, the infractions by id)
    labels: dict = field(default_factory=dict)
    max_length: Optional[int] = None

    @property
    def html_pattern(self) -> Optional[str]:
        if self.pattern is None:
            return None
        return self.pattern.removeprefix("^").removesuffix("$")

    @property
    def html_min(self) -> Optional[float]:
        return self.minimum if self.minimum is not None else self.exclusive_minimum


def fields_of(schema: dict, choices: dict | None = None) -> list[Field]:
    """The form fields of an object schema, in the schema's property order.

    ``choices`` overrides a string property with a select of the given codes
    (e.g. the infraction types a dossier has handed over).
    """
    choices = choices or {}
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        out.append(_field(name, prop, name in required, choices.get(name)))
    return out


def _field(name: str, prop: dict, required: bool, choices: Optional[list]) -> Field:
    if choices is not None:
        return Field(name, "select", required, list(choices))
    if "x-dated-list" in prop:  # a code of a dated parameter list: the page offers those in force (routes.py)
        return Field(name, "select", required, [])
    if "enum" in prop:
        return Field(name, "select", required, [v for v in prop["enum"] if v is not None])
    kind = prop.get("type")
    if kind in ("number", "integer"):
        return Field(name, "number", required, minimum=prop.get("minimum"), maximum=prop.get("maximum"),
                     exclusive_minimum=prop.get("exclusiveMinimum"), integer=kind == "integer")
    if kind == "boolean":
        return Field(name, "checkbox", required)
    if kind == "array" and "enum" in prop.get("items", {}):
        return Field(name, "checkboxes", required, list(prop["items"]["enum"]))
    if kind == "string" and (prop.get("format") == "date" or prop.get("pattern") == DATE_PATTERN):
        return Field(name, "date", required, pattern=DATE_PATTERN)
    if kind == "string" and prop.get("maxLength", 0) >= LONG_TEXT:
        return Field(name, "textarea", required, max_length=prop["maxLength"])
    return Field(name, "text", required, pattern=prop.get("pattern"))


@dataclass
class Submission:
    """What was typed (to show it again), the payload built from it, and the errors found."""

    raw: dict[str, list[str]]
    payload: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        values = self.raw.get(name) or [""]
        return values[0]

    def checked(self, name: str, option: Any = None) -> bool:
        values = self.raw.get(name, [])
        return (str(option) in values) if option is not None else bool(values)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.form_errors


def empty_submission(prefill: dict[str, Any] | None = None) -> Submission:
    raw = {}
    for name, value in (prefill or {}).items():
        raw[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return Submission(raw=raw, payload={})


def _number(text: str, integer: bool) -> Optional[float]:
    try:
        value = float(text.replace(",", "."))  # Dutch decimal comma is accepted
    except ValueError:
        return None
    if not math.isfinite(value) or (integer and not value.is_integer()):
        return None
    return int(value) if value.is_integer() else value


def parse(fields: list[Field], raw: dict[str, list[str]], tr: Translator) -> Submission:
    """Form text → the JSON payload; empty optional fields are left out."""
    sub = Submission(raw=raw, payload={})
    for f in fields:
        values = [v for v in raw.get(f.name, []) if v is not None]
        text = values[0].strip() if values else ""
        if f.kind == "checkbox":
            sub.payload[f.name] = bool(values) and text not in ("", "0", "false", "off")
        elif f.kind == "checkboxes":
            picked = [v for v in values if v]
            unknown = [v for v in picked if v not in [str(o) for o in f.options]]
            if unknown:
                sub.errors[f.name] = tr.t("error.choice")
            sub.payload[f.name] = [o for o in f.options if str(o) in picked]
        elif text == "":
            continue
        elif f.kind == "number":
            number = _number(text, f.integer)
            if number is None:
                sub.errors[f.name] = tr.t("error.number")
            else:
                sub.payload[f.name] = number
        elif f.kind == "date":
            try:
                date.fromisoformat(text)
                if not re.fullmatch(DATE_PATTERN[1:-1], text):
                    raise ValueError(text)
                sub.payload[f.name] = text
            except ValueError:
                sub.errors[f.name] = tr.t("error.date")
        else:
            sub.payload[f.name] = text
    return sub


def validate(schema: dict, fields: list[Field], sub: Submission, tr: Translator) -> None:
    """Every schema error of the payload, next to its field (the first one per field)."""
    by_name = {f.name: f for f in fields}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    left_empty: list[str] = []  # said only when the field's own value is otherwise fine
    for error in sorted(validator.iter_errors(sub.payload), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "required" and not path:
            for name in error.validator_value:
                if name not in sub.payload and name not in sub.errors:
                    sub.errors[name] = tr.t("error.required")
            continue
        absent = error.validator_value.get("required") if error.validator == "not" and not path \
            and isinstance(error.validator_value, dict) else None
        if absent and absent[0] in by_name:  # ``not: {required: [X]}``: X must be left empty here
            left_empty.append(absent[0])
            continue
        name = path[0] if path and isinstance(path[0], str) else None
        if name is None or name not in by_name:
            sub.form_errors.append(tr.t("error.invalid", message=error.message))
            continue
        if name not in sub.errors:
            sub.errors[name] = _message(error, by_name[name], tr)
    for name in left_empty:
        sub.errors.setdefault(name, tr.t("desk.field_not_allowed"))


def _fmt(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _message(error, f: Field, tr: Translator) -> str:
    kind = error.validator
    if kind in ("enum", "const"):
        return tr.t("error.choice")
    if kind == "type":
        return tr.t("error.number") if f.kind == "number" else tr.t("error.invalid", message=error.message)
    if kind in ("minimum", "maximum"):
        if f.minimum is not None and f.maximum is not None:
            return tr.t("error.range", low=_fmt(f.minimum), high=_fmt(f.maximum))
        if kind == "minimum":
            return tr.t("error.min", low=_fmt(f.minimum))
        return tr.t("error.max", high=_fmt(f.maximum))
    if kind == "exclusiveMinimum":
        return tr.t("error.above", low=_fmt(f.exclusive_minimum))
    if kind in ("pattern", "format"):
        return tr.t("error.date") if f.kind == "date" else tr.t("error.pattern")
    if kind == "minLength":
        return tr.t("error.required")
    return tr.t("error.invalid", message=error.message)


def field_of_path(path: str, fields: list[Field]) -> Optional[str]:
    """``$.fine_eur`` → ``fine_eur`` when the form has that field; None otherwise."""
    match = _PATH_FIELD.match(path or "")
    if match and match.group(1) in {f.name for f in fields}:
        return match.group(1)
    return None


def form_pairs(body: bytes) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body → ``{name: [values]}`` (no multipart needed)."""
    from urllib.parse import parse_qsl

    out: dict[str, list[str]] = {}
    text = body.decode("utf-8", errors="replace")
    for name, value in parse_qsl(text, keep_blank_values=True, max_num_fields=200):
        out.setdefault(name, []).append(value)
    return out
