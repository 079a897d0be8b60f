"""Home-page tiles of new business (新契约): the entry, second-entry and problem queues."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insurdesk.applications.models import State
from insurdesk.applications.selectors import application_queue, application_scope, problem_list
from insurdesk.org.workbench import Count, tile

# A problem item open longer than this is overdue (the desk's own service level, docs/design/new-business.md).
PROBLEM_DAYS = 2


@tile(
    "applications.entered",
    _("待提交核保"),
    roles={"clerk", "reviewer"},
    url="applications:list",
    query="?state=entered",
    order=10,
)
def _entered(user) -> Count:
    return Count(application_queue(viewer=user, name="entered").count())


@tile(
    "applications.second_entry",
    _("待二次录入"),
    roles={"clerk", "reviewer"},
    url="applications:list",
    query="?state=second_entry",
    order=11,
)
def _second_entry(user) -> Count:
    return Count(application_queue(viewer=user, name="second_entry").count())


@tile(
    "applications.problems", _("问题件"), roles={"clerk", "reviewer"}, url="applications:problems", order=12
)
def _problems(user) -> Count:
    qs = problem_list(viewer=user, open_only=True)
    late = timezone.now() - timedelta(days=PROBLEM_DAYS)
    return Count(qs.count(), overdue=qs.filter(created_at__lt=late).count())


@tile("applications.in_progress", _("在途投保单"), roles={"manager"}, url="applications:queues", order=50)
def _in_progress(user) -> Count:
    open_states = (
        State.SECOND_ENTRY,
        State.PROBLEMS,
        State.ENTERED,
        State.UNDERWRITING,
        State.EVIDENCE,
        State.ACCEPTED,
    )
    return Count(application_scope(user).filter(state__in=open_states).count())
