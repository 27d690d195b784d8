"""Process versions for operators: ``inburgering processes``/``migrate`` and ``/admin/processes``."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import issue_token
from api.cli import app as cli
from engine import processes
from engine.settings import Settings

from . import bpmn_variants as variants
from .test_migration import deploy, three_dossiers, version_of


@pytest.fixture
def store(engine, clock):
    three_dossiers(engine, clock)
    v2 = deploy(engine, variants.remove_task(variants.source(), "nt2"))
    return engine, v2


def waits(detail: dict) -> dict:
    return {w["task"]: w["instances"] for w in detail["wait_states"] if w["instances"]}


def test_versions_and_where_instances_wait(store):
    engine, v2 = store
    rows = {(r["name"], r["version"]): r for r in processes.versions(engine)}
    assert rows[("trajectory", 1)]["instances"] == {"waiting": 3, "completed": 0}
    assert rows[("trajectory", v2)]["current"] and not rows[("trajectory", 1)]["current"]
    detail = processes.version_detail(engine, "trajectory", 1)
    # A waits in the registration (and its deadline timers); B in mo, nt2, vdab; C (MO done) in nt2, vdab
    assert waits(detail)["register"] == 1 and waits(detail)["mo"] == 1
    assert waits(detail)["nt2"] == 2 and waits(detail)["vdab"] == 2
    assert {w["kind"] for w in detail["wait_states"]} == {"user_task", "catch_event"}
    assert waits(processes.version_detail(engine, "trajectory", v2)) == {}


def test_cli_processes_and_migrate(store, database_url, monkeypatch, tmp_path):
    engine, v2 = store
    monkeypatch.setenv("INBURGERING_DATABASE_URL", database_url)
    from engine.clock import StoreClock
    StoreClock.of_store(engine.db, new_mode="manual", start=engine.clock.now())  # the CLI reads the store's clock
    runner = CliRunner()
    listed = runner.invoke(cli, ["processes", "list"])
    assert listed.exit_code == 0, listed.output
    assert "trajectory@1" in listed.output and f"trajectory@{v2}" in listed.output
    shown = runner.invoke(cli, ["processes", "show", "trajectory", "1"])
    assert shown.exit_code == 0 and waits(json.loads(shown.output))["nt2"] == 2
    diff = runner.invoke(cli, ["processes", "diff", "trajectory", "1", str(v2)])
    assert diff.exit_code == 0 and "nt2" in json.loads(diff.output)["removed"]
    assert runner.invoke(cli, ["processes", "show", "nope"]).exit_code == 2
    assert runner.invoke(cli, ["processes", "show", "trajectory", "99"]).exit_code == 1

    dry = runner.invoke(cli, ["migrate", "--process", "trajectory", "--to", str(v2), "--dry-run"])
    assert dry.exit_code == 1  # two instances are blocked
    assert json.loads(dry.stdout)["counts"] == {"can_migrate": 1, "blocked": 2}
    assert "waits in 'nt2'" in dry.stderr
    assert [version_of(engine, d) for d in "ABC"] == [1, 1, 1]
    out = tmp_path / "report.json"
    real = runner.invoke(cli, ["migrate", "--process", "trajectory", "--to", str(v2), "--from", "1",
                               "--user", "ops-3", "--out", str(out)])
    assert real.exit_code == 1
    report = json.loads(out.read_text())
    assert report["counts"] == {"blocked": 2, "migrated": 1} and len(report["instances"]) == 3
    assert [version_of(engine, d) for d in "ABC"] == [v2, 1, 1]
    assert runner.invoke(cli, ["migrate", "--process", "trajectory", "--to", "42"]).exit_code == 1
    assert runner.invoke(cli, ["migrate", "--process", "nope", "--to", "1"]).exit_code == 2


def test_an_overdue_timer_is_left_to_the_sweep_first(store):
    engine, v2 = store
    from datetime import timedelta

    from engine import migration
    engine.clock.advance(timedelta(days=400))  # every deadline has passed; no sweep ran yet
    plan = migration.migrate(engine, "trajectory", v2, dossiers=["A"], dry_run=True, detail=True)
    [only] = plan.instances
    assert not only["can_migrate"]
    assert any("'registration_deadline'" in r and "let the sweep fire" in r for r in only["reasons"]), only


def test_admin_api(store, database_url):
    engine, v2 = store
    settings = Settings(database_url=database_url, jwt_secret="processes-test-secret-32-bytes-long", demo_data=False)
    with TestClient(create_app(engine, settings)) as client:
        admin = {"Authorization": "Bearer " + issue_token(settings, role="admin", user="a", now=engine.clock.now())}
        listed = client.get("/admin/processes", headers=admin)
        assert listed.status_code == 200 and {(r["name"], r["version"]) for r in listed.json()} >= {("trajectory", v2)}
        detail = client.get("/admin/processes/trajectory/1", headers=admin).json()
        assert waits(detail)["nt2"] == 2
        diff = client.get(f"/admin/processes/trajectory/diff?from=1&to={v2}", headers=admin).json()
        assert "nt2" in diff["removed"]
        assert client.get("/admin/processes/trajectory/77", headers=admin).status_code == 404
        assert client.get("/admin/processes/other/1", headers=admin).status_code == 422
        assert client.get("/admin/processes/trajectory/diff?from=1", headers=admin).status_code == 422
        assert client.get("/admin/migrations", headers=admin).json() == []
        auditor = {"Authorization": "Bearer " + issue_token(settings, role="auditor", user="b", now=engine.clock.now())}
        assert client.get("/admin/processes", headers=auditor).status_code == 403
