"""Customer care (客户关系): the contact log (沟通记录) of each customer."""

from django.db import models
from simple_history.models import HistoricalRecords

from insurdesk.common.fields import EncryptedTextField
from insurdesk.customers.models import Customer
from insurdesk.org.models import User
from insurdesk.policies.models import Policy


class ContactChannel(models.TextChoices):
    PHONE = "phone", "电话"
    WECHAT = "wechat", "微信"
    VISIT = "visit", "面谈"
    SMS = "sms", "短信"
    EMAIL = "email", "邮件"
    OTHER = "other", "其他"


class ContactLog(models.Model):
    """One contact with a customer: when, how, what was said, and whether it needs following up."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="contacts", verbose_name="客户"
    )
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="相关保单"
    )
    contacted_on = models.DateField("沟通日期")
    channel = models.CharField("沟通方式", max_length=8, choices=ContactChannel.choices)
    # What a customer says may touch health and money: stored encrypted like the archive's identity data.
    content = EncryptedTextField("沟通内容")
    # Keyed hash of the content, so the same contact is found again (imports) without decrypting.
    content_hash = models.CharField(max_length=32, editable=False)
    follow_up = models.BooleanField("需后续跟进", default=False)
    follow_up_note = models.CharField("后续跟进", max_length=300, blank=True)
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="记录人"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    # History is read by contact (`id`); the copied fields' lookup indexes are not made (see Customer).
    history = HistoricalRecords(excluded_fields=["updated_at"], no_db_index=["customer", "policy", "author"])

    class Meta:
        verbose_name = "沟通记录"
        verbose_name_plural = "沟通记录"
        ordering = ["-contacted_on", "-id"]
        indexes = [
            models.Index(fields=["customer", "contacted_on"]),
            models.Index(fields=["contacted_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.contacted_on} {self.get_channel_display()}"
