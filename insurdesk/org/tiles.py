"""Home-page tiles of administration (系统): locked accounts, second factors still to bind."""

from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from insurdesk.org.models import User
from insurdesk.org.policy import SECOND_FACTOR_ROLES
from insurdesk.org.workbench import Count, tile


@tile("org.locked", _("已锁定用户"), roles={"admin"}, url="system:users", query="?state=locked", order=90)
def _locked(user) -> Count:
    return Count(User.objects.filter(is_active=False).count())


@tile("org.no_second_factor", _("未绑定动态口令"), roles={"admin"}, url="system:users", order=91)
def _unbound(user) -> Count:
    bound = TOTPDevice.objects.filter(confirmed=True).values("user_id")
    qs = User.objects.filter(is_active=True, role__in=SECOND_FACTOR_ROLES).exclude(pk__in=bound)
    return Count(qs.count())
