"""REST endpoints of the customer archive (`/api/v1/customers`): list and search, create, read, change.

Field names are the model's, in English snake_case, except where a company's data reads better
grouped: `uscc` (the company's identity number), `legal_representative`, `contact_person` and
`taxpayer`. `_to_service` maps the API names to the model's and `_api_field` maps refusals back.
"""

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import FieldDoesNotExist
from ninja import Field, Query, Router, Schema, Status
from pydantic import create_model, field_validator
from pydantic.fields import FieldInfo

from insurdesk.common import idempotency
from insurdesk.common.errors import DomainError, FieldError, NotAllowed, NotFound, ValidationFailed
from insurdesk.customers.models import (
    BeneficialOwner,
    Channel,
    CompanyNature,
    Customer,
    Education,
    Gender,
    HealthStatus,
    IdType,
    Kind,
    MaritalStatus,
    OtherInsurerPolicy,
    OwnershipKind,
    RiskLevel,
)
from insurdesk.customers.selectors import CustomerFilters, customer_get, customer_list, shown, shown_text
from insurdesk.customers.services import (
    customer_create,
    customer_record_view,
    customer_reveal,
    customer_update,
)
from insurdesk.org.api import ErrorsOut, InSchema, StrictSchema, storable_text
from insurdesk.org.policy import can

router = Router(tags=["customers"])

MAX_ID = 2**63 - 1  # BigAutoField; a larger id would overflow the database driver
MAX_PAGE_SIZE = 200
# Masked with the identity number (docs/security.md): the year alone for roles that see masks.
BIRTH_DATE_OUT = "出生日期 YYYY-MM-DD；看掩码的角色（客服、业务员、经理）只得到出生年份 YYYY"


def _choice(choices, *, exclude: tuple[str, ...] = ()) -> Any:
    return Literal[tuple(v for v in choices.values if v not in exclude)]  # type: ignore[valid-type]


KindT = _choice(Kind)
PersonIdType = _choice(IdType, exclude=("uscc",))
GenderT = _choice(Gender)
MaritalT = _choice(MaritalStatus)
EducationT = _choice(Education)
HealthT = _choice(HealthStatus)
ChannelT = _choice(Channel)
RiskT = _choice(RiskLevel)
NatureT = _choice(CompanyNature)
OwnershipT = _choice(OwnershipKind)

# Encrypted columns have no length of their own; these bound what the API accepts.
_TEXT_LIMITS = {
    "id_number": 30,
    "legal_rep_id_number": 30,
    "contact_id_number": 30,
    "mobile": 30,
    "contact_mobile": 30,
    "landline": 30,
    "phone": 30,
    "email": 254,
    "residence_address": 300,
    "mailing_address": 300,
    "address": 300,
    "health_notes": 2000,
    "tax_account": 40,
    "notes": 5000,
    "business_scope": 5000,
}


def F(name: str, default: Any = None, *, model=Customer, **kw) -> Any:
    """Declare a field after the model column `name`: its label as description, its length and range."""
    f = model._meta.get_field(name)
    kw.setdefault("description", str(f.verbose_name))
    max_length = _TEXT_LIMITS.get(name) or getattr(f, "max_length", None)
    internal = f.get_internal_type()
    if max_length and not f.choices and (internal in ("CharField", "TextField") or name in _TEXT_LIMITS):
        kw.setdefault("max_length", max_length)
    elif internal == "DecimalField":
        kw.setdefault("max_digits", f.max_digits)
        kw.setdefault("decimal_places", f.decimal_places)
        kw.setdefault("ge", 0)
    elif internal in ("PositiveIntegerField", "PositiveSmallIntegerField"):
        kw.setdefault("ge", 0)
        kw.setdefault("le", 32767 if internal == "PositiveSmallIntegerField" else 2_147_483_647)
    return Field(default, **kw)


def Ref(description: str) -> Any:
    return Field(None, ge=1, le=MAX_ID, description=description)


# ---------------------------------------------------------------- input


class LegalRepresentativeIn(InSchema):
    name: str = F("legal_rep_name", ..., min_length=1)
    id_type: PersonIdType = F("legal_rep_id_type", "resident_id")
    id_number: str | None = F("legal_rep_id_number")
    id_valid_to: date | None = F("legal_rep_id_valid_to")


