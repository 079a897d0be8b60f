"""Build one compliance record for a customer, for tests (and the site-wide access test's RECORDS)."""

from django.utils import timezone

from insurdesk.compliance.models import (
    Consent,
    Finding,
    PersonalInfoRequest,
    RectificationTask,
    TransactionFlag,
)
from insurdesk.compliance.services import pi_request_due


def make_task(customer) -> RectificationTask:
    now = timezone.now()
    finding = Finding.objects.create(
        check_code="pep_not_high", customer=customer, detail="测试发现", found_at=now, last_seen_at=now
    )
    return RectificationTask.objects.create(
        finding=finding, customer=customer, due_on=timezone.localdate(), created_at=now
    )


def make_flag(customer) -> TransactionFlag:
    return TransactionFlag.objects.create(
        customer=customer, kind="other", reason="测试标记", raised_at=timezone.now()
    )


def make_consent(customer) -> Consent:
    return Consent.objects.create(
        customer=customer, purpose="marketing", channel="paper", granted_at=timezone.now()
    )


def make_pi_request(customer) -> PersonalInfoRequest:
    today = timezone.localdate()
    return PersonalInfoRequest.objects.create(
        customer=customer, kind="access", channel="web", received_on=today, due_on=pi_request_due(today)
    )


# Scope name (insurdesk.org.policy.Scope) -> builder of one record in that scope, given its customer.
RECORDS = {"task": make_task, "flag": make_flag, "consent": make_consent, "pi_request": make_pi_request}
