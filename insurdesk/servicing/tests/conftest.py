"""Fixtures of the servicing tests: those of underwriting, issued and paid policies, a request helper."""

import datetime

import pytest

from insurdesk.underwriting.tests.fixtures import _fast_passwords, nb, submitted  # noqa: F401


@pytest.fixture
def in_force(nb, submitted):  # noqa: F811 (the fixtures imported above)
    """in_force(**overrides) -> the husband's policy on his wife (L101 + R201), first premium paid."""
    from insurdesk.policies.services import payment_record, policy_issue
    from insurdesk.underwriting.services import underwriting_open

    def make(**overrides):
        app = submitted(**overrides)
        underwriting_open(actor=None, application_id=app.pk)
        policy = policy_issue(actor=nb.clerk, application_id=app.pk)
        due = policy.instalments.get(seq=1)
        payment_record(
            actor=nb.clerk,
            policy_id=policy.pk,
            amount=due.amount,
            method="transfer",
            paid_on=policy.issue_date,
        )
        policy.refresh_from_db()
        return policy

    return make


@pytest.fixture
def later():
    """later(policy, days) -> the policy's effective date plus `days`."""

    def at(policy, days: int) -> datetime.date:
        return policy.effective_date + datetime.timedelta(days=days)

    return at
