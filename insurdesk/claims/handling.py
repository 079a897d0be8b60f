"""Every write of a claim's handling, from report (报案) to close (结案), with the law's clocks.

The archive table's bulk registration of past claims stays in `insurdesk.claims.services`. Each service
here locks the claim, checks its state against the machine (models.TRANSITIONS), writes a timeline
event and an audit entry in the same transaction, and recomputes the next deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from insurdesk.audit.services import PendingEntry, audit_log, audit_log_many
from insurdesk.claims import calculations as calc
from insurdesk.claims import rules
from insurdesk.claims.models import (
    OPEN_STATES,
    TRANSITIONS,
    Claim,
    ClaimAssessment,
    ClaimEvent,
    ClaimNotice,
    ClaimPayment,
    ClaimState,
    ClaimType,
    Decision,
    NoticeKind,
    PaymentKind,
    ReportChannel,
)
from insurdesk.common.errors import (
    FieldError,
    IllegalTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from insurdesk.common.events import emit
from insurdesk.customers.services import archive_numbers
from insurdesk.identity.errors import IdentityError
from insurdesk.identity.phones import normalize_landline, normalize_mobile
from insurdesk.org.policy import require
from insurdesk.policies.models import (
    OPEN_INSTALMENT,
    RECORDABLE_METHODS,
    Policy,
    PolicyState,
)
from insurdesk.policies.services import in_scope, policy_transition

CLAIM_NO_PREFIX = "LP"
MAX_AMOUNT = Decimal("999999999999.99")
STATE_LABELS = dict(ClaimState.choices)
SUICIDE_TEXT = "合同成立或复效之日起二年内自杀，不承担给付保险金责任，退还现金价值（保险法第四十四条）"
TYPE_RULE = "出险类型应为 身故/重大疾病/医疗/意外伤残/意外医疗/财产损失 之一"
DEATH_ENDS_POLICY_FROM = (PolicyState.IN_FORCE, PolicyState.REINSTATED, PolicyState.LAPSED)


# ------------------------------------------------------------------ small helpers


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def _money(
    value, name: str, label: str, *, required: bool = True, errors: list[FieldError]
) -> Decimal | None:
    if value in (None, ""):
        if required:
            errors.append(FieldError(name, "required", f"请填写{label}"))
        return None
    try:
        d = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        errors.append(FieldError(name, "format", f"{label}格式不正确"))
        return None
    if not d.is_finite() or d != d.quantize(calc.CENT):
        errors.append(FieldError(name, "format", f"{label}最多两位小数"))
        return None
    if d < 0 or d > MAX_AMOUNT:
        errors.append(FieldError(name, "range", f"{label}超出范围"))
        return None
    return d.quantize(calc.CENT)


def _text(value, name: str, label: str, *, max_length: int, required: bool, errors: list[FieldError]) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        errors.append(FieldError(name, "required", f"请填写{label}"))
    elif len(text) > max_length:
        errors.append(FieldError(name, "too_long", f"{label}不能超过 {max_length} 个字符"))
    return text


def _lock(actor, claim_id: int) -> Claim:
    claim = Claim.objects.select_for_update().filter(pk=claim_id).first()
    if claim is None:
        raise NotFound(FieldError("", "not_found", "理赔不存在"))
    policy = Policy.objects.select_related("product", "unit", "unit__parent").get(pk=claim.policy_id)
    if not in_scope(actor, policy):
        raise NotFound(FieldError("", "not_found", "理赔不存在"))
    claim.policy = policy
    return claim


def _refuse_state(claim: Claim, action: str) -> IllegalTransition:
    return IllegalTransition(
        FieldError(
            "state", "state", f"赔案当前状态为“{STATE_LABELS.get(claim.state, claim.state)}”，不能{action}"
        )
    )


def _move(claim: Claim, target: str, action: str) -> None:
    if target not in TRANSITIONS.get(claim.state, frozenset()):
        raise _refuse_state(claim, action)
    claim.state = target
    claim.state_changed_at = timezone.now()


def _cover(policy: Policy) -> calc.Cover:
    return calc.Cover(
        state=policy.state,
        effective_date=policy.effective_date,
        expiry_date=policy.expiry_date,
        lapsed_on=policy.lapsed_on,
        reinstated_on=policy.reinstated_on,
        terminated_on=policy.terminated_on,
    )


def paid_on_policy(policy_id: int, *, exclude_claim: int | None = None) -> Decimal:
    """Return what claims have paid on the policy so far (advances included)."""
    qs = ClaimPayment.objects.filter(claim__policy_id=policy_id)
    if exclude_claim is not None:
        qs = qs.exclude(claim_id=exclude_claim)
    return qs.aggregate(s=Sum("amount"))["s"] or Decimal("0")


def remaining_sum_insured(policy: Policy) -> Decimal:
    """The sum insured less every claim payment on the policy (剩余保额)."""
    return max(policy.sum_insured - paid_on_policy(policy.pk), Decimal("0"))


def _paid_on_claim(claim: Claim, kind: str | None = None) -> Decimal:
    qs = ClaimPayment.objects.filter(claim=claim)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.aggregate(s=Sum("amount"))["s"] or Decimal("0")


def _clock_days() -> dict[str, int]:
    return {k: rules.clock_days(k) for k in rules.CLOCKS}


def claim_clocks(claim: Claim) -> list[calc.Clock]:
    """Return the claim's running deadlines, earliest first."""
    saved = claim.pk is not None
    notice_sent = not (
        saved
        and ClaimNotice.objects.filter(claim=claim, kind=NoticeKind.REFUSAL, sent_on__isnull=True).exists()
    )
    advance_paid = saved and ClaimPayment.objects.filter(claim=claim, kind=PaymentKind.ADVANCE).exists()
    return calc.clocks(
        state=claim.state,
        clock_from=claim.clock_from,
        agreed_on=claim.agreed_on,
        decided_on=claim.decided_on,
        notice_sent=notice_sent,
        advance_paid=advance_paid,
        days=_clock_days(),
    )


