"""Instance migration (engine/migration.py) with real BPMN changes, on SQLite and PostgreSQL.

Every changed model is the current ``processes/trajectory.bpmn`` with one change applied to
its XML (tests/ops/bpmn_variants.py). Three dossiers stand at different places:

* ``A`` waits in the registration (nothing done yet);
* ``B`` is in the component phase with MO still open;
* ``C`` is in the component phase and has passed MO.
"""
from __future__ import annotations

import json
import zlib
from datetime import date, time

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import journal, migration, spiff
from engine.asof import state_as_of
from engine.clock import brussels_instant
from engine.models import Instance, JournalEntry, ProcessDefinition
from engine.replay import replay_dossier
from engine.service import Actor

from . import bpmn_variants as variants
from .helpers import obligated

CASEWORKER = Actor("cw-1", "caseworker", "agii")


def step(engine, clock, day: str, dossier_id: str, event: str, payload: dict | None = None) -> None:
    clock.set(brussels_instant(date.fromisoformat(day), time(9)))
    engine.handle(dossier_id, event, payload or {}, actor=CASEWORKER)


def three_dossiers(engine, clock) -> None:
    for dossier_id in "ABC":
        engine.import_newcomer(obligated(dossier_id))
    for dossier_id in "BC":
        step(engine, clock, "2024-01-10", dossier_id, "registered")
        step(engine, clock, "2024-01-11", dossier_id, "intake", {"advice": "cbe"})
        step(engine, clock, "2024-01-12", dossier_id, "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    step(engine, clock, "2024-01-20", "C", "test_result", {"component": "mo", "core_percent": 80, "total_percent": 80})


def deploy(engine, xml: bytes) -> int:
    """Deploy a changed trajectory model; returns its version."""
    with engine.session() as session:
        return engine.processes.deploy(session, {"trajectory": xml}, at=engine.clock.now().isoformat())[0].version


def version_of(engine, dossier_id: str) -> int:
    with engine.reading() as connection:
        return connection.execute(select(ProcessDefinition.version).join(
            Instance, Instance.definition_id == ProcessDefinition.id).where(
            Instance.dossier_id == dossier_id, Instance.process_name == "trajectory")).scalar_one()


def completed_tasks(engine, dossier_id: str) -> set[str]:
    """Names of the trajectory's completed tasks, from the stored state and the spec of its version."""
    with engine.reading() as connection:
        row = connection.execute(select(Instance.state, Instance.definition_id).where(
            Instance.dossier_id == dossier_id, Instance.process_name == "trajectory")).one()
        spec = engine.processes.spec(connection, row.definition_id)
    workflow = spiff.load_state(json.loads(zlib.decompress(row.state)), spec)
    return {t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)}


def journal_of(engine, dossier_id: str, kind: str) -> list[dict]:
    with engine.reading() as connection:
        rows = connection.execute(select(JournalEntry.payload, JournalEntry.process_version, JournalEntry.actor)
                                  .where(JournalEntry.dossier_id == dossier_id, JournalEntry.kind == kind)
                                  .order_by(JournalEntry.seq)).all()
    return [{**json.loads(p), "_process_version": v, "_actor": a} for p, v, a in rows]


def assert_journal_intact(engine) -> None:
    with engine.session() as session:
        assert [str(b) for _, b in journal.verify_all(session) if b is not None] == []


def finish_components(engine, clock, dossier_id: str, *, mo: bool = True) -> None:
    if mo:
        step(engine, clock, "2024-02-01", dossier_id, "test_result",
             {"component": "mo", "core_percent": 80, "total_percent": 80})
    step(engine, clock, "2024-02-02", dossier_id, "test_result", {"component": "nt2", "level": "A2"})
    step(engine, clock, "2024-02-03", dossier_id, "vdab_registered")


