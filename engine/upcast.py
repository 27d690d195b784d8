"""Reading journal entries of every schema version as typed facts (ENGINEERING.md principle 7).

Entries of the current schema parse into their fact class (:func:`engine.facts.parse`).
Entries written by release 0.1 (schema 1: a kind string and an untyped payload, no
effective date) go through the upcasters below, which map each old kind to the typed facts
that say the same thing. Release 0.1 journaled a caseworker's event only as a ``command``
entry: the upcaster derives the step it recorded (registration, intake, contract, …) dated
by the entry's business day, as that release dated every event. What release 0.1 never
recorded is derived here, and marked so:

* whether an MO or NT2 test passed (``rule`` ``legacy_recomputed``: judged by the pass rule of its day);
* the legal deadlines (``deadline_armed`` with an empty ``law``): release 0.1 journaled only the timer
  of a deadline (``timer_armed``, due at 00:00 Brussels the day after the last timely day), so the
  deadline starts on the day its timer was armed (the obligation start for the registration), its
  last timely day is the day before the timer is due, and it is met when its timer is disarmed
  while it runs (``by`` the caseworker event that disarmed it), fired when its timer fired or the
  B1 check ran, stopped as recorded.

Those derivations need what came before in the dossier's journal (the obligation start, which
deadlines run): :class:`Legacy` carries it from entry to entry; read one dossier's journal in
order with one :class:`Legacy` (:func:`engine.projection.read` does).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Callable

from . import facts as f
from .facts import Fact

class Legacy:
    """What the schema-1 upcasters of one dossier's journal learnt from its earlier entries."""

    def __init__(self) -> None:
        self.obligation_start: date | None = None
        self.running: dict[str, date] = {}  # deadline → last timely day, while its timer waits
        self.event: str | None = None  # the type of the last caseworker event (``command``)


#: (the entry's payload, its business day, its ruleset, its rule version, the journal so far) → typed facts
Upcaster = Callable[[dict, date, "str | None", "str | None", Legacy], list[Fact]]
_V1: dict[str, Upcaster] = {}

DEADLINE_OF_TRIGGER = {"registration_deadline": "registration", "reregistration_deadline": "reregistration",
                       "vdab_deadline": "vdab", "b1_check": "b1"}
#: release 0.1's trajectory timers of legal deadlines (processes/trajectory.bpmn of that release)
DEADLINE_OF_TIMER = {"registration_deadline": "registration", "reregistration_deadline": "reregistration",
                     "reregistration_again": "reregistration", "vdab_deadline": "vdab", "b1_due": "b1"}


def facts_of(kind: str, schema_version: int, payload: dict, *, day: date, ruleset: str | None = None,
             rule_version: str | None = None, legacy: Legacy | None = None) -> list[Fact]:
    """The typed facts of one stored journal entry, whatever its schema version. ``legacy``: what the
    dossier's earlier entries said, for the derivations of schema 1 (a fresh one when left out)."""
    if schema_version >= 2:
        return [f.parse(kind, payload)]
    upcaster = _V1.get(kind)
    return upcaster(payload, day, ruleset, rule_version, legacy or Legacy()) if upcaster else []


def v1(kind: str):
    def register(fn: Upcaster) -> Upcaster:
        _V1[kind] = fn
        return fn
    return register


def _d(value) -> date | None:
    return date.fromisoformat(value) if value else None


@v1("import")
def _import(p, day, ruleset, rule_version, legacy):
    legacy.obligation_start = _d(p["newcomer"].get("obligation_start"))
    return [f.Imported(p["newcomer"])]


@v1("sweep")
def _sweep(p, day, ruleset, rule_version, legacy):
    legacy.event = "sweep"
    return [f.SweepRan(p["at"], p.get("timers", []))]


@v1("command")
def _command(p, day, ruleset, rule_version, legacy):
    kind, payload = p["type"], p.get("payload", {})
    legacy.event = kind
    out: list[Fact] = [f.CommandReceived(kind, payload)]
    derived = {
        "registered": lambda: f.Registered(day),
        "intake": lambda: f.IntakeRecorded(day, payload["advice"]),
        "contract_signed": lambda: f.ContractSigned(day, list(payload["components"]), list(payload["components"]),
                                                    None, {}),
        "vdab_registered": lambda: f.VdabRegistered(day),
        "vdab_exempt": lambda: f.VdabExempted(day, payload["reason"]),
        "pnt_hours": lambda: f.PntHoursReported(day, payload["hours"]),
        "activity": lambda: f.ActivityRecorded(day, payload["kind"], _d(payload["from"]), _d(payload["to"])),
        "suspended": lambda: f.SuspensionRecorded(day, _d(payload["from"]), _d(payload["to"]),
                                                  (_d(payload["to"]) - _d(payload["from"])).days + 1),
        "moved": lambda: f.NewcomerChanged(day, "nis_code", payload["nis_code"]),
        "residence_changed": lambda: f.NewcomerChanged(day, "residence", payload["residence"]),
        "b1_attained": lambda: f.B1Attained(day, "b1_attained"),
        "b1_test": lambda: f.B1Attained(day, "b1_test") if payload.get("passed") else None,
        "test_result": lambda: _legacy_test(day, payload, "test"),
        "mo_exemption_test": lambda: _legacy_test(day, {"component": "mo", **payload}, "exemption_test"),
    }.get(kind)
    if derived is not None:
        fact = derived()
        if fact is not None:
            out.append(fact)
    return out


def _legacy_test(day: date, payload: dict, test: str) -> Fact:
    from rules import components as component_rules

    component = payload["component"]
    if component == "mo":
        passed = component_rules.mo_passed(payload["core_percent"], payload["total_percent"], day)
        result = {"core_percent": payload["core_percent"], "total_percent": payload["total_percent"]}
    else:
        passed = component_rules.nt2_passed(payload["level"], day)
        result = {"level": payload["level"]}
    return f.TestJudged(day, component, test, result, passed, "legacy_recomputed", {})


