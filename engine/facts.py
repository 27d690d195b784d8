"""Typed journal facts: one frozen dataclass per kind, each with a schema version.

Every change to a dossier is one of these facts (ENGINEERING.md principle 10; cosmicpython's
``domain/events.py``). A command handler or a BPMN service operation *decides* — asks the
rules, with the law in force — and *emits* facts; :meth:`Fact.apply` is the only code that
changes the aggregate (:class:`engine.dossier.DossierState`). So the dossier is a projection
of its journal: folding the recorded facts gives the state, on any date and as known at any
moment (:mod:`engine.projection`), and nothing of the past is recomputed with today's rules.

Each fact has an effective date (:meth:`Fact.effective`, the day it happened or the legal
date it names) besides the moment it was entered (the journal entry's business time):
the two time axes of TRAJECTORY.md §5 and ENGINEERING.md principle 12.

Decisions name what decided them: ``ruleset``/``rule_version`` for durable-rules rulesets,
``law`` for the dated parameters used (``{name: {"value": ..., "from": "YYYY-MM-DD"}}``,
:func:`rules.parameters.cite`).

Versioning: :data:`SCHEMA_VERSION` is the version of every kind below. Entries written by an
older release (schema 1: a kind string and an untyped payload) are read through the
upcasters of :mod:`engine.upcast`.
"""
from __future__ import annotations

import json
import typing
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, ClassVar, Optional

SCHEMA_VERSION = 2

FACTS: dict[str, type["Fact"]] = {}


def fact(kind: str):
    """Register a fact class under its journal kind."""
    def register(cls):
        cls.kind = kind
        hints = typing.get_type_hints(cls)
        cls._date_fields = tuple(f.name for f in fields(cls) if hints[f.name] in (date, Optional[date]))
        cls._date_list_fields = tuple(f.name for f in fields(cls) if hints[f.name] == list[date])
        cls._field_names = tuple(f.name for f in fields(cls))
        cls._field_set = frozenset(cls._field_names)  # from_payload's question, asked once per class
        if kind in FACTS:
            raise ValueError(f"fact kind {kind!r} registered twice")
        FACTS[kind] = cls
        return cls
    return register


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def _json_default(value: Any) -> Any:
    """How canonical JSON writes a value JSON has no type for: a date (or datetime) in ISO 8601, as
    :func:`_json` converts it; anything else as its ``str``, as :func:`engine.journal.canonical` does."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


#: ``journal.canonical(fact.as_payload())`` in one pass of the C encoder: the same text (dates go
#: through :func:`_json_default` instead of a copy by :func:`_json` first; lists and tuples, dicts
#: and scalars are written alike), held equal by tests/engine/test_journal.py on every fact kind
_PAYLOAD_TEXT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_json_default).encode


@dataclass(frozen=True)
class Fact:
    """A fact of one dossier's history."""

    kind: ClassVar[str] = ""
    version: ClassVar[int] = SCHEMA_VERSION
    #: kinds a replay re-executes: inputs from outside the engine (every other kind is derived)
    external: ClassVar[bool] = False
    _date_fields: ClassVar[tuple] = ()
    _date_list_fields: ClassVar[tuple] = ()
    _field_names: ClassVar[tuple] = ()

    def apply(self, state) -> None:
        """How this fact changes the dossier; bookkeeping facts change nothing."""

    def effective(self) -> Optional[date]:
        """The day the fact happened (or the legal date it names); None for bookkeeping."""
        return getattr(self, "on", None)

    def as_payload(self) -> dict:
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}

    def payload_text(self) -> str:
        """The journal's ``payload`` column: the canonical JSON of :meth:`as_payload`
        (sorted keys, no spaces), written without building that dict first."""
        cls = type(self)
        if cls.as_payload is not Fact.as_payload or not cls._field_names:  # its own payload (Registered)
            return _PAYLOAD_TEXT(self.as_payload())
        return _PAYLOAD_TEXT({name: getattr(self, name) for name in cls._field_names})

    @classmethod
    def from_payload(cls, data: dict) -> "Fact":
        values = {}
        names = cls.__dict__.get("_field_set") or {f.name for f in fields(cls)}  # registered: known once
        for key, value in data.items():
            if key not in names:
                continue  # a field a later version dropped: ignore it
            if key in cls._date_fields and value is not None:
                value = date.fromisoformat(value)
            elif key in cls._date_list_fields:
                value = [date.fromisoformat(v) for v in value]
            values[key] = value
        return cls(**values)

    def signature(self) -> tuple:
        """What a replay of an older journal compares: the legal content, without bookkeeping
        (rule and parameter citations are compared separately, as ruleset/rule_version)."""
        return (self.kind, tuple(sorted((k, repr(v)) for k, v in self.as_payload().items() if k not in ("law",))))


