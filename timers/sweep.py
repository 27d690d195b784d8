"""The deadline sweep: fire every timer whose due instant has passed.

It reads the due-date index (``due_timer.due_at <= now``, indexed), never scans
instances, so its cost follows the number of due timers (ENGINEERING.md principle 3).
Each dossier is fired in its own transaction; the dossier row is claimed with
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several sweep processes share
the work without firing a timer twice, and a sweeper killed before its commit
leaves the rows in place for the next run (exactly once). SQLite has one writer.

A dossier whose firing raises becomes an incident (:mod:`engine.incidents`); the sweep goes
on with the other dossiers and leaves that one alone until its backoff has passed
(``last_seen + min(2^attempts hours, 7 days)``); a later sweep that fires it resolves the
incident. The due index is read page by page in ``(due_at, id)`` order, so dossiers that
fail or are backed off never hide the ones behind them.
"""
from __future__ import annotations

import logging
import time as timing
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Callable, Optional

from sqlalchemy import bindparam, literal_column, tuple_
from sqlmodel import select

from engine import driver, incidents
from engine.clock import brussels_instant
from engine.errors import Conflict, NotFound
from engine.models import Dossier, DueTimer
from engine.service import Engine

log = logging.getLogger("inburgering.sweep")
SWEEP_TIME = time(2, 0)


@dataclass
class SweepReport:
    at: str
    dossiers: int = 0
    timers: int = 0
    errors: list = field(default_factory=list)
    backed_off: int = 0  # dossiers left alone: an open incident's backoff has not passed
    held: int = 0  # due dossiers another sweeper still held when this sweep gave up waiting for them
    seconds: float = 0.0


IdRange = tuple[Optional[str], Optional[str]]


def due_dossiers(engine: Engine, now: datetime, limit: int = 500, id_range: IdRange | None = None,
                 after: tuple[int, int] | None = None) -> list[str]:
    """Candidate dossiers with a due timer, soonest first (reads the due-date index).

    ``id_range`` = (first, end): only dossier ids ``first <= id < end`` (either may be None),
    so that several sweep processes can each take a part of the dossiers."""
    return [dossier_id for dossier_id, _ in _due_page(engine, now, limit, id_range, after)[0]]


def _due_page(engine: Engine, now: datetime, limit: int, id_range: IdRange | None,
              after: tuple[int, int] | None) -> tuple[list[tuple[str, int]], tuple[int, int] | None]:
    """One page of the due index after the key ``after`` = (due_at, id): the distinct dossiers
    in it (with their first due_at) and the key of its last row (None when the page is empty)."""
    first, end = id_range if id_range is not None else (None, None)
    params = {"cutoff": int(now.timestamp())}
    if first is not None:
        params["first"] = first
    if end is not None:
        params["end"] = end
    if after is not None:
        params["after_due"], params["after_id"] = after
    statement = _due_statement(first is not None, end is not None, after is not None, limit,
                               engine.db.dialect.name == "sqlite")
    with driver.snapshot(engine.db) as reader:
        rows = reader.rows(statement, params)
    seen, out = set(), []
    for row in rows:
        dossier_id = row["dossier_id"]
        if dossier_id not in seen:
            seen.add(dossier_id)
            out.append((dossier_id, row["due_at"]))
    return out, ((rows[-1]["due_at"], rows[-1]["id"]) if rows else None)


@lru_cache(maxsize=64)  # a shape per worker's range and page size: a handful
def _due_statement(first: bool, end: bool, after: bool, limit: int, sqlite: bool = False):
    """The due-index query of one shape (which bounds it has), built once: the sweep asks it every
    day, and building and compiling it each time (and the incidents' query) cost more than a day
    without due timers did in all (cProfile 2026-12-04, a simulated year at scale 0.01).

    On SQLite the id bounds are written ``+dossier_id`` (SQLite's way to keep a term off an index):
    without statistics (the engine never runs ANALYZE) its planner took the ``dossier_id`` index for
    a range bounded on both sides (a middle one of three or more sweepers or simulation workers),
    then read and sorted every due_timer row of that range before the LIMIT: 13.8 ms at 200,000
    dossiers, growing with the store (``benchmarks/query_plans.py``). The due index is read in
    order instead, as for the other shapes, the bounds checked on each row it reads. The next page's
    key is a row value, ``(due_at, id) > (?, ?)``: written as ``due_at > ? OR (due_at = ? AND id > ?)``
    SQLite read the two ranges apart and sorted them (a multi-index OR)."""
    query = select(DueTimer.dossier_id, DueTimer.due_at, DueTimer.id).where(DueTimer.due_at <= bindparam("cutoff"))
    bounded = literal_column(f"+{DueTimer.__tablename__}.dossier_id") if sqlite else DueTimer.dossier_id
    if first:
        query = query.where(bounded >= bindparam("first"))
    if end:
        query = query.where(bounded < bindparam("end"))
    if after:  # the key as a row value: the due index's range starts there (an OR made SQLite sort)
        query = query.where(tuple_(DueTimer.due_at, DueTimer.id) > tuple_(bindparam("after_due"),
                                                                        bindparam("after_id")))
    return query.order_by(DueTimer.due_at, DueTimer.id).limit(limit)


