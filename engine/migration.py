"""Moving running process instances to another deployed version of their process.

Trajectories run for years; when ``processes/trajectory.bpmn`` changes, the instances started on
the old version stay on it (engine/processes.py) until an operator moves them::

    inburgering migrate --process trajectory --to 3 [--from 2] [--dossier ID]... [--dry-run]

Built on SpiffWorkflow 3.2.0's own ``SpiffWorkflow.bpmn.util.diff``: ``diff_workflow`` aligns
the instance's tasks with the new spec (by BPMN id first, then by structure, so a renamed
element is found again) and ``migrate_workflow`` swaps the specs and re-predicts the waiting
branches. On top of it, the rules of this engine (after spiff-arena's ``can_migrate``) decide
per instance whether it **can** move, and say why not:

* a task the instance waits in (ready user task, waiting timer or signal) was removed;
* the timer or signal of a task it waits in changed (its due date would mean something else);
* a waiting user task was renamed (caseworker events complete user tasks by their BPMN id);
* a task it already completed was removed or changed other than in name or documentation
  (its tokens have passed it; a new task behind it would never be reached, a join could wait
  for it forever);
* after the move an engine step would be ready to run at once, or a task would be left with a
  spec that the new version does not have (its state would not load again).

An instance that can move is moved in its own transaction, like a command: loaded from the
cache or a read-only snapshot, changed in memory, written with the dossier's version check
(optimistic lock; a lost race is decided again), journaled as ``instance_migrated`` with both
versions (:func:`migration_fact`) followed by the due-index changes it caused. A run is
recorded in ``migration_run`` with one ``migration_item`` per instance, whose status is
written in the same transaction as the instance, so a run killed half-way is resumed where it
stopped (re-running the same command picks the unfinished run up), and re-running a finished
one only finds the instances still left on an old version.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Optional

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, func, insert, select, update
from sqlmodel import SQLModel

from . import spiff
from .errors import Conflict, InvalidInput, NotFound
from .facts import InstanceMigrated
from .models import Instance, ProcessDefinition
from .processes import PROCESS_NAMES, Deployed

log = logging.getLogger("inburgering.migration")

INSTANCE = Instance.__table__
DEFINITION = ProcessDefinition.__table__

#: ``migration_run`` and ``migration_item`` (Alembic revision 0005).
MIGRATION_RUN = Table(
    "migration_run", SQLModel.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("process", String, nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=False),
    Column("actor", String, nullable=False),
    Column("started_at", String, nullable=False),
    Column("finished_at", String, nullable=True),
    Column("status", String, nullable=False),
)
MIGRATION_ITEM = Table(
    "migration_item", SQLModel.metadata,
    Column("run_id", Integer, ForeignKey("migration_run.id"), primary_key=True),
    Column("instance_id", String, primary_key=True),
    Column("dossier_id", String, nullable=False),
    Column("from_version", Integer, nullable=False),
    Column("status", String, nullable=False),
    Column("reason", Text, nullable=True),
    Column("updated_at", String, nullable=True),
)

PENDING, MIGRATED, BLOCKED, SKIPPED, FAILED = "pending", "migrated", "blocked", "skipped", "failed"
RUNNING, FINISHED = "running", "finished"
#: What a task spec may change in and still count as the same task for a task already done.
COSMETIC = frozenset({"name", "bpmn_id", "bpmn_name", "documentation", "description"})
#: States of tasks the instance has passed (their tokens moved on).
DONE = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR
WAITS = TaskState.READY | TaskState.WAITING
#: What migrate_workflow resets and re-predicts (as spiff-arena does).
RESET_MASK = TaskState.READY | TaskState.WAITING | TaskState.STARTED
DEFAULT_BATCH = 100
OPTIMISTIC_ATTEMPTS = 3
JOURNAL_KIND = "instance_migrated"


# ----------------------------------------------------------------------------- the journal entry


def migration_fact(instance_id: str, process: str, from_version: int, to_version: int,
                   changes: list[dict], waiting: list[str], run_id: Optional[int]) -> InstanceMigrated:
    """The fact journaled as ``instance_migrated``."""
    return InstanceMigrated(instance_id, process, from_version, to_version, changes, waiting, run_id)


# ----------------------------------------------------------------------------- deciding one instance


@dataclass
class InstancePlan:
    """Whether one instance can move to the target version, why not, and what changes in it."""

    instance_id: str
    dossier_id: str
    process: str
    from_version: int
    to_version: int
    can_migrate: bool = True
    reasons: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    waiting_before: list[str] = field(default_factory=list)
    waiting_after: list[str] = field(default_factory=list)
    status: str = PENDING  # what happened: migrated | blocked | skipped | failed (pending in a dry run)

    def to_dict(self) -> dict:
        return asdict(self)


def _wait_states(workflow) -> list[str]:
    """What spiff.wait_states gives (ready user tasks, waiting catch events), in one pass over the tasks."""
    names = set()
    for task in workflow.tasks.values():
        if task.state == TaskState.READY and task.task_spec.manual:
            names.add(task.task_spec.name)
        elif task.state == TaskState.WAITING and getattr(task.task_spec, "event_definition", None) is not None:
            names.add(task.task_spec.name)
    return sorted(names)


def _state(task) -> str:
    return TaskState.get_name(task.state)


def _serializer_registry():
    return spiff._SERIALIZER.registry


def check_and_migrate(workflow, target_spec, plan: InstancePlan) -> InstancePlan:
    """Decide whether ``workflow`` can move to ``target_spec``; if so, move it (in memory).

    ``plan.reasons`` names every obstacle; ``plan.changes`` the tasks whose spec changes."""
    plan.waiting_before = _wait_states(workflow)
    if workflow.subprocesses:
        plan.reasons.append("the instance has subprocesses, which this engine does not migrate")
        plan.can_migrate = False
        return plan
    spec_diff = _spec_diff(workflow.spec, target_spec)
    top = WorkflowDiff(workflow, spec_diff)  # what diff_workflow does, with the spec diff computed once per pair
    changed_specs = spec_diff.changed
    for task in top.removed:
        if task.has_state(WAITS):
            plan.reasons.append(f"it waits in {task.task_spec.name!r} ({_state(task)}), "
                                f"which version {plan.to_version} removed")
        elif task.has_state(DONE):
            plan.reasons.append(f"it has passed {task.task_spec.name!r} ({_state(task)}), "
                                f"which version {plan.to_version} removed")
    seen = set()
    for task in top.changed:
        attrs = _real_changes(task.task_spec, changed_specs.get(task.task_spec, []), spec_diff.alignment)
        new = top.alignment.get(task)
        name, new_name = task.task_spec.name, (new.name if new is not None else None)
        key = (name, task.state)
        if key in seen:
            continue
        seen.add(key)
        if task.has_state(WAITS):
            if "event_definition" in attrs:
                plan.reasons.append(f"the timer or signal of {name!r}, which it waits on, changed in version "
                                    f"{plan.to_version}")
            elif new_name != name and task.task_spec.manual:
                plan.reasons.append(f"the user task {name!r} it waits in was renamed to {new_name!r}: events "
                                    "complete user tasks by their id")
        elif task.has_state(DONE) and not set(attrs) <= COSMETIC:
            plan.reasons.append(f"{name!r}, which it has passed ({_state(task)}), changed in version "
                                f"{plan.to_version} ({', '.join(a for a in attrs if a not in COSMETIC)})")
        if task.has_state(WAITS | DONE):
            change = {"task": name, "state": _state(task), "changed": attrs}
            if new_name is not None and new_name != name:
                change["renamed_to"] = new_name
            plan.changes.append(change)
    if plan.reasons:
        plan.can_migrate = False
        return plan
    migrate_workflow(top, workflow, target_spec, reset_mask=RESET_MASK)
    foreign = sorted({t.task_spec.name for t in workflow.tasks.values()
                      if target_spec.task_specs.get(t.task_spec.name) is not t.task_spec})
    if foreign:
        plan.reasons.append(f"tasks {', '.join(map(repr, foreign))} have no place in version {plan.to_version}")
    ready = [t for t in workflow.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
    due = sorted({t.task_spec.name for t in ready if getattr(t.task_spec, "event_definition", None) is not None})
    runnable = sorted({t.task_spec.name for t in ready} - set(due))
    if due:
        plan.reasons.append(f"its timer(s) {', '.join(map(repr, due))} are due now: let the sweep fire them "
                            "first, then migrate")
    if runnable:
        plan.reasons.append(f"after the move the engine step(s) {', '.join(map(repr, runnable))} would run at "
                            "once; migrate when the instance waits elsewhere")
    plan.can_migrate = not plan.reasons
    plan.waiting_after = _wait_states(workflow)
    return plan


_SPEC_DIFFS: dict[tuple[int, int], SpecDiff] = {}


def _spec_diff(old_spec, new_spec) -> SpecDiff:
    """SpiffWorkflow's SpecDiff of two parsed specs, computed once per pair (specs are parsed once
    per version and kept, engine/processes.py); it is only read afterwards."""
    key = (id(old_spec), id(new_spec))
    found = _SPEC_DIFFS.get(key)
    if found is None or found._specs != (old_spec, new_spec):
        found = SpecDiff(_serializer_registry(), old_spec, new_spec)
        found._specs = (old_spec, new_spec)  # holds both alive, so their ids are not reused
        if len(_SPEC_DIFFS) >= 16:  # a handful of version pairs in practice; never grow without bound
            _SPEC_DIFFS.pop(next(iter(_SPEC_DIFFS)))
        _SPEC_DIFFS[key] = found
    return found


def _real_changes(spec, attrs, alignment) -> list[str]:
    """The changed attributes of an aligned spec, not counting inputs/outputs that differ only
    because a neighbour was renamed (its predecessor or successor is the same task)."""
    new = alignment.get(spec)
    out = []
    for attr in attrs:
        if attr in ("inputs", "outputs") and new is not None:
            mapped = [alignment.get(s).name if alignment.get(s) is not None else None for s in getattr(spec, attr)]
            if mapped == [s.name for s in getattr(new, attr)]:
                continue
        out.append(attr)
    return sorted(out)


# ----------------------------------------------------------------------------- versions


def find_version(engine, connection, process: str, version: int) -> Deployed:
    if process not in PROCESS_NAMES:
        raise InvalidInput("$.process", f"{process!r} is not one of {', '.join(PROCESS_NAMES)}",
                           code="unknown_process", params={"process": process, "known": list(PROCESS_NAMES)})
    row = connection.execute(select(DEFINITION.c.id, DEFINITION.c.name, DEFINITION.c.version)
                             .where(DEFINITION.c.name == process, DEFINITION.c.version == version)).first()
    if row is None:
        raise NotFound(f"process {process} has no version {version}", code="process_version_not_found",
                       params={"process": process, "version": version})
    engine.processes.spec(connection, row.id)  # parsed once, and known to describe() from now on
    return Deployed(row.id, row.name, row.version)


def spec_diff(engine, process: str, from_version: int, to_version: int) -> dict:
    """How version ``to_version`` of a process differs from ``from_version``, task by task."""
    with engine.reading() as connection:
        old = find_version(engine, connection, process, from_version)
        new = find_version(engine, connection, process, to_version)
        old_spec, new_spec = engine.processes.spec(connection, old.id), engine.processes.spec(connection, new.id)
    diff = SpecDiff(_serializer_registry(), old_spec, new_spec)
    renamed = {spec.name: target.name for spec, target in diff.alignment.items()
               if target is not None and target.name != spec.name}
    return {
        "process": process, "from": from_version, "to": to_version,
        "added": sorted(spec.name for spec in diff.added),
        "removed": sorted(spec.name for spec in diff.removed),
        "renamed": dict(sorted(renamed.items())),
        "changed": {spec.name: real for spec, attrs in sorted(diff.changed.items(), key=lambda i: i[0].name)
                    if (real := [a for a in _real_changes(spec, attrs, diff.alignment) if a not in ("name", "bpmn_id")])},
    }


# ----------------------------------------------------------------------------- one instance, one transaction


def migrate_instance(engine, dossier_id: str, instance_id: str, target: Deployed, *, actor: str,
                     from_version: Optional[int] = None, run_id: Optional[int] = None, dry_run: bool = False,
                     now: Optional[datetime] = None, track: bool = True) -> InstancePlan:
    """Move one instance to ``target`` in its own transaction (or only decide, with ``dry_run``).

    Optimistic like a command: decided on the cached or snapshot state, written with the
    dossier's version check, decided again after a lost race. With ``run_id`` (and ``track``) the
    run's item is updated in the same transaction (what makes a killed run resumable); a replay
    passes the recorded run id with ``track=False``."""
    track = track and run_id is not None
    now = now or engine.clock.now()
    for _ in range(OPTIMISTIC_ATTEMPTS):
        with engine.reading() as connection:
            ctx = engine._load(connection, dossier_id, now)
            target_spec = engine.processes.spec(connection, target.id)
        ctx.session = None
        loaded = ctx.instances.get(instance_id)
        plan = InstancePlan(instance_id, dossier_id, target.name,
                            loaded.process.version if loaded else 0, target.version)
        if loaded is None:
            plan.status, plan.can_migrate = SKIPPED, False
            plan.reasons.append("the instance is no longer waiting (completed or gone)")
        elif loaded.process.name != target.name:
            plan.status, plan.can_migrate = SKIPPED, False
            plan.reasons.append(f"the instance runs {loaded.process.name}, not {target.name}")
        elif loaded.row.definition_id == target.id:
            plan.status, plan.can_migrate = SKIPPED, False
            plan.reasons.append(f"already on version {target.version}")
        elif from_version is not None and loaded.process.version != from_version:
            plan.status, plan.can_migrate = SKIPPED, False
            plan.reasons.append(f"on version {loaded.process.version}, not {from_version}")
        else:
            check_and_migrate(loaded.workflow, target_spec, plan)
            plan.status = (PENDING if dry_run else MIGRATED) if plan.can_migrate else BLOCKED
        if dry_run or plan.status != MIGRATED:
            if not dry_run and track:
                _mark(engine, run_id, instance_id, plan.status, "; ".join(plan.reasons), now)
            return plan
        source = loaded.row.definition_id
        loaded.row.definition_id, loaded.process = target.id, target
        ctx.emit(migration_fact(instance_id, target.name, plan.from_version, target.version,
                                plan.changes, plan.waiting_after, run_id), actor=actor, process=target)
        prepared = ctx.prepare()
        try:
            with engine.session() as session:
                entry = ctx.write(session, prepared)
                moved = session.execute(update(INSTANCE).where(INSTANCE.c.id == instance_id,
                                                               INSTANCE.c.definition_id == source)
                                        .values(definition_id=target.id))
                if moved.rowcount != 1:  # cannot happen behind the version check; never half-move
                    raise Conflict(f"instance {instance_id} changed version meanwhile", code="instance_changed",
                                   params={"instance": instance_id})
                if track:
                    _mark(session, run_id, instance_id, MIGRATED, None, now)
        except Conflict:
            continue  # another writer saved the dossier since we loaded it: decide again
        if entry is not None:
            engine.cache.put(dossier_id, entry)
        return plan
    raise Conflict(f"dossier {dossier_id} kept changing; instance {instance_id} was not migrated, try again",
                   code="dossier_kept_changing", params={"dossier": dossier_id, "instance": instance_id})


def _mark(target, run_id: int, instance_id: str, status: str, reason: Optional[str], now: datetime) -> None:
    statement = (update(MIGRATION_ITEM).where(MIGRATION_ITEM.c.run_id == run_id,
                                              MIGRATION_ITEM.c.instance_id == instance_id)
                 .values(status=status, reason=reason, updated_at=now.isoformat()))
    if hasattr(target, "session"):  # an Engine: its own short transaction
        with target.session() as session:
            session.execute(statement)
    else:
        target.execute(statement)


# ----------------------------------------------------------------------------- a run


@dataclass
class MigrationReport:
    process: str
    to_version: int
    from_version: Optional[int]
    dry_run: bool
    run_id: Optional[int] = None
    resumed: bool = False
    counts: dict = field(default_factory=dict)  # status -> instances
    reasons: dict = field(default_factory=dict)  # blocking reason -> instances
    instances: list = field(default_factory=list)  # InstancePlan dicts (blocked ones always; all with detail)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        done = sum(self.counts.values())
        return done / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["instances_per_second"] = round(self.rate, 1)
        return out


def candidates(engine, process: str, target: Deployed, from_version: Optional[int] = None,
               dossiers: Optional[Iterable[str]] = None) -> list[tuple[str, str, int]]:
    """(instance id, dossier id, version) of the waiting instances of ``process`` not on ``target``."""
    query = (select(INSTANCE.c.id, INSTANCE.c.dossier_id, DEFINITION.c.version)
             .join(DEFINITION, DEFINITION.c.id == INSTANCE.c.definition_id)
             .where(INSTANCE.c.process_name == process, INSTANCE.c.status == "waiting",
                    INSTANCE.c.definition_id != target.id))
    if from_version is not None:
        query = query.where(DEFINITION.c.version == from_version)
    if dossiers is not None:
        query = query.where(INSTANCE.c.dossier_id.in_(list(dossiers)))
    with engine.reading() as connection:
        return [tuple(row) for row in connection.execute(query.order_by(INSTANCE.c.id))]


def migrate(engine, process: str, to_version: int, *, from_version: Optional[int] = None,
            dossiers: Optional[Iterable[str]] = None, dry_run: bool = False, actor: str = "admin:cli",
            batch: int = DEFAULT_BATCH, detail: bool = False,
            on_progress: Optional[Callable[[int, int], None]] = None) -> MigrationReport:
    """Plan (``dry_run``) or carry out the move of ``process`` instances to ``to_version``.

    A run that was left unfinished for the same process and versions (a crash, a kill) is
    resumed instead of starting a new one. ``batch``: instances read per round trip."""
    dossiers = None if dossiers is None else sorted(set(dossiers))
    if from_version is not None and from_version == to_version:
        raise InvalidInput("$.from", "--from and --to name the same version", code="same_version")
    if batch < 1:
        raise InvalidInput("$.batch", "the batch size must be 1 or more", code="batch_too_small")
    with engine.reading() as connection:
        target = find_version(engine, connection, process, to_version)
        if from_version is not None:
            find_version(engine, connection, process, from_version)
    started = time.perf_counter()
    report = MigrationReport(process, to_version, from_version, dry_run)
    now = engine.clock.now()
    if dry_run:
        items = candidates(engine, process, target, from_version, dossiers)
    else:
        report.run_id, report.resumed = _open_run(engine, process, from_version, to_version, actor, now,
                                                  dossiers)
        items = _pending(engine, report.run_id)
    total = len(items)
    for number, (instance_id, dossier_id, _) in enumerate(items, start=1):
        try:
            plan = migrate_instance(engine, dossier_id, instance_id, target, actor=actor,
                                    from_version=from_version, run_id=report.run_id, dry_run=dry_run)
        except Exception as err:  # noqa: BLE001 - one instance must not stop the run; it is recorded
            log.exception("migration: instance %s failed", instance_id)
            plan = InstancePlan(instance_id, dossier_id, process, 0, to_version, can_migrate=False,
                                reasons=[f"{type(err).__name__}: {err}"], status=FAILED)
            if report.run_id is not None:
                _mark(engine, report.run_id, instance_id, FAILED, plan.reasons[0][:2000], engine.clock.now())
        status = ("can_migrate" if plan.can_migrate else plan.status) if dry_run else plan.status
        report.counts[status] = report.counts.get(status, 0) + 1
        for reason in plan.reasons:
            if plan.status in (BLOCKED, FAILED):
                report.reasons[_reason_key(reason)] = report.reasons.get(_reason_key(reason), 0) + 1
        if detail or plan.status in (BLOCKED, FAILED):
            report.instances.append(plan.to_dict())
        if on_progress is not None and (number % batch == 0 or number == total):
            on_progress(number, total)
    if not dry_run:
        _finish_run(engine, report.run_id, engine.clock.now())
        report.counts = _item_counts(engine, report.run_id)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _reason_key(reason: str) -> str:
    return reason


def _open_run(engine, process: str, from_version: Optional[int], to_version: int, actor: str, now: datetime,
              dossiers: Optional[list[str]]) -> tuple[int, bool]:
    """An unfinished run for the same process and versions (resumed), or a new one with its items."""
    with engine.reading() as connection:
        found = connection.execute(select(MIGRATION_RUN.c.id).where(
            MIGRATION_RUN.c.process == process, MIGRATION_RUN.c.to_version == to_version,
            MIGRATION_RUN.c.status == RUNNING,
            (MIGRATION_RUN.c.from_version == from_version) if from_version is not None
            else MIGRATION_RUN.c.from_version.is_(None)).order_by(MIGRATION_RUN.c.id.desc()).limit(1)).first()
    if found is not None:
        log.info("migration: resuming run %d", found.id)
        return found.id, True
    with engine.reading() as connection:
        target = find_version(engine, connection, process, to_version)
    items = candidates(engine, process, target, from_version, dossiers)
    with engine.session() as session:
        run_id = session.execute(insert(MIGRATION_RUN).values(
            process=process, from_version=from_version, to_version=to_version, actor=actor,
            started_at=now.isoformat(), status=RUNNING).returning(MIGRATION_RUN.c.id)).scalar_one()
        for start in range(0, len(items), 1000):
            session.execute(insert(MIGRATION_ITEM), [
                {"run_id": run_id, "instance_id": i, "dossier_id": d, "from_version": v, "status": PENDING}
                for i, d, v in items[start:start + 1000]])
    return run_id, False


def _pending(engine, run_id: int) -> list[tuple[str, str, int]]:
    with engine.reading() as connection:
        return [tuple(r) for r in connection.execute(
            select(MIGRATION_ITEM.c.instance_id, MIGRATION_ITEM.c.dossier_id, MIGRATION_ITEM.c.from_version)
            .where(MIGRATION_ITEM.c.run_id == run_id, MIGRATION_ITEM.c.status == PENDING)
            .order_by(MIGRATION_ITEM.c.instance_id))]


def _finish_run(engine, run_id: int, now: datetime) -> None:
    with engine.session() as session:
        session.execute(update(MIGRATION_RUN).where(MIGRATION_RUN.c.id == run_id)
                        .values(status=FINISHED, finished_at=now.isoformat()))


def _item_counts(engine, run_id: int) -> dict:
    with engine.reading() as connection:
        rows = connection.execute(select(MIGRATION_ITEM.c.status, func.count())
                                  .where(MIGRATION_ITEM.c.run_id == run_id)
                                  .group_by(MIGRATION_ITEM.c.status)).all()
    return {status: count for status, count in sorted(rows)}


def runs(engine, *, limit: int = 20) -> list[dict]:
    """The latest migration runs with their item counts."""
    with engine.reading() as connection:
        rows = connection.execute(select(MIGRATION_RUN).order_by(MIGRATION_RUN.c.id.desc()).limit(limit)).mappings().all()
    return [{**dict(row), "items": _item_counts(engine, row["id"])} for row in rows]


# ----------------------------------------------------------------------------- replay


def replay_migration(engine, dossier_id: str, payload: dict, actor: str, now: datetime) -> InstancePlan:
    """Re-execute a journaled ``instance_migrated`` on a replay store (engine/replay.py): move the
    replayed instance to the recorded target version the same way, journaling the same fact.
    An instance that cannot move on replay raises (the replay reports it as a divergence)."""
    with engine.reading() as connection:
        target = find_version(engine, connection, payload["process"], int(payload["to_version"]))
    plan = migrate_instance(engine, dossier_id, payload["instance"], target, actor=actor,
                            run_id=payload.get("run"), track=False, now=now)
    if plan.status != MIGRATED:
        raise RuntimeError(f"instance {payload['instance']} does not migrate on replay: {'; '.join(plan.reasons)}")
    return plan
