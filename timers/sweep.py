"""The deadline sweep: fire every timer whose due instant has passed.

It reads the due-date index (``due_timer.due_at <= now``, indexed), never scans
instances, so its cost follows the number of due timers (ENGINEERING.md principle 3).
Each dossier is fired in its own transaction; the dossier row is claimed with
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several sweep processes share
the work without firing a timer twice, and a sweeper killed before its commit
leaves the rows in place for the next run (exactly once). SQLite has one writer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable, Optional

from sqlmodel import select

from engine.clock import brussels_instant
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


IdRange = tuple[Optional[str], Optional[str]]


def due_dossiers(engine: Engine, now: datetime, limit: int = 500, id_range: IdRange | None = None) -> list[str]:
    """Candidate dossiers with a due timer, soonest first (reads the due-date index).

    ``id_range`` = (first, end): only dossier ids ``first <= id < end`` (either may be None),
    so that several sweep processes can each take a part of the dossiers."""
    cutoff = int(now.timestamp())
    query = select(DueTimer.dossier_id, DueTimer.due_at).where(DueTimer.due_at <= cutoff)
    if id_range is not None:
        first, end = id_range
        if first is not None:
            query = query.where(DueTimer.dossier_id >= first)
        if end is not None:
            query = query.where(DueTimer.dossier_id < end)
    with engine.reading() as connection:
        rows = connection.execute(query.order_by(DueTimer.due_at, DueTimer.id).limit(limit)).all()
    seen, out = set(), []
    for dossier_id, _ in rows:
        if dossier_id not in seen:
            seen.add(dossier_id)
            out.append(dossier_id)
    return out


def claim_and_fire(engine: Engine, dossier_id: str, now: datetime) -> int:
    """Fire one dossier's due timers in one transaction; 0 when another sweeper has it or it is done."""
    cutoff = int(now.timestamp())
    with engine.session() as session:
        query = select(Dossier.id).where(Dossier.id == dossier_id, Dossier.next_due_at <= cutoff)
        if engine.postgres:
            query = query.with_for_update(skip_locked=True)
        if session.exec(query).first() is None:
            return 0
        return engine.fire_due_timers(session, dossier_id, now)


def sweep(engine: Engine, now: Optional[datetime] = None, *,
          on_progress: Callable[[int, int], None] | None = None, id_range: IdRange | None = None) -> SweepReport:
    """One sweep at ``now`` (default: the engine's clock), of every dossier or of ``id_range`` only."""
    now = now or engine.clock.now()
    report = SweepReport(at=now.isoformat())
    attempted: set[str] = set()
    while True:
        candidates = [d for d in due_dossiers(engine, now, id_range=id_range) if d not in attempted]
        if not candidates:
            return report
        for dossier_id in candidates:
            attempted.add(dossier_id)
            try:
                fired = claim_and_fire(engine, dossier_id, now)
            except Exception as err:  # one broken dossier must not stop the sweep
                log.exception("sweep: dossier %s failed", dossier_id)
                report.errors.append({"dossier": dossier_id, "error": str(err)})
                continue
            if fired:
                report.dossiers += 1
                report.timers += fired
            if on_progress:
                on_progress(report.dossiers, len(candidates))


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
