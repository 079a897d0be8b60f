"""Home-page tiles of customer care (客户服务): contacts waiting for a follow-up."""

from django.utils.translation import gettext_lazy as _

from insurdesk.care.selectors import contact_scope
from insurdesk.org.workbench import Count, tile


@tile(
    "care.follow_up",
    _("待跟进沟通"),
    roles={"cs", "agent", "service"},
    url="care:contacts",
    query="?follow_up=1",
    order=45,
)
def _follow_up(user) -> Count:
    return Count(contact_scope(user).filter(follow_up=True).count())
