"""Every write of compliance: ratings and reviews, transaction flags, checks and rectification tasks,
consents, personal-information requests and verifications of the audit chain.

Changes to a customer's AML data go through customers.services.customer_update, so the archive's
history and the audit log have one path.
"""

import time as clock
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from insurdesk.audit.services import audit_log, audit_verify
from insurdesk.common.errors import (
    Conflict,
    Duplicate,
    FieldError,
    IllegalTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from insurdesk.compliance.calculations import (
    LEVEL_LABELS,
    LEVELS,
    add_working_days,
    level_rank,
    next_review_on,
)
from insurdesk.compliance.checks import CHECKS, CHECKS_BY_CODE
from insurdesk.compliance.models import (
    TASK_TRANSITIONS,
    AmlAssessment,
    AmlReview,
    ChainVerification,
    CheckRun,
    Consent,
    ConsentChannel,
    ConsentPurpose,
    Finding,
    FlagKind,
    FlagState,
    PersonalInfoRequest,
    RectificationTask,
    RequestKind,
    RequestOutcome,
    RequestState,
    ReviewConclusion,
    TaskNote,
    TaskState,
    TransactionFlag,
)
from insurdesk.compliance.providers import retention_status
from insurdesk.compliance.rules import Rating, Thresholds, rate
from insurdesk.compliance.selectors import AML_FIELDS, aml_facts
from insurdesk.customers.models import Customer
from insurdesk.customers.selectors import customer_scope
from insurdesk.customers.services import customer_update
from insurdesk.org.models import User
from insurdesk.org.policy import require

CUSTOMER_NOT_FOUND = "客户档案不存在"


def _user(actor) -> User | None:
    return actor if actor is not None and getattr(actor, "pk", None) else None


def _customer(actor, customer_id, *, fields: Sequence[str] | None = None) -> Customer:
    """Return the customer if the actor may see it (the system sees every archive)."""
    qs = Customer.objects.all() if actor is None else customer_scope(actor)
    if fields:
        qs = qs.only(*fields)
    try:
        customer = qs.filter(pk=int(customer_id)).first()
    except (TypeError, ValueError):
        customer = None
    if customer is None:
        raise NotFound(FieldError("customer_id", "not_found", CUSTOMER_NOT_FOUND))
    return customer


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def _text(value, field_name: str, label: str, *, max_length: int, required: bool = False) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise ValidationFailed(FieldError(field_name, "required", f"请填写{label}"))
    if len(text) > max_length:
        raise ValidationFailed(FieldError(field_name, "too_long", f"{label}不能超过 {max_length} 个字符"))
    if "\x00" in text:
        raise ValidationFailed(FieldError(field_name, "format", f"{label}不能包含空字符"))
    return text


def _choice(value, choices, field_name: str, label: str) -> str:
    if value not in choices.values:
        options = "、".join(f"{v}（{lbl}）" for v, lbl in choices.choices)
        raise ValidationFailed(FieldError(field_name, "choice", f"{label}无效，可选：{options}"))
    return value


def thresholds() -> Thresholds:
    return Thresholds.from_settings()


# ---------------------------------------------------------------- AML rating (反洗钱风险评级)


@dataclass
class RateOutcome:
    customer_id: int
    rating: Rating
    assessment: AmlAssessment | None  # None when the result equals the latest one kept
    level_changed: bool


def _apply_rating(*, actor, customer: Customer, rating: Rating, today: date, th: Thresholds) -> RateOutcome:
    base = customer.aml_last_review or timezone.localdate(customer.created_at)
    due = next_review_on(base, rating.level, th.review_years)
    # An earlier date already set (by a reviewer, or by a higher level before) is kept.
    next_review = min(d for d in (customer.aml_next_review, due) if d is not None)
    reasons = rating.reason_dicts
    latest = AmlAssessment.objects.filter(customer_id=customer.pk).order_by("-rated_at", "-id").first()
    unchanged = (
        latest is not None
        and latest.level == rating.level
        and latest.score == rating.score
        and latest.reasons == reasons
        and latest.next_review == next_review
        and customer.aml_risk == rating.level
    )
    assessment = None
    if not unchanged:
        assessment = AmlAssessment.objects.create(
            customer_id=customer.pk,
            level=rating.level,
            previous_level=customer.aml_risk,
            score=rating.score,
            reasons=reasons,
            rated_at=timezone.now(),
            rated_by=_user(actor),
            next_review=next_review,
        )
    changes = {}
    if customer.aml_risk != rating.level:
        changes["aml_risk"] = rating.level
    if customer.aml_next_review != next_review:
        changes["aml_next_review"] = next_review
    if changes:
        customer_update(actor=actor, customer_id=customer.pk, data=changes)
    if assessment is not None:
        audit_log(
            actor=actor,
            action="aml.rate",
            target_type="customers.customer",
            target_id=customer.pk,
            detail={
                "assessment": assessment.pk,
                "level": rating.level,
                "previous": customer.aml_risk,
                "score": rating.score,
                "reasons": [r.code for r in rating.reasons],
                "next_review": next_review,
            },
        )
    return RateOutcome(customer.pk, rating, assessment, customer.aml_risk != rating.level)


def aml_rate(*, actor, customer_id: int, today: date | None = None) -> RateOutcome:
    """Rate one customer by the declared rules; keep the result and its reasons; apply the level."""
    require(actor, "compliance.manage", "您的角色无权进行反洗钱风险评级")
    day, th = _today(today), thresholds()
    customer = _customer(actor, customer_id, fields=AML_FIELDS)
    rating = rate(aml_facts([customer], today=day, th=th)[customer.pk], th)
    with transaction.atomic():
        return _apply_rating(actor=actor, customer=customer, rating=rating, today=day, th=th)


@dataclass
class RateSummary:
    total: int = 0
    rated: int = 0
    assessed: int = 0  # new assessments kept (results that differ from the latest one)
    level_changes: int = 0
    levels: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def aml_rate_many(
    *,
    actor,
    customer_ids: Sequence[int] | None = None,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
    today: date | None = None,
) -> RateSummary:
    """Rate many customers (all when no ids are given) in batches; each customer commits on its own."""
    require(actor, "compliance.manage", "您的角色无权进行反洗钱风险评级")
    day, th = _today(today), thresholds()
    qs = Customer.objects.all() if actor is None else customer_scope(actor)
    if customer_ids is not None:
        qs = qs.filter(pk__in=list(customer_ids))
    qs = qs.only(*AML_FIELDS).order_by("pk")
    summary = RateSummary(total=qs.count())
    started = clock.perf_counter()
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last)[:batch])
        if not chunk:
            break
        last = chunk[-1].pk
        facts = aml_facts(chunk, today=day, th=th)
        for customer in chunk:
            rating = rate(facts[customer.pk], th)
            with transaction.atomic():
                outcome = _apply_rating(actor=actor, customer=customer, rating=rating, today=day, th=th)
            summary.rated += 1
            summary.assessed += outcome.assessment is not None
            summary.level_changes += outcome.level_changed
            summary.levels[rating.level] += 1
        if progress is not None:
            progress(summary.rated, summary.total)
    summary.seconds = clock.perf_counter() - started
    return summary