class ContactPersonIn(InSchema):
    name: str | None = F("contact_name")
    id_type: PersonIdType | None = F("contact_id_type", "resident_id")
    id_number: str | None = F("contact_id_number")
    mobile: str | None = F("contact_mobile")


class TaxpayerIn(InSchema):
    is_general: bool = F("is_general_taxpayer", False)
    tax_number: str | None = F("tax_number")
    bank: str | None = F("tax_bank")
    account: str | None = F("tax_account")
    address_phone: str | None = F("tax_address_phone")


def BO(name: str, default: Any = None, **kw) -> Any:
    return F(name, default, model=BeneficialOwner, **kw)


def OP(name: str, default: Any = None, **kw) -> Any:
    return F(name, default, model=OtherInsurerPolicy, **kw)


class BeneficialOwnerIn(InSchema):
    name: str = BO("name", ...)
    gender: GenderT | None = BO("gender")
    nationality: str | None = BO("nationality")
    birth_date: date | None = BO("birth_date")
    address: str | None = BO("address")
    phone: str | None = BO("phone")
    id_type: PersonIdType = BO("id_type", "resident_id")
    id_number: str | None = BO("id_number")
    id_valid_to: date | None = BO("id_valid_to")
    ownership_kind: OwnershipT = BO("ownership_kind", ...)
    percentage: Decimal | None = BO("percentage", le=100)
    control_description: str | None = BO("control_description")
    since: date | None = BO("since")
    until: date | None = BO("until")


class OtherPolicyIn(InSchema):
    insurer: str = OP("insurer", ..., min_length=1)
    policy_no: str | None = OP("policy_no")
    line: str | None = OP("line")
    effective_date: date | None = OP("effective_date")
    sum_insured: Decimal | None = OP("sum_insured")
    premium: Decimal | None = OP("premium")
    claims_paid: Decimal | None = OP("claims_paid")


class _ContactsIn(InSchema):
    mobile: str | None = F("mobile")
    landline: str | None = F("landline")
    email: str | None = F("email")
    mailing_address: str | None = F("mailing_address")
    postal_code: str | None = F("postal_code")


class _ArchiveIn(InSchema):
    source_channel: ChannelT | None = F("source_channel")
    notes: str | None = F("notes")
    aml_risk: RiskT = F("aml_risk", "low", description="反洗钱风险等级（仅合规专员、系统管理员可设定）")
    pep: bool = F("pep", False)
    source_of_funds: str | None = F("source_of_funds")
    aml_last_review: date | None = F("aml_last_review")
    aml_next_review: date | None = F("aml_next_review")
    unit_id: int | None = Ref("所属机构 id（默认为录入人所在机构）")
    agent_id: int | None = Ref("服务业务员的用户 id")


class _IndividualFields(InSchema):
    kind: Literal["individual"]
    name: str = F("name", ..., description="姓名")
    id_type: PersonIdType = F("id_type", "resident_id", description="证件类型（resident_id 为居民身份证）")
    id_number: str = F("id_number", ..., description="证件号码（15 位旧身份证号自动升为 18 位）")
    id_valid_from: date | None = F("id_valid_from")
    id_valid_to: date | None = F("id_valid_to")
    id_long_term: bool = F("id_long_term", False)
    gender: GenderT | None = F("gender", description="性别 M/F（可由身份证号推出，填写时须一致）")
    birth_date: date | None = F("birth_date", description="出生日期（可由身份证号推出，填写时须一致）")
    nationality: str | None = F("nationality", description="国籍（ISO 3166 三位字母码，默认 CHN）")
    occupation: str | None = F("occupation")
    occupation_code: str | None = F("occupation_code")
    occupation_class: int | None = F("occupation_class", ge=1, le=6)
    employer: str | None = F("employer")
    marital_status: MaritalT | None = F("marital_status")
    annual_income: Decimal | None = F("annual_income")
    education: EducationT | None = F("education")
    health_status: HealthT | None = F("health_status")
    health_notes: str | None = F("health_notes")
    has_social_insurance: bool | None = F("has_social_insurance")
    residence_address: str | None = F("residence_address")


class IndividualIn(_ArchiveIn, _ContactsIn, _IndividualFields):
    """An individual (个人客户)."""


