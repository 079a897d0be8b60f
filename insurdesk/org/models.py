"""Organisation units (总公司 → 省公司 → 分公司 → 支公司), users, roles and API tokens."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    CLERK = "clerk", "录入员"
    REVIEWER = "reviewer", "复核员"
    AGENT = "agent", "业务员"
    UNDERWRITER = "underwriter", "核保员"
    SERVICE = "service", "保全员"
    CLAIMS = "claims", "理赔员"
    CS = "cs", "客服"
    COMPLIANCE = "compliance", "合规专员"
    MANAGER = "manager", "机构负责人"
    ADMIN = "admin", "系统管理员"


class UnitLevel(models.TextChoices):
    HEAD = "head", "总公司"
    PROVINCE = "province", "省公司"
    BRANCH = "branch", "分公司"
    SUB = "sub", "支公司/网点"


class OrgUnit(models.Model):
    code = models.CharField("机构代码", max_length=20, unique=True)
    name = models.CharField("机构名称", max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.CharField("层级", max_length=10, choices=UnitLevel.choices, default=UnitLevel.SUB)
    # Materialised path "/1/5/9/" so a subtree is one indexed prefix query.
    path = models.CharField(max_length=255, db_index=True, editable=False)

    class Meta:
        verbose_name = "机构"
        verbose_name_plural = "机构"
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
        verbose_name="所属机构",
    )
    role = models.CharField("角色", max_length=20, choices=Role.choices, default=Role.CLERK)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        # Chinese order: surname then given name, no space (get_full_name gives "志强 陈").
        return f"{self.last_name}{self.first_name}".strip() or self.username

    @property
    def effective_role(self) -> str:
        return Role.ADMIN if self.is_superuser else self.role


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
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
