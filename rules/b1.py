"""The oral B1 check (TRAJECTORY.md §4.7; seed 003 §F; scenarios/README.md "B1 check").

At attest + ``b1_check_months`` an obligated newcomer whose contract falls under
the B1 obligation, of working age, who did not work, study or train for
``b1_activity_months`` consecutive months since the attest, must show oral B1.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable

from . import parameters
from .components import at_or_above_pension_age
from .dates import add_months, age_on, as_date

__all__ = ["NOT_WORKING_AGE", "ATTAINED", "EXEMPT", "INFRACTION", "due_on", "in_scope", "merge_periods", "outcome"]

NOT_WORKING_AGE, ATTAINED, EXEMPT, INFRACTION = "not_working_age", "attained", "exempt", "infraction"
_ONE_DAY = timedelta(days=1)


def due_on(attest_on: date) -> date:
    """Day of the B1 check: the attest day plus ``b1_check_months`` (003 §F)."""
    attest_on = as_date(attest_on)
    return add_months(attest_on, parameters.value("b1_check_months", attest_on))


def in_scope(target_group: str, contract_signed_on: date | None) -> bool:
    """Obligated, with a contract signed while ``b1_obligation`` is in force (TRAJECTORY.md §3)."""
    return (target_group == "obligated" and contract_signed_on is not None
            and bool(parameters.value("b1_obligation", as_date(contract_signed_on))))


def merge_periods(periods: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Merge inclusive periods that overlap or touch (end + 1 day = next start), sorted.

    Periods are ``(from, to)`` pairs of dates or ISO texts.
    """
    merged: list[tuple[date, date]] = []
    for start, end in sorted((as_date(start), as_date(end)) for start, end in periods):
        if end < start:
            raise ValueError(f"activity period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        if merged and start <= merged[-1][1] + _ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def outcome(*, attest_on: date, due_on: date, birth_date: date,
            attained_on: list[date], activities: list[tuple[date, date]]) -> str:
    """The B1 check outcome on ``due_on``, exactly as scenarios/README.md "B1 check":

    ``not_working_age`` when on ``due_on`` the newcomer is under ``adult_age`` or at
    or above the pension age; else ``attained`` when B1 was shown on or before
    ``due_on``; else ``exempt`` when the activities (merged when they overlap or
    touch, clipped to ``[attest_on, due_on]``) hold one span whose end is on or
    after start + ``b1_activity_months`` - 1 day; else ``infraction``.
    """
    attest_on, due_on, birth_date = as_date(attest_on), as_date(due_on), as_date(birth_date)
    if due_on < attest_on:
        raise ValueError(f"B1 check {due_on.isoformat()} before the attest {attest_on.isoformat()}")
    if age_on(birth_date, due_on) < parameters.value("adult_age", due_on) or at_or_above_pension_age(birth_date, due_on):
        return NOT_WORKING_AGE
    if any(as_date(day) <= due_on for day in attained_on):
        return ATTAINED
    months = parameters.value("b1_activity_months", due_on)
    for start, end in merge_periods(activities):
        start, end = max(start, attest_on), min(end, due_on)
        if start <= end and end >= add_months(start, months) - _ONE_DAY:
            return EXEMPT
    return INFRACTION
