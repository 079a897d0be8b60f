"""REST endpoints of underwriting: the decision on an application and the queue.

`POST /api/v1/applications/{id}/underwriting` records a decision (the case is opened and its rules
run first if the submission's job has not yet done it); `GET` on the same path reads the case;
`GET /api/v1/underwriting/queue` lists the applications waiting, oldest first.
"""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import field_validator

from insurdesk.applications.models import Application
from insurdesk.common.errors import FieldError, NotAllowed, NotFound
from insurdesk.org.api import ErrorsOut, InSchema, StrictSchema, storable_text
from insurdesk.org.policy import can
from insurdesk.underwriting.models import DecisionKind, EvidenceKind
from insurdesk.underwriting.selectors import (
    QUEUES,
    QueueFilters,
    case_decisions,
    case_of,
    latest_rule_results,
    underwriting_application,
    underwriting_queue,
)
from insurdesk.underwriting.services import underwriting_decide

router = Router(tags=["underwriting"])

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 200
_READ = {401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 422: ErrorsOut}
_WRITE = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut, 404: ErrorsOut, 409: ErrorsOut, 422: ErrorsOut}

DecisionT = Literal[tuple(DecisionKind.values)]  # type: ignore[valid-type]
EvidenceT = Literal[tuple(EvidenceKind.values)]  # type: ignore[valid-type]
QueueT = Literal[tuple(QUEUES)]  # type: ignore[valid-type]


class UnderwritingDecisionIn(InSchema):
    decision: DecisionT = Field(
        description="standard 标准体 / rated 加费 / exclusion 除外 / postpone 延期 / decline 拒保 / "
        "request_evidence 补充资料或体检 / evidence_received 资料已到"
    )
    extra_premium: Decimal | None = Field(
        None, gt=0, max_digits=14, decimal_places=2, description="加费（每期，元）；rated 时必填"
    )
    exclusion: str | None = Field(None, max_length=2000, description="除外责任；exclusion 时必填")
    reasons: str | None = Field(
        None, max_length=2000, description="核保意见（standard、evidence_received 可不填）"
    )
    evidence_kind: EvidenceT | None = Field(None, description="request_evidence 时必填")
    evidence: str | None = Field(None, max_length=2000, description="需要补充的资料或体检项目")


class UnderwritingRuleOut(Schema):
    code: str
    name: str
    outcome: Literal["pass", "refer", "decline"]
    reason: str


class UserRef(Schema):
    id: int
    username: str
    name: str


class DecisionOut(Schema):
    kind: DecisionT
    extra_premium: Decimal | None
    exclusion: str
    evidence_kind: str
    evidence: str
    reasons: str
    decided_by: UserRef | None
    automatic: bool
    decided_at: datetime


class CaseOut(Schema):
    application_id: int
    application_no: str
    application_state: str = Field(description="投保单状态；核保通过且出单后为 issued")
    state: str | None = Field(
        description="核保案件状态：new/referred/evidence/accepted/postponed/declined；未开案为 null"
    )
    auto_outcome: str
    proposed_decision: str
    decision: str
    extra_premium: Decimal | None
    exclusion: str
    reasons: str
    decided_by: UserRef | None
    decided_at: datetime | None
    evidence_requested: str
    assignee: UserRef | None
    rules: list[UnderwritingRuleOut]
    decisions: list[DecisionOut]


class QueueItem(Schema):
    application_id: int
    application_no: str
    application_state: str
    case_state: str | None
    auto_outcome: str
    proposed_decision: str
    policyholder: str
    insured: str
    products: list[str]
    total_premium: Decimal
    sum_insured: Decimal
    unit: str
    agent: str | None
    assignee: UserRef | None
    waiting_since: datetime
    waiting_days: int


class QueuePage(Schema):
    items: list[QueueItem]
    count: int


class UnderwritingQueueQuery(StrictSchema):
    queue: QueueT = Field(
        "manual",
        description="manual 待人工核保 / evidence 待补充资料 / new 待自动核保 / "
        "accepted 核保通过待出单 / all 全部在途",
    )
    unit_id: int | None = Field(None, ge=1, le=MAX_ID)
    mine: bool = Field(False, description="只看分配给我的案件")
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("unit_id", "queue", "mine", mode="before")
    @classmethod
    def _blank_is_absent(cls, value, info):
        if value == "":
            return cls.model_fields[info.field_name].default
        return storable_text(value)


def _user(u) -> dict | None:
    if u is None:
        return None
    return {"id": u.pk, "username": u.username, "name": u.get_full_name() or u.username}


