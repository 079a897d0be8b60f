# ruff: noqa: E501 - tables of Chinese test data read best one row per line
import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.exchange import normalize as N
from insurdesk.identity.testing import resident_ids


def refused(fn, *args, **kwargs) -> str:
    with pytest.raises(N.Refused) as exc:
        fn(*args, **kwargs)
    return exc.value.code


@pytest.mark.parametrize("typed", [
    "2023-01-01", "2023/1/1", "2023/01/01", "2023.1.1", "2023年1月1日", "2023年1月1号", "20230101", " 2023-1-1 ",
    "２０２３年１月１日", "2023-01-01 00:00:00", "2023/1/1 8:30", 44927, 44927.0, "44927",
    datetime.date(2023, 1, 1), datetime.datetime(2023, 1, 1, 9, 30),
])  # fmt: skip
def test_dates_people_type_all_mean_the_same_day(typed):
    assert N.date(typed) == datetime.date(2023, 1, 1)


@pytest.mark.parametrize(
    "typed", ["23/1/1", "1/1/2023", "2023/13/1", "2023-02-30", "明天", "2023年", 60, 0, -3]
)
def test_ambiguous_or_impossible_dates_are_refused(typed):
    assert refused(N.date, typed) == "date"


def test_excel_serials_around_the_phantom_leap_day():
    assert N.excel_serial(1) == datetime.date(1900, 1, 1)
    assert N.excel_serial(59) == datetime.date(1900, 2, 28)
    assert N.excel_serial(61) == datetime.date(1900, 3, 1)
    assert N.excel_serial(45291.75) == datetime.date(2023, 12, 31)


@given(st.dates(datetime.date(1900, 3, 1), datetime.date(2099, 12, 31)))
def test_any_day_survives_every_written_form(day):
    serial = (day - datetime.date(1899, 12, 30)).days
    for typed in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        serial,
        float(serial),
    ):
        assert N.date(typed) == day


@pytest.mark.parametrize("typed,yuan", [
    ("1,000,000", "1000000.00"), ("1000元", "1000.00"), ("100万", "1000000.00"), ("1.5万", "15000.00"),
    ("￥1,234.50", "1234.50"), ("¥ 88", "88.00"), ("１０万元", "100000.00"), (50000.0, "50000.00"), (12, "12.00"),
    ("RMB 300", "300.00"), ("人民币5,000元", "5000.00"),
])  # fmt: skip
def test_amounts_with_commas_yuan_and_wan(typed, yuan):
    assert N.amount(typed) == Decimal(yuan)


def test_a_header_in_wan_scales_plain_numbers_but_not_wan_written_in_the_cell():
    assert N.amount("50", scale=10000) == Decimal("500000.00")
    assert N.amount("50万", scale=10000) == Decimal("500000.00")


@pytest.mark.parametrize(
    "typed,code",
    [
        ("一百万", "amount"),
        ("-5000", "negative"),
        ("1,000美元", "amount"),
        (True, "amount"),
        ("12.3.4", "amount"),
    ],
)
def test_unreadable_amounts_are_refused(typed, code):
    assert refused(N.amount, typed) == code


@given(st.decimals(min_value=0, max_value=10**11, places=2, allow_nan=False))
def test_amount_written_with_thousands_separators_reads_back(value):
    assert N.amount(f"{value:,.2f}") == value
    assert N.amount(f"{value:,.2f}元") == value


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "138-0013-8000",
        "１３８００１３８０００",
        13800138000.0,
        " 138 0013 8000 ",
    ],
)
def test_mobiles_with_country_code_dashes_and_spaces(typed):
    assert N.mobile(typed) == "13800138000"


def test_a_contact_cell_splits_into_mobile_landline_and_email():
    assert N.contact("13800138000 / 010-62345678") == {"mobile": "13800138000", "landline": "010-62345678"}
    assert N.contact("zhao@example.com、+86 139 1234 5678") == {
        "email": "zhao@example.com",
        "mobile": "13912345678",
    }
    assert N.contact("021 6234 5678") == {"landline": "021-62345678"}
    assert refused(N.contact, "13800138000/13900139000") == "ambiguous"
    assert refused(N.contact, "请打电话") == "format"
    assert refused(N.contact, "138****8000") == "masked"


