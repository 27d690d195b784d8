from fastapi import APIRouter, Depends, Query, Request, Response

from api.access import log_read
from api.auth import ADMIN, AUDITOR, CASEWORKER, ENFORCEMENT_OFFICER, require
from engine.service import Actor

from .common import MAX_LIMIT, MAX_OFFSET, date_query, dossier_id_param, errors, get_engine, parse_day

router = APIRouter(tags=["dossiers"])
READERS = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)


@router.get("/dossiers/{dossier_id}", operation_id="get_dossier",
            summary="The dossier: target group, components, deadlines, infractions, fees, version",
            description="Caseworkers see only dossiers of their own agency. The `ETag` header carries "
                        "the version to send back as `If-Match`. Every read is recorded in the access log.",
            responses=errors(401, 403, 404, 422))
def get_dossier(request: Request, response: Response, dossier_id: str = dossier_id_param(),
                as_of: str = date_query("The dossier at the end of this date, folded from its recorded facts "
                                        "(not the current state; facts by the day they happened)."),
                known_on: str = date_query("As the system knew it at the end of this date (facts recorded by "
                                           "then): \"what did we know when we decided?\". Default: all recorded "
                                           "so far. Without as_of: the dossier on that date as known then."),
                actor: Actor = Depends(require(*READERS))) -> dict:
    engine = get_engine(request)
    day = parse_day(as_of, "$.query.as_of")
    known = parse_day(known_on, "$.query.known_on")
    view = engine.dossier_view(dossier_id, actor)
    if day is not None or known is not None:
        from engine.asof import state_as_of
        result = state_as_of(engine, dossier_id, day or known, known_on=known)
        log_read(request, actor, dossier_id, "GET /dossiers/{dossier_id}?as_of")
        return result
    log_read(request, actor, dossier_id)
    response.headers["ETag"] = f'"{view["version"]}"'
    return view


@router.get("/dossiers/{dossier_id}/history", operation_id="get_dossier_history",
            summary="The dossier's journal, oldest first", responses=errors(401, 403, 404, 422))
def get_history(request: Request, dossier_id: str = dossier_id_param(),
                offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(100, ge=1, le=MAX_LIMIT),
                actor: Actor = Depends(require(*READERS))) -> dict:
    result = get_engine(request).history(dossier_id, offset=offset, limit=limit, actor=actor)
    log_read(request, actor, dossier_id)
    return result
