"""Effective dates (the body's ``on``), suspensions counted once, and status changes (issue: time and the
record; scenarios README "Late-recorded facts", "Deadlines", "Status changes")."""
from __future__ import annotations

from datetime import date

import pytest

from engine.errors import InvalidInput, Refused
from engine.replay import replay_dossier

from .helpers import CASEWORKER, newcomer, on


def _refused_422(engine, event, payload, code):
    before = engine.dossier_view("N1")["version"]
    with pytest.raises(InvalidInput) as refused:
        engine.handle("N1", event, payload, actor=CASEWORKER)
    assert refused.value.code == code, refused.value
    assert engine.dossier_view("N1")["version"] == before  # nothing written
    return refused.value


def test_on_defaults_to_today_and_is_recorded_with_the_command(engine, clock):
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 5), "registered")
    assert engine.dossier_view("N1")["registered_on"] == "2024-02-05"
    command = [e for e in engine.history("N1", limit=500)["entries"] if e["kind"] == "command"][-1]
    assert (command["payload"]["payload"]["on"], command["effective_date"]) == ("2024-02-05", "2024-02-05")


@pytest.mark.parametrize("payload, code", [
    ({"on": "2024-02-06"}, "on_in_future"),
    ({"on": "2024-01-30"}, "on_before_obligation_start"),
])
def test_on_after_today_or_before_the_obligation_start_is_refused(engine, clock, payload, code):
    engine.import_newcomer(newcomer())  # obligation start 2024-01-31
    on(engine, clock, date(2024, 2, 5), "suspended", {"from": "2024-02-01", "to": "2024-02-02"})
    error = _refused_422(engine, "registered", payload, code)
    assert error.path == "$.on"


@pytest.mark.parametrize("value", ["2024-02-30", "5 February", "2024-2-5", "9999-01-01"])
def test_on_that_is_not_a_date_is_refused(engine, clock, value):
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 5), "suspended", {"from": "2024-02-01", "to": "2024-02-02"})
    with pytest.raises(InvalidInput) as refused:
        engine.handle("N1", "registered", {"on": value}, actor=CASEWORKER)
    assert refused.value.path == "$.on"


def test_a_step_cannot_have_happened_before_the_step_it_follows(engine, clock):
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 10), "registered")
    _refused_422(engine, "intake", {"advice": "cbe", "on": "2024-02-09"}, "on_before_step")


def test_a_late_registration_judged_by_its_day_withdraws_the_infraction(engine, clock):
    engine.import_newcomer(newcomer())  # registration deadline 30 April 2024
    on(engine, clock, date(2024, 5, 3), "registered", {"on": "2024-04-29"}, since=date(2024, 4, 30))
    view = engine.dossier_view("N1")
    assert view["registered_on"] == "2024-04-29"
    [detail] = view["infraction_details"]
    assert (detail["established_on"], detail["outcome"], detail["closed_on"]) == ("2024-05-01", "withdrawn",
                                                                                 "2024-05-03")
    assert "registered on 2024-04-29" in detail["closing_reason"]
    assert view["timers"] == []  # the regularisation timer is gone with it


def test_a_late_registration_inside_the_regularisation_period_regularises_and_recalls_the_hand_over(engine, clock):
    engine.import_newcomer(newcomer())  # established 1 May, notice 1 May, last regularisation day 31 May
    on(engine, clock, date(2024, 6, 5), "registered", {"on": "2024-05-20"}, since=date(2024, 4, 30))
    [detail] = engine.dossier_view("N1")["infraction_details"]
    assert (detail["outcome"], detail["handed_over_on"], detail["recalled_handed_over_on"]) == (
        "regularised", None, "2024-06-01")