#: :func:`claim_and_fire`'s answer when another sweeper holds the dossier (PostgreSQL row lock)
LOCKED = -1
#: how long one sweep waits for dossiers another sweeper holds (seconds): a sweeper killed while it
#: held one releases it when PostgreSQL notices the dead connection, and this sweep then fires it
#: the same day, with the same dates as if nothing had happened (issue: dates stay right when a
#: sweeper dies)
LOCKED_WAIT_SECONDS = 120.0


#: the dossier, if still due at ``cutoff`` (built once: the sweep asks it for every due dossier)
_CLAIM = select(Dossier.id).where(Dossier.id == bindparam("dossier_id"), Dossier.next_due_at <= bindparam("cutoff"))
#: the same, taking its row lock unless another sweeper holds it (PostgreSQL)
_CLAIM_PG = _CLAIM.with_for_update(skip_locked=True)


def claim_and_fire(engine: Engine, dossier_id: str, now: datetime) -> int:
    """Fire one dossier's due timers in one transaction: the number fired, 0 when nothing is due
    (any more), :data:`LOCKED` when another sweeper holds it right now."""
    cutoff = int(now.timestamp())
    with engine.unit() as writer:
        params = {"dossier_id": dossier_id, "cutoff": cutoff}
        if not writer.rows(_CLAIM_PG if engine.postgres else _CLAIM, params):
            if engine.postgres and writer.rows(_CLAIM, params):
                return LOCKED  # still due, but held: by a live sweeper (done soon) or a dead one (released soon)
            return 0
        return engine.fire_due_timers(writer, dossier_id, now)


def sweep(engine: Engine, now: Optional[datetime] = None, *,
          on_progress: Callable[[int, int], None] | None = None, id_range: IdRange | None = None,
          page: int = 500) -> SweepReport:
    """One sweep at ``now`` (default: the engine's clock), of every dossier or of ``id_range`` only."""
    now = now or engine.clock.now()
    started = timing.perf_counter()
    report = SweepReport(at=now.isoformat())
    cutoff = int(now.timestamp())
    open_incidents = incidents.backed_off(engine, now)
    attempted: set[str] = set()
    held: list[str] = []  # due dossiers another sweeper held when we came to them
    cursor, progressed = None, False
    while True:
        rows, last = _due_page(engine, now, page, id_range, cursor)
        if last is None:  # end of the index: once more from the start while new dossiers turned up
            if cursor is None or not progressed:
                break
            cursor, progressed = None, False
            continue
        cursor = last
        candidates = [d for d, _ in rows if d not in attempted]
        for dossier_id in candidates:
            attempted.add(dossier_id)
            progressed = True
            incident = open_incidents.get(dossier_id)
            if incident is not None and incident[1] is not None and incident[1] > cutoff:
                report.backed_off += 1
                continue
            try:
                fired = claim_and_fire(engine, dossier_id, now)
            except Exception as err:  # one broken dossier must not stop the sweep: it becomes an incident
                report.errors.append(_failed(engine, dossier_id, err, now))
                continue
            if fired == LOCKED:
                held.append(dossier_id)
                continue
            if incident is not None:
                _resolve_quietly(engine, incident[0], f"the sweep at {now.isoformat()} fired the dossier "
                                                      f"({fired} timers)", now)
            if fired:
                report.dossiers += 1
                report.timers += fired
            if on_progress:
                on_progress(report.dossiers, len(candidates))
    _fire_held(engine, held, now, report)
    report.seconds = round(timing.perf_counter() - started, 3)
    _observe(report)
    return report


def _fire_held(engine: Engine, held: list[str], now: datetime, report: SweepReport) -> None:
    """Come back to the dossiers another sweeper held until each is fired (by it or by us) or the wait
    is over; a dossier still held then is left for the next sweep (its facts keep their legal dates)."""
    deadline = timing.monotonic() + LOCKED_WAIT_SECONDS
    pause = 0.05
    while held and timing.monotonic() < deadline:
        timing.sleep(pause)
        pause = min(pause * 2, 2.0)
        still = []
        for dossier_id in held:
            try:
                fired = claim_and_fire(engine, dossier_id, now)
            except Exception as err:  # noqa: BLE001 - an incident, as in the main pass
                report.errors.append(_failed(engine, dossier_id, err, now))
                continue
            if fired == LOCKED:
                still.append(dossier_id)
            elif fired:
                report.dossiers += 1
                report.timers += fired
        held = still
    report.held = len(held)


