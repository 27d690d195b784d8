"""The sweep's due query reads the due index in order for every shape of id range (timers/sweep.py).

A sweeper or simulation worker that owns a range of dossier ids bounded on both sides (the middle
one of three or more) once made SQLite's planner, which has no statistics in the engine's store,
take the ``dossier_id`` index and sort the whole range before the LIMIT. The plan does not depend on
how many rows there are (no ANALYZE), so a small store shows it; ``benchmarks/query_plans.py`` times
it at 200,000 dossiers.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine import driver
from timers.sweep import _due_statement, due_dossiers, sweep

from .conftest import obligated

SHAPES = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize("first, end", SHAPES, ids=["all", "from", "until", "between"])
@pytest.mark.parametrize("after", [False, True], ids=["first-page", "next-page"])
def test_every_shape_reads_the_due_index_in_order_on_sqlite(engines, sqlite_url, first, end, after):
    engine, _ = engines(sqlite_url, date(2024, 1, 31))
    engine.import_newcomer(obligated("D-1", "2024-01-31"))
    statement = _due_statement(first, end, after, 500, sqlite=True)
    params = {"cutoff": 0, "first": "A", "end": "Z", "after_due": 0, "after_id": 0}
    params = {k: v for k, v in params.items() if (k != "first" or first) and (k != "end" or end)
              and (not k.startswith("after") or after)}
    text, names, fixed = driver._compiled(statement, engine.db.dialect, tuple(params))
    with engine.db.connect() as connection:
        raw = connection.connection.driver_connection
        plan = " | ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + text,
                                                          driver._bound(names, fixed, params)).fetchall())
    assert "ix_due_timer_due_at" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_middle_range_finds_its_own_due_dossiers_and_fires_only_them(engines, any_url):
    engine, clock = engines(any_url, date(2024, 1, 31))
    ids = ["A-1", "B-1", "C-1", "D-1", "E-1"]
    for dossier_id in ids:
        engine.import_newcomer(obligated(dossier_id, "2024-01-31"))
    instant = datetime.fromisoformat("2024-05-01T02:00:00+02:00")
    assert due_dossiers(engine, instant, id_range=("B", "D")) == ["B-1", "C-1"]
    assert due_dossiers(engine, instant - timedelta(days=10), id_range=("B", "D")) == []
    report = sweep(engine, instant, id_range=("B", "D"), page=1)  # one row a page: the next-page shape too
    assert (report.dossiers, report.timers, report.errors) == (2, 2, [])
    assert due_dossiers(engine, instant) == ["A-1", "D-1", "E-1"]
