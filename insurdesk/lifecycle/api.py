"""REST endpoints of retention and destruction (`/api/v1/lifecycle`).

A destruction request is addressed through its archive (`/customers/{id}/destruction`), which has at
most one open request; deciding names the request id that was read, so a request replaced meanwhile
is not decided by mistake.
"""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from insurdesk.common.errors import Conflict, FieldError, NotFound
from insurdesk.lifecycle.models import DestructionRecord, DestructionRequest, RequestState
from insurdesk.lifecycle.rules import retention_rules
from insurdesk.lifecycle.selectors import (
    customer_for_retention,
    customer_requests,
    destruction_records,
    destruction_requests,
    due_customers,
    due_rows,
    retention_status,
)
from insurdesk.lifecycle.services import (
    destruction_approve,
    destruction_reject,
    destruction_request,
    destruction_withdraw,
)
from insurdesk.org.api import ErrorsOut, InSchema, StrictSchema

router = Router(tags=["lifecycle"])

MAX_ID = 2**63 - 1
_READ = {401: ErrorsOut, 403: ErrorsOut, 422: ErrorsOut}
_ONE = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}
StateT = Literal[tuple(RequestState.values)]  # type: ignore[valid-type]


class RetentionRuleOut(Schema):
    code: str
    label: str
    records: str = Field(description="适用的资料")
    anchor: str = Field(description="起算事件")
    years: int
    minimum_years: int = Field(description="法定最短年限；配置不能短于它")
    source: str = Field(description="法律依据")


class LifecyclePageQuery(StrictSchema):
    page: int = Field(1, ge=1, le=10**6)
    page_size: int = Field(20, ge=1, le=200)


class RequestsQuery(LifecyclePageQuery):
    state: StateT | None = None


class RetentionDueOut(Schema):
    customer_id: int
    archive_no: str
    kind: str
    name: str
    unit: str
    relationship_ended_on: date = Field(description="业务关系结束之日")
    destroyable_from: date = Field(description="各项保存期限届满后，最早可销毁之日")
    open_request_id: int | None


class RetentionDuePage(Schema):
    items: list[RetentionDueOut]
    count: int


class OutcomeOut(Schema):
    rule: str
    label: str
    what: str = Field(description="起算事件")
    anchor: date | None = Field(description="起算日；为空表示业务关系或合同尚未结束")
    ends_on: date | None


class RetentionOut(Schema):
    customer_id: int
    archive_no: str
    destroyed: bool
    due: bool = Field(description="各项保存期限均已届满，可申请销毁")
    ends_on: date | None = Field(description="最晚届满的期限；为空表示尚未起算")
    binding_rule: str
    refusal: str | None = Field(description="不能销毁的原因（规则、依据、届满日）")
    relationship_ended_on: date | None
    open_contracts: list[str]
    outcomes: list[OutcomeOut]
    open_request_id: int | None


class RequestIn(InSchema):
    reason: str = Field(..., min_length=1, max_length=500, description="申请理由")


class DestructionDecisionIn(InSchema):
    request_id: int = Field(..., ge=1, le=MAX_ID, description="读到的待审批申请 id")
    note: str = Field("", max_length=500, description="审批意见（驳回时必填）")


class DestructionWithdrawIn(InSchema):
    request_id: int = Field(..., ge=1, le=MAX_ID)


class RequestOut(Schema):
    id: int
    customer_id: int
    archive_no: str
    state: StateT
    reason: str
    requested_by: str
    requested_at: datetime
    rule: str
    retention_ended_on: date
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str


class RequestPage(Schema):
    items: list[RequestOut]
    count: int


class RecordOut(Schema):
    id: int
    request_id: int
    customer_id: int
    archive_no: str
    kind: str
    reason: str
    requested_by: str
    requested_at: datetime
    approved_by: str
    approved_at: datetime
    rule: str
    retention_ended_on: date
    counts: dict[str, int]


class RecordPage(Schema):
    items: list[RecordOut]
    count: int


def _request_out(r: DestructionRequest) -> dict:
    return {
        "id": r.pk,
        "customer_id": r.customer_id,
        "archive_no": r.archive_no,
        "state": r.state,
        "reason": r.reason,
        "requested_by": r.requested_by.get_username(),
        "requested_at": r.requested_at,
        "rule": r.rule,
        "retention_ended_on": r.retention_ended_on,
        "decided_by": r.decided_by.get_username() if r.decided_by_id else None,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
    }


def _record_out(r: DestructionRecord) -> dict:
    return {
        "id": r.pk,
        "request_id": r.request_id,
        "customer_id": r.customer_id,
        "archive_no": r.archive_no,
        "kind": r.kind,
        "reason": r.reason,
        "requested_by": r.requested_by.get_username(),
        "requested_at": r.requested_at,
        "approved_by": r.approved_by.get_username(),
        "approved_at": r.approved_at,
        "rule": r.rule,
        "retention_ended_on": r.retention_ended_on,
        "counts": r.counts,
    }


