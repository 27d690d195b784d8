"""Helpers shared by the route modules: the engine, JSON bodies, paging, error docs."""
from __future__ import annotations

import json
import math
from typing import Any, Optional

from fastapi import Request
from pydantic import BaseModel

from engine.errors import InvalidInput
from engine.service import Engine

MAX_BODY_BYTES = 1_000_000
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
            422: "Invalid input; `path` names the JSON path of the offending value"}
    return {status: {"model": ErrorBody, "description": text[status]} for status in statuses}


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


async def json_body(request: Request, *, empty: Any = None) -> Any:
    """The request body parsed as strict JSON (no NaN/Infinity); InvalidInput ``$`` otherwise.

    ``empty`` is returned for an empty body when given (events without fields).
    The body is never logged: it may carry a national register number.
    """
    raw = await request.body()
    if not raw.strip() and empty is not None:
        return empty
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput("$", f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidInput("$", "body is not valid JSON") from None


def json_request_body(schema: dict, description: str = "") -> dict:
    """``openapi_extra`` publishing ``schema`` as the JSON request body."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema}}}}


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