class _CorporateFields(InSchema):
    kind: Literal["corporate"]
    name: str = F("name", ..., description="单位名称（须与公章一致）")
    uscc: str = Field(..., max_length=30, description="统一社会信用代码（18 位）")
    id_override_reason: str | None = F(
        "id_override_reason",
        description="代码校验未通过但确为登记机关所发时的例外原因（仅复核员、合规专员、系统管理员）",
    )
    nature: NatureT | None = F("nature")
    industry: str | None = F("industry")
    industry_code: str | None = F("industry_code")
    registered_capital: Decimal | None = F("registered_capital")
    business_scope: str | None = F("business_scope")
    registered_address: str | None = F("registered_address")
    operating_address: str | None = F("operating_address")
    licence_valid_to: date | None = F("licence_valid_to")
    legal_representative: LegalRepresentativeIn
    controlling_shareholder: str | None = F("controlling_shareholder")
    contact_person: ContactPersonIn | None = Field(None, description="授权经办人")
    taxpayer: TaxpayerIn | None = Field(None, description="一般纳税人信息")
    headcount: int | None = F("headcount")
    insured_headcount: int | None = F("insured_headcount")
    income_per_head: Decimal | None = F("income_per_head")
    turnover_rate: Decimal | None = F("turnover_rate", le=100)
    beneficial_owners: list[BeneficialOwnerIn] | None = Field(None, max_length=100, description="受益所有人")
    other_policies: list[OtherPolicyIn] | None = Field(
        None, max_length=100, description="他司保单（团险调查）"
    )


class CorporateIn(_ArchiveIn, _ContactsIn, _CorporateFields):
    """A company or other organisation (单位客户)."""


CustomerIn = Annotated[IndividualIn | CorporateIn, Field(discriminator="kind")]


def _drop_default(schema: dict) -> None:
    schema.pop("default", None)


def _partial(model: type[Schema], name: str, *, nested: dict | None = None, drop: tuple = ()) -> type[Schema]:
    """Return a copy of `model` whose fields may all be left out (PATCH).

    A field that may not be null stays so: leaving it out keeps the stored value, null is refused.
    """
    fields: dict[str, Any] = {}
    for fname, info in model.model_fields.items():
        if fname in drop:
            continue
        annotation = (nested or {}).get(fname, info.annotation)
        copy = FieldInfo.merge_field_infos(info, default=None, json_schema_extra=_drop_default)
        if nested and fname in nested:
            copy = Field(None, description=info.description, json_schema_extra=_drop_default)
        fields[fname] = (annotation, copy)
    return create_model(name, __base__=InSchema, **fields)


LegalRepresentativePatch = _partial(LegalRepresentativeIn, "LegalRepresentativePatch")
ContactPersonPatch = _partial(ContactPersonIn, "ContactPersonPatch")
TaxpayerPatch = _partial(TaxpayerIn, "TaxpayerPatch")


class _PatchBase(InSchema):
    name: str = Field(
        None, min_length=1, max_length=200, description="姓名或单位名称", json_schema_extra=_drop_default
    )
    kind: KindT | None = Field(
        None, description="可不填；填写时须与档案一致（客户类型不能修改）", json_schema_extra=_drop_default
    )
    version: int | None = Field(
        None,
        ge=1,
        le=2_147_483_647,
        description="编辑开始时读到的 version；档案已被他人修改时返回 409 conflict",
    )


_IndividualPatch = _partial(IndividualIn, "_IndividualPatch", drop=("kind", "name"))
_CorporatePatch = _partial(
    CorporateIn,
    "_CorporatePatch",
    drop=("kind", "name"),
    nested={
        "legal_representative": LegalRepresentativePatch,
        "contact_person": ContactPersonPatch | None,
        "taxpayer": TaxpayerPatch | None,
    },
)


class CustomerPatch(_CorporatePatch, _IndividualPatch, _PatchBase):
    """Send only the fields to change; fields of the other kind are refused (unknown_field)."""


INDIVIDUAL_API_FIELDS = frozenset(IndividualIn.model_fields) - {"kind"}
CORPORATE_API_FIELDS = frozenset(CorporateIn.model_fields) - {"kind"}

# ---------------------------------------------------------------- output


class UnitOut(Schema):
    id: int
    code: str
    name: str


class AgentOut(Schema):
    id: int
    username: str
    name: str


class LegalRepresentativeOut(Schema):
    name: str
    id_type: PersonIdType | None
    id_number: str | None = Field(description="非授权角色看到掩码")
    id_valid_to: date | None


class ContactPersonOut(Schema):
    name: str
    id_type: PersonIdType | None
    id_number: str | None
    mobile: str | None


