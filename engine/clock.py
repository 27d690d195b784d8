"""The one place that reads the wall clock.

Everything else asks an injected :class:`Clock` (ENGINEERING.md principle 2,
after Temporal's ``workflow.now()``): a store has one business clock
(:class:`StoreClock`: the wall clock in production, a manual clock persisted in the store
for a demo or a simulation); tests and replays move an in-memory :class:`ManualClock`, and a
replay sees exactly the instants the original run saw because those instants are journaled.

Business dates are Europe/Brussels calendar dates (TRAJECTORY.md §5).
"""
from __future__ import annotations

import threading
import time as _time
from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime (UTC)."""


def business_date(instant: datetime) -> date:
    """The Europe/Brussels calendar date of an instant."""
    return instant.astimezone(BRUSSELS).date()


def brussels_instant(day: date, at: time = time(0, 0)) -> datetime:
    """The aware instant of ``day`` at ``at`` in Europe/Brussels (DST-correct)."""
    return datetime.combine(day, at, BRUSSELS)


def wall_now() -> datetime:
    """The wall clock (UTC), for what must be stamped with real time whatever the business clock
    says: the access log's wall time and the expiry of tokens an outside OIDC provider issued."""
    return datetime.now(timezone.utc)


def task_stamp() -> float:
    """Wall-clock seconds for SpiffWorkflow's own bookkeeping of when a task last changed state
    (``Task.last_state_change``, which Spiff sets from ``time.time()``): not business time, never a
    legal date (:class:`engine.taskwalk.Task` sets it through this)."""
    return _time.time()


class SystemClock:
    """The wall clock, for production only."""

    def now(self) -> datetime:
        return wall_now()


class ManualClock:
    """A clock that only moves when told to; safe to share between threads."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        with self._lock:
            self._now = instant

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now = self._now + delta


class ClockError(ValueError):
    """A request to move a store's clock that cannot be done (backwards, or a wall clock)."""

    def __init__(self, message: str, code: str, params: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = params or {}


MANUAL, WALL = "manual", "wall"
_CLOCK_ROW = 1


def _to_us(instant: datetime) -> int:
    return int(instant.timestamp() * 1_000_000)


def _from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, timezone.utc)


class StoreClock:
    """The store's one business clock (ENGINEERING.md principles 2 and 12), kept in the store's
    ``business_clock`` row so every door — ``serve``, its scheduler, ``sweep``, ``scenario run``,
    ``simulate``, the UI — reads the same "now", in every process.

    * ``wall`` (a production store): now is the wall clock.
    * ``manual`` (a demo or simulation store): now is the instant in the row; it moves only when
      told (:meth:`advance_to`, by ``sweep --until``, ``clock advance``, the scenario runner, a
      simulation) and never backwards: such a request raises :class:`ClockError`.

    ``now()`` reads the row each time (one primary-key read), so a clock advanced by one process
    is seen at once by the others.
    """

    def __init__(self, db, mode: str):
        self.db = db
        self.mode = mode

    @classmethod
    def of_store(cls, db, *, new_mode: str = WALL, start: datetime | None = None) -> "StoreClock":
        """The clock of the store behind ``db``; a store without one gets a ``new_mode`` clock,
        a manual one starting at ``start`` (default: the wall clock now)."""
        from sqlalchemy import text

        with db.begin() as connection:
            row = connection.execute(text("SELECT mode, now_us FROM business_clock WHERE id = :id"),
                                     {"id": _CLOCK_ROW}).first()
            if row is None:
                first = start or SystemClock().now()
                connection.execute(text("INSERT INTO business_clock (id, mode, now_us) VALUES (:id, :mode, :now)"),
                                   {"id": _CLOCK_ROW, "mode": new_mode, "now": _to_us(first)})
                return cls(db, new_mode)
            return cls(db, row[0])

    def now(self) -> datetime:
        if self.mode == WALL:
            return SystemClock().now()
        from sqlalchemy import text

        with self.db.connect() as connection:
            value = connection.execute(text("SELECT now_us FROM business_clock WHERE id = :id"),
                                       {"id": _CLOCK_ROW}).scalar_one()
        return _from_us(value)

    def advance_to(self, instant: datetime) -> datetime:
        """Move a manual clock to ``instant``; refused when that is before now (the clock never goes
        back) or when the store follows the wall clock."""
        if instant.tzinfo is None:
            raise ValueError("StoreClock needs an aware datetime")
        if self.mode == WALL:
            raise ClockError("this store follows the wall clock; only a demo or simulation store (manual "
                             "clock) can be moved", "clock_is_wall")
        from sqlalchemy import text

        with self.db.begin() as connection:
            moved = connection.execute(
                text("UPDATE business_clock SET now_us = :t WHERE id = :id AND now_us <= :t"),
                {"t": _to_us(instant), "id": _CLOCK_ROW}).rowcount
        if moved != 1:
            current = self.now()
            raise ClockError(f"the store's clock is at {current.isoformat()}: it never moves back "
                             f"(asked for {instant.isoformat()})", "clock_backwards",
                             {"now": current.isoformat(), "asked": instant.isoformat()})
        return instant

    # ManualClock's interface, so code written for a manual clock drives a manual store clock
    def set(self, instant: datetime) -> None:
        self.advance_to(instant)

    def advance(self, delta: timedelta) -> None:
        self.advance_to(self.now() + delta)
