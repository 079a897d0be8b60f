import datetime

import pytest
from hypothesis import given, settings

from insurdesk.identity.documents import (
    ID_TYPE_LABELS,
    ID_TYPES,
    DocumentCheck,
    check_derived,
    check_document,
)
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.resident_id import check_char
from insurdesk.identity.testing import resident_ids


def with_check(first17: str) -> str:
    return first17 + check_char(first17)


def refusal(id_type, value) -> str:
    with pytest.raises(IdentityError) as exc:
        check_document(id_type, value)
    return exc.value.code


def test_every_type_has_a_chinese_label():
    assert set(ID_TYPES) == set(ID_TYPE_LABELS)
    assert ID_TYPE_LABELS["resident_id"] == "居民身份证"
    assert ID_TYPE_LABELS["hmt_residence_permit"] == "港澳台居民居住证"


def test_resident_id_gives_birth_date_and_gender():
    assert check_document("resident_id", "11010519491231002x") == DocumentCheck(
        number="11010519491231002X", birth_date=datetime.date(1949, 12, 31), gender="F", warnings=[]
    )


def test_resident_id_with_unknown_address_code_only_warns():
    check = check_document("resident_id", with_check("99999919800101001"))
    assert check.birth_date == datetime.date(1980, 1, 1)
    assert check.warnings
    assert check.warnings[0].startswith("地址码未知")


def test_resident_id_refusals_keep_their_codes():
    assert refusal("resident_id", "") == "required"
    assert refusal("resident_id", "110105199003071238") == "checksum"
    assert refusal("resident_id", with_check("11010520230230001")) == "birth_date"


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_hmt_residence_permit(prefix):
    number = with_check(prefix + "19850615002")
    check = check_document("hmt_residence_permit", number)
    assert (check.number, check.birth_date, check.gender) == (number, datetime.date(1985, 6, 15), "F")


def test_hmt_residence_permit_refusals():
    assert refusal("hmt_residence_permit", "110105199003071239") == "format"
    number = with_check("81000019850615002")
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert refusal("hmt_residence_permit", wrong) == "checksum"


def test_foreign_permanent_id_2023():
    number = with_check("93115619900307123")
    check = check_document("foreign_permanent_id", number)
    assert (check.birth_date, check.gender) == (datetime.date(1990, 3, 7), "M")
    assert refusal("foreign_permanent_id", with_check("13115619900307123")) == "format"
    assert refusal("foreign_permanent_id", number[:-1] + ("0" if number[-1] != "0" else "1")) == "checksum"


def test_foreign_permanent_id_2017():
    check = check_document("foreign_permanent_id", "usa 310090 010112")
    assert (check.number, check.birth_date, check.gender) == ("USA310090010112", None, None)
    assert refusal("foreign_permanent_id", "US1310090010112") == "format"


@pytest.mark.parametrize("value", ["H12345678", "m1234567801", "Ｈ１２３４５６７８"])
def test_hk_macao_permit(value):
    assert check_document("hk_macao_permit", value).number.startswith(("H", "M"))


@pytest.mark.parametrize("value", ["A12345678", "H1234567", "H123456789", "12345678"])
def test_hk_macao_permit_refusals(value):
    assert refusal("hk_macao_permit", value) == "format"


@pytest.mark.parametrize("value", ["12345678", "1234567801"])
def test_taiwan_permit(value):
    assert check_document("taiwan_permit", value).number == value


@pytest.mark.parametrize("value", ["1234567", "123456789", "T1234567"])
def test_taiwan_permit_refusals(value):
    assert refusal("taiwan_permit", value) == "format"


@pytest.mark.parametrize("id_type", ["passport", "military_id", "other"])
def test_free_form_numbers(id_type):
    assert check_document(id_type, "e 1234 5678").number == "E12345678"
    assert refusal(id_type, "E123") == "format"
    assert refusal(id_type, "E" * 21) == "format"
    assert refusal(id_type, "E1234_5678") == "format"
    assert refusal(id_type, "") == "required"


def test_unknown_type_is_format():
    assert refusal("driving_licence", "123456789") == "format"


def test_check_derived_agreeing_values_give_no_error():
    check = check_document("resident_id", "110105199003071239")
    assert check_derived(check, birth_date=datetime.date(1990, 3, 7), gender="M") == []


def test_check_derived_reports_each_disagreeing_field():
    check = check_document("resident_id", "110105199003071239")
    errors = check_derived(check, birth_date=datetime.date(1990, 7, 3), gender="F")
    assert [(e.code, e.field) for e in errors] == [("mismatch", "birth_date"), ("mismatch", "gender")]
    assert "出生日期" in errors[0].message and "1990-03-07" in errors[0].message
    assert "性别" in errors[1].message and "男" in errors[1].message


def test_check_derived_ignores_what_was_not_typed_or_not_derived():
    check = check_document("resident_id", "110105199003071239")
    assert check_derived(check, birth_date=None, gender=None) == []
    passport = check_document("passport", "E12345678")
    assert check_derived(passport, birth_date=datetime.date(1990, 1, 1), gender="F") == []


@pytest.mark.parametrize("id_type", ["passport", "military_id", "other"])
@settings(max_examples=60, deadline=None)
@given(person=resident_ids())
def test_a_valid_resident_id_is_refused_under_any_other_document_type(id_type, person):
    """Issue 15 point 5: an 18-digit resident ID typed as a passport opened a second archive."""
    assert refusal(id_type, person[0]) == "wrong_document_type"


@pytest.mark.parametrize("id_type", ["passport", "military_id", "other"])
def test_eighteen_characters_that_are_no_resident_id_stay_a_free_form_number(id_type):
    number = with_check("11010519800101123")
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    assert check_document(id_type, wrong_check).number == wrong_check
