"""Fees and fines (TRAJECTORY.md §6.8 and §7; seed 003 §C; seed 001 §1;
scenarios/README.md "Fees"). Amounts are dated parameters ``fee_<item>``,
``fine_min`` and ``fine_max``.
"""
from __future__ import annotations

from datetime import date

from . import parameters

__all__ = ["FEE_ITEMS", "fee", "fee_law", "fine_range", "fine_law"]

FEE_ITEMS = ("mo_course", "nt2_course", "mo_test", "mo_exemption_test", "b1_test")


def fee(item: str, on: date, *, living_in_brussels: bool, fee_exempt: bool) -> int | float:
    """The fee in EUR for ``item`` charged on ``on``.

    Nothing for newcomers living in Brussels (TRAJECTORY.md §7) or with the
    ``fee_exempt`` evidence (scenarios/README.md "Fees").
    """
    if item not in FEE_ITEMS:
        raise ValueError(f"no fee item {item!r}; known items are {FEE_ITEMS}")
    amount = parameters.value(f"fee_{item}", on)
    if living_in_brussels or fee_exempt:
        return 0
    return amount


def fine_range(on: date) -> tuple[int | float, int | float]:
    """Lowest and highest administrative fine on ``on`` (TRAJECTORY.md §6.8, ASSUMPTION)."""
    return parameters.value("fine_min", on), parameters.value("fine_max", on)


def fee_law(item: str, on: date) -> dict:
    """The tariff a fee was charged by: the dated parameter ``fee_<item>`` in force on ``on``."""
    return {f"fee_{item}": parameters.cite(f"fee_{item}", on)}


def fine_law(on: date) -> dict:
    """The fine range an officer's decision was checked against (``fine_min``, ``fine_max``)."""
    return {name: parameters.cite(name, on) for name in ("fine_min", "fine_max")}
