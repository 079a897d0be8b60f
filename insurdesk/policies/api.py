"""REST endpoints of policies (`/api/v1/policies`) and premiums (`/api/v1/payments`).

Lists answer {"items", "count"} with page/page_size; refusals have the customer API's error shape.
Identity numbers of beneficiaries and group members are masked for roles that may not see them.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import field_validator

from insurdesk.common import idempotency
from insurdesk.common.errors import FieldError, NotAllowed, NotFound
from insurdesk.customers.selectors import shown, shown_text
from insurdesk.org.api import ErrorsOut, InSchema, StrictSchema, storable_text
from insurdesk.org.policy import can
from insurdesk.policies import calculations as calc
from insurdesk.policies.members import COLUMNS as MEMBER_COLUMNS
from insurdesk.policies.members import member_add, member_remove, members_import
from insurdesk.policies.models import (
    OPEN_INSTALMENT,
    RECORDABLE_METHODS,
    Instalment,
    MemberType,
    Payment,
    PaymentKind,
    PaymentMethod,
    Policy,
    PolicyState,
)
from insurdesk.policies.selectors import (
    DueFilters,
    PaymentFilters,
    PolicyFilters,
    due_list,
    due_page,
    instalment_status_on,
    payment_list,
    policy_get,
    policy_instalments,
    policy_list,
    policy_members,
    policy_payments,
)
from insurdesk.policies.services import (
    cooling_off_start,
    payment_record,
    policy_cancel,
    policy_issue,
    policy_schedule,
)
from insurdesk.products.calculations import term_label

policies_router = Router(tags=["policies"])
payments_router = Router(tags=["payments"])

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200
_READ = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}


def _choice(choices, values=None):
    return Literal[tuple(values if values is not None else choices.values)]  # type: ignore[valid-type]


StateT = _choice(PolicyState)
MethodT = _choice(PaymentMethod)
# What a user may record money received or paid back with ("unknown" is for past payments imported).
RecordableMethodT = _choice(None, [str(m) for m in RECORDABLE_METHODS])
KindT = _choice(PaymentKind)
OpenStatusT = _choice(None, [str(s) for s in OPEN_INSTALMENT])
InstalmentStatusT = Literal["paid", "unpaid", "overdue", "partial", "void"]
MemberTypeT = _choice(MemberType)


def _require(actor, action: str) -> None:
    if not can(actor, action):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权执行此操作"))


def _user(u) -> dict | None:
    if u is None:
        return None
    return {"id": u.pk, "username": u.username, "name": u.get_full_name() or u.username}


class _Query(StrictSchema):
    page: int = Field(1, ge=1, description="页码，从 1 开始；超出范围时 items 为空")
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_absent(cls, value, info):
        if value == "":
            return cls.model_fields[info.field_name].default
        return storable_text(value)


def _page(qs, params: _Query) -> tuple[list, int]:
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    return (list(qs[offset : offset + params.page_size]) if offset < count else []), count


def _id(value: int, message: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(FieldError("", "not_found", message))
    return value


# ---------------------------------------------------------------- schemas


class Ref(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    username: str
    name: str


class PolicyPartyOut(Schema):
    id: int
    archive_no: str
    name: str


class PolicyLineOut(Schema):
    seq: int
    product_code: str
    product_name: str
    is_rider: bool
    coverage_term: str
    coverage_term_label: str
    sum_insured: Decimal
    premium: Decimal = Field(description="期交保费（元）")
    extra_premium: Decimal = Field(description="加费（每期，元）")
    exclusion: str
    plan_level: str | None


class PolicyBeneficiaryOut(Schema):
    order: int
    name: str
    id_type: str
    id_number: str | None
    relationship: str
    share: Decimal
    customer_id: int | None


class InstalmentOut(Schema):
    id: int
    seq: int
    due_date: date
    period_start: date
    period_end: date
    amount: Decimal
    paid_amount: Decimal
    outstanding: Decimal
    status: InstalmentStatusT = Field(
        description="paid 已缴 / unpaid 未缴 / overdue 逾期 / partial 部分 / void 作废"
    )
    paid_on: date | None


class ScheduleOut(Schema):
    seq: int
    due_date: date
    period_start: date
    period_end: date
    amount: Decimal


class PolicySummary(Schema):
    id: int
    policy_no: str
    state: StateT
    state_label: str
    product_code: str
    product_name: str
    is_group: bool
    policyholder: PolicyPartyOut
    insured: PolicyPartyOut | None
    unit: Ref
    agent: UserRef | None
    payment_mode: str
    premium: Decimal = Field(description="期交保费（元，含加费）")
    sum_insured: Decimal
    issue_date: date
    effective_date: date
    expiry_date: date | None = Field(description="满期日期；终身保险为 null")
    paid_to: date | None


class PolicyOut(PolicySummary):
    application_id: int | None
    application_no: str | None
    relationship: str
    payment_term: str
    instalment_total: int
    coverage_term: str
    application_date: date
    receipt_date: date | None
    annual_premium: Decimal
    extra_premium: Decimal
    cooling_off_days: int
    cooling_off_end: date | None
    grace_days: int
    underwriting_decision: str
    exclusion: str
    beneficiary_legal: bool
    lapsed_on: date | None
    terminated_on: date | None
    termination_reason: str
    lines: list[PolicyLineOut]
    beneficiaries: list[PolicyBeneficiaryOut]
    instalments: list[InstalmentOut]
    schedule: list[ScheduleOut] = Field(description="全部缴费计划（按缴费方式与期间计算）")
    payments: list["PaymentOut"]
    member_count: int


class PolicyPage(Schema):
    items: list[PolicySummary]
    count: int


class PaymentOut(Schema):
    id: int
    policy_id: int
    policy_no: str
    kind: KindT
    method: MethodT
    amount: Decimal
    paid_on: date
    period_start: date | None
    period_end: date | None
    instalment_seq: int | None
    status: InstalmentStatusT | None = Field(description="所缴期次的状态：已缴/未缴/逾期/部分")
    reference: str
    note: str
    recorded_by: UserRef | None
    created_at: datetime


PolicyOut.model_rebuild()


class PaymentSaved(PaymentOut):
    warnings: list[str] = Field(description="不阻止保存的提示，如现金缴费达到反洗钱识别标准")


class PaymentPage(Schema):
    items: list[PaymentOut]
    count: int


class DueItem(Schema):
    id: int
    policy_id: int
    policy_no: str
    policy_state: StateT
    policyholder: str
    product_name: str
    seq: int
    due_date: date
    amount: Decimal
    paid_amount: Decimal
    outstanding: Decimal
    status: InstalmentStatusT
    days_overdue: int
    grace_end: date
    unit: Ref
    agent: UserRef | None


class PaymentDuePage(Schema):
    items: list[DueItem]
    count: int


class MemberOut(Schema):
    id: int
    seq: int
    name: str
    id_type: str
    id_number: str | None
    gender: str
    birth_date: str | None = Field(description="出生日期 YYYY-MM-DD；看掩码的角色只得到出生年份 YYYY")
    occupation_class: int | None
    member_type: MemberTypeT
    plan_level: str
    sum_insured: Decimal
    status: Literal["active", "removed"]
    joined_on: date
    left_on: date | None
    customer_id: int | None


class MemberPage(Schema):
    items: list[MemberOut]
    count: int


class MemberIn(InSchema):
    name: str = Field(min_length=1, max_length=100)
    id_type: str | None = Field("resident_id", max_length=24)
    id_number: str = Field(min_length=1, max_length=30)
    gender: Literal["M", "F"] | None = None
    birth_date: date | None = None
    occupation_class: int | None = Field(None, ge=1, le=6)
    member_type: MemberTypeT | None = "employee"
    plan_level: str = Field(min_length=1, max_length=10, description="等级代码（等级明细）")


class RowErrorOut(Schema):
    field: str = Field(description="rows[行号].列，如 rows[3].id_number")
    code: str = Field(description="规则代码，同 rule")
    message: str = Field(description="中文说明")
    # A refusal of the request itself (a missing field, a wrong type) names no row: these are absent.
    row: int | None = Field(None, description="电子表格中的行号（第 1 行为列名）")
    column: str | None = Field(None, description="列名")
    value: str | None = Field(None, description="单元格内容（证件号码已脱敏）")
    rule: str | None = None


class ImportOut(Schema):
    rows: int
    created: int
    dry_run: bool


class ImportRefused(Schema):
    errors: list[RowErrorOut]


class IssueIn(InSchema):
    application_id: int = Field(ge=1, le=MAX_ID, description="核保通过的投保单 id")


class CancelIn(InSchema):
    reason: str | None = Field(None, max_length=300, description="撤单原因")
    method: RecordableMethodT | None = Field(None, description="退费方式（默认同最近一次缴费）")


class CancelOut(Schema):
    policy: PolicyOut
    refund: PaymentOut | None


class PaymentIn(InSchema):
    policy_id: int = Field(ge=1, le=MAX_ID)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    method: RecordableMethodT = Field(
        description="cash 现金 / transfer 转账 / card 刷卡 / withholding 银行代扣"
    )
    paid_on: date
    reference: str | None = Field(None, max_length=60, description="凭证号")
    note: str | None = Field(None, max_length=300)
    instalment_id: int | None = Field(None, ge=1, le=MAX_ID, description="缴哪一期（默认最早未缴的一期）")


class PolicyQuery(_Query):
    q: str | None = Field(None, max_length=30, description="保单号（前缀）")
    state: StateT | None = None
    unit_id: int | None = Field(None, ge=1, le=MAX_ID, description="机构 id（含下级机构）")
    agent_id: int | None = Field(None, ge=1, le=MAX_ID)
    product_code: str | None = Field(None, max_length=20)
    customer_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="以任一身份（投保人/被保险人/受益人）关联的客户"
    )
    application_id: int | None = Field(None, ge=1, le=MAX_ID)


class DueQuery(_Query):
    unit_id: int | None = Field(None, ge=1, le=MAX_ID, description="机构 id（含下级机构）")
    agent_id: int | None = Field(None, ge=1, le=MAX_ID)
    due_from: date | None = None
    due_to: date | None = None
    status: OpenStatusT | None = Field(
        None, description="unpaid 未缴 / overdue 逾期 / partial 部分；默认三者"
    )


class PaymentQuery(_Query):
    policy_id: int | None = Field(None, ge=1, le=MAX_ID)
    unit_id: int | None = Field(None, ge=1, le=MAX_ID)
    agent_id: int | None = Field(None, ge=1, le=MAX_ID)
    paid_from: date | None = None
    paid_to: date | None = None
    method: MethodT | None = None
    kind: KindT | None = None


# ---------------------------------------------------------------- records


def _party(c) -> dict | None:
    return None if c is None else {"id": c.pk, "archive_no": c.archive_no, "name": c.name}


def policy_summary(p: Policy) -> dict:
    return {
        "id": p.pk,
        "policy_no": p.policy_no,
        "state": p.state,
        "state_label": p.get_state_display(),
        "product_code": p.product.code,
        "product_name": p.product.name,
        "is_group": p.is_group,
        "policyholder": _party(p.policyholder),
        "insured": _party(p.insured),
        "unit": {"id": p.unit.pk, "name": p.unit.name},
        "agent": _user(p.agent),
        "payment_mode": p.payment_mode,
        "premium": p.premium,
        "sum_insured": p.sum_insured,
        "issue_date": p.issue_date,
        "effective_date": p.effective_date,
        "expiry_date": p.expiry_date,
        "paid_to": p.paid_to,
    }


def _instalment(i: Instalment, today: date) -> dict:
    return {
        "id": i.pk,
        "seq": i.seq,
        "due_date": i.due_date,
        "period_start": i.period_start,
        "period_end": i.period_end,
        "amount": i.amount,
        "paid_amount": i.paid_amount,
        "outstanding": i.outstanding,
        "status": instalment_status_on(i, today),
        "paid_on": i.paid_on,
    }


def payment_record_out(p: Payment, *, warnings: list[str] | None = None) -> dict:
    out = {
        "id": p.pk,
        "policy_id": p.policy_id,
        "policy_no": p.policy.policy_no,
        "kind": p.kind,
        "method": p.method,
        "amount": p.amount,
        "paid_on": p.paid_on,
        "period_start": p.period_start,
        "period_end": p.period_end,
        "instalment_seq": p.instalment.seq if p.instalment_id else None,
        "status": p.instalment.status if p.instalment_id else None,
        "reference": p.reference,
        "note": p.note,
        "recorded_by": _user(p.recorded_by),
        "created_at": p.created_at,
    }
    if warnings is not None:
        out["warnings"] = warnings
    return out


def policy_record(viewer, p: Policy) -> dict:
    start = cooling_off_start(p)
    out = policy_summary(p)
    out.update(
        {
            "application_id": p.application_id,
            "application_no": p.application.application_no if p.application_id else None,
            "relationship": p.relationship,
            "payment_term": p.payment_term,
            "instalment_total": p.instalment_total,
            "coverage_term": p.coverage_term,
            "application_date": p.application_date,
            "receipt_date": p.receipt_date,
            "annual_premium": p.annual_premium,
            "extra_premium": p.extra_premium,
            "cooling_off_days": p.cooling_off_days,
            "cooling_off_end": calc.cooling_off_end(start, p.cooling_off_days)
            if p.cooling_off_days
            else None,
            "grace_days": p.grace_days,
            "underwriting_decision": p.underwriting_decision,
            "exclusion": p.exclusion,
            "beneficiary_legal": p.beneficiary_legal,
            "lapsed_on": p.lapsed_on,
            "terminated_on": p.terminated_on,
            "termination_reason": p.termination_reason,
            "lines": [
                {
                    "seq": line.seq,
                    "product_code": line.product.code,
                    "product_name": line.product.name,
                    "is_rider": line.is_rider,
                    "coverage_term": line.coverage_term,
                    "coverage_term_label": term_label(line.coverage_term),
                    "sum_insured": line.sum_insured,
                    "premium": line.premium,
                    "extra_premium": line.extra_premium,
                    "exclusion": line.exclusion,
                    "plan_level": line.plan_level.code if line.plan_level_id else None,
                }
                for line in p.lines.all()
            ],
            "beneficiaries": [
                {
                    "order": b.order,
                    "name": b.name,
                    "id_type": b.id_type,
                    "id_number": shown(viewer, "id_number", b.id_number),
                    "relationship": b.relationship,
                    "share": b.share,
                    "customer_id": b.customer_id,
                }
                for b in p.beneficiaries.all()
            ],
            "instalments": [_instalment(i, timezone.localdate()) for i in policy_instalments(p)],
            "schedule": [vars(i) for i in policy_schedule(p)],
            "payments": [payment_record_out(pay) for pay in policy_payments(p)],
            "member_count": p.members.filter(status="active").count() if p.is_group else 0,
        }
    )
    return out


def _member(viewer, m) -> dict:
    return {
        "id": m.pk,
        "seq": m.seq,
        "name": m.name,
        "id_type": m.id_type,
        "id_number": shown(viewer, "id_number", m.id_number),
        "gender": m.gender,
        "birth_date": shown_text(viewer, "birth_date", m.birth_date),
        "occupation_class": m.occupation_class,
        "member_type": m.member_type,
        "plan_level": m.plan_level.code,
        "sum_insured": m.plan_level.sum_insured,
        "status": m.status,
        "joined_on": m.joined_on,
        "left_on": m.left_on,
        "customer_id": m.customer_id,
    }


def _visible(viewer, id: int) -> Policy:
    return policy_get(viewer=viewer, pk=_id(id, "保单不存在"))


# ---------------------------------------------------------------- /policies


@policies_router.get(
    "", url_name="policy_list", summary="保单列表（分页）", response={200: PolicyPage, **_READ}
)
def list_policies(request, params: Query[PolicyQuery]):
    _require(request.auth, "policy.view")
    qs = policy_list(
        viewer=request.auth,
        query=params.q or "",
        filters=PolicyFilters(
            state=params.state or "",
            unit_id=params.unit_id,
            agent_id=params.agent_id,
            product_code=params.product_code or "",
            customer_id=params.customer_id,
            application_id=params.application_id,
        ),
    )
    rows, count = _page(qs, params)
    return {"items": [policy_summary(p) for p in rows], "count": count}


@policies_router.post(
    "", url_name="policy_issue", summary="承保出单（核保通过的投保单）", response={201: PolicyOut, **_WRITE}
)
def issue(request, payload: IssueIn):
    """Issue the policy of an accepted application whose sales recording, if required, is checked."""
    policy = policy_issue(actor=request.auth, application_id=payload.application_id)
    return Status(201, policy_record(request.auth, _visible(request.auth, policy.pk)))


@policies_router.get(
    "/{id}", url_name="policy_detail", summary="读取一张保单", response={200: PolicyOut, **_READ}
)
def get_policy(request, id: int):
    """The policy with its lines, beneficiaries, schedule, premiums due and payments."""
    _require(request.auth, "policy.view")
    return policy_record(request.auth, _visible(request.auth, id))


@policies_router.post(
    "/{id}/cancel",
    url_name="policy_cancel",
    summary="犹豫期撤单（退还已交保费）",
    response={200: CancelOut, **_WRITE},
)
def cancel(request, id: int, payload: CancelIn):
    """Cancel inside the product's cooling-off days and refund the premium paid; refused outside them."""
    _require(request.auth, "policy.cancel")
    policy = _visible(request.auth, id)
    _, refund = policy_cancel(
        actor=request.auth, policy_id=policy.pk, reason=payload.reason or "", method=payload.method or ""
    )
    return {
        "policy": policy_record(request.auth, _visible(request.auth, id)),
        "refund": payment_record_out(refund) if refund else None,
    }


