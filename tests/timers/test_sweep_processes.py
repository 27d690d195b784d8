"""Exactly once across OS processes: concurrent sweepers, and a sweeper killed mid-transaction.

Each test starts real sweeper processes (``tests/timers/sweeper_child.py``) on one
database and checks afterwards, from the stored data alone, that every due timer fired
exactly once: one infraction, one ``notice_issued`` and one ``deadline_fired`` journal
entry per dossier, and every dossier's hash chain intact (``journal.verify_all``).
"""
from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, func, select

from engine import journal
from engine.clock import brussels_instant
from engine.dossier import decode_state
from engine.models import Dossier, JournalEntry
from timers.sweep import SWEEP_TIME, sweep

from .conftest import obligated

INSTANT = brussels_instant(date(2024, 6, 1), SWEEP_TIME)  # long after every registration deadline below


def import_past_due(engine, count: int) -> list[str]:
    """``count`` obligated newcomers whose registration deadlines (April 2024) are past at INSTANT."""
    ids = []
    for i in range(count):
        dossier_id = f"P{i:04}"
        engine.import_newcomer(obligated(dossier_id, date(2024, 1, 1 + i % 31).isoformat()))
        ids.append(dossier_id)
    return ids


def kinds_per_dossier(engine, kind: str) -> Counter:
    with Session(engine.db) as session:
        rows = session.exec(select(JournalEntry.dossier_id, func.count()).where(JournalEntry.kind == kind)
                            .group_by(JournalEntry.dossier_id)).all()
    return Counter(dict(rows))


def assert_fired_exactly_once(engine, ids: list[str]) -> None:
    for dossier_id in ids:
        infractions = engine.outcome(dossier_id)["infractions"]
        assert [i["type"] for i in infractions] == ["late_registration"], (dossier_id, infractions)
    for kind in ("notice_issued", "deadline_fired", "infraction_established", "sweep"):
        counts = kinds_per_dossier(engine, kind)
        assert counts == Counter({d: 1 for d in ids}), f"{kind}: {counts - Counter(ids)} extra, " \
                                                       f"{Counter(ids) - counts} missing"
    with Session(engine.db) as session:
        breaks = [str(b) for _, b in journal.verify_all(session) if b is not None]
        assert breaks == []
        assert session.exec(select(func.count()).select_from(Dossier)
                            .where(Dossier.next_due_at <= int(INSTANT.timestamp()))).one() == 0


def committed_infractions(url: str) -> dict[str, list[str]]:
    """Infraction types per dossier as committed, read with a plain engine (no locks, no BEGIN IMMEDIATE)."""
    reader = create_engine(url)
    try:
        with reader.connect() as conn:
            rows = conn.execute(text("select id, state from dossier order by id")).all()
    finally:
        reader.dispose()
    return {row[0]: [i["type"] for i in decode_state(row[1]).get("infractions", [])] for row in rows}


@pytest.mark.slow
@pytest.mark.postgres
def test_two_sweeper_processes_fire_each_timer_exactly_once(engines, pg_url, sweepers, tmp_path):
    engine, clock = engines(pg_url, date(2024, 1, 1))
    started = time.monotonic()
    ids = import_past_due(engine, 200)
    print(f"imported {len(ids)} newcomers in {time.monotonic() - started:.1f} s")

    go = tmp_path / "go"
    children = [sweepers(name, pg_url, INSTANT, go_file=go) for name in ("sweeper-a", "sweeper-b")]
    for child in children:
        child.wait_ready()
    go.touch()  # both start sweeping at the same moment, with the same instant
    reports = [child.result() for child in children]

    print("sweeper reports:", [{k: r[k] for k in ("dossiers", "timers", "seconds")} for r in reports])
    assert [r["errors"] for r in reports] == [[], []]
    assert sum(r["timers"] for r in reports) == len(ids)
    assert sum(r["dossiers"] for r in reports) == len(ids)
    assert all(r["dossiers"] > 0 for r in reports), f"one sweeper did all the work: {reports}"
    assert_fired_exactly_once(engine, ids)


