from django.conf import settings
from django.db import models

from insurdesk.common.fields import EncryptedTextField


class Scope(models.TextChoices):
    IDS = "ids", "仅编号与状态"
    PERSONAL = "personal", "含个人信息"


class Subscription(models.Model):
    """Another system's URL that receives the events it chose, as signed JSON POSTs."""

    url = models.URLField("接收地址", max_length=500)
    events = models.JSONField("事件", default=list)
    # The HMAC key the receiver checks signatures with: stored encrypted, never shown again.
    secret = EncryptedTextField("签名密钥", max_length=200)
    scope = models.CharField("数据范围", max_length=10, choices=Scope.choices, default=Scope.IDS)
    active = models.BooleanField("启用", default=True)
    description = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "Webhook 订阅"
        verbose_name_plural = "Webhook 订阅"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    RETRYING = "retrying", "等待重试"
    DELIVERED = "delivered", "已送达"
    FAILED = "failed", "失败"


class Delivery(models.Model):
    """One event for one subscription: the body as sent, every attempt's outcome, replayable."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField("事件", max_length=40)
    event_id = models.UUIDField("事件编号", db_index=True)
    body = models.TextField("请求体")
    status = models.CharField(
        "状态", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField("已尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    last_status_code = models.PositiveIntegerField("最近响应码", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "Webhook 投递"
        verbose_name_plural = "Webhook 投递"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscription", "-created_at"], name="delivery_sub_created")]

    def __str__(self):
        return f"{self.event} → #{self.subscription_id} ({self.status})"
