"""Random sequences of state changes against the policy's state machine (django-fsm, protected field)."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import DomainError, IllegalTransition
from insurdesk.policies.models import (
    COVERING_STATES,
    OPEN_INSTALMENT,
    PAYABLE_STATES,
    Instalment,
    Payment,
    Policy,
    PolicyState,
)
from insurdesk.policies.services import (
    TRANSITION_NAMES,
    payment_record,
    policy_cancel,
    policy_reinstate,
    policy_transition,
)

P = PolicyState
TODAY = timezone.localdate()
# state → transition → next state (anything missing is illegal)
TABLE = {
    P.PENDING: {"activate": P.IN_FORCE, "cancel": P.CANCELLED},
    P.IN_FORCE: {
        "lapse": P.LAPSED,
        "surrender": P.SURRENDERED,
        "mature": P.MATURED,
        "terminate_by_claim": P.CLAIM_TERMINATED,
        "cancel": P.CANCELLED,
    },
    P.LAPSED: {
        "reinstate": P.REINSTATED,
        "surrender": P.SURRENDERED,
        "terminate_by_claim": P.CLAIM_TERMINATED,
    },
    P.REINSTATED: {
        "lapse": P.LAPSED,
        "surrender": P.SURRENDERED,
        "mature": P.MATURED,
        "terminate_by_claim": P.CLAIM_TERMINATED,
    },
}


class _Rollback(Exception):
    pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(TRANSITION_NAMES + ("unknown",)), min_size=1, max_size=10))
def test_random_state_changes_follow_the_table(nb, issued, actions):
    try:
        with transaction.atomic():
            policy = issued()
            expected = P.PENDING
            for action in actions:
                before = AuditEntry.objects.count()
                nxt = TABLE.get(expected, {}).get(action)
                if nxt is None:
                    with pytest.raises(IllegalTransition), transaction.atomic():
                        policy_transition(actor=nb.service, policy_id=policy.pk, name=action)
                    assert AuditEntry.objects.count() == before
                else:
                    policy_transition(actor=nb.service, policy_id=policy.pk, name=action)
                    expected = nxt
                    assert AuditEntry.objects.count() == before + 1
                assert Policy.objects.get(pk=policy.pk).state == expected
            raise _Rollback
    except _Rollback:
        pass


def test_the_state_field_cannot_be_assigned_directly(nb, issued):
    policy = issued()
    with pytest.raises(AttributeError):
        policy.state = P.IN_FORCE
    policy.refresh_from_db()  # the protected field still reloads
    assert policy.state == P.PENDING


# ------------------------------------------------------------------ the services that move a policy


def _snapshot(policy_id: int) -> tuple:
    policy = Policy.objects.get(pk=policy_id)
    return (
        policy.state,
        policy.paid_to,
        tuple(Instalment.objects.filter(policy_id=policy_id).values_list("seq", "status", "paid_amount")),
        tuple(Payment.objects.filter(policy_id=policy_id).values_list("kind", "amount")),
        AuditEntry.objects.count(),
    )


def _premiums_paid(policy_id: int) -> Decimal:
    return Payment.objects.filter(policy_id=policy_id, kind="premium").aggregate(s=Sum("amount"))["s"] or 0


PART_PAYMENT = Decimal("100.00")
SERVICE_ACTIONS = ("pay", "part_pay", "cancel", "lapse", "reinstate", "surrender")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(SERVICE_ACTIONS), min_size=1, max_size=10))
def test_random_payments_cancellations_lapses_and_reinstatements_keep_the_premiums_in_step(
    nb, issued, actions
):
    """Premiums paid, refunded and open always agree with the policy's state; a refusal changes nothing."""
    try:
        with transaction.atomic():
            policy = issued()
            expected = P.PENDING
            for action in actions:
                before = _snapshot(policy.pk)
                open_one = (
                    Instalment.objects.filter(policy=policy, status__in=OPEN_INSTALMENT)
                    .order_by("seq")
                    .first()
                )
                legal = {
                    "pay": expected in PAYABLE_STATES,
                    "part_pay": expected in PAYABLE_STATES,
                    "cancel": expected in (P.PENDING, P.IN_FORCE),
                    "lapse": expected in COVERING_STATES,
                    "reinstate": expected == P.LAPSED,
                    "surrender": expected in (*COVERING_STATES, P.LAPSED),
                }[action]
                try:
                    with transaction.atomic():
                        if action in ("pay", "part_pay"):
                            amount = open_one.outstanding if open_one and action == "pay" else PART_PAYMENT
                            payment_record(
                                actor=nb.clerk,
                                policy_id=policy.pk,
                                amount=amount,
                                method="transfer",
                                paid_on=TODAY,
                            )
                        elif action == "cancel":
                            paid = _premiums_paid(policy.pk)
                            _, refund = policy_cancel(actor=nb.service, policy_id=policy.pk, reason="撤单")
                            assert (refund.amount if refund else 0) == paid  # the premium paid comes back
                        elif action == "reinstate":
                            policy_reinstate(actor=nb.service, policy_id=policy.pk)
                        else:
                            policy_transition(actor=nb.service, policy_id=policy.pk, name=action)
                except DomainError as exc:
                    assert not legal, (action, expected, exc.errors)
                    assert exc.errors[0].message
                    assert _snapshot(policy.pk) == before
                    continue
                assert legal, (action, expected)
                assert AuditEntry.objects.count() == before[-1] + 1
                if action == "pay" and expected == P.PENDING:
                    expected = P.IN_FORCE
                elif action in ("cancel", "lapse", "reinstate", "surrender"):
                    expected = {
                        "cancel": P.CANCELLED,
                        "lapse": P.LAPSED,
                        "reinstate": P.REINSTATED,
                        "surrender": P.SURRENDERED,
                    }[action]
                now = Policy.objects.get(pk=policy.pk)
                assert now.state == expected
                open_count = Instalment.objects.filter(policy=policy, status__in=OPEN_INSTALMENT).count()
                assert open_count == (1 if expected in PAYABLE_STATES else 0)
                paid_in = Instalment.objects.filter(policy=policy).aggregate(s=Sum("paid_amount"))["s"]
                assert paid_in == _premiums_paid(policy.pk)
            raise _Rollback
    except _Rollback:
        pass
