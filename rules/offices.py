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
    return dict(_in_force(day))


def _in_force(day: date) -> dict[str, Office]:
    """:func:`offices_on`'s table itself, kept (not to be changed)."""
    return _offices(parameters.get("agency_offices").in_force(day))


#: the offices of each dated value of ``agency_offices`` asked for: (the value, its offices), by the
#: value's identity, which the entry keeps alive (a law's values live as long as the law). A year's
#: report asks for the table once per registration: building it each time was a sixth of the report
_BUILT: dict[int, tuple] = {}
#: how many dated values :data:`_BUILT` keeps before it starts afresh (laws built and dropped: tests, reforms)
_MOST_BUILT = 100


def _offices(dated: parameters.DatedValue) -> dict[str, Office]:
    found = _BUILT.get(id(dated))
    if found is None or found[0] is not dated:
        if len(_BUILT) > _MOST_BUILT:
            _BUILT.clear()
        found = _BUILT[id(dated)] = (dated, {code: Office(code, entry["name"], entry["region"])
                                             for code, entry in dated.value.items()})
    return found[1]


def office_on(code: str, day: date) -> Optional[Office]:
    """The office ``code`` as in force on ``day``; None when it is not an office that day."""
    return _in_force(day).get(code)


def offices_of_region(region: Optional[str], day: date) -> list[Office]:
    """The offices serving ``region`` on ``day``, by name."""
    return sorted((o for o in _in_force(day).values() if o.region == region), key=lambda o: o.name)


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
