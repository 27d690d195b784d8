from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from api.auth import ADMIN, AUDITOR, ENFORCEMENT_OFFICER, require
from engine.commands import EVENT_SCHEMAS
from engine.service import Actor

from .common import MAX_LIMIT, MAX_OFFSET, date_query, errors, get_engine, parse_day
from .worklist import Agency

router = APIRouter(tags=["enforcement"])
#: the infraction types (the enforcement decision's conformance field ``infraction``, engine/commands.py)
InfractionType = Literal[tuple(EVENT_SCHEMAS["enforcement_decision"]["properties"]["infraction"]["enum"])]
QueueSort = Literal["handed_over_on", "-handed_over_on", "established_on", "-established_on", "dossier_id",
                    "-dossier_id", "type", "-type", "agency", "-agency"]


@router.get("/enforcement/queue", operation_id="get_enforcement_queue",
            summary="Handed-over infractions waiting for an enforcement decision, one item per infraction",
            description="`total` counts infractions. Decide one with `POST /dossiers/{dossier_id}/events/"
                        "enforcement_decision` and `{\"infraction_id\": ..., \"decision\": ..., \"motivation\": ...}`. "
                        "Filters: `agency`, `type`, hand-over dates `handed_over_from`/`handed_over_to`; `sort` "
                        "(a leading `-` reverses; default oldest hand-over first).",
            responses=errors(401, 403, 422))
def get_queue(request: Request, agency: Agency = None, type: InfractionType = None,
              handed_over_from: str = date_query("Handed over on or after this date (not after `handed_over_to`: "
                                                 "422)"),
              handed_over_to: str = date_query("Handed over on or before this date"),
              sort: QueueSort = Query("handed_over_on"),
              offset: int = Query(0, ge=0, le=MAX_OFFSET),
              limit: int = Query(50, ge=1, le=MAX_LIMIT),
              actor: Actor = Depends(require(ENFORCEMENT_OFFICER, AUDITOR, ADMIN))) -> dict:
    return get_engine(request).enforcement_queue(
        offset=offset, limit=limit, agency=agency, infraction_type=type,
        handed_over_from=parse_day(handed_over_from, "$.query.handed_over_from"),
        handed_over_to=parse_day(handed_over_to, "$.query.handed_over_to"), sort=sort)
