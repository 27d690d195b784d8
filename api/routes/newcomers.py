"""Importing newcomers (register extract lines).

Who may import: the register import (role ``register_import``), an admin, or a caseworker for a
newcomer of their own agency (by the municipality's NIS code). A caseworker never learns
anything about other agencies' dossiers from an import: a newcomer of another agency and an id
another agency already holds get the same 403 with the same message (``docs/DESIGN.md``,
"Agency scoping"); a duplicate of their own agency's dossier is the usual 409.
"""
from fastapi import APIRouter, Depends, HTTPException, Request

from api.auth import ADMIN, CASEWORKER, REGISTER_IMPORT, require
from engine.commands import NEWCOMER_SCHEMA, validate_newcomer
from engine.errors import Conflict, InvalidInput, NotFound
from engine.service import Actor
from rules import geography

from .common import ID_PATTERN, errors, get_engine, id_problem, inline_refs, json_body, json_request_body

router = APIRouter(tags=["newcomers"])
SCHEMA = inline_refs(NEWCOMER_SCHEMA)
SCHEMA["properties"]["id"] = {**SCHEMA["properties"]["id"], "pattern": ID_PATTERN}
#: a custom string format (OpenAPI formats are open): 11 digits whose last two are the mod-97 check of the first
#: nine (prefixed by 2 for births from 2000), as the national register defines it
SCHEMA["properties"]["insz"] = {**SCHEMA["properties"]["insz"], "format": "insz",
                                "description": "national register number (INSZ): format `insz`, 11 digits whose "
                                               "last two are 97 minus the first nine modulo 97 (with a leading 2 "
                                               "for births from 2000); never stored or logged"}
IMPORTERS = (REGISTER_IMPORT, ADMIN, CASEWORKER)
NOT_YOURS = ("a caseworker may import only newcomers of their own agency that no other agency holds; "
             "ask the register import (role register_import)")


@router.post("/newcomers", status_code=201, operation_id="import_newcomer",
             summary="Import a newcomer (register extract line): decides the target group, opens the dossier",
             description="Roles: register_import and admin for any newcomer; a caseworker for a newcomer of "
                         "their own agency (by `nis_code`). A newcomer of another agency, or an id another "
                         "agency holds, is 403 for a caseworker, with one message that reveals nothing more. "
                         "Beyond the schema: `birth_date` may not be after `obligation_start` (422).",
             responses=errors(401, 403, 409, 413, 415, 422),
             openapi_extra=json_request_body(SCHEMA, "The register extract line; `insz` is never stored or logged."))
async def import_newcomer(request: Request, actor: Actor = Depends(require(*IMPORTERS))) -> dict:
    newcomer = await json_body(request)
    if isinstance(newcomer, dict) and isinstance(newcomer.get("id"), str):
        problem = id_problem(newcomer["id"])
        if problem:
            raise InvalidInput("$.id", problem, code="bad_id")
    engine = get_engine(request)
    if actor.role != CASEWORKER:
        return engine.import_newcomer(newcomer, actor=actor)
    validate_newcomer(newcomer)  # bad input is 422 for everyone, before any agency question
    try:
        location = geography.locate(newcomer["nis_code"])
    except ValueError as err:
        raise InvalidInput("$.nis_code", str(err), code="unknown_nis_code",
                           params={"nis_code": newcomer.get("nis_code")}) from None
    if location is None or location.agency != actor.agency:
        raise HTTPException(403, NOT_YOURS)
    try:
        return engine.import_newcomer(newcomer, actor=actor)
    except Conflict:
        try:
            engine.dossier_state(newcomer["id"], actor)  # 404 when it is not this caseworker's agency's
        except NotFound:
            raise HTTPException(403, NOT_YOURS) from None
        raise
