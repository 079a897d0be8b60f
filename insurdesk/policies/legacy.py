"""Policies issued before the system (存量保单迁移) and their past payments, registered from an archive table.

A legacy policy has no application or underwriting case in this system, so it does not go through
new business (double entry, underwriting, issuing): it is registered as it stands — number, product
from the catalogue (an unknown product is refused, never created), dates, sum insured, payment mode
— with its policyholder (投保人) and insured (被保险人), by default the row's customer for both,
its state worked out from its dates, and an audit entry. Such a policy is told by
`application_id IS NULL` on an individual policy. A policy issued in this system is never changed
from here: its changes are servicing (保全).

The relationship of the insured to the policyholder is "self" when they are one person, else the one
given, else "other". Insurable interest (保险法 第三十一条) is a rule of new business, checked at
underwriting; a policy already in force is registered as it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from insurdesk.applications.models import Relationship
from insurdesk.audit.services import PendingEntry, audit_log_many
from insurdesk.common.bulk import build, insert_many
from insurdesk.common.errors import FieldError
from insurdesk.customers.models import Customer
from insurdesk.org.policy import can
from insurdesk.policies import calculations as calc
from insurdesk.policies.models import Payment, PaymentKind, PaymentMethod, Policy, PolicyState
from insurdesk.policies.services import in_scope
from insurdesk.products.calculations import add_months, add_years
from insurdesk.products.models import Product

POLICY_NO_RE = re.compile(r"^[0-9A-Z][0-9A-Z\-]{3,19}$")
MAX_MONEY = Decimal("9999999999999.99")
# Values a legacy policy is compared and updated on; the rest follows from them.
COMPARED = (
    "product_id", "sum_insured", "effective_date", "expiry_date", "payment_mode", "premium",
    "policyholder_id", "insured_id", "relationship",
)  # fmt: skip
# The choices enums build a new list of values at every access; these are checked once a row.
_METHODS = frozenset(PaymentMethod.values)
_RELATIONSHIPS = frozenset(Relationship.values)
LEGACY_PAYMENT_NOTE = "存量数据导入（原表未载明缴费方法）"


@dataclass
class LegacyPolicy:
    """One legacy policy as read, with the customer of its row (`customer_id`).

    `policyholder_id` and `insured_id` left None mean the row's customer for a policy registered now,
    and leave an existing policy's party as it is (an absent column never changes a stored value).
    """

    policy_no: str
    customer_id: int | None = None
    product_name: str | None = None
    sum_insured: Decimal | None = None
    effective_date: date | None = None
    expiry_date: date | None = None
    payment_mode: str | None = None
    premium: Decimal | None = None
    policyholder_id: int | None = None
    insured_id: int | None = None
    relationship: str | None = None  # the insured is the policyholder's … (Relationship)


@dataclass
class LegacyPayment:
    policy_id: int
    amount: Decimal
    paid_on: date
    method: str = PaymentMethod.UNKNOWN  # an archive table rarely says how a premium was paid


@dataclass
class ImportResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: dict[int, list[FieldError]] = field(default_factory=dict)
    ids: dict[int, int] = field(default_factory=dict)  # item index -> policy (or payment) id


class Catalogue:
    """Find products by name or code, once per name (an import names a handful, a million times)."""

    def __init__(self):
        self._found: dict[str, Product | None] = {}

    def find(self, name: str) -> Product | None:
        if name not in self._found:
            self._found[name] = (
                Product.objects.filter(Q(name=name) | Q(code=name.strip().upper())).order_by("id").first()
            )
        return self._found[name]


_SPACES = re.compile(r"\s+")


def clean_policy_no(value) -> str:
    return _SPACES.sub("", str(value or "")).upper()


def check_legacy_policy(
    item: LegacyPolicy, *, product: Product | None, creating: bool, today: date | None = None
) -> list[FieldError]:
    """Return why a legacy policy cannot be registered (or updated) as read; nothing is written."""
    today = today or timezone.localdate()
    errors: list[FieldError] = []
    if not POLICY_NO_RE.match(clean_policy_no(item.policy_no)):
        errors.append(FieldError("policy_no", "format", "保单号应为 4–20 位字母、数字或短横线"))
    if item.product_name:
        if product is None:
            errors.append(
                FieldError(
                    "product",
                    "unknown_product",
                    f"险种“{item.product_name}”不在产品目录中；导入不会新建产品，"
                    "请先在险种管理中建立或改用目录中的名称",
                )
            )
        elif product.is_rider or product.is_group:
            errors.append(
                FieldError("product", "not_main", f"“{product.name}”是附加险或团体险，不能作为个人保单的主险")
            )
    elif creating:
        errors.append(FieldError("product", "required", "请填写保险产品名称"))
    if creating:
        for name, value, label in (
            ("sum_insured", item.sum_insured, "保险金额"),
            ("effective_date", item.effective_date, "保险起始日期"),
            ("payment_mode", item.payment_mode, "缴费方式"),
        ):
            if value in (None, ""):
                errors.append(FieldError(name, "required", f"新登记的保单须填写{label}"))
    if item.sum_insured is not None and not (Decimal("0") < item.sum_insured <= MAX_MONEY):
        errors.append(FieldError("sum_insured", "range", "保险金额应大于 0"))
    if item.premium is not None and not (Decimal("0") <= item.premium <= MAX_MONEY):
        errors.append(FieldError("premium", "range", "保费不能为负数"))
    if item.effective_date and item.expiry_date and item.expiry_date <= item.effective_date:
        errors.append(FieldError("expiry_date", "date_order", "保险到期日期应晚于起始日期"))
    if item.payment_mode and item.payment_mode not in calc.PAYMENT_MODES:
        errors.append(FieldError("payment_mode", "choice", "缴费方式应为 趸交/年交/半年交/季交/月交 之一"))
    elif (
        product is not None
        and item.payment_mode
        and product.payment_modes
        and item.payment_mode not in product.payment_modes
    ):
        offered = "、".join(calc.MODE_LABELS.get(m, m) for m in product.payment_modes)
        errors.append(FieldError("payment_mode", "choice", f"险种“{product.name}”的缴费方式只有 {offered}"))
    return errors


def check_existing(actor, policy: Policy, *, customer_id: int | None) -> FieldError | None:
    """Return why a row may not touch a policy already in the system (None when it may)."""
    if not in_scope(actor, policy):
        return FieldError(
            "policy_no", "duplicate", "该保单号已有保单（不在您的管辖范围内，请联系保单所属机构）"
        )
    if customer_id is None or customer_id not in (policy.policyholder_id, policy.insured_id):
        return FieldError(
            "policy_no", "other_customer", "该保单号已登记在另一位客户名下（投保人与被保险人都不是本行客户）"
        )
    return None


def parties(item: LegacyPolicy, policy: Policy | None = None) -> tuple[int | None, int | None]:
    """Return the policyholder and insured an item means: its own, else the policy's, else its customer."""
    default_holder = policy.policyholder_id if policy is not None else item.customer_id
    default_insured = policy.insured_id if policy is not None else item.customer_id
    return (
        item.policyholder_id if item.policyholder_id is not None else default_holder,
        item.insured_id if item.insured_id is not None else default_insured,
    )