class TaxpayerOut(Schema):
    is_general: bool
    tax_number: str
    bank: str
    account: str | None
    address_phone: str


class BeneficialOwnerOut(Schema):
    name: str
    gender: GenderT | None
    nationality: str
    birth_date: str | None = Field(description=BIRTH_DATE_OUT)
    address: str | None
    phone: str | None
    id_type: PersonIdType
    id_number: str | None
    id_valid_to: date | None
    ownership_kind: OwnershipT
    percentage: Decimal | None
    control_description: str
    since: date | None
    until: date | None


class OtherPolicyOut(Schema):
    insurer: str
    policy_no: str
    line: str
    effective_date: date | None
    sum_insured: Decimal | None
    premium: Decimal | None
    claims_paid: Decimal | None


class _Head(Schema):
    id: int
    archive_no: str = Field(description="客户号，唯一且不变")
    kind: KindT
    name: str


class _Tail(Schema):
    mobile: str | None = Field(description="非授权角色（客服、业务员）看到掩码，如 138****5678")
    landline: str | None
    email: str | None
    mailing_address: str | None
    postal_code: str
    source_channel: ChannelT | None
    notes: str
    aml_risk: RiskT
    pep: bool
    source_of_funds: str
    aml_last_review: date | None
    aml_next_review: date | None
    unit: UnitOut
    agent: AgentOut | None
    completeness: int = Field(description="档案完整率（%）")
    version: int
    created_at: datetime
    updated_at: datetime


class _IndividualOutFields(Schema):
    kind: Literal["individual"]
    id_type: PersonIdType
    id_number: str | None = Field(description="非授权角色（客服、业务员）看到掩码，如 110105********1234")
    id_valid_from: date | None
    id_valid_to: date | None
    id_long_term: bool
    gender: GenderT | None
    birth_date: str | None = Field(description=BIRTH_DATE_OUT)
    nationality: str
    occupation: str
    occupation_code: str
    occupation_class: int | None
    employer: str
    marital_status: MaritalT | None
    annual_income: Decimal | None
    education: EducationT | None
    health_status: HealthT | None
    health_notes: str | None
    has_social_insurance: bool | None
    residence_address: str | None


class IndividualOut(_Tail, _IndividualOutFields, _Head):
    pass


class _CorporateOutFields(Schema):
    kind: Literal["corporate"]
    uscc: str | None = Field(description="统一社会信用代码")
    id_override_reason: str
    nature: NatureT | None
    industry: str
    industry_code: str
    registered_capital: Decimal | None = Field(description="注册资本（万元）")
    business_scope: str
    registered_address: str
    operating_address: str
    licence_valid_to: date | None
    legal_representative: LegalRepresentativeOut
    controlling_shareholder: str
    contact_person: ContactPersonOut
    taxpayer: TaxpayerOut
    headcount: int | None
    insured_headcount: int | None
    income_per_head: Decimal | None
    turnover_rate: Decimal | None
    beneficial_owners: list[BeneficialOwnerOut]
    other_policies: list[OtherPolicyOut]


class CorporateOut(_Tail, _CorporateOutFields, _Head):
    pass


class _Saved(Schema):
    warnings: list[str] = Field(description="不阻止保存的提示，如地址码未知、代码校验例外")


class IndividualSaved(_Saved, IndividualOut):
    pass


class CorporateSaved(_Saved, CorporateOut):
    pass


CustomerOut = Annotated[IndividualOut | CorporateOut, Field(discriminator="kind")]
CustomerSaved = Annotated[IndividualSaved | CorporateSaved, Field(discriminator="kind")]


class CustomerPage(Schema):
    items: list[CustomerOut]
    count: int = Field(description="符合条件的档案总数（不受分页影响）")


class CustomerListQuery(StrictSchema):
    q: str | None = Field(None, max_length=100, description="姓名（前缀）、客户号、证件号码或手机号")
    kind: KindT | None = None
    unit_id: int | None = Ref("所属机构 id（含下级机构）")
    agent_id: int | None = Ref("服务业务员的用户 id")
    aml_risk: RiskT | None = None
    page: int = Field(1, ge=1, description="页码，从 1 开始；超出范围时 items 为空")
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    # `?kind=&page=` from a search form means "no filter" and "the default", not an invalid value.
    @field_validator("q", "kind", "unit_id", "agent_id", "aml_risk", mode="before")
    @classmethod
    def _blank_is_absent(cls, value):
        return None if value == "" else storable_text(value)

    @field_validator("page", "page_size", mode="before")
    @classmethod
    def _blank_is_default(cls, value, info):
        return cls.model_fields[info.field_name].default if value == "" else value


