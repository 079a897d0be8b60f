"""The compliance checks (合规检查): each declared with a code, a label, the days allowed to rectify,
and a finder that yields (customer id, detail) for every archive on which the problem holds now.

A finder may be limited to some customers (`only`), which is how a task's verification re-checks
one archive.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from insurdesk.compliance.calculations import add_years
from insurdesk.compliance.models import FlagState, TransactionFlag
from insurdesk.compliance.rules import Thresholds
from insurdesk.customers.calculations import REQUIRED_CORPORATE, REQUIRED_INDIVIDUAL, completeness
from insurdesk.customers.models import BeneficialOwner, Customer, Kind, RiskLevel

# The identification data the AML due-diligence rule requires (PBOC〔2025〕No.11; FACTS.md), as keys
# of the completeness tables in customers.calculations so labels and "filled" mean the same there.
KYC_INDIVIDUAL = (
    "name",
    "gender",
    "nationality",
    "occupation",
    "residence_address",
    "mobile",
    "id_type",
    "id_number",
    "id_validity",
)
KYC_CORPORATE = (
    "name",
    "id_number",
    "licence_valid_to",
    "registered_address",
    "business_scope",
    "controlling_shareholder",
    "legal_rep_name",
    "legal_rep_id_number",
    "contact_name",
)
KYC_FIELDS = {
    Kind.INDIVIDUAL: (
        "name",
        "gender",
        "nationality",
        "occupation",
        "residence_address",
        "mobile",
        "id_type",
        "id_number",
        "id_valid_to",
        "id_long_term",
    ),
    Kind.CORPORATE: KYC_CORPORATE,
}

Finder = Callable[..., Iterator[tuple[int, str]]]


@dataclass(frozen=True)
class Check:
    code: str
    label: str
    due_days: int
    find: Finder  # find(only=None | [customer ids], today=date) -> (customer_id, detail)


def _customers(only: Sequence[int] | None) -> QuerySet[Customer]:
    qs = Customer.objects.all()
    return qs if only is None else qs.filter(pk__in=list(only))


def grace_days() -> int:
    return int(getattr(settings, "INSURDESK_AML_ID_GRACE_DAYS", 0))


def _kyc_missing(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    labels = {
        Kind.INDIVIDUAL: {REQUIRED_INDIVIDUAL[k] for k in KYC_INDIVIDUAL},
        Kind.CORPORATE: {REQUIRED_CORPORATE[k] for k in KYC_CORPORATE},
    }
    # A complete archive (score 100) lacks nothing the identification rule asks for.
    qs = _customers(only).filter(completeness__lt=100).order_by("pk")
    for kind in (Kind.INDIVIDUAL, Kind.CORPORATE):
        fields = ("pk", "kind", *KYC_FIELDS[kind])
        for c in qs.filter(kind=kind).only(*fields).iterator(chunk_size=1000):
            values = {f: getattr(c, f) for f in KYC_FIELDS[kind]}
            _, missing = completeness(kind, values)
            gaps = [m for m in missing if m in labels[kind]]
            if gaps:
                yield c.pk, f"反洗钱身份识别必备信息缺失：{'、'.join(gaps)}"


def _id_expired(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    limit = today - timedelta(days=grace_days())
    qs = _customers(only).filter(
        Q(kind=Kind.INDIVIDUAL, id_valid_to__lt=limit, id_long_term=False)
        | Q(kind=Kind.CORPORATE, licence_valid_to__lt=limit)
    )
    for pk, kind, id_to, licence_to in qs.values_list("pk", "kind", "id_valid_to", "licence_valid_to"):
        what, day = ("身份证件", id_to) if kind == Kind.INDIVIDUAL else ("营业执照", licence_to)
        yield pk, f"{what}已于 {day:%Y-%m-%d} 过期，须重新识别客户身份；更新前暂停新业务"


def _legal_rep_id_expired(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    qs = _customers(only).filter(kind=Kind.CORPORATE, legal_rep_id_valid_to__lt=today)
    for pk, day in qs.values_list("pk", "legal_rep_id_valid_to"):
        yield pk, f"法定代表人证件已于 {day:%Y-%m-%d} 过期"


def _current_owners(today: date):
    return BeneficialOwner.objects.filter(customer=OuterRef("pk")).filter(
        Q(until__isnull=True) | Q(until__gte=today)
    )


def _bo_missing(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    qs = _customers(only).filter(kind=Kind.CORPORATE).filter(~Exists(_current_owners(today)))
    for pk in qs.values_list("pk", flat=True):
        yield pk, "单位客户未登记现行有效的受益所有人（PBOC/SAMR 2024 年第 3 号令）"


def _high_risk_unreviewed(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    years = Thresholds.from_settings().review_years["high"]
    since = add_years(today, -years)
    qs = (
        _customers(only)
        .filter(aml_risk=RiskLevel.HIGH)
        .filter(Q(aml_last_review__isnull=True) | Q(aml_last_review__lt=since))
    )
    for pk, last in qs.values_list("pk", "aml_last_review"):
        yield (
            pk,
            (
                f"高风险客户上次审核为 {last:%Y-%m-%d}，已超过 {years} 年"
                if last
                else "高风险客户尚无审核记录"
            ),
        )


def _review_overdue(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    qs = _customers(only).filter(aml_next_review__lt=today).exclude(aml_risk=RiskLevel.HIGH)
    for pk, due in qs.values_list("pk", "aml_next_review"):
        yield pk, f"定期审核已于 {due:%Y-%m-%d} 到期未做"


def _pep_not_high(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    qs = _customers(only).filter(pep=True).exclude(aml_risk=RiskLevel.HIGH)
    for pk, level in qs.values_list("pk", "aml_risk"):
        yield pk, f"政治公众人物的风险等级为“{RiskLevel(level).label}”，应评为高风险并强化尽职调查"


def flag_review_days() -> int:
    return int(getattr(settings, "INSURDESK_AML_FLAG_REVIEW_DAYS", 5))


def _flag_unreviewed(*, only=None, today: date) -> Iterator[tuple[int, str]]:
    days = flag_review_days()
    cutoff = timezone.make_aware(datetime.combine(today - timedelta(days=days), time.min))
    qs = TransactionFlag.objects.filter(state=FlagState.OPEN, raised_at__lt=cutoff)
    if only is not None:
        qs = qs.filter(customer_id__in=list(only))
    counts: dict[int, int] = {}
    for cid in qs.values_list("customer_id", flat=True):
        counts[cid] = counts.get(cid, 0) + 1
    for cid, n in sorted(counts.items()):
        yield cid, f"{n} 笔大额/可疑交易标记超过 {days} 天未审核"


CHECKS: tuple[Check, ...] = (
    Check("kyc_missing", "身份识别信息不完整", 30, _kyc_missing),
    Check("id_expired", "证件过期未更新", 30, _id_expired),
    Check("legal_rep_id_expired", "法定代表人证件过期", 30, _legal_rep_id_expired),
    Check("bo_missing", "单位客户缺少受益所有人", 30, _bo_missing),
    Check("high_risk_unreviewed", "高风险客户未按期审核", 15, _high_risk_unreviewed),
    Check("review_overdue", "定期审核逾期", 30, _review_overdue),
    Check("pep_not_high", "政治公众人物未评为高风险", 5, _pep_not_high),
    Check("flag_unreviewed", "交易标记逾期未审核", 5, _flag_unreviewed),
)
CHECKS_BY_CODE = {c.code: c for c in CHECKS}
CHECK_LABELS = {c.code: c.label for c in CHECKS}
