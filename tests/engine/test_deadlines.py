"""Deadlines, the daily sweep, notices of default and enforcement — through the real engine.

Every test runs one newcomer's story on a fresh SQLite file: the register import,
caseworker / officer events through :meth:`Engine.handle` at 09:00 Brussels on their
day, and time moved only by the real daily sweep (``timers.sweep.sweep_days``, 02:00
Brussels) — the conventions of ``shared/scenarios/README.md``. Each deadline is tested
on both sides of its last timely day (TRAJECTORY.md §5, §6; scenarios README
"Deadlines").
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from engine.clock import ManualClock, brussels_instant
from engine.errors import InvalidInput, Refused
from engine.models import JournalEntry
from engine.service import Actor, bootstrap
from engine.settings import Settings
from timers.sweep import sweep_days

CASEWORKER = Actor("u", "caseworker", "agii")
OFFICER = Actor("o", "enforcement_officer")
DAY = timedelta(days=1)


def D(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def newcomer(dossier_id: str = "N1", **overrides) -> dict:
    """An obligated newcomer in West-Vlaanderen (AgII), obligation starting 2024-01-31."""
    data = {"id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"],
            "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": "2024-01-31"}
    data.update(overrides)
    return data


class Story:
    """One newcomer's story on one engine: import, events at 09:00, the 02:00 sweep of every day."""

    def __init__(self, tmp_path, person: dict):
        self.id = person["id"]
        self.start = D(person["obligation_start"])
        self.clock = ManualClock(brussels_instant(self.start))
        self.engine = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/deadlines.db"), self.clock)
        self.engine.import_newcomer(person)
        self.swept = self.start - DAY  # the sweep of the start day runs after the import (00:00)

    def sweep_to(self, day) -> "Story":
        """Run the 02:00 sweep of every day up to and including ``day``."""
        day = D(day)
        if day > self.swept:
            reports = sweep_days(self.engine, self.clock, self.swept + DAY, day)
            errors = [e for r in reports for e in r.errors]
            assert not errors, errors
            self.swept = day
        return self

    def on(self, day, event_type: str, payload: dict | None = None, *, actor: Actor = CASEWORKER) -> dict:
        """Sweep up to ``day``, then apply the event at 09:00 Brussels that day."""
        day = D(day)
        self.sweep_to(day)
        self.clock.set(brussels_instant(day, time(9)))
        return self.engine.handle(self.id, event_type, payload or {}, actor=actor)

    # ----- reads -----
    def outcome(self) -> dict:
        return self.engine.outcome(self.id)

    def infractions(self) -> list[dict]:
        return self.outcome()["infractions"]

    def view(self) -> dict:
        return self.engine.dossier_view(self.id)

    def details(self) -> list[dict]:
        return self.view()["infraction_details"]

    def deadline(self, name: str) -> dict:
        return next(d for d in self.view()["deadlines"] if d["name"] == name)

    def timers(self) -> dict[str, datetime]:
        return {t["timer"]: datetime.fromisoformat(t["due_at"]) for t in self.view()["timers"]}

    def version(self) -> int:
        return self.view()["version"]

    def journal(self, kind: str | None = None) -> list[JournalEntry]:
        with Session(self.engine.db) as session:
            query = select(JournalEntry).where(JournalEntry.dossier_id == self.id)
            if kind is not None:
                query = query.where(JournalEntry.kind == kind)
            return list(session.exec(query.order_by(JournalEntry.seq)))


def inf(kind: str, established_on: str, outcome: str = "open", handed_over_on: str | None = None,
        fine_eur=None) -> dict:
    return {"type": kind, "established_on": established_on, "outcome": outcome,
            "handed_over_on": handed_over_on, "fine_eur": fine_eur}


@pytest.fixture
def story(tmp_path):
    """``story(**newcomer_overrides)`` → a :class:`Story` on a fresh SQLite file."""
    made = []

    def make(**overrides) -> Story:
        assert not made, "one story per test (one engine, one database file)"
        made.append(Story(tmp_path, newcomer(**overrides)))
        return made[0]

    yield make
    for s in made:
        s.engine.db.dispose()


def registered_story(story, **overrides) -> Story:
    s = story(**overrides)
    s.on("2024-02-15", "registered")
    return s


def contracted_story(story, components, contract_on="2024-03-01", **overrides) -> Story:
    s = registered_story(story, **overrides)
    s.on(contract_on, "contract_signed", {"components": components})
    return s


def late_registration_handed_over(story, **overrides) -> Story:
    """Obligation start 2024-01-31: late_registration 2024-05-01, notice that day, handed over 2024-06-01."""
    s = story(**overrides)
    s.sweep_to("2024-06-01")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "handed_over", "2024-06-01")]
    return s