def rules_level(customer: Customer, *, today: date | None = None) -> Rating:
    """Return what the rules alone say, without the floor a previous review set."""
    day, th = _today(today), thresholds()
    facts = aml_facts([customer], today=day, th=th)[customer.pk]
    facts.review_level, facts.review_detail = None, ""
    return rate(facts, th)


@transaction.atomic
def aml_review_record(
    *,
    actor,
    customer_id: int,
    conclusion: str,
    level: str | None = None,
    next_review: date | None = None,
    note: str = "",
    reviewed_on: date | None = None,
    today: date | None = None,
) -> AmlReview:
    """Record a review of a customer's AML profile: who, when, conclusion, level, next review date.

    Raising is always possible; lowering only as far as the declared rules allow, since the next
    rating run applies them again. The next review is due within the level's interval.
    """
    if actor is None:
        raise NotAllowed(FieldError("", "forbidden", "审核须由合规人员进行"))
    require(actor, "compliance.manage", "您的角色无权进行反洗钱审核")
    day = _today(today)
    customer = _customer(actor, customer_id, fields=AML_FIELDS)
    _choice(conclusion, ReviewConclusion, "conclusion", "审核结论")
    note = _text(
        note,
        "note",
        "审核意见",
        max_length=2000,
        required=conclusion in (ReviewConclusion.RAISE, ReviewConclusion.LOWER, ReviewConclusion.REVERIFY),
    )
    reviewed_on = reviewed_on or day
    if reviewed_on > day:
        raise ValidationFailed(FieldError("reviewed_on", "future", "审核日期不能晚于今天"))
    current = customer.aml_risk
    if level not in (None, "") and level not in LEVELS:
        raise ValidationFailed(FieldError("level", "choice", "风险等级只能是 low、medium、high"))
    level = level or None
    if conclusion == ReviewConclusion.MAINTAIN:
        if level is not None and level != current:
            raise ValidationFailed(FieldError("level", "mismatch", "结论为“维持原等级”时不能改变风险等级"))
        after = current
    elif conclusion == ReviewConclusion.RAISE:
        if level is None or level_rank(level) <= level_rank(current):
            raise ValidationFailed(
                FieldError("level", "not_higher", f"上调后的等级须高于当前的{LEVEL_LABELS[current]}风险")
            )
        after = level
    elif conclusion == ReviewConclusion.LOWER:
        if level is None or level_rank(level) >= level_rank(current):
            raise ValidationFailed(
                FieldError("level", "not_lower", f"下调后的等级须低于当前的{LEVEL_LABELS[current]}风险")
            )
        floor = rules_level(customer, today=day)
        if level_rank(level) < level_rank(floor.level):
            why = "；".join(r["detail"] for r in floor.reason_dicts)
            raise ValidationFailed(
                FieldError(
                    "level",
                    "below_rules",
                    f"按评级规则至少为{LEVEL_LABELS[floor.level]}风险（{why}），不能下调至此",
                )
            )
        after = level
    else:
        after = level or current
    limit = next_review_on(reviewed_on, after, thresholds().review_years)
    if next_review is None:
        next_review = limit
    elif not reviewed_on < next_review <= limit:
        raise ValidationFailed(
            FieldError(
                "next_review",
                "range",
                f"下次审核日期应在审核日期之后、{limit:%Y-%m-%d} 之前"
                f"（{LEVEL_LABELS[after]}风险客户每 "
                f"{thresholds().review_years[after]} 年至少审核一次）",
            )
        )
    review = AmlReview.objects.create(
        customer_id=customer.pk,
        reviewed_on=reviewed_on,
        reviewer=actor,
        conclusion=conclusion,
        level_before=current,
        level_after=after,
        next_review=next_review,
        note=note,
    )
    customer_update(
        actor=actor,
        customer_id=customer.pk,
        data={"aml_risk": after, "aml_last_review": reviewed_on, "aml_next_review": next_review},
    )
    audit_log(
        actor=actor,
        action="aml.review",
        target_type="customers.customer",
        target_id=customer.pk,
        detail={
            "review": review.pk,
            "conclusion": conclusion,
            "before": current,
            "after": after,
            "next_review": next_review,
        },
    )
    return review


