"""Incidents (engine/incidents.py): a poison dossier among healthy ones, backoff, retry, resolve.

The poison is real bad stored data: one dossier's instance state replaced by bytes that do
not decompress. The healthy dossiers fire on time in the same sweep; the poison one becomes
an incident, is left alone until its backoff has passed, is retried by later sweeps, and
fires once the data is fixed and an operator retries it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import issue_token
from engine import handlers, incidents, journal
from engine.errors import Conflict, InvalidInput, NotFound
from engine.service import Actor
from engine.settings import Settings
from timers.sweep import retry_incident, sweep

from .helpers import cure, first_due, kinds, obligated, poison, sweep_instant_for

HEALTHY = ["H1", "H2", "H3", "H4"]
POISON = "P1"


def import_all(engine):
    for dossier_id in HEALTHY[:2] + [POISON] + HEALTHY[2:]:
        engine.import_newcomer(obligated(dossier_id))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def fired_at(engine, dossier_id: str) -> list[str]:
    return [time for kind, time in kinds(engine, dossier_id) if kind == "deadline_fired"]


def test_backoff_doubles_and_is_capped_at_a_week():
    assert [incidents.backoff(n) for n in (1, 2, 3)] == [timedelta(hours=2), timedelta(hours=4), timedelta(hours=8)]
    assert incidents.backoff(7) == timedelta(hours=128)
    assert incidents.backoff(8) == incidents.backoff(30) == timedelta(days=7)


def test_poison_dossier_becomes_an_incident_and_fires_after_the_fix(engine, clock):
    import_all(engine)
    due = first_due(engine)
    instant = sweep_instant_for(due)
    original = poison(engine, POISON)

    clock.set(instant)
    report = sweep(engine, instant)
    # the healthy dossiers fired on time, in the same sweep
    assert report.dossiers == len(HEALTHY) and report.timers == len(HEALTHY)
    for dossier_id in HEALTHY:
        assert fired_at(engine, dossier_id) == [instant.isoformat()], dossier_id
        assert [i["type"] for i in engine.outcome(dossier_id)["infractions"]] == ["late_registration"]
    # the poison one is an incident, named in the report
    assert [e["dossier"] for e in report.errors] == [POISON]
    listed = incidents.listing(engine)
    assert listed["total"] == 1
    incident = incidents.get(engine, report.errors[0]["incident"])
    assert (incident.dossier_id, incident.source, incident.operation, incident.status, incident.attempts) == \
        (POISON, "sweep", "fire_due_timers", "open", 1)
    assert incident.error_class == "zlib.error"
    assert incident.first_seen == incident.last_seen == instant.isoformat()
    assert at(incident.next_attempt_at) == instant + timedelta(hours=2)
    assert "Traceback (most recent call last)" in incident.trace and "zlib" in incident.trace
    assert "1990-01-01" not in incident.trace + incident.message  # the birth date is never kept
    assert fired_at(engine, POISON) == []

    # within the backoff the sweep leaves it alone
    soon = instant + timedelta(hours=1)
    again = sweep(engine, soon)
    assert (again.backed_off, again.errors, again.timers) == (1, [], 0)
    assert incidents.get(engine, incident.id).attempts == 1

    # the next daily sweep retries it (still broken): one more attempt, a longer backoff
    next_day = instant + timedelta(days=1)
    third = sweep(engine, next_day)
    assert [e["incident"] for e in third.errors] == [incident.id]
    bumped = incidents.get(engine, incident.id)
    assert (bumped.attempts, bumped.first_seen, bumped.last_seen) == (2, instant.isoformat(), next_day.isoformat())
    assert at(bumped.next_attempt_at) == next_day + timedelta(hours=4)
    assert incidents.listing(engine)["total"] == 1  # one incident per dossier and step, not one per attempt

    # an operator fixes the data and retries: it fires, and the incident is resolved naming who did it
    cure(engine, POISON, original)
    clock.set(next_day + timedelta(hours=6))
    result = retry_incident(engine, incident.id, "admin:ops-1")
    assert result["ok"] and result["fired"] == 1
    resolved = incidents.get(engine, incident.id)
    assert (resolved.status, resolved.resolved_by) == ("resolved", "admin:ops-1")
    assert "retried by admin:ops-1" in resolved.resolution
    assert fired_at(engine, POISON) == [(next_day + timedelta(hours=6)).isoformat()]
    assert [i["type"] for i in engine.outcome(POISON)["infractions"]] == ["late_registration"]
    assert incidents.listing(engine)["total"] == 0
    with engine.session() as session:
        assert [str(b) for _, b in journal.verify_all(session) if b is not None] == []
    with pytest.raises(Conflict):
        retry_incident(engine, incident.id, "admin:ops-1")


def test_a_later_sweep_that_fires_the_dossier_resolves_its_incident(engine, clock):
    import_all(engine)
    instant = sweep_instant_for(first_due(engine))
    original = poison(engine, POISON)
    first = sweep(engine, instant)
    incident_id = first.errors[0]["incident"]
    cure(engine, POISON, original)
    later = instant + timedelta(days=1)
    report = sweep(engine, later)
    assert report.errors == [] and report.timers == 1
    resolved = incidents.get(engine, incident_id)
    assert resolved.status == "resolved" and resolved.resolved_by == "system:sweep"


def test_resolve_needs_a_reason_and_happens_once(engine, clock):
    import_all(engine)
    instant = sweep_instant_for(first_due(engine))
    poison(engine, POISON)
    incident_id = sweep(engine, instant).errors[0]["incident"]
    with pytest.raises(InvalidInput):
        incidents.resolve(engine, incident_id, "  ", "admin:x", instant)
    with pytest.raises(InvalidInput):
        incidents.resolve(engine, incident_id, "fixed\x00", "admin:x", instant)
    with pytest.raises(InvalidInput):
        incidents.listing(engine, dossier_id="P\x001")
    done = incidents.resolve(engine, incident_id, "dossier withdrawn by the register", "admin:x", instant)
    assert (done.status, done.resolution, done.resolved_by) == ("resolved", "dossier withdrawn by the register",
                                                                "admin:x")
    with pytest.raises(Conflict):
        incidents.resolve(engine, incident_id, "again", "admin:x", instant)
    with pytest.raises(NotFound):
        incidents.resolve(engine, 999_999, "no such", "admin:x", instant)
    # a resolved sweep incident no longer holds the dossier back: the next sweep tries it again
    assert sweep(engine, instant + timedelta(minutes=5)).errors[0]["dossier"] == POISON
    assert incidents.listing(engine, status=None)["total"] == 2


@pytest.fixture
def app_client(engine):
    settings = Settings(database_url=str(engine.db.url), jwt_secret="incident-test-secret-of-32-bytes!!",
                        demo_data=False)
    with TestClient(create_app(engine, settings), raise_server_exceptions=False) as client:
        def auth(role: str, **kw) -> dict:
            token = issue_token(settings, role=role, user=f"{role}-1", now=engine.clock.now(), **kw)
            return {"Authorization": f"Bearer {token}"}
        yield client, auth


def test_unexpected_exception_in_a_command_is_an_incident_and_a_500_naming_it(engine, app_client, monkeypatch):
    app_client, auth = app_client
    engine.import_newcomer(obligated("C1"))

    def broken(ctx, payload, actor, on):
        raise KeyError("components")  # a bug in a handler

    monkeypatch.setitem(handlers.HANDLERS, "registered", broken)
    caseworker = auth("caseworker", agency="agii")
    response = app_client.post("/dossiers/C1/events/registered", json={}, headers=caseworker)
    assert response.status_code == 500, response.text
    body = response.json()
    assert body["error"] == "InternalError" and isinstance(body["incident"], int)
    assert f"incident {body['incident']}" in body["message"] and "KeyError" in body["message"]
    incident = incidents.get(engine, body["incident"])
    assert (incident.dossier_id, incident.source, incident.operation, incident.error_class) == \
        ("C1", "command", "registered", "KeyError")
    assert incident.next_attempt_at is None  # commands are retried by their caller, not by the sweep
    # the same failure again adds an attempt to the same incident
    again = app_client.post("/dossiers/C1/events/registered", json={}, headers=caseworker)
    assert again.json()["incident"] == incident.id and incidents.get(engine, incident.id).attempts == 2
    # an engine error (a refused or invalid event) is the caller's problem, never an incident
    bad = app_client.post("/dossiers/C1/events/registered", json={"no_such_field": 1}, headers=caseworker)
    assert bad.status_code == 422
    assert incidents.count_open(engine) == 1

    admin = auth("admin")
    listed = app_client.get("/admin/incidents", headers=admin).json()
    assert [i["id"] for i in listed["items"]] == [incident.id] and "trace" not in listed["items"][0]
    shown = app_client.get(f"/admin/incidents/{incident.id}", headers=admin).json()
    assert "KeyError" in shown["trace"]
    retry = app_client.post(f"/admin/incidents/{incident.id}/retry", headers=admin)
    assert retry.status_code == 409 and "sending that event again" in retry.json()["message"]
    assert app_client.post(f"/admin/incidents/{incident.id}/resolve", json={"reason": ""},
                           headers=admin).status_code == 422
    done = app_client.post(f"/admin/incidents/{incident.id}/resolve", json={"reason": "handler fixed in 0.2"},
                           headers=admin)
    assert done.status_code == 200 and done.json()["resolved_by"] == "admin:admin-1"
    assert app_client.get("/admin/incidents?status=resolved", headers=admin).json()["total"] == 1
    assert app_client.get("/admin/incidents/424242", headers=admin).status_code == 404
    assert app_client.get("/admin/incidents?status=closed", headers=admin).status_code == 422
    assert app_client.get("/admin/incidents", headers=caseworker).status_code == 403
    assert app_client.get("/admin/incidents").status_code == 401


def test_cli_lists_shows_retries_and_resolves(engine, clock, database_url, monkeypatch):
    from api.cli import app

    import_all(engine)
    instant = sweep_instant_for(first_due(engine))
    original = poison(engine, POISON)
    incident_id = sweep(engine, instant).errors[0]["incident"]
    runner = CliRunner()
    monkeypatch.setenv("INBURGERING_DATABASE_URL", database_url)
    listed = runner.invoke(app, ["incidents", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"#{incident_id}" in listed.output and f"dossier {POISON}" in listed.output
    shown = runner.invoke(app, ["incidents", "show", str(incident_id)])
    assert shown.exit_code == 0 and '"error_class": "zlib.error"' in shown.output
    failed = runner.invoke(app, ["incidents", "retry", str(incident_id), "--user", "ops-2"])
    assert failed.exit_code == 1  # still poisoned: one more attempt
    assert incidents.get(engine, incident_id).attempts == 2
    cure(engine, POISON, original)
    ok = runner.invoke(app, ["incidents", "retry", str(incident_id), "--user", "ops-2"])
    assert ok.exit_code == 0, ok.output
    assert incidents.get(engine, incident_id).resolved_by == "admin:ops-2"
    assert runner.invoke(app, ["incidents", "resolve", str(incident_id), "--reason", "x"]).exit_code == 1
    assert runner.invoke(app, ["incidents", "show", "9999"]).exit_code == 1
    assert runner.invoke(app, ["incidents", "list", "--status", "bogus"]).exit_code == 2


def test_the_name_and_birth_date_are_blanked_from_an_incident(engine):
    """A name from the register extract is personal data like the birth date: an exception text that
    carries either (a failing rule quoting the record, say) keeps neither in the incident."""
    engine.import_newcomer({"id": "NAMED", "name": "Ayşe Çelik", "birth_date": "1990-01-01",
                            "nationalities": ["SY"], "residence": "recognised_refugee", "nis_code": "31005",
                            "obligation_start": "2024-01-31"})
    with engine.reading() as connection:
        personal = incidents._personal_values(connection, "NAMED")
    _, message, trace = incidents.describe(ValueError("no rule for Ayşe Çelik, born 1990-01-01"), personal)
    assert "Çelik" not in message + trace and "1990-01-01" not in message + trace
    assert "no rule for" in message