# =========================================================================== registration

REGISTRATION_CASES = [
    # obligation start, last timely day (start + 3 months, month-end rule)
    pytest.param("2024-01-31", "2024-04-30", id="31jan-30apr"),
    pytest.param("2023-11-30", "2024-02-29", id="leap-29feb"),
    pytest.param("2022-11-30", "2023-02-28", id="common-28feb"),
    pytest.param("2024-03-15", "2024-06-15", id="mid-month"),
    pytest.param("2023-12-30", "2024-03-30", id="fires-on-spring-dst-day"),   # 31 March 2024: 02:00 → 03:00
    pytest.param("2024-07-26", "2024-10-26", id="fires-on-autumn-dst-day"),   # 27 October 2024: 03:00 → 02:00
]


@pytest.mark.parametrize("start,last_day", REGISTRATION_CASES)
def test_registration_on_the_last_timely_day_is_timely(story, start, last_day):
    s = story(obligation_start=start)
    assert s.deadline("registration")["last_timely_day"] == last_day
    s.on(last_day, "registered")
    s.sweep_to(D(last_day) + timedelta(days=200))
    assert s.infractions() == []
    assert s.deadline("registration")["status"] == "met"
    assert "registration_deadline" not in s.timers()
    assert s.journal("deadline_fired") == []


@pytest.mark.parametrize("start,last_day", REGISTRATION_CASES)
def test_not_registered_the_infraction_is_established_the_day_after(story, start, last_day):
    s = story(obligation_start=start)
    day_after = D(last_day) + DAY
    assert s.timers()["registration_deadline"] == brussels_instant(day_after)
    s.sweep_to(last_day)
    assert s.infractions() == []
    s.sweep_to(day_after)
    assert s.infractions() == [inf("late_registration", day_after.isoformat())]
    detail = s.details()[0]
    assert detail["notice_on"] == day_after.isoformat()  # notice of default the same day (§6.1)
    assert detail["regularisation_last_day"] == (day_after + timedelta(days=30)).isoformat()
    assert detail["ruleset"] == "infractions_2022"
    assert s.deadline("registration")["status"] == "fired"


def test_registering_the_day_after_the_last_timely_day_regularises(story):
    s = story()
    s.on("2024-05-01", "registered")  # the 02:00 sweep of 1 May established it first
    assert s.infractions() == [inf("late_registration", "2024-05-01", "regularised")]
    s.sweep_to("2025-01-31")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "regularised")]
    assert s.timers() == {}


def test_registration_deadline_fires_once_even_when_swept_every_day_afterwards(story):
    s = story()
    s.sweep_to("2024-05-20")
    assert len(s.journal("deadline_fired")) == 1
    assert len(s.journal("notice_issued")) == 1
    assert len(s.infractions()) == 1


# =========================================================================== VDAB


def test_vdab_registration_on_the_last_timely_day_is_timely(story):
    s = registered_story(story)
    s.on("2024-03-31", "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    assert s.deadline("vdab") == {"name": "vdab", "start": "2024-03-31", "last_timely_day": "2024-05-31",
                                  "status": "running"}
    assert s.timers()["vdab_deadline"] == brussels_instant(date(2024, 6, 1))
    s.on("2024-05-31", "vdab_registered")
    s.sweep_to("2024-12-31")
    assert s.infractions() == []
    assert s.deadline("vdab")["status"] == "met"


def test_vdab_not_registered_within_two_months(story):
    s = registered_story(story)
    s.on("2024-03-31", "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    s.sweep_to("2024-05-31")
    assert s.infractions() == []
    s.sweep_to("2024-06-01")
    assert s.infractions() == [inf("late_vdab_registration", "2024-06-01")]
    s.on("2024-06-20", "vdab_exempt", {"reason": "working"})  # within the regularisation period
    assert s.infractions() == [inf("late_vdab_registration", "2024-06-01", "regularised")]


def test_vdab_registered_before_the_contract_arms_no_deadline(story):
    s = registered_story(story)
    s.on("2024-02-20", "vdab_registered")
    s.on("2024-03-31", "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    assert "vdab" not in {d["name"] for d in s.view()["deadlines"]}
    s.sweep_to("2024-12-31")
    assert s.infractions() == []


# =========================================================================== regularisation period


def test_regularised_on_the_thirtieth_day_after_the_notice(story):
    s = story()
    s.sweep_to("2024-05-01")
    assert s.details()[0]["regularisation_last_day"] == "2024-05-31"
    s.on("2024-05-31", "registered")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "regularised")]
    s.sweep_to("2025-03-31")  # no hand-over, no re-registration deadline
    assert s.infractions() == [inf("late_registration", "2024-05-01", "regularised")]
    assert s.journal("handed_over") == []