def test_a_task_added_in_the_component_phase(engine, clock):
    three_dossiers(engine, clock)
    v2 = deploy(engine, variants.insert_script_task_after(variants.source(), "mo", "mo_added_check",
                                                          "mo_added_checked = True"))
    assert migration.spec_diff(engine, "trajectory", 1, v2)["added"] == ["mo_added_check"]

    plan = migration.migrate(engine, "trajectory", v2, dry_run=True, detail=True)
    assert plan.counts == {"can_migrate": 2, "blocked": 1}
    by_id = {p["dossier_id"]: p for p in plan.instances}
    assert by_id["A"]["can_migrate"] and by_id["B"]["can_migrate"]
    assert not by_id["C"]["can_migrate"]
    assert any("'mo'" in r and "passed" in r and "outputs" in r for r in by_id["C"]["reasons"]), by_id["C"]
    assert {"task": "mo", "state": "READY", "changed": ["outputs"]} in by_id["B"]["changes"]
    assert [version_of(engine, d) for d in "ABC"] == [1, 1, 1]  # a dry run changes nothing
    assert journal_of(engine, "B", "instance_migrated") == []

    clock.set(brussels_instant(date(2024, 1, 25), time(10)))
    report = migration.migrate(engine, "trajectory", v2, actor="admin:ops-1")
    assert report.counts == {"blocked": 1, "migrated": 2} and not report.resumed
    assert [version_of(engine, d) for d in "ABC"] == [v2, v2, 1]
    [fact] = journal_of(engine, "B", "instance_migrated")
    assert (fact["from_version"], fact["to_version"], fact["_process_version"], fact["_actor"], fact["run"]) == \
        (1, v2, f"trajectory@{v2}", "admin:ops-1", report.run_id)
    assert "mo" in fact["waiting"]
    assert_journal_intact(engine)

    # B goes on on the new version: completing MO runs the added task, and the trajectory ends in an attest
    finish_components(engine, clock, "B")
    assert "mo_added_check" in completed_tasks(engine, "B")
    assert engine.outcome("B")["attest_on"] == "2024-02-03"
    # C stayed on version 1 and goes on there
    finish_components(engine, clock, "C", mo=False)
    assert engine.outcome("C")["attest_on"] == "2024-02-03" and "mo_added_check" not in completed_tasks(engine, "C")

    # the migrated history replays, and the state as of a date before the move is the old one
    for dossier_id in "ABC":
        result = replay_dossier(engine, dossier_id)
        assert result.ok, result.first_divergence
    before = state_as_of(engine, "B", date(2024, 1, 24))
    assert before["consistent"] and before["waiting_on"] == ["mo", "nt2", "vdab"]

    # running it again finds only C, still blocked; nothing is migrated twice
    again = migration.migrate(engine, "trajectory", v2)
    assert again.counts == {"blocked": 1} and again.run_id != report.run_id
    assert len(journal_of(engine, "A", "instance_migrated")) == 1


def test_a_renamed_task(engine, clock):
    three_dossiers(engine, clock)
    xml = variants.relabel(variants.source(), "mo", "Maatschappelijke oriëntatie (nieuw)")
    xml = variants.rename_id(xml, "issue_attest_task", "issue_attest_step")
    v2 = deploy(engine, xml)
    diff = migration.spec_diff(engine, "trajectory", 1, v2)
    assert diff["renamed"] == {"issue_attest_task": "issue_attest_step"}
    assert diff["added"] == [] and diff["removed"] == [] and diff["changed"]["mo"] == ["bpmn_name"]

    report = migration.migrate(engine, "trajectory", v2, detail=True)
    assert report.counts == {"migrated": 3}, [(p["dossier_id"], p["reasons"]) for p in report.instances]
    changes = {p["dossier_id"]: p["changes"] for p in report.instances}
    assert {"task": "mo", "state": "READY", "changed": ["bpmn_name"]} in changes["B"]
    assert {"task": "mo", "state": "COMPLETED", "changed": ["bpmn_name"]} in changes["C"]  # a label: harmless
    for dossier_id in "BC":
        finish_components(engine, clock, dossier_id, mo=dossier_id == "B")
        assert engine.outcome(dossier_id)["attest_on"] == "2024-02-03"
        assert "issue_attest_step" in completed_tasks(engine, dossier_id)  # the renamed task ran
        assert replay_dossier(engine, dossier_id).ok
    assert_journal_intact(engine)