def relationship_of(item: LegacyPolicy, policy: Policy | None = None) -> str:
    """Return the relationship a policy gets: self for one person, else the one given, else "other"."""
    holder, insured = parties(item, policy)
    if holder == insured:
        return Relationship.SELF
    if item.relationship:
        return item.relationship
    if policy is not None and policy.relationship != Relationship.SELF:
        return policy.relationship
    return Relationship.OTHER


def check_parties(item: LegacyPolicy, policy: Policy | None = None) -> list[FieldError]:
    """Return why the policyholder, insured and relationship an item gives do not fit together."""
    holder, insured = parties(item, policy)
    errors = []
    if item.customer_id is not None and item.customer_id not in (holder, insured):
        errors.append(
            FieldError(
                "policyholder_id",
                "other_customer",
                "投保人与被保险人都不是本行客户；本行的保单须以本行客户为投保人或被保险人",
            )
        )
    if item.relationship and item.relationship not in _RELATIONSHIPS:
        errors.append(
            FieldError("relationship", "choice", "被保险人与投保人关系应为 本人/配偶/子女/父母/雇佣/其他")
        )
    elif item.relationship == Relationship.SELF and holder != insured:
        errors.append(
            FieldError("relationship", "relationship", "投保人与被保险人不是同一人，关系不能为“本人”")
        )
    elif item.relationship and item.relationship != Relationship.SELF and holder == insured:
        errors.append(
            FieldError(
                "relationship",
                "relationship",
                "投保人与被保险人是同一人，关系应为“本人”（投保人或被保险人是他人时请填写其姓名和证件号码）",
            )
        )
    return errors


def _changes(policy: Policy, item: LegacyPolicy, product: Product | None) -> dict:
    wanted = {
        "product_id": product.pk if product is not None else None,
        "sum_insured": item.sum_insured,
        "effective_date": item.effective_date,
        "expiry_date": item.expiry_date,
        "payment_mode": item.payment_mode,
        "premium": item.premium,
        "policyholder_id": item.policyholder_id,
        "insured_id": item.insured_id,
        "relationship": relationship_of(item, policy),
    }
    return {k: v for k, v in wanted.items() if v is not None and getattr(policy, k) != v}