def test_not_regularised_handed_over_on_day_31(story):
    s = story()
    s.sweep_to("2024-05-31")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "open")]
    s.sweep_to("2024-06-01")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "handed_over", "2024-06-01")]
    assert s.view()["waiting_on"] == ["decide", "register"]
    queue = s.engine.enforcement_queue()["items"]
    assert [(i["dossier_id"], i["type"], i["handed_over_on"]) for i in queue] == \
        [("N1", "late_registration", "2024-06-01")]


def test_registering_after_the_hand_over_does_not_undo_it(story):
    s = late_registration_handed_over(story)
    s.on("2024-06-05", "registered")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "handed_over", "2024-06-01")]


# =========================================================================== re-registration


def test_reregistration_deadline_is_three_months_after_the_hand_over(story):
    s = late_registration_handed_over(story)
    assert s.deadline("reregistration") == {"name": "reregistration", "start": "2024-06-01",
                                            "last_timely_day": "2024-09-01", "status": "running"}
    s.on("2024-09-01", "registered")
    s.sweep_to("2025-06-30")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "handed_over", "2024-06-01")]


def test_not_reregistered_late_registration_after_infraction(story):
    s = late_registration_handed_over(story)
    s.sweep_to("2024-09-01")
    assert len(s.infractions()) == 1
    s.sweep_to("2024-09-02")
    assert s.infractions() == [
        inf("late_registration", "2024-05-01", "handed_over", "2024-06-01"),
        inf("late_registration_after_infraction", "2024-09-02", "open"),
    ]
    # handed over in turn on 3 October: a new 3-month deadline (either type, README "Deadlines")
    s.sweep_to("2024-10-03")
    assert s.infractions()[1] == inf("late_registration_after_infraction", "2024-09-02", "handed_over",
                                     "2024-10-03")
    assert s.deadline("reregistration") == {"name": "reregistration", "start": "2024-10-03",
                                            "last_timely_day": "2025-01-03", "status": "running"}


def test_second_reregistration_deadline_fires_after_a_second_hand_over(story):
    """README "Deadlines": after the hand-over of a registration infraction of *either* type, while still
    not registered, a new 3-month deadline runs. The boundary timer ``reregistration_deadline`` fires
    once; after that the trajectory's escalation loop (``await_reregistration``) waits on each new one."""
    s = late_registration_handed_over(story)
    s.sweep_to("2024-10-03")
    assert s.deadline("reregistration")["status"] == "running"
    assert s.timers().get("await_reregistration") == brussels_instant(date(2025, 1, 4))
    s.sweep_to("2025-01-03")
    assert len(s.infractions()) == 2
    s.sweep_to("2025-01-04")
    assert s.infractions()[2] == inf("late_registration_after_infraction", "2025-01-04", "open")
    s.on("2025-01-10", "registered")  # regularises it and ends the escalation loop
    assert s.infractions()[2]["outcome"] == "regularised"
    assert "await_reregistration" not in s.timers()


def test_a_regularised_registration_infraction_arms_no_reregistration(story):
    s = story()
    s.on("2024-05-20", "registered")
    assert "reregistration" not in {d["name"] for d in s.view()["deadlines"]}


# =========================================================================== B1 check


def b1_story(story, **overrides) -> Story:
    """Contract 2024-02-15 listing only MO; MO passed 2024-03-15 → attest 2024-03-15, B1 due 2026-03-15."""
    s = registered_story(story, **overrides)
    s.on("2024-02-16", "contract_signed", {"components": ["mo"]})
    s.on("2024-03-15", "test_result", {"component": "mo", "core_percent": 60, "total_percent": 60})
    outcome = s.outcome()
    assert outcome["attest_on"] == "2024-03-15"
    assert outcome["b1_check"] == {"due_on": "2026-03-15", "outcome": "pending"}
    return s


def test_b1_pending_until_the_sweep_of_the_day_after(story):
    s = b1_story(story)
    s.sweep_to("2026-03-15")
    assert s.outcome()["b1_check"] == {"due_on": "2026-03-15", "outcome": "pending"}
    assert s.infractions() == []


def test_b1_not_shown_is_an_infraction_the_day_after(story):
    s = b1_story(story)
    s.sweep_to("2026-03-16")
    assert s.outcome()["b1_check"] == {"due_on": "2026-03-15", "outcome": "infraction"}
    assert s.infractions() == [inf("b1_not_attained", "2026-03-16")]


