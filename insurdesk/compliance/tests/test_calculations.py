"""Review due dates, working-day deadlines, and spreadsheet cells that no program evaluates."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.common.exports import FORMULA_START
from insurdesk.compliance.calculations import (
    add_working_days,
    add_years,
    max_level,
    next_review_on,
    safe_cell,
)

INTERVALS = {"high": 1, "medium": 2, "low": 3}


def test_review_intervals_by_level():
    base = date(2026, 3, 1)
    assert next_review_on(base, "high", INTERVALS) == date(2027, 3, 1)
    assert next_review_on(base, "medium", INTERVALS) == date(2028, 3, 1)
    assert next_review_on(base, "low", INTERVALS) == date(2029, 3, 1)


def test_a_leap_day_moves_to_the_28th():
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2024, 2, 29), -1) == date(2023, 2, 28)


def test_max_level():
    assert max_level("low", "high", "medium") == "high"


def test_fifteen_working_days_skip_weekends():
    # Friday 2026-11-20 + 15 working days → Friday 2026-12-11
    assert add_working_days(date(2026, 11, 20), 15) == date(2026, 12, 11)


def test_holidays_and_exchanged_workdays():
    start = date(2026, 9, 30)  # Wednesday before the national day week
    holidays = [date(2026, 10, d) for d in range(1, 8)]
    assert add_working_days(start, 1, holidays=holidays) == date(2026, 10, 8)
    assert add_working_days(start, 1, holidays=holidays, extra_workdays=[date(2026, 10, 4)]) == date(
        2026, 10, 4
    )


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(1, 60))
def test_working_days_land_on_a_weekday_at_least_that_many_days_later(start, n):
    end = add_working_days(start, n)
    assert end.weekday() < 5 and (end - start).days >= n


@pytest.mark.parametrize(
    "raw",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=cmd", "\r=cmd", "\n=cmd", '=HYPERLINK("x")', "＝1+1", "＠SUM(A1)"],
)
def test_formula_starts_get_an_apostrophe(raw):
    assert safe_cell(raw) == "'" + raw


@pytest.mark.parametrize(
    "raw,out", [("customer.view", "customer.view"), (None, ""), (12, "12"), ("张三=1", "张三=1")]
)
def test_other_cells_are_unchanged(raw, out):
    assert safe_cell(raw) == out


@given(st.text())
def test_no_cell_starts_with_a_formula_character(text):
    assert not safe_cell(text).startswith(FORMULA_START)