@v1("rule_decision")
def _rule_decision(p, day, ruleset, rule_version, legacy):
    if p.get("question") == "target_group":
        on = _d((p.get("inputs") or {}).get("on")) or day
        return [f.TargetGroupDecided(on, p["target_group"], list(p.get("reasons", [])), p.get("region"),
                                     p.get("agency"), p.get("inputs") or {}, ruleset or "", rule_version or "")]
    return [f.InfractionRuleDecision(_d(p.get("established_on")) or day, p.get("trigger", ""), p.get("component"),
                                     p.get("percent"), p.get("target_group", ""), p.get("infraction"),
                                     p.get("reason", ""), ruleset or "", rule_version or "", {})]


@v1("infraction_established")
def _established(p, day, ruleset, rule_version, legacy):
    return [f.InfractionEstablished(p["infraction"], p["type"], _d(p["established_on"]), p.get("component"),
                                    "", None, None, ruleset or "", rule_version or "")]


@v1("notice_issued")
def _notice(p, day, *_):
    last = _d(p["regularisation_last_day"])
    return [f.NoticeIssued(p["infraction"], _d(p["notice_on"]), last, last, {})]


@v1("handed_over")
def _handed_over(p, day, *_):
    return [f.HandedOver(p["infraction"], p.get("type", ""), _d(p["handed_over_on"]))]


@v1("infraction_closed")
def _closed(p, day, *_):
    return [f.InfractionClosed(p["infraction"], p["outcome"], day, "", None)]


DECISION_OUTCOME = {"fine": "fined", "no_fine": "not_fined", "no_follow_up": "annulled"}


@v1("decision_recorded")
def _decision(p, day, *_):
    return [f.DecisionRecorded(p["infraction"], day, p["decision"], DECISION_OUTCOME[p["decision"]],
                               p.get("fine_eur"), None, p.get("officer") or "", {})]


@v1("fee_charged")
def _fee(p, day, *_):
    return [f.FeeCharged(day, p["item"], p["amount_eur"], {})]


@v1("component_fulfilled")
def _fulfilled(p, day, *_):
    return [f.ComponentFulfilled(p["component"], _d(p["on"]), p["by"])]


@v1("attest_issued")
def _attest(p, day, *_):
    return [f.AttestIssued(_d(p["attest_on"]), bool(p.get("b1_in_scope")), {})]


@v1("b1_checked")
def _b1(p, day, ruleset, rule_version, legacy):
    due_on = _d(p["due_on"])
    out: list[Fact] = []
    if legacy.running.pop("b1", None) is not None:  # the check is the b1 deadline's end, as the current engine records it
        out.append(f.DeadlineFired("b1", due_on, day))
    return out + [f.B1Checked(day, due_on, p["outcome"], False, "b1_v1", {})]


@v1("deadline_extended")
def _extended(p, day, ruleset, rule_version, legacy):
    if p.get("infraction") is None and p["deadline"] in legacy.running:
        legacy.running[p["deadline"]] = _d(p["to"])
    return [f.DeadlineExtended(p["deadline"], p.get("infraction"), _d(p["from"]), _d(p["to"]), day)]


@v1("deadline_stopped")
def _stopped(p, day, ruleset, rule_version, legacy):
    legacy.running.pop(p["deadline"], None)
    return [f.DeadlineStopped(p["deadline"], day, p.get("reason", ""))]


@v1("timer_fired")
def _timer_fired(p, day, ruleset, rule_version, legacy):
    name = DEADLINE_OF_TIMER.get(p["timer"], DEADLINE_OF_TRIGGER.get(p["timer"], p["timer"]))
    legacy.running.pop(name, None)
    return [f.DeadlineFired(name, _d(p["last_timely_day"]), day)]


@v1("instance_started")
def _started(p, day, *_):
    return [f.InstanceStarted(p["instance"], p["process"], p.get("infraction"))]


@v1("task_completed")
def _task(p, day, *_):
    return [f.TaskCompleted(p["task"], p.get("data", {}), p.get("infraction"))]


def _last_timely_of_timer(due_at: str) -> date:
    """The last timely day of a deadline whose timer is due at ``due_at`` (00:00 Brussels the day after)."""
    from .clock import business_date

    return business_date(datetime.fromisoformat(due_at)) - timedelta(days=1)


@v1("timer_armed")
def _timer_armed(p, day, ruleset, rule_version, legacy):
    out: list[Fact] = []
    name = DEADLINE_OF_TIMER.get(p["timer"])
    if name is not None and p.get("due_at"):
        last = _last_timely_of_timer(p["due_at"])
        start = legacy.obligation_start if name == "registration" and legacy.obligation_start else day
        legacy.running[name] = last
        out.append(f.DeadlineArmed(name, min(start, last), last, last, day, {}))
    return out + [f.TimerArmed(p["instance"], p["timer"], p["due_at"])]


@v1("timer_moved")
def _timer_moved(p, day, *_):
    return [f.TimerMoved(p["instance"], p["timer"], p["due_at"])]


@v1("timer_disarmed")
def _timer_disarmed(p, day, ruleset, rule_version, legacy):
    out: list[Fact] = []
    name = DEADLINE_OF_TIMER.get(p["timer"])
    if name is not None and legacy.running.pop(name, None) is not None:
        # Neither fired nor stopped: the event that disarmed it met it (release 0.1 dated it by its entry day).
        out.append(f.DeadlineMet(name, day, legacy.event or "legacy"))
    return out + [f.TimerDisarmed(p["instance"], p["timer"], p["due_at"])]