def test_b1_attained_on_the_due_day(story):
    s = b1_story(story)
    s.on("2026-03-15", "b1_attained")
    s.sweep_to("2026-12-31")
    assert s.outcome()["b1_check"] == {"due_on": "2026-03-15", "outcome": "attained"}
    assert s.infractions() == []


def test_b1_attained_the_day_after_regularises_the_infraction(story):
    s = b1_story(story)
    s.on("2026-03-16", "b1_test", {"passed": True})
    assert s.outcome()["b1_check"] == {"due_on": "2026-03-15", "outcome": "infraction"}
    assert s.infractions() == [inf("b1_not_attained", "2026-03-16", "regularised")]


@pytest.mark.parametrize("periods,expected", [
    pytest.param([("2024-03-15", "2024-09-14")], "exempt", id="six-months-exactly"),
    pytest.param([("2024-03-15", "2024-06-14"), ("2024-06-15", "2024-09-14")], "exempt", id="touching-merged"),
    pytest.param([("2024-03-15", "2024-09-13")], "infraction", id="one-day-short"),
    pytest.param([("2023-09-15", "2024-09-13")], "infraction", id="clipped-to-attest"),
])
def test_b1_exempt_after_six_consecutive_months_of_activity(story, periods, expected):
    s = b1_story(story)
    for start, end in periods:
        s.on("2024-10-01", "activity", {"kind": "work", "from": start, "to": end})
    s.sweep_to("2026-03-16")
    assert s.outcome()["b1_check"]["outcome"] == expected
    assert s.infractions() == ([] if expected == "exempt" else [inf("b1_not_attained", "2026-03-16")])


@pytest.mark.parametrize("birth_date,expected", [
    pytest.param("1960-03-15", "not_working_age", id="turns-66-on-due-day"),   # pension age 66 from 2025-02-01
    pytest.param("1960-03-16", "infraction", id="still-65-on-due-day"),
])
def test_b1_not_working_age_at_the_pension_age(story, birth_date, expected):
    s = b1_story(story, birth_date=birth_date)
    s.sweep_to("2026-03-16")
    assert s.outcome()["b1_check"] == {"due_on": "2026-03-15", "outcome": expected}
    assert len(s.infractions()) == (0 if expected == "not_working_age" else 1)


def test_b1_check_not_for_entitled(story):
    s = story(nationalities=["RO"], residence="labour_migrant_eu")
    s.on("2024-02-15", "registered")
    s.on("2024-02-16", "contract_signed", {"components": ["mo"]})
    s.on("2024-03-15", "test_result", {"component": "mo", "core_percent": 60, "total_percent": 60})
    s.sweep_to("2026-04-30")
    assert s.outcome()["attest_on"] == "2024-03-15"
    assert s.outcome()["b1_check"] is None
    assert s.infractions() == []


def test_suspension_moves_the_b1_check_day_with_its_deadline(story):
    """README "Deadlines": the B1 check is a deadline; a suspension running on ``from`` moves it.

    The engine moves the ``b1`` deadline (and so its timer) but not ``b1_due_on``: the check
    then runs on the moved day with the OLD due day — B1 attained inside the extension does
    not count, and the outcome reports a due_on that disagrees with the day the infraction is
    established (engine bug, see report)."""
    s = b1_story(story)
    s.on("2025-01-10", "suspended", {"from": "2025-01-10", "to": "2025-01-19"})  # 10 days
    assert s.deadline("b1")["last_timely_day"] == "2026-03-25"
    assert s.outcome()["b1_check"] == {"due_on": "2026-03-25", "outcome": "pending"}
    s.on("2026-03-20", "b1_attained")
    s.sweep_to("2026-03-26")
    assert s.outcome()["b1_check"] == {"due_on": "2026-03-25", "outcome": "attained"}
    assert s.infractions() == []


# =========================================================================== suspension


@pytest.mark.parametrize("registered_on,expected", [
    ("2024-05-10", []),
    (None, [inf("late_registration", "2024-05-11")]),
])
def test_suspension_moves_a_running_deadline(story, registered_on, expected):
    s = story()
    s.on("2024-03-15", "suspended", {"from": "2024-04-01", "to": "2024-04-10"})  # 10 days
    assert s.deadline("registration")["last_timely_day"] == "2024-05-10"
    assert s.timers()["registration_deadline"] == brussels_instant(date(2024, 5, 11))
    s.sweep_to("2024-05-10")
    assert s.infractions() == []
    if registered_on:
        s.on(registered_on, "registered")
    s.sweep_to("2024-05-11")
    assert s.infractions() == expected


