"""Whether a component of the contract is fulfilled (TRAJECTORY.md §4.5;
scenarios/README.md "Components and attest"). Thresholds are dated parameters.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from numbers import Real

from . import parameters
from .dates import age_on

__all__ = [
    "CEFR_LEVELS",
    "Judgement",
    "judge_mo",
    "judge_nt2",
    "judge_attendance",
    "mo_passed",
    "nt2_passed",
    "pnt_fulfilled",
    "at_or_above_pension_age",
    "attendance_regular",
]

# The CEFR scale, lowest first (the levels a test result can report).
CEFR_LEVELS = ("below_A1", "A1", "A2", "B1", "B2", "C1", "C2")


def _number(value: object, what: str) -> Real:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a number, got {value!r}")
    return value


@dataclass(frozen=True)
class Judgement:
    """A decision on a component with what decided it: the rule's name and the dated parameters it
    read (``{name: {"value", "from"}}``, :func:`rules.parameters.cite`), for the journal."""

    passed: bool
    rule: str
    law: dict


def judge_mo(core_percent: float, total_percent: float, on: date) -> Judgement:
    """The MO standardized test (or the exemption test) judged by the rule of ``on``: the test alone
    before ``mo_combined_scoring``, the combined 60/40 result after it (``total_percent`` is then the
    combined result; TRAJECTORY.md §3 ASSUMPTION: the same thresholds apply to it)."""
    combined = parameters.value("mo_combined_scoring", on)
    names = ("mo_pass_core_percent", "mo_pass_total_percent", "mo_combined_scoring")
    return Judgement(mo_passed(core_percent, total_percent, on),
                     "mo_combined_60_40" if combined else "mo_test_only",
                     {name: parameters.cite(name, on) for name in names})


def judge_nt2(level: str, on: date) -> Judgement:
    """The NT2 test judged by the level required on ``on`` (``nt2_required_level``)."""
    return Judgement(nt2_passed(level, on), "nt2_level", {"nt2_required_level": parameters.cite("nt2_required_level", on)})


def judge_attendance(percent: float, on: date) -> Judgement:
    """Whether an attendance report is regular participation on ``on`` (``attendance_min_percent``)."""
    return Judgement(attendance_regular(percent, on), "attendance_minimum",
                     {"attendance_min_percent": parameters.cite("attendance_min_percent", on)})


def mo_passed(core_percent: float, total_percent: float, on: date) -> bool:
    """MO standardized test passed: core-values (sokkel) part and total both at or above
    their thresholds (seed 002; TRAJECTORY.md §4.5; §3 ASSUMPTION for the combined
    scoring from 2023-03-01, where ``total_percent`` is the combined result)."""
    return (_number(core_percent, "core_percent") >= parameters.value("mo_pass_core_percent", on)
            and _number(total_percent, "total_percent") >= parameters.value("mo_pass_total_percent", on))


def nt2_passed(level: str, on: date | None = None) -> bool:
    """NT2 test result at or above the required level (A2; TRAJECTORY.md §4.5; 001 §7).

    ``on`` picks the dated ``nt2_required_level``; without it the latest value applies.
    """
    if level not in CEFR_LEVELS:
        raise ValueError(f"NT2 level {level!r} is not one of {CEFR_LEVELS}")
    parameter = parameters.get("nt2_required_level")
    required = parameter.value_on(on) if on is not None else parameter.values[-1].value
    return CEFR_LEVELS.index(level) >= CEFR_LEVELS.index(required)


def pnt_fulfilled(total_hours: float, on: date) -> bool:
    """Participation and network trajectory: reported hours reach the required total (003 §H)."""
    return _number(total_hours, "total_hours") >= parameters.value("pnt_required_hours", on)


def at_or_above_pension_age(birth_date: date, on: date) -> bool:
    """At or above the statutory pension age in force on ``on`` (TRAJECTORY.md §4.5: VDAB
    exemption "older than 64"; §4.7: end of working age for the B1 check)."""
    return age_on(birth_date, on) >= parameters.value("pension_age", on)


def attendance_regular(percent: float, on: date) -> bool:
    """Attendance at or above the minimum for regular participation (TRAJECTORY.md §4.5)."""
    return _number(percent, "percent") >= parameters.value("attendance_min_percent", on)