def parse(kind: str, payload: dict) -> Fact:
    """The typed fact of a current-schema journal entry."""
    try:
        cls = FACTS[kind]
    except KeyError:
        raise ValueError(f"unknown journal kind {kind!r}") from None
    return cls.from_payload(payload)


# ================================================================ inputs (replayed)


@fact("import")
@dataclass(frozen=True)
class Imported(Fact):
    """The register extract (without the national register number) (TRAJECTORY.md §4.1)."""

    external: ClassVar[bool] = True
    newcomer: dict

    def apply(self, state) -> None:
        state.newcomer = dict(self.newcomer)
        state.obligation_start = date.fromisoformat(self.newcomer["obligation_start"])

    def effective(self) -> Optional[date]:
        return date.fromisoformat(self.newcomer["obligation_start"])


@fact("command")
@dataclass(frozen=True)
class CommandReceived(Fact):
    """A caseworker's or officer's event, as accepted (``payload`` holds its effective ``on``)."""

    external: ClassVar[bool] = True
    type: str
    payload: dict

    def effective(self) -> Optional[date]:
        on = self.payload.get("on")
        return date.fromisoformat(on) if on else None


@fact("sweep")
@dataclass(frozen=True)
class SweepRan(Fact):
    """The deadline sweep fired this dossier's due timers at an instant."""

    external: ClassVar[bool] = True
    at: str
    timers: list


# ================================================================ target group and status


@fact("target_group_decided")
@dataclass(frozen=True)
class TargetGroupDecided(Fact):
    """The target-group rules decided (TRAJECTORY.md §2), at the import or on a status change."""

    on: date
    target_group: str
    reasons: list
    region: Optional[str]
    agency: Optional[str]
    inputs: dict
    ruleset: str
    rule_version: str

    def apply(self, state) -> None:
        state.target_group = self.target_group
        state.reasons = list(self.reasons)
        state.region = self.region
        state.agency = self.agency
        state.decided_by = {"ruleset": self.ruleset, "version": self.rule_version, "on": self.on.isoformat()}


@fact("newcomer_changed")
@dataclass(frozen=True)
class NewcomerChanged(Fact):
    """A register fact changed: the municipality (``nis_code``) or the residence status."""

    on: date
    field: str
    value: str

    def apply(self, state) -> None:
        if self.field == "nis_code":
            if not state.nis_codes:
                state.nis_codes.append([None, state.newcomer.get("nis_code")])
            state.nis_codes.append([self.on.isoformat(), self.value])
        state.newcomer = {**state.newcomer, self.field: self.value}
        last = state.changed_on.get(self.field)
        if last is None or last < self.on.isoformat():
            state.changed_on[self.field] = self.on.isoformat()


@fact("obligation_started")
@dataclass(frozen=True)
class ObligationStarted(Fact):
    """A status change made the newcomer obligated: the obligation starts that day
    (scenarios README "Status changes"; TRAJECTORY.md §2)."""

    on: date
    reason: str

    def apply(self, state) -> None:
        state.obligation_start = self.on


# ================================================================ deadlines


@fact("deadline_armed")
@dataclass(frozen=True)
class DeadlineArmed(Fact):
    """A legal deadline starts to run (TRAJECTORY.md §5). ``base_last_timely`` is the last timely
    day by the law's period alone; ``last_timely`` adds the suspensions recorded so far that apply
    to it. ``armed_on`` is the day it became known: it cannot fire before the next day."""

    name: str
    start: date
    base_last_timely: date
    last_timely: date
    armed_on: date
    law: dict

    def apply(self, state) -> None:
        from .dossier import Deadline

        state.deadlines[self.name] = Deadline(self.name, self.start, self.last_timely, "running",
                                              self.base_last_timely, self.armed_on)
        if self.name == "b1":
            state.b1_due_on = self.last_timely

    def effective(self) -> Optional[date]:
        return self.start


@fact("deadline_extended")
@dataclass(frozen=True)
class DeadlineExtended(Fact):
    """A suspension moved a deadline (or an infraction's regularisation period) later (TRAJECTORY.md §5)."""

    name: str
    infraction: Optional[str]
    previous: date
    last_timely: date
    on: date  # the first suspended day that moved it

    def apply(self, state) -> None:
        if self.infraction is not None:
            state.infraction(self.infraction).regularisation_last_day = self.last_timely
            return
        state.deadlines[self.name].last_timely = self.last_timely
        if self.name == "b1":
            state.b1_due_on = self.last_timely


