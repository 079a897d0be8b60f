import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from insurdesk.products.calculations import (
    add_months,
    coverage_end,
    instalment_count,
    instalment_due_dates,
    is_coverage_term,
    is_payment_term,
    over_one_year,
    parse_term,
    payment_years,
    term_label,
    term_years,
)


def test_term_codes_parse_and_read_in_chinese():
    assert parse_term("20y").kind == "y" and parse_term("20y").n == 20
    assert [term_label(c) for c in ("30d", "6m", "1y", "to70", "life", "single")] == [
        "30天",
        "6个月",
        "1年",
        "至70周岁",
        "终身",
        "趸交",
    ]
    assert parse_term("0y") is None and parse_term("20") is None and parse_term("to") is None
    assert is_coverage_term("life") and not is_coverage_term("single")
    assert is_payment_term("single") and is_payment_term("to60") and not is_payment_term("6m")


def test_coverage_end_is_the_day_before_the_anniversary():
    start = datetime.date(2026, 3, 1)
    assert coverage_end("1y", start=start, birth_date=None) == datetime.date(2027, 2, 28)
    assert coverage_end("30d", start=start, birth_date=None) == datetime.date(2026, 3, 30)
    assert coverage_end("to70", start=start, birth_date=datetime.date(1980, 5, 6)) == datetime.date(
        2050, 5, 5
    )
    assert coverage_end("life", start=start, birth_date=None) is None


def test_over_one_year():
    assert not over_one_year("1y", age=30) and not over_one_year("6m", age=30)
    assert over_one_year("2y", age=30) and over_one_year("life", age=30) and over_one_year("to70", age=30)
    assert not over_one_year("to70", age=69)


def test_instalments_follow_mode_and_term():
    assert instalment_count("single", "single", age=30) == 1
    assert instalment_count("annual", "20y", age=30) == 20
    assert instalment_count("monthly", "10y", age=30) == 120
    assert instalment_count("quarterly", "to60", age=50) == 40
    assert payment_years("to60", age=None) is None
    dates = instalment_due_dates("semiannual", "1y", start=datetime.date(2026, 8, 31), age=30)
    assert dates == [datetime.date(2026, 8, 31), datetime.date(2027, 2, 28)]
    assert term_years("6m", age=None) == Decimal("0.5")


@given(
    st.dates(min_value=datetime.date(1950, 1, 1), max_value=datetime.date(2090, 12, 31)),
    st.integers(min_value=0, max_value=600),
)
def test_add_months_keeps_the_day_or_takes_the_month_end(d, months):
    out = add_months(d, months)
    assert (out.year - d.year) * 12 + out.month - d.month == months
    assert out.day == d.day or (out.day < d.day and (out + datetime.timedelta(days=1)).day == 1)