# ---------------------------------------------------------------- transaction flags (大额/可疑交易)


def _amount(value, field_name: str = "amount") -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise ValidationFailed(FieldError(field_name, "format", "金额格式不正确")) from None
    if not d.is_finite() or d < 0 or d != d.quantize(Decimal("0.01")) or d >= Decimal("1e14"):
        raise ValidationFailed(FieldError(field_name, "range", "金额应为不小于 0、最多两位小数的数字"))
    return d


def transaction_flag_raise(
    *,
    actor,
    customer_id: int,
    kind: str,
    reason: str,
    amount=None,
    reference: str = "",
    occurred_on: date | None = None,
    source: str = "",
) -> tuple[TransactionFlag, bool]:
    """Put a large or suspicious transaction up for review; the same reference raised again is one flag.

    Called by the apps that see money move (premiums, surrenders, beneficiary changes, claims);
    they have checked the actor's right to the transaction, so no role is required here.
    """
    _choice(kind, FlagKind, "kind", "交易标记类型")
    reason = _text(reason, "reason", "标记原因", max_length=300, required=True)
    reference = _text(reference, "reference", "业务凭证", max_length=60)
    source = _text(source, "source", "来源", max_length=30)
    amount = _amount(amount)
    try:
        customer_pk = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound(FieldError("customer_id", "not_found", CUSTOMER_NOT_FOUND)) from None
    with transaction.atomic():
        if not Customer.objects.filter(pk=customer_pk).exists():
            raise NotFound(FieldError("customer_id", "not_found", CUSTOMER_NOT_FOUND))
        if reference:
            existing = TransactionFlag.objects.filter(
                customer_id=customer_pk, kind=kind, reference=reference
            ).first()
            if existing is not None:
                return existing, False
        try:
            with transaction.atomic():
                flag = TransactionFlag.objects.create(
                    customer_id=customer_pk,
                    kind=kind,
                    amount=amount,
                    occurred_on=occurred_on,
                    reference=reference,
                    source=source,
                    reason=reason,
                    raised_at=timezone.now(),
                    raised_by=_user(actor),
                )
        except IntegrityError:
            return TransactionFlag.objects.get(customer_id=customer_pk, kind=kind, reference=reference), False
        audit_log(
            actor=actor,
            action="aml.flag_raise",
            target_type="customers.customer",
            target_id=customer_pk,
            detail={
                "flag": flag.pk,
                "kind": kind,
                "amount": amount,
                "reference": reference,
                "source": source,
            },
        )
    return flag, True


