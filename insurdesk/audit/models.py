"""The tamper-evident log (档案使用记录): append-only entries chained by SHA-256."""

from django.db import models


class AuditEntry(models.Model):
    # Own gap-free sequence: a database sequence leaves gaps on rollback, which would hide removals.
    seq = models.BigIntegerField("序号", unique=True)
    at = models.DateTimeField("时间", db_index=True)
    actor_id = models.BigIntegerField("操作人ID", null=True, blank=True, db_index=True)
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    action = models.CharField("动作", max_length=50, db_index=True)
    target_type = models.CharField("对象类型", max_length=50, blank=True)
    target_id = models.CharField("对象ID", max_length=64, blank=True)
    detail = models.JSONField("详情", default=dict, blank=True)
    ip = models.GenericIPAddressField("地址", null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "使用记录"
        verbose_name_plural = "使用记录"
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"


class AuditHead(models.Model):
    """One row: the last sequence number and hash, locked while an entry is appended."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    # HMAC-SHA256 of seq and hash under INSURDESK_AUDIT_KEY (never in the database): whoever cuts the
    # log's tail and moves the head back cannot sign the new head (docs/security.md, audit chain).
    mac = models.CharField(max_length=64, default="")

    class Meta:
        verbose_name = "记录链头"

    def __str__(self) -> str:
        return f"head #{self.seq}"
