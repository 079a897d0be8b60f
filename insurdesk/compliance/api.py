"""REST endpoints of compliance: `/api/v1/audit` (the tamper-evident log) and `/api/v1/compliance/...`
(AML queues, ratings and reviews, transaction flags, checks and tasks, consents, PIPL requests).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from insurdesk.audit.services import ENTRY_COLUMNS
from insurdesk.common.errors import FieldError, NotFound
from insurdesk.compliance.checks import CHECKS_BY_CODE
from insurdesk.compliance.models import (
    TASK_TRANSITIONS,
    ConsentChannel,
    ConsentPurpose,
    FlagKind,
    FlagState,
    RequestKind,
    RequestOutcome,
    RequestState,
    ReviewConclusion,
    TaskState,
)
from insurdesk.compliance.selectors import (
    CUSTOMER_TARGET,
    QUEUES,
    AuditFilters,
    TaskFilters,
    aml_queue,
    archive_numbers_of,
    audit_search,
    consent_list,
    customer_aml,
    customer_blocked_for_new_business,
    finding_list,
    flag_list,
    pi_request_list,
    task_list,
)
from insurdesk.compliance.services import (
    aml_rate,
    aml_review_record,
    compliance_check_run,
    consent_record,
    consent_withdraw,
    pi_request_close,
    pi_request_record,
    task_assign,
    task_transition,
    transaction_flag_raise,
    transaction_flag_review,
)
from insurdesk.customers.selectors import customer_get
from insurdesk.org.api import ErrorsOut, InSchema, StrictSchema, storable_text

audit_router = Router(tags=["audit"])
router = Router(tags=["compliance"])

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200
_READ = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}


def _lit(choices) -> Any:
    return Literal[tuple(choices.values)]  # type: ignore[valid-type]


Level = Literal["low", "medium", "high"]


def Id(description: str, default: Any = ...) -> Any:
    return Field(default, ge=1, le=MAX_ID, description=description)


def _check_id(pk: int, message: str) -> int:
    if not 1 <= pk <= MAX_ID:
        raise NotFound(FieldError("", "not_found", message))
    return pk


class CompliancePageQuery(StrictSchema):
    page: int = Field(1, ge=1, description="页码，从 1 开始；超出范围时 items 为空")
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value, info):
        if value == "":
            return cls.model_fields[info.field_name].default
        return storable_text(value)


def _paged(qs, params: CompliancePageQuery) -> tuple[list, int]:
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    return (list(qs[offset : offset + params.page_size]) if offset < count else []), count


# ---------------------------------------------------------------- the log


class AuditQuery(CompliancePageQuery):
    actor: str | None = Field(None, max_length=150, description="操作人用户名；system 为系统")
    action: str | None = Field(
        None, max_length=50, description="动作，如 customer.view；不含点或以点结尾为前缀"
    )
    archive_no: str | None = Field(None, max_length=20, description="客户号：该档案的全部使用记录")
    target_type: str | None = Field(None, max_length=50, description="对象类型，如 customers.customer")
    target_id: str | None = Field(None, max_length=64)
    date_from: date | None = Field(None, description="起始日期（含），本地时区")
    date_to: date | None = Field(None, description="截止日期（含），本地时区")


class AuditEntryOut(Schema):
    seq: int = Field(description="链上序号，连续无缺")
    at: datetime
    actor_id: int | None
    actor_name: str = Field(description="用户名；system 为系统")
    action: str
    target_type: str
    target_id: str
    archive_no: str | None = Field(description="对象为客户档案时的客户号")
    detail: dict = Field(description="详情；敏感字段只记字段名，不记取值")
    ip: str | None
    prev_hash: str
    hash: str


class AuditPage(Schema):
    items: list[AuditEntryOut]
    count: int


@audit_router.get(
    "", url_name="audit_list", summary="查询档案使用记录（防篡改日志）", response={200: AuditPage, **_READ}
)
def list_audit(request, params: Query[AuditQuery]):
    """Search the hash-chained log by actor, action, archive number, target and date range; newest first."""
    filters = AuditFilters(
        actor=params.actor or "",
        action=params.action or "",
        archive_no=params.archive_no or "",
        target_type=params.target_type or "",
        target_id=params.target_id or "",
        date_from=params.date_from,
        date_to=params.date_to,
    )
    rows, count = _paged(audit_search(viewer=request.auth, filters=filters), params)
    numbers = archive_numbers_of(rows)
    items = [
        {
            **{f: getattr(e, f) for f in ENTRY_COLUMNS},
            "archive_no": numbers.get(e.target_id) if e.target_type == CUSTOMER_TARGET else None,
        }
        for e in rows
    ]
    return {"items": items, "count": count}


# ---------------------------------------------------------------- AML queues and customers


class CustomerBrief(Schema):
    id: int
    archive_no: str
    name: str
    kind: str
    unit_id: int
    aml_risk: Level
    pep: bool
    id_valid_to: date | None
    id_long_term: bool
    licence_valid_to: date | None
    aml_last_review: date | None
    aml_next_review: date | None


class CustomerBriefPage(Schema):
    items: list[CustomerBrief]
    count: int


class ComplianceQueueQuery(CompliancePageQuery):
    window: int = Field(30, ge=0, le=3650, description="reviews_due：未来多少天内到期")


def _brief(c) -> dict:
    return {f: getattr(c, f) for f in CustomerBrief.model_fields if f != "id"} | {"id": c.pk}


@router.get(
    "/queues/{name}",
    url_name="compliance_queue",
    summary="反洗钱工作队列",
    response={200: CustomerBriefPage, **_READ},
)
def queue(request, name: str, params: Query[ComplianceQueueQuery]):
    """Return one queue: expired_ids 证件过期, missing_bo 缺少受益所有人,
    high_risk_unreviewed 高风险未按期审核, reviews_due 审核到期."""
    if name not in QUEUES:
        raise NotFound(FieldError("name", "not_found", f"队列不存在，可选：{'、'.join(QUEUES)}"))
    rows, count = _paged(aml_queue(viewer=request.auth, name=name, window=params.window), params)
    return {"items": [_brief(c) for c in rows], "count": count}


class ReasonOut(Schema):
    code: str
    label: str
    points: int
    floor: str
    detail: str


class AssessmentOut(Schema):
    id: int
    level: Level
    previous_level: str
    score: int
    reasons: list[ReasonOut]
    rated_at: datetime
    rated_by: str | None = Field(description="评级人用户名；空为系统")
    next_review: date | None


class ReviewOut(Schema):
    id: int
    reviewed_on: date
    reviewer: str
    conclusion: _lit(ReviewConclusion)
    level_before: Level
    level_after: Level
    next_review: date
    note: str


class CustomerAmlOut(Schema):
    customer: CustomerBrief
    blocked_for_new_business: str | None = Field(
        description="不能办理新业务的原因（证件过期等）；可办理时为空"
    )
    assessments: list[AssessmentOut]
    reviews: list[ReviewOut]


def _assessment(a) -> dict:
    return {
        "id": a.pk,
        "level": a.level,
        "previous_level": a.previous_level,
        "score": a.score,
        "reasons": a.reasons,
        "rated_at": a.rated_at,
        "rated_by": a.rated_by.username if a.rated_by_id else None,
        "next_review": a.next_review,
    }


def _review(r) -> dict:
    return {
        "id": r.pk,
        "reviewed_on": r.reviewed_on,
        "reviewer": r.reviewer.username,
        "conclusion": r.conclusion,
        "level_before": r.level_before,
        "level_after": r.level_after,
        "next_review": r.next_review,
        "note": r.note,
    }


def _customer(request, id: int):
    return customer_get(viewer=request.auth, pk=_check_id(id, "客户档案不存在"))


@router.get(
    "/customers/{id}/aml",
    url_name="compliance_customer_aml",
    summary="客户的反洗钱评级与审核",
    response={200: CustomerAmlOut, **_READ},
)
def get_customer_aml(request, id: int):
    customer = _customer(request, id)
    data = customer_aml(customer=customer)
    return {
        "customer": _brief(customer),
        "blocked_for_new_business": customer_blocked_for_new_business(customer),
        "assessments": [_assessment(a) for a in data["assessments"]],
        "reviews": [_review(r) for r in data["reviews"]],
    }


class RateOut(Schema):
    level: Level
    score: int
    reasons: list[ReasonOut]
    level_changed: bool
    assessment_id: int | None = Field(description="新保存的评级；结果与上次相同时为空")


@router.post(
    "/customers/{id}/aml/rate",
    url_name="compliance_customer_rate",
    summary="按评级规则重新评级",
    response={200: RateOut, **_WRITE},
)
def rate_customer(request, id: int):
    outcome = aml_rate(actor=request.auth, customer_id=_customer(request, id).pk)
    return {
        "level": outcome.rating.level,
        "score": outcome.rating.score,
        "reasons": outcome.rating.reason_dicts,
        "level_changed": outcome.level_changed,
        "assessment_id": outcome.assessment.pk if outcome.assessment else None,
    }


class ReviewIn(InSchema):
    conclusion: _lit(ReviewConclusion)
    level: Level | None = Field(None, description="上调、下调时必填")
    next_review: date | None = Field(None, description="留空按风险等级计算")
    reviewed_on: date | None = Field(None, description="留空为今天")
    note: str = Field("", max_length=2000)


@router.post(
    "/customers/{id}/aml/reviews",
    url_name="compliance_customer_review",
    summary="记录反洗钱审核",
    response={201: ReviewOut, **_WRITE},
)
def review_customer(request, id: int, payload: ReviewIn):
    review = aml_review_record(
        actor=request.auth, customer_id=_customer(request, id).pk, **payload.model_dump()
    )
    return Status(201, _review(review))


# ---------------------------------------------------------------- consents


class ConsentOut(Schema):
    id: int
    customer_id: int
    purpose: _lit(ConsentPurpose)
    channel: _lit(ConsentChannel)
    granted_at: datetime
    evidence: str
    recorded_by: str | None
    withdrawn_at: datetime | None
    withdrawn_channel: str


class ConsentPage(Schema):
    items: list[ConsentOut]
    count: int


def _consent(c) -> dict:
    return {
        "id": c.pk,
        "customer_id": c.customer_id,
        "purpose": c.purpose,
        "channel": c.channel,
        "granted_at": c.granted_at,
        "evidence": c.evidence,
        "recorded_by": c.recorded_by.username if c.recorded_by_id else None,
        "withdrawn_at": c.withdrawn_at,
        "withdrawn_channel": c.withdrawn_channel,
    }


@router.get(
    "/customers/{id}/consents",
    url_name="compliance_consents",
    summary="客户的个人信息处理同意",
    response={200: ConsentPage, **_READ},
)
def list_consents(request, id: int):
    consents = consent_list(customer=_customer(request, id))
    return {"items": [_consent(c) for c in consents], "count": len(consents)}


class ConsentIn(InSchema):
    purpose: _lit(ConsentPurpose)
    channel: _lit(ConsentChannel)
    granted_at: datetime | None = Field(None, description="留空为现在")
    evidence: str = Field("", max_length=100)


@router.post(
    "/customers/{id}/consents",
    url_name="compliance_consent_add",
    summary="记录单独同意",
    response={201: ConsentOut, **_WRITE},
)
def add_consent(request, id: int, payload: ConsentIn):
    consent = consent_record(
        actor=request.auth, customer_id=_customer(request, id).pk, **payload.model_dump()
    )
    return Status(201, _consent(consent))


class ConsentWithdrawIn(InSchema):
    channel: _lit(ConsentChannel)
    withdrawn_at: datetime | None = None


@router.post(
    "/consents/{id}/withdraw",
    url_name="compliance_consent_withdraw",
    summary="记录撤回同意",
    response={200: ConsentOut, **_WRITE},
)
def withdraw_consent(request, id: int, payload: ConsentWithdrawIn):
    consent = consent_withdraw(
        actor=request.auth, consent_id=_check_id(id, "同意记录不存在"), **payload.model_dump()
    )
    return _consent(consent)


# ---------------------------------------------------------------- transaction flags


class FlagOut(Schema):
    id: int
    customer_id: int
    archive_no: str
    kind: _lit(FlagKind)
    amount: Decimal | None
    occurred_on: date | None
    reference: str
    source: str
    reason: str
    state: _lit(FlagState)
    raised_at: datetime
    reviewer: str | None
    reviewed_at: datetime | None
    note: str


class FlagPage(Schema):
    items: list[FlagOut]
    count: int


class FlagSaved(FlagOut):
    created: bool = Field(description="false：同一业务凭证已标记过，返回原标记")


def _flag(f) -> dict:
    return {
        "id": f.pk,
        "customer_id": f.customer_id,
        "archive_no": f.customer.archive_no,
        "kind": f.kind,
        "amount": f.amount,
        "occurred_on": f.occurred_on,
        "reference": f.reference,
        "source": f.source,
        "reason": f.reason,
        "state": f.state,
        "raised_at": f.raised_at,
        "reviewer": f.reviewer.username if f.reviewer_id else None,
        "reviewed_at": f.reviewed_at,
        "note": f.note,
    }


class FlagQuery(CompliancePageQuery):
    state: _lit(FlagState) | None = None
    kind: _lit(FlagKind) | None = None


@router.get(
    "/flags", url_name="compliance_flags", summary="大额/可疑交易标记", response={200: FlagPage, **_READ}
)
def list_flags(request, params: Query[FlagQuery]):
    rows, count = _paged(
        flag_list(viewer=request.auth, state=params.state or "", kind=params.kind or ""), params
    )
    return {"items": [_flag(f) for f in rows], "count": count}


class FlagIn(InSchema):
    customer_id: int = Id("客户 id")
    kind: _lit(FlagKind)
    reason: str = Field(..., min_length=1, max_length=300)
    amount: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    reference: str = Field("", max_length=60, description="业务凭证；同一客户、类型、凭证只标记一次")
    occurred_on: date | None = None


@router.post(
    "/flags",
    url_name="compliance_flag_raise",
    summary="标记大额/可疑交易",
    response={200: FlagSaved, 201: FlagSaved, **_WRITE},
)
def raise_flag(request, payload: FlagIn):
    data = payload.model_dump()
    customer = customer_get(viewer=request.auth, pk=data.pop("customer_id"))
    flag, created = transaction_flag_raise(actor=request.auth, customer_id=customer.pk, source="api", **data)
    return Status(201 if created else 200, {**_flag(flag), "created": created})


class FlagReviewIn(InSchema):
    decision: Literal["report", "dismiss"]
    note: str = Field("", max_length=2000, description="排除时必填")


@router.post(
    "/flags/{id}/review",
    url_name="compliance_flag_review",
    summary="审核交易标记：上报或排除",
    response={200: FlagOut, **_WRITE},
)
def review_flag(request, id: int, payload: FlagReviewIn):
    flag = transaction_flag_review(
        actor=request.auth, flag_id=_check_id(id, "交易标记不存在"), **payload.model_dump()
    )
    return _flag(flag)


# ---------------------------------------------------------------- checks, findings, tasks


class TaskBrief(Schema):
    id: int
    state: _lit(TaskState)
    owner_id: int | None
    owner: str | None
    due_on: date


class FindingOut(Schema):
    id: int
    check: str
    customer_id: int
    archive_no: str
    detail: str
    found_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    task: TaskBrief | None


class FindingPage(Schema):
    items: list[FindingOut]
    count: int


def _task_brief(t) -> dict | None:
    if t is None:
        return None
    return {
        "id": t.pk,
        "state": t.state,
        "owner_id": t.owner_id,
        "owner": t.owner.username if t.owner_id else None,
        "due_on": t.due_on,
    }


def _finding(f) -> dict:
    return {
        "id": f.pk,
        "check": f.check_code,
        "customer_id": f.customer_id,
        "archive_no": f.customer.archive_no,
        "detail": f.detail,
        "found_at": f.found_at,
        "last_seen_at": f.last_seen_at,
        "resolved_at": f.resolved_at,
        "task": _task_brief(getattr(f, "task", None)),
    }


class FindingQuery(CompliancePageQuery):
    check: str | None = Field(None, max_length=40)
    open_only: bool = True


@router.get(
    "/findings", url_name="compliance_findings", summary="合规检查发现", response={200: FindingPage, **_READ}
)
def list_findings(request, params: Query[FindingQuery]):
    rows, count = _paged(
        finding_list(viewer=request.auth, check=params.check or "", open_only=params.open_only), params
    )
    return {"items": [_finding(f) for f in rows], "count": count}


class CheckRunIn(InSchema):
    checks: list[str] | None = Field(
        None,
        max_length=len(CHECKS_BY_CODE),
        description=f"检查项代码，留空为全部：{'、'.join(CHECKS_BY_CODE)}",
    )


class CheckRunOut(Schema):
    id: int
    started_at: datetime
    finished_at: datetime | None
    checks: list[str]
    counts: dict = Field(description="{检查项: {found, new, closed, reopened}}")


@router.post(
    "/checks/run",
    url_name="compliance_checks_run",
    summary="运行合规检查",
    response={200: CheckRunOut, **_WRITE},
)
def run_checks(request, payload: CheckRunIn):
    run = compliance_check_run(actor=request.auth, codes=payload.checks)
    return {
        "id": run.pk,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "checks": run.checks,
        "counts": run.counts,
    }


class TaskOut(Schema):
    id: int
    check: str
    customer_id: int
    archive_no: str
    detail: str
    state: _lit(TaskState)
    owner_id: int | None
    owner: str | None
    due_on: date
    created_at: datetime
    done_at: datetime | None
    verified_at: datetime | None
    version: int


class TaskPage(Schema):
    items: list[TaskOut]
    count: int


def _task(t) -> dict:
    return {
        "id": t.pk,
        "check": t.finding.check_code,
        "customer_id": t.customer_id,
        "archive_no": t.customer.archive_no,
        "detail": t.finding.detail,
        "state": t.state,
        "owner_id": t.owner_id,
        "owner": t.owner.username if t.owner_id else None,
        "due_on": t.due_on,
        "created_at": t.created_at,
        "done_at": t.done_at,
        "verified_at": t.verified_at,
        "version": t.version,
    }


class TaskQuery(CompliancePageQuery):
    state: Literal["open_all", "open", "in_progress", "done", "verified"] | None = Field(
        None, description="open_all：全部未关闭"
    )
    owner_id: int | None = Id("责任人用户 id", None)
    unassigned: bool = False
    overdue: bool = False
    check: str | None = Field(None, max_length=40)


@router.get("/tasks", url_name="compliance_tasks", summary="整改任务", response={200: TaskPage, **_READ})
def list_tasks(request, params: Query[TaskQuery]):
    filters = TaskFilters(
        state=params.state or "",
        owner_id=params.owner_id,
        unassigned=params.unassigned,
        overdue=params.overdue,
        check=params.check or "",
    )
    rows, count = _paged(task_list(viewer=request.auth, filters=filters), params)
    return {"items": [_task(t) for t in rows], "count": count}


class TransitionIn(InSchema):
    transition: Literal[tuple(TASK_TRANSITIONS)]  # type: ignore[valid-type]
    note: str = Field("", max_length=2000, description="reopen 时必填")
    version: int | None = Field(
        None, ge=1, le=2_147_483_647, description="读到的 version；已被他人处理时 409"
    )


def _task_after(request, task_id: int):
    return task_list(viewer=request.auth).get(pk=task_id)


@router.post(
    "/tasks/{id}/transition",
    url_name="compliance_task_transition",
    summary="整改任务流转：start / complete / reopen / verify",
    response={200: TaskOut, **_WRITE},
)
def transition_task(request, id: int, payload: TransitionIn):
    task = task_transition(
        actor=request.auth,
        task_id=_check_id(id, "整改任务不存在"),
        name=payload.transition,
        note=payload.note,
        expected_version=payload.version,
    )
    return _task(_task_after(request, task.pk))


class TaskAssignIn(InSchema):
    owner_id: int | None = Id("整改责任人用户 id", None)
    due_on: date | None = None
    note: str = Field("", max_length=2000)


@router.post(
    "/tasks/{id}/assign",
    url_name="compliance_task_assign",
    summary="指派整改责任人和期限",
    response={200: TaskOut, **_WRITE},
)
def assign_task(request, id: int, payload: TaskAssignIn):
    task = task_assign(actor=request.auth, task_id=_check_id(id, "整改任务不存在"), **payload.model_dump())
    return _task(_task_after(request, task.pk))


# ---------------------------------------------------------------- personal-information requests


class PiRequestOut(Schema):
    id: int
    customer_id: int
    archive_no: str
    kind: _lit(RequestKind)
    channel: _lit(ConsentChannel)
    received_on: date
    due_on: date = Field(description="答复期限（受理后 15 个工作日，可配置）")
    description: str
    handler: str | None
    state: _lit(RequestState)
    outcome: str
    outcome_note: str
    closed_on: date | None
    retention_hold: bool = Field(description="删除请求：客户资料处于法定保存期内")
    retention_until: date | None
    retention_basis: str
    retention_ref: str


class PiRequestPage(Schema):
    items: list[PiRequestOut]
    count: int


def _pi(r) -> dict:
    return {
        **{f: getattr(r, f) for f in PiRequestOut.model_fields if f not in ("id", "archive_no", "handler")},
        "id": r.pk,
        "archive_no": r.customer.archive_no,
        "handler": r.handler.username if r.handler_id else None,
    }


class PiQuery(CompliancePageQuery):
    state: _lit(RequestState) | None = None
    overdue: bool = False


@router.get(
    "/pi-requests",
    url_name="compliance_pi_requests",
    summary="个人信息权利请求",
    response={200: PiRequestPage, **_READ},
)
def list_pi_requests(request, params: Query[PiQuery]):
    rows, count = _paged(
        pi_request_list(viewer=request.auth, state=params.state or "", overdue=params.overdue), params
    )
    return {"items": [_pi(r) for r in rows], "count": count}


class PiIn(InSchema):
    customer_id: int = Id("客户 id")
    kind: _lit(RequestKind)
    channel: _lit(ConsentChannel)
    received_on: date | None = Field(None, description="留空为今天")
    description: str = Field("", max_length=2000)
    handler_id: int | None = Id("经办人用户 id", None)


@router.post(
    "/pi-requests",
    url_name="compliance_pi_request_create",
    summary="受理个人信息权利请求",
    response={201: PiRequestOut, **_WRITE},
)
def create_pi_request(request, payload: PiIn):
    req = pi_request_record(actor=request.auth, **payload.model_dump())
    return Status(201, _pi(req))


class PiCloseIn(InSchema):
    outcome: _lit(RequestOutcome)
    note: str = Field("", max_length=4000, description="答复内容；依法保留时可留空")
    closed_on: date | None = None
    retention_ref: str = Field("", max_length=60, description="销毁或匿名化流程的编号")


@router.post(
    "/pi-requests/{id}/close",
    url_name="compliance_pi_request_close",
    summary="答复并办结请求",
    response={200: PiRequestOut, **_WRITE},
)
def close_pi_request(request, id: int, payload: PiCloseIn):
    req = pi_request_close(
        actor=request.auth, request_id=_check_id(id, "个人信息权利请求不存在"), **payload.model_dump()
    )
    return _pi(req)
