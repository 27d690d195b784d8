"""One unit of work on one dossier: its aggregate, its loaded process instances, its journal.

Load → change → save happens inside one database transaction; the dossier row's
``version`` guards it (optimistic locking): if another writer saved the dossier in
between, the save is refused with :class:`Conflict` and the transaction rolls back,
so nothing is half-written.

The hot path's statements are SQLAlchemy Core statements built once (plain rows, no ORM
identity map or change tracking), run on the driver's own cursor (:mod:`engine.driver`):
one unit of work is a handful of statements, and the ORM's bookkeeping, then Core's
execution machinery, cost more than the statements themselves (BENCHMARKS.md). After a commit, what was saved is put in
the :class:`engine.cache.DossierCache`, so the next unit of work on the same dossier at
the same version skips reading and deserialising it.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable, Optional

from sqlmodel import Session

from . import atrest, driver, journal, spiff
from . import statements as sql
from .cache import CachedDossier, DossierCache
from .clock import business_date
from .dossier import DossierState, Infraction, decode_state, state_format
from .errors import Conflict, NotFound, Refused
from .facts import Fact, InstanceStarted, TaskCompleted, TimerArmed, TimerDisarmed, TimerMoved, Waiting
from .journal import Recording
from .processes import Deployed, ProcessRepository

USER_STEPS = ("register", "intake", "contract", "mo", "nt2", "vdab", "pnt", "decide")
DOSSIER = sql.DOSSIER
INSTANCE = sql.INSTANCE
DUE_TIMER = sql.DUE_TIMER
AFTER_COMMIT = driver.AFTER_COMMIT  # session.info key: callables the engine runs once the transaction committed


@dataclass
class DossierRow:
    """The ``dossier`` table's row as plain data (see :class:`engine.models.Dossier`)."""

    id: str
    version: int = 0
    target_group: str = ""
    agency: Optional[str] = None
    region: Optional[str] = None
    next_due_at: Optional[int] = None
    waiting_on: str = ""
    state: bytes = b""  # encode_state output (engine/dossier.py)
    journal_seq: int = 0
    journal_head: str = ""
    journal_time: Optional[str] = None
    name_key: Optional[str] = None  # written once, at the import (engine/desk.py)


@dataclass
class InstanceRow:
    """The ``instance`` table's row as plain data; ``stored`` is False until its first save."""

    id: str
    dossier_id: str
    definition_id: int
    process_name: str
    infraction_id: Optional[str] = None
    status: str = "waiting"
    lock_version: int = 0
    state: bytes = b""
    stored: bool = True
    state_format: int = spiff.STATE_FORMAT


@dataclass
class LoadedInstance:
    row: InstanceRow
    workflow: object
    process: Deployed
    infraction_id: Optional[str] = None


def load(session: Session, processes: ProcessRepository, dispatcher: Callable, dossier_id: str, now: datetime,
         *, cache: DossierCache | None = None, lock: bool = False) -> "DossierContext":
    """Load one dossier for a unit of work: from the cache when it holds the row's version.

    ``lock`` takes the row lock (``SELECT … FOR UPDATE``; PostgreSQL — SQLite's writer lock is
    taken at BEGIN)."""
    version = driver.writer(session).scalar(sql.DOSSIER_VERSION_LOCKED if lock else sql.DOSSIER_VERSION,
                                            {"dossier_id": dossier_id})
    if version is None:
        raise NotFound(f"dossier {dossier_id!r} not found", code="dossier_not_found", params={"dossier": dossier_id})
    entry = cache.take(dossier_id, version) if cache is not None else None
    if entry is not None:
        return from_cache(entry, session, processes, dispatcher, now, cache)
    return from_store(session, processes, dispatcher, dossier_id, now, cache)


def from_store(session, processes: ProcessRepository, dispatcher: Callable, dossier_id: str, now: datetime,
               cache: DossierCache | None = None) -> "DossierContext":
    """A unit of work on the dossier as the store holds it (its row, aggregate, waiting instances
    and due-index rows, read in ``session``)."""
    reader = driver.writer(session)
    by_id = {"dossier_id": dossier_id}
    reader.prefetch([(sql.DOSSIER_ROW, by_id), (sql.WAITING_INSTANCES, by_id), (sql.DOSSIER_TIMERS, by_id)])
    found = next(iter(reader.rows(sql.DOSSIER_ROW, by_id)), None)
    if found is None:
        raise NotFound(f"dossier {dossier_id!r} not found", code="dossier_not_found", params={"dossier": dossier_id})
    row = DossierRow(**found)
    state = stored_state(session, row)
    ctx = DossierContext(session, processes, dispatcher, row, state, now, cache=cache)
    ctx.load_instances(reader)
    return ctx


