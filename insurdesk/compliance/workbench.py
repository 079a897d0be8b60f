"""Home-page tiles of compliance (合规): AML queues, rectification tasks, flags, PI requests."""

from django.utils.translation import gettext_lazy as _

from insurdesk.compliance.models import FlagState, RequestState
from insurdesk.compliance.selectors import (
    QUEUES,
    TaskFilters,
    aml_queue,
    flag_list,
    pi_request_list,
    task_list,
)
from insurdesk.org.workbench import Count, tile

ROLES = {"compliance"}


@tile("compliance.tasks", _("整改任务"), roles=ROLES | {"manager"}, url="compliance:tasks", order=60)
def _tasks(user) -> Count:
    late = task_list(viewer=user, filters=TaskFilters(overdue=True)).count()
    n = task_list(viewer=user, filters=TaskFilters(state="open_all")).count()
    return Count(n, overdue=late, overdue_query="?state=open_all&overdue=on")


@tile("compliance.flags", _("待审大额与可疑交易"), roles=ROLES, url="compliance:flags", order=61)
def _flags(user) -> Count:
    return Count(flag_list(viewer=user, state=FlagState.OPEN).count())


@tile("compliance.pi_requests", _("个人信息请求"), roles=ROLES, url="compliance:pi_requests", order=62)
def _requests(user) -> Count:
    n = pi_request_list(viewer=user, state=RequestState.OPEN).count()
    late = pi_request_list(viewer=user, overdue=True).count()
    return Count(n, overdue=late, overdue_query="?state=open&overdue=on")


def _aml(name: str):
    def count(user) -> Count:
        return Count(aml_queue(viewer=user, name=name).count())

    return count


for _order, _name in enumerate(QUEUES):
    tile(
        f"compliance.queue.{_name}",
        QUEUES[_name][0],
        roles=ROLES,
        url="compliance:queue",
        kwargs={"name": _name},
        order=63 + _order,
    )(_aml(_name))
