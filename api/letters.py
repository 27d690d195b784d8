"""Letters for the API, the web pages and the CLI: who may read which letters, and the PDFs
(TRAJECTORY.md §6.1, §6.3, §6.4; engine/letters.py journals them, letters/render.py renders them).

* A dossier's letters are read like the dossier itself: the readers of the dossier (a caseworker only
  of their own agency; another agency's dossier is a 404) and every download is a read of the dossier,
  recorded in the access log before the PDF is sent.
* The mailing batch of a day belongs to the letter's sender: an agency (``atlas``, ``amal``, ``agii``)
  sends the notices of default and hand-over notifications of its dossiers, the enforcement officers
  (``abb``, Agentschap Binnenlands Bestuur) their decisions. A caseworker prints only their own
  agency's batch, an enforcement officer only ``abb``'s, an admin any. Each letter in a batch is a
  read of its dossier and is logged as such.
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from sqlmodel import Session

from api.auth import ADMIN, AGENCIES, CASEWORKER, ENFORCEMENT_OFFICER
from engine import letters
from engine.errors import InvalidInput, NotFound, Refused
from engine.service import Actor

SENDERS = (*AGENCIES, letters.ENFORCEMENT_SENDER)
BATCH_ROLES = (CASEWORKER, ENFORCEMENT_OFFICER, ADMIN)


def dossier_letters(engine, dossier_id: str, actor: Actor) -> list[dict]:
    """The dossier's letters (404 when the actor may not read the dossier)."""
    engine.dossier_state(dossier_id, actor)
    with Session(engine.db) as session:
        return letters.of_dossier(session, dossier_id)


def dossier_letter(engine, dossier_id: str, number: int, actor: Actor) -> dict:
    """Letter ``number`` (1, 2, ... as in its reference) of the dossier; 404 naming it when there is none."""
    found = [letter for letter in dossier_letters(engine, dossier_id, actor) if letter["number"] == number]
    if not found:
        raise NotFound(f"dossier {dossier_id!r} has no letter {number}", code="letter_not_found",
                       params={"dossier_id": dossier_id, "number": number})
    return found[0]


def summary(letter: dict) -> dict:
    """What a listing shows of a letter (not its content)."""
    return {"number": letter["number"], "letter": letter["letter"], "on": letter["on"],
            "infraction": letter["infraction"], "reference": letter["reference"],
            "sender": letter["sender"], "template": letter["template"], "hash": letter["hash"],
            "issued_at": letter["issued_at"]}


def batch_sender(actor: Actor, agency: Optional[str], path: str = "$.query.agency") -> Optional[str]:
    """The sender whose batch ``actor`` asks for: ``agency``, or by default the caseworker's own agency
    (``abb`` for an enforcement officer; every sender's letters, None, for an admin). Unknown → 422
    naming ``path``; not theirs → 403."""
    if agency is not None and agency not in SENDERS:
        raise InvalidInput(path, f"unknown agency {agency!r} (one of {', '.join(SENDERS)})",
                           code="unknown_agency", params={"agency": agency, "known": list(SENDERS)})
    if actor.role == ADMIN:
        return agency
    own = actor.agency if actor.role == CASEWORKER else letters.ENFORCEMENT_SENDER \
        if actor.role == ENFORCEMENT_OFFICER else None
    if own is None or (agency is not None and agency != own):
        raise Refused(f"a {actor.role} prints only the letters of {own or 'their own agency'}, "
                      f"not of {agency or 'every agency'}", status=403, code="other_agency",
                      params={"agency": agency, "own": own})
    return own


def day_letters(engine, sender: Optional[str], day: date) -> list[dict]:
    """The letters ``sender`` (None: every sender) issued on ``day``: its mailing of the day."""
    with Session(engine.db) as session:
        return letters.of_day(session, day, sender)


def require_letters(found: list[dict], sender: Optional[str], day: date) -> list[dict]:
    if not found:
        raise NotFound(f"{sender or 'no agency'} issued no letters on {day.isoformat()}", code="no_letters",
                       params={"agency": sender, "on": day.isoformat()})
    return found


def pdf(found: list[dict]) -> bytes:
    from letters import render

    return render.pdf(found)


def mailing_filename(sender: Optional[str], day: date) -> str:
    return f"brieven-{sender or 'alle'}-{day.isoformat()}.pdf"


def filename(dossier_id: str, letter: dict) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in dossier_id)
    return f"brief-{safe}-{letter['number']}.pdf"
