"""Amounts in figures (12,000.00) and in capitals (人民币壹万贰仟元整)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurdesk.common.countries import country_name
from insurdesk.common.rmb import MAX, amount_in_capitals, figures

DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def _read_integer(text: str) -> int:
    """Read capitals back (a test oracle written independently of the code under test)."""
    total, section, digit = 0, 0, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in DIGIT:
            digit = DIGIT[ch]
        elif ch in SMALL:
            section += digit * SMALL[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10**4
            section = digit = 0
        elif ch == "亿":
            total = (total + section + digit) * 10**8
            section = digit = 0
        i += 1
    return total + section + digit


def read_capitals(text: str) -> Decimal:
    assert text.startswith("人民币")
    body = text[3:]
    yuan, _, rest = body.partition("元") if "元" in body else ("", "", body)
    jiao = DIGIT[rest[rest.index("角") - 1]] if "角" in rest else 0
    fen = DIGIT[rest[rest.index("分") - 1]] if "分" in rest else 0
    return Decimal(_read_integer(yuan)) + Decimal(jiao) / 10 + Decimal(fen) / 100


@pytest.mark.parametrize(
    ("amount", "capitals"),
    [
        ("12000", "人民币壹万贰仟元整"),
        ("500000", "人民币伍拾万元整"),
        ("100010", "人民币壹拾万零壹拾元整"),
        ("1001", "人民币壹仟零壹元整"),
        ("1.05", "人民币壹元零伍分"),
        ("0.50", "人民币伍角整"),
        ("60036.25", "人民币陆万零叁拾陆元贰角伍分"),
        ("100000000", "人民币壹亿元整"),
        ("0", "人民币零元整"),
    ],
)
def test_known_amounts_read_as_a_bank_writes_them(amount, capitals):
    assert amount_in_capitals(Decimal(amount)) == capitals


@given(st.decimals(min_value=0, max_value=MAX, places=2, allow_nan=False, allow_infinity=False))
def test_capitals_read_back_to_the_same_amount(amount):
    text = amount_in_capitals(amount)
    assert read_capitals(text) == amount
    assert "零零" not in text and not text.endswith("零") and ("整" in text) == (amount * 100 % 10 == 0)


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_figures_have_separators_and_two_decimals(amount):
    text = figures(amount)
    assert Decimal(text.replace(",", "")) == amount
    whole = text.lstrip("-").split(".")[0]
    assert all(len(g) == 3 for g in whole.split(",")[1:]) and 1 <= len(whole.split(",")[0]) <= 3
    assert len(text.split(".")[1]) == 2


def test_countries_show_by_chinese_name():
    assert country_name("CHN") == "中国" and country_name("hkg") == "中国香港"
    assert country_name("XYZ") == "XYZ" and country_name("") == ""