@fact("deadline_met")
@dataclass(frozen=True)
class DeadlineMet(Fact):
    """The action a deadline asks for happened on ``on``, on or before its last timely day."""

    name: str
    on: date
    by: str

    def apply(self, state) -> None:
        state.deadlines[self.name].status = "met"


@fact("deadline_fired")
@dataclass(frozen=True)
class DeadlineFired(Fact):
    """The deadline ran out: its timer fired and the infraction rules were asked (TRAJECTORY.md §5)."""

    name: str
    last_timely: date
    on: date  # the day the infraction is established

    def apply(self, state) -> None:
        state.deadlines[self.name].status = "fired"


@fact("deadline_stopped")
@dataclass(frozen=True)
class DeadlineStopped(Fact):
    """The deadline no longer runs: the newcomer is no longer obligated (scenarios README "Annulment")."""

    name: str
    on: date
    reason: str

    def apply(self, state) -> None:
        state.deadlines[self.name].status = "stopped"


@fact("deadline_withdrawn")
@dataclass(frozen=True)
class DeadlineWithdrawn(Fact):
    """A deadline armed by an infraction that was withdrawn is recalled (scenarios README "Late-recorded facts")."""

    name: str
    on: date
    reason: str

    def apply(self, state) -> None:
        state.deadlines[self.name].status = "withdrawn"


@fact("suspension_recorded")
@dataclass(frozen=True)
class SuspensionRecorded(Fact):
    """A suspension ``[start, end]``; ``days_added`` counts only its days not suspended before
    (a day is suspended at most once; scenarios README "Deadlines")."""

    on: date
    start: date
    end: date
    days_added: int

    def apply(self, state) -> None:
        state.suspensions.append((self.start, self.end, self.days_added))


# ================================================================ the trajectory's steps


@fact("registered")
@dataclass(frozen=True)
class Registered(Fact):
    """Registration at the agency (TRAJECTORY.md §4.2), at ``office`` when the caseworker named one
    (a code of the dated ``agency_offices`` list; seed 000 Q1 counts per office). The field is
    optional with a default: entries written before it existed read as ``office=None``, and an
    entry without an office is written without the field, byte for byte as before."""

    on: date
    office: Optional[str] = None

    def apply(self, state) -> None:
        state.registered_on = self.on

    def as_payload(self) -> dict:
        payload = super().as_payload()
        if payload.get("office") is None:
            payload.pop("office", None)
        return payload


@fact("intake_recorded")
@dataclass(frozen=True)
class IntakeRecorded(Fact):
    """The intake's learning-capacity advice (TRAJECTORY.md §4.3)."""

    on: date
    advice: str

    def apply(self, state) -> None:
        state.advice = self.advice
        state.intake_on = self.on


@fact("contract_signed")
@dataclass(frozen=True)
class ContractSigned(Fact):
    """The contract (TRAJECTORY.md §4.4): ``components`` as listed, ``required`` those that exist in
    the regime of the contract date (PNT only from ``pnt_component``; scenarios README "Components"),
    ``nt2_lesson_hours`` the indicative NT2 term for the advice (``nt2_lesson_hours``)."""

    on: date
    components: list
    required: list
    nt2_lesson_hours: Optional[int]
    law: dict

    def apply(self, state) -> None:
        state.contract_signed_on = self.on
        for name, component in state.components.items():
            component.listed = name in self.required


@fact("test_judged")
@dataclass(frozen=True)
class TestJudged(Fact):
    """A standardized test (or the MO exemption test) judged with the pass rule of its date
    (TRAJECTORY.md §3, §4.5): ``rule`` names the rule, ``law`` its dated thresholds."""

    __test__: ClassVar[bool] = False  # not a pytest class
    on: date
    component: str
    test: str  # test | exemption_test
    result: dict
    passed: bool
    rule: str
    law: dict

    def apply(self, state) -> None:
        if self.passed:
            attribute = f"{self.component}_passed_on"
            current = getattr(state, attribute)
            setattr(state, attribute, self.on if current is None else min(current, self.on))


@fact("attendance_reported")
@dataclass(frozen=True)
class AttendanceReported(Fact):
    """An attendance report and whether it is regular participation (TRAJECTORY.md §4.5)."""

    on: date
    component: str
    percent: float
    regular: bool
    law: dict


