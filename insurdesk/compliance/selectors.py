"""Every read of the compliance pages, API, commands and other apps, cut to the viewer's scope."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.compliance.calculations import add_years
from insurdesk.compliance.checks import grace_days
from insurdesk.compliance.models import (
    OPEN_TASK_STATES,
    AmlAssessment,
    AmlReview,
    ChainVerification,
    Consent,
    FlagState,
    PersonalInfoRequest,
    RectificationTask,
    RequestState,
    TransactionFlag,
)
from insurdesk.compliance.providers import transaction_facts
from insurdesk.compliance.rules import AmlFacts, Thresholds
from insurdesk.customers.models import BeneficialOwner, Customer, Kind, RiskLevel
from insurdesk.customers.selectors import customer_scope
from insurdesk.org.models import User
from insurdesk.org.selectors import viewer_unit_ids

# ---------------------------------------------------------------- scope


def scope_filter(viewer, prefix: str = "customer") -> Q | None:
    """Return the condition that keeps rows about customers the viewer may see (None: all of them).

    The same rule as customers.selectors.customer_scope, applied through the row's customer.
    """
    if viewer is None or not viewer.is_authenticated:
        return Q(pk__in=[])
    if viewer.is_superuser:
        return None
    if viewer.effective_role == "agent":
        return Q(**{f"{prefix}__agent_id": viewer.pk})
    ids = viewer_unit_ids(viewer)
    return None if ids is None else Q(**{f"{prefix}__unit_id__in": ids})


def _scoped(qs: QuerySet, viewer, prefix: str = "customer") -> QuerySet:
    cond = scope_filter(viewer, prefix)
    return qs if cond is None else qs.filter(cond)


def _today(today: date | None) -> date:
    return today or timezone.localdate()


# ---------------------------------------------------------------- the tamper-evident log

ACTION_LABELS = {
    "customer.create": "建档", "customer.change": "修改档案", "customer.view": "查看档案",
    "customer.relation_add": "添加关联", "customer.relation_remove": "解除关联",
    "customer.reveal": "查看敏感信息", "customer.export": "导出档案",
    "user.create": "新建用户", "unit.create": "新建机构", "login": "登录", "login.failed": "登录失败",
    "logout": "退出", "token.issue": "签发令牌", "token.revoke": "撤销令牌",
    "token.revoke_all": "撤销全部令牌",
    "audit.export": "导出使用记录", "audit.verify": "校验记录链",
    "aml.rate": "反洗钱风险评级", "aml.review": "反洗钱审核", "aml.flag_raise": "交易标记",
    "aml.flag_review": "交易标记审核", "compliance.check_run": "合规检查",
    "compliance.task": "整改任务", "consent.record": "记录同意", "consent.withdraw": "撤回同意",
    "pi_request.record": "受理个人信息请求", "pi_request.assign": "指派个人信息请求",
    "pi_request.close": "答复个人信息请求",
}  # fmt: skip
CUSTOMER_TARGET = "customers.customer"
ARCHIVE_NO_RE = re.compile(r"^KH\d{1,10}$", re.IGNORECASE)


@dataclass
class AuditFilters:
    actor: str = ""  # a username, or "system"
    action: str = ""  # exact ("customer.view") or a prefix ending in "." or without a dot ("customer")
    archive_no: str = ""
    target_type: str = ""
    target_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items() if v}


def normalise_archive_no(raw: str) -> str:
    code = raw.strip().upper()
    if not ARCHIVE_NO_RE.match(code):
        return code
    return "KH" + code[2:].zfill(10)


def _log_scope(viewer) -> Q | None:
    """The entries a viewer may read: everything for HQ, else its people's acts and its archives' use."""
    if viewer is None or not viewer.is_authenticated:
        return Q(pk__in=[])
    if viewer.is_superuser or (viewer.unit_id is not None and viewer.unit.parent_id is None):
        return None
    ids = viewer_unit_ids(viewer)
    if ids is None:
        return None
    people = User.objects.filter(unit_id__in=ids).values("pk")
    archives = customer_scope(viewer).annotate(pk_text=Cast("pk", output_field=CharField())).values("pk_text")
    return Q(actor_id__in=people) | Q(target_type=CUSTOMER_TARGET, target_id__in=archives)


def _local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_search(*, viewer, filters: AuditFilters | None = None) -> QuerySet[AuditEntry]:
    """Return the log entries the viewer may read matching the filters, newest first."""
    f = filters or AuditFilters()
    qs = AuditEntry.objects.all()
    scope = _log_scope(viewer)
    if scope is not None:
        qs = qs.filter(scope)
    if f.actor:
        name = f.actor.strip()
        if name.lower() in ("system", "系统"):
            qs = qs.filter(actor_id__isnull=True)
        else:
            user_id = User.objects.filter(username=name).values_list("pk", flat=True).first()
            qs = qs.filter(actor_id=user_id) if user_id is not None else qs.filter(actor_name=name)
    if f.action:
        action = f.action.strip()
        qs = (
            qs.filter(action__startswith=action)
            if action.endswith(".") or "." not in action
            else qs.filter(action=action)
        )
    if f.archive_no:
        pk = (
            customer_scope(viewer)
            .filter(archive_no=normalise_archive_no(f.archive_no))
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return qs.none()
        qs = qs.filter(target_type=CUSTOMER_TARGET, target_id=str(pk))
    if f.target_type:
        qs = qs.filter(target_type=f.target_type.strip())
    if f.target_id:
        qs = qs.filter(target_id=str(f.target_id).strip())
    if f.date_from:
        qs = qs.filter(at__gte=_local_start(f.date_from))
    if f.date_to:
        qs = qs.filter(at__lt=_local_start(f.date_to + timedelta(days=1)))
    return qs.order_by("-seq")


def archive_numbers_of(entries) -> dict[str, str]:
    """Return {target_id: archive number} for the entries that name a customer."""
    ids = {e.target_id for e in entries if e.target_type == CUSTOMER_TARGET and e.target_id.isdigit()}
    if not ids:
        return {}
    return {
        str(pk): no
        for pk, no in Customer.objects.filter(pk__in=[int(i) for i in ids]).values_list("pk", "archive_no")
    }


def latest_chain_verification() -> ChainVerification | None:
    return ChainVerification.objects.order_by("-at", "-id").first()


# ---------------------------------------------------------------- AML: facts, queues, blocks


def aml_facts(customers: list[Customer], *, today: date, th: Thresholds) -> dict[int, AmlFacts]:
    """Gather what the rating rules look at for each customer, in a few queries per batch."""
    ids = [c.pk for c in customers]
    tx = transaction_facts(ids, since=today - timedelta(days=th.lookback_days), today=today)
    owners: dict[int, list[str]] = {}
    for cid, nat in BeneficialOwner.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "nationality"
    ):
        owners.setdefault(cid, []).append(nat)
    reviews: dict[int, AmlReview] = {}
    for r in AmlReview.objects.filter(customer_id__in=ids).order_by("customer_id", "-reviewed_on", "-id"):
        reviews.setdefault(r.customer_id, r)
    out = {}
    for c in customers:
        number = (c.id_number or "").upper()
        if c.kind == Kind.INDIVIDUAL:
            trade = (c.occupation, c.employer)
            regions = (number[:6],) if c.id_type == "resident_id" and len(number) >= 6 else ()
        else:
            trade = (c.industry, c.business_scope, c.name)
            regions = (number[2:8],) if len(number) == 18 else ()
        review = reviews.get(c.pk)
        out[c.pk] = AmlFacts(
            kind=c.kind,
            trade_text=tuple(t for t in trade if t),
            nationalities=(c.nationality, *owners.get(c.pk, [])),
            region_codes=regions,
            pep=c.pep,
            tx=tx[c.pk],
            review_level=review.level_after if review else None,
            review_detail=(
                f"{review.reviewed_on:%Y-%m-%d} {review.get_conclusion_display()}" if review else ""
            ),
            today=today,
        )
    return out


AML_FIELDS = (
    "pk",
    "kind",
    "name",
    "id_type",
    "id_number",
    "nationality",
    "occupation",
    "employer",
    "industry",
    "business_scope",
    "pep",
    "aml_risk",
    "aml_last_review",
    "aml_next_review",
    "created_at",
    "unit_id",
    "agent_id",
)


def _current_owner_exists(today: date):
    return Exists(
        BeneficialOwner.objects.filter(customer=OuterRef("pk")).filter(
            Q(until__isnull=True) | Q(until__gte=today)
        )
    )


def _expired_ids(qs, today, window):
    return qs.filter(
        Q(kind=Kind.INDIVIDUAL, id_valid_to__lt=today, id_long_term=False)
        | Q(kind=Kind.CORPORATE, licence_valid_to__lt=today)
    ).order_by("id_valid_to", "licence_valid_to", "pk")


def _missing_bo(qs, today, window):
    return qs.filter(kind=Kind.CORPORATE).filter(~_current_owner_exists(today)).order_by("pk")


def _high_risk_unreviewed(qs, today, window):
    since = add_years(today, -Thresholds.from_settings().review_years["high"])
    return (
        qs.filter(aml_risk=RiskLevel.HIGH)
        .filter(Q(aml_last_review__isnull=True) | Q(aml_last_review__lt=since))
        .order_by("aml_last_review", "pk")
    )


def _reviews_due(qs, today, window):
    return qs.filter(aml_next_review__lte=today + timedelta(days=window)).order_by("aml_next_review", "pk")


# name -> (title, description, queryset builder)
QUEUES = {
    "expired_ids": (
        "证件过期客户",
        "证件（营业执照）已过有效期且非长期有效：须重新识别身份，更新前暂停新业务",
        _expired_ids,
    ),
    "missing_bo": ("缺少受益所有人", "单位客户未登记现行有效的受益所有人", _missing_bo),
    "high_risk_unreviewed": (
        "高风险未按期审核",
        "高风险客户从未审核或上次审核已超过审核周期",
        _high_risk_unreviewed,
    ),
    "reviews_due": ("定期审核到期", "下次审核日期已到或将在所选天数内到期", _reviews_due),
}


def aml_queue(*, viewer, name: str, today: date | None = None, window: int = 30) -> QuerySet[Customer]:
    """Return the customers on one AML work queue, in the viewer's scope, most urgent first."""
    if name not in QUEUES:
        return Customer.objects.none()
    qs = customer_scope(viewer).select_related("unit", "agent")
    return QUEUES[name][2](qs, _today(today), window)


