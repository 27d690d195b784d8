"""Auditor routes: replay, state as of a date, yearly reports (TRAJECTORY.md §8), the access log."""
import io
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.access import log_read
from api.auth import ADMIN, AUDITOR, require
from engine import access_log
from engine.service import Actor

from .common import (DATE_PATTERN, ID_PATTERN, MAX_LIMIT, MAX_OFFSET, date_query, dossier_id_param, errors,
                     get_engine, parse_day)

router = APIRouter(tags=["audit"])
AUDITORS = (AUDITOR, ADMIN)


@router.get("/dossiers/{dossier_id}/as-of/{day}", operation_id="get_dossier_as_of",
            summary="The dossier as it stood at the end of a date, rebuilt from its journal alone",
            responses=errors(401, 403, 404, 422))
def get_dossier_as_of(request: Request, dossier_id: str = dossier_id_param(),
                      day: str = Path(..., pattern=DATE_PATTERN, json_schema_extra={"format": "date"},
                                      description="YYYY-MM-DD (1900..2199)"),
                      known_on: str = date_query("As known at the end of this date (default: all recorded)."),
                      actor: Actor = Depends(require(*AUDITORS))) -> dict:
    from engine.asof import state_as_of
    result = state_as_of(get_engine(request), dossier_id, parse_day(day, "$.path.day"),
                         known_on=parse_day(known_on, "$.query.known_on"))
    log_read(request, actor, dossier_id)
    return result


@router.get("/dossiers/{dossier_id}/replay", operation_id="replay_dossier",
            summary="Re-execute the dossier's journaled inputs and compare with the recorded journal",
            responses=errors(401, 403, 404, 422))
def get_dossier_replay(request: Request, dossier_id: str = dossier_id_param(),
                       actor: Actor = Depends(require(*AUDITORS))) -> dict:
    from engine.replay import replay_dossier
    result = replay_dossier(get_engine(request), dossier_id).to_dict()
    log_read(request, actor, dossier_id)
    return result


@router.get("/reports/{year}", operation_id="get_report",
            summary="Yearly figures from the journal (registrations, advice, VDAB, attests, MO, infractions)",
            responses={**errors(401, 403, 422),
                       200: {"description": "The report as JSON, CSV, PNG chart or a plain-text table (`format`)",
                             "content": {"application/json": {}, "text/csv": {}, "image/png": {},
                                         "text/plain": {}}}})
def get_report(request: Request, year: int = Path(..., ge=1900, le=2999),
               as_of: str = date_query("Only what was journaled by the end of this date"),
               format: Literal["json", "csv", "png", "text"] = Query("json"),
               actor: Actor = Depends(require(*AUDITORS))):
    from engine import reports
    rep = reports.report(get_engine(request), year, parse_day(as_of, "$.query.as_of"))
    if format == "csv":
        return PlainTextResponse(reports.to_csv(rep), media_type="text/csv")
    if format in ("text", "png"):
        # for people: in the Accept-Language's language, Dutch by default (api/web/charts.py)
        from api.app import language_of
        from api.web import charts
        from api.web.i18n import DEFAULT_LANGUAGE, Translator
        lang = language_of(request) or DEFAULT_LANGUAGE
        headers = {"Content-Language": lang}
        if format == "text":
            return PlainTextResponse(charts.to_text(Translator(lang), rep), headers=headers)
        buffer = io.BytesIO()
        charts.to_png(Translator(lang), rep, buffer)
        return Response(buffer.getvalue(), media_type="image/png", headers=headers)
    return rep


@router.get("/access-log", operation_id="get_access_log",
            summary="Who read which dossier, when and through which route (the access log), oldest first",
            description="Filter by `dossier_id` and/or `user` (none: the whole log). `format=csv` gives every "
                        "matching row as CSV (offset and limit apply to JSON only). Reading the access log "
                        "is itself not a read of a dossier.",
            responses={**errors(401, 403, 422),
                       200: {"description": "The rows (JSON) or CSV",
                             "content": {"application/json": {}, "text/csv": {}}}})
def get_access_log(request: Request,
                   dossier_id: str = Query(None, pattern=ID_PATTERN, description="Only reads of this dossier"),
                   user: str = Query(None, pattern=ID_PATTERN, description="Only reads by this user"),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(100, ge=1, le=MAX_LIMIT),
                   format: Literal["json", "csv"] = Query("json"),
                   actor: Actor = Depends(require(*AUDITORS))):
    engine = get_engine(request)
    with engine.reading() as connection:
        if format == "csv":
            rows = access_log.listing(connection, dossier_id=dossier_id, user=user, offset=0, limit=None)
            name = f"access-log-{'dossier' if dossier_id else 'user'}.csv"
            return Response(access_log.to_csv(rows["items"]), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return access_log.listing(connection, dossier_id=dossier_id, user=user, offset=offset, limit=limit)