@fact("component_fulfilled")
@dataclass(frozen=True)
class ComponentFulfilled(Fact):
    """A component of the contract is fulfilled (passed, exempt, not listed) (TRAJECTORY.md §4.5-4.6)."""

    component: str
    on: date
    by: str

    def apply(self, state) -> None:
        entry = state.components[self.component]
        entry.fulfilled_on = self.on
        entry.fulfilled_by = self.by


@fact("vdab_registered")
@dataclass(frozen=True)
class VdabRegistered(Fact):
    """Registered with VDAB / Actiris (TRAJECTORY.md §4.5)."""

    on: date

    def apply(self, state) -> None:
        state.vdab_registered_on = self.on


@fact("vdab_exempted")
@dataclass(frozen=True)
class VdabExempted(Fact):
    """Exempt from the VDAB registration (TRAJECTORY.md §4.5)."""

    on: date
    reason: str

    def apply(self, state) -> None:
        state.vdab_exempt_reason = self.reason
        state.vdab_exempt_on = self.on


@fact("pnt_hours_reported")
@dataclass(frozen=True)
class PntHoursReported(Fact):
    """Hours of the participation and network trajectory (TRAJECTORY.md §4.5)."""

    on: date
    hours: float

    def apply(self, state) -> None:
        state.pnt_reports.append((self.on, self.hours))


@fact("activity_recorded")
@dataclass(frozen=True)
class ActivityRecorded(Fact):
    """A period of work, study or training (the B1 exemption, TRAJECTORY.md §4.7)."""

    on: date
    activity: str
    start: date
    end: date

    def apply(self, state) -> None:
        state.activities.append((self.start, self.end))


@fact("b1_attained")
@dataclass(frozen=True)
class B1Attained(Fact):
    """Oral B1 shown (a passed B1 test or other proof) (TRAJECTORY.md §4.7)."""

    on: date
    by: str

    def apply(self, state) -> None:
        state.b1_attained_on.append(self.on)


@fact("attest_issued")
@dataclass(frozen=True)
class AttestIssued(Fact):
    """The attest, dated the day the last listed component was fulfilled (TRAJECTORY.md §4.6)."""

    attest_on: date
    b1_in_scope: bool
    law: dict

    def apply(self, state) -> None:
        state.attest_on = self.attest_on

    def effective(self) -> Optional[date]:
        return self.attest_on


@fact("b1_checked")
@dataclass(frozen=True)
class B1Checked(Fact):
    """The B1 check's outcome (TRAJECTORY.md §4.7), decided by the sweep of ``due_on`` + 1, or
    judged again when a fact recorded late changes it (``revised``)."""

    on: date
    due_on: date
    outcome: str
    revised: bool
    rule: str
    law: dict

    def apply(self, state) -> None:
        state.b1_outcome = self.outcome


@fact("fee_charged")
@dataclass(frozen=True)
class FeeCharged(Fact):
    """A fee (TRAJECTORY.md §7) with the tariff in force on its day (``law``)."""

    on: date
    item: str
    amount: float
    law: dict

    def apply(self, state) -> None:
        state.fees.append({"item": self.item, "on": self.on.isoformat(), "amount": self.amount})


# ================================================================ infractions and enforcement


@fact("infraction_rule_decision")
@dataclass(frozen=True)
class InfractionRuleDecision(Fact):
    """The infraction ruleset's answer to a trigger, also when it establishes nothing (TRAJECTORY.md §6)."""

    on: date
    trigger: str
    component: Optional[str]
    percent: Optional[float]
    target_group: str
    infraction: Optional[str]
    reason: str
    ruleset: str
    rule_version: str
    law: dict


@fact("infraction_established")
@dataclass(frozen=True)
class InfractionEstablished(Fact):
    """An infraction (TRAJECTORY.md §6.1). ``deadline``/``deadline_last_timely``: the deadline whose
    end established it (None for one a caseworker recorded)."""

    infraction: str
    type: str
    on: date
    component: Optional[str]
    trigger: str
    deadline: Optional[str]
    deadline_last_timely: Optional[date]
    ruleset: str
    rule_version: str

    def apply(self, state) -> None:
        from .dossier import Infraction

        state.infractions.append(Infraction(
            id=self.infraction, type=self.type, established_on=self.on, component=self.component,
            ruleset=self.ruleset, rule_version=self.rule_version, trigger=self.trigger,
            deadline=self.deadline, deadline_last_timely=self.deadline_last_timely))


