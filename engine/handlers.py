"""Command handlers: one per caseworker / officer event (scenarios README, "Events").

A handler checks that the event makes sense in the dossier's state (else
:class:`Refused`, and the unit of work rolls back: nothing changes), updates the
aggregate, and drives the BPMN through :mod:`engine.actions`.
"""
from __future__ import annotations

from datetime import date
from typing import Callable

from rules import components as component_rules
from rules import dates, fees, geography, parameters

from . import actions, spiff
from .dossier import REGISTRATION_INFRACTIONS
from .errors import InvalidInput, Refused

Handler = Callable[..., None]
HANDLERS: dict[str, Handler] = {}


def handles(event_type: str):
    def register(fn: Handler) -> Handler:
        HANDLERS[event_type] = fn
        return fn
    return register


def _require_contract(state, what: str) -> None:
    if state.contract_signed_on is None:
        raise Refused(f"{what}: no contract has been signed in this dossier")


def _period(payload: dict) -> tuple[date, date]:
    start, end = date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"])
    if end < start:
        raise InvalidInput("$.to", f"period ends ({end}) before it starts ({start})")
    return start, end


@handles("registered")
def registered(ctx, payload: dict, actor: str) -> None:
    """§4.2: registration at the agency; regularises a registration infraction."""
    state = ctx.state
    if state.registered_on is not None:
        raise Refused(f"already registered on {state.registered_on}")
    state.registered_on = ctx.today
    state.settle("registration")
    state.settle("reregistration")
    ctx.complete_step("register", {"registered_on": ctx.today.isoformat()}, actor=actor)
    ctx.signal_trajectory("registered")  # ends the re-registration escalation loop, if it runs
    actions.regularise(ctx, REGISTRATION_INFRACTIONS)


@handles("intake")
def intake(ctx, payload: dict, actor: str) -> None:
    """§4.3: learning-capacity advice."""
    state = ctx.state
    if state.registered_on is None:
        raise Refused("intake before registration at the agency")
    if state.intake_on is not None:
        raise Refused(f"intake already recorded on {state.intake_on}")
    state.advice = payload["advice"]
    state.intake_on = ctx.today
    ctx.complete_step("intake", {"advice": state.advice}, actor=actor)


@handles("mo_exemption_test")
def mo_exemption_test(ctx, payload: dict, actor: str) -> None:
    """§4.5 MO: the exemption test before the course; passing fulfils MO."""
    state = ctx.state
    actions.charge(ctx, "mo_exemption_test", ctx.today)
    if component_rules.mo_passed(payload["core_percent"], payload["total_percent"], ctx.today):
        state.mo_passed_on = state.mo_passed_on or ctx.today
        if state.contract_signed_on is not None:
            actions.fulfil(ctx, "mo", ctx.today, "mo_exemption_test", actor=actor)


@handles("refused_intake_or_contract")
def refused_intake_or_contract(ctx, payload: dict, actor: str) -> None:
    """§4.3: refusing the intake or the contract is an infraction (caseworker record)."""
    if ctx.state.contract_signed_on is not None:
        raise Refused(f"the contract was already signed on {ctx.state.contract_signed_on}")
    actions.establish(ctx, "refused_intake_or_contract", ctx.today, actor=actor)


@handles("contract_signed")
def contract_signed(ctx, payload: dict, actor: str) -> None:
    """§4.4: the contract lists the components still to do; fees per §7."""
    state = ctx.state
    today = ctx.today
    if state.registered_on is None:
        raise Refused("contract before registration at the agency")
    if state.contract_signed_on is not None:
        raise Refused(f"a contract was already signed on {state.contract_signed_on}")
    listed = list(payload["components"])
    if not listed and parameters.value("reform_2022", today):
        raise InvalidInput("$.components", "a contract signed since the 2022 reform lists at least one component")
    if state.intake_on is None:
        ctx.complete_step("intake", {"advice": None, "skipped": True}, actor=actor)
    state.contract_signed_on = today
    for name, component in state.components.items():
        component.listed = name in listed
    if "mo" in listed:
        actions.charge(ctx, "mo_course", today)
    if "nt2" in listed:
        actions.charge(ctx, "nt2_course", today)
    ctx.complete_step("contract", {"components": listed}, actor=actor)
    actions.regularise(ctx, ["refused_intake_or_contract"])
    already = {
        "mo": "mo_passed" if state.mo_passed_on else None,
        "nt2": "nt2_passed" if state.nt2_passed_on else None,
        "vdab": actions.vdab_fulfilled_before_contract(state, today),
        "pnt": "pnt_hours" if component_rules.pnt_fulfilled(state.pnt_hours, today) else None,
    }
    if "vdab" in listed and already["vdab"] is None and state.obligated:
        state.arm("vdab", today, dates.last_timely_day(today, months=parameters.value("vdab_months", today)))
    for name in state.components:
        if name not in listed:
            actions.fulfil(ctx, name, today, "not_in_contract", actor=actor)
        elif already[name]:
            actions.fulfil(ctx, name, today, already[name], actor=actor)


