"""Issue 14's pages through the TestClient: statuses, roles, CSRF, nothing changed on refusal."""
from __future__ import annotations

import json

from engine import access_log, desk
from engine.service import Actor

from .conftest import newcomer, sign_in


def test_claim_and_release_need_the_csrf_token(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "caseworker", "atlas", user="cw-1")
    refused = client.post("/ui/dossiers/n1/claim", data={}, csrf=False, follow_redirects=False)
    assert refused.status_code == 403
    assert desk.claims_of(engine, ["n1"]) == {}
    ok = client.post("/ui/dossiers/n1/claim", data={}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/ui/dossiers/n1?claim=taken"
    assert desk.claims_of(engine, ["n1"]) == {"n1": "cw-1"}


def test_claim_conflicts_and_unknown_dossiers(client, engine):
    engine.import_newcomer(newcomer("n1"))
    engine.import_newcomer(newcomer("g1", nis_code="44021"))
    desk.claim(engine, "n1", Actor("cw-other", "caseworker", "atlas"))
    sign_in(client, "caseworker", "atlas", user="cw-1")
    taken = client.post("/ui/dossiers/n1/claim", data={})
    assert taken.status_code == 409 and "cw-other" in taken.text
    assert client.post("/ui/dossiers/n1/release", data={}).status_code == 409
    assert client.post("/ui/dossiers/g1/claim", data={}).status_code == 404  # another agency's
    assert client.post("/ui/dossiers/zz/claim", data={}).status_code == 404
    assert desk.claims_of(engine, ["n1", "g1"]) == {"n1": "cw-other"}
    # an open redirect through `next` is not followed
    desk.release(engine, "n1", Actor("root", "admin"))
    response = client.post("/ui/dossiers/n1/claim", data={"next": "https://evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/ui/dossiers/n1?claim=taken"


def test_admin_assigns_only_with_a_user(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "admin", user="lead")
    assert client.post("/ui/dossiers/n1/claim", data={"user": ""}).status_code == 422
    assert client.post("/ui/dossiers/n1/claim", data={"user": "a\u0085b"}).status_code == 422
    assert desk.claims_of(engine, ["n1"]) == {}
    assert client.post("/ui/dossiers/n1/claim", data={"user": "cw-9"}, follow_redirects=False).status_code == 303
    assert desk.claims_of(engine, ["n1"]) == {"n1": "cw-9"}


def test_officer_and_auditor_may_not_claim(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "enforcement_officer", user="o1")
    assert client.post("/ui/dossiers/n1/claim", data={}).status_code == 403
    assert desk.claims_of(engine, ["n1"]) == {}


def test_worklist_and_queue_bad_filters_are_422_and_list_nothing(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "admin", user="root")
    bad = client.get("/ui/worklist", params={"due_from": "2024-02-30"})
    assert bad.status_code == 422 and 'id="err-due_from"' in bad.text and "n1" not in bad.text
    assert client.get("/ui/worklist", params={"due_from": "2024-05-01", "due_to": "2024-04-01"}).status_code == 422
    assert client.get("/ui/worklist", params={"sort": "nonsense"}).status_code == 200  # unknown sort: the default
    bad = client.get("/ui/enforcement", params={"handed_over_to": "gisteren"})
    assert bad.status_code == 422 and 'id="err-handed_over_to"' in bad.text


def test_search_page(client, engine):
    engine.import_newcomer(newcomer("AB-1"))
    engine.import_newcomer(newcomer("AB-2"))
    sign_in(client, "enforcement_officer", user="o1")
    many = client.get("/ui/search", params={"q": "ab"})
    assert many.status_code == 200 and "AB-1" in many.text and "AB-2" in many.text
    one = client.get("/ui/search", params={"q": "ab-2"}, follow_redirects=False)
    assert one.status_code == 303 and one.headers["location"] == "/ui/dossiers/AB-2"
    assert client.get("/ui/search", params={"q": " "}).status_code == 422
    assert client.get("/ui/search", params={"q": "x\u0007"}).status_code == 422
    assert client.get("/ui/search", params={"q": "zz"}).status_code == 200


def _upload(client, content: bytes):
    return client.post("/ui/import", files={"extract": ("extract.jsonl", content, "application/x-ndjson")})


def test_import_upload_all_or_nothing(client, engine):
    sign_in(client, "admin", user="root")
    bad = _upload(client, (json.dumps(newcomer("u1")) + "\n{\n").encode())
    assert bad.status_code == 422 and 'id="import-problems"' in bad.text
    assert engine.dossier_ids() == []
    assert _upload(client, b"\xff\xfe\x00").status_code == 422
    assert client.post("/ui/import", data={}).status_code == 422  # no file
    good = _upload(client, (json.dumps(newcomer("u1")) + "\n").encode())
    assert good.status_code == 200 and engine.dossier_ids() == ["u1"]


def test_import_upload_roles_and_csrf(client, engine):
    sign_in(client, "auditor", user="a1")
    assert client.get("/ui/import").status_code == 403
    sign_in(client, "register_import", user="batch")
    assert client.get("/ui/import").status_code == 200
    refused = client.post("/ui/import", files={"extract": ("x.jsonl", json.dumps(newcomer("u1")).encode())},
                          csrf=False)
    assert refused.status_code == 403 and engine.dossier_ids() == []


def test_caseworker_upload_of_another_agency_is_refused_per_line(client, engine):
    sign_in(client, "caseworker", "atlas", user="cw-1")
    response = _upload(client, "\n".join(json.dumps(n) for n in (newcomer("u1"), newcomer("u2", nis_code="44021")))
                       .encode())
    assert response.status_code == 422 and engine.dossier_ids() == []


def test_journal_download_is_for_auditors_and_logged(client, engine):
    engine.import_newcomer(newcomer("j1"))
    sign_in(client, "caseworker", "atlas", user="cw-1")
    assert client.get("/ui/audit/dossiers/j1/journal.csv").status_code == 403
    sign_in(client, "auditor", user="aud")
    assert client.get("/ui/audit/dossiers/j1/journal.xml").status_code == 404
    assert client.get("/ui/audit/dossiers/zz/journal.csv").status_code == 404
    response = client.get("/ui/audit/dossiers/j1/journal.csv")
    assert response.status_code == 200 and response.text.startswith("seq,business_time")
    assert response.headers["x-content-type-options"] == "nosniff"
    with engine.reading() as connection:
        rows = access_log.listing(connection, dossier_id="j1", user="aud")["items"]
    assert [r["route"] for r in rows] == ["GET /ui/audit/dossiers/{dossier_id}/journal"]


def test_a_field_the_choice_excludes_is_named_at_the_field():
    """``fine_eur`` with another decision than ``fine`` (the schema's ``else: not: required``): at the field,
    unless the field's own value is already wrong."""
    from api.web import forms
    from api.web.i18n import Translator
    from api.web.routes import BY_ID, _decision_schema

    tr, schema = Translator("nl"), _decision_schema(BY_ID)
    fields = forms.fields_of(schema, {"infraction_id": ["n1/1"]})
    sub = forms.parse(fields, {"infraction_id": ["n1/1"], "decision": ["no_fine"], "fine_eur": ["100"],
                               "motivation": ["x"]}, tr)
    forms.validate(schema, fields, sub, tr)
    assert sub.errors == {"fine_eur": "Laat dit veld leeg bij deze keuze."} and not sub.form_errors
    sub = forms.parse(fields, {"infraction_id": ["n1/1"], "decision": ["no_fine"], "fine_eur": ["-1"]}, tr)
    forms.validate(schema, fields, sub, tr)
    assert sub.errors["fine_eur"].startswith("Vul een waarde in") and sub.errors["motivation"] == "Dit veld is verplicht."
    assert [f.kind for f in fields if f.name == "motivation"] == ["textarea"]
