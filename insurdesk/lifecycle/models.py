"""Destruction requests (销毁申请), what remains after destruction, and nothing else.

A request is made by one user and decided by another (四眼原则); approving it anonymises the
archive in the same transaction. What remains: a DestructionRecord (who, when, why, which rule had
ended, how many rows were cleared) and an AnonymousStatistic row that no longer names anyone.
"""

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from insurdesk.customers.models import Customer, Gender, Kind
from insurdesk.org.models import OrgUnit, User


class RequestState(models.TextChoices):
    REQUESTED = "requested", "待审批"
    DONE = "done", "已销毁"
    REJECTED = "rejected", "已驳回"
    WITHDRAWN = "withdrawn", "已撤回"


OPEN_STATES = (RequestState.REQUESTED,)


class DestructionRequest(ConcurrentTransitionMixin, models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="destruction_requests", verbose_name="客户"
    )
    archive_no = models.CharField("客户号", max_length=20)
    reason = models.CharField("申请理由", max_length=500)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name="申请人")
    requested_at = models.DateTimeField("申请时间")
    # The rule and date that ended retention when the request was made; checked again on approval.
    rule = models.CharField("届满规则", max_length=40)
    retention_ended_on = models.DateField("保存期限届满日")
    state = FSMField(
        "状态",
        max_length=12,
        choices=RequestState.choices,
        default=RequestState.REQUESTED,
        protected=True,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="审批人"
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True)

    class Meta:
        verbose_name = "销毁申请"
        verbose_name_plural = "销毁申请"
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(state="requested"), name="destruction_one_open_request"
            ),
        ]

    def __str__(self) -> str:
        return f"销毁申请 #{self.pk} {self.archive_no}（{self.get_state_display()}）"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # --- transitions; called only by insurdesk.lifecycle.services ---

    @transition(field=state, source=RequestState.REQUESTED, target=RequestState.DONE)
    def approve(self):
        pass

    @transition(field=state, source=RequestState.REQUESTED, target=RequestState.REJECTED)
    def reject(self):
        pass

    @transition(field=state, source=RequestState.REQUESTED, target=RequestState.WITHDRAWN)
    def withdraw(self):
        pass


class DestructionRecord(models.Model):
    """销毁记录: kept for good; names people of the company, never the customer."""

    request = models.OneToOneField(
        DestructionRequest, on_delete=models.PROTECT, related_name="record", verbose_name="销毁申请"
    )
    customer = models.OneToOneField(
        Customer, on_delete=models.PROTECT, related_name="destruction", verbose_name="客户（已匿名）"
    )
    archive_no = models.CharField("客户号", max_length=20)
    kind = models.CharField("客户类型", max_length=12, choices=Kind.choices)
    method = models.CharField("方式", max_length=20, default="anonymise")
    reason = models.CharField("申请理由", max_length=500)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name="申请人")
    requested_at = models.DateTimeField("申请时间")
    approved_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name="审批人")
    approved_at = models.DateTimeField("审批并执行时间", db_index=True)
    rule = models.CharField("届满规则", max_length=40)
    retention_ended_on = models.DateField("保存期限届满日")
    counts = models.JSONField("清除数量", default=dict)

    class Meta:
        verbose_name = "销毁记录"
        verbose_name_plural = "销毁记录"
        ordering = ["-approved_at", "-id"]

    def __str__(self) -> str:
        return f"销毁记录 {self.archive_no}"


class AnonymousStatistic(models.Model):
    """What statistics may still count after destruction: no name, number, date of birth or link."""

    kind = models.CharField("客户类型", max_length=12, choices=Kind.choices)
    birth_year_from = models.PositiveSmallIntegerField(
        "出生年份段起", null=True, blank=True, help_text="五年一段，如 1980 表示 1980–1984"
    )
    gender = models.CharField("性别", max_length=1, choices=Gender.choices, blank=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name="所属机构")
    created_on = models.DateField("建档日期")
    destroyed_on = models.DateField("销毁日期", db_index=True)

    class Meta:
        verbose_name = "匿名统计"
        verbose_name_plural = "匿名统计"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.birth_year_from or ''} {self.destroyed_on}"

    @property
    def birth_years(self) -> str:
        return f"{self.birth_year_from}–{self.birth_year_from + 4}" if self.birth_year_from else ""