def mismatch(policy: Policy, item: LegacyPolicy, product: Product | None) -> FieldError | None:
    """Refuse a difference from a policy issued in this system: such a change is servicing (保全)."""
    changes = _changes(policy, item, product)
    if policy.application_id is None or not changes:
        return None
    labels = {f.attname: str(f.verbose_name) for f in Policy._meta.concrete_fields}
    named = "、".join(labels.get(k, k) for k in changes)
    return FieldError(
        "policy_no",
        "policy_mismatch",
        f"该保单在系统中承保出单，档案表的{named}与系统不一致；已出单保单的变更须通过保全办理",
    )


@lru_cache(maxsize=65536)  # an archive table repeats the same terms many times
def _terms(effective: date, expiry: date | None, mode: str) -> tuple[str, str, int]:
    """Return coverage term, payment term and number of instalments a legacy policy's dates imply."""
    per_year = 1 if mode == calc.SINGLE else calc.INSTALMENTS_PER_YEAR[mode]
    if expiry is None:
        coverage, months = "life", None
    else:
        # The first n of 1–105 years, else of 1–11 months, that ends on the expiry or the day before.
        # Only the year (month) of the expiry or of the day after can be it: those two are tried.
        coverage, months = "", None
        after = expiry + timedelta(days=1)
        for n in sorted({expiry.year - effective.year, after.year - effective.year}):
            if 1 <= n <= 105 and add_years(effective, n) in (expiry, after):
                coverage, months = f"{n}y", 12 * n
                break
        if not coverage:
            spans = {12 * (d.year - effective.year) + d.month - effective.month for d in (expiry, after)}
            for n in sorted(spans):
                if 1 <= n <= 11 and add_months(effective, n) in (expiry, after):
                    coverage, months = f"{n}m", n
                    break
        if not coverage:
            coverage = f"{(expiry - effective).days + 1}d"
    if mode == calc.SINGLE:
        return coverage, "single", 1
    # The archive table does not say how long premiums run: the cover's length is the best known bound.
    payment_term = coverage if coverage.endswith("y") else "1y"
    total = max(1, -(-(months or 12) * per_year // 12))
    return coverage, payment_term, total


def legacy_state(effective: date, expiry: date | None, today: date) -> str:
    if effective > today:
        return PolicyState.PENDING
    if expiry is not None and expiry < today:
        return PolicyState.MATURED
    return PolicyState.IN_FORCE


def _plain(value):
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def policies_import_legacy(
    *, actor, items: list[LegacyPolicy], catalogue: Catalogue | None = None, today: date | None = None
) -> ImportResult:
    """Register legacy policies, or bring earlier registered ones up to date; one query per step, not per row.

    Refused per item: an unknown product, dates out of order, a payment mode the product does not
    offer, a number already used by another customer's policy or by one outside the actor's scope,
    a policyholder and insured neither of whom is the item's customer, a relationship that does not
    fit them, and any difference from a policy issued in this system. Importing the same items again
    changes nothing; a different policyholder or insured of a legacy policy is a change like any other.
    """
    result = ImportResult()
    if not items:
        return result
    if actor is not None and not can(actor, "policy.import"):
        forbidden = FieldError("policy_no", "forbidden", "您的角色无权登记存量保单")
        result.refused = {i: [forbidden] for i in range(len(items))}
        return result
    catalogue = catalogue or Catalogue()
    today = today or timezone.localdate()
    numbers = {clean_policy_no(i.policy_no) for i in items}
    existing = {p.policy_no: p for p in Policy.objects.filter(policy_no__any_of=numbers)}
    wanted = {pk for i in items for pk in (i.customer_id, i.policyholder_id, i.insured_id) if pk is not None}
    # (unit, agent) by archive id: tuples, not instances (Model.__init__ of a deferred-field instance
    # costs more than the query a row).
    customers = {
        pk: (unit_id, agent_id)
        for pk, unit_id, agent_id in Customer.objects.filter(pk__any_of=wanted).values_list(
            "pk", "unit_id", "agent_id"
        )
    }
    now = timezone.now()
    user = actor if actor is not None and actor.pk else None
    new: list[tuple[int, Policy, str]] = []
    entries: list[PendingEntry] = []
    changed: list[tuple[int, Policy, dict]] = []
    claimed: dict[str, int] = {}
    for index, item in enumerate(items):
        number = clean_policy_no(item.policy_no)
        product = catalogue.find(item.product_name) if item.product_name else None
        policy = existing.get(number)
        errors = check_legacy_policy(item, product=product, creating=policy is None, today=today)
        if policy is not None and not errors:
            refusal = check_existing(actor, policy, customer_id=item.customer_id) or mismatch(
                policy, item, product
            )
            errors = [refusal] if refusal else check_parties(item, policy)
        elif not errors:
            errors = check_parties(item)
        # A new policy needs both parties archived; a change, the parties it names.
        if policy is None:
            named = [*parties(item), *([item.customer_id] if item.customer_id is not None else [])]
        else:
            named = [pk for pk in (item.policyholder_id, item.insured_id) if pk is not None]
        if not errors and any(pk not in customers for pk in named):
            errors = [FieldError("policy_no", "not_found", "客户档案不存在")]
        if errors:
            result.refused[index] = errors
            continue
        if policy is None and number in claimed:
            result.unchanged.append(index)  # a repeat of a policy this call registers
            result.ids[index] = claimed[number]
            continue
        if policy is None:
            # The unit and agent of the archive the row belongs to (its customer), else the policyholder's.
            holder_id, insured_id = parties(item)
            unit_id, agent_id = customers[item.customer_id if item.customer_id is not None else holder_id]
            coverage, payment_term, total = _terms(item.effective_date, item.expiry_date, item.payment_mode)
            state = legacy_state(item.effective_date, item.expiry_date, today)
            premium = item.premium or Decimal("0.00")
            per_year = 1 if item.payment_mode == calc.SINGLE else calc.INSTALMENTS_PER_YEAR[item.payment_mode]
            policy = build(
                Policy,
                policy_no=number,
                application_id=None,
                product_id=product.pk,
                unit_id=unit_id,
                agent_id=agent_id,
                policyholder_id=holder_id,
                insured_id=insured_id,
                relationship=relationship_of(item),
                is_group=False,
                # No beneficiary recorded: the heirs take the benefit (保险法 第四十二条).
                beneficiary_legal=True,
                state=state,
                state_changed_at=now,
                payment_mode=item.payment_mode,
                payment_term=payment_term,
                instalment_total=total,
                coverage_term=coverage,
                application_date=item.effective_date,
                issue_date=item.effective_date,
                effective_date=item.effective_date,
                expiry_date=item.expiry_date,
                premium=premium,
                annual_premium=premium * per_year,
                sum_insured=item.sum_insured,
                cooling_off_days=product.cooling_off_days,
                grace_days=product.grace_days,
                terminated_on=item.expiry_date if state == PolicyState.MATURED else None,
                termination_reason="满期（存量导入时已过满期日）" if state == PolicyState.MATURED else "",
                created_by_id=user.pk if user is not None else None,
            )
            new.append((index, policy, product.code))
            claimed[number] = -1
            continue
        changes = _changes(policy, item, product)
        if not changes:
            result.unchanged.append(index)
            result.ids[index] = policy.pk
            continue
        changed.append((index, policy, changes))
    with transaction.atomic():
        if new:
            created = insert_many([p for _, p, _ in new])
            for (index, _, product_code), policy in zip(new, created, strict=True):
                result.created.append(index)
                result.ids[index] = policy.pk
                claimed[policy.policy_no] = policy.pk
                entries.append(
                    PendingEntry(
                        action="policy.import_legacy",
                        actor=actor,
                        target=policy,
                        detail={
                            "policy_no": policy.policy_no,
                            "product": product_code,
                            "state": policy.__dict__["state"],  # fsm descriptor: an object per read
                            "effective_date": policy.effective_date,
                            "expiry_date": policy.expiry_date,
                            "sum_insured": str(policy.sum_insured),
                            "policyholder_id": policy.policyholder_id,
                            "insured_id": policy.insured_id,
                            "relationship": policy.relationship,
                        },
                    )
                )
            for index, item in enumerate(items):
                if result.ids.get(index) == -1:
                    result.ids[index] = claimed[clean_policy_no(item.policy_no)]
        for index, policy, changes in changed:
            locked = Policy.objects.select_for_update().get(pk=policy.pk)
            detail = {
                k: {"before": _plain(getattr(locked, k)), "after": _plain(v)} for k, v in changes.items()
            }
            for k, v in changes.items():
                setattr(locked, k, v)
            mode = locked.payment_mode
            locked.coverage_term, locked.payment_term, locked.instalment_total = _terms(
                locked.effective_date, locked.expiry_date, mode
            )
            locked.annual_premium = locked.premium * (
                1 if mode == calc.SINGLE else calc.INSTALMENTS_PER_YEAR[mode]
            )
            locked.save()
            entries.append(
                PendingEntry(
                    action="policy.import_update",
                    actor=actor,
                    target=locked,
                    detail={"policy_no": locked.policy_no, "changes": detail},
                )
            )
            result.updated.append(index)
            result.ids[index] = locked.pk
        if entries:
            audit_log_many(entries)
    return result


def policy_import_legacy(*, actor, item: LegacyPolicy) -> Policy:
    """Register one legacy policy (or bring it up to date); raise ValidationFailed when refused."""
    from insurdesk.common.errors import ValidationFailed

    result = policies_import_legacy(actor=actor, items=[item])
    if 0 in result.refused:
        raise ValidationFailed(result.refused[0])
    return Policy.objects.get(pk=result.ids[0])


def check_legacy_payment(amount: Decimal | None, paid_on: date | None, *, today: date) -> list[FieldError]:
    errors = []
    if amount is None or amount <= 0:
        errors.append(FieldError("amount", "range", "缴费金额应大于 0"))
    if paid_on is None:
        errors.append(FieldError("paid_on", "required", "请填写缴费日期"))
    elif paid_on > today:
        errors.append(FieldError("paid_on", "future", "缴费日期不能晚于今天"))
    return errors


def payments_import_legacy(*, actor, items: list[LegacyPayment], today: date | None = None) -> ImportResult:
    """Record past payments of legacy policies, one per policy, day and amount (a repeat changes nothing).

    A past payment is history, not money received today: it opens no instalment and raises no
    anti-money-laundering flag (those apply when the money comes in, through payment_record).
    """
    result = ImportResult()
    if not items:
        return result
    if actor is not None and not can(actor, "policy.import"):
        forbidden = FieldError("amount", "forbidden", "您的角色无权登记存量缴费")
        result.refused = {i: [forbidden] for i in range(len(items))}
        return result
    today = today or timezone.localdate()
    policies = {
        p.pk: p
        # Rows, not instances: django-fsm reads the state of every Policy it builds (a query each
        # when deferred), and these few columns are all a payment needs.
        for p in Policy.objects.filter(pk__any_of={i.policy_id for i in items}).values_list(
            "pk", "policy_no", "unit_id", "agent_id", "application_id", named=True
        )
    }
    seen = set(
        Payment.objects.filter(policy_id__any_of=list(policies), kind=PaymentKind.PREMIUM).values_list(
            "policy_id", "paid_on", "amount"
        )
    )
    user = actor if actor is not None and actor.pk else None
    new: list[tuple[int, Payment]] = []
    for index, item in enumerate(items):
        errors = check_legacy_payment(item.amount, item.paid_on, today=today)
        if item.method not in _METHODS:
            errors.append(FieldError("method", "choice", "缴费途径应为 现金/转账/刷卡/银行代扣 之一"))
        policy = policies.get(item.policy_id)
        key = (item.policy_id, item.paid_on, item.amount)
        if not errors and key in seen:
            result.unchanged.append(index)
            continue
        if policy is None:
            errors.append(FieldError("policy_id", "not_found", "保单不存在"))
        elif policy.application_id is not None:
            errors.append(
                FieldError(
                    "paid_on", "issued_policy", "系统出单的保单须在缴费录入中逐笔登记，不能由档案表导入"
                )
            )
        if errors:
            result.refused[index] = errors
            continue
        seen.add(key)
        new.append(
            (
                index,
                build(
                    Payment,
                    policy_id=item.policy_id,
                    instalment_id=None,
                    kind=PaymentKind.PREMIUM,
                    method=item.method,
                    amount=item.amount,
                    paid_on=item.paid_on,
                    note=LEGACY_PAYMENT_NOTE if item.method == PaymentMethod.UNKNOWN else "存量数据导入",
                    unit_id=policy.unit_id,
                    agent_id=policy.agent_id,
                    recorded_by_id=user.pk if user is not None else None,
                ),
            )
        )
    if new:
        with transaction.atomic():
            created = insert_many([p for _, p in new])
            audit_log_many(
                [
                    PendingEntry(
                        action="payment.import_legacy",
                        actor=actor,
                        target=p,
                        detail={
                            "policy_no": policies[p.policy_id].policy_no,
                            "amount": str(p.amount),
                            "paid_on": p.paid_on,
                            "method": p.method,
                        },
                    )
                    for p in created
                ]
            )
        for (index, _), p in zip(new, created, strict=True):
            result.created.append(index)
            result.ids[index] = p.pk
    return result