def test_suspension_starting_on_the_last_timely_day_still_moves_it(story):
    s = story()
    s.on("2024-04-30", "suspended", {"from": "2024-04-30", "to": "2024-04-30"})
    assert s.deadline("registration")["last_timely_day"] == "2024-05-01"
    s.sweep_to("2024-05-01")
    assert s.infractions() == []
    s.sweep_to("2024-05-02")
    assert s.infractions() == [inf("late_registration", "2024-05-02")]


def test_suspension_does_not_move_a_deadline_that_already_fired(story):
    s = story()
    s.sweep_to("2024-05-01")
    s.on("2024-05-05", "suspended", {"from": "2024-05-05", "to": "2024-05-14"})
    assert s.deadline("registration") == {"name": "registration", "start": "2024-01-31",
                                          "last_timely_day": "2024-04-30", "status": "fired"}
    # the regularisation period is still running on 5 May: it moves by 10 days (31 May → 10 June)
    assert s.details()[0]["regularisation_last_day"] == "2024-06-10"
    s.sweep_to("2024-06-10")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "open")]
    s.sweep_to("2024-06-11")
    assert s.infractions() == [inf("late_registration", "2024-05-01", "handed_over", "2024-06-11")]
    assert len(s.journal("deadline_fired")) == 1


def test_suspension_entirely_after_a_deadline_leaves_it(story):
    s = story()
    s.on("2024-03-01", "suspended", {"from": "2024-05-01", "to": "2024-05-31"})
    assert s.deadline("registration")["last_timely_day"] == "2024-04-30"
    s.sweep_to("2024-05-01")
    assert s.infractions() == [inf("late_registration", "2024-05-01")]


# =========================================================================== annulment


ANNULLING_EVENTS = [
    pytest.param("moved", {"nis_code": "21004"}, ("entitled", ["brussels_resident"], "brussel"), id="moved-to-brussels"),
    pytest.param("residence_changed", {"residence": "temporary_protection"},
                 ("entitled", ["temporary_protection"], "west_vlaanderen"), id="residence-changed"),
]


@pytest.mark.parametrize("event,payload,after", ANNULLING_EVENTS)
@pytest.mark.parametrize("phase,event_day,handed_over_on", [
    pytest.param("open", "2024-05-10", None, id="open"),
    pytest.param("handed_over", "2024-06-10", "2024-06-01", id="handed-over"),
])
def test_no_longer_obligated_annuls_undecided_infractions_and_stops_every_deadline(
        story, event, payload, after, phase, event_day, handed_over_on):
    s = story()
    s.sweep_to(event_day)
    assert s.infractions() == [inf("late_registration", "2024-05-01", phase, handed_over_on)]
    s.on(event_day, event, payload)
    outcome = s.outcome()
    assert (outcome["target_group"], outcome["reasons"], outcome["region"]) == after
    assert outcome["infractions"] == [inf("late_registration", "2024-05-01", "annulled", handed_over_on)]
    assert s.timers() == {}
    s.sweep_to("2025-06-30")  # no hand-over, no re-registration deadline (1 Sept) — nothing fires any more
    assert s.infractions() == [inf("late_registration", "2024-05-01", "annulled", handed_over_on)]
    assert len(s.journal("handed_over")) == (1 if handed_over_on else 0)
    assert s.engine.enforcement_queue()["items"] == []
    with pytest.raises(Refused):
        s.on("2025-07-01", "enforcement_decision", {"infraction": "late_registration", "decision": "no_fine"},
             actor=OFFICER)


def test_move_before_the_deadline_means_no_infraction_ever(story):
    s = story()
    s.on("2024-04-01", "moved", {"nis_code": "21004"})
    s.sweep_to("2025-01-31")
    assert s.infractions() == []


def test_annulment_leaves_decided_infractions_alone(story):
    s = late_registration_handed_over(story)
    s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": "fine",
                                                "fine_eur": 200}, actor=OFFICER)
    s.sweep_to("2024-09-02")
    assert s.infractions()[1] == inf("late_registration_after_infraction", "2024-09-02", "open")
    s.on("2024-09-10", "moved", {"nis_code": "21004"})
    assert s.infractions() == [
        inf("late_registration", "2024-05-01", "fined", "2024-06-01", 200),
        inf("late_registration_after_infraction", "2024-09-02", "annulled"),
    ]
    s.sweep_to("2025-06-30")
    assert len(s.infractions()) == 2