def customer_blocked_for_new_business(customer: Customer, today: date | None = None) -> str | None:
    """Return why no new business may be done with the customer now, or None.

    An identity document (a company's business licence) past its validity, not updated within the
    grace days (INSURDESK_AML_ID_GRACE_DAYS, default 0), stops new business until the customer is
    identified again (客户尽职调查, PBOC〔2025〕No.11).
    """
    limit = _today(today) - timedelta(days=grace_days())
    if customer.kind == Kind.INDIVIDUAL:
        if customer.id_valid_to and not customer.id_long_term and customer.id_valid_to < limit:
            return (
                f"客户身份证件已于 {customer.id_valid_to:%Y-%m-%d} 过期，"
                "更新证件并重新识别身份前不能办理新业务"
            )
    elif customer.licence_valid_to and customer.licence_valid_to < limit:
        return (
            f"单位客户营业执照已于 {customer.licence_valid_to:%Y-%m-%d} 过期，更新并重新识别前不能办理新业务"
        )
    return None


def customer_aml(*, customer: Customer, limit: int = 20) -> dict:
    """Return a customer's latest ratings and reviews (the caller has checked the customer is in scope)."""
    return {
        "assessments": list(
            AmlAssessment.objects.filter(customer=customer).select_related("rated_by")[:limit]
        ),
        "reviews": list(AmlReview.objects.filter(customer=customer).select_related("reviewer")[:limit]),
    }