@policies_router.get(
    "/{id}/members",
    url_name="policy_members",
    summary="团体保单被保险人清单（分页）",
    response={200: MemberPage, **_READ},
)
def list_members(request, id: int, params: Query[_Query]):
    _require(request.auth, "policy.view")
    policy = _visible(request.auth, id)
    rows, count = _page(policy_members(policy), params)
    return {"items": [_member(request.auth, m) for m in rows], "count": count}


@policies_router.post(
    "/{id}/members", url_name="policy_member_add", summary="团体保单加人", response={201: MemberOut, **_WRITE}
)
def add_member(request, id: int, payload: MemberIn):
    _require(request.auth, "policy.members")
    policy = _visible(request.auth, id)
    member = member_add(actor=request.auth, policy_id=policy.pk, data=payload.model_dump())
    return Status(201, _member(request.auth, member))


@policies_router.post(
    "/{id}/members/{member_id}/remove",
    url_name="policy_member_remove",
    summary="团体保单减人",
    response={200: MemberOut, **_WRITE},
)
def remove_member(request, id: int, member_id: int):
    _require(request.auth, "policy.members")
    policy = _visible(request.auth, id)
    member = member_remove(
        actor=request.auth, policy_id=policy.pk, member_id=_id(member_id, "被保险人不存在")
    )
    return _member(request.auth, member)