@pytest.mark.parametrize(
    "typed,mode",
    [
        ("年缴", "annual"),
        ("年交", "annual"),
        ("按年缴费", "annual"),
        ("每年", "annual"),
        ("趸缴", "single"),
        ("一次性缴清", "single"),
        ("趸交", "single"),
        ("月缴", "monthly"),
        ("季交", "quarterly"),
        ("半年缴", "semiannual"),
        (" 年 交 ", "annual"),
    ],
)
def test_payment_frequencies_as_offices_write_them(typed, mode):
    assert N.pay_mode(typed) == mode


def test_an_unknown_payment_frequency_lists_the_accepted_ones():
    with pytest.raises(N.Refused) as exc:
        N.pay_mode("随便缴")
    assert exc.value.code == "choice" and "年缴" in exc.value.message


@pytest.mark.parametrize(
    "cell",
    [
        1.10105198001011e17,
        110105198001011234,
        "1.10105E+17",
        "1.10105198001011E17",
        "110105198001011234.0",
        "1.101052E+017",
    ],
)
def test_identity_numbers_that_excel_made_numbers_are_refused_as_damaged(cell):
    assert refused(N.identity_number, cell) == "id_damaged"


def test_masked_identity_numbers_are_refused():
    assert refused(N.identity_number, "110105********1234") == "masked"


@given(resident_ids())
def test_genuine_identity_numbers_pass_as_text_and_are_damaged_as_numbers(drawn):
    number, _, _ = drawn
    assert N.identity_number(number) == number
    assert N.identity_number(" " + number.lower() + " ") == number.lower()
    assert refused(N.identity_number, float(number[:17])) == "id_damaged"


@given(resident_ids())
def test_a_number_cut_to_fifteen_digits_is_damaged_unless_its_check_digit_holds(drawn):
    number, _, _ = drawn
    digits = number[:15] + "000"  # Excel keeps 15 significant digits
    cut = f"{number[0]}.{number[1:6]}E+17"  # and shows them so in General format
    assert N.looks_truncated(digits)
    from insurdesk.identity.resident_id import check_char

    assert N.is_damaged_identity(digits) == (check_char(digits[:17]) != "0")
    assert N.is_damaged_identity(cut)


def test_text_tidies_spaces_and_invisible_characters():
    assert N.text("  张三\u200b ") == "张三"
    assert N.text("北京市\u3000朝阳区   建国路") == "北京市 朝阳区 建国路"
    assert N.name("张 三") == "张三" and N.name("ＪＯＨＮ  Smith") == "JOHN Smith"
    assert N.is_blank("\u3000 \u200b") and N.text(None) is None


@pytest.mark.parametrize(
    "typed,value",
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("有", True),
        ("无", False),
        (1, True),
        (0.0, False),
        ("√", True),
    ],
)
def test_yes_and_no(typed, value):
    assert N.boolean(typed) is value


def test_gender_in_chinese_and_letters():
    assert [N.gender(g) for g in ("男", "女", "M", "f", "男性")] == ["M", "F", "M", "F", "M"]
    assert refused(N.gender, "未知") == "choice"


class _Str(str):
    """Text that is not exactly str: it takes the general path, not the pre-pass's shortcut."""


_id_like = st.one_of(
    st.from_regex(r"[0-9]{17}[0-9Xx]", fullmatch=True),
    st.from_regex(r"[0-9]{15}000", fullmatch=True),
    st.from_regex(r"[0-9]{13}[eE][0-9]{4}", fullmatch=True),
    st.text(alphabet="0123456789Xx eE.+-*　１２", min_size=15, max_size=20),
)


@given(_id_like)
def test_the_shortcuts_for_well_formed_cells_answer_as_the_general_path(value):
    from insurdesk.exchange.rows import cheap_key

    assert N.is_damaged_identity(value) == N.is_damaged_identity(_Str(value))
    assert cheap_key(value) == cheap_key(_Str(value))
