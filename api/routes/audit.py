"""Auditor routes: replay, state as of a date, yearly reports (TRAJECTORY.md §8)."""
import io
from datetime import date
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.auth import ADMIN, AUDITOR, require
from engine.service import Actor

from .common import errors, get_engine

router = APIRouter(tags=["audit"])
AUDITORS = (AUDITOR, ADMIN)


@router.get("/dossiers/{dossier_id}/as-of/{day}", operation_id="get_dossier_as_of",
            summary="The dossier as it stood at the end of a date, rebuilt from its journal alone",
            responses=errors(401, 403, 404, 422))
def get_dossier_as_of(request: Request, dossier_id: str, day: date,
                      actor: Actor = Depends(require(*AUDITORS))) -> dict:
    from engine.asof import state_as_of
    return state_as_of(get_engine(request), dossier_id, day)


@router.get("/dossiers/{dossier_id}/replay", operation_id="replay_dossier",
            summary="Re-execute the dossier's journaled inputs and compare with the recorded journal",
            responses=errors(401, 403, 404))
def get_dossier_replay(request: Request, dossier_id: str, actor: Actor = Depends(require(*AUDITORS))) -> dict:
    from engine.replay import replay_dossier
    return replay_dossier(get_engine(request), dossier_id).to_dict()


@router.get("/reports/{year}", operation_id="get_report",
            summary="Yearly figures from the journal (registrations, advice, VDAB, attests, MO, infractions)",
            responses={**errors(401, 403, 422),
                       200: {"content": {"application/json": {}, "text/csv": {}, "image/png": {}}}})
def get_report(request: Request, year: int = Path(..., ge=1900, le=2999), as_of: Optional[date] = Query(None),
               format: Literal["json", "csv", "png", "text"] = Query("json"),
               actor: Actor = Depends(require(*AUDITORS))):
    from engine import reports
    rep = reports.report(get_engine(request), year, as_of)
    if format == "csv":
        return PlainTextResponse(reports.to_csv(rep), media_type="text/csv")
    if format == "text":
        return PlainTextResponse(reports.format_table(rep))
    if format == "png":
        buffer = io.BytesIO()
        reports.to_png(rep, buffer)
        return Response(buffer.getvalue(), media_type="image/png")
    return rep
