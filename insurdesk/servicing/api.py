"""REST endpoints of servicing (`/api/v1/servicing-requests`, `/api/v1/policies/{id}/endorsements`).

The published contract of issue 17: POST a request {policy_id, kind, changes, reason, channel,
effective_date} → 201 {id, state, approvals_needed, …}; approve and reject with {reason}; an illegal
transition answers 409 with code `state`; every other refusal 422 {errors: [{field, code, message}]}.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from insurdesk.common.errors import FieldError, NotAllowed, NotFound
from insurdesk.org.api import ErrorsOut, InSchema, storable_text
from insurdesk.org.policy import can
from insurdesk.policies.selectors import policy_get
from insurdesk.servicing.models import Channel, Endorsement, Kind, Requester, ServicingRequest, State
from insurdesk.servicing.selectors import (
    QUEUES,
    SORTS,
    RequestFilters,
    policy_endorsements,
    request_get,
    request_list,
)
from insurdesk.servicing.services import (
    servicing_approve,
    servicing_documents,
    servicing_reject,
    servicing_request_create,
    servicing_underwrite,
    servicing_withdraw,
)

router = Router(tags=["servicing"])

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200
_READ = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}

KindT = Literal[tuple(Kind.values)]  # type: ignore[valid-type]
StateT = Literal[tuple(State.values)]  # type: ignore[valid-type]
ChannelT = Literal[tuple(Channel.values)]  # type: ignore[valid-type]
ApplicantT = Literal[tuple(Requester.values)]  # type: ignore[valid-type]
QueueT = Literal[tuple(QUEUES)]  # type: ignore[valid-type]
SortT = Literal[tuple(SORTS)]  # type: ignore[valid-type]


def _require(actor, action: str) -> None:
    if not can(actor, action):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权执行此操作"))


def _id(value: int, message: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(FieldError("", "not_found", message))
    return value


# ---------------------------------------------------------------- schemas


class ServicingRequestIn(InSchema):
    policy_id: int = Field(..., ge=1, le=MAX_ID, description="保单 id")
    kind: KindT = Field(..., description="保全项目")
    changes: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "变更内容，字段名同客户与保单接口：contact {mobile, email, residence_address, mailing_address, "
            "postal_code}；beneficiary {beneficiary_legal, beneficiaries[{order, name, share, id_type, "
            "id_number, relationship}], insured_consent}；payment_account {bank_name, bank_account, "
            "account_holder}；sum_insured {sum_insured}；rider_add {product_code, sum_insured, premium, "
            "coverage_term}；rider_remove {seq}；members {add[…], remove[member id]}；surrender {}；"
            "reinstatement {health_changed, health_notes, method}；loan {amount}；loan_repay {amount}"
        ),
    )
    reason: str = Field("", max_length=500, description="申请原因")
    channel: ChannelT = Field("api", description="申请渠道：counter 柜面 / phone 电话 / agent 业务员 / api")
    effective_date: date | None = Field(None, description="生效日期，默认今天")
    applicant: ApplicantT = Field(
        "policyholder", description="申请人：policyholder 投保人 / insured 被保险人"
    )
    documents: list[str] | None = Field(
        None, max_length=20, description="已收到的资料（默认本项目资料清单全部已收）"
    )


class ServicingReasonIn(InSchema):
    reason: str = Field("", max_length=500, description="审批意见或拒绝原因（拒绝时必填）")


class ServicingDocumentsIn(InSchema):
    received: list[str] = Field(..., max_length=20, description="补收的资料名称")


class UnderwritingIn(InSchema):
    accept: bool = Field(..., description="true 同意，false 拒绝")
    note: str = Field("", max_length=500, description="核保意见（拒绝时必填）")


class UserRef(Schema):
    id: int
    username: str
    name: str


class DiffRow(Schema):
    field: str
    label: str
    before: str
    after: str


class DocumentOut(Schema):
    name: str
    received: bool


class ServicingRequestOut(Schema):
    id: int
    request_no: str
    policy_id: int
    policy_no: str
    kind: KindT
    kind_label: str
    state: StateT
    state_label: str
    channel: ChannelT
    applicant: ApplicantT
    reason: str
    diff: list[DiffRow]
    documents: list[DocumentOut]
    documents_missing: list[str]
    effective_date: date
    approvals_needed: int
    approvals_given: int
    moves_money: bool
    amount: Decimal
    requested_by: UserRef | None
    requested_at: datetime
    first_approver: UserRef | None
    second_approver: UserRef | None
    underwriting_note: str
    closed_reason: str
    applied_at: datetime | None
    endorsement_no: str | None


class ServicingRequestPage(Schema):
    items: list[ServicingRequestOut]
    count: int


class EndorsementOut(Schema):
    id: int
    endorsement_no: str
    request_id: int
    request_no: str
    kind: KindT
    kind_label: str
    effective_date: date
    amount: Decimal
    text: str
    diff: list[DiffRow]
    created_at: datetime


class EndorsementPage(Schema):
    items: list[EndorsementOut]
    count: int


class RequestQuery(Schema):
    state: StateT | None = None
    kind: KindT | None = None
    policy_id: int | None = Field(None, ge=1, le=MAX_ID)
    queue: QueueT | None = Field(None, description="待办队列：approve/second/underwriting/due/open/all")
    sort: SortT | None = Field(None, description="排序：requested_at、-effective_date、-amount…")
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_absent(cls, value, info):
        if value == "":
            return cls.model_fields[info.field_name].default
        return storable_text(value)


def _user(u) -> dict | None:
    if u is None:
        return None
    return {"id": u.pk, "username": u.username, "name": u.get_full_name() or u.username}


def request_out(req: ServicingRequest) -> dict:
    try:
        endorsement = req.endorsement.endorsement_no
    except Endorsement.DoesNotExist:
        endorsement = None
    return {
        "id": req.pk,
        "request_no": req.request_no,
        "policy_id": req.policy_id,
        "policy_no": req.policy.policy_no,
        "kind": req.kind,
        "kind_label": req.get_kind_display(),
        "state": req.state,
        "state_label": req.get_state_display(),
        "channel": req.channel,
        "applicant": req.applicant,
        "reason": req.reason,
        "diff": req.diff,
        "documents": req.documents,
        "documents_missing": req.documents_missing,
        "effective_date": req.effective_date,
        "approvals_needed": req.approvals_needed,
        "approvals_given": req.approvals_given,
        "moves_money": req.moves_money,
        "amount": req.amount,
        "requested_by": _user(req.requested_by),
        "requested_at": req.requested_at,
        "first_approver": _user(req.first_approver),
        "second_approver": _user(req.second_approver),
        "underwriting_note": req.underwriting_note,
        "closed_reason": req.closed_reason,
        "applied_at": req.applied_at,
        "endorsement_no": endorsement,
    }


def endorsement_out(e: Endorsement) -> dict:
    return {
        "id": e.pk,
        "endorsement_no": e.endorsement_no,
        "request_id": e.request_id,
        "request_no": e.request.request_no,
        "kind": e.kind,
        "kind_label": e.get_kind_display(),
        "effective_date": e.effective_date,
        "amount": e.amount,
        "text": e.text,
        "diff": e.diff,
        "created_at": e.created_at,
    }


def _visible(viewer, id: int) -> ServicingRequest:
    return request_get(viewer=viewer, pk=_id(id, "保全申请不存在"))


# ---------------------------------------------------------------- endpoints


@router.post(
    "/servicing-requests",
    url_name="servicing_request_create",
    summary="受理保全申请",
    response={201: ServicingRequestOut, **_WRITE},
)
def create_request(request, payload: ServicingRequestIn):
    """Take a request; refused input answers 422 with every field, a closed policy 409 `state`."""
    _require(request.auth, "servicing.request")
    req = servicing_request_create(
        actor=request.auth,
        policy_id=payload.policy_id,
        kind=payload.kind,
        changes=payload.changes,
        reason=payload.reason,
        channel=payload.channel,
        effective_date=payload.effective_date,
        applicant=payload.applicant,
        documents=payload.documents,
    )
    return Status(201, request_out(_visible(request.auth, req.pk)))


@router.get(
    "/servicing-requests",
    url_name="servicing_request_list",
    summary="保全申请列表（分页）",
    response={200: ServicingRequestPage, **_READ},
)
def list_requests(request, params: Query[RequestQuery]):
    _require(request.auth, "servicing.view")
    qs = request_list(
        viewer=request.auth,
        filters=RequestFilters(
            queue=params.queue or "",
            state=params.state or "",
            kind=params.kind or "",
            policy_id=params.policy_id,
            sort=params.sort or "",
        ),
    )
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    rows = list(qs[offset : offset + params.page_size]) if offset < count else []
    return {"items": [request_out(r) for r in rows], "count": count}


@router.get(
    "/servicing-requests/{id}",
    url_name="servicing_request_detail",
    summary="读取一份保全申请",
    response={200: ServicingRequestOut, **_READ},
)
def get_request(request, id: int):
    _require(request.auth, "servicing.view")
    return request_out(_visible(request.auth, id))


@router.post(
    "/servicing-requests/{id}/approve",
    url_name="servicing_request_approve",
    summary="审批同意（最后一位审批人同意且已到生效日时立即生效）",
    response={200: ServicingRequestOut, **_WRITE},
)
def approve(request, id: int, payload: ServicingReasonIn):
    _require(request.auth, "servicing.approve")
    req = _visible(request.auth, id)
    servicing_approve(actor=request.auth, request_id=req.pk, reason=payload.reason)
    return request_out(_visible(request.auth, id))


@router.post(
    "/servicing-requests/{id}/reject",
    url_name="servicing_request_reject",
    summary="审批拒绝（须填写原因）",
    response={200: ServicingRequestOut, **_WRITE},
)
def reject(request, id: int, payload: ServicingReasonIn):
    _require(request.auth, "servicing.approve")
    req = _visible(request.auth, id)
    servicing_reject(actor=request.auth, request_id=req.pk, reason=payload.reason)
    return request_out(_visible(request.auth, id))


@router.post(
    "/servicing-requests/{id}/withdraw",
    url_name="servicing_request_withdraw",
    summary="撤回保全申请（须填写原因）",
    response={200: ServicingRequestOut, **_WRITE},
)
def withdraw(request, id: int, payload: ServicingReasonIn):
    _require(request.auth, "servicing.request")
    req = _visible(request.auth, id)
    servicing_withdraw(actor=request.auth, request_id=req.pk, reason=payload.reason)
    return request_out(_visible(request.auth, id))


@router.post(
    "/servicing-requests/{id}/documents",
    url_name="servicing_request_documents",
    summary="补收资料",
    response={200: ServicingRequestOut, **_WRITE},
)
def documents(request, id: int, payload: ServicingDocumentsIn):
    _require(request.auth, "servicing.request")
    req = _visible(request.auth, id)
    servicing_documents(actor=request.auth, request_id=req.pk, received=payload.received)
    return request_out(_visible(request.auth, id))


@router.post(
    "/servicing-requests/{id}/underwriting",
    url_name="servicing_request_underwriting",
    summary="保全核保（转核保的申请）",
    response={200: ServicingRequestOut, **_WRITE},
)
def underwriting(request, id: int, payload: UnderwritingIn):
    _require(request.auth, "servicing.underwrite")
    req = _visible(request.auth, id)
    servicing_underwrite(actor=request.auth, request_id=req.pk, accept=payload.accept, note=payload.note)
    return request_out(_visible(request.auth, id))


@router.get(
    "/policies/{id}/endorsements",
    url_name="policy_endorsements",
    summary="保单的批单（变更前后）",
    response={200: EndorsementPage, **_READ},
)
def endorsements(request, id: int):
    _require(request.auth, "servicing.view")
    policy = policy_get(viewer=request.auth, pk=_id(id, "保单不存在"))
    rows = list(policy_endorsements(policy))
    return {"items": [endorsement_out(e) for e in rows], "count": len(rows)}
