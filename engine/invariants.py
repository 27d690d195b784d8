"""The invariant: what the BPMN's wait states and the aggregate must agree on (issue 11, point 1).

The engine keeps one dossier in three stores that must tell the same story: the aggregate
(:class:`engine.dossier.DossierState`, a projection of the journal), the process instances
(``processes/*.bpmn``, the gate of every event) and the due-timer index the sweep reads. This
module writes down, for every wait state, which aggregate fields must hold, and checks it on
what is *stored* — the dossier row, every instance of the dossier (completed ones too) and the
due-timer rows — so a property test can run it after every accepted or refused event.

:func:`check` returns the violations as sentences (an empty list when the dossier is
consistent); :func:`journal_violations` checks that the whole journal folds to the stored state.

The rules (TRAJECTORY.md §4-§6; scenarios README "Order of steps", "Late-recorded facts",
"Status changes"; processes/README.md for the element ids):

Dossier
  * the row's target group, agency, region and ``waiting_on`` are the aggregate's;
  * ``state.waiting`` is exactly the ready user tasks of the waiting instances;
  * a trajectory instance exists iff ``has_trajectory``; every dossier that is not excluded has one;
  * a deadline runs only for an obligated newcomer (scenarios README "Annulment").

Trajectory (one instance)
  * ``register`` ready ⟺ not registered; ``register`` completed ⟺ registered;
  * ``intake`` ready ⟺ registered, no intake and no contract; an intake recorded ⟹ ``intake`` completed;
    ``intake`` completed without an intake ⟹ a contract (signed while the intake waited, which completes
    it as skipped: :mod:`engine.gate`; the trajectory is linear, processes/README.md);
  * ``contract`` ready ⟺ registered, an intake and no contract; ``contract`` completed ⟺ a contract;
  * a component task (mo, nt2, vdab, pnt) ready ⟺ a contract and the component not fulfilled;
    completed ⟺ fulfilled; a component not listed in the contract (or outside its regime) is
    fulfilled on the contract day; a listed one is fulfilled on or after it;
  * ``attest_on`` set ⟺ ``issue_attest_task`` completed ⟺ (a contract and every component
    fulfilled), and then ``attest_on`` = the last fulfilment day;
  * a B1 deadline ⟺ an attest in the B1 scope; ``b1_due_on`` = its last timely day; a B1 outcome
    ⟹ ``b1_check_task`` completed.

Deadlines and timers
  * a running registration / VDAB deadline is not already met by a fact on or before its last day;
  * every running deadline has its timer waiting, due at the deadline's firing instant; the
    due-timer rows are exactly the timers the waiting instances wait on (and ``next_due_at``
    their minimum).

Infractions (one enforcement instance each)
  * ``open`` ⟺ the instance waits at ``await_regularisation`` (with a notice and a period, and
    its timer due the day after the period); ``handed_over`` ⟺ its ``decide`` is ready (with a
    hand-over date); closed or decided ⟹ the instance completed;
  * ``fined`` ⟺ a fine amount; ``withdrawn``/``regularised`` ⟹ no hand-over date;
  * one at a time: at most one ``open`` infraction per type (and component).
"""
from __future__ import annotations

import json
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Optional

from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from rules import dates

from . import spiff
from .clock import brussels_instant
from .dossier import COMPONENTS, DECIDED, DossierState, decode_state
from .models import Dossier, DueTimer, Instance, JournalEntry

#: the trajectory timer that waits for each deadline (processes/README.md, element-ID contract)
DEADLINE_TIMERS = {
    "registration": ("registration_deadline",),
    "reregistration": ("reregistration_deadline", "await_reregistration"),
    "vdab": ("vdab_deadline",),
    "b1": ("b1_due",),
}
CLOSED = ("regularised", "withdrawn", "annulled")


@dataclass
class StoredInstance:
    """One instance row of the dossier with its loaded workflow."""

    id: str
    process: str
    infraction_id: Optional[str]
    status: str
    workflow: object

    def tasks(self, state: int) -> list:
        return spiff._tasks_in(self.workflow, state)

    def ready(self, name: str) -> bool:
        return any(t.task_spec.name == name and t.task_spec.manual for t in self.tasks(TaskState.READY))

    def waiting_at(self, name: str) -> bool:
        return any(t.task_spec.name == name for t in self.tasks(TaskState.WAITING))

    def completed_task(self, name: str) -> bool:
        return spiff.task_completed(self.workflow, name)

    def has_task(self, name: str) -> bool:
        return name in self.workflow.spec.task_specs


