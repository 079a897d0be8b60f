"""Retention reads the real policies and payments: a running policy keeps the relationship open.

Lifecycle finds the policies app through the app registry (never imports it); these tests use the
policies' own fixtures, so a renamed field shows up here and in the system check lifecycle.E001.
"""

import datetime

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from insurdesk.customers.models import Customer
from insurdesk.lifecycle.relationship import source_problems
from insurdesk.lifecycle.rules import add_years
from insurdesk.lifecycle.selectors import due_customers, retention_status
from insurdesk.underwriting.tests import fixtures as underwriting_fixtures

pytestmark = pytest.mark.django_db

# New business's own fixtures: a married couple in 深圳 and their submitted application.
nb = underwriting_fixtures.nb
submitted = underwriting_fixtures.submitted
_fast_passwords = underwriting_fixtures._fast_passwords


@pytest.fixture
def issued(nb, submitted):
    """issued() -> a policy the husband holds on his wife, issued through the services."""
    from insurdesk.policies.services import policy_issue
    from insurdesk.underwriting.services import underwriting_open

    def make():
        application = submitted()
        underwriting_open(actor=None, application_id=application.pk)
        return policy_issue(actor=nb.clerk, application_id=application.pk)

    return make


def _long_ago(policy, years: int) -> None:
    """Move a policy, its application and both parties `years` into the past, the policy ended then."""
    Policy = apps.get_model("policies", "Policy")
    Application = apps.get_model("applications", "Application")
    ended = add_years(timezone.localdate(), -years)
    Policy.objects.filter(pk=policy.pk).update(
        effective_date=add_years(ended, -5), expiry_date=ended, terminated_on=ended
    )
    past = timezone.now() - datetime.timedelta(days=366 * (years + 1))
    Application.objects.filter(pk=policy.application_id).update(updated_at=past)
    Customer.objects.filter(pk__in=[policy.policyholder_id, policy.insured_id]).update(updated_at=past)


def test_the_installed_apps_have_every_field_retention_reads():
    assert source_problems() == []
    call_command("check")


def test_a_running_policy_keeps_both_parties_archives(issued, nb):
    policy = issued()
    for customer in (nb.husband, nb.wife):
        customer.refresh_from_db()
        status = retention_status(customer=customer)
        assert not status.due and status.facts.open_contracts == [f"保单 {policy.policy_no}"]
        assert "尚未结束" in status.refusal() and policy.policy_no in status.refusal()


def test_a_policy_that_ended_eleven_years_ago_lets_the_archive_go(issued, nb):
    policy = issued()
    _long_ago(policy, years=11)
    nb.husband.refresh_from_db()
    status = retention_status(customer=nb.husband)
    assert status.facts.ended_on == add_years(timezone.localdate(), -11) and status.due
    qs, _ = due_customers(viewer=nb.compliance)
    assert {nb.husband.pk, nb.wife.pk} <= set(qs.values_list("pk", flat=True))


def test_a_later_payment_extends_the_transaction_rule(issued, nb):
    policy = issued()
    _long_ago(policy, years=11)
    Payment = apps.get_model("policies", "Payment")
    paid = add_years(timezone.localdate(), -3)
    Payment.objects.create(
        policy_id=policy.pk,
        method=Payment._meta.get_field("method").choices[0][0],
        amount=100,
        paid_on=paid,
        unit_id=policy.unit_id,
    )
    nb.husband.refresh_from_db()
    status = retention_status(customer=nb.husband)
    assert not status.due and status.binding.rule.code in ("aml_identity", "aml_transaction")
    assert status.facts.last_transaction == paid
    assert status.ends_on == add_years(paid, 10) and "第三十四条" in status.refusal()
    qs, _ = due_customers(viewer=nb.compliance)
    assert nb.husband.pk not in set(qs.values_list("pk", flat=True))
