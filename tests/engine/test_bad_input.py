"""Bad BPMN files, bad register lines and bad task payloads are refused by name; nothing is written."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from engine.errors import Conflict, InvalidInput, ProcessDeploymentError, Refused
from engine.models import Dossier, JournalEntry, ProcessDefinition
from engine.processes import ProcessRepository

from .helpers import CASEWORKER, newcomer


@pytest.fixture
def clock():
    """The obligation start of ``helpers.newcomer()``: a command is dated today, and a day before the
    obligation start is refused (engine/service.py ``_effective_day``)."""
    from engine.clock import ManualClock, brussels_instant

    return ManualClock(brussels_instant(date(2024, 1, 31)))


def _counts(engine) -> tuple[int, int]:
    with Session(engine.db) as session:
        return (session.exec(select(func.count()).select_from(Dossier)).one(),
                session.exec(select(func.count()).select_from(JournalEntry)).one())


@pytest.mark.parametrize("change, path, words", [
    ({"birth_date": 19900101}, "$.birth_date", "is not of type 'string'"),
    ({"residence": "tourist"}, "$.residence", "is not one of"),
    ({"obligation_start": "2024-02-30"}, "$.obligation_start", "not a calendar date"),
    ({"nis_code": "1100"}, "$.nis_code", "does not match"),
    ({"nationalities": []}, "$.nationalities", "should be non-empty"),
    ({"shoe_size": 42}, "$", "Additional properties"),
])
def test_bad_register_line_is_refused_and_nothing_written(engine, change, path, words):
    before = _counts(engine)
    with pytest.raises(InvalidInput) as caught:
        engine.import_newcomer(newcomer(**change))
    assert caught.value.path == path and words in caught.value.detail
    assert _counts(engine) == before


def test_duplicate_import_is_a_conflict(engine):
    engine.import_newcomer(newcomer())
    before = _counts(engine)
    with pytest.raises(Conflict):
        engine.import_newcomer(newcomer())
    assert _counts(engine) == before


def test_excluded_newcomer_gets_a_journaled_decision_but_no_instance(engine):
    result = engine.import_newcomer(newcomer(residence="working_holiday"))
    assert result["target_group"] == "excluded" and not result["instance_started"]
    history = engine.history("N1")["entries"]
    assert [e["kind"] for e in history] == ["import", "target_group_decided"]
    assert history[1]["ruleset"] and history[1]["payload"]["reasons"] == ["temporary_purpose"]
    with pytest.raises(Refused):
        engine.handle("N1", "registered", {}, actor=CASEWORKER)


@pytest.mark.parametrize("event, payload, path", [
    ("intake", {"advice": "genius"}, "$.advice"),
    ("intake", {}, "$"),
    ("attendance", {"component": "mo", "percent": 120}, "$.percent"),
    ("contract_signed", {"components": ["mo", "yoga"]}, "$.components[1]"),
    ("suspended", {"from": "2024-02-30", "to": "2024-03-01"}, "$.from"),
    ("registered", {"extra": 1}, "$"),
    ("no_such_event", {}, "$.type"),
])
def test_bad_task_payload_is_refused_and_nothing_written(engine, event, payload, path):
    engine.import_newcomer(newcomer())
    before = _counts(engine)
    with pytest.raises(InvalidInput) as caught:
        engine.handle("N1", event, payload, actor=CASEWORKER)
    assert caught.value.path == path
    assert _counts(engine) == before


def test_event_that_makes_no_sense_changes_nothing(engine):
    engine.import_newcomer(newcomer())
    version = engine.dossier_view("N1")["version"]
    with pytest.raises(Refused, match="does not wait for contract_signed; it waits for: register") as refused:
        engine.handle("N1", "contract_signed", {"components": ["mo"]}, actor=CASEWORKER)
    assert (refused.value.code, refused.value.params["waits_for"]) == ("not_waiting", ["register"])
    assert engine.dossier_view("N1")["version"] == version


def test_stale_version_is_refused(engine):
    engine.import_newcomer(newcomer())
    version = engine.dossier_view("N1")["version"]
    engine.handle("N1", "registered", {}, actor=CASEWORKER, expected_version=version)
    with pytest.raises(Conflict, match="version"):
        engine.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER, expected_version=version)
    assert engine.dossier_view("N1")["advice"] is None


def test_concurrent_load_step_save_loses_nothing(pg_schema_url, clock):
    """Two units of work load the same version; whichever saves second is refused, nothing half-written.

    PostgreSQL only: SQLite takes its write lock at BEGIN, so two writers cannot even load concurrently.
    """
    from engine.service import bootstrap
    from engine.settings import Settings

    engine = bootstrap(Settings(database_url=pg_schema_url), clock)
    engine.import_newcomer(newcomer())
    with engine.session() as first:
        ctx_a = engine._load(first, "N1", engine.clock.now())
        with engine.session() as second:
            ctx_b = engine._load(second, "N1", engine.clock.now())
            ctx_b.state.advice = "written-by-b"
            ctx_b.save()
        ctx_a.state.advice = "written-by-a"
        with pytest.raises(Conflict, match="stale"):
            ctx_a.save()
        first.rollback()
    assert engine.dossier_view("N1")["advice"] == "written-by-b"
    engine.db.dispose()


BAD_BPMN = {
    "malformed XML": (b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>\n<oops>",
                      "line"),
    "schema violation": (b"""<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="trajectory" isExecutable="true">
    <bpmn:startEvent id="s" bogus="1"/>
    <bpmn:flyingTask id="t"/>
  </bpmn:process>