@dataclass
class Stored:
    """Everything stored about one dossier (the input of :func:`violations`)."""

    row: dict
    state: DossierState
    instances: list[StoredInstance]
    timers: set  # (instance id, timer name, due_at epoch seconds)


def load(engine, dossier_id: str) -> Stored:
    """Read one dossier's row, state, every instance (waiting and completed) and its due-timer rows."""
    with engine.reading() as connection:
        row = connection.execute(select(Dossier.__table__).where(Dossier.__table__.c.id == dossier_id)) \
            .mappings().one()
        rows = connection.execute(select(Instance.__table__).where(Instance.__table__.c.dossier_id == dossier_id)
                                  .order_by(Instance.__table__.c.id)).mappings().all()
        instances = []
        for found in rows:
            workflow = _workflow(engine, connection, found["definition_id"], found["state_format"], found["state"])
            instances.append(StoredInstance(found["id"], found["process_name"], found["infraction_id"],
                                            found["status"], workflow))
        timers = {(t.instance_id, t.timer, t.due_at) for t in connection.execute(
            select(DueTimer.__table__).where(DueTimer.__table__.c.dossier_id == dossier_id))}
    state = DossierState.from_json(decode_state(row["state"]))
    return Stored(dict(row), state, instances, timers)


#: parsed instance states by (definition, format, stored bytes): a completed instance never changes,
#: so checking a dossier after every event does not parse all its instances again
_PARSED: "OrderedDict[tuple, object]" = OrderedDict()
_PARSED_MAX = 1024


def _workflow(engine, connection, definition_id: int, state_format: int, blob: bytes):
    spec = engine.processes.spec(connection, definition_id)
    key = (definition_id, state_format, bytes(blob))
    cached = _PARSED.get(key)
    if cached is not None and cached[0] is spec:  # the same parsed spec: not another store's version
        _PARSED.move_to_end(key)
        return cached[1]
    workflow = spiff.load_state(json.loads(zlib.decompress(blob)), spec, state_format)
    _PARSED[key] = (spec, workflow)
    while len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return workflow


def check(engine_or_ctx, dossier_id: str) -> list[str]:
    """The violations of the invariant by the stored dossier ``dossier_id`` (an empty list when none).

    ``engine_or_ctx``: an :class:`engine.service.Engine`, whose store is read (row, state, every
    instance, due-timer rows); or a :class:`engine.context.DossierContext`, checked on what it holds
    in memory (its state, its loaded — waiting — instances and the timers it would write), e.g.
    inside a unit of work before it is saved."""
    if hasattr(engine_or_ctx, "reading"):
        return violations(load(engine_or_ctx, dossier_id))
    return violations(_from_context(engine_or_ctx))


def _from_context(ctx) -> Stored:
    instances = [StoredInstance(i.row.id, i.process.name, i.infraction_id,
                                "completed" if i.workflow.completed else "waiting", i.workflow)
                 for i in ctx.instances.values()]
    timers = set()
    for loaded in ctx.instances.values():
        for name, due in spiff.waiting_summary(loaded.workflow)[1]:
            if due is not None:
                timers.add((loaded.row.id, name, int(due.timestamp())))
    row = {"target_group": ctx.state.target_group, "agency": ctx.state.agency, "region": ctx.state.region,
           "waiting_on": ",".join(sorted(ctx.state.waiting)),
           "next_due_at": min((t[2] for t in timers), default=None), "partial": True}
    return Stored(row, ctx.state, instances, timers)


# ---------------------------------------------------------------- the rules


def violations(stored: Stored) -> list[str]:
    out: list[str] = []
    state = stored.state
    _dossier(stored, out)
    trajectory = [i for i in stored.instances if i.process == "trajectory"]
    if len(trajectory) > 1:
        out.append(f"{len(trajectory)} trajectory instances")
    if trajectory:
        _trajectory(state, trajectory[0], out)
    _deadlines(stored, trajectory[0] if trajectory else None, out)
    _infractions(stored, out)
    return out


