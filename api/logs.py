"""Request ids and (optional) JSON log lines.

Every HTTP response carries ``X-Request-ID``: the caller's own (letters, digits, ``-_.:``, at
most 64) or a new random one; log lines written while the request runs carry it too.
``INBURGERING_LOG_FORMAT=json`` writes each log line as one JSON object
(``time, level, logger, message, request_id`` and, for errors, ``exception``: the traceback
text, never local variables). The default stays the plain text format.
Request bodies are never logged (they may carry a national register number).
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import uuid
from datetime import datetime, timezone

from fastapi import FastAPI

from .asgi import HttpMiddleware

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("inburgering_request_id", default=None)
HEADER = "X-Request-ID"
SETTING = "INBURGERING_LOG_FORMAT"
_VALID = re.compile(r"^[A-Za-z0-9\-_.:]{1,64}$")


class RequestIdMiddleware(HttpMiddleware):
    """Sets the request id for the request's log lines and adds it to the response."""

    async def http(self, scope, receive, send):
        given = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if _VALID.match(given) else uuid.uuid4().hex
        header = (HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line. The record's time is the log's own (wall-clock) stamp."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", None) or REQUEST_ID.get()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str | None = None) -> None:
    """Install the JSON formatter on the root and uvicorn loggers when the setting asks for it."""
    log_format = (log_format or os.environ.get(SETTING, "text")).lower()
    if log_format not in ("text", "json"):
        raise ValueError(f"{SETTING}={log_format!r}: expected text or json")
    targets = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    for logger in targets:
        for handler in logger.handlers:
            if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
                handler.addFilter(RequestIdFilter())
            if log_format == "json":
                handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    if log_format == "json" and not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def install(app: FastAPI) -> None:
    app.add_middleware(RequestIdMiddleware)


def uvicorn_log_config(log_format: str | None = None) -> dict:
    """The ``log_config`` for uvicorn: its own default, or JSON lines with the request id."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    log_format = (log_format or os.environ.get(SETTING, "text")).lower()
    if log_format not in ("text", "json"):
        raise ValueError(f"{SETTING}={log_format!r}: expected text or json")
    if log_format == "text":
        return copy.deepcopy(LOGGING_CONFIG)
    handler = {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"],
               "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.logs.RequestIdFilter"}},
        "formatters": {"json": {"()": "api.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {"uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
                    "uvicorn.error": {"level": "INFO"},
                    "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False}},
        "root": {"handlers": ["default"], "level": "INFO"},
    }