@transaction.atomic
def transaction_flag_review(*, actor, flag_id: int, decision: str, note: str = "") -> TransactionFlag:
    """Conclude a flag: report it as suspicious (上报) or dismiss it with the reason (排除)."""
    require(actor, "compliance.manage", "您的角色无权审核交易标记")
    qs = TransactionFlag.objects.select_for_update()
    flag = qs.filter(pk=flag_id).first()
    if flag is None or (actor is not None and not customer_scope(actor).filter(pk=flag.customer_id).exists()):
        raise NotFound(FieldError("flag_id", "not_found", "交易标记不存在"))
    if decision not in ("report", "dismiss"):
        raise ValidationFailed(
            FieldError("decision", "choice", "审核结论只能是 report（上报）或 dismiss（排除）")
        )
    note = _text(note, "note", "审核意见", max_length=2000, required=decision == "dismiss")
    if flag.state != FlagState.OPEN:
        raise IllegalTransition(
            FieldError("state", "illegal_transition", f"该标记已{flag.get_state_display()}，不能再次审核")
        )
    flag.state = FlagState.REPORTED if decision == "report" else FlagState.DISMISSED
    flag.reviewer, flag.reviewed_at, flag.note = _user(actor), timezone.now(), note
    flag.save(update_fields=["state", "reviewer", "reviewed_at", "note"])
    audit_log(
        actor=actor,
        action="aml.flag_review",
        target_type="customers.customer",
        target_id=flag.customer_id,
        detail={"flag": flag.pk, "decision": decision},
    )
    # A report changes the customer's risk at once (rules.py: reported transaction → high).
    aml_rate(actor=actor, customer_id=flag.customer_id)
    return flag


# ---------------------------------------------------------------- the audit chain


def chain_verify(*, actor) -> ChainVerification:
    """Walk the audit hash chain now; keep the result for the log page and log that it was checked."""
    require(actor, "audit.view", "您的角色无权校验使用记录")
    started = clock.perf_counter()
    result = audit_verify()
    with transaction.atomic():
        row = ChainVerification.objects.create(
            at=timezone.now(),
            actor=_user(actor),
            ok=result.ok,
            checked=result.checked,
            first_bad_seq=result.first_bad_seq,
            problem=result.problem[:200],
            seconds=round(clock.perf_counter() - started, 3),
        )
        audit_log(
            actor=actor,
            action="audit.verify",
            target=row,
            detail={"ok": result.ok, "checked": result.checked, "first_bad_seq": result.first_bad_seq},
        )
    return row


def audit_export_record(*, actor, fmt: str, rows: int, filters: dict, ip: str | None = None) -> None:
    """Log that the log itself was exported: who, which filters, how many rows, which format."""
    require(actor, "audit.export", "您的角色无权导出使用记录")
    with transaction.atomic():
        audit_log(
            actor=actor,
            action="audit.export",
            target_type="audit.auditentry",
            detail={"format": fmt, "rows": rows, "filters": filters},
            ip=ip,
        )


# ---------------------------------------------------------------- compliance checks (合规检查) and 整改


def _note(task: RectificationTask, author, text: str, state_from: str = "", state_to: str = "") -> None:
    TaskNote.objects.create(
        task=task,
        at=timezone.now(),
        author=_user(author),
        text=text,
        state_from=state_from,
        state_to=state_to,
    )


