"""One endpoint per event type, generated from :data:`engine.commands.EVENT_SCHEMAS`."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Header, Request

from api.auth import ADMIN, CASEWORKER, ENFORCEMENT_OFFICER, ROLES, require
from engine import commands
from engine.errors import InvalidInput
from engine.service import Actor

from .common import dossier_id_param, errors, get_engine, json_body, json_request_body

router = APIRouter(tags=["events"])

DOSSIER_ID = dossier_id_param()
#: the version as an integer, bare or quoted as sent back in ``ETag``
IF_MATCH_PATTERN = '^("[0-9]{1,18}"|[0-9]{1,18})$'
IF_MATCH = Header(None, alias="If-Match", pattern=IF_MATCH_PATTERN,
                  description="The dossier version the change is based on (the `ETag` of `GET /dossiers/{id}`, "
                              "quoted or bare); a stale version is refused with 409 and nothing is written.")


def roles_for(event_type: str) -> tuple[str, ...]:
    if event_type in commands.ENFORCEMENT_EVENTS:
        return (ENFORCEMENT_OFFICER, ADMIN)
    return (CASEWORKER, ADMIN)


def expected_version(if_match: Optional[str]) -> Optional[int]:
    """``If-Match: 3`` or ``If-Match: "3"`` (as sent back in ``ETag``) → 3 (the header's pattern has checked it)."""
    if if_match is None:
        return None
    text = if_match.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidInput("$.header.If-Match", "If-Match must be the integer version of the dossier",
                           code="bad_if_match")
    return int(text)


def _event_route(event_type: str, schema: dict):
    async def post_event(request: Request, dossier_id: str = DOSSIER_ID, if_match: str = IF_MATCH,
                         actor: Actor = Depends(require(*roles_for(event_type)))) -> dict:
        version = expected_version(if_match)
        body = await json_body(request)
        return get_engine(request).handle(dossier_id, event_type, body, actor=actor, expected_version=version)

    post_event.__name__ = f"post_{event_type}"
    router.add_api_route(
        f"/dossiers/{{dossier_id}}/events/{event_type}", post_event, methods=["POST"],
        operation_id=f"event_{event_type}", summary=schema.get("description") or event_type,
        description=f"Apply the `{event_type}` event to a dossier. Roles: {', '.join(roles_for(event_type))}."
                    + (" Beyond the schema: `from` may not be after `to` (422)."
                       if {"from", "to"} <= set(schema.get("properties", {})) else ""),
        responses=errors(401, 403, 404, 409, 413, 415, 422), openapi_extra=json_request_body(schema))


for _type, _schema in commands.EVENT_SCHEMAS.items():
    _event_route(_type, _schema)


@router.post("/dossiers/{dossier_id}/events/{event_type}", include_in_schema=False)
async def unknown_event(event_type: str, dossier_id: str = DOSSIER_ID,
                        actor: Actor = Depends(require(*ROLES))) -> dict:
    """Any other event type: 422 naming it (after authentication)."""
    commands.validate_event(event_type, {})
    raise InvalidInput("$.type", f"unknown event type {event_type!r}", code="unknown_event_type",
                       params={"type": event_type})  # pragma: no cover (validate raises)
