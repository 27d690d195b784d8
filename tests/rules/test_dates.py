"""Legal date arithmetic (TRAJECTORY.md §5; scenarios/README.md "Time")."""
import calendar
from datetime import date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rules.dates import (
    InvalidDate, add_months, age_on, as_date, day_established, extend_for_suspension,
    last_timely_day, parse_date,
)

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
months = st.integers(min_value=-240, max_value=240)
ONE_DAY = timedelta(days=1)


def month_length(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


# ---------------------------------------------------------------- add_months


@pytest.mark.parametrize("start, n, expected", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),    # leap year
    (date(2023, 1, 31), 1, date(2023, 2, 28)),    # common year
    (date(2024, 1, 31), 3, date(2024, 4, 30)),    # scenario 02: 31 Jan + 3 months = 30 Apr
    (date(2024, 3, 31), 2, date(2024, 5, 31)),    # scenario 04: VDAB deadline
    (date(2023, 10, 15), 3, date(2024, 1, 15)),   # across the year end
    (date(2025, 1, 20), 24, date(2027, 1, 20)),   # scenario 01: B1 due
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2024, 5, 17), 0, date(2024, 5, 17)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
    (date(2024, 12, 31), 2, date(2025, 2, 28)),
])
def test_add_months_examples(start, n, expected):
    assert add_months(start, n) == expected


@given(days, months)
def test_add_months_lands_in_the_right_month(d, n):
    result = add_months(d, n)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == n


@given(days, months)
def test_add_months_keeps_the_day_or_takes_the_last_day(d, n):
    result = add_months(d, n)
    assert result.day <= month_length(result)  # never overflows into the next month
    if d.day <= month_length(result):
        assert result.day == d.day
    else:
        assert result.day == month_length(result)


@given(days, days, st.integers(min_value=0, max_value=240))
def test_add_months_is_monotone(a, b, n):
    assume(a <= b)
    assert add_months(a, n) <= add_months(b, n)


@given(days, st.integers(min_value=0, max_value=240), st.integers(min_value=0, max_value=240))
def test_add_months_is_monotone_in_months(d, n1, n2):
    assume(n1 <= n2)
    assert add_months(d, n1) <= add_months(d, n2)


@given(days)
def test_add_zero_months_is_identity(d):
    assert add_months(d, 0) == d


@given(st.integers(min_value=1901, max_value=2199), st.integers(min_value=0, max_value=23))
def test_end_of_month_rule_for_the_31st(year, n):
    result = add_months(date(year, 1, 31), n)
    assert result.day == min(31, month_length(result))


def test_add_months_rejects_non_dates_and_non_integers():
    with pytest.raises(TypeError):
        add_months(datetime(2024, 1, 31, 12), 1)
    with pytest.raises(TypeError):
        add_months(date(2024, 1, 31), 1.0)
    with pytest.raises(TypeError):
        add_months(date(2024, 1, 31), True)


# ---------------------------------------------------------------- deadlines


def test_last_timely_day_and_establishment():
    # scenario 02: obligation 2024-01-31, registration deadline 30 April, infraction on 1 May
    last = last_timely_day(date(2024, 1, 31), months=3)
    assert last == date(2024, 4, 30)
    assert day_established(last) == date(2024, 5, 1)
    # regularisation: notice + 30 days; hand-over the next day (scenario 03)
    last = last_timely_day(date(2024, 1, 16), days=30)
    assert last == date(2024, 2, 15)
    assert day_established(last) == date(2024, 2, 16)


def test_last_timely_day_adds_months_then_days():
    assert last_timely_day(date(2024, 1, 31), months=1, days=1) == date(2024, 3, 1)


def test_last_timely_day_refuses_negative_terms():
    with pytest.raises(ValueError):
        last_timely_day(date(2024, 1, 1), months=-1)
    with pytest.raises(ValueError):
        last_timely_day(date(2024, 1, 1), days=-1)


@given(days, st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=400))
def test_deadline_is_never_before_its_start(start, n_months, n_days):
    last = last_timely_day(start, months=n_months, days=n_days)
    assert last >= start
    assert day_established(last) == last + ONE_DAY


