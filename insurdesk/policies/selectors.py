"""Every read of policies and premiums, cut to the viewer's scope in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from insurdesk.common.errors import FieldError, NotFound
from insurdesk.org.models import OrgUnit
from insurdesk.org.selectors import unit_subtree_ids, viewer_unit_ids
from insurdesk.policies.models import (
    GroupMember,
    Instalment,
    InstalmentStatus,
    Payment,
    Policy,
    PolicyBeneficiary,
    PolicyLine,
    policy_key,
)


def _scoped(qs: QuerySet, viewer) -> QuerySet:
    """Cut a queryset with unit and agent columns to the viewer: unit subtree; an agent only its own."""
    if viewer is None or not viewer.is_authenticated:
        return qs.none()
    if viewer.is_superuser:
        return qs
    if viewer.effective_role == "agent":
        return qs.filter(agent_id=viewer.pk)
    ids = viewer_unit_ids(viewer)
    return qs if ids is None else qs.filter(unit_id__in=ids)


def policy_scope(viewer) -> QuerySet[Policy]:
    """Return the policies the viewer may see: its unit subtree; an agent only the policies it sold."""
    return _scoped(Policy.objects.all(), viewer)


def _unit_filter(qs: QuerySet, unit_id: int | None) -> QuerySet:
    if not unit_id:
        return qs
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    return qs.filter(unit_id__in=unit_subtree_ids(unit)) if unit else qs.none()


@dataclass
class PolicyFilters:
    state: str = ""
    unit_id: int | None = None
    agent_id: int | None = None
    product_code: str = ""
    is_group: bool | None = None
    customer_id: int | None = None
    application_id: int | None = None


def policy_list(*, viewer, query: str = "", filters: PolicyFilters | None = None) -> QuerySet[Policy]:
    """Return the viewer's policies by number or filters, newest first, shaped for a list."""
    f = filters or PolicyFilters()
    qs = policy_scope(viewer).select_related("product", "policyholder", "insured", "unit", "agent")
    q = policy_key(query or "")
    if q:
        # By the number as printed or typed: hyphens and spaces are ignored on both sides.
        qs = qs.filter(policy_key__startswith=q)
    if f.state:
        qs = qs.filter(state=f.state)
    qs = _unit_filter(qs, f.unit_id)
    if f.agent_id:
        qs = qs.filter(agent_id=f.agent_id)
    if f.product_code:
        qs = qs.filter(product__code=f.product_code.strip().upper())
    if f.is_group is not None:
        qs = qs.filter(is_group=f.is_group)
    if f.customer_id:
        qs = qs.filter(_customer_roles(f.customer_id)).distinct()
    if f.application_id:
        qs = qs.filter(application_id=f.application_id)
    return qs.order_by("-issue_date", "-id")


def policy_get(*, viewer, pk: int) -> Policy:
    """Return one policy in the viewer's scope with its lines, beneficiaries and application."""
    policy = (
        policy_scope(viewer)
        .select_related("product", "policyholder", "insured", "unit", "agent", "application", "created_by")
        .prefetch_related(
            Prefetch(
                "lines", queryset=PolicyLine.objects.select_related("product", "plan_level").order_by("seq")
            ),
            Prefetch("beneficiaries", queryset=PolicyBeneficiary.objects.order_by("order", "seq")),
        )
        .filter(pk=pk)
        .first()
    )
    if policy is None:
        raise NotFound(FieldError("", "not_found", "保单不存在"))
    return policy


def policy_instalments(policy: Policy) -> list[Instalment]:
    return list(policy.instalments.order_by("seq"))


def policy_payments(policy: Policy) -> list[Payment]:
    return list(policy.payments.select_related("instalment", "recorded_by").order_by("paid_on", "id"))


def policy_members(policy: Policy, *, active_only: bool = False) -> QuerySet[GroupMember]:
    qs = policy.members.select_related("plan_level").order_by("seq")
    return qs.filter(status="active") if active_only else qs


# ------------------------------------------------------------------ a customer's policies, every role


def _customer_roles(customer_id: int) -> Q:
    return (
        Q(policyholder_id=customer_id)
        | Q(insured_id=customer_id)
        | Q(beneficiaries__customer_id=customer_id)
        | Q(members__customer_id=customer_id)
    )


ROLE_LABELS = {
    "policyholder": "投保人",
    "insured": "被保险人",
    "beneficiary": "受益人",
    "member": "被保险人（团体）",
}


