"""Pages for finding and owning work, register extracts and journal exports (issue 14; engine/desk.py).

The same engine calls as ``api/routes/desk.py``: search by id prefix, claim / release / assign (POST
forms with the CSRF token), the register extract upload (multipart, all or nothing, the problems per
line), and the journal download for auditors (recorded in the access log).
"""
from __future__ import annotations

import email.parser
import email.policy
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import ADMIN, AUDITOR, CASEWORKER, ENFORCEMENT_OFFICER, REGISTER_IMPORT
from api.routes.desk import journal_download, may_import_for, scope_for
from engine import desk
from engine.errors import Conflict, InvalidInput, NotFound

from . import forms, session
from .routes import PREFIX, SECURITY_HEADERS, _redirect, _safe_next, _tr, error_page, render

router = APIRouter(include_in_schema=False)
SEARCHERS = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)
IMPORTERS = (REGISTER_IMPORT, ADMIN, CASEWORKER)
SEARCH_LIMIT = 50


@router.get(f"{PREFIX}/search")
def search(request: Request) -> Response:
    actor = session.require_role(request, *SEARCHERS)
    text = (request.query_params.get("q") or "").strip()
    tr = _tr(request)
    result, problem = None, None
    if not text:
        problem = tr.t("desk.search_empty")
    elif len(text) > 200 or forms_bad(text):
        problem = tr.t("error.pattern")
    else:
        agency = actor.agency if actor.role == CASEWORKER else None
        result = desk.search(request.app.state.engine, text, agency=agency, limit=SEARCH_LIMIT)
        if result["total"] == 1:  # one match: straight to it
            return _redirect(f"{PREFIX}/dossiers/{quote(result['items'][0]['dossier_id'], safe='')}")
    return render(request, "search.html", status=422 if problem else 200, actor=actor, query=text,
                  result=result, problem=problem)


def forms_bad(text: str) -> bool:
    from api.routes.common import id_problem
    return id_problem(text) is not None


def _back(raw: dict, dossier_id: str) -> str:
    return _safe_next((raw.get("next") or [""])[0]) or f"{PREFIX}/dossiers/{quote(dossier_id, safe='')}"


def _with(url: str, **params) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


@router.post(PREFIX + "/dossiers/{dossier_id}/claim")
async def claim(request: Request, dossier_id: str) -> Response:
    """A caseworker claims the dossier; an admin assigns it to the caseworker named in ``user``."""
    actor = session.require_role(request, CASEWORKER, ADMIN)
    tr = _tr(request)
    raw = forms.form_pairs(await request.body())
    user = (raw.get("user") or [""])[0].strip() or None
    if actor.role == ADMIN and (user is None or forms_bad(user) or len(user) > 200):
        return error_page(request, 422, tr.t("desk.assign_needs_user"), actor)
    if actor.role == CASEWORKER:
        user = None
    try:
        desk.claim(request.app.state.engine, dossier_id, actor, user=user)
    except NotFound:
        return error_page(request, 404, tr.t("error.not_found"), actor)
    except Conflict as err:
        return error_page(request, 409, _conflict_text(tr, err), actor)
    return _redirect(_with(_back(raw, dossier_id), claim="taken"))


@router.post(PREFIX + "/dossiers/{dossier_id}/release")
async def release(request: Request, dossier_id: str) -> Response:
    actor = session.require_role(request, CASEWORKER, ADMIN)
    tr = _tr(request)
    raw = forms.form_pairs(await request.body())
    try:
        desk.release(request.app.state.engine, dossier_id, actor)
    except NotFound:
        return error_page(request, 404, tr.t("error.not_found"), actor)
    except Conflict as err:
        return error_page(request, 409, _conflict_text(tr, err), actor)
    return _redirect(_with(_back(raw, dossier_id), claim="released"))


def _conflict_text(tr, err: Conflict) -> str:
    if err.code == "dossier_claimed" and err.params.get("user"):
        return tr.t("desk.claimed_by_other", user=err.params["user"])
    if err.code == "dossier_not_claimed":
        return tr.t("desk.not_claimed")
    return tr.t("desk.claimed_meanwhile")


# ----- register extract upload ---------------------------------------------------------------------------------
@router.get(f"{PREFIX}/import")
def import_form(request: Request) -> Response:
    actor = session.require_role(request, *IMPORTERS)
    return render(request, "import.html", actor=actor, problems=None, imported=None, message=None)


def _uploaded(request: Request, body: bytes) -> bytes | None:
    """The bytes of the ``extract`` file of a multipart form (None when there is none)."""
    content_type = request.headers.get("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "extract":
            return part.get_payload(decode=True) or b""
    return None


@router.post(f"{PREFIX}/import")
async def import_upload(request: Request) -> Response:
    actor = session.require_role(request, *IMPORTERS)
    tr = _tr(request)
    data = _uploaded(request, await request.body())
    if not data:
        return render(request, "import.html", status=422, actor=actor, problems=None, imported=None,
                      message=tr.t("desk.import_no_file"))
    try:
        text = data.decode("utf-8-sig")
        if "\x00" in text:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL")
    except UnicodeDecodeError:
        return render(request, "import.html", status=422, actor=actor, problems=None, imported=None,
                      message=tr.t("desk.import_not_text"))
    try:
        result = desk.import_extract(request.app.state.engine, text, actor, may_import=may_import_for(actor),
                                     scope=scope_for(actor))
    except desk.ExtractInvalid as err:
        return render(request, "import.html", status=422, actor=actor, problems=err.problems, imported=None,
                      message=tr.t("desk.import_refused", n=len(err.problems)))
    except (Conflict, InvalidInput) as err:  # a line imported by someone else meanwhile
        return render(request, "import.html", status=409, actor=actor, problems=None, imported=None,
                      message=tr.t("error.refused", message=err.message))
    return render(request, "import.html", actor=actor, problems=None, imported=result,
                  message=tr.t("desk.import_done", n=result["imported"]))


# ----- journal downloads for auditors --------------------------------------------------------------------------------
@router.get(PREFIX + "/audit/dossiers/{dossier_id}/journal.{fmt}")
def journal_file(request: Request, dossier_id: str, fmt: str) -> Response:
    actor = session.require_role(request, AUDITOR, ADMIN)
    if fmt not in ("json", "csv"):
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    try:
        request.app.state.engine.dossier_state(dossier_id, actor)
    except NotFound:
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    response = journal_download(request, actor, dossier_id, fmt, route=f"GET {PREFIX}/audit/dossiers/{{dossier_id}}/journal")
    response.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"})
    return response