def test_moving_back_into_flanders_starts_a_new_registration_deadline(story):
    """TRAJECTORY.md §2: for movers the obligation starts on the day they move into the
    Dutch-language area; README "Annulment": while not obligated no deadline of theirs fires.

    The newcomer lives in Brussels from 1 March to 1 June (entitled), then moves to Ghent
    (obligated again). The original deadline (30 April, while they lived in Brussels) must
    not fire; a new one runs from the move day, last timely day 1 September."""
    s = story()
    s.on("2024-03-01", "moved", {"nis_code": "21004"})
    s.on("2024-06-01", "moved", {"nis_code": "44021"})
    assert s.outcome()["target_group"] == "obligated"
    s.sweep_to("2024-09-01")
    assert s.infractions() == []
    assert s.deadline("registration")["last_timely_day"] == "2024-09-01"
    s.sweep_to("2024-09-02")
    assert s.infractions() == [inf("late_registration", "2024-09-02")]


def test_move_within_flanders_keeps_deadlines_running(story):
    s = story()
    s.on("2024-03-01", "moved", {"nis_code": "44021"})  # Gent: Amal; still obligated
    assert (s.outcome()["agency"], s.outcome()["target_group"]) == ("amal", "obligated")
    s.sweep_to("2024-05-01")
    assert s.infractions() == [inf("late_registration", "2024-05-01")]


# =========================================================================== one at a time


def test_irregular_participation_one_at_a_time_per_component(story):
    s = contracted_story(story, ["mo", "nt2"])
    s.on("2024-04-01", "attendance", {"component": "mo", "percent": 50})
    s.on("2024-04-10", "attendance", {"component": "mo", "percent": 60})  # repeat while open: ignored
    s.on("2024-04-10", "attendance", {"component": "nt2", "percent": 50})  # other component: its own
    assert s.infractions() == [inf("irregular_participation", "2024-04-01"),
                               inf("irregular_participation", "2024-04-10")]
    assert [d["component"] for d in s.details()] == ["mo", "nt2"]
    ignored = [e for e in s.journal("infraction_rule_decision") if '"reason":"already_open"' in e.payload]
    assert len(ignored) == 1
    s.on("2024-04-20", "attendance", {"component": "mo", "percent": 85})  # regularises mo only
    s.on("2024-04-25", "attendance", {"component": "mo", "percent": 70})  # a new one: none open
    assert [(d["component"], d["established_on"], d["outcome"]) for d in s.details()] == [
        ("mo", "2024-04-01", "regularised"), ("nt2", "2024-04-10", "open"), ("mo", "2024-04-25", "open")]


def test_repeat_after_hand_over_is_a_new_infraction(story):
    s = contracted_story(story, ["mo", "nt2"])
    s.on("2024-04-01", "attendance", {"component": "mo", "percent": 50})
    s.sweep_to("2024-05-02")  # notice 1 April, last day 1 May
    s.on("2024-05-10", "attendance", {"component": "mo", "percent": 50})
    assert s.infractions() == [inf("irregular_participation", "2024-04-01", "handed_over", "2024-05-02"),
                               inf("irregular_participation", "2024-05-10")]


# =========================================================================== only obligated


