"""The HTTP API: ``create_app(engine, settings)``.

Routes live in :mod:`api.routes`; each parses its input, calls the engine and returns
the engine's answer. Errors all have one shape, ``{"error", "message", "path"?}``:
engine errors keep their status (:mod:`engine.errors`), request validation is 422
naming the offending location, a date computation that leaves the calendar is 422, and
anything unexpected is a 500 that reveals nothing but a correlation id (the same id is in
the log line with the traceback; request bodies, which may carry a national register
number, are never logged) and closes the connection (``Connection: close``).

Middlewares, outermost first (:func:`create_app`):

* :class:`CatchAll` — the 500 above, for whatever escapes the exception handlers;
* :class:`BodyLimit` — a body larger than ``settings.max_body_bytes`` is refused with 413
  while it is read (a declared ``Content-Length`` beyond it before reading anything);
* :class:`InputGuard` — a path or query string with NUL or other control characters, or
  with bytes that are not UTF-8, is 422 naming the parameter, before any route runs;
* :class:`api.csrf.CsrfMiddleware` — the web interface's forms (origin check and token).
"""
from __future__ import annotations

import json
import logging
import traceback
import uuid
from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import EngineError, InvalidInput
from engine.service import Engine
from engine.settings import Settings

from .asgi import HttpMiddleware
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
    app.state.oidc = None
    if settings is not None and settings.oidc:
        from .oidc import OidcProvider
        app.state.oidc = OidcProvider(settings)
    include_all(app)
    from api.web import mount; mount(app, engine, settings)  # noqa: E702 (the web interface, /ui)
    from api import ops; ops.install(app)  # noqa: E702 (admin routes, incidents, /metrics, request logs)
    # every route with a path parameter (API, UI, operators'): their ids are checked before routing
    app.state.path_regexes = [route.path_regex for route in _flat_routes(app.routes)
                              if "{" in getattr(route, "path", "")]
    app.add_exception_handler(EngineError, engine_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(OverflowError, overflow_error)
    from .csrf import CsrfMiddleware
    app.add_middleware(CsrfMiddleware)
    app.add_middleware(InputGuard)
    app.add_middleware(BodyLimit)
    ops.install_middleware(app)
    app.add_middleware(CatchAll)
    return app


def _flat_routes(routes) -> list:
    """The routes of an app, with those of included routers (FastAPI keeps each as one entry)."""
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)
        out.extend(_flat_routes(included.routes) if included is not None else [route])
    return out


def error_body(error: str, message: str, path: str | None = None, *, code: str, params: dict | None = None,
               lang: str | None = None) -> dict:
    """The one error shape. ``message`` is the English developer text unless the request's
    ``Accept-Language`` names Dutch or English: then it is the catalogue's sentence for ``code``
    in that language (:func:`api.web.messages.error_text`); ``code`` and ``params`` never change."""
    from api.web.messages import error_text

    params = params or {}
    body = {"error": error, "message": error_text(lang, code, params, path) if lang else message}
    if path is not None:
        body["path"] = path
    body["code"] = code
    body["params"] = params
    return body


def language_of(request_or_scope) -> str | None:
    """The language the request's ``Accept-Language`` prefers among nl/en (None without one)."""
    from api.web.messages import negotiate

    if isinstance(request_or_scope, dict):
        header = next((value.decode("latin-1") for name, value in request_or_scope.get("headers", ())
                       if name == b"accept-language"), None)
    else:
        header = request_or_scope.headers.get("accept-language")
    return negotiate(header)


def error_response(status: int, error: str, message: str, path: str | None = None,
                   headers: dict | None = None, *, code: str, params: dict | None = None,
                   request: Request | None = None) -> JSONResponse:
    lang = language_of(request) if request is not None else None
    headers = dict(headers or {})
    if lang:
        headers["Content-Language"] = lang
    return JSONResponse(error_body(error, message, path, code=code, params=params, lang=lang), status_code=status,
                        headers=headers or None)


