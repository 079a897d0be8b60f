"""Claims (理赔): a claim against a policy from report (报案) to close (结案), with the law's clocks.

The state machine is small and explicit (TRANSITIONS); services move a claim only along it. Every step
leaves a ClaimEvent (the claim's timeline) besides the audit entry; assessments, payments and notices
are rows of their own so a reopened claim keeps what was done before.
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from insurdesk.common.fields import EncryptedTextField
from insurdesk.customers.models import Customer
from insurdesk.org.models import User
from insurdesk.policies.models import Policy


class ClaimState(models.TextChoices):
    REPORTED = "reported", "已报案"
    REVIEWING = "reviewing", "审核中"
    PENDING_APPROVAL = "pending_approval", "待复核"
    APPROVED = "approved", "审核通过"
    PAID = "paid", "已赔付"
    REJECTED = "rejected", "已拒赔"
    WITHDRAWN = "withdrawn", "已撤销"
    CLOSED = "closed", "已结案"


# state -> the states one step away. Closed is reopened back to reviewing (REOPEN), which is not a
# step an archive table may skip over: see `reachable`.
TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimState.REPORTED: frozenset({ClaimState.REVIEWING, ClaimState.WITHDRAWN, ClaimState.CLOSED}),
    ClaimState.REVIEWING: frozenset(
        {
            ClaimState.PENDING_APPROVAL,
            ClaimState.APPROVED,
            ClaimState.REJECTED,
            ClaimState.WITHDRAWN,
            ClaimState.CLOSED,
        }
    ),
    ClaimState.PENDING_APPROVAL: frozenset({ClaimState.APPROVED, ClaimState.REVIEWING}),
    ClaimState.APPROVED: frozenset({ClaimState.PAID}),
    ClaimState.PAID: frozenset({ClaimState.CLOSED}),
    ClaimState.REJECTED: frozenset({ClaimState.CLOSED}),
    ClaimState.WITHDRAWN: frozenset({ClaimState.CLOSED}),
    ClaimState.CLOSED: frozenset({ClaimState.REVIEWING}),
}
# The edges that go back (a decision sent back for review, a closed claim reopened).
BACKWARD = frozenset(
    {(ClaimState.PENDING_APPROVAL, ClaimState.REVIEWING), (ClaimState.CLOSED, ClaimState.REVIEWING)}
)
# The outcome states an archive table records; none of them leads anywhere but to closing.
FINAL_OUTCOMES = (ClaimState.PAID, ClaimState.REJECTED, ClaimState.WITHDRAWN)
OPEN_STATES = (
    ClaimState.REPORTED,
    ClaimState.REVIEWING,
    ClaimState.PENDING_APPROVAL,
    ClaimState.APPROVED,
    ClaimState.REJECTED,
)


def reachable(state: str) -> set[str]:
    """Return the states a claim in `state` can reach forward (never back) through legal steps."""
    out: set[str] = set()
    todo = [(state, t) for t in TRANSITIONS.get(state, ())]
    while todo:
        src, nxt = todo.pop()
        if (src, nxt) in BACKWARD or nxt in out:
            continue
        out.add(nxt)
        todo.extend((nxt, t) for t in TRANSITIONS.get(nxt, ()))
    return out


class ClaimType(models.TextChoices):
    DEATH = "death", "身故"
    CRITICAL_ILLNESS = "critical_illness", "重大疾病"
    MEDICAL = "medical", "医疗"
    ACCIDENT_DISABILITY = "accident_disability", "意外伤残"
    ACCIDENT_MEDICAL = "accident_medical", "意外医疗"
    PROPERTY = "property", "财产损失"


class ReportChannel(models.TextChoices):
    PHONE = "phone", "电话"
    COUNTER = "counter", "柜面"
    AGENT = "agent", "业务员"
    ONLINE = "online", "网上"
    API = "api", "接口"
    IMPORT = "import", "存量导入"


class Decision(models.TextChoices):
    PAY = "pay", "给付"
    PART_PAY = "part_pay", "部分给付"
    DECLINE = "decline", "拒赔"


class Claim(models.Model):
    claim_no = models.CharField("赔案号", max_length=20, unique=True)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="claims", verbose_name="保单")
    claimant = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="claims", verbose_name="申请人"
    )
    reported_on = models.DateField("理赔申请日期")
    amount_claimed = models.DecimalField("理赔金额（元）", max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(
        "赔付金额（元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    state = models.CharField(
        "理赔状态", max_length=20, choices=ClaimState.choices, default=ClaimState.REPORTED
    )
    state_changed_at = models.DateTimeField("进入当前状态时间")
    description = models.CharField("出险经过", max_length=500, blank=True)

    # The report (报案, 保险法第二十一条). Blank on claims an archive table registered.
    claim_type = models.CharField("出险类型", max_length=20, choices=ClaimType.choices, blank=True)
    channel = models.CharField("报案渠道", max_length=10, choices=ReportChannel.choices, blank=True)
    reported_at = models.DateTimeField("报案时间", null=True, blank=True)
    event_date = models.DateField("出险日期", null=True, blank=True)
    place = models.CharField("出险地点", max_length=200, blank=True)
    reporter_name = models.CharField("报案人", max_length=100, blank=True)
    reporter_relation = models.CharField("报案人与被保险人关系", max_length=20, blank=True)
    reporter_phone = EncryptedTextField("报案人电话", max_length=20, null=True, blank=True)
    premium_owed = models.DecimalField(
        "宽限期内欠交保费（元）", max_digits=14, decimal_places=2, default=0,
        help_text="出险在宽限期内：赔款中扣除（保险法第三十六条）",
    )  # fmt: skip

    # Registration: the document checklist [{"code", "label", "received_on"}] and when it was complete.
    documents = models.JSONField("理赔资料清单", default=list, blank=True)
    documents_complete_on = models.DateField("资料齐全日期", null=True, blank=True)
    # The day the 30-day decision and 60-day advance clocks run from (documents complete, or reopened).
    clock_from = models.DateField("时限起算日", null=True, blank=True)

    decision = models.CharField("理赔结论", max_length=10, choices=Decision.choices, blank=True)
    decision_amount = models.DecimalField(
        "核定赔付金额（元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    decision_reasons = models.TextField("结论理由", blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="决定人"
    )
    decided_on = models.DateField("决定日期", null=True, blank=True)
    approval_needed = models.BooleanField("需复核", default=False)
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="复核人"
    )
    agreed_on = models.DateField("达成赔付协议日期", null=True, blank=True)
    closed_on = models.DateField("结案日期", null=True, blank=True)
    close_reason = models.CharField("结案说明", max_length=300, blank=True)
    reopened_count = models.PositiveSmallIntegerField("重开次数", default=0)

    # The next deadline of the law's clocks, kept by every service so queues sort on an index.
    next_deadline = models.DateField("下一时限", null=True, blank=True)
    deadline_kind = models.CharField("时限事项", max_length=20, blank=True)
    # Recorded by the daily duty (`claim_clocks`); screens compute overdue on reading as well.
    overdue = models.BooleanField("已超时限", default=False)
    overdue_since = models.DateField("超时限日期", null=True, blank=True)

    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="录入人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    # History is read by claim (`id`); the copied fields' lookup indexes are not made (see Customer).
    history = HistoricalRecords(
        excluded_fields=["updated_at"],
        no_db_index=["claim_no", "policy", "claimant", "created_by", "decided_by", "approved_by"],
    )

    class Meta:
        verbose_name = "理赔"
        verbose_name_plural = "理赔"
        ordering = ["-reported_on", "-id"]
        indexes = [
            models.Index(fields=["policy", "reported_on"]),
            models.Index(fields=["claimant", "reported_on"]),
            models.Index(fields=["state", "reported_on"]),
            models.Index(fields=["next_deadline"], name="claim_next_deadline"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_claimed__gte=0), name="claim_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"赔案 {self.claim_no}"


class ClaimEvent(models.Model):
    """One step of a claim's timeline: who did what, from which state to which."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField("时间", auto_now_add=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="操作人"
    )
    action = models.CharField("操作", max_length=30)
    state_from = models.CharField("原状态", max_length=20, blank=True)
    state_to = models.CharField("新状态", max_length=20, blank=True)
    note = models.TextField("说明", blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "理赔处理记录"
        verbose_name_plural = "理赔处理记录"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["claim", "at"])]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.action}"


