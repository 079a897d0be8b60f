"""REST endpoints of claims (`/api/v1/claims`): report, the handling steps, reads.

Refusals have the one error shape; an illegal step for the claim's state is 409 with code `state`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from insurdesk.claims import handling
from insurdesk.claims.models import Claim, ClaimState, ClaimType, Decision, ReportChannel
from insurdesk.claims.selectors import ClaimFilters, claim_get, claim_queue, overdue_on
from insurdesk.common.errors import FieldError, NotAllowed, NotFound
from insurdesk.customers.selectors import shown
from insurdesk.org.api import ErrorsOut, InSchema, storable_text
from insurdesk.org.policy import can
from insurdesk.policies.models import RECORDABLE_METHODS

router = Router(tags=["claims"])

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200
_READ = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}

StateT = Literal[tuple(ClaimState.values)]  # type: ignore[valid-type]
TypeT = Literal[tuple(ClaimType.values)]  # type: ignore[valid-type]
DecisionT = Literal[tuple(Decision.values)]  # type: ignore[valid-type]
ChannelT = Literal[tuple(c for c in ReportChannel.values if c != "import")]  # type: ignore[valid-type]
MethodT = Literal[tuple(str(m) for m in RECORDABLE_METHODS)]  # type: ignore[valid-type]


def _require(actor, action: str) -> None:
    if not can(actor, action):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权执行此操作"))


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "理赔不存在"))
    return value


# ---------------------------------------------------------------- schemas


class ReporterIn(InSchema):
    name: str = Field(max_length=100, description="报案人姓名")
    relation: str = Field(max_length=20, description="与被保险人关系（本人、配偶、子女…）")
    phone: str | None = Field(None, max_length=30, description="手机或固定电话")


class ReportIn(InSchema):
    policy_id: int | None = Field(None, ge=1, le=MAX_ID)
    policy_no: str | None = Field(None, max_length=20)
    claim_type: TypeT
    event_date: date = Field(description="出险日期")
    reported_at: datetime | None = Field(None, description="报案时间，默认为现在")
    reporter: ReporterIn
    description: str = Field(max_length=500, description="出险经过")
    amount_claimed: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    place: str | None = Field(None, max_length=200)
    channel: ChannelT = Field(
        "api", description="phone 电话 / counter 柜面 / agent 业务员 / online 网上 / api"
    )


class DocumentsIn(InSchema):
    received: list[str] = Field(default_factory=list, max_length=50, description="收到的资料代码")
    notify_missing: bool = Field(False, description="一次性通知缺少的全部资料（每案一次）")


class AssessIn(InSchema):
    covered_amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    deductible: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    ratio: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    suicide: bool = Field(False, description="身故原因为自杀")
    findings: str = Field(max_length=2000, description="核赔意见")


class DecideIn(InSchema):
    decision: DecisionT
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    reasons: str | None = Field(None, max_length=2000)


class ApproveIn(InSchema):
    approve: bool = True
    reason: str | None = Field(None, max_length=1000)


class PayIn(InSchema):
    method: MethodT
    paid_on: date | None = None
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    reference: str | None = Field(None, max_length=60)


class AdvanceIn(InSchema):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    method: MethodT
    reason: str = Field(max_length=500)
    paid_on: date | None = None
    reference: str | None = Field(None, max_length=60)


class ReasonIn(InSchema):
    reason: str | None = Field(None, max_length=300)


class SentIn(InSchema):
    sent_on: date | None = None


class DeadlineOut(Schema):
    kind: str
    label: str
    due: date
    overdue: bool


class ClaimSummary(Schema):
    id: int
    claim_no: str
    state: StateT
    state_label: str
    claim_type: str
    policy_id: int
    policy_no: str
    claimant: str
    event_date: date | None
    reported_on: date
    amount_claimed: Decimal
    amount_paid: Decimal | None
    next_deadline: date | None
    next_deadline_kind: str
    overdue: bool


class ClaimOut(ClaimSummary):
    channel: str
    reported_at: datetime | None
    place: str
    description: str
    reporter: dict
    premium_owed: Decimal
    documents: list[dict]
    documents_complete_on: date | None
    deadlines: list[DeadlineOut]
    limitation_ends: date | None
    late_report: bool
    remaining_sum_insured: Decimal
    assessment: dict | None
    decision: dict | None
    approvals_needed: int
    payments: list[dict]
    notices: list[dict]
    timeline: list[dict]


class ClaimPage(Schema):
    items: list[ClaimSummary]
    count: int


class ClaimQuery(Schema):
    state: StateT | None = None
    overdue: bool | None = None
    policy_id: int | None = Field(None, ge=1, le=MAX_ID)
    q: str | None = Field(None, max_length=30, description="赔案号或保单号")
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_absent(cls, value, info):
        if value == "":
            return cls.model_fields[info.field_name].default
        return storable_text(value)


def summary(c: Claim, today: date) -> dict:
    return {
        "id": c.pk, "claim_no": c.claim_no, "state": c.state, "state_label": c.get_state_display(),
        "claim_type": c.claim_type, "policy_id": c.policy_id, "policy_no": c.policy.policy_no,
        "claimant": c.claimant.name, "event_date": c.event_date, "reported_on": c.reported_on,
        "amount_claimed": c.amount_claimed, "amount_paid": c.amount_paid, "next_deadline": c.next_deadline,
        "next_deadline_kind": c.deadline_kind, "overdue": overdue_on(c, today),
    }  # fmt: skip


def record(viewer, c: Claim) -> dict:
    today = timezone.localdate()
    a = handling.latest_assessment(c)
    late = handling.limitation(c)
    return {
        **summary(c, today),
        "channel": c.channel,
        "reported_at": c.reported_at,
        "place": c.place,
        "description": c.description,
        "reporter": {
            "name": c.reporter_name,
            "relation": c.reporter_relation,
            "phone": shown(viewer, "mobile", c.reporter_phone),
        },
        "premium_owed": c.premium_owed,
        "documents": c.documents,
        "documents_complete_on": c.documents_complete_on,
        "deadlines": [
            {"kind": k.kind, "label": deadline_label_of(k.kind), "due": k.due, "overdue": k.due < today}
            for k in handling.claim_clocks(c)
        ],
        "limitation_ends": late,
        "late_report": bool(late and late < c.reported_on),
        "remaining_sum_insured": handling.remaining_sum_insured(c.policy),
        "assessment": None
        if a is None
        else {
            "in_force": a.in_force,
            "waiting_days": a.waiting_days,
            "in_waiting_period": a.in_waiting_period,
            "excluded": a.excluded,
            "sum_insured": a.sum_insured,
            "remaining_sum_insured": a.remaining_sum_insured,
            "covered_amount": a.covered_amount,
            "deductible": a.deductible,
            "ratio": a.ratio,
            "premium_owed": a.premium_owed,
            "payable": a.payable,
            "findings": a.findings,
            "checks": a.checks,
        },  # fmt: skip
        "decision": None
        if not c.decision
        else {
            "decision": c.decision,
            "amount": c.decision_amount,
            "reasons": c.decision_reasons,
            "decided_on": c.decided_on,
            "decided_by": c.decided_by.username if c.decided_by else None,
            "approval_needed": c.approval_needed,
            "approved_by": c.approved_by.username if c.approved_by else None,
            "agreed_on": c.agreed_on,
        },  # fmt: skip
        "approvals_needed": 1 if c.state == ClaimState.PENDING_APPROVAL else 0,
        "payments": [
            {
                "kind": p.kind,
                "payee": p.payee_name,
                "payee_role": p.payee_role,
                "share": p.share,
                "amount": p.amount,
                "method": p.method,
                "paid_on": p.paid_on,
                "reference": p.reference,
            }
            for p in c.payments.all()
        ],  # fmt: skip
        "notices": [
            {
                "id": n.pk,
                "kind": n.kind,
                "number": n.number,
                "items": n.items,
                "reasons": n.reasons,
                "written_on": n.written_on,
                "due_on": n.due_on,
                "sent_on": n.sent_on,
            }
            for n in c.notices.all()
        ],  # fmt: skip
        "timeline": [
            {
                "at": e.at,
                "action": e.action,
                "from": e.state_from,
                "to": e.state_to,
                "note": e.note,
                "actor": e.actor.username if e.actor else None,
            }
            for e in c.events.select_related("actor")
        ],  # fmt: skip
    }


def deadline_label_of(kind: str) -> str:
    from insurdesk.claims.calculations import CLOCK_LABELS

    return CLOCK_LABELS.get(kind, kind)


def _visible(request, id: int) -> Claim:
    return claim_get(viewer=request.auth, pk=_id(id))


def _out(request, id: int) -> dict:
    return record(request.auth, _visible(request, id))


# ---------------------------------------------------------------- endpoints


@router.post("", url_name="claim_report", summary="报案（登记理赔）", response={201: ClaimOut, **_WRITE})
def report(request, payload: ReportIn):
    """Report a claim on a policy found by id or number; an event outside the cover is refused."""
    _require(request.auth, "claim.report")
    data = payload.model_dump()
    data["reporter"] = payload.reporter.model_dump()
    claim = handling.claim_report(actor=request.auth, data=data)
    return Status(201, _out(request, claim.pk))


@router.get(
    "",
    url_name="claim_list",
    summary="理赔列表（按下一时限排序，超时限的在前；无时限的在后）",
    response={200: ClaimPage, **_READ},
)
def list_claims(request, params: Query[ClaimQuery]):
    _require(request.auth, "claim.view")
    today = timezone.localdate()
    qs = claim_queue(
        viewer=request.auth,
        query=params.q or "",
        filters=ClaimFilters(state=params.state or "", policy_id=params.policy_id, overdue=params.overdue),
        today=today,
        open_only=False,
    )
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    rows = list(qs[offset : offset + params.page_size]) if offset < count else []
    return {"items": [summary(c, today) for c in rows], "count": count}


@router.get("/{id}", url_name="claim_detail", summary="读取一个赔案", response={200: ClaimOut, **_READ})
def get_claim(request, id: int):
    _require(request.auth, "claim.view")
    return _out(request, id)


@router.post(
    "/{id}/documents", url_name="claim_documents", summary="登记理赔资料", response={200: ClaimOut, **_WRITE}
)
def documents(request, id: int, payload: DocumentsIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_documents(
        actor=request.auth,
        claim_id=claim.pk,
        received=payload.received,
        notify_missing=payload.notify_missing,
    )
    return _out(request, id)


@router.post(
    "/{id}/assess", url_name="claim_assess", summary="核赔（理算）", response={200: ClaimOut, **_WRITE}
)
def assess(request, id: int, payload: AssessIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_assess(actor=request.auth, claim_id=claim.pk, data=payload.model_dump())
    return _out(request, id)


@router.post("/{id}/decide", url_name="claim_decide", summary="理赔结论", response={200: ClaimOut, **_WRITE})
def decide(request, id: int, payload: DecideIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_decide(
        actor=request.auth, claim_id=claim.pk, decision=payload.decision, reasons=payload.reasons or "",
        amount=payload.amount,
    )  # fmt: skip
    return _out(request, id)


@router.post(
    "/{id}/approve", url_name="claim_approve", summary="复核（第二人）", response={200: ClaimOut, **_WRITE}
)
def approve(request, id: int, payload: ApproveIn):
    _require(request.auth, "claim.approve")
    claim = _visible(request, id)
    handling.claim_approve(
        actor=request.auth, claim_id=claim.pk, approve=payload.approve, reason=payload.reason or ""
    )
    return _out(request, id)


@router.post("/{id}/pay", url_name="claim_pay", summary="支付赔款", response={200: ClaimOut, **_WRITE})
def pay(request, id: int, payload: PayIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_pay(
        actor=request.auth, claim_id=claim.pk, method=payload.method, paid_on=payload.paid_on,
        reference=payload.reference or "", amount=payload.amount,
    )  # fmt: skip
    return _out(request, id)


@router.post(
    "/{id}/advance", url_name="claim_advance", summary="先予支付", response={200: ClaimOut, **_WRITE}
)
def advance(request, id: int, payload: AdvanceIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_advance(
        actor=request.auth, claim_id=claim.pk, amount=payload.amount, method=payload.method,
        reason=payload.reason, paid_on=payload.paid_on, reference=payload.reference or "",
    )  # fmt: skip
    return _out(request, id)


@router.post(
    "/{id}/close", url_name="claim_close", summary="结案（或撤案）", response={200: ClaimOut, **_WRITE}
)
def close(request, id: int, payload: ReasonIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_close(actor=request.auth, claim_id=claim.pk, reason=payload.reason or "")
    return _out(request, id)


@router.post("/{id}/reopen", url_name="claim_reopen", summary="重开", response={200: ClaimOut, **_WRITE})
def reopen(request, id: int, payload: ReasonIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_reopen(actor=request.auth, claim_id=claim.pk, reason=payload.reason or "")
    return _out(request, id)


@router.post(
    "/{id}/notices/{notice_id}/sent",
    url_name="claim_notice_sent",
    summary="通知书已送达",
    response={200: ClaimOut, **_WRITE},
)
def notice_sent(request, id: int, notice_id: int, payload: SentIn):
    _require(request.auth, "claim.handle")
    claim = _visible(request, id)
    handling.claim_notice_sent(
        actor=request.auth, claim_id=claim.pk, notice_id=_id(notice_id), sent_on=payload.sent_on
    )
    return _out(request, id)