def customer_policies(*, customer_id: int, viewer) -> list[dict]:
    """Return every policy the customer is on — as policyholder, insured, beneficiary or group member.

    The caller has already shown that the viewer may open the customer's archive; each row says
    whether the viewer may also open the policy itself.
    """
    beneficiary_of = set(
        PolicyBeneficiary.objects.filter(customer_id=customer_id).values_list("policy_id", flat=True)
    )
    member_of = set(GroupMember.objects.filter(customer_id=customer_id).values_list("policy_id", flat=True))
    qs = (
        Policy.objects.filter(
            Q(policyholder_id=customer_id) | Q(insured_id=customer_id) | Q(pk__in=beneficiary_of | member_of)
        )
        .select_related("product", "policyholder", "insured")
        .order_by("-issue_date", "-id")
    )
    policies = list(qs[:200])
    visible = set(policy_scope(viewer).filter(pk__in=[p.pk for p in policies]).values_list("pk", flat=True))
    out = []
    for p in policies:
        roles = [
            key
            for key, hit in (
                ("policyholder", p.policyholder_id == customer_id),
                ("insured", p.insured_id == customer_id),
                ("beneficiary", p.pk in beneficiary_of),
                ("member", p.pk in member_of),
            )
            if hit
        ]
        out.append(
            {
                "policy": p,
                "roles": [ROLE_LABELS[r] for r in roles],
                "role_keys": roles,
                "visible": p.pk in visible,
            }
        )
    return out


# ------------------------------------------------------------------ premiums due (应收清单) and payments


@dataclass
class DueFilters:
    unit_id: int | None = None
    agent_id: int | None = None
    due_from: date | None = None
    due_to: date | None = None
    status: str = ""  # one of the open statuses, or "" for all three
    policy_id: int | None = None
    today: date | None = None  # the day "overdue" is read on (default: today)


def instalment_status_on(instalment: Instalment, day: date) -> str:
    """Return the premium's status (已缴/未缴/逾期/部分/作废) as it stands on `day`.

    An unpaid premium past its due date reads 逾期 at once, whether or not the daily lapse check
    (policies_lapse_check) has marked it yet.
    """
    if instalment.status == InstalmentStatus.UNPAID and instalment.due_date < day:
        return InstalmentStatus.OVERDUE
    return instalment.status


def instalment_status_label(status: str) -> str:
    return InstalmentStatus(status).label


def due_list(*, viewer, filters: DueFilters | None = None) -> QuerySet[Instalment]:
    """Return the unpaid, overdue and part-paid premiums in the viewer's scope, by due date.

    One indexed query: `open_due` holds the due date of open premiums only, so (open_due),
    (unit, open_due) and (agent, open_due) answer it in due-date order without reading the paid ones.
    """
    f = filters or DueFilters()
    today = f.today or timezone.localdate()
    qs = _scoped(Instalment.objects.filter(open_due__isnull=False), viewer)
    # Read as instalment_status_on does: unpaid past its due date is overdue before the daily check.
    if f.status == InstalmentStatus.OVERDUE:
        qs = qs.filter(
            Q(status=InstalmentStatus.OVERDUE) | Q(status=InstalmentStatus.UNPAID, open_due__lt=today)
        )
    elif f.status == InstalmentStatus.UNPAID:
        qs = qs.filter(status=InstalmentStatus.UNPAID, open_due__gte=today)
    elif f.status == InstalmentStatus.PARTIAL:
        qs = qs.filter(status=InstalmentStatus.PARTIAL)
    qs = _unit_filter(qs, f.unit_id)
    if f.agent_id:
        qs = qs.filter(agent_id=f.agent_id)
    if f.due_from:
        qs = qs.filter(open_due__gte=f.due_from)
    if f.due_to:
        qs = qs.filter(open_due__lte=f.due_to)
    if f.policy_id:
        qs = qs.filter(policy_id=f.policy_id)
    return qs.select_related(*DUE_RELATED).order_by("open_due", "id")


DUE_RELATED = ("policy", "policy__policyholder", "policy__product", "unit", "agent")


def due_page(qs: QuerySet[Instalment], offset: int, size: int) -> list[Instalment]:
    """Return rows offset…offset+size of a due list in two steps: the page's ids from the index alone,
    then those rows with their joins — sorting a branch's open premiums never drags the joins along."""
    ids = list(qs.values_list("pk", flat=True)[offset : offset + size])
    found = Instalment.objects.select_related(*DUE_RELATED).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


@dataclass
class PaymentFilters:
    unit_id: int | None = None
    agent_id: int | None = None
    paid_from: date | None = None
    paid_to: date | None = None
    policy_id: int | None = None
    policy_no: str = ""
    method: str = ""
    kind: str = ""


def payment_list(*, viewer, filters: PaymentFilters | None = None) -> QuerySet[Payment]:
    """Return payment records (缴费记录) in the viewer's scope, newest first."""
    f = filters or PaymentFilters()
    qs = _scoped(Payment.objects.all(), viewer)
    qs = _unit_filter(qs, f.unit_id)
    if f.agent_id:
        qs = qs.filter(agent_id=f.agent_id)
    if f.paid_from:
        qs = qs.filter(paid_on__gte=f.paid_from)
    if f.paid_to:
        qs = qs.filter(paid_on__lte=f.paid_to)
    if f.policy_id:
        qs = qs.filter(policy_id=f.policy_id)
    if f.policy_no:
        qs = qs.filter(policy__policy_key=policy_key(f.policy_no))
    if f.method:
        qs = qs.filter(method=f.method)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return qs.select_related("policy", "policy__policyholder", "instalment", "recorded_by").order_by(
        "-paid_on", "-id"
    )
