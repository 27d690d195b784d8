"""Command handlers: one per caseworker / officer event (scenarios README, "Events").

The engine has already checked that the dossier's processes wait for the event
(:mod:`engine.gate`) and validated its body. A handler decides with the rules, emits the
facts that record it (:mod:`engine.facts`), and completes the BPMN step the event fulfils;
it does not repeat the order of the steps, which lives in the BPMN. ``on`` is the day the
fact happened (the body's ``on``, default today by the business clock): the law judges it by
that day (TRAJECTORY.md §5; scenarios README "Late-recorded facts").

A refusal raises :class:`Refused` / :class:`InvalidInput` and the unit of work is dropped:
nothing changes.
"""
from __future__ import annotations

from datetime import date
from typing import Callable, Optional

from rules import components as component_rules
from rules import dates, fees, geography, offices, parameters

from . import actions
from . import facts as f
from .dossier import REGISTRATION_INFRACTIONS
from .errors import InvalidInput, Refused

Handler = Callable[..., None]
HANDLERS: dict[str, Handler] = {}


def handles(event_type: str):
    def register(fn: Handler) -> Handler:
        HANDLERS[event_type] = fn
        return fn
    return register


def _period(payload: dict) -> tuple[date, date]:
    start, end = date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"])
    if end < start:
        raise InvalidInput("$.to", f"period ends ({end}) before it starts ({start})", code="period_reversed",
                           params={"from": start.isoformat(), "to": end.isoformat()})
    return start, end


def _not_before(on: date, earlier: Optional[date], what: str) -> None:
    """A step cannot have happened before the step it follows."""
    if earlier is not None and on < earlier:
        raise InvalidInput("$.on", f"{on} is before the {what} ({earlier})", code="on_before_step",
                           params={"on": on.isoformat(), "step": what, "step_on": earlier.isoformat()})


def _office(state, code: Optional[str], on: date) -> Optional[str]:
    """The office of a registration, checked against the offices in force on its day."""
    if code is None:
        return None
    found = offices.office_on(code, on)
    if found is None:
        raise InvalidInput("$.office", f"{code!r} is not an office on {on}", code="unknown_office",
                           params={"office": code, "on": on.isoformat()})
    nis_code = state.nis_code_on(on)
    location = geography.locate(nis_code) if nis_code else None
    region = location.region if location else state.region
    if found.region != region:  # the dossier's state (where the newcomer lives) refuses it: a conflict
        raise Refused(f"office {code!r} serves {found.region}, the newcomer lived in {region} on {on}",
                      code="office_other_region",
                      params={"office": code, "office_region": found.region, "region": region, "on": on.isoformat()})
    return code


