"""Catch-up after sweeper downtime (ENGINEERING.md "exactly once, nothing lost"; TRAJECTORY.md §5, §6).

The sweeper is down for months; when it comes back, ONE sweep fires every missed
timer exactly once, in due order. The infraction is established on its legal date
(the first day after the last timely day), but the notice of default is dated the
day it is really issued — the sweep day — and the 30-day regularisation period
counts from it, so the newcomer is never handed over without a real period.
"""
from __future__ import annotations

from datetime import date, time, timedelta

from sqlmodel import Session, func, select

from engine import journal
from engine.actions import TRIGGER_DEADLINE
from engine.clock import brussels_instant
from engine.models import DueTimer, JournalEntry
from engine.service import Actor
from timers.sweep import SWEEP_TIME, sweep, sweep_days

from .conftest import obligated

CASEWORKER = Actor("u", "caseworker", "agii")
BACK_ON = date(2024, 12, 1)  # the first sweep after the downtime
BACK_AT = brussels_instant(BACK_ON, SWEEP_TIME)

# dossier → (timer that is missed, infraction, legal established_on)
MISSED = {
    "D-vdab": ("vdab_deadline", "late_vdab_registration", "2024-04-21"),  # contract 2024-02-20 + 2 months
    "A-jan31": ("registration_deadline", "late_registration", "2024-05-01"),
    "B-feb10": ("registration_deadline", "late_registration", "2024-05-11"),
    "C-mar05": ("registration_deadline", "late_registration", "2024-06-06"),
}


def at_nine(clock, day: str) -> None:
    clock.set(brussels_instant(date.fromisoformat(day), time(9)))


def build_downtime_store(engine, clock) -> None:
    """Imports and caseworker events happen; the sweeper never runs until BACK_AT."""
    at_nine(clock, "2024-01-15")
    engine.import_newcomer(obligated("D-vdab", "2024-01-15"))
    engine.import_newcomer(obligated("E-eu", "2024-01-15", nationalities=["RO"], residence="labour_migrant_eu"))
    at_nine(clock, "2024-01-20")
    engine.import_newcomer(obligated("F-timely", "2024-01-20"))
    at_nine(clock, "2024-01-31")
    engine.import_newcomer(obligated("A-jan31", "2024-01-31"))
    at_nine(clock, "2024-02-01")
    engine.handle("D-vdab", "registered", {}, actor=CASEWORKER)
    at_nine(clock, "2024-02-10")
    engine.import_newcomer(obligated("B-feb10", "2024-02-10"))
    at_nine(clock, "2024-02-20")
    engine.handle("D-vdab", "contract_signed", {"components": ["mo", "nt2", "vdab"]}, actor=CASEWORKER)
    at_nine(clock, "2024-03-05")
    engine.import_newcomer(obligated("C-mar05", "2024-03-05"))
    at_nine(clock, "2024-04-20")
    engine.handle("F-timely", "registered", {}, actor=CASEWORKER)


def journal_count(engine, kind: str | None = None) -> int:
    with Session(engine.db) as session:
        query = select(func.count()).select_from(JournalEntry)
        if kind is not None:
            query = query.where(JournalEntry.kind == kind)
        return session.exec(query).one()


