"""Every write of servicing (保全): request, documents, underwriting referral, approve, reject, withdraw,
apply with its endorsement (批单), and the daily duties (requests due, loan interest, survival and
maturity benefits).

Four eyes: the person who takes a request never approves it; a request that moves money needs a second
approver who is neither the requester nor the first approver. The last approval applies the request at
once when its effective date has come, otherwise `insurdesk daily` applies it on that date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_fsm import can_proceed

from insurdesk.audit.services import PendingEntry, audit_log, audit_log_many
from insurdesk.common.errors import (
    Conflict,
    DomainError,
    FieldError,
    IllegalTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from insurdesk.common.events import emit
from insurdesk.customers.services import archive_numbers
from insurdesk.org.policy import require
from insurdesk.policies.models import COVERING_STATES, Policy, PolicyLine, PolicyState
from insurdesk.policies.services import in_scope, policy_lock, policy_transition
from insurdesk.servicing import calculations as calc
from insurdesk.servicing.kinds import (
    DOCUMENTS,
    RULES,
    accrue,
    main_sum_insured,
    policy_cash_value,
    settle_loans,
)
from insurdesk.servicing.models import (
    AWAITING_APPROVAL,
    MONEY_KINDS,
    OPEN_STATES,
    Channel,
    Direction,
    Endorsement,
    Kind,
    LoanState,
    MoneyKind,
    MoneyMovement,
    PolicyLoan,
    Requester,
    ServicingRequest,
    State,
)

REQUEST_PREFIX = "BQ"
ENDORSEMENT_PREFIX = "PD"
MAX_DAYS_AHEAD = 366
MAX_REASON = 500


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def _actor(actor):
    return actor if actor is not None and actor.pk else None


def _fire(req: ServicingRequest, name: str) -> None:
    method = getattr(req, name)
    if not can_proceed(method):
        raise IllegalTransition(
            FieldError("state", "state", f"保全申请当前状态为“{req.get_state_display()}”，不能执行此操作")
        )
    method()


def _number(prefix: str, model, field: str) -> str:
    while True:
        number = archive_numbers(1, prefix=prefix)[0]
        if not model.objects.filter(**{field: number}).exists():
            return number


def _reason(value, *, required: bool, label: str = "原因") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(FieldError("reason", "required", f"请填写{label}"))
    if len(text) > MAX_REASON:
        raise ValidationFailed(FieldError("reason", "too_long", f"{label}不能超过 {MAX_REASON} 个字符"))
    return text


def request_lock(request_id: int, *, actor=None) -> ServicingRequest:
    """Return the request locked for update, or raise NotFound when it is missing or out of scope."""
    req = ServicingRequest.objects.select_for_update().filter(pk=request_id).first()
    if req is None or not in_scope(actor, req.policy):
        raise NotFound(FieldError("", "not_found", "保全申请不存在"))
    return req


# ------------------------------------------------------------------ request (受理)


@transaction.atomic
def servicing_request_create(
    *,
    actor,
    policy_id: int,
    kind: str,
    changes: dict | None = None,
    reason: str = "",
    channel: str = Channel.COUNTER,
    effective_date: date | None = None,
    applicant: str = Requester.POLICYHOLDER,
    documents: list[str] | None = None,
    today: date | None = None,
) -> ServicingRequest:
    """Take a servicing request: check it as it would be applied, list its documents, say who must sign.

    `documents` names the documents received; None means every document of the kind was received.
    """
    require(actor, "servicing.request", "您的角色无权受理保全申请")
    day = _today(today)
    errors = []
    if kind not in Kind.values:
        errors.append(FieldError("kind", "choice", "保全项目应为 " + "/".join(Kind.values) + " 之一"))
    if channel not in Channel.values:
        errors.append(FieldError("channel", "choice", "申请渠道应为 counter/phone/agent/api 之一"))
    if applicant not in Requester.values:
        errors.append(FieldError("applicant", "choice", "申请人应为 policyholder/insured 之一"))
    effective = effective_date or day
    if effective < day:
        errors.append(FieldError("effective_date", "past", "生效日期不能早于今天"))
    elif effective > day + timedelta(days=MAX_DAYS_AHEAD):
        errors.append(FieldError("effective_date", "too_far", "生效日期不能晚于一年以后"))
    if changes is not None and not isinstance(changes, dict):
        errors.append(FieldError("changes", "format", "changes 应为对象"))
    if errors:
        raise ValidationFailed(errors)
    reason = _reason(reason, required=False)
    policy = policy_lock(policy_id, actor=actor)
    rules = RULES[kind]
    rules.check_state(policy)
    if ServicingRequest.objects.filter(policy=policy, kind=kind, state__in=OPEN_STATES).exists():
        raise Conflict(FieldError("kind", "open_request", "该保单已有同一项目的保全申请在办理中"))
    plan = rules.clean(policy, dict(changes or {}), day=effective, applicant=applicant)
    needed = DOCUMENTS[kind]
    received = set(needed) if documents is None else set(documents)
    unknown = sorted(received - set(needed))
    if unknown:
        raise ValidationFailed(
            FieldError("documents", "choice", f"资料“{'、'.join(unknown)}”不在本项目的资料清单中")
        )
    req = ServicingRequest(
        request_no=_number(REQUEST_PREFIX, ServicingRequest, "request_no"),
        policy=policy,
        unit_id=policy.unit_id,
        agent_id=policy.agent_id,
        kind=kind,
        state=State.REFERRED if plan.referral else State.REQUESTED,
        channel=channel,
        applicant=applicant,
        reason=reason,
        diff=plan.diff,
        documents=[{"name": name, "received": name in received} for name in needed],
        effective_date=effective,
        approvals_needed=2 if kind in MONEY_KINDS else 1,
        amount=plan.amount,
        requested_by=_actor(actor),
        underwriting_note=plan.referral,
    )
    req.changes = plan.changes
    req.save()
    audit_log(
        actor=actor,
        action="servicing.request",
        target=req,
        detail={
            "request_no": req.request_no,
            "policy_no": policy.policy_no,
            "kind": kind,
            "channel": channel,
            "state": req.state,
            "effective_date": effective,
            "amount": str(plan.amount),
            "diff": plan.diff,
        },
    )
    return req


@transaction.atomic
def servicing_documents(*, actor, request_id: int, received: list[str]) -> ServicingRequest:
    """Mark documents of the checklist as received (补齐资料)."""
    require(actor, "servicing.request", "您的角色无权登记保全资料")
    req = request_lock(request_id, actor=actor)
    if req.state not in OPEN_STATES:
        raise IllegalTransition(FieldError("state", "state", "保全申请已结束，不能再登记资料"))
    names = {d["name"] for d in req.documents}
    unknown = sorted(set(received) - names)
    if unknown:
        raise ValidationFailed(
            FieldError("documents", "choice", f"资料“{'、'.join(unknown)}”不在本项目的资料清单中")
        )
    req.documents = [{**d, "received": d["received"] or d["name"] in received} for d in req.documents]
    req.save(update_fields=["documents"])
    audit_log(actor=actor, action="servicing.documents", target=req, detail={"received": sorted(received)})
    return req


@transaction.atomic
def servicing_underwrite(*, actor, request_id: int, accept: bool, note: str = "") -> ServicingRequest:
    """Decide a referred request (转核保): accept sends it back to the reviewers, decline rejects it."""
    require(actor, "servicing.underwrite", "您的角色无权核保保全申请")
    req = request_lock(request_id, actor=actor)
    if req.state != State.REFERRED:
        raise IllegalTransition(FieldError("state", "state", "该保全申请不在转核保状态"))
    note = _reason(note, required=not accept, label="核保意见")
    req.underwriter = _actor(actor)
    req.underwriting_note = (note or "核保同意")[:MAX_REASON]
    if accept:
        _fire(req, "accept_referral")
    else:
        _fire(req, "reject")
        req.closed_by, req.closed_reason, req.closed_at = _actor(actor), note, timezone.now()
    req.save()
    audit_log(
        actor=actor,
        action="servicing.underwrite",
        target=req,
        detail={"accept": accept, "note": req.underwriting_note, "state": req.state},
    )
    return req


# ------------------------------------------------------------------ approve, reject, withdraw


@transaction.atomic
def servicing_approve(
    *, actor, request_id: int, reason: str = "", today: date | None = None
) -> ServicingRequest:
    """Approve a request; the last approval needed applies it when its effective date has come."""
    require(actor, "servicing.approve", "您的角色无权审批保全申请")
    req = request_lock(request_id, actor=actor)
    if req.state not in AWAITING_APPROVAL:
        raise IllegalTransition(
            FieldError("state", "state", f"保全申请当前状态为“{req.get_state_display()}”，不能审批")
        )
    reason = _reason(reason, required=False)
    me = _actor(actor)
    if me is not None and me.pk == req.requested_by_id:
        raise NotAllowed(FieldError("", "four_eyes", "受理人不能审批自己受理的保全申请"))
    if me is not None and req.state == State.FIRST_APPROVED and me.pk == req.first_approver_id:
        raise NotAllowed(FieldError("", "four_eyes", "涉及资金的保全须由另一位审批人复核"))
    missing = req.documents_missing
    if missing:
        raise ValidationFailed(
            FieldError(
                "documents", "documents_missing", f"资料不全，缺：{'、'.join(missing)}；补齐后方可审批"
            )
        )
    now = timezone.now()
    if req.state == State.REQUESTED:
        req.first_approver, req.first_approved_at, req.first_reason = me, now, reason
        _fire(req, "approve_first" if req.approvals_needed == 2 else "approve_last")
    else:
        req.second_approver, req.second_approved_at, req.second_reason = me, now, reason
        _fire(req, "approve_last")
    req.save()
    audit_log(
        actor=actor,
        action="servicing.approve",
        target=req,
        detail={"request_no": req.request_no, "state": req.state, "reason": reason},
    )
    day = _today(today)
    if req.state == State.APPROVED and req.effective_date <= day:
        _apply(req, actor=actor, day=req.effective_date)
    return req


@transaction.atomic
def servicing_reject(*, actor, request_id: int, reason: str) -> ServicingRequest:
    """Refuse a request with the reason the applicant is told."""
    require(actor, "servicing.approve", "您的角色无权审批保全申请")
    req = request_lock(request_id, actor=actor)
    reason = _reason(reason, required=True, label="拒绝原因")
    _fire(req, "reject")
    req.closed_by, req.closed_reason, req.closed_at = _actor(actor), reason, timezone.now()
    req.save()
    audit_log(actor=actor, action="servicing.reject", target=req, detail={"reason": reason})
    return req


@transaction.atomic
def servicing_withdraw(*, actor, request_id: int, reason: str) -> ServicingRequest:
    """Withdraw a request the applicant no longer wants, before it takes effect."""
    require(actor, "servicing.request", "您的角色无权撤回保全申请")
    req = request_lock(request_id, actor=actor)
    reason = _reason(reason, required=True, label="撤回原因")
    _fire(req, "withdraw")
    req.closed_by, req.closed_reason, req.closed_at = _actor(actor), reason, timezone.now()
    req.save()
    audit_log(actor=actor, action="servicing.withdraw", target=req, detail={"reason": reason})
    return req


# ------------------------------------------------------------------ apply (生效) and the endorsement


def _apply(req: ServicingRequest, *, actor, day: date) -> Endorsement:
    policy = policy_lock(req.policy_id)
    rules = RULES[req.kind]
    rules.check_state(policy)
    plan = rules.apply(policy, req, day=day)
    _fire(req, "apply")
    req.diff, req.amount, req.applied_at = plan.diff, plan.amount, timezone.now()
    req.save()
    endorsement = Endorsement.objects.create(
        endorsement_no=_number(ENDORSEMENT_PREFIX, Endorsement, "endorsement_no"),
        policy=policy,
        request=req,
        kind=req.kind,
        diff=plan.diff,
        amount=plan.amount,
        text=plan.text,
        effective_date=day,
        created_by=_actor(actor) or req.second_approver or req.first_approver,
    )
    audit_log(
        actor=actor,
        action="servicing.apply",
        target=policy,
        detail={
            "request_no": req.request_no,
            "endorsement_no": endorsement.endorsement_no,
            "kind": req.kind,
            "effective_date": day,
            "amount": str(plan.amount),
            "diff": plan.diff,
        },
    )
    emit(
        "servicing.applied",
        {"request_id": req.pk, "request_no": req.request_no, "kind": req.kind, "policy_id": policy.pk,
         "endorsement_no": endorsement.endorsement_no, "state": req.state},
    )
    return endorsement


@dataclass
class ApplyResult:
    applied: int = 0
    failed: int = 0


def servicing_apply_due(*, day: date) -> ApplyResult:
    """Apply the approved requests whose effective date has come; one that no longer fits fails with why."""
    result = ApplyResult()
    ids = list(
        ServicingRequest.objects.filter(state=State.APPROVED, effective_date__lte=day)
        .order_by("effective_date", "id")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        try:
            with transaction.atomic():
                req = request_lock(pk)
                if req.state != State.APPROVED:
                    continue
                _apply(req, actor=None, day=req.effective_date)
            result.applied += 1
        except DomainError as exc:
            with transaction.atomic():
                req = request_lock(pk)
                _fire(req, "fail")
                req.closed_reason = "；".join(e.message for e in exc.errors)[:MAX_REASON]
                req.closed_at = timezone.now()
                req.save()
                audit_log(
                    actor=None, action="servicing.fail", target=req, detail={"reason": req.closed_reason}
                )
            result.failed += 1
    return result


# ------------------------------------------------------------------ loans: daily interest and termination

LOAN_TERMINATION = "保单贷款本息超过现金价值，合同效力终止"


@dataclass
class LoanResult:
    accrued: int = 0
    terminated: int = 0


def loans_accrue(*, day: date) -> LoanResult:
    """Accrue interest on every open loan; end a policy whose loan and interest pass its cash value."""
    result = LoanResult()
    policy_ids = list(
        PolicyLoan.objects.filter(state=LoanState.OPEN, accrued_to__lt=day)
        .values_list("policy_id", flat=True)
        .distinct()
    )
    for policy_id in policy_ids:
        with transaction.atomic():
            policy = policy_lock(policy_id)
            owed = Decimal("0.00")
            for loan in PolicyLoan.objects.select_for_update().filter(policy=policy, state=LoanState.OPEN):
                accrue(loan, day)
                owed += loan.balance
                result.accrued += 1
            if policy.state in (*COVERING_STATES, PolicyState.LAPSED) and owed > policy_cash_value(
                policy, day
            ):
                settle_loans(policy, day)
                policy_transition(
                    actor=None,
                    policy_id=policy.pk,
                    name="surrender",
                    reason=LOAN_TERMINATION,
                    on=day,
                    detail={"loan_balance": str(owed)},
                )
                result.terminated += 1
    return result


# ------------------------------------------------------------------ survival and maturity benefits


@dataclass
class BenefitResult:
    survival: int = 0
    maturity: int = 0


def _payee(policy: Policy) -> str:
    """The survival-benefit beneficiary: the insured, or the policyholder of a group policy."""
    return (policy.insured.name if policy.insured_id else policy.policyholder.name)[:100]


BENEFIT_CHUNK = 1000


@transaction.atomic
def _pay_survival(policies: list[Policy], day: date) -> int:
    """Pay the survival benefits due on these policies and not yet paid, with one audit entry each."""
    ids = [p.pk for p in policies]
    paid = set(
        MoneyMovement.objects.filter(policy_id__in=ids, kind=MoneyKind.SURVIVAL).values_list(
            "policy_id", "period"
        )
    )
    main_si: dict[int, Decimal] = {}
    for policy_id, si in (
        PolicyLine.objects.filter(policy_id__in=ids, is_rider=False)
        .order_by("-seq")
        .values_list("policy_id", "sum_insured")
    ):
        main_si[policy_id] = si  # ordered by seq descending: the first line wins
    rows, entries = [], []
    for policy in policies:
        amount = calc.benefit(policy.product.survival_benefit, main_si.get(policy.pk, policy.sum_insured))
        if amount <= 0:
            continue
        for due in calc.survival_dates(
            policy.effective_date, policy.product.survival_interval, day, policy.expiry_date
        ):
            if (policy.pk, due.isoformat()) in paid:
                continue
            rows.append(
                MoneyMovement(
                    policy=policy,
                    kind=MoneyKind.SURVIVAL,
                    direction=Direction.PAY,
                    amount=amount,
                    period=due.isoformat(),
                    payee=_payee(policy),
                    due_date=due,
                    recorded_on=day,
                    note=f"第 {calc.policy_year(policy.effective_date, due) - 1} 保单年度末生存金",
                )
            )
            entries.append(
                PendingEntry(
                    action="servicing.survival_benefit",
                    actor=None,
                    target=policy,
                    detail={"amount": str(amount), "due": due, "payee": _payee(policy)},
                )
            )
    MoneyMovement.objects.bulk_create(rows, batch_size=500)
    if entries:
        audit_log_many(entries)
    return len(rows)


def benefits_pay(*, day: date) -> BenefitResult:
    """Pay survival benefits (生存金) due by `day` and matured policies' maturity benefit (满期金), once."""
    from insurdesk.products.models import Product

    result = BenefitResult()
    survival_products = list(
        Product.objects.filter(survival_benefit__gt=0, survival_interval__gt=0).values_list("pk", flat=True)
    )
    if survival_products:
        # Only the policies whose anniversary is today: each missed day is run by `insurdesk daily` in turn.
        anniversary = Q(effective_date__month=day.month, effective_date__day=day.day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            anniversary |= Q(effective_date__month=2, effective_date__day=29)
        policies = (
            Policy.objects.filter(
                product_id__in=survival_products, state__in=COVERING_STATES, effective_date__lt=day
            )
            .filter(anniversary)
            .select_related("product", "insured", "policyholder")
        )
        chunk: list[Policy] = []
        for policy in policies.iterator(chunk_size=BENEFIT_CHUNK):
            chunk.append(policy)
            if len(chunk) == BENEFIT_CHUNK:
                result.survival += _pay_survival(chunk, day)
                chunk = []
        if chunk:
            result.survival += _pay_survival(chunk, day)
    maturity_products = list(Product.objects.filter(maturity_benefit__gt=0).values_list("pk", flat=True))
    if maturity_products:
        already = MoneyMovement.objects.filter(policy=OuterRef("pk"), kind=MoneyKind.MATURITY)
        matured = (
            Policy.objects.filter(product_id__in=maturity_products, state=PolicyState.MATURED)
            .filter(~Exists(already))
            .select_related("product", "insured", "policyholder")
        )
        for policy in matured.iterator(chunk_size=1000):
            amount = calc.benefit(policy.product.maturity_benefit, main_sum_insured(policy))
            if amount <= 0:
                continue
            with transaction.atomic():
                MoneyMovement.objects.create(
                    policy=policy,
                    kind=MoneyKind.MATURITY,
                    direction=Direction.PAY,
                    amount=amount,
                    period="maturity",
                    payee=_payee(policy),
                    due_date=policy.expiry_date or day,
                    recorded_on=day,
                    note="满期金",
                )
                audit_log(
                    actor=None,
                    action="servicing.maturity_benefit",
                    target=policy,
                    detail={"amount": str(amount)},
                )
            result.maturity += 1
    return result
