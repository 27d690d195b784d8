"""Agency and reporting region from the municipality's NIS (REFNIS) code.

TRAJECTORY.md §1 (Atlas for the city of Antwerp, Amal for the city of Ghent,
AgII for the rest of the Flemish Region and for Brussels; cities are not counted
in their province) and scenarios/README.md "Outcome" (the code table below).
A code outside the Dutch-language area and Brussels gives ``None``: the newcomer
is outside the area (TRAJECTORY.md §2, exclusion ``outside_area``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Location", "locate", "is_brussels", "BRUSSELS"]

BRUSSELS = "brussel"
_NIS_CODE = re.compile(r"[0-9]{5}")

# Exact municipality codes first, then code prefixes, longest first.
_CITIES = {
    "11002": ("antwerpen_stad", "atlas"),
    "44021": ("gent_stad", "amal"),
}
_PREFIXES = (
    ("21", (BRUSSELS, "agii")),
    ("23", ("vlaams_brabant", "agii")),
    ("24", ("vlaams_brabant", "agii")),
    ("1", ("provincie_antwerpen", "agii")),
    ("3", ("west_vlaanderen", "agii")),
    ("4", ("oost_vlaanderen", "agii")),
    ("7", ("limburg", "agii")),
)


@dataclass(frozen=True)
class Location:
    """Reporting region and the agency that handles a dossier there."""

    region: str
    agency: str


def locate(nis_code: str) -> Location | None:
    """The region and agency of a municipality, or ``None`` outside the area.

    Raises :class:`ValueError` naming the code when it is not five digits.
    """
    if not isinstance(nis_code, str) or not _NIS_CODE.fullmatch(nis_code):
        raise ValueError(f"NIS code {nis_code!r} is not five digits")
    if nis_code in _CITIES:
        return Location(*_CITIES[nis_code])
    for prefix, (region, agency) in _PREFIXES:
        if nis_code.startswith(prefix):
            return Location(region, agency)
    return None


def is_brussels(location: Location | None) -> bool:
    """Whether the location is in the Brussels-Capital Region (TRAJECTORY.md §2: never obligated)."""
    return location is not None and location.region == BRUSSELS
