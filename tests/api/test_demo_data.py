"""The demo data: the register extract and the caseworkers' events `serve --demo` loads into an empty store,
so that the report's table of first registrations (seed 000 Q1) has rows per office."""
from __future__ import annotations

from datetime import date

from api.cli import DEMO_EVENTS, DEMO_FILE, load_demo_events, read_newcomer_lines
from engine.reports import report
from tests.conftest import at


def test_demo_events_register_newcomers_at_offices(engine, clock):
    at(clock, date(2026, 12, 1))
    for newcomer in read_newcomer_lines(DEMO_FILE):
        engine.import_newcomer(newcomer)
    applied, skipped = load_demo_events(engine)
    assert skipped == [] and applied == len(DEMO_EVENTS.read_text().splitlines())
    first = report(engine, 2026)["first_registrations"]
    by_office = {o["office"]: o["total"] for r in first["rows"] for o in r["offices"]}
    assert by_office == {"in_gent": 1, "vestiging_brugge": 1, "bon_brussel": 1, "vestiging_genk": 1,
                         "loket_mechelen": 1}


def test_a_demo_event_the_engine_refuses_is_skipped_and_named(engine, clock):
    at(clock, date(2026, 4, 1))  # a demo clock that starts before the events' days
    for newcomer in read_newcomer_lines(DEMO_FILE):
        engine.import_newcomer(newcomer)
    applied, skipped = load_demo_events(engine)
    assert applied == 0 and len(skipped) == 5
    assert skipped[0].startswith("events.jsonl:1: ")