async def engine_error(request: Request, exc: EngineError) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        message = exc.message
        if exc.path.startswith(_REDACTED_PATHS):
            message = f"{exc.path}: invalid national register number"
        params = dict(exc.params)
        if exc.path.startswith(_REDACTED_PATHS):
            params["detail"] = "invalid national register number"
        return error_response(exc.status, type(exc).__name__, message, exc.path, code=exc.code, params=params,
                              request=request)
    if exc.status >= 500:
        log.error("engine error on %s %s: %s", request.method, request.url.path, exc.message)
    return error_response(exc.status, type(exc).__name__, exc.message, code=exc.code, params=exc.params,
                          request=request)


def json_path(loc) -> str:
    """``("query", "limit")`` → ``$.query.limit``."""
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


async def validation_error(request: Request, exc: RequestValidationError):
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    path = json_path(first.get("loc", ()))
    message = f"{path}: {first.get('msg', 'invalid')}"
    params = {"path": path, "type": str(first.get("type", "invalid"))}
    if _is_web(request):
        from api.web.messages import error_text
        from api.web.routes import error_page
        from api.web.session import language
        return error_page(request, 422, error_text(language(request), "invalid_request", params, path))
    return error_response(422, "InvalidInput", message, path, code="invalid_request", params=params, request=request)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # FastAPI's own body parsing (routes with a model body): bytes that are not JSON are invalid input
        return error_response(422, "InvalidInput", "$: body is not valid JSON", "$", code="invalid_json",
                              params={"path": "$", "detail": "body is not valid JSON"}, request=request)
    code = f"http_{exc.status_code}" if exc.status_code in _HTTP_ERRORS else "http_error"
    if _is_web(request) and exc.status_code != 401:
        # a page of the web interface (an unknown /ui/ path, a method not allowed): the error page, in Dutch
        from api.web.messages import error_text
        from api.web.routes import error_page
        from api.web.session import language
        return error_page(request, exc.status_code, error_text(language(request), code, {"status": exc.status_code}))
    return error_response(exc.status_code, _HTTP_ERRORS.get(exc.status_code, "HTTPError"), str(exc.detail),
                          headers=getattr(exc, "headers", None), code=code,
                          params={"status": exc.status_code, "detail": str(exc.detail)}, request=request)


async def overflow_error(request: Request, exc: OverflowError) -> JSONResponse:
    """A date computed from the input left the calendar (e.g. a deadline pushed past year 9999)."""
    log.warning("date arithmetic overflow on %s %s", request.method, request.url.path)
    return error_response(422, "InvalidInput", "$: the dates given push a computed date outside the calendar; "
                                               "nothing was changed", "$", code="date_overflow", params={"path": "$"},
                          request=request)


def _is_web(request_or_scope) -> bool:
    path = request_or_scope["path"] if isinstance(request_or_scope, dict) else request_or_scope.url.path
    return path == "/ui" or path.startswith("/ui/")


# ----- ASGI middlewares ----------------------------------------------------------------------
async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": payload})


