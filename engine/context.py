"""One unit of work on one dossier: its aggregate, its loaded process instances, its journal.

Load → change → save happens inside one database transaction; the dossier row's
``version`` guards it (optimistic locking): if another writer saved the dossier in
between, the save is refused with :class:`Conflict` and the transaction rolls back,
so nothing is half-written.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable, Optional

from sqlalchemy import delete, update
from sqlmodel import Session, select

from . import spiff
from .clock import business_date
from .dossier import DossierState, Infraction
from .errors import Conflict
from .journal import Fact, append
from .models import Dossier, DueTimer, Instance
from .processes import Deployed, ProcessRepository

USER_STEPS = ("register", "intake", "contract", "mo", "nt2", "vdab", "pnt", "decide")


@dataclass
class LoadedInstance:
    row: Instance
    workflow: object
    process: Deployed
    infraction_id: Optional[str] = None


class DossierContext:
    """Everything a command, a timer firing or a service operation needs about one dossier."""

    def __init__(self, session: Session, processes: ProcessRepository, dispatcher: Callable,
                 row: Dossier, state: DossierState, now: datetime, *, is_new: bool = False):
        self.session = session
        self.processes = processes
        self.dispatcher = dispatcher
        self.row = row
        self.state = state
        self.now = now
        self.today: date = business_date(now)
        self.facts: list[Fact] = []
        self.instances: dict[str, LoadedInstance] = {}
        self.is_new = is_new
        self._loaded_version = row.version
        self._old_timers: set[tuple[str, str, int]] = set()

    # ----- journal --------------------------------------------------------
    def record(self, kind: str, payload: dict, *, actor: str = "system", process: Deployed | None = None,
               ruleset: str | None = None, rule_version: str | None = None) -> None:
        self.facts.append(Fact(kind, payload, actor, process.label if process else None, ruleset, rule_version))

    # ----- instances ------------------------------------------------------
    def load_instances(self) -> None:
        rows = self.session.exec(select(Instance).where(Instance.dossier_id == self.row.id,
                                                        Instance.status == "waiting")).all()
        for row in rows:
            spec = self.processes.spec(self.session, row.definition_id)
            workflow = spiff.load_state(json.loads(zlib.decompress(row.state)), spec)
            loaded = LoadedInstance(row, workflow, self.processes.describe(row.definition_id), row.infraction_id)
            self._bind(loaded)
            self.instances[row.id] = loaded
        for timer in self.session.exec(select(DueTimer).where(DueTimer.dossier_id == self.row.id)):
            self._old_timers.add((timer.instance_id, timer.timer, timer.due_at))

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
        row = Instance(id=instance_id, dossier_id=self.row.id, definition_id=process.id,
                       process_name=name, infraction_id=infraction.id if infraction else None,
                       state=b"")
        loaded = LoadedInstance(row, spiff.new_workflow(spec), process, row.infraction_id)
        self._bind(loaded)
        self.instances[row.id] = loaded
        self.record("instance_started", {"instance": row.id, "process": name,
                                         "infraction": row.infraction_id}, process=process)
        spiff.run(loaded.workflow)
        return loaded

    def trajectory(self) -> Optional[LoadedInstance]:
        return next((i for i in self.instances.values() if i.process.name == "trajectory"), None)

    def enforcement(self, infraction_id: str) -> Optional[LoadedInstance]:
        return next((i for i in self.instances.values() if i.infraction_id == infraction_id), None)

    def complete_step(self, step: str, data: dict, *, actor: str) -> bool:
        """Complete the trajectory's ready user task ``step``; False when it is not ready."""
        loaded = self.trajectory()
        if loaded is None or not spiff.complete_user_task(loaded.workflow, step, data):
            return False
        self.record("task_completed", {"task": step, "data": data}, actor=actor, process=loaded.process)
        return True

    def signal(self, infraction_id: str, name: str) -> None:
        loaded = self.enforcement(infraction_id)
        if loaded is not None:
            spiff.throw_signal(loaded.workflow, name)

    def signal_trajectory(self, name: str) -> None:
        loaded = self.trajectory()
        if loaded is not None:
            spiff.throw_signal(loaded.workflow, name)

    def due_timers(self) -> list[str]:
        """Names of the timers whose due instant has passed (from the due-date index rows loaded)."""
        cutoff = int(self.now.timestamp())
        return sorted(name for _, name, due_at in self._old_timers if due_at <= cutoff)

    def run_all(self) -> None:
        """Refresh timers and run engine steps in every loaded instance (the sweep's firing)."""
        for loaded in list(self.instances.values()):
            spiff.run(loaded.workflow)

    # ----- save -----------------------------------------------------------
    def save(self) -> None:
        new_timers: set[tuple[str, str, int]] = set()
        waiting: set[str] = set()
        for loaded in self.instances.values():
            workflow = loaded.workflow
            loaded.row.state = zlib.compress(json.dumps(spiff.dump_state(workflow), separators=(",", ":"))
                                             .encode(), 6)
            loaded.row.status = "completed" if workflow.completed else "waiting"
            loaded.row.lock_version += 1
            ready, timers = spiff.waiting_summary(workflow)
            for name, due in timers:
                if due is not None:
                    new_timers.add((loaded.row.id, name, int(due.timestamp())))
            waiting.update(s for s in ready if s in USER_STEPS)
        self._journal_timer_changes(new_timers)
        state = self.state
        self.row.target_group = state.target_group
        self.row.agency = state.agency
        self.row.region = state.region
        self.row.waiting_on = ",".join(sorted(waiting))
        self.row.next_due_at = min((t[2] for t in new_timers), default=None)
        self.row.state = json.dumps(state.to_json(), separators=(",", ":"))
        append(self.session, self.row, self.now, self.facts)
        self.facts = []
        if self.is_new:
            self.row.version = 1
            self.session.add(self.row)
            self.session.flush()
        else:
            result = self.session.execute(
                update(Dossier).where(Dossier.id == self.row.id, Dossier.version == self._loaded_version)
                .values(version=self._loaded_version + 1, target_group=self.row.target_group,
                        agency=self.row.agency, region=self.row.region, waiting_on=self.row.waiting_on,
                        next_due_at=self.row.next_due_at, state=self.row.state,
                        journal_seq=self.row.journal_seq, journal_head=self.row.journal_head)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                raise Conflict(f"dossier {self.row.id} was changed by someone else "
                               f"(version {self._loaded_version} is stale); nothing was saved")
            self.row.version = self._loaded_version + 1
        for loaded in self.instances.values():
            self.session.add(loaded.row)
        if self._old_timers != new_timers:
            self.session.execute(delete(DueTimer).where(DueTimer.dossier_id == self.row.id))
            for instance_id, name, due_at in sorted(new_timers):
                self.session.add(DueTimer(dossier_id=self.row.id, instance_id=instance_id, timer=name,
                                          due_at=due_at))
        self.session.flush()

    def _journal_timer_changes(self, new_timers: set) -> None:
        old_keys = {(i, n): d for i, n, d in self._old_timers}
        new_keys = {(i, n): d for i, n, d in new_timers}
        changes = []
        for key, due_at in sorted(new_keys.items()):
            if old_keys.get(key) != due_at:
                kind = "timer_armed" if key not in old_keys else "timer_moved"
                changes.append((kind, key, due_at))
        for key in sorted(set(old_keys) - set(new_keys)):
            changes.append(("timer_disarmed", key, old_keys[key]))
        for kind, (instance_id, name), due_at in changes:
            self.facts.append(Fact(kind, {"instance": instance_id, "timer": name,
                                          "due_at": datetime.fromtimestamp(due_at, timezone.utc).isoformat()}))


class _ClockAt:
    """The instant of this unit of work, as the clock the Spiff timers ask."""

    def __init__(self, now: datetime):
        self._now = now

    def now(self) -> datetime:
        return self._now