def _vdab_done(ctx, by: str, actor: str) -> None:
    state = ctx.state
    state.settle("vdab")
    if state.contract_signed_on is not None and state.components["vdab"].listed:
        actions.fulfil(ctx, "vdab", ctx.today, by, actor=actor)
    actions.regularise(ctx, ["late_vdab_registration"])


@handles("vdab_registered")
def vdab_registered(ctx, payload: dict, actor: str) -> None:
    """§4.5 VDAB: registration (before the contract counts too)."""
    state = ctx.state
    if state.vdab_registered_on is not None:
        raise Refused(f"already registered with VDAB on {state.vdab_registered_on}")
    state.vdab_registered_on = ctx.today
    _vdab_done(ctx, "vdab_registered", actor)


@handles("vdab_exempt")
def vdab_exempt(ctx, payload: dict, actor: str) -> None:
    """§4.5 VDAB: exempt (working, no labour-market access, unfit for work)."""
    ctx.state.vdab_exempt_reason = payload["reason"]
    _vdab_done(ctx, f"vdab_exempt:{payload['reason']}", actor)


@handles("attendance")
def attendance(ctx, payload: dict, actor: str) -> None:
    """§4.5: attendance below 80 % (obligated) → irregular participation; ≥ 80 % regularises."""
    state = ctx.state
    component = payload["component"]
    _require_contract(state, "attendance report")
    if not state.components[component].listed:
        raise Refused(f"attendance for {component}, which is not in the contract")
    if component_rules.attendance_regular(payload["percent"], ctx.today):
        actions.regularise(ctx, ["irregular_participation"], component)
    else:
        actions.establish(ctx, "attendance", ctx.today, component=component, percent=payload["percent"],
                          actor=actor)


@handles("test_result")
def test_result(ctx, payload: dict, actor: str) -> None:
    """§4.5: MO passes on ≥ 50 % core and total; NT2 on A2 or higher; MO tests cost a fee (§7)."""
    state = ctx.state
    component = payload["component"]
    if component == "mo":
        actions.charge(ctx, "mo_test", ctx.today)
        passed = component_rules.mo_passed(payload["core_percent"], payload["total_percent"], ctx.today)
    else:
        passed = component_rules.nt2_passed(payload["level"])
    actions.regularise(ctx, ["refused_test"], component)
    if passed:
        setattr(state, f"{component}_passed_on", getattr(state, f"{component}_passed_on") or ctx.today)
        if state.contract_signed_on is not None:
            actions.fulfil(ctx, component, ctx.today, f"{component}_test", actor=actor)


@handles("test_refused")
def test_refused(ctx, payload: dict, actor: str) -> None:
    actions.establish(ctx, "test_refused", ctx.today, component=payload["component"], actor=actor)


@handles("pnt_hours")
def pnt_hours(ctx, payload: dict, actor: str) -> None:
    """§4.5 PNT: 40 hours."""
    state = ctx.state
    state.pnt_hours += payload["hours"]
    if component_rules.pnt_fulfilled(state.pnt_hours, ctx.today):
        actions.regularise(ctx, ["pnt_not_fulfilled"])
        if state.contract_signed_on is not None:
            actions.fulfil(ctx, "pnt", ctx.today, "pnt_hours", actor=actor)


