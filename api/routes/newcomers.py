from datetime import date

from fastapi import APIRouter, Depends, Request

from api.auth import ADMIN, CASEWORKER, require
from engine.commands import NEWCOMER_SCHEMA
from engine.errors import InvalidInput
from engine.service import Actor

from .common import check_date_range, date_fields, errors, get_engine, inline_refs, json_body, json_request_body

router = APIRouter(tags=["newcomers"])
SCHEMA = inline_refs(NEWCOMER_SCHEMA)
DATE_FIELDS = date_fields(SCHEMA)


def check_newcomer(newcomer) -> None:
    """Checks the engine does not make yet (it fails on these with a 500): dates in range, born before start."""
    check_date_range(newcomer, DATE_FIELDS)
    if isinstance(newcomer, dict):
        try:
            born, start = date.fromisoformat(newcomer["birth_date"]), date.fromisoformat(newcomer["obligation_start"])
        except (KeyError, TypeError, ValueError):
            return  # the engine's schema validation names what is wrong
        if born > start:
            raise InvalidInput("$.birth_date", "birth date is after obligation_start")


@router.post("/newcomers", status_code=201, operation_id="import_newcomer",
             summary="Import a newcomer (register extract line): decides the target group, opens the dossier",
             responses=errors(401, 403, 409, 422),
             openapi_extra=json_request_body(SCHEMA, "The register extract line; `insz` is never stored or logged."))
async def import_newcomer(request: Request, actor: Actor = Depends(require(ADMIN, CASEWORKER))) -> dict:
    newcomer = await json_body(request)
    check_newcomer(newcomer)
    return get_engine(request).import_newcomer(newcomer, actor=actor)
