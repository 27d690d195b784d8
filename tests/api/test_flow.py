"""Happy paths through the API, optimistic locking, enforcement, sweep, OpenAPI."""
from __future__ import annotations

from datetime import date, time

from engine.clock import brussels_instant
from engine.commands import EVENT_SCHEMAS

from .conftest import newcomer_data


def post_event(client, headers, dossier_id, event, body=None, **kwargs):
    return client.post(f"/dossiers/{dossier_id}/events/{event}", json=body or {}, headers=headers, **kwargs)


def test_happy_path(client, auth):
    caseworker = auth("caseworker", "atlas")
    response = client.post("/newcomers", json=newcomer_data("n1"), headers=caseworker)
    assert response.status_code == 201, response.text
    assert response.json() == {"dossier_id": "n1", "target_group": "obligated", "reasons": [],
                               "instance_started": True}
    versions = []
    for event, body in [("registered", {}), ("intake", {"advice": "cvo_standard"}),
                        ("contract_signed", {"components": ["mo", "nt2"]})]:
        response = post_event(client, caseworker, "n1", event, body)
        assert response.status_code == 200, response.text
        assert response.json()["dossier_id"] == "n1"
        versions.append(response.json()["version"])
    assert versions == sorted(versions) and len(set(versions)) == 3

    response = client.get("/dossiers/n1", headers=caseworker)
    assert response.status_code == 200
    view = response.json()
    assert view["version"] == versions[-1]
    assert response.headers["ETag"] == f'"{versions[-1]}"'
    assert view["agency"] == "atlas" and view["target_group"] == "obligated"
    assert view["registered_on"] == "2024-02-01"
    assert view["advice"] == "cvo_standard"
    assert view["contract_signed_on"] == "2024-02-01"
    assert view["components"]["mo"]["listed"] and view["components"]["nt2"]["listed"]
    assert not view["components"]["vdab"]["listed"]
    assert view["fees_eur"] == 270
    assert next(d for d in view["deadlines"] if d["name"] == "registration")["status"] == "met"

    history = client.get("/dossiers/n1/history", headers=auth("auditor")).json()
    assert history["dossier_id"] == "n1" and history["entries"]
    page = client.get("/dossiers/n1/history?offset=1&limit=2", headers=auth("auditor")).json()
    assert page["entries"] == history["entries"][1:3]

    worklist = client.get("/worklist", headers=caseworker).json()
    assert [item["dossier_id"] for item in worklist["items"]] == ["n1"]
    assert worklist["items"][0]["waiting_on"] == view["waiting_on"] == ["mo", "nt2"]
    assert client.get("/worklist?step=mo&target_group=obligated", headers=caseworker).json()["total"] == 1
    assert client.get("/worklist?step=intake", headers=caseworker).json()["total"] == 0
    assert client.get("/worklist?overdue=true", headers=caseworker).json()["total"] == 0


def test_stale_if_match_is_409_and_writes_nothing(client, auth, newcomer):
    newcomer("n1")
    headers = auth("caseworker", "atlas")
    version = client.get("/dossiers/n1", headers=headers).json()["version"]
    response = post_event(client, {**headers, "If-Match": str(version + 1)}, "n1", "registered")
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "Conflict"
    assert client.get("/dossiers/n1", headers=headers).json()["version"] == version

    ok = post_event(client, {**headers, "If-Match": str(version)}, "n1", "registered")
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == version + 1
    # the version just used is now stale
    stale = post_event(client, {**headers, "If-Match": str(version)}, "n1", "intake", {"advice": "cbe"})
    assert stale.status_code == 409
    # the ETag of the view, quotes and all, is a valid If-Match
    etag = client.get("/dossiers/n1", headers=headers).headers["ETag"]
    assert post_event(client, {**headers, "If-Match": etag}, "n1", "intake", {"advice": "cbe"}).status_code == 200