class _Tracked:
    """A ``send`` that remembers whether the response has started (after that, no other answer can be sent)."""

    def __init__(self, send):
        self.send, self.started = send, False

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class CatchAll(HttpMiddleware):
    """Whatever escapes the exception handlers: a 500 with a correlation id, and the connection closed."""

    async def http(self, scope, receive, send):
        tracked = _Tracked(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            correlation = uuid.uuid4().hex
            log.error("unexpected error %s on %s %s: %s\n%s", correlation, scope.get("method"), scope.get("path"),
                      describe(exc), "".join(traceback.format_tb(exc.__traceback__)))
            if tracked.started:
                raise  # the server closes the connection: nothing else can be said now
            body = error_body("InternalError", f"internal error; quote {correlation} to the operators",
                              code="internal_error", params={"correlation_id": correlation}, lang=language_of(scope))
            await _send_json(send, 500, {**body, "correlation_id": correlation},
                             [(b"connection", b"close"), (b"x-correlation-id", correlation.encode())])


def describe(exc: BaseException) -> str:
    """An exception for the log without personal data: its type and, for a database error, the statement
    (never its parameters, nor the driver's message, which may quote the failing row); messages of other
    exceptions may quote input, so only our own engine errors keep theirs."""
    from sqlalchemy.exc import DBAPIError, StatementError

    if isinstance(exc, DBAPIError):
        orig = exc.orig
        state = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        statement = " ".join((exc.statement or "").split())[:300]
        return f"{type(exc).__name__} ({type(orig).__name__}{', ' + str(state) if state else ''}) in: {statement}"
    if isinstance(exc, StatementError):
        return f"{type(exc).__name__} in: {' '.join((exc.statement or '').split())[:300]}"
    if isinstance(exc, EngineError):
        return f"{type(exc).__name__}: {exc.message}"
    return type(exc).__name__


class BodyTooLarge(Exception):
    """Raised from ``receive`` when the body outgrows the limit; :class:`BodyLimit` answers 413."""


class BodyLimit(HttpMiddleware):
    """Refuse a request body larger than ``settings.max_body_bytes`` with 413, while reading it."""

    async def http(self, scope, receive, send):
        settings = scope["app"].state.settings if "app" in scope else None
        limit = getattr(settings, "max_body_bytes", 1_000_000) or 1_000_000
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    return await self._refuse(send, limit, scope)
        seen = 0
        tracked = _Tracked(send)

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, tracked)
        except BodyTooLarge:
            if tracked.started:
                raise
            await self._refuse(send, limit, scope)

    @staticmethod
    async def _refuse(send, limit: int, scope=None) -> None:
        # The rest of the body is not read: the connection is closed after the answer.
        await _send_json(send, 413, error_body("PayloadTooLarge", f"the body is larger than {limit} bytes", "$",
                                               code="payload_too_large", params={"limit": limit},
                                               lang=language_of(scope or {})), [(b"connection", b"close")])


def bad_text(value: str) -> str | None:
    """Why ``value`` cannot be an identifier or query value (control characters, lone surrogates)."""
    for char in value:
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0:
            return "contains a control character" if code else "contains a NUL character"
        if 0xD800 <= code < 0xE000:
            return "is not UTF-8 text (a lone surrogate or bytes that are not UTF-8)"
    return None


class InputGuard(HttpMiddleware):
    """Path and query string must be UTF-8 text without control characters (422 naming the part).

    The routes also declare their ids with a pattern (published in the OpenAPI document); this
    guard covers every route, the web interface's and unknown paths included, so no such value
    ever reaches a database (PostgreSQL refuses NUL in text)."""

    async def http(self, scope, receive, send):
        problem = self._problem(scope)
        if problem is None:
            return await self.app(scope, receive, send)
        path, message = problem
        await _send_json(send, 422, error_body("InvalidInput", f"{path}: {message}", path, code="bad_request_text",
                                               params={"path": path, "detail": message}, lang=language_of(scope)))

    @staticmethod
    def _problem(scope) -> tuple[str, str] | None:
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
        # bytes that are not UTF-8 (a lone surrogate's CESU bytes among them) become lone surrogates here
        decoded = unquote_to_bytes(raw_path).decode("utf-8", "surrogateescape")
        reason = bad_text(decoded)
        if reason:
            return InputGuard._path_param(decoded, scope) or "$.path", reason
        query = scope.get("query_string", b"")
        if query:
            try:
                pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                  errors="strict")
            except (UnicodeDecodeError, ValueError):
                return "$.query", "is not UTF-8 text"
            for name, value in pairs:
                label = name if not bad_text(name) else "?"
                reason = bad_text(name) or bad_text(value)
                if reason:
                    return f"$.query.{label}", reason
        return None

    @staticmethod
    def _path_param(path: str, scope) -> str | None:
        """``$.path.dossier_id`` when a route's template matches and one of its parameters holds the bad text."""
        app = scope.get("app")
        for regex in getattr(getattr(app, "state", None), "path_regexes", ()):
            match = regex.match(path)
            if match:
                for name, value in match.groupdict().items():
                    if bad_text(value):
                        return f"$.path.{name}"
        return None
