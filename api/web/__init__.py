"""The web interface for caseworkers, enforcement officers and auditors (server-rendered).

``mount(app, engine, settings)`` adds the pages under ``/ui`` (``/`` redirects there),
the static files (``/ui/static``, with the vendored bpmn-js viewer) and the handlers
that turn "not signed in" into a redirect to the sign-in page. It reads and writes
through the same :class:`engine.service.Engine` as the JSON API; no build step, no CDN.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from engine.service import Engine
from engine.settings import Settings

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI, engine: Engine, settings: Settings) -> None:
    from . import admin, desk, letters, routes, session

    app.include_router(routes.router)
    app.include_router(letters.router)  # letters: PDFs from the dossier page, the day's mailing
    app.include_router(admin.router)  # operator pages: incidents, process versions
    app.include_router(desk.router)  # search, claims, register extract upload, journal downloads
    app.mount(f"{routes.PREFIX}/static", StaticFiles(directory=str(STATIC)), name="web-static")
    app.add_exception_handler(session.NotSignedIn, routes.not_signed_in)
    app.add_exception_handler(session.Forbidden, routes.forbidden)
