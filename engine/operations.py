"""The BPMN service operations (see processes/README.md for where each is called).

Dates: an infraction is established on its legal date, the first day after the last timely
day, even when the sweep runs late (TRAJECTORY.md §5). A notice of default and a hand-over
are acts: they are dated the day they are really done, and the regularisation period runs
from the notice as sent — a newcomer whose notice was delayed by downtime still gets the
whole period (TRAJECTORY.md §6.1). On time, the notice is issued the day the infraction is
established and the hand-over is the first day after the period. The sweep makes sure a
dossier is fired on its day even when another sweeper died holding it (timers/sweep.py).
"""
from __future__ import annotations

from rules import b1 as b1_rules
from rules import dates, parameters

from . import actions
from . import facts as f
from . import letters
from .actions import TRIGGER_DEADLINE
from .registry import operation


@operation("decide_target_group")
def decide_target_group(ctx, loaded) -> dict:
    """Hand the target-group decision (already journaled) to the process (§2, §4.1)."""
    state = ctx.state
    return {"target_group": state.target_group, "reasons": list(state.reasons), **state.decided_by}


@operation("establish_infraction")
def establish_infraction(ctx, loaded, trigger: str) -> dict:
    """A deadline timer fired: the infraction ruleset decides (§4.2, §4.5, §4.7)."""
    infraction = actions.fire_deadline(ctx, TRIGGER_DEADLINE[trigger], loaded.process)
    return {"infraction": infraction.id if infraction else None}


@operation("issue_attest")
def issue_attest(ctx, loaded) -> dict:
    """§4.6: the attest is issued the day the last required component is fulfilled; §4.7: the B1
    deadline runs from it when the B1 obligation applies to the contract."""
    state = ctx.state
    attest_on = max(c.fulfilled_on for c in state.components.values())
    in_scope = b1_rules.in_scope(state.target_group, state.contract_signed_on)
    law = {"b1_obligation": parameters.cite("b1_obligation", state.contract_signed_on)} \
        if state.contract_signed_on else {}
    ctx.emit(f.AttestIssued(attest_on, in_scope, law), process=loaded.process)
    if in_scope:
        actions.arm(ctx, "b1", attest_on, months=parameters.value("b1_check_months", attest_on),
                    law={"b1_check_months": parameters.cite("b1_check_months", attest_on)})
    return {"b1_in_scope": in_scope}


@operation("b1_check")
def b1_check(ctx, loaded) -> dict:
    """§4.7 and scenarios README "B1 check": decided by the sweep of due_on + 1."""
    state = ctx.state
    deadline = state.deadlines["b1"]
    established_on = deadline.established_on()
    ctx.emit(f.DeadlineFired("b1", deadline.last_timely, established_on), process=loaded.process)
    outcome = actions.b1_outcome(state)
    ctx.emit(f.B1Checked(established_on, state.b1_due_on, outcome, False, "b1_v1", actions.b1_law(state.b1_due_on)),
             process=loaded.process)
    if outcome == "infraction":
        actions.establish(ctx, "b1_check", established_on, deadline="b1")
    return {"outcome": outcome}


@operation("issue_notice")
def issue_notice(ctx, loaded) -> dict:
    """§6.1: notice of default, issued the day it is sent (on time: the day the infraction is
    established), with a regularisation period counted from it (``regularisation_days``) and moved
    by the suspensions that apply. Its letter (:mod:`engine.letters`) is journaled in the same unit of work."""
    state = ctx.state
    infraction = state.infraction(loaded.infraction_id)
    on = max(ctx.today, infraction.established_on)
    days = parameters.value("regularisation_days", on)
    base = actions._last_timely(on, days=days)
    last = actions._suspended(base, on, state.suspensions)
    ctx.emit(f.NoticeIssued(infraction.id, on, base, last,
                            {"regularisation_days": parameters.cite("regularisation_days", on)}),
             process=loaded.process)
    letters.issue(ctx, "notice_of_default", infraction, on, process=loaded.process)
    return {}


@operation("hand_over")
def hand_over(ctx, loaded) -> dict:
    """§6.3: not regularised → handed to enforcement on the first day after the period (the day the
    sweep hands it over); the newcomer is notified by letter (:mod:`engine.letters`)."""
    infraction = ctx.state.infraction(loaded.infraction_id)
    on = max(ctx.today, dates.day_established(infraction.regularisation_last_day))
    ctx.emit(f.HandedOver(infraction.id, infraction.type, on), process=loaded.process)
    letters.issue(ctx, "hand_over", infraction, on, process=loaded.process)
    actions.registration_infraction_handed_over(ctx, infraction)
    return {}


@operation("close_infraction")
def close_infraction(ctx, loaded, outcome: str) -> dict:
    """§6.2 regularised, §6.5 annulled, §5 withdrawn: why and when come from the engine's request
    (:meth:`engine.context.DossierContext.close_infraction`)."""
    infraction = ctx.state.infraction(loaded.infraction_id)
    reason, on = ctx.closing.pop(infraction.id, ("", ctx.today))
    recalled = infraction.handed_over_on if outcome in ("withdrawn", "regularised") else None
    ctx.emit(f.InfractionClosed(infraction.id, outcome, on, reason, recalled), process=loaded.process)
    return {}


DECISION_OUTCOME = {"fine": "fined", "no_fine": "not_fined", "no_follow_up": "annulled"}


@operation("record_decision")
def record_decision(ctx, loaded) -> dict:
    """§6.4: the officer's decision, taken from the completed ``decide`` user task, and its letter quoting the
    officer's motivation (:mod:`engine.letters`)."""
    from datetime import date

    infraction = ctx.state.infraction(loaded.infraction_id)
    task = next(t for t in loaded.workflow.get_tasks() if t.task_spec.name == "decide" and "decision" in t.data)
    data = task.data
    decision = data["decision"]
    on = date.fromisoformat(data["on"]) if data.get("on") else ctx.today
    law = {name: parameters.cite(name, on) for name in ("fine_min", "fine_max")} if decision == "fine" else {}
    ctx.emit(f.DecisionRecorded(infraction.id, on, decision, DECISION_OUTCOME[decision],
                                data.get("fine_eur") if decision == "fine" else None, data.get("motivation"),
                                data.get("officer") or "system", law),
             actor=data.get("officer", "system"), process=loaded.process)
    letters.issue(ctx, "decision", infraction, on, process=loaded.process, actor=data.get("officer", "system"),
                  extra={"officer": (data.get("officer") or "system").rpartition(":")[2]})  # the signer's user id
    return {}