def test_one_sweep_after_downtime_fires_every_missed_timer_once_in_due_order(engines, sqlite_url):
    engine, clock = engines(sqlite_url, date(2024, 1, 15))
    build_downtime_store(engine, clock)
    with Session(engine.db) as session:
        due = session.exec(select(DueTimer).order_by(DueTimer.due_at)).all()
    assert [(t.dossier_id, t.timer) for t in due] == [(d, m[0]) for d, m in MISSED.items()]

    clock.set(BACK_AT)
    report = sweep(engine, BACK_AT)
    assert (report.dossiers, report.timers, report.errors) == (4, 4, [])

    # each missed timer fired once, in due order (journal ids are assigned in commit order)
    with Session(engine.db) as session:
        fired = session.exec(select(JournalEntry).where(JournalEntry.kind == "deadline_fired")
                             .order_by(JournalEntry.id)).all()
    assert [(e.dossier_id, e.business_date) for e in fired] == [(d, "2024-12-01") for d in MISSED]
    assert [e.payload for e in fired] == [
        journal.canonical({"name": TRIGGER_DEADLINE[timer], "last_timely": (date.fromisoformat(on) - timedelta(days=1))
                           .isoformat(), "on": on}) for timer, _, on in MISSED.values()]

    for dossier_id, (_, kind, established_on) in MISSED.items():
        view = engine.dossier_view(dossier_id)
        assert view["infractions"] == [{"type": kind, "established_on": established_on, "outcome": "open",
                                        "handed_over_on": None, "fine_eur": None}], dossier_id
        detail = view["infraction_details"][0]
        assert detail["notice_on"] == "2024-12-01", dossier_id  # dated the day it is really issued
        assert detail["regularisation_last_day"] == "2024-12-31", dossier_id  # counted from the notice
    for dossier_id in ("E-eu", "F-timely"):
        assert engine.outcome(dossier_id)["infractions"] == []

    # the same sweep again (a second process, a retry): nothing more
    entries = journal_count(engine)
    again = sweep(engine, BACK_AT)
    assert (again.dossiers, again.timers) == (0, 0)
    assert journal_count(engine) == entries

    # the regularisation period runs from the notice: not handed over before 1 January
    sweep_days(engine, clock, date(2024, 12, 2), date(2024, 12, 31))
    assert {engine.outcome(d)["infractions"][0]["outcome"] for d in MISSED} == {"open"}
    sweep_days(engine, clock, date(2025, 1, 1), date(2025, 1, 1))
    assert {engine.outcome(d)["infractions"][0]["handed_over_on"] for d in MISSED} == {"2025-01-01"}
    assert journal_count(engine, "notice_issued") == 4
    assert journal_count(engine, "deadline_fired") == 4
    with Session(engine.db) as session:
        assert [b for _, b in journal.verify_all(session) if b is not None] == []


def test_catch_up_sweep_in_batches_larger_than_the_candidate_page(engines, sqlite_url, monkeypatch):
    """More due dossiers than one page of candidates (``due_dossiers(limit=...)``): all are fired."""
    import timers.sweep as sweep_module

    engine, clock = engines(sqlite_url, date(2024, 1, 31))
    for i in range(12):
        engine.import_newcomer(obligated(f"P{i:02}", "2024-01-31"))
    real = sweep_module.due_dossiers
    monkeypatch.setattr(sweep_module, "due_dossiers", lambda eng, now, limit=500, id_range=None: real(eng, now, limit=5, id_range=id_range))
    clock.set(BACK_AT)
    report = sweep(engine, BACK_AT)
    assert (report.dossiers, report.timers, report.errors) == (12, 12, [])
    assert journal_count(engine, "notice_issued") == 12


def test_an_event_during_the_downtime_does_not_swallow_an_overdue_deadline(engines, sqlite_url):
    """README "Time": deadlines that expired are acted on first, then the day's events.

    The registration deadline passed on 30 April; the sweeper was down; the newcomer
    registers on 20 May. The infraction must still be established on 1 May (and is
    then regularised by the registration), exactly as when the sweeper had run —
    otherwise the outcome of a dossier depends on the sweeper's availability.
    Today ``Engine.handle`` applies the event first: ``registered`` settles the
    deadline, ``due('registration')`` becomes None and the overdue timer is lost
    (engine bug, see report).
    """
    engine, clock = engines(sqlite_url, date(2024, 1, 31))
    engine.import_newcomer(obligated("N1", "2024-01-31"))
    at_nine(clock, "2024-05-20")
    engine.handle("N1", "registered", {}, actor=CASEWORKER)
    clock.set(brussels_instant(date(2024, 5, 21), SWEEP_TIME))
    sweep(engine, clock.now())
    assert engine.outcome("N1")["infractions"] == [
        {"type": "late_registration", "established_on": "2024-05-01", "outcome": "regularised",
         "handed_over_on": None, "fine_eur": None}]


def test_sweeps_of_id_ranges_fire_only_their_own_dossiers(engines, sqlite_url):
    """``sweep(id_range=...)``: several sweep processes can split the dossiers between them."""
    engine, clock = engines(sqlite_url, date(2024, 1, 31))
    for i in range(6):
        engine.import_newcomer(obligated(f"P{i:02}", "2024-01-31"))
    clock.set(BACK_AT)
    low = sweep(engine, BACK_AT, id_range=(None, "P03"))
    assert (low.dossiers, low.errors) == (3, [])
    with Session(engine.db) as session:
        fired = set(session.exec(select(JournalEntry.dossier_id).where(JournalEntry.kind == "sweep")))
    assert fired == {"P00", "P01", "P02"}
    high = sweep(engine, BACK_AT, id_range=("P03", None))
    assert (high.dossiers, high.errors) == (3, [])
    assert sweep(engine, BACK_AT).dossiers == 0  # nothing left for a sweep of all
