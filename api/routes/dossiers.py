from datetime import date
from typing import Optional

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import ADMIN, AUDITOR, CASEWORKER, ENFORCEMENT_OFFICER, require
from engine.service import Actor

from .common import MAX_LIMIT, MAX_OFFSET, errors, get_engine

router = APIRouter(tags=["dossiers"])
READERS = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)


@router.get("/dossiers/{dossier_id}", operation_id="get_dossier",
            summary="The dossier: target group, components, deadlines, infractions, fees, version",
            description="Caseworkers see only dossiers of their own agency. The `ETag` header carries "
                        "the version to send back as `If-Match`.",
            responses=errors(401, 403, 404, 422))
def get_dossier(request: Request, response: Response, dossier_id: str,
                as_of: Optional[date] = Query(None, description="Rebuild the state at the end of this date "
                                                                 "from the journal alone (not the current state)."),
                actor: Actor = Depends(require(*READERS))) -> dict:
    engine = get_engine(request)
    view = engine.dossier_view(dossier_id, actor)
    if as_of is not None:
        from engine.asof import state_as_of
        return state_as_of(engine, dossier_id, as_of)
    response.headers["ETag"] = f'"{view["version"]}"'
    return view


@router.get("/dossiers/{dossier_id}/history", operation_id="get_dossier_history",
            summary="The dossier's journal, oldest first", responses=errors(401, 403, 404, 422))
def get_history(request: Request, dossier_id: str, offset: int = Query(0, ge=0, le=MAX_OFFSET),
                limit: int = Query(100, ge=1, le=MAX_LIMIT), actor: Actor = Depends(require(*READERS))) -> dict:
    return get_engine(request).history(dossier_id, offset=offset, limit=limit, actor=actor)
