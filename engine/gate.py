"""The BPMN is the gate: an event is accepted only when the dossier's process waits for it.

ENGINEERING.md principle 9; scenarios README "Order of steps" and "Status changes". The order
of the steps lives in the process models (``processes/*.bpmn``): the intake opens after the
registration, the contract after the intake, the components after the contract, a component's
task closes when it is fulfilled, the officer's ``decide`` opens at the hand-over. The intake
is optional (its documentation in trajectory.bpmn): a contract signed while it waits completes
it as skipped. This module only maps each event to the user tasks it works on (the element-ID
contract of processes/README.md) and asks the loaded instance whether one is ready. Nothing
here repeats the order.

Events the conventions accept at any time on a dossier with a trajectory
(:data:`ANY_TIME`), events that also count before the contract (:data:`BEFORE_CONTRACT`) and
the two accepted on an excluded dossier (:data:`ON_EXCLUDED`) are listed with their source.
A refusal names what the dossier waits for; the command is then not applied at all.
"""
from __future__ import annotations

from .errors import Refused

#: scenarios README "Status changes": the only events accepted on an excluded dossier
ON_EXCLUDED = frozenset({"moved", "residence_changed"})
#: not steps of the trajectory: accepted whenever the dossier has one (TRAJECTORY.md §2, §4.7, §5)
ANY_TIME = frozenset({"moved", "residence_changed", "suspended", "activity", "b1_test", "b1_attained"})
#: scenarios README "Order of steps": these count before the contract too (NT2 only for test_result)
BEFORE_CONTRACT = frozenset({"vdab_registered", "vdab_exempt", "mo_exemption_test", "pnt_hours", "activity",
                             "test_result:nt2"})

#: event → the trajectory's user tasks it works on, any of which must be ready (processes/README.md,
#: element-ID contract); a contract signed while the intake waits skips it (trajectory.bpmn, intake)
TASK_OF_EVENT = {
    "registered": ("register",),
    "intake": ("intake",),
    "contract_signed": ("contract", "intake"),
    "refused_intake_or_contract": ("contract", "intake"),
    "vdab_registered": ("vdab",),
    "vdab_exempt": ("vdab",),
    "pnt_hours": ("pnt",),
    "pnt_not_fulfilled": ("pnt",),
    "mo_exemption_test": ("mo",),
}
#: events whose task is the component named in their payload
COMPONENT_EVENTS = frozenset({"attendance", "test_result", "test_refused"})


def tasks_for(event_type: str, payload: dict) -> tuple[str, ...]:
    """The trajectory user tasks an event works on (none for the any-time events and decisions)."""
    if event_type in COMPONENT_EVENTS:
        return (payload["component"],)
    return TASK_OF_EVENT.get(event_type, ())


def waits_for(ctx) -> list[str]:
    """What the dossier waits for: its ready caseworker steps and the officers' decisions."""
    steps = list(ctx.ready_steps())
    steps += [f"decide:{i.id}" for i in ctx.state.infractions if i.outcome == "handed_over" and ctx.decision_waits(i.id)]
    return steps


def check(ctx, event_type: str, payload: dict) -> None:
    """Refuse (409, nothing changed) an event the dossier's processes do not wait for."""
    state = ctx.state
    if state.target_group == "excluded" and event_type not in ON_EXCLUDED:
        raise Refused(f"dossier {state.id} is excluded ({', '.join(state.reasons) or 'no right to a trajectory'}): "
                      "only a move or a new residence status can be recorded",
                      code="excluded", params={"event": event_type, "accepted": sorted(ON_EXCLUDED)})
    if event_type == "enforcement_decision" or event_type in ANY_TIME:
        return  # a decision is gated on its infraction's own instance (handlers.enforcement_decision)
    tasks = tasks_for(event_type, payload)
    if any(ctx.step_ready(task) for task in tasks):
        return
    key = f"{event_type}:{payload.get('component')}" if event_type in COMPONENT_EVENTS else event_type
    if key in BEFORE_CONTRACT and not ctx.step_done("contract"):
        return
    waiting = waits_for(ctx)
    raise Refused(f"dossier {state.id} does not wait for {event_type}"
                  f"{' (' + payload['component'] + ')' if event_type in COMPONENT_EVENTS else ''}; "
                  f"it waits for: {', '.join(waiting) or 'nothing'}",
                  code="not_waiting", params={"event": event_type, "task": tasks[0] if tasks else None,
                                              "waits_for": waiting})
