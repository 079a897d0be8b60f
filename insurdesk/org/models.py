"""Organisation units (总公司 → 省公司 → 分公司 → 支公司), users, roles and API tokens."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CLERK = "clerk", _("录入员")
    REVIEWER = "reviewer", _("复核员")
    AGENT = "agent", _("业务员")
    UNDERWRITER = "underwriter", _("核保员")
    SERVICE = "service", _("保全员")
    CLAIMS = "claims", _("理赔员")
    CS = "cs", _("客服")
    COMPLIANCE = "compliance", _("合规专员")
    MANAGER = "manager", _("机构负责人")
    ADMIN = "admin", _("系统管理员")


class UnitLevel(models.TextChoices):
    HEAD = "head", _("总公司")
    PROVINCE = "province", _("省公司")
    BRANCH = "branch", _("分公司")
    SUB = "sub", _("支公司/网点")


class OrgUnit(models.Model):
    code = models.CharField(_("机构代码"), max_length=20, unique=True)
    name = models.CharField(_("机构名称"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.CharField(_("层级"), max_length=10, choices=UnitLevel.choices, default=UnitLevel.SUB)
    # Materialised path "/1/5/9/" so a subtree is one indexed prefix query.
    path = models.CharField(max_length=255, db_index=True, editable=False)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class User(AbstractUser):
    unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("所属机构"),
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.CLERK)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_full_name(self) -> str:
        """Return the name as written in Chinese: surname then given name, no space ("林晓燕")."""
        return f"{self.last_name}{self.first_name}".strip()

    @property
    def effective_role(self) -> str:
        return Role.ADMIN if self.is_superuser else self.role

    def _get_session_auth_hash(self, secret=None):
        """Bind sessions to the password and the role: a change of either ends the user's other sessions.

        Django checks this hash on every request; the session that changed the password keeps itself
        with update_session_auth_hash. A locked (inactive) user's sessions already end: the backend
        refuses inactive users. API tokens are revoked by insurdesk.org.signals.
        """
        return salted_hmac(
            "insurdesk.org.User.session_auth_hash",
            f"{self.password}|{self.role}|{int(self.is_superuser)}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
