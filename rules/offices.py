"""Agency offices and centrumsteden, from their dated parameter lists.

``agency_offices`` (seed 000, question 1, Tabel 1): the offices (loketten) where a newcomer
registers, each serving one reporting region (TRAJECTORY.md §1). ``centrumsteden``: the 13
Flemish centre cities and the NIS codes of their territory, for parliament's breakdown per
centrumstad (seed 000, question 1). Both are read for a date: an office list or a municipal
merger that changes is a new dated value in ``rules/parameters/``, never an ``if`` here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

from . import parameters

__all__ = ["Office", "offices_on", "office_on", "offices_of_region", "centrumsteden_on", "centrumstad_of"]


@dataclass(frozen=True)
class Office:
    """An office in force on a day: its code, its name as the agency publishes it, and its region."""

    code: str
    name: str
    region: str


def offices_on(day: date) -> dict[str, Office]:
    """Every office in force on ``day``, by code (the parameter file's order)."""
    return {code: Office(code, entry["name"], entry["region"])
            for code, entry in parameters.value("agency_offices", day).items()}


def office_on(code: str, day: date) -> Optional[Office]:
    """The office ``code`` as in force on ``day``; None when it is not an office that day."""
    return offices_on(day).get(code)


def offices_of_region(region: Optional[str], day: date) -> list[Office]:
    """The offices serving ``region`` on ``day``, by name."""
    return sorted((o for o in offices_on(day).values() if o.region == region), key=lambda o: o.name)


def centrumsteden_on(day: date) -> dict[str, tuple[str, ...]]:
    """The centrumsteden in force on ``day`` and the NIS codes of each (the parameter file's order)."""
    return {city: tuple(codes) for city, codes in parameters.value("centrumsteden", day).items()}


def centrumstad_of(nis_code: Optional[str], day: date) -> Optional[str]:
    """The centrumstad whose territory has ``nis_code`` on ``day``; None for any other municipality."""
    if not nis_code:
        return None
    for city, codes in centrumsteden_on(day).items():
        if nis_code in codes:
            return city
    return None