def _dossier(stored: Stored, out: list[str]) -> None:
    state, row = stored.state, stored.row
    for name in ("target_group", "agency", "region"):
        if row[name] != getattr(state, name):
            out.append(f"dossier row {name}={row[name]!r} but the state says {getattr(state, name)!r}")
    ready = sorted({name for i in stored.instances if i.status == "waiting"
                    for name in spiff.ready_user_tasks(i.workflow)})
    if sorted(state.waiting) != ready:
        out.append(f"state.waiting={sorted(state.waiting)} but the ready user tasks are {ready}")
    if row["waiting_on"] != ",".join(sorted(state.waiting)):
        out.append(f"dossier row waiting_on={row['waiting_on']!r} but state.waiting={state.waiting}")
    has_trajectory = any(i.process == "trajectory" for i in stored.instances)
    if not row.get("partial") and has_trajectory != state.has_trajectory:
        out.append(f"has_trajectory={state.has_trajectory} but a trajectory instance "
                   f"{'exists' if has_trajectory else 'does not exist'}")
    if state.target_group in ("obligated", "entitled") and not state.has_trajectory:
        out.append(f"{state.target_group} dossier without a trajectory")
    for i in stored.instances:
        if (i.status == "completed") != bool(i.workflow.completed):
            out.append(f"instance {i.id} stored as {i.status} but its workflow is "
                       f"{'completed' if i.workflow.completed else 'not completed'}")


def _trajectory(state: DossierState, t: StoredInstance, out: list[str]) -> None:
    registered = state.registered_on is not None
    contract = state.contract_signed_on is not None

    def agree(what: str, bpmn: bool, aggregate: bool, fields: str) -> None:
        if bpmn != aggregate:
            out.append(f"trajectory: {what} is {bpmn} but {fields} gives {aggregate}")

    agree("register ready", t.ready("register"), not registered and t.status == "waiting", "registered_on")
    agree("register completed", t.completed_task("register"), registered, "registered_on")
    agree("intake ready", t.ready("intake"), registered and state.intake_on is None and not contract,
          "registered_on/intake_on/contract_signed_on")
    if state.intake_on is not None and not t.completed_task("intake"):
        out.append("trajectory: an intake is recorded but the intake task did not complete")
    if t.completed_task("intake") and state.intake_on is None and not contract:
        out.append("trajectory: the intake task completed but no intake or contract is recorded")
    agree("contract ready", t.ready("contract"), registered and state.intake_on is not None and not contract,
          "registered_on/intake_on/contract_signed_on")
    agree("contract completed", t.completed_task("contract"), contract, "contract_signed_on")
    if contract and state.registered_on is not None and state.contract_signed_on < state.registered_on:
        out.append(f"contract {state.contract_signed_on} before the registration {state.registered_on}")
    for name in COMPONENTS:
        component = state.components[name]
        fulfilled = component.fulfilled_on is not None
        if not t.has_task(name):
            continue
        agree(f"{name} ready", t.ready(name), contract and not fulfilled, f"components.{name}")
        agree(f"{name} completed", t.completed_task(name), fulfilled, f"components.{name}.fulfilled_on")
        if fulfilled and not contract:
            out.append(f"component {name} fulfilled without a contract")
        if contract and fulfilled:
            if not component.listed and component.fulfilled_on != state.contract_signed_on:
                out.append(f"component {name} is not in the contract but fulfilled on {component.fulfilled_on}, "
                           f"not on the contract day {state.contract_signed_on}")
            if component.fulfilled_on < state.contract_signed_on:
                out.append(f"component {name} fulfilled on {component.fulfilled_on}, before the contract")
    everything = contract and state.all_components_fulfilled()
    attest_task = t.completed_task("issue_attest_task")
    if (state.attest_on is not None) != attest_task:
        out.append(f"attest_on={state.attest_on} but issue_attest_task {'did' if attest_task else 'did not'} complete")
    if (state.attest_on is not None) != everything:
        out.append(f"attest_on={state.attest_on} but every component fulfilled after a contract is {everything}")
    if state.attest_on is not None and everything:
        last = max(c.fulfilled_on for c in state.components.values())
        if state.attest_on != last:
            out.append(f"attest_on={state.attest_on}, not the last fulfilment day {last}")
    b1 = state.deadlines.get("b1")
    if (b1 is not None) != (state.b1_due_on is not None):
        out.append(f"b1_due_on={state.b1_due_on} but the B1 deadline is {b1}")
    if b1 is not None:
        if state.attest_on is None or b1.start != state.attest_on:
            out.append(f"B1 deadline starts {b1.start}, attest_on is {state.attest_on}")
        if state.b1_due_on != b1.last_timely:
            out.append(f"b1_due_on={state.b1_due_on} but the B1 deadline's last timely day is {b1.last_timely}")
    if state.b1_outcome is not None and not t.completed_task("b1_check_task"):
        out.append(f"B1 outcome {state.b1_outcome} without the b1_check task")
    if t.completed_task("b1_check_task") and state.b1_outcome is None:
        out.append("b1_check task completed without an outcome")


