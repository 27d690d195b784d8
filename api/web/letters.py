"""The letters pages (TRAJECTORY.md §6.1, §6.3, §6.4): a letter's PDF from the dossier page, and the
mailing page where an agency prints the letters of a day as one PDF. Who may read what is
api/letters.py's; every PDF sent is a read of its dossiers, logged before it is sent."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import letters as service
from api.access import log_read
from api.auth import ADMIN, AUDITOR, CASEWORKER, ENFORCEMENT_OFFICER
from engine.errors import InvalidInput

from . import session, views
from .routes import PREFIX, SECURITY_HEADERS, render

router = APIRouter(include_in_schema=False)
READERS = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)


def _day(request: Request, text: Optional[str]):
    from datetime import date

    if not text:
        return views.today(request.app.state.engine)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("$.query.on", f"{text!r} is not a date YYYY-MM-DD", code="invalid_date",
                           params={"value": text}) from None


def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get(PREFIX + "/dossiers/{dossier_id}/letters/{number}.pdf")
def letter_pdf(request: Request, dossier_id: str, number: int) -> Response:
    actor = session.require_role(request, *READERS)
    letter = service.dossier_letter(request.app.state.engine, dossier_id, number, actor)
    content = service.pdf([letter])
    log_read(request, actor, dossier_id)
    return _pdf(content, service.filename(dossier_id, letter))


def _senders(actor) -> list[str]:
    if actor.role == ADMIN:
        return ["", *service.SENDERS]  # "": every sender
    return [service.batch_sender(actor, None)]


@router.get(PREFIX + "/letters")
def mailing_page(request: Request) -> Response:
    actor = session.require_role(request, *service.BATCH_ROLES)
    sender = service.batch_sender(actor, request.query_params.get("agency") or None)
    day = _day(request, request.query_params.get("on"))
    found = service.day_letters(request.app.state.engine, sender, day)
    return render(request, "letters.html", actor=actor, senders=_senders(actor), sender=sender,
                  on=day.isoformat(), letters=found)


@router.get(PREFIX + "/letters/mailing.pdf")
def mailing_pdf(request: Request) -> Response:
    actor = session.require_role(request, *service.BATCH_ROLES)
    sender = service.batch_sender(actor, request.query_params.get("agency") or None)
    day = _day(request, request.query_params.get("on"))
    found = service.require_letters(service.day_letters(request.app.state.engine, sender, day), sender, day)
    content = service.pdf(found)
    log_read(request, actor, sorted({letter["dossier_id"] for letter in found}))
    return _pdf(content, service.mailing_filename(sender, day))
