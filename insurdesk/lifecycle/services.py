"""Destruction (销毁) of archives whose retention has ended: requested by one person, approved by another.

Approval anonymises in the same transaction as the audit entry: the archive row stays (policies and
applications point at it) with every identifying value cleared, its history rows are cleared the
same way, relations, beneficial owners and other insurers' policies are deleted. PIPL Art. 47 asks
for deletion once retention ends; AML Law 2024 Art. 34 forbids it before.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from insurdesk.audit.services import audit_log
from insurdesk.common.errors import (
    Conflict,
    FieldError,
    IllegalTransition,
    NotAllowed,
    NotFound,
)
from insurdesk.common.text import check_reason
from insurdesk.customers.models import BeneficialOwner, Customer, CustomerRelation, OtherInsurerPolicy
from insurdesk.customers.selectors import customer_scope
from insurdesk.lifecycle.models import (
    AnonymousStatistic,
    DestructionRecord,
    DestructionRequest,
    RequestState,
)
from insurdesk.lifecycle.selectors import retention_status
from insurdesk.org.policy import can

ANONYMOUS_NAME = "已销毁客户"
# Columns that identify nobody and that the rows pointing at the archive still need.
KEEP = frozenset(
    {"id", "archive_no", "kind", "id_type", "unit", "created_at", "updated_at", "created_by", "version"}
)
MIN_REASON = 4


def _require(actor, action: str, message: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not can(actor, action):
        raise NotAllowed(FieldError("", "forbidden", message))


def _customer_in_scope(actor, customer_id: int, *, lock: bool = False) -> Customer:
    qs = customer_scope(actor).filter(pk=customer_id)
    customer = (qs.select_for_update() if lock else qs).first()
    if customer is None:
        raise NotFound(FieldError("customer_id", "not_found", "客户档案不存在"))
    return customer


def _request_for_update(actor, request_id: int) -> DestructionRequest:
    req = (
        DestructionRequest.objects.select_for_update()
        .filter(pk=request_id, customer__in=customer_scope(actor))
        .first()
    )
    if req is None:
        raise NotFound(FieldError("", "not_found", "销毁申请不存在"))
    if not req.is_open:
        raise Conflict(
            FieldError("state", "decided", f"该申请已处理（{req.get_state_display()}），不能再次处理")
        )
    return req


@transaction.atomic
def destruction_request(
    *, actor, customer_id: int, reason: str, today: datetime.date | None = None
) -> DestructionRequest:
    """Ask for an archive to be destroyed; refuse while any retention period runs, naming rule and date."""
    _require(actor, "lifecycle.request", "您的角色无权申请销毁档案")
    reason = check_reason(reason, field="reason", label="申请理由", min_visible=MIN_REASON, max_length=500)
    customer = _customer_in_scope(actor, customer_id, lock=True)
    status = retention_status(customer=customer, today=today)
    if status.destroyed:
        raise IllegalTransition(FieldError("customer_id", "destroyed", "该档案已销毁"))
    if not status.due:
        raise IllegalTransition(FieldError("customer_id", "retention_running", status.refusal()))
    if DestructionRequest.objects.filter(customer=customer, state=RequestState.REQUESTED).exists():
        raise Conflict(FieldError("customer_id", "pending", "该档案已有待审批的销毁申请"))
    req = DestructionRequest.objects.create(
        customer=customer,
        archive_no=customer.archive_no,
        reason=reason,
        requested_by=actor,
        requested_at=timezone.now(),
        rule=status.binding.rule.code,
        retention_ended_on=status.ends_on,
    )
    audit_log(
        actor=actor,
        action="lifecycle.destruction_request",
        target=customer,
        detail={
            "request": req.pk,
            "archive_no": customer.archive_no,
            "rule": req.rule,
            "retention_ended_on": req.retention_ended_on.isoformat(),
            "reason": reason,
        },
    )
    return req


@transaction.atomic
def destruction_approve(
    *, actor, request_id: int, note: str = "", today: datetime.date | None = None
) -> DestructionRecord:
    """Approve a request made by someone else and anonymise the archive at once (四眼原则)."""
    _require(actor, "lifecycle.approve", "只有合规专员或系统管理员可以审批销毁")
    req = _request_for_update(actor, request_id)
    if req.requested_by_id == actor.pk:
        raise NotAllowed(
            FieldError("", "same_person", "申请人不能审批自己的销毁申请，须由另一名合规专员或管理员审批")
        )
    customer = _customer_in_scope(actor, req.customer_id, lock=True)
    status = retention_status(customer=customer, today=today)
    if not status.due:
        raise IllegalTransition(FieldError("", "retention_running", status.refusal()))
    statistic = _statistic(customer, today=status.today)
    counts = _anonymise(customer, actor=actor)
    now = timezone.now()
    req.approve()
    req.decided_by, req.decided_at, req.decision_note = actor, now, (note or "").strip()[:500]
    req.save()
    statistic.save()
    record = DestructionRecord.objects.create(
        request=req,
        customer=customer,
        archive_no=customer.archive_no,
        kind=customer.kind,
        reason=req.reason,
        requested_by=req.requested_by,
        requested_at=req.requested_at,
        approved_by=actor,
        approved_at=now,
        rule=status.binding.rule.code,
        retention_ended_on=status.ends_on,
        counts=counts,
    )
    audit_log(
        actor=actor,
        action="lifecycle.destroy",
        target=customer,
        detail={
            "request": req.pk,
            "record": record.pk,
            "archive_no": customer.archive_no,
            "requested_by": req.requested_by.get_username(),
            "rule": record.rule,
            "retention_ended_on": record.retention_ended_on.isoformat(),
            "counts": counts,
        },
    )
    return record


@transaction.atomic
def destruction_reject(*, actor, request_id: int, note: str) -> DestructionRequest:
    """Turn a request down with a reason; the archive stays as it is."""
    _require(actor, "lifecycle.approve", "只有合规专员或系统管理员可以审批销毁")
    note = check_reason(note, field="note", label="驳回理由", max_length=500)
    req = _request_for_update(actor, request_id)
    req.reject()
    req.decided_by, req.decided_at, req.decision_note = actor, timezone.now(), note[:500]
    req.save()
    audit_log(
        actor=actor,
        action="lifecycle.destruction_reject",
        target_type="customers.customer",
        target_id=req.customer_id,
        detail={"request": req.pk, "note": req.decision_note},
    )
    return req


@transaction.atomic
def destruction_withdraw(*, actor, request_id: int) -> DestructionRequest:
    """Let the requester take a request back before it is decided."""
    _require(actor, "lifecycle.request", "您的角色无权处理销毁申请")
    req = _request_for_update(actor, request_id)
    if req.requested_by_id != actor.pk:
        raise NotAllowed(FieldError("", "not_requester", "只有申请人可以撤回申请"))
    req.withdraw()
    req.decided_by, req.decided_at = actor, timezone.now()
    req.save()
    audit_log(
        actor=actor,
        action="lifecycle.destruction_withdraw",
        target_type="customers.customer",
        target_id=req.customer_id,
        detail={"request": req.pk},
    )
    return req


# ---------------------------------------------------------------- anonymisation


def _statistic(customer: Customer, *, today: datetime.date) -> AnonymousStatistic:
    birth = customer.birth_date
    return AnonymousStatistic(
        kind=customer.kind,
        birth_year_from=(birth.year // 5 * 5) if birth else None,
        gender=customer.gender,
        unit_id=customer.unit_id,
        created_on=timezone.localtime(customer.created_at).date(),
        destroyed_on=today,
    )


def cleared_value(f: models.Field):
    """Return what a column holds once anonymised: NULL, its default, or blank text."""
    if f.name == "name":
        return ANONYMOUS_NAME
    if f.null:
        return None
    if f.has_default():
        return f.get_default()
    if isinstance(f, models.CharField | models.TextField):
        return ""
    raise TypeError(f"no anonymous value for {f.model.__name__}.{f.name}: make it nullable or add it to KEEP")


def anonymised_values(model: type[models.Model]) -> dict:
    """Return {attname: value} clearing every column of model but KEEP and django-simple-history's own."""
    return {
        f.attname: cleared_value(f)
        for f in model._meta.concrete_fields
        if f.name not in KEEP and not f.name.startswith("history_")
    }


def _anonymise(customer: Customer, *, actor) -> dict:
    values = anonymised_values(Customer)
    for attname, value in values.items():
        setattr(customer, attname, value)
    customer.version += 1
    customer.completeness = 0
    customer._history_user = actor
    customer._change_reason = "档案销毁（匿名化）"
    customer.save()
    history = Customer.history.model
    history_rows = history.objects.filter(id=customer.pk).update(**anonymised_values(history))
    relations, _ = CustomerRelation.objects.filter(
        Q(from_customer=customer) | Q(to_customer=customer)
    ).delete()
    owners, _ = BeneficialOwner.objects.filter(customer=customer).delete()
    others, _ = OtherInsurerPolicy.objects.filter(customer=customer).delete()
    counts = {
        "fields": len(values),
        "history_rows": history_rows,
        "relations": relations,
        "beneficial_owners": owners,
        "other_policies": others,
    }
    # Apps holding their own copies of the customer's data clear them here, in this transaction.
    for path in getattr(settings, "INSURDESK_ANONYMISE_HOOKS", ()):
        counts.update(import_string(path)(customer=customer, actor=actor) or {})
    return counts
