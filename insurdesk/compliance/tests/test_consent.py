"""Consents (PIPL Art. 29) and personal-information requests (Arts. 44–47)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import Duplicate, IllegalTransition, NotAllowed, NotFound, ValidationFailed
from insurdesk.compliance.models import Consent, RequestOutcome, RequestState
from insurdesk.compliance.providers import (
    RetentionStatus,
    register_retention_check,
    unregister_retention_check,
)
from insurdesk.compliance.selectors import pi_request_list
from insurdesk.compliance.services import (
    consent_record,
    consent_withdraw,
    pi_request_assign,
    pi_request_close,
    pi_request_due,
    pi_request_record,
)

pytestmark = pytest.mark.django_db


def test_a_clerk_records_a_consent_and_customer_service_records_its_withdrawal(person, make_user):
    c = person()
    clerk, cs = make_user("clerk"), make_user("cs")
    consent = consent_record(
        actor=clerk, customer_id=c.pk, purpose="marketing", channel="paper", evidence="TB-001"
    )
    assert consent.active and consent.recorded_by == clerk and consent.evidence == "TB-001"
    consent = consent_withdraw(actor=cs, consent_id=consent.pk, channel="phone")
    assert not consent.active and consent.withdrawn_by == cs and consent.withdrawn_channel == "phone"
    assert list(
        AuditEntry.objects.filter(target_id=str(c.pk), action__startswith="consent.").values_list(
            "action", flat=True
        )
    ) == ["consent.record", "consent.withdraw"]


def test_one_active_consent_per_purpose_and_a_new_one_after_withdrawal(person, make_user):
    c, clerk = person(), make_user("clerk")
    first = consent_record(actor=clerk, customer_id=c.pk, purpose="sensitive", channel="web")
    with pytest.raises(Duplicate):
        consent_record(actor=clerk, customer_id=c.pk, purpose="sensitive", channel="app")
    consent_withdraw(actor=clerk, consent_id=first.pk, channel="web")
    consent_record(actor=clerk, customer_id=c.pk, purpose="sensitive", channel="app")
    assert Consent.objects.filter(customer=c).count() == 2
    with pytest.raises(IllegalTransition):
        consent_withdraw(actor=clerk, consent_id=first.pk, channel="web")


def test_consent_input_is_checked(person, make_user):
    c, clerk = person(), make_user("clerk")
    for bad in ({"purpose": "x", "channel": "web"}, {"purpose": "marketing", "channel": "fax"}):
        with pytest.raises(ValidationFailed):
            consent_record(actor=clerk, customer_id=c.pk, **bad)
    with pytest.raises(ValidationFailed):
        consent_record(
            actor=clerk,
            customer_id=c.pk,
            purpose="marketing",
            channel="web",
            granted_at=timezone.now() + timedelta(days=1),
        )
    consent = consent_record(actor=clerk, customer_id=c.pk, purpose="marketing", channel="web")
    with pytest.raises(ValidationFailed):
        consent_withdraw(
            actor=clerk,
            consent_id=consent.pk,
            channel="web",
            withdrawn_at=consent.granted_at - timedelta(days=1),
        )


def test_roles_and_scope_for_consents(person, make_user):
    c = person(unit="GZ")
    with pytest.raises(NotAllowed):
        consent_record(
            actor=make_user("underwriter", "HQ"), customer_id=c.pk, purpose="marketing", channel="web"
        )
    with pytest.raises(NotFound):
        consent_record(actor=make_user("clerk", "SZ"), customer_id=c.pk, purpose="marketing", channel="web")


# --- personal-information requests ---


def test_the_due_date_is_fifteen_working_days_and_configurable(settings):
    assert pi_request_due(date(2026, 11, 20)) == date(2026, 12, 11)
    settings.INSURDESK_PI_REQUEST_WORKING_DAYS = 1
    settings.INSURDESK_HOLIDAYS = ["2026-11-23"]
    assert pi_request_due(date(2026, 11, 20)) == date(2026, 11, 24)


def test_a_copy_request_is_recorded_handled_and_answered(person, officer):
    c = person()
    received = timezone.localdate() - timedelta(days=3)
    request = pi_request_record(
        actor=officer,
        customer_id=c.pk,
        kind="access",
        channel="paper",
        received_on=received,
        description="申请复制投保资料",
    )
    assert request.state == RequestState.OPEN and request.handler == officer and request.due_on > received
    assert not request.retention_hold
    with pytest.raises(ValidationFailed):
        pi_request_close(actor=officer, request_id=request.pk, outcome="fulfilled")  # the answer is required
    request = pi_request_close(actor=officer, request_id=request.pk, outcome="fulfilled", note="已邮寄复印件")
    assert request.state == RequestState.CLOSED and request.closed_on == timezone.localdate()
    with pytest.raises(IllegalTransition):
        pi_request_close(actor=officer, request_id=request.pk, outcome="fulfilled", note="again")
    assert AuditEntry.objects.filter(action="pi_request.close", target_id=str(c.pk)).exists()


def test_a_deletion_while_the_aml_period_runs_is_answered_retained(person, officer):
    c = person()
    request = pi_request_record(actor=officer, customer_id=c.pk, kind="deletion", channel="phone")
    assert request.retention_hold and "第三十四条" in request.retention_basis
    with pytest.raises(ValidationFailed) as exc:
        pi_request_close(actor=officer, request_id=request.pk, outcome="fulfilled", note="已删除")
    assert exc.value.errors[0].code == "retention_period"
    request = pi_request_close(
        actor=officer, request_id=request.pk, outcome="retained", retention_ref="XH-2036-001"
    )
    assert request.outcome == RequestOutcome.RETAINED and "仅存储" in request.outcome_note
    assert request.retention_ref == "XH-2036-001"


def test_the_retention_developer_s_check_decides_when_registered(person, officer):
    c = person()

    def ended(customer):
        return RetentionStatus(holds=False, basis="业务关系结束已满十年")

    register_retention_check(ended)
    try:
        request = pi_request_record(actor=officer, customer_id=c.pk, kind="deletion", channel="web")
        assert not request.retention_hold
        request = pi_request_close(
            actor=officer, request_id=request.pk, outcome="fulfilled", note="已转销毁流程"
        )
    finally:
        unregister_retention_check(ended)
    assert request.outcome == "fulfilled"


def test_retained_is_only_for_deletions(person, officer):
    c = person()
    request = pi_request_record(actor=officer, customer_id=c.pk, kind="correction", channel="web")
    with pytest.raises(ValidationFailed):
        pi_request_close(actor=officer, request_id=request.pk, outcome="retained")


def test_assignment_overdue_list_and_scope(person, officer, make_user):
    c = person(unit="GZ")
    old = timezone.localdate() - timedelta(days=40)
    request = pi_request_record(
        actor=officer, customer_id=c.pk, kind="correction", channel="web", received_on=old
    )
    other = make_user("compliance", "HQ")
    assert pi_request_assign(actor=officer, request_id=request.pk, handler_id=other.pk).handler == other
    assert list(pi_request_list(viewer=officer, overdue=True)) == [request]
    assert pi_request_list(viewer=make_user("compliance", "SZ")).count() == 0
    with pytest.raises(NotAllowed):
        pi_request_record(actor=make_user("cs", "HQ"), customer_id=c.pk, kind="access", channel="web")
    with pytest.raises(ValidationFailed):
        pi_request_record(
            actor=officer,
            customer_id=c.pk,
            kind="access",
            channel="web",
            received_on=timezone.localdate() + timedelta(days=1),
        )
