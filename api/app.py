"""The HTTP API: ``create_app(engine, settings)``.

Routes live in :mod:`api.routes`; each parses its input, calls the engine and returns
the engine's answer. Errors all have one shape, ``{"error", "message", "path"?}``:
engine errors keep their status (:mod:`engine.errors`), request validation is 422
naming the offending location, and anything unexpected is a bare 500 that reveals
nothing (request bodies, which may carry a national register number, are never logged).
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import EngineError, InvalidInput
from engine.service import Engine
from engine.settings import Settings

from .routes import include_all

log = logging.getLogger("inburgering.api")
_HTTP_ERRORS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 413: "PayloadTooLarge",
                415: "UnsupportedMediaType", 422: "InvalidInput", 429: "TooManyRequests"}
#: paths whose offending value must not be echoed back (personal data)
_REDACTED_PATHS = ("$.insz",)


def create_app(engine: Engine, settings: Settings) -> FastAPI:
    app = FastAPI(title="inburgering", version="0.1.0", docs_url="/docs", openapi_url="/openapi.json",
                  description="Civic-integration trajectory: newcomers, dossier events, worklists, "
                              "enforcement. Authenticate with `Authorization: Bearer <JWT>`.")
    app.state.engine = engine
    app.state.settings = settings
    include_all(app)
    from api.web import mount; mount(app, engine, settings)  # noqa: E702 (the web interface, /ui)
    from api import ops; ops.install(app)  # noqa: E702 (admin routes, incidents, /metrics, request logs)
    app.add_exception_handler(EngineError, engine_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
    return app


def error_response(status: int, error: str, message: str, path: str | None = None,
                   headers: dict | None = None, *, code: str | None = None,
                   params: dict | None = None) -> JSONResponse:
    body = {"error": error, "message": message}
    if path is not None:
        body["path"] = path
    if code is not None:
        body["code"] = code
        body["params"] = params or {}
    return JSONResponse(body, status_code=status, headers=headers)


async def engine_error(request: Request, exc: EngineError) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        message = exc.message
        if exc.path.startswith(_REDACTED_PATHS):
            message = f"{exc.path}: invalid national register number"
        params = dict(exc.params)
        if exc.path.startswith(_REDACTED_PATHS):
            params["detail"] = "invalid national register number"
        return error_response(exc.status, type(exc).__name__, message, exc.path, code=exc.code, params=params)
    if exc.status >= 500:
        log.error("engine error on %s %s: %s", request.method, request.url.path, exc.message)
    return error_response(exc.status, type(exc).__name__, exc.message, code=exc.code, params=exc.params)


def json_path(loc) -> str:
    """``("query", "limit")`` → ``$.query.limit``."""
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    path = json_path(first.get("loc", ()))
    return error_response(422, "InvalidInput", f"{path}: {first.get('msg', 'invalid')}", path)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(exc.status_code, _HTTP_ERRORS.get(exc.status_code, "HTTPError"), str(exc.detail),
                          headers=getattr(exc, "headers", None))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The exception and where it happened, never the request body.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "InternalError", "internal error; the incident has been logged")