@policies_router.post(
    "/{id}/members/import",
    url_name="policy_members_import",
    summary="导入被保险人清单（xlsx 或 csv）",
    response={**_WRITE, 200: ImportOut, 422: ImportRefused},
)
def import_members(request, id: int, file: File[UploadedFile], dry_run: Form[bool] = False):
    """multipart/form-data `file`. Any refused row refuses the whole file (422) with every row's errors."""
    _require(request.auth, "policy.members")
    policy = _visible(request.auth, id)
    result = members_import(
        actor=request.auth,
        policy_id=policy.pk,
        filename=file.name or "",
        content=file.read(),
        dry_run=dry_run,
    )
    if not result.ok:
        keys = {label: key for key, (label, _) in MEMBER_COLUMNS.items()}
        return Status(
            422,
            {
                "errors": [
                    {"field": f"rows[{e.row}].{keys.get(e.column, e.column)}", "code": e.rule, **e.as_dict()}
                    for e in result.errors
                ]
            },
        )
    return {"rows": result.rows, "created": result.created, "dry_run": result.dry_run}


# ---------------------------------------------------------------- /payments


@payments_router.get(
    "", url_name="payment_list", summary="缴费记录（分页）", response={200: PaymentPage, **_READ}
)
def list_payments(request, params: Query[PaymentQuery]):
    _require(request.auth, "payment.view")
    qs = payment_list(
        viewer=request.auth,
        filters=PaymentFilters(
            unit_id=params.unit_id,
            agent_id=params.agent_id,
            paid_from=params.paid_from,
            paid_to=params.paid_to,
            policy_id=params.policy_id,
            method=params.method or "",
            kind=params.kind or "",
        ),
    )
    rows, count = _page(qs, params)
    return {"items": [payment_record_out(p) for p in rows], "count": count}