# ---------------------------------------------------------------- mapping

NESTED = {
    "legal_representative": {
        "name": "legal_rep_name",
        "id_type": "legal_rep_id_type",
        "id_number": "legal_rep_id_number",
        "id_valid_to": "legal_rep_id_valid_to",
    },
    "contact_person": {
        "name": "contact_name",
        "id_type": "contact_id_type",
        "id_number": "contact_id_number",
        "mobile": "contact_mobile",
    },
    "taxpayer": {
        "is_general": "is_general_taxpayer",
        "tax_number": "tax_number",
        "bank": "tax_bank",
        "account": "tax_account",
        "address_phone": "tax_address_phone",
    },
}
_CORPORATE_API_NAME = {
    model: f"{group}.{api}" for group, names in NESTED.items() for api, model in names.items()
}
_CORPORATE_API_NAME.update({"id_number": "uscc", "id_type": "uscc"})


def _api_field(kind: str, field: str) -> str:
    return _CORPORATE_API_NAME.get(field, field) if kind == Kind.CORPORATE else field


@contextmanager
def _api_names(kind: str):
    """Rename the fields of a refusal from the service's names to the API's."""
    try:
        yield
    except DomainError as exc:
        for err in exc.errors:
            err.field = _api_field(kind, err.field)
        raise


_BLANK = {"CharField": "", "TextField": "", "BooleanField": False}


def _blank_for_null(model, data: dict) -> dict:
    """Turn null into the blank value of columns that store no NULL ("" for text, false for flags)."""
    out = {}
    for key, value in data.items():
        if value is None:
            try:
                f = model._meta.get_field(key)
            except FieldDoesNotExist:  # not a column: the service refuses it
                f = None
            if f is not None and not f.null:
                value = _BLANK.get(f.get_internal_type())
        out[key] = value
    return out


def _to_service(kind: str, data: dict, *, current: Customer | None = None) -> dict:
    """Map an API body (already validated) to the service's field names."""
    data = dict(data)
    if kind == Kind.CORPORATE:
        for group, names in NESTED.items():
            if group not in data:
                continue
            part = data.pop(group)
            for api, model in names.items():
                if part is None:  # null clears the whole group
                    data[model] = None
                elif api in part:
                    data[model] = part[api]
        if data.get("beneficial_owners") is not None:
            data["beneficial_owners"] = [
                _blank_for_null(BeneficialOwner, bo) for bo in data["beneficial_owners"]
            ]
        if data.get("other_policies") is not None:
            data["other_policies"] = [
                _blank_for_null(OtherInsurerPolicy, op) for op in data["other_policies"]
            ]
        # A document number sent without its type keeps the type on file (a resident ID when none is).
        for type_key, number_key in (
            ("legal_rep_id_type", "legal_rep_id_number"),
            ("contact_id_type", "contact_id_number"),
        ):
            if data.get(number_key) and not data.get(type_key):
                data[type_key] = (getattr(current, type_key, "") if current else "") or "resident_id"
    return _blank_for_null(Customer, data)


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _blank_none(value):
    return value or None


