"""Fees and fines (TRAJECTORY.md §6.8 and §7; seed 003 §C; seed 001 §1;
scenarios/README.md "Fees"). Amounts are dated parameters — one per item, named in
:data:`FEE_PARAMETERS` (written out, so that every parameter read can be found) — and
``fine_min``, ``fine_max``.
"""
from __future__ import annotations

from datetime import date

from . import parameters

__all__ = ["FEE_ITEMS", "FEE_PARAMETERS", "fee", "fee_law", "fine_range", "fine_law"]

#: fee item → the dated parameter of its tariff (rules/parameters/fee_*.yaml)
FEE_PARAMETERS = {
    "mo_course": "fee_mo_course",
    "nt2_course": "fee_nt2_course",
    "mo_test": "fee_mo_test",
    "mo_exemption_test": "fee_mo_exemption_test",
    "b1_test": "fee_b1_test",
}
FEE_ITEMS = tuple(FEE_PARAMETERS)


def fee(item: str, on: date, *, living_in_brussels: bool, fee_exempt: bool) -> int | float:
    """The fee in EUR for ``item`` charged on ``on``.

    Nothing for newcomers living in Brussels (TRAJECTORY.md §7) or with the
    ``fee_exempt`` evidence (scenarios/README.md "Fees").
    """
    if item not in FEE_ITEMS:
        raise ValueError(f"no fee item {item!r}; known items are {FEE_ITEMS}")
    amount = parameters.value(FEE_PARAMETERS[item], on)
    if living_in_brussels or fee_exempt:
        return 0
    return amount


def fine_range(on: date) -> tuple[int | float, int | float]:
    """Lowest and highest administrative fine on ``on`` (TRAJECTORY.md §6.8, ASSUMPTION)."""
    return parameters.value("fine_min", on), parameters.value("fine_max", on)


def fee_law(item: str, on: date) -> dict:
    """The tariff a fee was charged by: the dated parameter of ``item`` in force on ``on``."""
    name = FEE_PARAMETERS[item]
    return {name: parameters.cite(name, on)}


def fine_law(on: date) -> dict:
    """The fine range an officer's decision was checked against (``fine_min``, ``fine_max``)."""
    return {name: parameters.cite(name, on) for name in ("fine_min", "fine_max")}