def test_eu_citizen_is_never_sanctioned(story):
    s = story(nationalities=["RO"], residence="labour_migrant_eu")
    assert (s.outcome()["target_group"], s.outcome()["reasons"]) == ("entitled", ["eu_plus"])
    assert s.timers() == {}
    s.sweep_to("2024-12-31")  # no registration deadline
    s.on("2025-01-10", "registered")
    s.on("2025-01-15", "refused_intake_or_contract")
    s.on("2025-01-20", "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    assert "vdab" not in {d["name"] for d in s.view()["deadlines"]}
    s.on("2025-02-01", "attendance", {"component": "mo", "percent": 10})
    s.on("2025-02-01", "attendance", {"component": "nt2", "percent": 60})
    s.on("2025-02-02", "test_refused", {"component": "nt2"})
    s.sweep_to("2025-12-31")
    assert s.infractions() == []
    assert s.timers() == {}
    reasons = {e.payload for e in s.journal("infraction_rule_decision")}
    assert reasons and all('"reason":"not_obligated"' in p for p in reasons)


# =========================================================================== regimes by date


def old_regime_story(story, components=("mo", "nt2", "vdab")) -> Story:
    s = story(obligation_start="2021-09-01")
    s.on("2021-10-01", "registered")
    s.on("2022-01-15", "contract_signed", {"components": list(components)})
    return s


@pytest.mark.parametrize("percent,expected", [
    (40, "early_termination"), (49, "early_termination"),
    (50, "irregular_participation"), (60, "irregular_participation"), (79, "irregular_participation"),
    (80, None),
])
def test_contract_before_march_2022_follows_the_old_attendance_rules(story, percent, expected):
    s = old_regime_story(story, ("mo", "nt2"))
    s.on("2022-04-01", "attendance", {"component": "nt2", "percent": percent})  # after 1 March: contract date counts
    assert s.infractions() == ([inf(expected, "2022-04-01")] if expected else [])
    if expected:
        assert s.details()[0]["ruleset"] == "infractions_pre2022"


def test_contract_before_march_2022_has_no_vdab_infraction(story):
    s = old_regime_story(story)
    s.sweep_to("2022-12-31")  # the VDAB timer (15 March) fires, the old ruleset establishes nothing
    assert s.infractions() == []
    decision = [e for e in s.journal("infraction_rule_decision") if '"trigger":"vdab_deadline"' in e.payload]
    assert len(decision) == 1 and '"reason":"not_in_regime"' in decision[0].payload


def test_contract_from_march_2022_follows_the_new_rules(story):
    s = story(obligation_start="2022-03-01")
    s.on("2022-03-01", "registered")
    s.on("2022-03-01", "contract_signed", {"components": ["mo", "nt2", "vdab"]})
    s.on("2022-04-01", "attendance", {"component": "nt2", "percent": 40})
    s.sweep_to("2022-05-02")
    assert s.infractions() == [inf("irregular_participation", "2022-04-01", "handed_over", "2022-05-02"),
                               inf("late_vdab_registration", "2022-05-02")]
    assert {d["ruleset"] for d in s.details()} == {"infractions_2022"}


# =========================================================================== enforcement decisions


@pytest.mark.parametrize("amount", [50, 150, 5000])
def test_fine_within_the_range(story, amount):
    s = late_registration_handed_over(story)
    s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": "fine",
                                                "fine_eur": amount}, actor=OFFICER)
    assert s.infractions() == [inf("late_registration", "2024-05-01", "fined", "2024-06-01", amount)]
    assert s.engine.enforcement_queue()["items"] == []
    # a fine does not end the obligation: the re-registration deadline still runs (§6.6, §6.8)
    s.sweep_to("2024-09-02")
    assert s.infractions()[1] == inf("late_registration_after_infraction", "2024-09-02")


@pytest.mark.parametrize("amount", [0, 49.99, 5000.01, 10000])
def test_fine_outside_the_range_is_refused_and_changes_nothing(story, amount):
    s = late_registration_handed_over(story)
    s.sweep_to("2024-06-10")
    before_version, before_view, before_journal = s.version(), s.view(), len(s.journal())
    with pytest.raises(InvalidInput) as err:
        s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": "fine",
                                                    "fine_eur": amount}, actor=OFFICER)
    assert err.value.path == "$.fine_eur"
    assert "50" in err.value.message and "5000" in err.value.message  # names the range
    assert s.version() == before_version
    assert s.view() == before_view
    assert len(s.journal()) == before_journal
    # and the officer can still decide properly afterwards
    s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": "fine",
                                                "fine_eur": 50}, actor=OFFICER)
    assert s.infractions()[0]["outcome"] == "fined"


def test_fine_without_an_amount_is_refused(story):
    s = late_registration_handed_over(story)
    version = s.version()
    with pytest.raises(InvalidInput):
        s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": "fine"},
             actor=OFFICER)
    assert s.version() == version


@pytest.mark.parametrize("decision,outcome", [("no_fine", "not_fined"), ("no_follow_up", "annulled")])
def test_no_fine_and_no_follow_up(story, decision, outcome):
    s = late_registration_handed_over(story)
    s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": decision},
         actor=OFFICER)
    assert s.infractions() == [inf("late_registration", "2024-05-01", outcome, "2024-06-01")]


@pytest.mark.parametrize("day,kind", [
    pytest.param("2024-05-15", "late_registration", id="still-open"),
    pytest.param("2024-06-10", "late_vdab_registration", id="other-type"),
    pytest.param("2024-03-01", "late_registration", id="no-infraction-yet"),
])
def test_decision_without_a_handed_over_infraction_is_refused(story, day, kind):
    s = story()
    s.sweep_to(day)
    version, infractions = s.version(), s.infractions()
    with pytest.raises(Refused, match=kind):
        s.on(day, "enforcement_decision", {"infraction": kind, "decision": "no_fine"}, actor=OFFICER)
    assert s.version() == version
    assert s.infractions() == infractions


def test_second_decision_on_the_same_infraction_is_refused(story):
    s = late_registration_handed_over(story)
    s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": "no_fine"},
         actor=OFFICER)
    with pytest.raises(Refused):
        s.on("2024-06-11", "enforcement_decision", {"infraction": "late_registration", "decision": "fine",
                                                    "fine_eur": 100}, actor=OFFICER)
    assert s.infractions()[0]["outcome"] == "not_fined"


