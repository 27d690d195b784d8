"""Business actions shared by command handlers and service operations.

Each one changes the aggregate, drives the BPMN where the law has a process step,
and journals what it did with the rule version that decided it.
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from rules import components as component_rules
from rules import dates, fees, infractions, target_group

from .dossier import REGISTRATION_INFRACTIONS, Infraction, jsonable

TRIGGER_DEADLINE = {
    "registration_deadline": "registration",
    "reregistration_deadline": "reregistration",
    "vdab_deadline": "vdab",
    "b1_check": "b1",
}


def establish(ctx, kind: str, established_on: date, *, component: Optional[str] = None,
              percent: Optional[float] = None, actor: str = "system") -> Optional[Infraction]:
    """Ask the infraction ruleset; on an infraction, open it and start its enforcement process.

    TRAJECTORY.md §6.1: a notice of default is issued the same day (by the
    enforcement process's first service task, dated the day it actually runs).
    """
    state = ctx.state
    trigger = {
        "kind": kind, "on": established_on, "target_group": state.target_group,
        "contract_signed_on": state.contract_signed_on, "component": component, "percent": percent,
        "open_same": False,
    }
    decision = infractions.evaluate(trigger)
    if decision.infraction is not None and state.open_infractions([decision.infraction], component):
        # One at a time (scenarios README): the ruleset itself decides the repeat, so the journal
        # records its reason and version.
        decision = infractions.evaluate({**trigger, "open_same": True})
    infraction_type, decision_reason = decision.infraction, decision.reason
    ctx.record("rule_decision", {
        "question": "infraction", "trigger": kind, "established_on": established_on.isoformat(),
        "component": component, "percent": percent, "target_group": state.target_group,
        "infraction": infraction_type, "reason": decision_reason,
    }, actor=actor, ruleset=decision.ruleset, rule_version=decision.version)
    if infraction_type is None:
        return None
    infraction = Infraction(id=f"{state.id}/{len(state.infractions) + 1}", type=infraction_type,
                            established_on=established_on, component=component,
                            ruleset=decision.ruleset, rule_version=decision.version)
    state.infractions.append(infraction)
    ctx.record("infraction_established", {"infraction": infraction.id, "type": infraction.type,
                                          "component": component,
                                          "established_on": established_on.isoformat()},
               ruleset=decision.ruleset, rule_version=decision.version)
    ctx.start_instance("enforcement", infraction)
    return infraction


def regularise(ctx, types, component: Optional[str] = None) -> None:
    """Close open infractions of these types as regularised (scenarios README, "Regularisation")."""
    for infraction in ctx.state.open_infractions(types, component):
        ctx.signal(infraction.id, "regularised")


def annul_undecided(ctx, reason: str) -> None:
    """TRAJECTORY.md §6.5: facts changed so that the infractions no longer apply."""
    for infraction in ctx.state.undecided_infractions():
        ctx.signal(infraction.id, "annulled")
        ctx.record("annulment_requested", {"infraction": infraction.id, "reason": reason})


def redecide_target_group(ctx, *, actor: str) -> None:
    """Re-run the target-group rules on changed facts (TRAJECTORY.md §2, last paragraph)."""
    state = ctx.state
    before = state.target_group
    decision = target_group.decide(state.newcomer, ctx.today)
    apply_decision(ctx, decision, actor=actor)
    if before == "obligated" and decision.target_group != "obligated":
        annul_undecided(ctx, f"target group changed to {decision.target_group}")
        for deadline in state.deadlines.values():
            if deadline.status == "running":
                deadline.status = "stopped"
                ctx.record("deadline_stopped", {"deadline": deadline.name, "reason": "no longer obligated"})
    if before != "obligated" and decision.target_group == "obligated" and state.registered_on is None:
        # TRAJECTORY.md §2: for a mover the obligation starts on the day they move into the
        # Dutch-language area; the registration deadline runs from that day.
        start = ctx.today
        state.arm("registration", start, dates.last_timely_day(
            start, months=_param("registration_months", start)))
        ctx.record("deadline_armed", {"deadline": "registration", "start": start.isoformat(),
                                      "reason": "obligation starts on the move into the area"})


def apply_decision(ctx, decision, *, actor: str) -> None:
    state = ctx.state
    state.target_group = decision.target_group
    state.reasons = list(decision.reasons)
    state.region = decision.region
    state.agency = decision.agency
    state.decided_by = {"ruleset": decision.ruleset, "version": decision.version, "on": ctx.today.isoformat()}
    ctx.record("rule_decision", {"question": "target_group", "inputs": jsonable(decision.inputs),
                                 "target_group": decision.target_group, "reasons": list(decision.reasons),
                                 "region": decision.region, "agency": decision.agency},
               actor=actor, ruleset=decision.ruleset, rule_version=decision.version)


def charge(ctx, item: str, on: date) -> None:
    state = ctx.state
    amount = fees.fee(item, on, living_in_brussels=state.living_in_brussels, fee_exempt=state.fee_exempt)
    state.fees.append({"item": item, "on": on.isoformat(), "amount": amount})
    ctx.record("fee_charged", {"item": item, "amount_eur": amount})


def fulfil(ctx, component: str, on: date, by: str, *, actor: str) -> None:
    """Mark a component fulfilled and complete its BPMN step when the trajectory waits on it."""
    state = ctx.state
    entry = state.components[component]
    if entry.fulfilled_on is None:
        entry.fulfilled_on = on
        entry.fulfilled_by = by
        ctx.record("component_fulfilled", {"component": component, "by": by, "on": on.isoformat()}, actor=actor)
    if state.contract_signed_on is not None:
        ctx.complete_step(component, {"fulfilled_by": entry.fulfilled_by}, actor=actor)


def vdab_fulfilled_before_contract(state, on: date) -> Optional[str]:
    if state.vdab_registered_on is not None:
        return "vdab_registered"
    if state.vdab_exempt_reason is not None:
        return f"vdab_exempt:{state.vdab_exempt_reason}"
    if component_rules.at_or_above_pension_age(state.birth_date, on):
        return "pension_age"
    return None


def registration_infraction_handed_over(ctx, infraction: Infraction) -> None:
    """Scenarios README: after the hand-over of a registration infraction, a new 3-month deadline."""
    state = ctx.state
    if infraction.type in REGISTRATION_INFRACTIONS and state.registered_on is None:
        start = infraction.handed_over_on
        state.arm("reregistration", start,
                  dates.last_timely_day(start, months=_param("reregistration_months", start)))


def _param(name: str, on: date):
    from rules import parameters
    return parameters.value(name, on)
