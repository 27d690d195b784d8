"""Letters to the newcomer (TRAJECTORY.md §6.1, §6.3, §6.4): a dossier's letters, one letter as PDF, and
an agency's mailing of a day as one PDF (api/letters.py says who may read what)."""
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api import letters as service
from api.access import log_read
from api.auth import ADMIN, AUDITOR, CASEWORKER, ENFORCEMENT_OFFICER, require
from engine.clock import business_date
from engine.service import Actor

from .common import date_query, dossier_id_param, errors, get_engine, parse_day

router = APIRouter(tags=["letters"])
READERS = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)
PDF = {200: {"description": "The PDF", "content": {"application/pdf": {}}}}
#: a letter number beyond any dossier's (keeps path values within what every database compares)
MAX_NUMBER = 1_000_000


@router.get("/dossiers/{dossier_id}/letters", operation_id="list_dossier_letters",
            summary="The letters sent to the newcomer: notices of default, hand-overs, decisions",
            description="Each with its number, date, reference and the sha256 of its content as journaled. "
                        "Every read is recorded in the access log.",
            responses=errors(401, 403, 404, 422))
def list_letters(request: Request, dossier_id: str = dossier_id_param(),
                 actor: Actor = Depends(require(*READERS))) -> dict:
    found = service.dossier_letters(get_engine(request), dossier_id, actor)
    log_read(request, actor, dossier_id)
    return {"dossier_id": dossier_id, "letters": [service.summary(letter) for letter in found]}


@router.get("/dossiers/{dossier_id}/letters/{number}.pdf", operation_id="get_dossier_letter",
            summary="One letter as PDF, rendered from its journaled content (its hash checked first)",
            description="A read of the dossier, recorded in the access log.",
            responses={**errors(401, 403, 404, 422), **PDF}, response_class=Response)
def get_letter(request: Request, dossier_id: str = dossier_id_param(),
               number: int = Path(..., ge=1, le=MAX_NUMBER, description="The letter's number (1, 2, ...)"),
               actor: Actor = Depends(require(*READERS))) -> Response:
    letter = service.dossier_letter(get_engine(request), dossier_id, number, actor)
    content = service.pdf([letter])
    log_read(request, actor, dossier_id)
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{service.filename(dossier_id, letter)}"'})


@router.get("/letters/mailing.pdf", operation_id="get_mailing",
            summary="An agency's letters of a day as one PDF, for mailing",
            description="The letters the agency (`atlas`, `amal`, `agii`; `abb` for the enforcement officers' "
                        "decisions) issued on the day (default: today by the store's clock), by dossier. A "
                        "caseworker prints their own agency's, an enforcement officer `abb`'s, an admin any (all without "
                        "`agency`). "
                        "404 when there are none. Each letter is a read of its dossier (access log).",
            responses={**errors(401, 403, 404, 422), **PDF}, response_class=Response)
def get_mailing(request: Request,
                agency: Optional[Literal["atlas", "amal", "agii", "abb"]] = Query(
                    None, description="The sender (default: your own; for an admin every sender's letters)"),
                on: str = date_query("The day the letters were issued (default: today)"),
                actor: Actor = Depends(require(*service.BATCH_ROLES))) -> Response:
    engine = get_engine(request)
    sender = service.batch_sender(actor, agency)
    day = parse_day(on, "$.query.on") or business_date(engine.clock.now())
    found = service.require_letters(service.day_letters(engine, sender, day), sender, day)
    content = service.pdf(found)
    log_read(request, actor, sorted({letter["dossier_id"] for letter in found}))
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{service.mailing_filename(sender, day)}"'})
