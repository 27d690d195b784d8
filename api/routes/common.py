"""Helpers shared by the route modules: the engine, JSON bodies, paging, error docs."""
from __future__ import annotations

import json
import math
from typing import Any, Optional

from fastapi import Path, Request
from pydantic import BaseModel

from engine.errors import InvalidInput
from engine.service import Engine

MAX_BODY_BYTES = 1_000_000  # the default of settings.max_body_bytes; api.app.BodyLimit enforces it while reading
#: A dossier id: at least one character, none of them a control character (C0, DEL, C1). Published
#: as the pattern of every ``dossier_id`` parameter and of the import body's ``id``.
ID_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f]+$"
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000  # databases keep OFFSET in a 64-bit integer; any real listing is far smaller


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


class ErrorBody(BaseModel):
    """Every error response: the error type, a message and, for invalid input, the JSON path.

    Engine errors also carry a stable ``code`` and its ``params`` (engine/errors.py)."""

    error: str
    message: str
    path: Optional[str] = None
    code: Optional[str] = None
    params: Optional[dict] = None


def errors(*statuses: int) -> dict:
    """OpenAPI ``responses`` entries for the given error statuses."""
    text = {400: "Bad request", 401: "Missing, malformed or expired bearer token",
            403: "The token's role may not do this", 404: "No such dossier (or not of your agency)",
            409: "Stale If-Match version, duplicate, or an event that makes no sense in this state",
            413: "The body is larger than the limit (INBURGERING_MAX_BODY_BYTES)",
            415: "The body is not application/json",
            422: "Invalid input; `path` names the JSON path of the offending value"}
    return {status: {"model": ErrorBody, "description": text[status]} for status in statuses}


#: A calendar date in the supported range (engine.commands.MIN_DATE..MAX_DATE: 1900..2199).
DATE_PATTERN = "^(19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def parse_day(value: Optional[str], path: str):
    """A ``YYYY-MM-DD`` parameter (already matched against DATE_PATTERN) → date; 2024-02-30 is 422."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(path, f"{value} is not a calendar date", code="not_a_date",
                           params={"value": value}) from None


def date_query(description: str):
    """A date query parameter: a string with the date pattern (never a number read as a timestamp)."""
    from fastapi import Query

    return Query(None, description=description, pattern=DATE_PATTERN, json_schema_extra={"format": "date"})


def dossier_id_param(description: str = "The dossier id (the newcomer's id)"):
    return Path(description=description, pattern=ID_PATTERN)


def text_problem(value: str) -> Optional[str]:
    """Why a string cannot be stored as text: a NUL or a lone surrogate (not UTF-8)."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not UTF-8 text)"
    return None


def id_problem(value: str) -> Optional[str]:
    """Why a string cannot be a dossier id (see :data:`ID_PATTERN`)."""
    if not value:
        return "must not be empty"
    from api.app import bad_text
    return bad_text(value)


def check_texts(value: Any, path: str = "$") -> None:
    """InvalidInput naming the first string (or key) of a parsed body that cannot be stored as text."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise InvalidInput(path, problem, code="bad_text")
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                raise InvalidInput(path, f"a property name {problem}", code="bad_property_name")
            check_texts(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_texts(item, f"{path}[{index}]")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


JSON_TYPES = ("application/json",)


async def json_body(request: Request) -> Any:
    """The request body parsed as strict JSON (no NaN/Infinity); InvalidInput ``$`` otherwise.

    The content type must be JSON (``application/json`` or ``application/*+json``; 415 otherwise);
    an empty or whitespace-only body is 422, like any other body that is not a JSON document.
    Strings that cannot be stored as text (NUL, lone surrogates) are 422 naming their path.
    The size limit is enforced while the body is read (:class:`api.app.BodyLimit`, 413).
    The body is never logged: it may carry a national register number.
    """
    require_json(request)
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput("$", "the body is empty; send a JSON object (`{}` for an event without fields)",
                           code="empty_body")
    try:
        value = json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidInput("$", "body is not valid JSON", code="invalid_json") from None
    check_texts(value)
    return value


def require_json(request: Request) -> None:
    from fastapi import HTTPException

    content_type = request.headers.get("content-type")
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json")):
        return
    raise HTTPException(415, f"the body must be application/json, not {content_type or 'unlabelled'}")


def with_date_range(schema: Any) -> Any:
    """A copy of a body schema whose ``format: date`` strings carry :data:`DATE_PATTERN`: the engine accepts
    dates in 1900..2199 only (engine.commands.MIN_DATE..MAX_DATE), and the published schema says so."""
    if isinstance(schema, dict):
        copy = {k: with_date_range(v) for k, v in schema.items()}
        if copy.get("format") == "date":
            copy["pattern"] = DATE_PATTERN
        return copy
    if isinstance(schema, list):
        return [with_date_range(item) for item in schema]
    return schema


def json_request_body(schema: dict, description: str = "") -> dict:
    """``openapi_extra`` publishing ``schema`` as the JSON request body."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": with_date_range(schema)}}}}


def inline_refs(schema: Any, defs: dict | None = None) -> Any:
    """A copy of a standalone JSON Schema with local ``#/$defs/...`` refs inlined.

    Inside an OpenAPI document such refs would resolve against the document root,
    so the published copy has none (and no ``$schema``/``$defs`` keys).
    """
    if defs is None and isinstance(schema, dict):
        defs = schema.get("$defs", {})
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = inline_refs(defs[ref[len("#/$defs/"):]], defs)
            rest = {k: inline_refs(v, defs) for k, v in schema.items() if k != "$ref"}
            return {**target, **rest}
        return {k: inline_refs(v, defs) for k, v in schema.items() if k not in ("$defs", "$schema")}
    if isinstance(schema, list):
        return [inline_refs(item, defs) for item in schema]
    return schema


_KNOWN_QUERY: dict[int, frozenset] = {}


def _query_names(dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def no_unknown_query(request: Request) -> None:
    """A query parameter the route does not declare is 422 naming it (a typo is not silently ignored)."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    known = _KNOWN_QUERY.get(id(route))
    if known is None:
        known = frozenset(_query_names(route.dependant))
        _KNOWN_QUERY[id(route)] = known
    for name in request.query_params.keys():
        if name not in known:
            shown = name if not id_problem(name) else "?"
            raise InvalidInput(f"$.query.{shown}", "unknown query parameter"
                               + (f"; known: {', '.join(sorted(known))}" if known else "; this route takes none"),
                               code="unknown_query_parameter", params={"known": sorted(known)})
