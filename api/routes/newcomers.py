from fastapi import APIRouter, Depends, Request

from api.auth import ADMIN, CASEWORKER, require
from engine.commands import NEWCOMER_SCHEMA
from engine.service import Actor

from .common import errors, get_engine, inline_refs, json_body, json_request_body

router = APIRouter(tags=["newcomers"])
SCHEMA = inline_refs(NEWCOMER_SCHEMA)


@router.post("/newcomers", status_code=201, operation_id="import_newcomer",
             summary="Import a newcomer (register extract line): decides the target group, opens the dossier",
             responses=errors(401, 403, 409, 422),
             openapi_extra=json_request_body(SCHEMA, "The register extract line; `insz` is never stored or logged."))
async def import_newcomer(request: Request, actor: Actor = Depends(require(ADMIN, CASEWORKER))) -> dict:
    newcomer = await json_body(request)
    return get_engine(request).import_newcomer(newcomer, actor=actor)
