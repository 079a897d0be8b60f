"""Home-page tiles of policies and premiums (保单与缴费): premiums due, overdue, policies in force."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insurdesk.org.workbench import Count, tile
from insurdesk.policies.models import InstalmentStatus, PolicyState
from insurdesk.policies.selectors import DueFilters, due_list, policy_scope


@tile(
    "policies.due",
    _("应缴保费"),
    roles={"agent", "service", "clerk", "manager"},
    url="policies:due",
    order=30,
)
def _due(user) -> Count:
    today = timezone.localdate()
    overdue = due_list(viewer=user, filters=DueFilters(status=InstalmentStatus.OVERDUE, today=today))
    return Count(due_list(viewer=user).count(), overdue=overdue.count(), overdue_query="?status=overdue")


@tile(
    "policies.in_force",
    _("有效保单"),
    roles={"agent", "manager"},
    url="policies:list",
    query="?state=in_force",
    order=51,
)
def _in_force(user) -> Count:
    return Count(policy_scope(user).filter(state=PolicyState.IN_FORCE).count())


@tile(
    "policies.lapsed",
    _("失效保单"),
    roles={"service", "manager"},
    url="policies:list",
    query="?state=lapsed",
    order=52,
)
def _lapsed(user) -> Count:
    return Count(policy_scope(user).filter(state=PolicyState.LAPSED).count())
