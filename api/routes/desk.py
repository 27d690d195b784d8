"""Finding and owning work, register extracts and journal exports (issue 14, points 3 and 7; engine/desk.py).

* ``GET /dossiers?q=`` — dossiers whose id starts with ``q`` (case-insensitive); a caseworker sees their
  own agency's only. Lists ids, not personal data: not a read of a dossier.
* ``POST /dossiers/{id}/claim`` — ``{}`` claims it for the caller; ``{"user": U}`` assigns it to
  caseworker U (admin only). ``DELETE /dossiers/{id}/claim`` releases it. Conflicts are 409 with a code.
* ``POST /newcomers/import`` — a register extract as JSON lines; every line validated first, nothing
  imported when any line is bad (422 listing each line's number, JSON path and problem).
* ``GET /dossiers/{id}/journal?format=json|csv`` — the dossier's whole journal for auditors; recorded in
  the access log like every read of a dossier.
"""
from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from api.access import log_read
from api.auth import ADMIN, AUDITOR, CASEWORKER, ENFORCEMENT_OFFICER, REGISTER_IMPORT, require
from engine import desk
from engine.errors import InvalidInput
from engine.service import Actor

from .common import ID_PATTERN, dossier_id_param, errors, get_engine, json_body, json_request_body

router = APIRouter(tags=["desk"])
SEARCHERS = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)
CLAIM_BODY = {"type": "object", "additionalProperties": False,
              "properties": {"user": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": ID_PATTERN,
                                      "description": "Assign to this caseworker (admin only); "
                                                     "omitted: claim for yourself (caseworker)"}}}
EXTRACT_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "text/plain")
MAX_SEARCH = 50


@router.get("/dossiers", operation_id="search_dossiers",
            summary="Dossiers whose id starts with `q` (case-insensitive), in id order",
            description="Caseworkers find their own agency's dossiers only. Each item says who holds the "
                        "dossier (`claimed_by`). The register extract carries no names, so ids are what is "
                        "searched.",
            responses=errors(401, 403, 422))
def search_dossiers(request: Request,
                    q: str = Query(..., min_length=1, max_length=200, pattern=ID_PATTERN,
                                   description="The start of a dossier id, or words of the name (case and accents ignored)"),
                    limit: int = Query(20, ge=1, le=MAX_SEARCH),
                    actor: Actor = Depends(require(*SEARCHERS))) -> dict:
    agency = actor.agency if actor.role == CASEWORKER else None
    return desk.search(get_engine(request), q, agency=agency, limit=limit)


@router.post("/dossiers/{dossier_id}/claim", operation_id="claim_dossier",
             summary="Claim a dossier (body `{}`) or assign it to a caseworker (admin, `{\"user\": U}`)",
             description="Claiming again one's own dossier changes nothing; a dossier held by someone else is "
                         "409 `dossier_claimed` naming the holder (release it first).",
             responses=errors(401, 403, 404, 409, 413, 415, 422),
             openapi_extra=json_request_body(CLAIM_BODY, "`{}` or `{\"user\": \"cw-2\"}`"))
async def claim_dossier(request: Request, dossier_id: str = dossier_id_param(),
                        actor: Actor = Depends(require(CASEWORKER, ADMIN))) -> dict:
    body = await json_body(request)
    user = _claim_body(body)
    if actor.role == CASEWORKER and user is not None and user != actor.user:
        raise HTTPException(403, "only an admin assigns a dossier to someone else; claim it for yourself with {}")
    return desk.claim(get_engine(request), dossier_id, actor, user=user)


def _claim_body(body) -> Optional[str]:
    if not isinstance(body, dict):
        raise InvalidInput("$", "send a JSON object: {} or {\"user\": \"...\"}", code="claim_body")
    unknown = sorted(set(body) - {"user"})
    if unknown:
        raise InvalidInput(f"$.{unknown[0]}", "unknown property; only `user`", code="claim_unknown_property")
    user = body.get("user")
    if user is None:
        return None
    if not isinstance(user, str) or not user.strip() or len(user) > 200:
        raise InvalidInput("$.user", "a user id (1 to 200 characters)", code="claim_user")
    from .common import id_problem
    problem = id_problem(user)
    if problem:
        raise InvalidInput("$.user", problem, code="claim_user")
    return user