def from_cache(entry: CachedDossier, session, processes: ProcessRepository, dispatcher: Callable,
               now: datetime, cache: DossierCache) -> "DossierContext":
    """A unit of work on a cache entry taken out of ``cache``; a packed entry is rebuilt from the
    rows as written, without reading them again."""
    state = DossierState.from_json(decode_state(entry.row.state)) if entry.packed else entry.state
    ctx = DossierContext(session, processes, dispatcher, entry.row, state, now, cache=cache)
    for kept in entry.instances.values():
        if entry.packed:
            ctx._restore(kept)  # an InstanceRow
        else:
            ctx._bind(kept)  # a LoadedInstance
            ctx.instances[kept.row.id] = kept
    ctx._old_timers = set(entry.timers)
    return ctx


def stored_state(session, row) -> DossierState:
    """The aggregate stored in a dossier row (a :class:`DossierRow` or :class:`engine.models.Dossier`),
    upcast when release 0.1 wrote it: a state of format 1 did not keep the waiting steps (the row's
    ``waiting_on`` has them) nor whether a trajectory was started (its ``instance`` rows say so, also
    for a dossier excluded later). ``session``: a Session or Connection in which to read them."""
    data = decode_state(row.state)
    if state_format(data) != 1:
        return DossierState.from_json(data)
    started = driver.writer(session).rows(sql.TRAJECTORY_STARTED, {"dossier_id": row.id})
    return DossierState.from_json(data, waiting=(row.waiting_on or "").split(","), has_trajectory=bool(started))


class ProcessStateError(RuntimeError):
    """The BPMN did not do what the engine asked (a user task that is not ready, a signal nobody
    catches): the engine and its process models disagree. Never ignored: the unit of work fails
    and nothing is written."""


