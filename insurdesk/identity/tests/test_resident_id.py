import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insurdesk.identity.errors import IdentityError
from insurdesk.identity.resident_id import (
    ResidentId,
    check_char,
    is_valid_resident_id,
    parse_resident_id,
    upgrade_15,
)
from insurdesk.identity.testing import make_resident_id, resident_ids

FACTS_VALID = [
    "11010519491231002X",
    "110105199003071239",
    "440305200002294417",
    "510107201210010022",
    "32010219920214105X",
    "110108198707043011",
]


def with_check(first17: str) -> str:
    return first17 + check_char(first17)


@pytest.mark.parametrize("number", FACTS_VALID)
def test_facts_examples_are_valid(number):
    parsed = parse_resident_id(number)
    assert parsed.number == number
    assert parsed.region_known
    assert not parsed.upgraded_from_15
    assert is_valid_resident_id(number)


def test_parse_derives_birth_date_gender_and_region():
    assert parse_resident_id("110105199003071239") == ResidentId(
        number="110105199003071239",
        birth_date=datetime.date(1990, 3, 7),
        gender="M",
        region_code="110105",
        region_known=True,
        upgraded_from_15=False,
    )
    assert parse_resident_id("510107201210010022").gender == "F"


def test_check_char_matches_the_standards_example():
    assert check_char("11010519491231002") == "X"


def test_legacy_15_digits_are_upgraded():
    assert upgrade_15("110105491231002") == "11010519491231002X"
    parsed = parse_resident_id("110105491231002")
    assert parsed.number == "11010519491231002X"
    assert parsed.upgraded_from_15
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.gender == "F"


def test_leap_day_is_accepted():
    assert parse_resident_id("440305200002294417").birth_date == datetime.date(2000, 2, 29)


def test_lowercase_x_is_accepted():
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


def test_full_width_and_spaced_input_is_accepted():
    assert parse_resident_id("１１０１０５　１９４９１２３１　００２ｘ").number == "11010519491231002X"
    assert parse_resident_id(" 110105-19900307-1239\u00a0").number == "110105199003071239"


@pytest.mark.parametrize("value", ["", "   ", "\u3000", None])
def test_empty_is_required(value):
    with pytest.raises(IdentityError) as exc:
        parse_resident_id(value)
    assert exc.value.code == "required"


@pytest.mark.parametrize(
    "value",
    [
        "1101051990030712",
        "1101051990030712399",
        "11010519900307123A",
        "1101O5199003071239",
        "11010519900307123Y",
    ],
)
def test_bad_length_or_characters_is_format(value):
    with pytest.raises(IdentityError) as exc:
        parse_resident_id(value)
    assert exc.value.code == "format"


def test_a_number_typed_as_integer_is_format():
    with pytest.raises(IdentityError) as exc:
        parse_resident_id(110105199003071239)
    assert exc.value.code == "format"


def test_wrong_check_char_is_checksum():
    with pytest.raises(IdentityError) as exc:
        parse_resident_id("110105199003071238")
    assert exc.value.code == "checksum"
    assert "校验码" in exc.value.message


@pytest.mark.parametrize(
    "first17",
    ["11010518991231123", "11010520230230123", "11010519901301123", "11010519900000123"],
)
def test_impossible_or_too_early_dates_are_birth_date(first17):
    with pytest.raises(IdentityError) as exc:
        parse_resident_id(with_check(first17))
    assert exc.value.code == "birth_date"


def test_1900_01_01_is_the_earliest_date():
    assert parse_resident_id(with_check("11010519000101123")).birth_date == datetime.date(1900, 1, 1)


def test_future_date_is_birth_date():
    today = datetime.date(2026, 11, 21)
    tomorrow = with_check("11010520261122123")
    with pytest.raises(IdentityError) as exc:
        parse_resident_id(tomorrow, today=today)
    assert exc.value.code == "birth_date"
    assert parse_resident_id(with_check("11010520261121123"), today=today).birth_date == today


def test_far_future_date_is_birth_date_with_the_real_today():
    with pytest.raises(IdentityError) as exc:
        parse_resident_id(with_check("11010520990101123"))
    assert exc.value.code == "birth_date"


@pytest.mark.parametrize("region", ["340524", "999999", "000000", "123456"])
def test_unknown_address_code_is_not_refused(region):
    parsed = parse_resident_id(with_check(region + "19800101001"))
    assert parsed.region_code == region
    assert parsed.region_known is False


def test_abolished_address_code_is_known():
    # 110103 崇文区 was merged into 东城区 in 2010; its people keep their numbers.
    assert parse_resident_id(with_check("11010320120101001")).region_known


@pytest.mark.parametrize("region", ["810000", "820000", "830000"])
def test_hmt_residence_permit_regions_are_known(region):
    assert parse_resident_id(with_check(region + "19800101001")).region_known


def test_make_resident_id_respects_gender_parity():
    with pytest.raises(ValueError):
        make_resident_id(datetime.date(1990, 1, 1), "M", seq=2)
    assert make_resident_id(datetime.date(1990, 1, 1), "F", seq=2) == with_check("11010519900101002")


@settings(max_examples=200, deadline=None)
@given(resident_ids())
def test_every_generated_number_is_valid(generated):
    number, birth_date, gender = generated
    parsed = parse_resident_id(number)
    assert (parsed.number, parsed.birth_date, parsed.gender) == (number, birth_date, gender)


# Each example tries every substitution (18 × 10 or 18 × 30), so fewer examples are needed.
@settings(max_examples=50, deadline=None)
@given(resident_ids())
def test_every_single_character_substitution_fails(generated):
    number = generated[0]
    for position in range(18):
        allowed = "0123456789X" if position == 17 else "0123456789"
        for replacement in allowed.replace(number[position], ""):
            changed = number[:position] + replacement + number[position + 1 :]
            with pytest.raises(IdentityError) as exc:
                parse_resident_id(changed)
            assert exc.value.code in ("checksum", "birth_date"), changed
            assert not is_valid_resident_id(changed)


def test_a_broken_stdnum_table_only_makes_regions_unknown(monkeypatch):
    from stdnum import numdb

    from insurdesk.identity import resident_id

    def broken(name):
        raise KeyError(name)

    monkeypatch.setattr(resident_id, "_stdnum_regions", lambda: None)
    monkeypatch.setattr(numdb, "get", broken)
    resident_id._stdnum_lookup.cache_clear()
    try:
        parsed = parse_resident_id("110105199003071239")
        assert parsed.region_known is False
        assert parse_resident_id(with_check("81000019800101001")).region_known
    finally:
        resident_id._stdnum_lookup.cache_clear()


def test_region_table_agrees_with_stdnum_lookup():
    from insurdesk.identity import resident_id

    for code in ["110105", "110103", "440305", "340524", "999999", "710000", "123456"]:
        assert resident_id._stdnum_regions() is not None
        assert (code in resident_id._stdnum_regions()) == resident_id._stdnum_lookup(code), code


@settings(max_examples=200, deadline=None)
@given(st.text("0123456789", min_size=17, max_size=17))
def test_fast_check_char_equals_the_weighted_sum_of_gb_11643(first17):
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    assert check_char(first17) == "10X98765432"[total % 11]


@pytest.mark.parametrize(
    "first17", ["1101051990030712", "1101051990030712a", "11010519900307_12", "+1101051990030712"]
)
def test_check_char_refuses_anything_but_17_digits(first17):
    with pytest.raises(IdentityError):
        check_char(first17)