@handles("registered")
def registered(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.2: registration at the agency; meets the registration deadlines and regularises or
    withdraws a registration infraction. The office, when named, must be in the dated
    ``agency_offices`` list on ``on`` and serve the region the newcomer lived in that day (seed 000 Q1)."""
    office = _office(ctx.state, payload.get("office"), on)
    ctx.emit(f.Registered(on, office), actor=actor)
    ctx.complete_task("register", {"registered_on": on}, actor=actor)
    # Ends the re-registration escalation loop when it waits; nothing catches it otherwise.
    ctx.signal_trajectory("registered")
    actions.fact_happened(ctx, on, deadlines=("registration", "reregistration"),
                          infraction_types=REGISTRATION_INFRACTIONS, by="registered")


@handles("intake")
def intake(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.3: learning-capacity advice."""
    _not_before(on, ctx.state.registered_on, "registration")
    ctx.emit(f.IntakeRecorded(on, payload["advice"]), actor=actor)
    ctx.complete_task("intake", {"advice": payload["advice"]}, actor=actor)


@handles("mo_exemption_test")
def mo_exemption_test(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5 MO: the exemption test before the course; passing fulfils MO; it costs a fee (§7)."""
    state = ctx.state
    actions.charge(ctx, "mo_exemption_test", on)
    judged = component_rules.judge_mo(payload["core_percent"], payload["total_percent"], on)
    ctx.emit(f.TestJudged(on, "mo", "exemption_test", {k: payload[k] for k in ("core_percent", "total_percent")},
                          judged.passed, judged.rule, judged.law), actor=actor)
    if judged.passed and state.contract_signed_on is not None and state.components["mo"].listed:
        # a test of a day before the contract (it counts before the contract too) fulfils MO on the contract day
        actions.fulfil(ctx, "mo", max(on, state.contract_signed_on), "mo_exemption_test", actor=actor)


@handles("refused_intake_or_contract")
def refused_intake_or_contract(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.3: refusing the intake or the contract is an infraction (caseworker record)."""
    _not_before(on, ctx.state.registered_on, "registration")
    actions.establish(ctx, "refused_intake_or_contract", on, actor=actor)


@handles("contract_signed")
def contract_signed(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.4: the contract lists the components still to do (§3: PNT only from ``pnt_component``);
    fees per §7; the VDAB deadline runs from it (§4.5)."""
    state = ctx.state
    _not_before(on, state.registered_on, "registration")
    _not_before(on, state.intake_on, "intake")
    listed = list(payload["components"])
    if not listed and parameters.value("reform_2022", on):
        raise InvalidInput("$.components", "a contract signed since the 2022 reform lists at least one component",
                           code="empty_contract")
    pnt_in_regime = parameters.value("pnt_component", on)
    required = [c for c in listed if c != "pnt" or pnt_in_regime]
    hours = None
    if "nt2" in required and state.advice is not None:
        hours = parameters.value("nt2_lesson_hours", on).get(state.advice)
    law = {name: parameters.cite(name, on) for name in ("reform_2022", "pnt_component", "nt2_lesson_hours",
                                                        "vdab_months")}
    if ctx.step_ready("intake"):  # the intake is optional: signing the contract first skips it (trajectory.bpmn)
        ctx.complete_task("intake", {"advice": None, "skipped": True}, actor=actor)
    ctx.emit(f.ContractSigned(on, listed, required, hours, law), actor=actor)
    if "mo" in listed:
        actions.charge(ctx, "mo_course", on)
    if "nt2" in listed:
        actions.charge(ctx, "nt2_course", on)
    ctx.complete_task("contract", {"components": listed}, actor=actor)
    actions.fact_happened(ctx, on, infraction_types=["refused_intake_or_contract"], by="contract_signed")
    already = {
        "mo": "mo_passed" if state.mo_passed_on is not None and state.mo_passed_on <= on else None,
        "nt2": "nt2_passed" if state.nt2_passed_on is not None and state.nt2_passed_on <= on else None,
        "vdab": actions.vdab_fulfilled_before_contract(state, on),
        "pnt": "pnt_hours" if component_rules.pnt_fulfilled(state.pnt_hours_until(on), on) else None,
    }
    if "vdab" in required and already["vdab"] is None and state.obligated:
        months = parameters.value("vdab_months", on)
        actions.arm(ctx, "vdab", on, months=months, law={"vdab_months": parameters.cite("vdab_months", on)})
    for name in state.components:
        if name not in required:
            actions.fulfil(ctx, name, on, "not_in_regime" if name in listed else "not_in_contract", actor=actor)
        elif already[name]:
            actions.fulfil(ctx, name, on, already[name], actor=actor)
    # Facts recorded before the contract whose day is after it (a contract recorded late): they count from
    # their own day (scenarios README "Late-recorded facts"): they fulfil now, and a VDAB registration
    # meets the deadline the contract started (or, after it, regularises what it establishes).
    for name, day, by in (("mo", state.mo_passed_on, "mo_test"), ("nt2", state.nt2_passed_on, "nt2_test")):
        if name in required and day is not None and day > on:
            actions.fulfil(ctx, name, day, by, actor=actor)
    vdab_after = actions.vdab_fulfilled_after(state, on) if already["vdab"] is None else None
    if "vdab" in required and vdab_after is not None:
        _vdab_done(ctx, vdab_after[0], vdab_after[1], actor)
    pnt_day = actions.pnt_fulfilled_on(state)
    if "pnt" in required and already["pnt"] is None and pnt_day is not None:
        actions.fulfil(ctx, "pnt", max(pnt_day, on), "pnt_hours", actor=actor)


def _vdab_done(ctx, on: date, by: str, actor: str) -> None:
    state = ctx.state
    actions.fact_happened(ctx, on, deadlines=("vdab",), infraction_types=["late_vdab_registration"], by=by)
    if state.contract_signed_on is not None and state.components["vdab"].listed:
        actions.fulfil(ctx, "vdab", max(on, state.contract_signed_on), by, actor=actor)


@handles("vdab_registered")
def vdab_registered(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5 VDAB: registration (before the contract counts too)."""
    state = ctx.state
    if state.vdab_registered_on is not None:
        raise Refused(f"already registered with VDAB on {state.vdab_registered_on}", code="already_done",
                      params={"event": "vdab_registered", "on": state.vdab_registered_on.isoformat()})
    ctx.emit(f.VdabRegistered(on), actor=actor)
    _vdab_done(ctx, on, "vdab_registered", actor)


@handles("vdab_exempt")
def vdab_exempt(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5 VDAB: exempt (working, no labour-market access, unfit for work)."""
    ctx.emit(f.VdabExempted(on, payload["reason"]), actor=actor)
    _vdab_done(ctx, on, f"vdab_exempt:{payload['reason']}", actor)


@handles("attendance")
def attendance(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5: attendance below the minimum (obligated) → irregular participation; at or above it regularises."""
    component = payload["component"]
    _not_before(on, ctx.state.contract_signed_on, "contract")
    judged = component_rules.judge_attendance(payload["percent"], on)
    ctx.emit(f.AttendanceReported(on, component, payload["percent"], judged.passed, judged.law), actor=actor)
    if judged.passed:
        actions.fact_happened(ctx, on, infraction_types=["irregular_participation"], component=component,
                              by=f"attendance {payload['percent']} %")
    else:
        actions.establish(ctx, "attendance", on, component=component, percent=payload["percent"], actor=actor)


@handles("test_result")
def test_result(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5: MO passes by the rule of the test's day; NT2 on the required level; MO tests cost a fee (§7)."""
    state = ctx.state
    component = payload["component"]
    if component == "mo":
        _not_before(on, state.contract_signed_on, "contract")
        actions.charge(ctx, "mo_test", on)
        judged = component_rules.judge_mo(payload["core_percent"], payload["total_percent"], on)
        result = {k: payload[k] for k in ("core_percent", "total_percent")}
    else:
        judged = component_rules.judge_nt2(payload["level"], on)
        result = {"level": payload["level"]}
    ctx.emit(f.TestJudged(on, component, "test", result, judged.passed, judged.rule, judged.law), actor=actor)
    actions.fact_happened(ctx, on, infraction_types=["refused_test"], component=component, by=f"{component} test")
    if judged.passed and state.contract_signed_on is not None and state.components[component].listed:
        actions.fulfil(ctx, component, max(on, state.contract_signed_on), f"{component}_test", actor=actor)


@handles("test_refused")
def test_refused(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5: refusing a test or a retest → refused_test."""
    _not_before(on, ctx.state.contract_signed_on, "contract")
    actions.establish(ctx, "test_refused", on, component=payload["component"], actor=actor)


@handles("pnt_hours")
def pnt_hours(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5 PNT: the hours reported add up to ``pnt_required_hours``."""
    state = ctx.state
    ctx.emit(f.PntHoursReported(on, payload["hours"]), actor=actor)
    if component_rules.pnt_fulfilled(state.pnt_hours, on):
        actions.fact_happened(ctx, on, infraction_types=["pnt_not_fulfilled"], by="pnt_hours")
        if state.contract_signed_on is not None and state.components["pnt"].listed:
            actions.fulfil(ctx, "pnt", max(on, state.contract_signed_on), "pnt_hours", actor=actor)


@handles("pnt_not_fulfilled")
def pnt_not_fulfilled(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.5 PNT: the caseworker records that it is not fulfilled (only where PNT is in the contract's
    regime: the ``pnt`` task waits only then)."""
    _not_before(on, ctx.state.contract_signed_on, "contract")
    actions.establish(ctx, "pnt_not_fulfilled", on, actor=actor)


@handles("activity")
def activity(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.7: work, study or training periods count for the B1 exemption."""
    start, end = _period(payload)
    ctx.emit(f.ActivityRecorded(on, payload["kind"], start, end), actor=actor)
    actions.rejudge_b1(ctx, on, f"activity {start}..{end}")


@handles("suspended")
def suspended(ctx, payload: dict, actor: str, on: date) -> None:
    """§5: every deadline still running on ``from`` moves later by the suspended days; a day is
    suspended at most once (scenarios README "Deadlines")."""
    state = ctx.state
    start, end = _period(payload)
    days = dates.days_not_yet_suspended(start, end, state.suspensions)
    ctx.emit(f.SuspensionRecorded(on, start, end, days), actor=actor)
    if days:
        actions.extend_for_suspensions(ctx, start)
        actions.reopen_for_suspensions(ctx, start, end)


def _in_order(ctx, field: str, on: date) -> None:
    """A change of a register fact dated before the last recorded change of it is refused: recorded
    after it, it would overwrite the newcomer's present situation with an older one (ASSUMPTION: the
    scenarios README accepts late facts but is silent on status changes entered out of order)."""
    last = ctx.state.changed_on.get(field)
    if last is not None and on.isoformat() < last:
        raise Refused(f"a change of {field} on {last} is already recorded; a change dated {on} cannot be "
                      "recorded after it", code="change_out_of_order",
                      params={"field": field, "on": on.isoformat(), "last_change_on": last})


@handles("moved")
def moved(ctx, payload: dict, actor: str, on: date) -> None:
    """§1: a move may transfer the dossier to another agency; §2: the target group is decided again."""
    _in_order(ctx, "nis_code", on)
    try:
        geography.locate(payload["nis_code"])
    except ValueError as err:
        raise InvalidInput("$.nis_code", str(err), code="unknown_nis_code",
                           params={"nis_code": payload["nis_code"]}) from None
    ctx.emit(f.NewcomerChanged(on, "nis_code", payload["nis_code"]), actor=actor)
    actions.redecide_target_group(ctx, on, actor=actor)


@handles("residence_changed")
def residence_changed(ctx, payload: dict, actor: str, on: date) -> None:
    """§2: a new residence status; the target group is decided again."""
    _in_order(ctx, "residence", on)
    ctx.emit(f.NewcomerChanged(on, "residence", payload["residence"]), actor=actor)
    actions.redecide_target_group(ctx, on, actor=actor)


def _b1_attained(ctx, on: date, by: str, actor: str) -> None:
    ctx.emit(f.B1Attained(on, by), actor=actor)
    actions.fact_happened(ctx, on, infraction_types=["b1_not_attained"], by=by)
    actions.rejudge_b1(ctx, on, by)


@handles("b1_test")
def b1_test(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.7: each B1 test costs a fee; passing counts as B1 attained."""
    actions.charge(ctx, "b1_test", on)
    if payload["passed"]:
        _b1_attained(ctx, on, "b1_test", actor)


@handles("b1_attained")
def b1_attained(ctx, payload: dict, actor: str, on: date) -> None:
    """§4.7: proof of oral B1."""
    _b1_attained(ctx, on, "b1_attained", actor)


DECISION_OUTCOME = {"fine": "fined", "no_fine": "not_fined", "no_follow_up": "annulled"}


@handles("enforcement_decision")
def enforcement_decision(ctx, payload: dict, actor: str, on: date) -> None:
    """§6.4, §6.8: the officer decides a handed-over infraction — the one named by ``infraction_id``,
    or (the conformance form) the oldest handed-over one of type ``infraction``; a fine must lie
    inside the dated range, and only a fine has an amount."""
    state = ctx.state
    if "infraction_id" in payload:
        infraction = state.find_infraction(payload["infraction_id"])
        if infraction is None:
            raise Refused(f"no infraction {payload['infraction_id']!r} in this dossier", code="no_such_infraction",
                          params={"infraction": payload["infraction_id"]}, status=404)
    else:
        infraction = state.oldest_handed_over(payload["infraction"])
        if infraction is None:
            raise Refused(f"no handed-over infraction of type {payload['infraction']!r} in this dossier",
                          code="no_handed_over_infraction", params={"type": payload["infraction"]})
    if not ctx.decision_waits(infraction.id):
        raise Refused(f"infraction {infraction.id} is {infraction.outcome}: it does not wait for a decision",
                      code="not_waiting_for_decision", params={"infraction": infraction.id,
                                                               "outcome": infraction.outcome})
    if on < infraction.handed_over_on:
        raise InvalidInput("$.on", f"{on} is before the hand-over ({infraction.handed_over_on})",
                           code="on_before_step", params={"on": on.isoformat(), "step": "hand_over",
                                                          "step_on": infraction.handed_over_on.isoformat()})
    decision = payload["decision"]
    data = {"decision": decision, "officer": actor, "on": on.isoformat(), "motivation": payload.get("motivation")}
    if decision == "fine":
        low, high = fees.fine_range(on)
        amount = payload["fine_eur"]
        if not low <= amount <= high:
            raise InvalidInput("$.fine_eur", f"fine of {amount} EUR is outside the legal range "
                                             f"{low}–{high} EUR in force on {on}", code="fine_out_of_range",
                               params={"amount": amount, "min": low, "max": high, "on": on.isoformat()})
        data["fine_eur"] = amount
    ctx.complete_decision(infraction.id, data, actor=actor)