def _refresh_clock(claim: Claim, today: date) -> None:
    running = claim_clocks(claim)
    nxt = running[0] if running else None
    claim.next_deadline = nxt.due if nxt else None
    claim.deadline_kind = nxt.kind if nxt else ""
    if nxt is None or nxt.due >= today:
        claim.overdue, claim.overdue_since = False, None


def _save(claim: Claim, actor, today: date) -> None:
    _refresh_clock(claim, today)
    if actor is not None and getattr(actor, "pk", None):
        claim._history_user = actor
    claim.save()


def _record(
    claim: Claim, actor, action: str, before: str, *, note: str = "", detail: dict | None = None
) -> None:
    user = actor if actor is not None and getattr(actor, "pk", None) else None
    ClaimEvent.objects.create(
        claim=claim,
        actor=user,
        action=action,
        state_from=before,
        state_to=claim.state,
        note=note,
        detail=_plain(detail or {}),
    )
    audit_log(
        actor=actor,
        action=f"claim.{action}",
        target=claim,
        detail=_plain({"claim_no": claim.claim_no, "from": before, "to": claim.state, **(detail or {})}),
    )
    event = _EVENTS.get(action)
    if event is not None:
        emit(
            event,
            {"claim_id": claim.pk, "claim_no": claim.claim_no, "policy_id": claim.policy_id,
             "state": claim.state, "action": action},
        )


# Claim actions announced to other systems (webhooks): report, the decision and its approval, payments.
_EVENTS = {
    "report": "claim.reported",
    "decide": "claim.decided",
    "approve": "claim.decided",
    "pay": "claim.paid",
    "advance": "claim.paid",
}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# ------------------------------------------------------------------ report (报案) and registration


def _phone(value: str, errors: list[FieldError]) -> str:
    text = (value or "").strip()
    if not text:
        return ""
    try:
        return normalize_mobile(text)
    except IdentityError:
        pass
    try:
        return normalize_landline(text)
    except IdentityError:
        errors.append(FieldError("reporter.phone", "format", "报案人电话应为11位手机号码或带区号的固定电话"))
        return ""


def _find_policy(actor, data: dict, errors: list[FieldError]) -> Policy | None:
    policy_id, policy_no = data.get("policy_id"), (data.get("policy_no") or "").strip().upper()
    if not policy_id and not policy_no:
        errors.append(FieldError("policy_id", "required", "请指定保单（保单ID或保单号）"))
        return None
    qs = Policy.objects.select_related("product", "insured", "policyholder", "unit")
    policy = qs.filter(pk=policy_id).first() if policy_id else qs.filter(policy_no=policy_no).first()
    if policy is None or not in_scope(actor, policy):
        errors.append(
            FieldError(
                "policy_id" if policy_id else "policy_no", "not_found", "保单不存在或不在您的权限范围内"
            )
        )
        return None
    return policy


def grace_owed(policy: Policy, event: date) -> Decimal:
    """Premium owed on the event's day when it falls in a grace period (保险法 §36), else nothing."""
    rows = [
        (i.due_date, i.amount - i.paid_amount)
        for i in policy.instalments.filter(status__in=OPEN_INSTALMENT, due_date__lte=event)
    ]
    return calc.premium_owed(rows, policy.grace_days, event)


