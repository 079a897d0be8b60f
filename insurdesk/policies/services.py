"""Every write on policies and premiums: issue, receipt, payments, lapse and reinstatement, cooling-off.

The group member list (被保险人清单) has its own module, `insurdesk.policies.members`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django_fsm import can_proceed

from insurdesk.applications.models import Application
from insurdesk.applications.selectors import new_business_blocks
from insurdesk.applications.services import application_lock, application_transition
from insurdesk.audit.services import PendingEntry, audit_log, audit_log_many
from insurdesk.common.errors import (
    Conflict,
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from insurdesk.common.events import emit
from insurdesk.customers.calculations import age_on
from insurdesk.customers.services import archive_numbers
from insurdesk.org.policy import require
from insurdesk.org.selectors import viewer_unit_ids
from insurdesk.policies import calculations as calc
from insurdesk.policies.models import (
    COVERING_STATES,
    OPEN_INSTALMENT,
    PAYABLE_STATES,
    RECORDABLE_METHODS,
    Instalment,
    InstalmentStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    Policy,
    PolicyBeneficiary,
    PolicyLine,
    PolicyState,
)
from insurdesk.products import calculations as product_calc
from insurdesk.underwriting.models import ACCEPTING, CaseState, UnderwritingCase
from insurdesk.underwriting.rules import group_effective_date

POLICY_NO_PREFIX = "BD"
# 反洗钱: cash premium at or above this identifies the payer (2007 rule practice) — configurable.
DEFAULT_AML_CASH_THRESHOLD = Decimal("20000")
DEFAULT_AML_TRANSFER_THRESHOLD = Decimal("200000")
WHOLE_LIFE_YEARS = 100  # the period a single premium of a whole-life policy is shown to cover


def in_scope(actor, policy: Policy) -> bool:
    """Tell whether the actor may see the policy: its unit subtree; an agent only its own policies."""
    if actor is None or actor.is_superuser:
        return True
    if actor.effective_role == "agent":
        return policy.agent_id == actor.pk
    ids = viewer_unit_ids(actor)
    return ids is None or policy.unit_id in ids


def policy_lock(policy_id: int, *, actor=None) -> Policy:
    """Return the policy locked for update (inside the caller's transaction), or raise NotFound."""
    policy = Policy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None or not in_scope(actor, policy):
        raise NotFound(FieldError("", "not_found", "保单不存在"))
    return policy


def _fire(policy: Policy, name: str, *, message: str | None = None) -> None:
    method = getattr(policy, name)
    if not can_proceed(method):
        raise IllegalTransition(
            FieldError(
                "state",
                "illegal_transition",
                message or f"保单当前状态为“{policy.get_state_display()}”，不能执行此操作",
            )
        )
    method()
    policy.state_changed_at = timezone.now()


def _today(today: date | None) -> date:
    return today or timezone.localdate()


# ------------------------------------------------------------------ issuing (承保出单)


def _new_policy_no() -> str:
    while True:
        number = archive_numbers(1, prefix=POLICY_NO_PREFIX)[0]
        if not Policy.objects.filter(policy_no=number).exists():
            return number


def instalments_per_year(mode: str) -> int:
    return 1 if mode == calc.SINGLE else calc.INSTALMENTS_PER_YEAR[mode]


def _policy_dates(app: Application, issue_date: date) -> tuple[date, date]:
    """Return the policy's effective date and application date (生效日期, 投保日期).

    A group policy's application date is the day before it takes effect (团险投保日期 = 生效日前一日):
    it takes effect the day after the application date, or on the requested date an underwriter
    accepted (the group_dates rule refers any other date), and then carries the day before that date
    as its application date.
    """
    if app.is_group:
        effective = app.requested_effective_date or group_effective_date(app.application_date)
        return effective, calc.group_application_date(effective)
    return app.requested_effective_date or issue_date + timedelta(days=1), app.application_date


def schedule_instalment(policy: Policy, seq: int) -> calc.Instalment | None:
    """Return instalment `seq` of the policy's schedule, None past its last premium."""
    if seq < 1 or seq > policy.instalment_total:
        return None
    end = policy.expiry_date or calc.add_years(policy.effective_date, WHOLE_LIFE_YEARS) - timedelta(days=1)
    return calc.instalment_at(
        mode=policy.payment_mode,
        annual_premium=policy.annual_premium,
        effective=policy.effective_date,
        seq=seq,
        coverage_end=end,
    )


def policy_schedule(policy: Policy) -> list[calc.Instalment]:
    """Return the whole premium schedule of the policy (computed; only the next premium is stored)."""
    return [schedule_instalment(policy, seq) for seq in range(1, policy.instalment_total + 1)]


def _write_instalment(policy: Policy, seq: int) -> Instalment | None:
    planned = schedule_instalment(policy, seq)
    if planned is None:
        return None
    return Instalment.objects.create(
        open_due=planned.due_date,
        policy=policy,
        seq=seq,
        due_date=planned.due_date,
        period_start=planned.period_start,
        period_end=planned.period_end,
        amount=planned.amount,
        unit_id=policy.unit_id,
        agent_id=policy.agent_id,
    )


@dataclass
class IssuePlan:
    """Everything a policy takes from its application, computed before anything is written."""

    effective: date
    application_date: date
    expiry: date | None
    instalment_total: int
    premium: Decimal
    annual_premium: Decimal
    extra_premium: Decimal
    sum_insured: Decimal
    main_line_id: int
    exclusion: str
    main_product: object
    lines: list = field(default_factory=list)


def issue_plan(app: Application, case: UnderwritingCase, *, issue_date: date) -> IssuePlan:
    """Work out dates, premiums and the schedule size of the policy an accepted application becomes.

    Premiums on the application are per instalment (每期保费, as the form asks); the rating (加费) is
    added per instalment to the main line.
    """
    lines = list(app.lines.select_related("product", "plan_level").order_by("seq"))
    mains = [line for line in lines if line.rider_of_id is None]
    if not mains:
        raise ValidationFailed(FieldError("lines", "required", "投保单没有主险，不能出单"))
    main = mains[0]
    effective, application_date = _policy_dates(app, issue_date)
    birth = app.insured.birth_date if app.insured_id else None
    expiry = product_calc.coverage_end(main.coverage_term, start=effective, birth_date=birth)
    if expiry is not None and expiry < effective:
        raise ValidationFailed(
            FieldError("coverage_term", "expired", "按保险期间计算的满期日早于生效日，不能出单")
        )
    age = age_on(birth, effective) if birth else None
    total = product_calc.instalment_count(app.payment_mode, app.payment_term, age=age)
    if not total:
        raise ValidationFailed(FieldError("payment_term", "invalid", "无法按缴费方式和缴费期间计算缴费期数"))
    extra = (case.extra_premium or Decimal("0.00")) if case.decision == "rated" else Decimal("0.00")
    premium = sum((line.premium for line in lines), Decimal("0.00")) + extra
    return IssuePlan(
        effective=effective,
        application_date=application_date,
        expiry=expiry,
        instalment_total=total,
        premium=premium,
        annual_premium=premium * instalments_per_year(app.payment_mode),
        extra_premium=extra,
        sum_insured=sum((line.sum_insured for line in lines), Decimal("0.00")),
        main_line_id=main.pk,
        exclusion=case.exclusion if case.decision == "exclusion" else "",
        main_product=main.product,
        lines=lines,
    )


@transaction.atomic
def policy_issue(*, actor, application_id: int, today: date | None = None) -> Policy:
    """Issue the policy of an accepted application (承保出单): number, dates, parties, lines, first premium.

    Refused while a required sales recording (双录) is missing or unchecked — the application's `issue`
    transition checks it. A group policy is dated the day before its effective date (see _policy_dates).
    """
    require(actor, "policy.issue", "您的角色无权承保出单")
    app = application_lock(application_id, actor=actor)
    if Policy.objects.filter(application_id=app.pk).exists():
        raise Conflict(FieldError("", "already_issued", "该投保单已出单"))
    case = UnderwritingCase.objects.filter(application_id=app.pk).first()
    if case is None or case.state != CaseState.ACCEPTED or case.decision not in ACCEPTING:
        raise IllegalTransition(FieldError("state", "not_accepted", "投保单尚未核保通过，不能出单"))
    blocks = new_business_blocks(app.policyholder, app.insured)  # SPEC §1: an expired document
    if blocks:
        raise IllegalTransition(blocks)
    issue_date = _today(today)
    plan = issue_plan(app, case, issue_date=issue_date)
    application_transition(actor=actor, application=app, name="issue")
    product = plan.main_product
    now = timezone.now()
    policy = Policy.objects.create(
        policy_no=_new_policy_no(),
        application=app,
        product=product,
        unit_id=app.unit_id,
        agent_id=app.agent_id,
        policyholder_id=app.policyholder_id,
        insured_id=app.insured_id,
        relationship=app.relationship,
        is_group=app.is_group,
        beneficiary_legal=app.beneficiary_legal,
        state_changed_at=now,
        payment_mode=app.payment_mode,
        payment_term=app.payment_term,
        instalment_total=plan.instalment_total,
        coverage_term=next(line.coverage_term for line in plan.lines if line.pk == plan.main_line_id),
        application_date=plan.application_date,
        issue_date=issue_date,
        effective_date=plan.effective,
        expiry_date=plan.expiry,
        premium=plan.premium,
        annual_premium=plan.annual_premium,
        extra_premium=plan.extra_premium,
        sum_insured=plan.sum_insured,
        cooling_off_days=product.cooling_off_days,
        grace_days=product.grace_days,
        underwriting_decision=case.decision,
        exclusion=plan.exclusion,
        created_by=actor if actor is not None and actor.pk else None,
    )
    PolicyLine.objects.bulk_create(
        [
            PolicyLine(
                policy=policy,
                seq=line.seq,
                product=line.product,
                is_rider=line.rider_of_id is not None,
                coverage_term=line.coverage_term,
                sum_insured=line.sum_insured,
                premium=line.premium,
                extra_premium=plan.extra_premium if line.pk == plan.main_line_id else Decimal("0.00"),
                exclusion=plan.exclusion if line.pk == plan.main_line_id else "",
                death_cover=line.product.death_cover,
                plan_level=line.plan_level,
            )
            for line in plan.lines
        ]
    )
    PolicyBeneficiary.objects.bulk_create(
        [
            PolicyBeneficiary(
                policy=policy,
                seq=b.seq,
                order=b.order,
                name=b.name,
                id_type=b.id_type,
                id_number=b.id_number,
                relationship=b.relationship,
                share=b.share,
                customer_id=b.customer_id,
            )
            for b in app.beneficiaries.all()
        ]
    )
    first = _write_instalment(policy, 1)
    audit_log(
        actor=actor,
        action="policy.issue",
        target=policy,
        detail={
            "policy_no": policy.policy_no,
            "application": app.application_no,
            "effective_date": policy.effective_date,
            "application_date": policy.application_date,
            "premium": str(policy.premium),
            "decision": case.decision,
            "first_due": first.due_date if first else None,
        },
    )
    emit(
        "policy.issued",
        {"policy_id": policy.pk, "policy_no": policy.policy_no, "application_id": app.pk,
         "state": policy.state, "product": product.code, "policyholder_id": policy.policyholder_id,
         "insured_id": policy.insured_id, "effective_date": policy.effective_date},
    )
    return policy


@transaction.atomic
def policy_record_receipt(*, actor, policy_id: int, receipt_date: date, today: date | None = None) -> Policy:
    """Record the day the policyholder signed the policy receipt (回执); the cooling-off counts from it."""
    require(actor, "policy.receipt", "您的角色无权登记保单回执")
    policy = policy_lock(policy_id, actor=actor)
    if receipt_date < policy.issue_date:
        raise ValidationFailed(FieldError("receipt_date", "date_order", "回执签收日期不能早于签单日期"))
    if receipt_date > _today(today):
        raise ValidationFailed(FieldError("receipt_date", "future", "回执签收日期不能晚于今天"))
    if policy.state in (PolicyState.CANCELLED, PolicyState.SURRENDERED):
        raise IllegalTransition(FieldError("state", "illegal_transition", "保单已终止，不能登记回执"))
    before = policy.receipt_date
    policy.receipt_date = receipt_date
    policy.save(update_fields=["receipt_date", "updated_at"])
    audit_log(
        actor=actor, action="policy.receipt", target=policy, detail={"before": before, "after": receipt_date}
    )
    return policy


# ------------------------------------------------------------------ payments (缴费)


def _money(value, field_name: str = "amount") -> Decimal:
    if isinstance(value, float):
        value = str(value)
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise ValidationFailed(FieldError(field_name, "format", "金额格式不正确")) from None
    if not d.is_finite() or d != d.quantize(calc.CENT):
        raise ValidationFailed(FieldError(field_name, "format", "金额最多两位小数"))
    return d.quantize(calc.CENT)


def aml_thresholds() -> tuple[Decimal, Decimal]:
    return (
        Decimal(str(getattr(settings, "INSURDESK_AML_CASH_THRESHOLD", DEFAULT_AML_CASH_THRESHOLD))),
        Decimal(str(getattr(settings, "INSURDESK_AML_TRANSFER_THRESHOLD", DEFAULT_AML_TRANSFER_THRESHOLD))),
    )


def _duplicate_reference(policy: Policy, reference: str) -> Duplicate:
    return Duplicate(
        FieldError(
            "reference",
            "duplicate",
            f"保单 {policy.policy_no} 已有凭证号为“{reference}”的缴费记录，同一笔缴费不能重复录入",
        )
    )


@transaction.atomic
def payment_record(
    *,
    actor,
    policy_id: int,
    amount,
    method: str,
    paid_on: date,
    reference: str = "",
    note: str = "",
    instalment_id: int | None = None,
    today: date | None = None,
) -> tuple[Payment, list[str]]:
    """Record money received for the policy's oldest open premium (or the one named); part payments allowed.

    A premium paid in full writes the next one due; the first one paid in full puts a pending policy
    in force. Cash of RMB 20,000 or more (transfers of 200,000) is flagged for identification (反洗钱).
    """
    require(actor, "payment.record", "您的角色无权录入缴费")
    policy = policy_lock(policy_id, actor=actor)
    errors = []
    if method not in RECORDABLE_METHODS:  # "unknown" is only for past payments of an archive table
        errors.append(FieldError("method", "choice", "缴费方式应为 现金/转账/刷卡/银行代扣 之一"))
    amount = _money(amount)
    if amount <= 0:
        errors.append(FieldError("amount", "range", "缴费金额应大于 0"))
    if not isinstance(paid_on, date):
        errors.append(FieldError("paid_on", "required", "请填写缴费日期"))
    elif paid_on > _today(today):
        errors.append(FieldError("paid_on", "future", "缴费日期不能晚于今天"))
    if len(reference or "") > 60:
        errors.append(FieldError("reference", "too_long", "凭证号不能超过 60 个字符"))
    if errors:
        raise ValidationFailed(errors)
    if policy.state not in PAYABLE_STATES:
        raise IllegalTransition(
            FieldError(
                "state", "illegal_transition", f"保单当前状态为“{policy.get_state_display()}”，不能缴费"
            )
        )
    open_qs = Instalment.objects.select_for_update().filter(policy=policy, status__in=OPEN_INSTALMENT)
    instalment = (
        open_qs.filter(pk=instalment_id).first()
        if instalment_id is not None
        else open_qs.order_by("seq").first()
    )
    if instalment is None:
        raise ValidationFailed(
            FieldError(
                "instalment_id" if instalment_id else "policy_id",
                "nothing_due",
                "该保单没有待缴的保费" if instalment_id is None else "该期保费不存在或已缴清",
            )
        )
    oldest = open_qs.order_by("seq").values_list("seq", flat=True).first()
    if instalment.seq != oldest:
        raise ValidationFailed(FieldError("instalment_id", "order", f"请先缴第 {oldest} 期保费"))
    if amount > instalment.outstanding:
        raise ValidationFailed(
            FieldError(
                "amount",
                "over_due",
                f"缴费金额 {amount} 元超过第 {instalment.seq} 期未缴金额 {instalment.outstanding} 元",
            )
        )
    reference = (reference or "").strip()
    # The policy row is locked (policy_lock), so a concurrent payment of the policy waits here and
    # then finds this one; the constraint is the last word for any other writer.
    if reference and Payment.objects.filter(policy=policy, reference=reference).exists():
        raise _duplicate_reference(policy, reference)
    payment = Payment(
        policy=policy,
        instalment=instalment,
        kind=PaymentKind.PREMIUM,
        method=method,
        amount=amount,
        paid_on=paid_on,
        period_start=instalment.period_start,
        period_end=instalment.period_end,
        reference=reference,
        note=(note or "").strip()[:300],
        unit_id=policy.unit_id,
        agent_id=policy.agent_id,
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError as exc:
        if reference and Payment.objects.filter(policy=policy, reference=reference).exists():
            raise _duplicate_reference(policy, reference) from exc
        raise
    instalment.paid_amount += amount
    instalment.status = calc.instalment_status(
        amount=instalment.amount, paid=instalment.paid_amount, due=instalment.due_date, today=_today(today)
    )
    next_due = None
    if instalment.status == InstalmentStatus.PAID:
        instalment.open_due = None
        instalment.paid_on = paid_on
        nxt = _write_instalment(policy, instalment.seq + 1)
        next_due = nxt.due_date if nxt else None
        policy.paid_to = instalment.period_end + timedelta(days=1)
        if policy.state == PolicyState.PENDING:
            _fire(policy, "activate")
    instalment.save()
    policy.save()
    warnings = []
    cash_limit, transfer_limit = aml_thresholds()
    if method == PaymentMethod.CASH and amount >= cash_limit:
        warnings.append(
            f"现金缴费 {amount} 元达到反洗钱识别标准（{cash_limit} 元），请核实缴款人身份并留存证件"
        )
    elif method == PaymentMethod.TRANSFER and amount >= transfer_limit:
        warnings.append(f"转账缴费 {amount} 元达到反洗钱识别标准（{transfer_limit} 元），请核实缴款人身份")
    audit_log(
        actor=actor,
        action="payment.record",
        target=payment,
        detail={
            "policy_no": policy.policy_no,
            "seq": instalment.seq,
            "amount": str(amount),
            "method": method,
            "status": instalment.status,
            "next_due": next_due,
            "aml_flag": bool(warnings),
        },
    )
    return payment, warnings


# ------------------------------------------------------------------ state changes for servicing and claims

TERMINATION_LABELS = {
    "surrender": "退保",
    "mature": "满期",
    "terminate_by_claim": "理赔终止",
    "cancel": "撤单",
}
TRANSITION_NAMES = ("activate", "lapse", "reinstate", "surrender", "mature", "terminate_by_claim", "cancel")


@transaction.atomic
def policy_transition(
    *, actor, policy_id: int, name: str, reason: str = "", on: date | None = None, detail: dict | None = None
) -> Policy:
    """Run one state change on a policy, save it and write the audit entry; refuse an illegal one.

    For the higher layers (servicing: surrender 退保, reinstatement; claims: claim termination 理赔终止),
    which check their own conditions first. A policy that ends voids its premiums still open.
    """
    if name not in TRANSITION_NAMES:
        raise IllegalTransition(FieldError("state", "illegal_transition", f"未知的状态变更：{name}"))
    policy = policy_lock(policy_id, actor=actor)
    day = _today(on)
    before = policy.state
    _fire(policy, name)
    if name == "lapse":
        policy.lapsed_on = day
        _emit_lapsed(policy)
    elif name == "reinstate":
        policy.reinstated_on = day
    elif name in TERMINATION_LABELS:
        policy.terminated_on = day
        policy.termination_reason = (reason or "").strip()[:300] or TERMINATION_LABELS[name]
        Instalment.objects.filter(policy=policy, status__in=OPEN_INSTALMENT).update(
            status=InstalmentStatus.VOID, open_due=None
        )
    policy.save()
    audit_log(
        actor=actor,
        action=f"policy.{name}",
        target=policy,
        detail={"from": before, "to": policy.state, **(detail or {})},
    )
    return policy


# ------------------------------------------------------------------ lapse, reinstatement, maturity


@dataclass
class LapseCheckResult:
    marked_overdue: int = 0
    lapsed: list[str] = field(default_factory=list)


def policies_lapse_check(*, actor=None, today: date | None = None, batch: int = 1000) -> LapseCheckResult:
    """Mark premiums past due as overdue; suspend policies whose grace period has ended (保险法 §36).

    A premium unpaid more than the product's grace days (60 by default) after its due date lapses the
    policy; a part-paid premium counts as unpaid. Runs daily (`insurdesk policies lapse-check`).
    """
    day = _today(today)
    result = LapseCheckResult()
    with transaction.atomic():
        result.marked_overdue = Instalment.objects.filter(
            status=InstalmentStatus.UNPAID, due_date__lt=day
        ).update(status=InstalmentStatus.OVERDUE)
    graces = Policy.objects.filter(state__in=COVERING_STATES).values_list("grace_days", flat=True).distinct()
    for grace in sorted(set(graces)):
        # lapse when day >= due + grace + 1, i.e. due <= day - grace - 1
        last_due = day - timedelta(days=grace + 1)
        while True:
            ids = list(
                Instalment.objects.filter(
                    status__in=OPEN_INSTALMENT,
                    due_date__lte=last_due,
                    policy__state__in=COVERING_STATES,
                    policy__grace_days=grace,
                )
                .values_list("policy_id", flat=True)
                .distinct()[:batch]
            )
            if not ids:
                break
            result.lapsed.extend(_lapse_batch(actor, ids, day))
    return result


def _emit_lapsed(policy: Policy) -> None:
    emit(
        "policy.lapsed",
        {"policy_id": policy.pk, "policy_no": policy.policy_no, "state": policy.state,
         "lapsed_on": policy.lapsed_on},
    )


@transaction.atomic
def _lapse_batch(actor, policy_ids: list[int], day: date) -> list[str]:
    done, entries = [], []
    for policy in Policy.objects.select_for_update().filter(pk__in=policy_ids, state__in=COVERING_STATES):
        oldest = (
            policy.instalments.filter(status__in=OPEN_INSTALMENT)
            .order_by("due_date")
            .values_list("due_date", flat=True)
            .first()
        )
        _fire(policy, "lapse")
        policy.lapsed_on = calc.lapse_date(oldest, policy.grace_days) if oldest else day
        policy.save()
        _emit_lapsed(policy)
        done.append(policy.policy_no)
        entries.append(
            PendingEntry(
                action="policy.lapse",
                actor=actor,
                target=policy,
                detail={
                    "policy_no": policy.policy_no,
                    "due_date": oldest,
                    "grace_days": policy.grace_days,
                    "lapsed_on": policy.lapsed_on,
                },
            )
        )
    if entries:
        audit_log_many(entries)
    return done


@transaction.atomic
def policy_reinstate(*, actor, policy_id: int, today: date | None = None) -> Policy:
    """Reinstate a lapsed policy once every premium due has been paid, within two years (保险法 §37)."""
    require(actor, "policy.cancel", "您的角色无权办理复效")
    policy = policy_lock(policy_id, actor=actor)
    day = _today(today)
    if policy.state != PolicyState.LAPSED:
        raise IllegalTransition(
            FieldError(
                "state",
                "illegal_transition",
                f"保单当前状态为“{policy.get_state_display()}”，只有失效保单可以复效",
            )
        )
    if policy.lapsed_on and day > calc.reinstatement_deadline(policy.lapsed_on):
        raise ValidationFailed(
            FieldError("", "too_late", "效力中止已满两年，不能申请复效（保险法第三十七条）")
        )
    owed = policy.instalments.filter(status__in=OPEN_INSTALMENT, due_date__lte=day).aggregate(
        amount=Sum("amount"), paid=Sum("paid_amount")
    )
    if owed["amount"]:
        raise ValidationFailed(
            FieldError("", "arrears", f"尚欠保费 {owed['amount'] - (owed['paid'] or 0)} 元，补交后方可复效")
        )
    _fire(policy, "reinstate")
    policy.reinstated_on = day
    policy.save()
    audit_log(actor=actor, action="policy.reinstate", target=policy, detail={"reinstated_on": day})
    return policy


def policies_mature_check(*, actor=None, today: date | None = None) -> list[str]:
    """End the policies whose cover expired before today (满期)."""
    day = _today(today)
    done = []
    while True:
        ids = list(
            Policy.objects.filter(state__in=COVERING_STATES, expiry_date__lt=day).values_list(
                "pk", flat=True
            )[:1000]
        )
        if not ids:
            return done
        with transaction.atomic():
            entries = []
            for policy in Policy.objects.select_for_update().filter(pk__in=ids, state__in=COVERING_STATES):
                _fire(policy, "mature")
                policy.terminated_on, policy.termination_reason = policy.expiry_date, "满期"
                policy.save()
                Instalment.objects.filter(policy=policy, status__in=OPEN_INSTALMENT).update(
                    status=InstalmentStatus.VOID, open_due=None
                )
                done.append(policy.policy_no)
                entries.append(
                    PendingEntry(
                        action="policy.mature",
                        actor=actor,
                        target=policy,
                        detail={"expiry_date": policy.expiry_date},
                    )
                )
            audit_log_many(entries)


# ------------------------------------------------------------------ cooling-off cancellation (犹豫期撤单)


def cooling_off_start(policy: Policy) -> date:
    """The cooling-off counts from the policy receipt (回执签收), or from the issue date without one."""
    return policy.receipt_date or policy.issue_date


@transaction.atomic
def policy_cancel(
    *, actor, policy_id: int, reason: str = "", method: str = "", today: date | None = None
) -> tuple[Policy, Payment | None]:
    """Cancel a policy inside its product's cooling-off days (犹豫期撤单) and refund the premium paid.

    Outside the cooling-off period the cancellation is refused: the policyholder may surrender instead.
    """
    require(actor, "policy.cancel", "您的角色无权办理撤单")
    if method and method not in RECORDABLE_METHODS:
        raise ValidationFailed(FieldError("method", "choice", "退费方式应为 现金/转账/刷卡/银行代扣 之一"))
    policy = policy_lock(policy_id, actor=actor)
    day = _today(today)
    if policy.state not in (PolicyState.PENDING, PolicyState.IN_FORCE):
        raise IllegalTransition(
            FieldError(
                "state", "illegal_transition", f"保单当前状态为“{policy.get_state_display()}”，不能撤单"
            )
        )
    start = cooling_off_start(policy)
    if not calc.within_cooling_off(start, policy.cooling_off_days, day):
        if policy.cooling_off_days == 0:
            message = "该险种没有犹豫期，不能撤单；如需解除合同请申请退保"
        else:
            end = calc.cooling_off_end(start, policy.cooling_off_days)
            message = (
                f"已过犹豫期（{policy.cooling_off_days} 天，自 {start:%Y-%m-%d} 起至 {end:%Y-%m-%d} 止），"
                "不能撤单；如需解除合同请申请退保"
            )
        raise ValidationFailed(FieldError("", "cooling_off_over", message))
    paid = policy.payments.filter(kind=PaymentKind.PREMIUM).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    refunded = policy.payments.filter(kind=PaymentKind.REFUND).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    fee = Decimal(str(getattr(settings, "INSURDESK_COOLING_OFF_FEE", "0")))
    refund_amount = calc.cooling_off_refund(paid - refunded, fee)
    _fire(policy, "cancel")
    policy.terminated_on, policy.termination_reason = day, (reason or "").strip()[:300] or "犹豫期内撤单"
    policy.save()
    Instalment.objects.filter(policy=policy, status__in=OPEN_INSTALMENT).update(
        status=InstalmentStatus.VOID, open_due=None
    )
    refund = None
    if refund_amount > 0:
        last = policy.payments.filter(kind=PaymentKind.PREMIUM).order_by("-paid_on", "-id").first()
        refund = Payment.objects.create(
            policy=policy,
            kind=PaymentKind.REFUND,
            method=method
            or (last.method if last is not None and last.method in RECORDABLE_METHODS else "transfer"),
            amount=refund_amount,
            paid_on=day,
            note="犹豫期撤单退费",
            unit_id=policy.unit_id,
            agent_id=policy.agent_id,
            recorded_by=actor if actor is not None and actor.pk else None,
        )
    audit_log(
        actor=actor,
        action="policy.cancel",
        target=policy,
        detail={"reason": policy.termination_reason, "refund": str(refund_amount), "cooling_off_from": start},
    )
    return policy, refund