def _record(viewer, c: Customer, *, warnings: list[str] | None = None) -> dict:
    """Return the archive as the API shows it to this viewer (sensitive values masked by role)."""
    agent = c.agent
    out = {
        "id": c.pk,
        "archive_no": c.archive_no,
        "kind": c.kind,
        "name": c.name,
        "mobile": shown(viewer, "mobile", c.mobile),
        "landline": shown(viewer, "landline", c.landline),
        "email": shown(viewer, "email", c.email),
        "mailing_address": shown(viewer, "mailing_address", c.mailing_address),
        "postal_code": c.postal_code,
        "source_channel": _blank_none(c.source_channel),
        "notes": c.notes,
        "aml_risk": c.aml_risk,
        "pep": c.pep,
        "source_of_funds": c.source_of_funds,
        "aml_last_review": c.aml_last_review,
        "aml_next_review": c.aml_next_review,
        "unit": {"id": c.unit.pk, "code": c.unit.code, "name": c.unit.name},
        "agent": None
        if agent is None
        else {"id": agent.pk, "username": agent.username, "name": agent.get_full_name() or agent.username},
        "completeness": c.completeness,
        "version": c.version,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }
    if c.kind == Kind.INDIVIDUAL:
        out.update(
            {
                "id_type": c.id_type,
                "id_number": shown(viewer, "id_number", c.id_number),
                "id_valid_from": c.id_valid_from,
                "id_valid_to": c.id_valid_to,
                "id_long_term": c.id_long_term,
                "gender": _blank_none(c.gender),
                "birth_date": shown_text(viewer, "birth_date", c.birth_date),
                "nationality": c.nationality,
                "occupation": c.occupation,
                "occupation_code": c.occupation_code,
                "occupation_class": c.occupation_class,
                "employer": c.employer,
                "marital_status": _blank_none(c.marital_status),
                "annual_income": c.annual_income,
                "education": _blank_none(c.education),
                "health_status": _blank_none(c.health_status),
                "health_notes": shown(viewer, "health_notes", c.health_notes),
                "has_social_insurance": c.has_social_insurance,
                "residence_address": shown(viewer, "residence_address", c.residence_address),
            }
        )
    else:
        out.update(
            {
                # A company's registration code is public (on its licence), so no role sees it masked.
                "uscc": shown(viewer, "uscc", c.id_number),
                "id_override_reason": c.id_override_reason,
                "nature": _blank_none(c.nature),
                "industry": c.industry,
                "industry_code": c.industry_code,
                "registered_capital": c.registered_capital,
                "business_scope": c.business_scope,
                "registered_address": c.registered_address,
                "operating_address": c.operating_address,
                "licence_valid_to": c.licence_valid_to,
                "legal_representative": {
                    "name": c.legal_rep_name,
                    "id_type": _blank_none(c.legal_rep_id_type),
                    "id_number": shown(viewer, "legal_rep_id_number", c.legal_rep_id_number),
                    "id_valid_to": c.legal_rep_id_valid_to,
                },
                "controlling_shareholder": c.controlling_shareholder,
                "contact_person": {
                    "name": c.contact_name,
                    "id_type": _blank_none(c.contact_id_type),
                    "id_number": shown(viewer, "contact_id_number", c.contact_id_number),
                    "mobile": shown(viewer, "contact_mobile", c.contact_mobile),
                },
                "taxpayer": {
                    "is_general": c.is_general_taxpayer,
                    "tax_number": c.tax_number,
                    "bank": c.tax_bank,
                    "account": shown(viewer, "tax_account", c.tax_account),
                    "address_phone": c.tax_address_phone,
                },
                "headcount": c.headcount,
                "insured_headcount": c.insured_headcount,
                "income_per_head": c.income_per_head,
                "turnover_rate": c.turnover_rate,
                "beneficial_owners": [_owner(viewer, bo) for bo in c.beneficial_owners.all()],
                "other_policies": [
                    {
                        "insurer": op.insurer,
                        "policy_no": op.policy_no,
                        "line": op.line,
                        "effective_date": op.effective_date,
                        "sum_insured": op.sum_insured,
                        "premium": op.premium,
                        "claims_paid": op.claims_paid,
                    }
                    for op in c.other_policies.all()
                ],
            }
        )
    if warnings is not None:
        out["warnings"] = list(warnings)
    return out


def _owner(viewer, bo: BeneficialOwner) -> dict:
    return {
        "name": bo.name,
        "gender": _blank_none(bo.gender),
        "nationality": bo.nationality,
        "birth_date": shown_text(viewer, "birth_date", bo.birth_date),
        "address": shown(viewer, "address", bo.address),
        "phone": shown(viewer, "phone", bo.phone),
        "id_type": bo.id_type,
        "id_number": shown(viewer, "id_number", bo.id_number),
        "id_valid_to": bo.id_valid_to,
        "ownership_kind": bo.ownership_kind,
        "percentage": bo.percentage,
        "control_description": bo.control_description,
        "since": bo.since,
        "until": bo.until,
    }


def _visible(viewer, pk: int) -> Customer:
    if not 1 <= pk <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "客户档案不存在"))
    return customer_get(viewer=viewer, pk=pk)


# ---------------------------------------------------------------- endpoints

_READ = {401: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}