def test_a_decided_infraction_stands_against_a_late_fact(engine, clock):
    from .helpers import OFFICER
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 6, 5), "enforcement_decision",
       {"infraction": "late_registration", "decision": "fine", "fine_eur": 100}, actor=OFFICER,
       since=date(2024, 4, 30))
    on(engine, clock, date(2024, 6, 6), "registered", {"on": "2024-04-20"})
    [detail] = engine.dossier_view("N1")["infraction_details"]
    assert (detail["outcome"], detail["fine_eur"]) == ("fined", 100)


def test_the_same_suspension_posted_again_changes_nothing_even_27_times(engine, clock):
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 1), "suspended", {"from": "2024-02-01", "to": "2024-02-10"})
    assert engine.dossier_view("N1")["deadlines"][0]["last_timely_day"] == "2024-05-10"  # 30 April + 10 days
    for _ in range(27):
        engine.handle("N1", "suspended", {"from": "2024-02-01", "to": "2024-02-10"}, actor=CASEWORKER)
    view = engine.dossier_view("N1")
    assert view["deadlines"][0]["last_timely_day"] == "2024-05-10"
    assert {s["days_added"] for s in view["suspensions"][1:]} == {0}
    # an overlapping period adds only its new days (11 to 15 February: 5 days)
    engine.handle("N1", "suspended", {"from": "2024-02-05", "to": "2024-02-15"}, actor=CASEWORKER)
    assert engine.dossier_view("N1")["deadlines"][0]["last_timely_day"] == "2024-05-15"


def test_a_suspension_announced_ahead_applies_to_a_deadline_armed_later(engine, clock):
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 2, 1), "registered")
    on(engine, clock, date(2024, 2, 2), "suspended", {"from": "2024-03-10", "to": "2024-03-19"})
    on(engine, clock, date(2024, 3, 1), "contract_signed", {"components": ["vdab"]})
    vdab = next(d for d in engine.dossier_view("N1")["deadlines"] if d["name"] == "vdab")
    assert vdab["last_timely_day"] == "2024-05-11"  # 1 May + 10 suspended days: it runs on 10 March
    on(engine, clock, date(2024, 3, 2), "suspended", {"from": "2024-02-20", "to": "2024-02-25"})
    vdab = next(d for d in engine.dossier_view("N1")["deadlines"] if d["name"] == "vdab")
    assert vdab["last_timely_day"] == "2024-05-11"  # not running on 20 February: unchanged


def test_an_asylum_seeker_recognised_as_refugee_becomes_obligated_that_day(engine, clock):
    engine.import_newcomer(newcomer(residence="asylum_seeker", obligation_start="2023-11-06"))
    assert engine.dossier_view("N1")["target_group"] == "excluded"
    with pytest.raises(Refused) as refused:
        on(engine, clock, date(2024, 1, 10), "registered")
    assert refused.value.code == "excluded"
    on(engine, clock, date(2024, 1, 31), "residence_changed", {"residence": "recognised_refugee"})
    view = engine.dossier_view("N1")
    assert (view["target_group"], view["obligation_start"]) == ("obligated", "2024-01-31")
    assert next(d for d in view["deadlines"] if d["name"] == "registration")["last_timely_day"] == "2024-04-30"
    assert view["waiting_on"] == ["register"]
    on(engine, clock, date(2024, 4, 30), "registered")
    assert engine.outcome("N1")["infractions"] == []


def test_a_command_of_today_before_the_obligation_start_is_refused_as_a_dated_one_would_be(engine, clock):
    """Without ``on`` the day is today; it is journaled as the command's ``on``, and a replay reads it so:
    today before the obligation start is refused live too, or the replay would refuse what was accepted."""
    engine.import_newcomer(newcomer())  # obligation start 2024-01-31; the clock is at 2024-01-01
    error = _refused_422(engine, "registered", {}, "on_before_obligation_start")
    assert error.path == "$.on" and (error.params["on"], error.params["obligation_start"]) == ("2024-01-01", "2024-01-31")
    on(engine, clock, date(2024, 1, 31), "registered")
    assert replay_dossier(engine, "N1").ok
