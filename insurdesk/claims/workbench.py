"""Home-page tiles of claims (理赔): reported and in-review cases."""

from django.utils.translation import gettext_lazy as _

from insurdesk.claims.models import ClaimState
from insurdesk.claims.selectors import claim_scope
from insurdesk.org.workbench import Count, tile


@tile(
    "claims.reported",
    _("新报案"),
    roles={"claims", "manager"},
    url="claims:list",
    query="?state=reported",
    order=40,
)
def _reported(user) -> Count:
    return Count(claim_scope(user).filter(state=ClaimState.REPORTED).count())


@tile(
    "claims.reviewing",
    _("理赔审核中"),
    roles={"claims"},
    url="claims:list",
    query="?state=reviewing",
    order=41,
)
def _reviewing(user) -> Count:
    return Count(claim_scope(user).filter(state=ClaimState.REVIEWING).count())