@transaction.atomic
def claim_report(*, actor, data: dict, today: date | None = None) -> Claim:
    """Take a report (报案, 保险法 §21) and register the claim with its document checklist.

    An event before the policy took effect, after it ended or while it was lapsed is refused with the
    reason; an event in the grace period is taken and the premium owed is recorded for deduction.
    """
    require(actor, "claim.report", "您的角色无权受理报案")
    day = _today(today)
    errors: list[FieldError] = []
    policy = _find_policy(actor, data, errors)
    claim_type = data.get("claim_type") or ""
    if claim_type not in ClaimType.values:
        errors.append(FieldError("claim_type", "required" if not claim_type else "choice", TYPE_RULE))
    channel = data.get("channel") or ReportChannel.PHONE
    if channel not in ReportChannel.values or channel == ReportChannel.IMPORT:
        errors.append(FieldError("channel", "choice", "报案渠道应为 电话/柜面/业务员/网上/接口 之一"))
    reported_at = data.get("reported_at") or timezone.now()
    if isinstance(reported_at, datetime) and timezone.is_naive(reported_at):
        reported_at = timezone.make_aware(reported_at)
    if not isinstance(reported_at, datetime):
        errors.append(FieldError("reported_at", "format", "报案时间格式不正确"))
        reported_at = timezone.now()
    elif timezone.localtime(reported_at).date() > day:
        errors.append(FieldError("reported_at", "future", "报案时间不能晚于今天"))
    event = data.get("event_date")
    if not isinstance(event, date):
        errors.append(FieldError("event_date", "required", "请填写出险日期"))
        event = None
    elif event > timezone.localtime(reported_at).date():
        errors.append(FieldError("event_date", "after_report", "出险日期不能晚于报案时间"))
    reporter = data.get("reporter") or {}
    reporter_name = _text(
        reporter.get("name"), "reporter.name", "报案人姓名", max_length=100, required=True, errors=errors
    )
    relation = _text(
        reporter.get("relation"),
        "reporter.relation",
        "报案人与被保险人关系",
        max_length=20,
        required=True,
        errors=errors,
    )
    phone = _phone(reporter.get("phone") or "", errors)
    description = _text(
        data.get("description"), "description", "出险经过", max_length=500, required=True, errors=errors
    )
    place = _text(data.get("place"), "place", "出险地点", max_length=200, required=False, errors=errors)
    amount = _money(data.get("amount_claimed"), "amount_claimed", "索赔金额", required=False, errors=errors)
    if policy is not None and event is not None and not any(e.field == "event_date" for e in errors):
        refusal = calc.cover_refusal(_cover(policy), event)
        if refusal is not None:
            errors.append(FieldError("event_date", *refusal))
    if errors:
        raise ValidationFailed(errors)
    owed = grace_owed(policy, event)
    claim = Claim(
        claim_no=archive_numbers(1, prefix=CLAIM_NO_PREFIX)[0],
        policy=policy,
        claimant=policy.insured or policy.policyholder,
        reported_on=timezone.localtime(reported_at).date(),
        reported_at=reported_at,
        amount_claimed=amount or Decimal("0"),
        state=ClaimState.REPORTED,
        state_changed_at=timezone.now(),
        description=description,
        claim_type=claim_type,
        channel=channel,
        event_date=event,
        place=place,
        reporter_name=reporter_name,
        reporter_relation=relation,
        reporter_phone=phone or None,
        premium_owed=owed,
        documents=[
            {"code": c, "label": label, "received_on": None} for c, label in rules.documents(claim_type)
        ],
        created_by=actor if actor is not None and actor.pk else None,
    )
    _save(claim, actor, day)
    note = f"宽限期内出险，赔款中扣除欠交保费 {owed} 元（保险法第三十六条）" if owed else ""
    late = limitation(claim, policy)
    if late is not None and late < claim.reported_on:
        note = (note + "；" if note else "") + f"报案晚于诉讼时效届满日 {late:%Y-%m-%d}（保险法第二十六条）"
    _record(
        claim,
        actor,
        "report",
        "",
        note=note,
        detail={
            "policy_no": policy.policy_no,
            "claim_type": claim_type,
            "channel": channel,
            "event_date": event,
            "premium_owed": owed,
        },
    )
    return claim


def limitation(claim: Claim, policy: Policy | None = None) -> date | None:
    """Return the day the claim's limitation ends (保险法 §26), from the event (or the report date)."""
    policy = policy or claim.policy
    start = claim.event_date or claim.reported_on
    return calc.limitation_end(start, rules.limitation_years(policy.product.line))


def missing_documents(claim: Claim) -> list[dict]:
    return [d for d in claim.documents if not d.get("received_on")]