def _deadlines(stored: Stored, t: Optional[StoredInstance], out: list[str]) -> None:
    state = stored.state
    running = {name: d for name, d in state.deadlines.items() if d.status == "running"}
    if running and state.target_group != "obligated":
        out.append(f"deadlines {sorted(running)} run for a {state.target_group or 'new'} dossier")
    reg = running.get("registration")
    if reg is not None and state.registered_on is not None and state.registered_on <= reg.last_timely:
        out.append(f"registration deadline still running though registered on {state.registered_on} "
                   f"(last timely day {reg.last_timely})")
    vdab = running.get("vdab")
    if vdab is not None:
        done = [d for d in (state.vdab_registered_on, state.vdab_exempt_on) if d is not None]
        if any(d <= vdab.last_timely for d in done):
            out.append(f"VDAB deadline still running though met on {min(done)} (last timely day {vdab.last_timely})")
    waiting_trajectory = t is not None and t.status == "waiting"
    for name, deadline in running.items():
        if deadline.base_last_timely is not None and deadline.last_timely < deadline.base_last_timely:
            out.append(f"deadline {name} last timely day {deadline.last_timely} before its base "
                       f"{deadline.base_last_timely}")
        if not state.obligated or not waiting_trajectory:
            continue
        due_at = int(deadline.fires_at().timestamp())
        names = DEADLINE_TIMERS.get(name, (name,))
        if not any(i == t.id and n in names and d == due_at for i, n, d in stored.timers):
            found = sorted((n, _iso(d)) for i, n, d in stored.timers if i == t.id and n in names)
            out.append(f"deadline {name} runs (fires {deadline.fires_at().isoformat()}) but no timer waits for it "
                       f"at that instant (timers: {found or 'none'})")
    last_entry = stored.row.get("journal_time")
    if last_entry:
        # Every unit of work fires the dossier's due timers before anything else (the sweep, and a command
        # first catches up): nothing may be overdue at the dossier's last entry.
        now = int(datetime.fromisoformat(last_entry).timestamp())
        overdue = sorted((i, n, d) for i, n, d in stored.timers if d <= now)
        if overdue:
            out.append(f"timers overdue at the last entry ({last_entry}): {_show(overdue)}")
        for name, deadline in running.items():
            if state.obligated and deadline.fires_at().timestamp() <= now:
                out.append(f"deadline {name} should have fired at {deadline.fires_at().isoformat()} "
                           f"(last entry {last_entry})")
        for infraction in state.infractions:
            fires = infraction.regularisation_fires_at()
            if fires is not None and fires.timestamp() <= now:
                out.append(f"infraction {infraction.id} should have been handed over at {fires.isoformat()} "
                           f"(last entry {last_entry})")
    expected = _expected_timers(stored)
    if expected != stored.timers:
        missing = sorted(expected - stored.timers)
        extra = sorted(stored.timers - expected)
        out.append(f"due-timer rows differ from what the instances wait on: missing {_show(missing)}, "
                   f"extra {_show(extra)}")
    next_due = min((d for _, _, d in stored.timers), default=None)
    if stored.row.get("next_due_at") != next_due:
        out.append(f"next_due_at={stored.row.get('next_due_at')} but the first due timer is {next_due}")


def _expected_timers(stored: Stored) -> set:
    """The timers the waiting instances wait on, due when the stored state says."""
    state = stored.state
    expected = set()
    for instance in stored.instances:
        if instance.status != "waiting":
            continue

        def due(name: str, infraction_id=instance.infraction_id):
            if name == "regularisation":
                fires = state.infraction(infraction_id).regularisation_fires_at()
                return fires.isoformat() if fires else None
            return state.due(name)

        spiff.bind(instance.workflow, _NoClock(), _no_service, {"due": due})
        for name, instant in spiff.waiting_summary(instance.workflow)[1]:
            if instant is not None:
                expected.add((instance.id, name, int(instant.timestamp())))
    return expected


