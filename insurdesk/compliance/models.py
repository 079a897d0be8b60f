"""Compliance records (合规): AML ratings and reviews, transaction flags, compliance checks with their
rectification tasks, PIPL consents and personal-information requests, verifications of the audit chain.
"""

from django.db import models
from django.db.models import Q

from insurdesk.customers.models import Customer, RiskLevel
from insurdesk.org.models import User


class AmlAssessment(models.Model):
    """One result of the declared AML rating rules (rules.py), with every reason that counted."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="aml_assessments", verbose_name="客户"
    )
    level = models.CharField("评定等级", max_length=8, choices=RiskLevel.choices)
    previous_level = models.CharField("原等级", max_length=8, choices=RiskLevel.choices, blank=True)
    score = models.PositiveSmallIntegerField("风险分值")
    # [{"code", "label", "points", "floor", "detail"}]
    reasons = models.JSONField("评级理由", default=list, blank=True)
    rated_at = models.DateTimeField("评级时间", db_index=True)
    rated_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="评级人",
        help_text="空为系统批量评级",
    )
    next_review = models.DateField("下次审核日期", null=True, blank=True)

    class Meta:
        verbose_name = "反洗钱风险评级"
        verbose_name_plural = "反洗钱风险评级"
        ordering = ["-rated_at", "-id"]
        indexes = [models.Index(fields=["customer", "-rated_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.level} {self.score}"


class ReviewConclusion(models.TextChoices):
    MAINTAIN = "maintain", "维持原等级"
    RAISE = "raise", "上调风险等级"
    LOWER = "lower", "下调风险等级"
    REVERIFY = "reverify", "须重新识别客户身份"


class AmlReview(models.Model):
    """A periodic or triggered review of a customer's AML profile (持续识别 / 定期审核)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="aml_reviews", verbose_name="客户"
    )
    reviewed_on = models.DateField("审核日期")
    reviewer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name="审核人")
    conclusion = models.CharField("审核结论", max_length=10, choices=ReviewConclusion.choices)
    level_before = models.CharField("审核前等级", max_length=8, choices=RiskLevel.choices)
    level_after = models.CharField("审核后等级", max_length=8, choices=RiskLevel.choices)
    next_review = models.DateField("下次审核日期")
    note = models.TextField("审核意见", blank=True)
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "反洗钱审核"
        verbose_name_plural = "反洗钱审核"
        ordering = ["-reviewed_on", "-id"]
        indexes = [models.Index(fields=["customer", "-reviewed_on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.reviewed_on} {self.conclusion}"


class FlagKind(models.TextChoices):
    LARGE_CASH = "large_cash", "大额现金"
    LARGE_TRANSFER = "large_transfer", "大额转账"
    EARLY_SURRENDER = "early_surrender", "大额或早期退保"
    FREQUENT_CHANGES = "frequent_changes", "频繁变更受益人"
    OTHER = "other", "其他可疑交易"


class FlagState(models.TextChoices):
    OPEN = "open", "待审核"
    REPORTED = "reported", "已上报"
    DISMISSED = "dismissed", "已排除"


class TransactionFlag(models.Model):
    """A large or suspicious transaction put up for a compliance officer's review (大额/可疑交易)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="transaction_flags", verbose_name="客户"
    )
    kind = models.CharField("类型", max_length=20, choices=FlagKind.choices, db_index=True)
    amount = models.DecimalField("金额（元）", max_digits=16, decimal_places=2, null=True, blank=True)
    occurred_on = models.DateField("交易日期", null=True, blank=True)
    reference = models.CharField(
        "业务凭证", max_length=60, blank=True, help_text="保单号、缴费凭证号、保全批单号等"
    )
    source = models.CharField("来源", max_length=30, blank=True, help_text="发起标记的模块，如 policies")
    reason = models.CharField("标记原因", max_length=300)
    state = models.CharField(
        "状态", max_length=10, choices=FlagState.choices, default=FlagState.OPEN, db_index=True
    )
    raised_at = models.DateTimeField("标记时间")
    raised_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="标记人"
    )
    reviewer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="审核人"
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    note = models.TextField("审核意见", blank=True)

    class Meta:
        verbose_name = "交易标记"
        verbose_name_plural = "交易标记"
        ordering = ["-raised_at", "-id"]
        constraints = [
            # The same transaction raised twice (a retried job) is one flag.
            models.UniqueConstraint(
                fields=["customer", "kind", "reference"],
                condition=~Q(reference=""),
                name="flag_once_per_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.reference}"


class CheckRun(models.Model):
    """One run of the compliance checks (合规检查) with what it found, kept and closed."""

    started_at = models.DateTimeField("开始时间")
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="执行人"
    )
    checks = models.JSONField("检查项", default=list)
    # {check_code: {"found": n, "new": n, "closed": n}}
    counts = models.JSONField("统计", default=dict)

    class Meta:
        verbose_name = "合规检查批次"
        verbose_name_plural = "合规检查批次"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} {self.started_at:%Y-%m-%d %H:%M}"


class Finding(models.Model):
    """A problem a compliance check found on one archive; open while the check still finds it."""

    check_code = models.CharField("检查项", max_length=40, db_index=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="compliance_findings", verbose_name="客户"
    )
    detail = models.CharField("问题描述", max_length=500)
    found_at = models.DateTimeField("发现时间")
    last_seen_at = models.DateTimeField("最近确认时间")
    resolved_at = models.DateTimeField("消除时间", null=True, blank=True, db_index=True)
    run = models.ForeignKey(
        CheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )

    class Meta:
        verbose_name = "检查发现"
        verbose_name_plural = "检查发现"
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["check_code", "customer"],
                condition=Q(resolved_at__isnull=True),
                name="finding_one_open_per_check_and_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_code} {self.customer_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class TaskState(models.TextChoices):
    OPEN = "open", "待整改"
    IN_PROGRESS = "in_progress", "整改中"
    DONE = "done", "已整改待验证"
    VERIFIED = "verified", "已验证关闭"


# name -> (states it may start from, state it leads to, label)
TASK_TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "start": (frozenset({TaskState.OPEN}), TaskState.IN_PROGRESS, "开始整改"),
    "complete": (frozenset({TaskState.OPEN, TaskState.IN_PROGRESS}), TaskState.DONE, "整改完成"),
    "reopen": (frozenset({TaskState.DONE}), TaskState.IN_PROGRESS, "退回重新整改"),
    "verify": (frozenset({TaskState.DONE}), TaskState.VERIFIED, "验证通过并关闭"),
}
OPEN_TASK_STATES = (TaskState.OPEN, TaskState.IN_PROGRESS, TaskState.DONE)


class RectificationTask(models.Model):
    """整改: the work that removes one finding, with an owner and a due date, tracked to verification."""

    finding = models.OneToOneField(
        Finding, on_delete=models.CASCADE, related_name="task", verbose_name="检查发现"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="rectification_tasks", verbose_name="客户"
    )
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="整改责任人"
    )
    due_on = models.DateField("整改期限", db_index=True)
    state = models.CharField(
        "状态", max_length=12, choices=TaskState.choices, default=TaskState.OPEN, db_index=True
    )
    created_at = models.DateTimeField("创建时间")
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    verified_at = models.DateTimeField("验证时间", null=True, blank=True)
    verified_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="验证人"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "整改任务"
        verbose_name_plural = "整改任务"
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["state", "due_on"]), models.Index(fields=["owner", "state"])]

    def __str__(self) -> str:
        return f"task {self.pk} {self.state}"


class TaskNote(models.Model):
    """A line in a task's record: a state change, an assignment or a remark; empty author = system."""

    task = models.ForeignKey(RectificationTask, on_delete=models.CASCADE, related_name="notes")
    at = models.DateTimeField("时间")
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    state_from = models.CharField("原状态", max_length=12, blank=True)
    state_to = models.CharField("新状态", max_length=12, blank=True)
    text = models.TextField("说明")

    class Meta:
        verbose_name = "整改记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.at:%Y-%m-%d}"

    @property
    def state_from_label(self) -> str:
        return TaskState(self.state_from).label if self.state_from else ""

    @property
    def state_to_label(self) -> str:
        return TaskState(self.state_to).label if self.state_to else ""


class ConsentPurpose(models.TextChoices):
    UNDERWRITING = "underwriting", "投保核保"
    MARKETING = "marketing", "营销推荐"
    SENSITIVE = "sensitive", "敏感个人信息处理"
    THIRD_PARTY = "third_party", "向第三方提供"
    CROSS_BORDER = "cross_border", "向境外提供"


class ConsentChannel(models.TextChoices):
    PAPER = "paper", "纸质"
    WEB = "web", "网页"
    PHONE = "phone", "电话"
    APP = "app", "移动应用"


class Consent(models.Model):
    """A separate consent (单独同意, PIPL Art. 29) for one purpose; withdrawn, it stays as evidence."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consents", verbose_name="客户"
    )
    purpose = models.CharField("同意事项", max_length=16, choices=ConsentPurpose.choices)
    channel = models.CharField("取得方式", max_length=8, choices=ConsentChannel.choices)
    granted_at = models.DateTimeField("同意时间")
    evidence = models.CharField(
        "凭证", max_length=100, blank=True, help_text="签字文件编号、录音编号、页面版本等"
    )
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdrawn_channel = models.CharField("撤回方式", max_length=8, choices=ConsentChannel.choices, blank=True)
    withdrawn_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="撤回记录人"
    )

    class Meta:
        verbose_name = "个人信息处理同意"
        verbose_name_plural = "个人信息处理同意"
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose}"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class RequestKind(models.TextChoices):
    ACCESS = "access", "查阅、复制"
    CORRECTION = "correction", "更正、补充"
    DELETION = "deletion", "删除"


class RequestState(models.TextChoices):
    OPEN = "open", "办理中"
    CLOSED = "closed", "已答复"


class RequestOutcome(models.TextChoices):
    FULFILLED = "fulfilled", "已按请求办理"
    PARTIAL = "partial", "部分办理"
    REFUSED = "refused", "不予办理（已说明理由）"
    RETAINED = "retained", "法定保存期内保留：仅存储和采取安全保护措施"


class PersonalInfoRequest(models.Model):
    """A data subject's request (PIPL Arts. 44–47): received, due, handled, answered."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="pi_requests", verbose_name="客户"
    )
    kind = models.CharField("请求类型", max_length=12, choices=RequestKind.choices)
    channel = models.CharField("受理渠道", max_length=8, choices=ConsentChannel.choices)
    received_on = models.DateField("受理日期")
    due_on = models.DateField("答复期限", db_index=True)
    description = models.TextField("请求内容", blank=True)
    handler = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="经办人"
    )
    state = models.CharField(
        "状态", max_length=8, choices=RequestState.choices, default=RequestState.OPEN, db_index=True
    )
    outcome = models.CharField("处理结果", max_length=10, choices=RequestOutcome.choices, blank=True)
    outcome_note = models.TextField("答复内容", blank=True)
    closed_on = models.DateField("答复日期", null=True, blank=True)
    # Deletion while a legal retention period runs (AML Law 2024 Art. 34; PIPL Art. 47).
    retention_hold = models.BooleanField("处于法定保存期", default=False)
    retention_until = models.DateField("保存期至", null=True, blank=True)
    retention_basis = models.CharField("保存依据", max_length=300, blank=True)
    retention_ref = models.CharField(
        "销毁流程关联", max_length=60, blank=True, help_text="保存期满后销毁或匿名化流程的编号"
    )
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "个人信息权利请求"
        verbose_name_plural = "个人信息权利请求"
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.received_on}"


class ChainVerification(models.Model):
    """A stored result of walking the audit hash chain, so the log page need not walk it on every view."""

    at = models.DateTimeField("校验时间")
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="执行人"
    )
    ok = models.BooleanField("链条完整")
    checked = models.BigIntegerField("已校验条数")
    first_bad_seq = models.BigIntegerField("首个异常序号", null=True, blank=True)
    problem = models.CharField("问题", max_length=200, blank=True)
    seconds = models.FloatField("耗时（秒）", default=0)

    class Meta:
        verbose_name = "记录链校验"
        verbose_name_plural = "记录链校验"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'broken'}"