</bpmn:definitions>""", "flyingTask"),
}


@pytest.mark.parametrize("case", sorted(BAD_BPMN))
def test_bad_bpmn_file_is_refused_at_deploy_naming_file_and_reason(engine, case):
    source, words = BAD_BPMN[case]
    repo = ProcessRepository()
    sources = repo.read_sources()
    sources["trajectory"] = source
    with Session(engine.db) as session:
        before = session.exec(select(func.count()).select_from(ProcessDefinition)).one()
    with pytest.raises(ProcessDeploymentError) as caught:
        with engine.session() as session:
            repo.deploy(session, sources, at="2024-01-01T00:00:00+00:00")
    assert "trajectory.bpmn" in caught.value.message and words in caught.value.message
    with Session(engine.db) as session:
        assert session.exec(select(func.count()).select_from(ProcessDefinition)).one() == before


def test_changed_bpmn_becomes_a_new_version_and_running_instances_stay(engine, clock):
    engine.import_newcomer(newcomer("OLD"))
    sources = engine.processes.read_sources()
    sources["trajectory"] = sources["trajectory"].replace(b"Aanmelding", b"Aanmelding (v2)", 1)
    with engine.session() as session:
        deployed = {d.name: d for d in engine.processes.deploy(session, sources, at=clock.now().isoformat())}
    assert deployed["trajectory"].version == 2 and deployed["enforcement"].version == 1
    engine.import_newcomer(newcomer("NEW"))
    labels = {d: next(e["process_version"] for e in engine.history(d)["entries"] if e["kind"] == "instance_started")
              for d in ("OLD", "NEW")}
    assert labels == {"OLD": "trajectory@1", "NEW": "trajectory@2"}
    engine.handle("OLD", "registered", {}, actor=CASEWORKER)  # the old version still runs
    assert engine.dossier_view("OLD")["waiting_on"] == ["intake"]


def test_cli_import_refuses_a_file_with_a_bad_line_and_writes_nothing(tmp_path, database_url):
    good = newcomer("G1")
    bad = newcomer("B1", residence="tourist")
    extract = tmp_path / "extract.jsonl"
    extract.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\nnot json\n")
    result = CliRunner().invoke(app, ["import", str(extract), "--database", database_url])
    assert result.exit_code == 2
    assert "line 2: $.residence" in result.output and "line 3: not valid JSON" in result.output
    extract.write_text(json.dumps(good) + "\n")
    result = CliRunner().invoke(app, ["import", str(extract), "--database", database_url])
    assert result.exit_code == 0 and '"obligated": 1' in result.output


@pytest.mark.parametrize("change, path, words", [
    ({"obligation_start": "0001-01-01", "birth_date": "0001-01-01"}, "$.birth_date", "outside the supported range"),
    ({"obligation_start": "9999-12-31"}, "$.obligation_start", "outside the supported range"),
    ({"birth_date": "2025-01-01"}, "$.birth_date", "after the obligation start"),
])
def test_dates_outside_what_the_law_covers_are_refused(engine, change, path, words):
    before = _counts(engine)
    with pytest.raises(InvalidInput) as caught:
        engine.import_newcomer(newcomer(**change))
    assert caught.value.path == path and words in caught.value.detail
    assert _counts(engine) == before


def test_suspension_of_absurd_length_is_refused(engine):
    engine.import_newcomer(newcomer())
    with pytest.raises(InvalidInput, match="outside the supported range"):
        engine.handle("N1", "suspended", {"from": "0001-01-01", "to": "9999-12-31"}, actor=CASEWORKER)


def test_only_date_fields_are_read_as_dates(engine):
    """An id that merely looks like a date is an id."""
    assert engine.import_newcomer(newcomer("2024-02-30"))["target_group"] == "obligated"


def test_caseworker_without_agency_sees_nothing(engine):
    from engine.errors import NotFound
    from engine.service import Actor

    engine.import_newcomer(newcomer())
    with pytest.raises(NotFound):
        engine.dossier_view("N1", Actor("cw", "caseworker", None))
    with pytest.raises(NotFound):
        engine.handle("N1", "registered", {}, actor=Actor("cw", "caseworker", None))


def test_worklist_step_filter_is_not_a_pattern(engine):
    engine.import_newcomer(newcomer())
    assert engine.worklist("agii", step="register")["total"] == 1
    assert engine.worklist("agii", step="%")["total"] == 0


def test_an_intake_after_a_contract_that_skipped_it_is_refused_and_changes_nothing(engine):
    """The repro of the one-source-of-truth issue: the contract came first (the intake was completed as
    skipped), then an intake: refused with 409 naming what the dossier waits for, no advice stored, no
    journal entry, and the report counts no advice."""
    from engine.reports import report
    engine.import_newcomer(newcomer())
    engine.handle("N1", "registered", {}, actor=CASEWORKER)
    engine.handle("N1", "contract_signed", {"components": ["mo", "nt2"]}, actor=CASEWORKER)
    before = _counts(engine)
    with pytest.raises(Refused) as refused:
        engine.handle("N1", "intake", {"advice": "cbe"}, actor=CASEWORKER)
    assert refused.value.code == "not_waiting" and refused.value.params["waits_for"] == ["mo", "nt2"]
    assert _counts(engine) == before
    assert engine.dossier_view("N1")["advice"] is None
    assert report(engine, 2024)["advice"]["total"]["total"] == 0
