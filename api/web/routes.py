"""The pages: sign-in, worklist, dossier (with diagram and event forms), enforcement, audit.

Every page reads through the same engine calls as the JSON API and writes only
through :meth:`engine.service.Engine.handle`; role checks are the API's (roles_for
from :mod:`api.routes.events`, the readers of each listing).
"""
from __future__ import annotations

import base64
import hmac
import io
import json
import math
from datetime import date
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from api import csrf
from api.access import log_read
from api.auth import ADMIN, AGENCIES, AUDITOR, CASEWORKER, ENFORCEMENT_OFFICER, REGISTER_IMPORT, ROLES, issue_token
from api.auth import TokenError
from api.routes.common import MAX_LIMIT
from api.routes.events import roles_for
from api.routes.worklist import Step, TargetGroup
from engine import access_log, commands
from engine.errors import Conflict, EngineError, InvalidInput, NotFound
from engine.service import Actor

from . import diagram, forms, messages, session, views
from .i18n import LANGUAGES, Translator

PREFIX = "/ui"
TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 25
HISTORY_PAGE = 100
ACCESS_PAGE = 50
STEPS = Step.__args__
TARGET_GROUPS = TargetGroup.__args__
READERS = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)
AUDITORS = (AUDITOR, ADMIN)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
}

