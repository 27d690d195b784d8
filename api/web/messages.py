"""Error codes and numbers in the reader's language: Belgian Dutch (default) or English.

Every engine and API error carries a stable ``code`` and its ``params`` (:mod:`engine.errors`);
:func:`error_text` renders them from the one catalogue (:data:`api.web.i18n.MESSAGES`, keys
``code.<code>``, ``code.schema.<rule>``) with each parameter in the reader's format: dates
``2 december 2026``, amounts ``€ 1.234,50``, numbers ``1.234,5``, engine codes by their label
(``registration`` → ``aanmelding``), a JSON path by its field's label. ``tests/api/test_error_codes.py``
fails for any code raised anywhere without a Dutch text.

The formatting helpers (:func:`number`, :func:`percent`, :func:`day`, :func:`plural`) are the
ones the report and the pages use, so a figure reads the same everywhere.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Optional

from .i18n import LANGUAGES, MESSAGES, normalise, translate, value_label

_MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PATH_NAME = re.compile(r"^\$(?:\.query|\.header)?\.([A-Za-z_][A-Za-z0-9_-]*)")
#: params that hold an amount in euro (the fine's range)
_EURO = {"amount", "min", "max"}
#: params that hold an engine code shown by its value label
_VALUES = ("outcome", "signal", "type", "task", "status", "process")


# ----- numbers and dates -------------------------------------------------------------------
def number(lang: str, value, decimals: Optional[int] = None) -> str:
    """``1234.5`` → ``1.234,5`` (nl) or ``1,234.5`` (en); integers without decimals."""
    if value is None:
        return translate(lang, "common.none")
    if isinstance(value, bool):
        return str(value)
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    text = f"{value:,.{decimals}f}"
    if normalise(lang) == "nl":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def percent(lang: str, value, decimals: int = 1) -> str:
    """A share given in percent: ``100.0`` → ``100 %`` (nl, with a space as the Belgian norm writes it) or
    ``100%`` (en); ``12.5`` → ``12,5 %``."""
    if value is None:
        return translate(lang, "common.none")
    shown = number(lang, value, 0 if float(value).is_integer() else decimals)
    return f"{shown} %" if normalise(lang) == "nl" else f"{shown}%"


def euro(lang: str, value) -> str:
    """``20`` → ``€ 20`` (nl) or ``EUR 20`` (en); cents only when there are any."""
    if value is None:
        return translate(lang, "common.none")
    decimals = 0 if float(value).is_integer() else 2
    return translate(lang, "common.eur", amount=number(lang, value, decimals))


def day(lang: str, value) -> str:
    """A date in words: ``2026-12-02`` → ``2 december 2026`` (nl) or ``2 December 2026`` (en)."""
    if value is None:
        return translate(lang, "common.none")
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return f"{value.day} {_MONTHS[normalise(lang)][value.month - 1]} {value.year}"


def plural(lang: str, n: int, key: str, **kwargs) -> str:
    """``key`` for n == 1, ``key + '_many'`` otherwise, with ``{n}`` in the reader's number format."""
    chosen = key if n == 1 and key in MESSAGES else f"{key}_many"
    return translate(lang, chosen, n=number(lang, n), **kwargs)


# ----- error codes ---------------------------------------------------------------------------
def error_key(code: str, params: Optional[dict] = None) -> str:
    """The catalogue key of an error: ``code.schema.<rule>`` for a schema rule that has one."""
    if code == "schema" and params and f"code.schema.{params.get('rule')}" in MESSAGES:
        return f"code.schema.{params['rule']}"
    return f"code.{code}"


def field_label(lang: str, path_or_name: Optional[str]) -> str:
    """``$.fine_eur`` (or ``fine_eur``) → the field's label; an unknown path stays as it is."""
    if not path_or_name:
        return translate(lang, "code.request")
    match = _PATH_NAME.match(path_or_name)
    name = match.group(1) if match else path_or_name
    if f"field.{name}" in MESSAGES:
        return translate(lang, f"field.{name}")
    return path_or_name


def _event(lang: str, value) -> str:
    key = f"event.{value}"
    return translate(lang, key) if key in MESSAGES else value_label(lang, value)


def _one(lang: str, name: str, value, code: str) -> str:
    if value is None:
        return translate(lang, "common.none")
    if isinstance(value, (list, tuple)):
        if not value:
            return translate(lang, "code.nothing")
        return ", ".join(_one(lang, name, item, code) for item in value)
    if name in ("event", "accepted"):
        return _event(lang, value)
    if name == "waits_for":
        return value_label(lang, value)
    if name in ("missing", "unexpected"):
        return field_label(lang, str(value))
    if code == "fine_out_of_range" and name in _EURO and isinstance(value, (int, float)):
        return euro(lang, value)
    if isinstance(value, bool):
        return value_label(lang, value)
    if isinstance(value, (int, float)):
        return number(lang, value) if name not in ("version", "expected", "incident", "limit", "status") else str(value)
    if isinstance(value, str) and _ISO_DAY.match(value):
        return day(lang, value)
    if name in _VALUES:
        return value_label(lang, value)
    return str(value)


class _Params(dict):
    """A placeholder the catalogue text names but the params lack renders as a dash (never a KeyError)."""

    def __init__(self, lang: str, *args):
        super().__init__(*args)
        self.lang = lang

    def __missing__(self, key):
        return translate(self.lang, "common.none")


def error_text(lang: Optional[str], code: str, params: Optional[dict] = None, path: Optional[str] = None,
               *, on_field: bool = False) -> str:
    """The reader's sentence for an error ``code`` with its ``params``; ``on_field``: shown next to the
    field it is about, so without the field's name in front."""
    lang = normalise(lang)
    params = dict(params or {})
    path = path if path is not None else params.get("path")
    key = error_key(code, params)
    if key not in MESSAGES:
        key = "code.error"
    context = _Params(lang, {name: _one(lang, name, value, code) for name, value in params.items()})
    context["field"] = field_label(lang, path)
    if code == "change_out_of_order":
        context["field_name"] = field_label(lang, params.get("field"))
    if code == "on_before_step":
        step_key = f"code.step.{params.get('step')}"
        context["step"] = translate(lang, step_key) if step_key in MESSAGES else value_label(lang, params.get("step"))
    text = MESSAGES[key][LANGUAGES.index(lang)]
    if on_field and text.startswith("{field}: "):
        text = text[len("{field}: "):]
        text = text[:1].upper() + text[1:]
    return text.format_map(context)


def of_error(lang: Optional[str], err, *, on_field: bool = False) -> str:
    """:func:`error_text` of an :class:`engine.errors.EngineError` (or anything with ``code``/``params``)."""
    return error_text(lang, getattr(err, "code", "error"), getattr(err, "params", {}), getattr(err, "path", None),
                      on_field=on_field)


# ----- Accept-Language -----------------------------------------------------------------------
def negotiate(header: Optional[str]) -> Optional[str]:
    """The language an ``Accept-Language`` header prefers among ours (``nl-BE;q=0.9, en`` → ``en``);
    None when it names none of them (or there is no header)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip().split(";")
        tag = piece[0].strip().lower()
        q = 1.0
        for attribute in piece[1:]:
            name, _, value = attribute.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.split("-")[0]
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, index, primary))
    return min(ranked)[2] if ranked else None


__all__ = ["day", "error_key", "error_text", "euro", "field_label", "negotiate", "number", "of_error",
           "percent", "plural"]