@transaction.atomic
def claim_documents(
    *, actor, claim_id: int, received: list[str], notify_missing: bool = False, today: date | None = None
) -> Claim:
    """Record documents received; when the checklist is complete the claim goes to review and the
    30-day clock starts; the missing ones are asked for once, in one notice listing all (保险法 §22)."""
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    if claim.state != ClaimState.REPORTED:
        raise _refuse_state(claim, "登记理赔资料")
    codes = {d["code"] for d in claim.documents}
    unknown = [c for c in received if c not in codes]
    if unknown:
        raise ValidationFailed(
            FieldError("received", "choice", f"不在该出险类型的资料清单中：{'、'.join(map(str, unknown))}")
        )
    if not received and not notify_missing:
        raise ValidationFailed(FieldError("received", "required", "请勾选收到的资料，或发出补充材料通知"))
    before = claim.state
    new = []
    documents = []
    for d in claim.documents:
        if d["code"] in received and not d.get("received_on"):
            d = {**d, "received_on": day.isoformat()}
            new.append(d["label"])
        documents.append(d)
    claim.documents = documents
    missing = missing_documents(claim)
    notice = None
    if not missing:
        claim.documents_complete_on = day
        claim.clock_from = day
        _move(claim, ClaimState.REVIEWING, "登记理赔资料")
    elif notify_missing:
        if claim.notices.filter(kind=NoticeKind.DOCUMENTS).exists():
            raise ValidationFailed(
                FieldError("notify_missing", "once", "补充材料已一次性通知过，不再另发（保险法第二十二条）")
            )
        notice = ClaimNotice.objects.create(
            claim=claim,
            kind=NoticeKind.DOCUMENTS,
            number=f"{claim.claim_no}-BC",
            items=[d["label"] for d in missing],
            written_on=day,
            created_by=actor if actor is not None and actor.pk else None,
        )
    _save(claim, actor, day)
    note = ("收到：" + "、".join(new)) if new else ""
    if notice is not None:
        note = (note + "；" if note else "") + "一次性通知补充：" + "、".join(notice.items)
    if not missing:
        note = (note + "；" if note else "") + "资料齐全，开始计算30日核定时限"
    _record(
        claim,
        actor,
        "documents",
        before,
        note=note,
        detail={
            "received": new,
            "missing": [d["code"] for d in missing],
            "notice": notice.number if notice else None,
        },
    )
    return claim


# ------------------------------------------------------------------ assessment (核赔)


@transaction.atomic
def claim_assess(*, actor, claim_id: int, data: dict, today: date | None = None) -> ClaimAssessment:
    """Assess a claim under review: cover at the event, waiting period, exclusions, the benefit."""
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    if claim.state != ClaimState.REVIEWING:
        raise _refuse_state(claim, "核赔")
    policy = claim.policy
    errors: list[FieldError] = []
    default_deductible, default_ratio = rules.defaults(claim.claim_type)
    covered = _money(
        data.get("covered_amount"), "covered_amount", "责任范围内金额", required=False, errors=errors
    )
    deductible = _money(data.get("deductible"), "deductible", "免赔额", required=False, errors=errors)
    ratio = _money(data.get("ratio"), "ratio", "赔付比例", required=False, errors=errors)
    if ratio is not None and ratio > 100:
        errors.append(FieldError("ratio", "range", "赔付比例应在 0–100% 之间"))
    findings = _text(
        data.get("findings"), "findings", "核赔意见", max_length=2000, required=True, errors=errors
    )
    suicide = bool(data.get("suicide"))
    if suicide and claim.claim_type != ClaimType.DEATH:
        errors.append(FieldError("suicide", "not_death", "自杀免责只适用于身故理赔"))
    if errors:
        raise ValidationFailed(errors)
    event = claim.event_date or claim.reported_on
    refusal = calc.cover_refusal(_cover(policy), event)
    waiting = rules.waiting_days(policy.product.line, claim.claim_type)
    in_waiting = calc.in_waiting_period(policy.effective_date, policy.reinstated_on, waiting, event)
    excluded = ""
    if suicide and calc.suicide_excluded(
        policy.effective_date, policy.reinstated_on, event, rules.SUICIDE_YEARS
    ):
        excluded = "suicide_2y"
    remaining = max(policy.sum_insured - paid_on_policy(policy.pk, exclude_claim=claim.pk), Decimal("0"))
    if covered is None:
        covered = remaining if claim.claim_type in rules.FIXED_BENEFIT else claim.amount_claimed
    deductible = default_deductible if deductible is None else deductible
    ratio = default_ratio if ratio is None else ratio
    payable = Decimal("0")
    if refusal is None and not in_waiting and not excluded:
        payable = calc.benefit(
            covered=covered, deductible=deductible, ratio=ratio, remaining=remaining, owed=claim.premium_owed
        )
    checks = [
        {
            "code": "in_force",
            "label": "出险时保单有效",
            "ok": refusal is None,
            "text": refusal[1] if refusal else f"出险日期 {event:%Y-%m-%d} 在保险期间内",
        },
        {
            "code": "waiting",
            "label": "等待期",
            "ok": not in_waiting,
            "text": (
                f"等待期 {waiting} 天，出险在等待期内"
                if in_waiting
                else (f"等待期 {waiting} 天，已届满" if waiting else "该出险类型无等待期")
            ),
        },
        {
            "code": "exclusion",
            "label": "除外责任",
            "ok": not excluded,
            "text": SUICIDE_TEXT
            if excluded
            else (policy.exclusion or "无约定除外责任") + ("；自杀已满二年" if suicide else ""),
        },
        {"code": "remaining", "label": "剩余保额", "ok": remaining > 0, "text": f"{remaining} 元"},
        {
            "code": "grace",
            "label": "宽限期欠费",
            "ok": True,
            "text": f"扣除欠交保费 {claim.premium_owed} 元" if claim.premium_owed else "无",
        },
    ]
    assessment = ClaimAssessment.objects.create(
        claim=claim,
        in_force=refusal is None,
        waiting_days=waiting,
        in_waiting_period=in_waiting,
        excluded=excluded,
        sum_insured=policy.sum_insured,
        remaining_sum_insured=remaining,
        covered_amount=covered,
        deductible=deductible,
        ratio=ratio,
        premium_owed=claim.premium_owed,
        payable=payable,
        findings=findings,
        checks=checks,
        assessed_by=actor if actor is not None and actor.pk else None,
    )
    _save(claim, actor, day)
    _record(
        claim,
        actor,
        "assess",
        claim.state,
        note=f"理算金额 {payable} 元；{findings}",
        detail={
            "payable": payable,
            "covered": covered,
            "deductible": deductible,
            "ratio": ratio,
            "remaining": remaining,
            "excluded": excluded,
            "in_waiting_period": in_waiting,
        },
    )
    return assessment