def test_a_renamed_waiting_user_task_blocks(engine, clock):
    three_dossiers(engine, clock)
    v2 = deploy(engine, variants.rename_id(variants.source(), "nt2", "nt2_course"))
    plan = migration.migrate(engine, "trajectory", v2, dry_run=True, detail=True)
    by_id = {p["dossier_id"]: p for p in plan.instances}
    assert by_id["A"]["can_migrate"]  # it has not reached NT2 yet
    for dossier_id in "BC":
        assert any("'nt2'" in r and "'nt2_course'" in r for r in by_id[dossier_id]["reasons"]), by_id[dossier_id]


def test_a_removed_wait_state_blocks_the_instances_waiting_in_it(engine, clock):
    three_dossiers(engine, clock)
    v2 = deploy(engine, variants.remove_task(variants.source(), "nt2"))
    assert "nt2" in migration.spec_diff(engine, "trajectory", 1, v2)["removed"]
    report = migration.migrate(engine, "trajectory", v2, dossiers=["A", "B", "C"])
    assert report.counts == {"blocked": 2, "migrated": 1}
    blocked = {p["dossier_id"]: p["reasons"] for p in report.instances}
    assert set(blocked) == {"B", "C"}
    for reasons in blocked.values():
        assert any("waits in 'nt2'" in r and "removed" in r for r in reasons), reasons
    assert [version_of(engine, d) for d in "ABC"] == [v2, 1, 1]
    assert report.reasons and all(n >= 1 for n in report.reasons.values())
    # the blocked ones go on unharmed on version 1
    finish_components(engine, clock, "B")
    assert engine.outcome("B")["attest_on"] == "2024-02-03"
    # A, on the version without NT2, goes through without it (time only goes forward: after the migration)
    step(engine, clock, "2024-01-21", "A", "registered")
    step(engine, clock, "2024-01-22", "A", "contract_signed", {"components": ["mo", "vdab"]})
    step(engine, clock, "2024-01-23", "A", "test_result", {"component": "mo", "core_percent": 90, "total_percent": 90})
    step(engine, clock, "2024-01-24", "A", "vdab_registered")
    assert engine.outcome("A")["attest_on"] == "2024-01-24"
    assert "nt2" not in completed_tasks(engine, "A")
    assert replay_dossier(engine, "A").ok
    assert_journal_intact(engine)


def test_a_changed_timer_blocks_the_instances_waiting_on_it(engine, clock):
    three_dossiers(engine, clock)
    v2 = deploy(engine, variants.change_timer(variants.source(), "vdab_deadline", "due('registration')"))
    plan = migration.migrate(engine, "trajectory", v2, dry_run=True, detail=True)
    by_id = {p["dossier_id"]: p for p in plan.instances}
    assert by_id["A"]["can_migrate"]
    for dossier_id in "BC":
        assert any("timer or signal of 'vdab_deadline'" in r for r in by_id[dossier_id]["reasons"]), by_id[dossier_id]


def test_bad_requests_change_nothing(engine, clock):
    three_dossiers(engine, clock)
    from engine.errors import InvalidInput, NotFound
    with pytest.raises(NotFound):
        migration.migrate(engine, "trajectory", 7)
    with pytest.raises(InvalidInput):
        migration.migrate(engine, "nope", 1)
    with pytest.raises(InvalidInput):
        migration.migrate(engine, "trajectory", 1, from_version=1)
    assert migration.runs(engine) == []
    # to the version they are on already: nothing to do
    assert migration.migrate(engine, "trajectory", 1).counts == {}

