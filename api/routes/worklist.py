from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api.auth import ADMIN, AUDITOR, CASEWORKER, require
from engine.service import Actor

from .common import MAX_LIMIT, MAX_OFFSET, date_query, errors, get_engine, parse_day

router = APIRouter(tags=["worklist"])
Agency = Literal["atlas", "amal", "agii"]
TargetGroup = Literal["obligated", "entitled", "excluded"]
#: the caseworker user tasks of processes/trajectory.bpmn
Step = Literal["register", "intake", "contract", "mo", "nt2", "pnt", "vdab"]
WorklistSort = Literal["deadline", "-deadline", "dossier_id", "-dossier_id"]


@router.get("/worklist", operation_id="get_worklist",
            summary="Dossiers waiting on a caseworker step, soonest deadline first",
            description="Caseworkers see their own agency only (asking for another agency is 403); "
                        "auditors and admins any agency, or all when `agency` is omitted. `mine=true`: only "
                        "the dossiers the caller has claimed (\"mijn dossiers\"). `due_from`/`due_to`: the next "
                        "deadline (`next_deadline`) falls in that range. Each item says who holds it "
                        "(`claimed_by`).",
            responses=errors(401, 403, 422))
def get_worklist(request: Request, agency: Agency = None,
                 step: Step = None,
                 target_group: TargetGroup = None, overdue: bool = False,
                 mine: bool = Query(False, description="Only the dossiers I have claimed"),
                 due_from: str = date_query("Next deadline on or after this date (not after `due_to`: 422)"),
                 due_to: str = date_query("Next deadline on or before this date"),
                 sort: WorklistSort = Query("deadline", description="`deadline` (soonest first) or `dossier_id`; "
                                                                     "a leading `-` reverses"),
                 offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(50, ge=1, le=MAX_LIMIT),
                 actor: Actor = Depends(require(CASEWORKER, AUDITOR, ADMIN))) -> dict:
    if actor.role == CASEWORKER:
        if agency is not None and agency != actor.agency:
            raise HTTPException(403, f"a caseworker of {actor.agency} may not read the worklist of {agency}")
        agency = actor.agency
    return get_engine(request).worklist(agency, offset=offset, limit=limit, step=step,
                                        target=target_group, overdue=overdue,
                                        claimed_by=actor.user if mine else None,
                                        due_from=parse_day(due_from, "$.query.due_from"),
                                        due_to=parse_day(due_to, "$.query.due_to"), sort=sort)
