"""The one place that reads the wall clock.

Everything else asks an injected :class:`Clock` (ENGINEERING.md principle 2,
after Temporal's ``workflow.now()``): tests, scenarios, simulations and replays
move a :class:`ManualClock`, and a replay sees exactly the instants the original
run saw because those instants are journaled.

Business dates are Europe/Brussels calendar dates (TRAJECTORY.md §5).
"""
from __future__ import annotations

import threading
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
