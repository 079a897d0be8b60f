"""Random sequences of underwriting actions against the case's state machine.

Each legal action moves the case and its application as the table says; each illegal one raises
IllegalTransition and leaves both states, the decision log and the audit log exactly as they were.
"""

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurdesk.applications.models import State as AppState
from insurdesk.audit.models import AuditEntry
from insurdesk.common.errors import IllegalTransition
from insurdesk.underwriting.models import CaseState, Decision, UnderwritingCase
from insurdesk.underwriting.services import underwriting_decide, underwriting_open

PAYLOADS = {
    "standard": {},
    "rated": {"extra_premium": "800.00", "reasons": "加费"},
    "exclusion": {"exclusion": "既往症除外", "reasons": "除外"},
    "postpone": {"reasons": "延期"},
    "decline": {"reasons": "拒保"},
    "request_evidence": {"evidence_kind": "medical", "evidence": "体检", "reasons": "需体检"},
    "evidence_received": {},
}
# case state → decision → next case state (anything missing is illegal)
TABLE = {
    CaseState.REFERRED: {
        "standard": CaseState.ACCEPTED,
        "rated": CaseState.ACCEPTED,
        "exclusion": CaseState.ACCEPTED,
        "postpone": CaseState.POSTPONED,
        "decline": CaseState.DECLINED,
        "request_evidence": CaseState.EVIDENCE,
    },
    CaseState.EVIDENCE: {"evidence_received": CaseState.REFERRED},
}
APP_STATE = {
    CaseState.REFERRED: AppState.UNDERWRITING,
    CaseState.EVIDENCE: AppState.EVIDENCE,
    CaseState.ACCEPTED: AppState.ACCEPTED,
    CaseState.POSTPONED: AppState.POSTPONED,
    CaseState.DECLINED: AppState.DECLINED,
}


class _Rollback(Exception):
    pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(sorted(PAYLOADS)), min_size=1, max_size=8))
def test_random_action_sequences_follow_the_table(nb, submitted, actions):
    try:
        with transaction.atomic():
            app = submitted(health_disclosure=True, health_details="高血压")
            underwriting_open(actor=None, application_id=app.pk)
            expected = CaseState.REFERRED
            for action in actions:
                before = (Decision.objects.count(), AuditEntry.objects.count())
                nxt = TABLE.get(expected, {}).get(action)
                if nxt is None:
                    try:
                        with transaction.atomic():
                            underwriting_decide(
                                actor=nb.underwriter,
                                application_id=app.pk,
                                decision=action,
                                **PAYLOADS[action],
                            )
                    except IllegalTransition as exc:
                        assert exc.errors[0].message
                    else:
                        raise AssertionError(f"{action} from {expected} should be refused")
                    assert (Decision.objects.count(), AuditEntry.objects.count()) == before
                else:
                    underwriting_decide(
                        actor=nb.underwriter, application_id=app.pk, decision=action, **PAYLOADS[action]
                    )
                    expected = nxt
                    assert Decision.objects.count() == before[0] + 1
                case = UnderwritingCase.objects.select_related("application").get(application_id=app.pk)
                assert case.state == expected
                assert case.application.state == APP_STATE[expected]
            raise _Rollback
    except _Rollback:
        pass


def test_the_state_field_cannot_be_assigned_directly(nb, submitted):
    import pytest

    app = submitted(health_disclosure=True, health_details="高血压")
    case = underwriting_open(actor=None, application_id=app.pk)
    with pytest.raises(AttributeError):
        case.state = CaseState.ACCEPTED