def _require(actor, action: str) -> None:
    if not can(actor, action):
        raise NotAllowed(FieldError("", "forbidden", "您的角色无权执行此操作"))


def _application(viewer, id: int) -> Application:
    if not 1 <= id <= MAX_ID:
        raise NotFound(FieldError("", "not_found", "投保单不存在"))
    return underwriting_application(viewer=viewer, application_id=id)


def case_record(app: Application) -> dict:
    case = case_of(app)
    return {
        "application_id": app.pk,
        "application_no": app.application_no,
        "application_state": app.state,
        "state": case.state if case else None,
        "auto_outcome": case.auto_outcome if case else "",
        "proposed_decision": case.proposed_decision if case else "",
        "decision": case.decision if case else "",
        "extra_premium": case.extra_premium if case else None,
        "exclusion": case.exclusion if case else "",
        "reasons": case.reasons if case else "",
        "decided_by": _user(case.decided_by) if case else None,
        "decided_at": case.decided_at if case else None,
        "evidence_requested": case.evidence_requested if case else "",
        "assignee": _user(case.assignee) if case else None,
        "rules": [
            {"code": r.code, "name": r.name, "outcome": r.outcome, "reason": r.reason}
            for r in latest_rule_results(case)
        ],
        "decisions": [
            {
                "kind": d.kind,
                "extra_premium": d.extra_premium,
                "exclusion": d.exclusion,
                "evidence_kind": d.evidence_kind,
                "evidence": d.evidence,
                "reasons": d.reasons,
                "decided_by": _user(d.decided_by),
                "automatic": d.automatic,
                "decided_at": d.decided_at,
            }
            for d in case_decisions(case)
        ],
    }


def queue_item(app: Application, now: datetime) -> dict:
    case = case_of(app)
    lines = list(app.lines.all())
    return {
        "application_id": app.pk,
        "application_no": app.application_no,
        "application_state": app.state,
        "case_state": case.state if case else None,
        "auto_outcome": case.auto_outcome if case else "",
        "proposed_decision": case.proposed_decision if case else "",
        "policyholder": app.policyholder_name,
        "insured": app.insured_name,
        "products": [line.product.name for line in lines],
        "total_premium": app.total_premium,
        "sum_insured": sum((line.sum_insured for line in lines), Decimal("0")),
        "unit": app.unit.name,
        "agent": str(app.agent) if app.agent_id else None,
        "assignee": _user(case.assignee) if case else None,
        "waiting_since": app.state_changed_at,
        "waiting_days": (now - app.state_changed_at).days,
    }


@router.get(
    "/underwriting/queue",
    url_name="underwriting_queue",
    summary="核保待办队列（分页）",
    response={200: QueuePage, **_READ},
)
def queue(request, params: Query[UnderwritingQueueQuery]):
    """Applications waiting for underwriting in the caller's scope, oldest first, with age and owner."""
    _require(request.auth, "underwriting.view")
    qs = underwriting_queue(
        viewer=request.auth,
        filters=QueueFilters(queue=params.queue, unit_id=params.unit_id, mine=params.mine),
    )
    count = qs.count()
    offset = (params.page - 1) * params.page_size
    rows = list(qs[offset : offset + params.page_size]) if offset < count else []
    now = timezone.now()
    return {"items": [queue_item(a, now) for a in rows], "count": count}


@router.get(
    "/applications/{id}/underwriting",
    url_name="underwriting_case",
    summary="读取核保案件",
    response={200: CaseOut, **_READ},
)
def read_case(request, id: int):
    """The case of an application: the automatic rules' results and every decision, with who and when."""
    _require(request.auth, "underwriting.view")
    return case_record(_application(request.auth, id))


@router.post(
    "/applications/{id}/underwriting",
    url_name="underwriting_decide",
    summary="核保决定",
    response={200: CaseOut, **_WRITE},
)
def decide(request, id: int, payload: UnderwritingDecisionIn):
    """Record a decision; an acceptance issues the policy unless something (a recording, say) is missing."""
    _require(request.auth, "underwriting.decide")
    app = _application(request.auth, id)
    underwriting_decide(
        actor=request.auth,
        application_id=app.pk,
        decision=payload.decision,
        extra_premium=payload.extra_premium,
        exclusion=payload.exclusion or "",
        reasons=payload.reasons or "",
        evidence_kind=payload.evidence_kind or "",
        evidence=payload.evidence or "",
    )
    return case_record(_application(request.auth, id))
