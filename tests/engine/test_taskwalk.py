"""engine/taskwalk.py: the engine's own walk of a Spiff task tree visits exactly the tasks, in exactly
the order, that SpiffWorkflow's TaskIterator does (the oracle), on instances in every wait state."""
from __future__ import annotations

import json
import time
import zlib
from datetime import date
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState
from sqlalchemy import select

from engine import spiff, taskwalk
from engine.clock import task_stamp
from engine.models import Instance

from .helpers import newcomer, on, through_every_wait_state

#: every single state and the masks Spiff's own callers use
STATES = [TaskState.MAYBE, TaskState.LIKELY, TaskState.FUTURE, TaskState.WAITING, TaskState.READY,
          TaskState.STARTED, TaskState.COMPLETED, TaskState.ERROR, TaskState.CANCELLED,
          TaskState.PREDICTED_MASK, TaskState.DEFINITE_MASK, TaskState.FINISHED_MASK, TaskState.ANY_MASK,
          TaskState.READY | TaskState.WAITING]


def _stored_instances(engine):
    with engine.reading() as connection:
        for row in connection.execute(select(Instance)).all():
            spec = engine.processes.spec(connection, row.definition_id)
            yield row, spiff.load_state(json.loads(zlib.decompress(row.state)), spec)


def test_the_walk_visits_what_spiffs_iterator_visits_in_every_wait_state(engine, clock, monkeypatch):
    seen: set = set()

    def compare_all(max_depth: int | None = None) -> None:
        for row, workflow in _stored_instances(engine):
            assert isinstance(workflow, taskwalk.Workflow)
            for state in STATES:
                expected = [t.id for t in TaskIterator(workflow.task_tree, state=state,
                                                       **({"max_depth": max_depth} if max_depth else {}))]
                assert [t.id for t in taskwalk.walk(workflow.task_tree, state)] == expected, (row.id, state)
            names = {t.task_spec.name for t in TaskIterator(workflow.task_tree)} | {"no such task"}
            for name in names if max_depth is None else ():  # a gateway's query: by spec name, at any depth
                expected = [t.id for t in BpmnWorkflow.get_tasks(workflow, spec_name=name)]  # Spiff's own
                assert [t.id for t in workflow.get_tasks(spec_name=name)] == expected, (row.id, name)
            for first in list(workflow.tasks.values()) if max_depth is None else ():  # a catching event's: its subtree
                name = first.task_spec.name
                expected = [t.id for t in BpmnWorkflow.get_tasks(workflow, first, spec_name=name)]
                assert [t.id for t in workflow.get_tasks(first, spec_name=name)] == expected, (row.id, name)
            seen.add((row.process_name, tuple(spiff.wait_states(workflow))))

    through_every_wait_state(engine, clock, compare_all, components=("mo", "nt2", "vdab", "pnt"))
    for depth in (1, 2, 5):  # Spiff does not enter the children of a task at max_depth; nor does the walk
        monkeypatch.setattr(taskwalk, "MAX_DEPTH", depth)
        compare_all(max_depth=depth)
    assert {name for name, _ in seen} == {"trajectory", "enforcement"} and len(seen) >= 4


def test_new_and_loaded_instances_walk_with_the_engines_walk(engine):
    """Both ways the engine gets a Spiff instance (started, or loaded from its row) are a taskwalk.Workflow;
    a started instance (read from its spec's fresh state, engine/spiff.py new_workflow) has the tasks of
    Spiff's own new instance and runs its engine steps to the same wait states, for both processes."""

    def tasks(workflow):
        return [(t.task_spec.name, t.state, t.data, t.triggered, t.internal_data) for t in workflow.get_tasks()]

    for name in ("trajectory", "enforcement"):
        spec = engine.processes.spec(None, engine.processes.current(name).id)
        ours, spiffs = spiff.new_workflow(spec), BpmnWorkflow(spec)  # ours: read from the spec's fresh state
        time.sleep(0.01)
        before = task_stamp()  # the clock module's stamp for Spiff's task times
        again = spiff.new_workflow(spec)
        # its tasks changed state when it was made, not when the spec's fresh state was kept
        assert min(t.last_state_change for t in again.tasks.values()) >= before
        assert isinstance(ours, taskwalk.Workflow)
        assert tasks(ours) == tasks(spiffs) == tasks(again) and ours.data == spiffs.data
        assert spiff.dump_state(ours)["tasks"] == spiff.dump_state(again)["tasks"]
        for workflow in (ours, spiffs):
            spiff.bind(workflow, engine.clock, lambda task, operation, params: {}, {"due": lambda name: None})
            workflow.do_engine_steps()
        assert spiff.wait_states(ours) == spiff.wait_states(spiffs)
        assert tasks(ours) == tasks(spiffs), name
        assert tasks(again) != tasks(ours)  # the first instance's run left the next one's state alone