# ---------------------------------------------------------------- suspension


def test_suspension_extends_a_running_deadline():
    # deadline 30 April, suspended 10-19 April (10 days) -> 10 May
    assert extend_for_suspension(date(2024, 4, 30), date(2024, 4, 10), date(2024, 4, 19)) == date(2024, 5, 10)
    # one-day suspension on the last timely day itself still counts
    assert extend_for_suspension(date(2024, 4, 30), date(2024, 4, 30), date(2024, 4, 30)) == date(2024, 5, 1)


def test_suspension_after_the_deadline_changes_nothing():
    assert extend_for_suspension(date(2024, 4, 30), date(2024, 5, 1), date(2024, 5, 20)) == date(2024, 4, 30)


def test_suspension_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="before it starts"):
        extend_for_suspension(date(2024, 4, 30), date(2024, 4, 10), date(2024, 4, 9))


@given(days, days, st.integers(min_value=0, max_value=400))
def test_suspension_property(last, s_from, length):
    s_to = s_from + timedelta(days=length)
    result = extend_for_suspension(last, s_from, s_to)
    if last >= s_from:
        assert result - last == timedelta(days=length + 1)
    else:
        assert result == last
    assert result >= last


# ---------------------------------------------------------------- parsing


def test_parse_date_accepts_strict_iso():
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    assert parse_date("1900-01-01") == date(1900, 1, 1)


@pytest.mark.parametrize("text, why", [
    ("2024-02-30", "2024-02-30 is not a calendar date"),
    ("2023-02-29", "2023-02-29 is not a calendar date"),
    ("2024-13-01", "2024-13-01 is not a calendar date"),
    ("2024-00-10", "2024-00-10 is not a calendar date"),
    ("2024-04-31", "2024-04-31 is not a calendar date"),
    ("2024-1-5", "'2024-1-5' is not in the form YYYY-MM-DD"),
    ("2024/01/05", "'2024/01/05' is not in the form YYYY-MM-DD"),
    ("2024-01-05T00:00", "is not in the form YYYY-MM-DD"),
    (" 2024-01-05", "is not in the form YYYY-MM-DD"),
    ("", "is not in the form YYYY-MM-DD"),
    ("٢٠٢٤-٠١-٠٥", "is not in the form YYYY-MM-DD"),  # non-ASCII digits
])
def test_parse_date_refuses_with_a_reason(text, why):
    with pytest.raises(InvalidDate, match=why.replace("(", r"\(")) as caught:
        parse_date(text)
    assert isinstance(caught.value, ValueError)


def test_parse_date_refuses_non_text():
    with pytest.raises(InvalidDate):
        parse_date(20240105)


@given(days)
def test_parse_date_round_trips(d):
    assert parse_date(d.isoformat()) == d


def test_as_date():
    assert as_date("2024-01-05") == date(2024, 1, 5)
    assert as_date(date(2024, 1, 5)) == date(2024, 1, 5)
    with pytest.raises(InvalidDate):
        as_date(datetime(2024, 1, 5, 9))


# ---------------------------------------------------------------- ages


@pytest.mark.parametrize("birth, on, age", [
    (date(2006, 5, 10), date(2024, 5, 9), 17),
    (date(2006, 5, 10), date(2024, 5, 10), 18),
    (date(2004, 2, 29), date(2022, 2, 28), 17),   # leap-day birth: birthday on 1 March in a common year
    (date(2004, 2, 29), date(2022, 3, 1), 18),
    (date(2004, 2, 29), date(2024, 2, 29), 20),
    (date(2004, 2, 29), date(2024, 2, 28), 19),
    (date(1990, 1, 1), date(1990, 1, 1), 0),
])
def test_age_on(birth, on, age):
    assert age_on(birth, on) == age


def test_age_before_birth_is_refused():
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


@given(days, days)
def test_age_property(birth, on):
    assume(birth <= on)
    age = age_on(birth, on)
    assert age >= 0
    assert add_months(birth, 12 * age) <= on or (birth.month, birth.day) == (2, 29)
    assert age_on(birth, on + ONE_DAY) in (age, age + 1)
