"""`insurdesk policies lapse-check` and `mature-check`."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from insurdesk.policies import calculations as calc
from insurdesk.policies.models import Instalment, PolicyState
from insurdesk.policies.services import payment_record


def run(*args) -> str:
    out = StringIO()
    call_command("policies", *args, stdout=out)
    return out.getvalue()


def test_lapse_check_reports_overdue_premiums_and_lapsed_policies(nb, issued):
    policy = issued()
    payment_record(
        actor=nb.clerk, policy_id=policy.pk, amount="15000", method="transfer", paid_on=timezone.localdate()
    )
    due = Instalment.objects.get(policy=policy, seq=2).due_date
    assert "1 premiums marked overdue, 0 policies lapsed" in run(
        "lapse-check", "--today", (due + datetime.timedelta(days=1)).isoformat()
    )
    out = run("lapse-check", "--today", calc.lapse_date(due, 60).isoformat())
    assert f"lapsed {policy.policy_no}" in out
    policy.refresh_from_db()
    assert policy.state == PolicyState.LAPSED


def test_mature_check_and_a_bad_date(nb, issued):
    assert "0 policies matured" in run("mature-check")
    with pytest.raises(CommandError):
        run("lapse-check", "--today", "2026-02-30")