class DossierContext:
    """Everything a command, a timer firing or a service operation needs about one dossier."""

    def __init__(self, session: Session, processes: ProcessRepository, dispatcher: Callable,
                 row: DossierRow, state: DossierState, now: datetime, *, is_new: bool = False,
                 cache: DossierCache | None = None):
        self.session = session
        self.processes = processes
        self.dispatcher = dispatcher
        self.row = row
        self.state = state
        if row.journal_time and datetime.fromisoformat(row.journal_time) > now:
            now = datetime.fromisoformat(row.journal_time)  # a dossier's time never goes back (journal.link)
        self.now = now
        self.today: date = business_date(now)
        self.facts: list[Recording] = []
        self.instances: dict[str, LoadedInstance] = {}
        self.is_new = is_new
        self.cache = cache
        self._loaded_version = row.version
        self._old_timers: set[tuple[str, str, int]] = set()
        #: why an infraction is being closed, for the BPMN's close_infraction service task
        self.closing: dict[str, tuple[str, date]] = {}

    # ----- journal --------------------------------------------------------
    def emit(self, fact: Fact, *, actor: str = "system", process: Deployed | None = None) -> Fact:
        """Apply a fact to the dossier and journal it: the only way the dossier changes."""
        fact.apply(self.state)
        self.facts.append(Recording(fact, actor, process.label if process else None))
        return fact

    # ----- instances ------------------------------------------------------
    def load_instances(self, reader=None) -> None:
        """The waiting instances and their due-index rows, read by ``reader`` (the one that was asked
        to prefetch them) or else in this context's session."""
        reader = driver.writer(self.session) if reader is None else reader
        for found in reader.rows(sql.WAITING_INSTANCES, {"dossier_id": self.row.id}):
            self._restore(InstanceRow(**found))
        timers = reader.rows(sql.DOSSIER_TIMERS, {"dossier_id": self.row.id})
        # (the instance rows read above: spiff.load_state reads each blob through its format's upcaster)
        self._old_timers = {(t["instance_id"], t["timer"], t["due_at"]) for t in timers}

    def _restore(self, row: InstanceRow) -> None:
        """Rebuild a waiting instance from its row (its state blob, read through its format's upcaster)."""
        spec = self.processes.spec(self.session, row.definition_id)
        text = zlib.decompress(row.state)
        workflow = spiff.load_state(atrest.loads(text), spec, row.state_format, plain=spiff.is_plain(text))
        loaded = LoadedInstance(row, workflow, self.processes.describe(row.definition_id), row.infraction_id)
        self._bind(loaded)
        self.instances[row.id] = loaded

    def _bind(self, loaded: LoadedInstance) -> None:
        infraction_id = loaded.infraction_id

        def due(name: str):
            if name == "regularisation":
                fires = self.state.infraction(infraction_id).regularisation_fires_at()
                return fires.isoformat() if fires else None
            return self.state.due(name)

        def dispatch(task, operation: str, params: dict) -> dict:
            return self.dispatcher(self, loaded, task, operation, params)

        spiff.bind(loaded.workflow, _ClockAt(self.now), dispatch, {"due": due})

    def start_instance(self, name: str, infraction: Infraction | None = None) -> LoadedInstance:
        process = self.processes.current(name)
        spec = self.processes.spec(self.session, process.id)
        # Deterministic ids, so that a replay of the journal reproduces every entry to the letter.
        instance_id = f"{self.row.id}:{infraction.id.rsplit('/', 1)[1] if infraction else 0}:{name}"
        row = InstanceRow(id=instance_id, dossier_id=self.row.id, definition_id=process.id,
                          process_name=name, infraction_id=infraction.id if infraction else None, stored=False)
        loaded = LoadedInstance(row, spiff.new_workflow(spec), process, row.infraction_id)
        self._bind(loaded)
        self.instances[row.id] = loaded
        self.emit(InstanceStarted(row.id, name, row.infraction_id), process=process)
        spiff.run(loaded.workflow)
        return loaded

    def trajectory(self) -> Optional[LoadedInstance]:
        return next((i for i in self.instances.values() if i.process.name == "trajectory"), None)

    def enforcement(self, infraction_id: str) -> Optional[LoadedInstance]:
        return next((i for i in self.instances.values() if i.infraction_id == infraction_id), None)

    # ----- the BPMN: what it waits for, and driving it ----------------------------------
    def ready_steps(self) -> list[str]:
        """The caseworker steps the trajectory waits on (its ready user tasks)."""
        loaded = self.trajectory()
        return spiff.ready_user_tasks(loaded.workflow) if loaded is not None else []

    def step_ready(self, step: str) -> bool:
        loaded = self.trajectory()
        return loaded is not None and spiff.ready_user_task(loaded.workflow, step) is not None

    def model_has_step(self, step: str) -> bool:
        """Whether the trajectory's process version has a task ``step`` at all."""
        loaded = self.trajectory()
        return loaded is not None and step in loaded.workflow.spec.task_specs

    def step_done(self, step: str) -> bool:
        """Whether the trajectory has completed the task ``step`` (e.g. it is past the contract)."""
        loaded = self.trajectory()
        return loaded is not None and spiff.task_completed(loaded.workflow, step)

    def complete_task(self, step: str, data: dict, *, actor: str) -> None:
        """Complete the trajectory's ready user task ``step``; :class:`ProcessStateError` when it is not ready
        (the gate, :mod:`engine.gate`, lets an event through only when its task waits)."""
        loaded = self.trajectory()
        data = _task_data(data)
        if loaded is None or not spiff.complete_user_task(loaded.workflow, step, data):
            raise ProcessStateError(f"dossier {self.row.id}: the trajectory does not wait on {step!r} "
                                    f"(it waits on {self.ready_steps()})")
        self.emit(TaskCompleted(step, data), actor=actor, process=loaded.process)

    def complete_decision(self, infraction_id: str, data: dict, *, actor: str) -> None:
        """Complete the ``decide`` task of an infraction's enforcement instance."""
        loaded = self.enforcement(infraction_id)
        if loaded is None or not spiff.complete_user_task(loaded.workflow, "decide", data):
            raise ProcessStateError(f"infraction {infraction_id} does not wait for a decision")
        self.emit(TaskCompleted("decide", _task_data(data), infraction_id), actor=actor, process=loaded.process)

    def decision_waits(self, infraction_id: str) -> bool:
        loaded = self.enforcement(infraction_id)
        return loaded is not None and spiff.ready_user_task(loaded.workflow, "decide") is not None

    def close_infraction(self, infraction: Infraction, signal: str, reason: str, on: date) -> None:
        """Throw ``signal`` (regularised, annulled, withdrawn) into the infraction's enforcement instance,
        whose close_infraction service task records why (:meth:`closing`). The instance must catch it.
        One on an older process version that cannot (release 0.1's enforcement has no ``withdrawn``
        signal, nor a regularisation after the hand-over) refuses the event: 409
        ``process_version_cannot``, nothing changed. One on the current version that does not is a
        :class:`ProcessStateError` (the engine and its process model disagree: an incident)."""
        loaded = self.enforcement(infraction.id)
        if loaded is None:
            raise ProcessStateError(f"infraction {infraction.id} has no running enforcement instance")
        self.closing[infraction.id] = (reason, on)
        before = infraction.outcome
        spiff.throw_signal(loaded.workflow, signal)
        if infraction.outcome == before:
            current = self.processes.current(loaded.process.name)
            if current.id != loaded.process.id:
                raise Refused(f"infraction {infraction.id} is {before} in process version {loaded.process.label}, "
                              f"which cannot close it as {signal}; nothing was changed. Move its instance to "
                              f"{current.label} (inburgering migrate) where it can move, or let the enforcement "
                              "officer decide it", code="process_version_cannot",
                              params={"infraction": infraction.id, "outcome": before, "signal": signal,
                                      "process": loaded.process.label, "current": current.label})
            raise ProcessStateError(f"enforcement instance of {infraction.id} ({loaded.process.label}) did not "
                                    f"catch the signal {signal!r} while {before}")

    def restart_step(self, step: str, timer: str) -> bool:
        """Start the trajectory's ready user task ``step`` over, with the boundary events attached to it,
        when its boundary ``timer`` no longer waits (a non-interrupting timer that fired is used up).

        For an obligation that starts again (scenarios README "Status changes"): a newcomer whose
        registration deadline fired, who then was no longer obligated and becomes obligated again, gets
        a new registration deadline, and the ``registration_deadline`` timer must wait for it. Spiff's
        reset of the task's branch re-creates the boundary events (Spiff 3.2 ``reset_from_task_id``
        resets every branch of the ``BoundaryEventSplit``); what the old branches did stays in the
        journal. Whether it restarted."""
        loaded = self.trajectory()
        task = spiff.ready_user_task(loaded.workflow, step) if loaded is not None else None
        if task is None or spiff.timer_waits(loaded.workflow, timer):
            return False
        spiff.reset_to(loaded.workflow, task)
        spiff.run(loaded.workflow)
        if spiff.ready_user_task(loaded.workflow, step) is None or not spiff.timer_waits(loaded.workflow, timer):
            raise ProcessStateError(f"dossier {self.row.id}: restarting {step!r} did not make {timer!r} wait "
                                    f"({loaded.process.label})")
        return True

    def signal_trajectory(self, name: str) -> bool:
        """Throw a signal into the trajectory; whether an event caught it (e.g. ``registered`` ends the
        re-registration loop only when that loop waits)."""
        loaded = self.trajectory()
        return loaded is not None and spiff.throw_signal(loaded.workflow, name)

    def due_timers(self) -> list[str]:
        """Names of the timers whose due instant has passed (from the due-date index rows loaded)."""
        cutoff = int(self.now.timestamp())
        return sorted(name for _, name, due_at in self._old_timers if due_at <= cutoff)

    def run_all(self) -> None:
        """Refresh timers and run engine steps in every loaded instance (the sweep's firing)."""
        for loaded in list(self.instances.values()):
            spiff.run(loaded.workflow)

    # ----- save -----------------------------------------------------------
    def save(self, *, live: bool = True) -> None:
        """Prepare and write this unit of work in the context's session (see :meth:`prepare`);
        what was saved goes into the cache once the session's transaction commits, live or, with
        ``live=False``, packed (:meth:`engine.cache.DossierCache.put`)."""
        entry = self.write(self.session, self.prepare())
        if entry is not None:
            cache = self.cache
            self.session.info.setdefault(AFTER_COMMIT, []).append(lambda: cache.put(entry.row.id, entry, live=live))

    def prepare(self) -> "Prepared":
        """Everything to write, computed in memory: instance blobs, journal entries, due-index rows.

        No database access, so it runs before the writing transaction begins and the write lock
        is held only for :meth:`write`'s statements. It closes the unit of work: call it once."""
        new_timers: set[tuple[str, str, int]] = set()
        waiting: set[str] = set()
        for loaded in self.instances.values():
            ready, timers = spiff.waiting_summary(loaded.workflow)
            for name, due in timers:
                if due is not None:
                    new_timers.add((loaded.row.id, name, int(due.timestamp())))
            waiting.update(s for s in ready if s in USER_STEPS)
        self._journal_timer_changes(new_timers)
        if sorted(waiting) != sorted(self.state.waiting):
            self.emit(Waiting(sorted(waiting)))
        row, state = self.row, self.state
        row.target_group = state.target_group
        row.agency = state.agency
        row.region = state.region
        row.waiting_on = ",".join(sorted(waiting))
        row.next_due_at = min((t[2] for t in new_timers), default=None)
        row.state = state.encoded()
        entries = journal.link(row, self.now, self.facts)
        self.facts = []
        blobs = []
        for loaded in self.instances.values():
            workflow = loaded.workflow
            blob = atrest.compress(atrest.dumps(spiff.dump_state(workflow)))
            status = "completed" if workflow.completed else "waiting"
            if not loaded.row.stored or blob != loaded.row.state or status != loaded.row.status:
                blobs.append((loaded.row, blob, status))  # an unchanged instance is not rewritten
        return Prepared(entries, blobs, new_timers, new_timers != self._old_timers)

    def write(self, session, prepared: "Prepared") -> CachedDossier | None:
        """Write what :meth:`prepare` computed (the statements of :mod:`engine.statements`, in the
        transaction of ``session``: a Session, a Connection or an :mod:`engine.driver` writer);
        return the cache entry to put once that transaction committed.

        The dossier row goes first and only at the version loaded: a stale writer gets
        :class:`Conflict` before anything else is written."""
        writer = driver.writer(session)
        row = self.row
        values = {name: getattr(row, name) for name in sql.DOSSIER_VALUES}
        if self.is_new:
            from .desk import name_key  # the name is set once, by the register extract

            writer.send(sql.DOSSIER_INSERT, {"id": row.id, "version": 1,
                                                 "name_key": name_key(self.state.newcomer.get("name")), **values})
            row.version = 1
        else:
            updated = writer.execute(sql.DOSSIER_UPDATE, {"dossier_id": row.id, "loaded": self._loaded_version,
                                                          "version": self._loaded_version + 1, **values})
            if updated != 1:
                raise Conflict(f"dossier {row.id} was changed by someone else "
                               f"(version {self._loaded_version} is stale); nothing was saved", code="concurrent_change",
                               params={"dossier": row.id, "version": self._loaded_version})
            row.version = self._loaded_version + 1
        journal.write(writer, prepared.entries)
        for instance, blob, status in prepared.blobs:
            if not instance.stored:
                writer.send(sql.INSTANCE_INSERT, {
                    "id": instance.id, "dossier_id": instance.dossier_id, "definition_id": instance.definition_id,
                    "process_name": instance.process_name, "infraction_id": instance.infraction_id,
                    "status": status, "lock_version": 1, "state": blob, "state_format": spiff.STATE_FORMAT})
                instance.lock_version, instance.stored = 1, True
            else:
                instance.lock_version += 1
                writer.send(sql.INSTANCE_UPDATE, {"instance_id": instance.id, "state": blob, "status": status,
                                                      "lock_version": instance.lock_version,
                                                      "state_format": spiff.STATE_FORMAT})
            instance.state_format = spiff.STATE_FORMAT
            instance.state, instance.status = blob, status
        if prepared.timers_changed:
            writer.send(sql.DOSSIER_TIMERS_DELETE, {"dossier_id": row.id})
            if prepared.timers:
                writer.executemany(sql.TIMER_INSERT, [
                    {"dossier_id": row.id, "instance_id": instance_id, "timer": name, "due_at": due_at}
                    for instance_id, name, due_at in sorted(prepared.timers)])
        if self.cache is None:
            return None
        return CachedDossier(row.version, row, self.state,
                             {i: li for i, li in self.instances.items() if li.row.status == "waiting"},
                             prepared.timers)

    def _journal_timer_changes(self, new_timers: set) -> None:
        old_keys = {(i, n): d for i, n, d in self._old_timers}
        new_keys = {(i, n): d for i, n, d in new_timers}
        changes = []
        for key, due_at in sorted(new_keys.items()):
            if old_keys.get(key) != due_at:
                kind = TimerArmed if key not in old_keys else TimerMoved
                changes.append((kind, key, due_at))
        for key in sorted(set(old_keys) - set(new_keys)):
            changes.append((TimerDisarmed, key, old_keys[key]))
        for kind, (instance_id, name), due_at in changes:
            self.emit(kind(instance_id, name, datetime.fromtimestamp(due_at, timezone.utc).isoformat()))


@dataclass
class Prepared:
    """The rows one unit of work writes (:meth:`DossierContext.prepare`)."""

    entries: list  # journal rows, chained
    blobs: list  # (InstanceRow, compressed state, status) of the new and changed instances
    timers: set  # the due-index rows after this unit of work
    timers_changed: bool


def _task_data(data: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


class _ClockAt:
    """The instant of this unit of work, as the clock the Spiff timers ask."""

    def __init__(self, now: datetime):
        self._now = now

    def now(self) -> datetime:
        return self._now
