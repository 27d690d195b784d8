"""Legal date arithmetic (TRAJECTORY.md §5; scenarios/README.md "Time").

All dates are Europe/Brussels calendar dates (``datetime.date``); nothing here
reads the wall clock.

* "N months after D" is the same day-of-month N months later, or the last day of
  that month when it has no such day (31 Jan + 1 month = 28/29 Feb).
* A deadline "within N months of D" has last timely day ``D + N months``; an
  action on that day is timely; the infraction is established on the next day.
* A suspension ``[from, to]`` (inclusive) moves every deadline still running on
  ``from`` later by ``(to - from) + 1`` days.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Any

__all__ = [
    "InvalidDate",
    "add_months",
    "last_timely_day",
    "day_established",
    "extend_for_suspension",
    "apply_suspensions",
    "days_not_yet_suspended",
    "parse_date",
    "as_date",
    "age_on",
]

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ONE_DAY = timedelta(days=1)


class InvalidDate(ValueError):
    """A text is not a strict ``YYYY-MM-DD`` calendar date; the message says why."""


def _require_date(d: Any, what: str) -> date:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{what} must be a calendar date (datetime.date), got {d!r}")
    return d


def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar months (TRAJECTORY.md §5).

    The same day-of-month ``n`` months later, or the last day of that month when
    it is shorter. ``n`` may be 0 (``d`` itself) or negative.
    """
    _require_date(d, "d")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an integer number of months, got {n!r}")
    month_index = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(month_index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(f"{d.isoformat()} + {n} months is outside the calendar")
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last_day))


def last_timely_day(start: date, *, months: int = 0, days: int = 0) -> date:
    """Last timely day of a deadline "within ``months`` months and ``days`` days of ``start``".

    Months are added first (legal month rule), then days (TRAJECTORY.md §5;
    scenarios/README.md "Deadlines": registration ``+ 3 months``,
    regularisation ``+ 30 days``). An action on this day is timely.
    """
    _require_date(start, "start")
    if months < 0 or days < 0:
        raise ValueError(f"a deadline runs forward: months={months}, days={days}")
    return add_months(start, months) + timedelta(days=days)


def day_established(last_timely: date) -> date:
    """The day an infraction is established: the first day after the last timely day (§5)."""
    return _require_date(last_timely, "last_timely") + _ONE_DAY


def extend_for_suspension(last_timely: date, s_from: date, s_to: date) -> date:
    """Extend a deadline for a suspension ``[s_from, s_to]`` (inclusive) (TRAJECTORY.md §5).

    A deadline still running on ``s_from`` (``last_timely >= s_from``) moves later
    by ``(s_to - s_from) + 1`` days; a deadline that had already passed is
    unchanged. ``s_to`` before ``s_from`` raises :class:`ValueError`.
    """
    _require_date(last_timely, "last_timely")
    _require_date(s_from, "s_from")
    _require_date(s_to, "s_to")
    if s_to < s_from:
        raise ValueError(
            f"suspension ends ({s_to.isoformat()}) before it starts ({s_from.isoformat()})"
        )
    if last_timely < s_from:
        return last_timely
    return last_timely + (s_to - s_from) + _ONE_DAY


def days_not_yet_suspended(s_from: date, s_to: date, earlier: list) -> int:
    """How many days of ``[s_from, s_to]`` no earlier suspension covers: a day is suspended at
    most once (scenarios README "Deadlines"). ``earlier``: ``(from, to, ...)`` tuples."""
    _require_date(s_from, "s_from")
    _require_date(s_to, "s_to")
    if s_to < s_from:
        raise ValueError(f"suspension ends ({s_to.isoformat()}) before it starts ({s_from.isoformat()})")
    total = (s_to - s_from).days + 1
    covered = set()
    for period in earlier:
        start, end = max(period[0], s_from), min(period[1], s_to)
        if start <= end:
            covered.update(range(start.toordinal(), end.toordinal() + 1))
    return total - len(covered)


def apply_suspensions(base_last_timely: date, start: date, suspensions: list) -> date:
    """The last timely day of a deadline that started on ``start`` with last timely day
    ``base_last_timely`` by the law alone, after the recorded suspensions (TRAJECTORY.md §5;
    scenarios README "Deadlines").

    ``suspensions``: ``(from, to, days_added)`` in the order they were recorded, ``days_added``
    being the days of that period no earlier one covered. Each period, taken in the order of its
    ``from``, moves the deadline later by its ``days_added`` when the deadline is running on
    ``from`` (``start <= from <= last timely day so far``), whether it was recorded before or
    after the deadline started.
    """
    _require_date(base_last_timely, "base_last_timely")
    _require_date(start, "start")
    last = base_last_timely
    for s_from, _s_to, days in sorted(suspensions, key=lambda s: s[0]):
        if days and start <= s_from <= last:
            last = last + timedelta(days=days)
    return last


def parse_date(text: str) -> date:
    """Parse a strict ``YYYY-MM-DD`` date; raises :class:`InvalidDate` naming the value and why."""
    if not isinstance(text, str):
        raise InvalidDate(f"{text!r} is not a date text (expected YYYY-MM-DD)")
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise InvalidDate(f"{text!r} is not in the form YYYY-MM-DD")
    year, month, day = (int(part) for part in match.groups())
    if year < 1:
        raise InvalidDate(f"{text} is not a calendar date (year 0000)")
    if not 1 <= month <= 12:
        raise InvalidDate(f"{text} is not a calendar date (month {month:02d})")
    last_day = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last_day:
        raise InvalidDate(
            f"{text} is not a calendar date ({calendar.month_name[month]} {year} has {last_day} days)"
        )
    return date(year, month, day)


def as_date(value: date | str) -> date:
    """A ``date`` as is, or an ISO text parsed strictly (:func:`parse_date`).

    A ``datetime`` is refused: business facts are calendar dates.
    """
    if isinstance(value, datetime):
        raise InvalidDate(f"{value!r} is a datetime, not a calendar date")
    if isinstance(value, date):
        return value
    return parse_date(value)


def age_on(birth: date, on: date) -> int:
    """Age in completed years on ``on``.

    Someone born on 29 February completes a year on 1 March in a common year
    (ASSUMPTION: the birthday is reached only when the calendar date has been
    passed; 28 February is still the day before it).
    """
    _require_date(birth, "birth")
    _require_date(on, "on")
    if on < birth:
        raise ValueError(f"{on.isoformat()} is before the birth date {birth.isoformat()}")
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years