def _ancestor_ids(task) -> set:
    ids, parent = set(), task.parent
    while parent is not None:
        ids.add(parent.id)
        parent = parent.parent
    return ids


def test_the_joins_rule_is_spiffs_in_every_wait_state(engine, clock):
    """The engine's parallel gateway decides every join as Spiff's does: for every task of a
    gateway's spec, in every state (the waiting join, those already passed, those predicted), the
    same answer; and its ancestry test is ``is_descendant_of`` for every pair of tasks."""
    from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway as SpiffParallelGateway

    asked: set = set()

    def compare_all() -> None:
        for row, workflow in _stored_instances(engine):
            tasks = list(workflow.tasks.values())
            for task in tasks:
                spec = task.task_spec
                if isinstance(spec, SpiffParallelGateway):
                    assert type(spec) is taskwalk.ParallelGateway  # what parse_process gives the engine
                    ours = spec._check_threshold_unstructured(task)
                    assert ours == SpiffParallelGateway._check_threshold_unstructured(spec, task), \
                        (row.id, spec.name, task.state)
                    asked.add((spec.name, TaskState.get_name(task.state), ours))
            in_tree = [t.id for t in TaskIterator(workflow.task_tree)]  # the gateway's tasks come from the map
            assert sorted(in_tree) == sorted(workflow.tasks) and len(set(in_tree)) == len(in_tree)
            for b in tasks:
                above = _ancestor_ids(b)
                for a in tasks:
                    assert taskwalk._below(a, b, above, workflow.tasks) == a.is_descendant_of(b)

    through_every_wait_state(engine, clock, compare_all, components=("mo", "nt2", "vdab", "pnt"))
    assert {fires for *_, fires in asked} == {True, False}  # joins that wait and joins that fire were asked
    assert any(state == "WAITING" for _, state, _ in asked)


def test_engine_tasks_log_state_changes_only_when_spiffs_logger_asks(engine, clock, caplog):
    """The engine's instances are made of engine/taskwalk.Task (also the tasks Spiff adds while they
    run); a state change sets the state and its time as Spiff's does, and Spiff's log record for it
    is still written when the ``spiff.task`` logger is enabled for it."""
    import logging

    spec = engine.processes.spec(None, engine.processes.current("trajectory").id)
    workflow = spiff.new_workflow(spec)
    spiff.bind(workflow, engine.clock, lambda task, operation, params: {}, {"due": lambda name: None})
    before = len(workflow.tasks)
    workflow.do_engine_steps()
    assert len(workflow.tasks) != before or any(t.state == TaskState.COMPLETED for t in workflow.tasks.values())
    assert all(type(t) is taskwalk.Task for t in workflow.tasks.values())

    task = next(t for t in workflow.tasks.values() if t.state == TaskState.MAYBE)
    stamp = task.last_state_change
    with caplog.at_level(logging.WARNING, logger="spiff.task"):
        task._set_state(TaskState.LIKELY)
    assert task.state == TaskState.LIKELY and task.last_state_change >= stamp and not caplog.records
    with caplog.at_level(logging.INFO, logger="spiff.task"):
        task._set_state(TaskState.MAYBE)
    assert task.state == TaskState.MAYBE
    assert [r.getMessage() for r in caplog.records] == ["State changed to MAYBE"]
    assert caplog.records[0].task_spec == task.task_spec.name

    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 10), "registered")
    for row, loaded in _stored_instances(engine):  # read back from the store: the engine's tasks too
        assert all(type(t) is taskwalk.Task for t in loaded.tasks.values()), row.id
