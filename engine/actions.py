"""Business actions shared by command handlers and service operations.

Each one asks the rules (with the law in force, :mod:`rules.parameters`), then emits the
facts that record what was decided and why (:mod:`engine.facts`); the BPMN is driven where
the law has a process step.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable, Optional

from rules import b1 as b1_rules
from rules import components as component_rules
from rules import dates, fees, infractions, parameters, target_group

from . import facts as f
from .commands import MAX_DATE
from .dossier import REGISTRATION_INFRACTIONS, Infraction, jsonable
from .errors import InvalidInput

TRIGGER_DEADLINE = {
    "registration_deadline": "registration",
    "reregistration_deadline": "reregistration",
    "vdab_deadline": "vdab",
    "b1_check": "b1",
}
DEADLINE_TRIGGER = {name: trigger for trigger, name in TRIGGER_DEADLINE.items()}
#: infractions a caseworker records (no deadline) that a fact of an earlier day shows were wrong:
#: the contract signed before the refusal was recorded, PNT hours reaching the total before it
#: was recorded as not fulfilled (scenarios README "Late-recorded facts").
PREVENTED_BY_EARLIER_FACT = ("refused_intake_or_contract", "pnt_not_fulfilled")


# ---------------------------------------------------------------- deadlines


def arm(ctx, name: str, start: date, *, months: int = 0, days: int = 0, law: dict) -> f.DeadlineArmed:
    """Start a legal deadline: its last timely day by the law's period, then moved by every recorded
    suspension that applies to it (scenarios README "Deadlines": also those recorded before it started)."""
    base = _last_timely(start, months=months, days=days)
    last = _suspended(base, start, ctx.state.suspensions)
    return ctx.emit(f.DeadlineArmed(name, start, base, last, ctx.today, law))


def _last_timely(start: date, *, months: int = 0, days: int = 0) -> date:
    try:
        last = dates.last_timely_day(start, months=months, days=days)
    except (OverflowError, ValueError):
        last = None
    if last is None or last > MAX_DATE:
        raise InvalidInput("$.on", f"a deadline from {start} runs past the supported calendar ({MAX_DATE})",
                           code="date_out_of_range", params={"start": start.isoformat()})
    return last


def _suspended(base: date, start: date, suspensions: list) -> date:
    try:
        last = dates.apply_suspensions(base, start, suspensions)
    except OverflowError:
        last = None
    if last is None or last > MAX_DATE:
        raise InvalidInput("$.to", f"the suspensions move a deadline past the supported calendar ({MAX_DATE})",
                           code="date_out_of_range", params={"start": start.isoformat()})
    return last


def extend_for_suspensions(ctx, on: date) -> None:
    """Move every running deadline and open regularisation period to what the recorded suspensions
    give (TRAJECTORY.md §5): run after a suspension is recorded."""
    state = ctx.state
    for deadline in list(state.deadlines.values()):
        if deadline.status != "running":
            continue
        last = _suspended(deadline.base_last_timely or deadline.last_timely, deadline.start, state.suspensions)
        if last != deadline.last_timely:
            ctx.emit(f.DeadlineExtended(deadline.name, None, deadline.last_timely, last, on))
    for infraction in state.infractions:
        if infraction.outcome != "open" or infraction.regularisation_last_day is None:
            continue
        base = infraction.regularisation_base_last_day or infraction.regularisation_last_day
        last = _suspended(base, infraction.notice_on, state.suspensions)
        if last != infraction.regularisation_last_day:
            ctx.emit(f.DeadlineExtended("regularisation", infraction.id, infraction.regularisation_last_day, last, on))


#: deadlines a suspension recorded after they fired can open again: the step that waits for the
#: action and its boundary timer (processes/README.md)
REOPENABLE = {"registration": ("register", "registration_deadline", "registration_months"),
              "vdab": ("vdab", "vdab_deadline", "vdab_months")}


def reopen_for_suspensions(ctx, start: date, end: date) -> None:
    """A suspension recorded after a deadline fired, with days on which that deadline was running
    (scenarios README "Deadlines": every deadline still running on ``from`` moves; "Late-recorded facts":
    a fact counts from the day it happened; TRAJECTORY.md §5): with the suspension the deadline ends
    later, so the infraction it established, while undecided, should not have been established then:

    * the action it waits for happened on or before the new last timely day → withdrawn, deadline met;
    * the action has not happened and the new last timely day is today or later → withdrawn, and the
      deadline runs again to its new last timely day (the step starts over so its timer waits);
    * otherwise (the deadline ends later but had run out before today all the same, or the action came
      after it) the infraction stands (ASSUMPTION: an established infraction is not re-dated).

    Decided and closed infractions always stand. Not handled (their BPMN cannot go back): a B1 check
    already made, and a regularisation period that ended in a hand-over."""
    state = ctx.state
    if not state.obligated:
        return
    for name, (step, timer, months) in REOPENABLE.items():
        deadline = state.deadlines.get(name)
        if deadline is None or deadline.status != "fired":
            continue
        last = _suspended(deadline.base_last_timely or deadline.last_timely, deadline.start, state.suspensions)
        established = [i for i in state.undecided_infractions() if i.deadline == name
                       and i.deadline_last_timely == deadline.last_timely]
        if last <= deadline.last_timely or not established:
            continue
        done = _action_day(state, name)
        reason = (f"suspension {start.isoformat()}..{end.isoformat()} recorded on {ctx.today.isoformat()}: the "
                  f"{name} deadline ends {last.isoformat()}, not {deadline.last_timely.isoformat()}")
        if done is not None and done[0] <= last:
            for infraction in established:
                withdraw(ctx, infraction, reason)
            ctx.emit(f.DeadlineExtended(name, None, deadline.last_timely, last, start))
            ctx.emit(f.DeadlineMet(name, done[0], done[1]))
        elif done is None and last >= ctx.today:
            for infraction in established:
                withdraw(ctx, infraction, reason)
            ctx.emit(f.DeadlineArmed(name, deadline.start, deadline.base_last_timely or deadline.last_timely, last,
                                     deadline.armed_on or deadline.start,
                                     {months: parameters.cite(months, deadline.start)}))
            ctx.restart_step(step, timer)


def _action_day(state, name: str) -> Optional[tuple[date, str]]:
    """The day the action a deadline waits for happened (and what it was), or None."""
    if name == "registration":
        return (state.registered_on, "registered") if state.registered_on is not None else None
    facts = [(day, by) for day, by in ((state.vdab_registered_on, "vdab_registered"),
                                       (state.vdab_exempt_on, f"vdab_exempt:{state.vdab_exempt_reason}"))
             if day is not None]
    return min(facts, default=None)


# ---------------------------------------------------------------- infractions


def establish(ctx, trigger: str, established_on: date, *, component: Optional[str] = None,
              percent: Optional[float] = None, deadline: Optional[str] = None,
              actor: str = "system") -> Optional[Infraction]:
    """Ask the infraction ruleset; on an infraction, open it and start its enforcement process.

    TRAJECTORY.md §6.1: a notice of default is issued the same day (by the enforcement process's
    first service task, dated the day the infraction is established)."""
    state = ctx.state
    trigger_facts = {
        "kind": trigger, "on": established_on, "target_group": state.target_group,
        "contract_signed_on": state.contract_signed_on, "component": component, "percent": percent,
        "open_same": False,
    }
    decision = infractions.evaluate(trigger_facts)
    if decision.infraction is not None and state.open_infractions([decision.infraction], component):
        # One at a time (scenarios README): the ruleset itself decides the repeat, so the journal
        # records its reason and version.
        decision = infractions.evaluate({**trigger_facts, "open_same": True})
    regime_date = state.contract_signed_on or established_on
    law = {"infraction_ruleset": parameters.cite("infraction_ruleset", regime_date)}
    ctx.emit(f.InfractionRuleDecision(established_on, trigger, component, percent, state.target_group,
                                      decision.infraction, decision.reason, decision.ruleset, decision.version, law),
             actor=actor)
    if decision.infraction is None:
        return None
    deadline_row = state.deadlines.get(deadline) if deadline else None
    infraction_id = f"{state.id}/{len(state.infractions) + 1}"
    ctx.emit(f.InfractionEstablished(infraction_id, decision.infraction, established_on, component, trigger,
                                     deadline, deadline_row.last_timely if deadline_row else None,
                                     decision.ruleset, decision.version), actor=actor)
    infraction = state.infraction(infraction_id)
    ctx.start_instance("enforcement", infraction)
    return infraction


def fact_happened(ctx, on: date, *, deadlines: Iterable[str] = (), infraction_types: Iterable[str] = (),
                  component: Optional[str] = None, by: str, still_true: bool = True) -> None:
    """A fact that meets deadlines and regularises infractions happened on ``on`` (today, or a day
    in the past when it is recorded late): judge it by ``on`` (TRAJECTORY.md §5; scenarios README
    "Regularisation" and "Late-recorded facts").

    For each undecided infraction of ``infraction_types`` (and ``component``):

    * the fact would have prevented it (it happened on or before the last timely day of the
      deadline that established it; for a caseworker's record, before it was established) →
      ``withdrawn`` on the entry day, its notice and hand-over recalled, and a re-registration
      deadline it armed withdrawn too;
    * ``on`` lies in its regularisation period → ``regularised`` (a hand-over made meanwhile is
      recalled);
    * otherwise it stands; decided infractions (fined, not fined, annulled) always stand.

    Then each running deadline of ``deadlines`` whose last timely day is on or after ``on`` is met.

    A running deadline of ``deadlines`` that has already run out by ``on`` was armed today by a fact
    recorded late and cannot fire before tomorrow (``Deadline.established_on``; every older overdue
    timer has fired before the event). The task this fact completes carries its timer, so it fires
    now, dated as the next sweep would date it (README: "established on recorded_on + 1"), before the
    infractions are judged — the fact then regularises it (:meth:`Infraction.in_regularisation_period`).
    """
    state = ctx.state
    types = tuple(infraction_types)
    deadlines = tuple(deadlines)
    for name in deadlines:
        deadline = state.deadlines.get(name)
        if deadline is not None and deadline.status == "running" and on > deadline.last_timely and state.obligated:
            fire_deadline(ctx, name)
    for infraction in state.undecided_infractions(types, component):
        if _prevented(infraction, on):
            withdraw(ctx, infraction, f"{by} on {on.isoformat()}, before the infraction's deadline ran out")
        elif infraction.in_regularisation_period(on) and still_true:
            ctx.close_infraction(infraction, "regularised", f"{by} on {on.isoformat()}",
                                 max(ctx.today, infraction.established_on))
    for name in deadlines:
        deadline = state.deadlines.get(name)
        if deadline is not None and deadline.status == "running" and on <= deadline.last_timely:
            ctx.emit(f.DeadlineMet(name, on, by))


def fire_deadline(ctx, name: str, process=None) -> Optional[Infraction]:
    """A deadline ran out: record it and ask the infraction rules, on the day its infraction is
    established (TRAJECTORY.md §5; the BPMN's deadline timers call this through the operation
    ``establish_infraction``)."""
    deadline = ctx.state.deadlines[name]
    established_on = deadline.established_on()
    ctx.emit(f.DeadlineFired(name, deadline.last_timely, established_on), process=process)
    return establish(ctx, DEADLINE_TRIGGER[name], established_on, deadline=name)


def _prevented(infraction: Infraction, on: date) -> bool:
    if infraction.deadline_last_timely is not None:
        return on <= infraction.deadline_last_timely
    return infraction.type in PREVENTED_BY_EARLIER_FACT and on < infraction.established_on


def withdraw(ctx, infraction: Infraction, reason: str) -> None:
    """Withdraw an infraction that should never have been established (scenarios README
    "Late-recorded facts"): closed as ``withdrawn`` on the entry day, hand-over recalled; a
    re-registration deadline its hand-over armed is withdrawn too, unless a later hand-over armed it."""
    handed_over_on = infraction.handed_over_on
    ctx.close_infraction(infraction, "withdrawn", reason, ctx.today)
    rereg = ctx.state.deadlines.get("reregistration")
    if (infraction.type in REGISTRATION_INFRACTIONS and handed_over_on is not None and rereg is not None
            and rereg.status == "running" and rereg.start == handed_over_on):
        ctx.emit(f.DeadlineWithdrawn("reregistration", ctx.today, f"infraction {infraction.id} withdrawn"))


def annul_undecided(ctx, reason: str, on: date) -> None:
    """TRAJECTORY.md §6.5: facts changed so that the infractions no longer apply."""
    for infraction in ctx.state.undecided_infractions():
        ctx.close_infraction(infraction, "annulled", reason, on)


# ---------------------------------------------------------------- target group


def decide_target_group(ctx, on: date, *, actor: str) -> target_group.TargetGroupDecision:
    """Run the target-group rules on the register facts as they are on ``on`` and record the decision."""
    decision = target_group.decide(ctx.state.newcomer, on)
    ctx.emit(f.TargetGroupDecided(on, decision.target_group, list(decision.reasons), decision.region,
                                  decision.agency, jsonable(decision.inputs), decision.ruleset, decision.version),
             actor=actor)
    return decision


def redecide_target_group(ctx, on: date, *, actor: str) -> None:
    """Re-run the target-group rules on changed facts (TRAJECTORY.md §2, last paragraph; scenarios
    README "Annulment" and "Status changes")."""
    state = ctx.state
    before = state.target_group
    decision = decide_target_group(ctx, on, actor=actor)
    if before == "obligated" and decision.target_group != "obligated":
        annul_undecided(ctx, f"target group changed to {decision.target_group}", ctx.today)
        for deadline in list(state.deadlines.values()):
            if deadline.status == "running":
                ctx.emit(f.DeadlineStopped(deadline.name, on, "no longer obligated"))
    if before != "obligated" and decision.target_group == "obligated":
        # The obligation starts that day (an asylum seeker recognised as a refugee; a move from
        # Brussels into the Dutch-language area): the registration deadline runs from it.
        ctx.emit(f.ObligationStarted(on, f"{before or 'new'} → obligated"), actor=actor)
        if not ctx.state.has_trajectory:
            ctx.start_instance("trajectory")
        if state.registered_on is None:
            arm(ctx, "registration", on, months=parameters.value("registration_months", on),
                law={"registration_months": parameters.cite("registration_months", on)})
            # An earlier registration deadline that fired used up its timer: the step starts over.
            ctx.restart_step("register", "registration_deadline")
    if decision.target_group == "entitled" and not state.has_trajectory:
        ctx.start_instance("trajectory")  # excluded → entitled: the trajectory is open to them now


# ---------------------------------------------------------------- components, fees, attest


def charge(ctx, item: str, on: date) -> None:
    """A fee with the tariff of the day it is charged for, and nothing if the newcomer lived in Brussels
    that day (TRAJECTORY.md §7; scenarios README "Late-recorded facts": fees are judged by ``on``)."""
    state = ctx.state
    amount = fees.fee(item, on, living_in_brussels=state.living_in_brussels_on(on), fee_exempt=state.fee_exempt)
    ctx.emit(f.FeeCharged(on, item, amount, fees.fee_law(item, on)))


def fulfil(ctx, component: str, on: date, by: str, *, actor: str) -> None:
    """Mark a component fulfilled and complete its BPMN step (TRAJECTORY.md §4.5-4.6)."""
    entry = ctx.state.components[component]
    if entry.fulfilled_on is not None:
        return
    ctx.emit(f.ComponentFulfilled(component, on, by), actor=actor)
    if ctx.model_has_step(component):  # a process version may have no step for a component (migration)
        ctx.complete_task(component, {"fulfilled_by": by, "fulfilled_on": on.isoformat()}, actor=actor)


def vdab_fulfilled_before_contract(state, on: date) -> Optional[str]:
    if state.vdab_registered_on is not None and state.vdab_registered_on <= on:
        return "vdab_registered"
    if state.vdab_exempt_reason is not None and (state.vdab_exempt_on is None or state.vdab_exempt_on <= on):
        return f"vdab_exempt:{state.vdab_exempt_reason}"
    if component_rules.at_or_above_pension_age(state.birth_date, on):
        return "pension_age"
    return None


def vdab_fulfilled_after(state, on: date) -> Optional[tuple[date, str]]:
    """The first VDAB fact recorded before a contract of ``on`` but dated after it (a contract recorded
    late): (its day, what it was), or None."""
    facts = []
    if state.vdab_registered_on is not None and state.vdab_registered_on > on:
        facts.append((state.vdab_registered_on, "vdab_registered"))
    if state.vdab_exempt_on is not None and state.vdab_exempt_on > on:
        facts.append((state.vdab_exempt_on, f"vdab_exempt:{state.vdab_exempt_reason}"))
    return min(facts, default=None)


def pnt_fulfilled_on(state) -> Optional[date]:
    """The day the PNT hours reported reached the required total (by the rule of that day), or None."""
    total = 0.0
    for day, hours in sorted(state.pnt_reports, key=lambda report: (report[0] is not None, report[0] or date.min)):
        total += hours
        if day is not None and component_rules.pnt_fulfilled(total, day):
            return day
    return None


def registration_infraction_handed_over(ctx, infraction: Infraction) -> None:
    """Scenarios README: after the hand-over of a registration infraction, a new 3-month deadline."""
    state = ctx.state
    if infraction.type in REGISTRATION_INFRACTIONS and state.registered_on is None:
        start = infraction.handed_over_on
        arm(ctx, "reregistration", start, months=parameters.value("reregistration_months", start),
            law={"reregistration_months": parameters.cite("reregistration_months", start)})


def b1_outcome(state) -> str:
    """The B1 check's outcome from the facts known now (TRAJECTORY.md §4.7)."""
    return b1_rules.outcome(attest_on=state.attest_on, due_on=state.b1_due_on, birth_date=state.birth_date,
                            attained_on=list(state.b1_attained_on), activities=list(state.activities))


def b1_law(due_on: date) -> dict:
    return {name: parameters.cite(name, due_on) for name in ("b1_activity_months", "adult_age", "pension_age")}


def rejudge_b1(ctx, on: date, by: str) -> None:
    """A fact recorded after the B1 check (proof of B1 on or before the due day, an activity) is judged
    as if it had been known on the due day: a changed outcome is recorded (revised), and a
    ``b1_not_attained`` it would have prevented is withdrawn (scenarios README "Late-recorded facts")."""
    state = ctx.state
    if state.b1_outcome is None or state.b1_outcome == "pending":
        return
    outcome = b1_outcome(state)
    if outcome == state.b1_outcome:
        return
    ctx.emit(f.B1Checked(ctx.today, state.b1_due_on, outcome, True, "b1_v1", b1_law(state.b1_due_on)))
    if outcome != "infraction":
        for infraction in state.undecided_infractions(("b1_not_attained",)):
            withdraw(ctx, infraction, f"{by} on {on.isoformat()}: the B1 check is now {outcome}")
