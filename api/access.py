"""Recording reads of dossiers in the access log (engine/access_log.py) from the API and the web pages.

Called after the read succeeded (the actor may see the dossier) and before the data is sent:
a read that could not be recorded is not served (the error is a 500 like any other).
"""
from __future__ import annotations

from typing import Iterable, Optional

from fastapi import Request

from engine import access_log
from engine.service import Actor


def route_of(request: Request) -> str:
    """``GET /dossiers/{dossier_id}``: the route's template, never the concrete path or query."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    return f"{request.method} {template}"


def log_read(request: Request, actor: Actor, dossier_ids: str | Iterable[str], route: Optional[str] = None) -> None:
    engine = request.app.state.engine
    ids = [dossier_ids] if isinstance(dossier_ids, str) else list(dossier_ids)
    where = route or route_of(request)
    access_log.record(engine, [access_log.Read(actor.user, actor.role, actor.agency, d, where) for d in ids],
                      business_time=engine.clock.now())