def _page(qs, q: LifecyclePageQuery) -> tuple[list, int]:
    count = qs.count()
    offset = (q.page - 1) * q.page_size
    return (list(qs[offset : offset + q.page_size]) if offset < count else []), count


def _customer(viewer, id: int):
    if not 1 <= id <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "客户档案不存在"))
    return customer_for_retention(viewer=viewer, pk=id)


def _open_request(customer, request_id: int) -> int:
    if not any(r.pk == request_id and r.is_open for r in customer_requests(customer=customer)):
        raise Conflict(FieldError("request_id", "not_open", "该申请已处理或不属于此档案，请重新读取"))
    return request_id


@router.get(
    "/rules",
    url_name="lifecycle_rules",
    summary="保存期限规则",
    response={200: list[RetentionRuleOut], **_READ},
)
def rules(request):
    """Return the retention rules in force, with their legal sources."""
    return [vars(rule) for rule in retention_rules().values()]


@router.get(
    "/due",
    url_name="lifecycle_due",
    summary="保存期限已届满、可申请销毁的档案",
    response={200: RetentionDuePage, **_READ},
)
def due(request, params: Query[LifecyclePageQuery]):
    qs, meta = due_customers(viewer=request.auth)
    rows, count = _page(qs, params)
    items = [
        {
            "customer_id": r.customer.pk,
            "archive_no": r.customer.archive_no,
            "kind": r.customer.kind,
            "name": r.customer.name,
            "unit": r.customer.unit.name,
            "relationship_ended_on": r.relationship_ended_on,
            "destroyable_from": r.earliest_destruction,
            "open_request_id": r.open_request_id,
        }
        for r in due_rows(rows, meta)
    ]
    return {"items": items, "count": count}


@router.get(
    "/customers/{id}/retention",
    url_name="lifecycle_retention",
    summary="一份档案的保存期限",
    response={200: RetentionOut, **_ONE},
)
def retention(request, id: int):
    customer = _customer(request.auth, id)
    status = retention_status(customer=customer)
    open_request = next((r.pk for r in customer_requests(customer=customer) if r.is_open), None)
    return {
        "customer_id": customer.pk,
        "archive_no": customer.archive_no,
        "destroyed": status.destroyed,
        "due": status.due,
        "ends_on": status.ends_on,
        "binding_rule": status.binding.rule.code,
        "refusal": None if status.due else status.refusal(),
        "relationship_ended_on": status.facts.ended_on,
        "open_contracts": status.facts.open_contracts,
        "outcomes": [
            {
                "rule": o.rule.code,
                "label": o.rule.label,
                "what": o.what,
                "anchor": o.anchor,
                "ends_on": o.ends_on,
            }
            for o in status.outcomes
        ],
        "open_request_id": open_request,
    }


@router.post(
    "/customers/{id}/destruction",
    url_name="lifecycle_request",
    summary="申请销毁（须另一人审批）",
    response={201: RequestOut, **_WRITE},
)
def request_destruction(request, id: int, payload: RequestIn):
    customer = _customer(request.auth, id)
    req = destruction_request(actor=request.auth, customer_id=customer.pk, reason=payload.reason)
    return Status(201, _request_out(req))


@router.post(
    "/customers/{id}/destruction/withdraw",
    url_name="lifecycle_withdraw",
    summary="申请人撤回销毁申请",
    response={200: RequestOut, **_WRITE},
)
def withdraw(request, id: int, payload: DestructionWithdrawIn):
    customer = _customer(request.auth, id)
    req = destruction_withdraw(actor=request.auth, request_id=_open_request(customer, payload.request_id))
    return _request_out(req)


@router.post(
    "/customers/{id}/destruction/approve",
    url_name="lifecycle_approve",
    summary="审批并执行销毁（匿名化）；申请人不能审批",
    response={200: RecordOut, **_WRITE},
)
def approve(request, id: int, payload: DestructionDecisionIn):
    customer = _customer(request.auth, id)
    record = destruction_approve(
        actor=request.auth, request_id=_open_request(customer, payload.request_id), note=payload.note
    )
    return _record_out(record)


@router.post(
    "/customers/{id}/destruction/reject",
    url_name="lifecycle_reject",
    summary="驳回销毁申请",
    response={200: RequestOut, **_WRITE},
)
def reject(request, id: int, payload: DestructionDecisionIn):
    customer = _customer(request.auth, id)
    req = destruction_reject(
        actor=request.auth, request_id=_open_request(customer, payload.request_id), note=payload.note
    )
    return _request_out(req)


@router.get(
    "/requests", url_name="lifecycle_requests", summary="销毁申请", response={200: RequestPage, **_READ}
)
def requests(request, params: Query[RequestsQuery]):
    rows, count = _page(destruction_requests(viewer=request.auth, state=params.state or ""), params)
    return {"items": [_request_out(r) for r in rows], "count": count}


@router.get("/records", url_name="lifecycle_records", summary="销毁记录", response={200: RecordPage, **_READ})
def records(request, params: Query[LifecyclePageQuery]):
    rows, count = _page(destruction_records(viewer=request.auth), params)
    return {"items": [_record_out(r) for r in rows], "count": count}
