"""Normalise and check archive input before any write: identity documents, phones, codes, dates.

Every problem found is collected, so a form or API answer names all bad fields at once.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from insurdesk.common.errors import FieldError, ValidationFailed
from insurdesk.common.text import check_text
from insurdesk.identity.documents import check_derived, check_document
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.phones import normalize_landline, normalize_mobile, normalize_postal_code
from insurdesk.identity.uscc import parse_uscc

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
INDIVIDUAL_ID_TYPES = (
    "resident_id",
    "hmt_residence_permit",
    "passport",
    "hk_macao_permit",
    "taiwan_permit",
    "foreign_permanent_id",
    "military_id",
    "other",
)


_SPACES = re.compile(r"\s+")

def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class Checker:
    """Collect field errors and warnings while cleaning one record."""

    def __init__(self):
        self.errors: list[FieldError] = []
        self.warnings: list[str] = []

    def fail(self, field: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field, code, message))

    def identity(self, field: str, exc: IdentityError, label: str) -> None:
        self.fail(field, exc.code, f"{label}：{exc.message}")

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _clean_document(
    chk: Checker,
    data: dict,
    *,
    type_key: str,
    number_key: str,
    label: str,
    field_name: str | None = None,
    type_field: str | None = None,
) -> object | None:
    """Check a person's document; refusals name field_name / type_field (default: the data's keys)."""
    if number_key not in data:
        return None  # not sent (a partial change): the stored number stays as it is
    id_type, number = data.get(type_key), data.get(number_key)
    if _blank(number):
        data[number_key] = None
        return None
    if id_type not in INDIVIDUAL_ID_TYPES:
        chk.fail(type_field or type_key, "choice", f"{label}证件类型无效")
        return None
    try:
        doc = check_document(id_type, number)
    except IdentityError as exc:
        chk.identity(field_name or number_key, exc, label + "证件号码")
        return None
    data[number_key] = doc.number
    chk.warnings.extend(doc.warnings)
    return doc


# Text fields where a line break belongs; everywhere else a line break is refused with the rest.
_MULTILINE = frozenset({"notes", "business_scope", "health_notes", "residence_address", "mailing_address",
                        "registered_address", "operating_address", "address", "control_description"})
# Request field names where they differ from the archive's (insurdesk/customers/api.py).
_FIELD_NAMES = {"legal_rep_name": "legal_representative.name", "id_number": "id_number"}


def _label(key: str) -> str:
    from django.core.exceptions import FieldDoesNotExist

    from insurdesk.customers.models import BeneficialOwner, Customer

    for model in (Customer, BeneficialOwner):
        try:
            return str(model._meta.get_field(key).verbose_name)
        except FieldDoesNotExist:
            pass
    return key


def _check_texts(chk: Checker, data: dict, prefix: str = "") -> None:
    """Refuse names, addresses and free text holding bidi controls or invisible characters (every way in)."""
    for key, value in data.items():
        if not isinstance(value, str) or not value:
            continue
        field = f"{prefix}.{key}" if prefix else _FIELD_NAMES.get(key, key)
        try:
            check_text(value, field=field, label=_label(key), multiline=key in _MULTILINE)
        except ValidationFailed as exc:
            chk.errors.extend(exc.errors)


def _clean_common(chk: Checker, data: dict, today: date) -> None:
    _check_texts(chk, data)
    for key in ("mobile", "contact_mobile"):
        if key in data:
            if _blank(data[key]):
                data[key] = None
            else:
                try:
                    data[key] = normalize_mobile(str(data[key]))
                except IdentityError as exc:
                    chk.identity(key, exc, "手机号码")
    if "landline" in data:
        if _blank(data["landline"]):
            data["landline"] = None
        else:
            try:
                data["landline"] = normalize_landline(str(data["landline"]))
            except IdentityError as exc:
                chk.identity("landline", exc, "固定电话")
    if "postal_code" in data:
        if _blank(data["postal_code"]):
            data["postal_code"] = ""
        else:
            try:
                data["postal_code"] = normalize_postal_code(str(data["postal_code"]))
            except IdentityError as exc:
                chk.identity("postal_code", exc, "邮政编码")
    if "email" in data:
        if _blank(data["email"]):
            data["email"] = None
        elif not EMAIL_RE.match(data["email"].strip()):
            chk.fail("email", "format", "电子邮箱格式不正确")
        else:
            data["email"] = data["email"].strip().lower()
    vf, vt = data.get("id_valid_from"), data.get("id_valid_to")
    if vf and vt and vt < vf:
        chk.fail("id_valid_to", "date_order", "证件有效期止不能早于有效期起")
    if vf and vf > today:
        chk.fail("id_valid_from", "future", "证件有效期起不能晚于今天")
    for key in ("annual_income", "registered_capital", "income_per_head"):
        value = data.get(key)
        if value not in (None, ""):
            try:
                if Decimal(str(value)) < 0:
                    chk.fail(key, "negative", "金额不能为负数")
            except InvalidOperation:
                chk.fail(key, "format", "金额格式不正确")
    tr = data.get("turnover_rate")
    if tr not in (None, "") and not (0 <= Decimal(str(tr)) <= 100):
        chk.fail("turnover_rate", "range", "人员流动率应在 0–100 之间")
    hc, ihc = data.get("headcount"), data.get("insured_headcount")
    if hc is not None and ihc is not None and ihc > hc:
        chk.fail("insured_headcount", "range", "参加社保人数不能多于员工总数")
    for key in ("name", "occupation", "employer", "legal_rep_name", "contact_name"):
        if key in data and isinstance(data[key], str):
            data[key] = _SPACES.sub(" ", data[key]).strip()


def clean_individual(data: dict, *, creating: bool, today: date | None = None) -> tuple[dict, list[str]]:
    """Return the cleaned fields of an individual and the warnings, or raise with every error."""
    today = today or timezone.localdate()
    data = {k: _strip(v) for k, v in data.items()}
    chk = Checker()
    if (creating or "name" in data) and _blank(data.get("name")):
        chk.fail("name", "required", "姓名不能为空")
    if creating:
        data.setdefault("id_type", "resident_id")
        if _blank(data.get("id_number")):
            chk.fail("id_number", "required", "证件号码不能为空")
    if "id_type" in data and data["id_type"] not in INDIVIDUAL_ID_TYPES:
        chk.fail("id_type", "choice", "证件类型无效")
    elif "id_number" in data and not _blank(data.get("id_number")):
        doc = _clean_document(chk, data, type_key="id_type", number_key="id_number", label="")
        if doc is not None:
            typed_birth, typed_gender = data.get("birth_date"), data.get("gender") or None
            for err in check_derived(doc, birth_date=typed_birth, gender=typed_gender):
                chk.fail(err.field, err.code, err.message)
            if doc.birth_date and not typed_birth:
                data["birth_date"] = doc.birth_date
            if doc.gender and not typed_gender:
                data["gender"] = doc.gender
    if data.get("birth_date") and data["birth_date"] > today:
        chk.fail("birth_date", "birth_date", "出生日期不能晚于今天")
    if data.get("gender") not in (None, "", "M", "F"):
        chk.fail("gender", "choice", "性别只能是 男(M) 或 女(F)")
    oc = data.get("occupation_class")
    if oc not in (None, "") and not (1 <= int(oc) <= 6):
        chk.fail("occupation_class", "range", "职业类别应为 1–6 类")
    _clean_common(chk, data, today)
    chk.raise_if_any()
    return data, chk.warnings


def clean_corporate(
    data: dict, *, creating: bool, allow_uscc_override: bool = False, today: date | None = None
) -> tuple[dict, list[str]]:
    """Return the cleaned fields of a company and the warnings, or raise with every error.

    A USCC that fails its check is refused unless the caller may override and gives a reason
    (some codes really issued fail the check, FACTS.md).
    """
    today = today or timezone.localdate()
    data = {k: _strip(v) for k, v in data.items()}
    if "uscc" in data:
        data["id_number"] = data.pop("uscc")
    chk = Checker()
    if (creating or "name" in data) and _blank(data.get("name")):
        chk.fail("name", "required", "单位名称不能为空（须与公章一致）")
    if creating and _blank(data.get("id_number")):
        chk.fail("uscc", "required", "统一社会信用代码不能为空")
    if creating and _blank(data.get("legal_rep_name")):
        chk.fail("legal_representative.name", "required", "法定代表人姓名不能为空")
    data["id_type"] = "uscc"
    if not _blank(data.get("id_number")):
        reason = (data.get("id_override_reason") or "").strip()
        try:
            data["id_number"] = parse_uscc(data["id_number"]).code
        except IdentityError as exc:
            from insurdesk.identity.normalize import clean_code

            if exc.code in ("checksum", "org_checksum") and allow_uscc_override and reason:
                data["id_number"] = clean_code(data["id_number"])
                chk.warnings.append(f"统一社会信用代码校验未通过，已按例外处理：{reason}")
            elif exc.code in ("checksum", "org_checksum") and reason and not allow_uscc_override:
                chk.fail(
                    "uscc", "override_not_allowed", "您的角色无权对校验未通过的统一社会信用代码作例外处理"
                )
            else:
                chk.identity("uscc", exc, "统一社会信用代码")
    _clean_document(
        chk,
        data,
        type_key="legal_rep_id_type",
        number_key="legal_rep_id_number",
        label="法定代表人",
        field_name="legal_representative.id_number",
    )
    _clean_document(chk, data, type_key="contact_id_type", number_key="contact_id_number", label="经办人")
    for key in ("gender", "birth_date", "marital_status", "occupation_class"):
        data.pop(key, None)
    _clean_common(chk, data, today)
    chk.raise_if_any()
    return data, chk.warnings


def clean_beneficial_owner(data: dict, index: int) -> dict:
    data = {k: _strip(v) for k, v in data.items()}
    chk = Checker()
    prefix = f"beneficial_owners[{index}]"
    _check_texts(chk, data, prefix)
    if _blank(data.get("name")):
        chk.fail(f"{prefix}.name", "required", "受益所有人姓名不能为空")
    if data.get("ownership_kind") not in ("equity", "income_vote", "control", "manager"):
        chk.fail(f"{prefix}.ownership_kind", "choice", "受益所有权类型无效")
    pct = data.get("percentage")
    if pct not in (None, "") and not (0 <= Decimal(str(pct)) <= 100):
        chk.fail(f"{prefix}.percentage", "range", "比例应在 0–100 之间")
    if (
        data.get("ownership_kind") in ("equity", "income_vote")
        and pct not in (None, "")
        and Decimal(str(pct)) < 25
    ):
        chk.fail(f"{prefix}.percentage", "threshold", "以持股或收益权认定的受益所有人比例应不低于 25%")
    data.setdefault("id_type", "resident_id")
    doc = _clean_document(
        chk,
        data,
        type_key="id_type",
        number_key="id_number",
        label="受益所有人",
        field_name=f"{prefix}.id_number",
        type_field=f"{prefix}.id_type",
    )
    if doc is not None:
        if doc.birth_date and not data.get("birth_date"):
            data["birth_date"] = doc.birth_date
        if doc.gender and not data.get("gender"):
            data["gender"] = doc.gender
    chk.raise_if_any()
    return data
