import pytest

from insurdesk.identity.errors import IdentityError
from insurdesk.identity.phones import (
    is_known_mobile_range,
    normalize_landline,
    normalize_mobile,
    normalize_postal_code,
)


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086-138-1234-5678",
        "8613812345678",
        "(+86) 138-1234-5678",
        "138 1234 5678",
        "１３８１２３４５６７８",
        "＋８６　１３８－１２３４－５６７８",
    ],
)
def test_mobile_is_normalised(value):
    assert normalize_mobile(value) == "13812345678"


@pytest.mark.parametrize(
    "value", ["12812345678", "1381234567", "138123456789", "+85213812345678", "1381234567a", "86138123456"]
)
def test_bad_mobile_is_format(value):
    with pytest.raises(IdentityError) as exc:
        normalize_mobile(value)
    assert exc.value.code == "format"


def test_empty_mobile_is_required():
    with pytest.raises(IdentityError) as exc:
        normalize_mobile(" ")
    assert exc.value.code == "required"


def test_mobile_outside_phonenumbers_ranges_is_still_accepted():
    # 140 is not in phonenumbers 9.0's CN mobile pattern; the regex is the rule.
    assert not is_known_mobile_range("14012345678")
    assert normalize_mobile("14012345678") == "14012345678"
    assert is_known_mobile_range("19212345678")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("(010) 1234 5678", "010-12345678"),
        ("+86 10 1234 5678", "010-12345678"),
        ("021 6123 4567", "021-61234567"),
        ("021-6123456", "021-6123456"),
        ("0755-1234567-123", "0755-1234567-123"),
        ("0755-12345678转8001", "0755-12345678-8001"),
        ("0755 12345678 ext. 12", "0755-12345678-12"),
        ("（０７５５）１２３４５６７", "0755-1234567"),
        ("400-820-8820", "400-820-8820"),
        ("8008208820", "800-820-8820"),
    ],
)
def test_landline_is_normalised(value, expected):
    assert normalize_landline(value) == expected


@pytest.mark.parametrize(
    "value", ["12345678", "13812345678", "010-123456", "0755-123456789", "0010-12345678", "010-1234567a"]
)
def test_bad_landline_is_format(value):
    with pytest.raises(IdentityError) as exc:
        normalize_landline(value)
    assert exc.value.code == "format"


@pytest.mark.parametrize(
    ("value", "expected"), [("100020", "100020"), (" 518 000 ", "518000"), ("５１８０００", "518000")]
)
def test_postal_code_is_normalised(value, expected):
    assert normalize_postal_code(value) == expected


@pytest.mark.parametrize("value", ["10002", "1000200", "10002a"])
def test_bad_postal_code_is_format(value):
    with pytest.raises(IdentityError) as exc:
        normalize_postal_code(value)
    assert exc.value.code == "format"