def latest_assessment(claim: Claim) -> ClaimAssessment | None:
    return claim.assessments.order_by("-created_at", "-id").first()


# ------------------------------------------------------------------ decision, approval


@transaction.atomic
def claim_decide(
    *, actor, claim_id: int, decision: str, reasons: str = "", amount=None, today: date | None = None
) -> Claim:
    """Decide a claim: pay the assessed amount, pay part of it, or decline with reasons.

    A decline writes the refusal notice, due within 3 days (保险法 §24). An amount above the unit's
    limit waits for a second approver; otherwise the decision is the agreement the 10-day payment
    clock runs from (§23).
    """
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    if claim.state != ClaimState.REVIEWING:
        raise _refuse_state(claim, "作出理赔结论")
    errors: list[FieldError] = []
    if decision not in Decision.values:
        errors.append(FieldError("decision", "choice", "理赔结论应为 给付/部分给付/拒赔 之一"))
    reasons = _text(
        reasons, "reasons", "结论理由", max_length=2000, required=decision != Decision.PAY, errors=errors
    )
    value = _money(amount, "amount", "赔付金额", required=decision == Decision.PART_PAY, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    assessment = latest_assessment(claim)
    if assessment is None:
        raise ValidationFailed(FieldError("decision", "not_assessed", "请先完成核赔（理算）再作结论"))
    # What the claim has paid so far (an advance, or a payment before it was reopened) is the floor.
    advanced = _paid_on_claim(claim)
    before = claim.state
    if decision == Decision.DECLINE:
        value = Decimal("0")
        if advanced:
            raise ValidationFailed(
                FieldError(
                    "decision", "advanced", f"本案已支付 {advanced} 元（含先予支付），不能拒赔；请部分给付"
                )
            )
    elif decision == Decision.PAY:
        if assessment.payable <= 0:
            raise ValidationFailed(FieldError("decision", "nothing_payable", "理算金额为 0，应作拒赔结论"))
        if value is not None and value != assessment.payable:
            raise ValidationFailed(
                FieldError(
                    "amount",
                    "not_assessed_amount",
                    f"给付金额应为理算金额 {assessment.payable} 元；少于理算金额请选择部分给付",
                )
            )
        value = assessment.payable
    else:
        if not Decimal("0") < value < assessment.payable:
            raise ValidationFailed(
                FieldError("amount", "range", f"部分给付金额应大于 0 且小于理算金额 {assessment.payable} 元")
            )
    if value and value < advanced:
        raise ValidationFailed(
            FieldError("amount", "below_advance", f"赔付金额不能少于本案已支付的 {advanced} 元")
        )
    claim.decision = decision
    claim.decision_amount = value
    claim.decision_reasons = reasons
    claim.decided_by = actor if actor is not None and actor.pk else None
    claim.decided_on = day
    claim.approved_by = None
    note = f"{Decision(decision).label} {value} 元" + (f"；{reasons}" if reasons else "")
    if decision == Decision.DECLINE:
        _move(claim, ClaimState.REJECTED, "拒赔")
        claim.approval_needed = False
        ClaimNotice.objects.create(
            claim=claim,
            kind=NoticeKind.REFUSAL,
            number=f"{claim.claim_no}-JP{claim.notices.filter(kind=NoticeKind.REFUSAL).count() + 1}",
            reasons=reasons,
            written_on=day,
            due_on=day + calc.timedelta(days=rules.clock_days("refusal_notice")),
            created_by=claim.decided_by,
        )
        note += "；已出具拒绝赔付通知书，3日内送达"
    else:
        limit = rules.approval_limit(claim.policy.unit)
        claim.approval_needed = value > limit
        if claim.approval_needed:
            _move(claim, ClaimState.PENDING_APPROVAL, "提交复核")
            note += f"；超过本机构权限 {limit} 元，待另一人复核"
        else:
            _move(claim, ClaimState.APPROVED, "作出给付结论")
            claim.agreed_on = day
    _save(claim, actor, day)
    _record(
        claim,
        actor,
        "decide",
        before,
        note=note,
        detail={"decision": decision, "amount": value, "payable": assessment.payable},
    )
    return claim


@transaction.atomic
def claim_approve(
    *, actor, claim_id: int, approve: bool = True, reason: str = "", today: date | None = None
) -> Claim:
    """Approve (or send back) a decision above the limit; the approver is never the decider."""
    require(actor, "claim.approve", "您的角色无权复核理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    if claim.state != ClaimState.PENDING_APPROVAL:
        raise _refuse_state(claim, "复核")
    if actor is not None and claim.decided_by_id == getattr(actor, "pk", None):
        raise NotAllowed(FieldError("", "same_person", "复核人不能是作出结论的人"))
    errors: list[FieldError] = []
    reason = _text(reason, "reason", "复核意见", max_length=1000, required=not approve, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    before = claim.state
    if approve:
        _move(claim, ClaimState.APPROVED, "复核通过")
        claim.approved_by = actor if actor is not None and actor.pk else None
        claim.agreed_on = day
        note = f"复核通过 {claim.decision_amount} 元" + (f"；{reason}" if reason else "")
    else:
        _move(claim, ClaimState.REVIEWING, "退回")
        claim.decision, claim.decision_amount, claim.decided_on = "", None, None
        note = f"复核退回：{reason}"
    _save(claim, actor, day)
    _record(claim, actor, "approve" if approve else "send_back", before, note=note)
    return claim


# ------------------------------------------------------------------ payment (赔付), advance (先予支付)


def payees(claim: Claim, amount: Decimal) -> list[calc.Payee]:
    """The insured; for a death claim the beneficiaries by order and share, or the estate (保险法 §42)."""
    policy = claim.policy
    if claim.claim_type == ClaimType.DEATH and not policy.is_group:
        beneficiaries = [
            calc.Beneficiary(b.name, b.order, b.share, b.get_relationship_display(), valid=b.name != "")
            for b in policy.beneficiaries.all()
        ]
        return calc.death_payees(beneficiaries, amount, legal=policy.beneficiary_legal)
    return [calc.Payee(claim.claimant.name, "被保险人", Decimal("100"), amount)]


def _method(method: str, errors: list[FieldError]) -> str:
    if method not in [str(m) for m in RECORDABLE_METHODS]:
        errors.append(
            FieldError(
                "method", "choice" if method else "required", "支付方式应为 现金/转账/刷卡/银行代扣 之一"
            )
        )
    return method


def _write_payments(claim, actor, kind, amount, method, paid_on, reference) -> list[ClaimPayment]:
    user = actor if actor is not None and getattr(actor, "pk", None) else None
    rows = [
        ClaimPayment(
            claim=claim,
            kind=kind,
            payee_name=p.name,
            payee_role=p.role,
            share=p.share,
            amount=p.amount,
            method=method,
            paid_on=paid_on,
            reference=reference,
            recorded_by=user,
        )
        for p in payees(claim, amount)
    ]
    return ClaimPayment.objects.bulk_create(rows)


def _paid_date(value, today: date, errors: list[FieldError]) -> date:
    if value in (None, ""):
        return today
    if not isinstance(value, date):
        errors.append(FieldError("paid_on", "format", "支付日期格式不正确"))
        return today
    if value > today:
        errors.append(FieldError("paid_on", "future", "支付日期不能晚于今天"))
    return value


@transaction.atomic
def claim_pay(
    *,
    actor,
    claim_id: int,
    method: str,
    paid_on: date | None = None,
    reference: str = "",
    amount=None,
    today: date | None = None,
) -> Claim:
    """Pay an agreed claim (what advances have not paid yet) to its payees; a death claim paid ends the
    policy (理赔终止). The sum insured remaining is what payments leave of it."""
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    if claim.state != ClaimState.APPROVED:
        raise _refuse_state(claim, "支付赔款")
    errors: list[FieldError] = []
    method = _method(method or "", errors)
    paid_on = _paid_date(paid_on, day, errors)
    reference = _text(reference, "reference", "凭证号", max_length=60, required=False, errors=errors)
    given = _money(amount, "amount", "支付金额", required=False, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    outstanding = claim.decision_amount - _paid_on_claim(claim)
    if given is not None and given != outstanding:
        raise ValidationFailed(
            FieldError("amount", "not_agreed", f"应支付金额为 {outstanding} 元（核定金额减已支付）")
        )
    remaining = remaining_sum_insured(claim.policy)
    if outstanding > remaining:
        raise ValidationFailed(
            FieldError("amount", "over_sum_insured", f"应支付 {outstanding} 元超过剩余保额 {remaining} 元")
        )
    before = claim.state
    written = (
        _write_payments(claim, actor, PaymentKind.FINAL, outstanding, method, paid_on, reference)
        if outstanding > 0
        else []
    )
    claim.amount_paid = _paid_on_claim(claim)
    _move(claim, ClaimState.PAID, "支付赔款")
    _save(claim, actor, day)
    payees_text = "、".join(f"{p.payee_name} {p.amount} 元" for p in written)
    _record(
        claim,
        actor,
        "pay",
        before,
        note=f"支付 {outstanding} 元" + (f"：{payees_text}" if payees_text else ""),
        detail={
            "amount": outstanding,
            "method": method,
            "paid_on": paid_on,
            "payees": [[p.payee_name, p.amount] for p in written],
        },
    )
    policy = claim.policy
    if claim.claim_type == ClaimType.DEATH and not policy.is_group and policy.state in DEATH_ENDS_POLICY_FROM:
        policy_transition(
            actor=actor,
            policy_id=policy.pk,
            name="terminate_by_claim",
            reason=f"身故理赔 {claim.claim_no}",
            on=paid_on,
            detail={"claim_no": claim.claim_no},
        )
        ClaimEvent.objects.create(
            claim=claim,
            actor=claim.decided_by if actor is None else (actor if actor.pk else None),
            action="policy_terminated",
            state_from=claim.state,
            state_to=claim.state,
            note=f"保单 {policy.policy_no} 理赔终止",
        )
    return claim


@transaction.atomic
def claim_advance(
    *,
    actor,
    claim_id: int,
    amount,
    method: str,
    reason: str,
    paid_on: date | None = None,
    reference: str = "",
    today: date | None = None,
) -> Claim:
    """Pay first the part of the benefit that can be fixed (先予支付, 保险法 §25); once per claim."""
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    if claim.state not in (ClaimState.REVIEWING, ClaimState.PENDING_APPROVAL):
        raise _refuse_state(claim, "先予支付")
    if claim.payments.filter(kind=PaymentKind.ADVANCE).exists():
        raise IllegalTransition(FieldError("state", "state", "本案已先予支付，不能再次先予支付"))
    errors: list[FieldError] = []
    value = _money(amount, "amount", "先予支付金额", errors=errors)
    method = _method(method or "", errors)
    reason = _text(reason, "reason", "先予支付说明", max_length=500, required=True, errors=errors)
    paid_on = _paid_date(paid_on, day, errors)
    reference = _text(reference, "reference", "凭证号", max_length=60, required=False, errors=errors)
    if value is not None and value <= 0:
        errors.append(FieldError("amount", "range", "先予支付金额应大于 0"))
    if errors:
        raise ValidationFailed(errors)
    remaining = remaining_sum_insured(claim.policy)
    assessment = latest_assessment(claim)
    cap = min(remaining, assessment.payable) if assessment is not None else remaining
    if value > cap:
        raise ValidationFailed(
            FieldError(
                "amount", "range", f"先予支付金额不能超过可以确定的金额 {cap} 元（理算金额与剩余保额孰低）"
            )
        )
    before = claim.state
    _write_payments(claim, actor, PaymentKind.ADVANCE, value, method, paid_on, reference)
    claim.amount_paid = _paid_on_claim(claim)
    _save(claim, actor, day)
    _record(
        claim,
        actor,
        "advance",
        before,
        note=f"先予支付 {value} 元；{reason}",
        detail={"amount": value, "method": method, "paid_on": paid_on},
    )
    return claim


# ------------------------------------------------------------------ notices, close (结案), reopen


@transaction.atomic
def claim_notice_sent(
    *, actor, claim_id: int, notice_id: int, sent_on: date | None = None, today: date | None = None
) -> ClaimNotice:
    """Record that a notice reached the claimant (a refusal notice stops its 3-day clock)."""
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    notice = claim.notices.filter(pk=notice_id).first()
    if notice is None:
        raise NotFound(FieldError("", "not_found", "通知书不存在"))
    if notice.sent_on is not None:
        raise IllegalTransition(FieldError("state", "state", f"通知书已于 {notice.sent_on:%Y-%m-%d} 送达"))
    errors: list[FieldError] = []
    sent_on = _paid_date(sent_on, day, errors)
    if errors:
        raise ValidationFailed(
            [FieldError("sent_on", e.code, e.message.replace("支付", "送达")) for e in errors]
        )
    notice.sent_on = sent_on
    notice.save(update_fields=["sent_on"])
    _save(claim, actor, day)
    _record(
        claim, actor, "notice_sent", claim.state, note=f"{notice.get_kind_display()} {notice.number} 已送达"
    )
    return notice


@transaction.atomic
def claim_close(*, actor, claim_id: int, reason: str = "", today: date | None = None) -> Claim:
    """Close a claim (结案): paid, declined once its notice is out, or withdrawn (then with a reason)."""
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    withdrawing = claim.state in (ClaimState.REPORTED, ClaimState.REVIEWING)
    if ClaimState.CLOSED not in TRANSITIONS.get(claim.state, frozenset()):
        raise _refuse_state(claim, "结案")
    errors: list[FieldError] = []
    reason = _text(
        reason, "reason", "结案说明（撤案原因）", max_length=300, required=withdrawing, errors=errors
    )
    if errors:
        raise ValidationFailed(errors)
    if (
        claim.state == ClaimState.REJECTED
        and claim.notices.filter(kind=NoticeKind.REFUSAL, sent_on__isnull=True).exists()
    ):
        raise ValidationFailed(FieldError("reason", "notice_unsent", "拒绝赔付通知书尚未送达，不能结案"))
    if withdrawing and claim.payments.exists():
        raise ValidationFailed(FieldError("reason", "advanced", "本案已先予支付，不能撤案；请作出结论"))
    before = claim.state
    _move(claim, ClaimState.CLOSED, "结案")
    claim.closed_on = day
    claim.close_reason = reason or ("撤案" if withdrawing else "")
    _save(claim, actor, day)
    _record(
        claim,
        actor,
        "close",
        before,
        note=("撤案结案：" if withdrawing else "结案")
        + (f"：{reason}" if reason and not withdrawing else reason if withdrawing else ""),
    )
    return claim


@transaction.atomic
def claim_reopen(*, actor, claim_id: int, reason: str, today: date | None = None) -> Claim:
    """Reopen a closed claim for review with a reason; its 30-day clock starts again."""
    require(actor, "claim.handle", "您的角色无权处理理赔")
    day = _today(today)
    claim = _lock(actor, claim_id)
    if claim.state != ClaimState.CLOSED:
        raise _refuse_state(claim, "重开")
    errors: list[FieldError] = []
    reason = _text(reason, "reason", "重开原因", max_length=300, required=True, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    if not claim.documents_complete_on:
        raise ValidationFailed(FieldError("reason", "documents", "该案资料未齐即已撤案，请重新报案"))
    before = claim.state
    _move(claim, ClaimState.REVIEWING, "重开")
    claim.reopened_count += 1
    claim.clock_from = day
    claim.closed_on = None
    claim.decision, claim.decision_amount, claim.decision_reasons = "", None, ""
    claim.decided_on = claim.agreed_on = None
    claim.decided_by = claim.approved_by = None
    claim.approval_needed = False
    _save(claim, actor, day)
    _record(claim, actor, "reopen", before, note=f"重开：{reason}")
    return claim


# ------------------------------------------------------------------ the daily clock check


@dataclass
class ClockCheckResult:
    flagged: int = 0
    cleared: int = 0


def claims_clock_check(*, day: date, batch: int = 1000) -> ClockCheckResult:
    """Flag the claims whose next deadline has passed, with a timeline entry and an audit entry each;
    clear the flag of those whose deadline moved. Safe to run twice on one day."""
    result = ClockCheckResult()
    with transaction.atomic():
        result.cleared = (
            Claim.objects.filter(overdue=True)
            .exclude(next_deadline__lt=day)
            .update(overdue=False, overdue_since=None)
        )
    while True:
        ids = list(
            Claim.objects.filter(overdue=False, next_deadline__lt=day, state__in=OPEN_STATES).values_list(
                "pk", flat=True
            )[:batch]
        )
        if not ids:
            return result
        with transaction.atomic():
            rows = list(Claim.objects.select_for_update().filter(pk__in=ids, overdue=False))
            Claim.objects.filter(pk__in=[c.pk for c in rows]).update(overdue=True, overdue_since=day)
            ClaimEvent.objects.bulk_create(
                ClaimEvent(
                    claim=c,
                    action="overdue",
                    state_from=c.state,
                    state_to=c.state,
                    note=f"已超过时限：{calc.CLOCK_LABELS.get(c.deadline_kind, c.deadline_kind)}，"
                    f"应于 {c.next_deadline:%Y-%m-%d} 前完成",
                    detail={"kind": c.deadline_kind, "due": c.next_deadline.isoformat()},
                )
                for c in rows
            )
            audit_log_many(
                [
                    PendingEntry(
                        action="claim.overdue",
                        actor=None,
                        target=c,
                        detail={
                            "claim_no": c.claim_no,
                            "kind": c.deadline_kind,
                            "due": c.next_deadline.isoformat(),
                            "day": day.isoformat(),
                        },
                    )
                    for c in rows
                ]
            )
            result.flagged += len(rows)