def _infractions(stored: Stored, out: list[str]) -> None:
    state = stored.state
    by_infraction = {}
    for instance in stored.instances:
        if instance.process == "enforcement":
            if instance.infraction_id in by_infraction:
                out.append(f"two enforcement instances for {instance.infraction_id}")
            by_infraction[instance.infraction_id] = instance
    ids = [i.id for i in state.infractions]
    if len(ids) != len(set(ids)):
        out.append(f"infraction ids repeat: {ids}")
    partial = stored.row.get("partial")
    for orphan in sorted(set(by_infraction) - set(ids)):
        out.append(f"enforcement instance for unknown infraction {orphan}")
    open_keys = []
    for infraction in state.infractions:
        name = f"infraction {infraction.id} ({infraction.type}, {infraction.outcome})"
        instance = by_infraction.get(infraction.id)
        if instance is None:
            if not (partial and infraction.outcome not in ("open", "handed_over")):
                out.append(f"{name} has no enforcement instance")
            continue
        open_ = infraction.outcome == "open"
        if open_ != instance.waiting_at("await_regularisation"):
            out.append(f"{name}: open is {open_} but the instance "
                       f"{'waits' if not open_ else 'does not wait'} at await_regularisation")
        handed = infraction.outcome == "handed_over"
        if handed != instance.ready("decide"):
            out.append(f"{name}: handed_over is {handed} but decide is {'ready' if not handed else 'not ready'}")
        if (infraction.outcome in CLOSED or infraction.outcome in DECIDED) and instance.status != "completed":
            out.append(f"{name}: closed but its enforcement instance is {instance.status}")
        if open_:
            open_keys.append((infraction.type, infraction.component))
            if infraction.notice_on is None or infraction.regularisation_last_day is None:
                out.append(f"{name}: open without a notice and a regularisation period")
            elif infraction.regularisation_last_day < infraction.notice_on:
                out.append(f"{name}: regularisation period ends {infraction.regularisation_last_day} before the "
                           f"notice {infraction.notice_on}")
            else:
                fires = int(brussels_instant(dates.day_established(infraction.regularisation_last_day)).timestamp())
                if (instance.id, "await_regularisation", fires) not in stored.timers:
                    out.append(f"{name}: no regularisation timer due on the day after "
                               f"{infraction.regularisation_last_day}")
        if infraction.notice_on is not None and infraction.notice_on < infraction.established_on:
            out.append(f"{name}: notice {infraction.notice_on} before it was established {infraction.established_on}")
        if handed and infraction.handed_over_on is None:
            out.append(f"{name}: handed over without a hand-over date")
        if infraction.handed_over_on is not None and infraction.regularisation_last_day is not None \
                and infraction.handed_over_on <= infraction.regularisation_last_day:
            out.append(f"{name}: handed over {infraction.handed_over_on}, within its regularisation period "
                       f"(to {infraction.regularisation_last_day})")
        if infraction.outcome in ("withdrawn", "regularised") and infraction.handed_over_on is not None:
            out.append(f"{name}: hand-over {infraction.handed_over_on} not recalled")
        if (infraction.outcome == "fined") != (infraction.fine_eur is not None):
            out.append(f"{name}: fine_eur={infraction.fine_eur}")
        if infraction.outcome in ("fined", "not_fined") and infraction.decided_on is None:
            out.append(f"{name}: decided without a decision date")
    for key in set(open_keys):
        if open_keys.count(key) > 1:
            out.append(f"{open_keys.count(key)} open infractions of {key} at once (one at a time)")
    queue = any(i.outcome == "handed_over" for i in state.infractions)
    if queue != ("decide" in state.waiting):
        out.append(f"a handed-over infraction is {queue} but 'decide' in state.waiting is {not queue}")


# ---------------------------------------------------------------- the journal


def journal_violations(engine, dossier_id: str) -> list[str]:
    """The whole journal must fold (:func:`engine.projection.fold`) to the stored state."""
    from .projection import differences, fold, read

    with engine.reading() as connection:
        entries = connection.execute(select(JournalEntry.__table__)
                                     .where(JournalEntry.__table__.c.dossier_id == dossier_id)
                                     .order_by(JournalEntry.__table__.c.seq)).mappings().all()
        row = connection.execute(select(Dossier.__table__.c.state).where(Dossier.__table__.c.id == dossier_id)).one()
    stored = DossierState.from_json(decode_state(row[0]))
    try:
        folded = fold(dossier_id, read([dict(e) for e in entries]))
    except Exception as err:  # noqa: BLE001 - a journal that does not fold is the violation
        return [f"the journal does not fold: {type(err).__name__}: {err}"]
    return [f"the journal folds to a different {name}: {getattr(folded, name)!r} != stored {getattr(stored, name)!r}"
            for name in differences(folded, stored)]


# ---------------------------------------------------------------- helpers


class _NoClock:
    def now(self) -> datetime:
        return datetime.min.replace(tzinfo=timezone.utc)  # never fires a timer while the invariant looks


def _no_service(*args, **kwargs):
    raise RuntimeError("the invariant check runs no service task")


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def _show(rows: Iterable) -> str:
    return ", ".join(f"{i}:{n}@{_iso(d)}" for i, n, d in rows) or "none"