router = APIRouter(include_in_schema=False)
env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def csrf_field() -> Markup:
    """The hidden CSRF field every ``<form method="post">`` carries: ``{{ csrf_field() }}`` (api/csrf.py)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(csrf.FIELD, escape(csrf.current_token.get()))


env.globals["csrf_field"] = csrf_field


# ----- rendering -----------------------------------------------------------------
def _url_with(request: Request, **changes) -> str:
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def _nav(actor: Optional[Actor], path: str) -> list[dict]:
    if actor is None:
        return []
    items = []
    if actor.role in (CASEWORKER, AUDITOR, ADMIN):
        items.append((f"{PREFIX}/worklist", "nav.worklist"))
    if actor.role in (ENFORCEMENT_OFFICER, AUDITOR, ADMIN):
        items.append((f"{PREFIX}/enforcement", "nav.enforcement"))
    if actor.role in (CASEWORKER, ENFORCEMENT_OFFICER, ADMIN):
        items.append((f"{PREFIX}/letters", "letters.nav"))
    if actor.role in AUDITORS:
        items.append((f"{PREFIX}/audit", "nav.audit"))
        items.append((f"{PREFIX}/audit/reports", "nav.reports"))
    if actor.role in (CASEWORKER, ADMIN, REGISTER_IMPORT):
        items.append((f"{PREFIX}/import", "desk.import_nav"))
    if actor.role == ADMIN:
        items.append((f"{PREFIX}/admin/incidents", "ops.incidents.title"))
        items.append((f"{PREFIX}/admin/processes", "ops.processes.title"))
    matching = [href for href, _ in items if path == href or path.startswith(href + "/")]
    current = max(matching, key=len, default=None)
    return [{"href": href, "key": key, "current": href == current} for href, key in items]


def render(request: Request, template: str, status: int = 200, actor: Optional[Actor] = None,
           **context) -> HTMLResponse:
    tr = Translator(session.language(request))
    engine = request.app.state.engine
    settings = request.app.state.settings
    context.setdefault("demo", bool(getattr(settings, "demo", False)))
    html = env.get_template(template).render(
        t=tr.t, v=tr.v, vs=tr.vs, lang=tr.lang, languages=LANGUAGES, actor=actor, nav=_nav(actor, request.url.path),
        path=request.url.path, lang_url=lambda code: _url_with(request, lang=code),
        today=views.today(engine).isoformat(), static=f"{PREFIX}/static", prefix=PREFIX,
        count=lambda key, n: messages.plural(tr.lang, n, key), num=lambda x: messages.number(tr.lang, x),
        day=lambda d: messages.day(tr.lang, d), **context)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    session.remember_language(request, response)
    return response


def _tr(request: Request) -> Translator:
    return Translator(session.language(request))


def error_page(request: Request, status: int, message: str, actor: Optional[Actor] = None) -> HTMLResponse:
    return render(request, "error.html", status=status, actor=actor, message=message)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _safe_next(target: Optional[str]) -> Optional[str]:
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def home_of(actor: Actor) -> str:
    return {ENFORCEMENT_OFFICER: f"{PREFIX}/enforcement", AUDITOR: f"{PREFIX}/audit",
            REGISTER_IMPORT: f"{PREFIX}/import"}.get(
        actor.role, f"{PREFIX}/worklist")


# ----- exception handlers (registered by mount) --------------------------------------
async def not_signed_in(request: Request, exc: session.NotSignedIn) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = _redirect(f"{PREFIX}/login?" + urlencode({"next": target, "expired": "1"}))
    if request.cookies.get(session.TOKEN_COOKIE):
        session.clear_token(response)
    return response


async def forbidden(request: Request, exc: session.Forbidden) -> Response:
    return error_page(request, 403, _tr(request).t("error.forbidden", role=_tr(request).v(exc.actor.role)),
                      exc.actor)


# ----- sign-in ------------------------------------------------------------------------
@router.get("/")
def root() -> Response:
    return _redirect(f"{PREFIX}/")


@router.get(PREFIX)
@router.get(f"{PREFIX}/")
def home(request: Request) -> Response:
    actor = session.optional_actor(request)
    return _redirect(home_of(actor) if actor else f"{PREFIX}/login")


def dev_login(request: Request) -> bool:
    """The development sign-in (pick a role, get a token): only in the explicit demo (``serve --demo``)."""
    return bool(request.app.state.settings.demo)


def oidc_login(request: Request) -> bool:
    oidc = getattr(request.app.state, "oidc", None)
    return oidc is not None and oidc.browser_sign_in


def _login_page(request: Request, *, status: int = 200, errors: dict | None = None, values: dict | None = None,
                message: Optional[str] = None) -> HTMLResponse:
    next_page = _safe_next(request.query_params.get("next")) or ""
    return render(request, "login.html", status=status, dev_login=dev_login(request), roles=ROLES,
                  agencies=AGENCIES, errors=errors or {},
                  values=values or {"role": CASEWORKER, "user": "", "agency": ""}, next=next_page,
                  oidc_login=oidc_login(request),
                  oidc_url=f"{PREFIX}/login/oidc" + (f"?{urlencode({'next': next_page})}" if next_page else ""),
                  message=message)


@router.get(f"{PREFIX}/login")
def login_form(request: Request) -> Response:
    message = _tr(request).t("login.expired") if request.query_params.get("expired") else None
    return _login_page(request, message=message)


@router.post(f"{PREFIX}/login")
async def login(request: Request) -> Response:
    tr = _tr(request)
    raw = forms.form_pairs(await request.body())
    first = {k: (v[0].strip() if v else "") for k, v in raw.items()}
    values = {"role": first.get("role", ""), "user": first.get("user", ""), "agency": first.get("agency", "")}
    settings, engine = request.app.state.settings, request.app.state.engine
    errors: dict[str, str] = {}
    token = first.get("token", "")
    if not token and not dev_login(request):
        errors["token"] = tr.t("login.token_only")
    elif token:
        try:
            actor = await run_in_threadpool(session.verify_cookie_token, request, token)
        except TokenError as err:
            errors["token"] = tr.t("login.bad_token", reason=str(err))
    else:
        if values["role"] not in ROLES:
            errors["role"] = tr.t("error.choice")
        if values["agency"] and values["agency"] not in AGENCIES:
            errors["agency"] = tr.t("error.choice")
        if not values["user"]:
            errors["user"] = tr.t("login.required")
        if values["role"] == CASEWORKER and not values["agency"]:
            errors["agency"] = tr.t("login.needs_agency")
        if not errors:
            agency = values["agency"] or None
            token = issue_token(settings, role=values["role"], user=values["user"], agency=agency,
                                now=engine.clock.now())
            actor = Actor(values["user"], values["role"], agency)
    if errors:
        return _login_page(request, status=422, errors=errors, values=values)
    target = _safe_next(first.get("next")) or home_of(actor)
    response = _redirect(target)
    session.set_token(response, request, token)
    return response


# ----- sign-in through the OIDC provider (authorization code + PKCE) -----------------------------------
OIDC_COOKIE = "inburgering_oidc"
OIDC_FLOW_SECONDS = 600


def _redirect_uri(request: Request) -> str:
    base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}{PREFIX}/login/callback"


@router.get(f"{PREFIX}/login/oidc")
def oidc_start(request: Request) -> Response:
    from api.oidc import OidcError

    if not oidc_login(request):
        return error_page(request, 404, _tr(request).t("login.oidc_off"))
    try:
        start = request.app.state.oidc.start(_redirect_uri(request))
    except OidcError as err:
        return _login_page(request, status=502, message=_tr(request).t("login.oidc_failed", reason=str(err)))
    flow = json.dumps({"state": start.state, "nonce": start.nonce, "verifier": start.verifier,
                       "next": _safe_next(request.query_params.get("next")) or ""})
    response = _redirect(start.url)
    # Lax, not Strict: the provider sends the browser back with a cross-site navigation.
    response.set_cookie(OIDC_COOKIE, base64.urlsafe_b64encode(flow.encode()).decode(), max_age=OIDC_FLOW_SECONDS,
                        path=f"{PREFIX}/login", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


@router.get(f"{PREFIX}/login/callback")
def oidc_callback(request: Request) -> Response:
    from api.oidc import OidcError

    tr = _tr(request)
    if not oidc_login(request):
        return error_page(request, 404, tr.t("login.oidc_off"))
    try:
        flow = json.loads(base64.urlsafe_b64decode(request.cookies.get(OIDC_COOKIE, "").encode()))
        state, nonce, verifier = flow["state"], flow["nonce"], flow["verifier"]
    except (ValueError, KeyError, TypeError):
        return _login_page(request, status=400, message=tr.t("login.oidc_no_flow"))
    q = request.query_params
    if not hmac.compare_digest(q.get("state", ""), state):
        return _login_page(request, status=400, message=tr.t("login.oidc_no_flow"))
    if q.get("error") or not q.get("code"):
        return _login_page(request, status=401, message=tr.t("login.oidc_failed", reason=q.get("error", "no code")))
    oidc, settings = request.app.state.oidc, request.app.state.settings
    try:
        token = oidc.exchange(q["code"], _redirect_uri(request), verifier)
        from engine.clock import wall_now
        claims = oidc.claims(token, audience=settings.oidc_client_id, now=wall_now(), nonce=nonce)
        user, role, agency = oidc.identity(claims)
        actor = Actor(user, role, agency)
        from api.auth import _check_identity
        _check_identity(user, role, agency)
    except (OidcError, ValueError) as err:
        response = _login_page(request, status=401, message=tr.t("login.oidc_failed", reason=str(err)))
        response.delete_cookie(OIDC_COOKIE, path=f"{PREFIX}/login")
        return response
    target = _safe_next(flow.get("next")) or home_of(actor)
    # A page, not a redirect: the browser arrived here from the provider's site, and a SameSite=Strict
    # cookie set now is sent only on a navigation this site starts (the refresh below).
    response = render(request, "signed_in.html", actor=actor, target=target)
    response.headers["Refresh"] = f"0; url={target}"
    session.set_token(response, request, token)
    response.delete_cookie(OIDC_COOKIE, path=f"{PREFIX}/login")
    return response


@router.post(f"{PREFIX}/logout")
def logout(request: Request) -> Response:
    response = _redirect(f"{PREFIX}/login")
    session.clear_token(response)
    return response


# ----- worklist -------------------------------------------------------------------------
def _page(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params.get("page", "1")), 1_000_000))
    except ValueError:
        return 1


WORKLIST_SORTS = ("deadline", "-deadline", "dossier_id", "-dossier_id")


def _next_day(day: Optional[date]) -> Optional[date]:
    from datetime import timedelta
    return day + timedelta(days=1) if day is not None else None


@router.get(f"{PREFIX}/worklist")
def worklist(request: Request) -> Response:
    actor = session.require_role(request, CASEWORKER, AUDITOR, ADMIN)
    engine = request.app.state.engine
    q = request.query_params
    tr = _tr(request)
    step = q.get("step") if q.get("step") in STEPS else None
    target = q.get("target_group") if q.get("target_group") in TARGET_GROUPS else None
    overdue = q.get("overdue") in ("1", "true", "on")
    mine = q.get("mine") in ("1", "true", "on")
    sort = q.get("sort") if q.get("sort") in WORKLIST_SORTS else "deadline"
    agency = actor.agency if actor.role == CASEWORKER else (q.get("agency") if q.get("agency") in AGENCIES else None)
    days, errors = _date_range(q, "due_from", "due_to", tr)
    page = _page(request)
    result = {"items": [], "total": 0}
    if not errors:
        result = engine.worklist(agency, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, step=step, target=target,
                                 overdue=overdue, claimed_by=actor.user if mine else None,
                                 # the page shows (and filters on) the last timely day; the engine the day it fires
                                 due_from=_next_day(days["due_from"]), due_to=_next_day(days["due_to"]), sort=sort)
    on = views.today(engine)
    rows = []
    for item in result["items"]:
        last = views.last_timely_of_fire_day(item["next_deadline"])
        left = views.days_left(last, on)
        rows.append({**item, "last_timely_day": last, "days_left": left, "days_text": views.days_text(tr, left)})
    pages = max(1, math.ceil(result["total"] / PAGE_SIZE))
    return render(request, "worklist.html", status=422 if errors else 200, actor=actor, rows=rows,
                  total=result["total"], page=page, pages=pages, errors=errors,
                  filters={"step": step or "", "target_group": target or "", "overdue": overdue,
                           "agency": agency or "", "mine": mine, "sort": sort,
                           "due_from": q.get("due_from") or "", "due_to": q.get("due_to") or ""},
                  steps=STEPS, target_groups=TARGET_GROUPS, agencies=AGENCIES, sorts=WORKLIST_SORTS,
                  claim_notice=tr.t(f"desk.notice_{q.get('claim')}") if q.get("claim") in ("taken", "released")
                  else None,
                  may_claim=actor.role == CASEWORKER, back=_url_with(request, claim=None),
                  prev_url=_url_with(request, page=str(page - 1)) if page > 1 else None,
                  next_url=_url_with(request, page=str(page + 1)) if page < pages else None)


# ----- dossier ------------------------------------------------------------------------------
def _all_history(engine, dossier_id: str, actor: Actor) -> list[dict]:
    entries, offset = [], 0
    while True:
        chunk = engine.history(dossier_id, offset=offset, limit=MAX_LIMIT, actor=actor)["entries"]
        entries.extend(chunk)
        if len(chunk) < MAX_LIMIT:
            return entries
        offset += MAX_LIMIT


def _events_for(actor: Actor, view: dict) -> tuple[list[str], list[str]]:
    """(suggested, other) event types this actor may record on this dossier."""
    allowed = [e for e in commands.EVENT_TYPES if actor.role in roles_for(e)]
    if not _handed_over_types(view):
        allowed = [e for e in allowed if e not in commands.ENFORCEMENT_EVENTS]
    suggested = []
    waiting = set(view.get("waiting_on", []))
    for step in [s for s in views.STEP_EVENTS if s in waiting]:  # in the trajectory's order
        for event in views.STEP_EVENTS.get(step, ()):
            if event in allowed and event not in suggested:
                suggested.append(event)
    if "decide" in view.get("waiting_on", []):
        suggested += [e for e in allowed if e in commands.ENFORCEMENT_EVENTS and e not in suggested]
    return suggested, [e for e in allowed if e not in suggested]


def _handed_over_types(view: dict) -> list[str]:
    types = []
    for infraction in view.get("infraction_details", []):
        if infraction["outcome"] == "handed_over" and infraction["type"] not in types:
            types.append(infraction["type"])
    return types


def _dossier_or_404(request: Request, dossier_id: str, actor: Actor) -> dict | Response:
    try:
        return request.app.state.engine.dossier_view(dossier_id, actor)
    except NotFound:
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)


@router.get(PREFIX + "/dossiers/{dossier_id}")
def dossier(request: Request, dossier_id: str) -> Response:
    actor = session.require_role(request, *READERS)
    engine = request.app.state.engine
    view = _dossier_or_404(request, dossier_id, actor)
    if isinstance(view, Response):
        return view
    tr = _tr(request)
    entries = _all_history(engine, dossier_id, actor)
    on = views.today(engine)
    deadlines = [{**d, "days_left": views.days_text(tr, views.days_left(d["last_timely_day"], on))
                  if d["status"] == "running" else ""} for d in view["deadlines"]]
    infractions = []
    for i in view["infraction_details"]:
        left = views.days_left(i["regularisation_last_day"], on) if i["outcome"] == "open" else None
        infractions.append({**i, "regularisation_left": views.days_text(tr, left) if left is not None else ""})
    timeline = [{"seq": e["seq"], "time": views.short_time(e["business_time"]), "kind": e["kind"],
                 "actor": e["actor"], "text": views.timeline_line(tr, e)} for e in entries]
    suggested, other = _events_for(actor, view)
    shown = diagram.diagrams(engine, view, entries)
    done = request.query_params.get("done")
    from api.letters import dossier_letters
    from engine import desk
    with engine.reading() as connection:
        holder = desk.claim_of(connection, dossier_id)
    claim_state = request.query_params.get("claim")
    letters = dossier_letters(engine, dossier_id, actor)
    log_read(request, actor, dossier_id)
    return render(request, "dossier.html", actor=actor, view=view, deadlines=deadlines, infractions=infractions,
                  holder=holder, may_claim=actor.role == CASEWORKER, may_assign=actor.role == ADMIN,
                  may_decide=actor.role in roles_for("enforcement_decision"),
                  claim_notice=tr.t(f"desk.notice_{claim_state}") if claim_state in ("taken", "released") else None,
                  letters=letters,
                  timeline=timeline, diagrams=shown, diagrams_json=[
                      {"container": f"diagram-{n}", "url": f"{PREFIX}/processes/{d['process']}/{d['version']}.bpmn",
                       **{k: d[k] for k in ("waiting", "armed", "done", "flows")}}
                      for n, d in enumerate(shown, start=1)],
                  suggested=suggested, other_events=other,
                  saved=tr.t("common.saved", event=tr.t(f"event.{done}")) if done in commands.EVENT_SCHEMAS else None,
                  fees_total=view["fees_eur"])


@router.get(PREFIX + "/processes/{name}/{version}.bpmn")
def process_xml(request: Request, name: str, version: int) -> Response:
    session.require_role(request, *ROLES)
    source = diagram.drawing_source(request.app.state.engine, name, version)
    if source is None:
        return PlainTextResponse("not found", status_code=404, headers=SECURITY_HEADERS)
    return Response(source, media_type="application/xml",
                    headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=3600"})


# ----- event forms -------------------------------------------------------------------------------
#: the two forms of the enforcement decision: on a chosen infraction by its id with a required motivation
#: (issue 14, point 4), and the conformance form on the oldest handed-over infraction of a type
BY_ID, BY_TYPE = "id", "type"


def _decision_schema(mode: str) -> dict:
    """The enforcement decision's schema narrowed to one of its two forms (both are the engine's own
    ``oneOf`` branches, so what the form accepts the engine accepts; the engine validates again)."""
    full = commands.EVENT_SCHEMAS["enforcement_decision"]
    drop = "infraction" if mode == BY_ID else "infraction_id"
    required = ["infraction_id", "decision", "motivation"] if mode == BY_ID else ["infraction", "decision"]
    properties = {k: v for k, v in full["properties"].items() if k != drop}
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False,
            "allOf": full["allOf"]}


def _decision_mode(values) -> str:
    """``?infraction=TYPE`` or a posted ``_form=type``: the type-based form; otherwise by id."""
    return BY_TYPE if values.get("_form") == BY_TYPE or values.get("infraction") else BY_ID


def _form_context(event_type: str, view: dict, mode: str = BY_ID, tr: Optional[Translator] = None,
                  today: Optional[date] = None) -> tuple[dict, list[forms.Field]]:
    if event_type not in commands.ENFORCEMENT_EVENTS:
        schema = commands.EVENT_SCHEMAS[event_type]
        fields = forms.fields_of(schema)
        if event_type == "registered" and today is not None:
            # the offices serving the dossier's region today (seed 000 Q1), by their own names; the engine
            # checks the office against the list in force on the registration's own day
            from rules import offices

            serving = offices.offices_of_region(view.get("region"), today)
            for f in fields:
                if f.name == "office":
                    f.options, f.labels = [o.code for o in serving], {o.code: o.name for o in serving}
        return schema, fields
    schema = _decision_schema(mode)
    if mode == BY_TYPE:
        return schema, forms.fields_of(schema, {"infraction": _handed_over_types(view)})
    waiting = [i for i in view.get("infraction_details", []) if i["outcome"] == "handed_over"]
    fields = forms.fields_of(schema, {"infraction_id": [i["id"] for i in waiting]})
    tr = tr or Translator(None)
    for f in fields:  # "te late aanmelding · n1/1 · overgedragen op 2024-05-03"
        if f.name == "infraction_id":
            f.labels = {i["id"]: tr.t("desk.decision_option", type=tr.v(i["type"]), id=i["id"],
                                      on=i["handed_over_on"] or tr.t("common.none")) for i in waiting}
    return schema, fields


def _event_page(request: Request, actor: Actor, event_type: str, view: dict, fields, sub: forms.Submission,
                status: int = 200, mode: Optional[str] = None) -> HTMLResponse:
    return render(request, "event_form.html", status=status, actor=actor, view=view, event_type=event_type,
                  fields=fields, sub=sub, version=view["version"],
                  form_mode=mode if event_type in commands.ENFORCEMENT_EVENTS else None)


def _event_allowed(request: Request, dossier_id: str, event_type: str) -> tuple[Actor, dict] | Response:
    if event_type not in commands.EVENT_SCHEMAS:
        actor = session.require_role(request, *ROLES)
        return error_page(request, 404, _tr(request).t("error.not_found"), actor)
    actor = session.require_role(request, *roles_for(event_type))
    view = _dossier_or_404(request, dossier_id, actor)
    if isinstance(view, Response):
        return view
    return actor, view


@router.get(PREFIX + "/dossiers/{dossier_id}/events/{event_type}")
def event_form(request: Request, dossier_id: str, event_type: str) -> Response:
    allowed = _event_allowed(request, dossier_id, event_type)
    if isinstance(allowed, Response):
        return allowed
    actor, view = allowed
    mode = _decision_mode(request.query_params)
    _, fields = _form_context(event_type, view, mode, _tr(request), views.today(request.app.state.engine))
    log_read(request, actor, dossier_id)
    names = {f.name for f in fields}
    # the day the fact happened: today by the store's business clock, unless the caseworker enters another
    prefill = {"on": views.today(request.app.state.engine).isoformat()}
    prefill.update({k: v for k, v in request.query_params.items() if k in names})
    return _event_page(request, actor, event_type, view, fields, forms.empty_submission(prefill), mode=mode)


@router.post(PREFIX + "/dossiers/{dossier_id}/events/{event_type}")
async def post_event(request: Request, dossier_id: str, event_type: str) -> Response:
    allowed = _event_allowed(request, dossier_id, event_type)
    if isinstance(allowed, Response):
        return allowed
    actor, view = allowed
    tr = _tr(request)
    engine = request.app.state.engine
    raw = forms.form_pairs(await request.body())
    mode = _decision_mode({k: v[0] for k, v in raw.items() if v})
    schema, fields = _form_context(event_type, view, mode, tr, views.today(engine))
    sub = forms.parse(fields, raw, tr)
    forms.validate(schema, fields, sub, tr)
    version_text = (raw.get("_version") or [""])[0]
    expected = int(version_text) if version_text.isdigit() and len(version_text) < 18 else None
    if sub.ok:
        try:
            engine.handle(dossier_id, event_type, sub.payload, actor=actor, expected_version=expected)
        except InvalidInput as err:
            name = forms.field_of_path(err.path, fields)
            message = messages.of_error(tr.lang, err, on_field=bool(name))
            if name:
                sub.errors[name] = message
            else:
                sub.form_errors.append(message)
        except NotFound:
            return error_page(request, 404, tr.t("error.not_found"), actor)
        except Conflict as err:
            current = engine.dossier_view(dossier_id, actor)
            stale = expected is not None and current["version"] != expected
            sub.form_errors.append(tr.t("error.stale") if stale
                                   else tr.t("error.conflict", message=messages.of_error(tr.lang, err)))
            view = current
        except EngineError as err:
            sub.form_errors.append(tr.t("error.refused", message=messages.of_error(tr.lang, err)))
        else:
            return _redirect(f"{PREFIX}/dossiers/{dossier_id}?" + urlencode({"done": event_type}))
    return _event_page(request, actor, event_type, view, fields, sub, status=422 if sub.errors else 409, mode=mode)


# ----- enforcement ---------------------------------------------------------------------------------
QUEUE_SORTS = ("handed_over_on", "-handed_over_on", "established_on", "-established_on", "dossier_id", "-dossier_id",
               "type", "agency")
INFRACTION_TYPES = tuple(commands.EVENT_SCHEMAS["enforcement_decision"]["properties"]["infraction"]["enum"])


@router.get(f"{PREFIX}/enforcement")
def enforcement(request: Request) -> Response:
    """The queue of handed-over infractions, one row per infraction (engine/desk.py), filtered and sorted."""
    actor = session.require_role(request, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)
    engine = request.app.state.engine
    q = request.query_params
    tr = _tr(request)
    agency = q.get("agency") if q.get("agency") in AGENCIES else None
    kind = q.get("type") if q.get("type") in INFRACTION_TYPES else None
    sort = q.get("sort") if q.get("sort") in QUEUE_SORTS else "handed_over_on"
    days, errors = _date_range(q, "handed_over_from", "handed_over_to", tr)
    page = _page(request)
    result = {"items": [], "total": 0}
    if not errors:
        result = engine.enforcement_queue(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, agency=agency,
                                          infraction_type=kind, handed_over_from=days["handed_over_from"],
                                          handed_over_to=days["handed_over_to"], sort=sort)
    pages = max(1, math.ceil(result["total"] / PAGE_SIZE))
    return render(request, "enforcement.html", status=422 if errors else 200, actor=actor, items=result["items"],
                  total=result["total"], errors=errors, agencies=AGENCIES, types=INFRACTION_TYPES, sorts=QUEUE_SORTS,
                  filters={"agency": agency or "", "type": kind or "", "sort": sort,
                           "handed_over_from": q.get("handed_over_from") or "",
                           "handed_over_to": q.get("handed_over_to") or ""},
                  page=page, pages=pages, may_decide=actor.role in roles_for("enforcement_decision"),
                  prev_url=_url_with(request, page=str(page - 1)) if page > 1 else None,
                  next_url=_url_with(request, page=str(page + 1)) if page < pages else None)


# ----- audit ----------------------------------------------------------------------------------------
def _date_range(query, start: str, end: str, tr: Translator) -> tuple[dict, dict]:
    """A list page's date filter ``start``..``end``: the days given (None for absent or not a date) and the
    errors to show at the fields (not a date; a start after the end)."""
    days = {name: _date_param(query.get(name)) for name in (start, end)}
    errors = {name: tr.t("error.date") for name in (start, end) if query.get(name) and days[name] is None}
    if days[start] and days[end] and days[start] > days[end]:
        errors[start] = tr.t("desk.range_error")
    return days, errors


def _date_param(value: Optional[str]) -> Optional[date]:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@router.get(f"{PREFIX}/audit")
def audit(request: Request) -> Response:
    actor = session.require_role(request, *AUDITORS)
    wanted = (request.query_params.get("dossier") or "").strip()
    if wanted:
        from urllib.parse import quote
        return _redirect(f"{PREFIX}/audit/dossiers/{quote(wanted, safe='')}")
    return render(request, "audit.html", actor=actor, year=views.today(request.app.state.engine).year)


@router.get(PREFIX + "/audit/dossiers/{dossier_id}")
def audit_dossier(request: Request, dossier_id: str) -> Response:
    actor = session.require_role(request, *AUDITORS)
    engine = request.app.state.engine
    tr = _tr(request)
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    try:
        view = engine.dossier_view(dossier_id, actor)
        history = engine.history(dossier_id, offset=offset, limit=HISTORY_PAGE, actor=actor)["entries"]
    except NotFound:
        return error_page(request, 404, tr.t("error.not_found"), actor)
    entries = [{**e, "time": views.short_time(e["business_time"]), "text": views.timeline_line(tr, e)}
               for e in history]
    as_of_text = request.query_params.get("as_of") or ""
    as_of, as_of_error, as_of_state = _date_param(as_of_text), None, None
    if as_of_text and as_of is None:
        as_of_error = tr.t("error.date")
    elif as_of is not None:
        from engine.asof import state_as_of
        try:
            as_of_state = state_as_of(engine, dossier_id, as_of)
            if as_of_state.get("divergence"):
                as_of_state["divergence"]["text"] = views.state_divergence_text(tr, as_of_state["divergence"])
        except NotFound as err:
            as_of_error = messages.of_error(tr.lang, err)
    replay = None
    if request.query_params.get("replay"):
        from engine.replay import replay_dossier
        replay = replay_dossier(engine, dossier_id).to_dict()
        if replay.get("first_divergence"):
            replay["first_divergence"]["text"] = views.divergence_text(tr, replay["first_divergence"])
    log_read(request, actor, dossier_id)
    with engine.reading() as connection:
        reads = access_log.listing(connection, dossier_id=dossier_id, offset=0, limit=ACCESS_PAGE)
    return render(request, "audit_dossier.html", actor=actor, view=view, entries=entries, offset=offset,
                  page_size=HISTORY_PAGE, as_of=as_of_text, as_of_error=as_of_error, as_of_state=as_of_state,
                  replay=replay, reads=reads,
                  access_url=f"{PREFIX}/audit/access?" + urlencode({"dossier": dossier_id}),
                  access_csv_url=f"{PREFIX}/audit/access.csv?" + urlencode({"dossier": dossier_id}),
                  prev_url=_url_with(request, offset=str(max(0, offset - HISTORY_PAGE))) if offset else None,
                  next_url=_url_with(request, offset=str(offset + HISTORY_PAGE))
                  if len(history) == HISTORY_PAGE else None)


def _access_filters(request: Request) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """(dossier, user, error key) of the access-log pages."""
    q = request.query_params
    dossier_id = (q.get("dossier") or "").strip() or None
    user = (q.get("user") or "").strip() or None
    return dossier_id, user, None if (dossier_id or user) else "audit.access_filter_needed"


@router.get(f"{PREFIX}/audit/access")
def audit_access(request: Request) -> Response:
    """The access log per user and/or per dossier (reading it is not a read of a dossier)."""
    actor = session.require_role(request, *AUDITORS)
    engine = request.app.state.engine
    dossier_id, user, problem = _access_filters(request)
    page = _page(request)
    reads, pages = None, 1
    if problem is None:
        with engine.reading() as connection:
            reads = access_log.listing(connection, dossier_id=dossier_id, user=user,
                                       offset=(page - 1) * ACCESS_PAGE, limit=ACCESS_PAGE)
        pages = max(1, math.ceil(reads["total"] / ACCESS_PAGE))
    query = urlencode({k: v for k, v in (("dossier", dossier_id), ("user", user)) if v})
    return render(request, "audit_access.html", status=422 if problem and request.query_params else 200,
                  actor=actor, reads=reads, filters={"dossier": dossier_id or "", "user": user or ""},
                  problem=_tr(request).t(problem) if problem and request.query_params else None,
                  csv_url=f"{PREFIX}/audit/access.csv?{query}", page=page, pages=pages,
                  prev_url=_url_with(request, page=str(page - 1)) if page > 1 else None,
                  next_url=_url_with(request, page=str(page + 1)) if page < pages else None)


@router.get(f"{PREFIX}/audit/access.csv")
def audit_access_csv(request: Request) -> Response:
    session.require_role(request, *AUDITORS)
    dossier_id, user, problem = _access_filters(request)
    if problem:
        return PlainTextResponse(_tr(request).t(problem), status_code=422, headers=SECURITY_HEADERS)
    with request.app.state.engine.reading() as connection:
        rows = access_log.listing(connection, dossier_id=dossier_id, user=user, limit=None)["items"]
    return Response(access_log.to_csv(rows), media_type="text/csv",
                    headers={**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="access-log.csv"'})


def _year(text: Optional[str]) -> Optional[int]:
    if text and text.isdigit() and 1900 <= int(text) <= 2999:
        return int(text)
    return None


@router.get(f"{PREFIX}/audit/reports")
def audit_reports(request: Request) -> Response:
    actor = session.require_role(request, *AUDITORS)
    engine = request.app.state.engine
    tr = _tr(request)
    q = request.query_params
    year = _year(q.get("year")) if q.get("year") else views.today(engine).year
    as_of = _date_param(q.get("as_of"))
    errors = {}
    if year is None:
        errors["year"] = tr.t("error.year")
    if q.get("as_of") and as_of is None:
        errors["as_of"] = tr.t("error.date")
    report, tables = None, []
    if not errors:
        from engine import reports
        report = reports.report(engine, year, as_of)
        tables = views.report_tables(tr, report)
    query = urlencode({"as_of": as_of.isoformat()}) if as_of else ""
    return render(request, "reports.html", status=422 if errors else 200, actor=actor, errors=errors,
                  year=q.get("year") or str(year), as_of=q.get("as_of") or "", report=report, tables=tables,
                  chart_url=f"{PREFIX}/audit/reports/{year}.png" + (f"?{query}" if query else ""),
                  csv_url=f"{PREFIX}/audit/reports/{year}.csv" + (f"?{query}" if query else ""))


def _report_or_none(request: Request, year: int):
    from engine import reports
    as_of = _date_param(request.query_params.get("as_of"))
    if not 1900 <= year <= 2999:
        return None
    return reports.report(request.app.state.engine, year, as_of)


@router.get(PREFIX + "/audit/reports/{year}.png")
def report_png(request: Request, year: int) -> Response:
    session.require_role(request, *AUDITORS)
    rep = _report_or_none(request, year)
    if rep is None:
        return PlainTextResponse("bad year", status_code=422, headers=SECURITY_HEADERS)
    from . import charts
    buffer = io.BytesIO()
    charts.to_png(_tr(request), rep, buffer)
    return Response(buffer.getvalue(), media_type="image/png", headers=SECURITY_HEADERS)


@router.get(PREFIX + "/audit/reports/{year}.csv")
def report_csv(request: Request, year: int) -> Response:
    session.require_role(request, *AUDITORS)
    from engine import reports
    rep = _report_or_none(request, year)
    if rep is None:
        return PlainTextResponse("bad year", status_code=422, headers=SECURITY_HEADERS)
    return Response(reports.to_csv(rep), media_type="text/csv",
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="report-{year}.csv"'})