@router.delete("/dossiers/{dossier_id}/claim", operation_id="release_dossier",
               summary="Release a claim: a caseworker their own, an admin any",
               responses=errors(401, 403, 404, 409, 422))
def release_dossier(request: Request, dossier_id: str = dossier_id_param(),
                    actor: Actor = Depends(require(CASEWORKER, ADMIN))) -> dict:
    return desk.release(get_engine(request), dossier_id, actor)


def scope_for(actor: Actor):
    """A caseworker's upload: an id another agency holds is refused as another agency's newcomer is."""
    from .newcomers import NOT_YOURS
    return (actor.agency, NOT_YOURS) if actor.role == CASEWORKER else None


def may_import_for(actor: Actor):
    """Who may import which line: a caseworker only newcomers of their own agency (api/routes/newcomers.py)."""
    if actor.role != CASEWORKER:
        return None
    from rules import geography

    from .newcomers import NOT_YOURS

    def check(newcomer: dict) -> Optional[str]:
        location = geography.locate(newcomer["nis_code"])
        return None if location is not None and location.agency == actor.agency else NOT_YOURS

    return check


@router.post("/newcomers/import", status_code=201, operation_id="import_extract",
             summary="Import a register extract (JSON lines); all or nothing",
             description="One newcomer per line (the schema of `POST /newcomers`). Every line is validated "
                         "first — JSON, schema, INSZ checksum, municipality, ids repeated in the file or already "
                         "in the store, and for a caseworker the agency — and when any line is bad nothing is "
                         "imported: 422 `extract_invalid` with `params.problems`, one `{line, path, message}` per "
                         "problem (values are never echoed). Content type `application/x-ndjson` (or "
                         "`application/jsonl`, `text/plain`).",
             responses=errors(401, 403, 413, 415, 422),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-ndjson": {"schema": {"type": "string"}}}}})
async def import_extract(request: Request,
                         actor: Actor = Depends(require(REGISTER_IMPORT, ADMIN, CASEWORKER))) -> dict:
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind not in EXTRACT_TYPES:
        raise HTTPException(415, f"the body must be JSON lines (application/x-ndjson), not {kind or 'unlabelled'}")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("$", "the extract is not UTF-8 text", code="extract_not_text") from None
    if "\x00" in text:
        raise InvalidInput("$", "the extract contains a NUL character", code="extract_not_text")
    return desk.import_extract(get_engine(request), text, actor, may_import=may_import_for(actor),
                               scope=scope_for(actor))


@router.get("/dossiers/{dossier_id}/journal", operation_id="export_journal",
            summary="The dossier's whole journal as a download (JSON or CSV), for auditors",
            description="Every entry with its times, kind, actor, versions, payload and hash, oldest first. "
                        "Recorded in the access log.",
            responses={**errors(401, 403, 404, 422),
                       200: {"description": "The journal", "content": {"application/json": {}, "text/csv": {}}}})
def export_journal(request: Request, dossier_id: str = dossier_id_param(),
                   format: Literal["json", "csv"] = Query("json"),
                   actor: Actor = Depends(require(AUDITOR, ADMIN))) -> Response:
    engine = get_engine(request)
    engine.dossier_state(dossier_id, actor)  # 404 for an unknown dossier
    return journal_download(request, actor, dossier_id, format)


def journal_download(request: Request, actor: Actor, dossier_id: str, format: str,
                     route: Optional[str] = None) -> Response:
    import json

    entries = desk.journal_entries(get_engine(request), dossier_id)
    log_read(request, actor, dossier_id, route)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dossier_id)[:100]
    if format == "csv":
        body, media = desk.journal_csv(entries), "text/csv"
    else:
        body = json.dumps({"dossier_id": dossier_id, "entries": entries}, ensure_ascii=False, indent=1)
        media = "application/json"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="journal-{safe}.{format}"',
                             "Cache-Control": "no-store"})
