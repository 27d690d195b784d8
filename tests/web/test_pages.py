"""The web routes without a browser: sign-in, redirects, roles, agencies, forms and their errors."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from api.auth import issue_token, verify_token
from timers.sweep import sweep_days

from .conftest import FormClient, at, newcomer, sign_in

PAGES = ["/ui/worklist", "/ui/dossiers/n1", "/ui/dossiers/n1/events/registered", "/ui/enforcement", "/ui/audit",
         "/ui/audit/dossiers/n1", "/ui/audit/reports", "/ui/audit/reports/2024.png", "/ui/processes/trajectory/1.bpmn"]


def error_of(html: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="err-{field}">(.*?)</p>', html, re.S)
    assert match, f"no error shown next to {field}"
    return re.sub(r"<[^>]+>", "", match.group(1))


# ----- sign-in ------------------------------------------------------------------------------------
def test_root_leads_to_the_sign_in_page(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/"
    response = client.get("/ui/", follow_redirects=False)
    assert response.headers["location"] == "/ui/login"
    page = client.get("/ui/login")
    assert page.status_code == 200 and '<html lang="nl">' in page.text
    assert 'for="f-role"' in page.text and 'for="f-user"' in page.text and 'for="f-agency"' in page.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_without_a_token_redirects_to_sign_in(client, engine, path):
    engine.import_newcomer(newcomer("n1"))
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/ui/login?next=")
    assert "expired=1" in response.headers["location"]


def test_posting_an_event_without_a_token_changes_nothing(client, engine):
    engine.import_newcomer(newcomer("n1"))
    response = client.post("/ui/dossiers/n1/events/registered", data={}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")
    assert engine.dossier_view("n1")["registered_on"] is None


def test_sign_in_sets_an_httponly_strict_cookie_with_an_api_token(client, settings, clock):
    response = sign_in(client, "caseworker", "atlas", user="anna")
    assert response.headers["location"] == "/ui/worklist"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("inburgering_token=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    actor = verify_token(settings, token, now=clock.now())
    assert (actor.user, actor.role, actor.agency) == ("anna", "caseworker", "atlas")
    assert client.get("/ui/worklist").status_code == 200


def test_sign_in_errors_are_shown_next_to_the_fields(client):
    response = client.post("/ui/login", data={"role": "caseworker", "user": "", "agency": ""})
    assert response.status_code == 422
    assert error_of(response.text, "user") == "Vul een gebruikersnaam in."
    assert "agentschap" in error_of(response.text, "agency")
    assert 'aria-invalid="true"' in response.text
    bad = client.post("/ui/login", data={"token": "not-a-token"})
    assert bad.status_code == 422 and "niet geldig" in error_of(bad.text, "token")


def test_a_pasted_token_signs_in(client, settings, clock):
    token = issue_token(settings, role="auditor", user="ines", now=clock.now())
    response = client.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/audit"
    assert "ines" in client.get("/ui/audit").text


def test_next_only_goes_to_pages_of_this_interface(client):
    for target, expected in (("/ui/enforcement", "/ui/enforcement"), ("https://evil.example/", "/ui/worklist"),
                             ("//evil.example/ui/", "/ui/worklist"), ("/docs", "/ui/worklist")):
        response = client.post("/ui/login", data={"role": "admin", "user": "a", "next": target},
                               follow_redirects=False)
        assert response.headers["location"] == expected, target


def test_expired_or_forged_tokens_send_back_to_sign_in(client, clock):
    sign_in(client, "caseworker", "atlas")
    clock.set(clock.now() + timedelta(hours=13))  # tokens live 12 hours on the engine clock
    response = client.get("/ui/worklist", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")
    assert 'inburgering_token=""' in response.headers.get("set-cookie", "") or \
        "Max-Age=0" in response.headers.get("set-cookie", "")
    client.cookies.set("inburgering_token", "forged.token.value")
    assert client.get("/ui/worklist", follow_redirects=False).status_code == 303


def test_sign_out_clears_the_cookie(client):
    sign_in(client, "auditor")
    response = client.post("/ui/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    assert "Max-Age=0" in response.headers["set-cookie"] or 'inburgering_token=""' in response.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/ui/audit", follow_redirects=False).status_code == 303


# ----- roles and agencies ----------------------------------------------------------------------------
@pytest.mark.parametrize("role, agency, path", [
    ("enforcement_officer", None, "/ui/worklist"),
    ("caseworker", "atlas", "/ui/audit"),
    ("caseworker", "atlas", "/ui/enforcement"),
    ("caseworker", "atlas", "/ui/dossiers/n1/events/enforcement_decision"),
    ("auditor", None, "/ui/dossiers/n1/events/registered"),
    ("enforcement_officer", None, "/ui/dossiers/n1/events/intake"),
    ("enforcement_officer", None, "/ui/audit/reports"),
])
def test_roles_that_may_not_see_a_page_get_403(client, engine, role, agency, path):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, role, agency)
    response = client.get(path)
    assert response.status_code == 403, response.text
    assert "geeft geen toegang" in response.text


def test_a_dossier_of_another_agency_is_404(client, engine):
    engine.import_newcomer(newcomer("n1"))  # Atlas
    sign_in(client, "caseworker", "amal")
    for path in ("/ui/dossiers/n1", "/ui/dossiers/n1/events/registered", "/ui/dossiers/unknown"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "bestaat niet of hoort niet bij uw agentschap" in response.text
    assert client.post("/ui/dossiers/n1/events/registered", data={"_version": "1"}).status_code == 404
    assert engine.dossier_view("n1")["registered_on"] is None
    assert "n1" not in client.get("/ui/worklist").text


def test_unknown_event_type_is_404(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "caseworker", "atlas")
    assert client.get("/ui/dossiers/n1/events/teleported").status_code == 404


# ----- worklist ---------------------------------------------------------------------------------------------
def test_worklist_filters_and_pages(client, engine, clock):
    for number in range(27):
        engine.import_newcomer(newcomer(f"w{number:02d}", obligation_start=(date(2024, 1, 1) + timedelta(days=number))
                                        .isoformat()))
    engine.import_newcomer(newcomer("e1", residence="recognised_refugee", evidence=["illness_disability"]))
    sign_in(client, "caseworker", "atlas")
    first = client.get("/ui/worklist").text
    ids = re.findall(r'<th scope="row"><a href="/ui/dossiers/([^"]+)">', first)
    assert len(ids) == 25 and ids[:3] == ["w00", "w01", "w02"]  # soonest legal deadline first
    assert "Pagina 1 van 2 (28 resultaten)" in first
    second = client.get("/ui/worklist?page=2").text
    assert len(re.findall(r'<th scope="row"><a href', second)) == 3
    entitled = client.get("/ui/worklist?target_group=entitled").text
    assert re.findall(r'<th scope="row"><a href="/ui/dossiers/([^"]+)">', entitled) == ["e1"]
    assert client.get("/ui/worklist?step=intake").text.count('<th scope="row"><a href') == 0
    at(clock, date(2024, 4, 3))
    sign_in(client, "caseworker", "atlas")
    overdue = client.get("/ui/worklist?overdue=1").text
    assert "dagen te laat" in overdue or "1 dag te laat" in overdue
    assert client.get("/ui/worklist?step=nonsense&page=abc").status_code == 200


# ----- event forms --------------------------------------------------------------------------------------------
@pytest.fixture
def dossier(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "caseworker", "atlas")
    return "n1"


def post(client, dossier_id, event, data, version=None):
    body = dict(data)
    if version is not None:
        body["_version"] = str(version)
    return client.post(f"/ui/dossiers/{dossier_id}/events/{event}", data=body, follow_redirects=False)


def test_a_valid_event_is_recorded_and_redirects_to_the_dossier(client, engine, dossier):
    response = post(client, dossier, "registered", {}, version=1)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/dossiers/n1?done=registered"
    assert engine.dossier_view("n1")["registered_on"] == "2024-02-01"
    page = client.get(response.headers["location"]).text
    assert "Opgeslagen: Aanmelding bij het agentschap." in page
    history = engine.history("n1")["entries"]
    [command] = [e for e in history if e["kind"] == "command"]
    assert command["actor"] == "caseworker:u1"  # the signed-in user, as through the API
    assert command["payload"] == {"type": "registered", "payload": {"on": "2024-02-01"}}  # the form's default day


def test_every_caseworker_event_has_a_generated_form(client, dossier):
    from engine.commands import EVENT_SCHEMAS, ENFORCEMENT_EVENTS

    for event, schema in EVENT_SCHEMAS.items():
        if event in ENFORCEMENT_EVENTS:
            continue
        page = client.get(f"/ui/dossiers/n1/events/{event}").text
        for name in schema["properties"]:
            assert f'id="f-{name}' in page, (event, name)
            assert f'for="f-{name}' in page or '<legend>' in page, (event, name)


def test_required_and_enum_errors_are_shown_next_to_their_field(client, engine, dossier):
    post(client, dossier, "registered", {})
    missing = post(client, dossier, "intake", {"advice": ""})
    assert missing.status_code == 422
    assert error_of(missing.text, "advice") == "Fout: Dit veld is verplicht."
    assert 'aria-describedby="err-advice" aria-invalid="true"' in missing.text
    assert '<a href="#f-advice">' in missing.text  # the summary links to the field
    bogus = post(client, dossier, "intake", {"advice": "bogus"})
    assert error_of(bogus.text, "advice") == "Fout: Kies een van de mogelijkheden."
    assert engine.dossier_view("n1")["advice"] is None


def test_numbers_ranges_and_conditional_fields(client, dossier):
    text = post(client, dossier, "attendance", {"component": "mo", "percent": "abc"}).text
    assert error_of(text, "percent") == "Fout: Vul een getal in."
    text = post(client, dossier, "attendance", {"component": "mo", "percent": "150"}).text
    assert error_of(text, "percent") == "Fout: Vul een waarde in tussen 0 en 100."
    text = post(client, dossier, "test_result", {"component": "mo"}).text  # MO needs both scores
    assert "verplicht" in error_of(text, "core_percent") and "verplicht" in error_of(text, "total_percent")
    text = post(client, dossier, "pnt_hours", {"hours": "0"}).text
    assert error_of(text, "hours") == "Fout: De waarde moet groter zijn dan 0."


def test_dates_and_engine_errors_land_on_their_field(client, dossier):
    text = post(client, dossier, "suspended", {"from": "2024-02-30", "to": "2024-03-01"}).text
    assert "geldige datum" in error_of(text, "from")
    text = post(client, dossier, "suspended", {"from": "2024-03-10", "to": "2024-03-01"}).text  # engine: $.to
    assert "De periode eindigt (1 maart 2024) vóór ze begint (10 maart 2024)." in error_of(text, "to")
    text = post(client, dossier, "moved", {"nis_code": "1234"}).text
    assert error_of(text, "nis_code") == "Fout: Dit formaat klopt niet."
    text = post(client, dossier, "activity", {"kind": "work", "from": "1850-01-01", "to": "2024-01-01"}).text
    assert "1 januari 1850 ligt buiten de ondersteunde periode" in error_of(text, "from")  # the engine's range


def test_values_typed_are_kept_after_an_error(client, dossier):
    text = post(client, dossier, "test_result", {"component": "mo", "core_percent": "61,5"}).text
    assert 'value="61,5"' in text
    assert '<option value="mo" selected>' in text


def test_an_event_that_does_not_fit_the_state_is_a_form_error(client, engine, dossier):
    response = post(client, dossier, "contract_signed", {"components": ["mo"]}, version=1)
    assert response.status_code == 409
    # the engine's refusal in the page's language (issue 14.1), not its English developer message
    assert ("Het dossier wacht niet op deze gebeurtenis (Inburgeringscontract ondertekend); het wacht op: "
            "Aanmelding.") in response.text
    assert "does not wait" not in response.text
    assert engine.dossier_view("n1")["contract_signed_on"] is None


def test_a_stale_version_is_refused_and_nothing_is_written(client, engine, dossier):
    post(client, dossier, "registered", {}, version=1)
    response = post(client, dossier, "intake", {"advice": "cbe"}, version=1)
    assert response.status_code == 409
    assert "intussen gewijzigd" in response.text
    assert engine.dossier_view("n1")["advice"] is None


def test_contract_checkboxes_and_english_errors(client, engine, dossier):
    post(client, dossier, "registered", {})
    text = client.post("/ui/dossiers/n1/events/contract_signed?lang=en", data={}).text
    assert "A contract signed since the 2022 reform lists at least one component." in error_of(text, "components")
    response = client.post("/ui/dossiers/n1/events/contract_signed",
                           data={"components": ["mo", "vdab"]}, follow_redirects=False)
    assert response.status_code == 303
    view = engine.dossier_view("n1")
    assert view["components"]["mo"]["listed"] and view["components"]["vdab"]["listed"]
    assert not view["components"]["nt2"]["listed"]


# ----- enforcement, processes, audit ------------------------------------------------------------------------------
def test_enforcement_decision_offers_the_handed_over_types(client, engine, clock):
    engine.import_newcomer(newcomer("late1", obligation_start="2024-01-01"))
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 3))
    sign_in(client, "enforcement_officer", user="officer")
    queue = client.get("/ui/enforcement").text
    assert "late1/1" in queue and "niet tijdig aangemeld" in queue
    form = client.get("/ui/dossiers/late1/events/enforcement_decision?infraction=late_registration").text
    assert '<option value="late_registration" selected>' in form
    response = client.post("/ui/dossiers/late1/events/enforcement_decision",
                           data={"infraction": "late_registration", "decision": "no_fine"}, follow_redirects=False)
    assert response.status_code == 303
    assert engine.dossier_view("late1")["infraction_details"][0]["outcome"] == "not_fined"


def test_the_diagram_xml_is_the_deployed_definition(client, engine):
    from sqlmodel import Session, select

    from engine.models import ProcessDefinition

    sign_in(client, "auditor")
    with Session(engine.db) as session:
        row = session.exec(select(ProcessDefinition).where(ProcessDefinition.name == "trajectory")).first()
    response = client.get(f"/ui/processes/trajectory/{row.version}.bpmn")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert response.text == row.source
    assert client.get("/ui/processes/trajectory/999.bpmn").status_code == 404


def test_an_older_version_differing_only_in_its_drawing_is_drawn_with_todays(client, engine):
    """A version deployed before a BPMNDI-only fix (wider label bounds) is drawn with today's file; one whose
    model differs keeps its own XML."""
    from sqlmodel import Session

    from engine.processes import PROCESS_DIR

    today = (PROCESS_DIR / "trajectory.bpmn").read_text(encoding="utf-8")
    label = '<dc:Bounds x="774" y="555" width="72" height="14" />'
    assert today.count(label) == 1
    older_drawing = today.replace(label, '<dc:Bounds x="782" y="555" width="56" height="14" />')
    other_model = today.replace('name="Aangemeld"', 'name="Aangemeld (oud)"')
    with Session(engine.db) as session:
        [drawn] = engine.processes.deploy(session, {"trajectory": older_drawing.encode()}, at="2024-01-01T00:00:00")
        [modelled] = engine.processes.deploy(session, {"trajectory": other_model.encode()}, at="2024-01-02T00:00:00")
        session.commit()
    sign_in(client, "auditor")
    assert client.get(f"/ui/processes/trajectory/{drawn.version}.bpmn").text == today
    assert client.get(f"/ui/processes/trajectory/{modelled.version}.bpmn").text == other_model


def test_dossier_page_shows_the_facts_deadlines_and_timeline(client, engine, dossier):
    page = client.get("/ui/dossiers/n1").text
    assert "gezinshereniging met derdelander" in page
    assert "nog 74 dagen" in page  # 2024-04-15 seen from 2024-02-01 on the engine clock
    assert 'id="diagram-data"' in page and "/ui/processes/trajectory/" in page
    assert '"waiting": ["register"]' in page
    assert "Ingevoerd uit het register" in page


def test_audit_pages(client, engine):
    engine.import_newcomer(newcomer("a1"))
    sign_in(client, "auditor")
    assert client.get("/ui/audit?dossier=a1", follow_redirects=False).headers["location"] == "/ui/audit/dossiers/a1"
    page = client.get("/ui/audit/dossiers/a1?as_of=2024-02-01&replay=1").text
    assert 'id="as-of-waiting">Aanmelding' in page
    assert "Identiek herafgespeeld" in page
    assert "geldige datum" in client.get("/ui/audit/dossiers/a1?as_of=yesterday").text
    assert client.get("/ui/audit/dossiers/none").status_code == 404
    report = client.get("/ui/audit/reports?year=2024")
    assert report.status_code == 200 and "/ui/audit/reports/2024.png" in report.text
    assert client.get("/ui/audit/reports?year=12").status_code == 422
    png = client.get("/ui/audit/reports/2024.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    csv = client.get("/ui/audit/reports/2024.csv?as_of=2024-02-01")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")


def test_language_from_query_then_cookie(client, dossier):
    assert "<h1>Werklijst</h1>" in client.get("/ui/worklist").text
    english = client.get("/ui/worklist?lang=en")
    assert '<html lang="en">' in english.text and "<h1>Worklist</h1>" in english.text
    assert "inburgering_lang=en" in english.headers["set-cookie"]
    assert "<h1>Worklist</h1>" in client.get("/ui/worklist").text
    assert "<h1>Werklijst</h1>" in client.get("/ui/worklist?lang=nl").text
    assert "<h1>Werklijst</h1>" in client.get("/ui/worklist?lang=xx").text


def test_pages_send_protective_headers(client, dossier):
    response = client.get("/ui/dossiers/n1")
    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert client.get("/ui/static/vendor/bpmn-js/bpmn-viewer.production.min.js").status_code == 200


def test_without_the_demo_there_is_no_development_sign_in(engine, settings, clock):
    from dataclasses import replace

    from api.app import create_app

    locked = replace(settings, demo=False)  # what `serve` without --demo runs
    with FormClient(create_app(engine, locked), base_url="http://testserver") as client:
        page = client.get("/ui/login").text
        assert 'id="f-role"' not in page and 'id="f-token"' in page
        refused = client.post("/ui/login", data={"role": "admin", "user": "mallory"})
        assert refused.status_code == 422 and "ontwikkelaarsaanmelding staat uit" in refused.text
        token = issue_token(locked, role="admin", user="root", now=clock.now())
        assert client.post("/ui/login", data={"token": token}, follow_redirects=False).status_code == 303


RAW_KEY = re.compile(r">[^<]*\b(?:value|event|field|kind|dossier|error|form|audit|report|reportcol|timeline|days|"
                     r"common|nav|login|worklist|enforcement|lang|app)\.[a-z_]+[^<]*<")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_rich_pages_show_no_untranslated_keys(client, engine, clock, lang):
    from engine.service import Actor

    caseworker = Actor("cw", "caseworker", "atlas")
    engine.import_newcomer(newcomer("r1", evidence=["fee_exempt"], obligation_start="2024-01-01"))
    engine.import_newcomer(newcomer("x1", nis_code="99999"))  # excluded: no process at all
    engine.handle("r1", "suspended", {"from": "2024-02-01", "to": "2024-02-10"}, actor=caseworker)
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 13))
    at(clock, date(2024, 5, 14))
    engine.handle("r1", "registered", {}, actor=caseworker)
    engine.handle("r1", "intake", {"advice": "cbe_nt2"}, actor=caseworker)
    engine.handle("r1", "contract_signed", {"components": ["mo", "nt2", "vdab", "pnt"]}, actor=caseworker)
    engine.handle("r1", "vdab_exempt", {"reason": "working"}, actor=caseworker)
    engine.handle("r1", "test_result", {"component": "mo", "core_percent": 70, "total_percent": 80}, actor=caseworker)
    engine.handle("r1", "attendance", {"component": "nt2", "percent": 50}, actor=caseworker)
    sign_in(client, "admin", user="root")
    client.get(f"/ui/worklist?lang={lang}")
    pages = ["/ui/worklist", "/ui/enforcement", "/ui/dossiers/r1", "/ui/dossiers/x1", "/ui/audit",
             "/ui/audit/dossiers/r1?as_of=2024-05-14&replay=1", "/ui/audit/reports?year=2024",
             "/ui/dossiers/r1/events/test_result", "/ui/dossiers/r1/events/enforcement_decision", "/ui/nope"]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert not RAW_KEY.findall(response.text), (path, RAW_KEY.findall(response.text)[:3])
    excluded = client.get("/ui/dossiers/x1").text
    assert ("Geen lopend proces" if lang == "nl" else "No process runs") in excluded