class ClaimAssessment(models.Model):
    """核赔: what was checked and computed; the latest one is what a decision rests on."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="assessments")
    in_force = models.BooleanField("出险时保单有效")
    waiting_days = models.PositiveSmallIntegerField("等待期（天）", default=0)
    in_waiting_period = models.BooleanField("等待期内出险", default=False)
    excluded = models.CharField("除外责任", max_length=30, blank=True)
    sum_insured = models.DecimalField("保额（元）", max_digits=16, decimal_places=2)
    remaining_sum_insured = models.DecimalField("剩余保额（元）", max_digits=16, decimal_places=2)
    covered_amount = models.DecimalField("责任范围内金额（元）", max_digits=14, decimal_places=2)
    deductible = models.DecimalField("免赔额（元）", max_digits=14, decimal_places=2, default=0)
    ratio = models.DecimalField("赔付比例（%）", max_digits=5, decimal_places=2, default=100)
    premium_owed = models.DecimalField("扣除欠交保费（元）", max_digits=14, decimal_places=2, default=0)
    payable = models.DecimalField("理算金额（元）", max_digits=14, decimal_places=2)
    findings = models.TextField("核赔意见", blank=True)
    checks = models.JSONField("检查项", default=list, blank=True)
    assessed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="核赔人"
    )
    created_at = models.DateTimeField("核赔时间", auto_now_add=True)

    class Meta:
        verbose_name = "核赔"
        verbose_name_plural = "核赔"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.claim_id} 核赔 {self.payable}"


class PaymentKind(models.TextChoices):
    ADVANCE = "advance", "先予支付"
    FINAL = "final", "赔付"


class ClaimPayment(models.Model):
    """Money paid on a claim to one payee (the insured; a beneficiary by order and share; the estate)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField("类型", max_length=10, choices=PaymentKind.choices)
    payee_name = models.CharField("领款人", max_length=100)
    payee_role = models.CharField("领款人身份", max_length=30)
    share = models.DecimalField("份额（%）", max_digits=5, decimal_places=2, default=100)
    amount = models.DecimalField("金额（元）", max_digits=14, decimal_places=2)
    method = models.CharField("支付方式", max_length=12)
    paid_on = models.DateField("支付日期")
    reference = models.CharField("凭证号", max_length=60, blank=True)
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="录入人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    class Meta:
        verbose_name = "理赔支付"
        verbose_name_plural = "理赔支付"
        ordering = ["paid_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="claim_payment_positive")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.payee_name} {self.amount}"


class NoticeKind(models.TextChoices):
    DOCUMENTS = "documents", "补充材料通知书"
    REFUSAL = "refusal", "拒绝赔付通知书"


class ClaimNotice(models.Model):
    """A notice the claimant receives: missing documents all at once (§22), a refusal with reasons (§24)."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField("类型", max_length=10, choices=NoticeKind.choices)
    number = models.CharField("通知书编号", max_length=30, unique=True)
    items = models.JSONField("缺少的材料", default=list, blank=True)
    reasons = models.TextField("理由", blank=True)
    written_on = models.DateField("出具日期")
    due_on = models.DateField("送达期限", null=True, blank=True)
    sent_on = models.DateField("送达日期", null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="出具人"
    )

    class Meta:
        verbose_name = "理赔通知书"
        verbose_name_plural = "理赔通知书"
        ordering = ["written_on", "id"]

    def __str__(self) -> str:
        return self.number
