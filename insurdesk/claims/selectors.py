"""Every read of claims, cut to the viewer's scope in one place (the scope of the claim's policy)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from insurdesk.claims.models import Claim
from insurdesk.policies.selectors import policy_scope


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


def claim_list(*, viewer, query: str = "", filters: ClaimFilters | None = None) -> QuerySet[Claim]:
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
    return qs.order_by("-reported_on", "-id")


def customer_claims(*, viewer, customer_id: int) -> list[Claim]:
    """Return the customer's claims the viewer may see (the archive page's section), newest first."""
    return list(claim_list(viewer=viewer, filters=ClaimFilters(customer_id=customer_id))[:200])
