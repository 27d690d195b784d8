"""Components (TRAJECTORY.md §4.5) and fees (§6.8, §7; scenarios/README.md "Fees")."""
from datetime import date

import pytest

from rules.components import at_or_above_pension_age, attendance_regular, mo_passed, nt2_passed, pnt_fulfilled
from rules.fees import FEE_ITEMS, fee, fine_range

ON = date(2024, 5, 1)


@pytest.mark.parametrize("core, total, passed", [
    (50, 50, True), (70, 65, True), (49.9, 90, False), (90, 49, False), (100, 100, True), (0, 0, False),
])
def test_mo_pass_rule(core, total, passed):
    assert mo_passed(core, total, ON) is passed
    assert mo_passed(core, total, date(2022, 6, 1)) is passed  # before the combined scoring (2023-03-01)


@pytest.mark.parametrize("level, passed", [
    ("below_A1", False), ("A1", False), ("A2", True), ("B1", True), ("B2", True), ("C2", True),
])
def test_nt2_pass_rule(level, passed):
    assert nt2_passed(level) is passed
    assert nt2_passed(level, ON) is passed


def test_nt2_unknown_level():
    with pytest.raises(ValueError, match="'A3'"):
        nt2_passed("A3")


def test_pnt_hours():
    assert not pnt_fulfilled(39.5, ON)
    assert pnt_fulfilled(40, ON)
    assert pnt_fulfilled(41.25, ON)


def test_pension_age_both_sides_of_2025_02_01():
    born = date(1959, 1, 15)  # 65 from 2024-01-15, 66 from 2025-01-15
    assert at_or_above_pension_age(born, date(2025, 1, 31))       # 66 >= 65
    born = date(1959, 6, 1)   # 65 from 2024-06-01
    assert at_or_above_pension_age(born, date(2025, 1, 31))       # 65 >= 65
    assert not at_or_above_pension_age(born, date(2025, 2, 1))    # 65 < 66
    assert at_or_above_pension_age(born, date(2025, 6, 1))        # 66 >= 66
    born = date(1963, 6, 1)   # 66 from 2029-06-01
    assert at_or_above_pension_age(born, date(2030, 1, 31))       # 66 >= 66
    assert not at_or_above_pension_age(born, date(2030, 2, 1))    # 66 < 67


def test_attendance_regular():
    assert not attendance_regular(79.99, ON)
    assert attendance_regular(80, ON)


# ---------------------------------------------------------------- fees

FEES_FROM_2023_09_01 = {"mo_course": 90, "nt2_course": 180, "mo_test": 90, "mo_exemption_test": 90, "b1_test": 90}


@pytest.mark.parametrize("item", FEE_ITEMS)
def test_fees_both_sides_of_2023_09_01(item):
    assert fee(item, date(2023, 8, 31), living_in_brussels=False, fee_exempt=False) == 0
    assert fee(item, date(2023, 9, 1), living_in_brussels=False, fee_exempt=False) == FEES_FROM_2023_09_01[item]


@pytest.mark.parametrize("item", FEE_ITEMS)
def test_no_fees_in_brussels_or_with_fee_exempt(item):
    assert fee(item, ON, living_in_brussels=True, fee_exempt=False) == 0
    assert fee(item, ON, living_in_brussels=False, fee_exempt=True) == 0
    assert fee(item, ON, living_in_brussels=True, fee_exempt=True) == 0


def test_scenario_fee_totals():
    # scenario 01: contract with mo and nt2, one MO test -> 90 + 180 + 90
    total = sum(fee(item, d, living_in_brussels=False, fee_exempt=False) for item, d in [
        ("mo_course", date(2024, 3, 1)), ("nt2_course", date(2024, 3, 1)), ("mo_test", date(2024, 5, 10))])
    assert total == 360


def test_unknown_fee_item():
    with pytest.raises(ValueError, match="'nt2_test'"):
        fee("nt2_test", ON, living_in_brussels=False, fee_exempt=False)


def test_fine_range():
    assert fine_range(ON) == (50, 5000)