@fact("notice_issued")
@dataclass(frozen=True)
class NoticeIssued(Fact):
    """The notice of default, issued the day the infraction is established, with its regularisation
    period (TRAJECTORY.md §6.1; ``regularisation_days``), extended by suspensions that apply."""

    infraction: str
    on: date
    base_last_day: date
    regularisation_last_day: date
    law: dict

    def apply(self, state) -> None:
        infraction = state.infraction(self.infraction)
        infraction.notice_on = self.on
        infraction.regularisation_base_last_day = self.base_last_day
        infraction.regularisation_last_day = self.regularisation_last_day


@fact("handed_over")
@dataclass(frozen=True)
class HandedOver(Fact):
    """Not regularised: handed to enforcement on the first day after the period (TRAJECTORY.md §6.3)."""

    infraction: str
    type: str
    on: date

    def apply(self, state) -> None:
        infraction = state.infraction(self.infraction)
        infraction.outcome = "handed_over"
        infraction.handed_over_on = self.on


@fact("infraction_closed")
@dataclass(frozen=True)
class InfractionClosed(Fact):
    """Regularised (§6.2), annulled (§6.5) or withdrawn (§5): the infraction is closed; a hand-over
    made meanwhile is recalled (scenarios README "Late-recorded facts")."""

    infraction: str
    outcome: str
    on: date
    reason: str
    recalled_hand_over: Optional[date]

    def apply(self, state) -> None:
        infraction = state.infraction(self.infraction)
        infraction.outcome = self.outcome
        infraction.closed_on = self.on
        infraction.closing_reason = self.reason
        if self.recalled_hand_over is not None:
            infraction.recalled_handed_over_on = self.recalled_hand_over
            infraction.handed_over_on = None


@fact("decision_recorded")
@dataclass(frozen=True)
class DecisionRecorded(Fact):
    """The enforcement officer's decision with its reasons (TRAJECTORY.md §6.4, §6.8; the law of
    29 July 1991 on the formal motivation of administrative acts)."""

    infraction: str
    on: date
    decision: str
    outcome: str
    fine_eur: Optional[float]
    motivation: Optional[str]
    officer: str
    law: dict

    def apply(self, state) -> None:
        infraction = state.infraction(self.infraction)
        infraction.decision = self.decision
        infraction.outcome = self.outcome
        infraction.fine_eur = self.fine_eur
        infraction.decided_on = self.on
        infraction.motivation = self.motivation


@fact("letter_issued")
@dataclass(frozen=True)
class LetterIssued(Fact):
    """A letter to the newcomer (notice of default, hand-over, decision): its content hash, so the
    letter sent can be proven (TRAJECTORY.md §6.4)."""

    on: date
    letter: str
    infraction: Optional[str]
    template: str
    content: dict
    hash: str

    def apply(self, state) -> None:
        state.letters.append({"letter": self.letter, "on": self.on.isoformat(), "infraction": self.infraction,
                              "hash": self.hash})


# ================================================================ process bookkeeping


@fact("instance_started")
@dataclass(frozen=True)
class InstanceStarted(Fact):
    instance: str
    process: str
    infraction: Optional[str]

    def apply(self, state) -> None:
        if self.process == "trajectory":
            state.has_trajectory = True


@fact("task_completed")
@dataclass(frozen=True)
class TaskCompleted(Fact):
    task: str
    data: dict
    infraction: Optional[str] = None


@fact("instance_migrated")
@dataclass(frozen=True)
class InstanceMigrated(Fact):
    """An operator moved an instance to another version of its process (engine/migration.py): an input,
    which a replay re-executes (it moves its own replayed instance the same way)."""

    external: ClassVar[bool] = True
    instance: str
    process: str
    from_version: int
    to_version: int
    changes: list
    waiting: list
    run: Optional[int]


@dataclass(frozen=True)
class _TimerChange(Fact):
    instance: str
    timer: str
    due_at: str


@fact("timer_armed")
@dataclass(frozen=True)
class TimerArmed(_TimerChange):
    pass


@fact("timer_moved")
@dataclass(frozen=True)
class TimerMoved(_TimerChange):
    pass


@fact("timer_disarmed")
@dataclass(frozen=True)
class TimerDisarmed(_TimerChange):
    pass


@fact("waiting")
@dataclass(frozen=True)
class Waiting(Fact):
    """The caseworker and officer steps the dossier's processes wait on changed."""

    steps: list

    def apply(self, state) -> None:
        state.waiting = list(self.steps)


#: facts that change nothing but the process bookkeeping (left out of decision comparisons)
BOOKKEEPING = frozenset({"instance_started", "task_completed", "timer_armed", "timer_moved", "timer_disarmed",
                         "waiting", "instance_migrated", "sweep", "command"})
