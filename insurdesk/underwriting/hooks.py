"""Start underwriting when an application is submitted (提交核保), after the submission commits.

The applications app cannot call underwriting (layers point one way), so the case is opened from
django-fsm's post_transition signal — as an on-commit job, never inside the submitter's transaction.
"""

import logging

from django.db import transaction
from django_fsm.signals import post_transition

from insurdesk.common.errors import DomainError

log = logging.getLogger(__name__)


def _on_application_transition(sender, instance, name, **kwargs):
    if name != "submit":
        return
    application_id = instance.pk

    def run():
        from insurdesk.underwriting.services import underwriting_open

        try:
            underwriting_open(actor=None, application_id=application_id)
        except DomainError as exc:  # the case stays for an underwriter to open by hand
            log.warning("underwriting of application %s not started: %s", application_id, exc)

    transaction.on_commit(run)


def connect() -> None:
    from insurdesk.applications.models import Application

    post_transition.connect(
        _on_application_transition, sender=Application, dispatch_uid="underwriting.open_on_submit"
    )
