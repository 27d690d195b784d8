from dataclasses import asdict

from fastapi import APIRouter, Depends, Request

from api.auth import ADMIN, require
from engine.service import Actor
from timers import sweep as timers_sweep

from .common import errors, get_engine

router = APIRouter(tags=["timers"])


@router.post("/sweep", operation_id="run_sweep",
             summary="Run the due-date sweep now (on the engine clock)", responses=errors(401, 403, 422))
def run_sweep(request: Request, actor: Actor = Depends(require(ADMIN))) -> dict:
    return asdict(timers_sweep.sweep(get_engine(request)))