def _chunks(items: list, size: int = 900):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _run_one(check, *, run: CheckRun, today: date) -> dict:
    now = timezone.now()
    current = dict(check.find(only=None, today=today))
    open_findings = {
        f.customer_id: f
        for f in Finding.objects.filter(check_code=check.code, resolved_at__isnull=True).select_related(
            "task"
        )
    }
    new_ids = sorted(set(current) - set(open_findings))
    gone = [f for cid, f in open_findings.items() if cid not in current]
    still = [f for cid, f in open_findings.items() if cid in current]
    agents = {}
    for part in _chunks(new_ids):
        agents.update(Customer.objects.filter(pk__in=part).values_list("pk", "agent_id"))
    Finding.objects.bulk_create(
        [
            Finding(
                check_code=check.code,
                customer_id=cid,
                detail=current[cid][:500],
                found_at=now,
                last_seen_at=now,
                run=run,
            )
            for cid in new_ids
        ],
        batch_size=500,
    )
    due = today + timedelta(days=check.due_days)
    created = []
    for part in _chunks(new_ids):
        for f in Finding.objects.filter(
            check_code=check.code, resolved_at__isnull=True, customer_id__in=part
        ):
            created.append(
                RectificationTask(
                    finding=f,
                    customer_id=f.customer_id,
                    owner_id=agents.get(f.customer_id),
                    due_on=due,
                    state=TaskState.OPEN,
                    created_at=now,
                )
            )
    RectificationTask.objects.bulk_create(created, batch_size=500)
    TaskNote.objects.bulk_create(
        [
            TaskNote(task=t, at=now, text=f"合规检查发现：{t.finding.detail}", state_to=TaskState.OPEN)
            for t in created
        ],
        batch_size=500,
    )
    for f in gone:
        f.resolved_at = now
        task = getattr(f, "task", None)
        if task is not None and task.state in (TaskState.OPEN, TaskState.IN_PROGRESS):
            _note(task, None, "复查时问题已不存在，自动转为已整改待验证", task.state, TaskState.DONE)
            task.state, task.done_at, task.version = TaskState.DONE, now, task.version + 1
            task.save(update_fields=["state", "done_at", "version"])
    Finding.objects.bulk_update(gone, ["resolved_at"], batch_size=500)
    reopened = 0
    for f in still:
        f.last_seen_at, f.detail = now, current[f.customer_id][:500]
        task = getattr(f, "task", None)
        if task is not None and task.state == TaskState.DONE:
            _note(task, None, f"复查时问题仍然存在：{f.detail}", TaskState.DONE, TaskState.IN_PROGRESS)
            task.state, task.done_at, task.version = TaskState.IN_PROGRESS, None, task.version + 1
            task.save(update_fields=["state", "done_at", "version"])
            reopened += 1
    Finding.objects.bulk_update(still, ["last_seen_at", "detail"], batch_size=500)
    return {"found": len(current), "new": len(new_ids), "closed": len(gone), "reopened": reopened}


