"""The oral B1 check (TRAJECTORY.md §4.7; scenarios/README.md "B1 check")."""
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import b1
from rules.b1 import ATTAINED, EXEMPT, INFRACTION, NOT_WORKING_AGE, due_on, in_scope, merge_periods, outcome
from rules.dates import add_months

ATTEST = date(2025, 1, 20)
DUE = date(2027, 1, 20)
BIRTH = date(1995, 3, 15)


def check(*, attained_on=(), activities=(), birth_date=BIRTH, attest_on=ATTEST, due=DUE):
    return outcome(attest_on=attest_on, due_on=due, birth_date=birth_date,
                   attained_on=list(attained_on), activities=list(activities))


def test_due_on_is_attest_plus_24_months():
    assert due_on(ATTEST) == DUE                              # scenario 01
    assert due_on(date(2024, 7, 15)) == date(2026, 7, 15)     # scenario 04
    assert due_on(date(2024, 2, 29)) == date(2026, 2, 28)


def test_in_scope_both_sides_of_2022_03_01():
    assert in_scope("obligated", date(2022, 3, 1))
    assert not in_scope("obligated", date(2022, 2, 28))
    assert not in_scope("entitled", date(2024, 3, 1))
    assert not in_scope("excluded", date(2024, 3, 1))
    assert not in_scope("obligated", None)


def test_scenario_01_worked_ten_months():
    assert check(activities=[(date(2025, 6, 1), date(2026, 3, 31))]) == EXEMPT


def test_no_activity_and_no_b1_is_an_infraction():
    assert check() == INFRACTION


def test_attained_on_or_before_due():
    assert check(attained_on=[DUE]) == ATTAINED
    assert check(attained_on=[date(2026, 1, 1)]) == ATTAINED
    assert check(attained_on=[DUE + timedelta(days=1)]) == INFRACTION


def test_attained_beats_exempt():
    assert check(attained_on=[date(2026, 1, 1)], activities=[(ATTEST, DUE)]) == ATTAINED


def test_six_months_boundary():
    start = date(2025, 3, 1)
    # start + 6 months - 1 day = 2025-08-31
    assert check(activities=[(start, date(2025, 8, 31))]) == EXEMPT
    assert check(activities=[(start, date(2025, 8, 30))]) == INFRACTION
    # month-end start: 2025-08-31 + 6 months = 2026-02-28, minus 1 day = 2026-02-27
    assert check(activities=[(date(2025, 8, 31), date(2026, 2, 27))]) == EXEMPT
    assert check(activities=[(date(2025, 8, 31), date(2026, 2, 26))]) == INFRACTION


def test_touching_and_overlapping_periods_merge():
    touching = [(date(2025, 3, 1), date(2025, 5, 31)), (date(2025, 6, 1), date(2025, 8, 31))]
    assert check(activities=touching) == EXEMPT
    overlapping = [(date(2025, 6, 1), date(2025, 8, 31)), (date(2025, 3, 1), date(2025, 7, 1))]
    assert check(activities=overlapping) == EXEMPT
    gap = [(date(2025, 3, 1), date(2025, 5, 30)), (date(2025, 6, 1), date(2025, 8, 31))]
    assert check(activities=gap) == INFRACTION


def test_periods_are_clipped_to_attest_and_due():
    # mostly before the attest: only 2025-01-20 .. 2025-05-31 counts
    assert check(activities=[(date(2024, 1, 1), date(2025, 5, 31))]) == INFRACTION
    assert check(activities=[(date(2024, 1, 1), date(2025, 7, 19))]) == EXEMPT
    # mostly after the check
    assert check(activities=[(date(2026, 10, 1), date(2028, 1, 1))]) == INFRACTION
    assert check(activities=[(date(2026, 7, 21), date(2028, 1, 1))]) == EXEMPT
    # entirely outside
    assert check(activities=[(date(2020, 1, 1), date(2024, 12, 31)), (date(2027, 1, 21), date(2030, 1, 1))]) == INFRACTION


def test_not_working_age():
    # pension age 66 from 2025-02-01: someone 65 on the due date is still of working age in 2027
    assert check(birth_date=date(1961, 1, 20)) == NOT_WORKING_AGE          # 66 on 2027-01-20
    assert check(birth_date=date(1961, 1, 21)) == INFRACTION               # 65
    # before 2025-02-01 the pension age was 65
    assert check(birth_date=date(1960, 1, 1), attest_on=date(2023, 1, 10), due=date(2025, 1, 10)) == NOT_WORKING_AGE
    assert check(birth_date=date(1960, 1, 1), attest_on=date(2023, 2, 10), due=date(2025, 2, 10)) == INFRACTION
    # under 18 on the due date
    assert check(birth_date=date(2009, 1, 21)) == NOT_WORKING_AGE
    assert check(birth_date=date(2009, 1, 20)) == INFRACTION
    # not working age wins over everything
    assert check(birth_date=date(1950, 1, 1), attained_on=[date(2026, 1, 1)]) == NOT_WORKING_AGE


def test_iso_texts_are_accepted():
    assert outcome(attest_on="2025-01-20", due_on="2027-01-20", birth_date="1995-03-15",
                   attained_on=[], activities=[["2025-06-01", "2026-03-31"]]) == EXEMPT
    assert outcome(attest_on=ATTEST, due_on=DUE, birth_date=BIRTH, attained_on=["2026-01-01"], activities=[]) == ATTAINED
    assert due_on("2025-01-20") == DUE
    assert in_scope("obligated", "2022-03-01")


def test_bad_periods_and_dates_are_refused():
    with pytest.raises(ValueError, match="before it starts"):
        check(activities=[(date(2025, 5, 1), date(2025, 4, 1))])
    with pytest.raises(ValueError):
        check(due=date(2024, 1, 1))


periods = st.lists(st.tuples(st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(0, 400)).map(
    lambda p: (p[0], p[0] + timedelta(days=p[1]))), max_size=6)


@given(periods)
def test_merged_periods_are_sorted_disjoint_and_cover_the_same_days(items):
    merged = merge_periods(items)
    for (_, end), (start, _) in zip(merged, merged[1:]):
        assert start > end + timedelta(days=1)
    covered = {s + timedelta(days=i) for s, e in items for i in range((e - s).days + 1)}
    assert covered == {s + timedelta(days=i) for s, e in merged for i in range((e - s).days + 1)}


@given(periods)
def test_exempt_iff_some_run_of_consecutive_active_days_is_long_enough(items):
    """Brute force over days: a run of active days inside [attest, due] of at least 6 months."""
    active = {s + timedelta(days=i) for s, e in items for i in range((e - s).days + 1)
              if ATTEST <= s + timedelta(days=i) <= DUE}
    long_enough = False
    for day in active:
        if day - timedelta(days=1) in active:
            continue
        end = day
        while end + timedelta(days=1) in active:
            end += timedelta(days=1)
        long_enough |= end >= add_months(day, 6) - timedelta(days=1)
    assert (check(activities=items) == EXEMPT) == long_enough
