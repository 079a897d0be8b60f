"""AML work queues, the new-business block, and transaction flags."""

from datetime import timedelta

import pytest
from django.utils import timezone

from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from insurdesk.compliance.models import FlagState, TransactionFlag
from insurdesk.compliance.selectors import aml_queue, customer_blocked_for_new_business, dashboard, flag_list
from insurdesk.compliance.services import aml_review_record, transaction_flag_raise, transaction_flag_review
from insurdesk.compliance.tests.conftest import OWNER
from insurdesk.customers.models import Customer
from insurdesk.customers.services import customer_update

pytestmark = pytest.mark.django_db


def ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def test_expired_documents_queue_and_long_term_documents(person, company, officer):
    today = timezone.localdate()
    expired = person(id_valid_to=today - timedelta(days=1))
    long_term = person(id_long_term=True)
    valid = person(id_valid_to=today)
    licence = company(owners=[OWNER], licence_valid_to=today - timedelta(days=30))
    queue = ids(aml_queue(viewer=officer, name="expired_ids"))
    assert queue == {expired.pk, licence.pk}
    assert long_term.pk not in queue and valid.pk not in queue


def test_an_expired_document_is_named_as_blocking_new_business(person, company, settings):
    # The predicate; that it really blocks entry, underwriting and issue:
    # tests/test_expired_identity_blocks_new_business.py
    today = timezone.localdate()
    expired = person(id_valid_to=today - timedelta(days=1))
    assert "过期" in customer_blocked_for_new_business(expired)
    assert customer_blocked_for_new_business(person(id_valid_to=today)) is None
    assert customer_blocked_for_new_business(person(id_long_term=True)) is None
    assert "营业执照" in customer_blocked_for_new_business(
        company(licence_valid_to=today - timedelta(days=1))
    )
    settings.INSURDESK_AML_ID_GRACE_DAYS = 30
    assert customer_blocked_for_new_business(expired) is None


def test_companies_without_current_beneficial_owners(company, officer):
    today = timezone.localdate()
    none = company()
    ended = company(owners=[{**OWNER, "until": today - timedelta(days=1)}])
    current = company(owners=[OWNER])
    assert ids(aml_queue(viewer=officer, name="missing_bo")) == {none.pk, ended.pk}
    assert current.pk not in ids(aml_queue(viewer=officer, name="missing_bo"))


def test_high_risk_customers_without_a_review_in_time(person, officer):
    never, recent, stale = person(), person(), person()
    for c in (never, recent, stale):
        customer_update(actor=None, customer_id=c.pk, data={"aml_risk": "high"})
    aml_review_record(actor=officer, customer_id=recent.pk, conclusion="maintain")
    customer_update(
        actor=None, customer_id=stale.pk, data={"aml_last_review": timezone.localdate() - timedelta(days=400)}
    )
    assert ids(aml_queue(viewer=officer, name="high_risk_unreviewed")) == {never.pk, stale.pk}


def test_reviews_due_within_the_window(person, officer):
    today = timezone.localdate()
    soon, later, past = person(), person(), person()
    customer_update(actor=None, customer_id=soon.pk, data={"aml_next_review": today + timedelta(days=10)})
    customer_update(actor=None, customer_id=later.pk, data={"aml_next_review": today + timedelta(days=90)})
    customer_update(actor=None, customer_id=past.pk, data={"aml_next_review": today - timedelta(days=1)})
    assert list(aml_queue(viewer=officer, name="reviews_due").values_list("pk", flat=True)) == [
        past.pk,
        soon.pk,
    ]
    assert later.pk in ids(aml_queue(viewer=officer, name="reviews_due", window=120))


def test_queues_are_cut_to_the_viewer_s_units(person, make_user):
    gz = person(unit="GZ", pep=True, id_valid_to=timezone.localdate() - timedelta(days=1))
    sz = person(unit="NS", id_valid_to=timezone.localdate() - timedelta(days=1))
    assert ids(aml_queue(viewer=make_user("compliance", "SZ"), name="expired_ids")) == {sz.pk}
    assert ids(aml_queue(viewer=make_user("compliance", "GD"), name="expired_ids")) == {sz.pk, gz.pk}
    assert not aml_queue(viewer=make_user("compliance", "SZ"), name="nonsense").exists()


def test_the_dashboard_counts(person, officer):
    person(id_valid_to=timezone.localdate() - timedelta(days=1))
    counts = dashboard(viewer=officer)
    assert dict((n, c) for n, _, c in counts["queues"])["expired_ids"] == 1
    assert counts["flags_open"] == counts["tasks_open"] == counts["requests_open"] == 0


# --- transaction flags ---


def test_another_app_raises_a_flag_once_per_reference(person, make_user):
    c, clerk = person(), make_user("clerk")
    flag, created = transaction_flag_raise(
        actor=clerk,
        customer_id=c.pk,
        kind="large_cash",
        amount="25000.00",
        reason="现金缴费达到识别标准",
        reference="BD0001-1",
        source="policies",
    )
    again, created_again = transaction_flag_raise(
        actor=clerk,
        customer_id=c.pk,
        kind="large_cash",
        amount="25000",
        reason="重试",
        reference="BD0001-1",
        source="policies",
    )
    assert created and not created_again and again.pk == flag.pk
    assert flag.state == FlagState.OPEN and flag.raised_by == clerk
    assert AuditEntry.objects.filter(action="aml.flag_raise").count() == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "x"},
        {"reason": ""},
        {"amount": "-1"},
        {"amount": "1.234"},
        {"amount": "abc"},
        {"reference": "x" * 61},
    ],
)
def test_flag_input_is_checked(person, bad):
    c = person()
    data = {"kind": "other", "reason": "异常", **bad}
    with pytest.raises(ValidationFailed):
        transaction_flag_raise(actor=None, customer_id=c.pk, **data)


def test_a_flag_for_no_customer_is_refused():
    with pytest.raises(NotFound):
        transaction_flag_raise(actor=None, customer_id=999999, kind="other", reason="x")


def test_reporting_a_flag_rates_the_customer_high(person, officer):
    c = person()
    flag, _ = transaction_flag_raise(actor=None, customer_id=c.pk, kind="other", reason="频繁大额退保")
    flag = transaction_flag_review(
        actor=officer, flag_id=flag.pk, decision="report", note="已报送反洗钱监测中心"
    )
    assert flag.state == FlagState.REPORTED and flag.reviewer == officer
    assert Customer.objects.get(pk=c.pk).aml_risk == "high"
    with pytest.raises(IllegalTransition):
        transaction_flag_review(actor=officer, flag_id=flag.pk, decision="dismiss", note="x")


def test_dismissing_needs_a_reason_and_the_role_and_scope_are_checked(person, officer, make_user):
    c = person(unit="GZ")
    flag, _ = transaction_flag_raise(actor=None, customer_id=c.pk, kind="other", reason="x")
    with pytest.raises(ValidationFailed):
        transaction_flag_review(actor=officer, flag_id=flag.pk, decision="dismiss")
    with pytest.raises(NotAllowed):
        transaction_flag_review(
            actor=make_user("service", "HQ"), flag_id=flag.pk, decision="dismiss", note="x"
        )
    with pytest.raises(NotFound):
        transaction_flag_review(
            actor=make_user("compliance", "SZ"), flag_id=flag.pk, decision="dismiss", note="x"
        )
    assert flag_list(viewer=make_user("compliance", "SZ")).count() == 0
    assert list(flag_list(viewer=officer, state="open")) == [TransactionFlag.objects.get()]
