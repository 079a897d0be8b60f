"""Random sequences of state changes against the policy's state machine (django-fsm, protected field)."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import IllegalTransition
from insurdesk.policies.models import Policy, PolicyState
from insurdesk.policies.services import TRANSITION_NAMES, policy_transition

P = PolicyState
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
