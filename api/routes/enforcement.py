from fastapi import APIRouter, Depends, Query, Request

from api.auth import ADMIN, AUDITOR, ENFORCEMENT_OFFICER, require
from engine.service import Actor

from .common import MAX_LIMIT, MAX_OFFSET, errors, get_engine

router = APIRouter(tags=["enforcement"])


@router.get("/enforcement/queue", operation_id="get_enforcement_queue",
            summary="Handed-over infractions waiting for an enforcement decision",
            responses=errors(401, 403, 422))
def get_queue(request: Request, offset: int = Query(0, ge=0, le=MAX_OFFSET),
              limit: int = Query(50, ge=1, le=MAX_LIMIT),
              actor: Actor = Depends(require(ENFORCEMENT_OFFICER, AUDITOR, ADMIN))) -> dict:
    return get_engine(request).enforcement_queue(offset=offset, limit=limit)
