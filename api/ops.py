"""Operations: the admin routes, incident responses, metrics and request logging, in one place.

``install(app)`` is the one line ``api/app.py`` calls; everything an operator needs is added
here (routes in :mod:`api.routes.admin`, ``/metrics`` and its middleware in :mod:`api.metrics`,
the request id and JSON log lines in :mod:`api.logs`), so the app's own middleware and
handlers stay untouched.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from engine.incidents import IncidentRaised


def install(app: FastAPI) -> None:
    """The admin routes and the incident handler (call before the app's own middleware is added)."""
    from .routes import admin

    app.include_router(admin.router)
    app.add_exception_handler(IncidentRaised, incident_raised)


def install_middleware(app: FastAPI) -> None:
    """Metrics and request ids: outside the input guards (so a refused body is counted and logged with its
    id), inside the catch-all; both are plain ASGI middleware."""
    from . import logs, metrics

    metrics.install(app)
    logs.install(app)  # the outer of the two, so every log line of a request has its id


async def incident_raised(request: Request, exc: IncidentRaised) -> JSONResponse:
    """500 naming the incident an operator will find under ``/admin/incidents/{id}``."""
    from .app import error_body, language_of

    lang = language_of(request)
    body = error_body("InternalError", exc.message, code=exc.code, params=exc.params, lang=lang)
    return JSONResponse({**body, "incident": exc.incident_id}, status_code=500,
                        headers={"Content-Language": lang} if lang else None)