def compliance_check_run(
    *,
    actor,
    codes: Sequence[str] | None = None,
    today: date | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> CheckRun:
    """Run the declared checks over every archive; open a finding and a task for each new problem.

    A problem already open is not found twice; an open finding the check no longer finds is closed
    and its task goes to "done, to be verified".
    """
    require(actor, "compliance.manage", "您的角色无权运行合规检查")
    day = _today(today)
    codes = list(codes or [c.code for c in CHECKS])
    unknown = [c for c in codes if c not in CHECKS_BY_CODE]
    if unknown:
        raise ValidationFailed(
            FieldError(
                "checks", "choice", f"未知的检查项：{'、'.join(unknown)}；可选：{'、'.join(CHECKS_BY_CODE)}"
            )
        )
    run = CheckRun.objects.create(started_at=timezone.now(), actor=_user(actor), checks=codes)
    counts = {}
    for i, code in enumerate(codes):
        check = CHECKS_BY_CODE[code]
        if progress is not None:
            progress(i, len(codes), check.label)
        try:
            with transaction.atomic():
                counts[code] = _run_one(check, run=run, today=day)
        except IntegrityError as exc:
            raise Conflict(FieldError("", "conflict", "另一次合规检查正在运行，请稍后再试")) from exc
    if progress is not None:
        progress(len(codes), len(codes), "")
    with transaction.atomic():
        run.finished_at, run.counts = timezone.now(), counts
        run.save(update_fields=["finished_at", "counts"])
        audit_log(actor=actor, action="compliance.check_run", target=run, detail={"counts": counts})
    return run


def _task_for_update(actor, task_id) -> RectificationTask:
    task = RectificationTask.objects.select_for_update().filter(pk=task_id).first()
    if task is None or (actor is not None and not customer_scope(actor).filter(pk=task.customer_id).exists()):
        raise NotFound(FieldError("task_id", "not_found", "整改任务不存在"))
    return task


@transaction.atomic
def task_transition(
    *,
    actor,
    task_id: int,
    name: str,
    note: str = "",
    today: date | None = None,
    expected_version: int | None = None,
) -> RectificationTask:
    """Move a rectification task on: start, complete, reopen or verify (verify re-checks the archive)."""
    require(actor, "compliance.manage", "您的角色无权处理整改任务")
    task = _task_for_update(actor, task_id)
    if expected_version is not None and expected_version != task.version:
        raise Conflict(FieldError("version", "conflict", "该任务已被他人处理，请刷新后再试"))
    if name not in TASK_TRANSITIONS:
        raise ValidationFailed(
            FieldError("transition", "choice", f"操作只能是：{'、'.join(TASK_TRANSITIONS)}")
        )
    sources, target, label = TASK_TRANSITIONS[name]
    note = _text(note, "note", "说明", max_length=2000, required=name == "reopen")
    if task.state not in sources:
        raise IllegalTransition(
            FieldError("state", "illegal_transition", f"任务当前为“{task.get_state_display()}”，不能{label}")
        )
    finding = Finding.objects.select_for_update().get(pk=task.finding_id)
    now = timezone.now()
    if name == "verify":
        check = CHECKS_BY_CODE.get(finding.check_code)
        still = list(check.find(only=[task.customer_id], today=_today(today))) if check else []
        if still:
            raise IllegalTransition(
                FieldError("state", "still_holds", f"复查该档案，问题仍然存在：{still[0][1]}")
            )
        if finding.resolved_at is None:
            finding.resolved_at = now
            finding.save(update_fields=["resolved_at"])
        task.verified_at, task.verified_by = now, _user(actor)
    if name == "complete":
        task.done_at = now
    if name == "reopen":
        task.done_at = None
    before = task.state
    task.state, task.version = target, task.version + 1
    task.save()
    _note(task, actor, note or label, before, target)
    audit_log(
        actor=actor,
        action="compliance.task",
        target_type="customers.customer",
        target_id=task.customer_id,
        detail={"task": task.pk, "transition": name, "from": before, "to": target},
    )
    return task


@transaction.atomic
def task_assign(
    *, actor, task_id: int, owner_id: int | None = None, due_on: date | None = None, note: str = ""
) -> RectificationTask:
    """Name the person responsible (整改责任人) and/or the due date of an unverified task."""
    require(actor, "compliance.manage", "您的角色无权处理整改任务")
    task = _task_for_update(actor, task_id)
    if task.state == TaskState.VERIFIED:
        raise IllegalTransition(FieldError("state", "illegal_transition", "任务已验证关闭，不能再指派"))
    note = _text(note, "note", "说明", max_length=2000)
    changes = []
    if owner_id is not None:
        owner = User.objects.filter(pk=owner_id, is_active=True).first()
        if owner is None:
            raise ValidationFailed(FieldError("owner_id", "not_found", "整改责任人不存在或已停用"))
        if owner.pk != task.owner_id:
            task.owner = owner
            changes.append(f"责任人改为 {owner}")
    if due_on is not None:
        if due_on < timezone.localdate(task.created_at):
            raise ValidationFailed(FieldError("due_on", "range", "整改期限不能早于任务创建日期"))
        if due_on != task.due_on:
            changes.append(f"期限由 {task.due_on:%Y-%m-%d} 改为 {due_on:%Y-%m-%d}")
            task.due_on = due_on
    if not changes:
        return task
    task.version += 1
    task.save()
    _note(task, actor, "；".join(changes) + (f"。{note}" if note else ""))
    audit_log(
        actor=actor,
        action="compliance.task",
        target_type="customers.customer",
        target_id=task.customer_id,
        detail={"task": task.pk, "assign": {"owner": task.owner_id, "due_on": task.due_on}},
    )
    return task


@transaction.atomic
def task_note_add(*, actor, task_id: int, text: str) -> TaskNote:
    require(actor, "compliance.manage", "您的角色无权处理整改任务")
    task = _task_for_update(actor, task_id)
    text = _text(text, "text", "整改记录", max_length=2000, required=True)
    note = TaskNote.objects.create(task=task, at=timezone.now(), author=_user(actor), text=text)
    audit_log(
        actor=actor,
        action="compliance.task",
        target_type="customers.customer",
        target_id=task.customer_id,
        detail={"task": task.pk, "note": note.pk},
    )
    return note


# ---------------------------------------------------------------- consents (PIPL Art. 29)


def _moment(value: datetime | None, field_name: str, label: str) -> datetime:
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + timedelta(minutes=5):
        raise ValidationFailed(FieldError(field_name, "future", f"{label}不能晚于现在"))
    return value


@transaction.atomic
def consent_record(
    *,
    actor,
    customer_id: int,
    purpose: str,
    channel: str,
    granted_at: datetime | None = None,
    evidence: str = "",
) -> Consent:
    """Record a customer's separate consent to one purpose; one active consent per purpose."""
    require(actor, "consent.manage", "您的角色无权记录个人信息处理同意")
    customer = _customer(actor, customer_id, fields=("pk", "unit_id", "agent_id"))
    _choice(purpose, ConsentPurpose, "purpose", "同意事项")
    _choice(channel, ConsentChannel, "channel", "取得方式")
    evidence = _text(evidence, "evidence", "凭证", max_length=100)
    granted_at = _moment(granted_at, "granted_at", "同意时间")
    if Consent.objects.filter(customer_id=customer.pk, purpose=purpose, withdrawn_at__isnull=True).exists():
        raise Duplicate(
            FieldError(
                "purpose", "duplicate", f"该客户已有有效的“{ConsentPurpose(purpose).label}”同意，无须重复记录"
            )
        )
    consent = Consent.objects.create(
        customer_id=customer.pk,
        purpose=purpose,
        channel=channel,
        granted_at=granted_at,
        evidence=evidence,
        recorded_by=_user(actor),
    )
    audit_log(
        actor=actor,
        action="consent.record",
        target_type="customers.customer",
        target_id=customer.pk,
        detail={"consent": consent.pk, "purpose": purpose, "channel": channel},
    )
    return consent


@transaction.atomic
def consent_withdraw(
    *, actor, consent_id: int, channel: str, withdrawn_at: datetime | None = None
) -> Consent:
    """Record that a consent was withdrawn (PIPL Art. 15); the record stays as evidence."""
    require(actor, "consent.manage", "您的角色无权记录个人信息处理同意")
    consent = Consent.objects.select_for_update().filter(pk=consent_id).first()
    if consent is None or (
        actor is not None and not customer_scope(actor).filter(pk=consent.customer_id).exists()
    ):
        raise NotFound(FieldError("consent_id", "not_found", "同意记录不存在"))
    _choice(channel, ConsentChannel, "channel", "撤回方式")
    if consent.withdrawn_at is not None:
        raise IllegalTransition(FieldError("state", "illegal_transition", "该同意已于此前撤回"))
    withdrawn_at = _moment(withdrawn_at, "withdrawn_at", "撤回时间")
    if withdrawn_at < consent.granted_at:
        raise ValidationFailed(FieldError("withdrawn_at", "range", "撤回时间不能早于同意时间"))
    consent.withdrawn_at, consent.withdrawn_channel, consent.withdrawn_by = (
        withdrawn_at,
        channel,
        _user(actor),
    )
    consent.save(update_fields=["withdrawn_at", "withdrawn_channel", "withdrawn_by"])
    audit_log(
        actor=actor,
        action="consent.withdraw",
        target_type="customers.customer",
        target_id=consent.customer_id,
        detail={"consent": consent.pk, "purpose": consent.purpose, "channel": channel},
    )
    return consent


# ---------------------------------------------------------------- PIPL requests (Arts. 44–47)


def _dates(name: str) -> list[date]:
    out = []
    for item in getattr(settings, name, ()) or ():
        out.append(item if isinstance(item, date) else date.fromisoformat(str(item)))
    return out


def pi_request_due(received_on: date) -> date:
    """Return the answer deadline: INSURDESK_PI_REQUEST_WORKING_DAYS (15) working days after receipt [R]."""
    days = int(getattr(settings, "INSURDESK_PI_REQUEST_WORKING_DAYS", 15))
    return add_working_days(
        received_on,
        days,
        holidays=_dates("INSURDESK_HOLIDAYS"),
        extra_workdays=_dates("INSURDESK_EXTRA_WORKDAYS"),
    )


def _handler(handler_id) -> User | None:
    if handler_id in (None, ""):
        return None
    handler = User.objects.filter(pk=handler_id, is_active=True).first()
    if handler is None:
        raise ValidationFailed(FieldError("handler_id", "not_found", "经办人不存在或已停用"))
    return handler


@transaction.atomic
def pi_request_record(
    *,
    actor,
    customer_id: int,
    kind: str,
    channel: str,
    received_on: date | None = None,
    description: str = "",
    handler_id: int | None = None,
    today: date | None = None,
) -> PersonalInfoRequest:
    """Register a request to see, copy, correct or delete personal information, with its deadline.

    For a deletion the retention status is noted at once: while the AML period runs the answer
    can only be that the data is kept, stored and protected, and nothing more (PIPL Art. 47).
    """
    require(actor, "compliance.manage", "您的角色无权受理个人信息权利请求")
    day = _today(today)
    customer = _customer(actor, customer_id)
    _choice(kind, RequestKind, "kind", "请求类型")
    _choice(channel, ConsentChannel, "channel", "受理渠道")
    description = _text(description, "description", "请求内容", max_length=2000)
    received_on = received_on or day
    if received_on > day:
        raise ValidationFailed(FieldError("received_on", "future", "受理日期不能晚于今天"))
    request = PersonalInfoRequest(
        customer_id=customer.pk,
        kind=kind,
        channel=channel,
        received_on=received_on,
        due_on=pi_request_due(received_on),
        description=description,
        handler=_handler(handler_id) or _user(actor),
        recorded_by=_user(actor),
    )
    if kind == RequestKind.DELETION:
        status = retention_status(customer)
        request.retention_hold, request.retention_until = status.holds, status.until
        request.retention_basis, request.retention_ref = status.basis[:300], status.reference[:60]
    request.save()
    audit_log(
        actor=actor,
        action="pi_request.record",
        target_type="customers.customer",
        target_id=customer.pk,
        detail={
            "request": request.pk,
            "kind": kind,
            "due_on": request.due_on,
            "retention_hold": request.retention_hold,
        },
    )
    return request


def _request_for_update(actor, request_id) -> PersonalInfoRequest:
    request = PersonalInfoRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None or (
        actor is not None and not customer_scope(actor).filter(pk=request.customer_id).exists()
    ):
        raise NotFound(FieldError("request_id", "not_found", "个人信息权利请求不存在"))
    return request


@transaction.atomic
def pi_request_assign(*, actor, request_id: int, handler_id: int) -> PersonalInfoRequest:
    require(actor, "compliance.manage", "您的角色无权处理个人信息权利请求")
    request = _request_for_update(actor, request_id)
    if request.state != RequestState.OPEN:
        raise IllegalTransition(FieldError("state", "illegal_transition", "请求已答复，不能再指派"))
    request.handler = _handler(handler_id)
    request.save(update_fields=["handler"])
    audit_log(
        actor=actor,
        action="pi_request.assign",
        target_type="customers.customer",
        target_id=request.customer_id,
        detail={"request": request.pk, "handler": request.handler_id},
    )
    return request


RETAINED_ANSWER = (
    "依法保留：法定保存期内仅存储和采取必要的安全保护措施，不作其他处理（个人信息保护法第四十七条）"
)


@transaction.atomic
def pi_request_close(
    *,
    actor,
    request_id: int,
    outcome: str,
    note: str = "",
    closed_on: date | None = None,
    retention_ref: str = "",
    today: date | None = None,
) -> PersonalInfoRequest:
    """Answer a request and close it. A deletion while a retention period runs is answered "retained"."""
    require(actor, "compliance.manage", "您的角色无权处理个人信息权利请求")
    day = _today(today)
    request = _request_for_update(actor, request_id)
    if request.state != RequestState.OPEN:
        raise IllegalTransition(FieldError("state", "illegal_transition", "该请求已答复"))
    _choice(outcome, RequestOutcome, "outcome", "处理结果")
    retention_ref = _text(retention_ref, "retention_ref", "销毁流程关联", max_length=60)
    closed_on = closed_on or day
    if closed_on > day or closed_on < request.received_on:
        raise ValidationFailed(FieldError("closed_on", "range", "答复日期应在受理日期与今天之间"))
    if request.kind == RequestKind.DELETION:
        status = retention_status(request.customer)
        request.retention_hold, request.retention_until = status.holds, status.until
        request.retention_basis = status.basis[:300]
        if status.holds and outcome != RequestOutcome.RETAINED:
            raise ValidationFailed(
                FieldError(
                    "outcome",
                    "retention_period",
                    f"法定保存期内不能删除，只能答复“{RequestOutcome.RETAINED.label}”（{status.basis}）",
                )
            )
    elif outcome == RequestOutcome.RETAINED:
        raise ValidationFailed(FieldError("outcome", "choice", "“依法保留”只用于删除请求"))
    note = _text(note, "note", "答复内容", max_length=4000, required=outcome != RequestOutcome.RETAINED)
    if outcome == RequestOutcome.RETAINED and not note:
        note = f"{RETAINED_ANSWER}。依据：{request.retention_basis}"
    request.state, request.outcome, request.outcome_note, request.closed_on = (
        RequestState.CLOSED,
        outcome,
        note,
        closed_on,
    )
    if retention_ref:
        request.retention_ref = retention_ref
    request.save()
    audit_log(
        actor=actor,
        action="pi_request.close",
        target_type="customers.customer",
        target_id=request.customer_id,
        detail={
            "request": request.pk,
            "kind": request.kind,
            "outcome": outcome,
            "late": closed_on > request.due_on,
        },
    )
    return request