@payments_router.post(
    "",
    url_name="payment_create",
    summary="录入缴费",
    response={201: PaymentSaved, **_WRITE},
    openapi_extra=idempotency.OPENAPI,
)
@idempotency.idempotent
def create_payment(request, payload: PaymentIn):
    """Record money received for the oldest open premium of the policy (or the one named)."""
    _require(request.auth, "payment.record")
    payment, warnings = payment_record(
        actor=request.auth,
        policy_id=payload.policy_id,
        amount=payload.amount,
        method=payload.method,
        paid_on=payload.paid_on,
        reference=payload.reference or "",
        note=payload.note or "",
        instalment_id=payload.instalment_id,
    )
    payment = Payment.objects.select_related("policy", "instalment", "recorded_by").get(pk=payment.pk)
    return Status(201, payment_record_out(payment, warnings=warnings))


@payments_router.get(
    "/due",
    url_name="payment_due",
    summary="应收清单：未缴、逾期、部分缴费（分页）",
    response={200: PaymentDuePage, **_READ},
)
def due(request, params: Query[DueQuery]):
    """Premiums not yet paid in full, by due date, filterable by unit (with its subtree), agent and dates."""
    _require(request.auth, "payment.view")
    qs = due_list(
        viewer=request.auth,
        filters=DueFilters(
            unit_id=params.unit_id,
            agent_id=params.agent_id,
            due_from=params.due_from,
            due_to=params.due_to,
            status=params.status or "",
        ),
    )
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    rows = due_page(qs, offset, params.page_size) if offset < count else []
    today = timezone.localdate()
    return {
        "items": [
            {
                "id": i.pk,
                "policy_id": i.policy_id,
                "policy_no": i.policy.policy_no,
                "policy_state": i.policy.state,
                "policyholder": i.policy.policyholder.name,
                "product_name": i.policy.product.name,
                "seq": i.seq,
                "due_date": i.due_date,
                "amount": i.amount,
                "paid_amount": i.paid_amount,
                "outstanding": i.outstanding,
                "status": instalment_status_on(i, today),
                "days_overdue": max(0, (today - i.due_date).days),
                "grace_end": calc.grace_end(i.due_date, i.policy.grace_days),
                "unit": {"id": i.unit.pk, "name": i.unit.name},
                "agent": _user(i.agent),
            }
            for i in rows
        ],
        "count": count,
    }
