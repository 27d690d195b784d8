"""``/metrics`` (api/metrics.py), request ids and JSON logs (api/logs.py), ``inburgering sweeper``."""
from __future__ import annotations

import json
import logging
import logging.config
import sys
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from api import logs
from api.app import create_app
from api.auth import issue_token
from api.cli import app as cli
from engine.settings import Settings
from timers.scheduler import sweeper_scheduler
from timers.sweep import sweep

from .helpers import first_due, obligated, poison, sweep_instant_for

SECRET = "metrics-test-secret-of-32-bytes-long"


@pytest.fixture
def api(engine, database_url, monkeypatch):
    monkeypatch.delenv("INBURGERING_METRICS_LOOPBACK", raising=False)
    settings = Settings(database_url=database_url, jwt_secret=SECRET, demo_data=False)
    app = create_app(engine, settings)

    def token(role: str, **kw) -> dict:
        return {"Authorization": "Bearer " + issue_token(settings, role=role, user=f"{role}-1",
                                                         now=engine.clock.now(), **kw)}
    with TestClient(app) as client:
        yield client, token, app


def scrape(client, headers) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_need_an_admin_token(api):
    client, token, _ = api
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=token("caseworker", agency="agii")).status_code == 403
    assert client.get("/metrics", headers=token("admin")).status_code == 200


def test_loopback_scrape_without_a_token_only_when_allowed(engine, database_url, monkeypatch):
    settings = Settings(database_url=database_url, jwt_secret=SECRET, demo_data=False)
    monkeypatch.setenv("INBURGERING_METRICS_LOOPBACK", "1")
    allowed = create_app(engine, settings)
    with TestClient(allowed, client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 200
    with TestClient(allowed, client=("10.1.2.3", 40000)) as remote:
        assert remote.get("/metrics").status_code == 401
    monkeypatch.setenv("INBURGERING_METRICS_LOOPBACK", "0")
    with TestClient(create_app(engine, settings), client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 401


def test_a_cached_copy_outdated_by_another_process_is_counted(api, engine, clock, database_url):
    """Another process (a second engine on the store) saves a dossier this one has cached: the next
    command here is decided again on the store's rows, and the scrape counts it as stale."""
    from engine.service import Actor, bootstrap

    client, token, _ = api
    admin = token("admin")
    assert client.post("/newcomers", json=obligated("S1"), headers=admin).status_code == 201
    assert client.post("/dossiers/S1/events/registered", json={}, headers=admin).status_code == 200
    other = bootstrap(Settings(database_url=database_url, demo_data=False), clock)
    try:
        other.handle("S1", "intake", {"advice": "cbe"}, actor=Actor("admin-2", "admin"))
    finally:
        other.db.dispose()
    stale_before = sample("inburgering_dossier_cache_stale_total")
    response = client.post("/dossiers/S1/events/contract_signed", json={"components": ["mo"]}, headers=admin)
    assert response.status_code == 200, response.text
    assert scrape(client, admin)[("inburgering_dossier_cache_stale_total", ())] == stale_before + 1


def test_requests_steps_sweeps_backlog_incidents_and_cache(api, engine, clock):
    client, token, _ = api
    admin = token("admin")
    created = ("inburgering_http_requests_total", dict(method="POST", route="/newcomers", status="201"))
    before_created = sample(created[0], **created[1])
    step_count = ("inburgering_step_duration_seconds_count", dict(event="registered"))
    before_steps = sample(*step_count[:1], **step_count[1])
    for dossier_id in ("M1", "M2", "M3"):
        assert client.post("/newcomers", json=obligated(dossier_id), headers=admin).status_code == 201
    hits_before = sample("inburgering_dossier_cache_hits_total")
    assert client.post("/dossiers/M1/events/registered", json={}, headers=admin).status_code == 200
    assert client.post("/dossiers/M1/events/intake", json={"advice": "cbe"}, headers=admin).status_code == 200
    assert client.get("/dossiers/M1", headers=admin).status_code == 200
    assert client.get("/no/such/route", headers=admin).status_code == 404

    seen = scrape(client, admin)
    assert seen[("inburgering_http_requests_total", tuple(sorted(created[1].items())))] == before_created + 3
    assert seen[("inburgering_step_duration_seconds_count", (("event", "registered"),))] == before_steps + 1
    assert ("inburgering_http_requests_total",
            (("method", "GET"), ("route", "/dossiers/{dossier_id}"), ("status", "200"))) in seen
    assert ("inburgering_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404"))) in seen
    assert not any("M1" in str(labels) for _, labels in seen)  # route templates, never ids
    assert seen[("inburgering_dossier_cache_hits_total", ())] >= hits_before + 1
    assert seen[("inburgering_due_backlog", ())] == 0
    assert seen[("inburgering_incidents_open", ())] == 0

    # the deadlines pass: M2 and M3 (not registered) are due; one of them is poisoned
    instant = sweep_instant_for(first_due(engine))
    clock.set(instant)
    admin = token("admin")  # a fresh token on the moved clock
    due_rows = scrape(client, admin)[("inburgering_due_backlog", ())]
    assert due_rows >= 2
    poison(engine, "M3")
    fired_before = sample("inburgering_timers_fired_total")
    sweeps_before = sample("inburgering_sweep_duration_seconds_count")
    report = sweep(engine, instant)
    after = scrape(client, admin)
    assert after[("inburgering_timers_fired_total", ())] == fired_before + report.timers
    assert after[("inburgering_sweep_duration_seconds_count", ())] == sweeps_before + 1
    assert after[("inburgering_incidents_open", ())] == 1
    assert after[("inburgering_due_backlog", ())] < due_rows


