"""One business clock per store: kept in the store, read by every door, never going back.

A demo or simulation store has a manual clock persisted in the store, moved by ``sweep --until``
and ``clock advance``; a production store follows the wall clock and refuses to be moved.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
from typer.testing import CliRunner

from api.cli import app
from engine.clock import MANUAL, WALL, ClockError, StoreClock, brussels_instant
from engine.service import bootstrap
from engine.settings import Settings

from .helpers import CASEWORKER, newcomer


def _engine(url: str, mode: str = MANUAL, start: date = date(2024, 1, 1)):
    return bootstrap(Settings(database_url=url, demo_data=False, clock_mode=mode,
                              clock_start=brussels_instant(start).isoformat()))


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_a_new_demo_store_gets_a_manual_clock_that_every_engine_on_it_reads(database_url):
    first, second = _engine(database_url), _engine(database_url, mode=WALL)  # the store's mode wins
    assert (first.clock.mode, second.clock.mode) == (MANUAL, MANUAL)
    first.clock.advance_to(brussels_instant(date(2031, 5, 1), time(9)))
    assert second.clock.now() == brussels_instant(date(2031, 5, 1), time(9))  # another process sees it at once
    for engine in (first, second):
        engine.db.dispose()


def test_the_clock_never_goes_back(database_url):
    engine = _engine(database_url)
    engine.clock.advance_to(brussels_instant(date(2031, 5, 1)))
    with pytest.raises(ClockError) as refused:
        engine.clock.advance_to(brussels_instant(date(2031, 4, 30)))
    assert refused.value.code == "clock_backwards" and "never moves back" in refused.value.message
    assert engine.clock.now() == brussels_instant(date(2031, 5, 1))
    engine.db.dispose()


def test_a_wall_clock_store_follows_the_wall_clock_and_cannot_be_moved(database_url):
    engine = _engine(database_url, mode=WALL)
    assert abs((engine.clock.now() - StoreClock(engine.db, WALL).now()).total_seconds()) < 60
    with pytest.raises(ClockError) as refused:
        engine.clock.advance_to(engine.clock.now() + timedelta(days=1))
    assert refused.value.code == "clock_is_wall"
    engine.db.dispose()


def test_sweep_until_and_the_server_share_the_store_clock(tmp_path):
    """The situation of the issue: a demo store, a sweep to a later date from the CLI, then a decision
    through the server's engine: the decision is journaled after the hand-over, never before it."""
    url = f"sqlite:///{tmp_path}/demo.db"
    server = _engine(url)
    server.clock.advance_to(brussels_instant(date(2024, 1, 31)))
    server.import_newcomer(newcomer())  # obligation start 2024-01-31: registration due 30 April
    result = _cli("sweep", "--until", "2024-06-15", "--database", url)
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output.strip().splitlines()[-1])
    assert totals["timers"] >= 2 and totals["clock"].startswith("2024-06-15T02:00")
    assert server.clock.now() == brussels_instant(date(2024, 6, 15), time(2))  # the server sees the sweep's time
    view = server.dossier_view("N1")
    assert view["infractions"][0]["outcome"] == "handed_over"
    from engine.service import Actor
    server.handle("N1", "enforcement_decision", {"infraction": "late_registration", "decision": "no_fine"},
                  actor=Actor("officer-1", "enforcement_officer"))
    times = [datetime.fromisoformat(e["business_time"]) for e in server.history("N1", limit=500)["entries"]]
    assert times == sorted(times)  # the journal never runs backwards
    assert _cli("journal", "verify", "--database", url).exit_code == 0
    server.db.dispose()


def test_clock_commands_show_advance_and_refuse_going_back(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    engine = _engine(url)
    engine.clock.advance_to(brussels_instant(date(2024, 1, 31)))
    engine.import_newcomer(newcomer())
    shown = json.loads(_cli("clock", "show", "--database", url).output)
    assert (shown["mode"], shown["business_date"]) == ("manual", "2024-01-31")
    moved = _cli("clock", "advance", "--to", "2024-05-02", "--database", url)
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.output)["business_date"] == "2024-05-02"
    assert engine.outcome("N1")["infractions"][0]["established_on"] == "2024-05-01"  # the sweep ran on the way
    back = _cli("clock", "advance", "--to", "2024-05-01", "--database", url)
    assert back.exit_code == 2 and "never moves back" in back.output
    assert json.loads(_cli("clock", "show", "--database", url).output)["business_date"] == "2024-05-02"
    bad = _cli("clock", "advance", "--to", "2024-13-01", "--database", url)
    assert bad.exit_code == 2 and "neither a date" in bad.output
    engine.db.dispose()


def test_sweep_until_on_a_wall_clock_store_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/prod.db"
    _engine(url, mode=WALL).db.dispose()
    result = _cli("sweep", "--until", "2099-01-01", "--database", url)
    assert result.exit_code == 2 and "wall clock" in result.output


def test_an_entry_time_before_the_dossiers_last_entry_is_recorded_at_that_last_time(engine, clock):
    """Within a dossier the journal never runs backwards, even when a clock is stepped back (a wall
    clock corrected by NTP): the unit of work takes the dossier's last entry time."""
    from .helpers import on
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 3, 1), "registered")
    clock.set(brussels_instant(date(2024, 2, 1)))  # stepped back
    engine.handle("N1", "intake", {"advice": "cvo_standard"}, actor=CASEWORKER)
    entries = engine.history("N1", limit=500)["entries"]
    times = [datetime.fromisoformat(e["business_time"]) for e in entries]
    assert times == sorted(times)
    assert engine.dossier_view("N1")["intake_on"] == "2024-03-01"  # "today" is the dossier's last day


def test_journal_verify_names_an_entry_time_that_goes_back(engine, clock):
    from sqlmodel import Session

    from engine import journal
    from engine.models import JournalEntry
    from .helpers import on
    engine.import_newcomer(newcomer())
    on(engine, clock, date(2024, 3, 1), "registered")
    with Session(engine.db) as session:
        last = session.query(JournalEntry).filter(JournalEntry.dossier_id == "N1").order_by(
            JournalEntry.seq.desc()).first()
        # forge an earlier time and recompute the chain from that entry on, as a forger knowing the scheme
        entries = session.query(JournalEntry).filter(JournalEntry.dossier_id == "N1").order_by(JournalEntry.seq).all()
        entries[-1].business_time = "2024-02-01T09:00:00+01:00"
        prev = entries[-2].hash
        for entry in entries[-1:]:
            entry.hash = journal.entry_hash(prev, dossier_id="N1", seq=entry.seq, kind=entry.kind, actor=entry.actor,
                                            business_time=entry.business_time, schema_version=entry.schema_version,
                                            process_version=entry.process_version, ruleset=entry.ruleset,
                                            rule_version=entry.rule_version, payload=entry.payload,
                                            effective_date=entry.effective_date)
            prev = entry.hash
        from engine.models import Dossier
        session.get(Dossier, "N1").journal_head = prev
        session.commit()
        assert last is not None
    with Session(engine.db) as session:
        problems = {d: str(b) for d, b in journal.verify_all(session) if b is not None}
    assert "journal runs backwards" in problems["N1"]