def _killed_sweeper(engine, url: str, sweepers, ids: list[str], pause_after: int) -> None:
    child = sweepers("doomed", url, INSTANT, pause_after=pause_after)
    ready = child.wait_ready()
    fired = ready["fired"]
    assert len(fired) == pause_after

    # Before the kill: the dossiers fired in earlier transactions are committed, the one in the
    # open transaction is not visible.
    before = committed_infractions(url)
    assert {d for d, kinds in before.items() if kinds} == set(fired[:-1])

    child.kill()  # SIGKILL inside the transaction: no commit, no rollback by the process
    if ready["backend_pid"] is not None:  # PostgreSQL: wait until the server has ended the dead session
        deadline = time.monotonic() + 20
        with engine.db.connect() as conn:
            while conn.execute(text("select count(*) from pg_stat_activity where pid = :pid"),
                               {"pid": ready["backend_pid"]}).scalar():
                assert time.monotonic() < deadline, "the killed sweeper's session is still open"
                time.sleep(0.05)
                conn.rollback()

    report = sweep(engine, INSTANT)  # the next normal sweep
    assert report.errors == []
    assert report.timers == len(ids) - (pause_after - 1)
    assert_fired_exactly_once(engine, ids)
    again = sweep(engine, INSTANT)
    assert (again.dossiers, again.timers) == (0, 0)


@pytest.mark.slow
@pytest.mark.parametrize("pause_after", [1, 3])
def test_sweeper_killed_inside_its_transaction_loses_nothing(engines, any_url, sweepers, pause_after):
    engine, clock = engines(any_url, date(2024, 1, 1))
    ids = import_past_due(engine, 20)
    _killed_sweeper(engine, any_url, sweepers, ids, pause_after)


def _dates(engine, ids: list[str]) -> dict:
    """Every date the law cares about, per dossier: deadlines, infractions, notices, hand-overs, and the
    business day each decision was journaled on."""
    out = {}
    for dossier_id in ids:
        view = engine.dossier_view(dossier_id)
        with Session(engine.db) as session:
            journaled = session.exec(select(JournalEntry.kind, JournalEntry.business_date, JournalEntry.effective_date)
                                     .where(JournalEntry.dossier_id == dossier_id,
                                            JournalEntry.kind.in_(("infraction_established", "notice_issued",
                                                                   "handed_over", "deadline_fired",
                                                                   "deadline_armed")))
                                     .order_by(JournalEntry.seq)).all()
        out[dossier_id] = {
            "deadlines": [(d["name"], d["last_timely_day"], d["status"]) for d in view["deadlines"]],
            "infractions": [(i["type"], i["established_on"], i["notice_on"], i["regularisation_last_day"],
                             i["handed_over_on"], i["outcome"]) for i in view["infraction_details"]],
            "journal": [tuple(row) for row in journaled],
        }
    return out


@pytest.mark.slow
@pytest.mark.postgres
def test_a_sweeper_killed_while_holding_a_dossier_changes_no_date(engines, pg_url, second_pg_schema_url, sweepers):
    """Two sweeper processes on PostgreSQL; one is killed with SIGKILL while it holds a dossier in its
    transaction. The survivor waits for the row lock the dead session held and fires that dossier in the
    same day's sweep: compared date by date (through the hand-overs a month later) with a control store
    that had a single sweeper, nothing differs."""
    from timers.sweep import sweep_days

    control_url = second_pg_schema_url
    runs = {}
    for name, url in (("crash", pg_url), ("control", control_url)):
        engine, clock = engines(url, date(2024, 1, 1))
        runs[name] = (engine, clock, import_past_due(engine, 30))
    engine, clock, ids = runs["crash"]

    doomed = sweepers("doomed", pg_url, INSTANT, pause_after=2)
    held = doomed.wait_ready()["fired"][-1]  # the dossier it holds, uncommitted, when it is killed
    survivor = sweepers("survivor", pg_url, INSTANT)
    survivor.wait_ready()
    time.sleep(1.0)  # the survivor meets the held row and waits for it
    doomed.kill()
    report = survivor.result()
    assert report["errors"] == [] and report["held"] == 0
    assert report["timers"] == len(ids) - 1  # the killed sweeper committed its first; the held one rolled back
    assert held in {d for d, kinds in committed_infractions(pg_url).items() if kinds}
    assert_fired_exactly_once(engine, ids)

    control, control_clock, control_ids = runs["control"]
    control_clock.set(INSTANT)
    sweep(control, INSTANT)
    # then a month of daily sweeps on both: the regularisation periods end, the hand-overs follow
    for run_engine, run_clock, _ in runs.values():
        sweep_days(run_engine, run_clock, date(2024, 6, 2), date(2024, 7, 5))
    assert control_ids == ids
    crashed, expected = _dates(engine, ids), _dates(control, control_ids)
    for dossier_id in ids:
        assert crashed[dossier_id] == expected[dossier_id], dossier_id
    assert all(d["infractions"][0][4] == "2024-07-02" for d in crashed.values())  # notice 1 June + 30 days + 1