def _failed(engine: Engine, dossier_id: str, err: Exception, now: datetime) -> dict:
    log.error("sweep: dossier %s failed: %s", dossier_id, type(err).__name__)
    entry = {"dossier": dossier_id, "error": f"{type(err).__name__}: {incidents.scrub(str(err))}"}
    try:
        entry["incident"] = incidents.record(engine, dossier_id, incidents.SWEEP, incidents.SWEEP_OPERATION,
                                             err, now)
    except Exception:  # noqa: BLE001 - the store may be down: the sweep still goes on
        log.exception("sweep: could not record an incident for dossier %s", dossier_id)
    return entry


def _resolve_quietly(engine: Engine, incident_id: int, reason: str, now: datetime) -> None:
    try:
        incidents.resolve(engine, incident_id, reason, "system:sweep", now)
    except (Conflict, NotFound):  # resolved meanwhile by an operator
        pass


def _observe(report: SweepReport) -> None:
    """Hand the sweep's figures to the metrics (api/metrics.py), when they are switched on."""
    for observer in SWEEP_OBSERVERS:
        observer(report)


#: Callables ``(SweepReport) -> None`` run after every sweep (the Prometheus metrics register one).
SWEEP_OBSERVERS: list[Callable[[SweepReport], None]] = []


def retry_incident(engine: Engine, incident_id: int, actor: str) -> dict:
    """Retry an open sweep incident now: fire the dossier's due timers on the engine's clock.

    Success resolves the incident (naming ``actor``); a failure adds an attempt and is returned.
    A command incident cannot be retried here: the caller sends the event again."""
    incident = incidents.get(engine, incident_id)
    if incident.status != incidents.OPEN:
        raise Conflict(f"incident {incident_id} is already resolved", code="incident_already_resolved",
                       params={"incident": incident_id})
    if incident.source != incidents.SWEEP:
        raise Conflict(f"incident {incident_id} is a failed {incident.operation!r} command: it is retried by "
                       "sending that event again; resolve the incident once it went through",
                       code="incident_not_a_sweep", params={"incident": incident_id})
    now = engine.clock.now()
    try:
        fired = claim_and_fire(engine, incident.dossier_id, now)
    except Exception as err:  # noqa: BLE001 - still failing: one more attempt on the incident
        _failed(engine, incident.dossier_id, err, now)
        return {"incident": incidents.get(engine, incident_id).to_dict(trace=False), "fired": 0, "ok": False}
    resolved = incidents.resolve(engine, incident_id, f"retried by {actor}: the dossier fired ({fired} timers)",
                                 actor, now)
    return {"incident": resolved.to_dict(trace=False), "fired": fired, "ok": True}


def advance_to(engine: Engine, last: date, *, until_instant: Optional[datetime] = None,
               on_day: Callable[[date, SweepReport], None] | None = None) -> list[SweepReport]:
    """Move the store's manual clock forward to ``last`` 02:00 (or ``until_instant``, if later), running the
    daily 02:00 sweep of every day on which a timer is due on the way, each at that day's instant
    (``sweep --until``, ``clock advance``). The clock never goes back (:class:`engine.clock.ClockError`)."""
    from engine.clock import business_date

    clock = engine.clock
    target = brussels_instant(last, SWEEP_TIME)
    if until_instant is not None and until_instant > target:
        target = until_instant
    now = clock.now()
    if target < now:
        clock.advance_to(target)  # raises: never backwards
    reports = []
    while True:
        first = earliest_due_day(engine)
        if first is None:
            break
        day = max(first, business_date(now))
        instant = brussels_instant(day, SWEEP_TIME)
        if instant < now:  # today's sweep time is past: the next sweep is tomorrow's
            day += timedelta(days=1)
            instant = brussels_instant(day, SWEEP_TIME)
        if instant > target:
            break
        clock.advance_to(instant)
        now = instant
        report = sweep(engine, instant)
        reports.append(report)
        if on_day:
            on_day(day, report)
        if not report.dossiers:  # nothing fired although due: left to a later sweep (an incident)
            now = instant + timedelta(seconds=1)
    if now < target:
        clock.advance_to(target)
    return reports


def sweep_days(engine: Engine, clock, first: date, last: date,
               on_day: Callable[[date, SweepReport], None] | None = None) -> list[SweepReport]:
    """Run the daily 02:00 sweep for every day from ``first`` to ``last`` on a manual clock."""
    reports = []
    day = first
    while day <= last:
        instant = brussels_instant(day, SWEEP_TIME)
        clock.set(instant)
        report = sweep(engine, instant)
        reports.append(report)
        if on_day:
            on_day(day, report)
        day += timedelta(days=1)
    return reports


def earliest_due_day(engine: Engine) -> Optional[date]:
    from sqlmodel import func
    from engine.clock import business_date
    with engine.session() as session:
        first = session.exec(select(func.min(DueTimer.due_at))).one()
    if first is None:
        return None
    return business_date(datetime.fromtimestamp(first).astimezone())
