"""Every read of claims, cut to the viewer's scope in one place (the scope of the claim's policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from insurdesk.claims import calculations as calc
from insurdesk.claims.models import OPEN_STATES, Claim
from insurdesk.common.errors import FieldError, NotFound
from insurdesk.customers.selectors import customer_list
from insurdesk.policies.models import Policy
from insurdesk.policies.selectors import policy_scope

MAX_FOUND = 20


def claim_scope(viewer) -> QuerySet[Claim]:
    """Return the claims the viewer may see: those on policies in its scope."""
    if viewer is None or not viewer.is_authenticated:
        return Claim.objects.none()
    if viewer.is_superuser:
        return Claim.objects.all()
    return Claim.objects.filter(policy__in=policy_scope(viewer).values("pk"))


@dataclass
class ClaimFilters:
    state: str = ""
    customer_id: int | None = None
    policy_id: int | None = None
    overdue: bool | None = None  # True: past the next deadline today (computed, not the daily flag)


def claim_list(
    *, viewer, query: str = "", filters: ClaimFilters | None = None, today: date | None = None
) -> QuerySet[Claim]:
    """Return the viewer's claims by claim or policy number and filters, newest first, shaped for a list."""
    f = filters or ClaimFilters()
    qs = claim_scope(viewer).select_related("policy", "policy__product", "claimant")
    q = (query or "").strip().upper()
    if q:
        qs = qs.filter(claim_no__startswith=q) if q.startswith("LP") else qs.filter(policy__policy_no=q)
    if f.state:
        qs = qs.filter(state=f.state)
    if f.customer_id:
        qs = qs.filter(claimant_id=f.customer_id)
    if f.policy_id:
        qs = qs.filter(policy_id=f.policy_id)
    if f.overdue is not None:
        day = today or timezone.localdate()
        late = Q(next_deadline__lt=day)
        qs = qs.filter(late) if f.overdue else qs.exclude(late)
    return qs.order_by("-reported_on", "-id")


def claim_queue(
    *,
    viewer,
    query: str = "",
    filters: ClaimFilters | None = None,
    today: date | None = None,
    open_only: bool = True,
) -> QuerySet[Claim]:
    """Return the work queue: the same claims, the nearest deadline first (overdue ones on top),
    claims without a running clock after them; without a state filter only claims not yet closed."""
    qs = claim_list(viewer=viewer, query=query, filters=filters, today=today)
    if open_only and not (filters and filters.state):
        qs = qs.filter(state__in=OPEN_STATES)
    return qs.order_by(F("next_deadline").asc(nulls_last=True), "reported_on", "id")


def claim_get(*, viewer, pk: int) -> Claim:
    """Return one claim in the viewer's scope with its policy, or raise NotFound."""
    claim = (
        claim_scope(viewer)
        .select_related(
            "policy",
            "policy__product",
            "policy__unit",
            "policy__insured",
            "policy__policyholder",
            "claimant",
            "decided_by",
            "approved_by",
            "created_by",
        )  # fmt: skip
        .filter(pk=pk)
        .first()
    )
    if claim is None:
        raise NotFound(FieldError("", "not_found", "理赔不存在"))
    return claim


def customer_claims(*, viewer, customer_id: int) -> list[Claim]:
    """Return the customer's claims the viewer may see (the archive page's section), newest first."""
    return list(claim_list(viewer=viewer, filters=ClaimFilters(customer_id=customer_id))[:200])


def policies_found(*, viewer, query: str) -> list[Policy]:
    """Find the policies a caller means: by policy number, or the insured's / policyholder's identity
    number, mobile or name (the phone script's identity check)."""
    q = (query or "").strip()
    if not q:
        return []
    qs = policy_scope(viewer).select_related("product", "policyholder", "insured")
    by_no = list(qs.filter(policy_no=q.upper())[:1])
    if by_no:
        return by_no
    ids = list(customer_list(viewer=viewer, query=q).values_list("pk", flat=True)[:MAX_FOUND])
    if not ids:
        return []
    return list(
        qs.filter(Q(insured_id__in=ids) | Q(policyholder_id__in=ids)).order_by("-effective_date", "-id")[
            :MAX_FOUND
        ]
    )


def overdue_on(claim: Claim, today: date | None = None) -> bool:
    """Tell whether the claim's next deadline has passed (screens compute this on reading)."""
    day = today or timezone.localdate()
    return claim.next_deadline is not None and claim.next_deadline < day


def deadline_label(claim: Claim) -> str:
    return calc.CLOCK_LABELS.get(claim.deadline_kind, "")