# =========================================================================== caseworker-recorded infractions


@pytest.mark.parametrize("percent,established", [(79, True), (79.9, True), (80, False), (100, False)])
def test_attendance_below_80_is_irregular_participation(story, percent, established):
    s = contracted_story(story, ["mo", "nt2"])
    s.on("2024-04-02", "attendance", {"component": "mo", "percent": percent})
    assert s.infractions() == ([inf("irregular_participation", "2024-04-02")] if established else [])


@pytest.mark.parametrize("regularise_on,outcome,handed_over_on", [
    ("2024-05-02", "regularised", None),         # notice 2 April + 30 days
    ("2024-05-03", "handed_over", "2024-05-03"),
])
def test_irregular_participation_regularised_by_attendance_of_the_same_component(
        story, regularise_on, outcome, handed_over_on):
    s = contracted_story(story, ["mo", "nt2"])
    s.on("2024-04-02", "attendance", {"component": "mo", "percent": 70})
    s.on("2024-04-15", "attendance", {"component": "nt2", "percent": 95})  # other component: no effect
    assert s.infractions() == [inf("irregular_participation", "2024-04-02")]
    s.on(regularise_on, "attendance", {"component": "mo", "percent": 80})
    assert s.infractions() == [inf("irregular_participation", "2024-04-02", outcome, handed_over_on)]


@pytest.mark.parametrize("regularise_on,outcome,handed_over_on", [
    ("2024-05-02", "regularised", None),
    ("2024-05-03", "handed_over", "2024-05-03"),
])
def test_refused_test_regularised_by_a_test_result_of_the_same_component(
        story, regularise_on, outcome, handed_over_on):
    s = contracted_story(story, ["mo", "nt2"])
    s.on("2024-04-02", "test_refused", {"component": "mo"})
    assert s.infractions() == [inf("refused_test", "2024-04-02")]
    assert s.details()[0]["component"] == "mo"
    s.on("2024-04-20", "test_result", {"component": "nt2", "level": "A2"})  # other component
    assert s.infractions() == [inf("refused_test", "2024-04-02")]
    # a failed result counts: the newcomer took the test
    s.on(regularise_on, "test_result", {"component": "mo", "core_percent": 30, "total_percent": 40})
    assert s.infractions() == [inf("refused_test", "2024-04-02", outcome, handed_over_on)]


@pytest.mark.parametrize("contract_on,outcome,handed_over_on", [
    ("2024-03-21", "regularised", None),       # notice 20 Feb (leap year) + 30 days
    ("2024-03-22", "handed_over", "2024-03-22"),
])
def test_refused_intake_or_contract_regularised_by_signing(story, contract_on, outcome, handed_over_on):
    s = registered_story(story)
    s.on("2024-02-20", "refused_intake_or_contract")
    assert s.infractions() == [inf("refused_intake_or_contract", "2024-02-20")]
    assert s.details()[0]["regularisation_last_day"] == "2024-03-21"
    s.on(contract_on, "contract_signed", {"components": ["mo", "nt2"]})
    assert s.infractions() == [inf("refused_intake_or_contract", "2024-02-20", outcome, handed_over_on)]


@pytest.mark.parametrize("regularise_on,outcome,handed_over_on", [
    ("2024-05-02", "regularised", None),
    ("2024-05-03", "handed_over", "2024-05-03"),
])
def test_pnt_not_fulfilled_regularised_when_hours_reach_40(story, regularise_on, outcome, handed_over_on):
    s = contracted_story(story, ["mo", "pnt"])
    s.on("2024-04-02", "pnt_not_fulfilled")
    assert s.infractions() == [inf("pnt_not_fulfilled", "2024-04-02")]
    s.on("2024-04-10", "pnt_hours", {"hours": 30})  # 30 < 40: still open
    assert s.infractions() == [inf("pnt_not_fulfilled", "2024-04-02")]
    s.on(regularise_on, "pnt_hours", {"hours": 10})
    assert s.infractions() == [inf("pnt_not_fulfilled", "2024-04-02", outcome, handed_over_on)]


def test_caseworker_recorded_infraction_gets_a_notice_the_same_day(story):
    s = contracted_story(story, ["mo", "nt2"])
    s.on("2024-04-02", "test_refused", {"component": "nt2"})
    notices = s.journal("notice_issued")
    assert len(notices) == 1
    assert notices[0].business_date == "2024-04-02"
    assert '"regularisation_last_day":"2024-05-02"' in notices[0].payload
    assert s.timers()["await_regularisation"] == brussels_instant(date(2024, 5, 3))
