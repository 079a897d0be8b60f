"""Where the AML rules get transaction facts, and where deletion requests learn of retention periods.

Apps above compliance (policies, servicing, claims, retention) feed it without compliance importing
them: they register a function from their AppConfig.ready():

    from insurdesk.compliance.providers import register_fact_provider
    register_fact_provider(my_facts)  # (customer_ids, *, since, today) -> {customer_id: TransactionFacts}

    from insurdesk.compliance.providers import register_retention_check
    register_retention_check(my_check)  # my_check(customer) -> RetentionStatus | None

Until they do, the built-in providers read what exists: the transaction flags, and (found through
the app registry, duck-typed) the policies app's payments and surrendered policies. Retention is
asked of the life-cycle app (insurdesk.lifecycle, one layer below compliance) when it is installed.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, FieldError

from insurdesk.compliance.models import FlagKind, FlagState, TransactionFlag
from insurdesk.compliance.rules import Movement, Surrender, TransactionFacts

log = logging.getLogger(__name__)

FactProvider = Callable[..., dict[int, TransactionFacts]]
_fact_providers: list[FactProvider] = []


def register_fact_provider(provider: FactProvider) -> None:
    """Add a source of transaction facts (idempotent)."""
    if provider not in _fact_providers:
        _fact_providers.append(provider)


def unregister_fact_provider(provider: FactProvider) -> None:
    if provider in _fact_providers:
        _fact_providers.remove(provider)


def flag_facts(customer_ids: Sequence[int], *, since: date, today: date) -> dict[int, TransactionFacts]:
    """Read the transaction flags raised for the customers (dismissed flags count for nothing)."""
    out: dict[int, TransactionFacts] = {}
    rows = (
        TransactionFlag.objects.filter(customer_id__in=customer_ids)
        .exclude(state=FlagState.DISMISSED)
        .values_list("customer_id", "kind", "amount", "occurred_on", "raised_at", "reference", "state")
    )
    for cid, kind, amount, occurred_on, raised_at, reference, state in rows:
        facts = out.setdefault(cid, TransactionFacts())
        if state == FlagState.REPORTED:
            facts.reported_flags += 1
        day = occurred_on or raised_at.date()
        if day < since:
            continue
        if kind == FlagKind.LARGE_CASH and amount is not None:
            facts.cash_premiums.append(Movement(amount, day, reference))
        elif kind == FlagKind.LARGE_TRANSFER and amount is not None:
            facts.transfers.append(Movement(amount, day, reference))
        elif kind == FlagKind.EARLY_SURRENDER:
            facts.surrenders.append(Surrender(amount=amount, on=day, reference=reference, early=True))
        elif kind == FlagKind.FREQUENT_CHANGES:
            facts.flagged_frequent_changes += 1
    return out


_warned: set[str] = set()


def policy_facts(customer_ids: Sequence[int], *, since: date, today: date) -> dict[int, TransactionFacts]:
    """Read premiums paid in cash or by transfer and surrendered policies from the policies app, if any.

    The app is looked up through the registry rather than imported: compliance sits below it in
    the layers, and a model that lacks a field it expects is skipped with a warning, not a crash.
    """
    out: dict[int, TransactionFacts] = {}
    if not apps.is_installed("insurdesk.policies"):
        return out
    try:
        payment = apps.get_model("policies", "Payment")
        policy = apps.get_model("policies", "Policy")
        payments = list(
            payment.objects.filter(
                policy__policyholder_id__in=customer_ids,
                kind="premium",
                method__in=("cash", "transfer"),
                paid_on__gte=since,
            ).values_list(
                "policy__policyholder_id", "method", "amount", "paid_on", "reference", "policy__policy_no"
            )
        )
        surrendered = list(
            policy.objects.filter(
                policyholder_id__in=customer_ids,
                state="surrendered",
                terminated_on__gte=since,
            ).values_list("policyholder_id", "effective_date", "terminated_on", "policy_no")
        )
    except (LookupError, FieldError, FieldDoesNotExist) as exc:
        if "policies" not in _warned:
            _warned.add("policies")
            log.warning("AML facts from the policies app are not available: %s", exc)
        return out
    for cid, method, amount, paid_on, reference, policy_no in payments:
        facts = out.setdefault(cid, TransactionFacts())
        ref = f"{policy_no} {reference}".strip()
        target = facts.cash_premiums if method == "cash" else facts.transfers
        target.append(Movement(amount, paid_on, ref))
    for cid, effective, terminated, policy_no in surrendered:
        years = (terminated - effective).days / 365.25 if effective and terminated else None
        out.setdefault(cid, TransactionFacts()).surrenders.append(
            Surrender(amount=None, policy_years=years, on=terminated, reference=policy_no)
        )
    return out


BUILT_IN_PROVIDERS: tuple[FactProvider, ...] = (flag_facts, policy_facts)


def transaction_facts(
    customer_ids: Sequence[int], *, since: date, today: date
) -> dict[int, TransactionFacts]:
    """Return every provider's facts for the customers, merged (one reference counts once)."""
    merged = {cid: TransactionFacts() for cid in customer_ids}
    for provider in (*BUILT_IN_PROVIDERS, *_fact_providers):
        for cid, facts in provider(customer_ids, since=since, today=today).items():
            if cid in merged:
                merged[cid].merge(facts)
    return merged


# ---------------------------------------------------------------- retention (PIPL Art. 47)


@dataclass(frozen=True)
class RetentionStatus:
    holds: bool
    until: date | None = None
    basis: str = ""
    reference: str = ""


AML_RETENTION_BASIS = (
    "反洗钱法（2024）第三十四条：客户身份资料和交易记录在业务关系结束后至少保存十年；"
    "保存期内仅作存储和必要的安全保护（个人信息保护法第四十七条）"
)

RetentionCheck = Callable[..., RetentionStatus | None]
_retention_checks: list[RetentionCheck] = []


def register_retention_check(check: RetentionCheck) -> None:
    if check not in _retention_checks:
        _retention_checks.append(check)


def unregister_retention_check(check: RetentionCheck) -> None:
    if check in _retention_checks:
        _retention_checks.remove(check)


def lifecycle_retention(customer) -> RetentionStatus | None:
    """Ask the records life-cycle app (归档与销毁) when the customer's retention periods end, if installed."""
    if not apps.is_installed("insurdesk.lifecycle"):
        return None
    try:
        from insurdesk.lifecycle.selectors import retention_status as lifecycle_status

        status = lifecycle_status(customer=customer)
        if status.destroyed:
            return RetentionStatus(holds=False, basis="档案已销毁")
        if status.due:
            return RetentionStatus(
                holds=False, until=status.ends_on, basis="各项法定保存期限均已届满，可转销毁或匿名化流程"
            )
        return RetentionStatus(holds=True, until=status.ends_on, basis=status.refusal()[:300])
    except Exception:  # retention fails closed: an unanswerable check leaves the data retained
        log.exception("retention status of customer %s not available from lifecycle", customer.pk)
        return None


def retention_status(customer) -> RetentionStatus:
    """Tell whether a legal retention period still runs for the customer's data.

    The first registered check that answers decides, then the life-cycle app; without either the
    AML period is taken to run, since an archive that still exists belongs to a relationship not
    yet ten years over.
    """
    for check in (*_retention_checks, lifecycle_retention):
        status = check(customer)
        if status is not None:
            return status
    return RetentionStatus(holds=True, until=None, basis=AML_RETENTION_BASIS)