def sweep_at(client, clock, auth, day: date):
    clock.set(brussels_instant(day, time(2, 0)))
    response = client.post("/sweep", headers=auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def test_enforcement_decision_and_fine_range(client, auth, clock, newcomer):
    newcomer("n1", obligation_start="2024-01-01")  # registration last timely day 2024-04-01
    report = sweep_at(client, clock, auth, date(2024, 4, 2))
    assert report["timers"] >= 1 and report["errors"] == []
    view = client.get("/dossiers/n1", headers=auth("admin")).json()
    assert [(i["type"], i["outcome"]) for i in view["infractions"]] == [("late_registration", "open")]

    officer = auth("enforcement_officer")
    early = post_event(client, officer, "n1", "enforcement_decision",
                       {"infraction": "late_registration", "decision": "fine", "fine_eur": 100})
    assert early.status_code == 409, early.text  # not handed over yet

    sweep_at(client, clock, auth, date(2024, 5, 3))  # regularisation period (30 days from 04-02) is over
    officer = auth("enforcement_officer")  # tokens expire on the engine clock: issue a fresh one
    view = client.get("/dossiers/n1", headers=officer).json()
    assert view["infractions"][0]["outcome"] == "handed_over"
    queue = client.get("/enforcement/queue", headers=officer).json()
    assert [(i["dossier_id"], i["type"]) for i in queue["items"]] == [("n1", "late_registration")]

    clock.set(brussels_instant(date(2024, 5, 6), time(9, 0)))
    officer = auth("enforcement_officer")
    for amount in (10, 5000.01, 100000):
        response = post_event(client, officer, "n1", "enforcement_decision",
                              {"infraction": "late_registration", "decision": "fine", "fine_eur": amount})
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["path"] == "$.fine_eur"
        assert "50" in body["message"] and "5000" in body["message"], body
    missing = post_event(client, officer, "n1", "enforcement_decision",
                         {"infraction": "late_registration", "decision": "fine"})
    assert missing.status_code == 422 and missing.json()["path"] == "$.fine_eur"
    assert post_event(client, auth("caseworker", "atlas"), "n1", "enforcement_decision",
                      {"infraction": "late_registration", "decision": "no_fine"}).status_code == 403
    none = post_event(client, officer, "n1", "enforcement_decision",
                      {"infraction": "late_vdab_registration", "decision": "no_fine"})
    assert none.status_code == 409, none.text

    ok = post_event(client, officer, "n1", "enforcement_decision",
                    {"infraction": "late_registration", "decision": "fine", "fine_eur": 250})
    assert ok.status_code == 200, ok.text
    view = client.get("/dossiers/n1", headers=officer).json()
    assert view["infractions"][0]["outcome"] == "fined"
    assert view["infractions"][0]["fine_eur"] == 250
    assert client.get("/enforcement/queue", headers=officer).json()["items"] == []


def test_sweep_report_shape(client, auth):
    report = client.post("/sweep", headers=auth("admin")).json()
    assert set(report) == {"at", "dossiers", "timers", "errors", "backed_off", "held", "seconds"}
    assert report["dossiers"] == 0 and report["errors"] == []


def test_excluded_newcomer(client, auth):
    response = client.post("/newcomers", json=newcomer_data("b1", nis_code="99999"), headers=auth("admin"))
    assert response.status_code == 201, response.text
    assert response.json()["target_group"] == "excluded"
    refused = post_event(client, auth("admin"), "b1", "registered")
    assert refused.status_code == 409, refused.text


def test_openapi_publishes_one_operation_per_event(client):
    from api.routes.common import with_date_range

    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "inburgering"
    operation_ids = set()
    for event, schema in EVENT_SCHEMAS.items():
        operation = spec["paths"][f"/dossiers/{{dossier_id}}/events/{event}"]["post"]
        operation_ids.add(operation["operationId"])
        # the engine's schema, with the supported date range (which the engine enforces) as a pattern
        assert operation["requestBody"]["content"]["application/json"]["schema"] == with_date_range(schema)
        assert operation["summary"] == schema["description"]
    assert len(operation_ids) == len(EVENT_SCHEMAS)
    newcomer_schema = spec["paths"]["/newcomers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "insz" in newcomer_schema["properties"]
    assert "$ref" not in str(newcomer_schema) and "$defs" not in newcomer_schema
    assert "/dossiers/{dossier_id}/events/{event_type}" not in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_unexpected_errors_reveal_nothing(engine, settings, auth, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_app

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail 90050512345")

    monkeypatch.setattr(engine, "worklist", broken)
    with TestClient(create_app(engine, settings), raise_server_exceptions=False) as client:
        response = client.get("/worklist", headers=auth("admin"))
    assert response.status_code == 500
    assert response.json()["error"] == "InternalError"
    assert "secret" not in response.text and "90050512345" not in response.text
