"""The BPMN service operations (see processes/README.md for where each is called)."""
from __future__ import annotations

from rules import b1 as b1_rules
from rules import dates, parameters

from . import actions
from .actions import TRIGGER_DEADLINE
from .registry import operation


@operation("decide_target_group")
def decide_target_group(ctx, loaded) -> dict:
    """Hand the import's target-group decision (already journaled) to the process (§2, §4.1)."""
    state = ctx.state
    return {"target_group": state.target_group, "reasons": list(state.reasons), **state.decided_by}


@operation("establish_infraction")
def establish_infraction(ctx, loaded, trigger: str) -> dict:
    """A deadline timer fired: the infraction ruleset decides (§4.2, §4.5, §4.7).

    ``established_on`` is the legal date — the first day after the last timely
    day — even when the sweep runs late (catch-up).
    """
    deadline = ctx.state.deadlines[TRIGGER_DEADLINE[trigger]]
    deadline.status = "fired"
    ctx.record("timer_fired", {"timer": trigger, "last_timely_day": deadline.last_timely.isoformat()},
               process=loaded.process)
    infraction = actions.establish(ctx, trigger, dates.day_established(deadline.last_timely))
    return {"infraction": infraction.id if infraction else None}


@operation("issue_attest")
def issue_attest(ctx, loaded) -> dict:
    """§4.6: the attest is issued the day the last required component is fulfilled."""
    state = ctx.state
    state.attest_on = max(c.fulfilled_on for c in state.components.values())
    in_scope = b1_rules.in_scope(state.target_group, state.contract_signed_on)
    ctx.record("attest_issued", {"attest_on": state.attest_on.isoformat(), "b1_in_scope": in_scope},
               process=loaded.process)
    if in_scope:
        state.b1_due_on = b1_rules.due_on(state.attest_on)
        state.arm("b1", state.attest_on, state.b1_due_on)
    return {"b1_in_scope": in_scope}


@operation("b1_check")
def b1_check(ctx, loaded) -> dict:
    """§4.7 and scenarios README "B1 check": decided by the sweep of due_on + 1."""
    state = ctx.state
    deadline = state.deadlines["b1"]
    deadline.status = "fired"
    outcome = b1_rules.outcome(attest_on=state.attest_on, due_on=state.b1_due_on, birth_date=state.birth_date,
                               attained_on=list(state.b1_attained_on), activities=list(state.activities))
    state.b1_outcome = outcome
    ctx.record("b1_checked", {"due_on": state.b1_due_on.isoformat(), "outcome": outcome}, process=loaded.process)
    if outcome == "infraction":
        actions.establish(ctx, "b1_check", dates.day_established(deadline.last_timely))
    return {"outcome": outcome}


@operation("issue_notice")
def issue_notice(ctx, loaded) -> dict:
    """§6.1: notice of default with a regularisation period, counted from the day it is issued."""
    infraction = ctx.state.infraction(loaded.infraction_id)
    infraction.notice_on = ctx.today
    days = parameters.value("regularisation_days", ctx.today)
    infraction.regularisation_last_day = dates.last_timely_day(ctx.today, days=days)
    ctx.record("notice_issued", {"infraction": infraction.id, "notice_on": ctx.today.isoformat(),
                                 "regularisation_last_day": infraction.regularisation_last_day.isoformat()},
               process=loaded.process)
    return {}


@operation("hand_over")
def hand_over(ctx, loaded) -> dict:
    """§6.3: not regularised → handed to enforcement on the first day after the period."""
    infraction = ctx.state.infraction(loaded.infraction_id)
    infraction.outcome = "handed_over"
    infraction.handed_over_on = ctx.today
    ctx.record("handed_over", {"infraction": infraction.id, "type": infraction.type,
                               "handed_over_on": ctx.today.isoformat()}, process=loaded.process)
    actions.registration_infraction_handed_over(ctx, infraction)
    return {}


@operation("close_infraction")
def close_infraction(ctx, loaded, outcome: str) -> dict:
    """§6.2 regularised, §6.5 annulled."""
    infraction = ctx.state.infraction(loaded.infraction_id)
    infraction.outcome = outcome
    infraction.closed_on = ctx.today
    ctx.record("infraction_closed", {"infraction": infraction.id, "outcome": outcome}, process=loaded.process)
    return {}


DECISION_OUTCOME = {"fine": "fined", "no_fine": "not_fined", "no_follow_up": "annulled"}


@operation("record_decision")
def record_decision(ctx, loaded) -> dict:
    """§6.4: the officer's decision, taken from the completed ``decide`` user task."""
    infraction = ctx.state.infraction(loaded.infraction_id)
    task = next(t for t in loaded.workflow.get_tasks() if t.task_spec.name == "decide" and "decision" in t.data)
    decision = task.data["decision"]
    infraction.decision = decision
    infraction.outcome = DECISION_OUTCOME[decision]
    infraction.fine_eur = task.data.get("fine_eur") if decision == "fine" else None
    infraction.decided_on = ctx.today
    ctx.record("decision_recorded", {"infraction": infraction.id, "decision": decision,
                                     "fine_eur": infraction.fine_eur, "officer": task.data.get("officer")},
               actor=task.data.get("officer", "system"), process=loaded.process)
    return {}
