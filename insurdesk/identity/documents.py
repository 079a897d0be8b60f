"""Identity documents (证件): number rules per document type and what a number tells about its holder."""

import datetime
import re
from dataclasses import dataclass, field

from insurdesk.identity.errors import IdentityError
from insurdesk.identity.normalize import clean_code
from insurdesk.identity.resident_id import gender_of, parse_resident_id, validate_18

RESIDENT_ID = "resident_id"
HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
PASSPORT = "passport"
HK_MACAO_PERMIT = "hk_macao_permit"
TAIWAN_PERMIT = "taiwan_permit"
FOREIGN_PERMANENT_ID = "foreign_permanent_id"
MILITARY_ID = "military_id"
OTHER = "other"

ID_TYPES = (
    RESIDENT_ID,
    HMT_RESIDENCE_PERMIT,
    PASSPORT,
    HK_MACAO_PERMIT,
    TAIWAN_PERMIT,
    FOREIGN_PERMANENT_ID,
    MILITARY_ID,
    OTHER,
)
ID_TYPE_LABELS = {
    RESIDENT_ID: "居民身份证",
    HMT_RESIDENCE_PERMIT: "港澳台居民居住证",
    PASSPORT: "护照",
    HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    TAIWAN_PERMIT: "台湾居民来往大陆通行证",
    FOREIGN_PERMANENT_ID: "外国人永久居留身份证",
    MILITARY_ID: "军官证",
    OTHER: "其他",
}
GENDER_LABELS = {"M": "男", "F": "女"}

_HMT_PREFIXES = ("810000", "820000", "830000")
_FOREIGN_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")
_HK_MACAO = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
_TAIWAN = re.compile(r"[0-9]{8}(?:[0-9]{2})?")
_FREE = re.compile(r"[0-9A-Z]{5,20}")


@dataclass
class DocumentCheck:
    number: str
    birth_date: datetime.date | None = None
    gender: str | None = None
    warnings: list[str] = field(default_factory=list)


def _number_of(id_type: str, value: str) -> str:
    """Return the cleaned number, refusing an empty one."""
    label = ID_TYPE_LABELS[id_type]
    if value is not None and not isinstance(value, str):
        raise IdentityError("format", f"{label}号码应以文本形式填写")
    number = clean_code(value) if value else ""
    if not number:
        raise IdentityError("required", f"请填写{label}号码")
    return number


def check_document(id_type: str, value: str) -> DocumentCheck:
    """Check a document number against its type's rule; return it cleaned with what it reveals."""
    if id_type not in ID_TYPE_LABELS:
        raise IdentityError("format", f"未知的证件类型：{id_type}")
    label = ID_TYPE_LABELS[id_type]
    if id_type == RESIDENT_ID:
        rid = parse_resident_id(value)
        warnings = []
        if not rid.region_known:
            warnings.append(f"地址码未知：{rid.region_code}不在行政区划代码表中，请核对号码（不影响提交）")
        if rid.number.startswith(_HMT_PREFIXES):
            warnings.append(f"号码以{rid.region_code}开头，应为港澳台居民居住证，请核对证件类型")
        elif rid.number.startswith("9"):
            warnings.append("号码以9开头，应为外国人永久居留身份证，请核对证件类型")
        return DocumentCheck(rid.number, rid.birth_date, rid.gender, warnings)

    number = _number_of(id_type, value)
    if id_type == HMT_RESIDENCE_PERMIT:
        if len(number) != 18 or not number.startswith(_HMT_PREFIXES):
            raise IdentityError("format", f"{label}号码应为18位，以810000、820000或830000开头")
        birth_date = validate_18(number, label=f"{label}号码")
        return DocumentCheck(number, birth_date, gender_of(number))

    if id_type == FOREIGN_PERMANENT_ID:
        if len(number) == 18:
            # 2023 card (issued from 2023-12-01): same layout and check as the citizen card.
            if number[0] != "9":
                raise IdentityError("format", f"{label}号码（2023版）应为18位且以9开头")
            birth_date = validate_18(number, label=f"{label}号码")
            return DocumentCheck(number, birth_date, gender_of(number))
        if _FOREIGN_2017.fullmatch(number):
            # 2017 card: 3 letters + 12 digits; no published check to verify.
            return DocumentCheck(number)
        raise IdentityError("format", f"{label}号码应为18位（2023版，以9开头）或3位字母加12位数字（2017版）")

    if id_type == HK_MACAO_PERMIT:
        if not _HK_MACAO.fullmatch(number):
            raise IdentityError("format", f"{label}号码应为H或M加8位数字（可再加2位换证次数）")
        return DocumentCheck(number)

    if id_type == TAIWAN_PERMIT:
        if not _TAIWAN.fullmatch(number):
            raise IdentityError("format", f"{label}号码应为8位数字（可再加2位换证次数）")
        return DocumentCheck(number)

    if not _FREE.fullmatch(number):
        raise IdentityError("format", f"{label}号码应为5–20位数字或大写英文字母")
    if len(number) == 18 and _is_resident_number(number):
        # One person, one archive: a resident ID typed as a passport would open a second archive
        # beside the one under 居民身份证 and shed the birth date and gender the number fixes.
        raise IdentityError(
            "wrong_document_type",
            f"该号码是有效的18位居民身份证号码，证件类型应为居民身份证，不能登记为{label}",
        )
    return DocumentCheck(number)


def _is_resident_number(number: str) -> bool:
    try:
        validate_18(number)
    except IdentityError:
        return False
    return True


def check_derived(
    check: DocumentCheck, *, birth_date: datetime.date | None, gender: str | None
) -> list[IdentityError]:
    """List disagreements between the typed birth date and gender and those the document gives."""
    errors = []
    if isinstance(birth_date, datetime.datetime):
        birth_date = birth_date.date()
    if check.birth_date is not None and birth_date is not None and birth_date != check.birth_date:
        errors.append(
            IdentityError(
                "mismatch",
                f"出生日期与证件号码不符：证件号码中的出生日期为{check.birth_date.isoformat()}",
                field="birth_date",
            )
        )
    if check.gender is not None and gender is not None and gender != check.gender:
        errors.append(
            IdentityError(
                "mismatch",
                f"性别与证件号码不符：证件号码显示为{GENDER_LABELS.get(check.gender, check.gender)}",
                field="gender",
            )
        )
    return errors