def test_request_id_is_echoed_or_made(api):
    client, token, _ = api
    mine = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["X-Request-ID"] == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "not valid because of spaces"})
    assert len(made.headers["X-Request-ID"]) == 32 and made.headers["X-Request-ID"] != "not valid because of spaces"
    assert client.get("/health").headers["X-Request-ID"] != made.headers["X-Request-ID"]


def test_json_log_lines_carry_the_request_id(capsys):
    formatter = logs.JsonFormatter()
    token = logs.REQUEST_ID.set("req-7")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.getLogger("inburgering.test").makeRecord(
                "inburgering.test", logging.ERROR, __file__, 1, "step failed on %s", ("D1",), sys.exc_info())
        line = json.loads(formatter.format(record))
    finally:
        logs.REQUEST_ID.reset(token)
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == \
        ("ERROR", "inburgering.test", "step failed on D1", "req-7")
    assert "ValueError: boom" in line["exception"]
    config = logs.uvicorn_log_config("json")
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
             for n in names}
    try:
        logging.config.dictConfig(config)  # a valid logging configuration
        assert isinstance(logging.getLogger("uvicorn.access").handlers[0].formatter, logs.JsonFormatter)
    finally:
        for n, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(n)
            logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate
    assert "formatters" in logs.uvicorn_log_config("text")
    with pytest.raises(ValueError):
        logs.uvicorn_log_config("xml")


def test_sweeper_once_and_its_schedule(engine, clock, database_url, monkeypatch):
    for dossier_id in ("S1", "S2"):
        engine.import_newcomer(obligated(dossier_id))
    clock.set(sweep_instant_for(first_due(engine)))
    monkeypatch.setenv("INBURGERING_DATABASE_URL", database_url)
    monkeypatch.setattr("api.cli.SystemClock", lambda: engine.clock)
    result = CliRunner().invoke(cli, ["sweeper", "--once"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["dossiers"], report["timers"], report["errors"]) == (2, 2, [])
    again = CliRunner().invoke(cli, ["sweeper", "--once"])
    assert json.loads(again.stdout.strip().splitlines()[-1])["timers"] == 0

    scheduler = sweeper_scheduler(engine, 5)
    [job] = scheduler.get_jobs()
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"], str(job.trigger.timezone)) == ("5", "0", "Europe/Brussels")
    assert CliRunner().invoke(cli, ["sweeper", "--hour", "24"]).exit_code == 2
    monkeypatch.setenv("INBURGERING_LOG_FORMAT", "yaml")
    assert CliRunner().invoke(cli, ["sweeper", "--once"]).exit_code == 2
    clock.advance(timedelta(days=1))