# ---------------------------------------------------------------- flags, findings, tasks


def flag_list(*, viewer, state: str = "", kind: str = "") -> QuerySet[TransactionFlag]:
    qs = _scoped(TransactionFlag.objects.select_related("customer", "raised_by", "reviewer"), viewer)
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("state" if not state else "-raised_at", "-raised_at", "-id")


def flag_get(*, viewer, pk: int) -> TransactionFlag | None:
    return _scoped(TransactionFlag.objects.select_related("customer"), viewer).filter(pk=pk).first()


def finding_list(*, viewer, check: str = "", open_only: bool = True) -> QuerySet:
    from insurdesk.compliance.models import Finding

    qs = _scoped(Finding.objects.select_related("customer", "task", "task__owner"), viewer)
    if check:
        qs = qs.filter(check_code=check)
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-found_at", "-id")


@dataclass
class TaskFilters:
    state: str = ""  # a state, "open" for every state before verification, or "" for all
    owner_id: int | None = None
    unassigned: bool = False
    overdue: bool = False
    check: str = ""


def task_list(
    *, viewer, filters: TaskFilters | None = None, today: date | None = None
) -> QuerySet[RectificationTask]:
    f = filters or TaskFilters()
    qs = _scoped(RectificationTask.objects.select_related("customer", "owner", "finding"), viewer)
    if f.state == "open_all":
        qs = qs.filter(state__in=OPEN_TASK_STATES)
    elif f.state:
        qs = qs.filter(state=f.state)
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    if f.unassigned:
        qs = qs.filter(owner__isnull=True)
    if f.overdue:
        qs = qs.filter(state__in=OPEN_TASK_STATES, due_on__lt=_today(today))
    if f.check:
        qs = qs.filter(finding__check_code=f.check)
    return qs.order_by("due_on", "id")


