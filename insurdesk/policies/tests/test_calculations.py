"""Premium schedules, due dates, grace and lapse, cooling-off: the arithmetic without a database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.policies import calculations as calc

modes = st.sampled_from(calc.PAYMENT_MODES)
periodic_modes = st.sampled_from(tuple(calc.INSTALMENTS_PER_YEAR))
premiums = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("9999999.99"), places=2, allow_nan=False, allow_infinity=False
)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
years = st.integers(min_value=1, max_value=40)


@given(mode=modes, annual=premiums, payment_years=years, effective=days)
def test_the_instalments_add_up_to_the_annual_premium_times_the_years(mode, annual, payment_years, effective):
    schedule = calc.premium_schedule(
        mode=mode, annual_premium=annual, payment_years=payment_years, effective=effective
    )
    expected = annual if mode == calc.SINGLE else annual * payment_years
    assert sum(i.amount for i in schedule) == expected
    assert all(i.amount >= 0 and i.amount.as_tuple().exponent == -2 for i in schedule)  # always to the cent


@given(mode=periodic_modes, annual=premiums, payment_years=years, effective=days)
def test_each_policy_year_adds_up_to_the_annual_premium(mode, annual, payment_years, effective):
    per_year = calc.INSTALMENTS_PER_YEAR[mode]
    schedule = calc.premium_schedule(
        mode=mode, annual_premium=annual, payment_years=payment_years, effective=effective
    )
    assert len(schedule) == per_year * payment_years
    for y in range(payment_years):
        assert sum(i.amount for i in schedule[y * per_year : (y + 1) * per_year]) == annual
    # instalments differ by at most one cent
    amounts = {i.amount for i in schedule}
    assert max(amounts) - min(amounts) <= Decimal("0.01")


@given(mode=modes, annual=premiums, payment_years=years, effective=days)
def test_due_dates_are_strictly_increasing_and_periods_touch(mode, annual, payment_years, effective):
    schedule = calc.premium_schedule(
        mode=mode, annual_premium=annual, payment_years=payment_years, effective=effective
    )
    assert schedule[0].due_date == effective and schedule[0].seq == 1
    for a, b in zip(schedule, schedule[1:], strict=False):
        assert a.due_date < b.due_date
        assert b.seq == a.seq + 1
        assert a.period_end + timedelta(days=1) == b.period_start
    for i in schedule:
        assert i.period_start <= i.period_end


@given(mode=periodic_modes, effective=days, payment_years=years)
def test_the_last_period_ends_the_day_before_the_anniversary(mode, effective, payment_years):
    schedule = calc.premium_schedule(
        mode=mode, annual_premium=Decimal("1200"), payment_years=payment_years, effective=effective
    )
    assert schedule[-1].period_end == calc.add_years(effective, payment_years) - timedelta(days=1)


@given(mode=modes, annual=premiums, payment_years=years, effective=days, data=st.data())
def test_one_instalment_equals_its_place_in_the_schedule(mode, annual, payment_years, effective, data):
    schedule = calc.premium_schedule(
        mode=mode, annual_premium=annual, payment_years=payment_years, effective=effective
    )
    seq = data.draw(st.integers(min_value=1, max_value=len(schedule)))
    assert (
        calc.instalment_at(mode=mode, annual_premium=annual, effective=effective, seq=seq)
        == schedule[seq - 1]
    )


def test_a_monthly_schedule_keeps_the_31st_where_the_month_has_one():
    schedule = calc.premium_schedule(
        mode="monthly", annual_premium=Decimal("1200"), payment_years=1, effective=date(2026, 1, 31)
    )
    assert [i.due_date for i in schedule[:4]] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert schedule[0].period_end == date(2026, 2, 27)


def test_odd_cents_go_to_the_first_instalments():
    assert calc.split_amount(Decimal("100.00"), 3) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    schedule = calc.premium_schedule(
        mode="quarterly", annual_premium=Decimal("1000.01"), payment_years=2, effective=date(2026, 3, 1)
    )
    assert [i.amount for i in schedule[:4]] == [
        Decimal("250.01"),
        Decimal("250.00"),
        Decimal("250.00"),
        Decimal("250.00"),
    ]


def test_a_single_premium_covers_the_whole_term():
    end = calc.expiry_date(date(2026, 5, 1), 20)
    (only,) = calc.premium_schedule(
        mode="single",
        annual_premium=Decimal("50000"),
        payment_years=1,
        effective=date(2026, 5, 1),
        coverage_end=end,
    )
    assert only.amount == Decimal("50000.00") and only.period_end == date(2046, 4, 30)


def test_unknown_modes_and_bad_terms_are_refused():
    with pytest.raises(ValueError):
        calc.premium_schedule(
            mode="weekly", annual_premium=Decimal(1), payment_years=1, effective=date(2026, 1, 1)
        )
    with pytest.raises(ValueError):
        calc.premium_schedule(
            mode="annual", annual_premium=Decimal(1), payment_years=0, effective=date(2026, 1, 1)
        )
    with pytest.raises(ValueError):
        calc.premium_schedule(
            mode="annual", annual_premium=Decimal(-1), payment_years=1, effective=date(2026, 1, 1)
        )


def test_expiry_is_the_day_before_the_anniversary_and_a_leap_day_moves_to_28_february():
    assert calc.expiry_date(date(2026, 1, 1), 1) == date(2026, 12, 31)
    assert calc.expiry_date(date(2024, 2, 29), 1) == date(2025, 2, 27)
    assert calc.add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_expiry_at_age_ends_at_the_policy_anniversary_after_the_birthday():
    # born 1990-06-15, effective 2026-03-01: 70th birthday 2060-06-15 → cover to the 2061-03-01 anniversary
    assert calc.expiry_at_age(date(2026, 3, 1), date(1990, 6, 15), 70) == date(2061, 2, 28)
    assert calc.expiry_at_age(date(2026, 9, 1), date(1990, 6, 15), 70) == date(2060, 8, 31)


@given(due=days, grace=st.integers(min_value=0, max_value=120))
def test_a_premium_lapses_the_day_after_its_grace_period(due, grace):
    end = calc.grace_end(due, grace)
    assert not calc.should_lapse(due, end, grace)
    assert calc.should_lapse(due, end + timedelta(days=1), grace)
    assert calc.lapse_date(due, grace) == end + timedelta(days=1)


def test_the_statutory_grace_is_60_days():
    assert calc.grace_end(date(2026, 1, 10)) == date(2026, 3, 11)
    assert not calc.should_lapse(date(2026, 1, 10), date(2026, 3, 11))
    assert calc.should_lapse(date(2026, 1, 10), date(2026, 3, 12))


def test_instalment_status():
    due = date(2026, 5, 1)
    status = calc.instalment_status
    assert status(amount=Decimal(100), paid=Decimal(100), due=due, today=date(2026, 6, 1)) == calc.PAID
    assert status(amount=Decimal(100), paid=Decimal(40), due=due, today=date(2026, 4, 1)) == calc.PARTIAL
    assert status(amount=Decimal(100), paid=Decimal(0), due=due, today=date(2026, 5, 1)) == calc.UNPAID
    assert status(amount=Decimal(100), paid=Decimal(0), due=due, today=date(2026, 5, 2)) == calc.OVERDUE


def test_cooling_off_counts_from_the_receipt_and_includes_its_last_day():
    receipt = date(2026, 3, 1)
    assert calc.cooling_off_end(receipt, 15) == date(2026, 3, 16)
    assert calc.within_cooling_off(receipt, 15, date(2026, 3, 16))
    assert not calc.within_cooling_off(receipt, 15, date(2026, 3, 17))
    assert not calc.within_cooling_off(receipt, 0, receipt)
    assert not calc.within_cooling_off(receipt, 15, date(2026, 2, 28))


@given(paid=premiums, fee=st.decimals(min_value=0, max_value=20, places=2))
def test_a_cooling_off_refund_is_the_premium_paid_less_the_fee_never_negative(paid, fee):
    refund = calc.cooling_off_refund(paid, fee)
    assert refund == max(Decimal("0"), paid - fee)
    assert calc.cooling_off_refund(paid) == paid


def test_a_group_application_is_dated_the_day_before_the_effective_date():
    assert calc.group_application_date(date(2026, 1, 1)) == date(2025, 12, 31)


def test_reinstatement_window_is_two_years():
    assert calc.reinstatement_deadline(date(2026, 2, 28)) == date(2028, 2, 28)
