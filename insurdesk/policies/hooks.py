"""Issue the policy as soon as underwriting accepts (承保出单), after the acceptance commits.

Underwriting cannot call policies (layers point one way), so issuing is started from django-fsm's
post_transition signal as an on-commit job. A refusal (a sales recording still to be checked, say)
leaves the accepted application on the "核保通过待出单" list for a clerk to issue later.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django_fsm.signals import post_transition

from insurdesk.common.errors import DomainError

log = logging.getLogger(__name__)


def _on_case_transition(sender, instance, name, **kwargs):
    if name not in ("accept", "auto_accept"):
        return
    application_id = instance.application_id

    def run():
        from insurdesk.policies.services import policy_issue

        try:
            # decided_by is set after the transition fires, so it is read when the job runs
            policy_issue(actor=instance.decided_by, application_id=application_id)
        except DomainError as exc:
            log.info("application %s accepted but not issued yet: %s", application_id, exc)

    transaction.on_commit(run)


def issued_exposure(customer_id: int):
    """Return the sums insured of the person on issued policies that have not ended (for 累计保额)."""
    from insurdesk.policies.models import PolicyLine, PolicyState
    from insurdesk.underwriting.exposure import Exposure

    live = (PolicyState.PENDING, PolicyState.IN_FORCE, PolicyState.REINSTATED, PolicyState.LAPSED)
    agg = PolicyLine.objects.filter(policy__insured_id=customer_id, policy__state__in=live).aggregate(
        total=Sum("sum_insured"), death=Sum("sum_insured", filter=Q(death_cover=True))
    )
    return Exposure(agg["total"] or Decimal("0"), agg["death"] or Decimal("0"))


def connect() -> None:
    from insurdesk.underwriting import exposure
    from insurdesk.underwriting.models import UnderwritingCase

    post_transition.connect(
        _on_case_transition, sender=UnderwritingCase, dispatch_uid="policies.issue_on_accept"
    )
    exposure.register(issued_exposure)
