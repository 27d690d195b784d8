"""Operator routes (role ``admin``): incidents, process versions and their differences.

``/admin/incidents`` lists the dossiers whose step raised in the sweep or in a command
(engine/incidents.py); one can be retried now or resolved with a reason.
``/admin/processes`` lists every deployed process version with how many instances run on
it and where they wait; ``/admin/processes/{name}/diff`` compares two versions
(engine/migration.py, built on SpiffWorkflow's own spec diff).
"""
from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth import ADMIN, require
from engine import incidents
from engine.service import Actor

from .common import ID_PATTERN, MAX_LIMIT, MAX_OFFSET, errors, get_engine

router = APIRouter(tags=["admin"])
INT32 = 2**31 - 1
INCIDENT_ID = Path(..., ge=1, le=INT32, description="The incident id")
ProcessName = Literal["trajectory", "enforcement"]
VERSION = Path(..., ge=1, le=INT32, description="The process version (1, 2, ...)")


class Resolution(BaseModel):
    """Why the incident is closed (kept with the incident, with who closed it and when)."""

    reason: str = Field(..., min_length=1, max_length=incidents.MAX_REASON_CHARS)


@router.get("/admin/incidents", operation_id="list_incidents",
            summary="Incidents: dossiers whose step raised in the sweep or in a command, newest first",
            responses=errors(401, 403, 422))
def list_incidents(request: Request, status: Literal["open", "resolved", "all"] = "open",
                   dossier: Optional[str] = Query(None, max_length=200, pattern=ID_PATTERN),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(50, ge=1, le=MAX_LIMIT),
                   actor: Actor = Depends(require(ADMIN))) -> dict:
    return incidents.listing(get_engine(request), status=None if status == "all" else status,
                             dossier_id=dossier, offset=offset, limit=limit)


@router.get("/admin/incidents/{incident_id}", operation_id="get_incident",
            summary="One incident with its stack trace (text only, no variables)",
            responses=errors(401, 403, 404, 422))
def get_incident(request: Request, incident_id: int = INCIDENT_ID, actor: Actor = Depends(require(ADMIN))) -> dict:
    return incidents.get(get_engine(request), incident_id).to_dict()


@router.post("/admin/incidents/{incident_id}/retry", operation_id="retry_incident",
             summary="Retry a sweep incident now: fire the dossier's due timers; success resolves it",
             responses=errors(401, 403, 404, 409, 422))
def retry_incident(request: Request, incident_id: int = INCIDENT_ID, actor: Actor = Depends(require(ADMIN))) -> dict:
    from timers.sweep import retry_incident as retry
    return retry(get_engine(request), incident_id, actor.label)


@router.post("/admin/incidents/{incident_id}/resolve", operation_id="resolve_incident",
             summary="Resolve an open incident with a reason", responses=errors(401, 403, 404, 409, 422))
def resolve_incident(request: Request, body: Resolution, incident_id: int = INCIDENT_ID,
                     actor: Actor = Depends(require(ADMIN))) -> dict:
    engine = get_engine(request)
    return incidents.resolve(engine, incident_id, body.reason, actor.label, engine.clock.now()).to_dict()


@router.get("/admin/processes", operation_id="list_process_versions",
            summary="Every deployed process version: when, whether current, its waiting and completed instances",
            responses=errors(401, 403))
def list_processes(request: Request, actor: Actor = Depends(require(ADMIN))) -> list:
    from engine import processes
    return processes.versions(get_engine(request))


@router.get("/admin/processes/{name}/diff", operation_id="diff_process_versions",
            summary="Tasks added, removed, renamed and changed from one version to another",
            responses=errors(401, 403, 404, 422))
def diff_processes(request: Request, name: ProcessName,
                   from_: int = Query(..., alias="from", ge=1, le=INT32, description="The old version"),
                   to: int = Query(..., ge=1, le=INT32, description="The new version"),
                   actor: Actor = Depends(require(ADMIN))) -> dict:
    from engine import migration
    return migration.spec_diff(get_engine(request), name, from_, to)


@router.get("/admin/processes/{name}/{version}", operation_id="get_process_version",
            summary="One process version and how many instances wait in each user task or catch event",
            responses=errors(401, 403, 404, 422))
def get_process(request: Request, name: ProcessName, version: int = VERSION,
                actor: Actor = Depends(require(ADMIN))) -> dict:
    from engine import processes
    return processes.version_detail(get_engine(request), name, version)


@router.get("/admin/migrations", operation_id="list_migration_runs",
            summary="The latest instance-migration runs (inburgering migrate) with their instances per status",
            responses=errors(401, 403, 422))
def list_migrations(request: Request, limit: int = Query(20, ge=1, le=MAX_LIMIT),
                    actor: Actor = Depends(require(ADMIN))) -> list:
    from engine import migration
    return migration.runs(get_engine(request), limit=limit)