@router.get(
    "",
    url_name="customer_list",
    summary="查找客户档案（分页）",
    response={200: CustomerPage, 401: ErrorsOut, 422: ErrorsOut},
)
def list_customers(request, params: Query[CustomerListQuery]):
    """Search by name prefix, archive number, identity number or mobile; filter; page."""
    viewer = request.auth
    qs = customer_list(
        viewer=viewer,
        query=params.q or "",
        filters=CustomerFilters(
            kind=params.kind or "",
            unit_id=params.unit_id,
            agent_id=params.agent_id,
            aml_risk=params.aml_risk or "",
        ),
    )
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    rows = []
    if offset < count:
        rows = list(
            qs.prefetch_related("beneficial_owners", "other_policies")[offset : offset + params.page_size]
        )
    return {"items": [_record(viewer, c) for c in rows], "count": count}


@router.post(
    "",
    url_name="customer_create",
    summary="新建客户档案（个人或单位）",
    response={201: CustomerSaved, **_WRITE},
    openapi_extra=idempotency.OPENAPI,
)
@idempotency.idempotent
def create_customer(request, payload: CustomerIn):
    """Create an archive; a second archive for one identity is refused with 409 duplicate."""
    data = payload.model_dump(exclude_unset=True)
    kind = data.pop("kind", payload.kind)
    with _api_names(kind):
        customer, warnings = customer_create(actor=request.auth, kind=kind, data=_to_service(kind, data))
    return Status(201, _record(request.auth, customer, warnings=warnings))


@router.get(
    "/{id}", url_name="customer_detail", summary="读取一份客户档案", response={200: CustomerOut, **_READ}
)
def get_customer(request, id: int):
    """Return one archive in the caller's scope and record that it was viewed."""
    customer = _visible(request.auth, id)
    customer_record_view(actor=request.auth, customer=customer, channel="api", ip=_client_ip(request))
    return _record(request.auth, customer)


@router.patch(
    "/{id}",
    url_name="customer_update",
    summary="修改客户档案（只发送要改的字段）",
    response={200: CustomerSaved, 404: ErrorsOut, **_WRITE},
)
def update_customer(request, id: int, payload: CustomerPatch):
    """Change the fields sent; every change is kept in the archive's history."""
    actor = request.auth
    if not can(actor, "customer.change"):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权修改客户档案"))
    current = _visible(actor, id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    kind = data.pop("kind", None)
    if kind is not None and kind != current.kind:
        raise ValidationFailed(FieldError("kind", "immutable", "客户类型不能修改"))
    allowed = INDIVIDUAL_API_FIELDS if current.kind == Kind.INDIVIDUAL else CORPORATE_API_FIELDS
    other = "单位" if current.kind == Kind.INDIVIDUAL else "个人"
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field", f"该字段只属于{other}客户") for k in unknown])
    data = _to_service(current.kind, data, current=current)
    with _api_names(current.kind):
        customer, warnings = customer_update(
            actor=actor, customer_id=current.pk, data=data, expected_version=version
        )
    return _record(actor, customer, warnings=warnings)


class RevealIn(InSchema):
    field: str = Field(
        max_length=60,
        description="要查看完整内容的字段（API 字段名），如 mobile、legal_representative.id_number",
    )
    reason: str = Field(max_length=200, description="查看原因（至少 4 个字），记入档案使用记录")


class RevealOut(Schema):
    field: str
    value: str = Field(description="完整内容；只返回这一次，不会写入使用记录")


def _reveal_attr(kind: str, field: str) -> str:
    """Map an API field name to the model's (legal_representative.id_number -> legal_rep_id_number)."""
    if "." in field:
        group, _, name = field.partition(".")
        return NESTED.get(group, {}).get(name, field) if kind == Kind.CORPORATE else field
    return "id_number" if kind == Kind.CORPORATE and field == "uscc" else field


@router.post(
    "/{id}/reveal",
    url_name="customer_reveal",
    summary="查看一项脱敏信息的完整内容（须说明原因，记入使用记录）",
    response={200: RevealOut, 400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut},
)
def reveal_customer_field(request, id: int, payload: RevealIn):
    """Return one masked value in full for a stated reason; the reveal (never the value) is logged."""
    customer = _visible(request.auth, id)
    value = customer_reveal(
        actor=request.auth,
        customer_id=customer.pk,
        field=_reveal_attr(customer.kind, payload.field),
        reason=payload.reason,
        channel="api",
        ip=_client_ip(request),
    )
    return {"field": payload.field, "value": value}
