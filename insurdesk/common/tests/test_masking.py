import pytest

from insurdesk.common.masking import (
    mask_account,
    mask_address,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
)

ALL = [mask_account, mask_address, mask_email, mask_id_number, mask_name, mask_phone]


@pytest.mark.parametrize("mask", ALL)
@pytest.mark.parametrize("value", [None, ""])
def test_empty_values_pass_through(mask, value):
    assert mask(value) == value


def test_id_number_keeps_first_6_and_last_4():
    assert mask_id_number("110105199003071239") == "110105********1239"
    assert mask_id_number("110105491231002") == "110105*****1002"


def test_short_id_number_keeps_first_2_and_last_2():
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("H1234") == "H1*34"
    assert mask_id_number("1234") == "****"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "+86138****5678"),
        ("010-12345678", "010-****5678"),
        ("0755-1234567-123", "0755-***4567-123"),
        ("02161234567", "021****4567"),
        ("400-820-8820", "***-***-8820"),
    ],
)
def test_phone(value, expected):
    assert mask_phone(value) == expected


def test_account_keeps_last_4():
    assert mask_account("6222 0212 3456 1234") == "**** **** 1234"
    assert mask_account("6222021234561234567") == "**** **** 4567"


def test_email_keeps_first_letter_and_domain():
    assert mask_email("zhangsan@example.com") == "z***@example.com"


def test_address_keeps_first_6_characters():
    assert mask_address("广东省深圳市南山区科技园路1号") == "广东省深圳市****"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳娜", "欧阳*"),
        ("阿依古丽·买买提", "阿***·***"),
    ],
)
def test_name_keeps_the_surname(value, expected):
    assert mask_name(value) == expected