def task_get(*, viewer, pk: int) -> RectificationTask | None:
    return (
        _scoped(
            RectificationTask.objects.select_related("customer", "owner", "finding", "verified_by"), viewer
        )
        .filter(pk=pk)
        .first()
    )


def tasks_by_owner(*, viewer, today: date | None = None) -> list[dict]:
    """Return per owner the open tasks and how many are overdue, most overdue first."""
    day = _today(today)
    rows = (
        _scoped(RectificationTask.objects.filter(state__in=OPEN_TASK_STATES), viewer)
        .values("owner_id", "owner__username", "owner__last_name", "owner__first_name")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=day)))
    )
    out = []
    for r in rows:
        full = f"{r['owner__last_name'] or ''}{r['owner__first_name'] or ''}"
        out.append(
            {
                "owner_id": r["owner_id"],
                "owner": full or r["owner__username"] or "",
                "open": r["open"],
                "overdue": r["overdue"],
            }
        )
    return sorted(out, key=lambda r: (-r["overdue"], -r["open"], r["owner"]))


# ---------------------------------------------------------------- consents and requests


def consent_list(*, customer: Customer) -> list[Consent]:
    return list(
        Consent.objects.filter(customer=customer)
        .select_related("recorded_by", "withdrawn_by")
        .order_by("withdrawn_at", "-granted_at", "-id")
    )


def consent_get(*, viewer, pk: int) -> Consent | None:
    return _scoped(Consent.objects.select_related("customer"), viewer).filter(pk=pk).first()


def pi_request_list(
    *,
    viewer,
    state: str = "",
    overdue: bool = False,
    customer: Customer | None = None,
    today: date | None = None,
) -> QuerySet[PersonalInfoRequest]:
    qs = _scoped(PersonalInfoRequest.objects.select_related("customer", "handler"), viewer)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(state=RequestState.OPEN, due_on__lt=_today(today))
    if customer is not None:
        qs = qs.filter(customer=customer)
    return qs.order_by("state", "due_on", "id")


def pi_request_get(*, viewer, pk: int) -> PersonalInfoRequest | None:
    return (
        _scoped(PersonalInfoRequest.objects.select_related("customer", "handler"), viewer)
        .filter(pk=pk)
        .first()
    )


# ---------------------------------------------------------------- the compliance desk


def dashboard(*, viewer, today: date | None = None) -> dict:
    """Return the counts the compliance start page shows, each a link to its list."""
    day = _today(today)
    queues = {name: aml_queue(viewer=viewer, name=name, today=day).count() for name in QUEUES}
    tasks = _scoped(RectificationTask.objects.filter(state__in=OPEN_TASK_STATES), viewer)
    requests = _scoped(PersonalInfoRequest.objects.filter(state=RequestState.OPEN), viewer)
    return {
        "queues": [(name, QUEUES[name][0], n) for name, n in queues.items()],
        "flags_open": _scoped(TransactionFlag.objects.filter(state=FlagState.OPEN), viewer).count(),
        "tasks_open": tasks.count(),
        "tasks_overdue": tasks.filter(due_on__lt=day).count(),
        "requests_open": requests.count(),
        "requests_overdue": requests.filter(due_on__lt=day).count(),
        "chain": latest_chain_verification(),
    }
