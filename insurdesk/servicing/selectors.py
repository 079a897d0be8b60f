"""Every read of servicing, cut to the viewer's scope through the request's unit and agent columns."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from insurdesk.common.errors import FieldError, NotFound
from insurdesk.org.policy import can
from insurdesk.policies.models import Policy
from insurdesk.policies.selectors import _scoped
from insurdesk.servicing.models import (
    AWAITING_APPROVAL,
    Endorsement,
    MoneyMovement,
    PolicyLoan,
    ServicingRequest,
    State,
)

# Sortable columns of the queue: URL value -> order_by fields.
SORTS = {
    "requested_at": ("requested_at", "id"),
    "-requested_at": ("-requested_at", "-id"),
    "effective_date": ("effective_date", "id"),
    "-effective_date": ("-effective_date", "-id"),
    "amount": ("amount", "id"),
    "-amount": ("-amount", "-id"),
    "kind": ("kind", "id"),
    "state": ("state", "id"),
}
DEFAULT_SORT = "requested_at"

# Named queues (待办): which requests a role acts on next.
QUEUES = {
    "approve": "待审核",
    "second": "待复核",
    "underwriting": "转核保",
    "due": "待生效",
    "open": "办理中",
    "all": "全部",
}


def request_scope(viewer) -> QuerySet[ServicingRequest]:
    return _scoped(ServicingRequest.objects.all(), viewer)


def default_queue(viewer) -> str:
    """The queue a role opens on: underwriters the referrals, approvers what waits for them."""
    if can(viewer, "servicing.underwrite") and not can(viewer, "servicing.approve"):
        return "underwriting"
    if can(viewer, "servicing.approve"):
        return "approve"
    return "open"


@dataclass
class RequestFilters:
    queue: str = ""
    state: str = ""
    kind: str = ""
    policy_id: int | None = None
    policy_no: str = ""
    sort: str = ""


def request_list(*, viewer, filters: RequestFilters | None = None) -> QuerySet[ServicingRequest]:
    """Return the viewer's servicing requests, filtered and sorted, shaped for the queue."""
    f = filters or RequestFilters()
    qs = request_scope(viewer).select_related(
        "policy", "policy__policyholder", "requested_by", "first_approver", "second_approver", "endorsement"
    )
    if f.queue == "approve":
        qs = qs.filter(state=State.REQUESTED)
        if viewer is not None and viewer.is_authenticated:
            qs = qs.exclude(requested_by=viewer)
    elif f.queue == "second":
        qs = qs.filter(state=State.FIRST_APPROVED)
        if viewer is not None and viewer.is_authenticated:
            qs = qs.exclude(requested_by=viewer).exclude(first_approver=viewer)
    elif f.queue == "underwriting":
        qs = qs.filter(state=State.REFERRED)
    elif f.queue == "due":
        qs = qs.filter(state=State.APPROVED)
    elif f.queue == "open":
        qs = qs.filter(state__in=(State.REFERRED, *AWAITING_APPROVAL, State.APPROVED))
    if f.state:
        qs = qs.filter(state=f.state)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.policy_id:
        qs = qs.filter(policy_id=f.policy_id)
    if f.policy_no:
        qs = qs.filter(policy__policy_no=f.policy_no.strip().upper())
    return qs.order_by(*SORTS.get(f.sort or DEFAULT_SORT, SORTS[DEFAULT_SORT]))


def queue_counts(viewer) -> dict[str, int]:
    return {name: request_list(viewer=viewer, filters=RequestFilters(queue=name)).count() for name in QUEUES}


def request_get(*, viewer, pk: int) -> ServicingRequest:
    req = (
        request_scope(viewer)
        .select_related(
            "policy",
            "policy__product",
            "policy__policyholder",
            "policy__insured",
            "requested_by",
            "first_approver",
            "second_approver",
            "underwriter",
            "closed_by",
            "endorsement",
        )
        .filter(pk=pk)
        .first()
    )
    if req is None:
        raise NotFound(FieldError("", "not_found", "保全申请不存在"))
    return req


def policy_endorsements(policy: Policy) -> QuerySet[Endorsement]:
    return (
        Endorsement.objects.filter(policy=policy)
        .select_related("request", "created_by")
        .order_by("-effective_date", "-id")
    )


def policy_requests(policy: Policy) -> QuerySet[ServicingRequest]:
    return (
        ServicingRequest.objects.filter(policy=policy)
        .select_related("requested_by")
        .order_by("-requested_at")
    )


def policy_money(policy: Policy) -> QuerySet[MoneyMovement]:
    return MoneyMovement.objects.filter(policy=policy).order_by("-recorded_on", "-id")


def policy_loans(policy: Policy) -> QuerySet[PolicyLoan]:
    return PolicyLoan.objects.filter(policy=policy).order_by("-lent_on", "-id")
