"""Home-page tiles of underwriting (核保): the manual, evidence and to-issue queues."""

from django.utils.translation import gettext_lazy as _

from insurdesk.org.workbench import Count, tile
from insurdesk.underwriting.selectors import QueueFilters, underwriting_queue


def _queue(name: str):
    def count(user) -> Count:
        return Count(underwriting_queue(viewer=user, filters=QueueFilters(queue=name)).count())

    return count


tile(
    "underwriting.manual",
    _("待人工核保"),
    roles={"underwriter", "manager"},
    url="underwriting:queue",
    query="?queue=manual",
    order=20,
)(_queue("manual"))
tile(
    "underwriting.mine",
    _("我的核保案件"),
    roles={"underwriter"},
    url="underwriting:queue",
    query="?queue=all&mine=on",
    order=21,
)(lambda user: Count(underwriting_queue(viewer=user, filters=QueueFilters(queue="all", mine=True)).count()))
tile(
    "underwriting.evidence",
    _("待补充资料"),
    roles={"underwriter"},
    url="underwriting:queue",
    query="?queue=evidence",
    order=22,
)(_queue("evidence"))
tile(
    "underwriting.accepted",
    _("核保通过待出单"),
    roles={"underwriter", "clerk"},
    url="underwriting:queue",
    query="?queue=accepted",
    order=23,
)(_queue("accepted"))
