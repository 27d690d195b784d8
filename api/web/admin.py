"""Operator pages (role ``admin``): incidents (list, detail, retry, resolve) and process versions.

They read and act through the same functions as ``/admin/...`` and ``inburgering incidents``
(engine/incidents.py, timers/sweep.py, engine/processes.py, engine/migration.py).
"""
from __future__ import annotations

import math
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import ADMIN
from engine import incidents, migration, processes
from engine.errors import Conflict, EngineError, NotFound

from . import forms, session
from .routes import PAGE_SIZE, PREFIX, _page, _redirect, _tr, _url_with, error_page, render

router = APIRouter(include_in_schema=False)
STATUSES = ("open", "resolved", "all")


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


@router.get(f"{PREFIX}/admin/incidents")
def incident_list(request: Request) -> Response:
    actor = session.require_role(request, ADMIN)
    engine = request.app.state.engine
    status = request.query_params.get("status") if request.query_params.get("status") in STATUSES else "open"
    page = _page(request)
    result = incidents.listing(engine, status=None if status == "all" else status,
                               offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, math.ceil(result["total"] / PAGE_SIZE))
    return render(request, "admin_incidents.html", actor=actor, items=result["items"], total=result["total"],
                  shown=status, statuses=STATUSES, page=page, pages=pages,
                  prev_url=_url_with(request, page=str(page - 1)) if page > 1 else None,
                  next_url=_url_with(request, page=str(page + 1)) if page < pages else None)


def _incident_page(request: Request, actor, incident_id: str, *, status: int = 200, message: str | None = None,
                   error: str | None = None, reason: str = "") -> Response:
    number = _int(incident_id)
    try:
        if number is None:
            raise NotFound("no such incident", code="incident_not_found", params={"incident": number})
        incident = incidents.get(request.app.state.engine, number).to_dict()
    except NotFound:
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    return render(request, "admin_incident.html", status=status, actor=actor, incident=incident, message=message,
                  error=error, reason=reason)


@router.get(PREFIX + "/admin/incidents/{incident_id}")
def incident_detail(request: Request, incident_id: str) -> Response:
    actor = session.require_role(request, ADMIN)
    tr = _tr(request)
    done = request.query_params.get("done")
    message = {"resolved": tr.t("ops.incident.resolved"), "retry_failed": tr.t("ops.incident.retried_failed")}.get(done)
    if done == "retry_ok":
        message = tr.t("ops.incident.retried_ok", n=_int(request.query_params.get("n", "0")) or 0)
    return _incident_page(request, actor, incident_id, message=message)


@router.post(PREFIX + "/admin/incidents/{incident_id}/retry")
def incident_retry(request: Request, incident_id: str) -> Response:
    actor = session.require_role(request, ADMIN)
    from timers.sweep import retry_incident

    number = _int(incident_id)
    if number is None:
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    try:
        result = retry_incident(request.app.state.engine, number, actor.label)
    except NotFound:
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    except Conflict as err:
        return _incident_page(request, actor, incident_id, status=409, error=err.message)
    query = {"done": "retry_ok", "n": result["fired"]} if result["ok"] else {"done": "retry_failed"}
    return _redirect(f"{PREFIX}/admin/incidents/{number}?" + urlencode(query))


@router.post(PREFIX + "/admin/incidents/{incident_id}/resolve")
async def incident_resolve(request: Request, incident_id: str) -> Response:
    actor = session.require_role(request, ADMIN)
    tr = _tr(request)
    reason = ((forms.form_pairs(await request.body()).get("reason") or [""])[0]).strip()
    number = _int(incident_id)
    if number is None:
        return error_page(request, 404, tr.t("error.not_found"), actor)
    if not reason:
        return _incident_page(request, actor, incident_id, status=422, error=tr.t("ops.incident.reason_required"))
    engine = request.app.state.engine
    try:
        incidents.resolve(engine, number, reason, actor.label, engine.clock.now())
    except NotFound:
        return error_page(request, 404, tr.t("error.not_found"), actor)
    except EngineError as err:
        return _incident_page(request, actor, incident_id, status=err.status, error=err.message, reason=reason)
    return _redirect(f"{PREFIX}/admin/incidents/{number}?done=resolved")


@router.get(f"{PREFIX}/admin/processes")
def process_list(request: Request) -> Response:
    actor = session.require_role(request, ADMIN)
    rows = processes.versions(request.app.state.engine)
    return render(request, "admin_processes.html", actor=actor, rows=rows)


@router.get(PREFIX + "/admin/processes/{name}/{version}")
def process_detail(request: Request, name: str, version: str) -> Response:
    actor = session.require_role(request, ADMIN)
    engine = request.app.state.engine
    number = _int(version)
    if name not in processes.PROCESS_NAMES or number is None:
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    try:
        detail = processes.version_detail(engine, name, number)
        diff = migration.spec_diff(engine, name, number - 1, number) if number > 1 else None
    except NotFound:
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    return render(request, "admin_process.html", actor=actor, detail=detail, diff=diff)