@handles("pnt_not_fulfilled")
def pnt_not_fulfilled(ctx, payload: dict, actor: str) -> None:
    state = ctx.state
    _require_contract(state, "PNT not fulfilled")
    if not state.components["pnt"].listed:
        raise Refused("PNT is not in the contract")
    if state.components["pnt"].fulfilled_on is not None:
        raise Refused(f"PNT was fulfilled on {state.components['pnt'].fulfilled_on}")
    actions.establish(ctx, "pnt_not_fulfilled", ctx.today, actor=actor)


@handles("activity")
def activity(ctx, payload: dict, actor: str) -> None:
    """§4.7: work, study or training periods count for the B1 exemption."""
    start, end = _period(payload)
    ctx.state.activities.append((start, end))


@handles("suspended")
def suspended(ctx, payload: dict, actor: str) -> None:
    """§5: every deadline still running on ``from`` moves later by the suspended days."""
    state = ctx.state
    start, end = _period(payload)
    state.suspensions.append((start, end))
    for deadline in state.deadlines.values():
        if deadline.status == "running":
            moved = dates.extend_for_suspension(deadline.last_timely, start, end)
            if moved != deadline.last_timely:
                ctx.record("deadline_extended", {"deadline": deadline.name, "from": deadline.last_timely.isoformat(),
                                                 "to": moved.isoformat()}, actor=actor)
                deadline.last_timely = moved
                if deadline.name == "b1":
                    state.b1_due_on = moved
    for infraction in state.infractions:
        if infraction.outcome == "open" and infraction.regularisation_last_day is not None:
            moved = dates.extend_for_suspension(infraction.regularisation_last_day, start, end)
            if moved != infraction.regularisation_last_day:
                ctx.record("deadline_extended", {"deadline": "regularisation", "infraction": infraction.id,
                                                 "from": infraction.regularisation_last_day.isoformat(),
                                                 "to": moved.isoformat()}, actor=actor)
                infraction.regularisation_last_day = moved


@handles("moved")
def moved(ctx, payload: dict, actor: str) -> None:
    """§1: a move may transfer the dossier to another agency; §2: the target group is decided again."""
    try:
        geography.locate(payload["nis_code"])
    except ValueError as err:
        raise InvalidInput("$.nis_code", str(err)) from None
    ctx.state.newcomer["nis_code"] = payload["nis_code"]
    actions.redecide_target_group(ctx, actor=actor)


@handles("residence_changed")
def residence_changed(ctx, payload: dict, actor: str) -> None:
    ctx.state.newcomer["residence"] = payload["residence"]
    actions.redecide_target_group(ctx, actor=actor)


def _b1_attained(ctx) -> None:
    ctx.state.b1_attained_on.append(ctx.today)
    actions.regularise(ctx, ["b1_not_attained"])


@handles("b1_test")
def b1_test(ctx, payload: dict, actor: str) -> None:
    """§4.7: each B1 test costs a fee; passing counts as B1 attained."""
    actions.charge(ctx, "b1_test", ctx.today)
    if payload["passed"]:
        _b1_attained(ctx)


@handles("b1_attained")
def b1_attained(ctx, payload: dict, actor: str) -> None:
    _b1_attained(ctx)


@handles("enforcement_decision")
def enforcement_decision(ctx, payload: dict, actor: str) -> None:
    """§6.4, §6.8: the officer decides; a fine must lie inside the dated range."""
    state = ctx.state
    infraction = state.oldest_handed_over(payload["infraction"])
    if infraction is None:
        raise Refused(f"no handed-over infraction of type {payload['infraction']!r} in this dossier")
    decision = payload["decision"]
    data = {"decision": decision, "officer": actor}
    if decision == "fine":
        if "fine_eur" not in payload:
            raise InvalidInput("$.fine_eur", "a fine needs an amount (fine_eur)")
        low, high = fees.fine_range(ctx.today)
        amount = payload["fine_eur"]
        if not low <= amount <= high:
            raise InvalidInput("$.fine_eur", f"fine of {amount} EUR is outside the legal range "
                                             f"{low}–{high} EUR in force on {ctx.today}")
        data["fine_eur"] = amount
    loaded = ctx.enforcement(infraction.id)
    if loaded is None or not spiff.complete_user_task(loaded.workflow, "decide", data):
        raise Refused(f"infraction {infraction.id} is not waiting for a decision")
    ctx.record("task_completed", {"task": "decide", "infraction": infraction.id, "data": data},
               actor=actor, process=loaded.process)
